// The readiness gate against a real HTTPS "api-server" on loopback: a CA, a server
// certificate and an admin client certificate made here with openssl, client-certificate
// verification on, serving /readyz and /api/v1/nodes.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { checkCluster, ClusterCheckArgs, readinessDiff, ReadinessInputs, workerNames } from "../../components/cluster/readiness";
import { MOCK_CERT_PEM } from "../../components/preview/fixtures";

interface Pki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  otherClientCert: string;
  otherClientKey: string;
}

let dir = "";
let pki: Pki;

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"], timeout: 20_000 });
}

function makePki(): Pki {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "readiness-pki-"));
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const leaf = (name: string, subj: string, ext: string, ca: string) => {
    openssl("req", "-new", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subj);
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${ca}.crt`,
      "-CAkey",
      `${ca}.key`,
      "-CAcreateserial",
      "-days",
      "1",
      "-out",
      `${name}.crt`,
      "-extfile",
      `${name}.ext`,
    );
  };
  for (const ca of ["ca", "other-ca"]) {
    openssl(
      "req",
      "-x509",
      ...ec,
      "-days",
      "1",
      "-keyout",
      `${ca}.key`,
      "-out",
      `${ca}.crt`,
      "-subj",
      `/CN=${ca}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
    );
  }
  leaf("server", "/CN=kube-apiserver", "subjectAltName=IP:127.0.0.1,DNS:kubernetes\nextendedKeyUsage=serverAuth\n", "ca");
  leaf("admin", "/O=system:masters/CN=kubernetes-admin", "extendedKeyUsage=clientAuth\n", "ca");
  leaf("intruder", "/O=system:masters/CN=intruder", "extendedKeyUsage=clientAuth\n", "other-ca");
  const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
  return {
    ca: read("ca.crt"),
    serverCert: read("server.crt"),
    serverKey: read("server.key"),
    clientCert: read("admin.crt"),
    clientKey: read("admin.key"),
    otherClientCert: read("intruder.crt"),
    otherClientKey: read("intruder.key"),
  };
}

type Ready = "True" | "False" | "Unknown";
interface FakeCluster {
  server: string;
  /** Node name -> Ready status; absent names are not registered. */
  nodes: Map<string, Ready>;
  /** Client certificate subjects seen on /api/v1/nodes. */
  clients: string[];
  close(): Promise<void>;
}

async function fakeCluster(nodes: Record<string, Ready>): Promise<FakeCluster> {
  const state = new Map(Object.entries(nodes));
  const clients: string[] = [];
  const server = https.createServer({ key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    if (req.url === "/readyz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      return;
    }
    if (req.url === "/api/v1/nodes") {
      const peer = (req.socket as import("tls").TLSSocket).getPeerCertificate();
      clients.push(String(peer.subject?.CN));
      const items = [...state].map(([name, status]) => ({
        metadata: { name },
        status: {
          conditions: [
            { type: "MemoryPressure", status: "False" },
            status === "True"
              ? { type: "Ready", status, reason: "KubeletReady" }
              : { type: "Ready", status, reason: "KubeletNotReady", message: "container runtime network not ready" },
          ],
        },
      }));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ kind: "NodeList", apiVersion: "v1", items }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    server: `https://127.0.0.1:${port}`,
    nodes: state,
    clients,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const MASTERS = ["prod1-master-0", "prod1-master-1", "prod1-master-2"];
const WORKERS = ["prod1-general-0", "prod1-general-1", "prod1-general-2", "prod1-general-3"];

function args(c: FakeCluster, over: Partial<ClusterCheckArgs> = {}): ClusterCheckArgs {
  return {
    server: c.server,
    caPem: pki.ca,
    clientCertPem: pki.clientCert,
    clientKeyPem: pki.clientKey,
    masters: MASTERS,
    workers: WORKERS,
    timeoutMs: 3000,
    workerWaitMs: 0,
    intervalMs: 100,
    ...over,
  };
}

const allReady = (names: string[]) => Object.fromEntries(names.map((n) => [n, "True" as Ready]));

describe("readiness gate: checkCluster against a real mTLS api-server on loopback", () => {
  beforeAll(() => {
    pki = makePki();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("every master and worker Ready: passes on the first attempt, counts 3/3 masters and 4/4 workers, with the admin certificate", async () => {
    const c = await fakeCluster({ ...allReady(MASTERS), ...allReady(WORKERS), "someone-elses-node": "True" });
    try {
      const r = await checkCluster(args(c));
      expect(r).toMatchObject({ attempts: 1, mastersReady: 3, mastersExpected: 3, workersJoined: 4, workersExpected: 4, workersMissing: [] });
      expect(r.message).toBe("3/3 masters Ready, 4/4 workers joined");
      expect(c.clients).toEqual(["kubernetes-admin"]);
    } finally {
      await c.close();
    }
  });

  test("one master NotReady until the timeout: the error names it with the kubelet's reason and where to look", async () => {
    const c = await fakeCluster({ ...allReady(MASTERS), "prod1-master-1": "False", ...allReady(WORKERS) });
    try {
      const err = await checkCluster(args(c, { timeoutMs: 800, intervalMs: 200 })).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      const msg = (err as Error).message;
      expect(msg).toMatch(/^masters not Ready within 1s: prod1-master-1 \(NotReady: KubeletNotReady \(container runtime network not ready\)\) \(\d+ attempts;/);
      expect(msg).not.toContain("prod1-master-0");
      expect(msg).toContain("/var/log/k8s-bootstrap.log");
      expect(msg).toContain("journalctl -u k8s-bootstrap -u kubelet");
    } finally {
      await c.close();
    }
  });

  test("a master that never registered is named as not registered", async () => {
    const c = await fakeCluster({ "prod1-master-0": "True", "prod1-master-1": "True" });
    try {
      await expect(checkCluster(args(c, { timeoutMs: 500, intervalMs: 200 }))).rejects.toThrow(
        /masters not Ready within 1s: prod1-master-2 \(not registered\)/,
      );
    } finally {
      await c.close();
    }
  });

  test("a master that becomes Ready while the gate polls opens it", async () => {
    const c = await fakeCluster({ ...allReady(MASTERS), "prod1-master-2": "Unknown" });
    setTimeout(() => c.nodes.set("prod1-master-2", "True"), 400);
    try {
      const r = await checkCluster(args(c, { workers: [], timeoutMs: 5000 }));
      expect(r.attempts).toBeGreaterThan(1);
      expect(r.mastersReady).toBe(3);
    } finally {
      await c.close();
    }
  });

  test("workers short are counted and named, not an error: 2/4 joined (one NotReady, one absent)", async () => {
    const c = await fakeCluster({ ...allReady(MASTERS), "prod1-general-0": "True", "prod1-general-1": "False", "prod1-general-3": "True" });
    try {
      const r = await checkCluster(args(c, { workerWaitMs: 500, intervalMs: 100 }));
      expect(r.attempts).toBeGreaterThan(1);
      expect(r).toMatchObject({ mastersReady: 3, workersJoined: 2, workersExpected: 4, workersMissing: ["prod1-general-1", "prod1-general-2"] });
      expect(r.message).toMatch(/^3\/3 masters Ready, 2\/4 workers joined; not Ready: prod1-general-1, prod1-general-2 \(look at/);
    } finally {
      await c.close();
    }
  });

  test("waits for the workers once the masters are Ready, and stops as soon as they have all joined", async () => {
    const c = await fakeCluster({ ...allReady(MASTERS), ...allReady(WORKERS.slice(0, 3)) });
    setTimeout(() => c.nodes.set(WORKERS[3], "True"), 300);
    try {
      const r = await checkCluster(args(c, { workerWaitMs: 10_000, timeoutMs: 20_000 }));
      expect(r.workersJoined).toBe(4);
      expect(r.elapsedMs).toBeLessThan(5000);
    } finally {
      await c.close();
    }
  });

  test("without a client certificate from the cluster CA the api-server refuses the handshake and the gate fails", async () => {
    const c = await fakeCluster(allReady(MASTERS));
    try {
      await expect(
        checkCluster(args(c, { clientCertPem: pki.otherClientCert, clientKeyPem: pki.otherClientKey, timeoutMs: 500, intervalMs: 200 })),
      ).rejects.toThrow(
        /^api-server not ready: https:\/\/127\.0\.0\.1:\d+ did not list its nodes within 1s .*last: .*(alert|certificate|socket hang up|ECONNRESET)/,
      );
      expect(c.clients).toEqual([]);
    } finally {
      await c.close();
    }
  });

  test("refuses an api-server whose certificate is not from the cluster CA", async () => {
    const c = await fakeCluster(allReady(MASTERS));
    try {
      await expect(checkCluster(args(c, { caPem: MOCK_CERT_PEM, timeoutMs: 500, intervalMs: 200 }))).rejects.toThrow(
        /last: (self[- ]signed certificate|unable to verify|unable to get local issuer)/,
      );
    } finally {
      await c.close();
    }
  });
});

test("the expected workers are the pools' node names (nodePool.ts naming)", () => {
  expect(workerNames("prod1", { general: 2, order: 1 })).toEqual(["prod1-general-0", "prod1-general-1", "prod1-order-0"]);
  expect(workerNames("prod1", { general: 4 })).toEqual(WORKERS);
});

describe("readiness gate: diff", () => {
  const base: ReadinessInputs = {
    server: "https://10.40.0.40:6443",
    caPem: "CA",
    clientCertPem: "cert",
    clientKeyPem: "key",
    masters: MASTERS,
    clusterName: "prod1",
    workerPools: { general: 4 },
    timeoutSeconds: 1800,
    workerWaitSeconds: 900,
  };

  test("a scale-out (more expected workers) re-runs the check in place, not a replacement", () => {
    expect(readinessDiff(base, { ...base, workerPools: { general: 5 } })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(readinessDiff(base, { ...base, workerPools: { general: 4, gpu: 1 } })).toMatchObject({ changes: true, replaces: [] });
  });

  test("a new master set re-runs the check in place", () => {
    expect(readinessDiff(base, { ...base, masters: [...MASTERS, "prod1-master-3", "prod1-master-4"] })).toMatchObject({ changes: true, replaces: [] });
  });

  test("a new endpoint or CA replaces; nothing changed is no change", () => {
    expect(readinessDiff(base, { ...base, caPem: "CA2" }).replaces).toEqual(["caPem"]);
    expect(readinessDiff(base, { ...base, server: "https://10.40.0.41:6443" }).replaces).toEqual(["server"]);
    expect(readinessDiff(base, { ...base })).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });

  test("state written by the old gate (url, no masters) re-runs rather than replaces when only the node lists are new", () => {
    const old = { url: `${base.server}/readyz`, caPem: "CA", timeoutSeconds: 1800 };
    expect(readinessDiff(old, base)).toMatchObject({ changes: true, replaces: [] });
  });
});
