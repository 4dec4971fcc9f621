// Secrets reach real runs through Pulumi ESC: each stack file imports its own
// environment (`environment: [platform/<stack>]`), whose committed definition
// esc/<stack>.yaml maps the values of platform/<stack>-secrets (set by hand, never
// committed) into the stack's config (`values.pulumiConfig`). ESC: "Pulumi IaC"
// integration, pulumi.com/docs/esc/integrations/infrastructure/pulumi-iac/ (read
// 2026-12-07). check:fleet holds every stack to it: a copied stack file still
// importing the original's environment, or a definition missing a secret the
// stack's config requires, would fail only at the real `pulumi up`.
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
    const def = readYamlFile(defFile) as { imports?: unknown; values?: { pulumiConfig?: Record<string, unknown> } } | null;
    if (!Array.isArray(def?.imports) || !def.imports.includes(secrets))
      problems.push(`${file}: imports must include ${secrets}, where ${stack}'s secret values are`);
    const supplied = def?.values?.pulumiConfig ?? {};
    for (const key of requiredSecrets(stack, dir)) {
      const full = `${PROJECT}:${key}`;
      if (typeof supplied[full] !== "string")
        problems.push(`${file}: values.pulumiConfig.${full} is missing: ${stack} requires it (${SECRET_KEYS[key].description})`);
    }
  }
  return problems;
}
