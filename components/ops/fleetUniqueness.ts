// Cross-stack uniqueness the preview cannot see (docs/threat-model.md, T25): each stack's
// preview knows only its own file, so two stack files can name the same OSS bucket (bucket
// names are global across Alibaba Cloud: the second stack's create fails, or worse, a
// stack adopts writes into a bucket it does not own) or give two VPCs the same or
// overlapping ranges (a later IPsec link, CEN attachment or peering between them cannot
// route, and operators cannot tell from an address which cluster it is). `npm run
// check:fleet` runs this over every stack file; the address plan (fleetAddressPlan.ts)
// checks the pod and service ranges of linked clusters, this one every pair. It also
// catches a stack file copied from another (docs/runbooks/add-a-cluster.md) that kept
// the other's per-stack values: its KMS key (and its KMS instance in another region),
// its SkyWalking UI host and its log user.
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
  /** `platform:network.podCidr`. */
  podCidr?: string;
  /** `platform:network.serviceCidr`. */
  serviceCidr?: string;
  /** `alicloud:region`. */
  region?: string;
  /** `platform:secretStore.kmsInstanceId`. */
  kmsInstanceId?: string;
  /** `platform:secretStore.kmsKeyId`. */
  kmsKeyId?: string;
  /** `platform:tracing.ui.host`. */
  tracingUiHost?: string;
  /** `platform:logging.user`. */
  loggingUser?: string;
}

/** Values each stack must have of its own, with why; a copied stack file that kept one is named with its source. */
const OWN_VALUES: { field: "kmsKeyId" | "tracingUiHost" | "loggingUser"; key: string; why: string }[] = [
  {
    field: "kmsKeyId",
    key: "secretStore.kmsKeyId",
    why: "each stack's PKI and join-token secrets are encrypted with a key of its own, the one its nodes' roles may decrypt with (docs/trust-model.md)",
  },
  { field: "tracingUiHost", key: "tracing.ui.host", why: "a host name reaches one cluster's ingress, so each stack's SkyWalking UI needs its own" },
  {
    field: "loggingUser",
    key: "logging.user",
    why: "the log store's user names the cluster that writes (its ACLs and audit), and each stack's password for it is in its own ESC environment",
  },
];

const RANGE_WHY: Record<"vpcCidr" | "podCidr" | "serviceCidr", string> = {
  vpcCidr: "every stack's VPC needs a range of its own (no link, CEN attachment or peering can route between overlapping VPCs)",
  podCidr: "every cluster needs pod and service ranges of its own (any two clusters linked later must not overlap, and an address should name one cluster)",
  serviceCidr: "every cluster needs pod and service ranges of its own (any two clusters linked later must not overlap, and an address should name one cluster)",
};

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
  for (const key of ["vpcCidr", "podCidr", "serviceCidr"] as const) {
    const ranges = stacks.filter((s) => {
      try {
        parseCidr(String(s[key]));
        return true;
      } catch {
        return false; // reported by the stack's own config validation
      }
    });
    for (let i = 0; i < ranges.length; i++) {
      for (let j = i + 1; j < ranges.length; j++) {
        const [a, b] = [ranges[i], ranges[j]];
        if (!overlaps(a[key]!, b[key]!)) continue;
        const how = a[key] === b[key] ? "is the same range as" : "overlaps";
        out.push(`Pulumi.${b.stack}.yaml: ${PROJECT}:network.${key}: ${b[key]} ${how} Pulumi.${a.stack}.yaml's ${a[key]}; ${RANGE_WHY[key]}`);
      }
    }
  }
  for (let i = 0; i < stacks.length; i++) {
    for (let j = i + 1; j < stacks.length; j++) {
      const [a, b] = [stacks[i], stacks[j]];
      for (const { field, key, why } of OWN_VALUES) {
        if (a[field] !== undefined && a[field] === b[field])
          out.push(`Pulumi.${b.stack}.yaml: ${PROJECT}:${key}: ${b[field]} is Pulumi.${a.stack}.yaml's too; ${why}`);
      }
      // Stacks of one region may share a KMS instance (docs/runbooks/first-bring-up.md); one serves its region only.
      if (a.kmsInstanceId !== undefined && a.kmsInstanceId === b.kmsInstanceId && a.region !== b.region)
        out.push(
          `Pulumi.${b.stack}.yaml: ${PROJECT}:secretStore.kmsInstanceId: ${b.kmsInstanceId} is Pulumi.${a.stack}.yaml's, an instance in ${a.region}; a KMS instance serves its own region, so ${b.stack} (${b.region}) needs one there`,
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
      const network = v[`${PROJECT}:network`] as { vpcCidr?: unknown; podCidr?: unknown; serviceCidr?: unknown } | undefined;
      const store = v[`${PROJECT}:secretStore`] as { kmsInstanceId?: unknown; kmsKeyId?: unknown } | undefined;
      const tracing = v[`${PROJECT}:tracing`] as { ui?: { host?: unknown } } | undefined;
      const logging = v[`${PROJECT}:logging`] as { user?: unknown } | undefined;
      const str = (x: unknown) => (typeof x === "string" ? x : undefined);
      return {
        stack,
        bucket: str(backup?.bucket),
        vpcCidr: str(network?.vpcCidr),
        podCidr: str(network?.podCidr),
        serviceCidr: str(network?.serviceCidr),
        region: str(v["alicloud:region"]),
        kmsInstanceId: str(store?.kmsInstanceId),
        kmsKeyId: str(store?.kmsKeyId),
        tracingUiHost: str(tracing?.ui?.host),
        loggingUser: str(logging?.user),
      };
    }),
  );
}
