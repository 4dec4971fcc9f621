// Change rules: a policy over what a plan *does* (replace, delete, stop), not
// over what it declares. It blocks, in prod (mandatory via config/prod.json,
// advisory in nonprod.json), a plan that replaces or deletes a master, a vswitch,
// the VPC, an SLB or an IPsec VPN connection, or that stops more than one master at once, and says how to
// make the change safely. It also blocks a change of the pod or service range of a
// built cluster (the Cluster component's `podCidr`/`serviceCidr` inputs), which no
// `pulumi up` can carry out: see clusterRangeChange below.
//
// Where it runs: CrossGuard in @pulumi/policy 1.21 cannot. A resource policy gets
// `{type, props, urn, name, opts, provider}` of the *new* state only
// (policy.d.ts ResourceValidationArgs; opts has protect/ignoreChanges/aliases but
// no old props and no planned operation), a stack policy the new resources only,
// and a deleted resource is never validated at all. So the pack registers the
// name (config files accept it, levels resolve the usual way) with a stack
// check that cannot fire, and the offline preview applies `validateChanges` to
// its diff on `--diff-from` (the PR job diffs every changed stack against main).
import { EnforcementLevel, PolicyResource, PolicyStack, ReportViolation, StackPolicy, TYPES } from "./policy";
import { CLUSTER_COMPONENT_TYPE } from "./nodes";

/** One planned change as the rule sees it: the offline diff's op per resource. */
export interface PlannedChange {
  urn: string;
  type: string;
  name: string;
  op: "create" | "update" | "stop" | "replace" | "delete";
  /** The changed input paths (for a replace: the ones that force it first). */
  paths: string[];
  /** The inputs (the new ones; the old ones for a delete). */
  props: Record<string, unknown>;
  /** The old inputs, for an update or a replace (absent when the diff does not have them). */
  oldProps?: Record<string, unknown>;
}

export interface ChangePolicy extends StackPolicy {
  /** `after`: every resource of the new plan (a rule that needs what did not change, e.g. the pools beside a moved one). */
  validateChanges(changes: PlannedChange[], report: ReportViolation, after?: PolicyResource[]): void;
}

const VSWITCH = "alicloud:vpc/switch:Switch";
const VPC = "alicloud:vpc/network:Network";

/** A master: an instance the program tags `platform:role: master` (nodePool.ts tags; cluster.ts sets the role). */
export function isMaster(c: Pick<PlannedChange, "type" | "props" | "name">): boolean {
  if (c.type !== TYPES.instance) return false;
  const tags = (c.props.tags ?? {}) as Record<string, unknown>;
  return tags["platform:role"] === "master" || (tags["platform:role"] === undefined && /-master-\d+$/.test(c.name));
}

// ---------------------------------------------------------------------------
// Pod and service ranges of a built cluster
//
// Refused, not shown as a rebuild: nothing in this program can rebuild a cluster in
// place (the CA and keys are protected in prod, masters keep fixed addresses, etcd holds
// every object), so the honest plan for a new range is a new cluster (stack). kubeadm
// writes the ranges once, at `kubeadm init`: podSubnet becomes kube-controller-manager's
// --cluster-cidr, from which each Node gets its spec.podCIDR once (the API refuses to
// change it afterwards), and serviceSubnet becomes kube-apiserver's
// --service-cluster-ip-range. `kubeadm upgrade` keeps them, and the masters' user data
// that carries them is ignored after first boot. A plan with a new range would move
// only what reads the config (flannel's net-conf.json, the VPC routes, the VPN selectors),
// and nodes outside the old range would get no pod CIDR.

/** The Cluster component's range inputs, by the config key that sets them. */
export const CLUSTER_RANGES: Record<string, string> = {
  podCidr: "platform:network.podCidr",
  serviceCidr: "platform:network.serviceCidr",
};

/** For a change of a built cluster's pod or service range: what it is, and the supported path. */
export function clusterRangeChange(c: PlannedChange): string[] {
  if (c.type !== CLUSTER_COMPONENT_TYPE || c.op !== "update" || !c.oldProps) return [];
  const out: string[] = [];
  for (const [input, key] of Object.entries(CLUSTER_RANGES)) {
    const was = c.oldProps[input];
    const now = c.props[input];
    // Absent before: the first plan that records the range, not a change of it.
    if (was === undefined || was === now || !c.paths.includes(input)) continue;
    const what =
      input === "podCidr"
        ? "kubeadm set the pod range at `kubeadm init` (kube-controller-manager --cluster-cidr; a Node's spec.podCIDR cannot change once set), " +
          "so this plan would move only flannel's network, the routes and the VPN selectors, and nodes outside the old range would get no pod CIDR"
        : "kubeadm set the service range at `kubeadm init` (kube-apiserver --service-cluster-ip-range, which `kubeadm upgrade` keeps), " +
          "so this plan would move only what reads the config, while Services keep their addresses from the old range";
    const extra =
      input === "serviceCidr"
        ? " To only add Service addresses, leave the key as it is and add a ServiceCIDR object (networking.k8s.io/v1, stable since Kubernetes 1.33)."
        : "";
    out.push(
      `${key} changes ${String(was)} -> ${String(now)} on the built cluster ${c.name}: ${what}. ` +
        "`pulumi up` cannot change it. The supported path is a new cluster: a new stack with the new range beside this one, " +
        `move the workloads, then retire this one (docs/runbooks/scale.md, "Changing the pod or service range").${extra}`,
    );
  }
  return out;
}

// ---------------------------------------------------------------------------
// safe-changes

const verb = (c: PlannedChange) => (c.op === "delete" ? "deletes" : `replaces (${c.paths.join(", ") || "renamed"})`);

export function safeChanges(enforcementLevel: EnforcementLevel): ChangePolicy {
  return {
    name: "safe-changes",
    description:
      "A plan must not replace or delete a master, a vswitch, the VPC, an SLB or an IPsec VPN connection, nor stop more than one master at once, nor change a built cluster's pod or service range (checked offline on --diff-from: CrossGuard sees no old state).",
    enforcementLevel,
    // CrossGuard has no old state to compare with: nothing to check here.
    validateStack(_s: PolicyStack, _report: ReportViolation) {},
    validateChanges(changes, report) {
      for (const c of changes) for (const m of clusterRangeChange(c)) report(m, c.urn);
      const gone = changes.filter((c) => c.op === "replace" || c.op === "delete");
      for (const c of gone) {
        if (isMaster(c)) {
          report(
            `${c.name}: the plan ${verb(c)} a master. Do it one master per change: drain it, remove its etcd member, ` +
              `then \`pulumi up --target ${c.urn}\` alone, wait for it to rejoin and etcd to be healthy, then the next master.`,
            c.urn,
          );
        } else if (c.type === VSWITCH) {
          report(
            `${c.name}: the plan ${verb(c)} a vswitch, which rebuilds every node, NAT entry and SLB in it (and fails while they exist). ` +
              "Keep platform:network.zones in its order and add a zone only at the end; move workloads to a new vswitch before retiring one.",
            c.urn,
          );
        } else if (c.type === VPC) {
          report(
            `${c.name}: the plan ${verb(c)} the VPC, i.e. the whole cluster. Build a new stack beside it and migrate; if this is a rename, add \`aliases\`.`,
            c.urn,
          );
        } else if (c.type === TYPES.slb || c.type === TYPES.slbLegacy) {
          report(
            `${c.name}: the plan ${verb(c)} an SLB: its address and id change, so clients, DNS and listeners break until rebuilt. ` +
              "Create the new SLB beside the old one in one change, move traffic, and delete the old one in a later change.",
            c.urn,
          );
        } else if (c.type === TYPES.vpnConnection) {
          report(
            `${c.name}: the plan ${verb(c)} an IPsec VPN connection: both tunnels go down and the routed ranges behind them are cut off until the new ` +
              "connection is up and the peer has been reconfigured. Do it in a maintenance window with the peer's side ready; a change inside the secret " +
              "tunnel list counts as a replacement offline, since only a tunnel's customerGatewayId replaces and the diff cannot see which field changed.",
            c.urn,
          );
        }
      }
      const stopped = changes.filter((c) => c.op === "stop" && isMaster(c));
      if (stopped.length > 1) {
        report(
          `the plan stops ${stopped.length} masters at once (${stopped.map((c) => c.name).join(", ")}: ${[...new Set(stopped.flatMap((c) => c.paths))].join(", ")}): ` +
            "etcd loses quorum and the api-server goes down. Roll it one master at a time: `pulumi up --target <master urn>`, wait for etcd health, then the next.",
          stopped[0].urn,
        );
      }
    },
  };
}

export function isChangePolicy(p: unknown): p is ChangePolicy {
  return typeof (p as ChangePolicy)?.validateChanges === "function";
}
