// Pod Security for every namespace: the api-server's PodSecurity admission plugin reads its
// cluster-wide defaults from an AdmissionConfiguration (Kubernetes "Apply Pod Security Standards
// at the Cluster Level"; PodSecurityConfiguration pod-security.admission.config.k8s.io/v1). A
// namespace without labels gets `baseline` enforced and `restricted` warnings and audit
// annotations; a namespace label still overrides (kube-flannel and kubesphere-system are labelled
// privileged, see RELAXED_NAMESPACES; the app namespaces pin baseline). The exemptions below are whole namespaces the platform's own
// DaemonSets need host access in; who may run what there is the ValidatingAdmissionPolicy's job
// (k8s/admissionPolicy.ts HOST_ACCESS_WORKLOADS), so an exemption is not an open door.
import YAML from "yaml";

export const ADMISSION_CONFIG_DIR = "/etc/kubernetes/admission";
export const ADMISSION_CONFIG_PATH = `${ADMISSION_CONFIG_DIR}/admission.yaml`;

/** Namespaces exempt from the cluster-wide default, each with its reason. */
export const POD_SECURITY_EXEMPT_NAMESPACES: Readonly<Record<string, string>> = {
  "kube-system": "kube-proxy (privileged, host network) and the disk CSI node plugin (privileged, host network/PID/IPC, hostPath)",
  monitoring: "node-exporter (host network and PID, hostPath /proc, /sys, /)",
  logging: "fluent-bit (hostPath /var/log)",
};

/**
 * Namespaces the platform labels Pod Security `privileged` (enforce only; warn and audit keep the
 * cluster's `restricted` defaults), each with its reason. Baseline admits no hostPath at all, and
 * ks-core 1.1.4 mounts the node's /etc/localtime read-only into every KubeSphere server pod with no
 * value to turn it off (k8s/admissionPolicy.ts LOCALTIME_WORKLOADS). The ValidatingAdmissionPolicy
 * then allows that one read-only file to KubeSphere's service accounts only and holds every pod in the
 * namespace to the rest of baseline (BASELINE_BY_POLICY_NAMESPACES), so the label opens nothing else.
 * A label, not an exemption: an exemption is in the masters' user data; the label is an ordinary object.
 */
export const RELAXED_NAMESPACES: Readonly<Record<string, string>> = {
  "kubesphere-system": "ks-core's ks-apiserver, ks-console, ks-controller-manager and ks-agent mount hostPath /etc/localtime read-only",
};

/** The labels of a RELAXED_NAMESPACES namespace. */
export function relaxedNamespaceLabels(): Record<string, string> {
  return { "pod-security.kubernetes.io/enforce": "privileged" };
}

/** The api-server's AdmissionConfiguration (--admission-control-config-file). */
export function admissionConfiguration(): string {
  return YAML.stringify({
    apiVersion: "apiserver.config.k8s.io/v1",
    kind: "AdmissionConfiguration",
    plugins: [
      {
        name: "PodSecurity",
        configuration: {
          apiVersion: "pod-security.admission.config.k8s.io/v1",
          kind: "PodSecurityConfiguration",
          defaults: {
            enforce: "baseline",
            "enforce-version": "latest",
            audit: "restricted",
            "audit-version": "latest",
            warn: "restricted",
            "warn-version": "latest",
          },
          exemptions: { usernames: [], runtimeClasses: [], namespaces: Object.keys(POD_SECURITY_EXEMPT_NAMESPACES) },
        },
      },
    ],
  });
}
