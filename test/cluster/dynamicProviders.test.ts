// The two dynamic providers (the api-server readiness gates and the Cloud Assistant agent gate) run
// inside the engine's dynamic-provider host, from the text the SDK serializes at `pulumi up`. The
// offline preview does not serialize them (components/preview/leanSdk.ts: the plan shows a
// placeholder), so this is where a provider that stops serializing, captures a secret, or needs
// something its serialized closure did not take along fails: serialized with the SDK's own
// function, the way @pulumi/pulumi 3.276.0's dynamic/index.js does (`() => provider`,
// allowSecrets), and loaded the way its dynamic-provider host does (cmd/dynamic-provider/index.js:
// require-from-string, then `.handler()`).
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { readinessProvider } from "../../components/cluster/readiness";
import { agentReadyProvider } from "../../components/cluster/cloudAssistant";
import { NOT_SERIALIZED_OFFLINE } from "../../components/preview/leanSdk";
import { plan, previewStack } from "../support/offline";

// The host's own loader, resolved from the SDK (it is the SDK's dependency, not ours).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireFromString = require(require.resolve("require-from-string", { paths: [path.dirname(require.resolve("@pulumi/pulumi/package.json"))] })) as (
  code: string,
) => { handler(): pulumi.dynamic.ResourceProvider };

async function asTheHostLoadsIt(provider: pulumi.dynamic.ResourceProvider) {
  const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  return { text: sf.text, containsSecrets: sf.containsSecrets, loaded: requireFromString(sf.text).handler() };
}

describe("dynamic providers as the engine runs them", () => {
  jest.setTimeout(60_000);

  it("the readiness gate serializes without secrets and its diff runs from the serialized text", async () => {
    const { text, containsSecrets, loaded } = await asTheHostLoadsIt(readinessProvider);
    expect(containsSecrets).toBe(false);
    expect(text).not.toContain(NOT_SERIALIZED_OFFLINE);
    expect([typeof loaded.create, typeof loaded.update, typeof loaded.diff]).toEqual(["function", "function", "function"]);
    const olds = { server: "https://10.40.0.40:6443", caPem: "CA", masters: ["prod1-master-0"], clusterName: "prod1", workerPools: { general: 4 } };
    // A new endpoint is another cluster (replace); a new pool size re-runs the check (update).
    expect(await loaded.diff!("id", olds, { ...olds, server: "https://10.40.0.41:6443" })).toEqual({
      changes: true,
      replaces: ["server"],
      deleteBeforeReplace: false,
    });
    expect(await loaded.diff!("id", olds, { ...olds, workerPools: { general: 5 } })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    // create reaches the api-server through helpers the closure must have taken along (checkCluster,
    // its TLS client): with a key that is no PEM it stops in Node's TLS layer, not at a ReferenceError.
    const failed = await loaded.create!({
      ...olds,
      server: "https://127.0.0.1:1",
      clientCertPem: "x",
      clientKeyPem: "y",
      timeoutSeconds: 0,
      workerWaitSeconds: 0,
    }).then(
      () => "created",
      (e: Error) => e.message,
    );
    expect(failed).not.toMatch(/is not defined|Cannot find module/);
    expect(failed).toMatch(/PEM routines/);
  });

  it("the Cloud Assistant gate serializes without secrets and its diff runs from the serialized text", async () => {
    const { containsSecrets, loaded } = await asTheHostLoadsIt(agentReadyProvider);
    expect(containsSecrets).toBe(false);
    const olds = { endpoint: "https://ecs.cn-shanghai.aliyuncs.com", regionId: "cn-shanghai", instanceId: "i-1", timeoutSeconds: 900 };
    expect(await loaded.diff!("i-1", olds, { ...olds, instanceId: "i-2" })).toEqual({ changes: true, replaces: ["instanceId"], deleteBeforeReplace: false });
    expect(await loaded.diff!("i-1", olds, { ...olds })).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    // Without credentials in the environment create names the variables (credentialsFromEnv came along).
    const saved = { ...process.env };
    for (const k of ["ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY"]) delete process.env[k];
    try {
      const failed = await loaded.create!(olds).then(
        () => "created",
        (e: Error) => e.message,
      );
      expect(failed).toMatch(/^Cloud Assistant readiness: no Alibaba credentials in the environment/);
    } finally {
      process.env = saved;
    }
  });

  it("the offline plan carries the placeholder, never a serialized provider", async () => {
    const p = await plan("dev");
    const dynamic = p.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic"));
    // dev: the cluster gate, the nodes-joined gate and one agent gate per HAProxy VM.
    expect(dynamic.map((r) => r.type).sort()).toEqual([
      "pulumi-nodejs:dynamic/cluster:ApiServerReadiness",
      "pulumi-nodejs:dynamic/cluster:ApiServerReadiness",
      "pulumi-nodejs:dynamic/cluster:CloudAssistantReady",
      "pulumi-nodejs:dynamic/cluster:CloudAssistantReady",
    ]);
    for (const r of dynamic) expect(p.rawInputs[r.urn].__provider).toBe(NOT_SERIALIZED_OFFLINE);
  });

  it("the offline run undoes its swap: a later run with PREVIEW_STACK_TRACES=1 in the same process serializes for real", async () => {
    const dynamicInputs = (p: Awaited<ReturnType<typeof previewStack>>["plan"]) =>
      p.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic")).map((r) => p.rawInputs[r.urn].__provider as string);
    expect(new Set(dynamicInputs((await previewStack({ stack: "dev" })).plan))).toEqual(new Set([NOT_SERIALIZED_OFFLINE]));
    process.env.PREVIEW_STACK_TRACES = "1";
    try {
      const texts = dynamicInputs((await previewStack({ stack: "dev" })).plan);
      expect(texts).toHaveLength(4);
      for (const t of texts) expect(t).toMatch(/^exports\.handler = /m);
    } finally {
      delete process.env.PREVIEW_STACK_TRACES;
    }
  });
});
