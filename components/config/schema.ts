// The schema of every `platform:*` key: one zod object, strict, so a typo in a
// key is an error and optionality is stated once (`.optional()`), not in a
// second list. Rules that span several keys are in crossChecks.ts; secrets in
// secretKeys.ts (they never pass through this schema).
import { z } from "zod";
import { parseBackupSchedule } from "../cluster/etcdBackup";
import { Env, isProdEnv } from "../../policies/imageTags";
import { STACKS } from "./keys";
import { TIERS } from "../../policies/fleet";
import { contains, overlaps, parseCidr, parseIp, split } from "../../policies/rules/cidr";
import { RFC1918 } from "../network/ports";
import { LATENCY_BUCKETS_MS } from "../apps/sloRules";
import { consoleSchema, projectsSchema, workspacesSchema } from "../fleet/consoleSchema";
import { logSearchSchema } from "../fleet/logSearchSchema";
import { basicAuthUserProblem, hostPortProblem, httpUrlProblem } from "./kinds";

export type { Env };
/** True for the two production stacks. */
export const isProd = isProdEnv;

/** Kubernetes minors with upstream support on the day this was written; 1.34 left support 2026-10-27. */
export const SUPPORTED_KUBERNETES_MINORS = [35, 36, 37];

/** The upstream apt repository for a version's minor (repositories are per minor). */
export function defaultPackageRepository(version: string): string {
  return `https://pkgs.k8s.io/core:/stable:/v${version.split(".").slice(0, 2).join(".")}/deb/`;
}

const dnsLabel = z.string().regex(/^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$/, "must be a DNS label (lowercase letters, digits, '-', at most 32 characters)");

const cidr = z.string().superRefine((v, ctx) => {
  try {
    parseCidr(v);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
  }
});

const privateCidr = z.string().superRefine((v, ctx) => {
  try {
    parseCidr(v);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
    return;
  }
  if (!RFC1918.some((r) => contains(r, v))) {
    ctx.addIssue({ code: "custom", message: `${v} is not a private range; data-centre subnets must lie inside ${RFC1918.join(", ")}` });
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

/** The NAT EIP's metering when platform:network.natChargeType is not set. */
export const DEFAULT_NAT_CHARGE_TYPE = "PayByTraffic";
/**
 * Most Mbps a pay-as-you-go EIP takes, per internet charge type. Source: the provider's
 * website/docs/r/eip_address.html.markdown (`bandwidth`, lines 74-77 at 81c43b67) and
 * @pulumi/alicloud 3.108 ecs/eipAddress.d.ts: PayAsYouGo + PayByBandwidth 1-500,
 * PayAsYouGo + PayByTraffic 1-200 (Subscription would allow 1000; the platform does not buy it).
 * The provider has no ValidateFunc on `bandwidth`: only AllocateEipAddress refuses it.
 */
export const EIP_BANDWIDTH_LIMITS = { PayByTraffic: 200, PayByBandwidth: 500 } as const;

const network = z
  .object({
    vpcCidr: cidr,
    // Alibaba zone ids: region id plus a letter, cn-hangzhou-h or ap-southeast-1a (the region is checked in network/networkRules.ts).
    zones: z
      .array(z.string().regex(/^[a-z]{2}-[a-z0-9-]+?-?[a-z]$/, "must be a zone id such as cn-hangzhou-h"))
      .min(2, "must list at least two zones: the VPN gateway is dual-tunnel, its standby needs a vswitch in a second zone (disasterRecoveryVswitchId)"),
    podCidr: cidr,
    serviceCidr: cidr,
    /**
     * The NAT EIP's outbound bandwidth, Mbps. Default 200. The most it may be depends on
     * natChargeType (EIP_BANDWIDTH_LIMITS, from the provider's eip_address doc).
     */
    natBandwidthMbps: z.number().int().min(1).optional(),
    /** The NAT EIP's metering (pay-as-you-go): PayByTraffic (default, up to 200 Mbps) or PayByBandwidth (up to 500). */
    natChargeType: z.enum(["PayByTraffic", "PayByBandwidth"]).optional(),
  })
  .strict()
  .superRefine((n, ctx) => {
    const chargeType = n.natChargeType ?? DEFAULT_NAT_CHARGE_TYPE;
    const limit = EIP_BANDWIDTH_LIMITS[chargeType];
    if (n.natBandwidthMbps !== undefined && n.natBandwidthMbps > limit) {
      const other = chargeType === "PayByTraffic" ? "; set platform:network.natChargeType: PayByBandwidth (up to 500 Mbps) or lower it" : "; lower it";
      ctx.addIssue({
        code: "custom",
        path: ["natBandwidthMbps"],
        message: `${n.natBandwidthMbps} Mbps is over ${limit}, the most a pay-as-you-go ${chargeType} EIP allows${other}`,
      });
    }
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
        ctx.addIssue({
          code: "custom",
          path: ["vpcCidr"],
          message: `${n.vpcCidr} split over ${n.zones.length} zones gives ${vswitch.replace(/^.*\//, "/")} vswitches; each needs at least a /25`,
        });
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
    packageRepository: z
      .string()
      .superRefine((v, ctx) => {
        const problem = httpUrlProblem(v);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      })
      .optional(),
    /** containerd version prefix from the Ubuntu archive, pinned and held; default "1.7." (components/cluster/cloudInit.ts). */
    containerdVersion: z
      .string()
      .regex(/^\d+\.\d+(\.\d+)?[.-]?$/, 'must be a version prefix such as "1.7." or "1.7.28"')
      .optional(),
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
    /** HAProxy's stats page on the front's VMs, reachable from the front's own subnets only (apiServerFront.ts). Default off. */
    statsPage: z.boolean().optional(),
  })
  .strict();

// RFC 1123: labels of at most 63 characters, at most 253 in all.
const hostname = z
  .string()
  .regex(/^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a DNS host name such as order.example.com (labels of at most 63 characters)")
  .max(253, "must be at most 253 characters (a DNS name)");
/** An http(s) URL as the URL parser reads it: no userinfo, a port 1-65535 (kinds.ts). */
const url = z.string().superRefine((v, ctx) => {
  const problem = httpUrlProblem(v);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const ingress = z
  .object({
    /** Pinned ingress-nginx chart version. */
    chartVersion: pinnedVersion.optional(),
    controllerReplicas: z.number().int().min(1).max(50).optional(),
    httpNodePort: z.number().int().min(30000).max(32767).optional(),
    httpsNodePort: z.number().int().min(30000).max(32767).optional(),
    /** Removed: both CLBs are pay-by-LCU, which has no spec (components/k8s/ingress.ts). */
    slbSpec: z
      .custom<never>(() => false, {
        message:
          "is no longer a setting: Alibaba stopped selling new pay-by-specification CLBs on 2025-06-01 (doc-detail/127268), so the ingress SLB is pay-by-LCU (PayByCLCU), which has no spec and scales with load; delete the key",
      })
      .optional(),
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
      user: z
        .string()
        .min(1)
        .superRefine((v, ctx) => {
          const problem = basicAuthUserProblem(v);
          if (problem) ctx.addIssue({ code: "custom", message: problem });
        })
        .optional(),
    })
    .strict(),
  z
    .object({
      output: z.literal("kafka"),
      brokers: z
        .array(
          z.string().superRefine((v, ctx) => {
            const problem = hostPortProblem(v);
            if (problem) ctx.addIssue({ code: "custom", message: problem });
          }),
        )
        .min(1, "must list at least one broker"),
      topic: z.string().regex(/^[A-Za-z0-9._-]+$/, "must be a Kafka topic name"),
      tls: z.boolean().optional(),
      user: z.string().min(1).optional(),
    })
    .strict(),
]);

const monitoring = z
  .object({
    chartVersion: pinnedVersion.optional(),
    retention: z
      .string()
      .regex(/^\d+[dhw]$/, "must be a duration such as 15d")
      .optional(),
    storageSize: quantity.optional(),
    /** StorageClass for Prometheus; omit to use an emptyDir (data lost on reschedule). */
    storageClass: dnsLabel.optional(),
    /** Grafana's URL as people open it, for the SLO alerts' dashboard links; omit for relative /d/<uid> links. */
    grafanaUrl: url.optional(),
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
  .object({
    /** CPU request: what the scheduler reserves and what HPA's cpuPercent is relative to. */
    cpu: quantity,
    /** Memory request. */
    memory: quantity,
    /**
     * CPU limit, normally unset. Note: a CPU limit throttles the JVM's GC and JIT
     * threads under load, so latency degrades long before the node is busy.
     */
    cpuLimit: quantity.optional(),
    /** Memory limit; defaults to the memory request, so a leaking JVM is OOM-killed alone instead of pressuring the node. */
    memoryLimit: quantity.optional(),
  })
  .strict();

const app = z
  .object({
    /** Image repository without tag, in the company's Harbor. */
    image: z
      .string()
      .regex(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+$/, "must be an image repository without a tag, e.g. harbor.example.com/commerce/order-service"),
    /** Image tag; rolling back = setting the previous tag. Also the `app.kubernetes.io/version` label, so at most 63 characters. */
    tag: z.string(),
    /** Previous tags, newest first (kept by `npm run release`, used by `npm run rollback`). */
    history: z.array(z.string()).max(5, "keeps at most 5 previous tags").optional(),
    /** Replica count. With `autoscale`, the count `pulumi up` resets to when the Deployment changes (javaAppObjects.ts deployment()). */
    replicas: z.number().int().min(1, "must be at least 1"),
    /** The port the JVM listens on. */
    port: z.number().int().min(1).max(65535),
    /** HTTP path of the health endpoint (readiness, liveness and startup probes). */
    healthPath: z.string().regex(/^\/[^\s]*$/, "must be an HTTP path such as /actuator/health"),
    /** Public host name; default none, and an Ingress (class nginx) is created only when set. */
    host: hostname.optional(),
    /** Namespace the app runs in; apps may share one (e.g. `commerce`). Default: a namespace named after the app. */
    namespace: dnsLabel.optional(),
    /** Node pool (`platform:nodePools[].name`) the app runs on: nodeSelector on the pool's labels, tolerations for its taints. Default none (any untainted node). */
    pool: dnsLabel.optional(),
    /** JVM flags, e.g. `-Xms4g -Xmx4g`; default none (no JAVA_OPTS). -Xmx must leave headroom under the memory limit. */
    javaOpts: z.string().optional(),
    /** Container resources; default apps/javaAppRules.ts DEFAULT_RESOURCES (500m CPU, 1Gi). */
    resources: resources.optional(),
    /** Log files a legacy app writes; each gets a sidecar that tails it to stdout for fluent-bit. Default none. */
    logFiles: z.array(z.string().regex(/^\/[^\s]+$/, "must be an absolute file path")).optional(),
    // Structure only: the canary and autoscale rules (one of weight or header,
    // ranges, replicas within min..max) live once, in apps/javaAppRules.ts.
    /** A canary release through ingress-nginx's canary annotations; none unless configured. */
    canary: z
      .object({
        /** The candidate's image tag (a different build from the stable tag). */
        tag: z.string(),
        /** Percent of requests routed to the canary (1-99); exclusive with `header`. */
        weight: z.number().optional(),
        /** Requests carrying this header with value `always` reach the canary; exclusive with `weight`. */
        header: z.string().optional(),
      })
      .strict()
      .optional(),
    /** CPU-based HorizontalPodAutoscaler; none unless configured (the Deployment then keeps `replicas`). */
    autoscale: z
      .object({
        /** Floor: what the app needs on a quiet promo day. */
        min: z.number(),
        /** Ceiling: bounded by the order pool's capacity and the database's connection budget. */
        max: z.number(),
        /** Target average CPU utilization, percent of the CPU request. */
        cpuPercent: z.number(),
      })
      .strict()
      .optional(),
    /** SkyWalking agent in the pods (docs/tracing.md); default true when the stack has `platform:tracing`. false: no agent, no init container. */
    tracing: z.boolean().optional(),
    /** SLO at the ingress; defaults in apps/sloRules.ts DEFAULT_SLO (0.999, 500 ms). */
    slo: z
      .object({
        availability: z.number().gt(0.9, "must be above 0.9, e.g. 0.999").lt(1, "must be below 1 (100% leaves no error budget)").optional(),
        latencyP99Ms: z
          .number()
          .refine((v) => LATENCY_BUCKETS_MS.includes(v), `must be a bucket bound of ingress-nginx's latency histogram (${LATENCY_BUCKETS_MS.join(", ")})`)
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const apps = z.record(dnsLabel, app);

/** The largest agent.sample_n_per_3_secs: a Java int (skywalking-java v9.3.0 agent.config; the agent parses it as an int). */
export const MAX_SAMPLE_N_PER_3_SECS = 2147483647;

/** Distributed tracing (components/k8s/tracing.ts, docs/tracing.md): SkyWalking OAP + UI per cluster, the agent in every JavaApp. */
const tracing = z
  .object({
    /**
     * Where OAP stores traces: `elasticsearch` (the only one: chart 4.7.0's BanyanDB path waits with an unpinned
     * `curlimages/curl` image that cannot go through the mirror). Default elasticsearch.
     */
    storage: z.enum(["elasticsearch"], "must be elasticsearch (the only storage this platform runs OAP on; docs/tracing.md)").optional(),
    /** The Elasticsearch OAP writes to; default `platform:logging`'s (output elasticsearch), required behind Kafka. */
    elasticsearch: z
      .object({
        host: z.string().regex(/^[A-Za-z0-9.-]+$/, "must be a host name without scheme or port"),
        port: z.number().int().min(1).max(65535).optional(),
        tls: z.boolean().optional(),
        /** OAP's user on this store; its password is the secret `platform:tracingElasticsearchPassword`. Default none (no authentication). */
        user: z
          .string()
          .regex(/^[A-Za-z0-9._@-]+$/, "must be an Elasticsearch user name (letters, digits, . _ @ -)")
          .optional(),
      })
      .strict()
      .optional(),
    /** OAP replicas (at least 2 in production: one OAP restart must not drop every agent's stream). Default 2. */
    oapReplicas: z.number().int("must be a whole number").min(1, "must be >= 1").max(10, "must be <= 10").optional(),
    /** OAP's CPU and memory request (memory is also its limit). Default 1 CPU, 4Gi; the heap is set to half the memory. */
    oapResources: z
      .object({ cpu: quantity, memory: z.string().regex(/^\d+Gi$/, "must be whole Gi, such as 4Gi") })
      .strict()
      .optional(),
    /** UI replicas. Default 1. */
    uiReplicas: z.number().int("must be a whole number").min(1, "must be >= 1").max(5, "must be <= 5").optional(),
    /**
     * Traces each app instance samples per 3 seconds (agent.sample_n_per_3_secs, env SW_AGENT_SAMPLE). The agent
     * treats zero and negatives as "no sampling, keep all"; here leave it out for that. 1..2147483647.
     */
    sampleNPer3Secs: z
      .number()
      .int("must be a whole number")
      .min(1, "must be >= 1 (traces per 3 seconds per instance; leave it out to keep every trace)")
      .max(MAX_SAMPLE_N_PER_3_SECS, `must be <= ${MAX_SAMPLE_N_PER_3_SECS} (the agent reads a Java int)`)
      .optional(),
    /** The UI behind the cluster's ingress, each request checked by the company SSO (ingress-nginx external auth). Default: no Ingress (port-forward). */
    ui: z
      .object({
        host: hostname,
        /** ingress-nginx auth-url: the SSO's check endpoint (2xx lets the request in). */
        authUrl: url,
        /** ingress-nginx auth-signin: where a person without a session is sent to sign in. */
        authSignin: url,
      })
      .strict()
      .optional(),
  })
  .strict();

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
    /**
     * On-prem ranges reached over the link. Private (RFC 1918) only: they are routed
     * over IPsec and admitted to the api-server's 6443, so a public range here would
     * open the api-server to that part of the internet.
     */
    subnets: z.array(privateCidr).min(1, "must list at least one subnet"),
  })
  .strict();

/** Where the platform's images come from: `<registry>/<upstream host>/<path>` (components/k8s/images.ts). */
const images = z
  .object({
    registry: z.string().regex(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/, "must be a registry host with an optional path, such as harbor.example.com/mirror"),
  })
  .strict();

/** The Alibaba Cloud disk CSI driver and the `essd` StorageClass (components/k8s/diskCsi.ts). */
const diskCsi = z.object({ enabled: z.boolean() }).strict();

const kubesphere = z
  .object({
    enabled: z.boolean(),
    version: pinnedVersion.optional(),
    /** Host only: the member stacks it registers (pulls each one's credential through a StackReference); fleet/kubesphereMembers.ts. */
    members: z.array(z.string().regex(/^([A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/, "must be a stack name such as acme/platform/prod1")).optional(),
  })
  .strict();

/** The masters' etcd snapshots (components/cluster/etcdBackup.ts); defaults every hour, 7 days, 5 local copies. */
const etcdBackup = z
  .object({
    schedule: z
      .string()
      .superRefine((v, ctx) => {
        try {
          parseBackupSchedule(v, "schedule");
        } catch (e) {
          ctx.addIssue({ code: "custom", message: (e as Error).message.replace(/^schedule: /, "") });
        }
      })
      .optional(),
    retentionDays: z.number().int("must be a whole number").min(1, "must be >= 1").max(365, "must be <= 365").optional(),
    localCopies: z.number().int("must be a whole number").min(1, "must be >= 1").max(48, "must be <= 48").optional(),
    /** OSS bucket name; default livemall-<stack>-etcd-backup (bucket names are global). */
    bucket: z
      .string()
      .regex(/^[a-z0-9][-a-z0-9]{1,61}[a-z0-9]$/, "must be an OSS bucket name (3-63 lowercase letters, digits, hyphens)")
      .optional(),
  })
  .strict();

/**
 * The masters' secret store (components/cluster/secretStore.ts): the KMS instance and the key in it
 * that hold the PKI secret, both required, and the API endpoint. KMS "CreateSecret" (help/en/kms/
 * key-management-service/developer-reference/api-kms-2016-01-20-createsecret, updated 2025-08-21):
 * the key and the secret must be in the same KMS instance, and the key must be symmetric; a secret
 * outside a purchased instance is a "default secret", which only cloud products create.
 */
const secretStore = z
  .object({
    kmsInstanceId: z
      .string()
      .regex(/^kst-[A-Za-z0-9]+$/, "must be a KMS instance id (kst-...)")
      .optional(),
    kmsKeyId: z
      .string()
      .regex(/^key-[A-Za-z0-9]+$/, "must be a KMS key id (key-...)")
      .optional(),
    /**
     * Delete the secret without KMS's 30-day recovery window (secretStore.ts). Default false in prod,
     * true elsewhere. Set it (and `pulumi up`) before moving a prod stack to another instance or key:
     * the provider reads it from state when it deletes (README, "Moving a prod secret store").
     */
    forceDelete: z.boolean().optional(),
    /** Default https://kms-vpc.<region>.aliyuncs.com (the VPC endpoint: no NAT traffic). */
    endpoint: z
      .string()
      .regex(/^https:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/?$/, "must be an https:// URL with no path")
      .optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    // One problem naming both keys, also when the whole key is absent (prefault below).
    if (v.kmsInstanceId === undefined || v.kmsKeyId === undefined) {
      ctx.addIssue({ code: "custom", path: [], message: SECRET_STORE_REQUIRED });
    }
  })
  .transform((v) => v as { kmsInstanceId: string; kmsKeyId: string; forceDelete?: boolean; endpoint?: string });

/** The problem a stack without its KMS instance and key gets (README, "Set-up prerequisites"). */
export const SECRET_STORE_REQUIRED =
  "kmsInstanceId and kmsKeyId are required: the masters' PKI secret is created in that KMS instance (kst-...) and encrypted with that symmetric key in it (key-...); KMS creates no secret outside an instance. Set platform:secretStore.kmsInstanceId and platform:secretStore.kmsKeyId (README, set-up prerequisites)";

export type NodePoolConfig = z.infer<typeof nodePool>;
export type NetworkConfig = z.infer<typeof network>;

/** The schema of every `platform:*` key, in reference order; `.optional()` marks the keys a stack may leave out. */
export const KEYS = {
  env: z.enum(STACKS),
  /** What the stack is (policies/fleet.ts): host, dev, test, pre or prod; default the stack's name when that is a tier, required otherwise. */
  tier: z.enum(TIERS).optional(),
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
  // SkyWalking tracing (components/k8s/tracing.ts); members with apps.
  tracing: tracing.optional(),
  apollo: apollo.optional(),
  harbor: harbor.optional(),
  /** Members only: the host stack, `org/platform/host`. */
  hostStack: z
    .string()
    .regex(/^([A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/, "must be a stack name such as acme/platform/host")
    .optional(),
  datacenter: datacenter.optional(),
  kubesphere: kubesphere.optional(),
  etcdBackup: etcdBackup.optional(),
  // Required; an absent key is parsed as {} so its problem names both ids.
  secretStore: secretStore.prefault({}),
  images: images.optional(),
  diskCsi: diskCsi.optional(),
  // The KubeSphere console as code (fleet/consoleSchema.ts): host workspaces and console, member projects.
  workspaces: workspacesSchema.optional(),
  console: consoleSchema.optional(),
  projects: projectsSchema.optional(),
  // Where developers search logs: the company's Kibana, access per workspace (fleet/logSearch.ts); members.
  logSearch: logSearchSchema.optional(),
};

/** All keys at once; `.strict()` reports any other `platform:*` key. */
export const platformSchema = z.object(KEYS).strict();

export type PlatformSettings = z.infer<typeof platformSchema>;

/**
 * Keys that were settings once and are not any more, with why: a stack file
 * that still sets one gets this message instead of "unknown key".
 */
export const REMOVED_KEYS: Record<string, string> = {
  role: "is not a setting: the role is derived from platform:env (host for env host, member for every other env); delete the key",
};
