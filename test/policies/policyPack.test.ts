// The CrossGuard pack loads the way the Pulumi CLI loads it (packServer.ts:
// run-policy-pack in the pack's folder, ts-node type-checking index.ts), and
// answers the CLI's gRPC calls as the engine makes them: GetAnalyzerInfo (the
// registered policies), Configure (prod.json, as --policy-pack-config passes
// it), Analyze and AnalyzeStack on resources of the real prod1 plan.
import * as fs from "fs";
import * as path from "path";
import { POLICY_NAMES, resolvePackConfig } from "../../policies/pack";
import type { PlannedResource } from "../../components/preview/runtime";
import { plan } from "../support/offline";
import { RunningPack, START_TIMEOUT_MS, startPack } from "./packServer";

const PACK = path.resolve(__dirname, "..", "..", "policies");

let pack: RunningPack;
let pb: any;
let structPb: any;
const call = <T>(method: string, request: unknown) => pack.call<T>(method, request);

const LEVEL_NAMES = ["advisory", "mandatory", "disabled", "remediate"];

/** Configure as the CLI does with `--policy-pack-config FILE`: `all` expanded into each policy's level. */
async function configure(file: string): Promise<void> {
  const resolved = resolvePackConfig(JSON.parse(fs.readFileSync(path.join(PACK, "config", file), "utf8")));
  const req = new pb.ConfigureAnalyzerRequest();
  for (const [name, { level, config }] of resolved) {
    const pc = new pb.PolicyConfig();
    pc.setEnforcementlevel(LEVEL_NAMES.indexOf(level));
    pc.setProperties(structPb.Struct.fromJavaScript(config));
    req.getPolicyconfigMap().set(name, pc);
  }
  await call("configure", req);
}

const plain = (v: unknown) => JSON.parse(JSON.stringify(v));

function analyzeRequest(r: PlannedResource): unknown {
  const req = new pb.AnalyzeRequest();
  req.setType(r.type);
  req.setUrn(r.urn);
  req.setName(r.name);
  req.setProperties(structPb.Struct.fromJavaScript(plain(r.inputs)));
  const opts = new pb.AnalyzerResourceOptions();
  // The engine sends the parent's URN in the options; @pulumi/policy hands it to validateResource as args.opts.parent.
  if (r.parent) opts.setParent(r.parent);
  req.setOptions(opts);
  return req;
}

function stackRequest(resources: PlannedResource[]): unknown {
  const req = new pb.AnalyzeStackRequest();
  req.setResourcesList(
    resources.map((r) => {
      const a = new pb.AnalyzerResource();
      a.setType(r.type);
      a.setUrn(r.urn);
      a.setName(r.name);
      a.setProperties(structPb.Struct.fromJavaScript(plain(r.inputs)));
      a.setOptions(new pb.AnalyzerResourceOptions());
      a.setDependenciesList(r.dependsOn);
      if (r.parent) a.setParent(r.parent);
      return a;
    }),
  );
  return req;
}

interface Diagnostic {
  policy: string;
  level: string;
  message: string;
}

function diagnostics(res: any): Diagnostic[] {
  return res.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), level: LEVEL_NAMES[d.getEnforcementlevel()], message: d.getMessage() }));
}

let resources: PlannedResource[];

beforeAll(async () => {
  // The pack starts (ts-node type-checks it) while this process plans prod1.
  const [running, p] = await Promise.all([startPack(PACK), plan("prod1")]);
  pack = running;
  ({ pb, structPb } = pack.protos);
  resources = p.resources;
}, START_TIMEOUT_MS + 30_000);

afterAll(async () => {
  await pack?.stop();
});

const byName = (name: string, type = "alicloud:ecs/instance:Instance") => {
  const found = resources.filter((r) => r.name === name && r.type === type);
  if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
  return structuredClone(found[0]);
};

describe("the CrossGuard pack, loaded as the Pulumi CLI loads it", () => {
  test("registers the platform pack with every policy of pack.ts and their config schemas", async () => {
    const info: any = await call("getAnalyzerInfo", new pack.protos.emptyPb.Empty());
    expect(info.getName()).toBe("platform");
    expect(info.getVersion()).toBe("0.1.0");
    expect(info.getSupportsconfig()).toBe(true);
    const policies = info.getPoliciesList();
    expect(policies.map((p: any) => p.getName())).toEqual(POLICY_NAMES);
    const approved = policies.find((p: any) => p.getName() === "approved-instance-types");
    expect(Object.keys(approved.getConfigschema().getProperties().toJavaScript())).toEqual(["approvedTypes"]);
    // No level in code: the pack's default is advisory; prod.json makes it mandatory.
    expect(new Set(policies.map((p: any) => LEVEL_NAMES[p.getEnforcementlevel()]))).toEqual(new Set(["advisory"]));
  });

  test("Analyze under prod.json: a clean worker passes; a public, burstable one gets two mandatory violations", async () => {
    await configure("prod.json");
    const worker = byName("prod1-general-0");
    expect(diagnostics(await call("analyze", analyzeRequest(worker)))).toEqual([]);
    worker.inputs.internetMaxBandwidthOut = 10;
    worker.inputs.instanceType = "ecs.t6-c1m1.large";
    expect(diagnostics(await call("analyze", analyzeRequest(worker)))).toEqual([
      {
        policy: "no-public-ip-on-nodes",
        level: "mandatory",
        message: expect.stringContaining("prod1-general-0: internetMaxBandwidthOut is 10; nodes get no public IP"),
      },
      { policy: "approved-instance-types", level: "mandatory", message: expect.stringContaining("instance type ecs.t6-c1m1.large is not approved") },
    ]);
  });

  test("Analyze under prod.json: metadata-guard exempts the HAProxy VM by the parent the engine sends, not by its pool tag", async () => {
    await configure("prod.json");
    const haproxy = byName("prod1-haproxy-0");
    expect(diagnostics(await call("analyze", analyzeRequest(haproxy)))).toEqual([]);
    const spoof = byName("prod1-general-0");
    const tags = spoof.inputs.tags as Record<string, string>;
    tags["platform:pool"] = "haproxy";
    delete tags["platform:metadata-guard"];
    expect(diagnostics(await call("analyze", analyzeRequest(spoof)))).toEqual([
      { policy: "metadata-guard", level: "mandatory", message: expect.stringContaining("\nprod1-general-0: has no platform:metadata-guard tag;") },
    ]);
    // The same HAProxy VM sent without its parent is judged as a node: the exemption rides on the parent alone.
    delete haproxy.parent;
    expect(diagnostics(await call("analyze", analyzeRequest(haproxy)))).toEqual([
      { policy: "metadata-guard", level: "mandatory", message: expect.stringContaining("\nprod1-haproxy-0: has no platform:metadata-guard tag;") },
    ]);
  });

  test("AnalyzeStack on the whole prod1 plan: clean; flannel on host-gw is a kubernetes-baseline violation", async () => {
    await configure("prod.json");
    expect(diagnostics(await call("analyzeStack", stackRequest(resources)))).toEqual([]);
    const mutatedResources = resources.map((r) => {
      if (r.name !== "prod1-flannel-configmap-kube-flannel-cfg") return r;
      const c = structuredClone(r);
      const data = c.inputs.data as Record<string, string>;
      data["net-conf.json"] = data["net-conf.json"].replace('"vxlan"', '"host-gw"');
      return c;
    });
    expect(diagnostics(await call("analyzeStack", stackRequest(mutatedResources)))).toEqual([
      { policy: "kubernetes-baseline", level: "mandatory", message: expect.stringContaining('flannel Backend.Type is "host-gw"; the baseline is vxlan') },
    ]);
  });

  test("Analyze under prod.json: a value unknown during preview stays unread unless it sits at a privilege key; pod-privileges stays mandatory", async () => {
    await configure("prod.json");
    // What the engine sends for an output not known yet (@pulumi/policy 1.21.0 proxy.js unknownStringValue;
    // reading it through the pack's proxy throws, which turned the whole policy advisory "can't run ... during preview").
    const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const deployment = byName("prod1-order-service-deployment-order-service", "kubernetes:apps/v1:Deployment");
    const spec = (deployment.inputs as any).spec.template.spec;
    spec.containers[0].env = [...(spec.containers[0].env ?? []), { name: "BUILD_ID", value: UNKNOWN_STRING }];
    spec.dnsPolicy = UNKNOWN_STRING;
    expect(diagnostics(await call("analyze", analyzeRequest(deployment)))).toEqual([]);
    spec.hostNetwork = true;
    spec.containers[0].securityContext = UNKNOWN_STRING;
    expect(diagnostics(await call("analyze", analyzeRequest(deployment)))).toEqual([
      {
        policy: "pod-privileges",
        level: "mandatory",
        message: expect.stringContaining(
          "prod1-order-service-deployment-order-service: Deployment/commerce/order-service asks for the node (template.spec.containers[0].securityContext (unknown during preview), template.spec.hostNetwork)",
        ),
      },
    ]);
  });

  test("Analyze under prod.json: an unknown element of a list that can hold a privilege (volumes[0], capabilities.add[0]) is named at its path", async () => {
    await configure("prod.json");
    const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const deployment = byName("prod1-order-service-deployment-order-service", "kubernetes:apps/v1:Deployment");
    const spec = (deployment.inputs as any).spec.template.spec;
    spec.volumes = [UNKNOWN_STRING];
    spec.containers[0].securityContext = { capabilities: { drop: ["ALL"], add: [UNKNOWN_STRING] } };
    expect(diagnostics(await call("analyze", analyzeRequest(deployment)))).toEqual([
      {
        policy: "pod-privileges",
        level: "mandatory",
        message: expect.stringContaining(
          "prod1-order-service-deployment-order-service: Deployment/commerce/order-service asks for the node (template.spec.containers[0].securityContext.capabilities.add[0] (unknown during preview), template.spec.volumes[0] (unknown during preview))",
        ),
      },
    ]);
  });

  test("M-2: credential-endpoints judges a master's platform:kms-endpoint tag in Analyze, which the engine calls before it creates the master, even under `up --skip-preview`", async () => {
    await configure("prod.json");
    const master = byName("prod1-master-0");
    expect(diagnostics(await call("analyze", analyzeRequest(master)))).toEqual([]);
    (master.inputs.tags as Record<string, string>)["platform:kms-endpoint"] = "kms.evil.example";
    expect(diagnostics(await call("analyze", analyzeRequest(master)))).toEqual([
      {
        policy: "credential-endpoints",
        level: "mandatory",
        message: expect.stringContaining(
          "\nprod1-master-0: platform:kms-endpoint kms.evil.example is not an allowed KMS endpoint (kms.cn-hangzhou.aliyuncs.com, kms-vpc.cn-hangzhou.aliyuncs.com, kst-hzzplaceholderhost.cryptoservice.kms.aliyuncs.com, kms.cn-shanghai.aliyuncs.com, kms-vpc.cn-shanghai.aliyuncs.com, kst-shhplaceholderprod1.cryptoservice.kms.aliyuncs.com, kms.cn-beijing.aliyuncs.com, kms-vpc.cn-beijing.aliyuncs.com, kst-bjjplaceholderprod2.cryptoservice.kms.aliyuncs.com): the master would send role-signed requests there and install the PKI it returns;",
        ),
      },
    ]);
    // The master found by its name alone (no role tag), as the engine sends it: stack prod1 from its URN.
    delete (master.inputs.tags as Record<string, string>)["platform:role"];
    expect(diagnostics(await call("analyze", analyzeRequest(master))).map((d) => d.policy)).toEqual(["credential-endpoints"]);
  });

  test("m-4: a secret-looking env URL reaches no message of the pack (index.ts passes messages through unredacted), in Analyze or AnalyzeStack", async () => {
    await configure("prod.json");
    const SECRET_URL = "https://user:s3cret@evil.example/x?token=abc";
    const deployment = byName("prod1-order-service-deployment-order-service", "kubernetes:apps/v1:Deployment");
    const ctr = (deployment.inputs as any).spec.template.spec.containers[0];
    ctr.env = [...ctr.env.filter((e: { name: string }) => e.name !== "APOLLO_META"), { name: "APOLLO_META", value: SECRET_URL }];
    const resourceFindings = diagnostics(await call("analyze", analyzeRequest(deployment)));
    expect(resourceFindings).toEqual([
      {
        policy: "credential-endpoints",
        level: "mandatory",
        message: expect.stringContaining(
          "\nprod1-order-service-deployment-order-service: container app env APOLLO_META https://evil.example (userinfo, path, query not shown) has userinfo, so it connects to evil.example, not to the host before '@';",
        ),
      },
    ]);
    const stackFindings = diagnostics(
      await call("analyzeStack", stackRequest(resources.map((r) => (r.name === deployment.name && r.type === deployment.type ? deployment : r)))),
    );
    expect(stackFindings).toEqual([
      {
        policy: "secrets-not-plain",
        level: "mandatory",
        message: expect.stringContaining(
          "\nprod1-order-service-deployment-order-service: container app env APOLLO_META holds a URL with credentials in its userinfo;",
        ),
      },
    ]);
    for (const { message } of [...resourceFindings, ...stackFindings]) expect([message.includes("s3cret"), message.includes("abc")]).toEqual([false, false]);
  });

  test("nonprod.json: deletion protection is disabled, the rest advisory", async () => {
    await configure("nonprod.json");
    const master = byName("prod1-master-0");
    master.inputs.deletionProtection = false;
    master.inputs.instanceType = "ecs.t6-c1m1.large";
    expect(diagnostics(await call("analyze", analyzeRequest(master)))).toEqual([
      { policy: "approved-instance-types", level: "advisory", message: expect.stringContaining("instance type ecs.t6-c1m1.large is not approved") },
    ]);
  });
});
