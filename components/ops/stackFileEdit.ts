// The one engine that edits Pulumi.<stack>.yaml (release, promote, rollback,
// promote-canary, scale-in --apply). The yaml Document locates the nodes; the new
// values are spliced into the original text at the ranges it reports, rendered by
// yaml's own stringifier in the quoting the value had; the result must parse to
// exactly the Document API's edit of the same values, or nothing is written. So
// every byte outside the edited values stays as it was: comments, blank lines,
// order, anchors, CRLF, flow or block style. Why not write with the yaml package
// itself: Document.toString() re-spaces end-of-line comments and flow collections
// on untouched lines, and its CST keeps bytes for a scalar (CST.setScalarValue)
// but has no operation to add or drop a line: a first item's indent and the
// comments above it belong to the parent's tokens (measured with yaml 2.9.1).
// Lists of tags are edited a line per entry: an entry owns its line (and the
// comment lines right above it), so the other lines stay. Lines an edit removes
// (a deleted key's block, a dropped entry) give up their values, never their
// comments: each comment on them stays, on a line of its own in their place at the
// removed key's or entry's indentation, just above the next surviving line. A
// comment inside a value that would be rewritten whole is refused, never dropped.
import { isDeepStrictEqual } from "util";
import * as YAML from "yaml";

/** A step into the document: a map key, or the item of a list whose `name` is this. */
export type EditPath = (string | { name: string })[];
/** A scalar, a list of strings, or (a new key only) a map, e.g. a new app's settings, written in block style. */
type Value = string | number | readonly string[] | { readonly [k: string]: unknown };
interface Splice {
  start: number;
  end: number;
  text: string;
}

/** Refuses an anchored (`&a`, shared with its aliases) or aliased (`*a`, another node's value) node: an edit would reach more than `key`. */
export function refuseShared(n: unknown, key: string): void {
  if (YAML.isAlias(n)) throw new Error(`${key}: is an alias (*${n.source}) of another value; edit it by hand`);
  const anchor = (n as { anchor?: string } | undefined)?.anchor;
  if (anchor) throw new Error(`${key}: has an anchor (&${anchor}) other values may alias; edit it by hand`);
  if (YAML.isSeq(n)) n.items.forEach((item, i) => refuseShared(item, `${key}[${i}]`));
}

/** Edits of one stack file's text; `result()` gives the checked new text. */
export class StackFileEdit {
  readonly doc: YAML.Document.Parsed;
  private readonly expected: YAML.Document;
  private readonly splices: Splice[] = [];
  private readonly eol: string;
  private readonly comments: number[] = [];

  /** `name` (the file name) prefixes the parse error. */
  constructor(
    readonly text: string,
    name: string,
  ) {
    this.doc = YAML.parseDocument(text, { merge: true });
    const err = this.doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      throw new Error(
        `${name}${pos ? `:${pos.line}:${pos.col}` : ""}: not valid YAML: ${err.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")}`,
      );
    }
    this.expected = this.doc.clone();
    this.eol = text.includes("\r\n") ? "\r\n" : "\n";
    const walk = (t: unknown): void => {
      if (Array.isArray(t)) t.forEach(walk);
      else if (t && typeof t === "object") {
        const tok = t as { type?: string; offset?: number };
        if (tok.type === "comment") this.comments.push(tok.offset!);
        else Object.values(t).forEach(walk);
      }
    };
    walk([...new YAML.Parser().parse(text)]);
  }

  /** Sets the scalar, or the list of strings, at `p` (`key` names it in messages); a missing key is added after the key `after`, else first in its map. */
  set(p: EditPath, value: Value, key: string, after?: string): void {
    const at = this.resolve(p);
    const k = at[at.length - 1];
    const map = this.doc.getIn(at.slice(0, -1), true);
    const pair = YAML.isMap(map) ? pairOf(map, k) : undefined;
    if (!YAML.isMap(map) || (!pair && map.flow)) throw new Error(`${key}: its map is not a block map in the file; edit it by hand`);
    this.expected.setIn(at, value);
    if (!pair) return this.add(map, String(k), value, key, after);
    if (isMapValue(value)) throw new Error(`${key}: already set; a map is only written as a new key`);
    const v = pair.value as YAML.Node | null;
    refuseShared(v, key);
    if (typeof value !== "object" && YAML.isScalar(v) && v.range && v.range[0] < v.range[1]) {
      return this.splice(v.range[0], v.range[1], literal(value, v.type), key);
    }
    if (typeof value !== "object" && v !== null && !(YAML.isScalar(v) && v.value === null))
      throw new Error(`${key}: ${at.join(".")} is not a plain value in the file`);
    const [keyEnd, valueEnd] = this.pairRange(pair, key);
    if (typeof value !== "object") return this.splice(keyEnd, valueEnd, `: ${literal(value)}`, key);
    const old = YAML.isSeq(v) ? v.items.map((i) => (YAML.isScalar(i) ? i.value : undefined)) : [];
    if (YAML.isSeq(v) && !v.flow && this.lineEdits(v, old, value, keyEnd, key)) return;
    // Rewritten whole: a flow list with items stays flow; [] (or no value) becomes a block list.
    const indent = YAML.isSeq(v) && !v.flow && v.range ? this.indentOf(v.range[0], key) : `${this.indentOf((pair.key as YAML.Scalar).range![0], key)}  `;
    const tail = this.text.slice(keyEnd, valueEnd).endsWith("\n") ? this.eol : "";
    const body =
      value.length === 0 || (YAML.isSeq(v) && v.flow && v.items.length > 0)
        ? ` [${value.map((t) => literal(t)).join(", ")}]`
        : value.map((t) => `${this.eol}${indent}- ${literal(t)}`).join("");
    this.splice(keyEnd, valueEnd, `:${body}${tail}`, key);
  }

  /** Removes the key at `p` with the lines its value spans; their comments stay in their place (see `dropLines`). */
  delete(p: EditPath, key: string): void {
    const at = this.resolve(p);
    const map = this.doc.getIn(at.slice(0, -1), true);
    const pair = YAML.isMap(map) ? pairOf(map, at[at.length - 1]) : undefined;
    if (!pair) return;
    if ((map as YAML.YAMLMap).flow) throw new Error(`${key}: its map is not a block map in the file; edit it by hand`);
    const [keyEnd, valueEnd] = this.pairRange(pair, key);
    const keyStart = (pair.key as YAML.Scalar).range![0];
    this.dropLines(this.lineStart(keyStart), this.lineEnd(Math.max(keyEnd, valueEnd) - 1), this.indentOf(keyStart, key));
    this.expected.deleteIn(at);
  }

  /** The edited text, checked to parse to the Document API's edit; `label` names what failed. */
  result(label: string): string {
    let text = this.text;
    const sorted = [...this.splices].sort((a, b) => b.start - a.start || b.end - a.end);
    sorted.forEach((s, i) => {
      if (i > 0 && s.end > sorted[i - 1].start) throw new Error(`${label}: internal error: overlapping edits`);
      text = text.slice(0, s.start) + s.text + text.slice(s.end);
    });
    const check = YAML.parseDocument(text, { merge: true });
    if (check.errors.length > 0 || !isDeepStrictEqual(check.toJS(), this.expected.toJS())) {
      throw new Error(`${label}: this file's layout defeats an exact edit, nothing written; edit it by hand`);
    }
    return text;
  }

  private resolve(p: EditPath): (string | number)[] {
    const out: (string | number)[] = [];
    for (const step of p) {
      if (typeof step === "string") {
        out.push(step);
        continue;
      }
      const seq = this.doc.getIn(out, true);
      if (!YAML.isSeq(seq)) throw new Error(`${out.join(".")}: not a list`);
      const i = seq.items.findIndex((it) => YAML.isMap(it) && it.get("name") === step.name);
      if (i < 0) throw new Error(`${out.join(".")}: no item named ${step.name}`);
      out.push(i);
    }
    return out;
  }

  /** A new key on its own line(s): after the key `after`, else above the map's first key, at that key's indentation. */
  private add(map: YAML.YAMLMap, k: string, value: Value, key: string, after?: string): void {
    const first = map.items[0]?.key as YAML.Scalar | undefined;
    if (!first?.range) throw new Error(`${key}: cannot locate its map in the file`);
    const indent = this.indentOf(first.range[0], key);
    const prev = after === undefined ? undefined : pairOf(map, after);
    const body = isMapValue(value)
      ? YAML.stringify(value, { lineWidth: 0, indent: 2 })
          .trimEnd()
          .split("\n")
          .map((l) => `${this.eol}${indent}  ${l}`)
          .join("")
      : typeof value !== "object"
        ? ` ${literal(value)}`
        : value.length === 0
          ? " []"
          : value.map((t) => `${this.eol}${indent}  - ${literal(t)}`).join("");
    const at = prev ? this.lineEnd(Math.max(...this.pairRange(prev, key)) - 1) : this.lineStart(first.range[0]);
    this.splice(at, at, this.lines(at, [`${indent}${k}:${body}`]), key);
  }

  /**
   * A block list laid out one entry per line becomes `next` by line edits: the
   * entries `next` keeps in order stay on their lines, dropped ones lose their
   * line, new ones go in at the entries' indentation above the comment lines of
   * the entry they precede. False (nothing done) for any other layout.
   */
  private lineEdits(seq: YAML.YAMLSeq, old: unknown[], next: readonly string[], keyEnd: number, key: string): boolean {
    const lines = seq.items.map((n) => {
      if (!YAML.isScalar(n) || !n.range) return undefined;
      const start = this.lineStart(n.range[0]);
      const end = this.lineEnd(n.range[1]);
      const prefix = this.text.slice(start, n.range[0]);
      // The dash on the entry's line, and after the value at most a comment.
      return /^ *- $/.test(prefix) && /^[ \t]*(#[^\n]*)?\r?\n?$/.test(this.text.slice(n.range[1], end)) ? { prefix, start, end } : undefined;
    });
    if (lines.length === 0 || lines.some((l) => l === undefined)) return false;
    const at = lines as { prefix: string; start: number; end: number }[];
    const drop = (i: number) => this.dropLines(at[i].start, at[i].end, at[i].prefix.slice(0, -2));
    let pending: string[] = [];
    const flush = (j: number) => {
      if (pending.length === 0) return;
      let pos = j < at.length ? at[j].start : at[at.length - 1].end;
      while (j < at.length && pos > 0 && /^[ \t]*#/.test(this.text.slice(this.lineStart(pos - 1), pos))) pos = this.lineStart(pos - 1);
      const prefix = at[Math.min(j, at.length - 1)].prefix;
      this.splice(
        pos,
        pos,
        this.lines(
          pos,
          pending.map((t) => prefix + literal(t)),
        ),
        key,
      );
      pending = [];
    };
    let j = 0;
    for (const t of next) {
      const idx = old.indexOf(t, j);
      if (idx < 0) pending.push(t);
      else {
        flush(j);
        for (; j < idx; j++) drop(j);
        j = idx + 1;
      }
    }
    flush(j);
    for (; j < old.length; j++) drop(j);
    // An emptied list stays a list: `[]` after its key's colon, the comment lines kept below it.
    const colon = this.text.indexOf(":", keyEnd) + 1;
    if (next.length === 0) this.splice(colon, colon, " []", key);
    return true;
  }

  /**
   * Removes the whole lines [start, end) but not a comment on them: every comment
   * (a comment line, or one after a value) stays on a line of its own, in order, at
   * `indent`, where the lines were, so above the next surviving line.
   */
  private dropLines(start: number, end: number, indent: string): void {
    const kept = this.comments
      .filter((c) => c >= start && c < end)
      .sort((a, b) => a - b)
      .map((c) => indent + this.text.slice(c, this.lineEnd(c)).replace(/\r?\n$/, ""));
    // On a last line without a final newline, the kept lines end without one too.
    const bare = end === this.text.length && !this.text.endsWith("\n");
    this.splices.push({ start, end, text: bare ? kept.join(this.eol) : kept.map((l) => l + this.eol).join("") });
  }

  private splice(start: number, end: number, text: string, key: string): void {
    if (this.comments.some((c) => c >= start && c < end)) {
      throw new Error(`${key}: a comment sits inside the value this edit rewrites; edit it by hand`);
    }
    this.splices.push({ start, end, text });
  }

  /** Whole lines to insert at `pos`: at the end of a text without a final newline, the newline goes before them. */
  private lines(pos: number, lines: string[]): string {
    if (pos === this.text.length && !this.text.endsWith("\n")) return lines.map((l) => this.eol + l).join("");
    return lines.map((l) => l + this.eol).join("");
  }

  private pairRange(p: YAML.Pair, key: string): [number, number] {
    const k = p.key as YAML.Scalar;
    const v = p.value as YAML.Node | null;
    if (!k.range || (v && !v.range)) throw new Error(`${key}: cannot locate it in the file`);
    return [k.range[1], v?.range ? v.range[1] : k.range[1]];
  }

  private lineStart(offset: number): number {
    return this.text.lastIndexOf("\n", offset - 1) + 1;
  }

  /** The offset after the newline that ends the line holding `offset` (the text's end on its last line). */
  private lineEnd(offset: number): number {
    const nl = this.text.indexOf("\n", offset);
    return nl < 0 ? this.text.length : nl + 1;
  }

  private indentOf(offset: number, key: string): string {
    const indent = this.text.slice(this.lineStart(offset), offset);
    if (!/^ *$/.test(indent)) throw new Error(`${key}: not on a line of its own; edit it by hand`);
    return indent;
  }
}

function isMapValue(v: Value): v is { readonly [k: string]: unknown } {
  return typeof v === "object" && !Array.isArray(v);
}

function pairOf(map: YAML.YAMLMap, k: unknown): YAML.Pair | undefined {
  return map.items.find((p) => YAML.isScalar(p.key) && p.key.value === k) as YAML.Pair | undefined;
}

/** A value as YAML text, by yaml's stringifier: in `style` (the quoting the old value had) unless that would read back as another value. */
function literal(value: string | number, style?: YAML.Scalar.Type): string {
  const type = style === "QUOTE_SINGLE" || style === "QUOTE_DOUBLE" ? style : "PLAIN";
  return YAML.stringify(value, { defaultStringType: type, lineWidth: 0 }).trimEnd();
}

/** `text` with the scalar at `p` set to `value` (scale-in's count); `label` names the value in messages. */
export function setScalar(text: string, p: EditPath, value: string | number, label: string): string {
  const edit = new StackFileEdit(text, label.split(":")[0]);
  edit.set(p, value, label);
  return edit.result(label);
}
