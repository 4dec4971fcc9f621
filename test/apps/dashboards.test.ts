// The dashboards: valid Grafana JSON by structure, every panel and annotation
// query accepted by `promtool check rules` (wrapped as record rules named after
// the panel), the key numbers (QPS, 5xx ratio, p99 from buckets) computed by
// `promtool test rules` on given series, and one dashboard per app of every
// stack in the plan, shipped as sidecar ConfigMaps.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { appDashboard, clusterDashboards, Dashboard, dashboardExpressions } from "../../components/apps/dashboards";
import { DASHBOARD_SIDECAR } from "../../components/k8s/monitoringValues";
import { loadEngineConfig } from "../../components/config/stackFiles";
import { ofType, plan, STACK_NAMES } from "../support/offline";
import { promtool } from "../support/promtool";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "dashboards-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const APPS = [
  { app: "order-service", namespace: "commerce", canary: true, autoscale: true },
  { app: "supply-chain", namespace: "supply" },
];
const dashboards = clusterDashboards("prod1", APPS);

function structural(d: Dashboard, cluster: string): void {
  expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
  expect(d.uid.length).toBeLessThanOrEqual(40);
  expect(d.uid).toMatch(/^[a-z0-9-]+$/);
  const ids = d.panels.map((p) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
  const ds = d.templating.list.find((v) => v.name === "datasource");
  expect(ds).toMatchObject({ type: "datasource", query: "prometheus" });
  for (const p of d.panels) {
    expect(p.datasource).toEqual({ type: "prometheus", uid: "${datasource}" });
    expect(p.targets.length).toBeGreaterThan(0);
    expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    for (const t of p.targets) expect(t.datasource.uid).toBe("${datasource}");
  }
  // Each cluster's own Prometheus: a cluster name in a query would be a copy-paste from another cluster.
  for (const e of dashboardExpressions(d)) expect(e.expr).not.toContain(cluster);
  // Grafana JSON survives a round trip.
  expect(JSON.parse(JSON.stringify(d))).toEqual(d);
}

describe("dashboards", () => {
  it("a fleet overview and one per app, structurally valid Grafana JSON with unique uids", () => {
    expect(dashboards.map((d) => d.uid)).toEqual(["prod1-fleet", "prod1-order-service", "prod1-supply-chain"]);
    for (const d of dashboards) structural(d, "prod1");
    const titles = (d: Dashboard) => d.panels.map((p) => p.title);
    expect(titles(dashboards[1])).toEqual(expect.arrayContaining(["HPA current vs max", "Canary vs stable requests/s", "JVM heap used", "Image running"]));
    // Without a canary or HPA those panels are left out rather than left empty.
    expect(titles(dashboards[2])).not.toContain("HPA current vs max");
    expect(titles(dashboards[2])).not.toContain("Canary vs stable requests/s");
    expect(dashboards[1].annotations.list.map((a) => a.name)).toContain("Releases");
  });

  it("every panel and annotation query passes promtool check rules", () => {
    const groups = dashboards.map((d) => ({ name: d.uid, rules: dashboardExpressions(d).map((e) => ({ record: e.name, expr: e.expr })) }));
    const total = groups.reduce((n, g) => n + g.rules.length, 0);
    const targets = dashboards.reduce((n, d) => n + d.panels.reduce((k, p) => k + p.targets.length, 0) + d.annotations.list.filter((a) => a.expr).length, 0);
    expect(total).toBe(targets);
    fs.writeFileSync(path.join(dir, "panels.yaml"), stringify({ groups }));
    const r = promtool(["check", "rules", "panels.yaml"], dir);
    expect(r.out).toContain(`SUCCESS: ${total} rules found`);
    expect(r.status).toBe(0);
  });

  it("computes QPS, 5xx ratio, p99 and the canary split from given series (promtool test rules)", () => {
    const d = appDashboard("prod1", APPS[0]);
    const expr = (title: string, ref = 0) => d.panels.find((p) => p.title === title)!.targets[ref].expr;
    const lbl = `namespace="ingress-nginx",exported_namespace="commerce",ingress="order-service"`;
    // Per minute: 540 stable 200s, 30 stable 500s, 30 canary 200s: 10 req/s, 5% 5xx.
    // Latency: of 600 requests a minute, 300 <= 0.1s, 588 <= 0.25s, 600 <= 0.5s, so p99 lies
    // in (0.25, 0.5]: 0.25 + (594 - 588) / (600 - 588) * 0.25 = 0.375s.
    const reqs = [
      { series: `nginx_ingress_controller_requests{${lbl},status="200",canary=""}`, values: "0+540x20" },
      { series: `nginx_ingress_controller_requests{${lbl},status="500",canary=""}`, values: "0+30x20" },
      { series: `nginx_ingress_controller_requests{${lbl},status="200",canary="commerce-order-service-canary-80"}`, values: "0+30x20" },
      ...[
        ["0.1", 300],
        ["0.25", 588],
        ["0.5", 600],
        ["+Inf", 600],
      ].map(([le, n]) => ({
        series: `nginx_ingress_controller_request_duration_seconds_bucket{${lbl},le="${le}"}`,
        values: `0+${n}x20`,
      })),
      {
        series: `kube_pod_container_info{namespace="commerce",pod="order-service-5d9f7c6b8-x2x7q",container="app",image="harbor/commerce/order-service:v2"}`,
        values: "1x20",
      },
      {
        series: `kube_pod_container_info{namespace="commerce",pod="order-service-canary-7c8d9f-abcde",container="app",image="harbor/commerce/order-service:v3"}`,
        values: "1x20",
      },
      { series: `kube_pod_container_info{namespace="commerce",pod="order-service-api-7c8d9f-abcde",container="app",image="other"}`, values: "1x20" },
    ];
    const tests = {
      rule_files: [],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series: reqs,
          promql_expr_test: [
            { expr: expr("QPS (PV/s)"), eval_time: "10m", exp_samples: [{ labels: "{}", value: 10 }] },
            { expr: expr("5xx ratio"), eval_time: "10m", exp_samples: [{ labels: "{}", value: 0.05 }] },
            { expr: expr("p99 latency"), eval_time: "10m", exp_samples: [{ labels: "{}", value: 0.375 }] },
            { expr: expr("Canary vs stable requests/s", 0), eval_time: "10m", exp_samples: [{ labels: "{}", value: 9.5 }] },
            { expr: expr("Canary vs stable requests/s", 1), eval_time: "10m", exp_samples: [{ labels: "{}", value: 0.5 }] },
            {
              // The app's own pods, stable and canary; order-service-api's pods are another app.
              expr: expr("Image running"),
              eval_time: "10m",
              exp_samples: [
                { labels: `{image="harbor/commerce/order-service:v2"}`, value: 1 },
                { labels: `{image="harbor/commerce/order-service:v3"}`, value: 1 },
              ],
            },
          ],
        },
      ],
    };
    fs.writeFileSync(path.join(dir, "panels.test.yaml"), stringify(tests));
    const r = promtool(["test", "rules", "panels.test.yaml"], dir);
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it.each(STACK_NAMES)("stack %s plans the fleet dashboard and one per app, in the cluster's Grafana folder", async (stack) => {
    const raw = loadEngineConfig(stack).values["platform:apps"];
    const apps = Object.keys(raw ? JSON.parse(raw) : {});
    if (stack !== "host") expect(apps.length).toBeGreaterThan(0);
    const p = await plan(stack);
    const maps = ofType(p, "kubernetes:core/v1:ConfigMap").filter(
      (r) => (r.inputs.metadata as { labels?: Record<string, string> }).labels?.[DASHBOARD_SIDECAR.label] === "1",
    );
    const uids = maps.map((r) => Object.keys(r.inputs.data as object)[0].replace(/\.json$/, ""));
    expect(uids.sort()).toEqual([`${stack}-fleet`, ...apps.map((a) => `${stack}-${a}`)].sort());
    for (const m of maps) {
      expect((m.inputs.metadata as { annotations: Record<string, string> }).annotations[DASHBOARD_SIDECAR.folderAnnotation]).toBe(stack);
      structural(JSON.parse(Object.values(m.inputs.data as Record<string, string>)[0]), stack);
    }
    const rules = ofType(p, "kubernetes:monitoring.coreos.com/v1:PrometheusRule").filter(
      (r) => (r.inputs.metadata as { name: string }).name === "platform-slo",
    );
    expect(rules.length).toBe(apps.length > 0 ? 1 : 0);
    if (apps.length > 0) {
      expect((rules[0].inputs.metadata as { labels: Record<string, string> }).labels.release).toBe("kube-prometheus-stack");
      expect((rules[0].inputs.spec as { groups: unknown[] }).groups.length).toBe(apps.length);
    }
    expect(
      p.artifacts
        .filter((a) => a.kind === "dashboards")
        .map((a) => a.file)
        .sort(),
    ).toEqual(uids.map((u) => `${u}.json`).sort());
  });

  it("a bad SLO threshold is one config error naming the key", async () => {
    await expect(plan("prod1", ['platform:apps.order-service.slo={"latencyP99Ms":300}'])).rejects.toThrow(/order-service.*slo.*latencyP99Ms/);
  });
});
