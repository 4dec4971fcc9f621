// Cross-stack uniqueness the preview cannot see (docs/threat-model.md, T25): each stack's
// preview knows only its own file, so two stack files can name the same OSS bucket (bucket
// names are global across Alibaba Cloud: the second stack's create fails, or worse, a
// stack adopts writes into a bucket it does not own) or give two VPCs the same or
// overlapping ranges (a later IPsec link, CEN attachment or peering between them cannot
// route, and operators cannot tell from an address which cluster it is). `npm run
// check:fleet` runs this over every stack file; the address plan (fleetAddressPlan.ts)
// checks the pod and service ranges of linked clusters.
import { overlaps, parseCidr } from "../../policies/rules/cidr";
import { etcdBackupBucket } from "../cluster/backupBucketName";
import { PROJECT } from "../config/keys";
import { readStackFile } from "../config/stackFiles";

/** What this check reads from one stack file. */
export interface StackNames {
  stack: string;
  /** `platform:etcdBackup.bucket` as configured (undefined: the default name). */
  bucket?: string;
  /** `platform:network.vpcCidr`. */
  vpcCidr?: string;
}

/** One line per clash: a bucket name two stacks use, a VPC range equal to or overlapping another stack's. */
export function uniquenessProblems(stacks: StackNames[]): string[] {
  const out: string[] = [];
  const byBucket = new Map<string, string[]>();
  for (const s of stacks) {
    let name: string;
    try {
      name = etcdBackupBucket(s.bucket, s.stack);
    } catch {
      continue; // the stack's own config validation names an invalid bucket
    }
    byBucket.set(name, [...(byBucket.get(name) ?? []), s.stack]);
  }
  for (const [name, users] of byBucket) {
    if (users.length < 2) continue;
    out.push(
      `${users.map((u) => `Pulumi.${u}.yaml`).join(", ")}: ${PROJECT}:etcdBackup.bucket: ${users.length} stacks use the OSS bucket ${name}; bucket names are global, so each stack needs its own (the default is livemall-<stack>-etcd-backup)`,
    );
  }
  const ranges = stacks.filter((s) => {
    try {
      parseCidr(String(s.vpcCidr));
      return true;
    } catch {
      return false; // reported by the stack's own config validation
    }
  });
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const [a, b] = [ranges[i], ranges[j]];
      if (!overlaps(a.vpcCidr!, b.vpcCidr!)) continue;
      const how = a.vpcCidr === b.vpcCidr ? "is the same range as" : "overlaps";
      out.push(
        `Pulumi.${b.stack}.yaml: ${PROJECT}:network.vpcCidr: ${b.vpcCidr} ${how} Pulumi.${a.stack}.yaml's ${a.vpcCidr}; every stack's VPC needs a range of its own (no link, CEN attachment or peering can route between overlapping VPCs)`,
      );
    }
  }
  return out;
}

/** The check over the stack files in `dir`. */
export function fleetUniquenessProblems(stacks: string[], dir: string): string[] {
  return uniquenessProblems(
    stacks.map((stack) => {
      const v = readStackFile(stack, dir).values;
      const backup = v[`${PROJECT}:etcdBackup`] as { bucket?: unknown } | undefined;
      const network = v[`${PROJECT}:network`] as { vpcCidr?: unknown } | undefined;
      return {
        stack,
        bucket: typeof backup?.bucket === "string" ? backup.bucket : undefined,
        vpcCidr: typeof network?.vpcCidr === "string" ? network.vpcCidr : undefined,
      };
    }),
  );
}
