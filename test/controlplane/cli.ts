// `npm run control-plane -- <stack> [--keep]` and `npm run cis -- <stack>` (issue 26).
//   control-plane  the stack's own kubeadm config -> real kubeadm phases -> etcd, kube-apiserver,
//                  kube-controller-manager, kube-scheduler on loopback; every planned non-Helm object
//                  applied by server-side apply. Prints `kubeconfig: <path>` and `apiserver: <url>`.
//                  --keep stays up until interrupted. Exit 0 all accepted, 1 a refusal or failure, 2 usage.
//   cis            the same control plane, then kube-bench: PASS/FAIL/WARN counts and each FAIL.
// Everything started is stopped and its files removed on exit, on SIGINT/SIGTERM and on failure.
import { STACKS } from "../../components/config/stackConfig";
import { stackExists } from "../../components/config/stackFiles";
import { applyPlan, formatReport } from "./applyPlan";
import { HarnessUsageError, requireBinaries } from "./binaries";
import { formatCis, runCis } from "./cis";
import { ControlPlane, REWRITES, startControlPlane } from "./controlPlane";
import { stackInputs } from "./stackInputs";

Error.stackTraceLimit = 8;

const USAGE = {
  "control-plane": `usage: npm run control-plane -- <stack> [--keep]
  stacks: ${STACKS.join(", ")}
  --keep  stay up until interrupted (Ctrl-C), so kubectl --kubeconfig <path> can use the stack's real API`,
  cis: `usage: npm run cis -- <stack>
  stacks: ${STACKS.join(", ")}`,
};
type Command = keyof typeof USAGE;

function parseArgs(command: Command, argv: string[]): { stack: string; keep: boolean } {
  let stack = "";
  let keep = false;
  for (const a of argv) {
    if (a === "--keep" && command === "control-plane") keep = true;
    else if (a === "-h" || a === "--help") {
      console.log(USAGE[command]);
      process.exit(0);
    } else if (a.startsWith("-")) throw new HarnessUsageError(`unknown option ${a}`);
    else if (!stack) stack = a;
    else throw new HarnessUsageError(`unexpected argument ${a}`);
  }
  if (!stack) throw new HarnessUsageError("which stack?");
  if (!(STACKS as readonly string[]).includes(stack)) throw new HarnessUsageError(`unknown stack "${stack}" (stacks: ${STACKS.join(", ")})`);
  if (!stackExists(stack)) throw new HarnessUsageError(`stack ${stack} has no stack file Pulumi.${stack}.yaml`);
  return { stack, keep };
}

async function main(): Promise<number> {
  const command = process.argv[2] as Command;
  if (!(command in USAGE)) {
    console.error(`usage: cli.ts control-plane|cis <stack>`);
    return 2;
  }
  let args: { stack: string; keep: boolean };
  let binDir: string;
  try {
    args = parseArgs(command, process.argv.slice(3));
    binDir = requireBinaries();
  } catch (e) {
    if (e instanceof HarnessUsageError) {
      console.error(`${command}: ${e.message}\n${USAGE[command]}`);
      return 2;
    }
    throw e;
  }
  const log = (line: string) => console.error(`[${command}] ${line}`);
  let cp: ControlPlane | undefined;
  let stopping: Promise<void> | undefined;
  const shutdown = () => (stopping ??= cp ? cp.stop() : Promise.resolve());
  let interrupted: (() => void) | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping the control plane and removing its files`);
    interrupted?.();
    void shutdown().then(() => process.exit(args.keep && sig === "SIGINT" ? 0 : 130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    log(`planning ${args.stack} offline`);
    const inputs = await stackInputs(args.stack);
    log(`kubeadm configuration from ${inputs.initSource}; rewritten for loopback: ${REWRITES.join("; ")}`);
    cp = await startControlPlane(inputs, { binDir, log });
    console.log(`kubeconfig: ${cp.kubeconfig}`);
    console.log(`apiserver: ${cp.apiserver}`);
    const report = await applyPlan(cp.client, inputs, log);
    console.log(formatReport(report));
    let code = report.refused.length > 0 ? 1 : 0;
    if (command === "cis") {
      const r = await runCis(cp, inputs, binDir);
      console.log(formatCis(args.stack, r));
      code = code || (r.counts.FAIL > 0 ? 1 : 0);
    }
    if (args.keep) {
      console.log(`up; Ctrl-C stops it (kubectl --kubeconfig ${cp.kubeconfig} get ns)`);
      await new Promise<void>((resolve) => (interrupted = resolve));
    }
    await shutdown();
    return code;
  } catch (e) {
    console.error(`${command} ${args.stack}: ${e instanceof Error ? e.message : String(e)}`);
    await shutdown();
    return 1;
  }
}

main().then(
  (code) => process.stdout.write("", () => process.exit(code)),
  (e) => {
    console.error(`${process.argv[2]}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
