// Renewal of kubeadm's control-plane certificates, which expire a year after `kubeadm
// init`/`join` unless an upgrade renews them; then the api-server stops serving. A daily
// timer on every master reads each certificate's expiry (exported for node-exporter, so
// an alert fires at 30 days whatever happens here), and under 90 days runs `kubeadm
// certs renew all` and restarts the control-plane static pods, one at a time.
//
// One master at a time, by ordering rather than a lock: master i runs at 02:00 + i hours
// (UTC). A Lease would need the api-server, whose certificates may be what expired,
// so the lock would fail exactly when renewal matters most. An hour apart is far more
// than one master's restart (about a minute), and before restarting anything the script
// checks every other master's api-server answers /readyz, so a late run after a
// reboot (Persistent=true) never takes a second master down while one is restarting.
// Pure: tests run the script against openssl-made certificates and a stub kubeadm.
import * as path from "path";
import { STATIC_POD_DIR, TEXTFILE_COLLECTOR_DIR } from "./etcdBackup";
import { renderScript, renderUnit } from "../scriptFiles";
import { API_SERVER_PORT } from "../network/ports";

const SCRIPTS = path.join(__dirname, "scripts");

export const CERT_RENEW_SCRIPT_PATH = "/usr/local/sbin/kubeadm-cert-renew.sh";
export const CERT_RENEW_UNIT = "kubeadm-cert-renew";
/** Renew when the first certificate expires within this many days. */
export const RENEW_BELOW_DAYS = 90;
/** The metric the script writes, one series per certificate (label cert); scripts/kubeadm-cert-renew.sh names it. */
export const CERT_EXPIRY_METRIC = "platform_kubeadm_certificate_expiry_timestamp_seconds";

const IP = /^\d{1,3}(\.\d{1,3}){3}$/;

export interface CertRenewalSettings {
  /** This master's index (0-based): its run hour is 02:00 + index UTC. */
  index: number;
  /** The other masters' IPs, whose api-servers must be ready before this one restarts. */
  peerIps: string[];
}

/** Hour (UTC) master `index` renews at. */
export function renewalHour(index: number): number {
  if (!Number.isInteger(index) || index < 0 || index > 20) throw new Error(`cert renewal: master index ${index} is out of range 0..20`);
  return 2 + index;
}

export function certRenewalScript(s: CertRenewalSettings): string {
  renewalHour(s.index);
  for (const ip of s.peerIps) if (!IP.test(ip)) throw new Error(`cert renewal: peer ${JSON.stringify(ip)} is not an IPv4 address`);
  const peers = s.peerIps.map((ip) => `https://${ip}:${API_SERVER_PORT}/readyz`).join(" ");
  return renderScript(path.join(SCRIPTS, "kubeadm-cert-renew.sh"), {
    PKI_DIR: "/etc/kubernetes/pki",
    KUBECONFIG_DIR: "/etc/kubernetes",
    MANIFESTS_DIR: STATIC_POD_DIR,
    RESTART_DIR: "/etc/kubernetes/manifests-restarting",
    TEXTFILE_DIR: TEXTFILE_COLLECTOR_DIR,
    KUBEADM: "kubeadm",
    CRICTL: "crictl",
    RENEW_BELOW_DAYS,
    KUBELET_RESCAN_SECONDS: 25,
    LOCAL_READY_URL: `https://127.0.0.1:${API_SERVER_PORT}/readyz`,
    PEER_READY_URLS: peers,
    WAIT_SECONDS: 300,
  });
}

export interface CertUnitOptions {
  /** Default CERT_RENEW_SCRIPT_PATH (tests point it at a temp copy). */
  scriptPath?: string;
}

/** kubeadm-cert-renew.service and .timer for master `index`. */
export function certRenewalUnits(index: number, opts: CertUnitOptions = {}): { service: string; timer: string } {
  const hour = renewalHour(index);
  const hh = String(hour).padStart(2, "0");
  return {
    service: renderUnit(path.join(SCRIPTS, "kubeadm-cert-renew.service"), {
      Description: `Export kubeadm certificate expiry; renew under ${RENEW_BELOW_DAYS} days`,
      ExecStart: opts.scriptPath ?? CERT_RENEW_SCRIPT_PATH,
    }),
    timer: renderUnit(path.join(SCRIPTS, "kubeadm-cert-renew.timer"), {
      Description: `Daily kubeadm certificate check, master ${index} at ${hh}:00 UTC`,
      OnCalendar: `*-*-* ${hh}:00:00 UTC`,
    }),
  };
}
