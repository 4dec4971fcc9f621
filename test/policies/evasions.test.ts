// The walk-arounds of issue 18, each tried on the REAL planned prod1 stack (a stack
// file override or one mutated field) under prod.json: the violation, the evasion
// that used to pass and is now caught, and the README's own examples passing.
import { credentialShape } from "../../policies/rules/secrets";
import { imageRepositoryOf, trustedSources, underPrefix } from "../../policies/rules/sources";
import { noOpenAdminPorts } from "../../policies/rules/network";
import { deploymentHygiene } from "../../policies/rules/workloads";
import { kubernetesBaseline } from "../../policies/rules/nodes";
import { secretsNotPlain } from "../../policies/rules/secrets";
import type { PolicyResource, PolicyStack } from "../../policies/rules/policy";
import { PlatformPolicy, runPolicies } from "../../policies/pack";
import { checkPlan, loadPolicyConfig, planToPolicyStack, policyConfigFileFor } from "../../components/preview/policyCheck";
import { plan, preValidating } from "../support/offline";

const prodConfig = loadPolicyConfig(policyConfigFileFor("prod1"));
const cfg = (name: string) => prodConfig.get(name)!.config;
const prodPlan = (overrides: string[] = [], extra: Parameters<typeof plan>[2] = {}) => plan("prod1", overrides, extra);

let prod1: PolicyStack;
beforeAll(async () => {
  prod1 = planToPolicyStack(await prodPlan());
});

function mutated(edit: (s: PolicyStack) => void): PolicyStack {
  const copy = structuredClone(prod1);
  edit(copy);
  return copy;
}
const one = (s: PolicyStack, name: string): PolicyResource => {
  const found = s.resources.filter((r) => r.name === name);
  if (found.length !== 1) throw new Error(`expected one ${name}, found ${found.length}`);
  return found[0];
};
const messages = (s: PolicyStack, p: PlatformPolicy) => runPolicies(s, [p]).map((v) => v.message);
const any = (v: unknown) => v as Record<string, any>;

describe("no-open-admin-ports judges address space", () => {
  const p = () => noOpenAdminPorts("mandatory", cfg("no-open-admin-ports"));

  test("eight /3 data-centre 'subnets' covering IPv4 outside 10/8 no longer open 6443: each is caught", () => {
    const slash3s = ["32.0.0.0/3", "64.0.0.0/3", "96.0.0.0/3", "128.0.0.0/3", "160.0.0.0/3", "192.0.0.0/3", "224.0.0.0/3", "0.0.0.0/5"];
    const bad = mutated((s) => {
      const template = one(s, "prod1-front-tcp-6443-from-dc-0");
      s.resources = s.resources.filter((r) => !r.name.startsWith("prod1-front-tcp-6443-from-dc-"));
      slash3s.forEach((cidr, i) =>
        s.resources.push({
          ...structuredClone(template),
          name: `prod1-front-tcp-6443-from-dc-${i}`,
          urn: `${template.urn}-${i}`,
          props: { ...template.props, cidrIp: cidr },
        }),
      );
    });
    const found = messages(bad, p());
    expect(found).toHaveLength(8);
    expect(found[1]).toBe(
      "prod1-front-tcp-6443-from-dc-1: ingress from 64.0.0.0/3 on tcp 6443/6443 opens admin port(s) 6443 beyond the private ranges (e.g. 64.0.0.0); " +
        "admit only 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or no-open-admin-ports.allowedCidrs of the pack config",
    );
  });

  test("neighbours: a public /32, 0.0.0.0/1, a range straddling 172.16/12, IPv6 ::/1, SLB health-check space on 22 are caught; private ranges pass", () => {
    const rule = "prod1-front-tcp-6443-6443-from-10-40-0-0-16";
    const verdict = (props: Record<string, unknown>) =>
      messages(
        mutated((s) => Object.assign(one(s, rule).props, props)),
        p(),
      );
    expect(verdict({ cidrIp: "203.0.113.7/32" })).toHaveLength(1);
    expect(verdict({ cidrIp: "0.0.0.0/1" })).toHaveLength(1);
    expect(verdict({ cidrIp: "172.0.0.0/11" })[0]).toContain("(e.g. 172.0.0.0)");
    expect(verdict({ cidrIp: undefined, ipv6CidrIp: "::/1" })).toHaveLength(1);
    expect(verdict({ cidrIp: "100.64.0.0/10", portRange: "22/22" })).toHaveLength(1);
    expect(verdict({ cidrIp: undefined, prefixListId: "pl-public" })[0]).toContain("opened to prefix list pl-public, whose ranges the plan does not show");
    expect(verdict({ cidrIp: undefined, sourceSecurityGroupId: "sg-x", sourceGroupOwnerAccount: "1234" })[0]).toContain("a security group of account 1234");
    expect(verdict({ cidrIp: "not-a-cidr" })[0]).toContain('from "not-a-cidr", which is not a CIDR block');
    // The one host-bit rule: which range "10.0.0.1/8" opens depends on how the cloud reads it, so it is reported, not guessed.
    expect(verdict({ cidrIp: "10.0.0.1/8" })[0]).toContain(
      'from "10.0.0.1/8", which is not a CIDR block: 10.0.0.1/8 has host bits set (network address is 10.0.0.0/8)',
    );
    for (const ok of ["10.0.0.0/8", "172.16.0.0/12", "192.168.77.0/24", "172.31.255.255/32"]) expect(verdict({ cidrIp: ok })).toEqual([]);
    // An allowlisted office range in the pack config passes; the same range without it does not.
    const office = mutated((s) => (one(s, rule).props.cidrIp = "198.51.100.0/28"));
    expect(messages(office, noOpenAdminPorts("mandatory", { ...cfg("no-open-admin-ports"), allowedCidrs: ["198.51.100.0/27"] }))).toEqual([]);
    expect(messages(office, p())).toHaveLength(1);
    // The real SLB health-check rules (100.64/10 on 8081 and the NodePorts) pass.
    expect(messages(prod1, p())).toEqual([]);
  });
});

describe("trusted-sources: registries and node repositories come from the pack config", () => {
  const p = () => trustedSources("mandatory", cfg("trusted-sources"));

  test("prod1 passes; its nodes carry the repository tags and its pull Secrets name their registry", () => {
    expect(messages(prod1, p())).toEqual([]);
    expect(any(one(prod1, "prod1-master-0").props.tags)).toMatchObject({
      "platform:package-repository": "mirrors.aliyun.com/kubernetes-new/core/stable/v1.35/deb/",
      "platform:image-repository": "registry.cn-hangzhou.aliyuncs.com/google_containers",
    });
  });

  test("moving platform:harbor.registry and the images to another host in the stack file is caught (images and the pull Secret)", async () => {
    const moved = planToPolicyStack(
      await prodPlan(
        [
          "platform:harbor.registry=harbor.evil.example",
          "platform:apps.order-service.image=harbor.evil.example/commerce/order-service",
          "platform:apps.distribution-center.image=harbor.evil.example/commerce/distribution-center",
          "platform:apps.supply-chain.image=harbor.evil.example/scm/supply-chain",
        ],
        {
          // pre's output answered as if pre ran the moved images: the program lets them through, the pack is tested.
          stackOutputs: preValidating({
            "order-service": { repository: "harbor.evil.example/commerce/order-service", tags: ["order-service-v2.3.0"] },
            "distribution-center": { repository: "harbor.evil.example/commerce/distribution-center", tags: ["distribution-center-v1.7.5"] },
            "supply-chain": { repository: "harbor.evil.example/scm/supply-chain", tags: ["supply-chain-v3.1.1"] },
          }),
        },
      ),
    );
    const found = messages(moved, p());
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^prod1-apps-commerce-secret-harbor-pull: pull Secret holds credentials for harbor\.evil\.example, which is not a trusted registry/,
        ),
        expect.stringMatching(
          /^prod1-order-service-deployment-order-service: container app pulls harbor\.evil\.example\/commerce\/order-service:order-service-v2\.3\.0/,
        ),
      ]),
    );
    // Two pull Secrets (commerce, scm) and three app Deployments, all mandatory in prod1.
    expect(found).toHaveLength(5);
    expect(runPolicies(moved, [trustedSources("mandatory", cfg("trusted-sources"))]).every((v) => v.level === "mandatory")).toBe(true);
  });

  test("pointing platform:kubernetes.packageRepository or imageRepository elsewhere is caught on every node", async () => {
    const moved = planToPolicyStack(
      await prodPlan([
        "platform:kubernetes.packageRepository=https://pkgs.evil.example/core/stable/v1.35/deb/",
        "platform:kubernetes.imageRepository=registry.evil.example/google_containers",
      ]),
    );
    const found = messages(moved, p());
    const nodes = moved.resources.filter((r) => ["master", "worker"].includes(String(any(r.props.tags ?? {})["platform:role"])));
    expect(found).toHaveLength(2 * nodes.length);
    expect(found).toContain(
      "prod1-master-0: platform:package-repository pkgs.evil.example/core/stable/v1.35/deb/ is not trusted (mirrors.aliyun.com/kubernetes-new/core/stable, pkgs.k8s.io/core:/stable); " +
        "trusted sources live in the pack config (policies/config/prod.json or nonprod.json, trusted-sources), not in the stack file",
    );
  });

  test("neighbours: a look-alike host, a Docker Hub image, a pull Secret whose plaintext (as CrossGuard sees it) names another registry, a chart repo", () => {
    expect(underPrefix("harbor.livemall.internal.evil.example/a", "harbor.livemall.internal")).toBe(false);
    expect(imageRepositoryOf("busybox:1.36.1")).toBe("docker.io/library/busybox");
    expect(imageRepositoryOf("timonwong/x:v1")).toBe("docker.io/timonwong/x");
    expect(imageRepositoryOf("Harbor.Livemall.Internal:443/a/b@sha256:00")).toBe("harbor.livemall.internal:443/a/b");
    const bad = mutated((s) => {
      any(one(s, "prod1-order-service-deployment-order-service").props).spec.template.spec.containers[0].image =
        "harbor.livemall.internal.evil.example/commerce/order-service:v1";
      any(one(s, "prod1-monitoring-deployment-prometheus-webhook-dingtalk").props).spec.template.spec.containers[0].image = "evil/webhook:v2.1.0";
      one(s, "prod1-apps-scm-secret-harbor-pull").props.stringData = { ".dockerconfigjson": JSON.stringify({ auths: { "evil.example": { auth: "x" } } }) };
      any(one(s, "prod1-ingress-controller").props).repositoryOpts.repo = "https://charts.evil.example";
    });
    const found = messages(bad, p());
    expect(found).toHaveLength(5);
    expect(found.filter((m) => m.startsWith("prod1-apps-scm-secret-harbor-pull"))).toEqual([
      "prod1-apps-scm-secret-harbor-pull: platform/registry says harbor.livemall.internal but the credentials are for evil.example",
      expect.stringMatching(/pull Secret holds credentials for evil\.example/),
    ]);
  });
});

describe("deployment-hygiene: HPAs and canaries", () => {
  const p = () => deploymentHygiene("mandatory", cfg("deployment-hygiene"));

  test("autoscale.min: 1 (an HPA that can scale a prod app to one pod) is caught", async () => {
    const low = planToPolicyStack(await prodPlan(["platform:apps.order-service.autoscale.min=1", "platform:apps.order-service.replicas=24"]));
    expect(messages(low, p())).toEqual([
      "HorizontalPodAutoscaler commerce/order-service: minReplicas 1 lets it scale Deployment commerce/order-service to 1 pod(s); at least 2 (autoscale.min)",
    ]);
    // An HPA without minReplicas defaults to 1.
    const unset = mutated((s) => delete any(one(s, "prod1-order-service-horizontalpodautoscaler-order-service").props).spec.minReplicas);
    expect(messages(unset, p())).toHaveLength(1);
  });

  test("the runbook's canary (weight 10 on order-service in prod1, pre's current tag) passes every prod1 policy: its 3 pods get their own PDB", async () => {
    const canary = await prodPlan(['platform:apps.order-service.canary={"tag":"order-service-v2.3.1","weight":10}']);
    expect(checkPlan(canary, prodConfig)).toEqual([]);
    const s = planToPolicyStack(canary);
    expect(any(one(s, "prod1-order-service-deployment-order-service-canary").props).spec.replicas).toBe(3);
    expect(any(one(s, "prod1-order-service-poddisruptionbudget-order-service-canary").props).spec.selector.matchLabels).toEqual({
      "app.kubernetes.io/name": "order-service",
      "platform/track": "canary",
    });
    // Without it, or with a budget shared with the stable track, the canary is blocked.
    const noPdb = mutated((x) =>
      x.resources.push(...s.resources.filter((r) => r.name.includes("order-service-canary") && !r.type.includes("PodDisruptionBudget"))),
    );
    expect(messages(noPdb, p())).toEqual([
      "Deployment commerce/order-service-canary: 3 replicas but no PodDisruptionBudget selects its pods: a node drain may evict them all at once",
    ]);
    const shared = mutated((x) => {
      x.resources.push(...s.resources.filter((r) => r.name.includes("order-service-canary") && !r.type.includes("PodDisruptionBudget")));
      delete any(one(x, "prod1-order-service-poddisruptionbudget-order-service").props).spec.selector.matchLabels["platform/track"];
    });
    expect(messages(shared, p())).toEqual([
      "Deployment commerce/order-service-canary: canary with 3 replicas shares its PodDisruptionBudget with the stable track; give the canary track its own (selecting platform/track=canary)",
    ]);
  });
});

describe("secrets-not-plain scans values", () => {
  const p = () => secretsNotPlain("mandatory", cfg("secrets-not-plain"));

  test("a password in javaOpts and in the Apollo meta URL's userinfo are caught", async () => {
    const leaky = planToPolicyStack(await prodPlan(["platform:apps.supply-chain.javaOpts=-Xms2g -Xmx2g -Dspring.datasource.password=hunter2"]));
    // platform:apollo.meta refuses userinfo at config (test/config/kinds.test.ts); the policy still catches such a URL from code.
    for (const r of leaky.resources)
      for (const c of any(r.props).spec?.template?.spec?.containers ?? [])
        for (const e of c.env ?? []) if (e.name === "APOLLO_META") e.value = "http://apollo:s3cret@apollo-meta.pro.livemall.internal:8080";
    const found = messages(leaky, p());
    expect(found).toContain(
      "prod1-supply-chain-deployment-supply-chain: container app env JAVA_OPTS holds a JVM -D option carrying a credential; take it from a Secret (valueFrom.secretKeyRef) and refer to it as $(VAR)",
    );
    expect(found).toContain(
      // Not "take it from a Secret": an endpoint variable from valueFrom would hide it from credential-endpoints.
      "prod1-order-service-deployment-order-service: container app env APOLLO_META holds a URL with credentials in its userinfo; take the credential out of the URL (the app gets it from its own Secret), and keep APOLLO_META a literal value so credential-endpoints can check where it points",
    );
    expect(found).toHaveLength(4); // APOLLO_META in all three apps, JAVA_OPTS in one
  });

  test("neighbours: args, ConfigMap values and known key shapes; references and harmless options pass", () => {
    expect(credentialShape("-Djavax.net.ssl.keyStorePassword=changeit")).toBeDefined();
    expect(credentialShape("-Dapi.token=abc")).toBeDefined();
    expect(credentialShape("-Dspring.datasource.password=$(DB_PASSWORD)")).toBeUndefined();
    expect(credentialShape("-Djavax.net.ssl.keyStore=/etc/ks.jks -Xmx2g")).toBeUndefined();
    expect(credentialShape("AKIAIOSFODNN7EXAMPLE")).toBe("an AWS access key id (AKIA...)");
    expect(credentialShape("LTAI5tAbCdEfGhIjKlMnOpQr")).toBe("an Alibaba Cloud AccessKey id (LTAI...)");
    expect(credentialShape("-----BEGIN RSA PRIVATE KEY-----\nMII")).toBe("a PEM private key");
    expect(credentialShape(`https://oapi.dingtalk.com/robot/send?access_token=${"ab".repeat(32)}`)).toBe("a DingTalk robot access_token");
    expect(credentialShape("http://apollo-meta.pro.livemall.internal:8080")).toBeUndefined();
    const bad = mutated((s) => {
      any(one(s, "prod1-order-service-deployment-order-service").props).spec.template.spec.containers[0].args = ["--key", "LTAI5tAbCdEfGhIjKlMnOpQr"];
      any(one(s, "prod1-flannel-configmap-kube-flannel-cfg").props).data["notes"] = "-----BEGIN PRIVATE KEY-----";
    });
    expect(messages(bad, p())).toEqual([
      "prod1-flannel-configmap-kube-flannel-cfg: ConfigMap key notes holds a PEM private key; ConfigMaps are plain, use a Secret",
      "prod1-order-service-deployment-order-service: container app args[1] holds an Alibaba Cloud AccessKey id (LTAI...); pass it from a Secret as $(VAR)",
    ]);
    expect(messages(prod1, p())).toEqual([]);
  });
});

describe("kubernetes-baseline: the README's patch upgrade", () => {
  test("1.35.5 in prod1 is blocked naming the file with the list, and passes with the list updated", async () => {
    const upgraded = planToPolicyStack(await prodPlan(["platform:kubernetes.version=1.35.5"]));
    const base = cfg("kubernetes-baseline") as { kubernetesVersions: string[] };
    const found = messages(upgraded, kubernetesBaseline("mandatory", base));
    expect(found).toContain(
      "prod1-master-0: Kubernetes 1.35.5 is not an approved version (1.35.4); to upgrade, add it to kubernetes-baseline.kubernetesVersions in policies/config/prod.json (the pack config prod1 runs under) in the same PR",
    );
    expect(messages(upgraded, kubernetesBaseline("mandatory", { ...base, kubernetesVersions: [...base.kubernetesVersions, "1.35.5"] }))).toEqual([]);
  });
});
