// The offline diff as a reviewer reads it: replacements with the path that
// forces them, ignoreChanges set aside, aliases honoured, grouped output, and the
// provider-semantics table complete for every type the program registers.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { parse } from "yaml";
import { formatDiff, nameRange, ranges, textDiff } from "../../components/preview/diffFormat";
import { formatFindings } from "../../components/preview/findings";
import { diffCounts, DiffableResource, diffPlans, PlanDiff } from "../../components/preview/planDiff";
import { writeArtifacts, writeArtifactsPruning } from "../../components/preview/preview";
import { PROVIDER_SEMANTICS, semanticsFor } from "../../components/preview/providerSemantics";
import type { Plan } from "../../components/preview/runtime";
import { plan, previewCli, STACK_NAMES } from "../support/offline";

const name = (urn: string) => urn.split("::").pop()!;
const changeOf = (d: PlanDiff, n: string) => d.changed.find((c) => name(c.urn) === n);

async function diffOf(stack: string, overrides: string[], baseOverrides: string[] = []) {
  const before = await plan(stack, baseOverrides);
  const after = await plan(stack, overrides);
  const d = diffPlans(before.resources, after.resources);
  return { d, text: formatDiff(d, { before: before.resources, after: after.resources }), before, after };
}

describe("provider semantics table", () => {
  test("every type in every stack's plan is in the table, with a source", async () => {
    const missing = new Set<string>();
    for (const stack of STACK_NAMES) {
      for (const r of (await plan(stack)).resources) {
        const s = semanticsFor(r.type);
        if (!s || !s.source) missing.add(r.type);
        // Only components may come from the platform:* default; every provider type is listed by name.
        if (!r.type.startsWith("platform:") && !PROVIDER_SEMANTICS[r.type]) missing.add(r.type);
      }
    }
    expect([...missing]).toEqual([]);
  });

  test("the table cites the provider file of each alicloud type", () => {
    for (const [type, s] of Object.entries(PROVIDER_SEMANTICS)) {
      if (type.startsWith("alicloud:")) expect(s.source).toMatch(/alicloud\/resource_alicloud_[a-z_]+\.go/);
    }
  });
});

describe("replacements show as +- with the path that forces them", () => {
  test("reordering prod1's zones replaces vswitches (cidrBlock), nodes (availabilityZone) and the SLBs (zones), masters delete first", async () => {
    const { d, text } = await diffOf("prod1", ['platform:network.zones=["cn-shanghai-f","cn-shanghai-g","cn-shanghai-e"]']);
    const vsw = changeOf(d, "prod1-vsw-cn-shanghai-e")!;
    expect(vsw.op).toBe("replace");
    expect(vsw.changes.find((c) => c.path === "cidrBlock")).toMatchObject({ old: "10.40.0.0/18", new: "10.40.128.0/18", replaces: "cidrBlock" });
    const master = changeOf(d, "prod1-master-0")!;
    expect(master.op).toBe("replace");
    expect(master.changes.find((c) => c.replaces)?.path).toBe("availabilityZone");
    expect(master.deleteFirst).toMatch(/fixed address 10\.40\.0\.10/);
    expect(changeOf(d, "prod1-general-7")!.deleteFirst).toBeUndefined();
    const slb = changeOf(d, "prod1-ingress-slb")!;
    expect(slb.op).toBe("replace");
    expect(slb.changes.filter((c) => c.replaces).map((c) => c.path)).toEqual(["masterZoneId", "slaveZoneId", "vswitchId"]);
    // A replaced vswitch's new id reaches the SNAT entry, whose sourceVswitchId is ForceNew.
    expect(changeOf(d, "prod1-snat-cn-shanghai-e")).toMatchObject({ op: "replace" });
    expect(text).toMatch(/^ {2}\+- alicloud:vpc:Switch prod1-vsw-cn-shanghai-e {2}replace$/m);
    expect(text).toContain('cidrBlock: "10.40.0.0/18" -> "10.40.128.0/18"   [forces replacement]');
    expect(text).toMatch(/\+- 3 x alicloud:ecs:Instance prod1-master-\[0\.\.2\] {2}replace, delete first \(deleteBeforeReplace, fixed address/);
    expect(text).toMatch(/REPLACES \d+ resource\(s\), 3 of them master\(s\)/);
    expect(text).toMatch(/^Plan: 0 to create, 1 to update, 0 to update with the instance stopped, \d+ to replace, 0 to delete; \d+ unchanged$/m);
  });

  test("a fourth zone replaces the 19 workers that move zone", async () => {
    const { d } = await diffOf("prod1", ['platform:network.zones=["cn-shanghai-e","cn-shanghai-f","cn-shanghai-g","cn-shanghai-l"]']);
    const workers = d.changed.filter((c) => c.type === "alicloud:ecs/instance:Instance" && /prod1-(general|order)-\d+$/.test(c.urn) && c.op === "replace");
    expect(workers.length).toBe(19);
    // Three zones already split the /16 into /18s: a fourth takes the free /18, the others stay.
    expect(changeOf(d, "prod1-vsw-cn-shanghai-f")).toBeUndefined();
    expect(d.added.map(name)).toContain("prod1-vsw-cn-shanghai-l");
  });

  test("a new VPC range moves the api-server SLB's fixed address: replace on address, delete first", async () => {
    const { d, text } = await diffOf("prod1", ["platform:network.vpcCidr=10.41.0.0/16"]);
    const front = changeOf(d, "prod1-front-slb")!;
    expect(front.op).toBe("replace");
    expect(front.changes.find((c) => c.path === "address")).toMatchObject({ old: "10.40.0.40", new: "10.41.0.40", replaces: "address" });
    expect(front.deleteFirst).toMatch(/fixed address 10\.41\.0\.40/);
    expect(text).toContain('address: "10.40.0.40" -> "10.41.0.40"   [forces replacement]');
  });

  test("a new masters' instance type is an update that stops all three masters (!)", async () => {
    const { d, text } = await diffOf("prod1", ["platform:masters.instanceType=ecs.g6.4xlarge"]);
    expect(d.changed.map((c) => [name(c.urn), c.op])).toEqual([
      ["prod1-master-0", "stop"],
      ["prod1-master-1", "stop"],
      ["prod1-master-2", "stop"],
    ]);
    expect(text).toContain("!  3 x alicloud:ecs:Instance prod1-master-[0..2]  update, stops the instance");
    expect(text).toContain('instanceType: "ecs.g6.2xlarge" -> "ecs.g6.4xlarge"   [stops the instance]');
    expect(text).toContain("Instances by type: ecs.g6.2xlarge 3 -> 0 (-3), ecs.g6.4xlarge 28 -> 31 (+3)");
  });
});

describe("the program's own options", () => {
  test("a new osImageId is ignored (ignoreChanges), not counted", async () => {
    const { d, text } = await diffOf("prod1", ["platform:osImageId=ubuntu_24_04_x64_20G_alibase_20261101.vhd"]);
    expect(d.changed).toEqual([]);
    expect(d.ignoredOnly).toHaveLength(33);
    expect(d.ignoredOnly[0].paths).toEqual(["imageId"]);
    expect(diffCounts(d)).toMatchObject({ create: 0, update: 0, replace: 0, delete: 0, ignored: 33 });
    expect(text).toContain("33 x alicloud:ecs:Instance prod1-general-[0..19], prod1-haproxy-[0..1], prod1-master-[0..2], prod1-order-[0..7]: imageId");
  });

  // A rename as the engine sees it: the VPC gets a new name (and the mock a new id).
  function renameVpc(p: Plan, withAlias: boolean): DiffableResource[] {
    const vpc = p.resources.find((r) => r.type === "alicloud:vpc/network:Network")!;
    const newUrn = vpc.urn.replace(/::prod1-vpc$/, "::prod1-vpc-main");
    const newId = "vpc-renamed0000000000";
    const swap = (v: unknown): unknown =>
      v === vpc.id
        ? newId
        : Array.isArray(v)
          ? v.map(swap)
          : v && typeof v === "object"
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]))
            : v;
    return p.resources.map((r) =>
      r === vpc
        ? { ...r, urn: newUrn, id: newId, aliases: withAlias ? [{ spec: { name: "prod1-vpc", type: "", stack: "", project: "", parenturn: "" } }] : [] }
        : { ...r, inputs: swap(r.inputs) as Record<string, unknown> },
    );
  }

  test("a rename with an alias shows no change; without one, a replacement (and what it drags along)", async () => {
    const p = await plan("prod1");
    const aliased = diffPlans(p.resources, renameVpc(p, true));
    expect(aliased).toMatchObject({ added: [], removed: [], changed: [], unaliased: [] });
    expect(aliased.renamed.map((r) => [name(r.from), name(r.to)])).toEqual([["prod1-vpc", "prod1-vpc-main"]]);
    const forgotten = diffPlans(p.resources, renameVpc(p, false));
    expect(forgotten.unaliased.map((r) => [name(r.from), name(r.to)])).toEqual([["prod1-vpc", "prod1-vpc-main"]]);
    expect(forgotten.added).toEqual([]);
    expect(forgotten.removed).toEqual([]);
    // Every vswitch and security group takes the new VPC id, which they cannot change in place.
    expect(forgotten.changed.filter((c) => c.type === "alicloud:vpc/switch:Switch").every((c) => c.op === "replace")).toBe(true);
    const text = formatDiff(forgotten);
    expect(text).toContain("+- alicloud:vpc:Network prod1-vpc-main  replace: renamed from prod1-vpc without an alias (delete + create)");
    expect(text).toContain('add `aliases: [{ name: "prod1-vpc" }]`');
  });
});

describe("scale-out output is short and grouped", () => {
  test.each([200, 1000])("%i -> +10 workers: under 60 lines, one line per kind of new resource", async (n) => {
    // A /14 pod range: flannel's /24 per node leaves room for 1024 nodes (prod1's /16 holds 256).
    const pods = "platform:network.podCidr=10.140.0.0/14";
    const { d, text } = await diffOf("prod1", [`platform:nodePools[0].count=${n + 10}`, pods], [`platform:nodePools[0].count=${n}`, pods]);
    // Each node: the instance, two SLB attachments, the workers' role attachment.
    expect(d.added).toHaveLength(40);
    const lines = text.split("\n");
    expect(lines.length).toBeLessThan(60);
    expect(lines.find((l) => l.includes("alicloud:ecs:Instance"))).toBe(
      `  +  10 x alicloud:ecs:Instance prod1-general-[${n}..${n + 9}]  ecs.g6.4xlarge, zones e:${n % 3 === 0 ? 4 : 3} f:${n % 3 === 1 ? 4 : 3} g:${n % 3 === 2 ? 4 : 3}`,
    );
    expect(text).toContain(`+  10 x alicloud:slb:ServerGroupServerAttachment prod1-ingress-80-prod1-general-[${n}..${n + 9}]`);
    expect(text).toContain(`+  10 x alicloud:ecs:RamRoleAttachment prod1-worker-role-prod1-general-[${n}..${n + 9}]`);
    // No replacement (no join token is a Pulumi resource, workerToken.ts); the update is the workers'
    // report re-counting in place (readiness.ts), one line.
    expect(text).toMatch(/^Plan: 40 to create, 1 to update, 0 to update with the instance stopped, 0 to replace, 0 to delete; \d+ unchanged$/m);
    expect(text).toContain(`workerPools.general: ${n} -> ${n + 10}`);
    expect(text).toContain(`Instances by type: ecs.g6.4xlarge ${n + 8} -> ${n + 18} (+10)`);
  });

  test("names sort naturally and ranges collapse", () => {
    expect(ranges([10, 2, 1, 3, 11, 7])).toBe("1..3,7,10..11");
    expect(nameRange(["prod1-general-10", "prod1-general-2", "prod1-general-1"])).toBe("prod1-general-[1..2,10]");
  });
});

describe("policy findings grouped by policy", () => {
  test("twenty identical findings are one entry with a count and the config key", () => {
    const v = Array.from({ length: 20 }, (_, i) => ({
      policy: "approved-instance-types",
      level: "mandatory" as const,
      urn: `urn:pulumi:prod1::platform::platform:compute:NodePool$alicloud:ecs/instance:Instance::prod1-general-${i}`,
      message: `prod1-general-${i}: instance type ecs.t6-c1m1.large is not approved`,
    }));
    const lines = formatFindings(v).split("\n");
    expect(lines).toEqual([
      "policies: 20 mandatory, 0 advisory violations",
      "    [mandatory] approved-instance-types x 20: prod1-general-0: instance type ecs.t6-c1m1.large is not approved",
      "        on 20 resources: prod1-general-0, prod1-general-1, prod1-general-2, … prod1-general-19",
      "        set by: platform:nodePools[].instanceType, platform:masters.instanceType",
    ]);
  });
});

describe("the CLI", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "diffcli-"));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test("--diff-from a plan of another stack is refused, naming both", async () => {
    writeArtifacts(path.join(tmp, "dev"), await plan("dev"));
    const r = await previewCli("prod1", "--diff-from", path.join(tmp, "dev"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--diff-from ${path.join(tmp, "dev")}: that is a plan of stack dev, not of prod1`);
    expect(r.stdout).toBe("");
  });

  test("--out removes the files an earlier run wrote for nodes that no longer exist, and nothing else", async () => {
    const out = path.join(tmp, "out");
    writeArtifactsPruning(out, await plan("prod1", ["platform:nodePools[1].count=9"]));
    const gone = fs.readdirSync(path.join(out, "cloud-init")).filter((f) => f.includes("prod1-order-8"));
    expect(gone.length).toBeGreaterThan(0);
    fs.writeFileSync(path.join(out, "cloud-init", "my-notes-prod1-order-8.txt"), "mine");
    const { removed } = writeArtifactsPruning(out, await plan("prod1"));
    expect(removed.sort()).toEqual(gone.map((f) => path.join("cloud-init", f)).sort());
    expect(fs.existsSync(path.join(out, "cloud-init", "my-notes-prod1-order-8.txt"))).toBe(true);
  });
});

describe("text values as a line diff", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "textdiff-"));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A gz+b64 file of a cloud-init document, decoded. */
  function writtenFile(cloudInit: string, file: string): string {
    const entry = (parse(cloudInit).write_files as { path: string; content: string; encoding?: string }[]).find((f) => f.path === file)!;
    expect(entry.encoding).toBe("gz+b64");
    return zlib.gunzipSync(Buffer.from(entry.content, "base64")).toString("utf8");
  }

  test("the kubeadm config in master-0's user data: the podSubnet line with context, nothing unrelated", async () => {
    writeArtifacts(path.join(tmp, "a"), await plan("prod1"));
    writeArtifacts(path.join(tmp, "b"), await plan("prod1", ["platform:network.podCidr=10.140.0.0/15"]));
    const read = (d: string) =>
      writtenFile(fs.readFileSync(path.join(tmp, d, "cloud-init", "prod1-master-0.yaml"), "utf8"), "/etc/k8s-bootstrap/kubeadm-init.yaml");
    const [a, b] = [read("a"), read("b")];
    expect(a.split("\n").length).toBeGreaterThan(60);
    const d = textDiff(a, b);
    expect(d.filter((l) => /^[-+] /.test(l))).toEqual(["-   podSubnet: 10.140.0.0/16", "+   podSubnet: 10.140.0.0/15"]);
    // One hunk: two lines of context either side, none of the other 60-odd lines.
    expect(d).toEqual([
      "@@ line 25 @@",
      "  controlPlaneEndpoint: 10.40.0.40:6443",
      "  networking:",
      "-   podSubnet: 10.140.0.0/16",
      "+   podSubnet: 10.140.0.0/15",
      "    serviceSubnet: 10.240.0.0/20",
      "    dnsDomain: cluster.local",
    ]);
  });

  test("through the diff: a non-secret text shows its changed lines; a secret one never its value", () => {
    const oldText = ["a: 1", "b: 2", "c: 3", "d: 4", "e: 5", "f: 6", "g: 7", "h: 8", "i: 9"].join("\n");
    const newText = oldText.replace("e: 5", "e: 50");
    const r = (text: string, secret: boolean): DiffableResource => ({
      urn: "urn:pulumi:prod1::platform::kubernetes:core/v1:ConfigMap::cfg",
      type: "kubernetes:core/v1:ConfigMap",
      inputs: { data: { "x.yaml": secret ? "[secret]" : text } },
      ...(secret ? { secretDigests: { "data.x\\.yaml": text === oldText ? "d1" : "d2" } } : {}),
    });
    const plain = formatDiff(diffPlans([r(oldText, false)], [r(newText, false)]));
    expect(plain).toContain('data["x.yaml"]: text, 9 -> 9 lines (-1 +1)');
    expect(plain).toContain(["@@ line 3 @@", "  c: 3", "  d: 4", "- e: 5", "+ e: 50", "  f: 6", "  g: 7"].map((l) => `          ${l}`).join("\n"));
    expect(plain).not.toMatch(/a: 1|b: 2|h: 8|i: 9/);
    expect(plain).not.toContain("chars of text");
    const hidden = formatDiff(diffPlans([r(oldText, true)], [r(newText, true)]));
    expect(hidden).toContain("(secret, changed; value not shown)");
    expect(hidden).not.toMatch(/e: 5/);
  });

  test("a long one-line value shows the part that changed", () => {
    const v = (x: string) => `--flag-one=aaaaaaaaaaaaaaaa --flag-two=bbbbbbbbbbbbbbbb --cluster-cidr=${x} --flag-three=cccccccccccccccccccccc --flag-four=ddd`;
    const r = (x: string): DiffableResource => ({
      urn: "urn:pulumi:prod1::platform::kubernetes:core/v1:ConfigMap::one",
      type: "kubernetes:core/v1:ConfigMap",
      inputs: { data: { args: v(x) } },
    });
    const out = formatDiff(diffPlans([r("10.140.0.0/16")], [r("10.140.0.0/15")]));
    // 24 characters either side of the first and last changed character.
    expect(out).toContain('data.args: "…luster-cidr=10.140.0.0/16 --flag-three=cccccccccc…" -> "…luster-cidr=10.140.0.0/15 --flag-three=cccccccccc…"');
  });

  test("the CLI: a pod range widening on prod1 against a baseline plan names the new cluster, diffs net-conf.json by line and exits 1", async () => {
    writeArtifacts(path.join(tmp, "base"), await plan("prod1"));
    const r = await previewCli("prod1", "-c", "platform:network.podCidr=10.140.0.0/15", "--diff-from", path.join(tmp, "base"));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('  NEEDS A NEW CLUSTER: platform:network.podCidr "10.140.0.0/16" -> "10.140.0.0/15".');
    expect(r.stdout).toContain('          -   "Network": "10.140.0.0/16",\n          +   "Network": "10.140.0.0/15",');
    expect(r.stdout).not.toContain("(118 chars of text)");
    expect(r.stdout).toMatch(
      /\[mandatory\] safe-changes: platform:network\.podCidr changes 10\.140\.0\.0\/16 -> 10\.140\.0\.0\/15 .*The supported path is a new cluster/,
    );
    expect(r.stdout).toContain("Plan: 0 to create, 4 to update, 0 to update with the instance stopped, 2 to replace, 0 to delete");
  });
});

describe("dependsOn changes are shown, grouped, the first few", () => {
  const u = (type: string, n: string) => `urn:pulumi:prod1::platform::${type}::${n}`;
  const ING = "kubernetes:networking.k8s.io/v1:Ingress";
  const CTRL = u("kubernetes:helm.sh/v3:Release", "prod1-ingress-nginx");
  const NS = u("kubernetes:core/v1:Namespace", "prod1-commerce");
  const res = (n: string, dependsOn: string[], type = ING): DiffableResource => ({ urn: u(type, n), type, inputs: { n }, dependsOn });

  test("a cut dependency on three siblings is one line; an added one on another its own; inputs unchanged, so no update", () => {
    const names = ["prod1-order-0", "prod1-order-1", "prod1-order-2"];
    const before = [...names.map((n) => res(n, [CTRL, NS])), res("prod1-cart", [NS])];
    const after = [...names.map((n) => res(n, [NS])), res("prod1-cart", [NS, CTRL])];
    const text = formatDiff(diffPlans(before, after), { before, after });
    expect(text.split("\n")).toEqual([
      "  4 resource(s) changed dependsOn (the order `pulumi up` works in; not an update by itself):",
      "     dependsOn -prod1-ingress-nginx: 3 x prod1-order-[0..2]",
      "     dependsOn +prod1-ingress-nginx: 1 x prod1-cart",
      "Plan: 0 to create, 0 to update, 0 to update with the instance stopped, 0 to replace, 0 to delete; 4 unchanged",
    ]);
  });

  test("past five distinct changes and three names a part, the rest are counted; no change, no line", () => {
    const deps = ["a", "b", "c", "d", "e", "f", "g"].map((n) => u("kubernetes:core/v1:Namespace", n));
    // p..t lose all seven; v and w one each (two more distinct changes); x, y, z, zz lose the same as p..t.
    const names = ["p", "q", "r", "s", "t", "x", "y", "z", "zz"];
    const before = [...names.map((n) => res(n, deps)), ...["v", "w", "v2", "w2", "k"].map((n) => res(n, deps))];
    const after = [...names.map((n) => res(n, [])), ...["v", "w", "v2", "w2", "k"].map((n, i) => res(n, deps.slice(0, i + 1)))];
    const lines = formatDiff(diffPlans(before, after), { before, after }).split("\n");
    expect(lines[0]).toBe("  14 resource(s) changed dependsOn (the order `pulumi up` works in; not an update by itself):");
    expect(lines[1]).toBe("     dependsOn -a -b -c -4 more: 9 x p, q, r, 6 more");
    expect(lines.slice(6)).toEqual([
      "     … 1 more distinct change(s)",
      "Plan: 0 to create, 0 to update, 0 to update with the instance stopped, 0 to replace, 0 to delete; 14 unchanged",
    ]);
    expect(formatDiff(diffPlans(before, before), { before, after: before })).not.toContain("dependsOn");
  });
});
