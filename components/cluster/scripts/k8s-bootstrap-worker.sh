# shellcheck shell=bash
# The worker's part of k8s-bootstrap.sh (appended to it): wait for the api-server, join.

# /readyz is readable anonymously; -k because trust comes from the pinned CA hash in the join config.
api_ready() {
  curl -ksf --max-time 5 -o /dev/null "https://${API_ENDPOINT}/readyz"
}
echo "k8s-bootstrap: waiting for https://${API_ENDPOINT}/readyz"
retry 180 10 api_ready

# The token Secret is created by the program once the control plane is ready; until then joins fail and are retried.
join_cluster() {
  if kubeadm join --config "$JOIN_CONFIG"; then
    return 0
  fi
  reset_node
  return 1
}
retry "$JOIN_TRIES" 30 join_cluster
mark_done
