// The masters' instance RAM role: what the masters may do in the account, as STS
// credentials the metadata service hands out (no AccessKey on any disk). Kept apart so
// each capability adds its own statements (the etcd backup here; the bootstrap's secret
// store later) and each is reviewed on its own. Types: @pulumi/alicloud 3.108
// ram.Role (assumeRolePolicyDocument; `document`/`name` are deprecated),
// ram.Policy (policyDocument), ram.RolePolicyAttachment, and ecs.RamRoleAttachment
// (the instance's own `roleName` is deprecated since provider 1.275.0).
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";

export interface PolicyStatement {
  Effect: "Allow" | "Deny";
  Action: string[];
  Resource: string[];
  /** RAM policy Condition: operator -> key -> values, e.g. { StringEquals: { "acs:ResourceTag/k": ["v"] } }. */
  Condition?: Record<string, Record<string, string[]>>;
}

/** The only thing the backup needs: put objects under the stack's prefix. No read, no delete, no list; deletes and rule changes denied outright. */
export function backupStatements(bucket: string, prefix: string): PolicyStatement[] {
  if (!prefix.endsWith("/") || prefix.includes("*"))
    throw new Error(`master role: backup prefix ${JSON.stringify(prefix)} must end in "/" and hold no wildcard`);
  return [
    { Effect: "Allow", Action: ["oss:PutObject"], Resource: [`acs:oss:*:*:${bucket}/${prefix}*`] },
    // History stays out of reach whatever else the role is given: an explicit Deny wins over any
    // Allow in RAM (RAM "How RAM evaluates policies", help/en/ram/policy-evaluation-process, last
    // updated 2026-06-02; Action takes `*` wildcards, "Policy elements", doc-detail/93738). Denied:
    // every delete on the bucket or its objects (oss:Delete*: DeleteObject; DeleteObjectVersion,
    // which OSS "DeleteObject", doc-detail/31982, requires for a named version; DeleteBucket and
    // the Delete of its lifecycle, policy, public access block, replication) and every bucket
    // setting (oss:PutBucket*: versioning, lifecycle, policy, ACL, public access block,
    // replication), so no rule change can expire, expose or copy away the history.
    { Effect: "Deny", Action: BACKUP_DENIED_ACTIONS, Resource: [`acs:oss:*:*:${bucket}`, `acs:oss:*:*:${bucket}/*`] },
  ];
}

/** What the masters may never do to the backup bucket (backupStatements): any delete, any bucket setting. */
export const BACKUP_DENIED_ACTIONS = ["oss:Delete*", "oss:PutBucket*"];

/**
 * A RAM policy keeps at most five versions, and the sixth edit is refused unless the oldest
 * non-default one is dropped (terraform-provider-alicloud 81c43b67 website/docs/r/
 * ram_policy.html.markdown:21 and :74, `rotate_strategy`, default None; sent as RotateStrategy
 * by resource_alicloud_ram_policy.go:302-303).
 */
export const POLICY_ROTATE_STRATEGY = "DeleteOldestNonDefaultVersionWhenLimitExceeded";

/** The trust policy: only ECS instances may assume the role. */
export const ECS_TRUST_POLICY = JSON.stringify({
  Version: "1",
  Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Principal: { Service: ["ecs.aliyuncs.com"] } }],
});

export interface MasterRoleArgs {
  /** Cluster (stack) name; the role is `<cluster>-masters`. */
  clusterName: string;
  /** Statements by capability, e.g. { "etcd-backup": backupStatements(...) }; one policy each. */
  statements: Record<string, pulumi.Input<PolicyStatement[]>>;
  /** The master instances the role is attached to. */
  instanceIds: pulumi.Input<string>[];
}

export class MasterRole extends pulumi.ComponentResource {
  public readonly roleName: pulumi.Output<string>;

  constructor(name: string, args: MasterRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:cluster:MasterRole", name, {}, opts);
    const parent = { parent: this };
    const role = new alicloud.ram.Role(
      name,
      {
        roleName: `${args.clusterName}-masters`,
        assumeRolePolicyDocument: ECS_TRUST_POLICY,
        description: `Instance role of ${args.clusterName}'s masters (Pulumi)`,
      },
      parent,
    );
    this.roleName = role.roleName;
    for (const [capability, statements] of Object.entries(args.statements)) {
      const policy = new alicloud.ram.Policy(
        `${name}-${capability}`,
        {
          policyName: `${args.clusterName}-masters-${capability}`,
          policyDocument: pulumi.output(statements).apply((s) => JSON.stringify({ Version: "1", Statement: s })),
          description: `${capability} for ${args.clusterName}'s masters (Pulumi)`,
          rotateStrategy: POLICY_ROTATE_STRATEGY,
        },
        parent,
      );
      new alicloud.ram.RolePolicyAttachment(`${name}-${capability}`, { roleName: role.roleName, policyName: policy.policyName, policyType: "Custom" }, parent);
    }
    args.instanceIds.forEach((id, i) => new alicloud.ecs.RamRoleAttachment(`${name}-${i}`, { instanceId: id, ramRoleName: role.roleName }, parent));
    this.registerOutputs({ roleName: this.roleName });
  }
}
