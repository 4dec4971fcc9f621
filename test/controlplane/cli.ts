// `npm run control-plane -- <stack> [--keep]` and `npm run cis -- <stack>` (issue 26).
//   control-plane  the stack's own kubeadm config -> real kubeadm phases -> etcd, kube-apiserver,
//                  kube-controller-manager, kube-scheduler on loopback; every planned non-Helm object
//                  applied by server-side apply. Prints `kubeconfig: <path>` and `apiserver: <url>`.
//                  --keep stays up until interrupted. Exit 0 all accepted, 1 a refusal or failure, 2 usage
//                  or a stack whose configuration is refused (the config errors, nothing started).
//   cis            the same control plane, then kube-bench: PASS/FAIL/WARN counts and each FAIL.
// Everything started is stopped and its files removed on exit, on failure and on SIGINT/SIGTERM, also
// during the start (exit 130 / 143; SIGINT once `--keep` is up is the normal end, exit 0).
import { ConfigError, STACKS } from "../../components/config/stackConfig";
import { parseOverride, stackExists } from "../../components/config/stackFiles";
import { PolicyConfigError } from "../../components/preview/policyCheck";
import { applyPlan, formatReport } from "./applyPlan";
import { HarnessUsageError, requireBinaries, StackBinaries } from "./binaries";
import { formatCis, runCis } from "./cis";
import { ControlPlane, REWRITES, startControlPlane } from "./controlPlane";
import { stackInputs } from "./stackInputs";

Error.stackTraceLimit = 8;

const USAGE = {
  "control-plane": `usage: npm run control-plane -- <stack> [--keep] [-c KEY=VALUE]...
  stacks: ${STACKS.join(", ")}
  --keep        stay up until interrupted (Ctrl-C), so kubectl --kubeconfig <path> can use the stack's real API
  -c KEY=VALUE  a config value for this run only (as npm run preview -c), not saved`,
  cis: `usage: npm run cis -- <stack> [-c KEY=VALUE]...
  stacks: ${STACKS.join(", ")}`,
};
type Command = keyof typeof USAGE;

interface Args {
  stack: string;
  keep: boolean;
  overrides: string[];
}

function parseArgs(command: Command, argv: string[]): Args {
  let stack = "";
  let keep = false;
  const overrides: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--keep" && command === "control-plane") keep = true;
    else if (a === "-c" || a === "--config") {
      const v = argv[++i];
      if (v === undefined) throw new HarnessUsageError(`${a} needs KEY=VALUE`);
      overrides.push(v);
    } else if (a.startsWith("--config=")) overrides.push(a.slice("--config=".length));
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
  for (const o of overrides) {
    try {
      parseOverride(o);
    } catch (e) {
      throw new HarnessUsageError((e as Error).message);
    }
  }
  return { stack, keep, overrides };
}

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

async function main(): Promise<number> {
  const command = process.argv[2] as Command;
  if (!(command in USAGE)) {
    console.error(`usage: cli.ts control-plane|cis <stack>`);
    return 2;
  }
  let args: Args;
  let bins: StackBinaries;
  try {
    args = parseArgs(command, process.argv.slice(3));
  } catch (e) {
    if (e instanceof HarnessUsageError) {
      console.error(`${command}: ${e.message}\n${USAGE[command]}`);
      return 2;
    }
    throw e;
  }
  try {
    // The binaries of the Kubernetes version the stack pins (harness/build.sh builds one set per version): a
    // version no set builds, or binaries not built, is one line (the arguments were right, so no usage text).
    bins = requireBinaries(args.stack, args.overrides);
  } catch (e) {
    if (e instanceof HarnessUsageError) {
      console.error(`${command}: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const log = (line: string) => console.error(`[${command}] ${line}`);
  // A signal aborts a start under way (startControlPlane then stops what it started and removes its root
  // before it rejects); once started, cp.stop() does the same. shutdown() waits for whichever applies.
  const abort = new AbortController();
  let starting: Promise<ControlPlane> | undefined;
  let cp: ControlPlane | undefined;
  let up = false;
  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    (stopping ??= (async () => {
      const c = cp ?? (await starting?.catch(() => undefined));
      await c?.stop();
    })());
  let interrupted: (() => void) | undefined;
  // Once a signal came, the handler alone sets the exit code (after shutdown()); main never settles.
  const signalExit = new Promise<number>(() => undefined);
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping the control plane and removing its files`);
    const code = up && args.keep && sig === "SIGINT" ? 0 : (SIGNAL_EXIT[sig] ?? 1);
    abort.abort();
    interrupted?.();
    void shutdown().then(() => process.stdout.write("", () => process.exit(code)));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let inputs: Awaited<ReturnType<typeof stackInputs>>;
  try {
    log(`planning ${args.stack} offline${args.overrides.length ? ` with ${args.overrides.join(" ")} (this run only)` : ""}`);
    inputs = await stackInputs(args.stack, args.overrides);
  } catch (e) {
    // The stack's configuration is refused: bad input, nothing was started.
    if (e instanceof ConfigError || e instanceof PolicyConfigError) {
      console.error(`${command} ${args.stack}: ${e.message}\nNothing was started.`);
      return 2;
    }
    console.error(`${command} ${args.stack}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  try {
    log(`Kubernetes ${bins.version} (the version ${args.stack} pins) from ${bins.binDir}`);
    log(`kubeadm configuration from ${inputs.initSource}; rewritten for loopback: ${REWRITES.join("; ")}`);
    starting = startControlPlane(inputs, { binDir: bins.binDir, log, signal: abort.signal });
    cp = await starting;
    console.log(`kubeconfig: ${cp.kubeconfig}`);
    console.log(`apiserver: ${cp.apiserver}`);
    const report = await applyPlan(cp.client, inputs, log);
    console.log(formatReport(report));
    let code = report.refused.length > 0 ? 1 : 0;
    if (command === "cis") {
      const r = await runCis(cp, inputs, bins.binDir);
      console.log(formatCis(args.stack, r));
      code = code || (r.counts.FAIL > 0 ? 1 : 0);
    }
    if (args.keep) {
      up = true;
      console.log(`up; Ctrl-C stops it (kubectl --kubeconfig ${cp.kubeconfig} get ns)`);
      await new Promise<void>((resolve) => (interrupted = resolve));
    }
    await shutdown();
    return abort.signal.aborted ? signalExit : code;
  } catch (e) {
    // An interrupted start: the signal handler exits once shutdown() is done.
    if (abort.signal.aborted) return signalExit;
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
