// The one CLI layer (components/config/cli.ts) every command uses: parse failures
// become usage errors in the commands' own words, and what a command throws maps
// to its exit code: usage 2 with the usage text, config 1, no stack trace for either.
import { readArgs, runCli, UsageError } from "../../components/config/cli";
import { ConfigError } from "../../components/config/errors";

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
  });

  test("a body's own exit code passes through, synchronously for a synchronous body", () => {
    expect(runCli({ usage: "u" }, () => 0)).toBe(0);
    expect(runCli({ usage: "u" }, () => 1)).toBe(1);
  });
});
