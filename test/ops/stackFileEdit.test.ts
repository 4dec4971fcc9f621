// The stack-file edit engine's promise, on the real stack files and on nasty ones:
// only the edited lines change (every other byte, comment, anchor, CRLF and the lack
// of a final newline stay), and the write leaves the old file or the new one whole,
// through a symlink, with its mode and owner, and no temporary copy, also when it
// fails between writing and renaming.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StackFileEdit, setScalar } from "../../components/ops/stackFileEdit";
import { replaceStackFile } from "../../components/ops/stackFileWrite";
import { release, rollback } from "../../components/ops/releaseOps";

const ROOT = path.resolve(__dirname, "..", "..");
/** The fs module itself (the engine reads its functions at each call), for spying. */
const realFs = jest.requireActual<typeof fs>("fs");

/** The lines that differ between two texts, as [before, after], from the first difference to the last. */
function changed(before: string, after: string): [string[], string[]] {
  const a = before.split("\n");
  const b = after.split("\n");
  let head = 0;
  while (head < a.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  return [a.slice(head, a.length - tail), b.slice(head, b.length - tail)];
}

const NASTY = [
  "# Stack dev: every layout the engine must keep.",
  "config:",
  "  platform:env: dev",
  "  platform:network: {vpcCidr: 10.40.0.0/16,   zones: [cn-shanghai-e,  cn-shanghai-f]}",
  "  platform:defaults: &defaults",
  "    replicas: 2   # odd spacing kept",
  "  platform:apps:",
  "    order-service:",
  "      image: r/order-service   # repository",
  "      tag: 'v1'    # set by npm run release",
  "      # Previous tags, newest first.",
  "      history:",
  "        # the hotfix build",
  "        - '20261125-140'",
  "",
  "        - 20261124-139 # before the freeze",
  "      limits: *defaults",
  "      note: |",
  "        keep: this",
  "  platform:nodePools:",
  "    - name: general",
  "      count: 20 # planned",
  "    - {name: order,  count: 8}",
].join("\n");

describe("only the edited lines change", () => {
  test("on every real stack file: a pool count and an app's tag and history", () => {
    const counts: Record<string, [string, string]> = {};
    const apps: Record<string, [string[], string[]]> = {};
    for (const stack of ["dev", "test", "pre", "prod1", "prod2"]) {
      const text = fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
      const out = setScalar(text, ["config", "platform:nodePools", { name: "general" }, "count"], 1, `Pulumi.${stack}.yaml: count`);
      const [a, b] = changed(text, out);
      expect(a).toHaveLength(1);
      counts[stack] = [a[0], b[0]];
      const edit = new StackFileEdit(text, `Pulumi.${stack}.yaml`);
      edit.set(["config", "platform:apps", "order-service", "tag"], "v9.9.9", "tag");
      edit.set(["config", "platform:apps", "order-service", "history"], ["v9.9.8"], "history", "tag");
      const [ta, tb] = changed(text, edit.result("apps"));
      // Within the changed span: the tag line and the history entries, nothing else.
      apps[stack] = [ta.filter((l) => !tb.includes(l)), tb.filter((l) => !ta.includes(l))];
    }
    const added = ["      tag: v9.9.9", "        - v9.9.8"];
    expect(apps).toEqual({
      // No history yet: it is added on the line after the tag.
      dev: [["      tag: 20261126-418"], ["      tag: v9.9.9", "      history:", "        - v9.9.8"]],
      test: [["      tag: 20261125-402"], ["      tag: v9.9.9", "      history:", "        - v9.9.8"]],
      pre: [["      tag: order-service-v2.3.1", "        - order-service-v2.3.0", "        - order-service-v2.2.4", "        - order-service-v2.2.3"], added],
      prod1: [["      tag: order-service-v2.3.0", "        - order-service-v2.2.4", "        - order-service-v2.2.3"], added],
      prod2: [["      tag: order-service-v2.3.0", "        - order-service-v2.2.4"], added],
    });
    expect(counts).toEqual({
      dev: ["      count: 3", "      count: 1"],
      test: ["      count: 4", "      count: 1"],
      pre: ["      count: 6", "      count: 1"],
      prod1: ["      count: 20", "      count: 1"],
      prod2: ["      count: 12", "      count: 1"],
    });
  });

  test("a nasty file: quoting, comments beside the value, anchors, aliases, flow maps and block text stay", () => {
    const edit = new StackFileEdit(NASTY, "Pulumi.dev.yaml");
    edit.set(["config", "platform:apps", "order-service", "tag"], "20261127-150", "tag");
    edit.set(["config", "platform:apps", "order-service", "history"], ["v1", "20261125-140", "20261124-139"], "history", "tag");
    edit.set(["config", "platform:nodePools", { name: "order" }, "count"], 6, "count");
    // Three lines change (the tag's value, a new first history entry, the order pool's count); every other byte stays.
    expect(edit.result("Pulumi.dev.yaml")).toBe(
      NASTY.replace("tag: 'v1'    #", "tag: '20261127-150'    #")
        .replace("      history:\n", "      history:\n        - v1\n")
        .replace("{name: order,  count: 8}", "{name: order,  count: 6}"),
    );
  });

  test("CRLF stays CRLF, and a file without a final newline gets none", () => {
    const crlf = `${NASTY.replace(/\n/g, "\r\n")}\r\n`;
    const edit = new StackFileEdit(crlf, "Pulumi.dev.yaml");
    edit.set(["config", "platform:apps", "order-service", "history"], ["v1", "20261125-140", "20261124-139"], "history");
    const out = edit.result("x");
    expect(out).toBe(crlf.replace("      history:\r\n", "      history:\r\n        - v1\r\n"));

    const bare = "config:\n  platform:apps:\n    a:\n      tag: v1\n      history:\n        - v0";
    const e2 = new StackFileEdit(bare, "Pulumi.pre.yaml");
    e2.set(["config", "platform:apps", "a", "history"], ["v0", "v-1"], "history");
    expect(e2.result("x")).toBe(`${bare}\n        - v-1`);
    const e3 = new StackFileEdit(bare, "Pulumi.pre.yaml");
    e3.set(["config", "platform:apps", "a", "tag"], "v2", "tag");
    expect(e3.result("x")).toBe(bare.replace("tag: v1", "tag: v2"));
  });

  test("an emptied list keeps the comment lines inside it; a comment a whole rewrite would drop is refused", () => {
    const text = "a:\n  history: # newest first\n    # the hotfix\n    - v1\n  b: 1\n";
    const edit = new StackFileEdit(text, "f");
    edit.set(["a", "history"], [], "history");
    expect(edit.result("f")).toBe("a:\n  history: [] # newest first\n    # the hotfix\n  b: 1\n");

    const flow = "a:\n  history: [v1, # the hotfix\n    v0]\n";
    expect(() => new StackFileEdit(flow, "f").set(["a", "history"], ["v2", "v1", "v0"], "Pulumi.dev.yaml: a.history")).toThrow(
      "Pulumi.dev.yaml: a.history: a comment sits inside the value this edit rewrites; edit it by hand",
    );
  });

  test("a deleted canary block and a dropped history entry keep every comment on their lines, above the next line", () => {
    const before = [
      "config:",
      "  platform:apps:",
      "    order-service:",
      "      tag: v3 # stable",
      "      canary: # the sale's rc",
      "        # 10% until the sale ends",
      "        tag: v4 # rc from Tuesday",
      "        weight: 10",
      "      history:",
      "        - v2 # pinned by finance",
      "        # the freeze build",
      "        - v1 # last good before the freeze",
      "      replicas: 3",
      "",
    ].join("\n");
    const edit = new StackFileEdit(before, "Pulumi.prod1.yaml");
    edit.set(["config", "platform:apps", "order-service", "tag"], "v4", "tag");
    edit.set(["config", "platform:apps", "order-service", "history"], ["v3", "v2"], "history");
    edit.delete(["config", "platform:apps", "order-service", "canary"], "canary");
    expect(edit.result("Pulumi.prod1.yaml")).toBe(
      [
        "config:",
        "  platform:apps:",
        "    order-service:",
        "      tag: v4 # stable",
        "      # the sale's rc",
        "      # 10% until the sale ends",
        "      # rc from Tuesday",
        "      history:",
        "        - v3",
        "        - v2 # pinned by finance",
        "        # the freeze build",
        "        # last good before the freeze",
        "      replicas: 3",
        "",
      ].join("\n"),
    );
  });

  test("a dropped last line without a final newline leaves its comment without one; CRLF stays", () => {
    const bare = "a:\n  history:\n    - v1\n    - v0 # the last good";
    const e1 = new StackFileEdit(bare, "f");
    e1.set(["a", "history"], ["v1"], "history");
    expect(e1.result("f")).toBe("a:\n  history:\n    - v1\n    # the last good");
    const crlf = "a:\r\n  canary: {tag: v2} # rc\r\n  tag: v1\r\n";
    const e2 = new StackFileEdit(crlf, "f");
    e2.delete(["a", "canary"], "canary");
    expect(e2.result("f")).toBe("a:\r\n  # rc\r\n  tag: v1\r\n");
  });

  test("an anchored or aliased value is refused, naming it", () => {
    const text = "a: &x 1\nb: *x\n";
    expect(() => setScalar(text, ["a"], 2, "f: a")).toThrow("f: a: has an anchor (&x) other values may alias; edit it by hand");
    expect(() => setScalar(text, ["b"], 2, "f: b")).toThrow("f: b: is an alias (*x) of another value; edit it by hand");
  });
});

describe("the write", () => {
  let dir: string;
  const file = () => path.join(dir, "Pulumi.pre.yaml");
  const TEXT = "config:\n  platform:env: pre\n  platform:apps:\n    a:\n      image: r/a\n      tag: v1.0.0\n      history: []\n";
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-write-"));
    fs.writeFileSync(file(), TEXT);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("through a symlink to its target, mode 0640 and owner kept, flushed before the rename, nothing else left", () => {
    const target = path.join(dir, "shared", "pre.yaml");
    fs.mkdirSync(path.dirname(target));
    fs.renameSync(file(), target);
    fs.symlinkSync(path.join("shared", "pre.yaml"), file());
    fs.chmodSync(target, 0o640);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) fs.chownSync(target, 4321, 4322);
    const order: string[] = [];
    const fsync = jest.spyOn(realFs, "fsyncSync");
    fsync.mockImplementation(() => void order.push("fsync"));
    const rename0 = realFs.renameSync;
    jest.spyOn(realFs, "renameSync").mockImplementation((from, to) => {
      order.push("rename");
      rename0(from, to);
    });
    expect(release(dir, "pre", "a", "v1.1.0")).toBe("pre a: v1.0.0 -> v1.1.0");
    expect(order).toEqual(["fsync", "rename", "fsync"]); // the temp file, then the folder
    expect(fs.lstatSync(file()).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(target, "utf8")).toBe(TEXT.replace("tag: v1.0.0\n      history: []\n", "tag: v1.1.0\n      history:\n        - v1.0.0\n"));
    const st = fs.statSync(target);
    expect(st.mode & 0o7777).toBe(0o640);
    if (asRoot) expect([st.uid, st.gid]).toEqual([4321, 4322]);
    expect(fs.readdirSync(path.dirname(target))).toEqual(["pre.yaml"]);
    expect(fs.readdirSync(dir).sort()).toEqual(["Pulumi.pre.yaml", "shared"]);
  });

  test("a failure between write and rename leaves the old file whole and no temporary copy", () => {
    jest.spyOn(realFs, "renameSync").mockImplementation(() => {
      throw new Error("EIO: injected between write and rename");
    });
    expect(() => release(dir, "pre", "a", "v1.1.0")).toThrow("EIO: injected between write and rename");
    expect(fs.readFileSync(file(), "utf8")).toBe(TEXT);
    expect(fs.readdirSync(dir)).toEqual(["Pulumi.pre.yaml"]);
  });

  test("the temporary copy a killed run left is removed by the next write", () => {
    fs.writeFileSync(path.join(dir, ".Pulumi.pre.yaml.tmp"), "config:\n  half written");
    release(dir, "pre", "a", "v1.1.0");
    rollback(dir, "pre", "a");
    expect(fs.readFileSync(file(), "utf8")).toBe(TEXT);
    expect(fs.readdirSync(dir)).toEqual(["Pulumi.pre.yaml"]);
  });

  test("a file changed since it was read is not replaced", () => {
    fs.writeFileSync(file(), `${TEXT}# an editor saved\n`);
    expect(() => replaceStackFile(file(), "Pulumi.pre.yaml", TEXT, "config: {}\n")).toThrow(
      "Pulumi.pre.yaml: changed while this release was running; nothing written, run it again",
    );
    expect(fs.readFileSync(file(), "utf8")).toBe(`${TEXT}# an editor saved\n`);
  });
});
