// The masters' secret store: one KMS Secrets Manager secret per cluster holding the shared
// control-plane PKI (pki.ts) and the Secret-encryption config, read at boot by the masters'
// bootstrap (bootstrapScript.ts) through their instance RAM role and by nobody else: the
// role's KMS statements are kms:GetSecretValue on this secret's ARN and kms:Decrypt on the
// key that encrypts it (KMS "GetSecretValue", help/en/kms/key-management-service/
// developer-reference/api-kms-2016-01-20-getsecretvalue: a secret encrypted with a
// user-specified key needs kms:Decrypt on that key). Resource: alicloud.kms.Secret
// (@pulumi/alicloud 3.108 kms/secret.d.ts; terraform-provider-alicloud 81c43b67
// alicloud/resource_alicloud_kms_secret.go: `dkms_instance_id` and `encryption_key_id`
// Optional+ForceNew :67-76, passed to CreateSecret only when set :164-170).
//
// Where it lives: a KMS instance and a symmetric key in it, both required (config/schema.ts
// secretStore). KMS "CreateSecret" (help/en/kms/key-management-service/developer-reference/
// api-kms-2016-01-20-createsecret, last updated 2025-08-21): the key and the secret must be
// in the same KMS instance, the key symmetric; secrets outside an instance are "default
// secrets" that only cloud products create.
//
// Deletion and replacement. DeleteSecret keeps a deleted secret recoverable (and its name
// taken) for RecoveryWindowInDays, default 30, unless ForceDeleteWithoutRecovery (KMS
// "DeleteSecret", help/en/kms/key-management-service/developer-reference/
// api-kms-2016-01-20-deletesecret, last updated 2025-07-29; the provider sends both,
// resource_alicloud_kms_secret.go :485-500, reading force_delete_without_recovery from the
// resource's STATE at delete :493-499, and updates that attribute in place, not ForceNew
// :109-113). So:
// - `platform:secretStore.forceDelete` (default true outside prod, false in prod) decides it;
//   outside prod `pulumi destroy` then `pulumi up` does not meet its own name in a recovery
//   window;
// - a replacement (a new instance or key: both ForceNew) deletes the old secret first
//   (deleteBeforeReplace), then creates the new one under the same name. The name stays
//   fixed on purpose: it is written into every master's user data, which the instances
//   ignore after creation (nodePool.ts ignoreChanges userData), so a name that changed with
//   the instance would leave the running masters reading a deleted secret on their next
//   bootstrap. The masters read the secret only while they bootstrap, so the short gap
//   between delete and create costs nothing at runtime.
// - that a FORCE-deleted name is free for CreateSecret at once is our reading: the
//   DeleteSecret page says the secret "cannot be recovered" and no page says when its name is
//   free again. We do not retry CreateSecret (the provider's create is not ours to wrap); a
//   refusal there fails the `up` with KMS's Rejected.ResourceExist, and a second `up` creates it.
// - in prod the secret keeps the 30-day window and `protect`. A replacement under the 30-day
//   window would delete the old secret and then have CreateSecret refused (the name is held),
//   since the provider deletes with the flag in state; moving a prod cluster to another
//   instance or key is therefore two `up`s (docs/runbooks/first-bring-up.md, "Moving a prod secret store"): set
//   forceDelete true and up (an in-place update of the state's flag), then unprotect, change
//   the instance or key and up.
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { createHash } from "crypto";
import YAML from "yaml";
import type { PolicyStatement } from "./masterRole";
import type { SharedControlPlanePki } from "./pki";

export interface SecretStoreArgs {
  /** Cluster (stack) name: the secret is `<clusterName>-control-plane`. */
  clusterName: string;
  /** The shared control-plane PKI (secret). */
  pki: pulumi.Input<SharedControlPlanePki>;
  /** The KMS instance (kst-...) the secret is created in; required (CreateSecret). */
  kmsInstanceId: string;
  /** The symmetric key in that instance that encrypts the secret (key-...); required. */
  kmsKeyId: string;
  /** Protect the secret and the encryption key (prod). Default false. */
  protect?: boolean;
  /** Delete without the 30-day recovery window (platform:secretStore.forceDelete). Default: not protect. */
  forceDelete?: boolean;
  /** Tags on the secret. Default none. */
  tags?: Record<string, string>;
}

/** The encryption config the api-server reads (kubeadm.ts ENCRYPTION_CONFIG_PATH): aescbc first, identity to read old plaintext. */
export function encryptionConfig(keyBase64: string): string {
  return YAML.stringify({
    apiVersion: "apiserver.config.k8s.io/v1",
    kind: "EncryptionConfiguration",
    resources: [{ resources: ["secrets"], providers: [{ aescbc: { keys: [{ name: "key1", secret: keyBase64 }] } }, { identity: {} }] }],
  });
}

/** The key's ARN for a RAM policy (`acs:kms:<region>:<account>:key/<id>`; any region and account of the caller's). */
export function kmsKeyArn(keyId: string): string {
  return `acs:kms:*:*:key/${keyId}`;
}

/** The masters' KMS statements: read this one secret, decrypt with its key. */
export function secretStoreStatements(secretArn: pulumi.Input<string>, keyArn: pulumi.Input<string>): pulumi.Output<PolicyStatement[]> {
  return pulumi.all([secretArn, keyArn]).apply(([arn, key]) => [
    { Effect: "Allow" as const, Action: ["kms:GetSecretValue"], Resource: [arn] },
    { Effect: "Allow" as const, Action: ["kms:Decrypt"], Resource: [key] },
  ]);
}

export class SecretStore extends pulumi.ComponentResource {
  public readonly secretName: string;
  public readonly secretArn: pulumi.Output<string>;

  constructor(name: string, args: SecretStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:cluster:SecretStore", name, {}, opts);
    if (!args.kmsInstanceId || !args.kmsKeyId) {
      throw new pulumi.ResourceError(`SecretStore ${name}: kmsInstanceId and kmsKeyId are required (platform:secretStore)`, this);
    }
    const kept = { parent: this, protect: args.protect ?? false };
    // 32 bytes for aescbc (AES-256); replacing it would make every stored Secret unreadable.
    const encryptionKey = new random.RandomBytes(`${name}-encryption-key`, { length: 32 }, kept);
    this.secretName = `${args.clusterName}-control-plane`;
    const data = pulumi.secret(
      pulumi
        .all([args.pki, encryptionKey.base64])
        .apply(([pki, key]) => JSON.stringify({ files: { ...pki, "encryption-config.yaml": encryptionConfig(key) } })),
    );
    const secret = new alicloud.kms.Secret(
      name,
      {
        secretName: this.secretName,
        secretType: "Generic",
        secretDataType: "text",
        secretData: data,
        // A new version when the data changes; masters read ACSCurrent.
        versionId: data.apply((d) => `v-${createHash("sha256").update(d).digest("hex").slice(0, 16)}`),
        description: `Shared control-plane PKI of ${args.clusterName} (Pulumi); read by the masters' instance role only`,
        dkmsInstanceId: args.kmsInstanceId,
        encryptionKeyId: args.kmsKeyId,
        recoveryWindowInDays: 30,
        forceDeleteWithoutRecovery: args.forceDelete ?? !(args.protect ?? false),
        tags: args.tags,
      },
      { ...kept, deleteBeforeReplace: true },
    );
    this.secretArn = secret.arn;
    this.registerOutputs({ secretName: this.secretName, secretArn: this.secretArn });
  }
}
