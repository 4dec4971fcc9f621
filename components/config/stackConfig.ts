// The stack's configuration, parsed and validated in one place. Nothing else
// reads `pulumi.Config`: components receive typed, already-checked settings.
//
// Every problem is collected and reported at once, each line naming its key
// (`platform:masters.count: must be odd for etcd quorum, got 2`), and the
// program throws before a single resource is registered. The schema is in
// schema.ts, the rules spanning keys in crossChecks.ts, the secrets in
// secretKeys.ts.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { crossChecks, RuleContext } from "./crossChecks";
import { dingtalkWebhookProblems } from "../k8s/monitoringRules";
import { ConfigError } from "./errors";
import { namespaceProblems, nearest } from "./namespaces";

/** alicloud: keys that carry or select credentials: refused (the environment is the one supported source). */
export const CONFIG_CREDENTIAL_KEYS = [
  "accessKey",
  "secretKey",
  "securityToken",
  "profile",
  "sharedCredentialsFile",
  "credentialsUri",
  "assumeRole",
  "assumeRoleWithOidc",
  "ecsRoleName",
] as const;
import { listStacks, PROJECT_DIR, readStackFile } from "./stackFiles";
import { hostWorkspaces, projectProblems } from "../fleet/consoleRules";
import type { PlacedWorkspaces } from "../fleet/consoleSchema";
import { Env, isProd, KEYS, platformSchema, PlatformSettings, REMOVED_KEYS } from "./schema";
import { PROJECT, STACKS } from "./keys";
// Which keys were set with --secret: an SDK internal, kept with the others and pinned by their test.
import { isConfigSecret } from "../preview/sdkInternals";
import { SECRET_KEY_NAMES, SECRET_KEYS, secretRequired, SecretKeyName, StackSecrets } from "./secretKeys";

export { defaultPackageRepository, isProd, SUPPORTED_KUBERNETES_MINORS } from "./schema";
export { PROJECT, STACKS } from "./keys";
export type { Env, NetworkConfig, NodePoolConfig, PlatformSettings } from "./schema";

export interface StackConfig extends PlatformSettings {
  /** The stack's name, which is also its environment (platform:env must equal it). */
  stack: Env;
  /** The Alibaba Cloud region (`alicloud:region`). */
  region: string;
  /** True for prod1 and prod2: deletion protection on, more ingress replicas. */
  isProd: boolean;
  /** Secret config strings by key (without the `platform:` prefix), as Pulumi secrets; typed by SECRET_KEYS. */
  secrets: StackSecrets;
  /** Apollo access-key secrets by app name (from platform:apolloAccessKeys), as Pulumi secrets; default none. */
  apolloAccessKeys: Record<string, pulumi.Output<string>>;
  /** Members: the host's platform:workspaces, read from the host's stack file and placed (fleet/consoleRules.ts); undefined when unknown. */
  hostWorkspaces?: PlacedWorkspaces;
}

export { ConfigError, UsageError } from "./errors";

function formatPath(path: PropertyKey[]): string {
  let out = `${PROJECT}:${String(path[0])}`;
  for (const p of path.slice(1)) out += typeof p === "number" ? `[${p}]` : `.${String(p)}`;
  return out;
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let cur = root;
  for (const p of path) cur = typeof cur === "object" && cur !== null ? (cur as Record<PropertyKey, unknown>)[p] : undefined;
  return cur;
}

function describe(issue: z.core.$ZodIssue, root: unknown): string {
  if (issue.code === "unrecognized_keys") return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
  if (issue.code === "invalid_type") {
    const got = valueAt(root, issue.path);
    if (got === undefined) return "is required";
    if (issue.expected === "int") return "must be a whole number";
    return `must be ${issue.expected}, got ${JSON.stringify(got)}`;
  }
  return issue.message;
}

/**
 * Raw config as Pulumi hands it to a program: `project:key` -> string, objects
 * JSON-encoded. `secretKeys` lists the keys that were set with `--secret`.
 */
export interface RawConfig {
  /** Every config value by full key (`platform:masters`), as the engine's strings. */
  values: Record<string, string>;
  /** Full keys that were set with `--secret`. */
  secretKeys: string[];
}

/**
 * Parses and validates the stack's config; throws one ConfigError listing every problem.
 * `ctx.stacks`: the project's stacks, for the platform:hostStack rule.
 */
export function parseStackConfig(stack: string, raw: RawConfig, ctx: Pick<RuleContext, "stacks"> & ConsoleContext = {}): StackConfig {
  const problems: string[] = [];
  if (!(STACKS as readonly string[]).includes(stack)) {
    problems.push(`stack "${stack}" is not one of ${STACKS.join(", ")}`);
  }
  // Namespaces first: a typo there explains a "required" key further down.
  problems.push(...namespaceProblems(Object.keys(raw.values)));

  // Every non-secret platform:* key, decoded; the strict schema refuses the unknown ones.
  const input: Record<string, unknown> = {};
  for (const [fullKey, text] of Object.entries(raw.values)) {
    const [ns, key] = splitKey(fullKey);
    if (ns !== PROJECT || Object.hasOwn(SECRET_KEYS, key)) continue;
    if (Object.hasOwn(REMOVED_KEYS, key)) problems.push(`${PROJECT}:${key}: ${REMOVED_KEYS[key]}`);
    else input[key] = decode(text, (KEYS as Record<string, z.ZodType>)[key]);
  }
  const result = platformSchema.safeParse(input);
  const issues = result.success ? [] : result.error.issues;
  // Unknown keys first (a typo explains the "is required" that often follows), then by key in reference order.
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys" && issue.path.length === 0) {
      for (const k of issue.keys) {
        const guess = nearest(k, Object.keys(KEYS));
        problems.push(`${PROJECT}:${k}: unknown key${guess ? ` (did you mean ${PROJECT}:${guess}?)` : " (check the spelling; see docs/config-reference.md)"}`);
      }
    }
  }
  for (const issue of issues) {
    if (issue.path.length > 0) problems.push(`${formatPath(issue.path)}: ${describe(issue, input)}`);
  }
  // The cross-key rules run on every key that parsed, so their problems come with the schema's.
  const failed = new Set(issues.map((i) => i.path[0]));
  const settings: Partial<PlatformSettings> = result.success
    ? result.data
    : Object.fromEntries(Object.entries(input).filter(([k]) => Object.hasOwn(KEYS, k) && !failed.has(k)));

  const region = raw.values["alicloud:region"];
  if (!region) problems.push("alicloud:region: is required");
  // The program's own Alibaba calls (cloudAssistant.ts credentialsFromEnv) read credentials from
  // environment variables only; a credential key in config would sign the provider's calls and
  // not ours, so one stack would run under two identities. Refused rather than half-honoured.
  const credentialKeys = CONFIG_CREDENTIAL_KEYS.filter((k) => raw.values[`alicloud:${k}`] !== undefined);
  if (credentialKeys.length > 0) {
    problems.push(
      `${credentialKeys.map((k) => `alicloud:${k}`).join(", ")}: credentials in stack config are not supported; ` +
        "set ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY (and ALICLOUD_SECURITY_TOKEN with STS) in the environment of `pulumi up` instead",
    );
  }

  const unparsed = new Set([...failed].map(String));
  problems.push(...crossChecks(stack, settings, { region, stacks: ctx.stacks, unparsed }));
  const host = memberConsole(stack, settings, ctx, problems);

  const secrets: { [K in SecretKeyName]?: pulumi.Output<string> } = {};
  for (const name of SECRET_KEY_NAMES) {
    const s = SECRET_KEYS[name];
    const full = `${PROJECT}:${name}`;
    const text = raw.values[full];
    if (text === undefined) {
      if (problems.length === 0 && secretRequired(name, settings as PlatformSettings)) {
        problems.push(
          `${full}: is required (${s.description}); add it to the stack's ESC environment (esc/${stack}.yaml, docs/runbooks/ci-setup.md), ` +
            `or for a local run only \`pulumi config set --secret ${full} <value>\``,
        );
      }
      continue;
    }
    if (!raw.secretKeys.includes(full)) {
      problems.push(`${full}: must be set as a secret (\`pulumi config set --secret ${full} ...\`), it is in plain text`);
      continue;
    }
    if (name === "dingtalkWebhook") problems.push(...dingtalkWebhookProblems(text));
    if (s.form === "text") secrets[name] = pulumi.secret(text);
  }

  const apolloAccessKeys = parseApolloAccessKeys(raw, settings, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  // No problems: every key the schema requires parsed, and every "always" secret is set.
  return {
    ...(settings as PlatformSettings),
    stack: stack as Env,
    region: region!,
    isProd: isProd(stack as Env),
    secrets: secrets as StackSecrets,
    apolloAccessKeys,
    ...(host ? { hostWorkspaces: host } : {}),
  };
}

/** How a member reads the host's stack file (its values), for platform:projects; absent: the check is skipped. */
export interface ConsoleContext {
  readStack?: (name: string) => Record<string, unknown>;
}

/** A member's platform:projects against the host's platform:workspaces (fleet/consoleRules.ts); returns the host's workspaces. */
function memberConsole(stack: string, s: Partial<PlatformSettings>, ctx: ConsoleContext, problems: string[]): PlacedWorkspaces | undefined {
  if (!ctx.readStack || !s.hostStack || s.env === "host") return undefined;
  const hostName = s.hostStack.split("/").pop()!;
  let values: Record<string, unknown>;
  try {
    values = ctx.readStack(hostName);
  } catch {
    return undefined; // platform:hostStack's own rule reports a missing host file.
  }
  const hostFile = `Pulumi.${hostName}.yaml`;
  const read = hostWorkspaces(values, hostFile);
  problems.push(...read.problems, ...projectProblems(stack, s, read.workspaces, hostFile));
  return read.workspaces ?? {};
}

/** platform:apolloAccessKeys: a secret JSON map of app name to access-key secret, each app one of platform:apps. */
function parseApolloAccessKeys(raw: RawConfig, settings: Partial<PlatformSettings>, problems: string[]): Record<string, pulumi.Output<string>> {
  const out: Record<string, pulumi.Output<string>> = {};
  const full = `${PROJECT}:apolloAccessKeys`;
  const text = raw.values[full];
  if (text === undefined || !raw.secretKeys.includes(full)) return out;
  let map: unknown;
  try {
    map = JSON.parse(text);
  } catch {
    map = undefined;
  }
  if (typeof map !== "object" || map === null || Array.isArray(map) || Object.values(map).some((v) => typeof v !== "string")) {
    problems.push(`${full}: must be a map of app name to secret (set with \`pulumi config set --secret --path '${full}.<app>' <secret>\`)`);
    return out;
  }
  // When platform:apps itself failed to parse, its problems are reported already; no app is "missing".
  const appsKnown = settings.apps !== undefined || raw.values[`${PROJECT}:apps`] === undefined;
  for (const [appName, secret] of Object.entries(map as Record<string, string>)) {
    if (!settings.apps?.[appName]) {
      if (appsKnown) problems.push(`${full}.${appName}: no such app in ${PROJECT}:apps`);
    } else out[appName] = pulumi.secret(secret);
  }
  return out;
}

function splitKey(full: string): [string, string] {
  const i = full.indexOf(":");
  return i < 0 ? ["", full] : [full.slice(0, i), full.slice(i + 1)];
}

/** Pulumi hands objects over JSON-encoded and scalars as strings; decode by what the schema wants. */
function decode(text: string, schema: z.ZodType | undefined): unknown {
  if (schema instanceof z.ZodString || schema instanceof z.ZodEnum) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Reads the running program's config (real engine or the offline mock runtime). */
export function loadStackConfig(): StackConfig {
  const values = pulumi.runtime.allConfig();
  const secretKeys = Object.keys(values).filter((k) => isConfigSecret(k));
  return parseStackConfig(
    pulumi.getStack(),
    { values, secretKeys },
    { stacks: listStacks(PROJECT_DIR), readStack: (name) => readStackFile(name, PROJECT_DIR).values },
  );
}
