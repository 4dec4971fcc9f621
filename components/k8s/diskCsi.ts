// Persistent volumes on Alibaba Cloud disks: the disk CSI driver
// (diskplugin.csi.alibabacloud.com) from kubernetes-sigs/alibaba-cloud-csi-driver,
// chart alibaba-cloud-csi-driver 1.36.2 (repo tag v1.37.1,
// deploy/charts/alibaba-cloud-csi-driver), and one StorageClass `essd`.
//
// Credentials: the instance RAM role, read from the metadata service (100.100.100.200).
// The node rule (cluster/bootstrapUnits.ts) drops traffic from the pod network to that
// address; a hostNetwork process is on the node's side of it. The node plugin runs with
// hostNetwork (templates/plugin.yaml:53). The controller Deployment `csi-provisioner`
// (templates/controller.yaml) has no hostNetwork and no value that sets it at 1.36.2, so as
// rendered it would get no credentials and no disk would ever be provisioned. Its vetted path:
// the same hostNetwork, on the masters only (required nodeAffinity below; the masters' role holds
// the controller's statements), set by a server-side apply patch after the release
// (controllerHostNetworkPatch). Helm does not fight it: an upgrade patches the live object with a
// three-way strategic merge of the previous manifest, the new one and the live state (helm/helm
// pkg/kube/client.go createPatch, strategicpatch.CreateThreeWayMergePatch), so a field neither
// manifest sets is left as it is. Rejected: the chart's AccessKey Secret (deploy.accessKey), a
// long-lived key in the cluster; an exception in the rule for the controller's pod addresses,
// which change with every reschedule.
// The RAM statements are the driver's own lists (docs/ram-policies/disk/*.json at v1.37.1).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PolicyStatement } from "../cluster/masterRole";
import { mirroredRegistry } from "./images";
import { ClusterAccess, createObject, HelmChart, helmRelease, inCluster, K8sObject } from "./k8sObjects";

export const DISK_CSI_CHART: HelmChart = {
  name: "alibaba-cloud-csi-driver",
  chart: "alibaba-cloud-csi-driver",
  // docs/install.md at v1.37.1.
  repo: "https://kubernetes-sigs.github.io/alibaba-cloud-csi-driver",
  version: "1.36.2",
  namespace: "kube-system",
};

/** The provisioner name (docs/disk.md: "StorageClass with diskplugin.csi.alibabacloud.com as provisioner name"). */
export const DISK_PROVISIONER = "diskplugin.csi.alibabacloud.com";
/** The platform's ESSD StorageClass. */
export const ESSD_STORAGE_CLASS = "essd";
/** ESSD PL1's smallest disk, GiB (pkg/disk/category.go:71 at v1.37.1). */
export const ESSD_MIN_GIB = 20;

/** The controller's actions (docs/ram-policies/disk/controller.json at v1.37.1, deduplicated); the masters, where it runs. */
export const DISK_CONTROLLER_ACTIONS = [
  "ecs:AddTags",
  "ecs:AttachDisk",
  "ecs:CreateDisk",
  "ecs:CreateSnapshot",
  "ecs:CreateSnapshotGroup",
  "ecs:DeleteDisk",
  "ecs:DeleteSnapshot",
  "ecs:DeleteSnapshotGroup",
  "ecs:DescribeDisks",
  "ecs:DescribeInstanceAttribute",
  "ecs:DescribeInstanceHistoryEvents",
  "ecs:DescribeInstances",
  "ecs:DescribeSnapshotGroups",
  "ecs:DescribeSnapshots",
  "ecs:DescribeTags",
  "ecs:DescribeTaskAttribute",
  "ecs:DescribeTasks",
  "ecs:DetachDisk",
  "ecs:ListTagResources",
  "ecs:ModifyDiskAttribute",
  "ecs:ModifyDiskSpec",
  "ecs:RemoveTags",
  "ecs:ResizeDisk",
  "ecs:TagResources",
  "ecs:UntagResources",
];
/** The node plugin's actions (docs/ram-policies/disk/node.json at v1.37.1) without eflo:* (Lingjun nodes only); every node. */
export const DISK_NODE_ACTIONS = [
  "ecs:AddTags",
  "ecs:DeleteSnapshot",
  "ecs:DescribeDisks",
  "ecs:DescribeInstanceAttribute",
  "ecs:DescribeInstanceHistoryEvents",
  "ecs:DescribeInstances",
  "ecs:DescribeSnapshots",
  "ecs:DescribeTags",
  "ecs:DescribeTaskAttribute",
  "ecs:ListTagResources",
  "ecs:RemoveTags",
  "ecs:TagResources",
  "ecs:UntagResources",
];

export function diskStatements(role: "controller" | "node"): PolicyStatement[] {
  return [{ Effect: "Allow", Action: [...(role === "controller" ? DISK_CONTROLLER_ACTIONS : DISK_NODE_ACTIONS)], Resource: ["*"] }];
}

/** Chart values: the disk driver only, on ECS with the instance role, the controller on the masters, images through the mirror. */
export function diskCsiValues(region: string, imageMirror?: string): Record<string, unknown> {
  return {
    csi: { disk: { enabled: true }, nas: { enabled: false }, oss: { enabled: false } },
    // values-ecs.yaml: not ACK. accessKey off: the instance RAM role (docs/install.md, "Setup RAM Permissions").
    deploy: { ack: false, ecs: true, regionID: region, accessKey: { enabled: false } },
    // templates/controller.yaml:35 reads controller.nodeAffinity; required: the masters' role has the controller's statements.
    controller: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists" }] }],
        },
      },
    },
    // Our own class below (WaitForFirstConsumer: a disk is zonal and must be made in the pod's zone).
    defaultStorageClass: { enabled: false },
    defaultVolumeSnapshotClass: { enabled: false },
    // templates/_utils.tpl "registry": with deploy.ecs the VPC registry is used, images.registryVPC first.
    ...(imageMirror
      ? {
          images: {
            registryVPC: mirroredRegistry(`registry-${region}-vpc.ack.aliyuncs.com`, imageMirror),
            registry: mirroredRegistry(`registry-${region}.ack.aliyuncs.com`, imageMirror),
          },
        }
      : {}),
  };
}

/** The controller Deployment's name and namespace in the chart (templates/controller.yaml:5). */
export const DISK_CONTROLLER_DEPLOYMENT = { name: "csi-provisioner", namespace: DISK_CSI_CHART.namespace };

/**
 * Ports the controller's containers bind on a master once it runs with hostNetwork: the
 * csi-provisioner healthz and each sidecar's --http-endpoint for the disk driver and the snapshot
 * controller (templates/controller.yaml at v1.37.1: 11270, 8080-8083, 10080). Checked against the
 * ports every node's host network already has taken.
 */
export const DISK_CONTROLLER_HOST_PORTS: Readonly<Record<number, string>> = {
  11270: "csi-provisioner healthz",
  8080: "external-disk-provisioner http",
  8081: "external-disk-attacher http",
  8082: "external-disk-resizer http",
  8083: "external-csi-snapshotter http",
  10080: "external-snapshot-controller http",
};
/** The node plugin's host ports (templates/plugin.yaml at v1.37.1): on the masters too. */
export const DISK_NODE_PLUGIN_HOST_PORTS: Readonly<Record<number, string>> = { 11260: "csi-plugin healthz", 11261: "csi-plugin http" };

/**
 * The patch that puts the controller on the host network: past the metadata rule, like the node
 * plugin. ClusterFirstWithHostNet keeps cluster DNS (a hostNetwork pod otherwise falls back to the
 * node's resolv.conf, Kubernetes "DNS for Services and Pods"). Two replicas on three masters: the
 * chart's rolling update (maxSurge 0) never needs two on one master, whose host ports would clash.
 */
export function controllerHostNetworkPatch(): K8sObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      ...DISK_CONTROLLER_DEPLOYMENT,
      // Take the two fields even if another manager claimed them; Helm never sets them (see above).
      annotations: { "pulumi.com/patchForce": "true" },
    },
    spec: { template: { spec: { hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" } } },
  };
}

/** The ESSD StorageClass: `type: cloud_essd` as the chart's own alicloud-disk-essd (templates/storage-class.yaml). */
export function essdStorageClass(): K8sObject {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: ESSD_STORAGE_CLASS },
    provisioner: DISK_PROVISIONER,
    parameters: { type: "cloud_essd" },
    // Keep the disk when its claim goes: Prometheus' data outlives a mistaken delete.
    reclaimPolicy: "Retain",
    allowVolumeExpansion: true,
    volumeBindingMode: "WaitForFirstConsumer",
  };
}

export interface DiskCsiArgs {
  /** The cluster's provider and readiness gate; every object goes through it. */
  cluster: ClusterAccess;
  /** `alicloud:region`: the driver's OpenAPI endpoint and registry. Required. */
  region: string;
  /** `platform:images.registry`. Default none (Alibaba's ACK registry). */
  imageMirror?: string;
}

export class DiskCsi extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;
  public readonly storageClass: pulumi.CustomResource;
  /** The controller's hostNetwork patch (controllerHostNetworkPatch). */
  public readonly controllerPatch: k8s.apps.v1.DeploymentPatch;

  constructor(name: string, args: DiskCsiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:k8s:DiskCsi", name, {}, opts);
    this.release = helmRelease(
      `${name}-driver`,
      { chart: DISK_CSI_CHART, createNamespace: false, atomic: true, timeout: 600, values: diskCsiValues(args.region, args.imageMirror) },
      inCluster(this, args.cluster),
    );
    this.controllerPatch = new k8s.apps.v1.DeploymentPatch(
      `${name}-controller-host-network`,
      controllerHostNetworkPatch() as k8s.apps.v1.DeploymentPatchArgs,
      inCluster(this, args.cluster, { dependsOn: [this.release] }),
    );
    // The class is usable once the controller can reach the cloud API.
    this.storageClass = createObject(name, essdStorageClass(), inCluster(this, args.cluster, { dependsOn: [this.release, this.controllerPatch] }));
    this.registerOutputs({});
  }
}
