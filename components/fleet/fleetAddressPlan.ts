// The fleet's address plan, checked as a whole. Each stack validates its own ranges
// (components/config.ts); what no single stack can see is a clash with another stack
// it reaches over IPsec. Routing is by destination range, so wherever two clusters'
// ranges meet in one route table they must not overlap:
//   - at either end of a direct link;
//   - at a hub: a cluster (or the data centre) linked to both routes to both, so two
//     spokes of the same hub clash even though they are not linked to each other.
// The data centre is one more node of that graph, with its subnets as its ranges.
// Clusters further apart (three hops or more) may reuse ranges: nothing routes between them.
//
// Pure. Property-tested in test/fleet/fleetAddressPlan.test.ts.

import { overlaps, parseCidr } from "../../policies/rules/cidr";

/** One stack's ranges, as set in `platform:network` of Pulumi.<stack>.yaml. */
export interface ClusterAddressPlan {
  /** Stack name, e.g. "prod1". */
  stack: string;
  /** `platform:network.vpcCidr`: the nodes, SLBs and HAProxies. */
  vpcCidr: string;
  /** `platform:network.podCidr`: flannel's pod range, routed over IPsec for management traffic. */
  podCidr: string;
  /** `platform:network.serviceCidr`: cluster IPs; reachable across a link through kube-proxy on any node. */
  serviceCidr: string;
}

export interface FleetAddressPlan {
  /** Every stack of the fleet, each once. */
  clusters: ClusterAddressPlan[];
  /** IPsec links, pairs of stack names (order within a pair does not matter). */
  links: [string, string][];
  /** Data-centre subnets, and which stacks link to the DC. */
  datacenter?: { subnets: string[]; linkedStacks: string[] };
}

const KEYS = ["vpcCidr", "podCidr", "serviceCidr"] as const;
type RangeKey = (typeof KEYS)[number];

/** The data centre's node in the link graph; "" can never be a stack name. */
const DC = "";

function valid(cidr: unknown): boolean {
  try {
    parseCidr(String(cidr));
    return true;
  } catch {
    return false;
  }
}

function cidrError(cidr: unknown): string {
  try {
    parseCidr(String(cidr));
    return "";
  } catch (e) {
    return (e as Error).message;
  }
}

/** Stack names in plain code-unit order, the data centre last: the same on every machine. */
function byName(a: string, b: string): number {
  if (a === b) return 0;
  if (a === DC) return 1;
  if (b === DC) return -1;
  return a < b ? -1 : 1;
}

function nodeName(n: string): string {
  return n === DC ? "datacenter" : n;
}

/**
 * Every problem with the fleet's address plan, sorted, without duplicates; [] when fine.
 * Messages name both stacks, both config keys and both ranges, e.g.
 * `prod1 platform:network.podCidr 10.244.0.0/16 overlaps prod2 platform:network.podCidr 10.244.0.0/16 (linked via host)`.
 */
export function checkFleetAddressPlan(plan: FleetAddressPlan): string[] {
  const problems = new Set<string>();
  const clusters = new Map<string, ClusterAddressPlan>();

  for (const c of plan.clusters) {
    if (typeof c.stack !== "string" || c.stack.length === 0) {
      problems.add(`a cluster in the address plan has no stack name`);
      continue;
    }
    if (clusters.has(c.stack)) {
      problems.add(`stack ${c.stack} appears more than once in the address plan`);
      continue;
    }
    clusters.set(c.stack, c);
    for (const k of KEYS) {
      if (!valid(c[k])) problems.add(`${c.stack} platform:network.${k}: ${cidrError(c[k])}`);
    }
  }

  const neighbours = new Map<string, Set<string>>([[DC, new Set()]]);
  for (const s of clusters.keys()) neighbours.set(s, new Set());
  const connect = (a: string, b: string) => {
    neighbours.get(a)!.add(b);
    neighbours.get(b)!.add(a);
  };

  for (const [a, b] of plan.links) {
    const unknown = [a, b].filter((s) => !clusters.has(s));
    if (unknown.length > 0) {
      for (const u of unknown) problems.add(`link ${a} <-> ${b}: unknown stack ${JSON.stringify(u)}`);
    } else if (a === b) {
      problems.add(`link ${a} <-> ${b} links a stack to itself`);
    } else {
      connect(a, b);
    }
  }

  const dcSubnets: string[] = [];
  if (plan.datacenter) {
    for (const s of plan.datacenter.subnets) {
      if (valid(s)) dcSubnets.push(s);
      else problems.add(`datacenter subnet: ${cidrError(s)}`);
    }
    for (const s of plan.datacenter.linkedStacks) {
      if (clusters.has(s)) connect(DC, s);
      else problems.add(`datacenter.linkedStacks: unknown stack ${JSON.stringify(s)}`);
    }
  }

  /** How a and b come to share a route table, or undefined when nothing routes between them. */
  const relation = (a: string, b: string): { direct: boolean; hubs: string[] } | undefined => {
    const na = neighbours.get(a)!;
    if (na.has(b)) return { direct: true, hubs: [] };
    const nb = neighbours.get(b)!;
    const hubs = [...na].filter((h) => nb.has(h)).sort(byName);
    return hubs.length > 0 ? { direct: false, hubs } : undefined;
  };
  const via = (hubs: string[]) => `linked via ${hubs.map(nodeName).join(", ")}`;
  const ranges = (c: ClusterAddressPlan) => KEYS.filter((k) => valid(c[k])).map((k): [RangeKey, string] => [k, c[k]]);

  const names = [...clusters.keys()].sort(byName);
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const rel = relation(names[i], names[j]);
      if (!rel) continue;
      const reason = rel.direct ? "linked directly" : via(rel.hubs);
      const a = clusters.get(names[i])!;
      const b = clusters.get(names[j])!;
      for (const [ka, ra] of ranges(a)) {
        for (const [kb, rb] of ranges(b)) {
          if (overlaps(ra, rb)) {
            problems.add(`${a.stack} platform:network.${ka} ${ra} overlaps ${b.stack} platform:network.${kb} ${rb} (${reason})`);
          }
        }
      }
    }
  }

  for (const name of names) {
    const rel = relation(name, DC);
    if (!rel) continue;
    const suffix = rel.direct ? "" : ` (${via(rel.hubs)})`;
    for (const [k, r] of ranges(clusters.get(name)!)) {
      for (const subnet of dcSubnets) {
        if (overlaps(r, subnet)) problems.add(`${name} platform:network.${k} ${r} overlaps datacenter subnet ${subnet}${suffix}`);
      }
    }
  }

  return [...problems].sort();
}
