// Four projects, so the loop you need is the loop you run:
//   unit   pure functions: no plan, no child process (`npx jest --selectProjects unit`, seconds);
//   plan   reads or makes plans of the stacks, in process or through the preview CLI (every file not listed here);
//   tools  runs a real tool (haproxy, shellcheck, promtool, amtool, openssl, luajit, tail, tsc) or an ops script as a child
//          process, reading plans where it needs them;
//   slow   starts a real control plane, etcd cluster or netns network (kube-apiserver, kube-bench, kube-proxy,
//          etcd, strongSwan), or takes over 10 s on a quiet 2-core machine (BENCHMARKS.md, "The test loop").
// `npm test` runs unit, plan and tools (the loop before a push); `npm run test:all` runs all four (CI, reviewers).
// `plan`, `tools` and `slow` share one global set-up that plans each stack once per run
// (test/support/globalSetup.ts); `plan(stack)` reads those plans, overrides plan anew.
const UNIT = [
  "k8s/baselineCapabilities",
  "bench/benchSummary",
  "config/config",
  "config/cli",
  "config/configReference",
  "config/etcdBackupConfig",
  "config/rules",
  "config/worstValues",
  "config/kindCoverage",
  "contracts/alibabaStubs",
  "docs/argsDocs",
  "docs/docs",
  "fleet/fleetAddressPlan",
  "k8s/flannel",
  "k8s/nodeVolumes",
  "network/ports",
  "ops/canaryPromotion",
  "ops/newApp",
  "ops/fleetUniqueness",
  "ops/stackFileEdit",
  "ops/upgrade",
  "policies/cidr",
  "policies/packFiles",
  "preview/addedInput",
  "preview/sdkInternals",
];
const TOOLS = [
  "apps/javaApp",
  "ci/setupGo",
  "ci/stackSecrets",
  "cluster/certRenewal",
  "cluster/day2Plan",
  "cluster/frontStats",
  "cluster/haproxy",
  "cluster/haproxyLoopback",
  "cluster/haproxyRollout",
  "cluster/kmsClient",
  "cluster/podIpv6Guard",
  "cluster/readiness",
  "fleet/fleet",
  "fleet/fleetList",
  "fleet/logSearch",
  "k8s/alertRules",
  "apps/dashboards",
  "k8s/day2Alerts",
  "k8s/logging",
  "k8s/monitoring",
  "k8s/tracingAlerts",
  "apps/sloRules",
  "ops/ciRunners",
  "ops/releaseOps",
  "ops/stackFileLock",
  "policies/standalone",
  "preview/transpileCache",
  "scriptFiles",
];
const SLOW = [
  // real processes: a control plane with kube-bench, netns with kube-proxy, kube-router or strongSwan, etcd clusters
  "controlplane/controlPlane",
  "cluster/bootstrapTrust",
  "cluster/etcdBackup",
  "cluster/masterRejoin",
  "fleet/ipsec",
  "k8s/networkPolicyEnforcement",
  // over 10 s on the quiet machine (2026-12-07 run, 2 workers)
  "ci/workflows",
  "preview/diff",
  "ops/releaseSafety",
  "preview/preview",
  "preview/prComment",
  "config/stackFiles",
  "fleet/registration",
  "policies/policies",
  "fleet/newProdStack",
  "bench/graphDepth",
  "cluster/cloudInit",
  "config/beforeResources",
  "cluster/cluster",
  "cluster/workerToken",
  "fleet/validatedInPre",
];
// A listed file that no longer exists (moved or deleted) would silently fall into `plan`: refuse it. A file listed
// twice (in one list or two) would run in two projects, or its second entry hide a missing one: refuse that too.
const fs = require("fs");
const listed = new Set();
for (const name of [...UNIT, ...TOOLS, ...SLOW]) {
  if (!fs.existsSync(`${__dirname}/test/${name}.test.ts`)) throw new Error(`jest.config.js lists test/${name}.test.ts, which does not exist`);
  if (listed.has(name)) throw new Error(`jest.config.js lists test/${name}.test.ts twice; list each test file once`);
  listed.add(name);
}
const file = (name) => `<rootDir>/test/${name}.test.ts`;
const pattern = (name) => `/test/${name.replace(/[.]/g, "\\.")}\\.test\\.ts$`;

const common = {
  rootDir: __dirname,
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  // Type checking is its own step (`npm run typecheck`); jest only transpiles.
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.jest.json", diagnostics: false }] },
  setupFiles: ["<rootDir>/test/setup.ts"],
};
const plans = { globalSetup: "<rootDir>/test/support/globalSetup.ts", globalTeardown: "<rootDir>/test/support/globalTeardown.ts" };

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 120000,
  // One worker per core (jest's default leaves one core idle, so a 2-core machine ran every file in band):
  // most files wait on child processes (tools, the preview CLI) or read stored plans.
  maxWorkers: "100%",
  projects: [
    { ...common, displayName: "unit", testMatch: UNIT.map(file) },
    { ...common, ...plans, displayName: "plan", testMatch: ["**/*.test.ts"], testPathIgnorePatterns: [...UNIT, ...TOOLS, ...SLOW].map(pattern) },
    { ...common, ...plans, displayName: "tools", testMatch: TOOLS.map(file) },
    { ...common, ...plans, displayName: "slow", testMatch: SLOW.map(file) },
  ],
};
