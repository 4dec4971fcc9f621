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
import { AlicloudIkeConfig, AlicloudIpsecConfig, alicloudIkeConfig, alicloudIpsecConfig, DEFAULT_PROPOSAL, IpsecProposal, renderSwanctlConf } from "./ipsec";

/** The VPN gateway's name in the cloud (`<cluster>-vpn`): members look the host's up by it (fleet/hostLookup.ts). */
export function vpnGatewayNameOf(clusterName: string): string {
  return `${clusterName}-vpn`;
}

export interface VpnGatewayArgs {
  /** Stack name: the gateway is `<clusterName>-vpn`. */
  clusterName: string;
  /** The cluster's VPC. */
  vpcId: pulumi.Input<string>;
  /** The vswitch the gateway takes its private address in (zone 1). */
  vswitchId: pulumi.Input<string>;
  /**
   * A vswitch in a second zone, for the dual-tunnel gateway's standby (the provider's
   * `disaster_recovery_vswitch_id`, vpn_gateway doc). Alibaba creates only dual-tunnel
   * IPsec connections on new gateways in these zones ("[Upgrade notice] IPsec-VPN
   * connections support the dual-tunnel mode"); without it the create fails
   * (aliyun/terraform-provider-alicloud#6804, InvalidVSwitchId.NotFound).
   */
  disasterRecoveryVswitchId: pulumi.Input<string>;
  /** Mbps; management traffic only. Default 10. */
  bandwidth?: number;
  /** Resources the gateway is created after (the fixed-address holders in its vswitches). Default none. */
  after?: pulumi.Resource[];
  /** Tags on the gateway. Default none. */
  tags?: Record<string, string>;
}

/** The cluster's dual-tunnel VPN gateway; every link of the cluster terminates on it. */
export class VpnGateway extends pulumi.ComponentResource {
  public readonly id: pulumi.Output<string>;
  /** Tunnel 1's (master) public IP: the gateway's `internetIp`. */
  public readonly publicIp: pulumi.Output<string>;
  /** Tunnel 2's (standby) public IP: `disasterRecoveryInternetIp`, returned for dual-tunnel gateways only. */
  public readonly backupPublicIp: pulumi.Output<string>;

  constructor(name: string, args: VpnGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:fleet:VpnGateway", name, {}, opts);
    const gw = new alicloud.vpn.Gateway(
      `${name}-gw`,
      {
        vpnGatewayName: vpnGatewayNameOf(args.clusterName),
        vpcId: args.vpcId,
        vswitchId: args.vswitchId,
        disasterRecoveryVswitchId: args.disasterRecoveryVswitchId,
        bandwidth: args.bandwidth ?? 10,
        enableIpsec: true,
        enableSsl: false,
        paymentType: "PayAsYouGo",
        networkType: "public",
        tags: args.tags,
      },
      { parent: this, dependsOn: args.after },
    );
    this.id = gw.id;
    this.publicIp = gw.internetIp;
    this.backupPublicIp = gw.disasterRecoveryInternetIp;
    this.registerOutputs({ id: this.id, publicIp: this.publicIp, backupPublicIp: this.backupPublicIp });
  }
}

/** One tunnel of a dual-tunnel connection, as `alicloud.vpn.Connection` takes it (`tunnelOptionsSpecifications[]`). */
export interface TunnelOptions {
  role: "master" | "slave";
  customerGatewayId: string;
  enableDpd: true;
  enableNatTraversal: true;
  tunnelIkeConfig: AlicloudIkeConfig & { psk: string };
  tunnelIpsecConfig: AlicloudIpsecConfig;
}

/**
 * The two tunnels of a connection: tunnel 1 (role master, on the gateway's internetIp) to
 * the first customer gateway, tunnel 2 (role slave, on disasterRecoveryInternetIp) to the
 * second; same proposal and PSK on both, DPD and NAT-T on (the data-centre side forces
 * UDP 4500). Field names: the provider's `tunnel_options_specification` block
 * (website/docs/r/vpn_connection.html.markdown, resource_alicloud_vpn_connection.go at 81c43b67).
 */
export function dualTunnelOptions(customerGatewayIds: [string, string], proposal: IpsecProposal, psk: string): [TunnelOptions, TunnelOptions] {
  const tunnel = (role: "master" | "slave", customerGatewayId: string): TunnelOptions => ({
    role,
    customerGatewayId,
    enableDpd: true,
    enableNatTraversal: true,
    tunnelIkeConfig: { ...alicloudIkeConfig(proposal), psk },
    tunnelIpsecConfig: alicloudIpsecConfig(proposal),
  });
  return [tunnel("master", customerGatewayIds[0]), tunnel("slave", customerGatewayIds[1])];
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
  /** The VPN gateway's two tunnel IPs [master, standby], which the other side's customer gateways point at. */
  publicIps: [pulumi.Input<string>, pulumi.Input<string>];
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
    // What the local side's two tunnels dial: the peer gateway's two IPs, or the one data-centre gateway twice.
    const peerIps: [pulumi.Input<string>, pulumi.Input<string>] =
      "cloud" in args.peer ? args.peer.cloud.publicIps : [args.peer.onPrem.publicIp, args.peer.onPrem.publicIp];
    const peerCidrs = "cloud" in args.peer ? args.peer.cloud.cidrs : args.peer.onPrem.cidrs;
    if (local.cidrs.length === 0 || peerCidrs.length === 0)
      throw new pulumi.ResourceError(`IpsecLink ${name}: both ends must announce at least one range`, this);

    const psk = new random.RandomPassword(`${name}-psk`, { length: 32, special: false }, { parent: this });
    this.psk = psk.result;

    const conns = [this.end(name, args, local, peerName, peerIps, peerCidrs, local.name)];
    if ("cloud" in args.peer) {
      conns.push(this.end(name, args, args.peer.cloud, local.name, local.publicIps, local.cidrs, args.peer.cloud.name));
    } else {
      this.recordSwanctlConf(args.peer.onPrem, local, proposal);
    }
    this.connectionIds = conns.map((c) => c.id);
    this.registerOutputs({ connectionIds: this.connectionIds });
  }

  /**
   * One side's half of the link: a customer gateway per distinct peer IP, one dual-tunnel
   * connection (tunnel 1 master, tunnel 2 slave, each with its customer gateway, IKE/IPsec
   * settings, DPD and NAT-T: the provider's `tunnel_options_specification`, vpn_connection
   * doc and resource_alicloud_vpn_connection.go; Alibaba's CreateVpnConnection takes only
   * TunnelOptionsSpecification, not the single-tunnel IkeConfig/CustomerGatewayId, for a
   * dual-tunnel gateway), and routes to the peer's ranges.
   */
  private end(
    name: string,
    args: IpsecLinkArgs,
    side: CloudEnd,
    otherName: string,
    otherIps: [pulumi.Input<string>, pulumi.Input<string>],
    remoteCidrs: LabelledRange[],
    suffix: string,
  ): alicloud.vpn.Connection {
    const proposal = args.proposal ?? DEFAULT_PROPOSAL;
    const opts = { parent: this, provider: side.provider };
    const sameIp = otherIps[0] === otherIps[1];
    const cgws = (sameIp ? [otherIps[0]] : otherIps).map(
      (ip, i) =>
        new alicloud.vpn.CustomerGateway(
          sameIp ? `${name}-${suffix}-cgw` : `${name}-${suffix}-cgw-t${i + 1}`,
          {
            customerGatewayName: sameIp ? `${side.name}-to-${otherName}` : `${side.name}-to-${otherName}-t${i + 1}`,
            ipAddress: ip,
            description: `${otherName}${sameIp ? "" : ` tunnel ${i + 1}`} as seen from ${side.name}`,
            tags: args.tags,
          },
          opts,
        ),
    );
    // The PSK sits inside the tunnel options, so the whole list is a secret input and output.
    const tunnels = pulumi.secret(
      pulumi.all([cgws[0].id, cgws[cgws.length - 1].id, this.psk]).apply(([master, slave, psk]) => dualTunnelOptions([master, slave], proposal, psk)),
    );
    const conn = new alicloud.vpn.Connection(
      `${name}-${suffix}`,
      {
        vpnConnectionName: `${side.name}-to-${otherName}`,
        vpnGatewayId: side.vpnGatewayId,
        localSubnets: side.cidrs.map((r) => r.cidr),
        remoteSubnets: remoteCidrs.map((r) => r.cidr),
        effectImmediately: true,
        tunnelOptionsSpecifications: tunnels,
        tags: args.tags,
      },
      { ...opts, additionalSecretOutputs: ["tunnelOptionsSpecifications"] },
    );
    remoteCidrs.forEach((range) => {
      new alicloud.vpc.RouteEntry(
        `${name}-${suffix}-route-${range.label}`,
        {
          routeTableId: side.routeTableId,
          destinationCidrblock: range.cidr,
          nexthopType: "VpnGateway",
          nexthopId: side.vpnGatewayId,
          name: `${side.name}-to-${otherName}-${range.label}`,
        },
        { ...opts, dependsOn: [conn] },
      );
    });
    return conn;
  }

  /** The data centre's strongSwan side: both tunnels, same proposals and subnets; the PSK stays in a separate secrets file. */
  private recordSwanctlConf(dc: OnPremEnd, local: CloudEnd, proposal: IpsecProposal): void {
    recordArtifact(
      "ipsec",
      `${dc.name}-${local.name}.swanctl.conf`,
      pulumi
        .all([pulumi.all(local.publicIps), pulumi.all(dc.cidrs.map((r) => r.cidr)), pulumi.all(local.cidrs.map((r) => r.cidr))])
        .apply(([remoteAddresses, dcCidrs, localCidrs]) =>
          renderSwanctlConf({
            name: `${dc.name}-${local.name}`,
            localAddress: dc.publicIp,
            remoteAddresses: [remoteAddresses[0], remoteAddresses[1]],
            localSubnets: dcCidrs,
            remoteSubnets: localCidrs,
            proposal,
            secretsFile: `/etc/swanctl/private/${dc.name}-${local.name}.psk.conf`,
          }),
        ),
    );
  }
}
