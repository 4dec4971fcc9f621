// The in-cluster platform as planned for every stack: flannel, the global
// ingress, and every Kubernetes object against the Kubernetes schema.
import { diffPlans } from "../../components/preview/planDiff";
import { INGRESS_CONTROLLER } from "../../components/k8s/ingress";
import { byName, ofType, plan, STACK_NAMES } from "../support/offline";
import { validateK8sObject } from "../support/k8sSchema";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const CONSOLE_KINDS = [
  "tenant.kubesphere.io/v1beta1/WorkspaceTemplate",
  "iam.kubesphere.io/v1beta1/WorkspaceRoleBinding",
  "iam.kubesphere.io/v1beta1/GlobalRoleBinding",
  "iam.kubesphere.io/v1beta1/RoleBinding",
  "kubesphere.io/v1alpha1/InstallPlan",
];

describe.each(STACK_NAMES)("%s in-cluster platform", (stack) => {
  test("flannel's Network equals the stack's podCidr, vxlan backend", async () => {
    const p = await plan(stack);
    const cm = ofType(p, "kubernetes:core/v1:ConfigMap").find((c) => (c.inputs.metadata as { name: string }).name === "kube-flannel-cfg")!;
    const netConf = JSON.parse((cm.inputs.data as Record<string, string>)["net-conf.json"]);
    const { loadEngineConfig } = await import("../../components/config/stackFiles");
    const podCidr = JSON.parse(loadEngineConfig(stack).values["platform:network"]).podCidr;
    expect(netConf.Network).toBe(podCidr);
    expect(netConf.Backend.Type).toBe("vxlan");
  });

  test("exactly one ingress controller, watching all namespaces, default IngressClass nginx", async () => {
    const p = await plan(stack);
    const controllers = ofType(p, RELEASE).filter((r) => r.inputs.chart === INGRESS_CONTROLLER.chart);
    expect(controllers).toHaveLength(1);
    const values = controllers[0].inputs.values as { controller: Record<string, any> };
    expect(values.controller.scope.enabled).toBe(false);
    expect(values.controller.ingressClassResource).toMatchObject({ name: "nginx", enabled: true, default: true });
    expect(values.controller.metrics).toMatchObject({ enabled: true, serviceMonitor: { enabled: true } });
    expect(controllers[0].inputs.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test("every Helm release pins a chart version from its repository (https, or an oci:// chart), one release per chart", async () => {
    const p = await plan(stack);
    const releases = ofType(p, RELEASE);
    expect(releases.length).toBeGreaterThanOrEqual(3);
    for (const r of releases) {
      expect(r.inputs.version).toMatch(/^\d+\.\d+\.\d+$/);
      // From an https repository, or an OCI chart (SkyWalking's, oci://...) that carries its registry in `chart`.
      if (String(r.inputs.chart).startsWith("oci://")) expect(r.inputs.repositoryOpts).toBeUndefined();
      else expect((r.inputs.repositoryOpts as { repo: string }).repo).toMatch(/^https:\/\//);
      expect(typeof r.inputs.namespace).toBe("string");
    }
    const charts = releases.map((r) => r.inputs.chart);
    expect(new Set(charts).size).toBe(charts.length);
  });

  test("every Kubernetes object validates against the Kubernetes schema", async () => {
    const p = await plan(stack);
    // A *Patch is a partial object by design (server-side apply of a few fields onto a chart's object,
    // e.g. the disk CSI controller's hostNetwork): its fields are asserted in chartsAndPlacement.test.ts.
    const objects = p.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && r.type !== RELEASE && !r.type.endsWith("Patch"));
    expect(objects.length).toBeGreaterThan(0);
    // A whole secret property shows as "[secret]" in the plan: validate the shape with an empty map there.
    const unmask = (inputs: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v === "[secret]" && (k === "stringData" || k === "data") ? {} : v]));
    const problems = objects.flatMap((r) =>
      validateK8sObject(unmask(r.inputs), {
        // CRD kinds: the console's are checked against their v4.1.3 CRD schemas in test/fleet/console.test.ts;
        // the OAP ServiceMonitor's selector and endpoint in test/k8s/tracing.test.ts.
        allowUnknownKinds: [
          "monitoring.coreos.com/v1/PrometheusRule",
          "monitoring.coreos.com/v1/ServiceMonitor",
          "cluster.kubesphere.io/v1alpha1/Cluster",
          ...CONSOLE_KINDS,
        ],
      }).map((e) => `${r.name}: ${e}`),
    );
    expect(problems).toEqual([]);
  });

  test("every in-cluster resource uses the cluster's provider and waits for the readiness gate", async () => {
    const p = await plan(stack);
    const gate = ofType(p, "pulumi-nodejs:dynamic/cluster:ApiServerReadiness")[0];
    const provider = byName(p, `${stack}-k8s`, "pulumi:providers:kubernetes");
    // The host's KubeSphere registrations go through its registrar provider (the same cluster, upsertExistingObjects on).
    const registrar = p.resources.find((x) => x.name === `${stack}-kubesphere-registrar`);
    for (const r of p.resources.filter((x) => x.custom && x.type.startsWith("kubernetes:"))) {
      const via = r.type === "kubernetes:cluster.kubesphere.io/v1alpha1:Cluster" ? registrar! : provider;
      expect(r.provider).toMatch(new RegExp(`^${via.urn.replace(/[$]/g, "\\$")}::`));
      expect(r.dependsOn).toContain(gate.urn);
    }
  });
});

describe("the ingress SLB follows the worker pools", () => {
  test("every worker is a backend of both listeners; the SLB is intranet", async () => {
    const p = await plan("prod1");
    const [slb] = ofType(p, "alicloud:slb/applicationLoadBalancer:ApplicationLoadBalancer").filter((s) => s.name === "prod1-ingress-slb");
    expect(slb.inputs.addressType).toBe("intranet");
    const attachments = ofType(p, "alicloud:slb/serverGroupServerAttachment:ServerGroupServerAttachment");
    expect(attachments).toHaveLength(2 * 28);
    expect(attachments.filter((a) => a.inputs.port === 30080)).toHaveLength(28);
    expect(attachments.filter((a) => a.inputs.port === 30443)).toHaveLength(28);
    const listeners = ofType(p, "alicloud:slb/listener:Listener").filter((l) => l.name.startsWith("prod1-ingress-"));
    expect(listeners.map((l) => l.inputs.frontendPort).sort()).toEqual([443, 80]);
  });

  test("scaling a pool out adds its new node to the SLB and nothing else changes", async () => {
    const before = await plan("prod1");
    const after = await plan("prod1", ["platform:nodePools[1].count=9"]);
    const d = diffPlans(before.resources, after.resources);
    // Only the workers' report re-counts the pools in place (components/cluster/readiness.ts); no join
    // token is a Pulumi resource (components/cluster/workerToken.ts), so nothing is replaced.
    expect(d.changed.map((c) => c.urn.split("::").pop()).sort()).toEqual(["prod1-nodes-joined"]);
    expect(d.changed.find((c) => c.urn.endsWith("::prod1-nodes-joined"))!.op).toBe("update");
    expect(d.removed).toEqual([]);
    // The new worker also gets the workers' instance role (its join token, the disk CSI node plugin's credentials).
    expect(d.added.map((u) => u.split("::").pop()).sort()).toEqual([
      "prod1-ingress-443-prod1-order-8",
      "prod1-ingress-80-prod1-order-8",
      "prod1-order-8",
      "prod1-worker-role-prod1-order-8",
    ]);
    const att = byName(after, "prod1-ingress-80-prod1-order-8");
    expect(att.dependsOn).toContain(byName(after, "prod1-order-8", "alicloud:ecs/instance:Instance").urn);
  });
});
