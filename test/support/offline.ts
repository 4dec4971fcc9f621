// The offline runtime as a test helper: tests plan a stack exactly as
// `npm run preview` does, then assert on the recorded resources.
import { previewStack, PreviewOptions } from "../../components/offline/preview";
import type { Plan, PlannedResource } from "../../components/offline/runtime";

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

export const STACK_NAMES = ["host", "dev", "test", "pre", "prod1", "prod2"] as const;
