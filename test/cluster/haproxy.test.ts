// The api-server front's haproxy.cfg: the rules users rely on are present,
// bad settings are refused naming the field, and the real `haproxy -c`
// accepts what we render (and rejects a broken variant, so it can fail).

import { spawnSync } from "child_process";
import * as fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HaproxySettings, renderHaproxyCfg } from "../../components/cluster/haproxy";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haproxy-cfg-test-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** `haproxy -c -f <file>`: the real parser's verdict and its messages. */
function haproxyCheck(cfg: string): { status: number | null; output: string } {
  const file = path.join(tmp, `haproxy-${n++}.cfg`);
  fs.writeFileSync(file, cfg);
  const r = spawnSync("haproxy", ["-c", "-f", file], { encoding: "utf8", timeout: 10_000 });
  if (r.error) throw new Error(`haproxy not runnable (CI installs it): ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function masters(count: number) {
  return Array.from({ length: count }, (_, i) => ({ name: `prod1-master-${i}`, address: `10.20.0.${10 + i}` }));
}

function settings(count: number, extra: Partial<HaproxySettings> = {}): HaproxySettings {
  // A Pulumi random password may contain characters HAProxy treats specially.
  return { masters: masters(count), statsPassword: 'Zx9#q$w\\e"r!t%', statsAllowFrom: ["10.20.0.0/18", "10.20.64.0/18"], ...extra };
}

describe("haproxy -c accepts the rendered config", () => {
  it.each([1, 3, 5])("%i master(s), without warnings", (count) => {
    const { status, output } = haproxyCheck(renderHaproxyCfg(settings(count)));
    expect(output).toContain("Configuration file is valid");
    expect(output).not.toMatch(/\[(WARNING|ALERT)\]/);
    expect(status).toBe(0);
  });

  it("without the stats page (the default), still valid", () => {
    const { status, output } = haproxyCheck(renderHaproxyCfg({ masters: masters(3) }));
    expect(output).toContain("Configuration file is valid");
    expect(output).not.toMatch(/\[(WARNING|ALERT)\]/);
    expect(status).toBe(0);
  });

  it("rejects a variant whose check points at a missing backend (the check can fail)", () => {
    const broken = renderHaproxyCfg(settings(3)).replace("nbsrv(kube_apiserver)", "nbsrv(no_such_backend)");
    const { status, output } = haproxyCheck(broken);
    expect(status).not.toBe(0);
    expect(output).toMatch(/no_such_backend/);
  });

  it("accepts random master sets, with one server line per master", () => {
    const master = fc.record({
      name: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
      address: fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join(".")),
      port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(master, { minLength: 1, maxLength: 7, selector: (m) => m.name }), (ms) => {
        const cfg = renderHaproxyCfg({ masters: ms, statsPassword: "pw", statsAllowFrom: ["10.0.0.0/24"] });
        expect(cfg.match(/^ {2}server /gm)).toHaveLength(ms.length);
        const { status, output } = haproxyCheck(cfg);
        expect(output).not.toMatch(/\[(WARNING|ALERT)\]/);
        expect(status).toBe(0);
      }),
      { numRuns: 15 },
    );
  });
});

describe("rendered rules", () => {
  const cfg = renderHaproxyCfg(settings(3));

  it("balances every master on 6443 with a TLS /readyz check", () => {
    for (const m of masters(3)) {
      expect(cfg).toContain(`  server ${m.name} ${m.address}:6443 check check-ssl verify none\n`);
    }
    expect(cfg).toContain("  option httpchk GET /readyz HTTP/1.1\n");
    expect(cfg).toMatch(/^ {2}http-check send hdr Host \S+$/m);
    expect(cfg).toContain("  http-check expect status 200\n");
    expect(cfg).toMatch(/default-server inter 2000ms .*fall 3 rise 2/);
    expect(cfg).toContain("  option redispatch");
    expect(cfg).toMatch(/^ {2}retries [1-9]$/m);
  });

  it("listens on 6443 in TCP mode (TLS passthrough)", () => {
    expect(cfg).toMatch(/frontend kube_apiserver_front\n {2}bind \*:6443\n {2}mode tcp\n/);
  });

  it("keeps watches open: client, server and tunnel timeouts of at least 30 minutes", () => {
    for (const kind of ["client", "server", "tunnel"]) {
      const m = new RegExp(`^ {2}timeout ${kind} (\\d+)h$`, "m").exec(cfg);
      expect(m).not.toBeNull();
      expect(Number(m![1]) * 60).toBeGreaterThanOrEqual(30);
    }
  });

  it("has the SLB check port that fails with no master up", () => {
    expect(cfg).toMatch(/frontend slb_health_check\n {2}bind \*:8081\n {2}mode http\n/);
    expect(cfg).toContain("  monitor-uri /healthz\n");
    expect(cfg).toContain("  monitor fail if { nbsrv(kube_apiserver) lt 1 }\n");
  });

  it("has an authenticated stats page on 9000, password single-quoted, rejecting every source outside its ranges", () => {
    expect(cfg).toMatch(/listen stats\n {2}bind \*:9000\n/);
    expect(cfg).toContain(`  stats auth 'admin:Zx9#q$w\\e"r!t%'\n`);
    expect(cfg).toContain("  acl stats_from src 10.20.0.0/18 10.20.64.0/18\n  tcp-request connection reject unless stats_from\n");
  });

  it("has no stats page by default", () => {
    const plain = renderHaproxyCfg({ masters: masters(3) });
    expect(plain).not.toMatch(/stats|:9000/);
    expect(plain.match(/^(frontend|backend|listen) /gm)).toEqual(["frontend ", "backend ", "frontend "]);
  });

  it("runs its workers unprivileged: user and group haproxy, chrooted to /var/lib/haproxy (Debian's package creates them)", () => {
    expect(cfg).toMatch(/^global\n(?: {2}.*\n)* {2}user haproxy\n {2}group haproxy\n {2}chroot \/var\/lib\/haproxy\n/m);
    // The real parser resolves the user and group: a name the system lacks is refused.
    const { status, output } = haproxyCheck(
      renderHaproxyCfg(settings(1, { runAs: { user: "no-such-haproxy-user", group: "haproxy", chroot: "/var/lib/haproxy" } })),
    );
    expect(status).not.toBe(0);
    expect(output).toMatch(/no-such-haproxy-user/);
  });

  it("names its generator by its real path", () => {
    expect(cfg.split("\n")[0]).toBe("# Generated by components/cluster/haproxy.ts; edits are overwritten.");
    expect(fs.existsSync(path.join(__dirname, "..", "..", "components", "cluster", "haproxy.ts"))).toBe(true);
  });

  it("sizes maxconn for many kubelets and watches", () => {
    expect(cfg).toContain("  maxconn 20000\n");
    expect(renderHaproxyCfg(settings(1, { maxConn: 50000 }))).toContain("  maxconn 50000\n");
  });

  it("honours custom ports, bind address, master port and check interval", () => {
    const custom = renderHaproxyCfg({
      masters: [{ name: "m0", address: "192.168.1.5", port: 16443 }],
      bindAddress: "10.0.0.7",
      apiServerPort: 7443,
      checkPort: 18081,
      statsPort: 19000,
      statsUser: "ops",
      statsPassword: "pw",
      statsAllowFrom: ["10.0.0.0/24"],
      checkIntervalMs: 500,
    });
    expect(custom).toContain("  bind 10.0.0.7:7443\n");
    expect(custom).toContain("  bind 10.0.0.7:18081\n");
    expect(custom).toContain("  bind 10.0.0.7:19000\n");
    expect(custom).toContain("  server m0 192.168.1.5:16443 check check-ssl verify none\n");
    expect(custom).toContain("  stats auth 'ops:pw'\n");
    expect(custom).toMatch(/default-server inter 500ms /);
    expect(haproxyCheck(custom).status).toBe(0);
  });
});

describe("validation names the field", () => {
  const base = settings(2);
  it.each<[string, Partial<HaproxySettings>, string]>([
    ["no masters", { masters: [] }, "haproxy: masters: at least one master is required"],
    ["bad address", { masters: [masters(1)[0], { name: "b", address: "x" }] }, 'haproxy: masters[1].address: not an IPv4 address: "x"'],
    ["octet > 255", { masters: [{ name: "a", address: "10.0.0.256" }] }, 'haproxy: masters[0].address: not an IPv4 address: "10.0.0.256"'],
    [
      "duplicate name",
      {
        masters: [
          { name: "a", address: "10.0.0.1" },
          { name: "a", address: "10.0.0.2" },
        ],
      },
      'haproxy: masters[1].name: duplicate master name "a"',
    ],
    ["name with space", { masters: [{ name: "a b", address: "10.0.0.1" }] }, "haproxy: masters[0].name: must be"],
    ["master port 0", { masters: [{ name: "a", address: "10.0.0.1", port: 0 }] }, "haproxy: masters[0].port: not a port (1-65535): 0"],
    ["api port too big", { apiServerPort: 70000 }, "haproxy: apiServerPort: not a port (1-65535): 70000"],
    ["fractional port", { statsPort: 90.5 }, "haproxy: statsPort: not a port (1-65535): 90.5"],
    ["check = api port", { checkPort: 6443 }, "haproxy: checkPort: must differ from apiServerPort (6443)"],
    ["stats = check port", { statsPort: 8081 }, "haproxy: statsPort: must differ from checkPort (8081)"],
    ["stats = api port", { statsPort: 6443 }, "haproxy: statsPort: must differ from apiServerPort (6443)"],
    ["bind not an IP", { bindAddress: "localhost" }, 'haproxy: bindAddress: not an IPv4 address: "localhost"'],
    ["empty password", { statsPassword: "" }, "haproxy: statsPassword: must not be empty"],
    ["password with space", { statsPassword: "a b" }, "haproxy: statsPassword: must be printable ASCII without whitespace or single quotes"],
    ["password with quote", { statsPassword: "a'b" }, "haproxy: statsPassword: must be printable ASCII"],
    ["password with newline", { statsPassword: "ab\nglobal" }, "haproxy: statsPassword: must be printable ASCII"],
    ["user with colon", { statsUser: "ad:min" }, "haproxy: statsUser: must be non-empty letters, digits, '.', '_' or '-': \"ad:min\""],
    ["stats without ranges", { statsAllowFrom: [] }, "haproxy: statsAllowFrom: the stats page needs at least one source range (the front's subnet)"],
    ["stats range not a CIDR", { statsAllowFrom: ["10.0.0.0/18", "vpc"] }, 'haproxy: statsAllowFrom[1]: not an IPv4 CIDR: "vpc"'],
    ["stats open to all", { statsAllowFrom: ["0.0.0.0/0"] }, 'haproxy: statsAllowFrom[0]: must not be open to every address: "0.0.0.0/0"'],
    ["ranges without stats", { statsPassword: undefined }, "haproxy: statsAllowFrom: is only for the stats page; set statsPassword to enable it"],
    ["chroot /", { runAs: { user: "haproxy", group: "haproxy", chroot: "/" } }, 'haproxy: runAs.chroot: must be an absolute directory other than /: "/"'],
    ["maxConn too small", { maxConn: 10 }, "haproxy: maxConn: must be an integer between 100 and 1000000: 10"],
    ["interval too short", { checkIntervalMs: 10 }, "haproxy: checkIntervalMs: must be an integer between 100 and 60000: 10"],
  ])("%s", (_label, patch, message) => {
    expect(() => renderHaproxyCfg({ ...base, ...patch })).toThrow(message);
  });

  it("never echoes the password in an error", () => {
    expect(() => renderHaproxyCfg({ ...base, statsPassword: "hunter 2" })).toThrow(/^(?!.*hunter).*$/s);
  });
});
