// The release scripts never lose an edit: two processes releasing into one
// stack file at once both land (or one is refused, saying why); comments and
// blank lines inside history stay; a history cut at 5 says what it dropped;
// mode, symlinks and read-only files are respected; anchors and aliases are
// refused naming file and key. And check:fleet fails loudly on bad input.
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { StackFileBusyError, withStackFileLock } from "../../components/ops/stackFileWrite";

const ROOT = path.resolve(__dirname, "..", "..");
const NODE = path.join(ROOT, "node_modules", ".bin", "node");
const REPO = "harbor.example.com/commerce";

function devText(history = ["20261125-140"], extra = ""): string {
  return `config:
  alicloud:region: cn-shanghai
  platform:env: dev
  platform:apps:
    order-service:
      image: ${REPO}/order-service
      tag: 20261126-141
      history:
${history.map((t) => `        - ${t}\n`).join("")}      replicas: 2
    payment-service:
      image: ${REPO}/payment-service
      tag: 20261120-77
      history: []
${extra}`;
}

let dir: string;
const file = () => path.join(dir, "Pulumi.dev.yaml");
const apps = () => YAML.parse(fs.readFileSync(file(), "utf8")).config["platform:apps"];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "release-safety-"));
  fs.writeFileSync(file(), devText());
});

const ARGS = (cmd: string, ...rest: string[]) => ["-r", "ts-node/register/transpile-only", "components/ops/release.ts", cmd, ...rest, "--dir", dir];

function cli(cmd: string, ...rest: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(NODE, ARGS(cmd, ...rest), { cwd: ROOT, encoding: "utf8" });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function cliAsync(cmd: string, ...rest: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(NODE, ARGS(cmd, ...rest), { cwd: ROOT });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe("concurrent releases into one stack file", () => {
  test("two processes at once, six times: both edits land, or one is refused saying so; never a silent loss", async () => {
    const outcomes: string[] = [];
    for (let trial = 0; trial < 6; trial++) {
      fs.writeFileSync(file(), devText());
      const [a, b] = await Promise.all([
        cliAsync("release", "dev", "order-service", `20261127-${200 + trial}`),
        cliAsync("release", "dev", "payment-service", `20261127-${300 + trial}`),
      ]);
      const now = apps();
      for (const [r, app, tag] of [
        [a, "order-service", `20261127-${200 + trial}`],
        [b, "payment-service", `20261127-${300 + trial}`],
      ] as const) {
        if (r.code === 0) expect(now[app].tag).toBe(tag);
        else {
          expect(r.code).toBe(1);
          expect(r.stderr).toMatch(/another release is editing this file|changed while this release was running/);
        }
      }
      outcomes.push(`${a.code}${b.code}`);
    }
    // With the lock the second run waits for the first: both land every time.
    expect(outcomes).toEqual(["00", "00", "00", "00", "00", "00"]);
  }, 120_000);

  test("a lock held by a live process refuses after the wait, naming the file; a dead holder's lock is taken over", () => {
    fs.writeFileSync(`${file()}.lock`, `${process.pid} 2026-12-01T00:00:00.000Z\n`);
    expect(() => withStackFileLock(file(), "Pulumi.dev.yaml", () => 1, 100)).toThrow(StackFileBusyError);
    expect(() => withStackFileLock(file(), "Pulumi.dev.yaml", () => 1, 100)).toThrow(
      /^Pulumi.dev.yaml: another release is editing this file \(lock Pulumi.dev.yaml.lock, held by pid \d+/,
    );
    // A pid that is not running: stale, taken over.
    fs.writeFileSync(`${file()}.lock`, `2147483646 2026-12-01T00:00:00.000Z\n`);
    expect(withStackFileLock(file(), "Pulumi.dev.yaml", () => 42, 100)).toBe(42);
    expect(fs.existsSync(`${file()}.lock`)).toBe(false);
  });
});

describe("the file's layout, mode and links survive", () => {
  test("comments and blank lines inside history are kept, on release and on rollback", () => {
    const text = devText().replace(
      "        - 20261125-140\n",
      "        # the hotfix build\n        - 20261125-140\n\n        - 20261124-139 # before the freeze\n",
    );
    fs.writeFileSync(file(), text);
    expect(cli("release", "dev", "order-service", "20261127-150").code).toBe(0);
    const after = fs.readFileSync(file(), "utf8");
    expect(after).toContain("        - 20261126-141\n        # the hotfix build\n        - 20261125-140\n\n        - 20261124-139 # before the freeze\n");
    expect(apps()["order-service"].history).toEqual(["20261126-141", "20261125-140", "20261124-139"]);
    expect(cli("rollback", "dev", "order-service").code).toBe(0);
    expect(fs.readFileSync(file(), "utf8")).toContain(
      "      history:\n        # the hotfix build\n        - 20261125-140\n\n        - 20261124-139 # before the freeze\n",
    );
  });

  test("a history longer than 5 says which tags it dropped", () => {
    fs.writeFileSync(file(), devText(["20261125-5", "20261125-4", "20261125-3", "20261125-2", "20261125-1"]));
    const r = cli("release", "dev", "order-service", "20261127-150");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("history keeps 5 tags; dropped 20261125-1");
    expect(apps()["order-service"].history).toEqual(["20261126-141", "20261125-5", "20261125-4", "20261125-3", "20261125-2"]);
  });

  test("the file's mode is kept", () => {
    fs.chmodSync(file(), 0o640);
    expect(cli("release", "dev", "order-service", "20261127-150").code).toBe(0);
    expect(fs.statSync(file()).mode & 0o777).toBe(0o640);
  });

  test("a symlinked stack file stays a symlink; the edit goes to its target", () => {
    const target = path.join(dir, "shared", "dev.yaml");
    fs.mkdirSync(path.dirname(target));
    fs.renameSync(file(), target);
    fs.symlinkSync(path.join("shared", "dev.yaml"), file());
    expect(cli("release", "dev", "order-service", "20261127-150").code).toBe(0);
    expect(fs.lstatSync(file()).isSymbolicLink()).toBe(true);
    expect(YAML.parse(fs.readFileSync(target, "utf8")).config["platform:apps"]["order-service"].tag).toBe("20261127-150");
  });

  test("a read-only stack file is refused, not replaced", () => {
    fs.chmodSync(file(), 0o444);
    const before = fs.readFileSync(file(), "utf8");
    const r = cli("release", "dev", "order-service", "20261127-150");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Pulumi.dev.yaml: is read-only/);
    expect(fs.readFileSync(file(), "utf8")).toBe(before);
    expect(fs.statSync(file()).mode & 0o777).toBe(0o444);
  });

  test("anchored or aliased values are refused naming file and key", () => {
    fs.writeFileSync(
      file(),
      devText().replace("      tag: 20261126-141\n", "      tag: &order 20261126-141\n").replace("      tag: 20261120-77\n", "      tag: *order\n"),
    );
    const r1 = cli("release", "dev", "order-service", "20261127-150");
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/^Pulumi.dev.yaml: platform:apps.order-service.tag: has an anchor \(&order\)/);
    const r2 = cli("release", "dev", "payment-service", "20261127-150");
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/^Pulumi.dev.yaml: platform:apps.payment-service.tag: is an alias \(\*order\)/);
  });
});

describe("check:fleet", () => {
  const fleet = (...args: string[]) =>
    spawnSync(NODE, ["-r", "ts-node/register/transpile-only", "components/ops/checkFleet.ts", ...args], { cwd: ROOT, encoding: "utf8" });

  test("a stack file that is not YAML is named, with line and column, no stack trace", () => {
    fs.writeFileSync(file(), "config:\n  platform:env: dev\n   bad: [\n");
    const r = fleet("--dir", dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Pulumi\.dev\.yaml: not valid YAML: .* at line \d+, column \d+/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test("a missing or empty --dir fails", () => {
    const missing = fleet("--dir", path.join(dir, "nonexistent"));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/nonexistent: no such directory/);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-empty-"));
    const r = fleet("--dir", empty);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no stack files \(Pulumi.<stack>.yaml\) in /);
    expect(fleet("--dir").status).toBe(2);
  });
});
