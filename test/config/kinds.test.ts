// Config values by kind (components/config/kinds.ts), each key with its worst values on a
// committed stack: one problem per broken value, naming the key and the limit, and nothing
// else (the rest of the stack stays valid). Rows of docs/threat-model.md in the names.
import { basicAuthUserProblem, hostPortProblem, httpUrlProblem, kmsEndpointProblems, taintSetProblems } from "../../components/config/kinds";
import { configProblems } from "../support/configProblems";

const problems = configProblems;

describe("URL keys go through the URL parser (T2, T24)", () => {
  test.each([
    [
      "http://apollo-meta.pro.livemall.internal:8080@apollo.evil.example",
      "must not carry userinfo (user@): it connects to apollo.evil.example, not to the name before '@'",
    ],
    [
      "http://user:pw@apollo-meta.pro.livemall.internal:8080",
      "must not carry userinfo (user@): it connects to apollo-meta.pro.livemall.internal:8080, not to the name before '@'",
    ],
    ["http://apollo-meta.pro.livemall.internal:65536", "port 65536 is not 1-65535"],
    ["http://apollo-meta.pro.livemall.internal:0", "port 0 is not 1-65535"],
    ["http://apollo-meta.pro.livemall.internal:99999999999/x", "port 99999999999 is not 1-65535"],
    ["ftp://apollo-meta.pro.livemall.internal", "must be an http or https URL, not ftp"],
    ["http://", 'must be an http or https URL (host, optional port 1-65535); "http://" does not parse'],
    // T5: Apollo's client load-balances over a comma list; only the origin is a meta server.
    [
      "http://apollo-meta.pro.livemall.internal:8080/,http://evil.example:8080",
      "must be one meta server: Apollo's client reads a comma list as several, any of which it would use",
    ],
    ["http://apollo-meta.pro.livemall.internal:8080/x", "must be the meta server's origin only (scheme, host, port): no path, query or fragment"],
    ["http://apollo-meta.pro.livemall.internal:8080?a=1", "must be the meta server's origin only (scheme, host, port): no path, query or fragment"],
    ["http://apollo-meta.pro.livemall.internal:8080#x", "must be the meta server's origin only (scheme, host, port): no path, query or fragment"],
  ])("platform:apollo.meta=%s", (value, message) => {
    expect(problems("prod1", `platform:apollo.meta=${value}`)).toEqual([`platform:apollo.meta: ${message}`]);
  });

  test("the committed Apollo URLs and ports up to 65535 pass", () => {
    expect(problems("prod1", "platform:apollo.meta=http://apollo-meta.pro.livemall.internal:65535")).toEqual([]);
    expect(httpUrlProblem("https://kibana.log.livemall.internal")).toBeUndefined();
  });
});

test.each([
  [
    "platform:logSearch.kibana",
    "https://kibana.log.livemall.internal@kibana.evil.example",
    "must not carry userinfo (user@): it connects to kibana.evil.example, not to the name before '@' (the sync sends an admin API key to it)",
  ],
  ["platform:logSearch.elasticsearch", "https://es-api.log.livemall.internal:99999", "port 99999 is not 1-65535 (the sync sends an admin API key to it)"],
  ["platform:logSearch.elasticsearch", "https://es-api.log.livemall.internal:0", "port 0 is not 1-65535 (the sync sends an admin API key to it)"],
  ["platform:logSearch.kibana", "http://kibana.log.livemall.internal", "must be an https URL, not http (the sync sends an admin API key to it)"],
  [
    "platform:logSearch.kibana",
    "https://kibana.log.livemall.internal/app",
    "must be an https URL of a server root, such as https://kibana.dev.example.com (the sync sends an admin API key to it)",
  ],
])("T3: %s=%s is refused by the one URL kind", (key, value, message) => {
  expect(problems("prod1", `${key}=${value}`)).toEqual([`${key}: ${message}`]);
  expect(problems("prod1", `${key}=https://kibana.log.livemall.internal:9243/`)).toEqual([]);
});

test.each(["tracing", "kubesphere-system", "kubesphere-controls-system", "kubesphere-monitoring-system", "kubekey-system"])(
  "T17: platform:apps.order-service.namespace=%s (the platform's or KubeSphere's) is refused",
  (ns) => {
    expect(problems("prod1", `platform:apps.order-service.namespace=${ns}`)).toEqual([
      `platform:apps.order-service.namespace: "${ns}" belongs to the platform; put apps in their own namespace such as commerce`,
    ]);
  },
);

test.each([
  ["-Xmx2g -Dapollo.meta=http://evil.example:8080", "-Dapollo.meta"],
  ["-Dapollo.config-service=http://evil.example:8080 -Xms1g", "-Dapollo.config-service"],
  ["-Denv=DEV -Dpro_meta=http://evil.example:8080", "-Denv, -Dpro_meta"],
  ["-javaagent:/tmp/evil.jar", "-javaagent"],
])("T5: platform:apps.supply-chain.javaOpts=%s is refused, naming the flag", (value, flags) => {
  expect(problems("prod1", `platform:apps.supply-chain.javaOpts=${value}`)).toEqual([
    `platform:apps.supply-chain.javaOpts: must not set ${flags}: -Dapollo.*, -Denv, -Didc, -D<env>_meta override the platform's Apollo settings and -javaagent/-agentlib/-agentpath/-Xbootclasspath load code; set JVM tuning flags only`,
  ]);
  expect(problems("prod1", "platform:apps.supply-chain.javaOpts=-Xms2g -Xmx2g -XX:+UseG1GC")).toEqual([]);
});

test.each([
  [
    "platform:monitoring.grafanaUrl",
    "https://grafana.livemall.internal@grafana.evil.example",
    "must not carry userinfo (user@): it connects to grafana.evil.example, not to the name before '@'",
  ],
  ["platform:kubernetes.packageRepository", "https://mirrors.aliyun.com:70000/kubernetes-new/core/stable/v1.35/deb/", "port 70000 is not 1-65535"],
  [
    "platform:kubernetes.packageRepository",
    "https://mirrors.aliyun.com@pkgs.evil.example/core/stable/v1.35/deb/",
    "must not carry userinfo (user@): it connects to pkgs.evil.example, not to the name before '@'",
  ],
])("%s=%s is refused by the URL parser", (key, value, message) => {
  expect(problems("prod1", `${key}=${value}`)).toEqual([`${key}: ${message}`]);
});

describe("Kafka brokers are host:port through the URL parser (T4, T24)", () => {
  test.each([
    ["kafka-1.log.livemall.internal:65536", "port 65536 is not 1-65535"],
    ["kafka-1.log.livemall.internal:0", "port 0 is not 1-65535"],
    ["kafka-1.log.livemall.internal", "must be host:port (the port is required)"],
    ["fluent@kafka.evil.example:9093", "must not carry userinfo (user@): it connects to kafka.evil.example:9093"],
    ["kafka-1.log.livemall.internal:9093/x", "must be host:port, nothing else"],
  ])("platform:logging.brokers[0]=%s", (value, message) => {
    expect(problems("prod1", `platform:logging.brokers[0]=${value}`)).toEqual([`platform:logging.brokers[0]: ${message}`]);
  });

  test("a broker on port 1 and on 65535 passes", () => {
    expect(hostPortProblem("kafka-1.log.livemall.internal:1")).toBeUndefined();
    expect(hostPortProblem("kafka-1.log.livemall.internal:65535")).toBeUndefined();
  });
});

describe("platform:secretStore.endpoint is a KMS endpoint of the stack's region (T1)", () => {
  test.each([
    [
      "https://kms.evil.example",
      "host kms.evil.example is not a KMS endpoint of this stack (kms.cn-shanghai.aliyuncs.com, kms-vpc.cn-shanghai.aliyuncs.com, kst-shhplaceholderprod1.cryptoservice.kms.aliyuncs.com); the masters send role-signed requests there and install the PKI it returns",
    ],
    [
      "https://kms-vpc.cn-beijing.aliyuncs.com",
      "host kms-vpc.cn-beijing.aliyuncs.com is not a KMS endpoint of this stack (kms.cn-shanghai.aliyuncs.com, kms-vpc.cn-shanghai.aliyuncs.com, kst-shhplaceholderprod1.cryptoservice.kms.aliyuncs.com); the masters send role-signed requests there and install the PKI it returns",
    ],
    ["https://kms-vpc.cn-shanghai.aliyuncs.com:8443", "must use port 443, got 8443"],
  ])("%s", (value, message) => {
    expect(problems("prod1", `platform:secretStore.endpoint=${value}`)).toEqual([`platform:secretStore.endpoint: ${message}`]);
  });

  test("userinfo is refused before the host is compared", () => {
    expect(kmsEndpointProblems("https://kms-vpc.cn-shanghai.aliyuncs.com@kms.evil.example", "cn-shanghai", undefined)).toEqual([
      "platform:secretStore.endpoint: must not carry userinfo (user@): it connects to kms.evil.example, not to the name before '@'",
    ]);
  });

  test("the region's endpoints and the instance's own pass", () => {
    for (const e of [
      "https://kms-vpc.cn-shanghai.aliyuncs.com",
      "https://kms.cn-shanghai.aliyuncs.com/",
      "https://kst-shhplaceholderprod1.cryptoservice.kms.aliyuncs.com",
    ])
      expect(problems("prod1", `platform:secretStore.endpoint=${e}`)).toEqual([]);
  });
});

describe("pool taints as a set (T26)", () => {
  test("a duplicate key+effect and a controller-owned key are refused, one line each", () => {
    const dup = JSON.stringify([
      { key: "dedicated", value: "order", effect: "NoSchedule" },
      { key: "dedicated", value: "other", effect: "NoSchedule" },
      { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" },
    ]);
    expect(problems("prod1", `platform:nodePools[1].taints=${dup}`)).toEqual(
      expect.arrayContaining([
        "platform:nodePools[1].taints[1]: duplicate taint dedicated with effect NoSchedule (at most one per key and effect)",
        "platform:nodePools[1].taints[2].key: node.kubernetes.io/unschedulable is reserved (node.kubernetes.io/* taints are set and removed by Kubernetes controllers)",
      ]),
    );
  });

  test("the same key with two effects is two taints, and passes", () => {
    expect(
      taintSetProblems("k", [
        { key: "dedicated", value: "order", effect: "NoSchedule" },
        { key: "dedicated", value: "order", effect: "NoExecute" },
      ]),
    ).toEqual([]);
  });
});

describe("basic-auth user (T27)", () => {
  test("a colon in the Elasticsearch output user is refused", () => {
    expect(basicAuthUserProblem("fluent:bit")).toBe("must not contain ':' (HTTP basic auth splits user and password at the first colon, RFC 7617 section 2)");
    expect(basicAuthUserProblem("fluent-bit")).toBeUndefined();
    expect(problems("dev", "platform:logging.user=fluent:bit")).toEqual([
      "platform:logging.user: must not contain ':' (HTTP basic auth splits user and password at the first colon, RFC 7617 section 2)",
    ]);
  });
});
