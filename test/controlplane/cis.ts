// kube-bench (built by harness/build.sh, benchmark definitions from its module source) against a
// running local control plane laid out as a master is. kube-bench reads the components' flags from the
// running processes (ps) and their files from fixed paths: a copy of its cfg/ has every /etc/kubernetes,
// /var/lib/etcd, /var/lib/kubelet and kubelet unit path prefixed with the control plane's root.
// What a master gets besides the control plane (layOutNode), each from the same source the node has:
//   - /var/lib/kubelet/config.yaml and kubeadm-flags.env: the real `kubeadm init phase kubelet-start`
//     on the stack's init configuration, with the bootstrap's umask 077 (kubeadm() in controlPlane.ts);
//   - the kubelet's unit and kubeadm's drop-in where the packages put them (PACKAGE_UNIT_DIR; /lib is
//     /usr/lib on Ubuntu), 0600 root:root as the bootstrap's dpkg stat override makes them;
//   - etcd's data directory owned by the etcd system account, as the masters' bootstrap gives it
//     (needs root and an etcd account here; .ci/setup --tests adds it);
//   - a kubelet and a kube-proxy process: no kubelet can run without a container runtime, and a real
//     kube-proxy would rewrite this machine's netfilter rules, so each is a stand-in process named like
//     the binary (what `ps -C` matches) that only sleeps, with the command line the node runs: for the
//     kubelet the ExecStart of the units above expanded with their Environment= and the kubeadm-flags.env
//     kubeadm wrote (systemd.exec(5) "Command lines"), for kube-proxy the command of the DaemonSet the
//     real `kubeadm init phase addon kube-proxy` created in this api-server. Their configuration files are
//     the real ones (the kubelet's above; kube-proxy's config.conf is in its ConfigMap, checked by the test).
import { ChildProcess, execFile, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { PACKAGE_UNIT_DIR } from "../../components/cluster/bootstrapScript";
import { ETCD_DATA_DIR } from "../../components/cluster/etcdBackup";
import { bin } from "./binaries";
import { kubeadm, type ControlPlane } from "./controlPlane";
import { documentsByKind, StackInputs } from "./stackInputs";

const run = promisify(execFile);

/**
 * The newest CIS Kubernetes Benchmark kube-bench v0.16.0 has. Its cfg/config.yaml version_mapping stops at 1.34
 * (1.32-1.34: cis-1.12); for 1.35 (host, pre, prod1, prod2) and 1.36 (dev, test) kube-bench would take the nearest
 * older mapped minor (cmd/common.go mapToBenchmarkVersion decrements it), cis-1.12 too. The harness names it
 * (--benchmark) for every stack, so the verdicts are always those of this benchmark.
 */
export const BENCHMARK = "cis-1.12";
export const TARGETS = ["master", "controlplane", "etcd", "policies", "node"];

export interface CisResult {
  counts: { PASS: number; FAIL: number; WARN: number; INFO: number };
  fails: { id: string; text: string; target: string }[];
  warns: { id: string; text: string; target: string }[];
  /** Each check's verdict by id, e.g. "4.2.1" -> "PASS". */
  statuses: Record<string, string>;
  /** The stand-ins' command lines (what kube-bench's `ps` saw), e.g. kubelet -> ["--config=/var/lib/kubelet/config.yaml", ...]. */
  commands: Record<string, string[]>;
  raw: unknown;
}

/**
 * The kubelet package's unit and kubeadm package's drop-in, by their directives: ExecStart of the
 * kubelet, and the drop-in's kubeconfig/config arguments, kubeadm's flags file and the user's
 * /etc/default/kubelet (kubernetes.io/docs/setup/production-environment/tools/kubeadm/kubelet-integration/,
 * "The kubelet drop-in file for systemd", read 2026-12-07).
 */
export const KUBELET_UNIT = `[Unit]
Description=kubelet: The Kubernetes Node Agent
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`;
export const KUBEADM_DROP_IN = `[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`;

/** KEY="value" / KEY=value lines of an environment file (systemd.exec(5) EnvironmentFile=). */
function envFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = line.trim().match(/^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/);
    if (m) env[m[1]] = m[2].replace(/^"(.*)"$/s, "$1");
  }
  return env;
}

/**
 * The kubelet's argv as systemd starts it from the unit and its drop-in under root: the last ExecStart
 * with each unquoted $VAR split into words (systemd.exec(5) "Command lines"), the variables from
 * Environment= and the EnvironmentFile= files ("-": optional) read under root.
 */
export function kubeletCommand(root: string, unit: string, dropIn: string): string[] {
  const env: Record<string, string> = {};
  let exec = "";
  for (const text of [unit, dropIn]) {
    for (const line of text.split("\n")) {
      const m = line.match(/^(Environment|EnvironmentFile|ExecStart)=(.*)$/);
      if (!m) continue;
      if (m[1] === "Environment") Object.assign(env, envFile(m[2].replace(/^"(.*)"$/, "$1")));
      else if (m[1] === "EnvironmentFile") {
        const file = path.join(root, m[2].replace(/^-/, ""));
        if (fs.existsSync(file)) Object.assign(env, envFile(fs.readFileSync(file, "utf8")));
        else if (!m[2].startsWith("-")) throw new Error(`EnvironmentFile ${m[2]} is missing`);
      } else exec = m[2];
    }
  }
  const words = exec.split(/\s+/).filter(Boolean);
  return words.flatMap((w) => (w.startsWith("$") ? (env[w.slice(1)] ?? "").split(/\s+/).filter(Boolean) : [w]));
}

/**
 * A process that `ps -C <name>` finds and whose command line reads `<argv0> -s -- <args>`: bash run
 * through a symlink named `name` (the kernel names a process after the file it executes), its
 * argv[0] the node's binary path (kube-bench wants the binary as the first word), its script on stdin:
 * sleep while the harness lives.
 */
function standIn(root: string, name: string, argv0: string, args: string[]): ChildProcess {
  const dir = path.join(root, "stand-in");
  fs.mkdirSync(dir, { recursive: true });
  const link = path.join(dir, name);
  if (!fs.existsSync(link)) fs.symlinkSync("/bin/bash", link);
  const child = spawn(link, ["-s", "--", ...args], { argv0, stdio: ["pipe", "ignore", "ignore"], detached: true });
  child.on("error", () => undefined);
  child.stdin?.end('while kill -0 "$PPID" 2>/dev/null; do sleep 1; done\n');
  return child;
}

/** The uid and gid of a local account (getent passwd), or undefined. */
async function account(name: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const { stdout } = await run("getent", ["passwd", name]);
    const [, , uid, gid] = stdout.trim().split(":");
    return { uid: Number(uid), gid: Number(gid) };
  } catch {
    return undefined;
  }
}

interface NodeLayout {
  commands: Record<string, string[]>;
  stop(): void;
}

/** Lays out what a master gets besides the control plane (see the head of this file) and starts the stand-ins. */
export async function layOutNode(cp: ControlPlane, inputs: StackInputs, binDir: string): Promise<NodeLayout> {
  const root = cp.root;
  if (!fs.existsSync(path.join(root, "var/lib/kubelet/config.yaml"))) {
    await kubeadm(binDir, root, ["init", "phase", "kubelet-start", "--config", "/kubeadm-init.yaml"]);
  }
  const units = path.join(root, PACKAGE_UNIT_DIR);
  fs.mkdirSync(path.join(units, "kubelet.service.d"), { recursive: true });
  const unitFile = path.join(units, "kubelet.service");
  const dropInFile = path.join(units, "kubelet.service.d/10-kubeadm.conf");
  fs.writeFileSync(unitFile, KUBELET_UNIT);
  fs.writeFileSync(dropInFile, KUBEADM_DROP_IN);
  for (const f of [unitFile, dropInFile]) fs.chmodSync(f, 0o600); // the bootstrap's dpkg-statoverride ... 0600
  if (!fs.existsSync(path.join(root, "lib"))) fs.symlinkSync("usr/lib", path.join(root, "lib")); // Ubuntu's merged /usr
  if (process.getuid?.() !== 0) throw new Error("kube-bench's node layout needs root: etcd's data directory belongs to the etcd account on a master");
  const etcd = await account("etcd");
  if (!etcd) {
    throw new Error(
      "no etcd account on this machine: a master's etcd data directory belongs to it (CIS 1.1.12); add it as the masters do: useradd --system --user-group --no-create-home --home-dir /var/lib/etcd --shell /usr/sbin/nologin etcd",
    );
  }
  const dataDir = path.join(root, ETCD_DATA_DIR);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.chownSync(dataDir, etcd.uid, etcd.gid);

  const [kubeletBin, ...kubelet] = kubeletCommand(root, KUBELET_UNIT, KUBEADM_DROP_IN);
  const ds = await cp.client.request("GET", "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy");
  if (ds.status !== 200) throw new Error(`kube-proxy DaemonSet: ${ds.status} ${ds.text.slice(0, 200)}`);
  const container = (ds.json as { spec: { template: { spec: { containers: { command: string[] }[] } } } }).spec.template.spec.containers[0];
  const nodeName = String(
    (documentsByKind(inputs.initConfig).get("InitConfiguration") as { nodeRegistration?: { name?: string } })?.nodeRegistration?.name ?? "",
  );
  const [proxyBin, ...proxy] = container.command.map((a) => a.replace("$(NODE_NAME)", nodeName));
  const children = [standIn(root, "kubelet", kubeletBin, kubelet), standIn(root, "kube-proxy", proxyBin, proxy)];
  return {
    commands: { kubelet: [kubeletBin, ...kubelet], "kube-proxy": [proxyBin, ...proxy] },
    stop: () => {
      for (const c of children) {
        try {
          if (c.pid) process.kill(-c.pid, "SIGTERM");
        } catch {
          // already gone
        }
      }
    },
  };
}

/** Absolute paths the cfg names that are files of the node: prefixed with the root (not inside a longer path). */
const REMAPPED = ["/etc/kubernetes", "/var/lib/etcd", "/var/lib/kubelet", "/etc/systemd/system/kubelet.service", "/lib/systemd/system/kubelet.service"];

function copyRemapped(src: string, dst: string, root: string): void {
  fs.mkdirSync(dst, { recursive: true });
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, e.name);
    const d = path.join(dst, e.name);
    if (e.isDirectory()) copyRemapped(s, d, root);
    else {
      let text = fs.readFileSync(s, "utf8");
      for (const p of REMAPPED) text = text.replace(new RegExp(`(?<![\\w./-])${p.replace(/[.]/g, "\\.")}`, "g"), `${root}${p}`);
      fs.writeFileSync(d, text);
    }
  }
}

export async function runCis(cp: ControlPlane, inputs: StackInputs, binDir: string): Promise<CisResult> {
  const node = await layOutNode(cp, inputs, binDir);
  try {
    return await runKubeBench(cp, binDir, node.commands);
  } finally {
    node.stop();
  }
}

/**
 * kube-bench's audits read the components' flags with `ps -ef | grep <binary>` (cfg/cis-1.12/master.yaml; 1.1.12
 * even takes the last etcd `--data-dir` it sees). A node runs one control plane; this machine may run others at
 * the same moment (the tests' own etcd clusters, a second harness), all from the same harness binaries. So the
 * audits get a `ps` that leaves out the processes of those binaries that do not belong to this control plane
 * (their command line does not name its root); every other line, the stand-ins' included, passes unchanged.
 * kube-bench's own detection of which components run (`/bin/ps -C`, cmd/util.go) is not affected.
 */
function onlyThisControlPlane(cp: ControlPlane, binDir: string): string {
  const dir = path.join(cp.root, "kube-bench-ps");
  const realPs = ["/usr/bin/ps", "/bin/ps"].find((p) => fs.existsSync(p)) ?? "/bin/ps";
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, "ps"),
    [
      "#!/bin/bash",
      "set -o pipefail",
      `${realPs} "$@" | awk -v bin=${JSON.stringify(`${binDir}/`)} -v root=${JSON.stringify(cp.root)} 'index($0, bin) == 0 || index($0, root) > 0'`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  return dir;
}

async function runKubeBench(cp: ControlPlane, binDir: string, commands: Record<string, string[]>): Promise<CisResult> {
  const cfg = path.join(cp.root, "kube-bench-cfg");
  if (!fs.existsSync(cfg)) copyRemapped(path.join(binDir, "..", "kube-bench-cfg"), cfg, cp.root);
  const psDir = onlyThisControlPlane(cp, binDir);
  let stdout: string;
  try {
    ({ stdout } = await run(
      bin(binDir, "kube-bench"),
      ["run", "--config-dir", cfg, "--config", path.join(cfg, "config.yaml"), "--benchmark", BENCHMARK, "--targets", TARGETS.join(","), "--json"],
      { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, KUBECONFIG: cp.kubeconfig, PATH: `${psDir}:${binDir}:${process.env.PATH ?? ""}` } },
    ));
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    // kube-bench exits non-zero when checks fail (with --exit-code) or on a real error; keep its JSON when there is some.
    if (err.stdout && err.stdout.trim().startsWith("{")) stdout = err.stdout;
    else throw new Error(`kube-bench failed: ${(err.stderr || err.message).trim()}`, { cause: e });
  }
  const raw = JSON.parse(stdout) as {
    Controls: { id: string; text: string; node_type?: string; tests: { results: { test_number: string; test_desc: string; status: string }[] }[] }[];
    Totals?: { total_pass: number; total_fail: number; total_warn: number; total_info: number };
  };
  const counts = { PASS: 0, FAIL: 0, WARN: 0, INFO: 0 };
  const fails: CisResult["fails"] = [];
  const warns: CisResult["warns"] = [];
  const statuses: Record<string, string> = {};
  for (const c of raw.Controls ?? []) {
    for (const t of c.tests ?? []) {
      for (const r of t.results ?? []) {
        if (r.status in counts) counts[r.status as keyof typeof counts]++;
        statuses[r.test_number] = r.status;
        const item = { id: r.test_number, text: r.test_desc, target: c.node_type ?? c.id };
        if (r.status === "FAIL") fails.push(item);
        if (r.status === "WARN") warns.push(item);
      }
    }
  }
  return { counts, fails, warns, statuses, commands, raw };
}

export function formatCis(stack: string, r: CisResult): string {
  const lines = [
    `kube-bench ${BENCHMARK} on the local control plane of ${stack}: PASS ${r.counts.PASS}  FAIL ${r.counts.FAIL}  WARN ${r.counts.WARN}  INFO ${r.counts.INFO}`,
  ];
  for (const f of r.fails) lines.push(`FAIL ${f.id} ${f.text}`);
  return lines.join("\n");
}
