// Prod runs only what pre validated (docs/threat-model.md, T21), and "what pre
// validated" is what pre's `pulumi up` deployed, not what a PR says:
// - pre exports, as its stack output `validatedImages`, each app's image
//   repository and the tags it ran, computed by validatedImages(): its current
//   tag and the tags its own last output listed (a StackReference to itself),
//   never the stack file's history once pre was deployed, so the list grows only
//   by tags pre deployed; the current tag is the one the stable Deployment's
//   outputs run (a targeted update that skipped it lists nothing new); the output
//   waits for every Deployment, so a failed rollout lists nothing new (a canary pre
//   still runs is not validated yet); each tag keeps the CI run that first listed
//   it, and prod refuses a tag first listed in its own run;
// - every stack exports its tier and refuses another one at its next run (read
//   through its one StackReference to itself), and prod refuses a pre whose tier
//   output is not pre: which stack is pre and which are prod is sticky;
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
  /**
   * Per tag, the CI run (GITHUB_RUN_ID) whose deploy of pre first listed it (the seed's tags included); a tag listed
   * by a local run or by a program before this field has none. Prod refuses a tag pre first listed in prod's own run.
   */
  firstListedIn?: Record<string, string>;
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
 *
 * `deployed` (pre's program): per app, the tag its stable Deployment's app container has after the update, read
 * from the Deployment's outputs (deployedTag): that tag is the current one, not the stack file's, so a
 * `pulumi up --target` that skipped the Deployment lists nothing new; an app whose Deployment runs no container of
 * its repository lists only what it listed before. Without `deployed` (the offline answer) the file's tag is current.
 *
 * `runId` (GITHUB_RUN_ID, when set): recorded in `firstListedIn` for each tag this run adds; a tag already listed
 * keeps the run its last output recorded. The seed's tags and a fresh pre's current tag are added by this run too
 * (a new or re-created pre, T21), so prod refuses them in the run that deployed pre.
 */
export function validatedImages(
  apps: Record<string, AppImage> | undefined,
  previous?: Record<string, ValidatedImage>,
  deployed?: Record<string, string | undefined>,
  runId?: string,
): Record<string, ValidatedImage> {
  const out: Record<string, ValidatedImage> = {};
  for (const [app, a] of Object.entries(apps ?? {})) {
    if (typeof a?.image !== "string") continue;
    const last = previous?.[app]?.repository === a.image ? previous[app] : undefined;
    const before = previous === undefined ? (Array.isArray(a.history) ? a.history : []) : (last?.tags ?? []);
    const tags = keep([deployed ? deployed[app] : a.tag, ...before]);
    const firstListedIn: Record<string, string> = {};
    for (const t of tags) {
      const run = last?.tags.includes(t) ? last.firstListedIn?.[t] : runId;
      if (run !== undefined) firstListedIn[t] = run;
    }
    out[app] = { repository: a.image, tags, ...(Object.keys(firstListedIn).length > 0 ? { firstListedIn } : {}) };
  }
  return out;
}

/**
 * The tag a Deployment's containers run of `repository` (registry/project/name): the first container image
 * `<repository>:<tag>`; undefined when none runs it (a digest or another repository is no tag of it).
 */
export function deployedTag(images: readonly (string | undefined)[], repository: string): string | undefined {
  for (const image of images) {
    if (typeof image !== "string" || !image.startsWith(`${repository}:`)) continue;
    const tag = image.slice(repository.length + 1);
    if (/^[\w][\w.-]{0,127}$/.test(tag)) return tag;
  }
  return undefined;
}

/** What rolloutFinished reads of a Deployment's outputs (the live object the provider returned). */
export interface DeploymentState {
  metadata?: { generation?: number; annotations?: Record<string, string> };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    conditions?: { type?: string; status?: string; reason?: string }[];
  };
}

/**
 * Whether a Deployment's outputs show a finished rollout, the state pulumi-kubernetes' Deployment await waits for
 * before it calls an update done (provider/pkg/await/deployment.go at v4.32.0, a03ff6b, deploymentInitAwaiter:
 * status.observedGeneration equals metadata.generation; the `Available` condition is True; the `Progressing`
 * condition is True with reason `NewReplicaSetAvailable`, which the awaiter does not ask of a Deployment whose
 * revision annotation is still 1; the new ReplicaSet's ready replicas reach spec.replicas). From the Deployment
 * alone the last is: status.updatedReplicas and status.availableReplicas both spec.replicas (1 when unset), and
 * status.replicas no more (no old pod left). A failed rollout's outputs (the provider returns the live object
 * with the error, so the engine keeps it, and a later targeted run hands it back unchanged) fail this.
 */
export function rolloutFinished(d: DeploymentState | undefined): boolean {
  const status = d?.status;
  if (!status || typeof d?.metadata?.generation !== "number") return false;
  if (typeof status.observedGeneration !== "number" || status.observedGeneration < d.metadata.generation) return false;
  const want = d.spec?.replicas ?? 1;
  if ((status.updatedReplicas ?? 0) !== want || (status.availableReplicas ?? 0) !== want || (status.replicas ?? 0) !== want) return false;
  const condition = (type: string) => (status.conditions ?? []).find((c) => c?.type === type);
  if (condition("Available")?.status !== "True") return false;
  const progressing = condition("Progressing");
  const firstRevision = d.metadata.annotations?.["deployment.kubernetes.io/revision"] === "1";
  return firstRevision ? progressing?.status !== "False" : progressing?.status === "True" && progressing.reason === "NewReplicaSetAvailable";
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
  (v as ValidatedImage).tags.every((t) => typeof t === "string") &&
  ((v as ValidatedImage).firstListedIn === undefined ||
    (typeof (v as ValidatedImage).firstListedIn === "object" &&
      (v as ValidatedImage).firstListedIn !== null &&
      Object.values((v as ValidatedImage).firstListedIn!).every((r) => typeof r === "string")));

/** A `validatedImages` output as read: undefined when the stack has none; a RunError when it is not app -> { repository, tags }. */
function parseValidated(value: unknown, ref: string): Record<string, ValidatedImage> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value) || !Object.values(value).every(wellFormed)) {
    throw new pulumi.RunError(`${ref}'s output ${VALIDATED_IMAGES_OUTPUT} is not a map of app -> { repository, tags }; run \`pulumi up\` on ${ref} from main`);
  }
  return value as Record<string, ValidatedImage>;
}

/** What prod reads of pre: its `validatedImages` and `tier` outputs, as they are (checked by validatedFrom). */
export interface PreOutputs {
  value: unknown;
  tier: unknown;
}

/**
 * Reads pre's outputs through a StackReference (a read in the plan, `validated-in-<pre>`), registered when called:
 * prod calls it before its read of itself, so the plan keeps both reads in that order.
 */
export async function readPreOutputs(ref: string): Promise<PreOutputs> {
  const pre = new pulumi.StackReference(`validated-in-${ref.split("/").pop()}`, { name: ref });
  const [value, tier] = await Promise.all([pre.getOutputValue(VALIDATED_IMAGES_OUTPUT), pre.getOutputValue(TIER_OUTPUT)]);
  return { value, tier };
}

/**
 * Pre's validated images from its outputs (readPreOutputs), as plain lists for the JavaApps; a missing or malformed
 * output is a RunError (the CLI prints its one line, no stack trace: @pulumi/pulumi 3.276.0 cmd/run/run.js prints a
 * RunError's message alone). So is a stack whose own `tier` output is not `pre`: the stack files name it pre now,
 * but it was deployed as another tier (a swapped tier), so its tags are not what pre validated. A pre deployed
 * before the `tier` output is taken as pre: only a pre-tier stack exports `validatedImages`.
 */
export function validatedFrom({ value, tier }: PreOutputs, ref: string, stack: string): Record<string, ValidatedImage> {
  if (tier !== undefined && tier !== null && tier !== "pre") {
    throw new pulumi.RunError(
      `${PROJECT}:tier: ${stack} reads the images pre validated from ${ref}, whose output ${TIER_OUTPUT} is ${String(tier)}, not pre: ` +
        `that stack was deployed as ${String(tier)}, so its tags are not what pre validated (a swapped tier, T21); restore the stack files' tiers`,
    );
  }
  const images = parseValidated(value, ref);
  if (images === undefined) throw new pulumi.RunError(missingOutputMessage(ref, stack));
  return images;
}

/** Reads and checks pre's validated images (readPreOutputs, then validatedFrom). */
export async function readValidatedImages(ref: string, stack: string): Promise<Record<string, ValidatedImage>> {
  return validatedFrom(await readPreOutputs(ref), ref, stack);
}

/** The stack output a prod stack records the pre it read in (`<org>/<project>/<pre>`), read back at its next run. */
export const VALIDATED_IN_OUTPUT = "validatedIn";

/**
 * The one line prod refuses with when the fleet's pre-tier stack is not the one its last deploy read (its output
 * `validatedIn`, T21): a PR that deletes pre's stack file and adds another pre-tier one would have prod trust a
 * stack whose list was seeded from a history the PR wrote. Undefined when it is the same, or prod has no such
 * output (never deployed, or deployed by a program before it).
 */
export function prePinProblem(stack: string, last: string | undefined, now: string): string | undefined {
  if (last === undefined || last === now) return undefined;
  const name = (ref: string) => ref.split("/").pop();
  return (
    `${PROJECT}:tier: ${stack} reads the images pre validated from ${now}, but its last deploy read them from ${last} (its output ${VALIDATED_IN_OUTPUT}); ` +
    `which stack is pre is pinned (T21): give Pulumi.${name(last)}.yaml back platform:tier: pre, and rebuild pre under that name rather than another ` +
    `(docs/runbooks/add-a-cluster.md, "Re-tiering a stack")`
  );
}

/** The stack output every stack records its tier in (its stack file's `platform:tier`), read back at its next run. */
export const TIER_OUTPUT = "tier";

/**
 * The name of a stack's read of its own last outputs (a StackReference to itself): pre's and prod's reads were
 * named before they also read the tier, and keep their names (a read's name is its URN); any other stack's is
 * `previously-deployed`. One read per stack.
 */
export function ownReferenceName(tier: string | undefined, hasApps: boolean): string {
  if (hasApps && tier === "pre") return "previously-validated";
  if (hasApps && tier === "prod") return "previously-running";
  return "previously-deployed";
}

/** What a stack's last deploy left in its own outputs, as read through ownReferenceName. */
export interface OwnOutputs {
  /** The tier it was last deployed with; undefined when it has no outputs (never deployed) that say it. */
  tier?: string;
  /** pre: its last `validatedImages` (undefined: none, the stack file's history seeds the list). */
  validated?: Record<string, ValidatedImage>;
  /** prod: its last `runningImages` (undefined: none, every tag must be on pre's list). */
  running?: Record<string, ValidatedImage>;
  /** prod: the pre it last read (its `validatedIn` output; undefined: none, never deployed or by an older program). */
  validatedIn?: string;
}

/**
 * A stack's own last outputs, through one StackReference to itself (`name`, ownReferenceName). Its tier is its
 * `tier` output; a stack deployed before that output was pre if it exported `validatedImages`, prod if it
 * exported `runningImages` (only those tiers do), unknown otherwise. A malformed `validatedImages` is a RunError
 * (pre's list must not silently restart from the seed); a malformed `runningImages` is taken as none.
 */
export async function readOwnOutputs(name: string, ref: string): Promise<OwnOutputs> {
  const self = new pulumi.StackReference(name, { name: ref });
  const [tier, validated, running, validatedIn] = await Promise.all(
    [TIER_OUTPUT, VALIDATED_IMAGES_OUTPUT, RUNNING_IMAGES_OUTPUT, VALIDATED_IN_OUTPUT].map((k) => self.getOutputValue(k)),
  );
  const out: OwnOutputs = {
    validated: parseValidated(validated, ref),
    running:
      typeof running === "object" && running !== null && !Array.isArray(running) && Object.values(running).every(wellFormed)
        ? (running as Record<string, ValidatedImage>)
        : undefined,
    ...(typeof validatedIn === "string" ? { validatedIn } : {}),
  };
  out.tier = typeof tier === "string" ? tier : validated != null ? "pre" : running != null ? "prod" : undefined;
  return out;
}

/**
 * The one line a stack refuses with when its stack file's tier is not the one it was last deployed with (T21):
 * a PR re-tiering prod1 as test would skip prod's checks, one swapping pre's tier would make another stack's tags
 * pre's list. Undefined when the tier is the same, or the stack has never said (never deployed).
 */
export function retierProblem(stack: string, last: string | undefined, now: string | undefined): string | undefined {
  if (last === undefined || last === now) return undefined;
  return (
    `${PROJECT}:tier: ${stack} was last deployed as ${last} and its stack file now says ${now ?? "none"}; a stack keeps the tier it was deployed with (T21): ` +
    `set it back to ${last}, or re-tier by destroying the stack and creating it again (docs/runbooks/add-a-cluster.md, "Re-tiering a stack")`
  );
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
 * What prod's apps would run that pre did not validate: each app's tag and canary tag must be on pre's list for
 * the same repository. Checked by the program before it registers anything, because `pulumi up --skip-preview`
 * (how the deploy job runs) applies every change before CrossGuard's stack policies run. With `runId` (the CI
 * run's GITHUB_RUN_ID), a new tag pre first listed in this very run is refused too: one push that releases a tag
 * into pre and promotes it deploys pre first and prod next, and pre has then deployed it but not run it. A local
 * run (no GITHUB_RUN_ID) has no such check.
 */
export function unvalidatedTags(
  apps: Record<string, AppImage> | undefined,
  images: Record<string, ValidatedImage>,
  ref: string,
  stack: string,
  running: Record<string, ValidatedImage> = {},
  runId?: string,
): string[] {
  const problems: string[] = [];
  for (const [app, a] of Object.entries(apps ?? {})) {
    // What the stack already runs (its own last output) stays allowed; a new tag needs pre's list.
    const validated = validatedTagsFor(images, app, String(a.image));
    const alreadyRunning = validatedTagsFor(running, app, String(a.image));
    const list = [...validated, ...alreadyRunning];
    for (const [key, tag] of [
      ["tag", a.tag],
      ["canary.tag", typeof a.canary === "object" && a.canary !== null ? (a.canary as { tag?: unknown }).tag : undefined],
    ] as const) {
      if (typeof tag !== "string") continue;
      if (!list.includes(tag)) {
        problems.push(
          `${PROJECT}:apps.${app}.${key} ${tag} is not a tag pre validated (${ref}'s ${VALIDATED_IMAGES_OUTPUT} for ${app}: ${list.join(", ") || "none"}); release it into pre, deploy pre, then \`npm run promote -- pre ${stack} ${app}\``,
        );
      } else if (runId && !alreadyRunning.includes(tag) && images[app]?.firstListedIn?.[tag] === runId) {
        problems.push(
          `${PROJECT}:apps.${app}.${key} ${tag} was first listed by pre in this CI run (GITHUB_RUN_ID ${runId}: ${ref}'s ${VALIDATED_IMAGES_OUTPUT} for ${app}); ` +
            `promote it in a later run, after pre has run it`,
        );
      }
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
