// The rendered haproxy.cfg run by the real haproxy on loopback, in front of
// fake TLS api-servers: traffic passes through (TLS passthrough), one master
// dying does not break requests, and all masters dying fails the SLB check
// port so the SLB would drain this HAProxy. Same config shape as production;
// only the ports, the bind address and the check interval differ.

import { execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { HAPROXY_MONITOR_URI, HAPROXY_STATS_URI, renderHaproxyCfg } from "../../components/cluster/haproxy";
import { cleanupTls, FakeApiServerSet, freePorts, httpGet, httpsGet, RunningHaproxy, startFakeApiServers, startHaproxy } from "../support/fakeApiServers";

const CHECK_INTERVAL_MS = 200;
const FALL = 3;
const STATS_USER = "admin";
const STATS_PASSWORD = 'Zx9#q$w\\e"r!t%';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every 100 ms until it returns true or `timeoutMs` passes. */
async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

let tmp: string;
let fakes: FakeApiServerSet;
let haproxy: RunningHaproxy | undefined;
let apiPort: number;
let checkPort: number;
let statsPort: number;

const auth = { authorization: `Basic ${Buffer.from(`${STATS_USER}:${STATS_PASSWORD}`).toString("base64")}` };

/** Server name -> status ("UP", "DOWN", ...) from the stats page's CSV export. */
async function serverStatus(): Promise<Record<string, string>> {
  const r = await httpGet(statsPort, `${HAPROXY_STATS_URI};csv`, auth);
  if (r.status !== 200) throw new Error(`stats page answered ${r.status}`);
  const rows = r.body.split("\n").filter((l) => l.startsWith("kube_apiserver,"));
  const out: Record<string, string> = {};
  for (const row of rows) {
    const cols = row.split(",");
    if (cols[1] !== "BACKEND") out[cols[1]] = cols[17];
  }
  return out;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haproxy-loopback-"));
  fakes = await startFakeApiServers(3);
  [apiPort, checkPort, statsPort] = await freePorts(3);
  const cfg = renderHaproxyCfg({
    masters: fakes.servers.map((s) => ({ name: s.name, address: "127.0.0.1", port: s.port })),
    bindAddress: "127.0.0.1",
    apiServerPort: apiPort,
    checkPort,
    statsPort,
    statsUser: STATS_USER,
    statsPassword: STATS_PASSWORD,
    // Only 127.0.0.1 may see the page; the test connects from 127.0.0.2 too.
    statsAllowFrom: ["127.0.0.1/32"],
    checkIntervalMs: CHECK_INTERVAL_MS,
    // The default (20000) needs ~40k file descriptors, more than a CI
    // container may grant; haproxy would refuse to start.
    maxConn: 1000,
  });
  const cfgPath = path.join(tmp, "haproxy.cfg");
  fs.writeFileSync(cfgPath, cfg);
  haproxy = await startHaproxy(cfgPath, [apiPort, checkPort, statsPort]);
  // Servers start UP in HAProxy's view only after their first checks.
  await waitFor("all masters UP", 10_000, async () => {
    const st = await serverStatus();
    return fakes.servers.every((s) => st[s.name] === "UP");
  });
}, 30_000);

afterAll(async () => {
  await haproxy?.stop();
  await fakes?.stopAll();
  cleanupTls();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("haproxy in front of fake api-servers", () => {
  it("passes TLS through to the api-servers and spreads connections across all of them", async () => {
    const ready = await httpsGet(apiPort, "/readyz");
    expect(ready).toEqual({ status: 200, body: "ok" });
    const served = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = await httpsGet(apiPort, `/api/v1/namespaces?i=${i}`);
      expect(r.status).toBe(200);
      served.add(JSON.parse(r.body).server);
    }
    expect([...served].sort()).toEqual(fakes.servers.map((s) => s.name).sort());
  });

  it("health-checks each master with GET /readyz over HTTP/1.1 with a Host header", () => {
    for (const s of fakes.servers) {
      expect(s.readyzRequests.length).toBeGreaterThan(0);
      const check = s.readyzRequests[0];
      expect(check).toMatchObject({ method: "GET", url: "/readyz", httpVersion: "1.1" });
      expect(check.host).toBeTruthy();
    }
  });

  it("answers 200 on the SLB check port while masters are up, 404 elsewhere", async () => {
    expect((await httpGet(checkPort, HAPROXY_MONITOR_URI)).status).toBe(200);
    expect((await httpGet(checkPort, "/")).status).toBe(404);
  });

  it("guards the stats page with the password, special characters included", async () => {
    expect((await httpGet(statsPort, HAPROXY_STATS_URI)).status).toBe(401);
    const wrong = { authorization: `Basic ${Buffer.from(`${STATS_USER}:nope`).toString("base64")}` };
    expect((await httpGet(statsPort, HAPROXY_STATS_URI, wrong)).status).toBe(401);
    expect((await httpGet(statsPort, HAPROXY_STATS_URI, auth)).status).toBe(200);
  });

  it("rejects the stats page from a source outside its ranges at connect (127.0.0.2), before any HTTP", async () => {
    const from = (localAddress: string) =>
      new Promise<string>((resolve) => {
        const req = http.get(
          { host: "127.0.0.1", port: statsPort, path: HAPROXY_STATS_URI, headers: auth, localAddress, agent: false, timeout: 3000 },
          (res) => {
            res.resume();
            resolve(`HTTP ${res.statusCode}`);
          },
        );
        req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      });
    expect(await from("127.0.0.1")).toBe("HTTP 200");
    expect(await from("127.0.0.2")).toMatch(/^(ECONNRESET|EPIPE|socket hang up)$/);
  });

  it("handles traffic unprivileged: the process runs as user haproxy, chrooted to /var/lib/haproxy", () => {
    const uid = execFileSync("id", ["-u", "haproxy"], { encoding: "utf8" }).trim();
    const status = fs.readFileSync(`/proc/${haproxy!.pid}/status`, "utf8");
    // Real, effective, saved and filesystem uid all haproxy's: root is gone for good.
    expect(/^Uid:\s+(.*)$/m.exec(status)![1].split(/\s+/)).toEqual([uid, uid, uid, uid]);
    expect(fs.readlinkSync(`/proc/${haproxy!.pid}/root`)).toBe("/var/lib/haproxy");
  });

  it("keeps serving when one master dies: 20 consecutive requests succeed", async () => {
    const [dead, ...alive] = fakes.servers;
    await dead.stop();
    // Wait out the checks that mark it down (fall x inter), plus margin.
    await sleep(CHECK_INTERVAL_MS * (FALL + 2));
    await waitFor(`${dead.name} DOWN`, 5_000, async () => (await serverStatus())[dead.name]?.startsWith("DOWN") ?? false);
    const served = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await httpsGet(apiPort, `/api/v1/pods?i=${i}`);
      expect(r.status).toBe(200);
      served.add(JSON.parse(r.body).server);
    }
    expect([...served].every((n) => alive.some((s) => s.name === n))).toBe(true);
    expect((await httpGet(checkPort, HAPROXY_MONITOR_URI)).status).toBe(200);
  });

  it("fails the SLB check port (503) when every master is down, and recovers", async () => {
    await fakes.stopAll();
    // fall x inter = 600 ms; allow generous slack on a loaded CI machine.
    await waitFor("check port 503", 5_000, async () => (await httpGet(checkPort, HAPROXY_MONITOR_URI)).status === 503);
    const st = await serverStatus();
    expect(Object.values(st).every((s) => s.startsWith("DOWN"))).toBe(true);

    await fakes.servers[1].start();
    await waitFor("check port 200 again", 5_000, async () => (await httpGet(checkPort, HAPROXY_MONITOR_URI)).status === 200);
    expect((await httpsGet(apiPort, "/version")).status).toBe(200);
  });
});
