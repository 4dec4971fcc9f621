// Change rules: a policy over what a plan *does* (replace, delete, stop), not
// over what it declares. It blocks, in prod (mandatory via config/prod.json,
// advisory in nonprod.json), a plan that replaces or deletes a master, a vswitch,
// the VPC or an SLB, or that stops more than one master at once, and says how to
// make the change safely.
//
// Where it runs: CrossGuard in @pulumi/policy 1.21 cannot. A resource policy gets
// `{type, props, urn, name, opts, provider}` of the *new* state only
// (policy.d.ts ResourceValidationArgs; opts has protect/ignoreChanges/aliases but
// no old props and no planned operation), a stack policy the new resources only,
// and a deleted resource is never validated at all. So the pack registers the
// name (config files accept it, levels resolve the usual way) with a stack
// check that cannot fire, and the offline preview applies `validateChanges` to
// its diff on `--diff-from` (the PR job diffs every changed stack against main).
import { EnforcementLevel, PolicyStack, ReportViolation, StackPolicy, TYPES } from "./policy";

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
}

export interface ChangePolicy extends StackPolicy {
  validateChanges(changes: PlannedChange[], report: ReportViolation): void;
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
// safe-changes

const verb = (c: PlannedChange) => (c.op === "delete" ? "deletes" : `replaces (${c.paths.join(", ") || "renamed"})`);

export function safeChanges(enforcementLevel: EnforcementLevel): ChangePolicy {
  return {
    name: "safe-changes",
    description:
      "A plan must not replace or delete a master, a vswitch, the VPC or an SLB, nor stop more than one master at once (checked offline on --diff-from: CrossGuard sees no old state).",
    enforcementLevel,
    // CrossGuard has no old state to compare with: nothing to check here.
    validateStack(_s: PolicyStack, _report: ReportViolation) {},
    validateChanges(changes, report) {
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
