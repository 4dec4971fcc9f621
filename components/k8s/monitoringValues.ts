// kube-prometheus-stack values, the Alertmanager routing to DingTalk, and the
// DingTalk bridge. Pure: typed settings in, plain values and objects out, so
// tests feed the Alertmanager config to `amtool` and the objects to the
// Kubernetes schema, and the monitoring component only wires resources.
//
// Alertmanager has no DingTalk receiver, so alerts go to a small bridge
// (prometheus-webhook-dingtalk) over Alertmanager's generic webhook; the robot
// URL, which is the robot's credential, lives only in the bridge's Secret.
import * as YAML from "yaml";
import type { RuleGroup } from "./alertRules";
import type { HelmChart } from "./k8sObjects";
import { mirroredRegistry } from "./images";
import { CONTROLLER_MANAGER_PORT, ETCD_METRICS_PORT, KUBE_PROXY_METRICS_PORT, SCHEDULER_PORT } from "../network/ports";

/** The chart, pinned: a new chart version is a reviewed change. */
export const KUBE_PROMETHEUS_STACK: HelmChart = {
  /** Helm release name; the chart labels its objects (and selects rules) with `release: <name>`. */
  name: "kube-prometheus-stack",
  chart: "kube-prometheus-stack",
  repo: "https://prometheus-community.github.io/helm-charts",
  version: "87.12.5",
  namespace: "monitoring",
};

/** The DingTalk bridge: one Deployment + Service in the monitoring namespace. */
export const DINGTALK_BRIDGE = {
  name: "prometheus-webhook-dingtalk",
  /** Pinned; mirror it for China regions as with every other image. */
  image: "timonwong/prometheus-webhook-dingtalk:v2.1.0",
  port: 8060,
  /** The bridge's target name; its URL path is /dingtalk/<target>/send. */
  target: "platform",
  /** Secret holding the bridge's config.yml (with the robot URL). */
  secretName: "prometheus-webhook-dingtalk-config",
  configFile: "config.yml",
} as const;

/** Alerts nobody should be paged for: Watchdog fires always (dead man's switch), InfoInhibitor only mutes info alerts. */
export const SILENT_ALERTS = ["Watchdog", "InfoInhibitor"] as const;

export interface MonitoringSettings {
  /** Stack (cluster) name: Prometheus's external label `cluster`, so every DingTalk message names its cluster. */
  clusterName: string;
  /** How long Prometheus keeps samples, e.g. "15d". */
  retention: string;
  /**
   * Size of Prometheus's volume, e.g. "100Gi". Also caps the TSDB (retentionSize,
   * 85% of it): a full volume crashes Prometheus, dropping old blocks does not.
   */
  storageSize?: string;
  /**
   * StorageClass for Prometheus's volume. Unset: no storageSpec, an emptyDir
   * (data lost when the pod moves). Note: storageSize then only caps the TSDB.
   */
  storageClass?: string;
  /**
   * Scrape the control plane's own metrics (controller-manager 10257, scheduler
   * 10259, etcd 2381, kube-proxy 10249). Default false: kubeadm binds them to
   * 127.0.0.1, where a Prometheus pod cannot reach them, and their "Down"
   * alerts would page around the clock. Turn on only with kubeadm set to bind
   * them on the node address and the master security group opened to the workers.
   */
  controlPlaneMetrics?: boolean;
  /** Secret (in the release namespace) with Grafana's admin-user/admin-password, instead of the chart's well-known default password. */
  grafanaAdminSecret: string;
  /** `platform:images.registry`: every image of the chart and its subcharts through the mirror. Default none (upstream). */
  imageMirror?: string;
}

/**
 * The chart's image `registry` values, by upstream host. Paths and defaults: kube-prometheus-stack 87.12.5
 * values.yaml (prometheus-community/helm-charts 240842e1) and its subcharts kube-state-metrics 7.5.3,
 * prometheus-node-exporter 4.55.1 (same commit) and grafana 12.7.2 (grafana-community/helm-charts grafana-12.7.2 b47a6109).
 * Each is read by a template: alertmanager/alertmanager.yaml:19, prometheus/prometheus.yaml:53,
 * prometheus-operator/deployment.yaml:50-52 (operator, config-reloader, thanosImage), admission-webhooks/job-patch/*.yaml
 * (certgen Jobs, ghcr.io); kube-state-metrics and node-exporter `_helpers.tpl` image printf. The chart's
 * `global.imageRegistry` would collapse every upstream host into one, so each image says its own.
 */
export function kubePrometheusStackImages(mirror?: string): Record<string, unknown> {
  const reg = (host: string) => ({ image: { registry: mirroredRegistry(host, mirror) } });
  return {
    alertmanager: { alertmanagerSpec: reg("quay.io") },
    prometheus: { prometheusSpec: reg("quay.io") },
    prometheusOperator: {
      ...reg("quay.io"),
      prometheusConfigReloader: reg("quay.io"),
      // Handed to the operator (deployment.yaml:52) as the image of every Prometheus's Thanos sidecar.
      thanosImage: { registry: mirroredRegistry("quay.io", mirror) },
      admissionWebhooks: { deployment: reg("quay.io"), patch: reg("ghcr.io") },
    },
    "kube-state-metrics": reg("registry.k8s.io"),
    // node-exporter's permission-fix init container (daemonset.yaml:41-57), off until a fix is turned on.
    "prometheus-node-exporter": { ...reg("quay.io"), permissionInitContainer: reg("quay.io") },
    grafana: {
      ...reg("docker.io"),
      sidecar: reg("quay.io"),
      initChownData: reg("docker.io"),
      downloadDashboardsImage: { registry: mirroredRegistry("docker.io", mirror) },
      testFramework: reg("docker.io"),
    },
  };
}

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DURATION = /^\d+(ms|s|m|h|d|w|y)$/;
const QUANTITY = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/;

function fail(field: string, message: string): never {
  throw new Error(`monitoring: ${field} ${message}`);
}

/** In-cluster URL Alertmanager posts to. */
export function dingtalkBridgeUrl(namespace: string = KUBE_PROMETHEUS_STACK.namespace): string {
  return `http://${DINGTALK_BRIDGE.name}.${namespace}.svc:${DINGTALK_BRIDGE.port}/dingtalk/${DINGTALK_BRIDGE.target}/send`;
}

/**
 * Prometheus's retentionSize for a volume: 85% of it, in MB (Prometheus's
 * units are powers of 2, so "MB" is MiB), leaving room for the WAL and compaction.
 */
export function retentionSizeFor(storageSize: string): string {
  const m = QUANTITY.exec(storageSize ?? "");
  if (!m) fail("storageSize", `must be a Kubernetes quantity such as 100Gi, got ${JSON.stringify(storageSize)}`);
  const factor: Record<string, number> = {
    "": 1,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
  };
  const bytes = Number(m[1]) * factor[m[2] ?? ""];
  const mib = Math.floor((bytes * 0.85) / 2 ** 20);
  if (mib < 512) fail("storageSize", `must be at least 1Gi for Prometheus, got ${storageSize}`);
  return `${mib}MB`;
}

/**
 * Alertmanager's configuration: everything to the DingTalk bridge, grouped so
 * one DingTalk message covers one alert in one namespace of one cluster;
 * Watchdog and InfoInhibitor go nowhere.
 */
export function alertmanagerConfig(bridgeUrl: string = dingtalkBridgeUrl()): Record<string, unknown> {
  if (!/^https?:\/\/[^\s]+$/.test(bridgeUrl)) fail("bridgeUrl", `must be an http(s) URL, got ${JSON.stringify(bridgeUrl)}`);
  return {
    global: { resolve_timeout: "5m" },
    route: {
      receiver: "dingtalk",
      group_by: ["alertname", "cluster", "namespace"],
      group_wait: "30s",
      group_interval: "5m",
      // A DingTalk robot accepts 20 messages a minute; re-sending every 4h keeps
      // a firing alert visible without flooding the group chat.
      repeat_interval: "4h",
      routes: [{ receiver: "null", matchers: [`alertname =~ "${SILENT_ALERTS.join("|")}"`] }],
    },
    // The chart's defaults: a critical alert mutes its own warning twin, and
    // InfoInhibitor mutes info alerts.
    inhibit_rules: [
      // `app` too: the per-app SLO alerts share one alertname per namespace, and one app's page must not
      // mute another app's warning. Alertmanager treats a label absent on both sides as equal, so the
      // platform's app-less alerts inhibit exactly as before.
      { source_matchers: ["severity = critical"], target_matchers: ["severity =~ warning|info"], equal: ["namespace", "alertname", "app"] },
      { source_matchers: ["severity = warning"], target_matchers: ["severity = info"], equal: ["namespace", "alertname", "app"] },
      { source_matchers: ["alertname = InfoInhibitor"], target_matchers: ["severity = info"], equal: ["namespace"] },
      { target_matchers: ["alertname = InfoInhibitor"] },
    ],
    receivers: [{ name: "null" }, { name: "dingtalk", webhook_configs: [{ url: bridgeUrl, send_resolved: true, max_alerts: 20 }] }],
    templates: ["/etc/alertmanager/config/*.tmpl"],
  };
}

function validate(s: MonitoringSettings): void {
  if (!DNS_LABEL.test(s.clusterName ?? "")) fail("clusterName", `must be a DNS label such as "prod1", got ${JSON.stringify(s.clusterName)}`);
  if (!DURATION.test(s.retention ?? "")) fail("retention", `must be a duration such as 15d, got ${JSON.stringify(s.retention)}`);
  if (s.storageClass !== undefined && !DNS_LABEL.test(s.storageClass))
    fail("storageClass", `must be a StorageClass name, got ${JSON.stringify(s.storageClass)}`);
  if (s.storageClass !== undefined && s.storageSize === undefined) fail("storageSize", "is required with storageClass (the volume's size)");
  if (!DNS_LABEL.test(s.grafanaAdminSecret ?? "")) fail("grafanaAdminSecret", `must be a Secret name, got ${JSON.stringify(s.grafanaAdminSecret)}`);
}

/** Helm values for kube-prometheus-stack. */
export function kubePrometheusStackValues(s: MonitoringSettings): Record<string, unknown> {
  validate(s);
  const controlPlane = s.controlPlaneMetrics ?? false;
  const prometheusSpec: Record<string, unknown> = {
    retention: s.retention,
    externalLabels: { cluster: s.clusterName },
    // Select rules and monitors from every namespace, not only those labelled
    // for this release: ingress-nginx's ServiceMonitor and our PrometheusRule.
    ruleSelectorNilUsesHelmValues: false,
    serviceMonitorSelectorNilUsesHelmValues: false,
    podMonitorSelectorNilUsesHelmValues: false,
    probeSelectorNilUsesHelmValues: false,
    scrapeConfigSelectorNilUsesHelmValues: false,
  };
  if (s.storageSize !== undefined) prometheusSpec.retentionSize = retentionSizeFor(s.storageSize);
  if (s.storageClass !== undefined) {
    prometheusSpec.storageSpec = {
      volumeClaimTemplate: {
        spec: {
          storageClassName: s.storageClass,
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: s.storageSize } },
        },
      },
    };
  }

  // kubeadm runs the control plane as static pods labelled component=<name>,
  // which the chart's Services select; only the ports and TLS need saying.
  const controlPlaneValues = controlPlane
    ? {
        // Serving certificates are self-signed by each component, hence no verification.
        kubeControllerManager: {
          enabled: true,
          service: { port: CONTROLLER_MANAGER_PORT, targetPort: CONTROLLER_MANAGER_PORT },
          serviceMonitor: { https: true, insecureSkipVerify: true },
        },
        kubeScheduler: {
          enabled: true,
          service: { port: SCHEDULER_PORT, targetPort: SCHEDULER_PORT },
          serviceMonitor: { https: true, insecureSkipVerify: true },
        },
        // etcd's plain-HTTP metrics listener (--listen-metrics-urls), not its client port.
        kubeEtcd: { enabled: true, service: { port: ETCD_METRICS_PORT, targetPort: ETCD_METRICS_PORT }, serviceMonitor: { scheme: "http" } },
        kubeProxy: { enabled: true, service: { port: KUBE_PROXY_METRICS_PORT, targetPort: KUBE_PROXY_METRICS_PORT } },
      }
    : {
        kubeControllerManager: { enabled: false },
        kubeScheduler: { enabled: false },
        kubeEtcd: { enabled: false },
        kubeProxy: { enabled: false },
      };

  const images = kubePrometheusStackImages(s.imageMirror) as Record<string, Record<string, unknown>>;
  return {
    ...images,
    defaultRules: {
      create: true,
      // Without the scrapes these rules only say "target absent", forever.
      rules: {
        etcd: controlPlane,
        kubeControllerManager: controlPlane,
        kubeSchedulerAlerting: controlPlane,
        kubeSchedulerRecording: controlPlane,
        kubeProxy: controlPlane,
        windows: false,
      },
    },
    alertmanager: {
      ...images.alertmanager,
      config: alertmanagerConfig(dingtalkBridgeUrl(KUBE_PROMETHEUS_STACK.namespace)),
    },
    grafana: {
      ...images.grafana,
      admin: { existingSecret: s.grafanaAdminSecret, userKey: "admin-user", passwordKey: "admin-password" },
      // Dashboards from ConfigMaps, one Grafana folder per cluster (dashboards.ts).
      sidecar: { ...((images.grafana as Record<string, object>).sidecar ?? {}), ...grafanaSidecarValues() },
    },
    prometheus: { prometheusSpec: { ...(images.prometheus.prometheusSpec as object), ...prometheusSpec } },
    ...controlPlaneValues,
  };
}

/** The bridge's config.yml: one target, the robot's webhook URL. Its output is secret: it holds the robot's token. */
export function dingtalkBridgeConfig(webhookUrl: string): string {
  // Never echo the URL in an error: the access token is the credential.
  if (typeof webhookUrl !== "string" || !/^https:\/\/[^\s]+$/.test(webhookUrl)) {
    throw new Error("monitoring: dingtalkWebhook must be an https URL such as https://oapi.dingtalk.com/robot/send?access_token=...");
  }
  return YAML.stringify({ timeout: "5s", targets: { [DINGTALK_BRIDGE.target]: { url: webhookUrl } } });
}

export interface DingtalkBridgeSettings {
  namespace: string;
  /** Pinned bridge image. */
  image: string;
  /** sha256 of the bridge's config, as a pod annotation: a new robot URL rolls the pods (the bridge reads its config once). */
  configChecksum?: string;
  /** Two replicas: an alert posted while the only pod restarts would wait for Alertmanager's retry. */
  replicas?: number;
}

/** The bridge's Deployment and Service (the Secret is made by the component, from the secret URL). */
// Manifests are free-form nested objects that tests and the component index into.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function dingtalkBridgeObjects(s: DingtalkBridgeSettings): [Record<string, any>, Record<string, any>, Record<string, any>] {
  if (!DNS_LABEL.test(s.namespace ?? "")) fail("namespace", `must be a DNS label, got ${JSON.stringify(s.namespace)}`);
  const lastSegment = (s.image ?? "").split("/").pop() ?? "";
  const pinned = /@sha256:[0-9a-f]{64}$/.test(s.image ?? "") || /^[^\s:@]+:[A-Za-z0-9_.-]+$/.test(lastSegment);
  if (!pinned || /:latest$/.test(s.image)) {
    fail("image", `must be pinned to a tag or digest (not latest), got ${JSON.stringify(s.image)}`);
  }
  const labels = { "app.kubernetes.io/name": DINGTALK_BRIDGE.name, "app.kubernetes.io/part-of": "platform-monitoring" };
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: DINGTALK_BRIDGE.name, namespace: s.namespace, labels },
    spec: {
      replicas: s.replicas ?? 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, ...(s.configChecksum ? { annotations: { "checksum/config": s.configChecksum } } : {}) },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534 },
          containers: [
            {
              name: "bridge",
              image: s.image,
              args: [`--web.listen-address=:${DINGTALK_BRIDGE.port}`, `--config.file=/config/${DINGTALK_BRIDGE.configFile}`],
              ports: [{ name: "http", containerPort: DINGTALK_BRIDGE.port, protocol: "TCP" }],
              readinessProbe: { httpGet: { path: "/-/ready", port: "http" }, periodSeconds: 10 },
              livenessProbe: { httpGet: { path: "/-/healthy", port: "http" }, periodSeconds: 20 },
              resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
              volumeMounts: [{ name: "config", mountPath: "/config", readOnly: true }],
            },
          ],
          volumes: [{ name: "config", secret: { secretName: DINGTALK_BRIDGE.secretName } }],
        },
      },
    },
  };
  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: DINGTALK_BRIDGE.name, namespace: s.namespace, labels },
    spec: {
      type: "ClusterIP",
      selector: labels,
      ports: [{ name: "http", port: DINGTALK_BRIDGE.port, targetPort: "http", protocol: "TCP" }],
    },
  };
  // A node drain keeps one bridge up, so alerts keep reaching DingTalk during maintenance.
  const pdb = {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: DINGTALK_BRIDGE.name, namespace: s.namespace, labels },
    spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
  };
  return [deployment, service, pdb];
}

/** The PrometheusRule object for the platform's rule groups, labelled for the chart's rule selector. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function prometheusRuleObject(clusterName: string, groups: RuleGroup[], namespace: string = KUBE_PROMETHEUS_STACK.namespace): Record<string, any> {
  if (groups.length === 0) fail("groups", "must not be empty");
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: {
      name: "platform-alerts",
      namespace,
      // Matches the chart's default ruleSelector too, should anyone turn ruleSelectorNilUsesHelmValues back on.
      labels: { release: KUBE_PROMETHEUS_STACK.name, "platform/cluster": clusterName },
    },
    spec: { groups },
  };
}

/**
 * How the Grafana sidecar finds the dashboards (kube-prometheus-stack 87.12.5
 * values `grafana.sidecar.dashboards`: enabled, label grafana_dashboard,
 * labelValue "1", searchNamespace ALL; grafana chart 12.7.2, the dependency it
 * pins, values `sidecar.dashboards.folderAnnotation` and
 * `provider.foldersFromFilesStructure`: templates/_pod.tpl passes the
 * annotation as FOLDER_ANNOTATION, so the sidecar writes each dashboard into
 * a subfolder named by it, and templates/_config.tpl makes the provider
 * replicate those subfolders as Grafana folders).
 */
export const DASHBOARD_SIDECAR = { label: "grafana_dashboard", labelValue: "1", folderAnnotation: "grafana_folder" } as const;

/** The `grafana.sidecar` values that turn the folder annotation on (the label and value are the chart's defaults, restated). */
export function grafanaSidecarValues(): Record<string, unknown> {
  return {
    dashboards: {
      enabled: true,
      label: DASHBOARD_SIDECAR.label,
      labelValue: DASHBOARD_SIDECAR.labelValue,
      folderAnnotation: DASHBOARD_SIDECAR.folderAnnotation,
      provider: { foldersFromFilesStructure: true },
    },
  };
}
