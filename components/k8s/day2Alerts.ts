// Alerts for the day-2 jobs on the masters: the etcd backup and the kubeadm certificate
// renewal. Both scripts write node-exporter textfile metrics (components/cluster/etcdBackup.ts,
// certRenewal.ts) into /var/lib/node_exporter/textfile_collector, which node-exporter reads
// through its host-root mount (prometheus-node-exporter 4.55.1, the kube-prometheus-stack
// 87.12.5 dependency, mounts / at /host/root; see day2NodeExporterArgs). Pure, like alertRules.ts.
import { X509Certificate } from "crypto";
import type { AlertRule, RuleGroup } from "./alertRules";
import { BACKUP_SUCCESS_METRIC, parseBackupSchedule, TEXTFILE_COLLECTOR_DIR } from "../cluster/etcdBackup";
import { CERT_EXPIRY_METRIC } from "../cluster/certRenewal";

/** Alert when a kubeadm certificate has fewer days left than this. */
export const CERT_ALERT_DAYS = 30;
/**
 * A CA's warning and page lead times. Rotating a CA is a multi-step procedure across
 * every kubelet, kubeconfig and client (kubernetes.io, "Manual Rotation of CA
 * Certificates"; kubeadm does not rotate CAs), which takes longer than a month.
 */
export const CA_WARN_DAYS = 365;
export const CA_PAGE_DAYS = 90;
/** The CAs' `cert` label values as certRenewal.ts exports them (etcd/ca -> etcd-ca). */
const CA_CERTS = "ca|front-proxy-ca|etcd-ca";
/**
 * A Pulumi-minted client certificate: a warning once `pulumi up` would renew it
 * (pki.ts clientCertArgs, earlyRenewalHours 720 = 30 days), a page a week before it expires.
 */
export const CLIENT_CERT_WARN_DAYS = 30;
export const CLIENT_CERT_PAGE_DAYS = 7;

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

function caRule(cluster: string, alert: string, days: number, severity: string, what: string): AlertRule {
  return {
    alert,
    // The same CA is on every master: one alert per CA.
    expr: `min by (cert) (${CERT_EXPIRY_METRIC}{cert=~"${CA_CERTS}"}) - time() < ${days * 86400}`,
    labels: { severity, cluster },
    annotations: {
      summary: `CA {{ $labels.cert }} expires within ${what} in cluster ${cluster}`,
      description:
        `The {{ $labels.cert }} CA expires in {{ $value | humanizeDuration }}. Nothing renews a CA (it is Pulumi's, protected in prod): ` +
        `plan its rotation across every master, kubelet and kubeconfig now, or build a new cluster (docs/runbooks/certificates-and-backups.md, Certificates).`,
    },
  };
}

function certRules(cluster: string): AlertRule[] {
  return [
    {
      alert: "KubeadmCertificateExpiresSoon",
      expr: `min by (instance, cert) (${CERT_EXPIRY_METRIC}{cert!~"${CA_CERTS}"}) - time() < ${CERT_ALERT_DAYS * 86400}`,
      labels: { severity: "critical", cluster },
      annotations: {
        summary: `Certificate {{ $labels.cert }} on {{ $labels.instance }} expires soon in cluster ${cluster}`,
        description:
          `{{ $labels.cert }} on {{ $labels.instance }} expires in {{ $value | humanizeDuration }}; the renewal timer ` +
          `(kubeadm-cert-renew) should have renewed it at 90 days. Run it by hand (docs/runbooks/certificates-and-backups.md, Certificates).`,
      },
    },
    caRule(cluster, "KubeadmCaExpiresWithinAYear", CA_WARN_DAYS, "warning", "a year"),
    caRule(cluster, "KubeadmCaExpiresSoon", CA_PAGE_DAYS, "critical", `${CA_PAGE_DAYS} days`),
  ];
}

/** A client certificate the program mints: its name in alerts, the stack, and its notAfter (epoch seconds). */
export interface ClientCertificate {
  /** `admin`, `kubesphere-host`. */
  cert: string;
  /** The resource `pulumi up --replace` re-issues, for the description. */
  resource: string;
  /** What stops working when it expires, for the description. */
  usedBy: string;
  notAfter: number;
}

/**
 * Alerts on the client certificates Pulumi mints (the admin kubeconfig's, the KubeSphere host's): they
 * are renewed only by a `pulumi up` of the stack in their last 30 days, so a stack nobody deploys lets them
 * expire. No exporter can see them (they live in stack outputs and the host's KubeSphere), so each notAfter
 * is written into its rule as a constant; the same `pulumi up` that renews a certificate rewrites its rule.
 */
export function clientCertificateRules(cluster: string, certs: ClientCertificate[]): RuleGroup {
  if (typeof cluster !== "string" || !CLUSTER.test(cluster)) {
    throw new Error(`client certificate rules: cluster must be a DNS-style name such as "prod1", got ${JSON.stringify(cluster)}`);
  }
  const rules = certs.flatMap((c): AlertRule[] => {
    if (!Number.isInteger(c.notAfter) || c.notAfter <= 0)
      throw new Error(`client certificate rules: ${c.cert}: notAfter must be epoch seconds, got ${c.notAfter}`);
    const rule = (alert: string, days: number, severity: string, todo: string): AlertRule => ({
      alert,
      expr: `vector(${c.notAfter}) - time() < ${days * 86400}`,
      labels: { severity, cluster, cert: c.cert },
      annotations: {
        summary: `The ${c.cert} client certificate of cluster ${cluster} expires in {{ $value | humanizeDuration }}`,
        description: `${todo} \`pulumi up --stack ${cluster}\` re-issues it (\`--replace\` on ${c.resource} re-issues it at once).`,
      },
    });
    return [
      rule(
        "PulumiClientCertificateRenewalDue",
        CLIENT_CERT_WARN_DAYS,
        "warning",
        "It is in its renewal window and no `pulumi up` of this stack has renewed it yet.",
      ),
      rule("PulumiClientCertificateExpiresSoon", CLIENT_CERT_PAGE_DAYS, "critical", `When it expires, ${c.usedBy} loses access to the cluster.`),
    ];
  });
  return { name: `platform-client-certificates.${cluster}`, rules };
}

/** A PEM certificate's notAfter in epoch seconds. */
export function notAfterOf(certPem: string): number {
  return Math.floor(Date.parse(new X509Certificate(certPem).validTo) / 1000);
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
