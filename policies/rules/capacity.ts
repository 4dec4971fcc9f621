// Capacity under pinned apps (docs/threat-model.md, T18): an app pinned to a pool
// (`platform:apps.<app>.pool`: the pool's labels as nodeSelector, its taints tolerated)
// must have nodes it can run on. One function decides it, `strandedApps`, and three
// places ask it: config validation (a pinned pool at count 0), the pack's
// `pinned-capacity` rule over the plan (the pools' NodePool components carry their labels
// and taints, their instances give the count; offline on --diff-from also the labels and
// taints the running nodes joined with), and `npm run scale-in` (components/ops/scaleIn.ts)
// for the new count.
//
// Why a relabel or an untaint strands pods: a node gets its labels and taints once, when it
// joins (kubeadm's nodeRegistration, from user data that runs at first boot and is ignored
// afterwards), while the pinned Deployment follows the stack file at once. So after a relabel
// the pods select labels no running node has, and after an untaint they no longer tolerate
// the taint every running node of the pool still carries.
import { EnforcementLevel, isObj, obj, PolicyStack, ReportViolation, str, TYPES } from "./policy";
import type { ChangePolicy } from "./changes";

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

/** A pool as pods see it: how many nodes, with which labels and taints. */
export interface PoolShape {
  name: string;
  count: number;
  labels?: Record<string, string>;
  taints?: Taint[];
}

/** The parts of a pod spec scheduling reads here. */
export interface PodPlacement {
  nodeSelector?: Record<string, string>;
  tolerations?: { key?: string; operator?: string; value?: string; effect?: string }[];
}

function tolerates(tolerations: NonNullable<PodPlacement["tolerations"]>, taint: Taint): boolean {
  return tolerations.some(
    (t) =>
      (t.effect === undefined || t.effect === taint.effect) &&
      (t.operator === "Exists" ? t.key === undefined || t.key === taint.key : t.key === taint.key && (t.value ?? "") === (taint.value ?? "")),
  );
}

/** A pod can run on a pool when it tolerates every NoSchedule/NoExecute taint and its nodeSelector is a subset of the labels. */
export function canRunOn(pod: PodPlacement, pool: Pick<PoolShape, "labels" | "taints">): boolean {
  const hard = (pool.taints ?? []).filter((t) => t.effect !== "PreferNoSchedule");
  if (!hard.every((t) => tolerates(pod.tolerations ?? [], t))) return false;
  return Object.entries(pod.nodeSelector ?? {}).every(([k, v]) => pool.labels?.[k] === v);
}

/**
 * One line per app that no node can take: none of `pools` with nodes (count > 0) fits its pod spec.
 * `where` says what the pools are (the stack file, the running nodes, the count after scale-in).
 */
export function strandedApps(apps: { app: string; pod: PodPlacement }[], pools: PoolShape[], where: string): string[] {
  const out: string[] = [];
  for (const { app, pod } of apps) {
    if (pools.some((p) => p.count > 0 && canRunOn(pod, p))) continue;
    const selector = Object.entries(pod.nodeSelector ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    const shapes = pools.map((p) => `${p.name}: ${p.count} node${p.count === 1 ? "" : "s"}`).join(", ");
    out.push(`${app} (nodeSelector ${selector || "none"}) has no node to run on ${where} (${shapes || "no pools"}); its pods would stay Pending`);
  }
  return out;
}

// ---------------------------------------------------------------------------
// pinned-capacity (T18)

/** The NodePool component (components/cluster/nodePool.ts), whose inputs carry the pool's name, labels and taints. */
export const NODE_POOL_TYPE = "platform:compute:NodePool";

type Planned = { type: string; urn?: string; name: string; props: Record<string, unknown> };

function taintsOf(v: unknown): Taint[] {
  return Array.isArray(v) ? v.filter(isObj).map((t) => ({ key: String(t.key), value: str(t.value), effect: String(t.effect) })) : [];
}

/** A planned NodePool component as a pool shape with `count` nodes, or undefined for a pool without placement (masters, the HAProxy pair). */
export function poolShape(props: Record<string, unknown>, count: number): PoolShape | undefined {
  const name = str(props.pool);
  if (name === undefined || !isObj(props.labels)) return undefined;
  return { name, count, labels: props.labels as Record<string, string>, taints: taintsOf(props.taints) };
}

/** The planned instances of a pool (their `platform:pool` tag; nodePool.ts sets it). */
function instancesOf(resources: Planned[], pool: string): Planned[] {
  return resources.filter((r) => r.type === TYPES.instance && obj(r.props.tags)["platform:pool"] === pool);
}

/** The plan's pools, each counted by its instances. */
export function plannedPools(resources: Planned[]): PoolShape[] {
  return resources.filter((r) => r.type === NODE_POOL_TYPE).flatMap((r) => poolShape(r.props, instancesOf(resources, str(r.props.pool) ?? "").length) ?? []);
}

/** Deployments pinned to a pool (a nodeSelector), with the name an operator knows them by. */
export function pinnedApps(resources: Planned[]): { app: string; pod: PodPlacement }[] {
  return resources.flatMap((r) => {
    if (r.type !== TYPES.deployment) return [];
    const pod = obj(obj(obj(r.props.spec).template).spec) as PodPlacement;
    if (!isObj(pod.nodeSelector) || Object.keys(pod.nodeSelector).length === 0) return [];
    const meta = obj(r.props.metadata);
    return [{ app: `${str(meta.namespace) ?? "default"}/${str(meta.name) ?? r.name}`, pod }];
  });
}

export function pinnedCapacity(enforcementLevel: EnforcementLevel): ChangePolicy {
  return {
    name: "pinned-capacity",
    description:
      "Every app pinned to a pool (a nodeSelector) has nodes to run on: no pinned pool without instances; offline on --diff-from, no relabel or untaint of a pool whose running nodes keep the labels and taints they joined with (T18). The same check as `npm run scale-in`.",
    enforcementLevel,
    validateStack(s: PolicyStack, report: ReportViolation) {
      for (const m of strandedApps(pinnedApps(s.resources), plannedPools(s.resources), "in the plan")) report(m);
    },
    validateChanges(changes, report, after) {
      if (after === undefined) return;
      const moved = changes.filter((c) => {
        if (c.type !== NODE_POOL_TYPE || c.op !== "update" || !c.oldProps) return false;
        const was = poolShape(c.oldProps, 0);
        const now = poolShape(c.props, 0);
        return was !== undefined && now !== undefined && JSON.stringify([was.labels, was.taints]) !== JSON.stringify([now.labels, now.taints]);
      });
      if (moved.length === 0) return;
      // The running nodes of a moved pool keep the old shape; only instances this change creates join with the new one.
      const joining = new Set(changes.filter((c) => c.type === TYPES.instance && (c.op === "create" || c.op === "replace")).map((c) => c.urn));
      const movedUrns = new Set(moved.map((c) => c.urn));
      const pools = [
        ...moved.flatMap((c) => {
          const nodes = instancesOf(after, str(c.props.pool) ?? "");
          const fresh = nodes.filter((n) => n.urn !== undefined && joining.has(n.urn)).length;
          const was = poolShape(c.oldProps!, nodes.length - fresh)!;
          const now = poolShape(c.props, fresh)!;
          return [was, { ...now, name: `${now.name} (new nodes)` }];
        }),
        ...plannedPools(after.filter((r) => !(r.type === NODE_POOL_TYPE && movedUrns.has(r.urn)))),
      ];
      const names = moved.map((c) => str(c.props.pool)).join(", ");
      for (const m of strandedApps(pinnedApps(after), pools, `on the running nodes (pool ${names} keeps the labels and taints its nodes joined with)`))
        report(
          `${m}. A node takes its labels and taints once, at join: add a new pool with the new labels/taints, move the app there, then set the old pool's count to 0`,
          moved[0].urn,
        );
    },
  };
}
