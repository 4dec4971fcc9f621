// Secrets reach real runs one way: each stack file imports its own Pulumi ESC
// environment (`environment: [platform/<stack>]`), whose committed definition
// esc/<stack>.yaml maps the secret values of platform/<stack>-secrets into the
// stack's config; every workflow job that runs pulumi has the Pulumi Cloud token
// (which opens the environment) and the Alibaba Cloud keys. The offline preview and
// the config loader never need the secrets backend.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { escProblems, requiredSecrets } from "../../components/ops/escEnvironments";
import { loadEngineConfig, readStackFile } from "../../components/config/stackFiles";

const ROOT = path.resolve(__dirname, "../..");
const yaml = (file: string) => YAML.parse(fs.readFileSync(path.join(ROOT, file), "utf8")) as Record<string, unknown>;

/** What each stack's config requires as a secret (components/config/secretKeys.ts), by its stack file. */
const REQUIRED: Record<string, string[]> = {
  host: ["dingtalkWebhook", "identityProviderSecret"],
  dev: ["dingtalkWebhook", "tracingAgentToken", "harborPassword", "logSearchApiKey"],
  test: ["dingtalkWebhook", "tracingAgentToken", "harborPassword", "logSearchApiKey"],
  pre: ["dingtalkWebhook", "tracingAgentToken", "harborPassword", "logSearchApiKey"],
  prod1: ["dingtalkWebhook", "loggingPassword", "tracingAgentToken", "harborPassword", "logSearchApiKey"],
  prod2: ["dingtalkWebhook", "loggingPassword", "tracingAgentToken", "harborPassword", "logSearchApiKey"],
};

describe.each(Object.entries(REQUIRED))("stack %s", (stack, keys) => {
  test("its stack file imports its own ESC environment, and nothing else", () => {
    expect(yaml(`Pulumi.${stack}.yaml`).environment).toEqual([`platform/${stack}`]);
  });

  test("the program requires exactly these secrets of it", () => {
    expect(requiredSecrets(stack, ROOT)).toEqual(keys);
  });

  test("its ESC definition imports the secret values and supplies every required key as stack config", () => {
    const def = yaml(`esc/${stack}.yaml`) as { imports: string[]; values: { pulumiConfig: Record<string, string> } };
    expect(def.imports).toEqual([`platform/${stack}-secrets`]);
    expect(def.values.pulumiConfig).toEqual(Object.fromEntries(keys.map((k) => [`platform:${k}`, `\${secrets.${k}}`])));
  });

  test("the offline config needs no secrets backend: the environment key is not config, the secrets are placeholders", () => {
    expect(Object.keys(readStackFile(stack, ROOT).values)).not.toContain("environment");
    const engine = loadEngineConfig(stack, [], ROOT);
    for (const k of keys) expect(engine.placeholders).toContain(`platform:${k}`);
    expect(engine.values["platform:dingtalkWebhook"]).toBe("https://oapi.dingtalk.com/robot/send?access_token=offline-placeholder");
  });
});

test("no secret value is committed: the ESC definitions only reference the -secrets environment", () => {
  for (const f of fs.readdirSync(path.join(ROOT, "esc"))) {
    const text = fs.readFileSync(path.join(ROOT, "esc", f), "utf8");
    expect(text).not.toMatch(/fn::secret|ciphertext|secure:/);
    for (const line of text.split("\n").filter((l) => /^ {4}platform:/.test(l))) expect(line).toMatch(/^ {4}platform:[A-Za-z]+: \$\{secrets\.[A-Za-z]+\}$/);
  }
});

describe("every workflow job that runs pulumi gets the Pulumi Cloud token (state and ESC) and the Alibaba Cloud keys", () => {
  interface Step {
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
  }
  // The deploys get their environment's deploy credentials; the PR's preview and drift the
  // preview-only secrets of the pr-preview and drift environments (docs/threat-model.md, T30),
  // under the same variable names.
  const DEPLOY = {
    PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
    ALICLOUD_ACCESS_KEY: "${{ secrets.ALICLOUD_ACCESS_KEY }}",
    ALICLOUD_SECRET_KEY: "${{ secrets.ALICLOUD_SECRET_KEY }}",
  };
  const PREVIEW = {
    PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_PREVIEW_ACCESS_TOKEN }}",
    ALICLOUD_ACCESS_KEY: "${{ secrets.ALICLOUD_READONLY_ACCESS_KEY }}",
    ALICLOUD_SECRET_KEY: "${{ secrets.ALICLOUD_READONLY_SECRET_KEY }}",
  };
  const runsPulumi = (s: Step) => (s.uses?.startsWith("pulumi/actions@") && s.with?.command !== undefined) || !!s.run?.includes("drift-check.sh");
  const jobs: [string, string, Step[]][] = [];
  for (const f of ["pull-request.yml", "deploy.yml", "drift.yml"]) {
    const wf = yaml(`.github/workflows/${f}`) as { jobs: Record<string, { steps: Step[] }> };
    for (const [name, job] of Object.entries(wf.jobs)) {
      const steps = job.steps.filter(runsPulumi);
      if (steps.length) jobs.push([f, name, steps]);
    }
  }

  test("the jobs that run pulumi", () => {
    expect(jobs.map(([f, name]) => `${f} ${name}`)).toEqual(["pull-request.yml preview", "deploy.yml nonprod", "deploy.yml prod", "drift.yml drift"]);
  });

  test.each(jobs)("%s %s", (f, _name, steps) => {
    for (const s of steps) expect(s.env).toMatchObject(f === "deploy.yml" ? DEPLOY : PREVIEW);
  });
});

describe("check:fleet holds every stack to its environment (escProblems)", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "esc-"));
    for (const f of fs.readdirSync(ROOT).filter((f) => /^Pulumi\..*yaml$/.test(f))) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    fs.cpSync(path.join(ROOT, "esc"), path.join(dir, "esc"), { recursive: true });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("the committed stacks: no problem", () => {
    expect(escProblems(ROOT)).toEqual([]);
  });

  test("a copied stack file still importing the original's environment, with no definition of its own", () => {
    fs.writeFileSync(
      path.join(dir, "Pulumi.prod3.yaml"),
      fs.readFileSync(path.join(dir, "Pulumi.prod2.yaml"), "utf8").replace("platform:env: prod2", "platform:env: prod3"),
    );
    expect(escProblems(dir)).toEqual([
      'Pulumi.prod3.yaml: environment: must be [platform/prod3] (the stack\'s own ESC environment), found ["platform/prod2"]',
      "esc/prod3.yaml: missing: the definition of platform/prod3, which supplies prod3's secrets (docs/runbooks/ci-setup.md)",
    ]);
  });

  test("a definition missing a secret the stack requires, or importing another stack's values", () => {
    const f = path.join(dir, "esc/prod1.yaml");
    fs.writeFileSync(
      f,
      fs
        .readFileSync(f, "utf8")
        .replace("    platform:loggingPassword: ${secrets.loggingPassword}\n", "")
        .replace("  - platform/prod1-secrets", "  - platform/prod2-secrets"),
    );
    expect(escProblems(dir)).toEqual([
      'esc/prod1.yaml: imports must be exactly [platform/prod1-secrets], where prod1\'s secret values are; found ["platform/prod2-secrets"]',
      "esc/prod1.yaml: values.pulumiConfig.platform:loggingPassword is missing: prod1 requires it (the password of platform:logging.user)",
    ]);
  });

  test("a second import beside its own -secrets is refused: it would merge another stack's values over them", () => {
    const f = path.join(dir, "esc/prod1.yaml");
    fs.writeFileSync(f, fs.readFileSync(f, "utf8").replace("  - platform/prod1-secrets\n", "  - platform/prod1-secrets\n  - platform/prod2-secrets\n"));
    expect(escProblems(dir)).toEqual([
      'esc/prod1.yaml: imports must be exactly [platform/prod1-secrets], where prod1\'s secret values are; found ["platform/prod1-secrets","platform/prod2-secrets"]',
    ]);
  });

  test("a YAML error in a definition names esc/<stack>.yaml, not a bare file name", () => {
    fs.writeFileSync(path.join(dir, "esc/prod1.yaml"), "imports:\n  - platform/prod1-secrets\n values: [\n");
    expect(() => escProblems(dir)).toThrow("\n  - esc/prod1.yaml:3:1: not valid YAML: All mapping items must start at the same column");
  });

  test("each definition value is exactly ${secrets.<key>}: plain text (never printed), a typo, a misspelt key, an inline secret are refused", () => {
    const f = path.join(dir, "esc/prod2.yaml");
    fs.writeFileSync(
      f,
      fs
        .readFileSync(f, "utf8")
        .replace("${secrets.dingtalkWebhook}", "https://oapi.dingtalk.com/robot/send?access_token=abc123")
        .replace("${secrets.loggingPassword}", "${secrets.logingPassword}")
        .replace("${secrets.harborPassword}", "${secret.harborPassword}")
        .replace("platform:tracingAgentToken:", "platform:tracingAgentTokn:")
        .replace(
          "    platform:logSearchApiKey: ${secrets.logSearchApiKey}\n",
          "    platform:logSearchApiKey:\n      fn::secret: k3y\n  secrets:\n    harborPassword: hunter2\n",
        ),
    );
    const problems = escProblems(dir);
    expect(problems).toEqual([
      "esc/prod2.yaml: values.secrets: unexpected: the definition holds only pulumiConfig; secret values go into the imported -secrets environment, with `esc env set ... --secret`",
      "esc/prod2.yaml: values.pulumiConfig.platform:dingtalkWebhook: found a plain-text value (56 characters, not shown), expected ${secrets.dingtalkWebhook} (the value lives in the imported -secrets environment)",
      "esc/prod2.yaml: values.pulumiConfig.platform:loggingPassword: found ${secrets.logingPassword}, expected ${secrets.loggingPassword} (the value lives in the imported -secrets environment)",
      "esc/prod2.yaml: values.pulumiConfig.platform:harborPassword: found ${secret.harborPassword}, expected ${secrets.harborPassword} (the value lives in the imported -secrets environment)",
      "esc/prod2.yaml: values.pulumiConfig.platform:tracingAgentTokn: not a secret key (platform:dingtalkWebhook, platform:loggingPassword, platform:tracingElasticsearchPassword, platform:tracingAgentToken, platform:harborPassword, platform:identityProviderSecret, platform:logSearchApiKey, platform:apolloAccessKeys); other config belongs in the stack file",
      "esc/prod2.yaml: values.pulumiConfig.platform:logSearchApiKey: found a map with fn::secret (not shown), expected ${secrets.logSearchApiKey} (the value lives in the imported -secrets environment)",
      "esc/prod2.yaml: values.pulumiConfig.platform:tracingAgentToken is missing: prod2 requires it (the token SkyWalking agents present to OAP (OAP's SW_AUTHENTICATION, the agents' SW_AGENT_AUTHENTICATION); letters, digits and . _ ~ + / = - only, e.g. `openssl rand -hex 32`)",
    ]);
    expect(problems.join("\n")).not.toMatch(/abc123|k3y|hunter2/);
  });

  test("a secret key set in a stack file, secure or not, would shadow the ESC value: refused", () => {
    const f = path.join(dir, "Pulumi.prod2.yaml");
    fs.writeFileSync(
      f,
      fs
        .readFileSync(f, "utf8")
        .replace(
          "  platform:env: prod2\n",
          "  platform:env: prod2\n  platform:harborPassword:\n    secure: v1:AAAAAAAAAAAAAAAA:BBBBBBBBBBBB\n  platform:dingtalkWebhook: https://oapi.dingtalk.com/robot/send?access_token=x\n",
        ),
    );
    expect(escProblems(dir)).toEqual([
      "Pulumi.prod2.yaml: config: platform:dingtalkWebhook: a plain-text value here would shadow platform/prod2's (stack config wins over an ESC environment); delete it and set secrets.dingtalkWebhook in platform/prod2-secrets",
      "Pulumi.prod2.yaml: config: platform:harborPassword: a `secure:` value here would shadow platform/prod2's (stack config wins over an ESC environment); delete it and set secrets.harborPassword in platform/prod2-secrets",
    ]);
  });
});
