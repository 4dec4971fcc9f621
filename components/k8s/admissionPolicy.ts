// What no non-platform principal may create, enforced by the api-server itself (ValidatingAdmissionPolicies,
// CEL, GA in Kubernetes 1.30), beside Pod Security's cluster-wide default (cluster/podSecurity.ts) and the
// node guard (cluster/bootstrapUnits.ts):
// - Endpoints, EndpointSlices and Service externalIPs that are not canonical IP addresses, or that lie in
//   the carrier-grade NAT range 100.64.0.0/10 (Alibaba's metadata service 100.100.100.200 is in it),
//   link-local ranges, or the VPC (the nodes' addresses): a route from a ClusterIP to the metadata service
//   or to a node's host-network ports. A name is fine only in an FQDN EndpointSlice. Exempt: the control
//   plane's users (`system:*` that are not service accounts) and the endpoint controllers' accounts
//   (ENDPOINT_CONTROLLERS). `DenyServiceExternalIPs` (kubeadm.ts) refuses new externalIPs anyway
//   (CVE-2020-8554); this policy also covers updates that keep one.
// - Pods (and ephemeral containers) with the host's network, PID or IPC namespace, a hostPath volume or a
//   privileged container, unless HOST_ACCESS_WORKLOADS grants it: the pod's namespace/service account is
//   listed, the request is from that workload's controller, and the pod asks for no more than the
//   workload's host namespaces, hostPath paths and privilege. A node's own static (mirror) pods are exempt.
//   One narrower exception: KubeSphere's ks-core chart (1.1.4) always mounts the node's /etc/localtime,
//   read-only (LOCALTIME_WORKLOADS). In the namespaces Pod Security does not enforce (exempt, or labelled
//   privileged) every pod without a grant is held to the rest of `baseline` here.
// - Pods and workload objects in PLATFORM_NAMESPACES, from anyone but SYSTEM_DEPLOYERS: otherwise a user
//   with write rights there could have a controller create a granted pod.
//   docs/pod-admission.md has the table of every chart workload and why.
// - PersistentVolumes with `spec.hostPath` or `spec.local` (created, or updated while they hold one), unless
//   NODE_VOLUME_GRANTS names the volume with that source and path: a claim bound to one gives any pod that
//   mounts it, in any namespace, a directory of the node (`/` included), which Pod Security baseline allows
//   (it reads the pod's own volumes, a PersistentVolumeClaim there is no hostPath). Nobody is exempt: the disk
//   CSI driver's provisioner creates `spec.csi` volumes, which this policy does not read.
// The policies use the Kubernetes CEL IP/CIDR library (isIP, cidr().containsIP; KEP-4174, 1.31).
import * as pulumi from "@pulumi/pulumi";
import { ClusterAccess, createObject, inCluster, K8sObject } from "./k8sObjects";
import { POD_SECURITY_EXEMPT_NAMESPACES, RELAXED_NAMESPACES } from "../cluster/podSecurity";
// The capabilities Pod Security baseline allows: one list, the pack's (the program may import the pack, not the reverse).
import { BASELINE_CAPABILITIES } from "../../policies/rules/threats";

/** What one host-access workload may use, who creates its pods, and why. */
export interface HostAccessGrant {
  why: string;
  /** The kube-controller-manager controller (its own service account in kube-system, --use-service-account-credentials) that creates the pods. */
  controller: "daemon-set-controller" | "replicaset-controller";
  /** The host namespaces the pod may share. */
  hostNamespaces: ("hostNetwork" | "hostPID" | "hostIPC")[];
  /** May a container be privileged. */
  privileged: boolean;
  /** The only hostPath paths the pod may mount (exact strings, as the workload's manifest writes them). */
  hostPaths: string[];
}

/**
 * The platform workloads that need host access, as namespace/serviceAccount. Naming the service account
 * is not enough: the pod must come from the workload's controller (not a user creating a pod directly) and
 * keep the workload's shape. Who may create that controller's object in these namespaces is the job of
 * SYSTEM_DEPLOYERS (the second policy).
 */
export const HOST_ACCESS_WORKLOADS: Readonly<Record<string, HostAccessGrant>> = {
  "kube-system/kube-proxy": {
    why: "kubeadm's kube-proxy DaemonSet: host network, privileged (iptables), hostPath /lib/modules and the xtables lock",
    controller: "daemon-set-controller",
    hostNamespaces: ["hostNetwork"],
    privileged: true,
    // kubeadm v1.35 cmd/kubeadm/app/phases/addons/proxy/manifests.go: volumes xtables-lock and lib-modules.
    hostPaths: ["/run/xtables.lock", "/lib/modules"],
  },
  "kube-flannel/flannel": {
    why: "flanneld: host network, NET_ADMIN, hostPath /run/flannel, the CNI binaries and config, the xtables lock",
    controller: "daemon-set-controller",
    hostNamespaces: ["hostNetwork"],
    privileged: false,
    // components/k8s/flannelObjects.ts
    hostPaths: ["/run/flannel", "/opt/cni/bin", "/etc/cni/net.d", "/run/xtables.lock"],
  },
  "kube-system/kube-router": {
    why: "kube-router's network-policy controller: host network (the node's iptables and ipsets), NET_ADMIN/NET_RAW, the xtables lock",
    controller: "daemon-set-controller",
    hostNamespaces: ["hostNetwork"],
    privileged: false,
    // components/k8s/networkPolicy.ts
    hostPaths: ["/run/xtables.lock"],
  },
  "kube-system/alicloud-csi-node": {
    why: "the disk CSI node plugin (templates/plugin.yaml): host network/PID/IPC, privileged, hostPath /var/lib/kubelet, /dev and the others of the chart",
    controller: "daemon-set-controller",
    hostNamespaces: ["hostNetwork", "hostPID", "hostIPC"],
    privileged: true,
    // alibaba-cloud-csi-driver v1.36.2 templates/plugin.yaml (test/fixtures/chart-pods-admission.yaml).
    hostPaths: [
      "/run/csi-tool",
      "/run/cnfs",
      "/var/lib/kubelet/plugins_registry",
      "/var/lib/container",
      "/var/lib/kubelet",
      "/var/lib/kubelet/csi-plugins/diskplugin.csi.alibabacloud.com",
      "/sys/fs/cgroup",
      "/dev",
      "/var/log/",
      "/etc",
      "/usr/",
      "/run/kata-containers/shared/direct-volumes",
    ],
  },
  "kube-system/alicloud-csi-provisioner": {
    why: "the disk CSI controller: host network (controllerHostNetworkPatch), for the workers' RAM role",
    controller: "replicaset-controller",
    hostNamespaces: ["hostNetwork"],
    privileged: false,
    hostPaths: [],
  },
  "monitoring/kube-prometheus-stack-prometheus-node-exporter": {
    why: "node-exporter (chart prometheus-node-exporter): host network and PID, hostPath /proc, /sys and /",
    controller: "daemon-set-controller",
    hostNamespaces: ["hostNetwork", "hostPID"],
    privileged: false,
    hostPaths: ["/proc", "/sys", "/"],
  },
  "logging/fluent-bit": {
    why: "fluent-bit: hostPath /var/log and /etc/machine-id (fluentBitValues.ts)",
    controller: "daemon-set-controller",
    hostNamespaces: [],
    privileged: false,
    hostPaths: ["/var/log", "/etc/machine-id"],
  },
};

/**
 * The namespaces whose Deployments, DaemonSets, ReplicaSets, StatefulSets, Jobs, CronJobs and pods only
 * SYSTEM_DEPLOYERS may create or update: where the host-access workloads run, the namespaces whose
 * Pod Security is exempt or relaxed, and tracing (a pod there with the SkyWalking UI's labels would pass OAP's
 * NetworkPolicy, T29).
 */
export const PLATFORM_NAMESPACES = ["kube-system", "monitoring", "logging", "kube-flannel", "kubesphere-system", "tracing"];

/** Who may write workloads in PLATFORM_NAMESPACES, besides the control plane's own users (`system:*`, not service accounts). */
export const SYSTEM_DEPLOYERS = {
  /** The admin certificates: kubeadm's admin.conf and the program's own (cluster/pki.ts, the Pulumi and Helm deploys), and super-admin. */
  groups: ["kubeadm:cluster-admins", "system:masters"],
  /** The controllers that create pods, ReplicaSets and Jobs from the deployed objects (kube-system service accounts). */
  controllers: [
    "daemon-set-controller",
    "deployment-controller",
    "replicaset-controller",
    "statefulset-controller",
    "job-controller",
    "cronjob-controller",
    "generic-garbage-collector",
  ],
  /** Per namespace, the one other writer a chart needs there. */
  byNamespace: {
    // prometheus-operator creates the Prometheus and Alertmanager StatefulSets.
    monitoring: ["system:serviceaccount:monitoring:kube-prometheus-stack-operator"],
    // A KubeSphere host installs and upgrades ks-core on a member with Helm as this user (fleet/kubesphereHostAccess.ts).
    "kubesphere-system": ["kubesphere-host"],
  } as Record<string, string[]>,
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
/**
 * Namespaces whose Pod Security is exempt (the masters' AdmissionConfiguration) or labelled privileged: this
 * policy enforces the rest of baseline there for every pod HOST_ACCESS_WORKLOADS does not grant.
 */
export const BASELINE_BY_POLICY_NAMESPACES = [...Object.keys(POD_SECURITY_EXEMPT_NAMESPACES), ...Object.keys(RELAXED_NAMESPACES), "kube-flannel"];
/** SELinux types baseline allows (Pod Security Standards, Baseline, "SELinux"; the same page, read 2026-12-07). */
export const BASELINE_SELINUX_TYPES = ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];
/** A PersistentVolume that may take a directory of the node: which source, the one path, and why. */
export interface NodeVolumeGrant {
  why: string;
  source: "hostPath" | "local";
  /** The exact `spec.hostPath.path` / `spec.local.path` (the api-server refuses `..` in either). */
  path: string;
}

/**
 * The PersistentVolumes, by name, that may have `spec.hostPath` or `spec.local`: none today (no stack plans
 * one, and the disk CSI driver's volumes are `spec.csi`). A grant names one volume, one source and one path,
 * so the name cannot be recreated pointing elsewhere; the policy pack grants the planned object separately
 * (pod-privileges.privilegedWorkloads `PersistentVolume/<name>`), and test/k8s/nodeVolumes.test.ts holds the
 * two lists equal.
 */
export const NODE_VOLUME_GRANTS: Readonly<Record<string, NodeVolumeGrant>> = {};

/** Ranges no Endpoints, EndpointSlice or externalIP from a non-system principal may point into. */
export function forbiddenRoutes(vpcCidr: string): string[] {
  return ["100.64.0.0/10", "169.254.0.0/16", "fe80::/10", vpcCidr];
}

export const NO_METADATA_ROUTES = "platform-no-host-routes";
export const HOST_ACCESS = "platform-host-access";
export const DEPLOYERS = "platform-system-deployers";
export const NODE_VOLUMES = "platform-node-volumes";

// The control plane's own users: not service accounts (the api-server, the controller-manager, the nodes), not anonymous.
const CONTROL_PLANE_USER =
  "(request.userInfo.username.startsWith('system:') && !request.userInfo.username.startsWith('system:serviceaccount:') && request.userInfo.username != 'system:anonymous')";
/** The controllers that write Endpoints and EndpointSlices (kube-controller-manager, --use-service-account-credentials). */
export const ENDPOINT_CONTROLLERS = ["endpoint-controller", "endpointslice-controller", "endpointslicemirroring-controller"];
const kubeSystemSa = (names: string[]) => names.map((n) => `'system:serviceaccount:kube-system:${n}'`).join(", ");
// Principals that are the cluster itself: the control plane's users and the endpoint controllers' accounts.
const SYSTEM_PRINCIPAL = `${CONTROL_PLANE_USER} || request.userInfo.username in [${kubeSystemSa(ENDPOINT_CONTROLLERS)}]`;

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

const list = (xs: string[]) => `[${xs.map((x) => `'${x}'`).join(", ")}]`;

/** A DNS-1123 subdomain, what the api-server takes as a PersistentVolume's name. */
const PV_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The policy refusing hostPath and local PersistentVolumes outside `grants`. */
export function nodeVolumesPolicy(grants: Readonly<Record<string, NodeVolumeGrant>>): K8sObject {
  for (const [name, g] of Object.entries(grants)) {
    if (!PV_NAME.test(name))
      throw new Error(`NODE_VOLUME_GRANTS: ${JSON.stringify(name)} is not a PersistentVolume name (a DNS-1123 subdomain, at most 253 characters)`);
    if (!g.path.startsWith("/") || g.path.split("/").includes(".."))
      throw new Error(`NODE_VOLUME_GRANTS.${name}.path: ${JSON.stringify(g.path)} must be an absolute path without '..' (the api-server refuses '..')`);
  }
  // JSON's string escapes are CEL's for these characters; a name or path cannot break out of its literal.
  const granted = Object.entries(grants).map(
    ([name, g]) => `(object.metadata.name == ${JSON.stringify(name)} && variables.source == '${g.source}' && variables.path == ${JSON.stringify(g.path)})`,
  );
  return policy(NODE_VOLUMES, {
    matchConstraints: {
      // The source cannot change on an update (ValidatePersistentVolumeUpdate, before admission): UPDATE holds a
      // volume made before this policy to it (no claim is bound to it), and status is a subresource, not matched.
      resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["persistentvolumes"] }],
    },
    matchConditions: [{ name: "takes-a-node-directory", expression: "has(object.spec.hostPath) || has(object.spec.local)" }],
    variables: [
      { name: "source", expression: "has(object.spec.hostPath) ? 'hostPath' : 'local'" },
      { name: "path", expression: "has(object.spec.hostPath) ? object.spec.hostPath.path : object.spec.local.path" },
      { name: "granted", expression: granted.length > 0 ? granted.join(" || ") : "false" },
    ],
    validations: [
      {
        // A volume on its way out may lose its finalizers (the pv-protection controller), nothing else.
        expression: "variables.granted || (request.operation == 'UPDATE' && has(oldObject.metadata.deletionTimestamp) && object.spec == oldObject.spec)",
        messageExpression:
          "'a hostPath or local PersistentVolume gives any pod that claims it a directory of the node, so only the volumes NODE_VOLUME_GRANTS names (components/k8s/admissionPolicy.ts) may have one, at the granted path; not ' + object.metadata.name + ' (' + variables.source + ' ' + variables.path + ', by ' + request.userInfo.username + ')'",
      },
    ],
  });
}

/** The four policies and their bindings. */
export function admissionPolicyObjects(vpcCidr: string, nodeVolumeGrants: Readonly<Record<string, NodeVolumeGrant>> = NODE_VOLUME_GRANTS): K8sObject[] {
  const ranges = forbiddenRoutes(vpcCidr);
  // True when x is an IP address in its canonical form (no leading zeros, no IPv4-mapped IPv6: the api-server
  // accepts those with a warning and the mirroring controller rewrites them) in none of the ranges.
  const ok = (x: string) => `(isIP(${x}) && ip.isCanonical(${x}) && !(${ranges.map((r) => `cidr('${r}').containsIP(${x})`).join(" || ")}))`;
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
        message: `Endpoints may only hold canonical IP addresses outside ${rangesText} (the metadata service, link-local, the nodes)`,
      },
      {
        // Names only in an FQDN slice (kube-proxy ignores those).
        expression: `object.kind != 'EndpointSlice' || object.addressType == 'FQDN' || !has(object.endpoints) || object.endpoints.all(e, e.addresses.all(a, ${ok("a")}))`,
        message: `an EndpointSlice may only hold canonical IP addresses outside ${rangesText} (the metadata service, link-local, the nodes)`,
      },
      {
        expression: `object.kind != 'Service' || !has(object.spec.externalIPs) || object.spec.externalIPs.all(a, ${ok("a")})`,
        message: `a Service's externalIPs must be canonical IP addresses outside ${rangesText}`,
      },
    ],
  });
  const localtime = list(Object.keys(LOCALTIME_WORKLOADS));
  const relaxed = `(request.namespace in ${list(BASELINE_BY_POLICY_NAMESPACES)})`;
  const caps = list(BASELINE_CAPABILITIES);
  // A grant: the allow-listed service account, its pods created by its controller, in its shape.
  const grants = Object.entries(HOST_ACCESS_WORKLOADS).map(
    ([w, g]) =>
      `(variables.workload == '${w}' && request.userInfo.username == 'system:serviceaccount:kube-system:${g.controller}' && variables.hostNamespaces.all(n, n in ${list(g.hostNamespaces)}) && variables.hostPaths.all(p, p in ${list(g.hostPaths)})${g.privileged ? "" : " && !variables.privileged"})`,
  );
  const who = "variables.workload + ' (created by ' + request.userInfo.username + ')'";
  const only = "are for the platform workloads only, created by their controllers in their own shape, not ";
  const notUnconfined = (o: string) =>
    `(!has(${o}.securityContext) || !has(${o}.securityContext.seccompProfile) || ${o}.securityContext.seccompProfile.type != 'Unconfined')`;
  const appArmorOk = (o: string) =>
    `(!has(${o}.securityContext) || !has(${o}.securityContext.appArmorProfile) || ${o}.securityContext.appArmorProfile.type != 'Unconfined')`;
  const seLinuxOk = (o: string) =>
    `(!has(${o}.securityContext) || !has(${o}.securityContext.seLinuxOptions) || ((!has(${o}.securityContext.seLinuxOptions.type) || ${o}.securityContext.seLinuxOptions.type in ${list(BASELINE_SELINUX_TYPES)}) && !has(${o}.securityContext.seLinuxOptions.user) && !has(${o}.securityContext.seLinuxOptions.role)))`;
  const host = policy(HOST_ACCESS, {
    matchConstraints: {
      resourceRules: [
        // Host access cannot change on a pod's update (those fields are immutable); an ephemeral container is added by one.
        { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] },
        { apiGroups: [""], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["pods/ephemeralcontainers"] },
      ],
    },
    // A node's mirror of its own static pod (the control plane) is the node's business.
    matchConditions: [{ name: "not-a-mirror-pod", expression: "!request.userInfo.username.startsWith('system:node:')" }],
    variables: [
      { name: "workload", expression: "request.namespace + '/' + (has(object.spec.serviceAccountName) ? object.spec.serviceAccountName : 'default')" },
      {
        name: "containers",
        expression:
          "object.spec.containers + (has(object.spec.initContainers) ? object.spec.initContainers : []) + (has(object.spec.ephemeralContainers) ? object.spec.ephemeralContainers : [])",
      },
      {
        name: "hostNamespaces",
        expression:
          "(has(object.spec.hostNetwork) && object.spec.hostNetwork ? ['hostNetwork'] : []) + (has(object.spec.hostPID) && object.spec.hostPID ? ['hostPID'] : []) + (has(object.spec.hostIPC) && object.spec.hostIPC ? ['hostIPC'] : [])",
      },
      { name: "hostPaths", expression: "has(object.spec.volumes) ? object.spec.volumes.filter(v, has(v.hostPath)).map(v, v.hostPath.path) : []" },
      {
        name: "privileged",
        expression: "variables.containers.exists(c, has(c.securityContext) && has(c.securityContext.privileged) && c.securityContext.privileged)",
      },
      { name: "granted", expression: grants.join(" || ") },
    ],
    validations: [
      {
        expression: "variables.granted || variables.hostNamespaces.size() == 0",
        messageExpression: `'host namespaces (hostNetwork/hostPID/hostIPC) ${only}' + ${who}`,
      },
      {
        // A hostPath only for a grant, or /etc/localtime for LOCALTIME_WORKLOADS when every container mounts it read-only.
        expression: `variables.granted || !has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.hostPath) || (variables.workload in ${localtime} && v.hostPath.path == '${LOCALTIME_PATH}' && variables.containers.all(c, !has(c.volumeMounts) || c.volumeMounts.all(m, m.name != v.name || (has(m.readOnly) && m.readOnly)))))`,
        messageExpression: `'hostPath volumes (KubeSphere: ${LOCALTIME_PATH}, read-only) ${only}' + ${who}`,
      },
      {
        expression: "variables.granted || !variables.privileged",
        messageExpression: `'privileged containers ${only}' + ${who}`,
      },
      // The rest of Pod Security baseline where the namespace is exempt or its label relaxed, for every pod no grant covers.
      {
        expression: `!${relaxed} || variables.granted || variables.containers.all(c, !has(c.ports) || c.ports.all(p, !has(p.hostPort) || p.hostPort == 0))`,
        messageExpression: `'hostPort is not baseline (' + request.namespace + ' enforces baseline through this policy)'`,
      },
      {
        expression: `!${relaxed} || variables.granted || variables.containers.all(c, !has(c.securityContext) || !has(c.securityContext.capabilities) || !has(c.securityContext.capabilities.add) || c.securityContext.capabilities.add.all(x, x in ${caps}))`,
        messageExpression: `'a capability beyond baseline (${BASELINE_CAPABILITIES.join(", ")}) in ' + request.namespace`,
      },
      {
        expression: `!${relaxed} || variables.granted || (${notUnconfined("object.spec")} && variables.containers.all(c, ${notUnconfined("c")}))`,
        messageExpression: `'seccomp Unconfined is not baseline (' + request.namespace + ')'`,
      },
      {
        expression: `!${relaxed} || variables.granted || (${appArmorOk("object.spec")} && variables.containers.all(c, ${appArmorOk("c")}) && (!has(object.metadata.annotations) || object.metadata.annotations.all(k, !k.startsWith('container.apparmor.security.beta.kubernetes.io/') || object.metadata.annotations[k] != 'unconfined')))`,
        messageExpression: `'AppArmor Unconfined is not baseline (' + request.namespace + ')'`,
      },
      {
        expression: `!${relaxed} || variables.granted || (${seLinuxOk("object.spec")} && variables.containers.all(c, ${seLinuxOk("c")}))`,
        messageExpression: `'an SELinux user, role or type other than baseline allows (${BASELINE_SELINUX_TYPES.filter((t) => t).join(", ")}) in ' + request.namespace`,
      },
      {
        expression: `!${relaxed} || variables.granted || ((!has(object.spec.securityContext) || !has(object.spec.securityContext.sysctls)) && variables.containers.all(c, !has(c.securityContext) || !has(c.securityContext.procMount) || c.securityContext.procMount == 'Default'))`,
        messageExpression: `'sysctls and a procMount other than Default are not allowed in ' + request.namespace`,
      },
    ],
  });
  const byNamespace = Object.entries(SYSTEM_DEPLOYERS.byNamespace)
    .map(([ns, users]) => ` || (request.namespace == '${ns}' && request.userInfo.username in ${list(users)})`)
    .join("");
  const deployer = `${CONTROL_PLANE_USER} || (has(request.userInfo.groups) && request.userInfo.groups.exists(g, g in ${list(SYSTEM_DEPLOYERS.groups)})) || request.userInfo.username in [${kubeSystemSa(SYSTEM_DEPLOYERS.controllers)}]${byNamespace}`;
  const deployers = policy(DEPLOYERS, {
    matchConstraints: {
      namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: PLATFORM_NAMESPACES }] },
      resourceRules: [
        { apiGroups: [""], apiVersions: ["v1"], operations: write, resources: ["pods"] },
        { apiGroups: ["apps"], apiVersions: ["v1"], operations: write, resources: ["daemonsets", "deployments", "replicasets", "statefulsets"] },
        { apiGroups: ["batch"], apiVersions: ["v1"], operations: write, resources: ["jobs", "cronjobs"] },
      ],
    },
    validations: [
      {
        expression: deployer,
        messageExpression: `'only the platform deployers (groups ${SYSTEM_DEPLOYERS.groups.join(", ")}) and the workload controllers may create or update ' + request.resource.resource + ' in ' + request.namespace + ', not ' + request.userInfo.username`,
      },
    ],
  });
  return [
    routes,
    binding(NO_METADATA_ROUTES),
    host,
    binding(HOST_ACCESS),
    deployers,
    binding(DEPLOYERS),
    nodeVolumesPolicy(nodeVolumeGrants),
    binding(NODE_VOLUMES),
  ];
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
