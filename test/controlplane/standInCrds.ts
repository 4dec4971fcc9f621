// Stand-in CRDs for the custom resources whose real definitions ship inside a Helm chart (the
// Prometheus operator's in kube-prometheus-stack, KubeSphere's in ks-core), so the local control plane
// can validate and store the stack's objects of those kinds. Each is built from a compact field table
// (`!` a field its parent requires, `[]` array items, `{}`
// map values, and `byte` for a base64 string; `lists` carries a real list's x-kubernetes-list-type, so a duplicate
// the real CRD refuses is refused here too) into a structural openAPIV3Schema, and is named as a stand-in: label
// platform-harness/stand-in=true and an annotation citing the CRD file it abridges. Only the fields the
// stack uses are listed; the api-server then refuses any other field (strict field validation), any
// wrong type, a missing required field and a duplicate in a set or map list, as the real CRD would.
import type { K8sObject } from "./kubeClient";

/** A field's type; `!` marks a field its parent requires. Paths below the kind's root, `[]` for array items, `{}` for map values. */
export type Fields = Record<string, string>;

export interface StandIn {
  group: string;
  version: string;
  kind: string;
  plural: string;
  scope: "Cluster" | "Namespaced";
  source: string;
  fields: Fields;
  /** Arrays that are x-kubernetes-list-type set, or map keyed on fields of their items (each key a required field). */
  lists?: Record<string, { type: "set" } | { type: "map"; keys: string[] }>;
}

// ks-core 1.1.4 is the chart of KubeSphere v4.1.3: kubesphere/kubesphere tag v4.1.3 (commit
// 3ef3a6bc98b790480577e87fbc75bee5b3438862), config/ks-core/Chart.yaml version 1.1.4. Re-checked 2026-12-07 field by
// field against the storage version of each CRD below: every type and required field of the tables is the real
// one, none of the fields carries an enum, pattern or length limit there; what the tables lacked were the list
// types (`lists`). Not stood in, because no stack plans them: Workspace (KubeSphere makes it from the template) and
// User (made at the first OIDC login).
const KS_CRDS = "kubesphere/kubesphere@3ef3a6bc98b7 (v4.1.3, ks-core 1.1.4) config/ks-core/charts/ks-crds/crds";
// The CRDs kube-prometheus-stack 87.12.5 (components/k8s/monitoringValues.ts) ships: prometheus-community/helm-charts
// tag kube-prometheus-stack-87.12.5 (commit 240842e1d4230d0ec1fa036deda7b52f6fb3d578), Chart.yaml appVersion v0.92.1,
// each CRD annotated operator.prometheus.io/version: 0.92.1. The tables keep their types and required fields for the
// fields the stack sets; the real schema's patterns (durations) and the fields the stack does not set are left out.
const PROM_CRDS =
  "prometheus-community/helm-charts@240842e1d423 (kube-prometheus-stack 87.12.5, prometheus-operator v0.92.1) charts/kube-prometheus-stack/charts/crds/crds";

// The KubeSphere tables are also what test/fleet/console.test.ts checks the planned console objects against.
const BINDING: Fields = {
  roleRef: "object!",
  "roleRef.apiGroup": "string!",
  "roleRef.kind": "string!",
  "roleRef.name": "string!",
  subjects: "array",
  "subjects[]": "object",
  "subjects[].apiGroup": "string",
  "subjects[].kind": "string!",
  "subjects[].name": "string!",
  "subjects[].namespace": "string",
};

export const STAND_INS: StandIn[] = [
  {
    group: "monitoring.coreos.com",
    version: "v1",
    kind: "ServiceMonitor",
    plural: "servicemonitors",
    scope: "Namespaced",
    // Only the fields components/k8s/tracing.ts sets; at v0.92.1 spec requires endpoints and selector.
    source: `${PROM_CRDS}/crd-servicemonitors.yaml`,
    fields: {
      spec: "object!",
      "spec.selector": "object!",
      "spec.selector.matchLabels": "object",
      "spec.selector.matchLabels{}": "string",
      "spec.endpoints": "array!",
      "spec.endpoints[]": "object",
      "spec.endpoints[].port": "string",
      "spec.endpoints[].path": "string",
      "spec.endpoints[].interval": "string",
    },
  },
  {
    group: "monitoring.coreos.com",
    version: "v1",
    kind: "PrometheusRule",
    plural: "prometheusrules",
    scope: "Namespaced",
    source: `${PROM_CRDS}/crd-prometheusrules.yaml`,
    fields: {
      spec: "object!",
      "spec.groups": "array",
      "spec.groups[]": "object",
      "spec.groups[].name": "string!",
      "spec.groups[].interval": "string",
      "spec.groups[].limit": "integer",
      "spec.groups[].partial_response_strategy": "string",
      "spec.groups[].query_offset": "string",
      "spec.groups[].labels": "object",
      "spec.groups[].labels{}": "string",
      "spec.groups[].rules": "array",
      "spec.groups[].rules[]": "object",
      "spec.groups[].rules[].alert": "string",
      "spec.groups[].rules[].record": "string",
      "spec.groups[].rules[].expr": "int-or-string!",
      "spec.groups[].rules[].for": "string",
      "spec.groups[].rules[].keep_firing_for": "string",
      "spec.groups[].rules[].labels": "object",
      "spec.groups[].rules[].labels{}": "string",
      "spec.groups[].rules[].annotations": "object",
      "spec.groups[].rules[].annotations{}": "string",
    },
  },
  {
    group: "cluster.kubesphere.io",
    version: "v1alpha1",
    kind: "Cluster",
    plural: "clusters",
    scope: "Cluster",
    // Only the fields the host sets; config and connection.kubeconfig are `format: byte` there (components/fleet/kubesphere.ts).
    source: `${KS_CRDS}/cluster.kubesphere.io_clusters.yaml (v1alpha1)`,
    fields: {
      spec: "object",
      "spec.provider": "string",
      "spec.config": "byte",
      "spec.connection": "object",
      "spec.connection.type": "string",
      "spec.connection.kubernetesAPIEndpoint": "string",
      "spec.connection.kubeconfig": "byte",
    },
  },
  {
    group: "tenant.kubesphere.io",
    version: "v1beta1",
    kind: "WorkspaceTemplate",
    plural: "workspacetemplates",
    scope: "Cluster",
    source: `${KS_CRDS}/tenant.kubesphere.io_workspacetemplates.yaml (v1beta1, storage)`,
    // spec.placement.clusters: x-kubernetes-list-type map, x-kubernetes-list-map-keys [name] (a cluster placed twice is refused).
    lists: { "spec.placement.clusters": { type: "map", keys: ["name"] } },
    fields: {
      spec: "object",
      "spec.placement": "object!",
      "spec.placement.clusters": "array",
      "spec.placement.clusters[]": "object",
      "spec.placement.clusters[].name": "string!",
      "spec.template": "object!",
      "spec.template.metadata": "object",
      "spec.template.metadata.labels": "object",
      "spec.template.metadata.labels{}": "string",
      "spec.template.spec": "object",
      "spec.template.spec.manager": "string",
    },
  },
  {
    group: "iam.kubesphere.io",
    version: "v1beta1",
    kind: "WorkspaceRoleBinding",
    plural: "workspacerolebindings",
    scope: "Cluster",
    source: `${KS_CRDS}/iam.kubesphere.io_workspacerolebindings.yaml (v1beta1)`,
    fields: BINDING,
  },
  {
    group: "iam.kubesphere.io",
    version: "v1beta1",
    kind: "GlobalRoleBinding",
    plural: "globalrolebindings",
    scope: "Cluster",
    source: `${KS_CRDS}/iam.kubesphere.io_globalrolebindings.yaml (v1beta1)`,
    fields: BINDING,
  },
  {
    group: "iam.kubesphere.io",
    version: "v1beta1",
    kind: "RoleBinding",
    plural: "rolebindings",
    scope: "Namespaced",
    source: `${KS_CRDS}/iam.kubesphere.io_rolebindings.yaml (v1beta1)`,
    fields: BINDING,
  },
  {
    group: "kubesphere.io",
    version: "v1alpha1",
    kind: "InstallPlan",
    plural: "installplans",
    scope: "Cluster",
    source: `${KS_CRDS}/kubesphere.io_installplans.yaml (v1alpha1)`,
    // spec.clusterScheduling.placement.clusters: x-kubernetes-list-type set.
    lists: { "spec.clusterScheduling.placement.clusters": { type: "set" } },
    fields: {
      spec: "object",
      "spec.extension": "object!",
      "spec.extension.name": "string!",
      "spec.extension.version": "string!",
      "spec.enabled": "boolean!",
      "spec.upgradeStrategy": "string",
      "spec.config": "string",
      "spec.clusterScheduling": "object",
      "spec.clusterScheduling.placement": "object",
      "spec.clusterScheduling.placement.clusters": "array",
      "spec.clusterScheduling.placement.clusters[]": "string",
    },
  },
];

type Schema = Record<string, unknown>;

/** The structural schema of the fields below `prefix` ("" for the root). */
function schemaAt(s: Pick<StandIn, "fields" | "lists">, prefix: string, type: string): Schema {
  const fields = s.fields;
  if (type === "int-or-string") return { "x-kubernetes-int-or-string": true };
  if (type === "byte") return { type: "string", format: "byte" };
  if (type === "array") {
    const item = fields[`${prefix}[]`];
    if (!item) throw new Error(`stand-in: ${prefix} is an array without an item type`);
    const list = s.lists?.[prefix];
    const listType = list ? { "x-kubernetes-list-type": list.type, ...(list.type === "map" ? { "x-kubernetes-list-map-keys": list.keys } : {}) } : {};
    return { type: "array", items: schemaAt(s, `${prefix}[]`, item.replace("!", "")), ...listType };
  }
  if (type !== "object") return { type };
  const map = fields[`${prefix}{}`];
  if (map) return { type: "object", additionalProperties: schemaAt(s, `${prefix}{}`, map.replace("!", "")) };
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  const head = prefix ? `${prefix}.` : "";
  for (const [f, t] of Object.entries(fields)) {
    if (!f.startsWith(head)) continue;
    const rest = f.slice(head.length);
    if (/[.[{]/.test(rest)) continue;
    properties[rest] = schemaAt(s, f, t.replace("!", ""));
    if (t.endsWith("!")) required.push(rest);
  }
  return { type: "object", properties, ...(required.length ? { required } : {}) };
}

export function standInCrd(s: StandIn): K8sObject {
  const root = schemaAt(s, "", "object") as { properties: Record<string, Schema>; required?: string[] };
  root.properties = { apiVersion: { type: "string" }, kind: { type: "string" }, metadata: { type: "object" }, ...root.properties };
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${s.plural}.${s.group}`,
      labels: { "platform-harness/stand-in": "true" },
      annotations: { "platform-harness/stand-in-for": s.source },
    },
    spec: {
      group: s.group,
      names: { kind: s.kind, listKind: `${s.kind}List`, plural: s.plural, singular: s.kind.toLowerCase() },
      scope: s.scope,
      versions: [{ name: s.version, served: true, storage: true, schema: { openAPIV3Schema: root } }],
    },
  };
}

export function standInFor(apiVersion: string, kind: string): StandIn | undefined {
  return STAND_INS.find((s) => `${s.group}/${s.version}` === apiVersion && s.kind === kind);
}
