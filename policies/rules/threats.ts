// Rules that follow from the threat model (docs/threat-model.md): each description
// cites the rows (T<n>) it stops. Where the pack's lists come from: the pack config
// (policies/config/*.json), which a stack-file PR does not edit, so moving an
// endpoint, a namespace or a load balancer in a stack file alone is a violation.
import { arr, ConfigProperty, EnforcementLevel, isObj, isSlb, obj, PolicyResource, ResourcePolicy, StackPolicy, str, TYPES, withDefaults } from "./policy";

const FIX = "allowed values live in the pack config (policies/config/prod.json or nonprod.json), not in the stack file";

// ---------------------------------------------------------------------------
// credential-endpoints (T2-T6)

export interface CredentialEndpointsConfig {
  /** Elasticsearch/Kibana URLs the log-search Job may send its `manage_security` API key to (T3). */
  logSearch: string[];
  /** `host:port` of the Kafka brokers / Elasticsearch fluent-bit may ship logs and the logging password to (T4). */
  logStores: string[];
  /** Apollo meta server URLs apps may send their access keys to and take their config from (T5). */
  apolloMeta: string[];
  /** ECS image ids nodes may boot (T6). */
  osImages: string[];
}

export const CREDENTIAL_ENDPOINTS_SCHEMA: Record<keyof CredentialEndpointsConfig, ConfigProperty> = {
  logSearch: { type: "array", items: { type: "string" }, description: "Elasticsearch/Kibana URLs (scheme://host[:port][/path])", default: [] },
  logStores: { type: "array", items: { type: "string" }, description: "Kafka brokers / Elasticsearch outputs of fluent-bit (host:port)", default: [] },
  apolloMeta: { type: "array", items: { type: "string" }, description: "Apollo meta server URLs", default: [] },
  osImages: { type: "array", items: { type: "string" }, description: "ECS image ids of the nodes", default: [] },
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
export function hostPortProblem(hostPort: string, allowed: string[]): string | undefined {
  let u: URL;
  try {
    u = new URL(`tcp://${hostPort}`);
  } catch {
    return "is not host:port";
  }
  if (u.username !== "" || u.password !== "" || hostPort.includes("@")) return `has userinfo, so it connects to ${u.host}`;
  if (u.port === "" || u.pathname !== "" || u.search !== "" || u.hash !== "" || `${u.hostname}:${u.port}` !== hostPort.toLowerCase()) return "is not host:port";
  return allowed.map((a) => a.toLowerCase()).includes(u.host) ? undefined : `is not an allowed log store (${allowed.join(", ") || "none listed"})`;
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

export const WORKLOAD_TYPES = new Set([
  "kubernetes:apps/v1:Deployment",
  "kubernetes:apps/v1:DaemonSet",
  "kubernetes:apps/v1:StatefulSet",
  "kubernetes:apps/v1:ReplicaSet",
  "kubernetes:batch/v1:Job",
  "kubernetes:batch/v1:CronJob",
  "kubernetes:core/v1:Pod",
  "kubernetes:apps/v1:DeploymentPatch",
  "kubernetes:apps/v1:DaemonSetPatch",
  "kubernetes:apps/v1:StatefulSetPatch",
]);

function podSpecOf(r: PolicyResource) {
  const spec = obj(r.props.spec);
  if (r.type === "kubernetes:core/v1:Pod") return spec;
  if (r.type === "kubernetes:batch/v1:CronJob") return obj(obj(obj(obj(spec.jobTemplate).spec).template).spec);
  return obj(obj(spec.template).spec);
}

const containersOf = (pod: Record<string, unknown>) => [...arr(pod.initContainers), ...arr(pod.containers), ...arr(pod.ephemeralContainers)].map(obj);

export function credentialEndpoints(enforcementLevel: EnforcementLevel, config: Partial<CredentialEndpointsConfig> = {}): StackPolicy {
  const c = withDefaults(CREDENTIAL_ENDPOINTS_SCHEMA, config);
  return {
    name: "credential-endpoints",
    description:
      "Endpoints that receive credentials or deliver code are on the pack config's lists: the log-search Job's Elasticsearch/Kibana (T3), fluent-bit's Kafka brokers or Elasticsearch (T4), the apps' Apollo meta (T5), the nodes' OS image (T6); a URL with userinfo is refused (T2).",
    enforcementLevel,
    validateStack(s, report) {
      for (const r of s.resources) {
        if (WORKLOAD_TYPES.has(r.type)) {
          for (const ctr of containersOf(podSpecOf(r))) {
            for (const e of arr(ctr.env).map(obj)) {
              const name = str(e.name) ?? "";
              const list = ENDPOINT_ENV[name];
              const value = str(e.value);
              if (list !== undefined && e.valueFrom !== undefined) {
                report(
                  `${r.name}: container ${str(ctr.name)} env ${name} takes its value from valueFrom, which the plan cannot check; an endpoint variable must be a literal value on the pack's list (credential-endpoints.${list})`,
                  r.urn,
                );
                continue;
              }
              if (value === undefined) continue;
              if (list !== undefined) {
                const problem = urlProblem(value, c[list], list === "apolloMeta");
                if (problem) report(`${r.name}: container ${str(ctr.name)} env ${name} ${value} ${problem}; ${FIX} (credential-endpoints.${list})`, r.urn);
              } else if (JVM_OPTION_ENV.includes(name)) {
                for (const [prop, url] of apolloEndpointFlags(value)) {
                  const problem = urlProblem(url, c.apolloMeta, true);
                  if (problem)
                    report(
                      `${r.name}: container ${str(ctr.name)} env ${name} sets -D${prop}=${url}, which ${problem}; ${FIX} (credential-endpoints.apolloMeta)`,
                      r.urn,
                    );
                }
              }
            }
          }
        } else if (r.type === TYPES.helmRelease && str(r.props.chart) === "fluent-bit") {
          const outputs = str(obj(obj(r.props.values).config).outputs);
          if (outputs === undefined) continue;
          for (const hp of fluentBitOutputs(outputs)) {
            const problem = hostPortProblem(hp, c.logStores);
            if (problem) report(`${r.name}: fluent-bit output ${hp} ${problem}; ${FIX} (credential-endpoints.logStores)`, r.urn);
          }
        } else if (r.type === TYPES.instance) {
          const image = str(r.props.imageId);
          if (image !== undefined && !c.osImages.includes(image))
            report(
              `${r.name}: boots image ${image}, not an allowed OS image (${c.osImages.join(", ") || "none listed"}); ${FIX} (credential-endpoints.osImages)`,
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
  /** `namespace/name` of the workloads and Helm releases that may run privileged or use host namespaces or hostPath. */
  privilegedWorkloads: string[];
  /**
   * Namespaces that may be labelled Pod Security `privileged` (enforce): the label turns the cluster's baseline
   * off there, so the ValidatingAdmissionPolicy is all that stands (components/cluster/podSecurity.ts RELAXED_NAMESPACES).
   */
  privilegedNamespaces: string[];
}

export const POD_PRIVILEGES_SCHEMA: Record<keyof PodPrivilegesConfig, ConfigProperty> = {
  privilegedWorkloads: { type: "array", items: { type: "string" }, description: "namespace/name of platform workloads and Helm releases", default: [] },
  privilegedNamespaces: {
    type: "array",
    items: { type: "string" },
    description: "namespaces that may carry pod-security.kubernetes.io/enforce: privileged",
    default: [],
  },
};

/** The Pod Security enforce label (Kubernetes "Pod Security Admission", namespace labels). */
export const PSA_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";
const NAMESPACE_TYPES = new Set(["kubernetes:core/v1:Namespace", "kubernetes:core/v1:NamespacePatch"]);

/** Where a pod spec (or a chart's values) asks for the node: `privileged`, `hostNetwork`, `hostPID`, `hostIPC` true, or a `hostPath`. */
export function privilegesIn(v: unknown, path = ""): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => privilegesIn(x, `${path}[${i}]`));
  if (!isObj(v)) return [];
  const out: string[] = [];
  for (const [k, x] of Object.entries(v)) {
    const at = path === "" ? k : `${path}.${k}`;
    if (["privileged", "hostNetwork", "hostPID", "hostIPC"].includes(k) && x === true) out.push(at);
    else if (k === "hostPath" && x !== undefined && x !== null) out.push(at);
    else out.push(...privilegesIn(x, at));
  }
  return out;
}

export function podPrivileges(enforcementLevel: EnforcementLevel, config: Partial<PodPrivilegesConfig> = {}): ResourcePolicy {
  const c = withDefaults(POD_PRIVILEGES_SCHEMA, config);
  return {
    name: "pod-privileges",
    description:
      "No privileged container, hostNetwork/hostPID/hostIPC or hostPath volume outside the pack config's privilegedWorkloads (platform DaemonSets and charts), and no namespace labelled Pod Security privileged outside its privilegedNamespaces, so a pod cannot take the node, its credentials or the metadata service (T11).",
    enforcementLevel,
    validateResource(r, report) {
      if (NAMESPACE_TYPES.has(r.type)) {
        const meta = obj(r.props.metadata);
        const ns = str(meta.name) ?? r.name;
        if (obj(meta.labels)[PSA_ENFORCE_LABEL] === "privileged" && !c.privilegedNamespaces.includes(ns))
          report(
            `${r.name}: namespace ${ns} is labelled ${PSA_ENFORCE_LABEL}: privileged, which turns Pod Security baseline off there, but is not one of the privileged namespaces (${c.privilegedNamespaces.join(", ") || "none listed"}); ${FIX} (pod-privileges.privilegedNamespaces)`,
          );
        return;
      }
      let where: unknown;
      let id: string;
      if (WORKLOAD_TYPES.has(r.type)) {
        const meta = obj(r.props.metadata);
        id = `${str(meta.namespace) ?? "default"}/${str(meta.name) ?? r.name}`;
        where = r.props.spec;
      } else if (r.type === TYPES.helmRelease) {
        id = `${str(r.props.namespace) ?? "default"}/${str(r.props.name) ?? r.name}`;
        where = r.props.values;
      } else return;
      if (c.privilegedWorkloads.includes(id)) return;
      // Sorted, so the message does not depend on the order of keys in the spec.
      const found = privilegesIn(where).sort();
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
  /** SLB names (`loadBalancerName`) or `namespace/name` of Services that may face the internet. */
  publicLoadBalancers: string[];
}

export const NO_PUBLIC_LOAD_BALANCERS_SCHEMA: Record<keyof NoPublicLoadBalancersConfig, ConfigProperty> = {
  publicLoadBalancers: {
    type: "array",
    items: { type: "string" },
    description: "SLB names or namespace/name of LoadBalancer Services allowed to be internet-facing",
    default: [],
  },
};

/**
 * The Alibaba Cloud controller manager's annotation for a LoadBalancer Service's address type
 * (`internet` unless set to `intranet`): Alibaba Cloud documentation, "Use annotations to configure
 * CLB instances" (help/en/ack/.../use-annotations-to-configure-load-balancing), read 2026-12-07.
 */
export const CCM_ADDRESS_TYPE = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type";

export function noPublicLoadBalancers(enforcementLevel: EnforcementLevel, config: Partial<NoPublicLoadBalancersConfig> = {}): ResourcePolicy {
  const c = withDefaults(NO_PUBLIC_LOAD_BALANCERS_SCHEMA, config);
  return {
    name: "no-public-load-balancers",
    description:
      "Every SLB is intranet (addressType set to intranet), no EIP is bound to an SLB, and a LoadBalancer Service carries the intranet address-type annotation, unless named in the pack config's publicLoadBalancers (T15).",
    enforcementLevel,
    validateResource(r, report) {
      if (isSlb(r)) {
        const name = str(r.props.loadBalancerName) ?? r.name;
        if (r.props.addressType !== "intranet" && !c.publicLoadBalancers.includes(name))
          report(
            `${r.name}: SLB ${name} addressType is ${r.props.addressType === undefined ? "unset" : JSON.stringify(r.props.addressType)}; must be "intranet"; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
          );
      } else if (r.type === TYPES.eipAssociation && ["SlbInstance", "NetworkInterface"].includes(String(r.props.instanceType))) {
        report(`${r.name}: binds an EIP to a ${String(r.props.instanceType)}, which puts it on the internet; egress goes through the NAT gateway`);
      } else if (r.type === "kubernetes:core/v1:Service" && obj(r.props.spec).type === "LoadBalancer") {
        const meta = obj(r.props.metadata);
        const id = `${str(meta.namespace) ?? "default"}/${str(meta.name) ?? r.name}`;
        if (obj(meta.annotations)[CCM_ADDRESS_TYPE] !== "intranet" && !c.publicLoadBalancers.includes(id))
          report(
            `${r.name}: LoadBalancer Service ${id} gets an internet-facing SLB; annotate ${CCM_ADDRESS_TYPE}: intranet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
          );
      }
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
  /** `platform:pool` tags of ECS instances that run no pods (the api-server front's HAProxy pair), so need no guard. */
  podlessPools: string[];
}

export const METADATA_GUARD_SCHEMA: Record<keyof MetadataGuardConfig, ConfigProperty> = {
  podlessPools: { type: "array", items: { type: "string" }, description: "platform:pool tags of instances that run no pods", default: ["haproxy"] },
};

export function metadataGuard(enforcementLevel: EnforcementLevel, config: Partial<MetadataGuardConfig> = {}): ResourcePolicy {
  const c = withDefaults(METADATA_GUARD_SCHEMA, config);
  return {
    name: "metadata-guard",
    description: `Every ECS instance that runs pods carries the ${METADATA_GUARD_TAG} tag its user data's metadata guard sets, so no node lets pods read its RAM role's credentials from 100.100.100.200 (T12).`,
    enforcementLevel,
    validateResource(r, report) {
      if (r.type !== TYPES.instance) return;
      const t = obj(r.props.tags);
      const pool = str(t["platform:pool"]);
      if (pool !== undefined && c.podlessPools.includes(pool)) return;
      const value = t[METADATA_GUARD_TAG];
      if (value !== METADATA_GUARD_UNIT_NAME)
        report(
          `${r.name}: ${value === undefined ? `has no ${METADATA_GUARD_TAG} tag` : `${METADATA_GUARD_TAG} is ${JSON.stringify(value)}`}; a node that runs pods must carry ${METADATA_GUARD_TAG}: ${METADATA_GUARD_UNIT_NAME} (its user data installs the guard that keeps pods from the metadata service); pools that run no pods: ${c.podlessPools.join(", ") || "none listed"}`,
        );
    },
  };
}
