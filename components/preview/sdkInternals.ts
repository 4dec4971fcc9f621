// Every internal module of the Pulumi SDK the project reaches into, in one
// place: the offline preview (and its bench), and `isConfigSecret`, which
// `pulumi up` needs too (config/stackConfig.ts). None of these is public API:
// the SDK may change them in any release, so this file names the SDK version it
// was checked against, and test/preview/sdkInternals.test.ts fails when the
// installed SDK differs, listing what to re-check, and when any other file
// imports an SDK module by its path. Loading this module on the `pulumi up`
// path costs nothing the SDK does not load anyway: every module required at the
// top is one `@pulumi/pulumi` loads itself; the protobuf pieces load only
// when the preview first uses them.
//
// Checked against @pulumi/pulumi 3.276.0 (node_modules/@pulumi/pulumi/...):
// - runtime/config.js         isConfigSecret(key): whether the engine passed the key in
//                             PULUMI_CONFIG_SECRET_KEYS (set with `--secret`); no public API
//                             tells a program this. Used by `pulumi up` and the preview.
// - runtime/state.js          getStore() returns the run's LocalStore (leakCandidates,
//                             settings, supportsSecrets and the other feature flags).
// - runtime/settings.js       setMockOptions(monitor, project, stack, preview, organization)
//                             and waitForRPCs(), the functions runtime.setMocks uses.
// - runtime/debuggable.js     debuggablePromise(p, ctx) is looked up on the module's
//                             exports at each call site (exports.debuggablePromise), adds
//                             p to store.leakCandidates and deletes it when settled;
//                             debugPromiseLeaks mirrors PULUMI_DEBUG_PROMISE_LEAKS.
// - resource.js               static Resource.callsites(), called per resource for the
//                             engine's source positions.
// - runtime/closure/serializeClosure.js   exports.serializeFunction(func, args), looked up
//                             on the module's exports by dynamic/index.js (the offline run
//                             swaps it; the dynamic-provider test calls the SDK's own).
// - runtime/mocks.js          class MockMonitor: resources (a Map by URN), newUrn(parent,
//                             type, name), registerResource / readResource /
//                             registerResourceOutputs(req, callback).
// - runtime/rpc.js            specialSigKey, specialSecretSig, serializeProperties,
//                             deserializeProperties.
// - runtime/resource.js       registerResource(res, parent, type, name, custom, remote,
//                             newDependency, props, opts, ...) (the bench wraps it).
// - proto/resource_pb.js      RegisterResourceResponse (setUrn, setId, setObject).
// - google-protobuf           Struct.fromJavaScript (a dependency of the SDK, declared
//                             in package.json at the version the SDK asks for).
/* eslint-disable @typescript-eslint/no-require-imports */
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as rpc from "@pulumi/pulumi/runtime/rpc";

/** The SDK version every use below was read against. */
export const SDK_VERSION_CHECKED = "3.276.0";

/** What to re-read in the new SDK's source when its version changes. */
export const RECHECK = [
  "runtime/config.js: isConfigSecret(key) still exported, true exactly for the keys setAllConfig was given as secret (pulumi up reads secrets through it)",
  "runtime/state.js: getStore() and the LocalStore fields set in runOffline (supportsSecrets, ...) and leakCandidates",
  "runtime/settings.js: setMockOptions(monitor, project, stack, preview, organization) and waitForRPCs()",
  "runtime/debuggable.js: debuggablePromise still called through exports, still only leak tracking besides the debug fields",
  "resource.js: Resource.callsites() still a static called per resource, only for source positions",
  "runtime/closure/serializeClosure.js and dynamic/index.js: serializeFunction still looked up through the module (sc.serializeFunction) and returning { text, containsSecrets }; the provider cache still keyed on settings.options.cacheDynamicProviders",
  "cmd/dynamic-provider/index.js: the engine's host still loads __provider with require-from-string and calls .handler() (test/cluster/dynamicProviders.test.ts does the same)",
  "runtime/mocks.js: MockMonitor's resources map, newUrn and the request getters RecordingMonitor reads",
  "runtime/resource.js: registerResource's argument order (the bench)",
  "proto/resource_pb.js and google-protobuf's Struct: the register response",
] as const;

/** Whether a config key (`project:key`) was set as a secret; @internal in the SDK, no public equivalent. */
export const isConfigSecret: (key: string) => boolean = (require("@pulumi/pulumi/runtime/config") as { isConfigSecret(k: string): boolean }).isConfigSecret;

export const state = require("@pulumi/pulumi/runtime/state") as { getStore(): Record<string, unknown> };

export const settings = require("@pulumi/pulumi/runtime/settings") as {
  setMockOptions(monitor: unknown, project: string, stack: string, preview: boolean, organization?: string): void;
  waitForRPCs(): Promise<void>;
};

export const debuggable = require("@pulumi/pulumi/runtime/debuggable") as {
  debuggablePromise<T>(p: Promise<T>, ctx: unknown): Promise<T>;
  debugPromiseLeaks?: boolean;
};

/** Resource's static callsites(), which the typings hide. */
export const resourceClass = pulumi.Resource as unknown as { callsites(): unknown[] };

export const closures = require("@pulumi/pulumi/runtime/closure/serializeClosure") as {
  serializeFunction(...args: unknown[]): Promise<unknown>;
};

export const sdkResource = require("@pulumi/pulumi/runtime/resource") as { registerResource: (...a: unknown[]) => unknown };

export { MockMonitor, rpc };

/** A RegisterResourceResponse carrying `urn`, `id` and the serialized state. */
export function registerResponse(urn: string, id: string, serializedState: Record<string, unknown>): unknown {
  const { RegisterResourceResponse } = require("@pulumi/pulumi/proto/resource_pb");
  const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
  const response = new RegisterResourceResponse();
  response.setUrn(urn);
  response.setId(id);
  response.setObject(Struct.fromJavaScript(serializedState));
  return response;
}

/** The installed SDK's version (its package.json). */
export function installedSdkVersion(): string {
  return (require("@pulumi/pulumi/package.json") as { version: string }).version;
}
