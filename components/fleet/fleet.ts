// The fleet: `host` manages, every other stack is a member. A member owns its
// links and reads nothing from the host's state: the host's static facts come
// from its stack file, what the cloud assigned from data sources
// (hostLookup.ts). Adding a member is a new stack file; the host's only edit is
// its KubeSphere members list (kubesphereMembers.ts).
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { HostFacts, lookUpHostLinkEnd } from "./hostLookup";
import { IpsecLink, VpnGateway } from "./ipsecLink";
import { Network } from "../network/network";

export interface FleetLinksArgs {
  /** Stack name: names the VPN gateway, customer gateways and connections (`prod1-to-host`). */
  clusterName: string;
  /** The cluster's network: the VPN gateway sits in its VPC, its routes go into the VPC's route table. */
  network: Network;
  /** This cluster's pod range, routed over the links with the VPC range. */
  podCidr: string;
  /** Members: the host's static facts (from its stack file). Absent on the host itself. */
  host?: HostFacts;
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
  /** Members: settles once the link to the host is registered; rejects when the host's resources are not found (hostLookup.ts). */
  public readonly hostLink: Promise<void> = Promise.resolve();
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
      // The host's side of the link lives in the host's region. The link is registered once the look-ups
      // answer: a failed one fails `hostLink` (awaited by the program) alone.
      const host = args.host;
      const hostProvider = new alicloud.Provider(`${name}-host-region`, { region: host.region }, { parent: this });
      this.hostLink = lookUpHostLinkEnd(host, hostProvider, this).then((hostEnd) => {
        new IpsecLink(
          `${name}-to-host`,
          {
            local,
            peer: {
              cloud: {
                name: "host",
                ...hostEnd,
                cidrs: [
                  { label: "vpc", cidr: host.vpcCidr },
                  { label: "pod", cidr: host.podCidr },
                ],
                provider: hostProvider,
              },
            },
            tags: args.tags,
          },
          { parent: this },
        );
      });
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
