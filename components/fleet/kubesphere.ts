// KubeSphere as the fleet's console (the seed's management plane). The host
// stack installs ks-core in the host role. A member stack installs no ks-core
// at all: the host registers it as a `Cluster` object carrying a kubeconfig for
// the member and the member's ks-core values (`spec.config`), and the host's
// cluster controller installs and upgrades the member's ks-core release with
// the host's JWT secret (kubesphere v4.1.3 pkg/controller/cluster/cluster_controller.go
// reconcileMemberCluster -> helper.go installKSCoreInMemberCluster: `helm
// install/upgrade ks-core` with spec.config plus role=member, upgrade.enabled=false
// and the host's jwtSecret, again whenever spec.config's hash changes). A Pulumi
// release on the member would have two owners.
//
// Registration is pulled by the host, the most trusted stack: it lists its
// members (`platform:kubesphere.members`, kubesphereMembers.ts) and reads from
// each, through a StackReference host -> member, the credential the member
// issues for it (kubesphereHostAccess.ts) and its api-server URL. A member
// reads nothing from the host.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as YAML from "yaml";
import { relaxedNamespaceLabels } from "../cluster/podSecurity";
import { mirroredRegistry } from "../k8s/images";
import { ClusterAccess, HelmChart, helmRelease, inCluster } from "../k8s/k8sObjects";
import { KubesphereHostAccess } from "./kubesphereHostAccess";

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
  /** Members: the cluster's CA and api-server, to issue the host's `kubesphere-host` credential. Required for members; no default (absent on the host). */
  hostAccess?: { server: string; caCertPem: pulumi.Input<string>; caKeyPem: pulumi.Input<string> };
  /**
   * Host: the members to register (`platform:kubesphere.members`), each with what its stack exports for the host,
   * and the host's own admin kubeconfig for the registrar provider. Default none.
   */
  registration?: { hostKubeconfig: pulumi.Input<string>; members: MemberRegistration[] };
}

/** One member as the host registers it. */
export interface MemberRegistration {
  /** The member's stack name: the `Cluster` object's name. */
  name: string;
  /** The member's api-server URL (its `apiServer` output). */
  server: pulumi.Input<string>;
  /** Secret: the member's `kubesphere-host` kubeconfig (its `kubesphereHostKubeconfig` output), never its admin one. */
  kubeconfig: pulumi.Input<string>;
  /** The member's `platform:images.registry` (its stack file), for its ks-core values. */
  imageMirror?: string;
}

export class Kubesphere extends pulumi.ComponentResource {
  /** Host only (secret): the JWT signing secret every cluster of the fleet shares; the host's controller hands it to members. */
  public readonly jwtSecret?: pulumi.Output<string>;

  /** Member only (secret): the kubeconfig this member issues for its host (exported as `kubesphereHostKubeconfig`). */
  public readonly hostKubeconfig?: pulumi.Output<string>;
  /** Member: the `kubesphere-host` client certificate behind hostKubeconfig. */
  public readonly hostCertPem?: pulumi.Output<string>;

  constructor(name: string, args: KubesphereArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:fleet:Kubesphere", name, {}, opts);
    if (args.role === "member" && !args.hostAccess) {
      throw new pulumi.ResourceError(`Kubesphere ${name}: a member needs its CA and api-server to issue the host's credential`, this);
    }
    if (args.role === "member" && args.registration) {
      throw new pulumi.ResourceError(`Kubesphere ${name}: only the host registers members (platform:kubesphere.members)`, this);
    }
    if (args.role === "member" && args.version !== undefined) {
      throw new pulumi.ResourceError(
        `Kubesphere ${name}: platform:kubesphere.version is for the host only (the host's controller installs the member's ks-core from its own chart)`,
        this,
      );
    }

    if (args.role === "host") {
      this.jwtSecret = new random.RandomPassword(`${name}-jwt`, { length: 32, special: false }, { parent: this }).result;
      const ns = new k8s.core.v1.Namespace(
        `${name}-namespace`,
        { metadata: { name: KUBESPHERE_CHART.namespace, labels: relaxedNamespaceLabels() } },
        inCluster(this, args.cluster),
      );
      const { apiVersion: _a, kind: _k, ...telemetry } = telemetrySecret(KUBESPHERE_CHART.namespace, KUBESPHERE_CHART.name);
      const telemetryOff = new k8s.core.v1.Secret(`${name}-telemetry`, telemetry as k8s.core.v1.SecretArgs, inCluster(this, args.cluster, { dependsOn: [ns] }));
      const jwt = this.jwtSecret;
      const core = helmRelease(
        `${name}-core`,
        {
          chart: KUBESPHERE_CHART,
          version: args.version,
          createNamespace: false,
          timeout: 900,
          // Only the JWT secret is an Output: before the password exists (a fresh host, a rebuild) a preview
          // sees the rest of the values, so the pack judges them instead of one unknown map (pod-privileges).
          values: { ...kubesphereValues("host", args.imageMirror), authentication: { issuer: { jwtSecret: pulumi.secret(jwt) } } },
        },
        inCluster(this, args.cluster, { dependsOn: [ns, telemetryOff] }),
      );
      if (args.registration && args.registration.members.length > 0) this.registerMembers(name, args, args.registration, core);
    } else {
      // The host's controller installs ks-core here (ks-agent mounts /etc/localtime), into a namespace it creates
      // unlabelled, so Pod Security baseline would refuse ks-agent. A server-side apply patch (not a Namespace):
      // it creates the namespace on a new member and labels the one an existing member's ks-core already made,
      // and deleting it removes only the label.
      new k8s.core.v1.NamespacePatch(
        `${name}-namespace-labels`,
        { metadata: { name: KUBESPHERE_CHART.namespace, labels: relaxedNamespaceLabels() } },
        inCluster(this, args.cluster),
      );
      const access = new KubesphereHostAccess(
        `${name}-host-access`,
        { cluster: args.cluster, clusterName: args.clusterName, ...args.hostAccess! },
        { parent: this },
      );
      this.hostKubeconfig = access.kubeconfig;
      this.hostCertPem = access.certPem;
    }
    this.registerOutputs({});
  }

  /**
   * The members' `Cluster` objects, through a registrar provider of their own. Migration from member-made
   * registrations: the objects exist, with fields owned by each member's old provider. pulumi-kubernetes
   * (provider/pkg/await/await.go at 94977969, Creation) creates with a plain `Create` (AlreadyExists -> error) unless
   * `upsertExistingObjects` is set, when it sends a server-side apply patch instead, forced when the object
   * carries `pulumi.com/patchForce` (patchForce), which takes over the old field manager's fields. So the host
   * adopts an existing object in place; KubeSphere sees an update, never a delete (docs/runbooks/add-a-cluster.md, "Migrate registration to the host").
   */
  private registerMembers(name: string, args: KubesphereArgs, reg: NonNullable<KubesphereArgs["registration"]>, core: pulumi.Resource): void {
    const registrar = new k8s.Provider(
      `${name}-registrar`,
      { kubeconfig: reg.hostKubeconfig, enableServerSideApply: true, upsertExistingObjects: true, deleteUnreachable: false },
      { parent: this },
    );
    for (const member of reg.members) {
      new k8s.apiextensions.CustomResource(
        `${name}-member-${member.name}`,
        {
          apiVersion: "cluster.kubesphere.io/v1alpha1",
          kind: "Cluster",
          // No role label: v4.1.3 defines only cluster-role.kubesphere.io/host (cluster_types.go:14).
          metadata: { name: member.name, annotations: { "pulumi.com/patchForce": "true" } },
          spec: {
            provider: "Alibaba Cloud ECS (kubeadm)",
            config: memberClusterConfig(member.imageMirror),
            connection: {
              type: "direct",
              kubernetesAPIEndpoint: member.server,
              kubeconfig: pulumi.secret(pulumi.output(member.kubeconfig).apply((k) => Buffer.from(k).toString("base64"))),
            },
          },
        },
        // After ks-core: the Cluster CRD and the controller that installs the member's ks-core are the host's release.
        { parent: this, provider: registrar, dependsOn: [args.cluster.readiness, core] },
      );
    }
  }
}
