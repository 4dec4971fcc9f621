// What every rule of the pack shares: the shapes a policy reads and reports
// (both runners build them: the CrossGuard adapter policies/index.ts and the
// offline preview), the small readers, the type tokens, and the JSON-schema
// subset the pack's config schemas use. No @pulumi/policy import: the root
// project does not install it, and a rule that only reads plain data is tested
// on real plans. Each domain file under rules/ imports only this module (and
// ../imageTags where a rule needs the tag grammar, ./cidr for address math).

/** CrossGuard's levels; ours never remediate, so "remediate" is refused in config. */
export type EnforcementLevel = "advisory" | "mandatory" | "disabled";

/** One resource as a policy sees it: CrossGuard's `{type, urn, name, props}` plus what the offline plan knows. */
export interface PolicyResource {
  /** Pulumi type token, e.g. `alicloud:ecs/instance:Instance`. */
  type: string;
  urn: string;
  /** The resource's Pulumi name (last part of the URN). */
  name: string;
  /**
   * Resource policies: the inputs. Stack policies: the outputs, as CrossGuard's AnalyzeStack hands
   * them; a component's outputs are only what it passed to registerOutputs (offline: planned inputs
   * of custom resources, registered outputs of components, secrets masked as "[secret]").
   */
  props: Record<string, unknown>;
  /** URNs this resource depends on, input dependencies included (links a listener to its SLB). */
  dependencies?: string[];
  /**
   * The parent's URN (CrossGuard: `args.opts.parent` in validateResource, `parent.urn` in
   * validateStack; offline: the plan's parent). Only code sets it: a stack file cannot move a
   * resource under another component. Undefined at the root or when the runner does not say.
   */
  parent?: string;
  /**
   * Paths of the props that are secrets (`userData`, `stringData`). Undefined when
   * the runner cannot tell: CrossGuard hands policies unwrapped plaintext and no
   * secret markers (pulumi/pulumi-policy#241), so secret checks that need them
   * run offline only.
   */
  secretPaths?: string[];
}

/** The whole stack, for stack policies. */
export interface PolicyStack {
  /** Stack name (prod1...), as in the URNs. */
  stack: string;
  resources: PolicyResource[];
  /** Stack outputs; undefined when the runner does not see them. */
  outputs?: Record<string, unknown>;
  /** Names of the outputs that are secrets; undefined when the runner cannot tell (CrossGuard). */
  secretOutputs?: string[];
}

/** One finding, as the preview prints it and `--json` lists it. */
export interface Violation {
  policy: string;
  level: "advisory" | "mandatory";
  /** The resource at fault; the stack's URN for stack-wide findings. */
  urn: string;
  message: string;
}

/** Reports a violation; `urn` defaults to the resource being checked (or the stack). */
export type ReportViolation = (message: string, urn?: string) => void;

/** A JSON-schema fragment, enough for CrossGuard's `configSchema` and our own config check. */
export interface ConfigProperty {
  type: "string" | "integer" | "boolean" | "array" | "object";
  description: string;
  items?: { type: "string" | "integer" };
  enum?: string[];
  default?: unknown;
  minimum?: number;
  additionalProperties?: unknown;
}

interface PolicyBase {
  name: string;
  description: string;
  enforcementLevel: EnforcementLevel;
}

/** Runs once per resource, before it is created (CrossGuard `validateResource`). */
export interface ResourcePolicy extends PolicyBase {
  validateResource(resource: PolicyResource, report: ReportViolation): void;
}

/** Runs once over every resource of the stack (CrossGuard `validateStack`). */
export interface StackPolicy extends PolicyBase {
  validateStack(stack: PolicyStack, report: ReportViolation): void;
}

export type PlatformPolicy = ResourcePolicy | StackPolicy;

export function isResourcePolicy(p: PlatformPolicy): p is ResourcePolicy {
  return typeof (p as ResourcePolicy).validateResource === "function";
}

// ---------------------------------------------------------------------------
// Small readers. A policy guards against missing values rather than assuming them.

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
export const obj = (v: unknown): Obj => (isObj(v) ? v : {});
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
/** The offline plan masks secret inputs with this string. */
export const MASK = "[secret]";

/** `urn:pulumi:<stack>::<project>::<type>::<name>` -> stack. */
export function stackOfUrn(urn: string): string {
  return urn.split("::")[0]?.split(":")[2] ?? "";
}

export function tags(r: PolicyResource): Obj {
  return obj(r.props.tags);
}

export const TYPES = {
  instance: "alicloud:ecs/instance:Instance",
  eipAssociation: "alicloud:ecs/eipAssociation:EipAssociation",
  securityGroupRule: "alicloud:ecs/securityGroupRule:SecurityGroupRule",
  slb: "alicloud:slb/applicationLoadBalancer:ApplicationLoadBalancer",
  slbLegacy: "alicloud:slb/loadBalancer:LoadBalancer",
  listener: "alicloud:slb/listener:Listener",
  vpnConnection: "alicloud:vpn/connection:Connection",
  deployment: "kubernetes:apps/v1:Deployment",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
  configMap: "kubernetes:core/v1:ConfigMap",
  secret: "kubernetes:core/v1:Secret",
  helmRelease: "kubernetes:helm.sh/v3:Release",
  helmChartV4: "kubernetes:helm.sh/v4:Chart",
  k8sProvider: "pulumi:providers:kubernetes",
  stack: "pulumi:pulumi:Stack",
} as const;

/** An SLB of either generation (the application load balancer or the legacy one). */
export const isSlb = (r: PolicyResource) => r.type === TYPES.slb || r.type === TYPES.slbLegacy;

// ---------------------------------------------------------------------------
// Config schemas: defaults and the checker resolvePackConfig uses.

/** Why `v` does not fit schema `s`, or undefined when it does. */
export function schemaProblem(s: ConfigProperty, v: unknown): string | undefined {
  const isInt = (x: unknown) => typeof x === "number" && Number.isInteger(x);
  switch (s.type) {
    case "string":
      if (typeof v !== "string") return "must be a string";
      if (s.enum && !s.enum.includes(v)) return `must be one of ${s.enum.join(", ")}`;
      return undefined;
    case "integer":
      if (!isInt(v)) return "must be a whole number";
      if (s.minimum !== undefined && (v as number) < s.minimum) return `must be at least ${s.minimum}`;
      return undefined;
    case "boolean":
      return typeof v === "boolean" ? undefined : "must be true or false";
    case "array":
      if (!Array.isArray(v)) return "must be a list";
      if (s.items?.type === "string" && !v.every((x) => typeof x === "string")) return "must be a list of strings";
      if (s.items?.type === "integer" && !v.every(isInt)) return "must be a list of whole numbers";
      return undefined;
    case "object":
      return isObj(v) ? undefined : "must be an object";
  }
}

/** Config merged over the schema's defaults (CrossGuard fills defaults too; this makes the rule independent of that). */
export function withDefaults<C>(schema: Record<keyof C, ConfigProperty>, config: Partial<C>): C {
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(schema) as [string, ConfigProperty][]) out[k] = (config as Record<string, unknown>)[k] ?? s.default;
  return out as C;
}

/** What a value that cannot be known during a preview (an output of a resource not created yet) reads as in knownCopy. */
export const UNKNOWN = "(unknown during preview)";

/**
 * A plain copy of a resource's props in which each value unknown during a preview is UNKNOWN.
 * CrossGuard hands a rule a proxy that throws UnknownValueError on reading such a value
 * (@pulumi/policy 1.21.0 proxy.js, proxyHelper), and a throw turns the whole policy into an
 * advisory "can't run policy ... during preview" for that resource; on the copy, an unknown matters
 * only where a rule reads it (pod-privileges names one at a privilege key). Plain data (the offline
 * preview) copies unchanged.
 */
export function knownCopy(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  const read = (k: string | number): unknown => {
    try {
      return knownCopy((v as Record<string | number, unknown>)[k]);
    } catch {
      return UNKNOWN;
    }
  };
  if (Array.isArray(v)) return Array.from({ length: v.length }, (_, i) => read(i));
  return Object.fromEntries(Object.keys(v).map((k) => [k, read(k)]));
}
