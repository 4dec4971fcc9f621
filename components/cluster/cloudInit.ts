// cloud-init user data that turns a fresh Ubuntu 22.04 ECS VM into a Kubernetes node.
// Nothing SSHes into the VMs (the machine running Pulumi has no route to them), so each
// VM bootstraps itself: containerd + pinned kubeadm/kubelet/kubectl, then `kubeadm init`
// on the first master or `kubeadm join` everywhere else. Pure, so the text is checked by
// `cloud-init schema` and `shellcheck` in the tests.
//
// Note: ECS user data stays readable from the metadata service (100.100.100.200) and through
// ecs:DescribeUserData for the VM's lifetime, so it holds no key that can mint credentials:
// masters read those from KMS at boot (bootstrapScript.ts). No user data holds a join token:
// a worker reads the masters' short-lived one from KMS at boot (workerToken.ts); pods cannot
// reach the metadata service at all (bootstrapUnits.ts).

import { ADMISSION_CONFIG_PATH, admissionConfiguration } from "./podSecurity";
import { gunzipSync, gzipSync } from "zlib";
import YAML from "yaml";
import type { ClusterBootstrap, NodeBootstrap } from "./kubeadm";
import {
  AUDIT_POLICY_PATH,
  KUBEADM_CONFIG_PATH,
  KUBEADM_INIT_CONFIG_PATH,
  kubernetesMinor,
  renderInitConfiguration,
  renderJoinConfiguration,
  validateClusterBootstrap,
  validateNodeBootstrap,
} from "./kubeadm";
import { BOOTSTRAP_SCRIPT_PATH, bootstrapScript } from "./bootstrapScript";
import { auditPolicy } from "./auditPolicy";
import { withoutComments } from "./masterDay2";
import { HAPROXY_APPLY_PATH, haproxyApplyScript, HAPROXY_TEMPLATE_PATH } from "./haproxyRollout";
import { METADATA_GUARD_TAG } from "../../policies/rules/threats";
import { BOOTSTRAP_UNIT, bootstrapUnit, METADATA_GUARD_PATH, METADATA_GUARD_UNIT, metadataGuardRules, metadataGuardUnit } from "./bootstrapUnits";

export type { ClusterBootstrap, NodeBootstrap } from "./kubeadm";

/**
 * Our budget for a node's user data (the raw text, before Base64), under ECS's limit.
 * The limit: ECS "Instance user data" (help/en/ecs/user-guide/overview-of-ecs-instance-user-data,
 * updated 2024-06-07, as read by the issue 28 review on 2026-12-07): "Before user data is encoded
 * in Base64, the user data can only be up to 32 KB". An older, undated page (help/doc-detail/49121.htm)
 * says 16 KB; this round's fixes (the guard after DNAT, OSS V4, the KMS client's errors, the etcd
 * member removal) put master-0 past 16 KiB, so the newer page decides it, and the first real
 * `pulumi up` of a master confirms it (docs/runbooks/first-bring-up.md, set-up prerequisites). 24 KiB leaves 8 KiB
 * under the documented limit for a 4096-bit CA and growth; test/cluster/cloudInit.test.ts holds
 * every stack to it.
 */
export const USER_DATA_LIMIT_BYTES = 24 * 1024;
export { BOOTSTRAP_LOG_PATH, BOOTSTRAP_SCRIPT_PATH, bootstrapScript } from "./bootstrapScript";
/**
 * containerd from the Ubuntu archive, pinned to this version prefix and held (apt-mark):
 * Kubernetes 1.35 is the last release supporting containerd 1.x (EKS 1.35 notes, kubeadm#3229),
 * so moving to 2.x is a decision made in config, never an unattended upgrade. jammy ships 1.7.
 */
export const DEFAULT_CONTAINERD_VERSION = "1.7.";

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

interface WriteFile {
  path: string;
  content: string;
  owner: string;
  permissions: string;
  encoding?: "gz+b64";
}

function file(path: string, content: string, permissions: string): WriteFile {
  return { path, content, owner: "root:root", permissions };
}

/**
 * gzip+base64 (cloud-init write_files `encoding: gz+b64`): the bootstrap text would not fit the budget as is.
 * A text that names its node (a master's bootstrap script) is compressed without the cache: kept, such
 * texts would push out the ones every node shares.
 */
function gzFile(path: string, content: string, permissions: string, perNode = false): WriteFile {
  const b64 = perNode ? gzipSync(Buffer.from(content), { level: 9 }).toString("base64") : gzB64(content);
  return { path, content: b64, owner: "root:root", permissions, encoding: "gz+b64" };
}

/** Compressed texts by source text: most files are the same on every node of a cluster (see gzB64). */
const compressed = new Map<string, string>();

/**
 * gzip level 9, base64. Fixed gzip header (no mtime): the same text always gives
 * the same user data, so a text every node carries (containerd's config, the
 * guard, the units) is compressed once per run, not once per node (at 1000
 * workers these repeats were most of the rendering's time, BENCHMARKS.md).
 */
function gzB64(content: string): string {
  return cached(compressed, content, 256, () => gzipSync(Buffer.from(content), { level: 9 }).toString("base64"));
}

/** The value under `key`, computed once; a cache at `limit` entries is emptied first (the next node refills what it shares). */
function cached(cache: Map<string, string>, key: string, limit: number, compute: () => string): string {
  let value = cache.get(key);
  if (value === undefined) {
    value = compute();
    if (cache.size >= limit) cache.clear();
    cache.set(key, value);
  }
  return value;
}

/** A write_files entry's text, decoded when it is gz+b64 (tests and the preview read it). */
export function writeFileText(entry: { content: string; encoding?: string }): string {
  return entry.encoding === "gz+b64" ? gunzipSync(Buffer.from(entry.content, "base64")).toString("utf8") : entry.content;
}

/** More files and commands for a node (a master's day-2 timers, components/cluster/masterDay2.ts); run after the bootstrap. */
export interface UserDataExtras {
  files: object[];
  runcmd: string[][];
}

/** Node settings outside kubeadm's: the containerd version prefix. */
/**
 * The tag a node carries because renderUserData installs the metadata guard (METADATA_GUARD_PATH and
 * METADATA_GUARD_UNIT) in every node's user data, whatever its role: the
 * `metadata-guard` policy refuses a Kubernetes node without it (docs/threat-model.md, T12). Its value is
 * the unit's name, not a digest of the rules: user data runs once, so a digest would claim rules the
 * running node never loaded.
 */
export function metadataGuardTags(): Record<string, string> {
  return { [METADATA_GUARD_TAG]: METADATA_GUARD_UNIT };
}

export interface NodeSettings {
  containerdVersion?: string;
}

/** A worker's bootstrap script without comments, by its text: a cluster's workers share one (it names no node). */
const uncommentedScripts = new Map<string, string>();

function uncommented(script: string, perNode: boolean): string {
  return perNode ? withoutComments(script) : cached(uncommentedScripts, script, 16, () => withoutComments(script));
}

// No anchors: assembled entry by entry, an object two entries share would carry the same anchor twice,
// which PyYAML (cloud-init's parser) refuses. The program shares none today, so the bytes are the library's.
const YAML_OPTIONS = { lineWidth: 0, aliasDuplicateObjects: false } as const;

/** YAML of the parts every node of a role and cluster shares (a top-level pair, a write_files entry), by their JSON. */
const sharedYaml = new Map<string, string>();

/** Empties the render caches (tests render the same nodes cold and warm). */
export function resetRenderCaches(): void {
  sharedYaml.clear();
  uncommentedScripts.clear();
  compressed.clear();
}

function rendered(id: string, render: () => string): string {
  return cached(sharedYaml, id, 256, render);
}

/**
 * `#cloud-config` and the document's YAML: byte for byte `YAML.stringify(doc, YAML_OPTIONS)`
 * (test/cluster/cluster.test.ts round-trips every node's user data of the six stacks through the library),
 * put together from the rendering of each top-level pair and of each write_files entry, since a block mapping
 * is its pairs' texts in order and a block sequence its items'. What is not in `perNode` (the hostname, the
 * entries that name the node) is rendered once per run: at 1000 workers rendering the same parts again was
 * most of the YAML time (BENCHMARKS.md).
 */
function cloudConfig(doc: Record<string, unknown>, perNode: Set<unknown>): string {
  let out = "#cloud-config\n";
  for (const [key, value] of Object.entries(doc)) {
    if (key !== "write_files") {
      const render = () => YAML.stringify({ [key]: value }, YAML_OPTIONS);
      out += perNode.has(key) ? render() : rendered(JSON.stringify([key, value]), render);
      continue;
    }
    out += "write_files:\n";
    for (const entry of value as object[]) {
      const render = () => YAML.stringify({ write_files: [entry] }, YAML_OPTIONS).slice("write_files:\n".length);
      out += perNode.has(entry) ? render() : rendered(JSON.stringify(["write_files", entry]), render);
    }
  }
  return out;
}

/** The node's complete user data: "#cloud-config" followed by YAML. */
export function renderUserData(c: ClusterBootstrap, n: NodeBootstrap, extras?: UserDataExtras, settings: NodeSettings = {}): string {
  validateClusterBootstrap(c);
  validateNodeBootstrap(c, n);
  const master = n.role !== "worker";
  const containerdVersion = settings.containerdVersion ?? DEFAULT_CONTAINERD_VERSION;
  if (!/^\d+\.\d+(\.\d+)?[.-]?$/.test(containerdVersion))
    throw new Error(`containerdVersion: ${JSON.stringify(containerdVersion)} is not a version prefix like "1.7." or "1.7.28"`);
  // The join configuration names the node, and so does a master's bootstrap script: rendered per node. Every
  // other entry is the same on each node of a role and cluster (see cloudConfig).
  const join = file(KUBEADM_CONFIG_PATH, renderJoinConfiguration(c, n), "0600");
  const files: WriteFile[] = [
    file("/etc/modules-load.d/k8s.conf", `${MODULES.join("\n")}\n`, "0644"),
    file("/etc/sysctl.d/99-kubernetes.conf", `${SYSCTLS.join("\n")}\n`, "0644"),
    gzFile("/etc/containerd/config.toml", containerdConfig(c), "0644"),
    // No token in it: the placeholder is replaced at boot (a master mints one, a worker reads the masters' from KMS).
    join,
  ];
  if (master) {
    files.push(gzFile(KUBEADM_INIT_CONFIG_PATH, renderInitConfiguration(c, n), "0600"));
    files.push(gzFile(AUDIT_POLICY_PATH, auditPolicy(), "0600"));
    files.push(gzFile(ADMISSION_CONFIG_PATH, admissionConfiguration(), "0600"));
  }
  files.push(gzFile(METADATA_GUARD_PATH, metadataGuardRules({ controlPlane: master }), "0600"));
  files.push(gzFile(`/etc/systemd/system/${METADATA_GUARD_UNIT}`, metadataGuardUnit(), "0644"));
  files.push(gzFile(`/etc/systemd/system/${BOOTSTRAP_UNIT}`, bootstrapUnit(), "0644"));
  // Without its comments: the commented source is bootstrapScript.ts, and the budget is tight.
  const script = gzFile(BOOTSTRAP_SCRIPT_PATH, uncommented(bootstrapScript(c, n, { containerdVersion }), master), "0700", master);
  files.push(script);
  const perNode = new Set<unknown>(["hostname", join, ...(master ? [script] : []), ...(extras?.files ?? [])]);

  const doc = {
    hostname: n.hostname,
    // The Alibaba datasource would otherwise set the instance's own hostname; the Node
    // name must be the stable pool name (prod1-general-3).
    preserve_hostname: false,
    manage_etc_hosts: true,
    write_files: [...files, ...(extras?.files ?? [])],
    // The unit, not runcmd, runs the bootstrap: it reruns after a reboot until done.
    runcmd: [
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", METADATA_GUARD_UNIT, BOOTSTRAP_UNIT],
      ["systemctl", "start", "--no-block", BOOTSTRAP_UNIT],
      ...(extras?.runcmd ?? []),
    ],
  };
  const text = cloudConfig(doc, perNode);
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > USER_DATA_LIMIT_BYTES) {
    throw new Error(`user data for ${n.hostname} is ${bytes} bytes, over the ${USER_DATA_LIMIT_BYTES}-byte budget (ECS takes at most 32 KB before Base64)`);
  }
  return text;
}

function ensureNewline(s: string): string {
  return s.endsWith("\n") ? s : `${s}\n`;
}

/**
 * User data of an api-server front VM: Debian/Ubuntu's haproxy package and the rendered
 * haproxy.cfg, installed by haproxy-apply (haproxyRollout.ts), which checks it with
 * `haproxy -c` before HAProxy reloads. Runs at first boot only; later configs arrive
 * through Cloud Assistant (ApiServerFront's rollout).
 */
export function renderHaproxyUserData(hostname: string, haproxyCfg: string): string {
  const doc = {
    hostname,
    preserve_hostname: false,
    manage_etc_hosts: true,
    package_update: true,
    // curl: haproxy-apply checks the SLB check port after a reload.
    packages: ["haproxy", "curl"],
    write_files: [
      // The rendered config with the stats password as a placeholder (haproxyRollout.ts): no
      // secret in user data. haproxy-apply fills it in, validates, installs and reloads; the
      // same script applies later configs through Cloud Assistant, one VM at a time.
      file(HAPROXY_TEMPLATE_PATH, ensureNewline(haproxyCfg), "0640"),
      file(HAPROXY_APPLY_PATH, haproxyApplyScript(), "0755"),
      // The package's master process runs as root and raises the fd limit itself; say so
      // explicitly for the ~2 descriptors per connection that maxconn implies.
      file("/etc/systemd/system/haproxy.service.d/limits.conf", "[Service]\nLimitNOFILE=100000\n", "0644"),
    ],
    runcmd: [
      ["systemctl", "daemon-reload"],
      [HAPROXY_APPLY_PATH, HAPROXY_TEMPLATE_PATH],
    ],
  };
  const text = `#cloud-config\n${YAML.stringify(doc, { lineWidth: 0 })}`;
  if (Buffer.byteLength(text, "utf8") > USER_DATA_LIMIT_BYTES) throw new Error(`user data for ${hostname} is over the ${USER_DATA_LIMIT_BYTES}-byte budget`);
  return text;
}
