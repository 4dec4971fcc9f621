// The PR comment builder (.github/scripts/pr-comment.js) on real preview outputs:
// every stack's diff kept whole under GitHub's 65,536-character limit, findings
// shown when a policy blocks, trees cut first.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { previewCli } from "../support/offline";
import { writeArtifacts } from "../../components/preview/preview";
import { plan } from "../support/offline";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildBody, splitPreview, scrubPaths, MARKER } = require("../../.github/scripts/pr-comment.js") as {
  buildBody(o: { stacks: string[]; dir: string; sha: string; baseRef: string; env?: Record<string, string> }): string;
  splitPreview(t: string): { summary: string; plan: string; cost: string; diff: string; findings: string; tree: string };
  scrubPaths(t: string, env: Record<string, string>): string;
  MARKER: string;
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "prcomment-"));
let scaleOut: string; // prod1 200 -> 230 workers, --tree: ~150 k characters
let blocked: string; // prod1 zones reordered: safe-changes blocks it (exit 1)
let release: string; // prod1: order-service's tag only (updates, nothing replaced)
let canary: string; // prod1: order-service gets a 10% canary of v2.3.1 (pre's current tag, which validated-in-pre admits)

// Four preview runs of prod1 (two at a time: each is a child process).
beforeAll(async () => {
  writeArtifacts(path.join(tmp, "base200"), await plan("prod1", ["platform:nodePools[0].count=200"]));
  writeArtifacts(path.join(tmp, "base"), await plan("prod1"));
  const base = path.join(tmp, "base");
  const [a, b] = await Promise.all([
    previewCli("prod1", "-c", "platform:nodePools[0].count=230", "--diff-from", path.join(tmp, "base200"), "--tree"),
    previewCli("prod1", "-c", 'platform:network.zones=["cn-shanghai-f","cn-shanghai-g","cn-shanghai-e"]', "--diff-from", base, "--tree"),
  ]);
  const [c, d] = await Promise.all([
    previewCli("prod1", "-c", "platform:apps.order-service.tag=order-service-v2.3.1", "--diff-from", base, "--tree"),
    previewCli("prod1", "-c", 'platform:apps.order-service.canary={"tag":"order-service-v2.3.1","weight":10}', "--diff-from", base, "--tree"),
  ]);
  expect([a.code, b.code, c.code, d.code]).toEqual([0, 1, 0, 0]);
  scaleOut = a.stdout + a.stderr;
  blocked = b.stdout + b.stderr;
  release = c.stdout + c.stderr;
  canary = d.stdout + d.stderr;
}, 10 * 60_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(tmp, "diff-"));
  for (const [f, t] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), t);
  return dir;
}
const as = (text: string, stack: string) => text.split("prod1").join(stack);
const body = (stacks: string[], files: Record<string, string>) => buildBody({ stacks, dir: write(files), sha: "abcdef1234567", baseRef: "main" });

test("splits a preview into summary, diff, findings and tree", () => {
  const s = splitPreview(scaleOut);
  expect(scaleOut.length).toBeGreaterThan(100_000);
  expect(s.diff.startsWith("Changes against ")).toBe(true);
  expect(s.diff).toContain("+  30 x alicloud:ecs:Instance prod1-general-[200..229]");
  // 30 nodes x (instance, 2 SLB attachments, the workers' role attachment)
  expect(s.summary).toMatch(/^Plan: 120 to create, /);
  expect(s.findings).toMatch(/^policies: 0 mandatory/);
  expect(s.tree).toContain("pulumi:pulumi:Stack");
});

test.each([2, 6])("%i changed stacks: every stack's whole diff and findings, under 65,536 characters", (n) => {
  const stacks = ["prod1", "prod2", "pre", "test", "dev", "host"].slice(0, n);
  const files: Record<string, string> = {};
  for (const st of stacks) Object.assign(files, { [`${st}.status`]: "ok\n", [`${st}.txt`]: as(scaleOut, st) });
  const b = body(stacks, files);
  expect(b.startsWith(MARKER)).toBe(true);
  expect(b.length).toBeLessThan(65536);
  for (const st of stacks) {
    const s = splitPreview(as(scaleOut, st));
    expect(b).toContain(s.diff);
    expect(b).toContain(s.findings);
    expect(b).toContain(`<b>${st}</b>`);
  }
  // Trees go first: the text is far over the limit, so they are cut (and say where the rest is).
  expect(b).toContain("tree truncated: the full output is in the run's offline-preview artifact");
});

test("a blocked PR: its findings and diff are in the comment, opened", () => {
  const b = body(["prod1", "prod2"], {
    "prod1.status": "failed\n",
    "prod1.txt": blocked,
    "prod2.status": "ok\n",
    "prod2.txt": as(scaleOut, "prod2"),
  });
  expect(b.length).toBeLessThan(65536);
  expect(b).toMatch(/<details open><summary>❌ <b>prod1<\/b> · preview failed · Plan: /);
  expect(b).toContain("[mandatory] safe-changes x 3: prod1-master-0: the plan replaces (availabilityZone) a master.");
  expect(b).toContain("Offline preview of stack prod1: 10 mandatory policy violation(s) (safe-changes); `pulumi up` would be refused.");
  expect(b).toContain(splitPreview(blocked).diff);
  expect(b).toContain(splitPreview(as(scaleOut, "prod2")).diff);
});

/** The stack blocks of a body: each from its `<details` to the `</details>` that closes it (nested tree block inside). */
function blocks(b: string): string[] {
  return b.split(/\n(?=<details(?: open)?><summary>[✅❌] )/).slice(1);
}

describe("what the comment leads with", () => {
  test("one summary line per stack: its Plan line, the instance delta and the replaces/deletes/stops; a scale-out replaces nothing, so it stays closed", () => {
    const b = body(["prod1"], { "prod1.status": "ok\n", "prod1.txt": scaleOut });
    expect(b).toMatch(
      /\n<details><summary>✅ <b>prod1<\/b> · Plan: 120 to create, 1 to update, 0 to update with the instance stopped, 0 to replace, 0 to delete; \d+ unchanged · instances ecs\.g6\.4xlarge 208 -&gt; 238 \(\+30\) · 0 replace\(s\), 0 delete\(s\), 0 stop\(s\)<\/summary>\n/,
    );
  });

  test("a release that only updates stays closed, and says so in its summary", () => {
    const b = body(["prod1"], { "prod1.status": "ok\n", "prod1.txt": release });
    expect(b).toMatch(
      /\n<details><summary>✅ <b>prod1<\/b> · Plan: 0 to create, \d+ to update, 0 to update with the instance stopped, 0 to replace, 0 to delete; \d+ unchanged · no instance change · 0 replace\(s\), 0 delete\(s\), 0 stop\(s\)<\/summary>/,
    );
    expect(b).toContain(
      '  ~  kubernetes:apps:Deployment prod1-order-service-deployment-order-service  update\n        metadata.labels["app.kubernetes.io/version"]: "order-service-v2.3.0" -> "order-service-v2.3.1"',
    );
  });

  test("the tree carries the diff's own marks: updated, created and unchanged, not `create` on everything", () => {
    const b = body(["prod1"], { "prod1.status": "ok\n", "prod1.txt": scaleOut });
    const tree = b.slice(b.indexOf("resource tree (the diff's marks)"));
    expect(tree).toMatch(/\n ~  +[│ ]+[├└]─ pulumi-nodejs:dynamic:ApiServerReadiness +prod1-nodes-joined +update \(secret inputs\)\n/);
    // (scaleOut's tree is cut to fit the limit before its new nodes: the canary's creations are in a whole tree.)
    const canaryTree = body(["prod1"], { "prod1.status": "ok\n", "prod1.txt": canary });
    expect(canaryTree).toMatch(/\n \+  +[│ ]+[├└]─ kubernetes:apps:Deployment +prod1-order-service-deployment-order-service-canary +create\n/);
    expect(canaryTree).toMatch(/\n {5}[│ ]+[├└]─ kubernetes:apps:Deployment +prod1-order-service-deployment-order-service +same\n/);
    expect(tree).toMatch(/\n {5}pulumi:pulumi:Stack +platform-prod1 +same\n/);
    expect(tree).not.toMatch(/prod1-vpc +create/);
  });

  test("a creation shows its key inputs: the canary's image and replicas, its Ingress's weight", () => {
    const b = body(["prod1"], { "prod1.status": "ok\n", "prod1.txt": canary });
    expect(b).toContain(
      "  +  kubernetes:apps:Deployment prod1-order-service-deployment-order-service-canary  image harbor.livemall.internal/commerce/order-service:order-service-v2.3.1, replicas 3",
    );
    expect(b).toContain(
      "  +  kubernetes:networking.k8s.io:Ingress prod1-order-service-ingress-order-service-canary  canary weight 10%, host order.livemall.com",
    );
  });

  test("a long text value is diffed by line: the dashboard gains its canary panel, shown as added lines", () => {
    const b = body(["prod1"], { "prod1.status": "ok\n", "prod1.txt": canary });
    expect(b).toMatch(/\n {8}data\["prod1-order-service\.json"\]: text, \d+ -> \d+ lines \(-0 \+\d+\)/);
    expect(b).toContain('          +       "title": "Canary vs stable requests/s",');
  });
});

describe("no runner paths", () => {
  const env = { GITHUB_WORKSPACE: "/home/runner/work/platform/platform", RUNNER_TEMP: "/home/runner/work/_temp", HOME: "/home/runner" };

  test("the workspace becomes relative, the temp dir and any other runner path a label", () => {
    expect(scrubPaths("Changes against /home/runner/work/platform/platform/offline-preview/base/prod1/plan.json (stack prod1):", env)).toBe(
      "Changes against offline-preview/base/prod1/plan.json (stack prod1):",
    );
    expect(scrubPaths("wrote /home/runner/work/_temp/base/x.json", env)).toBe("wrote <runner temp>/base/x.json");
    expect(scrubPaths("at Object.<anonymous> (/__w/platform/platform/index.ts:12:3)", {})).toBe("at Object.<anonymous> (<runner path>)");
    expect(scrubPaths("cache in /home/runner/.npm/_cacache", {})).toBe("cache in <runner path>");
  });

  test("nowhere in the comment, from the output, the error file or the note", () => {
    const text = scaleOut.replace(
      /^Changes against .*\(stack prod1\):$/m,
      `Changes against ${env.GITHUB_WORKSPACE}/offline-preview/base/prod1/plan.json (stack prod1):`,
    );
    const b = buildBody({
      stacks: ["prod1", "prod2"],
      dir: write({
        "prod1.status": "ok\n",
        "prod1.txt": text,
        "prod1.note": `main could not be previewed for prod1 (${env.RUNNER_TEMP}/base): compared with an empty plan.`,
        "prod2.status": "failed\n",
        "prod2.err": "Error: boom\n    at main (/home/runner/work/platform/platform/components/preview/cli.ts:100:5)\n",
      }),
      sha: "abcdef1234567",
      baseRef: "main",
      env,
    });
    expect(b).not.toMatch(/\/home\/runner|_temp|\/__w\//);
    expect(b).toContain("Changes against offline-preview/base/prod1/plan.json (stack prod1):");
    expect(b).toContain("> main could not be previewed for prod1 (<runner temp>/base): compared with an empty plan.");
    expect(b).toContain("    at main (components/preview/cli.ts:100:5)");
  });
});

describe("every stack whole within 65,536 characters", () => {
  /** A synthetic preview: `rows` replaced resources, each with three value lines, and a tree of as many lines. */
  function huge(stack: string, rows: number): string {
    const diff = [
      `Changes against base/${stack}/plan.json (stack ${stack}):`,
      `  REPLACES ${rows} resource(s): each is deleted and created again, with a new id.`,
    ];
    const tree = ["     Type  Name  Plan"];
    for (let i = 0; i < rows; i++) {
      diff.push(`  +- kubernetes:core:ConfigMap ${stack}-cm-${i}  replace`);
      diff.push(`        data["a.txt"]: text, 3 -> 3 lines (-1 +1)   [forces replacement]`, `          - old ${i}`, `          + new ${i}`);
      tree.push(` +-  ├─ kubernetes:core:ConfigMap  ${stack}-cm-${i}  replace`);
    }
    diff.push(`Plan: 0 to create, 0 to update, 0 to update with the instance stopped, ${rows} to replace, 0 to delete; 10 unchanged`);
    return [
      `Offline preview of stack ${stack} (project platform)`,
      "",
      ...tree,
      "",
      ...diff,
      "",
      "policies: 0 mandatory, 0 advisory violations (policies/config/prod.json)",
      "",
    ].join("\n");
  }

  test("six stacks of a 150,000-character scale-out: trees cut, every diff and every findings whole, each stack says it was shortened", () => {
    const stacks = ["prod1", "prod2", "pre", "test", "dev", "host"];
    const files: Record<string, string> = {};
    for (const st of stacks) Object.assign(files, { [`${st}.status`]: "ok\n", [`${st}.txt`]: as(scaleOut, st) });
    const b = body(stacks, files);
    expect(b.length).toBeLessThanOrEqual(65536);
    const bs = blocks(b);
    expect(bs).toHaveLength(6);
    for (const [i, st] of stacks.entries()) {
      expect(bs[i]).toContain(`<b>${st}</b>`);
      expect(bs[i].trimEnd().endsWith("</details>")).toBe(true);
      expect(bs[i]).toContain(splitPreview(as(scaleOut, st)).diff);
      expect(bs[i]).toContain("> Shortened to fit GitHub's 65,536-character comment limit: the resource tree is cut.");
    }
  });

  test("stacks whose diffs alone are too long: value lines go, then rows past an equal share; each stack whole, counted, and the same every run", () => {
    const stacks = ["prod1", "prod2", "pre"];
    const files: Record<string, string> = { "dev.status": "ok\n", "dev.txt": release };
    for (const st of stacks) Object.assign(files, { [`${st}.status`]: "ok\n", [`${st}.txt`]: huge(st, 2000) });
    const dir = write(files);
    const b = buildBody({ stacks: [...stacks, "dev"], dir, sha: "abcdef1234567", baseRef: "main" });
    expect(b).toBe(buildBody({ stacks: [...stacks, "dev"], dir, sha: "abcdef1234567", baseRef: "main" }));
    expect(b.length).toBeLessThanOrEqual(65536);
    const bs = blocks(b);
    expect(bs).toHaveLength(4);
    for (const [i, st] of stacks.entries()) {
      const x = bs[i];
      // Whole: its summary, its Plan line (the diff's last row), the closing tag.
      expect(x).toContain(
        `<details open><summary>✅ <b>${st}</b> · Plan: 0 to create, 0 to update, 0 to update with the instance stopped, 2000 to replace, 0 to delete; 10 unchanged`,
      );
      expect(x).toContain("\nPlan: 0 to create, 0 to update, 0 to update with the instance stopped, 2000 to replace, 0 to delete; 10 unchanged\n````");
      expect(x.trimEnd().endsWith("</details>")).toBe(true);
      expect(x).toContain(`  +- kubernetes:core:ConfigMap ${st}-cm-0  replace\n`);
      expect(x).not.toContain("          - old 0");
      expect(x).toMatch(
        /the resource tree is left out; the diff's 6000 value line\(s\) are left out \(each change keeps its head line\); \d+ change row\(s\) are left out\./,
      );
      expect(x).toMatch(/\n {2}… \d+ more change row\(s\) not shown: the full output is in the run's offline-preview artifact/);
    }
    // The small stack keeps everything but its tree's room.
    expect(bs[3]).toContain(splitPreview(release).diff);
  });
});
