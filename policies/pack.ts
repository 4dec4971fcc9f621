// The pack: every policy in report order, the config file semantics the Pulumi
// CLI applies (`{"all": "mandatory", "<policy>": {...config}}`), and the runner the
// offline preview uses. Which level a stack gets comes from the config files
// (config/prod.json, config/nonprod.json), never from code.
//
// Each policy is a factory of (level, config), as in pulumi/examples' policy
// packs (policy-packs/aws-ts-advanced/compute.ts builds policies from
// arguments); awsguard instead declares each policy as a constant and registers
// it with registerPolicy (pulumi-policy-aws src/compute.ts). Factories let one
// rule set serve both runners with levels kept in files. The rules live by
// domain under rules/, the way awsguard splits src/ by service.
import { safeChanges } from "./rules/changes";
import { pinnedCapacity } from "./rules/capacity";
import { validatedInPre, VALIDATED_IN_PRE_SCHEMA } from "./rules/promotion";
import {
  approvedInstanceTypes,
  APPROVED_INSTANCE_TYPES_SCHEMA,
  deletionProtection,
  kubernetesBaseline,
  KUBERNETES_BASELINE_SCHEMA,
  kubernetesVersionSkew,
  KUBERNETES_VERSION_SKEW_SCHEMA,
  noPublicIpOnNodes,
  oddMasters,
  ODD_MASTERS_SCHEMA,
} from "./rules/nodes";
import { apiServerSlbIntranet, noOpenAdminPorts, NO_OPEN_ADMIN_PORTS_SCHEMA } from "./rules/network";
import { ConfigProperty, EnforcementLevel, isObj, isResourcePolicy, PlatformPolicy, PolicyStack, schemaProblem, TYPES, Violation } from "./rules/policy";
import { secretsNotPlain, SECRETS_NOT_PLAIN_SCHEMA } from "./rules/secrets";
import { trustedSources, TRUSTED_SOURCES_SCHEMA } from "./rules/sources";
import {
  credentialEndpoints,
  CREDENTIAL_ENDPOINTS_SCHEMA,
  metadataGuard,
  METADATA_GUARD_SCHEMA,
  noPublicLoadBalancers,
  albConfigReferences,
  patchedServicesExposure,
  NO_PUBLIC_LOAD_BALANCERS_SCHEMA,
  platformNamespaces,
  PLATFORM_NAMESPACES_SCHEMA,
  podPrivileges,
  POD_PRIVILEGES_SCHEMA,
} from "./rules/threats";
import { deploymentHygiene, DEPLOYMENT_HYGIENE_SCHEMA, singleGlobalIngress, SINGLE_GLOBAL_INGRESS_SCHEMA } from "./rules/workloads";

export type { EnforcementLevel, PlatformPolicy, PolicyResource, PolicyStack, Violation } from "./rules/policy";

/** A policy as the pack lists it: how to build it from a level and a config. */
export interface PolicyDefinition {
  name: string;
  description: string;
  scope: "resource" | "stack";
  /** CrossGuard configSchema properties (JSON schema), with defaults. */
  configSchema: Record<string, ConfigProperty>;
  create(level: EnforcementLevel, config: Record<string, unknown>): PlatformPolicy;
}

function define(
  scope: "resource" | "stack",
  configSchema: Record<string, ConfigProperty>,
  // Each policy's config has its own shape, checked against its configSchema before the factory sees it.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  factory: (level: EnforcementLevel, config: any) => PlatformPolicy,
): PolicyDefinition {
  const sample = factory("advisory", {});
  return { name: sample.name, description: sample.description, scope, configSchema, create: factory };
}

/** Every policy of the pack, in the order they are reported. */
export const POLICY_DEFINITIONS: PolicyDefinition[] = [
  define("resource", {}, noPublicIpOnNodes),
  define("resource", NO_OPEN_ADMIN_PORTS_SCHEMA, noOpenAdminPorts),
  define("stack", {}, apiServerSlbIntranet),
  define("resource", {}, deletionProtection),
  define("stack", ODD_MASTERS_SCHEMA, oddMasters),
  define("resource", APPROVED_INSTANCE_TYPES_SCHEMA, approvedInstanceTypes),
  define("stack", KUBERNETES_BASELINE_SCHEMA, kubernetesBaseline),
  define("stack", KUBERNETES_VERSION_SKEW_SCHEMA, kubernetesVersionSkew),
  define("stack", DEPLOYMENT_HYGIENE_SCHEMA, deploymentHygiene),
  define("stack", SINGLE_GLOBAL_INGRESS_SCHEMA, singleGlobalIngress),
  define("stack", SECRETS_NOT_PLAIN_SCHEMA, secretsNotPlain),
  define("stack", TRUSTED_SOURCES_SCHEMA, trustedSources),
  // From the threat model (docs/threat-model.md); each description cites its rows.
  define("resource", CREDENTIAL_ENDPOINTS_SCHEMA, credentialEndpoints),
  define("resource", POD_PRIVILEGES_SCHEMA, podPrivileges),
  define("resource", NO_PUBLIC_LOAD_BALANCERS_SCHEMA, noPublicLoadBalancers),
  define("stack", NO_PUBLIC_LOAD_BALANCERS_SCHEMA, albConfigReferences),
  define("stack", NO_PUBLIC_LOAD_BALANCERS_SCHEMA, patchedServicesExposure),
  define("resource", PLATFORM_NAMESPACES_SCHEMA, platformNamespaces),
  define("resource", METADATA_GUARD_SCHEMA, metadataGuard),
  // The plan's pools against its pinned apps; on --diff-from also the running nodes' labels and taints.
  define("stack", {}, pinnedCapacity),
  define("stack", VALIDATED_IN_PRE_SCHEMA, validatedInPre),
  // Over the plan's changes (old vs new): offline on --diff-from only; see rules/changes.ts.
  define("stack", {}, safeChanges),
];

export const POLICY_NAMES = POLICY_DEFINITIONS.map((d) => d.name);

/** One policy's resolved level and config. */
export interface ResolvedPolicyConfig {
  level: EnforcementLevel;
  config: Record<string, unknown>;
}

const LEVELS: EnforcementLevel[] = ["advisory", "mandatory", "disabled"];

/**
 * Reads a policy pack config file the way the Pulumi CLI does: `all` sets every
 * policy's level; a policy's entry is a level string or an object with an
 * optional `enforcementLevel` and its config. Throws on unknown policies, keys
 * and wrong types, naming them (a typo must not silently turn a policy off).
 */
export function resolvePackConfig(file: unknown, source = "policy config"): Map<string, ResolvedPolicyConfig> {
  if (!isObj(file)) throw new Error(`${source}: must be a JSON object`);
  const levelOf = (v: unknown, where: string): EnforcementLevel => {
    if (typeof v !== "string" || !(LEVELS as string[]).includes(v))
      throw new Error(`${source}: ${where} must be one of ${LEVELS.join(", ")}, got ${JSON.stringify(v)}`);
    return v as EnforcementLevel;
  };
  const all = file.all === undefined ? "advisory" : levelOf(file.all, "all");
  for (const key of Object.keys(file)) {
    if (key !== "all" && !POLICY_NAMES.includes(key)) throw new Error(`${source}: "${key}" is not a policy of this pack (${POLICY_NAMES.join(", ")})`);
  }
  const out = new Map<string, ResolvedPolicyConfig>();
  for (const def of POLICY_DEFINITIONS) {
    const entry = file[def.name];
    let level = all;
    const config: Record<string, unknown> = {};
    if (typeof entry === "string") level = levelOf(entry, def.name);
    else if (isObj(entry)) {
      for (const [k, v] of Object.entries(entry)) {
        if (k === "enforcementLevel") {
          level = levelOf(v, `${def.name}.enforcementLevel`);
          continue;
        }
        const schema = def.configSchema[k];
        if (!schema)
          throw new Error(`${source}: ${def.name}.${k} is not a setting of ${def.name} (${Object.keys(def.configSchema).join(", ") || "it takes none"})`);
        const problem = schemaProblem(schema, v);
        if (problem) throw new Error(`${source}: ${def.name}.${k} ${problem}`);
        config[k] = v;
      }
    } else if (entry !== undefined) throw new Error(`${source}: ${def.name} must be a level or an object`);
    out.set(def.name, { level, config });
  }
  return out;
}

/** The policies a config file turns on, built with their levels and configs. */
export function policiesFromConfig(resolved: Map<string, ResolvedPolicyConfig>): PlatformPolicy[] {
  return POLICY_DEFINITIONS.flatMap((def) => {
    const r = resolved.get(def.name) ?? { level: "advisory" as const, config: {} };
    return r.level === "disabled" ? [] : [def.create(r.level, r.config)];
  });
}

/** Runs every policy over a stack; resource policies see each resource once. */
export function runPolicies(stack: PolicyStack, policies: PlatformPolicy[]): Violation[] {
  const out: Violation[] = [];
  const stackUrn = stack.resources.find((r) => r.type === TYPES.stack)?.urn ?? `urn:pulumi:${stack.stack}::platform::${TYPES.stack}::platform-${stack.stack}`;
  for (const p of policies) {
    if (p.enforcementLevel === "disabled") continue;
    const level = p.enforcementLevel;
    if (isResourcePolicy(p)) {
      for (const r of stack.resources) p.validateResource(r, (message, urn) => out.push({ policy: p.name, level, urn: urn ?? r.urn, message }));
    } else {
      p.validateStack(stack, (message, urn) => out.push({ policy: p.name, level, urn: urn ?? stackUrn, message }));
    }
  }
  return out;
}
