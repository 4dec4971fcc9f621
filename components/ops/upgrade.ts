// The Kubernetes upgrade of a stack's cluster, one minor at a time, as the ordered steps
// kubeadm's upgrade procedure asks for (kubernetes.io "Upgrading kubeadm clusters"):
// package repository of the new minor, the approved-versions list the policy pack checks,
// `kubeadm upgrade apply` on the first master, `kubeadm upgrade node` on every other
// master and then every worker, each drained while its kubelet is replaced, and last the
// config version, so nodes created afterwards bootstrap with the new release. Running
// nodes are never replaced by Pulumi (user data changes are ignored), so the config
// edit only changes the version tags and what new nodes install.
import { defaultPackageRepository } from "../config/stackConfig";
import { nodeName } from "../cluster/nodePool";

export interface UpgradeRequest {
  stack: string;
  /** The config's platform:kubernetes.version, e.g. 1.35.4. */
  currentVersion: string;
  /** Target full version, e.g. 1.36.0. */
  targetVersion: string;
  /** The config's packageRepository, when set explicitly (a mirror); else pkgs.k8s.io by minor. */
  packageRepository?: string;
  masterCount: number;
  pools: { name: string; count: number }[];
  /** The versions policies/config/prod.json approves now. */
  approvedVersions: string[];
}

const VERSION = /^1\.(\d+)\.(\d+)$/;

function parse(v: string, what: string): { minor: number; patch: number } {
  const m = VERSION.exec(v);
  if (!m) throw new Error(`upgrade-plan: ${what} ${JSON.stringify(v)} is not a full version like 1.36.0`);
  return { minor: Number(m[1]), patch: Number(m[2]) };
}

/** The package repository for `version`'s minor, keeping a mirror's base. */
export function repositoryFor(version: string, current?: string): string {
  const minor = version.split(".").slice(0, 2).join(".");
  if (current === undefined) return defaultPackageRepository(version);
  if (!/\/v1\.\d+\//.test(current)) throw new Error(`upgrade-plan: platform:kubernetes.packageRepository ${current} has no /v1.NN/ to move to v${minor}`);
  return current.replace(/\/v1\.\d+\//, `/v${minor}/`);
}

/** The ordered upgrade steps; throws when the target skips a minor or goes backwards. */
export function upgradePlan(req: UpgradeRequest): string[] {
  const from = parse(req.currentVersion, "platform:kubernetes.version");
  const to = parse(req.targetVersion, "target version");
  if (to.minor < from.minor || (to.minor === from.minor && to.patch <= from.patch)) {
    throw new Error(`upgrade-plan: ${req.stack} runs ${req.currentVersion}; ${req.targetVersion} is not newer (kubeadm does not downgrade)`);
  }
  if (to.minor > from.minor + 1) {
    throw new Error(
      `upgrade-plan: ${req.currentVersion} -> ${req.targetVersion} skips 1.${from.minor + 1}; kubeadm upgrades one minor at a time: ` +
        `upgrade to the latest 1.${from.minor + 1}.x first`,
    );
  }
  const v = req.targetVersion;
  const repoNow = req.packageRepository ?? defaultPackageRepository(req.currentVersion);
  const repo = repositoryFor(v, req.packageRepository);
  const masters = Array.from({ length: req.masterCount }, (_, i) => nodeName(req.stack, "master", i));
  const workers = req.pools.flatMap((p) => Array.from({ length: p.count }, (_, i) => nodeName(req.stack, p.name, i)));
  const pkg = `pkg=$(apt-cache madison kubeadm | awk '$3 ~ /^${v.replace(/\./g, "\\.")}-/ { print $3; exit }')`;
  const install = (what: string) =>
    `apt-mark unhold ${what} && apt-get install -y ${what
      .split(" ")
      .map((p) => `${p}="$pkg"`)
      .join(" ")} && apt-mark hold ${what}`;
  const kubelet = [`      ${install("kubelet kubectl")}`, "      systemctl daemon-reload && systemctl restart kubelet"];
  const drained = (node: string, body: string[]) => [
    `   kubectl drain ${node} --ignore-daemonsets --delete-emptydir-data --timeout=20m`,
    `   on ${node}:`,
    ...body,
    `   kubectl uncordon ${node}`,
  ];
  const lines: string[] = [
    `Upgrade of ${req.stack}: ${req.currentVersion} -> ${v}${to.minor === from.minor ? " (patch)" : ` (minor 1.${from.minor} -> 1.${to.minor})`}`,
    "",
    "0. Take a fresh etcd snapshot first (docs/runbooks/certificates-and-backups.md, etcd restore):",
    `   on ${masters[0]}: systemctl start etcd-backup.service && journalctl -u etcd-backup -n 5`,
    "",
    "1. Package repository, on every node (the apt repositories are per minor):",
  ];
  if (repo === repoNow) lines.push(`   unchanged: ${repo}`);
  else {
    lines.push(
      `   curl -fsSL ${repo}Release.key -o /etc/apt/keyrings/kubernetes-apt-keyring.asc`,
      `   echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.asc] ${repo} /" >/etc/apt/sources.list.d/kubernetes.list`,
    );
  }
  lines.push(`   apt-get update && ${pkg} && echo "$pkg"   # every node below uses this $pkg`);
  lines.push(
    "",
    "2. Approve the version in the policy pack (kubernetes-baseline.kubernetesVersions):",
    `   policies/config/prod.json: [${req.approvedVersions.join(", ")}] -> [${[...new Set([...req.approvedVersions, v])].join(", ")}]`,
    "   (and policies/config/nonprod.json when it lists versions); drop the old version after step 6.",
    "",
    `3. First master, ${masters[0]}:`,
    `   on ${masters[0]}:`,
    `      ${install("kubeadm")}`,
    `      kubeadm upgrade plan v${v}`,
    `      kubeadm upgrade apply -y v${v}`,
    ...drained(masters[0], kubelet),
  );
  lines.push("", "4. The other masters, one at a time (each back Ready before the next):");
  for (const m of masters.slice(1)) {
    lines.push(`   on ${m}:`, `      ${install("kubeadm")}`, "      kubeadm upgrade node", ...drained(m, kubelet));
  }
  if (masters.length === 1) lines.push("   (none)");
  lines.push("", `5. Workers, one at a time (${workers.length} nodes):`);
  for (const w of workers) {
    lines.push(...drained(w, [`      ${install("kubeadm")}`, "      kubeadm upgrade node", ...kubelet]));
  }
  lines.push(
    "",
    "6. The config version (a PR; CI previews only tag changes, no replacement):",
    `   Pulumi.${req.stack}.yaml: platform:kubernetes.version: ${req.currentVersion} -> ${v}`,
  );
  if (req.packageRepository !== undefined && repo !== repoNow)
    lines.push(`   Pulumi.${req.stack}.yaml: platform:kubernetes.packageRepository: ${repoNow} -> ${repo}`);
  lines.push("   kubectl get nodes -o wide   # every node reports the new version");
  return lines;
}
