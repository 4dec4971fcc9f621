import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ofType, plan, previewCli, STACK_NAMES } from "../support/offline";

describe("offline preview", () => {
  test.each(STACK_NAMES)("%s plans cleanly under the mocks", async (stack) => {
    const p = await plan(stack);
    expect(p.resources.length).toBeGreaterThan(20);
    // one root (the stack); every other resource has a parent that was planned
    const urns = new Set(p.resources.map((r) => r.urn));
    expect(p.resources.filter((r) => !r.parent).map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
    for (const r of p.resources) if (r.parent) expect(urns.has(r.parent)).toBe(true);
    expect(ofType(p, "alicloud:vpc/network:Network")).toHaveLength(1);
  });

  test("one vswitch and one SNAT entry per zone, in distinct ranges inside the VPC", async () => {
    const p = await plan("prod1");
    const vsw = ofType(p, "alicloud:vpc/switch:Switch");
    expect(vsw.map((v) => v.inputs.zoneId)).toEqual(["cn-shanghai-e", "cn-shanghai-f", "cn-shanghai-g"]);
    expect(vsw.map((v) => v.inputs.cidrBlock)).toEqual(["10.40.0.0/18", "10.40.64.0/18", "10.40.128.0/18"]);
    expect(ofType(p, "alicloud:vpc/snatEntry:SnatEntry")).toHaveLength(3);
  });

  test("no security group rule is open to the internet", async () => {
    for (const stack of STACK_NAMES) {
      const rules = ofType(await plan(stack), "alicloud:ecs/securityGroupRule:SecurityGroupRule");
      expect(rules.length).toBeGreaterThan(10);
      for (const r of rules) expect(r.inputs.cidrIp).not.toBe("0.0.0.0/0");
    }
  });

  test("-c overrides use pulumi config --path syntax", async () => {
    const p = await plan("dev", ["platform:network.zones[2]=cn-hangzhou-j"]);
    expect(ofType(p, "alicloud:vpc/switch:Switch").map((v) => v.inputs.zoneId)).toEqual(["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"]);
  });

  test("an even master count exits non-zero naming the key, and prints no tree", async () => {
    const r = await previewCli("prod1", "-c", "platform:masters.count=2");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("platform:masters.count: must be odd for etcd quorum, got 2");
    expect(r.stdout).not.toContain("pulumi:pulumi:Stack");
  });

  test("--json prints one document listing every resource with its parent", async () => {
    const r = await previewCli("dev", "--json");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual(["stack", "resources", "outputs", "policies"]);
    expect(doc.stack).toBe("dev");
    const p = await plan("dev");
    expect(doc.resources).toHaveLength(p.resources.length);
    for (const res of doc.resources) {
      expect(Object.keys(res)).toEqual(expect.arrayContaining(["urn", "type", "name", "parent", "inputs", "dependsOn"]));
      if (res.type !== "pulumi:pulumi:Stack") expect(res.parent).toMatch(/^urn:pulumi:dev::platform::/);
    }
    expect(doc.outputs.vpcCidr).toBe("10.10.0.0/16");
  });

  test("the tree says it is offline and mocked, and counts resources by type", async () => {
    const r = await previewCli("dev");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("This is NOT `pulumi preview`");
    expect(r.stdout).toMatch(/└─ alicloud:vpc:SnatEntry|├─ alicloud:vpc:SnatEntry/);
    expect(r.stdout).toMatch(/^\s+2\s+alicloud:vpc:Switch$/m);
  });

  test("--out writes plan.json and the artifact folders", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-out-"));
    try {
      const r = await previewCli("dev", "--out", dir);
      expect(r.code).toBe(0);
      for (const d of ["haproxy", "cloud-init", "manifests", "ipsec"]) expect(fs.statSync(path.join(dir, d)).isDirectory()).toBe(true);
      expect(JSON.parse(fs.readFileSync(path.join(dir, "plan.json"), "utf8")).stack).toBe("dev");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("usage errors exit 2", async () => {
    expect((await previewCli()).code).toBe(2);
    expect((await previewCli("dev", "--bogus")).code).toBe(2);
  });
});
