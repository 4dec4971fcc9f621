// IPsec links between clusters and to the data centre, for management traffic.
//
// A member owns each of its links end to end: its VPN gateway, a customer
// gateway and a connection on its side, and, through a provider for the
// host's region, the customer gateway, connection and routes on the host's
// side. Adding a member therefore never means editing the host stack.
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { recordArtifact } from "../artifacts";
import { alicloudIkeConfig, alicloudIpsecConfig, DEFAULT_PROPOSAL, IpsecProposal, renderSwanctlConf } from "./ipsec";

export interface VpnGatewayArgs {
  /** Stack name: the gateway is `<clusterName>-vpn`. */
  clusterName: string;
  /** The cluster's VPC. */
  vpcId: pulumi.Input<string>;
  /** The vswitch the gateway takes its private address in. */
  vswitchId: pulumi.Input<string>;
  /** Mbps; management traffic only. Default 10. */
  bandwidth?: number;
  /** Tags on the gateway. Default none. */
  tags?: Record<string, string>;
}

/** The cluster's VPN gateway; every link of the cluster terminates on it. */
export class VpnGateway extends pulumi.ComponentResource {
  public readonly id: pulumi.Output<string>;
  public readonly publicIp: pulumi.Output<string>;

  constructor(name: string, args: VpnGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:fleet:VpnGateway", name, {}, opts);
    const gw = new alicloud.vpn.Gateway(
      `${name}-gw`,
      {
        vpnGatewayName: `${args.clusterName}-vpn`,
        vpcId: args.vpcId,
        vswitchId: args.vswitchId,
        bandwidth: args.bandwidth ?? 10,
        enableIpsec: true,
        enableSsl: false,
        paymentType: "PayAsYouGo",
        networkType: "public",
        tags: args.tags,
      },
      { parent: this },
    );
    this.id = gw.id;
    this.publicIp = gw.internetIp;
    this.registerOutputs({ id: this.id, publicIp: this.publicIp });
  }
}

/** A range with a short label (`vpc`, `pod`, `dc-0`); the label names its route, so a range read from another stack can still name one. */
export interface LabelledRange {
  label: string;
  cidr: pulumi.Input<string>;
}

/** One side of a link inside Alibaba Cloud. */
export interface CloudEnd {
  /** Short name, e.g. the stack: "prod1", "host". */
  name: string;
  /** This side's VPN gateway. */
  vpnGatewayId: pulumi.Input<string>;
  /** The VPN gateway's public IP, which the other side's customer gateway points at. */
  publicIp: pulumi.Input<string>;
  /** VPC route table where the peer's ranges go through the VPN gateway. */
  routeTableId: pulumi.Input<string>;
  /** Ranges this side announces (VPC and pod CIDRs), labelled for stable resource names. */
  cidrs: LabelledRange[];
  /** Provider for this side's region (undefined: the stack's own). */
  provider?: pulumi.ProviderResource;
}

/** The on-prem side of a link: a strongSwan gateway we render a config for. */
export interface OnPremEnd {
  /** Short name, e.g. "dc"; names the customer gateway and the rendered swanctl.conf. */
  name: string;
  /** Public IP of the data centre's strongSwan gateway (`platform:datacenter.publicIp`). */
  publicIp: string;
  /** On-prem ranges reached over the link (`platform:datacenter.subnets`). */
  cidrs: LabelledRange[];
}

export interface IpsecLinkArgs {
  /** This stack's side. */
  local: CloudEnd;
  /** The other side: another cluster (both ends created here) or the data centre. */
  peer: { cloud: CloudEnd } | { onPrem: OnPremEnd };
  /** Proposals, identical on both ends. Default DEFAULT_PROPOSAL: IKEv2, AES-256, SHA-256, DH group 14. */
  proposal?: IpsecProposal;
  /** Tags on every cloud resource. Default none. */
  tags?: Record<string, string>;
}

export class IpsecLink extends pulumi.ComponentResource {
  /** Secret. */
  public readonly psk: pulumi.Output<string>;
  public readonly connectionIds: pulumi.Output<string>[];

  constructor(name: string, args: IpsecLinkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:fleet:IpsecLink", name, {}, opts);
    const proposal = args.proposal ?? DEFAULT_PROPOSAL;
    const local = args.local;
    const peerName = "cloud" in args.peer ? args.peer.cloud.name : args.peer.onPrem.name;
    const peerIp = "cloud" in args.peer ? args.peer.cloud.publicIp : args.peer.onPrem.publicIp;
    const peerCidrs = "cloud" in args.peer ? args.peer.cloud.cidrs : args.peer.onPrem.cidrs;
    if (local.cidrs.length === 0 || peerCidrs.length === 0) throw new pulumi.ResourceError(`IpsecLink ${name}: both ends must announce at least one range`, this);

    const psk = new random.RandomPassword(`${name}-psk`, { length: 32, special: false }, { parent: this });
    this.psk = psk.result;

    const end = (side: CloudEnd, otherName: string, otherIp: pulumi.Input<string>, remoteCidrs: LabelledRange[], suffix: string) => {
      const opts = { parent: this, provider: side.provider };
      const cgw = new alicloud.vpn.CustomerGateway(
        `${name}-${suffix}-cgw`,
        { customerGatewayName: `${side.name}-to-${otherName}`, ipAddress: otherIp, description: `${otherName} as seen from ${side.name}`, tags: args.tags },
        opts,
      );
      const conn = new alicloud.vpn.Connection(
        `${name}-${suffix}`,
        {
          vpnConnectionName: `${side.name}-to-${otherName}`,
          vpnGatewayId: side.vpnGatewayId,
          customerGatewayId: cgw.id,
          localSubnets: side.cidrs.map((r) => r.cidr),
          remoteSubnets: remoteCidrs.map((r) => r.cidr),
          effectImmediately: true,
          enableDpd: true,
          enableNatTraversal: true,
          ikeConfig: pulumi.secret(psk.result.apply((p) => ({ ...alicloudIkeConfig(proposal), psk: p }))),
          ipsecConfig: alicloudIpsecConfig(proposal),
          tags: args.tags,
        },
        { ...opts, additionalSecretOutputs: ["ikeConfig"] },
      );
      remoteCidrs.forEach((range) => {
        new alicloud.vpc.RouteEntry(
          `${name}-${suffix}-route-${range.label}`,
          { routeTableId: side.routeTableId, destinationCidrblock: range.cidr, nexthopType: "VpnGateway", nexthopId: side.vpnGatewayId, name: `${side.name}-to-${otherName}-${range.label}` },
          { ...opts, dependsOn: [conn] },
        );
      });
      return conn;
    };

    const conns = [end(local, peerName, peerIp, peerCidrs, local.name)];
    if ("cloud" in args.peer) {
      conns.push(end(args.peer.cloud, local.name, local.publicIp, local.cidrs, args.peer.cloud.name));
    } else {
      const dc = args.peer.onPrem;
      // The data centre's strongSwan side, same proposals and subnets; the PSK is
      // included from a separate file that never leaves the secret store.
      recordArtifact(
        "ipsec",
        `${dc.name}-${local.name}.swanctl.conf`,
        pulumi.all([local.publicIp, pulumi.all(dc.cidrs.map((r) => r.cidr)), pulumi.all(local.cidrs.map((r) => r.cidr))]).apply(([remoteAddress, dcCidrs, localCidrs]) =>
          renderSwanctlConf({
            name: `${dc.name}-${local.name}`,
            localAddress: dc.publicIp,
            remoteAddress,
            localSubnets: dcCidrs,
            remoteSubnets: localCidrs,
            proposal,
            secretsFile: `/etc/swanctl/private/${dc.name}-${local.name}.psk.conf`,
          }),
        ),
      );
    }
    this.connectionIds = conns.map((c) => c.id);
    this.registerOutputs({ connectionIds: this.connectionIds });
  }
}
