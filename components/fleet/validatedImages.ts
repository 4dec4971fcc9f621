// Prod runs only what pre validated (docs/threat-model.md, T21), and "what pre
// validated" is what pre's last `pulumi up` deployed, not what a PR says:
// - pre exports, as its stack output `validatedImages`, each app's image
//   repository and the tags it validated (its current tag and its history),
//   computed by validatedImages() from pre's settings;
// - every prod-tier stack reads that output through a StackReference prod -> pre
//   (named `org/project/stack` as the host names its members: the org and project
//   of `platform:hostStack`, the fleet's one pre-tier stack) and records the tags
//   on each JavaApp, where the pack's validated-in-pre rule holds the app's
//   workloads against them;
// - offline (`npm run preview`, tests, bench) the mocks answer that reference with
//   validatedImages() of pre's stack file (components/preview/preview.ts), so
//   offline the list is still the checkout's.
// A StackReference reads every output of pre, secrets included (pre's admin
// kubeconfig): whoever runs prod can read pre's state. Prod is the more trusted
// stack, so the read goes from the more trusted to the less (as host -> member).
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../config/errors";
import { PROJECT } from "../config/keys";
import { stacksOfTier } from "../../policies/fleet";

/** The stack output pre exports and prod reads. */
export const VALIDATED_IMAGES_OUTPUT = "validatedImages";

/** One app's validated images: its repository (registry/project/name) and the tags pre validated, current first. */
export interface ValidatedImage {
  repository: string;
  tags: string[];
}

/** What pre's settings say of an app (its `platform:apps.<app>` entry; raw stack-file values are accepted as they are). */
interface AppImage {
  image?: unknown;
  tag?: unknown;
  history?: unknown;
}

/**
 * The images pre validated, per app: the repository it runs and its current tag plus its `history`. The one
 * home for the fact: pre's program exports it, and the offline mocks answer prod's reference with it from
 * pre's stack file. An app without a string `image` is left out (config validation refuses it anyway).
 */
export function validatedImages(apps: Record<string, AppImage> | undefined): Record<string, ValidatedImage> {
  const out: Record<string, ValidatedImage> = {};
  for (const [app, a] of Object.entries(apps ?? {})) {
    if (typeof a?.image !== "string") continue;
    const history = Array.isArray(a.history) ? a.history : [];
    out[app] = { repository: a.image, tags: [a.tag, ...history].filter((t): t is string => typeof t === "string") };
  }
  return out;
}

/**
 * The reference prod reads pre through: `org/project/<pre>`, the org and project of `platform:hostStack` (the
 * form the host lists its members in, e.g. `livemall/platform/pre`), or `<pre>` alone (the current org and
 * project) when the stack names no host or names it without an org. A fleet without exactly one pre-tier stack
 * is a ConfigError naming the key that sets tiers.
 */
export function preStackRef(hostStack: string | undefined, dir?: string): string {
  const pres = stacksOfTier("pre", dir);
  if (pres.length !== 1) {
    throw new ConfigError([
      `${PROJECT}:tier: prod reads the images pre validated from the fleet's one pre-tier stack; the fleet has ${pres.length ? pres.join(", ") : "none"}`,
    ]);
  }
  const parts = (hostStack ?? "").split("/");
  return parts.length === 3 ? `${parts[0]}/${parts[1]}/${pres[0]}` : pres[0];
}

/** The one line prod refuses with when pre's output is not there (pre never deployed, or deployed before it exported it). */
export function missingOutputMessage(ref: string, stack: string): string {
  return (
    `${stack} runs only images pre validated, read from ${ref}'s output ${VALIDATED_IMAGES_OUTPUT}, which that stack does not have: ` +
    `run \`pulumi up\` on ${ref} from main first, then preview ${stack} again`
  );
}

/**
 * Reads pre's validated images through a StackReference (a read in the plan, `validated-in-<pre>`). Resolves once
 * the output is read, so the JavaApps take plain lists; a missing or malformed output rejects with a RunError (the
 * CLI prints its one line, no stack trace: @pulumi/pulumi errors.ts RunError).
 */
export async function readValidatedImages(ref: string, stack: string): Promise<Record<string, ValidatedImage>> {
  const pre = new pulumi.StackReference(`validated-in-${ref.split("/").pop()}`, { name: ref });
  const value: unknown = await pre.getOutputValue(VALIDATED_IMAGES_OUTPUT);
  if (value === undefined || value === null) throw new pulumi.RunError(missingOutputMessage(ref, stack));
  const wellFormed = (v: unknown): v is ValidatedImage =>
    typeof v === "object" &&
    v !== null &&
    typeof (v as ValidatedImage).repository === "string" &&
    Array.isArray((v as ValidatedImage).tags) &&
    (v as ValidatedImage).tags.every((t) => typeof t === "string");
  if (typeof value !== "object" || !Object.values(value).every(wellFormed)) {
    throw new pulumi.RunError(`${ref}'s output ${VALIDATED_IMAGES_OUTPUT} is not a map of app -> { repository, tags }; run \`pulumi up\` on ${ref} from main`);
  }
  return value as Record<string, ValidatedImage>;
}

/**
 * The tags prod's `app` may run: those pre validated for it, when pre runs the same repository (registry/project/name);
 * none otherwise (pre never ran this app, or ran another repository's image of that name), which validated-in-pre refuses.
 */
export function validatedTagsFor(images: Record<string, ValidatedImage>, app: string, repository: string): string[] {
  const seen = images[app];
  return seen && seen.repository === repository ? [...seen.tags] : [];
}
