// validated-in-pre (docs/threat-model.md, T21): prod runs only builds pre validated. The
// program records on each prod app's JavaApp component the tags pre validated for it (pre's
// current tag and the tags its earlier deploys listed, read from pre's deployed stack output
// through a StackReference: components/fleet/validatedImages.ts), so the real
// `pulumi preview --policy-pack` holds every app workload's image tag (Deployments, canaries, Jobs, patches)
// against that list, not only `npm run check:fleet` in CI.
import { ConfigProperty, EnforcementLevel, obj, PolicyStack, ReportViolation, StackPolicy, str, withDefaults } from "./policy";
import { carriesPodLike, containersIn } from "./threats";
import { imageRepositoryOf } from "./sources";
import { parseImage } from "./workloads";

export interface ValidatedInPreConfig {
  /** Prod: every app workload's image tag must be on its JavaApp's validatedInPre list, and the list must be there. */
  required: boolean;
  /**
   * `repository:tag` of the platform's own sidecars an app pod may carry beside the app's image (the
   * SkyWalking agent init container, the log-tail busybox), pinned in code and the same in pre; any
   * other image in an app pod is refused, whatever its container is called.
   */
  sidecarImages: string[];
}

export const VALIDATED_IN_PRE_SCHEMA: Record<keyof ValidatedInPreConfig, ConfigProperty> = {
  required: { type: "boolean", description: "app Deployments must run a tag pre validated (prod)", default: false },
  sidecarImages: { type: "array", items: { type: "string" }, description: "repository:tag of the platform sidecars app pods may run", default: [] },
};

export const JAVA_APP_TYPE = "platform:k8s:JavaApp";
const APP_NAME_LABEL = "app.kubernetes.io/name";

export function validatedInPre(enforcementLevel: EnforcementLevel, config: Partial<ValidatedInPreConfig> = {}): StackPolicy {
  const c = withDefaults(VALIDATED_IN_PRE_SCHEMA, config);
  return {
    name: "validated-in-pre",
    description:
      "In prod, every container of every app workload (any object under a JavaApp carrying a pod spec: Deployments, canaries, Jobs, patches; init, sidecar and ephemeral containers included, whatever their names) runs the app's image at a tag pre validated, never pinned by a digest, (one of the tags the program recorded on its JavaApp component from pre's deployed output: its current tag and the tags its earlier deploys listed) or one of the platform's pinned sidecar images in the pack config (T21).",
    enforcementLevel,
    validateStack(s: PolicyStack, report: ReportViolation) {
      if (!c.required) return;
      const lists = new Map<string, unknown>();
      // The app's image repository (registry/project/name) as its config names it: the JavaApp's `image` output.
      const repositories = new Map<string, string>();
      for (const r of s.resources)
        if (r.type === JAVA_APP_TYPE && str(r.props.app) !== undefined) {
          lists.set(str(r.props.app)!, r.props.validatedInPre);
          const own = str(r.props.image);
          if (own !== undefined) repositories.set(str(r.props.app)!, imageRepositoryOf(own));
        }
      for (const r of s.resources) {
        // Every object under a JavaApp that carries containers (a Deployment, a Job, a StatefulSet, a patch, a custom resource's template or steps).
        if (!(r.urn.split("::")[2] ?? "").split("$").includes(JAVA_APP_TYPE) || !carriesPodLike(r)) continue;
        const kind = r.type.split(":").pop() ?? r.type;
        const meta = obj(r.props.metadata);
        const app = str(obj(meta.labels)[APP_NAME_LABEL]);
        const id = `${str(meta.namespace) ?? "default"}/${str(meta.name) ?? r.name}`;
        const list = app === undefined ? undefined : lists.get(app);
        if (app === undefined || !Array.isArray(list)) {
          report(
            `${r.name}: ${id} is an app ${kind} but the plan carries no list of the tags pre validated for ${app ?? `it (no ${APP_NAME_LABEL} label)`} (its JavaApp component's validatedInPre); prod runs only what pre validated`,
          );
          continue;
        }
        // Every container, init and ephemeral ones included, whatever it is called: the app's own image
        // must carry a tag pre validated; anything else must be one of the platform's pinned sidecars.
        for (const { path, container: ctr } of containersIn({ ...r.props, metadata: undefined })) {
          const image = str(ctr.image);
          const name = str(ctr.name) ?? path;
          if (image === undefined) {
            report(`${r.name}: ${id} container ${name} names no image, so the plan cannot show it is one pre validated`);
            continue;
          }
          const { tag, digest } = parseImage(image);
          // The whole repository, not its last segment: harbor.../scm/order-service is not commerce's order-service.
          if (imageRepositoryOf(image) !== repositories.get(app)) {
            if (!c.sidecarImages.includes(image))
              report(
                `${r.name}: ${id} container ${name} runs ${image}, neither ${app}'s own image with a tag pre validated nor one of the platform's sidecars (${c.sidecarImages.join(", ") || "none listed"}; validated-in-pre.sidecarImages in the pack config)`,
              );
            continue;
          }
          // A digest wins over the tag: the runtime pulls name@digest and drops the tag (distribution/reference
          // normalize.go ParseDockerRef, which containerd's CRI uses), so `:validated-tag@sha256:<other build>`
          // runs a build pre never saw.
          if (digest !== undefined) {
            report(
              `${r.name}: ${id} container ${name} runs ${image}, whose digest @${digest} picks the build, not the tag pre validated; name the app's image by a validated tag alone`,
            );
            continue;
          }
          if (tag !== undefined && list.includes(tag)) continue;
          report(
            `${r.name}: ${id} container ${name} runs ${image}, a tag pre never validated (pre ran ${list.join(", ") || "nothing of this app"}); release it into pre, then \`npm run promote -- pre <prod stack> ${app}\``,
          );
        }
      }
    },
  };
}
