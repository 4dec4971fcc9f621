// IPsec links between the clusters and the on-prem data centre. The cloud end is an
// Alibaba VPN gateway (`alicloud.vpn.Connection`), the data-centre end is strongSwan.
// The two ends only come up when they agree exactly on every algorithm, so both are
// rendered here from ONE `IpsecProposal`, through one name table.
//
// The pre-shared key never appears in anything this file renders for review: the
// swanctl.conf `include`s a separate secrets file, and the Alibaba configs leave `psk`
// to the caller, who passes the Pulumi secret.
//
// Pure: no Pulumi imports. Checked in test/fleet/ipsec.test.ts by a real charon.

import { overlaps, parseCidr, parseIp } from "../../policies/rules/cidr";

/** Alibaba `ikeEncAlg`/`ipsecEncAlg` values we allow (Alibaba's `aes` is AES-128-CBC). */
export type AlibabaEncAlg = "aes" | "aes192" | "aes256";
/** Alibaba `ikeAuthAlg`/`ipsecAuthAlg` values we allow (SHA-2 only). */
export type AlibabaAuthAlg = "sha256" | "sha384" | "sha512";
/**
 * Alibaba `ikePfs`/`ipsecPfs` values we allow. Alibaba's VPN gateway offers group1,
 * group2, group5 and group14 (CreateVpnConnection, and @pulumi/alicloud's
 * ConnectionIkeConfig docs); some older docs also list group24. Of those only group14
 * (2048-bit MODP) is strong enough: 1/2/5 are under 2048 bits, and RFC 8247 says group24
 * SHOULD NOT be used. The ECP groups (19-21) would be better but Alibaba does not offer them.
 */
export type AlibabaDhGroup = "group14";

/** One set of algorithms, shared by both ends of a link. Names are Alibaba's. */
export interface IpsecProposal {
  /** IKEv2 only: IKEv1 needs aggressive/main mode tuning and has no proper rekeying of the IKE SA. */
  ikeVersion: "ikev2";
  /** Phase 1 (IKE SA) cipher. */
  ikeEncAlg: AlibabaEncAlg;
  /** Phase 1 integrity and PRF. */
  ikeAuthAlg: AlibabaAuthAlg;
  /** Phase 1 Diffie-Hellman group. */
  ikePfs: AlibabaDhGroup;
  /** Phase 1 SA lifetime; Alibaba accepts at most 86400 s. */
  ikeLifetimeSeconds: number;
  /** Phase 2 (ESP) cipher. */
  ipsecEncAlg: AlibabaEncAlg;
  /** Phase 2 integrity. */
  ipsecAuthAlg: AlibabaAuthAlg;
  /** Phase 2 PFS group; "disabled" is refused so a stolen IKE key does not open past traffic. */
  ipsecPfs: AlibabaDhGroup;
  /** Phase 2 SA lifetime; Alibaba accepts at most 86400 s. */
  ipsecLifetimeSeconds: number;
}

export const DEFAULT_PROPOSAL: IpsecProposal = Object.freeze({
  ikeVersion: "ikev2",
  ikeEncAlg: "aes256",
  ikeAuthAlg: "sha256",
  ikePfs: "group14",
  ikeLifetimeSeconds: 86400,
  ipsecEncAlg: "aes256",
  ipsecAuthAlg: "sha256",
  ipsecPfs: "group14",
  ipsecLifetimeSeconds: 3600,
});

/** Alibaba cipher name -> strongSwan keyword. */
export const ENC_ALG_STRONGSWAN: Readonly<Record<string, string>> = Object.freeze({
  aes: "aes128",
  aes192: "aes192",
  aes256: "aes256",
  des: "des",
  "3des": "3des",
});

/** Alibaba integrity name -> strongSwan keyword (HMAC with RFC 4868 128/192/256-bit ICVs). */
export const AUTH_ALG_STRONGSWAN: Readonly<Record<string, string>> = Object.freeze({
  md5: "md5",
  sha1: "sha1",
  sha256: "sha256",
  sha384: "sha384",
  sha512: "sha512",
});

/** IKE Diffie-Hellman group number (Alibaba's `groupN`) -> strongSwan keyword (RFC 3526/5903/5114). */
export const DH_GROUP_STRONGSWAN: Readonly<Record<string, string>> = Object.freeze({
  group1: "modp768",
  group2: "modp1024",
  group5: "modp1536",
  group14: "modp2048",
  group15: "modp3072",
  group16: "modp4096",
  group19: "ecp256",
  group20: "ecp384",
  group21: "ecp521",
  group24: "modp2048s256",
});

const ALLOWED_ENC: readonly string[] = ["aes", "aes192", "aes256"];
const ALLOWED_AUTH: readonly string[] = ["sha256", "sha384", "sha512"];
const ALLOWED_DH: readonly string[] = ["group14"];
const WEAK_ENC: Record<string, string> = { des: "DES has a 56-bit key", "3des": "3DES has a 64-bit block (Sweet32)" };
const WEAK_AUTH: Record<string, string> = { md5: "MD5 is broken", sha1: "SHA-1 is deprecated for IKE/ESP" };
const WEAK_DH: Record<string, string> = {
  group1: "a 768-bit MODP group is breakable",
  group2: "a 1024-bit MODP group is breakable",
  group5: "a 1536-bit MODP group is below 2048 bits",
  group24: "RFC 8247 says group24 SHOULD NOT be used",
  disabled: "without PFS one stolen IKE key decrypts past traffic",
};
/** Alibaba accepts 0..86400 s; below 5 minutes the link spends its time rekeying. */
const MIN_LIFETIME = 300;
const MAX_LIFETIME = 86400;

function checkChoice(problems: string[], field: string, value: unknown, allowed: readonly string[], weak: Record<string, string>): void {
  if (typeof value === "string" && allowed.includes(value)) return;
  const shown = JSON.stringify(value);
  if (typeof value === "string" && value in weak) {
    problems.push(`${field} ${shown} is too weak (${weak[value]}); use one of ${allowed.join(", ")}`);
  } else {
    problems.push(`${field} ${shown} is not supported by both Alibaba VPN gateway and this platform; use one of ${allowed.join(", ")}`);
  }
}

function checkLifetime(problems: string[], field: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < MIN_LIFETIME || value > MAX_LIFETIME) {
    problems.push(`${field} must be a whole number of seconds from ${MIN_LIFETIME} to ${MAX_LIFETIME} (Alibaba's maximum), got ${JSON.stringify(value)}`);
  }
}

/**
 * Throws one error listing every weak or unsupported choice, each naming its field
 * (`<field>.ikePfs ...`). `p` may come straight from YAML, so every value is checked
 * at run time, not only by the type.
 */
export function validateProposal(p: IpsecProposal, field = "proposal"): void {
  const problems: string[] = [];
  if (p === null || typeof p !== "object") throw new Error(`${field} must be an object`);
  if (p.ikeVersion !== "ikev2") {
    problems.push(`${field}.ikeVersion ${JSON.stringify(p.ikeVersion)} is refused; only "ikev2" (IKEv1 is legacy and rekeys poorly)`);
  }
  checkChoice(problems, `${field}.ikeEncAlg`, p.ikeEncAlg, ALLOWED_ENC, WEAK_ENC);
  checkChoice(problems, `${field}.ikeAuthAlg`, p.ikeAuthAlg, ALLOWED_AUTH, WEAK_AUTH);
  checkChoice(problems, `${field}.ikePfs`, p.ikePfs, ALLOWED_DH, WEAK_DH);
  checkLifetime(problems, `${field}.ikeLifetimeSeconds`, p.ikeLifetimeSeconds);
  checkChoice(problems, `${field}.ipsecEncAlg`, p.ipsecEncAlg, ALLOWED_ENC, WEAK_ENC);
  checkChoice(problems, `${field}.ipsecAuthAlg`, p.ipsecAuthAlg, ALLOWED_AUTH, WEAK_AUTH);
  checkChoice(problems, `${field}.ipsecPfs`, p.ipsecPfs, ALLOWED_DH, WEAK_DH);
  checkLifetime(problems, `${field}.ipsecLifetimeSeconds`, p.ipsecLifetimeSeconds);
  if (problems.length > 0) throw new Error(problems.join("; "));
}

/** Shape of @pulumi/alicloud `vpn.Connection` `ikeConfig`, minus `psk` (the caller adds the secret). */
export interface AlicloudIkeConfig {
  ikeVersion: string;
  ikeMode: "main";
  ikeEncAlg: string;
  ikeAuthAlg: string;
  ikePfs: string;
  ikeLifetime: number;
  ikeLocalId?: string;
  ikeRemoteId?: string;
}

/** Shape of @pulumi/alicloud `vpn.Connection` `ipsecConfig`. */
export interface AlicloudIpsecConfig {
  ipsecEncAlg: string;
  ipsecAuthAlg: string;
  ipsecPfs: string;
  ipsecLifetime: number;
}

/**
 * The cloud side's phase 1 settings. `localId` is the VPN gateway's identity and
 * `remoteId` the customer gateway's; Alibaba defaults both to the public IPs, which is
 * what the swanctl side uses unless told otherwise.
 */
export function alicloudIkeConfig(p: IpsecProposal, opts: { localId?: string; remoteId?: string } = {}): AlicloudIkeConfig {
  validateProposal(p);
  const out: AlicloudIkeConfig = {
    ikeVersion: p.ikeVersion,
    ikeMode: "main",
    ikeEncAlg: p.ikeEncAlg,
    ikeAuthAlg: p.ikeAuthAlg,
    ikePfs: p.ikePfs,
    ikeLifetime: p.ikeLifetimeSeconds,
  };
  if (opts.localId !== undefined) out.ikeLocalId = checkId(opts.localId, "ikeConfig.localId");
  if (opts.remoteId !== undefined) out.ikeRemoteId = checkId(opts.remoteId, "ikeConfig.remoteId");
  return out;
}

/** The cloud side's phase 2 settings. */
export function alicloudIpsecConfig(p: IpsecProposal): AlicloudIpsecConfig {
  validateProposal(p);
  return {
    ipsecEncAlg: p.ipsecEncAlg,
    ipsecAuthAlg: p.ipsecAuthAlg,
    ipsecPfs: p.ipsecPfs,
    ipsecLifetime: p.ipsecLifetimeSeconds,
  };
}

function mapName(table: Readonly<Record<string, string>>, value: string, field: string): string {
  const name = table[value];
  if (name === undefined) throw new Error(`${field} ${JSON.stringify(value)} has no strongSwan equivalent`);
  return name;
}

/** swanctl `proposals` for the IKE SA, e.g. "aes256-sha256-modp2048" (integrity doubles as PRF). */
export function strongswanIkeProposal(p: IpsecProposal): string {
  return [
    mapName(ENC_ALG_STRONGSWAN, p.ikeEncAlg, "proposal.ikeEncAlg"),
    mapName(AUTH_ALG_STRONGSWAN, p.ikeAuthAlg, "proposal.ikeAuthAlg"),
    mapName(DH_GROUP_STRONGSWAN, p.ikePfs, "proposal.ikePfs"),
  ].join("-");
}

/** swanctl `esp_proposals` for the CHILD SA, e.g. "aes256-sha256-modp2048" (the group is ESP's PFS). */
export function strongswanEspProposal(p: IpsecProposal): string {
  return [
    mapName(ENC_ALG_STRONGSWAN, p.ipsecEncAlg, "proposal.ipsecEncAlg"),
    mapName(AUTH_ALG_STRONGSWAN, p.ipsecAuthAlg, "proposal.ipsecAuthAlg"),
    mapName(DH_GROUP_STRONGSWAN, p.ipsecPfs, "proposal.ipsecPfs"),
  ].join("-");
}

export interface SwanctlSettings {
  /** Link name, e.g. "dc-prod1"; tunnel n's connection, child and secret are `<name>-tn` (`ike-<name>-tn`). */
  name: string;
  /** The data-centre gateway's public IP (local side in swanctl); also its IKE identity. */
  localAddress: string;
  /**
   * Note: only when the data-centre gateway sits behind NAT: its own private address,
   * which charon must bind to. Defaults to `localAddress`. The identity stays the public IP,
   * which is what Alibaba's customer gateway expects.
   */
  localBindAddress?: string;
  /**
   * The Alibaba VPN gateway's two public IPs, each also its tunnel's IKE identity:
   * [internetIp (tunnel 1, role master), disasterRecoveryInternetIp (tunnel 2, role slave)].
   * A dual-tunnel gateway terminates one tunnel on each (vpn_gateway doc,
   * `disaster_recovery_internet_ip`); both must be up for the standby to take over.
   */
  remoteAddresses: [string, string];
  /** Data-centre subnets carried by the tunnel (swanctl `local_ts`, Alibaba `remoteSubnet`). */
  localSubnets: string[];
  /** Cluster ranges carried by the tunnel (swanctl `remote_ts`, Alibaba `localSubnet`). */
  remoteSubnets: string[];
  /** The algorithms; the same object must feed `alicloudIkeConfig`/`alicloudIpsecConfig`. */
  proposal: IpsecProposal;
  /** Path of the secrets file swanctl.conf includes (relative paths resolve from swanctl.conf's directory); the PSK itself never appears in swanctl.conf. */
  secretsFile: string;
  /** Dead peer detection interval. Default 30 s, so a dead tunnel is noticed and restarted within a couple of minutes. */
  dpdDelaySeconds?: number;
}

/** swanctl section names: no dots (they are key paths), braces, spaces or `=`; at most 61 so `-t1`/`-t2` keep tunnel names within 64. */
const SECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,60}$/;

function checkName(name: unknown, field: string): string {
  if (typeof name !== "string" || !SECTION_NAME.test(name)) {
    throw new Error(`${field} must be 1-61 letters, digits, "-" or "_" (it names the swanctl sections), got ${JSON.stringify(name)}`);
  }
  return name;
}

function checkIp(ip: unknown, field: string): string {
  try {
    parseIp(String(ip));
  } catch {
    throw new Error(`${field} must be an IPv4 address, got ${JSON.stringify(ip)}`);
  }
  return String(ip);
}

/** Alibaba allows at most 100 characters for ikeLocalId/ikeRemoteId; swanctl needs no spaces or quotes. */
function checkId(id: string, field: string): string {
  if (typeof id !== "string" || id.length === 0 || id.length > 100 || /[\s"{}#]/.test(id)) {
    throw new Error(`${field} must be 1-100 characters without spaces, quotes, braces or "#", got ${JSON.stringify(id)}`);
  }
  return id;
}

function checkSubnets(list: unknown, field: string): string[] {
  if (!Array.isArray(list) || list.length === 0) throw new Error(`${field} must list at least one CIDR`);
  return list.map((c, i) => {
    try {
      parseCidr(String(c));
    } catch (e) {
      throw new Error(`${field}[${i}]: ${(e as Error).message}`, { cause: e });
    }
    return String(c);
  });
}

/** Throws on the first bad field; every message names the field. */
export function validateSwanctlSettings(s: SwanctlSettings): void {
  checkName(s.name, "name");
  checkIp(s.localAddress, "localAddress");
  if (s.localBindAddress !== undefined) checkIp(s.localBindAddress, "localBindAddress");
  if (!Array.isArray(s.remoteAddresses) || s.remoteAddresses.length !== 2) {
    throw new Error(`remoteAddresses must list the VPN gateway's two tunnel addresses, got ${JSON.stringify(s.remoteAddresses)}`);
  }
  s.remoteAddresses.forEach((a, i) => checkIp(a, `remoteAddresses[${i}]`));
  if (s.remoteAddresses[0] === s.remoteAddresses[1]) throw new Error(`remoteAddresses are both ${s.remoteAddresses[0]}; a dual-tunnel gateway has two`);
  for (const a of s.remoteAddresses) {
    if (s.localAddress === a) throw new Error(`localAddress and a remote address are both ${a}`);
  }
  const local = checkSubnets(s.localSubnets, "localSubnets");
  const remote = checkSubnets(s.remoteSubnets, "remoteSubnets");
  // An overlap would make the tunnel's traffic selectors swallow local traffic.
  for (const l of local) {
    for (const r of remote) {
      if (overlaps(l, r)) throw new Error(`localSubnets ${l} overlaps remoteSubnets ${r}`);
    }
  }
  validateProposal(s.proposal, "proposal");
  if (typeof s.secretsFile !== "string" || s.secretsFile.length === 0 || /[\s"{}#*?[\]]/.test(s.secretsFile)) {
    throw new Error(`secretsFile must be a path without spaces, quotes, braces, "#" or glob characters, got ${JSON.stringify(s.secretsFile)}`);
  }
  const dpd = s.dpdDelaySeconds;
  if (dpd !== undefined && (!Number.isInteger(dpd) || dpd < 5 || dpd > 300)) {
    throw new Error(`dpdDelaySeconds must be a whole number from 5 to 300, got ${JSON.stringify(dpd)}`);
  }
}

/**
 * strongSwan rekeys at 90% of Alibaba's lifetime and hard-expires at 100%, so the
 * data-centre end renews the SA before the cloud end drops it (rand_time spreads the
 * rekeys of several links over the last 10%).
 */
function rekeyAt(lifetime: number): number {
  return Math.floor(lifetime * 0.9);
}

/** Tunnel n's connection, child and secret name: `<name>-t1`, `<name>-t2`. */
export function tunnelName(name: string, tunnel: 1 | 2): string {
  return `${name}-t${tunnel}`;
}

/**
 * Policy priorities of the two tunnels' CHILD_SAs (lower wins). Both carry the same
 * traffic selectors; charon keeps one kernel policy per selector and points it at the
 * CHILD_SA with the best priority, moving it to the other one when that SA goes (DPD,
 * delete). So tunnel 1 carries the traffic while it is up, like Alibaba's master tunnel.
 */
export const TUNNEL_POLICY_PRIORITY = { 1: 1000, 2: 2000 } as const;

/**
 * The data-centre side's swanctl.conf for one link: one connection per tunnel of the
 * dual-tunnel VPN gateway. Two connections rather than one with two `remote_addrs`:
 * charon initiates to one address only, so a single connection would leave the standby
 * tunnel down, and Alibaba's failover needs both tunnels negotiated. The PSK is not in it:
 * the file ends with `include <secretsFile>` (render that with `renderSwanctlSecrets`, mode 0600).
 */
export function renderSwanctlConf(s: SwanctlSettings): string {
  validateSwanctlSettings(s);
  const [master, standby] = s.remoteAddresses;
  return [
    `# IPsec link ${s.name}: data centre ${s.localAddress} <-> Alibaba VPN gateway ${master} (tunnel 1, master) and ${standby} (tunnel 2, standby).`,
    `# Rendered from the same proposal as the alicloud.vpn.Connection; edit that, not this file.`,
    `# The pre-shared key is only in ${s.secretsFile}, included at the end.`,
    `connections {`,
    ...renderTunnel(s, 1, master),
    ...renderTunnel(s, 2, standby),
    `}`,
    ``,
    `include ${s.secretsFile}`,
    ``,
  ].join("\n");
}

function renderTunnel(s: SwanctlSettings, tunnel: 1 | 2, remoteAddress: string): string[] {
  const p = s.proposal;
  const name = tunnelName(s.name, tunnel);
  const ikeRekey = rekeyAt(p.ikeLifetimeSeconds);
  const childRekey = rekeyAt(p.ipsecLifetimeSeconds);
  return [
    `  ${name} {`,
    `    version = 2`,
    `    local_addrs = ${s.localBindAddress ?? s.localAddress}`,
    `    remote_addrs = ${remoteAddress}`,
    `    proposals = ${strongswanIkeProposal(p)}`,
    `    rekey_time = ${ikeRekey}s`,
    `    over_time = ${p.ikeLifetimeSeconds - ikeRekey}s`,
    `    dpd_delay = ${s.dpdDelaySeconds ?? 30}s`,
    `    # Always UDP 4500: NAT-T must be on at both ends (Alibaba enableNatTraversal).`,
    `    encap = yes`,
    `    # Fixed addresses at both ends: nothing moves, so no MOBIKE.`,
    `    mobike = no`,
    `    local {`,
    `      auth = psk`,
    `      id = ${s.localAddress}`,
    `    }`,
    `    remote {`,
    `      auth = psk`,
    `      id = ${remoteAddress}`,
    `    }`,
    `    children {`,
    `      ${name} {`,
    `        local_ts = ${s.localSubnets.join(",")}`,
    `        remote_ts = ${s.remoteSubnets.join(",")}`,
    `        esp_proposals = ${strongswanEspProposal(p)}`,
    `        rekey_time = ${childRekey}s`,
    `        life_time = ${p.ipsecLifetimeSeconds}s`,
    `        # Same selectors on both tunnels: tunnel ${tunnel === 1 ? "1 wins while it is up" : "2 takes over when tunnel 1 goes"}.`,
    `        priority = ${TUNNEL_POLICY_PRIORITY[tunnel]}`,
    `        dpd_action = restart`,
    `        # The data centre brings the tunnel up at start, not on first packet.`,
    `        start_action = start`,
    `      }`,
    `    }`,
    `  }`,
  ];
}

/**
 * Alibaba's rule for a PSK (1-100 characters: letters, digits and
 * ~!`@#$%^&*()_-+={}[]|;:',.<>/?), tightened to at least 16 characters: IKEv2 with a
 * short PSK can be brute-forced offline from one captured handshake.
 */
const PSK = /^[A-Za-z0-9~!`@#$%^&*()_\-+={}[\]|;:',.<>/?]{16,100}$/;

/**
 * The secrets file swanctl.conf includes. The key is written as `0x<hex>` so no
 * character of it can break the swanctl syntax; charon decodes it to the same bytes
 * Alibaba receives as `psk`.
 */
export function renderSwanctlSecrets(s: { name: string; localAddress: string; remoteAddresses: [string, string]; psk: string }): string {
  checkName(s.name, "name");
  checkIp(s.localAddress, "localAddress");
  s.remoteAddresses.forEach((a, i) => checkIp(a, `remoteAddresses[${i}]`));
  // Never echo the PSK in an error: errors end up in logs.
  if (typeof s.psk !== "string" || !PSK.test(s.psk)) {
    throw new Error("psk must be 16-100 characters from Alibaba's set (letters, digits, ~!`@#$%^&*()_-+={}[]|;:',.<>/?)");
  }
  const hex = `0x${Buffer.from(s.psk, "utf8").toString("hex")}`;
  return [
    `# Secret for IPsec link ${s.name}, both tunnels. Keep this file mode 0600, out of version control.`,
    `secrets {`,
    ...([1, 2] as const).flatMap((t) => [
      `  ike-${tunnelName(s.name, t)} {`,
      `    id-1 = ${s.localAddress}`,
      `    id-2 = ${s.remoteAddresses[t - 1]}`,
      `    secret = ${hex}`,
      `  }`,
    ]),
    `}`,
    ``,
  ].join("\n");
}
