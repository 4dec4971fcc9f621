// The cluster's size rules on user input, as functions returning problems.
// Config validation runs them before anything is registered; the components
// (controlPlaneAddresses, NodePool) keep their assertions.
import { PROJECT } from "../config/keys";
import { parseCidr, size, split } from "../../policies/rules/cidr";
import { HAPROXY_OFFSET, MASTER_OFFSET, RESERVED_ADDRESSES } from "./controlPlaneAddresses";

/**
 * Masters sit at fixed addresses MASTER_OFFSET.. of their zone's vswitch, below
 * the HAProxy VMs at HAPROXY_OFFSET (controlPlaneAddresses.ts), so a zone holds
 * at most this many masters.
 */
export const MAX_MASTERS_PER_ZONE = HAPROXY_OFFSET - MASTER_OFFSET;

/**
 * Upper bounds that keep one stack plannable. The design target (DESIGN.md,
 * BENCHMARKS.md) is 1000 workers in one pool, previewed under 10 s and 2 GB;
 * measured on dev: ~4 s / 0.6 GB at 500 workers, ~7 s / 1 GB at 1000, linear
 * beyond (10000 runs out of memory after 41 s). So a stack may hold 20 %
 * more than the target (~1.2 GB), enough for a scale-out step at the target
 * size, in one pool or several; a larger fleet is more clusters, not a larger stack.
 */
export const MAX_WORKERS = 1200;
/** One pool may hold them all (the count names its own key when it alone is too large). */
export const MAX_POOL_COUNT = MAX_WORKERS;
export const MAX_NODE_POOLS = 50;

/** Alibaba reserves the first and last three addresses of every vswitch. */
const VSWITCH_RESERVED = 3;

/** platform:masters.count fits the control-plane address plan of platform:network.zones. */
export function mastersProblems(masterCount: number, zoneCount: number): string[] {
  const perZone = Math.ceil(masterCount / Math.max(1, zoneCount));
  if (perZone <= MAX_MASTERS_PER_ZONE) return [];
  return [
    `${PROJECT}:masters.count: ${masterCount} masters in ${zoneCount} zone(s) puts ${perZone} in a zone; at most ${MAX_MASTERS_PER_ZONE} per zone fit the fixed control-plane addresses (at most ${MAX_MASTERS_PER_ZONE * zoneCount} with ${zoneCount} zone(s))`,
  ];
}

/** Node pool counts within the bounds above, and the workers fit their zones' vswitches. */
export function nodePoolSizeProblems(pools: { count: number }[], network?: { vpcCidr: string; zones: string[] }): string[] {
  const key = `${PROJECT}:nodePools`;
  const out: string[] = [];
  if (pools.length > MAX_NODE_POOLS) out.push(`${key}: ${pools.length} pools, at most ${MAX_NODE_POOLS} per stack`);
  pools.forEach((p, i) => {
    if (p.count > MAX_POOL_COUNT) out.push(`${key}[${i}].count: ${p.count} is over ${MAX_POOL_COUNT} nodes per pool (a larger fleet is more clusters)`);
  });
  const total = pools.reduce((n, p) => n + p.count, 0);
  if (total > MAX_WORKERS) out.push(`${key}: ${total} worker nodes in all, at most ${MAX_WORKERS} per stack (a larger fleet is more clusters)`);
  if (!network || out.length > 0) return out;
  try {
    // Instance i of every pool goes to zone i mod zones; DHCP hands out addresses above the reserved block.
    const zones = Math.max(1, network.zones.length);
    const vswitch = split(network.vpcCidr, zones)[0];
    const room = size(parseCidr(vswitch)) - RESERVED_ADDRESSES - VSWITCH_RESERVED;
    const perZone = pools.reduce((n, p) => n + Math.ceil(p.count / zones), 0);
    if (perZone > room) {
      out.push(
        `${key}: up to ${perZone} workers in a zone, but a ${vswitch.replace(/^.*\//, "/")} vswitch of ${PROJECT}:network.vpcCidr ${network.vpcCidr} has room for ${room}`,
      );
    }
  } catch {
    // malformed ranges are reported by their own field
  }
  return out;
}
