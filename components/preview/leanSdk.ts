// The Pulumi SDK, made lean for an offline run. Under the mock runtime nothing
// reads the SDK's per-promise debug data or per-resource source positions, yet a
// large plan (about 500k promises and 3k resources at 1000 workers) spends
// seconds producing them. runOffline installs these equivalents for the run and
// undoes them after; PREVIEW_STACK_TRACES=1 leaves the SDK as it is.
import { closures, debuggable, resourceClass, state } from "./sdkInternals";

/**
 * Call after the mock options are set and before the program runs. Three SDK
 * habits cost a large plan seconds: `debuggablePromise` builds an Error (with
 * an empty stack, traces are off) and three debug fields per promise that only
 * PULUMI_DEBUG_PROMISE_LEAKS reads; every resource captures a full
 * source-mapped stack trace (`Resource.callsites` lifts the limit) for the
 * engine's source positions, which the mock monitor drops; and serializing the
 * dynamic providers (the readiness gates) turns the V8 debugger on, which
 * replays every loaded script to the SDK and slows every promise after it,
 * for code the mock monitor replaces by a placeholder. This swaps in
 * equivalents and returns the undo: the same leak tracking (the SDK's
 * exit-time leak report still works), no source positions, and a fixed text
 * for each provider's code (NOT_SERIALIZED_OFFLINE). Error messages are
 * untouched.
 */
export function leanSdkDuringRun(): () => void {
  const original = debuggable.debuggablePromise;
  const resource = resourceClass;
  const callsites = resource.callsites;
  original(Promise.resolve(), "offline preview"); // schedules the SDK's leak report, as its first call would
  // The debug fields are only read with PULUMI_DEBUG_PROMISE_LEAKS set; the SDK's own function stays then.
  const leanPromises = !debuggable.debugPromiseLeaks;
  // The run's store (the SDK looks it up per promise; it does not change during a run).
  const store = state.getStore() as { leakCandidates: Set<Promise<unknown>> };
  if (leanPromises) {
    debuggable.debuggablePromise = <T>(p: Promise<T>): Promise<T> => {
      const leaks = store.leakCandidates;
      leaks.add(p);
      return p.then(
        (v) => (leaks.delete(p), v),
        (err) => {
          leaks.delete(p);
          err.promise = p;
          throw err;
        },
      );
    };
  }
  resource.callsites = () => [];
  // The dynamic providers' code: the plan shows a placeholder for it (runtime.ts), nothing offline runs it, and
  // serializing it turns the V8 debugger on, which replays every loaded script (TypeScript's 9 MB among them)
  // to the SDK. test/cluster/dynamicProviders.test.ts serializes each provider with the SDK's own function and
  // loads the text as the engine's dynamic-provider host does, so a provider that stops serializing fails there.
  // The SDK caches each provider's text per provider object (dynamic/index.js providerCache); off for the run, so
  // the placeholder never outlives it (a later run with PREVIEW_STACK_TRACES=1 in the same process serializes).
  const serialize = closures.serializeFunction;
  closures.serializeFunction = async () => ({ text: NOT_SERIALIZED_OFFLINE, containsSecrets: false });
  const options = (state.getStore() as { settings: { options: { cacheDynamicProviders?: boolean } } }).settings.options;
  const cacheProviders = options.cacheDynamicProviders;
  options.cacheDynamicProviders = false;
  return () => {
    debuggable.debuggablePromise = original;
    resource.callsites = callsites;
    closures.serializeFunction = serialize;
    options.cacheDynamicProviders = cacheProviders;
  };
}

/** What a dynamic resource's `__provider` input holds in an offline run. */
export const NOT_SERIALIZED_OFFLINE = "[dynamic provider: not serialized offline]";
