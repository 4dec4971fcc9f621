// One fleet list: the stack files. A new prod cluster is a copy of a prod stack
// file with its own address ranges plus its entry in the host's members; with no
// code edit it is in the fleet, in CI's stack selection and drift's list, and
// check:fleet holds its tags to pre's.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main as checkFleet } from "../../components/ops/checkFleet";
import { prodTagsNotFromPre } from "../../components/ops/prodTags";
import { FleetError, readFleet, stacksOfTier, tierOf } from "../../policies/fleet";

const ROOT = path.resolve(__dirname, "../..");
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-list-"));
  for (const f of fs.readdirSync(ROOT).filter((f) => /^Pulumi\..*yaml$/.test(f))) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
  fs.mkdirSync(path.join(dir, ".github/scripts"), { recursive: true });
  fs.copyFileSync(path.join(ROOT, ".github/scripts/changed-stacks.sh"), path.join(dir, ".github/scripts/changed-stacks.sh"));
  // check:fleet also reads the stacks' ESC definitions and the CI runners' plan.
  fs.copyFileSync(path.join(ROOT, ".github/runners.yaml"), path.join(dir, ".github/runners.yaml"));
  fs.cpSync(path.join(ROOT, "esc"), path.join(dir, "esc"), { recursive: true });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const read = (stack: string) => fs.readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8");
const write = (stack: string, text: string) => fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);

/**
 * prod2's file as prod3: its own VPC, pod and service ranges (10.60/16, 10.160/16, 10.251.0.0/20), ESC environment
 * and per-stack values (KMS ids, SkyWalking UI host, log user: docs/runbooks/add-a-cluster.md).
 */
function addProd3(): void {
  const text = read("prod2")
    .replace("  - platform/prod2\n", "  - platform/prod3\n")
    .replace("platform:env: prod2", "platform:env: prod3")
    .replace("vpcCidr: 10.50.0.0/16", "vpcCidr: 10.60.0.0/16")
    .replace("podCidr: 10.150.0.0/16", "podCidr: 10.160.0.0/16")
    .replace("serviceCidr: 10.250.0.0/20", "serviceCidr: 10.251.0.0/20")
    .replace("kmsInstanceId: kst-bjjplaceholderprod2", "kmsInstanceId: kst-bjjplaceholderprod3")
    .replace("kmsKeyId: key-bjjplaceholderprod2", "kmsKeyId: key-bjjplaceholderprod3")
    .replace("user: fluent-bit-prod2", "user: fluent-bit-prod3")
    .replace("host: skywalking.prod2.livemall.internal", "host: skywalking.prod3.livemall.internal");
  expect(text).toContain("platform:env: prod3");
  expect(text).toContain("vpcCidr: 10.60.0.0/16");
  write("prod3", text);
  fs.writeFileSync(path.join(dir, "esc/prod3.yaml"), fs.readFileSync(path.join(dir, "esc/prod2.yaml"), "utf8").replaceAll("prod2", "prod3"));
  write("host", read("host").replace("      - livemall/platform/prod2\n", "      - livemall/platform/prod2\n      - livemall/platform/prod3\n"));
}

function quietly<T>(fn: () => T): { result: T; out: string[]; err: string[] } {
  const log = jest.spyOn(console, "log").mockImplementation(() => undefined);
  const error = jest.spyOn(console, "error").mockImplementation(() => undefined);
  try {
    const result = fn();
    return { result, out: log.mock.calls.map((c) => String(c[0])), err: error.mock.calls.map((c) => String(c[0])) };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

test("the committed fleet: six stacks in deploy order, their tiers, the host's members", () => {
  expect(readFleet(ROOT)).toEqual({
    stacks: [
      { name: "host", tier: "host" },
      { name: "dev", tier: "dev" },
      { name: "test", tier: "test" },
      { name: "pre", tier: "pre" },
      { name: "prod1", tier: "prod" },
      { name: "prod2", tier: "prod" },
    ],
    host: "host",
    members: ["dev", "test", "pre", "prod1", "prod2"],
  });
});

describe("a new prod cluster prod3, with no code edit", () => {
  beforeEach(addProd3);

  test("is a prod member of the fleet", () => {
    expect(tierOf("prod3", dir)).toBe("prod");
    expect(stacksOfTier("prod", dir)).toEqual(["prod1", "prod2", "prod3"]);
    expect(readFleet(dir).members).toEqual(["dev", "test", "pre", "prod1", "prod2", "prod3"]);
  });

  test("CI selects it (its own file, every stack for a program change), with the prod policy config, and drift lists it", () => {
    const script = path.join(dir, ".github/scripts/changed-stacks.sh");
    const run = (...args: string[]) => spawnSync("bash", [script, ...args], { encoding: "utf8", input: "" });
    expect(run("Pulumi.prod3.yaml").stdout).toBe('["prod3"]\n');
    expect(run("--tier", "prod", "components/x.ts").stdout).toBe('["prod1","prod2","prod3"]\n');
    expect(run("--policy-config", "prod3").stdout).toBe("policies/config/prod.json\n");
    // drift.yml's matrix is this list (test/ci/workflows.test.ts holds the workflow to it).
    expect(run("--list", "--tier", "prod").stdout).toBe('["prod1","prod2","prod3"]\n');
  });

  test("check:fleet passes it (own ranges, registered with the host, tags from pre)", () => {
    const { result, out } = quietly(() => checkFleet(["--dir", dir]));
    expect(result).toBe(0);
    expect(out.join("\n")).toContain("fleet address plan: 7 clusters");
  });

  test("check:fleet holds its tags to pre's: a prod3 tag pre never ran is reported", () => {
    write("prod3", read("prod3").replace("tag: supply-chain-v3.1.1", "tag: supply-chain-v9.9.9"));
    expect(prodTagsNotFromPre(dir)).toEqual([
      "Pulumi.prod3.yaml: platform:apps.supply-chain.tag: supply-chain-v9.9.9 was never validated in pre (pre runs supply-chain-v3.1.2, history supply-chain-v3.1.1); release it into pre, then `npm run promote -- pre prod3 supply-chain`",
    ]);
    expect(quietly(() => checkFleet(["--dir", dir])).result).toBe(1);
  });

  test("check:fleet refuses its ranges when they overlap prod2's", () => {
    write("prod3", read("prod3").replace("vpcCidr: 10.60.0.0/16", "vpcCidr: 10.50.0.0/16"));
    const { result, err } = quietly(() => checkFleet(["--dir", dir]));
    expect(result).toBe(1);
    expect(err.join("\n")).toMatch(/prod3.*10\.50\.0\.0\/16|10\.50\.0\.0\/16.*prod3/);
  });
});

test("no stack files (the policy pack published alone): an empty fleet, no stack has a tier", () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-empty-"));
  try {
    expect(readFleet(empty)).toEqual({ stacks: [], host: "", members: [] });
    expect(tierOf("prod1", empty)).toBeUndefined();
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

describe("a fleet that does not add up is refused, naming the file and key", () => {
  test("a member the host lists without a stack file", () => {
    write("host", read("host").replace("      - livemall/platform/prod2\n", "      - livemall/platform/prod2\n      - livemall/platform/prod9\n"));
    expect(() => readFleet(dir)).toThrow(FleetError);
    expect(() => readFleet(dir)).toThrow("Pulumi.host.yaml: platform:kubesphere.members: livemall/platform/prod9 has no stack file Pulumi.prod9.yaml");
  });

  test("a stack whose name is not a tier and whose file names none", () => {
    write("edge", "config:\n  platform:env: edge\n");
    expect(() => readFleet(dir)).toThrow(
      'Pulumi.edge.yaml: platform:tier is required (the stack name "edge" is not a tier): one of host, dev, test, pre, prod',
    );
  });

  test("an unknown tier", () => {
    write("prod2", read("prod2").replace("platform:tier: prod", "platform:tier: production"));
    expect(() => readFleet(dir)).toThrow('Pulumi.prod2.yaml: platform:tier: "production" is not one of host, dev, test, pre, prod');
  });

  test("two hosts", () => {
    write("host2", "config:\n  platform:tier: host\n");
    expect(() => readFleet(dir)).toThrow("the fleet needs exactly one stack with platform:tier host, found host, host2");
  });
});
