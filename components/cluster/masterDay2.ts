// What a master's cloud-init adds for day-2 operations: the worker join token refresh
// (workerToken.ts), the etcd backup and certificate renewal scripts with their systemd units, gzip+base64 encoded (cloud-init write_files
// `encoding: gz+b64`, one installer holding them all) because a master's user data must stay under the user-data budget,
// and the commands that enable the timers. The restore script is not shipped: it is
// needed once, in a disaster, and `npm run etcd-restore-script` renders it per master.
import * as path from "path";
import { gzipSync } from "zlib";
import { scriptFile } from "../scriptFiles";
import { CERT_RENEW_SCRIPT_PATH, CERT_RENEW_UNIT, certRenewalScript, certRenewalUnits } from "./certRenewal";
import { ETCD_BACKUP_SCRIPT_PATH, ETCD_BACKUP_UNIT, etcdBackupScript, etcdBackupUnits, EtcdBackupSettings } from "./etcdBackup";
import { WORKER_TOKEN_SCRIPT_PATH, WORKER_TOKEN_UNIT, workerTokenScript, WorkerTokenSettings, workerTokenUnits } from "./workerToken";

export interface MasterDay2Settings {
  /** The etcd backup and certificate renewal timers come with it; without it only the token timer. */
  backup?: EtcdBackupSettings;
  /** The worker join token timer (every master). */
  workerToken: WorkerTokenSettings;
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

/**
 * A bash script without its comment lines (the shebang kept, heredoc bodies untouched):
 * the commented source is in this repository, and the master's user data has a budget.
 */
export function withoutComments(script: string): string {
  const out: string[] = [];
  let heredocEnd: string | undefined;
  for (const line of script.split("\n")) {
    if (heredocEnd !== undefined) {
      out.push(line);
      if (line === heredocEnd) heredocEnd = undefined;
      continue;
    }
    const opener = /<<-?'?([A-Za-z0-9_]+)'?/.exec(line);
    if (opener) heredocEnd = opener[1];
    if (/^\s*#/.test(line) && !line.startsWith("#!")) continue;
    out.push(line);
  }
  return out.join("\n");
}

/** The installer's fixed part, a script file beside the others. */
const DAY2_INSTALLER_FILE = path.join(__dirname, "scripts", "k8s-day2-install.sh");
const FILES_MARKER = "# @include files";

/** Where cloud-init writes the installer that lays the day-2 files out. */
export const DAY2_INSTALLER_PATH = "/usr/local/sbin/k8s-day2-install.sh";

/**
 * One installer script holding every file as a quoted heredoc, compressed as a whole:
 * the scripts share most of their text, so one gzip stream is a third smaller than six.
 * DESTDIR puts the tree elsewhere (the tests unpack it into a temp dir).
 */
export function day2Installer(s: MasterDay2Settings): string {
  const unit = (name: string) => `/etc/systemd/system/${name}`;
  const token = workerTokenUnits();
  const files: [string, string, string][] = [
    [WORKER_TOKEN_SCRIPT_PATH, withoutComments(workerTokenScript(s.workerToken)), "0700"],
    [unit(`${WORKER_TOKEN_UNIT}.service`), token.service, "0644"],
    [unit(`${WORKER_TOKEN_UNIT}.timer`), token.timer, "0644"],
  ];
  if (s.backup !== undefined) {
    const backup = etcdBackupUnits(s.backup.schedule);
    const renew = certRenewalUnits(s.index);
    files.push(
      [ETCD_BACKUP_SCRIPT_PATH, withoutComments(etcdBackupScript(s.backup)), "0700"],
      [unit(`${ETCD_BACKUP_UNIT}.service`), backup.service, "0644"],
      [unit(`${ETCD_BACKUP_UNIT}.timer`), backup.timer, "0644"],
      [CERT_RENEW_SCRIPT_PATH, withoutComments(certRenewalScript({ index: s.index, peerIps: s.peerIps })), "0700"],
      [unit(`${CERT_RENEW_UNIT}.service`), renew.service, "0644"],
      [unit(`${CERT_RENEW_UNIT}.timer`), renew.timer, "0644"],
    );
  }
  const parts = files.map(([path, text, mode], i) => {
    const eof = `DAY2_FILE_${i}_EOF`;
    if (text.split("\n").includes(eof)) throw new Error(`day-2 installer: ${path} contains its own delimiter ${eof}`);
    return `install -d -m 0755 "$DESTDIR${path.replace(/\/[^/]+$/, "")}"\ncat >"$DESTDIR${path}" <<'${eof}'\n${text}${eof}\nchmod ${mode} "$DESTDIR${path}"\n`;
  });
  // The file's one `# @include files` line takes the generated blocks (renderScript's documents, less its variables block: none here).
  const text = scriptFile(DAY2_INSTALLER_FILE);
  if (text.split("\n").filter((l) => l === FILES_MARKER).length !== 1) throw new Error(`${DAY2_INSTALLER_FILE}: needs exactly one line ${FILES_MARKER}`);
  return text.replace(`${FILES_MARKER}\n`, () => parts.join(""));
}

/** write_files entries and runcmd lines for one master. */
export function masterDay2(s: MasterDay2Settings): { files: Day2WriteFile[]; runcmd: string[][] } {
  return {
    files: [gz(DAY2_INSTALLER_PATH, day2Installer(s), "0700")],
    // After the bootstrap (runcmd runs in order): the units' conditions need kubeadm's files.
    runcmd: [
      ["bash", DAY2_INSTALLER_PATH],
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", `${WORKER_TOKEN_UNIT}.timer`, ...(s.backup ? [`${ETCD_BACKUP_UNIT}.timer`, `${CERT_RENEW_UNIT}.timer`] : [])],
    ],
  };
}
