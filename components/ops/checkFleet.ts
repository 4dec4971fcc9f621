// `npm run check:fleet [-- --dir DIR]`: the fleet-wide address plan over every
// stack file, and the KubeSphere registration (the host's
// platform:kubesphere.members against each member's file, kubesphereMembers.ts). Clusters linked together (each member to the host, and every
// cluster linked to the data centre) must not share VPC, pod or service ranges,
// and none may overlap the data centre's subnets. And prod runs only tags pre
// validated (prodTags.ts); every stack gets its secrets from its own ESC environment
// (escEnvironments.ts); the CI runners reach every stack's api-server front and
// every region's APIs (ciRunners.ts, .github/runners.yaml).
import * as fs from "fs";
import * as path from "path";
import { checkFleetAddressPlan, ClusterAddressPlan, FleetAddressPlan } from "../fleet/fleetAddressPlan";
import { ConfigError, PROJECT } from "../config/stackConfig";
import { FleetError, readFleet } from "../../policies/fleet";
import { listStacks, PROJECT_DIR, readStackFile } from "../config/stackFiles";
import { fleetRegistrationProblems } from "../fleet/kubesphereMembers";
import { prodTagsNotFromPre } from "./prodTags";
import { fleetUniquenessProblems } from "./fleetUniqueness";
import { exitAfterFlush, readArgs, runCli, UsageError } from "../config/cli";
import { escProblems } from "./escEnvironments";
import { runnerProblems } from "./ciRunners";

interface StackNetwork {
  network?: { vpcCidr?: string; podCidr?: string; serviceCidr?: string };
  hostStack?: string;
  datacenter?: { subnets?: string[] };
}

/** The fleet's address plan, read from the committed stack files. */
export function fleetPlanFromStackFiles(dir = PROJECT_DIR): FleetAddressPlan {
  const clusters: ClusterAddressPlan[] = [];
  const links: [string, string][] = [];
  const dcStacks: string[] = [];
  let dcSubnets: string[] = [];
  for (const { name: stack } of readFleet(dir).stacks) {
    const values = readStackFile(stack, dir).values;
    const s: StackNetwork = {
      network: values[`${PROJECT}:network`] as StackNetwork["network"],
      hostStack: values[`${PROJECT}:hostStack`] as string | undefined,
      datacenter: values[`${PROJECT}:datacenter`] as StackNetwork["datacenter"],
    };
    clusters.push({ stack, vpcCidr: s.network?.vpcCidr ?? "", podCidr: s.network?.podCidr ?? "", serviceCidr: s.network?.serviceCidr ?? "" });
    if (s.hostStack) links.push([stack, s.hostStack.split("/").pop()!]);
    if (s.datacenter?.subnets) {
      dcStacks.push(stack);
      dcSubnets = [...new Set([...dcSubnets, ...s.datacenter.subnets])];
    }
  }
  return { clusters, links, ...(dcStacks.length ? { datacenter: { subnets: dcSubnets, linkedStacks: dcStacks } } : {}) };
}

const USAGE = "usage: npm run check:fleet [-- --dir DIR]   (DIR: where the Pulumi.<stack>.yaml files are; default the project root)";

export function main(argv: string[]): number {
  return runCli({ usage: USAGE, otherErrors: { bug: "fleet address plan" } }, () => check(argv));
}

function check(argv: string[]): number {
  const { values, positionals } = readArgs(argv, { dir: { type: "string", value: "a directory" } });
  if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const dir = values.dir === undefined ? PROJECT_DIR : path.resolve(values.dir as string);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    console.error(`fleet address plan: ${dir}: no such directory`);
    return 1;
  }
  let plan: FleetAddressPlan;
  try {
    plan = fleetPlanFromStackFiles(dir);
  } catch (e) {
    // A stack file that is not YAML (or not a stack file) is named, with line and column; no stack trace.
    const problems = e instanceof ConfigError || e instanceof FleetError ? e.problems : [(e as Error).message];
    console.error(`fleet address plan: cannot read the stack files:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    return 1;
  }
  if (plan.clusters.length === 0) {
    console.error(`fleet address plan: no stack files (Pulumi.<stack>.yaml) in ${dir}; nothing checked`);
    return 1;
  }
  // KubeSphere registration: the host's members list and each member's hostStack / kubesphere.enabled agree.
  const problems = [...checkFleetAddressPlan(plan), ...fleetRegistrationProblems(listStacks(dir))];
  const unvalidated = prodTagsNotFromPre(dir);
  const clashes = uniquenessSection(plan, dir, problems);
  if (problems.length) {
    console.error(`fleet address plan: ${problems.length} problem${problems.length > 1 ? "s" : ""}`);
    for (const p of problems) console.error(`  - ${p}`);
  }
  if (unvalidated.length) {
    console.error(`prod tags not validated in pre: ${unvalidated.length}`);
    for (const p of unvalidated) console.error(`  - ${p}`);
  }
  const secrets = escProblems(dir);
  if (secrets.length) {
    console.error(`stack secrets (ESC environments): ${secrets.length} problem${secrets.length > 1 ? "s" : ""}`);
    for (const p of secrets) console.error(`  - ${p}`);
  }
  const runners = runnerProblems(dir);
  if (runners.length) {
    console.error(`CI runners: ${runners.length} problem${runners.length > 1 ? "s" : ""}`);
    for (const p of runners) console.error(`  - ${p}`);
  }
  if (problems.length || unvalidated.length || secrets.length || runners.length || clashes) return 1;
  console.log(
    `fleet address plan: ${plan.clusters.length} clusters, ${plan.links.length} IPsec links` +
      `${plan.datacenter ? `, data centre linked to ${plan.datacenter.linkedStacks.join(", ")}` : ""}: no overlaps; ` +
      `KubeSphere members and their host agree; every prod tag was validated in pre; bucket names, network ranges and per-stack values unique; ` +
      `every stack's ESC environment supplies its secrets; the CI runners reach every api-server front, region and host their jobs need, each job on its pool`,
  );
  return 0;
}

/** Names the cloud makes global and VPC ranges, across stack files (T25); prints its lines, returns how many. */
function uniquenessSection(plan: FleetAddressPlan, dir: string, reported: string[]): number {
  // Linked clusters' range clashes are the address plan's lines already: one line per clash.
  const linked = (line: string) => {
    const stacks = [...line.matchAll(/Pulumi\.([^.]+)\.yaml/g)].map((m) => m[1]);
    const key = /platform:network\.(vpcCidr|podCidr|serviceCidr):/.exec(line)?.[1];
    return key !== undefined && reported.some((r) => stacks.every((s) => r.includes(`${s} platform:network.${key}`)));
  };
  const clashes = fleetUniquenessProblems(
    plan.clusters.map((c) => c.stack),
    dir,
  ).filter((l) => !linked(l));
  if (clashes.length) {
    console.error(`names and ranges used by more than one stack: ${clashes.length}`);
    for (const p of clashes) console.error(`  - ${p}`);
  }
  return clashes.length;
}

if (require.main === module) exitAfterFlush(main(process.argv.slice(2)));
