// The rules a Java app's settings must follow, stated once: config validation
// (config/crossChecks.ts) runs them so every problem of every app is reported
// together before anything is registered, and the JavaApp component runs them
// again as an assertion. Each problem is a line naming its config key.
import type { PlatformSettings } from "../config/schema";
import { Env, imageTagProblem, isEnv } from "../../policies/imageTags";
import { Tier, tierOf } from "../../policies/fleet";

/** Apollo's environment names (DEV, FAT, UAT, PRO) for each tier (the stack file's platform:tier); the host runs no apps. */
export const APOLLO_ENV: Record<Tier, string | undefined> = {
  host: undefined,
  dev: "DEV",
  test: "FAT",
  pre: "UAT",
  prod: "PRO",
};

/** Apollo's environment name for a stack, from its tier; undefined for the host or a stack without a stack file. */
export function apolloEnvOf(env: Env): string | undefined {
  const tier = tierOf(env);
  return tier === undefined ? undefined : APOLLO_ENV[tier];
}

/** One app as `platform:apps.<app>` configures it: the config schema's type, field docs on the schema (config/schema.ts). */
export type AppConfig = NonNullable<PlatformSettings["apps"]>[string];
/** Requests and limits of the app container (`platform:apps.<app>.resources`). */
export type AppResources = NonNullable<AppConfig["resources"]>;

/** What the platform adds to an app's config: where it runs and the env's settings. */
export interface AppContext {
  /** The app's name: Deployment/Service/Ingress name and Apollo's APP_ID (Apollo keys config by it). */
  name: string;
  /** Namespace the app runs in (its configured one, else one named after the app); apps share namespaces (e.g. `commerce`). */
  namespace: string;
  /** The stack (dev, test, pre, prod1, prod2): the `platform/env` label, and which image-tag rules apply. */
  env: Env;
  /** Apollo's environment name for the stack: DEV, FAT, UAT or PRO (the ENV variable). */
  apolloEnv: string;
  /** The env's Apollo meta server URL (APOLLO_META). */
  apolloMeta: string;
  /** Data-centre / cluster name (IDC): prod1 and prod2 share ENV=PRO, IDC tells Apollo which cluster's overrides to serve. */
  idc: string;
  /** Name of the kubernetes.io/dockerconfigjson Secret in the namespace, for pulls from Harbor. */
  imagePullSecret: string;
  /** The Secret holding the app's Apollo access key; default none (no APOLLO_ACCESS_KEY_SECRET). Read through secretKeyRef, never a plain value. */
  apolloAccessKey?: { secretName: string; key: string };
  /** IngressClass the Ingresses name; default `nginx` (the cluster's global ingress-nginx). */
  ingressClass?: string;
  /** Pinned image of the log-tail sidecars; default LOG_TAIL_IMAGE. */
  logTailImage?: string;
  /** The node pool the pods go to (`platform:apps.<app>.pool`): its labels as nodeSelector, its taints tolerated. Default none. */
  placement?: Placement;
  /** The SkyWalking agent (components/k8s/tracing.ts), when the stack has tracing; `tracing: false` in the app's config leaves it out. Default none. */
  agent?: AgentSettings;
}

/** What the agent's init container and env need from the stack. */
export interface AgentSettings {
  /** The agent image (through the mirror); holds the agent under /skywalking/agent. */
  image: string;
  /** `host:port` of the cluster's OAP gRPC receiver. */
  oapAddress: string;
  /** agent.sample_n_per_3_secs; default none (the agent keeps every trace). */
  sampleNPer3Secs?: number;
  /** The Secret (in the app's namespace) and key holding the token the agent presents to OAP; default none (no token). */
  authSecret?: { name: string; key: string };
}

/** Everything one app's objects are rendered from: the app's config plus the platform's context. */
export type JavaAppSettings = AppConfig & AppContext;

/** What the rules read: the app's config, its name and namespace, and the env (for the image-tag rules). */
export type AppRuleInput = AppConfig & Pick<AppContext, "name" | "namespace" | "env">;

/** A node pool as pods see it. */
export interface Placement {
  nodeSelector: Record<string, string>;
  taints: { key: string; value?: string; effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute" }[];
}

export const DEFAULT_RESOURCES: AppResources = { cpu: "500m", memory: "1Gi" };

/**
 * Namespaces an app may not use: Kubernetes', the platform's own (tracing holds SkyWalking's OAP and
 * its Elasticsearch credentials) and KubeSphere's (T17). The same list as the pack config's
 * platformNamespaces (policies/config/*.json).
 */
export const RESERVED_NAMESPACES = [
  "default",
  "kube-system",
  "kube-public",
  "kube-node-lease",
  "kube-flannel",
  "ingress-nginx",
  "logging",
  "monitoring",
  "tracing",
  "kubesphere-system",
  "kubesphere-controls-system",
  "kubesphere-monitoring-system",
  "kubesphere-monitoring-federated",
  "kubesphere-logging-system",
  "kubekey-system",
];

export const DNS_LABEL = /^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$/;
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

/** Directory of a log file (where the shared emptyDir is mounted). */
export function logDir(file: string): string {
  const i = file.lastIndexOf("/");
  return i <= 0 ? "/" : file.slice(0, i);
}

function formatMi(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)}Mi`;
}

// ------------------------------------------------------------------ rules

/** Every problem of one app's settings, each naming its config key; empty when the app can render. */
export function javaAppProblems(s: AppRuleInput): string[] {
  const out: string[] = [];
  if (!DNS_LABEL.test(s.name)) out.push(`platform:apps.${s.name}: the app name must be a DNS label (lowercase, digits, '-', at most 32 characters)`);
  if (!DNS_LABEL.test(s.namespace)) out.push(`${key(s, "namespace")}: "${s.namespace}" must be a DNS label`);
  else if (RESERVED_NAMESPACES.includes(s.namespace)) {
    out.push(`${key(s, "namespace")}: "${s.namespace}" belongs to the platform; put apps in their own namespace such as commerce`);
  }
  if (!s.image || /[:@\s]/.test(s.image.slice(s.image.lastIndexOf("/") + 1))) {
    out.push(`${key(s, "image")}: must be a repository without tag or digest, got "${s.image}" (the tag goes in ${key(s, "tag")})`);
  }
  out.push(...tagProblems(s));
  out.push(...replicaAndPortProblems(s));
  out.push(...resourceProblems(s));
  out.push(...logFileProblems(s));
  out.push(...canaryProblems(s));
  out.push(...autoscaleProblems(s));
  return out;
}

/** The env's tag rules (policies/imageTags.ts), and the tag must fit the app.kubernetes.io/version label. */
function tagProblems(s: AppRuleInput): string[] {
  const out: string[] = [];
  const tags: [string, string][] = [["tag", s.tag]];
  if (s.canary) tags.push(["canary.tag", s.canary.tag]);
  for (const [field, tag] of tags) {
    // one line per bad tag: a tag that is not a tag at all is not also judged by the env's rule
    if (tag.length > 63 || !LABEL_VALUE.test(tag)) {
      out.push(`${key(s, field)}: tag "${tag}" must fit a label value (at most 63 letters, digits, '-', '_', '.')`);
      continue;
    }
    const p = isEnv(s.env) ? imageTagProblem(s.env, tag, s.name) : `unknown env "${s.env}"`;
    if (p) out.push(`${key(s, field)}: ${p}`);
  }
  return out;
}

function replicaAndPortProblems(s: AppRuleInput): string[] {
  const out: string[] = [];
  if (!Number.isInteger(s.replicas) || s.replicas < 1) out.push(`${key(s, "replicas")}: must be a whole number >= 1, got ${s.replicas}`);
  if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) out.push(`${key(s, "port")}: must be a TCP port, got ${s.port}`);
  if (!/^\/\S*$/.test(s.healthPath)) out.push(`${key(s, "healthPath")}: must be an HTTP path such as /actuator/health, got "${s.healthPath}"`);
  return out;
}

function resourceProblems(s: AppRuleInput): string[] {
  const out: string[] = [];
  const r = s.resources ?? DEFAULT_RESOURCES;
  const quantities: [string, string | undefined][] = [
    ["cpu", r.cpu],
    ["memory", r.memory],
    ["cpuLimit", r.cpuLimit],
    ["memoryLimit", r.memoryLimit],
  ];
  for (const [field, q] of quantities) {
    if (q !== undefined && parseQuantity(q) === undefined) out.push(`${key(s, `resources.${field}`)}: "${q}" is not a Kubernetes quantity`);
  }
  if (out.length > 0) return out; // the comparisons below need every quantity
  // The api-server refuses a limit below its request, but only at apply time, halfway through a rollout.
  if (r.cpuLimit !== undefined && parseQuantity(r.cpuLimit)! < parseQuantity(r.cpu)!) {
    out.push(`${key(s, "resources.cpuLimit")}: ${r.cpuLimit} is below the request ${r.cpu}`);
  }
  const memoryLimit = r.memoryLimit ?? r.memory;
  if (parseQuantity(memoryLimit)! < parseQuantity(r.memory)!) {
    out.push(`${key(s, "resources.memoryLimit")}: ${memoryLimit} is below the request ${r.memory}`);
  }
  const heap = maxHeapBytes(s.javaOpts);
  if (heap !== undefined && heap + nonHeapHeadroom(heap) > parseQuantity(memoryLimit)!) {
    out.push(
      `${key(s, "javaOpts")}: -Xmx ${formatMi(heap)} leaves no room for the JVM's non-heap memory under the memory limit ${memoryLimit} ` +
        `(needs ${formatMi(heap + nonHeapHeadroom(heap))}); raise ${key(s, "resources.memoryLimit")} or lower -Xmx, or the pod is OOM-killed under load`,
    );
  }
  return out;
}

function logFileProblems(s: AppRuleInput): string[] {
  const out: string[] = [];
  const files = s.logFiles ?? [];
  files.forEach((f, i) => {
    if (!/^\/(?:[^/\s]+\/)*[^/\s]+$/.test(f) || f.split("/").includes("..")) {
      out.push(`${key(s, `logFiles[${i}]`)}: must be an absolute file path without '..', got "${f}"`);
    } else if (logDir(f) === "/") out.push(`${key(s, `logFiles[${i}]`)}: ${f} is in /, and the log volume would hide the whole root filesystem`);
  });
  if (new Set(files).size !== files.length) out.push(`${key(s, "logFiles")}: lists a file twice`);
  return out;
}

/** A canary is one of weight or header, runs a different build, and needs the Ingress host it is a rule of. */
function canaryProblems(s: AppRuleInput): string[] {
  const c = s.canary;
  if (!c) return [];
  const out: string[] = [];
  if ((c.weight === undefined) === (c.header === undefined)) out.push(`${key(s, "canary")}: set exactly one of weight or header`);
  if (c.weight !== undefined && (!Number.isInteger(c.weight) || c.weight < 1 || c.weight > 99)) {
    out.push(`${key(s, "canary.weight")}: must be a whole percent 1-99, got ${c.weight}`);
  }
  if (c.header !== undefined && !/^[A-Za-z0-9-]+$/.test(c.header)) out.push(`${key(s, "canary.header")}: "${c.header}" is not an HTTP header name`);
  if (c.tag === s.tag) out.push(`${key(s, "canary.tag")}: equals the stable tag ${s.tag}; a canary must run a different build`);
  if (!s.host) out.push(`${key(s, "canary")}: needs ${key(s, "host")} (the canary is an Ingress rule)`);
  return out;
}

/** min <= replicas <= max: `pulumi up` resets the Deployment to `replicas`, which must be a count the HPA would keep. */
function autoscaleProblems(s: AppRuleInput): string[] {
  const a = s.autoscale;
  if (!a) return [];
  const out: string[] = [];
  if (!Number.isInteger(a.min) || a.min < 1) out.push(`${key(s, "autoscale.min")}: must be a whole number >= 1, got ${a.min}`);
  if (!Number.isInteger(a.max) || a.max < a.min) out.push(`${key(s, "autoscale.max")}: must be a whole number >= min (${a.min}), got ${a.max}`);
  if (!Number.isInteger(a.cpuPercent) || a.cpuPercent < 10 || a.cpuPercent > 100)
    out.push(`${key(s, "autoscale.cpuPercent")}: must be 10-100, got ${a.cpuPercent}`);
  if (out.length === 0 && (s.replicas < a.min || s.replicas > a.max)) out.push(`${key(s, "replicas")}: ${s.replicas} is outside autoscale ${a.min}-${a.max}`);
  return out;
}
