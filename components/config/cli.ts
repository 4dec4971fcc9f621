// The one command-line layer of the preview, release, day-2 and check:fleet
// commands: arguments read by node:util parseArgs (strict, so an unknown option
// is refused), and one wrapper that turns what a command throws into its exit
// code. UsageError: exit 2, the message and the usage text. ConfigError: exit 1,
// every problem. Neither prints a stack trace; errors.ts says why each exists.
import { parseArgs, ParseArgsOptionsConfig } from "node:util";
import { ConfigError, UsageError } from "./errors";

export { UsageError };

/** An option of a command: parseArgs' own settings, plus, for a string, what its value is ("a directory"). */
export type CliOption = ParseArgsOptionsConfig[string] & { value?: string };

export interface CliArgs {
  /** Each option's value by its long name: a string (an array when `multiple`), true for a flag, undefined when absent. */
  values: Record<string, string | boolean | string[] | undefined>;
  /** The arguments that are not options, in order. */
  positionals: string[];
}

/**
 * Reads `argv` against `options` (strict; positionals allowed). A parse failure
 * is a UsageError in the commands' own words: `unknown option --x`, `--dir needs
 * a directory` (also for an empty or dash-led value), `--json is a flag and takes
 * no value, got --json=x`.
 */
export function readArgs(argv: string[], options: Record<string, CliOption>): CliArgs {
  const config: ParseArgsOptionsConfig = Object.fromEntries(Object.entries(options).map(([name, { value: _value, ...o }]) => [name, o]));
  let parsed: CliArgs;
  try {
    parsed = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true }) as CliArgs;
  } catch (e) {
    const code = (e as { code?: string }).code;
    const flag = /'(-[^', ]+)/.exec((e as Error).message)?.[1];
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new UsageError(`unknown option ${flag}`);
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const given = argv.find((a) => flag !== undefined && a.startsWith(`${flag}=`));
      if (given !== undefined && /does not take an argument/.test((e as Error).message))
        throw new UsageError(`${flag} is a flag and takes no value, got ${given}`);
      const name = Object.keys(options).find((n) => flag === `--${n}` || flag === `-${options[n].short}`) ?? flag;
      throw new UsageError(`${flag} needs ${options[name ?? ""]?.value ?? "a value"}`);
    }
    throw new UsageError((e as Error).message);
  }
  for (const [name, o] of Object.entries(options)) {
    const v = parsed.values[name];
    for (const one of Array.isArray(v) ? v : [v]) if (o.type === "string" && one === "") throw new UsageError(`--${name} needs ${o.value ?? "a value"}`);
  }
  return parsed;
}

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const CONSOLE: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

export interface CliSpec {
  usage: string;
  /** How other errors end. "refusal" (the ops commands: a release refused, a count too low): the message alone, exit 1. "bug" (default): the stack, after `<name> failed:`, exit 1. */
  otherErrors?: "refusal" | { bug: string };
}

/** Runs a command body and returns its exit code (see the header); synchronously when the body is synchronous. */
export function runCli(spec: CliSpec, body: () => number, io?: CliIo): number;
export function runCli(spec: CliSpec, body: () => Promise<number>, io?: CliIo): Promise<number>;
export function runCli(spec: CliSpec, body: () => number | Promise<number>, io: CliIo = CONSOLE): number | Promise<number> {
  const end = (e: unknown): number => {
    if (e instanceof UsageError) {
      io.err(e.showUsage ? `${e.message}\n${spec.usage}` : e.message);
      return 2;
    }
    // A Pulumi RunError is the program refusing in one line: the Pulumi CLI prints its message alone
    // (@pulumi/pulumi 3.276.0 cmd/run/run.js; errors.js marks one with __pulumiRunError), and so does this.
    const runError = e instanceof Error && (e as { __pulumiRunError?: unknown }).__pulumiRunError === true;
    if (e instanceof ConfigError || runError || (spec.otherErrors === "refusal" && e instanceof Error)) {
      io.err(e.message);
      return 1;
    }
    const name = typeof spec.otherErrors === "object" ? spec.otherErrors.bug : "command";
    io.err(`${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 1;
  };
  try {
    const code = body();
    return code instanceof Promise ? code.catch(end) : code;
  } catch (e) {
    return end(e);
  }
}

/** Exits with `code` once stdout and stderr are flushed (a large document may be going to a pipe). */
export function exitAfterFlush(code: number): void {
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}
