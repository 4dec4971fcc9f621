// kube-flannel as plain Kubernetes objects, following the upstream
// Documentation/kube-flannel.yml of flannel v0.26 (namespace kube-flannel,
// RBAC, kube-flannel-cfg, the kube-flannel-ds DaemonSet). Pure: the flannel
// component turns these into resources, the offline preview prints them and
// the tests check them against the Kubernetes schema.
import { podCidrProblems } from "./flannelRules";
import { parseCidr } from "../../policies/rules/cidr";
import { FLANNEL_VXLAN_PORT, NODE_HOST_PORTS } from "../network/ports";
import type { K8sObject } from "./k8sObjects";

export interface FlannelSettings {
  /** The cluster's pod network (kubeadm `podSubnet`); flannel hands each node a /24 out of it. */
  podCidr: string;
  /** Pinned flanneld image (tag or digest, never `latest`), so every node runs the same agent. */
  flannelImage: string;
  /** Pinned flannel CNI plugin image; its init container copies the plugin binary to /opt/cni/bin. */
  cniPluginImage: string;
  /**
   * vxlan UDP port, default 8472 (the Linux kernel's vxlan default, which the
   * node security groups open between nodes). Note: changing it needs the
   * security group rule changed too, or pods on different nodes stop talking.
   */
  vxlanPort?: number;
  /**
   * flanneld healthz port on the host network, default 0 = off. Bound to
   * 127.0.0.1 only (probed by the local kubelet, not exposed to the VPC); must
   * not clash with another port on the node (kubelet, etcd, node-exporter...).
   */
  healthzPort?: number;
}

/** Images of the upstream kube-flannel.yml of flannel v0.26.7. */
export const FLANNEL_DEFAULT_IMAGES = {
  flannel: "ghcr.io/flannel-io/flannel:v0.26.7",
  cniPlugin: "ghcr.io/flannel-io/flannel-cni-plugin:v1.6.2-flannel1",
} as const;

export const FLANNEL_NAMESPACE = "kube-flannel";

/** flannel's net-conf.json: the pod network and the backend. */
export interface FlannelNetConf {
  Network: string;
  EnableNFTables?: boolean;
  Backend: { Type: "vxlan"; Port?: number };
}

function assertPinned(field: string, image: string): void {
  if (typeof image !== "string" || image.trim() === "" || /\s/.test(image)) {
    throw new Error(`flannel: ${field} must be an image reference, got ${JSON.stringify(image)}`);
  }
  if (image.includes("@sha256:")) return; // a digest pins harder than any tag
  const lastSegment = image.slice(image.lastIndexOf("/") + 1);
  const colon = lastSegment.lastIndexOf(":");
  if (colon < 0) throw new Error(`flannel: ${field} must be pinned to a tag or digest, got ${image}`);
  const tag = lastSegment.slice(colon + 1);
  if (tag === "" || tag === "latest") {
    throw new Error(`flannel: ${field} must be pinned to a version, not ${JSON.stringify(tag)} (${image})`);
  }
}

function assertPort(field: string, port: number, min: number): void {
  if (!Number.isInteger(port) || port < min || port > 65535) {
    throw new Error(`flannel: ${field} must be an integer ${min}-65535, got ${port}`);
  }
}

function validate(s: FlannelSettings): { vxlanPort: number; healthzPort: number } {
  let prefix: number;
  try {
    prefix = parseCidr(s.podCidr).prefix;
  } catch (e) {
    throw new Error(`flannel: podCidr: ${(e as Error).message}`, { cause: e });
  }
  // flannel leases one /24 per node (SubnetLen 24): the rule config validation runs (flannelRules.ts), asserted here.
  const small = podCidrProblems(s.podCidr, 0);
  if (prefix > 23 || small.length > 0) throw new Error(`flannel: ${small[0]}`);
  assertPinned("flannelImage", s.flannelImage);
  assertPinned("cniPluginImage", s.cniPluginImage);
  const vxlanPort = s.vxlanPort ?? FLANNEL_VXLAN_PORT;
  assertPort("vxlanPort", vxlanPort, 1);
  const healthzPort = s.healthzPort ?? 0;
  if (healthzPort !== 0) {
    assertPort("healthzPort", healthzPort, 1);
    const owner = NODE_HOST_PORTS[healthzPort];
    if (owner) throw new Error(`flannel: healthzPort ${healthzPort} clashes with ${owner} on the node's host network`);
  }
  return { vxlanPort, healthzPort };
}

/** net-conf.json for the pod CIDR, always vxlan: it works on any network, VPC or IPsec-joined. */
export function flannelNetConf(s: FlannelSettings): FlannelNetConf {
  const { vxlanPort } = validate(s);
  return {
    Network: s.podCidr,
    // kube-proxy runs in iptables mode on these nodes; flannel must match.
    EnableNFTables: false,
    // Port written out even at its default, so the SG rule and flannel agree visibly.
    Backend: { Type: "vxlan", Port: vxlanPort },
  };
}

/** CNI config installed as /etc/cni/net.d/10-flannel.conflist (as upstream). */
function cniConf(): object {
  return {
    name: "cbr0",
    cniVersion: "0.3.1",
    plugins: [
      // hairpinMode lets a pod reach itself through its own Service IP.
      { type: "flannel", delegate: { hairpinMode: true, isDefaultGateway: true } },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}

/** The kube-flannel objects in apply order: Namespace first, DaemonSet last. */
export function flannelObjects(s: FlannelSettings): K8sObject[] {
  const { healthzPort } = validate(s);
  const ns = FLANNEL_NAMESPACE;
  const appLabels = { app: "flannel", "k8s-app": "flannel", tier: "node" };

  const flanneld: Record<string, unknown> = {
    name: "kube-flannel",
    image: s.flannelImage,
    command: ["/opt/bin/flanneld"],
    args: ["--ip-masq", "--kube-subnet-mgr", ...(healthzPort ? ["--healthz-ip=127.0.0.1", `--healthz-port=${healthzPort}`] : [])],
    resources: { requests: { cpu: "100m", memory: "50Mi" } },
    // Not privileged: NET_ADMIN/NET_RAW are enough to manage the vxlan device and iptables.
    securityContext: { privileged: false, capabilities: { add: ["NET_ADMIN", "NET_RAW"] } },
    env: [
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "EVENT_QUEUE_DEPTH", value: "5000" },
    ],
    volumeMounts: [
      { name: "run", mountPath: "/run/flannel" },
      { name: "flannel-cfg", mountPath: "/etc/kube-flannel/" },
      { name: "xtables-lock", mountPath: "/run/xtables.lock" },
    ],
  };
  if (healthzPort) {
    // Declared so the scheduler refuses a second pod wanting the same host port.
    flanneld.ports = [{ name: "healthz", containerPort: healthzPort, hostPort: healthzPort, protocol: "TCP" }];
    flanneld.livenessProbe = {
      httpGet: { host: "127.0.0.1", path: "/healthz", port: healthzPort },
      initialDelaySeconds: 10,
      periodSeconds: 10,
      failureThreshold: 3,
    };
  }

  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      // flanneld needs hostNetwork and hostPath, which the baseline and
      // restricted Pod Security levels refuse.
      metadata: { name: ns, labels: { "k8s-app": "flannel", "pod-security.kubernetes.io/enforce": "privileged" } },
    },
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "flannel", namespace: ns, labels: { "k8s-app": "flannel" } },
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "flannel", labels: { "k8s-app": "flannel" } },
      rules: [
        { apiGroups: [""], resources: ["pods"], verbs: ["get"] },
        { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch"] },
        // --kube-subnet-mgr writes each node's lease into its annotations.
        { apiGroups: [""], resources: ["nodes/status"], verbs: ["patch"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "flannel", labels: { "k8s-app": "flannel" } },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "flannel" },
      subjects: [{ kind: "ServiceAccount", name: "flannel", namespace: ns }],
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "kube-flannel-cfg", namespace: ns, labels: appLabels },
      data: {
        "cni-conf.json": JSON.stringify(cniConf(), null, 2) + "\n",
        "net-conf.json": JSON.stringify(flannelNetConf(s), null, 2) + "\n",
      },
    },
    {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "kube-flannel-ds", namespace: ns, labels: appLabels },
      spec: {
        selector: { matchLabels: { app: "flannel" } },
        template: {
          metadata: { labels: { app: "flannel", tier: "node" } },
          spec: {
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/os", operator: "In", values: ["linux"] }] }],
                },
              },
            },
            // The pod network does not exist until flannel runs, so flannel
            // itself lives on the node's network.
            hostNetwork: true,
            priorityClassName: "system-node-critical",
            // Runs on tainted nodes too (masters): a node without flannel has no pod network.
            tolerations: [{ operator: "Exists", effect: "NoSchedule" }],
            serviceAccountName: "flannel",
            initContainers: [
              {
                name: "install-cni-plugin",
                image: s.cniPluginImage,
                command: ["cp"],
                args: ["-f", "/flannel", "/opt/cni/bin/flannel"],
                volumeMounts: [{ name: "cni-plugin", mountPath: "/opt/cni/bin" }],
              },
              {
                name: "install-cni",
                image: s.flannelImage,
                command: ["cp"],
                args: ["-f", "/etc/kube-flannel/cni-conf.json", "/etc/cni/net.d/10-flannel.conflist"],
                volumeMounts: [
                  { name: "cni", mountPath: "/etc/cni/net.d" },
                  { name: "flannel-cfg", mountPath: "/etc/kube-flannel/" },
                ],
              },
            ],
            containers: [flanneld],
            volumes: [
              { name: "run", hostPath: { path: "/run/flannel" } },
              { name: "cni-plugin", hostPath: { path: "/opt/cni/bin" } },
              { name: "cni", hostPath: { path: "/etc/cni/net.d" } },
              { name: "flannel-cfg", configMap: { name: "kube-flannel-cfg" } },
              // Shared with kube-proxy so their iptables writes do not interleave.
              { name: "xtables-lock", hostPath: { path: "/run/xtables.lock", type: "FileOrCreate" } },
            ],
          },
        },
      },
    },
  ];
}
