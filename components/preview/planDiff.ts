// What a change does to a stack, by URN: resources added, removed, and changed
// (with the input paths that differ). The offline answer to "what does this PR do".

/** The part of a planned resource a diff looks at (plan.json's resources have it too). */
export interface DiffableResource {
  urn: string;
  inputs: Record<string, unknown>;
  dependsOn?: string[];
  /** Digests of secret inputs: a changed secret shows as a changed path. */
  secretDigests?: Record<string, string>;
}

export interface PlanDiff {
  added: string[];
  removed: string[];
  changed: { urn: string; paths: string[] }[];
}

/** Paths under which `a` and `b` differ, e.g. ["userData", "tags.platform:pool", "securityGroups[1]"]. */
export function changedPaths(a: unknown, b: unknown, path = ""): string[] {
  if (a === b) return [];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...changedPaths(a[i], b[i], `${path}[${i}]`));
    return out;
  }
  if (isObj(a) && isObj(b) && !Array.isArray(a) && !Array.isArray(b)) {
    const out: string[] = [];
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      out.push(...changedPaths(a[k], b[k], path ? `${path}.${k}` : k));
    }
    return out;
  }
  return [path || "(value)"];
}

export function diffPlans(before: DiffableResource[], after: DiffableResource[]): PlanDiff {
  const old = new Map(before.map((r) => [r.urn, r]));
  const now = new Map(after.map((r) => [r.urn, r]));
  const added = after.filter((r) => !old.has(r.urn)).map((r) => r.urn);
  const removed = before.filter((r) => !now.has(r.urn)).map((r) => r.urn);
  const changed: PlanDiff["changed"] = [];
  for (const r of after) {
    const o = old.get(r.urn);
    if (!o) continue;
    const paths = [
      ...changedPaths(o.inputs, r.inputs).filter((p) => !(r.secretDigests && p in r.secretDigests)),
      ...changedPaths(o.secretDigests ?? {}, r.secretDigests ?? {}).map((p) => `${p} (secret)`),
    ];
    if (paths.length) changed.push({ urn: r.urn, paths });
  }
  return { added: added.sort(), removed: removed.sort(), changed: changed.sort((a, b) => a.urn.localeCompare(b.urn)) };
}

export function formatDiff(d: PlanDiff): string {
  const lines: string[] = [];
  for (const u of d.added) lines.push(`  + ${u}`);
  for (const c of d.changed) lines.push(`  ~ ${c.urn}\n      changed: ${c.paths.join(", ")}`);
  for (const u of d.removed) lines.push(`  - ${u}`);
  lines.push(`${d.added.length} to add, ${d.changed.length} to change, ${d.removed.length} to remove`);
  return lines.join("\n");
}
