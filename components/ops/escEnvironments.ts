// Secrets reach real runs through Pulumi ESC: each stack file imports its own
// environment (`environment: [platform/<stack>]`), whose committed definition
// esc/<stack>.yaml maps the values of platform/<stack>-secrets (set by hand, never
// committed) into the stack's config (`values.pulumiConfig`). ESC: "Pulumi IaC"
// integration, pulumi.com/docs/esc/integrations/infrastructure/pulumi-iac/ (read
// 2026-12-07). check:fleet holds every stack to it: a copied stack file still
// importing the original's environment, or a definition missing a secret the
// stack's config requires, would fail only at the real `pulumi up`. Each value of
// values.pulumiConfig is exactly `${secrets.<key>}` for a secret key of
// secretKeys.ts (a plain value would be a committed secret, a typo an unset one), and
// a stack file sets no secret key itself: ESC's pulumiConfig "resolves against
// explicit stack configuration: there, the explicit stack value wins" (ESC docs,
// "environmentVariables", section Precedence,
// pulumi.com/docs/esc/environments/syntax/reserved-properties/environment-variables/,
// read 2026-12-07), so a `secure:` value there would shadow the environment's.
import * as fs from "fs";
import * as path from "path";
import { readFleet } from "../../policies/fleet";
import { PROJECT } from "../config/keys";
import { readStackFile, readYamlFile, stackFilePath } from "../config/stackFiles";
import { SECRET_KEY_NAMES, SECRET_KEYS, secretRequired, SecretKeyName } from "../config/secretKeys";
import type { PlatformSettings } from "../config/schema";

/** The ESC project the stack environments live in. */
export const ESC_PROJECT = "platform";

/** The environment a stack imports, and the one holding its secret values. */
export function escEnvironmentOf(stack: string): { env: string; secrets: string; file: string } {
  return { env: `${ESC_PROJECT}/${stack}`, secrets: `${ESC_PROJECT}/${stack}-secrets`, file: `esc/${stack}.yaml` };
}

/** The text secrets `stack` requires, given its stack file (secretKeys.ts `required`). */
export function requiredSecrets(stack: string, dir: string): SecretKeyName[] {
  const values = readStackFile(stack, dir).values;
  const settings: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) if (k.startsWith(`${PROJECT}:`)) settings[k.slice(PROJECT.length + 1)] = v;
  return SECRET_KEY_NAMES.filter((k) => SECRET_KEYS[k].form === "text" && secretRequired(k, settings as unknown as PlatformSettings));
}

/** One line per stack whose real runs would not get the secrets it requires. */
export function escProblems(dir: string): string[] {
  const problems: string[] = [];
  for (const { name: stack } of readFleet(dir).stacks) {
    const { env, secrets, file } = escEnvironmentOf(stack);
    const stackFile = path.basename(stackFilePath(stack, dir));
    const doc = readYamlFile(stackFilePath(stack, dir)) as { environment?: unknown } | null;
    const imports = doc?.environment;
    if (!Array.isArray(imports) || imports.length !== 1 || imports[0] !== env) {
      problems.push(`${stackFile}: environment: must be [${env}] (the stack's own ESC environment), found ${JSON.stringify(imports ?? null)}`);
    }
    const defFile = path.join(dir, file);
    if (!fs.existsSync(defFile)) {
      problems.push(`${file}: missing: the definition of ${env}, which supplies ${stack}'s secrets (docs/runbooks/ci-setup.md)`);
      continue;
    }
    // Named esc/<stack>.yaml in a YAML error: every stack's definition has the same base name pattern.
    const def = readYamlFile(defFile, file) as { imports?: unknown; values?: { pulumiConfig?: Record<string, unknown> } } | null;
    // Exactly its own -secrets: a second import (another stack's -secrets, a shared environment) is
    // merged with it (JSON Merge Patch, in list order: ESC docs, "imports",
    // pulumi.com/docs/esc/environments/syntax/top-level-keys/imports/, read 2026-12-07) and could
    // silently supply another stack's values.
    if (!Array.isArray(def?.imports) || def.imports.length !== 1 || def.imports[0] !== secrets)
      problems.push(`${file}: imports must be exactly [${secrets}], where ${stack}'s secret values are; found ${JSON.stringify(def?.imports ?? null)}`);
    const supplied = def?.values?.pulumiConfig ?? {};
    problems.push(...definitionValueProblems(file, def?.values));
    const { values: stackValues, secureKeys } = readStackFile(stack, dir);
    for (const name of SECRET_KEY_NAMES) {
      const full = `${PROJECT}:${name}`;
      if (stackValues[full] === undefined) continue;
      const found = secureKeys.includes(full) ? "a `secure:` value" : "a plain-text value";
      problems.push(
        `${stackFile}: config: ${full}: ${found} here would shadow ${env}'s (stack config wins over an ESC environment); delete it and set secrets.${name} in ${secrets}`,
      );
    }
    for (const key of requiredSecrets(stack, dir)) {
      const full = `${PROJECT}:${key}`;
      if (supplied[full] === undefined || supplied[full] === null)
        problems.push(`${file}: values.pulumiConfig.${full} is missing: ${stack} requires it (${SECRET_KEYS[key].description})`);
    }
  }
  return problems;
}

/** The reference a definition maps a secret key to: the value of the same name in the imported `<stack>-secrets`. */
export function secretReference(name: SecretKeyName): string {
  return `\${secrets.${name}}`;
}

/** values.pulumiConfig holds only secret keys, each exactly its reference; values holds nothing else (a plain value there is committed). */
function definitionValueProblems(file: string, values: unknown): string[] {
  const out: string[] = [];
  if (values === undefined || values === null) return out;
  if (typeof values !== "object" || Array.isArray(values)) return [`${file}: values: must be a map with pulumiConfig`];
  for (const k of Object.keys(values)) {
    if (k !== "pulumiConfig")
      out.push(
        `${file}: values.${k}: unexpected: the definition holds only pulumiConfig; secret values go into the imported -secrets environment, with \`esc env set ... --secret\``,
      );
  }
  const config = (values as { pulumiConfig?: unknown }).pulumiConfig;
  if (config === undefined || config === null) return out;
  if (typeof config !== "object" || Array.isArray(config))
    return [...out, `${file}: values.pulumiConfig: must be a map of platform:<secret key> to \${secrets.<secret key>}`];
  for (const [key, value] of Object.entries(config)) {
    const name = key.startsWith(`${PROJECT}:`) ? key.slice(PROJECT.length + 1) : undefined;
    if (name === undefined || !Object.hasOwn(SECRET_KEYS, name)) {
      out.push(
        `${file}: values.pulumiConfig.${key}: not a secret key (${SECRET_KEY_NAMES.map((n) => `${PROJECT}:${n}`).join(", ")}); other config belongs in the stack file`,
      );
      continue;
    }
    const want = secretReference(name as SecretKeyName);
    if (value !== want)
      out.push(`${file}: values.pulumiConfig.${key}: found ${shown(value)}, expected ${want} (the value lives in the imported -secrets environment)`);
  }
  return out;
}

/** What a wrong pulumiConfig value is, without printing a secret: a reference is shown, a plain value only described. */
function shown(value: unknown): string {
  if (typeof value === "string" && /^\$\{[^}]*\}$/.test(value)) return value;
  if (typeof value === "string") return `a plain-text value (${value.length} characters, not shown)`;
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return `a map with ${Object.keys(value).join(", ")} (not shown)`;
  return `a ${Array.isArray(value) ? "list" : typeof value} (not shown)`;
}
