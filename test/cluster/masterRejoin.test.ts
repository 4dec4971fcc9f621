// A lost master comes back, against a real three-member TLS etcd of the pinned version (v3.6.6,
// built by harness/build.sh etcd): the member of the lost master is killed with its data, the
// master's bootstrap script runs as the node receives it (stub kubeadm whose `join` runs kubeadm
// v1.35.4's etcd steps with the real etcdctl: check-etcd over every listed member, then the learner
// add, both retried as kubeadm retries them; stub apt/systemctl; real curl, openssl and python3),
// then a fresh etcd starts under the same name and peer URL and is promoted. The cluster must end
// with three healthy voting members. Without the removal step the dead member stays listed, its
// endpoint never answers kubeadm's check-etcd ("etcd cluster is not healthy") and the join fails.
//
// Why a single `etcdctl member add` right after the removal flaked ("etcdserver: unhealthy
// cluster"): etcd v3.6.6 refuses any member add, learner or voter, unless the member asked has been
// connected to every voting member for HealthInterval (5 s) (server/etcdserver/server.go
// mayAddMember -> util.go isConnectedFullySince; rafthttp/peer_status.go sets the "active since"
// time when a peer's stream connects). This test's cluster is seconds old, so the add landed inside
// or outside that window with the machine's load. Real kubeadm retries the add every 500 ms for
// 2 min, which the stub now does; the removal itself is not what etcd objects to.
// Skipped with a printed reason outside CI when the etcd binaries are not built.
import { ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { bootstrapScript } from "../../components/cluster/bootstrapScript";
import {
  caCertHashFromPublicKeyPem,
  ClusterBootstrap,
  NodeBootstrap,
  renderInitConfiguration,
  renderJoinConfiguration,
} from "../../components/cluster/kubeadm";
import { binDir } from "../controlplane/binaries";

jest.setTimeout(180_000);
const execFileP = promisify(execFile);

const bins = binDir();
const missing = ["etcd", "etcdctl"].filter((b) => !fs.existsSync(path.join(bins, b)));
const inCi = process.env.CI === "true";
if (missing.length > 0 && !inCi) {
  console.log(`masterRejoin skipped: etcd binaries missing in ${bins} (${missing.join(", ")}); run \`bash harness/build.sh etcd\``);
}
const suite = missing.length === 0 || inCi ? describe : describe.skip;

const clientPort = 21000 + Math.floor(Math.random() * 20000);
const peerPort = clientPort + 1;
const IPS = ["127.0.0.21", "127.0.0.22", "127.0.0.23"];
const NAMES = IPS.map((_, i) => `prod1-master-${i}`);
const peerUrl = (i: number) => `https://${IPS[i]}:${peerPort}`;

let tmp: string;
const etcds = new Map<number, ChildProcess>();
const f = (n: string) => path.join(tmp, n);

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** `openssl req` with a new P-256 key in <name>.key: a request in `out`, or with `-x509` a self-signed certificate. */
function req(name: string, cn: string, out: string, ...x509: string[]): void {
  sh("openssl", [
    "req",
    ...x509,
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    f(`${name}.key`),
    "-out",
    out,
    "-subj",
    `/CN=${cn}`,
  ]);
}

function ca(name: string, cn: string): void {
  req(name, cn, f(`${name}.crt`), "-x509", "-days", "2");
}

function leaf(caName: string, name: string, cn: string, ext: string): void {
  req(name, cn, f(`${name}.csr`));
  fs.writeFileSync(f(`${name}.ext`), ext);
  sh("openssl", ["x509", "-req", "-in", f(`${name}.csr`), "-CA", f(`${caName}.crt`), "-CAkey", f(`${caName}.key`), "-CAcreateserial", "-days", "2", "-out", f(`${name}.crt`), "-extfile", f(`${name}.ext`)]); // prettier-ignore
}

function startEtcd(i: number, state: "new" | "existing", initialCluster: string): void {
  const m = NAMES[i];
  const tls = (prefix: string) => [
    `--${prefix}cert-file`,
    f(`${m}.crt`),
    `--${prefix}key-file`,
    f(`${m}.key`),
    `--${prefix}trusted-ca-file`,
    f("etcd-ca.crt"),
    `--${prefix}client-cert-auth`,
  ];
  const args = [
    "--name", m, "--data-dir", f(`data-${i}`),
    "--listen-client-urls", `https://${IPS[i]}:${clientPort}`, "--advertise-client-urls", `https://${IPS[i]}:${clientPort}`,
    "--listen-peer-urls", peerUrl(i), "--initial-advertise-peer-urls", peerUrl(i),
    "--initial-cluster", initialCluster, "--initial-cluster-state", state, "--initial-cluster-token", "rejoin-test",
    ...tls(""), ...tls("peer-"), "--log-outputs", f(`etcd-${i}.log`),
  ]; // prettier-ignore
  etcds.set(i, spawn(path.join(bins, "etcd"), args, { stdio: "ignore" }));
}

async function kill(i: number): Promise<void> {
  const p = etcds.get(i);
  if (!p || p.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    p.on("exit", () => resolve());
    p.kill("SIGKILL");
  });
  etcds.delete(i);
}

/** The real etcdctl of the pinned version, with the test's client certificate. */
async function etcdctl(endpoints: number[], ...args: string[]): Promise<{ code: number; out: string }> {
  const eps = endpoints.map((i) => `https://${IPS[i]}:${clientPort}`).join(",");
  try {
    const { stdout, stderr } = await execFileP(path.join(bins, "etcdctl"), [
      "--endpoints", eps, "--cacert", f("etcd-ca.crt"), "--cert", f("client.crt"), "--key", f("client.key"), "--dial-timeout", "3s", "--command-timeout", "10s", ...args,
    ]); // prettier-ignore
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: `${x.stdout}${x.stderr}` };
  }
}

interface Member {
  ID: string;
  name?: string;
  peerURLs?: string[];
  isLearner?: boolean;
}
async function members(endpoints: number[]): Promise<Member[]> {
  const r = await etcdctl(endpoints, "member", "list", "-w", "json", "--hex");
  if (r.code !== 0) throw new Error(r.out);
  return (JSON.parse(r.out) as { members: Member[] }).members;
}

async function until(what: string, check: () => Promise<boolean>, tries = 60): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what}: not reached; logs in ${tmp}`);
}

const STUBS = (etcdctlCmd: string, name: string, url: string): Record<string, string> => ({
  // The etcd steps of `kubeadm join --control-plane` v1.35.4 (EtcdLearnerMode, GA in 1.33), done here with the real
  // etcdctl against the surviving members; the facts are from k8s.io/kubernetes@v1.35.4 cmd/kubeadm/app:
  // - check-etcd (cmd/phases/join/checketcd.go -> phases/etcd/local.go CheckLocalEtcdClusterStatus): the client syncs
  //   its endpoints from the member list (util/etcd/etcd.go NewFromCluster, Sync) and every member's endpoint must
  //   answer Status, each retried every 500 ms (constants.EtcdAPICallRetryInterval) for up to the EtcdAPICall timeout
  //   (2 min, constants.EtcdAPICallTimeout); else "etcd cluster is not healthy".
  // - the learner add (util/etcd/etcd.go addMember): the same poll; each round lists the members, stops if its peer
  //   URL is already there, else MemberAddAsLearner, and retries any error (etcd's "unhealthy cluster" included).
  // ETCD_API_CALL_TIMEOUT shortens the 2 min for the test.
  kubeadm: `#!/bin/bash
echo "kubeadm $*" >>"$ROOT/calls"
poll() { # poll <what> <command...>: every 0.5 s until it succeeds or the EtcdAPICall timeout passes
  local what=$1 end=$((SECONDS + \${ETCD_API_CALL_TIMEOUT:-120}))
  shift
  until "$@"; do
    ((SECONDS < end)) || { echo "kubeadm: $what: timed out" >>"$ROOT/member-add"; return 1; }
    /bin/sleep 0.5
  done
}
add_learner() {
  ${etcdctlCmd} member list -w json | grep -q '"${url}"' && return 0
  ${etcdctlCmd} member add ${name} --learner --peer-urls ${url} >>"$ROOT/member-add" 2>&1
}
case "$1" in
  join)
    eps=$(${etcdctlCmd} member list -w json | python3 -c 'import json, sys
print(" ".join(u for m in json.load(sys.stdin)["members"] for u in m.get("clientURLs", [])))') || exit 5
    for ep in $eps; do
      poll "etcd cluster is not healthy ($ep)" ${etcdctlCmd.replace(/--endpoints "[^"]*"/, '--endpoints "$ep"')} --dial-timeout 2s --command-timeout 2s endpoint status >/dev/null 2>&1 || exit 5
    done
    # kubelet-start (cmd/phases/join/kubelet.go): kubeadm refuses to join while a Node of this name is Ready
    # ("a Node with name ... and status Ready already exists in the cluster").
    if [ "$(kubectl get node ${name} -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]; then
      echo "kubeadm: a Node with name "${name}" and status "Ready" already exists in the cluster" >>"$ROOT/member-add"; exit 6
    fi
    poll "etcd learner add" add_learner || exit 5
    touch "$ROOT/etc/kubernetes/kubelet.conf"; echo admin >"$ROOT/etc/kubernetes/admin.conf" ;;
  reset) rm -rf "$ROOT/etc/kubernetes/pki" ;;
  kubeconfig) echo "apiVersion: v1" ;;
  token) echo "mintme.0123456789abcdef" ;;
esac
`,
  // The cluster's Nodes as files under $ROOT/nodes (every master's stale Node Ready at first): `get node X` answers
  // Ready while its file exists, `delete node X` removes it.
  kubectl: `#!/bin/bash
echo "kubectl $*" >>"$ROOT/calls"
node=$(printf '%s\\n' "$@" | sed -n '/^node$/{n;p;q}')
case " $* " in
  *" delete node "*) rm -f "$ROOT/nodes/$node" ;;
  *" get node "*) [ -f "$ROOT/nodes/$node" ] && echo True ;;
esac
exit 0
`,
  "apt-get": `#!/bin/bash\n`,
  "apt-cache": `#!/bin/bash\ncase "$2" in containerd) echo " containerd | 1.7.28-0ubuntu1~22.04.1 | http://archive Packages" ;; kubeadm) echo " kubeadm | 1.35.4-1.1 | https://repo Packages" ;; esac\n`,
  "apt-mark": "#!/bin/bash\n",
  systemctl: "#!/bin/bash\n",
  "dpkg-statoverride": `#!/bin/bash\necho "dpkg-statoverride $*" >>"$ROOT/calls"; [ "$1" != --list ]\n`,
  getent: "#!/bin/bash\nexit 2\n",
  useradd: `#!/bin/bash\necho "useradd $*" >>"$ROOT/calls"\n`,
  chown: `#!/bin/bash\necho "chown $*" >>"$ROOT/calls"\n`,
  swapoff: "#!/bin/bash\n",
  modprobe: "#!/bin/bash\n",
  sysctl: "#!/bin/bash\n",
  sleep: "#!/bin/bash\n",
});

suite("a lost master rejoins a real etcd v3.6.6 (three TLS members on loopback)", () => {
  let api: https.Server;
  let cloud: http.Server;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "master-rejoin-"));
    ca("etcd-ca", "etcd-ca");
    ca("ca", "kubernetes");
    NAMES.forEach((n, i) => leaf("etcd-ca", n, n, `subjectAltName=IP:${IPS[i]},IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n`));
    leaf("etcd-ca", "client", "test-client", "extendedKeyUsage=clientAuth\n");
    leaf("ca", "apiserver", "kube-apiserver", "subjectAltName=IP:127.0.0.1\n");
    const read = (n: string) => fs.readFileSync(f(n), "utf8");
    api = https.createServer(
      { cert: read("apiserver.crt"), key: read("apiserver.key") },
      (req, res) => void res.writeHead(req.url === "/readyz" ? 200 : 404).end(),
    );
    // The metadata service and KMS: what the masters' bootstrap reads (bootstrapTrust.test.ts checks the signature).
    const files = { "ca.crt": read("ca.crt"), "ca.key": read("ca.key"), "etcd/ca.crt": read("etcd-ca.crt"), "etcd/ca.key": read("etcd-ca.key") };
    cloud = http.createServer((req, res) => {
      const url = new URL(req.url!, "http://x");
      if (url.pathname === "/latest/api/token") return void res.end("mdtoken");
      if (url.pathname.startsWith("/latest/meta-data/ram/security-credentials/"))
        return void res.end(JSON.stringify({ AccessKeyId: "a", AccessKeySecret: "b", SecurityToken: "c" }));
      if (url.searchParams.get("Action") === "GetSecretValue") return void res.end(JSON.stringify({ SecretData: JSON.stringify({ files }) }));
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => api.listen(0, "127.0.0.1", r));
    await new Promise<void>((r) => cloud.listen(0, "127.0.0.1", r));
  });

  afterAll(async () => {
    for (const i of [...etcds.keys()]) await kill(i);
    api?.close();
    cloud?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("the binaries are etcd v3.6.6 (the version kubeadm 1.35 pins)", () => {
    expect(sh(path.join(bins, "etcd"), ["--version"])).toMatch(/^etcd Version: 3\.6\.6$/m);
  });

  test.each([0, 2])(
    "master-%i: its VM lost with its etcd data, the re-created master removes its predecessor, joins, and etcd has 3 healthy voters",
    async (lost) => {
      const all = [0, 1, 2];
      for (const i of all) fs.rmSync(f(`data-${i}`), { recursive: true, force: true });
      const initial = NAMES.map((n, i) => `${n}=${peerUrl(i)}`).join(",");
      for (const i of all) startEtcd(i, "new", initial);
      await until("3 healthy members", async () => (await etcdctl(all, "endpoint", "health")).code === 0);
      await etcdctl(all, "put", "/registry/probe", "kept");

      await kill(lost);
      fs.rmSync(f(`data-${lost}`), { recursive: true, force: true });
      const alive = all.filter((i) => i !== lost);
      // What the review saw: with one of three down, etcd refuses a new member.
      const refused = await etcdctl(alive, "member", "add", "probe", "--learner", "--peer-urls", "https://127.0.0.99:2380");
      expect(refused.code).not.toBe(0);
      expect(refused.out).toContain("unhealthy cluster");

      // The re-created master's root: its bootstrap script, stubs, kubeadm configs.
      const root = fs.mkdtempSync(path.join(tmp, `root-${lost}-`));
      const bin = path.join(root, "bin");
      const tmpdir = path.join(root, "tmp");
      for (const d of [bin, tmpdir, path.join(root, "etc/k8s-bootstrap"), path.join(root, "etc/kubernetes"), path.join(root, "repo")])
        fs.mkdirSync(d, { recursive: true });
      const etcdctlCmd = `"${path.join(bins, "etcdctl")}" --endpoints "${alive.map((i) => `https://${IPS[i]}:${clientPort}`).join(",")}" --cacert "${f("etcd-ca.crt")}" --cert "${f("client.crt")}" --key "${f("client.key")}"`;
      for (const [name, text] of Object.entries(STUBS(etcdctlCmd, NAMES[lost], peerUrl(lost)))) fs.writeFileSync(path.join(bin, name), text, { mode: 0o755 });
      fs.writeFileSync(path.join(root, "repo/Release.key"), "KEY\n");
      fs.writeFileSync(path.join(root, "etc/fstab"), "");
      // Every master's Node, the lost one's stale and (as kubeadm sees it) still Ready.
      fs.mkdirSync(path.join(root, "nodes"));
      for (const n of NAMES) fs.writeFileSync(path.join(root, "nodes", n), "");
      const c: ClusterBootstrap = {
        clusterName: "prod1",
        kubernetesVersion: "1.35.4",
        controlPlaneEndpoint: "10.20.0.250:6443",
        podSubnet: "10.244.0.0/16",
        serviceSubnet: "10.96.0.0/12",
        packageRepository: "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.35/deb/",
        caCertHash: caCertHashFromPublicKeyPem(fs.readFileSync(f("ca.crt"), "utf8")),
        caCertPem: fs.readFileSync(f("ca.crt"), "utf8"),
      };
      const node: NodeBootstrap = {
        role: lost === 0 ? "init" : "control-plane",
        hostname: NAMES[lost],
        nodeIp: `10.20.0.${10 + lost}`,
        controlPlane: {
          index: lost,
          peers: alive.map((i) => `10.20.0.${10 + i}:6443`),
          secretStore: { kmsUrl: "https://kms-vpc.cn-shanghai.aliyuncs.com", secretName: "prod1-control-plane", ramRole: "prod1-masters" },
        },
      };
      fs.writeFileSync(path.join(root, "etc/k8s-bootstrap/kubeadm.yaml"), renderJoinConfiguration(c, node));
      fs.writeFileSync(path.join(root, "etc/k8s-bootstrap/kubeadm-init.yaml"), renderInitConfiguration(c, node));
      const script = path.join(root, "bootstrap.sh");
      fs.writeFileSync(script, bootstrapScript(c, node, { containerdVersion: "1.7." }), { mode: 0o700 });
      const cloudUrl = `http://127.0.0.1:${(cloud.address() as AddressInfo).port}`;
      // Loopback stands in for the VPC: the node's and its peers' addresses, and the ports, are the test's.
      const env = {
        PATH: `${bin}:${process.env.PATH}`,
        TMPDIR: tmpdir,
        ROOT: root,
        API_ENDPOINT: `127.0.0.1:${(api.address() as AddressInfo).port}`,
        PEERS: alive.map((i) => `${IPS[i]}:6443`).join(" "),
        NODE_IP: IPS[lost],
        ETCD_CLIENT_PORT: String(clientPort),
        ETCD_PEER_PORT: String(peerPort),
        METADATA_URL: cloudUrl,
        KMS_URL: cloudUrl,
        PACKAGE_REPO: `file://${root}/repo/`,
        JOIN_TRIES: "1",
        // kubeadm's EtcdAPICall timeout (2 min) shortened: the run without the removal step fails in 20 s, not 2 min.
        ETCD_API_CALL_TIMEOUT: "20",
      };
      const run = await execFileP("bash", [script], { env }).then(
        () => 0,
        (e: { code: number }) => e.code,
      );
      const log = fs.readFileSync(path.join(root, "var/log/k8s-bootstrap.log"), "utf8");
      expect({ run, log }).toEqual({ run: 0, log: expect.stringContaining("removing etcd member") });
      expect(log).toContain(`k8s-bootstrap: etcd at ${alive.map((i) => `${IPS[i]}:6443`).join(" ")} applied the removal and is healthy`);
      expect(log).not.toMatch(/PRIVATE KEY/);
      // The etcd client key lived in a root-only temp dir that is gone.
      expect(fs.readdirSync(tmpdir)).toEqual([]);
      const calls = fs.readFileSync(path.join(root, "calls"), "utf8");
      expect(calls).toContain(`kubectl --kubeconfig ${root}/var/lib/k8s-bootstrap/bootstrap-admin.conf delete node ${NAMES[lost]} --ignore-not-found`);
      expect(fs.readdirSync(path.join(root, "nodes")).sort()).toEqual(NAMES.filter((_, i) => i !== lost));

      // The new member: the same name and peer URL, an empty data dir, joining the existing cluster (as kubeadm's etcd manifest does).
      const listed = await members(alive);
      // The predecessor is gone; the new member (added by the join as a learner, not started yet) has no name.
      expect(listed.map((m) => [m.name ?? "", m.peerURLs]).sort()).toEqual([["", [peerUrl(lost)]], ...alive.map((i) => [NAMES[i], [peerUrl(i)]])].sort());
      expect((await etcdctl(alive, "member", "list", "-w", "simple")).out).toContain(`, unstarted, , ${peerUrl(lost)}, , true`);
      const current = [...alive.map((i) => `${NAMES[i]}=${peerUrl(i)}`), `${NAMES[lost]}=${peerUrl(lost)}`].join(",");
      startEtcd(lost, "existing", current);
      const learner = listed.find((m) => !m.name)!;
      await until("the learner promoted", async () => (await etcdctl(alive, "member", "promote", learner.ID)).code === 0);
      await until("3 healthy endpoints", async () => (await etcdctl(all, "endpoint", "health")).code === 0);
      // Three started voting members (the last column: is learner).
      const simple = (await etcdctl(all, "member", "list", "-w", "simple")).out.trim().split("\n");
      const rows = simple.map((l) => l.split(", ")).map((c) => [c[1], c[2], c[3], c[5]]);
      expect(rows.sort((a, b) => a[1].localeCompare(b[1]))).toEqual(
        [0, 1, 2].map((i) => ["started", `prod1-master-${i}`, `https://127.0.0.${21 + i}:${peerPort}`, "false"]),
      );
      expect((await etcdctl([lost], "get", "/registry/probe", "--print-value-only")).out.trim()).toBe("kept");
      for (const i of all) await kill(i);
    },
  );
});
