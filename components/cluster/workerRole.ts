// The workers' instance RAM role: like the masters' (masterRole.ts: ECS trust,
// one policy per capability), for what pods on workers reach through the
// metadata service. ECS takes one role per instance; masters have theirs.
// Capabilities: the worker join token (read at boot by the bootstrap, workerToken.ts) on every
// stack, and the disk CSI plugins (k8s/diskCsi.ts) where enabled.
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { ECS_TRUST_POLICY, POLICY_ROTATE_STRATEGY, PolicyStatement } from "./masterRole";

/** The role's name, `<cluster>-workers`: the workers' bootstrap names it before the role exists (the join token, workerToken.ts). */
export function workerRoleName(clusterName: string): string {
  return `${clusterName}-workers`;
}

export interface WorkerRoleArgs {
  /** Cluster (stack) name; the role is `<cluster>-workers`. Required. */
  clusterName: string;
  /** Statements by capability; one policy each. Required (at least one). */
  statements: Record<string, PolicyStatement[]>;
  /** Every worker instance, of every pool, by node name (the attachment is named after it, so scaling one pool touches no other pool's). Required. */
  workers: { name: string; id: pulumi.Input<string> }[];
}

export class WorkerRole extends pulumi.ComponentResource {
  public readonly roleName: pulumi.Output<string>;

  constructor(name: string, args: WorkerRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:cluster:WorkerRole", name, {}, opts);
    const parent = { parent: this };
    const role = new alicloud.ram.Role(
      name,
      {
        roleName: workerRoleName(args.clusterName),
        assumeRolePolicyDocument: ECS_TRUST_POLICY,
        description: `Instance role of ${args.clusterName}'s workers (Pulumi)`,
      },
      parent,
    );
    this.roleName = role.roleName;
    for (const [capability, statements] of Object.entries(args.statements)) {
      const policy = new alicloud.ram.Policy(
        `${name}-${capability}`,
        {
          policyName: `${args.clusterName}-workers-${capability}`,
          policyDocument: JSON.stringify({ Version: "1", Statement: statements }),
          description: `${capability} for ${args.clusterName}'s workers (Pulumi)`,
          rotateStrategy: POLICY_ROTATE_STRATEGY,
        },
        parent,
      );
      new alicloud.ram.RolePolicyAttachment(`${name}-${capability}`, { roleName: role.roleName, policyName: policy.policyName, policyType: "Custom" }, parent);
    }
    for (const w of args.workers) new alicloud.ecs.RamRoleAttachment(`${name}-${w.name}`, { instanceId: w.id, ramRoleName: role.roleName }, parent);
    this.registerOutputs({ roleName: this.roleName });
  }
}
