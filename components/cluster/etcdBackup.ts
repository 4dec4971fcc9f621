// etcd backups and their restore, as text for the masters: a backup script run by a
// systemd timer (snapshot, integrity check, local copies, upload to the stack's OSS
// bucket through the instance RAM role, a node-exporter metric for the "backup is
// stale" alert), and a restore script with one subcommand per step of the procedure.
// Pure, so tests run the very scripts against a real etcd and feed the units to
// `systemd-analyze verify`.
//
// Why curl + python3 and not ossutil: ossutil is not in Ubuntu's archive, so every
// master would download an unpinned binary at boot. curl is installed by the
// bootstrap and python3 is on every image that runs cloud-init (cloud-init is
// Python). python3 reads the metadata service's JSON and signs the PutObject with OSS
// Signature V4 (OSS4-HMAC-SHA256, scoped to the bucket's region), with the STS token in
// x-oss-security-token; V1 is no longer available for buckets created from 2025-09-01,
// which every bucket this program creates is. The sources are cited beside the signer in
// scripts/etcd-backup.sh.
// The STS credentials of the instance RAM role come from
// http://100.100.100.200/latest/meta-data/ram/security-credentials/<role> (ECS "instance
// RAM roles"), after getting a metadata token (PUT /latest/api/token), which works in
// both the normal and the hardened metadata mode. Secrets never appear on a command
// line: the HMAC key goes through the environment, the headers through a 0600 file.
import * as path from "path";
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT, METADATA_ADDRESS } from "../network/ports";
import { renderScript, renderUnit, shellExpression } from "../scriptFiles";
import { CRI_SOCKET } from "./kubeadm";

const SCRIPTS = path.join(__dirname, "scripts");

/** Where the scripts and units land on a master. */
export const ETCD_BACKUP_SCRIPT_PATH = "/usr/local/sbin/etcd-backup.sh";
export const ETCD_RESTORE_SCRIPT_PATH = "/usr/local/sbin/etcd-restore.sh";
export const ETCD_BACKUP_UNIT = "etcd-backup";
/** Local snapshots; the newest `localCopies` are kept. */
export const ETCD_BACKUP_DIR = "/var/backups/etcd";
/** node-exporter's textfile collector reads *.prom here (see components/k8s/day2Alerts.ts). */
export const TEXTFILE_COLLECTOR_DIR = "/var/lib/node_exporter/textfile_collector";
/** kubeadm's etcd PKI: its CA and the healthcheck client certificate, which etcd accepts. */
export const ETCD_PKI_DIR = "/etc/kubernetes/pki/etcd";
export const ETCD_DATA_DIR = "/var/lib/etcd";
/**
 * etcdctl and etcdutl of the cluster's etcd version: the backup copies them out of the running
 * etcd container (kubeadm's etcd image has both in /usr/local/bin), the restore runs them.
 */
export const ETCD_TOOLS_DIR = "/usr/local/lib/etcd-tools";
/** containerd's runtime-v2 task bundles of the CRI namespace: `<container id>/rootfs` while it runs. */
export const CONTAINERD_TASKS = "/run/containerd/io.containerd.runtime.v2.task/k8s.io";
export const STATIC_POD_DIR = "/etc/kubernetes/manifests";
/** Where the restore parks static pod manifests; outside the kubelet's manifest directory. */
export const PARKED_MANIFESTS_DIR = "/etc/kubernetes/manifests-parked";
/** The metric the backup script writes on success (scripts/etcd-backup.sh names it). */
export const BACKUP_SUCCESS_METRIC = "platform_etcd_backup_last_success_timestamp_seconds";

export const DEFAULT_ETCD_BACKUP = { schedule: "1h", retentionDays: 7, localCopies: 5 } as const;

export interface EtcdBackupConfig {
  /**
   * How often each master takes a snapshot: "15m", "20m", "30m" (minutes dividing an hour) or
   * "1h".."24h" (hours dividing a day). Default "1h". The alert fires at twice this.
   */
  schedule?: string;
  /** Days the bucket keeps a snapshot (its lifecycle rule). Default 7, between 1 and 365. */
  retentionDays?: number;
  /** Snapshots kept on each master's disk. Default 5, between 1 and 48. */
  localCopies?: number;
}

export interface EtcdBackupSettings {
  /** Cluster (stack) name; also the object prefix the masters' RAM policy allows. */
  clusterName: string;
  /** The stack's backup bucket. */
  bucket: string;
  /** OSS endpoint host, e.g. oss-cn-shanghai-internal.aliyuncs.com (internal: no traffic fees, no NAT). */
  ossEndpoint: string;
  /** The bucket's region ID, e.g. cn-shanghai: the scope of the V4 signature. */
  region: string;
  /** The masters' instance RAM role. */
  ramRole: string;
  /** Validated schedule ("1h"). */
  schedule: string;
  localCopies: number;
}

export interface EtcdMember {
  /** Member name = node name (kubeadm names etcd members after the node). */
  name: string;
  ip: string;
}

export interface BackupSchedule {
  seconds: number;
  /** systemd OnCalendar expression. */
  onCalendar: string;
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const BUCKET = /^[a-z0-9][-a-z0-9]{1,61}[a-z0-9]$/;
const HOST = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const IP = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Parses a schedule; throws naming the key. Only periods that tile a day, so OnCalendar can express them. */
export function parseBackupSchedule(schedule: string, key = "platform:etcdBackup.schedule"): BackupSchedule {
  const m = /^(\d+)(m|h)$/.exec(schedule);
  const n = m ? Number(m[1]) : NaN;
  if (m && m[2] === "m" && n >= 15 && n < 60 && 60 % n === 0) return { seconds: n * 60, onCalendar: `*-*-* *:00/${n}:00` };
  if (m && m[2] === "h" && n >= 1 && n <= 24 && 24 % n === 0) {
    return { seconds: n * 3600, onCalendar: n === 24 ? "*-*-* 00:00:00" : `*-*-* 00/${n}:00:00` };
  }
  throw new Error(`${key}: ${JSON.stringify(schedule)} is not a period that divides a day: use 15m, 20m, 30m or 1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h`);
}

/** Problems of a platform:etcdBackup value, each naming its key; empty when valid. */
export function etcdBackupProblems(c: EtcdBackupConfig, key = "platform:etcdBackup"): string[] {
  const problems: string[] = [];
  if (c.schedule !== undefined) {
    try {
      parseBackupSchedule(c.schedule, `${key}.schedule`);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  const int = (field: "retentionDays" | "localCopies", min: number, max: number) => {
    const v = c[field];
    if (v !== undefined && (!Number.isInteger(v) || v < min || v > max))
      problems.push(`${key}.${field}: must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  };
  int("retentionDays", 1, 365);
  int("localCopies", 1, 48);
  return problems;
}

function validate(s: EtcdBackupSettings): void {
  if (!NAME.test(s.clusterName)) throw new Error(`etcd backup: clusterName ${JSON.stringify(s.clusterName)} is not a DNS label`);
  if (!BUCKET.test(s.bucket)) throw new Error(`etcd backup: bucket ${JSON.stringify(s.bucket)} is not an OSS bucket name`);
  if (!HOST.test(s.ossEndpoint)) throw new Error(`etcd backup: ossEndpoint ${JSON.stringify(s.ossEndpoint)} is not a host name`);
  if (!/^[a-z]{2}-[a-z0-9-]+$/.test(s.region)) throw new Error(`etcd backup: region ${JSON.stringify(s.region)} is not a region ID like cn-shanghai`);
  if (!/^[A-Za-z0-9.-]{1,64}$/.test(s.ramRole)) throw new Error(`etcd backup: ramRole ${JSON.stringify(s.ramRole)} is not a RAM role name`);
  parseBackupSchedule(s.schedule);
  const problems = etcdBackupProblems({ localCopies: s.localCopies });
  if (problems.length > 0) throw new Error(problems[0]);
}

/** The object key prefix of a cluster's snapshots: the only place its masters may write. */
export function backupPrefix(clusterName: string): string {
  return `${clusterName}/`;
}

/** The backup script. Every setting is a default the environment may override (the tests do). */
export function etcdBackupScript(s: EtcdBackupSettings): string {
  validate(s);
  return renderScript(path.join(SCRIPTS, "etcd-backup.sh"), {
    CLUSTER: s.clusterName,
    NODE_NAME: shellExpression("$(hostname)"),
    ETCD_ENDPOINT: `https://127.0.0.1:${ETCD_CLIENT_PORT}`,
    ETCD_PKI_DIR,
    ETCD_TOOLS_DIR,
    CRICTL: "crictl",
    CRI_ENDPOINT: CRI_SOCKET,
    CONTAINERD_TASKS,
    BACKUP_DIR: ETCD_BACKUP_DIR,
    LOCAL_COPIES: s.localCopies,
    TEXTFILE_DIR: TEXTFILE_COLLECTOR_DIR,
    OSS_BUCKET: s.bucket,
    OSS_URL: `https://${s.bucket}.${s.ossEndpoint}`,
    OSS_REGION: s.region,
    METADATA_URL: `http://${METADATA_ADDRESS}`,
    RAM_ROLE: s.ramRole,
  });
}

export interface RestoreOptions {
  /** etcd client port (default ETCD_CLIENT_PORT) and peer port (default ETCD_PEER_PORT); the tests move them off the defaults. */
  clientPort?: number;
  peerPort?: number;
}

/**
 * The restore script of master `self` (its member name and peer URL are baked in; the
 * initial cluster lists every master). Run its steps in order, each on every master
 * before the next: stop, restore <snapshot>, start-etcd, wait-etcd, start.
 */
export function etcdRestoreScript(clusterName: string, members: EtcdMember[], self: number, opts: RestoreOptions = {}): string {
  if (!NAME.test(clusterName)) throw new Error(`etcd restore: clusterName ${JSON.stringify(clusterName)} is not a DNS label`);
  if (members.length === 0 || members.length % 2 !== 1) throw new Error(`etcd restore: needs an odd number of members, got ${members.length}`);
  for (const m of members) {
    if (!NAME.test(m.name) || !IP.test(m.ip)) throw new Error(`etcd restore: member ${JSON.stringify(m)} needs a DNS-label name and an IPv4 address`);
  }
  if (!Number.isInteger(self) || self < 0 || self >= members.length) throw new Error(`etcd restore: self ${self} is not a member index`);
  const peer = opts.peerPort ?? ETCD_PEER_PORT;
  const client = opts.clientPort ?? ETCD_CLIENT_PORT;
  const me = members[self];
  const initialCluster = members.map((m) => `${m.name}=https://${m.ip}:${peer}`).join(",");
  const endpoints = members.map((m) => `https://${m.ip}:${client}`).join(",");
  return renderScript(path.join(SCRIPTS, "etcd-restore.sh"), {
    CLUSTER: clusterName,
    MEMBER_NAME: me.name,
    MEMBER_PEER_URL: `https://${me.ip}:${peer}`,
    INITIAL_CLUSTER: initialCluster,
    ETCD_ENDPOINTS: endpoints,
    ETCD_PKI_DIR,
    DATA_DIR: ETCD_DATA_DIR,
    MANIFESTS_DIR: STATIC_POD_DIR,
    PARKED_DIR: PARKED_MANIFESTS_DIR,
    ETCD_TOOLS_DIR,
    CRICTL: "crictl",
    WAIT_SECONDS: 300,
  });
}

export interface UnitOptions {
  /** Script the service runs; default ETCD_BACKUP_SCRIPT_PATH (tests point it at a temp copy). */
  scriptPath?: string;
  /** Static pod manifest whose presence means "etcd runs here"; default STATIC_POD_DIR/etcd.yaml. */
  etcdManifest?: string;
}

/** etcd-backup.service and etcd-backup.timer. */
export function etcdBackupUnits(schedule: string, opts: UnitOptions = {}): { service: string; timer: string } {
  const { seconds, onCalendar } = parseBackupSchedule(schedule);
  // The unit's Slice=: the script reads the role's credentials from the metadata service, which on a master
  // only METADATA_SLICE's services reach (bootstrapUnits.ts).
  const service = renderUnit(path.join(SCRIPTS, "etcd-backup.service"), {
    ConditionPathExists: opts.etcdManifest ?? `${STATIC_POD_DIR}/etcd.yaml`,
    ExecStart: opts.scriptPath ?? ETCD_BACKUP_SCRIPT_PATH,
  });
  // Spread the masters' snapshots a little; a tenth of the period, at most 5 minutes.
  const timer = renderUnit(path.join(SCRIPTS, "etcd-backup.timer"), {
    Description: `etcd snapshot every ${schedule}`,
    OnCalendar: onCalendar,
    RandomizedDelaySec: Math.min(300, Math.floor(seconds / 10)),
  });
  return { service, timer };
}
