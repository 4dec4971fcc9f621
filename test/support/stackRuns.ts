// T21's test helpers (test/fleet/validatedInPre.test.ts, test/fleet/stickyTier.test.ts): a preview run in a
// child process with other stacks' recorded outputs as the StackReference answers (test/support/runWithInvokes.ts),
// and a copy of the stack files to edit.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT_DIR } from "../../components/config/stackFiles";

export const PRE_REF = "livemall/platform/pre";

/** Stack outputs as a stack's last `pulumi up` recorded them, by reference: the answer the real preview gets. */
export const recorded = (outputs: Record<string, unknown>, ref = PRE_REF) => ({ [ref]: { outputs, secretOutputNames: [] as string[] } });

export interface ChildRun {
  /** "succeeded", or "failed: " and the error's message. */
  outcome: string;
  /** "RunError" (the one kind the Pulumi CLI prints without a stack trace), another error's class, or "" on success. */
  kind: string;
  /** On failure, what was registered when it stopped (type::name). */
  registered: string[] | null;
  /** The stack's validatedImages, runningImages, validatedIn and tier on success; on failure, every output registered before it ({} if none). */
  outputs: Record<string, unknown>;
}

/**
 * A preview of `stack` in a child process (a failed run's rejected promises stay there), its references answered
 * with `outputs`; `failing` makes the named resources' create or update fail with the message; `env` is added to the
 * child's environment (GITHUB_RUN_ID).
 */
export function runChild(
  stack: string,
  outputs: Record<string, unknown>,
  opts: { dir?: string; failing?: Record<string, string>; env?: Record<string, string> } = {},
): ChildRun {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  if (!opts.env?.GITHUB_RUN_ID) delete env.GITHUB_RUN_ID;
  const r = spawnSync(
    process.execPath,
    [
      "-r",
      "ts-node/register/transpile-only",
      "test/support/runWithInvokes.ts",
      stack,
      "{}",
      JSON.stringify(outputs),
      opts.dir ?? PROJECT_DIR,
      JSON.stringify(opts.failing ?? {}),
    ],
    { cwd: PROJECT_DIR, encoding: "utf8", env },
  );
  expect(r.status).toBe(0);
  return {
    outcome: r.stdout,
    kind: (/error kind: (\S+)/.exec(r.stderr) ?? [])[1] ?? "",
    registered: JSON.parse((/registered: (.*)/.exec(r.stderr) ?? [])[1] ?? "null") as string[] | null,
    outputs: JSON.parse((/outputs: (.*)/.exec(r.stderr) ?? [])[1] ?? "{}") as Record<string, unknown>,
  };
}

/** A copy of the stack files (and what the preview reads beside them) with `edits` (file, text, its replacement) made. */
export function checkout(prefix: string, edits: [file: string, from: string, to: string][]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const f of fs.readdirSync(PROJECT_DIR)) if (/^Pulumi\..*yaml$/.test(f)) fs.copyFileSync(path.join(PROJECT_DIR, f), path.join(dir, f));
  for (const d of ["esc", "policies/config"]) fs.cpSync(path.join(PROJECT_DIR, d), path.join(dir, d), { recursive: true });
  for (const [file, from, to] of edits) {
    const text = fs.readFileSync(path.join(dir, file), "utf8");
    expect(text).toContain(from);
    fs.writeFileSync(path.join(dir, file), text.replace(from, to));
  }
  return dir;
}
