// The diff as a reviewer reads it: only what changes, most dangerous first
// (`+-` replace, `!` update that stops a VM, `~` update, `-` delete, `+` create),
// identical siblings on one line with a natural-sorted index range, values as
// old -> new (text values as a line diff of the changed lines with context, long
// one-line values around what changed; secrets as changed, never their value), a
// built cluster's new pod or service range named first, then one summary line and
// the instance delta by type.
import { ChangeOp, diffCounts, DiffableResource, nameOfUrn, naturalCompare, PathChange, PlanDiff, ResourceChange } from "./planDiff";
import { displayType } from "./preview";
import { semanticsFor } from "./providerSemantics";
import { CLUSTER_RANGES } from "../../policies/rules/changes";
import { CLUSTER_COMPONENT_TYPE } from "../../policies/rules/nodes";

const INSTANCE = "alicloud:ecs/instance:Instance";
type Op = ChangeOp | "create" | "delete";
const MARK: Record<Op, string> = { replace: "+-", stop: "! ", update: "~ ", delete: "- ", create: "+ " };
const ORDER: Op[] = ["replace", "stop", "update", "delete", "create"];

/** `prod1-general-20` -> ["prod1-general-", 20]; names without a trailing number stand alone. */
function stem(name: string): [string, number | undefined] {
  const m = name.match(/^(.*?)(\d+)$/);
  return m ? [m[1], Number(m[2])] : [name, undefined];
}

/** [20, 21, 22, 25] -> "20..22,25". */
export function ranges(ns: number[]): string {
  const s = [...new Set(ns)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    out.push(j > i ? `${s[i]}..${s[j]}` : `${s[i]}`);
    i = j + 1;
  }
  return out.join(",");
}

/** Names as one label: `prod1-general-[20..29]`, or the name itself. */
export function nameRange(names: string[]): string {
  if (names.length === 1) return names[0];
  const [prefix] = stem(names[0]);
  return `${prefix}[${ranges(names.map((n) => stem(n)[1]!))}]`;
}

function show(v: unknown): string {
  if (v === undefined) return "(none)";
  const s = JSON.stringify(v) ?? String(v);
  if (typeof v === "string" && v.includes("\n")) return `(${v.length} chars of text)`;
  return s.length > 72 ? `${s.slice(0, 69)}…` : s;
}

/** Lines of context around each changed line of a text value. */
const CONTEXT_LINES = 2;
/** At most this many lines of one value's line diff; the rest is counted. */
const MAX_DIFF_LINES = 40;
/** A shown line is cut here. */
const MAX_LINE_CHARS = 160;
/** Above this many cells (old lines x new lines, after the common start and end) the lines between are shown as all changed. */
const MAX_LCS_CELLS = 4_000_000;

const cut = (l: string) => (l.length > MAX_LINE_CHARS ? `${l.slice(0, MAX_LINE_CHARS - 1)}…` : l);

/** The edit script of two line lists: " " kept, "-" only in the old, "+" only in the new (longest common subsequence). */
function lineOps(a: string[], b: string[]): { op: " " | "-" | "+"; line: string; at: number }[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let end = 0;
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end++;
  const x = a.slice(start, a.length - end);
  const y = b.slice(start, b.length - end);
  const out: { op: " " | "-" | "+"; line: string; at: number }[] = a.slice(0, start).map((line, i) => ({ op: " ", line, at: i + 1 }));
  if (x.length * y.length > MAX_LCS_CELLS) {
    x.forEach((line, i) => out.push({ op: "-", line, at: start + i + 1 }));
    y.forEach((line) => out.push({ op: "+", line, at: 0 }));
  } else {
    // lcs[i][j]: the common subsequence length of x[i..] and y[j..].
    const lcs = Array.from({ length: x.length + 1 }, () => new Uint32Array(y.length + 1));
    for (let i = x.length - 1; i >= 0; i--)
      for (let j = y.length - 1; j >= 0; j--) lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    let i = 0;
    let j = 0;
    while (i < x.length || j < y.length) {
      if (i < x.length && j < y.length && x[i] === y[j]) {
        out.push({ op: " ", line: x[i], at: start + i + 1 });
        i++;
        j++;
      } else if (i < x.length && (j === y.length || lcs[i + 1][j] >= lcs[i][j + 1])) out.push({ op: "-", line: x[i], at: start + ++i });
      else out.push({ op: "+", line: y[j++], at: 0 });
    }
  }
  a.slice(a.length - end).forEach((line, k) => out.push({ op: " ", line, at: a.length - end + k + 1 }));
  return out;
}

/**
 * The changed lines of a text value with CONTEXT_LINES of context, as hunks headed by the
 * old line number (`@@ line 12 @@`), `- old` / `+ new` / `  same`; unrelated lines are left out.
 */
export function textDiff(oldText: string, newText: string, ops = lineOps(oldText.split("\n"), newText.split("\n"))): string[] {
  const keep = new Array<boolean>(ops.length).fill(false);
  ops.forEach((o, i) => {
    if (o.op === " ") return;
    for (let k = Math.max(0, i - CONTEXT_LINES); k <= Math.min(ops.length - 1, i + CONTEXT_LINES); k++) keep[k] = true;
  });
  const out: string[] = [];
  let shown = 0;
  let left = 0;
  for (let i = 0; i < ops.length; i++) {
    if (!keep[i]) continue;
    if (i === 0 || !keep[i - 1]) {
      // The old line number where the hunk starts (the next old line for a pure insert).
      const at = ops.slice(i).find((o) => o.at > 0)?.at ?? oldText.split("\n").length + 1;
      if (shown < MAX_DIFF_LINES) out.push(`@@ line ${at} @@`);
    }
    if (shown >= MAX_DIFF_LINES) {
      if (ops[i].op !== " ") left++;
      continue;
    }
    out.push(`${ops[i].op === " " ? " " : ops[i].op} ${cut(ops[i].line)}`);
    shown++;
  }
  if (left) out.push(`… ${left} more changed line(s) not shown`);
  return out;
}

/** A long one-line string: the part around what changed, old -> new. */
function middleOf(a: string, b: string): string {
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p]) p++;
  let q = 0;
  while (q < a.length - p && q < b.length - p && a[a.length - 1 - q] === b[b.length - 1 - q]) q++;
  const part = (s: string) => {
    const from = Math.max(0, p - 24);
    const to = Math.min(s.length, s.length - q + 24);
    return cut(`${from > 0 ? "…" : ""}${s.slice(from, to)}${to < s.length ? "…" : ""}`);
  };
  return `${JSON.stringify(part(a))} -> ${JSON.stringify(part(b))}`;
}

/** A built cluster's pod or service range, changed (the Cluster component's input): what the diff calls it. */
function isClusterRange(c: PathChange, type: string): boolean {
  return type === CLUSTER_COMPONENT_TYPE && c.path in CLUSTER_RANGES && c.old !== undefined && !c.secret;
}

function changeLines(c: PathChange, op: ChangeOp, type: string): string[] {
  const why = c.replaces
    ? "   [forces replacement]"
    : c.stops && op === "stop"
      ? "   [stops the instance]"
      : isClusterRange(c, type)
        ? `   [${CLUSTER_RANGES[c.path]}: a built cluster keeps its first range; only a new cluster can have another]`
        : "";
  if (c.secret) return [`${c.path}: (secret, changed; value not shown)${why}`];
  if (c.newIdOf) return [`${c.path}: ${show(c.old)} -> (new id of replaced ${c.newIdOf})${why}`];
  if (typeof c.old === "string" && typeof c.new === "string") {
    if (c.old.includes("\n") || c.new.includes("\n")) {
      const ops = lineOps(c.old.split("\n"), c.new.split("\n"));
      const n = (op: string) => ops.filter((o) => o.op === op).length;
      const head = `${c.path}: text, ${c.old.split("\n").length} -> ${c.new.split("\n").length} lines (-${n("-")} +${n("+")})${why}`;
      return [head, ...textDiff(c.old, c.new, ops).map((l) => `  ${l}`)];
    }
    if (JSON.stringify(c.old).length > 72 || JSON.stringify(c.new).length > 72) return [`${c.path}: ${middleOf(c.old, c.new)}${why}`];
  }
  return [`${c.path}: ${show(c.old)} -> ${show(c.new)}${why}`];
}

interface Row {
  op: Op;
  type: string;
  names: string[];
  urns: string[];
  detail: string;
  lines: string[];
}

/** Short zone label: `cn-shanghai-e` -> `e`. */
const zoneLabel = (z: unknown) => String(z).split("-").pop();

function zoneSpread(rs: DiffableResource[]): string {
  const zones = new Map<string, number>();
  for (const r of rs) zones.set(zoneLabel(r.inputs.availabilityZone)!, (zones.get(zoneLabel(r.inputs.availabilityZone)!) ?? 0) + 1);
  return [...zones]
    .sort((a, b) => naturalCompare(a[0], b[0]))
    .map(([z, n]) => `${z}:${n}`)
    .join(" ");
}

function groupBy<T>(items: T[], key: (t: T) => string): T[][] {
  const m = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    m.set(k, [...(m.get(k) ?? []), t]);
  }
  return [...m.values()];
}

/** A deleted or replaced ECS instance with deletion protection on cannot go until it is turned off. */
function protectionNote(rs: (DiffableResource | undefined)[]): string {
  return rs.some((r) => r?.inputs.deletionProtection === true) ? " (ECS deletion protection is on: the delete fails until it is turned off)" : "";
}

const get = (v: unknown, ...keys: string[]): unknown =>
  keys.reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), v);

/**
 * What a reviewer checks first on a created resource, from its inputs: a workload's images and replicas, a
 * canary Ingress's weight, an autoscaler's range, a chart and its version. Empty for other kinds.
 */
export function keyInputs(r: DiffableResource): string {
  const type = r.type ?? "";
  const i = r.inputs;
  const out: string[] = [];
  if (/^kubernetes:apps\/v1:(Deployment|StatefulSet|DaemonSet)$/.test(type)) {
    const containers = get(i, "spec", "template", "spec", "containers");
    const images = Array.isArray(containers) ? containers.map((c) => get(c, "image")).filter((x): x is string => typeof x === "string") : [];
    if (images.length) out.push(`image ${images.join(", ")}`);
    const replicas = get(i, "spec", "replicas");
    if (typeof replicas === "number") out.push(`replicas ${replicas}`);
  } else if (type === "kubernetes:networking.k8s.io/v1:Ingress") {
    const a = get(i, "metadata", "annotations") as Record<string, unknown> | undefined;
    if (a?.["nginx.ingress.kubernetes.io/canary"] === "true") out.push(`canary weight ${String(a["nginx.ingress.kubernetes.io/canary-weight"] ?? "?")}%`);
    const rules = get(i, "spec", "rules");
    if (Array.isArray(rules)) {
      const hosts = rules.map((x) => get(x, "host")).filter((x): x is string => typeof x === "string");
      if (hosts.length) out.push(`host ${hosts.join(", ")}`);
    }
  } else if (/^kubernetes:autoscaling\/v2:HorizontalPodAutoscaler$/.test(type)) {
    out.push(`replicas ${String(get(i, "spec", "minReplicas") ?? 1)}..${String(get(i, "spec", "maxReplicas"))}`);
  } else if (type === "kubernetes:helm.sh/v3:Release") {
    out.push(`chart ${String(i.chart)} ${String(i.version ?? "")}`.trim());
  }
  return out.join(", ");
}

function createOrDeleteRows(op: "create" | "delete", urns: string[], index: Map<string, DiffableResource>): Row[] {
  const items = urns.map((u) => ({ urn: u, r: index.get(u), name: nameOfUrn(u) }));
  const groups = groupBy(
    items,
    (i) =>
      `${i.r?.type ?? ""}|${i.r?.parent ?? ""}|${stem(i.name)[0]}|${stem(i.name)[1] === undefined ? i.name : ""}|${i.r?.type === INSTANCE ? i.r.inputs.instanceType : ""}|${op === "create" && i.r ? keyInputs(i.r) : ""}`,
  );
  return groups.map((g) => {
    const type = g[0].r?.type ?? urns[0].split("::")[2].split("$").pop()!;
    const rs = g.map((i) => i.r).filter((r): r is DiffableResource => !!r);
    let detail = type === INSTANCE && rs.length ? `${rs[0].inputs.instanceType}, zone${rs.length > 1 ? "s" : ""} ${zoneSpread(rs)}` : "";
    if (op === "delete" && type === INSTANCE) detail += protectionNote(rs);
    if (op === "create" && type !== INSTANCE && rs.length) detail = keyInputs(rs[0]);
    return { op, type, names: g.map((i) => i.name).sort(naturalCompare), urns: g.map((i) => i.urn), detail, lines: [] };
  });
}

function changeRows(changed: ResourceChange[], index: Map<string, DiffableResource>): Row[] {
  const groups = groupBy(changed, (c) => {
    const name = nameOfUrn(c.urn);
    return [
      c.op,
      c.type,
      index.get(c.urn)?.parent ?? "",
      stem(name)[1] === undefined ? name : stem(name)[0],
      c.paths.join(","),
      c.deleteFirst ? "df" : "",
    ].join("|");
  });
  return groups.map((g) => {
    const first = g[0];
    const line = (c: PathChange) => changeLines(c, first.op, first.type);
    const lines = first.changes.flatMap(line);
    const same = g.every((c) => c.changes.flatMap(line).join("\n") === lines.join("\n"));
    const shown = same ? lines : [...lines.map((l) => `${l}`), `(values differ per resource; shown: ${nameOfUrn(first.urn)})`];
    const replace = first.op === "replace";
    const source = replace ? semanticsFor(first.type)?.source : undefined;
    const detail = [
      replace ? `replace${first.deleteFirst ? `, delete first (${first.deleteFirst})` : ""}` : first.op === "stop" ? "update, stops the instance" : "update",
      first.from ? `(renamed from ${nameOfUrn(first.from)} by its alias)` : "",
      replace && first.type === INSTANCE ? protectionNote(g.map((c) => index.get(c.urn))).trim() : "",
    ]
      .filter(Boolean)
      .join(" ");
    if (source) shown.push(`forced by: ${source}`);
    return { op: first.op, type: first.type, names: g.map((c) => nameOfUrn(c.urn)).sort(naturalCompare), urns: g.map((c) => c.urn), detail, lines: shown };
  });
}

function renderRow(r: Row): string[] {
  const count = r.names.length > 1 ? `${r.names.length} x ` : "";
  const head = `  ${MARK[r.op]} ${count}${displayType(r.type)} ${nameRange(r.names)}${r.detail ? `  ${r.detail}` : ""}`;
  return [head, ...r.lines.map((l) => `        ${l}`)];
}

export interface DiffContext {
  before?: DiffableResource[];
  after?: DiffableResource[];
}

/** Instance counts by type, old -> new: the cost driver. Empty when no instance is created, deleted or retyped. */
export function instanceDelta(before: DiffableResource[], after: DiffableResource[]): string[] {
  const count = (rs: DiffableResource[]) => {
    const m = new Map<string, number>();
    for (const r of rs) if (r.type === INSTANCE) m.set(String(r.inputs.instanceType), (m.get(String(r.inputs.instanceType)) ?? 0) + 1);
    return m;
  };
  const a = count(before);
  const b = count(after);
  const out: string[] = [];
  for (const t of [...new Set([...a.keys(), ...b.keys()])].sort(naturalCompare)) {
    const d = (b.get(t) ?? 0) - (a.get(t) ?? 0);
    if (d !== 0) out.push(`${t} ${a.get(t) ?? 0} -> ${b.get(t) ?? 0} (${d > 0 ? "+" : ""}${d})`);
  }
  return out;
}

/** At most this many distinct dependsOn changes are shown, and this many names in each part of one; the rest are counted. */
const MAX_DEPENDS_GROUPS = 5;
const MAX_DEPENDS_NAMES = 3;

/**
 * Resources in both plans whose dependsOn changed (explicit and input dependencies: the order `pulumi up` creates,
 * updates and deletes in, which a diff of inputs does not show): one count line, then one line per distinct change,
 * most resources first, as `dependsOn -cut +added: N x names`.
 */
export function dependsOnLines(before: DiffableResource[], after: DiffableResource[]): string[] {
  const old = new Map(before.map((r) => [r.urn, new Set(r.dependsOn ?? [])]));
  const changes: { r: DiffableResource; cut: string[]; added: string[] }[] = [];
  for (const r of after) {
    const o = old.get(r.urn);
    if (!o) continue;
    const n = new Set(r.dependsOn ?? []);
    const cut = [...o]
      .filter((u) => !n.has(u))
      .map(nameOfUrn)
      .sort(naturalCompare);
    const added = [...n]
      .filter((u) => !o.has(u))
      .map(nameOfUrn)
      .sort(naturalCompare);
    if (cut.length || added.length) changes.push({ r, cut, added });
  }
  if (!changes.length) return [];
  const side = (sign: string, ns: string[]) => [
    ...ns.slice(0, MAX_DEPENDS_NAMES).map((n) => `${sign}${n}`),
    ...(ns.length > MAX_DEPENDS_NAMES ? [`${sign}${ns.length - MAX_DEPENDS_NAMES} more`] : []),
  ];
  // One line per distinct change (a dependency cut from many resources is one line), the first names, siblings as a range.
  const groups = groupBy(changes, (c) => `${c.cut.join(",")}|${c.added.join(",")}`).sort((a, b) => b.length - a.length);
  const lines = [`  ${changes.length} resource(s) changed dependsOn (the order \`pulumi up\` works in; not an update by itself):`];
  for (const g of groups.slice(0, MAX_DEPENDS_GROUPS)) {
    const labels = groupBy(g.map((c) => nameOfUrn(c.r.urn)).sort(naturalCompare), (n) => (stem(n)[1] === undefined ? n : stem(n)[0])).map(nameRange);
    const shown = labels.slice(0, MAX_DEPENDS_NAMES).join(", ") + (labels.length > MAX_DEPENDS_NAMES ? `, ${labels.length - MAX_DEPENDS_NAMES} more` : "");
    lines.push(cut(`     dependsOn ${[...side("-", g[0].cut), ...side("+", g[0].added)].join(" ")}: ${g.length} x ${shown}`));
  }
  if (groups.length > MAX_DEPENDS_GROUPS) lines.push(`     … ${groups.length - MAX_DEPENDS_GROUPS} more distinct change(s)`);
  return lines;
}

/** `+10 to create, ~0 to update, ...; 251 unchanged`: the one summary line. */
export function summaryLine(d: PlanDiff): string {
  const n = diffCounts(d);
  const parts = [
    `${n.create} to create`,
    `${n.update} to update`,
    `${n.stop} to update with the instance stopped`,
    `${n.replace} to replace`,
    `${n.delete} to delete`,
  ];
  return `Plan: ${parts.join(", ")}; ${n.unchanged} unchanged${n.ignored ? ` (${n.ignored} with changes ignored by ignoreChanges)` : ""}`;
}

export function formatDiff(d: PlanDiff, ctx: DiffContext = {}): string {
  const index = new Map<string, DiffableResource>();
  for (const r of ctx.before ?? []) index.set(r.urn, r);
  for (const r of ctx.after ?? []) index.set(r.urn, r);
  const rows: Row[] = [...changeRows(d.changed, index), ...createOrDeleteRows("delete", d.removed, index), ...createOrDeleteRows("create", d.added, index)];
  for (const u of d.unaliased) {
    rows.push({
      op: "replace",
      type: u.type,
      names: [nameOfUrn(u.to)],
      urns: [u.to],
      detail: `replace: renamed from ${nameOfUrn(u.from)} without an alias (delete + create)`,
      lines: [`keep it: add \`aliases: [{ name: "${nameOfUrn(u.from)}" }]\` to its resource options`],
    });
  }
  rows.sort((a, b) => ORDER.indexOf(a.op) - ORDER.indexOf(b.op) || naturalCompare(a.urns[0], b.urns[0]));
  const lines = rows.flatMap(renderRow);
  const replaced = d.changed.filter((c) => c.op === "replace");
  const masters = replaced.filter((c) => /-master-\d+$/.test(c.urn)).length;
  if (replaced.length) {
    lines.unshift(
      `  REPLACES ${replaced.length} resource(s)${masters ? `, ${masters} of them master(s)` : ""}: each is deleted and created again, with a new id.`,
    );
  }
  for (const c of d.changed)
    for (const x of c.changes.filter((x) => isClusterRange(x, c.type))) {
      lines.unshift(
        `  NEEDS A NEW CLUSTER: ${CLUSTER_RANGES[x.path]} ${show(x.old)} -> ${show(x.new)}. A built cluster keeps the range kubeadm gave it at first boot; ` +
          "the changes below would not move it (safe-changes says what to do).",
      );
    }
  if (d.ignoredOnly.length) {
    lines.push("  Ignored (ignoreChanges: `pulumi up` leaves these inputs as they are; not counted):");
    for (const g of groupBy(d.ignoredOnly, (i) => `${i.type}|${i.paths.join(",")}`)) {
      const names = g.map((i) => nameOfUrn(i.urn)).sort(naturalCompare);
      const label = groupBy(names, (n) => stem(n)[0])
        .map((ns) => nameRange(ns))
        .join(", ");
      lines.push(`     ${g.length} x ${displayType(g[0].type)} ${label}: ${g[0].paths.join(", ")}`);
    }
  }
  if (d.renamed.length)
    lines.push(`  ${d.renamed.length} renamed by an alias (no change): ${d.renamed.map((r) => `${nameOfUrn(r.from)} -> ${nameOfUrn(r.to)}`).join(", ")}`);
  if (ctx.before && ctx.after) lines.push(...dependsOnLines(ctx.before, ctx.after));
  if (!lines.length) lines.push("  no changes");
  lines.push(summaryLine(d));
  if (ctx.before && ctx.after) {
    const delta = instanceDelta(ctx.before, ctx.after);
    if (delta.length) lines.push(`Instances by type: ${delta.join(", ")}`);
  }
  return lines.join("\n");
}
