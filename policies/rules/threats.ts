// Rules that follow from the threat model (docs/threat-model.md): each description
// cites the rows (T<n>) it stops. Where the pack's lists come from: the pack config
// (policies/config/*.json), which a stack-file PR does not edit, so moving an
// endpoint, a namespace or a load balancer in a stack file alone is a violation.
import {
  arr,
  ConfigProperty,
  EnforcementLevel,
  isObj,
  isSlb,
  obj,
  PolicyResource,
  ResourcePolicy,
  StackPolicy,
  str,
  TYPES,
  UNKNOWN,
  withDefaults,
} from "./policy";
import { isMasterInstance } from "./nodes";

const FIX = "allowed values live in the pack config (policies/config/prod.json or nonprod.json), not in the stack file";

// ---------------------------------------------------------------------------
// credential-endpoints (T1-T6)

/**
 * The tag a master carries with the host a new master's user data fetches the cluster's PKI from
 * (components/cluster/cluster.ts kmsEndpointTag, from the same `secretStore.kmsUrl`): the user
 * data is a secret the pack cannot read, the tag is not (T1). The user data is ignoreChanges, so
 * after an endpoint move a running master keeps the old one until it is replaced.
 */
export const KMS_ENDPOINT_TAG = "platform:kms-endpoint";

export interface CredentialEndpointsConfig {
  /** Elasticsearch/Kibana URLs the log-search Job may send its `manage_security` API key to (T3). */
  logSearch: string[];
  /** `host:port` of the Kafka brokers / Elasticsearch fluent-bit may ship logs and the logging password to (T4). */
  logStores: string[];
  /** `host:port` of the Elasticsearch SkyWalking's OAP may store traces in and send its Elasticsearch password to (T33). */
  tracingStores: string[];
  /** Apollo meta server URLs apps may send their access keys to and take their config from (T5). */
  apolloMeta: string[];
  /** ECS image ids nodes may boot (T6). */
  osImages: string[];
  /** Hosts of the KMS endpoints masters may fetch the cluster's PKI from, as their `platform:kms-endpoint` tag names them (T1). */
  kmsEndpoints: string[];
}

export const CREDENTIAL_ENDPOINTS_SCHEMA: Record<keyof CredentialEndpointsConfig, ConfigProperty> = {
  logSearch: { type: "array", items: { type: "string" }, description: "Elasticsearch/Kibana URLs (scheme://host[:port][/path])", default: [] },
  logStores: { type: "array", items: { type: "string" }, description: "Kafka brokers / Elasticsearch outputs of fluent-bit (host:port)", default: [] },
  tracingStores: { type: "array", items: { type: "string" }, description: "Elasticsearch of SkyWalking's OAP (host:port)", default: [] },
  apolloMeta: { type: "array", items: { type: "string" }, description: "Apollo meta server URLs", default: [] },
  osImages: { type: "array", items: { type: "string" }, description: "ECS image ids of the nodes", default: [] },
  kmsEndpoints: {
    type: "array",
    items: { type: "string" },
    description:
      "KMS endpoint hosts the masters may fetch the PKI from (kms.<region>.aliyuncs.com, kms-vpc.<region>.aliyuncs.com, <kst-id>.cryptoservice.kms.aliyuncs.com)",
    default: [],
  },
};

/** Container env variables that name a credential sink, and the list of the pack config that holds their allowed values. */
export const ENDPOINT_ENV: Record<string, "logSearch" | "apolloMeta"> = {
  ES_URL: "logSearch",
  KIBANA_URL: "logSearch",
  APOLLO_META: "apolloMeta",
  // Apollo's client also reads these (apolloconfig/apollo java-sdk-user-guide, "Apollo Meta Server"):
  // the config service directly, and the legacy per-environment meta variables.
  APOLLO_CONFIG_SERVICE: "apolloMeta",
  APOLLO_CONFIGSERVICE: "apolloMeta",
  DEV_META: "apolloMeta",
  FAT_META: "apolloMeta",
  UAT_META: "apolloMeta",
  PRO_META: "apolloMeta",
  LPT_META: "apolloMeta",
};

/** Env variables the JVM reads flags from: a `-D` there overrides the env (Apollo ranks system properties first). */
export const JVM_OPTION_ENV = ["JAVA_OPTS", "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS"];

/** JVM system properties Apollo's client takes its meta server or config service from. */
export const APOLLO_ENDPOINT_PROPERTY = /^-D(apollo\.meta|apollo\.config-service|apollo\.configService|(?:dev|fat|uat|pro|lpt)_meta)=(.*)$/;

/** `-Dname=value` flags in a JVM options string that name an Apollo endpoint: [property, value]. */
export function apolloEndpointFlags(options: string): [string, string][] {
  return options
    .split(/\s+/)
    .map((t) => APOLLO_ENDPOINT_PROPERTY.exec(t))
    .flatMap((m) => (m ? [[m[1], m[2]] as [string, string]] : []));
}

/**
 * Why `value` (a URL) is not under one of `allowed`, or undefined when it is. Both are read by
 * the WHATWG URL parser, so `https://allowed@elsewhere` is `elsewhere` with userinfo (refused
 * outright: it reads like the allowed host in review), a default port equals no port, and a path
 * must lie under the entry's at a '/' boundary.
 */
export function urlProblem(value: string, allowed: string[], exactOrigin = false): string | undefined {
  // Apollo's client load-balances over a comma list of meta servers (MetaServerProvider).
  if (value.includes(",")) return "holds a comma, which a client reads as a list of servers";
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return "is not a URL";
  }
  if (u.username !== "" || u.password !== "" || /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(value))
    return `has userinfo, so it connects to ${u.host}, not to the host before '@'`;
  const ok = allowed.some((entry) => {
    let e: URL;
    try {
      e = new URL(entry);
    } catch {
      return false;
    }
    if (exactOrigin) return e.origin === u.origin && u.pathname === "/" && !/[?#]/.test(value);
    const base = e.pathname.replace(/\/+$/, "");
    return e.protocol === u.protocol && e.host === u.host && (u.pathname.replace(/\/+$/, "") === base || u.pathname.startsWith(`${base}/`));
  });
  return ok ? undefined : `is not an allowed endpoint (${allowed.join(", ") || "none listed"}${exactOrigin ? "; exactly, no path, query or fragment" : ""})`;
}

/** Why `hostPort` (`host:port`, no scheme) is not one of `allowed`, or undefined when it is. */
export function hostPortProblem(hostPort: string, allowed: string[], what = "log store"): string | undefined {
  let u: URL;
  try {
    u = new URL(`tcp://${hostPort}`);
  } catch {
    return "is not host:port";
  }
  if (u.username !== "" || u.password !== "" || hostPort.includes("@")) return `has userinfo, so it connects to ${u.host}`;
  if (u.port === "" || u.pathname !== "" || u.search !== "" || u.hash !== "" || `${u.hostname}:${u.port}` !== hostPort.toLowerCase()) return "is not host:port";
  return allowed.map((a) => a.toLowerCase()).includes(u.host) ? undefined : `is not an allowed ${what} (${allowed.join(", ") || "none listed"})`;
}

/** fluent-bit's outputs in a release's `config.outputs` (classic format): each `Brokers` entry, and `Host:Port` of an es output. */
export function fluentBitOutputs(outputs: string): string[] {
  const found: string[] = [];
  for (const section of outputs.split(/^\[OUTPUT\]\s*$/m).slice(1)) {
    const kv = new Map<string, string>();
    for (const line of section.split("\n")) {
      const m = /^\s*(\S+)\s+(.*?)\s*$/.exec(line);
      if (m) kv.set(m[1].toLowerCase(), m[2]);
    }
    const brokers = kv.get("brokers");
    if (brokers !== undefined) found.push(...brokers.split(",").map((b) => b.trim()));
    const host = kv.get("host");
    // fluent-bit's es and http outputs default to port 9200 and 80; ours always set Port.
    if (host !== undefined) found.push(`${host}:${kv.get("port") ?? ""}`);
  }
  return found;
}

/**
 * The pod-carrying types of @pulumi/kubernetes 4.34.2 (node_modules/@pulumi/kubernetes/{apps,batch,core}/v1/*.d.ts),
 * patches included. Any other `kubernetes:` type (a custom resource, a future kind) counts as a
 * workload when a pod spec is found anywhere in it (podSpecsIn).
 */
export const WORKLOAD_TYPES = new Set([
  ...["Deployment", "DaemonSet", "StatefulSet", "ReplicaSet"].flatMap((k) => [`kubernetes:apps/v1:${k}`, `kubernetes:apps/v1:${k}Patch`]),
  ...["Job", "CronJob"].flatMap((k) => [`kubernetes:batch/v1:${k}`, `kubernetes:batch/v1:${k}Patch`]),
  ...["Pod", "PodTemplate", "ReplicationController"].flatMap((k) => [`kubernetes:core/v1:${k}`, `kubernetes:core/v1:${k}Patch`]),
]);

/** PersistentVolume types: a hostPath or local PV hands the node's disk to any pod that claims it (T11). */
export const PERSISTENT_VOLUME_TYPES = new Set(["kubernetes:core/v1:PersistentVolume", "kubernetes:core/v1:PersistentVolumePatch"]);

const NAMESPACE_TYPES = new Set(["kubernetes:core/v1:Namespace", "kubernetes:core/v1:NamespacePatch"]);

const POD_LISTS = ["containers", "initContainers", "ephemeralContainers"];

/**
 * Every pod spec in an object, wherever it sits: a map holding a containers, initContainers or
 * ephemeralContainers list (Pod `spec`, `template.spec`, `jobTemplate.spec.template.spec`, a custom
 * resource's pod template), or the `spec` of a `template` that holds none (a patch may set only
 * `hostNetwork` there).
 */
export function podSpecsIn(v: unknown): Record<string, unknown>[] {
  if (Array.isArray(v)) return v.flatMap(podSpecsIn);
  if (!isObj(v)) return [];
  if (POD_LISTS.some((k) => Array.isArray(v[k]))) return [v];
  const own =
    isObj(v.template) && isObj(v.template.spec) && !POD_LISTS.some((k) => Array.isArray(obj(obj(v.template).spec)[k])) ? [obj(obj(v.template).spec)] : [];
  return [...own, ...Object.values(v).flatMap(podSpecsIn)];
}

/**
 * Fields only a container has: core/v1 Container's, and those of the custom resources that embed
 * or mirror one. Tekton Pipelines v1.15.0 (tektoncd/pipeline 70f73081, pkg/apis/pipeline/v1/container_types.go:
 * Step, StepTemplate, Sidecar; v1beta1/stepaction_types.go: StepActionSpec) adds `computeResources` and `script`; Argo Workflows v4.1.2
 * (argoproj/argo-workflows 16a52d67, pkg/apis/workflow/v1alpha1/workflow_types.go: ScriptTemplate,
 * UserContainer; container_set_template_types.go: ContainerNode) embeds core/v1 Container inline and
 * adds `source`.
 */
export const CONTAINER_FIELDS = [
  ...["command", "args", "workingDir", "env", "envFrom", "ports", "resources", "volumeMounts", "volumeDevices", "securityContext"],
  ...["computeResources", "script", "source"],
];

/** Keys only a container's securityContext has (core/v1 SecurityContext, not PodSecurityContext): a map carrying one under `securityContext` is a container or a container template (Tekton's stepTemplate). */
const CONTAINER_SECURITY_KEYS = ["privileged", "allowPrivilegeEscalation", "capabilities", "procMount"];

/**
 * Keys that make a map a pod spec, whatever holds it: the node's namespaces and the volumes (a
 * hostPath), and `podSpecPatch`, a string Argo Workflows merges into the pod it creates
 * (workflow_types.go at v4.1.2: WorkflowSpec.PodSpecPatch, Template.PodSpecPatch,
 * WorkflowLevelArtifactGC.PodSpecPatch). Tekton's pod template (pkg/apis/pipeline/pod/template.go
 * at v1.15.0: Template.HostNetwork, .Volumes, .SecurityContext) and Argo's WorkflowSpec and Template
 * (HostNetwork, Volumes, SecurityContext) are found this way.
 */
const POD_FIELDS = ["hostNetwork", "hostPID", "hostIPC", "volumes", "podSpecPatch"];

/**
 * Keys under which a custom resource keeps containers or pod specs in the shapes above (Tekton:
 * steps, sidecars, stepTemplate, taskSpec, pipelineSpec, podTemplate; Argo: templates,
 * templateDefaults, container, script, containerSet, workflowSpec): a value there unknown during
 * preview could hold any privilege, so it makes the object a workload and is named.
 */
const CONTAINER_HOLDERS = [
  ...["containers", "initContainers", "ephemeralContainers", "template"],
  ...["steps", "sidecars", "stepTemplate", "taskSpec", "pipelineSpec", "podTemplate"],
  ...["templates", "templateDefaults", "container", "script", "containerSet", "workflowSpec"],
];

/**
 * Keys only a pod's securityContext has, or shares with a container's (core/v1 PodSecurityContext:
 * sysctls, seccompProfile, seLinuxOptions, windowsOptions, appArmorProfile): a map whose
 * `securityContext` holds one is read as a pod spec, so a custom resource's pod-level context (Tekton's
 * TaskRun `podTemplate.securityContext.sysctls`, pkg/apis/pipeline/pod/template.go at v1.15.0
 * Template.SecurityContext; a Prometheus CR's `spec.securityContext`) is walked.
 */
const POD_SECURITY_KEYS = ["sysctls", "seccompProfile", "seLinuxOptions", "windowsOptions", "appArmorProfile"];

/** Whether a map is an Argo Workflows resource template with a manifest (workflow_types.go at v4.1.2: ResourceTemplate.Manifest, a YAML string Argo applies). */
const hasArgoManifest = (v: Record<string, unknown>) =>
  isObj(v.resource) && v.resource.manifest !== undefined && v.resource.manifest !== null && v.resource.manifest !== "";

/** Whether a map is a container: a string `image` with a container-only field, or a securityContext holding a container-only key. */
function isContainerLike(v: Record<string, unknown>): boolean {
  if (typeof v.image === "string" && CONTAINER_FIELDS.some((k) => k in v)) return true;
  const sc = v.securityContext;
  return isObj(sc) && CONTAINER_SECURITY_KEYS.some((k) => k in sc);
}

/**
 * The JSON paths of the maps in an object that read as containers or pod specs, whatever their
 * shape (isContainerLike; a map with a POD_FIELDS key; a value unknown during preview at a
 * CONTAINER_HOLDERS or POD_FIELDS key), so a custom resource is judged without a list of its kinds.
 */
export function podLikeIn(v: unknown, path = ""): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => podLikeIn(x, `${path}[${i}]`));
  if (!isObj(v)) return [];
  const sc = v.securityContext;
  const podContext = isObj(sc) && POD_SECURITY_KEYS.some((k) => k in sc);
  const here = isContainerLike(v) || podContext || hasArgoManifest(v) || POD_FIELDS.some((k) => v[k] !== undefined && v[k] !== null) ? [path] : [];
  const at = (k: string) => (path === "" ? k : `${path}.${k}`);
  const unknown = Object.entries(v).flatMap(([k, x]) => {
    if (!CONTAINER_HOLDERS.includes(k) && !POD_FIELDS.includes(k)) return [];
    if (x === UNKNOWN) return [at(k)];
    // An element unknown during preview in a holder's list (`steps[0]`, `templates[0]`) could be any container.
    return Array.isArray(x) ? x.flatMap((e, i) => (e === UNKNOWN ? [`${at(k)}[${i}]`] : [])) : [];
  });
  return [...here, ...unknown, ...Object.entries(v).flatMap(([k, x]) => podLikeIn(x, path === "" ? k : `${path}.${k}`))];
}

/**
 * Every container in an object, with its JSON path: each member of a pod spec's containers,
 * initContainers and ephemeralContainers lists, and every other map that reads as a container
 * (isContainerLike: Tekton steps and sidecars, Argo templates' container and script), so the rules
 * that read images and env (trusted-sources, credential-endpoints, validated-in-pre) see the same
 * containers pod-privileges judges. Each map once, however it was found.
 */
export function containersIn(v: unknown): { path: string; container: Record<string, unknown> }[] {
  const seen = new Set<object>();
  const found: { path: string; container: Record<string, unknown> }[] = [];
  const add = (container: Record<string, unknown>, path: string) => {
    if (seen.has(container)) return;
    seen.add(container);
    found.push({ path, container });
  };
  const walk = (x: unknown, path: string): void => {
    if (Array.isArray(x)) return x.forEach((y, i) => walk(y, `${path}[${i}]`));
    if (!isObj(x)) return;
    // Init containers first: they run first, and the rules' reports follow that order.
    for (const k of ["initContainers", "containers", "ephemeralContainers"])
      arr(x[k]).forEach((c, i) => isObj(c) && add(c, `${path === "" ? k : `${path}.${k}`}[${i}]`));
    if (isContainerLike(x)) add(x, path);
    for (const [k, y] of Object.entries(x)) walk(y, path === "" ? k : `${path}.${k}`);
  };
  walk(v, "");
  return found;
}

/** Each `podSpecPatch` set in an object: the patch is a string the pack does not read, so it can carry any privilege. */
export function podSpecPatchesIn(v: unknown, path = ""): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => podSpecPatchesIn(x, `${path}[${i}]`));
  if (!isObj(v)) return [];
  return Object.entries(v).flatMap(([k, x]) => {
    const at = path === "" ? k : `${path}.${k}`;
    if (k === "podSpecPatch" && x !== undefined && x !== null && x !== "")
      return [`${at} (a pod spec patch${x === UNKNOWN ? ` ${UNKNOWN}` : ""}, which can set any privilege and the pack does not read)`];
    return podSpecPatchesIn(x, at);
  });
}

/**
 * Each Argo Workflows `resource.manifest` in an object (argoproj/argo-workflows v4.1.2 16a52d67,
 * pkg/apis/workflow/v1alpha1/workflow_types.go: Template.Resource, ResourceTemplate.Manifest): a YAML
 * string Argo applies as given, so it can create any object (a privileged Pod, a LoadBalancer Service)
 * the pack does not read. Refused like a podSpecPatch unless the workload is granted.
 */
export function argoManifestsIn(v: unknown, path = ""): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => argoManifestsIn(x, `${path}[${i}]`));
  if (!isObj(v)) return [];
  const here = hasArgoManifest(v)
    ? [
        `${path === "" ? "" : `${path}.`}resource.manifest (a manifest Argo applies${obj(v.resource).manifest === UNKNOWN ? ` ${UNKNOWN}` : ""}, which can create any object and the pack does not read)`,
      ]
    : [];
  return [...here, ...Object.entries(v).flatMap(([k, x]) => argoManifestsIn(x, path === "" ? k : `${path}.${k}`))];
}

/** Objects whose controller installs a chart or manifests the plan does not hold: [API group, Kind]. */
export const DELEGATED_INSTALLERS: readonly (readonly [string, string])[] = [
  ["helm.toolkit.fluxcd.io", "HelmRelease"],
  ["kustomize.toolkit.fluxcd.io", "Kustomization"],
  ["argoproj.io", "Application"],
  ["argoproj.io", "ApplicationSet"],
  ["kubesphere.io", "InstallPlan"],
];

/** Whether a resource carries pods: a workload type, or a `kubernetes:` object with a pod spec anywhere (a custom resource's template). */
export function carriesPods(r: PolicyResource): boolean {
  if (WORKLOAD_TYPES.has(r.type)) return true;
  if (!r.type.startsWith("kubernetes:") || r.type.startsWith("kubernetes:helm.sh/") || NAMESPACE_TYPES.has(r.type)) return false;
  return podSpecsIn({ ...r.props, metadata: undefined }).length > 0;
}

/** The Kind a `kubernetes:` type token names, a patch as the object it patches: `kubernetes:apps/v1:DeploymentPatch` -> `Deployment`. */
export function kindOf(type: string): string {
  return (type.split(":").pop() ?? type).replace(/(.)Patch$/, "$1");
}

/**
 * Whether pod-privileges walks a resource: it carries pods (carriesPods), or it is a `kubernetes:`
 * object (a custom resource, a future kind) in which containers or pod specs of another shape are
 * found (podLikeIn: Tekton steps, Argo templates, a podTemplate with hostNetwork).
 */
export function carriesPodLike(r: PolicyResource): boolean {
  if (carriesPods(r)) return true;
  if (!r.type.startsWith("kubernetes:") || r.type.startsWith("kubernetes:helm.sh/") || NAMESPACE_TYPES.has(r.type) || PERSISTENT_VOLUME_TYPES.has(r.type))
    return false;
  return podLikeIn({ ...r.props, metadata: undefined }).length > 0;
}

/**
 * How a message shows an endpoint value: its scheme and host (`https://es.example:9200`), never its userinfo, path or
 * query, which may hold a credential (CrossGuard prints messages as they are; only the offline preview redacts).
 */
export function shownEndpoint(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return "a value that is not a URL";
  }
  const hidden = [
    u.username !== "" || u.password !== "" ? "userinfo" : "",
    u.pathname.replace(/^\/$/, "") !== "" ? "path" : "",
    u.search !== "" ? "query" : "",
    u.hash !== "" ? "fragment" : "",
  ].filter((x) => x !== "");
  return `${u.protocol}//${u.host}${hidden.length > 0 ? ` (${hidden.join(", ")} not shown)` : ""}`;
}

/** How a message shows a `host:port` value: the host and port the URL parser reads, never userinfo. */
export function shownHostPort(hostPort: string): string {
  try {
    return new URL(`tcp://${hostPort}`).host || "a value that is not host:port";
  } catch {
    return "a value that is not host:port";
  }
}

export function credentialEndpoints(enforcementLevel: EnforcementLevel, config: Partial<CredentialEndpointsConfig> = {}): ResourcePolicy {
  const c = withDefaults(CREDENTIAL_ENDPOINTS_SCHEMA, config);
  return {
    name: "credential-endpoints",
    description:
      "Endpoints that receive credentials or deliver code are on the pack config's lists: the masters' KMS, by their platform:kms-endpoint tag (T1), the log-search Job's Elasticsearch/Kibana (T3), fluent-bit's Kafka brokers or Elasticsearch (T4), SkyWalking OAP's Elasticsearch (T33), the apps' Apollo meta (T5), the nodes' OS image (T6); a URL with userinfo is refused (T2).",
    enforcementLevel,
    // A resource policy, so it runs before each resource is created, even under `pulumi up --skip-preview`
    // (deploy.yml's path), where CrossGuard runs stack policies only after every change is applied (T1: a
    // master with another KMS would already have fetched the PKI). Every check here reads one resource.
    validateResource(r, report) {
      if (carriesPodLike(r)) {
        for (const { path, container: ctr } of containersIn({ ...r.props, metadata: undefined })) {
          for (const e of arr(ctr.env).map(obj)) {
            const name = str(e.name) ?? "";
            const list = ENDPOINT_ENV[name];
            const value = str(e.value);
            if (list !== undefined && e.valueFrom !== undefined) {
              report(
                `${r.name}: container ${str(ctr.name) ?? path} env ${name} takes its value from valueFrom, which the plan cannot check; an endpoint variable must be a literal value on the pack's list (credential-endpoints.${list})`,
                r.urn,
              );
              continue;
            }
            if (value === undefined) continue;
            if (list !== undefined) {
              const problem = urlProblem(value, c[list], list === "apolloMeta");
              if (problem)
                report(
                  `${r.name}: container ${str(ctr.name) ?? path} env ${name} ${shownEndpoint(value)} ${problem}; ${FIX} (credential-endpoints.${list})`,
                  r.urn,
                );
            } else if (JVM_OPTION_ENV.includes(name)) {
              for (const [prop, url] of apolloEndpointFlags(value)) {
                const problem = urlProblem(url, c.apolloMeta, true);
                if (problem)
                  report(
                    `${r.name}: container ${str(ctr.name) ?? path} env ${name} sets -D${prop} to ${shownEndpoint(url)}, which ${problem}; ${FIX} (credential-endpoints.apolloMeta)`,
                    r.urn,
                  );
              }
            }
          }
        }
      } else if ((r.type === TYPES.helmRelease || r.type === TYPES.helmChartV4) && chartRef(str(r.props.chart) ?? "", undefined).name === "fluent-bit") {
        const outputs = str(obj(obj(r.props.values).config).outputs);
        if (outputs === undefined) return;
        for (const hp of fluentBitOutputs(outputs)) {
          const problem = hostPortProblem(hp, c.logStores);
          if (problem) report(`${r.name}: fluent-bit output ${shownHostPort(hp)} ${problem}; ${FIX} (credential-endpoints.logStores)`, r.urn);
        }
      } else if (r.type === TYPES.helmRelease && /(^|\/)skywalking-helm$/.test(str(r.props.chart) ?? "")) {
        // OAP stores every trace there and logs in with platform:tracingElasticsearchPassword (T33)
        const es = obj(obj(obj(r.props.values).elasticsearch).config);
        const host = str(es.host);
        if (host === undefined || host === "") return;
        const hp = `${host}:${String(obj(es.port).http ?? "")}`;
        const problem = hostPortProblem(hp, c.tracingStores, "tracing store");
        if (problem) report(`${r.name}: SkyWalking OAP's Elasticsearch ${shownHostPort(hp)} ${problem}; ${FIX} (credential-endpoints.tracingStores)`, r.urn);
      } else if (r.type === TYPES.instance) {
        const image = str(r.props.imageId);
        if (image !== undefined && !c.osImages.includes(image))
          report(
            `${r.name}: boots image ${image}, not an allowed OS image (${c.osImages.join(", ") || "none listed"}); ${FIX} (credential-endpoints.osImages)`,
            r.urn,
          );
        // T1: a master sends role-signed requests to its KMS and installs the PKI it returns.
        if (isMasterInstance(r)) {
          const host = obj(r.props.tags)[KMS_ENDPOINT_TAG];
          const listed = `(${c.kmsEndpoints.join(", ") || "none listed"})`;
          if (host === undefined || host === null || host === "")
            report(
              `${r.name}: a master without the ${KMS_ENDPOINT_TAG} tag, so the pack cannot tell which KMS it fetches the cluster's PKI from; the program sets it from platform:secretStore.endpoint, allowed ${listed} (credential-endpoints.kmsEndpoints)`,
              r.urn,
            );
          else if (typeof host !== "string" || !c.kmsEndpoints.map((e) => e.toLowerCase()).includes(host.toLowerCase()))
            report(
              `${r.name}: ${KMS_ENDPOINT_TAG} ${String(host)} is not an allowed KMS endpoint ${listed}: the master would send role-signed requests there and install the PKI it returns; ${FIX} (credential-endpoints.kmsEndpoints)`,
              r.urn,
            );
        }
      }
    },
  };
}

// ---------------------------------------------------------------------------
// pod-privileges (T11)

export interface PodPrivilegesConfig {
  /**
   * `Kind/namespace/name` of the workloads (a patch as its object's Kind: `Deployment/kube-system/csi-provisioner`), `namespace/release@chart` of the Helm releases (the chart's
   * name, so swapping a granted release's chart drops the grant) and `PersistentVolume/<name>` of the
   * PersistentVolumes that may run privileged or use host namespaces or hostPath.
   */
  privilegedWorkloads: string[];
  /**
   * `namespace/release@chart:values.path` grants for one privilege of a Helm release (a path
   * privilegesIn or CHART_PRIVILEGE_VALUES names): node-exporter's hostNetwork in
   * kube-prometheus-stack is allowed, a hostPID set on its Prometheus is not.
   */
  privilegedChartValues: string[];
  /**
   * Namespaces that may be labelled Pod Security `privileged` (enforce): the label turns the cluster's baseline
   * off there, so the ValidatingAdmissionPolicy is all that stands (components/cluster/podSecurity.ts RELAXED_NAMESPACES).
   */
  privilegedNamespaces: string[];
  /**
   * `name@version` of Helm charts outside CHART_PRIVILEGE_VALUES whose templates were read and
   * render no node privilege and no LoadBalancer Service by default: a release of any other chart is
   * refused, its values then judged as given.
   */
  reviewedCharts: string[];
  /**
   * `namespace/release` of Helm releases allowed `valueYamlFiles` or a post-renderer, which hand
   * the chart values (or objects) the plan does not show.
   */
  unreadValuesReleases: string[];
}

export const POD_PRIVILEGES_SCHEMA: Record<keyof PodPrivilegesConfig, ConfigProperty> = {
  privilegedWorkloads: {
    type: "array",
    items: { type: "string" },
    description: "namespace/name of platform workloads, namespace/release@chart of Helm releases, PersistentVolume/<name>",
    default: [],
  },
  privilegedChartValues: {
    type: "array",
    items: { type: "string" },
    description: "namespace/release@chart:values.path of Helm release values allowed to turn a node privilege on",
    default: [],
  },
  privilegedNamespaces: {
    type: "array",
    items: { type: "string" },
    description: "namespaces that may carry pod-security.kubernetes.io/enforce: privileged",
    default: [],
  },
  reviewedCharts: {
    type: "array",
    items: { type: "string" },
    description: "name@version of Helm charts outside CHART_PRIVILEGE_VALUES reviewed to render no privilege or LoadBalancer by default",
    default: [],
  },
  unreadValuesReleases: {
    type: "array",
    items: { type: "string" },
    description: "namespace/release of Helm releases allowed valueYamlFiles or a post-renderer",
    default: [],
  },
};

/** The Pod Security enforce label (Kubernetes "Pod Security Admission", namespace labels). */
export const PSA_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";

/**
 * The capabilities Pod Security `baseline` lets a container add (Kubernetes "Pod Security Standards",
 * Baseline, "Capabilities"; kubernetes.io/docs/concepts/security/pod-security-standards/, read
 * 2026-12-07). The admission policy (components/k8s/admissionPolicy.ts) imports this list too.
 */
export const BASELINE_CAPABILITIES = [
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
];

/**
 * Whether a value turns a privilege on. A chart reads its values with Go templates, where only
 * false, 0, "", nil and empty maps and lists are false (text/template "if"): a string "true" (or
 * "false") is true there. Pod specs are judged the same way; the API refuses a string anyway.
 * A map with `enabled` (`hostNetwork.enabled`, `hostPort.enabled`: the charts' convention) is on
 * when `enabled` is.
 */
export function turnsOn(x: unknown): boolean {
  if (isObj(x)) return "enabled" in x ? turnsOn(x.enabled) : false;
  if (Array.isArray(x)) return x.length > 0;
  return x !== undefined && x !== null && x !== false && x !== 0 && x !== "";
}

/**
 * Whether a subchart whose Chart.yaml `condition` reads `v` (the release's value, else the parent chart's default) is
 * installed. Helm (helm.sh/helm/v3 v3.21.4 pkg/chartutil/dependencies.go:48-70, processDependencyConditions, after
 * :166-169 sets every dependency enabled) takes the first condition path holding a bool and only a bool: a non-bool
 * value (0, "", "false", a map) is ignored with a warning and the subchart stays on. So it is off only for `false`.
 */
export function subchartOn(v: unknown): boolean {
  return v !== false;
}

/** Keys that hand a pod the node when on (pod spec, container securityContext, or a chart value of that name); `hostProcess` is windowsOptions'. */
const HOST_KEYS = ["privileged", "hostNetwork", "hostPID", "hostIPC", "allowPrivilegeEscalation", "hostPort", "hostProcess"];

/**
 * Keys whose value, unknown during preview, could hold a privilege: pod-privileges names them rather
 * than guess. An unknown element of a list under one of them (`volumes[i]`, a container, `sysctls[i]`,
 * `ports[i]`, a Tekton step) is named too, and so is an unknown `capabilities.add` or one of its entries.
 */
const UNKNOWN_MATTERS = [
  ...HOST_KEYS,
  ...["hostPath", "hostDisk", "capabilities", "seccompProfile", "appArmorProfile", "procMount", "sysctls", "seLinuxOptions", "windowsOptions", "ports"],
  ...["securityContext", "containers", "initContainers", "ephemeralContainers", "volumes", "spec", "template", "jobTemplate", "annotations", "podAnnotations"],
  ...CONTAINER_HOLDERS,
];

const unknownAt = (at: string) => `${at} ${UNKNOWN}`;

/**
 * The rest of Pod Security `baseline` (Kubernetes "Pod Security Standards", Baseline: "Sysctls",
 * "/proc Mount Type", "SELinux"; kubernetes.io/docs/concepts/security/pod-security-standards/, read
 * 2026-12-07; the admission policy's BASELINE_SELINUX_TYPES, components/k8s/admissionPolicy.ts): the
 * sysctls a pod may set, and the SELinux types it may ask for (user and role must be unset).
 */
export const BASELINE_SYSCTLS = [
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
  "net.ipv4.tcp_rmem",
  "net.ipv4.tcp_wmem",
];
export const BASELINE_SELINUX_TYPES = ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];
/** Annotations that turn a container's AppArmor or seccomp profile off (the pre-field forms the kubelet still reads for AppArmor). */
const UNCONFINED_ANNOTATION =
  /^(container\.apparmor\.security\.beta\.kubernetes\.io\/|container\.seccomp\.security\.alpha\.kubernetes\.io\/|seccomp\.security\.alpha\.kubernetes\.io\/pod$)/;

/**
 * Where a pod spec (or a chart's values) asks for the node: `privileged`, `hostNetwork`, `hostPID`,
 * `hostIPC`, `allowPrivilegeEscalation` or `hostPort` on (see turnsOn), a `hostPath` or a KubeVirt `hostDisk`
 * (a disk image at a path on the node: kubevirt/kubevirt 5fd32e6d, staging/src/kubevirt.io/api/core/v1/schema.go
 * VolumeSource.HostDisk, API v1), a capability
 * added beyond baseline's list, a `seccompProfile` or `appArmorProfile` of type `Unconfined` (pod or
 * container level: the walk goes through containers, initContainers and ephemeralContainers alike),
 * or an `unconfined` AppArmor/seccomp annotation (in `annotations`, or a chart's `podAnnotations`);
 * and the rest of baseline: a procMount other than Default (Unmasked), a sysctl outside
 * BASELINE_SYSCTLS, an SELinux type outside BASELINE_SELINUX_TYPES or any SELinux user or role,
 * windowsOptions.hostProcess.
 */
export function privilegesIn(v: unknown, path = ""): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => privilegesIn(x, `${path}[${i}]`));
  if (!isObj(v)) return [];
  const out: string[] = [];
  for (const [k, x] of Object.entries(v)) {
    const at = path === "" ? k : `${path}.${k}`;
    // A value unknown during preview (knownCopy) matters only where a privilege could sit.
    if (x === UNKNOWN) {
      if (UNKNOWN_MATTERS.includes(k)) out.push(unknownAt(at));
      continue;
    }
    if (Array.isArray(x) && UNKNOWN_MATTERS.includes(k)) x.forEach((e, i) => e === UNKNOWN && out.push(unknownAt(`${at}[${i}]`)));
    if (HOST_KEYS.includes(k) && !isObj(x)) {
      if (turnsOn(x)) out.push(at);
    } else if (HOST_KEYS.includes(k)) {
      if (turnsOn(x)) out.push(`${at}.enabled`);
      out.push(...privilegesIn(x, at));
    } else if ((k === "hostPath" || k === "hostDisk") && x !== undefined && x !== null) out.push(at);
    else if (k === "capabilities" && isObj(x)) {
      if (x.add === UNKNOWN) out.push(unknownAt(`${at}.add`));
      arr(x.add).forEach((cap, i) => {
        if (cap === UNKNOWN) out.push(unknownAt(`${at}.add[${i}]`));
        else if (typeof cap !== "string" || !BASELINE_CAPABILITIES.includes(cap.replace(/^CAP_/, "").toUpperCase())) out.push(`${at}.add[${i}]=${String(cap)}`);
      });
    } else if (k === "procMount" && typeof x === "string") {
      if (x !== "" && x !== "Default") out.push(`${at}=${x}`);
    } else if (k === "sysctls" && Array.isArray(x)) {
      x.forEach((sc, i) => {
        if (sc === UNKNOWN) return; // named above
        const name = isObj(sc) ? sc.name : sc;
        if (name === UNKNOWN) out.push(unknownAt(`${at}[${i}].name`));
        else if (typeof name !== "string" || !BASELINE_SYSCTLS.includes(name)) out.push(`${at}[${i}]=${String(name)}`);
      });
    } else if (k === "seLinuxOptions" && isObj(x)) {
      for (const f of ["type", "user", "role"]) if (x[f] === UNKNOWN) out.push(unknownAt(`${at}.${f}`));
      if (x.type !== undefined && x.type !== null && x.type !== UNKNOWN && !BASELINE_SELINUX_TYPES.includes(String(x.type)))
        out.push(`${at}.type=${String(x.type)}`);
      for (const f of ["user", "role"]) if (x[f] !== undefined && x[f] !== null && x[f] !== "" && x[f] !== UNKNOWN) out.push(`${at}.${f}=${String(x[f])}`);
    } else if ((k === "seccompProfile" || k === "appArmorProfile") && isObj(x)) {
      if (x.type === UNKNOWN) out.push(unknownAt(`${at}.type`));
      else if (String(x.type).toLowerCase() === "unconfined") out.push(`${at}.type=Unconfined`);
    } else if ((k === "annotations" || k === "podAnnotations") && isObj(x)) {
      for (const [name, value] of Object.entries(x))
        if (UNCONFINED_ANNOTATION.test(name) && value === UNKNOWN) out.push(unknownAt(`${at}[${name}]`));
        else if (UNCONFINED_ANNOTATION.test(name) && String(value).toLowerCase() === "unconfined") out.push(`${at}[${name}]=unconfined`);
    } else out.push(...privilegesIn(x, at));
  }
  return out;
}

/** A values path a chart turns into a node privilege without a key of the same name, or that is on by default. */
export interface ChartPrivilegeValue {
  /** Dotted path in the release's values. */
  path: string;
  /** The chart's default at the pinned version, applied when the release does not set the path. */
  default: unknown;
  /** What the chart renders from it. */
  renders: string;
  /** Only when this subchart condition (Chart.yaml `condition`, judged by subchartOn) is on (its default in `conditionDefault`). */
  condition?: string;
  conditionDefault?: unknown;
}

/**
 * The values of each chart the program installs that turn into node privileges, read from each
 * chart's source at the pinned version (the same commits docs/pod-admission.md cites):
 * - ingress-nginx 4.15.1 (kubernetes/ingress-nginx helm-chart-4.15.1 0a5901f3,
 *   charts/ingress-nginx/values.yaml:107-112, templates/_helpers.tpl:44-68): `controller.hostNetwork`,
 *   `controller.hostPort.enabled`, and `controller.image.chroot`, which renders
 *   allowPrivilegeEscalation true and adds SYS_CHROOT (and SYS_ADMIN with a seccompProfile).
 * - kube-prometheus-stack 87.12.5 (prometheus-community/helm-charts kube-prometheus-stack-87.12.5
 *   240842e1, values.yaml `nodeExporter.enabled: true`, Chart.yaml: prometheus-node-exporter 4.55.1;
 *   prometheus-node-exporter-4.55.1 e633094a values.yaml:382-397): node-exporter runs hostNetwork and
 *   hostPID with the host's / mounted (hostRootFsMount.enabled) BY DEFAULT, so the release is privileged
 *   unless its values turn those off.
 * - metrics-server 3.13.1 (kubernetes-sigs/metrics-server metrics-server-helm-chart-3.13.1 842dcc8c,
 *   values.yaml:70-76): `hostNetwork.enabled`.
 * - fluent-bit 0.57.9 (fluent/helm-charts fluent-bit-0.57.9 60ace4ef, values.yaml:73, 478-484):
 *   `hostNetwork`; its default daemonSetVolumes are hostPaths (/var/log, /var/lib/docker/containers,
 *   /etc/machine-id).
 * - alibaba-cloud-csi-driver 1.36.2 (kubernetes-sigs/alibaba-cloud-csi-driver 68d4c40e,
 *   deploy/charts/alibaba-cloud-csi-driver/templates/plugin.yaml:1-2, 51-55, 87-90; the same shape at
 *   108f97a1): one node-plugin DaemonSet per non-nil `nodePools` entry when `plugin.enabled` (on by
 *   default), with hostNetwork, hostPID, hostIPC and a privileged csi-plugin container whichever of
 *   csi.disk/nas/oss is on, so the key is `plugin.enabled`, not `csi.disk.enabled`.
 * A chart not listed here (kubelet-csr-approver, skywalking-helm, ks-core) is judged by the values
 * the release sets only; a listed chart at another version is refused until its values are re-read.
 */
export const CHART_PRIVILEGE_VALUES: Record<string, { version: string; values: ChartPrivilegeValue[] }> = {
  "ingress-nginx": {
    version: "4.15.1",
    values: [
      { path: "controller.hostNetwork", default: false, renders: "hostNetwork" },
      { path: "controller.hostPort.enabled", default: false, renders: "hostPort 80/443" },
      { path: "controller.image.chroot", default: false, renders: "allowPrivilegeEscalation and SYS_CHROOT" },
    ],
  },
  "kube-prometheus-stack": {
    version: "87.12.5",
    values: [
      { path: "prometheus-node-exporter.hostNetwork", default: true, renders: "hostNetwork", condition: "nodeExporter.enabled", conditionDefault: true },
      { path: "prometheus-node-exporter.hostPID", default: true, renders: "hostPID", condition: "nodeExporter.enabled", conditionDefault: true },
      {
        path: "prometheus-node-exporter.hostRootFsMount.enabled",
        default: true,
        renders: "hostPath /",
        condition: "nodeExporter.enabled",
        conditionDefault: true,
      },
    ],
  },
  "metrics-server": { version: "3.13.1", values: [{ path: "hostNetwork.enabled", default: false, renders: "hostNetwork" }] },
  "fluent-bit": {
    version: "0.57.9",
    values: [
      { path: "hostNetwork", default: false, renders: "hostNetwork" },
      { path: "daemonSetVolumes", default: [{ hostPath: { path: "/var/log" } }], renders: "hostPath volumes" },
    ],
  },
  "alibaba-cloud-csi-driver": {
    version: "1.36.2",
    values: [{ path: "plugin.enabled", default: true, renders: "a privileged node plugin with hostNetwork, hostPID, hostIPC" }],
  },
};

function valueAt(v: unknown, path: string): unknown {
  let at: unknown = v;
  for (const k of path.split(".")) {
    if (!isObj(at)) return undefined;
    at = at[k];
  }
  return at;
}

/** The dotted path (`values` for the whole) of the first value unknown during preview on the way to `path` in `values`, or undefined. */
function unknownOnPath(values: unknown, path: string): string | undefined {
  if (values === UNKNOWN) return "values";
  let at: unknown = values;
  const keys = path.split(".");
  for (let i = 0; i < keys.length; i++) {
    if (!isObj(at)) return undefined;
    at = at[keys[i]];
    if (at === UNKNOWN) return keys.slice(0, i + 1).join(".");
  }
  return undefined;
}

/** A URL with a scheme, in any case (`HTTPS://`, `Oci://`): Helm fetches any absolute URL. */
export const ABSOLUTE_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * The chart a release names, however it names it: `name`, `repo/name` (a repository alias),
 * `oci://host/path/name`, or an archive URL or path whose last segment is `<name>-<version>.tgz`
 * (Helm's package file name, `helm package`; the archive's own version wins over `version`, which
 * Helm ignores for an archive). A local chart directory (`./x`, `/x`, `file://`) renders whatever
 * the checkout holds, so it has no name the pack can trust: `local` is set.
 */
export function chartRef(chart: string, version: string | undefined): { name: string; version: string | undefined; local: boolean } {
  // An absolute URL (any case of scheme: Go's url.Parse lowercases it) is named by its path only,
  // so `?x=1` or `#f` after the archive name does not change the name.
  let path = chart;
  if (ABSOLUTE_URL.test(chart)) {
    try {
      path = new URL(chart).pathname;
    } catch {
      return { name: chart, version, local: true };
    }
  }
  const last = path.replace(/\/+$/, "").split("/").pop() ?? "";
  const archive = /^(.+?)-(v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)\.(?:tgz|tar\.gz)$/i.exec(last);
  if (archive) return { name: archive[1], version: archive[2], local: false };
  const local = /^(\.|\/|~|file:)/i.test(chart) || /\.(tgz|tar\.gz)$/i.test(last);
  return { name: last, version, local };
}

/**
 * How a message shows a release's `chart`: a path as it is; an absolute URL by its scheme, host and last path
 * segment, never its userinfo or query (a token there would reach the CrossGuard log, which does not redact).
 */
export function shownChart(chart: string): string {
  if (!ABSOLUTE_URL.test(chart)) return chart;
  try {
    const u = new URL(chart);
    const last = u.pathname.replace(/\/+$/, "").split("/").pop() ?? "";
    const hidden = u.username !== "" || u.password !== "" || u.search !== "" || u.hash !== "";
    return `${u.protocol}//${u.host}/…/${last}${hidden ? " (userinfo, query or fragment not shown)" : ""}`;
  } catch {
    return "a chart URL the URL parser does not read";
  }
}

/**
 * What a release's chart turns into node privileges from its values and the chart's defaults
 * (CHART_PRIVILEGE_VALUES). A chart not in that table is refused unless `reviewed` lists it as
 * `name@version` (its templates read for privileges and LoadBalancer Services it renders by default).
 */
export function chartPrivileges(chart: string, version: string | undefined, values: unknown, reviewed: string[] = []): string[] {
  if (chart === "") return ["a chart the plan does not name"];
  const known = CHART_PRIVILEGE_VALUES[chart];
  if (known === undefined)
    return reviewed.includes(`${chart}@${version ?? ""}`)
      ? []
      : [
          `chart ${chart} ${version ?? "(no version)"}, which the pack has not reviewed (neither CHART_PRIVILEGE_VALUES nor pod-privileges.reviewedCharts ${JSON.stringify(`${chart}@${version ?? ""}`)}), so what its defaults render is unknown`,
        ];
  if (version !== known.version)
    return [`chart ${chart} ${version ?? "(no version)"}, whose privilege values the pack read at ${known.version} only (CHART_PRIVILEGE_VALUES)`];
  const out: string[] = [];
  // What the walk over the values already names (`controller.hostNetwork`) is not named twice.
  const named = privilegesIn(values);
  // A value unknown during preview at a path the table names (or its switch), or at a map on the way
  // there (`controller.image` for `controller.image.chroot`), could turn the privilege on: named, not guessed.
  const unknown = [
    ...new Set(known.values.flatMap((p) => [p.path, ...(p.condition === undefined ? [] : [p.condition])]).map((path) => unknownOnPath(values, path))),
  ];
  out.push(...unknown.filter((u): u is string => u !== undefined).map(unknownAt));
  for (const p of known.values) {
    if ([p.path, p.condition].some((path) => path !== undefined && unknownOnPath(values, path) !== undefined)) continue;
    const cond = p.condition === undefined ? true : (valueAt(values, p.condition) ?? p.conditionDefault);
    const set = valueAt(values, p.path);
    const v = set === undefined ? p.default : set;
    // A list (daemonSetVolumes) is judged by what it holds, anything else by Go template truth.
    const on = Array.isArray(v) ? privilegesIn(v).length > 0 : turnsOn(v);
    if (
      !(p.condition === undefined ? turnsOn(cond) : subchartOn(cond)) ||
      !on ||
      named.some((n) => n === p.path || n.startsWith(`${p.path}.`) || n.startsWith(`${p.path}[`))
    )
      continue;
    out.push(`${p.path}${set === undefined ? " (chart default)" : ""}: ${p.renders}`);
  }
  return out;
}

/** The inputs of a Helm release that hand it values or objects the plan does not show: v3 `valueYamlFiles`, `postrender`; v4 `postRenderer`. */
export function unreadValues(r: PolicyResource): string[] {
  const out: string[] = [];
  if (arr(r.props.valueYamlFiles).length > 0 || r.props.valueYamlFiles === UNKNOWN) out.push("valueYamlFiles");
  for (const k of ["postrender", "postRenderer"]) {
    const v = r.props[k];
    if (v !== undefined && v !== null && v !== "" && !(isObj(v) && Object.keys(v).length === 0)) out.push(k);
  }
  return out;
}

/**
 * Values a chart renders into objects or templates: `extraObjects` (postfinance/kubelet-csr-approver
 * v1.2.14, charts/kubelet-csr-approver/templates/extra-objects.yaml: each entry through
 * tplvalues.render, which runs `tpl` on a string) and `extraDeploy` (the same chart's
 * templates/extra-list.yaml at 302ad582, bitnami's convention), `extraManifests`
 * (prometheus-community/helm-charts 5bb2d9f8, charts/kube-prometheus-stack/templates/extra-objects.yaml:
 * a list or map, each entry through `tpl`), set and non-empty at any depth (a subchart's too), and any
 * string holding `{{`, a template a chart may run through `tpl`. Each is named at its path; the pack
 * reads none of them, so a LoadBalancer Service or a hostPID Pod there would pass unseen.
 */
export const RENDERED_OBJECT_VALUES = ["extraObjects", "extraManifests", "extraDeploy"];
export function renderedValues(v: unknown, path = ""): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => renderedValues(x, `${path}[${i}]`));
  if (typeof v === "string") return v.includes("{{") ? [`${path || "values"} (a {{ template)`] : [];
  if (!isObj(v)) return [];
  return Object.entries(v).flatMap(([k, x]) => {
    const at = path === "" ? k : `${path}.${k}`;
    if (RENDERED_OBJECT_VALUES.includes(k) && goTrue(x)) return [`${at}${x === UNKNOWN ? ` ${UNKNOWN}` : ""}`];
    return renderedValues(x, at);
  });
}

export function podPrivileges(enforcementLevel: EnforcementLevel, config: Partial<PodPrivilegesConfig> = {}): ResourcePolicy {
  const c = withDefaults(POD_PRIVILEGES_SCHEMA, config);
  return {
    name: "pod-privileges",
    description:
      "No privileged container, allowPrivilegeEscalation, capability beyond baseline's, hostNetwork/hostPID/hostIPC, hostPort, hostPath volume or Unconfined seccomp/AppArmor profile (pod, container, init and ephemeral containers) (or the rest of baseline: procMount Unmasked, unsafe sysctls, SELinux type/user/role, windowsOptions.hostProcess) in any object that carries a pod spec or, in a custom resource, containers and pod specs of any shape (Tekton steps, sidecars and podTemplate, Argo Workflows templates; an Argo podSpecPatch is refused), and no hostPath or local PersistentVolume, outside the pack config's privilegedWorkloads (platform DaemonSets and charts; a chart is known by name however it is named, its values are read with its defaults for the values that chart turns into privileges, a chart outside CHART_PRIVILEGE_VALUES must be in reviewedCharts, valueYamlFiles and post-renderers only in unreadValuesReleases), and no namespace labelled Pod Security privileged outside its privilegedNamespaces, and no kubernetes list (kind List or <Kind>List carrying items, which are not judged one by one; a value unknown during preview where a privilege could sit, a list's element or a chart's privilege value included, is named), so a pod cannot take the node, its credentials or the metadata service (T11).",
    enforcementLevel,
    validateResource(r, report) {
      // A list (kind `List` or `<Kind>List`: PersistentVolumeList, DeploymentList) carries whole objects in
      // `items`, each with its own Kind. No rule of the pack judges them one by one (not this one's grants
      // and PersistentVolumes, nor platform-namespaces, no-public-load-balancers...), so a list with items
      // is refused rather than walked here alone; a kind that only ends in List (AccessList) and holds no
      // `items` list is an ordinary object.
      if (r.type.startsWith("kubernetes:") && /List$/.test(r.type.split(":").pop() ?? "") && (Array.isArray(r.props.items) || r.props.items === UNKNOWN)) {
        report(
          `${r.name}: ${r.type} declares objects as a list${r.props.items === UNKNOWN ? ` (items ${UNKNOWN})` : ""}, whose items the pack does not judge one by one (privileges, hostPath volumes, grants); declare each item as its own resource`,
        );
        return;
      }
      // An object another controller turns into workloads the plan does not show: Flux's helm-controller
      // installs the chart a HelmRelease names (fluxcd/helm-controller api/v2 HelmRelease), its
      // kustomize-controller applies a Kustomization's manifests (fluxcd/kustomize-controller api/v1), Argo CD
      // applies an Application's or ApplicationSet's source (argo-cd pkg/apis/application/v1alpha1), and
      // KubeSphere 4 installs an extension's charts for an InstallPlan (kubesphere v4.1.3 ks-core CRD
      // installplans.kubesphere.io). Their charts' defaults and manifests are not read, so they are refused
      // unless granted as Kind/namespace/name.
      const installer = DELEGATED_INSTALLERS.find(([group, kind]) => r.type.startsWith(`kubernetes:${group}/`) && kindOf(r.type) === kind);
      if (installer) {
        const meta = obj(r.props.metadata);
        const id = `${installer[1]}/${str(meta.namespace) ?? "default"}/${str(meta.name) ?? r.name}`;
        if (!c.privilegedWorkloads.includes(id))
          report(
            `${r.name}: ${id} has ${installer[0]}'s controller install what it names (a chart or manifests the plan does not hold), so the pack cannot judge its pods; declare them in the plan instead, or grant it: ${FIX} (pod-privileges.privilegedWorkloads)`,
          );
        return;
      }
      if (NAMESPACE_TYPES.has(r.type)) {
        const meta = obj(r.props.metadata);
        const ns = str(meta.name) ?? r.name;
        if (obj(meta.labels)[PSA_ENFORCE_LABEL] === "privileged" && !c.privilegedNamespaces.includes(ns))
          report(
            `${r.name}: namespace ${ns} is labelled ${PSA_ENFORCE_LABEL}: privileged, which turns Pod Security baseline off there, but is not one of the privileged namespaces (${c.privilegedNamespaces.join(", ") || "none listed"}); ${FIX} (pod-privileges.privilegedNamespaces)`,
          );
        return;
      }
      let found: string[];
      let id: string;
      // What a grant names: `Kind/namespace/name`, and for a Helm release `namespace/release@chart`, so a
      // release granted for one chart is not granted once it installs another.
      let grant: string | undefined;
      if (PERSISTENT_VOLUME_TYPES.has(r.type)) {
        // Cluster-scoped: granted as `PersistentVolume/<name>` (a namespace name has no capitals).
        const meta = obj(r.props.metadata);
        id = `PersistentVolume/${str(meta.name) ?? r.name}`;
        const spec = obj(r.props.spec);
        found = [...privilegesIn(spec, "spec"), ...(spec.local !== undefined && spec.local !== null ? ["spec.local"] : [])].map(
          (f) => `${f} (a PersistentVolumeClaim in any namespace mounts the node's disk, which Pod Security baseline allows)`,
        );
      } else if (carriesPodLike(r)) {
        const meta = obj(r.props.metadata);
        // Keyed by Kind too, so a CronJob named like a granted DaemonSet is not granted; a patch
        // shares its object's grant (a DeploymentPatch is `Deployment/...`).
        id = `${kindOf(r.type)}/${str(meta.namespace) ?? "default"}/${str(meta.name) ?? r.name}`;
        // The body without metadata; a Deployment's findings read `template.spec...` (under spec), a
        // PodTemplate's `template.spec...`. A bare Pod's AppArmor/seccomp annotations sit on its own metadata.
        const body = Object.fromEntries(Object.entries(r.props).filter(([k]) => !["metadata", "apiVersion", "kind"].includes(k)));
        const walked = Object.keys(body).length === 1 && "spec" in body ? body.spec : body;
        const isPod = r.type === "kubernetes:core/v1:Pod" || r.type === "kubernetes:core/v1:PodPatch";
        // A custom resource is walked whole (a privilege next to a container: Tekton's stepTemplate, Argo's
        // templateDefaults), a podSpecPatch anywhere refused unless the workload is granted.
        found = [
          ...privilegesIn(isPod ? { metadata: { annotations: meta.annotations }, spec: r.props.spec } : walked),
          ...podSpecPatchesIn(walked),
          ...argoManifestsIn(walked),
        ];
      } else if (r.type === TYPES.helmRelease || r.type === TYPES.helmChartV4) {
        id = `${str(r.props.namespace) ?? "default"}/${str(r.props.name) ?? r.name}`;
        // All of a release's values unknown during preview: any privilege could be there.
        const valuesUnknown = r.props.values === UNKNOWN ? [unknownAt("values")] : [];
        const unread = unreadValues(r);
        if (unread.length > 0 && !c.unreadValuesReleases.includes(id))
          report(
            `${r.name}: ${id} sets ${unread.join(" and ")}, which hand the chart values or objects the plan does not show, so neither its privileges nor its Services can be judged; put them in values, or ${FIX} (pod-privileges.unreadValuesReleases)`,
          );
        const rendered = renderedValues(r.props.values);
        if (rendered.length > 0 && !c.unreadValuesReleases.includes(id))
          report(
            `${r.name}: ${id} values ${rendered.join(", ")}, which the chart renders as objects or templates the pack does not read, so neither its privileges nor its Services can be judged; declare those objects as resources of the plan, or ${FIX} (pod-privileges.unreadValuesReleases)`,
          );
        const ref = chartRef(str(r.props.chart) ?? "", str(r.props.version));
        grant = `${id}@${ref.name}`;
        found = [
          ...new Set([
            ...valuesUnknown,
            ...privilegesIn(r.props.values),
            ...(ref.local
              ? [`local chart ${shownChart(str(r.props.chart) ?? "")}, whose templates are whatever the checkout holds`]
              : chartPrivileges(ref.name, ref.version, r.props.values, c.reviewedCharts)),
          ]),
        ];
      } else return;
      const key = grant ?? id;
      if (c.privilegedWorkloads.includes(key)) return;
      // A finding's values path is its text up to the first space, ":" or "=".
      found = found.filter((f) => !c.privilegedChartValues.includes(`${key}:${f.split(/[ =:]/)[0]}`));
      // Sorted, so the message does not depend on the order of keys in the spec.
      found.sort();
      if (found.length > 0)
        report(
          `${r.name}: ${id} asks for the node (${found.join(", ")}) but is not one of the privileged platform workloads (${c.privilegedWorkloads.join(", ") || "none listed"}); ${FIX} (pod-privileges.privilegedWorkloads)`,
        );
    },
  };
}

// ---------------------------------------------------------------------------
// no-public-load-balancers (T15)

export interface NoPublicLoadBalancersConfig {
  /**
   * What may face the internet: SLB, ALB and NLB names (`loadBalancerName`), NAT DNAT entries
   * (`forwardEntryName`), `namespace/name` of LoadBalancer Services (a Helm release's Services
   * as `namespace/release`), `AlbConfig/<name>` of ALB Ingress controller AlbConfigs,
   * `IngressClass/<name>` and `Ingress/<namespace>/<name>`.
   */
  publicLoadBalancers: string[];
}

export const NO_PUBLIC_LOAD_BALANCERS_SCHEMA: Record<keyof NoPublicLoadBalancersConfig, ConfigProperty> = {
  publicLoadBalancers: {
    type: "array",
    items: { type: "string" },
    description:
      "SLB/ALB/NLB names, NAT forward entry names, namespace/name of LoadBalancer Services (namespace/release of Helm releases), AlbConfig/<name>, IngressClass/<name> or Ingress/<namespace>/<name> allowed to be internet-facing",
    default: [],
  },
};

/**
 * The Alibaba Cloud controller manager's annotation for a LoadBalancer Service's address type,
 * `internet` unless set to `intranet`; the legacy `service.beta.kubernetes.io/alicloud-` prefix is
 * read when the new one is absent (kubernetes/cloud-provider-alibaba-cloud eeb0ddc6 (2026-04-10)
 * pkg/controller/service/reconcile/annotation/annotations.go: AnnotationPrefix,
 * AnnotationLegacyPrefix, AddressType, IPv6AddressType, LoadBalancerId and AnnotationRequest.Get;
 * docs/usage.md, annotation table: "address-type ... Valid values: internet or intranet ...
 * Default internet"). `loadbalancer-id` reuses an existing load balancer, whose address type the
 * plan does not show.
 */
export const CCM_ADDRESS_TYPE = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type";
const CCM_PREFIXES = ["service.beta.kubernetes.io/alibaba-cloud-loadbalancer-", "service.beta.kubernetes.io/alicloud-loadbalancer-"];
const ccmAnnotation = (annotations: Record<string, unknown>, key: string): string | undefined =>
  CCM_PREFIXES.map((p) => annotations[`${p}${key}`]).find((v) => v !== undefined) as string | undefined;

/** Why a LoadBalancer Service with these annotations (and spec) gets an internet address, or undefined. */
export function serviceExposure(annotations: Record<string, unknown>, loadBalancerClass?: unknown): string | undefined {
  if (loadBalancerClass !== undefined && loadBalancerClass !== null)
    return `sets loadBalancerClass ${JSON.stringify(loadBalancerClass)}, so another controller decides its address, which the plan does not show`;
  const id = ccmAnnotation(annotations, "id");
  if (id !== undefined) return `reuses the existing load balancer ${JSON.stringify(id)} (loadbalancer-id), whose address type the plan does not show`;
  const v6 = ccmAnnotation(annotations, "ipv6-address-type");
  if (v6 !== undefined && String(v6).toLowerCase() !== "intranet") return `asks for an ${String(v6)} IPv6 address (ipv6-address-type)`;
  const type = ccmAnnotation(annotations, "address-type");
  if (type !== "intranet")
    return `gets an internet-facing SLB (address-type ${type === undefined ? "unset, so internet" : JSON.stringify(type)}); annotate ${CCM_ADDRESS_TYPE}: intranet`;
  return undefined;
}

/** A Service a chart renders from one values map, as the pack reads it. */
export interface ChartServiceValue {
  /** Dotted path of the Service's values map (its annotations at `<path>.annotations`, its class at `<path>.loadBalancerClass`). */
  path: string;
  /** The key of that map the template reads the Service type from: `type`, or the chart's own name for it. */
  typeKey: string;
  /** The chart's default type at the pinned version. */
  default: string;
  /** A values path whose value is the type when the map's own is empty (Go template `default`). */
  typeFrom?: string;
  /** Values that must all be true (Go template truth: not false, 0, "", nil or empty) for the chart to render the Service, with their defaults. */
  when: { path: string; default: unknown }[];
}

/**
 * The Service values of each chart the platform's plans install (the six stacks' Helm releases:
 * ingress-nginx, kube-prometheus-stack, metrics-server, fluent-bit, alibaba-cloud-csi-driver,
 * kubelet-csr-approver, ks-core, skywalking-helm), read from each chart's values.yaml and Service
 * templates at the pinned version. `services` are the value maps the generic walk (loadBalancerValues:
 * a map with `type: LoadBalancer`) cannot judge, because the chart's default type is LoadBalancer or
 * its type key is not `type`: they are judged with the release's values over the chart's defaults.
 * The rest of each chart's Service value maps (named below) default to ClusterIP (NodePort for ks-core's
 * console), and are judged by the walk once a release sets `type: LoadBalancer` there.
 * - ingress-nginx 4.15.1 (kubernetes/ingress-nginx helm-chart-4.15.1 0a5901f3, charts/ingress-nginx/
 *   values.yaml:492-506 `controller.service.type: LoadBalancer`, 584-596 `internal.type: ""`;
 *   templates/controller-service.yaml:1, 21 and controller-service-internal.yaml:1, 21: the internal one
 *   only with annotations, its type defaulting to `controller.service.type`); metrics 787, webhook 929,
 *   default backend 1236 are ClusterIP.
 * - kube-prometheus-stack 87.12.5 (prometheus-community/helm-charts kube-prometheus-stack-87.12.5
 *   240842e1, charts/kube-prometheus-stack/values.yaml:3705-3733 `prometheus.thanosServiceExternal`:
 *   `enabled: false`, `type: LoadBalancer`; templates/prometheus/serviceThanosSidecarExternal.yaml:1, 17);
 *   its other Services ClusterIP (values.yaml:883, 913, 2944, 3264, 3650, 3784, 3841, 5418), and its
 *   subcharts': kube-state-metrics 7.5.3 (65f1b034) `service.type: ClusterIP`, prometheus-node-exporter
 *   4.55.1 (e633094a) likewise, prometheus-windows-exporter 0.12.x (off by default) likewise, grafana
 *   12.7.2 (grafana-community/helm-charts grafana-12.7.2 b47a6109, values.yaml:247-249, templates/service.yaml:18-36) likewise.
 * - metrics-server 3.13.1 (kubernetes-sigs/metrics-server 842dcc8c, charts/metrics-server/values.yaml:122;
 *   templates/service.yaml:16): ClusterIP.
 * - fluent-bit 0.57.9 (fluent/helm-charts 60ace4ef, charts/fluent-bit/values.yaml:102; templates/service.yaml:16): ClusterIP.
 * - alibaba-cloud-csi-driver 1.36.2 (kubernetes-sigs/alibaba-cloud-csi-driver 68d4c40e,
 *   deploy/charts/alibaba-cloud-csi-driver/templates): no Service.
 * - kubelet-csr-approver 1.2.14 (postfinance/kubelet-csr-approver v1.2.14 14dd0aca,
 *   charts/kubelet-csr-approver/values.yaml:41-45 `metrics.enable: true`, `metrics.serviceType: ClusterIP`;
 *   templates/service.yaml:1, 16): the type key is `serviceType`, which the walk does not read.
 * - ks-core 1.1.4 (kubesphere/kubesphere v4.1.3 3ef3a6bc, config/ks-core/templates/services.yaml:25-29 and
 *   ks-console.yaml:203-207: NodePort when `apiserver.nodePort` / `console.nodePort` (values.yaml:168,
 *   30880) is set, else ClusterIP; charts/redis-ha/templates/redis-haproxy-service.yaml:21 ClusterIP).
 * - skywalking-helm 4.7.0 (apache/skywalking-helm v4.7.0 6fe5e6f0, chart/skywalking/values.yaml: oap,
 *   ui, satellite and elasticsearch `service.type: ClusterIP`; templates/oap-svc.yaml:33, ui-svc.yaml:39).
 * A chart not listed here is refused by pod-privileges unless pod-privileges.reviewedCharts names it
 * (its templates read for LoadBalancer Services by default); a listed chart at another version is
 * refused here until its Service values are read again.
 */
export const CHART_SERVICE_VALUES: Record<string, { version: string; services: ChartServiceValue[] }> = {
  "ingress-nginx": {
    version: "4.15.1",
    services: [
      {
        path: "controller.service",
        typeKey: "type",
        default: "LoadBalancer",
        when: [
          { path: "controller.service.enabled", default: true },
          { path: "controller.service.external.enabled", default: true },
        ],
      },
      {
        path: "controller.service.internal",
        typeKey: "type",
        default: "LoadBalancer",
        typeFrom: "controller.service.type",
        when: [
          { path: "controller.service.enabled", default: true },
          { path: "controller.service.internal.enabled", default: false },
          { path: "controller.service.internal.annotations", default: {} },
        ],
      },
    ],
  },
  "kube-prometheus-stack": {
    version: "87.12.5",
    services: [
      {
        path: "prometheus.thanosServiceExternal",
        typeKey: "type",
        default: "LoadBalancer",
        when: [
          { path: "prometheus.enabled", default: true },
          { path: "prometheus.thanosServiceExternal.enabled", default: false },
        ],
      },
    ],
  },
  "metrics-server": { version: "3.13.1", services: [] },
  "fluent-bit": { version: "0.57.9", services: [] },
  "alibaba-cloud-csi-driver": { version: "1.36.2", services: [] },
  "kubelet-csr-approver": {
    version: "1.2.14",
    services: [{ path: "metrics", typeKey: "serviceType", default: "ClusterIP", when: [{ path: "metrics.enable", default: true }] }],
  },
  "ks-core": { version: "1.1.4", services: [] },
  "skywalking-helm": { version: "4.7.0", services: [] },
};

/** Go template truth (text/template "if", "and"): false, 0, "", nil and empty maps and lists are false. */
function goTrue(x: unknown): boolean {
  if (isObj(x)) return Object.keys(x).length > 0;
  if (Array.isArray(x)) return x.length > 0;
  return x !== undefined && x !== null && x !== false && x !== 0 && x !== "";
}

/** A Service a chart renders, as the pack reads it: `unknown` when its type is unknown during preview. */
export interface RenderedService {
  which: string;
  annotations: Record<string, unknown>;
  loadBalancerClass?: unknown;
  unknown?: boolean;
}

/**
 * The LoadBalancer Services a release of `chart` renders from the value maps CHART_SERVICE_VALUES
 * judges (`services`), with the release's values over the chart's defaults, and the paths of those
 * maps (which the generic walk then skips). Undefined when the chart is not in the table.
 */
export function chartLoadBalancers(chart: string, values: unknown): { services: RenderedService[]; judged: string[] } | undefined {
  const known = Object.hasOwn(CHART_SERVICE_VALUES, chart) ? CHART_SERVICE_VALUES[chart] : undefined;
  if (known === undefined) return undefined;
  const services: RenderedService[] = [];
  for (const s of known.services) {
    // A switch known to be off renders nothing; one unknown during preview (itself, its map or all values) may be on.
    if (!s.when.every((w) => unknownOnPath(values, w.path) !== undefined || goTrue(valueAt(values, w.path) ?? w.default))) continue;
    const own = valueAt(values, `${s.path}.${s.typeKey}`);
    const from = s.typeFrom === undefined ? undefined : valueAt(values, s.typeFrom);
    const map = obj(valueAt(values, s.path));
    // A type unknown during preview (its own, or the one it falls back to) could be LoadBalancer: named at the
    // first unknown value on its path, so an unknown map (`metrics` of kubelet-csr-approver) or all values
    // unknown is not read as the chart's default.
    const ownUnknown = unknownOnPath(values, `${s.path}.${s.typeKey}`);
    const fromUnknown = s.typeFrom === undefined ? undefined : unknownOnPath(values, s.typeFrom);
    if (ownUnknown !== undefined || (!goTrue(own) && fromUnknown !== undefined)) {
      const which = ownUnknown ?? fromUnknown ?? s.path;
      if (!services.some((x) => x.which === which)) services.push({ which, annotations: {}, unknown: true });
      continue;
    }
    const type = goTrue(own)
      ? String(own)
      : s.typeFrom !== undefined
        ? goTrue(from)
          ? String(from)
          : s.default
        : own === undefined || own === null
          ? s.default
          : "";
    if (type !== "LoadBalancer") continue;
    services.push({ which: s.path, annotations: obj(map.annotations), loadBalancerClass: map.loadBalancerClass ?? undefined });
  }
  return { services, judged: known.services.map((s) => s.path) };
}

/**
 * Maps anywhere in a chart's values that read as a Service of type LoadBalancer (`type: LoadBalancer` with its
 * `annotations`), and those under a key ending in `service` (any case) whose `type` is unknown during preview.
 */
function loadBalancerValues(v: unknown, path = ""): RenderedService[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => loadBalancerValues(x, `${path}[${i}]`));
  if (!isObj(v)) return [];
  const here: RenderedService[] =
    v.type === "LoadBalancer"
      ? [{ which: path, annotations: obj(v.annotations), loadBalancerClass: v.loadBalancerClass ?? undefined }]
      : v.type === UNKNOWN && /service$/i.test(path.split(".").pop() ?? "")
        ? [{ which: `${path}.type`, annotations: {}, unknown: true }]
        : [];
  return [...here, ...Object.entries(v).flatMap(([k, x]) => loadBalancerValues(x, path === "" ? k : `${path}.${k}`))];
}

/**
 * Alibaba Cloud's ALB Ingress controller (alibaba/alibaba-load-balancer-controller c2771084, 2024-09-13): the
 * AlbConfig custom resource (apiVersion alibabacloud.com/v1, pkg/controller/ingress/register.go:82-84; Pulumi's
 * token for a CustomResource is `kubernetes:<apiVersion>:<kind>`; any version of the group is read, and the
 * patch kinds), the IngressClass controller name (pkg/controller/ingress/reconcile/store/common.go:25), and the
 * Ingress annotation `alb.ingress.kubernetes.io/albconfig.name`, which selects the AlbConfig by name and
 * bypasses the IngressClass's parameters (pkg/controller/ingress/group_loader.go:174-185). The Ingress
 * annotation `alb.ingress.kubernetes.io/address-type` is read only in makeAlbConfig, which nothing calls at
 * that commit, so it decides no address and is not judged.
 */
export const ALB_INGRESS = {
  albConfig: /^kubernetes:alibabacloud\.com\/[^:]+:AlbConfig$/,
  albConfigPatch: /^kubernetes:alibabacloud\.com\/[^:]+:AlbConfigPatch$/,
  ingressClass: /^kubernetes:networking\.k8s\.io\/[^:]+:IngressClass(Patch)?$/,
  ingress: /^kubernetes:(networking\.k8s\.io|extensions)\/v1(beta1)?:Ingress(Patch)?$/,
  controller: "ingress.k8s.alibabacloud/alb",
  albConfigAnnotation: "alb.ingress.kubernetes.io/albconfig.name",
} as const;

/** Provider type tokens of @pulumi/alicloud 3.108.0 (node_modules/@pulumi/alicloud/{alb,nlb}/loadBalancer.js, vpc/forwardEntry.js, eipanycast/anycastEipAddressAttachment.js). */
export const LB_TYPES = {
  alb: "alicloud:alb/loadBalancer:LoadBalancer",
  nlb: "alicloud:nlb/loadBalancer:LoadBalancer",
  forwardEntry: "alicloud:vpc/forwardEntry:ForwardEntry",
  anycastEipAttachment: "alicloud:eipanycast/anycastEipAddressAttachment:AnycastEipAddressAttachment",
} as const;

const SERVICE = "kubernetes:core/v1:Service";
const SERVICE_PATCH = "kubernetes:core/v1:ServicePatch";

/**
 * alb-config-references (T15): an ALB IngressClass's `spec.parameters.name` and an Ingress's
 * `alb.ingress.kubernetes.io/albconfig.name` must name an AlbConfig the plan declares (which
 * no-public-load-balancers then judges) or one the pack config lists as `AlbConfig/<name>`. A stack
 * policy, because it needs the whole plan; no-public-load-balancers stays a resource policy, so it runs
 * before each resource is created even under `pulumi up --skip-preview`.
 */
export function albConfigReferences(enforcementLevel: EnforcementLevel, config: Partial<NoPublicLoadBalancersConfig> = {}): StackPolicy {
  const c = withDefaults(NO_PUBLIC_LOAD_BALANCERS_SCHEMA, config);
  const allowed = (name: string) => c.publicLoadBalancers.includes(name);
  const where = `${FIX} (alb-config-references.publicLoadBalancers)`;
  /** Why a reference to an AlbConfig by `name` is not judged by the plan, or undefined: the plan declares it, or the pack config names it. */
  const albConfigRef = (name: unknown, declared: Set<string>): string | undefined => {
    if (name === UNKNOWN) return `an AlbConfig whose name is ${UNKNOWN}, so which ALB, internet or intranet, is not shown`;
    if (typeof name === "string" && (declared.has(name) || allowed(`AlbConfig/${name}`))) return undefined;
    return `AlbConfig ${JSON.stringify(name)}, which the plan does not declare, so whether its ALB is internet-facing is not shown; declare the AlbConfig in the plan (then it is judged), or name it as AlbConfig/<name> in the pack config`;
  };
  return {
    name: "alb-config-references",
    description:
      "An IngressClass of the ALB Ingress controller (spec.parameters of kind AlbConfig, patches too) and an Ingress annotated alb.ingress.kubernetes.io/albconfig.name (which bypasses the IngressClass) name an AlbConfig the plan declares, judged by no-public-load-balancers, or one the pack config's publicLoadBalancers lists as AlbConfig/<name>, so no Ingress is served by an ALB the plan does not show (T15).",
    enforcementLevel,
    validateStack(s, report) {
      const declared = new Set(s.resources.filter((r) => ALB_INGRESS.albConfig.test(r.type)).flatMap((r) => str(obj(r.props.metadata).name) ?? []));
      for (const r of s.resources) {
        if (ALB_INGRESS.ingressClass.test(r.type)) {
          const spec = obj(r.props.spec);
          const params = obj(spec.parameters);
          const ok = params.kind === "AlbConfig" && String(params.apiGroup ?? "").replace(/\/.*$/, "") === "alibabacloud.com" && goTrue(params.name);
          const name = str(obj(r.props.metadata).name) ?? r.name;
          const problem = ok && !allowed(`IngressClass/${name}`) ? albConfigRef(params.name, declared) : undefined;
          if (problem) report(`${r.name}: IngressClass ${name} of the ALB Ingress controller takes its ALB from ${problem}; ${where}`, r.urn);
        } else if (ALB_INGRESS.ingress.test(r.type)) {
          const meta = obj(r.props.metadata);
          const annotations = obj(meta.annotations);
          const id = `Ingress/${str(meta.namespace) ?? "default"}/${str(meta.name) ?? r.name}`;
          if (!(ALB_INGRESS.albConfigAnnotation in annotations) || allowed(id)) continue;
          const problem = albConfigRef(annotations[ALB_INGRESS.albConfigAnnotation], declared);
          if (problem)
            report(`${r.name}: ${id} selects its ALB by ${ALB_INGRESS.albConfigAnnotation} (bypassing its IngressClass) from ${problem}; ${where}`, r.urn);
        }
      }
    },
  };
}

/** Every order of `items` (a plan's patches of one Service); past six, each item last once (the one whose values win). */
function orders<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  if (items.length > 6) return items.map((x, i) => [...items.slice(0, i), ...items.slice(i + 1), x]);
  return items.flatMap((x, i) => orders([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]));
}

/** Why a ServicePatch's target is not a known `namespace/name` (so it is matched to no Service), or undefined. */
function patchTargetProblem(r: PolicyResource): string | undefined {
  const meta = obj(r.props.metadata);
  if (typeof meta.name !== "string" || meta.name === "" || meta.name === UNKNOWN)
    return `metadata.name is ${meta.name === UNKNOWN ? UNKNOWN : JSON.stringify(meta.name ?? null)}`;
  if (meta.namespace !== undefined && (typeof meta.namespace !== "string" || meta.namespace === UNKNOWN))
    return `metadata.namespace is ${meta.namespace === UNKNOWN ? UNKNOWN : JSON.stringify(meta.namespace)}`;
  return undefined;
}

/**
 * A Service the plan declares (by its literal metadata.name: an autonamed one matches no patch), with every
 * ServicePatch of it the plan declares laid over it, as the api-server's server-side apply may leave it: a
 * patch's annotation or spec field replaces the Service's (it does under pulumi.com/patchForce; without it a
 * different value the Service's manager owns is a conflict and the patch fails), and a patch's null keeps the
 * Service's value (server-side apply drops an explicit null from the applied object and removes a field only
 * when the applier owned it: kubernetes-sigs/structured-merge-diff#330, 2026-07-01, "During the Merge phase, the
 * explicit null from the patch is dropped"). Plan order is not apply order, so `merged` holds one merge per order
 * of the patches. Keyed `namespace/name`.
 */
export function patchedServices(
  resources: PolicyResource[],
): Map<string, { service: PolicyResource; patches: PolicyResource[]; merged: Record<string, unknown>[] }> {
  const key = (r: PolicyResource) => `${str(obj(r.props.metadata).namespace) ?? "default"}/${str(obj(r.props.metadata).name)}`;
  const out = new Map<string, { service: PolicyResource; patches: PolicyResource[]; merged: Record<string, unknown>[] }>();
  for (const r of resources)
    if (r.type === SERVICE && typeof obj(r.props.metadata).name === "string" && obj(r.props.metadata).name !== UNKNOWN)
      out.set(key(r), { service: r, patches: [], merged: [] });
  for (const r of resources) if (r.type === SERVICE_PATCH && patchTargetProblem(r) === undefined) out.get(key(r))?.patches.push(r);
  for (const entry of out.values()) {
    entry.merged = orders(entry.patches).map((patches) => {
      let annotations: unknown = {};
      const spec: Record<string, unknown> = {};
      for (const r of [entry.service, ...patches]) {
        const meta = obj(r.props.metadata);
        // Unknown during preview at any layer: the merged annotations are unknown too.
        if (meta.annotations === UNKNOWN || annotations === UNKNOWN) annotations = UNKNOWN;
        else for (const [k, v] of Object.entries(obj(meta.annotations))) if (v !== null && v !== undefined) (annotations as Record<string, unknown>)[k] = v;
        for (const [k, v] of Object.entries(obj(r.props.spec))) if (v !== null && v !== undefined) spec[k] = v;
      }
      return { annotations, spec };
    });
  }
  return out;
}

/**
 * T15 across resources: a ServicePatch of a Service the plan also declares is judged merged with it (the type after
 * the patch, the annotations of both), which no-public-load-balancers, judging each resource alone, cannot see: a
 * patch that makes a Service with an internet address annotation a LoadBalancer, or one that adds a legacy
 * `alicloud-` intranet annotation the Service's `alibaba-cloud-` one outranks. A patch whose target is not a known
 * name is named: it would be matched to no Service.
 */
export function patchedServicesExposure(enforcementLevel: EnforcementLevel, config: Partial<NoPublicLoadBalancersConfig> = {}): StackPolicy {
  const c = withDefaults(NO_PUBLIC_LOAD_BALANCERS_SCHEMA, config);
  const where = `${FIX} (patched-services.publicLoadBalancers)`;
  return {
    name: "patched-services",
    description:
      "A ServicePatch of a Service the plan declares is judged merged with it, as the api-server may leave it in any order of its patches (the patch's spec fields and annotations over the Service's, null keeping the Service's value): a LoadBalancer after the merge carries the CCM's intranet address type and no reused load balancer or other loadBalancerClass; a type or annotations unknown during preview, and a patch whose target name or namespace is not known, are named (T15).",
    enforcementLevel,
    validateStack(s, report) {
      for (const r of s.resources) {
        const problem = r.type === SERVICE_PATCH ? patchTargetProblem(r) : undefined;
        if (problem)
          report(
            `${r.name}: ServicePatch whose ${problem}, so which Service it patches, and whether that becomes an internet-facing LoadBalancer, is not shown; give it a literal name and namespace; ${where}`,
            r.urn,
          );
      }
      for (const [id, { patches, merged }] of patchedServices(s.resources)) {
        if (patches.length === 0 || c.publicLoadBalancers.includes(id)) continue;
        const names = patches.map((r) => r.name).join(", ");
        const what = `Service ${id} with its ServicePatch${patches.length > 1 ? "es" : ""} ${names} applied${patches.length > 1 ? " (in some order)" : ""}`;
        const problems = merged.map((m) => {
          const spec = obj(m.spec);
          if (spec.type === UNKNOWN) return `${what}: spec.type ${UNKNOWN}: whether it is a LoadBalancer, and with which address, is unknown; ${where}`;
          if (spec.type !== "LoadBalancer") return undefined;
          if (m.annotations === UNKNOWN)
            return `${what} is a LoadBalancer whose metadata.annotations are ${UNKNOWN}: whether it is intranet is unknown; ${where}`;
          const exposure = serviceExposure(obj(m.annotations), spec.loadBalancerClass);
          return exposure === undefined ? undefined : `${what} is a LoadBalancer Service that ${exposure}; ${where}`;
        });
        const first = problems.find((p) => p !== undefined);
        if (first !== undefined) report(first, patches[0].urn);
      }
    },
  };
}

export function noPublicLoadBalancers(enforcementLevel: EnforcementLevel, config: Partial<NoPublicLoadBalancersConfig> = {}): ResourcePolicy {
  const c = withDefaults(NO_PUBLIC_LOAD_BALANCERS_SCHEMA, config);
  const allowed = (name: string) => c.publicLoadBalancers.includes(name);
  const where = `${FIX} (no-public-load-balancers.publicLoadBalancers)`;
  const judge = (r: PolicyResource, report: (message: string) => void) => {
    if (isSlb(r)) {
      const name = str(r.props.loadBalancerName) ?? r.name;
      if (r.props.addressType !== "intranet" && !allowed(name))
        report(
          `${r.name}: SLB ${name} addressType is ${r.props.addressType === undefined ? "unset" : JSON.stringify(r.props.addressType)}; must be "intranet"; ${where}`,
        );
    } else if (r.type === LB_TYPES.alb || r.type === LB_TYPES.nlb) {
      // ALB's provider validates address_type in {Internet, Intranet}; NLB's does not (case unchecked):
      // aliyun/terraform-provider-alicloud 81c43b67 (2026-08-21) alicloud/resource_alicloud_alb_load_balancer.go:62-66,
      // resource_alicloud_nlb_load_balancer.go:36-39; both also take ipv6_address_type.
      const kind = r.type === LB_TYPES.alb ? "ALB" : "NLB";
      const name = str(r.props.loadBalancerName) ?? r.name;
      if (allowed(name)) return;
      const type = r.props.addressType;
      if (String(type).toLowerCase() !== "intranet")
        report(`${r.name}: ${kind} ${name} addressType is ${type === undefined ? "unset" : JSON.stringify(type)}; must be "Intranet"; ${where}`);
      const v6 = r.props.ipv6AddressType;
      if (v6 !== undefined && v6 !== null && String(v6).toLowerCase() !== "intranet")
        report(`${r.name}: ${kind} ${name} ipv6AddressType is ${JSON.stringify(v6)}, a public IPv6 address; must be "Intranet" or unset; ${where}`);
    } else if (r.type === TYPES.eipAssociation) {
      // instanceType defaults to EcsInstance (@pulumi/alicloud ecs/eipAssociation.d.ts, instanceType).
      const target = str(r.props.instanceType) ?? "EcsInstance";
      const what = r.props.instanceType === undefined ? "an EcsInstance (instanceType unset: the provider's default)" : `a ${target}`;
      if (target !== "Nat")
        report(
          `${r.name}: binds an EIP to ${what}${r.props.instanceId === undefined ? "" : ` ${String(r.props.instanceId)}`}, which puts it on the internet; an EIP goes only to the NAT gateway (instanceType Nat), and egress goes through it`,
        );
    } else if (r.type === LB_TYPES.anycastEipAttachment) {
      report(
        `${r.name}: binds an Anycast EIP to ${String(r.props.bindInstanceType)} ${String(r.props.bindInstanceId)}, which puts it on the internet; an EIP goes only to the NAT gateway`,
      );
    } else if (r.type === LB_TYPES.forwardEntry) {
      const name = str(r.props.forwardEntryName) ?? str(r.props.name) ?? r.name;
      if (!allowed(name))
        report(
          `${r.name}: NAT forward entry ${name} (DNAT) exposes ${String(r.props.internalIp)}:${String(r.props.internalPort)} on ${String(r.props.externalIp)}:${String(r.props.externalPort)} to the internet; ${where}`,
        );
    } else if (r.type === SERVICE || r.type === SERVICE_PATCH) {
      const meta = obj(r.props.metadata);
      const id = `${str(meta.namespace) ?? "default"}/${str(meta.name) ?? r.name}`;
      if (allowed(id)) return;
      const what = r.type === SERVICE ? "LoadBalancer Service" : "ServicePatch making a LoadBalancer Service of";
      const spec = obj(r.props.spec);
      const annotations = obj(meta.annotations);
      if (spec.type === UNKNOWN) {
        report(
          `${r.name}: ${r.type === SERVICE ? "Service" : "ServicePatch of"} ${id} spec.type ${UNKNOWN}: whether it is a LoadBalancer, and with which address, is unknown; ${where}`,
        );
      } else if (spec.type === "LoadBalancer") {
        // A patch must carry the intranet annotation itself: the object's own annotations are not in the plan.
        // And the alibaba-cloud- one: the object's own alibaba-cloud- address type (internet, say), which the plan
        // does not show, outranks a patch's legacy alicloud- one (ccmAnnotation reads them in that order).
        const problem = serviceExposure(annotations, spec.loadBalancerClass);
        if (problem) report(`${r.name}: ${what} ${id} ${problem}; ${where}`);
        else if (r.type === SERVICE_PATCH && annotations[CCM_ADDRESS_TYPE] !== "intranet")
          report(
            `${r.name}: ${what} ${id} sets only the legacy ${CCM_PREFIXES[1]}address-type intranet, which the Service's own ${CCM_ADDRESS_TYPE} (not in the plan) outranks; annotate ${CCM_ADDRESS_TYPE}: intranet in the patch; ${where}`,
          );
      } else if (r.type === SERVICE_PATCH) {
        // Without spec.type the patched Service may already be a LoadBalancer: a patch must not move its address
        // (address type other than intranet, or removed: null, ""), its load balancer (a reused loadbalancer-id) or
        // its controller (loadBalancerClass); annotations unknown during preview are named. The address type is
        // compared exactly, as serviceExposure does for a Service (the CCM's values are case-sensitive).
        const says = (p: string) => `${r.name}: ServicePatch of ${id} ${p}; ${where}`;
        if (meta.annotations === UNKNOWN) report(says(`metadata.annotations ${UNKNOWN}: whether it moves its load balancer is unknown`));
        if (spec.loadBalancerClass !== undefined && spec.loadBalancerClass !== null)
          report(
            says(`sets loadBalancerClass ${JSON.stringify(spec.loadBalancerClass)}, so another controller decides its address, which the plan does not show`),
          );
        const reused = ccmAnnotation(annotations, "id");
        if (reused !== undefined)
          report(says(`reuses the existing load balancer ${JSON.stringify(reused)} (loadbalancer-id), whose address type the plan does not show`));
        for (const p of CCM_PREFIXES)
          for (const key of ["address-type", "ipv6-address-type"]) {
            const v = annotations[`${p}${key}`];
            if (`${p}${key}` in annotations && (key === "address-type" ? v !== "intranet" : String(v).toLowerCase() !== "intranet"))
              report(says(`sets ${p}${key} to ${JSON.stringify(v)}, which makes its load balancer internet-facing (or drops intranet); must be intranet`));
          }
      }
    } else if (r.type === TYPES.helmRelease || r.type === TYPES.helmChartV4) {
      const id = `${str(r.props.namespace) ?? "default"}/${str(r.props.name) ?? r.name}`;
      if (allowed(id)) return;
      // Objects or templates a chart renders from its values (renderedValues): pod-privileges refuses them too
      // (unless pod-privileges.unreadValuesReleases grants the release); here they may be LoadBalancer Services.
      const rendered = renderedValues(r.props.values);
      if (rendered.length > 0)
        report(
          `${r.name}: ${id} values ${rendered.join(", ")}, which the chart renders as objects or templates the pack does not read, so a LoadBalancer Service there is not seen; ${where}`,
        );
      const ref = chartRef(str(r.props.chart) ?? "", str(r.props.version));
      const known = Object.hasOwn(CHART_SERVICE_VALUES, ref.name) ? CHART_SERVICE_VALUES[ref.name] : undefined;
      // A chart read at another version: its Service defaults may have changed (pod-privileges.reviewedCharts
      // vouches for a chart outside the table; one in it is re-read).
      if (known !== undefined && !ref.local && ref.version !== known.version)
        report(
          `${r.name}: ${id} installs chart ${ref.name} ${ref.version ?? "(no version)"}, whose Service defaults the pack read at ${known.version} only (CHART_SERVICE_VALUES), so whether it renders a LoadBalancer by default is unknown; ${where}`,
        );
      const modelled = known !== undefined && ref.version === known.version ? chartLoadBalancers(ref.name, r.props.values) : undefined;
      const skip = modelled?.judged ?? [];
      const services = [
        ...(modelled?.services ?? []),
        ...loadBalancerValues(r.props.values).filter((s) => !skip.includes(s.which) && !skip.some((p) => s.which === `${p}.type`)),
      ];
      // All values unknown during preview: any chart could render a LoadBalancer from them (named once).
      if (r.props.values === UNKNOWN && !services.some((s) => s.which === "values")) services.push({ which: "values", annotations: {}, unknown: true });
      for (const svc of services) {
        if (svc.unknown) {
          report(
            `${r.name}: ${id} values${svc.which === "values" ? "" : ` ${svc.which}`} ${UNKNOWN}: whether the chart renders a LoadBalancer Service, and with which address, is unknown; ${where}`,
          );
          continue;
        }
        const problem = serviceExposure(svc.annotations, svc.loadBalancerClass);
        if (problem) report(`${r.name}: ${id} values ${svc.which || "(top level)"} render a LoadBalancer Service that ${problem}; ${where}`);
      }
    } else if (ALB_INGRESS.albConfig.test(r.type) || ALB_INGRESS.albConfigPatch.test(r.type)) {
      // spec.config (LoadBalancerSpec): addressType unset is Internet, ipv6AddressType unset is Intranet, id reuses
      // an existing ALB (alibaba/alibaba-load-balancer-controller c2771084 (2024-09-13)
      // pkg/apis/alibabacloud/v1/albconfig_types.go:69-87, pkg/controller/ingress/reconcile/builder/albconfig_manager/
      // model_build_load_balancer.go:36, 110-117; Alibaba Cloud "Configure ALB instances with AlbConfig",
      // /help/en/ack/distributed-cloud-container-platform-for-kubernetes/user-guide/configure-albconfig-objects,
      // updated Mar 26, 2026, read 2026-12-07: spec.config.addressType default Internet, set at creation only).
      // A patch is judged by what it sets: it cannot leave an unset addressType to the default.
      const patch = ALB_INGRESS.albConfigPatch.test(r.type);
      const name = str(obj(r.props.metadata).name) ?? r.name;
      if (allowed(`AlbConfig/${name}`)) return;
      const what = patch ? `AlbConfigPatch of ${name}` : `AlbConfig ${name}`;
      const config = obj(obj(r.props.spec).config);
      const type = config.addressType;
      const unset = type === undefined || type === null || type === "";
      if (!(patch && type === undefined) && String(type).toLowerCase() !== "intranet")
        report(
          `${r.name}: ${what} spec.config.addressType is ${unset ? "unset, which the ALB Ingress controller makes Internet" : JSON.stringify(type)}, an internet-facing ALB; must be "Intranet"; ${where}`,
        );
      const v6 = config.ipv6AddressType;
      if (v6 !== undefined && v6 !== null && v6 !== "" && String(v6).toLowerCase() !== "intranet")
        report(`${r.name}: ${what} spec.config.ipv6AddressType is ${JSON.stringify(v6)}, a public IPv6 address; must be "Intranet" or unset; ${where}`);
      if (goTrue(config.id))
        report(`${r.name}: ${what} spec.config.id reuses the existing ALB ${JSON.stringify(config.id)}, whose address type the plan does not show; ${where}`);
    } else if (ALB_INGRESS.ingressClass.test(r.type)) {
      // An IngressClass of the ALB Ingress controller takes its ALB from the AlbConfig its parameters name
      // (same doc, "Associate the AlbConfig with an IngressClass"; store/common.go:25 the controller name).
      // A patch that sets the ALB controller, or parameters of kind AlbConfig, is judged the same way.
      const patch = r.type.endsWith("Patch");
      const spec = obj(r.props.spec);
      const params = obj(spec.parameters);
      const albParams = params.kind === "AlbConfig" || String(params.apiGroup ?? "").replace(/\/.*$/, "") === "alibabacloud.com";
      if (spec.controller !== ALB_INGRESS.controller && !(patch && albParams)) return;
      const name = str(obj(r.props.metadata).name) ?? r.name;
      if (allowed(`IngressClass/${name}`)) return;
      const ok = params.kind === "AlbConfig" && String(params.apiGroup ?? "").replace(/\/.*$/, "") === "alibabacloud.com" && goTrue(params.name);
      if (!ok && !(patch && spec.parameters === undefined))
        report(
          `${r.name}: IngressClass ${name} of the ALB Ingress controller (${ALB_INGRESS.controller}) names no AlbConfig in spec.parameters (apiGroup alibabacloud.com, kind AlbConfig), so the plan does not show which ALB, internet or intranet, serves its Ingresses; ${where}`,
        );
    }
    // An Ingress's albconfig.name and an IngressClass's AlbConfig are judged against the plan by alb-config-references.
  };
  return {
    name: "no-public-load-balancers",
    description:
      "Nothing faces the internet unless named in the pack config's publicLoadBalancers: every SLB is intranet (addressType intranet), every ALB and NLB is Intranet (IPv6 too), an EIP is bound only to the NAT gateway (not to an instance, ENI, SLB, HaVip or IP; no Anycast EIP attachment), no NAT DNAT forward entry, a LoadBalancer Service or ServicePatch (or one a chart's values render: the Service values CHART_SERVICE_VALUES reads with the chart's defaults at its pinned version, such as ingress-nginx's controller Service and kube-prometheus-stack's thanosServiceExternal; any value map with type LoadBalancer; a Service type unknown during preview is named; a chart's extraObjects, extraManifests, extraDeploy or {{ template values are refused, unread) carries the CCM's intranet address-type annotation and no reused load balancer or other loadBalancerClass, a ServicePatch does not set the address type to internet, a chart of that table at another version is refused, and the ALB Ingress controller's objects ask for an intranet ALB: an AlbConfig's (or AlbConfigPatch's) spec.config.addressType Intranet (unset is Internet), no internet IPv6, no reused ALB id; an ALB IngressClass names an AlbConfig (alb-config-references checks the plan declares it) (T15).",
    enforcementLevel,
    validateResource(r, report) {
      judge(r, (message) => report(message));
    },
  };
}

// ---------------------------------------------------------------------------
// platform-namespaces (T17)

export interface PlatformNamespacesConfig {
  /** Namespaces of Kubernetes, KubeSphere and the platform's own components. */
  platformNamespaces: string[];
}

export const PLATFORM_NAMESPACES_SCHEMA: Record<keyof PlatformNamespacesConfig, ConfigProperty> = {
  platformNamespaces: {
    type: "array",
    items: { type: "string" },
    description: "Namespaces no app, app namespace or KubeSphere role binding may use",
    default: ["default", "kube-system", "kube-public", "kube-node-lease", "kubesphere-system"],
  },
};

/** Component types whose children are an app's or a workspace's objects (their URNs carry the parent types). */
export const APP_COMPONENTS = ["platform:k8s:JavaApp", "platform:k8s:AppNamespaces", "platform:fleet:ConsoleProjects"];

/** The parent-type chain of a URN (`urn:pulumi:s::p::a$b$type::name` -> a, b, type). */
const typeChain = (urn: string) => (urn.split("::")[2] ?? "").split("$");

export function platformNamespaces(enforcementLevel: EnforcementLevel, config: Partial<PlatformNamespacesConfig> = {}): ResourcePolicy {
  const c = withDefaults(PLATFORM_NAMESPACES_SCHEMA, config);
  return {
    name: "platform-namespaces",
    description:
      "No app object, app namespace or KubeSphere (workspace) role binding in a namespace of Kubernetes, KubeSphere or the platform (the pack config's platformNamespaces), so an app's admins never administer the platform's Secrets (T17).",
    enforcementLevel,
    validateResource(r, report) {
      const chain = typeChain(r.urn);
      const isApp = APP_COMPONENTS.some((t) => chain.includes(t));
      const isBinding = r.type.startsWith("kubernetes:iam.kubesphere.io/") && r.type.endsWith(":RoleBinding");
      if (!isApp && !isBinding) return;
      if (!r.type.startsWith("kubernetes:")) return;
      const meta = obj(r.props.metadata);
      const ns = r.type === "kubernetes:core/v1:Namespace" ? str(meta.name) : (str(meta.namespace) ?? "default");
      if (ns !== undefined && c.platformNamespaces.includes(ns))
        report(
          `${r.name}: ${isBinding ? "KubeSphere role binding" : "app object"} in platform namespace ${ns} (${c.platformNamespaces.join(", ")}); apps and workspaces get namespaces of their own`,
        );
    },
  };
}

// ---------------------------------------------------------------------------
// metadata-guard (T12)

/** The tag every Kubernetes node carries because its user data installs the metadata guard (components/cluster/cloudInit.ts). */
export const METADATA_GUARD_TAG = "platform:metadata-guard";
/** Its value: the unit that loads the guard's nftables table before containerd and the kubelet. */
export const METADATA_GUARD_UNIT_NAME = "k8s-metadata-guard.service";

export interface MetadataGuardConfig {
  /**
   * Parents whose ECS instances run no pods, so need no guard: the end of the parent's URN type
   * chain (`<component type>$<component type>`). The api-server front's HAProxy pair is created
   * by a NodePool under the ApiServerFront component (components/cluster/apiServerFront.ts), so
   * its instances' parent URN ends in `platform:cluster:ApiServerFront$platform:compute:NodePool`.
   * Only code decides a parent; a tag (`platform:pool: haproxy`) any instance can carry decides nothing.
   */
  podlessParents: string[];
}

/** The parent chain of the api-server front's HAProxy instances. */
export const HAPROXY_POOL_PARENT = "platform:cluster:ApiServerFront$platform:compute:NodePool";

export const METADATA_GUARD_SCHEMA: Record<keyof MetadataGuardConfig, ConfigProperty> = {
  podlessParents: {
    type: "array",
    items: { type: "string" },
    description: "ends of parent URN type chains (a$b) whose instances run no pods",
    default: [HAPROXY_POOL_PARENT],
  },
};

/** Whether `parentUrn`'s type chain ends with `chain` (`a$b`), at a `$` boundary. */
export function parentChainEndsWith(parentUrn: string | undefined, chain: string): boolean {
  if (parentUrn === undefined) return false;
  const types = (parentUrn.split("::")[2] ?? "").split("$");
  const want = chain.split("$");
  return want.length <= types.length && want.every((t, i) => types[types.length - want.length + i] === t);
}

export function metadataGuard(enforcementLevel: EnforcementLevel, config: Partial<MetadataGuardConfig> = {}): ResourcePolicy {
  const c = withDefaults(METADATA_GUARD_SCHEMA, config);
  return {
    name: "metadata-guard",
    description: `Every ECS instance that runs pods carries the ${METADATA_GUARD_TAG} tag its user data's metadata guard sets, so no node lets pods read its RAM role's credentials from 100.100.100.200; only instances whose parent is one of the pack config's podlessParents (the api-server front's HAProxy pool, by its component chain, not by a tag) are exempt (T12).`,
    enforcementLevel,
    validateResource(r, report) {
      if (r.type !== TYPES.instance) return;
      if (c.podlessParents.some((chain) => parentChainEndsWith(r.parent, chain))) return;
      const value = obj(r.props.tags)[METADATA_GUARD_TAG];
      if (value !== METADATA_GUARD_UNIT_NAME)
        report(
          `${r.name}: ${value === undefined ? `has no ${METADATA_GUARD_TAG} tag` : `${METADATA_GUARD_TAG} is ${JSON.stringify(value)}`}; a node that runs pods must carry ${METADATA_GUARD_TAG}: ${METADATA_GUARD_UNIT_NAME} (its user data installs the guard that keeps pods from the metadata service); exempt are only instances under ${c.podlessParents.join(", ") || "no parent listed"} (podlessParents), whatever their tags`,
        );
    },
  };
}
