// The resource metrics API (metrics.k8s.io) that every HPA's Resource metric
// reads: metrics-server, chart 3.13.1 (kubernetes-sigs/metrics-server tag
// metrics-server-helm-chart-3.13.1, app 0.8.1). kubeadm does not install it.
//
// Kubelets are verified, not trusted blindly: `--kubelet-certificate-authority`
// (cmd/metrics-server/app/options/kubelet_client.go:77, "Path to the CA to use
// to validate the Kubelet's serving certificates"; it refuses to combine with
// --kubelet-insecure-tls) points at the cluster CA from the `kube-root-ca.crt`
// ConfigMap every namespace has. That needs kubelet serving certificates signed
// by the cluster CA: kubelets request them with `serverTLSBootstrap: true`
// (the node bootstrap's KubeletConfiguration), and kube-controller-manager signs
// kubelet-serving CSRs only once approved, which kubelet-csr-approver does here
// (postfinance/kubelet-csr-approver chart 1.2.14, tag v1.2.14), limited to node
// names of this cluster and addresses in its VPC.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { mirrored } from "./images";
import { ClusterAccess, HelmChart, helmRelease, inCluster } from "./k8sObjects";

export const METRICS_SERVER_CHART: HelmChart = {
  name: "metrics-server",
  chart: "metrics-server",
  repo: "https://kubernetes-sigs.github.io/metrics-server",
  version: "3.13.1",
  namespace: "kube-system",
};

export const CSR_APPROVER_CHART: HelmChart = {
  name: "kubelet-csr-approver",
  chart: "kubelet-csr-approver",
  // README "helm repo add"; the release workflow publishes chart version = tag without "v".
  repo: "https://postfinance.github.io/kubelet-csr-approver",
  version: "1.2.14",
  namespace: "kube-system",
};

/** metrics-server 3.13.1 values.yaml `image.repository` (tag defaults to v<appVersion>, _helpers.tpl:71). */
export const METRICS_SERVER_IMAGE = "registry.k8s.io/metrics-server/metrics-server";
/** kubelet-csr-approver values.yaml `image.repository` (tag defaults to appVersion, templates/deployment.yaml:46). */
export const CSR_APPROVER_IMAGE = "ghcr.io/postfinance/kubelet-csr-approver";

const CA_DIR = "/etc/kubernetes/cluster-ca";

export function metricsServerValues(imageMirror?: string): Record<string, unknown> {
  return {
    image: { repository: mirrored(METRICS_SERVER_IMAGE, imageMirror) },
    // Two replicas and a PDB: HPAs stop scaling while the API is down.
    replicas: 2,
    podDisruptionBudget: { enabled: true, minAvailable: 1 },
    // Appended after the chart's defaultArgs (templates/deployment.yaml:68-80).
    args: [`--kubelet-certificate-authority=${CA_DIR}/ca.crt`],
    extraVolumes: [{ name: "cluster-ca", configMap: { name: "kube-root-ca.crt" } }],
    extraVolumeMounts: [{ name: "cluster-ca", mountPath: CA_DIR, readOnly: true }],
    apiService: { create: true },
  };
}

export function csrApproverValues(clusterName: string, vpcCidr: string, imageMirror?: string): Record<string, unknown> {
  return {
    image: { repository: mirrored(CSR_APPROVER_IMAGE, imageMirror) },
    // Node names are `<cluster>-<pool>-<index>` (cluster/nodePool.ts) and `<cluster>-master-<index>`.
    providerRegex: `^${clusterName}-[a-z0-9-]+-[0-9]+$`,
    // Every SAN IP must be in the VPC; ECS host names are not in DNS, so the DNS check is skipped.
    providerIpPrefixes: [vpcCidr],
    bypassDnsResolution: true,
  };
}

export interface MetricsServerArgs {
  /** The cluster's provider and readiness gate; every object goes through it. */
  cluster: ClusterAccess;
  /** Stack (cluster) name: the node names the approver accepts. Required. */
  clusterName: string;
  /** `platform:network.vpcCidr`: the node addresses the approver accepts. Required. */
  vpcCidr: string;
  /** `platform:images.registry`. Default none (upstream). */
  imageMirror?: string;
}

export class MetricsServer extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: MetricsServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:k8s:MetricsServer", name, {}, opts);
    const approver = helmRelease(
      `${name}-csr-approver`,
      {
        chart: CSR_APPROVER_CHART,
        createNamespace: false,
        atomic: true,
        timeout: 300,
        values: csrApproverValues(args.clusterName, args.vpcCidr, args.imageMirror),
      },
      inCluster(this, args.cluster),
    );
    // After the approver: metrics-server's readiness needs the kubelets' signed serving certificates.
    this.release = helmRelease(
      `${name}-metrics-server`,
      { chart: METRICS_SERVER_CHART, createNamespace: false, atomic: true, timeout: 600, values: metricsServerValues(args.imageMirror) },
      inCluster(this, args.cluster, { dependsOn: [approver] }),
    );
    this.registerOutputs({});
  }
}
