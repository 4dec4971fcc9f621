// kube-bench (built by harness/build.sh, benchmark definitions from its module source) against a
// running local control plane and the stack's kubelet configuration. kube-bench reads the components'
// flags from the running processes (ps) and their files from fixed paths: a copy of its cfg/ has every
// /etc/kubernetes, /var/lib/etcd and /var/lib/kubelet path prefixed with the control plane's root, and
// the node components (kubelet, kube-proxy) marked optional: no kubelet runs here, so the kubelet checks
// read the stack's KubeletConfiguration, written where kubeadm puts it (/var/lib/kubelet/config.yaml).
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import YAML from "yaml";
import { bin } from "./binaries";
import type { ControlPlane } from "./controlPlane";
import { documentsByKind, StackInputs } from "./stackInputs";

const run = promisify(execFile);

/** The CIS Kubernetes Benchmark kube-bench v0.16.0 maps Kubernetes 1.32+ to (cfg/config.yaml version_mapping). */
export const BENCHMARK = "cis-1.12";
export const TARGETS = ["master", "controlplane", "etcd", "policies", "node"];

export interface CisResult {
  counts: { PASS: number; FAIL: number; WARN: number; INFO: number };
  fails: { id: string; text: string; target: string }[];
  warns: { id: string; text: string; target: string }[];
  raw: unknown;
}

const REMAPPED = ["/etc/kubernetes", "/var/lib/etcd", "/var/lib/kubelet", "/etc/systemd/system/kubelet.service.d"];

function copyRemapped(src: string, dst: string, root: string): void {
  fs.mkdirSync(dst, { recursive: true });
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, e.name);
    const d = path.join(dst, e.name);
    if (e.isDirectory()) copyRemapped(s, d, root);
    else {
      let text = fs.readFileSync(s, "utf8");
      for (const p of REMAPPED) text = text.split(p).join(`${root}${p}`);
      fs.writeFileSync(d, text);
    }
  }
}

export async function runCis(cp: ControlPlane, inputs: StackInputs, binDir: string): Promise<CisResult> {
  const kubelet = documentsByKind(inputs.initConfig).get("KubeletConfiguration");
  const kubeletFile = path.join(cp.root, "var/lib/kubelet/config.yaml");
  if (kubelet && !fs.existsSync(kubeletFile)) {
    fs.mkdirSync(path.dirname(kubeletFile), { recursive: true });
    fs.writeFileSync(kubeletFile, YAML.stringify(kubelet), { mode: 0o600 });
  }
  const cfg = path.join(cp.root, "kube-bench-cfg");
  if (!fs.existsSync(cfg)) {
    copyRemapped(path.join(binDir, "..", "kube-bench-cfg"), cfg, cp.root);
    const configFile = path.join(cfg, "config.yaml");
    const doc = YAML.parseDocument(fs.readFileSync(configFile, "utf8"));
    for (const [section, component] of [
      ["node", "kubelet"],
      ["node", "proxy"],
      ["master", "kubelet"],
      ["master", "flanneld"],
    ]) {
      if (doc.hasIn([section, component])) doc.setIn([section, component, "optional"], true);
    }
    fs.writeFileSync(configFile, doc.toString());
  }
  let stdout: string;
  try {
    ({ stdout } = await run(
      bin(binDir, "kube-bench"),
      ["run", "--config-dir", cfg, "--config", path.join(cfg, "config.yaml"), "--benchmark", BENCHMARK, "--targets", TARGETS.join(","), "--json"],
      { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, KUBECONFIG: cp.kubeconfig } },
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
  for (const c of raw.Controls ?? []) {
    for (const t of c.tests ?? []) {
      for (const r of t.results ?? []) {
        if (r.status in counts) counts[r.status as keyof typeof counts]++;
        const item = { id: r.test_number, text: r.test_desc, target: c.node_type ?? c.id };
        if (r.status === "FAIL") fails.push(item);
        if (r.status === "WARN") warns.push(item);
      }
    }
  }
  return { counts, fails, warns, raw };
}

export function formatCis(stack: string, r: CisResult): string {
  const lines = [
    `kube-bench ${BENCHMARK} on the local control plane of ${stack}: PASS ${r.counts.PASS}  FAIL ${r.counts.FAIL}  WARN ${r.counts.WARN}  INFO ${r.counts.INFO}`,
  ];
  for (const f of r.fails) lines.push(`FAIL ${f.id} ${f.text}`);
  return lines.join("\n");
}
