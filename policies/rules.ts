// The platform's policies as pure functions over a resource shape both runners
// can build: the CrossGuard pack (policies/index.ts, under `pulumi preview
// --policy-pack policies`) and the offline preview (components/preview/policyCheck.ts,
// over the mocked plan). No @pulumi/policy import here: the root project does not
// install it, and a rule that only reads plain data is tested on real plans.
//
// Each policy is a factory taking its enforcement level and config, in the style
// of pulumi-policy-aws (`noPublicServices("mandatory")`). Which level a stack gets
// comes from the pack config files (config/prod.json, config/nonprod.json), never
// from code: `{"all": "mandatory", "<policy>": {...config}}`, as the Pulumi CLI reads them.
import { Env, imageTagProblem, isEnv } from "./imageTags";

/** CrossGuard's levels; ours never remediate, so "remediate" is refused in config. */
export type EnforcementLevel = "advisory" | "mandatory" | "disabled";

/** One resource as a policy sees it: CrossGuard's `{type, urn, name, props}` plus what the offline plan knows. */
export interface PolicyResource {
  /** Pulumi type token, e.g. `alicloud:ecs/instance:Instance`. */
  type: string;
  urn: string;
  /** The resource's Pulumi name (last part of the URN). */
  name: string;
  /** Input properties (offline: the planned inputs, secrets masked as "[secret]"). */
  props: Record<string, unknown>;
  /** URNs this resource depends on, input dependencies included (links a listener to its SLB). */
  dependencies?: string[];
  /**
   * Paths of the props that are secrets (`userData`, `stringData`). Undefined when
   * the runner cannot tell: CrossGuard hands policies unwrapped plaintext and no
   * secret markers (pulumi/pulumi-policy#241), so secret checks that need them
   * run offline only.
   */
  secretPaths?: string[];
}

/** The whole stack, for stack policies. */
export interface PolicyStack {
  /** Stack name (prod1...), as in the URNs. */
  stack: string;
  resources: PolicyResource[];
  /** Stack outputs; undefined when the runner does not see them. */
  outputs?: Record<string, unknown>;
  /** Names of the outputs that are secrets; undefined when the runner cannot tell (CrossGuard). */
  secretOutputs?: string[];
}

/** One finding, as the preview prints it and `--json` lists it. */
export interface Violation {
  policy: string;
  level: "advisory" | "mandatory";
  /** The resource at fault; the stack's URN for stack-wide findings. */
  urn: string;
  message: string;
}

/** Reports a violation; `urn` defaults to the resource being checked (or the stack). */
export type ReportViolation = (message: string, urn?: string) => void;

/** A JSON-schema fragment, enough for CrossGuard's `configSchema` and our own config check. */
export interface ConfigProperty {
  type: "string" | "integer" | "boolean" | "array" | "object";
  description: string;
  items?: { type: "string" | "integer" };
  enum?: string[];
  default?: unknown;
  minimum?: number;
  additionalProperties?: unknown;
}

interface PolicyBase {
  name: string;
  description: string;
  enforcementLevel: EnforcementLevel;
}

/** Runs once per resource, before it is created (CrossGuard `validateResource`). */
export interface ResourcePolicy extends PolicyBase {
  validateResource(resource: PolicyResource, report: ReportViolation): void;
}

/** Runs once over every resource of the stack (CrossGuard `validateStack`). */
export interface StackPolicy extends PolicyBase {
  validateStack(stack: PolicyStack, report: ReportViolation): void;
}

export type PlatformPolicy = ResourcePolicy | StackPolicy;

export function isResourcePolicy(p: PlatformPolicy): p is ResourcePolicy {
  return typeof (p as ResourcePolicy).validateResource === "function";
}

// ---------------------------------------------------------------------------
// Small readers. A policy guards against missing values rather than assuming them.

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
/** The offline plan masks secret inputs with this string. */
const MASK = "[secret]";

/** `urn:pulumi:<stack>::<project>::<type>::<name>` -> stack. */
export function stackOfUrn(urn: string): string {
  return urn.split("::")[0]?.split(":")[2] ?? "";
}

function tags(r: PolicyResource): Obj {
  return obj(r.props.tags);
}

/** True when `path` (or a parent or child of it) is among the secret paths. */
function isSecretPath(secretPaths: string[], path: string): boolean {
  return secretPaths.some((p) => p === path || p.startsWith(`${path}.`) || p.startsWith(`${path}[`) || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));
}

export const TYPES = {
  instance: "alicloud:ecs/instance:Instance",
  eipAssociation: "alicloud:ecs/eipAssociation:EipAssociation",
  securityGroupRule: "alicloud:ecs/securityGroupRule:SecurityGroupRule",
  slb: "alicloud:slb/applicationLoadBalancer:ApplicationLoadBalancer",
  slbLegacy: "alicloud:slb/loadBalancer:LoadBalancer",
  listener: "alicloud:slb/listener:Listener",
  vpnConnection: "alicloud:vpn/connection:Connection",
  deployment: "kubernetes:apps/v1:Deployment",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  configMap: "kubernetes:core/v1:ConfigMap",
  secret: "kubernetes:core/v1:Secret",
  helmRelease: "kubernetes:helm.sh/v3:Release",
  helmChartV4: "kubernetes:helm.sh/v4:Chart",
  k8sProvider: "pulumi:providers:kubernetes",
  stack: "pulumi:pulumi:Stack",
} as const;

/** Pod-carrying kinds whose env a secret could leak into. */
const WORKLOAD_TYPES = new Set(["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:DaemonSet", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob"]);

const isSlb = (r: PolicyResource) => r.type === TYPES.slb || r.type === TYPES.slbLegacy;

// ---------------------------------------------------------------------------
// no-public-ip-on-nodes

export function noPublicIpOnNodes(enforcementLevel: EnforcementLevel): ResourcePolicy {
  return {
    name: "no-public-ip-on-nodes",
    description: "ECS instances get no public IP and no EIP: nodes reach the internet only through the VPC's NAT gateway.",
    enforcementLevel,
    validateResource(r, report) {
      if (r.type === TYPES.instance) {
        const bw = r.props.internetMaxBandwidthOut;
        if (bw !== undefined && bw !== null && bw !== 0) {
          report(`${r.name}: internetMaxBandwidthOut is ${JSON.stringify(bw)}; nodes get no public IP (set 0: egress goes through the NAT gateway)`);
        }
        if (r.props.allocatePublicIp === true) report(`${r.name}: allocatePublicIp is true; nodes get no public IP (egress goes through the NAT gateway)`);
      } else if (r.type === TYPES.eipAssociation) {
        const kind = str(r.props.instanceType);
        // Without instanceType, Alibaba infers the kind from the id: `i-` is an ECS instance.
        const onEcs = kind === "EcsInstance" || (kind === undefined && (str(r.props.instanceId) ?? "").startsWith("i-"));
        if (onEcs) report(`${r.name}: associates an EIP with an ECS instance; nodes get no public IP (EIPs belong on the NAT gateway)`);
      }
    },
  };
}

// ---------------------------------------------------------------------------
// no-open-admin-ports

export interface NoOpenAdminPortsConfig {
  /** TCP ports nobody on the internet may reach: ssh, the api-server, etcd, the kubelet. */
  ports: number[];
  /** Source ranges that mean "the internet". */
  openCidrs: string[];
}

export const NO_OPEN_ADMIN_PORTS_SCHEMA: Record<keyof NoOpenAdminPortsConfig, ConfigProperty> = {
  ports: { type: "array", items: { type: "integer" }, description: "TCP ports never open to the internet", default: [22, 2379, 2380, 6443, 10250] },
  openCidrs: { type: "array", items: { type: "string" }, description: "Source ranges that mean the whole internet", default: ["0.0.0.0/0", "::/0"] },
};

/** ECS's portRange "a/b" ("-1/-1" is every port) as [from, to]; undefined when unreadable. */
export function parsePortRange(range: string): [number, number] | undefined {
  const m = /^(-?\d+)\/(-?\d+)$/.exec(range.trim());
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = Number(m[2]);
  if (a === -1 && b === -1) return [1, 65535];
  if (a < 1 || b > 65535 || a > b) return undefined;
  return [a, b];
}

export function noOpenAdminPorts(enforcementLevel: EnforcementLevel, config: Partial<NoOpenAdminPortsConfig> = {}): ResourcePolicy {
  const c = withDefaults(NO_OPEN_ADMIN_PORTS_SCHEMA, config);
  return {
    name: "no-open-admin-ports",
    description: "No security group rule opens ssh (22), the api-server (6443), etcd (2379-2380) or the kubelet (10250) to 0.0.0.0/0.",
    enforcementLevel,
    validateResource(r, report) {
      if (r.type !== TYPES.securityGroupRule || r.props.type !== "ingress") return;
      const source = str(r.props.cidrIp) ?? str(r.props.ipv6CidrIp);
      if (source === undefined || !c.openCidrs.includes(source)) return;
      const protocol = str(r.props.ipProtocol) ?? "all";
      if (protocol !== "tcp" && protocol !== "all") return;
      const rangeText = str(r.props.portRange) ?? "-1/-1";
      const range = parsePortRange(rangeText);
      if (!range) {
        report(`${r.name}: ingress from ${source} with unreadable portRange "${rangeText}" (expected "from/to")`);
        return;
      }
      const open = c.ports.filter((p) => p >= range[0] && p <= range[1]);
      if (open.length > 0) report(`${r.name}: ingress from ${source} on ${protocol} ${rangeText} opens admin port(s) ${open.join(", ")} to the internet`);
    },
  };
}

// ---------------------------------------------------------------------------
// api-server-slb-intranet

export function apiServerSlbIntranet(enforcementLevel: EnforcementLevel): StackPolicy {
  return {
    name: "api-server-slb-intranet",
    description: "The api-server's SLB (the one behind listener 6443, named <stack>-front-slb) is intranet-only.",
    enforcementLevel,
    validateStack(s, report) {
      const slbs = s.resources.filter(isSlb);
      const behind6443 = new Set(
        s.resources.filter((r) => r.type === TYPES.listener && r.props.frontendPort === 6443).flatMap((l) => (l.dependencies ?? []).filter((u) => slbs.some((b) => b.urn === u))),
      );
      for (const slb of slbs) {
        const isApiServer =
          behind6443.has(slb.urn) ||
          slb.name.endsWith("-front-slb") ||
          (str(slb.props.loadBalancerName) ?? "").endsWith("-apiserver") ||
          tags(slb)["platform:role"] === "apiserver";
        if (!isApiServer) continue;
        // Alibaba defaults an SLB to `internet` when addressType is unset.
        const addressType = str(slb.props.addressType) ?? "internet (the default)";
        if (addressType !== "intranet") report(`${slb.name}: the api-server SLB has addressType ${addressType}; it must be intranet (6443 is reached over the VPC and IPsec only)`, slb.urn);
      }
    },
  };
}

// ---------------------------------------------------------------------------
// deletion-protection

export function deletionProtection(enforcementLevel: EnforcementLevel): ResourcePolicy {
  return {
    name: "deletion-protection",
    description: "ECS instances have deletionProtection and SLBs deleteProtection on, so a mistaken `pulumi up` or console click cannot delete them.",
    enforcementLevel,
    validateResource(r, report) {
      if (r.type === TYPES.instance && r.props.deletionProtection !== true) {
        report(`${r.name}: deletionProtection is ${JSON.stringify(r.props.deletionProtection ?? "unset")}; must be true`);
      } else if (isSlb(r) && r.props.deleteProtection !== "on") {
        report(`${r.name}: deleteProtection is ${JSON.stringify(r.props.deleteProtection ?? "unset")}; must be "on"`);
      }
    },
  };
}

// ---------------------------------------------------------------------------
// odd-masters

export interface OddMastersConfig {
  /** Fewest masters a stack may run; 3 survives one master loss. */
  minimum: number;
}

export const ODD_MASTERS_SCHEMA: Record<keyof OddMastersConfig, ConfigProperty> = {
  minimum: { type: "integer", minimum: 1, description: "Fewest masters (3 keeps etcd quorum through one loss)", default: 3 },
};

/** Masters: instances tagged platform:role=master, or named <stack>-master-N. */
export function masterInstances(s: PolicyStack): PolicyResource[] {
  const named = new RegExp(`^${s.stack.replace(/[^A-Za-z0-9]/g, "\\$&")}-master-\\d+$`);
  return s.resources.filter((r) => r.type === TYPES.instance && (tags(r)["platform:role"] === "master" || named.test(r.name)));
}

export function oddMasters(enforcementLevel: EnforcementLevel, config: Partial<OddMastersConfig> = {}): StackPolicy {
  const c = withDefaults(ODD_MASTERS_SCHEMA, config);
  return {
    name: "odd-masters",
    description: "The cluster runs an odd number of masters (etcd quorum), at least the configured minimum.",
    enforcementLevel,
    validateStack(s, report) {
      const n = masterInstances(s).length;
      if (n % 2 === 0) report(`${s.stack} has ${n} masters: an even count tolerates no more failures than ${Math.max(n - 1, 0)} (etcd needs a majority); use an odd number`);
      else if (n < c.minimum) report(`${s.stack} has ${n} master(s); at least ${c.minimum} are required`);
    },
  };
}

// ---------------------------------------------------------------------------
// approved-instance-types

export interface ApprovedInstanceTypesConfig {
  /** ECS types a node may use; "ecs.g7.*" approves a family. */
  approvedTypes: string[];
}

export const APPROVED_INSTANCE_TYPES_SCHEMA: Record<keyof ApprovedInstanceTypesConfig, ConfigProperty> = {
  approvedTypes: {
    type: "array",
    items: { type: "string" },
    description: "ECS instance types nodes may use; a trailing .* approves a family",
    default: ["ecs.c6.large", "ecs.c6.xlarge", "ecs.g6.xlarge", "ecs.g6.2xlarge", "ecs.g6.4xlarge", "ecs.g6.8xlarge"],
  },
};

export function approvedInstanceTypes(enforcementLevel: EnforcementLevel, config: Partial<ApprovedInstanceTypesConfig> = {}): ResourcePolicy {
  const c = withDefaults(APPROVED_INSTANCE_TYPES_SCHEMA, config);
  const approved = (t: string) => c.approvedTypes.some((a) => (a.endsWith(".*") ? t.startsWith(a.slice(0, -1)) : t === a));
  return {
    name: "approved-instance-types",
    description: "Nodes use approved ECS instance types (sized, priced and stocked in our zones; burstable types are not).",
    enforcementLevel,
    validateResource(r, report) {
      if (r.type !== TYPES.instance) return;
      const t = str(r.props.instanceType);
      if (t === undefined) report(`${r.name}: no instanceType`);
      else if (!approved(t)) report(`${r.name}: instance type ${t} is not approved (approved: ${c.approvedTypes.join(", ")})`);
    },
  };
}

// ---------------------------------------------------------------------------
// kubernetes-baseline

export const KUBERNETES_VERSION_TAG = "platform:kubernetes-version";

export interface KubernetesBaselineConfig {
  /** Kubernetes versions a cluster may declare (tag platform:kubernetes-version on its nodes). */
  kubernetesVersions: string[];
  /** flannel's backend: vxlan works on any network, the VPC included. */
  flannelBackend: string;
}

export const KUBERNETES_BASELINE_SCHEMA: Record<keyof KubernetesBaselineConfig, ConfigProperty> = {
  kubernetesVersions: { type: "array", items: { type: "string" }, description: "Approved Kubernetes versions (full x.y.z)", default: ["1.35.4"] },
  flannelBackend: { type: "string", description: "flannel Backend.Type of the net-conf", default: "vxlan" },
};

export function kubernetesBaseline(enforcementLevel: EnforcementLevel, config: Partial<KubernetesBaselineConfig> = {}): StackPolicy {
  const c = withDefaults(KUBERNETES_BASELINE_SCHEMA, config);
  return {
    name: "kubernetes-baseline",
    description: "The cluster runs an approved Kubernetes version (its nodes' platform:kubernetes-version tag) and flannel's baseline backend (vxlan).",
    enforcementLevel,
    validateStack(s, report) {
      const nodes = s.resources.filter((r) => r.type === TYPES.instance && ["master", "worker"].includes(String(tags(r)["platform:role"])));
      for (const n of nodes) {
        const v = tags(n)[KUBERNETES_VERSION_TAG];
        if (typeof v !== "string") report(`${n.name}: no ${KUBERNETES_VERSION_TAG} tag, so nobody can tell which Kubernetes it runs`, n.urn);
        else if (!c.kubernetesVersions.includes(v)) report(`${n.name}: Kubernetes ${v} is not an approved version (${c.kubernetesVersions.join(", ")})`, n.urn);
      }
      const flannel = s.resources.filter((r) => r.type === TYPES.configMap && obj(r.props.metadata).name === "kube-flannel-cfg");
      if (nodes.length > 0 && flannel.length === 0) report(`${s.stack}: no kube-flannel-cfg ConfigMap; the cluster's pod network is not declared`);
      for (const cm of flannel) {
        const text = str(obj(cm.props.data)["net-conf.json"]);
        let backend: unknown;
        try {
          backend = obj(obj(JSON.parse(text ?? "null")).Backend).Type;
        } catch {
          report(`${cm.name}: net-conf.json is not JSON`, cm.urn);
          continue;
        }
        if (backend !== c.flannelBackend) report(`${cm.name}: flannel Backend.Type is ${JSON.stringify(backend ?? "unset")}; the baseline is ${c.flannelBackend}`, cm.urn);
      }
    },
  };
}

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
  mutableTags: { type: "array", items: { type: "string" }, description: "Image tags that move", default: ["latest", "stable", "edge", "nightly", "main", "master"] },
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
        if (!isCanary && replicas < c.minReplicas) problem("replicas", `${replicas} replica(s); at least ${c.minReplicas} (one pod is an outage during a node drain or rollout)`);
        if (replicas >= 2) {
          const covered = pdbs.some((p) => (str(obj(p.props.metadata).namespace) ?? "default") === ns && selects(obj(obj(p.props.spec).selector), podLabels));
          if (!covered) problem("pdb", `${replicas} replicas but no PodDisruptionBudget selects its pods: a node drain may evict them all at once`);
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
        (r) => (r.type === TYPES.helmRelease || r.type === TYPES.helmChartV4) && ((str(r.props.chart) ?? "") === c.chart || (str(r.props.chart) ?? "").endsWith(`/${c.chart}`)),
      );
      if (releases.length === 0) report(`${s.stack}: no ${c.chart} release; the cluster needs its one global ingress controller`);
      if (releases.length > 1) {
        for (const r of releases.slice(1)) report(`${r.name}: a second ${c.chart} release (${releases.length} in the stack); one global controller serves every namespace`, r.urn);
      }
      for (const r of releases) {
        if (r.props.values === MASK) continue; // secret values: nothing to read offline
        const scope = obj(obj(obj(r.props.values).controller).scope);
        if (scope.enabled === true) report(`${r.name}: controller.scope.enabled is true; the global controller must watch every namespace`, r.urn);
        else if (typeof scope.namespace === "string" && scope.namespace !== "") report(`${r.name}: controller.scope.namespace is "${scope.namespace}"; the global controller must watch every namespace`, r.urn);
      }
    },
  };
}

// ---------------------------------------------------------------------------
// secrets-not-plain

export interface SecretsNotPlainConfig {
  /** Names (env vars, ConfigMap keys, stack outputs) that hold credentials. */
  secretNamePattern: string;
}

export const SECRETS_NOT_PLAIN_SCHEMA: Record<keyof SecretsNotPlainConfig, ConfigProperty> = {
  secretNamePattern: {
    type: "string",
    description: "Case-insensitive regex of names that hold credentials",
    default: "kubeconfig|psk|password|passwd|token|secret|private[-_]?key|access[-_]?key|jwt",
  },
};

/** Where each secret-bearing input lives: type -> prop (checked only where secret markers are known). */
const SECRET_PROPS: [type: string, prop: string, what: string][] = [
  [TYPES.instance, "userData", "user data (bootstrap token, certificate key, CA key)"],
  [TYPES.vpnConnection, "ikeConfig", "IKE config (pre-shared key)"],
  [TYPES.k8sProvider, "kubeconfig", "kubeconfig (admin client key)"],
];

export function secretsNotPlain(enforcementLevel: EnforcementLevel, config: Partial<SecretsNotPlainConfig> = {}): StackPolicy {
  const c = withDefaults(SECRETS_NOT_PLAIN_SCHEMA, config);
  const secretName = new RegExp(c.secretNamePattern, "i");
  return {
    name: "secrets-not-plain",
    description:
      "Credentials are never plain: Secret data, IKE pre-shared keys, user data, kubeconfigs and credential-named stack outputs are secrets; " +
      "env vars and ConfigMap keys named like credentials come from Secrets.",
    enforcementLevel,
    validateStack(s, report) {
      for (const r of s.resources) {
        // Needs secret markers: the offline plan has them, CrossGuard does not (pulumi-policy#241).
        if (r.secretPaths) {
          const paths = r.secretPaths;
          if (r.type === TYPES.secret) {
            for (const field of ["data", "stringData"]) {
              if (r.props[field] !== undefined && !isSecretPath(paths, field)) report(`${r.name}: Secret ${field} is plain; wrap it in pulumi.secret()`, r.urn);
            }
          }
          for (const [type, prop, what] of SECRET_PROPS) {
            if (r.type === type && r.props[prop] !== undefined && !isSecretPath(paths, prop)) report(`${r.name}: ${prop} holds the ${what} and is plain; wrap it in pulumi.secret()`, r.urn);
          }
        }
        // Readable by both runners: literal credentials where a Secret reference belongs.
        if (WORKLOAD_TYPES.has(r.type)) {
          const pod = podSpecOf(r);
          for (const ctr of [...arr(pod.initContainers), ...arr(pod.containers)].map(obj)) {
            for (const e of arr(ctr.env).map(obj)) {
              const name = str(e.name) ?? "";
              if (secretName.test(name) && e.value !== undefined && e.valueFrom === undefined) {
                report(`${r.name}: container ${str(ctr.name)} sets ${name} as a literal env value; take it from a Secret (valueFrom.secretKeyRef)`, r.urn);
              }
            }
          }
        }
        if (r.type === TYPES.configMap) {
          for (const key of Object.keys(obj(r.props.data))) {
            if (secretName.test(key)) report(`${r.name}: ConfigMap key ${key} looks like a credential; ConfigMaps are plain, use a Secret`, r.urn);
          }
        }
      }
      if (s.outputs && s.secretOutputs) {
        const stackUrn = s.resources.find((r) => r.type === TYPES.stack)?.urn;
        for (const name of Object.keys(s.outputs)) {
          if (secretName.test(name) && !s.secretOutputs.includes(name)) report(`stack output ${name} is plain; export it with pulumi.secret()`, stackUrn);
        }
      }
    },
  };
}

function podSpecOf(r: PolicyResource): Obj {
  const spec = obj(r.props.spec);
  if (r.type === "kubernetes:batch/v1:CronJob") return obj(obj(obj(obj(spec.jobTemplate).spec).template).spec);
  return obj(obj(spec.template).spec);
}

// ---------------------------------------------------------------------------
// The pack: every policy, its config schema, and the config file semantics.

/** A policy as the pack lists it: how to build it from a level and a config. */
export interface PolicyDefinition {
  name: string;
  description: string;
  scope: "resource" | "stack";
  /** CrossGuard configSchema properties (JSON schema), with defaults. */
  configSchema: Record<string, ConfigProperty>;
  create(level: EnforcementLevel, config: Record<string, unknown>): PlatformPolicy;
}

function define(
  scope: "resource" | "stack",
  configSchema: Record<string, ConfigProperty>,
  factory: (level: EnforcementLevel, config: any) => PlatformPolicy,
): PolicyDefinition {
  const sample = factory("advisory", {});
  return { name: sample.name, description: sample.description, scope, configSchema, create: factory };
}

/** Every policy of the pack, in the order they are reported. */
export const POLICY_DEFINITIONS: PolicyDefinition[] = [
  define("resource", {}, noPublicIpOnNodes),
  define("resource", NO_OPEN_ADMIN_PORTS_SCHEMA, noOpenAdminPorts),
  define("stack", {}, apiServerSlbIntranet),
  define("resource", {}, deletionProtection),
  define("stack", ODD_MASTERS_SCHEMA, oddMasters),
  define("resource", APPROVED_INSTANCE_TYPES_SCHEMA, approvedInstanceTypes),
  define("stack", KUBERNETES_BASELINE_SCHEMA, kubernetesBaseline),
  define("stack", DEPLOYMENT_HYGIENE_SCHEMA, deploymentHygiene),
  define("stack", SINGLE_GLOBAL_INGRESS_SCHEMA, singleGlobalIngress),
  define("stack", SECRETS_NOT_PLAIN_SCHEMA, secretsNotPlain),
];

export const POLICY_NAMES = POLICY_DEFINITIONS.map((d) => d.name);

/** One policy's resolved level and config. */
export interface ResolvedPolicyConfig {
  level: EnforcementLevel;
  config: Record<string, unknown>;
}

const LEVELS: EnforcementLevel[] = ["advisory", "mandatory", "disabled"];

/**
 * Reads a policy pack config file the way the Pulumi CLI does: `all` sets every
 * policy's level; a policy's entry is a level string or an object with an
 * optional `enforcementLevel` and its config. Throws on unknown policies, keys
 * and wrong types, naming them (a typo must not silently turn a policy off).
 */
export function resolvePackConfig(file: unknown, source = "policy config"): Map<string, ResolvedPolicyConfig> {
  if (!isObj(file)) throw new Error(`${source}: must be a JSON object`);
  const levelOf = (v: unknown, where: string): EnforcementLevel => {
    if (typeof v !== "string" || !(LEVELS as string[]).includes(v)) throw new Error(`${source}: ${where} must be one of ${LEVELS.join(", ")}, got ${JSON.stringify(v)}`);
    return v as EnforcementLevel;
  };
  const all = file.all === undefined ? "advisory" : levelOf(file.all, "all");
  for (const key of Object.keys(file)) {
    if (key !== "all" && !POLICY_NAMES.includes(key)) throw new Error(`${source}: "${key}" is not a policy of this pack (${POLICY_NAMES.join(", ")})`);
  }
  const out = new Map<string, ResolvedPolicyConfig>();
  for (const def of POLICY_DEFINITIONS) {
    const entry = file[def.name];
    let level = all;
    const config: Record<string, unknown> = {};
    if (typeof entry === "string") level = levelOf(entry, def.name);
    else if (isObj(entry)) {
      for (const [k, v] of Object.entries(entry)) {
        if (k === "enforcementLevel") {
          level = levelOf(v, `${def.name}.enforcementLevel`);
          continue;
        }
        const schema = def.configSchema[k];
        if (!schema) throw new Error(`${source}: ${def.name}.${k} is not a setting of ${def.name} (${Object.keys(def.configSchema).join(", ") || "it takes none"})`);
        const problem = schemaProblem(schema, v);
        if (problem) throw new Error(`${source}: ${def.name}.${k} ${problem}`);
        config[k] = v;
      }
    } else if (entry !== undefined) throw new Error(`${source}: ${def.name} must be a level or an object`);
    out.set(def.name, { level, config });
  }
  return out;
}

function schemaProblem(s: ConfigProperty, v: unknown): string | undefined {
  const isInt = (x: unknown) => typeof x === "number" && Number.isInteger(x);
  switch (s.type) {
    case "string":
      if (typeof v !== "string") return "must be a string";
      if (s.enum && !s.enum.includes(v)) return `must be one of ${s.enum.join(", ")}`;
      return undefined;
    case "integer":
      if (!isInt(v)) return "must be a whole number";
      if (s.minimum !== undefined && (v as number) < s.minimum) return `must be at least ${s.minimum}`;
      return undefined;
    case "boolean":
      return typeof v === "boolean" ? undefined : "must be true or false";
    case "array":
      if (!Array.isArray(v)) return "must be a list";
      if (s.items?.type === "string" && !v.every((x) => typeof x === "string")) return "must be a list of strings";
      if (s.items?.type === "integer" && !v.every(isInt)) return "must be a list of whole numbers";
      return undefined;
    case "object":
      return isObj(v) ? undefined : "must be an object";
  }
}

/** Config merged over the schema's defaults (CrossGuard fills defaults too; this makes the rule independent of that). */
function withDefaults<C>(schema: Record<keyof C, ConfigProperty>, config: Partial<C>): C {
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(schema) as [string, ConfigProperty][]) out[k] = (config as Record<string, unknown>)[k] ?? s.default;
  return out as C;
}

/** The policies a config file turns on, built with their levels and configs. */
export function policiesFromConfig(resolved: Map<string, ResolvedPolicyConfig>): PlatformPolicy[] {
  return POLICY_DEFINITIONS.flatMap((def) => {
    const r = resolved.get(def.name) ?? { level: "advisory" as const, config: {} };
    return r.level === "disabled" ? [] : [def.create(r.level, r.config)];
  });
}

/** Runs every policy over a stack; resource policies see each resource once. */
export function runPolicies(stack: PolicyStack, policies: PlatformPolicy[]): Violation[] {
  const out: Violation[] = [];
  const stackUrn = stack.resources.find((r) => r.type === TYPES.stack)?.urn ?? `urn:pulumi:${stack.stack}::platform::${TYPES.stack}::platform-${stack.stack}`;
  for (const p of policies) {
    if (p.enforcementLevel === "disabled") continue;
    const level = p.enforcementLevel;
    if (isResourcePolicy(p)) {
      for (const r of stack.resources) p.validateResource(r, (message, urn) => out.push({ policy: p.name, level, urn: urn ?? r.urn, message }));
    } else {
      p.validateStack(stack, (message, urn) => out.push({ policy: p.name, level, urn: urn ?? stackUrn, message }));
    }
  }
  return out;
}
