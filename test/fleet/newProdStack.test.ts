// Issue 31's "Done when": in a copy of the repository, a copy of Pulumi.prod2.yaml
// renamed to Pulumi.prod3.yaml with its own address ranges and per-stack values (the
// list in docs/runbooks/add-a-cluster.md) and its own ESC environment, plus its entry in
// the host's member list, with no code edit:
//   - previews clean: the offline preview CLI, run in the copy, plans it (the program
//     reads the fleet from the directory it runs in);
//   - is a prod cluster where it counts: the host's preview registers it (its Cluster
//     object) and places both workspaces on it; its apps run with Apollo's PRO env; the
//     policy pack holds it to prod's mandatory config (a change refused on prod is
//     refused on prod3);
//   - CI selects it: changed-stacks.sh picks it for its file and for program changes,
//     with the mandatory (prod) policy config;
//   - drift checks it: drift.yml's matrix (`--list --tier prod`) has it;
//   - check:fleet (address plan, registration, prod tags, secrets, CI runners) passes,
//     and its prod-tag rule holds prod3 to pre.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { prodTagsNotFromPre } from "../../components/ops/prodTags";

const ROOT = path.resolve(__dirname, "../..");
let copy: string;

/** The repository's files the program, the scripts and the checks need; node_modules linked, not copied. */
function copyRepo(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prod3-"));
  for (const f of fs.readdirSync(ROOT)) {
    if (/^Pulumi\..*yaml$/.test(f) || ["index.ts", "package.json", "tsconfig.json"].includes(f)) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
  }
  for (const d of ["components", "esc", ".github"]) fs.cpSync(path.join(ROOT, d), path.join(dir, d), { recursive: true });
  fs.cpSync(path.join(ROOT, "policies"), path.join(dir, "policies"), { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules`) });
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  fs.symlinkSync(path.join(ROOT, "policies/node_modules"), path.join(dir, "policies/node_modules"));
  return dir;
}

function edit(file: string, pairs: [string, string][]): void {
  let text = fs.readFileSync(path.join(copy, file), "utf8");
  for (const [from, to] of pairs) {
    expect(text).toContain(from);
    text = text.replace(from, to);
  }
  fs.writeFileSync(path.join(copy, file), text);
}

const node = (args: string[]) =>
  spawnSync(process.execPath, args, {
    cwd: copy,
    encoding: "utf8",
    timeout: 240_000,
    env: { ...process.env, TS_NODE_PROJECT: path.join(copy, "tsconfig.json") },
  });
const bash = (...args: string[]) => spawnSync("bash", [".github/scripts/changed-stacks.sh", ...args], { cwd: copy, encoding: "utf8", input: "" });

/** The runbook's list (docs/runbooks/add-a-cluster.md, step 1): its name, its ESC environment, its address ranges and its per-stack values. */
const PROD3_EDITS: [string, string][] = [
  ["  - platform/prod2\n", "  - platform/prod3\n"],
  ["platform:env: prod2", "platform:env: prod3"],
  ["vpcCidr: 10.50.0.0/16", "vpcCidr: 10.60.0.0/16"],
  ["podCidr: 10.150.0.0/16", "podCidr: 10.160.0.0/16"],
  ["serviceCidr: 10.250.0.0/20", "serviceCidr: 10.251.0.0/20"],
  ["kmsInstanceId: kst-bjjplaceholderprod2", "kmsInstanceId: kst-bjjplaceholderprod3"],
  ["kmsKeyId: key-bjjplaceholderprod2", "kmsKeyId: key-bjjplaceholderprod3"],
  ["user: fluent-bit-prod2", "user: fluent-bit-prod3"],
  ["host: skywalking.prod2.livemall.internal", "host: skywalking.prod3.livemall.internal"],
];

/** The lines of `a` and `b` that differ, position by position (both files have the same number of lines here). */
function changedLines(a: string, b: string): [string, string][] {
  const [la, lb] = [a.split("\n"), b.split("\n")];
  expect(la).toHaveLength(lb.length);
  return la.flatMap((l, i): [string, string][] => (l === lb[i] ? [] : [[l.trim(), lb[i].trim()]]));
}

beforeAll(() => {
  copy = copyRepo();
  fs.copyFileSync(path.join(copy, "Pulumi.prod2.yaml"), path.join(copy, "Pulumi.prod3.yaml"));
  edit("Pulumi.prod3.yaml", PROD3_EDITS);
  // Its entry in the host's member list, the only line of Pulumi.host.yaml that changes: the host's
  // workspaces list no clusters, so they are placed on every member, prod3 with it.
  edit("Pulumi.host.yaml", [["      - livemall/platform/prod2\n", "      - livemall/platform/prod2\n      - livemall/platform/prod3\n"]]);
  // Its secrets: the ESC definition of platform/prod3 (docs/runbooks/add-a-cluster.md).
  fs.writeFileSync(path.join(copy, "esc/prod3.yaml"), fs.readFileSync(path.join(copy, "esc/prod2.yaml"), "utf8").replaceAll("prod2", "prod3"));
});
afterAll(() => fs.rmSync(copy, { recursive: true, force: true }));

test("the edits are the issue's: prod3 is prod2 with 9 lines changed, the host gains one line", () => {
  const prod3 = fs.readFileSync(path.join(copy, "Pulumi.prod3.yaml"), "utf8");
  expect(changedLines(fs.readFileSync(path.join(ROOT, "Pulumi.prod2.yaml"), "utf8"), prod3)).toEqual([
    ["- platform/prod2", "- platform/prod3"],
    ["platform:env: prod2", "platform:env: prod3"],
    ["vpcCidr: 10.50.0.0/16", "vpcCidr: 10.60.0.0/16"],
    ["podCidr: 10.150.0.0/16", "podCidr: 10.160.0.0/16"],
    ["serviceCidr: 10.250.0.0/20", "serviceCidr: 10.251.0.0/20"],
    ["kmsInstanceId: kst-bjjplaceholderprod2", "kmsInstanceId: kst-bjjplaceholderprod3"],
    ["kmsKeyId: key-bjjplaceholderprod2", "kmsKeyId: key-bjjplaceholderprod3"],
    ["user: fluent-bit-prod2", "user: fluent-bit-prod3"],
    ["host: skywalking.prod2.livemall.internal", "host: skywalking.prod3.livemall.internal"],
  ]);
  const host = fs.readFileSync(path.join(copy, "Pulumi.host.yaml"), "utf8").split("\n");
  const added = host.findIndex((l) => l === "      - livemall/platform/prod3");
  expect(added).toBeGreaterThan(0);
  expect([...host.slice(0, added), ...host.slice(added + 1)].join("\n")).toBe(fs.readFileSync(path.join(ROOT, "Pulumi.host.yaml"), "utf8"));
});

test("no code changed: the copy's program, policies and scripts are the repository's", () => {
  for (const f of ["index.ts", "components/config/keys.ts", "policies/fleet.ts", "policies/imageTags.ts", ".github/scripts/changed-stacks.sh"]) {
    expect([f, fs.readFileSync(path.join(copy, f), "utf8")]).toEqual([f, fs.readFileSync(path.join(ROOT, f), "utf8")]);
  }
});

interface Plan {
  resources: { urn: string; type: string; inputs: Record<string, unknown> }[];
  policies: { policy?: string; level?: string; urn?: string; message?: string }[];
}
const preview = (stack: string) => node(["--stack-size=4000", "-r", "ts-node/register/transpile-only", "components/preview/cli.ts", stack, "--json"]);

test("the offline preview, run in the copy, plans prod3 cleanly: prod2's 294 resources on prod3's own ranges, its apps on Apollo's PRO", () => {
  const r = preview("prod3");
  expect([r.status, r.stderr]).toEqual([0, ""]);
  const plan = JSON.parse(r.stdout) as Plan;
  expect(plan.resources).toHaveLength(294);
  // Like prod1 and prod2, it reads the images pre validated from pre's output and what it runs from its own (T21), nothing else.
  expect(
    plan.resources
      .filter((x) => x.type === "pulumi:pulumi:StackReference")
      .map((x) => x.inputs.name)
      .sort(),
  ).toEqual(["livemall/platform/pre", "livemall/platform/prod3"]);
  const vpc = plan.resources.find((x) => x.type === "alicloud:vpc/network:Network")!;
  expect(vpc.urn).toBe("urn:pulumi:prod3::platform::platform:network:Network$alicloud:vpc/network:Network::prod3-vpc");
  expect(vpc.inputs.cidrBlock).toBe("10.60.0.0/16");
  // Clean: no policy of the pack (prod's mandatory config) is violated.
  expect(plan.policies).toEqual([]);
  // Its apps read Apollo's production config: ENV=PRO in every app container (javaAppObjects.ts), as on prod2.
  const deployments = plan.resources.filter((x) => x.type === "kubernetes:apps/v1:Deployment" && x.urn.includes("platform:k8s:JavaApp"));
  expect(deployments.length).toBeGreaterThanOrEqual(3);
  for (const d of deployments) {
    const containers = (d.inputs as { spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } } }).spec.template.spec
      .containers;
    expect([d.urn, containers[0].env?.find((e) => e.name === "ENV")]).toEqual([d.urn, { name: "ENV", value: "PRO" }]);
  }
});

test("the host's preview, run in the copy, registers prod3 and places both workspaces on it", () => {
  const r = preview("host");
  expect([r.status, r.stderr]).toEqual([0, ""]);
  const plan = JSON.parse(r.stdout) as Plan;
  const clusters = plan.resources.filter((x) => x.type === "kubernetes:cluster.kubesphere.io/v1alpha1:Cluster");
  // Sorted: the plan lists each Cluster as its member's outputs resolve (pre's, which carry validatedImages, come last).
  expect(clusters.map((c) => (c.inputs.metadata as { name: string }).name).sort()).toEqual(["dev", "pre", "prod1", "prod2", "prod3", "test"]);
  const templates = plan.resources.filter((x) => x.type === "kubernetes:tenant.kubesphere.io/v1beta1:WorkspaceTemplate");
  expect(
    templates.map((t) => [
      (t.inputs.metadata as { name: string }).name,
      (t.inputs.spec as { placement: { clusters: { name: string }[] } }).placement.clusters.map((c) => c.name),
    ]),
  ).toEqual([
    ["commerce", ["dev", "test", "pre", "prod1", "prod2", "prod3"]],
    ["scm", ["dev", "test", "pre", "prod1", "prod2", "prod3"]],
  ]);
});

test("the policy pack judges prod3 as prod: an instance type outside prod's list is a mandatory violation, the preview fails", () => {
  // ecs.g7.2xlarge is on neither list; non-prod's config would only advise (policies/config/nonprod.json "all": "advisory").
  edit("Pulumi.prod3.yaml", [["    instanceType: ecs.g6.2xlarge", "    instanceType: ecs.g7.2xlarge"]]);
  try {
    const r = preview("prod3");
    expect(r.status).toBe(1);
    const plan = JSON.parse(r.stdout) as Plan;
    const found = plan.policies.filter((p) => p.policy === "approved-instance-types");
    expect(found.length).toBeGreaterThan(0);
    expect(new Set(found.map((p) => p.level))).toEqual(new Set(["mandatory"]));
    expect(found[0].message).toContain("ecs.g7.2xlarge");
  } finally {
    edit("Pulumi.prod3.yaml", [["    instanceType: ecs.g7.2xlarge", "    instanceType: ecs.g6.2xlarge"]]);
  }
});

test("CI selects it, with the mandatory policy config, and drift lists it", () => {
  expect(bash("Pulumi.prod3.yaml").stdout).toBe('["prod3"]\n');
  expect(bash("--tier", "prod", "index.ts").stdout).toBe('["prod1","prod2","prod3"]\n');
  expect(bash("--policy-config", "prod3").stdout).toBe("policies/config/prod.json\n");
  expect(bash("--list", "--tier", "prod").stdout).toBe('["prod1","prod2","prod3"]\n');
});

test("check:fleet, run in the copy, passes the 7-stack fleet", () => {
  const r = node(["-r", "ts-node/register/transpile-only", "components/ops/checkFleet.ts"]);
  expect([r.status, r.stderr]).toEqual([0, ""]);
  expect(r.stdout).toContain("fleet address plan: 7 clusters, 6 IPsec links, data centre linked to host, prod1, prod2, prod3: no overlaps");
});

test("the prod-tag check holds prod3 to pre", () => {
  edit("Pulumi.prod3.yaml", [["tag: supply-chain-v3.1.1", "tag: supply-chain-v9.9.9"]]);
  try {
    expect(prodTagsNotFromPre(copy)).toEqual([
      "Pulumi.prod3.yaml: platform:apps.supply-chain.tag: supply-chain-v9.9.9 was never validated in pre (pre runs supply-chain-v3.1.2, history supply-chain-v3.1.1); release it into pre, then `npm run promote -- pre prod3 supply-chain`",
    ]);
  } finally {
    edit("Pulumi.prod3.yaml", [["tag: supply-chain-v9.9.9", "tag: supply-chain-v3.1.1"]]);
  }
});
