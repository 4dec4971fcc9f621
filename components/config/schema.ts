// The schema of every `platform:*` key: one zod object, strict, so a typo in a
// key is an error and optionality is stated once (`.optional()`), not in a
// second list. Rules that span several keys are in crossChecks.ts; secrets in
// secretKeys.ts (they never pass through this schema).
import { z } from "zod";
import { parseBackupSchedule } from "../cluster/etcdBackup";
import { Env, isProdEnv } from "../../policies/imageTags";
import { STACKS } from "./keys";
import { TIERS } from "../../policies/fleet";
import { contains, overlaps, parseCidr, split } from "../../policies/rules/cidr";
import { RFC1918 } from "../network/ports";
import { LATENCY_BUCKETS_MS } from "../apps/sloRules";
import { consoleSchema, projectsSchema, workspacesSchema } from "../fleet/consoleSchema";
import { logSearchSchema } from "../fleet/logSearchSchema";
import { basicAuthUserProblem, httpUrlProblem, INT32_MAX, quantityProblem } from "./kinds";
import {
  durationKind,
  hostKind,
  hostPortKind,
  imageKind,
  imageTagKind,
  integerKind,
  kind,
  nodePortKind,
  portKind,
  prometheusDurationKind,
  publicIpKind,
  quantityKind,
  ratioKind,
  registryKind,
  urlKind,
} from "./valueKinds";

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

/**
 * The VPC's range: a mask of /8 to /28 (the provider's alicloud_vpc_ipv4_cidr_block doc, help.aliyun.com
 * document_detail/2588220, read 2026-12-07: "The subnet mask must be 8 to 28 bits in length", the VPC's rule).
 */
export const VPC_MASK = { from: 8, to: 28 } as const;
const vpcMaskOk = (v: string) => {
  try {
    const p = parseCidr(v).prefix;
    return p >= VPC_MASK.from && p <= VPC_MASK.to;
  } catch {
    return true; // malformed: the parser's message
  }
};
const vpcCidr = cidr.refine(vpcMaskOk, {
  error: (i) => `${String(i.input)} has a /${String(i.input).split("/")[1]} mask; a VPC range is /${VPC_MASK.from} to /${VPC_MASK.to}`,
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

// Keys of a kind (URL, host, port, image, integer, duration, quantity) are built from valueKinds.ts, which
// registers each for test/config/kindCoverage.test.ts: a key added without a worst-value case fails there.
/** A Kubernetes API integer (int32, kinds.ts INT32_MAX). */
const int32 = (min: number) => integerKind(min);
const count = int32(0);
const tcpPort = portKind();
const instanceType = z.string().regex(/^ecs\.[a-z0-9-]+\.[a-z0-9]+$/, "must be an ECS instance type such as ecs.g6.4xlarge");
const cpuQuantity = quantityKind("cpu");
const memoryQuantity = quantityKind("memory");
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
    name: dnsLabel.describe("Pool name, a DNS label: node names are `<stack>-<name>-<index>`."),
    count: count.describe("Number of workers; raise it to scale out, lower it with `npm run scale-in` (docs/runbooks/scale.md)."),
    instanceType: instanceType.describe("ECS instance type of the pool's nodes."),
    labels: z
      .record(z.string(), z.string())
      .optional()
      .describe(
        "Node labels the kubelet sets at registration (kubeadmRules.ts: only those NodeRestriction lets a kubelet set); an app's `pool` selects on them. Default none.",
      ),
    taints: z.array(taint).optional().describe("Taints on the pool's nodes; an app's `pool` tolerates exactly these. Default none."),
    systemDiskGb: integerKind(40, 2048).optional().describe("System disk, GB. Default 120."),
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
    vpcCidr: vpcCidr.describe("The VPC range, split evenly into one vswitch per zone; not in 100.64.0.0/10, the metadata address or other special ranges."),
    // Alibaba zone ids: region id plus a letter, cn-hangzhou-h or ap-southeast-1a (the region is checked in network/networkRules.ts).
    zones: z
      .array(z.string().regex(/^[a-z]{2}-[a-z0-9-]+?-?[a-z]$/, "must be a zone id such as cn-hangzhou-h"))
      .min(2, "must list at least two zones: the VPN gateway is dual-tunnel, its standby needs a vswitch in a second zone (disasterRecoveryVswitchId)")
      .describe("Zones of `alicloud:region`, at least two; appending is safe, changing one replaces its vswitch and what is in it."),
    podCidr: cidr.describe("The pod range (kube-controller-manager's `--cluster-cidr`), a /24 per node; fixed at `kubeadm init`."),
    serviceCidr: cidr.describe("The Service range (kube-apiserver's `--service-cluster-ip-range`), at most a /12; fixed at `kubeadm init`."),
    natBandwidthMbps: integerKind(1)
      .optional()
      .describe(
        "The NAT EIP's outbound bandwidth, Mbps. Default 200. The most it may be depends on natChargeType (EIP_BANDWIDTH_LIMITS, from the provider's eip_address doc).",
      ),
    natChargeType: z
      .enum(["PayByTraffic", "PayByBandwidth"])
      .optional()
      .describe("The NAT EIP's metering (pay-as-you-go): PayByTraffic (default, up to 200 Mbps) or PayByBandwidth (up to 500)."),
  })
  .strict()
  .superRefine((n, ctx) => {
    const chargeType = n.natChargeType ?? DEFAULT_NAT_CHARGE_TYPE;
    const limit = EIP_BANDWIDTH_LIMITS[chargeType];
    // Past int32 or not whole: the field's own line says so.
    if (n.natBandwidthMbps !== undefined && n.natBandwidthMbps > limit && Number.isInteger(n.natBandwidthMbps) && n.natBandwidthMbps <= INT32_MAX) {
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
    // A VPC range past its mask limit has its own line; what it overlaps would only repeat it.
    const vpcOk = vpcMaskOk(n.vpcCidr);
    for (let i = vpcOk ? 0 : 1; i < ranges.length; i++) {
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
      if (vpcOk && Number(vswitch.split("/")[1]) > 25) {
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
      })
      .describe(
        "Full Kubernetes version, 1.35.x-1.37.x (SUPPORTED_KUBERNETES_MINORS). A patch version in prod must also be in the policy pack's `kubernetesVersions`.",
      ),
    imageRepository: registryKind().optional().describe("Control-plane image mirror for kubeadm; default registry.k8s.io."),
    packageRepository: urlKind()
      .optional()
      .describe("apt repository of the Kubernetes packages, one per minor; default https://pkgs.k8s.io/core:/stable:/v<minor>/deb/."),
    containerdVersion: z
      .string()
      .regex(/^\d+\.\d+(\.\d+)?[.-]?$/, 'must be a version prefix such as "1.7." or "1.7.28"')
      .optional()
      .describe('containerd version prefix from the Ubuntu archive, pinned and held; default "1.7." (components/cluster/cloudInit.ts).'),
  })
  .strict();

const masters = z
  .object({
    count: kind(
      "integer",
      z
        .number()
        .refine(Number.isInteger, { message: "must be a whole number", abort: true })
        .min(1, { message: "must be at least 1", abort: true })
        .max(INT32_MAX, { message: `must be <= ${INT32_MAX} (the API's int32)`, abort: true })
        .int({ message: "must be a whole number" })
        .refine((c) => c % 2 === 1, { error: (i) => `must be odd for etcd quorum, got ${String(i.input)}` }),
    ).describe("Master count: odd, for etcd quorum (at least 3 in prod, policy `odd-masters`; at most 20 per zone)."),
    instanceType: instanceType.describe("ECS instance type of the masters."),
    systemDiskGb: integerKind(40, 2048).optional().describe("System disk, GB. Default 200."),
  })
  .strict();

const apiServerFront = z
  .object({
    instanceType: instanceType.optional().describe("HAProxy VM size. Default ecs.c6.large."),
    statsPage: z
      .boolean()
      .optional()
      .describe(
        "HAProxy's basic-auth stats page on port 9000 of each HAProxy VM, accepted only from the front's own vswitches (an HAProxy ACL and a security group rule per vswitch range; apiServerFront.ts); the password is made on the VM (`/etc/haproxy/stats-password`, root 0600) and never leaves it. Default false.",
      ),
  })
  .strict();

// RFC 1123: labels of at most 63 characters, at most 253 in all.
const hostname = kind(
  "host",
  z
    .string()
    .regex(/^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a DNS host name such as order.example.com (labels of at most 63 characters)")
    .max(253, "must be at most 253 characters (a DNS name)"),
);
/** An http(s) URL as the URL parser reads it: no userinfo, a port 1-65535 (kinds.ts). */
const url = urlKind();

// JVM flags that take the app's config or code from elsewhere: system properties outrank the env
// (Apollo ranks -D above APOLLO_META), and an agent runs code in the JVM (T5).
const FORBIDDEN_JVM_FLAG = /^(-Dapollo\.|-Denv=|-Didc=|-D(?:dev|fat|uat|pro|lpt)_meta=|-javaagent:|-agentlib:|-agentpath:|-Xbootclasspath)/;
const javaOpts = z.string().superRefine((v, ctx) => {
  const bad = v.split(/\s+/).filter((t) => FORBIDDEN_JVM_FLAG.test(t));
  if (bad.length > 0)
    ctx.addIssue({
      code: "custom",
      message: `must not set ${bad.map((t) => t.replace(/[=:].*$/, "")).join(", ")}: -Dapollo.*, -Denv, -Didc, -D<env>_meta override the platform's Apollo settings and -javaagent/-agentlib/-agentpath/-Xbootclasspath load code; set JVM tuning flags only`,
    });
});

const ingress = z
  .object({
    chartVersion: pinnedVersion.optional().describe("Pinned ingress-nginx chart version."),
    controllerReplicas: integerKind(1, 50).optional().describe("ingress-nginx controller replicas. Default 6 in prod, 2 elsewhere."),
    httpNodePort: nodePortKind().optional().describe("NodePort for HTTP. Default 30080."),
    httpsNodePort: nodePortKind().optional().describe("NodePort for HTTPS. Default 30443; must differ from httpNodePort."),
    slbSpec: z
      .custom<never>(() => false, {
        message:
          "is no longer a setting: Alibaba stopped selling new pay-by-specification CLBs on 2025-06-01 (doc-detail/127268), so the ingress SLB is pay-by-LCU (PayByCLCU), which has no spec and scales with load; delete the key",
      })
      .optional()
      .describe("Removed: both CLBs are pay-by-LCU, which has no spec (components/k8s/ingress.ts)."),
  })
  .strict();

const logging = z.discriminatedUnion("output", [
  z
    .object({
      output: z.literal("elasticsearch"),
      // A host kind checked by k8s/fluentBitRules.ts loggingProblems (its lines say what is wrong: scheme, port, newline).
      host: kind("host", z.string().min(1)).describe("Elasticsearch host, without scheme, port or newline."),
      port: tcpPort.optional().describe("Elasticsearch port. Default 9200."),
      index: z
        .string()
        .regex(/^[a-z0-9][a-z0-9_.-]*$/, "must be a lowercase Elasticsearch index name")
        .describe("Index prefix: fluent-bit writes daily `<index>-<date>` indices."),
      tls: z.boolean().optional().describe("TLS to the store, verified. Default false."),
      user: z
        .string()
        .min(1)
        .superRefine((v, ctx) => {
          const problem = basicAuthUserProblem(v);
          if (problem) ctx.addIssue({ code: "custom", message: problem });
        })
        .optional()
        .describe("Basic-auth user; its password is the secret `platform:loggingPassword`."),
    })
    .strict(),
  z
    .object({
      output: z.literal("kafka"),
      brokers: z.array(hostPortKind()).min(1, "must list at least one broker").describe("Kafka brokers as `host:port`, ports 1-65535."),
      topic: z
        .string()
        .regex(/^[A-Za-z0-9._-]+$/, "must be a Kafka topic name")
        .describe("Kafka topic."),
      tls: z.boolean().optional().describe("TLS to the brokers. Default false."),
      user: z.string().min(1).optional().describe("SASL user; its password is the secret `platform:loggingPassword`."),
    })
    .strict(),
]);

const monitoring = z
  .object({
    chartVersion: pinnedVersion.optional().describe("Pinned kube-prometheus-stack chart version. Default 87.12.5."),
    retention: prometheusDurationKind().optional().describe("Prometheus retention. Default 15d."),
    storageSize: memoryQuantity.optional().describe("Prometheus's volume size, e.g. 100Gi; also caps the TSDB at 85% of it. Default unset (no cap)."),
    storageClass: dnsLabel.optional().describe("StorageClass for Prometheus; omit to use an emptyDir (data lost on reschedule)."),
    grafanaUrl: url.optional().describe("Grafana's URL as people open it, for the SLO alerts' dashboard links; omit for relative /d/<uid> links."),
    thresholds: z
      .object({
        ingress5xxRatio: ratioKind(z.number().gt(0, "must be above 0").lt(1, "must be below 1")).optional(),
        ingress4xxRatio: ratioKind(z.number().gt(0, "must be above 0").lt(1, "must be below 1")).optional(),
        restartsIn15m: int32(1).optional(),
      })
      .strict()
      .optional()
      .describe("Alert thresholds; defaults ingress5xxRatio 0.05, ingress4xxRatio 0.2, restartsIn15m 3 (k8s/alertRules.ts DEFAULT_THRESHOLDS)."),
  })
  .strict();

const resources = z
  .object({
    cpu: cpuQuantity.describe("CPU request: what the scheduler reserves and what HPA's cpuPercent is relative to."),
    memory: memoryQuantity.describe("Memory request."),
    cpuLimit: cpuQuantity
      .optional()
      .describe(
        "CPU limit, normally unset. Note: a CPU limit throttles the JVM's GC and JIT threads under load, so latency degrades long before the node is busy.",
      ),
    memoryLimit: memoryQuantity
      .optional()
      .describe("Memory limit; defaults to the memory request, so a leaking JVM is OOM-killed alone instead of pressuring the node."),
  })
  .strict();

const app = z
  .object({
    image: imageKind().describe("Image repository without tag, in the company's Harbor."),
    tag: imageTagKind().describe("Image tag; rolling back = setting the previous tag. Also the `app.kubernetes.io/version` label, so at most 63 characters."),
    history: z
      .array(imageTagKind())
      .max(5, "keeps at most 5 previous tags")
      .optional()
      .describe("Previous tags, newest first (kept by `npm run release`, used by `npm run rollback`)."),
    replicas: int32(1).describe(
      "Replica count. With `autoscale`, the count `pulumi up` resets to when the Deployment changes (javaAppObjects.ts deployment()).",
    ),
    port: tcpPort.describe("The port the JVM listens on."),
    healthPath: z
      .string()
      .regex(/^\/[^\s]*$/, "must be an HTTP path such as /actuator/health")
      .describe("HTTP path of the health endpoint (readiness, liveness and startup probes)."),
    host: hostname.optional().describe("Public host name; default none, and an Ingress (class nginx) is created only when set."),
    namespace: dnsLabel.optional().describe("Namespace the app runs in; apps may share one (e.g. `commerce`). Default: a namespace named after the app."),
    pool: dnsLabel
      .optional()
      .describe(
        "Node pool (`platform:nodePools[].name`) the app runs on: nodeSelector on the pool's labels, tolerations for its taints. Default none (any untainted node).",
      ),
    javaOpts: javaOpts
      .optional()
      .describe(
        "JVM flags, e.g. `-Xms4g -Xmx4g`; default none (no JAVA_OPTS). -Xmx must leave headroom under the memory limit. -Dapollo.*, -Denv, -Didc, -D<env>_meta and agents (-javaagent, -agentlib, -agentpath, -Xbootclasspath) are refused (T5).",
      ),
    resources: resources.optional().describe("Container resources; default apps/javaAppRules.ts DEFAULT_RESOURCES (500m CPU, 1Gi)."),
    logFiles: z
      .array(z.string().regex(/^\/[^\s]+$/, "must be an absolute file path"))
      .optional()
      .describe("Log files a legacy app writes; each gets a sidecar that tails it to stdout for fluent-bit. Default none."),
    // Structure only: the canary and autoscale rules (one of weight or header,
    // ranges, replicas within min..max) live once, in apps/javaAppRules.ts.
    canary: z
      .object({
        tag: imageTagKind().describe("The candidate's image tag (a different build from the stable tag)."),
        weight: kind("integer", z.number()).optional().describe("Percent of requests routed to the canary (1-99); exclusive with `header`."),
        header: z.string().optional().describe("Requests carrying this header with value `always` reach the canary; exclusive with `weight`."),
      })
      .strict()
      .optional()
      .describe("A canary release through ingress-nginx's canary annotations; none unless configured."),
    autoscale: z
      .object({
        min: int32(1).describe("Floor: what the app needs on a quiet promo day."),
        max: int32(1).describe("Ceiling: bounded by the order pool's capacity and the database's connection budget."),
        cpuPercent: int32(1).describe("Target average CPU utilization, percent of the CPU request."),
      })
      .strict()
      .optional()
      .describe("CPU-based HorizontalPodAutoscaler; none unless configured (the Deployment then keeps `replicas`)."),
    tracing: z
      .boolean()
      .optional()
      .describe("SkyWalking agent in the pods (docs/tracing.md); default true when the stack has `platform:tracing`. false: no agent, no init container."),
    slo: z
      .object({
        availability: ratioKind(z.number().gt(0.9, "must be above 0.9, e.g. 0.999").lt(1, "must be below 1 (100% leaves no error budget)")).optional(),
        latencyP99Ms: kind(
          "integer",
          z
            .number()
            .refine((v) => LATENCY_BUCKETS_MS.includes(v), `must be a bucket bound of ingress-nginx's latency histogram (${LATENCY_BUCKETS_MS.join(", ")})`),
        ).optional(),
      })
      .strict()
      .optional()
      .describe("SLO at the ingress; defaults in apps/sloRules.ts DEFAULT_SLO (0.999, 500 ms)."),
  })
  .strict();

const apps = z.record(dnsLabel, app);

/** The largest agent.sample_n_per_3_secs: a Java int (skywalking-java v9.3.0 agent.config; the agent parses it as an int). */
export const MAX_SAMPLE_N_PER_3_SECS = 2147483647;

/** The least OAP memory (`platform:tracing.oapResources.memory`): the heap is derived as half of it, at least 1g (k8s/tracing.ts tracingSettings), so 1Gi would give the heap the whole limit and no room off-heap. */
export const MIN_OAP_MEMORY_GI = 2;

/** Distributed tracing (components/k8s/tracing.ts, docs/tracing.md): SkyWalking OAP + UI per cluster, the agent in every JavaApp. */
const tracing = z
  .object({
    storage: z
      .enum(["elasticsearch"], "must be elasticsearch (the only storage this platform runs OAP on; docs/tracing.md)")
      .optional()
      .describe(
        "Where OAP stores traces: `elasticsearch` (the only one: chart 4.7.0's BanyanDB path waits with an unpinned `curlimages/curl` image that cannot go through the mirror). Default elasticsearch.",
      ),
    elasticsearch: z
      .object({
        host: hostKind().describe("Elasticsearch host, without scheme or port."),
        port: tcpPort.optional(),
        tls: z.boolean().optional(),
        /** OAP's user on this store; its password is the secret `platform:tracingElasticsearchPassword`. Default none (no authentication). */
        user: z
          .string()
          .regex(/^[A-Za-z0-9._@-]+$/, "must be an Elasticsearch user name (letters, digits, . _ @ -)")
          .optional(),
      })
      .strict()
      .optional()
      .describe("The Elasticsearch OAP writes to; default `platform:logging`'s (output elasticsearch), required behind Kafka."),
    oapReplicas: integerKind(1, 10)
      .optional()
      .describe("OAP replicas (at least 2 in production: one OAP restart must not drop every agent's stream). Default 2."),
    oapResources: z
      .object({
        cpu: cpuQuantity,
        memory: kind(
          "quantity",
          z.string().superRefine((m, ctx) => {
            const problem = !/^\d+Gi$/.test(m)
              ? "must be whole Gi, such as 4Gi"
              : (quantityProblem(m, "memory") ??
                (Number(m.slice(0, -2)) < MIN_OAP_MEMORY_GI
                  ? `must be at least ${MIN_OAP_MEMORY_GI}Gi (OAP's heap is half of it, at least 1g, and its gRPC and ES buffers live off-heap)`
                  : undefined));
            if (problem) ctx.addIssue({ code: "custom", message: problem });
          }),
        ),
      })
      .strict()
      .optional()
      .describe(
        `OAP's CPU and memory request (memory is also its limit, at least ${MIN_OAP_MEMORY_GI}Gi). Default 1 CPU, 4Gi; the heap is set to half the memory.`,
      ),
    uiReplicas: integerKind(1, 5).optional().describe("UI replicas. Default 1."),
    sampleNPer3Secs: kind(
      "integer",
      z
        .number()
        .refine(Number.isInteger, { message: "must be a whole number", abort: true })
        .min(1, "must be >= 1 (traces per 3 seconds per instance; leave it out to keep every trace)")
        .max(MAX_SAMPLE_N_PER_3_SECS, { message: `must be <= ${MAX_SAMPLE_N_PER_3_SECS} (the agent reads a Java int)`, abort: true })
        .int({ message: "must be a whole number" }),
    )
      .optional()
      .describe(
        'Traces each app instance samples per 3 seconds (agent.sample_n_per_3_secs, env SW_AGENT_SAMPLE). The agent treats zero and negatives as "no sampling, keep all"; here leave it out for that. 1..2147483647.',
      ),
    ui: z
      .object({
        host: hostname,
        authUrl: url.describe("ingress-nginx auth-url: the SSO's check endpoint (2xx lets the request in)."),
        authSignin: url.describe("ingress-nginx auth-signin: where a person without a session is sent to sign in."),
        groups: z
          .array(z.string().regex(/^[A-Za-z0-9._@:/-]+$/, "must be an SSO group name (letters, digits, . _ @ : / -)"))
          .min(1, "must name at least one SSO group (the UI shows every namespace's traces of the cluster)")
          .describe(
            "SSO groups allowed into the UI, sent as oauth2-proxy's `allowed_groups` on the auth-url. The UI shows every namespace's traces, so list only groups that may read all of them.",
          ),
      })
      .strict()
      .optional()
      .describe(
        "The UI behind the cluster's ingress, each request checked by the company SSO (ingress-nginx external auth). Default: no Ingress (port-forward).",
      ),
  })
  .strict();

// One meta server, exactly: Apollo's client load-balances over a comma list (apolloconfig/apollo
// java-sdk-user-guide, MetaServerProvider), and a path, query or fragment is no part of its origin (T5).
const apolloMetaUrl = url.superRefine((v, ctx) => {
  if (v.includes(","))
    ctx.addIssue({ code: "custom", message: "must be one meta server: Apollo's client reads a comma list as several, any of which it would use" });
  else if (!httpUrlProblem(v) && (new URL(v).pathname !== "/" || /[?#]/.test(v)))
    ctx.addIssue({ code: "custom", message: "must be the meta server's origin only (scheme, host, port): no path, query or fragment" });
});
const apollo = z
  .object({ meta: apolloMetaUrl.describe("The env's Apollo meta server: one origin (http://host:port), no comma, path, query or fragment.") })
  .strict();
const harbor = z
  .object({
    registry: registryKind(false).describe("Registry host every app image must be in."),
    username: z.string().min(1).describe("Harbor robot account; its password is the secret `platform:harborPassword`."),
  })
  .strict();

const datacenter = z
  .object({
    publicIp: publicIpKind().describe("Public IP of the data centre's IPsec gateway."),
    subnets: z
      .array(privateCidr)
      .min(1, "must list at least one subnet")
      .describe(
        "On-prem ranges reached over the link. Private (RFC 1918) only: they are routed over IPsec and admitted to the api-server's 6443, so a public range here would open the api-server to that part of the internet.",
      ),
  })
  .strict();

/** Where the platform's images come from: `<registry>/<upstream host>/<path>` (components/k8s/images.ts). */
const images = z
  .object({
    registry: registryKind().describe("The mirror, a registry host with an optional path."),
  })
  .strict();

/** The Alibaba Cloud disk CSI driver and the `essd` StorageClass (components/k8s/diskCsi.ts). */
const diskCsi = z.object({ enabled: z.boolean() }).strict();

const kubesphere = z
  .object({
    enabled: z.boolean().describe("On or off."),
    version: pinnedVersion
      .optional()
      .describe("ks-core chart version, host only (members get theirs from the host's cluster controller; a member setting it is an error). Default 1.1.4."),
    members: z
      .array(z.string().regex(/^([A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/, "must be a stack name such as acme/platform/prod1"))
      .optional()
      .describe("Host only: the member stacks it registers (pulls each one's credential through a StackReference); fleet/kubesphereMembers.ts."),
  })
  .strict();

/** The masters' etcd snapshots (components/cluster/etcdBackup.ts); defaults every hour, 7 days, 5 local copies. */
const etcdBackup = z
  .object({
    schedule: durationKind((v) => {
      try {
        parseBackupSchedule(v, "schedule");
        return undefined;
      } catch (e) {
        return (e as Error).message.replace(/^schedule: /, "");
      }
    })
      .optional()
      .describe("How often: 15m, 20m, 30m, or 1h..24h dividing a day. Default 1h."),
    retentionDays: integerKind(1, 365).optional().describe("Days a snapshot is kept in the bucket (and an overwritten one as an old version). Default 7."),
    localCopies: integerKind(1, 48).optional().describe("Snapshots kept on each master in /var/backups/etcd. Default 5."),
    bucket: z
      .string()
      .regex(/^[a-z0-9][-a-z0-9]{1,61}[a-z0-9]$/, "must be an OSS bucket name (3-63 lowercase letters, digits, hyphens)")
      .optional()
      .describe("OSS bucket name; default livemall-<stack>-etcd-backup (bucket names are global)."),
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
      .optional()
      .describe("The KMS instance (`kst-...`) the masters' PKI secret is created in. Required."),
    kmsKeyId: z
      .string()
      .regex(/^key-[A-Za-z0-9]+$/, "must be a KMS key id (key-...)")
      .optional()
      .describe("The symmetric key in that instance (`key-...`) that encrypts it. Required."),
    forceDelete: z
      .boolean()
      .optional()
      .describe(
        'Delete the secret without KMS\'s 30-day recovery window (secretStore.ts). Default false in prod, true elsewhere. Set it (and `pulumi up`) before moving a prod stack to another instance or key: the provider reads it from state when it deletes (docs/runbooks/first-bring-up.md, "Moving a prod secret store").',
      ),
    endpoint: urlKind(["https:"])
      .optional()
      .describe(
        "Default https://kms-vpc.<region>.aliyuncs.com (the VPC endpoint: no NAT traffic). Its host is on every master as the `platform:kms-endpoint` tag, which `credential-endpoints` checks against the pack config (T1): the endpoint a new master gets. The masters' user data is `ignoreChanges`, so moving the endpoint updates the tag on running masters at once while they keep the old endpoint until each is replaced.",
      ),
  })
  .strict()
  .superRefine((v, ctx) => {
    // One problem naming both keys, also when the whole key is absent (prefault below).
    if (v.kmsInstanceId === undefined || v.kmsKeyId === undefined) {
      ctx.addIssue({ code: "custom", path: [], message: SECRET_STORE_REQUIRED });
    }
  })
  .transform((v) => v as { kmsInstanceId: string; kmsKeyId: string; forceDelete?: boolean; endpoint?: string });

/** The problem a stack without its KMS instance and key gets (docs/runbooks/first-bring-up.md, "Set-up prerequisites"). */
export const SECRET_STORE_REQUIRED =
  "kmsInstanceId and kmsKeyId are required: the masters' PKI secret is created in that KMS instance (kst-...) and encrypted with that symmetric key in it (key-...); KMS creates no secret outside an instance. Set platform:secretStore.kmsInstanceId and platform:secretStore.kmsKeyId (docs/runbooks/first-bring-up.md, set-up prerequisites)";

export type NodePoolConfig = z.infer<typeof nodePool>;
export type NetworkConfig = z.infer<typeof network>;

/** The schema of every `platform:*` key, in reference order; `.optional()` marks the keys a stack may leave out. */
export const KEYS = {
  env: z.enum(STACKS).describe("The stack's own name (a `Pulumi.<stack>.yaml` exists for it); the program stops when it differs from the stack."),
  tier: z
    .enum(TIERS)
    .optional()
    .describe("What the stack is (policies/fleet.ts): host, dev, test, pre or prod; default the stack's name when that is a tier, required otherwise."),
  network: network.describe(
    "The cluster's address plan. The three ranges must not overlap; the VPC is split evenly into one vswitch per zone (each at least a /25); at least two zones (the dual-tunnel VPN gateway's standby sits in the second). The NAT EIP is pay-as-you-go. `podCidr` and `serviceCidr` are fixed at `kubeadm init`: a change needs a new cluster (docs/runbooks/scale.md, \"Changing the pod or service range\"). Linked clusters must not share ranges (`npm run check:fleet`).",
  ),
  kubernetes: kubernetes.describe(
    "Kubernetes on the nodes: a supported release (1.35.x-1.37.x) on containerd, with mirrors for China regions. Node user data runs at first boot only, so a new version reaches new nodes only: upgrade running ones with `npm run upgrade-plan` (docs/runbooks/upgrade.md).",
  ),
  masters: masters.describe("The control-plane VMs: an odd count (etcd quorum), on fixed addresses. System disk default 200 GB."),
  nodePools: z
    .array(nodePool)
    .superRefine((pools, ctx) => {
      const seen = new Set<string>();
      pools.forEach((p, i) => {
        if (seen.has(p.name)) ctx.addIssue({ code: "custom", path: [i, "name"], message: `duplicate pool name "${p.name}"` });
        if (p.name === "master" || p.name === "haproxy") {
          ctx.addIssue({ code: "custom", path: [i, "name"], message: `"${p.name}" is reserved` });
        }
        seen.add(p.name);
      });
    })
    .describe(
      "Worker pools: names DNS-safe, unique, not `master` or `haproxy`; counts >= 0; system disk default 120 GB. Node names are `<stack>-<pool>-<index>`. Scale with the count (docs/runbooks/scale.md). At most 1200 workers and 50 pools per stack (cluster/clusterRules.ts).",
    ),
  osImageId: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, "must be an ECS image id, pinned so nodes are not replaced when a newer image appears")
    .describe("The pinned ECS image of every node; changing it affects new nodes only (`imageId` is `ignoreChanges` on running ones)."),
  apiServerFront: apiServerFront.optional().describe("The two HAProxy VMs behind the api-server's internal SLB (cluster/apiServerFront.ts)."),
  ingress: ingress
    .optional()
    .describe(
      "The one global ingress-nginx and its intranet SLB (k8s/ingress.ts). Chart default 4.15.1 (the newest ingress-nginx, tested on 1.35; nothing upstream is tested on 1.36/1.37); NodePorts default 30080/30443 and must differ; controller replicas default 6 in prod, 2 elsewhere.",
    ),
  logging: logging.describe(
    "Where fluent-bit ships every container's logs: Elasticsearch or Kafka (k8s/logging.ts). Hosts without scheme, port or newline; with `user`, set the secret `platform:loggingPassword`.",
  ),
  monitoring: monitoring
    .optional()
    .describe(
      "kube-prometheus-stack and the DingTalk bridge (k8s/monitoring.ts). Chart default 87.12.5, retention default 15d; without `storageClass` Prometheus uses an emptyDir; `storageClass: essd` needs `platform:diskCsi` and a `storageSize` of 20Gi or more; the TSDB is capped at 85% of `storageSize`.",
    ),
  apps: apps
    .optional()
    .describe(
      "The Java apps, by name; not on the host. Tags follow the env's rule (policies/imageTags.ts): `latest` nowhere; dev and test take CI builds `YYYYMMDD-<build>`; pre and prod take release tags `v2.3.1` or `<app>-v2.3.1`; `-rc.N` only in pre. A pool with a NoSchedule/NoExecute taint and count > 0 that no app names is an error. Release, promote and roll back with the npm scripts (docs/runbooks/release-and-rollback.md); add one with docs/runbooks/add-an-app.md.",
    ),
  // SkyWalking tracing (components/k8s/tracing.ts); members with apps.
  tracing: tracing
    .optional()
    .describe(
      "SkyWalking OAP + UI in this cluster and the agent in every app (members with apps; docs/tracing.md). Storage is Elasticsearch only, default `platform:logging`'s store (name one behind Kafka).",
    ),
  apollo: apollo.optional().describe("Required with apps: the env's Apollo config service."),
  harbor: harbor.optional().describe("Required with apps: every app image must be in this registry; its password is the secret `platform:harborPassword`."),
  hostStack: z
    .string()
    .regex(/^([A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/, "must be a stack name such as acme/platform/host")
    .optional()
    .describe(
      "Members only: the host stack, `org/platform/host`. The member reads the host's region and ranges from its stack file in this repository, never its state.",
    ),
  datacenter: datacenter
    .optional()
    .describe("Adds the IPsec link to the data centre; its strongSwan side is rendered by `npm run preview -- <stack> --out DIR` into `DIR/ipsec/`."),
  kubesphere: kubesphere
    .optional()
    .describe(
      "KubeSphere. Each member the host's `members` lists must have a stack file here whose `hostStack` names this host and `kubesphere.enabled: true`, listed once, not the host itself; a member with KubeSphere on that its host does not list is an error in the member's config (nothing would register it). See docs/runbooks/add-a-cluster.md.",
    ),
  etcdBackup: etcdBackup
    .optional()
    .describe(
      "The masters' etcd snapshots (cluster/etcdBackup.ts): every hour, 7 days, 5 local copies by default. Restore: docs/runbooks/certificates-and-backups.md.",
    ),
  // Required; an absent key is parsed as {} so its problem names both ids.
  secretStore: secretStore
    .prefault({})
    .describe(
      'Required: the KMS instance (`kst-...`) and the symmetric key in it (`key-...`) that hold the masters\' PKI secret (docs/runbooks/first-bring-up.md, "Set-up prerequisites").',
    ),
  images: images
    .optional()
    .describe(
      "Every image the platform runs (flannel, charts, metrics-server, CSI driver, DingTalk bridge, log-tail busybox) is pulled as `<registry>/<upstream host>/<path>`, e.g. `mirror.livemall.internal/quay.io/prometheus/prometheus`; unset: upstream registries. Every stack sets it.",
    ),
  diskCsi: diskCsi
    .optional()
    .describe(
      "The Alibaba Cloud disk CSI driver and the `essd` StorageClass (ESSD, WaitForFirstConsumer, Retain), with the driver's RAM actions on the workers' instance role (k8s/diskCsi.ts). On in prod1/prod2.",
    ),
  // The KubeSphere console as code (fleet/consoleSchema.ts): host workspaces and console, member projects.
  workspaces: workspacesSchema
    .optional()
    .describe(
      'Host only: one workspace per business line; placed on every member of `platform:kubesphere.members`, or only on the member stacks its `clusters` lists; the people are user names as the identity provider maps them (docs/design.md, "Who may do what where").',
    ),
  console: consoleSchema
    .optional()
    .describe(
      "Host only: the KubeSphere console. Its identity provider's secret is `platform:identityProviderSecret`; `extensions` are InstallPlans (`clusters`: stack names, `host` for the host).",
    ),
  projects: projectsSchema
    .optional()
    .describe(
      "Members with apps, when the host declares workspaces: every app namespace names a workspace of the host's `platform:workspaces` placed on this cluster (checked against `Pulumi.host.yaml` before any resource); a namespace no app uses is an error.",
    ),
  // Where developers search logs: the company's Kibana, access per workspace (fleet/logSearch.ts); members.
  logSearch: logSearchSchema
    .optional()
    .describe(
      'Members: where developers search this cluster\'s logs, the company Kibana (8.x) and the Elasticsearch behind it (both https: the sync sends an admin API key). Needs `platform:projects`; its secret is `platform:logSearchApiKey` (docs/runbooks/first-bring-up.md lists its privileges; docs/design.md, "Who may do what where").',
    ),
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
