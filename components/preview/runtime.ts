// Runs the real program (index.ts) under the Pulumi SDK's mock runtime and
// records what it would register: every resource with its parent, inputs and
// dependencies, the stack outputs, and the rendered artifacts. Used by the
// offline preview and by the tests, so both see exactly the same plan.
import { createHash } from "crypto";
import { gunzipSync, gzipSync } from "zlib";
import * as pulumi from "@pulumi/pulumi";
import { collectArtifacts, resetArtifacts, type Artifact } from "../artifacts";
import { leanSdkDuringRun } from "./leanSdk";
import { MockMonitor, registerResponse, rpc, settings, state } from "./sdkInternals";
import { MockOptions, PlatformMocks } from "./mocks";

/** One planned resource, as the preview prints it and `--json` lists it. */
export interface PlannedResource {
  urn: string;
  type: string;
  name: string;
  /** Parent URN; undefined only for the stack itself. */
  parent?: string;
  custom: boolean;
  /** Inputs with secret values replaced by "[secret]". */
  inputs: Record<string, unknown>;
  /** URNs this resource waits for (explicit dependsOn and input dependencies). */
  dependsOn: string[];
  /** True when any input is a secret. */
  secret: boolean;
  /** The provider reference (`urn::id`) for resources that name one explicitly. */
  provider?: string;
  aliases: unknown[];
  protect: boolean;
  /** The mock's id for it: a diff follows a replaced resource's new id into its dependents. */
  id?: string;
  /** Resource options a diff honours: `ignoreChanges` paths, `deleteBeforeReplace`, `replaceOnChanges`. */
  ignoreChanges?: string[];
  deleteBeforeReplace?: boolean;
  replaceOnChanges?: string[];
  /** Paths of the inputs that are secrets, e.g. ["userData"]. */
  secretInputs: string[];
  /**
   * A component's registered outputs (`registerOutputs`), secrets masked: what CrossGuard's stack
   * policies see as its props (the engine analyses a stack by each resource's outputs). Undefined for
   * custom resources and components that register none.
   */
  outputs?: Record<string, unknown>;
  /** Paths of those outputs that are secrets. */
  secretOutputPaths?: string[];
  /** "read" for resources the program only reads (a StackReference); created otherwise. */
  operation?: "read";
  /**
   * A short digest of each secret input, so a diff sees that a secret changed
   * without showing it. Offline runs only ever hold mock values and placeholders.
   */
  secretDigests: Record<string, string>;
}

export interface Plan {
  stack: string;
  resources: PlannedResource[];
  /** Stack outputs, secrets masked. */
  outputs: Record<string, unknown>;
  /** Names of the outputs that are secrets. */
  secretOutputs: string[];
  /** Outputs with secrets unwrapped: what a StackReference to this stack reads. Never printed. */
  rawOutputs: Record<string, unknown>;
  /** Each resource's inputs as registered, secrets included (wrapped), by URN: for tests that look for a value. Never printed. */
  rawInputs: Record<string, Record<string, unknown>>;
  artifacts: Artifact[];
  /** Every secret value the mocks or config produced (to redact artifacts; never printed). */
  secretValues: Set<string>;
}

export const SECRET_MASK = "[secret]";

function isSecretValue(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[rpc.specialSigKey] === rpc.specialSecretSig;
}

/** A registered value with each secret replaced by what it holds (resource references and other special values kept). */
export function unwrapSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  if (o[rpc.specialSigKey] === rpc.specialSecretSig) return unwrapSecrets(o.value);
  if (rpc.specialSigKey in o) return v;
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrapSecrets(x)]));
}

/** Replaces secrets by the mask; records the paths that were secret (and their digests). */
export function maskSecrets(v: unknown, path: string, found: string[], digests?: Record<string, string>): unknown {
  if (isSecretValue(v)) {
    found.push(path || "(value)");
    if (digests)
      digests[path || "(value)"] = createHash("sha256")
        .update(JSON.stringify(v.value) ?? "")
        .digest("hex")
        .slice(0, 16);
    return SECRET_MASK;
  }
  if (Array.isArray(v)) return v.map((x, i) => maskSecrets(x, `${path}[${i}]`, found, digests));
  if (typeof v === "object" && v !== null) {
    if (rpc.specialSigKey in (v as object)) return `[${String((v as Record<string, unknown>)[rpc.specialSigKey]).slice(0, 8)}]`;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = maskSecrets(x, path ? `${path}.${k}` : k, found, digests);
    return out;
  }
  return v;
}

/** The options a diff needs, only when set (so plans without them keep their shape). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK's gRPC request objects are untyped
function options(req: any): Pick<PlannedResource, "ignoreChanges" | "deleteBeforeReplace" | "replaceOnChanges"> {
  const ignore: string[] = req.getIgnorechangesList?.() ?? [];
  const replaceOn: string[] = req.getReplaceonchangesList?.() ?? [];
  return {
    ...(ignore.length ? { ignoreChanges: ignore } : {}),
    ...(req.getDeletebeforereplace?.() ? { deleteBeforeReplace: true } : {}),
    ...(replaceOn.length ? { replaceOnChanges: replaceOn } : {}),
  };
}

function wrapSecret(value: unknown): unknown {
  return isSecretValue(value) ? value : { [rpc.specialSigKey]: rpc.specialSecretSig, value };
}

/**
 * The SDK's MockMonitor, plus what it drops: parent, dependencies, aliases and
 * additionalSecretOutputs (which the real engine applies, so random passwords
 * and private keys come back as secrets here too).
 */
class RecordingMonitor extends MockMonitor {
  readonly records: PlannedResource[] = [];
  readonly rawInputs: Record<string, Record<string, unknown>> = {};
  stackOutputs: Record<string, unknown> = {};
  stackRawOutputs: Record<string, unknown> = {};
  stackSecretOutputs: string[] = [];

  constructor(private readonly platformMocks: PlatformMocks) {
    super(platformMocks);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK's gRPC request objects are untyped
  async registerResource(req: any, callback: (err: any, resp: any) => void): Promise<void> {
    try {
      const type: string = req.getType();
      const name: string = req.getName();
      const custom: boolean = req.getCustom();
      const inputs = rpc.deserializeProperties(req.getObject());
      const result = this.platformMocks.newResource({ type, name, inputs, provider: req.getProvider(), custom, id: req.getImportid() });
      const resultState: Record<string, unknown> = { ...result.state };
      for (const key of req.getAdditionalsecretoutputsList() as string[]) {
        if (key in resultState) resultState[key] = wrapSecret(resultState[key]);
      }
      const urn = (this as unknown as { newUrn(p: string, t: string, n: string): string }).newUrn(req.getParent(), type, name);
      const secretInputs: string[] = [];
      const secretDigests: Record<string, string> = {};
      const masked = maskSecrets(inputs, "", secretInputs, secretDigests) as Record<string, unknown>;
      this.rawInputs[urn] = inputs;
      // A dynamic resource carries its provider's serialized code: noise in a plan.
      if (typeof masked.__provider === "string") masked.__provider = "[serialized dynamic provider]";
      this.records.push({
        urn,
        type,
        name,
        parent: req.getParent() || undefined,
        custom,
        inputs: masked,
        dependsOn: [...new Set<string>(req.getDependenciesList())],
        secret: secretInputs.length > 0,
        secretInputs,
        secretDigests,
        provider: req.getProvider() || undefined,
        aliases: (req.getAliasesList() as { toObject(): unknown }[]).map((a) => a.toObject()),
        protect: Boolean(req.getProtect()),
        id: result.id ?? undefined,
        ...options(req),
      });
      const serializedState = await rpc.serializeProperties("", resultState);
      this.resources.set(urn, { urn, id: result.id ?? null, state: serializedState });
      const response = registerResponse(urn, result.id || "", serializedState);
      callback(null, response);
    } catch (err) {
      callback(err, undefined);
    }
  }

  /** Reads (a StackReference) are part of the plan too: a reviewer sees which stack a member reads. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK's gRPC request objects are untyped
  async readResource(req: any, callback: (err: any, resp: any) => void): Promise<void> {
    const type: string = req.getType();
    const name: string = req.getName();
    const secretInputs: string[] = [];
    const secretDigests: Record<string, string> = {};
    this.records.push({
      urn: (this as unknown as { newUrn(p: string, t: string, n: string): string }).newUrn(req.getParent(), type, name),
      type,
      name,
      parent: req.getParent() || undefined,
      custom: true,
      inputs: maskSecrets(rpc.deserializeProperties(req.getProperties()), "", secretInputs, secretDigests) as Record<string, unknown>,
      dependsOn: [...new Set<string>(req.getDependenciesList())],
      secret: secretInputs.length > 0,
      secretInputs,
      secretDigests,
      provider: req.getProvider() || undefined,
      aliases: [],
      protect: false,
      operation: "read",
    });
    return super.readResource(req, callback);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK's gRPC request objects are untyped
  registerResourceOutputs(req: any, callback: (err: any, resp: any) => void): void {
    const record = this.records.find((r) => r.urn === req.getUrn() && !r.custom);
    if (record && record.type !== "pulumi:pulumi:Stack") {
      const secretOutputPaths: string[] = [];
      record.outputs = maskSecrets(rpc.deserializeProperties(req.getOutputs()), "", secretOutputPaths) as Record<string, unknown>;
      record.secretOutputPaths = secretOutputPaths;
    }
    if (req.getUrn().split("::")[2] === "pulumi:pulumi:Stack") {
      const outputs = rpc.deserializeProperties(req.getOutputs());
      this.stackSecretOutputs = Object.keys(outputs).filter((k) => isSecretValue(outputs[k]));
      this.stackOutputs = maskSecrets(outputs, "", []) as Record<string, unknown>;
      this.stackRawOutputs = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, isSecretValue(v) ? v.value : v]));
    }
    super.registerResourceOutputs(req, callback);
  }
}

export interface RunOptions extends MockOptions {
  stack: string;
  /** pulumi.getOrganization() for the run. Default "organization", as the SDK's own mocks. */
  organization?: string;
  /** Flat config as the engine passes it: `project:key` -> string (objects JSON-encoded). */
  config: Record<string, string>;
  /** Keys of `config` that are secrets. */
  secretKeys?: string[];
  /** The program: index.ts's default export. */
  program: () => Promise<Record<string, unknown> | void>;
  /**
   * Receives what was registered when the run fails (tests assert that invalid
   * config registers nothing); a successful run returns it in the plan.
   */
  onFailure?: (registered: PlannedResource[], stackOutputs: Record<string, unknown>) => void;
}

/** Runs the program once under mocks and returns the recorded plan. Runs must not overlap. */
export async function runOffline(opts: RunOptions): Promise<Plan> {
  const mocks = new PlatformMocks(opts);
  const monitor = new RecordingMonitor(mocks);
  pulumi.runtime.setAllConfig(opts.config, opts.secretKeys ?? []);
  settings.setMockOptions(monitor, "platform", opts.stack, true, opts.organization ?? "organization");
  const store = state.getStore();
  Object.assign(store, {
    supportsSecrets: true,
    supportsResourceReferences: true,
    supportsOutputValues: false,
    supportsDeletedWith: true,
    supportsAliasSpecs: true,
    supportsTransforms: false,
  });
  resetArtifacts();
  for (const key of opts.secretKeys ?? []) mocks.secretValues.add(opts.config[key]);
  // The SDK formats a stack trace for every Output and promise it creates (and
  // ts-node source-maps each one): most of a large plan's time. Error messages
  // are untouched; PREVIEW_STACK_TRACES=1 brings the frames back for debugging.
  const limit = Error.stackTraceLimit;
  const restoreSdk = process.env.PREVIEW_STACK_TRACES ? () => undefined : leanSdkDuringRun();
  if (!process.env.PREVIEW_STACK_TRACES) Error.stackTraceLimit = 0;
  // A component that throws (or an apply that fails) rejects promises nobody awaits;
  // collect them so the run fails with the program's own message instead of
  // crashing the process.
  const failures: unknown[] = [];
  const onRejection = (e: unknown) => failures.push(e);
  process.on("unhandledRejection", onRejection);
  try {
    await pulumi.runtime.runInPulumiStack(async () => (await opts.program()) ?? {});
    await settings.waitForRPCs();
  } catch (e) {
    failures.unshift(e);
  } finally {
    Error.stackTraceLimit = limit;
    restoreSdk();
    // Let stragglers of a failed run surface before the handler goes away.
    await new Promise((r) => setImmediate(r));
    process.off("unhandledRejection", onRejection);
  }
  // The stack's outputs as registered before the failure ({} when the stack never registered them).
  if (failures.length > 0) opts.onFailure?.(monitor.records, monitor.stackOutputs);
  if (failures.length > 0) throw failures[0] instanceof Error ? failures[0] : new Error(String(failures[0]));
  const artifacts = await collectArtifacts();
  return {
    stack: opts.stack,
    resources: monitor.records,
    outputs: monitor.stackOutputs,
    secretOutputs: monitor.stackSecretOutputs,
    rawOutputs: monitor.stackRawOutputs,
    rawInputs: monitor.rawInputs,
    artifacts,
    secretValues: mocks.secretValues,
  };
}

/**
 * Replaces every known secret value (and its base64 form) in an artifact's text,
 * also inside gzip+base64 payloads. Multi-line secrets (PEM keys) are also redacted line by line, since YAML block
 * scalars re-indent them.
 */
export function redact(text: string, secrets: Set<string>): string {
  const needles = new Set<string>();
  for (const s of secrets) {
    if (!s || s.length < 6) continue;
    needles.add(s);
    needles.add(Buffer.from(s).toString("base64"));
    if (s.includes("\n")) for (const line of s.split("\n")) if (line.length >= 16 && !line.startsWith("-----")) needles.add(line.trim());
  }
  let out = text;
  for (const n of [...needles].sort((a, b) => b.length - a.length)) out = out.split(n).join("<secret>");
  // A gzip+base64 payload (cloud-init `encoding: gz+b64`; "H4sI" is gzip's magic in base64) hides its text
  // from the search above: redact inside it and encode it again, changed only where a secret was.
  return out.replace(/H4sI[A-Za-z0-9+/]+={0,2}/g, (b64) => {
    let inner: string;
    try {
      inner = gunzipSync(Buffer.from(b64, "base64")).toString("utf8");
    } catch {
      return b64;
    }
    const clean = redact(inner, secrets);
    return clean === inner ? b64 : gzipSync(Buffer.from(clean), { level: 9 }).toString("base64");
  });
}
