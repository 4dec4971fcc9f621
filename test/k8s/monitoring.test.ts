// kube-prometheus-stack as planned: retention and storage from config, rules
// and monitors picked up from every namespace, Alertmanager routing judged by
// the real `amtool` (config check and route tests), the PrometheusRule taken
// from the plan and judged by the real `promtool`, the DingTalk bridge's
// objects against the Kubernetes schema, and the robot URL nowhere but in a
// secret.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import type { Plan, PlannedResource } from "../../components/preview/runtime";
import {
  alertmanagerConfig,
  DINGTALK_BRIDGE,
  dingtalkBridgeConfig,
  dingtalkBridgeObjects,
  kubePrometheusStackValues,
  retentionSizeFor,
} from "../../components/k8s/monitoringValues";
import { alertRules, byName, ofType, plan, STACK_NAMES } from "../support/offline";
import { validateK8sObject } from "../support/k8sSchema";
import { MOCK_CERT_PEM } from "../../components/preview/fixtures";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";
const WEBHOOK_PLACEHOLDER = "https://oapi.dingtalk.com/robot/send?access_token=offline-placeholder";
const PROMTOOL = process.env.PROMTOOL ?? "promtool";
const AMTOOL = process.env.AMTOOL ?? "amtool";

/** One overridden plan serves the storage and threshold tests (each plan costs ~2 s). */
const OVERRIDES = [
  "platform:monitoring.storageClass=alicloud-disk-essd",
  "platform:monitoring.retention=45d",
  "platform:monitoring.thresholds.ingress5xxRatio=0.02",
];

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "monitoring-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(tool: string, pkg: string, args: string[]): { status: number; stdout: string; out: string } {
  const r = spawnSync(tool, args, { cwd: dir, encoding: "utf8", timeout: 20_000 });
  // A missing tool is a failure, not a skip: CI installs it.
  if (r.error) throw new Error(`cannot run ${tool} (apt-get install ${pkg}): ${r.error.message}`);
  return { status: r.status ?? -1, stdout: r.stdout, out: `${r.stdout}${r.stderr}` };
}

function kpsRelease(p: Plan): PlannedResource {
  const rs = ofType(p, RELEASE).filter((r) => r.inputs.chart === "kube-prometheus-stack");
  expect(rs).toHaveLength(1);
  return rs[0];
}
const valuesOf = (p: Plan) => kpsRelease(p).inputs.values as Record<string, any>;
const named = (p: Plan, type: string, name: string) => ofType(p, type).filter((r) => (r.inputs.metadata as { name?: string } | undefined)?.name === name);

describe.each(STACK_NAMES)("%s", (stack) => {
  test("one kube-prometheus-stack and one fluent-bit release, pinned, in their namespaces", async () => {
    const p = await plan(stack);
    const release = kpsRelease(p);
    expect(release.inputs).toMatchObject({ name: "kube-prometheus-stack", namespace: "monitoring", version: "87.12.5" });
    expect(release.inputs.repositoryOpts).toEqual({ repo: "https://prometheus-community.github.io/helm-charts" });
    const fluent = ofType(p, RELEASE).filter((r) => r.inputs.chart === "fluent-bit");
    expect(fluent).toHaveLength(1);
    expect(fluent[0].inputs.namespace).toBe("logging");
    expect(valuesOf(p).prometheus.prometheusSpec.externalLabels).toEqual({ cluster: stack });
  });

  test("the DingTalk webhook is only ever a secret", async () => {
    const p = await plan(stack);
    expect(p.secretValues.has(WEBHOOK_PLACEHOLDER)).toBe(true);
    const everything = JSON.stringify(p.resources.map((r) => r.inputs)) + JSON.stringify(p.outputs);
    expect(everything).not.toContain(WEBHOOK_PLACEHOLDER);
    expect(everything).not.toContain("access_token");
    const [secret] = named(p, "kubernetes:core/v1:Secret", "prometheus-webhook-dingtalk-config");
    expect(secret.secretInputs).toContain("stringData");
    expect(kpsRelease(p).secretInputs).toEqual([]);
  });
});

describe("prometheus settings from platform:monitoring", () => {
  test("prod1: 30d retention, a 100Gi claim on the essd class, TSDB capped below the 100Gi size", async () => {
    const spec = valuesOf(await plan("prod1")).prometheus.prometheusSpec;
    expect(spec.retention).toBe("30d");
    expect(spec.storageSpec.volumeClaimTemplate.spec).toMatchObject({ storageClassName: "essd", resources: { requests: { storage: "100Gi" } } });
    // 85 % of 100 GiB in MiB: 100 * 1024 * 0.85.
    expect(spec.retentionSize).toBe("87040MB");
  });

  test("dev: 7d retention", async () => {
    expect(valuesOf(await plan("dev")).prometheus.prometheusSpec.retention).toBe("7d");
  });

  test("-c storageClass gives a volumeClaimTemplate of storageSize", async () => {
    const p = await plan("prod1", OVERRIDES);
    const spec = valuesOf(p).prometheus.prometheusSpec;
    expect(spec.retention).toBe("45d");
    expect(spec.storageSpec.volumeClaimTemplate.spec).toEqual({
      storageClassName: "alicloud-disk-essd",
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "100Gi" } },
    });
  });

  test("rules and monitors are selected from every namespace (ingress-nginx's ServiceMonitor, our PrometheusRule)", async () => {
    const spec = valuesOf(await plan("prod1")).prometheus.prometheusSpec;
    for (const k of [
      "ruleSelectorNilUsesHelmValues",
      "serviceMonitorSelectorNilUsesHelmValues",
      "podMonitorSelectorNilUsesHelmValues",
      "probeSelectorNilUsesHelmValues",
    ]) {
      expect(spec[k]).toBe(false);
    }
    expect(spec.ruleNamespaceSelector ?? {}).toEqual({});
    expect(spec.serviceMonitorNamespaceSelector ?? {}).toEqual({});
  });

  test("kubeadm's loopback-bound control plane: no scrapes and no absent-target alerts unless opted in", async () => {
    const v = valuesOf(await plan("prod1"));
    for (const k of ["kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"]) expect(v[k].enabled).toBe(false);
    expect(v.defaultRules.rules).toMatchObject({ etcd: false, kubeControllerManager: false, kubeSchedulerAlerting: false, kubeProxy: false });

    const on = kubePrometheusStackValues({ clusterName: "prod1", retention: "15d", controlPlaneMetrics: true, grafanaAdminSecret: "g" }) as Record<string, any>;
    expect(on.kubeControllerManager).toMatchObject({ enabled: true, service: { port: 10257, targetPort: 10257 }, serviceMonitor: { https: true } });
    expect(on.kubeScheduler).toMatchObject({ enabled: true, service: { port: 10259, targetPort: 10259 }, serviceMonitor: { https: true } });
    expect(on.kubeEtcd).toMatchObject({ enabled: true, service: { port: 2381, targetPort: 2381 }, serviceMonitor: { scheme: "http" } });
    expect(on.defaultRules.rules).toMatchObject({ etcd: true, kubeControllerManager: true });
  });

  test("Grafana's admin password is generated and kept in a Secret, not the chart's default", async () => {
    const p = await plan("prod1");
    const v = valuesOf(p);
    expect(v.grafana.admin).toEqual({ existingSecret: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" });
    expect(v.grafana.adminPassword).toBeUndefined();
    const [secret] = named(p, "kubernetes:core/v1:Secret", "grafana-admin");
    expect(secret.secretInputs).toContain("stringData");
    expect(kpsRelease(p).dependsOn).toContain(secret.urn);
  });

  test("validation names the field", () => {
    const base = { clusterName: "prod1", retention: "15d", grafanaAdminSecret: "g" };
    expect(() => kubePrometheusStackValues({ ...base, retention: "two weeks" })).toThrow("monitoring: retention ");
    expect(() => kubePrometheusStackValues({ ...base, storageClass: "essd" })).toThrow("monitoring: storageSize ");
    expect(() => retentionSizeFor("lots")).toThrow("monitoring: storageSize ");
    expect(retentionSizeFor("50Gi")).toBe("43520MB");
  });
});

describe("Alertmanager -> DingTalk bridge, judged by amtool", () => {
  function writeAlertmanager(p: Plan, file: string): string {
    fs.writeFileSync(path.join(dir, file), YAML.stringify(valuesOf(p).alertmanager.config));
    return file;
  }
  const routeFor = (file: string, labels: string[]) => {
    const r = run(AMTOOL, "prometheus-alertmanager", ["config", "routes", "test", `--config.file=${file}`, ...labels]);
    expect(r.status).toBe(0);
    return r.stdout.trim();
  };

  test("the planned config passes `amtool check-config`", async () => {
    const file = writeAlertmanager(await plan("prod1"), "alertmanager.yml");
    const r = run(AMTOOL, "prometheus-alertmanager", ["check-config", file]);
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  test("a critical alert inhibits warnings of the same alert in the same namespace for the same app only", () => {
    const rules = (alertmanagerConfig() as { inhibit_rules: { source_matchers?: string[]; equal?: string[] }[] }).inhibit_rules;
    const critical = rules.find((r) => r.source_matchers?.includes("severity = critical"));
    expect(critical?.equal).toEqual(["namespace", "alertname", "app"]);
  });

  test("a broken route (unknown receiver) fails `amtool check-config`", () => {
    const broken = alertmanagerConfig() as { route: { receiver: string } };
    broken.route.receiver = "wechat";
    fs.writeFileSync(path.join(dir, "broken.yml"), YAML.stringify(broken));
    expect(run(AMTOOL, "prometheus-alertmanager", ["check-config", "broken.yml"]).status).not.toBe(0);
  });

  test("platform alerts go to DingTalk; Watchdog and InfoInhibitor go nowhere", async () => {
    const file = writeAlertmanager(await plan("prod1"), "routes.yml");
    expect(routeFor(file, ["alertname=PodRestartLoop", "cluster=prod1", "namespace=commerce", "severity=warning"])).toBe("dingtalk");
    expect(routeFor(file, ["alertname=IngressHigh5xxRate", "cluster=prod1", "severity=critical"])).toBe("dingtalk");
    expect(routeFor(file, ["alertname=Watchdog", "severity=none"])).toBe("null");
    expect(routeFor(file, ["alertname=InfoInhibitor", "severity=none"])).toBe("null");
  });

  test("grouped by alertname, cluster and namespace; the receiver posts to the bridge Service", async () => {
    const p = await plan("prod1");
    const cfg = valuesOf(p).alertmanager.config;
    expect(cfg.route.group_by).toEqual(["alertname", "cluster", "namespace"]);
    const dingtalk = cfg.receivers.find((r: { name: string }) => r.name === "dingtalk");
    expect(dingtalk.webhook_configs).toHaveLength(1);
    const url = new URL(dingtalk.webhook_configs[0].url);
    expect(url.toString()).toBe("http://prometheus-webhook-dingtalk.monitoring.svc:8060/dingtalk/platform/send");

    // The URL names the planned Service, in the planned namespace, on its port.
    const [service] = named(p, "kubernetes:core/v1:Service", "prometheus-webhook-dingtalk");
    const meta = service.inputs.metadata as { name: string; namespace: string };
    expect(url.hostname).toBe(`${meta.name}.${meta.namespace}.svc`);
    const ports = (service.inputs.spec as { ports: { port: number }[] }).ports;
    expect(ports.map((x) => x.port)).toContain(Number(url.port));
    // ... and its path names the bridge's configured target.
    expect(url.pathname).toBe(
      `/dingtalk/${Object.keys(YAML.parse(dingtalkBridgeConfig("https://oapi.dingtalk.com/robot/send?access_token=x")).targets)[0]}/send`,
    );
  });
});

describe("the DingTalk bridge", () => {
  test("planned Deployment and Service validate against the Kubernetes schema and select each other", async () => {
    const p = await plan("prod1");
    const [deployment] = named(p, "kubernetes:apps/v1:Deployment", "prometheus-webhook-dingtalk");
    const [service] = named(p, "kubernetes:core/v1:Service", "prometheus-webhook-dingtalk");
    expect(validateK8sObject(deployment.inputs)).toEqual([]);
    expect(validateK8sObject(service.inputs)).toEqual([]);
    const d = deployment.inputs as Record<string, any>;
    // Through the stack's mirror (platform:images.registry).
    expect(d.spec.template.spec.containers[0].image).toBe("mirror.livemall.internal/docker.io/timonwong/prometheus-webhook-dingtalk:v2.1.0");
    expect(d.spec.template.metadata.labels).toMatchObject((service.inputs.spec as { selector: Record<string, string> }).selector);
    // The config comes from the Secret, mounted where --config.file points.
    const container = d.spec.template.spec.containers[0];
    const mount = container.volumeMounts[0];
    expect(container.args).toContain(`--config.file=${mount.mountPath}/config.yml`);
    const volume = d.spec.template.spec.volumes.find((v: { name: string }) => v.name === mount.name);
    expect(volume.secret.secretName).toBe("prometheus-webhook-dingtalk-config");
    // Rolls when the robot URL changes, without showing it.
    expect(d.spec.template.metadata.annotations["checksum/config"]).toMatch(/^[0-9a-f]{64}$/);
    expect(deployment.secretInputs).toEqual([]);
  });

  test("the schema check can fail: a Deployment without containers is refused", () => {
    const [deployment] = dingtalkBridgeObjects({ namespace: "monitoring", image: DINGTALK_BRIDGE.image });
    delete deployment.spec.template.spec.containers;
    expect(validateK8sObject(deployment).length).toBeGreaterThan(0);
  });

  test("config.yml holds the robot URL under the target; a bad URL is refused without echoing it", () => {
    const url = "https://oapi.dingtalk.com/robot/send?access_token=0123abcd";
    expect(YAML.parse(dingtalkBridgeConfig(url)).targets.platform.url).toBe(url);
    let message = "";
    try {
      dingtalkBridgeConfig("http://oapi.dingtalk.com/robot/send?access_token=leaky-token");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("dingtalkWebhook must be an https URL");
    expect(message).not.toContain("leaky-token");
  });

  test("unpinned images are refused", () => {
    expect(() => dingtalkBridgeObjects({ namespace: "monitoring", image: "timonwong/prometheus-webhook-dingtalk" })).toThrow("monitoring: image ");
    expect(() => dingtalkBridgeObjects({ namespace: "monitoring", image: "timonwong/prometheus-webhook-dingtalk:latest" })).toThrow("monitoring: image ");
    expect(() => dingtalkBridgeObjects({ namespace: "monitoring", image: "registry.local:5000/dingtalk:v2.1.0" })).not.toThrow();
  });
});

describe("the PrometheusRule from the plan", () => {
  test("its spec.groups pass `promtool check rules`; it waits for the chart (CRDs) and is labelled for the selector", async () => {
    const p = await plan("prod1");
    // platform-alerts here; the apps' SLO rules are a second PrometheusRule (platform-slo, test/apps/dashboards.test.ts).
    const rules = ofType(p, RULE).filter((r) => (r.inputs.metadata as { name: string }).name === "platform-alerts");
    expect(rules).toHaveLength(1);
    const rule = rules[0];
    const meta = rule.inputs.metadata as { namespace: string; labels: Record<string, string> };
    expect(meta.namespace).toBe("monitoring");
    expect(meta.labels.release).toBe("kube-prometheus-stack");
    expect(rule.dependsOn).toContain(kpsRelease(p).urn);

    const groups = (rule.inputs.spec as { groups: { name: string; rules: { alert: string; labels: Record<string, string> }[] }[] }).groups;
    fs.writeFileSync(path.join(dir, "platform.rules.yml"), YAML.stringify({ groups }));
    const r = run(PROMTOOL, "prometheus", ["check", "rules", "platform.rules.yml"]);
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
    const alerts = groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining(["IngressHigh5xxRate", "IngressHigh4xxRate", "PodRestartLoop", "NodeDiskPressure", "NodeMemoryPressure"]),
    );
    for (const a of alerts) expect(a.labels.cluster).toBe("prod1");
  });

  test("a rule file promtool rejects makes this check fail", () => {
    fs.writeFileSync(path.join(dir, "bad.rules.yml"), YAML.stringify({ groups: [{ name: "g", rules: [{ alert: "X", expr: "rate(x[5m]" }] }] }));
    expect(run(PROMTOOL, "prometheus", ["check", "rules", "bad.rules.yml"]).status).not.toBe(0);
  });

  test("thresholds from -c platform:monitoring.thresholds reach the rules; unset ones keep their default", async () => {
    const p = await plan("prod1", OVERRIDES);
    const rules = alertRules(p);
    expect(rules.find((r) => r.alert === "IngressHigh5xxRate")!.expr).toContain("> 0.02\n");
    expect(rules.find((r) => r.alert === "IngressHigh4xxRate")!.expr).toContain("> 0.2\n");
    expect(rules.find((r) => r.alert === "PodRestartLoop")!.expr).toContain(">= 3");
  });

  test("the offline preview writes the same groups as a plain rules file", async () => {
    const p = await plan("prod1");
    const artifact = p.artifacts.find((a) => a.file === "prod1-prometheus-rules.yaml")!;
    expect(artifact.kind).toBe("manifests");
    expect(YAML.parse(artifact.text).groups).toEqual((byName(p, "prod1-monitoring-platform-alerts", RULE).inputs.spec as { groups: unknown }).groups);
  });
});

describe("the client certificates' PrometheusRule", () => {
  test("prod1 alerts on its admin and kubesphere-host certificates with their notAfter as openssl reads it; the host on its admin one", async () => {
    const enddate = spawnSync("openssl", ["x509", "-noout", "-enddate"], { input: MOCK_CERT_PEM, encoding: "utf8" }).stdout.trim();
    expect(enddate).toBe("notAfter=Nov  3 18:40:16 2126 GMT");
    const notAfter = 4949404816; // 2126-11-03T18:40:16Z
    const certsOf = async (stack: string) => {
      const p = await plan(stack);
      const rule = byName(p, `${stack}-monitoring-client-certificates`, RULE);
      expect((rule.inputs.metadata as { name: string }).name).toBe("platform-client-certificates");
      expect(rule.dependsOn).toContain(kpsRelease(p).urn);
      const groups = (rule.inputs.spec as { groups: { rules: { alert: string; expr: string; labels: Record<string, string> }[] }[] }).groups;
      fs.writeFileSync(path.join(dir, `${stack}-client.rules.yml`), YAML.stringify({ groups }));
      expect(run(PROMTOOL, "prometheus", ["check", "rules", `${stack}-client.rules.yml`]).status).toBe(0);
      return groups.flatMap((g) => g.rules).map((r) => `${r.labels.cert} ${r.alert} ${r.labels.severity}: ${r.expr}`);
    };
    expect(await certsOf("prod1")).toEqual([
      `admin PulumiClientCertificateRenewalDue warning: vector(${notAfter}) - time() < 2592000`,
      `admin PulumiClientCertificateExpiresSoon critical: vector(${notAfter}) - time() < 604800`,
      `kubesphere-host PulumiClientCertificateRenewalDue warning: vector(${notAfter}) - time() < 2592000`,
      `kubesphere-host PulumiClientCertificateExpiresSoon critical: vector(${notAfter}) - time() < 604800`,
    ]);
    expect((await certsOf("host")).map((l) => l.split(" ")[0])).toEqual(["admin", "admin"]);
  });
});
