// The masters' secret store: one KMS Secrets Manager secret per cluster holding the shared
// control-plane PKI (pki.ts) and the Secret-encryption config, read at boot by the masters'
// bootstrap (bootstrapScript.ts) through their instance RAM role and by nobody else: the
// role's only KMS statement is kms:GetSecretValue on this secret's ARN (plus kms:Decrypt on
// the key when a customer key encrypts it: GetSecretValue's doc, "If a user-specified key is
// used ... the caller must have the kms:Decrypt permission"). Resource: alicloud.kms.Secret
// (@pulumi/alicloud 3.108 kms/secret.d.ts; terraform-provider-alicloud 81c43b67
// website/docs/r/kms_secret.html.markdown: `arn` attribute, `dkms_instance_id` and
// `encryption_key_id` ForceNew, required in KMS 3.0).
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
  /** KMS 3.0 instance (both it and kmsKeyId, or neither); default none: the secret lives in the shared KMS. */
  kmsInstanceId?: string;
  /** The key in that instance that encrypts the secret; default none (see kmsInstanceId). */
  kmsKeyId?: string;
  /** Protect the secret and the encryption key (prod). Default false. */
  protect?: boolean;
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

/** The masters' KMS statements: read this one secret, decrypt with its key. */
export function secretStoreStatements(secretArn: pulumi.Input<string>, keyArn?: pulumi.Input<string>): pulumi.Output<PolicyStatement[]> {
  return pulumi
    .all([secretArn, keyArn])
    .apply(([arn, key]) => [
      { Effect: "Allow" as const, Action: ["kms:GetSecretValue"], Resource: [arn] },
      ...(key ? [{ Effect: "Allow" as const, Action: ["kms:Decrypt"], Resource: [key] }] : []),
    ]);
}

export class SecretStore extends pulumi.ComponentResource {
  public readonly secretName: string;
  public readonly secretArn: pulumi.Output<string>;

  constructor(name: string, args: SecretStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:cluster:SecretStore", name, {}, opts);
    if ((args.kmsInstanceId === undefined) !== (args.kmsKeyId === undefined)) {
      throw new pulumi.ResourceError(`SecretStore ${name}: kmsInstanceId and kmsKeyId go together (KMS 3.0 needs both)`, this);
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
        tags: args.tags,
      },
      kept,
    );
    this.secretArn = secret.arn;
    this.registerOutputs({ secretName: this.secretName, secretArn: this.secretArn });
  }
}
