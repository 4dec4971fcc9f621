// Fake TLS "api-servers" and a real haproxy process on loopback, so the
// generated haproxy.cfg is exercised by the real HAProxy (health checks over
// TLS, failover, the SLB check port) without a cluster. Shared by the loopback
// test and the offline benchmark; loopback (127.0.0.1) only.

import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import { IncomingMessage, ServerResponse } from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";

const LOOPBACK = "127.0.0.1";

export interface TlsMaterial {
  /** Temp directory holding the key and certificate; removed by cleanupTls. */
  dir: string;
  key: Buffer;
  cert: Buffer;
}

let cachedTls: TlsMaterial | undefined;

/**
 * A self-signed certificate for 127.0.0.1, generated once per process with
 * `openssl req -x509`. EC P-256 keeps generation and handshakes fast.
 * Throws if openssl is missing, so a test using it fails rather than skips.
 */
export function selfSignedTls(): TlsMaterial {
  if (cachedTls) return cachedTls;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-apiserver-tls-"));
  const keyPath = path.join(dir, "tls.key");
  const certPath = path.join(dir, "tls.crt");
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-nodes",
        "-days",
        "1",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-keyout",
        keyPath,
        "-out",
        certPath,
        "-subj",
        "/CN=kube-apiserver",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:kubernetes",
      ],
      { stdio: ["ignore", "ignore", "pipe"], timeout: 20_000 },
    );
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`openssl req -x509 failed (is openssl installed?): ${(e as Error).message}`, { cause: e });
  }
  cachedTls = { dir, key: fs.readFileSync(keyPath), cert: fs.readFileSync(certPath) };
  return cachedTls;
}

/** Removes the temp certificate directory (call once, at the end of a run). */
export function cleanupTls(): void {
  if (cachedTls) fs.rmSync(cachedTls.dir, { recursive: true, force: true });
  cachedTls = undefined;
}

/** One request a fake api-server received. */
export interface SeenRequest {
  method: string;
  url: string;
  httpVersion: string;
  host: string | undefined;
}

export interface FakeApiServer {
  /** Name used for the HAProxy server line, e.g. fake-master-0. */
  readonly name: string;
  readonly port: number;
  readonly running: boolean;
  /** `GET /readyz` requests: HAProxy's health checks (and anything else asking for readiness). */
  readonly readyzRequests: SeenRequest[];
  /** Every other request, i.e. traffic that came through the proxy. */
  readonly apiRequests: SeenRequest[];
  /** Closes the listener and drops open connections, like a crashed api-server. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

function handler(name: string, port: number, readyz: SeenRequest[], api: SeenRequest[]) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const seen = { method: req.method ?? "", url: req.url ?? "", httpVersion: req.httpVersion, host: req.headers.host };
    // Bounded: the benchmark sends many requests; keep only a recent window.
    const list = req.url === "/readyz" ? readyz : api;
    if (list.length >= 1000) list.splice(0, list.length - 999);
    list.push(seen);
    if (req.method === "GET" && req.url === "/readyz") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
      return;
    }
    const body = JSON.stringify({ kind: "Status", apiVersion: "v1", server: name, port, path: req.url });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  };
}

class FakeApiServerImpl implements FakeApiServer {
  readonly readyzRequests: SeenRequest[] = [];
  readonly apiRequests: SeenRequest[] = [];
  private server: https.Server | undefined;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly tls: TlsMaterial,
  ) {}

  get running(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = https.createServer(
      { key: this.tls.key, cert: this.tls.cert, keepAliveTimeout: 60_000 },
      handler(this.name, this.port, this.readyzRequests, this.apiRequests),
    );
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, LOOPBACK, () => {
        server.off("error", reject);
        resolve();
      });
    });
    // A TLS handshake reset by the client (HAProxy's checks, killed clients)
    // is routine here; without a listener it would crash the process.
    server.on("tlsClientError", () => undefined);
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

/** Ports that were free a moment ago on 127.0.0.1, all distinct. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const s = net.createServer();
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(0, LOOPBACK, () => resolve());
      });
      servers.push(s);
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

export interface FakeApiServerSet {
  servers: FakeApiServer[];
  /** Stops every server; safe to call more than once. */
  stopAll(): Promise<void>;
}

/** Starts `count` fake api-servers on distinct loopback ports. */
export async function startFakeApiServers(count: number, tls: TlsMaterial = selfSignedTls()): Promise<FakeApiServerSet> {
  const ports = await freePorts(count);
  const servers = ports.map((p, i) => new FakeApiServerImpl(`fake-master-${i}`, p, tls));
  const set: FakeApiServerSet = {
    servers,
    stopAll: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
  try {
    for (const s of servers) await s.start();
  } catch (e) {
    await set.stopAll();
    throw e;
  }
  return set;
}

/** Resolves true once a TCP connection to 127.0.0.1:port succeeds. */
export function portAccepts(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: LOOPBACK, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}

export interface RunningHaproxy {
  readonly pid: number;
  /** The last few KiB of haproxy's stdout and stderr, for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL if it does not exit within 3 s. Safe to call twice. */
  stop(): Promise<void>;
}

// Children still alive when the process exits are killed, so a crashed test
// run leaves no haproxy behind.
const liveChildren = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of liveChildren) c.kill("SIGKILL");
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `haproxy -f <cfgPath> -db` (foreground), waits until every port in
 * `ports` accepts on 127.0.0.1, and returns a handle to stop it. Rejects (and
 * kills haproxy) if haproxy is missing, exits, or the ports stay closed.
 */
export async function startHaproxy(cfgPath: string, ports: number[], timeoutMs = 10_000): Promise<RunningHaproxy> {
  const child = spawn("haproxy", ["-f", cfgPath, "-db"], { stdio: ["ignore", "pipe", "pipe"] });
  liveChildren.add(child);
  let tail = "";
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-8192);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = `exited with ${signal ?? code}`;
      liveChildren.delete(child);
      resolve();
    });
    child.once("error", (e) => {
      exited = `failed to start (is haproxy installed?): ${e.message}`;
      liveChildren.delete(child);
      resolve();
    });
  });

  const handle: RunningHaproxy = {
    pid: child.pid ?? -1,
    output: () => tail,
    stop: async () => {
      if (exited !== undefined) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
      await exit;
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== undefined) throw new Error(`haproxy ${exited}\n${tail}`);
    const open = await Promise.all(ports.map((p) => portAccepts(p)));
    if (open.every(Boolean)) return handle;
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(`haproxy did not open ports ${ports.join(", ")} within ${timeoutMs} ms\n${tail}`);
    }
    await sleep(50);
  }
}

/** Result of one HTTPS request on loopback. */
export interface HttpsResult {
  status: number;
  body: string;
}

/**
 * One HTTPS GET to 127.0.0.1:port on a fresh connection (no agent), so every
 * call goes through the load balancer's server choice again. Accepts the
 * self-signed certificate, as `kubectl --insecure-skip-tls-verify` would.
 */
export function httpsGet(port: number, urlPath: string, timeoutMs = 5_000): Promise<HttpsResult> {
  return collect(timeoutMs, (onResponse) =>
    https.get({ host: LOOPBACK, port, path: urlPath, rejectUnauthorized: false, agent: false, timeout: timeoutMs }, onResponse),
  );
}

/** One plain-HTTP GET to 127.0.0.1:port (HAProxy's check port or stats page). */
export function httpGet(port: number, urlPath: string, headers: Record<string, string> = {}, timeoutMs = 5_000): Promise<HttpsResult> {
  return collect(timeoutMs, (onResponse) => http.get({ host: LOOPBACK, port, path: urlPath, headers, agent: false, timeout: timeoutMs }, onResponse));
}

/** Sends one request and reads the whole answer; a request that stalls past timeoutMs fails. */
function collect(timeoutMs: number, send: (onResponse: (res: IncomingMessage) => void) => http.ClientRequest): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = send((res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}
