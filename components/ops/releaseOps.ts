// Release, promote and rollback: edits of `platform:apps.<app>.tag` and
// `.history` in the Pulumi.<stack>.yaml files, the way `pulumi config set`
// would, so a release is a one-line reviewable diff that goes through a PR and
// the CI preview like any other config change.
//
// How the file is edited: the yaml package's Document API reads the file,
// locates the nodes and computes the intended result. It does not write it:
// Document.toString() re-spaces end-of-line comments, reformats flow maps and
// can move a trailing comment to another indentation (measured on a stack
// file), which would put unrelated lines in every release diff. Instead the
// new values are spliced into the original text at the ranges the Document
// reports, and the result is parsed again and must equal the Document API's
// edit exactly, or nothing is written. So every byte outside the edited tag
// and history values stays as it was.
import * as fs from "fs";
import * as path from "path";
import { isDeepStrictEqual } from "util";
import * as YAML from "yaml";
import { stacksOfTier, Tier, tierOf } from "../../policies/fleet";
import { ENVS, Env, MAX_HISTORY, imageTagProblem, isEnv, isProdEnv } from "../../policies/imageTags";
import { blockListSplices } from "./historyEdit";
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
export function release(dir: string, stack: string, app: string, tag: string): string {
  const sf = loadStack(dir, stack);
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
  const edit = new StackEdit(sf);
  edit.setApp(a, tag, nextHistory(a.tag, a.history, tag));
  edit.write();
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
  const edit = new StackEdit(sf);
  edit.setApp(a, tag, nextHistory(a.tag, a.history, tag));
  edit.removeKey(a, "canary");
  edit.write();
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
export function promote(dir: string, from: string, to: string, apps: readonly string[] = []): string[] {
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
  const edit = new StackEdit(dst);
  const lines: string[] = [];
  for (const app of names) {
    if (!srcApps.includes(app)) {
      problems.push(`${src.name}: ${APPS_KEY}.${app}: ${from} has no app ${app} (${from} has: ${srcApps.join(", ") || "none"})`);
      continue;
    }
    if (!dstApps.includes(app)) {
      problems.push(`${dst.name}: ${APPS_KEY}.${app}: ${to} has no app ${app}; add it to ${dst.name} first (${to} has: ${dstApps.join(", ") || "none"})`);
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
      edit.setApp(d, s.tag, nextHistory(d.tag, d.history, s.tag));
      // Promoting the build the canary runs ends the canary (a canary may not run the stable tag).
      const endsCanary = d.canary?.tag === s.tag;
      if (endsCanary) edit.removeKey(d, "canary");
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
  edit.write();
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
  const edit = new StackEdit(sf);
  edit.setApp(a, previous, rest);
  edit.write();
  return `${stack} ${app}: ${a.tag ?? "(none)"} -> ${previous} (rollback; ${rest.length} older tag${rest.length === 1 ? "" : "s"} left)`;
}

// ------------------------------------------------------------------ reading

interface StackFile {
  /** File name, for messages: `Pulumi.prod1.yaml`. */
  name: string;
  file: string;
  env: Env;
  text: string;
  doc: YAML.Document.Parsed;
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
  if (!isEnv(stack)) throw new Error(`${name}: unknown stack "${stack}" (stacks: ${ENVS.join(", ")})`);
  const file = path.join(dir, name);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new Error(`${name}: not found in ${dir}`);
  }
  const doc = YAML.parseDocument(text, { merge: true });
  if (doc.errors.length > 0) {
    const pos = doc.errors[0].linePos?.[0];
    throw new Error(
      `${name}${pos ? `:${pos.line}:${pos.col}` : ""}: not valid YAML: ${doc.errors[0].message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")}`,
    );
  }
  const declared = doc.getIn(["config", "platform:env"]);
  if (declared !== undefined && declared !== stack) {
    throw new Error(`${name}: platform:env: is "${String(declared)}" but the file is stack ${stack}; fix the file before releasing into it`);
  }
  return { name, file, env: stack, text, doc };
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
  refuseSharedNode(node, key);
  if (!YAML.isMap(node)) throw new Error(`${key}: must be a map with image, tag and history`);
  if (node.items.some((p) => YAML.isScalar(p.key) && p.key.value === "<<")) {
    throw new Error(`${key}: takes keys from a merge (<<: *...); an edit here would change what the merge means, edit it by hand`);
  }
  for (const k of ["tag", "history"]) refuseSharedNode(node.get(k, true), `${key}.${k}`);
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

/**
 * An anchored node (`&name`) is shared with every alias of it, and an alias
 * (`*name`) is another node's value: splicing either would edit more (or
 * other) than this key, so the script refuses, naming file and key.
 */
function refuseSharedNode(n: unknown, key: string): void {
  if (YAML.isAlias(n)) throw new Error(`${key}: is an alias (*${n.source}) of another value; edit it by hand`);
  const anchor = (n as { anchor?: string } | undefined)?.anchor;
  if (anchor) throw new Error(`${key}: has an anchor (&${anchor}) other values may alias; edit it by hand`);
  if (YAML.isSeq(n)) n.items.forEach((item, i) => refuseSharedNode(item, `${key}[${i}]`));
}

function checkTag(sf: StackFile, app: string, tag: string): void {
  const problem = imageTagProblem(sf.env, tag, app);
  if (problem !== undefined) throw new Error(`${sf.name}: ${APPS_KEY}.${app}.tag: ${problem}`);
}

// ------------------------------------------------------------------ writing

interface Splice {
  start: number;
  end: number;
  text: string;
}

/**
 * Edits of one stack file: text splices at node ranges, plus the same edit
 * made through the Document API on a clone, which the spliced text must
 * reproduce before it is written.
 */
class StackEdit {
  private readonly splices: Splice[] = [];
  private readonly expected: YAML.Document;
  private readonly eol: string;

  constructor(private readonly sf: StackFile) {
    this.expected = sf.doc.clone();
    this.eol = sf.text.includes("\r\n") ? "\r\n" : "\n";
  }

  setApp(app: App, tag: string, history: string[]): void {
    const key = `${this.sf.name}: ${APPS_KEY}.${app.name}`;
    const target = this.expected.getIn(["config", APPS_KEY, app.name], true) as YAML.YAMLMap;
    if (app.node.flow) throw new Error(`${key}: written as a flow map ({...}); make it a block map to release with this script`);
    const first = app.node.items[0];
    if (first === undefined || !YAML.isScalar(first.key) || first.key.range == null) {
      throw new Error(`${key}: has no keys to place the tag beside`);
    }
    const indent = this.indentOf(first.key.range[0], key);
    const tagPair = this.pair(app.node, "tag");
    const historyPair = this.pair(app.node, "history");

    // tag: replace from the end of the key through the value, so a `tag:` with
    // no value works too; an end-of-line comment after the value stays.
    if (tagPair) {
      const { keyEnd, valueEnd } = this.pairRange(tagPair, key + ".tag");
      const style = YAML.isScalar(tagPair.value) ? tagPair.value.type : undefined;
      this.splices.push({ start: keyEnd, end: valueEnd, text: `: ${scalarText(tag, style)}` });
    } else {
      this.splices.push({ start: first.key.range[0], end: first.key.range[0], text: `tag: ${scalarText(tag)}${this.eol}${indent}` });
    }
    target.set("tag", tag);

    if (isDeepStrictEqual(history, app.history)) return;
    const lineEdits =
      historyPair && YAML.isSeq(historyPair.value)
        ? blockListSplices(this.sf.text, historyPair.value, app.history, history, (t) => scalarText(t), this.eol)
        : undefined;
    if (lineEdits) {
      // One entry per line: add and drop entries as lines, so comments and blank lines inside the list stay.
      this.splices.push(...lineEdits);
    } else if (historyPair) {
      const { keyEnd, valueEnd } = this.pairRange(historyPair, key + ".history");
      const value = historyPair.value;
      // Keep the list's style: a flow list with items stays flow, a block list
      // keeps its item indentation; `[]` (or no value) grows into a block list.
      const blockIndent = YAML.isSeq(value) && !value.flow && value.range ? this.indentOf(value.range[0], key + ".history") : `${indent}  `;
      const flow = YAML.isSeq(value) && value.flow && value.items.length > 0;
      const tail = this.sf.text.slice(keyEnd, valueEnd).endsWith("\n") ? this.eol : "";
      const body =
        history.length === 0 || flow
          ? ` [${history.map((t) => scalarText(t)).join(", ")}]`
          : history.map((t) => `${this.eol}${blockIndent}- ${scalarText(t)}`).join("");
      this.splices.push({ start: keyEnd, end: valueEnd, text: `:${body}${tail}` });
    } else {
      // No history yet: add it on the line after the tag. (Without a tag there
      // is nothing to remember, so this only happens when the tag exists.)
      if (!tagPair) throw new Error(`${key}.history: internal error: history without a tag`);
      const { valueEnd } = this.pairRange(tagPair, key + ".tag");
      const nl = this.sf.text.indexOf("\n", valueEnd);
      const at = nl === -1 ? this.sf.text.length : nl + 1;
      const items = history.map((t) => `${this.eol}${indent}  - ${scalarText(t)}`).join("");
      this.splices.push({ start: at, end: at, text: `${nl === -1 ? this.eol : ""}${indent}history:${items}${this.eol}` });
    }
    target.set("history", history);
  }

  /** Removes `k` and its value (the lines it spans) from the app; comments on other lines stay. */
  removeKey(app: App, k: string): void {
    const key = `${this.sf.name}: ${APPS_KEY}.${app.name}.${k}`;
    const p = this.pair(app.node, k);
    if (!p) return;
    const { keyEnd, valueEnd } = this.pairRange(p, key);
    const keyStart = (p.key as YAML.Scalar).range![0];
    this.indentOf(keyStart, key);
    const start = this.sf.text.lastIndexOf("\n", keyStart - 1) + 1;
    // Through the end of the value's last line (a block map's range already ends after its newline).
    const last = Math.max(valueEnd, keyEnd);
    const nl = this.sf.text[last - 1] === "\n" ? last - 1 : this.sf.text.indexOf("\n", last);
    const end = nl === -1 ? this.sf.text.length : nl + 1;
    this.splices.push({ start, end, text: "" });
    (this.expected.getIn(["config", APPS_KEY, app.name], true) as YAML.YAMLMap).delete(k);
  }

  /**
   * Applies the splices, checks the result against the Document API's edit, and
   * replaces the file atomically if it still holds what was read (stackFileWrite.ts).
   */
  write(): void {
    if (this.splices.length === 0) return;
    let text = this.sf.text;
    const sorted = [...this.splices].sort((a, b) => b.start - a.start || b.end - a.end);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i].end > sorted[i - 1].start) throw new Error(`${this.sf.name}: internal error: overlapping edits`);
    }
    for (const s of sorted) text = text.slice(0, s.start) + s.text + text.slice(s.end);

    const check = YAML.parseDocument(text);
    if (check.errors.length > 0 || !isDeepStrictEqual(check.toJS(), this.expected.toJS())) {
      throw new Error(`${this.sf.name}: ${APPS_KEY}: this file's layout defeats an exact edit, nothing written; edit the tag by hand`);
    }
    replaceStackFile(this.sf.file, this.sf.name, this.sf.text, text);
  }

  private pair(map: YAML.YAMLMap, k: string): YAML.Pair | undefined {
    return map.items.find((p) => YAML.isScalar(p.key) && p.key.value === k) as YAML.Pair | undefined;
  }

  private pairRange(p: YAML.Pair, key: string): { keyEnd: number; valueEnd: number } {
    const k = p.key as YAML.Scalar;
    const v = p.value as YAML.Node | null;
    if (!k.range || (v && !v.range)) throw new Error(`${key}: cannot locate it in the file`);
    return { keyEnd: k.range[1], valueEnd: v?.range ? v.range[1] : k.range[1] };
  }

  private indentOf(offset: number, key: string): string {
    const lineStart = this.sf.text.lastIndexOf("\n", offset - 1) + 1;
    const indent = this.sf.text.slice(lineStart, offset);
    if (!/^ *$/.test(indent)) throw new Error(`${key}: not on a line of its own; edit the tag by hand`);
    return indent;
  }
}

/**
 * A tag as YAML text: in the quoting the file already used for it, else plain
 * when it reads back as the same string, else double-quoted.
 */
function scalarText(tag: string, style?: YAML.Scalar.Type): string {
  const safe = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(tag);
  if (style === "QUOTE_SINGLE" && safe) return `'${tag}'`;
  if (style === "QUOTE_DOUBLE" || !safe || YAML.parse(tag) !== tag) return JSON.stringify(tag);
  return tag;
}
