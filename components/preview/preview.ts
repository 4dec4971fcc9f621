// The offline preview: the stack's config (plus `-c` overrides) through the
// real program under mocks, printed like `pulumi preview`. It never pretends to
// be one: its header says it is offline and mocked.
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { ConfigError, parseStackConfig } from "../config/stackConfig";
import { DiffableResource, PlanDiff } from "./planDiff";
import { checkPlan, loadPolicyConfig, policyConfigFileFor, Violation } from "./policyCheck";
import { hostFacts } from "../fleet/hostLookup";
import { preStackRef, TIER_OUTPUT, VALIDATED_IMAGES_OUTPUT, validatedImages } from "../fleet/validatedImages";
import { tierOf } from "../../policies/fleet";
import type { MockOptions } from "./mocks";
import { Plan, PlannedResource, redact, runOffline } from "./runtime";
import { EngineConfig, listStacks, loadEngineConfig, PROJECT_DIR, readProjectName, readStackFile, stackFilePath } from "../config/stackFiles";

export interface PreviewOptions {
  stack: string;
  overrides?: string[];
  dir?: string;
  /**
   * Outputs of other stacks (StackReference answers), by the name the program
   * references. Default: the host's KubeSphere members are planned offline first
   * and their outputs answer the references, so both sides agree on every value.
   */
  stackOutputs?: Record<string, { outputs: Record<string, unknown>; secretOutputNames: string[] }>;
  /** Invoke answers in place of the mocks' (tests). */
  /** The Pulumi organization the run is in (pulumi.getOrganization()). Default: the org of `platform:hostStack`, else "organization". */
  organization?: string;
  /** Receives what was registered when the run fails (a refusal before any resource, for one). */
  onFailure?: (registered: PlannedResource[], stackOutputs: Record<string, unknown>) => void;
  invokes?: MockOptions["invokes"];
  /** Resource answers by resource name in place of the mocks' (tests). */
  resources?: MockOptions["resources"];
  /**
   * The policy pack config the plan is checked with. Default: policies/config/prod.json
   * for the host and every prod-tier stack, nonprod.json otherwise (what the workflows pass to `pulumi preview`).
   */
  policyConfig?: string;
}

export interface PreviewResult {
  plan: Plan;
  config: EngineConfig;
  /** The policy pack's findings on this plan. */
  violations: Violation[];
  /** The policy config file they were checked with. */
  policyConfig: string;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const program = (): Promise<Record<string, unknown>> => require("../../index")();

/**
 * Validates the config first (so invalid config registers nothing, not even the
 * stack), then runs the program. Throws ConfigError on invalid config.
 */
export async function previewStack(opts: PreviewOptions): Promise<PreviewResult> {
  const dir = opts.dir ?? PROJECT_DIR;
  const project = readProjectName(dir);
  if (project !== "platform") throw new Error(`Pulumi.yaml names project "${project}", expected "platform"`);
  const config = loadEngineConfig(opts.stack, opts.overrides ?? [], dir);
  const settings = parseStackConfig(
    opts.stack,
    { values: config.values, secretKeys: config.secretKeys },
    {
      stacks: listStacks(dir),
      readStack: (name) => readStackFile(name, dir).values,
    },
  );
  // Read before planning: a broken policy config fails fast, naming its key.
  const policyConfig = opts.policyConfig ?? policyConfigFileFor(opts.stack, dir);
  const policies = loadPolicyConfig(policyConfig);
  // The host reads each KubeSphere member it lists (StackReference host -> member): those members are
  // planned offline first and their outputs answer the references, so both sides agree on every value.
  // Members read nothing from the host (components/fleet/hostLookup.ts): their plans need no other stack.
  // A member reads the host's stack file (its static facts): a broken one names that file, before anything runs.
  if (settings.hostStack) hostFacts(settings.hostStack, opts.stack, dir);
  let stackOutputs = opts.stackOutputs;
  const members = settings.env === "host" && settings.kubesphere?.enabled ? (settings.kubesphere.members ?? []) : [];
  if (!stackOutputs && members.length > 0) {
    stackOutputs = {};
    for (const ref of members) {
      const memberName = ref.split("/").pop()!;
      let member: PreviewResult;
      try {
        member = await previewStack({ stack: memberName, dir });
      } catch (e) {
        // The member's own mistakes name the member's file, not this stack's.
        if (e instanceof ConfigError && !e.source) {
          throw new ConfigError(e.problems, `${path.basename(stackFilePath(memberName, dir))}, a member ${opts.stack} reads (${ref})`);
        }
        throw e;
      }
      stackOutputs[ref] = { outputs: member.plan.rawOutputs, secretOutputNames: member.plan.secretOutputs };
    }
  }
  // A prod stack reads the images pre validated from pre's output (StackReference prod -> pre, T21), and every stack
  // reads its own last outputs (its tier; pre its list, prod what it runs). Offline pre's list is answered from pre's
  // stack file through the function pre's program exports it with (components/fleet/validatedImages.ts): cheap, pre
  // is not planned; any other stack's own read finds no outputs (never deployed). A caller's own answer wins (tests
  // give recorded outputs). The org is the host's (`platform:hostStack`), as a real run's would be.
  const organization = opts.organization ?? (settings.hostStack?.split("/").length === 3 ? settings.hostStack.split("/")[0] : "organization");
  if ((settings.isProd || tierOf(opts.stack, dir) === "pre") && Object.keys(settings.apps ?? {}).length > 0) {
    const preRef = preStackRef(organization, project, dir);
    if (!stackOutputs?.[preRef]) {
      const preApps = readStackFile(preRef.split("/").pop()!, dir).values[`${project}:apps`] as Parameters<typeof validatedImages>[0];
      stackOutputs = {
        ...stackOutputs,
        [preRef]: { outputs: { [VALIDATED_IMAGES_OUTPUT]: validatedImages(preApps), [TIER_OUTPUT]: "pre" }, secretOutputNames: [] },
      };
    }
  }
  const ownRef = `${organization}/${project}/${opts.stack}`;
  if (!stackOutputs?.[ownRef]) stackOutputs = { ...stackOutputs, [ownRef]: { outputs: {}, secretOutputNames: [] } };
  const plan = await runOffline({
    stack: opts.stack,
    organization,
    config: config.values,
    secretKeys: config.secretKeys,
    stackOutputs,
    invokes: opts.invokes,
    resources: opts.resources,
    onFailure: opts.onFailure,
    program,
  });
  return { plan, config, violations: checkPlan(plan, policies), policyConfig };
}

/** `alicloud:ecs/instance:Instance` -> `alicloud:ecs:Instance`, as the CLI shows types. */
export function displayType(type: string): string {
  const parts = type.split(":");
  if (parts.length === 3 && parts[1].includes("/")) return `${parts[0]}:${parts[1].split("/")[0]}:${parts[2]}`;
  return type;
}

/** A resource's mark and word in the tree, from the diff: what `pulumi preview` shows against a stack's last state. */
const TREE_OP: Record<string, [string, string]> = {
  create: ["+ ", "create"],
  replace: ["+-", "replace"],
  stop: ["! ", "update, stops the instance"],
  update: ["~ ", "update"],
  delete: ["- ", "delete"],
  same: ["  ", "same"],
  read: ["> ", "read"],
};

/**
 * The plan as a `pulumi preview`-like tree, children under their parents in registration order. Without a
 * diff every resource is a create (a new stack); with one, each carries the diff's own mark (+ create,
 * +- replace, ! update that stops, ~ update, blank unchanged) and deleted resources follow the tree, marked -.
 */
export function formatTree(plan: Plan, diff?: PlanDiff): string {
  const children = new Map<string | undefined, PlannedResource[]>();
  for (const r of plan.resources) {
    const list = children.get(r.parent) ?? [];
    list.push(r);
    children.set(r.parent, list);
  }
  const added = new Set(diff?.added ?? []);
  const changed = new Map((diff?.changed ?? []).map((c) => [c.urn, c.op as string]));
  for (const u of diff?.unaliased ?? []) changed.set(u.to, "replace");
  const opOf = (r: PlannedResource): string => {
    if (r.operation === "read") return "read";
    if (!diff) return r.operation ?? "create";
    return changed.get(r.urn) ?? (added.has(r.urn) ? "create" : "same");
  };
  const rows: [string, string, string, string][] = [];
  const walk = (r: PlannedResource, prefix: string, last: boolean, root: boolean) => {
    const branch = root ? "" : `${prefix}${last ? "└─ " : "├─ "}`;
    const [mark, word] = TREE_OP[opOf(r)] ?? ["+ ", opOf(r)];
    rows.push([mark, `${branch}${displayType(r.type)}`, r.name, r.secret ? `${word} (secret inputs)` : word]);
    const kids = children.get(r.urn) ?? [];
    const nextPrefix = root ? "" : `${prefix}${last ? "   " : "│  "}`;
    kids.forEach((k, i) => walk(k, nextPrefix, i === kids.length - 1, false));
  };
  for (const r of children.get(undefined) ?? []) walk(r, "", true, true);
  const deleted = [...(diff?.removed ?? []), ...(diff?.unaliased ?? []).map((u) => u.from)];
  for (const urn of deleted) {
    const type = urn.split("::")[2].split("$").pop()!;
    rows.push(["- ", displayType(type), urn.split("::").pop()!, "delete"]);
  }
  const w0 = Math.max(4, ...rows.map((r) => r[1].length));
  const w1 = Math.max(4, ...rows.map((r) => r[2].length));
  const lines = [`     ${"Type".padEnd(w0)}  ${"Name".padEnd(w1)}  Plan`];
  for (const [m, t, n, p] of rows) lines.push(` ${m}  ${t.padEnd(w0)}  ${n.padEnd(w1)}  ${p}`);
  return lines.join("\n");
}

export function countByType(plan: Plan): [string, number][] {
  const counts = new Map<string, number>();
  for (const r of plan.resources) counts.set(displayType(r.type), (counts.get(displayType(r.type)) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** One planned resource as plan.json and the `--json` document hold it: parent null at the root, flags only when set. */
export function toPlanJson(r: PlannedResource): Record<string, unknown> {
  return {
    urn: r.urn,
    type: r.type,
    name: r.name,
    parent: r.parent ?? null,
    inputs: r.inputs,
    dependsOn: r.dependsOn,
    secret: r.secret,
    secretInputs: r.secretInputs,
    secretDigests: r.secretDigests,
    ...(r.provider ? { provider: r.provider } : {}),
    ...(r.aliases.length ? { aliases: r.aliases } : {}),
    ...(r.protect ? { protect: true } : {}),
    ...(r.id ? { id: r.id } : {}),
    ...(r.ignoreChanges ? { ignoreChanges: r.ignoreChanges } : {}),
    ...(r.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
    ...(r.replaceOnChanges ? { replaceOnChanges: r.replaceOnChanges } : {}),
  };
}

/** A resource of plan.json (or of a `--json` document) read back: what the diff compares. */
export function fromPlanJson(r: Record<string, unknown>): DiffableResource {
  const o = r as Partial<DiffableResource> & { urn: string };
  return {
    urn: o.urn,
    type: o.type,
    parent: o.parent,
    inputs: o.inputs ?? {},
    dependsOn: o.dependsOn,
    secretDigests: o.secretDigests,
    aliases: o.aliases,
    ignoreChanges: o.ignoreChanges,
    deleteBeforeReplace: o.deleteBeforeReplace,
    replaceOnChanges: o.replaceOnChanges,
    protect: o.protect,
    id: o.id,
  };
}

/** The `--json` document; `diff` only when the preview was asked to diff (`--diff-from`). */
export function planJson(plan: Plan, policies: unknown[] = [], diff?: PlanDiff): Record<string, unknown> {
  return {
    stack: plan.stack,
    resources: plan.resources.map(toPlanJson),
    outputs: plan.outputs,
    policies,
    ...(diff ? { diff } : {}),
  };
}

export const ARTIFACT_DIRS = ["haproxy", "cloud-init", "manifests", "ipsec", "dashboards"] as const;

/**
 * Writes `plan.json` and the artifacts a reviewer reads: each Kubernetes object
 * as YAML and each Helm release's values (from the planned inputs), plus every
 * rendered document the components recorded. Every secret is redacted.
 */
export function writeArtifacts(dir: string, plan: Plan, policies: unknown[] = []): string[] {
  return writeArtifactsPruning(dir, plan, policies).written;
}

/** The list of files a preview wrote into its --out folder: the only files a later run may remove. */
export const MANIFEST = ".preview-files";

/**
 * writeArtifacts, then removes the files an earlier run listed in the folder's
 * manifest that this plan no longer writes (a deleted node's cloud-init, say).
 * Files the manifest does not list (a user's own) are never touched.
 */
export function writeArtifactsPruning(dir: string, plan: Plan, policies: unknown[] = []): { written: string[]; removed: string[] } {
  const manifest = path.join(dir, MANIFEST);
  const earlier = fs.existsSync(manifest) ? fs.readFileSync(manifest, "utf8").split("\n").filter(Boolean) : [];
  const written: string[] = [];
  const write = (rel: string, text: string) => {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, redact(text, plan.secretValues));
    written.push(rel);
  };
  for (const d of ARTIFACT_DIRS) fs.mkdirSync(path.join(dir, d), { recursive: true });
  write("plan.json", JSON.stringify(planJson(plan, policies), null, 2) + "\n");
  for (const a of plan.artifacts) write(path.join(a.kind, a.file), a.text);
  for (const r of plan.resources) {
    if (!r.custom || !r.type.startsWith("kubernetes:")) continue;
    const safe = r.name.replace(/[^A-Za-z0-9_.-]/g, "_");
    if (r.type === "kubernetes:helm.sh/v3:Release") {
      const { values, ...release } = r.inputs as { values?: unknown };
      write(path.join("manifests", `helm-${safe}.values.yaml`), YAML.stringify(values ?? {}));
      write(path.join("manifests", `helm-${safe}.release.yaml`), YAML.stringify(release));
    } else {
      write(path.join("manifests", `${safe}.yaml`), YAML.stringify(r.inputs));
    }
  }
  const now = new Set(written);
  const root = path.resolve(dir);
  const removed: string[] = [];
  for (const rel of earlier) {
    const file = path.resolve(dir, rel);
    // Only plain files inside the folder: a tampered manifest cannot reach outside it.
    if (now.has(rel) || !file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) continue;
    fs.rmSync(file);
    removed.push(rel);
  }
  fs.writeFileSync(manifest, [...now].sort().join("\n") + "\n");
  return { written, removed };
}

export { ConfigError };
