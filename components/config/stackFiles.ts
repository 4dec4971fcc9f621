// Reads Pulumi.yaml and Pulumi.<stack>.yaml the way the Pulumi CLI does, and
// applies `-c` overrides with `pulumi config set --path` syntax.
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { PROJECT } from "./schema";
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

export function readProjectName(dir = PROJECT_DIR): string {
  const doc = YAML.parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")) as { name?: string };
  if (!doc?.name) throw new Error("Pulumi.yaml: missing `name`");
  return doc.name;
}

export function readStackFile(stack: string, dir = PROJECT_DIR): StackFile {
  const file = stackFilePath(stack, dir);
  if (!fs.existsSync(file)) throw new Error(`no stack file ${path.basename(file)} (stacks are the Pulumi.<stack>.yaml files)`);
  const doc = (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const values: Record<string, unknown> = {};
  const secureKeys: string[] = [];
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    if (isSecure(value)) secureKeys.push(key);
    values[key] = value;
  }
  return { values, secureKeys };
}

function isSecure(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && "secure" in v;
}

/** Splits `platform:nodePools[0].count` into the key `platform:nodePools` and the path [0, "count"]. */
export function parseConfigPath(spec: string): { key: string; path: (string | number)[] } {
  const m = /^([A-Za-z0-9_-]+:[A-Za-z0-9_-]+)(.*)$/.exec(spec);
  if (!m) throw new Error(`-c ${spec}: expected project:key[.path], e.g. platform:masters.count`);
  const rest = m[2];
  const segments: (string | number)[] = [];
  const re = /\.([A-Za-z0-9_-]+)|\[(\d+)\]|\["([^"]+)"\]/y;
  let pos = 0;
  while (pos < rest.length) {
    re.lastIndex = pos;
    const s = re.exec(rest);
    if (!s) throw new Error(`-c ${spec}: cannot parse the path at "${rest.slice(pos)}"`);
    segments.push(s[1] ?? (s[2] !== undefined ? Number(s[2]) : s[3]));
    pos = re.lastIndex;
  }
  return { key: m[1], path: segments };
}

/** Parses `KEY=VALUE`; VALUE is JSON when it parses as JSON, else a string. */
export function parseOverride(arg: string): { key: string; path: (string | number)[]; value: unknown } {
  const eq = arg.indexOf("=");
  if (eq < 0) throw new Error(`-c ${arg}: expected KEY=VALUE`);
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
    if (typeof obj !== "object" || obj === null) throw new Error(`-c ${o.key}: ${String(seg)} is inside a scalar`);
    if (obj[seg] === undefined) obj[seg] = typeof o.path[i + 1] === "number" ? [] : {};
    cur = obj[seg];
  }
  const last = o.path[o.path.length - 1];
  if (typeof cur !== "object" || cur === null) throw new Error(`-c ${o.key}: ${String(last)} is inside a scalar`);
  (cur as Record<string | number, unknown>)[last] = o.value;
}

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
  harborPassword: () => "offline-placeholder-harbor",
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
    if (secureKeys.includes(key)) continue;
    out[key] = typeof v === "string" ? v : JSON.stringify(v);
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

/** Stack file plus overrides, as engine config. */
export function loadEngineConfig(stack: string, overrides: string[] = [], dir = PROJECT_DIR): EngineConfig {
  const file = readStackFile(stack, dir);
  const values = structuredClone(file.values);
  for (const o of overrides) applyOverride(values, parseOverride(o));
  return toEngineConfig(values, file.secureKeys);
}
