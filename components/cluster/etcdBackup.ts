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
// Python). python3 reads the metadata service's JSON and computes the OSS V1
// signature (Authorization: "OSS " + AccessKeyId + ":" + base64(hmac-sha1(secret,
// VERB\nContent-MD5\nContent-Type\nDate\nCanonicalizedOSSHeaders CanonicalizedResource)),
// with the STS token in x-oss-security-token), as documented in
// https://www.alibabacloud.com/help/en/oss/developer-reference/include-signatures-in-the-authorization-header.
// The STS credentials of the instance RAM role come from
// http://100.100.100.200/latest/meta-data/ram/security-credentials/<role> (ECS "instance
// RAM roles"), after getting a metadata token (PUT /latest/api/token), which works in
// both the normal and the hardened metadata mode. Secrets never appear on a command
// line: the HMAC key goes through the environment, the headers through a 0600 file.
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT } from "../network/ports";

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
export const STATIC_POD_DIR = "/etc/kubernetes/manifests";
/** Where the restore parks static pod manifests; outside the kubelet's manifest directory. */
export const PARKED_MANIFESTS_DIR = "/etc/kubernetes/manifests-parked";
/** The metric the backup script writes on success. */
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
  return `#!/usr/bin/env bash
# etcd-backup: snapshot of this master's etcd member of cluster ${s.clusterName}, kept locally
# and uploaded to oss://${s.bucket}/${backupPrefix(s.clusterName)}. Rendered by Pulumi.
set -euo pipefail
umask 077

: "\${CLUSTER:=${s.clusterName}}"
: "\${NODE_NAME:=$(hostname)}"
: "\${ETCD_ENDPOINT:=https://127.0.0.1:${ETCD_CLIENT_PORT}}"
: "\${ETCD_PKI_DIR:=${ETCD_PKI_DIR}}"
: "\${ETCDCTL:=etcdctl}"
: "\${BACKUP_DIR:=${ETCD_BACKUP_DIR}}"
: "\${LOCAL_COPIES:=${s.localCopies}}"
: "\${TEXTFILE_DIR:=${TEXTFILE_COLLECTOR_DIR}}"
: "\${OSS_BUCKET:=${s.bucket}}"
: "\${OSS_URL:=https://${s.bucket}.${s.ossEndpoint}}"
: "\${METADATA_URL:=http://100.100.100.200}"
: "\${RAM_ROLE:=${s.ramRole}}"
# etcd-client 3.3 (Ubuntu 22.04) still defaults to the v2 API.
export ETCDCTL_API=3

log() { echo "etcd-backup: $*" >&2; }

etcdctl_tls() {
  "$ETCDCTL" --endpoints "$ETCD_ENDPOINT" --dial-timeout 10s \\
    --cacert "$ETCD_PKI_DIR/ca.crt" --cert "$ETCD_PKI_DIR/healthcheck-client.crt" --key "$ETCD_PKI_DIR/healthcheck-client.key" "$@"
}

# verify <file>: the server appends a sha256 of the database to a snapshot (etcd's own
# restore checks it the same way: size mod 512 == 32); then the status must show keys.
verify() {
  python3 - "$1" <<'PY'
import hashlib, os, sys
path = sys.argv[1]
size = os.path.getsize(path)
if size % 512 != 32:
    sys.exit(f"{path}: no sha256 trailer (size {size}); not a complete etcd snapshot")
h = hashlib.sha256()
with open(path, "rb") as f:
    left = size - 32
    while left > 0:
        chunk = f.read(min(left, 1 << 20))
        h.update(chunk)
        left -= len(chunk)
    if h.digest() != f.read(32):
        sys.exit(f"{path}: sha256 trailer does not match the database; corrupt snapshot")
PY
}

# status_field <json> <field>
status_field() {
  python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

# upload <file> <object key> <revision> <hash>: one signed PUT with the role's STS credentials.
upload() {
  local file=$1 key=$2 token creds headers
  token=$(curl -fsS --max-time 5 -X PUT -H 'X-aliyun-ecs-metadata-token-ttl-seconds: 300' "$METADATA_URL/latest/api/token")
  creds=$(curl -fsS --max-time 5 -H "X-aliyun-ecs-metadata-token: $token" "$METADATA_URL/latest/meta-data/ram/security-credentials/$RAM_ROLE")
  headers="$BACKUP_DIR/.headers.$$"
  OSS_CREDS=$creds python3 - "$file" "$OSS_BUCKET" "$key" "$3" "$4" >"$headers" <<'PY'
import base64, email.utils, hashlib, hmac, json, os, sys
path, bucket, key, revision, db_hash = sys.argv[1:6]
creds = json.loads(os.environ["OSS_CREDS"])
md5 = hashlib.md5()
with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        md5.update(chunk)
content_md5 = base64.b64encode(md5.digest()).decode()
content_type = "application/octet-stream"
date = email.utils.formatdate(usegmt=True)
oss = {
    "x-oss-meta-etcd-hash": db_hash,
    "x-oss-meta-etcd-revision": revision,
    "x-oss-security-token": creds["SecurityToken"],
}
canonical = "".join(f"{k}:{oss[k]}\\n" for k in sorted(oss))
to_sign = f"PUT\\n{content_md5}\\n{content_type}\\n{date}\\n{canonical}/{bucket}/{key}"
sig = base64.b64encode(hmac.new(creds["AccessKeySecret"].encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
print(f"Authorization: OSS {creds['AccessKeyId']}:{sig}")
print(f"Content-MD5: {content_md5}")
print(f"Content-Type: {content_type}")
print(f"Date: {date}")
for k in sorted(oss):
    print(f"{k}: {oss[k]}")
PY
  curl -fsS --max-time 900 --retry 3 -H @"$headers" -T "$file" "$OSS_URL/$key" >/dev/null
  rm -f "$headers"
}

write_metric() {
  local f="$TEXTFILE_DIR/etcd_backup.prom"
  install -d -m 0755 "$TEXTFILE_DIR"
  cat >"$f.$$" <<EOF
# HELP ${BACKUP_SUCCESS_METRIC} When this master last saved, verified and uploaded an etcd snapshot.
# TYPE ${BACKUP_SUCCESS_METRIC} gauge
${BACKUP_SUCCESS_METRIC} $(date +%s)
# HELP platform_etcd_backup_last_size_bytes Size of the last uploaded etcd snapshot.
# TYPE platform_etcd_backup_last_size_bytes gauge
platform_etcd_backup_last_size_bytes $1
EOF
  chmod 0644 "$f.$$"
  mv "$f.$$" "$f"
}

stamp=$(date -u +%Y%m%dT%H%M%SZ)
name="etcd-$NODE_NAME-$stamp.db"
key="$CLUSTER/$NODE_NAME/$name"
install -d -m 0700 "$BACKUP_DIR"
part="$BACKUP_DIR/.$name.part"
# The part file, and the headers file with the STS token should an upload fail.
trap 'rm -f "$part" "$BACKUP_DIR/.headers.$$"' EXIT

etcdctl_tls snapshot save "$part" >&2
verify "$part"
status=$(ETCDCTL_API=3 "$ETCDCTL" snapshot status "$part" -w json)
revision=$(status_field "$status" revision)
hash=$(status_field "$status" hash)
if [ "$(status_field "$status" totalKey)" -lt 1 ]; then
  log "snapshot has no keys; refusing to keep it"
  exit 1
fi
mv "$part" "$BACKUP_DIR/$name"
log "saved $BACKUP_DIR/$name (revision $revision, hash $hash)"

# Local retention: the newest LOCAL_COPIES of this node's snapshots (names sort by time).
find "$BACKUP_DIR" -maxdepth 1 -name "etcd-$NODE_NAME-*.db" -printf '%f\\n' | sort -r | tail -n +"$((LOCAL_COPIES + 1))" |
  while read -r old; do rm -f "$BACKUP_DIR/$old"; done

upload "$BACKUP_DIR/$name" "$key" "$revision" "$hash"
log "uploaded oss://$OSS_BUCKET/$key"
write_metric "$(stat -c %s "$BACKUP_DIR/$name")"
`;
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
  return `#!/usr/bin/env bash
# etcd-restore: restores member ${me.name} of cluster ${clusterName}'s etcd from a snapshot.
# Rendered by Pulumi. Run each step on every master before the next step (README, Operations):
#   1. stop          park the api-server, controller-manager, scheduler, then etcd
#   2. restore SNAP  the same snapshot file on every master (the old data dir is moved aside)
#   3. start-etcd    give etcd's manifest back to the kubelet
#   4. wait-etcd     until every member is healthy
#   5. start         give the control plane's manifests back
set -euo pipefail
umask 077

: "\${MEMBER_NAME:=${me.name}}"
: "\${MEMBER_PEER_URL:=https://${me.ip}:${peer}}"
: "\${INITIAL_CLUSTER:=${initialCluster}}"
: "\${ETCD_ENDPOINTS:=${endpoints}}"
: "\${ETCD_PKI_DIR:=${ETCD_PKI_DIR}}"
: "\${DATA_DIR:=${ETCD_DATA_DIR}}"
: "\${MANIFESTS_DIR:=${STATIC_POD_DIR}}"
: "\${PARKED_DIR:=${PARKED_MANIFESTS_DIR}}"
: "\${ETCDCTL:=etcdctl}"
: "\${CRICTL:=crictl}"
: "\${WAIT_SECONDS:=300}"
CONTROL_PLANE=(kube-apiserver kube-controller-manager kube-scheduler)

log() { echo "etcd-restore: $*" >&2; }

# The kubelet stops a static pod when its manifest leaves the directory (it rescans every 20 s).
park() {
  install -d -m 0700 "$PARKED_DIR"
  local c
  for c in "$@"; do
    if [ -f "$MANIFESTS_DIR/$c.yaml" ]; then
      mv "$MANIFESTS_DIR/$c.yaml" "$PARKED_DIR/$c.yaml"
      log "parked $c"
    fi
  done
}

unpark() {
  local c
  for c in "$@"; do
    if [ -f "$PARKED_DIR/$c.yaml" ]; then
      mv "$PARKED_DIR/$c.yaml" "$MANIFESTS_DIR/$c.yaml"
      log "started $c"
    fi
  done
}

# wait_stopped <container...>: until crictl lists none of them running (skipped without crictl).
wait_stopped() {
  command -v "$CRICTL" >/dev/null 2>&1 || return 0
  local c i
  for c in "$@"; do
    for ((i = 0; i < WAIT_SECONDS; i += 5)); do
      [ -z "$("$CRICTL" ps -q --name "^$c\\$" 2>/dev/null)" ] && break
      sleep 5
    done
  done
}

cmd=\${1:-}
case "$cmd" in
  stop)
    park "\${CONTROL_PLANE[@]}"
    wait_stopped "\${CONTROL_PLANE[@]}"
    park etcd
    wait_stopped etcd
    ;;
  restore)
    snapshot=\${2:?usage: $0 restore SNAPSHOT [CLUSTER_TOKEN]}
    token=\${3:-${clusterName}-etcd-restored}
    if [ -f "$MANIFESTS_DIR/etcd.yaml" ]; then
      log "etcd's manifest is still in $MANIFESTS_DIR; run '$0 stop' on every master first"
      exit 1
    fi
    [ -f "$snapshot" ] || { log "no snapshot at $snapshot"; exit 1; }
    if [ -e "$DATA_DIR" ]; then
      aside="$DATA_DIR.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
      mv "$DATA_DIR" "$aside"
      log "moved the old data dir to $aside"
    fi
    flags=(--name "$MEMBER_NAME" --initial-cluster "$INITIAL_CLUSTER" --initial-cluster-token "$token"
      --initial-advertise-peer-urls "$MEMBER_PEER_URL" --data-dir "$DATA_DIR")
    # etcdutl (etcd >= 3.5) is the restore tool; etcd 3.6 dropped 'etcdctl snapshot restore'.
    # Debian's etcd-client 3.4 has only etcdctl. Where etcdutl can bump the revision, it does,
    # so watchers (the api-servers' caches) relist instead of missing the rewound history.
    if [ -n "\${ETCDUTL:-}" ] || command -v etcdutl >/dev/null 2>&1; then
      tool=\${ETCDUTL:-etcdutl}
      if "$tool" snapshot restore --help 2>&1 | grep -q -- --bump-revision; then
        flags+=(--bump-revision 1000000000 --mark-compacted)
      fi
      "$tool" snapshot restore "$snapshot" "\${flags[@]}"
    else
      ETCDCTL_API=3 "$ETCDCTL" snapshot restore "$snapshot" "\${flags[@]}"
    fi
    chmod 0700 "$DATA_DIR"
    log "restored $snapshot into $DATA_DIR as $MEMBER_NAME"
    ;;
  start-etcd)
    unpark etcd
    ;;
  wait-etcd)
    for ((i = 0; i < WAIT_SECONDS; i += 5)); do
      if ETCDCTL_API=3 "$ETCDCTL" --endpoints "$ETCD_ENDPOINTS" --dial-timeout 5s \\
        --cacert "$ETCD_PKI_DIR/ca.crt" --cert "$ETCD_PKI_DIR/healthcheck-client.crt" --key "$ETCD_PKI_DIR/healthcheck-client.key" \\
        endpoint health; then
        exit 0
      fi
      sleep 5
    done
    log "etcd is not healthy after \${WAIT_SECONDS}s"
    exit 1
    ;;
  start)
    unpark "\${CONTROL_PLANE[@]}"
    ;;
  *)
    sed -n '2,10p' "$0" >&2
    exit 2
    ;;
esac
`;
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
  const service = `[Unit]
Description=etcd snapshot, kept locally and uploaded to OSS
After=network-online.target
Wants=network-online.target
# Skipped while a restore has parked etcd's manifest.
ConditionPathExists=${opts.etcdManifest ?? `${STATIC_POD_DIR}/etcd.yaml`}

[Service]
Type=oneshot
ExecStart=${opts.scriptPath ?? ETCD_BACKUP_SCRIPT_PATH}
Nice=10
IOSchedulingClass=idle
TimeoutStartSec=30min
`;
  // Spread the masters' snapshots a little; a tenth of the period, at most 5 minutes.
  const delay = Math.min(300, Math.floor(seconds / 10));
  const timer = `[Unit]
Description=etcd snapshot every ${schedule}

[Timer]
OnCalendar=${onCalendar}
RandomizedDelaySec=${delay}
AccuracySec=1min
Persistent=true

[Install]
WantedBy=timers.target
`;
  return { service, timer };
}
