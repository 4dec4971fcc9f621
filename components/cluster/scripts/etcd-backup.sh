#!/usr/bin/env bash
# etcd-backup: snapshot of this master's etcd member, kept locally and uploaded to the stack's
# OSS bucket (oss://$OSS_BUCKET/$CLUSTER/). Rendered by etcdBackup.ts with the settings below.
set -euo pipefail
umask 077

# @variables
ETCDCTL="$ETCD_TOOLS_DIR/etcdctl"
ETCDUTL="$ETCD_TOOLS_DIR/etcdutl"

log() { echo "etcd-backup: $*" >&2; }

# etcd_tools: etcdctl and etcdutl of the version the cluster runs, copied out of the running etcd
# container (kubeadm's etcd image ships both in /usr/local/bin) into ETCD_TOOLS_DIR, again whenever
# they differ (after an etcd upgrade). Ubuntu's etcd-client is 3.3 and etcd 3.6 dropped
# `etcdctl snapshot status/restore`. The restore uses these copies, as etcd is stopped by then.
etcd_tools() {
  local id bin t
  id=$("$CRICTL" --runtime-endpoint "$CRI_ENDPOINT" ps -q --name '^etcd$' 2>/dev/null | head -n 1) || id=""
  bin="$CONTAINERD_TASKS/$id/rootfs/usr/local/bin"
  for t in etcdctl etcdutl; do
    if [ -n "$id" ] && [ -x "$bin/$t" ] && ! cmp -s "$bin/$t" "$ETCD_TOOLS_DIR/$t"; then
      install -D -m 0755 "$bin/$t" "$ETCD_TOOLS_DIR/.$t"
      mv -f "$ETCD_TOOLS_DIR/.$t" "$ETCD_TOOLS_DIR/$t"
      log "copied $t out of etcd's container"
    fi
    [ -x "$ETCD_TOOLS_DIR/$t" ] || { log "no $t in $ETCD_TOOLS_DIR and no etcd container ($id) to copy it from"; return 1; }
  done
}

etcdctl_tls() {
  "$ETCDCTL" --endpoints "$ETCD_ENDPOINT" --dial-timeout 10s \
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

# upload <file> <object key> <revision> <hash>: one PUT signed with OSS Signature V4 and the
# role's STS credentials. V1 ("OSS <id>:<sig>") is no longer available for buckets created from
# 2025-09-01 (Alibaba, "Notice on the discontinuation of the OSS V1 signature algorithm",
# en/notice/notice_on_the_discontinuation_of_the_oss_v1_signature_algorithm_40f). V4 as in
# "Include a V4 signature in the Authorization header (recommended)",
# help/en/oss/developer-reference/recommend-to-use-signature-version-4 (last updated 2026-03-20):
# Authorization: OSS4-HMAC-SHA256 Credential=<id>/<yyyymmdd>/<region>/oss/aliyun_v4_request,
# Signature=<64 hex>, built in three steps (canonical request, string to sign, derived key). The
# field-by-field layout below matches the SDK signer that page points to (ali-oss 6.23.0
# lib/common/signUtils.js getCanonicalRequest/getStringToSign/getSignatureV4), which the tests'
# OSS stub uses to check this script's requests.
upload() {
  local file=$1 key=$2 token creds headers
  token=$(curl -fsS --max-time 5 -X PUT -H 'X-aliyun-ecs-metadata-token-ttl-seconds: 300' "$METADATA_URL/latest/api/token")
  creds=$(curl -fsS --max-time 5 -H "X-aliyun-ecs-metadata-token: $token" "$METADATA_URL/latest/meta-data/ram/security-credentials/$RAM_ROLE")
  headers="$BACKUP_DIR/.headers.$$"
  OSS_CREDS=$creds python3 - "$file" "$OSS_BUCKET" "$key" "$3" "$4" "$OSS_REGION" >"$headers" <<'PY'
import base64, hashlib, hmac, json, os, sys, time, urllib.parse
path, bucket, key, revision, db_hash, region = sys.argv[1:7]
creds = json.loads(os.environ["OSS_CREDS"])
md5 = hashlib.md5()
with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        md5.update(chunk)
now = time.gmtime()
stamp = time.strftime("%Y%m%dT%H%M%SZ", now)
day = stamp[:8]
# Signed by default: Content-MD5, Content-Type and every x-oss-* header (no AdditionalHeaders).
signed = {
    "content-md5": base64.b64encode(md5.digest()).decode(),
    "content-type": "application/octet-stream",
    "x-oss-content-sha256": "UNSIGNED-PAYLOAD",
    "x-oss-date": stamp,
    "x-oss-meta-etcd-hash": db_hash,
    "x-oss-meta-etcd-revision": revision,
    "x-oss-security-token": creds["SecurityToken"],
}
# Canonical request: verb, URI-encoded /<bucket>/<key> with "/" kept, the (empty) query, the
# signed headers "name:value\n" sorted, the (empty) additional-headers line, the payload hash.
canonical = "\n".join([
    "PUT",
    urllib.parse.quote(f"/{bucket}/{key}", safe="/-_.~"),
    "",
    "".join(f"{k}:{signed[k]}\n" for k in sorted(signed)),
    "",
    signed["x-oss-content-sha256"],
])
scope = f"{day}/{region}/oss/aliyun_v4_request"
to_sign = "\n".join(["OSS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
k = ("aliyun_v4" + creds["AccessKeySecret"]).encode()
for part in (day, region, "oss", "aliyun_v4_request"):
    k = hmac.new(k, part.encode(), hashlib.sha256).digest()
sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
print(f"Authorization: OSS4-HMAC-SHA256 Credential={creds['AccessKeyId']}/{scope},Signature={sig}")
for name in sorted(signed):
    print(f"{name}: {signed[name]}")
PY
  curl -fsS --max-time 900 --retry 3 -H @"$headers" -T "$file" "$OSS_URL/$key" >/dev/null
  rm -f "$headers"
}

write_metric() {
  local f="$TEXTFILE_DIR/etcd_backup.prom"
  install -d -m 0755 "$TEXTFILE_DIR"
  cat >"$f.$$" <<EOF
# HELP platform_etcd_backup_last_success_timestamp_seconds When this master last saved, verified and uploaded an etcd snapshot.
# TYPE platform_etcd_backup_last_success_timestamp_seconds gauge
platform_etcd_backup_last_success_timestamp_seconds $(date +%s)
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

etcd_tools
etcdctl_tls snapshot save "$part" >&2
verify "$part"
status=$("$ETCDUTL" snapshot status "$part" -w json)
revision=$(status_field "$status" revision)
hash=$(status_field "$status" hash)
if [ "$(status_field "$status" totalKey)" -lt 1 ]; then
  log "snapshot has no keys; refusing to keep it"
  exit 1
fi
mv "$part" "$BACKUP_DIR/$name"
log "saved $BACKUP_DIR/$name (revision $revision, hash $hash)"

# Local retention: the newest LOCAL_COPIES of this node's snapshots (names sort by time).
find "$BACKUP_DIR" -maxdepth 1 -name "etcd-$NODE_NAME-*.db" -printf '%f\n' | sort -r | tail -n +"$((LOCAL_COPIES + 1))" |
  while read -r old; do rm -f "$BACKUP_DIR/$old"; done

upload "$BACKUP_DIR/$name" "$key" "$revision" "$hash"
log "uploaded oss://$OSS_BUCKET/$key"
write_metric "$(stat -c %s "$BACKUP_DIR/$name")"
