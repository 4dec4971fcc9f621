import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import fc from "fast-check";
import * as zlib from "zlib";
import YAML from "yaml";
import { diffPlans } from "../../components/preview/planDiff";
import { planJson } from "../../components/preview/preview";
import { redact } from "../../components/preview/runtime";
import { containsIp, split } from "../../policies/rules/cidr";
import { controlPlaneAddresses, RESERVED_ADDRESSES } from "../../components/cluster/controlPlaneAddresses";
import { byName, ofType, plan } from "../support/offline";

const INSTANCE = "alicloud:ecs/instance:Instance";

describe("prod1 cluster plan", () => {
  test("3 masters on fixed IPs, 2 HAProxy VMs in different zones, the pools' counts", async () => {
    const p = await plan("prod1");
    const instances = ofType(p, INSTANCE);
    const names = instances.map((i) => i.name);
    expect(names.filter((n) => n.startsWith("prod1-master-")).sort()).toEqual(["prod1-master-0", "prod1-master-1", "prod1-master-2"]);
    expect(names.filter((n) => n.startsWith("prod1-general-"))).toHaveLength(20);
    expect(names.filter((n) => n.startsWith("prod1-order-"))).toHaveLength(8);
    const haproxies = instances.filter((i) => i.name.startsWith("prod1-haproxy-"));
    expect(haproxies).toHaveLength(2);
    expect(new Set(haproxies.map((h) => h.inputs.availabilityZone)).size).toBe(2);
    expect(instances).toHaveLength(3 + 2 + 20 + 8);
    const masters = instances.filter((i) => i.name.startsWith("prod1-master-"));
    expect(masters.map((m) => m.inputs.privateIp).sort()).toEqual(["10.40.0.10", "10.40.128.10", "10.40.64.10"]);
  });

  test("no node has a public IP; disks are ESSD; prod instances are deletion-protected", async () => {
    for (const i of ofType(await plan("prod1"), INSTANCE)) {
      expect(i.inputs.internetMaxBandwidthOut).toBe(0);
      expect(i.inputs.allocatePublicIp).toBeUndefined();
      expect(i.inputs.systemDiskCategory).toBe("cloud_essd");
      expect(i.inputs.deletionProtection).toBe(true);
    }
    for (const i of ofType(await plan("dev"), INSTANCE)) expect(i.inputs.deletionProtection).toBe(false);
  });

  test("worker names are stable by index and zones go round-robin", async () => {
    const p = await plan("prod1");
    const zones = ["cn-shanghai-e", "cn-shanghai-f", "cn-shanghai-g"];
    for (let i = 0; i < 20; i++) {
      const node = byName(p, `prod1-general-${i}`, INSTANCE);
      expect(node.inputs.instanceName).toBe(`prod1-general-${i}`);
      expect(node.inputs.hostName).toBe(`prod1-general-${i}`);
      expect(node.inputs.availabilityZone).toBe(zones[i % 3]);
    }
  });

  test("the api-server SLB is intranet, listens on 6443 and health-checks HAProxy's check port", async () => {
    const p = await plan("prod1");
    const slb = byName(p, "prod1-front-slb");
    expect(slb.inputs).toMatchObject({ addressType: "intranet", address: "10.40.0.40", deleteProtection: "on" });
    const listener = byName(p, "prod1-front-6443");
    expect(listener.inputs).toMatchObject({
      protocol: "tcp",
      frontendPort: 6443,
      backendPort: 6443,
      healthCheck: "on",
      healthCheckType: "http",
      healthCheckConnectPort: 8081,
      healthCheckUri: "/healthz",
    });
    const [backends] = ofType(p, "alicloud:slb/backendServer:BackendServer");
    expect((backends.inputs.backendServers as unknown[]).length).toBe(2);
    expect(p.outputs.apiServer).toBe("https://10.40.0.40:6443");
  });

  test("no security group rule opens 22, 6443, 2379-2380 or 10250 to 0.0.0.0/0; etcd is masters-only", async () => {
    const p = await plan("prod1");
    const rules = ofType(p, "alicloud:ecs/securityGroupRule:SecurityGroupRule");
    for (const r of rules) expect(r.inputs.cidrIp === "0.0.0.0/0").toBe(false);
    const etcd = rules.filter((r) => r.inputs.portRange === "2379/2380");
    expect(etcd).toHaveLength(1);
    const mastersSg = byName(p, "prod1-sg-masters");
    expect(etcd[0].name).toBe("prod1-masters-tcp-2379-2380-from-masters");
    expect(etcd[0].dependsOn).toContain(mastersSg.urn);
    const vxlan = rules.filter((r) => r.inputs.portRange === "8472/8472");
    expect(vxlan.map((r) => r.inputs.ipProtocol)).toEqual(["udp", "udp", "udp", "udp"]);
    const checks = rules.filter((r) => r.inputs.cidrIp === "100.64.0.0/10").map((r) => r.inputs.portRange);
    expect(checks.sort()).toEqual(["30000/32767", "8081/8081"]);
  });

  test("secrets stay secret: user data, join credentials, keys and the kubeconfig", async () => {
    const p = await plan("prod1");
    for (const i of ofType(p, INSTANCE)) expect(i.secretInputs).toContain("userData");
    expect(p.secretOutputs).toContain("kubeconfig");
    expect(p.outputs.kubeconfig).toBe("[secret]");
    const provider = byName(p, "prod1-k8s", "pulumi:providers:kubernetes");
    expect(provider.secretInputs).toContain("kubeconfig");
    const json = JSON.stringify(planJson(p));
    expect(json).not.toMatch(/BEGIN (RSA |EC )?PRIVATE KEY/);
    for (const secret of p.secretValues) if (secret.length >= 8) expect(json).not.toContain(secret);
    // and the artifacts written by --out are redacted too
    // (also inside the gzip+base64 files of the cloud-init documents, decoded)
    for (const a of p.artifacts) {
      const redacted = redact(a.text, p.secretValues);
      const gz = (redacted.match(/H4sI[A-Za-z0-9+/]+={0,2}/g) ?? []).map((b) => zlib.gunzipSync(Buffer.from(b, "base64")).toString("utf8"));
      for (const text of [redacted, ...gz]) {
        expect(text).not.toMatch(/[a-z0-9]{6}\.[a-z0-9]{16}/);
        for (const secret of p.secretValues) if (secret.length >= 8) expect(text).not.toContain(secret);
      }
    }
  });

  test("redaction reaches into a gzip+base64 payload, and leaves one without a secret byte for byte", () => {
    const gz = (t: string) => zlib.gzipSync(Buffer.from(t), { level: 9 }).toString("base64");
    const withSecret = gz("join:\n  token: abcdef.0123456789abcdef\n");
    const without = gz("join:\n  token: none\n");
    const out = redact(`write_files:\n  - content: ${withSecret}\n    encoding: gz+b64\n  - content: ${without}\n`, new Set(["abcdef.0123456789abcdef"]));
    const [a, b] = out.match(/H4sI[A-Za-z0-9+/]+={0,2}/g)!;
    expect(zlib.gunzipSync(Buffer.from(a, "base64")).toString("utf8")).toBe("join:\n  token: <secret>\n");
    expect(b).toBe(without);
  });

  test("the in-cluster provider waits for the readiness gate", async () => {
    const p = await plan("prod1");
    const gate = byName(p, "prod1-readiness", "pulumi-nodejs:dynamic/cluster:ApiServerReadiness");
    // Every master by its node name; the admin credentials it authenticates with stay secrets.
    expect(gate.inputs).toMatchObject({
      server: "https://10.40.0.40:6443",
      masters: ["prod1-master-0", "prod1-master-1", "prod1-master-2"],
      workerPools: {},
      timeoutSeconds: 1800,
    });
    expect(gate.secretInputs).toEqual(expect.arrayContaining(["clientCertPem", "clientKeyPem"]));
    const provider = byName(p, "prod1-k8s", "pulumi:providers:kubernetes");
    expect(provider.dependsOn).toContain(gate.urn);
    // depending on a component means depending on everything inside it
    for (const m of ["prod1-master-0", "prod1-master-1", "prod1-master-2"]) expect(gate.dependsOn).toContain(byName(p, m, INSTANCE).urn);
  });

  test("the workers' report counts the 28 workers after their pools and shows in the stack outputs", async () => {
    const p = await plan("prod1");
    const report = byName(p, "prod1-nodes-joined", "pulumi-nodejs:dynamic/cluster:ApiServerReadiness");
    expect(report.inputs.workerPools).toEqual({ general: 20, order: 8 });
    expect(report.inputs.workerWaitSeconds).toBe(900);
    expect(report.secretInputs).toEqual(expect.arrayContaining(["clientCertPem", "clientKeyPem"]));
    for (const w of ["prod1-general-19", "prod1-order-0"]) expect(report.dependsOn).toContain(byName(p, w, INSTANCE).urn);
    expect(p.outputs.clusterNodes).toMatchObject({ mastersReady: 3, workersJoined: 28, workersExpected: 28 });
  });
});

/**
 * The one change is the workers' report, which re-counts the new worker set in place (readiness.ts
 * readinessDiff): no join token is a Pulumi resource any more (workerToken.ts), so nothing is replaced.
 */
const reportOnly = (changed: { urn: string; op: string; paths: string[] }[]) =>
  changed.length === 1 &&
  changed[0].urn.endsWith("::prod1-nodes-joined") &&
  changed[0].op === "update" &&
  changed[0].paths.every((x) => x.startsWith("workerPools."));

describe("scaling a pool by editing its count", () => {
  test("count + 1 adds exactly one instance (and its SLB attachments) and changes nothing else", async () => {
    const before = await plan("prod1");
    const after = await plan("prod1", ["platform:nodePools[0].count=21"]);
    const d = diffPlans(before.resources, after.resources);
    expect(d.removed).toEqual([]);
    // The workers read the masters' short-lived token at boot (workerToken.ts): nothing is replaced.
    expect(reportOnly(d.changed)).toBe(true);
    const added = d.added.map((u) => u.split("::").pop());
    // The new node, and its workers' role attachment (the disk CSI node plugin's credentials).
    expect(added.filter((n) => !n!.startsWith("prod1-ingress-")).sort()).toEqual(["prod1-general-20", "prod1-worker-role-prod1-general-20"]);
    expect(added.filter((n) => n!.startsWith("prod1-ingress-")).sort()).toEqual(["prod1-ingress-443-prod1-general-20", "prod1-ingress-80-prod1-general-20"]);
    expect(byName(after, "prod1-general-20", INSTANCE).inputs.availabilityZone).toBe("cn-shanghai-g");
  });

  test("count - 1 removes only the highest index", async () => {
    const before = await plan("prod1");
    const after = await plan("prod1", ["platform:nodePools[1].count=7"]);
    const d = diffPlans(before.resources, after.resources);
    expect(d.added).toEqual([]);
    expect(reportOnly(d.changed)).toBe(true);
    expect(
      d.removed
        .map((u) => u.split("::").pop())
        .filter((n) => !n!.startsWith("prod1-ingress-"))
        .sort(),
    ).toEqual(["prod1-order-7", "prod1-worker-role-prod1-order-7"]);
    expect(d.removed).toHaveLength(4);
  });

  test("a diff does see a changed secret input (without showing it); user data is ignoreChanges, so not counted", async () => {
    const before = await plan("prod1");
    const after = await plan("prod1", ["platform:nodePools[1].labels.team=checkout"]);
    const d = diffPlans(before.resources, after.resources);
    expect(d.changed.filter((c) => /prod1-order-\d+$/.test(c.urn))).toEqual([]);
    const orderNodes = d.ignoredOnly.filter((c) => /prod1-order-\d+$/.test(c.urn));
    expect(orderNodes).toHaveLength(8);
    expect(orderNodes[0].paths).toEqual(["userData (secret)"]);
  });
});

describe("control-plane addresses", () => {
  test("masters spread over zones, HAProxies in two zones, SLB in the first vswitch", () => {
    const a = controlPlaneAddresses(["10.40.0.0/18", "10.40.64.0/18", "10.40.128.0/18"], 5);
    expect(a.masters.map((m) => m.ip)).toEqual(["10.40.0.10", "10.40.64.10", "10.40.128.10", "10.40.0.11", "10.40.64.11"]);
    expect(a.haproxies.map((h) => h.ip)).toEqual(["10.40.0.30", "10.40.64.30"]);
    expect(a.apiServerSlb).toBe("10.40.0.40");
  });

  test("property: fixed addresses are distinct, inside their vswitch, below the DHCP range", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 16, max: 20 }), (zones, m, prefix) => {
        const cidrs = split(`10.${zones * 10}.0.0/${prefix}`, zones);
        const a = controlPlaneAddresses(cidrs, 2 * m + 1);
        const all = [...a.masters, ...a.haproxies].map((x) => x.ip).concat(a.apiServerSlb);
        expect(new Set(all).size).toBe(all.length);
        for (const x of [...a.masters, ...a.haproxies]) expect(containsIp(cidrs[x.zoneIndex], x.ip)).toBe(true);
        for (const ip of all) expect(Number(ip.split(".")[3]) % 256).toBeLessThan(RESERVED_ADDRESSES);
      }),
    );
  });

  test("refuses what cannot fit", () => {
    expect(() => controlPlaneAddresses([], 3)).toThrow("need at least one vswitch");
    expect(() => controlPlaneAddresses(["10.0.0.0/26"], 1)).toThrow("vswitch 10.0.0.0/26 is too small");
  });
});

describe("generated documents pass the real tools", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "cluster-artifacts-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("haproxy -c accepts the front's config as the preview writes it", async () => {
    const p = await plan("prod1");
    const cfgs = p.artifacts.filter((a) => a.kind === "haproxy");
    expect(cfgs.map((a) => a.file).sort()).toEqual(["prod1-haproxy-0.cfg", "prod1-haproxy-1.cfg"]);
    const file = path.join(dir, "haproxy.cfg");
    fs.writeFileSync(file, cfgs[0].text.replace(/maxconn 20000/g, "maxconn 1000"));
    const out = execFileSync("haproxy", ["-c", "-f", file], { encoding: "utf8" });
    expect(out).toMatch(/Configuration file is valid/);
    for (const ip of ["10.40.0.10", "10.40.64.10", "10.40.128.10"]) expect(cfgs[0].text).toContain(`${ip}:6443 check check-ssl verify none`);
  });

  test("cloud-init schema accepts every kind of node's user data from the plan", async () => {
    const p = await plan("prod1");
    const docs = p.artifacts.filter((a) => a.kind === "cloud-init");
    expect(docs).toHaveLength(33);
    for (const name of ["prod1-master-0.yaml", "prod1-master-1.yaml", "prod1-general-0.yaml", "prod1-order-3.yaml", "prod1-haproxy-0.yaml"]) {
      const doc = docs.find((d) => d.file === name)!;
      const file = path.join(dir, name);
      fs.writeFileSync(file, doc.text);
      const out = execFileSync("cloud-init", ["schema", "-c", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      expect(out).toMatch(/Valid cloud-config/);
    }
    const order = docs.find((d) => d.file === "prod1-order-3.yaml")!.text;
    expect(order).toContain("value: node.kubernetes.io/pool=order");
    expect(order).toMatch(/taints:\n\s+- key: dedicated\n\s+value: order\n\s+effect: NoSchedule/);
  });

  test.each(["host", "dev", "test", "pre", "prod1", "prod2"])(
    "%s: every node's user data is exactly what the yaml library writes for it (cloudInit.ts assembles it entry by entry)",
    async (stack) => {
      const p = await plan(stack);
      const docs = p.artifacts.filter((a) => a.kind === "cloud-init");
      expect(docs.length).toBeGreaterThanOrEqual(6);
      for (const d of docs) {
        expect(d.text.startsWith("#cloud-config\n")).toBe(true);
        const body = d.text.slice("#cloud-config\n".length);
        // Parse, write again with the options the program uses: the same bytes, or the assembly drifted from the library.
        expect({ file: d.file, text: YAML.stringify(YAML.parse(body), { lineWidth: 0 }) }).toEqual({ file: d.file, text: body });
      }
    },
  );
});
