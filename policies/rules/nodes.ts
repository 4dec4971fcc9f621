// Node rules: how ECS instances are exposed, protected, counted, sized and versioned.
import { isEnv, isProdEnv } from "../imageTags";
import {
  ConfigProperty,
  EnforcementLevel,
  isSlb,
  PolicyResource,
  PolicyStack,
  ResourcePolicy,
  StackPolicy,
  stackOfUrn,
  str,
  tags,
  TYPES,
  obj,
  withDefaults,
} from "./policy";

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
  return s.resources.filter((r) => isMasterInstance(r, s.stack));
}

/**
 * Whether one ECS instance is a master: tagged `platform:role: master`, or named `<stack>-master-<n>`
 * (`stack` defaults to the one in its URN), so a resource policy can tell it alone, before it is created.
 */
export function isMasterInstance(r: PolicyResource, stack = stackOfUrn(r.urn)): boolean {
  const named = new RegExp(`^${stack.replace(/[^A-Za-z0-9]/g, "\\$&")}-master-\\d+$`);
  return r.type === TYPES.instance && (tags(r)["platform:role"] === "master" || named.test(r.name));
}

export function oddMasters(enforcementLevel: EnforcementLevel, config: Partial<OddMastersConfig> = {}): StackPolicy {
  const c = withDefaults(ODD_MASTERS_SCHEMA, config);
  return {
    name: "odd-masters",
    description: "The cluster runs an odd number of masters (etcd quorum), at least the configured minimum.",
    enforcementLevel,
    validateStack(s, report) {
      const n = masterInstances(s).length;
      if (n % 2 === 0)
        report(`${s.stack} has ${n} masters: an even count tolerates no more failures than ${Math.max(n - 1, 0)} (etcd needs a majority); use an odd number`);
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

/** The pack config file a stack runs under (as the workflows and the offline preview pick it). */
export function packConfigFileOf(stack: string): string {
  return isEnv(stack) && isProdEnv(stack) ? "policies/config/prod.json" : "policies/config/nonprod.json";
}

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
        else if (!c.kubernetesVersions.includes(v)) {
          report(
            `${n.name}: Kubernetes ${v} is not an approved version (${c.kubernetesVersions.join(", ")}); ` +
              `to upgrade, add it to kubernetes-baseline.kubernetesVersions in ${packConfigFileOf(s.stack)} (the pack config ${s.stack} runs under) in the same PR`,
            n.urn,
          );
        }
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
        if (backend !== c.flannelBackend)
          report(`${cm.name}: flannel Backend.Type is ${JSON.stringify(backend ?? "unset")}; the baseline is ${c.flannelBackend}`, cm.urn);
      }
    },
  };
}

// ---------------------------------------------------------------------------
// kubernetes-version-skew

/** The component type that declares the stack's configured Kubernetes version (its `kubernetesVersion` input). */
export const CLUSTER_COMPONENT_TYPE = "platform:cluster:Cluster";

export interface KubernetesVersionSkewConfig {
  /** Most minors the config version and a node's version tag may differ by. */
  maxMinorSkew: number;
}

export const KUBERNETES_VERSION_SKEW_SCHEMA: Record<keyof KubernetesVersionSkewConfig, ConfigProperty> = {
  maxMinorSkew: {
    type: "integer",
    minimum: 0,
    description: "Most minor versions between the config's Kubernetes version and a node's platform:kubernetes-version tag",
    default: 1,
  },
};

function minorOf(v: unknown): number | undefined {
  const m = /^v?1\.(\d+)\.\d+$/.exec(String(v ?? ""));
  return m ? Number(m[1]) : undefined;
}

/**
 * kubeadm upgrades one minor at a time, so a config version more than one minor away
 * from what the nodes run (their version tag) means a skipped upgrade: new nodes would
 * install a kubelet the control plane does not support, or vice versa.
 * Note: the program stamps every node's tag from the config, so in its own plans the two
 * only part when a node's tag is set elsewhere (or the code stops stamping it); letting
 * the tag record what each node runs (ignoreChanges on it, re-tagged by the upgrade
 * procedure) would make this the guard against a skipped upgrade.
 */
export function kubernetesVersionSkew(enforcementLevel: EnforcementLevel, config: Partial<KubernetesVersionSkewConfig> = {}): StackPolicy {
  const c = withDefaults(KUBERNETES_VERSION_SKEW_SCHEMA, config);
  return {
    name: "kubernetes-version-skew",
    description:
      "The stack's configured Kubernetes version and every node's platform:kubernetes-version tag differ by at most one minor (kubeadm upgrades one minor at a time).",
    enforcementLevel,
    validateStack(s, report) {
      for (const cluster of s.resources.filter((r) => r.type === CLUSTER_COMPONENT_TYPE)) {
        const declared = str(cluster.props.kubernetesVersion);
        const want = minorOf(declared);
        if (declared === undefined || want === undefined) continue;
        for (const n of s.resources.filter((r) => r.type === TYPES.instance)) {
          const v = tags(n)[KUBERNETES_VERSION_TAG];
          const have = minorOf(v);
          if (have === undefined) continue; // kubernetes-baseline reports missing tags
          if (Math.abs(want - have) > c.maxMinorSkew) {
            report(
              `${n.name}: runs Kubernetes ${String(v)} (tag ${KUBERNETES_VERSION_TAG}) but the config says ${declared}; more than ${c.maxMinorSkew} minor apart, upgrade one minor at a time (npm run upgrade-plan)`,
              n.urn,
            );
          }
        }
      }
    },
  };
}
