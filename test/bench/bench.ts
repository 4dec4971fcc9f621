// `npm run bench [-- --sizes 10,100,300,1000] [--repeat 3] [--haproxy-seconds 5] [--concurrency 16] [--no-haproxy] [--no-write] [--cpu-prof DIR]`
//
// What the offline preview costs as the fleet grows, against a flat baseline
// that registers the very same resources through the same mock runtime with no
// components, rendering or validation; how deep each stack's dependency graph
// is (the floor of a first `pulumi up`); and what the HAProxy hop in front of
// the api-server costs. Every measurement runs in a fresh child process, so
// peak memory belongs to one size alone. Prints a Markdown report and writes it
// into BENCHMARKS.md between the bench markers (the prose around them is kept).
import { fork } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import { STACKS } from "../../components/config/stackConfig";
import { graphDepth, shortUrn } from "./graphDepth";
import { benchHaproxy, BenchResult } from "./haproxyBench";
import { PROJECT_DIR } from "../../components/config/stackFiles";

const CHILD_FLAG = "--bench-child";
const STACK = "prod1";
const REPORT = path.join(PROJECT_DIR, "BENCHMARKS.md");
const BEGIN = "<!-- bench:begin (written by `npm run bench`) -->";
const END = "<!-- bench:end -->";
/** Flags the children run with: the same as `npm run preview`, so the figures are the preview's. */
const CHILD_EXEC_ARGV = ["--stack-size=4000", "-r", "ts-node/register/transpile-only"];
const CHILD_TIMEOUT_MS = 10 * 60_000;
const HAPROXY_ROUNDS = 3;

/** prod1 with `workers` worker nodes: pool 0 takes them all, pool 1 is emptied. */
export function sizeOverrides(workers: number): string[] {
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`bench: sizes: a worker count must be a whole number >= 1, got ${workers}`);
  return [`platform:nodePools[0].count=${workers}`, "platform:nodePools[1].count=0"];
}

// ---------------------------------------------------------------- children

type ChildTask =
  | { kind: "preview"; workers: number }
  | { kind: "export"; workers: number; file: string }
  | { kind: "baseline"; file: string; typedKeys: boolean }
  | { kind: "depth"; stacks: string[] };

/** A custom resource `pulumi up` creates (not a read such as a StackReference). */
const created = (r: { custom: boolean; operation?: string }) => r.custom && r.operation !== "read";

export interface Measured {
  /** Wall time of the measured call (the preview, or the baseline's runs), ms. */
  wallMs: number;
  /** Peak resident set of the child, KiB (process.resourceUsage().maxRSS). */
  maxRssKb: number;
  /** Resources in prod1's plan, components included. */
  resources: number;
  /** Custom resources created (reads excluded). */
  custom: number;
}

interface PreviewMeasured extends Measured {
  workers: number;
  depth: number;
}

interface DepthRow {
  stack: string;
  resources: number;
  custom: number;
  depth: number;
  chain: string[];
}

/** One resource of the flat baseline: what the program registered, secrets swapped for same-length strings. */
export interface FlatResource {
  /** Type token, e.g. alicloud:ecs/instance:Instance. */
  type: string;
  /** Resource name, as the program gave it. */
  name: string;
  /** The inputs the mocks received, plain JSON. */
  inputs: Record<string, unknown>;
  /** Property names the typed SDK class passed (its outputs set to undefined), so both runs create the same Outputs. */
  keys: string[];
}

async function childMain(task: ChildTask): Promise<unknown> {
  switch (task.kind) {
    case "preview": {
      const { previewStack } = await import("../../components/preview/preview");
      const t0 = performance.now();
      const { plan } = await previewStack({ stack: STACK, overrides: sizeOverrides(task.workers) });
      const wallMs = performance.now() - t0;
      const maxRssKb = process.resourceUsage().maxRSS;
      const workers = plan.resources.filter((r) => r.type === "alicloud:ecs/instance:Instance" && /-general-\d+$/.test(r.name)).length;
      if (workers !== task.workers) throw new Error(`bench: expected ${task.workers} workers in the plan, found ${workers}`);
      const result: PreviewMeasured = {
        wallMs,
        maxRssKb,
        resources: plan.resources.length,
        custom: plan.resources.filter(created).length,
        workers,
        depth: graphDepth(plan).depth,
      };
      return result;
    }
    case "export": {
      fs.writeFileSync(task.file, JSON.stringify(await exportFlat(task.workers)));
      return {};
    }
    case "baseline": {
      const spec = JSON.parse(fs.readFileSync(task.file, "utf8")) as FlatRun[];
      return runFlat(spec, task.typedKeys);
    }
    case "depth": {
      const { previewStack } = await import("../../components/preview/preview");
      const rows: DepthRow[] = [];
      for (const stack of task.stacks) {
        const { plan } = await previewStack({ stack });
        const g = graphDepth(plan);
        rows.push({ stack, resources: plan.resources.length, custom: plan.resources.filter(created).length, depth: g.depth, chain: g.chain.map(shortUrn) });
      }
      return rows;
    }
  }
}

/** Secrets become a same-length string; resource references and unknowns a string. */
function plainInputs(v: unknown): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { rpc } = require("../../components/preview/sdkInternals") as typeof import("../../components/preview/sdkInternals");
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (typeof x !== "object" || x === null) return x;
    const o = x as Record<string, unknown>;
    if (o[rpc.specialSigKey] === rpc.specialSecretSig) {
      const inner = o.value;
      return "x".repeat(typeof inner === "string" ? inner.length : (JSON.stringify(inner) ?? "").length);
    }
    if (rpc.specialSigKey in o) return `[${String(o[rpc.specialSigKey]).slice(0, 8)}]`;
    return Object.fromEntries(Object.entries(o).map(([k, y]) => [k, walk(y)]));
  };
  return walk(v);
}

/** One offline run of the preview (a member's preview runs the host first), flattened. */
export interface FlatRun {
  /** The stack the run planned. */
  stack: string;
  /** Its created resources, in registration order. */
  resources: FlatResource[];
}

/**
 * Plans prod1 at `workers` once and returns, run by run (the host stack, whose
 * outputs answer prod1's StackReference, then prod1), the custom resources each
 * run created, in registration order, with the inputs the mocks saw and the
 * property names the SDK classes passed.
 */
export async function exportFlat(workers: number): Promise<FlatRun[]> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { sdkResource } = require("../../components/preview/sdkInternals") as typeof import("../../components/preview/sdkInternals");
  const { PlatformMocks } = require("../../components/preview/mocks") as typeof import("../../components/preview/mocks");
  const runtime = require("../../components/preview/runtime") as typeof import("../../components/preview/runtime");
  const { previewStack } = require("../../components/preview/preview") as typeof import("../../components/preview/preview");
  /* eslint-enable @typescript-eslint/no-require-imports */
  let keys = new Map<string, string[]>();
  let seen = new Map<string, Record<string, unknown>>();
  const runs: FlatRun[] = [];
  const register = sdkResource.registerResource;
  const newResource = PlatformMocks.prototype.newResource;
  const runOffline = runtime.runOffline;
  sdkResource.registerResource = (...a: unknown[]) => {
    // (res, parent, type, name, custom, remote, newDependency, props, ...)
    if (a[4]) keys.set(`${a[2]}::${a[3]}`, Object.keys(a[7] as object));
    return register(...a);
  };
  PlatformMocks.prototype.newResource = function (this: InstanceType<typeof PlatformMocks>, args) {
    if (args.custom) seen.set(`${args.type}::${args.name}`, args.inputs);
    return newResource.call(this, args);
  };
  (runtime as { runOffline: typeof runOffline }).runOffline = async (o) => {
    keys = new Map();
    seen = new Map();
    const plan = await runOffline(o);
    const resources: FlatResource[] = [];
    const names = new Set<string>();
    // Reads (a StackReference) create nothing; the flat loop registers what `pulumi up` would create.
    for (const r of plan.resources.filter(created)) {
      const key = `${r.type}::${r.name}`;
      const inputs = seen.get(key);
      if (!inputs || !keys.has(key)) throw new Error(`bench: no registration captured for ${key}`);
      if (names.has(key)) throw new Error(`bench: ${key} is registered twice; a flat baseline cannot name both`);
      names.add(key);
      resources.push({ type: r.type, name: r.name, inputs: plainInputs(inputs) as Record<string, unknown>, keys: keys.get(key)! });
    }
    runs.push({ stack: o.stack, resources });
    return plan;
  };
  try {
    await previewStack({ stack: STACK, overrides: sizeOverrides(workers) });
    return runs;
  } finally {
    sdkResource.registerResource = register;
    PlatformMocks.prototype.newResource = newResource;
    (runtime as { runOffline: typeof runOffline }).runOffline = runOffline;
  }
}

/**
 * The flat baseline: run by run, one generic CustomResource per resource the
 * preview created, through the same runtime and mocks. `typedKeys` also passes
 * the typed classes' output names (as undefined), so the SDK makes the same Outputs.
 */
export async function runFlat(runs: FlatRun[], typedKeys: boolean): Promise<Measured> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
  const { runOffline } = require("../../components/preview/runtime") as typeof import("../../components/preview/runtime");
  /* eslint-enable @typescript-eslint/no-require-imports */
  // The SDK's typings make CustomResource abstract; the runtime registers any type token.
  const Generic = pulumi.CustomResource as unknown as new (type: string, name: string, props: Record<string, unknown>) => unknown;
  const t0 = performance.now();
  let resources = 0;
  let custom = 0;
  for (const run of runs) {
    const plan = await runOffline({
      stack: run.stack,
      config: {},
      program: async () => {
        for (const r of run.resources) {
          const props: Record<string, unknown> = {};
          if (typedKeys) for (const k of r.keys) props[k] = undefined;
          Object.assign(props, r.inputs);
          new Generic(r.type, r.name, props);
        }
      },
    });
    resources = plan.resources.length;
    custom = plan.resources.filter(created).length;
  }
  const wallMs = performance.now() - t0;
  // Counts are the last run's (prod1), like the preview's.
  return { wallMs, maxRssKb: process.resourceUsage().maxRSS, resources, custom };
}

/** Runs one task in a fresh node process; resolves with what it reports. */
function inChild<T>(task: ChildTask, extraExecArgv: string[] = []): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = fork(__filename, [CHILD_FLAG, JSON.stringify(task)], {
      cwd: PROJECT_DIR,
      execArgv: [...CHILD_EXEC_ARGV, ...extraExecArgv],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    let reply: { ok: boolean; value?: T; error?: string } | undefined;
    const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
    child.on("message", (m: { ok: boolean; value?: T; error?: string }) => (reply = m));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (reply?.ok) resolve(reply.value as T);
      else reject(new Error(`bench child ${task.kind} failed (exit ${code ?? signal}): ${reply?.error ?? "no report"}`));
    });
  });
}

// ---------------------------------------------------------------- report

interface SizeRow {
  preview: PreviewMeasured;
  baseline: Measured;
  bare: Measured;
}

const s = (ms: number) => (ms / 1000).toFixed(2);
const mb = (kb: number) => String(Math.round(kb / 1024));

function sizeTable(rows: SizeRow[]): string[] {
  const lines = [
    "| workers | resources | preview wall s | preview peak RSS MB | ms/worker (wall/N) | marginal ms/worker | baseline wall s | baseline peak RSS MB | wall ratio | RSS ratio | bare baseline wall s | graph depth |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  rows.forEach((r, i) => {
    const p = r.preview;
    const prev = rows[i - 1]?.preview;
    const marginal = prev ? ((p.wallMs - prev.wallMs) / (p.workers - prev.workers)).toFixed(2) : "–";
    lines.push(
      `| ${p.workers} | ${p.resources} | ${s(p.wallMs)} | ${mb(p.maxRssKb)} | ${(p.wallMs / p.workers).toFixed(2)} | ${marginal} | ${s(r.baseline.wallMs)} | ${mb(r.baseline.maxRssKb)} | ${(p.wallMs / r.baseline.wallMs).toFixed(2)} | ${(p.maxRssKb / r.baseline.maxRssKb).toFixed(2)} | ${s(r.bare.wallMs)} | ${p.depth} |`,
    );
  });
  return lines;
}

/** The figures the targets are about: the largest size against the baseline, and the slope from 100 workers up. */
function summary(rows: SizeRow[]): string[] {
  const big = rows[rows.length - 1];
  if (!big) return [];
  const lines = [
    `- ${big.preview.workers} workers: ${s(big.preview.wallMs)} s, peak ${mb(big.preview.maxRssKb)} MB, ${(big.preview.wallMs / big.baseline.wallMs).toFixed(2)}× the flat baseline's wall time.`,
  ];
  const from = rows.find((r) => r.preview.workers >= 100);
  if (from && from !== big) {
    const slope = (big.preview.wallMs - from.preview.wallMs) / (big.preview.workers - from.preview.workers);
    const base = (big.baseline.wallMs - from.baseline.wallMs) / (big.preview.workers - from.preview.workers);
    lines.push(`- Slope from ${from.preview.workers} to ${big.preview.workers} workers: ${slope.toFixed(2)} ms per worker (baseline ${base.toFixed(2)}); the marginal column shows it per step.`);
  }
  return lines;
}

function depthTable(rows: DepthRow[]): string[] {
  const lines = ["| stack | resources | custom | depth | longest chain |", "|---|---:|---:|---:|---|"];
  for (const r of rows) lines.push(`| ${r.stack} | ${r.resources} | ${r.custom} | ${r.depth} | ${r.chain.map((c) => c.split("::").pop()).join(" → ")} |`);
  return lines;
}

function machine(): string[] {
  const cpus = os.cpus();
  return [
    `- date: ${new Date().toISOString()}`,
    `- node ${process.version}, ${os.platform()} ${os.release()} ${os.arch()}`,
    `- cpus: ${cpus.length} × ${cpus[0]?.model.trim() ?? "unknown"}; memory ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    `- load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")} (other work on the machine inflates every figure)`,
  ];
}

export function spliceReport(existing: string, section: string): string {
  const b = existing.indexOf(BEGIN);
  const e = existing.indexOf(END);
  if (b >= 0 && e > b) return `${existing.slice(0, b)}${BEGIN}\n${section}\n${END}${existing.slice(e + END.length)}`;
  return `${existing ? existing.trimEnd() + "\n\n" : "# Benchmarks\n\n"}${BEGIN}\n${section}\n${END}\n`;
}

interface Options {
  sizes: number[];
  haproxySeconds: number;
  concurrency: number;
  haproxy: boolean;
  write: boolean;
  /** Runs per measurement; the fastest counts (the least disturbed by other work on the machine). */
  repeat: number;
  cpuProf?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { sizes: [10, 100, 300, 1000], haproxySeconds: 5, concurrency: 16, haproxy: true, write: true, repeat: 3 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (argv[i + 1] === undefined) throw new Error(`bench: ${a} needs a value`);
      return argv[++i];
    };
    if (a === "--sizes") o.sizes = value().split(",").map(Number);
    else if (a === "--haproxy-seconds") o.haproxySeconds = Number(value());
    else if (a === "--concurrency") o.concurrency = Number(value());
    else if (a === "--no-haproxy") o.haproxy = false;
    else if (a === "--no-write") o.write = false;
    else if (a === "--repeat") o.repeat = Number(value());
    else if (a === "--cpu-prof") o.cpuProf = path.resolve(value());
    else throw new Error(`bench: unknown argument ${a}`);
  }
  o.sizes.forEach((n) => sizeOverrides(n));
  if (!Number.isInteger(o.repeat) || o.repeat < 1 || o.repeat > 10) throw new Error(`bench: --repeat: must be a whole number 1-10, got ${o.repeat}`);
  o.sizes.sort((x, y) => x - y);
  return o;
}

/** Runs `measure` n times, one after another; the fastest run is the figure. */
async function fastest<T extends { wallMs: number }>(n: number, measure: (i: number) => Promise<T>): Promise<T> {
  let best: T | undefined;
  for (let i = 0; i < n; i++) {
    const m = await measure(i);
    if (!best || m.wallMs < best.wallMs) best = m;
  }
  return best!;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const header = machine();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "platform-bench-"));
  const rows: SizeRow[] = [];
  try {
    for (const workers of opts.sizes) {
      // --cpu-prof DIR profiles the largest size: preview-N.cpuprofile and baseline-N.cpuprofile.
      const prof = (name: string) =>
        opts.cpuProf && workers === opts.sizes[opts.sizes.length - 1] ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProf}`, `--cpu-prof-name=${name}-${workers}.cpuprofile`] : [];
      const preview = await fastest(opts.repeat, (i) => inChild<PreviewMeasured>({ kind: "preview", workers }, i === 0 ? prof("preview") : []));
      const file = path.join(tmp, `flat-${workers}.json`);
      await inChild({ kind: "export", workers, file });
      const baseline = await fastest(opts.repeat, (i) => inChild<Measured>({ kind: "baseline", file, typedKeys: true }, i === 0 ? prof("baseline") : []));
      const bare = await fastest(opts.repeat, () => inChild<Measured>({ kind: "baseline", file, typedKeys: false }));
      if (baseline.custom !== preview.custom) throw new Error(`bench: baseline registered ${baseline.custom} custom resources, the preview ${preview.custom}`);
      rows.push({ preview, baseline, bare });
      console.error(`bench: ${workers} workers: preview ${s(preview.wallMs)} s ${mb(preview.maxRssKb)} MB, baseline ${s(baseline.wallMs)} s ${mb(baseline.maxRssKb)} MB`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const depths = await inChild<DepthRow[]>({ kind: "depth", stacks: [...STACKS] });
  // The hop's ratio swings with whatever else the 2 cores run: several rounds, the median counts.
  const fronts: BenchResult[] = [];
  if (opts.haproxy) for (let i = 0; i < HAPROXY_ROUNDS; i++) fronts.push(await benchHaproxy({ seconds: opts.haproxySeconds, concurrency: opts.concurrency }));
  const front = fronts.length ? [...fronts].sort((a, b) => a.ratio - b.ratio)[Math.floor(fronts.length / 2)] : undefined;

  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  const section = [
    `Command: \`${command}\` (total ${((performance.now() - started) / 1000).toFixed(0)} s)`,
    "",
    ...header,
    "",
    `### Offline preview of ${STACK} by worker count`,
    "",
    `Each figure is the fastest of ${opts.repeat} fresh child processes (\`node --stack-size=4000 -r ts-node/register/transpile-only\`, as \`npm run preview\`); peak RSS is that run's.`,
    "Wall time is the `previewStack()` call: loading index.ts and the components, planning the host stack (it answers prod1's StackReference), then prod1.",
    "The baseline makes the same two runs (host, then prod1) and registers the same custom resources (same types, names, inputs; secrets",
    "as same-length strings) as generic `CustomResource`s in a flat loop through the same `runOffline`/PlatformMocks/RecordingMonitor, with",
    "the property names the typed SDK classes pass (their outputs as undefined); the bare baseline passes only the inputs, so the gap between",
    "the two is what the typed classes' ~150 Outputs per ECS instance cost. Marginal ms/worker is the slope from the previous size.",
    "",
    ...sizeTable(rows),
    "",
    ...summary(rows),
    "",
    "### Dependency graph depth (default stack config)",
    "",
    "The longest chain of custom resources `pulumi up` must create one after another (dependsOn and provider edges).",
    "",
    ...depthTable(depths),
    "",
    "### API-server front: HAProxy hop",
    "",
    front
      ? [
          `Keep-alive HTTPS GETs from ${opts.concurrency} concurrent loops for ${opts.haproxySeconds} s each, to 3 fake TLS api-servers on loopback, directly and through a real haproxy running the generated config (TLS passthrough).`,
          "",
          `${fronts.length} rounds; the median round is in bold.`,
          "",
          "| round | direct req/s | through haproxy req/s | ratio |",
          "|---:|---:|---:|---:|",
          ...fronts.map((f, i) => {
            const b = f === front ? "**" : "";
            return `| ${i + 1} | ${b}${f.directRps}${b} | ${b}${f.haproxyRps}${b} | ${b}${f.ratio.toFixed(3)}${b} |`;
          }),
        ].join("\n")
      : "(skipped: --no-haproxy)",
  ].join("\n");
  console.log(section);
  if (opts.write) {
    const existing = fs.existsSync(REPORT) ? fs.readFileSync(REPORT, "utf8") : "";
    fs.writeFileSync(REPORT, spliceReport(existing, section));
    console.error(`bench: wrote ${path.relative(process.cwd(), REPORT) || REPORT}`);
  }
}

if (require.main === module) {
  const i = process.argv.indexOf(CHILD_FLAG);
  if (i >= 0) {
    childMain(JSON.parse(process.argv[i + 1]) as ChildTask).then(
      (value) => process.send!({ ok: true, value }, () => process.exit(0)),
      (e) => process.send!({ ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }, () => process.exit(1)),
    );
  } else {
    main().catch((e) => {
      console.error(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      process.exitCode = 1;
    });
  }
}
