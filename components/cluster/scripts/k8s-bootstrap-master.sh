# shellcheck shell=bash
# A master's part of k8s-bootstrap.sh (appended to it): stage the shared PKI from the secret
# store, then init the cluster (master 0, when no cluster answers) or join it as a control plane.

# Pull control-plane images up front, with retries: a slow mirror should not fail kubeadm.
retry 5 20 kubeadm config images pull --kubernetes-version "v${K8S_VERSION}" --cri-socket unix:///run/containerd/containerd.sock ${IMAGE_REPO:+--image-repository "$IMAGE_REPO"}

readonly PKI_DIR="$K8S_DIR/pki"

# CIS 1.1.12: etcd's data directory belongs to a system account etcd:etcd, 0700 (etcd runs as root in
# its static pod and keeps using it; kubeadm and etcd leave an existing directory's owner alone).
getent passwd etcd >/dev/null || useradd --system --user-group --no-create-home --home-dir "$ETCD_DATA_DIR" --shell /usr/sbin/nologin etcd
install -d -m 0700 "$ETCD_DATA_DIR"
chown etcd:etcd "$ETCD_DATA_DIR"

# kms_fetch: the shared control-plane PKI from the secret store into pki/ (the keys 0600).
kms_fetch() {
  local token creds
  token=$(curl -fsS --max-time 5 -X PUT -H 'X-aliyun-ecs-metadata-token-ttl-seconds: 300' "$METADATA_URL/latest/api/token") || return 1
  # The role is attached right after the instance is created; until then this fails and is retried.
  creds=$(curl -fsS --max-time 5 -H "X-aliyun-ecs-metadata-token: $token" "$METADATA_URL/latest/meta-data/ram/security-credentials/$RAM_ROLE") || return 1
  install -d -m 0700 "$PKI_DIR" "$PKI_DIR/etcd" || return 1
  STS_CREDS=$creds python3 - "$KMS_URL" "$SECRET_NAME" "$PKI_DIR" <<'PY'
# @include kms-client.py
PY
}

# answers <host:port>: a cluster signed by this CA answers /readyz there.
answers() {
  curl -sf --max-time 5 --cacert "$CA_CERT" -o /dev/null "https://$1/readyz"
}

# cluster_exists: through the front, or at any other master directly (a front that lost its
# backends must not make a live cluster look absent).
cluster_exists() {
  local peer
  if answers "$API_ENDPOINT"; then
    return 0
  fi
  for peer in $PEERS; do
    if answers "$peer"; then
      return 0
    fi
  done
  return 1
}

# A 1 h admin credential signed with the staged CA, for the token and the join order; never logged.
# ETCD_CLIENT_DIR: a 1-day etcd client certificate (remove_predecessor), in a root-only temp dir removed on exit.
ADMIN_KUBECONFIG="$STATE_DIR/bootstrap-admin.conf"
ETCD_CLIENT_DIR=""
trap 'rm -f "$ADMIN_KUBECONFIG" "$JOIN_CONFIG.run"; [ -z "$ETCD_CLIENT_DIR" ] || rm -rf "$ETCD_CLIENT_DIR"' EXIT
mint_admin() {
  kubeadm kubeconfig user --config "$INIT_CONFIG" --client-name "k8s-bootstrap:$NODE_NAME" --org kubeadm:cluster-admins --validity-period 1h >"$ADMIN_KUBECONFIG"
}

previous_ready() {
  [ "$(kubectl --kubeconfig "$ADMIN_KUBECONFIG" get node "$PREVIOUS_MASTER" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = "True" ]
}

# etcd_api <peer ip> <method> <json>: etcd's JSON gateway (on by default, --enable-grpc-gateway) of a peer,
# with the client certificate remove_predecessor minted; etcd accepts any client certificate of its CA.
etcd_api() {
  curl -fsS --max-time 10 --cacert "$PKI_DIR/etcd/ca.crt" --cert "$ETCD_CLIENT_DIR/client.crt" --key "$ETCD_CLIENT_DIR/client.key" \
    -X POST -d "$3" "https://$1:$ETCD_CLIENT_PORT/v3/cluster/member/$2"
}

# remove_predecessor: a master re-created under its name and address (a lost VM) finds its dead
# predecessor still a voting etcd member, and etcd refuses to add a member while one of three is
# down ("etcdserver: unhealthy cluster", learner or not). So before joining: take out of etcd
# every member with this master's peer URL or name (the dead one, or a learner a failed join
# added), then the stale Node. The etcd client certificate is signed with the etcd CA from the
# secret store, valid 1 day (`openssl x509 -req -days 1`: OpenSSL 3.0 on Ubuntu 22.04 and Debian 12
# has no hour-granular end date there, -not_after came with 3.4), its key in a 0700 temp dir removed
# on exit, so it lives only as long as the script.
# etcd_healthy <peer ip>: the member has a leader and serves a quorum read (etcd's /health).
etcd_healthy() {
  curl -fsS --max-time 5 --cacert "$PKI_DIR/etcd/ca.crt" --cert "$ETCD_CLIENT_DIR/client.crt" --key "$ETCD_CLIENT_DIR/client.key" \
    "https://$1:$ETCD_CLIENT_PORT/health" | grep -q '"health":"true"'
}

# wait_removal_applied <ids>: every other master's etcd answers /health and its own (local,
# non-linearizable) member list no longer holds the removed IDs, for at most ETCD_SETTLE_TRIES x 2 s.
# kubeadm's check-etcd phase then reads the member list from any of them and asks every listed
# member's status: a member that has not applied the removal yet would hand it the dead one.
# (etcd also refuses a member add until the member asked has been connected to every voting
# member for 5 s, HealthInterval; kubeadm's own learner add retries that for 2 min.)
wait_removal_applied() {
  local ids=$1 try peer ip pending members
  for ((try = 1; try <= ${ETCD_SETTLE_TRIES:-30}; try++)); do
    pending=""
    for peer in $PEERS; do
      ip=${peer%:*}
      if ! etcd_healthy "$ip" || ! members=$(etcd_api "$ip" list '{}') || python3 -c 'import json, sys
ids = set(sys.argv[1].split())
sys.exit(0 if ids & {m["ID"] for m in json.loads(sys.argv[2]).get("members", [])} else 1)' "$ids" "$members"; then
        pending="$pending $ip"
      fi
    done
    if [ -z "$pending" ]; then
      echo "k8s-bootstrap: etcd at $PEERS applied the removal and is healthy"
      return 0
    fi
    echo "k8s-bootstrap: waiting for etcd at$pending to apply the removal and be healthy ($try/${ETCD_SETTLE_TRIES:-30})"
    sleep 2
  done
  echo "k8s-bootstrap: etcd at$pending did not settle after the removal; the join waits for the next attempt"
  return 1
}

remove_predecessor() {
  local peer ip members ids id
  [ -n "$ETCD_CLIENT_DIR" ] || ETCD_CLIENT_DIR=$(mktemp -d) || return 1
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=k8s-bootstrap:$NODE_NAME" \
    -keyout "$ETCD_CLIENT_DIR/client.key" -out "$ETCD_CLIENT_DIR/client.csr" 2>/dev/null || return 1
  printf 'extendedKeyUsage=clientAuth\n' >"$ETCD_CLIENT_DIR/ext"
  openssl x509 -req -in "$ETCD_CLIENT_DIR/client.csr" -CA "$PKI_DIR/etcd/ca.crt" -CAkey "$PKI_DIR/etcd/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 1 -extfile "$ETCD_CLIENT_DIR/ext" -out "$ETCD_CLIENT_DIR/client.crt" 2>/dev/null || return 1
  for peer in $PEERS; do
    ip=${peer%:*}
    members=$(etcd_api "$ip" list '{}') || continue
    ids=$(python3 -c 'import json, sys
for m in json.loads(sys.argv[1]).get("members", []):
    if m.get("name") == sys.argv[2] or sys.argv[3] in m.get("peerURLs", []):
        print(m["ID"])' "$members" "$NODE_NAME" "https://$NODE_IP:$ETCD_PEER_PORT") || return 1
    for id in $ids; do
      echo "k8s-bootstrap: removing etcd member $id (this name or peer URL)"
      etcd_api "$ip" remove "{\"ID\":\"$id\"}" >/dev/null || return 1
    done
    if [ -n "$ids" ]; then
      wait_removal_applied "$ids" || return 1
    fi
    kubectl --kubeconfig "$ADMIN_KUBECONFIG" delete node "$NODE_NAME" --ignore-not-found || return 1
    return 0
  done
  echo "k8s-bootstrap: no etcd answers at $PEERS"
  return 1
}

join_control_plane() {
  local token
  kms_fetch || return 1
  mint_admin || return 1
  # The dead predecessor goes first: it only takes out this master's own name or peer URL, and while
  # it is listed etcd refuses every member add (mayAddMember checks all voting members), the
  # previous master's too: waiting for that one first would deadlock two masters lost at once.
  remove_predecessor || return 1
  # One learner at a time (etcd): master-i joins once master-(i-1) is Ready.
  if [ -n "$PREVIOUS_MASTER" ] && ! previous_ready; then
    echo "k8s-bootstrap: waiting for $PREVIOUS_MASTER to be Ready before joining"
    return 1
  fi
  token=$(kubeadm token create --kubeconfig "$ADMIN_KUBECONFIG" --ttl 1h --description "k8s-bootstrap join of $NODE_NAME") || return 1
  sed "s/JOIN-TOKEN-MINTED-AT-BOOT/$token/" "$JOIN_CONFIG" >"$JOIN_CONFIG.run"
  if kubeadm join --config "$JOIN_CONFIG.run"; then
    # Used once: delete it rather than leave it valid for the rest of its hour (a failure here is only logged).
    kubeadm token delete --kubeconfig "$ADMIN_KUBECONFIG" "${token%%.*}" >/dev/null || echo "k8s-bootstrap: could not delete join token ${token%%.*}; it expires within 1 h"
    return 0
  fi
  reset_node
  return 1
}

init_control_plane() {
  kms_fetch || return 1
  if kubeadm init --config "$INIT_CONFIG" --skip-token-print --skip-certificate-key-print; then
    return 0
  fi
  reset_node
  return 1
}

# join_secret_state: whether this cluster was ever initialised, from the workers' join-token secret
# JOIN_SECRET (<cluster>-worker-join, workerToken.ts), which the masters' k8s-worker-token timer creates
# minutes after the first init and nothing but an operator deletes. Exit 0: it exists (a cluster
# existed: never init again); 3: KMS says it does not exist; anything else: unknown. The token is
# read and dropped, never printed.
join_secret_state() {
  local token creds
  token=$(curl -fsS --max-time 5 -X PUT -H 'X-aliyun-ecs-metadata-token-ttl-seconds: 300' "$METADATA_URL/latest/api/token") || return 1
  creds=$(curl -fsS --max-time 5 -H "X-aliyun-ecs-metadata-token: $token" "$METADATA_URL/latest/meta-data/ram/security-credentials/$RAM_ROLE") || return 1
  STS_CREDS=$creds python3 - "$KMS_URL" "$JOIN_SECRET" get >/dev/null <<'PY'
# @include kms-join-token.py
PY
}

join_when_answering() {
  cluster_exists && join_control_plane
}

retry 30 10 kms_fetch
# A cluster that does not answer once may be restarting, or its front may be re-created: probe for
# CLUSTER_PROBES x 10 s (3 min) before deciding anything.
if retry "$CLUSTER_PROBES" 10 cluster_exists; then
  echo "k8s-bootstrap: a cluster with this CA answers; joining it"
  retry "$JOIN_TRIES" 30 join_control_plane
elif [ "$MASTER_INDEX" != 0 ]; then
  echo "k8s-bootstrap: no cluster answers yet; master $MASTER_INDEX only joins" >&2
  exit 1
else
  # Master-0 inits only a cluster that provably never existed: a second `kubeadm init` with the same
  # CA would start a one-member etcd that the front's /readyz admits beside the real one.
  state=0
  join_secret_state || state=$?
  case "$state" in
    3)
      echo "k8s-bootstrap: no cluster answers at $API_ENDPOINT or the other masters and $JOIN_SECRET does not exist; initialising"
      retry 3 30 init_control_plane
      # The workers' join token and with it the "initialised" marker, now rather than at the timer's next run.
      systemctl start --no-block "$WORKER_TOKEN_UNIT" || true
      ;;
    0)
      echo "k8s-bootstrap: no cluster answers, but $JOIN_SECRET exists: this cluster was initialised before and master-0 never initialises again; probing to join (a stack destroyed and re-created under the same name: delete $JOIN_SECRET, docs/runbooks/replace-a-node.md)"
      retry "$JOIN_TRIES" 30 join_when_answering
      ;;
    *)
      echo "k8s-bootstrap: no cluster answers and $JOIN_SECRET cannot be read (exit $state): master-0 does not initialise without proof that no cluster existed; the unit retries" >&2
      exit 1
      ;;
  esac
fi
install -d -m 0700 "$ROOT/root/.kube"
install -m 0600 "$K8S_DIR/admin.conf" "$ROOT/root/.kube/config"
mark_done
