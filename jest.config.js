// Three projects, so the loop you need is the loop you run:
//   unit   pure functions: no plan, no child process (`npx jest --selectProjects unit`, seconds);
//   plan   reads or makes plans of the stacks, in process or through the preview CLI (every file not listed here);
//   tools  runs a real tool (haproxy, shellcheck, promtool, amtool, etcd, strongSwan in netns, cloud-init,
//          openssl, luajit, tail, tsc) or an ops script as a child process, reading plans where it needs them.
// `plan` and `tools` share one global set-up that plans each stack once per run
// (test/support/globalSetup.ts); `plan(stack)` reads those plans, overrides plan anew.
const UNIT = [
  "bench/benchSummary",
  "config/config",
  "config/cli",
  "config/configReference",
  "config/etcdBackupConfig",
  "config/rules",
  "config/worstValues",
  "contracts/alibabaStubs",
  "docs/argsDocs",
  "docs/docs",
  "fleet/fleetAddressPlan",
  "k8s/flannel",
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
  "ci/workflows",
  "cluster/bootstrapTrust",
  "cluster/certRenewal",
  "cluster/cloudInit",
  "cluster/cluster",
  "cluster/day2Plan",
  "cluster/etcdBackup",
  "cluster/frontStats",
  "cluster/haproxy",
  "cluster/haproxyLoopback",
  "cluster/haproxyRollout",
  "cluster/kmsClient",
  "controlplane/controlPlane",
  "cluster/readiness",
  "fleet/fleet",
  "fleet/fleetList",
  "fleet/newProdStack",
  "fleet/ipsec",
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
  "ops/releaseSafety",
  "ops/stackFileLock",
  "policies/standalone",
  "preview/transpileCache",
  "scriptFiles",
];
// A listed file that no longer exists (moved or deleted) would silently fall into `plan`: refuse it.
const fs = require("fs");
for (const name of [...UNIT, ...TOOLS]) {
  if (!fs.existsSync(`${__dirname}/test/${name}.test.ts`)) throw new Error(`jest.config.js lists test/${name}.test.ts, which does not exist`);
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
    { ...common, ...plans, displayName: "plan", testMatch: ["**/*.test.ts"], testPathIgnorePatterns: [...UNIT, ...TOOLS].map(pattern) },
    { ...common, ...plans, displayName: "tools", testMatch: TOOLS.map(file) },
  ],
};
