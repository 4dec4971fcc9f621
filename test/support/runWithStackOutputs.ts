// Child-process helper for test/fleet/validatedInPre.test.ts: previews a stack with
// other stacks' outputs given (StackReference answers, by reference name) and prints
// how the run ended. A separate process for the reason runWithInvokes.ts gives: the
// SDK's rejected promises after a failed run must reach this process's handlers, not jest's.
import { previewStack } from "../../components/preview/preview";

async function main(): Promise<void> {
  const [stack, json] = process.argv.slice(2);
  const stackOutputs = JSON.parse(json) as Record<string, { outputs: Record<string, unknown>; secretOutputNames: string[] }>;
  const outcome = await previewStack({ stack, stackOutputs }).then(
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
