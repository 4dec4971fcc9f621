// The user data every node boots from, checked by the real tools: `cloud-init schema`
// for the cloud-config, `shellcheck` for the embedded bash, openssl for the CA pin.
// A missing tool fails the test (CI installs them); nothing is skipped.

import { spawnSync, SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import YAML from "yaml";
import { BOOTSTRAP_SCRIPT_PATH, renderUserData, resetRenderCaches, USER_DATA_LIMIT_BYTES, writeFileText } from "../../components/cluster/cloudInit";
import { bootstrapScript as renderScript } from "../../components/cluster/bootstrapScript";
import { withoutComments } from "../../components/cluster/masterDay2";
import { nodeLabelProblems } from "../../components/cluster/kubeadmRules";
import {
  caCertHashFromPublicKeyPem,
  ClusterBootstrap,
  isKubeletSettableLabel,
  KUBEADM_CONFIG_PATH,
  KUBEADM_INIT_CONFIG_PATH,
  NodeBootstrap,
  renderInitConfiguration,
} from "../../components/cluster/kubeadm";

let tmp: string;
let ca: { certPem: string; keyPem: string };
let bigCa: { certPem: string; keyPem: string };
let otherCa: { certPem: string; keyPem: string };

/** Runs a tool; a missing binary is a test failure, not a skip. */
function run(cmd: string, args: string[], input?: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { encoding: "utf8", input, timeout: 30_000 });
  if (r.error) throw new Error(`${cmd} could not run (${r.error.message}); install it (CI does)`);
  return r;
}

const bootstrapScript = (c: ClusterBootstrap, n: NodeBootstrap) => renderScript(c, n, { containerdVersion: "1.7." });

function mintCa(name: string, keyArgs: string[]): { certPem: string; keyPem: string } {
  const key = path.join(tmp, `${name}.key`);
  const crt = path.join(tmp, `${name}.crt`);
  const r = run("openssl", ["req", "-x509", ...keyArgs, "-nodes", "-keyout", key, "-out", crt, "-subj", "/CN=kubernetes", "-days", "1"]);
  expect(r.status).toBe(0);
  return { certPem: fs.readFileSync(crt, "utf8"), keyPem: fs.readFileSync(key, "utf8") };
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cloudinit-test-"));
  ca = mintCa("ca", ["-newkey", "rsa:2048"]);
  otherCa = mintCa("other", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]);
  // Worst case for the size budget: a 4096-bit RSA CA.
  bigCa = mintCa("big", ["-newkey", "rsa:4096"]);
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function cluster(over: Partial<ClusterBootstrap> = {}): ClusterBootstrap {
  return {
    clusterName: "prod1",
    kubernetesVersion: "1.33.5",
    controlPlaneEndpoint: "10.20.0.250:6443",
    podSubnet: "10.244.0.0/16",
    serviceSubnet: "10.96.0.0/12",
    imageRepository: "registry.cn-hangzhou.aliyuncs.com/google_containers",
    packageRepository: "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.33/deb/",
    caCertHash: caCertHashFromPublicKeyPem(ca.certPem),
    caCertPem: ca.certPem,
    ...over,
  };
}

const secretStore = { kmsUrl: "https://kms-vpc.cn-shanghai.aliyuncs.com", secretName: "prod1-control-plane", ramRole: "prod1-masters" };
const initNode = (): NodeBootstrap => ({
  role: "init",
  hostname: "prod1-master-0",
  nodeIp: "10.20.0.10",
  controlPlane: { index: 0, peers: ["10.20.0.11:6443", "10.20.0.12:6443"], secretStore },
});
const cpNode = (): NodeBootstrap => ({
  role: "control-plane",
  hostname: "prod1-master-1",
  nodeIp: "10.20.0.11",
  controlPlane: { index: 1, peers: ["10.20.0.10:6443", "10.20.0.12:6443"], secretStore },
});
const workerNode = (): NodeBootstrap => ({
  role: "worker",
  hostname: "prod1-general-3",
  labels: { "node.kubernetes.io/pool": "general", "example.com/team": "order" },
  taints: [{ key: "dedicated", value: "order", effect: "NoSchedule" }],
  joinTokenStore: { kmsUrl: "https://kms-vpc.cn-shanghai.aliyuncs.com", secretName: "prod1-worker-join", ramRole: "prod1-workers" },
});
const nodeFor = { init: initNode, "control-plane": cpNode, worker: workerNode };
/** Roles for test.each; the node is built inside the test, after beforeAll minted the CA. */
const roles = Object.keys(nodeFor) as (keyof typeof nodeFor)[];
const nodes = (): [string, NodeBootstrap][] => roles.map((r) => [r, nodeFor[r]()]);

interface WriteFile {
  path: string;
  content: string;
  permissions: string;
  owner: string;
  encoding?: string;
}

function parseUserData(text: string): { hostname: string; write_files: WriteFile[]; runcmd: unknown[] } {
  expect(text.startsWith("#cloud-config\n")).toBe(true);
  return YAML.parse(text);
}

/** A write_files entry with its text decoded (gz+b64 entries). */
function fileAt(text: string, p: string): WriteFile | undefined {
  const f = parseUserData(text).write_files.find((e) => e.path === p);
  return f && { ...f, content: writeFileText(f) };
}

function kubeadmDocs(text: string, at = KUBEADM_CONFIG_PATH): Record<string, any>[] {
  const f = fileAt(text, at);
  expect(f).toBeDefined();
  expect(f!.permissions).toBe("0600");
  const docs = YAML.parseAllDocuments(f!.content);
  for (const d of docs) expect(d.errors).toEqual([]);
  return docs.map((d) => d.toJS());
}

function cloudInitSchema(text: string, name: string): SpawnSyncReturns<string> {
  const file = path.join(tmp, `${name}.yaml`);
  fs.writeFileSync(file, text);
  return run("cloud-init", ["schema", "-c", file]);
}

function shellcheck(script: string, name: string): SpawnSyncReturns<string> {
  const file = path.join(tmp, `${name}.sh`);
  fs.writeFileSync(file, script);
  // check-unassigned-uppercase: a variable no generated block sets (a worker's script has no NODE_NAME) is an
  // error under the script's `set -u`, at boot; shellcheck's default skips uppercase names.
  return run("shellcheck", ["-s", "bash", "-S", "style", "-o", "check-unassigned-uppercase", "-f", "gcc", file]);
}

describe("the render caches change nothing", () => {
  test("nodes of two clusters and three roles, rendered one after another, equal each rendered cold, and the library's own YAML", () => {
    const other = cluster({ clusterName: "prod2", controlPlaneEndpoint: "10.50.0.40:6443" });
    const extras = {
      files: [{ path: "/usr/local/sbin/day2.sh", content: "echo day2\n", owner: "root:root", permissions: "0700" }],
      runcmd: [["bash", "/usr/local/sbin/day2.sh"]],
    };
    const nodes: [ClusterBootstrap, NodeBootstrap, typeof extras | undefined][] = [
      [cluster(), initNode(), extras],
      [cluster(), workerNode(), undefined],
      [other, { ...workerNode(), hostname: "prod2-general-0" }, undefined],
      [cluster(), cpNode(), extras],
      [cluster(), { ...workerNode(), hostname: "prod1-general-7" }, undefined],
      [other, { ...initNode(), hostname: "prod2-master-0" }, undefined],
    ];
    resetRenderCaches();
    const warm = nodes.map(([c, n, e]) => renderUserData(c, n, e));
    const cold = nodes.map(([c, n, e]) => {
      resetRenderCaches();
      return renderUserData(c, n, e);
    });
    expect(warm).toEqual(cold);
    for (const text of warm) {
      const body = text.slice("#cloud-config\n".length);
      expect(YAML.stringify(YAML.parse(body), { lineWidth: 0 })).toBe(body);
    }
    // Each node its own: the workers run no day-2 installer, the second cluster's nodes name its endpoint.
    expect(warm.map((t) => t.includes("/usr/local/sbin/day2.sh"))).toEqual([true, false, false, true, false, false]);
    expect(warm.map((t) => t.includes("10.50.0.40:6443"))).toEqual([false, false, true, false, false, true]);
  });
});

describe("cloud-init schema", () => {
  test.each(roles)("accepts the %s user data without deprecations", (name) => {
    const node = nodeFor[name]();
    const r = cloudInitSchema(renderUserData(cluster(), node), name);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/error|DEPRECATED/i);
    expect(r.stdout).toContain("Valid cloud-config");
    expect(r.status).toBe(0);
  });

  test("rejects a broken document (the check can fail)", () => {
    const broken = renderUserData(cluster(), workerNode()).replace('permissions: "0600"', "permissions: 0600");
    const r = cloudInitSchema(broken, "broken");
    expect(r.status).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/permissions/);
  });
});

describe("embedded bash", () => {
  test.each(roles)("the %s script passes shellcheck -S style and bash -n", (name) => {
    const node = nodeFor[name]();
    const userData = renderUserData(cluster(), node);
    const scripts = parseUserData(userData)
      .write_files.map((f) => ({ ...f, content: writeFileText(f) }))
      .filter((f) => f.content.startsWith("#!/usr/bin/env bash"));
    expect(scripts.map((s) => s.path)).toEqual([BOOTSTRAP_SCRIPT_PATH]);
    expect(scripts[0].permissions).toBe("0700");
    expect(scripts[0].content).toBe(withoutComments(bootstrapScript(cluster(), node)));
    // The commented source passes too.
    scripts.push({ ...scripts[0], content: bootstrapScript(cluster(), node) });
    for (const [i, s] of scripts.entries()) {
      const r = shellcheck(s.content, `${name}-${i}`);
      expect(r.stdout).toBe("");
      expect(r.status).toBe(0);
      expect(run("bash", ["-n", path.join(tmp, `${name}-${i}.sh`)]).status).toBe(0);
    }
    expect(parseUserData(userData).runcmd).toEqual([
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "k8s-metadata-guard.service", "k8s-bootstrap.service"],
      ["systemctl", "start", "--no-block", "k8s-bootstrap.service"],
    ]);
  });

  test("shellcheck flags a sloppy script (the check can fail)", () => {
    const sloppy = bootstrapScript(cluster(), workerNode())
      .replace('"kubelet=$pkg_version"', "kubelet=$pkg_version") // SC2086, info level
      .replace('if "$@"; then', "if $@; then"); // SC2068, error level
    const r = shellcheck(sloppy, "sloppy");
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain("SC2086");
    expect(r.stdout).toContain("SC2068");
  });

  test("the script is strict, logs 0600, is idempotent and pins the packages", () => {
    for (const [, node] of nodes()) {
      const s = bootstrapScript(cluster(), node);
      expect(s).toMatch(/^#!\/usr\/bin\/env bash\n/);
      expect(s).toContain("set -euo pipefail\numask 077");
      expect(s).toContain('chmod 0600 "$LOG"');
      expect(s).not.toContain("tee");
      expect(s).toContain(': "${LOG:=${ROOT}/var/log/k8s-bootstrap.log}"');
      // The done-marker and kubelet.conf checks come before anything changes the machine.
      expect(s.indexOf('[ -f "$STATE_DIR/done" ]')).toBeLessThan(s.indexOf("swapoff"));
      expect(s.indexOf('[ -f "$K8S_DIR/kubelet.conf" ]')).toBeLessThan(s.indexOf("swapoff"));
      expect(s).toContain('": "${PACKAGE_REPO:=https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.33/deb/}"'.slice(1, -1));
      expect(s).toContain(': "${K8S_VERSION:=1.33.5}"');
      expect(s).toContain('"kubelet=$pkg_version" "kubeadm=$pkg_version" "kubectl=$pkg_version"');
      expect(s).toContain("apt-mark hold kubelet kubeadm kubectl");
      expect(s).toContain("apt-mark hold containerd");
      expect(s).not.toMatch(/docker/i);
      expect(s).not.toContain("--upload-certs");
    }
    for (const node of [initNode(), cpNode()]) {
      const s = bootstrapScript(cluster(), node);
      expect(s).toContain('kubeadm init --config "$INIT_CONFIG" --skip-token-print --skip-certificate-key-print');
      expect(s).toContain('curl -sf --max-time 5 --cacert "$CA_CERT"');
    }
    const w = bootstrapScript(cluster(), workerNode());
    expect(w).not.toContain("kubeadm init");
    expect(w).not.toContain("kms_fetch");
    expect(w.indexOf("retry 180 10 api_ready")).toBeGreaterThan(0);
    expect(w.indexOf('retry "$JOIN_TRIES" 30 join_cluster')).toBeGreaterThan(w.indexOf("retry 180 10 api_ready"));
  });

  test("retry() gives up after the given number of attempts (run by bash)", () => {
    const s = bootstrapScript(cluster(), workerNode());
    const start = s.indexOf("retry() {");
    const fn = s.slice(start, s.indexOf("\n}\n", start) + 3);
    const probe = `${fn}
n=0
count() { n=$((n + 1)); [ "$n" -ge "$1" ]; }
retry 3 0 count 99 && echo ok || echo "gave-up:$n"
n=0
retry 5 0 count 2 && echo "ok:$n"
`;
    const r = run("bash", ["-c", probe]);
    expect(r.stdout.split("\n").filter((l) => !l.startsWith("k8s-bootstrap"))).toEqual(["gave-up:3", "ok:2", ""]);
  });
});

const clusterCfgArgs = (c: Record<string, any>) => c.apiServer.extraArgs as { name: string; value: string }[];

describe("kubeadm documents", () => {
  test("init: InitConfiguration + ClusterConfiguration + KubeletConfiguration", () => {
    const docs = kubeadmDocs(renderUserData(cluster(), initNode()), KUBEADM_INIT_CONFIG_PATH);
    expect(docs.map((d) => `${d.apiVersion}/${d.kind}`)).toEqual([
      "kubeadm.k8s.io/v1beta4/InitConfiguration",
      "kubeadm.k8s.io/v1beta4/ClusterConfiguration",
      "kubelet.config.k8s.io/v1beta1/KubeletConfiguration",
    ]);
    const [init, clusterCfg, kubelet] = docs;
    // kubeadm generates its own token (1 h, printed nowhere); no certificate key at all.
    expect(init.bootstrapTokens).toEqual([expect.objectContaining({ ttl: "1h" })]);
    expect(init.bootstrapTokens[0]).not.toHaveProperty("token");
    expect(init).not.toHaveProperty("certificateKey");
    expect(clusterCfgArgs(docs[1])).toEqual(
      expect.arrayContaining([
        { name: "encryption-provider-config", value: "/etc/kubernetes/pki/encryption-config.yaml" },
        { name: "audit-policy-file", value: "/etc/kubernetes/audit/policy.yaml" },
      ]),
    );
    expect(init.localAPIEndpoint).toEqual({ advertiseAddress: "10.20.0.10", bindPort: 6443 });
    expect(init.nodeRegistration.name).toBe("prod1-master-0");
    expect(init.nodeRegistration.criSocket).toBe("unix:///run/containerd/containerd.sock");
    expect(init.nodeRegistration.kubeletExtraArgs).toEqual([{ name: "node-ip", value: "10.20.0.10" }]);
    // No taints given: kubeadm keeps its default control-plane taint.
    expect(init.nodeRegistration).not.toHaveProperty("taints");
    expect(clusterCfg.controlPlaneEndpoint).toBe("10.20.0.250:6443");
    expect(clusterCfg.kubernetesVersion).toBe("v1.33.5");
    expect(clusterCfg.clusterName).toBe("prod1");
    expect(clusterCfg.networking).toMatchObject({ podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12" });
    expect(clusterCfg.imageRepository).toBe("registry.cn-hangzhou.aliyuncs.com/google_containers");
    expect(kubelet.cgroupDriver).toBe("systemd");
    // Serving certificates from the cluster CA, so metrics-server can verify kubelets (no --kubelet-insecure-tls).
    expect(kubelet.serverTLSBootstrap).toBe(true);
  });

  test("imageRepository is omitted when unset, and the pause image falls back to registry.k8s.io", () => {
    const c = cluster({ imageRepository: undefined });
    const text = renderUserData(c, initNode());
    expect(kubeadmDocs(text, KUBEADM_INIT_CONFIG_PATH)[1]).not.toHaveProperty("imageRepository");
    expect(fileAt(text, "/etc/containerd/config.toml")!.content).toContain('sandbox_image = "registry.k8s.io/pause:3.10"');
    // The pull line passes --image-repository only when IMAGE_REPO is set (bootstrapTrust runs it both ways).
    expect(bootstrapScript(c, initNode())).not.toContain("IMAGE_REPO:=");
    expect(bootstrapScript(cluster(), initNode())).toContain(': "${IMAGE_REPO:=registry.cn-hangzhou.aliyuncs.com/google_containers}"');
  });

  test("control-plane join: pinned CA, a token placeholder (minted at boot), no certificateKey", () => {
    const docs = kubeadmDocs(renderUserData(cluster(), cpNode()));
    expect(docs.map((d) => d.kind)).toEqual(["JoinConfiguration"]);
    const [join] = docs;
    expect(join.apiVersion).toBe("kubeadm.k8s.io/v1beta4");
    expect(join.discovery.bootstrapToken).toEqual({
      apiServerEndpoint: "10.20.0.250:6443",
      token: "JOIN-TOKEN-MINTED-AT-BOOT",
      caCertHashes: [caCertHashFromPublicKeyPem(ca.certPem)],
    });
    expect(join.controlPlane).toEqual({ localAPIEndpoint: { advertiseAddress: "10.20.0.11", bindPort: 6443 } });
  });

  test("worker join: pinned CA, no controlPlane, no certificateKey, labels and taints", () => {
    const text = renderUserData(cluster(), workerNode());
    const [join] = kubeadmDocs(text);
    expect(join.kind).toBe("JoinConfiguration");
    expect(join.discovery.bootstrapToken.caCertHashes).toEqual([caCertHashFromPublicKeyPem(ca.certPem)]);
    expect(join).not.toHaveProperty("controlPlane");
    expect(fileAt(text, KUBEADM_CONFIG_PATH)!.content).not.toContain("certificateKey");
    expect(join.nodeRegistration.kubeletExtraArgs).toEqual([{ name: "node-labels", value: "example.com/team=order,node.kubernetes.io/pool=general" }]);
    expect(join.nodeRegistration.taints).toEqual([{ key: "dedicated", value: "order", effect: "NoSchedule" }]);
  });

  test("renderInit/JoinConfiguration refuse the wrong role", () => {
    expect(() => renderInitConfiguration(cluster(), workerNode())).toThrow("role: renderInitConfiguration needs a master");
  });
});

describe("node files", () => {
  test("no user data holds a private key or a join token: every join config carries the placeholder replaced at boot", () => {
    for (const [, node] of nodes()) {
      const text = renderUserData(cluster(), node);
      const files = parseUserData(text).write_files;
      const all = files.map(writeFileText).join("\n");
      expect(all).not.toContain("PRIVATE KEY");
      // kubeadm's token format (bootstraptoken/v1): [a-z0-9]{6}.[a-z0-9]{16}.
      expect(all).not.toMatch(/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/);
      const join = files.find((f) => f.path === "/etc/k8s-bootstrap/kubeadm.yaml")!;
      expect(writeFileText(join)).toContain("token: JOIN-TOKEN-MINTED-AT-BOOT");
    }
  });

  test.each(roles)("%s: hostname, kernel settings and containerd with SystemdCgroup", (name) => {
    const node = nodeFor[name]();
    const text = renderUserData(cluster(), node);
    expect(parseUserData(text).hostname).toBe(node.hostname);
    expect(fileAt(text, "/etc/modules-load.d/k8s.conf")!.content.split("\n")).toEqual(["overlay", "br_netfilter", ""]);
    const sysctl = fileAt(text, "/etc/sysctl.d/99-kubernetes.conf")!.content;
    expect(sysctl).toMatch(/^net\.ipv4\.ip_forward = 1$/m);
    expect(sysctl).toMatch(/^net\.bridge\.bridge-nf-call-iptables = 1$/m);
    const containerd = fileAt(text, "/etc/containerd/config.toml")!.content;
    expect(containerd).toMatch(/^\s*SystemdCgroup = true$/m);
    expect(containerd).toContain('sandbox_image = "registry.cn-hangzhou.aliyuncs.com/google_containers/pause:3.10"');
  });

  test.each(roles)("%s user data stays under the 24 KiB budget, even with a 4096-bit CA", (name) => {
    const node = nodeFor[name]();
    const c = cluster({ caCertHash: caCertHashFromPublicKeyPem(bigCa.certPem), caCertPem: bigCa.certPem });
    const bytes = Buffer.byteLength(renderUserData(c, node), "utf8");
    expect(bytes).toBeLessThan(USER_DATA_LIMIT_BYTES);
    // Our budget (cloudInit.ts), under ECS's 32 KB before Base64 ("Instance user data", 2024-06-07).
    expect(USER_DATA_LIMIT_BYTES).toBe(24 * 1024);
    expect(bytes).toBeLessThan(32 * 1024);
  });

  test("worker and control-plane user data are stable (snapshot)", () => {
    // The CA is minted per run: its hash is masked so the snapshot is stable.
    const c = cluster();
    const stable = (t: string) => t.split(c.caCertHash).join("sha256:<test CA>");
    expect(stable(renderUserData(c, workerNode()))).toMatchSnapshot("worker");
    expect(stable(renderUserData(c, cpNode()))).toMatchSnapshot("control-plane");
  });
});

describe("caCertHashFromPublicKeyPem", () => {
  // kubeadm's documented recipe: openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256
  function opensslHash(certPem: string): string {
    const pub = run("openssl", ["x509", "-pubkey", "-noout"], certPem);
    expect(pub.status).toBe(0);
    const der = spawnSync("openssl", ["pkey", "-pubin", "-outform", "der"], { input: pub.stdout });
    expect(der.status).toBe(0);
    const dgst = spawnSync("openssl", ["dgst", "-sha256", "-hex"], { input: der.stdout, encoding: "utf8" });
    expect(dgst.status).toBe(0);
    return `sha256:${dgst.stdout.trim().split(/\s+/).pop()}`;
  }

  test.each([
    ["RSA", () => ca],
    ["ECDSA", () => otherCa],
  ])("matches openssl for a %s CA", (_kind, get) => {
    const { certPem } = get();
    const pub = run("openssl", ["x509", "-pubkey", "-noout"], certPem).stdout;
    expect(caCertHashFromPublicKeyPem(pub)).toBe(opensslHash(certPem));
    expect(caCertHashFromPublicKeyPem(certPem)).toBe(opensslHash(certPem));
    expect(caCertHashFromPublicKeyPem(pub)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe("validation names the field", () => {
  // Only what a caller of the renderers could get wrong. What users write (versions,
  // repositories, CIDRs, labels, taints) is refused by config validation first, naming
  // the platform:* key (test/config/rules.test.ts, beforeResources.test.ts); what the
  // program computes (token, CA hash, node names, KMS URL) is tested where it is computed.
  const cases: [string, () => void, string | RegExp][] = [
    [
      "endpoint",
      () => renderUserData(cluster({ controlPlaneEndpoint: "10.20.0.250" }), workerNode()),
      'controlPlaneEndpoint: "10.20.0.250" is not "host:port"',
    ],
    [
      "worker without a token store",
      () => renderUserData(cluster(), { ...workerNode(), joinTokenStore: undefined }),
      "joinTokenStore: required for a worker's join: where it reads its token",
    ],
    ["master without IP", () => renderUserData(cluster(), { ...cpNode(), nodeIp: undefined }), "nodeIp: required for role control-plane"],
    [
      "controlPlane on worker",
      () => renderUserData(cluster(), { ...workerNode(), controlPlane: initNode().controlPlane }),
      "controlPlane: only masters carry controlPlane",
    ],
    ["master without controlPlane", () => renderUserData(cluster(), { ...initNode(), controlPlane: undefined }), "controlPlane: required for role init"],
    [
      "peer not host:port",
      () => renderUserData(cluster(), { ...cpNode(), controlPlane: { ...cpNode().controlPlane!, peers: ["10.40.0.10"] } }),
      'controlPlane.peers[0]: "10.40.0.10" is not "host:port"',
    ],
    ["containerd version", () => renderUserData(cluster(), workerNode(), undefined, { containerdVersion: "latest" }), "containerdVersion:"],
  ];
  test.each(cases)("%s", (_name, fn, message) => {
    expect(fn).toThrow(message);
  });

  test("labels kubelets may self-set are accepted", () => {
    const labels = {
      "node.kubernetes.io/pool": "general",
      "x.node.kubernetes.io/a": "b",
      "kubelet.kubernetes.io/c": "d",
      "topology.kubernetes.io/zone": "cn-hangzhou-h",
      "example.com/team": "order",
      plain: "",
    };
    expect(nodeLabelProblems("labels", labels)).toEqual([]);
  });

  test("property: under kubernetes.io / k8s.io, only the node. and kubelet. namespaces pass", () => {
    const dnsLabel = fc.stringMatching(/^[a-z][a-z0-9-]{0,6}[a-z0-9]$/);
    fc.assert(
      fc.property(fc.array(dnsLabel, { maxLength: 3 }), fc.constantFrom("kubernetes.io", "k8s.io", "example.com"), dnsLabel, (sub, domain, name) => {
        const prefix = [...sub, domain].join(".");
        // "x-" keeps the key off the short list of well-known labels (zone, os, ...).
        const key = `${prefix}/x-${name}`;
        const reserved = domain !== "example.com";
        const kubeletNamespace = domain === "kubernetes.io" && ["node", "kubelet"].includes(sub[sub.length - 1] ?? "");
        expect(isKubeletSettableLabel(key)).toBe(!reserved || kubeletNamespace);
      }),
      { numRuns: 300 },
    );
  });
});
