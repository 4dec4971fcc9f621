// flannel's rule on user input, as a function returning problems; config
// validation runs it before anything is registered (flannelObjects.ts keeps its assertion).
import { PROJECT } from "../config/keys";
import { parseCidr } from "../../policies/rules/cidr";

/**
 * flannel leases one /24 per node (SubnetLen 24, also kube-controller-manager's
 * --node-cidr-mask-size default for IPv4), so the pod network needs 2^(24-prefix)
 * >= nodes, and at least a /23.
 */
export const FLANNEL_SUBNET_LEN = 24;

export function podCidrProblems(podCidr: string, nodes: number): string[] {
  let prefix: number;
  try {
    prefix = parseCidr(podCidr).prefix;
  } catch {
    return [];
  }
  const room = prefix >= FLANNEL_SUBNET_LEN ? 0 : 2 ** (FLANNEL_SUBNET_LEN - prefix);
  if (prefix > FLANNEL_SUBNET_LEN - 1) {
    return [`${PROJECT}:network.podCidr: ${podCidr} is too small: flannel gives each node a /${FLANNEL_SUBNET_LEN}, use a /23 or larger`];
  }
  if (room < nodes) {
    return [
      `${PROJECT}:network.podCidr: ${podCidr} holds ${room} node subnets (/${FLANNEL_SUBNET_LEN} each) but the cluster has ${nodes} nodes (masters and workers)`,
    ];
  }
  return [];
}
