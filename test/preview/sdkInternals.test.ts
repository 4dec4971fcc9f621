// The SDK internals the project uses (components/preview/sdkInternals.ts: the
// preview's, and isConfigSecret, which `pulumi up` needs too) were read against
// one SDK version. A different installed version fails here,
// naming what to re-read, before a subtle change shows up as a wrong plan.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as sdk from "../../components/preview/sdkInternals";

const ROOT = path.resolve(__dirname, "..", "..");

describe("the SDK internals the preview uses", () => {
  it("were checked against the installed @pulumi/pulumi", () => {
    const installed = sdk.installedSdkVersion();
    const declared = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).dependencies["@pulumi/pulumi"];
    expect(declared).toBe(installed);
    if (installed !== sdk.SDK_VERSION_CHECKED) {
      throw new Error(
        `@pulumi/pulumi is ${installed}, components/preview/sdkInternals.ts was checked against ${sdk.SDK_VERSION_CHECKED}. ` +
          `Re-read in node_modules/@pulumi/pulumi:\n- ${sdk.RECHECK.join("\n- ")}\n` +
          `then run the preview tests and the bench, and set SDK_VERSION_CHECKED to ${installed}.`,
      );
    }
  });

  it("the policy pack runs on the same SDK version", () => {
    const pack = JSON.parse(fs.readFileSync(path.join(ROOT, "policies/package.json"), "utf8"));
    expect(pack.dependencies["@pulumi/pulumi"]).toBe(sdk.SDK_VERSION_CHECKED);
  });

  it("has the shapes the preview relies on", () => {
    expect(typeof sdk.state.getStore).toBe("function");
    expect(sdk.state.getStore()).toHaveProperty("leakCandidates");
    expect(typeof sdk.settings.setMockOptions).toBe("function");
    expect(typeof sdk.settings.waitForRPCs).toBe("function");
    expect(typeof sdk.debuggable.debuggablePromise).toBe("function");
    expect(typeof sdk.debuggable.debugPromiseLeaks).toBe("boolean");
    expect(typeof sdk.resourceClass.callsites).toBe("function");
    expect(typeof sdk.closures.serializeFunction).toBe("function");
    expect(typeof sdk.sdkResource.registerResource).toBe("function");
    expect(typeof sdk.rpc.specialSigKey).toBe("string");
    expect(typeof sdk.rpc.specialSecretSig).toBe("string");
    expect(typeof (sdk.MockMonitor.prototype as unknown as { newUrn: unknown }).newUrn).toBe("function");
    const response = sdk.registerResponse("urn:pulumi:s::p::t::n", "id-1", { a: "b" }) as {
      getUrn(): string;
      getId(): string;
      getObject(): { toJavaScript(): unknown };
    };
    expect([response.getUrn(), response.getId(), response.getObject().toJavaScript()]).toEqual(["urn:pulumi:s::p::t::n", "id-1", { a: "b" }]);
  });

  it("the SDK still calls debuggablePromise and serializeFunction through their modules' exports (what the lean patch replaces)", () => {
    // The patch swaps the module's export; a direct local call would bypass it silently.
    const dir = path.join(ROOT, "node_modules/@pulumi/pulumi");
    const registration = fs.readFileSync(path.join(dir, "runtime/resource.js"), "utf8");
    expect(registration).toMatch(/debuggable_1\.debuggablePromise\(/);
    expect(registration).not.toMatch(/[^.\w]debuggablePromise\(/);
    const resource = fs.readFileSync(path.join(dir, "resource.js"), "utf8");
    expect(resource).toMatch(/Resource\.callsites\(\)/);
    // The offline run swaps serializeFunction on the closure module: a dynamic resource must still reach it there.
    const dynamic = fs.readFileSync(path.join(dir, "dynamic/index.js"), "utf8");
    expect(dynamic).toMatch(/require\("\.\.\/runtime\/closure\/serializeClosure"\)/);
    expect(dynamic).toMatch(/sc\.serializeFunction\(\(\) => provider/);
    expect(dynamic).toMatch(/if \(settings\.cacheDynamicProviders\(\)\)/);
    expect(fs.readFileSync(path.join(dir, "runtime/settings.js"), "utf8")).toMatch(/return options\(\)\.cacheDynamicProviders === true;/);
    // The engine's dynamic-provider host loads the text as test/cluster/dynamicProviders.test.ts does.
    expect(fs.readFileSync(path.join(dir, "cmd/dynamic-provider/index.js"), "utf8")).toMatch(/requireFromString\(providerString\)\.handler\(\)/);
  });

  it("isConfigSecret tells the keys set as secrets from plain ones (pulumi up reads secrets through it)", () => {
    // config/stackConfig.ts: a key stored with --secret that this called plain would be refused by validation.
    expect(typeof sdk.isConfigSecret).toBe("function");
    pulumi.runtime.setAllConfig({ "platform:dingtalkWebhook": "x", "platform:env": "dev" }, ["platform:dingtalkWebhook"]);
    expect([sdk.isConfigSecret("platform:dingtalkWebhook"), sdk.isConfigSecret("platform:env"), sdk.isConfigSecret("platform:absent")]).toEqual([
      true,
      false,
      false,
    ]);
  });

  it("is the only place the program, the preview and the bench reach into the SDK", () => {
    const files = (dir: string): string[] =>
      fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
        const rel = path.join(dir, e.name);
        if (e.isDirectory()) return e.name === "node_modules" ? [] : files(rel);
        return e.name.endsWith(".ts") ? [rel] : [];
      });
    const sources = ["index.ts", ...files("components"), ...files("policies"), ...files("test/bench")];
    expect(sources).toContain(path.join("components", "preview", "leanSdk.ts"));
    const reaching = sources
      .filter((f) => f !== path.join("components", "preview", "sdkInternals.ts"))
      .map((f) => [f, fs.readFileSync(path.join(ROOT, f), "utf8").match(/@pulumi\/pulumi\/[\w/]+/g)])
      .filter(([, m]) => m !== null);
    expect(reaching).toEqual([]);
  });
});
