// The systemd units a node's bootstrap runs under, and the metadata guard.
//
// k8s-bootstrap.service: a oneshot that runs at every boot until its done-marker exists and
// restarts after a failure, so a reboot mid-way resumes and a failed join retries forever
// (visible as a failed/activating unit and in the 0600 log) instead of leaving a dead VM.
//
// k8s-metadata-guard.service: an nftables table, loaded before containerd and the kubelet,
// that drops traffic from the pod network to the metadata service 100.100.100.200. It hooks
// prerouting, which sees packets arriving on an interface (cni0, flannel.1) but never the
// node's own: the node and hostNetwork pods (which Pod Security baseline keeps out of app
// namespaces) still reach the metadata service, pods do not. A table of its own, so kube-proxy
// and flannel rules cannot reorder it: a drop in any base chain at a hook is final (nft(8),
// "base chains"). Priority -300 runs before conntrack (-200), so no established-flow accept
// can come first.
import * as path from "path";
import { METADATA_ADDRESS } from "../network/ports";
import { scriptFile } from "../scriptFiles";

const SCRIPTS = path.join(__dirname, "scripts");

export const METADATA_GUARD_PATH = "/etc/k8s-bootstrap/metadata-guard.nft";
export const METADATA_GUARD_UNIT = "k8s-metadata-guard.service";
export const BOOTSTRAP_UNIT = "k8s-bootstrap.service";

/** The nft script (idempotent: it recreates its own table). */
export function metadataGuardRules(podCidr: string): string {
  return [
    "#!/usr/sbin/nft -f",
    "# Pods may not reach the ECS metadata service (user data, RAM role credentials).",
    "table inet k8s_metadata_guard",
    "delete table inet k8s_metadata_guard",
    "table inet k8s_metadata_guard {",
    "  chain prerouting {",
    "    type filter hook prerouting priority -300; policy accept;",
    `    ip saddr ${podCidr} ip daddr ${METADATA_ADDRESS} counter drop`,
    "  }",
    "}",
    "",
  ].join("\n");
}

/** scripts/k8s-metadata-guard.service: loads METADATA_GUARD_PATH before containerd and the kubelet. */
export function metadataGuardUnit(): string {
  return scriptFile(path.join(SCRIPTS, METADATA_GUARD_UNIT));
}

/** scripts/k8s-bootstrap.service: runs BOOTSTRAP_SCRIPT_PATH until BOOTSTRAP_STATE_DIR/done exists. */
export function bootstrapUnit(): string {
  return scriptFile(path.join(SCRIPTS, BOOTSTRAP_UNIT));
}
