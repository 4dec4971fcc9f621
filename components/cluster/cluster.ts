// A kubeadm cluster on ECS: PKI minted in Pulumi, masters with fixed IPs, the
// HAProxy/SLB api-server front, worker pools bootstrapped by cloud-init, a
// readiness gate, and the Kubernetes provider every in-cluster component uses.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ApiServerFront } from "./apiServerFront";
import { recordArtifact } from "../artifacts";
import { Network } from "../network/network";
import { NodePool } from "./nodePool";
import { adminKubeconfig, ClusterPki } from "./pki";
import { ApiServerReadiness } from "./readiness";
import { renderUserData } from "./cloudInit";
import { controlPlaneAddresses } from "./controlPlaneAddresses";
import type { ClusterBootstrap, NodeBootstrap, NodeTaint } from "./kubeadm";

export interface WorkerPoolSpec {
  /** Pool name, e.g. "general". */
  name: string;
  /** Instances; editing it adds or removes only the highest indexes. */
  count: number;
  instanceType: string;
  /** Node labels set by the kubelet at registration (node.kubernetes.io/... and custom prefixes). */
  labels?: Record<string, string>;
  /** Node taints set at registration, e.g. dedicated=order:NoSchedule. */
  taints?: NodeTaint[];
  /** System disk in GiB. Default 120. */
  systemDiskGb?: number;
}

export interface ClusterArgs {
  /** Cluster (stack) name. */
  clusterName: string;
  /** The network the cluster lives in. */
  network: Network;
  /** Full Kubernetes version, e.g. 1.35.4. */
  kubernetesVersion: string;
  /** Control-plane image mirror (China regions), optional. */
  imageRepository?: string;
  /** apt repository of kubeadm/kubelet/kubectl for the version's minor. */
  packageRepository: string;
  podCidr: string;
  serviceCidr: string;
  /** Odd number of masters (etcd quorum). */
  masterCount: number;
  masterInstanceType: string;
  masterSystemDiskGb?: number;
  workerPools: WorkerPoolSpec[];
  /** Pinned OS image for every VM. */
  imageId: string;
  /** HAProxy VM size, optional. */
  frontInstanceType?: string;
  /** ECS and SLB deletion protection; on in prod. */
  deletionProtection: boolean;
  /** How long the readiness gate waits for the api-server. Default 1800 s. */
  readinessTimeoutSeconds?: number;
  tags?: Record<string, string>;
}

export class Cluster extends pulumi.ComponentResource {
  /** `https://<slb>:6443`. */
  public readonly server: string;
  /** Admin kubeconfig (secret). */
  public readonly kubeconfig: pulumi.Output<string>;
  /** The provider every in-cluster component uses; it waits for the readiness gate. */
  public readonly provider: k8s.Provider;
  /** Opens once the api-server answers /readyz through the front. */
  public readonly readiness: ApiServerReadiness;
  public readonly masters: NodePool;
  public readonly workerPools: Record<string, NodePool>;
  public readonly front: ApiServerFront;
  public readonly pki: ClusterPki;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:cluster:Cluster", name, {}, opts);
    if (args.masterCount % 2 !== 1) throw new Error(`Cluster ${name}: masterCount must be odd for etcd quorum, got ${args.masterCount}`);
    const parent = { parent: this };
    const net = args.network;
    const vswitches = net.vswitches.map((v) => ({ zone: v.zone, id: v.id }));

    this.pki = new ClusterPki(`${name}-pki`, { clusterName: args.clusterName }, parent);

    // Join credentials: RandomPassword keeps them secret in state.
    const tokenId = new random.RandomPassword(`${name}-token-id`, { length: 6, special: false, upper: false }, parent);
    const tokenSecret = new random.RandomPassword(`${name}-token-secret`, { length: 16, special: false, upper: false }, parent);
    const certificateKey = new random.RandomBytes(`${name}-certificate-key`, { length: 32 }, parent);

    const addresses = controlPlaneAddresses(
      net.vswitches.map((v) => v.cidr),
      args.masterCount,
    );
    const masterNames = addresses.masters.map((_, i) => `${args.clusterName}-master-${i}`);
    // The version the nodes were bootstrapped with, where a policy (kubernetes-baseline)
    // and the console can read it: user data is a secret and is ignored after first boot.
    const versionTag = { "platform:kubernetes-version": args.kubernetesVersion };

    this.front = new ApiServerFront(
      `${name}-front`,
      {
        clusterName: args.clusterName,
        masters: addresses.masters.map((m, i) => ({ name: masterNames[i], ip: m.ip })),
        vswitches,
        haproxyIps: [addresses.haproxies[0].ip, addresses.haproxies[1].ip],
        slbAddress: addresses.apiServerSlb,
        securityGroupId: net.securityGroupIds.front,
        imageId: args.imageId,
        instanceType: args.frontInstanceType,
        deletionProtection: args.deletionProtection,
        tags: args.tags,
      },
      parent,
    );
    this.server = `https://${this.front.endpoint}`;

    const bootstrap: pulumi.Output<ClusterBootstrap> = pulumi
      .all([tokenId.result, tokenSecret.result, certificateKey.hex, this.pki.caCertHash])
      .apply(([id, secret, key, hash]) => ({
        clusterName: args.clusterName,
        kubernetesVersion: args.kubernetesVersion,
        controlPlaneEndpoint: this.front.endpoint,
        podSubnet: args.podCidr,
        serviceSubnet: args.serviceCidr,
        imageRepository: args.imageRepository,
        packageRepository: args.packageRepository,
        bootstrapToken: `${id}.${secret}`,
        certificateKey: key,
        caCertHash: hash,
      }));

    const userData = (node: pulumi.Input<NodeBootstrap>) => {
      const text = pulumi.all([bootstrap, node]).apply(([c, n]) => renderUserData(c, n));
      return text;
    };
    const recorded = (hostname: string, text: pulumi.Output<string>) => {
      recordArtifact("cloud-init", `${hostname}.yaml`, text);
      return text;
    };

    this.masters = new NodePool(
      `${name}-masters`,
      {
        clusterName: args.clusterName,
        poolName: "master",
        count: args.masterCount,
        instanceType: args.masterInstanceType,
        imageId: args.imageId,
        vswitches,
        securityGroupIds: [net.securityGroupIds.masters],
        fixedIps: addresses.masters.map((m) => m.ip),
        systemDiskGb: args.masterSystemDiskGb ?? 200,
        deletionProtection: args.deletionProtection,
        userData: (i, hostname) =>
          recorded(
            hostname,
            userData(
              i === 0
                ? pulumi
                    .all([this.pki.caCertPem, this.pki.caKeyPem])
                    .apply(([certPem, keyPem]): NodeBootstrap => ({ role: "init", hostname, nodeIp: addresses.masters[i].ip, ca: { certPem, keyPem } }))
                : { role: "control-plane", hostname, nodeIp: addresses.masters[i].ip },
            ),
          ),
        tags: { ...args.tags, ...versionTag, "platform:role": "master" },
      },
      { parent: this, dependsOn: [this.front] },
    );

    this.workerPools = {};
    for (const pool of args.workerPools) {
      this.workerPools[pool.name] = new NodePool(
        `${name}-${pool.name}`,
        {
          clusterName: args.clusterName,
          poolName: pool.name,
          count: pool.count,
          instanceType: pool.instanceType,
          imageId: args.imageId,
          vswitches,
          securityGroupIds: [net.securityGroupIds.workers],
          systemDiskGb: pool.systemDiskGb,
          deletionProtection: args.deletionProtection,
          userData: (_i, hostname) => recorded(hostname, userData({ role: "worker", hostname, labels: pool.labels, taints: pool.taints })),
          tags: { ...args.tags, ...versionTag, "platform:role": "worker" },
        },
        // After the masters and the front: their fixed addresses are taken before
        // DHCP hands out addresses to workers, and a worker's join finds an endpoint.
        { parent: this, dependsOn: [this.masters, this.front] },
      );
    }

    this.readiness = new ApiServerReadiness(
      `${name}-readiness`,
      { endpoint: this.front.endpoint, caCertPem: this.pki.caCertPem, timeoutSeconds: args.readinessTimeoutSeconds },
      { parent: this, dependsOn: [this.masters, this.front] },
    );

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

    this.registerOutputs({ server: this.server, kubeconfig: this.kubeconfig });
  }

  /** Every worker instance id, pool by pool (the ingress SLB's backends). */
  workerInstances(): { pool: string; name: string; id: pulumi.Output<string> }[] {
    return Object.entries(this.workerPools).flatMap(([pool, p]) => p.nodes.map((n) => ({ pool, name: n.name, id: n.instance.id })));
  }
}
