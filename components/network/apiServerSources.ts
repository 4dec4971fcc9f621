// Who may reach a cluster's api-server front (the internal SLB on 6443): its own VPC
// (network.ts clusterIngressRules), the host's VPC for a member (fleet management over
// IPsec) and the data centre's subnets. Pure, so the program (index.ts) and the CI
// runner check (components/ops/ciRunners.ts) read the same list.

/** The extra ranges beyond the cluster's own VPC, labelled as the security group rules are named. */
export function managementRanges<C>(hostVpcCidr: C | undefined, datacenterSubnets: readonly C[]): { label: string; cidr: C }[] {
  return [...(hostVpcCidr !== undefined ? [{ label: "host", cidr: hostVpcCidr }] : []), ...datacenterSubnets.map((cidr, i) => ({ label: `dc-${i}`, cidr }))];
}

/** Every range the front admits on 6443: the cluster's VPC first, then managementRanges. */
export function apiServerFrontSources(vpcCidr: string, hostVpcCidr: string | undefined, datacenterSubnets: readonly string[]): string[] {
  return [vpcCidr, ...managementRanges(hostVpcCidr, datacenterSubnets).map((r) => r.cidr)];
}
