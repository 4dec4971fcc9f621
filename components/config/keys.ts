// The names every room uses to speak about config: the key prefix and the
// stacks. A leaf (it imports only the pack's list of environments), so a rule
// file in any domain folder names its keys without importing the schema.
import { ENVS, Env } from "../../policies/imageTags";

/** The config namespace: every key is `platform:<name>` (the project name in Pulumi.yaml). */
export const PROJECT = "platform";

/** Every stack, one per cluster, in promotion order (owned by the policy pack's imageTags.ts, which the program may import). */
export const STACKS = ENVS as readonly [Env, ...Env[]];
