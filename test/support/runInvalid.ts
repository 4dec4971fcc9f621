// Child-process helper for test/config/beforeResources.test.ts: runs the real
// program (index.ts) under the offline runtime on each given override set,
// without the preview's pre-check, and prints what each failed run registered.
// A separate process because the SDK's rejected promises after a failed run
// must reach this process's own handlers (jest's sandbox hides them).
import { loadEngineConfig } from "../../components/config/stackFiles";
import { PlannedResource, runOffline } from "../../components/preview/runtime";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const program = (): Promise<Record<string, unknown>> => require("../../index")();

async function main(): Promise<void> {
  const [stack, casesJson] = process.argv.slice(2);
  const results: { error?: string; problems?: string[]; registered: string[] }[] = [];
  for (const overrides of JSON.parse(casesJson) as string[][]) {
    const c = loadEngineConfig(stack, overrides);
    let registered: PlannedResource[] = [];
    try {
      await runOffline({ stack, config: c.values, secretKeys: c.secretKeys, program, onFailure: (r) => (registered = r) });
      results.push({ registered: ["(no error)"] });
    } catch (e) {
      results.push({ error: (e as Error).name, problems: (e as { problems?: string[] }).problems, registered: registered.map((r) => r.type) });
    }
  }
  process.stdout.write(JSON.stringify(results));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(3);
  },
);
