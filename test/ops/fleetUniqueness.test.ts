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
      "names and ranges used by more than one stack: 4\n  - Pulumi.sandbox.yaml: platform:network.vpcCidr: 10.10.0.0/16 is the same range as Pulumi.dev.yaml's 10.10.0.0/16; every stack's VPC needs a range of its own (no link, CEN attachment or peering can route between overlapping VPCs)\n" +
        // The copy of dev kept dev's other per-stack values too; linked to nothing, only this check sees them.
        "  - Pulumi.sandbox.yaml: platform:network.podCidr: 10.110.0.0/16 is the same range as Pulumi.dev.yaml's 10.110.0.0/16; every cluster needs pod and service ranges of its own (any two clusters linked later must not overlap, and an address should name one cluster)\n" +
        "  - Pulumi.sandbox.yaml: platform:network.serviceCidr: 10.210.0.0/20 is the same range as Pulumi.dev.yaml's 10.210.0.0/20; every cluster needs pod and service ranges of its own (any two clusters linked later must not overlap, and an address should name one cluster)\n" +
        "  - Pulumi.sandbox.yaml: platform:secretStore.kmsKeyId: key-hzzplaceholderdev is Pulumi.dev.yaml's too; each stack's PKI and join-token secrets are encrypted with a key of its own, the one its nodes' roles may decrypt with (docs/trust-model.md)\n" +
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

describe("a copy of Pulumi.prod2.yaml that kept prod2's per-stack values (docs/runbooks/add-a-cluster.md)", () => {
  /** The fleet plus prod3: prod2's file with only its name and ESC environment changed, then `change` applied; listed by the host. */
  function withProd3(change: (t: string) => string = (t) => t): string {
    const dir = edited("host", (t) => t.replace("      - livemall/platform/prod2\n", "      - livemall/platform/prod2\n      - livemall/platform/prod3\n"));
    const prod2 = fs.readFileSync(path.join(dir, "Pulumi.prod2.yaml"), "utf8");
    fs.writeFileSync(
      path.join(dir, "Pulumi.prod3.yaml"),
      change(prod2.replace("  - platform/prod2\n", "  - platform/prod3\n").replace("platform:env: prod2", "platform:env: prod3")),
    );
    fs.writeFileSync(path.join(dir, "esc/prod3.yaml"), fs.readFileSync(path.join(dir, "esc/prod2.yaml"), "utf8").replaceAll("prod2", "prod3"));
    return dir;
  }
  const OWN = [
    ["vpcCidr: 10.50.0.0/16", "vpcCidr: 10.60.0.0/16"],
    ["podCidr: 10.150.0.0/16", "podCidr: 10.160.0.0/16"],
    ["serviceCidr: 10.250.0.0/20", "serviceCidr: 10.251.0.0/20"],
    ["kmsInstanceId: kst-bjjplaceholderprod2", "kmsInstanceId: kst-bjjplaceholderprod3"],
    ["kmsKeyId: key-bjjplaceholderprod2", "kmsKeyId: key-bjjplaceholderprod3"],
    ["host: skywalking.prod2.livemall.internal", "host: skywalking.prod3.livemall.internal"],
    ["user: fluent-bit-prod2", "user: fluent-bit-prod3"],
  ];
  const changeAll = (t: string) => OWN.reduce((x, [from, to]) => x.replace(from, to), t);

  test("with each of them changed, check:fleet passes the 7 stacks", () => {
    const r = runCheck(withProd3(changeAll));
    expect([r.code, r.err]).toEqual([0, ""]);
    expect(r.out).toContain("fleet address plan: 7 clusters");
  });

  test("with none changed: one line per value, naming both stack files, the key and the value", () => {
    const dir = withProd3();
    expect(fleetUniquenessProblems([...STACKS, "prod3"], dir)).toEqual([
      "Pulumi.prod3.yaml: platform:network.vpcCidr: 10.50.0.0/16 is the same range as Pulumi.prod2.yaml's 10.50.0.0/16; every stack's VPC needs a range of its own (no link, CEN attachment or peering can route between overlapping VPCs)",
      "Pulumi.prod3.yaml: platform:network.podCidr: 10.150.0.0/16 is the same range as Pulumi.prod2.yaml's 10.150.0.0/16; every cluster needs pod and service ranges of its own (any two clusters linked later must not overlap, and an address should name one cluster)",
      "Pulumi.prod3.yaml: platform:network.serviceCidr: 10.250.0.0/20 is the same range as Pulumi.prod2.yaml's 10.250.0.0/20; every cluster needs pod and service ranges of its own (any two clusters linked later must not overlap, and an address should name one cluster)",
      "Pulumi.prod3.yaml: platform:secretStore.kmsKeyId: key-bjjplaceholderprod2 is Pulumi.prod2.yaml's too; each stack's PKI and join-token secrets are encrypted with a key of its own, the one its nodes' roles may decrypt with (docs/trust-model.md)",
      "Pulumi.prod3.yaml: platform:tracing.ui.host: skywalking.prod2.livemall.internal is Pulumi.prod2.yaml's too; a host name reaches one cluster's ingress, so each stack's SkyWalking UI needs its own",
      "Pulumi.prod3.yaml: platform:logging.user: fluent-bit-prod2 is Pulumi.prod2.yaml's too; the log store's user names the cluster that writes (its ACLs and audit), and each stack's password for it is in its own ESC environment",
    ]);
    // check:fleet: prod2 and prod3 are linked (via the host and the data centre), so their ranges are the address
    // plan's lines; the rest is this check's section.
    const r = runCheck(dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain("prod2 platform:network.podCidr 10.150.0.0/16 overlaps prod3 platform:network.podCidr 10.150.0.0/16 (linked via host, datacenter)");
    expect(r.err).toContain(
      "names and ranges used by more than one stack: 3\n" +
        "  - Pulumi.prod3.yaml: platform:secretStore.kmsKeyId: key-bjjplaceholderprod2 is Pulumi.prod2.yaml's too; each stack's PKI and join-token secrets are encrypted with a key of its own, the one its nodes' roles may decrypt with (docs/trust-model.md)\n" +
        "  - Pulumi.prod3.yaml: platform:tracing.ui.host: skywalking.prod2.livemall.internal is Pulumi.prod2.yaml's too; a host name reaches one cluster's ingress, so each stack's SkyWalking UI needs its own\n" +
        "  - Pulumi.prod3.yaml: platform:logging.user: fluent-bit-prod2 is Pulumi.prod2.yaml's too; the log store's user names the cluster that writes (its ACLs and audit), and each stack's password for it is in its own ESC environment\n",
    );
  });

  test("each forgotten value alone is caught", () => {
    for (const [i] of OWN.entries()) {
      const keep = OWN.filter((_, j) => j !== i);
      const dir = withProd3((t) => keep.reduce((x, [from, to]) => x.replace(from, to), t));
      const lines = fleetUniquenessProblems([...STACKS, "prod3"], dir);
      // The instance is shared within a region (first-bring-up.md): prod3 in prod2's region may keep it.
      const expected = OWN[i][0].startsWith("kmsInstanceId") ? 0 : 1;
      expect([OWN[i][0], lines.length]).toEqual([OWN[i][0], expected]);
      if (expected) expect(lines[0]).toContain(`Pulumi.prod3.yaml: platform:`);
      if (expected) expect(lines[0]).toContain(OWN[i][0].split(": ")[1]);
    }
  });

  test("moved to another region, it needs a KMS instance there", () => {
    const dir = withProd3((t) =>
      changeAll(t)
        .replace("kmsInstanceId: kst-bjjplaceholderprod3", "kmsInstanceId: kst-bjjplaceholderprod2")
        .replace("alicloud:region: cn-beijing", "alicloud:region: cn-shanghai"),
    );
    expect(fleetUniquenessProblems([...STACKS, "prod3"], dir)).toEqual([
      "Pulumi.prod3.yaml: platform:secretStore.kmsInstanceId: kst-bjjplaceholderprod2 is Pulumi.prod2.yaml's, an instance in cn-beijing; a KMS instance serves its own region, so prod3 (cn-shanghai) needs one there",
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
