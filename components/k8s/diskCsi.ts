// Persistent volumes on Alibaba Cloud disks: the disk CSI driver
// (diskplugin.csi.alibabacloud.com) from kubernetes-sigs/alibaba-cloud-csi-driver,
// chart alibaba-cloud-csi-driver 1.36.2 (repo tag v1.37.1,
// deploy/charts/alibaba-cloud-csi-driver), and one StorageClass `essd`.
//
// Credentials: the instance RAM role, read from the metadata service (100.100.100.200).
// The node guard (cluster/bootstrapUnits.ts) drops every routed packet to that address, so
// only a hostNetwork process can reach it, and on a master only the system services of
// k8s-metadata.slice can (the masters' role reads the PKI secret; no pod may hold it). So the
// driver runs on the workers only, with the workers' role: the node plugin with hostNetwork
// (templates/plugin.yaml:53), kept off the masters by the nodePools.default selector below;
// the controller Deployment `csi-provisioner` (templates/controller.yaml), which has no
// hostNetwork and no value that sets it at 1.36.2, gets it from a server-side apply patch after
// the release (controllerHostNetworkPatch), and is kept off the masters by its required
// nodeAffinity. Helm does not fight the patch: an upgrade patches the live object with a
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

/**
 * The controller's actions (docs/ram-policies/disk/controller.json at v1.37.1, deduplicated) less the
 * snapshot writes (CreateSnapshot, CreateSnapshotGroup, DeleteSnapshot, DeleteSnapshotGroup): the
 * platform offers no VolumeSnapshotClass (defaultVolumeSnapshotClass off below), so nothing asks for them.
 */
export const DISK_CONTROLLER_ACTIONS = [
  "ecs:AddTags",
  "ecs:AttachDisk",
  "ecs:CreateDisk",
  "ecs:DeleteDisk",
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
/** The node plugin's actions (docs/ram-policies/disk/node.json at v1.37.1) without eflo:* (Lingjun nodes only) and ecs:DeleteSnapshot (no snapshots, above); the workers. */
export const DISK_NODE_ACTIONS = [
  "ecs:AddTags",
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

/**
 * The tag that scopes the driver's ECS writes: the disks it creates carry it (the StorageClass's
 * `diskTags/<key>` parameter, essdStorageClass) and so do the workers it attaches them to
 * (Cluster's workerTags); the masters, the other VMs and every disk the driver did not create do not.
 */
export const DISK_CSI_TAG_KEY = "platform:disk-csi";
export function diskCsiScopeTag(clusterName: string): Record<string, string> {
  return { [DISK_CSI_TAG_KEY]: clusterName };
}

/** Read-only ECS actions: Describe*, List*, Get*. Everything else writes. */
export const isEcsRead = (action: string) => /^ecs:(Describe|List|Get)/.test(action);

/**
 * The driver's RAM statements, the writes scoped by the tag (RAM condition keys: `acs:RequestTag/<key>`
 * "a specific tag must be included in each API request", fails when the request carries no tag;
 * `acs:ResourceTag/<key>` "a specific tag must be added to the specified resource", fails when the
 * request names no resource; ECS "Use tags to control the permissions of a RAM user",
 * https://www.alibabacloud.com/help/doc-detail/428579.htm, last updated 2024-03-29; the
 * `acs:ResourceTag/<key>` form on `acs:ecs:*:*:instance/*` in ECS "Manage resource permissions with
 * tags", /help/en/ecs/user-guide/enable-label-fine-grained-resource-permission-management, last
 * updated 2026-04-27):
 *   - reads on "*" (Describe/List take no resource);
 *   - CreateDisk only with the tag in the request (the driver sends the StorageClass's tags in
 *     CreateDisk's Tag.N: pkg/disk/cloud.go buildCreateDiskRequest at v1.37.1), on disk/* only, so no
 *     disk can be made from a snapshot (that names a snapshot resource);
 *   - every other write (attach, detach, delete, resize, modify, tag) only on disks and instances
 *     that already carry the tag: not a master's, not another stack's, not a VM's system disk.
 */
export function diskStatements(role: "controller" | "node", clusterName: string): PolicyStatement[] {
  const actions = role === "controller" ? DISK_CONTROLLER_ACTIONS : DISK_NODE_ACTIONS;
  const writes = actions.filter((a) => !isEcsRead(a));
  const tag = (kind: "RequestTag" | "ResourceTag") => ({ StringEquals: { [`acs:${kind}/${DISK_CSI_TAG_KEY}`]: [clusterName] } });
  const create = writes.filter((a) => a === "ecs:CreateDisk");
  const other = writes.filter((a) => a !== "ecs:CreateDisk");
  return [
    { Effect: "Allow", Action: actions.filter(isEcsRead), Resource: ["*"] },
    ...(create.length ? [{ Effect: "Allow" as const, Action: create, Resource: ["acs:ecs:*:*:disk/*"], Condition: tag("RequestTag") }] : []),
    { Effect: "Allow", Action: other, Resource: ["acs:ecs:*:*:disk/*", "acs:ecs:*:*:instance/*"], Condition: tag("ResourceTag") },
  ];
}

/** A node selector term for every node but the masters (and virtual kubelets, as the chart's default). */
const WORKERS_ONLY = {
  matchExpressions: [
    { key: "type", operator: "NotIn", values: ["virtual-kubelet"] },
    { key: "node-role.kubernetes.io/control-plane", operator: "DoesNotExist" },
  ],
};

/** Chart values: the disk driver only, on ECS with the instance role, on the workers only, images through the mirror. */
export function diskCsiValues(region: string, imageMirror?: string): Record<string, unknown> {
  return {
    csi: { disk: { enabled: true }, nas: { enabled: false }, oss: { enabled: false } },
    // values-ecs.yaml: not ACK. accessKey off: the instance RAM role (docs/install.md, "Setup RAM Permissions").
    deploy: { ack: false, ecs: true, regionID: region, accessKey: { enabled: false } },
    // templates/controller.yaml:35 reads controller.nodeAffinity; required: off the masters, whose
    // pods get no metadata (and so no credentials).
    controller: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [WORKERS_ONLY] } } },
    // templates/plugin.yaml: one DaemonSet per nodePools entry, its required nodeAffinity from the
    // entry's nodeSelectorTerms (values.yaml's default: type NotIn virtual-kubelet, kept).
    nodePools: { default: { nodeSelectorTerms: [WORKERS_ONLY] } },
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
 * Ports the controller's containers bind on a worker once it runs with hostNetwork: the
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
/** The node plugin's host ports (templates/plugin.yaml at v1.37.1). */
export const DISK_NODE_PLUGIN_HOST_PORTS: Readonly<Record<number, string>> = { 11260: "csi-plugin healthz", 11261: "csi-plugin http" };

/**
 * The patch that puts the controller on the host network: past the metadata rule, like the node
 * plugin. ClusterFirstWithHostNet keeps cluster DNS (a hostNetwork pod otherwise falls back to the
 * node's resolv.conf, Kubernetes "DNS for Services and Pods"). Two replicas on the workers: the
 * chart's rolling update (maxSurge 0) never needs two on one node, whose host ports would clash.
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

/**
 * The ESSD StorageClass: `type: cloud_essd` as the chart's own alicloud-disk-essd (templates/storage-class.yaml),
 * and the driver's scope tag on every disk it creates: a `diskTags/<key>` parameter becomes a tag of the
 * CreateDisk request (pkg/disk/utils.go parseTags and DISK_TAG_PREFIX in pkg/disk/constants.go at v1.37.1;
 * the older `diskTags: k:v,...` form splits at the first ":", which the key holds).
 */
export function essdStorageClass(clusterName: string): K8sObject {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: ESSD_STORAGE_CLASS },
    provisioner: DISK_PROVISIONER,
    parameters: { type: "cloud_essd", [`diskTags/${DISK_CSI_TAG_KEY}`]: clusterName },
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
  /** The stack: the value of the driver's scope tag on its disks (diskCsiScopeTag). Required. */
  clusterName: string;
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
    this.storageClass = createObject(
      name,
      essdStorageClass(args.clusterName),
      inCluster(this, args.cluster, { dependsOn: [this.release, this.controllerPatch] }),
    );
    this.registerOutputs({});
  }
}
