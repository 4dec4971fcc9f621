// Child-process helper: previews a stack with some invokes answered by fixed results
// (a look-up that finds nothing, or too much; test/fleet/registration.test.ts) and,
// optionally, other stacks' outputs given as StackReference answers by reference name
// (test/fleet/validatedInPre.test.ts), and prints how the run ended. A separate process
// for the reason runInvalid.ts gives: the SDK's rejected promises after a failed run
// must reach this process's handlers, not jest's.
// Usage: runWithInvokes.ts <stack> <invoke answers JSON> [<stack outputs JSON> [<project dir> [<failing resources JSON>]]]
// (failing resources: resource name -> the message its create or update fails with, as a provider's error would).
// Prints the outcome on stdout and, for a failure, whether the error is a RunError (the one
// kind the Pulumi CLI prints without a stack trace) and what was registered before it, on stderr;
// for a success, the stack outputs T21 is about (validatedImages, runningImages, validatedIn, tier) on stderr.
import * as pulumi from "@pulumi/pulumi";
import { previewStack } from "../../components/preview/preview";

async function main(): Promise<void> {
  const [stack, invokesJson, outputsJson, dir, failingJson] = process.argv.slice(2);
  const failing = failingJson ? (JSON.parse(failingJson) as Record<string, string>) : {};
  const resources = Object.fromEntries(
    Object.entries(failing).map(([name, message]) => [
      name,
      () => {
        throw new Error(message);
      },
    ]),
  );
  const answers = JSON.parse(invokesJson) as Record<string, Record<string, unknown>>;
  const invokes = Object.fromEntries(Object.entries(answers).map(([token, answer]) => [token, () => answer]));
  const stackOutputs = outputsJson ? (JSON.parse(outputsJson) as Record<string, { outputs: Record<string, unknown>; secretOutputNames: string[] }>) : undefined;
  let registered: string[] = [];
  let outputsAtFailure: Record<string, unknown> = {};
  const onFailure = (r: { type: string; name: string }[], outputs: Record<string, unknown>) => {
    registered = r.map((x) => `${x.type}::${x.name}`);
    outputsAtFailure = outputs;
  };
  const outcome = await previewStack({ stack, invokes, stackOutputs, onFailure, resources, ...(dir ? { dir } : {}) }).then(
    ({ plan }) => {
      const { validatedImages, runningImages, validatedIn, tier } = plan.outputs;
      process.stderr.write(`outputs: ${JSON.stringify({ validatedImages, runningImages, validatedIn, tier })}\n`);
      return "succeeded";
    },
    (e: unknown) => {
      process.stderr.write(`error kind: ${pulumi.RunError.isInstance(e) ? "RunError" : (e as Error).constructor.name}\n`);
      process.stderr.write(`registered: ${JSON.stringify(registered)}\n`);
      process.stderr.write(`outputs: ${JSON.stringify(outputsAtFailure)}\n`);
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
