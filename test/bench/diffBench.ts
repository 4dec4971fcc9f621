// `node -r ts-node/register/transpile-only test/bench/diffBench.ts [--workers 1000] [--add 10] [--repeat 3]`
// The reviewer's scale-out case at prod scale: plan prod1 with N general workers
// into a folder (--out), then preview N+add workers with --diff-from it, as the
// PR job does. Reports the diff run's wall time and its output's line count
// (target: under 10 s and under 60 lines at 1000 workers, issue 15).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
const arg = (flag: string, dflt: number) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const workers = arg("--workers", 1000);
const add = arg("--add", 10);
const repeat = arg("--repeat", 3);

const preview = (...args: string[]) => {
  const t = process.hrtime.bigint();
  const out = execFileSync("npm", ["run", "--silent", "preview", "--", "prod1", ...args], { cwd: ROOT, maxBuffer: 512 * 1024 * 1024, encoding: "utf8" });
  return { out, seconds: Number(process.hrtime.bigint() - t) / 1e9 };
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "diffbench-"));
try {
  // A /14 pod range: flannel's /24 per node leaves room for 1024 nodes (prod1's /16 holds 256).
  const pods = ["-c", "platform:network.podCidr=10.140.0.0/14"];
  preview("-c", `platform:nodePools[0].count=${workers}`, ...pods, "--out", dir);
  const runs: { seconds: number; lines: number }[] = [];
  for (let i = 0; i < repeat; i++) {
    const r = preview("-c", `platform:nodePools[0].count=${workers + add}`, ...pods, "--diff-from", dir);
    runs.push({ seconds: r.seconds, lines: r.out.trimEnd().split("\n").length });
    if (i === 0) process.stdout.write(r.out);
  }
  const s = runs.map((r) => r.seconds).sort((a, b) => a - b);
  console.log(
    `\ndiff-bench prod1 ${workers} -> ${workers + add} workers: ${runs[0].lines} lines; wall ${s.map((x) => x.toFixed(2)).join(", ")} s ` +
      `(median ${s[Math.floor(s.length / 2)].toFixed(2)} s); load average ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} cores`,
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
