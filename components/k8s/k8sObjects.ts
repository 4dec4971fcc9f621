// Typed Kubernetes resources from plain objects that pure renderers produce,
// the one Helm release helper every chart goes through, and the options every
// in-cluster object gets: the cluster's provider and a dependency on its
// readiness gate.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** What an in-cluster component needs from the cluster. */
export interface ClusterAccess {
  /** The cluster's Kubernetes provider (admin kubeconfig). */
  provider: k8s.Provider;
  /** Opens once the api-server answers /readyz; every object waits for it. */
  readiness: pulumi.Resource;
  /** What else must exist first (e.g. the CRDs or admission webhook another release installs). */
  after?: pulumi.Resource[];
}

/** Options for a component's Kubernetes children. */
export function inCluster(parent: pulumi.Resource, cluster: ClusterAccess, extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
  const dependsOn = ([] as pulumi.Input<pulumi.Resource>[]).concat(
    cluster.readiness,
    cluster.after ?? [],
    (extra.dependsOn as pulumi.Input<pulumi.Resource>[] | undefined) ?? [],
  );
  return { ...extra, parent, provider: cluster.provider, dependsOn };
}

/** A plain Kubernetes object, as pure renderers produce it: ready for YAML or a typed resource. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

/** @deprecated The old name of K8sObject, kept until components/apps moves over. */
export type PlainObject = K8sObject;

/** Where a chart comes from: name, pinned version and repository URL. */
export interface ChartRef {
  chart: string;
  /** Pinned chart version (never a range: a range re-plans on every new upstream release). */
  version: string;
  /** Helm repository URL; empty for an OCI chart, whose `chart` is the oci:// reference. */
  repo: string;
}

/** A chart the platform installs: its reference, the Helm release name and the namespace it goes to. */
export interface HelmChart extends ChartRef {
  /** Helm release name; charts prefix their object names with it. */
  name: string;
  namespace: string;
}

export interface HelmReleaseSpec {
  chart: HelmChart;
  /** A stack's pinned chart version. Default chart.version. */
  version?: string;
  /** Let Helm create the namespace (false when the component creates it, e.g. to put a Secret in first). */
  createNamespace: boolean;
  /** Roll back a failed install or upgrade. Unset: Helm's default (off). */
  atomic?: boolean;
  /** Seconds Helm waits for the release's resources. */
  timeout: number;
  /** Do not wait for the release's resources to be ready (the provider's skipAwait; Helm without --wait). Default false (wait). */
  skipAwait?: boolean;
  // Chart values are free-form by design (each chart has its own schema): `any` is @pulumi/kubernetes' own type here.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  values: pulumi.Input<{ [key: string]: any }>;
}

/** The Helm release of a chart; every chart of the platform goes through here. */
export function helmRelease(name: string, spec: HelmReleaseSpec, opts: pulumi.CustomResourceOptions): k8s.helm.v3.Release {
  return new k8s.helm.v3.Release(
    name,
    {
      name: spec.chart.name,
      chart: spec.chart.chart,
      version: spec.version ?? spec.chart.version,
      // An OCI chart (chart: oci://...) has no repository.
      ...(spec.chart.repo ? { repositoryOpts: { repo: spec.chart.repo } } : {}),
      namespace: spec.chart.namespace,
      createNamespace: spec.createNamespace,
      ...(spec.atomic === undefined ? {} : { atomic: spec.atomic }),
      timeout: spec.timeout,
      ...(spec.skipAwait ? { skipAwait: true } : {}),
      values: spec.values,
    },
    opts,
  );
}

// Each kind's constructor takes its own args type; `any` lets one table hold them all (a parameter type is contravariant).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Ctor = new (name: string, args: any, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

const KINDS: Record<string, Ctor> = {
  "v1/Namespace": k8s.core.v1.Namespace,
  "v1/ServiceAccount": k8s.core.v1.ServiceAccount,
  "v1/ConfigMap": k8s.core.v1.ConfigMap,
  "v1/Secret": k8s.core.v1.Secret,
  "v1/Service": k8s.core.v1.Service,
  "apps/v1/DaemonSet": k8s.apps.v1.DaemonSet,
  "apps/v1/Deployment": k8s.apps.v1.Deployment,
  "networking.k8s.io/v1/Ingress": k8s.networking.v1.Ingress,
  "networking.k8s.io/v1/NetworkPolicy": k8s.networking.v1.NetworkPolicy,
  "policy/v1/PodDisruptionBudget": k8s.policy.v1.PodDisruptionBudget,
  "autoscaling/v2/HorizontalPodAutoscaler": k8s.autoscaling.v2.HorizontalPodAutoscaler,
  "rbac.authorization.k8s.io/v1/ClusterRole": k8s.rbac.v1.ClusterRole,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": k8s.rbac.v1.ClusterRoleBinding,
  "rbac.authorization.k8s.io/v1/Role": k8s.rbac.v1.Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": k8s.rbac.v1.RoleBinding,
  "storage.k8s.io/v1/StorageClass": k8s.storage.v1.StorageClass,
  "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy": k8s.admissionregistration.v1.ValidatingAdmissionPolicy,
  "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding": k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding,
};

/** Creates a typed resource for a plain object; the resource name is `<prefix>-<kind>-<name>`. */
export function createObject(prefix: string, obj: K8sObject, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
  const ctor = KINDS[`${obj.apiVersion}/${obj.kind}`];
  if (!ctor) throw new Error(`createObject: no typed resource for ${obj.apiVersion} ${obj.kind} (${obj.metadata.name})`);
  const { apiVersion: _a, kind: _k, ...args } = obj;
  return new ctor(`${prefix}-${obj.kind.toLowerCase()}-${obj.metadata.name}`, args, opts);
}
