// The api-server front: an internal SLB on 6443 whose backends are two HAProxy
// VMs, whose backends are the masters.
//
// Why HAProxy at all: an Alibaba SLB backend cannot reach the SLB's own address
// (no hairpin). Masters are nodes too, so if the masters were the SLB's backends,
// a master's kubelet talking to the SLB could be balanced to itself and time out.
// With HAProxy VMs as the only backends, every node (masters included) reaches
// the api-servers through SLB -> HAProxy -> any healthy master.
import * as alicloud from "@pulumi/alicloud";
import * as pulumi from "@pulumi/pulumi";
import { recordArtifact } from "../artifacts";
import { API_SERVER_PORT, HAPROXY_CHECK_PORT, HAPROXY_STATS_PORT, portRange, SLB_INSTANCE_CHARGE_TYPE } from "../network/ports";
import { NodePool, PoolVswitch } from "./nodePool";
import { renderHaproxyUserData } from "./cloudInit";
import { HAPROXY_MONITOR_URI, renderHaproxyCfg } from "./haproxy";
import { configDigest, haproxyRolloutCommand, ROLLOUT_COMMAND_TIMEOUT_SECONDS, STATS_PASSWORD_PLACEHOLDER } from "./haproxyRollout";
import { CloudAssistantReady } from "./cloudAssistant";

export interface ApiServerFrontArgs {
  /** Cluster (stack) name: prefixes the HAProxy VMs' and the SLB's cloud names. */
  clusterName: string;
  /** alicloud:region, for the Cloud Assistant readiness check (cloudAssistant.ts). */
  region: string;
  /** Every master, with its fixed private IP; HAProxy balances across all of them. Must not be empty. */
  masters: { name: string; ip: string }[];
  /** The cluster's vswitches; HAProxy VM i goes to vswitches[i mod length], the SLB to vswitches[0]. Must not be empty. */
  vswitches: PoolVswitch[];
  /** Fixed IPs of the two HAProxy VMs (different zones when there are two or more). */
  haproxyIps: [string, string];
  /** Fixed intranet address of the SLB, inside vswitches[0]; kubeadm's controlPlaneEndpoint. */
  slbAddress: string;
  /** The front's security group (6443 from the VPC, the check port from the SLB range). */
  securityGroupId: pulumi.Input<string>;
  /** Pinned OS image of the HAProxy VMs. */
  imageId: string;
  /** HAProxy VM size. Default ecs.c6.large (2 vCPU): TCP passthrough is cheap. */
  instanceType?: string;
  /** ECS and SLB deletion protection (on in prod). */
  deletionProtection: boolean;
  /** Tags on the VMs and the SLB. Default none. */
  tags?: Record<string, string>;
  /**
   * `platform:apiServerFront.statsPage`: serve HAProxy's basic-auth stats page on HAPROXY_STATS_PORT,
   * accepted (HAProxy ACL and security group rule) only from `statsFrom`. Default off.
   */
  statsPage?: boolean;
  /** The front's own vswitch CIDRs (controlPlaneAddresses.ts frontSubnets); required with statsPage. Default none (no stats page source). */
  statsFrom?: string[];
}

export class ApiServerFront extends pulumi.ComponentResource {
  /** `address:6443` of the internal SLB. */
  public readonly endpoint: string;
  public readonly slbId: pulumi.Output<string>;
  public readonly haproxyInstanceIds: pulumi.Output<string>[];
  /** The Cloud Assistant runs that apply the current haproxy.cfg, VM 0 then VM 1. */
  public readonly rollout: alicloud.ecs.EcsInvocation[];

  constructor(
    private readonly resourceName: string,
    private readonly args: ApiServerFrontArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("platform:cluster:ApiServerFront", resourceName, {}, opts);
    if (args.masters.length === 0) throw new pulumi.ResourceError(`ApiServerFront ${resourceName}: masters must not be empty`, this);
    if (args.vswitches.length === 0) throw new pulumi.ResourceError(`ApiServerFront ${resourceName}: vswitches must not be empty`, this);

    if (args.statsPage === true && (args.statsFrom ?? []).length === 0) {
      throw new pulumi.ResourceError(`ApiServerFront ${resourceName}: statsPage needs statsFrom (the front's subnets)`, this);
    }
    if (args.statsPage === true) this.statsRules(args.statsFrom ?? []);
    const cfg = this.haproxyConfig();
    const pool = this.haproxyPool(cfg);
    this.haproxyInstanceIds = pool.instanceIds;
    this.rollout = this.rolloutConfig(cfg, pool);
    const slb = this.loadBalancer();
    this.slbId = slb.id;
    this.listener(slb);
    this.backends(slb, pool);

    this.endpoint = `${args.slbAddress}:${API_SERVER_PORT}`;
    this.registerOutputs({ endpoint: this.endpoint, slbId: this.slbId });
  }

  /**
   * haproxy.cfg: every master behind 6443, the check port, the stats page when it is on. The
   * stats password is a placeholder, filled in on the VM (haproxyRollout.ts): the config holds no secret.
   */
  private haproxyConfig(): string {
    return renderHaproxyCfg({
      masters: this.args.masters.map((m) => ({ name: m.name, address: m.ip })),
      apiServerPort: API_SERVER_PORT,
      checkPort: HAPROXY_CHECK_PORT,
      statsPort: HAPROXY_STATS_PORT,
      ...(this.args.statsPage === true ? { statsPassword: STATS_PASSWORD_PLACEHOLDER, statsAllowFrom: this.args.statsFrom } : {}),
    });
  }

  /**
   * A changed config reaches the running VMs (whose user data is ignored after first boot)
   * through Cloud Assistant: a Command per config (content and name are ForceNew, so a new
   * config is a new command), and one Invocation per VM, each after the previous one; the
   * provider's create waits for Success, so VM 1 is only touched once VM 0 runs the new config.
   * Each Invocation waits for its VM's Cloud Assistant agent to be online (cloudAssistant.ts):
   * a command sent to a new VM before that is Aborted and fails `pulumi up`.
   */
  private rolloutConfig(cfg: string, pool: NodePool): alicloud.ecs.EcsInvocation[] {
    const command = new alicloud.ecs.Command(
      `${this.resourceName}-haproxy-cfg`,
      {
        // 1-128 characters (ecs_command docs); the digest names the config it carries.
        name: `${this.args.clusterName}-haproxy-cfg-${configDigest(cfg)}`,
        description: `haproxy.cfg for ${this.args.clusterName}'s api-server front (components/cluster/haproxyRollout.ts)`,
        commandContent: Buffer.from(haproxyRolloutCommand(cfg)).toString("base64"),
        type: "RunShellScript",
        timeout: ROLLOUT_COMMAND_TIMEOUT_SECONDS,
        workingDir: "/root",
      },
      { parent: this },
    );
    const runs: alicloud.ecs.EcsInvocation[] = [];
    for (const node of pool.nodes) {
      const previous = runs.at(-1);
      const agent = new CloudAssistantReady(
        `${this.resourceName}-haproxy-agent-${node.index}`,
        { instanceId: node.instance.id, regionId: this.args.region },
        { parent: this },
      );
      runs.push(
        new alicloud.ecs.EcsInvocation(
          `${this.resourceName}-haproxy-cfg-${node.index}`,
          { commandId: command.id, instanceIds: [node.instance.id], repeatMode: "Once" },
          {
            parent: this,
            dependsOn: previous === undefined ? [agent] : [agent, previous],
            // The provider waits 1 minute by default (ecs_invocation docs, Timeouts); a new VM's
            // first boot (packages) comes first, and the command may run for its full timeout.
            customTimeouts: { create: `${ROLLOUT_COMMAND_TIMEOUT_SECONDS / 60 + 5}m` },
          },
        ),
      );
    }
    return runs;
  }

  /** The stats page's security group rules: the front's own subnets only. */
  private statsRules(cidrs: string[]): void {
    for (const cidr of cidrs) {
      new alicloud.ecs.SecurityGroupRule(
        `${this.resourceName}-stats-from-${cidr.replace(/[./]/g, "-")}`,
        {
          type: "ingress",
          ipProtocol: "tcp",
          portRange: portRange(HAPROXY_STATS_PORT),
          securityGroupId: this.args.securityGroupId,
          nicType: "intranet",
          policy: "accept",
          priority: 1,
          description: "HAProxy stats page, from the front's own subnet",
          cidrIp: cidr,
        },
        { parent: this },
      );
    }
  }

  /** The two HAProxy VMs on their fixed addresses. */
  private haproxyPool(haproxyCfg: string): NodePool {
    const args = this.args;
    return new NodePool(
      `${this.resourceName}-haproxy`,
      {
        clusterName: args.clusterName,
        poolName: "haproxy",
        count: 2,
        instanceType: args.instanceType ?? "ecs.c6.large",
        imageId: args.imageId,
        vswitches: args.vswitches,
        securityGroupIds: [args.securityGroupId],
        fixedIps: args.haproxyIps,
        systemDiskGb: 40,
        deletionProtection: args.deletionProtection,
        userData: (i, hostname) => {
          const userData = renderHaproxyUserData(hostname, haproxyCfg);
          recordArtifact("haproxy", `${hostname}.cfg`, haproxyCfg);
          recordArtifact("cloud-init", `${hostname}.yaml`, userData);
          return userData;
        },
        tags: args.tags,
      },
      { parent: this },
    );
  }

  /** The internal SLB on the fixed address kubeadm uses as controlPlaneEndpoint. */
  private loadBalancer(): alicloud.slb.ApplicationLoadBalancer {
    const args = this.args;
    return new alicloud.slb.ApplicationLoadBalancer(
      `${this.resourceName}-slb`,
      {
        loadBalancerName: `${args.clusterName}-apiserver`,
        addressType: "intranet",
        vswitchId: args.vswitches[0].id,
        address: args.slbAddress,
        // Pay-by-LCU: no spec to choose, capacity follows the load. Alibaba stopped selling new
        // pay-by-specification CLBs on 2025-06-01 (doc-detail/127268, "Modify the configurations
        // of a pay-as-you-go instance"); the provider takes PayBySpec or PayByCLCU and ignores
        // load_balancer_spec under PayByCLCU (resource_alicloud_slb_load_balancer.go at 81c43b67).
        instanceChargeType: SLB_INSTANCE_CHARGE_TYPE,
        masterZoneId: args.vswitches[0].zone,
        slaveZoneId: args.vswitches[args.vswitches.length > 1 ? 1 : 0].zone,
        paymentType: "PayAsYouGo",
        deleteProtection: args.deletionProtection ? "on" : "off",
        tags: args.tags,
      },
      // A fixed address: a replacement cannot create the new SLB while the old one holds it.
      { parent: this, deleteBeforeReplace: true },
    );
  }

  /** TCP 6443, health-checked through each HAProxy's monitor port. */
  private listener(slb: alicloud.slb.ApplicationLoadBalancer): alicloud.slb.Listener {
    return new alicloud.slb.Listener(
      `${this.resourceName}-${API_SERVER_PORT}`,
      {
        loadBalancerId: slb.id,
        protocol: "tcp",
        frontendPort: API_SERVER_PORT,
        backendPort: API_SERVER_PORT,
        bandwidth: -1,
        scheduler: "wrr",
        // Watches are long-lived; 900 s is the SLB's maximum idle time and the
        // api-server's watch bookmarks keep connections busier than that.
        establishedTimeout: 900,
        healthCheck: "on",
        // Check HAProxy's monitor port, which fails when that HAProxy sees no
        // healthy master: the SLB then drains it.
        healthCheckType: "http",
        healthCheckConnectPort: HAPROXY_CHECK_PORT,
        healthCheckUri: HAPROXY_MONITOR_URI,
        healthCheckHttpCode: "http_2xx",
        healthCheckInterval: 2,
        healthCheckTimeout: 2,
        healthyThreshold: 2,
        unhealthyThreshold: 3,
      },
      { parent: this },
    );
  }

  /** Both HAProxy VMs as the SLB's default backends. */
  private backends(slb: alicloud.slb.ApplicationLoadBalancer, pool: NodePool): alicloud.slb.BackendServer {
    return new alicloud.slb.BackendServer(
      `${this.resourceName}-backends`,
      {
        loadBalancerId: slb.id,
        backendServers: pool.instanceIds.map((serverId) => ({ serverId, weight: 100, type: "ecs" })),
      },
      { parent: this },
    );
  }
}
