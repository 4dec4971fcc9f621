// The CI runners that run `pulumi preview/up` must reach every stack they deploy:
// `.github/runners.yaml` names their network (inside the host's VPC) and their
// outbound allow-list. check:fleet reads it with the stack files and reports
//   - a network outside the host's VPC, or on one of the host's vSwitches;
//   - a stack whose api-server front does not admit the network (apiServerSources.ts);
//   - a region a stack uses whose Alibaba Cloud API endpoints the list misses.
// Endpoint host names: the Alibaba Cloud "Endpoints" page of each product
// (alibabacloud.com/help/en/<product>/developer-reference/...-endpoint, read 2026-12-07):
// ECS ecs.<region>.aliyuncs.com (Cloud Assistant's RunCommand/InvokeCommand are ECS APIs),
// VPC vpc.<region>, CLB slb.<region> (cn-hangzhou: the central slb.aliyuncs.com),
// STS sts.<region>, KMS kms.<region>, RAM the global ram.aliyuncs.com, OSS
// oss-<region>.aliyuncs.com and its buckets' <bucket>.oss-<region>.aliyuncs.com
// (help/en/oss/user-guide/regions-and-endpoints).
import * as fs from "fs";
import * as path from "path";
import { contains, overlaps, parseCidr, split } from "../../policies/rules/cidr";
import { readFleet } from "../../policies/fleet";
import { readStackFile, readYamlFile } from "../config/stackFiles";
import { PROJECT } from "../config/keys";
import { apiServerFrontSources } from "../network/apiServerSources";

/** The runner plan file, relative to the project directory. */
export const RUNNERS_FILE = ".github/runners.yaml";

export interface RunnerPlan {
  network: { stack: string; cidr: string };
  outbound: string[];
}

/** The Alibaba Cloud API host names the runners must reach for a stack in `region`. */
export function regionEndpoints(region: string): string[] {
  return [
    `ecs.${region}.aliyuncs.com`,
    `vpc.${region}.aliyuncs.com`,
    `slb.${region}.aliyuncs.com`,
    `sts.${region}.aliyuncs.com`,
    `kms.${region}.aliyuncs.com`,
    `oss-${region}.aliyuncs.com`,
    `*.oss-${region}.aliyuncs.com`,
  ];
}

/** Host names every fleet needs whatever its regions: RAM and STS are global, CLB's central endpoint serves cn-hangzhou. */
export const GLOBAL_ENDPOINTS = ["ram.aliyuncs.com", "sts.aliyuncs.com", "slb.aliyuncs.com"];

/** Reads `.github/runners.yaml`; its problems are named with the file and key. */
export function readRunnerPlan(dir: string): { plan?: RunnerPlan; problems: string[] } {
  const file = path.join(dir, RUNNERS_FILE);
  if (!fs.existsSync(file)) return { problems: [`${RUNNERS_FILE}: missing: it names the CI runners' network and outbound list (docs/runbooks/ci-setup.md)`] };
  const doc = readYamlFile(file) as { network?: { stack?: unknown; cidr?: unknown }; outbound?: unknown } | null;
  const problems: string[] = [];
  const stack = doc?.network?.stack;
  const cidr = doc?.network?.cidr;
  if (typeof stack !== "string") problems.push(`${RUNNERS_FILE}: network.stack is required: the stack whose VPC the runners are in`);
  if (typeof cidr !== "string") problems.push(`${RUNNERS_FILE}: network.cidr is required: the runners' vSwitch range`);
  else {
    try {
      parseCidr(cidr);
    } catch (e) {
      problems.push(`${RUNNERS_FILE}: network.cidr: ${(e as Error).message}`);
    }
  }
  const outbound = doc?.outbound;
  if (!Array.isArray(outbound) || outbound.some((h) => typeof h !== "string")) problems.push(`${RUNNERS_FILE}: outbound must be a list of host names`);
  if (problems.length) return { problems };
  return { plan: { network: { stack: stack as string, cidr: cidr as string }, outbound: outbound as string[] }, problems };
}

interface StackNet {
  region?: string;
  vpcCidr?: string;
  zones?: string[];
  hostStack?: string;
  datacenter?: string[];
}

function stackNet(stack: string, dir: string): StackNet {
  const v = readStackFile(stack, dir).values;
  const network = (v[`${PROJECT}:network`] ?? {}) as { vpcCidr?: string; zones?: string[] };
  const hostRef = v[`${PROJECT}:hostStack`];
  return {
    region: typeof v["alicloud:region"] === "string" ? v["alicloud:region"] : undefined,
    vpcCidr: network.vpcCidr,
    zones: network.zones,
    hostStack: typeof hostRef === "string" ? hostRef.split("/").pop() : undefined,
    datacenter: ((v[`${PROJECT}:datacenter`] ?? {}) as { subnets?: string[] }).subnets,
  };
}

/** One line per way the runners cannot reach a stack or an API a stack needs. */
export function runnerProblems(dir: string): string[] {
  const { plan, problems } = readRunnerPlan(dir);
  if (!plan) return problems;
  const fleet = readFleet(dir);
  const nets = new Map(fleet.stacks.map((s) => [s.name, stackNet(s.name, dir)]));
  const { stack: home, cidr } = plan.network;
  const homeNet = nets.get(home);
  if (!homeNet) return [`${RUNNERS_FILE}: network.stack: ${home} has no stack file Pulumi.${home}.yaml`];
  if (home !== fleet.host)
    problems.push(`${RUNNERS_FILE}: network.stack: ${home} is not the host (${fleet.host}): only the host's VPC is linked to every member`);
  if (homeNet.vpcCidr && !contains(homeNet.vpcCidr, cidr)) {
    problems.push(`${RUNNERS_FILE}: network.cidr ${cidr} is not inside ${home}'s VPC ${homeNet.vpcCidr} (Pulumi.${home}.yaml ${PROJECT}:network.vpcCidr)`);
  } else if (homeNet.vpcCidr && homeNet.zones?.length) {
    const vswitches = split(homeNet.vpcCidr, homeNet.zones.length);
    for (const v of vswitches.filter((v) => overlaps(v, cidr))) {
      problems.push(`${RUNNERS_FILE}: network.cidr ${cidr} overlaps ${home}'s vSwitch ${v}: pick a free range of ${homeNet.vpcCidr}`);
    }
  }
  for (const [stack, n] of nets) {
    if (!n.vpcCidr) continue;
    const hostVpc = n.hostStack !== undefined ? nets.get(n.hostStack)?.vpcCidr : undefined;
    const admitted = apiServerFrontSources(n.vpcCidr, hostVpc, n.datacenter ?? []);
    if (!admitted.some((a) => contains(a, cidr))) {
      problems.push(
        `Pulumi.${stack}.yaml: the api-server front admits ${admitted.join(", ")}, not the CI runners' network ${cidr} (${RUNNERS_FILE}): ${stack} cannot be deployed from CI`,
      );
    }
  }
  const listed = new Set(plan.outbound.map((h) => h.toLowerCase()));
  const missing = (hosts: string[], why: string) => {
    const gone = hosts.filter((h) => !listed.has(h));
    if (gone.length) problems.push(`${RUNNERS_FILE}: outbound misses ${gone.join(", ")} (${why})`);
  };
  missing(GLOBAL_ENDPOINTS, "global Alibaba Cloud APIs");
  const regions = new Map<string, string[]>();
  for (const [stack, n] of nets) if (n.region) regions.set(n.region, [...(regions.get(n.region) ?? []), stack]);
  for (const [region, stacks] of regions) missing(regionEndpoints(region), `region ${region} of ${stacks.join(", ")}`);
  return problems;
}
