// fluent-bit as a DaemonSet (the official Helm chart): every container's
// stdout/stderr, with pod, namespace and workspace metadata, to Elasticsearch
// or Kafka. Pure: typed settings in, Helm values (with the classic config
// text the chart mounts) out, so tests read exactly what the cluster gets.
//
// Secrets never enter the values: the output password reaches the pods as an
// environment variable from a Kubernetes Secret, and the config refers to it
// as ${FLUENT_OUTPUT_PASSWORD}, which fluent-bit expands at start.

import * as path from "path";
import { hostProblems } from "./fluentBitRules";
import { mirrored } from "./images";
import type { HelmChart } from "./k8sObjects";
import { renderLua } from "../scriptFiles";

/** The chart, pinned: a new chart version is a reviewed change, not a surprise on `pulumi up`. */
export const FLUENT_BIT_CHART: HelmChart = {
  /** Helm release name; also the prefix of the chart's object names. */
  name: "fluent-bit",
  chart: "fluent-bit",
  repo: "https://fluent.github.io/helm-charts",
  /** Chart 0.57.x ships fluent-bit 5.0 (kubernetes filter with namespace_labels, since 3.0). */
  version: "0.57.9",
  namespace: "logging",
};

/** The env var the output password arrives in (from the Secret, never from values). */
export const OUTPUT_PASSWORD_ENV = "FLUENT_OUTPUT_PASSWORD";
/** Key of the password inside the output-credentials Secret. */
export const OUTPUT_PASSWORD_KEY = "password";
/** KubeSphere puts a namespace in a workspace (tenant) with this namespace label. */
export const WORKSPACE_LABEL = "kubesphere.io/workspace";
/** Where the chart mounts `luaScripts` entries. */
const LUA_DIR = "/fluent-bit/scripts";
const LUA_FILE = "platform-fields.lua";
export const LUA_FUNCTION = "add_platform_fields";
/** The filter the chart's luaScripts carry (platformFieldsLua). */
export const PLATFORM_FIELDS_LUA = path.join(__dirname, "scripts", "platform-fields.lua");
/** Tail offsets on the host, so a restarted pod resumes instead of re-shipping every file. */
const TAIL_DB = "/var/log/fluent-bit-kube.db";

/** platform:logging with output elasticsearch (same shape as the stack config). */
export interface ElasticsearchOutput {
  output: "elasticsearch";
  /** Elasticsearch host name (no scheme, no port). */
  host: string;
  /** HTTP port, default 9200. */
  port?: number;
  /** Index prefix: documents go to daily indices `<index>-YYYY.MM.DD`, so retention is dropping old indices. */
  index: string;
  /** HTTPS to Elasticsearch (certificate verified). */
  tls?: boolean;
  /** Basic-auth user; its password comes from the Secret. */
  user?: string;
}

/** platform:logging with output kafka (same shape as the stack config). */
export interface KafkaOutput {
  output: "kafka";
  /** Bootstrap brokers, host:port. */
  brokers: string[];
  /** Topic every record goes to, as JSON. */
  topic: string;
  /** TLS to the brokers. */
  tls?: boolean;
  /** SASL user; with it the protocol is SASL_SSL (or SASL_PLAINTEXT without tls). */
  user?: string;
}

export type LogOutput = ElasticsearchOutput | KafkaOutput;

/** fluent-bit 0.57.9 values.yaml `image.repository`. */
export const FLUENT_BIT_IMAGE = "cr.fluentbit.io/fluent/fluent-bit";

export interface FluentBitSettings {
  /** The stack (cluster) name, stamped on every record as `cluster`: six clusters feed one backend. */
  clusterName: string;
  /** Where records go. */
  output: LogOutput;
  /**
   * Name of the Secret (in the release's namespace) holding the output password
   * under `password`. Required when `output.user` is set, refused otherwise.
   */
  passwordSecretName?: string;
  /** SASL mechanism for Kafka with a user, default PLAIN (Alibaba Cloud Kafka's SASL_SSL endpoint). */
  kafkaSaslMechanism?: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";
  /** `platform:images.registry`: the chart's images through the mirror (images.ts). Default none (upstream). */
  imageMirror?: string;
}

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const BROKER = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:\d{1,5}$/;
const INDEX = /^[a-z0-9][a-z0-9_.-]*$/;
const TOPIC = /^[A-Za-z0-9._-]+$/;
const USER = /^[^\s${}]+$/;

function fail(field: string, message: string): never {
  throw new Error(`fluent-bit: ${field} ${message}`);
}

function validate(s: FluentBitSettings): void {
  if (!DNS_LABEL.test(s.clusterName ?? "")) fail("clusterName", `must be a DNS label such as "prod1", got ${JSON.stringify(s.clusterName)}`);
  const o = s.output;
  if (!o || (o.output !== "elasticsearch" && o.output !== "kafka")) {
    fail("output.output", `must be "elasticsearch" or "kafka", got ${JSON.stringify((o as { output?: unknown } | undefined)?.output)}`);
  }
  if (o.output === "elasticsearch") {
    // The rule config validation runs (fluentBitRules.ts), asserted here.
    const host = hostProblems("output.host", String(o.host ?? ""));
    if (host.length > 0 || !o.host) throw new Error(`fluent-bit: ${host[0] ?? "output.host: is required"}`);
    if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535)) fail("output.port", `must be a port 1-65535, got ${o.port}`);
    if (!INDEX.test(o.index ?? "")) fail("output.index", `must be a lowercase Elasticsearch index name, got ${JSON.stringify(o.index)}`);
  } else {
    if (!Array.isArray(o.brokers) || o.brokers.length === 0) fail("output.brokers", "must list at least one broker");
    o.brokers.forEach((b, i) => {
      if (!BROKER.test(b)) fail(`output.brokers[${i}]`, `must be host:port, got ${JSON.stringify(b)}`);
    });
    if (!TOPIC.test(o.topic ?? "")) fail("output.topic", `must be a Kafka topic name, got ${JSON.stringify(o.topic)}`);
  }
  if (o.user !== undefined && !USER.test(o.user)) fail("output.user", "must not contain whitespace, '$' or braces");
  if (o.user !== undefined && !s.passwordSecretName) fail("passwordSecretName", "is required when output.user is set (the password comes from that Secret)");
  if (o.user === undefined && s.passwordSecretName) fail("passwordSecretName", "is set but output.user is not; a password without a user is never sent");
  if (s.passwordSecretName !== undefined && !DNS_LABEL.test(s.passwordSecretName))
    fail("passwordSecretName", `must be a DNS label, got ${JSON.stringify(s.passwordSecretName)}`);
}

type Entry = [key: string, value: string | number];

/** One classic-mode section: `[NAME]` then indented `Key Value` lines, keys aligned. */
function section(name: string, entries: Entry[]): string {
  const width = Math.max(...entries.map(([k]) => k.length)) + 1;
  for (const [k, v] of entries) {
    // Classic config is line-based: a newline in a value would start a new key.
    if (/[\r\n]/.test(String(v))) throw new Error(`fluent-bit: [${name}] ${k} must be a single line`);
  }
  return [`[${name}]`, ...entries.map(([k, v]) => `    ${k.padEnd(width)}${v}`)].join("\n") + "\n";
}

const onOff = (b: boolean | undefined) => (b ? "On" : "Off");

function inputs(): string {
  return section("INPUT", [
    ["Name", "tail"],
    ["Tag", "kube.*"],
    ["Path", "/var/log/containers/*.log"],
    // containerd writes CRI lines (`<time> <stream> <P|F> <text>`), not Docker JSON;
    // the cri parser also rejoins lines the runtime split at 16 KiB (P = partial).
    ["multiline.parser", "cri"],
    ["DB", TAIL_DB],
    ["DB.locking", "true"],
    // Back-pressure instead of unbounded memory when the backend is slow.
    ["Mem_Buf_Limit", "50MB"],
    ["Skip_Long_Lines", "On"],
    ["Refresh_Interval", "10"],
  ]);
}

function filters(): string {
  return [
    // A Java stack trace is one line per frame on stdout; rejoin it into the
    // record of its exception so a search hit shows the whole trace.
    section("FILTER", [
      ["Name", "multiline"],
      ["Match", "kube.*"],
      ["multiline.key_content", "log"],
      ["multiline.parser", "java"],
    ]),
    section("FILTER", [
      ["Name", "kubernetes"],
      ["Match", "kube.*"],
      ["Kube_Tag_Prefix", "kube.var.log.containers."],
      // JSON log lines become fields, under one key so two apps' field types
      // cannot clash in a shared index (and cannot overwrite cluster/workspace).
      ["Merge_Log", "On"],
      ["Merge_Log_Key", MERGE_LOG_KEY],
      ["Keep_Log", "Off"],
      ["K8S-Logging.Parser", "On"],
      ["K8S-Logging.Exclude", "On"],
      ["Labels", "On"],
      // Pod annotations are mostly tooling noise (checksums, restartedAt).
      ["Annotations", "Off"],
      // The namespace's labels carry the KubeSphere workspace (tenant).
      ["namespace_labels", "On"],
      // Pods with many env vars outgrow the 32k default and would lose their metadata.
      ["Buffer_Size", "256k"],
    ]),
    section("FILTER", [
      ["Name", "lua"],
      ["Match", "kube.*"],
      ["script", `${LUA_DIR}/${LUA_FILE}`],
      ["call", LUA_FUNCTION],
    ]),
  ].join("\n");
}

function outputs(s: FluentBitSettings): string {
  const o = s.output;
  const password = `\${${OUTPUT_PASSWORD_ENV}}`;
  if (o.output === "elasticsearch") {
    const entries: Entry[] = [
      ["Name", "es"],
      ["Match", "kube.*"],
      ["Host", o.host],
      ["Port", o.port ?? 9200],
      ["Logstash_Format", "On"],
      ["Logstash_Prefix", o.index],
      ["Logstash_DateFormat", "%Y.%m.%d"],
      // Elasticsearch 8 refuses mapping types.
      ["Suppress_Type_Name", "On"],
      // Label keys like app.kubernetes.io/name would otherwise become object paths and clash.
      ["Replace_Dots", "On"],
      ["Trace_Error", "On"],
      ["Retry_Limit", "10"],
      ["tls", onOff(o.tls)],
    ];
    if (o.tls) entries.push(["tls.verify", "On"]);
    if (o.user !== undefined) entries.push(["HTTP_User", o.user], ["HTTP_Passwd", password]);
    return section("OUTPUT", entries);
  }
  const protocol = o.user !== undefined ? (o.tls ? "SASL_SSL" : "SASL_PLAINTEXT") : o.tls ? "SSL" : "PLAINTEXT";
  const entries: Entry[] = [
    ["Name", "kafka"],
    ["Match", "kube.*"],
    ["Brokers", o.brokers.join(",")],
    ["Topics", o.topic],
    ["Format", "json"],
    ["Timestamp_Key", "@timestamp"],
    ["Timestamp_Format", "iso8601"],
    ["Retry_Limit", "10"],
    ["rdkafka.security.protocol", protocol],
  ];
  if (o.user !== undefined) {
    entries.push(["rdkafka.sasl.mechanism", s.kafkaSaslMechanism ?? "PLAIN"], ["rdkafka.sasl.username", o.user], ["rdkafka.sasl.password", password]);
  }
  // Compress batches: a promo-day log burst is mostly repeated text.
  entries.push(["rdkafka.compression.codec", "lz4"]);
  return section("OUTPUT", entries);
}

/** The record field the trace id lands in (log search and the dashboards' links use it). */
export const TRACE_ID_FIELD = "trace_id";
/** Where the kubernetes filter merges a JSON line's fields (Merge_Log_Key). */
export const MERGE_LOG_KEY = "log_processed";
/** The fields of a merged JSON line the trace id is read from, first found wins (docs/tracing.md). */
export const JSON_TRACE_ID_KEYS = ["TID", "tid", "trace_id"] as const;

/**
 * The Lua filter that stamps `cluster` and `workspace` on each record. The
 * workspace is the namespace's `kubesphere.io/workspace` label (the kubernetes
 * filter puts namespace labels under `kubernetes_namespace.labels`); namespaces
 * outside any workspace (kube-system, ingress-nginx) fall back to their name,
 * so every record can be routed by workspace. A line carrying a SkyWalking trace
 * id as the agent's log toolkit prints it (`TID:<id>`, docs/tracing.md) also gets
 * it as `trace_id`, so log search finds every line of one trace. Returns 2:
 * record changed, time kept. The filter is scripts/platform-fields.lua; its one setting, CLUSTER, is
 * generated, and the names it shares with this module (WORKSPACE_LABEL, LUA_FUNCTION, MERGE_LOG_KEY,
 * TRACE_ID_FIELD, JSON_TRACE_ID_KEYS) are written in it, checked by test/k8s/logging.test.ts.
 */
export function platformFieldsLua(clusterName: string): string {
  if (!DNS_LABEL.test(clusterName ?? "")) fail("clusterName", `must be a DNS label such as "prod1", got ${JSON.stringify(clusterName)}`);
  return renderLua(PLATFORM_FIELDS_LUA, { CLUSTER: clusterName });
}

/** The classic-mode pipeline sections the chart assembles into fluent-bit.conf. */
export function fluentBitPipeline(s: FluentBitSettings): { inputs: string; filters: string; outputs: string } {
  validate(s);
  return { inputs: inputs(), filters: filters(), outputs: outputs(s) };
}

/**
 * Helm values for the fluent-bit chart. The chart's own [SERVICE] section is
 * kept (its parser file paths follow the chart's layout); inputs, filters and
 * outputs are ours.
 */
export function fluentBitValues(s: FluentBitSettings): Record<string, unknown> {
  const pipeline = fluentBitPipeline(s);
  const lua = platformFieldsLua(s.clusterName);
  // The chart passes config and luaScripts through Helm's `tpl`: a stray "{{"
  // would be evaluated as a template at install time.
  for (const [k, v] of Object.entries({ ...pipeline, lua })) {
    if (v.includes("{{")) throw new Error(`fluent-bit: ${k} must not contain "{{" (the chart templates it)`);
  }
  const values: Record<string, unknown> = {
    // fluent-bit 0.57.9 values.yaml: `image.repository` is the full reference (cr.fluentbit.io/fluent/fluent-bit),
    // the tag defaults to appVersion (templates/_pod.tpl:44).
    image: { repository: mirrored(FLUENT_BIT_IMAGE, s.imageMirror) },
    kind: "DaemonSet",
    // Logs from every node: masters (control-plane taint), the dedicated=order
    // pool, and whatever taint comes next. An empty key with Exists matches all.
    tolerations: [{ operator: "Exists" }],
    // Evicting the log shipper under pressure loses exactly the logs that explain the pressure.
    priorityClassName: "system-node-critical",
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
    config: pipeline,
    luaScripts: { [LUA_FILE]: lua },
    // containerd keeps logs under /var/log/pods (linked from /var/log/containers);
    // the chart's Docker path is not needed. /var/log is writable for the tail DB.
    daemonSetVolumes: [
      { name: "varlog", hostPath: { path: "/var/log" } },
      { name: "etcmachineid", hostPath: { path: "/etc/machine-id", type: "File" } },
    ],
    daemonSetVolumeMounts: [
      { name: "varlog", mountPath: "/var/log" },
      { name: "etcmachineid", mountPath: "/etc/machine-id", readOnly: true },
    ],
    // The chart's test pod pulls busybox:latest; nothing here runs `helm test`.
    testFramework: { enabled: false },
  };
  if (s.passwordSecretName) {
    values.env = [{ name: OUTPUT_PASSWORD_ENV, valueFrom: { secretKeyRef: { name: s.passwordSecretName, key: OUTPUT_PASSWORD_KEY } } }];
  }
  return values;
}
