// A stand-in for KMS Secrets Manager (RPC, 2016-01-20): CreateSecret, GetSecretValue,
// DeleteSecret, PutSecretValue, as KMS 3.0 takes them. Signatures are checked with
// @alicloud/openapi-util (rpc.ts). Callers are access keys with grants (what their RAM policy
// allows), so a test can give the masters' role exactly what the program's policy gives it.
//
// Rules:
// - CreateSecret needs DKMSInstanceId and EncryptionKeyId, the key must be symmetric and in that
//   same instance, and the caller needs kms:GenerateDataKey on the key (KMS "CreateSecret",
//   help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-createsecret, last
//   updated 2025-08-21: "The key and the secret must be in the same KMS instance. The key must
//   be a symmetric key."; secrets outside an instance are "default secrets" that only cloud
//   products create, "Overview of default secrets", 2025-11). The name is unique in the region
//   (same page, SecretName).
// - GetSecretValue needs kms:GetSecretValue on the secret and, for a secret encrypted with a
//   user-specified key, kms:Decrypt on that key (KMS "GetSecretValue", help/en/kms/
//   key-management-service/developer-reference/api-kms-2016-01-20-getsecretvalue; the rule the
//   program's policy cites in secretStore.ts). An unknown secret: Forbidden.ResourceNotFound
//   (the code the provider expects on delete, resource_alicloud_kms_secret.go at 81c43b67).
// - DeleteSecret keeps the secret, and its name, for RecoveryWindowInDays (default 30) unless
//   ForceDeleteWithoutRecovery=true (KMS "DeleteSecret", help/en/kms/key-management-service/
//   developer-reference/api-kms-2016-01-20-deletesecret, last updated 2025-07-29). That a name in
//   its recovery window refuses a new CreateSecret is our reading of "can be recovered", as in
//   the 2026-12-07 provider review; that a force-deleted name is free at once is also our
//   reading (no page says when it is free), as components/cluster/secretStore.ts states.
import { isRefusal, RpcKey, rpcParams, verifyRpc } from "./rpc";
import { json, startStubServer, StubServer } from "./stubServer";

export interface KmsGrant {
  /** Secret names the caller may GetSecretValue. */
  getSecretValue?: string[];
  /** Key ids the caller may kms:Decrypt with. */
  decrypt?: string[];
  /** Key ids the caller may kms:GenerateDataKey with (needed to create or put a secret). */
  generateDataKey?: string[];
}

export interface KmsKey {
  instanceId: string;
  /** Only symmetric keys encrypt secrets. */
  spec: "Aliyun_AES_256" | "RSA_2048";
}

export interface KmsStubOptions {
  keys: Record<string, RpcKey>;
  grants: Record<string, KmsGrant>;
  /** KMS instances (kst-...) of the account. */
  instances: string[];
  /** KMS keys by id. */
  kmsKeys: Record<string, KmsKey>;
  /** Secrets that exist already: name -> value and key. */
  secrets?: Record<string, { data: string; keyId: string; instanceId: string; versionId?: string }>;
}

export interface StoredSecret {
  data: string;
  keyId: string;
  instanceId: string;
  versionId: string;
  /** Set while in its recovery window. */
  plannedDeleteTime?: string;
}

export interface KmsStub extends StubServer {
  secrets: Map<string, StoredSecret>;
}

export async function startKmsStub(options: KmsStubOptions): Promise<KmsStub> {
  const nonces = new Set<string>();
  const secrets = new Map<string, StoredSecret>(
    Object.entries(options.secrets ?? {}).map(([n, s]) => [n, { versionId: "v1", ...s }] as [string, StoredSecret]),
  );
  const refuse = (status: number, code: string, message: string) => json(status, { Code: code, Message: message, RequestId: "stub" }, code);
  const server = await startStubServer((req) => {
    const call = verifyRpc(req.method, rpcParams(req.query, req.body, req.headers["content-type"]), options.keys, nonces);
    if (isRefusal(call)) return call;
    const p = call.params;
    if (p.Version !== "2016-01-20") return refuse(400, "InvalidVersion", `KMS is 2016-01-20, not ${p.Version}`);
    const grant = options.grants[call.accessKeyId] ?? {};
    const name = p.SecretName;
    switch (call.action) {
      case "CreateSecret": {
        for (const k of ["SecretName", "SecretData", "VersionId"]) if (!p[k]) return refuse(400, "MissingParameter", `${k} is mandatory for this action.`);
        if (!p.DKMSInstanceId) return refuse(400, "Forbidden.DKMSInstanceRequired", "secrets are created in a KMS instance: DKMSInstanceId is required");
        if (!options.instances.includes(p.DKMSInstanceId)) return refuse(404, "Forbidden.DKMSInstanceNotFound", `no KMS instance ${p.DKMSInstanceId}`);
        if (!p.EncryptionKeyId) return refuse(400, "MissingParameter", "EncryptionKeyId is mandatory with DKMSInstanceId.");
        const key = options.kmsKeys[p.EncryptionKeyId];
        if (!key) return refuse(404, "Forbidden.KeyNotFound", `no key ${p.EncryptionKeyId}`);
        if (key.instanceId !== p.DKMSInstanceId)
          return refuse(400, "InvalidParameter.KeyNotInInstance", "the key and the secret must be in the same KMS instance");
        if (key.spec !== "Aliyun_AES_256") return refuse(400, "InvalidParameter.KeySpec", "the key must be a symmetric key");
        if (!grant.generateDataKey?.includes(p.EncryptionKeyId)) return refuse(403, "Forbidden.NoPermission", "kms:GenerateDataKey on the key is required");
        const existing = secrets.get(name);
        if (existing) {
          return existing.plannedDeleteTime
            ? refuse(400, "Rejected.ResourceExist", `secret ${name} is pending deletion until ${existing.plannedDeleteTime}`)
            : refuse(400, "Rejected.ResourceExist", `secret ${name} already exists`);
        }
        secrets.set(name, { data: p.SecretData, keyId: p.EncryptionKeyId, instanceId: p.DKMSInstanceId, versionId: p.VersionId });
        return json(200, { RequestId: "stub", SecretName: name, VersionId: p.VersionId, Arn: `acs:kms:cn-stub:0:secret/${name}` });
      }
      case "GetSecretValue": {
        if (!name) return refuse(400, "MissingParameter", "SecretName is mandatory for this action.");
        if (!grant.getSecretValue?.includes(name)) return refuse(403, "Forbidden.NoPermission", `kms:GetSecretValue on secret/${name} is required`);
        const s = secrets.get(name);
        if (!s || s.plannedDeleteTime) return refuse(404, "Forbidden.ResourceNotFound", `secret ${name} not found`);
        if (!grant.decrypt?.includes(s.keyId)) return refuse(403, "Forbidden.NoPermission", `kms:Decrypt on key/${s.keyId} is required`);
        return json(200, {
          RequestId: "stub",
          SecretName: name,
          SecretData: s.data,
          SecretDataType: "text",
          VersionId: s.versionId,
          VersionStages: { VersionStage: ["ACSCurrent"] },
        });
      }
      case "PutSecretValue": {
        const s = secrets.get(name);
        if (!s || s.plannedDeleteTime) return refuse(404, "Forbidden.ResourceNotFound", `secret ${name} not found`);
        if (!grant.generateDataKey?.includes(s.keyId)) return refuse(403, "Forbidden.NoPermission", "kms:GenerateDataKey on the key is required");
        secrets.set(name, { ...s, data: p.SecretData, versionId: p.VersionId });
        return json(200, { RequestId: "stub", SecretName: name, VersionId: p.VersionId });
      }
      case "DeleteSecret": {
        const s = secrets.get(name);
        if (!s) return refuse(404, "Forbidden.ResourceNotFound", `secret ${name} not found`);
        if (p.ForceDeleteWithoutRecovery === "true") {
          secrets.delete(name);
          return json(200, { RequestId: "stub", SecretName: name });
        }
        const days = Number(p.RecoveryWindowInDays ?? "30");
        const plannedDeleteTime = new Date(Date.now() + days * 86_400_000).toISOString();
        secrets.set(name, { ...s, plannedDeleteTime });
        return json(200, { RequestId: "stub", SecretName: name, PlannedDeleteTime: plannedDeleteTime });
      }
      default:
        return refuse(400, "InvalidAction.NotFound", `${call.action} is not served by this stub`);
    }
  });
  return { ...server, secrets };
}
