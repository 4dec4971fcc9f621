// The offline runtime as a test helper: tests plan a stack exactly as
// `npm run preview` does, then assert on the recorded resources. A stack's plan
// with its own config comes from the run's global set-up (made once per run,
// test/support/globalSetup.ts); a plan with overrides is made here.
import { execFile } from "child_process";
import * as path from "path";
import { promisify } from "util";
import type { PreviewOptions } from "../../components/preview/preview";
import type { Plan, PlannedResource } from "../../components/preview/runtime";
import { storedPlan } from "./planStore";
export { STACKS as STACK_NAMES } from "../../components/config/keys";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "..", "..");
const cache = new Map<string, Plan>();

/**
 * Plans a stack (cached per stack + overrides within one test file). Without
 * overrides or extra options it is the run's stored plan of the stack.
 */
export async function plan(stack: string, overrides: string[] = [], extra: Partial<PreviewOptions> = {}): Promise<Plan> {
  const key = JSON.stringify([stack, overrides, Object.keys(extra)]);
  const hit = cache.get(key);
  if (hit && Object.keys(extra).length === 0) return hit;
  const stored = overrides.length === 0 && Object.keys(extra).length === 0 ? storedPlan(stack) : undefined;
  const p = stored ?? (await previewStack({ stack, overrides, ...extra })).plan;
  cache.set(key, p);
  return p;
}

/** The preview, loaded on first use: a test file that only reads stored plans never loads the program and the SDK. */
export async function previewStack(opts: PreviewOptions): ReturnType<typeof import("../../components/preview/preview").previewStack> {
  const { previewStack: run } = await import("../../components/preview/preview");
  return run(opts);
}

export function ofType(p: Plan, type: string): PlannedResource[] {
  return p.resources.filter((r) => r.type === type);
}

export function byName(p: Plan, name: string, type?: string): PlannedResource {
  const found = p.resources.filter((r) => r.name === name && (!type || r.type === type));
  if (found.length !== 1) throw new Error(`expected one resource named ${name}${type ? ` of ${type}` : ""}, found ${found.length}`);
  return found[0];
}

/** Every alerting rule of every PrometheusRule in the plan (the platform's, tracing's, the SLOs'), whatever order the plan registers them in. */
export function alertRules(p: Plan): { alert: string; expr: string }[] {
  return ofType(p, "kubernetes:monitoring.coreos.com/v1:PrometheusRule").flatMap((rule) =>
    (rule.inputs.spec as { groups: { rules: { alert?: string; expr: string }[] }[] }).groups.flatMap((g) =>
      g.rules.filter((r): r is { alert: string; expr: string } => r.alert !== undefined),
    ),
  );
}

/**
 * The answer to prod's StackReference to pre (T21) as pre's output would give it: pre's stack file's
 * images, with `images` added, so a test can make prod run an image the pack then judges on other grounds.
 */
export function preValidating(images: Record<string, { repository: string; tags: string[] }>): NonNullable<PreviewOptions["stackOutputs"]> {
  // Loaded here: a test file that only reads stored plans never loads the program and the SDK.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { validatedImages } = require("../../components/fleet/validatedImages") as typeof import("../../components/fleet/validatedImages");
  const { readStackFile } = require("../../components/config/stackFiles") as typeof import("../../components/config/stackFiles");
  /* eslint-enable @typescript-eslint/no-require-imports */
  const fromFile = validatedImages(readStackFile("pre").values["platform:apps"] as Parameters<typeof validatedImages>[0]);
  // With the tier pre's output records (T21: prod refuses a pre whose tier output is another).
  return { "livemall/platform/pre": { outputs: { validatedImages: { ...fromFile, ...images }, tier: "pre" }, secretOutputNames: [] } };
}

/** Runs `npm run preview -- ...` as a user would; never throws, returns the exit code and output. */
export async function previewCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run("npm", ["run", "--silent", "preview", "--", ...args], { cwd: ROOT, maxBuffer: 256 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
