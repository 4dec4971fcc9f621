// The fleet: `host` manages, every other stack is a member. A member reads what
// it needs from the host stack's outputs (never the other way round) and owns
// its links: adding a member is a new stack file, not an edit of the host.
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { IpsecLink, VpnGateway } from "./ipsecLink";
import { Network } from "../network/network";

/** What the host stack exports for its members (see index.ts's outputs). */
export const HOST_OUTPUTS = ["region", "vpcCidr", "podCidr", "vpnGatewayId", "vpnPublicIp", "vpnBackupPublicIp", "routeTableId"] as const;

/** Typed access to the host stack's outputs. */
export class HostStack {
  readonly ref: pulumi.StackReference;
  /** @param stackName `platform:hostStack`, e.g. `acme/platform/host`. */
  constructor(readonly stackName: string) {
    this.ref = new pulumi.StackReference(stackName);
  }
  /** A required output; the engine fails with its name if the host does not export it. */
  output(key: (typeof HOST_OUTPUTS)[number]): pulumi.Output<string> {
    return this.ref.requireOutput(key) as pulumi.Output<string>;
  }
  /** A secret output (kubeconfig, shared secrets). */
  secret(key: string): pulumi.Output<string> {
    return pulumi.secret(this.ref.requireOutput(key) as pulumi.Output<string>);
  }
}

export interface FleetLinksArgs {
  /** Stack name: names the VPN gateway, customer gateways and connections (`prod1-to-host`). */
  clusterName: string;
  /** The cluster's network: the VPN gateway sits in its VPC, its routes go into the VPC's route table. */
  network: Network;
  /** This cluster's pod range, routed over the links with the VPC range. */
  podCidr: string;
  /** Members: the host stack. Absent on the host itself. */
  host?: HostStack;
  /** `platform:datacenter`: the on-prem data centre, when this cluster links to it. Default: no link. */
  datacenter?: { publicIp: string; subnets: string[] };
  /**
   * Resources holding fixed private addresses in the vswitches the VPN gateway uses (the
   * masters, the api-server front): the gateway takes DHCP addresses there, so it is
   * created after them. Default none.
   */
  fixedAddressHolders?: pulumi.Resource[];
  /** Tags on every cloud resource. Default none. */
  tags?: Record<string, string>;
}

export class FleetLinks extends pulumi.ComponentResource {
  public readonly vpnGateway: VpnGateway;
  /** Secret: the data centre link's PSK, for the on-prem gateway's secrets file. */
  public readonly datacenterPsk?: pulumi.Output<string>;

  constructor(name: string, args: FleetLinksArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:fleet:FleetLinks", name, {}, opts);
    const net = args.network;
    // Config validation asks for two zones; the dual-tunnel gateway's standby sits in the second.
    if (net.vswitches.length < 2) {
      throw new pulumi.ResourceError(`FleetLinks ${name}: the dual-tunnel VPN gateway needs vswitches in two zones, got ${net.vswitches.length}`, this);
    }
    this.vpnGateway = new VpnGateway(
      `${name}-vpn`,
      {
        clusterName: args.clusterName,
        vpcId: net.vpcId,
        vswitchId: net.vswitches[0].id,
        disasterRecoveryVswitchId: net.vswitches[1].id,
        after: args.fixedAddressHolders,
        tags: args.tags,
      },
      { parent: this },
    );
    const local = {
      name: args.clusterName,
      vpnGatewayId: this.vpnGateway.id,
      publicIps: [this.vpnGateway.publicIp, this.vpnGateway.backupPublicIp] as [pulumi.Output<string>, pulumi.Output<string>],
      routeTableId: net.routeTableId,
      cidrs: [
        { label: "vpc", cidr: net.vpcCidr },
        { label: "pod", cidr: args.podCidr },
      ],
    };

    if (args.host) {
      // The host's side of the link lives in the host's region.
      const hostProvider = new alicloud.Provider(`${name}-host-region`, { region: args.host.output("region") }, { parent: this });
      new IpsecLink(
        `${name}-to-host`,
        {
          local,
          peer: {
            cloud: {
              name: "host",
              vpnGatewayId: args.host.output("vpnGatewayId"),
              publicIps: [args.host.output("vpnPublicIp"), args.host.output("vpnBackupPublicIp")],
              routeTableId: args.host.output("routeTableId"),
              cidrs: [
                { label: "vpc", cidr: args.host.output("vpcCidr") },
                { label: "pod", cidr: args.host.output("podCidr") },
              ],
              provider: hostProvider,
            },
          },
          tags: args.tags,
        },
        { parent: this },
      );
    }

    if (args.datacenter) {
      const dc = new IpsecLink(
        `${name}-to-dc`,
        {
          local,
          peer: { onPrem: { name: "dc", publicIp: args.datacenter.publicIp, cidrs: args.datacenter.subnets.map((cidr, i) => ({ label: `dc-${i}`, cidr })) } },
          tags: args.tags,
        },
        { parent: this },
      );
      this.datacenterPsk = dc.psk;
    }
    this.registerOutputs({ vpnPublicIp: this.vpnGateway.publicIp, vpnBackupPublicIp: this.vpnGateway.backupPublicIp });
  }
}
