// The README and docs/ say what to run and where to read on: every `npm run <script>` they name must be a script of
// package.json, and every relative link must lead to a file that exists (and, with a #fragment into Markdown, to a
// heading of it). A renamed script or a moved doc fails here instead of in a newcomer's terminal.
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");

/**
 * Docs another branch is adding that the README or docs/ link to already (none today: replace-a-node.md, ci-setup.md,
 * trust-model.md, cis.md and policy-pack.md are merged). The lead removes each entry once its file is merged: then a
 * link to it is checked like any other.
 */
export const PENDING_DOCS_FROM_OTHER_BRANCHES: string[] = [];

function markdownFiles(): string[] {
  const out = ["README.md"];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith(".md")) out.push(rel);
    }
  };
  walk("docs");
  return out.sort();
}

/** GitHub's anchor for a heading: lowercase, punctuation but `-` and `_` dropped, spaces to `-`. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*]/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchors(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of stripCode(text).matchAll(/^#{1,6} (.+)$/gm)) out.add(anchor(m[1]));
  return out;
}

/** The text without fenced blocks, where `#` starts a comment and `[x](y)` is not a link. */
function stripCode(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, "");
}

const FILES = markdownFiles();
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };

describe("README.md and docs/", () => {
  test("the docs exist where the README's map points (a sample of the split, by name)", () => {
    expect(FILES).toEqual(
      expect.arrayContaining([
        "README.md",
        "docs/cis.md",
        "docs/config-reference.md",
        "docs/design.md",
        "docs/policy-pack.md",
        "docs/reviewing.md",
        "docs/runbooks/add-a-cluster.md",
        "docs/runbooks/add-an-app.md",
        "docs/runbooks/certificates-and-backups.md",
        "docs/runbooks/ci-setup.md",
        "docs/runbooks/first-bring-up.md",
        "docs/runbooks/release-and-rollback.md",
        "docs/runbooks/replace-a-node.md",
        "docs/runbooks/scale.md",
        "docs/runbooks/upgrade.md",
        "docs/threat-model.md",
        "docs/trust-model.md",
      ]),
    );
  });

  test("the README stays within 250 lines", () => {
    expect(fs.readFileSync(path.join(ROOT, "README.md"), "utf8").split("\n").length).toBeLessThanOrEqual(250);
  });

  test.each(FILES)("every `npm run <script>` in %s is a script of package.json", (file) => {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    const named = [...text.matchAll(/npm run(?: -s)? ([a-z][\w:-]*)/g)].map((m) => m[1]);
    const missing = [...new Set(named)].filter((s) => PKG.scripts[s] === undefined);
    expect(missing).toEqual([]);
  });

  test.each(FILES)("every relative link in %s leads to a file (and heading) that exists", (file) => {
    const text = stripCode(fs.readFileSync(path.join(ROOT, file), "utf8"));
    const broken: string[] = [];
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1];
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      const [p, fragment] = target.split("#");
      const resolved = p === "" ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), p));
      if (PENDING_DOCS_FROM_OTHER_BRANCHES.includes(resolved)) continue;
      const abs = path.join(ROOT, resolved);
      if (!fs.existsSync(abs)) {
        broken.push(`${target} (no ${resolved})`);
        continue;
      }
      if (fragment && resolved.endsWith(".md") && !anchors(fs.readFileSync(abs, "utf8")).has(fragment))
        broken.push(`${target} (no heading #${fragment} in ${resolved})`);
    }
    expect(broken).toEqual([]);
  });

  test("the link check itself: a missing file and a missing heading are caught, GitHub's anchors are matched", () => {
    expect(anchor("Secrets and the first `up`")).toBe("secrets-and-the-first-up");
    expect(anchor("platform:secretStore")).toBe("platformsecretstore");
    expect(anchor("Release, promote, canary and roll back")).toBe("release-promote-canary-and-roll-back");
    expect(anchors("# A\n```sh\n# not a heading\n```\n## B c\n")).toEqual(new Set(["a", "b-c"]));
  });
});
