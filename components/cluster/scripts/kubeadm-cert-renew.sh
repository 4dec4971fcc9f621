#!/usr/bin/env bash
# kubeadm-cert-renew: exports the expiry of this master's kubeadm certificates and renews
# them when one expires within RENEW_BELOW_DAYS days. Rendered by certRenewal.ts.
set -euo pipefail

# The settings, from certRenewal.ts (each a default the environment may override; the tests do).
# KUBELET_RESCAN_SECONDS: the kubelet rescans static pod manifests every 20 s (fileCheckFrequency).
# @variables

log() { echo "kubeadm-cert-renew: $*" >&2; }

# The certificates kubeadm renews: files under pki/ and the client certificates embedded
# in the kubeconfigs. The CAs are listed too, so their (ten-year) expiry is visible.
CERT_FILES=(apiserver apiserver-kubelet-client apiserver-etcd-client front-proxy-client
  etcd/server etcd/peer etcd/healthcheck-client ca front-proxy-ca etcd/ca)
KUBECONFIGS=(admin super-admin controller-manager scheduler)

# expiry_of <pem file>: notAfter as epoch seconds.
expiry_of() {
  date -d "$(openssl x509 -noout -enddate -in "$1" | cut -d= -f2)" +%s
}

# kubeconfig_cert <file> <out>: the embedded client certificate, if any.
kubeconfig_cert() {
  local data
  data=$(sed -n 's/^ *client-certificate-data: *//p' "$1" | head -n 1)
  [ -n "$data" ] && printf '%s' "$data" | base64 -d >"$2"
}

# Writes the metric; prints the soonest expiry.
export_expiry() {
  local tmpf out name soonest="" t pem
  install -d -m 0755 "$TEXTFILE_DIR"
  out="$TEXTFILE_DIR/kubeadm_certs.prom"
  tmpf=$(mktemp "$TEXTFILE_DIR/.kubeadm_certs.XXXXXX")
  pem=$(mktemp)
  {
    echo "# HELP platform_kubeadm_certificate_expiry_timestamp_seconds notAfter of a kubeadm certificate on this master."
    echo "# TYPE platform_kubeadm_certificate_expiry_timestamp_seconds gauge"
    for name in "${CERT_FILES[@]}"; do
      [ -f "$PKI_DIR/$name.crt" ] || continue
      t=$(expiry_of "$PKI_DIR/$name.crt")
      echo "platform_kubeadm_certificate_expiry_timestamp_seconds{cert=\"${name//\//-}\"} $t"
      case "$name" in *ca) ;; *) if [ -z "$soonest" ] || [ "$t" -lt "$soonest" ]; then soonest=$t; fi ;; esac
    done
    for name in "${KUBECONFIGS[@]}"; do
      if ! { [ -f "$KUBECONFIG_DIR/$name.conf" ] && kubeconfig_cert "$KUBECONFIG_DIR/$name.conf" "$pem"; }; then continue; fi
      t=$(expiry_of "$pem")
      echo "platform_kubeadm_certificate_expiry_timestamp_seconds{cert=\"$name.conf\"} $t"
      if [ -z "$soonest" ] || [ "$t" -lt "$soonest" ]; then soonest=$t; fi
    done
  } >"$tmpf"
  rm -f "$pem"
  chmod 0644 "$tmpf"
  mv "$tmpf" "$out"
  echo "${soonest:-0}"
}

ready() { curl -ksf --max-time 5 -o /dev/null "$1"; }

wait_ready() {
  local i
  for ((i = 0; i < WAIT_SECONDS; i += 5)); do
    ready "$LOCAL_READY_URL" && return 0
    sleep 5
  done
  log "api-server not ready after ${WAIT_SECONDS}s"
  return 1
}

# restart <component>: manifest out, wait for the container to stop, manifest back.
restart() {
  local c=$1 i
  install -d -m 0700 "$RESTART_DIR"
  mv "$MANIFESTS_DIR/$c.yaml" "$RESTART_DIR/$c.yaml"
  if command -v "$CRICTL" >/dev/null 2>&1; then
    for ((i = 0; i < WAIT_SECONDS; i += 5)); do
      [ -z "$("$CRICTL" ps -q --name "^$c\$" 2>/dev/null)" ] && break
      sleep 5
    done
  else
    sleep "$KUBELET_RESCAN_SECONDS"
  fi
  mv "$RESTART_DIR/$c.yaml" "$MANIFESTS_DIR/$c.yaml"
  log "restarted $c"
}

"$KUBEADM" certs check-expiration >&2 || log "kubeadm certs check-expiration failed; reading the files directly"
soonest=$(export_expiry)
now=$(date +%s)
if [ "$soonest" -eq 0 ]; then
  log "no kubeadm certificates found under $PKI_DIR"
  exit 1
fi
left_days=$(((soonest - now) / 86400))
if [ "$left_days" -ge "$RENEW_BELOW_DAYS" ]; then
  log "soonest certificate expires in $left_days days; nothing to renew (threshold $RENEW_BELOW_DAYS)"
  exit 0
fi

for url in $PEER_READY_URLS; do
  if ! ready "$url"; then
    log "$url is not ready; not restarting this master's control plane now (the timer retries tomorrow)"
    exit 1
  fi
done

log "soonest certificate expires in $left_days days; renewing"
"$KUBEADM" certs renew all >&2
# etcd first (the others are its clients), the api-server last but one so it is back before
# the controller-manager and scheduler, which talk to it, restart.
for c in etcd kube-apiserver kube-controller-manager kube-scheduler; do
  [ -f "$MANIFESTS_DIR/$c.yaml" ] || continue
  restart "$c"
  if [ "$c" = kube-apiserver ]; then wait_ready; fi
done
# The bootstrap left a copy of admin.conf for root; keep it current.
if [ -f "$KUBECONFIG_DIR/admin.conf" ] && [ -d /root/.kube ] && [ -w /root/.kube ]; then
  install -m 0600 "$KUBECONFIG_DIR/admin.conf" /root/.kube/config
fi
export_expiry >/dev/null
log "renewed; control plane restarted"
