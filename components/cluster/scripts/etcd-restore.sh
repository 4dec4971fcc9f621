#!/usr/bin/env bash
# etcd-restore: restores this master's etcd member from a snapshot (MEMBER_NAME below).
# Rendered by Pulumi. Run each step on every master before the next step (docs/runbooks/certificates-and-backups.md, etcd restore):
#   1. stop          park the api-server, controller-manager, scheduler, then etcd
#   2. restore SNAP  the same snapshot file on every master (the old data dir is moved aside)
#   3. start-etcd    give etcd's manifest back to the kubelet
#   4. wait-etcd     until every member is healthy
#   5. start         give the control plane's manifests back
set -euo pipefail
umask 077

# @variables
# etcd's own tools of the cluster's version, which the backup timer copies out of the running etcd
# container (etcd-backup.sh, etcd_tools).
ETCDCTL="$ETCD_TOOLS_DIR/etcdctl"
ETCDUTL="$ETCD_TOOLS_DIR/etcdutl"
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
      [ -z "$("$CRICTL" ps -q --name "^$c\$" 2>/dev/null)" ] && break
      sleep 5
    done
  done
}

cmd=${1:-}
case "$cmd" in
  stop)
    park "${CONTROL_PLANE[@]}"
    wait_stopped "${CONTROL_PLANE[@]}"
    park etcd
    wait_stopped etcd
    ;;
  restore)
    snapshot=${2:?usage: $0 restore SNAPSHOT [CLUSTER_TOKEN]}
    token=${3:-$CLUSTER-etcd-restored}
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
    if [ ! -x "$ETCDUTL" ]; then
      log "no etcdutl at $ETCDUTL: run etcd-backup.sh once while etcd runs (it copies etcd's tools there), or put the etcdutl of the cluster's etcd version there"
      exit 1
    fi
    # etcdutl of the cluster's etcd version (3.6 dropped 'etcdctl snapshot restore'). The revision
    # jumps by 1e9 and the old revisions are marked compacted, so every watcher (the api-servers'
    # caches, informers) relists instead of missing the history the restore rewound.
    "$ETCDUTL" snapshot restore "$snapshot" --name "$MEMBER_NAME" --initial-cluster "$INITIAL_CLUSTER" --initial-cluster-token "$token" \
      --initial-advertise-peer-urls "$MEMBER_PEER_URL" --data-dir "$DATA_DIR" --bump-revision 1000000000 --mark-compacted
    chmod 0700 "$DATA_DIR"
    # The owner the bootstrap gave the data dir (CIS 1.1.12), when the master has the account.
    if getent passwd etcd >/dev/null; then chown etcd:etcd "$DATA_DIR"; fi
    log "restored $snapshot into $DATA_DIR as $MEMBER_NAME"
    ;;
  start-etcd)
    unpark etcd
    ;;
  wait-etcd)
    for ((i = 0; i < WAIT_SECONDS; i += 5)); do
      if "$ETCDCTL" --endpoints "$ETCD_ENDPOINTS" --dial-timeout 5s \
        --cacert "$ETCD_PKI_DIR/ca.crt" --cert "$ETCD_PKI_DIR/healthcheck-client.crt" --key "$ETCD_PKI_DIR/healthcheck-client.key" \
        endpoint health; then
        exit 0
      fi
      sleep 5
    done
    log "etcd is not healthy after ${WAIT_SECONDS}s"
    exit 1
    ;;
  start)
    unpark "${CONTROL_PLANE[@]}"
    ;;
  *)
    sed -n '2,10p' "$0" >&2
    exit 2
    ;;
esac
