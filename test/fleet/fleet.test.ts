import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { fleetPlanFromStackFiles, main as checkFleet } from "../../components/ops/checkFleet";
import { checkFleetAddressPlan } from "../../components/fleet/fleetAddressPlan";
import { DEFAULT_PROPOSAL } from "../../components/fleet/ipsec";
import { dualTunnelOptions } from "../../components/fleet/ipsecLink";
import { byName, ofType, plan } from "../support/offline";
import { kubesphereValues } from "../../components/fleet/kubesphere";
import { loadEngineConfig } from "../../components/config/stackFiles";
import { checkPlan, loadPolicyConfig, planToPolicyStack, policyConfigFileFor } from "../../components/preview/policyCheck";
import { runPolicies } from "../../policies/pack";
import { UNKNOWN } from "../../policies/rules/policy";
import { rpc } from "../../components/preview/sdkInternals";
import { podPrivileges } from "../../policies/rules/threats";

const ROOT = path.resolve(__dirname, "..", "..");

/** A temporary copy of the stack files with one edit applied to one file's text. */
function copyWith(stack: string, edit: (text: string) => string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-"));
  for (const f of fs.readdirSync(ROOT).filter((f) => /^Pulumi(\..+)?\.yaml$/.test(f))) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  fs.writeFileSync(file, edit(fs.readFileSync(file, "utf8")));
  return dir;
}

describe("fleet address plan", () => {
  test("the committed stack files pass: six clusters, five links to the host, the data centre", () => {
    const p = fleetPlanFromStackFiles();
    expect(p.clusters.map((c) => c.stack)).toEqual(["host", "dev", "test", "pre", "prod1", "prod2"]);
    expect(p.links).toEqual([
      ["dev", "host"],
      ["test", "host"],
      ["pre", "host"],
      ["prod1", "host"],
      ["prod2", "host"],
    ]);
    expect(p.datacenter?.linkedStacks).toEqual(["host", "prod1", "prod2"]);
    expect(checkFleetAddressPlan(p)).toEqual([]);
  });

  test("npm run check:fleet passes on the committed files", () => {
    const out = execFileSync("npm", ["run", "--silent", "check:fleet"], { cwd: ROOT, encoding: "utf8" });
    expect(out).toContain("6 clusters, 5 IPsec links");
  });

  test("two members with the same pod range are caught, naming both stacks and ranges", () => {
    const dir = copyWith("prod2", (t) => t.replace("podCidr: 10.150.0.0/16", "podCidr: 10.140.0.0/16"));
    try {
      const problems = checkFleetAddressPlan(fleetPlanFromStackFiles(dir));
      expect(problems).toContain(
        "prod1 platform:network.podCidr 10.140.0.0/16 overlaps prod2 platform:network.podCidr 10.140.0.0/16 (linked via host, datacenter)",
      );
      expect(checkFleet(["--dir", dir])).toBe(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a cluster range overlapping the data centre is caught", () => {
    const dir = copyWith("prod1", (t) => t.replace("vpcCidr: 10.40.0.0/16", "vpcCidr: 192.168.0.0/16").replace("10.40.", "192.168."));
    try {
      const problems = checkFleetAddressPlan(fleetPlanFromStackFiles(dir));
      expect(problems).toEqual(expect.arrayContaining(["prod1 platform:network.vpcCidr 192.168.0.0/16 overlaps datacenter subnet 192.168.10.0/24"]));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("dual-tunnel connection options", () => {
  test("tunnel 1 master to the first customer gateway, tunnel 2 slave to the second, same proposal and PSK, DPD and NAT-T on", () => {
    const [t1, t2] = dualTunnelOptions(["cgw-a", "cgw-b"], DEFAULT_PROPOSAL, "k".repeat(32));
    expect([t1.role, t1.customerGatewayId, t2.role, t2.customerGatewayId]).toEqual(["master", "cgw-a", "slave", "cgw-b"]);
    for (const t of [t1, t2]) {
      expect(t).toMatchObject({
        enableDpd: true,
        enableNatTraversal: true,
        tunnelIpsecConfig: { ipsecEncAlg: "aes256", ipsecAuthAlg: "sha256", ipsecPfs: "group14", ipsecLifetime: 3600 },
      });
      expect(t.tunnelIkeConfig).toEqual({
        ikeVersion: "ikev2",
        ikeMode: "main",
        ikeEncAlg: "aes256",
        ikeAuthAlg: "sha256",
        ikePfs: "group14",
        ikeLifetime: 86400,
        psk: "k".repeat(32),
      });
    }
  });
});

describe("a member's IPsec link to the host", () => {
  test("prod2 creates both ends: VPN gateway, a customer gateway and a connection on each side, routes both ways", async () => {
    const p = await plan("prod2");
    expect(ofType(p, "alicloud:vpn/gateway:Gateway")).toHaveLength(1);
    const member = byName(p, "prod2-fleet-to-host-prod2", "alicloud:vpn/connection:Connection");
    const hostSide = byName(p, "prod2-fleet-to-host-host", "alicloud:vpn/connection:Connection");
    // the host's end was looked up by name, and the mocks answer with the host's own offline figures
    const host = await plan("host");
    expect(hostSide.inputs.vpnGatewayId).toBe(host.outputs.vpnGatewayId);
    expect(member.inputs.localSubnets).toEqual(["10.50.0.0/16", "10.150.0.0/16"]);
    expect(member.inputs.remoteSubnets).toEqual(["10.0.0.0/16", "10.100.0.0/16"]);
    expect(hostSide.inputs.localSubnets).toEqual(member.inputs.remoteSubnets);
    expect(hostSide.inputs.remoteSubnets).toEqual(member.inputs.localSubnets);
    // Dual tunnel at both ends: each side has a customer gateway per tunnel address of the
    // other side's gateway (internetIp, disasterRecoveryInternetIp), and no single-tunnel fields.
    const memberGw = ofType(p, "alicloud:vpn/gateway:Gateway")[0];
    expect(memberGw.inputs.disasterRecoveryVswitchId).toBeDefined();
    expect(memberGw.inputs.disasterRecoveryVswitchId).not.toBe(memberGw.inputs.vswitchId);
    const cgwIp = (n: string) => byName(p, n, "alicloud:vpn/customerGateway:CustomerGateway").inputs.ipAddress;
    expect([cgwIp("prod2-fleet-to-host-prod2-cgw-t1"), cgwIp("prod2-fleet-to-host-prod2-cgw-t2")]).toEqual([
      host.outputs.vpnPublicIp,
      host.outputs.vpnBackupPublicIp,
    ]);
    expect(host.outputs.vpnBackupPublicIp).not.toBe(host.outputs.vpnPublicIp);
    const memberOut = p.outputs as Record<string, unknown>;
    expect([cgwIp("prod2-fleet-to-host-host-cgw-t1"), cgwIp("prod2-fleet-to-host-host-cgw-t2")]).toEqual([memberOut.vpnPublicIp, memberOut.vpnBackupPublicIp]);
    for (const [c, side] of [
      [member, "prod2"],
      [hostSide, "host"],
    ] as const) {
      for (const single of ["customerGatewayId", "ikeConfig", "ipsecConfig", "enableDpd", "enableNatTraversal"]) expect(c.inputs).not.toHaveProperty(single);
      // The PSK is inside the tunnel options, so the whole list is a secret.
      expect(c.secretInputs).toEqual(["tunnelOptionsSpecifications"]);
      for (const t of [1, 2]) expect(c.dependsOn).toContain(byName(p, `prod2-fleet-to-host-${side}-cgw-t${t}`).urn);
    }
    // the host side is created in the host's region, through its own provider
    expect(hostSide.provider).toMatch(/pulumi:providers:alicloud::prod2-fleet-host-region::/);
    expect(member.provider).toBeUndefined();
    const routes = ofType(p, "alicloud:vpc/routeEntry:RouteEntry").filter((r) => r.name.startsWith("prod2-fleet-to-host-"));
    expect(routes.map((r) => r.inputs.destinationCidrblock).sort()).toEqual(["10.0.0.0/16", "10.100.0.0/16", "10.150.0.0/16", "10.50.0.0/16"]);
    expect(byName(p, "prod2-fleet-to-host-host-route-pod").inputs.routeTableId).toBe(host.outputs.routeTableId);
    // the host's api-server front accepts management traffic from the host's VPC only
    expect(byName(p, "prod2-front-tcp-6443-from-host").inputs.cidrIp).toBe("10.0.0.0/16");
  });

  test("the data-centre link: connection, routes, and a strongSwan config with the same proposals and a PSK reference", async () => {
    const p = await plan("prod2");
    const conn = byName(p, "prod2-fleet-to-dc-prod2", "alicloud:vpn/connection:Connection");
    expect(conn.inputs.remoteSubnets).toEqual(["192.168.10.0/24", "192.168.20.0/24"]);
    expect(conn.secretInputs).toEqual(["tunnelOptionsSpecifications"]);
    // One data-centre gateway: both tunnels use its one customer gateway.
    expect(conn.dependsOn).toContain(byName(p, "prod2-fleet-to-dc-prod2-cgw").urn);
    const conf = p.artifacts.find((a) => a.kind === "ipsec" && a.file === "dc-prod2.swanctl.conf")!;
    // Both tunnels, one to each of the member gateway's addresses.
    expect(conf.text.match(/remote_addrs = .*/g)).toEqual([`remote_addrs = ${p.outputs.vpnPublicIp}`, `remote_addrs = ${p.outputs.vpnBackupPublicIp}`]);
    expect(conf.text).toContain("proposals = aes256-sha256-modp2048");
    expect(conf.text).toContain("esp_proposals = aes256-sha256-modp2048");
    expect(conf.text).toContain("local_ts = 192.168.10.0/24,192.168.20.0/24");
    expect(conf.text).toContain("remote_ts = 10.50.0.0/16,10.150.0.0/16");
    expect(conf.text).toContain("include /etc/swanctl/private/dc-prod2.psk.conf");
    // the PSK is a secret output for the data-centre team, and never in the artifact
    expect(p.secretOutputs).toContain("datacenterPsk");
    for (const s of p.secretValues) if (s.length >= 16) expect(conf.text).not.toContain(s);
  });

  test("KubeSphere: no ks-core release and no registration on the member; the host registers its listed members", async () => {
    const p = await plan("prod1");
    expect(p.resources.filter((r) => r.name === "prod1-kubesphere-core")).toEqual([]);
    expect(p.resources.filter((r) => r.type === "kubernetes:cluster.kubesphere.io/v1alpha1:Cluster")).toEqual([]);
    const host = await plan("host");
    // The JWT secret makes the whole values secret (the SDK marks the top-level property), but only it is an Output.
    expect(byName(host, "host-kubesphere-core").secretInputs).toEqual(["values"]);
    const reg = byName(host, "host-kubesphere-member-prod1");
    expect(reg.inputs).toMatchObject({ apiVersion: "cluster.kubesphere.io/v1alpha1", kind: "Cluster", metadata: { name: "prod1" } });
    // secretness covers the whole top-level property that holds the kubeconfig
    expect(reg.secretInputs).toContain("spec");
    expect(reg.provider).toMatch(/::host-kubesphere-registrar::/);
    expect(host.secretOutputs).toContain("kubesphereJwtSecret");
    // one Cluster object per member the host's stack file lists, named after the member's stack
    const listed = (JSON.parse(loadEngineConfig("host").values["platform:kubesphere"]).members as string[]).map((m) => m.split("/").pop());
    expect(listed).toEqual(["dev", "test", "pre", "prod1", "prod2"]);
    expect(
      ofType(host, "kubernetes:cluster.kubesphere.io/v1alpha1:Cluster")
        .map((r) => (r.inputs.metadata as { name: string }).name)
        .sort(),
    ).toEqual(["dev", "pre", "prod1", "prod2", "test"]);
  });
});

describe("fixed control-plane addresses", () => {
  test.each(["host", "prod1"])("%s: the VPN gateway is created after every resource that holds a fixed address in its vswitches", async (stack) => {
    const p = await plan(stack);
    const gw = ofType(p, "alicloud:vpn/gateway:Gateway")[0];
    const fixed = [
      ...ofType(p, "alicloud:ecs/instance:Instance").filter((i) => i.inputs.privateIp !== undefined),
      ...ofType(p, "alicloud:slb/applicationLoadBalancer:ApplicationLoadBalancer").filter((s) => s.inputs.address !== undefined),
    ];
    // 3 masters, 2 HAProxies, the api-server SLB.
    expect(fixed.length).toBe(6);
    const waitsFor = new Set(gw.dependsOn);
    const ancestors = (urn: string): string[] => {
      const r = p.resources.find((x) => x.urn === urn);
      return r?.parent ? [urn, ...ancestors(r.parent)] : [urn];
    };
    for (const f of fixed) expect([f.name, ancestors(f.urn).some((u) => waitsFor.has(u))]).toEqual([f.name, true]);
  });
});

describe("ks-core's values, secret as a whole, are judged offline as CrossGuard judges them (in plain)", () => {
  test("the host passes; a privilege or a LoadBalancer added inside the secret values is refused by the offline check", async () => {
    const hostPlan = await plan("host");
    const prodRules = loadPolicyConfig(policyConfigFileFor("host"));
    expect(checkPlan(hostPlan, prodRules)).toEqual([]);
    const core = hostPlan.resources.find((r) => r.name === "host-kubesphere-core")!;
    expect(core.secretInputs).toEqual(["values"]);
    const tampered = structuredClone(hostPlan);
    const wrapped = tampered.rawInputs[core.urn].values as { value: Record<string, unknown> };
    wrapped.value.extraObjects = [{ apiVersion: "v1", kind: "Service", metadata: { name: "open" }, spec: { type: "LoadBalancer" } }];
    expect([...new Set(checkPlan(tampered, prodRules).map((v) => `${v.level} ${v.policy}`))].sort()).toEqual([
      "mandatory no-public-load-balancers",
      "mandatory pod-privileges",
    ]);
  });

  test("before the JWT secret exists only that leaf is unknown, which is no privilege; the whole values unknown would be refused", async () => {
    const hostPlan = await plan("host");
    const core = hostPlan.resources.find((r) => r.name === "host-kubesphere-core")!;
    const raw = hostPlan.rawInputs[core.urn].values as { [k: string]: unknown; value: Record<string, unknown> };
    // Secret as a whole (the SDK marks the top-level property); the program passes a map with one Output leaf
    // (components/fleet/kubesphere.ts), so before the RandomPassword exists only that leaf is unknown.
    expect(raw[rpc.specialSigKey]).toBe(rpc.specialSecretSig);
    expect(Object.keys(raw.value).sort()).toEqual(Object.keys(kubesphereValues("host", "mirror.livemall.internal")).concat("authentication").sort());
    const host = planToPolicyStack(hostPlan, "resource");
    const rule = podPrivileges("mandatory", loadPolicyConfig(policyConfigFileFor("host")).get("pod-privileges")!.config);
    const judged = host.resources.find((r) => r.name === "host-kubesphere-core")!;
    judged.props = { ...judged.props, values: { ...raw.value, authentication: { issuer: { jwtSecret: UNKNOWN } } } };
    expect(runPolicies(host, [rule])).toEqual([]);
    judged.props = { ...judged.props, values: UNKNOWN };
    expect(runPolicies(host, [rule]).map((v) => v.message)).toEqual([
      "host-kubesphere-core: kubesphere-system/ks-core asks for the node (values (unknown during preview)) but is not one of the privileged platform workloads " +
        "(DaemonSet/kube-flannel/kube-flannel-ds, logging/fluent-bit@fluent-bit, Deployment/kube-system/csi-provisioner, DaemonSet/kube-system/kube-router); allowed values live in the pack config " +
        "(policies/config/prod.json or nonprod.json), not in the stack file (pod-privileges.privilegedWorkloads)",
    ]);
  });
});
