// The fleet, read from the stack files: every Pulumi.<stack>.yaml next to
// Pulumi.yaml is a stack (one per cluster), and each file says what it is with
// `platform:tier` (host, dev, test, pre or prod; a stack named after its tier may
// leave it out). The host's `platform:kubesphere.members` lists the members it
// registers. Nothing else names the stacks: the config schema, the policy pack,
// Apollo's env, CI's stack selection, drift and the prod-tag check all derive
// from this, so adding a cluster is a new stack file plus its entry in the
// host's members, with no code edit.
//
// Pulumi-free (the policy pack and the ops scripts use it); `yaml` is a
// dependency of both package.json files.
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";

/** What a stack is, in promotion order; the rules (image tags, policy enforcement, Apollo env, promotions) depend on this, not on the stack's name. */
export const TIERS = ["host", "dev", "test", "pre", "prod"] as const;
export type Tier = (typeof TIERS)[number];

export interface FleetStack {
  /** The stack name (Pulumi.<name>.yaml; also its `platform:env`). */
  name: string;
  tier: Tier;
}

export interface Fleet {
  /** Every stack in deploy order: host first, then by tier (dev, test, pre, prod), by name within a tier. */
  stacks: FleetStack[];
  /** The host stack's name. */
  host: string;
  /** The members the host registers (`platform:kubesphere.members`, stack names). */
  members: string[];
}

/** The directory holding Pulumi.yaml and the stack files: the nearest one above this file (policies/, or policies/bin when built). */
export const FLEET_DIR = projectDir(__dirname);

function projectDir(from: string): string {
  for (let d = path.resolve(from, ".."); ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, "Pulumi.yaml"))) return d;
    if (path.dirname(d) === d) return path.resolve(from, "..");
  }
}

/** A stack file or member list that does not make a fleet; each line names its file and key. */
export class FleetError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "FleetError";
  }
}

function isTier(s: unknown): s is Tier {
  return typeof s === "string" && (TIERS as readonly string[]).includes(s);
}

/**
 * The tier CI's shell reads from a stack file's text (.github/scripts/changed-stacks.sh, tier_in: its sed takes the
 * first line `  platform:tier: <tier>` at a 2-space indent, quoted or not, a comment after it allowed; none, or an
 * empty value, is the stack's name). The deploy workflow picks the prod job and prod's policies by it, the program
 * by the YAML: readFleet refuses a file the two read differently, and deploy.yml's `changes` job runs check:fleet
 * (which reads the fleet) before it takes the shell's answer (T21).
 */
export function lineTier(text: string, name: string): string {
  for (const l of text.split("\n")) {
    const m = /^ {2}platform:tier:[ \t\r\f\v]*"?([a-z]*)"?[ \t\r\f\v]*(#[^\n]*)?$/.exec(l);
    if (m) return m[1] || name;
  }
  return name;
}

const cache = new Map<string, { key: string; fleet: Fleet }>();

/** Reads the fleet from the stack files in `dir` (cached per directory while the files are unchanged). */
export function readFleet(dir = FLEET_DIR): Fleet {
  let files: string[];
  try {
    files = fs
      .readdirSync(dir)
      .filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f))
      .sort();
  } catch (e) {
    throw new FleetError([`${dir}: cannot list the stack files (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
  // No stack files: the pack published alone (`pulumi policy publish`) has no fleet; no stack has a tier there.
  if (files.length === 0) return { stacks: [], host: "", members: [] };
  const key = files.map((f) => `${f}:${fs.statSync(path.join(dir, f)).mtimeMs}`).join(",");
  const hit = cache.get(dir);
  if (hit && hit.key === key) return hit.fleet;

  const problems: string[] = [];
  const stacks: FleetStack[] = [];
  const membersOf = new Map<string, unknown>();
  /** Stacks whose file exists but says nothing readable: named once, by their own line. */
  const unread = new Set<string>();
  for (const f of files) {
    const name = f.slice("Pulumi.".length, -".yaml".length);
    let config: Record<string, unknown>;
    let text: string;
    try {
      text = fs.readFileSync(path.join(dir, f), "utf8");
      const doc = YAML.parse(text) as { config?: Record<string, unknown> } | null;
      config = doc?.config ?? {};
    } catch (e) {
      problems.push(`${f}: not valid YAML: ${(e as Error).message.split("\n")[0]}`);
      unread.add(name);
      continue;
    }
    const declared = config["platform:tier"];
    if (declared !== undefined && !isTier(declared)) {
      problems.push(`${f}: platform:tier: "${String(declared)}" is not one of ${TIERS.join(", ")}`);
      unread.add(name);
      continue;
    }
    const tier = declared ?? (isTier(name) ? name : undefined);
    if (tier === undefined) {
      problems.push(`${f}: platform:tier is required (the stack name "${name}" is not a tier): one of ${TIERS.join(", ")}`);
      unread.add(name);
      continue;
    }
    const line = lineTier(text, name);
    if (line !== tier) {
      problems.push(
        `${f}: platform:tier reads as ${tier} in the YAML but as ${line} to CI's line parse (.github/scripts/changed-stacks.sh: the first line "  platform:tier: <tier>", else the stack's name); ` +
          `write it once, as the line "  platform:tier: ${tier}" under config:, and no other line of that form`,
      );
      unread.add(name);
      continue;
    }
    stacks.push({ name, tier });
    if (tier === "host") membersOf.set(name, (config["platform:kubesphere"] as { members?: unknown } | undefined)?.members);
  }
  const hosts = stacks.filter((s) => s.tier === "host").map((s) => s.name);
  // A file that did not parse may be the host: "found none" would then be a false line.
  if (hosts.length > 1 || (hosts.length === 0 && problems.length === 0)) {
    problems.push(`the fleet needs exactly one stack with platform:tier host, found ${hosts.length ? hosts.join(", ") : "none"}`);
  }
  const host = hosts[0] ?? "";
  const members: string[] = [];
  const refs = membersOf.get(host) ?? [];
  if (!Array.isArray(refs)) {
    problems.push(`Pulumi.${host}.yaml: platform:kubesphere.members must be a list of <org>/platform/<stack>`);
  } else {
    for (const ref of refs) {
      const name = String(ref).split("/").pop() ?? "";
      const s = stacks.find((x) => x.name === name);
      if (!s) {
        if (!unread.has(name)) problems.push(`Pulumi.${host}.yaml: platform:kubesphere.members: ${String(ref)} has no stack file Pulumi.${name}.yaml`);
      } else if (s.tier === "host") problems.push(`Pulumi.${host}.yaml: platform:kubesphere.members: ${String(ref)} is a host, not a member`);
      else members.push(name);
    }
  }
  if (problems.length > 0) throw new FleetError(problems);
  stacks.sort((a, b) => TIERS.indexOf(a.tier) - TIERS.indexOf(b.tier) || a.name.localeCompare(b.name));
  const fleet = { stacks, host, members };
  cache.set(dir, { key, fleet });
  return fleet;
}

/** The tier of `stack`, or undefined when it has no stack file in `dir`. */
export function tierOf(stack: string, dir = FLEET_DIR): Tier | undefined {
  return readFleet(dir).stacks.find((s) => s.name === stack)?.tier;
}

/** The stacks of one tier, in deploy order. */
export function stacksOfTier(tier: Tier, dir = FLEET_DIR): string[] {
  return readFleet(dir)
    .stacks.filter((s) => s.tier === tier)
    .map((s) => s.name);
}
