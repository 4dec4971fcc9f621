// components/config/stackConfig.ts learns which keys were set with `--secret` from the SDK's
// `isConfigSecret`, which @pulumi/pulumi marks @internal (still so in 3.276.0: no public API tells a
// program whether a key was stored as a secret). This is the one SDK internal on the real `pulumi up`
// path, so its behaviour is pinned here: an SDK upgrade that drops or changes it fails this test
// instead of silently treating every secret as plain text (which config validation would then refuse).
import * as pulumi from "@pulumi/pulumi";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const internal = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };

describe("the SDK's isConfigSecret, used by loadStackConfig", () => {
  it("exists and tells secret keys from plain ones after setAllConfig", () => {
    expect(typeof internal.isConfigSecret).toBe("function");
    pulumi.runtime.setAllConfig({ "platform:dingtalkWebhook": "x", "platform:env": "dev" }, ["platform:dingtalkWebhook"]);
    expect(internal.isConfigSecret!("platform:dingtalkWebhook")).toBe(true);
    expect(internal.isConfigSecret!("platform:env")).toBe(false);
  });

  it("is read against the pinned SDK version (re-check the internal on upgrade)", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(require("@pulumi/pulumi/package.json").version).toBe("3.276.0");
  });
});
