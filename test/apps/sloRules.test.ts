// The SLO alerts, judged by Prometheus: `promtool check rules` parses every
// group, and `promtool test rules` replays synthetic ingress-nginx series to
// prove each burn-rate alert fires on a burst and stays quiet on a normal day.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { appDashboardUid, leMatcher, resolveSlo, shortUid, sloRuleGroups } from "../../components/apps/sloRules";
import { alertmanagerConfig } from "../../components/k8s/monitoringValues";
import { promtool } from "../support/promtool";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "slo-rules-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const APP = { app: "order-service", namespace: "commerce", slo: { availability: 0.999, latencyP99Ms: 500 } };
const groups = sloRuleGroups("prod1", [APP, { app: "supply-chain", namespace: "supply" }], { dashboardUrl: (uid) => `https://grafana.example.com/d/${uid}` });

const req = (status: string, canary = "") =>
  `nginx_ingress_controller_requests{namespace="ingress-nginx",exported_namespace="commerce",ingress="order-service",status="${status}",canary="${canary}"}`;
/** Per-minute counter increments over 7h (enough for the 6h window). */
const series = (s: string, perMinute: number, minutes = 420) => ({ series: s, values: `0+${perMinute}x${minutes}` });
/** `before` per minute for `calm` minutes, then `after` per minute for `burst` minutes. */
const burst = (s: string, before: number, after: number, calm: number, burstMin: number) => ({
  series: s,
  values: `0+${before}x${calm} ${before * calm + after}+${after}x${burstMin - 1}`,
});
const bucket = (le: string, perMinute: number) =>
  series(
    `nginx_ingress_controller_request_duration_seconds_bucket{namespace="ingress-nginx",exported_namespace="commerce",ingress="order-service",le="${le}"}`,
    perMinute,
  );
const count = (perMinute: number) =>
  series(`nginx_ingress_controller_request_duration_seconds_count{namespace="ingress-nginx",exported_namespace="commerce",ingress="order-service"}`, perMinute);

const critical = { severity: "critical", cluster: "prod1", app: "order-service", namespace: "commerce" };
const warning = { ...critical, severity: "warning" };

describe("SLO rules", () => {
  it("one group per app with a fast (critical) and a slow (warning) rule for errors and for latency, all accepted by promtool check rules", () => {
    expect(groups.map((g) => g.name)).toEqual(["slo-commerce-order-service.prod1", "slo-supply-supply-chain.prod1"]);
    for (const g of groups) {
      expect(g.rules.map((r) => `${r.alert}/${r.labels.severity}`)).toEqual([
        "AppErrorBudgetBurn/critical",
        "AppErrorBudgetBurn/warning",
        "AppLatencyBudgetBurn/critical",
        "AppLatencyBudgetBurn/warning",
      ]);
    }
    fs.writeFileSync(path.join(dir, "slo.yaml"), stringify({ groups }));
    const r = promtool(["check", "rules", "slo.yaml"], dir);
    expect(r.out).toContain("SUCCESS: 8 rules found");
    expect(r.status).toBe(0);
  });

  it("labels alerts with app, namespace, cluster and links the app's dashboard", () => {
    const r = groups[0].rules[0];
    expect(r.labels).toEqual(critical);
    expect(r.annotations.dashboard).toBe("https://grafana.example.com/d/prod1-order-service");
    // Severities the Alertmanager route sends to DingTalk: everything but the silent alerts goes to the bridge.
    const route = alertmanagerConfig().route as { receiver: string; routes: { matchers: string[] }[] };
    expect(route.receiver).toBe("dingtalk");
    expect(JSON.stringify(route.routes)).not.toMatch(/severity/);
  });

  it("fires and stays quiet as it should (promtool test rules)", () => {
    const tests = {
      rule_files: ["slo.yaml"],
      evaluation_interval: "1m",
      tests: [
        {
          // A giveaway: 600 req/min for 7h with 0.05% 5xx, then 10% 5xx for the last 20 minutes.
          interval: "1m",
          input_series: [burst(req("200"), 600, 540, 400, 20), burst(req("500"), 0.3, 60, 400, 20), bucket("0.5", 600), count(600)],
          alert_rule_test: [
            { eval_time: "418m", alertname: "AppErrorBudgetBurn", exp_alerts: [{ exp_labels: critical }] },
            { eval_time: "418m", alertname: "AppLatencyBudgetBurn", exp_alerts: [] },
          ],
        },
        {
          // A normal day: 0.05% 5xx (half the 0.1% budget) and every request within 500ms: silence.
          interval: "1m",
          input_series: [series(req("200"), 600), series(req("500"), 0.3), bucket("0.5", 600), count(600)],
          alert_rule_test: [
            { eval_time: "418m", alertname: "AppErrorBudgetBurn", exp_alerts: [] },
            { eval_time: "418m", alertname: "AppLatencyBudgetBurn", exp_alerts: [] },
          ],
        },
        {
          // A slow leak: 1% 5xx for 7h (10x the budget) does not page (under 14.4x) but warns (> 6x over 6h and 30m).
          interval: "1m",
          input_series: [series(req("200"), 594), series(req("500"), 6), bucket("0.5", 600), count(600)],
          alert_rule_test: [{ eval_time: "418m", alertname: "AppErrorBudgetBurn", exp_alerts: [{ exp_labels: warning }] }],
        },
        {
          // Latency: 20% of requests over 500ms for 7h burns 20x the 1% budget: pages and warns.
          interval: "1m",
          input_series: [series(req("200"), 600), bucket("0.5", 480), count(600)],
          alert_rule_test: [
            {
              eval_time: "418m",
              alertname: "AppLatencyBudgetBurn",
              exp_alerts: [{ exp_labels: critical }, { exp_labels: warning }],
            },
          ],
        },
        {
          // Too quiet to judge: 2 of 6 requests a minute fail (0.1 req/s, under 0.5 req/s): no page at 3 a.m.
          interval: "1m",
          input_series: [series(req("200"), 4), series(req("500"), 2), bucket("0.5", 6), count(6)],
          alert_rule_test: [{ eval_time: "418m", alertname: "AppErrorBudgetBurn", exp_alerts: [] }],
        },
      ],
    };
    // promtool compares annotations exactly ($value differs per test); they are checked above, so the replayed copy has none.
    const bare = groups.map((g) => ({ ...g, rules: g.rules.map(({ annotations: _a, ...r }) => r) }));
    fs.writeFileSync(path.join(dir, "slo.yaml"), stringify({ groups: bare }));
    fs.writeFileSync(path.join(dir, "slo.test.yaml"), stringify(tests));
    const r = promtool(["test", "rules", "slo.test.yaml"], dir);
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("defaults, and one error naming the key on a bad threshold", () => {
    expect(resolveSlo("x")).toEqual({ availability: 0.999, latencyP99Ms: 500 });
    expect(resolveSlo("x", { latencyP99Ms: 1000 })).toEqual({ availability: 0.999, latencyP99Ms: 1000 });
    expect(() => resolveSlo("order-service", { availability: 1 })).toThrow("platform:apps.order-service.slo.availability must be a ratio");
    expect(() => resolveSlo("order-service", { latencyP99Ms: 300 })).toThrow(/platform:apps.order-service.slo.latencyP99Ms must be a bucket bound .* got 300/);
  });

  it("matches Prometheus 3's normalised le values as well as the exporter's", () => {
    expect(leMatcher(500)).toBe('le="0.5"');
    expect(leMatcher(1000)).toBe('le=~"1(\\\\.0)?"');
    expect(appDashboardUid("prod1", "order-service")).toBe("prod1-order-service");
    const long = shortUid(`prod1-${"a".repeat(40)}`);
    expect(long.length).toBeLessThanOrEqual(40);
    expect(shortUid(`prod1-${"a".repeat(40)}`)).toBe(long);
  });
});
