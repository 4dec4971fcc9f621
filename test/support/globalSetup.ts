// Jest global set-up of the `plan` and `tools` projects: plans each stack once
// per run (test/support/planStacks.ts, in a child process) into a fresh temp
// folder and names it in PLATFORM_TEST_PLANS, which the test workers inherit;
// `plan(stack)` in test/support/offline.ts then reads the stored plan.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PLANS_DIR_ENV } from "./planStore";

const ROOT = path.resolve(__dirname, "..", "..");

export default function globalSetup(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "platform-plans-"));
  execFileSync(process.execPath, ["--stack-size=4000", "-r", "ts-node/register/transpile-only", path.join(__dirname, "planStacks.ts"), dir], {
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit"],
  });
  process.env[PLANS_DIR_ENV] = dir;
}
