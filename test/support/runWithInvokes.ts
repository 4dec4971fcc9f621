// Child-process helper for test/fleet/registration.test.ts: previews a stack with
// some invokes answered by fixed results (a look-up that finds nothing, or too
// much) and prints how the run ended. A separate process for the reason
// runInvalid.ts gives: the SDK's rejected promises after a failed run must reach
// this process's handlers, not jest's.
import { previewStack } from "../../components/preview/preview";

async function main(): Promise<void> {
  const [stack, json] = process.argv.slice(2);
  const answers = JSON.parse(json) as Record<string, Record<string, unknown>>;
  const invokes = Object.fromEntries(Object.entries(answers).map(([token, answer]) => [token, () => answer]));
  const outcome = await previewStack({ stack, invokes }).then(
    () => "succeeded",
    (e: unknown) => `failed: ${(e as Error).message}`,
  );
  process.stdout.write(outcome);
}

process.on("unhandledRejection", () => undefined);
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(3);
  },
);
