// Per-app SLO alerts: multi-window, multi-burn-rate rules in the style of the
// Google SRE workbook ("Alerting on SLOs"): a fast burn (2% of a 30-day error
// budget in 1h, i.e. 14.4x, confirmed over 5m) pages; a slow burn (5% in 6h,
// 6x, confirmed over 30m) warns. Two SLOs per app, both measured at the
// ingress, where the customer is:
//   - availability: the share of requests answered 5xx;
//   - latency: the share of requests slower than latencyP99Ms (an objective
//     "99% of requests within X ms" has a budget of 1% slow requests).
// Pure: returns rule groups for the PrometheusRule and for `promtool`.
//
// Metrics (ingress-nginx controller v1.12.1, chart 4.12.1,
// internal/ingress/metric/collectors/socket.go `requestTags`): counters
// nginx_ingress_controller_requests and the histogram
// nginx_ingress_controller_request_duration_seconds carry status, method,
// path, namespace, ingress, service, canary. Scraped through the chart's
// ServiceMonitor (no honorLabels), the ingress's `namespace` arrives as
// `exported_namespace` (see alertRules.ts). Requests sent to a canary still
// carry the main Ingress's name (rootfs/etc/nginx/lua/monitor.lua reads
// ngx.var.ingress_name, the location's Ingress) and `canary` = the canary
// backend's name; the canary Ingress's own name is matched too, for safety.
import type { AlertRule, RuleGroup } from "../k8s/alertRules";

export interface SloSettings {
  /** Share of requests that must not be 5xx, e.g. 0.999 (budget 0.1%). */
  availability: number;
  /** 99% of requests must finish within this many ms; must be a bucket bound of the controller's histogram. */
  latencyP99Ms: number;
}

export const DEFAULT_SLO: SloSettings = { availability: 0.999, latencyP99Ms: 500 };

/**
 * The controller's request-duration buckets in ms: prometheus.DefBuckets, the
 * default of its --time-buckets flag (pkg/flags/flags.go at v1.12.1). The
 * latency SLO counts requests above a bucket bound, so the bound must be one.
 */
export const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** One app as the SLO rules and the dashboards see it. */
export interface AppTarget {
  /** App name (`platform:apps.<app>`): the Deployment, Service and Ingress name. */
  app: string;
  namespace: string;
  slo?: Partial<SloSettings>;
  /** Runs a canary track (`<app>-canary`). */
  canary?: boolean;
  /** Has an HPA (named like the app). */
  autoscale?: boolean;
}

export interface SloRuleOptions {
  /** Label carrying the Ingress's namespace on ingress-nginx metrics, default exported_namespace. */
  ingressNamespaceLabel?: string;
  /** Requests/s (5m) below which an app is too quiet to judge, default 0.5. */
  minRequestRate?: number;
  /** Builds the link to the app's dashboard from its uid; default a relative `/d/<uid>`. */
  dashboardUrl?: (uid: string) => string;
}

/** Burn-rate windows: [long, short, factor, severity], SRE workbook table 5-8 for a 30-day budget. */
export const BURN_WINDOWS = [
  { long: "1h", short: "5m", factor: 14.4, severity: "critical" },
  { long: "6h", short: "30m", factor: 6, severity: "warning" },
] as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Resolves an app's SLO from its config (defaults for unset keys); one error naming the key on bad input. */
export function resolveSlo(app: string, slo: Partial<SloSettings> = {}): SloSettings {
  const key = (k: string) => `platform:apps.${app}.slo.${k}`;
  const s = { ...DEFAULT_SLO, ...Object.fromEntries(Object.entries(slo).filter(([, v]) => v !== undefined)) };
  if (typeof s.availability !== "number" || !(s.availability > 0.9 && s.availability < 1)) {
    throw new Error(`${key("availability")} must be a ratio above 0.9 and below 1 such as 0.999, got ${s.availability}`);
  }
  if (!LATENCY_BUCKETS_MS.includes(s.latencyP99Ms)) {
    throw new Error(
      `${key("latencyP99Ms")} must be a bucket bound of ingress-nginx's latency histogram ` + `(${LATENCY_BUCKETS_MS.join(", ")}), got ${s.latencyP99Ms}`,
    );
  }
  return s;
}

/** A PromQL number literal without float noise. */
export function num(v: number): string {
  return String(Number(v.toPrecision(12)));
}

/** Matchers selecting an app's traffic at the ingress (stable and canary). */
export function ingressMatchers(t: Pick<AppTarget, "app" | "namespace">, nsLabel = "exported_namespace"): string {
  return `${nsLabel}="${t.namespace}",ingress=~"${t.app}|${t.app}-canary"`;
}

/**
 * `le` matcher for a bucket bound in ms. Prometheus 3 normalises classic
 * histogram bounds to float notation on ingestion ("1" -> "1.0"), older ones
 * keep the exporter's text ("1"); the regex accepts both.
 */
export function leMatcher(ms: number): string {
  const s = num(ms / 1000);
  return Number.isInteger(ms / 1000) ? `le=~"${s}(\\\\.0)?"` : `le="${s}"`;
}

function errorRatio(m: string, w: string): string {
  return `sum(rate(nginx_ingress_controller_requests{${m},status=~"5.."}[${w}]))\n` + `  /\n  sum(rate(nginx_ingress_controller_requests{${m}}[${w}]))`;
}

function slowRatio(m: string, w: string, ms: number): string {
  const count = `sum(rate(nginx_ingress_controller_request_duration_seconds_count{${m}}[${w}]))`;
  const fast = `sum(rate(nginx_ingress_controller_request_duration_seconds_bucket{${m},${leMatcher(ms)}}[${w}]))`;
  return `(\n  ${count}\n  -\n  ${fast}\n)\n  /\n  ${count}`;
}

/** Dashboard uid of an app: `<cluster>-<app>`, shortened with a hash past Grafana's 40 characters. */
export function appDashboardUid(cluster: string, app: string): string {
  return shortUid(`${cluster}-${app}`);
}

export function shortUid(uid: string): string {
  if (uid.length <= 40) return uid;
  // FNV-1a, stable across runs: the uid is the dashboard's URL and must not move.
  let h = 0x811c9dc5;
  for (const c of uid) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return `${uid.slice(0, 31)}-${h.toString(16).padStart(8, "0")}`;
}

function appRules(cluster: string, t: AppTarget, o: Required<SloRuleOptions>): AlertRule[] {
  const slo = resolveSlo(t.app, t.slo);
  const m = ingressMatchers(t, o.ingressNamespaceLabel);
  const busy = `sum(rate(nginx_ingress_controller_requests{${m}}[5m])) > ${num(o.minRequestRate)}`;
  const link = o.dashboardUrl(appDashboardUid(cluster, t.app));
  const labels = (severity: string) => ({ severity, cluster, app: t.app, namespace: t.namespace });
  const out: AlertRule[] = [];
  const budgets = [
    { alert: "AppErrorBudgetBurn", budget: 1 - slo.availability, ratio: (w: string) => errorRatio(m, w), what: "5xx" },
    { alert: "AppLatencyBudgetBurn", budget: 0.01, ratio: (w: string) => slowRatio(m, w, slo.latencyP99Ms), what: `slower than ${slo.latencyP99Ms}ms` },
  ];
  for (const b of budgets) {
    for (const w of BURN_WINDOWS) {
      const limit = num(w.factor * b.budget);
      out.push({
        alert: b.alert,
        // Both windows must burn: the long one proves it matters, the short one
        // that it is still happening (so the alert resolves soon after a fix).
        expr: `(\n${b.ratio(w.long)}\n) > ${limit}\nand\n(\n${b.ratio(w.short)}\n) > ${limit}\nand\n${busy}`,
        ...(w.severity === "warning" ? { for: "15m" } : { for: "2m" }),
        labels: labels(w.severity),
        annotations: {
          summary: `${t.namespace}/${t.app} burns its ${b.alert === "AppErrorBudgetBurn" ? "error" : "latency"} budget ${w.factor}x too fast in cluster ${cluster}`,
          description:
            `{{ $value | humanizePercentage }} of requests to ${t.namespace}/${t.app} were ${b.what} over the last ${w.long} ` +
            `(and still over the last ${w.short}); the budget is ${num(b.budget * 100)}%, this pace spends a 30-day budget in ${num(720 / w.factor)}h.`,
          dashboard: link,
        },
      });
    }
  }
  return out;
}

/** One rule group per app, named `slo-<namespace>-<app>.<cluster>`. */
export function sloRuleGroups(cluster: string, targets: AppTarget[], opts: SloRuleOptions = {}): RuleGroup[] {
  if (!DNS_LABEL.test(cluster ?? "")) throw new Error(`slo rules: cluster must be a DNS label, got ${JSON.stringify(cluster)}`);
  const o: Required<SloRuleOptions> = {
    ingressNamespaceLabel: opts.ingressNamespaceLabel ?? "exported_namespace",
    minRequestRate: opts.minRequestRate ?? 0.5,
    dashboardUrl: opts.dashboardUrl ?? ((uid) => `/d/${uid}`),
  };
  return targets.map((t) => ({ name: `slo-${t.namespace}-${t.app}.${cluster}`, rules: appRules(cluster, t, o) }));
}
