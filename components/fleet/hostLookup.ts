// What a member knows of its host, without any access to the host's state.
// A StackReference would need read access to the host stack, and a reader gets
// every output of it, secrets included (the Pulumi Cloud REST API's stack
// outputs come back with their secret values for the reader to decrypt), and
// the host's state holds its admin kubeconfig. So a member reads nothing there:
// - static facts (region, VPC and pod ranges) from the host's stack file in
//   this repo, the very file config validation already reads;
// - what the cloud assigned (the VPN gateway id and its two public IPs, the
//   VPC's route table) from provider data sources in the host's region, by the
//   names the host stack gives those resources (network.ts vpcNameOf,
//   ipsecLink.ts vpnGatewayNameOf). Reading them takes the cloud credentials
//   the member already needs to create its half of the link there.
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../config/errors";
import { PROJECT } from "../config/keys";
import { PROJECT_DIR, readStackFile } from "../config/stackFiles";
import { vpcNameOf } from "../network/network";
import { stackPart } from "./hostStackRules";
import { vpnGatewayNameOf } from "./ipsecLink";

/** The host's static facts, from its stack file. */
export interface HostFacts {
  /** `platform:hostStack` as written, e.g. `livemall/platform/host`. */
  ref: string;
  /** The host's stack name (its file is Pulumi.<stack>.yaml; its cloud resources are named after it). */
  stack: string;
  region: string;
  vpcCidr: string;
  podCidr: string;
}

/**
 * Reads the host's static facts from Pulumi.<host>.yaml; a missing one, or a file that does not parse, is a
 * ConfigError whose source names the host's file and the member reading it (`reader`).
 */
export function hostFacts(hostStack: string, reader: string, dir = PROJECT_DIR): HostFacts {
  const stack = stackPart(hostStack);
  const file = `Pulumi.${stack}.yaml`;
  const source = `${file}, the host stack ${reader} reads (${hostStack})`;
  let values: Record<string, unknown>;
  try {
    values = readStackFile(stack, dir).values;
  } catch (e) {
    if (e instanceof ConfigError && !e.source) throw new ConfigError(e.problems, source);
    throw e;
  }
  const network = (values[`${PROJECT}:network`] ?? {}) as { vpcCidr?: unknown; podCidr?: unknown };
  const facts = { region: values["alicloud:region"], vpcCidr: network.vpcCidr, podCidr: network.podCidr };
  const keys = { region: "alicloud:region", vpcCidr: `${PROJECT}:network.vpcCidr`, podCidr: `${PROJECT}:network.podCidr` };
  const missing = (Object.keys(keys) as (keyof typeof keys)[]).filter((k) => typeof facts[k] !== "string");
  if (missing.length) {
    throw new ConfigError(
      missing.map((k) => `${keys[k]}: is required (this member reads it from the host's stack file)`),
      source,
    );
  }
  return { ref: hostStack, stack, ...(facts as { region: string; vpcCidr: string; podCidr: string }) };
}

/** `^name$` with the regex metacharacters a stack name may hold (`.`) escaped: the data sources match names by regex. */
export function exactName(name: string): string {
  return `^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`;
}

/** The one match of a look-up; zero or several is an error naming the host stack and the name looked up. */
export function exactlyOne<T extends { id: string }>(what: string, host: HostFacts, name: string, matches: T[] | undefined): T {
  const found = matches ?? [];
  if (found.length === 1) return found[0];
  const where = `the host stack ${host.ref} (region ${host.region})`;
  if (found.length === 0) {
    throw new Error(`${what} "${name}" of ${where} not found: is the host stack up? (members look the host's resources up by name; they never read its state)`);
  }
  throw new Error(`${what} "${name}" of ${where}: ${found.length} match (${found.map((m) => m.id).join(", ")}); the name must be unique in the region`);
}

/** The host's end of an IPsec link, as the cloud assigned it. */
export interface HostLinkEnd {
  vpnGatewayId: string;
  publicIps: [string, string];
  routeTableId: string;
}

/**
 * Looks the host's VPC and VPN gateway up through `provider` (the host's region). A promise, not Outputs:
 * the caller registers the link once it resolves, so a failed look-up fails the program once, with its own
 * message, instead of failing every resource that would take its result.
 * Data sources (aliyun/terraform-provider-alicloud at 81c43b67):
 * - alicloud_vpcs (website/docs/d/vpcs.html.markdown; alicloud/data_source_alicloud_vpcs.go): `name_regex` is
 *   matched against each VPC's VpcName client-side (MatchString), `cidr_block` narrows further; each of `vpcs`
 *   carries `id` and `route_table_id` (filled while `enable_details`, default true).
 * - alicloud_vpn_gateways (website/docs/d/vpn_gateways.html.markdown; data_source_alicloud_vpn_gateways.go):
 *   `vpc_id` is a request filter, `name_regex` is matched against each gateway's Name; each of `gateways` carries
 *   `id`, `internet_ip` and `disaster_recovery_internet_ip` (returned only for dual-tunnel gateways, which ours are).
 */
export async function lookUpHostLinkEnd(host: HostFacts, provider: alicloud.Provider, parent: pulumi.Resource): Promise<HostLinkEnd> {
  const opts = { provider, parent };
  const vpcName = vpcNameOf(host.stack);
  const vpcs = await alicloud.vpc.getNetworks({ nameRegex: exactName(vpcName), cidrBlock: host.vpcCidr, enableDetails: true }, opts);
  const vpc = exactlyOne("VPC", host, vpcName, vpcs.vpcs);
  const gwName = vpnGatewayNameOf(host.stack);
  const gws = await alicloud.vpn.getGateways({ vpcId: vpc.id, nameRegex: exactName(gwName) }, opts);
  const gw = exactlyOne("VPN gateway", host, gwName, gws.gateways);
  if (!gw.internetIp || !gw.disasterRecoveryInternetIp) {
    throw new Error(`VPN gateway "${gwName}" of the host stack ${host.ref} (${gw.id}) has no second public IP: the links need a dual-tunnel gateway`);
  }
  return { vpnGatewayId: gw.id, publicIps: [gw.internetIp, gw.disasterRecoveryInternetIp], routeTableId: vpc.routeTableId };
}
