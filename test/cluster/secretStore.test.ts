// The masters' KMS secret as Alibaba's KMS takes it today (issue 28): created inside the stack's
// KMS instance with its key, force-deleted outside prod, and replaced delete-first so a new
// instance or key never meets the old secret's name.
import OpenApiUtil from "@alicloud/openapi-util";
import { randomUUID } from "node:crypto";
import { ConfigError, parseStackConfig } from "../../components/config/stackConfig";
import { loadEngineConfig } from "../../components/config/stackFiles";
import { KmsStub, startKmsStub } from "../support/alibaba/kmsStub";
import { ofType, plan, STACK_NAMES } from "../support/offline";
import * as zlib from "zlib";
import { diffPlans } from "../../components/preview/planDiff";
import { checkPlan, loadPolicyConfig, policyConfigFileFor } from "../../components/preview/policyCheck";

const SECRET = "alicloud:kms/secret:Secret";

function problems(stack: string, mutate: (values: Record<string, string>) => void): string[] {
  const c = loadEngineConfig(stack, []);
  const values = { ...c.values };
  mutate(values);
  try {
    parseStackConfig(stack, { values, secretKeys: c.secretKeys });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

// KMS "CreateSecret" (help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-createsecret,
// last updated 2025-08-21): the key and the secret must be in the same KMS instance.
const REQUIRED =
  "platform:secretStore: kmsInstanceId and kmsKeyId are required: the masters' PKI secret is created in that KMS instance (kst-...) and encrypted with that symmetric key in it (key-...); KMS creates no secret outside an instance. Set platform:secretStore.kmsInstanceId and platform:secretStore.kmsKeyId (docs/runbooks/first-bring-up.md, set-up prerequisites)";

describe("platform:secretStore: the KMS instance and key are required", () => {
  test("a stack without the key gets one problem naming both ids", () => {
    expect(problems("dev", (v) => delete v["platform:secretStore"])).toEqual([REQUIRED]);
  });

  test("an instance without a key (or a key without an instance) gets the same problem", () => {
    expect(problems("prod1", (v) => (v["platform:secretStore"] = JSON.stringify({ kmsInstanceId: "kst-shh123" })))).toEqual([REQUIRED]);
    expect(problems("prod1", (v) => (v["platform:secretStore"] = JSON.stringify({ kmsKeyId: "key-shh123" })))).toEqual([REQUIRED]);
  });

  test("an endpoint of another region is refused, naming the key and the region's endpoints", () => {
    const store = (endpoint: string) => JSON.stringify({ kmsInstanceId: "kst-shh123", kmsKeyId: "key-shh123", endpoint });
    expect(problems("prod1", (v) => (v["platform:secretStore"] = store("https://kms-vpc.cn-beijing.aliyuncs.com")))).toEqual([
      // One rule for the endpoint (components/config/kinds.ts, threat row T1): the region's gateways or the instance's own.
      "platform:secretStore.endpoint: host kms-vpc.cn-beijing.aliyuncs.com is not a KMS endpoint of this stack (kms.cn-shanghai.aliyuncs.com, kms-vpc.cn-shanghai.aliyuncs.com, kst-shh123.cryptoservice.kms.aliyuncs.com); the masters send role-signed requests there and install the PKI it returns",
    ]);
    expect(problems("prod1", (v) => (v["platform:secretStore"] = store("https://kms.cn-shanghai.aliyuncs.com")))).toEqual([]);
  });

  test("a malformed id names its key", () => {
    expect(problems("prod1", (v) => (v["platform:secretStore"] = JSON.stringify({ kmsInstanceId: "kms-1", kmsKeyId: "key-shh123" })))).toEqual([
      "platform:secretStore.kmsInstanceId: must be a KMS instance id (kst-...)",
    ]);
  });
});

describe("the KMS secret in the plan", () => {
  test.each(STACK_NAMES)("%s: created in the stack's KMS instance with its key", async (stack) => {
    const secrets = ofType(await plan(stack), SECRET);
    expect(secrets).toHaveLength(1);
    const region = { host: "hzz", dev: "hzz", test: "hzz", pre: "shh", prod1: "shh", prod2: "bjj" }[stack];
    expect(secrets[0].inputs.dkmsInstanceId).toBe(`kst-${region}placeholder${stack}`);
    expect(secrets[0].inputs.encryptionKeyId).toBe(`key-${region}placeholder${stack}`);
  });

  test("outside prod and the host it is force-deleted (no 30-day hold on its name); prod and the host keep the recovery window and protect", async () => {
    for (const stack of ["dev", "test", "pre"]) {
      const [s] = ofType(await plan(stack), SECRET);
      expect([stack, s.inputs.forceDeleteWithoutRecovery, s.protect]).toEqual([stack, true, false]);
    }
    // The host holds every member's credential: protected like prod (docs/threat-model.md, T20).
    for (const stack of ["host", "prod1", "prod2"]) {
      const [s] = ofType(await plan(stack), SECRET);
      expect([stack, s.inputs.forceDeleteWithoutRecovery, s.inputs.recoveryWindowInDays, s.protect]).toEqual([stack, false, 30, true]);
    }
  });

  test("T1: the masters' platform:kms-endpoint tag is the host of every KMS_URL a new master's user data holds; an endpoint move updates the tag in place, while running masters keep their old user data", async () => {
    const ENDPOINT = "https://kst-shhplaceholderprod1.cryptoservice.kms.aliyuncs.com";
    const p = await plan("prod1", [`platform:secretStore.endpoint=${ENDPOINT}`]);
    const masters = ofType(p, "alicloud:ecs/instance:Instance").filter((i) => /^prod1-master-\d$/.test(i.name));
    expect(masters.map((m) => (m.inputs.tags as Record<string, string>)["platform:kms-endpoint"])).toEqual(
      Array(3).fill("kst-shhplaceholderprod1.cryptoservice.kms.aliyuncs.com"),
    );
    for (const m of masters) {
      // The user data's scripts are gzip+base64 files (cloudInit.ts); each sets KMS_URL for the PKI fetch and the join-token timer.
      const doc = p.artifacts.find((a) => a.kind === "cloud-init" && a.file === `${m.name}.yaml`)!.text;
      const scripts = (doc.match(/H4sI[A-Za-z0-9+/]+={0,2}/g) ?? []).map((b) => zlib.gunzipSync(Buffer.from(b, "base64")).toString("utf8"));
      const urls = scripts.flatMap((t) => [...t.matchAll(/KMS_URL:=([^}"]+)\}/g)].map((x) => x[1]));
      expect([m.name, urls]).toEqual([m.name, [ENDPOINT, ENDPOINT]]);
    }
    // A tag change updates an existing instance in place (terraform-provider-alicloud 81c43b67
    // resource_alicloud_instance.go:500 `tags` not ForceNew; the update calls setTags, :1702-1707), and the
    // user data that moves with it is ignoreChanges: the masters are updated, nothing is replaced or stopped.
    const d = diffPlans((await plan("prod1")).resources, p.resources);
    expect(d.changed.map((c) => [c.urn.split("::").pop(), c.op, c.paths])).toEqual(
      ["prod1-master-0", "prod1-master-1", "prod1-master-2"].map((n) => [n, "update", ["tags.platform:kms-endpoint"]]),
    );
    expect([d.added, d.removed]).toEqual([[], []]);
    // So a running master keeps the KMS_URL it was created with (prod1's default VPC endpoint): the user data's
    // change is in the plan's artifacts only, and reaches a master when it is replaced.
    const before = await plan("prod1");
    const doc0 = before.artifacts.find((a) => a.kind === "cloud-init" && a.file === "prod1-master-0.yaml")!.text;
    const urls0 = (doc0.match(/H4sI[A-Za-z0-9+/]+={0,2}/g) ?? [])
      .map((b) => zlib.gunzipSync(Buffer.from(b, "base64")).toString("utf8"))
      .flatMap((t) => [...t.matchAll(/KMS_URL:=([^}"]+)\}/g)].map((x) => x[1]));
    expect(urls0).toEqual(["https://kms-vpc.cn-shanghai.aliyuncs.com", "https://kms-vpc.cn-shanghai.aliyuncs.com"]);
    // The stack's own instance endpoint is on prod.json's list: the pack passes it.
    const v = checkPlan(p, loadPolicyConfig(policyConfigFileFor("prod1"))).filter((x) => x.policy === "credential-endpoints");
    expect(v).toEqual([]);
  });

  test("a replacement deletes the old secret first: the name is fixed (it is in the masters' user data)", async () => {
    const [s] = ofType(await plan("dev"), SECRET);
    expect(s.inputs.secretName).toBe("dev-control-plane");
    expect(s.deleteBeforeReplace).toBe(true);
  });
});

// Moving a stack to another KMS instance or key replaces the secret: DeleteSecret with the flags
// the provider stores (the plan's inputs), then CreateSecret under the same name, against the KMS
// contract stub (test/support/alibaba/kmsStub.ts: a name in its recovery window is taken).
describe("moving the secret to another instance or key, against the KMS stub", () => {
  const OLD = { instance: "kst-shhold1", key: "key-shhold1" };
  const NEW = { instance: "kst-shhnew2", key: "key-shhnew2" };
  const AK = "LTAI-deployer";
  const AK_SECRET = "deployer-secret";
  let kms: KmsStub;

  beforeEach(async () => {
    kms = await startKmsStub({
      keys: { [AK]: { accessKeySecret: AK_SECRET } },
      grants: { [AK]: { generateDataKey: [OLD.key, NEW.key] } },
      instances: [OLD.instance, NEW.instance],
      kmsKeys: { [OLD.key]: { instanceId: OLD.instance, spec: "Aliyun_AES_256" }, [NEW.key]: { instanceId: NEW.instance, spec: "Aliyun_AES_256" } },
      secrets: { "prod1-control-plane": { data: "old", keyId: OLD.key, instanceId: OLD.instance } },
    });
  });
  afterEach(() => kms.close());

  /** One signed RPC call as the provider makes it; returns "<status> <Code or 'ok'>". */
  async function call(action: string, params: Record<string, string>): Promise<string> {
    const signed: Record<string, string> = {
      ...params,
      Action: action,
      Version: "2016-01-20",
      AccessKeyId: AK,
      SignatureMethod: "HMAC-SHA1",
      SignatureVersion: "1.0",
      SignatureNonce: randomUUID(),
      Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      Format: "JSON",
    };
    signed.Signature = OpenApiUtil.getRPCSignature(signed, "POST", AK_SECRET);
    const res = await fetch(kms.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(signed).toString(),
    });
    const body = (await res.json()) as { Code?: string };
    return `${res.status} ${body.Code ?? "ok"}`;
  }

  async function deleteAsPlanned(inputs: Record<string, unknown>): Promise<string> {
    return call("DeleteSecret", {
      SecretName: "prod1-control-plane",
      ForceDeleteWithoutRecovery: String(inputs.forceDeleteWithoutRecovery),
      RecoveryWindowInDays: String(inputs.recoveryWindowInDays),
    });
  }
  const create = () =>
    call("CreateSecret", {
      SecretName: "prod1-control-plane",
      SecretData: "new",
      VersionId: "v-new",
      SecretDataType: "text",
      DKMSInstanceId: NEW.instance,
      EncryptionKeyId: NEW.key,
    });

  test("prod as committed: delete-then-create is refused, the name is held for 30 days", async () => {
    const [s] = ofType(await plan("prod1"), SECRET);
    expect(await deleteAsPlanned(s.inputs)).toBe("200 ok");
    expect(await create()).toBe("400 Rejected.ResourceExist");
  });

  test("prod with platform:secretStore.forceDelete=true (step 1 of the move): delete-then-create succeeds in the new instance", async () => {
    const store = JSON.parse(loadEngineConfig("prod1", []).values["platform:secretStore"]) as Record<string, unknown>;
    const [s] = ofType(await plan("prod1", [`platform:secretStore=${JSON.stringify({ ...store, forceDelete: true })}`]), SECRET);
    expect([s.inputs.forceDeleteWithoutRecovery, s.protect]).toEqual([true, true]);
    expect(await deleteAsPlanned(s.inputs)).toBe("200 ok");
    expect(await create()).toBe("200 ok");
    expect(kms.secrets.get("prod1-control-plane")?.instanceId).toBe(NEW.instance);
  });

  test("create-then-delete (Pulumi's default replacement order) is refused whatever the flags: hence deleteBeforeReplace", async () => {
    expect(await create()).toBe("400 Rejected.ResourceExist");
    expect(await deleteAsPlanned({ forceDeleteWithoutRecovery: true, recoveryWindowInDays: 30 })).toBe("200 ok");
  });

  test("outside prod forceDelete may be turned off (the key is read)", async () => {
    const store = JSON.parse(loadEngineConfig("dev", []).values["platform:secretStore"]) as Record<string, unknown>;
    const [s] = ofType(await plan("dev", [`platform:secretStore=${JSON.stringify({ ...store, forceDelete: false })}`]), SECRET);
    expect(s.inputs.forceDeleteWithoutRecovery).toBe(false);
  });
});
