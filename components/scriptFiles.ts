// Every script a node, a Job or Cloud Assistant runs is a real file beside its component
// (`<room>/scripts/*.sh`, `.py`, `.nft`, `.service`), so it gets highlighting, shellcheck on the
// file itself and diffs that read like shell. A file takes its settings from ONE generated block,
// written where the file holds the line `# @variables`; nothing else in a file is substituted,
// except `# @include <name>` lines, by which a heredoc carries another file inside the one file a
// node receives: a file of the same folder (the bootstrap's python KMS client, haproxy-apply.sh
// inside the rollout command), or a document the caller renders (the haproxy.cfg it rolls out), or
// nothing (a section only some nodes get: the metadata guard's output chain, masters only).
// A file with no settings (an nft table) holds no `# @variables` line; its values are written in
// it, and a test checks them against the constants TypeScript exports. A Lua filter takes its
// block the same way at its `-- @variables` line (`local NAME = "value"`). A systemd unit, which
// has no variables, holds its default values as written, and the program sets the few keys that
// differ per node (`renderUnit`: ExecStart, a timer's OnCalendar), so the file is a valid unit.
//
// Files are read relative to this module, at plan time, so they travel with the source: the
// program runs from the checkout (Pulumi.yaml, `typescript: true`), as do ts-node and jest.
import * as fs from "fs";
import * as path from "path";

/** The line a script file holds where its generated variables go. */
export const VARIABLES_MARKER = "# @variables";
const INCLUDE = /^# @include ([A-Za-z0-9._-]+)$/;

/** A shell word written as is (it refers to another variable), e.g. `${ROOT}/etc/kubernetes`. */
export interface ShellExpression {
  expr: string;
}

export function shellExpression(expr: string): ShellExpression {
  return { expr };
}

/** A value; `undefined` leaves the variable out of the block (the script then sees it unset). */
export type ShellValue = string | number | ShellExpression | undefined;

/**
 * How the block assigns:
 * - `default`: `: "${NAME:=value}"`, a default the environment may override (the test harnesses
 *   run the very scripts in a temp root that way);
 * - `assign`: `NAME="value"`, fixed.
 */
export type VariablesStyle = "default" | "assign";

/** The value double-quoted for bash: `\`, `"`, `$` and backquote escaped, and `}` inside `${...:=}`. */
function quoted(name: string, value: string, style: VariablesStyle): string {
  if (/[\n\r\0]/.test(value)) throw new Error(`script variable ${name}: a value must be one line, got ${JSON.stringify(value)}`);
  // bash reads a single quote inside "${NAME:=...}" as opening a quoted string, escaped or not.
  if (style === "default" && value.includes("'"))
    throw new Error(`script variable ${name}: a default may not hold a single quote, got ${JSON.stringify(value)}`);
  return value.replace(style === "default" ? /[\\"$`}]/g : /[\\"$`]/g, (c) => `\\${c}`);
}

/** The generated block: one line per variable, in the order given. */
export function shellVariables(vars: Record<string, ShellValue>, style: VariablesStyle = "default"): string {
  const lines: string[] = [];
  for (const [name, v] of Object.entries(vars)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`script variable ${JSON.stringify(name)} is not a shell name`);
    if (v === undefined) continue;
    const word = typeof v === "object" ? v.expr : quoted(name, String(v), style);
    lines.push(style === "default" ? `: "\${${name}:=${word}}"` : `${name}="${word}"`);
  }
  return lines.join("\n");
}

const cache = new Map<string, string>();

/** A script file's text, its `# @include` lines of files in its folder replaced by them. Read once per run. */
export function scriptFile(file: string): string {
  let text = cache.get(file);
  if (text === undefined) {
    text = fs
      .readFileSync(file, "utf8")
      .split("\n")
      .map((line) => {
        const m = INCLUDE.exec(line);
        const included = m && path.join(path.dirname(file), m[1]);
        return included && fs.existsSync(included) ? scriptFile(included).replace(/\n$/, "") : line;
      })
      .join("\n");
    cache.set(file, text);
  }
  return text;
}

/**
 * How renderScript renders: the block's style, and documents for `# @include <name>` lines no file answers
 * (`null`: the line is left out, for a section this node does not get).
 */
export interface RenderOptions {
  style?: VariablesStyle;
  documents?: Record<string, string | null>;
}

/**
 * A script file with its generated variables block at the `# @variables` line (which it, or a file it includes,
 * must hold exactly once; with `vars` null, a file that takes no settings, not at all), and the caller's
 * documents at their `# @include` lines.
 */
export function renderScript(file: string, vars: Record<string, ShellValue> | null, opts: RenderOptions = {}): string {
  const lines = scriptFile(file).split("\n");
  const found = lines.filter((l) => l === VARIABLES_MARKER).length;
  const want = vars === null ? 0 : 1;
  if (found !== want) throw new Error(`${file}: needs ${want === 1 ? "exactly one line" : "no line"} ${JSON.stringify(VARIABLES_MARKER)}, found ${found}`);
  return lines
    .flatMap((line) => {
      if (line === VARIABLES_MARKER) return [shellVariables(vars!, opts.style)];
      const m = INCLUDE.exec(line);
      if (!m) return [line];
      const doc = opts.documents?.[m[1]];
      if (doc === undefined) throw new Error(`${file}: ${line}: no such file beside it and no document of that name`);
      return doc === null ? [] : [doc.replace(/\n$/, "")];
    })
    .join("\n");
}

/** The line a Lua script holds where its generated `local` variables go. */
export const LUA_VARIABLES_MARKER = "-- @variables";

/** A Lua string literal, double-quoted. */
export function luaString(s: string): string {
  if (/[\n\r\0]/.test(s)) throw new Error(`Lua string: a value must be one line, got ${JSON.stringify(s)}`);
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** A Lua script file with `local NAME = "value"` lines, in the order given, at its one `-- @variables` line. */
export function renderLua(file: string, vars: Record<string, string>): string {
  const text = scriptFile(file);
  const lines = text.split("\n");
  const at = lines.indexOf(LUA_VARIABLES_MARKER);
  if (at < 0 || lines.lastIndexOf(LUA_VARIABLES_MARKER) !== at) throw new Error(`${file}: needs exactly one line ${JSON.stringify(LUA_VARIABLES_MARKER)}`);
  const block = Object.entries(vars).map(([name, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`Lua variable ${JSON.stringify(name)} is not a Lua name`);
    return `local ${name} = ${luaString(v)}`;
  });
  return [...lines.slice(0, at), ...block, ...lines.slice(at + 1)].join("\n");
}

/**
 * A systemd unit file with the values of the named keys set: each key must stand on exactly one line of the file
 * (`Key=default`), whose value is replaced; every other line is as written.
 */
export function renderUnit(file: string, values: Record<string, string | number>): string {
  let text = scriptFile(file);
  for (const [key, v] of Object.entries(values)) {
    const value = String(v);
    if (/[\n\r\0]/.test(value)) throw new Error(`${file}: ${key}: a value must be one line, got ${JSON.stringify(value)}`);
    const line = new RegExp(`^${key}=.*$`, "gm");
    const found = text.match(line)?.length ?? 0;
    if (!/^[A-Za-z]+$/.test(key) || found !== 1) throw new Error(`${file}: needs exactly one line ${key}=, found ${found}`);
    text = text.replace(line, () => `${key}=${value}`);
  }
  return text;
}
