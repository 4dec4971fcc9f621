// Child-process helper: previews a stack with some invokes answered by fixed results
// (a look-up that finds nothing, or too much; test/fleet/registration.test.ts) and,
// optionally, other stacks' outputs given as StackReference answers by reference name
// (test/fleet/validatedInPre.test.ts), and prints how the run ended. A separate process
// for the reason runInvalid.ts gives: the SDK's rejected promises after a failed run
// must reach this process's handlers, not jest's.
// Usage: runWithInvokes.ts <stack> <invoke answers JSON> [<stack outputs JSON> [<project dir>]]
// Prints the outcome on stdout and, for a failure, whether the error is a RunError (the one
// kind the Pulumi CLI prints without a stack trace) and what was registered before it, on stderr.
import * as pulumi from "@pulumi/pulumi";
import { previewStack } from "../../components/preview/preview";

async function main(): Promise<void> {
  const [stack, invokesJson, outputsJson, dir] = process.argv.slice(2);
  const answers = JSON.parse(invokesJson) as Record<string, Record<string, unknown>>;
  const invokes = Object.fromEntries(Object.entries(answers).map(([token, answer]) => [token, () => answer]));
  const stackOutputs = outputsJson ? (JSON.parse(outputsJson) as Record<string, { outputs: Record<string, unknown>; secretOutputNames: string[] }>) : undefined;
  let registered: string[] = [];
  const onFailure = (r: { type: string; name: string }[]) => (registered = r.map((x) => `${x.type}::${x.name}`));
  const outcome = await previewStack({ stack, invokes, stackOutputs, onFailure, ...(dir ? { dir } : {}) }).then(
    () => "succeeded",
    (e: unknown) => {
      process.stderr.write(`error kind: ${pulumi.RunError.isInstance(e) ? "RunError" : (e as Error).constructor.name}\n`);
      process.stderr.write(`registered: ${JSON.stringify(registered)}\n`);
      return `failed: ${(e as Error).message}`;
    },
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
