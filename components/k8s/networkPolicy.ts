// NetworkPolicy enforcement on flannel (issue #30, threat row T29): flannel (vxlan) moves packets and enforces no
// NetworkPolicy, so each cluster also runs kube-router with only its network-policy controller, the design k3s ships
// (flannel for the pod network, kube-router's policy controller for NetworkPolicy). Pure: the flannel component turns
// these objects into resources, and test/k8s/networkPolicyEnforcement.test.ts runs the real kube-router v2.10.0 with
// this DaemonSet's arguments and RBAC against a real api-server, in network namespaces.
//
// Upstream facts, cited once here and used below (github.com/cloudnativelabs/kube-router tag v2.10.0, commit
// 50354a16b0179c3d72098a55b9cd966b6c9bfad4). v2.10.0, not v2.11.x: the Go module proxy CI builds the test's binary
// through refuses v2.11.x's source; v2.10.0..v2.11.1 changes nothing this mode runs that matters (docs/threat-model.md
// T29), and v2.1.0 has reported security flaws.
// - Flags (pkg/options/options.go): --run-firewall (the policy controller), --run-router and --run-service-proxy both
//   default true, so they are turned off: flannel routes and kube-proxy proxies; --health-addr/--health-port serve
//   /healthz (default port 20244, all addresses); --metrics-port 0 = no metrics; the node is found by the NODE_NAME
//   env (pkg/utils/node.go GetNodeObject), whose InternalIP must be on one of the node's links.
// - What the policy-only mode reads (pkg/cmd/kube-router.go): it starts informers on services, endpointslices,
//   pods, nodes, namespaces and networkpolicies whatever controllers run, and the policy controller gets its own
//   Node (network_policy_controller.go NewNetworkPolicyController); it writes no API object (leases and
//   services/status in upstream's daemonset/generic-kuberouter.yaml ClusterRole are the load-balancer allocator's).
//   So the ClusterRole below is get/list/watch on exactly those.
// - Backend: the controller programs iptables chains and ipsets (pkg/cmd/kube-router.go, NewIPTablesHandlers);
//   v2.10.0 has no other (v2.11.0 adds an experimental nftables mode, --use-nftables-for-netpol). Which iptables
//   backend (legacy or nft) its image uses is picked at start by kubernetes-sigs/iptables-wrappers (Dockerfile:
//   `/iptables-wrapper install`), the same wrapper kubeadm's kube-proxy image uses, which picks the backend the
//   node's existing rules are in: the nodes' kube-proxy runs in iptables mode (kubeadm's ConfigMap sets no mode,
//   test/cluster/bootstrapTrust.test.ts), so both end on the one backend kube-proxy and the kubelet use (nft on
//   Ubuntu 22.04, whose iptables 1.8.7 defaults to it). The enforcement test runs it with iptables-nft, like that.
// - Node access (pkg/controllers/netpol): iptables-restore/iptables-save and ipset in the node's network namespace
//   (hostNetwork; CAP_NET_ADMIN, and CAP_NET_RAW for iptables-legacy's raw socket), the xtables lock shared with
//   kube-proxy and flannel. Nothing else: no modprobe (only the router controller runs one), no /lib/modules, no
//   hostPID (upstream's DaemonSet sets privileged and hostPID for its proxy and router), no CNI files.
// - Pod chains accept traffic from the local node (pod.go: `-m addrtype --src-type LOCAL`), so the kubelet's probes
//   of a selected pod still reach it; a packet no policy allows is logged (NFLOG group 100) and REJECTed.
// The platform's own NetworkPolicies live beside what they guard (tracing.ts: oapNetworkPolicy).
import type { K8sObject } from "./k8sObjects";
import { KUBE_ROUTER_HEALTH_PORT } from "../network/ports";

export const KUBE_ROUTER_VERSION = "v2.10.0";
/** Upstream's image of that tag; through the mirror like every image (images.ts `mirrored`, in flannel.ts). */
export const KUBE_ROUTER_IMAGE = `docker.io/cloudnativelabs/kube-router:${KUBE_ROUTER_VERSION}`;
export const KUBE_ROUTER_NAME = "kube-router";
export const KUBE_ROUTER_NAMESPACE = "kube-system";

/** The controller's command line: the policy controller alone, health on loopback, no metrics. */
export const KUBE_ROUTER_ARGS: readonly string[] = [
  "--run-firewall=true",
  "--run-router=false",
  "--run-service-proxy=false",
  "--health-addr=127.0.0.1",
  `--health-port=${KUBE_ROUTER_HEALTH_PORT}`,
  "--metrics-port=0",
];

/** What kube-router's policy controller reads (see the header); it writes nothing. */
export const KUBE_ROUTER_RULES = [
  { apiGroups: [""], resources: ["namespaces", "nodes", "pods", "services"], verbs: ["get", "list", "watch"] },
  { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
  { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["get", "list", "watch"] },
];

/** kube-router's ServiceAccount, ClusterRole, ClusterRoleBinding and DaemonSet (in that order), one pod on every node. */
export function kubeRouterObjects(image: string): K8sObject[] {
  const labels = { "k8s-app": KUBE_ROUTER_NAME };
  const ns = KUBE_ROUTER_NAMESPACE;
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: KUBE_ROUTER_NAME, namespace: ns, labels } },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: KUBE_ROUTER_NAME, labels }, rules: KUBE_ROUTER_RULES },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: KUBE_ROUTER_NAME, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: KUBE_ROUTER_NAME },
      subjects: [{ kind: "ServiceAccount", name: KUBE_ROUTER_NAME, namespace: ns }],
    },
    {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: KUBE_ROUTER_NAME, namespace: ns, labels },
      spec: {
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/os", operator: "In", values: ["linux"] }] }],
                },
              },
            },
            // The pods' traffic passes the node's own netfilter: the controller programs it there.
            hostNetwork: true,
            priorityClassName: "system-node-critical",
            // Every node, masters and tainted pools included: a node without it would let every packet to its pods through.
            tolerations: [
              { operator: "Exists", effect: "NoSchedule" },
              { operator: "Exists", effect: "NoExecute" },
            ],
            serviceAccountName: KUBE_ROUTER_NAME,
            containers: [
              {
                name: KUBE_ROUTER_NAME,
                image,
                args: [...KUBE_ROUTER_ARGS],
                env: [{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
                resources: { requests: { cpu: "50m", memory: "64Mi" } },
                // Not privileged: iptables and ipset need NET_ADMIN (and NET_RAW for the legacy backend), nothing more.
                securityContext: { privileged: false, capabilities: { add: ["NET_ADMIN", "NET_RAW"] } },
                livenessProbe: {
                  httpGet: { host: "127.0.0.1", path: "/healthz", port: KUBE_ROUTER_HEALTH_PORT },
                  initialDelaySeconds: 10,
                  periodSeconds: 10,
                  failureThreshold: 3,
                },
                volumeMounts: [{ name: "xtables-lock", mountPath: "/run/xtables.lock" }],
              },
            ],
            volumes: [
              // Shared with kube-proxy and flannel so their iptables writes do not interleave.
              { name: "xtables-lock", hostPath: { path: "/run/xtables.lock", type: "FileOrCreate" } },
            ],
          },
        },
      },
    },
  ];
}
