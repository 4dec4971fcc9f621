// Bootstrap trust, with real tools: the metadata guard exactly as the user data installs it,
// applied with nft in network namespaces where the real kube-proxy, watching the stack's own
// control plane, programs the DNAT of a Service that leads to the metadata address; the bootstrap script run end to end in a temp root
// with stub kubeadm/apt/systemctl, a real curl against a loopback api-server stub that
// presents a certificate of the test CA, and a metadata + KMS stub that checks the request
// signature; and the plans: no key material or long-lived token in any cloud-init artifact.
import { ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import YAML from "yaml";
import { writeFileText } from "../../components/cluster/cloudInit";
import { bootstrapScript } from "../../components/cluster/bootstrapScript";
import { METADATA_GUARD_PATH } from "../../components/cluster/bootstrapUnits";
import { ETCD_BACKUP_UNIT, etcdBackupUnits } from "../../components/cluster/etcdBackup";
import { controllerHostNetworkPatch } from "../../components/k8s/diskCsi";
import {
  caCertHashFromPublicKeyPem,
  ClusterBootstrap,
  NodeBootstrap,
  renderInitConfiguration,
  renderJoinConfiguration,
} from "../../components/cluster/kubeadm";
import { byName, ofType, plan, STACK_NAMES } from "../support/offline";
import { bin, binDir } from "../controlplane/binaries";
import { ControlPlane, serviceAccountKubeconfig, startControlPlane } from "../controlplane/controlPlane";
import type { Response as KubeResponse } from "../controlplane/kubeClient";
import { cloudInitFiles, stackInputsFromPlan } from "../controlplane/stackInputs";

const execFileP = promisify(execFile);
let tmp: string;
let ca: { cert: string; key: string };
let server: { cert: string; key: string };
let etcdCa: { cert: string; key: string };
let etcdServer: { cert: string; key: string };

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bootstrap-trust-"));
  const f = (n: string) => path.join(tmp, n);
  sh("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f("ca.key"), "-out", f("ca.crt"), "-subj", "/CN=kubernetes", "-days", "1"]);
  sh("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", f("srv.key"), "-out", f("srv.csr"), "-subj", "/CN=kube-apiserver"]);
  fs.writeFileSync(f("ext"), "subjectAltName=IP:127.0.0.1\n");
  sh("openssl", [
    "x509",
    "-req",
    "-in",
    f("srv.csr"),
    "-CA",
    f("ca.crt"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-out",
    f("srv.crt"),
    "-days",
    "1",
    "-extfile",
    f("ext"),
  ]);
  ca = { cert: fs.readFileSync(f("ca.crt"), "utf8"), key: fs.readFileSync(f("ca.key"), "utf8") };
  // The etcd CA (a separate CA, as pki.ts makes it) and the etcd gateway stub's server certificate.
  sh("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f("etcd-ca.key"), "-out", f("etcd-ca.crt"), "-subj", "/CN=etcd-ca", "-days", "1"]);
  sh("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", f("etcd.key"), "-out", f("etcd.csr"), "-subj", "/CN=etcd"]);
  sh("openssl", [
    "x509",
    "-req",
    "-in",
    f("etcd.csr"),
    "-CA",
    f("etcd-ca.crt"),
    "-CAkey",
    f("etcd-ca.key"),
    "-CAcreateserial",
    "-out",
    f("etcd.crt"),
    "-days",
    "1",
    "-extfile",
    f("ext"),
  ]);
  etcdCa = { cert: fs.readFileSync(f("etcd-ca.crt"), "utf8"), key: fs.readFileSync(f("etcd-ca.key"), "utf8") };
  etcdServer = { cert: fs.readFileSync(f("etcd.crt"), "utf8"), key: fs.readFileSync(f("etcd.key"), "utf8") };
  server = { cert: fs.readFileSync(f("srv.crt"), "utf8"), key: fs.readFileSync(f("srv.key"), "utf8") };
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cluster = (): ClusterBootstrap => ({
  clusterName: "prod1",
  kubernetesVersion: "1.33.5",
  controlPlaneEndpoint: "10.20.0.250:6443",
  podSubnet: "10.244.0.0/16",
  serviceSubnet: "10.96.0.0/12",
  packageRepository: "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.33/deb/",
  caCertHash: caCertHashFromPublicKeyPem(ca.cert),
  caCertPem: ca.cert,
});
const secretStore = { kmsUrl: "https://kms-vpc.cn-shanghai.aliyuncs.com", secretName: "prod1-control-plane", ramRole: "prod1-masters" };
const master = (index: number): NodeBootstrap => ({
  role: index === 0 ? "init" : "control-plane",
  hostname: `prod1-master-${index}`,
  nodeIp: `10.20.0.${10 + index}`,
  controlPlane: { index, peers: ["10.20.0.11:6443", "10.20.0.12:6443"], secretStore },
});

/** The guard's nft script exactly as the plan's user data installs it on `node` (a cloud-init artifact name, e.g. prod1-master-0). */
async function guardAsInstalled(node: string): Promise<string> {
  const doc = (await plan(STACK)).artifacts.find((a) => a.kind === "cloud-init" && a.file === `${node}.yaml`);
  if (!doc) throw new Error(`the ${STACK} plan has no cloud-init artifact ${node}.yaml`);
  const text = cloudInitFiles(doc.text).get(METADATA_GUARD_PATH);
  if (text === undefined) throw new Error(`${node}.yaml writes no ${METADATA_GUARD_PATH}`);
  return text;
}

/** The mount point of the cgroup v2 hierarchy (/sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a hybrid one). */
function cgroup2Mount(): string | undefined {
  return fs
    .readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" "))
    .find((f) => f[2] === "cgroup2")?.[1];
}

// The stack whose plan and control plane the netns tests use, and its networking as its kubeadm
// configuration says (ClusterConfiguration.networking; the first test checks kube-proxy got the same).
const STACK = "prod1";
const POD_SUBNET = "10.140.0.0/16";
const SERVICE_SUBNET = "10.240.0.0/20";

// The binaries the netns tests run: a control plane (kubeadm, etcd, the api-server, controller-manager,
// scheduler) to hold the Service and EndpointSlice, and kube-proxy to program the node from them.
const NETNS_BINARIES = ["kubeadm", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"];
const netnsMissing = (() => {
  try {
    const dir = binDir();
    return NETNS_BINARIES.filter((b) => !fs.existsSync(path.join(dir, b)));
  } catch (e) {
    return [(e as Error).message];
  }
})();
if (netnsMissing.length > 0 && process.env.CI !== "true") {
  console.log(
    `test/cluster/bootstrapTrust: the metadata guard's netns tests are skipped: they run the real kube-proxy against a real api-server, and the harness binaries are not built (missing: ${netnsMissing.join(", ")}); run \`bash harness/build.sh\``,
  );
}
(process.env.CI === "true" ? test : test.skip)("CI has the binaries the metadata guard's netns tests run (.ci/setup --tests builds them)", () => {
  expect(netnsMissing).toEqual([]);
});

// Three namespaces: a pod (10.140.1.2 behind the node's cni0 bridge), the node, and the cloud
// (100.100.100.200 answering HTTP, a stand-in for the metadata service). The node runs the real
// kube-proxy v1.35.4 in the mode the stack configures (kubeadm's kube-proxy ConfigMap; the stack
// sets none, so "" = iptables on Linux: cmd/kube-proxy/app/server_linux.go at v1.35.4, lines
// 52-54), watching the stack's own control plane (test/controlplane/controlPlane.ts) through a
// bridge: the api-server listens on the host's loopback, kube-proxy dials 127.0.0.1:6443 in the
// node, and a relay carries the bytes over a unix socket (a file path reaches across network
// namespaces; the host's network is not touched). An admin creates a selector-less Service and an
// EndpointSlice whose address is 100.100.100.200 (the API allows it: the admission policy that
// refuses it is proven elsewhere; here the network guard stands alone). kube-proxy's iptables
// binary is the host's `iptables` (iptables-nft here, as on Ubuntu 22.04).
// What the test changes in kube-proxy's configuration, nothing else (the first test checks it):
// - clientConnection.kubeconfig: the test's (a kube-proxy ServiceAccount token, server 127.0.0.1:6443 in the node);
// - conntrack.maxPerCore and conntrack.min: 0 (else kube-proxy sets nf_conntrack_max and the hash size, which are
//   the host's, not the namespace's: cmd/kube-proxy/app/server_linux.go setupConntrack at v1.35.4);
// - hostnameOverride: <stack>-master-0, a Node the test creates with an InternalIP (else kube-proxy waits 30 s
//   for one: pkg/proxy/node.go NewNodeManager at v1.35.4).
const netnsSuite = netnsMissing.length === 0 ? describe : describe.skip;
netnsSuite("metadata guard in network namespaces (real nft, the real kube-proxy's DNAT)", () => {
  const id = `${process.pid % 10000}`;
  const ns = { pod: `i16pod${id}`, node: `i16node${id}`, cloud: `i16cloud${id}` };
  let clusterIp = "";
  let proxyMode = "";
  let proxyConfig: Record<string, unknown> = {};
  let proxyConfigRun: Record<string, unknown> = {};
  let cp: ControlPlane | undefined;
  let relay: net.Server | undefined;
  const children: ChildProcess[] = [];
  let dir = "";
  const ipn = (n: string, ...args: string[]) => sh("ip", ["-n", n, ...args]);
  const inNode = (...args: string[]) => sh("ip", ["netns", "exec", ns.node, ...args]);
  // Test-owned cgroups, made under the hierarchy's slices (created, and removed, only when absent).
  const cg = cgroup2Mount();
  const made: string[] = [];
  const cgroup = (rel: string): string => {
    const parts = rel.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const d = path.join(cg!, ...parts.slice(0, i));
      if (!fs.existsSync(d)) {
        fs.mkdirSync(d);
        made.unshift(d);
      }
    }
    return path.join(cg!, rel);
  };
  const started = (cmd: string, args: string[], log: string): ChildProcess => {
    const fd = fs.openSync(path.join(dir, log), "a");
    const child = spawn(cmd, args, { stdio: ["ignore", fd, fd] });
    fs.closeSync(fd);
    children.push(child);
    return child;
  };
  const until = async (what: string, ok: () => boolean | Promise<boolean>, seconds: number, log?: string) => {
    for (let i = 0; i < seconds * 5; i++) {
      if (await ok()) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    const tail = log ? `; ${log} ends:\n${fs.readFileSync(path.join(dir, log), "utf8").split("\n").slice(-30).join("\n")}` : "";
    throw new Error(`${what}: not after ${seconds}s${tail}`);
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "guard-netns-"));
    // The network: pod -> cni0 (node) -> eth0 (node) -> cloud.
    for (const n of Object.values(ns)) sh("ip", ["netns", "add", n]);
    ipn(ns.node, "link", "add", "cni0", "type", "bridge");
    ipn(ns.node, "link", "add", "veth-pod", "type", "veth", "peer", "name", "eth0", "netns", ns.pod);
    ipn(ns.node, "link", "set", "veth-pod", "master", "cni0", "up");
    ipn(ns.node, "addr", "add", "10.140.1.1/24", "dev", "cni0");
    ipn(ns.node, "link", "set", "cni0", "up");
    ipn(ns.pod, "addr", "add", "10.140.1.2/24", "dev", "eth0");
    ipn(ns.pod, "link", "set", "eth0", "up");
    ipn(ns.pod, "link", "set", "lo", "up");
    ipn(ns.pod, "route", "add", "default", "via", "10.140.1.1");
    ipn(ns.node, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", ns.cloud);
    ipn(ns.node, "addr", "add", "192.168.77.1/30", "dev", "eth0");
    ipn(ns.node, "link", "set", "eth0", "up");
    ipn(ns.node, "link", "set", "lo", "up");
    ipn(ns.cloud, "addr", "add", "192.168.77.2/30", "dev", "eth0");
    ipn(ns.cloud, "addr", "add", "100.100.100.200/32", "dev", "lo");
    ipn(ns.cloud, "link", "set", "eth0", "up");
    ipn(ns.cloud, "link", "set", "lo", "up");
    ipn(ns.node, "route", "add", "100.100.100.200/32", "via", "192.168.77.2");
    // The Service range is routed nowhere (as on a node: only kube-proxy's DNAT gives a ClusterIP a destination).
    ipn(ns.node, "route", "add", SERVICE_SUBNET, "via", "192.168.77.2");
    ipn(ns.cloud, "route", "add", POD_SUBNET, "via", "192.168.77.1");
    ipn(ns.cloud, "route", "add", "192.168.0.0/16", "via", "192.168.77.1");
    inNode("sysctl", "-qw", "net.ipv4.ip_forward=1");
    started("ip", ["netns", "exec", ns.cloud, "python3", "-m", "http.server", "80", "--bind", "0.0.0.0", "--directory", dir], "metadata.log");
    await until("the metadata stand-in answers", () => reaches(ns.cloud) === "200", 15);

    // The stack's control plane, and the relay node:127.0.0.1:6443 -> unix socket -> the api-server.
    cp = await startControlPlane(stackInputsFromPlan(STACK, await plan(STACK)), { binDir: binDir() });
    const api = new URL(cp.apiserver);
    const sock = path.join(dir, "api.sock");
    const pipe = (a: net.Socket, b: net.Socket) => {
      a.pipe(b).pipe(a);
      a.on("error", () => b.destroy());
      b.on("error", () => a.destroy());
    };
    relay = net.createServer((c) => pipe(c, net.connect(Number(api.port), api.hostname)));
    await new Promise<void>((r) => relay!.listen(sock, r));
    const inside = `const net=require("net");net.createServer((c)=>{const u=net.connect(process.argv[1]);c.pipe(u).pipe(c);c.on("error",()=>u.destroy());u.on("error",()=>c.destroy());}).listen(6443,"127.0.0.1");`;
    started("ip", ["netns", "exec", ns.node, process.execPath, "-e", inside, sock], "relay.log");

    // As an admin: the node kube-proxy names, the selector-less Service and its EndpointSlice to the metadata address.
    const admin = cp.client;
    const ok = (what: string, r: KubeResponse): KubeResponse => {
      if (r.status >= 300) throw new Error(`${what}: ${r.status} ${r.text.slice(0, 500)}`);
      return r;
    };
    ok("create Node", await admin.create({ apiVersion: "v1", kind: "Node", metadata: { name: `${STACK}-master-0` } }));
    ok(
      "Node status",
      await admin.request(
        "PATCH",
        `/api/v1/nodes/${STACK}-master-0/status`,
        { status: { addresses: [{ type: "InternalIP", address: "192.168.77.1" }] } },
        "application/merge-patch+json",
      ),
    );
    const svc = ok(
      "create Service",
      await admin.create({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "metadata-bypass", namespace: "default" },
        spec: { ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 80 }] },
      }),
    );
    clusterIp = String((svc.json!.spec as { clusterIP: string }).clusterIP);
    ok(
      "create EndpointSlice",
      await admin.create({
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: {
          name: "metadata-bypass-1",
          namespace: "default",
          labels: { "kubernetes.io/service-name": "metadata-bypass", "endpointslice.kubernetes.io/managed-by": "bootstrap-trust-test" },
        },
        addressType: "IPv4",
        ports: [{ name: "http", port: 80, protocol: "TCP" }],
        endpoints: [{ addresses: ["100.100.100.200"], conditions: { ready: true } }],
      }),
    );

    // kube-proxy: the stack's configuration (kubeadm's ConfigMap) with the test's changes (above), and a token of its own ServiceAccount.
    const cm = ok("kube-proxy ConfigMap", await admin.request("GET", "/api/v1/namespaces/kube-system/configmaps/kube-proxy"));
    proxyConfig = YAML.parse((cm.json!.data as Record<string, string>)["config.conf"]);
    proxyMode = String(proxyConfig.mode ?? "");
    const kubeconfig = await serviceAccountKubeconfig(cp, "kube-system", "kube-proxy", path.join(dir, "kube-proxy.kubeconfig"));
    proxyConfigRun = {
      ...proxyConfig,
      clientConnection: { ...(proxyConfig.clientConnection as object), kubeconfig },
      conntrack: { ...(proxyConfig.conntrack as object), maxPerCore: 0, min: 0 },
      hostnameOverride: `${STACK}-master-0`,
    };
    fs.writeFileSync(path.join(dir, "kube-proxy.yaml"), YAML.stringify(proxyConfigRun));
    started("ip", ["netns", "exec", ns.node, bin(binDir(), "kube-proxy"), `--config=${path.join(dir, "kube-proxy.yaml")}`], "kube-proxy.log");
    // Programmed: kube-proxy's DNAT for the Service's endpoint is in the node's nat table.
    await until(
      "kube-proxy programs the DNAT to 100.100.100.200",
      () => spawnSync("ip", ["netns", "exec", ns.node, "iptables-save", "-t", "nat"], { encoding: "utf8" }).stdout.includes("100.100.100.200:80"),
      120,
      "kube-proxy.log",
    );
  }, 10 * 60_000);
  afterAll(async () => {
    for (const c of children) c.kill();
    relay?.close();
    cp?.client.close();
    await cp?.stop();
    for (const n of Object.values(ns)) spawnSync("ip", ["netns", "del", n]);
    for (const d of made) spawnSync("rmdir", [d]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  /** The HTTP status a process in netns `n` (and in cgroup `cgroupDir`, when given) gets from `address`; 000: no answer. */
  function reaches(n: string, address = "100.100.100.200", cgroupDir?: string): string {
    const curl = `exec ip netns exec ${n} curl -s -m 2 -o /dev/null -w '%{http_code}' http://${address}/`;
    const script = cgroupDir ? `echo $$ >${cgroupDir}/cgroup.procs && ${curl}` : curl;
    return spawnSync("sh", ["-c", script], { encoding: "utf8" }).stdout;
  }
  /** Loads an nft script in the node; nft resolves cgroup paths under /sys/fs/cgroup, where a node mounts cgroup v2. */
  const load = (rules: string) => {
    const file = path.join(dir, `guard-${Math.random().toString(36).slice(2)}.nft`);
    fs.writeFileSync(file, rules);
    inNode("sh", "-c", `mount -t cgroup2 none /sys/fs/cgroup && exec nft -f ${file}`);
  };
  const unload = () => spawnSync("ip", ["netns", "exec", ns.node, "nft", "delete", "table", "inet", "k8s_metadata_guard"]);

  test("kube-proxy runs in the mode and with the pod range the stack configures, and its DNAT leads the ClusterIP to the metadata address", () => {
    // kubeadm's kube-proxy ConfigMap for prod1: no mode set (iptables on Linux), clusterCIDR = the pod subnet.
    expect(proxyMode).toBe("");
    expect(proxyConfig.clusterCIDR).toBe(POD_SUBNET);
    // What the test changed, and nothing else.
    const leaves = (o: unknown, at = ""): [string, unknown][] =>
      typeof o === "object" && o !== null && !Array.isArray(o) ? Object.entries(o).flatMap(([k, v]) => leaves(v, at ? `${at}.${k}` : k)) : [[at, o]];
    const before = new Map(leaves(proxyConfig));
    const changed = leaves(proxyConfigRun).filter(([k, v]) => JSON.stringify(before.get(k)) !== JSON.stringify(v));
    expect(changed.map(([k, v]) => `${k}=${k.endsWith("kubeconfig") ? path.basename(String(v)) : v}`)).toEqual([
      "clientConnection.kubeconfig=kube-proxy.kubeconfig",
      "conntrack.maxPerCore=0",
      "conntrack.min=0",
      `hostnameOverride=${STACK}-master-0`,
    ]);
    // Allocated from the stack's Service range.
    expect(clusterIp).toMatch(/^10\.240\.([0-9]|1[0-5])\.\d+$/);
    const nat = inNode("iptables-save", "-t", "nat");
    expect(nat).toContain(
      `-A KUBE-SERVICES -d ${clusterIp}/32 -p tcp -m comment --comment "default/metadata-bypass:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-`,
    );
    expect(nat).toMatch(/-A KUBE-SEP-\w+ -p tcp -m comment --comment "default\/metadata-bypass:http" -m tcp -j DNAT --to-destination 100\.100\.100\.200:80/);
  });

  test("without the guard, a pod reaches the metadata service directly and through the ClusterIP (the tests below can fail)", () => {
    unload();
    expect(reaches(ns.pod)).toBe("200");
    expect(reaches(ns.pod, clusterIp)).toBe("200");
  });

  test("the guard as it was before 2026-12-07 (prerouting, priority -300, before the DNAT) lets the pod through the ClusterIP", async () => {
    const installed = await guardAsInstalled(`${STACK}-general-0`);
    const before = installed.replace("type filter hook forward priority 0;", "type filter hook prerouting priority -300;");
    expect(before).not.toBe(installed);
    load(before);
    expect(reaches(ns.pod)).toBe("000");
    expect(reaches(ns.pod, clusterIp)).toBe("200");
    unload();
  });

  test("a worker's guard: the pod is dropped directly and through the ClusterIP whose endpoint is the metadata address; the node reaches both", async () => {
    const rules = await guardAsInstalled(`${STACK}-general-0`);
    load(rules);
    // Loading twice (a reboot, a rerun) keeps one table, one rule.
    load(rules);
    expect(inNode("nft", "list", "table", "inet", "k8s_metadata_guard").match(/drop/g)).toHaveLength(1);
    expect(reaches(ns.pod)).toBe("000");
    expect(reaches(ns.pod, clusterIp)).toBe("000");
    expect(reaches(ns.node)).toBe("200");
    expect(reaches(ns.node, clusterIp)).toBe("200");
    expect(inNode("nft", "list", "chain", "inet", "k8s_metadata_guard", "forward")).toMatch(/packets [1-9]/);
    unload();
  });

  test("the disk CSI controller on a worker: as the chart renders it (pod network) it is cut off; as patched (hostNetwork) it reaches the metadata service", async () => {
    load(await guardAsInstalled(`${STACK}-general-0`));
    // templates/controller.yaml at 1.36.2 sets no hostNetwork; the patch (diskCsi.ts) is what the API server merges in.
    const chartPodSpec: { hostNetwork?: boolean } = {};
    const patched = { ...chartPodSpec, ...(controllerHostNetworkPatch().spec as { template: { spec: { hostNetwork?: boolean } } }).template.spec };
    const netnsOf = (spec: { hostNetwork?: boolean }) => (spec.hostNetwork === true ? ns.node : ns.pod);
    expect(reaches(netnsOf(chartPodSpec))).toBe("000");
    expect(reaches(netnsOf(patched))).toBe("200");
    unload();
  });

  const masterTest = cg ? test : test.skip;
  masterTest("a master's guard: pods are dropped; on the node only the etcd backup's cgroup reaches it, a hostNetwork pod's (kubepods) does not", async () => {
    // The backup unit's cgroup, where systemd puts it: <its Slice= or system.slice>/etcd-backup.service.
    const unit = etcdBackupUnits("6h").service;
    const slice = /^Slice=(.+)$/m.exec(unit)?.[1] ?? "system.slice";
    const backup = cgroup(`${slice}/${ETCD_BACKUP_UNIT}.service`);
    const hostNetworkPod = cgroup(`kubepods.slice/bootstrap-trust-${id}.scope`);
    load(await guardAsInstalled(`${STACK}-master-0`));
    expect(reaches(ns.pod)).toBe("000");
    expect(reaches(ns.pod, clusterIp)).toBe("000");
    expect(reaches(ns.node, "100.100.100.200", backup)).toBe("200");
    expect(reaches(ns.node, clusterIp, backup)).toBe("200");
    expect(reaches(ns.node, "100.100.100.200", hostNetworkPod)).toBe("000");
    expect(reaches(ns.node, clusterIp, hostNetworkPod)).toBe("000");
    // Nor a process outside the slice (a login shell, kubelet, containerd).
    expect(reaches(ns.node)).toBe("000");
    expect(inNode("nft", "list", "chain", "inet", "k8s_metadata_guard", "output")).toMatch(/packets [1-9]/);
    unload();
  });
});

/** The api-server stub (TLS with the test CA's certificate) and the metadata + KMS stub. */
interface Stubs {
  api: https.Server;
  cloud: http.Server;
  /** etcd's JSON gateway (member list/remove); it accepts only client certificates of the etcd CA. */
  etcd: https.Server;
  removed: string[];
  up: { value: boolean };
  /** This many /readyz requests are answered 503 before `up` counts again (a cluster that misses the first probes). */
  downFor: { value: number };
  /** Whether KMS holds prod1-worker-join (the masters' timer creates it after the first init). */
  joinSecret: { value: "absent" | "present" | "denied" };
  kmsCalls: number;
}

async function stubs(): Promise<Stubs> {
  const up = { value: false };
  const s = { up, downFor: { value: 0 }, joinSecret: { value: "absent" }, kmsCalls: 0, removed: [] as string[] } as Stubs;
  // The dead predecessor of master-0 (its peer URL) and of master-1 (its name) beside a live member.
  const etcdMembers = [
    { ID: "101", name: "prod1-master-0", peerURLs: ["https://10.20.0.10:2380"] },
    { ID: "102", name: "prod1-master-1", peerURLs: ["https://10.20.0.99:2380"] },
    { ID: "103", name: "prod1-master-2", peerURLs: ["https://10.20.0.12:2380"] },
  ];
  s.etcd = https.createServer({ cert: etcdServer.cert, key: etcdServer.key, ca: etcdCa.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      // As etcd: a removed member is gone from the list; /health answers while the members have a leader.
      if (req.method === "POST" && req.url === "/v3/cluster/member/list")
        return void res.end(JSON.stringify({ members: etcdMembers.filter((m) => !s.removed.includes(m.ID)) }));
      if (req.method === "GET" && req.url === "/health") return void res.end('{"health":"true","reason":""}');
      if (req.method === "POST" && req.url === "/v3/cluster/member/remove") {
        s.removed.push(JSON.parse(body).ID);
        return void res.end("{}");
      }
      res.writeHead(404).end();
    });
  });
  s.api = https.createServer({ cert: server.cert, key: server.key }, (req, res) => {
    const down = req.url === "/readyz" && s.downFor.value > 0;
    if (down) s.downFor.value--;
    res.statusCode = req.url === "/readyz" && up.value && !down ? 200 : 503;
    res.end();
  });
  const creds = { AccessKeyId: "STS.test", AccessKeySecret: "stssecret", SecurityToken: "ststoken" };
  s.cloud = http.createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    if (req.method === "PUT" && url.pathname === "/latest/api/token") return void res.end("mdtoken");
    if (url.pathname === "/latest/meta-data/ram/security-credentials/prod1-masters") {
      res.statusCode = req.headers["x-aliyun-ecs-metadata-token"] === "mdtoken" ? 200 : 401;
      return void res.end(JSON.stringify(creds));
    }
    if (url.pathname === "/" && url.searchParams.get("Action") === "GetSecretValue") {
      const params = [...url.searchParams.entries()].filter(([k]) => k !== "Signature").sort(([a], [b]) => (a < b ? -1 : 1));
      const enc = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
      const query = params.map(([k, v]) => `${enc(k)}=${enc(v)}`).join("&");
      const want = createHmac("sha1", `${creds.AccessKeySecret}&`)
        .update(`GET&%2F&${enc(query)}`)
        .digest("base64");
      if (url.searchParams.get("Signature") !== want || url.searchParams.get("SecurityToken") !== creds.SecurityToken) {
        res.statusCode = 403;
        return void res.end("{}");
      }
      s.kmsCalls++;
      // KMS answers a missing secret with 404 Forbidden.ResourceNotFound (GetSecretValue's error codes).
      if (url.searchParams.get("SecretName") === "prod1-worker-join") {
        if (s.joinSecret.value === "absent") return void res.writeHead(404).end(JSON.stringify({ Code: "Forbidden.ResourceNotFound" }));
        if (s.joinSecret.value === "denied") return void res.writeHead(403).end(JSON.stringify({ Code: "Forbidden.NoPermission" }));
        return void res.end(JSON.stringify({ SecretData: JSON.stringify({ token: "wrkr00.0123456789abcdef", expires: "2026-12-07T12:00:00Z" }) }));
      }
      const files = { "ca.crt": ca.cert, "ca.key": ca.key, "sa.key": "SA-PRIVATE-KEY", "etcd/ca.crt": etcdCa.cert, "etcd/ca.key": etcdCa.key };
      return void res.end(JSON.stringify({ SecretData: JSON.stringify({ files }) }));
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => s.api.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => s.cloud.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => s.etcd.listen(0, "127.0.0.1", r));
  return s;
}

const STUBS: Record<string, string> = {
  kubeadm: `#!/bin/bash
echo "kubeadm $*" >>"$ROOT/calls"
case "$1" in
  config) exit 0 ;;
  init)
    [ -f "$ROOT/etc/kubernetes/pki/ca.key" ] || exit 3
    [[ " $* " == *" --skip-token-print "* ]] || echo "kubeadm join x --token abcdef.0123456789abcdef"
    [[ " $* " == *" --skip-certificate-key-print "* ]] || echo "--certificate-key 0f0f0f0f"
    if [ -f "$ROOT/fail-init-once" ]; then rm "$ROOT/fail-init-once"; exit 1; fi
    touch "$ROOT/etc/kubernetes/kubelet.conf"; echo admin >"$ROOT/etc/kubernetes/admin.conf" ;;
  join)
    grep -q mintme "$3" || exit 4
    touch "$ROOT/etc/kubernetes/kubelet.conf"; echo admin >"$ROOT/etc/kubernetes/admin.conf" ;;
  reset) rm -rf "$ROOT/etc/kubernetes/pki" ;;
  kubeconfig) echo "apiVersion: v1" ;;
  token) echo "mintme.0123456789abcdef" ;;
esac
`,
  "apt-get": `#!/bin/bash\necho "apt-get $*" >>"$ROOT/calls"; [ ! -f "$ROOT/fail-apt" ]\n`,
  "apt-cache": `#!/bin/bash\ncase "$2" in containerd) echo " containerd | 1.7.28-0ubuntu1~22.04.1 | http://archive Packages" ;; kubeadm) echo " kubeadm | 1.33.5-1.1 | https://repo Packages" ;; esac\n`,
  "apt-mark": `#!/bin/bash\necho "apt-mark $*" >>"$ROOT/calls"\n`,
  systemctl: `#!/bin/bash\necho "systemctl $*" >>"$ROOT/calls"\n`,
  "dpkg-statoverride": `#!/bin/bash\necho "dpkg-statoverride $*" >>"$ROOT/calls"; [ "$1" != --list ]\n`,
  getent: "#!/bin/bash\nexit 2\n",
  useradd: `#!/bin/bash\necho "useradd $*" >>"$ROOT/calls"\n`,
  chown: `#!/bin/bash\necho "chown $*" >>"$ROOT/calls"\n`,
  // A Node's Ready condition: False while $ROOT/not-ready exists.
  kubectl: `#!/bin/bash\necho "kubectl $*" >>"$ROOT/calls"; if [ -f "$ROOT/not-ready" ]; then echo False; else echo True; fi\n`,
  swapoff: "#!/bin/bash\n",
  modprobe: "#!/bin/bash\n",
  sysctl: "#!/bin/bash\n",
  sleep: "#!/bin/bash\n",
};

describe("the bootstrap script end to end (stub kubeadm, real curl and python3)", () => {
  let s: Stubs;
  beforeAll(async () => {
    s = await stubs();
  });
  afterAll(() => {
    s.api.close();
    s.cloud.close();
    s.etcd.close();
  });

  function root(node: NodeBootstrap): { dir: string; run: (env?: Record<string, string>) => Promise<number> } {
    const dir = fs.mkdtempSync(path.join(tmp, "root-"));
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    for (const [name, text] of Object.entries(STUBS)) fs.writeFileSync(path.join(bin, name), text, { mode: 0o755 });
    fs.mkdirSync(path.join(dir, "etc/k8s-bootstrap"), { recursive: true });
    fs.mkdirSync(path.join(dir, "repo"));
    fs.writeFileSync(path.join(dir, "repo/Release.key"), "KEY\n");
    fs.writeFileSync(path.join(dir, "etc/fstab"), "/swap none swap sw 0 0\n");
    fs.mkdirSync(path.join(dir, "etc/kubernetes"), { recursive: true });
    fs.writeFileSync(path.join(dir, "etc/k8s-bootstrap/kubeadm.yaml"), renderJoinConfiguration(cluster(), node));
    if (node.role !== "worker") fs.writeFileSync(path.join(dir, "etc/k8s-bootstrap/kubeadm-init.yaml"), renderInitConfiguration(cluster(), node));
    const script = path.join(dir, "bootstrap.sh");
    fs.writeFileSync(script, bootstrapScript(cluster(), node, { containerdVersion: "1.7." }), { mode: 0o700 });
    const api = `127.0.0.1:${(s.api.address() as AddressInfo).port}`;
    const cloud = `http://127.0.0.1:${(s.cloud.address() as AddressInfo).port}`;
    const run = async (env: Record<string, string> = {}) => {
      try {
        await execFileP("bash", [script], {
          env: {
            PATH: `${bin}:${process.env.PATH}`,
            ROOT: dir,
            API_ENDPOINT: api,
            PEERS: "127.0.0.1:1",
            ETCD_CLIENT_PORT: String((s.etcd.address() as AddressInfo).port),
            METADATA_URL: cloud,
            KMS_URL: cloud,
            PACKAGE_REPO: `file://${dir}/repo/`,
            JOIN_TRIES: "2",
            ...env,
          },
        });
        return 0;
      } catch (e) {
        return (e as { code: number }).code;
      }
    };
    return { dir, run };
  }
  const calls = (dir: string) => (fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8") : "");
  const kubeadmCalls = (dir: string) =>
    calls(dir)
      .split("\n")
      .filter((l) => /^kubeadm (init|join)/.test(l));

  test("first bring-up: master-0 inits (nothing answers), the log is 0600 and holds no token or key; a rerun is a no-op", async () => {
    s.up.value = false;
    const r = root(master(0));
    expect(await r.run()).toBe(0);
    expect(kubeadmCalls(r.dir)).toEqual([expect.stringMatching(/^kubeadm init --config \S+ --skip-token-print --skip-certificate-key-print$/)]);
    expect(calls(r.dir)).toContain(
      "apt-get -y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install containerd=1.7.28-0ubuntu1~22.04.1",
    );
    expect(calls(r.dir)).toContain("apt-mark hold containerd");
    expect(calls(r.dir).indexOf("systemctl start k8s-metadata-guard.service")).toBeLessThan(calls(r.dir).indexOf("kubeadm init"));
    // cloud-init joins the slice that may reach the metadata service (it re-reads the instance identity at every boot).
    for (const unit of ["cloud-init-local.service", "cloud-init.service"]) {
      const dropIn = path.join(r.dir, `etc/systemd/system/${unit}.d/k8s-metadata.conf`);
      expect(fs.readFileSync(dropIn, "utf8")).toBe("[Service]\nSlice=k8s-metadata.slice\n");
      expect(fs.statSync(dropIn).mode & 0o777).toBe(0o644);
    }
    expect(calls(r.dir).indexOf("systemctl daemon-reload")).toBeLessThan(calls(r.dir).indexOf("systemctl start k8s-metadata-guard.service"));
    // CIS 1.1.12, 4.1.1, 4.1.2 (kube-bench cfg cis-1.12): the kubelet's unit files 0600 root:root through dpkg,
    // etcd's data directory 0700 etcd:etcd before kubeadm runs.
    for (const unit of ["kubelet.service", "kubelet.service.d/10-kubeadm.conf"]) {
      expect(calls(r.dir)).toContain(`dpkg-statoverride --update --add root root 0600 ${r.dir}/usr/lib/systemd/system/${unit}\n`);
    }
    expect(calls(r.dir)).toContain(`useradd --system --user-group --no-create-home --home-dir ${r.dir}/var/lib/etcd --shell /usr/sbin/nologin etcd\n`);
    expect(calls(r.dir).indexOf(`chown etcd:etcd ${r.dir}/var/lib/etcd\n`)).toBeGreaterThan(-1);
    expect(calls(r.dir).indexOf(`chown etcd:etcd ${r.dir}/var/lib/etcd`)).toBeLessThan(calls(r.dir).indexOf("kubeadm init"));
    expect(fs.statSync(path.join(r.dir, "var/lib/etcd")).mode & 0o777).toBe(0o700);
    // No image repository in this cluster: kubeadm pulls from its default.
    expect(calls(r.dir)).toContain("kubeadm config images pull --kubernetes-version v1.33.5 --cri-socket unix:///run/containerd/containerd.sock\n");
    const log = path.join(r.dir, "var/log/k8s-bootstrap.log");
    expect(fs.statSync(log).mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(log, "utf8");
    expect(text).toContain("k8s-bootstrap: no cluster answers at 127.0.0.1:");
    expect(text).toContain(" or the other masters and prod1-worker-join does not exist; initialising\n");
    // The "initialised" marker (the workers' join-token secret) is created right after the init.
    expect(calls(r.dir).indexOf("systemctl start --no-block k8s-worker-token.service")).toBeGreaterThan(calls(r.dir).indexOf("kubeadm init"));
    expect(text).not.toMatch(/PRIVATE KEY|SA-PRIVATE-KEY|abcdef\.0123456789abcdef|mintme|0f0f0f0f|stssecret|ststoken/);
    expect(fs.statSync(path.join(r.dir, "etc/kubernetes/pki/ca.key")).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(r.dir, "etc/kubernetes/pki/ca.crt")).mode & 0o777).toBe(0o644);
    expect(fs.existsSync(path.join(r.dir, "var/lib/k8s-bootstrap/done"))).toBe(true);
    const before = calls(r.dir);
    expect(await r.run()).toBe(0);
    expect(calls(r.dir)).toBe(before);
  });

  test("with an image repository, the control-plane images are pulled from it", async () => {
    s.up.value = false;
    const r = root(master(0));
    expect(await r.run({ IMAGE_REPO: "registry.example.com/k8s mirror" })).toBe(0);
    expect(calls(r.dir)).toContain(
      "kubeadm config images pull --kubernetes-version v1.33.5 --cri-socket unix:///run/containerd/containerd.sock --image-repository registry.example.com/k8s mirror\n",
    );
  });

  test("a replaced master-0 removes its predecessor (its peer URL) from etcd and its Node, then joins with a token it minted", async () => {
    s.up.value = true;
    s.removed.length = 0;
    const r = root(master(0));
    expect(await r.run()).toBe(0);
    expect(s.removed).toEqual(["101"]);
    const c = calls(r.dir);
    expect(c).toContain("delete node prod1-master-0 --ignore-not-found");
    expect(c.indexOf("delete node prod1-master-0")).toBeLessThan(c.indexOf("kubeadm join"));
    expect(kubeadmCalls(r.dir)).toEqual([expect.stringMatching(/^kubeadm join --config \S+\.run$/)]);
    expect(calls(r.dir)).toContain("kubeadm token create");
    // The masters' 1 h join token is deleted once used.
    const deleted = `kubeadm token delete --kubeconfig ${r.dir}/var/lib/k8s-bootstrap/bootstrap-admin.conf mintme\n`;
    expect(c).toContain(deleted);
    expect(c.indexOf(deleted)).toBeGreaterThan(c.indexOf("kubeadm join"));
    expect(fs.existsSync(path.join(r.dir, "etc/k8s-bootstrap/kubeadm.yaml.run"))).toBe(false);
    expect(fs.existsSync(path.join(r.dir, "var/lib/k8s-bootstrap/bootstrap-admin.conf"))).toBe(false);
  });

  test("a partitioned front: another master answers directly, so master-0 joins", async () => {
    s.up.value = true;
    const r = root(master(0));
    const api = `127.0.0.1:${(s.api.address() as AddressInfo).port}`;
    expect(await r.run({ API_ENDPOINT: "127.0.0.1:1", PEERS: `127.0.0.1:2 ${api}` })).toBe(0);
    expect(kubeadmCalls(r.dir)).toEqual([expect.stringMatching(/^kubeadm join/)]);
  });

  test("a server with another CA is not 'this cluster': master-0 inits", async () => {
    s.up.value = true;
    const r = root(master(0));
    // The api stub's certificate is of the test CA; pointing CA_CERT at another CA makes it a stranger.
    const other = path.join(tmp, "other.crt");
    sh("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(tmp, "other.key"), "-out", other, "-subj", "/CN=other", "-days", "1"]);
    expect(await r.run({ CA_CERT: other })).toBe(0);
    expect(kubeadmCalls(r.dir)).toEqual([expect.stringMatching(/^kubeadm init/)]);
  });

  test("master-1 never inits: with nothing answering it fails (the unit retries)", async () => {
    s.up.value = false;
    const r = root(master(1));
    expect(await r.run()).not.toBe(0);
    expect(kubeadmCalls(r.dir)).toEqual([]);
    expect(fs.existsSync(path.join(r.dir, "var/lib/k8s-bootstrap/done"))).toBe(false);
  });

  test("master-1 waits for master-0's Node before joining; its predecessor is found by name", async () => {
    s.up.value = true;
    s.removed.length = 0;
    const r = root(master(1));
    expect(await r.run()).toBe(0);
    expect(s.removed).toEqual(["102"]);
    const c = calls(r.dir);
    expect(c).toContain("get node prod1-master-0");
    expect(c.indexOf("get node prod1-master-0")).toBeLessThan(c.indexOf("kubeadm join"));
  });

  test("a re-created master-0 whose first probes fail: prod1-worker-join exists, so it never inits and joins once the cluster answers", async () => {
    s.up.value = true;
    s.joinSecret.value = "present";
    // 18 probes (3 min) before deciding, then two join rounds that still see nothing; the 21st /readyz answers.
    s.downFor.value = 20;
    try {
      const r = root(master(0));
      expect(await r.run({ JOIN_TRIES: "5" })).toBe(0);
      expect(kubeadmCalls(r.dir)).toEqual([expect.stringMatching(/^kubeadm join --config \S+\.run$/)]);
      const log = fs.readFileSync(path.join(r.dir, "var/log/k8s-bootstrap.log"), "utf8");
      expect(log).toContain("k8s-bootstrap: attempt 18/18 failed: cluster_exists\n");
      expect(log).toContain(
        "k8s-bootstrap: no cluster answers, but prod1-worker-join exists: this cluster was initialised before and master-0 never initialises again; probing to join",
      );
      expect(log).toContain("k8s-bootstrap: attempt 2/5 failed: join_when_answering\n");
      expect(log).not.toContain("wrkr00");
    } finally {
      s.joinSecret.value = "absent";
      s.downFor.value = 0;
    }
  });

  test("master-0 with prod1-worker-join and no cluster answering: no init, the unit retries", async () => {
    s.up.value = false;
    s.joinSecret.value = "present";
    try {
      const r = root(master(0));
      expect(await r.run()).not.toBe(0);
      expect(kubeadmCalls(r.dir)).toEqual([]);
      expect(fs.existsSync(path.join(r.dir, "var/lib/k8s-bootstrap/done"))).toBe(false);
    } finally {
      s.joinSecret.value = "absent";
    }
  });

  test("master-0 that cannot read prod1-worker-join (no proof the cluster never existed) does not init", async () => {
    s.up.value = false;
    s.joinSecret.value = "denied";
    try {
      const r = root(master(0));
      expect(await r.run()).not.toBe(0);
      expect(kubeadmCalls(r.dir)).toEqual([]);
      expect(fs.readFileSync(path.join(r.dir, "var/log/k8s-bootstrap.log"), "utf8")).toContain(
        "k8s-bootstrap: no cluster answers and prod1-worker-join cannot be read (exit 1): master-0 does not initialise without proof that no cluster existed; the unit retries",
      );
    } finally {
      s.joinSecret.value = "absent";
    }
  });

  test("two masters lost at once: master-1 removes its own dead predecessor before waiting for master-0 (etcd refuses master-0's add while it is listed)", async () => {
    s.up.value = true;
    s.removed.length = 0;
    const r = root(master(1));
    fs.writeFileSync(path.join(r.dir, "not-ready"), "");
    expect(await r.run()).not.toBe(0);
    expect(s.removed).toEqual(["102"]);
    expect(kubeadmCalls(r.dir)).toEqual([]);
    expect(fs.readFileSync(path.join(r.dir, "var/log/k8s-bootstrap.log"), "utf8")).toContain(
      "k8s-bootstrap: waiting for prod1-master-0 to be Ready before joining\n",
    );
  });

  test("a failure mid-way (apt) leaves no marker; the next boot resumes and finishes", async () => {
    s.up.value = false;
    const r = root(master(0));
    fs.writeFileSync(path.join(r.dir, "fail-apt"), "");
    expect(await r.run()).not.toBe(0);
    expect(fs.existsSync(path.join(r.dir, "var/lib/k8s-bootstrap/done"))).toBe(false);
    fs.rmSync(path.join(r.dir, "fail-apt"));
    fs.writeFileSync(path.join(r.dir, "fail-init-once"), "");
    expect(await r.run()).toBe(0);
    // The failed init was reset and retried; one cluster, marker written.
    expect(kubeadmCalls(r.dir)).toHaveLength(2);
    expect(calls(r.dir)).toContain("kubeadm reset");
    expect(fs.existsSync(path.join(r.dir, "var/lib/k8s-bootstrap/done"))).toBe(true);
  });
});

describe("plans", () => {
  test.each(STACK_NAMES)("%s: no cloud-init artifact holds a private key, a certificate key or a never-expiring token", async (stack) => {
    const p = await plan(stack);
    const docs = p.artifacts.filter((a) => a.kind === "cloud-init");
    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) {
      const doc = YAML.parse(d.text.replace(/^#cloud-config\n/, ""));
      for (const f of doc.write_files) {
        const text = writeFileText(f);
        expect(text).not.toMatch(/PRIVATE KEY/);
        expect(text).not.toMatch(/certificateKey|--certificate-key[ =]|--upload-certs/);
        for (const ttl of text.matchAll(/ttl: "?(\d+)h"?/g)) expect(Number(ttl[1])).toBeLessThanOrEqual(24);
        expect(text).not.toMatch(/ttl: "?0s/);
      }
    }
  });

  test.each(STACK_NAMES)("%s: every ECS instance requires metadata tokens", async (stack) => {
    for (const i of ofType(await plan(stack), "alicloud:ecs/instance:Instance")) expect(i.inputs.httpTokens).toBe("required");
  });

  test("prod1: the masters' role reads only the control-plane secret and decrypts with its key only; the CA keys are protected", async () => {
    const p = await plan("prod1");
    const policy = ofType(p, "alicloud:ram/policy:Policy").find((r) => r.name.endsWith("-secret-store"))!;
    // GetSecretValue on a secret encrypted with a user-specified key needs kms:Decrypt on that key
    // (KMS "GetSecretValue", help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-getsecretvalue).
    expect(JSON.parse(String(policy.inputs.policyDocument)).Statement).toEqual([
      { Effect: "Allow", Action: ["kms:GetSecretValue"], Resource: ["acs:kms:cn-shanghai:1234567890123456:secret/prod1-control-plane"] },
      { Effect: "Allow", Action: ["kms:Decrypt"], Resource: ["acs:kms:*:*:key/key-shhplaceholderprod1"] },
    ]);
    const secrets = ofType(p, "alicloud:kms/secret:Secret");
    expect(secrets.map((s) => s.inputs.secretName)).toEqual(["prod1-control-plane"]);
    expect(secrets[0].secretInputs).toContain("secretData");
    // The cluster PKI's keys; the host's kubesphere-host key is not protected (replacing it breaks nothing:
    // the host picks the new kubeconfig up on its next up).
    const keys = ofType(p, "tls:index/privateKey:PrivateKey").filter((k) => k.parent?.includes("ClusterPki"));
    expect(keys.length).toBe(5);
    for (const k of keys) expect(k.protect).toBe(true);
    expect(ofType(p, "tls:index/privateKey:PrivateKey").map((k) => k.name)).toEqual([...keys.map((k) => k.name), "prod1-kubesphere-host-access-key"]);
    // No join token is a Pulumi resource (workerToken.ts): the masters mint short-lived ones, which the tokencleaner removes unseen.
    expect(ofType(p, "kubernetes:core/v1:Secret").filter((s) => s.inputs.type === "bootstrap.kubernetes.io/token")).toEqual([]);
    expect(p.resources.filter((r) => r.type.includes("JoinToken") || r.name.startsWith("prod1-join-token"))).toEqual([]);
  });

  test("prod1: the worker join token's KMS secret: the masters may read, write and create it, the workers only read it", async () => {
    const p = await plan("prod1");
    const doc = (name: string) => JSON.parse(String(byName(p, name, "alicloud:ram/policy:Policy").inputs.policyDocument)).Statement;
    expect(doc("prod1-master-role-join-token")).toEqual([
      {
        Effect: "Allow",
        Action: ["kms:GetSecretValue", "kms:PutSecretValue", "kms:CreateSecret"],
        Resource: ["acs:kms:cn-shanghai:*:secret/prod1-worker-join"],
      },
      { Effect: "Allow", Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], Resource: ["acs:kms:*:*:key/key-shhplaceholderprod1"] },
    ]);
    expect(doc("prod1-worker-role-join-token")).toEqual([
      { Effect: "Allow", Action: ["kms:GetSecretValue"], Resource: ["acs:kms:cn-shanghai:*:secret/prod1-worker-join"] },
      { Effect: "Allow", Action: ["kms:Decrypt"], Resource: ["acs:kms:*:*:key/key-shhplaceholderprod1"] },
    ]);
    // Every worker has the role (it reads its token at boot); no worker's user data holds a token.
    const workers = ofType(p, "alicloud:ecs/instance:Instance").filter((i) => (i.inputs.tags as Record<string, string>)["platform:role"] === "worker");
    expect(workers.length).toBeGreaterThan(0);
    const attached = ofType(p, "alicloud:ecs/ramRoleAttachment:RamRoleAttachment").map((a) => a.name);
    for (const w of workers) expect(attached).toContain(`prod1-worker-role-${w.name}`);
  });
});

test("app namespaces enforce Pod Security baseline at a pinned version (no hostNetwork pods beside the guard)", async () => {
  const p = await plan("prod1");
  const namespaces = ofType(p, "kubernetes:core/v1:Namespace").filter(
    (n) =>
      (n.inputs.metadata as { labels?: Record<string, string> }).labels?.["app.kubernetes.io/managed-by"] === "pulumi" &&
      (n.inputs.metadata as { labels?: Record<string, string> }).labels?.["pod-security.kubernetes.io/enforce"] !== "privileged",
  );
  const apps = namespaces.filter((n) => (n.inputs.metadata as { labels: Record<string, string> }).labels["pod-security.kubernetes.io/enforce"] === "baseline");
  expect(apps.length).toBeGreaterThan(0);
  for (const n of apps) expect((n.inputs.metadata as { labels: Record<string, string> }).labels["pod-security.kubernetes.io/enforce-version"]).toBe("v1.35");
});
