// Log search (issue #20): developers search logs in the company's Kibana, over
// the Elasticsearch our fluent-bit output ends up in, and see only the
// namespaces of their workspaces. Why not the console: docs/design.md, "Who may do
// what where". Per member cluster and per workspace placed on it, one role
// `platform-<stack>-<workspace>-logs` and one role mapping of the same name:
//
// - The role (Kibana role API, PUT /api/security/role/<name>: roles carrying
//   Kibana privileges are managed through Kibana, not Elasticsearch's role API,
//   Kibana docs "Role management API"): `read` and `view_index_metadata` on the
//   cluster's indices (Kibana docs "Role management": the two privileges it
//   recommends for data people work with in Kibana), restricted by document-level
//   security (`query`, ES docs "Create or update roles API": indices[].query) to
//   the workspace's namespaces on this cluster and to this cluster's name; and
//   Kibana's Discover feature, read only.
// - The mapping (ES PUT /_security/role_mapping/<name>; `enabled`, `roles`,
//   `rules` required, ES docs "Create or update role mappings API"): the
//   workspace's people (admins, developers, viewers: everyone in it reads its
//   logs) by `username`, and only when they come through the company SSO realm
//   (`realm.name`), so a local user of the same name gets nothing.
// - A data view per cluster, by id `platform-<stack>-logs`: GET /api/data_views/data_view/<id>;
//   when it exists, POST /api/data_views/data_view/<id> with the fields to change (Kibana Guide
//   "Update data view API", guide/en/kibana/8.14/data-views-api-update.html: title, name,
//   timeFieldName among the updatable fields; undated, read 2026-12-07), else create it with
//   POST /api/data_views/data_view. Not create's `override`: it replaces "a data view with the
//   provided title" (Kibana Guide "Create data view API", guide/en/kibana/8.3/
//   data-views-api-create.html; undated, read 2026-12-07), so a changed index pattern would
//   meet our own id and conflict. Both need more than manage_security: the Kibana privilege
//   "Data View Management" and view_index_metadata on the indices (Kibana Guide "Create a data
//   view", "Required permissions", guide/en/kibana/8.0/data-views.html; undated, read
//   2026-12-07); the script names them when Kibana answers 403.
//
// The fields are keyword fields: a `terms` query is not analysed, and a text
// field holds `supply-chain` as the tokens `supply` and `chain`, so matching
// the text field would silently hide that namespace. ES dynamic mapping indexes
// a string as text with a `.keyword` sub-field (ES docs "Dynamic field
// mapping"); an index template that maps the field otherwise sets
// platform:logSearch.namespaceField/clusterField. A wrong field fails closed
// (nobody sees anything), never open.
//
// A Job in the member cluster applies them (the store is on the company
// network, which the cluster reaches), with an API key holding
// `manage_security` (platform:logSearchApiKey, a secret, in a Secret only that
// Job mounts), and deletes the `platform-<stack>-*-logs` roles and mappings no
// workspace declares any more. Its name carries a hash of what it applies: a
// change is a new Job, and `pulumi up` waits for it (a failed sync fails the up:
// pulumi-kubernetes provider/pkg/await/job.go waits for the Complete condition
// and fails on Failed, at 94977969d). Unchanged content is no new Job, so a role
// edited by hand in Kibana stays edited until the next change, or
// `pulumi up --replace <the Job's URN>`.
import * as crypto from "crypto";
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ClusterAccess, inCluster, K8sObject } from "../k8s/k8sObjects";
import { FLUENT_BIT_CHART } from "../k8s/fluentBitValues";
import { mirrored } from "../k8s/images";
import { LogSearchConfig, logSearchTarget } from "./logSearchSchema";
import { peopleOf } from "./console";
import { scriptFile } from "../scriptFiles";
import type { PlacedWorkspaces } from "./consoleSchema";

/** What the sync runs on: curl (POSIX sh with busybox tools), pinned. */
export const CURL_IMAGE = "docker.io/curlimages/curl:8.11.1";
export const DEFAULT_NAMESPACE_FIELD = "kubernetes.namespace_name.keyword";
export const DEFAULT_CLUSTER_FIELD = "cluster.keyword";
/** The index privileges Kibana's docs recommend for data people work with in Kibana. */
export const READ_PRIVILEGES = ["read", "view_index_metadata"];

/** One workspace's log readers on this cluster. */
export interface LogReaders {
  workspace: string;
  /** The workspace's app namespaces on this cluster (platform:projects). */
  namespaces: string[];
  /** Everyone in the workspace (admins, developers, viewers). */
  users: string[];
}

export interface LogSearchPlan {
  stack: string;
  /** Without a trailing slash (logSearchPlan strips it). */
  kibana: string;
  elasticsearch: string;
  indices: string;
  realm: string;
  namespaceField?: string;
  clusterField?: string;
  readers: LogReaders[];
}

/**
 * A member's log-search plan from its config: one reader set per workspace of the host placed on this cluster that
 * has app namespaces here (platform:projects). Config validation has checked the store and the projects.
 */
export function logSearchPlan(
  stack: string,
  ls: LogSearchConfig,
  logging: Parameters<typeof logSearchTarget>[1],
  projects: Record<string, string>,
  workspaces: PlacedWorkspaces,
): LogSearchPlan {
  const t = logSearchTarget(ls, logging);
  if (!t.elasticsearch || !t.indices) throw new Error(`logSearchPlan ${stack}: ${t.problems.join("; ")}`);
  const readers: LogReaders[] = [];
  for (const [ws, w] of Object.entries(workspaces)) {
    if (!w.clusters.includes(stack)) continue;
    const namespaces = Object.keys(projects).filter((ns) => projects[ns] === ws);
    if (namespaces.length === 0) continue;
    readers.push({ workspace: ws, namespaces, users: peopleOf(w).map(([u]) => u) });
  }
  return {
    stack,
    kibana: ls.kibana.replace(/\/$/, ""),
    elasticsearch: t.elasticsearch,
    indices: t.indices,
    realm: ls.realm,
    namespaceField: ls.namespaceField,
    clusterField: ls.clusterField,
    readers,
  };
}

/** The role and mapping name of a workspace's readers on a cluster. */
export function roleName(stack: string, workspace: string): string {
  return `platform-${stack}-${workspace}-logs`;
}

/** The Kibana role body: read on the cluster's indices, only the workspace's namespaces of this cluster, Discover read. */
export function kibanaRole(p: LogSearchPlan, r: LogReaders): Record<string, unknown> {
  return {
    // No top-level `description`: Kibana 8.15's role API takes it, earlier 8.x rejects unknown keys; metadata is free.
    metadata: {
      managedBy: "platform",
      stack: p.stack,
      workspace: r.workspace,
      about: `Logs of workspace ${r.workspace} on cluster ${p.stack} (namespaces ${r.namespaces.join(", ")})`,
    },
    elasticsearch: {
      cluster: [],
      indices: [
        {
          names: [p.indices],
          privileges: READ_PRIVILEGES,
          query: JSON.stringify({
            bool: {
              filter: [
                { terms: { [p.namespaceField ?? DEFAULT_NAMESPACE_FIELD]: [...r.namespaces].sort() } },
                { term: { [p.clusterField ?? DEFAULT_CLUSTER_FIELD]: p.stack } },
              ],
            },
          }),
        },
      ],
      run_as: [],
    },
    kibana: [{ base: [], feature: { discover: ["read"] }, spaces: ["default"] }],
  };
}

/** The ES role mapping body: the workspace's people, through the SSO realm only. */
export function roleMapping(p: LogSearchPlan, r: LogReaders): Record<string, unknown> {
  return {
    enabled: true,
    roles: [roleName(p.stack, r.workspace)],
    rules: { all: [{ field: { "realm.name": p.realm } }, { field: { username: [...r.users].sort() } }] },
    metadata: { managedBy: "platform", stack: p.stack, workspace: r.workspace },
  };
}

/** The id of this cluster's data view: the sync updates the view of that id, or creates it. */
export function dataViewId(stack: string): string {
  return `platform-${stack}-logs`;
}

/** The data view people pick in Discover: this cluster's indices. The create body (no `override`: see the header). */
export function dataView(p: LogSearchPlan): Record<string, unknown> {
  return { data_view: { id: dataViewId(p.stack), ...dataViewFields(p) } };
}

/** The update body: the same fields without the id (not an updatable field). */
export function dataViewUpdate(p: LogSearchPlan): Record<string, unknown> {
  return { data_view: dataViewFields(p) };
}

function dataViewFields(p: LogSearchPlan): Record<string, string> {
  return { title: p.indices, name: `Container logs: ${p.stack}`, timeFieldName: "@timestamp" };
}

/**
 * The sync, POSIX sh (the curl image's busybox): scripts/log-search-sync.sh (its first comment names this file's old
 * path; editing the script renames the Job, see syncHash). Env: ES_URL, KIBANA_URL, PREFIX (`platform-<stack>-`), AUTH_FILE
 * (a curl header file: `Authorization: ApiKey ...`; a file, so the key is in no argv or env), DIR (roles/, mappings/,
 * dataview.id, dataview.json, dataview-update.json). Upserts every role, then every mapping, then the data view (by id:
 * update when it exists, else create); then deletes our mappings and roles that
 * are not declared. Any HTTP error stops it (and fails the Job).
 */
export function syncScript(): string {
  return scriptFile(path.join(__dirname, "scripts", "log-search-sync.sh"));
}

/** The files the Job mounts (ConfigMap keys; `/` is not allowed in a key, so items map them to paths). */
export function syncFiles(p: LogSearchPlan): { key: string; path: string; content: string }[] {
  const files = [{ key: "sync.sh", path: "sync.sh", content: syncScript() }];
  for (const r of p.readers) {
    const name = roleName(p.stack, r.workspace);
    files.push({ key: `role.${name}.json`, path: `roles/${name}.json`, content: `${JSON.stringify(kibanaRole(p, r), null, 2)}\n` });
    files.push({ key: `mapping.${name}.json`, path: `mappings/${name}.json`, content: `${JSON.stringify(roleMapping(p, r), null, 2)}\n` });
  }
  files.push({ key: "dataview.id", path: "dataview.id", content: `${dataViewId(p.stack)}\n` });
  files.push({ key: "dataview.json", path: "dataview.json", content: `${JSON.stringify(dataView(p), null, 2)}\n` });
  files.push({ key: "dataview-update.json", path: "dataview-update.json", content: `${JSON.stringify(dataViewUpdate(p), null, 2)}\n` });
  return files;
}

/** A short hash of what the Job applies (and where): a change names a new Job. `files`: syncFiles(p). */
export function syncHash(p: LogSearchPlan, files = syncFiles(p)): string {
  const h = crypto.createHash("sha256");
  for (const f of files) h.update(`${f.path}\0${f.content}\0`);
  h.update(`${p.elasticsearch}\0${p.kibana}\0${CURL_IMAGE}`);
  return h.digest("hex").slice(0, 10);
}

export const API_KEY_SECRET = "log-search-api-key";

/** The Job (without the Secret's data) that applies the plan; pure, for tests. */
export function syncJob(p: LogSearchPlan, imageMirror?: string): { configMap: K8sObject; job: K8sObject } {
  const files = syncFiles(p);
  const name = `log-search-sync-${syncHash(p, files)}`;
  const namespace = FLUENT_BIT_CHART.namespace;
  const labels = { "app.kubernetes.io/name": "log-search-sync", "app.kubernetes.io/managed-by": "pulumi" };
  const configMap: K8sObject = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace, labels },
    data: Object.fromEntries(files.map((f) => [f.key, f.content])),
  };
  const job: K8sObject = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace, labels },
    spec: {
      backoffLimit: 3,
      activeDeadlineSeconds: 600,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "sync",
              image: mirrored(CURL_IMAGE, imageMirror),
              command: ["/bin/sh", "/sync/sync.sh"],
              env: [
                { name: "ES_URL", value: p.elasticsearch },
                { name: "KIBANA_URL", value: p.kibana },
                { name: "PREFIX", value: `platform-${p.stack}-` },
                { name: "AUTH_FILE", value: "/credentials/authorization" },
                { name: "DIR", value: "/sync" },
              ],
              resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
              volumeMounts: [
                { name: "sync", mountPath: "/sync", readOnly: true },
                { name: "credentials", mountPath: "/credentials", readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: "sync", configMap: { name, items: files.map((f) => ({ key: f.key, path: f.path })) } },
            { name: "credentials", secret: { secretName: API_KEY_SECRET, defaultMode: 0o400 } },
          ],
        },
      },
    },
  };
  return { configMap, job };
}

export interface LogSearchArgs {
  /** The member cluster: its provider and readiness gate. */
  cluster: ClusterAccess;
  /** What to create in Kibana and Elasticsearch (logSearchPlan): roles, mappings, the data view. */
  plan: LogSearchPlan;
  /**
   * platform:logSearchApiKey: an Elasticsearch API key (the encoded form) with manage_security, view_index_metadata on
   * the indices and the Kibana feature privilege "Data View Management" (see the header).
   */
  apiKey: pulumi.Input<string>;
  /** The logging namespace (Logging's): the Job runs there. */
  after: pulumi.Resource[];
  /** `platform:images.registry` for the Job's image. Default none (upstream). */
  imageMirror?: string;
}

/** A member's log-search access: the roles, mappings and data view, applied by a Job. */
export class LogSearch extends pulumi.ComponentResource {
  constructor(name: string, args: LogSearchArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:k8s:LogSearch", name, {}, opts);
    const { configMap, job } = syncJob(args.plan, args.imageMirror);
    const secret = new k8s.core.v1.Secret(
      `${name}-api-key`,
      {
        metadata: { name: API_KEY_SECRET, namespace: FLUENT_BIT_CHART.namespace },
        type: "Opaque",
        stringData: pulumi.secret(pulumi.output(args.apiKey).apply((k) => ({ authorization: `Authorization: ApiKey ${k}\n` }))),
      },
      inCluster(this, args.cluster, { dependsOn: args.after }),
    );
    const { apiVersion: _a, kind: _k, ...cm } = configMap;
    const files = new k8s.core.v1.ConfigMap(`${name}-files`, cm as k8s.core.v1.ConfigMapArgs, inCluster(this, args.cluster, { dependsOn: args.after }));
    const { apiVersion: _b, kind: _l, ...jobArgs } = job;
    // A new name per content: the old Job is deleted after the new one completes (Pulumi creates before it deletes).
    new k8s.batch.v1.Job(`${name}-sync`, jobArgs as k8s.batch.v1.JobArgs, inCluster(this, args.cluster, { dependsOn: [secret, files] }));
    this.registerOutputs({});
  }
}
