// safe-changes over real diffs: blocked in prod (mandatory), advisory elsewhere,
// and the message says how to make the change safely.
import * as path from "path";
import { checkChanges } from "../../components/preview/changeGuard";
import { diffPlans } from "../../components/preview/planDiff";
import { loadPolicyConfig } from "../../components/preview/policyCheck";
import { plan } from "../support/offline";

const ROOT = path.resolve(__dirname, "..", "..");
const PROD = loadPolicyConfig(path.join(ROOT, "policies", "config", "prod.json"));
const NONPROD = loadPolicyConfig(path.join(ROOT, "policies", "config", "nonprod.json"));

async function guard(stack: string, overrides: string[], config = PROD) {
  const before = await plan(stack);
  const after = await plan(stack, overrides);
  return checkChanges(diffPlans(before.resources, after.resources), before.resources, after.resources, config);
}

describe("safe-changes", () => {
  test("reordering prod1's zones is blocked: masters, vswitches and SLBs replaced, each with the safe way", async () => {
    const v = await guard("prod1", ['platform:network.zones=["cn-shanghai-f","cn-shanghai-g","cn-shanghai-e"]']);
    expect(v.every((x) => x.policy === "safe-changes" && x.level === "mandatory")).toBe(true);
    const names = v.map((x) => x.urn.split("::").pop()).sort();
    expect(names).toEqual([
      "prod1-fleet-to-dc-prod1", // the VPN gateway sits in a vswitch: replaced with it, and its connections too
      "prod1-fleet-to-host-prod1",
      "prod1-front-slb",
      "prod1-ingress-slb",
      "prod1-master-0",
      "prod1-master-1",
      "prod1-master-2",
      "prod1-vsw-cn-shanghai-e",
      "prod1-vsw-cn-shanghai-f",
      "prod1-vsw-cn-shanghai-g",
    ]);
    expect(v.find((x) => x.urn.endsWith("prod1-master-0"))!.message).toMatch(
      /replaces \(availabilityZone\) a master\. Do it one master per change.*pulumi up --target/,
    );
    expect(v.find((x) => x.urn.endsWith("prod1-vsw-cn-shanghai-e"))!.message).toMatch(/replaces \(cidrBlock\) a vswitch.*add a zone only at the end/);
  });

  test("a masters' instance type stops all three at once: one finding, roll one at a time", async () => {
    const v = await guard("prod1", ["platform:masters.instanceType=ecs.g6.4xlarge"]);
    expect(v).toHaveLength(1);
    expect(v[0].message).toMatch(/^the plan stops 3 masters at once \(prod1-master-0, prod1-master-1, prod1-master-2: instanceType\).*one master at a time/);
  });

  test("a scale-out, a pool's type change and an image bump pass", async () => {
    expect(await guard("prod1", ["platform:nodePools[0].count=30"])).toEqual([]);
    expect(await guard("prod1", ["platform:osImageId=ubuntu_24_04_x64_20G_alibase_20261101.vhd"])).toEqual([]);
  });

  test("nonprod.json makes it advisory", async () => {
    const v = await guard("dev", ['platform:network.zones=["cn-hangzhou-i","cn-hangzhou-h"]'], NONPROD);
    expect(v.length).toBeGreaterThan(0);
    expect(v.every((x) => x.level === "advisory")).toBe(true);
  });
});

describe("safe-changes: a built cluster's pod and service ranges", () => {
  test("widening prod1's pod range is blocked, naming the key, both values and a new cluster as the supported path", async () => {
    const v = await guard("prod1", ["platform:network.podCidr=10.140.0.0/15"]);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({
      policy: "safe-changes",
      level: "mandatory",
      urn: "urn:pulumi:prod1::platform::pulumi:pulumi:Stack$platform:cluster:Cluster::prod1",
    });
    expect(v[0].message).toMatch(/^platform:network\.podCidr changes 10\.140\.0\.0\/16 -> 10\.140\.0\.0\/15 on the built cluster prod1: /);
    expect(v[0].message).toContain("nodes outside the old range would get no pod CIDR");
    expect(v[0].message).toContain("The supported path is a new cluster: a new stack with the new range beside this one");
  });

  test("widening prod1's service range is blocked too (before, the plan showed no change at all)", async () => {
    const v = await guard("prod1", ["platform:network.serviceCidr=10.240.0.0/19"]);
    expect(v).toHaveLength(1);
    expect(v[0].level).toBe("mandatory");
    expect(v[0].message).toMatch(/^platform:network\.serviceCidr changes 10\.240\.0\.0\/20 -> 10\.240\.0\.0\/19 on the built cluster prod1: /);
    expect(v[0].message).toContain("The supported path is a new cluster");
    expect(v[0].message).toContain("add a ServiceCIDR object (networking.k8s.io/v1, stable since Kubernetes 1.33)");
  });

  test("advisory in nonprod; a plan made before the ranges were recorded is not a change of them", async () => {
    const v = await guard("dev", ["platform:network.podCidr=10.110.0.0/15"], NONPROD);
    expect(v.map((x) => [x.policy, x.level])).toEqual([["safe-changes", "advisory"]]);
    const after = await plan("prod1");
    const before = after.resources.map((r) =>
      r.type === "platform:cluster:Cluster" ? { ...r, inputs: { kubernetesVersion: r.inputs.kubernetesVersion } } : r,
    );
    expect(checkChanges(diffPlans(before, after.resources), before, after.resources, PROD)).toEqual([]);
  });
});
