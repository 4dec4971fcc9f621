// Every port number and special address range the platform relies on, each
// under one name. The security groups, the HAProxy front, kubeadm, flannel,
// the ingress SLB and the readiness gate import them from here, so changing
// a port is one edit and a grep for the name finds every place it matters.
//
// Note: policies/ keeps its own list of admin ports on purpose (they are the
// pack's config, with defaults): the pack stands alone and imports nothing from
// the program.

/** SSH on every VM (never opened by any rule; listed so host-port clashes are caught). */
export const SSH_PORT = 22;

/**
 * kube-apiserver's secure port: kubeadm's default `bindPort`, the HAProxy
 * frontend and backend port, and the internal SLB's listener (kubeadm
 * InitConfiguration.localAPIEndpoint.bindPort, default 6443).
 */
export const API_SERVER_PORT = 6443;

/** etcd client and peer ports (kubeadm's stacked etcd: --listen-client-urls :2379, --listen-peer-urls :2380). */
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
/** etcd's plain-HTTP metrics listener that kubeadm sets (--listen-metrics-urls http://127.0.0.1:2381). */
export const ETCD_METRICS_PORT = 2381;

/** kubelet's API (logs, exec, metrics): the api-server and Prometheus call it. */
export const KUBELET_PORT = 10250;
/** kubelet's healthz, bound to 127.0.0.1 (KubeletConfiguration healthzPort default). */
export const KUBELET_HEALTHZ_PORT = 10248;
/** kube-proxy's metrics (metricsBindAddress default 127.0.0.1:10249) and healthz (healthzBindAddress default 0.0.0.0:10256). */
export const KUBE_PROXY_METRICS_PORT = 10249;
export const KUBE_PROXY_HEALTHZ_PORT = 10256;
/** kube-controller-manager's and kube-scheduler's secure ports (their metrics endpoints). */
export const CONTROLLER_MANAGER_PORT = 10257;
export const SCHEDULER_PORT = 10259;

/** The api-server's default --service-node-port-range; the ingress SLB reaches the workers here. */
export const NODE_PORT_RANGE = { from: 30000, to: 32767 } as const;
/** ingress-nginx's NodePorts behind the ingress SLB, inside NODE_PORT_RANGE; `platform:ingress` may override them. */
export const INGRESS_HTTP_NODE_PORT = 30080;
export const INGRESS_HTTPS_NODE_PORT = 30443;
/** What the ingress SLB listens on (the edge's HTTP and HTTPS). */
export const HTTP_PORT = 80;
export const HTTPS_PORT = 443;

/**
 * HAProxy's HTTP check port (monitor-uri): the api-server SLB health-checks
 * each HAProxy here, and it fails when that HAProxy sees no healthy master.
 */
export const HAPROXY_CHECK_PORT = 8081;
/** HAProxy's basic-auth stats page (which masters are up): off by default; when on, open to the front's own vswitches only (apiServerFront.ts). */
export const HAPROXY_STATS_PORT = 9000;

/**
 * flannel's vxlan port, UDP: the Linux kernel's vxlan default (IANA's is 4789),
 * which flannel uses unless net-conf.json sets Backend.Port. Open between all nodes.
 */
export const FLANNEL_VXLAN_PORT = 8472;
/**
 * flanneld's healthz on the host network, 127.0.0.1 only: clear of kubelet
 * (10248/10250), kube-proxy (10249/10256) and vxlan (8472/udp).
 */
export const FLANNEL_HEALTHZ_PORT = 8471;
/**
 * kube-router's /healthz on the host network, 127.0.0.1 only (components/k8s/networkPolicy.ts): its default
 * (--health-port, pkg/options/options.go at v2.10.0), clear of every other port on the node.
 */
export const KUBE_ROUTER_HEALTH_PORT = 20244;

/** node-exporter on every node's host network (kube-prometheus-stack's prometheus-node-exporter default). */
export const NODE_EXPORTER_PORT = 9100;

// Special ranges. The pack needs RFC 1918, IPv6 ULA and the SLB health-check
// range too, and it imports nothing from the program, so those three are defined
// beside the one CIDR module in the pack and named again here for the program.
import { IPV6_ULA, RFC1918, SLB_HEALTH_CHECK_CIDR } from "../../policies/rules/cidr";
export { IPV6_ULA, RFC1918, SLB_HEALTH_CHECK_CIDR };

/** The ECS metadata service (http://100.100.100.200/latest/meta-data), reached from every VM. */
export const METADATA_ADDRESS = "100.100.100.200";

/**
 * Ranges no cluster range may overlap, each with what it is: Alibaba's SLB
 * health checks and layer-4 SLB traffic come from 100.64.0.0/10 and the metadata
 * service sits at 100.100.100.200; Alibaba refuses loopback, link-local and
 * multicast as VPC ranges (VPC docs, "plan networks": 100.64.0.0/10, 224.0.0.0/4,
 * 127.0.0.0/8 and 169.254.0.0/16 cannot be used).
 */
export const RESERVED_RANGES: readonly (readonly [cidr: string, what: string])[] = [
  [`${METADATA_ADDRESS}/32`, "the ECS metadata service address"],
  [SLB_HEALTH_CHECK_CIDR, "the range SLB health checks come from"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["224.0.0.0/4", "multicast"],
  ["0.0.0.0/8", "'this network'"],
  ["240.0.0.0/4", "reserved (class E)"],
];

/**
 * How both CLBs (api-server front, ingress) are billed: pay-by-LCU, which has no spec.
 * Alibaba stopped selling new pay-by-specification CLBs on 2025-06-01 (Alibaba Cloud
 * doc-detail/127268); the provider's `instance_charge_type` takes PayBySpec or PayByCLCU
 * (resource_alicloud_slb_load_balancer.go) and only with payment_type PayAsYouGo.
 */
export const SLB_INSTANCE_CHARGE_TYPE = "PayByCLCU";

/** TCP ports already taken on every node's host network, so a new host port (e.g. flannel's healthz) must avoid them. */
export const NODE_HOST_PORTS: Readonly<Record<number, string>> = {
  [SSH_PORT]: "sshd",
  [ETCD_CLIENT_PORT]: "etcd client",
  [ETCD_PEER_PORT]: "etcd peer",
  [API_SERVER_PORT]: "kube-apiserver",
  [NODE_EXPORTER_PORT]: "node-exporter",
  [KUBELET_HEALTHZ_PORT]: "kubelet healthz",
  [KUBE_PROXY_METRICS_PORT]: "kube-proxy metrics",
  [KUBELET_PORT]: "kubelet",
  [KUBE_PROXY_HEALTHZ_PORT]: "kube-proxy healthz",
  [CONTROLLER_MANAGER_PORT]: "kube-controller-manager",
  [SCHEDULER_PORT]: "kube-scheduler",
};

/** A port range in the form ECS security group rules use: `6443/6443`, `30000/32767`. */
export function portRange(from: number, to: number = from): string {
  return `${from}/${to}`;
}
