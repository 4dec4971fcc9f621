// What a master's cloud-init adds for day-2 operations: the etcd backup and certificate
// renewal scripts with their systemd units, gzip+base64 encoded (cloud-init write_files
// `encoding: gz+b64`) because a master's user data must stay under the 16 KiB budget,
// and the commands that enable the timers. The restore script is not shipped: it is
// needed once, in a disaster, and `npm run etcd-restore-script` renders it per master.
import { gzipSync } from "zlib";
import { CERT_RENEW_SCRIPT_PATH, CERT_RENEW_UNIT, certRenewalScript, certRenewalUnits } from "./certRenewal";
import { ETCD_BACKUP_SCRIPT_PATH, ETCD_BACKUP_UNIT, etcdBackupScript, etcdBackupUnits, EtcdBackupSettings } from "./etcdBackup";

export interface MasterDay2Settings {
  backup: EtcdBackupSettings;
  /** This master's index and the other masters' IPs (renewal ordering and guard). */
  index: number;
  peerIps: string[];
}

export interface Day2WriteFile {
  path: string;
  content: string;
  encoding: "gz+b64";
  owner: string;
  permissions: string;
}

function gz(path: string, text: string, permissions: string): Day2WriteFile {
  // mtime 0 in the gzip header: the same text always gives the same user data.
  return { path, content: gzipSync(Buffer.from(text), { level: 9 }).toString("base64"), encoding: "gz+b64", owner: "root:root", permissions };
}

/** write_files entries and runcmd lines for one master. */
export function masterDay2(s: MasterDay2Settings): { files: Day2WriteFile[]; runcmd: string[][] } {
  const backup = etcdBackupUnits(s.backup.schedule);
  const renew = certRenewalUnits(s.index);
  const unit = (name: string) => `/etc/systemd/system/${name}`;
  return {
    files: [
      gz(ETCD_BACKUP_SCRIPT_PATH, etcdBackupScript(s.backup), "0700"),
      gz(unit(`${ETCD_BACKUP_UNIT}.service`), backup.service, "0644"),
      gz(unit(`${ETCD_BACKUP_UNIT}.timer`), backup.timer, "0644"),
      gz(CERT_RENEW_SCRIPT_PATH, certRenewalScript({ index: s.index, peerIps: s.peerIps }), "0700"),
      gz(unit(`${CERT_RENEW_UNIT}.service`), renew.service, "0644"),
      gz(unit(`${CERT_RENEW_UNIT}.timer`), renew.timer, "0644"),
    ],
    // After the bootstrap (runcmd runs in order): the units' conditions need kubeadm's files.
    runcmd: [
      ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=600", "install", "etcd-client"],
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", `${ETCD_BACKUP_UNIT}.timer`, `${CERT_RENEW_UNIT}.timer`],
    ],
  };
}
