// The stack's etcd backup bucket: private, versioned (an overwritten or deleted snapshot
// stays recoverable), encrypted at rest, public access blocked, and a lifecycle rule
// that expires snapshots after retentionDays, old versions a day later. Resources and
// fields: @pulumi/alicloud 3.108 oss.Bucket (versioning.status, serverSideEncryptionRule.
// sseAlgorithm, lifecycleRules[].expirations/noncurrentVersionExpirations/
// abortMultipartUploads) and oss.BucketPublicAccessBlock (blockPublicAccess), see
// node_modules/@pulumi/alicloud/oss/bucket.d.ts and bucketPublicAccessBlock.d.ts.
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { backupPrefix } from "./etcdBackup";

export interface BackupBucketArgs {
  /** Cluster (stack) name. */
  clusterName: string;
  /** Bucket name; global in OSS, so it carries the account's prefix. */
  bucketName: string;
  /** Days a snapshot is kept. */
  retentionDays: number;
  /** Prod: the bucket is not destroyed with its objects by `pulumi destroy`. */
  protect: boolean;
  /** Tags on the bucket. Default none. */
  tags?: Record<string, string>;
}

/** `<project>-<stack>-etcd-backup`, a valid OSS name (3-63 lowercase, digits, hyphens). */
export function backupBucketName(owner: string, clusterName: string): string {
  const name = `${owner}-${clusterName}-etcd-backup`;
  if (!/^[a-z0-9][-a-z0-9]{1,61}[a-z0-9]$/.test(name)) throw new Error(`etcd backup: bucket name ${JSON.stringify(name)} is not a valid OSS bucket name`);
  return name;
}

export class BackupBucket extends pulumi.ComponentResource {
  public readonly bucket: alicloud.oss.Bucket;
  public readonly bucketName: pulumi.Output<string>;
  /** The prefix the masters write under. */
  public readonly prefix: string;

  constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:cluster:BackupBucket", name, {}, opts);
    this.prefix = backupPrefix(args.clusterName);
    this.bucket = new alicloud.oss.Bucket(
      name,
      {
        bucket: args.bucketName,
        acl: "private",
        storageClass: "Standard",
        versioning: { status: "Enabled" },
        serverSideEncryptionRule: { sseAlgorithm: "AES256" },
        lifecycleRules: [
          {
            id: "etcd-snapshots",
            enabled: true,
            prefix: this.prefix,
            expirations: [{ days: args.retentionDays }],
            noncurrentVersionExpirations: [{ days: 1 }],
            abortMultipartUploads: [{ days: 1 }],
          },
        ],
        forceDestroy: !args.protect,
        tags: args.tags,
      },
      { parent: this, protect: args.protect },
    );
    this.bucketName = this.bucket.bucket.apply((b) => b ?? args.bucketName);
    new alicloud.oss.BucketPublicAccessBlock(
      name,
      { bucket: this.bucket.bucket.apply((b) => b ?? args.bucketName), blockPublicAccess: true },
      { parent: this },
    );
    this.registerOutputs({ bucketName: this.bucketName });
  }
}
