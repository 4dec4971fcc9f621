// KubeSphere as the fleet's console (the seed's management plane). The host
// stack installs ks-core in the host role. A member stack installs no ks-core
// at all: it registers itself on the host as a `Cluster` object carrying its
// kubeconfig and its ks-core values (`spec.config`), and the host's cluster
// controller installs and upgrades the member's ks-core release with the host's
// JWT secret (kubesphere v4.1.3 pkg/controller/cluster/cluster_controller.go
// reconcileMemberCluster -> helper.go installKSCoreInMemberCluster: `helm
// install/upgrade ks-core` with spec.config plus role=member, upgrade.enabled=false
// and the host's jwtSecret, again whenever spec.config's hash changes). A Pulumi
// release on the member would have two owners. Like the IPsec links,
// registration is the member's job: adding a member never edits the host stack.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as YAML from "yaml";
import { mirroredRegistry } from "../k8s/images";
import { ClusterAccess, HelmChart, helmRelease, inCluster } from "../k8s/k8sObjects";

export const KUBESPHERE_CHART: HelmChart = {
  name: "ks-core",
  chart: "ks-core",
  repo: "https://charts.kubesphere.io/main",
  /** ks-core 1.1.x ships KubeSphere 4.1. */
  version: "1.1.4",
  namespace: "kubesphere-system",
};

/**
 * ks-core 1.1.4 values (kubesphere v4.1.3 config/ks-core/values.yaml) for a role. The JWT secret is passed
 * separately (it is a secret). `portal.hostname` keeps the chart's default `ks-console.kubesphere-system.svc`
 * (values.yaml:34), the name the ks-console Service really has (templates/ks-console.yaml, host role only);
 * it is the OAuth issuer URL (templates/kubesphere-config.yaml via _helpers.tpl `portal.url`), so an
 * invented name would point console links and issuer discovery nowhere. `global.imageRegistry` (values.yaml:4,
 * docker.io) is read by templates/_images.tpl:41 for every image whose own `registry` is "" (all of them).
 */
export function kubesphereValues(role: "host" | "member", imageMirror?: string): Record<string, unknown> {
  return {
    multicluster: { role, hostClusterName: "host" },
    ...(imageMirror ? { global: { imageRegistry: mirroredRegistry("docker.io", imageMirror) } } : {}),
    ha: { enabled: role === "host" },
    redisHA: { enabled: role === "host" },
  };
}

/** The `Cluster` object's spec.config: base64 YAML of the member's values (CRD cluster.kubesphere.io_clusters.yaml, `config`, format: byte). */
export function memberClusterConfig(imageMirror?: string): string {
  return Buffer.from(YAML.stringify(kubesphereValues("member", imageMirror))).toString("base64");
}

/** The Secret the chart's `telemetry.enabled` helper looks up (templates/_helpers.tpl:106-117). */
export const TELEMETRY_SECRET = "io.kubesphere.config.platformconfig.telemetry";

/**
 * The telemetry platform config, off. ks-core 1.1.4 reads no `telemetry.enabled` value: _helpers.tpl:106-117
 * `telemetry.enabled` returns the `enabled` of an existing Secret TELEMETRY_SECRET (key configuration.yaml),
 * else true, and templates/platformconfig-telemetry.yaml (host role) renders that Secret with it. So the
 * Secret exists before the release, with the content the template renders (no drift when Helm re-renders it),
 * and Helm's ownership metadata so Helm adopts it instead of failing on an existing object.
 */
export function telemetrySecret(namespace: string, releaseName: string): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: TELEMETRY_SECRET,
      namespace,
      labels: { "app.kubernetes.io/managed-by": "Helm" },
      annotations: { "meta.helm.sh/release-name": releaseName, "meta.helm.sh/release-namespace": namespace },
    },
    type: "config.kubesphere.io/generic-platform-config",
    stringData: { "configuration.yaml": 'enabled: false\nendpoint: "https://kubesphere.cloud"\n' },
  };
}

export interface KubesphereArgs {
  /** The cluster's provider and readiness gate; every object goes through it. */
  cluster: ClusterAccess;
  /** Stack (cluster) name: the `Cluster` object's name on the host. */
  clusterName: string;
  /** "host" for the host stack, "member" for every stack with `platform:hostStack` (required; no default). */
  role: "host" | "member";
  /** Chart version (`platform:kubesphere.version`), host only (members get the host's bundled chart). Default KUBESPHERE_CHART.version. */
  version?: string;
  /** `platform:images.registry`: ks-core's images through the mirror, on the host and (through spec.config) on members. Default none (docker.io). */
  imageMirror?: string;
  /** Members: how to reach the host cluster, and this member's own kubeconfig and endpoint to register. Required for members; default none (the host registers nothing). */
  registration?: {
    hostKubeconfig: pulumi.Input<string>;
    memberKubeconfig: pulumi.Input<string>;
    memberServer: string;
  };
}

export class Kubesphere extends pulumi.ComponentResource {
  /** Host only (secret): the JWT signing secret every cluster of the fleet shares; the host's controller hands it to members. */
  public readonly jwtSecret?: pulumi.Output<string>;

  constructor(name: string, args: KubesphereArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:fleet:Kubesphere", name, {}, opts);
    if (args.role === "member" && !args.registration) {
      throw new Error(`Kubesphere ${name}: a member needs the host's registration details`);
    }
    if (args.role === "member" && args.version !== undefined) {
      throw new Error(
        `Kubesphere ${name}: platform:kubesphere.version is for the host only (the host's controller installs the member's ks-core from its own chart)`,
      );
    }

    if (args.role === "host") {
      this.jwtSecret = new random.RandomPassword(`${name}-jwt`, { length: 32, special: false }, { parent: this }).result;
      const ns = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: KUBESPHERE_CHART.namespace } }, inCluster(this, args.cluster));
      const { apiVersion: _a, kind: _k, ...telemetry } = telemetrySecret(KUBESPHERE_CHART.namespace, KUBESPHERE_CHART.name);
      const telemetryOff = new k8s.core.v1.Secret(`${name}-telemetry`, telemetry as k8s.core.v1.SecretArgs, inCluster(this, args.cluster, { dependsOn: [ns] }));
      const jwt = this.jwtSecret;
      helmRelease(
        `${name}-core`,
        {
          chart: KUBESPHERE_CHART,
          version: args.version,
          createNamespace: false,
          timeout: 900,
          values: pulumi.secret(jwt.apply((jwtSecret) => ({ ...kubesphereValues("host", args.imageMirror), authentication: { issuer: { jwtSecret } } }))),
        },
        inCluster(this, args.cluster, { dependsOn: [ns, telemetryOff] }),
      );
    }

    if (args.registration) {
      const reg = args.registration;
      const hostProvider = new k8s.Provider(`${name}-host`, { kubeconfig: reg.hostKubeconfig, enableServerSideApply: true }, { parent: this });
      const config = memberClusterConfig(args.imageMirror);
      new k8s.apiextensions.CustomResource(
        `${name}-registration`,
        {
          apiVersion: "cluster.kubesphere.io/v1alpha1",
          kind: "Cluster",
          // No role label: v4.1.3 defines only cluster-role.kubesphere.io/host (cluster_types.go:14).
          metadata: { name: args.clusterName },
          spec: {
            provider: "Alibaba Cloud ECS (kubeadm)",
            config,
            connection: {
              type: "direct",
              kubernetesAPIEndpoint: reg.memberServer,
              kubeconfig: pulumi.secret(pulumi.output(reg.memberKubeconfig).apply((k) => Buffer.from(k).toString("base64"))),
            },
          },
        },
        // After the member's api-server answers: the host's controller connects to it and installs ks-core.
        { parent: this, provider: hostProvider, dependsOn: [args.cluster.readiness] },
      );
    }
    this.registerOutputs({});
  }
}
