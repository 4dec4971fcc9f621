// The Pulumi SDK, made lean for an offline run. Under the mock runtime nothing
// reads the SDK's per-promise debug data or per-resource source positions, yet a
// large plan (about 500k promises and 3k resources at 1000 workers) spends
// seconds producing them. runOffline installs these equivalents for the run and
// undoes them after; PREVIEW_STACK_TRACES=1 leaves the SDK as it is.
import { closures, debuggable, resourceClass, state, v8Session } from "./sdkInternals";

/**
 * Call after the mock options are set and before the program runs. Three SDK
 * habits cost a large plan seconds: `debuggablePromise` builds an Error (with
 * an empty stack, traces are off) and three debug fields per promise that only
 * PULUMI_DEBUG_PROMISE_LEAKS reads; every resource captures a full
 * source-mapped stack trace (`Resource.callsites` lifts the limit) for the
 * engine's source positions, which the mock monitor drops; and serializing the
 * dynamic provider (the readiness gate) turns the V8 debugger on for good,
 * which slows every promise after it. This swaps in equivalents and returns
 * the undo: the same leak tracking (the SDK's exit-time leak report still
 * works), no source positions, and the debugger on only while a function is
 * being serialized (re-enabling it replays every script to the SDK, so nothing
 * is missed). Error messages are untouched.
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
  const serialize = closures.serializeFunction;
  closures.serializeFunction = async (...args: unknown[]) => {
    if (debuggerOff) await debuggerPost("Debugger.enable");
    debuggerOff = false;
    serializing++;
    try {
      return await serialize(...args);
    } finally {
      // Best effort: a debugger left on only costs time, and must not mask the serializer's own error.
      if (--serializing === 0)
        debuggerOff = await debuggerPost("Debugger.disable").then(
          () => true,
          () => false,
        );
    }
  };
  return () => {
    debuggable.debuggablePromise = original;
    resource.callsites = callsites;
    closures.serializeFunction = serialize;
  };
}

let serializing = 0;
let debuggerOff = false;

/** A command on the SDK's own inspector session (the one that maps script ids to files). */
async function debuggerPost(method: string): Promise<void> {
  const session = await v8Session();
  await new Promise<void>((resolve, reject) => session.post(method, (err) => (err ? reject(err) : resolve())));
}
