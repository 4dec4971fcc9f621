// Stack files read as the Pulumi CLI reads them: YAML errors name the file,
// line and column; merge keys apply; --path secrets are secrets; an error in
// the host's file names the host's file. And `-c` paths never reach a prototype.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError, parseStackConfig, UsageError } from "../../components/config/stackConfig";
import { applyOverride, loadEngineConfig, parseOverride, PROJECT_DIR, readStackFile } from "../../components/config/stackFiles";
import { previewCli, previewStack } from "../support/offline";

/** A throwaway project folder: Pulumi.yaml, the stack files (edited by `edit`), the policy configs. */
function project(edit: Record<string, (text: string) => string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stackfiles-"));
  for (const f of fs.readdirSync(PROJECT_DIR).filter((f) => /^Pulumi(\..+)?\.yaml$/.test(f))) {
    const text = fs.readFileSync(path.join(PROJECT_DIR, f), "utf8");
    fs.writeFileSync(path.join(dir, f), edit[f] ? edit[f](text) : text);
  }
  fs.symlinkSync(path.join(PROJECT_DIR, "policies"), path.join(dir, "policies"));
  return dir;
}

function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("stack files", () => {
  // go-yaml v3 (the Pulumi CLI's reader, resolve.go) strips '_' and reads a plain scalar with
  // strconv.ParseInt(plain, 0, 64): `03` is octal 3, `1_0` is 10; YAML 1.2 reads 3 and the string "1_0"
  test("a plain number the Pulumi CLI and YAML 1.2 read differently is refused, one line naming the key", () => {
    const dir = project({
      "Pulumi.dev.yaml": (t) => t.replace("      count: 3\n", "      count: 010\n").replace("    count: 1\n", "    count: 1_0\n"),
    });
    expect(configError(() => loadEngineConfig("dev", [], dir)).problems).toEqual([
      "Pulumi.dev.yaml:26:12: platform:masters.count: 1_0 is ambiguous: the Pulumi CLI (go-yaml v3) drops '_' and reads a number, YAML 1.2 reads a string; write the number in plain decimal, or quote it for a string",
      "Pulumi.dev.yaml:31:14: platform:nodePools[0].count: 010 is ambiguous: a leading 0 makes it octal to the Pulumi CLI (go-yaml v3: 010 is 8) and decimal here (YAML 1.2: 10); write the number in plain decimal, or quote it for a string",
    ]);
    const hex = project({ "Pulumi.dev.yaml": (t) => t.replace("      count: 3\n", "      count: 0x3\n") });
    expect(configError(() => loadEngineConfig("dev", [], hex)).problems).toEqual([
      "Pulumi.dev.yaml:31:14: platform:nodePools[0].count: 0x3 is ambiguous: 0x, 0o and 0b numbers are read differently by the Pulumi CLI (go-yaml v3) and YAML 1.2; write the number in plain decimal, or quote it for a string",
    ]);
    // quoted, and plain decimal, are read alike
    const quoted = project({ "Pulumi.dev.yaml": (t) => t.replace("      count: 3\n", "      count: 30\n") });
    expect(loadEngineConfig("dev", [], quoted).values["platform:nodePools"]).toContain('"count":30');
  });

  test("a file that is not YAML is refused naming file, line and column", () => {
    const dir = project({ "Pulumi.dev.yaml": (t) => t.replace("  platform:env: dev\n", "  platform:env: dev\n   bad: [unclosed\n") });
    const e = configError(() => loadEngineConfig("dev", [], dir));
    expect(e.problems[0]).toMatch(/^Pulumi\.dev\.yaml:\d+:\d+: not valid YAML: /);
    expect(e.stack).not.toContain("yaml/dist"); // the user sees e.message, which has no frames
    expect(e.message).not.toMatch(/\n\s+at /);
  });

  test("a duplicate key is refused as go-yaml v3 (the CLI's reader) refuses it", () => {
    const dir = project({ "Pulumi.dev.yaml": (t) => t.replace("  platform:env: dev\n", "  platform:env: dev\n  platform:env: test\n") });
    expect(configError(() => loadEngineConfig("dev", [], dir)).problems).toEqual([
      expect.stringMatching(/^Pulumi\.dev\.yaml:9:3: not valid YAML: Map keys must be unique/),
    ]);
  });

  test("a key without a namespace is refused naming the file", () => {
    const dir = project({ "Pulumi.dev.yaml": (t) => t.replace("  platform:env: dev\n", "  platform:env: dev\n  env: dev\n") });
    expect(configError(() => loadEngineConfig("dev", [], dir)).problems).toEqual(['Pulumi.dev.yaml: config: "env" is not a <namespace>:<key> config key']);
  });

  test("anchors and << merge keys apply, as in the Pulumi CLI (go-yaml v3 supports merge keys)", () => {
    const merged = project({
      "Pulumi.dev.yaml": (t) =>
        t
          .replace(
            "  platform:monitoring:\n    retention: 7d\n    storageSize: 50Gi\n",
            "  platform:monitoring: &mon\n    retention: 7d\n    storageSize: 50Gi\n",
          )
          .replace("  platform:kubesphere:\n    enabled: true\n", "  platform:kubesphere:\n    <<: {enabled: false}\n"),
    });
    const values = readStackFile("dev", merged).values;
    expect(values["platform:monitoring"]).toEqual({ retention: "7d", storageSize: "50Gi" });
    expect(values["platform:kubesphere"]).toEqual({ enabled: false });
    expect(Object.keys(values)).not.toContain("<<");
  });

  test("a secret set with --secret --path is a secret (the whole key, as the engine hands it over)", () => {
    // What `pulumi config set --secret --path 'platform:apolloAccessKeys.order-service' ...` writes.
    const dir = project({
      "Pulumi.dev.yaml": (t) => `${t}  platform:apolloAccessKeys:\n    order-service:\n      secure: v1:AAAABBBBCCCC\n`,
    });
    const c = loadEngineConfig("dev", [], dir);
    expect(c.secretKeys).toContain("platform:apolloAccessKeys");
    expect(JSON.parse(c.values["platform:apolloAccessKeys"])).toEqual({ "order-service": "offline-placeholder-apolloAccessKeys.order-service" });
    const settings = parseStackConfig("dev", { values: c.values, secretKeys: c.secretKeys });
    expect(Object.keys(settings.apolloAccessKeys)).toEqual(["order-service"]);
  });

  test("a plain-text access key is still refused", () => {
    const dir = project({ "Pulumi.dev.yaml": (t) => `${t}  platform:apolloAccessKeys:\n    order-service: plain\n` });
    const c = loadEngineConfig("dev", [], dir);
    expect(configError(() => parseStackConfig("dev", { values: c.values, secretKeys: c.secretKeys })).problems).toEqual([
      "platform:apolloAccessKeys: must be set as a secret (`pulumi config set --secret platform:apolloAccessKeys ...`), it is in plain text",
    ]);
  });

  test("an error in the host's stack file, read by a member's preview, names the host's file", async () => {
    const broken = project({ "Pulumi.host.yaml": (t) => t.replace("config:\n", "config:\n  - not a map\n") });
    const e = await previewStack({ stack: "dev", dir: broken }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).message).toMatch(
      /^invalid stack configuration in Pulumi\.host\.yaml, the host stack dev reads \(livemall\/platform\/host\):\n {2}- Pulumi\.host\.yaml:/,
    );

    // A member reads only the host's region and ranges from its file: a host fact missing is named with its key.
    const noPodCidr = project({ "Pulumi.host.yaml": (t) => t.replace(/\n\s+podCidr: 10\.100\.0\.0\/16/, "") });
    const e2 = (await previewStack({ stack: "dev", dir: noPodCidr }).catch((err: unknown) => err)) as ConfigError;
    expect(e2).toBeInstanceOf(ConfigError);
    expect(e2.source).toBe("Pulumi.host.yaml, the host stack dev reads (livemall/platform/host)");
    expect(e2.problems).toEqual(["platform:network.podCidr: is required (this member reads it from the host's stack file)"]);
  });

  test("an error in a member's stack file, read by the host's preview (its KubeSphere members), names the member's file", async () => {
    const broken = project({ "Pulumi.prod1.yaml": (t) => t.replace(/(platform:masters:\n\s+count:) \d+/, "$1 2") });
    const e = (await previewStack({ stack: "host", dir: broken }).catch((err: unknown) => err)) as ConfigError;
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.source).toBe("Pulumi.prod1.yaml, a member host reads (livemall/platform/prod1)");
    expect(e.problems).toEqual(["platform:masters.count: must be odd for etcd quorum, got 2"]);
  });
});

describe("-c overrides", () => {
  test("paths through __proto__, constructor or prototype are usage errors and pollute nothing", () => {
    for (const spec of [
      "platform:network.__proto__.polluted=1",
      "platform:x.constructor.prototype.polluted=1",
      'platform:a["__proto__"].polluted=1',
      "platform:__proto__=1",
    ]) {
      expect(() => parseOverride(spec)).toThrow(UsageError);
    }
    const values: Record<string, unknown> = { "platform:network": {} };
    applyOverride(values, { key: "platform:network", path: ["toString", "x"], value: 1 });
    expect(values["platform:network"]).toEqual({ toString: { x: 1 } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("a -c without = is a usage error", () => {
    expect(() => parseOverride("platform:masters.count")).toThrow(
      new UsageError("-c platform:masters.count: expected KEY=VALUE (e.g. platform:masters.count=3)"),
    );
  });
});

describe("preview CLI usage errors exit 2 with usage text, no stack trace", () => {
  test.each([
    [["nosuch"], 'unknown stack "nosuch"'],
    [["dev", "-c", "platform:masters.count"], "-c platform:masters.count: expected KEY=VALUE"],
    [["dev", "-c", "platform:network..x=1"], '-c platform:network..x: cannot parse the path at "..x"'],
    [["dev", "-c", "platform:network.__proto__.polluted=1"], '"__proto__" is not allowed in a config path'],
  ])("%j", async (args, message) => {
    const r = await previewCli(...args);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toContain(message);
    expect(r.stderr).toContain("usage: npm run preview");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test("invalid config exits 1 naming the key, no stack trace", async () => {
    const r = await previewCli("dev", "-c", "platform:masters.count=41");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("platform:masters.count: 41 masters in 2 zone(s)");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
