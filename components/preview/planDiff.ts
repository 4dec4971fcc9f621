// What a change does to a stack, by URN, as `pulumi preview` would plan it:
// resources created, deleted, updated in place, updated with the instance
// stopped, or replaced (with the input path that forces it, from
// providerSemantics.ts). It honours the program's own options: `ignoreChanges`
// paths are set aside (not counted), `aliases` match a renamed resource to its
// old URN, and a replaced resource's new id flows into the inputs of what uses it.
import { pathUnder, replaceRule, secretReplaceRule, semanticsFor, stopRule } from "./providerSemantics";

/** The part of a planned resource a diff looks at (plan.json's resources have it too). */
export interface DiffableResource {
  urn: string;
  type?: string;
  parent?: string | null;
  inputs: Record<string, unknown>;
  dependsOn?: string[];
  /** Digests of secret inputs: a changed secret shows as a changed path. */
  secretDigests?: Record<string, string>;
  aliases?: unknown[];
  ignoreChanges?: string[];
  deleteBeforeReplace?: boolean;
  replaceOnChanges?: string[];
  protect?: boolean;
  /** The mock's id: where it appears in another resource's inputs, that one uses this one. */
  id?: string;
}

export type ChangeOp = "update" | "stop" | "replace";

export interface PathChange {
  path: string;
  old?: unknown;
  new?: unknown;
  /** A secret: changed, value not shown. */
  secret?: boolean;
  /** The provider rule that makes this change a replacement. */
  replaces?: string;
  /** The provider rule that makes this update stop the instance. */
  stops?: string;
  /** The name of a replaced resource whose new id this input takes. */
  newIdOf?: string;
}

export interface ResourceChange {
  urn: string;
  type: string;
  op: ChangeOp;
  /** Changed paths that count (ignored ones left out); a secret as `path (secret)`. */
  paths: string[];
  changes: PathChange[];
  /** Changed paths `ignoreChanges` keeps from being applied. */
  ignored: string[];
  /** Why a replacement must delete the old resource first (fixed address, option). */
  deleteFirst?: string;
  /** The old URN, when an alias matched it. */
  from?: string;
}

export interface PlanDiff {
  added: string[];
  removed: string[];
  changed: ResourceChange[];
  /** Resources whose only changes are ignored (ignoreChanges): no change. */
  ignoredOnly: { urn: string; type: string; paths: string[] }[];
  /** Renames an alias covers: no delete, no create. */
  renamed: { from: string; to: string }[];
  /** A deleted and a created resource that look like one renamed without an alias: a replacement. */
  unaliased: { from: string; to: string; type: string }[];
  /** Resources in both plans with no change that counts. */
  unchanged: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A map key as a path segment: `labels["app.kubernetes.io/version"]` when it holds a dot. */
function keyPath(path: string, k: string): string {
  if (/^[A-Za-z0-9_:$-]+$/.test(k)) return path ? `${path}.${k}` : k;
  return `${path}[${JSON.stringify(k)}]`;
}

/** Leaves under which `a` and `b` differ, with both values. */
export function changedLeaves(a: unknown, b: unknown, path = ""): PathChange[] {
  if (a === b) return [];
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: PathChange[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...changedLeaves(a[i], b[i], `${path}[${i}]`));
    return out;
  }
  if (isObj(a) && isObj(b)) {
    const out: PathChange[] = [];
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) out.push(...changedLeaves(a[k], b[k], keyPath(path, k)));
    return out;
  }
  return [{ path: path || "(value)", old: a, new: b }];
}

/** Paths under which `a` and `b` differ, e.g. ["userData", "tags.platform:pool", "securityGroups[1]"]. */
export function changedPaths(a: unknown, b: unknown, path = ""): string[] {
  return changedLeaves(a, b, path).map((c) => c.path);
}

export const typeOfUrn = (urn: string) => urn.split("::")[2]?.split("$").pop() ?? "";
export const nameOfUrn = (urn: string) => urn.split("::").slice(3).join("::");

/** `-2` before `-10`: names compared with their numbers as numbers. */
export const naturalCompare = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true });

/** The URN the SDK's mock monitor (and the engine) gives `type`/`name` under `parent`. */
function urnOf(stack: string, project: string, parent: string | undefined, type: string, name: string): string {
  const qualified = parent ? `${typeOfUrn(parent)}$${type}` : type;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

interface AliasSpec {
  urn?: string;
  spec?: { name?: string; type?: string; stack?: string; project?: string; parenturn?: string; noparent?: boolean };
}

/** Old URNs a resource may have had: its aliases, and its own URN under each of its parent's old URNs. */
function oldUrns(r: DiffableResource, byUrn: Map<string, DiffableResource>, memo: Map<string, string[]>): string[] {
  const hit = memo.get(r.urn);
  if (hit) return hit;
  memo.set(r.urn, []);
  const m = r.urn.match(/^urn:pulumi:([^:]*)::([^:]*)::/);
  const stack = m?.[1] ?? "";
  const project = m?.[2] ?? "";
  const type = r.type ?? typeOfUrn(r.urn);
  const name = nameOfUrn(r.urn);
  const parent = r.parent ?? undefined;
  const out: string[] = [];
  const parentOld = parent && byUrn.has(parent) ? oldUrns(byUrn.get(parent)!, byUrn, memo) : [];
  for (const p of parentOld) out.push(urnOf(stack, project, p, type, name));
  for (const a of (r.aliases ?? []) as AliasSpec[]) {
    if (a.urn) {
      out.push(a.urn);
      continue;
    }
    const s = a.spec ?? {};
    const parents = s.noparent ? [undefined] : s.parenturn ? [s.parenturn] : [parent, ...parentOld];
    for (const p of parents) out.push(urnOf(s.stack || stack, s.project || project, p, s.type || type, s.name || name));
  }
  const unique = [...new Set(out)].filter((u) => u !== r.urn);
  memo.set(r.urn, unique);
  return unique;
}

const MASK = "[secret]";

/** The changes between two versions of one resource, before following replaced ids. */
function compare(o: DiffableResource, r: DiffableResource, sameIds: Map<string, string>): { counted: PathChange[]; ignored: string[] } {
  const type = r.type ?? typeOfUrn(r.urn);
  // An aliased resource keeps its cloud id; the mock names ids after the new name.
  const leaves = changedLeaves(o.inputs, r.inputs).filter(
    // (Only an id the map knows: a new string input with no old value is a change, e.g. a ForceNew id set for the first time.)
    (c) => !(c.old === MASK && c.new === MASK) && !(typeof c.new === "string" && sameIds.has(c.new) && sameIds.get(c.new) === c.old),
  );
  for (const p of changedPaths(o.secretDigests ?? {}, r.secretDigests ?? {})) {
    if (!leaves.some((l) => l.path === p)) leaves.push({ path: p, secret: true });
    else leaves.find((l) => l.path === p)!.secret = true;
  }
  const counted: PathChange[] = [];
  const ignored: string[] = [];
  for (const c of leaves) {
    if ((r.ignoreChanges ?? []).some((i) => pathUnder(c.path, i))) ignored.push(c.secret ? `${c.path} (secret)` : c.path);
    else
      counted.push({
        ...c,
        replaces: c.secret ? secretReplaceRule(type, c.path, r.replaceOnChanges) : replaceRule(type, c.path, r.replaceOnChanges),
        stops: stopRule(type, c.path),
      });
  }
  return { counted, ignored };
}

function opOf(changes: PathChange[]): ChangeOp {
  if (changes.some((c) => c.replaces)) return "replace";
  return changes.some((c) => c.stops) ? "stop" : "update";
}

/** Why a replacement must delete first: the option, or a fixed private address the new one takes too. */
function deleteFirstReason(r: DiffableResource): string | undefined {
  for (const p of semanticsFor(r.type ?? typeOfUrn(r.urn))?.fixedAddress ?? []) {
    const v = r.inputs[p];
    if (typeof v === "string" && v) {
      const why = `fixed address ${v}: a new one cannot take it while the old one exists`;
      return r.deleteBeforeReplace ? `deleteBeforeReplace, ${why}` : `${why}; the program does not set deleteBeforeReplace, so \`pulumi up\` would fail`;
    }
  }
  return r.deleteBeforeReplace ? "deleteBeforeReplace" : undefined;
}

/** Paths of `inputs` whose value is exactly one of `ids`. */
function idUses(inputs: unknown, ids: Map<string, string>, path = "", out: { path: string; id: string }[] = []) {
  if (typeof inputs === "string") {
    if (ids.has(inputs)) out.push({ path: path || "(value)", id: inputs });
  } else if (Array.isArray(inputs)) inputs.forEach((v, i) => idUses(v, ids, `${path}[${i}]`, out));
  else if (isObj(inputs)) for (const [k, v] of Object.entries(inputs)) idUses(v, ids, keyPath(path, k), out);
  return out;
}

/** A created and a deleted resource of one type under one parent whose inputs differ only by their name. */
function looksRenamed(o: DiffableResource, r: DiffableResource): boolean {
  if ((o.type ?? typeOfUrn(o.urn)) !== (r.type ?? typeOfUrn(r.urn)) || (o.parent ?? null) !== (r.parent ?? null)) return false;
  const oldName = nameOfUrn(o.urn);
  const newName = nameOfUrn(r.urn);
  const diffs = changedLeaves(o.inputs, r.inputs).filter(
    (c) => !(typeof c.old === "string" && typeof c.new === "string" && c.old.includes(oldName) && c.new.includes(newName)),
  );
  return diffs.length <= 2 && Object.keys(r.inputs).length > diffs.length;
}

export function diffPlans(before: DiffableResource[], after: DiffableResource[]): PlanDiff {
  const old = new Map(before.map((r) => [r.urn, r]));
  const now = new Map(after.map((r) => [r.urn, r]));
  const memo = new Map<string, string[]>();
  const pairs: [DiffableResource, DiffableResource][] = [];
  const matchedOld = new Set<string>();
  const renamed: PlanDiff["renamed"] = [];
  const added: DiffableResource[] = [];
  for (const r of after) {
    const o =
      old.get(r.urn) ??
      oldUrns(r, now, memo)
        .map((u) => (!now.has(u) && !matchedOld.has(u) ? old.get(u) : undefined))
        .find(Boolean);
    if (!o) {
      added.push(r);
      continue;
    }
    matchedOld.add(o.urn);
    if (o.urn !== r.urn) renamed.push({ from: o.urn, to: r.urn });
    pairs.push([o, r]);
  }
  let removed = before.filter((r) => !matchedOld.has(r.urn));
  // Renamed without an alias: the engine deletes one and creates the other.
  const unaliased: PlanDiff["unaliased"] = [];
  for (const r of [...added]) {
    const o = removed.find((x) => looksRenamed(x, r));
    if (!o) continue;
    unaliased.push({ from: o.urn, to: r.urn, type: r.type ?? typeOfUrn(r.urn) });
    removed = removed.filter((x) => x !== o);
    added.splice(added.indexOf(r), 1);
  }

  const state = new Map<string, { o: DiffableResource; r: DiffableResource; counted: PathChange[]; ignored: string[] }>();
  const sameIds = new Map<string, string>();
  for (const [o, r] of pairs) if (o.urn !== r.urn && o.id && r.id && o.id !== r.id) sameIds.set(r.id, o.id);
  for (const [o, r] of pairs) state.set(r.urn, { o, r, ...compare(o, r, sameIds) });
  // A replaced resource gets a new id: every input holding its old id changes too (and may replace in turn).
  const replacedIds = new Map<string, string>();
  const noteReplaced = (o: DiffableResource) => {
    if (o.id && o.id.length >= 8 && o.id !== "none") replacedIds.set(o.id, nameOfUrn(o.urn));
  };
  for (const s of state.values()) if (opOf(s.counted) === "replace") noteReplaced(s.o);
  for (const u of unaliased) noteReplaced(old.get(u.from)!);
  for (let round = 0, grew = replacedIds.size > 0; grew && round < 20; round++) {
    grew = false;
    for (const s of state.values()) {
      const wasReplaced = opOf(s.counted) === "replace";
      for (const use of idUses(s.r.inputs, replacedIds)) {
        if (s.counted.some((c) => c.path === use.path) || s.ignored.includes(use.path)) continue;
        const type = s.r.type ?? typeOfUrn(s.r.urn);
        const c: PathChange = { path: use.path, old: use.id, newIdOf: replacedIds.get(use.id) };
        if ((s.r.ignoreChanges ?? []).some((i) => pathUnder(use.path, i))) s.ignored.push(use.path);
        else s.counted.push({ ...c, replaces: replaceRule(type, use.path, s.r.replaceOnChanges), stops: stopRule(type, use.path) });
      }
      if (!wasReplaced && opOf(s.counted) === "replace" && s.o.id && !replacedIds.has(s.o.id)) {
        noteReplaced(s.o);
        grew = true;
      }
    }
  }

  const changed: ResourceChange[] = [];
  const ignoredOnly: PlanDiff["ignoredOnly"] = [];
  let unchanged = 0;
  for (const { o, r, counted, ignored } of state.values()) {
    const type = r.type ?? typeOfUrn(r.urn);
    if (counted.length === 0) {
      unchanged++;
      if (ignored.length) ignoredOnly.push({ urn: r.urn, type, paths: ignored });
      continue;
    }
    counted.sort((a, b) => naturalCompare(a.path, b.path));
    const op = opOf(counted);
    changed.push({
      urn: r.urn,
      type,
      op,
      paths: counted.map((c) => (c.secret ? `${c.path} (secret)` : c.path)),
      changes: counted,
      ignored,
      ...(op === "replace" && deleteFirstReason(r) ? { deleteFirst: deleteFirstReason(r) } : {}),
      ...(o.urn !== r.urn ? { from: o.urn } : {}),
    });
  }
  const byUrn = (a: { urn: string }, b: { urn: string }) => naturalCompare(a.urn, b.urn);
  return {
    added: added.map((r) => r.urn).sort(naturalCompare),
    removed: removed.map((r) => r.urn).sort(naturalCompare),
    changed: changed.sort(byUrn),
    ignoredOnly: ignoredOnly.sort(byUrn),
    renamed,
    unaliased: unaliased.sort((a, b) => naturalCompare(a.to, b.to)),
    unchanged,
  };
}

/** Counts a summary line (and the policies) agree on. */
export function diffCounts(d: PlanDiff): { create: number; update: number; stop: number; replace: number; delete: number; unchanged: number; ignored: number } {
  const n = (op: ChangeOp) => d.changed.filter((c) => c.op === op).length;
  return {
    create: d.added.length,
    update: n("update"),
    stop: n("stop"),
    replace: n("replace") + d.unaliased.length,
    delete: d.removed.length,
    unchanged: d.unchanged,
    ignored: d.ignoredOnly.length,
  };
}
