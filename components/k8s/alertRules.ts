// The platform's Prometheus alerting rules: what ops asked to be woken for.
// Pure: returns rule groups that the monitoring component wraps into a
// PrometheusRule (spec.groups) and the tests feed to `promtool`.
//
// Every cluster runs its own Prometheus, so expressions do not filter by
// cluster; the `cluster` label is stamped on each alert instead, so a
// DingTalk message says which of the six clusters is on fire.

export interface AlertThresholds {
  /** Share of ingress requests answered 5xx over 5m that pages, e.g. 0.05. */
  ingress5xxRatio: number;
  /** Same for 4xx, e.g. 0.20: clients get a lot wrong, so only a big share means a broken release. */
  ingress4xxRatio: number;
  /** Container restarts in 15m that count as a restart loop, e.g. 3. */
  restartsIn15m: number;
  /**
   * Requests per second (5m average) an ingress needs before its 5xx/4xx ratio
   * alerts, default 0.5 (150 requests in 5m). Note: below it, 2 errors out of
   * 3 requests would read as 66% and page at 3 a.m. for nothing.
   */
  minIngressRequestRate?: number;
}

export const DEFAULT_THRESHOLDS: AlertThresholds = {
  ingress5xxRatio: 0.05,
  ingress4xxRatio: 0.2,
  restartsIn15m: 3,
  minIngressRequestRate: 0.5,
};

export interface AlertRule {
  /** Alert name, CamelCase, as Alertmanager routes and DingTalk shows it. */
  alert: string;
  /** PromQL; the alert fires for each series it returns. */
  expr: string;
  /** How long the expression must hold before firing (absent = at once). */
  for?: string;
  /** Added to the alert: severity (critical pages, warning does not) and cluster. */
  labels: Record<string, string>;
  /** summary and description, Go templates over $labels and $value. */
  annotations: Record<string, string>;
}

export interface RuleGroup {
  /** Unique within a rules file / PrometheusRule. */
  name: string;
  rules: AlertRule[];
}

export interface AlertRuleOptions {
  /**
   * Label that carries the ingress's namespace on ingress-nginx metrics,
   * default "exported_namespace": the controller exports `namespace`, and a
   * ServiceMonitor without honorLabels renames it because Prometheus's own
   * target label `namespace` (the controller's namespace) wins. Use
   * "namespace" if the ServiceMonitor sets honorLabels: true.
   */
  ingressNamespaceLabel?: string;
}

const CLUSTER = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function validateThresholds(t: AlertThresholds): Required<AlertThresholds> {
  const ratio = (field: keyof AlertThresholds, v: unknown) => {
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || v >= 1) {
      throw new Error(`alert thresholds: ${field} must be a ratio between 0 and 1 (exclusive), got ${v}`);
    }
  };
  ratio("ingress5xxRatio", t.ingress5xxRatio);
  ratio("ingress4xxRatio", t.ingress4xxRatio);
  if (!Number.isInteger(t.restartsIn15m) || t.restartsIn15m < 1) {
    throw new Error(`alert thresholds: restartsIn15m must be an integer >= 1, got ${t.restartsIn15m}`);
  }
  const minRate = t.minIngressRequestRate ?? DEFAULT_THRESHOLDS.minIngressRequestRate!;
  if (typeof minRate !== "number" || !Number.isFinite(minRate) || minRate < 0) {
    throw new Error(`alert thresholds: minIngressRequestRate must be a number >= 0, got ${minRate}`);
  }
  return { ...t, minIngressRequestRate: minRate };
}

/** A PromQL number literal without float noise such as 0.30000000000000004. */
function num(v: number): string {
  return String(Number(v.toPrecision(12)));
}

function ingressRules(cluster: string, t: Required<AlertThresholds>, nsLabel: string): AlertRule[] {
  const by = `${nsLabel}, ingress`;
  const total = `sum by (${by}) (rate(nginx_ingress_controller_requests[5m]))`;
  const ratioOf = (statusClass: string, ratio: number) =>
    // A 0/0 ratio is NaN and never fires; the `and` keeps quiet ingresses,
    // whose ratio swings wildly on a handful of requests, from paging.
    `(\n    sum by (${by}) (rate(nginx_ingress_controller_requests{status=~"${statusClass}.."}[5m]))\n` +
    `  /\n    ${total}\n) > ${num(ratio)}\nand\n  ${total} > ${num(t.minIngressRequestRate)}`;
  const where = `{{ $labels.${nsLabel} }}/{{ $labels.ingress }}`;
  return [
    {
      alert: "IngressHigh5xxRate",
      expr: ratioOf("5", t.ingress5xxRatio),
      for: "5m",
      labels: { severity: "critical", cluster },
      annotations: {
        summary: `Ingress ${where} answers too many 5xx in cluster ${cluster}`,
        description:
          `{{ $value | humanizePercentage }} of requests to ingress ${where} got a 5xx over the last 5m ` + `(threshold ${num(t.ingress5xxRatio * 100)}%).`,
      },
    },
    {
      alert: "IngressHigh4xxRate",
      expr: ratioOf("4", t.ingress4xxRatio),
      for: "10m",
      labels: { severity: "warning", cluster },
      annotations: {
        summary: `Ingress ${where} answers too many 4xx in cluster ${cluster}`,
        description:
          `{{ $value | humanizePercentage }} of requests to ingress ${where} got a 4xx over the last 5m ` +
          `(threshold ${num(t.ingress4xxRatio * 100)}%); often a broken client release or a removed route.`,
      },
    },
  ];
}

function workloadRules(cluster: string, t: Required<AlertThresholds>): AlertRule[] {
  return [
    {
      alert: "PodRestartLoop",
      // max by: two kube-state-metrics replicas must not double the count.
      expr: `max by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total[15m]))` + ` >= ${t.restartsIn15m}`,
      labels: { severity: "warning", cluster },
      annotations: {
        summary: `Container {{ $labels.namespace }}/{{ $labels.pod }}/{{ $labels.container }} is restarting in a loop`,
        description:
          `Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} restarted ` +
          `{{ $value | printf "%.0f" }} times in 15m in cluster ${cluster} (threshold ${t.restartsIn15m}).`,
      },
    },
    {
      alert: "DeploymentReplicasUnavailable",
      expr: `max by (namespace, deployment) (kube_deployment_status_replicas_unavailable) > 0`,
      // A rolling update makes replicas unavailable for a while on purpose.
      for: "10m",
      labels: { severity: "warning", cluster },
      annotations: {
        summary: `Deployment {{ $labels.namespace }}/{{ $labels.deployment }} has unavailable replicas`,
        description:
          `{{ $value }} replicas of deployment {{ $labels.namespace }}/{{ $labels.deployment }} ` + `have been unavailable for 10m in cluster ${cluster}.`,
      },
    },
    {
      alert: "DeploymentNoReplicasAvailable",
      expr:
        `max by (namespace, deployment) (kube_deployment_spec_replicas) > 0\n` +
        `and\n` +
        `max by (namespace, deployment) (kube_deployment_status_replicas_available) == 0`,
      for: "3m",
      labels: { severity: "critical", cluster },
      annotations: {
        summary: `Deployment {{ $labels.namespace }}/{{ $labels.deployment }} has no available replica`,
        description:
          `Deployment {{ $labels.namespace }}/{{ $labels.deployment }} wants {{ $value }} replicas ` +
          `and none has been available for 3m in cluster ${cluster}: the app is down.`,
      },
    },
  ];
}

function nodeRules(cluster: string): AlertRule[] {
  const condition = (name: string) => `max by (node) (kube_node_status_condition{condition="${name}",status="true"})`;
  return [
    {
      alert: "NodeNotReady",
      // status="true" == 0 covers both Ready=False and Ready=Unknown (kubelet gone).
      expr: `${condition("Ready")} == 0`,
      for: "5m",
      labels: { severity: "critical", cluster },
      annotations: {
        summary: `Node {{ $labels.node }} is not Ready in cluster ${cluster}`,
        description: `Node {{ $labels.node }} has not been Ready for 5m; its pods are being evicted or are unreachable.`,
      },
    },
    {
      alert: "NodeDiskPressure",
      expr: `${condition("DiskPressure")} == 1`,
      for: "5m",
      labels: { severity: "warning", cluster },
      annotations: {
        summary: `Node {{ $labels.node }} has DiskPressure in cluster ${cluster}`,
        description:
          `Node {{ $labels.node }} reports DiskPressure: the kubelet is garbage-collecting images and evicting pods. ` +
          `Check container logs and images on its disk.`,
      },
    },
    {
      alert: "NodeMemoryPressure",
      expr: `${condition("MemoryPressure")} == 1`,
      for: "5m",
      labels: { severity: "warning", cluster },
      annotations: {
        summary: `Node {{ $labels.node }} has MemoryPressure in cluster ${cluster}`,
        description:
          `Node {{ $labels.node }} reports MemoryPressure: the kubelet is evicting pods. ` + `Check JVM heap sizes (-Xmx) against the pods' memory limits.`,
      },
    },
  ];
}

/** The platform's alert rule groups for one cluster. */
export function platformAlertRules(cluster: string, t: AlertThresholds = DEFAULT_THRESHOLDS, opts: AlertRuleOptions = {}): RuleGroup[] {
  if (typeof cluster !== "string" || !CLUSTER.test(cluster)) {
    throw new Error(`alert rules: cluster must be a DNS-style name such as "prod1", got ${JSON.stringify(cluster)}`);
  }
  const nsLabel = opts.ingressNamespaceLabel ?? "exported_namespace";
  if (!LABEL_NAME.test(nsLabel)) {
    throw new Error(`alert rules: ingressNamespaceLabel must be a Prometheus label name, got ${JSON.stringify(nsLabel)}`);
  }
  const v = validateThresholds(t);
  return [
    { name: `platform-ingress.${cluster}`, rules: ingressRules(cluster, v, nsLabel) },
    { name: `platform-workloads.${cluster}`, rules: workloadRules(cluster, v) },
    { name: `platform-nodes.${cluster}`, rules: nodeRules(cluster) },
  ];
}
