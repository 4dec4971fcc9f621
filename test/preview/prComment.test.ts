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
const { buildBody, splitPreview, MARKER } = require("../../.github/scripts/pr-comment.js") as {
  buildBody(o: { stacks: string[]; dir: string; sha: string; baseRef: string }): string;
  splitPreview(t: string): { summary: string; diff: string; findings: string; tree: string };
  MARKER: string;
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "prcomment-"));
let scaleOut: string; // prod1 200 -> 230 workers, --tree: ~150 k characters
let blocked: string; // prod1 zones reordered: safe-changes blocks it (exit 1)

beforeAll(async () => {
  writeArtifacts(path.join(tmp, "base200"), await plan("prod1", ["platform:nodePools[0].count=200"]));
  writeArtifacts(path.join(tmp, "base"), await plan("prod1"));
  const a = await previewCli("prod1", "-c", "platform:nodePools[0].count=230", "--diff-from", path.join(tmp, "base200"), "--tree");
  expect(a.code).toBe(0);
  scaleOut = a.stdout + a.stderr;
  const b = await previewCli(
    "prod1",
    "-c",
    'platform:network.zones=["cn-shanghai-f","cn-shanghai-g","cn-shanghai-e"]',
    "--diff-from",
    path.join(tmp, "base"),
    "--tree",
  );
  expect(b.code).toBe(1);
  blocked = b.stdout + b.stderr;
});
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
  expect(b).toMatch(/<details open><summary>❌ <b>prod1<\/b>: preview failed/);
  expect(b).toContain("[mandatory] safe-changes x 3: prod1-master-0: the plan replaces (availabilityZone) a master.");
  expect(b).toContain("Offline preview of stack prod1: 10 mandatory policy violation(s) (safe-changes); `pulumi up` would be refused.");
  expect(b).toContain(splitPreview(blocked).diff);
  expect(b).toContain(splitPreview(as(scaleOut, "prod2")).diff);
});
