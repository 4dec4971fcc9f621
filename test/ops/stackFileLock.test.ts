// The stack-file lock under a stale takeover: processes that all find one stale
// lock (its pid gone) at the same instant must not both take it. Each child
// process waits for a start signal, then takes the lock and, inside it, claims a
// marker file with O_EXCL (two holders at once would collide there) and bumps a
// counter; every bump must land and no two holders may overlap. The children
// read a lock file slowly (30 ms), so every one of them judges the same lock
// stale before any acts on it: the race a takeover must survive, made certain.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
const NODE = path.join(ROOT, "node_modules", ".bin", "node");
const CHILDREN = 5;
const ROUNDS = 2;

/** The child (plain node: it strips the module's types itself): ready, wait for `go`, take the lock, hold `inside` a moment, bump `count`. */
const CHILD = `
const fs = require("fs");
const wait = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const read = fs.readFileSync;
fs.readFileSync = (...a) => {
  const out = read(...a);
  if (String(a[0]).endsWith(".lock")) wait(30);
  return out;
};
const { withStackFileLock } = require(${JSON.stringify(path.join(ROOT, "components", "ops", "stackFileWrite.ts"))});
const [file, dir] = process.argv.slice(1);
fs.writeFileSync(dir + "/ready-" + process.pid, "");
while (!fs.existsSync(dir + "/go")) wait(1);
withStackFileLock(file, "Pulumi.dev.yaml", () => {
  fs.writeFileSync(dir + "/inside", String(process.pid), { flag: "wx" });
  wait(5);
  fs.writeFileSync(dir + "/count", String(Number(read(dir + "/count", "utf8")) + 1));
  fs.rmSync(dir + "/inside");
}, 60000);
`;

function child(file: string, dir: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(NODE, ["-e", CHILD, file, dir], { cwd: ROOT });
    let stderr = "";
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code) => resolve({ code: code ?? -1, stderr }));
  });
}

test(`${CHILDREN} processes meeting one stale lock take it one at a time, ${ROUNDS} rounds`, async () => {
  const results: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-lock-"));
    const file = path.join(dir, "Pulumi.dev.yaml");
    fs.writeFileSync(file, "config: {}\n");
    fs.writeFileSync(path.join(dir, "count"), "0");
    // A lock whose process is gone (no pid this high runs): stale.
    fs.writeFileSync(`${file}.lock`, "2147483646 2026-12-01T00:00:00.000Z\n");
    const runs = Array.from({ length: CHILDREN }, () => child(file, dir));
    // Every child started and polling, then all released at once.
    while (fs.readdirSync(dir).filter((n) => n.startsWith("ready-")).length < CHILDREN) await new Promise((r) => setTimeout(r, 20));
    fs.writeFileSync(path.join(dir, "go"), "");
    const done = await Promise.all(runs);
    results.push(`${done.map((d) => d.code).join("")} count ${fs.readFileSync(path.join(dir, "count"), "utf8")}`);
    for (const d of done) expect(d.stderr).toBe("");
    // Nothing left behind: no lock, no takeover link, no marker.
    expect(
      fs
        .readdirSync(dir)
        .filter((n) => !n.startsWith("ready-"))
        .sort(),
    ).toEqual(["Pulumi.dev.yaml", "count", "go"]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  expect(results).toEqual(Array.from({ length: ROUNDS }, () => `${"0".repeat(CHILDREN)} count ${CHILDREN}`));
}, 120_000);
