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
// It also reads the workflows (.github/workflows/*.yml): every job on the self-hosted runners
// must name one of the two runner pools the file declares (`preview` for pull requests' code,
// including reusable workflows they call, `deploy` for everything else, never the other way
// round), no pull_request_target or workflow_run job runs there, a pull request's job that reads
// a secret names an environment, and every host those jobs' actions and tools contact must be on
// the outbound list (workflowNeeds below).
import * as fs from "fs";
import * as path from "path";
import { contains, overlaps, parseCidr, split } from "../../policies/rules/cidr";
import { readFleet } from "../../policies/fleet";
import { readStackFile, readYamlFile } from "../config/stackFiles";
import { PROJECT } from "../config/keys";
import { apiServerFrontSources } from "../network/apiServerSources";

/** The runner plan file, relative to the project directory. */
export const RUNNERS_FILE = ".github/runners.yaml";

/** The workflows directory, relative to the project directory. */
export const WORKFLOWS_DIR = ".github/workflows";

export interface RunnerPlan {
  network: { stack: string; cidr: string };
  /** The runner label of each pool: `preview` runs pull requests' code, `deploy` runs main's. */
  labels: { preview: string; deploy: string };
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
  const labels = (doc as { labels?: { preview?: unknown; deploy?: unknown } } | null)?.labels;
  for (const pool of ["preview", "deploy"] as const) {
    if (typeof labels?.[pool] !== "string" || !labels[pool]) problems.push(`${RUNNERS_FILE}: labels.${pool} is required: the runner label of the ${pool} pool`);
  }
  if (!problems.length && labels?.preview === labels?.deploy)
    problems.push(
      `${RUNNERS_FILE}: labels.preview and labels.deploy are both ${String(labels?.deploy)}: pull requests' code would run where the deploy credentials are`,
    );
  const outbound = doc?.outbound;
  if (!Array.isArray(outbound) || outbound.some((h) => typeof h !== "string")) problems.push(`${RUNNERS_FILE}: outbound must be a list of host names`);
  if (problems.length) return { problems };
  return {
    plan: {
      network: { stack: stack as string, cidr: cidr as string },
      labels: { preview: labels!.preview as string, deploy: labels!.deploy as string },
      outbound: outbound as string[],
    },
    problems,
  };
}

/**
 * What the self-hosted runners contact for the GitHub side of every job: the runner service,
 * job logs, checkout, artifacts and the Actions cache (GitHub Docs, "Communicating with self-hosted
 * runners", docs.github.com/en/actions/concepts/runners/communicating-with-self-hosted-runners, read 2026-12-07).
 */
export const RUNNER_SERVICE_HOSTS = [
  "github.com",
  "api.github.com",
  "codeload.github.com",
  "*.actions.githubusercontent.com",
  "results-receiver.actions.githubusercontent.com",
  "*.blob.core.windows.net",
];

/** Where GitHub serves release assets (a release download or an API asset request redirects there). */
const RELEASE_ASSETS = ["github.com", "objects.githubusercontent.com", "release-assets.githubusercontent.com"];

/**
 * The `pulumi` CLI at run time: Pulumi Cloud (login, state, ESC environments) and the provider
 * plugins the program's packages name (alicloud, kubernetes, random, tls), which it downloads when
 * missing: first from the provider's GitHub releases through the API (api.github.com
 * /repos/pulumi/pulumi-<name>/releases/tags/v<version>, then the asset), else from
 * get.pulumi.com/releases/plugins (pulumi/pulumi sdk/go/common/workspace/plugins.go, githubSource
 * and getPulumiSource).
 */
export const PULUMI_RUN_HOSTS = ["api.pulumi.com", "api.github.com", ...RELEASE_ASSETS, "get.pulumi.com"];

/**
 * The hosts each action run on the self-hosted runners contacts, from its source at the pinned
 * version (read 2026-12-07). A job on those runners using an action missing here is a problem:
 * read the action's source, then add it.
 */
export const ACTION_HOSTS: Record<string, { hosts: string[]; source: string }> = {
  "actions/checkout": {
    hosts: ["github.com", "api.github.com"],
    source: "actions/checkout v4.4.0 src/url-helper.ts (GITHUB_SERVER_URL, api.<server>)",
  },
  "actions/setup-node": {
    // The node-versions manifest through the API, its release assets, the nodejs.org fallback; `cache: npm` is the Actions cache.
    hosts: ["api.github.com", ...RELEASE_ASSETS, "nodejs.org", "results-receiver.actions.githubusercontent.com", "*.blob.core.windows.net"],
    source: "actions/setup-node v4.4.0 src/distributions/official_builds/official_builds.ts (getManifestFromRepo actions/node-versions, https://nodejs.org)",
  },
  "pulumi/actions": {
    // Installing the CLI: the versions list, then the release tarball it names; then the CLI's own run.
    hosts: ["raw.githubusercontent.com", "get.pulumi.com", ...PULUMI_RUN_HOSTS],
    source:
      "pulumi/actions v6.6.1 src/libs/libs/get-version.ts (raw.githubusercontent.com/pulumi/docs/master/data/versions.json) and src/libs/pulumi-cli.ts (downloadCli: no download when a `pulumi` on PATH satisfies pulumi-version)",
  },
};

/** `npm ci` in a run step: the npm registry. */
const NPM_HOSTS = ["registry.npmjs.org"];

/** Docker Hub's registry API redirects to its token service and blob storage. */
const OCI_EXTRA: Record<string, string[]> = { "registry-1.docker.io": ["auth.docker.io", "production.cloudflare.docker.com"] };

/**
 * The chart repositories' hosts: the Kubernetes provider fetches each Helm chart at preview and up.
 * They come from the policy pack's `chartRepositories` (policies/config/*.json, rule trusted-sources),
 * the only sources a chart may come from; a github.io repository's charts are GitHub release assets.
 */
export function chartHosts(dir: string): string[] {
  const hosts = new Set<string>();
  const configDir = path.join(dir, "policies", "config");
  if (!fs.existsSync(configDir)) return [];
  for (const f of fs
    .readdirSync(configDir)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const cfg = JSON.parse(fs.readFileSync(path.join(configDir, f), "utf8")) as Record<string, { chartRepositories?: string[] }>;
    for (const rule of Object.values(cfg)) {
      for (const repo of rule?.chartRepositories ?? []) {
        const host = new URL(repo).hostname.toLowerCase();
        hosts.add(host);
        for (const h of OCI_EXTRA[host] ?? []) hosts.add(h);
        if (host.endsWith(".github.io")) for (const h of RELEASE_ASSETS) hosts.add(h);
      }
    }
  }
  return [...hosts];
}

interface WorkflowJob {
  "runs-on"?: unknown;
  /** A job that calls a reusable workflow: `./.github/workflows/<file>` or `owner/repo/...@ref`. */
  uses?: string;
  environment?: unknown;
  steps?: { uses?: string; run?: string }[];
}

interface Workflow {
  on?: unknown;
  jobs?: Record<string, WorkflowJob>;
}

/** The labels of a job's `runs-on` (a label, a list of labels, or `{ group, labels }`), lower-cased: GitHub matches labels case-insensitively. */
export function runsOnLabels(runsOn: unknown): string[] {
  if (typeof runsOn === "string") return [runsOn.toLowerCase()];
  if (Array.isArray(runsOn)) return runsOn.map((l) => String(l).toLowerCase());
  const labels = (runsOn as { labels?: unknown } | undefined)?.labels;
  return labels === undefined ? [] : runsOnLabels(labels);
}

/** The runner group a `runs-on: { group }` names; groups hold only self-hosted runners (or larger hosted ones). */
function runsOnGroup(runsOn: unknown): string | undefined {
  if (runsOn === null || typeof runsOn !== "object" || Array.isArray(runsOn)) return undefined;
  const group = (runsOn as { group?: unknown }).group;
  return group === undefined ? undefined : String(group);
}

/** The events a workflow's `on:` names. */
function events(on: unknown): string[] {
  if (typeof on === "string") return [on];
  if (Array.isArray(on)) return on.map(String);
  return Object.keys((on ?? {}) as object);
}

/** Events whose runs carry code nobody reviewed, or carry secrets into a context a pull request steers. */
const PR_EVENTS = ["pull_request", "pull_request_target"];

/**
 * Events never allowed on the self-hosted runners: `pull_request_target` runs with the base's
 * secrets on a pull request's event (and is usually made to check its head out), `workflow_run`
 * runs with secrets after a pull request's workflow and typically handles its artifacts. GitHub's
 * "Security hardening for GitHub Actions" names both as the ways untrusted code reaches secrets
 * (docs.github.com/en/actions/security-for-github-actions/security-guides, read 2026-12-07).
 */
const REFUSED_ON_SELF_HOSTED = ["pull_request_target", "workflow_run"];

/** A local reusable workflow a job calls: its file name under .github/workflows, or undefined. */
function localCallee(uses: string | undefined): string | undefined {
  const m = uses?.match(/^\.\/\.github\/workflows\/([^/@]+\.ya?ml)$/);
  return m?.[1];
}

/**
 * Each workflow's classes: `pr` when a pull request's code runs in it, `main` otherwise; the
 * events that bring it. A reusable workflow (`on: workflow_call`) runs in its callers' runs, so it
 * takes their classes and events, recursively, besides its own other triggers.
 */
export function workflowClasses(workflows: Map<string, Workflow>): Map<string, { pr: boolean; events: Set<string> }> {
  const callers = new Map<string, string[]>();
  for (const [f, wf] of workflows)
    for (const job of Object.values(wf?.jobs ?? {})) {
      const callee = localCallee(job?.uses);
      if (callee) callers.set(callee, [...(callers.get(callee) ?? []), f]);
    }
  const memo = new Map<string, Set<string>>();
  const eventsOf = (f: string, seen: Set<string>): Set<string> => {
    const done = memo.get(f);
    if (done) return done;
    const out = new Set(events(workflows.get(f)?.on).filter((e) => e !== "workflow_call"));
    if (!seen.has(f)) {
      seen.add(f);
      for (const c of callers.get(f) ?? []) for (const e of eventsOf(c, seen)) out.add(e);
    }
    memo.set(f, out);
    return out;
  };
  const result = new Map<string, { pr: boolean; events: Set<string> }>();
  for (const f of workflows.keys()) {
    const ev = eventsOf(f, new Set());
    result.set(f, { pr: [...ev].some((e) => PR_EVENTS.includes(e)), events: ev });
  }
  return result;
}

/** Whether a job's text reads a secret other than the run's own GITHUB_TOKEN (or passes them all on). */
function readsSecrets(job: WorkflowJob): boolean {
  const text = JSON.stringify(job);
  return /secrets\.(?!GITHUB_TOKEN\b)[A-Za-z_]/.test(text) || /"secrets":"inherit"/.test(text);
}

export interface WorkflowNeeds {
  /** Each host a self-hosted job needs, with the first job and reason that needs it. */
  hosts: Map<string, string>;
  problems: string[];
}

/**
 * Reads every workflow: the hosts its self-hosted jobs need (the runner service, each action's
 * hosts, npm for `npm ci`, Pulumi and the chart repositories for a job running pulumi), and where a
 * job is on the wrong pool: a workflow a pull request's code runs in (pull_request, or a reusable
 * workflow any such workflow calls) on anything but `labels.preview`, any other on anything but
 * `labels.deploy`. A job is on the self-hosted runners when it names `self-hosted`, either pool's
 * label (in any case) or a runner group. pull_request_target and workflow_run never run there. A
 * pull request's job that reads a secret must name a GitHub environment: its secrets are
 * environment secrets behind a reviewer, never repository secrets any pull request can read (T30).
 */
export function workflowNeeds(dir: string, labels: RunnerPlan["labels"]): WorkflowNeeds {
  const hosts = new Map<string, string>();
  const problems: string[] = [];
  const need = (list: string[], why: string) => {
    for (const h of list) if (!hosts.has(h)) hosts.set(h, why);
  };
  const wfDir = path.join(dir, WORKFLOWS_DIR);
  const files = fs.existsSync(wfDir)
    ? fs
        .readdirSync(wfDir)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
    : [];
  const workflows = new Map(files.map((f) => [f, readYamlFile(path.join(wfDir, f)) as Workflow]));
  const classes = workflowClasses(workflows);
  const preview = labels.preview.toLowerCase();
  const deploy = labels.deploy.toLowerCase();
  let charts: string[] | undefined;
  for (const f of files) {
    const wf = workflows.get(f);
    const { pr: fromPr, events: ev } = classes.get(f)!;
    for (const [jn, job] of Object.entries(wf?.jobs ?? {})) {
      const where = `${WORKFLOWS_DIR}/${f} job ${jn}`;
      if (fromPr && readsSecrets(job) && job.environment === undefined) {
        problems.push(
          `${where}: runs pull requests' code and reads secrets, so it must name a GitHub environment with required reviewers (e.g. environment: pr-preview) holding them; repository secrets reach every pull request`,
        );
      }
      const runsOn = runsOnLabels(job["runs-on"]);
      // A computed runs-on could name either pool at run time: nothing here could check it.
      const group = runsOnGroup(job["runs-on"]);
      if (runsOn.some((l) => l.includes("${{")) || group?.includes("${{")) {
        const raw = typeof job["runs-on"] === "string" ? job["runs-on"] : JSON.stringify(job["runs-on"]);
        problems.push(`${where}: runs-on is computed (${raw}): name the pool's labels literally so the pool can be checked`);
        continue;
      }
      const selfHosted = runsOn.includes("self-hosted") || runsOn.includes(preview) || runsOn.includes(deploy) || group !== undefined;
      if (!selfHosted) continue;
      const shown = [...(group !== undefined ? [`group ${group}`] : []), ...runsOn].join(", ");
      const refused = REFUSED_ON_SELF_HOSTED.filter((e) => ev.has(e));
      if (refused.length) {
        problems.push(
          `${where}: runs on ${refused.join(" and ")}, which carry pull requests' input with secrets: never on the self-hosted runners (${shown}); use a GitHub-hosted runner`,
        );
        continue;
      }
      const pool = fromPr ? preview : deploy;
      const other = fromPr ? deploy : preview;
      if (runsOn.includes(other) || !runsOn.includes(pool)) {
        problems.push(
          fromPr
            ? `${where}: runs pull requests' code, so it must run on the preview runners (runs-on label ${labels.preview}), never on ${labels.deploy}; it has ${shown}`
            : `${where}: must run on the deploy runners (runs-on label ${labels.deploy}), never on ${labels.preview}; it has ${shown}`,
        );
      }
      need(RUNNER_SERVICE_HOSTS, `${where}: the runner service`);
      for (const step of job.steps ?? []) {
        if (step.uses) {
          const action = step.uses.split("@")[0].split("/").slice(0, 2).join("/");
          const known = ACTION_HOSTS[action];
          if (!known) {
            problems.push(
              `${where}: uses ${action}, whose hosts are not known: read its source and add it to ACTION_HOSTS (components/ops/ciRunners.ts) and the outbound list`,
            );
          } else {
            need(known.hosts, `${where}: ${action}`);
            if (action === "pulumi/actions") need((charts ??= chartHosts(dir)), `${where}: Helm charts (policies/config chartRepositories)`);
          }
        }
        if (step.run && /\bnpm (ci|install)\b/.test(step.run)) need(NPM_HOSTS, `${where}: npm ci`);
      }
    }
  }
  return { hosts, problems };
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
  const wf = workflowNeeds(dir, plan.labels);
  problems.push(...wf.problems);
  const byWhy = new Map<string, string[]>();
  for (const [h, why] of wf.hosts) if (!listed.has(h)) byWhy.set(why, [...(byWhy.get(why) ?? []), h]);
  for (const [why, hosts] of byWhy) missing(hosts, why);
  const regions = new Map<string, string[]>();
  for (const [stack, n] of nets) if (n.region) regions.set(n.region, [...(regions.get(n.region) ?? []), stack]);
  for (const [region, stacks] of regions) missing(regionEndpoints(region), `region ${region} of ${stacks.join(", ")}`);
  return problems;
}
