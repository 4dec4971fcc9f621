// Per-app observability of one cluster: the Grafana dashboards (fleet overview
// and one per app) as ConfigMaps for the Grafana sidecar, in a folder named
// after the cluster, and the apps' SLO alerts as a second PrometheusRule
// (`platform-slo`, labelled like `platform-alerts` for the chart's rule
// selector). Alertmanager sends them to DingTalk like every other alert:
// its route takes every severity to the bridge (monitoringValues.ts).
// The JSON and the rules come from the pure builders in dashboards.ts and
// sloRules.ts; this file only wires them and hands them to the preview.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { recordArtifact } from "../artifacts";
import type { AppConfig } from "./javaApp";
import { namespaceOf } from "./javaApp";
import type { RuleGroup } from "../k8s/alertRules";
import { clusterDashboards, Dashboard, dashboardConfigMap, TracesLink } from "./dashboards";
import { ClusterAccess, createObject, inCluster, K8sObject } from "../k8s/k8sObjects";
import { KUBE_PROMETHEUS_STACK } from "../k8s/monitoringValues";
import { AppTarget, resolveSlo, sloRuleGroups } from "./sloRules";

export interface AppObservabilityArgs {
  /** The cluster: its provider and readiness gate. */
  cluster: ClusterAccess;
  /** Cluster (stack) name: the `platform/cluster` label of the rules and the dashboards' titles. */
  clusterName: string;
  /** `platform:apps` (may be empty: the fleet overview is still shipped). */
  apps: Record<string, AppConfig>;
  /** Grafana's base URL for the alerts' dashboard links (`platform:monitoring.grafanaUrl`); default a relative /d/<uid>. */
  grafanaUrl?: string;
  /** The SkyWalking UI and the traced apps, for the app panels' links (docs/tracing.md); default none (no links). */
  traces?: TracesLink;
  /** The kube-prometheus-stack release: it brings the PrometheusRule CRD and Grafana. */
  monitoringRelease: pulumi.Resource;
}

/** The apps of a stack as the dashboards and SLO rules see them; throws, naming the key, on a bad `slo`. */
export function appTargets(apps: Record<string, AppConfig>): AppTarget[] {
  return Object.entries(apps).map(([app, cfg]) => {
    const slo = cfg.slo;
    resolveSlo(app, slo);
    return { app, namespace: namespaceOf(app, cfg), slo, canary: cfg.canary !== undefined, autoscale: cfg.autoscale !== undefined };
  });
}

export class AppObservability extends pulumi.ComponentResource {
  public readonly dashboards: Dashboard[];
  public readonly ruleGroups: RuleGroup[];

  constructor(name: string, args: AppObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:k8s:AppObservability", name, {}, opts);
    const namespace = KUBE_PROMETHEUS_STACK.namespace;
    const targets = appTargets(args.apps);
    const base = (args.grafanaUrl ?? "").replace(/\/+$/, "");
    this.dashboards = clusterDashboards(args.clusterName, targets, args.traces);
    this.ruleGroups = sloRuleGroups(args.clusterName, targets, { dashboardUrl: (uid) => `${base}/d/${uid}` });

    const after = inCluster(this, args.cluster, { dependsOn: [args.monitoringRelease] });
    for (const d of this.dashboards) {
      createObject(name, dashboardConfigMap(args.clusterName, d, namespace) as K8sObject, after);
      recordArtifact("dashboards", `${d.uid}.json`, JSON.stringify(d, null, 2) + "\n");
    }
    if (this.ruleGroups.length > 0) {
      new k8s.apiextensions.CustomResource(
        `${name}-slo-alerts`,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "PrometheusRule",
          metadata: {
            name: "platform-slo",
            namespace,
            labels: { release: KUBE_PROMETHEUS_STACK.name, "platform/cluster": args.clusterName },
          },
          spec: { groups: this.ruleGroups },
        },
        after,
      );
      recordArtifact("manifests", `${args.clusterName}-slo-rules.yaml`, YAML.stringify({ groups: this.ruleGroups }));
    }
    this.registerOutputs({ dashboards: this.dashboards.map((d) => d.uid) });
  }
}
