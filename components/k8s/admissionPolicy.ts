// What no non-platform principal may create, enforced by the api-server itself (a
// ValidatingAdmissionPolicy, CEL, GA in Kubernetes 1.30), beside Pod Security's cluster-wide
// default (cluster/podSecurity.ts) and the node guard (cluster/bootstrapUnits.ts):
// - Endpoints, EndpointSlices and Service externalIPs into the carrier-grade NAT range
//   100.64.0.0/10 (Alibaba's metadata service 100.100.100.200 is in it), link-local ranges, or the
//   VPC (the nodes' addresses): a route from a ClusterIP to the metadata service or to a node's
//   host-network ports. The system's own writers are exempt: the api-server and the
//   controller-manager (users `system:*` that are not service accounts) and kube-system's
//   service accounts (the endpoint controllers). `DenyServiceExternalIPs` (kubeadm.ts) refuses
//   new externalIPs anyway (CVE-2020-8554); this policy also covers updates that keep one.
// - Pods with the host's network, PID or IPC namespace, a hostPath volume or a privileged
//   container, unless the pod runs as one of HOST_ACCESS_WORKLOADS (namespace/service account).
//   A node's own static (mirror) pods are exempt (the control plane: etcd, api-server, ...).
//   One narrower exception: KubeSphere's ks-core chart (1.1.4) always mounts the node's
//   /etc/localtime, read-only, into ks-apiserver, ks-console, ks-controller-manager and ks-agent
//   (LOCALTIME_WORKLOADS); those service accounts may have that one hostPath and nothing else.
//   Their namespace is labelled Pod Security `privileged` for it (cluster/podSecurity.ts
//   RELAXED_NAMESPACES), so this policy holds every pod there to the rest of `baseline` itself
//   (no hostPort, added capability beyond baseline's list, Unconfined seccomp, sysctl or procMount).
//   docs/pod-admission.md has the table of every chart workload and why.
// The policies use the Kubernetes CEL IP/CIDR library (isIP, cidr().containsIP; KEP-4174, 1.31).
import * as pulumi from "@pulumi/pulumi";
import { ClusterAccess, createObject, inCluster, K8sObject } from "./k8sObjects";

/** The platform workloads that need host access, as namespace/serviceAccount, and why. */
export const HOST_ACCESS_WORKLOADS: Readonly<Record<string, string>> = {
  "kube-system/kube-proxy": "kubeadm's kube-proxy DaemonSet: host network, privileged (iptables), hostPath /lib/modules and the xtables lock",
  "kube-flannel/flannel": "flanneld: host network, NET_ADMIN, hostPath /run/flannel and the CNI config",
  "kube-system/alicloud-csi-node": "the disk CSI node plugin (templates/plugin.yaml): host network/PID/IPC, privileged, hostPath /var/lib/kubelet and /dev",
  "kube-system/alicloud-csi-provisioner": "the disk CSI controller: host network (controllerHostNetworkPatch), for the workers' RAM role",
  "monitoring/kube-prometheus-stack-prometheus-node-exporter":
    "node-exporter (chart prometheus-node-exporter): host network and PID, hostPath /proc, /sys and /",
  "logging/fluent-bit": "fluent-bit: hostPath /var/log and /etc/machine-id (fluentBitValues.ts)",
};

/**
 * The workloads that may mount the node's /etc/localtime read-only (and no other hostPath), as
 * namespace/serviceAccount, and why. ks-core 1.1.4 (kubesphere v4.1.3 config/ks-core/templates/)
 * renders a `host-time` hostPath volume (path /etc/localtime, type "") mounted readOnly, with no value
 * to turn it off: ks-apiserver.yaml:123, ks-controller-manager.yaml:106 (host role) and ks-agent.yaml:120
 * (member role), all with serviceAccountName `kubesphere` (_helpers.tpl:57-59); ks-console.yaml:159,
 * which sets no serviceAccountName, so it runs as `default`.
 */
export const LOCALTIME_WORKLOADS: Readonly<Record<string, string>> = {
  "kubesphere-system/kubesphere": "ks-apiserver, ks-controller-manager (host) and ks-agent (members): hostPath /etc/localtime, read-only",
  "kubesphere-system/default": "ks-console (host; the chart sets no serviceAccountName): hostPath /etc/localtime, read-only",
};
/** The one host file LOCALTIME_WORKLOADS may mount. */
export const LOCALTIME_PATH = "/etc/localtime";
/** Namespaces whose Pod Security label is relaxed for LOCALTIME_WORKLOADS: this policy enforces the rest of baseline there. */
export const BASELINE_BY_POLICY_NAMESPACES = ["kubesphere-system"];
/**
 * The capabilities Pod Security `baseline` lets a container add (Kubernetes "Pod Security Standards",
 * Baseline, "Capabilities": AUDIT_WRITE ... SYS_CHROOT; kubernetes.io/docs/concepts/security/pod-security-standards/, read 2026-12-07).
 */
export const BASELINE_CAPABILITIES = [
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
];

/** Ranges no Endpoints, EndpointSlice or externalIP from a non-system principal may point into. */
export function forbiddenRoutes(vpcCidr: string): string[] {
  return ["100.64.0.0/10", "169.254.0.0/16", "fe80::/10", vpcCidr];
}

export const NO_METADATA_ROUTES = "platform-no-host-routes";
export const HOST_ACCESS = "platform-host-access";

// Principals that are the cluster itself: not a service account, or one of kube-system's.
const SYSTEM_PRINCIPAL =
  "(request.userInfo.username.startsWith('system:') && !request.userInfo.username.startsWith('system:serviceaccount:')) || request.userInfo.username.startsWith('system:serviceaccount:kube-system:')";

function policy(name: string, spec: Record<string, unknown>): K8sObject {
  return { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicy", metadata: { name }, spec: { failurePolicy: "Fail", ...spec } };
}
function binding(name: string): K8sObject {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name },
    spec: { policyName: name, validationActions: ["Deny"] },
  };
}

/** The two policies and their bindings. */
export function admissionPolicyObjects(vpcCidr: string): K8sObject[] {
  const ranges = forbiddenRoutes(vpcCidr);
  // True when x is an IP address in none of the ranges (a name, for an FQDN EndpointSlice, is fine).
  const ok = (x: string) => `(!isIP(${x}) || !(${ranges.map((r) => `cidr('${r}').containsIP(${x})`).join(" || ")}))`;
  const rangesText = ranges.join(", ");
  const write = ["CREATE", "UPDATE"];
  const routes = policy(NO_METADATA_ROUTES, {
    matchConstraints: {
      resourceRules: [
        { apiGroups: [""], apiVersions: ["v1"], operations: write, resources: ["endpoints", "services"] },
        { apiGroups: ["discovery.k8s.io"], apiVersions: ["v1"], operations: write, resources: ["endpointslices"] },
      ],
    },
    matchConditions: [{ name: "not-the-system", expression: `!(${SYSTEM_PRINCIPAL})` }],
    validations: [
      {
        expression: `object.kind != 'Endpoints' || !has(object.subsets) || object.subsets.all(s, (!has(s.addresses) || s.addresses.all(a, ${ok("a.ip")})) && (!has(s.notReadyAddresses) || s.notReadyAddresses.all(a, ${ok("a.ip")})))`,
        message: `Endpoints may not point into ${rangesText} (the metadata service, link-local, the nodes)`,
      },
      {
        expression: `object.kind != 'EndpointSlice' || !has(object.endpoints) || object.endpoints.all(e, e.addresses.all(a, ${ok("a")}))`,
        message: `an EndpointSlice may not point into ${rangesText} (the metadata service, link-local, the nodes)`,
      },
      {
        expression: `object.kind != 'Service' || !has(object.spec.externalIPs) || object.spec.externalIPs.all(a, ${ok("a")})`,
        message: `a Service's externalIPs may not be in ${rangesText}`,
      },
    ],
  });
  const allowed = Object.keys(HOST_ACCESS_WORKLOADS)
    .map((w) => `'${w}'`)
    .join(", ");
  const localtime = Object.keys(LOCALTIME_WORKLOADS)
    .map((w) => `'${w}'`)
    .join(", ");
  const relaxed = `(request.namespace in [${BASELINE_BY_POLICY_NAMESPACES.map((n) => `'${n}'`).join(", ")}])`;
  const caps = BASELINE_CAPABILITIES.map((c) => `'${c}'`).join(", ");
  const host = policy(HOST_ACCESS, {
    matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: write, resources: ["pods"] }] },
    // A node's mirror of its own static pod (the control plane) is the node's business.
    matchConditions: [{ name: "not-a-mirror-pod", expression: "!request.userInfo.username.startsWith('system:node:')" }],
    variables: [
      { name: "workload", expression: "request.namespace + '/' + (has(object.spec.serviceAccountName) ? object.spec.serviceAccountName : 'default')" },
      { name: "containers", expression: "object.spec.containers + (has(object.spec.initContainers) ? object.spec.initContainers : [])" },
    ],
    validations: [
      {
        expression: `variables.workload in [${allowed}] || !((has(object.spec.hostNetwork) && object.spec.hostNetwork) || (has(object.spec.hostPID) && object.spec.hostPID) || (has(object.spec.hostIPC) && object.spec.hostIPC))`,
        messageExpression: "'host namespaces (hostNetwork/hostPID/hostIPC) are for the platform workloads only, not ' + variables.workload",
      },
      {
        // A hostPath only for the allow-list, or /etc/localtime for LOCALTIME_WORKLOADS when every container mounts it read-only.
        expression: `variables.workload in [${allowed}] || !has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.hostPath) || (variables.workload in [${localtime}] && v.hostPath.path == '${LOCALTIME_PATH}' && variables.containers.all(c, !has(c.volumeMounts) || c.volumeMounts.all(m, m.name != v.name || (has(m.readOnly) && m.readOnly)))))`,
        messageExpression: `'hostPath volumes are for the platform workloads only (KubeSphere: ${LOCALTIME_PATH}, read-only), not ' + variables.workload`,
      },
      {
        expression: `variables.workload in [${allowed}] || !variables.containers.exists(c, has(c.securityContext) && has(c.securityContext.privileged) && c.securityContext.privileged)`,
        messageExpression: "'privileged containers are for the platform workloads only, not ' + variables.workload",
      },
      // The rest of Pod Security baseline where the namespace's label is relaxed for the /etc/localtime mount.
      {
        expression: `!${relaxed} || variables.containers.all(c, !has(c.ports) || c.ports.all(p, !has(p.hostPort) || p.hostPort == 0))`,
        messageExpression: `'hostPort is not baseline (' + request.namespace + ' enforces baseline through this policy)'`,
      },
      {
        expression: `!${relaxed} || variables.containers.all(c, !has(c.securityContext) || !has(c.securityContext.capabilities) || !has(c.securityContext.capabilities.add) || c.securityContext.capabilities.add.all(x, x in [${caps}]))`,
        messageExpression: `'a capability beyond baseline (${BASELINE_CAPABILITIES.join(", ")}) in ' + request.namespace`,
      },
      {
        expression: `!${relaxed} || ((!has(object.spec.securityContext) || !has(object.spec.securityContext.seccompProfile) || object.spec.securityContext.seccompProfile.type != 'Unconfined') && variables.containers.all(c, !has(c.securityContext) || !has(c.securityContext.seccompProfile) || c.securityContext.seccompProfile.type != 'Unconfined'))`,
        messageExpression: `'seccomp Unconfined is not baseline (' + request.namespace + ')'`,
      },
      {
        expression: `!${relaxed} || ((!has(object.spec.securityContext) || !has(object.spec.securityContext.sysctls)) && variables.containers.all(c, !has(c.securityContext) || !has(c.securityContext.procMount) || c.securityContext.procMount == 'Default'))`,
        messageExpression: `'sysctls and a procMount other than Default are not allowed in ' + request.namespace`,
      },
    ],
  });
  return [routes, binding(NO_METADATA_ROUTES), host, binding(HOST_ACCESS)];
}

export interface AdmissionPoliciesArgs {
  /** The cluster's provider and readiness gate. */
  cluster: ClusterAccess;
  /** `platform:network.vpcCidr`: the nodes' range, which no route from a non-system principal may point into. */
  vpcCidr: string;
}

/** The policies and bindings of admissionPolicyObjects, in the cluster. */
export class AdmissionPolicies extends pulumi.ComponentResource {
  constructor(name: string, args: AdmissionPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:k8s:AdmissionPolicies", name, {}, opts);
    const objects = admissionPolicyObjects(args.vpcCidr);
    const policies = new Map<string, pulumi.CustomResource>();
    for (const o of objects.filter((x) => x.kind === "ValidatingAdmissionPolicy"))
      policies.set(o.metadata.name!, createObject(name, o, inCluster(this, args.cluster)));
    for (const o of objects.filter((x) => x.kind === "ValidatingAdmissionPolicyBinding")) {
      createObject(name, o, inCluster(this, args.cluster, { dependsOn: [policies.get(o.metadata.name!)!] }));
    }
    this.registerOutputs({});
  }
}
