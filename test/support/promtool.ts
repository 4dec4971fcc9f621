// Prometheus' own verdict on generated rules: runs `promtool` (PROMTOOL names
// another binary) in `cwd`. A missing tool is a failure, never a skip: CI
// installs prometheus, which ships promtool.
import { spawnSync } from "child_process";

const PROMTOOL = process.env.PROMTOOL ?? "promtool";

/** `promtool <args>` in `cwd`: its exit status and its stdout then stderr. */
export function promtool(args: string[], cwd: string): { status: number; out: string } {
  const r = spawnSync(PROMTOOL, args, { cwd, encoding: "utf8", timeout: 30_000 });
  if (r.error) throw new Error(`cannot run ${PROMTOOL} (apt-get install prometheus): ${r.error.message}`);
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}
