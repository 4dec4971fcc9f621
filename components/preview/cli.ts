// `npm run preview -- <stack> [-c KEY=VALUE]... [--json] [--out DIR] [--policy-config FILE] [--diff-from FILE]`
// The offline, mocked preview of one stack. Exit codes: 0 planned cleanly,
// 1 invalid config or a mandatory policy violation, 2 usage error.
import * as fs from "fs";
import * as path from "path";
import { exitAfterFlush, readArgs, runCli, UsageError } from "../config/cli";
import { ConfigError, STACKS } from "../config/stackConfig";
import { parseOverride, stackExists } from "../config/stackFiles";
import { formatDiff } from "./diffFormat";
import { formatFindings } from "./findings";
import { DiffableResource, diffPlans, PlanDiff } from "./planDiff";
import { checkChanges } from "./changeGuard";
import { countViolations, loadPolicyConfig, PolicyConfigError } from "./policyCheck";
import { countByType, formatTree, fromPlanJson, planJson, previewStack, writeArtifactsPruning } from "./preview";

// The SDK captures a stack trace per Output; a short one keeps large plans fast.
Error.stackTraceLimit = 8;

const USAGE = `usage: npm run preview -- <stack> [-c project:key[.path]=value]... [--json] [--out DIR]
                          [--policy-config FILE] [--diff-from FILE] [--tree]
  stacks: ${STACKS.join(", ")}
  --policy-config FILE  policy pack config (default policies/config/prod.json for the host and every prod-tier stack, nonprod.json otherwise)
  --diff-from FILE      compare with an earlier plan of the same stack: a plan.json written by --out (or its folder),
                        or a --json document; prints only what changes (replace, update, delete, create)
  --tree                with --diff-from, print the full resource tree too (always printed without it)
  --out DIR             write plan.json and the rendered files; files an earlier --out wrote there and this
                        plan no longer has are removed (listed in DIR/.preview-files; nothing else is touched)
  -c is a throwaway override for this run only (unlike \`pulumi preview -c\`, which saves into the stack file)`;

const OPTIONS = {
  config: { type: "string", short: "c", multiple: true, value: "KEY=VALUE" },
  json: { type: "boolean" },
  tree: { type: "boolean" },
  out: { type: "string", value: "a directory" },
  "policy-config": { type: "string", value: "a file" },
  "diff-from": { type: "string", value: "a plan.json" },
  help: { type: "boolean", short: "h" },
} as const;

interface Args {
  stack: string;
  overrides: string[];
  json: boolean;
  out?: string;
  policyConfig?: string;
  diffFrom?: string;
  tree: boolean;
}

function parse(argv: string[]): Args | "help" {
  const { values, positionals } = readArgs(argv, OPTIONS);
  if (values.help) return "help";
  const [stack, extra] = positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
  if (!stack) throw new UsageError("which stack?");
  if (!(STACKS as readonly string[]).includes(stack)) throw new UsageError(`unknown stack "${stack}" (stacks: ${STACKS.join(", ")})`);
  if (!stackExists(stack)) throw new UsageError(`stack ${stack} has no stack file Pulumi.${stack}.yaml`);
  const policyConfig = values["policy-config"] as string | undefined;
  const args: Args = {
    stack,
    overrides: (values.config as string[] | undefined) ?? [],
    json: values.json === true,
    tree: values.tree === true,
    out: values.out as string | undefined,
    policyConfig: policyConfig === undefined ? undefined : path.resolve(policyConfig),
    diffFrom: values["diff-from"] as string | undefined,
  };
  // Every -c is checked here, so a malformed one is a usage error before anything runs.
  for (const o of args.overrides) parseOverride(o);
  return args;
}

/** The earlier plan's resources: plan.json from --out (or its folder), or a --json document. */
function readBasePlan(file: string, stack: string): DiffableResource[] {
  const target = fs.existsSync(file) && fs.statSync(file).isDirectory() ? path.join(file, "plan.json") : file;
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(target, "utf8"));
  } catch (e) {
    throw new UsageError(`--diff-from ${file}: ${(e as Error).message}`, { cause: e });
  }
  const resources = (doc as { resources?: unknown })?.resources;
  if (!Array.isArray(resources) || !resources.every((r) => typeof r?.urn === "string")) {
    throw new UsageError(`--diff-from ${file}: not a plan (expected {"resources": [{"urn": ...}]}, as --out or --json write)`);
  }
  // A plan of another stack would diff as "everything replaced": refuse it, naming both.
  const stackOf = (urn: string) => urn.match(/^urn:pulumi:([^:]+)::/)?.[1];
  const baseStack = (doc as { stack?: unknown }).stack ?? (resources.length ? stackOf(resources[0].urn) : undefined);
  if (typeof baseStack === "string" && baseStack !== stack) {
    throw new UsageError(`--diff-from ${file}: that is a plan of stack ${baseStack}, not of ${stack}; diff ${stack} against a plan of ${stack}`);
  }
  return resources.map(fromPlanJson);
}

/** `dir/plan.json` for a path under the working directory, else the path as given. */
function shownPath(p: string): string {
  const rel = path.relative(process.cwd(), path.resolve(p));
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : p;
}

async function main(argv: string[]): Promise<number> {
  const parsed = parse(argv);
  if (parsed === "help") {
    console.log(USAGE);
    return 0;
  }
  const args = parsed;
  const base = args.diffFrom ? readBasePlan(args.diffFrom, args.stack) : undefined;
  const started = Date.now();
  let result;
  try {
    result = await previewStack({ stack: args.stack, overrides: args.overrides, policyConfig: args.policyConfig });
  } catch (e) {
    if (e instanceof ConfigError || e instanceof PolicyConfigError) {
      console.error(`Offline preview of stack ${args.stack}: ${e.message}\nNo resources were planned.`);
      return 1;
    }
    throw e;
  }
  const { plan, config, violations, policyConfig } = result;
  const diff: PlanDiff | undefined = base ? diffPlans(base, plan.resources) : undefined;
  // The change guard (safe-changes) needs the old plan: it runs only here, on --diff-from.
  if (diff && base) violations.unshift(...checkChanges(diff, base, plan.resources, loadPolicyConfig(policyConfig)));
  if (args.json) {
    console.log(JSON.stringify(planJson(plan, violations, diff), null, 2));
  } else {
    console.log(`Offline preview of stack ${plan.stack} (project platform)`);
    console.log("This is NOT `pulumi preview`: providers are mocked, nothing was read from or sent to a cloud.");
    if (args.overrides.length) console.log(`Overrides for this run only (-c, not saved): ${args.overrides.join(" ")}`);
    if (config.placeholders.length) console.log(`Secrets are placeholders: ${config.placeholders.join(", ")}`);
    console.log("");
    if (!diff || args.tree) {
      console.log(formatTree(plan, diff));
      console.log("");
    }
    if (diff) {
      // A path under the working directory is shown relative to it: a CI runner's absolute paths stay out of the output.
      console.log(`Changes against ${shownPath(args.diffFrom!)} (stack ${plan.stack}):`);
      console.log(formatDiff(diff, { before: base, after: plan.resources }));
      console.log("");
    }
    console.log(
      formatFindings(
        violations,
        policyConfig,
        args.overrides.map((o) => o.split("=")[0]),
      ),
    );
    if (!diff || args.tree) {
      console.log("");
      console.log("Outputs:");
      for (const [k, v] of Object.entries(plan.outputs)) console.log(`    ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
      console.log("");
      console.log("Resources by type:");
      for (const [t, n] of countByType(plan)) console.log(`    ${String(n).padStart(5)}  ${t}`);
    }
    const reads = plan.resources.filter((r) => r.operation === "read").length;
    const took = `(offline, ${((Date.now() - started) / 1000).toFixed(1)}s)`;
    if (diff) console.log(`${plan.resources.length} resources planned; the full tree: add --tree ${took}`);
    else console.log(`Resources:\n    + ${plan.resources.length - reads} to create${reads ? `\n    > ${reads} to read` : ""} ${took}`);
  }
  if (args.out) {
    const { written, removed } = writeArtifactsPruning(args.out, plan, violations);
    const msg = `Wrote ${written.length} files to ${args.out}${removed.length ? `; removed ${removed.length} an earlier run wrote for resources that no longer exist` : ""}`;
    if (args.json) console.error(msg);
    else console.log(msg);
  }
  const { mandatory } = countViolations(violations);
  if (mandatory > 0) {
    const names = [...new Set(violations.filter((v) => v.level === "mandatory").map((v) => v.policy))];
    console.error(`Offline preview of stack ${plan.stack}: ${mandatory} mandatory policy violation(s) (${names.join(", ")}); \`pulumi up\` would be refused.`);
    return 1;
  }
  return 0;
}

runCli({ usage: USAGE, otherErrors: { bug: "offline preview" } }, () => main(process.argv.slice(2))).then(exitAfterFlush);
