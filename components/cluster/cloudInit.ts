// cloud-init user data that turns a fresh Ubuntu 22.04 ECS VM into a Kubernetes node.
// Nothing SSHes into the VMs (the machine running Pulumi has no route to them), so each
// VM bootstraps itself: containerd + pinned kubeadm/kubelet/kubectl, then `kubeadm init`
// on the first master or `kubeadm join` everywhere else. Pure, so the text is checked by
// `cloud-init schema` and `shellcheck` in the tests.
//
// Note: ECS user data stays readable from the metadata service (100.100.100.200) for the
// VM's lifetime, and it carries the bootstrap token (and, on the first master, the CA key).
// Pods should not reach the metadata service except through a vetted path.

import YAML from "yaml";
import type { ClusterBootstrap, NodeBootstrap } from "./kubeadm";
import {
  CRI_SOCKET,
  KUBEADM_CONFIG_PATH,
  kubernetesMinor,
  renderKubeadmConfig,
  validateClusterBootstrap,
  validateNodeBootstrap,
} from "./kubeadm";

export type { ClusterBootstrap, NodeBootstrap } from "./kubeadm";

/** Alibaba accepts 32 KiB of base64 user data; 16 KiB of text leaves room for base64's 4/3 growth. */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;
/** The bootstrap script on the node. */
export const BOOTSTRAP_SCRIPT_PATH = "/usr/local/sbin/k8s-bootstrap.sh";
/** Everything the script does is appended here (and to cloud-init-output.log). */
export const BOOTSTRAP_LOG_PATH = "/var/log/k8s-bootstrap.log";
/**
 * The CA is staged outside /etc/kubernetes/pki because `kubeadm reset` (run between
 * init retries) empties that directory; the script copies it back before each attempt.
 */
export const CA_STAGING_DIR = "/etc/k8s-bootstrap/pki";

/**
 * pause image matching the release's kubeadm default; a mismatch only makes kubeadm
 * warn, but a matching one is pulled once instead of twice.
 */
function pauseImageTag(minor: number): string {
  return minor >= 34 ? "3.10.1" : "3.10";
}

function containerdConfig(c: ClusterBootstrap): string {
  const registry = c.imageRepository ?? "registry.k8s.io";
  return [
    "# Managed by cloud-init (k8s-bootstrap). Config version 2 is read by containerd 1.7 and 2.x.",
    "version = 2",
    "",
    '[plugins."io.containerd.grpc.v1.cri"]',
    // From the mirror when set: registry.k8s.io is not reachable from China regions.
    `  sandbox_image = "${registry}/pause:${pauseImageTag(kubernetesMinor(c.kubernetesVersion))}"`,
    "",
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '  runtime_type = "io.containerd.runc.v2"',
    "",
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
    "  # The kubelet uses the systemd cgroup driver; both must agree.",
    "  SystemdCgroup = true",
    "",
  ].join("\n");
}

const MODULES = ["overlay", "br_netfilter"];

const SYSCTLS = [
  // Bridged pod traffic must traverse iptables, or kube-proxy's Service rules are bypassed.
  "net.bridge.bridge-nf-call-iptables = 1",
  "net.bridge.bridge-nf-call-ip6tables = 1",
  // Nodes route pod traffic (flannel vxlan); without forwarding kubeadm's preflight fails.
  "net.ipv4.ip_forward = 1",
];

/** Single-quotes a value for bash; validated inputs never contain quotes, this is belt and braces. */
function sq(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The bash script cloud-init runs; exported so tests can feed it to shellcheck. */
export function bootstrapScript(c: ClusterBootstrap, n: NodeBootstrap): string {
  validateClusterBootstrap(c);
  validateNodeBootstrap(c, n);
  const repo = c.packageRepository.endsWith("/") ? c.packageRepository : `${c.packageRepository}/`;
  const imagesPull = [
    "kubeadm config images pull",
    `--kubernetes-version "v\${K8S_VERSION}"`,
    `--cri-socket ${CRI_SOCKET}`,
    ...(c.imageRepository === undefined ? [] : [`--image-repository ${sq(c.imageRepository)}`]),
  ].join(" ");

  const head = `#!/usr/bin/env bash
# k8s-bootstrap: ${n.role} node ${n.hostname} of cluster ${c.clusterName}. Rendered by Pulumi.
set -euo pipefail

readonly K8S_VERSION=${sq(c.kubernetesVersion)}
readonly PACKAGE_REPO=${sq(repo)}
${n.role === "init" ? "" : `readonly API_ENDPOINT=${sq(c.controlPlaneEndpoint)}\n`}readonly KUBEADM_CONFIG=${sq(KUBEADM_CONFIG_PATH)}
readonly LOG=${sq(BOOTSTRAP_LOG_PATH)}
readonly KEYRING=/etc/apt/keyrings/kubernetes-apt-keyring.asc

exec > >(tee -a "$LOG") 2>&1
echo "k8s-bootstrap: start $(date -Is)"

# Idempotent: a rerun (cloud-init re-run, reboot during boot) must not touch a node
# that has already joined.
if [ -f /etc/kubernetes/kubelet.conf ]; then
  echo "k8s-bootstrap: /etc/kubernetes/kubelet.conf exists, node already bootstrapped"
  exit 0
fi

# retry <tries> <sleep seconds> <command...>: bounded, so a broken node fails visibly.
retry() {
  local tries=$1 pause=$2 i
  shift 2
  for ((i = 1; i <= tries; i++)); do
    if "$@"; then
      return 0
    fi
    echo "k8s-bootstrap: attempt $i/$tries failed: $*"
    if ((i < tries)); then
      sleep "$pause"
    fi
  done
  return 1
}

# The kubelet refuses to run with swap on.
swapoff -a
sed -ri '/\\sswap\\s/s/^#?/#/' /etc/fstab

modprobe overlay
modprobe br_netfilter
sysctl --system >/dev/null

export DEBIAN_FRONTEND=noninteractive
# unattended-upgrades often holds the dpkg lock on first boot; wait instead of failing.
APT=(apt-get -y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
retry 5 15 "\${APT[@]}" update
# force-confold keeps the containerd config cloud-init already wrote.
retry 5 15 "\${APT[@]}" install ca-certificates curl containerd conntrack socat
systemctl restart containerd
systemctl enable containerd

install -d -m 0755 /etc/apt/keyrings
retry 5 15 curl -fsSL --max-time 60 -o "$KEYRING" "\${PACKAGE_REPO}Release.key"
echo "deb [signed-by=$KEYRING] $PACKAGE_REPO /" >/etc/apt/sources.list.d/kubernetes.list
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
`;

  const prePull = `
# Pull control-plane images up front, with retries: a slow mirror should not fail kubeadm.
retry 5 20 ${imagesPull}
`;

  const waitForApi = `
# Joins need the first master behind the SLB (SLB -> HAProxy -> master). /readyz is
# readable anonymously; -k because trust comes from the pinned CA hash, not curl.
api_ready() {
  curl -ksf --max-time 5 -o /dev/null "https://\${API_ENDPOINT}/readyz"
}
echo "k8s-bootstrap: waiting for https://\${API_ENDPOINT}/readyz"
retry 180 10 api_ready
`;

  let tail: string;
  if (n.role === "init") {
    tail = `${prePull}
# Adopt the Pulumi-minted CA, so the admin kubeconfig Pulumi built is valid and joins
# can pin its hash. kubeadm uses an existing ca.crt/ca.key instead of minting one.
# Chained with && because errexit is off inside functions that run as an if condition,
# and a missing CA here would make kubeadm mint its own one that no join trusts.
stage_ca() {
  install -d -m 0700 /etc/kubernetes/pki &&
    install -m 0644 ${sq(`${CA_STAGING_DIR}/ca.crt`)} /etc/kubernetes/pki/ca.crt &&
    install -m 0600 ${sq(`${CA_STAGING_DIR}/ca.key`)} /etc/kubernetes/pki/ca.key
}

# A failed init leaves half a control plane; reset wipes it (and pki/) before retrying.
init_cluster() {
  if ! stage_ca; then
    return 1
  fi
  if kubeadm init --config "$KUBEADM_CONFIG" --upload-certs; then
    return 0
  fi
  kubeadm reset -f --cri-socket ${CRI_SOCKET} || true
  return 1
}
retry 3 30 init_cluster
# kubeadm keeps its own copy; do not leave a second CA key lying around.
rm -f ${sq(`${CA_STAGING_DIR}/ca.key`)}

install -d -m 0700 /root/.kube
install -m 0600 /etc/kubernetes/admin.conf /root/.kube/config
`;
  } else {
    const master = n.role === "control-plane";
    tail = `${master ? prePull : ""}${waitForApi}
# The token or uploaded certificates may not exist yet while the first master is still
# in kubeadm init; a failed join is reset and retried.
join_cluster() {
  if kubeadm join --config "$KUBEADM_CONFIG"; then
    return 0
  fi
  kubeadm reset -f --cri-socket ${CRI_SOCKET} || true
  return 1
}
retry 10 30 join_cluster
${master ? `
install -d -m 0700 /root/.kube
install -m 0600 /etc/kubernetes/admin.conf /root/.kube/config
` : ""}`;
  }
  return `${head}${tail}
echo "k8s-bootstrap: done $(date -Is)"
`;
}

interface WriteFile {
  path: string;
  content: string;
  owner: string;
  permissions: string;
}

function file(path: string, content: string, permissions: string): WriteFile {
  return { path, content, owner: "root:root", permissions };
}

/** More files and commands for a node (a master's day-2 timers, components/cluster/masterDay2.ts); run after the bootstrap. */
export interface UserDataExtras {
  files: object[];
  runcmd: string[][];
}

/** The node's complete user data: "#cloud-config" followed by YAML. */
export function renderUserData(c: ClusterBootstrap, n: NodeBootstrap, extras?: UserDataExtras): string {
  const kubeadmConfig = renderKubeadmConfig(c, n); // validates c and n
  const files: WriteFile[] = [
    file("/etc/modules-load.d/k8s.conf", `${MODULES.join("\n")}\n`, "0644"),
    file("/etc/sysctl.d/99-kubernetes.conf", `${SYSCTLS.join("\n")}\n`, "0644"),
    file("/etc/containerd/config.toml", containerdConfig(c), "0644"),
    // Holds the bootstrap token and certificate key.
    file(KUBEADM_CONFIG_PATH, kubeadmConfig, "0600"),
  ];
  if (n.role === "init" && n.ca !== undefined) {
    files.push(file(`${CA_STAGING_DIR}/ca.crt`, ensureNewline(n.ca.certPem), "0644"));
    files.push(file(`${CA_STAGING_DIR}/ca.key`, ensureNewline(n.ca.keyPem), "0600"));
  }
  files.push(file(BOOTSTRAP_SCRIPT_PATH, bootstrapScript(c, n), "0700"));
  const files_ = [...files, ...(extras?.files ?? [])];

  const doc = {
    hostname: n.hostname,
    // The Alibaba datasource would otherwise set the instance's own hostname; the Node
    // name must be the stable pool name (prod1-general-3).
    preserve_hostname: false,
    manage_etc_hosts: true,
    write_files: files_,
    runcmd: [["bash", BOOTSTRAP_SCRIPT_PATH], ...(extras?.runcmd ?? [])],
  };
  const text = `#cloud-config\n${YAML.stringify(doc, { lineWidth: 0 })}`;
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > USER_DATA_LIMIT_BYTES) {
    throw new Error(`user data for ${n.hostname} is ${bytes} bytes, over the ${USER_DATA_LIMIT_BYTES}-byte budget (Alibaba's 32 KiB limit applies after base64)`);
  }
  return text;
}

function ensureNewline(s: string): string {
  return s.endsWith("\n") ? s : `${s}\n`;
}

/**
 * User data of an api-server front VM: Debian/Ubuntu's haproxy package with the
 * rendered haproxy.cfg. The config is checked (`haproxy -c`) before the service
 * restarts, so a bad file never replaces a running front.
 */
export function renderHaproxyUserData(hostname: string, haproxyCfg: string): string {
  const doc = {
    hostname,
    preserve_hostname: false,
    manage_etc_hosts: true,
    package_update: true,
    packages: ["haproxy"],
    write_files: [
      // Holds the stats password. Deferred until after the package is installed, so
      // dpkg never sees a foreign conffile and the package cannot overwrite it.
      { ...file("/etc/haproxy/haproxy.cfg", ensureNewline(haproxyCfg), "0640"), defer: true },
      // The package's unit runs as root and raises the fd limit itself; say so explicitly
      // for the ~2 descriptors per connection that maxconn implies.
      file("/etc/systemd/system/haproxy.service.d/limits.conf", "[Service]\nLimitNOFILE=100000\n", "0644"),
    ],
    runcmd: [
      ["haproxy", "-c", "-f", "/etc/haproxy/haproxy.cfg"],
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", "haproxy"],
      ["systemctl", "restart", "haproxy"],
    ],
  };
  const text = `#cloud-config\n${YAML.stringify(doc, { lineWidth: 0 })}`;
  if (Buffer.byteLength(text, "utf8") > USER_DATA_LIMIT_BYTES) throw new Error(`user data for ${hostname} is over the ${USER_DATA_LIMIT_BYTES}-byte budget`);
  return text;
}
