// Config validation by kind (docs/threat-model.md, T24): every key that takes a URL, host,
// port, image reference, integer or duration, tried with its worst values on the committed
// stack files. Each refusal is one line that names the key and the limit, and nothing else
// is printed (no false line about other keys); the committed values pass.
import { imageRepositoryProblem, prometheusDurationProblem, reservedKeyDomain } from "../../components/config/kinds";
import { configProblems } from "../support/configProblems";

const problems = configProblems;

const INT32 = "must be <= 2147483647 (the API's int32)";
const GRAMMAR =
  "must be registry-host[:port]/path with lowercase path components separated by '.', '_', '__' or '-' (distribution's reference grammar), e.g. harbor.livemall.internal/commerce/order-service";
const NO_TAG = "must be an image repository without a tag or digest (the tag is its own key), e.g. harbor.livemall.internal/commerce/order-service";
const PORT = "must be a TCP port 1-65535";
const APP = "platform:apps.order-service";

test("the committed stack files pass", () => {
  for (const stack of ["host", "dev", "test", "pre", "prod1", "prod2"]) expect(problems(stack)).toEqual([]);
});

describe.each([
  // image references (distribution/reference v0.6.0 grammar)
  ["image: uppercase path", `${APP}.image=harbor.livemall.internal/commerce/Order-Service`, `${APP}.image: ${GRAMMAR}`],
  ["image: no registry host", `${APP}.image=order-service`, `${APP}.image: ${GRAMMAR}`],
  ["image: host starting with '-'", `${APP}.image=-harbor.livemall.internal/commerce/x`, `${APP}.image: ${GRAMMAR}`],
  ["image: empty path component", `${APP}.image=harbor.livemall.internal/commerce//x`, `${APP}.image: ${GRAMMAR}`],
  ["image: separator at the end", `${APP}.image=harbor.livemall.internal/commerce/x_`, `${APP}.image: ${GRAMMAR}`],
  ["image: a tag", `${APP}.image=harbor.livemall.internal/commerce/order-service:v1`, `${APP}.image: ${NO_TAG}`],
  ["image: a digest", `${APP}.image=harbor.livemall.internal/commerce/order-service@sha256:${"a".repeat(64)}`, `${APP}.image: ${NO_TAG}`],
  ["image: registry port 70000", `${APP}.image=harbor.livemall.internal:70000/commerce/order-service`, `${APP}.image: registry port 70000 is not 1-65535`],
  [
    "image: 284 characters",
    `${APP}.image=harbor.livemall.internal/commerce/${"a".repeat(250)}`,
    `${APP}.image: is 284 characters; an image name is at most 255 (distribution's reference grammar)`,
  ],
  // int32 API integers
  ["replicas past int32", `${APP}.replicas=2147483648`, `${APP}.replicas: ${INT32}`],
  ["replicas 0", `${APP}.replicas=0`, `${APP}.replicas: must be >= 1`],
  ["a pool count past int32", "platform:nodePools[0].count=2147483648", `platform:nodePools[0].count: ${INT32}`],
  ["autoscale max past int32", `${APP}.autoscale={"min":4,"max":2147483648,"cpuPercent":70}`, `${APP}.autoscale.max: ${INT32}`],
  ["autoscale min 0", `${APP}.autoscale={"min":0,"max":8,"cpuPercent":70}`, `${APP}.autoscale.min: must be >= 1`],
  ["autoscale cpuPercent 1.5", `${APP}.autoscale={"min":4,"max":8,"cpuPercent":1.5}`, `${APP}.autoscale.cpuPercent: must be a whole number`],
  // ports
  ["app port 65536", `${APP}.port=65536`, `${APP}.port: ${PORT}`],
  ["app port 0", `${APP}.port=0`, `${APP}.port: ${PORT}`],
  [
    "tracing Elasticsearch port 65536",
    'platform:tracing.elasticsearch={"host":"es-apm.prod.livemall.internal","port":65536}',
    `platform:tracing.elasticsearch.port: ${PORT}`,
  ],
  // hosts
  [
    "tracing Elasticsearch host with a scheme",
    'platform:tracing.elasticsearch={"host":"https://es-apm.prod.livemall.internal"}',
    "platform:tracing.elasticsearch.host: must be a host name without scheme or port (dot-separated labels of letters, digits and '-', 1-63 characters, not starting or ending with '-'); \"https://es-apm\" is not a label",
  ],
  [
    "tracing Elasticsearch host with an empty label",
    'platform:tracing.elasticsearch={"host":"es..prod.livemall.internal"}',
    "platform:tracing.elasticsearch.host: must be a host name without scheme or port (dot-separated labels of letters, digits and '-', 1-63 characters, not starting or ending with '-'); \"\" is not a label",
  ],
  // URLs
  [
    "Apollo meta with userinfo",
    "platform:apollo.meta=https://apollo-meta.pro.livemall.internal@evil.example",
    "platform:apollo.meta: must not carry userinfo (user@): it connects to evil.example, not to the name before '@'",
  ],
  ["Apollo meta port 65536", "platform:apollo.meta=http://apollo-meta.pro.livemall.internal:65536", "platform:apollo.meta: port 65536 is not 1-65535"],
  [
    "Grafana URL not http",
    "platform:monitoring.grafanaUrl=ftp://grafana.livemall.internal",
    "platform:monitoring.grafanaUrl: must be an http or https URL, not ftp",
  ],
  // durations (Prometheus' parser: int64 nanoseconds)
  [
    "retention past Prometheus' range",
    "platform:monitoring.retention=106752d",
    "platform:monitoring.retention: 106752d is past Prometheus' duration range (int64 nanoseconds, about 292 years)",
  ],
  ["retention with an unknown unit", "platform:monitoring.retention=15x", "platform:monitoring.retention: must be a duration such as 15d"],
  // taints
  [
    "a taint under kubernetes.io/",
    'platform:nodePools[1].taints=[{"key":"kubernetes.io/role","value":"order","effect":"NoSchedule"}]',
    "platform:nodePools[1].taints[0].key: kubernetes.io/role is under kubernetes.io/, which Kubernetes reserves for its core components; use a key of your own (e.g. dedicated)",
  ],
])("%s", (_name, override, expected) => {
  test("one line naming the key and the limit", () => {
    expect(problems("prod1", override)).toEqual([expected]);
  });
});

test("a duplicate taint and one under a k8s.io subdomain: one line each, nothing about the app that runs there", () => {
  expect(
    problems(
      "prod1",
      'platform:nodePools[1].taints=[{"key":"dedicated","value":"order","effect":"NoSchedule"},{"key":"team.k8s.io/x","effect":"NoSchedule"},{"key":"dedicated","value":"y","effect":"NoSchedule"}]',
    ),
  ).toEqual([
    "platform:nodePools[1].taints[1].key: team.k8s.io/x is under k8s.io/, which Kubernetes reserves for its core components; use a key of your own (e.g. dedicated)",
    "platform:nodePools[1].taints[2]: duplicate taint dedicated with effect NoSchedule (at most one per key and effect)",
  ]);
});

describe("the limits themselves", () => {
  test("ordinary values pass: a registry with a port, '__' and '--' separators, the largest int32, 292 years of retention", () => {
    expect(imageRepositoryProblem("harbor.livemall.internal:5000/commerce/order__service")).toBeUndefined();
    expect(imageRepositoryProblem("harbor.livemall.internal/commerce/order--service")).toBeUndefined();
    expect(imageRepositoryProblem("localhost/x")).toBeUndefined();
    expect(problems("prod1", `${APP}.replicas=2147483647`).filter((p) => p.includes("int32"))).toEqual([]);
    expect(prometheusDurationProblem("106751d")).toBeUndefined();
    expect(problems("prod1", "platform:monitoring.retention=30d")).toEqual([]);
  });

  test("reserved key domains: kubernetes.io and k8s.io and their subdomains, not look-alikes", () => {
    expect(reservedKeyDomain("kubernetes.io/role")).toBe("kubernetes.io");
    expect(reservedKeyDomain("node-role.kubernetes.io/worker")).toBe("kubernetes.io");
    expect(reservedKeyDomain("team.k8s.io/x")).toBe("k8s.io");
    expect(reservedKeyDomain("notkubernetes.io/x")).toBeUndefined();
    expect(reservedKeyDomain("dedicated")).toBeUndefined();
  });
});

describe("contradictory role lists (a user in two role lists of one workspace)", () => {
  test("a viewer who is also an admin, and a developer listed twice, are refused on the host; the committed lists pass", () => {
    expect(
      problems(
        "host",
        'platform:workspaces.commerce={"clusters":["dev","test","pre","prod1","prod2"],"admins":["ops.wang","ops.li"],"developers":["dev.zhang","dev.zhang"],"viewers":["qa.liu","ops.li"]}',
      ),
    ).toEqual([
      "platform:workspaces.commerce.developers[1]: dev.zhang is already in platform:workspaces.commerce.developers; a user has one role per workspace, list them once",
      "platform:workspaces.commerce.viewers[1]: ops.li is already in platform:workspaces.commerce.admins; a user has one role per workspace, list them once",
    ]);
  });
});
