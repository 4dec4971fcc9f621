// Child process of the jest global set-up: plans each stack once, exactly as
// `npm run preview -- <stack>` does (the host's plan plans its members first, as
// the preview does), and writes the plans to the folder given. A separate
// process so the SDK's global state never enters jest's own process.
import * as fs from "fs";
import { previewStack } from "../../components/preview/preview";
import { STACKS } from "../../components/config/keys";
import { errorFile, planFile, planToJson } from "./planStore";

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error("usage: planStacks.ts <dir>");
  fs.mkdirSync(dir, { recursive: true });
  for (const stack of STACKS) {
    try {
      const { plan } = await previewStack({ stack });
      fs.writeFileSync(planFile(dir, stack), planToJson(plan));
    } catch (e) {
      // A stack that does not plan fails the tests that read it, with this message, as planning there would.
      fs.writeFileSync(errorFile(dir, stack), e instanceof Error ? e.message : String(e));
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
