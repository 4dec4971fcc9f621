// platform:etcdBackup: defaults when absent, one error per bad field naming its key,
// and nothing planned when it is wrong.
import { ConfigError, parseStackConfig } from "../../components/config/stackConfig";
import { loadEngineConfig } from "../../components/config/stackFiles";

function problems(...overrides: string[]): string[] {
  const c = loadEngineConfig("prod1", overrides);
  try {
    parseStackConfig("prod1", { values: c.values, secretKeys: c.secretKeys });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

test("absent or within bounds: valid", () => {
  expect(problems()).toEqual([]);
  expect(problems('platform:etcdBackup={"schedule":"30m","retentionDays":30,"localCopies":12,"bucket":"acme-prod1-etcd"}')).toEqual([]);
});

test("each bad field is one problem naming its key", () => {
  expect(problems('platform:etcdBackup={"schedule":"45m","retentionDays":400,"localCopies":0,"bucket":"Bad_Name","extra":1}').sort()).toEqual(
    [
      'platform:etcdBackup.schedule: "45m" is not a period that divides a day: use 15m, 20m, 30m or 1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h',
      "platform:etcdBackup.retentionDays: must be <= 365",
      "platform:etcdBackup.localCopies: must be >= 1",
      "platform:etcdBackup.bucket: must be an OSS bucket name (3-63 lowercase letters, digits, hyphens)",
      'platform:etcdBackup: unknown key "extra"',
    ].sort(),
  );
});
