// What config validation says of a stack's committed file with `-c`-style overrides applied: the problem
// lines, or [] when the config is accepted. Any other error is a test failure, not a refusal.
import { ConfigError, parseStackConfig } from "../../components/config/stackConfig";
import { loadEngineConfig } from "../../components/config/stackFiles";

export function configProblems(stack: string, ...overrides: string[]): string[] {
  return configProblemsAfter(stack, overrides, () => undefined);
}

/** The same, after `edit` changes the loaded config where an override cannot (deletes a key, makes a secret plain). */
export function configProblemsAfter(stack: string, overrides: string[], edit: (config: ReturnType<typeof loadEngineConfig>) => void): string[] {
  const c = loadEngineConfig(stack, overrides);
  edit(c);
  try {
    parseStackConfig(stack, { values: c.values, secretKeys: c.secretKeys });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}
