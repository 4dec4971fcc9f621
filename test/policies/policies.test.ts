// The policy pack's rules on REAL plans: each policy passes on the planned prod1
// stack and fails once one field of a deep copy is mutated, with the message a
// reviewer reads. Then every stack under its own config file, and the offline
// preview's CLI: policy summary, a mandatory violation's exit code, --diff-from.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { approvedInstanceTypes, deletionProtection, kubernetesBaseline, noPublicIpOnNodes, oddMasters } from "../../policies/rules/nodes";
import { apiServerSlbIntranet, noOpenAdminPorts, parsePortRange } from "../../policies/rules/network";
import { deploymentHygiene, parseImage, singleGlobalIngress } from "../../policies/rules/workloads";
import { secretsNotPlain } from "../../policies/rules/secrets";
import type { PolicyResource } from "../../policies/rules/policy";
import { PlatformPolicy, policiesFromConfig, PolicyStack, POLICY_NAMES, resolvePackConfig, runPolicies } from "../../policies/pack";
import { checkPlan, formatViolations, loadPolicyConfig, planToPolicyStack, policyConfigFileFor } from "../../components/preview/policyCheck";
import { writeArtifacts } from "../../components/preview/preview";
import { plan, previewCli, STACK_NAMES } from "../support/offline";

const ROOT = path.resolve(__dirname, "..", "..");
const PROD = path.join(ROOT, "policies", "config", "prod.json");
const NONPROD = path.join(ROOT, "policies", "config", "nonprod.json");

let prod1: PolicyStack;
let prodConfig: ReturnType<typeof loadPolicyConfig>;

beforeAll(async () => {
  prod1 = planToPolicyStack(await plan("prod1"));
  prodConfig = loadPolicyConfig(PROD);
});

/** prod.json's config for one policy, so a case runs the policy exactly as prod does. */
const cfg = (name: string) => prodConfig.get(name)!.config;

/** A deep copy of prod1 with one mutation applied. */
function mutated(edit: (s: PolicyStack) => void): PolicyStack {
  const copy = structuredClone(prod1);
  edit(copy);
  return copy;
}

function one(s: PolicyStack, name: string, type?: string): PolicyResource {
  const found = s.resources.filter((r) => r.name === name && (!type || r.type === type));
  if (found.length !== 1) throw new Error(`expected one resource named ${name}, found ${found.length}`);
  return found[0];
}

function messages(s: PolicyStack, policy: PlatformPolicy): string[] {
  return runPolicies(s, [policy]).map((v) => v.message);
}

const obj = (v: unknown) => v as Record<string, any>;

describe("each policy passes on the planned prod1 stack and fails on one mutated field", () => {
  test("no-public-ip-on-nodes: a worker with outbound bandwidth, an EIP on an ECS instance", () => {
    const p = noPublicIpOnNodes("mandatory");
    expect(messages(prod1, p)).toEqual([]);
    const bad = mutated((s) => {
      one(s, "prod1-general-3").props.internetMaxBandwidthOut = 10;
      one(s, "prod1-nat-eip", "alicloud:ecs/eipAssociation:EipAssociation").props.instanceType = "EcsInstance";
    });
    expect(messages(bad, p).sort()).toEqual([
      "prod1-general-3: internetMaxBandwidthOut is 10; nodes get no public IP (set 0: egress goes through the NAT gateway)",
      "prod1-nat-eip: associates an EIP with an ECS instance; nodes get no public IP (EIPs belong on the NAT gateway)",
    ]);
    const v = runPolicies(bad, [p]).find((x) => x.message.startsWith("prod1-general-3"));
    expect(v).toMatchObject({ policy: "no-public-ip-on-nodes", level: "mandatory", urn: one(bad, "prod1-general-3").urn });
  });

  test("no-open-admin-ports: the front's 6443 opened to 0.0.0.0/0, and an all-ports rule", () => {
    const p = noOpenAdminPorts("mandatory", cfg("no-open-admin-ports"));
    expect(messages(prod1, p)).toEqual([]);
    const bad = mutated((s) => {
      one(s, "prod1-front-tcp-6443-6443-from-10-40-0-0-16").props.cidrIp = "0.0.0.0/0";
      Object.assign(one(s, "prod1-workers-tcp-30000-32767-from-10-40-0-0-16").props, { cidrIp: "0.0.0.0/0", portRange: "-1/-1", ipProtocol: "all" });
    });
    expect(messages(bad, p)).toEqual([
      "prod1-workers-tcp-30000-32767-from-10-40-0-0-16: ingress from 0.0.0.0/0 on all -1/-1 opens admin port(s) 22, 2379, 2380, 6443, 10250 beyond the private ranges (e.g. 0.0.0.0); admit only 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or no-open-admin-ports.allowedCidrs of the pack config",
      "prod1-front-tcp-6443-6443-from-10-40-0-0-16: ingress from 0.0.0.0/0 on tcp 6443/6443 opens admin port(s) 6443 beyond the private ranges (e.g. 0.0.0.0); admit only 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or no-open-admin-ports.allowedCidrs of the pack config",
    ]);
    // NodePorts open to the world are not admin ports (the ingress SLB is intranet anyway).
    const nodePorts = mutated((s) => (one(s, "prod1-workers-tcp-30000-32767-from-10-40-0-0-16").props.cidrIp = "0.0.0.0/0"));
    expect(messages(nodePorts, p)).toEqual([]);
  });

  test("api-server-slb-intranet: the front SLB made internet-facing, found by name or by its 6443 listener", () => {
    const p = apiServerSlbIntranet("mandatory");
    expect(messages(prod1, p)).toEqual([]);
    const bad = mutated((s) => (one(s, "prod1-front-slb").props.addressType = "internet"));
    expect(messages(bad, p)).toEqual([
      "prod1-front-slb: the api-server SLB has addressType internet; it must be intranet (6443 is reached over the VPC and IPsec only)",
    ]);
    // Renamed, it is still the SLB the 6443 listener depends on; unset means Alibaba's default, internet.
    const renamed = mutated((s) => {
      const slb = one(s, "prod1-front-slb");
      slb.name = "prod1-renamed";
      slb.props.loadBalancerName = "prod1-lb";
      delete slb.props.addressType;
    });
    expect(messages(renamed, p)).toEqual([
      "prod1-renamed: the api-server SLB has addressType internet (the default); it must be intranet (6443 is reached over the VPC and IPsec only)",
    ]);
    // The ingress SLB is not the api-server's: its addressType is another policy's business.
    const ingress = mutated((s) => (one(s, "prod1-ingress-slb").props.addressType = "internet"));
    expect(messages(ingress, p)).toEqual([]);
  });

  test("deletion-protection: a master without it, an SLB with it off", () => {
    const p = deletionProtection("mandatory");
    expect(messages(prod1, p)).toEqual([]);
    const bad = mutated((s) => {
      one(s, "prod1-master-1").props.deletionProtection = false;
      one(s, "prod1-ingress-slb").props.deleteProtection = "off";
    });
    expect(messages(bad, p).sort()).toEqual([
      'prod1-ingress-slb: deleteProtection is "off"; must be "on"',
      "prod1-master-1: deletionProtection is false; must be true",
    ]);
  });

  test("odd-masters: one master removed leaves an even count; one master is below prod's minimum", () => {
    const p = oddMasters("mandatory", cfg("odd-masters"));
    expect(messages(prod1, p)).toEqual([]);
    const even = mutated((s) => (s.resources = s.resources.filter((r) => r.name !== "prod1-master-2")));
    expect(messages(even, p)).toEqual(["prod1 has 2 masters: an even count tolerates no more failures than 1 (etcd needs a majority); use an odd number"]);
    const single = mutated((s) => (s.resources = s.resources.filter((r) => !/^prod1-master-[12]$/.test(r.name))));
    expect(messages(single, p)).toEqual(["prod1 has 1 master(s); at least 3 are required"]);
    // Found by name too, when the role tag is missing.
    const untagged = mutated((s) => {
      for (const r of s.resources) if (/^prod1-master-\d$/.test(r.name)) delete obj(r.props.tags)["platform:role"];
      s.resources = s.resources.filter((r) => r.name !== "prod1-master-0");
    });
    expect(messages(untagged, p)).toHaveLength(1);
  });

  test("approved-instance-types: a burstable worker", () => {
    const p = approvedInstanceTypes("mandatory", cfg("approved-instance-types"));
    expect(messages(prod1, p)).toEqual([]);
    const bad = mutated((s) => (one(s, "prod1-order-2").props.instanceType = "ecs.t6-c1m1.large"));
    expect(messages(bad, p)).toEqual([
      "prod1-order-2: instance type ecs.t6-c1m1.large is not approved (approved: ecs.c6.large, ecs.c6.xlarge, ecs.g6.2xlarge, ecs.g6.4xlarge, ecs.g6.8xlarge)",
    ]);
    expect(messages(bad, approvedInstanceTypes("mandatory", { approvedTypes: ["ecs.g6.*", "ecs.c6.*", "ecs.t6-c1m1.*"] }))).toEqual([]);
  });

  test("kubernetes-baseline: flannel on host-gw, a node on another version, a node without the tag", () => {
    const p = kubernetesBaseline("mandatory", cfg("kubernetes-baseline"));
    expect(messages(prod1, p)).toEqual([]);
    expect(obj(one(prod1, "prod1-master-0").props.tags)["platform:kubernetes-version"]).toBe("1.35.4");
    const bad = mutated((s) => {
      const cm = one(s, "prod1-flannel-configmap-kube-flannel-cfg");
      const data = obj(cm.props.data);
      data["net-conf.json"] = JSON.stringify({ ...JSON.parse(data["net-conf.json"]), Backend: { Type: "host-gw" } });
      obj(one(s, "prod1-general-0").props.tags)["platform:kubernetes-version"] = "1.34.2";
      delete obj(one(s, "prod1-master-0").props.tags)["platform:kubernetes-version"];
    });
    expect(messages(bad, p)).toEqual([
      "prod1-master-0: no platform:kubernetes-version tag, so nobody can tell which Kubernetes it runs",
      "prod1-general-0: Kubernetes 1.34.2 is not an approved version (1.35.4); to upgrade, add it to kubernetes-baseline.kubernetesVersions in policies/config/prod.json (the pack config prod1 runs under) in the same PR",
      'prod1-flannel-configmap-kube-flannel-cfg: flannel Backend.Type is "host-gw"; the baseline is vxlan',
    ]);
    const noFlannel = mutated((s) => (s.resources = s.resources.filter((r) => r.name !== "prod1-flannel-configmap-kube-flannel-cfg")));
    expect(messages(noFlannel, p)).toEqual(["prod1: no kube-flannel-cfg ConfigMap; the cluster's pod network is not declared"]);
  });

  describe("deployment-hygiene", () => {
    const p = () => deploymentHygiene("mandatory", cfg("deployment-hygiene"));
    const appContainer = (s: PolicyStack, deployment: string) => obj(one(s, deployment).props).spec.template.spec.containers[0];

    test("passes on prod1; an exemption in config skips exactly the checks it names", () => {
      expect(messages(prod1, p())).toEqual([]);
      const noPdb = mutated((s) => (s.resources = s.resources.filter((r) => r.name !== "prod1-order-service-poddisruptionbudget-order-service")));
      const base = cfg("deployment-hygiene");
      const exempt = (checks: string[]) =>
        deploymentHygiene("mandatory", { ...base, exemptions: { ...(base.exemptions as object), "commerce/order-service": { checks, reason: "test" } } });
      expect(messages(noPdb, exempt(["pdb"]))).toEqual([]);
      expect(messages(noPdb, exempt(["probes"]))).toEqual([
        "Deployment commerce/order-service: 24 replicas but no PodDisruptionBudget selects its pods: a node drain may evict them all at once",
      ]);
    });

    test("latest, untagged and non-release images", () => {
      const bad = mutated((s) => {
        const img = appContainer(s, "prod1-order-service-deployment-order-service");
        img.image = img.image.replace(/:[^:]+$/, ":latest");
        const dc = appContainer(s, "prod1-distribution-center-deployment-distribution-center");
        dc.image = dc.image.replace(/:[^:]+$/, "");
        const sc = appContainer(s, "prod1-supply-chain-deployment-supply-chain");
        sc.image = sc.image.replace(/:[^:]+$/, ":20261127-142");
      });
      // Sorted: the Deployments register once their Secrets resolve, so plan order between apps is not fixed.
      expect(messages(bad, p()).sort()).toEqual([
        "Deployment commerce/distribution-center: container app runs harbor.livemall.internal/commerce/distribution-center without a tag (it means :latest)",
        'Deployment commerce/order-service: container app runs harbor.livemall.internal/commerce/order-service:latest: tag "latest" moves, so nobody can tell or roll back which build runs',
        'Deployment scm/supply-chain: container app runs harbor.livemall.internal/scm/supply-chain:20261127-142: tag "20261127-142" is not a release tag (prod1 takes git tags such as v2.3.1 or supply-chain-v2.3.1)',
      ]);
    });

    test("a removed PodDisruptionBudget, too few replicas", () => {
      const noPdb = mutated((s) => (s.resources = s.resources.filter((r) => r.name !== "prod1-order-service-poddisruptionbudget-order-service")));
      expect(messages(noPdb, p())).toEqual([
        "Deployment commerce/order-service: 24 replicas but no PodDisruptionBudget selects its pods: a node drain may evict them all at once",
      ]);
      const single = mutated((s) => (obj(one(s, "prod1-supply-chain-deployment-supply-chain").props).spec.replicas = 1));
      expect(messages(single, p())).toEqual(["Deployment scm/supply-chain: 1 replica(s); at least 2 (one pod is an outage during a node drain or rollout)"]);
    });

    test("probes on the app container, requests on every container including the log-tail sidecars", () => {
      const bad = mutated((s) => {
        delete appContainer(s, "prod1-order-service-deployment-order-service").readinessProbe;
        const pod = obj(one(s, "prod1-supply-chain-deployment-supply-chain").props).spec.template.spec;
        // The tracing agent's copy step runs first; log-tail-0 is a native sidecar (restartPolicy Always).
        const tail = pod.initContainers.find((c: { name: string }) => c.name === "log-tail-0");
        expect(tail.restartPolicy).toBe("Always");
        delete tail.resources.requests.cpu;
      });
      expect(messages(bad, p())).toEqual([
        "Deployment commerce/order-service: container app has no readinessProbe",
        "Deployment scm/supply-chain: container log-tail-0 has no cpu request",
      ]);
    });

    test("a canary runs one pod by design; dev/test take build tags, not release tags", async () => {
      const pre = planToPolicyStack(await plan("pre"));
      const preCfg = loadPolicyConfig(NONPROD).get("deployment-hygiene")!.config;
      expect(messages(pre, deploymentHygiene("advisory", { ...preCfg, minReplicas: 2 }))).toEqual([]);
      const dev = structuredClone(planToPolicyStack(await plan("dev")));
      const d = dev.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && obj(r.props).metadata.name === "order-service")!;
      const c = obj(d.props).spec.template.spec.containers[0];
      expect(messages(dev, deploymentHygiene("advisory", preCfg))).toEqual([]);
      c.image = c.image.replace(/:[^:]+$/, ":order-service-v2.3.0");
      expect(messages(dev, deploymentHygiene("advisory", preCfg))).toEqual([
        expect.stringContaining('tag "order-service-v2.3.0" is not a build tag (dev takes CI builds YYYYMMDD-<build>'),
      ]);
    });
  });

  test("single-global-ingress: a second ingress-nginx release, a namespace-scoped controller", () => {
    const p = singleGlobalIngress("mandatory", cfg("single-global-ingress"));
    expect(messages(prod1, p)).toEqual([]);
    const bad = mutated((s) => {
      const release = one(s, "prod1-ingress-controller");
      s.resources.push({
        ...structuredClone(release),
        name: "prod1-ingress-commerce",
        urn: release.urn.replace(/::prod1-ingress-controller$/, "::prod1-ingress-commerce"),
      });
      obj(obj(release.props.values).controller).scope = { enabled: true, namespace: "commerce" };
    });
    expect(messages(bad, p)).toEqual([
      "prod1-ingress-commerce: a second ingress-nginx release (2 in the stack); one global controller serves every namespace",
      "prod1-ingress-controller: controller.scope.enabled is true; the global controller must watch every namespace",
    ]);
    const none = mutated((s) => (s.resources = s.resources.filter((r) => r.name !== "prod1-ingress-controller")));
    expect(messages(none, p)).toEqual(["prod1: no ingress-nginx release; the cluster needs its one global ingress controller"]);
  });

  test("secrets-not-plain: plain user data, Secret data, IKE config, kubeconfig output, literal env, credential ConfigMap key", () => {
    const p = secretsNotPlain("mandatory", cfg("secrets-not-plain"));
    expect(messages(prod1, p)).toEqual([]);
    const unmark = (r: PolicyResource, path: string) => (r.secretPaths = r.secretPaths!.filter((x) => x !== path));
    const bad = mutated((s) => {
      unmark(one(s, "prod1-master-0"), "userData");
      unmark(one(s, "prod1-monitoring-grafana-admin", "kubernetes:core/v1:Secret"), "stringData");
      unmark(one(s, "prod1-fleet-to-dc-prod1"), "tunnelOptionsSpecifications");
      s.secretOutputs = s.secretOutputs!.filter((o) => o !== "kubeconfig");
      obj(one(s, "prod1-order-service-deployment-order-service").props).spec.template.spec.containers[0].env.push({ name: "DB_PASSWORD", value: "hunter2" });
      obj(one(s, "prod1-flannel-configmap-kube-flannel-cfg").props.data)["registry-token"] = "abc";
    });
    expect(messages(bad, p).sort()).toEqual(
      [
        "prod1-master-0: userData holds the user data (bootstrap token, certificate key, CA key) and is plain; wrap it in pulumi.secret()",
        "prod1-monitoring-grafana-admin: Secret stringData is plain; wrap it in pulumi.secret()",
        "prod1-fleet-to-dc-prod1: tunnelOptionsSpecifications holds the tunnels' IKE config (pre-shared key) and is plain; wrap it in pulumi.secret()",
        "stack output kubeconfig is plain; export it with pulumi.secret()",
        "prod1-order-service-deployment-order-service: container app sets DB_PASSWORD as a literal env value; take it from a Secret (valueFrom.secretKeyRef)",
        "prod1-flannel-configmap-kube-flannel-cfg: ConfigMap key registry-token looks like a credential; ConfigMaps are plain, use a Secret",
      ].sort(),
    );
    // CrossGuard gives no secret markers: only what plaintext shows is checked, with no false alarms.
    const crossGuardView = mutated((s) => {
      for (const r of s.resources) delete r.secretPaths;
      delete s.secretOutputs;
    });
    expect(messages(crossGuardView, p)).toEqual([]);
  });
});

describe("stack rules see what CrossGuard hands them: a component's registered outputs, never its inputs", () => {
  // pulumi/pulumi pkg/resource/deploy/step_generator.go: AnalyzeStack gets each resource's outputs;
  // @pulumi/policy PolicyResource.props: "The outputs of the resource". A component's outputs are
  // what it passed to registerOutputs.
  const COMPONENTS = ["platform:k8s:JavaApp", "platform:compute:NodePool", "platform:cluster:Cluster"];

  test("prod1 with its components' inputs emptied still passes every mandatory rule (the rules read the outputs)", async () => {
    const p = structuredClone(await plan("prod1"));
    for (const r of p.resources) if (COMPONENTS.includes(r.type)) r.inputs = {};
    expect(checkPlan(p, prodConfig).filter((v) => v.level === "mandatory")).toEqual([]);
  });

  test("the fields those rules read are registered outputs of JavaApp, NodePool and Cluster", async () => {
    const p = await plan("prod1");
    const outputs = (name: string, type: string) => p.resources.find((r) => r.name === name && r.type === type)!.outputs!;
    expect(outputs("prod1-supply-chain", "platform:k8s:JavaApp")).toMatchObject({
      app: "supply-chain",
      validatedInPre: ["supply-chain-v3.1.2", "supply-chain-v3.1.1"],
    });
    expect(outputs("prod1-order", "platform:compute:NodePool")).toMatchObject({
      pool: "order",
      labels: { "node.kubernetes.io/pool": "order" },
      taints: [{ effect: "NoSchedule", key: "dedicated", value: "order" }],
    });
    expect(outputs("prod1", "platform:cluster:Cluster")).toMatchObject({ kubernetesVersion: "1.35.4" });
  });

  test("a field only in a component's inputs is invisible to stack rules", async () => {
    const p = structuredClone(await plan("prod1"));
    const app = p.resources.find((r) => r.name === "prod1-supply-chain" && r.type === "platform:k8s:JavaApp")!;
    delete app.outputs!.validatedInPre;
    expect(app.inputs.validatedInPre).toEqual(["supply-chain-v3.1.2", "supply-chain-v3.1.1"]);
    expect(checkPlan(p, prodConfig).map((v) => [v.level, v.policy, v.message])).toEqual([
      [
        "mandatory",
        "validated-in-pre",
        "prod1-supply-chain-deployment-supply-chain: scm/supply-chain is an app Deployment but the plan carries no list of the tags pre validated for supply-chain (its JavaApp component's validatedInPre); prod runs only what pre validated",
      ],
    ]);
    expect(planToPolicyStack(p).resources.find((r) => r.urn === app.urn)!.props).not.toHaveProperty("validatedInPre");
    // Resource policies still see inputs (the engine analyses each resource as registered).
    expect(planToPolicyStack(p, "resource").resources.find((r) => r.urn === app.urn)!.props).toHaveProperty("validatedInPre");
  });
});

describe("pure helpers", () => {
  test("portRange and image parsing", () => {
    expect(parsePortRange("2379/2380")).toEqual([2379, 2380]);
    expect(parsePortRange("-1/-1")).toEqual([1, 65535]);
    expect(parsePortRange("6443")).toBeUndefined();
    expect(parsePortRange("10/5")).toBeUndefined();
    expect(parseImage("registry:5000/a/b:v1")).toEqual({ repository: "registry:5000/a/b", tag: "v1", digest: undefined });
    expect(parseImage("registry:5000/a/b")).toEqual({ repository: "registry:5000/a/b", digest: undefined });
    expect(parseImage("busybox@sha256:abc")).toEqual({ repository: "busybox", digest: "sha256:abc" });
  });
});

describe("policy config files", () => {
  test("prod.json makes every policy mandatory, nonprod.json advisory with deletion protection off", () => {
    const prod = loadPolicyConfig(PROD);
    const nonprod = loadPolicyConfig(NONPROD);
    expect([...prod.keys()]).toEqual(POLICY_NAMES);
    expect(POLICY_NAMES).toHaveLength(22);
    for (const name of POLICY_NAMES) expect(prod.get(name)!.level).toBe("mandatory");
    for (const name of POLICY_NAMES) expect(nonprod.get(name)!.level).toBe(name === "deletion-protection" ? "disabled" : "advisory");
    expect(policiesFromConfig(nonprod).map((p) => p.name)).not.toContain("deletion-protection");
    expect(policyConfigFileFor("prod2")).toBe(PROD);
    expect(policyConfigFileFor("pre")).toBe(NONPROD);
    // The host holds every member's credential: the prod rules (docs/threat-model.md, T20).
    expect(policyConfigFileFor("host")).toBe(PROD);
  });

  test("typos and wrong types are refused, naming the key", () => {
    expect(() => resolvePackConfig({ all: "mandatory", "odd-master": { minimum: 3 } })).toThrow('"odd-master" is not a policy of this pack');
    expect(() => resolvePackConfig({ "odd-masters": { minimun: 3 } })).toThrow("odd-masters.minimun is not a setting of odd-masters (minimum)");
    expect(() => resolvePackConfig({ "odd-masters": { minimum: "3" } })).toThrow("odd-masters.minimum must be a whole number");
    expect(() => resolvePackConfig({ "approved-instance-types": { approvedTypes: "ecs.g6.large" } })).toThrow(
      "approved-instance-types.approvedTypes must be a list",
    );
    expect(() => resolvePackConfig({ all: "blocking" })).toThrow("all must be one of advisory, mandatory, disabled");
    expect(() => resolvePackConfig({ "odd-masters": { enforcementLevel: "remediate" } })).toThrow("odd-masters.enforcementLevel must be one of");
    const r = resolvePackConfig({ all: "mandatory", "odd-masters": { enforcementLevel: "advisory", minimum: 5 }, "deletion-protection": "disabled" });
    expect(r.get("odd-masters")).toEqual({ level: "advisory", config: { minimum: 5 } });
    expect(r.get("deletion-protection")!.level).toBe("disabled");
    expect(r.get("no-public-ip-on-nodes")!.level).toBe("mandatory");
  });
});

describe("every stack under its own config file", () => {
  test.each(STACK_NAMES)("%s: no violations at all", async (stack) => {
    const p = await plan(stack);
    const violations = checkPlan(p, loadPolicyConfig(policyConfigFileFor(stack)));
    expect(formatViolations(violations)).toBe("policies: 0 mandatory, 0 advisory violations");
  });

  test("a non-prod stack under prod.json is held to prod's bar (one master, one-replica apps, its own Kubernetes)", async () => {
    const v = checkPlan(await plan("dev"), loadPolicyConfig(PROD));
    const policies = new Set(v.map((x) => x.policy));
    // credential-endpoints: dev's Apollo and Elasticsearch are not prod's (docs/threat-model.md, T3-T5).
    expect(policies).toEqual(
      // validated-in-pre: dev's apps carry no list of pre's validated tags (only prod stacks record it, T21).
      new Set([
        "deletion-protection",
        "odd-masters",
        "approved-instance-types",
        "kubernetes-baseline",
        "deployment-hygiene",
        "credential-endpoints",
        "validated-in-pre",
      ]),
    );
    expect(v.every((x) => x.level === "mandatory")).toBe(true);
    expect(v.map((x) => x.message)).toEqual(
      expect.arrayContaining([
        "dev has 1 master(s); at least 3 are required",
        "Deployment commerce/distribution-center: 1 replica(s); at least 2 (one pod is an outage during a node drain or rollout)",
        expect.stringMatching(
          /^dev-master-0: Kubernetes 1\.36\.2 is not an approved version \(1\.35\.4\); to upgrade, add it to kubernetes-baseline\.kubernetesVersions/,
        ),
      ]),
    );
  });
});

describe("the offline preview runs the policies", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policies-cli-"));
  const base = path.join(dir, "plan.json");
  // Each CLI run is a fresh ts-node process: two at a time, started together.
  let diffRun: ReturnType<typeof previewCli>;
  let badType: ReturnType<typeof previewCli>;
  let latest: ReturnType<typeof previewCli>;
  beforeAll(async () => {
    // The base plan, written as `--out` writes it (same planJson), from the in-process plan.
    writeArtifacts(dir, await plan("prod1"));
    diffRun = previewCli("prod1", "-c", "platform:nodePools[0].count=21", "--diff-from", base);
    badType = previewCli("prod1", "-c", "platform:nodePools[0].instanceType=ecs.t6-c1m1.large", "--json");
    latest = diffRun.then(() => previewCli("prod1", "-c", "platform:apps.order-service.tag=latest"));
  });
  afterAll(async () => {
    await Promise.allSettled([diffRun, badType, latest]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("prod1 exits 0; --diff-from prints only the change (the scaled-out node), then the policy summary", async () => {
    const r = await diffRun;
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("\npolicies: 0 mandatory, 0 advisory violations (policies/config/prod.json)\n");
    // Diff mode: no tree unless --tree; the diff comes before the policies.
    expect(r.stdout).not.toContain("pulumi:pulumi:Stack");
    expect(r.stdout).toContain("Overrides for this run only (-c, not saved): platform:nodePools[0].count=21\n");
    expect(r.stdout.indexOf("policies:")).toBeGreaterThan(r.stdout.indexOf(`Changes against ${base} (stack prod1):`));
    const section = r.stdout.slice(r.stdout.indexOf(`Changes against ${base} (stack prod1):`));
    // The node, its two ingress SLB backends and its workers' role attachment (its join token, disk CSI
    // node plugin credentials), and the workers' report re-counting in place (readiness.ts); nothing
    // removed, nothing replaced (no join token is a Pulumi resource, workerToken.ts).
    const rows = section.split("\n").filter((l) => /^ {2}(\+-|[+~!-]) /.test(l));
    expect(rows).toEqual([
      "  ~  pulumi-nodejs:dynamic:ApiServerReadiness prod1-nodes-joined  update",
      "  +  alicloud:ecs:RamRoleAttachment prod1-worker-role-prod1-general-20",
      "  +  alicloud:ecs:Instance prod1-general-20  ecs.g6.4xlarge, zone g:1",
      "  +  alicloud:slb:ServerGroupServerAttachment prod1-ingress-80-prod1-general-20",
      "  +  alicloud:slb:ServerGroupServerAttachment prod1-ingress-443-prod1-general-20",
    ]);
    expect(section).toMatch(/^Plan: 4 to create, 1 to update, 0 to update with the instance stopped, 0 to replace, 0 to delete; \d+ unchanged$/m);
    expect(section).toContain("Instances by type: ecs.g6.4xlarge 28 -> 29 (+1)");
  });

  test("a node type outside the approved list is a mandatory violation: exit 1 naming the policy; --json lists it", async () => {
    const r = await badType;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Offline preview of stack prod1: 20 mandatory policy violation(s) (approved-instance-types)");
    const doc = JSON.parse(r.stdout);
    expect(doc.policies).toHaveLength(20);
    expect(doc.policies[0]).toEqual({
      policy: "approved-instance-types",
      level: "mandatory",
      urn: "urn:pulumi:prod1::platform::platform:compute:NodePool$alicloud:ecs/instance:Instance::prod1-general-0",
      message:
        "prod1-general-0: instance type ecs.t6-c1m1.large is not approved (approved: ecs.c6.large, ecs.c6.xlarge, ecs.g6.2xlarge, ecs.g6.4xlarge, ecs.g6.8xlarge)",
    });
    expect(doc).not.toHaveProperty("diff");
  });

  test("tag=latest is caught by config validation first, naming the key, before any policy runs", async () => {
    const r = await latest;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('platform:apps.order-service.tag: tag "latest" is refused');
    expect(r.stdout).not.toContain("policies:");
  });

  test("the level comes from the config file: the same plan under nonprod.json is advisory; a missing file is refused", async () => {
    const p = await plan("prod1", ["platform:nodePools[0].instanceType=ecs.t6-c1m1.large"]);
    const v = checkPlan(p, loadPolicyConfig(NONPROD));
    expect(v).toHaveLength(20);
    expect(new Set(v.map((x) => `${x.level} ${x.policy}`))).toEqual(new Set(["advisory approved-instance-types"]));
    expect(formatViolations(v.slice(0, 1), NONPROD).split("\n")).toEqual([
      `policies: 0 mandatory, 1 advisory violations (${path.relative(process.cwd(), NONPROD)})`,
      "    [advisory] approved-instance-types: prod1-general-0: instance type ecs.t6-c1m1.large is not approved (approved: ecs.c6.large, ecs.c6.xlarge, ecs.g6.xlarge, ecs.g6.2xlarge, ecs.g6.4xlarge, ecs.g6.8xlarge)",
      "        urn:pulumi:prod1::platform::platform:compute:NodePool$alicloud:ecs/instance:Instance::prod1-general-0",
    ]);
    expect(() => loadPolicyConfig(path.join(dir, "missing.json"))).toThrow(/policy config .*missing\.json: ENOENT/);
  });
});
