// Alerts for the day-2 jobs on the masters: the etcd backup and the kubeadm certificate
// renewal. Both scripts write node-exporter textfile metrics (components/cluster/etcdBackup.ts,
// certRenewal.ts) into /var/lib/node_exporter/textfile_collector, which node-exporter reads
// through its host-root mount (prometheus-node-exporter 4.55.1, the kube-prometheus-stack
// 87.12.5 dependency, mounts / at /host/root; see day2NodeExporterArgs). Pure, like alertRules.ts.
import type { AlertRule, RuleGroup } from "./alertRules";
import { BACKUP_SUCCESS_METRIC, parseBackupSchedule, TEXTFILE_COLLECTOR_DIR } from "../cluster/etcdBackup";
import { CERT_EXPIRY_METRIC } from "../cluster/certRenewal";

/** Alert when a kubeadm certificate has fewer days left than this. */
export const CERT_ALERT_DAYS = 30;

const CLUSTER = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** A Prometheus duration for a number of seconds ("2h", "30m"). */
function duration(seconds: number): string {
  return seconds % 3600 === 0 ? `${seconds / 3600}h` : `${seconds / 60}m`;
}

function backupRules(cluster: string, periodSeconds: number): AlertRule[] {
  const twice = 2 * periodSeconds;
  return [
    {
      alert: "EtcdBackupStale",
      expr: `time() - max by (instance) (${BACKUP_SUCCESS_METRIC}) > ${twice}`,
      labels: { severity: "critical", cluster },
      annotations: {
        summary: `etcd backup on {{ $labels.instance }} is stale in cluster ${cluster}`,
        description:
          `The last successful etcd snapshot upload from {{ $labels.instance }} was {{ $value | humanizeDuration }} ago, ` +
          `more than twice the ${duration(periodSeconds)} schedule. Check \`journalctl -u etcd-backup\` on that master.`,
      },
    },
    {
      // No master has ever reported a backup: the timer never ran, or the textfile collector is not reading it.
      alert: "EtcdBackupNeverSucceeded",
      expr: `absent(${BACKUP_SUCCESS_METRIC})`,
      for: duration(twice),
      labels: { severity: "critical", cluster },
      annotations: {
        summary: `No etcd backup reported in cluster ${cluster}`,
        description: `No master has reported a successful etcd backup for ${duration(twice)}; the cluster has no restorable snapshot.`,
      },
    },
  ];
}

function certRules(cluster: string): AlertRule[] {
  return [
    {
      alert: "KubeadmCertificateExpiresSoon",
      expr: `min by (instance, cert) (${CERT_EXPIRY_METRIC}) - time() < ${CERT_ALERT_DAYS * 86400}`,
      labels: { severity: "critical", cluster },
      annotations: {
        summary: `Certificate {{ $labels.cert }} on {{ $labels.instance }} expires soon in cluster ${cluster}`,
        description:
          `{{ $labels.cert }} on {{ $labels.instance }} expires in {{ $value | humanizeDuration }}; the renewal timer ` +
          `(kubeadm-cert-renew) should have renewed it at 90 days. Run it by hand (README, Operations).`,
      },
    },
  ];
}

/** The day-2 rule groups of a cluster whose masters back up etcd every `schedule`. */
export function day2AlertRules(cluster: string, schedule: string): RuleGroup[] {
  if (typeof cluster !== "string" || !CLUSTER.test(cluster)) {
    throw new Error(`day-2 alert rules: cluster must be a DNS-style name such as "prod1", got ${JSON.stringify(cluster)}`);
  }
  const { seconds } = parseBackupSchedule(schedule);
  return [
    { name: `platform-etcd-backup.${cluster}`, rules: backupRules(cluster, seconds) },
    { name: `platform-certificates.${cluster}`, rules: certRules(cluster) },
  ];
}

/**
 * `prometheus-node-exporter.extraArgs` for kube-prometheus-stack 87.12.5. Helm replaces
 * lists, so the chart's own two arguments (values.yaml, `prometheus-node-exporter.extraArgs`)
 * are repeated before the textfile directory, which is read through the host-root mount
 * at /host/root (prometheus-node-exporter 4.55.1 templates/daemonset.yaml, hostRootFsMount).
 */
export function day2NodeExporterArgs(): string[] {
  return [
    "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run/containerd/.+|var/lib/docker/.+|var/lib/kubelet/.+)($|/)",
    "--collector.filesystem.fs-types-exclude=^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs|erofs)$",
    `--collector.textfile.directory=/host/root${TEXTFILE_COLLECTOR_DIR}`,
  ];
}
