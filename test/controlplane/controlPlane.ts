// A real control plane from a stack's own kubeadm configuration (issue 26, DESIGN.md "A real control
// plane"). The real `kubeadm init phase` commands write the PKI, kubeconfigs and static-pod manifests into
// a temporary root (kubeadm's own --rootfs, a chroot; through `unshare --map-root-user` when not root);
// then etcd, kube-apiserver, kube-controller-manager and kube-scheduler run as plain processes with the
// commands those manifests name. What is rewritten, and nothing else (see REWRITES):
//   - every absolute path in a flag value gets the temporary root in front (/etc/kubernetes/pki/ca.crt ->
//     <root>/etc/kubernetes/pki/ca.crt), as the static pod's hostPath mounts would map them;
//   - the node's addresses (the advertise address and the controlPlaneEndpoint host) become 127.0.0.1,
//     and a list that then names the same URL twice (etcd's --listen-client-urls) keeps it once;
//   - the well-known ports (6443 or the bindPort, 2379, 2380, 2381) become free loopback ports, and
//     kube-apiserver, kube-controller-manager and kube-scheduler get --secure-port / --bind-address=127.0.0.1
//     on free loopback ports, so two stacks (or two test files) can run side by side;
//   - in the kubeconfigs kubeadm wrote, the server URL gets the same address/port rewrite and
//     tls-server-name "kubernetes" (a name kubeadm puts in every apiserver certificate; the certificates
//     themselves are kubeadm's, unchanged).
// The encryption config the masters read from the secret store is written with a fresh random key in the
// shape components/cluster/secretStore.ts gives it; the other files under /etc/kubernetes come from the
// same cloud-init document as the init configuration.
import { ChildProcess, execFile, spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { ENCRYPTION_CONFIG_PATH } from "../../components/cluster/kubeadm";
import { encryptionConfig } from "../../components/cluster/secretStore";
import { bin } from "./binaries";
import { KubeClient } from "./kubeClient";
import { documentsByKind, StackInputs } from "./stackInputs";

export const REWRITES = [
  "absolute paths in flag values: <root> in front",
  "the advertise address and the controlPlaneEndpoint host: 127.0.0.1 (duplicate URLs in a list kept once)",
  "ports 6443/bindPort, 2379, 2380, 2381: free loopback ports",
  "kube-apiserver, kube-controller-manager, kube-scheduler: --bind-address=127.0.0.1 and --secure-port=<free port> (the manifests leave them at the defaults)",
  "kubeconfigs: server URL as above, tls-server-name: kubernetes",
  "kubeadm's kubeadm:cluster-admins ClusterRoleBinding made by the harness (the same name, role and group kubeadm makes), and the phases after the start (upload-config, bootstrap-token, addon) run with super-admin.conf: kubeadm 1.36 reaches the api-server through localAPIEndpoint, the node's own address, for them",
];

export interface ControlPlane {
  stack: string;
  root: string;
  /** The admin kubeconfig (kubeadm's admin.conf, group kubeadm:cluster-admins). */
  kubeconfig: string;
  apiserver: string;
  client: KubeClient;
  /** The rewritten command of each component (what actually runs). */
  commands: Record<string, string[]>;
  /** The manifests' original commands. */
  manifestCommands: Record<string, string[]>;
  /** Seconds from the first kubeadm phase to readyz ok. */
  startSeconds: number;
  stop(): Promise<void>;
}

export interface StartOptions {
  binDir: string;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
  /** Keep the temporary root after stop (debugging). */
  keepFiles?: boolean;
  /** How long to wait for readyz (default 120 s: 2 busy cores). */
  readyTimeoutMs?: number;
  /**
   * Aborting it (the CLI does on SIGINT/SIGTERM) stops the start where it is: a running kubeadm is killed,
   * nothing more is spawned, every process started so far is stopped and the temporary root removed, and
   * the start rejects with a StartAborted.
   */
  signal?: AbortSignal;
}

/** The start was aborted through StartOptions.signal; everything it had started is stopped and removed. */
export class StartAborted extends Error {}

/** The Kubernetes version the stack's ClusterConfiguration pins, e.g. "v1.36.2". */
export function pinnedVersion(inputs: StackInputs): string {
  const cluster = documentsByKind(inputs.initConfig).get("ClusterConfiguration") as { kubernetesVersion?: string } | undefined;
  return `v${String(cluster?.kubernetesVersion ?? "?").replace(/^v/, "")}`;
}

/** What `kubeadm version -o short` in binDir reports (the version build.sh stamped into the binaries), e.g. "v1.36.2". */
export async function binariesVersion(binDir: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(bin(binDir, "kubeadm"), ["version", "-o", "short"], (e, stdout) => (e ? reject(e) : resolve(stdout.trim()))),
  );
}

export const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Runs kubeadm in the temporary root (its --rootfs chroots there) with umask 077, the umask the nodes'
 * bootstrap script sets before it runs kubeadm (components/cluster/scripts/k8s-bootstrap.sh), so the
 * files kubeadm writes get the modes they get on a master.
 */
export async function kubeadm(binDir: string, root: string, args: string[], signal?: AbortSignal): Promise<string> {
  const argv = ["-c", 'umask 077 && exec "$0" "$@"', bin(binDir, "kubeadm"), "--rootfs", root, ...args];
  const [cmd, cmdArgs] = process.getuid?.() === 0 ? ["sh", argv] : ["unshare", ["--user", "--map-root-user", "sh", ...argv]];
  if (signal?.aborted) throw new StartAborted(`aborted before kubeadm ${args.join(" ")}`);
  // sh and unshare exec kubeadm, so the child is kubeadm itself. On abort it is killed and this settles only
  // once it has exited (so it writes nothing into a root being removed).
  const child = execFile(cmd, cmdArgs, { maxBuffer: 16 * 1024 * 1024 });
  const onAbort = () => child.kill("SIGTERM");
  signal?.addEventListener("abort", onAbort, { once: true });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  try {
    const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (c, s) => resolve([c, s]));
    });
    if (signal?.aborted) throw new StartAborted(`aborted during kubeadm ${args.join(" ")}`);
    if (code !== 0) throw new Error(`kubeadm ${args.join(" ")} failed (${sig ?? `exit ${code}`}):\n${(stderr || stdout).trim()}`);
    return stdout + stderr;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

interface Rewriter {
  hosts: Map<string, string>;
  ports: Map<number, number>;
  root: string;
}

/** host:port in a URL or address, with the node's addresses and well-known ports rewritten. */
function rewriteAddresses(v: string, r: Rewriter): string {
  return v.replace(/(\b\d{1,3}(?:\.\d{1,3}){3}|\blocalhost):(\d+)\b/g, (_m, host: string, port: string) => {
    const h = r.hosts.get(host) ?? host;
    const p = r.ports.get(Number(port)) ?? Number(port);
    return `${h}:${p}`;
  });
}

/** One flag of a static-pod command, rewritten as REWRITES says. */
export function rewriteFlag(arg: string, r: Rewriter): string {
  const m = arg.match(/^(--[^=]+)=(.*)$/s);
  if (!m) return arg;
  const [, flag, value] = m;
  if (flag === "--secure-port") return `${flag}=${r.ports.get(Number(value)) ?? value}`;
  if (r.hosts.has(value)) return `${flag}=${r.hosts.get(value)}`;
  const parts = value.split(",").map((p) => (p.startsWith("/") ? path.join(r.root, p) : rewriteAddresses(p, r)));
  return `${flag}=${[...new Set(parts)].join(",")}`;
}

function withFlag(cmd: string[], flag: string, value: string): string[] {
  return cmd.some((a) => a.startsWith(`${flag}=`)) ? cmd : [...cmd, `${flag}=${value}`];
}

function tail(file: string, lines = 25): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Starts the stack's control plane; on any failure everything started so far is stopped and removed. */
export async function startControlPlane(inputs: StackInputs, opts: StartOptions): Promise<ControlPlane> {
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  const signal = opts.signal;
  const checkAbort = () => {
    if (signal?.aborted) throw new StartAborted(`start of ${inputs.stack}'s control plane interrupted`);
  };
  checkAbort();
  // A stack runs on the binaries of the version it pins (requireBinaries picks them), never on another's.
  const [pinned, built] = [pinnedVersion(inputs), await binariesVersion(opts.binDir)];
  if (pinned !== built) throw new Error(`${inputs.stack} pins Kubernetes ${pinned}, the binaries in ${opts.binDir} are ${built}`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `control-plane-${inputs.stack}-`));
  const procs: { name: string; child: ChildProcess; exited?: string }[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopAll());
  const stopAll = async () => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exited !== undefined || p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
            const timer = setTimeout(() => p.child.kill("SIGKILL"), 10_000);
            p.child.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
            p.child.kill("SIGTERM");
          }),
      ),
    );
    if (!opts.keepFiles) fs.rmSync(root, { recursive: true, force: true });
  };
  // On abort the processes started so far get SIGTERM at once; the start then unwinds into stop() below.
  const onAbort = () => procs.forEach((p) => p.child.kill("SIGTERM"));
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    // The files cloud-init writes under /etc/kubernetes, and the encryption config from the secret store.
    const write = (p: string, text: string, mode = 0o600) => {
      const file = path.join(root, p);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text, { mode });
    };
    for (const [p, text] of inputs.kubernetesFiles) write(p, text);
    write(ENCRYPTION_CONFIG_PATH, encryptionConfig(randomBytes(32).toString("base64")));
    write("/kubeadm-init.yaml", inputs.initConfig);
    for (const phase of [
      ["certs", "all"],
      ["kubeconfig", "all"],
      ["control-plane", "all"],
      ["etcd", "local"],
    ]) {
      log(`kubeadm init phase ${phase.join(" ")}`);
      await kubeadm(opts.binDir, root, ["init", "phase", ...phase, "--config", "/kubeadm-init.yaml"], signal);
    }
    checkAbort();

    const docs = documentsByKind(inputs.initConfig);
    const initCfg = docs.get("InitConfiguration") as { localAPIEndpoint?: { advertiseAddress?: string; bindPort?: number } } | undefined;
    const clusterCfg = docs.get("ClusterConfiguration") as { controlPlaneEndpoint?: string } | undefined;
    const hosts = new Map<string, string>();
    if (initCfg?.localAPIEndpoint?.advertiseAddress) hosts.set(initCfg.localAPIEndpoint.advertiseAddress, "127.0.0.1");
    const cpeHost = clusterCfg?.controlPlaneEndpoint?.replace(/:\d+$/, "");
    if (cpeHost) hosts.set(cpeHost, "127.0.0.1");
    const apiPort = await freePort();
    const ports = new Map<number, number>([
      [initCfg?.localAPIEndpoint?.bindPort ?? 6443, apiPort],
      [6443, apiPort],
      [2379, await freePort()],
      [2380, await freePort()],
      [2381, await freePort()],
    ]);
    const cpePort = Number(clusterCfg?.controlPlaneEndpoint?.match(/:(\d+)$/)?.[1] ?? 6443);
    ports.set(cpePort, apiPort);
    const rw: Rewriter = { hosts, ports, root };

    const manifestCommands: Record<string, string[]> = {};
    const commands: Record<string, string[]> = {};
    for (const c of COMPONENTS) {
      const pod = YAML.parse(fs.readFileSync(path.join(root, "etc/kubernetes/manifests", `${c}.yaml`), "utf8")) as {
        spec: { containers: { command: string[] }[]; volumes?: { hostPath?: { path: string; type?: string } }[] };
      };
      // What the kubelet does for the pod's hostPath volumes of type DirectoryOrCreate (the audit log directory, etcd's data).
      for (const v of pod.spec.volumes ?? []) {
        if (v.hostPath?.type === "DirectoryOrCreate") fs.mkdirSync(path.join(root, v.hostPath.path), { recursive: true, mode: 0o755 });
      }
      const cmd = pod.spec.containers[0].command;
      manifestCommands[c] = cmd;
      let out = cmd.map((a, i) => (i === 0 ? a : rewriteFlag(a, rw)));
      if (c !== "etcd") {
        const secure = c === "kube-apiserver" ? apiPort : await freePort();
        out = withFlag(out, "--secure-port", String(secure));
        out = withFlag(out, "--bind-address", "127.0.0.1");
      }
      commands[c] = out;
    }
    for (const f of fs.readdirSync(path.join(root, "etc/kubernetes")).filter((f) => f.endsWith(".conf"))) {
      const file = path.join(root, "etc/kubernetes", f);
      const kc = YAML.parse(fs.readFileSync(file, "utf8")) as { clusters: { cluster: Record<string, unknown> }[] };
      for (const c of kc.clusters) {
        c.cluster.server = rewriteAddresses(String(c.cluster.server), rw);
        c.cluster["tls-server-name"] = "kubernetes";
      }
      fs.writeFileSync(file, YAML.stringify(kc), { mode: 0o600 });
    }

    fs.mkdirSync(path.join(root, "logs"));
    const spawnComponent = (name: string) => {
      checkAbort();
      const [binary, ...args] = commands[name];
      const logFile = path.join(root, "logs", `${name}.log`);
      const fd = fs.openSync(logFile, "a");
      const child = spawn(bin(opts.binDir, binary as "etcd"), args, { stdio: ["ignore", fd, fd], detached: false });
      fs.closeSync(fd);
      const p: (typeof procs)[number] = { name, child };
      child.on("exit", (code, signal) => {
        p.exited = signal ?? String(code);
      });
      child.on("error", (e) => {
        p.exited = e.message;
      });
      procs.push(p);
      log(`started ${name} (pid ${child.pid})`);
    };
    spawnComponent("etcd");
    spawnComponent("kube-apiserver");

    const apiserver = `https://127.0.0.1:${apiPort}`;
    const kubeconfig = path.join(root, "etc/kubernetes/admin.conf");
    const superAdmin = new KubeClient(path.join(root, "etc/kubernetes/super-admin.conf"));
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
    for (;;) {
      checkAbort();
      const dead = procs.find((p) => p.exited !== undefined);
      if (dead)
        throw new Error(
          `${dead.name} exited (${dead.exited}) before the api-server was ready; its log ends:\n${tail(path.join(root, "logs", `${dead.name}.log`))}`,
        );
      const r = await superAdmin.request("GET", "/readyz").catch(() => undefined);
      if (r?.status === 200) break;
      if (Date.now() > deadline) {
        throw new Error(
          `kube-apiserver not ready after ${(opts.readyTimeoutMs ?? 120_000) / 1000}s (last /readyz: ${r ? `${r.status} ${r.text.slice(0, 400)}` : "no answer"}); its log ends:\n${tail(path.join(root, "logs", "kube-apiserver.log"))}`,
        );
      }
      await new Promise((res) => setTimeout(res, 500));
    }
    spawnComponent("kube-controller-manager");
    spawnComponent("kube-scheduler");
    // What `kubeadm init` does against the live api-server after the control plane is up: the
    // kubeadm:cluster-admins binding admin.conf relies on, the kubeadm/kubelet config maps, the bootstrap
    // token RBAC and CSR auto-approval bindings, cluster-info, and the CoreDNS and kube-proxy add-ons.
    // From v1.36 kubeadm bootstraps admin.conf's binding through the InitConfiguration's localAPIEndpoint, not
    // admin.conf's server (kubernetes v1.36.2 cmd/kubeadm/app/cmd/init.go initData.Client passes
    // &d.Cfg().LocalAPIEndpoint to EnsureAdminClusterRoleBinding; v1.35.4 passed nil), and the node's address is
    // not on this machine. So the harness makes that binding itself (kubeadm's: group kubeadm:cluster-admins to
    // cluster-admin) and runs the phases with super-admin.conf (its server rewritten like every kubeconfig).
    const binding = await superAdmin.apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "kubeadm:cluster-admins" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "kubeadm:cluster-admins" }],
    });
    if (binding.status >= 300) throw new Error(`ClusterRoleBinding kubeadm:cluster-admins: ${binding.status} ${binding.text.slice(0, 300)}`);
    for (const phase of [["upload-config", "all"], ["bootstrap-token"], ["addon", "all"]]) {
      log(`kubeadm init phase ${phase.join(" ")}`);
      await kubeadm(
        opts.binDir,
        root,
        ["init", "phase", ...phase, "--config", "/kubeadm-init.yaml", "--kubeconfig", "/etc/kubernetes/super-admin.conf"],
        signal,
      );
    }
    checkAbort();
    const dead = procs.find((p) => p.exited !== undefined);
    if (dead) throw new Error(`${dead.name} exited (${dead.exited}); its log ends:\n${tail(path.join(root, "logs", `${dead.name}.log`))}`);
    const startSeconds = (Date.now() - started) / 1000;
    log(`control plane of ${inputs.stack} ready in ${startSeconds.toFixed(1)}s`);
    return { stack: inputs.stack, root, kubeconfig, apiserver, client: new KubeClient(kubeconfig), commands, manifestCommands, startSeconds, stop };
  } catch (e) {
    await stop();
    if (signal?.aborted && !(e instanceof StartAborted)) throw new StartAborted(`start of ${inputs.stack}'s control plane interrupted`, { cause: e });
    throw e;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Writes a kubeconfig (mode 0600) that authenticates as ServiceAccount `namespace/name` with a one-hour token from the
 * TokenRequest API, what a pod of that account gets through its token mount, for a node component the test runs
 * outside a pod (kube-proxy, kube-router); the server and CA are the control plane's own.
 */
export async function serviceAccountKubeconfig(cp: ControlPlane, namespace: string, name: string, file: string): Promise<string> {
  const r = await cp.client.request("POST", `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: { expirationSeconds: 3600 },
  });
  if (r.status >= 300) throw new Error(`${name} token: ${r.status} ${r.text.slice(0, 500)}`);
  const adminConf = YAML.parse(fs.readFileSync(cp.kubeconfig, "utf8")) as { clusters: { cluster: Record<string, string> }[] };
  const cluster = {
    server: "https://127.0.0.1:6443",
    "certificate-authority-data": adminConf.clusters[0].cluster["certificate-authority-data"],
    "tls-server-name": "kubernetes",
  };
  fs.writeFileSync(
    file,
    YAML.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: cp.stack, cluster }],
      users: [{ name, user: { token: (r.json!.status as { token: string }).token } }],
      contexts: [{ name, context: { cluster: cp.stack, user: name } }],
      "current-context": name,
    }),
    { mode: 0o600 },
  );
  return file;
}
