// docs/config-reference.md, generated from the zod schema so it cannot drift from what config validation accepts:
// every key's type, bounds and required-ness come from the schema itself (zod's JSON Schema export), every
// explanation from the schema's `.describe()` texts, the secrets from SECRET_KEYS, the retired keys from REMOVED_KEYS.
// `npm run docs:config` writes the file; test/config/configReference.test.ts fails when the committed file differs.
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { KEYS, platformSchema, REMOVED_KEYS } from "./schema";
import { SECRET_KEYS, SECRET_KEY_NAMES } from "./secretKeys";
import { PROJECT as PLATFORM } from "./keys";
import { exitAfterFlush, readArgs, runCli, UsageError } from "./cli";

/** Where the reference lives, relative to the repository root. */
export const REFERENCE_PATH = "docs/config-reference.md";

/** A JSON Schema node, as much of it as the renderer reads. */
interface Node {
  type?: string | string[];
  description?: string;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Node>;
  required?: string[];
  additionalProperties?: Node | boolean;
  propertyNames?: Node;
  items?: Node;
  anyOf?: Node[];
  oneOf?: Node[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  default?: unknown;
}

const SAFE_MAX = Number.MAX_SAFE_INTEGER;

function isRecord(n: Node): boolean {
  return typeof n.additionalProperties === "object" && n.properties === undefined;
}

function bounds(n: Node): string {
  const lo = n.minimum ?? (n.exclusiveMinimum !== undefined ? `>${n.exclusiveMinimum}` : undefined);
  const hi = n.maximum !== undefined && n.maximum < SAFE_MAX ? n.maximum : n.exclusiveMaximum !== undefined ? `<${n.exclusiveMaximum}` : undefined;
  if (lo !== undefined && hi !== undefined) return typeof lo === "number" && typeof hi === "number" ? ` ${lo}-${hi}` : ` ${lo}, ${hi}`;
  if (lo !== undefined) return typeof lo === "number" ? ` >= ${lo}` : ` ${lo}`;
  if (hi !== undefined) return typeof hi === "number" ? ` <= ${hi}` : ` ${hi}`;
  return "";
}

/** A short type for a table cell: `integer 1-200`, `PayByTraffic \| PayByBandwidth`, `[string] (1+)`, `map name -> object`. */
export function typeName(n: Node): string {
  if (n.const !== undefined) return JSON.stringify(n.const);
  if (n.enum) return n.enum.map((v) => String(v)).join(" | ");
  const union = n.anyOf ?? n.oneOf;
  if (union) return union.map((b) => tagOf(b)?.join(": ") ?? typeName(b)).join(" | ");
  if (n.type === "array") {
    const count = n.minItems
      ? ` (${n.minItems}${n.maxItems !== undefined ? `-${n.maxItems}` : "+"})`
      : n.maxItems !== undefined
        ? ` (at most ${n.maxItems})`
        : "";
    return `[${n.items ? typeName(n.items) : "any"}]${count}`;
  }
  if (n.type === "object") return isRecord(n) ? `map name -> ${typeName(n.additionalProperties as Node)}` : "object";
  if (n.type === "integer" || n.type === "number") return `${n.type}${bounds(n)}`;
  if (n.type === "string") return "string";
  if (n.type === "boolean") return "boolean";
  return "(not a setting)";
}

/** The discriminator of a union branch: [key, value] of its one constant property, e.g. ["output", "kafka"]. */
function tagOf(n: Node): [string, string] | undefined {
  const tag = Object.entries(n.properties ?? {}).find(([, p]) => p.const !== undefined);
  return tag ? [tag[0], String(tag[1].const)] : undefined;
}

interface Row {
  key: string;
  type: string;
  required: boolean;
  notes: string;
}

/** The fields below one key: object properties, array items, map values and each branch of a union, depth first. */
function rows(n: Node, prefix: string, out: Row[], branch = ""): Row[] {
  const union = n.anyOf ?? n.oneOf;
  if (union && union.some((b) => b.type === "object")) {
    for (const b of union) {
      const tag = tagOf(b);
      rows(b, prefix, out, tag ? `with ${tag.join(": ")}` : branch);
    }
    return out;
  }
  if (n.type === "array" && n.items) return rows(n.items, `${prefix}[]`, out, branch);
  if (n.type === "object" && isRecord(n)) return rows(n.additionalProperties as Node, `${prefix}.<name>`, out, branch);
  for (const [name, p] of Object.entries(n.properties ?? {})) {
    const key = `${prefix}.${name}`;
    const notes = [branch && p.const === undefined ? `(${branch})` : "", p.description ?? ""].filter(Boolean).join(" ");
    out.push({ key, type: typeName(p), required: (n.required ?? []).includes(name), notes });
    rows(p, key, out, branch);
  }
  return out;
}

/**
 * A description as Markdown: `<` outside code spans escaped (`<stack>` would be read as an HTML tag), and mentions
 * of a doc, `docs/x.md`, as links relative to docs/ (so the link check covers them).
 */
function links(text: string): string {
  const escaped = text
    .split(/(`[^`]*`)/)
    .map((part) => (part.startsWith("`") ? part : part.replace(/</g, "&lt;")))
    .join("");
  return escaped.replace(/\bdocs\/([\w/-]+\.md)/g, (_m, file: string) => `[docs/${file}](${file})`);
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The schema as zod exports it: input side (what a stack file holds), unrepresentable checks left out. */
function jsonSchema(): Node {
  return z.toJSONSchema(platformSchema, { io: "input", unrepresentable: "any" }) as Node;
}

/** The reference, unformatted (prettier lays out the tables; `configReference()` returns the formatted text). */
export function rawReference(): string {
  const root = jsonSchema();
  // A key is required when the schema refuses its absence (secretStore is parsed as {} when absent, then refused).
  const required = (k: string): boolean => !(KEYS as Record<string, z.ZodType>)[k].safeParse(undefined).success;
  const keys = Object.keys(KEYS);
  const out: string[] = [];
  out.push(
    "# Config reference",
    "",
    `Generated by \`npm run docs:config\` from the zod schema (\`components/config/schema.ts\` and the schemas it composes, \`components/config/reference.ts\` renders it). Edit the \`.describe()\` texts there, not this file: \`test/config/configReference.test.ts\` fails when this file differs from what the script writes.`,
    "",
    `Every key lives under the \`${PLATFORM}:\` namespace in \`Pulumi.<stack>.yaml\`, plus \`alicloud:region\` (required, e.g. \`cn-shanghai\`). Unknown keys are errors (a typo is reported, not ignored). Every problem is reported at once, each naming its key, and nothing is created when config is invalid. Only \`${PLATFORM}:\` and the providers' namespaces (\`alicloud:\`, \`kubernetes:\`, \`pulumi:\`, \`random:\`, \`tls:\`) are accepted, and a misspelt namespace or provider key gets the nearest known one (\`platfrom:x\` -> \`platform:x\`, \`alicloud:regoin\` -> \`alicloud:region\`). Alibaba credential keys in stack config (\`alicloud:accessKey\`, \`secretKey\`, \`securityToken\`, \`profile\`, \`assumeRole\`, \`ecsRoleName\`, ...) are refused: credentials come from the environment.`,
    "",
    "Rules that span keys live beside what they protect and are run by config validation (`components/config/crossChecks.ts` lists them). Stack files are read as the Pulumi CLI reads them (YAML 1.2, `<<` merge keys, duplicate keys refused, errors as `Pulumi.dev.yaml:LINE:COL`); a key set with `--secret --path` is a secret.",
    "",
    "“Required” below is what the schema requires; a key marked no may still be required by a rule that spans keys, as its description says.",
    "",
    "## Keys",
    "",
    "| key | type | required |",
    "| --- | --- | --- |",
  );
  for (const k of keys) {
    out.push(`| [\`${PLATFORM}:${k}\`](#${PLATFORM}${k.toLowerCase()}) | ${cell(typeName(root.properties![k]))} | ${required(k) ? "yes" : "no"} |`);
  }
  for (const k of keys) {
    const n = root.properties![k];
    out.push("", `## ${PLATFORM}:${k}`, "", `${required(k) ? "Required" : "Optional"}; ${typeName(n)}.`);
    if (n.description) out.push("", links(n.description));
    const fields = rows(n, k, []);
    if (fields.length === 0) continue;
    out.push("", "| field | type | required | notes |", "| --- | --- | --- | --- |");
    for (const r of fields) out.push(`| \`${r.key}\` | ${cell(r.type)} | ${r.required ? "yes" : "no"} | ${cell(links(r.notes))} |`);
  }
  out.push(
    "",
    "## Secrets",
    "",
    "Never in a stack file: real runs read them from the stack's own Pulumi ESC environment (`environment: [platform/<stack>]` in `Pulumi.<stack>.yaml`, defined in `esc/<stack>.yaml`, values in `platform/<stack>-secrets` set with `esc env set ... --secret`; [runbooks/ci-setup.md](runbooks/ci-setup.md)), and `npm run check:fleet` refuses a definition that lacks one the stack needs. For a local run only, `pulumi config set --secret` also works (it writes ciphertext into the stack file; keep that out of git). A secret key set in plain text is refused; they never pass through the schema.",
    "",
    "| key | needed | what it is |",
    "| --- | --- | --- |",
  );
  for (const name of SECRET_KEY_NAMES) {
    const s = SECRET_KEYS[name];
    out.push(`| \`${PLATFORM}:${name}\` | ${cell(s.when)} | ${cell(links(s.description))} |`);
  }
  out.push("", "## Removed keys", "", "A stack file that still sets one gets this message instead of “unknown key”.", "", "| key | message |", "| --- | --- |");
  for (const [k, why] of Object.entries(REMOVED_KEYS)) out.push(`| \`${PLATFORM}:${k}\` | ${cell(why)} |`);
  return out.join("\n") + "\n";
}

/**
 * Pads every table's cells to their column's width, as prettier lays Markdown tables out (with proseWrap
 * "preserve", its default, a table is always aligned), so the file passes `prettier --check` as generated.
 */
export function alignTables(text: string): string {
  const lines = text.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length;) {
    if (!lines[i].startsWith("| ")) {
      out.push(lines[i++]);
      continue;
    }
    const table: string[][] = [];
    for (; i < lines.length && lines[i].startsWith("| "); i++) table.push(lines[i].slice(2, -2).split(/ \| /));
    const widths = table[0].map((_, c) => Math.max(3, ...table.filter((_, r) => r !== 1).map((row) => row[c].length)));
    for (const [r, row] of table.entries()) out.push(`| ${row.map((v, c) => (r === 1 ? "-".repeat(widths[c]) : v.padEnd(widths[c]))).join(" | ")} |`);
  }
  return out.join("\n");
}

/** The reference as committed: rawReference() with its tables aligned. */
export function configReference(): string {
  return alignTables(rawReference());
}

const USAGE = "usage: npm run docs:config [-- --check]   (writes docs/config-reference.md; --check only compares, exit 1 when it differs)";

function main(argv: string[]): number {
  const { values, positionals } = readArgs(argv, { check: { type: "boolean" } });
  if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const check = values.check === true;
  const root = path.resolve(__dirname, "../..");
  const file = path.join(root, REFERENCE_PATH);
  const text = configReference();
  if (check) {
    const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    if (current === text) return 0;
    process.stderr.write(`${REFERENCE_PATH} is out of date: run npm run docs:config\n`);
    return 1;
  }
  fs.writeFileSync(file, text);
  process.stdout.write(`wrote ${REFERENCE_PATH}\n`);
  return 0;
}

if (require.main === module) exitAfterFlush(runCli({ usage: USAGE }, () => main(process.argv.slice(2))));
