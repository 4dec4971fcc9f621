// T21 (docs/threat-model.md): prod runs only what pre validated, and "what pre
// validated" is pre's deployed output, read through a StackReference prod -> pre,
// not pre's stack file in the PR's checkout. Offline the mocks answer that
// reference from pre's stack file (the same function pre exports it with); a test
// gives the reference pre's recorded output instead, as the real preview would.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT_DIR } from "../../components/config/stackFiles";
import { deployedTag, preStackRef, rolloutFinished, validatedImages, validatedTagsFor } from "../../components/fleet/validatedImages";
import { finishedRollout } from "../../components/preview/mocks";
import { byName, ofType, plan, previewStack } from "../support/offline";
import { checkout, PRE_REF, recorded, runChild } from "../support/stackRuns";

const STACK_REF = "pulumi:pulumi:StackReference";
const JAVA_APP = "platform:k8s:JavaApp";

/** What pre exports today (Pulumi.pre.yaml's apps: tag, then history), written out by hand. */
const PRE_OUTPUT = {
  "order-service": {
    repository: "harbor.livemall.internal/commerce/order-service",
    tags: ["order-service-v2.3.1", "order-service-v2.3.0", "order-service-v2.2.4", "order-service-v2.2.3"],
  },
  "distribution-center": {
    repository: "harbor.livemall.internal/commerce/distribution-center",
    tags: ["distribution-center-v1.8.0", "distribution-center-v1.7.5"],
  },
  "supply-chain": { repository: "harbor.livemall.internal/scm/supply-chain", tags: ["supply-chain-v3.1.2", "supply-chain-v3.1.1"] },
};

describe("pre exports the images it validated; prod reads them through a StackReference", () => {
  test("pre's plan outputs validatedImages (each app's repository, its tag then history) and reads its own last one", async () => {
    const pre = await plan("pre");
    expect(pre.outputs.validatedImages).toEqual(PRE_OUTPUT);
    // Its own last output, to hold the history against (a read of itself).
    expect(ofType(pre, STACK_REF).map((r) => [r.name, r.inputs.name, r.operation])).toEqual([["previously-validated", PRE_REF, "read"]]);
    // No other stack exports it.
    expect((await plan("prod1")).outputs.validatedImages).toBeUndefined();
  });

  test.each(["prod1", "prod2"])("%s reads pre (one StackReference, a read) and its JavaApps carry pre's lists", async (stack) => {
    const p = await plan(stack);
    const refs = ofType(p, STACK_REF);
    expect(refs.map((r) => [r.name, r.inputs.name, r.operation]).sort()).toEqual([
      ["previously-running", `livemall/platform/${stack}`, "read"],
      ["validated-in-pre", PRE_REF, "read"],
    ]);
    expect(Object.fromEntries(ofType(p, JAVA_APP).map((a) => [a.inputs.app, a.inputs.validatedInPre]))).toEqual({
      "order-service": PRE_OUTPUT["order-service"].tags,
      "distribution-center": PRE_OUTPUT["distribution-center"].tags,
      "supply-chain": PRE_OUTPUT["supply-chain"].tags,
    });
  });

  test("dev and test read nothing from pre, only their own last outputs (their tier)", async () => {
    for (const stack of ["dev", "test"]) {
      expect(ofType(await plan(stack), STACK_REF).map((r) => [r.name, r.inputs.name, r.operation])).toEqual([
        ["previously-deployed", `livemall/platform/${stack}`, "read"],
      ]);
      expect(ofType(await plan(stack), JAVA_APP).map((a) => a.inputs.validatedInPre)).toEqual([undefined, undefined, undefined]);
    }
  });

  test("the reference is the run's own org and project with the fleet's one pre-tier stack, whatever platform:hostStack says", async () => {
    expect(preStackRef("livemall", "platform", PROJECT_DIR)).toBe("livemall/platform/pre");
    expect(preStackRef("acme", "platform", PROJECT_DIR)).toBe("acme/platform/pre");
    // hostStack naming another org does not move the reference: it is the running stack's org.
    const { plan: p } = await previewStack({ stack: "prod1", organization: "livemall", overrides: ["platform:hostStack=evil/platform/host"] });
    expect(
      ofType(p, STACK_REF)
        .map((r) => r.inputs.name)
        .sort(),
    ).toEqual(["livemall/platform/pre", "livemall/platform/prod1"]);
    // A fleet whose pre stack was re-tiered as a second test stack has no pre to read.
    const noPre = fs.mkdtempSync(path.join(os.tmpdir(), "no-pre-"));
    for (const f of fs.readdirSync(PROJECT_DIR)) if (/^Pulumi\..*yaml$/.test(f)) fs.copyFileSync(path.join(PROJECT_DIR, f), path.join(noPre, f));
    const preFile = path.join(noPre, "Pulumi.pre.yaml");
    fs.writeFileSync(preFile, fs.readFileSync(preFile, "utf8").replace("  platform:env: pre\n", "  platform:env: pre\n  platform:tier: test\n"));
    expect(() => preStackRef("livemall", "platform", noPre)).toThrow(
      "platform:tier: prod reads the images pre validated from the fleet's one pre-tier stack; the fleet has none",
    );
  });

  test("validatedImages and validatedTagsFor: another repository of the same app name validates nothing", () => {
    expect(validatedImages({ a: { image: "h.example/p/a", tag: "a-v2", history: ["a-v1"] }, b: { tag: "b-v1" } })).toEqual({
      a: { repository: "h.example/p/a", tags: ["a-v2", "a-v1"] },
    });
    expect(validatedTagsFor(PRE_OUTPUT, "supply-chain", "harbor.livemall.internal/scm/supply-chain")).toEqual(["supply-chain-v3.1.2", "supply-chain-v3.1.1"]);
    expect(validatedTagsFor(PRE_OUTPUT, "supply-chain", "harbor.livemall.internal/sandbox/supply-chain")).toEqual([]);
    expect(validatedTagsFor(PRE_OUTPUT, "payment-gateway", "harbor.livemall.internal/commerce/payment-gateway")).toEqual([]);
  });

  test("deployedTag: the tag a Deployment's containers run of the app's repository; a sidecar, another project or a digest is none", () => {
    const repo = "harbor.livemall.internal/commerce/order-service";
    expect(deployedTag(["harbor.livemall.internal/library/busybox:1.37.0", `${repo}:order-service-v2.3.1`], repo)).toBe("order-service-v2.3.1");
    expect(deployedTag(["harbor.livemall.internal/sandbox/order-service:order-service-v9.0.0"], repo)).toBeUndefined();
    expect(deployedTag([`${repo}:order-service-v2.3.1@sha256:${"a".repeat(64)}`], repo)).toBeUndefined();
    expect(deployedTag([`${repo}-canary:x`, undefined], repo)).toBeUndefined();
  });
});

/** A preview in a child process: stdout's outcome and the error's kind. */
function outcomeOf(stack: string, outputs: Record<string, unknown>, dir = PROJECT_DIR): { outcome: string; kind: string } {
  const { outcome, kind } = runChild(stack, outputs, { dir });
  return { outcome, kind };
}

/** One PR that moves pre's order-service to v2.4.0 (its history grows by the tag pre ran) and prod1's with it. */
const RELEASE_AND_PROMOTE: [string, string, string][] = [
  ["Pulumi.pre.yaml", "      tag: order-service-v2.3.1\n      history:\n", "      tag: order-service-v2.4.0\n      history:\n        - order-service-v2.3.1\n"],
  ["Pulumi.prod1.yaml", "      tag: order-service-v2.3.0\n", "      tag: order-service-v2.4.0\n"],
];

describe("a PR that edits pre's stack file and prod's together no longer forges the list", () => {
  let dir: string;
  beforeAll(() => {
    dir = checkout("forged-pre-", RELEASE_AND_PROMOTE);
  });

  test("offline, the mocks answer from the PR's pre file: the two agree and the plan passes", async () => {
    const { plan: p, violations } = await previewStack({ stack: "prod1", dir });
    expect(byName(p, "prod1-order-service", JAVA_APP).inputs.validatedInPre).toEqual([
      "order-service-v2.4.0",
      "order-service-v2.3.1",
      "order-service-v2.3.0",
      "order-service-v2.2.4",
      "order-service-v2.2.3",
    ]);
    expect(violations.filter((v) => v.policy === "validated-in-pre")).toEqual([]);
  });

  test("answered with pre's deployed output (no v2.4.0), prod1 refuses before registering anything, in one RunError line per tag", () => {
    expect(outcomeOf("prod1", recorded({ validatedImages: PRE_OUTPUT }), dir)).toEqual({
      outcome:
        "failed: prod1 runs only what pre validated (T21):\n" +
        "- platform:apps.order-service.tag order-service-v2.4.0 is not a tag pre validated (livemall/platform/pre's validatedImages for order-service: " +
        "order-service-v2.3.1, order-service-v2.3.0, order-service-v2.2.4, order-service-v2.2.3); release it into pre, deploy pre, then `npm run promote -- pre prod1 order-service`",
      kind: "RunError",
    });
    // Nothing but the stack and the read of pre: `pulumi up --skip-preview` changes nothing.
    expect(runChild("prod1", recorded({ validatedImages: PRE_OUTPUT }), { dir }).registered).toEqual([
      "pulumi:pulumi:Stack::platform-prod1",
      "pulumi:pulumi:StackReference::validated-in-pre",
      "pulumi:pulumi:StackReference::previously-running",
    ]);
  });

  test("a canary of a tag pre never ran is refused the same way", () => {
    const canary = checkout("canary-", [
      ["Pulumi.prod1.yaml", "      tag: order-service-v2.3.0\n", "      tag: order-service-v2.3.0\n      canary: {tag: order-service-v2.9.0, weight: 10}\n"],
    ]);
    expect(outcomeOf("prod1", recorded({ validatedImages: PRE_OUTPUT }), canary)).toEqual({
      outcome:
        "failed: prod1 runs only what pre validated (T21):\n" +
        "- platform:apps.order-service.canary.tag order-service-v2.9.0 is not a tag pre validated (livemall/platform/pre's validatedImages for order-service: " +
        "order-service-v2.3.1, order-service-v2.3.0, order-service-v2.2.4, order-service-v2.2.3); release it into pre, deploy pre, then `npm run promote -- pre prod1 order-service`",
      kind: "RunError",
    });
  });

  test("a tag prod already runs (its own last output) needs no new word from pre; a changed one does", () => {
    // pre has moved on 20 releases: prod1's order-service-v2.3.0 is no longer on its list.
    const movedOn = { ...PRE_OUTPUT, "order-service": { ...PRE_OUTPUT["order-service"], tags: ["order-service-v3.0.0"] } };
    const running = { "order-service": { repository: "harbor.livemall.internal/commerce/order-service", tags: ["order-service-v2.3.0"] } };
    const outputs = { ...recorded({ validatedImages: movedOn }), "livemall/platform/prod1": { outputs: { runningImages: running }, secretOutputNames: [] } };
    expect(outcomeOf("prod1", outputs)).toEqual({ outcome: "succeeded", kind: "" });
    // Without prod's own output every tag must be on pre's list.
    expect(outcomeOf("prod1", recorded({ validatedImages: movedOn })).outcome).toBe(
      "failed: prod1 runs only what pre validated (T21):\n" +
        "- platform:apps.order-service.tag order-service-v2.3.0 is not a tag pre validated (livemall/platform/pre's validatedImages for order-service: order-service-v3.0.0); release it into pre, deploy pre, then `npm run promote -- pre prod1 order-service`",
    );
  });

  test("pre running another repository of the same name validates none of prod's tags", () => {
    const rehomed = { ...PRE_OUTPUT, "order-service": { ...PRE_OUTPUT["order-service"], repository: "harbor.livemall.internal/sandbox/order-service" } };
    expect(outcomeOf("prod1", recorded({ validatedImages: rehomed })).outcome).toBe(
      "failed: prod1 runs only what pre validated (T21):\n" +
        "- platform:apps.order-service.tag order-service-v2.3.0 is not a tag pre validated (livemall/platform/pre's validatedImages for order-service: none); release it into pre, deploy pre, then `npm run promote -- pre prod1 order-service`",
    );
  });
});

describe("pre's list grows only by tags pre deployed", () => {
  const exported = async (dir: string, outputs: Record<string, unknown>) =>
    ((await previewStack({ stack: "pre", dir, stackOutputs: recorded(outputs) })).plan.outputs.validatedImages as typeof PRE_OUTPUT)["order-service"].tags;

  test("a release: the new tag first, then what pre's last deploy listed", async () => {
    const dir = checkout("release-pre-", [RELEASE_AND_PROMOTE[0]]);
    expect(await exported(dir, { validatedImages: PRE_OUTPUT, vpcId: "vpc-1" })).toEqual([
      "order-service-v2.4.0",
      "order-service-v2.3.1",
      "order-service-v2.3.0",
      "order-service-v2.2.4",
      "order-service-v2.2.3",
    ]);
  });

  test("a tag typed into history that pre never deployed is not listed: the file's history adds nothing once pre was deployed", async () => {
    const dir = checkout("forged-history-", [["Pulumi.pre.yaml", "      history:\n", "      history:\n        - order-service-v9.9.9\n"]]);
    expect(await exported(dir, { validatedImages: PRE_OUTPUT, vpcId: "vpc-1" })).toEqual(PRE_OUTPUT["order-service"].tags);
    // Without the output (never deployed, or deployed by an older program: the switch-over), the stack file's
    // history is the seed, so the tags prod runs stay on the list.
    expect(await exported(dir, { vpcId: "vpc-1" })).toEqual([
      "order-service-v2.3.1",
      "order-service-v9.9.9",
      "order-service-v2.3.0",
      "order-service-v2.2.4",
      "order-service-v2.2.3",
    ]);
  });

  test("the list keeps the last 20 tags, so prod's tag and its rollback targets stay on it as pre moves on", async () => {
    const many = Array.from({ length: 25 }, (_, i) => `order-service-v1.${24 - i}.0`);
    const dir = checkout("many-", [RELEASE_AND_PROMOTE[0]]);
    const tags = await exported(dir, { validatedImages: { ...PRE_OUTPUT, "order-service": { ...PRE_OUTPUT["order-service"], tags: many } }, vpcId: "vpc-1" });
    expect(tags).toHaveLength(20);
    expect(tags.slice(0, 3)).toEqual(["order-service-v2.4.0", "order-service-v1.24.0", "order-service-v1.23.0"]);
    expect(tags[19]).toBe("order-service-v1.6.0");
  });
});

describe("pre's output missing (pre never deployed): prod refuses in one line", () => {
  test("the run fails naming the reference and what to do, as a RunError (the CLI prints no stack trace for one)", () => {
    expect(outcomeOf("prod1", recorded({ apiServer: "https://pre.example:6443" }))).toEqual({
      outcome:
        "failed: prod1 runs only images pre validated, read from livemall/platform/pre's output validatedImages, which that stack does not have: " +
        "run `pulumi up` on livemall/platform/pre from main first, then preview prod1 again",
      kind: "RunError",
    });
  });
});

describe("pre lists what its Deployments run after the update, not its stack file's tag", () => {
  const DEPLOYMENT = "pre-order-service-deployment-order-service";

  test("a `pulumi up --target` that skipped order-service's Deployment (its output still runs v2.3.1) lists no v2.4.0", async () => {
    const dir = checkout("targeted-", [RELEASE_AND_PROMOTE[0]]);
    // The provider's answer for the Deployment: what the cluster runs, the tag before the release.
    const skipped = (args: { inputs: Record<string, unknown> }) => {
      const state = JSON.parse(JSON.stringify(finishedRollout(args.inputs))) as { spec: { template: { spec: { containers: { image: string }[] } } } };
      for (const c of state.spec.template.spec.containers) c.image = c.image.replace(":order-service-v2.4.0", ":order-service-v2.3.1");
      return { id: "commerce/order-service", state };
    };
    const { plan: p } = await previewStack({
      stack: "pre",
      dir,
      stackOutputs: recorded({ validatedImages: PRE_OUTPUT }),
      resources: { [DEPLOYMENT]: skipped },
    });
    // The stack file (and so the Deployment's input) says v2.4.0 ...
    expect(
      (byName(p, DEPLOYMENT).inputs.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers.map((c) => c.image)[0],
    ).toBe("harbor.livemall.internal/commerce/order-service:order-service-v2.4.0");
    // ... the list has the tag the Deployment's output runs.
    expect((p.outputs.validatedImages as typeof PRE_OUTPUT)["order-service"]).toEqual({
      repository: "harbor.livemall.internal/commerce/order-service",
      tags: ["order-service-v2.3.1", "order-service-v2.3.0", "order-service-v2.2.4", "order-service-v2.2.3"],
    });
    // Updated, it lists v2.4.0 first.
    const updated = await previewStack({ stack: "pre", dir, stackOutputs: recorded({ validatedImages: PRE_OUTPUT }) });
    expect((updated.plan.outputs.validatedImages as typeof PRE_OUTPUT)["order-service"].tags[0]).toBe("order-service-v2.4.0");
  });

  test("the canary pre runs (order-service-v2.4.0-rc.1, its own Deployment) is not listed: not validated yet", async () => {
    const pre = await plan("pre");
    expect(
      (byName(pre, "pre-order-service-deployment-order-service-canary").inputs.spec as { template: { spec: { containers: { image: string }[] } } }).template
        .spec.containers[0].image,
    ).toBe("harbor.livemall.internal/commerce/order-service:order-service-v2.4.0-rc.1");
    expect((pre.outputs.validatedImages as typeof PRE_OUTPUT)["order-service"].tags).not.toContain("order-service-v2.4.0-rc.1");
  });
});

describe("a Deployment whose outputs show an unfinished rollout lists nothing new", () => {
  // A rollout that failed: the provider returns the live object with the error (the engine keeps it), and a later
  // `pulumi up --target <anything else>` hands the program those stored outputs back: they run the new tag.
  const DEPLOYMENT = "pre-order-service-deployment-order-service";
  const stuck = (status: Record<string, unknown>) => (args: { inputs: Record<string, unknown> }) => {
    const state = finishedRollout(args.inputs);
    return { id: "commerce/order-service", state: { ...state, status: { ...(state.status as Record<string, unknown>), ...status } } };
  };

  test("its output runs order-service-v2.4.0 with 0 of 3 replicas updated: v2.4.0 is not listed; finished, it is", async () => {
    const dir = checkout("unfinished-", [RELEASE_AND_PROMOTE[0]]);
    const listed = async (resources?: Record<string, ReturnType<typeof stuck>>) =>
      (await previewStack({ stack: "pre", dir, stackOutputs: recorded({ validatedImages: PRE_OUTPUT }), resources })).plan.outputs
        .validatedImages as typeof PRE_OUTPUT;
    const unfinished = await listed({
      [DEPLOYMENT]: stuck({
        updatedReplicas: 0,
        availableReplicas: 3,
        conditions: [
          { type: "Available", status: "True", reason: "MinimumReplicasAvailable" },
          { type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" },
        ],
      }),
    });
    expect(unfinished["order-service"]).toEqual({
      repository: "harbor.livemall.internal/commerce/order-service",
      tags: ["order-service-v2.3.1", "order-service-v2.3.0", "order-service-v2.2.4", "order-service-v2.2.3"],
    });
    expect((await listed())["order-service"].tags).toEqual([
      "order-service-v2.4.0",
      "order-service-v2.3.1",
      "order-service-v2.3.0",
      "order-service-v2.2.4",
      "order-service-v2.2.3",
    ]);
  });

  // pulumi-kubernetes v4.32.0 provider/pkg/await/deployment.go (a03ff6b): what its Deployment await waits for.
  const finished = {
    metadata: { generation: 4, annotations: { "deployment.kubernetes.io/revision": "3" } },
    spec: { replicas: 3 },
    status: {
      observedGeneration: 4,
      replicas: 3,
      updatedReplicas: 3,
      availableReplicas: 3,
      conditions: [
        { type: "Available", status: "True", reason: "MinimumReplicasAvailable" },
        { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" },
      ],
    },
  };
  test.each([
    ["the controller has not seen generation 4", { status: { ...finished.status, observedGeneration: 3 } }],
    ["1 of 3 replicas updated", { status: { ...finished.status, updatedReplicas: 1 } }],
    ["2 of 3 updated replicas available", { status: { ...finished.status, availableReplicas: 2 } }],
    ["an old pod still runs (4 replicas)", { status: { ...finished.status, replicas: 4 } }],
    ["Available False", { status: { ...finished.status, conditions: [{ type: "Available", status: "False" }, finished.status.conditions[1]] } }],
    [
      "Progressing for ReplicaSetUpdated",
      { status: { ...finished.status, conditions: [finished.status.conditions[0], { type: "Progressing", status: "True", reason: "ReplicaSetUpdated" }] } },
    ],
    ["no status at all", { status: undefined }],
  ])("rolloutFinished: %s is unfinished", (_what, change) => {
    expect(rolloutFinished({ ...finished, ...change })).toBe(false);
  });

  test("rolloutFinished: every replica updated and available, Progressing for NewReplicaSetAvailable; a first revision needs no Progressing", () => {
    expect(rolloutFinished(finished)).toBe(true);
    expect(rolloutFinished({ ...finished, spec: {}, status: { ...finished.status, replicas: 1, updatedReplicas: 1, availableReplicas: 1 } })).toBe(true);
    const first = { metadata: { generation: 1, annotations: { "deployment.kubernetes.io/revision": "1" } }, spec: { replicas: 3 } };
    expect(rolloutFinished({ ...first, status: { ...finished.status, observedGeneration: 1, conditions: [finished.status.conditions[0]] } })).toBe(true);
    expect(rolloutFinished({ ...finished, status: { ...finished.status, conditions: [finished.status.conditions[0]] } })).toBe(false);
  });
});

describe("a rollout that fails lists nothing new", () => {
  const dir = () => checkout("failed-rollout-", [RELEASE_AND_PROMOTE[0]]);

  test.each([
    ["order-service's Deployment", "pre-order-service-deployment-order-service"],
    ["its canary Deployment", "pre-order-service-deployment-order-service-canary"],
  ])("%s fails: the update fails and the stack's outputs are never registered, so the last validatedImages stays pre's list", (_what, deployment) => {
    const r = runChild("pre", recorded({ validatedImages: PRE_OUTPUT }), {
      dir: dir(),
      failing: { [deployment]: "0 of 3 updated replicas are available after 30m" },
    });
    expect([r.outcome, r.kind, r.outputs]).toEqual([
      `failed: failed to register new resource ${deployment} [kubernetes:apps/v1:Deployment]: 0 of 3 updated replicas are available after 30m`,
      "Error",
      {},
    ]);
  });
});

describe("a push that releases a tag into pre and promotes it to prod: prod waits for a later run", () => {
  test("pre records per tag the CI run that first listed it, carrying earlier runs forward; a local run records none", () => {
    const dir = checkout("run-id-", [RELEASE_AND_PROMOTE[0]]);
    const before = { ...PRE_OUTPUT, "order-service": { ...PRE_OUTPUT["order-service"], firstListedIn: { "order-service-v2.3.1": "7000" } } };
    expect(runChild("pre", recorded({ validatedImages: before }), { dir, env: { GITHUB_RUN_ID: "7001" } }).outputs.validatedImages).toMatchObject({
      "order-service": {
        tags: ["order-service-v2.4.0", "order-service-v2.3.1", "order-service-v2.3.0", "order-service-v2.2.4", "order-service-v2.2.3"],
        firstListedIn: { "order-service-v2.4.0": "7001", "order-service-v2.3.1": "7000" },
      },
      "supply-chain": { tags: ["supply-chain-v3.1.2", "supply-chain-v3.1.1"] },
    });
    expect((runChild("pre", recorded({ validatedImages: before }), { dir }).outputs.validatedImages as typeof before)["order-service"].firstListedIn).toEqual({
      "order-service-v2.3.1": "7000",
    });
  });

  test("prod refuses a tag pre first listed in its own run (GITHUB_RUN_ID); a later run, or a local one, passes", () => {
    const dir = checkout("same-run-", RELEASE_AND_PROMOTE);
    const fresh = {
      ...PRE_OUTPUT,
      "order-service": {
        ...PRE_OUTPUT["order-service"],
        tags: ["order-service-v2.4.0", ...PRE_OUTPUT["order-service"].tags],
        firstListedIn: { "order-service-v2.4.0": "7001" },
      },
    };
    expect(runChild("prod1", recorded({ validatedImages: fresh }), { dir, env: { GITHUB_RUN_ID: "7001" } })).toMatchObject({
      outcome:
        "failed: prod1 runs only what pre validated (T21):\n" +
        "- platform:apps.order-service.tag order-service-v2.4.0 was first listed by pre in this CI run (GITHUB_RUN_ID 7001: livemall/platform/pre's validatedImages for order-service); " +
        "promote it in a later run, after pre has run it",
      kind: "RunError",
      registered: ["pulumi:pulumi:Stack::platform-prod1", "pulumi:pulumi:StackReference::validated-in-pre", "pulumi:pulumi:StackReference::previously-running"],
    });
    expect(runChild("prod1", recorded({ validatedImages: fresh }), { dir, env: { GITHUB_RUN_ID: "7002" } }).outcome).toBe("succeeded");
    expect(runChild("prod1", recorded({ validatedImages: fresh }), { dir }).outcome).toBe("succeeded");
  });
});
