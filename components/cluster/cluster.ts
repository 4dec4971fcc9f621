// A kubeadm cluster on ECS: PKI minted in Pulumi, masters with fixed IPs, the
// HAProxy/SLB api-server front, worker pools bootstrapped by cloud-init, a
// readiness gate, and the Kubernetes provider every in-cluster component uses.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ApiServerFront } from "./apiServerFront";
import { recordArtifact } from "../artifacts";
import { Network } from "../network/network";
import { NodePool, nodeName } from "./nodePool";
import { adminKubeconfig, ClusterPki } from "./pki";
import { ApiServerReadiness } from "./readiness";
import { metadataGuardTags, renderUserData } from "./cloudInit";
import { KMS_ENDPOINT_TAG } from "../../policies/rules/threats";
import type { ClusterBootstrap, NodeBootstrap } from "./kubeadm";
import type { EtcdBackupSettings } from "./etcdBackup";
import { masterDay2 } from "./masterDay2";
import { joinTokenSecretName, masterJoinTokenStatements, workerJoinTokenStatements } from "./workerToken";
import { workerRoleName } from "./workerRole";
import { kmsKeyArn, SecretStore, secretStoreStatements } from "./secretStore";
import type { PolicyStatement } from "./masterRole";
import { API_SERVER_PORT } from "../network/ports";
import { ControlPlaneAddresses, controlPlaneAddresses, frontSubnets } from "./controlPlaneAddresses";
import { defaultPackageRepository } from "../config/stackConfig";
import type { NetworkConfig, NodePoolConfig, PlatformSettings } from "../config/stackConfig";

export interface ClusterArgs {
  /** Cluster (stack) name: the prefix of every node and cloud name. */
  clusterName: string;
  /** alicloud:region (the HAProxy VMs' Cloud Assistant check calls the region's ECS API). */
  region: string;
  /** The network the cluster lives in (vswitches and security groups). */
  network: Network;
  /**
   * `platform:kubernetes`: the full version (e.g. 1.35.4), the control-plane image
   * mirror (default: kubeadm's registry.k8s.io) and the apt repository of
   * kubeadm/kubelet/kubectl (default: pkgs.k8s.io for the version's minor).
   */
  kubernetes: PlatformSettings["kubernetes"];
  /** The pod and service ranges of `platform:network`: kubeadm's podSubnet and serviceSubnet. */
  ranges: Pick<NetworkConfig, "podCidr" | "serviceCidr">;
  /** `platform:masters`: an odd count (etcd quorum), the instance type, system disk GiB (default 200). */
  masters: PlatformSettings["masters"];
  /** `platform:nodePools`: worker pools; editing a count adds or removes only the highest indexes. System disk default 120 GiB. */
  nodePools: NodePoolConfig[];
  /** `platform:osImageId`: the pinned OS image of every VM. */
  osImageId: string;
  /** `platform:apiServerFront`: the HAProxy VM size (default ApiServerFront's, ecs.c6.large) and the stats page (default off). */
  apiServerFront?: PlatformSettings["apiServerFront"];
  /** ECS and SLB deletion protection; on in prod. */
  deletionProtection: boolean;
  /** How long the readiness gate waits for the api-server. Default 1800 s (ApiServerReadiness). */
  readinessTimeoutSeconds?: number;
  /** Tags on every VM and SLB. Default none. */
  tags?: Record<string, string>;
  /** More tags on the workers only, e.g. the disk CSI driver's scope tag (k8s/diskCsi.ts diskCsiScopeTag). Default none. */
  workerTags?: Record<string, string>;
  /**
   * The masters' etcd backup (bucket, OSS endpoint, instance role, schedule, local copies).
   * With it every master gets the backup and certificate-renewal timers. Default none.
   */
  etcdBackup?: EtcdBackupSettings;
  /**
   * The masters' secret store (KMS Secrets Manager): the GetSecretValue endpoint, e.g.
   * https://kms-vpc.cn-shanghai.aliyuncs.com, and the KMS instance and key ids (secretStore.ts).
   */
  secretStore: { kmsUrl: string; kmsInstanceId: string; kmsKeyId: string; forceDelete: boolean };
  /** The masters' instance RAM role name (masterRole.ts); it must be granted `secretStoreStatements`. */
  masterRoleName: string;
  /** containerd version prefix pinned on every node (default cloudInit.ts DEFAULT_CONTAINERD_VERSION). */
  containerdVersion?: string;
}

/**
 * The KMS endpoint a new master's user data fetches the PKI from, where credential-endpoints can read it
 * (T1): the host of the same `secretStore.kmsUrl` its user data's KMS_URL is (masterBootstrap,
 * masterDay2), since the user data is a secret the pack cannot read. Host only: ECS tag values may not
 * hold "http://" or "https://" (terraform-provider-alicloud 81c43b67 alicloud/tags.go:53-62
 * tagsSchemaWithIgnore). A tag is updated in place on an existing instance (resource_alicloud_instance.go:500
 * `tags` is Optional, not ForceNew; resourceAliCloudInstanceUpdate :1702-1707 calls setTags,
 * tags.go:170-177) while its user data is ignoreChanges (nodePool.ts), so after an endpoint move a running
 * master's tag names the new endpoint and it keeps using the old KMS_URL until it is replaced.
 */
export function kmsEndpointTag(kmsUrl: string): Record<string, string> {
  return { [KMS_ENDPOINT_TAG]: new URL(kmsUrl).host };
}

/** How long the workers' report waits for every expected worker once the masters are Ready. */
const WORKER_WAIT_SECONDS = 900;

/** Master system disk in GiB when `masters.systemDiskGb` is unset: etcd and images. */
const MASTER_SYSTEM_DISK_GB = 200;

export class Cluster extends pulumi.ComponentResource {
  /** `https://<slb>:6443`. */
  public readonly server: string;
  /** Admin kubeconfig (secret). */
  public readonly kubeconfig: pulumi.Output<string>;
  /** The provider every in-cluster component uses; it waits for the readiness gate. */
  public readonly provider: k8s.Provider;
  /** Opens once the api-server answers /readyz through the front and every master is Ready. */
  public readonly readiness: ApiServerReadiness;
  /** After the worker pools: workersJoined/workersExpected, the missing workers and a message. */
  public readonly nodesJoined: ApiServerReadiness;
  public readonly masters: NodePool;
  public readonly workerPools: Record<string, NodePool>;
  public readonly front: ApiServerFront;
  public readonly pki: ClusterPki;
  public readonly secretStore: SecretStore;
  /** What the masters' role must allow to read the secret store (MasterRole statements["secret-store"]). */
  public readonly secretStoreStatements: pulumi.Output<PolicyStatement[]>;
  /** What the masters' role must allow to keep the worker join token (MasterRole statements["join-token"], workerToken.ts). */
  public readonly masterJoinTokenStatements: PolicyStatement[];
  /** What the workers' role must allow to read it (WorkerRole statements["join-token"]). */
  public readonly workerJoinTokenStatements: PolicyStatement[];

  private readonly vswitches: { zone: string; id: pulumi.Output<string> }[];
  /** The version the nodes were bootstrapped with, where a policy (kubernetes-baseline) and the console can read it: user data is a secret and is ignored after first boot. */
  private readonly versionTag: Record<string, string>;

  constructor(
    private readonly resourceName: string,
    private readonly args: ClusterArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    // The configured version is an input so the kubernetes-version-skew policy can compare node tags with it.
    // The pod and service ranges are inputs so a change to them shows in the diff as what it is: the
    // masters' user data that carries them is a secret and ignored after first boot, and a built cluster
    // keeps the ranges kubeadm got then (safe-changes, policies/rules/changes.ts, blocks it in prod).
    super(
      "platform:cluster:Cluster",
      resourceName,
      { kubernetesVersion: args.kubernetes.version, podCidr: args.ranges.podCidr, serviceCidr: args.ranges.serviceCidr },
      opts,
    );
    const name = resourceName;
    if (args.masters.count % 2 !== 1) {
      throw new pulumi.ResourceError(`Cluster ${name}: masters.count must be odd for etcd quorum, got ${args.masters.count}`, this);
    }
    this.vswitches = args.network.vswitches.map((v) => ({ zone: v.zone, id: v.id }));
    // Where the nodes fetch Kubernetes from, for trusted-sources: host/path without the
    // scheme, since ECS tag values may not contain "http://" or "https://" (Alibaba
    // Cloud ECS docs, "Tag overview": tag value limits). The package repository is
    // https-only (kubeadm.ts), so nothing is lost.
    this.versionTag = {
      "platform:kubernetes-version": args.kubernetes.version,
      "platform:package-repository": (args.kubernetes.packageRepository ?? defaultPackageRepository(args.kubernetes.version)).replace(/^https:\/\//, ""),
      "platform:image-repository": args.kubernetes.imageRepository ?? "registry.k8s.io",
    };

    this.pki = new ClusterPki(`${name}-pki`, { clusterName: args.clusterName, protect: args.deletionProtection }, { parent: this });
    this.secretStore = new SecretStore(
      `${name}-secret-store`,
      {
        clusterName: args.clusterName,
        pki: this.pki.sharedControlPlane,
        kmsInstanceId: args.secretStore.kmsInstanceId,
        kmsKeyId: args.secretStore.kmsKeyId,
        forceDelete: args.secretStore.forceDelete,
        protect: args.deletionProtection,
        tags: args.tags,
      },
      { parent: this },
    );
    this.secretStoreStatements = secretStoreStatements(this.secretStore.secretArn, kmsKeyArn(args.secretStore.kmsKeyId));
    this.masterJoinTokenStatements = masterJoinTokenStatements(args.region, args.clusterName, kmsKeyArn(args.secretStore.kmsKeyId));
    this.workerJoinTokenStatements = workerJoinTokenStatements(args.region, args.clusterName, kmsKeyArn(args.secretStore.kmsKeyId));
    const addresses = controlPlaneAddresses(
      args.network.vswitches.map((v) => v.cidr),
      args.masters.count,
    );
    this.front = this.apiServerFront(addresses);
    this.server = `https://${this.front.endpoint}`;

    // No node carries a token: masters mint their own, workers read the masters' from KMS (workerToken.ts).
    const bootstrap = this.clusterBootstrap();
    this.masters = this.masterPool(addresses, bootstrap);

    const masterNames = Array.from({ length: args.masters.count }, (_, i) => this.masterName(i));
    const gate = {
      endpoint: this.front.endpoint,
      caCertPem: this.pki.caCertPem,
      clientCertPem: this.pki.adminCertPem,
      clientKeyPem: this.pki.adminKeyPem,
      masters: masterNames,
      clusterName: args.clusterName,
      timeoutSeconds: args.readinessTimeoutSeconds,
    };
    this.readiness = new ApiServerReadiness(`${name}-readiness`, gate, { parent: this, dependsOn: [this.masters, this.front] });
    this.kubeconfig = adminKubeconfig({
      clusterName: args.clusterName,
      server: this.server,
      caCertPem: this.pki.caCertPem,
      clientCertPem: this.pki.adminCertPem,
      clientKeyPem: this.pki.adminKeyPem,
    });
    this.provider = new k8s.Provider(
      `${name}-k8s`,
      { kubeconfig: this.kubeconfig, enableServerSideApply: true, deleteUnreachable: false },
      { parent: this, dependsOn: [this.readiness] },
    );
    this.workerPools = {};
    for (const pool of args.nodePools) this.workerPools[pool.name] = this.workerPool(pool, bootstrap);
    // Workers join once the masters run and keep a token in KMS, so they are counted afterwards (readiness.ts).
    this.nodesJoined = new ApiServerReadiness(
      `${name}-nodes-joined`,
      { ...gate, workerPools: Object.fromEntries(args.nodePools.map((p) => [p.name, p.count])), workerWaitSeconds: WORKER_WAIT_SECONDS },
      { parent: this, dependsOn: [this.readiness, ...Object.values(this.workerPools)] },
    );
    // The version is an output too: CrossGuard's stack policies (kubernetes-version-skew) see a
    // component's registered outputs, never its inputs (components/preview/policyCheck.ts).
    this.registerOutputs({ server: this.server, kubeconfig: this.kubeconfig, kubernetesVersion: args.kubernetes.version });
  }

  /** Every worker instance id, pool by pool (the ingress SLB's backends). */
  workerInstances(): { pool: string; name: string; id: pulumi.Output<string> }[] {
    return Object.entries(this.workerPools).flatMap(([pool, p]) => p.nodes.map((n) => ({ pool, name: n.name, id: n.instance.id })));
  }

  /** The SLB -> HAProxy front on the fixed control-plane addresses. */
  private apiServerFront(addresses: ControlPlaneAddresses): ApiServerFront {
    const args = this.args;
    return new ApiServerFront(
      `${this.resourceName}-front`,
      {
        clusterName: args.clusterName,
        region: args.region,
        masters: addresses.masters.map((m, i) => ({ name: this.masterName(i), ip: m.ip })),
        vswitches: this.vswitches,
        haproxyIps: [addresses.haproxies[0].ip, addresses.haproxies[1].ip],
        slbAddress: addresses.apiServerSlb,
        securityGroupId: args.network.securityGroupIds.front,
        imageId: args.osImageId,
        instanceType: args.apiServerFront?.instanceType,
        statsPage: args.apiServerFront?.statsPage,
        statsFrom: frontSubnets(args.network.vswitches.map((v) => v.cidr)),
        deletionProtection: args.deletionProtection,
        tags: args.tags,
      },
      { parent: this },
    );
  }

  /** What every node's kubeadm config shares: version, endpoint, ranges, repositories, the CA certificate and hash. */
  private clusterBootstrap(): pulumi.Output<ClusterBootstrap> {
    const { clusterName, kubernetes, ranges } = this.args;
    return pulumi.all([this.pki.caCertHash, this.pki.caCertPem]).apply(([hash, caCertPem]) => ({
      clusterName,
      kubernetesVersion: kubernetes.version,
      controlPlaneEndpoint: this.front.endpoint,
      podSubnet: ranges.podCidr,
      serviceSubnet: ranges.serviceCidr,
      imageRepository: kubernetes.imageRepository,
      packageRepository: kubernetes.packageRepository ?? defaultPackageRepository(kubernetes.version),
      caCertHash: hash,
      caCertPem,
    }));
  }

  /** cloud-init user data for one node, recorded as an artifact under its hostname. */
  private userData(
    bootstrap: pulumi.Output<ClusterBootstrap>,
    hostname: string,
    node: NodeBootstrap,
    extras?: Parameters<typeof renderUserData>[2],
  ): pulumi.Output<string> {
    const text = bootstrap.apply((c) => renderUserData(c, node, extras, { containerdVersion: this.args.containerdVersion }));
    recordArtifact("cloud-init", `${hostname}.yaml`, text);
    return text;
  }

  /** Master 0 may run `kubeadm init` (only when no cluster answers and `<stack>-worker-join` does not exist); the others join, one at a time. */
  private masterBootstrap(addresses: ControlPlaneAddresses, i: number, hostname: string): NodeBootstrap {
    const nodeIp = addresses.masters[i].ip;
    const peers = addresses.masters.filter((_, j) => j !== i).map((m) => `${m.ip}:${API_SERVER_PORT}`);
    const secretStore = { kmsUrl: this.args.secretStore.kmsUrl, secretName: this.secretStore.secretName, ramRole: this.args.masterRoleName };
    return { role: i === 0 ? "init" : "control-plane", hostname, nodeIp, controlPlane: { index: i, peers, secretStore } };
  }

  /** The worker token timer of master i, and its backup and renewal timers (those only with etcdBackup). */
  private masterDay2(addresses: ControlPlaneAddresses, i: number) {
    const { clusterName, etcdBackup, secretStore, masterRoleName } = this.args;
    return masterDay2({
      backup: etcdBackup,
      workerToken: {
        kmsUrl: secretStore.kmsUrl,
        clusterName,
        ramRole: masterRoleName,
        kmsInstanceId: secretStore.kmsInstanceId,
        kmsKeyId: secretStore.kmsKeyId,
      },
      index: i,
      peerIps: addresses.masters.filter((_, j) => j !== i).map((m) => m.ip),
    });
  }

  private masterPool(addresses: ControlPlaneAddresses, bootstrap: pulumi.Output<ClusterBootstrap>): NodePool {
    const args = this.args;
    return new NodePool(
      `${this.resourceName}-masters`,
      {
        clusterName: args.clusterName,
        poolName: "master",
        count: args.masters.count,
        instanceType: args.masters.instanceType,
        imageId: args.osImageId,
        vswitches: this.vswitches,
        securityGroupIds: [args.network.securityGroupIds.masters],
        fixedIps: addresses.masters.map((m) => m.ip),
        systemDiskGb: args.masters.systemDiskGb ?? MASTER_SYSTEM_DISK_GB,
        deletionProtection: args.deletionProtection,
        userData: (i, hostname) => this.userData(bootstrap, hostname, this.masterBootstrap(addresses, i, hostname), this.masterDay2(addresses, i)),
        tags: { ...args.tags, ...this.versionTag, ...metadataGuardTags(), ...kmsEndpointTag(args.secretStore.kmsUrl), "platform:role": "master" },
      },
      { parent: this, dependsOn: [this.front] },
    );
  }

  private workerPool(pool: NodePoolConfig, bootstrap: pulumi.Output<ClusterBootstrap>): NodePool {
    const args = this.args;
    return new NodePool(
      `${this.resourceName}-${pool.name}`,
      {
        clusterName: args.clusterName,
        poolName: pool.name,
        count: pool.count,
        instanceType: pool.instanceType,
        imageId: args.osImageId,
        vswitches: this.vswitches,
        securityGroupIds: [args.network.securityGroupIds.workers],
        systemDiskGb: pool.systemDiskGb,
        deletionProtection: args.deletionProtection,
        userData: (_i, hostname) =>
          this.userData(bootstrap, hostname, { role: "worker", hostname, labels: pool.labels, taints: pool.taints, joinTokenStore: this.joinTokenStore() }),
        placement: { labels: pool.labels, taints: pool.taints },
        tags: { ...args.tags, ...args.workerTags, ...this.versionTag, ...metadataGuardTags(), "platform:role": "worker" },
      },
      // After the masters and the front: their fixed addresses are taken before
      // DHCP hands out addresses to workers, and a worker's join finds an endpoint.
      { parent: this, dependsOn: [this.masters, this.front] },
    );
  }

  /** Where workers read their join token: the KMS secret the masters keep it in, with the workers' role. */
  private joinTokenStore(): NodeBootstrap["joinTokenStore"] {
    return { kmsUrl: this.args.secretStore.kmsUrl, secretName: joinTokenSecretName(this.args.clusterName), ramRole: workerRoleName(this.args.clusterName) };
  }

  private masterName(i: number): string {
    return nodeName(this.args.clusterName, "master", i);
  }
}
