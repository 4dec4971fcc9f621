// The CI/CD workflows (.github/workflows) and the script that decides which stacks a
// change affects. The YAML is checked for the rules every job must keep (pinned
// actions, policy packs per stack, protected environments, minimal permissions), not
// restated line by line; the shell in it is checked by shellcheck and, where it decides something, run by
// bash: the stack script, the git ranges, the offline preview loop (with a fake npm),
// the PR comment script (with a fake GitHub), and the DingTalk alarm (against a
// loopback webhook). A missing tool fails the test; nothing is skipped.

import { execFile, spawnSync, SpawnSyncReturns } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import YAML from "yaml";
import { STACKS } from "../../components/config/keys";
import { lineTier, readFleet, stacksOfTier } from "../../policies/fleet";
import { readRunnerPlan, runsOnLabels, workflowNeeds } from "../../components/ops/ciRunners";

const ROOT = path.resolve(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, ".github/scripts/changed-stacks.sh");
const ALL = [...STACKS];
const PROD = ["prod1", "prod2"];
/** A prod stack file's least content: its tier (the script reads each stack's tier from its file). */
const PROD_FILE = "config:\n  platform:tier: prod # its tier\n";
const SECRETS = ["PULUMI_ACCESS_TOKEN", "ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY"];
/** The preview-only repository secrets the PR preview and drift pass under those names (T30). */
const PREVIEW_SECRETS: Record<string, string> = {
  PULUMI_ACCESS_TOKEN: "PULUMI_PREVIEW_ACCESS_TOKEN",
  ALICLOUD_ACCESS_KEY: "ALICLOUD_READONLY_ACCESS_KEY",
  ALICLOUD_SECRET_KEY: "ALICLOUD_READONLY_SECRET_KEY",
};
/** pulumi/actions v6.6.1, the commit its tag names (fetched from github.com/pulumi/actions, 2026-12-07). */
const PULUMI_ACTION = "pulumi/actions@8582a9e8cc630786854029b4e09281acd6794b58";

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  "continue-on-error"?: boolean;
  "working-directory"?: string;
  "timeout-minutes"?: number;
}
interface Job {
  needs?: string | string[];
  if?: string;
  "runs-on": string | string[];
  "timeout-minutes"?: number;
  container?: string | { image: string; options?: string };
  environment?: string;
  permissions?: Record<string, string> | string;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  strategy?: { matrix: Record<string, unknown>; "max-parallel"?: number; "fail-fast"?: boolean };
  outputs?: Record<string, string>;
  env?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  defaults?: { run?: { shell?: string } };
  jobs: Record<string, Job>;
}

function workflow(file: string): Workflow {
  return YAML.parse(fs.readFileSync(path.join(ROOT, ".github/workflows", file), "utf8")) as Workflow;
}
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { engines: { node: string }; scripts: Record<string, string> };
const WORKFLOWS = ["pull-request.yml", "deploy.yml", "drift.yml"];
const pr = workflow("pull-request.yml");
const deploy = workflow("deploy.yml");
const drift = workflow("drift.yml");

const pulumiSteps = (j: Job): Step[] => j.steps.filter((s) => s.uses?.startsWith("pulumi/actions@"));
function step(j: Job, pred: (s: Step) => boolean, what: string): Step {
  const found = j.steps.filter(pred);
  if (found.length !== 1) throw new Error(`expected one step ${what}, found ${found.length}`);
  return found[0];
}
const byId = (j: Job, id: string): Step => step(j, (s) => s.id === id, `with id ${id}`);

/**
 * The `uses:` lines of a workflow's text that are not pinned: each must name an action by a full
 * 40-hex commit sha followed by `# <tag>` (a tag can be moved to other code; a sha cannot).
 */
function unpinnedUses(text: string): string[] {
  const bad: string[] = [];
  for (const m of text.matchAll(/^\s*(?:- )?uses:\s*(.*?)\s*$/gm)) {
    if (!/^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@[0-9a-f]{40} # v\d+(\.\d+){0,2}$/.test(m[1])) bad.push(m[1]);
  }
  return bad;
}

let tmp: string;
let seq = 0;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "workflows-test-"));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * Runs a tool; a missing binary is a test failure, not a skip. Input goes in as a
 * file on stdin, not through a pipe: a script that exits before reading it (an
 * argument error) would otherwise race the write and fail it with EPIPE.
 */
function run(cmd: string, args: string[], opts: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  const { input, ...rest } = opts;
  let stdin: number | "ignore" = "ignore";
  if (input !== undefined) {
    const file = path.join(tmp, `stdin-${++seq}`);
    fs.writeFileSync(file, input);
    stdin = fs.openSync(file, "r");
  }
  try {
    const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 30_000, ...rest, stdio: [stdin, "pipe", "pipe"] });
    if (r.error) {
      const e = r.error as NodeJS.ErrnoException;
      throw new Error(
        e.code === "ENOENT"
          ? `${cmd} is not installed: it comes with the Debian packages in .ci/tools.txt (npm run test:all installs them)`
          : `${cmd} ${args.join(" ")} could not run: ${e.message}`,
      );
    }
    return r;
  } finally {
    if (typeof stdin === "number") fs.closeSync(stdin);
  }
}

function stacksFor(files: string[], extra: string[] = []): SpawnSyncReturns<string> {
  return run(SCRIPT, extra, { input: files.join("\n") + "\n" });
}
function parsedStacks(files: string[], extra: string[] = []): string[] {
  const r = stacksFor(files, extra);
  if (r.status !== 0) throw new Error(`changed-stacks.sh exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}

/**
 * Runs a `run:` block the way the runner does with `shell: bash`
 * (bash --noprofile --norc -eo pipefail FILE) and returns its GITHUB_OUTPUT.
 */
function runBlock(block: string, env: Record<string, string>, cwd = ROOT): { r: SpawnSyncReturns<string>; outputs: Record<string, string> } {
  const dir = path.join(tmp, `step-${++seq}`);
  fs.mkdirSync(dir);
  const file = path.join(dir, "step.sh");
  const out = path.join(dir, "github_output");
  fs.writeFileSync(file, block);
  fs.writeFileSync(out, "");
  const r = run("bash", ["--noprofile", "--norc", "-eo", "pipefail", file], {
    cwd,
    env: { PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`, HOME: dir, RUNNER_TEMP: dir, GITHUB_OUTPUT: out, ...env },
  });
  const outputs: Record<string, string> = {};
  for (const line of fs.readFileSync(out, "utf8").split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) outputs[line.slice(0, i)] = line.slice(i + 1);
  }
  return { r, outputs };
}

function git(cwd: string, ...args: string[]): string {
  const r = run("git", ["-c", "user.name=ci", "-c", "user.email=ci@example.invalid", "-c", "init.defaultBranch=main", ...args], {
    cwd,
    // The machine's own git config (signing, hooks paths) must not change the outcome.
    env: { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" },
  });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}
function commit(repo: string, files: Record<string, string>, message: string): string {
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(repo, f)), { recursive: true });
    fs.writeFileSync(path.join(repo, f), text);
  }
  git(repo, "add", "-A");
  git(repo, "commit", "-q", "-m", message);
  return git(repo, "rev-parse", "HEAD");
}
/** The tier changed-stacks.sh reads from a stack file's text: its own sed (tier_in), run by sed; none is the name. */
function tierIn(text: string, name: string): string {
  const sed = /t=\$\(sed -n '([^']+)'/.exec(fs.readFileSync(SCRIPT, "utf8"))![1];
  const r = run("sed", ["-n", sed], { input: text });
  expect(r.status).toBe(0);
  return r.stdout.split("\n")[0] || name;
}
/** A git repository with the deploy scripts and one commit of every stack file. */
function repoWithScript(name: string): { repo: string; first: string } {
  const repo = path.join(tmp, name);
  fs.mkdirSync(path.join(repo, ".github/scripts"), { recursive: true });
  for (const f of ["changed-stacks.sh", "require-reviewers.sh"]) {
    fs.copyFileSync(path.join(ROOT, ".github/scripts", f), path.join(repo, ".github/scripts", f));
    fs.chmodSync(path.join(repo, ".github/scripts", f), 0o755);
  }
  git(repo, "init", "-q");
  const files: Record<string, string> = { "index.ts": "// program\n", "README.md": "# platform\n" };
  for (const s of ALL) files[`Pulumi.${s}.yaml`] = PROD.includes(s) ? PROD_FILE : `config: {}\n`;
  return { repo, first: commit(repo, files, "initial") };
}

describe("changed-stacks.sh", () => {
  it.each<[string, string[], string[]]>([
    ["only a prod stack file", ["Pulumi.prod1.yaml"], ["prod1"]],
    ["a component", ["components/x.ts"], ALL],
    ["docs only", ["README.md"], []],
    ["two stack files, printed in deploy order", ["Pulumi.pre.yaml", "docs/x.md", "Pulumi.host.yaml"], ["host", "pre"]],
    ["the program entry point", ["index.ts"], ALL],
    ["the project file", ["Pulumi.yaml"], ALL],
    ["the lock file", ["package-lock.json"], ALL],
    ["package.json", ["package.json"], ALL],
    ["the policy pack", ["policies/config/prod.json"], ALL],
    ["a nested component", ["components/cluster/haproxy.ts"], ALL],
    ["tests and CI only", ["test/config.test.ts", ".github/workflows/deploy.yml", ".ci/run"], []],
    ["a stack-looking file in a subfolder", ["docs/Pulumi.prod1.yaml"], []],
    ["a package.json-looking path elsewhere", ["packages/app/package.json", "tools/package-lock.json"], []],
    ["nothing", [], []],
  ])("%s", (_what, files, expected) => {
    expect(parsedStacks(files)).toEqual(expected);
  });

  it("takes the files as arguments too, and tolerates ./ and CRLF", () => {
    const r = run(SCRIPT, ["./Pulumi.dev.yaml", "Pulumi.prod2.yaml\r"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('["dev","prod2"]\n');
  });

  it("splits by tier: non-prod for the first deploy job, prod for the second", () => {
    expect(parsedStacks(["index.ts"], ["--tier", "nonprod"])).toEqual(["host", "dev", "test", "pre"]);
    expect(parsedStacks(["index.ts"], ["--tier", "prod"])).toEqual(PROD);
    expect(parsedStacks(["Pulumi.dev.yaml"], ["--tier", "prod"])).toEqual([]);
    const bad = stacksFor(["index.ts"], ["--tier", "staging"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--tier must be nonprod, prod or all");
  });

  it("stops on a stack file it does not know, naming the file", () => {
    const r = stacksFor(["Pulumi.prod3.yaml"]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("Pulumi.prod3.yaml: no stack 'prod3' at the repository root");
  });

  it("lists the stack files at the root, in deploy order, as policies/fleet.ts reads them", () => {
    expect(JSON.parse(run(SCRIPT, ["--list"]).stdout)).toEqual(["host", "dev", "test", "pre", "prod1", "prod2"]);
    expect(JSON.parse(run(SCRIPT, ["--list"]).stdout)).toEqual(readFleet().stacks.map((s) => s.name));
    expect(run(SCRIPT, ["--list", "--tier", "prod"]).stdout).toBe('["prod1","prod2"]\n');
    expect(run(SCRIPT, ["--list", "--tier", "prod"]).stdout).toBe(JSON.stringify(stacksOfTier("prod")) + "\n");
  });

  it("takes a new cluster from its stack file alone: a prod3 file with platform:tier prod is listed, previewed and mandatory", () => {
    const { repo } = repoWithScript("prod3");
    const script = path.join(repo, ".github/scripts/changed-stacks.sh");
    fs.writeFileSync(path.join(repo, "Pulumi.prod3.yaml"), 'config:\n  platform:env: prod3\n  platform:tier: "prod"\n');
    expect(run(script, ["--list", "--tier", "prod"]).stdout).toBe('["prod1","prod2","prod3"]\n');
    expect(run(script, ["Pulumi.prod3.yaml", "Pulumi.dev.yaml"]).stdout).toBe('["dev","prod3"]\n');
    expect(run(script, ["--policy-config", "prod3"]).stdout).toBe("policies/config/prod.json\n");
    // A name that is not a tier, with no tier line, is refused: it would silently fall out of CI.
    fs.writeFileSync(path.join(repo, "Pulumi.prod4.yaml"), "config:\n  platform:env: prod4\n");
    const r = run(script, ["--list"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("Pulumi.prod4.yaml: platform:tier is required (the stack name is not a tier): one of host dev test pre prod");
  });

  it.each(ALL)("maps %s to its policy pack config", (stack) => {
    const r = run(SCRIPT, ["--policy-config", stack]);
    expect(r.status).toBe(0);
    // The host is judged with the prod rules (docs/threat-model.md, T20).
    expect(r.stdout).toBe(`policies/config/${PROD.includes(stack) || stack === "host" ? "prod" : "nonprod"}.json\n`);
  });

  it("refuses a policy config for an unknown stack", () => {
    const r = run(SCRIPT, ["--policy-config", "staging"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown stack 'staging'");
  });

  it("prints exactly the touched stacks, in deploy order, for any mix of stack files and other files", () => {
    const other = fc.constantFrom("README.md", "test/a.test.ts", ".github/workflows/pull-request.yml", "docs/runbook.md");
    fc.assert(
      fc.property(fc.subarray(ALL), fc.array(other, { maxLength: 3 }), fc.boolean(), (stacks, noise, reversed) => {
        const files = [...stacks.map((s) => `Pulumi.${s}.yaml`), ...noise];
        if (reversed) files.reverse();
        expect(parsedStacks(files)).toEqual(ALL.filter((s) => stacks.includes(s)));
      }),
      { numRuns: 30 },
    );
  });

  it("--tier-changes: refuses a stack file whose platform:tier differs between two commits, read with the same parse (T21)", () => {
    const { repo, first } = repoWithScript("tier-changes");
    const script = path.join(repo, ".github/scripts/changed-stacks.sh");
    // prod1 re-tiered as test, pre given an explicit tier of test: two lines, exit 1.
    const retier = commit(repo, { "Pulumi.prod1.yaml": "config:\n  platform:tier: test\n", "Pulumi.pre.yaml": 'config:\n  platform:tier: "test"\n' }, "retier");
    const r = run(script, ["--tier-changes", first, retier]);
    expect([r.status, r.stdout, r.stderr]).toEqual([
      1,
      "",
      "changed-stacks: Pulumi.pre.yaml: platform:tier changes from pre to test; a stack keeps the tier it was deployed with (T21): set it back to pre, " +
        'or re-tier by destroying the stack and creating it again (docs/runbooks/add-a-cluster.md, "Re-tiering a stack")\n' +
        "changed-stacks: Pulumi.prod1.yaml: platform:tier changes from prod to test; a stack keeps the tier it was deployed with (T21): set it back to prod, " +
        'or re-tier by destroying the stack and creating it again (docs/runbooks/add-a-cluster.md, "Re-tiering a stack")\n',
    ]);
    // Other edits, a tier written out that equals the name's, an added and a deleted stack file: no change of tier.
    const same = commit(
      repo,
      { "Pulumi.prod1.yaml": `${PROD_FILE}  a: 1\n`, "Pulumi.pre.yaml": "config: {}\n", "Pulumi.dev.yaml": "config:\n  platform:tier: dev\n" },
      "same",
    );
    fs.rmSync(path.join(repo, "Pulumi.test.yaml"));
    const moved = commit(repo, { "Pulumi.prod3.yaml": "config:\n  platform:tier: prod\n" }, "add prod3, remove test");
    expect(run(script, ["--tier-changes", first, same])).toMatchObject({ status: 0, stdout: "", stderr: "" });
    expect(run(script, ["--tier-changes", same, moved])).toMatchObject({ status: 0, stdout: "", stderr: "" });
    // A commit that is not one: a usage error.
    expect(run(script, ["--tier-changes", "nope", same])).toMatchObject({
      status: 2,
      stderr: "changed-stacks: --tier-changes: 'nope' is not a commit of this repository\n",
    });
  });

  it("one tier parse: a file the shell's line parse and the YAML read differently is refused by readFleet, so by check:fleet (T21)", () => {
    // The reviewer's file: config indented by 4 spaces says test; a top-level block scalar holds a 2-space line saying prod.
    const tricky = "config:\n    platform:tier: test\n    platform:env: prod1\nreviewNote: |\n  platform:tier: prod\n";
    const { repo, first } = repoWithScript("tier-parse");
    const after = commit(repo, { "Pulumi.prod1.yaml": tricky }, "prod1 reads as test");
    const script = path.join(repo, ".github/scripts/changed-stacks.sh");
    // The shell still reads prod: no tier change, and prod1 is in the prod list.
    expect(run(script, ["--tier-changes", first, after])).toMatchObject({ status: 0, stderr: "" });
    expect(run(script, ["--tier", "prod", "Pulumi.prod1.yaml"])).toMatchObject({ status: 0, stdout: '["prod1"]\n' });
    expect(lineTier(tricky, "prod1")).toBe("prod");
    // The program's read of the same files refuses it, naming both reads.
    expect(() => readFleet(repo)).toThrow(
      "Pulumi.prod1.yaml: platform:tier reads as test in the YAML but as prod to CI's line parse (.github/scripts/changed-stacks.sh: the first line \"  platform:tier: <tier>\", else the stack's name); " +
        'write it once, as the line "  platform:tier: test" under config:, and no other line of that form',
    );
    // The opposite trick (the YAML says prod, the line parse the name): refused too.
    const opposite = repoWithScript("tier-parse-opposite").repo;
    fs.writeFileSync(path.join(opposite, "Pulumi.prod1.yaml"), "config:\n    platform:tier: prod\n");
    expect(() => readFleet(opposite)).toThrow(
      "Pulumi.prod1.yaml: platform:tier reads as prod in the YAML but as prod1 to CI's line parse (.github/scripts/changed-stacks.sh: the first line \"  platform:tier: <tier>\", else the stack's name); " +
        'write it once, as the line "  platform:tier: prod" under config:, and no other line of that form',
    );
    // What the shell reads, the program reads: quoted, commented, CRLF and the name's default agree.
    for (const [text, tier] of [
      ['config:\n  platform:tier: "prod" # its tier\r\n', "prod"],
      ["config:\n  platform:tier:   test\n", "test"],
      ["config: {}\n", "prod1"],
    ]) {
      expect(lineTier(text, "prod1")).toBe(tier);
      expect(tierIn(text, "prod1")).toBe(tier);
    }
  });

  it("the script reads in the C locale, as lineTier does: a Unicode space a UTF-8 locale's [[:space:]] matches hides no decoy tier (second review)", () => {
    const { repo } = repoWithScript("tier-unicode");
    // A new stack Pulumi.prod.yaml (the name is its tier) with no tier line under config, and a block scalar whose
    // line ends in U+3000: the sed of a UTF-8 locale read it as "dev", so the prod stack went to the non-prod job.
    const text = "config:\n  platform:env: prod\nnotes: |\n  platform:tier: dev\u3000\n";
    fs.writeFileSync(path.join(repo, "Pulumi.prod.yaml"), text);
    expect(lineTier(text, "prod")).toBe("prod");
    const script = path.join(repo, ".github/scripts/changed-stacks.sh");
    expect(run(script, ["--tier", "prod", "Pulumi.prod.yaml"], { env: { ...process.env, LC_ALL: "C.UTF-8", LANG: "C.UTF-8" } })).toMatchObject({
      status: 0,
      stdout: '["prod"]\n',
    });
  });

  it("check:fleet runs on the reviewer's file in the real fleet and exits 1 naming it", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "tier-parse-fleet-"));
    for (const f of fs.readdirSync(ROOT)) if (/^Pulumi\..*yaml$/.test(f)) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    for (const d of ["esc", ".github"]) fs.cpSync(path.join(ROOT, d), path.join(dir, d), { recursive: true });
    const prod1 = fs.readFileSync(path.join(dir, "Pulumi.prod1.yaml"), "utf8");
    expect(prod1).toContain("\n  platform:tier: prod\n");
    // Config indented by 4 (every indented line 2 more), its tier test, and the block scalar.
    const reindented = prod1.replace(/^( +)/gm, "  $1").replace("\n    platform:tier: prod\n", "\n    platform:tier: test\n");
    fs.writeFileSync(path.join(dir, "Pulumi.prod1.yaml"), `${reindented}reviewNote: |\n  platform:tier: prod\n`);
    const r = run(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "components/ops/checkFleet.ts"), "--dir", dir], { cwd: ROOT });
    expect([r.status, r.stdout]).toEqual([1, ""]);
    expect(r.stderr).toBe(
      "fleet address plan: cannot read the stack files:\n" +
        "  - Pulumi.prod1.yaml: platform:tier reads as test in the YAML but as prod to CI's line parse (.github/scripts/changed-stacks.sh: the first line \"  platform:tier: <tier>\", else the stack's name); " +
        'write it once, as the line "  platform:tier: test" under config:, and no other line of that form\n',
    );
  });

  it("is executable (the workflows call it directly) and passes shellcheck", () => {
    expect(fs.statSync(SCRIPT).mode & 0o111).toBe(0o111);
    const r = run("shellcheck", ["-s", "bash", SCRIPT]);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

describe("every workflow", () => {
  const all = WORKFLOWS.map((f) => [f, workflow(f)] as const);

  it("harness.yml builds the harness on main and saves it under the key, path and container the PR's tests job restores", () => {
    const h = workflow("harness.yml");
    expect(h.on).toEqual({ push: { branches: ["main"], paths: ["harness/**"] }, schedule: [{ cron: "0 1 * * 1" }], workflow_dispatch: null });
    expect(h.permissions).toEqual({ contents: "read" });
    expect(h.concurrency).toEqual({ group: "harness", "cancel-in-progress": false });
    const job = h.jobs.build;
    const tests = pr.jobs.tests;
    expect(job.container).toBe("node:24-bookworm");
    expect(tests.container).toEqual({ image: "node:24-bookworm", options: "--privileged" });
    expect(job.env).toEqual(tests.env);
    const restore = byId(job, "harness");
    expect(restore.with).toEqual(byId(tests, "harness").with);
    expect(restore.with!.key).toBe(
      "harness-${{ runner.os }}-${{ hashFiles('harness/**/go.mod', 'harness/**/go.sum', 'harness/**/tools.go', 'harness/build.sh', 'harness/build-kube-router.sh') }}",
    );
    const save = step(job, (s) => !!s.uses?.startsWith("actions/cache/save@") && s.with?.path === restore.with!.path, "saving the binaries");
    expect(save.with!.key).toBe("${{ steps.harness.outputs.cache-primary-key }}");
    expect(job.steps.indexOf(save)).toBeGreaterThan(job.steps.indexOf(step(job, (s) => s.run === "bash harness/build.sh", "the build")));
    const text = fs.readFileSync(path.join(ROOT, ".github/workflows/harness.yml"), "utf8");
    for (const u of job.steps.filter((s) => s.uses).map((s) => s.uses!))
      expect(text).toMatch(new RegExp(`${u.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} # v\\d`));
    expect(JSON.stringify(h)).not.toMatch(/secrets\./);
  });

  it.each(all)("%s pins every action to a full commit sha, its tag in a trailing comment", (f, wf) => {
    const text = fs.readFileSync(path.join(ROOT, ".github/workflows", f), "utf8");
    const uses = Object.values(wf.jobs).flatMap((j) => j.steps.filter((s) => s.uses).map((s) => s.uses as string));
    expect(uses.length).toBeGreaterThan(0);
    // Every parsed `uses:` is a line the check saw, and none of them is refused.
    expect(text.match(/^\s*(- )?uses:/gm)).toHaveLength(uses.length);
    expect(unpinnedUses(text)).toEqual([]);
  });

  it("the pin check refuses a tag, a branch, a short sha and a sha without its tag", () => {
    const text = [
      "      - uses: actions/checkout@v4",
      "      - uses: actions/cache/restore@main # v4.3.0",
      "        uses: pulumi/actions@8582a9e # v6.6.1",
      "      - uses: actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020",
      "      - uses: actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020 # v4.4.0",
      "      - uses: ./local-action",
    ].join("\n");
    expect(unpinnedUses(text)).toEqual([
      "actions/checkout@v4",
      "actions/cache/restore@main # v4.3.0",
      "pulumi/actions@8582a9e # v6.6.1",
      "actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020",
      "./local-action",
    ]);
  });

  it.each(all)("%s runs steps with bash -eo pipefail", (_f, wf) => {
    expect(wf.defaults?.run?.shell).toBe("bash");
    for (const j of Object.values(wf.jobs)) for (const s of j.steps) if (s.run) expect(s).not.toHaveProperty("shell");
  });

  const blocks = all.flatMap(([f, wf]) =>
    Object.entries(wf.jobs).flatMap(([jn, j]) =>
      j.steps.filter((s) => s.run?.includes("\n")).map((s) => [`${f} ${jn}: ${s.name ?? s.id ?? s.run!.split("\n")[0]}`, s.run!] as const),
    ),
  );
  it("has multi-line run blocks to check", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(7);
  });
  it.each(blocks)("shellcheck: %s", (_what, block) => {
    // ${{ }} is expanded by the runner before bash sees the text: a placeholder stands in.
    const text = "#!/usr/bin/env bash\n" + block.replace(/\$\{\{[^}]*\}\}/g, "GHA_EXPR");
    const file = path.join(tmp, `block-${++seq}.sh`);
    fs.writeFileSync(file, text);
    const r = run("shellcheck", ["-s", "bash", file]);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it.each(all)("%s: every pulumi/actions step that runs a command passes the policy pack, the credentials from secrets and org/platform/<stack>", (f, wf) => {
    // drift.yml's only installs the CLI (no `with`); its script gets the credentials (the drift.yml tests).
    const steps = Object.values(wf.jobs)
      .flatMap(pulumiSteps)
      .filter((s) => s.with?.command !== undefined);
    expect(steps.length).toBe(f === "drift.yml" ? 0 : f === "deploy.yml" ? 2 : 1);
    for (const s of steps) {
      expect(s.uses).toBe(PULUMI_ACTION);
      expect(s.with?.policyPacks).toBe("policies");
      expect(String(s.with?.policyPackConfigs)).toMatch(
        /^(policies\/config\/(prod|nonprod)\.json|\$\{\{ steps\.pack\.outputs\.config \}\}|\$\{\{ matrix\.stack == 'host' && 'policies\/config\/prod\.json' \|\| 'policies\/config\/nonprod\.json' \}\})$/,
      );
      expect(s.with?.["stack-name"]).toBe("${{ vars.PULUMI_ORG }}/platform/${{ matrix.stack }}");
      // The PR's preview gets the preview-only secrets; the deploys their environment's (T30).
      for (const k of SECRETS) expect(s.env?.[k]).toBe(`\${{ secrets.${f === "deploy.yml" ? k : PREVIEW_SECRETS[k]} }}`);
    }
  });

  it.each(all)("%s installs one pinned Pulumi CLI, the version of the locked @pulumi/pulumi SDK, in every pulumi/actions step", (_f, wf) => {
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
    const sdk = lock.packages["node_modules/@pulumi/pulumi"].version as string;
    const steps = Object.values(wf.jobs).flatMap(pulumiSteps);
    expect(steps.length).toBeGreaterThan(0);
    // An exact version: pulumi/actions downloads nothing when the runner's `pulumi` satisfies it (src/libs/pulumi-cli.ts).
    for (const s of steps) expect(s.with?.["pulumi-version"]).toBe(sdk);
  });

  it("only the pull_request workflow runs on pull requests; the deploy credentials, the webhook and the deploy environments live elsewhere", () => {
    const events = (wf: Workflow) => Object.keys(wf.on);
    expect(events(pr)).toEqual(["pull_request"]);
    for (const [f, wf] of all) {
      if (f === "pull-request.yml") continue;
      expect([f, events(wf).filter((e) => e.startsWith("pull_request"))]).toEqual([f, []]);
    }
    // No job of the PR workflow names a deploy secret or the webhook; the only environment a PR job
    // names is pr-preview, the real preview's, which waits for a reviewer (T30).
    const text = JSON.stringify(pr);
    expect(Object.entries(pr.jobs).flatMap(([jn, j]) => (j.environment !== undefined ? [[jn, j.environment]] : []))).toEqual([["preview", "pr-preview"]]);
    for (const k of SECRETS) expect(text).not.toContain(`secrets.${k} `);
    expect(text).not.toContain("DINGTALK");
    // Every job of it that reads a secret names that environment (check:fleet's rule, on the real files).
    const readers = Object.entries(pr.jobs).filter(([, j]) => /secrets\.(?!GITHUB_TOKEN)/.test(JSON.stringify(j)));
    expect(readers.map(([jn, j]) => [jn, j.environment])).toEqual([["preview", "pr-preview"]]);
  });

  it("pull-request.yml: the preview waits for the pr-preview gate, and no checkout leaves the token in .git/config for the PR's code", () => {
    expect(pr.jobs.preview.needs).toEqual(["changes", "preview-gate"]);
    const gate = pr.jobs["preview-gate"];
    expect(gate.if).toBe(pr.jobs.preview.if);
    expect(byId(gate, "gate").run).toBe(".github/scripts/require-reviewers.sh --any-branch pr-preview");
    for (const [jn, j] of Object.entries(pr.jobs))
      for (const s of j.steps.filter((x) => x.uses?.startsWith("actions/checkout@"))) expect([jn, s.with?.["persist-credentials"]]).toEqual([jn, false]);
  });

  it("pull-request.yml: the real preview posts no comment of its own (its output is not scrubbed of runner paths; the offline comment is)", () => {
    const steps = Object.values(pr.jobs).flatMap(pulumiSteps);
    expect(steps.length).toBeGreaterThan(0);
    for (const s of steps) expect(s.with?.["comment-on-pr"]).toBe(false);
  });

  it.each(all)("%s installs the policy pack's own dependencies before running Pulumi", (_f, wf) => {
    for (const j of Object.values(wf.jobs)) {
      const at = j.steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.policyPacks !== undefined);
      if (at < 0) continue;
      const npm = j.steps.findIndex((s) => s["working-directory"] === "policies" && s.run?.startsWith("npm ci"));
      const root = j.steps.findIndex((s) => !s["working-directory"] && s.run?.startsWith("npm ci"));
      expect(npm).toBeGreaterThanOrEqual(0);
      expect(root).toBeGreaterThanOrEqual(0);
      expect(npm).toBeLessThan(at);
      expect(root).toBeLessThan(at);
    }
  });

  it.each(all)("%s sets up the Node major of package.json's engines, with the npm cache, wherever it installs packages", (_f, wf) => {
    const major = Number(/>=(\d+)/.exec(PKG.engines.node)![1]);
    expect(major).toBe(24);
    for (const j of Object.values(wf.jobs)) {
      if (!j.steps.some((s) => s.run?.startsWith("npm ci") || s.run === "npm run test:all")) continue;
      const node = step(j, (s) => !!s.uses?.startsWith("actions/setup-node@"), "setup-node");
      expect(node.with).toMatchObject({ "node-version": major, cache: "npm" });
      if (j.container) expect(typeof j.container === "string" ? j.container : j.container.image).toBe(`node:${major}-bookworm`);
    }
  });

  it.each(all)("%s runs the jobs that reach the VPCs (real preview, up, drift) self-hosted, on the pool check:fleet accepts, the rest hosted", (f, wf) => {
    for (const [jn, j] of Object.entries(wf.jobs)) {
      const labels = runsOnLabels(j["runs-on"]);
      expect([jn, labels.includes("self-hosted")]).toEqual([jn, pulumiSteps(j).length > 0]);
    }
    // The pools (pull requests' code never on the deploy runners) are check:fleet's rule, run here on the real files.
    expect(workflowNeeds(ROOT, readRunnerPlan(ROOT).plan!.labels).problems.filter((p) => p.includes(f))).toEqual([]);
  });

  it.each(all)("%s installs no system packages of its own (the one list is .ci/tools.txt)", (_f, wf) => {
    for (const j of Object.values(wf.jobs)) for (const s of j.steps) expect(s.run ?? "").not.toMatch(/apt-get|apt install/);
  });

  // Effective permissions of a job: its own block replaces the workflow's entirely.
  const allowed: Record<string, Record<string, string>> = {
    // actions: read is GET .../environments (require-reviewers.sh).
    "pull-request.yml": { contents: "read", "pull-requests": "write", actions: "read" },
    "deploy.yml": { contents: "read", actions: "read" },
    "drift.yml": { contents: "read", actions: "read" },
  };
  it.each(all)("%s asks for minimal permissions", (f, wf) => {
    expect(wf.permissions).toEqual({ contents: "read" });
    for (const [jn, j] of Object.entries(wf.jobs)) {
      const perms = j.permissions ?? wf.permissions;
      expect(typeof perms).toBe("object");
      for (const [scope, level] of Object.entries(perms as Record<string, string>)) {
        if (level === "none") continue;
        // read is within an allowed write; write only where allowed.
        const max = allowed[f][scope];
        expect([jn, scope, level === "read" && max !== undefined ? "ok" : level === max ? "ok" : level]).toEqual([jn, scope, "ok"]);
      }
    }
  });
});

describe("pull-request.yml", () => {
  it("gives the PR write permission only to the jobs that comment", () => {
    expect(pr.jobs.changes.permissions).toBeUndefined();
    expect(pr.jobs.offline.permissions).toEqual({ contents: "read", "pull-requests": "write" });
    // The real preview runs the PR's code and comments nothing: read only.
    expect(pr.jobs.preview.permissions).toEqual({ contents: "read" });
    expect(pr.jobs.tests.permissions).toBeUndefined();
  });

  it("offline: no credentials, and it does not wait for the tests: base and PR previews diffed, then one comment", () => {
    const job = pr.jobs.offline;
    expect(JSON.stringify(job)).not.toMatch(/secrets\./);
    // A red test must not cost the reviewer the comment.
    expect(job.needs).toBe("changes");
    const runs = job.steps.map((s) => s.run ?? s.uses ?? "");
    const at = (re: RegExp): number => runs.findIndex((r) => re.test(r));
    expect(at(/npm run test:all/)).toBe(-1);
    expect(at(/^npm ci/)).toBeGreaterThanOrEqual(0);
    expect(at(/git worktree add/)).toBeGreaterThan(at(/^npm ci/));
    expect(at(/--diff-from/)).toBeGreaterThan(at(/git worktree add/));
    expect(at(/^actions\/github-script@/)).toBeGreaterThan(at(/--diff-from/));
  });

  describe("tests: the required check, with the harness binaries cached", () => {
    const job = pr.jobs.tests;
    const idx = (pred: (s: Step) => boolean, what: string): number => job.steps.indexOf(step(job, pred, what));
    const restore = step(job, (s) => s.id === "harness", "restoring the harness binaries");
    const build = step(job, (s) => !!s.run?.includes("harness/build.sh"), "building the harness");
    const tests = idx((s) => s.run === "npm run test:all", "npm run test:all");

    it("runs npm run test:all with no credentials and needs nothing before it", () => {
      expect(JSON.stringify(job)).not.toMatch(/secrets\./);
      expect(job.needs).toBeUndefined();
      expect(tests).toBe(job.steps.length - 1);
    });

    it("caches the binaries where harness/build.sh puts them, keyed on every harness module's go.mod and go.sum", () => {
      // harness/build.sh itself says where, with the job's environment (it prints and builds nothing).
      const r = run("bash", [path.join(ROOT, "harness/build.sh"), "--bin-dir"], { env: { ...job.env, PATH: process.env.PATH, HOME: "/github/home" } });
      expect(r.status).toBe(0);
      expect(r.stdout.startsWith(`${restore.with!.path}/`)).toBe(true);
      expect(restore.with!.key).toBe(
        "harness-${{ runner.os }}-${{ hashFiles('harness/**/go.mod', 'harness/**/go.sum', 'harness/**/tools.go', 'harness/build.sh', 'harness/build-kube-router.sh') }}",
      );
      const save = step(job, (s) => !!s.uses?.startsWith("actions/cache/save@") && s.with?.path === restore.with!.path, "saving the binaries");
      expect(save.with!.key).toBe("${{ steps.harness.outputs.cache-primary-key }}");
      // Saved before the tests run: a red test keeps the build.
      expect(job.steps.indexOf(save)).toBeGreaterThan(job.steps.indexOf(build));
      expect(job.steps.indexOf(save)).toBeLessThan(tests);
    });

    it("keys the binaries on every file under harness/ (each module's go.mod, go.sum, tools.go and both build scripts), kube-router's included", () => {
      // kube-router's directory is in the cached path too, so a hit brings it along.
      const kr = run("bash", [path.join(ROOT, "harness/build-kube-router.sh"), "--bin-dir"], {
        env: { ...job.env, PATH: process.env.PATH, HOME: "/github/home" },
      });
      expect(kr.status).toBe(0);
      expect(kr.stdout.trim()).toMatch(new RegExp(`^${restore.with!.path}/kube-router-v\\d+\\.\\d+\\.\\d+/bin$`));
      // A change to any input of a build changes the key, so no stale binary is restored.
      const patterns = [...String(restore.with!.key).matchAll(/'([^']+)'/g)].map((m) => m[1]);
      const files = (fs.readdirSync(path.join(ROOT, "harness"), { recursive: true }) as string[])
        .map((f) => `harness/${f.split(path.sep).join("/")}`)
        .filter((f) => fs.statSync(path.join(ROOT, f)).isFile());
      expect(files).toEqual(
        expect.arrayContaining(["harness/build-kube-router.sh", "harness/kube-router/go.mod", "harness/kube-router/go.sum", "harness/kube-router/tools.go"]),
      );
      expect(files.filter((f) => !patterns.some((p) => path.matchesGlob(f, p)))).toEqual([]);
      // And no pattern is a misspelling that matches nothing.
      expect(patterns.every((p) => files.some((f) => path.matchesGlob(f, p)))).toBe(true);
    });

    it("sets up Go only for a cold cache, from the harness go.mod with the newest go line (so GOTOOLCHAIN fetches none)", () => {
      const go = step(job, (s) => !!s.uses?.startsWith("actions/setup-go@"), "setup-go");
      const file = String(go.with!["go-version-file"]);
      expect(file).toMatch(/^harness\/[^/]+\/go\.mod$/);
      const goLine = (f: string) =>
        /^go (\d+)\.(\d+)(?:\.(\d+))?$/m
          .exec(fs.readFileSync(f, "utf8"))!
          .slice(1)
          .map((n) => Number(n ?? 0));
      const cmp = (a: number[], b: number[]) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
      const mods = fs
        .readdirSync(path.join(ROOT, "harness"))
        .map((d) => path.join(ROOT, "harness", d, "go.mod"))
        .filter((f) => fs.existsSync(f));
      expect(mods.length).toBeGreaterThanOrEqual(3);
      const chosen = goLine(path.join(ROOT, file));
      for (const m of mods) expect([m, cmp(chosen, goLine(m)) >= 0]).toEqual([m, true]);
      expect(cmp(chosen, [1, 21, 0])).toBeGreaterThanOrEqual(0);
      for (const s of [go, build]) expect(s.if).toBe("steps.harness.outputs.cache-hit != 'true'");
      expect(job.steps.indexOf(go)).toBeLessThan(job.steps.indexOf(build));
    });

    it("gives a cold build the time it takes: the build step's limit, and the tests' after it, within the job's", () => {
      const buildLimit = build["timeout-minutes"]!;
      const jobLimit = job["timeout-minutes"]!;
      // Two Kubernetes versions at ~29 CPU-minutes each (BENCHMARKS.md) on a 2-core runner: about an hour.
      expect(buildLimit).toBeGreaterThanOrEqual(60);
      expect(jobLimit - buildLimit).toBeGreaterThanOrEqual(20);
    });
  });

  it.each(ALL)("preview: %s gets its policy pack config from the pack step", (stack) => {
    const pack = byId(pr.jobs.preview, "pack");
    const { r, outputs } = runBlock(pack.run!, { STACK: stack, PULUMI_ORG: "shop" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // The host is judged with the prod rules (docs/threat-model.md, T20).
    expect(outputs.config).toBe(`policies/config/${PROD.includes(stack) || stack === "host" ? "prod" : "nonprod"}.json`);
  });

  it("preview: stops early when the PULUMI_ORG variable is missing", () => {
    const { r, outputs } = runBlock(byId(pr.jobs.preview, "pack").run!, { STACK: "dev", PULUMI_ORG: "" });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("PULUMI_ORG");
    expect(outputs).toEqual({});
  });

  it("changes: counts what the PR changed since it left main, not what main gained since", () => {
    const { repo, first } = repoWithScript("pr-range");
    git(repo, "checkout", "-q", "-b", "feature");
    commit(repo, { "Pulumi.dev.yaml": "config: {a: 1}\n" }, "dev");
    const head = commit(repo, { "README.md": "# platform, docs\n" }, "docs");
    git(repo, "checkout", "-q", "main");
    const base = commit(repo, { "Pulumi.prod2.yaml": `${PROD_FILE}  b: 2\n` }, "prod2 on main");
    expect(first).not.toBe(base);
    const block = byId(pr.jobs.changes, "stacks").run!;
    const { r, outputs } = runBlock(block, { BASE_SHA: base, HEAD_SHA: head }, repo);
    expect(r.stderr).toBe("");
    expect(outputs.stacks).toBe('["dev"]');
  });

  it("changes: fails when git cannot compute the range (pipefail, no silent empty list)", () => {
    const { repo } = repoWithScript("pr-badrange");
    const { r, outputs } = runBlock(byId(pr.jobs.changes, "stacks").run!, { BASE_SHA: "0".repeat(40), HEAD_SHA: "HEAD" }, repo);
    expect(r.status).not.toBe(0);
    expect(outputs.stacks).toBeUndefined();
  });

  describe("offline preview steps, with a fake npm", () => {
    // npm stand-in: logs each call; `--out D` writes D/plan.json; `--diff-from F` prints
    // a diff if F exists; FAIL_HEAD / FAIL_BASE make a stack's preview exit 1.
    const FAKE_NPM = `#!/usr/bin/env bash
echo "$PWD|$*" >>"$NPM_LOG"
[ "$1" = ci ] && exit 0
stack=$5; out=; from=
shift 5
while [ $# -gt 0 ]; do case $1 in --out) out=$2; shift 2;; --diff-from) from=$2; shift 2;; *) shift;; esac; done
if [ "$PWD" = "$BASE_WT" ]; then [ "$stack" = "\${FAIL_BASE:-}" ] && { echo "base broke" >&2; exit 1; }
else [ "$stack" = "\${FAIL_HEAD:-}" ] && { echo "Offline preview of stack $stack: platform:network.vpcCidr is invalid" >&2; exit 1; }; fi
if [ -n "$out" ]; then mkdir -p "$out"; echo "{\\"resources\\": [], \\"from\\": \\"$PWD\\"}" >"$out/plan.json"; fi
if [ -n "$from" ]; then [ -f "$from" ] || { echo "no $from" >&2; exit 1; }; echo "+ urn:pulumi:$stack::platform::x (from $(cat "$from"))"; fi
exit 0
`;
    let ws: string;
    let origin: string;
    let baseSha: string;
    let binDir: string;
    let runnerTemp: string;
    let log: string;
    let env: Record<string, string>;

    beforeAll(() => {
      origin = path.join(tmp, "origin");
      fs.mkdirSync(origin);
      git(origin, "init", "-q");
      baseSha = commit(origin, { "index.ts": "// base\n", "policies/package-lock.json": "{}\n" }, "base");
      commit(origin, { "index.ts": "// head\n" }, "head");
      ws = path.join(tmp, "ws");
      // actions/checkout with fetch-depth: 0 (the job's): the whole history, so the base is here.
      git(tmp, "clone", "-q", `file://${origin}`, ws);
      binDir = path.join(tmp, "fakebin");
      fs.mkdirSync(binDir);
      fs.writeFileSync(path.join(binDir, "npm"), FAKE_NPM, { mode: 0o755 });
      runnerTemp = path.join(tmp, "runner-temp");
      fs.mkdirSync(runnerTemp);
      log = path.join(tmp, "npm.log");
      env = {
        PATH: `${binDir}:${path.dirname(process.execPath)}:${process.env.PATH}`,
        RUNNER_TEMP: runnerTemp,
        GITHUB_WORKSPACE: ws,
        NPM_LOG: log,
        BASE_WT: path.join(runnerTemp, "base"),
        OUT: "offline-preview",
        // The base step adds safe.directory globally: keep it off the machine's config.
        GIT_CONFIG_GLOBAL: path.join(tmp, "gitconfig"),
        GIT_CONFIG_NOSYSTEM: "1",
      };
    });

    it("checks out the base commit as a worktree outside the workspace and installs it", () => {
      const co = step(pr.jobs.offline, (x) => !!x.uses?.startsWith("actions/checkout@"), "checkout");
      expect(co.with).toEqual({ "fetch-depth": 0, "persist-credentials": false });
      const s = step(pr.jobs.offline, (x) => !!x.run?.includes("git worktree add"), "base checkout");
      expect(s.if).toBe("needs.changes.outputs.stacks != '[]'");
      const { r } = runBlock(s.run!, { ...env, BASE_SHA: baseSha }, ws);
      expect(r.stderr).not.toMatch(/fatal/);
      expect(r.status).toBe(0);
      expect(fs.readFileSync(path.join(runnerTemp, "base/index.ts"), "utf8")).toBe("// base\n");
      expect(fs.readFileSync(log, "utf8").trim().split("\n")).toEqual([
        `${runnerTemp}/base|ci --no-audit --no-fund`,
        `${runnerTemp}/base/policies|ci --no-audit --no-fund`,
      ]);
    });

    it("previews base and PR per stack, diffs from the base's plan, and records a failure without stopping", () => {
      fs.writeFileSync(log, "");
      const s = byId(pr.jobs.offline, "offline");
      const { r, outputs } = runBlock(s.run!, { ...env, STACKS: '["dev","prod1","prod2"]', FAIL_HEAD: "prod1", FAIL_BASE: "prod2" }, ws);
      expect(r.status).toBe(0);
      expect(outputs.failed).toBe("prod1");
      const out = path.join(ws, "offline-preview");
      const calls = fs.readFileSync(log, "utf8").trim().split("\n");
      expect(calls).toContain(`${runnerTemp}/base|run --silent preview -- dev --json --out ${out}/base/dev`);
      expect(calls).toContain(`${ws}|run --silent preview -- dev --json --out ${out}/head/dev`);
      expect(calls).toContain(`${ws}|run --silent preview -- dev --diff-from ${out}/base/dev/plan.json --tree`);
      expect(fs.readFileSync(`${out}/diff/dev.status`, "utf8")).toBe("ok\n");
      expect(fs.readFileSync(`${out}/diff/dev.txt`, "utf8")).toContain(`"from": "${runnerTemp}/base"`);
      // An invalid PR: its error message is what the comment shows.
      expect(fs.readFileSync(`${out}/diff/prod1.status`, "utf8")).toBe("failed\n");
      expect(fs.readFileSync(`${out}/diff/prod1.txt`, "utf8")).toContain("platform:network.vpcCidr is invalid");
      // A base that cannot be previewed: compared with an empty plan, and said so.
      expect(fs.readFileSync(`${out}/diff/prod2.status`, "utf8")).toBe("ok\n");
      expect(JSON.parse(fs.readFileSync(`${out}/base/prod2/plan.json`, "utf8"))).toEqual({ resources: [] });
      expect(fs.readFileSync(`${out}/diff/prod2.note`, "utf8")).toContain("empty plan");
    });

    it("fails the job after the comment when a stack failed", () => {
      const steps = pr.jobs.offline.steps;
      const comment = steps.findIndex((x) => x.uses?.startsWith("actions/github-script@"));
      const fail = steps.findIndex((x) => x.if === "steps.offline.outputs.failed != ''");
      expect(fail).toBeGreaterThan(comment);
      const { r } = runBlock(steps[fail].run!, { FAILED: "prod1" });
      expect(r.status).toBe(1);
      expect(r.stdout).toContain("offline preview failed for: prod1");
    });
  });

  describe("the PR comment script", () => {
    const s = step(pr.jobs.offline, (x) => !!x.uses?.startsWith("actions/github-script@"), "github-script");
    const MARKER = "<!-- platform:offline-preview -->";
    type Comment = { id: number; body: string; user: { login: string } };

    // Runs the script as actions/github-script does: an async function body with these names.
    async function comment(opts: { stacks: string[]; files?: Record<string, string>; existing?: Comment[]; fork?: boolean }) {
      const out = fs.mkdtempSync(path.join(tmp, "comment-"));
      fs.mkdirSync(path.join(out, "diff"));
      for (const [f, text] of Object.entries(opts.files ?? {})) fs.writeFileSync(path.join(out, "diff", f), text);
      const calls: { create: unknown[]; update: unknown[] } = { create: [], update: [] };
      let summary = "";
      const github = {
        paginate: async (_m: unknown, params: { issue_number: number }) => {
          expect(params.issue_number).toBe(42);
          return opts.existing ?? [];
        },
        rest: {
          issues: {
            listComments: () => undefined,
            createComment: async (p: unknown) => calls.create.push(p),
            updateComment: async (p: unknown) => calls.update.push(p),
          },
        },
      };
      const core = {
        summary: {
          addRaw(t: string) {
            summary += t;
            return this;
          },
          write: async () => undefined,
        },
        notice: () => undefined,
        info: () => undefined,
      };
      const context = {
        repo: { owner: "shop", repo: "platform" },
        payload: {
          repository: { full_name: "shop/platform" },
          pull_request: {
            number: 42,
            base: { ref: "main" },
            head: { sha: "abcdef1234567", repo: { full_name: opts.fork ? "someone/platform" : "shop/platform" } },
          },
        },
      };
      const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor;
      const fn = new AsyncFunction("require", "github", "context", "core", "process", s.with!.script as string);
      await fn(require, github, context, core, { env: { STACKS: JSON.stringify(opts.stacks), OUT: out } });
      return { calls, summary };
    }

    it("creates one comment with each stack's diff, failures open", async () => {
      const { calls, summary } = await comment({
        stacks: ["dev", "prod1"],
        files: { "dev.status": "ok\n", "dev.txt": "+ urn:pulumi:dev::platform::a\n", "prod1.status": "failed\n", "prod1.txt": "vpcCidr is invalid\n" },
      });
      expect(calls.update).toEqual([]);
      expect(calls.create).toHaveLength(1);
      const body = (calls.create[0] as { body: string }).body;
      expect(calls.create[0]).toMatchObject({ owner: "shop", repo: "platform", issue_number: 42 });
      expect(body.startsWith(MARKER)).toBe(true);
      expect(body).toContain("+ urn:pulumi:dev::platform::a");
      expect(body).toMatch(/<details open><summary>❌ <b>prod1<\/b> · preview failed/);
      // A preview output without a Plan line opens by itself (nothing to judge it by).
      expect(body).toMatch(/<details open><summary>✅ <b>dev<\/b> · no plan line<\/summary>/);
      expect(summary).toBe(body);
    });

    it("edits its own earlier comment instead of adding another, and leaves a human's alone", async () => {
      const existing = [
        { id: 7, body: `quoting ${MARKER}`, user: { login: "alice" } },
        { id: 9, body: `${MARKER}\nold`, user: { login: "github-actions[bot]" } },
      ];
      const { calls } = await comment({ stacks: ["dev"], files: { "dev.status": "ok", "dev.txt": "x" }, existing });
      expect(calls.create).toEqual([]);
      expect(calls.update).toHaveLength(1);
      expect(calls.update[0]).toMatchObject({ comment_id: 9 });
    });

    it("says 'no stack' in an earlier comment, but starts no new comment for a docs-only PR", async () => {
      const none = await comment({ stacks: [] });
      expect(none.calls.create).toEqual([]);
      const existing = [{ id: 9, body: `${MARKER}\nold`, user: { login: "github-actions[bot]" } }];
      const edited = await comment({ stacks: [], existing });
      expect((edited.calls.update[0] as { body: string }).body).toContain("No stack is affected");
    });

    it("keeps under GitHub's 65536-character limit with six huge diffs", async () => {
      const files: Record<string, string> = {};
      for (const st of ALL)
        Object.assign(files, { [`${st}.status`]: "ok", [`${st}.txt`]: `${st}\n` + "~ urn:pulumi:x::platform::y [userData]\n".repeat(5000) });
      const { calls } = await comment({ stacks: ALL, files });
      const body = (calls.create[0] as { body: string }).body;
      expect(body.length).toBeLessThanOrEqual(65536);
      for (const st of ALL) expect(body).toContain(`<b>${st}</b>`);
      // Each stack stays whole in structure and says it was shortened; the lines it keeps are whole lines.
      expect(body.match(/Shortened to fit GitHub's 65,536-character comment limit: the diff and findings are cut at a line end/g)).toHaveLength(6);
      expect(body.match(/<\/details>/g)).toHaveLength(6);
      expect(body.match(/… diff truncated: the full output is in the run's offline-preview artifact/g)).toHaveLength(6);
      expect(body).not.toMatch(/\n~ urn:pulumi:x::platform::y \[user(?!Data\])/);
    });

    it("writes only the job summary for a fork (its token cannot comment)", async () => {
      const { calls, summary } = await comment({ stacks: ["dev"], files: { "dev.status": "ok", "dev.txt": "x" }, fork: true });
      expect(calls.create).toEqual([]);
      expect(calls.update).toEqual([]);
      expect(summary).toContain("<b>dev</b>");
    });
  });
});

/**
 * A fake `gh` on PATH for `gh api repos/<repo>/environments/<name>[/deployment-branch-policies]`:
 * answers with <dir>/<name>.json (<name>__deployment-branch-policies.json), or fails as gh does on
 * an HTTP error (<dir>/<name>.err holds its stderr; no file: 404).
 */
function fakeGh(envs: Record<string, unknown>, errors: Record<string, string> = {}): { dir: string; log: string } {
  const dir = path.join(tmp, `gh-${++seq}`);
  fs.mkdirSync(dir);
  for (const [name, body] of Object.entries(envs)) fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(body));
  // An environment with a custom branch list and no list given here: the list is exactly the branch main.
  for (const [name, body] of Object.entries(envs)) {
    const custom = (body as { deployment_branch_policy?: { custom_branch_policies?: boolean } | null }).deployment_branch_policy?.custom_branch_policies;
    const listed = path.join(dir, `${name}__deployment-branch-policies.json`);
    if (custom && !name.includes("__") && !(`${name}__deployment-branch-policies` in envs))
      fs.writeFileSync(listed, JSON.stringify(branchPolicies({ name: "main", type: "branch" })));
  }
  for (const [name, err] of Object.entries(errors)) fs.writeFileSync(path.join(dir, `${name}.err`), err);
  const log = path.join(dir, "calls");
  fs.writeFileSync(log, "");
  fs.writeFileSync(
    path.join(dir, "gh"),
    `#!/usr/bin/env bash
echo "$*|\${GH_TOKEN:-}" >>"${log}"
[ "$1" = api ] || exit 64
name=\${2##*/environments/}
name=\${name//\\//__}
if [ -f "${dir}/$name.json" ]; then cat "${dir}/$name.json"; exit 0; fi
if [ -f "${dir}/$name.err" ]; then cat "${dir}/$name.err" >&2; exit 1; fi
echo '{"message":"Not Found","documentation_url":"https://docs.github.com/rest/deployments/environments#get-an-environment","status":"404"}'
echo "gh: Not Found (HTTP 404)" >&2
exit 1
`,
    { mode: 0o755 },
  );
  return { dir, log };
}
/** Deployment branches: a custom list (fakeGh answers it with exactly main unless told otherwise), the default here. */
const MAIN_ONLY = { protected_branches: false, custom_branch_policies: true };
/** "Protected branches only": every branch when no classic protection rule exists, so refused. */
const PROTECTED_BRANCHES = { protected_branches: true, custom_branch_policies: false };
/** An environment as GET /repos/{owner}/{repo}/environments/{name} returns it (GitHub REST API, 2022-11-28). */
function environment(
  name: string,
  rules: { type: string; reviewers?: unknown[]; wait_timer?: number; prevent_self_review?: boolean }[],
  branches: { protected_branches: boolean; custom_branch_policies: boolean } | null = MAIN_ONLY,
  canAdminsBypass = false,
): unknown {
  return {
    id: 161088068,
    node_id: "EN_kwDOAAA",
    name,
    url: `https://api.github.com/repos/shop/platform/environments/${name}`,
    html_url: `https://github.com/shop/platform/deployments/activity_log?environments_filter=${name}`,
    created_at: "2026-11-02T08:12:40Z",
    updated_at: "2026-11-02T08:12:40Z",
    can_admins_bypass: canAdminsBypass,
    protection_rules: rules.map((r, i) => ({
      id: 3736 + i,
      node_id: `GA_kwDO${i}`,
      ...(r.type === "required_reviewers" ? { prevent_self_review: true } : {}),
      ...r,
    })),
    deployment_branch_policy: branches,
  };
}
/** A list as GET .../environments/{name}/deployment-branch-policies returns it. */
function branchPolicies(...policies: { name: string; type?: string }[]): unknown {
  return {
    total_count: policies.length,
    branch_policies: policies.map((p, i) => ({ id: 361471 + i, node_id: `MDE2OkdhdGVCcmFuY2hQb2xpY3kzNjE0NzE${i}`, ...p })),
  };
}
const ALICE = { type: "User", reviewer: { login: "alice", id: 1, type: "User" } };
const SRE = { type: "Team", reviewer: { slug: "sre", id: 7, name: "SRE" } };
const PROTECTED = {
  host: environment("host", [{ type: "required_reviewers", reviewers: [SRE] }]),
  dev: environment("dev", []),
  test: environment("test", []),
  pre: environment("pre", []),
  prod1: environment("prod1", [{ type: "required_reviewers", reviewers: [ALICE, SRE] }]),
  prod2: environment("prod2", [
    { type: "wait_timer", wait_timer: 5 },
    { type: "required_reviewers", reviewers: [SRE] },
  ]),
};

describe("require-reviewers.sh, with a fake gh", () => {
  const SCRIPT_RR = path.join(ROOT, ".github/scripts/require-reviewers.sh");
  function check(envs: string[], gh: { dir: string }): SpawnSyncReturns<string> {
    return run(SCRIPT_RR, envs, {
      env: { PATH: `${gh.dir}:${path.dirname(process.execPath)}:${process.env.PATH}`, GITHUB_REPOSITORY: "shop/platform", GH_TOKEN: "ghs_x" },
    });
  }

  it("protected: every environment has a required_reviewers rule with reviewers; exit 0, each named", () => {
    const gh = fakeGh({ prod1: PROTECTED.prod1, prod2: PROTECTED.prod2 });
    const r = check(["prod1", "prod2"], gh);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      "environment prod1: 2 required reviewer(s)\nenvironment prod1: branch main only\nenvironment prod2: 1 required reviewer(s)\nenvironment prod2: branch main only\n",
    );
    expect(fs.readFileSync(gh.log, "utf8")).toBe(
      [
        "api repos/shop/platform/environments/prod1|ghs_x",
        "api repos/shop/platform/environments/prod1/deployment-branch-policies|ghs_x",
        "api repos/shop/platform/environments/prod2|ghs_x",
        "api repos/shop/platform/environments/prod2/deployment-branch-policies|ghs_x",
        "",
      ].join("\n"),
    );
  });

  it("'protected branches only' is refused (every branch when main has no classic rule); self-review must be prevented; an admin bypass is warned of", () => {
    const gh = fakeGh({
      drift: environment("drift", [], PROTECTED_BRANCHES),
      prod1: environment("prod1", [{ type: "required_reviewers", reviewers: [SRE], prevent_self_review: false }]),
      prod2: environment("prod2", [{ type: "required_reviewers", reviewers: [SRE] }], MAIN_ONLY, true),
    });
    const d = check(["--branch-only", "drift"], gh);
    expect([d.status, d.stdout.trim()]).toEqual([
      1,
      "::error::environment drift lets protected branches deploy: with no classic branch protection rule that is every branch, and otherwise every protected branch. Set its deployment branches to a custom list of exactly main (https://github.com/shop/platform/settings/environments)",
    ]);
    const p = check(["prod1", "prod2"], gh);
    expect(p.status).toBe(1);
    expect(p.stdout.trim().split("\n")).toEqual([
      '::error::environment prod1 lets the person who started a run approve it: turn on "Prevent self-review" (https://github.com/shop/platform/settings/environments)',
      "environment prod1: branch main only",
      "environment prod2: 1 required reviewer(s)",
      '::warning::environment prod2 lets administrators bypass its protection rules: turn off "Allow administrators to bypass" (https://github.com/shop/platform/settings/environments)',
      "environment prod2: branch main only",
    ]);
  });

  it("unprotected: created on first use (no rule) or with only a wait timer; exit 1 naming it and the fix", () => {
    const gh = fakeGh({ prod3: environment("prod3", []), prod4: environment("prod4", [{ type: "wait_timer", wait_timer: 30 }]) });
    const r = check(["prod3", "prod4"], gh);
    expect(r.status).toBe(1);
    expect(r.stdout.trim().split("\n")).toEqual([
      "::error::environment prod3 has no required reviewers: a deploy would run without approval. Add them (https://github.com/shop/platform/settings/environments) and run the deploy again",
      "environment prod3: branch main only",
      "::error::environment prod4 has no required reviewers: a deploy would run without approval. Add them (https://github.com/shop/platform/settings/environments) and run the deploy again",
      "environment prod4: branch main only",
    ]);
  });

  it("missing: gh's 404; exit 1 saying to create it with reviewers first", () => {
    const r = check(["prod1", "prod3"], fakeGh({ prod1: PROTECTED.prod1 }));
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("environment prod1: 2 required reviewer(s)");
    expect(r.stdout).toContain(
      "::error::environment prod3 does not exist: create it (required reviewers for prod and the host, deployment branches: main only) before its first run (https://github.com/shop/platform/settings/environments; docs/runbooks/ci-setup.md)",
    );
  });

  it("a reviewers rule with nobody in it, and an API that refuses the token, are refusals too", () => {
    const gh = fakeGh(
      { prod3: environment("prod3", [{ type: "required_reviewers", reviewers: [] }]) },
      { prod4: "gh: Resource not accessible by integration (HTTP 403)\n" },
    );
    const r = check(["prod3", "prod4"], gh);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("::error::environment prod3 requires reviewers but lists none");
    expect(r.stdout).toContain("::error::cannot read environment prod4: gh: Resource not accessible by integration (HTTP 403)");
  });

  it("usage: no environment or no GITHUB_REPOSITORY is exit 2", () => {
    const gh = fakeGh({});
    expect(check([], gh).status).toBe(2);
    const r = run(SCRIPT_RR, ["prod1"], { env: { PATH: `${gh.dir}:${process.env.PATH}` } });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("usage: GITHUB_REPOSITORY=owner/name require-reviewers.sh [--branch-only | --any-branch] ENVIRONMENT...\n");
    expect(check(["--only-prod", "prod1"], gh).status).toBe(2);
    expect(check(["--branch-only"], gh).status).toBe(2);
    expect(fs.readFileSync(gh.log, "utf8")).toBe("");
  });

  it("deployment branches: every branch (null) is refused; a custom list must be exactly the branch main", () => {
    const gh = fakeGh({
      host: environment("host", [{ type: "required_reviewers", reviewers: [SRE] }], null),
      prod1: environment("prod1", [{ type: "required_reviewers", reviewers: [SRE] }], { protected_branches: false, custom_branch_policies: true }),
      "prod1__deployment-branch-policies": branchPolicies({ name: "main", type: "branch" }),
      prod2: environment("prod2", [{ type: "required_reviewers", reviewers: [SRE] }], { protected_branches: false, custom_branch_policies: true }),
      // An extra pattern lets a PR branch named release/x deploy; a tag is any tag anyone pushes.
      "prod2__deployment-branch-policies": branchPolicies({ name: "main", type: "branch" }, { name: "release/*", type: "branch" }),
      prod3: environment("prod3", [{ type: "required_reviewers", reviewers: [SRE] }], { protected_branches: false, custom_branch_policies: true }),
      "prod3__deployment-branch-policies": branchPolicies({ name: "main", type: "tag" }),
    });
    const r = check(["host", "prod1", "prod2", "prod3"], gh);
    expect(r.status).toBe(1);
    expect(r.stdout.trim().split("\n")).toEqual([
      "environment host: 1 required reviewer(s)",
      "::error::environment host lets every branch deploy: a pull request's workflow could use its secrets. Set deployment branches to main only (https://github.com/shop/platform/settings/environments)",
      "environment prod1: 1 required reviewer(s)",
      "environment prod1: branch main only",
      "environment prod2: 1 required reviewer(s)",
      "::error::environment prod2 lets branch:main branch:release/* deploy: set its deployment branches to main only (https://github.com/shop/platform/settings/environments)",
      "environment prod3: 1 required reviewer(s)",
      "::error::environment prod3 lets tag:main deploy: set its deployment branches to main only (https://github.com/shop/platform/settings/environments)",
    ]);
    expect(fs.readFileSync(gh.log, "utf8")).toContain("api repos/shop/platform/environments/prod1/deployment-branch-policies|ghs_x\n");
  });

  it("--branch-only (dev, test, pre, drift): no reviewers needed, main only still; --any-branch (pr-preview): reviewers only", () => {
    const gh = fakeGh({
      dev: environment("dev", []),
      test: environment("test", [], null),
      "pr-preview": environment("pr-preview", [{ type: "required_reviewers", reviewers: [ALICE] }], null),
      drift: environment("drift", [], null),
    });
    const b = check(["--branch-only", "dev", "test"], gh);
    expect(b.status).toBe(1);
    expect(b.stdout.trim().split("\n")).toEqual([
      "environment dev: branch main only",
      "::error::environment test lets every branch deploy: a pull request's workflow could use its secrets. Set deployment branches to main only (https://github.com/shop/platform/settings/environments)",
    ]);
    const a = check(["--any-branch", "pr-preview"], gh);
    expect([a.status, a.stdout]).toEqual([0, "environment pr-preview: 1 required reviewer(s)\n"]);
    // pr-preview with nobody to approve: the PR's code would get the token unreviewed.
    const none = check(["--any-branch", "drift"], gh);
    expect(none.status).toBe(1);
    expect(none.stdout).toContain("::error::environment drift has no required reviewers");
  });

  it("is executable and passes shellcheck", () => {
    expect(fs.statSync(SCRIPT_RR).mode & 0o111).toBe(0o111);
    const r = run("shellcheck", ["-s", "bash", SCRIPT_RR]);
    expect(r.stdout + r.stderr).toBe("");
  });
});

describe("deploy.yml", () => {
  it.each([
    ["nonprod", "nonprod"],
    ["prod", "prod"],
  ])("%s: pulumi up per stack in its environment, one at a time, with the %s policy config", (jn, tier) => {
    const job = deploy.jobs[jn];
    expect(job.environment).toBe("${{ matrix.stack }}");
    expect(job.strategy?.["max-parallel"]).toBe(1);
    expect(job.strategy?.["fail-fast"]).toBe(true);
    expect(job.concurrency).toEqual({ group: "deploy-${{ matrix.stack }}", "cancel-in-progress": false });
    const steps = pulumiSteps(job);
    expect(steps).toHaveLength(1);
    const configs =
      tier === "prod" ? "policies/config/prod.json" : "${{ matrix.stack == 'host' && 'policies/config/prod.json' || 'policies/config/nonprod.json' }}";
    expect(steps[0].with).toMatchObject({ command: "up", policyPacks: "policies", policyPackConfigs: configs });
  });

  describe("the changes step", () => {
    const block = byId(deploy.jobs.changes, "stacks").run!;
    // The step's environment on a push to main, with a fake gh that finds prod1 and prod2 protected.
    const main = (gh = fakeGh(PROTECTED)) => ({
      REF: "refs/heads/main",
      PULUMI_ORG: "shop",
      GITHUB_REPOSITORY: "shop/platform",
      GH_TOKEN: "ghs_x",
      PATH: `${gh.dir}:${path.dirname(process.execPath)}:${process.env.PATH}`,
    });

    it("comes after check:fleet, which refuses a stack file whose tier the shell and the YAML read differently (T21)", () => {
      const job = deploy.jobs.changes;
      const tiers = byId(job, "tiers");
      expect(tiers.run).toBe("npm run -s check:fleet");
      const install = job.steps.findIndex((s) => s.run === "npm ci --no-audit --no-fund");
      expect([install >= 0, install < job.steps.indexOf(tiers), job.steps.indexOf(tiers) < job.steps.indexOf(byId(job, "stacks"))]).toEqual([true, true, true]);
    });

    it("splits every commit of the push into non-prod and prod", () => {
      const { repo, first } = repoWithScript("push-range");
      commit(repo, { "Pulumi.prod1.yaml": `${PROD_FILE}  a: 1\n` }, "prod1");
      const after = commit(repo, { "Pulumi.host.yaml": "config: {b: 1}\n", "README.md": "docs\n" }, "host");
      const { r, outputs } = runBlock(block, { ...main(), EVENT: "push", BEFORE: first, AFTER: after }, repo);
      expect(r.stderr).toBe("");
      expect(outputs).toEqual({ nonprod: '["host"]', prod: '["prod1"]' });
    });

    it("refuses a push that changes a stack file's platform:tier, before any deploy job gets a list (T21)", () => {
      const { repo, first } = repoWithScript("push-retier");
      const after = commit(repo, { "Pulumi.prod1.yaml": "config:\n  platform:tier: test\n" }, "prod1 as test");
      const { r, outputs } = runBlock(block, { ...main(), EVENT: "push", BEFORE: first, AFTER: after }, repo);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(
        "changed-stacks: Pulumi.prod1.yaml: platform:tier changes from prod to test; a stack keeps the tier it was deployed with (T21): set it back to prod, " +
          'or re-tier by destroying the stack and creating it again (docs/runbooks/add-a-cluster.md, "Re-tiering a stack")\n',
      );
      expect(outputs).toEqual({});
    });

    it("deploys everything when the push has no usable BEFORE (new branch, force push)", () => {
      const { repo, first } = repoWithScript("push-new");
      for (const before of ["0".repeat(40), "1234567890abcdef1234567890abcdef12345678"]) {
        const { outputs } = runBlock(block, { ...main(), EVENT: "push", BEFORE: before, AFTER: first }, repo);
        expect(outputs).toEqual({ nonprod: '["host","dev","test","pre"]', prod: '["prod1","prod2"]' });
      }
    });

    it("takes a hand-written list on workflow_dispatch, validated by the script", () => {
      const { repo } = repoWithScript("dispatch");
      const ok = runBlock(block, { ...main(), EVENT: "workflow_dispatch", REQUESTED: "prod2, dev" }, repo);
      expect(ok.outputs).toEqual({ nonprod: '["dev"]', prod: '["prod2"]' });
      const all = runBlock(block, { ...main(), EVENT: "workflow_dispatch", REQUESTED: "all" }, repo);
      expect(all.outputs).toEqual({ nonprod: '["host","dev","test","pre"]', prod: '["prod1","prod2"]' });
      const bad = runBlock(block, { ...main(), EVENT: "workflow_dispatch", REQUESTED: "prod3" }, repo);
      expect(bad.r.status).not.toBe(0);
      expect(bad.r.stderr).toContain("no stack 'prod3'");
      expect(bad.outputs).toEqual({});
    });

    it("refuses a prod stack whose environment is missing or has no reviewers, before any job names it", () => {
      const { repo } = repoWithScript("unprotected");
      const gh = fakeGh({ prod1: PROTECTED.prod1, prod2: environment("prod2", []) });
      const { r, outputs } = runBlock(block, { ...main(gh), EVENT: "workflow_dispatch", REQUESTED: "prod1 prod2" }, repo);
      expect(r.status).toBe(1);
      expect(r.stdout).toContain("::error::environment prod2 has no required reviewers");
      expect(outputs).toEqual({});
      expect(fs.readFileSync(gh.log, "utf8")).toBe(
        "api repos/shop/platform/environments/prod1|ghs_x\napi repos/shop/platform/environments/prod1/deployment-branch-policies|ghs_x\napi repos/shop/platform/environments/prod2|ghs_x\napi repos/shop/platform/environments/prod2/deployment-branch-policies|ghs_x\n",
      );
      // A non-prod deploy needs no reviewer, but its environment must be main-only: a PR naming it
      // would get its deploy credentials otherwise.
      const open = fakeGh({ dev: environment("dev", [], null) });
      const dev = runBlock(block, { ...main(open), EVENT: "workflow_dispatch", REQUESTED: "dev" }, repo);
      expect(dev.r.status).toBe(1);
      expect(dev.r.stdout).toContain("::error::environment dev lets every branch deploy");
      expect(dev.outputs).toEqual({});
      const ok = runBlock(block, { ...main(), EVENT: "workflow_dispatch", REQUESTED: "dev" }, repo);
      expect(ok.outputs).toEqual({ nonprod: '["dev"]', prod: "[]" });
    });

    it("a prod stack's first deploy from its branch: that branch beside main passes for that run only", () => {
      const { repo } = repoWithScript("first-deploy");
      const custom = { protected_branches: false, custom_branch_policies: true };
      const gh = fakeGh({
        prod1: environment("prod1", [{ type: "required_reviewers", reviewers: [SRE] }], custom),
        "prod1__deployment-branch-policies": branchPolicies({ name: "main", type: "branch" }, { name: "add-prod3", type: "branch" }),
      });
      const env = { ...main(gh), EVENT: "workflow_dispatch", REQUESTED: "prod1" };
      const ok = runBlock(block, { ...env, REF: "refs/heads/add-prod3" }, repo);
      expect(ok.r.status).toBe(0);
      expect(ok.r.stdout).toContain("environment prod1: branch main and, for this deploy, add-prod3: set it back to main only after it");
      // From main (the merge's deploy), the leftover branch is refused.
      const later = runBlock(block, env, repo);
      expect(later.r.status).toBe(1);
      expect(later.r.stdout).toContain("::error::environment prod1 lets branch:add-prod3 branch:main deploy");
    });

    it("the host holds every member's credential: its environment needs reviewers like prod's", () => {
      const { repo } = repoWithScript("host-unreviewed");
      const gh = fakeGh({ ...PROTECTED, host: environment("host", []) });
      const { r, outputs } = runBlock(block, { ...main(gh), EVENT: "workflow_dispatch", REQUESTED: "host dev" }, repo);
      expect(r.status).toBe(1);
      expect(r.stdout).toContain("::error::environment host has no required reviewers");
      expect(outputs).toEqual({});
    });

    it("deploys a branch's code only to prod-tier stacks (each approved in its environment), never to non-prod", () => {
      const { repo } = repoWithScript("branch-dispatch");
      const branch = { ...main(), REF: "refs/heads/add-prod3" };
      const bad = runBlock(block, { ...branch, EVENT: "workflow_dispatch", REQUESTED: "dev prod1" }, repo);
      expect(bad.r.status).toBe(1);
      expect(bad.r.stdout).toContain('::error::refs/heads/add-prod3 is not main: non-prod stacks (["dev"]) deploy only from main');
      expect(bad.outputs).toEqual({});
      const ok = runBlock(block, { ...branch, EVENT: "workflow_dispatch", REQUESTED: "prod1" }, repo);
      expect(ok.r.status).toBe(0);
      expect(ok.outputs).toEqual({ nonprod: "[]", prod: '["prod1"]' });
    });

    it("stops before any deploy when PULUMI_ORG is not set", () => {
      const { repo } = repoWithScript("no-org");
      const { r, outputs } = runBlock(block, { ...main(), EVENT: "workflow_dispatch", REQUESTED: "dev", PULUMI_ORG: "" }, repo);
      expect(r.status).toBe(1);
      expect(r.stdout).toContain("PULUMI_ORG");
      expect(outputs).toEqual({});
    });
  });
});

describe("drift.yml", () => {
  const job = drift.jobs.drift;
  const check = step(job, (s) => !!s.run?.includes(".github/scripts/drift-check.sh"), "that runs the drift script");
  const DRIFT = path.join(ROOT, ".github/scripts/drift-check.sh");

  it("checks every prod-tier stack (the stacks job lists them from the stack files), each on its own", () => {
    expect(job.strategy?.matrix).toEqual({ stack: "${{ fromJSON(needs.stacks.outputs.prod) }}" });
    expect(job.if).toBe("${{ needs.stacks.outputs.prod != '[]' }}");
    const list = drift.jobs.stacks;
    expect(list.outputs).toEqual({ prod: "${{ steps.list.outputs.prod }}" });
    const { r, outputs } = runBlock(byId(list, "list").run!, {}, ROOT);
    expect(r.status).toBe(0);
    expect(outputs).toEqual({ prod: '["prod1","prod2"]' });
    expect(job.strategy?.["fail-fast"]).toBe(false);
    // The webhook and the read token are secrets of the main-only drift environment, never
    // repository secrets a PR's job could read; the stacks job checks that before it is named.
    expect(job.environment).toBe("drift");
    expect(list.permissions).toEqual({ contents: "read", actions: "read" });
    expect(list.steps.map((s) => s.run).filter((r) => r?.includes("require-reviewers"))).toEqual([".github/scripts/require-reviewers.sh --branch-only drift"]);
  });

  it("installs the CLI only (no command), then runs the script with the credentials and the webhook; no step pages on its own", () => {
    const install = step(job, (s) => !!s.uses?.startsWith("pulumi/actions@"), "installing pulumi");
    expect(install.uses).toBe(PULUMI_ACTION);
    expect(Object.keys(install.with ?? {})).toEqual(["pulumi-version"]);
    expect(job.steps.indexOf(install)).toBeLessThan(job.steps.indexOf(check));
    // Preview-only credentials: a preview --refresh writes nothing.
    expect(check.env).toMatchObject({
      PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_PREVIEW_ACCESS_TOKEN }}",
      ALICLOUD_ACCESS_KEY: "${{ secrets.ALICLOUD_READONLY_ACCESS_KEY }}",
      ALICLOUD_SECRET_KEY: "${{ secrets.ALICLOUD_READONLY_SECRET_KEY }}",
      DINGTALK_WEBHOOK: "${{ secrets.DINGTALK_WEBHOOK }}",
      DINGTALK_SECRET: "${{ secrets.DINGTALK_SECRET }}",
      STACK: "${{ matrix.stack }}",
    });
    expect(check.run).toContain('.github/scripts/drift-check.sh "$PULUMI_ORG/platform/$STACK"');
    // The old design paged from a `failure()` step, which also paged when npm ci or login failed.
    for (const s of job.steps) {
      expect(s.if).toBeUndefined();
      expect(s["continue-on-error"]).toBeUndefined();
      if (s !== check) expect(s.run ?? "").not.toContain("curl");
    }
  });

  it("stops early when PULUMI_ORG is not set", () => {
    const { r } = runBlock(check.run!, { PULUMI_ORG: "", STACK: "prod1" });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("set the repository variable PULUMI_ORG");
  });

  it("is executable and passes shellcheck", () => {
    expect(fs.statSync(DRIFT).mode & 0o111).not.toBe(0);
    const r = run("shellcheck", ["-s", "bash", DRIFT]);
    expect(r.stdout + r.stderr).toBe("");
  });

  describe("drift-check.sh, with a fake pulumi and a loopback DingTalk robot", () => {
    let server: http.Server;
    let port: number;
    let reply: { status: number; body: string };
    let received: { url: string; type: string; body: string }[];

    beforeAll(async () => {
      server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
          received.push({ url: req.url ?? "", type: req.headers["content-type"] ?? "", body });
          res.writeHead(reply.status, { "content-type": "application/json" });
          res.end(reply.body);
        });
      });
      await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(async () => {
      await new Promise((ok) => server.close(ok));
    });
    beforeEach(() => {
      received = [];
      reply = { status: 200, body: '{"errcode":0,"errmsg":"ok"}' };
    });

    /** A fake `pulumi` that records its arguments, prints `stdout`/`stderr` and exits `code`. */
    function fakePulumi(stdout: string, stderr: string, code: number): { bin: string; args: string } {
      const dir = path.join(tmp, `pulumi-${++seq}`);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, "out"), stdout);
      fs.writeFileSync(path.join(dir, "err"), stderr);
      const bin = path.join(dir, "pulumi");
      fs.writeFileSync(bin, `#!/usr/bin/env bash\necho "$*" >"${dir}/args"\ncat "${dir}/out"\ncat "${dir}/err" >&2\nexit ${code}\n`);
      fs.chmodSync(bin, 0o755);
      return { bin, args: path.join(dir, "args") };
    }

    // Async: the webhook lives in this process, so the script must not block the event loop.
    function driftCheck(pulumi: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; summary: string }> {
      const summary = path.join(tmp, `summary-${++seq}.md`);
      fs.writeFileSync(summary, "");
      return new Promise((resolve, reject) => {
        const child = execFile(
          DRIFT,
          ["shop/platform/prod2"],
          {
            timeout: 20_000,
            env: {
              PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`,
              PULUMI: pulumi,
              RUN_URL: "https://github.example/shop/platform/actions/runs/99",
              DINGTALK_WEBHOOK: `http://127.0.0.1:${port}/robot/send?access_token=tok`,
              DINGTALK_SECRET: "",
              GITHUB_STEP_SUMMARY: summary,
              ...env,
            },
          },
          (err, stdout) => {
            if (err && typeof err.code !== "number") reject(err);
            else resolve({ code: err ? (err.code as number) : 0, stdout, summary: fs.readFileSync(summary, "utf8") });
          },
        );
        child.stdin?.end();
      });
    }

    const digest = (changeSummary: Record<string, number>, steps: { op: string; urn: string }[] = []) =>
      JSON.stringify({ config: {}, steps, changeSummary, duration: 1 }, null, 4);
    const URN = "urn:pulumi:prod2::platform::alicloud:ecs/securityGroupRule:SecurityGroupRule::prod2-net-front-tcp-6443-from-host";

    it("no drift: the preview ran and plans nothing but same/read/refresh; exit 0, nobody paged", async () => {
      const p = fakePulumi(digest({ same: 412, read: 3, refresh: 412 }), "", 0);
      const { code, summary } = await driftCheck(p.bin);
      expect(code).toBe(0);
      expect(summary).toBe("**prod2**: no drift\n");
      expect(received).toEqual([]);
      expect(fs.readFileSync(p.args, "utf8")).toBe("preview --stack shop/platform/prod2 --refresh --json --non-interactive\n");
    });

    it("drift: the plan has changes; pages DingTalk with the stack, the counts, the resources and the run; exit 1", async () => {
      const p = fakePulumi(
        digest({ same: 410, update: 1, create: 1 }, [
          { op: "same", urn: "urn:pulumi:prod2::platform::pulumi:pulumi:Stack::platform-prod2" },
          { op: "update", urn: URN },
          { op: "create", urn: "urn:pulumi:prod2::platform::alicloud:oss/bucket:Bucket::prod2-etcd-backup" },
        ]),
        "",
        0,
      );
      const { code, stdout, summary } = await driftCheck(p.bin);
      expect(code).toBe(1);
      expect(stdout).toContain("::error::prod2: drift: the live resources differ from the stack (update 1, create 1)");
      expect(stdout).toContain("DingTalk notified about the drift on prod2");
      expect(summary).toBe("**prod2**: drift (update 1, create 1)\n");
      expect(received).toHaveLength(1);
      expect(received[0].url).toBe("/robot/send?access_token=tok");
      expect(received[0].type).toBe("application/json");
      const msg = JSON.parse(received[0].body);
      expect(msg.msgtype).toBe("markdown");
      expect(msg.markdown.title).toBe("Pulumi drift: prod2");
      expect(msg.markdown.text).toBe(
        [
          "#### Pulumi drift: prod2",
          "",
          "Nightly `pulumi preview --refresh` of **prod2** plans changes: update 1, create 1.",
          "",
          "- update prod2-net-front-tcp-6443-from-host",
          "- create prod2-etcd-backup",
          "",
          "[Open the run](https://github.example/shop/platform/actions/runs/99) to see the diff, then fix the cloud or the code.",
        ].join("\n"),
      );
    });

    it("could not run (login failure, no JSON): exit 3, the reason shown, nobody paged", async () => {
      const p = fakePulumi("", "error: [401] Unauthorized: No credentials provided or are invalid.\n", 255);
      const { code, stdout, summary } = await driftCheck(p.bin);
      expect(code).toBe(3);
      expect(stdout).toContain(
        "::error::prod2: the drift check could not run (pulumi exit 255): error: [401] Unauthorized: No credentials provided or are invalid.. Not paged: this is not drift; fix the run.",
      );
      expect(summary).toContain("**prod2**: drift check could not run (pulumi exit 255)");
      expect(received).toEqual([]);
    });

    it("could not run (config refused, non-zero exit with a digest and no changes): exit 3, the error diagnostic shown, nobody paged", async () => {
      const doc = JSON.stringify({
        config: {},
        diagnostics: [
          { message: "platform:dingtalkWebhook is required: the DingTalk robot webhook Alertmanager posts alerts to\n", severity: "error" },
          { message: "a warning\n", severity: "warning" },
        ],
        changeSummary: { same: 1 },
      });
      const p = fakePulumi(doc, "", 255);
      const { code, stdout } = await driftCheck(p.bin);
      expect(code).toBe(3);
      expect(stdout).toContain(
        "could not run (pulumi exit 255): platform:dingtalkWebhook is required: the DingTalk robot webhook Alertmanager posts alerts to. Not paged",
      );
      expect(received).toEqual([]);
    });

    it("could not run (exit 0 but no preview digest, e.g. a plugin printing instead): exit 3, nobody paged", async () => {
      const p = fakePulumi("warning: plugin alicloud 3.108.0 not found, installing\n", "", 0);
      const { code } = await driftCheck(p.bin);
      expect(code).toBe(3);
      expect(received).toEqual([]);
    });

    it("signs the request when the robot has a signing secret", async () => {
      const before = Date.now();
      const p = fakePulumi(digest({ delete: 1 }, [{ op: "delete", urn: URN }]), "", 0);
      const { code } = await driftCheck(p.bin, { DINGTALK_SECRET: "SECabc+/=" });
      expect(code).toBe(1);
      const url = new URL(received[0].url, "http://x");
      const t = url.searchParams.get("timestamp")!;
      expect(Number(t)).toBeGreaterThanOrEqual(before);
      const want = crypto.createHmac("sha256", "SECabc+/=").update(`${t}\nSECabc+/=`).digest("base64");
      expect(url.searchParams.get("sign")).toBe(want);
      expect(url.searchParams.get("access_token")).toBe("tok");
    });

    it("drift: a message DingTalk refused (HTTP 200, errcode != 0) or an HTTP error is reported; the job stays red", async () => {
      const p = fakePulumi(digest({ update: 1 }, [{ op: "update", urn: URN }]), "", 0);
      reply = { status: 200, body: '{"errcode":310000,"errmsg":"keywords not in content"}' };
      let r = await driftCheck(p.bin);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("DingTalk refused the message");
      expect(r.stdout).not.toContain("DingTalk notified");
      reply = { status: 404, body: '{"errcode":404}' };
      r = await driftCheck(p.bin);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("DingTalk webhook failed");
    });

    it("drift with no webhook secret: fails loudly, sending nothing", async () => {
      const p = fakePulumi(digest({ update: 1 }, [{ op: "update", urn: URN }]), "", 0);
      const { code, stdout } = await driftCheck(p.bin, { DINGTALK_WEBHOOK: "" });
      expect(code).toBe(1);
      expect(stdout).toContain("DINGTALK_WEBHOOK is empty: nobody was told about the drift on prod2");
      expect(received).toEqual([]);
    });

    it("usage: one argument <org>/<project>/<stack>, else exit 2", async () => {
      const r = run(DRIFT, ["prod2"], { env: { PATH: process.env.PATH } });
      expect(r.status).toBe(2);
      expect(r.stderr).toBe("usage: drift-check.sh <org>/<project>/<stack>\n");
    });
  });
});

describe("one list of system tools, one test command", () => {
  const toolsFile = path.join(ROOT, ".ci/tools.txt");
  const tools = fs
    .readFileSync(toolsFile, "utf8")
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean);
  const SETUP = path.join(ROOT, ".ci/setup");

  it("lists every Debian package the tests run, once", () => {
    const needed = [
      "haproxy",
      "shellcheck",
      "cloud-init",
      "prometheus",
      "prometheus-alertmanager",
      "luajit",
      "strongswan-swanctl",
      "strongswan-charon",
      "charon-systemd",
      "openssl",
      "curl",
      "ca-certificates",
      "git",
      "iproute2",
      "util-linux",
      "iptables",
      "nftables",
      // kube-router programs ipsets (test/k8s/networkPolicyEnforcement.test.ts)
      "ipset",
      "systemd",
    ];
    expect([...tools].sort()).toEqual([...needed].sort());
    expect(new Set(tools).size).toBe(tools.length);
  });

  it(".ci/run, the PR workflow and the README run the same command, which installs that list", () => {
    expect(fs.readFileSync(path.join(ROOT, ".ci/run"), "utf8")).toMatch(/^npm run test:all$/m);
    expect(pr.jobs.tests.steps.filter((s) => s.run === "npm run test:all")).toHaveLength(1);
    expect(PKG.scripts["test:all"]).toBe("bash .ci/setup --tests && npm run typecheck && npm run lint && jest");
    expect(fs.readFileSync(SETUP, "utf8")).toContain(".ci/tools.txt");
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const quick = readme.slice(readme.indexOf("## Quick start"), readme.indexOf("\n## ", readme.indexOf("## Quick start") + 3));
    expect(
      quick
        .match(/^```(?:bash|sh)?\n([\s\S]*?)```/m)?.[1]
        .trim()
        .split("\n"),
    ).toEqual(["npm run setup && npm run preview -- dev", "npm run test:all"]);
  });

  it("the devcontainer bakes in the same list on Node 24", () => {
    const dockerfile = fs.readFileSync(path.join(ROOT, ".devcontainer/Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^FROM node:24-bookworm$/m);
    expect(dockerfile).toContain("COPY .ci/tools.txt");
    expect(dockerfile).toContain("--no-install-recommends");
    const dc = JSON.parse(fs.readFileSync(path.join(ROOT, ".devcontainer/devcontainer.json"), "utf8"));
    expect(dc.build).toEqual({ dockerfile: "Dockerfile", context: ".." });
    expect(dc.postCreateCommand).toBe("npm run setup");
  });

  it("npm scripts and the bootstrap run on the same Node 24 from the registry", () => {
    const boot = JSON.parse(fs.readFileSync(path.join(ROOT, ".ci/node/package.json"), "utf8"));
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    expect(boot.devDependencies.node).toBe(pkg.devDependencies.node);
    expect(pkg.devDependencies.node).toMatch(/^24\./);
    // npm 11 runs a dependency's install script only when allowScripts names it: node's fetches the binary.
    expect(boot.allowScripts).toEqual({ node: true });
    expect(pkg.allowScripts.node).toBe(true);
    expect(process.versions.node.split(".")[0]).toBe("24");
  });

  it("passes shellcheck", () => {
    const r = run("shellcheck", ["-s", "bash", SETUP, path.join(ROOT, ".ci/run")]);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  /** .ci/setup --tests on a PATH of stand-ins: dpkg-query says nothing is installed, `id -u` says `uid`. */
  function setupWith(opts: { apt: boolean; uid: number }): { r: SpawnSyncReturns<string>; aptLog: string } {
    const bin = path.join(tmp, `setup-bin-${++seq}`);
    fs.mkdirSync(bin);
    for (const t of ["sed", "grep", "dirname", "bash"])
      fs.symlinkSync(spawnSync("bash", ["-c", `command -v ${t}`], { encoding: "utf8" }).stdout.trim(), path.join(bin, t));
    const aptLog = path.join(bin, "apt.log");
    fs.writeFileSync(path.join(bin, "id"), `#!/bin/bash\necho ${opts.uid}\n`, { mode: 0o755 });
    if (opts.apt) {
      fs.writeFileSync(path.join(bin, "dpkg-query"), "#!/bin/bash\nexit 1\n", { mode: 0o755 });
      fs.writeFileSync(path.join(bin, "apt-get"), `#!/bin/bash\necho "$*" >>${aptLog}\n[ "$1" != install ]\n`, { mode: 0o755 });
    }
    const r = run(path.join(bin, "bash"), [SETUP, "--tests"], { env: { PATH: bin } });
    return { r, aptLog: fs.existsSync(aptLog) ? fs.readFileSync(aptLog, "utf8") : "" };
  }

  it("not root: one message with the exact apt-get command, and installs nothing", () => {
    const { r, aptLog } = setupWith({ apt: true, uid: 1000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`sudo apt-get update && sudo apt-get install -y --no-install-recommends ${tools.join(" ")}\n`);
    expect(aptLog).toBe("");
  });

  it("root: apt-get update, then install of the missing packages without recommends", () => {
    const { r, aptLog } = setupWith({ apt: true, uid: 0 });
    expect(r.status).not.toBe(0); // the stand-in install fails, and setup stops there
    expect(aptLog.trim().split("\n")).toEqual(["update -q", `install -y -q --no-install-recommends ${tools.join(" ")}`]);
  });

  it("no apt-get (macOS, another distribution): names the packages and the devcontainer", () => {
    const { r } = setupWith({ apt: false, uid: 1000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("no apt-get");
    expect(r.stderr).toContain(tools.join(" "));
    expect(r.stderr).toContain(".devcontainer/");
  });
});
