// Where the harness binaries are (harness/build.sh builds them from source into a cache keyed on
// the versions harness/*/go.mod require) and whether they are all there.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const REPO = path.resolve(__dirname, "..", "..");
export const BUILD_SCRIPT = path.join(REPO, "harness", "build.sh");
export const BINARIES = [
  "kubeadm",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kube-proxy",
  "kubectl",
  "etcd",
  "etcdutl",
  "etcdctl",
  "kube-bench",
] as const;
export type Binary = (typeof BINARIES)[number];

/** A user-facing problem with no stack trace worth printing (exit 2). */
export class HarnessUsageError extends Error {}

/** The bin directory for the pinned versions (HARNESS_BIN_DIR overrides it). */
export function binDir(): string {
  if (process.env.HARNESS_BIN_DIR) return path.resolve(process.env.HARNESS_BIN_DIR);
  return execFileSync("bash", [BUILD_SCRIPT, "--bin-dir"], { encoding: "utf8" }).trim();
}

export function missingBinaries(dir = binDir()): string[] {
  const missing: string[] = BINARIES.filter((b) => {
    try {
      fs.accessSync(path.join(dir, b), fs.constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (!fs.existsSync(path.join(dir, "..", "kube-bench-cfg", "config.yaml"))) missing.push("kube-bench-cfg");
  return missing;
}

/** The bin directory, or a HarnessUsageError naming what is missing and the command that builds it. */
export function requireBinaries(): string {
  const dir = binDir();
  const missing = missingBinaries(dir);
  if (missing.length > 0) {
    throw new HarnessUsageError(
      `the control-plane binaries are not built (missing in ${dir}: ${missing.join(", ")}); build them with \`bash harness/build.sh\` (or \`npm run setup -- --tests\`), about 29 CPU-minutes the first time (an estimated 15-20 minutes on 2 idle cores, BENCHMARKS.md)`,
    );
  }
  return dir;
}

export function bin(dir: string, name: Binary): string {
  return path.join(dir, name);
}

/** The Kubernetes version the harness builds (the k8s.io/kubernetes require line of harness/kubernetes/go.mod), e.g. "v1.35.4". */
export function harnessKubernetesVersion(): string {
  const gomod = fs.readFileSync(path.join(REPO, "harness", "kubernetes", "go.mod"), "utf8");
  const m = gomod.match(/^\s*(?:require\s+)?k8s\.io\/kubernetes\s+(v\d+\.\d+\.\d+)\s*$/m);
  if (!m) throw new Error("harness/kubernetes/go.mod: no k8s.io/kubernetes require line");
  return m[1];
}
