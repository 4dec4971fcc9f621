// One test per rule: each rule function on a passing and a failing input,
// asserting the message, and each reached through config validation (so a
// rule that is written but not wired in fails here).
import { mastersProblems, MAX_MASTERS_PER_ZONE, nodePoolSizeProblems } from "../../components/cluster/clusterRules";
import { kubernetesProblems, nodeLabelProblems, serviceCidrProblems, taintProblems } from "../../components/cluster/kubeadmRules";
import { namespaceProblems } from "../../components/config/namespaces";
import { ConfigError, parseStackConfig } from "../../components/config/stackConfig";
import { listStacks, loadEngineConfig } from "../../components/config/stackFiles";
import { hostStackProblems } from "../../components/fleet/hostStackRules";
import { podCidrProblems } from "../../components/k8s/flannelRules";
import { loggingProblems } from "../../components/k8s/fluentBitRules";
import { datacenterIpProblems, ingressNodePortProblems, reservedRangeProblems, zoneProblems } from "../../components/network/networkRules";

function problems(stack: string, ...overrides: string[]): string[] {
  const c = loadEngineConfig(stack, overrides);
  try {
    parseStackConfig(stack, { values: c.values, secretKeys: c.secretKeys }, { stacks: listStacks() });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe("kubeadm rules (cluster/kubeadmRules.ts)", () => {
  test("the package repository serves the version's minor", () => {
    const repo = "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.36/deb/";
    expect(kubernetesProblems({ version: "1.36.2", packageRepository: repo })).toEqual([]);
    expect(kubernetesProblems({ version: "1.37.0" })).toEqual([]); // default repository: pkgs.k8s.io for 1.37
    expect(kubernetesProblems({ version: "1.37.0", packageRepository: repo })).toEqual([
      "platform:kubernetes.packageRepository: serves v1.36 but platform:kubernetes.version is 1.37.0; the apt repositories are per minor, change the URL to v1.37 together with the version",
    ]);
    expect(problems("dev", "platform:kubernetes.version=1.37.0")).toEqual([expect.stringMatching(/^platform:kubernetes.packageRepository: serves v1.36 but/)]);
  });

  test("the package repository is https without shell metacharacters; the image repository has no scheme", () => {
    expect(kubernetesProblems({ version: "1.36.2", packageRepository: "http://mirror/v1.36/deb/" })).toEqual([
      'platform:kubernetes.packageRepository: "http://mirror/v1.36/deb/" is not an https:// URL without spaces or quotes',
    ]);
    expect(kubernetesProblems({ version: "1.36.2", imageRepository: "https://registry.k8s.io" })).toEqual([
      'platform:kubernetes.imageRepository: "https://registry.k8s.io" is not a registry path such as registry.example.com/google_containers (no scheme)',
    ]);
  });

  test("the service CIDR is at most a /12", () => {
    expect(serviceCidrProblems("10.192.0.0/12")).toEqual([]);
    expect(serviceCidrProblems("10.192.0.0/11")).toEqual([
      "platform:network.serviceCidr: 10.192.0.0/11 is larger than /12, the largest service range kube-apiserver accepts",
    ]);
    expect(problems("dev", "platform:network.serviceCidr=10.192.0.0/11")).toEqual([
      expect.stringMatching(/^platform:network.serviceCidr: .* larger than \/12/),
    ]);
  });

  test("node labels: Kubernetes syntax, and only labels the kubelet may set under NodeRestriction", () => {
    expect(nodeLabelProblems("k", { "node.kubernetes.io/pool": "general", "example.com/gpu": "a100", team: "x" })).toEqual([]);
    expect(nodeLabelProblems("k", { "node-role.kubernetes.io/worker": "" })).toEqual([
      expect.stringMatching(/^k\["node-role.kubernetes.io\/worker"\]: the kubelet may not set this label under the NodeRestriction admission plugin/),
    ]);
    expect(nodeLabelProblems("k", { "a/b/c": "x" })).toEqual(['k["a/b/c"]: "a/b/c" has more than one "/"']);
    expect(nodeLabelProblems("k", { pool: "has space" })).toEqual([expect.stringMatching(/^k\["pool"\]: "has space" is not a valid label value/)]);
    expect(problems("dev", 'platform:nodePools[0].labels["node-role.kubernetes.io/worker"]=x')).toEqual([
      expect.stringMatching(/^platform:nodePools\[0\].labels\["node-role.kubernetes.io\/worker"\]: the kubelet may not set/),
    ]);
  });

  test("taint keys and values: Kubernetes syntax, no spaces", () => {
    expect(taintProblems("t", [{ key: "dedicated", value: "ingress" }, { key: "example.com/gpu" }])).toEqual([]);
    expect(taintProblems("t", [{ key: "bad key", value: "b c" }])).toEqual([
      expect.stringMatching(/^t\[0\].key: "bad key" is not a valid name/),
      expect.stringMatching(/^t\[0\].value: "b c" is not a valid label value/),
    ]);
    // PreferNoSchedule: a repelling taint would also (rightly) ask for an app on the pool (config/placementChecks.ts).
    expect(problems("dev", 'platform:nodePools[0].taints=[{"key":"a","value":"b c","effect":"PreferNoSchedule"}]')).toEqual([
      expect.stringMatching(/^platform:nodePools\[0\].taints\[0\].value: "b c" is not a valid label value/),
    ]);
  });
});

describe("cluster size rules (cluster/clusterRules.ts)", () => {
  test("masters per zone fit the fixed control-plane addresses", () => {
    expect(mastersProblems(2 * MAX_MASTERS_PER_ZONE - 1, 2)).toEqual([]);
    expect(mastersProblems(41, 2)).toEqual([
      "platform:masters.count: 41 masters in 2 zone(s) puts 21 in a zone; at most 20 per zone fit the fixed control-plane addresses (at most 40 with 2 zone(s))",
    ]);
    expect(problems("dev", "platform:masters.count=41")).toEqual([expect.stringMatching(/^platform:masters.count: 41 masters in 2 zone/)]);
  });

  test("pool and worker counts are bounded so a stack stays plannable", () => {
    expect(nodePoolSizeProblems([{ count: 1000 }, { count: 200 }])).toEqual([]);
    expect(nodePoolSizeProblems([{ count: 1200 }])).toEqual([]);
    expect(nodePoolSizeProblems([{ count: 10000 }])).toEqual([
      "platform:nodePools[0].count: 10000 is over 1200 nodes per pool (a larger fleet is more clusters)",
      "platform:nodePools: 10000 worker nodes in all, at most 1200 per stack (a larger fleet is more clusters)",
    ]);
    expect(nodePoolSizeProblems([{ count: 400 }, { count: 400 }, { count: 401 }])).toEqual([
      "platform:nodePools: 1201 worker nodes in all, at most 1200 per stack (a larger fleet is more clusters)",
    ]);
    expect(nodePoolSizeProblems(Array.from({ length: 51 }, () => ({ count: 0 })))).toEqual(["platform:nodePools: 51 pools, at most 50 per stack"]);
  });

  test("workers fit their zone's vswitch", () => {
    expect(nodePoolSizeProblems([{ count: 140 }], { vpcCidr: "10.0.0.0/23", zones: ["a", "b"] })).toEqual([]);
    expect(nodePoolSizeProblems([{ count: 406 }], { vpcCidr: "10.0.0.0/23", zones: ["a", "b"] })).toEqual([]);
    expect(nodePoolSizeProblems([{ count: 420 }], { vpcCidr: "10.0.0.0/23", zones: ["a", "b"] })).toEqual([
      "platform:nodePools: up to 210 workers in a zone, but a /24 vswitch of platform:network.vpcCidr 10.0.0.0/23 has room for 203",
    ]);
  });
});

describe("flannel rule (k8s/flannelRules.ts)", () => {
  test("the pod CIDR holds a /24 per node", () => {
    expect(podCidrProblems("10.110.0.0/16", 256)).toEqual([]);
    expect(podCidrProblems("10.110.0.0/16", 257)).toEqual([
      "platform:network.podCidr: 10.110.0.0/16 holds 256 node subnets (/24 each) but the cluster has 257 nodes (masters and workers)",
    ]);
    expect(podCidrProblems("10.110.0.0/24", 1)).toEqual([
      "platform:network.podCidr: 10.110.0.0/24 is too small: flannel gives each node a /24, use a /23 or larger",
    ]);
    expect(problems("dev", "platform:network.podCidr=10.110.0.0/23")).toEqual([
      "platform:network.podCidr: 10.110.0.0/23 holds 2 node subnets (/24 each) but the cluster has 4 nodes (masters and workers)",
    ]);
  });
});

describe("logging rules (k8s/fluentBitRules.ts)", () => {
  test("the Elasticsearch host is a host name: no scheme, port or newline", () => {
    expect(loggingProblems({ output: "elasticsearch", host: "es.dev.livemall.internal" })).toEqual([]);
    expect(loggingProblems({ output: "elasticsearch", host: "https://es" })).toEqual([
      'platform:logging.host: "https://es" has a scheme; give the host name alone (tls and port are their own keys)',
    ]);
    expect(loggingProblems({ output: "elasticsearch", host: "es\nx" })).toEqual([
      'platform:logging.host: "es\\nx" contains whitespace or a newline; give the host name alone',
    ]);
    expect(loggingProblems({ output: "elasticsearch", host: "es:9200" })).toEqual([
      'platform:logging.host: "es:9200" must be a host name alone, without port or path',
    ]);
    expect(problems("dev", "platform:logging.host=http://es.dev")).toEqual([expect.stringMatching(/^platform:logging.host: "http:\/\/es.dev" has a scheme/)]);
  });

  test("Kafka brokers: a host and a port 1-65535", () => {
    expect(loggingProblems({ output: "kafka", brokers: ["kafka-1.internal:9093"] })).toEqual([]);
    expect(loggingProblems({ output: "kafka", brokers: ["k:99999"] })).toEqual(["platform:logging.brokers[0]: port 99999 is not 1-65535"]);
    // Behind Kafka, tracing names its own Elasticsearch (crossChecks.ts tracingRules).
    const tracing = 'platform:tracing={"elasticsearch":{"host":"es.dev.livemall.internal"}}';
    expect(problems("dev", 'platform:logging={"output":"kafka","brokers":["k:99999"],"topic":"t"}', tracing)).toEqual([
      "platform:logging.brokers[0]: port 99999 is not 1-65535",
    ]);
  });
});

describe("network rules (network/networkRules.ts)", () => {
  test("cluster ranges avoid the SLB health-check range, the metadata address and special ranges", () => {
    expect(reservedRangeProblems({ vpcCidr: "10.10.0.0/16", podCidr: "10.110.0.0/16", serviceCidr: "10.210.0.0/20" })).toEqual([]);
    expect(reservedRangeProblems({ podCidr: "100.64.0.0/16" })).toEqual([
      "platform:network.podCidr: 100.64.0.0/16 overlaps 100.64.0.0/10, the range SLB health checks come from",
    ]);
    expect(reservedRangeProblems({ serviceCidr: "100.100.100.0/24" })).toEqual([
      "platform:network.serviceCidr: 100.100.100.0/24 overlaps 100.100.100.200/32, the ECS metadata service address",
    ]);
    expect(reservedRangeProblems({}, ["169.254.0.0/24"])).toEqual(["platform:datacenter.subnets[0]: 169.254.0.0/24 overlaps 169.254.0.0/16, link-local"]);
    expect(problems("dev", "platform:network.podCidr=100.64.0.0/16")).toEqual([
      expect.stringMatching(/^platform:network.podCidr: 100.64.0.0\/16 overlaps 100.64.0.0\/10/),
    ]);
  });

  test("zones come from the region's known list (Alibaba Cloud, Regions and zones supported by ECI, read 2026-12-07)", () => {
    expect(zoneProblems("cn-hangzhou", ["cn-hangzhou-h", "cn-hangzhou-i"])).toEqual([]);
    expect(zoneProblems("ap-southeast-1", ["ap-southeast-1a"])).toEqual([]);
    // cn-shenzhen-f: in the KMS zone table (Aug 02, 2025), not in the ECI one; the list is the union.
    expect(zoneProblems("cn-shenzhen", ["cn-shenzhen-e", "cn-shenzhen-f"])).toEqual([]);
    expect(zoneProblems("cn-hangzhou", ["cn-shanghai-a"])).toEqual([
      "platform:network.zones[0]: cn-shanghai-a is not among the zones the platform takes in alicloud:region cn-hangzhou (those Alibaba Cloud's ECI and KMS zone tables list, read 2026-12-07: cn-hangzhou-b, cn-hangzhou-e, cn-hangzhou-f, cn-hangzhou-g, cn-hangzhou-h, cn-hangzhou-i, cn-hangzhou-j, cn-hangzhou-k); a zone missing from this list is added to KNOWN_ZONES in components/network/networkRules.ts (docs/runbooks/add-a-cluster.md)",
    ]);
    // The region prefix alone no longer passes: the list has no cn-shanghai-z and no cn-beijing-a.
    expect(zoneProblems("cn-shanghai", ["cn-shanghai-e", "cn-shanghai-z"])).toEqual([
      "platform:network.zones[1]: cn-shanghai-z is not among the zones the platform takes in alicloud:region cn-shanghai (those Alibaba Cloud's ECI and KMS zone tables list, read 2026-12-07: cn-shanghai-a, cn-shanghai-b, cn-shanghai-c, cn-shanghai-d, cn-shanghai-e, cn-shanghai-f, cn-shanghai-g, cn-shanghai-k, cn-shanghai-l, cn-shanghai-m, cn-shanghai-n); a zone missing from this list is added to KNOWN_ZONES in components/network/networkRules.ts (docs/runbooks/add-a-cluster.md)",
    ]);
    // cn-beijing-a/-b exist, but the ECI, KMS and NAT Gateway zone tables (read 2026-12-07) offer C to L only.
    expect(zoneProblems("cn-beijing", ["cn-beijing-a", "cn-beijing-b", "cn-beijing-c", "cn-beijing-l"])).toEqual([
      "platform:network.zones[0]: cn-beijing-a is not among the zones the platform takes in alicloud:region cn-beijing (those Alibaba Cloud's ECI and KMS zone tables list, read 2026-12-07: cn-beijing-c, cn-beijing-d, cn-beijing-e, cn-beijing-f, cn-beijing-g, cn-beijing-h, cn-beijing-i, cn-beijing-j, cn-beijing-k, cn-beijing-l); a zone missing from this list is added to KNOWN_ZONES in components/network/networkRules.ts (docs/runbooks/add-a-cluster.md)",
      "platform:network.zones[1]: cn-beijing-b is not among the zones the platform takes in alicloud:region cn-beijing (those Alibaba Cloud's ECI and KMS zone tables list, read 2026-12-07: cn-beijing-c, cn-beijing-d, cn-beijing-e, cn-beijing-f, cn-beijing-g, cn-beijing-h, cn-beijing-i, cn-beijing-j, cn-beijing-k, cn-beijing-l); a zone missing from this list is added to KNOWN_ZONES in components/network/networkRules.ts (docs/runbooks/add-a-cluster.md)",
    ]);
    expect(zoneProblems("mars-north-1", ["mars-north-1a"])).toEqual([
      'alicloud:region: mars-north-1 is not a region with a known zone list (cn-hangzhou, cn-shanghai, cn-beijing, cn-qingdao, cn-zhangjiakou, cn-huhehaote, cn-wulanchabu, cn-shenzhen, cn-heyuan, cn-guangzhou, cn-chengdu, cn-hongkong, ap-northeast-1, ap-southeast-1); add its zones to KNOWN_ZONES (components/network/networkRules.ts) from Alibaba Cloud\'s "Regions and zones" (docs/runbooks/add-a-cluster.md)',
    ]);
    expect(problems("dev", 'platform:network.zones=["cn-shanghai-a","cn-hangzhou-h"]')).toEqual([
      expect.stringMatching(/^platform:network.zones\[0\]: cn-shanghai-a is not among the zones the platform takes in alicloud:region cn-hangzhou /),
    ]);
  });

  test("the data centre's public IP is public", () => {
    const n = { vpcCidr: "10.10.0.0/16", podCidr: "10.110.0.0/16", serviceCidr: "10.210.0.0/20" };
    expect(datacenterIpProblems("203.0.113.10", n)).toEqual([]);
    expect(datacenterIpProblems("10.10.0.5", n)).toEqual([
      "platform:datacenter.publicIp: 10.10.0.5 lies inside platform:network.vpcCidr 10.10.0.0/16; it must be the data centre's public gateway address",
    ]);
    expect(datacenterIpProblems("192.168.1.1", n)).toEqual([
      "platform:datacenter.publicIp: 192.168.1.1 lies inside 192.168.0.0/16, not a public address; the IPsec peer must be the data centre's public gateway address",
    ]);
    // the schema's public-IP kind refuses a private address first, in one line (kindCoverage.test.ts has its worst values)
    expect(problems("dev", 'platform:datacenter={"publicIp":"10.10.0.5","subnets":["192.168.0.0/16"]}')).toEqual([
      "platform:datacenter.publicIp: must be a public IPv4 address; 10.10.0.5 is private (RFC 1918)",
    ]);
  });

  test("the ingress NodePorts differ, the defaults included, and sit in the NodePort range", () => {
    expect(ingressNodePortProblems({})).toEqual([]);
    expect(ingressNodePortProblems({ httpsNodePort: 30080 })).toEqual([
      "platform:ingress.httpsNodePort: 30080 is also httpNodePort (default); the two NodePorts must differ",
    ]);
    expect(ingressNodePortProblems({ httpNodePort: 30443 })).toEqual([
      "platform:ingress.httpNodePort: 30443 is also httpsNodePort (default); the two NodePorts must differ",
    ]);
    expect(ingressNodePortProblems({ httpNodePort: 80 })).toEqual(["platform:ingress.httpNodePort: 80 is outside the NodePort range 30000-32767"]);
    expect(problems("dev", "platform:ingress.httpsNodePort=30080")).toEqual([
      "platform:ingress.httpsNodePort: 30080 is also httpNodePort (default); the two NodePorts must differ",
    ]);
  });
});

describe("hostStack rule (fleet/hostStackRules.ts)", () => {
  const known = [
    { name: "host", env: "host" },
    { name: "dev", env: "dev" },
    { name: "test", env: "test" },
  ];
  test("names an existing stack of this project that is the host", () => {
    expect(hostStackProblems("dev", "livemall/platform/host", known)).toEqual([]);
    expect(hostStackProblems("dev", "host", known)).toEqual([]);
    expect(hostStackProblems("dev", "livemall/platform/dev", known)).toEqual([
      "platform:hostStack: livemall/platform/dev is this stack itself; name the host stack (e.g. org/platform/host)",
    ]);
    expect(hostStackProblems("dev", "livemall/platform/test", known)).toEqual([
      "platform:hostStack: livemall/platform/test is a member (platform:env test), not the host; name the host stack",
    ]);
    expect(hostStackProblems("dev", "livemall/platform/hots", known)).toEqual([
      'platform:hostStack: livemall/platform/hots: no stack "hots" in this project (stacks: host, dev, test)',
    ]);
    expect(hostStackProblems("dev", "livemall/other/host", known)).toEqual([
      'platform:hostStack: livemall/other/host names project "other"; the host is a stack of this project (platform)',
    ]);
    expect(problems("dev", "platform:hostStack=livemall/platform/test")).toEqual([
      expect.stringMatching(/^platform:hostStack: livemall\/platform\/test is a member/),
    ]);
    expect(problems("dev", "platform:hostStack=livemall/platform/dev")).toEqual([
      expect.stringMatching(/^platform:hostStack: livemall\/platform\/dev is this stack itself/),
    ]);
  });
});

describe("config namespaces (config/namespaces.ts)", () => {
  test("only platform: and the providers' namespaces, typos answered with the nearest key", () => {
    expect(namespaceProblems(["alicloud:region", "platform:env", "kubernetes:namespace", "pulumi:tags"])).toEqual([]);
    expect(namespaceProblems(["platfrom:x"])).toEqual([
      'platfrom:x: unknown config namespace "platfrom" (did you mean platform:x?); keys are platform:, alicloud:, kubernetes:, pulumi:, random:, tls:',
    ]);
    expect(namespaceProblems(["alicloud:regoin"])).toEqual(["alicloud:regoin: not a setting of the alicloud provider (did you mean alicloud:region?)"]);
    expect(problems("dev", "alicloud:regoin=cn-hangzhou")).toEqual(["alicloud:regoin: not a setting of the alicloud provider (did you mean alicloud:region?)"]);
    expect(problems("dev", "platform:monitorng.retention=7d")).toEqual(["platform:monitorng: unknown key (did you mean platform:monitoring?)"]);
  });
});

describe("DNS names in the schema", () => {
  test("an app host's labels are at most 63 characters", () => {
    expect(problems("dev", `platform:apps.order-service.host=${"a".repeat(63)}.example.com`)).toEqual([]);
    expect(problems("dev", `platform:apps.order-service.host=${"a".repeat(64)}.example.com`)).toEqual([
      "platform:apps.order-service.host: must be a DNS host name such as order.example.com (labels of at most 63 characters)",
    ]);
  });

  test("one bad app key is one problem, not a false 'no such app' per access key", () => {
    expect(problems("dev", "platform:apps.order-service.port=99999")).toEqual(["platform:apps.order-service.port: must be a TCP port 1-65535"]);
  });
});

describe("secret formats", () => {
  test("the DingTalk webhook is an https URL, refused without echoing it", () => {
    const c = loadEngineConfig("dev");
    const run = (url: string) => {
      try {
        parseStackConfig("dev", { values: { ...c.values, "platform:dingtalkWebhook": url }, secretKeys: c.secretKeys });
        return [];
      } catch (e) {
        return (e as ConfigError).problems;
      }
    };
    expect(run("https://oapi.dingtalk.com/robot/send?access_token=abc")).toEqual([]);
    const p = run("http://oapi.dingtalk.com/robot/send?access_token=s3cret");
    expect(p).toEqual([expect.stringMatching(/^platform:dingtalkWebhook: must be an https URL/)]);
    expect(p.join("")).not.toContain("s3cret");
  });
});
