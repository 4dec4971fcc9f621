// Removes the folder of stored plans the global set-up made for this run.
import * as fs from "fs";
import { PLANS_DIR_ENV } from "./planStore";

export default function globalTeardown(): void {
  const dir = process.env[PLANS_DIR_ENV];
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  delete process.env[PLANS_DIR_ENV];
}
