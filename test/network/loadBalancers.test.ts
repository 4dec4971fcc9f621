// Both CLBs against what Alibaba sells and the provider accepts, in every stack's plan:
// pay-by-LCU (new pay-by-specification CLBs are not sold since 2025-06-01, Alibaba Cloud
// doc-detail/127268), and the ingress listeners waiting for their server-group
// attachments (provider doc slb_server_group_server_attachment.html.markdown).
import { ConfigError, parseStackConfig } from "../../components/config/stackConfig";
import { loadEngineConfig } from "../../components/config/stackFiles";
import { ofType, plan, STACK_NAMES } from "../support/offline";

describe.each(STACK_NAMES)("%s load balancers", (stack) => {
  test("both CLBs are pay-as-you-go, pay-by-LCU, with no spec", async () => {
    const slbs = ofType(await plan(stack), "alicloud:slb/applicationLoadBalancer:ApplicationLoadBalancer");
    expect(slbs.map((s) => s.inputs.loadBalancerName).sort()).toEqual([`${stack}-apiserver`, `${stack}-ingress`]);
    for (const slb of slbs) {
      expect(slb.inputs).toMatchObject({ paymentType: "PayAsYouGo", instanceChargeType: "PayByCLCU" });
      expect(slb.inputs).not.toHaveProperty("loadBalancerSpec");
      expect(slb.inputs).not.toHaveProperty("specification");
    }
  });

  test("every ingress listener depends on every attachment of its server group", async () => {
    const p = await plan(stack);
    const listeners = ofType(p, "alicloud:slb/listener:Listener").filter((l) => l.inputs.serverGroupId !== undefined);
    expect(listeners.map((l) => l.inputs.frontendPort).sort()).toEqual([443, 80]);
    const attachments = ofType(p, "alicloud:slb/serverGroupServerAttachment:ServerGroupServerAttachment");
    for (const l of listeners) {
      const mine = attachments.filter((a) => a.inputs.serverGroupId === l.inputs.serverGroupId);
      expect(mine.length).toBeGreaterThan(0);
      for (const a of mine) expect(l.dependsOn).toContain(a.urn);
    }
  });
});

test("platform:ingress.slbSpec is refused with the reason", () => {
  const c = loadEngineConfig("dev", ['platform:ingress={"slbSpec":"slb.s3.medium"}']);
  let problems: string[] = [];
  try {
    parseStackConfig("dev", { values: c.values, secretKeys: c.secretKeys });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems = e.problems;
  }
  expect(problems).toEqual([
    "platform:ingress.slbSpec: is no longer a setting: Alibaba stopped selling new pay-by-specification CLBs on 2025-06-01 (doc-detail/127268), so the ingress SLB is pay-by-LCU (PayByCLCU), which has no spec and scales with load; delete the key",
  ]);
});
