// A stateless Java app as plain Kubernetes objects: Deployment, Service,
// PodDisruptionBudget, optional HorizontalPodAutoscaler and Ingress, and an
// optional canary (second Deployment + Service + PDB + canary Ingress). Pure: the
// JavaApp component turns them into resources, the tests check them against the
// Kubernetes schema. The rules the settings must follow are in javaAppRules.ts.
//
// The image is the same in every environment: only the env-injected settings
// differ (APP_ID, ENV, APOLLO_META, IDC, JAVA_OPTS); the app pulls everything
// else from Apollo at start.
import { AgentSettings, DEFAULT_RESOURCES, javaAppProblems, JavaAppSettings, logDir } from "./javaAppRules";

/** A plain Kubernetes object, ready for YAML or a typed k8s resource. */
export interface K8sObject {
  /** Group/version, e.g. `apps/v1`. */
  apiVersion: string;
  /** Kind, e.g. `Deployment`. */
  kind: string;
  /** Name, namespace (none for cluster-scoped objects), labels and annotations. */
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}

/** Pinned busybox for the log-tail sidecars: a tag, never `latest`, so every node runs the same tail. */
export const LOG_TAIL_IMAGE = "busybox:1.36.1";
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

// ------------------------------------------------------------------ tracing agent

/** Where the agent's init container puts the agent, and where the app reads it (the agent image's /skywalking/agent, copied whole). */
export const AGENT_VOLUME = "skywalking-agent";
export const AGENT_DIR = "/skywalking";
export const AGENT_JAR = `${AGENT_DIR}/agent/skywalking-agent.jar`;
/** Where the init container mounts the same emptyDir and copies the agent directory into. */
export const AGENT_COPY_TARGET = "/target";

/** The agent when this app is traced: the stack has tracing and the app did not turn it off. */
export function agentOf(s: JavaAppSettings): AgentSettings | undefined {
  return s.agent && s.tracing !== false ? s.agent : undefined;
}

/**
 * Instance property keys the agent appends after ours (skywalking-java v9.3.0
 * InstanceJsonPropertiesUtil.parseProperties, lines 47-49: `namespace`, `cluster`, `version`). OAP keeps the
 * last value of a repeated key, so ours must never use these names.
 */
export const AGENT_OWN_PROPERTY_KEYS = ["namespace", "cluster", "version"] as const;

/** The longest pod name (a DNS label); the agent cuts agent.instance_name at 50 by default (agent.config line 53). */
export const INSTANCE_NAME_MAX_LENGTH = 63;

/** The instance tags of one pod: the app's namespace, env, cluster, track and image tag, under names the agent does not overwrite. */
export function instanceProperties(s: JavaAppSettings, track: Track): Record<string, string> {
  return { k8s_namespace: s.namespace, env: s.env, k8s_cluster: s.idc, track, app_version: track === "stable" ? s.tag : s.canary!.tag };
}

/**
 * The agent's settings as env (skywalking-java v9.3.0 apm-sniffer/config/agent.config names each one):
 * SW_AGENT_NAME the app (one service across tracks and clusters), SW_AGENT_INSTANCE_NAME the pod (up to 63
 * characters kept), SW_INSTANCE_PROPERTIES_JSON the namespace/env/cluster/track/version tags (canary and
 * stable instances are told apart by `track`), SW_AGENT_COLLECTOR_BACKEND_SERVICES the cluster's OAP,
 * SW_AGENT_SAMPLE the stack's sampling, SW_LOGGING_OUTPUT CONSOLE so the agent's own log reaches fluent-bit.
 * SW_AGENT_CLUSTER and SW_AGENT_NAMESPACE stay unset: with either, the agent renames the service
 * `<name>|<namespace>|<cluster>` (SnifferConfigInitializer lines 111-117), and SW_AGENT_NAMESPACE also renames
 * the propagation headers, so apps in two namespaces would stop joining each other's traces. The cluster is
 * the instance tag `k8s_cluster` instead; each cluster has its own OAP anyway.
 */
export function agentEnv(s: JavaAppSettings, track: Track, agent: AgentSettings): Record<string, unknown>[] {
  return [
    { name: "JAVA_TOOL_OPTIONS", value: `-javaagent:${AGENT_JAR}` },
    { name: "SW_AGENT_NAME", value: s.name },
    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    // $(POD_NAME): the kubelet expands a variable defined earlier in the list.
    { name: "SW_AGENT_INSTANCE_NAME", value: "$(POD_NAME)" },
    { name: "SW_AGENT_INSTANCE_NAME_MAX_LENGTH", value: String(INSTANCE_NAME_MAX_LENGTH) },
    { name: "SW_INSTANCE_PROPERTIES_JSON", value: JSON.stringify(instanceProperties(s, track)) },
    { name: "SW_AGENT_COLLECTOR_BACKEND_SERVICES", value: agent.oapAddress },
    // OAP refuses segments without its token (SW_AUTHENTICATION); the token stays in the Secret.
    ...(agent.authSecret ? [{ name: "SW_AGENT_AUTHENTICATION", valueFrom: { secretKeyRef: { name: agent.authSecret.name, key: agent.authSecret.key } } }] : []),
    ...(agent.sampleNPer3Secs !== undefined ? [{ name: "SW_AGENT_SAMPLE", value: String(agent.sampleNPer3Secs) }] : []),
    { name: "SW_LOGGING_OUTPUT", value: "CONSOLE" },
  ];
}

/** The key of the agent-token Secret. */
export const AGENT_TOKEN_KEY = "token";

/** The Secret holding the token this app's agent presents to OAP, without its data (the component adds the secret stringData). */
export function agentTokenSecret(s: { name: string; namespace: string }): K8sObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `${s.name}-skywalking-agent`, namespace: s.namespace, labels: { [LABEL_NAME]: s.name, "app.kubernetes.io/managed-by": "pulumi" } },
    type: "Opaque",
  };
}

/** The init container that copies the agent into the pod's emptyDir (the agent image's documented Kubernetes use). */
function agentInitContainer(agent: AgentSettings): Record<string, unknown> {
  return {
    name: "skywalking-agent",
    image: agent.image,
    imagePullPolicy: "IfNotPresent",
    command: ["cp", "-R", "/skywalking/agent", `${AGENT_COPY_TARGET}/`],
    volumeMounts: [{ name: AGENT_VOLUME, mountPath: AGENT_COPY_TARGET }],
    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "64Mi" } },
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
  };
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
  const agent = agentOf(s);
  // The agent's copy runs first (a plain init container), then the log-tail native sidecars start.
  const sidecars = [...(agent ? [agentInitContainer(agent)] : []), ...logSidecars(s)];
  const mounts = [
    ...volumes.map((v) => ({ name: v.name, mountPath: v.dir })),
    ...(agent ? [{ name: AGENT_VOLUME, mountPath: AGENT_DIR, readOnly: true }] : []),
  ];
  const podVolumes = [...volumes.map((v) => ({ name: v.name, emptyDir: {} })), ...(agent ? [{ name: AGENT_VOLUME, emptyDir: {} }] : [])];
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
      // The app's pool: select its nodes, tolerate exactly its taints (nothing broader).
      ...(s.placement
        ? {
            nodeSelector: s.placement.nodeSelector,
            ...(s.placement.taints.length > 0
              ? {
                  tolerations: s.placement.taints.map((t) => ({
                    key: t.key,
                    operator: t.value === undefined ? "Exists" : "Equal",
                    ...(t.value === undefined ? {} : { value: t.value }),
                    effect: t.effect,
                  })),
                }
              : {}),
          }
        : {}),
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
          env: [...env(s), ...(agent ? agentEnv(s, track, agent) : [])],
          resources: { requests: { cpu: r.cpu, memory: r.memory }, limits },
          startupProbe: probe(s, { periodSeconds: STARTUP_PERIOD_SECONDS, failureThreshold: STARTUP_FAILURE_THRESHOLD, timeoutSeconds: 3 }),
          readinessProbe: probe(s, { periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 3 }),
          // Liveness is lenient: a GC pause or a slow dependency must not restart a whole fleet.
          livenessProbe: probe(s, { periodSeconds: 10, failureThreshold: 6, timeoutSeconds: 5 }),
          // The sleep action needs no shell in the image (distroless JREs have none).
          lifecycle: { preStop: { sleep: { seconds: PRESTOP_DRAIN_SECONDS } } },
          ...(mounts.length > 0 ? { volumeMounts: mounts } : {}),
          securityContext: { allowPrivilegeEscalation: false },
        },
      ],
      ...(podVolumes.length > 0 ? { volumes: podVolumes } : {}),
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
 * The disruption budget of a track: a drain evicts at most 10% of its pods at a
 * time (rounded up, so at least one), keeping ~90% of capacity through node
 * maintenance.
 *
 * Each track has its own budget. The canary's share of traffic is fixed by the
 * canary Ingress's weight, not by pod counts: a budget shared with the stable
 * track (24 + 3 pods, 10% = 3) would let one drain evict all three canary pods
 * at once while 10% of requests are still routed to them. Its own budget
 * evicts one canary pod at a time.
 *
 * Note: with 1 replica that still allows evicting the only pod. The alternative,
 * minAvailable 1, would make `kubectl drain` and every node upgrade hang forever
 * on that pod; a single-replica app (dev, a header canary) is not highly
 * available either way, and gets a short gap instead of a stuck cluster.
 */
export function podDisruptionBudget(s: JavaAppSettings, track: Track = "stable"): K8sObject {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: trackName(s, track), namespace: s.namespace, labels: labels(s, track) },
    spec: {
      maxUnavailable: "10%",
      selector: { matchLabels: selectorLabels(s, track) },
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
 * HPA and Ingress, then (only when configured) the canary's Deployment, Service, PDB
 * and Ingress. Throws first, listing every problem, if a setting cannot render.
 */
export function javaAppObjects(s: JavaAppSettings): K8sObject[] {
  const problems = javaAppProblems(s);
  if (problems.length > 0) throw new Error(problems.join("\n"));
  const out: (K8sObject | undefined)[] = [deployment(s), service(s), podDisruptionBudget(s), horizontalPodAutoscaler(s), ingress(s)];
  if (s.canary) out.push(deployment(s, "canary"), service(s, "canary"), podDisruptionBudget(s, "canary"), ingress(s, "canary"));
  return out.filter((o): o is K8sObject => o !== undefined);
}
