// The node guard against pod-to-pod IPv6 on flannel's bridge (threat model T29), for real: the guard file exactly as
// prod1's user data installs it on a worker, loaded with the real nft into a "node" network namespace the test makes,
// with a bridge named as flannel's (cni0) and two "pod" namespaces behind it, their host ends named "veth..." as
// the CNI bridge plugin flannel delegates to names them. The clusters are IPv4 only, yet each pod
// keeps a link-local IPv6 address, and kube-router programs no ip6tables rule; a listener on in6addr_any (as OAP's
// Netty) answered the other pod at fe80::...%eth0 before the guard. Real TCP connections decide, by their outcome.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { METADATA_GUARD_PATH } from "../../components/cluster/bootstrapUnits";
import { cloudInitFiles } from "../controlplane/stackInputs";
import { plan } from "../support/offline";
import { sh, tcpProbe } from "../support/netns";

const STACK = "prod1";
const WORKER = `${STACK}-general-0`;
const PORT = 12800;

const missing = ["nft", "ip"].filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
if (process.getuid?.() !== 0) missing.push("root (network namespaces)");
if (missing.length > 0 && process.env.CI !== "true") console.log(`test/cluster/podIpv6Guard: skipped: it needs ${missing.join(", ")}`);
(process.env.CI === "true" ? test : test.skip)("CI has what the pod IPv6 guard test runs (root, nft, ip)", () => {
  expect(missing).toEqual([]);
});

(missing.length === 0 ? describe : describe.skip)("pod-to-pod IPv6 on cni0, with the node guard as prod1 installs it", () => {
  const id = `${process.pid % 10000}`;
  const ns = { node: `g6${id}node`, server: `g6${id}srv`, client: `g6${id}cli` };
  const ipv4 = { server: "10.140.1.2", client: "10.140.1.5" };
  let dir = "";
  let serverLinkLocal = "";
  const children: ReturnType<typeof spawn>[] = [];
  const ipn = (n: string, ...args: string[]) => sh("ip", ["-n", n, ...args]);
  const probe = (host: string): Promise<string> => tcpProbe(ns.client, host, PORT);
  const until = async (what: string, ok: () => Promise<boolean>, seconds: number) => {
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      if (await ok()) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`${what}: not after ${seconds}s`);
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ipv6-guard-"));
    for (const n of Object.values(ns)) sh("ip", ["netns", "add", n]);
    ipn(ns.node, "link", "set", "lo", "up");
    ipn(ns.node, "link", "add", "cni0", "type", "bridge");
    ipn(ns.node, "addr", "add", "10.140.1.1/24", "dev", "cni0");
    ipn(ns.node, "link", "set", "cni0", "up");
    for (const k of ["server", "client"] as const) {
      ipn(ns.node, "link", "add", `veth${k}`, "type", "veth", "peer", "name", "eth0", "netns", ns[k]);
      ipn(ns.node, "link", "set", `veth${k}`, "master", "cni0", "up");
      ipn(ns[k], "addr", "add", `${ipv4[k]}/24`, "dev", "eth0");
      ipn(ns[k], "link", "set", "eth0", "up");
      ipn(ns[k], "link", "set", "lo", "up");
    }
    // Both pods' link-local addresses, once duplicate address detection let them go (no longer tentative): a
    // tentative source address fails the client's connect with EADDRNOTAVAIL.
    await until(
      "the pods' link-local addresses",
      async () => {
        const [server, client] = [ns.server, ns.client].map((n) => ipn(n, "-6", "addr", "show", "dev", "eth0", "scope", "link"));
        const m = server.match(/inet6 (fe80::[0-9a-f:]+)\/64/);
        if (!m || !/inet6 fe80::/.test(client) || server.includes("tentative") || client.includes("tentative")) return false;
        serverLinkLocal = m[1];
        return true;
      },
      30,
    );
    // A dual-stack listener, as OAP's Netty binds 0.0.0.0 (in6addr_any, IPV6_V6ONLY off).
    const listen = `require("net").createServer((c)=>{c.on("error",()=>{});c.end("up\\n");}).listen(${PORT},"::");`;
    const fd = fs.openSync(path.join(dir, "server.log"), "a");
    children.push(spawn("ip", ["netns", "exec", ns.server, process.execPath, "-e", listen], { stdio: ["ignore", fd, fd] }));
    fs.closeSync(fd);
    await until("the server listens", async () => (await probe(ipv4.server)) === "connected", 60);
  }, 180_000);

  afterAll(() => {
    for (const c of children) c.kill();
    for (const n of Object.values(ns)) spawnSync("ip", ["netns", "del", n]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("without the guard, the other pod reaches the listener over link-local IPv6 (the hole)", async () => {
    expect(serverLinkLocal).toMatch(/^fe80::/);
    expect(await probe(`${serverLinkLocal}%eth0`)).toBe("connected");
  }, 60_000);

  test("with the guard: IPv6 between pods on cni0 is dropped (the connect gets no answer), IPv4 still connects", async () => {
    const doc = (await plan(STACK)).artifacts.find((a) => a.kind === "cloud-init" && a.file === `${WORKER}.yaml`);
    const rules = cloudInitFiles(doc!.text).get(METADATA_GUARD_PATH)!;
    expect(rules).toContain(
      'table bridge k8s_pod_ipv6_guard {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n    iifname "veth*" ether type != { ip, arp } counter drop\n  }\n}\n',
    );
    const file = path.join(dir, "guard.nft");
    fs.writeFileSync(file, rules);
    sh("ip", ["netns", "exec", ns.node, "nft", "-f", file]);
    // Loading it twice (a restart of the guard unit) keeps one table with one rule.
    sh("ip", ["netns", "exec", ns.node, "nft", "-f", file]);
    expect(sh("ip", ["netns", "exec", ns.node, "nft", "list", "table", "bridge", "k8s_pod_ipv6_guard"]).match(/drop/g)).toHaveLength(1);
    // Forget the neighbour the first test learnt, as a fresh attacker would have none.
    ipn(ns.client, "-6", "neigh", "flush", "dev", "eth0");
    // Dropped, not answered: the SYN (or the neighbour solicitation before it) never arrives, so the connect times out
    // (10 s), or the kernel gives up resolving the neighbour first (EHOSTUNREACH).
    expect(["timeout", "EHOSTUNREACH"]).toContain(await probe(`${serverLinkLocal}%eth0`));
    expect(sh("ip", ["netns", "exec", ns.node, "nft", "list", "chain", "bridge", "k8s_pod_ipv6_guard", "forward"])).toMatch(/counter packets [1-9]/);
    expect(await probe(ipv4.server)).toBe("connected");
  }, 120_000);
});
