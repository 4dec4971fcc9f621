// The policy pack's pure rules (policies/pack.ts) over an offline plan: the same
// checks `pulumi preview --policy-pack policies` runs, with the same config files,
// on a machine with no Pulumi CLI. The plan also knows what CrossGuard cannot
// (which inputs and outputs are secrets), so secrets-not-plain checks more here.
import * as fs from "fs";
import * as path from "path";
import { isEnv, isProdEnv } from "../../policies/imageTags";
import { isResourcePolicy } from "../../policies/rules/policy";
import {
  PlatformPolicy,
  policiesFromConfig,
  PolicyStack,
  POLICY_NAMES,
  ResolvedPolicyConfig,
  resolvePackConfig,
  runPolicies,
  Violation,
} from "../../policies/pack";
import { type Plan, redact, unwrapSecrets } from "./runtime";
import { PROJECT_DIR } from "../config/stackFiles";

export type { Violation };

/** A policy config file that cannot be read or names unknown policies or settings. */
export class PolicyConfigError extends Error {}

/**
 * The config file a stack's policies run with, as the workflows pick it
 * (.github/scripts/changed-stacks.sh --policy-config): mandatory for every prod-tier stack and the host
 * (which holds every member's kubesphere-host credential: docs/threat-model.md, T20), advisory
 * elsewhere.
 */
export function policyConfigFileFor(stack: string, dir = PROJECT_DIR): string {
  const tier = isEnv(stack) && (isProdEnv(stack) || stack === "host") ? "prod" : "nonprod";
  return path.join(dir, "policies", "config", `${tier}.json`);
}

/** Reads and checks a pack config file; throws PolicyConfigError naming the file and the key. */
export function loadPolicyConfig(file: string): Map<string, ResolvedPolicyConfig> {
  const shown = path.relative(process.cwd(), file) || file;
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new PolicyConfigError(`policy config ${shown}: ${(e as Error).message}`);
  }
  try {
    return resolvePackConfig(json, `policy config ${shown}`);
  } catch (e) {
    throw new PolicyConfigError((e as Error).message);
  }
}

/**
 * The plan as the rules see it, the way CrossGuard hands it to them. Resource policies get each
 * resource's inputs (the engine analyses a resource as it is registered). Stack policies get each
 * resource's outputs (pulumi/pulumi pkg/resource/deploy/step_generator.go, AnalyzeResources from
 * v.Outputs; @pulumi/policy PolicyResource.props "The outputs of the resource"): for a component
 * that is only what it passed to `registerOutputs`, never its constructor inputs, so a field a
 * component keeps in its inputs is invisible to stack rules here too. Custom resources keep their
 * planned inputs: in a preview the engine's outputs of a create are the checked inputs plus
 * unknowns, so the inputs are what it shows, never more.
 */
export function planToPolicyStack(plan: Plan, view: "resource" | "stack" = "stack"): PolicyStack {
  return {
    stack: plan.stack,
    resources: plan.resources.map((r) => {
      const asOutputs = view === "stack" && !r.custom;
      return {
        type: r.type,
        urn: r.urn,
        name: r.name,
        // Secret inputs in plain, as CrossGuard hands them to resource and stack policies alike
        // (@pulumi/policy server.js: analyze and analyzeStack both call deserializeProperties(props,
        // false), which unwraps secrets), so a privilege or an image inside a secret chart value is
        // judged offline too; violation messages are redacted (checkPlan).
        props: asOutputs ? (r.outputs ?? {}) : plan.rawInputs[r.urn] ? (unwrapSecrets(plan.rawInputs[r.urn]) as Record<string, unknown>) : r.inputs,
        dependencies: r.dependsOn,
        parent: r.parent,
        secretPaths: asOutputs ? (r.secretOutputPaths ?? []) : r.secretInputs,
      };
    }),
    outputs: plan.outputs,
    secretOutputs: plan.secretOutputs,
  };
}

/** Runs the configured policies over a plan: mandatory first, then by policy and URN. */
export function checkPlan(plan: Plan, config: Map<string, ResolvedPolicyConfig> | PlatformPolicy[]): Violation[] {
  const policies = Array.isArray(config) ? config : policiesFromConfig(config);
  const order = (v: Violation) => POLICY_NAMES.indexOf(v.policy);
  return (
    [
      ...runPolicies(planToPolicyStack(plan, "resource"), policies.filter(isResourcePolicy)),
      ...runPolicies(
        planToPolicyStack(plan, "stack"),
        policies.filter((p) => !isResourcePolicy(p)),
      ),
    ]
      // The resource rules read secrets in plain: a message never prints one.
      .map((v) => ({ ...v, message: redact(v.message, plan.secretValues) }))
      .sort((a, b) => (a.level === b.level ? 0 : a.level === "mandatory" ? -1 : 1) || order(a) - order(b) || a.urn.localeCompare(b.urn))
  );
}

export function countViolations(violations: Violation[]): { mandatory: number; advisory: number } {
  const mandatory = violations.filter((v) => v.level === "mandatory").length;
  return { mandatory, advisory: violations.length - mandatory };
}

/** `policies: N mandatory, M advisory violations`, then one entry per violation with its resource. */
export function formatViolations(violations: Violation[], configFile?: string): string {
  const { mandatory, advisory } = countViolations(violations);
  const from = configFile ? ` (${path.relative(process.cwd(), configFile) || configFile})` : "";
  const lines = [`policies: ${mandatory} mandatory, ${advisory} advisory violations${from}`];
  for (const v of violations) lines.push(`    [${v.level}] ${v.policy}: ${v.message}`, `        ${v.urn}`);
  return lines.join("\n");
}
