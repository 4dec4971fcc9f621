// The tracing alerts (components/k8s/tracing.ts tracingAlertRules) judged by Prometheus: `promtool check
// rules` and `promtool test rules`, with OAP's own series as OAP 10.1.0 exports them
// (`trace_in_latency_count{protocol="grpc"}`, TraceSegmentReportServiceHandler.java at apache/skywalking
// v10.1.0) and ingress-nginx's request counter; and the PrometheusRule each app stack plans.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { tracingAlertRules } from "../../components/k8s/tracing";
import { ofType, plan } from "../support/offline";
import { promtool } from "../support/promtool";

let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "tracing-alerts-"))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const APPS = [
  { app: "order-service", namespace: "commerce" },
  { app: "supply-chain", namespace: "scm" },
];
/** OAP's segment counter as the operator's ServiceMonitor labels it (job = the Service, namespace, pod). */
const SEGMENTS = 'trace_in_latency_count{job="skywalking-oap",namespace="tracing",pod="skywalking-oap-0",protocol="grpc"}';
const OAP_UP = 'up{job="skywalking-oap",namespace="tracing",pod="skywalking-oap-0"}';
/** supply-chain's Ingress takes 10 requests a minute throughout. */
const REQUESTS = 'nginx_ingress_controller_requests{exported_namespace="scm",ingress="supply-chain",status="200"}';
const ALERT_DESCRIPTION =
  "The traced apps' Ingresses took requests for 15m, but OAP received no trace segment over gRPC: the agents are not reporting " +
  "(agent missing, skywalking-oap.tracing.svc:11800 unreachable, or OAP rejecting). Check an app pod's log for the agent's `SW_` lines and the OAP pods' log.";

function write(name: string, doc: unknown): string {
  fs.writeFileSync(path.join(dir, name), stringify(doc));
  return name;
}

test("the rules as planned for prod1's apps: literal expressions", () => {
  const [group] = tracingAlertRules("prod1", APPS);
  expect(group.name).toBe("platform-tracing.prod1");
  expect(group.rules.map((r) => [r.alert, r.expr, r.for, r.labels.severity])).toEqual([
    ["SkyWalkingOAPDown", 'absent(up{job="skywalking-oap",namespace="tracing"} == 1)', "10m", "critical"],
    [
      "TracesNotReceived",
      'sum(rate(trace_in_latency_count{job="skywalking-oap",namespace="tracing",protocol="grpc"}[15m])) == 0\n' +
        "and on()\n" +
        'sum(rate(nginx_ingress_controller_requests{exported_namespace="commerce",ingress=~"order-service|order-service-canary"}[15m]) or ' +
        'rate(nginx_ingress_controller_requests{exported_namespace="scm",ingress=~"supply-chain|supply-chain-canary"}[15m])) > 0',
      "15m",
      "warning",
    ],
  ]);
  // Without traced apps, only the OAP-down alert.
  expect(tracingAlertRules("dev", [])[0].rules.map((r) => r.alert)).toEqual(["SkyWalkingOAPDown"]);
});

test("promtool check rules accepts them", () => {
  write("rules.yaml", { groups: tracingAlertRules("prod1", APPS) });
  const r = promtool(["check", "rules", "rules.yaml"], dir);
  expect(r.out).toContain("SUCCESS: 2 rules found");
  expect(r.status).toBe(0);
});

test("promtool test rules: fires when segments stop while the apps take requests, quiet while they arrive or the apps are idle", () => {
  write("rules.yaml", { groups: tracingAlertRules("prod1", APPS) });
  const common = { severity: "warning", cluster: "prod1" };
  write("tests.yaml", {
    rule_files: ["rules.yaml"],
    evaluation_interval: "1m",
    tests: [
      {
        // Segments arrive for 30 minutes, then stop (the counter stays at 3000); requests go on.
        interval: "1m",
        input_series: [
          { series: SEGMENTS, values: "0+100x30 3000x60" },
          { series: REQUESTS, values: "0+10x90" },
          { series: OAP_UP, values: "1x90" },
        ],
        alert_rule_test: [
          // Still arriving: quiet.
          { eval_time: "25m", alertname: "TracesNotReceived", exp_alerts: [] },
          // 15m window without an increase from 45m, pending 15m: not yet at 55m.
          { eval_time: "55m", alertname: "TracesNotReceived", exp_alerts: [] },
          {
            eval_time: "75m",
            alertname: "TracesNotReceived",
            exp_alerts: [
              { exp_labels: common, exp_annotations: { summary: "SkyWalking OAP receives no traces in cluster prod1", description: ALERT_DESCRIPTION } },
            ],
          },
          { eval_time: "75m", alertname: "SkyWalkingOAPDown", exp_alerts: [] },
        ],
      },
      {
        // No request reaches the traced apps (a quiet night): no segment is expected, no alert.
        interval: "1m",
        input_series: [
          { series: SEGMENTS, values: "500x90" },
          { series: REQUESTS, values: "700x90" },
          { series: OAP_UP, values: "1x90" },
        ],
        alert_rule_test: [{ eval_time: "80m", alertname: "TracesNotReceived", exp_alerts: [] }],
      },
      {
        // OAP down: no healthy target for 10 minutes pages; its counters are gone, so TracesNotReceived stays quiet.
        interval: "1m",
        input_series: [
          { series: OAP_UP, values: "1x20 0x40" },
          { series: REQUESTS, values: "0+10x60" },
        ],
        alert_rule_test: [
          { eval_time: "25m", alertname: "SkyWalkingOAPDown", exp_alerts: [] },
          {
            eval_time: "40m",
            alertname: "SkyWalkingOAPDown",
            exp_alerts: [
              {
                exp_labels: { severity: "critical", cluster: "prod1" },
                exp_annotations: {
                  summary: "No SkyWalking OAP answers in cluster prod1",
                  description:
                    "Prometheus has scraped no healthy OAP (service skywalking-oap in namespace tracing) for 10 minutes: the apps' agents buffer " +
                    "and then drop their segments. `kubectl -n tracing get pods -l app=skywalking,component=oap`.",
                },
              },
            ],
          },
          { eval_time: "40m", alertname: "TracesNotReceived", exp_alerts: [] },
        ],
      },
    ],
  });
  const r = promtool(["test", "rules", "tests.yaml"], dir);
  expect(r.out).toContain("SUCCESS");
  expect(r.status).toBe(0);
});

test("promtool test rules really fails a wrong expectation (the check can fail)", () => {
  write("rules.yaml", { groups: tracingAlertRules("prod1", APPS) });
  write("wrong.yaml", {
    rule_files: ["rules.yaml"],
    evaluation_interval: "1m",
    tests: [
      {
        interval: "1m",
        input_series: [
          { series: SEGMENTS, values: "0+100x90" },
          { series: REQUESTS, values: "0+10x90" },
        ],
        alert_rule_test: [{ eval_time: "75m", alertname: "TracesNotReceived", exp_alerts: [{ exp_labels: { severity: "warning", cluster: "prod1" } }] }],
      },
    ],
  });
  const r = promtool(["test", "rules", "wrong.yaml"], dir);
  expect(r.status).toBe(1);
  expect(r.out).toContain("FAILED");
});

test.each(["dev", "prod1"])("%s plans the tracing PrometheusRule beside OAP, for its traced apps", async (stack) => {
  const rules = ofType(await plan(stack), "kubernetes:monitoring.coreos.com/v1:PrometheusRule").filter(
    (r) => (r.inputs.metadata as { name: string }).name === "platform-tracing",
  );
  expect(rules).toHaveLength(1);
  const m = rules[0].inputs.metadata as { namespace: string; labels: Record<string, string> };
  expect(m.namespace).toBe("tracing");
  expect(m.labels).toEqual({ release: "kube-prometheus-stack", "platform/cluster": stack });
  const groups = (rules[0].inputs.spec as { groups: { name: string; rules: { alert: string; expr: string }[] }[] }).groups;
  expect(groups.map((g) => g.name)).toEqual([`platform-tracing.${stack}`]);
  expect(groups[0].rules.map((r) => r.alert)).toEqual(["SkyWalkingOAPDown", "TracesNotReceived"]);
  // The stack's three apps are traced: order-service and distribution-center in commerce, supply-chain in scm.
  expect(groups[0].rules[1].expr).toContain(
    'exported_namespace="commerce",ingress=~"order-service|order-service-canary|distribution-center|distribution-center-canary"',
  );
  expect(groups[0].rules[1].expr).toContain('exported_namespace="scm",ingress=~"supply-chain|supply-chain-canary"');
});
