// Cross-key rules for where things run and what they need: app placement on
// node pools (`platform:apps.<app>.pool`), the ESSD StorageClass behind
// Prometheus, and ks-core's version, which only the host sets.
import { ESSD_MIN_GIB, ESSD_STORAGE_CLASS } from "../k8s/diskCsi";
import { PlatformSettings } from "./schema";
import { PROJECT } from "./keys";
import { strandedApps } from "../../policies/rules/capacity";

type Settings = Partial<PlatformSettings>;

/** Taints that keep pods off a node (PreferNoSchedule only discourages them). */
const REPELLING = new Set(["NoSchedule", "NoExecute"]);

/**
 * Every app's pool exists and has labels to select it by; every pool that repels pods (a NoSchedule or
 * NoExecute taint, count > 0) is some app's pool. An error, not a warning: such a pool runs only the
 * DaemonSets that tolerate everything (fluent-bit, flannel, node-exporter), so its nodes are paid for and
 * idle, which is never what the stack file meant, and the fix is one `pool:` line (or count 0).
 */
export function placementProblems(s: Settings, unparsed: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  // A platform:nodePools that failed to parse is reported by its own key.
  if (s.nodePools === undefined) return out;
  const pools = s.nodePools;
  const apps = Object.entries(s.apps ?? {});
  for (const [app, a] of apps) {
    if (a.pool === undefined) continue;
    const pool = pools.find((p) => p.name === a.pool);
    if (!pool)
      out.push(`${PROJECT}:apps.${app}.pool: no node pool "${a.pool}" in ${PROJECT}:nodePools (pools: ${pools.map((p) => p.name).join(", ") || "none"})`);
    else if (Object.keys(pool.labels ?? {}).length === 0) {
      out.push(
        `${PROJECT}:apps.${app}.pool: pool "${a.pool}" has no labels to select it by; give ${PROJECT}:nodePools[${pools.indexOf(pool)}].labels one, e.g. node.kubernetes.io/pool: ${a.pool}`,
      );
    }
  }
  // T18: a pinned app's pool with no nodes (count 0), decided by the function scale-in and the pack use.
  const pinned = apps.flatMap(([app, a]) => {
    const pool = pools.find((p) => p.name === a.pool);
    if (!pool || Object.keys(pool.labels ?? {}).length === 0) return [];
    const tolerations = (pool.taints ?? []).map((t) => ({
      key: t.key,
      operator: t.value === undefined ? "Exists" : "Equal",
      value: t.value,
      effect: t.effect,
    }));
    return [{ app, pod: { nodeSelector: pool.labels, tolerations }, pool }];
  });
  for (const { app, pod, pool } of pinned) {
    for (const m of strandedApps([{ app, pod }], pools, `in ${PROJECT}:nodePools`))
      out.push(`${PROJECT}:nodePools[${pools.indexOf(pool)}].count: is ${pool.count} under ${PROJECT}:apps.${app}.pool: ${pool.name}; ${m}`);
  }
  // platform:apps that failed to parse says nothing about which pools its apps use: "no app runs there" would be a false line.
  if (!s.env || s.env === "host" || unparsed.has("apps")) return out;
  pools.forEach((p, i) => {
    const repelling = (p.taints ?? []).filter((t) => REPELLING.has(t.effect));
    if (p.count === 0 || repelling.length === 0) return;
    if (!apps.some(([, a]) => a.pool === p.name)) {
      const t = repelling[0];
      out.push(
        `${PROJECT}:nodePools[${i}].taints: pool "${p.name}" is tainted ${t.key}${t.value ? `=${t.value}` : ""}:${t.effect} but no app runs there; set ${PROJECT}:apps.<app>.pool: ${p.name} (or remove the taint)`,
      );
    }
  });
  return out;
}

/** The ESSD class exists only with the disk CSI driver, and an ESSD PL1 disk is at least 20 GiB. */
export function storageProblems(s: Settings): string[] {
  const m = s.monitoring;
  if (m?.storageClass !== ESSD_STORAGE_CLASS) return [];
  const out: string[] = [];
  if (!s.diskCsi?.enabled)
    out.push(`${PROJECT}:monitoring.storageClass: "${ESSD_STORAGE_CLASS}" needs ${PROJECT}:diskCsi.enabled: true (the driver provisions it)`);
  const gi = /^(\d+)Gi$/.exec(m.storageSize ?? "");
  if (!gi || Number(gi[1]) < ESSD_MIN_GIB) {
    out.push(`${PROJECT}:monitoring.storageSize: an ESSD volume is ${ESSD_MIN_GIB}Gi or more, in Gi (e.g. 100Gi); got ${JSON.stringify(m.storageSize)}`);
  }
  return out;
}

/** Members' ks-core comes from the host's controller and the host's bundled chart: a member version would be ignored. */
export function kubesphereVersionProblems(s: Settings): string[] {
  return s.env !== undefined && s.env !== "host" && s.kubesphere?.version !== undefined
    ? [`${PROJECT}:kubesphere.version: only the host sets it; a member's ks-core is installed by the host's cluster controller from the host's chart`]
    : [];
}
