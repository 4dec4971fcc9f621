// CLI for the release scripts (npm run release | promote | rollback). It only
// edits Pulumi.<stack>.yaml; deploying is the PR's job, where CI previews the
// change and a reviewer sees the one-line tag diff.
//
//   release.ts release  <stack> <app> <tag>        [--dir DIR] [--host HOST]
//   release.ts promote  <fromStack> <toStack> [app...] [--dir DIR] [--host HOST]
//   release.ts rollback <stack> <app>              [--dir DIR]
//   release.ts promote-canary <stack> <app>        [--dir DIR]
//
// Exit codes: 0 done, 1 refused (message on stderr, nothing written), 2 usage.
import * as fs from "fs";
import * as path from "path";
import { promote, promoteCanary, release, rollback, stackFileName } from "./releaseOps";
import { withStackFileLock } from "./stackFileWrite";
import { CONSOLE, exitAfterFlush, readArgs, runCli, UsageError } from "../config/cli";

const USAGE = `usage:
  npm run release  -- <stack> <app> <tag>            set an app's image tag (previous tag kept in history); not prod1/prod2,
                                                     which take only pre's validated tags through promote; the canary's tag promotes the canary;
                                                     an app the stack lacks is added with the settings of the tier before (test: dev's, pre: test's)
  npm run promote  -- <fromStack> <toStack> [app...] copy tags, e.g. pre -> prod1 (all shared apps when none named); a named app
                                                     the target lacks is added with the source's settings at its tag
  npm run rollback -- <stack> <app>                  go back to the app's previous tag
  npm run promote-canary -- <stack> <app>            make the canary's tag the stable tag and remove the canary block
options:
  --dir DIR   where the Pulumi.<stack>.yaml files are (default: the project root)
  --host HOST a new app's host in the target stack (default: the target's rule, learned from the apps both stacks run,
              e.g. order.pre.livemall.internal -> order.livemall.com)`;

const OPTIONS = {
  dir: { type: "string", value: "a directory" },
  host: { type: "string", value: "a host name" },
  help: { type: "boolean", short: "h" },
} as const;

/** Runs one command; returns the exit code. Exported for tests that call it in-process. */
export function main(argv: string[], out = CONSOLE.out, err = CONSOLE.err): number {
  return runCli(
    { usage: USAGE, otherErrors: "refusal" },
    () => {
      const { values, positionals } = readArgs(argv, OPTIONS);
      if (values.help) {
        out(USAGE);
        return 0;
      }
      const dir = path.resolve((values.dir as string | undefined) ?? path.join(__dirname, "../.."));
      const [command, ...args] = positionals;
      const host = values.host as string | undefined;
      if (host !== undefined && command !== "release" && command !== "promote") throw new UsageError(`--host is for release and promote (a new app's host)`);
      if (host !== undefined && command === "promote" && positionals.length !== 4)
        throw new UsageError("--host names the host of one new app: promote <fromStack> <toStack> <app> --host HOST");
      if (command === undefined) throw new UsageError("no command given");
      let lines: string[];
      switch (command) {
        case "release":
          if (args.length !== 3) throw new UsageError(`release takes <stack> <app> <tag>, got ${args.length} argument(s)`);
          lines = watch(dir, args[0], () => [release(dir, args[0], args[1], args[2], { host })]);
          break;
        case "promote":
          if (args.length < 2) throw new UsageError(`promote takes <fromStack> <toStack> [app...], got ${args.length} argument(s)`);
          lines = watch(dir, args[1], () => promote(dir, args[0], args[1], args.slice(2), { host }));
          break;
        case "rollback":
          if (args.length !== 2) throw new UsageError(`rollback takes <stack> <app>, got ${args.length} argument(s)`);
          lines = watch(dir, args[0], () => [rollback(dir, args[0], args[1])]);
          break;
        case "promote-canary":
          if (args.length !== 2) throw new UsageError(`promote-canary takes <stack> <app>, got ${args.length} argument(s)`);
          lines = watch(dir, args[0], () => [promoteCanary(dir, args[0], args[1])]);
          break;
        default:
          throw new UsageError(`unknown command "${command}"`);
      }
      for (const l of lines) out(l);
      return 0;
    },
    { out, err },
  );
}

/**
 * Runs an edit holding the stack file's lock, so a concurrent release into the
 * same file waits for this one and then edits the result (both land), and
 * appends what to do next, depending on whether the stack file changed.
 */
function watch(dir: string, stack: string, run: () => string[]): string[] {
  const file = path.join(dir, stackFileName(stack));
  const name = stackFileName(stack);
  const edit = () => {
    const before = readOrUndefined(file);
    const lines = run();
    const changed = readOrUndefined(file) !== before;
    return [...lines, changed ? `next: git commit ${name} && open a PR; CI runs the preview` : `${name} unchanged, nothing to commit`];
  };
  // No file, nothing to lock: the edit refuses, naming what is missing.
  return fs.existsSync(file) ? withStackFileLock(file, name, edit) : edit();
}

function readOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

if (require.main === module) {
  exitAfterFlush(main(process.argv.slice(2)));
}
