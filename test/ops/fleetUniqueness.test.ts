// Cross-stack uniqueness the preview cannot see (docs/threat-model.md, T25), through
// `npm run check:fleet` over copies of the committed stack files with one edit each.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main as checkFleet } from "../../components/ops/checkFleet";
import { fleetUniquenessProblems, uniquenessProblems } from "../../components/ops/fleetUniqueness";
import { readFleet } from "../../policies/fleet";

const ROOT = path.resolve(__dirname, "..", "..");
const STACKS = ["host", "dev", "test", "pre", "prod1", "prod2"];

/** A temporary copy of the stack files with one edit applied to one file's text. */
function copyWith(stack: string, edit: (text: string) => string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-unique-"));
  for (const f of fs.readdirSync(ROOT).filter((f) => /^Pulumi(\..+)?\.yaml$/.test(f))) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
  // check:fleet also reads the stacks' ESC definitions and the CI runners' plan.
  fs.mkdirSync(path.join(dir, ".github"));
  fs.copyFileSync(path.join(ROOT, ".github/runners.yaml"), path.join(dir, ".github/runners.yaml"));
  fs.cpSync(path.join(ROOT, "esc"), path.join(dir, "esc"), { recursive: true });
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  const before = fs.readFileSync(file, "utf8");
  const after = edit(before);
  if (after === before) throw new Error(`the edit changed nothing in Pulumi.${stack}.yaml`);
  fs.writeFileSync(file, after);
  return dir;
}

/** check:fleet's exit code and what it printed. */
function runCheck(dir: string): { code: number; err: string; out: string } {
  const err: string[] = [];
  const out: string[] = [];
  const e = jest.spyOn(console, "error").mockImplementation((...a) => void err.push(a.join(" ")));
  const o = jest.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")));
  try {
    return { code: checkFleet(["--dir", dir]), err: err.join("\n"), out: out.join("\n") };
  } finally {
    e.mockRestore();
    o.mockRestore();
  }
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const edited = (stack: string, edit: (t: string) => string) => {
  const d = copyWith(stack, edit);
  dirs.push(d);
  return d;
};

describe("the committed stack files", () => {
  test("six stacks, six buckets (the defaults), six VPC ranges: no clash", () => {
    expect(readFleet(ROOT).stacks.map((s) => s.name)).toEqual(STACKS);
    expect(fleetUniquenessProblems(STACKS, ROOT)).toEqual([]);
  });
});

describe("a global OSS bucket name reused across stack files", () => {
  test("prod2 naming prod1's default bucket is refused by check:fleet, naming both files and the key", () => {
    const dir = edited("prod2", (t) => t.replace(/^config:\n/m, "config:\n  platform:etcdBackup:\n    bucket: livemall-prod1-etcd-backup\n"));
    const r = runCheck(dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      "names and ranges used by more than one stack: 1\n  - Pulumi.prod1.yaml, Pulumi.prod2.yaml: platform:etcdBackup.bucket: 2 stacks use the OSS bucket livemall-prod1-etcd-backup; bucket names are global, so each stack needs its own (the default is livemall-<stack>-etcd-backup)",
    );
  });

  test("a bucket of its own passes", () => {
    expect(uniquenessProblems([{ stack: "prod1" }, { stack: "prod2", bucket: "livemall-prod2-etcd-backup-b" }])).toEqual([]);
  });
});

describe("a VPC range equal to or overlapping another stack's", () => {
  test("a sandbox stack linked to nothing reusing dev's range is refused: only this check sees it", () => {
    const dir = edited("dev", (t) => `${t}\n`); // a copy of the fleet
    const dev = fs.readFileSync(path.join(dir, "Pulumi.dev.yaml"), "utf8");
    fs.writeFileSync(
      path.join(dir, "Pulumi.sandbox.yaml"),
      dev
        .replace(/^ {2}platform:hostStack: .*\n/m, "")
        .replace(/^config:\n/m, "config:\n  platform:tier: dev\n")
        .replace("platform/dev", "platform/sandbox"),
    );
    fs.writeFileSync(
      path.join(dir, "esc/sandbox.yaml"),
      fs.readFileSync(path.join(dir, "esc/dev.yaml"), "utf8").replaceAll("platform/dev", "platform/sandbox"),
    );
    const r = runCheck(dir);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      "names and ranges used by more than one stack: 1\n  - Pulumi.sandbox.yaml: platform:network.vpcCidr: 10.10.0.0/16 is the same range as Pulumi.dev.yaml's 10.10.0.0/16; every stack's VPC needs a range of its own (no link, CEN attachment or peering can route between overlapping VPCs)\n" +
        // True as well: linked to nothing, the sandbox is out of the CI runners' reach (check:fleet's runner section).
        "CI runners: 1 problem\n  - Pulumi.sandbox.yaml: the api-server front admits 10.10.0.0/16, not the CI runners' network 10.0.240.0/24 (.github/runners.yaml): sandbox cannot be deployed from CI",
    );
  });

  test("linked clusters with the same VPC range get one line, the address plan's", () => {
    const dir = edited("dev", (t) => t.replace("vpcCidr: 10.10.0.0/16", "vpcCidr: 10.20.0.0/16"));
    expect(fleetUniquenessProblems(STACKS, dir)).toEqual([
      "Pulumi.test.yaml: platform:network.vpcCidr: 10.20.0.0/16 is the same range as Pulumi.dev.yaml's 10.20.0.0/16; every stack's VPC needs a range of its own (no link, CEN attachment or peering can route between overlapping VPCs)",
    ]);
    const r = runCheck(dir);
    expect(r.code).toBe(1);
    expect(r.err).not.toContain("names and ranges used by more than one stack");
    expect(r.err).toContain("dev platform:network.vpcCidr 10.20.0.0/16 overlaps test platform:network.vpcCidr 10.20.0.0/16");
  });

  test("overlapping (a /8 around everything) and adjacent ranges", () => {
    expect(
      uniquenessProblems([
        { stack: "a", vpcCidr: "10.0.0.0/8" },
        { stack: "b", vpcCidr: "10.40.0.0/16" },
        { stack: "c", vpcCidr: "172.16.0.0/16" },
        { stack: "d", vpcCidr: "172.17.0.0/16" },
        { stack: "e", vpcCidr: "not a range" },
      ]),
    ).toEqual([
      "Pulumi.b.yaml: platform:network.vpcCidr: 10.40.0.0/16 overlaps Pulumi.a.yaml's 10.0.0.0/8; every stack's VPC needs a range of its own (no link, CEN attachment or peering can route between overlapping VPCs)",
    ]);
  });
});

describe("only true lines", () => {
  test("a stack file that does not parse is named; no line claims the fleet has no host", () => {
    const dir = edited("prod1", (t) => `${t}\n  broken: [unclosed\n`);
    const r = runCheck(dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^fleet address plan: cannot read the stack files:\n {2}- Pulumi\.prod1\.yaml: not valid YAML: /);
    expect(r.err).not.toContain("platform:tier host");
    expect(r.err.split("\n")).toHaveLength(2);
  });

  test("a fleet that really has no host still says so", () => {
    const dir = edited("host", (t) => t.replace(/^config:\n/m, "config:\n  platform:tier: dev\n"));
    const r = runCheck(dir);
    expect(r.err).toContain("the fleet needs exactly one stack with platform:tier host, found none");
  });
});
