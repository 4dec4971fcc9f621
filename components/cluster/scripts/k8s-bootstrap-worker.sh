# shellcheck shell=bash
# The worker's part of k8s-bootstrap.sh (appended to it): wait for the api-server, read the current
# join token, join.

# /readyz is readable anonymously; -k because trust comes from the pinned CA hash in the join config.
api_ready() {
  curl -ksf --max-time 5 -o /dev/null "https://${API_ENDPOINT}/readyz"
}
echo "k8s-bootstrap: waiting for https://${API_ENDPOINT}/readyz"
retry 180 10 api_ready

# kms_token: the current worker join token from the KMS secret the masters keep it in
# (k8s-worker-token.timer, workerToken.ts), with this worker's instance role; "<token> <expires>".
# Exit 3: the secret does not exist yet (a new cluster, before the masters' first run).
kms_token() {
  local token creds
  token=$(curl -fsS --max-time 5 -X PUT -H 'X-aliyun-ecs-metadata-token-ttl-seconds: 300' "$METADATA_URL/latest/api/token") || return 1
  creds=$(curl -fsS --max-time 5 -H "X-aliyun-ecs-metadata-token: $token" "$METADATA_URL/latest/meta-data/ram/security-credentials/$RAM_ROLE") || return 1
  STS_CREDS=$creds python3 - "$KMS_URL" "$TOKEN_SECRET" get <<'PY'
# @include kms-join-token.py
PY
}

# Every attempt reads the token anew: one that expired or was cleaned up while this worker waited
# is replaced by the masters within 15 minutes. The token never reaches the log.
join_cluster() {
  local current
  if ! current=$(kms_token); then
    echo "k8s-bootstrap: no worker join token in $TOKEN_SECRET yet"
    return 1
  fi
  sed "s/JOIN-TOKEN-MINTED-AT-BOOT/${current%% *}/" "$JOIN_CONFIG" >"$JOIN_CONFIG.run"
  if kubeadm join --config "$JOIN_CONFIG.run"; then
    rm -f "$JOIN_CONFIG.run"
    return 0
  fi
  rm -f "$JOIN_CONFIG.run"
  reset_node
  return 1
}
retry "$JOIN_TRIES" 30 join_cluster
mark_done
