// The HAProxy config rollout waits for each VM's Cloud Assistant agent (issue 28): the wait
// itself against a stub ECS API that signs nothing of ours (it checks with Alibaba's SDK) and
// aborts commands sent before the agent is online, and the plan's ordering.
import { signedRpcQuery, waitForAgent, credentialsFromEnv } from "../../components/cluster/cloudAssistant";
import { ConfigError, parseStackConfig } from "../../components/config/stackConfig";
import { loadEngineConfig } from "../../components/config/stackFiles";
import { ofType, plan } from "../support/offline";
import { CloudAssistantStub, startCloudAssistantStub } from "../support/alibaba/cloudAssistantStub";

const KEY = { accessKeyId: "LTAIstubkey0001", accessKeySecret: "stub-secret-0001" };
const STS = { accessKeyId: "STS.stubkey0002", accessKeySecret: "stub-secret-0002", securityToken: "stub-token-0002" };

let stub: CloudAssistantStub;
beforeEach(async () => {
  stub = await startCloudAssistantStub({
    keys: {
      [KEY.accessKeyId]: { accessKeySecret: KEY.accessKeySecret },
      [STS.accessKeyId]: { accessKeySecret: STS.accessKeySecret, securityToken: STS.securityToken },
    },
    region: "cn-shanghai",
    agentOnlineAt: { "i-online": 0 },
  });
});
afterEach(() => stub.close());

/** InvokeCommand as the provider sends it, signed with our RPC signer. */
async function invoke(instanceId: string): Promise<number> {
  const q = signedRpcQuery({ Action: "InvokeCommand", RegionId: "cn-shanghai", CommandId: "c-stub", "InstanceId.1": instanceId }, "2014-05-26", KEY);
  return (await fetch(`${stub.url}/?${q}`)).status;
}

const wait = (instanceId: string, extra: Partial<Parameters<typeof waitForAgent>[0]> = {}) =>
  waitForAgent({ endpoint: stub.url, regionId: "cn-shanghai", instanceId, credentials: KEY, timeoutMs: 5_000, intervalMs: 100, ...extra });

describe("the stub behaves like Cloud Assistant on a new VM", () => {
  test("a command sent before the agent is online is aborted; after it is online it succeeds", async () => {
    expect(await invoke("i-new")).toBe(200);
    stub.bringOnline("i-new");
    expect(await invoke("i-new")).toBe(200);
    expect(stub.invocations.map((i) => i.status)).toEqual(["Aborted", "Success"]);
  });

  test("a request signed with the wrong secret is refused (the SDK's signature differs)", async () => {
    await expect(wait("i-online", { credentials: { ...KEY, accessKeySecret: "wrong" } })).rejects.toThrow(
      "Cloud Assistant on i-online: DescribeCloudAssistantStatus refused: HTTP 400 SignatureDoesNotMatch",
    );
    expect(stub.requests.map((r) => r.refused)).toEqual(["SignatureDoesNotMatch"]);
  });

  test("STS credentials without their SecurityToken are refused; with it they pass", async () => {
    await expect(wait("i-online", { credentials: { accessKeyId: STS.accessKeyId, accessKeySecret: STS.accessKeySecret } })).rejects.toThrow(
      "InvalidSecurityToken.Missing",
    );
    await expect(wait("i-online", { credentials: STS })).resolves.toMatchObject({ attempts: 1 });
  });

  test("a replayed nonce is refused", async () => {
    const q = signedRpcQuery({ Action: "DescribeCloudAssistantStatus", RegionId: "cn-shanghai", "InstanceId.1": "i-online" }, "2014-05-26", KEY);
    expect((await fetch(`${stub.url}/?${q}`)).status).toBe(200);
    expect((await fetch(`${stub.url}/?${q}`)).status).toBe(400);
    expect(stub.requests.map((r) => r.refused)).toEqual([undefined, "SignatureNonceUsed"]);
  });
});

describe("waitForAgent", () => {
  test("returns once the agent is online, and only then", async () => {
    setTimeout(() => stub.bringOnline("i-new"), 600);
    const r = await wait("i-new");
    expect(r.attempts).toBeGreaterThanOrEqual(3);
    // Every check was accepted by the SDK's signature; the last one said true.
    expect(stub.requests.every((q) => q.status === 200)).toBe(true);
    expect(await invoke("i-new")).toBe(200);
    expect(stub.invocations.map((i) => i.status)).toEqual(["Success"]);
  });

  test("throttling (HTTP 400 Throttling.User) is waited out; a signature refusal stops at once", async () => {
    const busy = await startCloudAssistantStub({
      keys: { [KEY.accessKeyId]: { accessKeySecret: KEY.accessKeySecret } },
      region: "cn-shanghai",
      agentOnlineAt: { "i-online": 0 },
      throttleFirst: 2,
    });
    try {
      const r = await waitForAgent({ endpoint: busy.url, regionId: "cn-shanghai", instanceId: "i-online", credentials: KEY, timeoutMs: 5_000, intervalMs: 50 });
      expect(r.attempts).toBe(3);
      expect(busy.requests.map((q) => `${q.status} ${q.refused ?? ""}`.trim())).toEqual(["400 Throttling.User", "400 Throttling.User", "200"]);
    } finally {
      await busy.close();
    }
    await expect(wait("i-online", { credentials: { ...KEY, accessKeySecret: "wrong" } })).rejects.toThrow(
      /DescribeCloudAssistantStatus refused: HTTP 400 SignatureDoesNotMatch/,
    );
    expect(stub.requests).toHaveLength(1);
  });

  test("gives up after the timeout naming the instance and the last answer", async () => {
    await expect(wait("i-never", { timeoutMs: 500 })).rejects.toThrow(
      /^Cloud Assistant on i-never not online after \d+ s \(\d+ checks; last: CloudAssistantStatus false\)/,
    );
  });

  test("credentials come from the environment the alicloud provider reads, or the error names the variables", () => {
    expect(credentialsFromEnv({ ALICLOUD_ACCESS_KEY: "a", ALICLOUD_SECRET_KEY: "b" })).toEqual({ accessKeyId: "a", accessKeySecret: "b" });
    expect(credentialsFromEnv({ ALIBABA_CLOUD_ACCESS_KEY_ID: "a", ALIBABA_CLOUD_ACCESS_KEY_SECRET: "b", ALIBABA_CLOUD_SECURITY_TOKEN: "t" })).toEqual({
      accessKeyId: "a",
      accessKeySecret: "b",
      securityToken: "t",
    });
    expect(() => credentialsFromEnv({})).toThrow(
      "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY",
    );
  });
});

test("prod1: each HAProxy config invocation waits for its own VM's agent check", async () => {
  const p = await plan("prod1");
  const checks = p.resources.filter((r) => r.type === "pulumi-nodejs:dynamic/cluster:CloudAssistantReady");
  expect(checks.map((c) => c.name)).toEqual(["prod1-front-haproxy-agent-0", "prod1-front-haproxy-agent-1"]);
  for (const c of checks) expect(c.inputs).toMatchObject({ endpoint: "https://ecs.cn-shanghai.aliyuncs.com", regionId: "cn-shanghai", timeoutSeconds: 900 });
  const runs = ofType(p, "alicloud:ecs/ecsInvocation:EcsInvocation");
  expect(runs.map((r) => r.name)).toEqual(["prod1-front-haproxy-cfg-0", "prod1-front-haproxy-cfg-1"]);
  runs.forEach((run, i) => expect(run.dependsOn).toContain(checks[i].urn));
});

test("credential keys in stack config are refused in one problem naming them and the environment variables", () => {
  const c = loadEngineConfig("dev", []);
  const values = { ...c.values, "alicloud:accessKey": "LTAIx", "alicloud:ecsRoleName": "deployer", "alicloud:profile": "default" };
  let problems: string[] = [];
  try {
    parseStackConfig("dev", { values, secretKeys: c.secretKeys });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems = e.problems;
  }
  expect(problems).toEqual([
    "alicloud:accessKey, alicloud:profile, alicloud:ecsRoleName: credentials in stack config are not supported; set ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY (and ALICLOUD_SECURITY_TOKEN with STS) in the environment of `pulumi up` instead",
  ]);
});
