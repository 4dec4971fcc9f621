// N ECS instances from a count. Instance i is always named `<cluster>-<pool>-<i>`,
// sits in zone i mod zones, and its inputs depend only on i and the pool's own
// settings, never on the count: editing a count adds or removes only the highest
// indexes and leaves every other instance untouched.
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { nodeName } from "./nodeName";

export { nodeName };

export interface PoolVswitch {
  zone: string;
  id: pulumi.Input<string>;
}

export interface NodePoolArgs {
  /** Cluster (stack) name, the first part of every node name. */
  clusterName: string;
  /** Pool name, e.g. "general"; a DNS label. */
  poolName: string;
  /** How many instances. Note: lowering it removes the highest indexes (drain them first). */
  count: number;
  /** ECS instance type, e.g. ecs.g6.4xlarge (16 vCPU / 64 GiB). */
  instanceType: string;
  /** Pinned OS image id. */
  imageId: string;
  /** The cluster's vswitches; instance i goes to vswitches[i mod length]. */
  vswitches: PoolVswitch[];
  /** Security groups every instance joins. */
  securityGroupIds: pulumi.Input<string>[];
  /** Fixed private IPs by index (masters, HAProxy); omit for DHCP. */
  fixedIps?: string[];
  /** cloud-init user data for instance i with hostname `hostname`; stored as a secret. */
  userData: (index: number, hostname: string) => pulumi.Input<string>;
  /** ESSD system disk size in GiB. Default 120. */
  systemDiskGb?: number;
  /**
   * ECS deletion protection (on in prod). Note: a protected instance cannot be
   * deleted by `pulumi up`; scaling a prod pool in is a deliberate two-step (docs/runbooks/scale.md).
   */
  deletionProtection: boolean;
  /** Tags on every instance (the pool name is added). Default none. */
  tags?: Record<string, string>;
  /**
   * The labels and taints the pool's nodes join with (worker pools; kubeadm's nodeRegistration), recorded
   * as the component's inputs beside the pool's name so the pinned-capacity policy can read them from the
   * plan (policies/rules/capacity.ts, T18). Note: a node takes them once, at join. Default: none (a pool
   * of plain nodes, or one no app can be pinned to).
   */
  placement?: { labels?: Record<string, string>; taints?: { key: string; value?: string; effect: string }[] };
}

export interface PoolNode {
  index: number;
  name: string;
  zone: string;
  instance: alicloud.ecs.Instance;
}

export class NodePool extends pulumi.ComponentResource {
  public readonly nodes: PoolNode[];
  public readonly instanceIds: pulumi.Output<string>[];
  public readonly privateIps: pulumi.Output<string>[];

  constructor(name: string, args: NodePoolArgs, opts?: pulumi.ComponentResourceOptions) {
    super(
      "platform:compute:NodePool",
      name,
      // Not the count: the pack counts the pool's instances, so a scale-out changes no component.
      args.placement ? { pool: args.poolName, labels: args.placement.labels ?? {}, taints: args.placement.taints ?? [] } : {},
      opts,
    );
    if (!Number.isInteger(args.count) || args.count < 0)
      throw new pulumi.ResourceError(`NodePool ${name}: count must be a whole number >= 0, got ${args.count}`, this);
    if (args.vswitches.length === 0) throw new pulumi.ResourceError(`NodePool ${name}: vswitches must not be empty`, this);
    if (args.fixedIps && args.fixedIps.length < args.count) {
      throw new pulumi.ResourceError(`NodePool ${name}: fixedIps has ${args.fixedIps.length} addresses for ${args.count} instances`, this);
    }

    this.nodes = Array.from({ length: args.count }, (_, index) => {
      const node = nodeName(args.clusterName, args.poolName, index);
      const vsw = args.vswitches[index % args.vswitches.length];
      const instance = new alicloud.ecs.Instance(
        node,
        {
          instanceName: node,
          hostName: node,
          instanceType: args.instanceType,
          imageId: args.imageId,
          vswitchId: vsw.id,
          availabilityZone: vsw.zone,
          securityGroups: args.securityGroupIds,
          privateIp: args.fixedIps?.[index],
          // No public address: egress goes through the VPC's NAT gateway.
          internetMaxBandwidthOut: 0,
          instanceChargeType: "PostPaid",
          systemDiskCategory: "cloud_essd",
          systemDiskPerformanceLevel: "PL1",
          systemDiskSize: args.systemDiskGb ?? 120,
          deletionProtection: args.deletionProtection,
          securityEnhancementStrategy: "Active",
          // Metadata only in the hardened mode (a PUT-issued token first); the pod-network guard
          // (bootstrapUnits.ts) is what keeps pods out, since httpPutResponseHopLimit "is not
          // available for use yet" (instance.d.ts).
          httpTokens: "required",
          userData: pulumi.secret(args.userData(index, node)),
          tags: { ...args.tags, "platform:pool": args.poolName, "platform:node": node },
        },
        {
          parent: this,
          // User data only runs at first boot; a new bootstrap token or Kubernetes
          // version must not replace running nodes (upgrades are a kubeadm procedure).
          ignoreChanges: ["userData", "imageId"],
          // A fixed private IP (masters, HAProxy): a replacement must free it first.
          ...(args.fixedIps ? { deleteBeforeReplace: true } : {}),
        },
      );
      return { index, name: node, zone: vsw.zone, instance };
    });
    this.instanceIds = this.nodes.map((n) => n.instance.id);
    this.privateIps = this.nodes.map((n) => n.instance.privateIp);
    // The placement is an output too: CrossGuard's stack policies (pinned-capacity) see a component's
    // registered outputs, never its inputs (components/preview/policyCheck.ts).
    this.registerOutputs({
      instanceIds: this.instanceIds,
      privateIps: this.privateIps,
      ...(args.placement ? { pool: args.poolName, labels: args.placement.labels ?? {}, taints: args.placement.taints ?? [] } : {}),
    });
  }
}
