// How many resources must `pulumi up` create one after another? The engine
// creates a resource as soon as everything it depends on exists, so the
// wall-clock floor of a first deployment is the longest dependency chain, not
// the resource count. Scaling a pool must widen the graph, never deepen it:
// workers that waited on each other would make a 1000-node cluster take 1000
// ECS boot times to create.
import type { Plan, PlannedResource } from "../../components/preview/runtime";

export interface GraphDepth {
  /** Resources on the longest chain (1 for a resource that depends on nothing). 0 for an empty plan. */
  depth: number;
  /** URNs of that chain, first created first. */
  chain: string[];
}

/** `urn:...::name::id` -> `urn:...::name`: a provider reference is the provider's URN plus its id. */
export function providerUrn(ref: string): string {
  const i = ref.lastIndexOf("::");
  return i < 0 ? ref : ref.slice(0, i);
}

/**
 * What each created resource waits for, as created resources. Edges: each
 * `dependsOn` URN (the SDK already expands a dependency on a component to its
 * children; a component URN that still appears is expanded here to its custom
 * descendants) and the explicit `provider` reference. Reads (a StackReference)
 * and URNs that are not in the plan (default providers) create nothing and
 * carry no edge.
 */
export function dependencyGraph(plan: Pick<Plan, "resources">): Map<string, string[]> {
  const byUrn = new Map<string, PlannedResource>();
  const children = new Map<string, string[]>();
  for (const r of plan.resources) {
    byUrn.set(r.urn, r);
    if (r.parent) {
      const list = children.get(r.parent) ?? [];
      list.push(r.urn);
      children.set(r.parent, list);
    }
  }
  // A component stands for its custom descendants.
  const customsUnder = (urn: string): string[] => {
    const out: string[] = [];
    const stack = [urn];
    while (stack.length) {
      const u = stack.pop()!;
      for (const c of children.get(u) ?? []) {
        if (creates(byUrn.get(c)!)) out.push(c);
        stack.push(c);
      }
    }
    return out;
  };
  const expanded = new Map<string, string[]>();
  const expand = (urn: string): string[] => {
    const r = byUrn.get(urn);
    if (!r || (r.custom && !creates(r))) return [];
    if (r.custom) return [urn];
    let hit = expanded.get(urn);
    if (!hit) expanded.set(urn, (hit = customsUnder(urn)));
    return hit;
  };
  const graph = new Map<string, string[]>();
  for (const r of plan.resources) {
    if (!creates(r)) continue;
    const deps = new Set<string>();
    for (const d of r.dependsOn) for (const u of expand(d)) deps.add(u);
    if (r.provider) for (const u of expand(byUrn.has(r.provider) ? r.provider : providerUrn(r.provider))) deps.add(u);
    deps.delete(r.urn);
    graph.set(r.urn, [...deps]);
  }
  return graph;
}

/** A read (operation "read") is looked up, not created: it is no step of a deployment. */
function creates(r: PlannedResource): boolean {
  return r.custom && r.operation !== "read";
}

/**
 * The longest chain over the created resources of `dependencyGraph`.
 * Ties go to the resource registered first, so the chain is deterministic.
 * Throws on a cycle, naming a resource on it.
 */
export function graphDepth(plan: Pick<Plan, "resources">): GraphDepth {
  const graph = dependencyGraph(plan);
  const order = new Map<string, number>();
  plan.resources.forEach((r, i) => order.set(r.urn, i));
  const edges = (urn: string) => graph.get(urn)!;

  // Longest path by memoised depth-first search, iterative so a deep graph
  // cannot overflow the stack.
  const depthOf = new Map<string, number>();
  const next = new Map<string, string | undefined>();
  const onPath = new Set<string>();
  for (const root of plan.resources) {
    if (!graph.has(root.urn) || depthOf.has(root.urn)) continue;
    const stack: { urn: string; deps: string[]; i: number }[] = [{ urn: root.urn, deps: edges(root.urn), i: 0 }];
    onPath.add(root.urn);
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top.i < top.deps.length) {
        const d = top.deps[top.i++];
        if (depthOf.has(d)) continue;
        if (onPath.has(d)) throw new Error(`graphDepth: dependency cycle through ${d}`);
        onPath.add(d);
        stack.push({ urn: d, deps: edges(d), i: 0 });
        continue;
      }
      let best: string | undefined;
      for (const d of top.deps) {
        const better = best === undefined || depthOf.get(d)! > depthOf.get(best)! || (depthOf.get(d) === depthOf.get(best) && order.get(d)! < order.get(best)!);
        if (better) best = d;
      }
      depthOf.set(top.urn, 1 + (best === undefined ? 0 : depthOf.get(best)!));
      next.set(top.urn, best);
      onPath.delete(top.urn);
      stack.pop();
    }
  }

  let end: string | undefined;
  for (const r of plan.resources) {
    if (!graph.has(r.urn)) continue;
    if (end === undefined || depthOf.get(r.urn)! > depthOf.get(end)!) end = r.urn;
  }
  if (end === undefined) return { depth: 0, chain: [] };
  const chain: string[] = [];
  for (let u: string | undefined = end; u !== undefined; u = next.get(u)) chain.push(u);
  return { depth: depthOf.get(end)!, chain: chain.reverse() };
}

/** `alicloud:ecs/instance:Instance::prod1-general-3` style label for a URN: the last type segment and the name. */
export function shortUrn(urn: string): string {
  const parts = urn.split("::");
  const name = parts.slice(3).join("::");
  const type = (parts[2] ?? "").split("$").pop() ?? "";
  return `${type}::${name}`;
}
