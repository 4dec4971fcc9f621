// Issue 14, in-cluster half, held against every stack's plan: each HPA's metric
// has a source, each repelling pool has a workload, every platform image comes
// through the mirror, prod keeps Prometheus on an ESSD disk with a RAM policy of
// only the driver's actions, and the ingress chart version comes from config.
import { loadEngineConfig } from "../../components/config/stackFiles";
import { DISK_CONTROLLER_ACTIONS, DISK_CONTROLLER_HOST_PORTS, DISK_NODE_ACTIONS, DISK_NODE_PLUGIN_HOST_PORTS } from "../../components/k8s/diskCsi";
import { FLANNEL_HEALTHZ_PORT, NODE_HOST_PORTS } from "../../components/network/ports";
import { mirrored, mirroredRegistry } from "../../components/k8s/images";
import type { PlannedResource } from "../../components/preview/runtime";
import { ofType, plan, STACK_NAMES } from "../support/offline";
import { configProblems } from "../support/configProblems";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const WORKLOADS = ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:DaemonSet", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job"];

function cfg(stack: string): Record<string, any> {
  const v = loadEngineConfig(stack).values;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [
      k.replace(/^platform:/, ""),
      (() => {
        try {
          return JSON.parse(x);
        } catch {
          return x;
        }
      })(),
    ]),
  );
}
const problems = configProblems;
function release(p: { resources: PlannedResource[] }, chart: string): PlannedResource | undefined {
  return ofType(p as never, RELEASE).find((r) => r.inputs.chart === chart);
}
function podSpec(r: PlannedResource): Record<string, any> {
  const spec = r.inputs.spec as Record<string, any>;
  return spec.template.spec;
}

describe.each(STACK_NAMES)("%s", (stack) => {
  test("every HPA's Resource metric has a source: metrics-server's metrics.k8s.io APIService, verifying kubelets against the cluster CA", async () => {
    const p = await plan(stack);
    const hpas = ofType(p, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
    const resourceMetrics = hpas.flatMap((h) => ((h.inputs.spec as any).metrics as any[]).filter((m) => m.type === "Resource"));
    const ms = release(p, "metrics-server");
    if (resourceMetrics.length > 0) expect(ms).toBeDefined();
    expect(ms).toBeDefined(); // kubectl top and any later HPA need it too
    const v = ms!.inputs.values as Record<string, any>;
    expect(v.apiService.create).toBe(true);
    expect(v.args).toContain("--kubelet-certificate-authority=/etc/kubernetes/cluster-ca/ca.crt");
    expect(JSON.stringify(v)).not.toContain("kubelet-insecure-tls");
    expect(v.extraVolumes).toEqual([{ name: "cluster-ca", configMap: { name: "kube-root-ca.crt" } }]);
    // The approver signs off kubelet-serving CSRs of this cluster's nodes in its VPC only.
    const approver = release(p, "kubelet-csr-approver")!.inputs.values as Record<string, any>;
    expect(approver.providerIpPrefixes).toEqual([cfg(stack).network.vpcCidr]);
    expect(new RegExp(approver.providerRegex).test(`${stack}-general-0`)).toBe(true);
    expect(new RegExp(approver.providerRegex).test(`${stack}-master-2`)).toBe(true);
    expect(new RegExp(approver.providerRegex).test(`other-general-0`)).toBe(false);
  });

  test("every pool that repels pods has a Deployment that selects and tolerates it", async () => {
    const p = await plan(stack);
    const deployments = ofType(p, "kubernetes:apps/v1:Deployment").map(podSpec);
    const pools = (cfg(stack).nodePools as any[]).filter((x) => x.count > 0 && (x.taints ?? []).some((t: any) => t.effect !== "PreferNoSchedule"));
    for (const pool of pools) {
      const runs = deployments.filter(
        (s) =>
          Object.entries(pool.labels ?? {}).every(([k, v]) => s.nodeSelector?.[k] === v) &&
          pool.taints.every((t: any) =>
            (s.tolerations ?? []).some((tol: any) => tol.key === t.key && tol.effect === t.effect && (tol.operator === "Exists" || tol.value === t.value)),
          ),
      );
      expect({ pool: pool.name, deployments: runs.length }).toEqual({ pool: pool.name, deployments: expect.any(Number) });
      expect(runs.length).toBeGreaterThan(0);
    }
    if (stack === "prod1" || stack === "prod2") expect(pools.map((x) => x.name)).toEqual(["order"]);
  });

  test("every container image the platform runs comes through platform:images.registry", async () => {
    const p = await plan(stack);
    const c = cfg(stack);
    const mirror: string = c.images.registry;
    const own: string | undefined = c.harbor?.registry;
    const images = WORKLOADS.flatMap((t) => ofType(p, t)).flatMap((r) => {
      const s = podSpec(r);
      return [...(s.containers ?? []), ...(s.initContainers ?? [])].map((x: any) => x.image as string);
    });
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) {
      const ok = image.startsWith(`${mirror}/`) || (own !== undefined && image.startsWith(`${own}/`));
      expect({ image, ok }).toEqual({ image, ok: true });
    }
    // Chart values: each image key that a template of the pinned chart reads, set to the mirror's project.
    const get = (o: any, path: string) => path.split(".").reduce((x, k) => x?.[k], o);
    const expected: Record<string, Record<string, string>> = {
      "ingress-nginx": { "global.image.registry": mirroredRegistry("registry.k8s.io", mirror) },
      "kube-prometheus-stack": {
        "alertmanager.alertmanagerSpec.image.registry": mirroredRegistry("quay.io", mirror),
        "prometheus.prometheusSpec.image.registry": mirroredRegistry("quay.io", mirror),
        "prometheusOperator.image.registry": mirroredRegistry("quay.io", mirror),
        "prometheusOperator.prometheusConfigReloader.image.registry": mirroredRegistry("quay.io", mirror),
        "prometheusOperator.admissionWebhooks.patch.image.registry": mirroredRegistry("ghcr.io", mirror),
        "kube-state-metrics.image.registry": mirroredRegistry("registry.k8s.io", mirror),
        "prometheus-node-exporter.image.registry": mirroredRegistry("quay.io", mirror),
        "grafana.image.registry": mirroredRegistry("docker.io", mirror),
        "grafana.sidecar.image.registry": mirroredRegistry("quay.io", mirror),
      },
      "fluent-bit": { "image.repository": mirrored("cr.fluentbit.io/fluent/fluent-bit", mirror) },
      "metrics-server": { "image.repository": mirrored("registry.k8s.io/metrics-server/metrics-server", mirror) },
      "kubelet-csr-approver": { "image.repository": mirrored("ghcr.io/postfinance/kubelet-csr-approver", mirror) },
    };
    for (const [chart, keys] of Object.entries(expected)) {
      const values = release(p, chart)!.inputs.values;
      for (const [path, want] of Object.entries(keys)) expect({ chart, path, value: get(values, path) }).toEqual({ chart, path, value: want });
    }
    const csi = release(p, "alibaba-cloud-csi-driver");
    if (csi)
      expect(get(csi.inputs.values, "images.registryVPC")).toBe(`${mirror}/registry-${loadEngineConfig(stack).values["alicloud:region"]}-vpc.ack.aliyuncs.com`);
  });

  test("the ingress chart version is platform:ingress.chartVersion, default 4.15.1 (the line tested on 1.35)", async () => {
    expect(release(await plan(stack), "ingress-nginx")!.inputs.version).toBe("4.15.1");
  });
});

test("platform:ingress.chartVersion is read", async () => {
  const p = await plan("dev", ['platform:ingress={"chartVersion":"4.15.0"}']);
  expect(release(p, "ingress-nginx")!.inputs.version).toBe("4.15.0");
});

describe.each(["prod1", "prod2"])("%s Prometheus storage", (stack) => {
  test("an ESSD StorageClass from the disk CSI driver, Prometheus' volumeClaimTemplate on it, TSDB capped at 85%", async () => {
    const p = await plan(stack);
    const [sc] = ofType(p, "kubernetes:storage.k8s.io/v1:StorageClass");
    expect(sc.inputs).toMatchObject({
      metadata: { name: "essd" },
      provisioner: "diskplugin.csi.alibabacloud.com",
      parameters: { type: "cloud_essd", "diskTags/platform:disk-csi": stack },
      volumeBindingMode: "WaitForFirstConsumer",
    });
    expect(release(p, "alibaba-cloud-csi-driver")!.inputs.version).toBe("1.36.2");
    const spec = (release(p, "kube-prometheus-stack")!.inputs.values as any).prometheus.prometheusSpec;
    expect(spec.storageSpec.volumeClaimTemplate.spec).toEqual({
      storageClassName: "essd",
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "100Gi" } },
    });
    expect(spec.retentionSize).toBe("87040MB");
  });

  test("the controller reaches the cloud API: hostNetwork (past the metadata rule) on the workers only, patched after the release, before the class", async () => {
    const p = await plan(stack);
    const patches = ofType(p, "kubernetes:apps/v1:DeploymentPatch");
    expect(patches).toHaveLength(1);
    const [patch] = patches;
    expect(patch.inputs).toMatchObject({
      metadata: { name: "csi-provisioner", namespace: "kube-system" },
      spec: { template: { spec: { hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" } } },
    });
    const csi = release(p, "alibaba-cloud-csi-driver")!;
    expect(patch.dependsOn).toContain(csi.urn);
    const [sc] = ofType(p, "kubernetes:storage.k8s.io/v1:StorageClass");
    expect(sc.dependsOn).toContain(patch.urn);
    // Required, not preferred: never on a master, where no pod reaches the metadata service; the node plugin neither.
    const workersOnly = [
      {
        matchExpressions: [
          { key: "type", operator: "NotIn", values: ["virtual-kubelet"] },
          { key: "node-role.kubernetes.io/control-plane", operator: "DoesNotExist" },
        ],
      },
    ];
    expect((csi.inputs.values as any).controller.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual(workersOnly);
    expect((csi.inputs.values as any).nodePools).toEqual({ default: { nodeSelectorTerms: workersOnly } });
  });

  test("RAM: the driver's actions only, on the workers' role; none on the masters' (their role reads the PKI)", async () => {
    const p = await plan(stack);
    const policies = Object.fromEntries(
      ofType(p, "alicloud:ram/policy:Policy").map((r) => [r.inputs.policyName as string, JSON.parse(r.inputs.policyDocument as string)]),
    );
    const actions = (name: string) => policies[name].Statement.flatMap((s: any) => s.Action).sort();
    expect(actions(`${stack}-workers-csi-disk-controller`)).toEqual(DISK_CONTROLLER_ACTIONS);
    expect(actions(`${stack}-workers-csi-disk-node`)).toEqual(DISK_NODE_ACTIONS);
    expect(Object.keys(policies).filter((n) => n.startsWith(`${stack}-masters-`) && n.includes("csi"))).toEqual([]);
    for (const name of Object.keys(policies).filter((n) => n.includes("csi-disk"))) {
      for (const a of actions(name)) expect(a).toMatch(/^ecs:/);
    }
    expect(DISK_CONTROLLER_ACTIONS).toEqual(
      expect.arrayContaining([
        "ecs:AttachDisk",
        "ecs:DetachDisk",
        "ecs:CreateDisk",
        "ecs:DeleteDisk",
        "ecs:DescribeDisks",
        "ecs:DescribeInstances",
        "ecs:ModifyDiskAttribute",
      ]),
    );
    const workers = (cfg(stack).nodePools as any[]).reduce((n, x) => n + x.count, 0);
    const attach = ofType(p, "alicloud:ecs/ramRoleAttachment:RamRoleAttachment").filter((r) => r.inputs.ramRoleName === `${stack}-workers`);
    expect(attach).toHaveLength(workers);
  });
});

test("stacks without platform:diskCsi get no driver or class, and their workers' role only for the join token", async () => {
  const p = await plan("dev");
  expect(release(p, "alibaba-cloud-csi-driver")).toBeUndefined();
  expect(ofType(p, "kubernetes:storage.k8s.io/v1:StorageClass")).toHaveLength(0);
  // The workers' role exists on every stack (each worker reads its join token with it, components/cluster/workerToken.ts).
  expect(ofType(p, "alicloud:ram/role:Role").map((r) => r.inputs.roleName)).toEqual(["dev-workers", "dev-masters"]);
});

describe("config", () => {
  test("a tainted pool no app runs on is an error naming the taint's key", () => {
    expect(problems("prod1", "platform:apps.order-service.pool=general")).toEqual([
      'platform:nodePools[1].taints: pool "order" is tainted dedicated=order:NoSchedule but no app runs there; set platform:apps.<app>.pool: order (or remove the taint)',
    ]);
  });
  test("an app's pool must exist", () => {
    expect(problems("prod1", "platform:apps.supply-chain.pool=gpu")).toEqual([
      'platform:apps.supply-chain.pool: no node pool "gpu" in platform:nodePools (pools: general, order)',
    ]);
  });
  test("the essd class needs the driver and an ESSD-sized volume", () => {
    expect(problems("prod1", "platform:diskCsi.enabled=false", "platform:monitoring.storageSize=10Gi")).toEqual([
      'platform:monitoring.storageClass: "essd" needs platform:diskCsi.enabled: true (the driver provisions it)',
      'platform:monitoring.storageSize: an ESSD volume is 20Gi or more, in Gi (e.g. 100Gi); got "10Gi"',
    ]);
  });
  test("a member may not set platform:kubesphere.version", () => {
    expect(problems("prod1", "platform:kubesphere.version=1.1.4")).toEqual([
      "platform:kubesphere.version: only the host sets it; a member's ks-core is installed by the host's cluster controller from the host's chart",
    ]);
  });
  test("images.registry is a registry host with an optional path", () => {
    expect(problems("dev", "platform:images.registry=https://mirror")).toEqual([expect.stringMatching(/^platform:images\.registry: must be a registry host/)]);
  });
});

test("the disk CSI controller's host ports clash with nothing else on a worker's host network", () => {
  const taken = new Map<number, string>(
    Object.entries({ ...NODE_HOST_PORTS, ...DISK_NODE_PLUGIN_HOST_PORTS, [FLANNEL_HEALTHZ_PORT]: "flannel healthz" }).map(([k, v]) => [Number(k), v]),
  );
  const clashes = Object.keys(DISK_CONTROLLER_HOST_PORTS)
    .map(Number)
    .filter((port) => taken.has(port))
    .map((port) => `${port}: ${DISK_CONTROLLER_HOST_PORTS[port]} vs ${taken.get(port)}`);
  expect(clashes).toEqual([]);
  expect(Object.keys(DISK_CONTROLLER_HOST_PORTS)).toHaveLength(6);
});
