// Least privilege across stacks: a member reads nothing from the host's state
// (no StackReference to it, no host credential anywhere in its plan); the host pulls
// the registration of the KubeSphere members it lists, with each member's own
// `kubesphere-host` credential, never an admin kubeconfig.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ConfigError, parseStackConfig } from "../../components/config/stackConfig";
import { listStacks, loadEngineConfig, PROJECT_DIR } from "../../components/config/stackFiles";
import { exactlyOne, exactName, HostFacts } from "../../components/fleet/hostLookup";
import { memberClusterConfig } from "../../components/fleet/kubesphere";
import { main as checkFleet } from "../../components/ops/checkFleet";
import { writeArtifacts } from "../../components/preview/preview";
import { byName, ofType, plan, previewStack } from "../support/offline";

const STACK_REF = "pulumi:pulumi:StackReference";
const CLUSTER = "kubernetes:cluster.kubesphere.io/v1alpha1:Cluster";
const HOST_ADMIN = "SENTINEL-HOST-ADMIN-KUBECONFIG-7f3a";
const MEMBERS = ["livemall/platform/dev", "livemall/platform/test", "livemall/platform/pre", "livemall/platform/prod1", "livemall/platform/prod2"];

/** Every resource's raw inputs (secrets included) as one text. */
const rawText = (p: { rawInputs: Record<string, unknown> }) => JSON.stringify(p.rawInputs);
/** The unwrapped value of a (possibly secret-wrapped) raw input. */
const unwrap = (v: unknown): unknown => (v && typeof v === "object" && "value" in (v as object) ? (v as { value: unknown }).value : v);

describe.each(["dev", "prod1"])("member %s reads nothing from the host's state", (stack) => {
  test("no StackReference to the host, and the host's admin kubeconfig (a sentinel) is in none of its resources' inputs", async () => {
    // Whatever the host's state would hand out, with its admin kubeconfig replaced by a sentinel.
    const host = await plan("host");
    const stackOutputs = {
      "livemall/platform/host": { outputs: { ...host.rawOutputs, kubeconfig: HOST_ADMIN }, secretOutputNames: host.secretOutputs },
    };
    const { plan: p } = await previewStack({ stack, stackOutputs });
    // A prod stack reads pre's validated images and its own last output, any other stack its own last output (its tier):
    // T21, components/fleet/validatedImages.ts; nothing else.
    expect(
      ofType(p, STACK_REF)
        .map((r) => r.inputs.name)
        .sort(),
    ).toEqual(stack === "prod1" ? ["livemall/platform/pre", "livemall/platform/prod1"] : ["livemall/platform/dev"]);
    expect(p.resources.length).toBeGreaterThan(100);
    expect(Object.keys(p.rawInputs)).toHaveLength(p.resources.filter((r) => r.operation !== "read").length);
    expect(rawText(p)).not.toContain(HOST_ADMIN);
    expect(JSON.stringify(p.rawOutputs)).not.toContain(HOST_ADMIN);
    // The link still reaches the host's gateway, found by name (the same figures as the host's own plan).
    const hostSide = byName(p, `${stack}-fleet-to-host-host`, "alicloud:vpn/connection:Connection");
    expect(hostSide.inputs.vpnGatewayId).toBe(host.outputs.vpnGatewayId);
    expect(byName(p, `${stack}-fleet-to-host-host-route-vpc`).inputs.routeTableId).toBe(host.outputs.routeTableId);
  });
});

describe("host-region look-ups", () => {
  const facts: HostFacts = { ref: "livemall/platform/host", stack: "host", region: "cn-hangzhou", vpcCidr: "10.0.0.0/16", podCidr: "10.100.0.0/16" };

  test("exactly one match, else an error naming the host stack and the name looked up", () => {
    expect(exactlyOne("VPC", facts, "host-vpc", [{ id: "vpc-1" }])).toEqual({ id: "vpc-1" });
    expect(() => exactlyOne("VPC", facts, "host-vpc", [])).toThrow(
      'VPC "host-vpc" of the host stack livemall/platform/host (region cn-hangzhou) not found: is the host stack up?',
    );
    expect(() => exactlyOne("VPN gateway", facts, "host-vpn", [{ id: "vpn-a" }, { id: "vpn-b" }])).toThrow(
      'VPN gateway "host-vpn" of the host stack livemall/platform/host (region cn-hangzhou): 2 match (vpn-a, vpn-b); the name must be unique in the region',
    );
    // Names are matched by regex: anchored, a dot is a dot.
    expect(exactName("a.b-vpc")).toBe("^a\\.b-vpc$");
  });

  test("a member's plan fails with that error when the host's VPN gateway is not there", () => {
    // In a child process: the SDK's rejected promises after a failed run must reach its own handlers (as runInvalid.ts).
    const run = (stack: string, invokes: Record<string, unknown>) =>
      execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", "test/support/runWithInvokes.ts", stack, JSON.stringify(invokes)], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
      });
    expect(run("dev", { "alicloud:vpn/getGateways:getGateways": { ids: [], gateways: [] } })).toBe(
      'failed: VPN gateway "host-vpn" of the host stack livemall/platform/host (region cn-hangzhou) not found: is the host stack up? ' +
        "(members look the host's resources up by name; they never read its state)",
    );
    const twoVpcs = {
      vpcs: [
        { id: "vpc-a", routeTableId: "vtb-a" },
        { id: "vpc-b", routeTableId: "vtb-b" },
      ],
    };
    expect(run("prod1", { "alicloud:vpc/getNetworks:getNetworks": twoVpcs })).toBe(
      'failed: VPC "host-vpc" of the host stack livemall/platform/host (region cn-hangzhou): 2 match (vpc-a, vpc-b); the name must be unique in the region',
    );
  });

  test("the look-ups ask the host's region for the host's names", async () => {
    const seen: Record<string, unknown>[] = [];
    const record = (answer: Record<string, unknown>) => (inputs: Record<string, unknown>) => (seen.push(inputs), answer);
    const vpc = { vpcs: [{ id: "vpc-h", routeTableId: "vtb-h" }] };
    const gw = { gateways: [{ id: "vpn-h", internetIp: "198.51.100.1", disasterRecoveryInternetIp: "198.51.100.2" }] };
    const { plan: p } = await previewStack({
      stack: "prod1",
      invokes: { "alicloud:vpc/getNetworks:getNetworks": record(vpc), "alicloud:vpn/getGateways:getGateways": record(gw) },
    });
    expect(seen).toEqual([
      { nameRegex: "^host-vpc$", cidrBlock: "10.0.0.0/16", enableDetails: true },
      { vpcId: "vpc-h", nameRegex: "^host-vpn$" },
    ]);
    expect(byName(p, "prod1-fleet-to-host-host", "alicloud:vpn/connection:Connection").inputs.vpnGatewayId).toBe("vpn-h");
    const cgw = (n: string) => byName(p, n, "alicloud:vpn/customerGateway:CustomerGateway").inputs.ipAddress;
    expect([cgw("prod1-fleet-to-host-prod1-cgw-t1"), cgw("prod1-fleet-to-host-prod1-cgw-t2")]).toEqual(["198.51.100.1", "198.51.100.2"]);
    expect(byName(p, "prod1-fleet-host-region").inputs.region).toBe("cn-hangzhou");
  });
});

describe("the host registers exactly the members it lists", () => {
  const fakeMember = (m: string) => ({
    outputs: { apiServer: `https://${m}.example:6443`, kubesphereHostKubeconfig: `SENTINEL-KS-HOST-${m}`, kubeconfig: `SENTINEL-ADMIN-${m}` },
    secretOutputNames: ["kubesphereHostKubeconfig", "kubeconfig"],
  });

  test("one StackReference and one Cluster per listed member, with the member's kubesphere-host credential, never its admin kubeconfig", async () => {
    const stackOutputs = Object.fromEntries(MEMBERS.map((m) => [m, fakeMember(m.split("/")[2])]));
    const { plan: p } = await previewStack({ stack: "host", stackOutputs });
    // Beside its own last outputs (its tier, T21; the host's org offline is the mocks' default).
    expect(ofType(p, STACK_REF).map((r) => r.inputs.name)).toEqual([...MEMBERS, "organization/platform/host"]);
    const clusters = ofType(p, CLUSTER);
    expect(clusters.map((c) => (c.inputs.metadata as { name: string }).name)).toEqual(["dev", "test", "pre", "prod1", "prod2"]);
    const registrar = byName(p, "host-kubesphere-registrar", "pulumi:providers:kubernetes");
    expect(registrar.inputs).toMatchObject({ upsertExistingObjects: "true", enableServerSideApply: "true" });
    const core = byName(p, "host-kubesphere-core");
    for (const c of clusters) {
      const m = (c.inputs.metadata as { name: string }).name;
      // The spec holds the credential: a secret in the plan.
      expect(c.secretInputs).toContain("spec");
      expect(c.inputs.spec).toBe("[secret]");
      expect(c.provider).toMatch(/::host-kubesphere-registrar::/);
      expect(c.dependsOn).toContain(core.urn);
      expect((c.inputs.metadata as { annotations: Record<string, string> }).annotations).toEqual({ "pulumi.com/patchForce": "true" });
      const spec = unwrap(p.rawInputs[c.urn].spec) as { config: string; connection: { kubernetesAPIEndpoint: string; kubeconfig: string } };
      expect(Buffer.from(String(unwrap(spec.connection.kubeconfig)), "base64").toString()).toBe(`SENTINEL-KS-HOST-${m}`);
      expect(spec.connection.kubernetesAPIEndpoint).toBe(`https://${m}.example:6443`);
      const mirror = JSON.parse(loadEngineConfig(m).values["platform:images"]).registry;
      expect(spec.config).toBe(memberClusterConfig(mirror));
    }
    const text = rawText(p);
    for (const m of ["dev", "test", "pre", "prod1", "prod2"]) expect(text).not.toContain(Buffer.from(`SENTINEL-ADMIN-${m}`).toString("base64"));
    expect(text).not.toContain("SENTINEL-ADMIN");

    // Masked in every file the preview writes.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "registration-"));
    try {
      const files = writeArtifacts(dir, p);
      for (const f of files) {
        const body = fs.readFileSync(path.join(dir, f), "utf8");
        expect(body).not.toContain("SENTINEL-KS-HOST");
        expect(body).not.toContain(Buffer.from("SENTINEL-KS-HOST-prod1").toString("base64"));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the credential a member issues: CN kubesphere-host, no group, its own binding to cluster-admin", async () => {
    const p = await plan("prod1");
    const csr = byName(p, "prod1-kubesphere-host-access-csr");
    expect(csr.inputs.subject).toEqual({ commonName: "kubesphere-host" });
    const cert = byName(p, "prod1-kubesphere-host-access-cert");
    expect(cert.inputs.allowedUses).toEqual(["digital_signature", "key_encipherment", "client_auth"]);
    // Signed by the member's CA.
    expect(cert.dependsOn).toContain(byName(p, "prod1-pki-ca", "tls:index/selfSignedCert:SelfSignedCert").urn);
    expect(byName(p, "prod1-kubesphere-host-access-binding").inputs).toMatchObject({
      metadata: { name: "kubesphere-host" },
      roleRef: { kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "User", name: "kubesphere-host" }],
    });
    expect(p.secretOutputs).toContain("kubesphereHostKubeconfig");
    expect(p.outputs.kubesphereHostKubeconfig).toBe("[secret]");
    const issued = JSON.parse(String(p.rawOutputs.kubesphereHostKubeconfig));
    expect(issued.users.map((u: { name: string }) => u.name)).toEqual(["kubesphere-host"]);
    expect(issued.clusters[0].cluster.server).toBe(p.rawOutputs.apiServer);
    expect(p.rawOutputs.kubesphereHostKubeconfig).not.toBe(p.rawOutputs.kubeconfig);
    // The member registers nothing and holds no provider for the host.
    expect(ofType(p, CLUSTER)).toEqual([]);
    expect(p.resources.filter((r) => r.type === "pulumi:providers:kubernetes").map((r) => r.name)).toEqual(["prod1-k8s"]);
  });

  test("the default host preview plans its members and registers them with what they issued", async () => {
    const host = await plan("host");
    // One offline run at a time.
    const members = { dev: await plan("dev"), test: await plan("test"), pre: await plan("pre"), prod1: await plan("prod1"), prod2: await plan("prod2") };
    // By the Cluster's name: the plan lists resources as their inputs resolve, and each Cluster waits on its member's outputs
    // (pre's, which carry validatedImages, resolve later than prod1's).
    const clusters = ofType(host, CLUSTER);
    expect(clusters.map((c) => (c.inputs.metadata as { name: string }).name).sort()).toEqual(["dev", "pre", "prod1", "prod2", "test"]);
    for (const c of clusters) {
      const member = members[(c.inputs.metadata as { name: keyof typeof members }).name];
      const spec = unwrap(host.rawInputs[c.urn].spec) as { connection: { kubernetesAPIEndpoint: string; kubeconfig: string } };
      expect(Buffer.from(String(unwrap(spec.connection.kubeconfig)), "base64").toString()).toBe(member.rawOutputs.kubesphereHostKubeconfig);
      expect(spec.connection.kubernetesAPIEndpoint).toBe(member.rawOutputs.apiServer);
    }
  });
});

describe("platform:kubesphere.members config", () => {
  const problems = (stack: string, overrides: string[], dir = PROJECT_DIR): string[] => {
    const c = loadEngineConfig(stack, overrides, dir);
    try {
      parseStackConfig(stack, { values: c.values, secretKeys: c.secretKeys }, { stacks: listStacks(dir) });
      return [];
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
  };
  const withMembers = (list: string[]) => [`platform:kubesphere.members=${JSON.stringify(list)}`];

  test("the committed host list is valid", () => {
    expect(problems("host", [])).toEqual([]);
    expect(problems("prod1", [])).toEqual([]);
  });

  test("each listed member: this project, not the host, once, a stack file naming this host, KubeSphere on", () => {
    expect(
      problems(
        "host",
        withMembers(["livemall/platform/pre", "livemall/other/prod1", "livemall/platform/host", "livemall/platform/pre", "livemall/platform/nope"]),
      ),
    ).toEqual([
      'platform:kubesphere.members[1]: livemall/other/prod1 names project "other"; members are stacks of this project (platform)',
      "platform:kubesphere.members[2]: livemall/platform/host is the host itself; list member stacks only",
      "platform:kubesphere.members[3]: livemall/platform/pre is listed twice",
      "platform:kubesphere.members[4]: livemall/platform/nope: no stack file Pulumi.nope.yaml in this project (stacks: dev, host, pre, prod1, prod2, test)",
      // (a member with KubeSphere off: the next test, whose dev turns it off)
      // prod1 and prod2 enable KubeSphere but this list drops them: the member-side rule speaks in their own files.
      // The host's workspaces list no clusters: they follow this list, so the members it drops lose them with no
      // line here (a workspace that lists a dropped member is an error: console.test.ts).
    ]);
    expect(problems("host", ["platform:kubesphere.enabled=false"])).toEqual([
      "platform:kubesphere.members: the host lists members but platform:kubesphere.enabled is not true; turn KubeSphere on or remove the list",
      "platform:kubesphere.enabled: must be true for platform:workspaces and platform:console (they are KubeSphere objects)",
    ]);
    expect(problems("prod1", withMembers(["livemall/platform/pre"]))).toEqual([
      "platform:kubesphere.members: only the host stack lists members; remove the key from prod1",
    ]);
  });

  test("a member with KubeSphere on that its host does not list is an error in its own config, and check:fleet reports it", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "members-"));
    try {
      for (const f of fs.readdirSync(PROJECT_DIR).filter((f) => /^Pulumi(\..+)?\.yaml$/.test(f))) {
        let text = fs.readFileSync(path.join(PROJECT_DIR, f), "utf8");
        if (f === "Pulumi.host.yaml") text = text.replace("      - livemall/platform/prod2\n", "").replace("      - livemall/platform/dev\n", "");
        if (f === "Pulumi.dev.yaml") text = text.replace("  platform:kubesphere:\n    enabled: true\n", "  platform:kubesphere:\n    enabled: false\n");
        fs.writeFileSync(path.join(dir, f), text);
      }
      expect(problems("prod2", [], dir)).toEqual([
        "platform:kubesphere.enabled: prod2 is not in platform:kubesphere.members of its host host (Pulumi.host.yaml), so nothing would register it; " +
          "add it there (then `pulumi up` this stack first, the host after) or set platform:kubesphere.enabled: false",
      ]);
      // dev has KubeSphere off: not listed is fine, and listing it is the host's error.
      expect(problems("dev", [], dir)).toEqual([]);
      expect(problems("host", withMembers(["livemall/platform/dev"]), dir)).toContain(
        "platform:kubesphere.members[0]: livemall/platform/dev: platform:kubesphere.enabled is not true there, so it issues no credential for the host; turn it on there or remove dev here",
      );
      const errors: string[] = [];
      const spy = jest.spyOn(console, "error").mockImplementation((...a: unknown[]) => void errors.push(a.join(" ")));
      try {
        expect(checkFleet(["--dir", dir])).toBe(1);
      } finally {
        spy.mockRestore();
      }
      expect(errors.join("\n")).toContain("Pulumi.prod2.yaml: platform:kubesphere.enabled: prod2 is not in platform:kubesphere.members of its host host");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the committed files agree (check:fleet's registration part)", () => {
    const host = YAML.parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.host.yaml"), "utf8")).config["platform:kubesphere"];
    expect(host.members).toEqual(MEMBERS);
    const spy = jest.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      expect(checkFleet([])).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });
});
