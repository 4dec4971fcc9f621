// NetworkPolicy enforcement (T29) as the stacks plan it: one kube-router DaemonSet per cluster, in kube-system,
// with the policy controller alone, the RBAC it reads with, every node tolerated, the mirrored pinned image; and
// the OAP NetworkPolicy wherever tracing is on. That kube-router really enforces it is
// test/k8s/networkPolicyEnforcement.test.ts (the real binary in network namespaces).
import { kubeRouterObjects, KUBE_ROUTER_IMAGE } from "../../components/k8s/networkPolicy";
import { DISK_CONTROLLER_HOST_PORTS, DISK_NODE_PLUGIN_HOST_PORTS } from "../../components/k8s/diskCsi";
import { FLANNEL_HEALTHZ_PORT, KUBE_ROUTER_HEALTH_PORT, NODE_HOST_PORTS } from "../../components/network/ports";
import { ofType, plan, STACK_NAMES } from "../support/offline";
import { validateK8sObjects } from "../support/k8sSchema";

const DS = "kubernetes:apps/v1:DaemonSet";
const NP = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const named = (stack: string, type: string, name: string) => async () =>
  ofType(await plan(stack), type).filter((r) => (r.inputs.metadata as { name: string }).name === name);

test("the objects pass the Kubernetes schema", () => {
  expect(validateK8sObjects(kubeRouterObjects(KUBE_ROUTER_IMAGE))).toEqual([]);
});

test("its health port clashes with nothing else on a node's host network", () => {
  const taken: Record<number, string> = {
    ...NODE_HOST_PORTS,
    ...DISK_NODE_PLUGIN_HOST_PORTS,
    ...DISK_CONTROLLER_HOST_PORTS,
    [FLANNEL_HEALTHZ_PORT]: "flannel healthz",
  };
  expect(KUBE_ROUTER_HEALTH_PORT).toBe(20244);
  expect(taken[KUBE_ROUTER_HEALTH_PORT]).toBeUndefined();
});

test.each(STACK_NAMES)("%s: one kube-router DaemonSet, the policy controller alone, on every node, with read-only RBAC", async (stack) => {
  const [ds, ...more] = await named(stack, DS, "kube-router")();
  expect(more).toEqual([]);
  expect(ds.name).toBe(`${stack}-flannel-daemonset-kube-router`);
  expect((ds.inputs.metadata as { namespace: string }).namespace).toBe("kube-system");
  const pod = (ds.inputs.spec as any).template.spec;
  expect(pod.hostNetwork).toBe(true);
  expect(pod.hostPID).toBeUndefined();
  expect(pod.tolerations).toEqual([
    { operator: "Exists", effect: "NoSchedule" },
    { operator: "Exists", effect: "NoExecute" },
  ]);
  expect(pod.serviceAccountName).toBe("kube-router");
  expect(pod.containers).toHaveLength(1);
  const c = pod.containers[0];
  expect(c.args).toEqual([
    "--run-firewall=true",
    "--run-router=false",
    "--run-service-proxy=false",
    "--health-addr=127.0.0.1",
    "--health-port=20244",
    "--metrics-port=0",
  ]);
  expect(c.securityContext).toEqual({ privileged: false, capabilities: { add: ["NET_ADMIN", "NET_RAW"] } });
  expect(pod.volumes).toEqual([{ name: "xtables-lock", hostPath: { path: "/run/xtables.lock", type: "FileOrCreate" } }]);
  // Pinned to v2.10.0 (not v2.1.0, which has reported security flaws), through the stack's mirror when it has one.
  expect(c.image).toMatch(/^(mirror\.livemall\.internal\/)?docker\.io\/cloudnativelabs\/kube-router:v2\.10\.0$/);
  const [role] = await named(stack, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "kube-router")();
  expect(role.inputs.rules).toEqual([
    { apiGroups: [""], resources: ["namespaces", "nodes", "pods", "services"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["get", "list", "watch"] },
  ]);
  const [binding] = await named(stack, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "kube-router")();
  expect(binding.inputs.subjects).toEqual([{ kind: "ServiceAccount", name: "kube-router", namespace: "kube-system" }]);
});

test("prod1 pulls kube-router through its mirror", async () => {
  const [ds] = await named("prod1", DS, "kube-router")();
  expect((ds.inputs.spec as any).template.spec.containers[0].image).toBe("mirror.livemall.internal/docker.io/cloudnativelabs/kube-router:v2.10.0");
});

test.each(STACK_NAMES)("%s: the OAP and UI NetworkPolicies exactly where tracing is on", async (stack) => {
  const p = await plan(stack);
  const tracing = ofType(p, "kubernetes:helm.sh/v3:Release").some((r) => r.name === `${stack}-tracing-skywalking`);
  const policies = ofType(p, NP);
  expect(policies.map((r) => r.name).sort()).toEqual(
    tracing ? [`${stack}-tracing-networkpolicy-skywalking-oap`, `${stack}-tracing-networkpolicy-skywalking-ui`] : [],
  );
});

test("prod1's OAP NetworkPolicy: 12800 from the UI pods only, 11800 from every namespace, 1234 from monitoring's Prometheus, ingress only", async () => {
  const [np] = await named("prod1", NP, "skywalking-oap")();
  expect(np.inputs.metadata).toEqual({ name: "skywalking-oap", namespace: "tracing" });
  expect(np.inputs.spec).toEqual({
    podSelector: { matchLabels: { app: "skywalking", component: "oap", release: "skywalking" } },
    policyTypes: ["Ingress"],
    ingress: [
      { from: [{ podSelector: { matchLabels: { app: "skywalking", component: "ui", release: "skywalking" } } }], ports: [{ protocol: "TCP", port: 12800 }] },
      { from: [{ namespaceSelector: {} }], ports: [{ protocol: "TCP", port: 11800 }] },
      {
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
            podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
          },
        ],
        ports: [{ protocol: "TCP", port: 1234 }],
      },
    ],
  });
  expect(validateK8sObjects([{ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", ...(np.inputs as object) }])).toEqual([]);
});

test("prod1's UI NetworkPolicy: the UI's port 8080 only from the global ingress-nginx controller pods, ingress only", async () => {
  const [np] = await named("prod1", NP, "skywalking-ui")();
  expect(np.inputs.metadata).toEqual({ name: "skywalking-ui", namespace: "tracing" });
  expect(np.inputs.spec).toEqual({
    podSelector: { matchLabels: { app: "skywalking", component: "ui", release: "skywalking" } },
    policyTypes: ["Ingress"],
    ingress: [
      {
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } },
            podSelector: { matchLabels: { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller" } },
          },
        ],
        ports: [{ protocol: "TCP", port: 8080 }],
      },
    ],
  });
  expect(validateK8sObjects([{ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", ...(np.inputs as object) }])).toEqual([]);
  // The same labels select the controller pods prod1 plans (its topology spread), in the namespace its release installs to.
  const release = ofType(await plan("prod1"), "kubernetes:helm.sh/v3:Release").find((r) => r.name === "prod1-ingress-controller")!;
  expect(release.inputs.namespace).toBe("ingress-nginx");
  expect((release.inputs.values as any).controller.topologySpreadConstraints[0].labelSelector).toEqual({
    matchLabels: { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller" },
  });
});
