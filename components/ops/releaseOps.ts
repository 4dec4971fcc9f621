// Release, promote and rollback: edits of `platform:apps.<app>.tag` and
// `.history` in the Pulumi.<stack>.yaml files, the way `pulumi config set`
// would, so a release is a one-line reviewable diff that goes through a PR and
// the CI preview like any other config change.
//
// The file is edited by stackFileEdit.ts: every byte outside the edited tag,
// history and canary lines stays as it was.
import * as fs from "fs";
import * as path from "path";
import { isDeepStrictEqual } from "util";
import * as YAML from "yaml";
import { stacksOfTier, Tier, TIERS, tierOf } from "../../policies/fleet";
import { ENVS, Env, MAX_HISTORY, imageTagProblem, isEnv, isProdEnv } from "../../policies/imageTags";
import { UsageError } from "../config/errors";
import { StackFileEdit, refuseShared } from "./stackFileEdit";
import { replaceStackFile } from "./stackFileWrite";

/** The config key that holds the apps (project `platform`). */
export const APPS_KEY = "platform:apps";

/** Which tier each tier takes promotions from: prod only from pre (its image was validated there), test from dev. */
export const PROMOTES_FROM_TIER: Partial<Record<Tier, Tier>> = { test: "dev", prod: "pre" };

/** The stack `env` takes promotions from: the one stack of the tier before it (fleet.ts), else undefined. */
export function promotesFrom(env: Env): Env | undefined {
  const tier = tierOf(env);
  const from = tier === undefined ? undefined : PROMOTES_FROM_TIER[tier];
  const stacks = from === undefined ? [] : stacksOfTier(from);
  return stacks.length === 1 ? stacks[0] : undefined;
}

/** The file name of a stack's config, as Pulumi names it. */
export function stackFileName(stack: string): string {
  return `Pulumi.${stack}.yaml`;
}

/**
 * The history after deploying `newTag` over `current`: the tag being replaced
 * goes first (newest first), the new tag is never in its own history, no tag
 * twice, at most MAX_HISTORY entries.
 */
export function nextHistory(current: string | undefined, history: readonly string[], newTag: string): string[] {
  const out: string[] = [];
  for (const t of current === undefined ? history : [current, ...history]) {
    if (t !== newTag && !out.includes(t)) out.push(t);
  }
  return out.slice(0, MAX_HISTORY);
}

/** The tags nextHistory cuts beyond MAX_HISTORY, oldest last: what a summary line reports as dropped. */
export function droppedFromHistory(current: string | undefined, history: readonly string[], newTag: string): string[] {
  const all: string[] = [];
  for (const t of current === undefined ? history : [current, ...history]) {
    if (t !== newTag && !all.includes(t)) all.push(t);
  }
  return all.slice(MAX_HISTORY);
}

/** "; history keeps 5 tags; dropped a, b" when the history was cut, else "". */
export function droppedNote(current: string | undefined, history: readonly string[], newTag: string): string {
  const dropped = droppedFromHistory(current, history, newTag);
  return dropped.length ? `; history keeps ${MAX_HISTORY} tags; dropped ${dropped.join(", ")}` : "";
}

/**
 * Sets `tag` of `app` in `stack`, pushing the previous tag onto its history.
 * Returns a one-line summary such as `pre order-service: v2.3.0 -> v2.3.1`.
 * Releasing the tag of the app's canary promotes the canary (promoteCanary).
 * Throws, writing nothing, when the tag is not allowed in the stack's env, the
 * app is unknown, or the stack is prod: prod runs only what pre validated, so
 * it takes tags through `npm run promote` (a hotfix too: release it into pre).
 */
export function release(dir: string, stack: string, app: string, tag: string, opts: IntroduceOptions = {}): string {
  const sf = loadStack(dir, stack);
  if (!isProdEnv(sf.env) && !appNames(sf).includes(app)) {
    // A new app in this stack: its settings come from the stack of the tier before (dev for test, test for pre).
    const from = definitionSource(sf.env);
    if (from === undefined) {
      throw new Error(
        `${sf.name}: ${APPS_KEY}.${app}: no such app (known: ${appNames(sf).join(", ") || "none"}); ${stack} is the first stack an app reaches, ` +
          `so write its settings there by hand once (image, tag, port, host, namespace, resources); the later stacks take them with release and promote`,
      );
    }
    const src = loadStack(dir, from);
    if (!appNames(src).includes(app)) {
      throw new Error(
        `${sf.name}: ${APPS_KEY}.${app}: no such app (known: ${appNames(sf).join(", ") || "none"}); a new app's settings come from ${from}, ` +
          `which has none either (${from} has: ${appNames(src).join(", ") || "none"})`,
      );
    }
    checkTag(sf, app, tag);
    const line = introduce(src, sf, app, tag, opts.host);
    write(sf);
    return line;
  }
  if (opts.host !== undefined)
    throw new Error(`${sf.name}: ${APPS_KEY}.${app}: --host is for an app the stack does not have yet; ${stack} has ${app}, edit its host in the file`);
  const a = readApp(sf, app);
  if (isProdEnv(sf.env)) {
    const canary = a.canary?.tag === tag ? `; to promote ${stack}'s canary ${tag} run \`npm run promote-canary -- ${stack} ${app}\`` : "";
    throw new Error(
      `${sf.name}: ${APPS_KEY}.${app}.tag: ${stack} runs only what pre validated, so it takes no releases: ` +
        `\`npm run release -- pre ${app} ${tag}\`, let pre validate it, then \`npm run promote -- pre ${stack} ${app}\` (a hotfix goes through pre too)${canary}`,
    );
  }
  checkTag(sf, app, tag);
  if (a.canary?.tag === tag) return promoteCanary(dir, stack, app);
  if (a.tag === tag) return `${stack} ${app}: already at ${tag}, nothing written`;
  setApp(sf, a, tag, nextHistory(a.tag, a.history, tag));
  write(sf);
  return `${stack} ${app}: ${a.tag ?? "(none)"} -> ${tag}${droppedNote(a.tag, a.history, tag)}`;
}

/**
 * Ends a canary by making its build the stable one: in one edit the app's tag
 * becomes the canary's tag (the old tag goes onto the history) and the canary
 * block is removed, every other byte of the file kept. In prod1/prod2 the
 * canary's tag must be one pre validated (pre's tag or in its history).
 */
export function promoteCanary(dir: string, stack: string, app: string): string {
  const sf = loadStack(dir, stack);
  const a = readApp(sf, app);
  const tag = a.canary?.tag;
  if (tag === undefined) throw new Error(`${sf.name}: ${APPS_KEY}.${app}.canary: ${app} runs no canary (or it has no tag) to promote`);
  checkTag(sf, app, tag);
  if (isProdEnv(sf.env)) {
    const why = notValidatedInPre(dir, app, tag);
    if (why) throw new Error(`${sf.name}: ${APPS_KEY}.${app}.canary.tag: ${why}`);
  }
  setApp(sf, a, tag, nextHistory(a.tag, a.history, tag));
  sf.edit.delete(["config", APPS_KEY, app, "canary"], `${sf.name}: ${APPS_KEY}.${app}.canary`);
  write(sf);
  return `${stack} ${app}: ${a.tag ?? "(none)"} -> ${tag} (canary promoted, canary block removed${droppedNote(a.tag, a.history, tag)})`;
}

/** Why `tag` of `app` has not been validated in pre (neither pre's tag nor in its history), or undefined when it has. */
export function notValidatedInPre(dir: string, app: string, tag: string): string | undefined {
  const pre = loadStack(dir, "pre");
  if (!appNames(pre).includes(app)) return `pre has no app ${app}, so it never validated ${tag}`;
  const p = readApp(pre, app);
  if (p.tag === tag || p.history.includes(tag)) return undefined;
  return `${tag} was never run in pre (pre: ${p.tag ?? "(none)"}, history ${p.history.join(", ") || "empty"}); release it into pre first`;
}

/**
 * Copies the current tag of each named app (all apps `from` and `to` share
 * when none are named) from stack `from` into stack `to`, as a release into
 * `to`. No rebuild: both stacks must pull the same image repository. All or
 * nothing: if any app is refused, nothing is written and the error lists
 * every refusal. Returns one summary line per app.
 */
export function promote(dir: string, from: string, to: string, apps: readonly string[] = [], opts: IntroduceOptions = {}): string[] {
  if (from === to) throw new Error(`cannot promote ${from} into itself`);
  const src = loadStack(dir, from);
  const dst = loadStack(dir, to);
  const allowed = promotesFrom(dst.env);
  if (allowed !== from) {
    const why =
      allowed === undefined
        ? `${to} takes no promotions; release into it with \`npm run release\``
        : `${to} takes promotions only from ${allowed}${isProdEnv(dst.env) ? ", where its image was validated" : ""}`;
    throw new Error(`cannot promote ${from} -> ${to}: ${why}`);
  }

  const srcApps = appNames(src);
  const dstApps = appNames(dst);
  const names = apps.length > 0 ? [...new Set(apps)] : srcApps.filter((n) => dstApps.includes(n));
  if (names.length === 0) {
    throw new Error(`${src.name}: ${APPS_KEY}: no app of ${from} is also in ${to} (${to} has: ${dstApps.join(", ") || "none"})`);
  }

  const problems: string[] = [];
  const lines: string[] = [];
  for (const app of names) {
    if (!srcApps.includes(app)) {
      problems.push(`${src.name}: ${APPS_KEY}.${app}: ${from} has no app ${app} (${from} has: ${srcApps.join(", ") || "none"})`);
      continue;
    }
    if (!dstApps.includes(app)) {
      // Named, and new in `to`: it comes with its settings from `from`, at `from`'s tag, under `to`'s host rule.
      try {
        const tag = readApp(src, app).tag;
        if (tag === undefined) throw new Error(`${src.name}: ${APPS_KEY}.${app}.tag: ${from} has no tag for ${app} to promote`);
        const problem = imageTagProblem(dst.env, tag, app);
        if (problem !== undefined) throw new Error(`${dst.name}: ${APPS_KEY}.${app}.tag: ${problem}`);
        lines.push(introduce(src, dst, app, tag, opts.host));
      } catch (e) {
        problems.push((e as Error).message);
      }
      continue;
    }
    try {
      const s = readApp(src, app);
      const d = readApp(dst, app);
      if (s.tag === undefined) {
        problems.push(`${src.name}: ${APPS_KEY}.${app}.tag: ${from} has no tag for ${app} to promote`);
        continue;
      }
      if (s.image === undefined || d.image === undefined || s.image !== d.image) {
        problems.push(
          `${dst.name}: ${APPS_KEY}.${app}.image: ${from} pulls ${s.image ?? "(none)"} but ${to} pulls ${d.image ?? "(none)"}; ` +
            `a promotion never rebuilds, so both stacks must pull the same repository`,
        );
        continue;
      }
      const problem = imageTagProblem(dst.env, s.tag, app);
      if (problem !== undefined) {
        problems.push(`${dst.name}: ${APPS_KEY}.${app}.tag: ${problem}`);
        continue;
      }
      if (d.tag === s.tag) {
        lines.push(`${to} ${app}: already at ${s.tag}`);
        continue;
      }
      setApp(dst, d, s.tag, nextHistory(d.tag, d.history, s.tag));
      // Promoting the build the canary runs ends the canary (a canary may not run the stable tag).
      const endsCanary = d.canary?.tag === s.tag;
      if (endsCanary) dst.edit.delete(["config", APPS_KEY, app, "canary"], `${dst.name}: ${APPS_KEY}.${app}.canary`);
      lines.push(
        `${to} ${app}: ${d.tag ?? "(none)"} -> ${s.tag} (from ${from}${endsCanary ? "; its canary ran this build, canary block removed" : ""}${droppedNote(d.tag, d.history, s.tag)})`,
      );
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (problems.length > 0) {
    throw new Error(`promote ${from} -> ${to} refused, nothing written:\n${problems.join("\n")}`);
  }
  if (opts.host !== undefined && !names.some((n) => !dstApps.includes(n))) {
    throw new Error(
      `promote ${from} -> ${to}: --host is for an app ${to} does not have yet; ${names.join(", ")} ${names.length > 1 ? "are" : "is"} there already`,
    );
  }
  write(dst);
  return lines;
}

/**
 * Sets `tag` of `app` back to history[0] and removes that entry. The tag
 * rolled back from is not kept, so a second rollback goes one further back.
 * Throws when the history is empty. Returns a one-line summary.
 */
export function rollback(dir: string, stack: string, app: string): string {
  const sf = loadStack(dir, stack);
  const a = readApp(sf, app);
  if (a.history.length === 0) {
    throw new Error(`${sf.name}: ${APPS_KEY}.${app}.history: empty, no previous tag to roll back to (tag is ${a.tag ?? "unset"})`);
  }
  const [previous, ...rest] = a.history;
  const problem = imageTagProblem(sf.env, previous, app);
  if (problem !== undefined) throw new Error(`${sf.name}: ${APPS_KEY}.${app}.history[0]: ${problem}`);
  setApp(sf, a, previous, rest);
  write(sf);
  return `${stack} ${app}: ${a.tag ?? "(none)"} -> ${previous} (rollback; ${rest.length} older tag${rest.length === 1 ? "" : "s"} left)`;
}

// ------------------------------------------------------------------ new apps

export interface IntroduceOptions {
  /** The new app's host in the target stack; default: the target's host rule, learned from the apps both stacks run. */
  host?: string;
}

/** The stack a new app's settings come from on a release into `env`: the one stack of the tier before it (dev for test, test for pre). */
export function definitionSource(env: Env): Env | undefined {
  const tier = tierOf(env);
  const i = tier === undefined ? -1 : TIERS.indexOf(tier);
  const before = i > 1 ? TIERS[i - 1] : undefined;
  const stacks = before === undefined ? [] : stacksOfTier(before);
  return stacks.length === 1 ? stacks[0] : undefined;
}

/**
 * The host of a new app in `dst`, from its host in `src`: both stacks' shared apps must rewrite their hosts
 * the same way, keeping the leading labels they share and swapping the rest (order.pre.livemall.internal ->
 * order.livemall.com swaps "pre.livemall.internal" for "livemall.com"); that swap is `dst`'s host rule.
 */
function hostInTarget(src: StackFile, dst: StackFile, app: string, srcHost: string): string {
  const rules = new Map<string, [string, string]>();
  for (const name of appNames(dst)) {
    if (name === app || !appNames(src).includes(name)) continue;
    const hs = src.doc.getIn(["config", APPS_KEY, name, "host"]);
    const hd = dst.doc.getIn(["config", APPS_KEY, name, "host"]);
    if (typeof hs !== "string" || typeof hd !== "string") continue;
    const a = hs.split("."),
      b = hd.split(".");
    let n = 0;
    while (n < a.length - 1 && n < b.length - 1 && a[n] === b[n]) n++;
    if (n === 0) continue;
    const rule: [string, string] = [a.slice(n).join("."), b.slice(n).join(".")];
    rules.set(rule.join(" -> "), rule);
  }
  const how = `give it with --host (e.g. --host ${app}.<domain>)`;
  if (rules.size !== 1) {
    throw new Error(
      `${dst.name}: ${APPS_KEY}.${app}.host: ${rules.size === 0 ? `no app ${src.env} and ${dst.env} both run shows ${dst.env}'s host rule` : `the apps ${src.env} and ${dst.env} both run rewrite their hosts differently (${[...rules.keys()].join("; ")})`}; ${how}`,
    );
  }
  const [[from, to]] = [...rules.values()];
  if (!srcHost.endsWith(`.${from}`))
    throw new Error(
      `${dst.name}: ${APPS_KEY}.${app}.host: ${srcHost} (${src.name}) does not end in .${from}, so ${dst.env}'s rule (${from} -> ${to}) does not apply; ${how}`,
    );
  return `${srcHost.slice(0, -from.length)}${to}`;
}

/** Adds `app` to `dst` with `src`'s settings at `tag`: no history, no canary, `dst`'s host; the new block goes after `dst`'s last app. */
function introduce(src: StackFile, dst: StackFile, app: string, tag: string, host?: string): string {
  const s = readApp(src, app);
  const settings = s.node.toJS(src.doc) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(settings)) {
    if (k === "history" || k === "canary") continue;
    out[k] = k === "tag" ? tag : v;
  }
  if (out.tag === undefined) out.tag = tag;
  const srcHost = typeof settings.host === "string" ? settings.host : undefined;
  const newHost = host ?? (srcHost === undefined ? undefined : hostInTarget(src, dst, app, srcHost));
  if (newHost !== undefined) out.host = newHost;
  const names = appNames(dst);
  if (appsNode(dst) === undefined || names.length === 0) {
    throw new Error(`${dst.name}: ${APPS_KEY}: ${dst.env} runs no apps; add ${app} by hand (a first app sets the map's layout)`);
  }
  dst.edit.set(["config", APPS_KEY, app], out, `${dst.name}: ${APPS_KEY}.${app}`, names[names.length - 1]);
  return `${dst.env} ${app}: added from ${src.env} at ${tag} (image ${String(out.image ?? "(none)")}${newHost ? `, host ${newHost}` : ""}; no history)`;
}

// ------------------------------------------------------------------ reading

interface StackFile {
  /** File name, for messages: `Pulumi.prod1.yaml`. */
  name: string;
  file: string;
  env: Env;
  doc: YAML.Document.Parsed;
  /** The edit of this file the command makes (stackFileEdit.ts). */
  edit: StackFileEdit;
}

interface App {
  name: string;
  node: YAML.YAMLMap;
  image?: string;
  tag?: string;
  history: string[];
  /** The canary block, when the app runs one. */
  canary?: { tag?: string };
}

function loadStack(dir: string, stack: string): StackFile {
  const name = stackFileName(stack);
  // A usage error (exit 2), on one line: the stacks it names are all the help there is.
  if (!isEnv(stack)) throw new UsageError(`${name}: unknown stack "${stack}" (stacks: ${ENVS.join(", ")})`, { usage: false });
  const file = path.join(dir, name);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new Error(`${name}: not found in ${dir}`);
  }
  const edit = new StackFileEdit(text, name);
  const doc = edit.doc;
  const declared = doc.getIn(["config", "platform:env"]);
  if (declared !== undefined && declared !== stack) {
    throw new Error(`${name}: platform:env: is "${String(declared)}" but the file is stack ${stack}; fix the file before releasing into it`);
  }
  return { name, file, env: stack, doc, edit };
}

function appsNode(sf: StackFile): YAML.YAMLMap | undefined {
  const apps = sf.doc.getIn(["config", APPS_KEY], true);
  if (apps === undefined || (YAML.isScalar(apps) && apps.value === null)) return undefined;
  if (!YAML.isMap(apps)) throw new Error(`${sf.name}: ${APPS_KEY}: must be a map of app name to settings`);
  return apps;
}

function appNames(sf: StackFile): string[] {
  return (appsNode(sf)?.items ?? []).map((p) => String(YAML.isScalar(p.key) ? p.key.value : p.key));
}

function readApp(sf: StackFile, app: string): App {
  const apps = appsNode(sf);
  const node = apps?.get(app, true);
  if (node === undefined) {
    const known = appNames(sf);
    throw new Error(`${sf.name}: ${APPS_KEY}.${app}: no such app (known: ${known.join(", ") || "none, this stack runs no apps"})`);
  }
  const key = `${sf.name}: ${APPS_KEY}.${app}`;
  refuseShared(node, key);
  if (!YAML.isMap(node)) throw new Error(`${key}: must be a map with image, tag and history`);
  if (node.items.some((p) => YAML.isScalar(p.key) && p.key.value === "<<")) {
    throw new Error(`${key}: takes keys from a merge (<<: *...); an edit here would change what the merge means, edit it by hand`);
  }
  for (const k of ["tag", "history"]) refuseShared(node.get(k, true), `${key}.${k}`);
  const str = (k: string): string | undefined => {
    const v = node.get(k);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw new Error(`${key}.${k}: must be a string, got ${JSON.stringify(v)}`);
    return v;
  };
  const h = node.get("history", true);
  let history: string[] = [];
  if (h !== undefined && !(YAML.isScalar(h) && h.value === null)) {
    if (!YAML.isSeq(h)) throw new Error(`${key}.history: must be a list of previous tags, newest first`);
    history = h.items.map((item, i) => {
      const v = YAML.isScalar(item) ? item.value : undefined;
      if (typeof v !== "string") throw new Error(`${key}.history[${i}]: must be a tag string`);
      return v;
    });
  }
  const c = node.get("canary", true);
  let canary: App["canary"];
  if (YAML.isMap(c)) {
    const t = c.get("tag");
    if (t !== undefined && typeof t !== "string") throw new Error(`${key}.canary.tag: must be a string, got ${JSON.stringify(t)}`);
    canary = { tag: t as string | undefined };
  }
  return { name: app, node, image: str("image"), tag: str("tag"), history, canary };
}

function checkTag(sf: StackFile, app: string, tag: string): void {
  const problem = imageTagProblem(sf.env, tag, app);
  if (problem !== undefined) throw new Error(`${sf.name}: ${APPS_KEY}.${app}.tag: ${problem}`);
}

// ------------------------------------------------------------------ writing

/** Sets the app's tag (a missing one goes first in the app) and its history (a missing one after the tag). */
function setApp(sf: StackFile, app: App, tag: string, history: string[]): void {
  const key = `${sf.name}: ${APPS_KEY}.${app.name}`;
  if (app.node.flow) throw new Error(`${key}: written as a flow map ({...}); make it a block map to release with this script`);
  sf.edit.set(["config", APPS_KEY, app.name, "tag"], tag, `${key}.tag`);
  if (!isDeepStrictEqual(history, app.history)) sf.edit.set(["config", APPS_KEY, app.name, "history"], history, `${key}.history`, "tag");
}

/** Writes the edits, if any, atomically and only if the file still holds what was read (stackFileWrite.ts). */
function write(sf: StackFile): void {
  const text = sf.edit.result(`${sf.name}: ${APPS_KEY}`);
  if (text !== sf.edit.text) replaceStackFile(sf.file, sf.name, sf.edit.text, text);
}
