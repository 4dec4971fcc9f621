// The scale-in helper against prod1's real offline plan: the nodes that go are the pool's
// highest indexes, their instance ids are the ones the plan gave those instances (and the
// ones the ingress SLB attaches), the PDB check refuses what the budgets cannot survive,
// and --apply changes exactly one line of the stack file.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main } from "../../components/ops/day2";
import { instanceCapacity, planScaleIn, podsToKeep } from "../../components/ops/scaleIn";
import { setScalar } from "../../components/ops/stackFileEdit";
import { loadEngineConfig } from "../../components/config/stackFiles";
import { parseStackConfig } from "../../components/config/stackConfig";
import { ofType, plan } from "../support/offline";

jest.setTimeout(120_000);
const ROOT = path.resolve(__dirname, "..", "..");

function prod1Settings() {
  const c = loadEngineConfig("prod1", [], ROOT);
  return parseStackConfig("prod1", { values: c.values, secretKeys: c.secretKeys });
}

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    (s) => out.push(s),
    (s) => err.push(s),
  );
  return { code, out: out.join("\n"), err: err.join("\n") };
}

test("prod1 general 20 -> 18: drains prod1-general-19 and -18 with the plan's instance ids", async () => {
  const p = await plan("prod1");
  const instances = ofType(p, "alicloud:ecs/instance:Instance");
  const idOf = (name: string) => instances.find((r) => r.name === name)!.id!;
  // The same ids the ingress SLB's server group attaches: the plan's ids, not a second guess.
  const attached = new Set(ofType(p, "alicloud:slb/serverGroupServerAttachment:ServerGroupServerAttachment").map((r) => r.inputs.serverId));
  expect(attached.has(idOf("prod1-general-19"))).toBe(true);

  const r = await run("scale-in", "prod1", "general", "18");
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  const drains = [...r.out.matchAll(/kubectl drain (\S+)/g)].map((m) => m[1]);
  expect(drains).toEqual(["prod1-general-19", "prod1-general-18"]);
  const lifted = [...r.out.matchAll(/--InstanceId (\S+) --DeletionProtection false {3}# (\S+)/g)].map((m) => [m[2], m[1]]);
  expect(lifted).toEqual([
    ["prod1-general-19", idOf("prod1-general-19")],
    ["prod1-general-18", idOf("prod1-general-18")],
  ]);
  expect(r.out).toContain("Pulumi.prod1.yaml: platform:nodePools[name=general].count: 20 -> 18");
  // In order: drain, lift protection, edit.
  expect(r.out.indexOf("kubectl drain")).toBeLessThan(r.out.indexOf("ModifyInstanceAttribute"));
  expect(r.out.indexOf("ModifyInstanceAttribute")).toBeLessThan(r.out.indexOf("count: 20 -> 18"));
});

test("refuses to shrink a pool below what its apps' PDBs keep running", async () => {
  const p = await plan("prod1");
  const s = prod1Settings();
  const req = { stack: "prod1", region: s.region, pool: "order", pools: s.nodePools, plan: p.resources, isProd: true };
  // order-service runs on the order pool only (platform:apps.order-service.pool).
  const ok = planScaleIn({ ...req, newCount: 7 });
  // order-service: 24 replicas, maxUnavailable 10% -> 3 may go, 21 stay, 4 CPU each.
  expect(ok.demand).toEqual([{ app: "commerce/order-service", keep: 21, cpu: 84, memoryGi: 126 }]);
  expect(ok.minimumCount).toBe(6); // 84 CPU over 14.4 allocatable CPU per ecs.g6.4xlarge
  expect(() => planScaleIn({ ...req, newCount: 5 })).toThrow(
    "Pulumi.prod1.yaml: platform:nodePools[name=order].count: refused: 5 nodes cannot hold what the PDBs keep running",
  );
  expect(planScaleIn({ ...req, newCount: 6 }).leaving).toHaveLength(2);
  // general no longer carries order-service: the other apps need 2 of its nodes.
  const general = planScaleIn({ ...req, pool: "general", newCount: 18 });
  expect(general.demand.map((d) => d.app)).not.toContain("commerce/order-service");
  expect(general.minimumCount).toBe(2);
  expect(() => planScaleIn({ ...req, pool: "general", newCount: 20 })).toThrow(
    "Pulumi.prod1.yaml: platform:nodePools[name=general].count: is 20; 20 is not a scale-in (the new count must be from 0 to 19)",
  );
  expect(() => planScaleIn({ ...req, pool: "gpu", newCount: 1 })).toThrow("has no pool gpu");
});

test("with --state, the ids come from `pulumi stack export` JSON", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "scale-in-"));
  const file = path.join(dir, "export.json");
  const resource = (name: string, id: string) => ({
    urn: `urn:pulumi:prod1::platform::x$alicloud:ecs/instance:Instance::${name}`,
    type: "alicloud:ecs/instance:Instance",
    id,
    outputs: { instanceName: name },
  });
  fs.writeFileSync(
    file,
    JSON.stringify({
      version: 3,
      deployment: { resources: [resource("prod1-order-7", "i-uf6real000000000007"), resource("prod1-order-6", "i-uf6real000000000006")] },
    }),
  );
  const r = await run("scale-in", "prod1", "order", "7", "--state", file);
  expect(r.code).toBe(0);
  expect(r.out).toContain("--InstanceId i-uf6real000000000007 --DeletionProtection false   # prod1-order-7");
  expect(r.out).not.toContain("i-uf6real000000000006"); // prod1-order-6 stays
  expect(r.out).toContain(`(instance ids from ${file})`);
  fs.writeFileSync(file, "{}");
  expect((await run("scale-in", "prod1", "order", "6", "--state", file)).err).toContain("not a `pulumi stack export` document");
  fs.rmSync(dir, { recursive: true });
});

test("the count edit changes one line and keeps every comment", () => {
  const text = fs.readFileSync(path.join(ROOT, "Pulumi.prod1.yaml"), "utf8");
  const out = setScalar(text, ["config", "platform:nodePools", { name: "general" }, "count"], 18, "Pulumi.prod1.yaml");
  const before = text.split("\n");
  const after = out.split("\n");
  expect(after).toHaveLength(before.length);
  const changed = before.map((l, i) => [l, after[i]]).filter(([a, b]) => a !== b);
  expect(changed).toEqual([["      count: 20", "      count: 18"]]);
});

test("budget arithmetic and instance sizes", () => {
  expect(podsToKeep(24, { maxUnavailable: "10%" })).toBe(21);
  expect(podsToKeep(1, { maxUnavailable: "10%" })).toBe(0);
  expect(podsToKeep(5, { minAvailable: "50%" })).toBe(3);
  expect(podsToKeep(5, { minAvailable: 2 })).toBe(2);
  expect(instanceCapacity("ecs.g6.4xlarge")).toEqual({ cpu: 16, memoryGi: 64 });
  expect(instanceCapacity("ecs.c6.large")).toEqual({ cpu: 2, memoryGi: 4 });
  expect(() => instanceCapacity("ecs.t5-lc1m1.small")).toThrow("cannot size instance type");
});
