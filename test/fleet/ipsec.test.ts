// IPsec proposals and the data-centre side's swanctl.conf, checked by the real strongSwan.
//
// Two throwaway charons run in a private network namespace (only `lo`, nothing can
// leave it) and private mount namespaces (each needs its own /var/run/charon.pid):
//   "dc"  loads what renderSwanctlConf/renderSwanctlSecrets produce;
//   "ali" stands in for the Alibaba VPN gateway, configured from alicloudIkeConfig/
//         alicloudIpsecConfig and given the PSK as a plain string, as Alibaba gets it.
// Charon's own names for the algorithms are compared with a table written here, not
// with the module's table, so a wrong mapping fails the test.

import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import {
  alicloudIkeConfig,
  alicloudIpsecConfig,
  AUTH_ALG_STRONGSWAN,
  DEFAULT_PROPOSAL,
  DH_GROUP_STRONGSWAN,
  ENC_ALG_STRONGSWAN,
  IpsecProposal,
  renderSwanctlConf,
  renderSwanctlSecrets,
  strongswanEspProposal,
  strongswanIkeProposal,
  SwanctlSettings,
  tunnelName,
  TUNNEL_POLICY_PRIORITY,
  validateProposal,
} from "../../components/fleet/ipsec";

const CHARON = "/usr/lib/ipsec/charon";
const PSK = "Thr0w-away_PSK#1{x}[y]|;:',.<>/?!~`@$%^&*()+=";
const DC_IP = "127.0.0.1";
/** The dual-tunnel VPN gateway's two addresses: tunnel 1 (master) and tunnel 2 (standby). */
const ALI_IP = "127.0.0.2";
const ALI_IP2 = "127.0.0.3";

// ---------------------------------------------------------------- pure mapping

describe("Alibaba <-> strongSwan names", () => {
  it.each([
    ["group1", "modp768"],
    ["group2", "modp1024"],
    ["group5", "modp1536"],
    ["group14", "modp2048"],
    ["group15", "modp3072"],
    ["group16", "modp4096"],
    ["group19", "ecp256"],
    ["group20", "ecp384"],
    ["group21", "ecp521"],
    ["group24", "modp2048s256"],
  ])("DH %s is strongSwan %s", (alibaba, swan) => {
    expect(DH_GROUP_STRONGSWAN[alibaba]).toBe(swan);
  });

  it.each([
    ["aes", "aes128"],
    ["aes192", "aes192"],
    ["aes256", "aes256"],
  ])("cipher %s is strongSwan %s (Alibaba's plain aes is AES-128)", (alibaba, swan) => {
    expect(ENC_ALG_STRONGSWAN[alibaba]).toBe(swan);
  });

  it.each(["sha256", "sha384", "sha512"])("integrity %s keeps its name", (alg) => {
    expect(AUTH_ALG_STRONGSWAN[alg]).toBe(alg);
  });

  it("renders the default proposal for both ends", () => {
    expect(strongswanIkeProposal(DEFAULT_PROPOSAL)).toBe("aes256-sha256-modp2048");
    expect(strongswanEspProposal(DEFAULT_PROPOSAL)).toBe("aes256-sha256-modp2048");
    expect(alicloudIkeConfig(DEFAULT_PROPOSAL, {})).toEqual({
      ikeVersion: "ikev2",
      ikeMode: "main",
      ikeEncAlg: "aes256",
      ikeAuthAlg: "sha256",
      ikePfs: "group14",
      ikeLifetime: 86400,
    });
    expect(alicloudIpsecConfig(DEFAULT_PROPOSAL)).toEqual({
      ipsecEncAlg: "aes256",
      ipsecAuthAlg: "sha256",
      ipsecPfs: "group14",
      ipsecLifetime: 3600,
    });
  });

  it("passes identities through and never carries a psk", () => {
    const ike = alicloudIkeConfig(DEFAULT_PROPOSAL, { localId: "47.100.1.1", remoteId: "dc-gw.example.com" });
    expect(ike.ikeLocalId).toBe("47.100.1.1");
    expect(ike.ikeRemoteId).toBe("dc-gw.example.com");
    expect(Object.keys(ike)).not.toContain("psk");
    expect(() => alicloudIkeConfig(DEFAULT_PROPOSAL, { remoteId: "a b" })).toThrow("ikeConfig.remoteId");
  });
});

describe("weak or unsupported proposals are refused", () => {
  const bad = (patch: Record<string, unknown>) => ({ ...DEFAULT_PROPOSAL, ...patch }) as unknown as IpsecProposal;

  it.each([
    [{ ikeVersion: "ikev1" }, 'proposal.ikeVersion "ikev1" is refused'],
    [{ ikeEncAlg: "3des" }, 'proposal.ikeEncAlg "3des" is too weak'],
    [{ ipsecEncAlg: "des" }, 'proposal.ipsecEncAlg "des" is too weak'],
    [{ ikeAuthAlg: "md5" }, 'proposal.ikeAuthAlg "md5" is too weak'],
    [{ ipsecAuthAlg: "sha1" }, 'proposal.ipsecAuthAlg "sha1" is too weak'],
    [{ ikePfs: "group2" }, 'proposal.ikePfs "group2" is too weak'],
    [{ ikePfs: "group5" }, 'proposal.ikePfs "group5" is too weak'],
    [{ ipsecPfs: "disabled" }, 'proposal.ipsecPfs "disabled" is too weak'],
    [{ ikePfs: "group24" }, 'proposal.ikePfs "group24" is too weak'],
    [{ ikePfs: "group19" }, 'proposal.ikePfs "group19" is not supported by both Alibaba'],
    [{ ikeLifetimeSeconds: 90000 }, "proposal.ikeLifetimeSeconds must be a whole number of seconds from 300 to 86400"],
    [{ ipsecLifetimeSeconds: 60 }, "proposal.ipsecLifetimeSeconds must be"],
    [{ ipsecLifetimeSeconds: 3600.5 }, "proposal.ipsecLifetimeSeconds must be"],
  ])("%j", (patch, message) => {
    expect(() => validateProposal(bad(patch))).toThrow(message);
  });

  it("names the caller's field and reports every problem at once", () => {
    let msg = "";
    try {
      validateProposal(bad({ ikeAuthAlg: "sha1", ipsecPfs: "group1" }), "platform:ipsec.links[0].proposal");
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('platform:ipsec.links[0].proposal.ikeAuthAlg "sha1" is too weak');
    expect(msg).toContain('platform:ipsec.links[0].proposal.ipsecPfs "group1" is too weak');
  });

  it("renderers refuse weak proposals too", () => {
    expect(() => alicloudIkeConfig(bad({ ikePfs: "group2" }), {})).toThrow("proposal.ikePfs");
    expect(() => alicloudIpsecConfig(bad({ ipsecAuthAlg: "md5" }))).toThrow("proposal.ipsecAuthAlg");
    expect(() => renderSwanctlConf({ ...settings(), proposal: bad({ ikeEncAlg: "des" }) })).toThrow("proposal.ikeEncAlg");
  });
});

function settings(patch: Partial<SwanctlSettings> = {}): SwanctlSettings {
  return {
    name: "dc-prod1",
    localAddress: DC_IP,
    remoteAddresses: [ALI_IP, ALI_IP2],
    localSubnets: ["192.168.0.0/16"],
    remoteSubnets: ["10.40.0.0/16", "10.140.0.0/16", "10.240.0.0/20"],
    proposal: DEFAULT_PROPOSAL,
    secretsFile: "dc-prod1.secrets.conf",
    ...patch,
  };
}

describe("swanctl renderers", () => {
  it("keeps the PSK out of swanctl.conf and includes the secrets file last", () => {
    const conf = renderSwanctlConf(settings());
    expect(conf).not.toContain(PSK);
    expect(conf).not.toMatch(/^\s*secret\s*=/m);
    expect(conf.trimEnd().split("\n").pop()).toBe("include dc-prod1.secrets.conf");
  });

  it("renders one connection per tunnel, each to its own gateway address, tunnel 1 preferred", () => {
    const conf = renderSwanctlConf(settings());
    expect(conf.match(/^ {2}\S+ \{$/gm)).toEqual(["  dc-prod1-t1 {", "  dc-prod1-t2 {"]);
    expect(conf.match(/remote_addrs = .*/g)).toEqual([`remote_addrs = ${ALI_IP}`, `remote_addrs = ${ALI_IP2}`]);
    expect(conf.match(/priority = \d+/g)).toEqual([`priority = ${TUNNEL_POLICY_PRIORITY[1]}`, `priority = ${TUNNEL_POLICY_PRIORITY[2]}`]);
    expect(TUNNEL_POLICY_PRIORITY[1]).toBeLessThan(TUNNEL_POLICY_PRIORITY[2]);
    const secrets = renderSwanctlSecrets({ name: "dc-prod1", localAddress: DC_IP, remoteAddresses: [ALI_IP, ALI_IP2], psk: PSK });
    expect(secrets.match(/id-2 = .*/g)).toEqual([`id-2 = ${ALI_IP}`, `id-2 = ${ALI_IP2}`]);
  });

  it("binds to the private address behind NAT but keeps the public IP as identity", () => {
    const conf = renderSwanctlConf(settings({ localAddress: "203.0.113.10", localBindAddress: "10.9.0.5" }));
    expect(conf).toContain("local_addrs = 10.9.0.5");
    expect(conf).toMatch(/local \{\n\s+auth = psk\n\s+id = 203\.0\.113\.10\n/);
  });

  it("writes the PSK as hex so no character can break the swanctl syntax", () => {
    const secrets = renderSwanctlSecrets({ name: "dc-prod1", localAddress: DC_IP, remoteAddresses: [ALI_IP, ALI_IP2], psk: PSK });
    expect(secrets).toContain(`secret = 0x${Buffer.from(PSK).toString("hex")}`);
    expect(secrets).not.toContain(PSK);
  });

  it("refuses a short PSK without echoing it", () => {
    const short = "hunter2hunter2";
    let msg = "";
    try {
      renderSwanctlSecrets({ name: "x", localAddress: DC_IP, remoteAddresses: [ALI_IP, ALI_IP2], psk: short });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain("psk must be 16-100 characters");
    expect(msg).not.toContain(short);
    expect(() => renderSwanctlSecrets({ name: "x", localAddress: DC_IP, remoteAddresses: [ALI_IP, ALI_IP2], psk: 'has"quote-and-more-chars' })).toThrow("psk");
  });

  it.each<[Partial<SwanctlSettings>, string]>([
    [{ name: "dc.prod1" }, "name must be"],
    [{ localAddress: "203.0.113" }, "localAddress must be an IPv4 address"],
    [{ remoteAddresses: [DC_IP, ALI_IP2] }, "localAddress and a remote address are both"],
    [{ remoteAddresses: [ALI_IP, ALI_IP] }, "remoteAddresses are both 127.0.0.2; a dual-tunnel gateway has two"],
    [{ remoteAddresses: [ALI_IP] as unknown as [string, string] }, "remoteAddresses must list the VPN gateway's two tunnel addresses"],
    [{ localSubnets: [] }, "localSubnets must list at least one CIDR"],
    [{ remoteSubnets: ["10.40.0.1/16"] }, "remoteSubnets[0]"],
    [{ localSubnets: ["10.0.0.0/8"] }, "localSubnets 10.0.0.0/8 overlaps remoteSubnets 10.40.0.0/16"],
    [{ secretsFile: "my secrets.conf" }, "secretsFile must be"],
    [{ dpdDelaySeconds: 0 }, "dpdDelaySeconds must be"],
  ])("refuses %j", (patch, message) => {
    expect(() => renderSwanctlConf(settings(patch))).toThrow(message);
  });
});

// ---------------------------------------------------------------- real strongSwan

/** Charon's names, written independently of the module's table. */
const CHARON_ENC: Record<string, string> = { aes: "AES_CBC_128", aes192: "AES_CBC_192", aes256: "AES_CBC_256" };
const CHARON_INTEG: Record<string, string> = {
  sha256: "HMAC_SHA2_256_128",
  sha384: "HMAC_SHA2_384_192",
  sha512: "HMAC_SHA2_512_256",
};
const CHARON_PRF: Record<string, string> = { sha256: "PRF_HMAC_SHA2_256", sha384: "PRF_HMAC_SHA2_384", sha512: "PRF_HMAC_SHA2_512" };
const CHARON_DH: Record<string, string> = { group14: "MODP_2048" };
/** The "Alibaba" peer's swanctl keywords, also written independently. */
const PEER_ENC: Record<string, string> = { aes: "aes128", aes192: "aes192", aes256: "aes256" };
const PEER_DH: Record<string, string> = { group14: "modp2048" };

function charonIke(p: IpsecProposal): string {
  return `IKE:${CHARON_ENC[p.ikeEncAlg]}/${CHARON_INTEG[p.ikeAuthAlg]}/${CHARON_PRF[p.ikeAuthAlg]}/${CHARON_DH[p.ikePfs]}`;
}
function charonEsp(p: IpsecProposal): string {
  return `ESP:${CHARON_ENC[p.ipsecEncAlg]}/${CHARON_INTEG[p.ipsecAuthAlg]}/${CHARON_DH[p.ipsecPfs]}/NO_EXT_SEQ`;
}

interface Charon {
  name: string;
  proc: ChildProcess;
  conf: string;
  socket: string;
  log: string;
  stderr: string[];
  exited: Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function requireTool(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 10000 });
  if (r.error) throw new Error(`${cmd} is required for this test (${r.error.message}); CI installs it`);
}

function canConnect(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

function writeStrongswanConf(dir: string, name: string, port: number, natPort: number): Omit<Charon, "proc" | "stderr" | "exited"> {
  const socket = path.join(dir, `${name}.vici`);
  const log = path.join(dir, `${name}.log`);
  const conf = path.join(dir, `${name}.strongswan.conf`);
  fs.writeFileSync(
    conf,
    `charon {
  # kdf: strongSwan 5.9.8+ derives IKE keys through it.
  load = random nonce openssl aes sha1 sha2 hmac kdf gmp pem pkcs1 x509 pubkey kernel-netlink socket-default vici
  port = ${port}
  port_nat_t = ${natPort}
  threads = 8
  # Fast retransmits so DPD gives up on a dark tunnel within seconds (default 5 tries, ~165 s).
  retransmit_timeout = 1
  retransmit_base = 1
  retransmit_tries = 2
  install_routes = no
  routing_table = 0
  filelog {
    test {
      path = ${log}
      default = 1
      cfg = 2
      flush_line = yes
    }
  }
  plugins {
    vici {
      socket = unix://${socket}
    }
  }
}
swanctl {
  load = pem pkcs1 x509 pubkey openssl random
}
`,
  );
  return { name, conf, socket, log };
}

/** Starts charon; resolves once its VICI socket answers, or throws with charon's stderr. */
async function startCharon(files: Omit<Charon, "proc" | "stderr" | "exited">, cmd: string, args: string[]): Promise<Charon> {
  const proc = spawn(cmd, args, { env: { ...process.env, STRONGSWAN_CONF: files.conf }, stdio: ["ignore", "ignore", "pipe"] });
  const stderr: string[] = [];
  proc.stderr?.on("data", (d: Buffer) => stderr.push(d.toString()));
  let gone = false;
  const exited = new Promise<void>((resolve) => {
    proc.once("exit", () => {
      gone = true;
      resolve();
    });
    proc.once("error", (e) => {
      stderr.push(String(e));
      gone = true;
      resolve();
    });
  });
  const charon: Charon = { ...files, proc, stderr, exited };
  const deadline = Date.now() + 8000;
  while (Date.now() < deadline && !gone) {
    if (await canConnect(files.socket)) return charon;
    await sleep(50);
  }
  await stopCharon(charon);
  const log = fs.existsSync(files.log) ? fs.readFileSync(files.log, "utf8") : "";
  throw new Error(`charon "${files.name}" did not come up via ${cmd}: ${stderr.join("").slice(-1500)}\n${log.slice(-1500)}`);
}

async function stopCharon(c: Charon | undefined): Promise<void> {
  if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill("SIGTERM");
  if (!(await exitsWithin(c, 5000))) {
    c.proc.kill("SIGKILL");
    await exitsWithin(c, 2000);
  }
}

/** True when charon exits within `ms`; the timer is cleared so jest has nothing left open. */
async function exitsWithin(c: Charon, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([c.exited.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function swanctl(c: Charon, args: string[]): { status: number | null; out: string } {
  const r = spawnSync("swanctl", [...args, "--uri", `unix://${c.socket}`], {
    env: { ...process.env, STRONGSWAN_CONF: c.conf },
    encoding: "utf8",
    timeout: 15000,
  });
  if (r.error) throw new Error(`swanctl ${args.join(" ")}: ${r.error.message}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The `load-conn` dump charon logs for one connection: key -> values (child keys are prefixed "child."). */
async function loadedConn(c: Charon, conn: string): Promise<Record<string, string>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const lines = fs.readFileSync(c.log, "utf8").split("\n");
    const start = lines.findIndex((l) => new RegExp(`\\[CFG\\]  conn ${conn}:$`).test(l));
    const thread = start >= 0 ? lines[start].slice(0, 2) : "";
    const end = lines.findIndex((l, i) => i > start && l.startsWith(thread) && l.endsWith(`added vici connection: ${conn}`));
    if (start >= 0 && end > start) {
      const out: Record<string, string> = {};
      // Charon indents: 3 spaces for the conn's keys and subsection headers, 4 inside a subsection.
      let section = "";
      for (const l of lines.slice(start + 1, end)) {
        if (!l.startsWith(`${thread}[CFG]`)) continue;
        const body = l.slice(`${thread}[CFG]`.length);
        const header = /^ {3}(?:child \S+|local|remote):$/.exec(body);
        if (header) {
          section = body.trim().startsWith("child ") ? "child." : `${body.trim().slice(0, -1)}.`;
          continue;
        }
        const kv = /^( +)(\S+) = (.*)$/.exec(body);
        if (!kv) continue;
        if (kv[1].length === 3) section = "";
        out[section + kv[2]] ??= kv[3];
      }
      return out;
    }
    if (Date.now() > deadline) throw new Error(`charon never logged loading connection ${conn}`);
    await sleep(50);
  }
}

describe("the real strongSwan (charon + swanctl)", () => {
  let dir: string;
  let dc: Charon | undefined;
  let ali: Charon | undefined;
  /** Command prefix that runs a tool inside the test's network namespace. */
  let netns: string[] = [];

  beforeAll(async () => {
    if (!fs.existsSync(CHARON)) throw new Error(`${CHARON} is missing: install strongswan-charon (CI installs it)`);
    requireTool("swanctl", ["--version"]);
    requireTool("unshare", ["--version"]);
    requireTool("nsenter", ["--version"]);
    requireTool("ip", ["-V"]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ipsec-test-"));
    // Inside the private netns the ports are free, so the "Alibaba" end can use 500/4500
    // (where the rendered conf sends to) and the data-centre end something else.
    const dcFiles = writeStrongswanConf(dir, "dc", 1500, 14500);
    const aliFiles = writeStrongswanConf(dir, "ali", 500, 4500);
    const boot = `ip link set lo up && mount -t tmpfs tmpfs /var/run && exec ${CHARON}`;
    // A user namespace works unprivileged; plain namespaces for root in a container without userns.
    const attempts: string[][] = [
      ["--user", "--map-root-user", "--mount", "--net"],
      ["--mount", "--net"],
    ];
    const failures: string[] = [];
    for (const ns of attempts) {
      try {
        dc = await startCharon(dcFiles, "unshare", [...ns, "sh", "-c", boot]);
        const enter = ns.includes("--user") ? ["-U", "--preserve-credentials"] : [];
        ali = await startCharon(aliFiles, "nsenter", [
          "-t",
          String(dc.proc.pid),
          ...enter,
          "-n",
          "unshare",
          "--mount",
          "sh",
          "-c",
          `mount -t tmpfs tmpfs /var/run && exec ${CHARON}`,
        ]);
        netns = ["nsenter", "-t", String(dc.proc.pid), ...enter, "-n"];
        return;
      } catch (e) {
        failures.push((e as Error).message);
        await stopCharon(ali);
        await stopCharon(dc);
        dc = ali = undefined;
      }
    }
    throw new Error(`could not start throwaway charons:\n${failures.join("\n")}`);
  }, 40000);

  afterAll(async () => {
    await stopCharon(ali);
    await stopCharon(dc);
    if (dir && !process.env.KEEP_IPSEC_DIR) fs.rmSync(dir, { recursive: true, force: true });
  }, 20000);

  it("parses every allowed combination into the algorithms we meant", async () => {
    const enc = ["aes", "aes192", "aes256"] as const;
    const auth = ["sha256", "sha384", "sha512"] as const;
    for (let i = 0; i < 9; i++) {
      const p: IpsecProposal = {
        ...DEFAULT_PROPOSAL,
        ikeEncAlg: enc[i % 3],
        ikeAuthAlg: auth[Math.floor(i / 3)],
        ipsecEncAlg: enc[(i + 1) % 3],
        ipsecAuthAlg: auth[(i + 2) % 3],
        ikeLifetimeSeconds: 28800,
        ipsecLifetimeSeconds: 1800 + i,
      };
      const name = `combo-${i}`;
      // The peer has no config for 127.0.0.4/5, so these never come up; only parsing is checked here.
      const file = path.join(dir, `${name}.conf`);
      fs.writeFileSync(file, renderSwanctlConf(settings({ name, remoteAddresses: ["127.0.0.4", "127.0.0.5"], proposal: p })));
      fs.writeFileSync(path.join(dir, "dc-prod1.secrets.conf"), "");
      const r = swanctl(dc!, ["--load-conns", "--file", file]);
      expect(r.out).toContain(`loaded connection '${tunnelName(name, 1)}'`);
      expect(r.out).toContain(`loaded connection '${tunnelName(name, 2)}'`);
      expect(r.status).toBe(0);
      const logged = await loadedConn(dc!, tunnelName(name, 1));
      expect(logged["proposals"]).toBe(charonIke(p));
      expect(logged["child.proposals"]).toBe(charonEsp(p));
      expect(logged["rekey_time"]).toBe("25920");
      expect(logged["over_time"]).toBe("2880");
      expect(logged["child.life_time"]).toBe(String(1800 + i));
      expect(logged["child.rekey_time"]).toBe(String(Math.floor((1800 + i) * 0.9)));
      expect(logged["encap"]).toBe("1");
      expect(logged["version"]).toBe("2");
    }
  }, 30000);

  it("rejects a hand-broken proposal (the harness can see a refusal)", () => {
    const file = path.join(dir, "broken.conf");
    fs.writeFileSync(file, renderSwanctlConf(settings({ name: "broken" })).replace("proposals = aes256-sha256-modp2048", "proposals = aes256-sha256-modp2047"));
    const r = swanctl(dc!, ["--load-conns", "--file", file]);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/invalid value for: proposals|loading connection 'broken' failed/);
  });

  /** The "Alibaba" dual-tunnel gateway: one connection per tunnel address, built from the alicloud configs, the PSK as the raw string. */
  function alibabaPeer(s: SwanctlSettings): string {
    const ike = alicloudIkeConfig(DEFAULT_PROPOSAL, {});
    const esp = alicloudIpsecConfig(DEFAULT_PROPOSAL);
    const tunnel = (n: 1 | 2, ip: string) => `  ali-t${n} {
    version = 2
    local_addrs = ${ip}
    remote_addrs = ${DC_IP}
    proposals = ${PEER_ENC[ike.ikeEncAlg]}-${ike.ikeAuthAlg}-${PEER_DH[ike.ikePfs]}
    dpd_delay = 2s
    local {
      auth = psk
      id = ${ip}
    }
    remote {
      auth = psk
      id = ${DC_IP}
    }
    children {
      ali-t${n} {
        local_ts = ${s.remoteSubnets.join(",")}
        remote_ts = ${s.localSubnets.join(",")}
        esp_proposals = ${PEER_ENC[esp.ipsecEncAlg]}-${esp.ipsecAuthAlg}-${PEER_DH[esp.ipsecPfs]}
      }
    }
  }`;
    const secret = (n: 1 | 2, ip: string) => `  ike-ali-t${n} {
    id-1 = ${ip}
    id-2 = ${DC_IP}
    secret = "${PSK}"
  }`;
    return `connections {\n${tunnel(1, ALI_IP)}\n${tunnel(2, ALI_IP2)}\n}\nsecrets {\n${secret(1, ALI_IP)}\n${secret(2, ALI_IP2)}\n}\n`;
  }

  /** Polls `swanctl --list-sas` on the data-centre charon until `done` holds; returns the last listing. */
  async function sasUntil(done: (sas: string) => boolean, ms: number): Promise<string> {
    let sas = "";
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      sas = swanctl(dc!, ["--list-sas", "--noblock"]).out;
      if (done(sas)) break;
      await sleep(200);
    }
    return sas;
  }

  const kernelRefusesSas = () => fs.readFileSync(ali!.log, "utf8").includes("unable to add SAD entry");
  const established = (sas: string, tunnel: string) => new RegExp(`^${tunnel}: #\\d+, ESTABLISHED, IKEv2`, "m").test(sas);
  /** The CHILD_SA line of a tunnel: `dc-prod1-t2: #2, reqid 2, INSTALLED, TUNNEL-in-UDP, ESP:...`. */
  const childInstalled = (sas: string, tunnel: string) => new RegExp(`^\\s+${tunnel}: #\\d+, reqid \\d+, INSTALLED, TUNNEL-in-UDP`, "m").test(sas);

  it("loads 2 connections and 2 secrets and brings both tunnels up against a dual-tunnel, Alibaba-shaped peer", async () => {
    const s = settings({ dpdDelaySeconds: 5 });
    const peerFile = path.join(dir, "ali-swanctl.conf");
    fs.writeFileSync(peerFile, alibabaPeer(s));
    const pr = swanctl(ali!, ["--load-all", "--file", peerFile]);
    expect(pr.out).toContain("loaded connection 'ali-t1'");
    expect(pr.out).toContain("loaded connection 'ali-t2'");

    // The data-centre side: exactly what the renderers produce, secrets via a relative include.
    const confFile = path.join(dir, "swanctl.conf");
    fs.writeFileSync(path.join(dir, s.secretsFile), renderSwanctlSecrets({ ...s, psk: PSK }), { mode: 0o600 });
    fs.writeFileSync(confFile, renderSwanctlConf(s));
    const r = swanctl(dc!, ["--load-all", "--file", confFile]);
    expect(r.status).toBe(0);
    expect(r.out.match(/^loaded ike secret /gm)).toHaveLength(2);
    expect(r.out).toContain("loaded ike secret 'ike-dc-prod1-t1'");
    expect(r.out).toContain("loaded ike secret 'ike-dc-prod1-t2'");
    expect(r.out).toContain("successfully loaded 2 connections");

    for (const t of ["dc-prod1-t1", "dc-prod1-t2"]) {
      const logged = await loadedConn(dc!, t);
      expect(logged["proposals"]).toBe("IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048");
      expect(logged["child.proposals"]).toBe("ESP:AES_CBC_256/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ");
      expect(logged["proposals"]).toBe(charonIke(DEFAULT_PROPOSAL));
    }
    const conns = swanctl(dc!, ["--list-conns"]).out;
    expect(conns).toContain("dc-prod1-t1: IKEv2, no reauthentication, rekeying every 77760s, dpd delay 5s");
    expect(conns).toContain("dc-prod1-t2: IKEv2, no reauthentication, rekeying every 77760s, dpd delay 5s");
    expect(conns).toMatch(/dc-prod1-t1: TUNNEL, rekeying every 3240s/);
    expect(conns.match(/remote: 10\.40\.0\.0\/16 10\.140\.0\.0\/16 10\.240\.0\.0\/20/g)).toHaveLength(2);

    // start_action = start: charon dials both gateway addresses as soon as the conns are loaded.
    const sas = await sasUntil((x) => established(x, "dc-prod1-t1") && established(x, "dc-prod1-t2"), 10000);
    expect([established(sas, "dc-prod1-t1"), established(sas, "dc-prod1-t2")]).toEqual([true, true]);
    // Charon prints the negotiated IKE algorithms with a dash before the key size.
    expect(sas).toContain("AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048");
    // NAT-T forced: each IKE SA moved to its gateway address's 4500.
    expect(sas).toContain(`remote '${ALI_IP}' @ ${ALI_IP}[4500]`);
    expect(sas).toContain(`remote '${ALI_IP2}' @ ${ALI_IP2}[4500]`);
    const dcLog = fs.readFileSync(dc!.log, "utf8");
    // The hex PSK on our side equals the plain-string PSK on the peer's side, for both tunnels.
    expect(dcLog).toContain(`authentication of '${ALI_IP}' with pre-shared key successful`);
    expect(dcLog).toContain(`authentication of '${ALI_IP2}' with pre-shared key successful`);
    // The peer accepted our ESP proposal on each tunnel's child config.
    const aliLog = fs.readFileSync(ali!.log, "utf8");
    expect(aliLog).toContain('found matching child config "ali-t1"');
    expect(aliLog).toContain('found matching child config "ali-t2"');
    expect(aliLog.match(/selected proposal: ESP:AES_CBC_256\/HMAC_SHA2_256_128\/NO_EXT_SEQ/g)?.length).toBeGreaterThanOrEqual(2);
    // Installing the SAs needs kernel XFRM, which a sandboxed kernel may refuse ("unable to
    // add SAD entry"); where the kernel takes them, both CHILD_SAs must be INSTALLED.
    if (!kernelRefusesSas()) expect([childInstalled(sas, "dc-prod1-t1"), childInstalled(sas, "dc-prod1-t2")]).toEqual([true, true]);
  }, 30000);

  it("keeps the link through tunnel 2 when tunnel 1's gateway address goes dark", async () => {
    // Drop everything to and from tunnel 1's address inside the test's own network namespace.
    const nft = (...args: string[]) => {
      const r = spawnSync(netns[0], [...netns.slice(1), "nft", ...args], { encoding: "utf8", timeout: 10000 });
      if (r.status !== 0) throw new Error(`nft ${args.join(" ")}: ${r.stderr}${r.error ?? ""}`);
    };
    nft("add", "table", "inet", "tunnel1down");
    nft("add", "chain", "inet", "tunnel1down", "out", "{ type filter hook output priority 0; policy accept; }");
    nft("add", "rule", "inet", "tunnel1down", "out", "ip", "daddr", ALI_IP, "drop");
    nft("add", "rule", "inet", "tunnel1down", "out", "ip", "saddr", ALI_IP, "drop");

    // DPD (5 s, fast retransmits in this charon's strongswan.conf) declares tunnel 1 dead;
    // dpd_action = restart keeps trying it, while tunnel 2 stays up the whole time.
    const sas = await sasUntil((x) => !established(x, "dc-prod1-t1"), 30000);
    expect(established(sas, "dc-prod1-t1")).toBe(false);
    expect(established(sas, "dc-prod1-t2")).toBe(true);
    if (!kernelRefusesSas()) expect(childInstalled(sas, "dc-prod1-t2")).toBe(true);
    expect(fs.readFileSync(dc!.log, "utf8")).toMatch(/giving up after \d+ retransmits/);
    // Tunnel 2 still carries IKE exchanges while tunnel 1 is dark: rekeying its IKE SA
    // gives a new ESTABLISHED SA (a new unique id) with the gateway's second address.
    const before = Number(/^dc-prod1-t2: #(\d+), ESTABLISHED/m.exec(sas)![1]);
    const rekey = swanctl(dc!, ["--rekey", "--ike", "dc-prod1-t2"]);
    expect(rekey.status).toBe(0);
    const after = await sasUntil((x) => {
      const m = /^dc-prod1-t2: #(\d+), ESTABLISHED/m.exec(x);
      return m !== null && Number(m[1]) > before;
    }, 10000);
    expect(Number(/^dc-prod1-t2: #(\d+), ESTABLISHED/m.exec(after)?.[1] ?? before)).toBeGreaterThan(before);
    expect(after).toContain(`remote '${ALI_IP2}' @ ${ALI_IP2}[4500]`);
    expect(established(after, "dc-prod1-t1")).toBe(false);
  }, 60000);
});
