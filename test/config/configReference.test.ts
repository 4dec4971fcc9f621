// docs/config-reference.md is generated from the schema (components/config/reference.ts): the committed file must be
// what `npm run docs:config` writes now, so a key added, removed or re-described without regenerating fails here.
import * as fs from "fs";
import * as path from "path";
import { alignTables, configReference, rawReference, REFERENCE_PATH } from "../../components/config/reference";

const root = path.resolve(__dirname, "../..");
const committed = fs.readFileSync(path.join(root, REFERENCE_PATH), "utf8");

describe("docs/config-reference.md", () => {
  test("is what `npm run docs:config` generates from the schema (run it after changing the schema)", () => {
    expect(committed).toBe(configReference());
  });

  test("documents every platform key, each with an explanation", () => {
    const keys = [...rawReference().matchAll(/^## platform:(\w+)\n\n(Required|Optional); [^\n]+\n\n(\S[^\n]*)/gm)].map((m) => m[1]);
    expect(keys).toEqual([
      "env",
      "tier",
      "network",
      "kubernetes",
      "masters",
      "nodePools",
      "osImageId",
      "apiServerFront",
      "ingress",
      "logging",
      "monitoring",
      "apps",
      "tracing",
      "apollo",
      "harbor",
      "hostStack",
      "datacenter",
      "kubesphere",
      "etcdBackup",
      "secretStore",
      "images",
      "diskCsi",
      "workspaces",
      "console",
      "projects",
      "logSearch",
    ]);
  });

  test("takes required-ness, bounds and choices from the schema", () => {
    const raw = rawReference();
    // secretStore is optional to zod's JSON export (an absent key is parsed as {}) but refused when absent.
    expect(raw).toContain("| [`platform:secretStore`](#platformsecretstore) | object | yes |");
    expect(raw).toContain("| `network.natChargeType` | PayByTraffic \\| PayByBandwidth | no |");
    expect(raw).toContain("| `etcdBackup.retentionDays` | integer 1-365 | no | Days a snapshot is kept");
    expect(raw).toContain("| `apps.<name>.history` | [string] (at most 5) | no |");
    expect(raw).toContain("| `logging.brokers` | [string] (1+) | yes | (with output: kafka) Kafka brokers");
    expect(raw).toContain("| `platform:dingtalkWebhook` | always |");
    expect(raw).toContain("| `platform:role` | is not a setting: the role is derived from platform:env");
  });

  test("lays tables out as prettier does: cells padded to the column, dashes as wide", () => {
    expect(alignTables("| a | bb |\n| --- | --- |\n| cccc | d |\n")).toBe("| a    | bb  |\n| ---- | --- |\n| cccc | d   |\n");
  });

  test("links the docs a description names, and escapes <placeholders> outside code", () => {
    const raw = rawReference();
    expect(raw).toContain("([docs/runbooks/upgrade.md](runbooks/upgrade.md))");
    expect(raw).toContain("default https://pkgs.k8s.io/core:/stable:/v&lt;minor>/deb/.");
  });
});
