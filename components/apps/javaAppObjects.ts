// A stateless Java app as plain Kubernetes objects: Deployment, Service,
// PodDisruptionBudget, optional HorizontalPodAutoscaler and Ingress, and an
// optional canary (second Deployment + Service + canary Ingress). Pure: the
// JavaApp component turns them into resources, the tests check them against the
// Kubernetes schema.
//
// The image is the same in every environment: only the env-injected settings
// differ (APP_ID, ENV, APOLLO_META, IDC, JAVA_OPTS); the app pulls everything
// else from Apollo at start.

/** A plain Kubernetes object, ready for YAML or a typed k8s resource. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}

/** Requests and limits of the app container. */
export interface AppResources {
  /** CPU request: what the scheduler reserves and what HPA's cpuPercent is relative to. */
  cpu: string;
  /** Memory request. */
  memory: string;
  /**
   * CPU limit, normally unset. Note: a CPU limit throttles the JVM's GC and JIT
   * threads under load, so latency degrades long before the node is busy.
   */
  cpuLimit?: string;
  /** Memory limit; defaults to the memory request, so a leaking JVM is OOM-killed alone instead of pressuring the node. */
  memoryLimit?: string;
}

/** A canary release through ingress-nginx's canary annotations. */
export interface CanarySettings {
  /** The candidate's image tag (a different build from the stable tag). */
  tag: string;
  /** Percent of requests routed to the canary (1-99); exclusive with `header`. */
  weight?: number;
  /** Requests carrying this header with value `always` reach the canary; exclusive with `weight`. */
  header?: string;
}

/** CPU-based horizontal autoscaling. */
export interface AutoscaleSettings {
  /** Floor: what the app needs on a quiet promo day. */
  min: number;
  /** Ceiling: bounded by the order pool's capacity and the database's connection budget. */
  max: number;
  /** Target average CPU utilization, percent of the CPU request. */
  cpuPercent: number;
}

/** Everything one app's objects are rendered from (the app's config plus the env's). */
export interface JavaAppSettings {
  /** The app's name: Deployment/Service/Ingress name and Apollo's APP_ID (Apollo keys config by it). */
  name: string;
  /** Namespace the app runs in; apps share namespaces (e.g. `commerce`). */
  namespace: string;
  /** Image repository without tag, in the company's Harbor. */
  image: string;
  /** Image tag; rolling back = setting the previous tag. Also the `app.kubernetes.io/version` label, so at most 63 characters. */
  tag: string;
  /** Replica count. With `autoscale`, the count `pulumi up` resets to when the Deployment changes (see deployment()). */
  replicas: number;
  /** The port the JVM listens on. */
  port: number;
  /** HTTP path of the health endpoint (readiness, liveness and startup probes). */
  healthPath: string;
  /** Public host name; an Ingress (class nginx) is created only when set. */
  host?: string;
  /** JVM flags, e.g. `-Xms4g -Xmx4g`; -Xmx must leave headroom under the memory limit. */
  javaOpts?: string;
  /** Container resources; defaults to DEFAULT_RESOURCES. */
  resources?: AppResources;
  /** Log files a legacy app writes; each gets a sidecar that tails it to stdout for fluent-bit. */
  logFiles?: string[];
  /** Canary release, only when configured. */
  canary?: CanarySettings;
  /** HorizontalPodAutoscaler, only when configured. */
  autoscale?: AutoscaleSettings;
  /** The stack (dev, test, pre, prod1, prod2): the `platform/env` label. */
  env: string;
  /** Apollo's environment name for the stack: DEV, FAT, UAT or PRO (the ENV variable). */
  apolloEnv: string;
  /** The env's Apollo meta server URL (APOLLO_META). */
  apolloMeta: string;
  /** Data-centre / cluster name (IDC): prod1 and prod2 share ENV=PRO, IDC tells Apollo which cluster's overrides to serve. */
  idc: string;
  /** Name of the kubernetes.io/dockerconfigjson Secret in the namespace, for pulls from Harbor. */
  imagePullSecret: string;
  /** The Secret holding the app's Apollo access key, when the app has one; read through secretKeyRef, never a plain value. */
  apolloAccessKey?: { secretName: string; key: string };
  /** IngressClass the Ingresses name; default `nginx` (the cluster's global ingress-nginx). */
  ingressClass?: string;
  /** Pinned image of the log-tail sidecars; default LOG_TAIL_IMAGE. */
  logTailImage?: string;
}

/** Pinned busybox for the log-tail sidecars: a tag, never `latest`, so every node runs the same tail. */
export const LOG_TAIL_IMAGE = "busybox:1.36.1";
export const DEFAULT_RESOURCES: AppResources = { cpu: "500m", memory: "1Gi" };
export const DEFAULT_INGRESS_CLASS = "nginx";
/** ReplicaSets kept for rollback: the last 5 releases (the stack file keeps the same 5 previous tags). */
export const REVISION_HISTORY_LIMIT = 5;
/**
 * Seconds the pod keeps serving after it is marked terminating: endpoint removal
 * reaches every ingress-nginx replica asynchronously, and requests still routed
 * to the pod in that window would fail if the JVM stopped at once.
 */
export const PRESTOP_DRAIN_SECONDS = 15;
/** The drain, then Spring's graceful shutdown (in-flight orders finish), with margin. */
export const TERMINATION_GRACE_SECONDS = 60;
/** Startup probe budget: 30 x 5 s = 150 s for a cold JVM to fetch Apollo config and warm up before liveness may kill it. */
export const STARTUP_FAILURE_THRESHOLD = 30;
export const STARTUP_PERIOD_SECONDS = 5;

export const LABEL_NAME = "app.kubernetes.io/name";
export const LABEL_VERSION = "app.kubernetes.io/version";
export const LABEL_ENV = "platform/env";
/** stable or canary: lets each Service/PDB select one track while both run side by side. */
export const LABEL_TRACK = "platform/track";
export type Track = "stable" | "canary";

/** Namespaces an app may not use: the platform's own. */
export const RESERVED_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease", "kube-flannel", "ingress-nginx", "logging", "monitoring"];

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function key(s: { name: string }, field: string): string {
  return `platform:apps.${s.name}.${field}`;
}

// ------------------------------------------------------------------ quantities

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A Kubernetes quantity (`6Gi`, `500m`, `4`, `1.5G`) as a number (bytes or cores); undefined when malformed. */
export function parseQuantity(q: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/.exec(String(q).trim());
  if (!m) return undefined;
  const unit = m[2] ?? "";
  return Number(m[1]) * (BINARY[unit] ?? DECIMAL[unit]);
}

/** The JVM's maximum heap from `-Xmx` (last one wins, as in the JVM), in bytes; undefined when not set. */
export function maxHeapBytes(javaOpts: string | undefined): number | undefined {
  let found: number | undefined;
  for (const m of (javaOpts ?? "").matchAll(/(?:^|\s)-Xmx(\d+)([kKmMgGtT]?)(?=\s|$)/g)) {
    const unit = m[2].toLowerCase();
    const mult = unit === "k" ? 2 ** 10 : unit === "m" ? 2 ** 20 : unit === "g" ? 2 ** 30 : unit === "t" ? 2 ** 40 : 1;
    found = Number(m[1]) * mult;
  }
  return found;
}

/**
 * JVM memory outside the heap (metaspace, code cache, thread stacks, direct
 * buffers, GC structures): at least 512 MiB or a quarter of the heap. A heap
 * that does not leave this under the limit gets the pod OOM-killed under load.
 */
export function nonHeapHeadroom(heapBytes: number): number {
  return Math.max(512 * 2 ** 20, heapBytes / 4);
}

// ------------------------------------------------------------------ validation

/** Throws on the first setting that cannot render, naming its config key. */
export function validateJavaApp(s: JavaAppSettings): void {
  if (!DNS_LABEL.test(s.name)) throw new Error(`platform:apps.${s.name}: the app name must be a DNS label (lowercase, digits, '-', at most 32 characters)`);
  if (!DNS_LABEL.test(s.namespace)) throw new Error(`${key(s, "namespace")}: "${s.namespace}" must be a DNS label`);
  if (RESERVED_NAMESPACES.includes(s.namespace)) {
    throw new Error(`${key(s, "namespace")}: "${s.namespace}" belongs to the platform; put apps in their own namespace such as commerce`);
  }
  if (!s.image || /[:@\s]/.test(s.image.slice(s.image.lastIndexOf("/") + 1))) {
    throw new Error(`${key(s, "image")}: must be a repository without tag or digest, got "${s.image}" (the tag goes in ${key(s, "tag")})`);
  }
  const tags: [string, string][] = [["tag", s.tag]];
  if (s.canary) tags.push(["canary.tag", s.canary.tag]);
  for (const [field, tag] of tags) {
    if (!tag || tag.toLowerCase() === "latest") throw new Error(`${key(s, field)}: tag "${tag}" is refused; pin a build so a rollback can name it`);
    // The tag is also the app.kubernetes.io/version label value.
    if (tag.length > 63 || !LABEL_VALUE.test(tag)) throw new Error(`${key(s, field)}: tag "${tag}" must fit a label value (at most 63 letters, digits, '-', '_', '.')`);
  }
  if (!Number.isInteger(s.replicas) || s.replicas < 1) throw new Error(`${key(s, "replicas")}: must be a whole number >= 1, got ${s.replicas}`);
  if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) throw new Error(`${key(s, "port")}: must be a TCP port, got ${s.port}`);
  if (!/^\/\S*$/.test(s.healthPath)) throw new Error(`${key(s, "healthPath")}: must be an HTTP path such as /actuator/health, got "${s.healthPath}"`);

  const r = s.resources ?? DEFAULT_RESOURCES;
  const quantities: [string, string | undefined][] = [["cpu", r.cpu], ["memory", r.memory], ["cpuLimit", r.cpuLimit], ["memoryLimit", r.memoryLimit]];
  for (const [field, q] of quantities) {
    if (q !== undefined && parseQuantity(q) === undefined) throw new Error(`${key(s, `resources.${field}`)}: "${q}" is not a Kubernetes quantity`);
  }
  // The api-server refuses a limit below its request, but only at apply time, halfway through a rollout.
  if (r.cpuLimit !== undefined && parseQuantity(r.cpuLimit)! < parseQuantity(r.cpu)!) {
    throw new Error(`${key(s, "resources.cpuLimit")}: ${r.cpuLimit} is below the request ${r.cpu}`);
  }
  const memoryLimit = r.memoryLimit ?? r.memory;
  if (parseQuantity(memoryLimit)! < parseQuantity(r.memory)!) {
    throw new Error(`${key(s, "resources.memoryLimit")}: ${memoryLimit} is below the request ${r.memory}`);
  }
  const heap = maxHeapBytes(s.javaOpts);
  if (heap !== undefined && heap + nonHeapHeadroom(heap) > parseQuantity(memoryLimit)!) {
    throw new Error(
      `${key(s, "javaOpts")}: -Xmx ${formatMi(heap)} leaves no room for the JVM's non-heap memory under the memory limit ${memoryLimit} ` +
        `(needs ${formatMi(heap + nonHeapHeadroom(heap))}); raise ${key(s, "resources.memoryLimit")} or lower -Xmx, or the pod is OOM-killed under load`,
    );
  }

  const files = s.logFiles ?? [];
  files.forEach((f, i) => {
    if (!/^\/(?:[^/\s]+\/)*[^/\s]+$/.test(f) || f.split("/").includes("..")) {
      throw new Error(`${key(s, `logFiles[${i}]`)}: must be an absolute file path without '..', got "${f}"`);
    }
    if (logDir(f) === "/") throw new Error(`${key(s, `logFiles[${i}]`)}: ${f} is in /, and the log volume would hide the whole root filesystem`);
  });
  if (new Set(files).size !== files.length) throw new Error(`${key(s, "logFiles")}: lists a file twice`);

  if (s.canary) {
    const c = s.canary;
    if ((c.weight === undefined) === (c.header === undefined)) throw new Error(`${key(s, "canary")}: set exactly one of weight or header`);
    if (c.weight !== undefined && (!Number.isInteger(c.weight) || c.weight < 1 || c.weight > 99)) {
      throw new Error(`${key(s, "canary.weight")}: must be a whole percent 1-99, got ${c.weight}`);
    }
    if (c.header !== undefined && !/^[A-Za-z0-9-]+$/.test(c.header)) throw new Error(`${key(s, "canary.header")}: "${c.header}" is not an HTTP header name`);
    if (c.tag === s.tag) throw new Error(`${key(s, "canary.tag")}: equals the stable tag ${s.tag}; a canary must run a different build`);
    if (!s.host) throw new Error(`${key(s, "canary")}: needs ${key(s, "host")} (the canary is an Ingress rule)`);
  }
  if (s.autoscale) {
    const a = s.autoscale;
    if (!Number.isInteger(a.min) || a.min < 1) throw new Error(`${key(s, "autoscale.min")}: must be a whole number >= 1`);
    if (!Number.isInteger(a.max) || a.max < a.min) throw new Error(`${key(s, "autoscale.max")}: must be >= min (${a.min})`);
    if (!Number.isInteger(a.cpuPercent) || a.cpuPercent < 10 || a.cpuPercent > 100) throw new Error(`${key(s, "autoscale.cpuPercent")}: must be 10-100`);
    if (s.replicas < a.min || s.replicas > a.max) throw new Error(`${key(s, "replicas")}: ${s.replicas} is outside autoscale ${a.min}-${a.max}`);
  }
  if (!/^https?:\/\/\S+$/.test(s.apolloMeta)) throw new Error(`platform:apollo.meta: must be an http(s) URL, got "${s.apolloMeta}"`);
  if (!s.apolloEnv) throw new Error(`platform:env: ${s.env} has no Apollo environment (the host runs no apps)`);
}

function formatMi(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)}Mi`;
}

// ------------------------------------------------------------------ names and labels

/** Object name of a track: `<app>` or `<app>-canary`. */
export function trackName(s: { name: string }, track: Track): string {
  return track === "stable" ? s.name : `${s.name}-canary`;
}

/** What a Service, PDB and the Deployment select: the app and the track, never the version (selectors are immutable). */
export function selectorLabels(s: { name: string }, track: Track): Record<string, string> {
  return { [LABEL_NAME]: s.name, [LABEL_TRACK]: track };
}

function labels(s: JavaAppSettings, track: Track): Record<string, string> {
  return {
    ...selectorLabels(s, track),
    [LABEL_VERSION]: track === "stable" ? s.tag : s.canary!.tag,
    [LABEL_ENV]: s.env,
    "app.kubernetes.io/managed-by": "pulumi",
  };
}

/** Directory of a log file (where the shared emptyDir is mounted). */
export function logDir(file: string): string {
  const i = file.lastIndexOf("/");
  return i <= 0 ? "/" : file.slice(0, i);
}

/** One emptyDir per distinct log directory, named logs-0, logs-1... in order of first appearance. */
export function logVolumes(files: string[]): { name: string; dir: string }[] {
  const dirs = [...new Set(files.map(logDir))];
  return dirs.map((dir, i) => ({ name: `logs-${i}`, dir }));
}

// ------------------------------------------------------------------ pod

function env(s: JavaAppSettings): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [
    { name: "APP_ID", value: s.name },
    { name: "ENV", value: s.apolloEnv },
    { name: "APOLLO_META", value: s.apolloMeta },
    { name: "IDC", value: s.idc },
  ];
  if (s.javaOpts !== undefined && s.javaOpts.trim() !== "") out.push({ name: "JAVA_OPTS", value: s.javaOpts });
  if (s.apolloAccessKey) {
    // The Apollo client reads APOLLO_ACCESS_KEY_SECRET; the value stays in the Secret.
    out.push({ name: "APOLLO_ACCESS_KEY_SECRET", valueFrom: { secretKeyRef: { name: s.apolloAccessKey.secretName, key: s.apolloAccessKey.key } } });
  }
  return out;
}

function probe(s: JavaAppSettings, extra: Record<string, number>): Record<string, unknown> {
  return { httpGet: { path: s.healthPath, port: "http", scheme: "HTTP" }, ...extra };
}

/** A native sidecar per log file (an init container with restartPolicy Always, Kubernetes >= 1.29). */
function logSidecars(s: JavaAppSettings): Record<string, unknown>[] {
  const volumes = logVolumes(s.logFiles ?? []);
  return (s.logFiles ?? []).map((file, i) => {
    const vol = volumes.find((v) => v.dir === logDir(file))!;
    return {
      name: `log-tail-${i}`,
      image: s.logTailImage ?? LOG_TAIL_IMAGE,
      imagePullPolicy: "IfNotPresent",
      // Native sidecar: starts before the app and stops after it, so the JVM's
      // last lines (a shutdown stack trace) still reach stdout and fluent-bit.
      restartPolicy: "Always",
      // -n +1: from the first line, so nothing written before the tail started is lost;
      // -F: follow by name and retry, surviving the app's log rotation and a file that does not exist yet.
      command: logTailCommand(file),
      volumeMounts: [{ name: vol.name, mountPath: vol.dir, readOnly: true }],
      resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
    };
  });
}

/** The sidecar's command for one file. */
export function logTailCommand(file: string): string[] {
  return ["tail", "-n", "+1", "-F", file];
}

function podTemplate(s: JavaAppSettings, track: Track): Record<string, unknown> {
  const r = s.resources ?? DEFAULT_RESOURCES;
  const limits: Record<string, string> = { memory: r.memoryLimit ?? r.memory };
  if (r.cpuLimit !== undefined) limits.cpu = r.cpuLimit;
  const tag = track === "stable" ? s.tag : s.canary!.tag;
  const volumes = logVolumes(s.logFiles ?? []);
  const sidecars = logSidecars(s);
  const spread = (topologyKey: string) => ({
    maxSkew: 1,
    topologyKey,
    // ScheduleAnyway: when a zone fails, its replacements must start in the
    // surviving zones instead of waiting Pending for the skew to allow them.
    whenUnsatisfiable: "ScheduleAnyway",
    labelSelector: { matchLabels: selectorLabels(s, track) },
    // Spread each ReplicaSet on its own, so a rollout's new pods spread too.
    matchLabelKeys: ["pod-template-hash"],
  });
  return {
    metadata: { labels: labels(s, track) },
    spec: {
      imagePullSecrets: [{ name: s.imagePullSecret }],
      // Apps never call the api-server.
      automountServiceAccountToken: false,
      // Service links put <SERVICE>_PORT=tcp://... into the env, which Spring's
      // relaxed binding reads as properties (a Service named `server` would set server.port).
      enableServiceLinks: false,
      terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
      topologySpreadConstraints: [spread("topology.kubernetes.io/zone"), spread("kubernetes.io/hostname")],
      ...(sidecars.length > 0 ? { initContainers: sidecars } : {}),
      containers: [
        {
          name: "app",
          image: `${s.image}:${tag}`,
          // Tags are immutable release names (never `latest`), so a cached image is the right one.
          imagePullPolicy: "IfNotPresent",
          ports: [{ name: "http", containerPort: s.port, protocol: "TCP" }],
          env: env(s),
          resources: { requests: { cpu: r.cpu, memory: r.memory }, limits },
          startupProbe: probe(s, { periodSeconds: STARTUP_PERIOD_SECONDS, failureThreshold: STARTUP_FAILURE_THRESHOLD, timeoutSeconds: 3 }),
          readinessProbe: probe(s, { periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 3 }),
          // Liveness is lenient: a GC pause or a slow dependency must not restart a whole fleet.
          livenessProbe: probe(s, { periodSeconds: 10, failureThreshold: 6, timeoutSeconds: 5 }),
          // The sleep action needs no shell in the image (distroless JREs have none).
          lifecycle: { preStop: { sleep: { seconds: PRESTOP_DRAIN_SECONDS } } },
          ...(volumes.length > 0 ? { volumeMounts: volumes.map((v) => ({ name: v.name, mountPath: v.dir })) } : {}),
          securityContext: { allowPrivilegeEscalation: false },
        },
      ],
      ...(volumes.length > 0 ? { volumes: volumes.map((v) => ({ name: v.name, emptyDir: {} })) } : {}),
    },
  };
}

// ------------------------------------------------------------------ objects

/** Replicas of the canary: 1 for a header canary; for a weight, about the weight's share of the stable replicas, so each canary pod carries a stable pod's load. */
export function canaryReplicas(s: Pick<JavaAppSettings, "replicas" | "canary">): number {
  if (!s.canary) return 0;
  if (s.canary.weight === undefined) return 1;
  return Math.max(1, Math.ceil((s.replicas * s.canary.weight) / 100));
}

/**
 * The Deployment of a track.
 *
 * `replicas` is always set, autoscaled or not. With an HPA the interplay is:
 * `pulumi up` applies the Deployment only when its inputs change (a release,
 * a javaOpts change); it then resets replicas to the configured value, which the
 * config keeps within autoscale min..max, and the HPA moves it again within its
 * 15 s sync. Leaving replicas out instead would, under server-side apply, drop
 * an existing Deployment to the default of 1 replica the moment Pulumi stops
 * owning the field. Before a known promo day, raise `replicas` and
 * `autoscale.min` together.
 */
export function deployment(s: JavaAppSettings, track: Track = "stable"): K8sObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: trackName(s, track), namespace: s.namespace, labels: labels(s, track) },
    spec: {
      replicas: track === "stable" ? s.replicas : canaryReplicas(s),
      revisionHistoryLimit: REVISION_HISTORY_LIMIT,
      selector: { matchLabels: selectorLabels(s, track) },
      // maxUnavailable 0: a release never drops below full capacity; new pods surge in
      // and old ones go only once the new ones are ready.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "25%" } },
      template: podTemplate(s, track),
    },
  };
}

export function service(s: JavaAppSettings, track: Track = "stable"): K8sObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: trackName(s, track), namespace: s.namespace, labels: labels(s, track) },
    spec: {
      type: "ClusterIP",
      selector: selectorLabels(s, track),
      ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
    },
  };
}

/**
 * A drain evicts at most 10% of the stable pods at a time (rounded up, so at
 * least one), keeping ~90% of capacity through node maintenance.
 *
 * Note: with 1 replica that still allows evicting the only pod. The alternative,
 * minAvailable 1, would make `kubectl drain` and every node upgrade hang forever
 * on that pod; a single-replica app (dev) is not highly available either way,
 * and gets a short gap instead of a stuck cluster.
 */
export function podDisruptionBudget(s: JavaAppSettings): K8sObject {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: s.name, namespace: s.namespace, labels: labels(s, "stable") },
    spec: {
      maxUnavailable: "10%",
      selector: { matchLabels: selectorLabels(s, "stable") },
      // A crash-looping pod must not block node drains: it serves nothing anyway.
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    },
  };
}

/** CPU-based HPA: scales up fast for a giveaway spike, down slowly so the tail of a promo keeps its capacity. */
export function horizontalPodAutoscaler(s: JavaAppSettings): K8sObject | undefined {
  const a = s.autoscale;
  if (!a) return undefined;
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: s.name, namespace: s.namespace, labels: labels(s, "stable") },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: s.name },
      minReplicas: a.min,
      maxReplicas: a.max,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: a.cpuPercent } } }],
      behavior: {
        scaleUp: {
          stabilizationWindowSeconds: 0,
          selectPolicy: "Max",
          policies: [
            { type: "Percent", value: 100, periodSeconds: 15 },
            { type: "Pods", value: 8, periodSeconds: 15 },
          ],
        },
        scaleDown: {
          stabilizationWindowSeconds: 600,
          selectPolicy: "Min",
          policies: [{ type: "Percent", value: 10, periodSeconds: 60 }],
        },
      },
    },
  };
}

/** The Ingress of a track: host from config, path / (Prefix), class nginx; the canary one carries ingress-nginx's canary annotations. */
export function ingress(s: JavaAppSettings, track: Track = "stable"): K8sObject | undefined {
  if (!s.host) return undefined;
  const annotations: Record<string, string> = {};
  if (track === "canary") {
    const c = s.canary!;
    annotations["nginx.ingress.kubernetes.io/canary"] = "true";
    if (c.weight !== undefined) {
      annotations["nginx.ingress.kubernetes.io/canary-weight"] = String(c.weight);
    } else {
      annotations["nginx.ingress.kubernetes.io/canary-by-header"] = c.header!;
      annotations["nginx.ingress.kubernetes.io/canary-by-header-value"] = "always";
    }
  }
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name: trackName(s, track),
      namespace: s.namespace,
      labels: labels(s, track),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: {
      ingressClassName: s.ingressClass ?? DEFAULT_INGRESS_CLASS,
      rules: [
        {
          host: s.host,
          http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: trackName(s, track), port: { name: "http" } } } }] },
        },
      ],
    },
  };
}

/**
 * Every object of one app, in apply order: the stable Deployment, Service, PDB,
 * HPA and Ingress, then (only when configured) the canary's Deployment, Service
 * and Ingress. Throws first if a setting cannot render.
 */
export function javaAppObjects(s: JavaAppSettings): K8sObject[] {
  validateJavaApp(s);
  const out: (K8sObject | undefined)[] = [deployment(s), service(s), podDisruptionBudget(s), horizontalPodAutoscaler(s), ingress(s)];
  if (s.canary) out.push(deployment(s, "canary"), service(s, "canary"), ingress(s, "canary"));
  return out.filter((o): o is K8sObject => o !== undefined);
}

// ------------------------------------------------------------------ namespace-level objects

/** Name of the Harbor pull Secret in every app namespace. */
export const HARBOR_PULL_SECRET = "harbor-pull";
/** Key of the Apollo access key inside the app's `<app>-apollo` Secret. */
export const APOLLO_ACCESS_KEY_KEY = "access-key-secret";

export function apolloSecretName(app: string): string {
  return `${app}-apollo`;
}

/** An app namespace; Pod Security `baseline` refuses privileged and hostPath pods, which no Java app needs. */
export function appNamespace(name: string, env: string): K8sObject {
  if (!DNS_LABEL.test(name) || RESERVED_NAMESPACES.includes(name)) throw new Error(`app namespace "${name}" must be a DNS label outside ${RESERVED_NAMESPACES.join(", ")}`);
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name,
      labels: { [LABEL_ENV]: env, "pod-security.kubernetes.io/enforce": "baseline", "app.kubernetes.io/managed-by": "pulumi" },
    },
  };
}

/** The Harbor pull Secret without its data (the component adds the secret stringData). */
export function harborPullSecret(namespace: string): K8sObject {
  return { apiVersion: "v1", kind: "Secret", metadata: { name: HARBOR_PULL_SECRET, namespace }, type: "kubernetes.io/dockerconfigjson" };
}

/** An app's Apollo access-key Secret without its data. */
export function apolloAccessKeySecret(app: string, namespace: string): K8sObject {
  return { apiVersion: "v1", kind: "Secret", metadata: { name: apolloSecretName(app), namespace, labels: { [LABEL_NAME]: app } }, type: "Opaque" };
}

/** The `.dockerconfigjson` document kubelet reads for pulls from `registry`. */
export function dockerConfigJson(registry: string, username: string, password: string): string {
  if (!/^[a-z0-9.-]+(:\d+)?$/.test(registry)) throw new Error(`platform:harbor.registry: must be a registry host such as harbor.example.com, got "${registry}"`);
  if (!username) throw new Error("platform:harbor.username: is required");
  if (!password) throw new Error("platform:harborPassword: is empty");
  const auth = Buffer.from(`${username}:${password}`).toString("base64");
  return JSON.stringify({ auths: { [registry]: { username, password, auth } } });
}
