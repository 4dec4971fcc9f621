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
        expression: `variables.workload in [${allowed}] || !has(object.spec.volumes) || !object.spec.volumes.exists(v, has(v.hostPath))`,
        messageExpression: "'hostPath volumes are for the platform workloads only, not ' + variables.workload",
      },
      {
        expression: `variables.workload in [${allowed}] || !variables.containers.exists(c, has(c.securityContext) && has(c.securityContext.privileged) && c.securityContext.privileged)`,
        messageExpression: "'privileged containers are for the platform workloads only, not ' + variables.workload",
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
