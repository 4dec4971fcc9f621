#!/usr/bin/env bash
# k8s-worker-token: keeps a valid worker join token in the KMS secret the workers read at boot
# (workerToken.ts). Every master runs it from a timer; when the stored token expires within
# REFRESH_HOURS, or its bootstrap-token Secret is gone (the tokencleaner deleted it), it mints a
# new one with `kubeadm token create --ttl TTL_HOURS` and stores it as the secret's new version.
# Tokens only ever exist as kubeadm's own expiring Secrets: the program manages none, so nothing
# drifts when they expire. A stored token replaces the previous one, which is then deleted; a master
# that cannot store its token (two racing to create the secret: the loser) deletes the one it minted.
set -euo pipefail
umask 077

# @variables
export KMS_INSTANCE_ID KMS_KEY_ID

log() { echo "k8s-worker-token: $*" >&2; }

kms() {
  local token creds
  token=$(curl -fsS --max-time 5 -X PUT -H 'X-aliyun-ecs-metadata-token-ttl-seconds: 300' "$METADATA_URL/latest/api/token") || return 1
  creds=$(curl -fsS --max-time 5 -H "X-aliyun-ecs-metadata-token: $token" "$METADATA_URL/latest/meta-data/ram/security-credentials/$RAM_ROLE") || return 1
  STS_CREDS=$creds python3 - "$KMS_URL" "$SECRET_NAME" "$@" <<'PY'
# @include kms-join-token.py
PY
}

now=$(date -u +%s)
rc=0
current=$(kms get) || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
  log "cannot read $SECRET_NAME (exit $rc)"
  exit 1
fi
if [ -n "$current" ]; then
  id=${current%%.*}
  expires=${current##* }
  if (($(date -u -d "$expires" +%s) - now > REFRESH_HOURS * 3600)) &&
    kubectl --kubeconfig "$KUBECONFIG_FILE" -n kube-system get secret "bootstrap-token-$id" -o name >/dev/null 2>&1; then
    log "token $id is valid until $expires; nothing to do"
    exit 0
  fi
fi
JOIN_TOKEN=$(kubeadm token create --kubeconfig "$KUBECONFIG_FILE" --ttl "${TTL_HOURS}h" --description "worker joins (k8s-worker-token on $(hostname))")
JOIN_TOKEN_EXPIRES=$(date -u -d "@$((now + TTL_HOURS * 3600))" +%Y-%m-%dT%H:%M:%SZ)
export JOIN_TOKEN JOIN_TOKEN_EXPIRES
# delete_token <id>: a token no worker will read any more; a failure (already gone) is only logged.
delete_token() {
  if kubeadm token delete --kubeconfig "$KUBECONFIG_FILE" "$1" >/dev/null 2>&1; then
    log "deleted token $1"
  else
    log "could not delete token $1 (gone already, or it expires on its own)"
  fi
}
if ! kms put; then
  # Not stored (KMS refused, or another master created the secret first): nobody will use this token.
  delete_token "${JOIN_TOKEN%%.*}"
  log "could not store the new token in $SECRET_NAME; the next run retries"
  exit 1
fi
log "stored token ${JOIN_TOKEN%%.*} (expires $JOIN_TOKEN_EXPIRES) in $SECRET_NAME"
# The token it superseded would stay valid up to REFRESH_HOURS more: delete it now.
if [ -n "$current" ] && [ "${current%%.*}" != "${JOIN_TOKEN%%.*}" ]; then
  delete_token "${current%%.*}"
fi
