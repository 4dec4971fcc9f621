// kubeadm configuration for nodes that bootstrap themselves from cloud-init.
// Pure: typed settings in, YAML text out, so the documents are tested directly
// and the same text lands in the user data and in the offline preview.
//
// API: kubeadm.k8s.io/v1beta4 (kubeadm >= 1.31), where kubeletExtraArgs are a
// list of {name, value} instead of a map.

import { ADMISSION_CONFIG_DIR, ADMISSION_CONFIG_PATH } from "./podSecurity";
import { createHash, createPublicKey } from "node:crypto";
import YAML from "yaml";
import { parseIp } from "../../policies/rules/cidr";
import { API_SERVER_PORT } from "../network/ports";

export interface ClusterBootstrap {
  /** Cluster name, e.g. "prod1"; a DNS label, it also names the kubeconfig context. */
  clusterName: string;
  /** Full Kubernetes version "1.33.5" (no "v"); kubeadm, kubelet and kubectl are pinned to it. */
  kubernetesVersion: string;
  /**
   * "host:port" of the api-server front (the internal SLB), e.g. "10.20.0.250:6443".
   * Note: every node, masters included, talks to the SLB; its backends are the
   * HAProxy VMs, never the masters, because an SLB backend cannot reach its own SLB (no hairpin).
   */
  controlPlaneEndpoint: string;
  /** Pod network CIDR; must match flannel's Network, must not overlap the service CIDR or node IPs. */
  podSubnet: string;
  /** Service CIDR (ClusterIPs); at most a /12, the api-server's limit for IPv4. */
  serviceSubnet: string;
  /**
   * Optional registry mirror for control-plane images and the pause image,
   * e.g. registry.cn-hangzhou.aliyuncs.com/google_containers. Needed in China
   * regions, where registry.k8s.io is not reachable through the NAT gateway.
   */
  imageRepository?: string;
  /**
   * apt repository base for kubeadm/kubelet/kubectl, e.g. https://pkgs.k8s.io/core:/stable:/v1.33/deb/
   * or https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.33/deb/. Must be https: the
   * signing key is fetched from `<repo>/Release.key`, so plain http would let anyone on the path
   * swap the key. Note: these repositories are per minor version, so the v1.NN in the URL
   * must match kubernetesVersion.
   */
  packageRepository: string;
  /** "sha256:<64 hex>" of the CA's public key (DER SPKI); joins pin it instead of trusting the SLB. */
  caCertHash: string;
  /** The cluster CA certificate (public): masters verify the api-server with it before deciding init or join. */
  caCertPem: string;
}

export type TaintEffect = "NoSchedule" | "PreferNoSchedule" | "NoExecute";

export interface NodeTaint {
  /** Taint key, a qualified name such as "dedicated" or "example.com/gpu". */
  key: string;
  /** Optional taint value (label-value syntax). */
  value?: string;
  /** What the scheduler does with pods that do not tolerate the taint. */
  effect: TaintEffect;
}

export interface NodeBootstrap {
  /** "init" for the first master, "control-plane" for the other masters, "worker" otherwise. */
  role: "init" | "control-plane" | "worker";
  /** Node and VM hostname, e.g. prod1-general-3; an RFC 1123 label so it is a valid Node name. */
  hostname: string;
  /**
   * Fixed private IP of a master (its etcd peer and api-server advertiseAddress, which
   * HAProxy targets). Required for masters; workers omit it and take their DHCP address.
   */
  nodeIp?: string;
  /**
   * Node labels, set by the kubelet at registration. Note: the NodeRestriction admission
   * plugin forbids kubelets to self-set most kubernetes.io / k8s.io labels (such as
   * node-role.kubernetes.io/worker); those are refused here rather than failing at boot.
   */
  labels?: Record<string, string>;
  /**
   * Node taints set at registration. Note: on masters, giving taints replaces kubeadm's
   * default node-role.kubernetes.io/control-plane:NoSchedule; omit to keep it.
   */
  taints?: NodeTaint[];
  /** Masters only: where the shared control-plane PKI is read and who the other masters are. */
  controlPlane?: ControlPlaneBootstrap;
  /**
   * Workers only: where the worker reads its join token at boot, the KMS secret the masters keep
   * current (workerToken.ts), with the workers' instance role. No token is in any user data.
   */
  joinTokenStore?: JoinTokenStore;
}

/** The KMS secret holding the current worker join token, its endpoint (https URL) and the role that may read it. */
export interface JoinTokenStore {
  kmsUrl: string;
  secretName: string;
  ramRole: string;
}

export interface ControlPlaneBootstrap {
  /** The master's index: master-0 alone may run `kubeadm init`, master-i joins after master-(i-1) is Ready. */
  index: number;
  /** The other masters' "ip:port": probed directly, so a partitioned front does not look like "no cluster". */
  peers: string[];
  /** KMS Secrets Manager: the GetSecretValue endpoint (https URL), the secret's name, the instance RAM role. */
  secretStore: { kmsUrl: string; secretName: string; ramRole: string };
}

/** Written into every join config, replaced at boot: a master mints its own 1 h token, a worker reads the current one from KMS. */
export const JOIN_TOKEN_PLACEHOLDER = "JOIN-TOKEN-MINTED-AT-BOOT"; // never a valid token, never token-shaped

/** Where the bootstrap script finds the kubeadm config on the node. */
export const KUBEADM_CONFIG_PATH = "/etc/k8s-bootstrap/kubeadm.yaml";
/** containerd's CRI socket; kubeadm is told explicitly so it never probes for Docker. */
export const CRI_SOCKET = "unix:///run/containerd/containerd.sock";

/** v1beta4 first shipped with kubeadm 1.31; config validation admits only newer minors (SUPPORTED_KUBERNETES_MINORS). */
const KUBEADM_API = "kubeadm.k8s.io/v1beta4";
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VERSION = /^1\.(\d+)\.(\d+)$/;

/**
 * Labels a kubelet may set on its own Node under the NodeRestriction admission plugin
 * (k8s.io/kubelet/pkg/apis: kubeletLabels). Anything else under kubernetes.io or k8s.io
 * makes the kubelet refuse to start, which on a cloud-init node means a silent dead VM.
 */
const KUBELET_SETTABLE_LABELS = new Set([
  "kubernetes.io/hostname",
  "kubernetes.io/os",
  "kubernetes.io/arch",
  "beta.kubernetes.io/os",
  "beta.kubernetes.io/arch",
  "beta.kubernetes.io/instance-type",
  "node.kubernetes.io/instance-type",
  "failure-domain.beta.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "topology.kubernetes.io/zone",
]);
const KUBELET_LABEL_NAMESPACES = ["kubelet.kubernetes.io", "node.kubernetes.io"];

function inDomain(namespace: string, domain: string): boolean {
  return namespace === domain || namespace.endsWith(`.${domain}`);
}

/** True when NodeRestriction lets a kubelet set this label key on its own Node. */
export function isKubeletSettableLabel(key: string): boolean {
  const slash = key.indexOf("/");
  const namespace = slash < 0 ? "" : key.slice(0, slash);
  const reserved = inDomain(namespace, "kubernetes.io") || inDomain(namespace, "k8s.io");
  if (!reserved) return true;
  if (KUBELET_SETTABLE_LABELS.has(key)) return true;
  return KUBELET_LABEL_NAMESPACES.some((d) => inDomain(namespace, d));
}

function fail(field: string, message: string): never {
  throw new Error(`${field}: ${message}`);
}

/** Parses "host:port"; the host is an IPv4 address or a DNS name. */
export function parseEndpoint(endpoint: string): { host: string; port: number } {
  const m = /^([^:\s]+):(\d{1,5})$/.exec(endpoint);
  const field = "controlPlaneEndpoint";
  if (!m) fail(field, `${JSON.stringify(endpoint)} is not "host:port"`);
  const [, host, portText] = m;
  const port = Number(portText);
  if (port < 1 || port > 65535) fail(field, `port ${port} is out of range`);
  if (/^[\d.]+$/.test(host)) {
    try {
      parseIp(host);
    } catch {
      fail(field, `${JSON.stringify(host)} is not an IPv4 address`);
    }
  } else if (host.length > 253 || !DNS_SUBDOMAIN.test(host)) {
    fail(field, `${JSON.stringify(host)} is not an IPv4 address or DNS name`);
  }
  return { host, port };
}

/** Minor version of a validated "1.NN.P" version. */
export function kubernetesMinor(version: string): number {
  const m = VERSION.exec(version);
  if (!m) fail("kubernetesVersion", `${JSON.stringify(version)} is not a full version like "1.33.5"`);
  return Number(m[1]);
}

/**
 * What a caller of the renderers could get wrong, checked before any text is
 * rendered. Everything a user writes (versions, repositories, CIDRs, labels,
 * taints) was checked by config validation (kubeadmRules.ts, through
 * config/crossChecks.ts) before anything was registered, and the rest (token,
 * CA hash, endpoint, node names, the KMS URL) is computed by cluster.ts and
 * pki.ts, whose tests cover it; neither is checked again here.
 */
export function validateClusterBootstrap(c: ClusterBootstrap): void {
  parseEndpoint(c.controlPlaneEndpoint);
}

/** Throws on a node that does not fit its role, naming the field. */
export function validateNodeBootstrap(c: ClusterBootstrap, n: NodeBootstrap): void {
  const master = n.role !== "worker";
  if (master && n.nodeIp === undefined) fail("nodeIp", `required for role ${n.role}: it is the advertiseAddress HAProxy sends traffic to`);
  if (!master) {
    if (n.joinTokenStore === undefined) fail("joinTokenStore", "required for a worker's join: where it reads its token");
    if (n.controlPlane !== undefined) fail("controlPlane", `only masters carry controlPlane, not role ${n.role}`);
    return;
  }
  const cp = n.controlPlane;
  if (cp === undefined) fail("controlPlane", `required for role ${n.role}: the secret store and the other masters`);
  cp.peers.forEach((peer, i) => parseEndpointAs(`controlPlane.peers[${i}]`, peer));
}

function parseEndpointAs(field: string, endpoint: string): void {
  try {
    parseEndpoint(endpoint);
  } catch (e) {
    fail(field, (e as Error).message.replace(/^controlPlaneEndpoint: /, ""));
  }
}

/**
 * kubeadm's discovery hash: "sha256:" + hex SHA-256 of the DER SubjectPublicKeyInfo.
 * Accepts a public key PEM or a certificate PEM (node:crypto takes either).
 */
export function caCertHashFromPublicKeyPem(pem: string): string {
  const der = createPublicKey(pem).export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(der).digest("hex")}`;
}

function nodeRegistration(n: NodeBootstrap): Record<string, unknown> {
  const kubeletExtraArgs: { name: string; value: string }[] = [];
  // The VM may have several interfaces; pin the one HAProxy and etcd peers use.
  if (n.nodeIp !== undefined) kubeletExtraArgs.push({ name: "node-ip", value: n.nodeIp });
  const labels = Object.entries(n.labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (labels.length > 0) {
    kubeletExtraArgs.push({ name: "node-labels", value: labels.map(([k, v]) => `${k}=${v}`).join(",") });
  }
  const reg: Record<string, unknown> = { name: n.hostname, criSocket: CRI_SOCKET };
  if (kubeletExtraArgs.length > 0) reg.kubeletExtraArgs = kubeletExtraArgs;
  if (n.taints !== undefined) {
    reg.taints = n.taints.map((t) => (t.value === undefined ? { key: t.key, effect: t.effect } : { key: t.key, value: t.value, effect: t.effect }));
  }
  return reg;
}

function stringifyDocs(docs: object[]): string {
  return docs.map((d) => YAML.stringify(d, { lineWidth: 0 })).join("---\n");
}

/** Multi-document YAML for the first master: InitConfiguration, ClusterConfiguration, KubeletConfiguration. */
export function renderInitConfiguration(c: ClusterBootstrap, n: NodeBootstrap): string {
  validateClusterBootstrap(c);
  validateNodeBootstrap(c, n);
  if (n.role === "worker") fail("role", `renderInitConfiguration needs a master, got ${JSON.stringify(n.role)}`);
  const init = {
    apiVersion: KUBEADM_API,
    kind: "InitConfiguration",
    // No token given: kubeadm generates one (bootstraptoken/v1 types.go) and, with
    // --skip-token-print, prints it nowhere. Nobody needs it: workers read the masters' short-lived
    // token from KMS (workerToken.ts), masters mint a 1 h token from the CA.
    bootstrapTokens: [
      {
        ttl: "1h",
        description: "kubeadm init's own token, unused",
        usages: ["signing", "authentication"],
        groups: ["system:bootstrappers:kubeadm:default-node-token"],
      },
    ],
    // No certificateKey and no --upload-certs: every master stages the shared control-plane
    // PKI from the secret store, so no kubeadm-certs Secret (2 h) and no key exist.
    localAPIEndpoint: { advertiseAddress: n.nodeIp, bindPort: API_SERVER_PORT },
    nodeRegistration: nodeRegistration(n),
  };
  const { host } = parseEndpoint(c.controlPlaneEndpoint);
  const cluster: Record<string, unknown> = {
    apiVersion: KUBEADM_API,
    kind: "ClusterConfiguration",
    clusterName: c.clusterName,
    kubernetesVersion: `v${c.kubernetesVersion}`,
    // Everything, kubelets and admin kubeconfig included, goes through the SLB so losing
    // one master or one HAProxy does not matter.
    controlPlaneEndpoint: c.controlPlaneEndpoint,
    networking: { podSubnet: c.podSubnet, serviceSubnet: c.serviceSubnet, dnsDomain: "cluster.local" },
    // kubeadm adds the endpoint on its own; listing it keeps the SLB name visible to a reviewer.
    apiServer: {
      certSANs: [host],
      extraArgs: [
        // Secrets encrypted at rest; the file (with its key) is staged from the secret store into pki/, which kubeadm mounts into the api-server.
        { name: "encryption-provider-config", value: ENCRYPTION_CONFIG_PATH },
        { name: "audit-policy-file", value: AUDIT_POLICY_PATH },
        { name: "audit-log-path", value: `${AUDIT_LOG_DIR}/audit.log` },
        { name: "audit-log-maxage", value: "30" },
        { name: "audit-log-maxbackup", value: "10" },
        { name: "audit-log-maxsize", value: "100" },
        // kubeadm's default is NodeRestriction alone; DenyServiceExternalIPs closes CVE-2020-8554 (CIS 1.2.3).
        { name: "enable-admission-plugins", value: "NodeRestriction,DenyServiceExternalIPs" },
        // PodSecurity's cluster-wide defaults and exemptions (podSecurity.ts).
        { name: "admission-control-config-file", value: ADMISSION_CONFIG_PATH },
        // CIS Kubernetes Benchmark (kube-bench cfg cis-1.12) 1.2.5: kubelets serve CA-signed certificates
        // (serverTLSBootstrap below, approved by kubelet-csr-approver), so exec/logs/port-forward verify them.
        { name: "kubelet-certificate-authority", value: "/etc/kubernetes/pki/ca.crt" },
        { name: "profiling", value: "false" }, // 1.2.15
        { name: "service-account-extend-token-expiration", value: "false" }, // 1.2.30
        { name: "tls-cipher-suites", value: TLS_CIPHER_SUITES.join(",") }, // 1.2.29
      ],
      extraVolumes: [
        { name: "admission", hostPath: ADMISSION_CONFIG_DIR, mountPath: ADMISSION_CONFIG_DIR, readOnly: true, pathType: "DirectoryOrCreate" },
        { name: "audit-policy", hostPath: AUDIT_POLICY_DIR, mountPath: AUDIT_POLICY_DIR, readOnly: true, pathType: "DirectoryOrCreate" },
        { name: "audit-log", hostPath: AUDIT_LOG_DIR, mountPath: AUDIT_LOG_DIR, readOnly: false, pathType: "DirectoryOrCreate" },
      ],
    },
  };
  // CIS 1.3.1, 1.3.2, 1.4.1.
  cluster.controllerManager = {
    extraArgs: [
      { name: "profiling", value: "false" },
      { name: "terminated-pod-gc-threshold", value: "1000" },
    ],
  };
  cluster.scheduler = { extraArgs: [{ name: "profiling", value: "false" }] };
  if (c.imageRepository !== undefined) cluster.imageRepository = c.imageRepository;
  const kubelet = {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    // Must agree with containerd's SystemdCgroup = true; two cgroup managers on one node
    // make the kubelet unstable under memory pressure. Joins read this from the cluster.
    cgroupDriver: "systemd",
    containerRuntimeEndpoint: CRI_SOCKET,
    // Kubelets request serving certificates signed by the cluster CA (KubeletConfiguration v1beta1
    // `serverTLSBootstrap`, which also rotates them) instead of self-signing: metrics-server verifies
    // kubelets against the cluster CA (k8s/metricsServer), and the scoped kubelet-csr-approver approves
    // these CSRs, which kube-controller-manager never does by itself.
    serverTLSBootstrap: true,
    // CIS 4.2.12-4.2.14: strong ciphers only, the runtime's default seccomp profile for every
    // container, and a bound on each pod's processes (a fork bomb stays inside its pod).
    tlsCipherSuites: TLS_CIPHER_SUITES,
    seccompDefault: true,
    podPidsLimit: POD_PIDS_LIMIT,
  };
  return stringifyDocs([init, cluster, kubelet]);
}

/** JoinConfiguration for a master (with controlPlane; its token is minted at boot) or a worker. */
export function renderJoinConfiguration(c: ClusterBootstrap, n: NodeBootstrap): string {
  validateClusterBootstrap(c);
  validateNodeBootstrap(c, n);
  const join: Record<string, unknown> = {
    apiVersion: KUBEADM_API,
    kind: "JoinConfiguration",
    discovery: {
      bootstrapToken: {
        apiServerEndpoint: c.controlPlaneEndpoint,
        token: JOIN_TOKEN_PLACEHOLDER,
        // Pinning the CA means a rogue endpoint cannot hand the node a fake cluster.
        caCertHashes: [c.caCertHash],
      },
    },
    nodeRegistration: nodeRegistration(n),
  };
  if (n.role !== "worker") {
    // No certificateKey: the shared certificates are already in pki/ (staged from the secret store).
    join.controlPlane = { localAPIEndpoint: { advertiseAddress: n.nodeIp, bindPort: API_SERVER_PORT } };
  }
  return stringifyDocs([join]);
}

/**
 * The TLS 1.2 cipher suites the api-server and the kubelets offer: the ECDHE AEAD suites, the
 * strong set of CIS 1.2.29/4.2.12 (TLS 1.3 suites are not configurable in Go and are all strong).
 */
export const TLS_CIPHER_SUITES = [
  "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];
/** Processes per pod (KubeletConfiguration podPidsLimit); a JVM with a few hundred threads fits well. */
export const POD_PIDS_LIMIT = 4096;

/** Where the encryption config is staged (inside pki/, mounted into the api-server by kubeadm). */
export const ENCRYPTION_CONFIG_PATH = "/etc/kubernetes/pki/encryption-config.yaml";
export const AUDIT_POLICY_DIR = "/etc/kubernetes/audit";
export const AUDIT_POLICY_PATH = `${AUDIT_POLICY_DIR}/policy.yaml`;
export const AUDIT_LOG_DIR = "/var/log/kubernetes/audit";
/** A master's init config (master 0 only) and join config; a worker's join config. */
export const KUBEADM_INIT_CONFIG_PATH = "/etc/k8s-bootstrap/kubeadm-init.yaml";
