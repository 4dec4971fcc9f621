// What does the HAProxy hop cost? Requests/s with keep-alive HTTPS clients on
// loopback, against fake api-servers directly vs through a real haproxy
// running the generated config. The fake api-servers run in a child process
// so the client's event loop does not also serve the requests.
//
//   npx ts-node --transpile-only test/bench/haproxyBench.ts [seconds] [concurrency]
//
// prints one JSON line. Loopback only; everything started is stopped.

import { ChildProcess, fork } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { renderHaproxyCfg } from "../../components/cluster/haproxy";
import { cleanupTls, freePorts, httpGet, startFakeApiServers, startHaproxy } from "../support/fakeApiServers";

const MASTERS = 3;
const SERVE_FLAG = "--serve-fake-apiservers";

export interface BenchResult {
  /** Requests/s straight to the fake api-servers. */
  directRps: number;
  /** Requests/s through haproxy (TLS passthrough) to the same servers. */
  haproxyRps: number;
  /** haproxyRps / directRps. */
  ratio: number;
}

/** Child-process side: serve fake api-servers until the parent says stop. */
async function serveFakes(): Promise<void> {
  const set = await startFakeApiServers(MASTERS);
  process.send!({ ports: set.servers.map((s) => s.port) });
  process.on("message", async () => {
    await set.stopAll();
    cleanupTls();
    process.exit(0);
  });
  // If the parent dies, the IPC channel closes: do not linger.
  process.on("disconnect", () => process.exit(0));
}

async function forkFakes(): Promise<{ child: ChildProcess; ports: number[] }> {
  // Run under ts-node when this file is TypeScript, plain node when compiled.
  const execArgv = __filename.endsWith(".ts") ? ["-r", "ts-node/register/transpile-only"] : [];
  const child = fork(__filename, [SERVE_FLAG], { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const ports = await new Promise<number[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("fake api-servers did not start within 30 s")), 30_000);
    child.once("message", (m: { ports: number[] }) => {
      clearTimeout(timer);
      resolve(m.ports);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`fake api-server process exited with ${code}`));
    });
  });
  return { child, ports };
}

/** `concurrency` request loops for `seconds`, loop i against ports[i % n]; returns requests/s. */
async function load(ports: number[], seconds: number, concurrency: number): Promise<number> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency, rejectUnauthorized: false });
  const get = (port: number) =>
    new Promise<void>((resolve, reject) => {
      const req = https.get({ host: "127.0.0.1", port, path: "/api/v1/namespaces/default", agent }, (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.setTimeout(5_000, () => req.destroy(new Error("request timeout")));
      req.on("error", reject);
    });
  try {
    // Warm up: open the keep-alive connections (TLS handshakes) before timing.
    await Promise.all(Array.from({ length: concurrency }, (_, i) => get(ports[i % ports.length])));
    let done = 0;
    const start = process.hrtime.bigint();
    const end = Date.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, i) => {
        while (Date.now() < end) {
          await get(ports[i % ports.length]);
          done++;
        }
      }),
    );
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    return done / elapsed;
  } finally {
    agent.destroy();
  }
}

export async function benchHaproxy(opts: { seconds: number; concurrency: number }): Promise<BenchResult> {
  if (!(opts.seconds > 0 && opts.seconds <= 600)) throw new Error(`benchHaproxy: seconds: must be in (0, 600]: ${opts.seconds}`);
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1 || opts.concurrency > 500) {
    throw new Error(`benchHaproxy: concurrency: must be an integer 1-500: ${opts.concurrency}`);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haproxy-bench-"));
  const { child, ports } = await forkFakes();
  let haproxy: Awaited<ReturnType<typeof startHaproxy>> | undefined;
  try {
    const [apiPort, checkPort, statsPort] = await freePorts(3);
    const cfgPath = path.join(tmp, "haproxy.cfg");
    fs.writeFileSync(
      cfgPath,
      renderHaproxyCfg({
        masters: ports.map((p, i) => ({ name: `fake-master-${i}`, address: "127.0.0.1", port: p })),
        bindAddress: "127.0.0.1",
        apiServerPort: apiPort,
        checkPort,
        statsPort,
        statsPassword: "bench",
        statsAllowFrom: ["127.0.0.1/32"],
        // Keeps haproxy under a container's file-descriptor limit.
        maxConn: 2000,
      }),
    );
    haproxy = await startHaproxy(cfgPath, [apiPort, checkPort, statsPort]);
    const deadline = Date.now() + 15_000;
    while ((await httpGet(checkPort, "/healthz").catch(() => ({ status: 0 }))).status !== 200) {
      if (Date.now() > deadline) throw new Error(`haproxy never reported a master up\n${haproxy.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const directRps = await load(ports, opts.seconds, opts.concurrency);
    const haproxyRps = await load([apiPort], opts.seconds, opts.concurrency);
    return { directRps: Math.round(directRps), haproxyRps: Math.round(haproxyRps), ratio: Number((haproxyRps / directRps).toFixed(3)) };
  } finally {
    await haproxy?.stop();
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      child.send("stop");
    });
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  if (process.argv.includes(SERVE_FLAG)) {
    serveFakes().catch((e) => {
      console.error(e);
      process.exit(1);
    });
  } else {
    const seconds = Number(process.argv[2] ?? 5);
    const concurrency = Number(process.argv[3] ?? 16);
    benchHaproxy({ seconds, concurrency })
      .then((r) => console.log(JSON.stringify({ seconds, concurrency, masters: MASTERS, cpus: os.cpus().length, ...r })))
      .catch((e) => {
        console.error(e);
        process.exitCode = 1;
      });
  }
}
