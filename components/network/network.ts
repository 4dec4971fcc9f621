// The cluster's network: a VPC, one vswitch per zone, egress through a NAT
// gateway (nodes have no public IPs), and least-privilege security groups.
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_NAT_CHARGE_TYPE, type NetworkConfig } from "../config/schema";
import { split } from "../../policies/rules/cidr";
import {
  API_SERVER_PORT,
  ETCD_CLIENT_PORT,
  ETCD_PEER_PORT,
  FLANNEL_VXLAN_PORT,
  HAPROXY_CHECK_PORT,
  KUBELET_PORT,
  NODE_EXPORTER_PORT,
  NODE_PORT_RANGE,
  portRange,
  SLB_HEALTH_CHECK_CIDR,
} from "./ports";

/** The VPC's name in the cloud (`<cluster>-vpc`): members look the host's up by it (fleet/hostLookup.ts). */
export function vpcNameOf(clusterName: string): string {
  return `${clusterName}-vpc`;
}

export interface NetworkArgs {
  /** Stack name, used as the prefix of every cloud name (`prod1-vpc`). */
  clusterName: string;
  /**
   * `platform:network`, as configured: `vpcCidr` (split evenly into one vswitch per zone),
   * `zones` (nodes spread over them in order), `natBandwidthMbps` (the NAT EIP's
   * outbound bandwidth, default 200) and `natChargeType` (its metering, default
   * PayByTraffic; config validation holds the pair to EIP_BANDWIDTH_LIMITS).
   */
  network: Pick<NetworkConfig, "vpcCidr" | "zones" | "natBandwidthMbps" | "natChargeType">;
  /**
   * Extra ranges allowed to reach the api-server front on 6443: the host
   * cluster's VPC (fleet management over IPsec) and the data centre. Labelled,
   * because a range read from the host stack is not known when names are chosen.
   * Default none.
   */
  managementCidrs?: { label: string; cidr: pulumi.Input<string> }[];
  /** Tags on every resource. Default none. */
  tags?: Record<string, string>;
}

/** The security groups the cluster's machines sit in. */
export type SecurityGroupName = "masters" | "workers" | "front";

/** One ingress rule, declared as data so tests and policies read the same table. */
export interface IngressRule {
  /** Group the rule belongs to. */
  group: SecurityGroupName;
  protocol: "tcp" | "udp";
  /** "6443/6443" or "30000/32767", the form ECS uses. */
  portRange: string;
  /** Either a CIDR or another of our groups. */
  from: { cidr: string } | { group: SecurityGroupName };
  /** Why the port is open; becomes the rule's description. */
  why: string;
}

/**
 * The whole least-privilege rule set of one cluster. Nothing is open to 0.0.0.0/0. The HAProxy
 * stats page is not here: it is off by default, and when on, ApiServerFront opens it from the
 * front's own vswitches only (apiServerFront.ts statsRules).
 */
export function clusterIngressRules(vpcCidr: string): IngressRule[] {
  const api = portRange(API_SERVER_PORT);
  const kubelet = portRange(KUBELET_PORT);
  const nodePorts = portRange(NODE_PORT_RANGE.from, NODE_PORT_RANGE.to);
  const rules: IngressRule[] = [
    // The front: nodes reach the api-server only through SLB -> HAProxy. A layer-4
    // SLB keeps the client's source address, so the HAProxies see VPC addresses.
    { group: "front", protocol: "tcp", portRange: api, from: { cidr: vpcCidr }, why: "api-server via the internal SLB" },
    { group: "front", protocol: "tcp", portRange: portRange(HAPROXY_CHECK_PORT), from: { cidr: SLB_HEALTH_CHECK_CIDR }, why: "SLB health check of HAProxy" },
    // Masters: the api-server from the front and the nodes (in-cluster clients reach the
    // `kubernetes` service endpoints, i.e. the masters, directly).
    { group: "masters", protocol: "tcp", portRange: api, from: { group: "front" }, why: "api-server from HAProxy" },
    { group: "masters", protocol: "tcp", portRange: api, from: { group: "workers" }, why: "api-server from in-cluster clients" },
    { group: "masters", protocol: "tcp", portRange: api, from: { group: "masters" }, why: "api-server between masters" },
    {
      group: "masters",
      protocol: "tcp",
      portRange: portRange(ETCD_CLIENT_PORT, ETCD_PEER_PORT),
      from: { group: "masters" },
      why: "etcd client and peer, masters only",
    },
    // kubelet: the api-server calls it (logs, exec); Prometheus' kubelet/cAdvisor scrape and
    // metrics-server, pods on the workers, call it too.
    { group: "masters", protocol: "tcp", portRange: kubelet, from: { group: "masters" }, why: "kubelet from the api-server" },
    { group: "workers", protocol: "tcp", portRange: kubelet, from: { group: "masters" }, why: "kubelet from the api-server" },
    { group: "masters", protocol: "tcp", portRange: kubelet, from: { group: "workers" }, why: "kubelet metrics for Prometheus and metrics-server" },
    { group: "workers", protocol: "tcp", portRange: kubelet, from: { group: "workers" }, why: "kubelet metrics for Prometheus and metrics-server" },
    // Scrape targets on the host network. A pod's traffic to another node's address leaves
    // its worker masqueraded as the worker's own address (flannel --ip-masq), so "from the
    // workers" covers Prometheus wherever it runs; the masters are tainted, it never runs there.
    // Targets that are pods (kube-state-metrics, ingress-nginx, CoreDNS, the operator...) are
    // reached through the vxlan overlay below and need no port of their own. The list is
    // checked against the monitoring values and the chart defaults in test/network/scrapeReachability.test.ts.
    {
      group: "masters",
      protocol: "tcp",
      portRange: portRange(NODE_EXPORTER_PORT),
      from: { group: "workers" },
      why: "node-exporter (hostNetwork) for Prometheus",
    },
    {
      group: "workers",
      protocol: "tcp",
      portRange: portRange(NODE_EXPORTER_PORT),
      from: { group: "workers" },
      why: "node-exporter (hostNetwork) for Prometheus",
    },
    // Ingress SLB -> NodePorts on the workers; never from outside the VPC.
    { group: "workers", protocol: "tcp", portRange: nodePorts, from: { cidr: vpcCidr }, why: "NodePorts from the VPC" },
    { group: "workers", protocol: "tcp", portRange: nodePorts, from: { cidr: SLB_HEALTH_CHECK_CIDR }, why: "ingress SLB to NodePorts and its health checks" },
  ];
  // flannel vxlan: every node talks to every node on UDP FLANNEL_VXLAN_PORT.
  for (const to of ["masters", "workers"] as const) {
    for (const from of ["masters", "workers"] as const) {
      rules.push({ group: to, protocol: "udp", portRange: portRange(FLANNEL_VXLAN_PORT), from: { group: from }, why: "flannel vxlan overlay" });
    }
  }
  return rules;
}

/** A stable, readable resource name for a rule: `masters-tcp-2379-2380-from-masters`. */
export function ruleName(r: IngressRule): string {
  const source = "cidr" in r.from ? r.from.cidr.replace(/[./]/g, "-") : r.from.group;
  return `${r.group}-${r.protocol}-${r.portRange.replace("/", "-")}-from-${source}`;
}

export class Network extends pulumi.ComponentResource {
  public readonly vpcId: pulumi.Output<string>;
  public readonly vpcCidr: string;
  /** One vswitch per zone, in the order of `zones`. */
  public readonly vswitches: { zone: string; cidr: string; id: pulumi.Output<string> }[];
  public readonly securityGroupIds: Record<SecurityGroupName, pulumi.Output<string>>;
  public readonly natGatewayId: pulumi.Output<string>;
  public readonly egressIp: pulumi.Output<string>;
  /** The VPC's system route table, where IPsec routes go. */
  public readonly routeTableId: pulumi.Output<string>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:network:Network", name, {}, opts);
    const { vpcCidr, zones } = args.network;
    if (zones.length === 0) throw new pulumi.ResourceError("Network: zones must list at least one zone", this);
    const parent = { parent: this };
    const tags = args.tags ?? {};

    const vpc = new alicloud.vpc.Network(`${name}-vpc`, { vpcName: vpcNameOf(args.clusterName), cidrBlock: vpcCidr, tags }, parent);
    this.vpcId = vpc.id;
    this.vpcCidr = vpcCidr;
    this.routeTableId = vpc.routeTableId;

    const cidrs = split(vpcCidr, zones.length);
    this.vswitches = zones.map((zone, i) => {
      const vsw = new alicloud.vpc.Switch(
        `${name}-vsw-${zone}`,
        { vpcId: vpc.id, zoneId: zone, cidrBlock: cidrs[i], vswitchName: `${args.clusterName}-${zone}`, tags },
        parent,
      );
      return { zone, cidr: cidrs[i], id: vsw.id };
    });

    // Egress: an enhanced NAT gateway with one EIP; SNAT for every vswitch.
    const nat = new alicloud.vpc.NatGateway(
      `${name}-nat`,
      {
        vpcId: vpc.id,
        vswitchId: this.vswitches[0].id,
        natType: "Enhanced",
        paymentType: "PayAsYouGo",
        natGatewayName: `${args.clusterName}-nat`,
        tags,
      },
      parent,
    );
    const eip = new alicloud.ecs.EipAddress(
      `${name}-nat-eip`,
      {
        addressName: `${args.clusterName}-nat`,
        // Pay-as-you-go: PayByTraffic takes 1-200 Mbps, PayByBandwidth 1-500 (eip_address doc;
        // EIP_BANDWIDTH_LIMITS in config/schema.ts, where config validation enforces it).
        bandwidth: String(args.network.natBandwidthMbps ?? 200),
        internetChargeType: args.network.natChargeType ?? DEFAULT_NAT_CHARGE_TYPE,
        paymentType: "PayAsYouGo",
        tags,
      },
      parent,
    );
    const assoc = new alicloud.ecs.EipAssociation(`${name}-nat-eip`, { allocationId: eip.id, instanceId: nat.id, instanceType: "Nat" }, parent);
    for (const vsw of this.vswitches) {
      new alicloud.vpc.SnatEntry(
        `${name}-snat-${vsw.zone}`,
        { snatTableId: nat.snatTableIds, sourceVswitchId: vsw.id, snatIp: eip.ipAddress, snatEntryName: `${args.clusterName}-${vsw.zone}` },
        { parent: this, dependsOn: [assoc] },
      );
    }
    this.natGatewayId = nat.id;
    this.egressIp = eip.ipAddress;

    const groups = {} as Record<SecurityGroupName, alicloud.ecs.SecurityGroup>;
    for (const g of ["masters", "workers", "front"] as const) {
      groups[g] = new alicloud.ecs.SecurityGroup(
        `${name}-sg-${g}`,
        { vpcId: vpc.id, securityGroupName: `${args.clusterName}-${g}`, description: `${args.clusterName} ${g}`, innerAccessPolicy: "Drop", tags },
        parent,
      );
    }
    this.securityGroupIds = { masters: groups.masters.id, workers: groups.workers.id, front: groups.front.id };

    for (const m of args.managementCidrs ?? []) {
      new alicloud.ecs.SecurityGroupRule(
        `${name}-front-tcp-${API_SERVER_PORT}-from-${m.label}`,
        {
          type: "ingress",
          ipProtocol: "tcp",
          portRange: portRange(API_SERVER_PORT),
          securityGroupId: groups.front.id,
          nicType: "intranet",
          policy: "accept",
          priority: 1,
          description: `fleet management from ${m.label} over IPsec`,
          cidrIp: m.cidr,
        },
        parent,
      );
    }
    for (const rule of clusterIngressRules(vpcCidr)) {
      new alicloud.ecs.SecurityGroupRule(
        `${name}-${ruleName(rule)}`,
        {
          type: "ingress",
          ipProtocol: rule.protocol,
          portRange: rule.portRange,
          securityGroupId: groups[rule.group].id,
          nicType: "intranet",
          policy: "accept",
          priority: 1,
          description: rule.why,
          ...("cidr" in rule.from ? { cidrIp: rule.from.cidr } : { sourceSecurityGroupId: groups[rule.from.group].id }),
        },
        parent,
      );
    }

    this.registerOutputs({ vpcId: this.vpcId, natGatewayId: this.natGatewayId, egressIp: this.egressIp });
  }
}
