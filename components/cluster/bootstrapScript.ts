// The node bootstrap as a bash script run by a systemd oneshot unit (bootstrapUnits.ts), not by
// cloud-init's runcmd: runcmd runs once per instance (cloud-init cc_runcmd PER_INSTANCE), so a
// reboot mid-way would never finish. The unit reruns it at every boot and after a failure until
// the done-marker exists; every step is safe to repeat.
//
// Trust: no key that can mint credentials and no long-lived token is in user data.
// - Masters read the shared control-plane PKI (CA, SA, front-proxy and etcd CAs, the
//   encryption config) from KMS Secrets Manager (GetSecretValue, KMS API 2016-01-20,
//   https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-getsecretvalue)
//   with the instance RAM role's STS credentials from the metadata service (metadata token
//   first, which works in the hardened mode `httpTokens: required`). The client is python3's
//   standard library (on every Ubuntu 22.04 image; the aliyun CLI is not) signing the RPC
//   request with HMAC-SHA1 (signature version 1.0, https://www.alibabacloud.com/help/doc-detail/127287.htm).
// - A master mints a 1 h bootstrap token itself, with a 1 h admin credential it signs with
//   the CA it just read; workers carry the program's token that expires 24 h after the
//   node set last changed (joinToken.ts).
// - umask 077, the log is 0600, kubeadm prints no token or certificate key.
//
// Every path and endpoint is a default the environment may override: the tests run the very
// script in a temp root with stub kubeadm/systemctl/apt-get and loopback endpoints.
import type { ClusterBootstrap, NodeBootstrap } from "./kubeadm";
import { CRI_SOCKET, JOIN_TOKEN_PLACEHOLDER, KUBEADM_CONFIG_PATH, KUBEADM_INIT_CONFIG_PATH } from "./kubeadm";

/** Where the script lives on the node. */
export const BOOTSTRAP_SCRIPT_PATH = "/usr/local/sbin/k8s-bootstrap.sh";
/** The log, 0600. */
export const BOOTSTRAP_LOG_PATH = "/var/log/k8s-bootstrap.log";
/** Holds the done-marker. */
export const BOOTSTRAP_STATE_DIR = "/var/lib/k8s-bootstrap";

/** Single-quotes a value for bash; validated inputs never contain quotes, this is belt and braces. */
export function sq(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface BootstrapScriptSettings {
  /** containerd version prefix as apt-cache madison shows it, e.g. "1.7." */
  containerdVersion: string;
}

/** The python3 KMS client: STS credentials in, files under $PKI_DIR out; prints file names only. */
const KMS_CLIENT = `import base64, datetime, hashlib, hmac, json, os, sys, urllib.parse, urllib.request, uuid
url, name, pki = sys.argv[1:4]
c = json.loads(os.environ["STS_CREDS"])
params = {"Action": "GetSecretValue", "SecretName": name, "Format": "JSON", "Version": "2016-01-20",
          "AccessKeyId": c["AccessKeyId"], "SecurityToken": c["SecurityToken"], "SignatureMethod": "HMAC-SHA1",
          "SignatureVersion": "1.0", "SignatureNonce": str(uuid.uuid4()),
          "Timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
enc = lambda s: urllib.parse.quote(s, safe="-_.~")
query = "&".join(enc(k) + "=" + enc(v) for k, v in sorted(params.items()))
sig = base64.b64encode(hmac.new((c["AccessKeySecret"] + "&").encode(), ("GET&%2F&" + enc(query)).encode(), hashlib.sha1).digest()).decode()
with urllib.request.urlopen(url.rstrip("/") + "/?" + query + "&Signature=" + enc(sig), timeout=15) as r:
    files = json.loads(json.load(r)["SecretData"])["files"]
for rel, text in sorted(files.items()):
    if rel.startswith("/") or ".." in rel.split("/"):
        sys.exit("k8s-bootstrap: refusing secret store path " + rel)
    path = os.path.join(pki, rel)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    mode = 0o644 if rel.endswith((".crt", ".pub")) else 0o600
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path + ".tmp", mode)
    os.replace(path + ".tmp", path)
print("k8s-bootstrap: staged from the secret store: " + " ".join(sorted(files)))`;

/** The bash script; exported so tests feed it to shellcheck and run it. */
export function bootstrapScript(c: ClusterBootstrap, n: NodeBootstrap, s: BootstrapScriptSettings): string {
  const repo = c.packageRepository.endsWith("/") ? c.packageRepository : `${c.packageRepository}/`;
  const master = n.role !== "worker";
  const cp = n.controlPlane;
  const imagesPull = [
    "kubeadm config images pull",
    `--kubernetes-version "v\${K8S_VERSION}"`,
    `--cri-socket ${CRI_SOCKET}`,
    ...(c.imageRepository === undefined ? [] : [`--image-repository ${sq(c.imageRepository)}`]),
  ].join(" ");
  const settings = [
    `: "\${K8S_VERSION:=${c.kubernetesVersion}}"`,
    `: "\${CONTAINERD_VERSION:=${s.containerdVersion}}"`,
    `: "\${PACKAGE_REPO:=${repo}}"`,
    `: "\${API_ENDPOINT:=${c.controlPlaneEndpoint}}"`,
    `: "\${ROOT:=}"`,
    `: "\${LOG:=\${ROOT}${BOOTSTRAP_LOG_PATH}}"`,
    `: "\${STATE_DIR:=\${ROOT}${BOOTSTRAP_STATE_DIR}}"`,
    `: "\${K8S_DIR:=\${ROOT}/etc/kubernetes}"`,
    `: "\${JOIN_CONFIG:=\${ROOT}${KUBEADM_CONFIG_PATH}}"`,
    `: "\${CA_CERT:=\${K8S_DIR}/pki/ca.crt}"`,
    `: "\${KEYRING:=\${ROOT}/etc/apt/keyrings/kubernetes-apt-keyring.asc}"`,
    `: "\${APT_SOURCE:=\${ROOT}/etc/apt/sources.list.d/kubernetes.list}"`,
    `: "\${FSTAB:=\${ROOT}/etc/fstab}"`,
    `: "\${NODE_NAME:=${n.hostname}}"`,
    `: "\${JOIN_TRIES:=${master ? 10 : 60}}"`,
  ];
  if (cp !== undefined) {
    settings.push(
      `: "\${INIT_CONFIG:=\${ROOT}${KUBEADM_INIT_CONFIG_PATH}}"`,
      `: "\${MASTER_INDEX:=${cp.index}}"`,
      `: "\${PREVIOUS_MASTER:=${cp.index > 0 ? `${c.clusterName}-master-${cp.index - 1}` : ""}}"`,
      `: "\${PEERS:=${cp.peers.join(" ")}}"`,
      `: "\${METADATA_URL:=http://100.100.100.200}"`,
      `: "\${KMS_URL:=${cp.secretStore.kmsUrl}}"`,
      `: "\${SECRET_NAME:=${cp.secretStore.secretName}}"`,
      `: "\${RAM_ROLE:=${cp.secretStore.ramRole}}"`,
    );
  }

  const head = `#!/usr/bin/env bash
# k8s-bootstrap: ${n.role === "worker" ? "worker" : "master"} ${n.hostname} of cluster ${c.clusterName}. Rendered by Pulumi.
set -euo pipefail
umask 077

${settings.join("\n")}

mkdir -p "$STATE_DIR" "$(dirname "$LOG")"
touch "$LOG"
chmod 0600 "$LOG"
exec >>"$LOG" 2>&1
echo "k8s-bootstrap: start $(date -Is)"

if [ -f "$STATE_DIR/done" ]; then
  echo "k8s-bootstrap: done-marker present, nothing to do"
  exit 0
fi

# retry <tries> <sleep seconds> <command...>: bounded; the unit restarts the whole script after a failure.
retry() {
  local tries=$1 pause=$2 i
  shift 2
  for ((i = 1; i <= tries; i++)); do
    if "$@"; then
      return 0
    fi
    echo "k8s-bootstrap: attempt $i/$tries failed: $1"
    if ((i < tries)); then
      sleep "$pause"
    fi
  done
  return 1
}

mark_done() {
  touch "$STATE_DIR/done"
  echo "k8s-bootstrap: done $(date -Is)"
}

# A node that joined before a reboot (the marker not yet written) has kubelet.conf.
if [ -f "$K8S_DIR/kubelet.conf" ]; then
  echo "k8s-bootstrap: $K8S_DIR/kubelet.conf exists, node already bootstrapped"
  mark_done
  exit 0
fi

# The kubelet refuses to run with swap on.
swapoff -a
sed -ri '/\\sswap\\s/s/^#?/#/' "$FSTAB"
modprobe overlay
modprobe br_netfilter
sysctl --system >/dev/null

export DEBIAN_FRONTEND=noninteractive
# unattended-upgrades often holds the dpkg lock on first boot; wait instead of failing.
APT=(apt-get -y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
retry 5 15 "\${APT[@]}" update
retry 5 15 "\${APT[@]}" install ca-certificates curl nftables conntrack socat
# Pods must not reach the metadata service: the rule is in place before the kubelet runs.
systemctl enable k8s-metadata-guard.service
systemctl start k8s-metadata-guard.service

# containerd pinned and held: Kubernetes 1.35 is the last release to support containerd 1.x
# (kubeadm#3229), so the version is a decision, never an apt side effect.
containerd_version=$(apt-cache madison containerd | awk -v v="$CONTAINERD_VERSION" 'index($3, v) == 1 { print $3; exit }')
if [ -z "$containerd_version" ]; then
  echo "k8s-bootstrap: containerd $CONTAINERD_VERSION* not found in the archive" >&2
  exit 1
fi
retry 5 15 "\${APT[@]}" install "containerd=$containerd_version"
apt-mark hold containerd
systemctl restart containerd
systemctl enable containerd

install -d -m 0755 "$(dirname "$KEYRING")" "$(dirname "$APT_SOURCE")"
retry 5 15 curl -fsSL --max-time 60 -o "$KEYRING" "\${PACKAGE_REPO}Release.key"
chmod 0644 "$KEYRING"
echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.asc] $PACKAGE_REPO /" >"$APT_SOURCE"
chmod 0644 "$APT_SOURCE"
retry 5 15 "\${APT[@]}" update
# Package versions look like 1.33.5-1.1; pick the revision the repository has.
pkg_version=$(apt-cache madison kubeadm | awk -v v="$K8S_VERSION" '$3 ~ "^" v "-" { print $3; exit }')
if [ -z "$pkg_version" ]; then
  echo "k8s-bootstrap: kubeadm $K8S_VERSION not found in $PACKAGE_REPO" >&2
  exit 1
fi
retry 5 15 "\${APT[@]}" install "kubelet=$pkg_version" "kubeadm=$pkg_version" "kubectl=$pkg_version"
# Upgrades are a deliberate kubeadm procedure, never an apt side effect.
apt-mark hold kubelet kubeadm kubectl
systemctl enable kubelet

# A failed kubeadm run leaves half a node; reset wipes it before the next attempt.
reset_node() {
  kubeadm reset -f --cri-socket ${CRI_SOCKET} >/dev/null 2>&1 || true
}
`;

  const worker = `
# /readyz is readable anonymously; -k because trust comes from the pinned CA hash in the join config.
api_ready() {
  curl -ksf --max-time 5 -o /dev/null "https://\${API_ENDPOINT}/readyz"
}
echo "k8s-bootstrap: waiting for https://\${API_ENDPOINT}/readyz"
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
`;

  const controlPlane = `
# Pull control-plane images up front, with retries: a slow mirror should not fail kubeadm.
retry 5 20 ${imagesPull}

readonly PKI_DIR="$K8S_DIR/pki"

# kms_fetch: the shared control-plane PKI from the secret store into pki/ (the keys 0600).
kms_fetch() {
  local token creds
  token=$(curl -fsS --max-time 5 -X PUT -H 'X-aliyun-ecs-metadata-token-ttl-seconds: 300' "$METADATA_URL/latest/api/token") || return 1
  # The role is attached right after the instance is created; until then this fails and is retried.
  creds=$(curl -fsS --max-time 5 -H "X-aliyun-ecs-metadata-token: $token" "$METADATA_URL/latest/meta-data/ram/security-credentials/$RAM_ROLE") || return 1
  install -d -m 0700 "$PKI_DIR" "$PKI_DIR/etcd" || return 1
  STS_CREDS=$creds python3 - "$KMS_URL" "$SECRET_NAME" "$PKI_DIR" <<'PY'
${KMS_CLIENT}
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
ADMIN_KUBECONFIG="$STATE_DIR/bootstrap-admin.conf"
trap 'rm -f "$ADMIN_KUBECONFIG" "$JOIN_CONFIG.run"' EXIT
mint_admin() {
  kubeadm kubeconfig user --config "$INIT_CONFIG" --client-name "k8s-bootstrap:$NODE_NAME" --org kubeadm:cluster-admins --validity-period 1h >"$ADMIN_KUBECONFIG"
}

previous_ready() {
  [ "$(kubectl --kubeconfig "$ADMIN_KUBECONFIG" get node "$PREVIOUS_MASTER" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = "True" ]
}

join_control_plane() {
  local token
  kms_fetch || return 1
  mint_admin || return 1
  # One learner at a time (etcd): master-i joins once master-(i-1) is Ready.
  if [ -n "$PREVIOUS_MASTER" ] && ! previous_ready; then
    echo "k8s-bootstrap: waiting for $PREVIOUS_MASTER to be Ready before joining"
    return 1
  fi
  token=$(kubeadm token create --kubeconfig "$ADMIN_KUBECONFIG" --ttl 1h --description "k8s-bootstrap join of $NODE_NAME") || return 1
  sed "s/${JOIN_TOKEN_PLACEHOLDER}/$token/" "$JOIN_CONFIG" >"$JOIN_CONFIG.run"
  if kubeadm join --config "$JOIN_CONFIG.run"; then
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

retry 30 10 kms_fetch
if cluster_exists; then
  echo "k8s-bootstrap: a cluster with this CA answers; joining it"
  retry "$JOIN_TRIES" 30 join_control_plane
elif [ "$MASTER_INDEX" = 0 ]; then
  echo "k8s-bootstrap: no cluster answers at $API_ENDPOINT or the other masters; initialising"
  retry 3 30 init_control_plane
else
  echo "k8s-bootstrap: no cluster answers yet; master $MASTER_INDEX only joins" >&2
  exit 1
fi
install -d -m 0700 "$ROOT/root/.kube"
install -m 0600 "$K8S_DIR/admin.conf" "$ROOT/root/.kube/config"
mark_done
`;
  return `${head}${master ? controlPlane : worker}`;
}
