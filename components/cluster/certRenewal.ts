// Renewal of kubeadm's control-plane certificates, which expire a year after `kubeadm
// init`/`join` unless an upgrade renews them; then the api-server stops serving. A daily
// timer on every master reads each certificate's expiry (exported for node-exporter, so
// an alert fires at 30 days whatever happens here), and under 90 days runs `kubeadm
// certs renew all` and restarts the control-plane static pods, one at a time.
//
// One master at a time, by ordering rather than a lock: master i runs at 02:00 + i hours
// (UTC). A Lease would need the api-server, whose certificates may be what expired,
// so the lock would fail exactly when renewal matters most. An hour apart is far more
// than one master's restart (about a minute), and before restarting anything the script
// checks every other master's api-server answers /readyz, so a late run after a
// reboot (Persistent=true) never takes a second master down while one is restarting.
// Pure: tests run the script against openssl-made certificates and a stub kubeadm.
import { STATIC_POD_DIR, TEXTFILE_COLLECTOR_DIR } from "./etcdBackup";
import { API_SERVER_PORT } from "../network/ports";

export const CERT_RENEW_SCRIPT_PATH = "/usr/local/sbin/kubeadm-cert-renew.sh";
export const CERT_RENEW_UNIT = "kubeadm-cert-renew";
/** Renew when the first certificate expires within this many days. */
export const RENEW_BELOW_DAYS = 90;
/** The metric the script writes, one series per certificate (label cert). */
export const CERT_EXPIRY_METRIC = "platform_kubeadm_certificate_expiry_timestamp_seconds";

const IP = /^\d{1,3}(\.\d{1,3}){3}$/;

export interface CertRenewalSettings {
  /** This master's index (0-based): its run hour is 02:00 + index UTC. */
  index: number;
  /** The other masters' IPs, whose api-servers must be ready before this one restarts. */
  peerIps: string[];
}

/** Hour (UTC) master `index` renews at. */
export function renewalHour(index: number): number {
  if (!Number.isInteger(index) || index < 0 || index > 20) throw new Error(`cert renewal: master index ${index} is out of range 0..20`);
  return 2 + index;
}

export function certRenewalScript(s: CertRenewalSettings): string {
  renewalHour(s.index);
  for (const ip of s.peerIps) if (!IP.test(ip)) throw new Error(`cert renewal: peer ${JSON.stringify(ip)} is not an IPv4 address`);
  const peers = s.peerIps.map((ip) => `https://${ip}:${API_SERVER_PORT}/readyz`).join(" ");
  return `#!/usr/bin/env bash
# kubeadm-cert-renew: exports the expiry of this master's kubeadm certificates and renews
# them when one expires within RENEW_BELOW_DAYS days. Rendered by Pulumi.
set -euo pipefail

: "\${PKI_DIR:=/etc/kubernetes/pki}"
: "\${KUBECONFIG_DIR:=/etc/kubernetes}"
: "\${MANIFESTS_DIR:=${STATIC_POD_DIR}}"
: "\${RESTART_DIR:=/etc/kubernetes/manifests-restarting}"
: "\${TEXTFILE_DIR:=${TEXTFILE_COLLECTOR_DIR}}"
: "\${KUBEADM:=kubeadm}"
: "\${CRICTL:=crictl}"
: "\${RENEW_BELOW_DAYS:=${RENEW_BELOW_DAYS}}"
# The kubelet rescans static pod manifests every 20 s (fileCheckFrequency).
: "\${KUBELET_RESCAN_SECONDS:=25}"
: "\${LOCAL_READY_URL:=https://127.0.0.1:${API_SERVER_PORT}/readyz}"
: "\${PEER_READY_URLS:=${peers}}"
: "\${WAIT_SECONDS:=300}"

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
    echo "# HELP ${CERT_EXPIRY_METRIC} notAfter of a kubeadm certificate on this master."
    echo "# TYPE ${CERT_EXPIRY_METRIC} gauge"
    for name in "\${CERT_FILES[@]}"; do
      [ -f "$PKI_DIR/$name.crt" ] || continue
      t=$(expiry_of "$PKI_DIR/$name.crt")
      echo "${CERT_EXPIRY_METRIC}{cert=\\"\${name//\\//-}\\"} $t"
      case "$name" in *ca) ;; *) if [ -z "$soonest" ] || [ "$t" -lt "$soonest" ]; then soonest=$t; fi ;; esac
    done
    for name in "\${KUBECONFIGS[@]}"; do
      if ! { [ -f "$KUBECONFIG_DIR/$name.conf" ] && kubeconfig_cert "$KUBECONFIG_DIR/$name.conf" "$pem"; }; then continue; fi
      t=$(expiry_of "$pem")
      echo "${CERT_EXPIRY_METRIC}{cert=\\"$name.conf\\"} $t"
      if [ -z "$soonest" ] || [ "$t" -lt "$soonest" ]; then soonest=$t; fi
    done
  } >"$tmpf"
  rm -f "$pem"
  chmod 0644 "$tmpf"
  mv "$tmpf" "$out"
  echo "\${soonest:-0}"
}

ready() { curl -ksf --max-time 5 -o /dev/null "$1"; }

wait_ready() {
  local i
  for ((i = 0; i < WAIT_SECONDS; i += 5)); do
    ready "$LOCAL_READY_URL" && return 0
    sleep 5
  done
  log "api-server not ready after \${WAIT_SECONDS}s"
  return 1
}

# restart <component>: manifest out, wait for the container to stop, manifest back.
restart() {
  local c=$1 i
  install -d -m 0700 "$RESTART_DIR"
  mv "$MANIFESTS_DIR/$c.yaml" "$RESTART_DIR/$c.yaml"
  if command -v "$CRICTL" >/dev/null 2>&1; then
    for ((i = 0; i < WAIT_SECONDS; i += 5)); do
      [ -z "$("$CRICTL" ps -q --name "^$c\\$" 2>/dev/null)" ] && break
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
`;
}

export interface CertUnitOptions {
  /** Default CERT_RENEW_SCRIPT_PATH (tests point it at a temp copy). */
  scriptPath?: string;
}

/** kubeadm-cert-renew.service and .timer for master `index`. */
export function certRenewalUnits(index: number, opts: CertUnitOptions = {}): { service: string; timer: string } {
  const hour = renewalHour(index);
  const service = `[Unit]
Description=Export kubeadm certificate expiry; renew under ${RENEW_BELOW_DAYS} days
After=network-online.target kubelet.service
Wants=network-online.target
ConditionPathExists=/etc/kubernetes/pki/apiserver.crt

[Service]
Type=oneshot
ExecStart=${opts.scriptPath ?? CERT_RENEW_SCRIPT_PATH}
TimeoutStartSec=30min
`;
  const timer = `[Unit]
Description=Daily kubeadm certificate check, master ${index} at ${String(hour).padStart(2, "0")}:00 UTC

[Timer]
OnCalendar=*-*-* ${String(hour).padStart(2, "0")}:00:00 UTC
AccuracySec=1min
Persistent=true

[Install]
WantedBy=timers.target
`;
  return { service, timer };
}
