// The alert rules are judged by Prometheus itself: `promtool check rules`
// parses them, and `promtool test rules` replays made-up metric series through
// the real rule engine to prove which alerts fire and which stay quiet.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { DEFAULT_THRESHOLDS, platformAlertRules, RuleGroup } from "../../components/k8s/alertRules";
import { promtool } from "../support/promtool";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "alert-rules-"));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function writeRules(name: string, groups: RuleGroup[]): string {
  fs.writeFileSync(path.join(dir, name), stringify({ groups }));
  return name;
}

const CLUSTER = "prod1";
const common = { cluster: CLUSTER };

// Ingress traffic as ingress-nginx exports it once scraped: the ingress's
// namespace arrives as exported_namespace, `namespace` is the controller's.
function ingressSeries(ingress: string, status: string, perMinute: number, minutes = 20) {
  return {
    series: `nginx_ingress_controller_requests{namespace="ingress-nginx",exported_namespace="shop",` + `ingress="${ingress}",status="${status}",method="GET"}`,
    values: `0+${perMinute}x${minutes}`,
  };
}

const ingressLabels = (ingress: string) => ({ exported_namespace: "shop", ingress });

function unitTests(rulesFile: string) {
  return {
    rule_files: [rulesFile],
    evaluation_interval: "1m",
    tests: [
      {
        // 10% of 10 req/s answered 500 for 10+ minutes: pages.
        interval: "1m",
        input_series: [ingressSeries("order", "200", 540), ingressSeries("order", "500", 60)],
        alert_rule_test: [
          {
            eval_time: "10m",
            alertname: "IngressHigh5xxRate",
            exp_alerts: [
              {
                exp_labels: { severity: "critical", ...common, ...ingressLabels("order") },
                exp_annotations: {
                  summary: "Ingress shop/order answers too many 5xx in cluster prod1",
                  description: "10% of requests to ingress shop/order got a 5xx over the last 5m (threshold 5%).",
                },
              },
            ],
          },
          { eval_time: "10m", alertname: "IngressHigh4xxRate", exp_alerts: [] },
        ],
      },
      {
        // 1% 5xx is below the 5% threshold: quiet.
        interval: "1m",
        input_series: [ingressSeries("catalog", "200", 594), ingressSeries("catalog", "503", 6)],
        alert_rule_test: [{ eval_time: "10m", alertname: "IngressHigh5xxRate", exp_alerts: [] }],
      },
      {
        // Half the requests fail, but at 0.1 req/s: below minIngressRequestRate, quiet.
        interval: "1m",
        input_series: [ingressSeries("admin", "200", 3), ingressSeries("admin", "502", 3)],
        alert_rule_test: [{ eval_time: "15m", alertname: "IngressHigh5xxRate", exp_alerts: [] }],
      },
      {
        // No traffic at all: 0/0 must not fire.
        interval: "1m",
        input_series: [ingressSeries("idle", "200", 0), ingressSeries("idle", "500", 0)],
        alert_rule_test: [{ eval_time: "15m", alertname: "IngressHigh5xxRate", exp_alerts: [] }],
      },
      {
        // 30% 404s for 15m: the 4xx warning, and not the 5xx page.
        interval: "1m",
        input_series: [ingressSeries("search", "200", 420), ingressSeries("search", "404", 180)],
        alert_rule_test: [
          {
            eval_time: "15m",
            alertname: "IngressHigh4xxRate",
            exp_alerts: [
              {
                exp_labels: { severity: "warning", ...common, ...ingressLabels("search") },
                exp_annotations: {
                  summary: "Ingress shop/search answers too many 4xx in cluster prod1",
                  description:
                    "30% of requests to ingress shop/search got a 4xx over the last 5m (threshold 20%); " + "often a broken client release or a removed route.",
                },
              },
            ],
          },
          { eval_time: "15m", alertname: "IngressHigh5xxRate", exp_alerts: [] },
        ],
      },
      {
        // order restarts 5 times within 15m (loop); cart twice (not a loop).
        interval: "1m",
        input_series: [
          {
            series: 'kube_pod_container_status_restarts_total{job="kube-state-metrics",namespace="shop",' + 'pod="order-7d9f8-x2k4q",container="order"}',
            values: "0x4 1 2 3 4 5 5 5 5 5 5 5 5",
          },
          {
            series: 'kube_pod_container_status_restarts_total{job="kube-state-metrics",namespace="shop",' + 'pod="cart-5c6b7-p9z8r",container="cart"}',
            values: "0x4 1 1 1 2 2 2 2 2 2 2 2 2",
          },
        ],
        alert_rule_test: [
          {
            eval_time: "15m",
            alertname: "PodRestartLoop",
            exp_alerts: [
              {
                exp_labels: {
                  severity: "warning",
                  ...common,
                  namespace: "shop",
                  pod: "order-7d9f8-x2k4q",
                  container: "order",
                },
                exp_annotations: {
                  summary: "Container shop/order-7d9f8-x2k4q/order is restarting in a loop",
                  description: "Container order of pod shop/order-7d9f8-x2k4q restarted 5 times in 15m in cluster prod1 (threshold 3).",
                },
              },
            ],
          },
        ],
      },
      {
        // prod1-general-3 goes NotReady at 2m; prod1-general-2 reports DiskPressure
        // and MemoryPressure from 1m; prod1-general-1 stays healthy.
        interval: "1m",
        input_series: [
          { series: 'kube_node_status_condition{node="prod1-general-1",condition="Ready",status="true"}', values: "1x12" },
          { series: 'kube_node_status_condition{node="prod1-general-2",condition="Ready",status="true"}', values: "1x12" },
          { series: 'kube_node_status_condition{node="prod1-general-3",condition="Ready",status="true"}', values: "1 1 0x10" },
          { series: 'kube_node_status_condition{node="prod1-general-3",condition="Ready",status="false"}', values: "0 0 1x10" },
          { series: 'kube_node_status_condition{node="prod1-general-1",condition="DiskPressure",status="true"}', values: "0x12" },
          { series: 'kube_node_status_condition{node="prod1-general-2",condition="DiskPressure",status="true"}', values: "0 1x11" },
          { series: 'kube_node_status_condition{node="prod1-general-1",condition="MemoryPressure",status="true"}', values: "0x12" },
          { series: 'kube_node_status_condition{node="prod1-general-2",condition="MemoryPressure",status="true"}', values: "0 1x11" },
        ],
        alert_rule_test: [
          {
            eval_time: "10m",
            alertname: "NodeNotReady",
            exp_alerts: [
              {
                exp_labels: { severity: "critical", ...common, node: "prod1-general-3" },
                exp_annotations: {
                  summary: "Node prod1-general-3 is not Ready in cluster prod1",
                  description: "Node prod1-general-3 has not been Ready for 5m; its pods are being evicted or are unreachable.",
                },
              },
            ],
          },
          {
            eval_time: "10m",
            alertname: "NodeDiskPressure",
            exp_alerts: [
              {
                exp_labels: { severity: "warning", ...common, node: "prod1-general-2" },
                exp_annotations: {
                  summary: "Node prod1-general-2 has DiskPressure in cluster prod1",
                  description:
                    "Node prod1-general-2 reports DiskPressure: the kubelet is garbage-collecting images and evicting pods. " +
                    "Check container logs and images on its disk.",
                },
              },
            ],
          },
          {
            eval_time: "10m",
            alertname: "NodeMemoryPressure",
            exp_alerts: [
              {
                exp_labels: { severity: "warning", ...common, node: "prod1-general-2" },
                exp_annotations: {
                  summary: "Node prod1-general-2 has MemoryPressure in cluster prod1",
                  description:
                    "Node prod1-general-2 reports MemoryPressure: the kubelet is evicting pods. " +
                    "Check JVM heap sizes (-Xmx) against the pods' memory limits.",
                },
              },
            ],
          },
          // A NotReady blip shorter than `for: 5m` does not page.
          { eval_time: "4m", alertname: "NodeNotReady", exp_alerts: [] },
        ],
      },
      {
        // order: 2 of 20 replicas unavailable for 15m; pay: all replicas gone.
        interval: "1m",
        input_series: [
          { series: 'kube_deployment_status_replicas_unavailable{namespace="shop",deployment="order"}', values: "0 2x15" },
          { series: 'kube_deployment_spec_replicas{namespace="shop",deployment="order"}', values: "20x15" },
          { series: 'kube_deployment_status_replicas_available{namespace="shop",deployment="order"}', values: "20 18x15" },
          { series: 'kube_deployment_status_replicas_unavailable{namespace="shop",deployment="pay"}', values: "0 4x15" },
          { series: 'kube_deployment_spec_replicas{namespace="shop",deployment="pay"}', values: "4x15" },
          { series: 'kube_deployment_status_replicas_available{namespace="shop",deployment="pay"}', values: "4 0x15" },
        ],
        alert_rule_test: [
          {
            eval_time: "15m",
            alertname: "DeploymentReplicasUnavailable",
            exp_alerts: [
              ["order", 2],
              ["pay", 4],
            ].map(([d, n]) => ({
              exp_labels: { severity: "warning", ...common, namespace: "shop", deployment: d },
              exp_annotations: {
                summary: `Deployment shop/${d} has unavailable replicas`,
                description: `${n} replicas of deployment shop/${d} have been unavailable for 10m in cluster prod1.`,
              },
            })),
          },
          {
            eval_time: "15m",
            alertname: "DeploymentNoReplicasAvailable",
            exp_alerts: [
              {
                exp_labels: { severity: "critical", ...common, namespace: "shop", deployment: "pay" },
                exp_annotations: {
                  summary: "Deployment shop/pay has no available replica",
                  description: "Deployment shop/pay wants 4 replicas and none has been available for 3m in cluster prod1: the app is down.",
                },
              },
            ],
          },
        ],
      },
    ],
  };
}

describe("platformAlertRules", () => {
  const groups = platformAlertRules(CLUSTER);
  const ruleCount = groups.reduce((n, g) => n + g.rules.length, 0);

  it("covers the alerts ops asked for, each with severity, cluster, summary and description", () => {
    const names = groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(names).toEqual(
      expect.arrayContaining([
        "IngressHigh5xxRate",
        "IngressHigh4xxRate",
        "PodRestartLoop",
        "DeploymentReplicasUnavailable",
        "NodeNotReady",
        "NodeDiskPressure",
        "NodeMemoryPressure",
      ]),
    );
    expect(new Set(groups.map((g) => g.name)).size).toBe(groups.length);
    for (const r of groups.flatMap((g) => g.rules)) {
      expect(["critical", "warning"]).toContain(r.labels.severity);
      expect(r.labels.cluster).toBe(CLUSTER);
      expect(r.annotations.summary).toBeTruthy();
      expect(r.annotations.description).toMatch(/\{\{ \$(labels|value)/);
    }
  });

  it("passes `promtool check rules` with the right rule count", () => {
    const file = writeRules("rules.yaml", groups);
    const r = promtool(["check", "rules", file], dir);
    expect(r.out).toContain(`SUCCESS: ${ruleCount} rules found`);
    expect(r.status).toBe(0);
  });

  it("`promtool check rules` really rejects a broken expression (the check can fail)", () => {
    const broken = structuredClone(groups);
    broken[0].rules[0].expr = "sum by (ingress (rate(nginx_ingress_controller_requests[5m]))";
    const r = promtool(["check", "rules", writeRules("broken.yaml", broken)], dir);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/parse error|unexpected/i);
  });

  it("fires and stays quiet as expected under `promtool test rules`", () => {
    const rules = writeRules("rules-default.yaml", groups);
    fs.writeFileSync(path.join(dir, "tests.yaml"), stringify(unitTests(rules)));
    const r = promtool(["test", "rules", "tests.yaml"], dir);
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("the same unit tests fail when the 5xx threshold is above the traffic's 10% (the test can fail)", () => {
    const lax = platformAlertRules(CLUSTER, { ...DEFAULT_THRESHOLDS, ingress5xxRatio: 0.5 });
    const rules = writeRules("rules-lax.yaml", lax);
    fs.writeFileSync(path.join(dir, "tests-lax.yaml"), stringify(unitTests(rules)));
    const r = promtool(["test", "rules", "tests-lax.yaml"], dir);
    expect(r.status).not.toBe(0);
    const failed = [...r.out.matchAll(/alertname: (\w+), time/g)].map((m) => m[1]);
    expect(failed).toEqual(["IngressHigh5xxRate"]);
  });

  it("puts custom thresholds into the expressions", () => {
    const g = platformAlertRules("dev", { ingress5xxRatio: 0.1, ingress4xxRatio: 0.3, restartsIn15m: 7 });
    const byName = Object.fromEntries(g.flatMap((x) => x.rules).map((r) => [r.alert, r]));
    expect(byName.IngressHigh5xxRate.expr).toMatch(/\) > 0\.1\n/);
    expect(byName.IngressHigh4xxRate.expr).toMatch(/\) > 0\.3\n/);
    expect(byName.PodRestartLoop.expr).toMatch(/>= 7$/);
    expect(byName.NodeNotReady.labels.cluster).toBe("dev");
  });

  it("can group ingress alerts by `namespace` when the ServiceMonitor honors labels", () => {
    const g = platformAlertRules(CLUSTER, DEFAULT_THRESHOLDS, { ingressNamespaceLabel: "namespace" });
    expect(g[0].rules[0].expr).toContain("sum by (namespace, ingress)");
    expect(g[0].rules[0].expr).not.toContain("exported_namespace");
  });

  it.each([
    [{ ingress5xxRatio: 0 }, "ingress5xxRatio"],
    [{ ingress5xxRatio: 1 }, "ingress5xxRatio"],
    [{ ingress5xxRatio: Number.NaN }, "ingress5xxRatio"],
    [{ ingress4xxRatio: 1.5 }, "ingress4xxRatio"],
    [{ ingress4xxRatio: -0.1 }, "ingress4xxRatio"],
    [{ restartsIn15m: 0 }, "restartsIn15m"],
    [{ restartsIn15m: 2.5 }, "restartsIn15m"],
    [{ minIngressRequestRate: -1 }, "minIngressRequestRate"],
  ])("rejects thresholds %p naming %s", (patch, field) => {
    expect(() => platformAlertRules(CLUSTER, { ...DEFAULT_THRESHOLDS, ...patch })).toThrow(field);
  });

  it("rejects a cluster name that cannot be a label value we route on", () => {
    expect(() => platformAlertRules("")).toThrow("cluster");
    expect(() => platformAlertRules("Prod 1")).toThrow("cluster");
  });
});
