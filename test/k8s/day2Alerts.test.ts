// The day-2 alerts judged by Prometheus: `promtool check rules` and `promtool test rules`
// with backup and certificate series that must fire and series that must stay quiet.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { clientCertificateRules, day2AlertRules, day2NodeExporterArgs } from "../../components/k8s/day2Alerts";
import { promtool } from "../support/promtool";

let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "day2-alerts-"))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const BACKUP = "platform_etcd_backup_last_success_timestamp_seconds";
const CERT = "platform_kubeadm_certificate_expiry_timestamp_seconds";
const common = { severity: "critical", cluster: "prod1" };

function unitTests(rulesFile: string) {
  return {
    rule_files: [rulesFile],
    evaluation_interval: "1m",
    tests: [
      {
        // Every 10 minutes: master-0 backs up each hour, master-1's last success is at t=0.
        interval: "10m",
        input_series: [
          { series: `${BACKUP}{instance="10.40.0.10:9100"}`, values: "0x5 3600x5 7200x5 10800x5" },
          { series: `${BACKUP}{instance="10.40.0.11:9100"}`, values: "0x23" },
        ],
        alert_rule_test: [
          { eval_time: "110m", alertname: "EtcdBackupStale", exp_alerts: [] },
          {
            eval_time: "130m",
            alertname: "EtcdBackupStale",
            exp_alerts: [
              {
                exp_labels: { ...common, instance: "10.40.0.11:9100" },
                exp_annotations: {
                  summary: "etcd backup on 10.40.0.11:9100 is stale in cluster prod1",
                  description:
                    "The last successful etcd snapshot upload from 10.40.0.11:9100 was 2h 10m 0s ago, more than twice the 1h schedule. " +
                    "Check `journalctl -u etcd-backup` on that master.",
                },
              },
            ],
          },
          { eval_time: "130m", alertname: "EtcdBackupNeverSucceeded", exp_alerts: [] },
        ],
      },
      {
        // No master reports any backup: pages once that has lasted two periods.
        interval: "10m",
        input_series: [{ series: `up{job="node-exporter"}`, values: "1x30" }],
        alert_rule_test: [
          { eval_time: "1h", alertname: "EtcdBackupNeverSucceeded", exp_alerts: [] },
          {
            eval_time: "2h10m",
            alertname: "EtcdBackupNeverSucceeded",
            exp_alerts: [
              {
                exp_labels: common,
                exp_annotations: {
                  summary: "No etcd backup reported in cluster prod1",
                  description: "No master has reported a successful etcd backup for 2h; the cluster has no restorable snapshot.",
                },
              },
            ],
          },
        ],
      },
    ],
  };
}

/** The leaf certificates over weeks, evaluated hourly (promtool takes about a millisecond per evaluation step). */
function certTests(rulesFile: string) {
  return {
    rule_files: [rulesFile],
    evaluation_interval: "1h",
    tests: [
      {
        // apiserver expires at 40 days, etcd-server at a year: the first alerts under 30 days left.
        interval: "1h",
        input_series: [
          { series: `${CERT}{instance="10.40.0.10:9100",cert="apiserver"}`, values: "3456000x300" },
          { series: `${CERT}{instance="10.40.0.10:9100",cert="etcd-server"}`, values: "31536000x300" },
        ],
        alert_rule_test: [
          { eval_time: "240h", alertname: "KubeadmCertificateExpiresSoon", exp_alerts: [] },
          {
            eval_time: "241h",
            alertname: "KubeadmCertificateExpiresSoon",
            exp_alerts: [
              {
                exp_labels: { ...common, instance: "10.40.0.10:9100", cert: "apiserver" },
                exp_annotations: {
                  summary: "Certificate apiserver on 10.40.0.10:9100 expires soon in cluster prod1",
                  description:
                    "apiserver on 10.40.0.10:9100 expires in 29d 23h 0m 0s; the renewal timer (kubeadm-cert-renew) should have " +
                    "renewed it at 90 days. Run it by hand (docs/runbooks/certificates-and-backups.md, Certificates).",
                },
              },
            ],
          },
        ],
      },
    ],
  };
}

/** The CAs over 400 days, evaluated daily. */
function caTests(rulesFile: string) {
  return {
    rule_files: [rulesFile],
    evaluation_interval: "1d",
    tests: [
      {
        // The cluster CA (on three masters) has 400 days left at t=0, the etcd CA ten years: a warning
        // under a year, a page under 90 days, one alert per CA, and never the leaf certificates' alert.
        interval: "1d",
        input_series: [
          ...["10", "11", "12"].map((m) => ({ series: `${CERT}{instance="10.40.0.${m}:9100",cert="ca"}`, values: "34560000x400" })),
          { series: `${CERT}{instance="10.40.0.10:9100",cert="etcd-ca"}`, values: "315360000x400" },
        ],
        alert_rule_test: [
          { eval_time: "34d", alertname: "KubeadmCaExpiresWithinAYear", exp_alerts: [] },
          {
            eval_time: "36d",
            alertname: "KubeadmCaExpiresWithinAYear",
            exp_alerts: [
              {
                exp_labels: { severity: "warning", cluster: "prod1", cert: "ca" },
                exp_annotations: {
                  summary: "CA ca expires within a year in cluster prod1",
                  description:
                    "The ca CA expires in 364d 0h 0m 0s. Nothing renews a CA (it is Pulumi's, protected in prod): plan its rotation " +
                    "across every master, kubelet and kubeconfig now, or build a new cluster (docs/runbooks/certificates-and-backups.md, Certificates).",
                },
              },
            ],
          },
          { eval_time: "36d", alertname: "KubeadmCaExpiresSoon", exp_alerts: [] },
          { eval_time: "309d", alertname: "KubeadmCaExpiresSoon", exp_alerts: [] },
          {
            eval_time: "311d",
            alertname: "KubeadmCaExpiresSoon",
            exp_alerts: [
              {
                exp_labels: { ...common, cert: "ca" },
                exp_annotations: {
                  summary: "CA ca expires within 90 days in cluster prod1",
                  description:
                    "The ca CA expires in 89d 0h 0m 0s. Nothing renews a CA (it is Pulumi's, protected in prod): plan its rotation " +
                    "across every master, kubelet and kubeconfig now, or build a new cluster (docs/runbooks/certificates-and-backups.md, Certificates).",
                },
              },
            ],
          },
          { eval_time: "385d", alertname: "KubeadmCertificateExpiresSoon", exp_alerts: [] },
        ],
      },
    ],
  };
}

test("promtool check rules accepts the groups", () => {
  fs.writeFileSync(path.join(dir, "rules.yaml"), stringify({ groups: day2AlertRules("prod1", "1h") }));
  const r = promtool(["check", "rules", "rules.yaml"], dir);
  expect(r.out).toContain("SUCCESS: 5 rules found");
  expect(r.status).toBe(0);
});

test("fires and stays quiet as expected under promtool test rules", () => {
  fs.writeFileSync(path.join(dir, "rules.yaml"), stringify({ groups: day2AlertRules("prod1", "1h") }));
  fs.writeFileSync(path.join(dir, "tests.yaml"), stringify(unitTests("rules.yaml")));
  const r = promtool(["test", "rules", "tests.yaml"], dir);
  expect(r.out).toContain("SUCCESS");
  expect(r.status).toBe(0);
});

test("a leaf certificate pages under 30 days; a CA warns a year ahead and pages 90 days ahead, once per CA", () => {
  fs.writeFileSync(path.join(dir, "rules.yaml"), stringify({ groups: day2AlertRules("prod1", "1h") }));
  for (const [file, tests] of [
    ["cert-tests.yaml", certTests("rules.yaml")],
    ["ca-tests.yaml", caTests("rules.yaml")],
  ] as const) {
    fs.writeFileSync(path.join(dir, file), stringify(tests));
    const r = promtool(["test", "rules", file], dir);
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  }
});

test("the same tests fail with a 6h schedule, whose staleness bound is 12h (the test can fail)", () => {
  fs.writeFileSync(path.join(dir, "rules-6h.yaml"), stringify({ groups: day2AlertRules("prod1", "6h") }));
  fs.writeFileSync(path.join(dir, "tests-6h.yaml"), stringify(unitTests("rules-6h.yaml")));
  const r = promtool(["test", "rules", "tests-6h.yaml"], dir);
  expect(r.status).not.toBe(0);
  expect([...new Set([...r.out.matchAll(/alertname: (\w+), time/g)].map((m) => m[1]))].sort()).toEqual(["EtcdBackupNeverSucceeded", "EtcdBackupStale"]);
});

test("node-exporter reads the scripts' directory through its host-root mount", () => {
  expect(day2NodeExporterArgs()).toContain("--collector.textfile.directory=/host/root/var/lib/node_exporter/textfile_collector");
  expect(() => day2AlertRules("Prod 1", "1h")).toThrow("cluster must be a DNS-style name");
});

describe("the client certificates Pulumi mints", () => {
  const admin = { cert: "admin", resource: "prod1-pki-admin", usedBy: "the stack's admin kubeconfig (output `kubeconfig`)", notAfter: 40 * 86400 };
  const description = (first: string) => `${first} \`pulumi up --stack prod1\` re-issues it (\`--replace\` on prod1-pki-admin re-issues it at once).`;

  test("a warning once `pulumi up` would renew it (30 days), a page a week before it expires", () => {
    fs.writeFileSync(path.join(dir, "client.yaml"), stringify({ groups: [clientCertificateRules("prod1", [admin])] }));
    expect(promtool(["check", "rules", "client.yaml"], dir).out).toContain("SUCCESS: 2 rules found");
    const tests = {
      rule_files: ["client.yaml"],
      evaluation_interval: "1h",
      tests: [
        {
          interval: "1d",
          input_series: [{ series: 'up{job="node-exporter"}', values: "1x40" }],
          alert_rule_test: [
            { eval_time: "9d", alertname: "PulumiClientCertificateRenewalDue", exp_alerts: [] },
            {
              eval_time: "11d",
              alertname: "PulumiClientCertificateRenewalDue",
              exp_alerts: [
                {
                  exp_labels: { severity: "warning", cluster: "prod1", cert: "admin" },
                  exp_annotations: {
                    summary: "The admin client certificate of cluster prod1 expires in 29d 0h 0m 0s",
                    description: description("It is in its renewal window and no `pulumi up` of this stack has renewed it yet."),
                  },
                },
              ],
            },
            { eval_time: "32d", alertname: "PulumiClientCertificateExpiresSoon", exp_alerts: [] },
            {
              eval_time: "34d",
              alertname: "PulumiClientCertificateExpiresSoon",
              exp_alerts: [
                {
                  exp_labels: { ...common, cert: "admin" },
                  exp_annotations: {
                    summary: "The admin client certificate of cluster prod1 expires in 6d 0h 0m 0s",
                    description: description("When it expires, the stack's admin kubeconfig (output `kubeconfig`) loses access to the cluster."),
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    fs.writeFileSync(path.join(dir, "client-tests.yaml"), stringify(tests));
    const r = promtool(["test", "rules", "client-tests.yaml"], dir);
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  test("a notAfter that is not epoch seconds is refused", () => {
    expect(() => clientCertificateRules("prod1", [{ ...admin, notAfter: 1.5 }])).toThrow("admin: notAfter must be epoch seconds, got 1.5");
  });
});
