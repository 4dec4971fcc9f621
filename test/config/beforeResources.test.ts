// The promise: bad input is refused before a single resource is registered,
// and input that passes validation never makes the program throw.
import { execFileSync } from "child_process";
import fc from "fast-check";
import * as path from "path";
import { ConfigError, parseStackConfig } from "../../components/config/stackConfig";
import { listStacks, loadEngineConfig } from "../../components/config/stackFiles";
import { plan, previewStack } from "../support/offline";

const ROOT = path.resolve(__dirname, "..", "..");

/** Runs the program itself (index.ts, not the preview's pre-check) on each invalid config, in a child process; what did each register? */
function registeredOnInvalid(stack: string, cases: string[][]): { error?: string; problems?: string[]; registered: string[] }[] {
  const out = execFileSync(
    path.join(ROOT, "node_modules", ".bin", "node"),
    ["-r", "ts-node/register/transpile-only", "test/support/runInvalid.ts", stack, JSON.stringify(cases)],
    {
      cwd: ROOT,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return JSON.parse(out);
}

// Every case the issue lists, each refused by config validation naming its key.
const INVALID: [string[], RegExp][] = [
  [["platform:kubernetes.version=1.37.0"], /^platform:kubernetes.packageRepository: serves v1.36/],
  [["platform:network.serviceCidr=10.192.0.0/11"], /^platform:network.serviceCidr: /],
  [['platform:nodePools[0].labels["node-role.kubernetes.io/worker"]=x'], /^platform:nodePools\[0\].labels/],
  [['platform:nodePools[0].taints=[{"key":"a","value":"b c","effect":"NoSchedule"}]'], /^platform:nodePools\[0\].taints\[0\].value: /],
  [["platform:ingress.httpsNodePort=30080"], /^platform:ingress.httpsNodePort: /],
  [["platform:network.podCidr=10.110.0.0/24"], /^platform:network.podCidr: /],
  [["platform:logging.host=http://es.dev"], /^platform:logging.host: /],
  [["platform:logging.host=es\nx"], /^platform:logging.host: /],
  [["platform:masters.count=41"], /^platform:masters.count: /],
  [["platform:nodePools[0].count=10000"], /^platform:nodePools\[0\].count: /],
  [['platform:network.zones=["cn-shanghai-a","cn-shanghai-b"]'], /^platform:network.zones\[0\]: /],
  [["platform:hostStack=livemall/platform/dev"], /^platform:hostStack: /],
  [["platform:hostStack=livemall/platform/test"], /^platform:hostStack: /],
  [["platfrom:x=1"], /^platfrom:x: unknown config namespace/],
  [["alicloud:regoin=cn-hangzhou"], /^alicloud:regoin: /],
  [[`platform:apps.order-service.host=${"a".repeat(300)}.example.com`], /^platform:apps.order-service.host: /],
  [['platform:logging={"output":"kafka","brokers":["k:99999"],"topic":"t"}'], /^platform:logging.brokers\[0\]: /],
  [['platform:datacenter={"publicIp":"10.10.0.5","subnets":["192.168.0.0/16"]}'], /^platform:datacenter.publicIp: /],
  [["platform:network.podCidr=100.64.0.0/16"], /^platform:network.podCidr: /],
  [["platform:secretStore={}"], /^platform:secretStore: kmsInstanceId and kmsKeyId are required/],
];

describe("invalid config registers nothing", () => {
  const results = registeredOnInvalid(
    "dev",
    INVALID.map(([o]) => o),
  );
  test.each(INVALID.map(([o, key], i) => [o, key, i] as const))("%j", (_overrides, key, i) => {
    const { error, problems, registered } = results[i];
    expect(error).toBe("ConfigError");
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(key)]));
    // The SDK registers the stack itself before the program runs; nothing else may be registered.
    expect(registered.filter((t) => t !== "pulumi:pulumi:Stack")).toEqual([]);
  });
});

describe("config that passes validation never makes the program throw", () => {
  test("generated variations of dev's stack file", async () => {
    const host = await plan("host");
    const stackOutputs = { "livemall/platform/host": { outputs: host.rawOutputs, secretOutputNames: host.secretOutputs } };
    // Mostly valid values with the odd invalid one, so both sides of validation are exercised.
    const pool = fc.record({
      name: fc.oneof({ weight: 9, arbitrary: fc.constantFrom("general", "batch", "ingress", "a-b") }, { weight: 1, arbitrary: fc.constant("Bad") }),
      count: fc.integer({ min: 0, max: 40 }),
      labels: fc.dictionary(
        fc.oneof(
          { weight: 9, arbitrary: fc.constantFrom("node.kubernetes.io/pool", "example.com/tier", "team") },
          { weight: 1, arbitrary: fc.constant("node-role.kubernetes.io/worker") },
        ),
        fc.oneof({ weight: 9, arbitrary: fc.constantFrom("general", "a.b", "") }, { weight: 1, arbitrary: fc.constant("b c") }),
        { maxKeys: 2 },
      ),
    });
    const variation = fc.record({
      masters: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(1, 3, 5, 7) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 45 }) }),
      zones: fc.subarray(["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j", "cn-hangzhou-k"], { minLength: 1 }),
      vpcPrefix: fc.integer({ min: 16, max: 23 }),
      podPrefix: fc.integer({ min: 12, max: 24 }),
      servicePrefix: fc.integer({ min: 11, max: 24 }),
      pools: fc.uniqueArray(pool, { minLength: 1, maxLength: 3, selector: (p) => p.name }),
      httpNodePort: fc.option(fc.oneof(fc.integer({ min: 29990, max: 32770 }), fc.constantFrom(30080, 30443)), { nil: undefined }),
      httpsNodePort: fc.option(fc.oneof(fc.integer({ min: 29990, max: 32770 }), fc.constantFrom(30080, 30443)), { nil: undefined }),
    });
    let valid = 0;
    await fc.assert(
      fc.asyncProperty(variation, async (v) => {
        const overrides = [
          `platform:masters.count=${v.masters}`,
          `platform:network.zones=${JSON.stringify(v.zones)}`,
          `platform:network.vpcCidr=10.10.0.0/${v.vpcPrefix}`,
          `platform:network.podCidr=10.128.0.0/${v.podPrefix}`,
          `platform:network.serviceCidr=10.64.0.0/${v.servicePrefix}`,
          `platform:nodePools=${JSON.stringify(v.pools.map((p) => ({ ...p, instanceType: "ecs.g6.2xlarge" })))}`,
          `platform:ingress=${JSON.stringify({ httpNodePort: v.httpNodePort, httpsNodePort: v.httpsNodePort })}`,
        ];
        const c = loadEngineConfig("dev", overrides);
        try {
          parseStackConfig("dev", { values: c.values, secretKeys: c.secretKeys }, { stacks: listStacks() });
        } catch (e) {
          if (e instanceof ConfigError) return; // refused up front: fine
          throw e;
        }
        valid++;
        await previewStack({ stack: "dev", overrides, stackOutputs }); // must not throw
      }),
      { numRuns: 25, seed: 13, endOnFailure: true },
    );
    expect(valid).toBeGreaterThanOrEqual(5); // with this seed; the rest were refused up front
  }, 300_000);
});
