// The namespace-level objects the apps share: each app namespace, its Harbor
// pull Secret, and the apps' Apollo access-key Secrets (without their data,
// which the AppNamespaces component adds as Pulumi secrets).
import { K8sObject, LABEL_ENV, LABEL_NAME } from "./javaAppObjects";
import { DNS_LABEL, RESERVED_NAMESPACES } from "./javaAppRules";

/** Name of the Harbor pull Secret in every app namespace. */
export const HARBOR_PULL_SECRET = "harbor-pull";
/** Key of the Apollo access key inside the app's `<app>-apollo` Secret. */
export const APOLLO_ACCESS_KEY_KEY = "access-key-secret";

export function apolloSecretName(app: string): string {
  return `${app}-apollo`;
}

/** The Pod Security standards version app namespaces enforce (baseline: no hostNetwork, hostPath, privileged). */
export const POD_SECURITY_VERSION = "v1.35";

/** An app namespace; Pod Security `baseline` refuses privileged and hostPath pods, which no Java app needs. */
export function appNamespace(name: string, env: string, extraLabels: Record<string, string> = {}): K8sObject {
  if (!DNS_LABEL.test(name) || RESERVED_NAMESPACES.includes(name))
    throw new Error(`app namespace "${name}" must be a DNS label outside ${RESERVED_NAMESPACES.join(", ")}`);
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name,
      labels: {
        [LABEL_ENV]: env,
        // Pinned: a cluster upgrade must not change what the policy admits (Pod Security Admission, enforce-version).
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/enforce-version": POD_SECURITY_VERSION,
        "app.kubernetes.io/managed-by": "pulumi",
        // The KubeSphere workspace (fleet/console.ts workspaceLabels), when the stack places the namespace in one.
        ...extraLabels,
      },
    },
  };
}

/**
 * Annotation naming the registry the pull Secret holds credentials for. The data
 * is a Pulumi secret, so without it the policy pack (trusted-sources) could not
 * tell offline which host the kubelets send the robot's password to.
 */
export const PULL_SECRET_REGISTRY_ANNOTATION = "platform/registry";

/** The Harbor pull Secret for `registry`, without its data (the component adds the secret stringData). */
export function harborPullSecret(namespace: string, registry: string): K8sObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: HARBOR_PULL_SECRET, namespace, annotations: { [PULL_SECRET_REGISTRY_ANNOTATION]: registry } },
    type: "kubernetes.io/dockerconfigjson",
  };
}

/** An app's Apollo access-key Secret without its data. */
export function apolloAccessKeySecret(app: string, namespace: string): K8sObject {
  return { apiVersion: "v1", kind: "Secret", metadata: { name: apolloSecretName(app), namespace, labels: { [LABEL_NAME]: app } }, type: "Opaque" };
}

/** The `.dockerconfigjson` document kubelet reads for pulls from `registry`. */
export function dockerConfigJson(registry: string, username: string, password: string): string {
  if (!/^[a-z0-9.-]+(:\d+)?$/.test(registry))
    throw new Error(`platform:harbor.registry: must be a registry host such as harbor.example.com, got "${registry}"`);
  if (!username) throw new Error("platform:harbor.username: is required");
  if (!password) throw new Error("platform:harborPassword: is empty");
  const auth = Buffer.from(`${username}:${password}`).toString("base64");
  return JSON.stringify({ auths: { [registry]: { username, password, auth } } });
}
