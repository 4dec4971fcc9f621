// The stack's configuration, parsed and validated in one place. Nothing else
// reads `pulumi.Config`: components receive typed, already-checked settings.
//
// Every problem is collected and reported at once, each line naming its key
// (`platform:masters.count: must be odd for etcd quorum, got 2`), and the
// program throws before a single resource is registered.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { imageTagProblem } from "../../policies/imageTags";
import { validateJavaApp } from "../apps/javaAppObjects";
import { overlaps, parseCidr, parseIp, split } from "../network/cidr";

export const PROJECT = "platform";
export const STACKS = ["host", "dev", "test", "pre", "prod1", "prod2"] as const;
export type Env = (typeof STACKS)[number];

/** Kubernetes minors with upstream support on the day this was written; 1.34 left support 2026-10-27. */
export const SUPPORTED_KUBERNETES_MINORS = [35, 36, 37];

/** The upstream apt repository for a version's minor (repositories are per minor). */
export function defaultPackageRepository(version: string): string {
  return `https://pkgs.k8s.io/core:/stable:/v${version.split(".").slice(0, 2).join(".")}/deb/`;
}

export function isProd(env: Env): boolean {
  return env === "prod1" || env === "prod2";
}

/** Apollo's environment names (DEV, FAT, UAT, PRO) for each stack; the host runs no apps. */
export const APOLLO_ENV: Record<Env, string | undefined> = {
  host: undefined,
  dev: "DEV",
  test: "FAT",
  pre: "UAT",
  prod1: "PRO",
  prod2: "PRO",
};

// ---------------------------------------------------------------- schema pieces

const dnsLabel = z
  .string()
  .regex(/^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$/, "must be a DNS label (lowercase letters, digits, '-', at most 32 characters)");

const cidr = z.string().superRefine((v, ctx) => {
  try {
    parseCidr(v);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
  }
});

const ipv4 = z.string().superRefine((v, ctx) => {
  try {
    parseIp(v);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
  }
});

const count = z.number().int("must be a whole number").min(0, "must be >= 0");
const instanceType = z.string().regex(/^ecs\.[a-z0-9-]+\.[a-z0-9]+$/, "must be an ECS instance type such as ecs.g6.4xlarge");
const quantity = z.string().regex(/^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti)?$/, "must be a Kubernetes quantity such as 500m, 2 or 4Gi");
const pinnedVersion = z.string().regex(/^v?\d+\.\d+\.\d+$/, "must be a pinned version such as 4.12.1");

const taint = z
  .object({
    key: z.string().min(1),
    value: z.string().optional(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
  })
  .strict();

const nodePool = z
  .object({
    name: dnsLabel,
    count,
    instanceType,
    labels: z.record(z.string(), z.string()).optional(),
    taints: z.array(taint).optional(),
    systemDiskGb: z.number().int().min(40).max(2048).optional(),
  })
  .strict();

const network = z
  .object({
    vpcCidr: cidr,
    zones: z.array(z.string().regex(/^[a-z]{2}-[a-z0-9-]+-[a-z]$/, "must be a zone id such as cn-hangzhou-h")).min(1, "must list at least one zone"),
    podCidr: cidr,
    serviceCidr: cidr,
    natBandwidthMbps: z.number().int().min(1).max(1000).optional(),
  })
  .strict()
  .superRefine((n, ctx) => {
    const ranges: [keyof typeof n & string, string][] = [
      ["vpcCidr", n.vpcCidr],
      ["podCidr", n.podCidr],
      ["serviceCidr", n.serviceCidr],
    ];
    for (let i = 0; i < ranges.length; i++) {
      for (let j = i + 1; j < ranges.length; j++) {
        const [ka, a] = ranges[i];
        const [kb, b] = ranges[j];
        try {
          if (overlaps(a, b)) {
            ctx.addIssue({ code: "custom", path: [kb], message: `${b} overlaps ${ka} ${a}` });
          }
        } catch {
          // malformed ranges are reported by their own field
        }
      }
    }
    if (new Set(n.zones).size !== n.zones.length) {
      ctx.addIssue({ code: "custom", path: ["zones"], message: "zones must be distinct" });
    }
    try {
      // One vswitch per zone; each holds the fixed control-plane addresses and the nodes.
      const vswitch = split(n.vpcCidr, Math.max(1, n.zones.length))[0];
      if (Number(vswitch.split("/")[1]) > 25) {
        ctx.addIssue({ code: "custom", path: ["vpcCidr"], message: `${n.vpcCidr} split over ${n.zones.length} zones gives ${vswitch.replace(/^.*\//, "/")} vswitches; each needs at least a /25` });
      }
    } catch {
      // malformed ranges are reported by their own field
    }
  });

const kubernetes = z
  .object({
    version: z
      .string()
      .regex(/^1\.\d+\.\d+$/, "must be a full Kubernetes version such as 1.35.4")
      .superRefine((v, ctx) => {
        const minor = Number(v.split(".")[1]);
        if (!SUPPORTED_KUBERNETES_MINORS.includes(minor)) {
          ctx.addIssue({
            code: "custom",
            message: `Kubernetes 1.${minor} is not a supported release (supported: ${SUPPORTED_KUBERNETES_MINORS.map((m) => `1.${m}`).join(", ")})`,
          });
        }
      }),
    imageRepository: z.string().min(1).optional(),
    packageRepository: z.string().url().optional(),
  })
  .strict();

const masters = z
  .object({
    count: z
      .number()
      .int("must be a whole number")
      .min(1, "must be at least 1")
      .refine((c) => c % 2 === 1, { error: (i) => `must be odd for etcd quorum, got ${String(i.input)}` }),
    instanceType,
    systemDiskGb: z.number().int().min(40).max(2048).optional(),
  })
  .strict();

const apiServerFront = z
  .object({
    instanceType: instanceType.optional(),
  })
  .strict();

const hostname = z
  .string()
  .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$/, "must be a DNS host name such as order.example.com");
const url = z.string().regex(/^https?:\/\/[^\s]+$/, "must be an http(s) URL");

const ingress = z
  .object({
    /** Pinned ingress-nginx chart version. */
    chartVersion: pinnedVersion.optional(),
    controllerReplicas: z.number().int().min(1).max(50).optional(),
    httpNodePort: z.number().int().min(30000).max(32767).optional(),
    httpsNodePort: z.number().int().min(30000).max(32767).optional(),
    slbSpec: z.string().optional(),
  })
  .strict();

const logging = z.discriminatedUnion("output", [
  z
    .object({
      output: z.literal("elasticsearch"),
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535).optional(),
      index: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, "must be a lowercase Elasticsearch index name"),
      tls: z.boolean().optional(),
      user: z.string().min(1).optional(),
    })
    .strict(),
  z
    .object({
      output: z.literal("kafka"),
      brokers: z.array(z.string().regex(/^[^\s:]+:\d+$/, "must be host:port")).min(1, "must list at least one broker"),
      topic: z.string().regex(/^[A-Za-z0-9._-]+$/, "must be a Kafka topic name"),
      tls: z.boolean().optional(),
      user: z.string().min(1).optional(),
    })
    .strict(),
]);

const monitoring = z
  .object({
    chartVersion: pinnedVersion.optional(),
    retention: z.string().regex(/^\d+[dhw]$/, "must be a duration such as 15d").optional(),
    storageSize: quantity.optional(),
    /** StorageClass for Prometheus; omit to use an emptyDir (data lost on reschedule). */
    storageClass: dnsLabel.optional(),
    thresholds: z
      .object({
        ingress5xxRatio: z.number().gt(0).lt(1).optional(),
        ingress4xxRatio: z.number().gt(0).lt(1).optional(),
        restartsIn15m: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const resources = z
  .object({ cpu: quantity, memory: quantity, cpuLimit: quantity.optional(), memoryLimit: quantity.optional() })
  .strict();

const app = z
  .object({
    /** Image repository without tag, in the company's Harbor. */
    image: z.string().regex(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+$/, "must be an image repository without a tag, e.g. harbor.example.com/commerce/order-service"),
    tag: z.string(),
    /** Previous tags, newest first (kept by `npm run release`, used by `npm run rollback`). */
    history: z.array(z.string()).max(5, "keeps at most 5 previous tags").optional(),
    replicas: z.number().int().min(1, "must be at least 1"),
    port: z.number().int().min(1).max(65535),
    healthPath: z.string().regex(/^\/[^\s]*$/, "must be an HTTP path such as /actuator/health"),
    host: hostname.optional(),
    namespace: dnsLabel.optional(),
    javaOpts: z.string().optional(),
    resources: resources.optional(),
    logFiles: z.array(z.string().regex(/^\/[^\s]+$/, "must be an absolute file path")).optional(),
    canary: z
      .object({ tag: z.string(), weight: z.number().int().min(1).max(99).optional(), header: z.string().regex(/^[A-Za-z0-9-]+$/).optional() })
      .strict()
      .refine((c) => (c.weight === undefined) !== (c.header === undefined), { error: "set exactly one of weight or header" })
      .optional(),
    autoscale: z
      .object({ min: z.number().int().min(1), max: z.number().int().min(1), cpuPercent: z.number().int().min(10).max(100) })
      .strict()
      .refine((a) => a.max >= a.min, { error: "max must be >= min" })
      .optional(),
  })
  .strict();

const apps = z.record(dnsLabel, app);

const apollo = z.object({ /** The env's Apollo meta server. */ meta: url }).strict();
const harbor = z
  .object({
    registry: z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, "must be a registry host such as harbor.example.com"),
    username: z.string().min(1),
  })
  .strict();

const datacenter = z
  .object({
    /** Public IP of the data centre's IPsec gateway. */
    publicIp: ipv4,
    /** On-prem ranges reached over the link. */
    subnets: z.array(cidr).min(1, "must list at least one subnet"),
  })
  .strict();

const kubesphere = z.object({ enabled: z.boolean(), version: pinnedVersion.optional() }).strict();

export type NodePoolConfig = z.infer<typeof nodePool>;
export type NetworkConfig = z.infer<typeof network>;

/** The schema of every `platform:*` key, in reference order. */
const keys = {
  env: z.enum(STACKS),
  role: z.enum(["host", "member"]),
  network,
  kubernetes,
  masters,
  nodePools: z.array(nodePool).superRefine((pools, ctx) => {
    const seen = new Set<string>();
    pools.forEach((p, i) => {
      if (seen.has(p.name)) ctx.addIssue({ code: "custom", path: [i, "name"], message: `duplicate pool name "${p.name}"` });
      if (p.name === "master" || p.name === "haproxy") {
        ctx.addIssue({ code: "custom", path: [i, "name"], message: `"${p.name}" is reserved` });
      }
      seen.add(p.name);
    });
  }),
  osImageId: z.string().regex(/^[A-Za-z0-9_.-]+$/, "must be an ECS image id, pinned so nodes are not replaced when a newer image appears"),
  apiServerFront: apiServerFront.optional(),
  ingress: ingress.optional(),
  logging,
  monitoring: monitoring.optional(),
  apps: apps.optional(),
  apollo: apollo.optional(),
  harbor: harbor.optional(),
  /** Members only: the host stack, `org/platform/host`. */
  hostStack: z.string().regex(/^([A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/, "must be a stack name such as acme/platform/host").optional(),
  datacenter: datacenter.optional(),
  kubesphere: kubesphere.optional(),
};

const optionalKeys = new Set<string>(["apiServerFront", "ingress", "monitoring", "apps", "apollo", "harbor", "hostStack", "datacenter", "kubesphere"]);

type Keys = typeof keys;
export type PlatformSettings = { [K in keyof Keys]: z.infer<Keys[K]> };

/** Secret keys: always read as Pulumi secrets, and refused when set in plain text. */
export interface SecretKey {
  /** Key without the `platform:` prefix. */
  key: string;
  /** Whether the stack needs it, given the rest of its config. */
  required: (s: PlatformSettings) => boolean;
  description: string;
  /**
   * What the offline preview uses, since secrets are never committed to stack
   * files; computed from the stack file's other values.
   */
  placeholder: (values: Record<string, unknown>) => string;
}

const appNames = (values: Record<string, unknown>) => Object.keys((values[`${PROJECT}:apps`] as Record<string, unknown> | undefined) ?? {});

export const SECRET_KEYS: SecretKey[] = [
  {
    key: "dingtalkWebhook",
    required: () => true,
    description: "the DingTalk robot webhook Alertmanager posts alerts to",
    placeholder: () => "https://oapi.dingtalk.com/robot/send?access_token=offline-placeholder",
  },
  {
    key: "loggingPassword",
    required: (s) => s.logging?.user !== undefined,
    description: "the password of platform:logging.user",
    placeholder: () => "offline-placeholder-logging",
  },
  {
    key: "harborPassword",
    required: (s) => Object.keys(s.apps ?? {}).length > 0,
    description: "the Harbor robot account's password, for the apps' imagePullSecret",
    placeholder: () => "offline-placeholder-harbor",
  },
  {
    key: "apolloAccessKeys",
    required: () => false,
    description: "a JSON map of app name to its Apollo access-key secret",
    placeholder: (values) => JSON.stringify(Object.fromEntries(appNames(values).map((a) => [a, `offline-placeholder-apollo-${a}`]))),
  },
];

export interface StackConfig extends PlatformSettings {
  stack: Env;
  region: string;
  isProd: boolean;
  /** Secret config values by key (without the `platform:` prefix), as Pulumi secrets. */
  secrets: Record<string, pulumi.Output<string>>;
  /** Apollo access-key secrets by app name (from platform:apolloAccessKeys), as Pulumi secrets. */
  apolloAccessKeys: Record<string, pulumi.Output<string>>;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

function formatPath(key: string, path: PropertyKey[]): string {
  let out = `${PROJECT}:${key}`;
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `.${String(p)}`;
  return out;
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let cur = root;
  for (const p of path) cur = typeof cur === "object" && cur !== null ? (cur as Record<PropertyKey, unknown>)[p] : undefined;
  return cur;
}

function describe(issue: z.core.$ZodIssue, root: unknown): string {
  if (issue.code === "unrecognized_keys") return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
  if (issue.code === "invalid_type") {
    const got = valueAt(root, issue.path);
    if (got === undefined) return "is required";
    if (issue.expected === "int") return "must be a whole number";
    return `must be ${issue.expected}, got ${JSON.stringify(got)}`;
  }
  return issue.message;
}

/**
 * Raw config as Pulumi hands it to a program: `project:key` -> string, objects
 * JSON-encoded. `secretKeys` lists the keys that were set with `--secret`.
 */
export interface RawConfig {
  values: Record<string, string>;
  secretKeys: string[];
}

/** Parses and validates the stack's config; throws one ConfigError listing every problem. */
export function parseStackConfig(stack: string, raw: RawConfig): StackConfig {
  const problems: string[] = [];
  if (!(STACKS as readonly string[]).includes(stack)) {
    problems.push(`stack "${stack}" is not one of ${STACKS.join(", ")}`);
  }
  const parsed: Record<string, unknown> = {};
  const known = new Set([...Object.keys(keys), ...SECRET_KEYS.map((s) => s.key)]);

  for (const [fullKey, value] of Object.entries(raw.values)) {
    const [ns, key] = splitKey(fullKey);
    if (ns !== PROJECT) continue;
    if (!known.has(key)) problems.push(`${PROJECT}:${key}: unknown key (check the spelling; see the README's config reference)`);
  }

  for (const [key, schema] of Object.entries(keys) as [keyof Keys, z.ZodType][]) {
    const text = raw.values[`${PROJECT}:${key}`];
    if (text === undefined) {
      if (!optionalKeys.has(key)) problems.push(`${PROJECT}:${key}: is required`);
      continue;
    }
    const value = decode(text, schema);
    const result = schema.safeParse(value);
    if (result.success) parsed[key] = result.data;
    else for (const issue of result.error.issues) problems.push(`${formatPath(key, issue.path)}: ${describe(issue, value)}`);
  }

  const region = raw.values["alicloud:region"];
  if (!region) problems.push("alicloud:region: is required");

  const settings = parsed as PlatformSettings;
  if (settings.env && settings.env !== stack) {
    problems.push(`${PROJECT}:env: is "${settings.env}" but the stack is "${stack}"; a stack only deploys to its own environment`);
  }
  if (settings.env && settings.role) {
    const expected = settings.env === "host" ? "host" : "member";
    if (settings.role !== expected) problems.push(`${PROJECT}:role: must be "${expected}" for env ${settings.env}, got "${settings.role}"`);
  }
  if (settings.network && settings.nodePools) {
    const workers = settings.nodePools.reduce((n, p) => n + p.count, 0);
    if (settings.env !== "host" && workers === 0) {
      problems.push(`${PROJECT}:nodePools: a member cluster needs at least one worker node`);
    }
  }

  problems.push(...crossChecks(settings));

  const secrets: Record<string, pulumi.Output<string>> = {};
  for (const s of SECRET_KEYS) {
    const full = `${PROJECT}:${s.key}`;
    const text = raw.values[full];
    if (text === undefined) {
      if (problems.length === 0 && s.required(settings)) {
        problems.push(`${full}: is required (${s.description}); set it with \`pulumi config set --secret ${full} <value>\``);
      }
      continue;
    }
    if (!raw.secretKeys.includes(full)) {
      problems.push(`${full}: must be set as a secret (\`pulumi config set --secret ${full} ...\`), it is in plain text`);
      continue;
    }
    secrets[s.key] = pulumi.secret(text);
  }

  const apolloAccessKeys: Record<string, pulumi.Output<string>> = {};
  const apolloText = raw.values[`${PROJECT}:apolloAccessKeys`];
  if (apolloText !== undefined && raw.secretKeys.includes(`${PROJECT}:apolloAccessKeys`)) {
    let map: unknown;
    try {
      map = JSON.parse(apolloText);
    } catch {
      map = undefined;
    }
    if (typeof map !== "object" || map === null || Array.isArray(map) || Object.values(map).some((v) => typeof v !== "string")) {
      problems.push(`${PROJECT}:apolloAccessKeys: must be a map of app name to secret (set with \`pulumi config set --secret --path '${PROJECT}:apolloAccessKeys.<app>' <secret>\`)`);
    } else {
      for (const [appName, secret] of Object.entries(map as Record<string, string>)) {
        if (!settings.apps?.[appName]) problems.push(`${PROJECT}:apolloAccessKeys.${appName}: no such app in ${PROJECT}:apps`);
        else apolloAccessKeys[appName] = pulumi.secret(secret);
      }
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return { ...settings, stack: stack as Env, region: region!, isProd: isProd(stack as Env), secrets, apolloAccessKeys };
}

/** Rules that span keys: tags by env, what apps need, what members need. */
function crossChecks(s: PlatformSettings): string[] {
  const out: string[] = [];
  const env = s.env;
  const appEntries = Object.entries(s.apps ?? {});
  if (env && appEntries.length > 0) {
    if (env === "host") out.push(`${PROJECT}:apps: the host cluster runs no apps`);
    if (!s.apollo) out.push(`${PROJECT}:apollo: is required when apps are configured (the apps read their settings from Apollo)`);
    if (!s.harbor) out.push(`${PROJECT}:harbor: is required when apps are configured (images are pulled from Harbor)`);
    for (const [name, a] of appEntries) {
      if (env === "host") break;
      const key = `${PROJECT}:apps.${name}`;
      const tagProblem = imageTagProblem(env, a.tag, name);
      if (tagProblem) out.push(`${key}.tag: ${tagProblem}`);
      if (a.canary) {
        const p = imageTagProblem(env, a.canary.tag, name);
        if (p) out.push(`${key}.canary.tag: ${p}`);
        if (a.canary.tag === a.tag) out.push(`${key}.canary.tag: equals the stable tag ${a.tag}; a canary must run a different build`);
        if (!a.host) out.push(`${key}.canary: needs ${key}.host (the canary is an Ingress rule)`);
      }
      (a.history ?? []).forEach((t, i) => {
        if (t.toLowerCase() === "latest") out.push(`${key}.history[${i}]: tag "latest" is refused`);
      });
      if (s.harbor && !a.image.startsWith(`${s.harbor.registry}/`)) {
        out.push(`${key}.image: ${a.image} is not in the company registry ${s.harbor.registry}`);
      }
      if (a.autoscale && (a.replicas < a.autoscale.min || a.replicas > a.autoscale.max)) {
        out.push(`${key}.replicas: ${a.replicas} is outside autoscale ${a.autoscale.min}-${a.autoscale.max}`);
      }
      // The app renderer's own rules (heap vs memory limit, namespaces, label limits),
      // run here so they are reported with the rest, before anything is registered.
      if (!out.some((p) => p.startsWith(`${key}.`)) && APOLLO_ENV[env]) {
        try {
          validateJavaApp({
            ...a,
            name,
            namespace: a.namespace ?? name,
            env,
            apolloEnv: APOLLO_ENV[env]!,
            apolloMeta: s.apollo?.meta ?? "http://apollo-meta",
            idc: env,
            imagePullSecret: "harbor-pull",
          });
        } catch (e) {
          out.push((e as Error).message);
        }
      }
    }
  }
  if (env && env !== "host" && !s.hostStack) out.push(`${PROJECT}:hostStack: is required for a member cluster (the host stack it is managed from)`);
  if (env === "host" && s.hostStack) out.push(`${PROJECT}:hostStack: the host does not reference itself; remove the key`);
  if (s.datacenter && s.network) {
    for (const [i, sub] of s.datacenter.subnets.entries()) {
      for (const k of ["vpcCidr", "podCidr", "serviceCidr"] as const) {
        try {
          if (overlaps(sub, s.network[k])) out.push(`${PROJECT}:datacenter.subnets[${i}]: ${sub} overlaps ${PROJECT}:network.${k} ${s.network[k]}`);
        } catch {
          // malformed ranges are reported by their own field
        }
      }
    }
  }
  if (s.ingress?.httpNodePort !== undefined && s.ingress.httpNodePort === s.ingress.httpsNodePort) {
    out.push(`${PROJECT}:ingress.httpsNodePort: must differ from httpNodePort`);
  }
  return out;
}

function splitKey(full: string): [string, string] {
  const i = full.indexOf(":");
  return i < 0 ? ["", full] : [full.slice(0, i), full.slice(i + 1)];
}

/** Pulumi hands objects over JSON-encoded and scalars as strings; decode by what the schema wants. */
function decode(text: string, schema: z.ZodType): unknown {
  if (schema instanceof z.ZodString || schema instanceof z.ZodEnum) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// Which keys were set with --secret; the SDK's typings keep this helper internal.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { isConfigSecret } = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(k: string): boolean };

/** Reads the running program's config (real engine or the offline mock runtime). */
export function loadStackConfig(): StackConfig {
  const values = pulumi.runtime.allConfig();
  const secretKeys = Object.keys(values).filter((k) => isConfigSecret(k));
  return parseStackConfig(pulumi.getStack(), { values, secretKeys });
}
