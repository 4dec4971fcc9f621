#!/usr/bin/env bash
# k8s-bootstrap: turns a fresh Ubuntu VM into a Kubernetes node; then the
# role's part (k8s-bootstrap-worker.sh or k8s-bootstrap-master.sh) follows. bootstrapScript.ts
# renders it with the node's settings in the block below (every one a default the environment may
# override: the tests run this very script in a temp root with stubs); shipped without comments.
# See bootstrapScript.ts for why a systemd unit runs it and what it trusts.
set -euo pipefail
umask 077

# @variables

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
sed -ri '/\sswap\s/s/^#?/#/' "$FSTAB"
modprobe overlay
modprobe br_netfilter
sysctl --system >/dev/null

export DEBIAN_FRONTEND=noninteractive
# unattended-upgrades often holds the dpkg lock on first boot; wait instead of failing.
APT=(apt-get -y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
retry 5 15 "${APT[@]}" update
retry 5 15 "${APT[@]}" install ca-certificates curl nftables conntrack socat
# Pods must not reach the metadata service: the rule is in place before the kubelet runs. On a
# master only the services in $METADATA_SLICE reach it; cloud-init joins the slice by a drop-in
# (it re-reads the instance identity at every boot).
for unit in $METADATA_DROPINS; do
  install -d -m 0755 "$SYSTEMD_DIR/$unit.d"
  printf '[Service]\nSlice=%s\n' "$METADATA_SLICE" >"$SYSTEMD_DIR/$unit.d/k8s-metadata.conf"
  chmod 0644 "$SYSTEMD_DIR/$unit.d/k8s-metadata.conf"
done
systemctl daemon-reload
systemctl enable k8s-metadata-guard.service
systemctl start k8s-metadata-guard.service

# containerd pinned and held: Kubernetes 1.35 is the last release to support containerd 1.x
# (kubeadm#3229), so the version is a decision, never an apt side effect.
containerd_version=$(apt-cache madison containerd | awk -v v="$CONTAINERD_VERSION" 'index($3, v) == 1 { print $3; exit }')
if [ -z "$containerd_version" ]; then
  echo "k8s-bootstrap: containerd $CONTAINERD_VERSION* not found in the archive" >&2
  exit 1
fi
retry 5 15 "${APT[@]}" install "containerd=$containerd_version"
apt-mark hold containerd
systemctl restart containerd
systemctl enable containerd

install -d -m 0755 "$(dirname "$KEYRING")" "$(dirname "$APT_SOURCE")"
retry 5 15 curl -fsSL --max-time 60 -o "$KEYRING" "${PACKAGE_REPO}Release.key"
chmod 0644 "$KEYRING"
echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.asc] $PACKAGE_REPO /" >"$APT_SOURCE"
chmod 0644 "$APT_SOURCE"
retry 5 15 "${APT[@]}" update
# Package versions look like 1.33.5-1.1; pick the revision the repository has.
pkg_version=$(apt-cache madison kubeadm | awk -v v="$K8S_VERSION" '$3 ~ "^" v "-" { print $3; exit }')
if [ -z "$pkg_version" ]; then
  echo "k8s-bootstrap: kubeadm $K8S_VERSION not found in $PACKAGE_REPO" >&2
  exit 1
fi
retry 5 15 "${APT[@]}" install "kubelet=$pkg_version" "kubeadm=$pkg_version" "kubectl=$pkg_version"
# Upgrades are a deliberate kubeadm procedure, never an apt side effect.
apt-mark hold kubelet kubeadm kubectl
# CIS 4.1.1/4.1.2: the kubelet's unit and kubeadm's drop-in 0600 root:root, as a dpkg stat override so
# a package upgrade keeps the mode (the packages ship them 0644 or 0600 depending on the release).
for unit in "$UNIT_DIR/kubelet.service" "$UNIT_DIR/kubelet.service.d/10-kubeadm.conf"; do
  dpkg-statoverride --list "$unit" >/dev/null || dpkg-statoverride --update --add root root 0600 "$unit"
done
systemctl enable kubelet

# A failed kubeadm run leaves half a node; reset wipes it before the next attempt.
reset_node() {
  kubeadm reset -f --cri-socket unix:///run/containerd/containerd.sock >/dev/null 2>&1 || true
}
