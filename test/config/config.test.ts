import { ConfigError, parseStackConfig, RawConfig } from "../../components/config/stackConfig";
import type { StackSecrets } from "../../components/config/secretKeys";
import { loadEngineConfig } from "../../components/config/stackFiles";
import { STACKS } from "../../components/config/keys";

/** prod1's committed config, with overrides applied the way `-c` does. */
function raw(stack: string, ...overrides: string[]): RawConfig {
  const c = loadEngineConfig(stack, overrides);
  return { values: c.values, secretKeys: c.secretKeys };
}

function problems(stack: string, ...overrides: string[]): string[] {
  try {
    parseStackConfig(stack, raw(stack, ...overrides));
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe("stack config validation", () => {
  test.each(STACKS)("committed %s config is valid", (stack) => {
    expect(problems(stack)).toEqual([]);
  });

  test("even master count is refused for etcd quorum", () => {
    expect(problems("prod1", "platform:masters.count=2")).toEqual(["platform:masters.count: must be odd for etcd quorum, got 2"]);
  });

  test("env must equal the stack", () => {
    expect(problems("prod1", "platform:env=prod2")).toContain('platform:env: is "prod2" but the stack is "prod1"; a stack only deploys to its own environment');
  });

  test("env must be a known environment", () => {
    expect(problems("dev", "platform:env=staging")[0]).toMatch(/^platform:env: /);
  });

  test("platform:role is derived, not set: a stack file that still sets it gets one clear error", () => {
    const message = "platform:role: is not a setting: the role is derived from platform:env (host for env host, member for every other env); delete the key";
    // Even the value that would be right is refused, so the dead key leaves every stack file.
    expect(problems("dev", "platform:role=member")).toEqual([message]);
    expect(problems("host", "platform:role=hots")).toEqual([message]);
  });

  test("overlapping vpc, pod and service ranges are refused, naming both", () => {
    expect(problems("prod1", "platform:network.podCidr=10.40.128.0/17")).toEqual(["platform:network.podCidr: 10.40.128.0/17 overlaps vpcCidr 10.40.0.0/16"]);
    expect(problems("prod1", "platform:network.serviceCidr=10.140.0.0/20")).toEqual([
      "platform:network.serviceCidr: 10.140.0.0/20 overlaps podCidr 10.140.0.0/16",
    ]);
  });

  test("malformed CIDRs name the key", () => {
    expect(problems("dev", "platform:network.vpcCidr=10.10.0.1/16")).toEqual([
      "platform:network.vpcCidr: 10.10.0.1/16 has host bits set (network address is 10.10.0.0/16)",
    ]);
    expect(problems("dev", "platform:network.podCidr=banana")).toEqual(['platform:network.podCidr: not an IPv4 CIDR: "banana"']);
  });

  test("zones must list two (the dual-tunnel VPN gateway's standby needs a second zone)", () => {
    const message =
      "platform:network.zones: must list at least two zones: the VPN gateway is dual-tunnel, its standby needs a vswitch in a second zone (disasterRecoveryVswitchId)";
    expect(problems("dev", "platform:network.zones=[]")).toEqual([message]);
    expect(problems("dev", 'platform:network.zones=["cn-hangzhou-h"]')).toEqual([message]);
  });

  test("counts must be >= 0 and whole", () => {
    expect(problems("prod1", "platform:nodePools[0].count=-1")).toEqual(["platform:nodePools[0].count: must be >= 0"]);
    expect(problems("prod1", "platform:nodePools[1].count=2.5")).toEqual(["platform:nodePools[1].count: must be a whole number"]);
  });

  test("pool names must be DNS-safe and unique", () => {
    expect(problems("prod1", "platform:nodePools[0].name=General_Pool")).toEqual([
      "platform:nodePools[0].name: must be a DNS label (lowercase letters, digits, '-', at most 32 characters)",
    ]);
    expect(problems("prod1", "platform:nodePools[1].name=general")).toEqual(['platform:nodePools[1].name: duplicate pool name "general"']);
  });

  test("a typo in a key is reported, not ignored", () => {
    expect(problems("dev", "platform:nodepools=[]")).toEqual(["platform:nodepools: unknown key (did you mean platform:nodePools?)"]);
    expect(problems("dev", "platform:masters.instancetype=ecs.g6.xlarge")).toEqual(['platform:masters: unknown key "instancetype"']);
  });

  test("unsupported Kubernetes releases are refused", () => {
    expect(problems("dev", "platform:kubernetes.version=1.18.20")[0]).toMatch(
      /^platform:kubernetes.version: Kubernetes 1.18 is not a supported release \(supported: 1.35/,
    );
  });

  test("missing required keys are named", () => {
    const c = raw("dev");
    delete c.values["platform:masters"];
    delete c.values["alicloud:region"];
    expect(() => parseStackConfig("dev", c)).toThrow(ConfigError);
    try {
      parseStackConfig("dev", c);
    } catch (e) {
      expect((e as ConfigError).problems).toEqual(["platform:masters: is required", "alicloud:region: is required"]);
    }
  });

  test("every problem is reported at once", () => {
    const all = problems("prod1", "platform:masters.count=4", "platform:nodePools[0].count=-3", "platform:network.zones=[]");
    expect(all).toHaveLength(3);
    expect(all.map((p) => p.split(":")[1].split(" ")[0])).toEqual(["network.zones", "masters.count", "nodePools[0].count"]);
  });

  test("the error message lists each problem on its own line", () => {
    expect(() => parseStackConfig("prod1", raw("prod1", "platform:masters.count=2"))).toThrow(
      "invalid stack configuration:\n  - platform:masters.count: must be odd for etcd quorum, got 2",
    );
  });
});

describe("cross-key checks", () => {
  test("a VPC too small for its zones is refused before anything is planned", () => {
    expect(problems("dev", "platform:network.vpcCidr=10.10.0.0/24", 'platform:network.zones=["cn-hangzhou-h","cn-hangzhou-i","cn-hangzhou-j"]')).toEqual([
      "platform:network.vpcCidr: 10.10.0.0/24 split over 3 zones gives /26 vswitches; each needs at least a /25",
    ]);
  });

  test("an app's heap that does not fit its memory limit is a config error naming the key", () => {
    expect(problems("prod1", "platform:apps.order-service.javaOpts=-Xmx64g")[0]).toMatch(/^platform:apps.order-service.javaOpts: -Xmx 65536Mi leaves no room/);
  });

  test("a member needs its host stack; the host must not name one", () => {
    const c = raw("dev");
    delete c.values["platform:hostStack"];
    expect(() => parseStackConfig("dev", c)).toThrow("platform:hostStack: is required for a member cluster");
    expect(problems("host", "platform:hostStack=livemall/platform/host")).toEqual(["platform:hostStack: the host does not reference itself; remove the key"]);
  });

  test("data-centre subnets must not overlap the cluster's ranges", () => {
    expect(problems("prod1", 'platform:datacenter.subnets=["10.40.1.0/24"]')).toEqual([
      "platform:datacenter.subnets[0]: 10.40.1.0/24 overlaps platform:network.vpcCidr 10.40.0.0/16",
    ]);
  });

  test("data-centre subnets must be private: eight /3s covering IPv4 outside 10/8 are refused, each naming its key", () => {
    const slash3s = ["32.0.0.0/3", "64.0.0.0/3", "96.0.0.0/3", "128.0.0.0/3", "160.0.0.0/3", "192.0.0.0/3", "224.0.0.0/3", "0.0.0.0/5"];
    const got = problems("prod1", `platform:datacenter.subnets=${JSON.stringify(slash3s)}`);
    expect(got).toHaveLength(8);
    expect(got[1]).toBe(
      "platform:datacenter.subnets[1]: 64.0.0.0/3 is not a private range; data-centre subnets must lie inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16",
    );
    // A private range straddling the edge of 172.16/12 is refused too; one inside passes.
    expect(problems("prod1", 'platform:datacenter.subnets=["172.0.0.0/11"]')).toEqual([
      "platform:datacenter.subnets[0]: 172.0.0.0/11 is not a private range; data-centre subnets must lie inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16",
    ]);
    expect(problems("prod1", 'platform:datacenter.subnets=["172.20.0.0/16"]')).toEqual([]);
  });

  test("secrets are a record typed by SECRET_KEYS: the webhook is always there, a misspelt key does not compile", () => {
    const c = parseStackConfig("prod1", raw("prod1"));
    const secrets: StackSecrets = c.secrets;
    expect(Object.keys(secrets).sort()).toEqual([
      "dingtalkWebhook",
      "harborPassword",
      "identityProviderSecret",
      "logSearchApiKey",
      "loggingPassword",
      "tracingAgentToken",
      "tracingElasticsearchPassword",
    ]); // apolloAccessKeys is parsed into its own map
    // @ts-expect-error harborPasword is not a secret key (tsc --noEmit checks this line)
    expect(secrets.harborPasword).toBeUndefined();
  });

  test("secrets set in plain text are refused", () => {
    const c = raw("prod1");
    c.secretKeys = c.secretKeys.filter((k) => k !== "platform:harborPassword");
    expect(() => parseStackConfig("prod1", c)).toThrow(
      "platform:harborPassword: must be set as a secret (`pulumi config set --secret platform:harborPassword ...`), it is in plain text",
    );
  });

  test("every rule an app breaks is reported at once, not only the first", () => {
    const all = problems(
      "prod1",
      "platform:apps.order-service.tag=latest",
      "platform:apps.order-service.replicas=10",
      "platform:apps.order-service.javaOpts=-Xmx64g",
    );
    expect(all).toHaveLength(3);
    expect(all[0]).toMatch(/^platform:apps\.order-service\.tag: tag "latest" is refused/);
    expect(all[1]).toMatch(/^platform:apps\.order-service\.javaOpts: -Xmx 65536Mi leaves no room/);
    expect(all[2]).toBe("platform:apps.order-service.replicas: 10 is outside autoscale 24-60");
  });

  test("the canary and autoscale rules are stated once and reach config validation", () => {
    expect(problems("pre", "platform:apps.order-service.canary.weight=150")).toEqual([
      "platform:apps.order-service.canary: set exactly one of weight or header",
      "platform:apps.order-service.canary.weight: must be a whole percent 1-99, got 150",
    ]);
    expect(problems("prod1", "platform:apps.order-service.autoscale.max=12")).toEqual([
      "platform:apps.order-service.autoscale.max: must be a whole number >= min (24), got 12",
    ]);
  });

  test("apps are not allowed on the host", () => {
    const all = problems("host", 'platform:apps={"x":{"image":"harbor.livemall.internal/a/x","tag":"v1.0.0","replicas":2,"port":8080,"healthPath":"/h"}}');
    expect(all).toContain("platform:apps: the host cluster runs no apps");
  });
});
