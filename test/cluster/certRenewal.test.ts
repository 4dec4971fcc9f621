// The certificate renewal script, run for real against openssl-made certificates with a
// stub kubeadm (records its calls, re-issues on `certs renew all`) and a stub crictl
// (records the order of restarts); its units through `systemd-analyze verify`.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CERT_EXPIRY_METRIC, certRenewalScript, certRenewalUnits, renewalHour } from "../../components/cluster/certRenewal";
import { selfSigned } from "../support/etcdCluster";

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cert-renew-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { code: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000, env: { ...process.env, ...env } });
  if (r.error) throw new Error(`${cmd} could not run (${r.error.message})`);
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** A self-signed certificate `file` (its key beside it) valid for `days`. */
function mint(file: string, days: number): void {
  selfSigned(file, `${file}.key`, "test", days);
}

/** A fake /etc/kubernetes with certificates valid for `days`, manifests, stubs and ready URLs. */
function master(name: string, days: number, peersReady = true) {
  const root = path.join(tmp, name);
  const pki = path.join(root, "pki");
  for (const c of ["apiserver", "apiserver-kubelet-client", "front-proxy-client", "etcd/server", "etcd/peer"]) mint(path.join(pki, `${c}.crt`), days);
  mint(path.join(pki, "ca.crt"), 3650);
  mint(path.join(root, "admin.pem"), days);
  const b64 = fs.readFileSync(path.join(root, "admin.pem")).toString("base64");
  fs.writeFileSync(path.join(root, "admin.conf"), `apiVersion: v1\nusers:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: ${b64}\n`);
  const manifests = path.join(root, "manifests");
  fs.mkdirSync(manifests);
  for (const c of ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]) fs.writeFileSync(path.join(manifests, `${c}.yaml`), "");
  const log = path.join(root, "calls.log");
  const kubeadm = path.join(root, "kubeadm");
  fs.writeFileSync(
    kubeadm,
    `#!/bin/sh\necho "kubeadm $*" >>${log}\nif [ "$*" = "certs renew all" ]; then\n  for c in apiserver apiserver-kubelet-client front-proxy-client etcd/server etcd/peer; do\n    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout /dev/null -out ${pki}/$c.crt -subj /CN=renewed -days 365 2>/dev/null\n  done\nfi\n`,
    { mode: 0o755 },
  );
  const crictl = path.join(root, "crictl");
  fs.writeFileSync(crictl, `#!/bin/sh\necho "crictl $* manifests=$(ls ${manifests} | tr '\\n' ' ')" >>${log}\n`, { mode: 0o755 });
  const ready = path.join(root, "ready");
  fs.writeFileSync(ready, "ok");
  const env = {
    PKI_DIR: pki,
    KUBECONFIG_DIR: root,
    MANIFESTS_DIR: manifests,
    RESTART_DIR: path.join(root, "restarting"),
    TEXTFILE_DIR: path.join(root, "textfile"),
    KUBEADM: kubeadm,
    CRICTL: crictl,
    LOCAL_READY_URL: `file://${ready}`,
    PEER_READY_URLS: `file://${ready} file://${peersReady ? ready : path.join(root, "missing")}`,
    WAIT_SECONDS: "10",
  };
  return { root, env, log, manifests };
}

function metrics(root: string): Record<string, number> {
  const text = fs.readFileSync(path.join(root, "textfile", "kubeadm_certs.prom"), "utf8");
  return Object.fromEntries([...text.matchAll(new RegExp(`^${CERT_EXPIRY_METRIC}\\{cert="([^"]+)"\\} (\\d+)$`, "gm"))].map((m) => [m[1], Number(m[2])]));
}

const script = () => {
  const file = path.join(tmp, "kubeadm-cert-renew.sh");
  fs.writeFileSync(file, certRenewalScript({ index: 1, peerIps: ["10.40.0.10", "10.40.0.12"] }), { mode: 0o755 });
  return file;
};
const daysLeft = (t: number) => Math.round((t * 1000 - Date.now()) / 86_400_000);

test("passes shellcheck -S style", () => {
  const r = sh("shellcheck", ["-s", "bash", "-S", "style", "-f", "gcc", script()]);
  expect(r.out).toBe("");
  expect(r.code).toBe(0);
});

test("certificates with a year left: the expiry is exported, nothing renewed or restarted", () => {
  const m = master("fresh", 365);
  const r = sh("bash", [script()], m.env);
  expect(r.code).toBe(0);
  expect(r.out).toContain("nothing to renew");
  const got = metrics(m.root);
  expect(Object.keys(got).sort()).toEqual(["admin.conf", "apiserver", "apiserver-kubelet-client", "ca", "etcd-peer", "etcd-server", "front-proxy-client"]);
  expect(daysLeft(got.apiserver)).toBe(365);
  expect(daysLeft(got.ca)).toBe(3650);
  expect(fs.readFileSync(m.log, "utf8")).toBe("kubeadm certs check-expiration\n");
});

test("under 90 days: renews, restarts etcd, api-server, controller-manager, scheduler one by one, exports the new expiry", () => {
  const m = master("expiring", 60);
  const r = sh("bash", [script()], { ...m.env });
  expect(r.out).toContain("renewing");
  expect(r.code).toBe(0);
  const calls = fs.readFileSync(m.log, "utf8").trim().split("\n");
  expect(calls[0]).toBe("kubeadm certs check-expiration");
  expect(calls[1]).toBe("kubeadm certs renew all");
  // Each crictl wait sees exactly one manifest missing: one component down at a time, in order.
  const waits = calls.slice(2).map((c) => /--name \^(\S+)\$ manifests=(.*)$/.exec(c)!);
  expect(waits.map((w) => w[1])).toEqual(["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]);
  for (const w of waits) expect(w[2].trim().split(" ")).toHaveLength(3);
  expect(fs.readdirSync(m.manifests)).toHaveLength(4);
  expect(daysLeft(metrics(m.root).apiserver)).toBe(365);
});

test("under 90 days with another master's api-server down: refuses to restart, exits non-zero", () => {
  const m = master("peer-down", 60, false);
  const r = sh("bash", [script()], m.env);
  expect(r.code).toBe(1);
  expect(r.out).toContain("is not ready; not restarting");
  expect(fs.readFileSync(m.log, "utf8")).not.toContain("renew all");
  expect(daysLeft(metrics(m.root).apiserver)).toBe(60);
});

test("units pass systemd-analyze verify; masters run an hour apart", () => {
  const dir = path.join(tmp, "units");
  fs.mkdirSync(dir);
  const exec = path.join(dir, "kubeadm-cert-renew.sh");
  fs.writeFileSync(exec, "#!/bin/sh\n", { mode: 0o755 });
  const files: string[] = [];
  for (const i of [0, 1, 2]) {
    const u = certRenewalUnits(i, { scriptPath: exec });
    const sub = path.join(dir, `m${i}`);
    fs.mkdirSync(sub);
    fs.writeFileSync(path.join(sub, "kubeadm-cert-renew.service"), u.service);
    fs.writeFileSync(path.join(sub, "kubeadm-cert-renew.timer"), u.timer);
    files.push(path.join(sub, "kubeadm-cert-renew.service"), path.join(sub, "kubeadm-cert-renew.timer"));
    expect(u.timer).toContain(`OnCalendar=*-*-* 0${2 + i}:00:00 UTC`);
  }
  for (let i = 0; i < files.length; i += 2) {
    const r = sh("systemd-analyze", ["verify", files[i], files[i + 1]]);
    expect(r.out).toBe("");
    expect(r.code).toBe(0);
  }
  expect(renewalHour(2) - renewalHour(1)).toBe(1);
  expect(() => renewalHour(-1)).toThrow("master index -1");
});

test("the unit files themselves (cluster/scripts/*.service, *.timer) pass systemd-analyze verify but for the script a node installs", () => {
  // The files hold the defaults the program renders from; here only ExecStart's target is missing (it is on a master).
  const scripts = path.join(__dirname, "..", "..", "components", "cluster", "scripts");
  for (const unit of ["etcd-backup", "k8s-worker-token", "kubeadm-cert-renew"]) {
    const r = sh("systemd-analyze", ["verify", path.join(scripts, `${unit}.service`), path.join(scripts, `${unit}.timer`)]);
    expect(r.out.trim()).toBe(`${unit}.service: Command /usr/local/sbin/${unit}.sh is not executable: No such file or directory`);
  }
});
