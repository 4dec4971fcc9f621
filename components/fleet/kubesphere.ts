// KubeSphere as the fleet's console (the seed's management plane). The host
// runs ks-core in the host role; each member runs it in the member role with
// the host's JWT secret (so one login works everywhere) and registers itself on
// the host as a `Cluster` object carrying its kubeconfig. Like the IPsec links,
// registration is the member's job: adding a member never edits the host stack.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ClusterAccess, HelmChart, helmRelease, inCluster } from "../k8s/k8sObjects";

export const KUBESPHERE_CHART: HelmChart = {
  name: "ks-core",
  chart: "ks-core",
  repo: "https://charts.kubesphere.io/main",
  /** ks-core 1.1.x ships KubeSphere 4.1. */
  version: "1.1.4",
  namespace: "kubesphere-system",
};

/** ks-core values for a role. The JWT secret is passed separately (it is a secret). */
export function kubesphereValues(role: "host" | "member", clusterName: string): Record<string, unknown> {
  return {
    multicluster: { role, hostClusterName: "host" },
    portal: { hostname: `ks-console.${clusterName}.kubesphere-system.svc` },
    // Usage data stays in the company.
    telemetry: { enabled: false },
    ha: { enabled: role === "host" },
    redisHA: { enabled: role === "host" },
  };
}

export interface KubesphereArgs {
  /** The cluster's provider and readiness gate; every object goes through it. */
  cluster: ClusterAccess;
  /** Stack (cluster) name: the `Cluster` object's name on the host. */
  clusterName: string;
  /** "host" for the host stack, "member" for every stack with `platform:hostStack` (required; no default). */
  role: "host" | "member";
  /** Chart version (`platform:kubesphere.version`). Default KUBESPHERE_CHART.version. */
  version?: string;
  /** Members: the host's JWT secret (secret). Required for members; default none (the host mints its own). */
  jwtSecret?: pulumi.Input<string>;
  /** Members: how to reach the host cluster, and this member's own kubeconfig and endpoint to register. Required for members; default none (the host registers nothing). */
  registration?: {
    hostKubeconfig: pulumi.Input<string>;
    memberKubeconfig: pulumi.Input<string>;
    memberServer: string;
  };
}

export class Kubesphere extends pulumi.ComponentResource {
  /** Secret: the JWT signing secret every cluster of the fleet shares. */
  public readonly jwtSecret: pulumi.Output<string>;

  constructor(name: string, args: KubesphereArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:fleet:Kubesphere", name, {}, opts);
    if (args.role === "member" && (!args.jwtSecret || !args.registration)) {
      throw new Error(`Kubesphere ${name}: a member needs the host's jwtSecret and registration details`);
    }
    this.jwtSecret =
      args.role === "host"
        ? new random.RandomPassword(`${name}-jwt`, { length: 32, special: false }, { parent: this }).result
        : pulumi.secret(pulumi.output(args.jwtSecret!));

    const release = helmRelease(
      `${name}-core`,
      {
        chart: KUBESPHERE_CHART,
        version: args.version,
        createNamespace: true,
        timeout: 900,
        values: pulumi.secret(
          this.jwtSecret.apply((jwtSecret) => ({
            ...kubesphereValues(args.role, args.clusterName),
            authentication: { issuer: { jwtSecret } },
          })),
        ),
      },
      inCluster(this, args.cluster),
    );

    if (args.registration) {
      const reg = args.registration;
      const hostProvider = new k8s.Provider(`${name}-host`, { kubeconfig: reg.hostKubeconfig, enableServerSideApply: true }, { parent: this });
      new k8s.apiextensions.CustomResource(
        `${name}-registration`,
        {
          apiVersion: "cluster.kubesphere.io/v1alpha1",
          kind: "Cluster",
          metadata: { name: args.clusterName, labels: { "cluster-role.kubesphere.io/member": "" } },
          spec: {
            provider: "Alibaba Cloud ECS (kubeadm)",
            connection: {
              type: "direct",
              kubernetesAPIEndpoint: reg.memberServer,
              kubeconfig: pulumi.secret(pulumi.output(reg.memberKubeconfig).apply((k) => Buffer.from(k).toString("base64"))),
            },
          },
        },
        // After the member's ks-core is up, so the host finds a member to talk to.
        { parent: this, provider: hostProvider, dependsOn: [release] },
      );
    }
    this.registerOutputs({});
  }
}
