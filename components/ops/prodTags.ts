// Prod runs only what pre validated (the image tested in pre goes to prod without
// a rebuild): every tag a prod-tier stack runs (platform:tier: prod, policies/fleet.ts), canary tags included, must be pre's
// current tag for that app or in pre's history. `npm run check:fleet` reports
// the rest from the stack files; CI runs it on every PR (.ci/run). The program and
// the pack hold prod to pre's deployed output instead (components/fleet/validatedImages.ts, T21).
import * as fs from "fs";
import * as path from "path";
import { PROJECT } from "../config/stackConfig";
import { readStackFile } from "../config/stackFiles";
import { stacksOfTier } from "../../policies/fleet";

interface AppTags {
  tag?: string;
  history?: string[];
  canary?: { tag?: string };
}

function appsOf(dir: string, stack: string): Record<string, AppTags> | undefined {
  if (!fs.existsSync(path.join(dir, `Pulumi.${stack}.yaml`))) return undefined;
  return (readStackFile(stack, dir).values[`${PROJECT}:apps`] ?? {}) as Record<string, AppTags>;
}

/** One line per prod tag pre never ran, naming the stack file key; the prod stacks and pre are the fleet's (the stack files in `dir`). */
export function prodTagsNotFromPre(dir: string, prodStacks: readonly string[] = stacksOfTier("prod", dir)): string[] {
  const pres = stacksOfTier("pre", dir);
  if (pres.length !== 1 && prodStacks.length > 0) {
    return [`prod tags are checked against the one pre-tier stack; the fleet has ${pres.length ? pres.join(", ") : "none"}`];
  }
  const pre = appsOf(dir, pres[0] ?? "pre");
  const out: string[] = [];
  for (const stack of prodStacks) {
    const apps = appsOf(dir, stack);
    if (!apps) continue;
    for (const [app, a] of Object.entries(apps)) {
      const p = pre?.[app];
      const seen = p ? [p.tag, ...(p.history ?? [])].filter((t): t is string => typeof t === "string") : [];
      const running: [string, string | undefined][] = [
        ["tag", a.tag],
        ["canary.tag", a.canary?.tag],
      ];
      for (const [field, tag] of running) {
        if (tag === undefined || seen.includes(tag)) continue;
        const where = p ? `pre runs ${p.tag ?? "(none)"}, history ${(p.history ?? []).join(", ") || "empty"}` : `pre has no app ${app}`;
        out.push(
          `Pulumi.${stack}.yaml: ${PROJECT}:apps.${app}.${field}: ${tag} was never validated in pre (${where}); release it into pre, then \`npm run promote -- pre ${stack} ${app}\``,
        );
      }
    }
  }
  return out;
}
