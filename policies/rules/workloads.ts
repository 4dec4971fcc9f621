// Workload rules: Deployments (images, replicas, disruption budgets, probes, requests) and the one ingress controller.
import { Env, imageTagProblem, isEnv } from "../imageTags";
import { arr, ConfigProperty, EnforcementLevel, isObj, MASK, Obj, obj, StackPolicy, str, TYPES, withDefaults } from "./policy";

// ---------------------------------------------------------------------------
// deployment-hygiene

export interface DeploymentHygieneConfig {
  /** Registries of the company's own builds: their tags follow the env's rule (imageTags.ts). */
  ownRegistries: string[];
  /** Fewest replicas of a (non-canary) Deployment. */
  minReplicas: number;
  /** Tags that move, refused everywhere. */
  mutableTags: string[];
  /** `key=value` label of canary Deployments: one pod by design, taking a share of the traffic. */
  canaryLabel: string;
  /** `namespace/name` -> checks skipped for it ("replicas", "pdb", "probes", "requests", "image"), each with a reason. */
  exemptions: Record<string, { checks: string[]; reason: string }>;
}

export const DEPLOYMENT_HYGIENE_SCHEMA: Record<keyof DeploymentHygieneConfig, ConfigProperty> = {
  ownRegistries: { type: "array", items: { type: "string" }, description: "Registries of our own builds (tags by env)", default: ["harbor.livemall.internal"] },
  minReplicas: { type: "integer", minimum: 1, description: "Fewest replicas of a non-canary Deployment", default: 2 },
  mutableTags: {
    type: "array",
    items: { type: "string" },
    description: "Image tags that move",
    default: ["latest", "stable", "edge", "nightly", "main", "master"],
  },
  canaryLabel: { type: "string", description: "key=value label of canary Deployments", default: "platform/track=canary" },
  exemptions: { type: "object", description: "namespace/name -> {checks, reason}", default: {}, additionalProperties: true },
};

/** `repo[:tag][@digest]` -> parts; the tag is after the last ':' that follows the last '/'. */
export function parseImage(image: string): { repository: string; tag?: string; digest?: string } {
  const [nameTag, digest] = image.split("@", 2);
  const slash = nameTag.lastIndexOf("/");
  const colon = nameTag.lastIndexOf(":");
  if (colon > slash) return { repository: nameTag.slice(0, colon), tag: nameTag.slice(colon + 1), digest };
  return { repository: nameTag, digest };
}

function selects(selector: Obj, labels: Obj): boolean {
  const match = obj(selector.matchLabels);
  const keys = Object.keys(match);
  // matchExpressions are not used by our objects; a selector with them is treated as not selecting.
  if (arr(selector.matchExpressions).length > 0 || keys.length === 0) return false;
  return keys.every((k) => labels[k] === match[k]);
}

export function deploymentHygiene(enforcementLevel: EnforcementLevel, config: Partial<DeploymentHygieneConfig> = {}): StackPolicy {
  const c = withDefaults(DEPLOYMENT_HYGIENE_SCHEMA, config);
  const [canaryKey, canaryValue] = c.canaryLabel.split("=", 2);
  return {
    name: "deployment-hygiene",
    description:
      "Deployments run pinned images (own builds with the env's tag: build tags in dev/test, release tags in pre/prod), enough replicas with a PodDisruptionBudget, " +
      "HPAs whose minReplicas meets the same minimum, a canary's own PodDisruptionBudget, " +
      "readiness and liveness probes on app containers and resource requests on every container, sidecars included.",
    enforcementLevel,
    validateStack(s, report) {
      const env: Env | undefined = isEnv(s.stack) ? s.stack : undefined;
      const pdbs = s.resources.filter((r) => r.type === TYPES.pdb);
      for (const d of s.resources.filter((r) => r.type === TYPES.deployment)) {
        const meta = obj(d.props.metadata);
        const ns = str(meta.namespace) ?? "default";
        const id = `${ns}/${str(meta.name) ?? d.name}`;
        const skipped = new Set(arr(obj(c.exemptions[id]).checks).map(String));
        const problem = (check: string, message: string) => {
          if (!skipped.has(check)) report(`Deployment ${id}: ${message}`, d.urn);
        };
        const spec = obj(d.props.spec);
        const template = obj(spec.template);
        const podLabels = obj(obj(template.metadata).labels);
        const pod = obj(template.spec);
        const containers = arr(pod.containers).map(obj);
        const initContainers = arr(pod.initContainers).map(obj);
        const isCanary = obj(meta.labels)[canaryKey] === canaryValue || podLabels[canaryKey] === canaryValue;

        const replicas = typeof spec.replicas === "number" ? spec.replicas : 1;
        if (!isCanary && replicas < c.minReplicas)
          problem("replicas", `${replicas} replica(s); at least ${c.minReplicas} (one pod is an outage during a node drain or rollout)`);
        if (replicas >= 2) {
          const covering = pdbs.filter(
            (p) => (str(obj(p.props.metadata).namespace) ?? "default") === ns && selects(obj(obj(p.props.spec).selector), podLabels),
          );
          if (covering.length === 0)
            problem("pdb", `${replicas} replicas but no PodDisruptionBudget selects its pods: a node drain may evict them all at once`);
          // A canary's budget is its own: its share of traffic is fixed by the Ingress
          // weight, not by pod counts, so a budget shared with the stable track would let
          // a drain take every canary pod at once while the weight still routes to them.
          else if (isCanary && !covering.some((p) => obj(obj(obj(p.props.spec).selector).matchLabels)[canaryKey] === canaryValue)) {
            problem(
              "pdb",
              `canary with ${replicas} replicas shares its PodDisruptionBudget with the stable track; give the canary track its own (selecting ${c.canaryLabel})`,
            );
          }
        }
        // Probes on the app containers. Native sidecars (initContainers with
        // restartPolicy Always, e.g. the log tailers) get none: a failing probe
        // there would only restart a tailer, never take the app out of the Service.
        for (const ctr of containers) {
          const missing = ["readinessProbe", "livenessProbe"].filter((k) => !isObj(ctr[k]));
          if (missing.length) problem("probes", `container ${str(ctr.name)} has no ${missing.join(" or ")}`);
        }
        // Requests on every container, sidecars included: the scheduler counts them all.
        for (const ctr of [...initContainers, ...containers]) {
          const requests = obj(obj(ctr.resources).requests);
          const missing = ["cpu", "memory"].filter((k) => requests[k] === undefined);
          if (missing.length) problem("requests", `container ${str(ctr.name)} has no ${missing.join("/")} request`);
        }
        for (const ctr of [...initContainers, ...containers]) {
          const image = str(ctr.image) ?? "";
          const { repository, tag, digest } = parseImage(image);
          if (digest) continue; // a digest cannot move
          if (tag === undefined) {
            problem("image", `container ${str(ctr.name)} runs ${image} without a tag (it means :latest)`);
          } else if (c.mutableTags.includes(tag.toLowerCase())) {
            problem("image", `container ${str(ctr.name)} runs ${image}: tag "${tag}" moves, so nobody can tell or roll back which build runs`);
          } else if (env && c.ownRegistries.some((reg) => repository.startsWith(`${reg}/`))) {
            const app = repository.slice(repository.lastIndexOf("/") + 1);
            const why = imageTagProblem(env, tag, app);
            if (why) problem("image", `container ${str(ctr.name)} runs ${image}: ${why}`);
          }
        }
      }
      // An HPA may scale its Deployment down to minReplicas (default 1), whatever the
      // Deployment's own replicas say; it is held to the same floor.
      for (const h of s.resources.filter((r) => r.type === TYPES.hpa)) {
        const meta = obj(h.props.metadata);
        const ns = str(meta.namespace) ?? "default";
        const spec = obj(h.props.spec);
        const target = obj(spec.scaleTargetRef);
        const id = `${ns}/${str(target.name) ?? "?"}`;
        if (arr(obj(c.exemptions[id]).checks).map(String).includes("replicas")) continue;
        const min = typeof spec.minReplicas === "number" ? spec.minReplicas : 1;
        if (min < c.minReplicas) {
          report(
            `HorizontalPodAutoscaler ${ns}/${str(meta.name) ?? h.name}: minReplicas ${min} lets it scale ${str(target.kind) ?? "its target"} ${id} to ${min} pod(s); at least ${c.minReplicas} (autoscale.min)`,
            h.urn,
          );
        }
      }
    },
  };
}

// ---------------------------------------------------------------------------
// single-global-ingress

export interface SingleGlobalIngressConfig {
  /** Chart name of the ingress controller. */
  chart: string;
}

export const SINGLE_GLOBAL_INGRESS_SCHEMA: Record<keyof SingleGlobalIngressConfig, ConfigProperty> = {
  chart: { type: "string", description: "Chart of the ingress controller", default: "ingress-nginx" },
};

export function singleGlobalIngress(enforcementLevel: EnforcementLevel, config: Partial<SingleGlobalIngressConfig> = {}): StackPolicy {
  const c = withDefaults(SINGLE_GLOBAL_INGRESS_SCHEMA, config);
  return {
    name: "single-global-ingress",
    description: "Exactly one ingress-nginx release per cluster, watching every namespace (one SLB for all apps, not one per namespace).",
    enforcementLevel,
    validateStack(s, report) {
      const releases = s.resources.filter(
        (r) =>
          (r.type === TYPES.helmRelease || r.type === TYPES.helmChartV4) &&
          ((str(r.props.chart) ?? "") === c.chart || (str(r.props.chart) ?? "").endsWith(`/${c.chart}`)),
      );
      if (releases.length === 0) report(`${s.stack}: no ${c.chart} release; the cluster needs its one global ingress controller`);
      if (releases.length > 1) {
        for (const r of releases.slice(1))
          report(`${r.name}: a second ${c.chart} release (${releases.length} in the stack); one global controller serves every namespace`, r.urn);
      }
      for (const r of releases) {
        if (r.props.values === MASK) continue; // secret values: nothing to read offline
        const scope = obj(obj(obj(r.props.values).controller).scope);
        if (scope.enabled === true) report(`${r.name}: controller.scope.enabled is true; the global controller must watch every namespace`, r.urn);
        else if (typeof scope.namespace === "string" && scope.namespace !== "")
          report(`${r.name}: controller.scope.namespace is "${scope.namespace}"; the global controller must watch every namespace`, r.urn);
      }
    },
  };
}
