// Mocked providers for the offline preview and the tests. They answer like the
// real providers would (deterministic ids, private IPs inside the right vswitch,
// the outputs each type really has), and refuse what they do not know: an
// unknown resource type or invoke is an error, never a silent `{}`.
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { containsIp, nthAddress, parseCidr, size } from "../../policies/rules/cidr";
import { RESERVED_ADDRESSES } from "../cluster/controlPlaneAddresses";
import { MOCK_CERT_PEM, MOCK_PRIVATE_KEY_PEM, MOCK_PUBLIC_KEY_PEM } from "./fixtures";

type State = Record<string, unknown>;
type Faker = (args: pulumi.runtime.MockResourceArgs, m: PlatformMocks) => { id?: string; state?: State };

function hash(...parts: string[]): string {
  return createHash("sha256").update(parts.join("\0")).digest("hex");
}

/** `vpc-3f2a9c...`: the id shape Alibaba uses, stable for a given type and name. */
function cloudId(prefix: string, args: pulumi.runtime.MockResourceArgs): string {
  return `${prefix}-${hash(args.type, args.name).slice(0, 20)}`;
}

/** A deterministic secret-looking string drawn from `alphabet`. */
function fakeSecret(seed: string, length: number, alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"): string {
  let out = "";
  let h = hash(seed);
  while (out.length < length) {
    for (let i = 0; i + 2 <= h.length && out.length < length; i += 2) out += alphabet[parseInt(h.slice(i, i + 2), 16) % alphabet.length];
    h = hash(h);
  }
  return out;
}

/** The character set the random provider draws from, honouring upper/lower/numeric/special. */
function randomAlphabet(inputs: Record<string, unknown>): string {
  let alphabet = "";
  if (inputs.lower !== false) alphabet += "abcdefghijklmnopqrstuvwxyz";
  if (inputs.upper !== false) alphabet += "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  if (inputs.numeric !== false && inputs.number !== false) alphabet += "0123456789";
  if (inputs.special !== false) alphabet += typeof inputs.overrideSpecial === "string" ? inputs.overrideSpecial : "!#$%&*()-_=+[]{}<>:?";
  return alphabet || "abcdefghijklmnopqrstuvwxyz";
}

function withId(prefix: string, extra?: (a: pulumi.runtime.MockResourceArgs, m: PlatformMocks) => State): Faker {
  return (a, m) => ({ id: cloudId(prefix, a), state: { ...a.inputs, ...(extra ? extra(a, m) : {}) } });
}

/** The readiness gates (components/cluster/readiness.ts) answer as if every node were Ready. */
function readinessState(inputs: State): State {
  if (!Array.isArray(inputs.masters) || typeof inputs.workerPools !== "object" || inputs.workerPools === null) return inputs;
  const [m, w] = [inputs.masters.length, Object.values(inputs.workerPools as Record<string, number>).reduce((a, b) => a + b, 0)];
  const message = `${m}/${m} masters Ready, ${w}/${w} workers joined`;
  return { ...inputs, attempts: 1, mastersReady: m, workersJoined: w, workersExpected: w, workersMissing: [], message };
}

const FAKERS: Record<string, Faker> = {
  // ---- alicloud: network
  "alicloud:vpc/network:Network": withId("vpc", (a) => ({
    routeTableId: cloudId("vtb", a),
    routerId: cloudId("vrt", a),
    status: "Available",
  })),
  "alicloud:vpc/switch:Switch": (a, m) => {
    const id = cloudId("vsw", a);
    m.vswitchCidrs.set(id, String(a.inputs.cidrBlock));
    return { id, state: { ...a.inputs, status: "Available" } };
  },
  "alicloud:vpc/natGateway:NatGateway": withId("ngw", (a) => ({
    snatTableIds: cloudId("stb", a),
    forwardTableIds: cloudId("ftb", a),
    status: "Available",
  })),
  "alicloud:vpc/snatEntry:SnatEntry": withId("snat"),
  "alicloud:ecs/eipAddress:EipAddress": withId("eip", (a) => ({ ipAddress: publicIp(a.name), status: "InUse" })),
  "alicloud:ecs/eipAssociation:EipAssociation": (a) => ({ id: `${a.inputs.allocationId}:${a.inputs.instanceId}`, state: a.inputs }),
  "alicloud:ecs/securityGroup:SecurityGroup": withId("sg"),
  "alicloud:ecs/securityGroupRule:SecurityGroupRule": withId("sgr"),
  // Cloud Assistant (the HAProxy config rollout): ids shaped like c-... and t-...; an invocation
  // is created only once it reached Success (resource_alicloud_ecs_invocation.go create).
  "alicloud:ecs/command:Command": withId("c"),
  "alicloud:ecs/ecsInvocation:EcsInvocation": withId("t", () => ({ status: "Success" })),
  "alicloud:vpc/routeEntry:RouteEntry": withId("rte"),
  // ---- alicloud: compute
  "alicloud:ecs/instance:Instance": (a, m) => {
    const privateIp = (a.inputs.privateIp as string | undefined) ?? m.allocateIp(String(a.inputs.vswitchId), a.name);
    return {
      id: cloudId("i", a),
      state: { ...a.inputs, privateIp, publicIp: "", status: "Running", cpu: 16, memory: 65536 },
    };
  },
  // ---- alicloud: load balancing
  "alicloud:slb/applicationLoadBalancer:ApplicationLoadBalancer": (a, m) => ({
    id: cloudId("lb", a),
    state: { ...a.inputs, address: (a.inputs.address as string | undefined) ?? m.allocateIp(String(a.inputs.vswitchId), a.name), status: "active" },
  }),
  "alicloud:slb/listener:Listener": (a) => ({ id: `${a.inputs.loadBalancerId}:${a.inputs.protocol}:${a.inputs.frontendPort}`, state: a.inputs }),
  "alicloud:slb/serverGroup:ServerGroup": withId("rsp"),
  "alicloud:slb/serverGroupServerAttachment:ServerGroupServerAttachment": (a) => ({
    id: `${a.inputs.serverGroupId}:${a.inputs.serverId}:${a.inputs.port}`,
    state: a.inputs,
  }),
  "alicloud:slb/backendServer:BackendServer": (a) => ({ id: String(a.inputs.loadBalancerId), state: a.inputs }),
  // ---- alicloud: VPN
  // Dual-tunnel: a second public IP when a disaster-recovery vswitch is given (vpn_gateway doc).
  "alicloud:vpn/gateway:Gateway": withId("vpn", (a) => ({
    internetIp: publicIp(a.name),
    ...(a.inputs.disasterRecoveryVswitchId ? { disasterRecoveryInternetIp: publicIp(`${a.name}#dr`) } : {}),
    status: "Active",
  })),
  "alicloud:vpn/customerGateway:CustomerGateway": withId("cgw"),
  "alicloud:vpn/connection:Connection": withId("vco", () => ({ status: "ike_sa_not_established" })),
  // ---- alicloud: storage and identity (etcd backups)
  "alicloud:oss/bucket:Bucket": (a) => ({
    id: String(a.inputs.bucket ?? a.name),
    state: {
      ...a.inputs,
      extranetEndpoint: "oss-cn-shanghai.aliyuncs.com",
      intranetEndpoint: "oss-cn-shanghai-internal.aliyuncs.com",
      location: "oss-cn-shanghai",
    },
  }),
  "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock": (a) => ({ id: String(a.inputs.bucket), state: a.inputs }),
  "alicloud:ram/role:Role": (a) => ({
    id: String(a.inputs.roleName ?? a.name),
    state: { ...a.inputs, arn: `acs:ram::1234567890123456:role/${a.inputs.roleName ?? a.name}` },
  }),
  "alicloud:ram/policy:Policy": (a) => ({ id: String(a.inputs.policyName ?? a.name), state: a.inputs }),
  "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment": (a) => ({
    id: `role:${a.inputs.roleName}:${a.inputs.policyType}:${a.inputs.policyName}`,
    state: a.inputs,
  }),
  "alicloud:ecs/ramRoleAttachment:RamRoleAttachment": (a) => ({ id: `${a.inputs.ramRoleName}:${a.inputs.instanceId}`, state: a.inputs }),
  "alicloud:kms/secret:Secret": (a) => ({
    id: String(a.inputs.secretName ?? a.name),
    state: { ...a.inputs, arn: `acs:kms:cn-shanghai:1234567890123456:secret/${a.inputs.secretName ?? a.name}` },
  }),
  // ---- random
  "random:index/randomPassword:RandomPassword": (a, m) => {
    const result = m.secretValue(fakeSecret(`password:${a.name}`, Number(a.inputs.length ?? 32), randomAlphabet(a.inputs)));
    return { id: "none", state: { ...a.inputs, result, bcryptHash: m.secretValue(`$2a$10$${fakeSecret(`bcrypt:${a.name}`, 53)}`) } };
  },
  "random:index/randomString:RandomString": (a) => {
    const result = fakeSecret(`string:${a.name}`, Number(a.inputs.length ?? 16), randomAlphabet(a.inputs));
    return { id: result, state: { ...a.inputs, result } };
  },
  "random:index/randomBytes:RandomBytes": (a, m) => {
    const bytes = Buffer.from(hash(`bytes:${a.name}`).repeat(8), "hex").subarray(0, Number(a.inputs.length ?? 32));
    return { id: "none", state: { ...a.inputs, hex: m.secretValue(bytes.toString("hex")), base64: m.secretValue(bytes.toString("base64")) } };
  },
  // ---- tls: fixed key material so offline plans are stable
  "tls:index/privateKey:PrivateKey": (a, m) => ({
    id: hash("key", a.name).slice(0, 40),
    state: {
      ...a.inputs,
      privateKeyPem: m.secretValue(MOCK_PRIVATE_KEY_PEM),
      privateKeyPemPkcs8: m.secretValue(MOCK_PRIVATE_KEY_PEM),
      publicKeyPem: MOCK_PUBLIC_KEY_PEM,
      publicKeyFingerprintSha256: `SHA256:${hash("fp", a.name).slice(0, 43)}`,
    },
  }),
  "tls:index/selfSignedCert:SelfSignedCert": (a) => ({ id: hash("cert", a.name).slice(0, 32), state: { ...a.inputs, certPem: MOCK_CERT_PEM } }),
  "tls:index/certRequest:CertRequest": (a) => ({
    id: hash("csr", a.name).slice(0, 32),
    state: { ...a.inputs, certRequestPem: "-----BEGIN CERTIFICATE REQUEST-----\nMOCK\n-----END CERTIFICATE REQUEST-----\n" },
  }),
  "tls:index/locallySignedCert:LocallySignedCert": (a) => ({ id: hash("lsc", a.name).slice(0, 32), state: { ...a.inputs, certPem: MOCK_CERT_PEM } }),
  // ---- providers
  "pulumi:providers:kubernetes": (a) => ({ id: `${a.name}-provider`, state: a.inputs }),
  "pulumi:providers:alicloud": (a) => ({ id: `${a.name}-provider`, state: a.inputs }),
  // ---- Deployments: the live object after a finished rollout (pre lists only what finished, components/fleet/validatedImages.ts).
  "kubernetes:apps/v1:Deployment": (a) => ({ id: kubernetesId(a), state: finishedRollout(a.inputs) }),
  // ---- Helm releases render nothing offline: their values are the plan.
  "kubernetes:helm.sh/v3:Release": (a) => ({
    id: `${a.inputs.namespace ?? "default"}/${a.inputs.name ?? a.name}`,
    state: { ...a.inputs, status: { status: "deployed", version: a.inputs.version, namespace: a.inputs.namespace } },
  }),
};

/**
 * Data sources a member uses to find its host's end of the link (components/fleet/hostLookup.ts), answered
 * with exactly what the host's own offline plan creates: the host's VPC is the resource `<stack>-vpc`
 * (components/network/network.ts), its VPN gateway `<stack>-fleet-vpn-gw` (index.ts FleetLinks
 * `<stack>-fleet` -> VpnGateway `-vpn` -> `-gw`), so ids, route table and public IPs come from the same
 * fakers as above. A name of another shape matches nothing, as in a region without it.
 */
const INVOKES: Record<string, (inputs: Record<string, unknown>) => Record<string, unknown>> = {
  "alicloud:vpc/getNetworks:getNetworks": (inputs) => {
    const stack = /^\^(.+)-vpc\$$/.exec(String(inputs.nameRegex ?? ""))?.[1]?.replace(/\\/g, "");
    if (!stack) return { ids: [], names: [], vpcs: [] };
    const vpc = { type: "alicloud:vpc/network:Network", name: `${stack}-vpc` } as pulumi.runtime.MockResourceArgs;
    const id = cloudId("vpc", vpc);
    const cidrBlock = String(inputs.cidrBlock ?? "");
    return {
      ids: [id],
      names: [`${stack}-vpc`],
      vpcs: [{ id, vpcId: id, vpcName: `${stack}-vpc`, cidrBlock, routeTableId: cloudId("vtb", vpc), vrouterId: cloudId("vrt", vpc), status: "Available" }],
    };
  },
  "alicloud:vpn/getGateways:getGateways": (inputs) => {
    const stack = /^\^(.+)-vpn\$$/.exec(String(inputs.nameRegex ?? ""))?.[1]?.replace(/\\/g, "");
    if (!stack) return { ids: [], names: [], gateways: [] };
    const name = `${stack}-fleet-vpn-gw`;
    const id = cloudId("vpn", { type: "alicloud:vpn/gateway:Gateway", name } as pulumi.runtime.MockResourceArgs);
    return {
      ids: [id],
      names: [`${stack}-vpn`],
      gateways: [
        {
          id,
          name: `${stack}-vpn`,
          vpcId: inputs.vpcId,
          internetIp: publicIp(name),
          disasterRecoveryInternetIp: publicIp(`${name}#dr`),
          status: "Active",
          enableIpsec: "enable",
        },
      ],
    };
  },
};

function publicIp(seed: string): string {
  const h = hash("public", seed);
  return `47.${(parseInt(h.slice(0, 2), 16) % 120) + 90}.${parseInt(h.slice(2, 4), 16)}.${(parseInt(h.slice(4, 6), 16) % 250) + 2}`;
}

/**
 * A Deployment's outputs once its rollout finished, as the provider returns the live object: its inputs, generation 1,
 * and a status every replica of which is updated and available, with the conditions a completed rollout has
 * (`Available` True, `Progressing` True for `NewReplicaSetAvailable`). Tests derive an unfinished one from it.
 */
export function finishedRollout(inputs: State): State {
  const metadata = (inputs.metadata ?? {}) as State;
  const replicas = ((inputs.spec ?? {}) as { replicas?: number }).replicas ?? 1;
  return {
    ...inputs,
    metadata: { ...metadata, generation: 1 },
    status: {
      observedGeneration: 1,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      conditions: [
        { type: "Available", status: "True", reason: "MinimumReplicasAvailable" },
        { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" },
      ],
    },
  };
}

/** How a Kubernetes object id looks: `namespace/name`, or `name` when cluster-scoped. */
function kubernetesId(a: pulumi.runtime.MockResourceArgs): string {
  const meta = (a.inputs.metadata ?? {}) as { name?: string; namespace?: string };
  const name = meta.name ?? a.name;
  return meta.namespace ? `${meta.namespace}/${name}` : name;
}

export interface MockOptions {
  /** Outputs of stacks read through `pulumi.StackReference`, by stack name. */
  stackOutputs?: Record<string, { outputs: Record<string, unknown>; secretOutputNames: string[] }>;
  /** Invoke answers by token, in place of the fakers (tests: a look-up with no or several matches). */
  invokes?: Record<string, (inputs: Record<string, unknown>) => Record<string, unknown>>;
  /**
   * Resource answers by resource name, in place of the fakers (tests: a Deployment whose outputs differ from its
   * inputs, as after a `pulumi up --target` that skipped it, or one whose update fails: the function throws).
   */
  resources?: Record<string, (args: pulumi.runtime.MockResourceArgs) => { id: string; state: State }>;
}

export class PlatformMocks implements pulumi.runtime.Mocks {
  /** vswitch id -> CIDR, learnt as vswitches are created, to place instance IPs. */
  readonly vswitchCidrs = new Map<string, string>();
  /** Every secret value the mocks generated, so artifacts can be redacted. */
  readonly secretValues = new Set<string>();
  private readonly usedIps = new Set<string>();

  constructor(private readonly options: MockOptions = {}) {}

  secretValue(v: string): string {
    this.secretValues.add(v);
    return v;
  }

  /**
   * A stable private IP for `name` inside the vswitch: hashed from the name so
   * adding a node does not move the others, probing past collisions. The first
   * RESERVED_ADDRESSES are left for the fixed ones (masters, HAProxy, SLB).
   */
  allocateIp(vswitchId: string, name: string): string {
    const range = this.vswitchCidrs.get(vswitchId);
    if (!range) throw new Error(`mock: no vswitch ${vswitchId} known when placing ${name}`);
    const c = parseCidr(range);
    const usable = size(c) - RESERVED_ADDRESSES - 3;
    let i = parseInt(hash("ip", name).slice(0, 8), 16) % usable;
    for (let tries = 0; tries < usable; tries++, i = (i + 1) % usable) {
      const ip = nthAddress(c, RESERVED_ADDRESSES + i);
      if (!this.usedIps.has(ip)) {
        this.usedIps.add(ip);
        return ip;
      }
    }
    throw new Error(`mock: vswitch ${range} is full`);
  }

  /** True when `ip` lies in a vswitch the mocks have seen (used by tests). */
  inAnyVswitch(ip: string): boolean {
    return [...this.vswitchCidrs.values()].some((c) => containsIp(c, ip));
  }

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: State } {
    if (!args.custom) return { id: undefined, state: args.inputs };
    if (args.type === "pulumi:pulumi:StackReference") {
      const name = String(args.inputs.name ?? args.name);
      const known = this.options.stackOutputs?.[name];
      if (!known) throw new Error(`mock: no outputs known for stack reference "${name}"`);
      // What another stack exports as secret stays masked in this plan's artifacts too.
      for (const k of known.secretOutputNames) if (typeof known.outputs[k] === "string") this.secretValue(known.outputs[k] as string);
      return { id: name, state: { name, outputs: known.outputs, secretOutputNames: known.secretOutputNames } };
    }
    const answer = this.options.resources?.[args.name];
    if (answer) return answer(args);
    const faker = FAKERS[args.type];
    if (faker) {
      const { id, state } = faker(args, this);
      return { id: id ?? cloudId("res", args), state: state ?? args.inputs };
    }
    if (args.type.startsWith("kubernetes:")) return { id: kubernetesId(args), state: args.inputs };
    if (args.type.startsWith("pulumi-nodejs:dynamic")) {
      return { id: hash("dyn", args.name).slice(0, 16), state: readinessState(args.inputs) };
    }
    throw new Error(`Mock not implemented: ${args.type} (resource ${args.name})`);
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    const answer = this.options.invokes?.[args.token] ?? INVOKES[args.token];
    if (answer) return answer(args.inputs as Record<string, unknown>);
    throw new Error(`Mock not implemented: invoke ${args.token}`);
  }
}
