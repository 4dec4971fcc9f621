// The etcd backup bucket's default name, pure (no Pulumi import) so `npm run check:fleet` can
// compare every stack's bucket without loading the provider: OSS bucket names are global.

/** `<project>-<stack>-etcd-backup`, a valid OSS name (3-63 lowercase, digits, hyphens). */
export function backupBucketName(owner: string, clusterName: string): string {
  const name = `${owner}-${clusterName}-etcd-backup`;
  if (!/^[a-z0-9][-a-z0-9]{1,61}[a-z0-9]$/.test(name)) throw new Error(`etcd backup: bucket name ${JSON.stringify(name)} is not a valid OSS bucket name`);
  return name;
}

/** The owner part of the default name. */
export const BACKUP_BUCKET_OWNER = "livemall";

/** The stack's bucket: `platform:etcdBackup.bucket`, or the default name. */
export function etcdBackupBucket(configured: string | undefined, stack: string): string {
  return configured ?? backupBucketName(BACKUP_BUCKET_OWNER, stack);
}
