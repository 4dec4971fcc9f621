// The stack's etcd backup bucket: private, versioned, encrypted at rest, public access
// blocked. Its promise: an overwritten or deleted snapshot stays recoverable for
// retentionDays, as long as a snapshot is kept at all. The masters' role may only
// PutObject under the prefix, and is denied every call that destroys a version or the
// rules (masterRole.ts backupStatements), so a compromised master can bury snapshots
// under new versions but not remove them; the old versions outlive it by retentionDays.
// Lifecycle (terraform-provider-alicloud 81c43b67 website/docs/r/oss_bucket.html.markdown
// :700-708): on a versioned bucket expiry by `days` only writes a delete marker, and
// `expired_object_delete_marker` (which removes markers with no version left behind them)
// "cannot be specified with Days" in one expiration, so it is a second rule on the same
// prefix, which OSS accepts with `lifecycle_rule_allow_same_action_overlap` (:646). Rules:
// - etcd-snapshots: current snapshots expire after retentionDays (a delete marker),
//   noncurrent versions retentionDays after they became noncurrent, unfinished multipart
//   uploads after a day;
// - etcd-delete-markers: expired delete markers go (else one per snapshot, forever).
// Resources and fields: @pulumi/alicloud 3.108 oss.Bucket and oss.BucketPublicAccessBlock
// (node_modules/@pulumi/alicloud/oss/bucket.d.ts and bucketPublicAccessBlock.d.ts).
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

export { backupBucketName } from "./backupBucketName";

/** The two lifecycle rules (see the header): snapshots and their old versions kept retentionDays each, expired delete markers removed. */
export function backupLifecycleRules(prefix: string, retentionDays: number): alicloud.types.input.oss.BucketLifecycleRule[] {
  return [
    {
      id: "etcd-snapshots",
      enabled: true,
      prefix,
      expirations: [{ days: retentionDays }],
      noncurrentVersionExpirations: [{ days: retentionDays }],
      abortMultipartUploads: [{ days: 1 }],
    },
    { id: "etcd-delete-markers", enabled: true, prefix, expirations: [{ expiredObjectDeleteMarker: true }] },
  ];
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
        lifecycleRules: backupLifecycleRules(this.prefix, args.retentionDays),
        lifecycleRuleAllowSameActionOverlap: true,
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
