// Guided scale-in of a worker pool: what an operator runs, in order, to lower a pool's
// count in a stack. A pool removes its highest indexes (NodePool), so the nodes that go
// are known; their instance ids come from the offline plan (deterministic mock ids) or,
// for a real stack, from `pulumi stack export` JSON. In prod the instances carry ECS
// deletion protection, which `pulumi up` cannot override, so it is lifted first.
//
// The PDB check, defined: an app "can run on" a pool when its pod template tolerates
// every NoSchedule/NoExecute taint of the pool and its nodeSelector is a subset of the
// pool's labels. For each such app with a PodDisruptionBudget, the pods a drain must
// keep running are replicas minus the budget's allowed disruptions (maxUnavailable
// rounded up, as the disruption controller does; or minAvailable rounded up). Their CPU
// and memory requests, summed over those apps, must fit into 90% (kubelet and system
// reservations, DaemonSets) of the capacity of the nodes that remain: the pool at its
// new count plus every other pool all of those apps can run on. Otherwise the evicted
// pods have nowhere to go, the drain waits on the budgets forever, and the count is
// refused. The replicas are the planned ones; an HPA running more pods needs more room.
import * as fs from "fs";
import type { PlannedResource } from "../preview/runtime";
import type { NodePoolConfig } from "../config/stackConfig";
import { nodeName } from "../cluster/nodePool";
import { canRunOn, pinnedApps, strandedApps } from "../../policies/rules/capacity";

export interface ScaleInRequest {
  stack: string;
  region: string;
  pool: string;
  newCount: number;
  /** The stack's pools as configured. */
  pools: NodePoolConfig[];
  /** Planned resources (offline preview of the stack). */
  plan: PlannedResource[];
  /** Prod: instances are deletion-protected. */
  isProd: boolean;
  /** node name -> instance id from `pulumi stack export`; overrides the plan's mock ids. */
  stateIds?: Map<string, string>;
}

export interface Demand {
  app: string;
  keep: number;
  cpu: number;
  memoryGi: number;
}

export interface ScaleInPlan {
  leaving: { name: string; id: string }[];
  demand: Demand[];
  /** Smallest count the PDB check allows. */
  minimumCount: number;
  lines: string[];
}

/** vCPU and GiB of an ECS type: size large = 2 vCPU, xlarge = 4, Nxlarge = 4N; memory per vCPU by family (c 2, g 4, r 8). */
export function instanceCapacity(type: string): { cpu: number; memoryGi: number } {
  const m = /^ecs\.([a-z]+)\d+[a-z]*\.(\d*)(x?large)$/.exec(type);
  const perCpu: Record<string, number> = { c: 2, g: 4, r: 8 };
  const family = m?.[1]?.[0];
  if (!m || family === undefined || perCpu[family] === undefined || (m[2] !== "" && m[3] !== "xlarge")) {
    throw new Error(`scale-in: cannot size instance type ${JSON.stringify(type)} (known families: ecs.c*, ecs.g*, ecs.r*)`);
  }
  const cpu = m[3] === "large" ? 2 : 4 * (m[2] === "" ? 1 : Number(m[2]));
  return { cpu, memoryGi: cpu * perCpu[family] };
}

const ALLOCATABLE = 0.9;

function quantity(q: unknown, field: string): number {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti)?$/.exec(String(q ?? "0"));
  if (!m) throw new Error(`scale-in: cannot read quantity ${JSON.stringify(q)} at ${field}`);
  const f: Record<string, number> = { "": 1, m: 0.001, Ki: 1 / 2 ** 20, Mi: 1 / 1024, Gi: 1, Ti: 1024 };
  return Number(m[1]) * f[m[2] ?? ""];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- planned Kubernetes inputs, read defensively
type Obj = Record<string, any>;

function matches(selector: Obj | undefined, labels: Obj | undefined): boolean {
  const want = (selector?.matchLabels ?? {}) as Record<string, string>;
  return Object.keys(want).length > 0 && Object.entries(want).every(([k, v]) => labels?.[k] === v);
}

/** Pods a budget keeps during a drain. */
export function podsToKeep(replicas: number, pdbSpec: Obj): number {
  const scaled = (v: unknown) => (typeof v === "string" && v.endsWith("%") ? Math.ceil((replicas * Number(v.slice(0, -1))) / 100) : Number(v));
  if (pdbSpec.minAvailable !== undefined) return Math.min(replicas, scaled(pdbSpec.minAvailable));
  if (pdbSpec.maxUnavailable !== undefined) return Math.max(0, replicas - scaled(pdbSpec.maxUnavailable));
  return 0;
}

/** Demand of the PDB-protected pods of apps that can run on `pool`, and the pools all of them can use. */
function demandOf(req: ScaleInRequest, target: NodePoolConfig): { demand: Demand[]; sharedPools: NodePoolConfig[] } {
  const deployments = req.plan.filter((r) => r.type === "kubernetes:apps/v1:Deployment");
  const pdbs = req.plan.filter((r) => r.type === "kubernetes:policy/v1:PodDisruptionBudget");
  const demand: Demand[] = [];
  let shared = req.pools.filter((p) => p.name !== target.name);
  for (const d of deployments) {
    const meta = d.inputs.metadata as Obj;
    const spec = d.inputs.spec as Obj;
    const podSpec = spec.template?.spec ?? {};
    if (!canRunOn(podSpec, target)) continue;
    const pdb = pdbs.find(
      (p) => (p.inputs.metadata as Obj)?.namespace === meta.namespace && matches((p.inputs.spec as Obj)?.selector, spec.template?.metadata?.labels),
    );
    if (!pdb) continue;
    const keep = podsToKeep(Number(spec.replicas ?? 1), pdb.inputs.spec as Obj);
    const containers = [...(podSpec.containers ?? []), ...(podSpec.initContainers ?? []).filter((c: Obj) => c.restartPolicy === "Always")];
    const at = `${meta.namespace}/${meta.name}`;
    const cpu = containers.reduce((n: number, c: Obj) => n + quantity(c.resources?.requests?.cpu, `${at} cpu`), 0);
    const memoryGi = containers.reduce((n: number, c: Obj) => n + quantity(c.resources?.requests?.memory, `${at} memory`), 0);
    demand.push({ app: at, keep, cpu: keep * cpu, memoryGi: keep * memoryGi });
    shared = shared.filter((p) => canRunOn(podSpec, p));
  }
  return { demand, sharedPools: demand.length > 0 ? shared : [] };
}

function round(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/** The scale-in plan, or an error naming why the count is refused. */
export function planScaleIn(req: ScaleInRequest): ScaleInPlan {
  const key = `Pulumi.${req.stack}.yaml: platform:nodePools[name=${req.pool}].count`;
  const target = req.pools.find((p) => p.name === req.pool);
  if (!target) throw new Error(`platform:nodePools: stack ${req.stack} has no pool ${req.pool} (pools: ${req.pools.map((p) => p.name).join(", ")})`);
  if (!Number.isInteger(req.newCount) || req.newCount < 0) throw new Error(`${key}: the new count must be a whole number >= 0, got ${req.newCount}`);
  if (req.newCount >= target.count)
    throw new Error(`${key}: is ${target.count}; ${req.newCount} is not a scale-in (the new count must be from 0 to ${target.count - 1})`);

  // T18: an app pinned to this pool (and to no other with nodes) keeps no node at the new count, PDB or not;
  // the pack's pinned-capacity rule and config validation ask the same function.
  const after = req.pools.map((p) => (p.name === target.name ? { ...p, count: req.newCount } : p));
  const stranded = strandedApps(pinnedApps(req.plan.map((r) => ({ type: r.type, name: r.name, props: r.inputs }))), after, `after the scale-in`);
  if (stranded.length > 0) throw new Error(`${key}: refused: ${stranded.join("; ")}`);

  const { demand, sharedPools } = demandOf(req, target);
  const cap = instanceCapacity(target.instanceType);
  const otherCpu = sharedPools.reduce((n, p) => n + p.count * instanceCapacity(p.instanceType).cpu * ALLOCATABLE, 0);
  const otherMem = sharedPools.reduce((n, p) => n + p.count * instanceCapacity(p.instanceType).memoryGi * ALLOCATABLE, 0);
  const needCpu = demand.reduce((n, d) => n + d.cpu, 0);
  const needMem = demand.reduce((n, d) => n + d.memoryGi, 0);
  const minimumCount = Math.max(
    0,
    Math.ceil((needCpu - otherCpu) / (cap.cpu * ALLOCATABLE) - 1e-9),
    Math.ceil((needMem - otherMem) / (cap.memoryGi * ALLOCATABLE) - 1e-9),
  );
  const needs = `${round(needCpu)} CPU / ${round(needMem)}Gi for ${demand.reduce((n, d) => n + d.keep, 0)} PDB-protected pods (${demand.map((d) => `${d.app} keeps ${d.keep}`).join(", ") || "none"})`;
  if (req.newCount < minimumCount) {
    throw new Error(
      `${key}: refused: ${req.newCount} nodes cannot hold what the PDBs keep running: ${needs}; the pool needs at least ${minimumCount} ${target.instanceType} nodes`,
    );
  }

  const leaving = [];
  for (let i = target.count - 1; i >= req.newCount; i--) {
    const name = nodeName(req.stack, req.pool, i);
    const id = req.stateIds ? req.stateIds.get(name) : req.plan.find((r) => r.type === "alicloud:ecs/instance:Instance" && r.name === name)?.id;
    if (id === undefined) throw new Error(`scale-in: no instance id for ${name} in the ${req.stateIds ? "stack export" : "plan"}`);
    leaving.push({ name, id });
  }
  const lines = [
    `Scale-in of ${req.stack} pool ${req.pool}: ${target.count} -> ${req.newCount} (removes ${leaving.map((l) => l.name).join(", ")})`,
    `PDB check: apps that can run on ${req.pool} need ${needs}; at least ${minimumCount} nodes: OK`,
    "",
    "1. Drain the nodes that go, one at a time (each waits on the PDBs):",
    ...leaving.map((l) => `   kubectl drain ${l.name} --ignore-daemonsets --delete-emptydir-data --timeout=20m`),
  ];
  let n = 2;
  if (req.isProd) {
    lines.push("", `${n}. Lift ECS deletion protection (pulumi up cannot delete a protected instance):`);
    n += 1;
    lines.push(
      ...leaving.map((l) => `   aliyun --region ${req.region} ecs ModifyInstanceAttribute --InstanceId ${l.id} --DeletionProtection false   # ${l.name}`),
    );
  }
  lines.push("", `${n}. Edit the count (a PR; CI previews the deletion of exactly these instances):`, `   ${key}: ${target.count} -> ${req.newCount}`);
  lines.push("", `${n + 1}. After pulumi up, remove the Node objects:`, `   kubectl delete node ${leaving.map((l) => l.name).join(" ")}`);
  return { leaving, demand, minimumCount, lines };
}

/** node name -> instance id from `pulumi stack export` JSON. */
export function idsFromStackExport(file: string): Map<string, string> {
  let doc: Obj;
  try {
    doc = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`--state ${file}: ${(e as Error).message}`, { cause: e });
  }
  const resources = doc?.deployment?.resources;
  if (!Array.isArray(resources)) throw new Error(`--state ${file}: not a \`pulumi stack export\` document (no deployment.resources)`);
  const ids = new Map<string, string>();
  for (const r of resources) {
    if (r.type !== "alicloud:ecs/instance:Instance" || typeof r.id !== "string") continue;
    const name = r.outputs?.instanceName ?? r.inputs?.instanceName ?? String(r.urn).split("::").pop();
    ids.set(name, r.id);
  }
  return ids;
}
