// The NAT EIP's bandwidth against the documented limits (provider eip_address doc:
// pay-as-you-go PayByTraffic 1-200 Mbps, PayByBandwidth 1-500), in config and in the plan.
import { EIP_BANDWIDTH_LIMITS } from "../../components/config/schema";
import { ofType, plan } from "../support/offline";
import { STACKS } from "../../components/config/keys";
import { configProblems } from "../support/configProblems";

const problems = configProblems;

describe("NAT EIP charge type and bandwidth", () => {
  test("over 200 Mbps pay-by-traffic is refused, naming the key and the way out", () => {
    expect(problems("prod1", "platform:network.natChargeType=PayByTraffic")).toEqual([
      "platform:network.natBandwidthMbps: 500 Mbps is over 200, the most a pay-as-you-go PayByTraffic EIP allows; set platform:network.natChargeType: PayByBandwidth (up to 500 Mbps) or lower it",
    ]);
    // The default charge type is PayByTraffic.
    expect(problems("dev", "platform:network.natBandwidthMbps=201")[0]).toMatch(/^platform:network.natBandwidthMbps: 201 Mbps is over 200/);
    expect(problems("dev", "platform:network.natBandwidthMbps=200")).toEqual([]);
  });

  test("over 500 Mbps is refused for pay-by-bandwidth too", () => {
    expect(problems("prod1", "platform:network.natBandwidthMbps=501")).toEqual([
      "platform:network.natBandwidthMbps: 501 Mbps is over 500, the most a pay-as-you-go PayByBandwidth EIP allows; lower it",
    ]);
  });

  test("an unknown charge type names the key", () => {
    expect(problems("dev", "platform:network.natChargeType=PayBySpec")[0]).toMatch(/^platform:network.natChargeType: /);
  });

  test.each(STACKS)("%s plans an EIP inside the documented range for its charge type", async (stack) => {
    const p = await plan(stack);
    const eips = ofType(p, "alicloud:ecs/eipAddress:EipAddress");
    expect(eips).toHaveLength(1);
    const { bandwidth, internetChargeType, paymentType } = eips[0].inputs as Record<string, string>;
    expect(paymentType).toBe("PayAsYouGo");
    expect(Object.keys(EIP_BANDWIDTH_LIMITS)).toContain(internetChargeType);
    const mbps = Number(bandwidth);
    expect(mbps).toBeGreaterThanOrEqual(1);
    // Written out here, not read from the module: the doc's numbers.
    expect(mbps).toBeLessThanOrEqual(internetChargeType === "PayByTraffic" ? 200 : 500);
  });

  test("prod1 and prod2 keep their bandwidth and pay by bandwidth", async () => {
    for (const [stack, mbps] of [
      ["prod1", "500"],
      ["prod2", "300"],
    ]) {
      const eip = ofType(await plan(stack), "alicloud:ecs/eipAddress:EipAddress")[0];
      expect(eip.inputs).toMatchObject({ bandwidth: mbps, internetChargeType: "PayByBandwidth" });
    }
  });
});
