// T21 (docs/threat-model.md): which stack is pre and which are prod comes from `platform:tier` in the stack
// files, so a stack keeps the tier it was deployed with: every stack exports `tier` and reads it back at its next
// run through its one StackReference to itself; prod reads pre's too. The program compares the tier its stack file
// says with the one its last output recorded: these runs answer a stack's own read with a recorded tier other than
// its file's, which is what a PR re-tiering prod1 as test, or swapping pre's tier with test's, looks like to it.
// (CI's half, the deploy workflow refusing a push that changes a tier: test/ci/workflows.test.ts.)
import { unvalidatedTags, validatedImages } from "../../components/fleet/validatedImages";
import { ofType, plan } from "../support/offline";
import { checkout, PRE_REF, recorded, runChild } from "../support/stackRuns";

const STACK_REF = "pulumi:pulumi:StackReference";
const ORDER_SERVICE = "harbor.livemall.internal/commerce/order-service";

describe("every stack exports its tier and reads its own last outputs through one StackReference", () => {
  test.each([
    ["host", "previously-deployed", "host"],
    ["dev", "previously-deployed", "dev"],
    ["test", "previously-deployed", "test"],
    ["pre", "previously-validated", "pre"],
    ["prod1", "previously-running", "prod"],
    ["prod2", "previously-running", "prod"],
  ])("%s: its read of itself is %s (existing names kept), its output tier %s", async (stack, read, tier) => {
    const p = await plan(stack);
    // The host's org offline is the SDK mocks' default ("organization"): it names no platform:hostStack.
    expect(
      ofType(p, STACK_REF)
        .filter((r) => String(r.inputs.name).endsWith(`/platform/${stack}`))
        .map((r) => [r.name, r.operation]),
    ).toEqual([[read, "read"]]);
    expect(p.outputs.tier).toBe(tier);
  });
});

describe("a stack refuses a tier other than the one it was last deployed with", () => {
  test("prod1's stack file re-tiered as test: the stack last deployed as prod refuses, before registering anything but its read", () => {
    // What the test stack's run sees when its stack was prod1's: its own last output says prod.
    expect(runChild("test", recorded({ tier: "prod" }, "livemall/platform/test"))).toEqual({
      outcome:
        "failed: platform:tier: test was last deployed as prod and its stack file now says test; a stack keeps the tier it was deployed with (T21): " +
        'set it back to prod, or re-tier by destroying the stack and creating it again (docs/runbooks/add-a-cluster.md, "Re-tiering a stack")',
      kind: "RunError",
      registered: ["pulumi:pulumi:Stack::platform-test", "pulumi:pulumi:StackReference::previously-deployed"],
      outputs: {},
    });
  });

  test("pre's tier swapped with test's: each side refuses, also when its last output predates the tier output", () => {
    expect(runChild("pre", recorded({ tier: "test" })).outcome).toBe(
      "failed: platform:tier: pre was last deployed as test and its stack file now says pre; a stack keeps the tier it was deployed with (T21): " +
        'set it back to test, or re-tier by destroying the stack and creating it again (docs/runbooks/add-a-cluster.md, "Re-tiering a stack")',
    );
    // A stack deployed before the tier output: one that exported validatedImages was pre.
    const r = runChild(
      "test",
      recorded({ validatedImages: { "order-service": { repository: ORDER_SERVICE, tags: ["order-service-v2.3.1"] } } }, "livemall/platform/test"),
    );
    expect([r.outcome, r.kind]).toEqual([
      "failed: platform:tier: test was last deployed as pre and its stack file now says test; a stack keeps the tier it was deployed with (T21): " +
        'set it back to pre, or re-tier by destroying the stack and creating it again (docs/runbooks/add-a-cluster.md, "Re-tiering a stack")',
      "RunError",
    ]);
  });

  test("a prod stack deployed before the tier output (it exported runningImages) was prod", () => {
    const running = { "order-service": { repository: ORDER_SERVICE, tags: ["order-service-v2.3.0"] } };
    expect(runChild("dev", recorded({ runningImages: running }, "livemall/platform/dev")).outcome).toBe(
      "failed: platform:tier: dev was last deployed as prod and its stack file now says dev; a stack keeps the tier it was deployed with (T21): " +
        'set it back to prod, or re-tier by destroying the stack and creating it again (docs/runbooks/add-a-cluster.md, "Re-tiering a stack")',
    );
  });

  test("the same tier, or a stack never deployed (no outputs), or one whose outputs do not say, is not refused", () => {
    expect(runChild("test", recorded({ tier: "test", vpcId: "vpc-1" }, "livemall/platform/test"))).toMatchObject({
      outcome: "succeeded",
      outputs: { tier: "test" },
    });
    expect(runChild("dev", recorded({}, "livemall/platform/dev")).outcome).toBe("succeeded");
    expect(runChild("dev", recorded({ vpcId: "vpc-1" }, "livemall/platform/dev")).outcome).toBe("succeeded");
  });
});

describe("prod reads pre only from a stack last deployed as pre", () => {
  const PRE_LIST = {
    "order-service": { repository: ORDER_SERVICE, tags: ["order-service-v2.3.1", "order-service-v2.3.0"] },
    "distribution-center": { repository: "harbor.livemall.internal/commerce/distribution-center", tags: ["distribution-center-v1.7.5"] },
    "supply-chain": { repository: "harbor.livemall.internal/scm/supply-chain", tags: ["supply-chain-v3.1.1"] },
  };

  test("the stack the files now name pre exported tier test (a swap): prod1 refuses, before registering anything but the read of it", () => {
    expect(runChild("prod1", recorded({ validatedImages: PRE_LIST, tier: "test" }))).toEqual({
      outcome:
        "failed: platform:tier: prod1 reads the images pre validated from livemall/platform/pre, whose output tier is test, not pre: " +
        "that stack was deployed as test, so its tags are not what pre validated (a swapped tier, T21); restore the stack files' tiers",
      kind: "RunError",
      registered: ["pulumi:pulumi:Stack::platform-prod1", "pulumi:pulumi:StackReference::validated-in-pre", "pulumi:pulumi:StackReference::previously-running"],
      outputs: {},
    });
  });

  test("pre's tier output pre, or none (a pre deployed before it: only pre exports validatedImages), is read", () => {
    expect(runChild("prod1", recorded({ validatedImages: PRE_LIST, tier: "pre" })).outcome).toBe("succeeded");
    expect(runChild("prod2", recorded({ validatedImages: PRE_LIST })).outcome).toBe("succeeded");
    expect(PRE_REF).toBe("livemall/platform/pre");
  });
});

describe("which stack is pre is pinned: prod refuses another pre than the one it last read", () => {
  const PROD1_REF = "livemall/platform/prod1";
  const EVIL = "order-service-v6.6.6";
  // What the new pre, deployed fresh, exports: seeded from the history its new stack file wrote (the reviewer's walk-around).
  const PRE2_LIST = {
    "order-service": { repository: ORDER_SERVICE, tags: ["order-service-v2.3.1", EVIL], firstListedIn: { "order-service-v2.3.1": "6990", [EVIL]: "6990" } },
    "distribution-center": { repository: "harbor.livemall.internal/commerce/distribution-center", tags: ["distribution-center-v1.7.5"] },
    "supply-chain": { repository: "harbor.livemall.internal/scm/supply-chain", tags: ["supply-chain-v3.1.1"] },
  };
  const PRE_LIST = {
    "order-service": { repository: ORDER_SERVICE, tags: ["order-service-v2.3.1", "order-service-v2.3.0"] },
    "distribution-center": { repository: "harbor.livemall.internal/commerce/distribution-center", tags: ["distribution-center-v1.7.5"] },
    "supply-chain": { repository: "harbor.livemall.internal/scm/supply-chain", tags: ["supply-chain-v3.1.1"] },
  };
  const RUNNING = { "order-service": { repository: ORDER_SERVICE, tags: ["order-service-v2.3.0"] } };

  // The walk-around, seen from prod1: the stack it last read as pre was livemall/platform/pre0; a PR deleted
  // Pulumi.pre0.yaml and added Pulumi.pre.yaml (tier pre, a forged history), the operator created and deployed that
  // stack (tier output pre, its list seeded from the history), and prod1's file now runs the forged tag. (The
  // program reads the tiers from the project's own stack files, so the files' pre is pre; prod1's own output
  // names pre0.)
  test("the fleet's pre is another stack than the one prod1 last read (its output validatedIn): refused before registering anything but its reads", () => {
    const r = runChild(
      "prod1",
      {
        ...recorded({ validatedImages: PRE2_LIST, tier: "pre" }),
        ...recorded({ tier: "prod", runningImages: RUNNING, validatedIn: "livemall/platform/pre0" }, PROD1_REF),
      },
      { dir: checkout("repinned-", [["Pulumi.prod1.yaml", "      tag: order-service-v2.3.0\n", `      tag: ${EVIL}\n`]]), env: { GITHUB_RUN_ID: "7002" } },
    );
    expect(r).toEqual({
      outcome:
        "failed: platform:tier: prod1 reads the images pre validated from livemall/platform/pre, but its last deploy read them from livemall/platform/pre0 (its output validatedIn); " +
        "which stack is pre is pinned (T21): give Pulumi.pre0.yaml back platform:tier: pre, and rebuild pre under that name rather than another " +
        '(docs/runbooks/add-a-cluster.md, "Re-tiering a stack")',
      kind: "RunError",
      registered: ["pulumi:pulumi:Stack::platform-prod1", "pulumi:pulumi:StackReference::validated-in-pre", "pulumi:pulumi:StackReference::previously-running"],
      outputs: {},
    });
  });

  test("prod exports the pre it read; the same pre, a prod never deployed, or one deployed before that output is not refused", () => {
    const own = (outputs: Record<string, unknown>) => ({ ...recorded({ validatedImages: PRE_LIST, tier: "pre" }), ...recorded(outputs, PROD1_REF) });
    for (const outputs of [{ tier: "prod", runningImages: RUNNING, validatedIn: PRE_REF }, {}, { tier: "prod", runningImages: RUNNING }]) {
      expect(runChild("prod1", own(outputs))).toMatchObject({ outcome: "succeeded", outputs: { validatedIn: "livemall/platform/pre", tier: "prod" } });
    }
  });

  test("a fresh pre (no outputs: new, or destroyed and up again) stamps its seeded tags and its current tag with the run, so prod refuses them in that run", () => {
    const listed = runChild("pre", recorded({}), { env: { GITHUB_RUN_ID: "7001" } }).outputs.validatedImages as Record<
      string,
      { firstListedIn?: Record<string, string> }
    >;
    expect(listed["order-service"].firstListedIn).toEqual({
      "order-service-v2.3.1": "7001",
      "order-service-v2.3.0": "7001",
      "order-service-v2.2.4": "7001",
      "order-service-v2.2.3": "7001",
    });
    expect(listed["supply-chain"].firstListedIn).toEqual({ "supply-chain-v3.1.2": "7001", "supply-chain-v3.1.1": "7001" });
  });

  test("the reviewer's case: a seed of v9.9.9 with history [evil] in run 7001; prod taking evil and a canary of v9.9.9 in run 7001 is refused twice", () => {
    const repo = "harbor.livemall.internal/commerce/order-service";
    const list = validatedImages({ "order-service": { image: repo, tag: "v9.9.9", history: ["evil"] } }, undefined, { "order-service": "v9.9.9" }, "7001");
    expect(list).toEqual({ "order-service": { repository: repo, tags: ["v9.9.9", "evil"], firstListedIn: { "v9.9.9": "7001", evil: "7001" } } });
    const prod = { "order-service": { image: repo, tag: "evil", canary: { tag: "v9.9.9" } } };
    expect(unvalidatedTags(prod, list, PRE_REF, "prod1", {}, "7001")).toEqual([
      "platform:apps.order-service.tag evil was first listed by pre in this CI run (GITHUB_RUN_ID 7001: livemall/platform/pre's validatedImages for order-service); promote it in a later run, after pre has run it",
      "platform:apps.order-service.canary.tag v9.9.9 was first listed by pre in this CI run (GITHUB_RUN_ID 7001: livemall/platform/pre's validatedImages for order-service); promote it in a later run, after pre has run it",
    ]);
    // A local run (no GITHUB_RUN_ID) records none, as before.
    expect(validatedImages({ "order-service": { image: repo, tag: "v9.9.9", history: ["evil"] } }, undefined, { "order-service": "v9.9.9" })).toEqual({
      "order-service": { repository: repo, tags: ["v9.9.9", "evil"] },
    });
  });
});
