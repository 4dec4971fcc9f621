// The CrossGuard pack: each pure rule of pack.ts (rules/*.ts) mapped onto @pulumi/policy's
// validateResource / validateStack. The Pulumi CLI runs this file
// (`pulumi preview --policy-pack policies --policy-pack-config policies/config/prod.json`);
// constructing the PolicyPack starts its gRPC server, so nothing imports it.
//
// Levels come from the config file (`all` and per-policy `enforcementLevel`),
// which the CLI hands to the pack; the pack's own default is advisory.
// What CrossGuard cannot see: which props are secrets (it passes plaintext,
// pulumi/pulumi-policy#241) and whether stack outputs are. secrets-not-plain
// therefore checks only literal credentials here; the offline preview, which
// records secret markers, checks the rest.
import { PolicyConfigSchema, PolicyPack, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { PolicyDefinition, POLICY_DEFINITIONS } from "./pack";
import { knownCopy, PolicyResource, ResourcePolicy, stackOfUrn, StackPolicy, TYPES } from "./rules/policy";

function configSchema(def: PolicyDefinition): PolicyConfigSchema | undefined {
  if (Object.keys(def.configSchema).length === 0) return undefined;
  return { properties: def.configSchema as unknown as PolicyConfigSchema["properties"] };
}

function toCrossGuard(def: PolicyDefinition): ResourceValidationPolicy | StackValidationPolicy {
  const base = { name: def.name, description: def.description, configSchema: configSchema(def) };
  if (def.scope === "resource") {
    return {
      ...base,
      validateResource: (args, reportViolation) => {
        // The level passed here is unused: the CLI and the pack server apply the configured one.
        const policy = def.create("advisory", args.getConfig<Record<string, unknown>>()) as ResourcePolicy;
        // A plain copy: an unknown value reads as UNKNOWN instead of throwing, so it matters only where a rule reads it.
        const props = knownCopy(args.props) as Record<string, unknown>;
        policy.validateResource({ type: args.type, urn: args.urn, name: args.name, props, parent: args.opts.parent }, reportViolation);
      },
    };
  }
  return {
    ...base,
    validateStack: (args, reportViolation) => {
      const policy = def.create("advisory", args.getConfig<Record<string, unknown>>()) as StackPolicy;
      const resources: PolicyResource[] = args.resources.map((r) => ({
        type: r.type,
        urn: r.urn,
        name: r.name,
        props: knownCopy(r.props) as Record<string, unknown>,
        dependencies: r.dependencies.map((d) => d.urn),
        parent: r.parent?.urn,
      }));
      const root = args.resources.find((r) => r.type === TYPES.stack);
      policy.validateStack(
        {
          stack: stackOfUrn(root?.urn ?? resources[0]?.urn ?? ""),
          resources,
          // The stack resource's outputs; whether each is secret is not visible here.
          outputs: root?.props,
        },
        reportViolation,
      );
    },
  };
}

new PolicyPack("platform", {
  description: "Guardrails of the live-commerce Kubernetes platform on Alibaba Cloud.",
  enforcementLevel: "advisory",
  policies: POLICY_DEFINITIONS.map(toCrossGuard),
});
