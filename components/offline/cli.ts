// `npm run preview -- <stack> [-c KEY=VALUE]... [--json] [--out DIR]`
// The offline, mocked preview of one stack. Exit codes: 0 planned cleanly,
// 1 invalid config or a mandatory policy violation, 2 usage error.
import { ConfigError, STACKS } from "../config";
import { countByType, formatTree, planJson, previewStack, writeArtifacts } from "./preview";

// The SDK captures a stack trace per Output; a short one keeps large plans fast.
Error.stackTraceLimit = 8;

const USAGE = `usage: npm run preview -- <stack> [-c project:key[.path]=value]... [--json] [--out DIR]
  stacks: ${STACKS.join(", ")}`;

interface Args {
  stack: string;
  overrides: string[];
  json: boolean;
  out?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { stack: "", overrides: [], json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-c" || a === "--config") {
      if (argv[i + 1] === undefined) throw new Error(`${a} needs KEY=VALUE`);
      args.overrides.push(argv[++i]);
    } else if (a.startsWith("--config=")) args.overrides.push(a.slice("--config=".length));
    else if (a === "--json") args.json = true;
    else if (a === "--out") {
      if (argv[i + 1] === undefined) throw new Error("--out needs a directory");
      args.out = argv[++i];
    } else if (a === "-h" || a === "--help") {
      console.log(USAGE);
      process.exit(0);
    } else if (a.startsWith("-")) throw new Error(`unknown option ${a}`);
    else if (!args.stack) args.stack = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!args.stack) throw new Error("which stack?");
  return args;
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const started = Date.now();
  let result;
  try {
    result = await previewStack({ stack: args.stack, overrides: args.overrides });
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`Offline preview of stack ${args.stack}: ${e.message}\nNo resources were planned.`);
      return 1;
    }
    throw e;
  }
  const { plan, config } = result;
  const policies: unknown[] = [];
  if (args.json) {
    console.log(JSON.stringify(planJson(plan, policies), null, 2));
  } else {
    console.log(`Offline preview of stack ${plan.stack} (project platform)`);
    console.log("This is NOT \`pulumi preview\`: providers are mocked, nothing was read from or sent to a cloud.");
    if (config.placeholders.length) console.log(`Secrets are placeholders: ${config.placeholders.join(", ")}`);
    console.log("");
    console.log(formatTree(plan));
    console.log("");
    console.log("Outputs:");
    for (const [k, v] of Object.entries(plan.outputs)) console.log(`    ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
    console.log("");
    console.log("Resources by type:");
    for (const [t, n] of countByType(plan)) console.log(`    ${String(n).padStart(5)}  ${t}`);
    console.log(`Resources:\n    + ${plan.resources.length} to create (offline, ${((Date.now() - started) / 1000).toFixed(1)}s)`);
  }
  if (args.out) {
    const written = writeArtifacts(args.out, plan, policies);
    const msg = `Wrote ${written.length} files to ${args.out}`;
    if (args.json) console.error(msg);
    else console.log(msg);
  }
  return 0;
}

/** Exits only once stdout and stderr are flushed: a large --json document goes to a pipe. */
function exitAfterFlush(code: number): void {
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}

main().then(exitAfterFlush, (e) => {
  console.error(`offline preview failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  exitAfterFlush(1);
});
