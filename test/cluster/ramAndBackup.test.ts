// RAM policy versions, the backup bucket's lifecycle and the masters' reach into it, and the
// VPN connection's replacement rule, against the provider's documented behaviour (issue 28).
import { replaceRule } from "../../components/preview/providerSemantics";
import { ofType, plan, STACK_NAMES } from "../support/offline";

describe("RAM policies survive a sixth edit", () => {
  // terraform-provider-alicloud 81c43b67 website/docs/r/ram_policy.html.markdown:21,74: five versions at most,
  // the oldest is not dropped unless rotate_strategy says so (default None).
  test.each(STACK_NAMES)("%s: every policy drops its oldest non-default version at the limit", async (stack) => {
    const policies = ofType(await plan(stack), "alicloud:ram/policy:Policy");
    expect(policies.length).toBeGreaterThanOrEqual(2);
    for (const p of policies) expect([p.name, p.inputs.rotateStrategy]).toEqual([p.name, "DeleteOldestNonDefaultVersionWhenLimitExceeded"]);
  });
});

describe("the etcd backup bucket keeps history as long as snapshots", () => {
  test("prod1 (retention 7 days): snapshots and their old versions 7 days each, expired delete markers removed", async () => {
    const [bucket] = ofType(await plan("prod1"), "alicloud:oss/bucket:Bucket");
    expect(bucket.inputs.versioning).toEqual({ status: "Enabled" });
    expect(bucket.inputs.lifecycleRules).toEqual([
      {
        id: "etcd-snapshots",
        enabled: true,
        prefix: "prod1/",
        expirations: [{ days: 7 }],
        noncurrentVersionExpirations: [{ days: 7 }],
        abortMultipartUploads: [{ days: 1 }],
      },
      { id: "etcd-delete-markers", enabled: true, prefix: "prod1/", expirations: [{ expiredObjectDeleteMarker: true }] },
    ]);
    // Two rules on one prefix both expire objects: OSS takes that only with the overlap flag (oss_bucket docs :646).
    expect(bucket.inputs.lifecycleRuleAllowSameActionOverlap).toBe(true);
  });

  test("prod1: the masters may put snapshots and are denied every call that removes a version or the rules", async () => {
    const p = await plan("prod1");
    const policy = ofType(p, "alicloud:ram/policy:Policy").find((r) => r.name.endsWith("-etcd-backup"))!;
    const bucket = "livemall-prod1-etcd-backup";
    expect(JSON.parse(String(policy.inputs.policyDocument)).Statement).toEqual([
      { Effect: "Allow", Action: ["oss:PutObject"], Resource: [`acs:oss:*:*:${bucket}/prod1/*`] },
      {
        Effect: "Deny",
        Action: ["oss:Delete*", "oss:PutBucket*"],
        Resource: [`acs:oss:*:*:${bucket}`, `acs:oss:*:*:${bucket}/*`],
      },
    ]);
  });
});

describe("VPN connection: of the tunnel options only the customer gateway replaces", () => {
  // terraform-provider-alicloud 81c43b67 alicloud/resource_alicloud_vpn_connection.go: tunnel_options_specification
  // is Optional without ForceNew (:251-254); inside it customer_gateway_id is ForceNew (:312-316).
  const VPN = "alicloud:vpn/connection:Connection";
  test.each([
    ["tunnelOptionsSpecifications[0].tunnelIkeConfig.psk", undefined],
    ["tunnelOptionsSpecifications[1].tunnelIpsecConfig.ipsecEncAlg", undefined],
    ["tunnelOptionsSpecifications[0].enableDpd", undefined],
    ["tunnelOptionsSpecifications[1].customerGatewayId", "tunnelOptionsSpecifications[*].customerGatewayId"],
    ["customerGatewayId", "customerGatewayId"],
    ["vpnGatewayId", "vpnGatewayId"],
  ])("%s -> %s", (path, rule) => {
    expect(replaceRule(VPN, path)).toBe(rule);
  });
});
