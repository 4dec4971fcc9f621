// Every scrape target the platform configures is reachable through the security groups,
// from the scraper's nodes only, in every stack's plan.
//
// The target list is derived here from the monitoring values the program renders plus
// the chart defaults at the pinned versions, written out independently of network.ts:
//   kube-prometheus-stack 87.12.5 (prometheus-community/helm-charts@240842e1,
//   charts/kube-prometheus-stack/values.yaml): kubeApiServer.enabled true (l.1694),
//   kubelet.enabled true (l.1778, https, cAdvisor and probes on), coreDns.enabled true
//   (l.2134, port 9153), kubeStateMetrics.enabled true (l.2649), nodeExporter.enabled true
//   (l.2681); kubeControllerManager/kubeEtcd/kubeScheduler/kubeProxy default true but the
//   program sets them per controlPlaneMetrics; the operator, Prometheus, Alertmanager and
//   Grafana monitor themselves (selfMonitor/serviceMonitor, pods).
//   prometheus-node-exporter 4.55.1 (@e633094a, values.yaml): hostNetwork true (l.382),
//   service port 9100 (l.131), tolerates every NoSchedule taint (l.471): every node.
//   ingress-nginx 4.12.1: controller.metrics with a ServiceMonitor (ingress.ts), a pod.
// Host-network targets need a TCP rule into their nodes' group; pod targets are reached
// over the flannel vxlan overlay (UDP 8472) between the nodes. Prometheus is a pod on a
// worker (the masters carry kubeadm's control-plane taint); its traffic to a node address
// leaves masqueraded as the worker's address (flannel --ip-masq), so the source group is
// the workers'.
import { kubePrometheusStackValues } from "../../components/k8s/monitoringValues";
import { ingressControllerValues } from "../../components/k8s/ingress";
import type { PlannedResource } from "../../components/preview/runtime";
import { ofType, plan, STACK_NAMES } from "../support/offline";

type Group = "masters" | "workers";
interface Target {
  name: string;
  /** undefined: a pod, reached over the overlay. */
  hostPort?: number;
  on: Group[];
}

const CHART_DEFAULT_ENABLED: Record<string, boolean> = {
  kubeApiServer: true,
  kubelet: true,
  coreDns: true,
  kubeStateMetrics: true,
  nodeExporter: true,
  kubeControllerManager: true,
  kubeEtcd: true,
  kubeScheduler: true,
  kubeProxy: true,
};
/** Where each chart component's target listens (kubeadm defaults for the control plane). */
const TARGET_OF: Record<string, Omit<Target, "name">> = {
  kubeApiServer: { hostPort: 6443, on: ["masters"] },
  kubelet: { hostPort: 10250, on: ["masters", "workers"] },
  nodeExporter: { hostPort: 9100, on: ["masters", "workers"] },
  kubeControllerManager: { hostPort: 10257, on: ["masters"] },
  kubeScheduler: { hostPort: 10259, on: ["masters"] },
  kubeEtcd: { hostPort: 2381, on: ["masters"] },
  kubeProxy: { hostPort: 10249, on: ["masters", "workers"] },
  coreDns: { on: ["workers"] },
  kubeStateMetrics: { on: ["workers"] },
};

function enabled(values: Record<string, unknown>, key: string): boolean {
  const v = values[key] as { enabled?: boolean } | undefined;
  return v?.enabled ?? CHART_DEFAULT_ENABLED[key];
}

function scrapeTargets(controlPlaneMetrics: boolean): Target[] {
  const values = kubePrometheusStackValues({
    clusterName: "t",
    retention: "15d",
    grafanaAdminSecret: "grafana-admin",
    controlPlaneMetrics,
  } as Parameters<typeof kubePrometheusStackValues>[0]);
  const targets: Target[] = Object.keys(TARGET_OF)
    .filter((k) => enabled(values, k))
    .map((k) => ({ name: k, ...TARGET_OF[k] }));
  const ingress = ingressControllerValues({ clusterName: "t", replicas: 2, httpNodePort: 30080, httpsNodePort: 30443, trustedCidrs: [] }) as {
    controller: { metrics: { enabled: boolean; serviceMonitor: { enabled: boolean } } };
  };
  if (ingress.controller.metrics.enabled && ingress.controller.metrics.serviceMonitor.enabled) targets.push({ name: "ingress-nginx", on: ["workers"] });
  return targets;
}

function covers(portRange: unknown, port: number): boolean {
  const [from, to] = String(portRange).split("/").map(Number);
  return from <= port && port <= to;
}

describe("scrape targets", () => {
  test("the platform's list: api-server, kubelet and node-exporter on the host network; control plane off", () => {
    const targets = scrapeTargets(false);
    expect(targets.filter((t) => t.hostPort !== undefined).map((t) => `${t.name}:${t.hostPort}`)).toEqual([
      "kubeApiServer:6443",
      "kubelet:10250",
      "nodeExporter:9100",
    ]);
    expect(targets.filter((t) => t.hostPort === undefined).map((t) => t.name)).toEqual(["coreDns", "kubeStateMetrics", "ingress-nginx"]);
  });
});

describe.each(STACK_NAMES)("%s security groups", (stack) => {
  let rules: PlannedResource[];
  let groupId: Record<string, string>;
  beforeAll(async () => {
    const p = await plan(stack);
    rules = ofType(p, "alicloud:ecs/securityGroupRule:SecurityGroupRule");
    groupId = {};
    for (const g of ofType(p, "alicloud:ecs/securityGroup:SecurityGroup")) groupId[String(g.inputs.securityGroupName).replace(`${stack}-`, "")] = String(g.id);
    expect(Object.keys(groupId).sort()).toEqual(["front", "masters", "workers"]);
  });

  const allows = (to: Group, from: Group, protocol: string, port: number) =>
    rules.some(
      (r) =>
        r.inputs.securityGroupId === groupId[to] &&
        r.inputs.sourceSecurityGroupId === groupId[from] &&
        r.inputs.ipProtocol === protocol &&
        r.inputs.policy === "accept" &&
        covers(r.inputs.portRange, port),
    );

  test.each(scrapeTargets(false).map((t) => [t.name, t] as const))("%s is reachable from Prometheus' nodes", (_, t) => {
    for (const to of t.on) {
      if (t.hostPort !== undefined) expect([to, t.hostPort, allows(to, "workers", "tcp", t.hostPort)]).toEqual([to, t.hostPort, true]);
      // Pods: vxlan from the workers into the target's nodes.
      else expect([to, allows(to, "workers", "udp", 8472)]).toEqual([to, true]);
    }
  });

  test("node-exporter is open to the nodes only, never to an address range", () => {
    const nodeExporter = rules.filter((r) => covers(r.inputs.portRange, 9100) && r.inputs.ipProtocol === "tcp");
    expect(nodeExporter.length).toBe(2);
    for (const r of nodeExporter) {
      expect(r.inputs.cidrIp).toBeUndefined();
      expect(r.inputs.sourceSecurityGroupId).toBe(groupId.workers);
    }
  });

  test("the workers reach the nodes on exactly the scrape ports, the api-server and the overlay", () => {
    const fromWorkers = rules
      .filter((r) => r.inputs.sourceSecurityGroupId === groupId.workers)
      .map((r) => `${Object.keys(groupId).find((g) => groupId[g] === r.inputs.securityGroupId)} ${r.inputs.ipProtocol} ${r.inputs.portRange}`)
      .sort();
    expect(fromWorkers).toEqual([
      "masters tcp 10250/10250",
      "masters tcp 6443/6443",
      "masters tcp 9100/9100",
      "masters udp 8472/8472",
      "workers tcp 10250/10250",
      "workers tcp 9100/9100",
      "workers udp 8472/8472",
    ]);
  });
});
