// The systemd units a node's bootstrap runs under, and the metadata guard.
//
// k8s-bootstrap.service: a oneshot that runs at every boot until its done-marker exists and
// restarts after a failure, so a reboot mid-way resumes and a failed join retries forever
// (visible as a failed/activating unit and in the 0600 log) instead of leaving a dead VM.
//
// k8s-metadata-guard.service: an nftables table, loaded before containerd and the kubelet,
// that keeps pods away from the metadata service 100.100.100.200 (user data, the instance's
// RAM role credentials). Two chains:
// - forward: every routed packet to that address is dropped. The forward hook runs after
//   routing, so after kube-proxy's DNAT in nat prerouting (priority -100, nft(8) "Netfilter
//   hooks"): a Service, an EndpointSlice or an externalIP that leads to the address is caught
//   on its real destination. (The guard before 2026-12-07 matched in prerouting at -300, before
//   DNAT, and a ClusterIP whose endpoint was the metadata address went through.) The node's
//   own packets never pass forward.
// - output, masters only (their role reads the PKI secret): the node's own packets to the
//   address leave only from the cgroup of METADATA_SLICE, the slice of the system services that
//   need the metadata service (METADATA_SLICE_UNITS); everything else, hostNetwork pods in
//   kubepods.slice included, is dropped. nft resolves the slice's path to its cgroup id when the
//   table loads (nftables src/datatype.c cgroupv2_type_parse), so the guard unit starts the
//   slice first; a slice stays active, its cgroup with it, until stopped.
// A table of its own, so kube-proxy and flannel rules cannot reorder it: a drop in any base
// chain at a hook is final (nft(8), "base chains").
// The same file loads a second table, k8s_pod_ipv6_guard (threat model T29): a bridge-family
// forward chain that drops every frame but IPv4 and ARP one port of flannel's bridge cni0
// forwards to another (IPv6 and anything wrapped, such as an 802.1Q VLAN-0 tag around IPv6,
// which the receiving kernel reads as untagged). The clusters are IPv4 only, yet every pod keeps a link-local IPv6 address on eth0,
// and kube-router without --enable-ipv6 programs no ip6tables rule (npc_iptables.go, v2.11.1),
// so a pod on the same node reached another's dual-stack listener (OAP's Netty binds
// in6addr_any) at fe80::...%eth0 past every NetworkPolicy. The bridge family sees frames
// between bridge ports without br_netfilter (nftables wiki "Nftables families", bridge); it
// matches frames entering from a pod's port: flannel delegates to the CNI bridge plugin, which
// names a pod's host-side veth "veth%x" (containernetworking/plugins pkg/ip/link_linux.go
// RandomVethName, read 2026-12-07); `meta ibrname "cni0"` would be narrower but needs the
// nft_meta_bridge module, which not every kernel carries. cni0 is a node's only bridge. IPv4
// and ARP pass, and a pod's own loopback ::1 never crosses the bridge.
import * as path from "path";
import { renderScript, scriptFile } from "../scriptFiles";

const SCRIPTS = path.join(__dirname, "scripts");

export const METADATA_GUARD_PATH = "/etc/k8s-bootstrap/metadata-guard.nft";
export const METADATA_GUARD_UNIT = "k8s-metadata-guard.service";
export const BOOTSTRAP_UNIT = "k8s-bootstrap.service";
/** The slice whose services may reach the metadata service from a master. */
export const METADATA_SLICE = "k8s-metadata.slice";
/**
 * The system services in METADATA_SLICE, and why each needs the metadata service: the
 * bootstrap (the role's credentials for the KMS secret; its unit sets Slice=), the etcd backup
 * (credentials for OSS; etcdBackup.ts sets Slice=), the worker join token refresh (credentials for
 * the token's KMS secret; workerToken.ts sets Slice=), cloud-init (re-reads the instance identity at
 * every boot; a drop-in the bootstrap writes). The certificate renewal needs no metadata
 * (kubeadm-cert-renew.sh talks to the local and peer api-servers only), so it is not here.
 */
export const METADATA_SLICE_UNITS = [
  "k8s-bootstrap.service",
  "etcd-backup.service",
  "k8s-worker-token.service",
  "cloud-init-local.service",
  "cloud-init.service",
] as const;
/** The units that get METADATA_SLICE through a drop-in (the others set it in their own unit). */
export const METADATA_SLICE_DROPINS = ["cloud-init-local.service", "cloud-init.service"] as const;

/**
 * scripts/metadata-guard.nft (idempotent: it recreates its own table), with the output chain of
 * scripts/metadata-guard-output.nft on masters only. The files spell METADATA_ADDRESS and
 * METADATA_SLICE out (test/scriptFiles.test.ts checks them against the constants): no variables
 * block, whose nft `define` lines would change every node's user data, and no comments, since a
 * node gets the files byte for byte; their why is this module's header.
 */
export function metadataGuardRules(opts: { controlPlane: boolean }): string {
  const output = opts.controlPlane ? scriptFile(path.join(SCRIPTS, "metadata-guard-output.nft")) : null;
  return renderScript(path.join(SCRIPTS, "metadata-guard.nft"), null, { documents: { "masters-output-chain": output } });
}

/** scripts/k8s-metadata-guard.service: loads METADATA_GUARD_PATH before containerd and the kubelet. */
export function metadataGuardUnit(): string {
  return scriptFile(path.join(SCRIPTS, METADATA_GUARD_UNIT));
}

/** scripts/k8s-bootstrap.service: runs BOOTSTRAP_SCRIPT_PATH until BOOTSTRAP_STATE_DIR/done exists. */
export function bootstrapUnit(): string {
  return scriptFile(path.join(SCRIPTS, BOOTSTRAP_UNIT));
}
