// One scalar of a Pulumi.<stack>.yaml replaced in place, every other byte (comments,
// spacing) kept: the value is spliced into the text at the range the yaml Document
// reports, and the result must parse to exactly the Document API's edit, or nothing is
// written. The same approach as releaseOps.ts, for a single value.
import * as fs from "fs";
import * as path from "path";
import { isDeepStrictEqual } from "util";
import * as YAML from "yaml";
import { replaceStackFile, withStackFileLock } from "./stackFileWrite";

/** A step into the document: a map key, or the item of a list whose `name` is this. */
export type EditPath = (string | { name: string })[];

function resolve(doc: YAML.Document, p: EditPath): (string | number)[] {
  const out: (string | number)[] = [];
  for (const step of p) {
    if (typeof step === "string") {
      out.push(step);
      continue;
    }
    const seq = doc.getIn(out, true);
    if (!YAML.isSeq(seq)) throw new Error(`${out.join(".")}: not a list`);
    const i = seq.items.findIndex((it) => YAML.isMap(it) && it.get("name") === step.name);
    if (i < 0) throw new Error(`${out.join(".")}: no item named ${step.name}`);
    out.push(i);
  }
  return out;
}

/** The new text of `text` with the scalar at `p` set to `value`; throws naming the path when an exact edit is impossible. */
export function setScalar(text: string, p: EditPath, value: string | number, label: string): string {
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`${label}: not valid YAML: ${doc.errors[0].message}`);
  const at = resolve(doc, p);
  const node = doc.getIn(at, true);
  if (YAML.isAlias(node)) throw new Error(`${label}: is an alias (*${node.source}) of another value; edit it by hand`);
  if (!YAML.isScalar(node) || !node.range) throw new Error(`${label}: ${at.join(".")} is not a plain value in the file`);
  if (node.anchor) throw new Error(`${label}: has an anchor (&${node.anchor}) other values may alias; edit it by hand`);
  const expected = doc.clone();
  expected.setIn(at, value);
  const literal =
    typeof value === "number" ? String(value) : node.type === "QUOTE_DOUBLE" ? JSON.stringify(value) : node.type === "QUOTE_SINGLE" ? `'${value}'` : value;
  const out = text.slice(0, node.range[0]) + literal + text.slice(node.range[1]);
  const check = YAML.parseDocument(out);
  if (check.errors.length > 0 || !isDeepStrictEqual(check.toJS(), expected.toJS()))
    throw new Error(`${label}: this file's layout defeats an exact edit; edit it by hand`);
  return out;
}

/** Reads the value at `p` (undefined when absent). */
export function getValue(text: string, p: EditPath): unknown {
  const doc = YAML.parseDocument(text);
  return doc.getIn(resolve(doc, p));
}

/**
 * Read-modify-write of a stack file that never loses a concurrent edit: under
 * the file's lock, `edit` gets the current text and returns the new one, which
 * replaces the file only if it is still what was read (through symlinks, mode
 * kept; see stackFileWrite.ts).
 */
export function editStackFile(file: string, edit: (text: string) => string): void {
  const name = path.basename(file);
  withStackFileLock(file, name, () => {
    const text = fs.readFileSync(file, "utf8");
    replaceStackFile(file, name, text, edit(text));
  });
}
