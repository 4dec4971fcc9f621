// The stored plans: jest's global set-up (test/support/globalSetup.ts) plans every
// stack once per run and writes each plan here as JSON; test files read them
// instead of planning the same stack again in their own module registry.
import * as fs from "fs";
import * as path from "path";
import type { Plan } from "../../components/preview/runtime";

/** The environment variable naming the folder of this run's plans (set by the global set-up). */
export const PLANS_DIR_ENV = "PLATFORM_TEST_PLANS";

export function planFile(dir: string, stack: string): string {
  return path.join(dir, `${stack}.json`);
}

/** Where the set-up writes why a stack did not plan. */
export function errorFile(dir: string, stack: string): string {
  return path.join(dir, `${stack}.error`);
}

/** A plan as JSON: `secretValues` (a Set) becomes a list; every other field is plain data already. */
export function planToJson(plan: Plan): string {
  return JSON.stringify({ ...plan, secretValues: [...plan.secretValues] });
}

export function planFromJson(text: string): Plan {
  const stored = JSON.parse(text) as Omit<Plan, "secretValues"> & { secretValues: string[] };
  return { ...stored, secretValues: new Set(stored.secretValues) };
}

/** This run's stored plan of a stack, or undefined when no global set-up ran (the caller plans it itself). */
export function storedPlan(stack: string): Plan | undefined {
  const dir = process.env[PLANS_DIR_ENV];
  if (!dir) return undefined;
  const file = planFile(dir, stack);
  if (fs.existsSync(errorFile(dir, stack))) throw new Error(`planning ${stack} failed: ${fs.readFileSync(errorFile(dir, stack), "utf8")}`);
  if (!fs.existsSync(file)) throw new Error(`${file}: the global set-up wrote no plan of ${stack}`);
  return planFromJson(fs.readFileSync(file, "utf8"));
}
