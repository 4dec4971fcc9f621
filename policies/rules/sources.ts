// Where the cluster fetches code from: container images, the registries the
// pull Secrets hold credentials for, the nodes' package repository and
// control-plane image mirror, and Helm chart repositories. The trusted list is
// the pack config (policies/config/*.json), which a stack PR does not edit:
// moving platform:harbor.registry, an image or platform:kubernetes.* to another
// host in a stack file alone is a violation.
import { arr, ConfigProperty, EnforcementLevel, isObj, MASK, obj, PolicyResource, StackPolicy, str, tags, TYPES, UNKNOWN, withDefaults } from "./policy";
import { ABSOLUTE_URL, carriesPodLike, chartRef, containersIn, podSpecsIn } from "./threats";
import { CHART_IMAGE_VALUES, type ChartImagePull, chartImagePulls, customResourceImages } from "./imageFields";

/** Tags the cluster component puts on every master and worker (components/cluster/cluster.ts). */
export const PACKAGE_REPOSITORY_TAG = "platform:package-repository";
export const IMAGE_REPOSITORY_TAG = "platform:image-repository";
/** Non-secret annotation naming the registry a dockerconfigjson Secret holds credentials for (components/apps). */
export const PULL_SECRET_REGISTRY_ANNOTATION = "platform/registry";

export interface TrustedSourcesConfig {
  /** Image repository prefixes containers may pull from: `host` or `host/path` (docker.io images as docker.io/library/x). */
  imageRegistries: string[];
  /** Registry hosts an imagePullSecret may hold credentials for. */
  pullSecretRegistries: string[];
  /** apt repository prefixes the nodes install kubeadm, kubelet and the signing key from (host/path, no scheme). */
  packageRepositories: string[];
  /** kubeadm imageRepository prefixes the control-plane images come from. */
  imageRepositories: string[];
  /** Helm chart repository URLs (prefixes). */
  chartRepositories: string[];
  /** Prefixes (host or host/path) a Helm release's image values may name: the charts' own images, through the mirror. */
  chartImageRegistries: string[];
  /**
   * Repositories a chart image may name besides the chart's default (CHART_IMAGE_VALUES): a registry-relative one
   * (`prometheus/prometheus-fork`, where the chart puts a registry value before it) or a whole one (`docker.io/apache/skywalking-ui`,
   * which a whole reference must end with, behind a trusted chart image registry).
   */
  chartImageRepositories: string[];
}

export const TRUSTED_SOURCES_SCHEMA: Record<keyof TrustedSourcesConfig, ConfigProperty> = {
  imageRegistries: {
    type: "array",
    items: { type: "string" },
    description: "Image repository prefixes (host or host/path)",
    default: ["harbor.livemall.internal"],
  },
  pullSecretRegistries: {
    type: "array",
    items: { type: "string" },
    description: "Registry hosts pull Secrets may hold credentials for",
    default: ["harbor.livemall.internal"],
  },
  packageRepositories: {
    type: "array",
    items: { type: "string" },
    description: "Node apt repository prefixes (host/path, no scheme)",
    default: ["pkgs.k8s.io/core:/stable"],
  },
  imageRepositories: { type: "array", items: { type: "string" }, description: "kubeadm imageRepository prefixes", default: ["registry.k8s.io"] },
  chartRepositories: { type: "array", items: { type: "string" }, description: "Helm chart repository URL prefixes", default: [] },
  chartImageRegistries: {
    type: "array",
    items: { type: "string" },
    description: "Prefixes a Helm release's image values (registry, repository, image) may name",
    default: [],
  },
  chartImageRepositories: {
    type: "array",
    items: { type: "string" },
    description: "Repositories a chart image may name besides the chart's default (registry-relative, or whole host/path)",
    default: [],
  },
};

/** Keys whose string value is a registry a chart puts before a repository: `registry`, `registryVPC` (the CSI driver), `*Registry` (`imageRegistry`, `prometheusDefaultBaseImageRegistry`). */
const REGISTRY_KEY = /^(registry|registryVPC|.+Registry)$/;
/** Keys whose string value is a whole image reference (a container's `image`, a Thanos `baseImage`, `prometheusDefaultBaseImage`). */
const IMAGE_KEY = /^(image|baseImage|.+Image)$/;

/**
 * The image sources a Helm release's values name, with their paths: a string at a registry key (REGISTRY_KEY: the
 * host, or host/path, the chart puts before its repository), a `repository` whose first component is a host (has a
 * '.' or ':' or is localhost, as distribution/reference reads it), and a string at an image key (IMAGE_KEY: a
 * container's `image` in extraContainers or prometheusSpec.containers, thanos.image, baseImage) read as a whole
 * reference (no host: docker.io). `composed` holds the keys CHART_IMAGE_VALUES composes (`controller.image.image`,
 * a registry-relative repository), judged there instead. The images the chart composes from these and its own
 * defaults are judged whole by chartImagePulls (CHART_IMAGE_VALUES, imageFields.ts).
 */
export function chartImageSources(values: unknown, composed: Set<string> = new Set(), path = "values"): { path: string; source: string }[] {
  if (Array.isArray(values)) return values.flatMap((x, i) => chartImageSources(x, composed, `${path}[${i}]`));
  if (typeof values !== "object" || values === null) return [];
  return Object.entries(values as Record<string, unknown>).flatMap(([k, x]) => {
    const at = `${path}.${k}`;
    if (typeof x !== "string") return chartImageSources(x, composed, at);
    if (x === "") return [];
    const first = x.split("/")[0];
    const isHost = first.includes(".") || first.includes(":") || first === "localhost";
    if (REGISTRY_KEY.test(k)) return [{ path: at, source: x === UNKNOWN ? x : x.toLowerCase() }];
    if (k === "repository" && x.includes("/") && isHost) return [{ path: at, source: x.toLowerCase() }];
    // A value unknown during preview where the table composes (`image` of `image.repository`) is named by chartImagePulls.
    const composedHere = composed.has(at) || [...composed].some((c) => c.startsWith(`${at}.`));
    if (IMAGE_KEY.test(k) && !composedHere) return [{ path: at, source: x === UNKNOWN ? x : imageRepositoryOf(x) }];
    return [];
  });
}

/**
 * An image reference as `host/path` with Docker's defaults made explicit:
 * `busybox:1` -> `docker.io/library/busybox`, `timonwong/x` -> `docker.io/timonwong/x`
 * (the first component is a host only when it has a '.' or ':' or is localhost,
 * as in distribution/reference's normalize.go). Host lowercased.
 */
export function imageRepositoryOf(image: string): string {
  const nameTag = image.split("@", 1)[0];
  const slash = nameTag.lastIndexOf("/");
  const colon = nameTag.lastIndexOf(":");
  const name = colon > slash ? nameTag.slice(0, colon) : nameTag;
  const [first, ...rest] = name.split("/");
  if (rest.length > 0 && (first.includes(".") || first.includes(":") || first === "localhost")) return [first.toLowerCase(), ...rest].join("/");
  return rest.length === 0 ? `docker.io/library/${first}` : `docker.io/${name}`;
}

/** True when `value` is `entry` or lies under it at a '/' boundary (`harbor.x` trusts `harbor.x/a`, not `harbor.x.evil/a`). */
export function underPrefix(value: string, entry: string): boolean {
  const e = entry.replace(/\/+$/, "");
  return value === e || value.startsWith(`${e}/`);
}

const trustedBy = (list: string[]) => (v: string) => list.some((e) => underPrefix(v, e));

/** `https://host/path` -> `host/path` (the form of the node tags: ECS tag values may not contain `https://`). */
export function withoutScheme(url: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/]*)(.*)$/i.exec(url);
  return m ? m[1].toLowerCase() + m[2] : url;
}

/** A URL with its scheme and host lowercased (`HTTPS://Evil.example/x` -> `https://evil.example/x`), as Go's url.Parse and DNS read them. */
export function normalUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(.*)$/i.exec(url);
  return m ? `${m[1].toLowerCase()}://${m[2].toLowerCase()}${m[3]}` : url;
}

/** The registries a dockerconfigjson document holds credentials for, or undefined when it is not readable (masked). */
export function dockerConfigRegistries(secret: PolicyResource): string[] | undefined {
  const read = (text: unknown): string[] | undefined => {
    if (typeof text !== "string" || text === MASK) return undefined;
    try {
      return Object.keys(obj(obj(JSON.parse(text)).auths)).map((h) => withoutScheme(h).replace(/\/.*$/, ""));
    } catch {
      return undefined;
    }
  };
  const stringData = secret.props.stringData;
  if (isObj(stringData)) {
    const found = read(stringData[".dockerconfigjson"]);
    if (found) return found;
  }
  const data = secret.props.data;
  if (isObj(data) && typeof data[".dockerconfigjson"] === "string" && data[".dockerconfigjson"] !== MASK) {
    return read(Buffer.from(data[".dockerconfigjson"] as string, "base64").toString("utf8"));
  }
  return undefined;
}

export function trustedSources(enforcementLevel: EnforcementLevel, config: Partial<TrustedSourcesConfig> = {}): StackPolicy {
  const c = withDefaults(TRUSTED_SOURCES_SCHEMA, config);
  const imageOk = trustedBy(c.imageRegistries);
  const pullOk = (host: string) => c.pullSecretRegistries.some((e) => host === e.toLowerCase());
  const pkgOk = trustedBy(c.packageRepositories);
  const mirrorOk = trustedBy(c.imageRepositories);
  const chartOk = trustedBy(c.chartRepositories);
  const chartImageOk = trustedBy(c.chartImageRegistries);
  // The per-repository rule: only the registry of a chart image may move (to a trusted chart image registry); its
  // repository stays the chart's default unless chartImageRepositories grants another.
  const repositoryOk = (r: NonNullable<ChartImagePull["repository"]>, reference: string) => {
    const allowed = [r.default, ...c.chartImageRepositories];
    if (r.form === "split") return allowed.includes(r.value);
    // A whole reference keeps the repository exactly: the default itself, or the default (host included) under one
    // trusted chart image registry, as the mirror's per-upstream proxy caches serve it; not any path ending in it,
    // which another project on the mirror could hold (`mirror/teamx/registry.k8s.io/...`).
    const repo = imageRepositoryOf(reference);
    return allowed.some((a) => {
      const want = imageRepositoryOf(a);
      return repo === want || c.chartImageRegistries.some((e) => repo === `${e.toLowerCase().replace(/\/+$/, "")}/${want}`);
    });
  };
  const fix = "trusted sources live in the pack config (policies/config/prod.json or nonprod.json, trusted-sources), not in the stack file";
  return {
    name: "trusted-sources",
    description:
      "Images (containers of any shape, custom resources' image fields, every image a Helm chart pulls with its defaults), pull-secret registries, the nodes' package repository and control-plane image mirror, and Helm chart repositories are on the pack config's trusted lists.",
    enforcementLevel,
    validateStack(s, report) {
      const secrets = new Map<string, PolicyResource>();
      for (const r of s.resources) {
        if (r.type !== TYPES.secret) continue;
        const meta = obj(r.props.metadata);
        secrets.set(`${str(meta.namespace) ?? "default"}/${str(meta.name) ?? r.name}`, r);
        if (r.props.type !== "kubernetes.io/dockerconfigjson") continue;
        const annotated = str(obj(meta.annotations)[PULL_SECRET_REGISTRY_ANNOTATION]);
        const actual = dockerConfigRegistries(r);
        const hosts = actual ?? (annotated === undefined ? [] : [annotated]);
        if (actual === undefined && annotated === undefined) {
          report(
            `${r.name}: pull Secret whose registry cannot be read (data is secret) and no ${PULL_SECRET_REGISTRY_ANNOTATION} annotation names it; ${fix}`,
            r.urn,
          );
        }
        if (actual !== undefined && annotated !== undefined && !(actual.length === 1 && actual[0] === annotated.toLowerCase())) {
          report(`${r.name}: ${PULL_SECRET_REGISTRY_ANNOTATION} says ${annotated} but the credentials are for ${actual.join(", ")}`, r.urn);
        }
        for (const h of hosts)
          if (!pullOk(h.toLowerCase()))
            report(`${r.name}: pull Secret holds credentials for ${h}, which is not a trusted registry (${c.pullSecretRegistries.join(", ")}); ${fix}`, r.urn);
      }
      for (const r of s.resources) {
        // A custom resource's own image fields (CUSTOM_RESOURCE_IMAGE_FIELDS: prometheus-operator, KubeVirt, CDI), which its
        // operator pulls outside any container shape; a field a container walk below already judges is not judged twice.
        if (r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/")) {
          const judged = carriesPodLike(r) ? new Set(containersIn({ ...r.props, metadata: undefined }).map(({ path }) => `${path}.image`)) : new Set<string>();
          for (const { path, image, registry } of customResourceImages(r.type, { ...r.props, metadata: undefined })) {
            if (judged.has(path)) continue;
            if (image === UNKNOWN) {
              report(`${r.name}: ${path} ${UNKNOWN}, an image its operator pulls, so its registry cannot be checked (${c.imageRegistries.join(", ")})`, r.urn);
              continue;
            }
            const repo = registry ? image.toLowerCase().replace(/\/+$/, "") : imageRepositoryOf(image);
            if (!imageOk(repo))
              report(`${r.name}: ${path} pulls ${image} (${repo}), not from a trusted registry (${c.imageRegistries.join(", ")}); ${fix}`, r.urn);
          }
        }
        // Every object that carries containers, found the way pod-privileges finds them: the workload kinds,
        // ReplicationController, PodTemplate, every patch, a custom resource's template or containers of another shape.
        if (carriesPodLike(r)) {
          const ns = str(obj(r.props.metadata).namespace) ?? "default";
          const pods = podSpecsIn({ ...r.props, metadata: undefined });
          // Containers of any shape (a Tekton step, an Argo template's container), found as pod-privileges finds them.
          for (const { path, container: ctr } of containersIn({ ...r.props, metadata: undefined })) {
            const image = str(ctr.image);
            if (image === undefined) continue;
            const repo = imageRepositoryOf(image);
            if (!imageOk(repo))
              report(
                `${r.name}: container ${str(ctr.name) ?? path} pulls ${image} (${repo}), not from a trusted registry (${c.imageRegistries.join(", ")}); ${fix}`,
                r.urn,
              );
          }
          for (const ref of pods.flatMap((pod) => arr(pod.imagePullSecrets)).map(obj)) {
            const name = str(ref.name) ?? "";
            if (!secrets.has(`${ns}/${name}`))
              report(`${r.name}: imagePullSecret ${ns}/${name} is not declared in the stack, so its registry cannot be checked`, r.urn);
          }
        } else if (r.type === TYPES.instance && ["master", "worker"].includes(String(tags(r)["platform:role"]))) {
          const t = tags(r);
          for (const [tag, ok, list] of [
            [PACKAGE_REPOSITORY_TAG, pkgOk, c.packageRepositories],
            [IMAGE_REPOSITORY_TAG, mirrorOk, c.imageRepositories],
          ] as const) {
            const v = str(t[tag]);
            if (v === undefined) report(`${r.name}: no ${tag} tag, so nobody can tell where the node fetches Kubernetes from`, r.urn);
            else if (!ok(withoutScheme(v))) report(`${r.name}: ${tag} ${v} is not trusted (${list.join(", ")}); ${fix}`, r.urn);
          }
        } else if (r.type === TYPES.helmRelease || r.type === TYPES.helmChartV4) {
          // Helm downloads a chart given as an absolute URL (any case of scheme) from that URL whatever
          // repositoryOpts.repo says, so both are checked. A local chart (file://) is pod-privileges' concern.
          const chart = str(r.props.chart) ?? "";
          const fetched = [str(obj(r.props.repositoryOpts).repo), ABSOLUTE_URL.test(chart) && !/^file:/i.test(chart) ? chart : undefined];
          for (const repo of fetched)
            if (repo !== undefined && !chartOk(normalUrl(repo).replace(/\/+$/, "")))
              report(`${r.name}: chart repository ${repo} is not trusted (${c.chartRepositories.join(", ") || "none listed"}); ${fix}`, r.urn);
          // The charts' own images, where the release's values name them (the platform's mirror).
          const refused = new Set<string>();
          const ref = chartRef(chart, str(r.props.version));
          const composed = new Set(
            (CHART_IMAGE_VALUES[ref.name]?.images ?? []).flatMap((im) =>
              [...(im.whole ?? []), ...(im.repository ? [im.repository.key] : [])].map((k) => `values.${k}`),
            ),
          );
          for (const { path, source } of chartImageSources(r.props.values, composed))
            if (!chartImageOk(source)) {
              refused.add(path);
              report(
                `${r.name}: ${path} ${source} is not a trusted source of chart images (${c.chartImageRegistries.join(", ") || "none listed"}); ${fix}`,
                r.urn,
              );
            }
          // Every image the chart pulls, as its templates compose it from the release's values and the chart's defaults
          // (CHART_IMAGE_VALUES), so an image left at the chart's default registry is refused too.
          if (ref.local || chart === "") continue; // pod-privileges refuses a local or unnamed chart
          // A stack rule sees a release's values masked when any of them is secret (the host's ks-core, for its JWT
          // secret): then the chart's version is still checked against the table, its values cannot be.
          const pulls = chartImagePulls(ref.name, ref.version, r.props.values === MASK ? {} : r.props.values);
          const at = `${ref.name} ${ref.version ?? "(no version)"}`;
          if (pulls === undefined) {
            const known = CHART_IMAGE_VALUES[ref.name];
            report(
              known === undefined
                ? `${r.name}: chart ${at}, whose default images the pack has not read (no CHART_IMAGE_VALUES entry), so what it pulls cannot be checked against the chart image sources`
                : `${r.name}: chart ${at}, whose default images the pack read at ${known.version} only (CHART_IMAGE_VALUES)`,
              r.urn,
            );
            continue;
          }
          if (r.props.values === MASK) continue;
          for (const p of pulls) {
            if (p.unknown !== undefined) report(`${r.name}: chart ${at} image ${p.path}: ${p.unknown} ${UNKNOWN}, so its registry cannot be checked`, r.urn);
            else if (p.rawString !== undefined)
              report(
                `${r.name}: chart ${at} values.${p.path} is a string, which the chart renders as raw YAML (${p.rawString}), so the containers and images in it cannot be checked; give it as a list or map`,
                r.urn,
              );
            else if (p.notString !== undefined)
              report(`${r.name}: chart ${at} image ${p.path}: ${p.notString} where the chart reads a string, so its reference cannot be checked`, r.urn);
            else if (p.unlisted)
              report(`${r.name}: chart ${at} turns on ${p.path}, a subchart whose images the pack has not read (CHART_IMAGE_VALUES); keep it off`, r.urn);
            else if (p.reference !== undefined && !p.repositoryOnly && !chartImageOk(imageRepositoryOf(p.reference))) {
              // A value the release set that the check above already refused is not named twice.
              if (p.set.some((k) => refused.has(`values.${k}`))) continue;
              const how = [
                ...(p.set.length > 0 ? [`set by the release (${p.set.join(", ")})`] : []),
                ...(p.defaults.length > 0 ? [`left at the chart's default ${p.defaults.join(", ")}`] : []),
              ].join(" and ");
              report(
                `${r.name}: chart ${at} pulls ${p.path} from ${p.reference}, ${how}, not under a trusted source of chart images (${c.chartImageRegistries.join(", ") || "none listed"}); the program overrides each chart image through the mirror (components/k8s/images.ts), and ${fix}`,
                r.urn,
              );
            } else if (p.reference !== undefined && p.repository !== undefined && !repositoryOk(p.repository, p.reference)) {
              report(
                `${r.name}: chart ${at} pulls ${p.path} from ${p.reference}: ${p.repository.key}=${p.repository.value} is not the chart's repository ${p.repository.default}${p.repository.form === "whole" ? " behind a trusted chart image registry" : ""}, nor listed in chartImageRepositories (${c.chartImageRepositories.join(", ") || "none listed"}); only the registry may move, to the mirror, and ${fix}`,
                r.urn,
              );
            }
          }
        }
      }
    },
  };
}
