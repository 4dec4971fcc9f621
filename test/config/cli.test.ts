// The one CLI layer (components/config/cli.ts) every command uses: parse failures
// become usage errors in the commands' own words, and what a command throws maps
// to its exit code: usage 2 with the usage text, config 1, no stack trace for either.
import { readArgs, runCli, UsageError } from "../../components/config/cli";
import { ConfigError } from "../../components/config/errors";
import { main as release } from "../../components/ops/release";
import { main as day2 } from "../../components/ops/day2";

const OPTIONS = {
  config: { type: "string", short: "c", multiple: true, value: "KEY=VALUE" },
  dir: { type: "string", value: "a directory" },
  apply: { type: "boolean" },
} as const;

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

describe("readArgs", () => {
  test("options in either form, repeated -c, positionals anywhere, '-' as a positional", () => {
    expect(readArgs(["release", "-c", "a=1", "--dir=/tmp/x", "--config", "b=2", "-", "--apply"], OPTIONS)).toEqual({
      values: { config: ["a=1", "b=2"], dir: "/tmp/x", apply: true },
      positionals: ["release", "-"],
    });
  });

  test.each([
    [["--bogus"], "unknown option --bogus"],
    [["-x"], "unknown option -x"],
    [["-c"], "-c needs KEY=VALUE"],
    [["--dir"], "--dir needs a directory"],
    [["--dir", "--apply"], "--dir needs a directory"],
    [["--dir="], "--dir needs a directory"],
    [["--apply=x"], "--apply is a flag and takes no value, got --apply=x"],
    [["--apply=false"], "--apply is a flag and takes no value, got --apply=false"],
  ])("%j is a usage error: %s", (argv, message) => {
    expect(() => readArgs(argv, OPTIONS)).toThrow(new UsageError(message));
  });
});

describe("runCli", () => {
  test("a usage error exits 2 with the message and the usage text, no stack", () => {
    const t = io();
    expect(
      runCli(
        { usage: "usage: x <stack>" },
        () => {
          throw new UsageError("which stack?");
        },
        t.io,
      ),
    ).toBe(2);
    expect(t.err).toEqual(["which stack?\nusage: x <stack>"]);
  });

  test("a usage error whose message says it all exits 2 with that one line", () => {
    const t = io();
    const code = runCli(
      { usage: "usage: x <stack>" },
      () => {
        throw new UsageError('Pulumi.uat.yaml: unknown stack "uat"', { usage: false });
      },
      t.io,
    );
    expect([code, t.err]).toEqual([2, ['Pulumi.uat.yaml: unknown stack "uat"']]);
  });

  test("a config error exits 1 with every problem, no stack", async () => {
    const t = io();
    const code = await runCli(
      { usage: "u" },
      async () => {
        throw new ConfigError(["platform:masters.count: must be odd for etcd quorum, got 2"]);
      },
      t.io,
    );
    expect(code).toBe(1);
    expect(t.err).toEqual(["invalid stack configuration:\n  - platform:masters.count: must be odd for etcd quorum, got 2"]);
  });

  test("other errors: a refusal prints the message alone; a bug prints its stack after the command's name; both exit 1", () => {
    const refused = io();
    const refuse = () => {
      throw new Error("Pulumi.prod1.yaml: prod1 takes tags only through promote");
    };
    expect(runCli({ usage: "u", otherErrors: "refusal" }, refuse, refused.io)).toBe(1);
    expect(refused.err).toEqual(["Pulumi.prod1.yaml: prod1 takes tags only through promote"]);
    const bug = io();
    expect(runCli({ usage: "u", otherErrors: { bug: "offline preview" } }, refuse, bug.io)).toBe(1);
    expect(bug.err[0]).toMatch(/^offline preview failed: Error: Pulumi.prod1.yaml: prod1 takes tags only through promote\n {4}at /);

    // The program's own refusal (a Pulumi RunError) is printed as the Pulumi CLI prints it: the message alone.
    const refusedRun = io();
    const runError = Object.assign(new Error("prod1 runs only what pre validated (T21):\n- platform:apps.a.tag a-v9 is not a tag pre validated"), {
      __pulumiRunError: true,
    });
    expect(
      runCli(
        { usage: "u", otherErrors: { bug: "offline preview" } },
        () => {
          throw runError;
        },
        refusedRun.io,
      ),
    ).toBe(1);
    expect(refusedRun.err).toEqual(["prod1 runs only what pre validated (T21):\n- platform:apps.a.tag a-v9 is not a tag pre validated"]);
  });

  test("a body's own exit code passes through, synchronously for a synchronous body", () => {
    expect(runCli({ usage: "u" }, () => 0)).toBe(0);
    expect(runCli({ usage: "u" }, () => 1)).toBe(1);
  });
});

describe("the ops commands' usage errors", () => {
  test.each([
    [["promote", "pre", "staging"], 'Pulumi.staging.yaml: unknown stack "staging" (stacks: host, dev, test, pre, prod1, prod2)'],
    [["promote", "uat", "prod1"], 'Pulumi.uat.yaml: unknown stack "uat" (stacks: host, dev, test, pre, prod1, prod2)'],
    [["release", "staging", "order-service", "v1"], 'Pulumi.staging.yaml: unknown stack "staging" (stacks: host, dev, test, pre, prod1, prod2)'],
  ])("npm run %j: exit 2, one line", (argv, line) => {
    const t = io();
    expect([release(argv, t.io.out, t.io.err), t.err, t.out]).toEqual([2, [line], []]);
  });

  test.each([
    [["scale-in", "dev", "general", "two"], '<newCount>: must be a whole number from 0 to the pool\'s count minus one, got "two"'],
    [["scale-in", "dev", "general", "1.5"], '<newCount>: must be a whole number from 0 to the pool\'s count minus one, got "1.5"'],
    [["scale-in", "dev", "general"], "scale-in takes <stack> <pool> <newCount>, got 2 argument(s)"],
    [["etcd-restore-script", "dev", "first"], '<masterIndex>: must be a whole number from 0 to platform:masters.count minus one, got "first"'],
  ])("npm run %j: exit 2 naming the argument and its limit, then the usage", async (argv, line) => {
    const t = io();
    expect(await day2(argv, t.io.out, t.io.err)).toBe(2);
    expect(t.err).toHaveLength(1);
    expect(t.err[0].split("\n").slice(0, 2)).toEqual([line, "usage:"]);
  });
});
