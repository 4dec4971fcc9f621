// The edit of a block list (an app's `history:`) as line splices: entries the
// new list drops are removed line by line, new ones are inserted as lines of
// the same indentation, and every other line (comments, blank lines, an
// entry's end-of-line comment) stays where it was.
import * as YAML from "yaml";

export interface Splice {
  start: number;
  end: number;
  text: string;
}

interface ItemLine {
  /** "        - ": the indentation and dash of the entry's line. */
  prefix: string;
  lineStart: number;
  lineEnd: number;
}

function itemLine(text: string, node: unknown): ItemLine | undefined {
  if (!YAML.isScalar(node) || !node.range) return undefined;
  const [start, end] = node.range;
  const lineStart = text.lastIndexOf("\n", start - 1) + 1;
  const prefix = text.slice(lineStart, start);
  if (!/^ *- $/.test(prefix)) return undefined;
  const nl = text.indexOf("\n", end);
  const lineEnd = nl < 0 ? text.length : nl + 1;
  // After the value only an end-of-line comment: the entry owns its line.
  if (!/^[ \t]*(#[^\n]*)?\r?\n?$/.test(text.slice(end, lineEnd))) return undefined;
  return { prefix, lineStart, lineEnd };
}

/** A new entry goes above the comment lines right over the entry it precedes: they belong to that entry. */
function aboveComments(text: string, lineStart: number): number {
  let pos = lineStart;
  while (pos > 0) {
    const prev = text.lastIndexOf("\n", pos - 2) + 1;
    if (!/^[ \t]*#/.test(text.slice(prev, pos))) break;
    pos = prev;
  }
  return pos;
}

/**
 * Splices that turn the block list `seq` (entries `old`, each on its own
 * line) into `next`. Entries of `old` that `next` keeps in order stay on
 * their lines (release and rollback only add at the top and drop entries).
 * Undefined when the list is not laid out one entry per line. The caller
 * checks the result parses to `next`.
 */
export function blockListSplices(
  text: string,
  seq: YAML.YAMLSeq,
  old: readonly string[],
  next: readonly string[],
  render: (t: string) => string,
  eol: string,
): Splice[] | undefined {
  if (seq.flow || seq.items.length === 0 || seq.items.length !== old.length || next.length === 0) return undefined;
  const lines = seq.items.map((n) => itemLine(text, n));
  if (lines.some((l) => l === undefined)) return undefined;
  const at = lines as ItemLine[];
  const out: Splice[] = [];
  const remove = (i: number) => out.push({ start: at[i].lineStart, end: at[i].lineEnd, text: "" });
  let pending: string[] = [];
  const flush = (j: number) => {
    if (pending.length === 0) return;
    const pos = j < at.length ? aboveComments(text, at[j].lineStart) : at[at.length - 1].lineEnd;
    const lead = pos === text.length && !text.endsWith("\n") ? eol : "";
    out.push({ start: pos, end: pos, text: lead + pending.map((t) => `${at[Math.min(j, at.length - 1)].prefix}${render(t)}${eol}`).join("") });
    pending = [];
  };
  let j = 0;
  for (const t of next) {
    const idx = old.indexOf(t, j);
    if (idx < 0) {
      pending.push(t);
      continue;
    }
    flush(j);
    for (let k = j; k < idx; k++) remove(k);
    j = idx + 1;
  }
  flush(j);
  for (let k = j; k < old.length; k++) remove(k);
  return out;
}
