// The dependency graph's depth is the floor of a first `pulumi up`: it must not
// grow with the fleet. Workers wait for the network, security groups and join
// secrets, never for each other.
import { dependencyGraph, graphDepth, providerUrn } from "./graphDepth";
import type { PlannedResource } from "../../components/preview/runtime";
import { byName, plan, STACK_NAMES } from "../support/offline";

const STACK_URN = "urn:pulumi:t::platform::pulumi:pulumi:Stack::platform-t";

function res(name: string, over: Partial<PlannedResource> = {}): PlannedResource {
  return {
    urn: `urn:pulumi:t::platform::test:index:Thing::${name}`,
    type: "test:index:Thing",
    name,
    parent: STACK_URN,
    custom: true,
    inputs: {},
    dependsOn: [],
    secret: false,
    aliases: [],
    protect: false,
    secretInputs: [],
    secretDigests: {},
    ...over,
  };
}
const u = (name: string) => `urn:pulumi:t::platform::test:index:Thing::${name}`;

describe("graphDepth on a hand-made plan", () => {
  // vpc -> vsw -> (component pool: a, b) ; lb dependsOn the pool component ; provider p dependsOn lb ; app uses provider p.
  const pool = res("pool", { custom: false, type: "test:index:Pool", urn: "urn:pulumi:t::platform::test:index:Pool::pool" });
  const resources = [
    res("stack", { custom: false, urn: STACK_URN, parent: undefined, type: "pulumi:pulumi:Stack" }),
    res("vpc"),
    res("vsw", { dependsOn: [u("vpc")] }),
    pool,
    res("a", { parent: pool.urn, dependsOn: [u("vsw")] }),
    res("b", { parent: pool.urn, dependsOn: [u("vpc")] }),
    res("lb", { dependsOn: [pool.urn] }),
    res("p", { dependsOn: [u("lb")] }),
    res("app", { provider: `${u("p")}::p-id-1234` }),
    res("ref", { operation: "read", dependsOn: [u("app")] }),
    res("lonely"),
  ];

  it("finds the longest chain through a component dependency and a provider reference", () => {
    const g = graphDepth({ resources });
    expect(g.depth).toBe(6);
    expect(g.chain).toEqual(["vpc", "vsw", "a", "lb", "p", "app"].map(u));
  });

  it("expands a component dependency to its custom children and ignores reads", () => {
    const graph = dependencyGraph({ resources });
    expect(graph.get(u("lb"))!.sort()).toEqual([u("a"), u("b")].sort());
    expect(graph.has(u("ref"))).toBe(false);
    expect(graph.has(pool.urn)).toBe(false);
    expect(graph.get(u("app"))).toEqual([u("p")]);
  });

  it("strips the id from a provider reference", () => {
    expect(providerUrn("urn:pulumi:s::p::pulumi:providers:kubernetes::k8s::04da6b54-80e4-46f7-96ec-b56ff0331ba9")).toBe(
      "urn:pulumi:s::p::pulumi:providers:kubernetes::k8s",
    );
  });

  it("is 0 for a plan without custom resources, and 1 for a lone resource", () => {
    expect(graphDepth({ resources: [] })).toEqual({ depth: 0, chain: [] });
    expect(graphDepth({ resources: [res("x")] })).toEqual({ depth: 1, chain: [u("x")] });
  });

  it("throws on a cycle", () => {
    expect(() => graphDepth({ resources: [res("x", { dependsOn: [u("y")] }), res("y", { dependsOn: [u("x")] })] })).toThrow(/dependency cycle/);
  });
});

describe("prod1's graph as the worker pool grows", () => {
  // A /14 pod range: flannel's /24 per node leaves room for 1024 nodes (prod1's /16 holds 256).
  const scale = (n: number) => [
    `platform:nodePools[0].count=${n}`,
    "platform:nodePools[1].count=0",
    "platform:apps.order-service.pool=general",
    "platform:network.podCidr=10.140.0.0/14",
  ];
  const isWorker = (r: PlannedResource) => r.type === "alicloud:ecs/instance:Instance" && /-general-\d+$/.test(r.name);

  it("has the same depth and chain at 10 and at 1000 workers", async () => {
    const small = graphDepth(await plan("prod1", scale(10)));
    const big = graphDepth(await plan("prod1", scale(1000)));
    expect(small.depth).toBe(14);
    expect(big.depth).toBe(small.depth);
    expect(big.chain).toEqual(small.chain);
  });

  it("has no worker instance waiting for another worker, directly or through others", async () => {
    const p = await plan("prod1", scale(1000));
    const workers = new Set(p.resources.filter(isWorker).map((r) => r.urn));
    expect(workers.size).toBe(1000);
    const graph = dependencyGraph(p);
    // Everything each worker waits for, transitively.
    const reach = new Map<string, Set<string>>();
    const upstream = (urn: string): Set<string> => {
      let hit = reach.get(urn);
      if (hit) return hit;
      hit = new Set<string>();
      reach.set(urn, hit);
      for (const d of graph.get(urn) ?? []) {
        hit.add(d);
        for (const x of upstream(d)) hit.add(x);
      }
      return hit;
    };
    const offenders = [...workers].filter((w) => [...upstream(w)].some((d) => workers.has(d)));
    expect(offenders).toEqual([]);
    // ...and they do wait for what a join needs: their vswitch and security group.
    const w0 = [...workers][0];
    expect([...upstream(w0)].some((d) => d.includes("alicloud:vpc/switch:Switch"))).toBe(true);
    expect([...upstream(w0)].some((d) => d.includes("alicloud:ecs/securityGroup:SecurityGroup"))).toBe(true);
  });
});

describe("each stack's depth, with every edge the real dependency", () => {
  // Before the cuts (bench of 2026-12-07 09:43): prod1 and prod2 19, dev, test and pre 16, host 14 (BENCHMARKS.md, "Dependency graph depth").
  const DEPTH: [string, number][] = [
    ["host", 14],
    ["dev", 13],
    ["test", 13],
    ["pre", 13],
    ["prod1", 14],
    ["prod2", 14],
  ];
  it.each(DEPTH)("%s is %i deep", async (stack, depth) => {
    expect(graphDepth(await plan(stack)).depth).toBe(depth);
  });

  /** What a resource waits for, by name. */
  const waitsFor = async (stack: string, name: string, type?: string) => byName(await plan(stack), name, type).dependsOn.map((u) => u.split("::").pop()!);

  it("keeps the serial HAProxy rollout: the second VM's config waits for the first's", async () => {
    expect(await waitsFor("prod1", "prod1-front-haproxy-cfg-1")).toContain("prod1-front-haproxy-cfg-0");
  });

  it("makes only Prometheus' release wait for the ESSD StorageClass its claim names", async () => {
    expect(await waitsFor("prod1", "prod1-monitoring-kube-prometheus-stack")).toEqual(
      expect.arrayContaining(["prod1-monitoring-namespace", "prod1-monitoring-grafana-admin", "prod1-disk-csi-storageclass-essd"]),
    );
    for (const name of ["prod1-monitoring-namespace", "prod1-monitoring-grafana-admin", "prod1-monitoring-dingtalk-config"]) {
      // (the grafana-admin name is the Secret's and its RandomPassword's)
      expect(await waitsFor("prod1", name, name.endsWith("namespace") ? "kubernetes:core/v1:Namespace" : "kubernetes:core/v1:Secret")).not.toContain(
        "prod1-disk-csi-storageclass-essd",
      );
    }
    // The class itself still waits for a driver that can provision it.
    expect(await waitsFor("prod1", "prod1-disk-csi-storageclass-essd")).toEqual([
      "prod1-readiness",
      "prod1-disk-csi-driver",
      "prod1-disk-csi-controller-host-network",
    ]);
  });

  it("makes only Ingresses wait for ingress-nginx's admission webhook", async () => {
    // prod1's SkyWalking UI has an Ingress (platform:tracing.ui); dev's has none.
    expect(await waitsFor("prod1", "prod1-tracing-skywalking")).toContain("prod1-ingress-controller");
    expect(await waitsFor("dev", "dev-tracing-skywalking")).not.toContain("dev-ingress-controller");
    for (const name of [
      "prod1-tracing-namespace",
      "prod1-tracing-oap-auth",
      "prod1-order-service-deployment-order-service",
      "prod1-order-service-service-order-service",
    ]) {
      expect(await waitsFor("prod1", name)).not.toContain("prod1-ingress-controller");
    }
    expect(await waitsFor("prod1", "prod1-order-service-ingress-order-service")).toContain("prod1-ingress-controller");
    // ingress-nginx's own ServiceMonitor still needs the Prometheus operator's CRDs.
    expect(await waitsFor("prod1", "prod1-ingress-controller")).toContain("prod1-monitoring-kube-prometheus-stack");
  });

  it("makes OAP's ServiceMonitor wait for the operator's CRDs and its namespace, not for OAP", async () => {
    expect((await waitsFor("prod1", "prod1-tracing-oap-servicemonitor")).sort()).toEqual(
      ["prod1-readiness", "prod1-tracing-namespace", "prod1-monitoring-kube-prometheus-stack"].sort(),
    );
  });
});

describe("every Ingress waits for its cluster's ingress controller", () => {
  // ingress-nginx's admission webhook refuses nothing until it runs, and an Ingress applied before it is not validated:
  // every kind: Ingress object must wait, directly or through others, for the controller of the cluster it is applied to
  // (the Release on the same Kubernetes provider).
  it.each(STACK_NAMES.map((s) => [s]))("%s", async (stack) => {
    const p = await plan(stack);
    const graph = dependencyGraph(p);
    const controllers = new Map<string, string>();
    for (const r of p.resources)
      if (r.type === "kubernetes:helm.sh/v3:Release" && r.name.endsWith("-ingress-controller") && r.provider) controllers.set(providerUrn(r.provider), r.urn);
    const ingresses = p.resources.filter((r) => r.type === "kubernetes:networking.k8s.io/v1:Ingress" || r.inputs.kind === "Ingress");
    const reaches = (from: string, to: string): boolean => {
      const seen = new Set<string>();
      const todo = [from];
      while (todo.length) {
        const u = todo.pop()!;
        for (const d of graph.get(u) ?? []) {
          if (d === to) return true;
          if (seen.has(d)) continue;
          seen.add(d);
          todo.push(d);
        }
      }
      return false;
    };
    const offenders = ingresses
      .filter((i) => {
        const controller = i.provider ? controllers.get(providerUrn(i.provider)) : undefined;
        return !controller || !reaches(i.urn, controller);
      })
      .map((i) => i.name);
    expect(offenders).toEqual([]);
    if (stack === "prod1") expect(ingresses.length).toBeGreaterThan(0);
  });
});
