// A real etcd cluster for the tests that need one (etcdBackup; masterRejoin can
// take it too): TLS members on loopback addresses (127.0.0.x, one port pair for
// all, as each master has its own IP), the version the harness built
// (harness/build.sh etcd), certificates from openssl, members started and stopped
// by index, and etcdctl with the health-check client's certificate, as kubeadm
// names it. Also the openssl helpers other certificate tests use.
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { EtcdMember } from "../../components/cluster/etcdBackup";

/** Runs openssl; throws with its output when it fails. */
export function openssl(args: string[]): string {
  const r = spawnSync("openssl", args, { encoding: "utf8", timeout: 60_000 });
  if (r.error) throw new Error(`openssl could not run (${r.error.message}); install it (CI does)`);
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A self-signed EC P-256 certificate `certFile` (key `keyFile`) for subject CN `cn`, valid `days`. */
export function selfSigned(certFile: string, keyFile: string, cn: string, days: number): void {
  fs.mkdirSync(path.dirname(certFile), { recursive: true });
  openssl(["req", "-x509", ...EC, "-keyout", keyFile, "-out", certFile, "-subj", `/CN=${cn}`, "-days", String(days)]);
}

/** `<dir>/<name>.crt` and `.key`, signed by `<dir>/ca.crt`, with the extensions `ext` (openssl extfile lines). */
export function issue(dir: string, name: string, cn: string, ext: string, days = 2): void {
  openssl(["req", ...EC, "-keyout", `${dir}/${name}.key`, "-out", `${dir}/${name}.csr`, "-subj", `/CN=${cn}`]);
  fs.writeFileSync(`${dir}/${name}.ext`, ext);
  const sign = ["-CA", `${dir}/ca.crt`, "-CAkey", `${dir}/ca.key`, "-CAcreateserial", "-days", String(days)];
  openssl(["x509", "-req", "-in", `${dir}/${name}.csr`, ...sign, "-out", `${dir}/${name}.crt`, "-extfile", `${dir}/${name}.ext`]);
}

export interface EtcdClusterOptions {
  /** A fresh folder: pki/, data-<i>/ and etcd-<i>.log go there. */
  dir: string;
  /** Where etcd and etcdctl are. */
  bins: string;
  members: EtcdMember[];
  clientPort: number;
  peerPort: number;
}

export class EtcdCluster {
  readonly pki: string;
  /** Every member's client URL, comma-separated (etcdctl --endpoints). */
  readonly endpoints: string;
  private readonly running = new Map<number, ChildProcess>();

  constructor(readonly o: EtcdClusterOptions) {
    this.pki = path.join(o.dir, "pki");
    this.endpoints = o.members.map((m) => `https://${m.ip}:${o.clientPort}`).join(",");
  }

  /** The CA (etcd-ca), each member's server+peer certificate (its IP and localhost) and the health-check client's. */
  makePki(): void {
    selfSigned(`${this.pki}/ca.crt`, `${this.pki}/ca.key`, "etcd-ca", 2);
    for (const m of this.o.members)
      issue(this.pki, m.name, m.name, `subjectAltName=IP:${m.ip},DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature\n`);
    issue(this.pki, "healthcheck-client", "kube-etcd-healthcheck-client", "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n");
  }

  dataDir(i: number): string {
    return path.join(this.o.dir, `data-${i}`);
  }

  /** `--initial-cluster`: every member's name and peer URL. */
  initialCluster(): string {
    return this.o.members.map((x) => `${x.name}=https://${x.ip}:${this.o.peerPort}`).join(",");
  }

  /** Starts member `i` on its data dir: a new cluster when `fresh`, else rejoining the existing one. */
  start(i: number, fresh: boolean): void {
    const m = this.o.members[i];
    const [d, client, peer] = [this.pki, `https://${m.ip}:${this.o.clientPort}`, `https://${m.ip}:${this.o.peerPort}`];
    const args = [
      ...["--name", m.name, "--data-dir", this.dataDir(i)],
      ...["--listen-client-urls", client, "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer],
      ...["--initial-cluster", this.initialCluster(), "--initial-cluster-state", fresh ? "new" : "existing", "--initial-cluster-token", "test-original"],
      ...["--cert-file", `${d}/${m.name}.crt`, "--key-file", `${d}/${m.name}.key`, "--trusted-ca-file", `${d}/ca.crt`, "--client-cert-auth"],
      ...[
        "--peer-cert-file",
        `${d}/${m.name}.crt`,
        "--peer-key-file",
        `${d}/${m.name}.key`,
        "--peer-trusted-ca-file",
        `${d}/ca.crt`,
        "--peer-client-cert-auth",
      ],
      ...["--log-outputs", path.join(this.o.dir, `etcd-${i}.log`)],
    ];
    this.running.set(i, spawn(path.join(this.o.bins, "etcd"), args, { stdio: "ignore" }));
  }

  /** Stops member `i` (SIGTERM) and waits for it to exit. */
  async stop(i: number): Promise<void> {
    const p = this.running.get(i);
    this.running.delete(i);
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.on("exit", () => resolve());
      p.kill("SIGTERM");
    });
  }

  async stopAll(): Promise<void> {
    for (const i of [...this.running.keys()]) await this.stop(i);
  }

  /** etcdctl against every member with the health-check client's certificate; does not block the event loop. */
  etcdctl(...args: string[]): Promise<{ code: number; out: string }> {
    const d = this.pki;
    const tls = ["--cacert", `${d}/ca.crt`, "--cert", `${d}/healthcheck-client.crt`, "--key", `${d}/healthcheck-client.key`];
    return new Promise((resolve, reject) => {
      const p = spawn(path.join(this.o.bins, "etcdctl"), ["--endpoints", this.endpoints, ...tls, ...args]);
      let out = "";
      p.stdout.on("data", (b) => (out += b));
      p.stderr.on("data", (b) => (out += b));
      p.on("error", reject);
      p.on("close", (code) => resolve({ code: code ?? -1, out }));
    });
  }

  /** The cluster's current revision (a read's header). */
  async revision(): Promise<number> {
    const r = await this.etcdctl("get", "/none", "-w", "json");
    if (r.code !== 0) throw new Error(r.out);
    return Number(JSON.parse(r.out).header.revision);
  }

  /** Waits (up to 30 s) until every endpoint answers healthy. */
  async waitHealthy(): Promise<void> {
    for (let i = 0; i < 60; i++) {
      if ((await this.etcdctl("endpoint", "health")).code === 0) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`etcd did not become healthy; logs in ${this.o.dir}`);
  }
}
