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
import { CERT_RENEW_SCRIPT_PATH } from "../../components/cluster/certRenewal";
import { DAY2_INSTALLER_PATH } from "../../components/cluster/masterDay2";
import { planToPolicyStack } from "../../components/preview/policyCheck";
import { kubernetesVersionSkew } from "../../policies/rules/nodes";
import { runPolicies } from "../../policies/pack";
import { alertRules, ofType, plan } from "../support/offline";

jest.setTimeout(120_000);

const userData = async (stack: string, host: string) => (await plan(stack)).artifacts.find((a) => a.kind === "cloud-init" && a.file === `${host}.yaml`)!.text;
const writeFiles = (text: string) =>
  (YAML.parse(text.replace(/^#cloud-config\n/, "")).write_files ?? []) as { path: string; content: string; encoding?: string }[];

test("prod1 plans one backup bucket: versioned, AES256, snapshots expire after 7 days, public access blocked", async () => {
  const p = await plan("prod1");
  const [bucket] = ofType(p, "alicloud:oss/bucket:Bucket");
  expect(ofType(p, "alicloud:oss/bucket:Bucket")).toHaveLength(1);
  expect(bucket.inputs).toMatchObject({
    bucket: "livemall-prod1-etcd-backup",
    acl: "private",
    versioning: { status: "Enabled" },
    serverSideEncryptionRule: { sseAlgorithm: "AES256" },
    // Old versions as long as snapshots, delete markers removed (ramAndBackup.test.ts).
    lifecycleRules: [
      { enabled: true, prefix: "prod1/", expirations: [{ days: 7 }], noncurrentVersionExpirations: [{ days: 7 }] },
      { enabled: true, prefix: "prod1/", expirations: [{ expiredObjectDeleteMarker: true }] },
    ],
    forceDestroy: false,
  });
  expect(bucket.protect).toBe(true);
  const [block] = ofType(p, "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock");
  expect(block.inputs).toEqual({ bucket: "livemall-prod1-etcd-backup", blockPublicAccess: true });
});

test("the masters' role may only put objects under prod1/ of that bucket, and is attached to the 3 masters only", async () => {
  const p = await plan("prod1");
  const role = ofType(p, "alicloud:ram/role:Role").find((r) => r.inputs.roleName === "prod1-masters")!;
  expect(JSON.parse(String(role.inputs.assumeRolePolicyDocument)).Statement).toEqual([
    { Effect: "Allow", Action: "sts:AssumeRole", Principal: { Service: ["ecs.aliyuncs.com"] } },
  ]);
  // One policy per capability, and only these two: the backup's here, the secret store's in bootstrapTrust.test.ts
  // (the disk CSI driver's are the workers', test/k8s/chartsAndPlacement.test.ts).
  const mastersPolicies = ofType(p, "alicloud:ram/policy:Policy").filter((r) => String(r.inputs.policyName).startsWith("prod1-masters-"));
  expect(mastersPolicies.map((r) => r.inputs.policyName).sort()).toEqual([
    "prod1-masters-etcd-backup",
    "prod1-masters-join-token",
    "prod1-masters-secret-store",
  ]);
  const policies = mastersPolicies.filter((r) => r.inputs.policyName === "prod1-masters-etcd-backup");
  expect(policies).toHaveLength(1);
  expect(JSON.parse(String(policies[0].inputs.policyDocument)).Statement).toEqual([
    { Effect: "Allow", Action: ["oss:PutObject"], Resource: ["acs:oss:*:*:livemall-prod1-etcd-backup/prod1/*"] },
    {
      Effect: "Deny",
      Action: ["oss:Delete*", "oss:PutBucket*"],
      Resource: ["acs:oss:*:*:livemall-prod1-etcd-backup", "acs:oss:*:*:livemall-prod1-etcd-backup/*"],
    },
  ]);
  const backupAttachment = ofType(p, "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment").find(
    (r) => r.inputs.policyName === "prod1-masters-etcd-backup",
  )!;
  expect(backupAttachment.inputs).toMatchObject({ roleName: "prod1-masters", policyType: "Custom" });
  const masterIds = ofType(p, "alicloud:ecs/instance:Instance")
    .filter((r) => r.name.startsWith("prod1-master-"))
    .map((r) => r.id);
  const attached = ofType(p, "alicloud:ecs/ramRoleAttachment:RamRoleAttachment")
    .filter((r) => r.inputs.ramRoleName === "prod1-masters")
    .map((r) => r.inputs.instanceId);
  expect(attached.sort()).toEqual(masterIds.sort());
});

/** Unpacks a master's day-2 installer (from its user data) into a temp dir, as cloud-init and the installer would. */
function unpack(text: string): string {
  const installer = writeFiles(text).find((f) => f.path === DAY2_INSTALLER_PATH)!;
  expect(installer.encoding).toBe("gz+b64");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "day2-unpack-"));
  fs.writeFileSync(path.join(dir, "install.sh"), gunzipSync(Buffer.from(installer.content, "base64")));
  const r = spawnSync("bash", [path.join(dir, "install.sh")], { encoding: "utf8", env: { ...process.env, DESTDIR: path.join(dir, "root") } });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return path.join(dir, "root");
}

test("every master's user data carries the timers and stays under the budget; workers carry none", async () => {
  for (const i of [0, 1, 2]) {
    const text = await userData("prod1", `prod1-master-${i}`);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES);
    const root = unpack(text);
    const read = (f: string) => fs.readFileSync(path.join(root, f), "utf8");
    const script = read(ETCD_BACKUP_SCRIPT_PATH);
    expect((fs.statSync(path.join(root, ETCD_BACKUP_SCRIPT_PATH)).mode & 0o777).toString(8)).toBe("700");
    expect(script).toContain(': "${OSS_BUCKET:=livemall-prod1-etcd-backup}"');
    expect(script).toContain(': "${OSS_URL:=https://livemall-prod1-etcd-backup.oss-cn-shanghai-internal.aliyuncs.com}"');
    expect(script).toContain(': "${OSS_REGION:=cn-shanghai}"');
    expect(script).toContain(': "${RAM_ROLE:=prod1-masters}"');
    // Shipped without comments, otherwise the same script: it still parses and passes shellcheck.
    // The worker join token timer (workerToken.ts): the stack's KMS secret, the masters' role, in the metadata slice.
    const token = read("/usr/local/sbin/k8s-worker-token.sh");
    expect(token).toContain(': "${SECRET_NAME:=prod1-worker-join}"');
    expect(token).toContain(': "${RAM_ROLE:=prod1-masters}"');
    expect(read("/etc/systemd/system/k8s-worker-token.service")).toContain("Slice=k8s-metadata.slice");
    expect(read("/etc/systemd/system/k8s-worker-token.timer")).toContain("OnUnitActiveSec=5min");
    for (const f of [ETCD_BACKUP_SCRIPT_PATH, CERT_RENEW_SCRIPT_PATH, "/usr/local/sbin/k8s-worker-token.sh"]) {
      const sc = spawnSync("shellcheck", ["-s", "bash", "-e", "SC2064", "-f", "gcc", path.join(root, f)], { encoding: "utf8" });
      expect(sc.stdout).toBe("");
      expect(sc.status).toBe(0);
    }
    expect(read("/etc/systemd/system/kubeadm-cert-renew.timer")).toContain(`OnCalendar=*-*-* 0${2 + i}:00:00 UTC`);
    expect(read("/etc/systemd/system/etcd-backup.timer")).toContain("OnCalendar=*-*-* 00/1:00:00");
    const doc = YAML.parse(text.replace(/^#cloud-config\n/, ""));
    expect(doc.runcmd.slice(0, 3)).toEqual([
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "k8s-metadata-guard.service", "k8s-bootstrap.service"],
      ["systemctl", "start", "--no-block", "k8s-bootstrap.service"],
    ]);
    expect(doc.runcmd.at(-1)).toEqual(["systemctl", "enable", "--now", "k8s-worker-token.timer", "etcd-backup.timer", "kubeadm-cert-renew.timer"]);
    // No distribution etcd client (Ubuntu's is 3.3 against etcd 3.6): the backup copies etcd's own tools from its container.
    expect(JSON.stringify(doc.runcmd)).not.toContain("etcd-client");
  }
  expect(writeFiles(await userData("prod1", "prod1-general-0")).map((f) => f.path)).not.toContain(DAY2_INSTALLER_PATH);
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
  const alerts = alertRules(p).map((r) => r.alert);
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
