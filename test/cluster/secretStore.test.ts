// The masters' KMS secret as Alibaba's KMS takes it today (issue 28): created inside the stack's
// KMS instance with its key, force-deleted outside prod, and replaced delete-first so a new
// instance or key never meets the old secret's name.
import { ConfigError, parseStackConfig } from "../../components/config/stackConfig";
import { loadEngineConfig } from "../../components/config/stackFiles";
import { ofType, plan, STACK_NAMES } from "../support/offline";

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
  "platform:secretStore: kmsInstanceId and kmsKeyId are required: the masters' PKI secret is created in that KMS instance (kst-...) and encrypted with that symmetric key in it (key-...); KMS creates no secret outside an instance. Set platform:secretStore.kmsInstanceId and platform:secretStore.kmsKeyId (README, set-up prerequisites)";

describe("platform:secretStore: the KMS instance and key are required", () => {
  test("a stack without the key gets one problem naming both ids", () => {
    expect(problems("dev", (v) => delete v["platform:secretStore"])).toEqual([REQUIRED]);
  });

  test("an instance without a key (or a key without an instance) gets the same problem", () => {
    expect(problems("prod1", (v) => (v["platform:secretStore"] = JSON.stringify({ kmsInstanceId: "kst-shh123" })))).toEqual([REQUIRED]);
    expect(problems("prod1", (v) => (v["platform:secretStore"] = JSON.stringify({ kmsKeyId: "key-shh123" })))).toEqual([REQUIRED]);
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

  test("a replacement deletes the old secret first: the name is fixed (it is in the masters' user data)", async () => {
    const [s] = ofType(await plan("dev"), SECRET);
    expect(s.inputs.secretName).toBe("dev-control-plane");
    expect(s.deleteBeforeReplace).toBe(true);
  });
});
