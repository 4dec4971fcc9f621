// The offline runtime as a test helper: tests plan a stack exactly as
// `npm run preview` does, then assert on the recorded resources.
import { execFile } from "child_process";
import * as path from "path";
import { promisify } from "util";
import { previewStack, PreviewOptions } from "../../components/preview/preview";
import type { Plan, PlannedResource } from "../../components/preview/runtime";
import { STACKS } from "../../components/config/keys";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "..", "..");
const cache = new Map<string, Plan>();

/** Plans a stack (cached per stack + overrides within one test file). */
export async function plan(stack: string, overrides: string[] = [], extra: Partial<PreviewOptions> = {}): Promise<Plan> {
  const key = JSON.stringify([stack, overrides, Object.keys(extra)]);
  const hit = cache.get(key);
  if (hit && Object.keys(extra).length === 0) return hit;
  const { plan: p } = await previewStack({ stack, overrides, ...extra });
  cache.set(key, p);
  return p;
}

export function ofType(p: Plan, type: string): PlannedResource[] {
  return p.resources.filter((r) => r.type === type);
}

export function byName(p: Plan, name: string, type?: string): PlannedResource {
  const found = p.resources.filter((r) => r.name === name && (!type || r.type === type));
  if (found.length !== 1) throw new Error(`expected one resource named ${name}${type ? ` of ${type}` : ""}, found ${found.length}`);
  return found[0];
}

/** The six stacks, from the one list (components/config/keys.ts). */
export const STACK_NAMES = STACKS;

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
