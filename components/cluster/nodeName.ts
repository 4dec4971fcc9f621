// The one rule for a node's name, in a leaf module: the readiness gate's dynamic
// provider (readiness.ts) calls it at deploy time, and Pulumi serializes what a
// provider captures, so this file imports nothing.

/**
 * The name of pool `pool`'s instance `index` in cluster `cluster`: `<cluster>-<pool>-<index>`
 * (masters are the pool "master"). It is the ECS instance's resource name, instance name and
 * hostname, and so the Kubernetes node name: the readiness gate, the join token, the day-2
 * commands and the drains all find a node by it. Changing it replaces every instance.
 */
export function nodeName(cluster: string, pool: string, index: number): string {
  return `${cluster}-${pool}-${index}`;
}
