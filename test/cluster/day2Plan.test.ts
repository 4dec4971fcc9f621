// The day-2 wiring in real plans: prod1 has the backup bucket (versioned, encrypted,
// expiring, public access blocked), the masters' role whose only permission is putting
// objects under prod1/, the timers in every master's user data (and in no worker's),
// the alerts in the PrometheusRule, and the version-skew policy guards node tags.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import YAML from "yaml";
import { USER_DATA_LIMIT_BYTES } from "../../components/cluster/cloudInit";
import { ETCD_BACKUP_SCRIPT_PATH } from "../../components/cluster/etcdBackup";
import { planToPolicyStack } from "../../components/preview/policyCheck";
import { kubernetesVersionSkew } from "../../policies/rules/nodes";
import { runPolicies } from "../../policies/pack";
import { ofType, plan } from "../support/offline";

jest.setTimeout(120_000);

const userData = async (stack: string, host: string) => (await plan(stack)).artifacts.find((a) => a.kind === "cloud-init" && a.file === `${host}.yaml`)!.text;
const writeFiles = (text: string) => (YAML.parse(text.replace(/^#cloud-config\n/, "")).write_files ?? []) as { path: string; content: string; encoding?: string }[];

test("prod1 plans one backup bucket: versioned, AES256, snapshots expire after 7 days, public access blocked", async () => {
  const p = await plan("prod1");
  const [bucket] = ofType(p, "alicloud:oss/bucket:Bucket");
  expect(ofType(p, "alicloud:oss/bucket:Bucket")).toHaveLength(1);
  expect(bucket.inputs).toMatchObject({
    bucket: "livemall-prod1-etcd-backup",
    acl: "private",
    versioning: { status: "Enabled" },
    serverSideEncryptionRule: { sseAlgorithm: "AES256" },
    lifecycleRules: [{ enabled: true, prefix: "prod1/", expirations: [{ days: 7 }], noncurrentVersionExpirations: [{ days: 1 }] }],
    forceDestroy: false,
  });
  expect(bucket.protect).toBe(true);
  const [block] = ofType(p, "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock");
  expect(block.inputs).toEqual({ bucket: "livemall-prod1-etcd-backup", blockPublicAccess: true });
});

test("the masters' role may only put objects under prod1/ of that bucket, and is attached to the 3 masters only", async () => {
  const p = await plan("prod1");
  const [role] = ofType(p, "alicloud:ram/role:Role");
  expect(JSON.parse(String(role.inputs.assumeRolePolicyDocument)).Statement).toEqual([{ Effect: "Allow", Action: "sts:AssumeRole", Principal: { Service: ["ecs.aliyuncs.com"] } }]);
  const policies = ofType(p, "alicloud:ram/policy:Policy");
  expect(policies).toHaveLength(1);
  expect(JSON.parse(String(policies[0].inputs.policyDocument)).Statement).toEqual([
    { Effect: "Allow", Action: ["oss:PutObject"], Resource: ["acs:oss:*:*:livemall-prod1-etcd-backup/prod1/*"] },
  ]);
  expect(ofType(p, "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment")[0].inputs).toMatchObject({ roleName: "prod1-masters", policyType: "Custom" });
  const masterIds = ofType(p, "alicloud:ecs/instance:Instance").filter((r) => r.name.startsWith("prod1-master-")).map((r) => r.id);
  const attached = ofType(p, "alicloud:ecs/ramRoleAttachment:RamRoleAttachment").map((r) => r.inputs.instanceId);
  expect(attached.sort()).toEqual(masterIds.sort());
});

test("every master's user data carries the timers and stays under the budget; workers carry none", async () => {
  const p = await plan("prod1");
  for (const i of [0, 1, 2]) {
    const text = await userData("prod1", `prod1-master-${i}`);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES);
    const files = writeFiles(text);
    const script = files.find((f) => f.path === ETCD_BACKUP_SCRIPT_PATH)!;
    expect(script.encoding).toBe("gz+b64");
    const body = gunzipSync(Buffer.from(script.content, "base64")).toString();
    expect(body).toContain(': "${OSS_BUCKET:=livemall-prod1-etcd-backup}"');
    expect(body).toContain(': "${OSS_URL:=https://livemall-prod1-etcd-backup.oss-cn-shanghai-internal.aliyuncs.com}"');
    expect(body).toContain(': "${RAM_ROLE:=prod1-masters}"');
    const timer = gunzipSync(Buffer.from(files.find((f) => f.path === "/etc/systemd/system/kubeadm-cert-renew.timer")!.content, "base64")).toString();
    expect(timer).toContain(`OnCalendar=*-*-* 0${2 + i}:00:00 UTC`);
    const doc = YAML.parse(text.replace(/^#cloud-config\n/, ""));
    expect(doc.runcmd.at(-1)).toEqual(["systemctl", "enable", "--now", "etcd-backup.timer", "kubeadm-cert-renew.timer"]);
  }
  expect(writeFiles(await userData("prod1", "prod1-general-0")).map((f) => f.path)).not.toContain(ETCD_BACKUP_SCRIPT_PATH);
  expect(p.artifacts.filter((a) => a.kind === "cloud-init")).not.toHaveLength(0);
});

test("a master's user data passes cloud-init schema", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "day2-ci-"));
  const file = path.join(dir, "m0.yaml");
  fs.writeFileSync(file, await userData("prod1", "prod1-master-0"));
  const r = spawnSync("cloud-init", ["schema", "-c", file], { encoding: "utf8" });
  expect(r.error).toBeUndefined();
  expect(`${r.stdout}${r.stderr}`).not.toMatch(/error|DEPRECATED/i);
  expect(r.status).toBe(0);
  fs.rmSync(dir, { recursive: true });
});

test("the PrometheusRule carries the backup and certificate alerts", async () => {
  const p = await plan("prod1");
  const rule = ofType(p, "kubernetes:monitoring.coreos.com/v1:PrometheusRule")[0];
  const alerts = (rule.inputs.spec as { groups: { rules: { alert: string }[] }[] }).groups.flatMap((g) => g.rules.map((r) => r.alert));
  expect(alerts).toEqual(expect.arrayContaining(["EtcdBackupStale", "EtcdBackupNeverSucceeded", "KubeadmCertificateExpiresSoon"]));
});

test("kubernetes-version-skew: clean on prod1; a node two minors behind the config is reported", async () => {
  const stack = planToPolicyStack(await plan("prod1"));
  const policy = kubernetesVersionSkew("mandatory");
  expect(runPolicies(stack, [policy])).toEqual([]);
  const bad = structuredClone(stack);
  (bad.resources.find((r) => r.name === "prod1-general-4")!.props.tags as Record<string, string>)["platform:kubernetes-version"] = "1.33.7";
  (bad.resources.find((r) => r.name === "prod1-general-5")!.props.tags as Record<string, string>)["platform:kubernetes-version"] = "1.34.2";
  expect(runPolicies(bad, [policy]).map((v) => v.message)).toEqual([
    "prod1-general-4: runs Kubernetes 1.33.7 (tag platform:kubernetes-version) but the config says 1.35.4; more than 1 minor apart, upgrade one minor at a time (npm run upgrade-plan)",
  ]);
});
