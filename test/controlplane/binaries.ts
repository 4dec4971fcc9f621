// Where the harness binaries are and whether they are all there. harness/build.sh builds one set per
// Kubernetes version a stack pins (its SETS: harness/kubernetes*/go.mod with the etcd kubeadm pins for it),
// each into a cache directory keyed on the versions; a stack runs on the set of its own
// `platform:kubernetes.version`.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { loadEngineConfig } from "../../components/config/stackFiles";

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

/** Each Kubernetes version the harness builds, with its bin directory (`harness/build.sh --versions`), in SETS order. */
export function harnessVersions(): { version: string; binDir: string }[] {
  return execFileSync("bash", [BUILD_SCRIPT, "--versions"], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((line) => {
      const [version, ...dir] = line.split(" ");
      return { version, binDir: dir.join(" ") };
    });
}

/**
 * The bin directory of one Kubernetes version ("1.36.2" or "v1.36.2"); without one, the first set's (the
 * prod stacks' version, harness/kubernetes/go.mod), which the tests of etcd, kubeadm tokens and kube-proxy use.
 */
export function binDir(version?: string): string {
  const sets = harnessVersions();
  if (version === undefined) return sets[0].binDir;
  const set = sets.find((s) => s.version === `v${version.replace(/^v/, "")}`);
  if (!set) throw new HarnessUsageError(`the harness builds no Kubernetes ${version} (it builds ${sets.map((s) => s.version).join(", ")})`);
  return set.binDir;
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

/** The Kubernetes version a stack pins (`platform:kubernetes.version` of its stack file, with `-c` overrides), e.g. "1.36.2". */
export function stackKubernetesVersion(stack: string, overrides: string[] = []): string {
  const raw = loadEngineConfig(stack, overrides).values["platform:kubernetes"];
  const version = raw === undefined ? undefined : (JSON.parse(raw) as { version?: unknown }).version;
  if (typeof version !== "string") throw new HarnessUsageError(`stack ${stack} sets no platform:kubernetes.version`);
  return version;
}

export interface StackBinaries {
  /** The Kubernetes version the stack pins and these binaries are, e.g. "v1.36.2". */
  version: string;
  binDir: string;
}

/**
 * The binaries of the version the stack pins, or a HarnessUsageError: naming the stack, its version and the
 * versions the harness builds when no set builds it (never the nearest), or what is missing and the command that
 * builds it.
 */
export function requireBinaries(stack: string, overrides: string[] = []): StackBinaries {
  const pinned = stackKubernetesVersion(stack, overrides);
  const sets = harnessVersions();
  const version = `v${pinned.replace(/^v/, "")}`;
  const set = sets.find((s) => s.version === version);
  if (!set) {
    throw new HarnessUsageError(
      `stack ${stack} pins Kubernetes ${pinned} (platform:kubernetes.version); the harness builds ${sets.map((s) => s.version).join(", ")} (SETS in harness/build.sh, harness/kubernetes*/go.mod): add a harness module at ${version} with the etcd its kubeadm pins`,
    );
  }
  const missing = missingBinaries(set.binDir);
  if (missing.length > 0) {
    throw new HarnessUsageError(
      `the control-plane binaries of Kubernetes ${version} (the version ${stack} pins) are not built (missing in ${set.binDir}: ${missing.join(", ")}); build them with \`bash harness/build.sh ${version}\` (or \`npm run setup -- --tests\`, every version), the first time about 29 CPU-minutes for v1.35.4, 22 for v1.36.2 (BENCHMARKS.md)`,
    );
  }
  return { version, binDir: set.binDir };
}

export function bin(dir: string, name: Binary): string {
  return path.join(dir, name);
}
