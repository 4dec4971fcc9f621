// Monitoring: kube-prometheus-stack (Prometheus Operator, Prometheus,
// Alertmanager, Grafana, node-exporter, kube-state-metrics), the platform's
// alert rules as a PrometheusRule, and Alertmanager -> DingTalk through the
// prometheus-webhook-dingtalk bridge. The robot URL is a credential: it only
// exists in the bridge's Secret, never in Helm values or plain inputs.
import { createHash } from "crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as YAML from "yaml";
import { recordArtifact } from "../artifacts";
import { mirrored } from "./images";
import type { PlatformSettings } from "../config/schema";
import { ClusterAccess, createObject, helmRelease, inCluster, K8sObject } from "./k8sObjects";
import { DEFAULT_THRESHOLDS, platformAlertRules, RuleGroup } from "./alertRules";
import { ClientCertificate, clientCertificateRules, day2AlertRules, day2NodeExporterArgs, notAfterOf } from "./day2Alerts";
import { DEFAULT_ETCD_BACKUP } from "../cluster/etcdBackup";
import {
  DINGTALK_BRIDGE,
  dingtalkBridgeConfig,
  dingtalkBridgeObjects,
  KUBE_PROMETHEUS_STACK,
  kubePrometheusStackValues,
  prometheusRuleObject,
} from "./monitoringValues";

/** Grafana's admin credentials (keys admin-user, admin-password). */
export const GRAFANA_ADMIN_SECRET = "grafana-admin";

/** `platform:monitoring`, as the config schema types it. */
export type MonitoringConfig = NonNullable<PlatformSettings["monitoring"]>;

export interface MonitoringArgs {
  /** The cluster's provider and readiness gate; every object goes through it. */
  cluster: ClusterAccess;
  /** Stack (cluster) name: Prometheus's `cluster` external label and the rules' `cluster` label. */
  clusterName: string;
  /** The DingTalk robot's webhook URL (`platform:dingtalkWebhook`, a secret). */
  dingtalkWebhook: pulumi.Input<string>;
  /**
   * `platform:monitoring`, passed whole. Defaults: `chartVersion` KUBE_PROMETHEUS_STACK.version,
   * `retention` "15d", `storageSize` unset (no TSDB size cap), `storageClass` unset (an emptyDir:
   * data lost when the pod moves), `thresholds` DEFAULT_THRESHOLDS per unset field.
   */
  settings?: MonitoringConfig;
  /** Scrape controller-manager/scheduler/etcd/kube-proxy; see MonitoringSettings.controlPlaneMetrics. Default false. */
  controlPlaneMetrics?: boolean;
  /** Bridge image. Default DINGTALK_BRIDGE.image (mirror it for China regions). */
  bridgeImage?: string;
  /** `platform:images.registry`: the chart's images and the bridge through the mirror (images.ts). Default none (upstream). */
  imageMirror?: string;
  /** The masters' etcd backup schedule (platform:etcdBackup.schedule); the stale-backup alert fires at twice it. Default "1h". */
  etcdBackupSchedule?: string;
  /** The client certificates the program mints for this cluster, alerted on before they expire (day2Alerts.ts clientCertificateRules). Default none. */
  clientCertificates?: (Omit<ClientCertificate, "notAfter"> & { certPem: pulumi.Input<string> })[];
  /**
   * The StorageClass Prometheus' volume claim names, when this program creates it (the disk CSI driver's `essd`).
   * Only the release waits for it: the namespace, the secrets and the DingTalk bridge claim no volume. Default none.
   */
  volumeClass?: pulumi.Resource;
}

export class Monitoring extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;
  /** The platform's alert rule groups, as deployed in the PrometheusRule. */
  public readonly ruleGroups: RuleGroup[];
  public readonly prometheusRule: k8s.apiextensions.CustomResource;
  public readonly namespace: string = KUBE_PROMETHEUS_STACK.namespace;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:k8s:Monitoring", name, {}, opts);
    const ns = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: this.namespace } }, inCluster(this, args.cluster));
    const inNs = inCluster(this, args.cluster, { dependsOn: [ns] });

    // ---- DingTalk bridge: Secret (config.yml with the robot URL), Deployment, Service.
    const bridgeConfig = pulumi.secret(args.dingtalkWebhook).apply(dingtalkBridgeConfig);
    const bridgeSecret = new k8s.core.v1.Secret(
      `${name}-dingtalk-config`,
      {
        metadata: { name: DINGTALK_BRIDGE.secretName, namespace: this.namespace },
        type: "Opaque",
        stringData: { [DINGTALK_BRIDGE.configFile]: bridgeConfig },
      },
      inNs,
    );
    const [deployment, service, pdb] = dingtalkBridgeObjects({
      namespace: this.namespace,
      image: mirrored(args.bridgeImage ?? DINGTALK_BRIDGE.image, args.imageMirror),
    });
    // A digest of the config rolls the bridge when the robot URL changes. It is
    // declassified on purpose: a sha256 of a URL with a random 64-hex token
    // reveals nothing usable.
    deployment.spec.template.metadata.annotations = {
      "checksum/config": pulumi.unsecret(bridgeConfig.apply((t) => createHash("sha256").update(t).digest("hex"))),
    };
    createObject(name, deployment as K8sObject, inCluster(this, args.cluster, { dependsOn: [ns, bridgeSecret] }));
    createObject(name, service as K8sObject, inNs);
    createObject(name, pdb as K8sObject, inNs);

    // ---- Grafana admin: a generated password instead of the chart's published default.
    const grafanaPassword = new random.RandomPassword(`${name}-grafana-admin`, { length: 24, special: false }, { parent: this });
    const grafanaSecret = new k8s.core.v1.Secret(
      `${name}-grafana-admin`,
      {
        metadata: { name: GRAFANA_ADMIN_SECRET, namespace: this.namespace },
        type: "Opaque",
        stringData: { "admin-user": "admin", "admin-password": grafanaPassword.result },
      },
      inNs,
    );

    const settings = args.settings ?? {};
    const values = kubePrometheusStackValues({
      clusterName: args.clusterName,
      retention: settings.retention ?? "15d",
      storageSize: settings.storageSize,
      storageClass: settings.storageClass,
      controlPlaneMetrics: args.controlPlaneMetrics,
      grafanaAdminSecret: GRAFANA_ADMIN_SECRET,
      imageMirror: args.imageMirror,
    });
    this.release = helmRelease(
      `${name}-kube-prometheus-stack`,
      {
        chart: KUBE_PROMETHEUS_STACK,
        version: settings.chartVersion,
        createNamespace: false,
        atomic: true,
        timeout: 900,
        values: {
          ...values,
          // The masters' backup and certificate scripts write textfile metrics (day2Alerts.ts).
          "prometheus-node-exporter": { ...(values["prometheus-node-exporter"] as object), extraArgs: day2NodeExporterArgs() },
        },
      },
      inCluster(this, args.cluster, { dependsOn: [ns, grafanaSecret, ...(args.volumeClass ? [args.volumeClass] : [])] }),
    );

    // ---- The platform's alert rules; the PrometheusRule CRD comes with the release.
    this.ruleGroups = [
      ...platformAlertRules(args.clusterName, { ...DEFAULT_THRESHOLDS, ...definedOnly(settings.thresholds ?? {}) }),
      ...day2AlertRules(args.clusterName, args.etcdBackupSchedule ?? DEFAULT_ETCD_BACKUP.schedule),
    ];
    const rule = prometheusRuleObject(args.clusterName, this.ruleGroups, this.namespace);
    const { apiVersion, kind, metadata, ...rest } = rule;
    this.prometheusRule = new k8s.apiextensions.CustomResource(
      `${name}-platform-alerts`,
      { apiVersion, kind, metadata, ...rest },
      inCluster(this, args.cluster, { dependsOn: [this.release] }),
    );
    // The same groups as a plain rules file, for reviewers and `promtool check rules`.
    recordArtifact("manifests", `${args.clusterName}-prometheus-rules.yaml`, YAML.stringify({ groups: this.ruleGroups }));

    // The minted client certificates' expiry, written into the rules (no exporter sees them): a PrometheusRule
    // of its own, so a renewal rewrites only it.
    const certs = args.clientCertificates ?? [];
    if (certs.length > 0) {
      const group = pulumi.all(certs.map((c) => c.certPem)).apply((pems) =>
        clientCertificateRules(
          args.clusterName,
          certs.map(({ certPem: _, ...c }, i) => ({ ...c, notAfter: notAfterOf(pems[i]) })),
        ),
      );
      new k8s.apiextensions.CustomResource(
        `${name}-client-certificates`,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "PrometheusRule",
          metadata: { name: "platform-client-certificates", namespace: this.namespace, labels: rule.metadata.labels },
          spec: { groups: group.apply((g) => [g]) },
        },
        inCluster(this, args.cluster, { dependsOn: [this.release] }),
      );
      recordArtifact(
        "manifests",
        `${args.clusterName}-client-certificate-rules.yaml`,
        group.apply((g) => YAML.stringify({ groups: [g] })),
      );
    }

    this.registerOutputs({ ruleGroups: this.ruleGroups });
  }
}

/** Drops undefined entries, so an unset config key keeps its default instead of erasing it. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
