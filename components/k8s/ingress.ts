// One global ingress controller per cluster, watching every namespace, instead
// of one controller (and one SLB) per namespace. Its NodePorts sit behind an
// intranet SLB whose backends are every worker of every pool, so scaling a pool
// out adds the new nodes to the SLB in the same `pulumi up`.
//
// The controller choice lives here and only here (INGRESS_CONTROLLER and
// ingressControllerValues): upstream ingress-nginx is retired since March 2026,
// and swapping it for a Gateway API implementation should touch this file alone.
import * as alicloud from "@pulumi/alicloud";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformSettings } from "../config/schema";
import type { Network } from "../network/network";
import { ClusterAccess, HelmChart, helmRelease, inCluster } from "./k8sObjects";
import { mirroredRegistry } from "./images";
import { ingressNodePortProblems } from "../network/networkRules";
import { HTTP_PORT, HTTPS_PORT, INGRESS_HTTP_NODE_PORT, INGRESS_HTTPS_NODE_PORT, SLB_HEALTH_CHECK_CIDR, SLB_INSTANCE_CHARGE_TYPE } from "../network/ports";

export const INGRESS_CONTROLLER: HelmChart = {
  name: "ingress-nginx",
  chart: "ingress-nginx",
  repo: "https://kubernetes.github.io/ingress-nginx",
  /**
   * Pinned default (`platform:ingress.chartVersion` overrides it). kubernetes/ingress-nginx README at
   * dbb11b92 (2026-03-20), "Supported Versions table": chart 4.15.1 / controller v1.15.1 is the newest
   * release and the only line tested on Kubernetes 1.35 (1.35-1.31); 4.12.1 stopped at 1.32. No release
   * lists 1.36 or 1.37: the project is retired (README: best-effort maintenance until March 2026), so
   * clusters on 1.36+ run an untested controller until it is replaced by a Gateway API implementation.
   */
  version: "4.15.1",
  namespace: "ingress-nginx",
};

/** The IngressClass every app's Ingress names. */
export const INGRESS_CLASS = "nginx";

export interface IngressControllerSettings {
  clusterName: string;
  replicas: number;
  httpNodePort: number;
  httpsNodePort: number;
  /** Ranges whose X-Forwarded-For is trusted (the VPC: the WAF/edge and the SLB). */
  trustedCidrs: string[];
  /** `platform:images.registry`. Default none (registry.k8s.io). */
  imageMirror?: string;
}

/**
 * The controller pods' labels as the chart sets them: ingress-nginx 4.15.1 templates/controller-deployment.yaml pod
 * template = `ingress-nginx.selectorLabels` (templates/_helpers.tpl: app.kubernetes.io/name = the chart name
 * "ingress-nginx", app.kubernetes.io/instance = the release name, which Pulumi suffixes) plus
 * app.kubernetes.io/component "controller". In INGRESS_CONTROLLER.namespace. The UI's NetworkPolicy admits these (T29).
 */
export const INGRESS_CONTROLLER_POD_LABELS = { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller" };

/** Helm values of the global controller. Pure, so tests and policies read it directly. */
export function ingressControllerValues(s: IngressControllerSettings): Record<string, unknown> {
  return {
    // ingress-nginx 4.15.1 values.yaml `global.image.registry` (registry.k8s.io): merged into the controller's
    // and the admission patch Jobs' image (templates/controller-deployment.yaml:87, job-patch/job-*.yaml),
    // which keep their digests.
    global: { image: { registry: mirroredRegistry("registry.k8s.io", s.imageMirror) } },
    controller: {
      replicaCount: s.replicas,
      // One controller for the whole cluster: no namespace scoping.
      scope: { enabled: false },
      watchIngressWithoutClass: false,
      ingressClass: INGRESS_CLASS,
      ingressClassResource: {
        name: INGRESS_CLASS,
        enabled: true,
        default: true,
        controllerValue: "k8s.io/ingress-nginx",
      },
      electionID: "ingress-nginx-leader",
      service: {
        type: "NodePort",
        nodePorts: { http: s.httpNodePort, https: s.httpsNodePort },
        // Every worker forwards to the controller pods, so every SLB backend is
        // healthy; the client address arrives in X-Forwarded-For from the edge.
        externalTrafficPolicy: "Cluster",
      },
      config: {
        "use-forwarded-headers": "true",
        "proxy-real-ip-cidr": s.trustedCidrs.join(","),
        "keep-alive-requests": "10000",
        "upstream-keepalive-connections": "320",
        "proxy-body-size": "20m",
        "worker-shutdown-timeout": "60s",
      },
      metrics: { enabled: true, serviceMonitor: { enabled: true } },
      podAnnotations: { "platform/cluster": s.clusterName },
      resources: { requests: { cpu: "1", memory: "1Gi" } },
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: "topology.kubernetes.io/zone",
          whenUnsatisfiable: "ScheduleAnyway",
          labelSelector: { matchLabels: INGRESS_CONTROLLER_POD_LABELS },
        },
      ],
      autoscaling: { enabled: false },
      minAvailable: 1,
      admissionWebhooks: { enabled: true },
    },
    defaultBackend: { enabled: false },
  };
}

export interface GlobalIngressArgs {
  /** The cluster's provider and readiness gate (plus anything the release must wait for). */
  cluster: ClusterAccess;
  /** Stack name: prefixes the SLB's and server groups' cloud names. */
  clusterName: string;
  /**
   * `platform:ingress`, as configured: `chartVersion` (default INGRESS_CONTROLLER.version), `controllerReplicas` (default 6 in production, 2
   * elsewhere), `httpNodePort`/`httpsNodePort` (defaults INGRESS_HTTP_NODE_PORT and
   * INGRESS_HTTPS_NODE_PORT, 30080/30443). `slbSpec` is refused by config validation:
   * the SLB is pay-by-LCU and has no spec.
   */
  ingress?: PlatformSettings["ingress"];
  /**
   * The cluster's network: the SLB sits in its first vswitch with its standby in the
   * second zone (the first again when there is only one), and the VPC range is trusted
   * for X-Forwarded-For.
   */
  network: Pick<Network, "vswitches" | "vpcCidr">;
  /** Every worker, from every pool: the SLB's backends. */
  workers: { name: string; id: pulumi.Input<string> }[];
  /** Production: the larger replica default. */
  production: boolean;
  /** SLB deletion protection. Default: `production`. */
  deletionProtection?: boolean;
  /** `platform:images.registry`. Default none (upstream). */
  imageMirror?: string;
  /** Tags on the SLB. Default none. */
  tags?: Record<string, string>;
}

export class GlobalIngress extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;
  public readonly slbAddress: pulumi.Output<string>;

  constructor(name: string, args: GlobalIngressArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:k8s:GlobalIngress", name, {}, opts);
    const httpNodePort = args.ingress?.httpNodePort ?? INGRESS_HTTP_NODE_PORT;
    const httpsNodePort = args.ingress?.httpsNodePort ?? INGRESS_HTTPS_NODE_PORT;
    // The same rule config validation runs (network/networkRules.ts), so a user's input reaches it there first.
    const portProblems = ingressNodePortProblems(args.ingress);
    if (portProblems.length > 0) throw new pulumi.ResourceError(`GlobalIngress ${name}: ${portProblems.join("; ")}`, this);
    const vswitches = args.network.vswitches;
    const vpcCidr = args.network.vpcCidr;

    this.release = helmRelease(
      `${name}-controller`,
      {
        chart: INGRESS_CONTROLLER,
        version: args.ingress?.chartVersion,
        createNamespace: true,
        atomic: true,
        timeout: 600,
        values: ingressControllerValues({
          clusterName: args.clusterName,
          // The one default for the replica count.
          replicas: args.ingress?.controllerReplicas ?? (args.production ? 6 : 2),
          httpNodePort,
          httpsNodePort,
          trustedCidrs: [vpcCidr, SLB_HEALTH_CHECK_CIDR],
          imageMirror: args.imageMirror,
        }),
      },
      inCluster(this, args.cluster),
    );

    // Intranet: public traffic arrives through the company's edge (WAF/CDN) into the
    // VPC, so the NodePorts stay closed to the internet (security group: VPC only).
    const slb = new alicloud.slb.ApplicationLoadBalancer(
      `${name}-slb`,
      {
        loadBalancerName: `${args.clusterName}-ingress`,
        addressType: "intranet",
        vswitchId: vswitches[0].id,
        // Pay-by-LCU, no spec: see SLB_INSTANCE_CHARGE_TYPE (new pay-by-spec CLBs are not sold since 2025-06-01).
        instanceChargeType: SLB_INSTANCE_CHARGE_TYPE,
        masterZoneId: vswitches[0].zone,
        slaveZoneId: vswitches[Math.min(1, vswitches.length - 1)].zone,
        paymentType: "PayAsYouGo",
        deleteProtection: (args.deletionProtection ?? args.production) ? "on" : "off",
        tags: args.tags,
      },
      { parent: this },
    );
    this.slbAddress = slb.address;

    for (const [port, nodePort] of [
      [HTTP_PORT, httpNodePort],
      [HTTPS_PORT, httpsNodePort],
    ] as const) {
      const group = new alicloud.slb.ServerGroup(`${name}-${port}`, { loadBalancerId: slb.id, name: `${args.clusterName}-ingress-${port}` }, { parent: this });
      // One attachment per worker: adding a node adds one attachment, nothing else changes.
      const attachments = args.workers.map(
        (w) =>
          new alicloud.slb.ServerGroupServerAttachment(
            `${name}-${port}-${w.name}`,
            { serverGroupId: group.id, serverId: w.id, port: nodePort, weight: 100, type: "ecs" },
            { parent: this },
          ),
      );
      new alicloud.slb.Listener(
        `${name}-${port}`,
        {
          loadBalancerId: slb.id,
          protocol: "tcp",
          frontendPort: port,
          serverGroupId: group.id,
          bandwidth: -1,
          scheduler: "wrr",
          healthCheck: "on",
          healthCheckType: "tcp",
          healthCheckConnectPort: nodePort,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
          healthCheckInterval: 2,
        },
        // The provider's slb_server_group_server_attachment doc (website/docs/r/, line 17 at
        // 81c43b67): applying an attachment may conflict with applying its listener, so the
        // listener should depend on the attachments.
        { parent: this, dependsOn: attachments },
      );
    }
    this.registerOutputs({ slbAddress: this.slbAddress });
  }
}
