// The CI runners (.github/runners.yaml) sit in the host's VPC, which every member's
// api-server front admits over its IPsec link, and their outbound list holds the
// Alibaba Cloud API endpoints of every region the fleet uses and every host the
// workflows' self-hosted jobs contact. Pull requests' code runs only on the preview
// pool, everything else only on the deploy pool. check:fleet fails when any of these
// stops being true.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chartHosts, GLOBAL_ENDPOINTS, readRunnerPlan, regionEndpoints, runnerProblems, workflowNeeds } from "../../components/ops/ciRunners";
import { main as checkFleet } from "../../components/ops/checkFleet";
import { apiServerFrontSources, managementRanges } from "../../components/network/apiServerSources";

const ROOT = path.resolve(__dirname, "../..");
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "runners-"));
  for (const f of fs.readdirSync(ROOT).filter((f) => /^Pulumi\..*yaml$/.test(f))) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
  fs.cpSync(path.join(ROOT, "esc"), path.join(dir, "esc"), { recursive: true });
  fs.mkdirSync(path.join(dir, ".github"));
  fs.copyFileSync(path.join(ROOT, ".github/runners.yaml"), path.join(dir, ".github/runners.yaml"));
  fs.cpSync(path.join(ROOT, ".github/workflows"), path.join(dir, ".github/workflows"), { recursive: true });
  fs.cpSync(path.join(ROOT, "policies/config"), path.join(dir, "policies/config"), { recursive: true });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const edit = (file: string, from: string, to: string) => {
  const f = path.join(dir, file);
  const text = fs.readFileSync(f, "utf8");
  expect(text).toContain(from);
  fs.writeFileSync(f, text.replace(from, to));
};

function quietly(fn: () => number): { code: number; err: string } {
  const log = jest.spyOn(console, "log").mockImplementation(() => undefined);
  const error = jest.spyOn(console, "error").mockImplementation(() => undefined);
  try {
    return { code: fn(), err: error.mock.calls.map((c) => String(c[0])).join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

test("the committed plan: runners in the host VPC on 10.0.240.0/24, two pools, no problem", () => {
  expect(readRunnerPlan(ROOT).plan?.network).toEqual({ stack: "host", cidr: "10.0.240.0/24" });
  expect(readRunnerPlan(ROOT).plan?.labels).toEqual({ preview: "platform-preview", deploy: "platform-deploy" });
  expect(runnerProblems(ROOT)).toEqual([]);
});

test("the hosts the committed workflows' self-hosted jobs need, each with the first job that needs it", () => {
  const { hosts, problems } = workflowNeeds(ROOT, readRunnerPlan(ROOT).plan!.labels);
  expect(problems).toEqual([]);
  expect(Object.fromEntries(hosts)).toEqual({
    "github.com": ".github/workflows/deploy.yml job nonprod: the runner service",
    "api.github.com": ".github/workflows/deploy.yml job nonprod: the runner service",
    "codeload.github.com": ".github/workflows/deploy.yml job nonprod: the runner service",
    "*.actions.githubusercontent.com": ".github/workflows/deploy.yml job nonprod: the runner service",
    "results-receiver.actions.githubusercontent.com": ".github/workflows/deploy.yml job nonprod: the runner service",
    "*.blob.core.windows.net": ".github/workflows/deploy.yml job nonprod: the runner service",
    "objects.githubusercontent.com": ".github/workflows/deploy.yml job nonprod: actions/setup-node",
    "release-assets.githubusercontent.com": ".github/workflows/deploy.yml job nonprod: actions/setup-node",
    "nodejs.org": ".github/workflows/deploy.yml job nonprod: actions/setup-node",
    "registry.npmjs.org": ".github/workflows/deploy.yml job nonprod: npm ci",
    "raw.githubusercontent.com": ".github/workflows/deploy.yml job nonprod: pulumi/actions",
    "get.pulumi.com": ".github/workflows/deploy.yml job nonprod: pulumi/actions",
    "api.pulumi.com": ".github/workflows/deploy.yml job nonprod: pulumi/actions",
    "charts.kubesphere.io": ".github/workflows/deploy.yml job nonprod: Helm charts (policies/config chartRepositories)",
    "fluent.github.io": ".github/workflows/deploy.yml job nonprod: Helm charts (policies/config chartRepositories)",
    "prometheus-community.github.io": ".github/workflows/deploy.yml job nonprod: Helm charts (policies/config chartRepositories)",
    "kubernetes.github.io": ".github/workflows/deploy.yml job nonprod: Helm charts (policies/config chartRepositories)",
    "kubernetes-sigs.github.io": ".github/workflows/deploy.yml job nonprod: Helm charts (policies/config chartRepositories)",
    "postfinance.github.io": ".github/workflows/deploy.yml job nonprod: Helm charts (policies/config chartRepositories)",
    "registry-1.docker.io": ".github/workflows/deploy.yml job nonprod: Helm charts (policies/config chartRepositories)",
    "auth.docker.io": ".github/workflows/deploy.yml job nonprod: Helm charts (policies/config chartRepositories)",
    "production.cloudflare.docker.com": ".github/workflows/deploy.yml job nonprod: Helm charts (policies/config chartRepositories)",
  });
});

test("the outbound list misses what pulumi/actions fetches the CLI from, and what npm ci needs", () => {
  edit(".github/runners.yaml", "  - raw.githubusercontent.com\n", "");
  edit(".github/runners.yaml", "  - registry.npmjs.org\n", "");
  expect(runnerProblems(dir)).toEqual([
    ".github/runners.yaml: outbound misses registry.npmjs.org (.github/workflows/deploy.yml job nonprod: npm ci)",
    ".github/runners.yaml: outbound misses raw.githubusercontent.com (.github/workflows/deploy.yml job nonprod: pulumi/actions)",
  ]);
});

test("a new chart repository in the policy pack's config is a host the runners must reach", () => {
  edit("policies/config/prod.json", '"https://charts.kubesphere.io/main",', '"https://charts.kubesphere.io/main", "https://charts.jetstack.io",');
  expect(chartHosts(dir)).toContain("charts.jetstack.io");
  expect(runnerProblems(dir)).toEqual([
    ".github/runners.yaml: outbound misses charts.jetstack.io (.github/workflows/deploy.yml job nonprod: Helm charts (policies/config chartRepositories))",
  ]);
});

test("a self-hosted job using an action whose hosts nobody read is refused", () => {
  edit(
    ".github/workflows/drift.yml",
    "      - run: npm ci --no-audit --no-fund\n",
    "      - run: npm ci --no-audit --no-fund\n      - uses: hashicorp/setup-terraform@b9cd54a3c349d3f38e8881555d616ced269862dd # v3.1.2\n",
  );
  expect(runnerProblems(dir)).toEqual([
    ".github/workflows/drift.yml job drift: uses hashicorp/setup-terraform, whose hosts are not known: read its source and add it to ACTION_HOSTS (components/ops/ciRunners.ts) and the outbound list",
  ]);
});

test("pull requests' code on the deploy runners, or a deploy reachable from a pull request, is refused", () => {
  edit(".github/workflows/pull-request.yml", "runs-on: [self-hosted, linux, platform-preview]", "runs-on: [self-hosted, linux, platform-deploy]");
  edit(".github/workflows/deploy.yml", "on:\n  push:\n", "on:\n  pull_request:\n  push:\n");
  expect(runnerProblems(dir)).toEqual([
    ".github/workflows/deploy.yml job nonprod: runs pull requests' code, so it must run on the preview runners (runs-on label platform-preview), never on platform-deploy; it has self-hosted, linux, platform-deploy",
    ".github/workflows/deploy.yml job prod: runs pull requests' code, so it must run on the preview runners (runs-on label platform-preview), never on platform-deploy; it has self-hosted, linux, platform-deploy",
    ".github/workflows/pull-request.yml job preview: runs pull requests' code, so it must run on the preview runners (runs-on label platform-preview), never on platform-deploy; it has self-hosted, linux, platform-deploy",
  ]);
});

test("a deploy or drift job on the preview runners, or no pool label at all, is refused", () => {
  edit(".github/workflows/drift.yml", "runs-on: [self-hosted, linux, platform-deploy]", "runs-on: [self-hosted, linux, platform-preview]");
  edit(
    ".github/workflows/deploy.yml",
    "runs-on: [self-hosted, linux, platform-deploy]\n    timeout-minutes: 60\n    environment",
    "runs-on: [self-hosted, linux]\n    timeout-minutes: 60\n    environment",
  );
  expect(runnerProblems(dir)).toEqual([
    ".github/workflows/deploy.yml job nonprod: must run on the deploy runners (runs-on label platform-deploy), never on platform-preview; it has self-hosted, linux",
    ".github/workflows/drift.yml job drift: must run on the deploy runners (runs-on label platform-deploy), never on platform-preview; it has self-hosted, linux, platform-preview",
  ]);
});

test("the pool rule cannot be walked around: a bare pool label, other case, or a runner group is self-hosted too", () => {
  const wf = path.join(dir, ".github/workflows/pull-request.yml");
  const base = fs.readFileSync(wf, "utf8");
  // GitHub matches runner labels case-insensitively, and a job naming only a pool's label runs there.
  for (const [runsOn, shown] of [
    ["platform-deploy", "platform-deploy"],
    ["[Self-Hosted, linux, PLATFORM-DEPLOY]", "self-hosted, linux, platform-deploy"],
    ["{ group: deploy-runners }", "group deploy-runners"],
    ["{ group: deploy-runners, labels: [linux] }", "group deploy-runners, linux"],
  ]) {
    fs.writeFileSync(wf, base.replace("runs-on: [self-hosted, linux, platform-preview]", `runs-on: ${runsOn}`));
    expect([runsOn, runnerProblems(dir)]).toEqual([
      runsOn,
      [
        `.github/workflows/pull-request.yml job preview: runs pull requests' code, so it must run on the preview runners (runs-on label platform-preview), never on platform-deploy; it has ${shown}`,
      ],
    ]);
  }
  // The preview pool's label in another case is the preview pool: no problem.
  fs.writeFileSync(wf, base.replace("runs-on: [self-hosted, linux, platform-preview]", "runs-on: [Self-Hosted, Linux, Platform-Preview]"));
  expect(runnerProblems(dir)).toEqual([]);
});

test("a reusable workflow runs in its callers' runs: called from a pull request, it is a pull request's code", () => {
  fs.writeFileSync(
    path.join(dir, ".github/workflows/reusable-up.yml"),
    [
      "on: workflow_call",
      "jobs:",
      "  up:",
      "    runs-on: [self-hosted, linux, platform-deploy]",
      "    environment: prod1",
      "    steps:",
      "      - run: echo up",
      "",
    ].join("\n"),
  );
  fs.writeFileSync(
    path.join(dir, ".github/workflows/pr-calls.yml"),
    ["on:", "  pull_request:", "jobs:", "  call:", "    uses: ./.github/workflows/reusable-up.yml", "    secrets: inherit", ""].join("\n"),
  );
  expect(runnerProblems(dir)).toEqual(
    [
      ".github/workflows/reusable-up.yml job up: runs pull requests' code, so it must run on the preview runners (runs-on label platform-preview), never on platform-deploy; it has self-hosted, linux, platform-deploy",
      ".github/workflows/pr-calls.yml job call: runs pull requests' code and reads secrets, so it must name a GitHub environment with required reviewers (e.g. environment: pr-preview) holding them; repository secrets reach every pull request",
    ].sort((a, b) => (a.includes("pr-calls") ? -1 : b.includes("pr-calls") ? 1 : 0)),
  );
  // Called only from main's workflows (push), the same file is a deploy: no problem.
  edit(".github/workflows/pr-calls.yml", "on:\n  pull_request:\n", "on:\n  push:\n");
  expect(runnerProblems(dir)).toEqual([]);
});

test("pull_request_target and workflow_run never run on the self-hosted runners, whichever pool", () => {
  fs.writeFileSync(
    path.join(dir, ".github/workflows/after-pr.yml"),
    [
      "on:",
      "  workflow_run:",
      "    workflows: [pull-request]",
      "    types: [completed]",
      "jobs:",
      "  report:",
      "    runs-on: [self-hosted, linux, platform-deploy]",
      "    steps:",
      "      - run: echo hi",
      "  hosted:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - run: echo hi",
      "",
    ].join("\n"),
  );
  edit(".github/workflows/pull-request.yml", "on:\n  pull_request:\n", "on:\n  pull_request_target:\n");
  expect(runnerProblems(dir)).toEqual([
    ".github/workflows/after-pr.yml job report: runs on workflow_run, which carry pull requests' input with secrets: never on the self-hosted runners (self-hosted, linux, platform-deploy); use a GitHub-hosted runner",
    ".github/workflows/pull-request.yml job preview: runs on pull_request_target, which carry pull requests' input with secrets: never on the self-hosted runners (self-hosted, linux, platform-preview); use a GitHub-hosted runner",
  ]);
});

test("a pull request's job that reads a secret must name an environment (its secrets are never repository secrets)", () => {
  edit(".github/workflows/pull-request.yml", "    environment: pr-preview\n", "");
  edit(".github/workflows/pull-request.yml", "      OUT: offline-preview\n", "      OUT: offline-preview\n      HOOK: ${{ secrets.DINGTALK_WEBHOOK }}\n");
  expect(runnerProblems(dir)).toEqual([
    ".github/workflows/pull-request.yml job offline: runs pull requests' code and reads secrets, so it must name a GitHub environment with required reviewers (e.g. environment: pr-preview) holding them; repository secrets reach every pull request",
    ".github/workflows/pull-request.yml job preview: runs pull requests' code and reads secrets, so it must name a GitHub environment with required reviewers (e.g. environment: pr-preview) holding them; repository secrets reach every pull request",
  ]);
});

test("a computed runs-on is refused: it could pick either pool at run time", () => {
  edit(".github/workflows/pull-request.yml", "runs-on: [self-hosted, linux, platform-preview]", "runs-on: ${{ fromJSON(vars.PREVIEW_RUNNER) }}");
  expect(runnerProblems(dir)).toEqual([
    ".github/workflows/pull-request.yml job preview: runs-on is computed (${{ fromJSON(vars.PREVIEW_RUNNER) }}): name the pool's labels literally so the pool can be checked",
  ]);
});

test("one label for both pools is refused, and so is a missing one", () => {
  edit(".github/runners.yaml", "  preview: platform-preview\n", "  preview: platform-deploy\n");
  expect(runnerProblems(dir)).toEqual([
    ".github/runners.yaml: labels.preview and labels.deploy are both platform-deploy: pull requests' code would run where the deploy credentials are",
  ]);
  edit(".github/runners.yaml", "  preview: platform-deploy\n", "");
  expect(runnerProblems(dir)).toEqual([".github/runners.yaml: labels.preview is required: the runner label of the preview pool"]);
});

test("the endpoints a region needs (Alibaba Cloud's Endpoints pages), and the global ones", () => {
  expect(regionEndpoints("cn-beijing")).toEqual([
    "ecs.cn-beijing.aliyuncs.com",
    "vpc.cn-beijing.aliyuncs.com",
    "slb.cn-beijing.aliyuncs.com",
    "sts.cn-beijing.aliyuncs.com",
    "kms.cn-beijing.aliyuncs.com",
    "oss-cn-beijing.aliyuncs.com",
    "*.oss-cn-beijing.aliyuncs.com",
  ]);
  expect(GLOBAL_ENDPOINTS).toEqual(["ram.aliyuncs.com", "sts.aliyuncs.com", "slb.aliyuncs.com"]);
});

test("the api-server front's sources: own VPC, the host's VPC for a member, the data centre's subnets (the program's rules)", () => {
  expect(apiServerFrontSources("10.50.0.0/16", "10.0.0.0/16", ["192.168.10.0/24", "192.168.20.0/24"])).toEqual([
    "10.50.0.0/16",
    "10.0.0.0/16",
    "192.168.10.0/24",
    "192.168.20.0/24",
  ]);
  expect(managementRanges(undefined, ["192.168.10.0/24"])).toEqual([{ label: "dc-0", cidr: "192.168.10.0/24" }]);
});

test("runners outside the host VPC: no front admits them (dev, test and pre have no data-centre link either)", () => {
  edit(".github/runners.yaml", "cidr: 10.0.240.0/24", "cidr: 172.31.0.0/24");
  expect(runnerProblems(dir)).toEqual([
    ".github/runners.yaml: network.cidr 172.31.0.0/24 is not inside host's VPC 10.0.0.0/16 (Pulumi.host.yaml platform:network.vpcCidr)",
    "Pulumi.host.yaml: the api-server front admits 10.0.0.0/16, 192.168.10.0/24, 192.168.20.0/24, not the CI runners' network 172.31.0.0/24 (.github/runners.yaml): host cannot be deployed from CI",
    "Pulumi.dev.yaml: the api-server front admits 10.10.0.0/16, 10.0.0.0/16, not the CI runners' network 172.31.0.0/24 (.github/runners.yaml): dev cannot be deployed from CI",
    "Pulumi.test.yaml: the api-server front admits 10.20.0.0/16, 10.0.0.0/16, not the CI runners' network 172.31.0.0/24 (.github/runners.yaml): test cannot be deployed from CI",
    "Pulumi.pre.yaml: the api-server front admits 10.30.0.0/16, 10.0.0.0/16, not the CI runners' network 172.31.0.0/24 (.github/runners.yaml): pre cannot be deployed from CI",
    "Pulumi.prod1.yaml: the api-server front admits 10.40.0.0/16, 10.0.0.0/16, 192.168.10.0/24, 192.168.20.0/24, not the CI runners' network 172.31.0.0/24 (.github/runners.yaml): prod1 cannot be deployed from CI",
    "Pulumi.prod2.yaml: the api-server front admits 10.50.0.0/16, 10.0.0.0/16, 192.168.10.0/24, 192.168.20.0/24, not the CI runners' network 172.31.0.0/24 (.github/runners.yaml): prod2 cannot be deployed from CI",
  ]);
});

test("the old place, the data centre: dev, test and pre do not admit it", () => {
  edit(".github/runners.yaml", "cidr: 10.0.240.0/24", "cidr: 192.168.20.0/24");
  const problems = runnerProblems(dir);
  expect(problems.filter((p) => p.includes("cannot be deployed from CI")).map((p) => p.split(":")[0])).toEqual([
    "Pulumi.dev.yaml",
    "Pulumi.test.yaml",
    "Pulumi.pre.yaml",
  ]);
});

test("a member with no link to the host: its front admits only its own VPC", () => {
  edit("Pulumi.dev.yaml", "  platform:hostStack: livemall/platform/host\n", "");
  expect(runnerProblems(dir)).toEqual([
    "Pulumi.dev.yaml: the api-server front admits 10.10.0.0/16, not the CI runners' network 10.0.240.0/24 (.github/runners.yaml): dev cannot be deployed from CI",
  ]);
});

test("runners on one of the host's vSwitches", () => {
  edit(".github/runners.yaml", "cidr: 10.0.240.0/24", "cidr: 10.0.64.0/24");
  expect(runnerProblems(dir)).toEqual([
    ".github/runners.yaml: network.cidr 10.0.64.0/24 overlaps host's vSwitch 10.0.64.0/18: pick a free range of 10.0.0.0/16",
  ]);
});

test("the outbound list misses a region's endpoint, or a new region's all", () => {
  edit(".github/runners.yaml", "  - kms.cn-beijing.aliyuncs.com\n", "");
  edit("Pulumi.prod2.yaml", "alicloud:region: cn-beijing", "alicloud:region: cn-shenzhen");
  expect(runnerProblems(dir)).toEqual([
    ".github/runners.yaml: outbound misses ecs.cn-shenzhen.aliyuncs.com, vpc.cn-shenzhen.aliyuncs.com, slb.cn-shenzhen.aliyuncs.com, sts.cn-shenzhen.aliyuncs.com, kms.cn-shenzhen.aliyuncs.com, oss-cn-shenzhen.aliyuncs.com, *.oss-cn-shenzhen.aliyuncs.com (region cn-shenzhen of prod2)",
  ]);
});

test("the outbound list misses a global endpoint, or one endpoint of a used region", () => {
  edit(".github/runners.yaml", "  - ram.aliyuncs.com\n", "");
  edit(".github/runners.yaml", "  - kms.cn-shanghai.aliyuncs.com\n", "");
  expect(runnerProblems(dir)).toEqual([
    ".github/runners.yaml: outbound misses ram.aliyuncs.com (global Alibaba Cloud APIs)",
    ".github/runners.yaml: outbound misses kms.cn-shanghai.aliyuncs.com (region cn-shanghai of pre, prod1)",
  ]);
});

test("no runner plan is a problem, not a pass", () => {
  fs.rmSync(path.join(dir, ".github/runners.yaml"));
  expect(runnerProblems(dir)).toEqual([".github/runners.yaml: missing: it names the CI runners' network and outbound list (docs/runbooks/ci-setup.md)"]);
});

test("check:fleet fails on it, naming the section and the problem", () => {
  expect(quietly(() => checkFleet(["--dir", dir])).code).toBe(0);
  edit(".github/runners.yaml", "  - kms.cn-shanghai.aliyuncs.com\n", "");
  const { code, err } = quietly(() => checkFleet(["--dir", dir]));
  expect(code).toBe(1);
  expect(err).toBe("CI runners: 1 problem\n  - .github/runners.yaml: outbound misses kms.cn-shanghai.aliyuncs.com (region cn-shanghai of pre, prod1)");
});
