// T29 for real: the OAP and UI NetworkPolicies prod1 plans, enforced by the real kube-router v2.10.0 (built from source by
// harness/build-kube-router.sh) run with the planned DaemonSet's arguments and a token of the planned ServiceAccount
// (so the planned ClusterRole is all it may read), against the stack's own control plane
// (test/controlplane/controlPlane.ts), inside a "node" network namespace the test makes: a bridge like flannel's cni0
// with six "pod" namespaces behind it (OAP, the UI, Prometheus, a pod of another namespace, a pod there copying the
// UI's labels, the ingress controller), registered as Pods on a Node of that name. kube-router runs with
// NET_ADMIN and NET_RAW only, the capabilities the DaemonSet adds. Real TCP connections, each made inside a pod's
// namespace by one node process with its own connect timeout, decide by their outcome (connected, refused, timed
// out), never by elapsed time: only the UI reaches 12800; every pod reaches 11800; only Prometheus reaches 1234;
// only the ingress controller reaches the UI's 8080; without the OAP policy everyone reaches 12800 again.
// kube-router's iptables rules and ipsets live in the node namespace only; the host's are never touched.
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { binDir } from "../controlplane/binaries";
import { ControlPlane, serviceAccountKubeconfig, startControlPlane } from "../controlplane/controlPlane";
import type { Response as KubeResponse } from "../controlplane/kubeClient";
import { cloudInitFiles, stackInputsFromPlan } from "../controlplane/stackInputs";
import { METADATA_GUARD_PATH } from "../../components/cluster/bootstrapUnits";
import { ofType, plan } from "../support/offline";
import { sh, tcpProbe } from "../support/netns";

const STACK = "prod1";
const REPO = path.resolve(__dirname, "..", "..");
const NODE = `${STACK}-worker-np`;
const NODE_IP = "192.168.77.1";
// A node's /24 of prod1's pod network (platform:network.podCidr 10.140.0.0/16).
const POD_CIDR = "10.140.1.0/24";
const GATEWAY = "10.140.1.1";

// The pods: the chart's OAP and UI labels (chart 4.7.0, components/k8s/tracing.ts), the operator's Prometheus label,
// a pod of an app namespace, one there with the UI's labels, and the global ingress-nginx controller (chart 4.15.1's
// controller pod labels in its namespace, components/k8s/ingress.ts).
const PODS = {
  oap: { ip: "10.140.1.2", namespace: "tracing", name: "skywalking-oap-0", labels: { app: "skywalking", component: "oap", release: "skywalking" } },
  ui: { ip: "10.140.1.3", namespace: "tracing", name: "skywalking-ui-0", labels: { app: "skywalking", component: "ui", release: "skywalking" } },
  prom: { ip: "10.140.1.4", namespace: "monitoring", name: "prometheus-0", labels: { "app.kubernetes.io/name": "prometheus" } },
  other: { ip: "10.140.1.5", namespace: "commerce", name: "order-service-0", labels: { app: "order-service" } },
  uiother: { ip: "10.140.1.6", namespace: "commerce", name: "fake-ui-0", labels: { app: "skywalking", component: "ui", release: "skywalking" } },
  ingress: {
    ip: "10.140.1.7",
    namespace: "ingress-nginx",
    name: "ingress-nginx-controller-0",
    labels: {
      "app.kubernetes.io/name": "ingress-nginx",
      "app.kubernetes.io/instance": "prod1-ingress-controller-0a1b2c3d",
      "app.kubernetes.io/component": "controller",
    },
  },
} as const;
type PodKey = keyof typeof PODS;
const OAP_PORTS = [12800, 11800, 1234];
// The UI container's port (chart 4.7.0 ui.service.internalPort).
const UI_PORT = 8080;
// A connection's outcome, as the kernel tells the connecting socket: REJECT (ICMP port unreachable) is ECONNREFUSED.
type Outcome = "connected" | "refused" | "timeout";
// NET_ADMIN (bit 12) and NET_RAW (bit 13): the capabilities kube-router's DaemonSet adds.
const NET_ADMIN_AND_RAW = "0000000000003000";

const CP_BINARIES = ["kubeadm", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];
const kubeRouterBin = (() => {
  try {
    return path.join(spawnSync("bash", [path.join(REPO, "harness", "build-kube-router.sh"), "--bin-dir"], { encoding: "utf8" }).stdout.trim(), "kube-router");
  } catch {
    return "";
  }
})();
const missing = (() => {
  try {
    const dir = binDir();
    const out = CP_BINARIES.filter((b) => !fs.existsSync(path.join(dir, b)));
    if (!kubeRouterBin || !fs.existsSync(kubeRouterBin)) out.push("kube-router");
    for (const tool of ["ipset", "iptables-restore"]) if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) out.push(tool);
    return out;
  } catch (e) {
    return [(e as Error).message];
  }
})();
if (missing.length > 0 && process.env.CI !== "true") {
  console.log(
    `test/k8s/networkPolicyEnforcement: skipped: it runs the real kube-router against a real api-server, and binaries are missing (${missing.join(", ")}); run \`bash harness/build.sh\` (and apt-get install ipset)`,
  );
}
(process.env.CI === "true" ? test : test.skip)("CI has what the enforcement test runs (.ci/setup --tests builds kube-router and installs ipset)", () => {
  expect(missing).toEqual([]);
});

const suite = missing.length === 0 ? describe : describe.skip;
suite("the OAP NetworkPolicy, enforced by the real kube-router in network namespaces", () => {
  const id = `${process.pid % 10000}`;
  const nodeNs = `np${id}node`;
  const podNs = (k: PodKey) => `np${id}${k}`;
  let cp: ControlPlane | undefined;
  let relay: net.Server | undefined;
  const children: ChildProcess[] = [];
  let dir = "";
  let policy: Record<string, any> = {};
  let uiPolicy: Record<string, any> = {};
  let plannedPlan: Awaited<ReturnType<typeof plan>> | undefined;
  let kubeRouter: ChildProcess | undefined;
  let daemonSet: Record<string, any> = {};
  let clusterRole: Record<string, any> = {};
  const ipn = (n: string, ...args: string[]) => sh("ip", ["-n", n, ...args]);
  const started = (cmd: string, args: string[], log: string, env?: NodeJS.ProcessEnv): ChildProcess => {
    const fd = fs.openSync(path.join(dir, log), "a");
    const child = spawn(cmd, args, { stdio: ["ignore", fd, fd], env: env ?? process.env });
    fs.closeSync(fd);
    children.push(child);
    return child;
  };
  const logTail = (log: string) => fs.readFileSync(path.join(dir, log), "utf8").split("\n").slice(-30).join("\n");
  const until = async (what: string, ok: () => boolean | Promise<boolean>, seconds: number, log?: string) => {
    // By the clock, not by a count of tries: a try (a probe) may itself take seconds under load.
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      if (await ok()) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`${what}: not after ${seconds}s${log ? `; ${log} ends:\n${logTail(log)}` : ""}`);
  };
  /** The outcome of a TCP connection from pod `from` (or the node) to `to`'s `port`. */
  const probe = (from: PodKey | "node", port: number, to: PodKey = "oap", host: string = PODS[to].ip): Promise<Outcome | string> =>
    tcpProbe(from === "node" ? nodeNs : podNs(from), host, port);
  const connects = async (from: PodKey | "node", port: number, to: PodKey = "oap") => (await probe(from, port, to)) === "connected";
  const ok = (what: string, r: KubeResponse): KubeResponse => {
    if (r.status >= 300) throw new Error(`${what}: ${r.status} ${r.text.slice(0, 500)}`);
    return r;
  };
  const iptablesSave = () => spawnSync("ip", ["netns", "exec", nodeNs, "iptables-save", "-t", "filter"], { encoding: "utf8" }).stdout;

  beforeAll(async () => {
    const p = await plan(STACK);
    plannedPlan = p;
    // The objects as prod1 plans them, not retyped.
    const one = (type: string, name: string) => {
      const found = ofType(p, type).filter((r) => (r.inputs.metadata as { name: string }).name === name);
      if (found.length !== 1) throw new Error(`${STACK} plans ${found.length} ${type} ${name}`);
      return found[0].inputs as Record<string, any>;
    };
    policy = one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "skywalking-oap");
    uiPolicy = one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "skywalking-ui");
    daemonSet = one("kubernetes:apps/v1:DaemonSet", "kube-router");
    clusterRole = one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "kube-router");
    const serviceAccount = one("kubernetes:core/v1:ServiceAccount", "kube-router");
    const binding = one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "kube-router");

    dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpol-netns-"));
    // The node: a bridge for the pods (as flannel's cni0), its InternalIP on a link of its own.
    sh("ip", ["netns", "add", nodeNs]);
    ipn(nodeNs, "link", "set", "lo", "up");
    // (a veth whose peer stays in the node: this kernel has no dummy links)
    ipn(nodeNs, "link", "add", "eth0", "type", "veth", "peer", "name", "uplink");
    ipn(nodeNs, "addr", "add", `${NODE_IP}/24`, "dev", "eth0");
    ipn(nodeNs, "link", "set", "eth0", "up");
    ipn(nodeNs, "link", "set", "uplink", "up");
    ipn(nodeNs, "link", "add", "cni0", "type", "bridge");
    ipn(nodeNs, "addr", "add", `${GATEWAY}/24`, "dev", "cni0");
    ipn(nodeNs, "link", "set", "cni0", "up");
    // Bridged traffic through the node's iptables, as the nodes set it (cloudInit.ts: net.bridge.bridge-nf-call-iptables = 1).
    sh("ip", ["netns", "exec", nodeNs, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"]);
    for (const k of Object.keys(PODS) as PodKey[]) {
      const n = podNs(k);
      sh("ip", ["netns", "add", n]);
      ipn(nodeNs, "link", "add", `veth-${k}`, "type", "veth", "peer", "name", "eth0", "netns", n);
      ipn(nodeNs, "link", "set", `veth-${k}`, "master", "cni0", "up");
      ipn(n, "addr", "add", `${PODS[k].ip}/24`, "dev", "eth0");
      ipn(n, "link", "set", "eth0", "up");
      ipn(n, "link", "set", "lo", "up");
      ipn(n, "route", "add", "default", "via", GATEWAY);
    }
    // OAP's ports, answered in the OAP pod, and the UI's in the UI pod; dual-stack, as OAP's Netty binds 0.0.0.0
    // (in6addr_any with IPV6_V6ONLY off).
    const listen = `const net=require("net");for(const p of process.argv.slice(1))net.createServer((c)=>{c.on("error",()=>{});c.end("up\\n");}).listen(Number(p),"::");`;
    started("ip", ["netns", "exec", podNs("oap"), process.execPath, "-e", listen, ...OAP_PORTS.map(String)], "oap.log");
    started("ip", ["netns", "exec", podNs("ui"), process.execPath, "-e", listen, String(UI_PORT)], "ui.log");
    await until(
      "OAP's and the UI's stand-ins listen",
      async () =>
        (await connects("prom", 12800)) && (await connects("prom", 11800)) && (await connects("prom", 1234)) && (await connects("prom", UI_PORT, "ui")),
      60,
      "oap.log",
    );

    // The stack's control plane, reached from the node's 127.0.0.1:6443 through a relay (a unix socket).
    cp = await startControlPlane(stackInputsFromPlan(STACK, p), { binDir: binDir() });
    const api = new URL(cp.apiserver);
    const sock = path.join(dir, "api.sock");
    relay = net.createServer((c) => {
      const u = net.connect(Number(api.port), api.hostname);
      c.pipe(u).pipe(c);
      c.on("error", () => u.destroy());
      u.on("error", () => c.destroy());
    });
    await new Promise<void>((r) => relay!.listen(sock, r));
    const inside = `const net=require("net");net.createServer((c)=>{const u=net.connect(process.argv[1]);c.pipe(u).pipe(c);c.on("error",()=>u.destroy());u.on("error",()=>c.destroy());}).listen(6443,"127.0.0.1");`;
    started("ip", ["netns", "exec", nodeNs, process.execPath, "-e", inside, sock], "relay.log");

    // As an admin: kube-router's planned ServiceAccount and RBAC, the Node, the namespaces and the Pods with their IPs.
    const admin = cp.client;
    for (const [kind, apiVersion, inputs] of [
      ["ServiceAccount", "v1", serviceAccount],
      ["ClusterRole", "rbac.authorization.k8s.io/v1", clusterRole],
      ["ClusterRoleBinding", "rbac.authorization.k8s.io/v1", binding],
    ] as const)
      ok(`create ${kind}`, await admin.create({ apiVersion, kind, metadata: inputs.metadata, ...inputs }));
    ok("create Node", await admin.create({ apiVersion: "v1", kind: "Node", metadata: { name: NODE }, spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] } }));
    ok(
      "Node status",
      await admin.request(
        "PATCH",
        `/api/v1/nodes/${NODE}/status`,
        { status: { addresses: [{ type: "InternalIP", address: NODE_IP }] } },
        "application/merge-patch+json",
      ),
    );
    for (const ns of new Set(Object.values(PODS).map((x) => x.namespace))) {
      const r = await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
      if (r.status !== 409) ok(`create Namespace ${ns}`, r);
    }
    for (const k of Object.keys(PODS) as PodKey[]) {
      const { namespace, name, labels, ip } = PODS[k];
      // The namespace's default ServiceAccount comes from the controller-manager a moment after the namespace.
      let created: KubeResponse | undefined;
      await until(
        `the api-server takes Pod ${name}`,
        async () => {
          created = await admin.create({
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name, namespace, labels },
            spec: { nodeName: NODE, containers: [{ name: "main", image: "registry.invalid/none:1" }] },
          });
          return !(created.status === 403 && created.text.includes("serviceaccount"));
        },
        30,
      );
      ok(`create Pod ${name}`, created!);
      ok(
        `Pod ${name} status`,
        await admin.request(
          "PATCH",
          `/api/v1/namespaces/${namespace}/pods/${name}/status`,
          { status: { phase: "Running", podIP: ip, podIPs: [{ ip }], hostIP: NODE_IP } },
          "application/merge-patch+json",
        ),
      );
    }

    // kube-router: the planned container's args and env (NODE_NAME as the DaemonSet's fieldRef resolves it on this
    // node), plus the one thing a pod gets from its ServiceAccount mount instead: a kubeconfig with that account's token.
    const kubeconfig = await serviceAccountKubeconfig(cp, "kube-system", "kube-router", path.join(dir, "kube-router.kubeconfig"));
    const container = daemonSet.spec.template.spec.containers[0];
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    for (const e of container.env as { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[]) {
      if (e.valueFrom?.fieldRef?.fieldPath !== "spec.nodeName") throw new Error(`the DaemonSet's env ${e.name} is new to this test`);
      env[e.name] = NODE;
    }
    // With the capabilities the DaemonSet adds and no others (uid 0 as in the container): setpriv empties the
    // inheritable set down to them and bounds the rest away, so exec leaves NET_ADMIN and NET_RAW alone effective.
    const caps = "-all,+net_admin,+net_raw";
    kubeRouter = started(
      "ip",
      [
        "netns",
        "exec",
        nodeNs,
        "setpriv",
        `--inh-caps=${caps}`,
        `--ambient-caps=${caps}`,
        `--bounding-set=${caps}`,
        "--",
        kubeRouterBin,
        ...container.args,
        `--kubeconfig=${kubeconfig}`,
        "-v=2",
      ],
      "kube-router.log",
      env,
    );
    // Synced: its pod firewall chains are in the node's filter table (one per local pod).
    await until("kube-router programs the node's filter table", () => iptablesSave().includes("KUBE-ROUTER-FORWARD"), 120, "kube-router.log");
  }, 10 * 60_000);

  afterAll(async () => {
    for (const c of children) c.kill();
    relay?.close();
    cp?.client.close();
    await cp?.stop();
    for (const k of Object.keys(PODS) as PodKey[]) spawnSync("ip", ["netns", "del", podNs(k)]);
    spawnSync("ip", ["netns", "del", nodeNs]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test("kube-router runs as planned: the policy controller alone, reading with the planned ClusterRole's token, health on the node's loopback", async () => {
    expect(daemonSet.spec.template.spec.containers[0].args).toEqual([
      "--run-firewall=true",
      "--run-router=false",
      "--run-service-proxy=false",
      "--health-addr=127.0.0.1",
      "--health-port=20244",
      "--metrics-port=0",
    ]);
    expect(spawnSync("ip", ["netns", "exec", nodeNs, "curl", "-s", "-m", "2", "http://127.0.0.1:20244/healthz"], { encoding: "utf8" }).stdout).toBe("OK\n");
    // The planned RBAC was enough: nothing was refused to it.
    expect(fs.readFileSync(path.join(dir, "kube-router.log"), "utf8")).not.toMatch(/forbidden/i);
    // It ran with NET_ADMIN and NET_RAW only, as the DaemonSet grants (the pod spec's securityContext.capabilities.add).
    expect(daemonSet.spec.template.spec.containers[0].securityContext).toEqual({ privileged: false, capabilities: { add: ["NET_ADMIN", "NET_RAW"] } });
    const status = fs.readFileSync(`/proc/${kubeRouter!.pid}/status`, "utf8");
    expect(fs.readFileSync(`/proc/${kubeRouter!.pid}/comm`, "utf8").trim()).toBe("kube-router");
    for (const set of ["CapEff", "CapPrm", "CapBnd"]) expect([set, status.match(new RegExp(`^${set}:\\s*(\\w+)$`, "m"))![1]]).toEqual([set, NET_ADMIN_AND_RAW]);
    // Only the node namespace holds its chains: the host's filter table has none.
    expect(spawnSync("iptables-save", ["-t", "filter"], { encoding: "utf8" }).stdout).not.toContain("KUBE-ROUTER-FORWARD");
  });

  test("without a policy every pod reaches OAP's query port and the UI's port", async () => {
    for (const from of ["ui", "prom", "other", "uiother", "ingress"] as const) expect([from, await probe(from, 12800)]).toEqual([from, "connected"]);
    for (const from of ["prom", "other", "uiother", "ingress"] as const) expect([from, await probe(from, UI_PORT, "ui")]).toEqual([from, "connected"]);
  }, 300_000);

  test("with prod1's policies: 12800 only from the UI, 11800 from every pod, 1234 only from Prometheus, the UI's 8080 only from the ingress controller; the node still reaches both", async () => {
    for (const p of [policy, uiPolicy])
      ok(
        `create NetworkPolicy ${p.metadata.name}`,
        await cp!.client.create({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: p.metadata, ...p }),
      );
    await until(
      "the policies take effect (another namespace's pod is refused on 12800 and on the UI's port)",
      async () => (await probe("other", 12800)) === "refused" && (await probe("other", UI_PORT, "ui")) === "refused",
      120,
      "kube-router.log",
    );
    const table: Record<string, string> = {};
    for (const from of ["ui", "prom", "other", "uiother", "ingress", "node"] as const)
      for (const port of OAP_PORTS) table[`${from}->oap:${port}`] = await probe(from, port);
    for (const from of ["prom", "other", "uiother", "ingress", "node"] as const) table[`${from}->ui:${UI_PORT}`] = await probe(from, UI_PORT, "ui");
    expect(table).toEqual({
      "ui->oap:12800": "connected",
      "ui->oap:11800": "connected",
      "ui->oap:1234": "refused",
      "prom->oap:12800": "refused",
      "prom->oap:11800": "connected",
      "prom->oap:1234": "connected",
      "other->oap:12800": "refused",
      "other->oap:11800": "connected",
      "other->oap:1234": "refused",
      // The UI's labels in another namespace: the OAP policy's podSelector matches only in tracing.
      "uiother->oap:12800": "refused",
      "uiother->oap:11800": "connected",
      "uiother->oap:1234": "refused",
      "ingress->oap:12800": "refused",
      "ingress->oap:11800": "connected",
      "ingress->oap:1234": "refused",
      // kube-router accepts what the node itself sends its pods (the kubelet's tcpSocket probes on 12800).
      "node->oap:12800": "connected",
      "node->oap:11800": "connected",
      "node->oap:1234": "connected",
      // The UI's /graphql proxies to OAP: only the ingress controller (SSO-checked) and the node (kubectl port-forward, probes) reach it.
      "prom->ui:8080": "refused",
      "other->ui:8080": "refused",
      "uiother->ui:8080": "refused",
      "ingress->ui:8080": "connected",
      "node->ui:8080": "connected",
    });
    // The policy's ipsets are the node's; the host holds none of them.
    expect(spawnSync("ip", ["netns", "exec", nodeNs, "ipset", "list", "-n"], { encoding: "utf8" }).stdout).toMatch(/^KUBE-/m);
    expect(spawnSync("ipset", ["list", "-n"], { encoding: "utf8" }).stdout).not.toMatch(/^KUBE-/m);
  }, 600_000);

  test("over IPv6 the policy is no guard (kube-router programs IPv4 only); the node's pod IPv6 guard, as prod1's user data installs it, is", async () => {
    const line = ipn(podNs("oap"), "-6", "addr", "show", "dev", "eth0", "scope", "link");
    const linkLocal = `${line.match(/inet6 (fe80::[0-9a-f:]+)\/64/)![1]}%eth0`;
    // Before the guard: another namespace's pod reaches OAP's 12800 at its link-local address, policy or not.
    expect(await probe("other", 12800, "oap", linkLocal)).toBe("connected");
    const doc = plannedPlan!.artifacts.find((a) => a.kind === "cloud-init" && a.file === `${STACK}-general-0.yaml`);
    const file = path.join(dir, "guard.nft");
    fs.writeFileSync(file, cloudInitFiles(doc!.text).get(METADATA_GUARD_PATH)!);
    sh("ip", ["netns", "exec", nodeNs, "nft", "-f", file]);
    ipn(podNs("other"), "-6", "neigh", "flush", "dev", "eth0");
    // Dropped on the bridge: no answer (a timeout, or EHOSTUNREACH once neighbour discovery gives up).
    expect(["timeout", "EHOSTUNREACH"]).toContain(await probe("other", 12800, "oap", linkLocal));
    expect(["timeout", "EHOSTUNREACH"]).toContain(
      await probe(
        "uiother",
        8080,
        "ui",
        `${ipn(podNs("ui"), "-6", "addr", "show", "dev", "eth0", "scope", "link").match(/inet6 (fe80::[0-9a-f:]+)\/64/)![1]}%eth0`,
      ),
    );
    // IPv4 as before.
    expect(await probe("ui", 12800)).toBe("connected");
    expect(await probe("other", 12800)).toBe("refused");
  }, 300_000);

  test("deleting the policy opens 12800 to the other namespace again", async () => {
    ok("delete NetworkPolicy", await cp!.client.request("DELETE", `/apis/networking.k8s.io/v1/namespaces/tracing/networkpolicies/${policy.metadata.name}`));
    await until("the other namespace's pod reaches 12800 again", () => connects("other", 12800), 120, "kube-router.log");
    expect(await probe("prom", 12800)).toBe("connected");
    // The UI's policy stays.
    expect(await probe("other", UI_PORT, "ui")).toBe("refused");
  }, 300_000);
});
