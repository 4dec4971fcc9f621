// Capacity under pinned apps (docs/threat-model.md, T18): a pool set to 0, relabelled or
// untainted under the apps pinned to it is refused by config validation (count 0), by the
// pack's pinned-capacity rule (the plan's pools; the running nodes' labels and taints on
// --diff-from, through real offline plans of prod1 before and after the stack-file edit) and
// by `npm run scale-in`, all through policies/rules/capacity.ts's strandedApps.
import { canRunOn, pinnedCapacity, strandedApps } from "../../policies/rules/capacity";
import { runPolicies } from "../../policies/pack";
import { checkChanges } from "../../components/preview/changeGuard";
import { diffPlans } from "../../components/preview/planDiff";
import { loadPolicyConfig, planToPolicyStack, policyConfigFileFor } from "../../components/preview/policyCheck";
import { parseStackConfig } from "../../components/config/stackConfig";
import { loadEngineConfig } from "../../components/config/stackFiles";
import { planScaleIn } from "../../components/ops/scaleIn";
import { plan } from "../support/offline";
import { configProblems } from "../support/configProblems";

const PROD = loadPolicyConfig(policyConfigFileFor("prod1"));
const ORDER_POOL = "prod1-order";

const problems = configProblems;

async function changeFindings(overrides: string[]) {
  const before = await plan("prod1");
  const after = await plan("prod1", overrides);
  return checkChanges(diffPlans(before.resources, after.resources), before.resources, after.resources, PROD).filter((v) => v.policy === "pinned-capacity");
}

describe("strandedApps: the one function", () => {
  const order = {
    nodeSelector: { "node.kubernetes.io/pool": "order" },
    tolerations: [{ key: "dedicated", operator: "Equal", value: "order", effect: "NoSchedule" }],
  };
  const pools = [
    { name: "general", count: 20, labels: { "node.kubernetes.io/pool": "general" }, taints: [] },
    { name: "order", count: 8, labels: { "node.kubernetes.io/pool": "order" }, taints: [{ key: "dedicated", value: "order", effect: "NoSchedule" }] },
  ];

  test("a pinned app with nodes passes; at count 0 it is stranded, with where and the pools' counts", () => {
    expect(strandedApps([{ app: "commerce/order-service", pod: order }], pools, "in the plan")).toEqual([]);
    expect(strandedApps([{ app: "commerce/order-service", pod: order }], [pools[0], { ...pools[1], count: 0 }], "in the plan")).toEqual([
      "commerce/order-service (nodeSelector node.kubernetes.io/pool=order) has no node to run on in the plan (general: 20 nodes, order: 0 nodes); its pods would stay Pending",
    ]);
  });

  test("a taint the pod does not tolerate repels it; PreferNoSchedule does not; a label it selects must be there", () => {
    expect(canRunOn({ nodeSelector: order.nodeSelector }, pools[1])).toBe(false);
    expect(canRunOn({ nodeSelector: order.nodeSelector }, { ...pools[1], taints: [{ key: "dedicated", value: "order", effect: "PreferNoSchedule" }] })).toBe(
      true,
    );
    expect(canRunOn(order, { ...pools[1], labels: { "node.kubernetes.io/pool": "order2" } })).toBe(false);
    expect(canRunOn({ tolerations: [{ operator: "Exists" }] }, pools[1])).toBe(true);
  });
});

describe("config: a pinned pool at count 0", () => {
  test("prod1's order pool set to 0 under order-service is refused, naming the key", () => {
    expect(problems("prod1", "platform:nodePools[1].count=0")).toEqual([
      "platform:nodePools[1].count: is 0 under platform:apps.order-service.pool: order; order-service (nodeSelector node.kubernetes.io/pool=order) has no node to run on in platform:nodePools (general: 20 nodes, order: 0 nodes); its pods would stay Pending",
    ]);
  });

  test("ordinary changes pass: the order pool at 1, the general pool at 0 (nothing is pinned to it)", () => {
    expect(problems("prod1", "platform:nodePools[1].count=1")).toEqual([]);
    expect(problems("prod1", "platform:nodePools[0].count=0")).toEqual([]);
  });
});

describe("the pack's pinned-capacity over the plan", () => {
  test("prod1 passes; its order pool component carries pool, labels and taints (the count is its 8 instances)", async () => {
    const s = planToPolicyStack(await plan("prod1"));
    expect(runPolicies(s, [pinnedCapacity("mandatory")])).toEqual([]);
    const pool = s.resources.find((r) => r.name === ORDER_POOL)!;
    // Its registered outputs (what CrossGuard's stack policies see): the placement plus its instances.
    expect(Object.keys(pool.props).sort()).toEqual(["instanceIds", "labels", "pool", "privateIps", "taints"]);
    expect((pool.props.instanceIds as string[]).length).toBe(8);
    expect(pool.props).toMatchObject({
      pool: "order",
      labels: { "node.kubernetes.io/pool": "order" },
      taints: [{ key: "dedicated", value: "order", effect: "NoSchedule" }],
    });
  });

  test("a plan whose order pool has no instances is a mandatory violation", async () => {
    const s = structuredClone(planToPolicyStack(await plan("prod1")));
    s.resources = s.resources.filter((r) => !/^prod1-order-\d+$/.test(r.name));
    expect(runPolicies(s, [pinnedCapacity("mandatory")]).map((v) => [v.level, v.message])).toEqual([
      [
        "mandatory",
        "commerce/order-service (nodeSelector node.kubernetes.io/pool=order) has no node to run on in the plan (general: 20 nodes, order: 0 nodes); its pods would stay Pending",
      ],
    ]);
  });
});

describe("the pack's pinned-capacity on --diff-from: the running nodes keep what they joined with", () => {
  const TAIL =
    ". A node takes its labels and taints once, at join: add a new pool with the new labels/taints, move the app there, then set the old pool's count to 0";

  test("relabelling the order pool strands order-service on its 8 running nodes", async () => {
    const v = await changeFindings(['platform:nodePools[1].labels["node.kubernetes.io/pool"]=orders']);
    expect(v.map((x) => [x.level, x.urn.split("::").pop(), x.message])).toEqual([
      [
        "mandatory",
        ORDER_POOL,
        "commerce/order-service (nodeSelector node.kubernetes.io/pool=orders) has no node to run on on the running nodes (pool order keeps the labels and taints its nodes joined with) (order: 8 nodes, order (new nodes): 0 nodes, general: 20 nodes); its pods would stay Pending" +
          TAIL,
      ],
    ]);
  });

  test("untainting the order pool strands order-service: its running nodes keep dedicated=order:NoSchedule", async () => {
    const v = await changeFindings(["platform:nodePools[1].taints=[]"]);
    expect(v.map((x) => x.message)).toEqual([
      "commerce/order-service (nodeSelector node.kubernetes.io/pool=order) has no node to run on on the running nodes (pool order keeps the labels and taints its nodes joined with) (order: 8 nodes, order (new nodes): 0 nodes, general: 20 nodes); its pods would stay Pending" +
        TAIL,
    ]);
  });

  test("ordinary changes pass: scaling the order pool out, a new label on the general pool nobody is pinned to", async () => {
    expect(await changeFindings(["platform:nodePools[1].count=10"])).toEqual([]);
    expect(await changeFindings(['platform:nodePools[0].labels["team"]=core'])).toEqual([]);
  });
});

describe("npm run scale-in asks the same function", () => {
  test("the order pool to 0 with order-service's PDB gone (so the PDB check has nothing to keep) is still refused", async () => {
    const p = await plan("prod1");
    const c = loadEngineConfig("prod1", []);
    const s = parseStackConfig("prod1", { values: c.values, secretKeys: c.secretKeys });
    const req = {
      stack: "prod1",
      region: s.region,
      pool: "order",
      pools: s.nodePools,
      plan: p.resources.filter((r) => r.type !== "kubernetes:policy/v1:PodDisruptionBudget"),
      isProd: true,
    };
    expect(() => planScaleIn({ ...req, newCount: 0 })).toThrow(
      "Pulumi.prod1.yaml: platform:nodePools[name=order].count: refused: commerce/order-service (nodeSelector node.kubernetes.io/pool=order) has no node to run on after the scale-in (general: 20 nodes, order: 0 nodes); its pods would stay Pending",
    );
    expect(planScaleIn({ ...req, newCount: 1 }).leaving).toHaveLength(7);
  });
});
