// The etcd backup and restore scripts, run for real: a three-member TLS etcd on loopback of
// the version kubeadm 1.35 runs (v3.6.6, built from source by harness/build.sh etcd; the etcd
// image's etcdctl/etcdutl stand in a fake containerd task rootfs, found through a stub crictl,
// as the backup copies them out of the running etcd container), certificates from openssl; the
// program's backup script against the contract stubs of the hardened metadata service and of
// OSS (test/support/alibaba: the bucket is dated after the 2025-09-01 V1 cutoff, so only V4 is
// accepted, each signature recomputed by ali-oss), reached the way a master reaches them
// (virtual-hosted bucket name, `curl --connect-to` from ~/.curlrc onto loopback); then the
// program's restore steps on every "master" from the uploaded snapshot, and the keys read back.
// Also shellcheck and systemd-analyze on the output. Skipped with a printed reason outside CI
// when the etcd binaries are not built.
import OSS from "ali-oss";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  BACKUP_SUCCESS_METRIC,
  etcdBackupProblems,
  etcdBackupScript,
  etcdBackupUnits,
  EtcdMember,
  etcdRestoreScript,
  parseBackupSchedule,
} from "../../components/cluster/etcdBackup";
import { MetadataStub, startMetadataStub } from "../support/alibaba/metadataStub";
import { backupStatements, PolicyStatement } from "../../components/cluster/masterRole";
import { OssGrant, OssStub, startOssStub } from "../support/alibaba/ossStub";
import { binDir } from "../controlplane/binaries";
import { EtcdCluster } from "../support/etcdCluster";

jest.setTimeout(180_000);

const bins = binDir();
const missing = ["etcd", "etcdctl", "etcdutl"].filter((b) => !fs.existsSync(path.join(bins, b)));
if (missing.length > 0 && process.env.CI !== "true") {
  console.log(`etcdBackup: the real-etcd tests are skipped: missing in ${bins}: ${missing.join(", ")}; run \`bash harness/build.sh etcd\``);
}
const withEtcd = missing.length === 0 || process.env.CI === "true" ? describe : describe.skip;

const STACK = "prod1";
const BUCKET = "livemall-prod1-etcd-backup";
const ROLE = "prod1-masters";
const REGION = "cn-shanghai";
const OSS_HOST = `${BUCKET}.oss-${REGION}-internal.aliyuncs.com`;
const CREDS = { AccessKeyId: "STS.test-id", AccessKeySecret: "test-secret-value", SecurityToken: "CAIS-test-token" };
// The masters' grant: the program's own statements (masterRole.ts backupStatements), which the
// OSS stub evaluates as RAM does (explicit Deny first).
const MASTERS_GRANT: PolicyStatement[] = backupStatements(BUCKET, `${STACK}/`);

let tmp: string;

function sync(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000, env: opts.env ?? process.env, input: opts.input });
  if (r.error) throw new Error(`${cmd} could not run (${r.error.message}); install it (CI does)`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Runs a command without blocking the event loop (the stub server answers meanwhile). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env } });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code: code ?? -1, out }));
  });
}

// ---------------------------------------------------------------- PKI and etcd

const port = 20000 + Math.floor(Math.random() * 20000);
const peerPort = port + 1;
const members: EtcdMember[] = [0, 1, 2].map((i) => ({ name: `${STACK}-master-${i}`, ip: `127.0.0.${11 + i}` }));
const dataDir = (i: number) => etcd.dataDir(i);
const manifests = (i: number) => path.join(tmp, `manifests-${i}`);
const parked = (i: number) => path.join(tmp, `parked-${i}`);
let etcd: EtcdCluster;
const pki = () => etcd.pki;
const etcdctl = (...args: string[]) => etcd.etcdctl(...args);

// ---------------------------------------------------------------- stub metadata service + OSS

let oss: OssStub;
let metadata: MetadataStub;
const grants: Record<string, OssGrant | PolicyStatement[]> = {};
/** A HOME whose .curlrc sends the bucket's virtual host to the OSS stub (the only curl setting the test adds). */
const home = () => path.join(tmp, "home");

// ---------------------------------------------------------------- fixtures

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-backup-"));
  etcd = new EtcdCluster({ dir: tmp, bins, members, clientPort: port, peerPort });
  etcd.makePki();
  // A bucket created after the V1 cutoff (the program creates its bucket today).
  oss = await startOssStub({
    buckets: { [BUCKET]: { region: REGION, createdAt: "2026-12-07T00:00:00Z" } },
    keys: { [CREDS.AccessKeyId]: { accessKeySecret: CREDS.AccessKeySecret, securityToken: CREDS.SecurityToken } },
    grants,
  });
  grants[CREDS.AccessKeyId] = MASTERS_GRANT;
  metadata = await startMetadataStub({ role: ROLE, credentials: CREDS });
  fs.mkdirSync(home());
  fs.writeFileSync(path.join(home(), ".curlrc"), `connect-to = ${OSS_HOST}:80:127.0.0.1:${oss.port}\n`);
  // The etcd image's tools in a running container's rootfs, as containerd lays it out; crictl finds "its" id.
  const tools = path.join(tasks(), ETCD_CONTAINER, "rootfs", "usr", "local", "bin");
  fs.mkdirSync(tools, { recursive: true });
  fs.mkdirSync(path.join(tmp, "bin"));
  fs.writeFileSync(path.join(tmp, "bin", "crictl"), `#!/bin/sh\necho "$*" >>"${tmp}/crictl.log"\necho ${ETCD_CONTAINER}\n`, { mode: 0o755 });
  if (missing.length > 0) return;
  for (const t of ["etcdctl", "etcdutl"]) fs.symlinkSync(path.join(bins, t), path.join(tools, t));
  members.forEach((_, i) => etcd.start(i, true));
  await etcd.waitHealthy();
});

afterAll(async () => {
  await etcd?.stopAll();
  await oss?.close();
  await metadata?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const settings = {
  clusterName: STACK,
  bucket: BUCKET,
  ossEndpoint: `oss-${REGION}-internal.aliyuncs.com`,
  region: REGION,
  ramRole: ROLE,
  schedule: "1h",
  localCopies: 2,
};

function writeScript(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text, { mode: 0o755 });
  return file;
}

function backupEnv(): NodeJS.ProcessEnv {
  return {
    NODE_NAME: members[0].name,
    ETCD_ENDPOINT: `https://${members[0].ip}:${port}`,
    ETCD_PKI_DIR: pki(),
    BACKUP_DIR: path.join(tmp, "backups"),
    TEXTFILE_DIR: path.join(tmp, "textfile"),
    // The rendered https URL, but plain http: the stub speaks no TLS.
    OSS_URL: `http://${OSS_HOST}`,
    METADATA_URL: metadata.url,
    HOME: home(),
    ETCD_TOOLS_DIR: path.join(tmp, "etcd-tools"),
    CRICTL: path.join(tmp, "bin", "crictl"),
    CONTAINERD_TASKS: tasks(),
  };
}

const ETCD_CONTAINER = "3f9c1e0d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d";
const tasks = () => path.join(tmp, "tasks");

const KEYS = Array.from({ length: 25 }, (_, i) => `/registry/test/key-${String(i).padStart(2, "0")}`);

// ---------------------------------------------------------------- tests

describe("rendered text", () => {
  test("both scripts pass shellcheck -S style", () => {
    const backup = writeScript("check-backup.sh", etcdBackupScript(settings));
    const restore = writeScript("check-restore.sh", etcdRestoreScript(STACK, members, 1));
    const r = spawnSync("shellcheck", ["-s", "bash", "-S", "style", "-f", "gcc", backup, restore], { encoding: "utf8" });
    expect(r.error).toBeUndefined();
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });

  test("the units pass systemd-analyze verify, and the timer fires on the schedule", () => {
    const dir = path.join(tmp, "units");
    fs.mkdirSync(dir);
    const script = writeScript("units/etcd-backup.sh", "#!/bin/sh\n");
    const { service, timer } = etcdBackupUnits("1h", { scriptPath: script });
    fs.writeFileSync(path.join(dir, "etcd-backup.service"), service);
    fs.writeFileSync(path.join(dir, "etcd-backup.timer"), timer);
    const r = spawnSync("systemd-analyze", ["verify", path.join(dir, "etcd-backup.service"), path.join(dir, "etcd-backup.timer")], { encoding: "utf8" });
    expect(r.error).toBeUndefined();
    expect(`${r.stdout}${r.stderr}`).toBe("");
    expect(r.status).toBe(0);
    expect(timer).toContain("OnCalendar=*-*-* 00/1:00:00");
    expect(etcdBackupUnits("6h").timer).toContain("\nDescription=etcd snapshot every 6h\n\n[Timer]\nOnCalendar=*-*-* 00/6:00:00\nRandomizedDelaySec=300\n");
    expect(etcdBackupUnits("15m").timer).toContain("\nOnCalendar=*-*-* *:00/15:00\nRandomizedDelaySec=90\n");
    expect(service).toContain("\nSlice=k8s-metadata.slice\n");
    // systemd's own reading of each schedule: consecutive elapses one period apart.
    for (const schedule of ["15m", "1h", "6h", "24h"]) {
      const cal = sync("systemd-analyze", ["calendar", "--iterations=3", parseBackupSchedule(schedule).onCalendar], { env: { ...process.env, TZ: "UTC" } });
      const times = [...cal.matchAll(/(?:Next elapse|Iter\. #\d): \w+ (\S+ \S+) UTC/g)].map((m) => Date.parse(`${m[1]}Z`));
      expect(times).toHaveLength(3);
      expect((times[2] - times[1]) / 1000).toBe(parseBackupSchedule(schedule).seconds);
    }
  });

  test("schedules that do not tile a day, and bad bounds, are one error naming the key", () => {
    expect(() => parseBackupSchedule("7h")).toThrow('platform:etcdBackup.schedule: "7h" is not a period that divides a day');
    expect(parseBackupSchedule("6h").seconds).toBe(21600);
    expect(etcdBackupProblems({ schedule: "5m", retentionDays: 0, localCopies: 2.5 })).toEqual([
      expect.stringContaining("platform:etcdBackup.schedule"),
      "platform:etcdBackup.retentionDays: must be a whole number from 1 to 365, got 0",
      "platform:etcdBackup.localCopies: must be a whole number from 1 to 48, got 2.5",
    ]);
    expect(etcdBackupProblems({})).toEqual([]);
  });
});

withEtcd("backup and restore against a real three-member TLS etcd v3.6.6", () => {
  test("the binaries are etcd v3.6.6 (the version kubeadm 1.35 pins)", () => {
    expect(sync(path.join(bins, "etcd"), ["--version"])).toMatch(/^etcd Version: 3\.6\.6$/m);
  });

  test("round trip: backup, upload under the stack's prefix only, wipe, restore on every master, keys back", async () => {
    for (const k of KEYS) expect((await etcdctl("put", k, `value-of-${k}`)).code).toBe(0);
    const script = writeScript("etcd-backup.sh", etcdBackupScript(settings));

    // Three runs (a second apart, names carry seconds): two local copies stay, three uploads.
    for (let i = 0; i < 3; i++) {
      const r = await run("bash", [script], backupEnv());
      expect(r.out).toMatch(/uploaded oss:\/\/livemall-prod1-etcd-backup\/prod1\/prod1-master-0\/etcd-prod1-master-0-\d{8}T\d{6}Z\.db/);
      expect(r.code).toBe(0);
      await new Promise((res) => setTimeout(res, 1100));
    }
    // etcd's own tools, copied out of "its" container once (the same bytes after that), asked for by name on containerd's socket.
    expect(fs.readdirSync(path.join(tmp, "etcd-tools")).sort()).toEqual(["etcdctl", "etcdutl"]);
    expect(sync(path.join(tmp, "etcd-tools", "etcdutl"), ["version"])).toMatch(/^etcdutl version: 3\.6\.6$/m);
    expect(fs.readFileSync(path.join(tmp, "crictl.log"), "utf8")).toBe(
      "--runtime-endpoint unix:///run/containerd/containerd.sock ps -q --name ^etcd$\n".repeat(3),
    );
    const local = fs.readdirSync(path.join(tmp, "backups"));
    expect(local.filter((f) => f.endsWith(".db"))).toHaveLength(2);
    expect(local.filter((f) => f.startsWith("."))).toEqual([]); // no part or headers file left behind

    // Three PUTs, every one V4-signed and accepted by ali-oss's own check in the stub, with the
    // STS token and a matching Content-MD5 (the stub refuses a wrong one), nothing else sent to OSS.
    expect(oss.requests.map((r) => `${r.method} ${r.headers.host?.split(":")[0]} ${r.status}`)).toEqual(Array(3).fill(`PUT ${OSS_HOST} 200`));
    for (const r of oss.requests) {
      expect(r.headers.authorization).toMatch(
        new RegExp(`^OSS4-HMAC-SHA256 Credential=STS\\.test-id/\\d{8}/${REGION}/oss/aliyun_v4_request,Signature=[0-9a-f]{64}$`),
      );
      expect(r.headers["x-oss-security-token"]).toBe("CAIS-test-token");
      expect(r.headers["content-md5"]).toBe(createHash("md5").update(r.body).digest("base64"));
    }
    // Only under the stack's prefix, each a V4 version of its own object.
    const keys = [...oss.objects.keys()];
    expect(keys).toHaveLength(3);
    for (const k of keys) {
      expect(k).toMatch(/^livemall-prod1-etcd-backup\/prod1\/prod1-master-0\/etcd-prod1-master-0-\d{8}T\d{6}Z\.db$/);
      expect(oss.objects.get(k)!.map((v) => v.signedWith)).toEqual(["V4"]);
    }
    // The token came from the hardened metadata service (PUT token, then the role's credentials).
    expect(metadata.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(
      Array(3)
        .fill([`PUT /latest/api/token 200`, `GET /latest/meta-data/ram/security-credentials/${ROLE} 200`])
        .flat(),
    );

    const metric = fs.readFileSync(path.join(tmp, "textfile", "etcd_backup.prom"), "utf8");
    const ts = Number(new RegExp(`^${BACKUP_SUCCESS_METRIC} (\\d+)$`, "m").exec(metric)?.[1]);
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(60);

    // Written after the backup: must be gone after the restore.
    expect((await etcdctl("put", "/registry/test/after-backup", "x")).code).toBe(0);

    // The snapshot the masters restore is the one in OSS (as an operator downloads it).
    const uploaded = path.join(tmp, "downloaded.db");
    fs.writeFileSync(uploaded, oss.objects.get(keys.sort().at(-1)!)!.at(-1)!.body!);
    const restoreScripts = members.map((_, i) => writeScript(`etcd-restore-${i}.sh`, etcdRestoreScript(STACK, members, i, { clientPort: port, peerPort })));
    const envOf = (i: number): NodeJS.ProcessEnv => ({
      ETCD_PKI_DIR: pki(),
      DATA_DIR: dataDir(i),
      MANIFESTS_DIR: manifests(i),
      PARKED_DIR: parked(i),
      WAIT_SECONDS: "60",
      ETCD_TOOLS_DIR: path.join(tmp, "etcd-tools"),
    });
    const revisionBefore = await etcd.revision();
    expect(revisionBefore).toBeLessThan(1000);
    // The copied etcdutl, wrapped to log its flags.
    const real = path.join(tmp, "etcd-tools", "etcdutl.real");
    fs.renameSync(path.join(tmp, "etcd-tools", "etcdutl"), real);
    writeScript("etcd-tools/etcdutl", `#!/bin/sh\necho "$@" >>"${tmp}/etcdutl.log"\nexec "${real}" "$@"\n`);
    const step = async (i: number, ...args: string[]) => {
      const r = await run("bash", [restoreScripts[i], ...args], envOf(i));
      if (r.code !== 0) throw new Error(`master-${i} ${args.join(" ")}: ${r.out}`);
      return r;
    };
    const CONTROL_PLANE = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];
    for (const i of [0, 1, 2]) {
      fs.mkdirSync(manifests(i));
      for (const c of [...CONTROL_PLANE, "etcd"]) fs.writeFileSync(path.join(manifests(i), `${c}.yaml`), `# ${c}\n`);
    }

    // A restore before `stop` is refused.
    const early = await run("bash", [restoreScripts[1], "restore", uploaded], envOf(1));
    expect(early.out).toContain("run '");
    expect(early.code).toBe(1);

    // 1. stop: every manifest parked on every master; the "kubelet" (this test) stops etcd.
    for (const i of [0, 1, 2]) await step(i, "stop");
    for (const i of [0, 1, 2]) {
      expect(fs.readdirSync(manifests(i))).toEqual([]);
      expect(fs.readdirSync(parked(i)).sort()).toEqual(["etcd.yaml", ...CONTROL_PLANE.map((c) => `${c}.yaml`)].sort());
      await etcd.stop(i);
    }
    // Wipe two data dirs outright; master-0's is left for the script to move aside.
    fs.rmSync(dataDir(1), { recursive: true });
    fs.rmSync(dataDir(2), { recursive: true });

    // 2. restore on every master, from the same snapshot.
    for (const i of [0, 1, 2]) expect((await step(i, "restore", uploaded)).out).toContain(`as ${members[i].name}`);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith("data-0.before-restore-"))).toHaveLength(1);
    const flags = fs.readFileSync(path.join(tmp, "etcdutl.log"), "utf8");
    expect(flags).toContain(`--name ${members[0].name} --initial-cluster ${members.map((m) => `${m.name}=https://${m.ip}:${peerPort}`).join(",")}`);
    expect(flags).toContain(
      `--initial-advertise-peer-urls https://${members[0].ip}:${peerPort} --data-dir ${dataDir(0)} --bump-revision 1000000000 --mark-compacted`,
    );
    expect(flags.match(/--bump-revision 1000000000 --mark-compacted/g)).toHaveLength(3);

    // 3. start-etcd: etcd's manifest back, the api-server's still parked; the "kubelet" starts etcd.
    for (const i of [0, 1, 2]) {
      await step(i, "start-etcd");
      expect(fs.readdirSync(manifests(i))).toEqual(["etcd.yaml"]);
      etcd.start(i, false);
    }
    // 4. wait-etcd, 5. start.
    await step(0, "wait-etcd");
    for (const i of [0, 1, 2]) {
      await step(i, "start");
      expect(fs.readdirSync(manifests(i)).sort()).toEqual(["etcd.yaml", ...CONTROL_PLANE.map((c) => `${c}.yaml`)].sort());
    }

    const got = await etcdctl("get", "/registry/test/", "--prefix", "--keys-only");
    expect(got.code).toBe(0);
    expect(got.out.split("\n").filter(Boolean)).toEqual(KEYS);
    expect((await etcdctl("get", "/registry/test/key-07", "--print-value-only")).out.trim()).toBe("value-of-/registry/test/key-07");
    const list = await etcdctl("member", "list");
    for (const m of members) expect(list.out).toContain(`${m.name}, https://${m.ip}:${peerPort}`);
    // The revision is the snapshot's (one write before revisionBefore) plus 1e9 (README: watchers relist instead of missing events).
    expect(await etcd.revision()).toBe(revisionBefore - 1 + 1_000_000_000);
  });

  test("the V1 form the script used to send is refused on this bucket", async () => {
    // Same STS credentials, same key, signed V1 by ali-oss itself: the bucket dates from after 2025-09-01.
    const v1 = new OSS({
      region: `oss-${REGION}`,
      endpoint: oss.url,
      secure: false,
      bucket: BUCKET,
      authorizationV4: false,
      accessKeyId: CREDS.AccessKeyId,
      accessKeySecret: CREDS.AccessKeySecret,
      stsToken: CREDS.SecurityToken,
      timeout: 10_000,
    });
    const err = await v1.put(`${STACK}/${members[0].name}/v1.db`, Buffer.from("etcd")).then(
      () => "accepted",
      (e: { status?: number; code?: string }) => `${e.status} ${e.code}`,
    );
    expect(err).toBe("403 AccessDenied");
    expect(oss.requests.at(-1)!.refused).toBe("AccessDenied");
  });

  test("a refused upload exits non-zero and leaves the success metric alone", async () => {
    const script = path.join(tmp, "etcd-backup.sh");
    const metricFile = path.join(tmp, "textfile", "etcd_backup.prom");
    const before = fs.readFileSync(metricFile, "utf8");
    const seen = oss.requests.length;
    grants[CREDS.AccessKeyId] = {}; // the masters' policy without PutObject
    try {
      const r = await run("bash", [script], backupEnv());
      expect(r.code).not.toBe(0);
    } finally {
      grants[CREDS.AccessKeyId] = MASTERS_GRANT;
    }
    expect(oss.requests.slice(seen).map((r) => r.refused)).toContain("AccessDenied");
    expect(fs.readFileSync(metricFile, "utf8")).toBe(before);
    expect(fs.readdirSync(path.join(tmp, "backups")).filter((f) => f.startsWith("."))).toEqual([]);
  });
});
