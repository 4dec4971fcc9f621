// Validates plain Kubernetes objects against the OpenAPI schema of the
// Kubernetes API, using the precompiled validators of `kubernetes-models`.
//
// Why the detour through the real Node loader: kubernetes-models 5 ships as
// ES modules only (its package `exports` have just an "import" condition), and
// jest's CommonJS runtime cannot load them. Node >= 20.19 can `require()` an ES
// module, so we take Node's own `createRequire` (via process.getBuiltinModule,
// which jest does not wrap) and load the model file by absolute path. On an
// older Node we fall back to one `node --input-type=module` child per call:
// slower, but the verdict is the same schema's.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { pathToFileURL } from "url";

export interface ValidateOptions {
  /**
   * `apiVersion/kind` pairs (e.g. "monitoring.coreos.com/v1/PrometheusRule")
   * that have no model in kubernetes-models (CRDs) and are accepted unchecked.
   * Without this, an unknown kind is an error, so a typo in apiVersion or kind
   * cannot slip through as "no schema, so nothing to complain about".
   */
  allowUnknownKinds?: string[];
}

interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: unknown): { validate(): void };
}

interface AjvError {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

const API_VERSION = /^(?:[a-z0-9]([a-z0-9.-]*[a-z0-9])?\/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;

function packageDir(): string {
  // Walk up from this file to the node_modules that holds kubernetes-models.
  let dir = __dirname;
  for (let i = 0; i < 10; i++) {
    const candidate = path.join(dir, "node_modules", "kubernetes-models");
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error("kubernetes-models is not installed (npm ci)");
}

function modelFile(apiVersion: string, kind: string): string | undefined {
  if (!API_VERSION.test(apiVersion) || !KIND.test(kind)) return undefined;
  const file = path.join(packageDir(), ...apiVersion.split("/"), `${kind}.js`);
  if (!fs.existsSync(file)) return undefined;
  // Sub-schemas (e.g. apps/v1 DaemonSetSpec) have files too; only a top-level
  // kind declares its own apiVersion and kind.
  const text = fs.readFileSync(file, "utf8");
  const topLevel = text.includes(`this.apiVersion=${JSON.stringify(apiVersion)}`) && text.includes(`this.kind=${JSON.stringify(kind)}`);
  return topLevel ? file : undefined;
}

type NodeRequire = (id: string) => unknown;
let nodeRequire: NodeRequire | null | undefined;

/** Node's real require (not jest's), if it can load ES modules; else null. */
function realRequire(): NodeRequire | null {
  if (nodeRequire !== undefined) return nodeRequire;
  nodeRequire = null;
  const getBuiltin = (process as unknown as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (typeof getBuiltin === "function") {
    const mod = getBuiltin("module") as { createRequire(p: string): NodeRequire };
    const req = mod.createRequire(__filename);
    try {
      req(path.join(packageDir(), "v1", "Namespace.js"));
      nodeRequire = req;
    } catch {
      nodeRequire = null; // no require(esm) on this Node: use the child process
    }
  }
  return nodeRequire;
}

const modelCache = new Map<string, ModelClass>();

function formatErrors(errors: AjvError[]): string[] {
  return errors.map((e) => {
    const where = e.instancePath && e.instancePath.length > 0 ? e.instancePath : "/";
    const extra = e.params && "allowedValues" in e.params ? ` ${JSON.stringify(e.params.allowedValues)}` : "";
    return `${where} ${e.message ?? "is invalid"}${extra}`;
  });
}

function validateInProcess(req: NodeRequire, file: string, kind: string, obj: unknown): string[] {
  let model = modelCache.get(file);
  if (!model) {
    const mod = req(file) as Record<string, ModelClass>;
    model = mod[kind];
    modelCache.set(file, model);
  }
  try {
    new model(obj).validate();
    return [];
  } catch (e) {
    const errors = (e as { errors?: AjvError[] }).errors;
    if (Array.isArray(errors)) return formatErrors(errors);
    throw e;
  }
}

// The fallback: same model, loaded by Node's ESM loader in a child process.
const CHILD_SCRIPT = `
const [file, kind] = process.argv.slice(1);
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", async () => {
  const mod = await import(file);
  try { new mod[kind](JSON.parse(input)).validate(); process.stdout.write("[]"); }
  catch (e) { if (!Array.isArray(e.errors)) throw e; process.stdout.write(JSON.stringify(e.errors)); }
});`;

function validateInChild(file: string, kind: string, obj: unknown): string[] {
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", CHILD_SCRIPT, pathToFileURL(file).href, kind], {
    input: JSON.stringify(obj),
    encoding: "utf8",
    timeout: 30_000,
  });
  return formatErrors(JSON.parse(out) as AjvError[]);
}

/**
 * Schema errors of one Kubernetes object; an empty array means valid.
 * The model is chosen from the object's own apiVersion and kind, e.g.
 * apps/v1 DaemonSet loads `kubernetes-models/apps/v1/DaemonSet`.
 */
export function validateK8sObject(obj: any, opts: ValidateOptions = {}): string[] {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return ["/ must be an object"];
  const { apiVersion, kind } = obj as { apiVersion?: unknown; kind?: unknown };
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return ["/ must have string apiVersion and kind"];
  }
  const id = `${apiVersion}/${kind}`;
  const file = modelFile(apiVersion, kind);
  if (!file) {
    return (opts.allowUnknownKinds ?? []).includes(id) ? [] : [`no schema for ${id}`];
  }
  const errors: string[] = [];
  // The OpenAPI schema leaves metadata.name optional (generateName exists),
  // but every object we apply declaratively needs a stable name.
  const meta = (obj as { metadata?: { name?: unknown; generateName?: unknown } }).metadata;
  if (!meta || (typeof meta.name !== "string" && typeof meta.generateName !== "string")) {
    errors.push("/metadata must have name");
  }
  const req = realRequire();
  errors.push(...(req ? validateInProcess(req, file, kind, obj) : validateInChild(file, kind, obj)));
  return errors;
}

/** Errors of many objects, each prefixed with `<kind>/<name>: ` so a failing test names the object. */
export function validateK8sObjects(objs: any[], opts: ValidateOptions = {}): string[] {
  return objs.flatMap((o) => {
    const label = `${o?.kind ?? "?"}/${o?.metadata?.name ?? "?"}`;
    return validateK8sObject(o, opts).map((e) => `${label}: ${e}`);
  });
}
