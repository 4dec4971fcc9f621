// `npm run bench:control-plane [-- --stack prod1] [--repeat 3]`
//
// How long the local control plane (test/controlplane, issue 26) takes to start from a stack's own
// kubeadm config: the offline plan, the kubeadm phases up to the api-server's readyz, the kubeadm phases
// after it (upload-config, bootstrap-token, addons), the server-side apply of every planned non-Helm
// object, and the stop. The budget is "under 60 s on 2 cores" for the start (kubeadm phases to readyz
// and the post-start phases). Prints a Markdown block for BENCHMARKS.md; the fastest of --repeat runs.
import * as os from "os";
import { performance } from "perf_hooks";
import { applyPlan } from "../controlplane/applyPlan";
import { HarnessUsageError, requireBinaries } from "../controlplane/binaries";
import { startControlPlane } from "../controlplane/controlPlane";
import { stackInputs } from "../controlplane/stackInputs";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function main(): Promise<number> {
  const stack = arg("--stack", "prod1");
  const repeat = Number(arg("--repeat", "3"));
  if (!Number.isInteger(repeat) || repeat < 1) throw new HarnessUsageError(`--repeat: a whole number >= 1, got ${arg("--repeat", "")}`);
  const { binDir, version } = requireBinaries(stack);
  const load = os.loadavg().map((l) => l.toFixed(2));
  const t0 = performance.now();
  const inputs = await stackInputs(stack);
  const planS = (performance.now() - t0) / 1000;
  const runs: { start: number; apply: number; stop: number; objects: number }[] = [];
  for (let i = 0; i < repeat; i++) {
    const a = performance.now();
    const cp = await startControlPlane(inputs, { binDir });
    const b = performance.now();
    const report = await applyPlan(cp.client, inputs);
    const c = performance.now();
    cp.client.close();
    await cp.stop();
    const d = performance.now();
    runs.push({ start: (b - a) / 1000, apply: (c - b) / 1000, stop: (d - c) / 1000, objects: report.outcomes.length });
    console.error(`run ${i + 1}: start ${runs[i].start.toFixed(1)} s, apply ${runs[i].apply.toFixed(1)} s, stop ${runs[i].stop.toFixed(1)} s`);
  }
  const best = runs.reduce((x, y) => (y.start < x.start ? y : x));
  console.log(`### Local control plane of ${stack} (\`npm run bench:control-plane -- --stack ${stack} --repeat ${repeat}\`)

- date: ${new Date().toISOString()}; node ${process.version}; cpus: ${os.cpus().length}; load average at start: ${load.join(" ")}
- Kubernetes ${version} (the version ${stack} pins), binaries from ${binDir}
- offline plan of ${stack}: ${planS.toFixed(1)} s (once)

| measure (fastest start of ${repeat}) | seconds |
|---|---:|
| start: kubeadm phases, etcd + kube-apiserver to readyz, controller-manager + scheduler, post-start kubeadm phases | ${best.start.toFixed(1)} |
| server-side apply of ${best.objects} planned non-Helm objects (stand-in CRDs included) | ${best.apply.toFixed(1)} |
| stop and remove the temporary root | ${best.stop.toFixed(1)} |

All runs (start s): ${runs.map((r) => r.start.toFixed(1)).join(", ")}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`bench:control-plane: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(e instanceof HarnessUsageError ? 2 : 1);
  },
);
