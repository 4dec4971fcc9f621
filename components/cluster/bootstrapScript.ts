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
// - A master re-created under its name and address first removes its dead predecessor from etcd
//   (and its Node), with a 1-day etcd client certificate it signs with the etcd CA it just read.
// - A master mints a 1 h bootstrap token itself, with a 1 h admin credential it signs with
//   the CA it just read, and deletes the token after the join; a worker reads the current short-lived token (4 h) the masters keep in
//   a KMS secret of its own, with the workers' instance role (workerToken.ts), at every join attempt.
// - umask 077, the log is 0600, kubeadm prints no token or certificate key.
//
// Every path and endpoint is a default the environment may override: the tests run the very
// script in a temp root with stub kubeadm/systemctl/apt-get and loopback endpoints.
import * as path from "path";
import type { ClusterBootstrap, NodeBootstrap } from "./kubeadm";
import { KUBEADM_CONFIG_PATH, KUBEADM_INIT_CONFIG_PATH } from "./kubeadm";
import { METADATA_SLICE, METADATA_SLICE_DROPINS } from "./bootstrapUnits";
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT, METADATA_ADDRESS } from "../network/ports";
import { ETCD_DATA_DIR } from "./etcdBackup";
import { nodeName } from "./nodeName";
import { joinTokenSecretName, WORKER_TOKEN_UNIT } from "./workerToken";
import { renderScript, scriptFile, shellExpression } from "../scriptFiles";

/** Where the script lives on the node. */
export const BOOTSTRAP_SCRIPT_PATH = "/usr/local/sbin/k8s-bootstrap.sh";
/**
 * Where the kubelet and kubeadm packages of pkgs.k8s.io put kubelet.service and
 * kubelet.service.d/10-kubeadm.conf (%{_unitdir} in kubernetes/release cmd/krel/templates/latest
 * kubelet/kubelet.spec and kubeadm/kubeadm.spec); /lib/systemd/system on Ubuntu's merged /usr.
 */
export const PACKAGE_UNIT_DIR = "/usr/lib/systemd/system";
/** The log, 0600. */
export const BOOTSTRAP_LOG_PATH = "/var/log/k8s-bootstrap.log";
/** Holds the done-marker. */
export const BOOTSTRAP_STATE_DIR = "/var/lib/k8s-bootstrap";

export interface BootstrapScriptSettings {
  /** containerd version prefix as apt-cache madison shows it, e.g. "1.7." */
  containerdVersion: string;
}

const SCRIPTS = path.join(__dirname, "scripts");
const underRoot = (p: string) => shellExpression(`\${ROOT}${p}`);

/**
 * The bash script: scripts/k8s-bootstrap.sh with this node's settings, then the role's part
 * (k8s-bootstrap-master.sh, which carries the python3 KMS client kms-client.py, or
 * k8s-bootstrap-worker.sh). Exported so tests feed it to shellcheck and run it.
 */
export function bootstrapScript(c: ClusterBootstrap, n: NodeBootstrap, s: BootstrapScriptSettings): string {
  const cp = n.controlPlane;
  const head = renderScript(path.join(SCRIPTS, "k8s-bootstrap.sh"), {
    K8S_VERSION: c.kubernetesVersion,
    CONTAINERD_VERSION: s.containerdVersion,
    PACKAGE_REPO: c.packageRepository.endsWith("/") ? c.packageRepository : `${c.packageRepository}/`,
    API_ENDPOINT: c.controlPlaneEndpoint,
    ROOT: "",
    LOG: underRoot(BOOTSTRAP_LOG_PATH),
    STATE_DIR: underRoot(BOOTSTRAP_STATE_DIR),
    K8S_DIR: underRoot("/etc/kubernetes"),
    JOIN_CONFIG: underRoot(KUBEADM_CONFIG_PATH),
    CA_CERT: shellExpression("${K8S_DIR}/pki/ca.crt"),
    KEYRING: underRoot("/etc/apt/keyrings/kubernetes-apt-keyring.asc"),
    APT_SOURCE: underRoot("/etc/apt/sources.list.d/kubernetes.list"),
    FSTAB: underRoot("/etc/fstab"),
    SYSTEMD_DIR: underRoot("/etc/systemd/system"),
    UNIT_DIR: underRoot(PACKAGE_UNIT_DIR),
    METADATA_SLICE,
    METADATA_DROPINS: METADATA_SLICE_DROPINS.join(" "),
    // Only a master's part reads its name (its client certificates, its etcd member): a worker's script
    // names no node, so a cluster's workers share one compressed script (cloudInit.ts).
    ...(cp && { NODE_NAME: n.hostname }),
    JOIN_TRIES: n.role === "worker" ? 60 : 10,
    ...(n.joinTokenStore && {
      METADATA_URL: `http://${METADATA_ADDRESS}`,
      KMS_URL: n.joinTokenStore.kmsUrl,
      TOKEN_SECRET: n.joinTokenStore.secretName,
      RAM_ROLE: n.joinTokenStore.ramRole,
    }),
    ...(cp && {
      INIT_CONFIG: underRoot(KUBEADM_INIT_CONFIG_PATH),
      MASTER_INDEX: cp.index,
      PREVIOUS_MASTER: cp.index > 0 ? nodeName(c.clusterName, "master", cp.index - 1) : "",
      PEERS: cp.peers.join(" "),
      NODE_IP: n.nodeIp,
      ETCD_DATA_DIR: underRoot(ETCD_DATA_DIR),
      ETCD_CLIENT_PORT,
      ETCD_PEER_PORT,
      METADATA_URL: `http://${METADATA_ADDRESS}`,
      KMS_URL: cp.secretStore.kmsUrl,
      SECRET_NAME: cp.secretStore.secretName,
      RAM_ROLE: cp.secretStore.ramRole,
      // Master-0 inits only while this secret does not exist (k8s-bootstrap-master.sh join_secret_state).
      JOIN_SECRET: joinTokenSecretName(c.clusterName),
      WORKER_TOKEN_UNIT: `${WORKER_TOKEN_UNIT}.service`,
      CLUSTER_PROBES: 18,
      IMAGE_REPO: c.imageRepository,
    }),
  });
  return `${head}${scriptFile(path.join(SCRIPTS, n.role === "worker" ? "k8s-bootstrap-worker.sh" : "k8s-bootstrap-master.sh"))}`;
}
