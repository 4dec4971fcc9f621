// Grafana dashboards as code: a fleet overview per cluster and one dashboard
// per app of `platform:apps`, so a new app gets its own. Pure: plain Grafana
// JSON out, which the observability component ships as ConfigMaps for the
// Grafana sidecar, the preview writes to --out DIR/dashboards/, and the tests
// feed to `promtool` (every panel query, wrapped into a rules file).
//
// Every cluster runs its own Prometheus and Grafana, so no query filters by
// cluster: the cluster is the Grafana folder (one per cluster, from the
// ConfigMap's folder annotation) and the dashboard title. Queries read the
// datasource through the `datasource` variable, so a second Prometheus can
// be picked without editing JSON.
//
// Metric names and labels: ingress-nginx v1.12.1 (see sloRules.ts) and
// kube-state-metrics v2.19.1 (the version kube-state-metrics chart 7.5.3
// ships, the dependency of kube-prometheus-stack 87.12.5; docs/metrics/
// workload/{deployment,horizontalpodautoscaler,pod}-metrics.md and
// cluster/node-metrics.md at that tag). kube-state-metrics is scraped with
// honorLabels (kube-prometheus-stack values `kube-state-metrics.prometheus.
// monitor.honorLabels: true`), so its `namespace` is the object's.
import { AppTarget, appDashboardUid, ingressMatchers, num, resolveSlo, shortUid } from "./sloRules";
import { DASHBOARD_SIDECAR } from "../k8s/monitoringValues";

/** Grafana's dashboard JSON schema version these dashboards are written against (Grafana 11+ read it and migrate newer). */
export const SCHEMA_VERSION = 39;
/** The datasource variable every panel reads; its default is the chart's Prometheus datasource (uid `prometheus`, kube-prometheus-stack values grafana.sidecar.datasources.uid). */
export const DATASOURCE = { type: "prometheus", uid: "${datasource}" } as const;

export interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  datasource: typeof DATASOURCE;
}

export interface Panel {
  id: number;
  type: "timeseries" | "stat" | "table";
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: typeof DATASOURCE;
  targets: Target[];
  fieldConfig: { defaults: Record<string, unknown>; overrides: unknown[] };
  options?: Record<string, unknown>;
  /** Panel links (Grafana panel JSON `links`): the app's traces in the cluster's SkyWalking UI. */
  links?: { title: string; url: string; targetBlank: boolean }[];
}

/** Where an app's panels link for its traces: the cluster's SkyWalking UI, and the apps that are traced. */
export interface TracesLink {
  /** The SkyWalking UI as people open it (`https://<platform:tracing.ui.host>/`). */
  url: string;
  /** Apps running the agent (not `platform:apps.<app>.tracing: false`). */
  apps: string[];
}

export interface Annotation {
  name: string;
  datasource: typeof DATASOURCE | { type: string; uid: string };
  enable: boolean;
  iconColor: string;
  expr?: string;
  step?: string;
  titleFormat?: string;
  tagKeys?: string;
  builtIn?: number;
  type?: string;
  hide?: boolean;
}

export interface Dashboard {
  uid: string;
  title: string;
  tags: string[];
  schemaVersion: number;
  version: number;
  editable: boolean;
  time: { from: string; to: string };
  refresh: string;
  timezone: string;
  templating: { list: Record<string, unknown>[] };
  annotations: { list: Annotation[] };
  panels: Panel[];
}

type PanelSpec = Omit<Panel, "id" | "gridPos" | "datasource" | "targets" | "fieldConfig"> & {
  w: number;
  h?: number;
  unit?: string;
  targets: [expr: string, legend?: string][];
  /** Red above this value (stat panels and thresholds). */
  red?: number;
};

/** Lays panels out left to right, wrapping at Grafana's 24 columns, and numbers them 1..n. */
function layout(specs: PanelSpec[]): Panel[] {
  let x = 0;
  let y = 0;
  let rowH = 0;
  return specs.map((s, i) => {
    const h = s.h ?? (s.type === "stat" ? 4 : 8);
    if (x + s.w > 24) {
      x = 0;
      y += rowH;
      rowH = 0;
    }
    const gridPos = { x, y, w: s.w, h };
    x += s.w;
    rowH = Math.max(rowH, h);
    const { w: _w, h: _h, unit, targets, red, ...rest } = s;
    const thresholds =
      red === undefined
        ? undefined
        : {
            mode: "absolute",
            steps: [
              { color: "green", value: null },
              { color: "red", value: red },
            ],
          };
    return {
      ...rest,
      id: i + 1,
      gridPos,
      datasource: DATASOURCE,
      targets: targets.map(([expr, legendFormat], j) => ({
        refId: String.fromCharCode(65 + j),
        expr,
        ...(legendFormat ? { legendFormat } : {}),
        datasource: DATASOURCE,
      })),
      fieldConfig: { defaults: { ...(unit ? { unit } : {}), ...(thresholds ? { thresholds } : {}) }, overrides: [] },
    };
  });
}

function dashboard(uid: string, title: string, tags: string[], panels: Panel[], annotations: Annotation[] = []): Dashboard {
  return {
    uid: shortUid(uid),
    title,
    tags: ["platform", ...tags],
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    editable: false,
    time: { from: "now-6h", to: "now" },
    refresh: "30s",
    timezone: "browser",
    templating: {
      list: [
        {
          name: "datasource",
          label: "Data source",
          type: "datasource",
          query: "prometheus",
          current: { text: "Prometheus", value: "prometheus" },
          hide: 0,
        },
      ],
    },
    annotations: {
      list: [
        {
          builtIn: 1,
          name: "Annotations & Alerts",
          type: "dashboard",
          datasource: { type: "grafana", uid: "-- Grafana --" },
          enable: true,
          hide: true,
          iconColor: "rgba(0, 211, 255, 1)",
        },
        ...annotations,
      ],
    },
    panels,
  };
}

const REQ = "nginx_ingress_controller_requests";
const DUR = "nginx_ingress_controller_request_duration_seconds_bucket";

const ratio = (m: string, status: string) => `sum(rate(${REQ}{${m}${m ? "," : ""}status=~"${status}"}[5m])) / sum(rate(${REQ}{${m}}[5m]))`;
const quantile = (q: number, m: string) => `histogram_quantile(${q}, sum by (le) (rate(${DUR}{${m}}[5m])))`;

/** The fleet overview of one cluster: traffic through ingress-nginx and the health of nodes and workloads. */
export function fleetDashboard(cluster: string): Dashboard {
  const deploymentsOff =
    `count(max by (namespace, deployment) (kube_deployment_spec_replicas)` +
    ` != max by (namespace, deployment) (kube_deployment_status_replicas_available)) or vector(0)`;
  const panels = layout([
    { type: "stat", title: "Requests/s", w: 4, unit: "reqps", targets: [[`sum(rate(${REQ}[5m]))`]] },
    { type: "stat", title: "5xx ratio", w: 4, unit: "percentunit", red: 0.01, targets: [[ratio("", "5..")]] },
    { type: "stat", title: "4xx ratio", w: 4, unit: "percentunit", red: 0.2, targets: [[ratio("", "4..")]] },
    {
      type: "stat",
      title: "Nodes ready",
      w: 4,
      targets: [
        [`sum(max by (node) (kube_node_status_condition{condition="Ready",status="true"}))`, "ready"],
        [`count(max by (node) (kube_node_info))`, "total"],
      ],
    },
    { type: "stat", title: "Pods pending", w: 4, red: 1, targets: [[`sum(max by (namespace, pod) (kube_pod_status_phase{phase="Pending"})) or vector(0)`]] },
    { type: "stat", title: "Deployments not at desired replicas", w: 4, red: 1, targets: [[deploymentsOff]] },
    { type: "timeseries", title: "Requests/s by status", w: 12, unit: "reqps", targets: [[`sum by (status) (rate(${REQ}[5m]))`, "{{status}}"]] },
    {
      type: "timeseries",
      title: "Latency p50 / p99",
      w: 12,
      unit: "s",
      targets: [
        [quantile(0.5, ""), "p50"],
        [quantile(0.99, ""), "p99"],
      ],
    },
    {
      type: "timeseries",
      title: "5xx and 4xx ratio",
      w: 12,
      unit: "percentunit",
      targets: [
        [ratio("", "5.."), "5xx"],
        [ratio("", "4.."), "4xx"],
      ],
    },
    {
      type: "table",
      title: "Busiest ingresses",
      w: 12,
      unit: "reqps",
      targets: [[`topk(10, sum by (exported_namespace, ingress) (rate(${REQ}[5m])))`, "{{exported_namespace}}/{{ingress}}"]],
    },
  ]);
  return dashboard(`${cluster}-fleet`, `Fleet overview (${cluster})`, ["fleet", cluster], panels);
}

/** Regex over pod names of an app's Deployments: `<app>-<rs hash>-<suffix>`, and the canary's `<app>-canary-...` when `canary`. */
export function podRegex(app: string, canary = true): string {
  return `${app}${canary ? "(-canary)?" : ""}-[a-z0-9]+-[a-z0-9]+`;
}

/** The dashboard of one app: traffic, errors and latency at the ingress, replicas, restarts, heap, releases and canary. */
export function appDashboard(cluster: string, t: AppTarget, traces?: TracesLink): Dashboard {
  const slo = resolveSlo(t.app, t.slo);
  const m = ingressMatchers(t);
  const ns = `namespace="${t.namespace}"`;
  const pods = `${ns},pod=~"${podRegex(t.app)}"`;
  const app = `${pods},container="app"`;
  const deps = `${ns},deployment=~"${t.app}|${t.app}-canary"`;
  const budget = 1 - slo.availability;
  const errorsOver = (w: string) => `(sum(rate(${REQ}{${m},status=~"5.."}[${w}])) / sum(rate(${REQ}{${m}}[${w}]))) / ${num(budget)}`;
  const specs: PanelSpec[] = [
    { type: "stat", title: "QPS (PV/s)", w: 4, unit: "reqps", targets: [[`sum(rate(${REQ}{${m}}[5m]))`]] },
    { type: "stat", title: "5xx ratio", w: 4, unit: "percentunit", red: budget, targets: [[ratio(m, "5..")]] },
    { type: "stat", title: "p99 latency", w: 4, unit: "s", red: slo.latencyP99Ms / 1000, targets: [[quantile(0.99, m)]] },
    {
      type: "stat",
      title: "Image running",
      description: "The image of the app container in the app's pods (count of pods per image); two during a rollout or a canary.",
      w: 6,
      targets: [[`count by (image) (kube_pod_container_info{${app}})`, "{{image}}"]],
      options: { reduceOptions: { calcs: ["lastNotNull"] }, textMode: "name" },
    },
    {
      type: "stat",
      title: "Release running since",
      description: "Creation time of the oldest pod running each image: when the release now running rolled out.",
      w: 6,
      unit: "dateTimeAsIso",
      targets: [
        [
          `min by (image) (kube_pod_created{${pods}} * on (namespace, pod) group_left (image) max by (namespace, pod, image) (kube_pod_container_info{${app}})) * 1000`,
          "{{image}}",
        ],
      ],
    },
    { type: "timeseries", title: "Requests/s by status", w: 12, unit: "reqps", targets: [[`sum by (status) (rate(${REQ}{${m}}[5m]))`, "{{status}}"]] },
    {
      type: "timeseries",
      title: "5xx and 4xx ratio",
      w: 12,
      unit: "percentunit",
      targets: [
        [ratio(m, "5.."), "5xx"],
        [ratio(m, "4.."), "4xx"],
      ],
    },
    {
      type: "timeseries",
      title: "Latency p50 / p95 / p99",
      description: `SLO: 99% of requests within ${slo.latencyP99Ms}ms.`,
      w: 12,
      unit: "s",
      targets: [
        [quantile(0.5, m), "p50"],
        [quantile(0.95, m), "p95"],
        [quantile(0.99, m), "p99"],
      ],
    },
    {
      type: "timeseries",
      title: "Error budget burn rate",
      description: `5xx ratio over the SLO budget (${num(budget * 100)}%): 14.4 over 1h pages, 6 over 6h warns.`,
      w: 12,
      red: 6,
      targets: [
        [errorsOver("1h"), "1h"],
        [errorsOver("6h"), "6h"],
      ],
    },
    {
      type: "timeseries",
      title: "Replicas desired / ready / available",
      w: 12,
      targets: [
        [`max by (deployment) (kube_deployment_spec_replicas{${deps}})`, "{{deployment}} desired"],
        [`max by (deployment) (kube_deployment_status_replicas_ready{${deps}})`, "{{deployment}} ready"],
        [`max by (deployment) (kube_deployment_status_replicas_available{${deps}})`, "{{deployment}} available"],
      ],
    },
    {
      type: "timeseries",
      title: "Restarts (1h)",
      w: 12,
      targets: [[`max by (pod) (increase(kube_pod_container_status_restarts_total{${app}}[1h]))`, "{{pod}}"]],
    },
    {
      type: "timeseries",
      title: "JVM heap used",
      description:
        'Micrometer\'s jvm_memory_used_bytes{area="heap"}: shows data only if Prometheus scrapes the app (a ServiceMonitor or PodMonitor for its /actuator/prometheus); empty otherwise.',
      w: 12,
      unit: "bytes",
      targets: [[`sum by (pod) (jvm_memory_used_bytes{${pods},area="heap"})`, "{{pod}}"]],
    },
  ];
  if (t.autoscale) {
    const hpa = `${ns},horizontalpodautoscaler="${t.app}"`;
    specs.push({
      type: "timeseries",
      title: "HPA current vs max",
      w: 12,
      targets: [
        [`max(kube_horizontalpodautoscaler_status_current_replicas{${hpa}})`, "current"],
        [`max(kube_horizontalpodautoscaler_spec_max_replicas{${hpa}})`, "max"],
      ],
    });
  }
  if (t.canary) {
    // ingress-nginx sets `canary` to the canary backend's name on requests it sent there, "" otherwise.
    specs.push(
      {
        type: "timeseries",
        title: "Canary vs stable requests/s",
        w: 12,
        unit: "reqps",
        targets: [
          [`sum(rate(${REQ}{${m},canary=""}[5m]))`, "stable"],
          [`sum(rate(${REQ}{${m},canary!=""}[5m]))`, "canary"],
        ],
      },
      {
        type: "timeseries",
        title: "Canary vs stable 5xx ratio",
        w: 12,
        unit: "percentunit",
        targets: [
          [ratio(`${m},canary=""`, "5.."), "stable"],
          [ratio(`${m},canary!=""`, "5.."), "canary"],
        ],
      },
    );
  }
  // Release marker: an image that runs now and did not 10 minutes ago.
  const release: Annotation = {
    name: "Releases",
    datasource: DATASOURCE,
    enable: true,
    iconColor: "#8AB8FF",
    expr: `count by (image) (kube_pod_container_info{${app}}) unless count by (image) (kube_pod_container_info{${app}} offset 10m)`,
    step: "1m",
    titleFormat: "Release {{image}}",
    tagKeys: "image",
  };
  // Every panel links to the app's traces: SkyWalking's service name is the app (SW_AGENT_NAME, docs/tracing.md).
  const link =
    traces && traces.apps.includes(t.app) ? [{ title: `Traces of ${t.app} in SkyWalking (service ${t.app})`, url: traces.url, targetBlank: true }] : undefined;
  const panels = layout(specs).map((p) => (link ? { ...p, links: link } : p));
  return dashboard(appDashboardUid(cluster, t.app), `${t.namespace}/${t.app} (${cluster})`, ["app", cluster, t.namespace], panels, [release]);
}

/** Every dashboard of one cluster: the fleet overview, then one per app. */
export function clusterDashboards(cluster: string, apps: AppTarget[], traces?: TracesLink): Dashboard[] {
  return [fleetDashboard(cluster), ...apps.map((a) => appDashboard(cluster, a, traces))];
}

/** Every PromQL expression of a dashboard (panel targets and annotation queries), named for the check. */
export function dashboardExpressions(d: Dashboard): { name: string; expr: string }[] {
  const safe = (s: string) => s.replace(/[^a-zA-Z0-9_]/g, "_");
  return [
    ...d.panels.flatMap((p) => p.targets.map((t) => ({ name: `panel:${safe(d.uid)}:${p.id}_${t.refId}`, expr: t.expr }))),
    ...d.annotations.list.filter((a) => a.expr).map((a, i) => ({ name: `annotation:${safe(d.uid)}:${i}`, expr: a.expr! })),
  ];
}

/** A dashboard as the ConfigMap the sidecar picks up, in the cluster's folder. */
export function dashboardConfigMap(cluster: string, d: Dashboard, namespace: string) {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: `dashboard-${d.uid}`,
      namespace,
      labels: { [DASHBOARD_SIDECAR.label]: DASHBOARD_SIDECAR.labelValue, "platform/cluster": cluster },
      annotations: { [DASHBOARD_SIDECAR.folderAnnotation]: cluster },
    },
    data: { [`${d.uid}.json`]: JSON.stringify(d, null, 2) },
  };
}
