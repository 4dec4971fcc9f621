// The contract stubs refuse what the vendors document they refuse (issue 28). Signatures are made
// by the vendor's SDK (ali-oss) or by our own RPC signer, and checked in the stubs by the vendor's
// SDK (ali-oss signUtils, @alicloud/openapi-util): never our signer checking itself.
import OSS from "ali-oss";
import { signedRpcQuery } from "../../components/cluster/cloudAssistant";
import { backupStatements } from "../../components/cluster/masterRole";
import { KibanaStub, startKibanaStub } from "../support/alibaba/kibanaStub";
import { KmsStub, startKmsStub } from "../support/alibaba/kmsStub";
import { MetadataStub, startMetadataStub } from "../support/alibaba/metadataStub";
import { OssStub, startOssStub } from "../support/alibaba/ossStub";

describe("OSS: V4 signatures, V1 refused on buckets created from 2025-09-01", () => {
  const ADMIN = { accessKeyId: "LTAIossadmin01", accessKeySecret: "oss-secret-01" };
  const MASTER = { accessKeyId: "STS.master01", accessKeySecret: "oss-secret-02", stsToken: "sts-token-02" };
  const BROAD = { accessKeyId: "LTAIbroad01", accessKeySecret: "oss-secret-03" };
  let stub: OssStub;
  beforeEach(async () => {
    stub = await startOssStub({
      buckets: {
        "livemall-prod1-etcd-backup": { region: "cn-shanghai", createdAt: "2026-12-07T00:00:00Z" },
        "old-bucket": { region: "cn-shanghai", createdAt: "2024-05-01T00:00:00Z" },
      },
      keys: {
        [ADMIN.accessKeyId]: { accessKeySecret: ADMIN.accessKeySecret },
        [MASTER.accessKeyId]: { accessKeySecret: MASTER.accessKeySecret, securityToken: MASTER.stsToken },
        [BROAD.accessKeyId]: { accessKeySecret: BROAD.accessKeySecret },
      },
      grants: {
        [ADMIN.accessKeyId]: { put: ["livemall-prod1-etcd-backup/", "old-bucket/"], get: ["livemall-prod1-etcd-backup/", "old-bucket/"] },
        // The masters' policy as the program writes it (masterRole.ts backupStatements), evaluated as RAM does.
        [MASTER.accessKeyId]: backupStatements("livemall-prod1-etcd-backup", "prod1/"),
        // The same policy next to a broad Allow another attachment might add: the Deny must still win.
        [BROAD.accessKeyId]: [...backupStatements("livemall-prod1-etcd-backup", "prod1/"), { Effect: "Allow", Action: ["oss:*"], Resource: ["*"] }],
      },
    });
  });
  afterEach(() => stub.close());
  const client = (bucket: string, creds: { accessKeyId: string; accessKeySecret: string; stsToken?: string }, authorizationV4: boolean) =>
    new OSS({ region: "oss-cn-shanghai", endpoint: stub.url, secure: false, bucket, authorizationV4, timeout: 10_000, ...creds });
  const codeOf = async (p: Promise<unknown>) =>
    p.then(
      () => "ok",
      (e: { code?: string; status?: number }) => `${e.status} ${e.code}`,
    );

  test("a PUT signed V4 by ali-oss is accepted on the new bucket", async () => {
    expect(await codeOf(client("livemall-prod1-etcd-backup", ADMIN, true).put("prod1/snapshot.db", Buffer.from("etcd")))).toBe("ok");
    expect(stub.objects.get("livemall-prod1-etcd-backup/prod1/snapshot.db")!.map((v) => v.signedWith)).toEqual(["V4"]);
  });

  test("a PUT signed V1 is refused on the new bucket, and still accepted on a bucket from before 2025-09-01", async () => {
    expect(await codeOf(client("livemall-prod1-etcd-backup", ADMIN, false).put("prod1/snapshot.db", Buffer.from("etcd")))).toBe("403 AccessDenied");
    expect(stub.requests.at(-1)!.refused).toBe("AccessDenied");
    expect(await codeOf(client("old-bucket", ADMIN, false).put("prod1/snapshot.db", Buffer.from("etcd")))).toBe("ok");
  });

  test("a bad V4 signature, a wrong region and an STS key without its token are refused", async () => {
    expect(await codeOf(client("livemall-prod1-etcd-backup", { ...ADMIN, accessKeySecret: "wrong" }, true).put("prod1/a", Buffer.from("x")))).toBe(
      "403 SignatureDoesNotMatch",
    );
    const wrongRegion = new OSS({
      region: "oss-cn-beijing",
      endpoint: stub.url,
      secure: false,
      bucket: "livemall-prod1-etcd-backup",
      authorizationV4: true,
      ...ADMIN,
    });
    expect(await codeOf(wrongRegion.put("prod1/a", Buffer.from("x")))).toBe("403 SignatureDoesNotMatch");
    expect(
      await codeOf(
        client("livemall-prod1-etcd-backup", { accessKeyId: MASTER.accessKeyId, accessKeySecret: MASTER.accessKeySecret }, true).put(
          "prod1/a",
          Buffer.from("x"),
        ),
      ),
    ).toBe("403 InvalidSecurityToken");
  });

  test("the masters' role: PUT under its prefix only, no delete of any kind (history stays)", async () => {
    const master = client("livemall-prod1-etcd-backup", MASTER, true);
    expect(await codeOf(master.put("prod1/snapshot.db", Buffer.from("etcd")))).toBe("ok");
    expect(await codeOf(master.put("prod2/snapshot.db", Buffer.from("etcd")))).toBe("403 AccessDenied");
    expect(await codeOf(master.delete("prod1/snapshot.db"))).toBe("403 AccessDenied");
    // A permanent delete names the version (ali-oss passes it as the versionId query).
    expect(await codeOf(master.delete("prod1/snapshot.db", { versionId: "v1" } as OSS.RequestOptions))).toBe("403 AccessDenied");
    expect(stub.objects.get("livemall-prod1-etcd-backup/prod1/snapshot.db")!.map((v) => v.deleteMarker)).toEqual([false]);
  });

  test("the masters' policy next to Allow oss:* on *: puts still work, no delete and no bucket setting gets through", async () => {
    const broad = client("livemall-prod1-etcd-backup", BROAD, true);
    const bucket = "livemall-prod1-etcd-backup";
    expect(await codeOf(broad.put("prod1/snapshot.db", Buffer.from("etcd")))).toBe("ok");
    expect(await codeOf(broad.put("anywhere/else.db", Buffer.from("x")))).toBe("ok"); // the broad Allow works where nothing is denied
    expect(await codeOf(broad.delete("prod1/snapshot.db"))).toBe("403 AccessDenied");
    expect(await codeOf(broad.delete("prod1/snapshot.db", { versionId: "v1" } as OSS.RequestOptions))).toBe("403 AccessDenied");
    // ali-oss's typings miss putBucketVersioning; the method is there (lib/common/bucket/putBucketVersioning.js).
    const versioning = (broad as unknown as { putBucketVersioning(b: string, s: string): Promise<unknown> }).putBucketVersioning(bucket, "Suspended");
    const settings: [string, Promise<unknown>][] = [
      ["PutBucketPolicy", broad.putBucketPolicy(bucket, { Version: "1", Statement: [] })],
      ["DeleteBucketPolicy", broad.deleteBucketPolicy(bucket)],
      ["PutBucketAcl", broad.putBucketACL(bucket, "public-read")],
      ["PutBucketVersioning", versioning],
      ["PutBucketLifecycle", broad.putBucketLifecycle(bucket, [{ id: "x", status: "Enabled", prefix: "", days: 1 } as OSS.LifecycleRule])],
      ["DeleteBucketLifecycle", broad.deleteBucketLifecycle(bucket)],
      ["DeleteBucket", broad.deleteBucket(bucket)],
    ];
    await Promise.allSettled(settings.map(([, p]) => p));
    // As the stub answered each (ali-oss does not throw for every bucket call's refusal).
    const answered = stub.requests.filter((r) => r.path === "/").map((r) => `${r.method} ${Object.keys(r.query).join("&")} ${r.status} ${r.refused}`);
    expect(answered.sort()).toEqual(
      [
        "PUT policy 403 AccessDenied",
        "DELETE policy 403 AccessDenied",
        "PUT acl 403 AccessDenied",
        "PUT versioning 403 AccessDenied",
        "PUT lifecycle 403 AccessDenied",
        "DELETE lifecycle 403 AccessDenied",
        "DELETE  403 AccessDenied",
      ].sort(),
    );
    expect(await codeOf(settings[0][1])).toBe("403 AccessDenied"); // and ali-oss reports it where it checks
    expect(stub.objects.get(`${bucket}/prod1/snapshot.db`)!.map((v) => v.deleteMarker)).toEqual([false]);
  });
});

describe("KMS: secrets only inside an instance, with a key in it; reads need the key too", () => {
  const PULUMI = { accessKeyId: "LTAIpulumi01", accessKeySecret: "kms-secret-01" };
  const MASTER = { accessKeyId: "STS.master01", accessKeySecret: "kms-secret-02", securityToken: "sts-token-02" };
  let stub: KmsStub;
  beforeEach(async () => {
    stub = await startKmsStub({
      keys: {
        [PULUMI.accessKeyId]: { accessKeySecret: PULUMI.accessKeySecret },
        [MASTER.accessKeyId]: { accessKeySecret: MASTER.accessKeySecret, securityToken: MASTER.securityToken },
      },
      instances: ["kst-shh1", "kst-shh2"],
      kmsKeys: {
        "key-shh1": { instanceId: "kst-shh1", spec: "Aliyun_AES_256" },
        "key-shh2": { instanceId: "kst-shh2", spec: "Aliyun_AES_256" },
        "key-rsa": { instanceId: "kst-shh1", spec: "RSA_2048" },
      },
      grants: {
        [PULUMI.accessKeyId]: { generateDataKey: ["key-shh1", "key-shh2", "key-rsa"] },
        // What the program's policy gives the masters (secretStore.ts secretStoreStatements).
        [MASTER.accessKeyId]: { getSecretValue: ["prod1-control-plane"], decrypt: ["key-shh1"] },
      },
    });
  });
  afterEach(() => stub.close());
  const call = async (creds: { accessKeyId: string; accessKeySecret: string; securityToken?: string }, params: Record<string, string>) => {
    const res = await fetch(`${stub.url}/?${signedRpcQuery(params, "2016-01-20", creds)}`);
    const body = (await res.json()) as { Code?: string; SecretData?: string };
    return res.ok ? `ok${body.SecretData ? ` ${body.SecretData}` : ""}` : `${res.status} ${body.Code}`;
  };
  const create = (extra: Record<string, string>) =>
    call(PULUMI, { Action: "CreateSecret", SecretName: "prod1-control-plane", SecretData: "{pki}", VersionId: "v-1", SecretDataType: "text", ...extra });

  test("a secret without an instance is refused; a key from another instance or an asymmetric key too", async () => {
    expect(await create({})).toBe("400 Forbidden.DKMSInstanceRequired");
    expect(await create({ DKMSInstanceId: "kst-shh1", EncryptionKeyId: "key-shh2" })).toBe("400 InvalidParameter.KeyNotInInstance");
    expect(await create({ DKMSInstanceId: "kst-shh1", EncryptionKeyId: "key-rsa" })).toBe("400 InvalidParameter.KeySpec");
    expect(await create({ DKMSInstanceId: "kst-shh1", EncryptionKeyId: "key-shh1" })).toBe("ok");
  });

  test("the masters read it with GetSecretValue on the secret and Decrypt on its key; without Decrypt they are refused", async () => {
    await create({ DKMSInstanceId: "kst-shh1", EncryptionKeyId: "key-shh1" });
    expect(await call(MASTER, { Action: "GetSecretValue", SecretName: "prod1-control-plane" })).toBe("ok {pki}");
    const { securityToken: _token, ...withoutToken } = MASTER;
    expect(await call(withoutToken, { Action: "GetSecretValue", SecretName: "prod1-control-plane" })).toBe("400 InvalidSecurityToken.Missing");
    // The same secret in instance 2 (key-shh2), which the masters may not decrypt with.
    await call(PULUMI, { Action: "DeleteSecret", SecretName: "prod1-control-plane", ForceDeleteWithoutRecovery: "true" });
    await create({ DKMSInstanceId: "kst-shh2", EncryptionKeyId: "key-shh2" });
    expect(await call(MASTER, { Action: "GetSecretValue", SecretName: "prod1-control-plane" })).toBe("403 Forbidden.NoPermission");
  });

  test("a deleted secret holds its name for its recovery window; a force-deleted one does not", async () => {
    await create({ DKMSInstanceId: "kst-shh1", EncryptionKeyId: "key-shh1" });
    expect(await call(PULUMI, { Action: "DeleteSecret", SecretName: "prod1-control-plane", RecoveryWindowInDays: "30" })).toBe("ok");
    expect(await create({ DKMSInstanceId: "kst-shh1", EncryptionKeyId: "key-shh1" })).toBe("400 Rejected.ResourceExist");
    stub.secrets.clear();
    await create({ DKMSInstanceId: "kst-shh1", EncryptionKeyId: "key-shh1" });
    expect(await call(PULUMI, { Action: "DeleteSecret", SecretName: "prod1-control-plane", ForceDeleteWithoutRecovery: "true" })).toBe("ok");
    expect(await create({ DKMSInstanceId: "kst-shh1", EncryptionKeyId: "key-shh1" })).toBe("ok");
  });

  test("a request signed with the wrong secret is refused", async () => {
    expect(await call({ ...PULUMI, accessKeySecret: "wrong" }, { Action: "GetSecretValue", SecretName: "x" })).toBe("400 SignatureDoesNotMatch");
  });
});

describe("instance metadata in hardened mode", () => {
  let stub: MetadataStub;
  beforeEach(async () => {
    stub = await startMetadataStub({ role: "prod1-masters", credentials: { AccessKeyId: "STS.master01", AccessKeySecret: "s", SecurityToken: "t" } });
  });
  afterEach(() => stub.close());

  test("credentials need a token from PUT /latest/api/token with a TTL of 1-21600 s", async () => {
    const creds = `${stub.url}/latest/meta-data/ram/security-credentials/prod1-masters`;
    expect((await fetch(creds)).status).toBe(403);
    expect((await fetch(`${stub.url}/latest/api/token`)).status).toBe(405);
    expect((await fetch(`${stub.url}/latest/api/token`, { method: "PUT", headers: { "X-aliyun-ecs-metadata-token-ttl-seconds": "21601" } })).status).toBe(400);
    const token = await (await fetch(`${stub.url}/latest/api/token`, { method: "PUT", headers: { "X-aliyun-ecs-metadata-token-ttl-seconds": "300" } })).text();
    const res = await fetch(creds, { headers: { "X-aliyun-ecs-metadata-token": token } });
    expect(await res.json()).toMatchObject({ AccessKeyId: "STS.master01", SecurityToken: "t", Code: "Success" });
    expect((await fetch(`${stub.url}/latest/meta-data/ram/security-credentials/other`, { headers: { "X-aliyun-ecs-metadata-token": token } })).status).toBe(
      404,
    );
    expect(stub.requests.map((r) => r.refused ?? r.status)).toEqual(["TokenRequired", "TokenNeedsPut", "InvalidTokenTtl", 200, 200, "RoleNotAttached"]);
  });
});

describe("Kibana data views need Data View Management and view_index_metadata; override matches by title", () => {
  let stub: KibanaStub;
  beforeEach(async () => {
    stub = await startKibanaStub({
      apiKeys: {
        // The key as the README documented it until now: manage_security only.
        "only-manage-security": { cluster: ["manage_security"] },
        full: {
          cluster: ["manage_security"],
          indices: [{ names: ["k8s-dev-*", "k8s-dev2-*"], privileges: ["view_index_metadata"] }],
          kibana: { indexPatterns: "all" },
        },
      },
    });
  });
  afterEach(() => stub.close());
  const post = (key: string, path: string, body: unknown, xsrf = true) =>
    fetch(`${stub.url}${path}`, {
      method: "POST",
      headers: { authorization: `ApiKey ${key}`, "content-type": "application/json", ...(xsrf ? { "kbn-xsrf": "platform" } : {}) },
      body: JSON.stringify(body),
    }).then((r) => r.status);
  const view = (title: string) => ({ data_view: { id: "platform-dev-logs", title, name: "Container logs: dev", timeFieldName: "@timestamp" }, override: true });

  test("a key with manage_security alone manages roles but may not create the data view", async () => {
    const put = await fetch(`${stub.url}/api/security/role/platform-dev-ns-logs`, {
      method: "PUT",
      headers: { authorization: "ApiKey only-manage-security", "kbn-xsrf": "platform", "content-type": "application/json" },
      body: "{}",
    });
    expect(put.status).toBe(200);
    expect(await post("only-manage-security", "/api/data_views/data_view", view("k8s-dev-*"))).toBe(403);
    expect(await post("full", "/api/data_views/data_view", view("k8s-dev-*"))).toBe(200);
  });

  test("a call without kbn-xsrf is refused", async () => {
    expect(await post("full", "/api/data_views/data_view", view("k8s-dev-*"), false)).toBe(400);
  });

  test("after an indices edit, create with the same id conflicts even with override; update by id works", async () => {
    expect(await post("full", "/api/data_views/data_view", view("k8s-dev-*"))).toBe(200);
    expect(await post("full", "/api/data_views/data_view", view("k8s-dev2-*"))).toBe(409);
    expect(await post("full", "/api/data_views/data_view/platform-dev-logs", { data_view: { title: "k8s-dev2-*" } })).toBe(200);
    expect(stub.dataViews.get("platform-dev-logs")!.title).toBe("k8s-dev2-*");
    expect(await post("full", "/api/data_views/data_view/platform-dev-logs", { data_view: { title: "k8s-prod-*" } })).toBe(403);
  });
});
