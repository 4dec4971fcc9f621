// Prod runs only what pre validated (docs/threat-model.md, T21), and "what pre
// validated" is what pre's `pulumi up` deployed, not what a PR says:
// - pre exports, as its stack output `validatedImages`, each app's image
//   repository and the tags it ran, computed by validatedImages(): its current
//   tag and the tags its own last output listed (a StackReference to itself),
//   never the stack file's history once pre was deployed, so the list grows only
//   by tags pre deployed; the output waits for the apps' rollouts, so a failed
//   deploy lists nothing new (a canary pre still runs is not validated yet);
// - every prod-tier stack reads that output through a StackReference prod -> pre
//   (`<org>/<project>/<pre>`: the running stack's own org and project, the
//   fleet's one pre-tier stack), refuses before registering anything an app whose
//   tag or canary tag is not on it (unvalidatedTags: `pulumi up --skip-preview`
//   runs no stack policy before it changes things), and records the list on each
//   JavaApp, where the pack's validated-in-pre rule holds every container of the
//   app's workloads against it;
// - offline (`npm run preview`, tests, bench) the mocks answer both references
//   with validatedImages() of pre's stack file (components/preview/preview.ts), so
//   offline the list is still the checkout's.
// A StackReference reads every output of pre, secrets included (pre's admin
// kubeconfig), and keeps them in prod's state: whoever runs prod can read pre's
// state. Prod is the more trusted stack, so the read goes from the more trusted to
// the less (as host -> member).
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
  canary?: unknown;
  history?: unknown;
}

/** How many tags pre's list keeps per app, newest first: prod's tag and its rollback targets stay on it for months of releases. */
export const VALIDATED_TAGS_KEPT = 20;

/** The tags of an app pre lists: its current tag first, then what it listed before (a canary it still runs is not validated yet). */
const keep = (tags: unknown[]): string[] => [...new Set(tags.filter((t): t is string => typeof t === "string"))].slice(0, VALIDATED_TAGS_KEPT);

/**
 * The images pre validated, per app: the repository it runs and the tags it ran, current first. With pre's last
 * output (`previous`: what its last deploy listed), an app's tags are its current tag and the ones that output
 * listed for the same repository: the stack file's `history` adds nothing, so a PR cannot put a tag on the list
 * that pre never deployed, and a tag stays on it when pre moves on. Only for a pre without that output (`previous`
 * undefined: never deployed, or deployed by an older program) is the file's `history` the seed. The one home for the fact: pre's program exports it, and the
 * offline mocks answer the references with it from pre's stack file. An app without a string `image` is left out.
 */
export function validatedImages(apps: Record<string, AppImage> | undefined, previous?: Record<string, ValidatedImage>): Record<string, ValidatedImage> {
  const out: Record<string, ValidatedImage> = {};
  for (const [app, a] of Object.entries(apps ?? {})) {
    if (typeof a?.image !== "string") continue;
    const before = previous === undefined ? (Array.isArray(a.history) ? a.history : []) : previous[app]?.repository === a.image ? previous[app].tags : [];
    out[app] = { repository: a.image, tags: keep([a.tag, ...before]) };
  }
  return out;
}

/**
 * The reference prod reads pre through: `<org>/<project>/<pre>`, the running stack's own org and project
 * (pulumi.getOrganization(), pulumi.getProject(): a name without an org would resolve to the CLI's default org,
 * not the stack's) and the fleet's one pre-tier stack. A fleet without exactly one pre-tier stack is a
 * ConfigError naming the key that sets tiers.
 */
export function preStackRef(org: string, project: string, dir?: string): string {
  const pres = stacksOfTier("pre", dir);
  if (pres.length !== 1) {
    throw new ConfigError([
      `${PROJECT}:tier: prod reads the images pre validated from the fleet's one pre-tier stack; the fleet has ${pres.length ? pres.join(", ") : "none"}`,
    ]);
  }
  return `${org}/${project}/${pres[0]}`;
}

/** The one line prod refuses with when pre's output is not there (pre never deployed, or deployed before it exported it). */
export function missingOutputMessage(ref: string, stack: string): string {
  return (
    `${stack} runs only images pre validated, read from ${ref}'s output ${VALIDATED_IMAGES_OUTPUT}, which that stack does not have: ` +
    `run \`pulumi up\` on ${ref} from main first, then preview ${stack} again`
  );
}

const wellFormed = (v: unknown): v is ValidatedImage =>
  typeof v === "object" &&
  v !== null &&
  typeof (v as ValidatedImage).repository === "string" &&
  Array.isArray((v as ValidatedImage).tags) &&
  (v as ValidatedImage).tags.every((t) => typeof t === "string");

/** A `validatedImages` output as read: undefined when the stack has none; a RunError when it is not app -> { repository, tags }. */
async function readOutput(resourceName: string, ref: string): Promise<Record<string, ValidatedImage> | undefined> {
  const value: unknown = await new pulumi.StackReference(resourceName, { name: ref }).getOutputValue(VALIDATED_IMAGES_OUTPUT);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value) || !Object.values(value).every(wellFormed)) {
    throw new pulumi.RunError(`${ref}'s output ${VALIDATED_IMAGES_OUTPUT} is not a map of app -> { repository, tags }; run \`pulumi up\` on ${ref} from main`);
  }
  return value as Record<string, ValidatedImage>;
}

/**
 * Reads pre's validated images through a StackReference (a read in the plan, `validated-in-<pre>`). Resolves once
 * the output is read, so the JavaApps take plain lists; a missing or malformed output rejects with a RunError (the
 * CLI prints its one line, no stack trace: @pulumi/pulumi 3.276.0 cmd/run/run.js prints a RunError's message alone).
 */
export async function readValidatedImages(ref: string, stack: string): Promise<Record<string, ValidatedImage>> {
  const images = await readOutput(`validated-in-${ref.split("/").pop()}`, ref);
  if (images === undefined) throw new pulumi.RunError(missingOutputMessage(ref, stack));
  return images;
}

/**
 * pre's own last `validatedImages` (a StackReference to itself, `previously-validated`): undefined when pre has
 * none (never deployed, or deployed by a program before this one), and only then does the stack file's history
 * seed the list: the switch-over keeps the tags prod runs on it.
 */
export async function readOwnValidatedImages(ref: string): Promise<Record<string, ValidatedImage> | undefined> {
  const self = new pulumi.StackReference("previously-validated", { name: ref });
  const value: unknown = await self.getOutputValue(VALIDATED_IMAGES_OUTPUT);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value) || !Object.values(value).every(wellFormed)) {
    throw new pulumi.RunError(`${ref}'s output ${VALIDATED_IMAGES_OUTPUT} is not a map of app -> { repository, tags }; run \`pulumi up\` on ${ref} from main`);
  }
  return value as Record<string, ValidatedImage>;
}

/** The stack output a prod stack records what it runs in, after its rollouts, and reads back at its next run. */
export const RUNNING_IMAGES_OUTPUT = "runningImages";

/** What a stack's apps run: per app its repository and its tag (and its canary's). */
export function runningImages(apps: Record<string, AppImage> | undefined): Record<string, ValidatedImage> {
  const out: Record<string, ValidatedImage> = {};
  for (const [app, a] of Object.entries(apps ?? {})) {
    if (typeof a?.image !== "string") continue;
    const canary = typeof a.canary === "object" && a.canary !== null ? (a.canary as { tag?: unknown }).tag : undefined;
    out[app] = { repository: a.image, tags: [a.tag, canary].filter((t): t is string => typeof t === "string") };
  }
  return out;
}

/**
 * A prod stack's own last `runningImages` (a StackReference to itself, `previously-running`): what it already
 * runs needs no new word from pre, so a tag that left pre's list (pre released 20 times since) does not block
 * prod's other changes. Undefined when the stack has none (every tag must then be on pre's list).
 */
export async function readOwnRunningImages(ref: string): Promise<Record<string, ValidatedImage> | undefined> {
  const value: unknown = await new pulumi.StackReference("previously-running", { name: ref }).getOutputValue(RUNNING_IMAGES_OUTPUT);
  if (value === undefined || value === null) return undefined;
  return typeof value === "object" && !Array.isArray(value) && Object.values(value).every(wellFormed) ? (value as Record<string, ValidatedImage>) : undefined;
}

/**
 * What prod's apps would run that pre did not validate: each app's tag and canary tag must be on pre's list for
 * the same repository. Checked by the program before it registers anything, because `pulumi up --skip-preview`
 * (how the deploy job runs) applies every change before CrossGuard's stack policies run.
 */
export function unvalidatedTags(
  apps: Record<string, AppImage> | undefined,
  images: Record<string, ValidatedImage>,
  ref: string,
  stack: string,
  running: Record<string, ValidatedImage> = {},
): string[] {
  const problems: string[] = [];
  for (const [app, a] of Object.entries(apps ?? {})) {
    // What the stack already runs (its own last output) stays allowed; a new tag needs pre's list.
    const list = [...validatedTagsFor(images, app, String(a.image)), ...validatedTagsFor(running, app, String(a.image))];
    for (const [key, tag] of [
      ["tag", a.tag],
      ["canary.tag", typeof a.canary === "object" && a.canary !== null ? (a.canary as { tag?: unknown }).tag : undefined],
    ] as const) {
      if (typeof tag !== "string" || list.includes(tag)) continue;
      problems.push(
        `${PROJECT}:apps.${app}.${key} ${tag} is not a tag pre validated (${ref}'s ${VALIDATED_IMAGES_OUTPUT} for ${app}: ${list.join(", ") || "none"}); release it into pre, deploy pre, then \`npm run promote -- pre ${stack} ${app}\``,
      );
    }
  }
  return problems;
}

/**
 * The tags prod's `app` may run: those pre validated for it, when pre runs the same repository (registry/project/name);
 * none otherwise (pre never ran this app, or ran another repository's image of that name), which validated-in-pre refuses.
 */
export function validatedTagsFor(images: Record<string, ValidatedImage>, app: string, repository: string): string[] {
  const seen = images[app];
  return seen && seen.repository === repository ? [...seen.tags] : [];
}
