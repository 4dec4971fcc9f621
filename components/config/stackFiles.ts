// Reads Pulumi.yaml and Pulumi.<stack>.yaml the way the Pulumi CLI does, and
// applies `-c` overrides with `pulumi config set --path` syntax.
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { ConfigError, UsageError } from "./errors";
import { PROJECT } from "./keys";
import { SECRET_KEY_NAMES, SecretKeyName } from "./secretKeys";

/** One stack file, as read. */
export interface StackFile {
  /** Config values as written in the stack file (objects stay objects). */
  values: Record<string, unknown>;
  /** Keys written as `secure:` ciphertext in the file. */
  secureKeys: string[];
}

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

export function stackFilePath(stack: string, dir = PROJECT_DIR): string {
  return path.join(dir, `Pulumi.${stack}.yaml`);
}

/**
 * Parses a YAML file with the npm yaml library: YAML 1.2 core schema, `<<` merge keys applied, duplicate keys
 * refused. The Pulumi CLI reads the same files with go-yaml v3, which differs on integers (readStackFile refuses
 * the forms where they disagree: goYamlIntProblems). Every syntax error becomes a ConfigError line
 * `Pulumi.dev.yaml:LINE:COL: message`.
 */
export function readYamlFile(file: string, name = path.basename(file)): unknown {
  return parseYamlFile(file, name).doc.toJS({ maxAliasCount: 1000 });
}

function parseYamlFile(file: string, name = path.basename(file)): { doc: YAML.Document; lines: YAML.LineCounter } {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError([`${name}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
  const lines = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { merge: true, uniqueKeys: true, prettyErrors: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((err) => {
        const pos = err.linePos?.[0];
        const what = err.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
        return `${name}${pos ? `:${pos.line}:${pos.col}` : ""}: not valid YAML: ${what}`;
      }),
    );
  }
  return { doc, lines };
}

/**
 * Plain scalars under `config:` that the Pulumi CLI and this program would read as different values. go-yaml v3
 * (resolve.go) strips '_' from a plain scalar and reads it with strconv.ParseInt(plain, 0, 64), so `010` is 8
 * (octal), `1_000` is 1000 and `0b11` is 3; YAML 1.2's core schema, which the yaml library follows, reads 10, the
 * string "1_000" and the string "0b11". A plain number is therefore written in decimal without a leading 0 or '_'
 * (and without 0x/0o/0b prefixes); quote it to mean a string.
 */
function goYamlIntProblems(name: string, doc: YAML.Document, lines: YAML.LineCounter): string[] {
  const out: string[] = [];
  YAML.visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === "key" || node.type !== "PLAIN" || typeof node.source !== "string") return;
      const src = node.source;
      const why = /^[-+]?0[0-9]+$/.test(src)
        ? "a leading 0 makes it octal to the Pulumi CLI (go-yaml v3: 010 is 8) and decimal here (YAML 1.2: 10)"
        : /^[-+]?[0-9][0-9a-zA-Z_.]*$/.test(src) && src.includes("_")
          ? "the Pulumi CLI (go-yaml v3) drops '_' and reads a number, YAML 1.2 reads a string"
          : /^[-+]?0[xXoObB][0-9a-fA-F_]+$/.test(src)
            ? "0x, 0o and 0b numbers are read differently by the Pulumi CLI (go-yaml v3) and YAML 1.2"
            : undefined;
      if (why === undefined) return;
      const chain = [...ancestors, node];
      // [Document, the root map, the `config` pair, ...]
      const top = chain[2];
      if (!(YAML.isPair(top) && YAML.isScalar(top.key) && top.key.value === "config")) return;
      let where = "";
      for (let i = 3; i < chain.length; i++) {
        const a = chain[i];
        if (YAML.isPair(a)) where += where === "" ? String((a.key as YAML.Scalar).value) : `.${String((a.key as YAML.Scalar).value)}`;
        else if (YAML.isSeq(a)) where += `[${a.items.indexOf(chain[i + 1] as never)}]`;
      }
      const pos = lines.linePos(node.range?.[0] ?? 0);
      out.push(`${name}:${pos.line}:${pos.col}: ${where}: ${src} is ambiguous: ${why}; write the number in plain decimal, or quote it for a string`);
    },
  });
  return out;
}

export function readProjectName(dir = PROJECT_DIR): string {
  const doc = readYamlFile(path.join(dir, "Pulumi.yaml")) as { name?: string } | null;
  if (!doc?.name) throw new ConfigError(["Pulumi.yaml: missing `name`"]);
  return doc.name;
}

/** True when `stack` has a stack file in `dir`. */
export function stackExists(stack: string, dir = PROJECT_DIR): boolean {
  return fs.existsSync(stackFilePath(stack, dir));
}

export function readStackFile(stack: string, dir = PROJECT_DIR): StackFile {
  const file = stackFilePath(stack, dir);
  const name = path.basename(file);
  if (!fs.existsSync(file)) throw new UsageError(`no stack file ${name} in ${dir} (stacks are the Pulumi.<stack>.yaml files)`);
  const parsed = parseYamlFile(file);
  const ambiguous = goYamlIntProblems(name, parsed.doc, parsed.lines);
  if (ambiguous.length > 0) throw new ConfigError(ambiguous);
  const doc = (parsed.doc.toJS({ maxAliasCount: 1000 }) ?? {}) as { config?: unknown };
  if (typeof doc !== "object" || Array.isArray(doc)) throw new ConfigError([`${name}: must be a map with a \`config:\` key`]);
  const config = doc.config ?? {};
  if (typeof config !== "object" || config === null || Array.isArray(config))
    throw new ConfigError([`${name}: config: must be a map of <namespace>:<key> to value`]);
  const values: Record<string, unknown> = {};
  const secureKeys: string[] = [];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    // The CLI refuses a config key without a namespace (config.ParseKey).
    if (!/^[A-Za-z0-9_.-]+:[^:]+$/.test(key)) problems.push(`${name}: config: ${JSON.stringify(key)} is not a <namespace>:<key> config key`);
    if (isSecure(value)) secureKeys.push(key);
    values[key] = value;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { values, secureKeys };
}

/** One `secure:` ciphertext, as `pulumi config set --secret` writes it. */
function isSecureLeaf(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { secure?: unknown }).secure === "string";
}

/**
 * A secret key: a `secure:` leaf, or (set with `--secret --path`) an object or
 * list holding one anywhere. The engine then hands the whole key to the
 * program as a secret, so it is one here too.
 */
function isSecure(v: unknown): boolean {
  if (isSecureLeaf(v)) return true;
  if (typeof v !== "object" || v === null) return false;
  return Object.values(v).some(isSecure);
}

/** What the fleet rules read from another stack's file (fleet/hostStackRules.ts, fleet/kubesphereMembers.ts). */
export interface ListedStack {
  name: string;
  /** platform:env, undefined when the file is unreadable or has none. */
  env?: string;
  /** platform:hostStack as written. */
  hostStack?: string;
  /** platform:kubesphere.enabled. */
  kubesphereEnabled?: boolean;
  /** platform:kubesphere.members as written. */
  kubesphereMembers?: unknown;
}

/** The stacks of the project: each Pulumi.<stack>.yaml with the fleet keys it sets (absent when unreadable). */
export function listStacks(dir = PROJECT_DIR): ListedStack[] {
  let files: string[];
  try {
    files = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return files
    .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .map((name) => {
      try {
        const values = readStackFile(name, dir).values;
        const str = (v: unknown) => (typeof v === "string" ? v : undefined);
        const ks = values[`${PROJECT}:kubesphere`] as { enabled?: unknown; members?: unknown } | undefined;
        return {
          name,
          env: str(values[`${PROJECT}:env`]),
          hostStack: str(values[`${PROJECT}:hostStack`]),
          kubesphereEnabled: ks?.enabled === true,
          kubesphereMembers: ks?.members,
        };
      } catch {
        return { name };
      }
    });
}

/** Path segments that would reach an object's prototype instead of a config value. */
const FORBIDDEN_SEGMENTS = new Set(["__proto__", "constructor", "prototype"]);

/** Splits `platform:nodePools[0].count` into the key `platform:nodePools` and the path [0, "count"]. */
export function parseConfigPath(spec: string): { key: string; path: (string | number)[] } {
  const m = /^([A-Za-z0-9_-]+:[A-Za-z0-9_-]+)(.*)$/.exec(spec);
  if (!m) throw new UsageError(`-c ${spec}: expected project:key[.path], e.g. platform:masters.count`);
  const rest = m[2];
  const segments: (string | number)[] = [];
  const re = /\.([A-Za-z0-9_-]+)|\[(\d+)\]|\["([^"]+)"\]/y;
  let pos = 0;
  while (pos < rest.length) {
    re.lastIndex = pos;
    const s = re.exec(rest);
    if (!s) throw new UsageError(`-c ${spec}: cannot parse the path at "${rest.slice(pos)}"`);
    segments.push(s[1] ?? (s[2] !== undefined ? Number(s[2]) : s[3]));
    pos = re.lastIndex;
  }
  for (const seg of [m[1].slice(m[1].indexOf(":") + 1), ...segments]) {
    if (typeof seg === "string" && FORBIDDEN_SEGMENTS.has(seg)) throw new UsageError(`-c ${spec}: "${seg}" is not allowed in a config path`);
  }
  return { key: m[1], path: segments };
}

/** Parses `KEY=VALUE`; VALUE is JSON when it parses as JSON, else a string. */
export function parseOverride(arg: string): { key: string; path: (string | number)[]; value: unknown } {
  const eq = arg.indexOf("=");
  if (eq < 0) throw new UsageError(`-c ${arg}: expected KEY=VALUE (e.g. platform:masters.count=3)`);
  const raw = arg.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // a plain string
  }
  return { ...parseConfigPath(arg.slice(0, eq)), value };
}

/** Applies one override to config values, creating objects and arrays on the way as `--path` does. */
export function applyOverride(values: Record<string, unknown>, o: { key: string; path: (string | number)[]; value: unknown }): void {
  if (o.path.length === 0) {
    values[o.key] = o.value;
    return;
  }
  let cur = values[o.key];
  if (cur === undefined) cur = values[o.key] = typeof o.path[0] === "number" ? [] : {};
  for (let i = 0; i < o.path.length - 1; i++) {
    const seg = o.path[i];
    const obj = cur as Record<string | number, unknown>;
    if (typeof obj !== "object" || obj === null) throw new UsageError(`-c ${o.key}: ${String(seg)} is inside a scalar`);
    holeProblem(o, obj, seg, i);
    // Own properties only: an inherited one (toString, ...) is not a config value.
    if (!Object.hasOwn(obj, seg) || obj[seg] === undefined) obj[seg] = typeof o.path[i + 1] === "number" ? [] : {};
    cur = obj[seg];
  }
  const last = o.path[o.path.length - 1];
  if (typeof cur !== "object" || cur === null) throw new UsageError(`-c ${o.key}: ${String(last)} is inside a scalar`);
  holeProblem(o, cur, last, o.path.length - 1);
  (cur as Record<string | number, unknown>)[last] = o.value;
}

/**
 * An index past a list's end would leave holes (null entries), each refused as its own line; one usage line says
 * what is there instead. Index = length appends, as `pulumi config set --path` does.
 */
function holeProblem(o: { key: string; path: (string | number)[] }, list: unknown, seg: string | number, at: number): void {
  if (!Array.isArray(list) || typeof seg !== "number" || seg <= list.length) return;
  const where = `${o.key}${o.path
    .slice(0, at)
    .map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`))
    .join("")}`;
  throw new UsageError(
    `-c ${where}[${seg}]: does not exist; ${where} has ${list.length === 0 ? "no entries" : `${list.length} (${list.length === 1 ? "[0]" : `[0]-[${list.length - 1}]`})`}, and [${list.length}] adds one`,
  );
}

/**
 * A number past the double range (`1e400`) parses to Infinity, which JSON writes as null, so the schema would say
 * "got null"; written as the largest double instead, it meets the key's own limit ("must be <= 2147483647").
 */
const finiteNumbers = (_key: string, v: unknown): unknown =>
  typeof v === "number" && (v === Infinity || v === -Infinity) ? Math.sign(v) * Number.MAX_VALUE : v;

/** Config in the engine's form, plus what the offline run made up. */
export interface EngineConfig {
  /** Every value by full key, scalars as strings and objects JSON-encoded. */
  values: Record<string, string>;
  /** Full keys that are secrets (read from `secure:` or filled with placeholders). */
  secretKeys: string[];
  /** Secret keys the offline run filled with placeholders (not in the stack file). */
  placeholders: string[];
}

const appNames = (values: Record<string, unknown>) => Object.keys((values[`${PROJECT}:apps`] as Record<string, unknown> | undefined) ?? {});

/**
 * What the offline preview uses for each secret, since secrets are never
 * committed to stack files; computed from the stack file's other values.
 * Typed by SECRET_KEYS, so a new secret key without a placeholder does not compile.
 */
const OFFLINE_PLACEHOLDERS: Record<SecretKeyName, (values: Record<string, unknown>) => string> = {
  dingtalkWebhook: () => "https://oapi.dingtalk.com/robot/send?access_token=offline-placeholder",
  loggingPassword: () => "offline-placeholder-logging",
  tracingElasticsearchPassword: () => "offline-placeholder-tracing-elasticsearch",
  tracingAgentToken: () => "offline-placeholder-tracing-agent-token",
  harborPassword: () => "offline-placeholder-harbor",
  identityProviderSecret: () => "offline-placeholder-identity-provider",
  logSearchApiKey: () => "offline-placeholder-log-search-api-key",
  apolloAccessKeys: (values) => JSON.stringify(Object.fromEntries(appNames(values).map((a) => [a, `offline-placeholder-apollo-${a}`]))),
};

/**
 * The flat string map the engine hands a program: scalars as strings, objects
 * JSON-encoded. Encrypted values cannot be read offline, and secrets are not
 * committed to stack files, so each secret key gets a labelled placeholder.
 */
export function toEngineConfig(values: Record<string, unknown>, secureKeys: string[] = []): EngineConfig {
  const out: Record<string, string> = {};
  const secretKeys: string[] = [];
  const placeholders: string[] = [];
  for (const [key, v] of Object.entries(values)) {
    if (!secureKeys.includes(key)) {
      out[key] = typeof v === "string" ? v : JSON.stringify(v, finiteNumbers);
    } else if (!isSecureLeaf(v)) {
      // Set with --secret --path: the structure is in the file, each leaf ciphertext; keep the structure.
      out[key] = JSON.stringify(placeholderLeaves(v, key));
      secretKeys.push(key);
      placeholders.push(key);
    }
  }
  for (const name of SECRET_KEY_NAMES) {
    const full = `${PROJECT}:${name}`;
    if (full in out) {
      // set in plain text: left for the config check to refuse
      continue;
    }
    out[full] = OFFLINE_PLACEHOLDERS[name](values);
    secretKeys.push(full);
    placeholders.push(full);
  }
  return { values: out, secretKeys, placeholders };
}

/** The value with every `secure:` leaf replaced by a labelled placeholder. */
function placeholderLeaves(v: unknown, at: string): unknown {
  if (isSecureLeaf(v)) return `offline-placeholder-${at.replace(/^[^:]*:/, "")}`;
  if (Array.isArray(v)) return v.map((x, i) => placeholderLeaves(x, `${at}[${i}]`));
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, placeholderLeaves(x, `${at}.${k}`)]));
  return v;
}

/** Stack file plus overrides, as engine config. */
export function loadEngineConfig(stack: string, overrides: string[] = [], dir = PROJECT_DIR): EngineConfig {
  const file = readStackFile(stack, dir);
  const values = structuredClone(file.values);
  for (const o of overrides) applyOverride(values, parseOverride(o));
  return toEngineConfig(values, file.secureKeys);
}
