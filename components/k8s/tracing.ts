// Distributed tracing (issue #32): Apache SkyWalking, one backend per cluster
// (docs/tracing.md says why), from the project's own Helm chart, storing in
// Elasticsearch; every JavaApp loads the SkyWalking Java agent (apps/javaAppObjects.ts).
//
// Upstream facts, cited once here and used below:
// - Chart apache/skywalking-helm tag v4.7.0 (commit 6fe5e6f0d3b7686c6be0457733e825ee68cb9b35),
//   chart/skywalking/values.yaml: `oap.image.{repository,tag}` and `ui.image.{repository,tag}` (tag must be
//   set), `oap.storageType`, `oap.replicas`, `oap.resources`, `oap.javaOpts`, `oap.env` (rendered as plain
//   `value:` env), `oap.secretMounts[] {name, secretName, path, subPath}`, `ui.replicas`, `ui.ingress.*`,
//   `elasticsearch.enabled` (false: an existing cluster) with `elasticsearch.config.{host,port.http}`,
//   `initContainer.{image,tag}`, `fullnameOverride`. templates/_helpers.tpl: the OAP Service is
//   `<fullname>-oap` with ports `oap.ports` (grpc 11800, rest 12800), the storage env is
//   SW_STORAGE / SW_STORAGE_ES_CLUSTER_NODES = `<config.host>:<config.port.http>`, and
//   `elasticsearch.config.password` would be rendered into a plain env value (so we never set it). values.yaml
//   lines 198-203 default `elasticsearch.config.{host: elasticsearch, user: "xxx", password: "xxx"}`, and
//   _helpers.tpl lines 141-148 render SW_ES_USER / SW_ES_PASSWORD whenever those are non-empty and
//   `elasticsearch.enabled` is false: so we set both to "" (test/fixtures/skywalking-helm-4.7.0-defaults.yaml).
//   templates/oap-deployment.yaml lines 188-193 mount each `oap.secretMounts[]` at `path`, with `subPath` only
//   when given (we give none: a subPath mount never sees the Secret's updates), and lines 161-163 render
//   `oap.env` only as plain `value:` (no valueFrom, no envFrom).
//   templates/ui-ingress.yaml: hosts are `host[/path]`, annotations passed through.
// - The chart is published as an OCI artifact, `oci://registry-1.docker.io/apache/skywalking-helm` (Chart.yaml
//   name skywalking-helm), installed with `--set oap.image.tag=10.1.0 --set ui.image.tag=10.1.0`: the repository's
//   README.md at v4.7.0 ("Install released version using Helm repository"; its table of required values gives
//   10.1.0 for both tags), so OAP and UI are one release, the one this chart was released with.
// - @pulumi/kubernetes helm.v3.Release takes an OCI chart as `chart: "oci://..."` with no repositoryOpts: the
//   provider (pulumi/pulumi-kubernetes provider/pkg/provider/helm_release.go, commit 94977969d6, July 2026) hands the
//   name to Helm's downloader with its registry client when registry.IsOCI(name), and looks a chart up in a
//   repository index only when repositoryOpts.repo is set.
// - OAP's storage.elasticsearch.secretsManagementFile (env SW_ES_SECRETS_MANAGEMENT_FILE): a properties
//   file with `user` and `password`, read instead of SW_ES_USER/SW_ES_PASSWORD (OAP application.yml,
//   docs/en/setup/backend/configuration-vocabulary.md).
// - OAP self-observability: the `telemetry` module, selector `prometheus`, port 1234 (SW_TELEMETRY,
//   SW_TELEMETRY_PROMETHEUS_PORT; OAP application.yml and docs "Telemetry for backend").
// - What OAP 10.1.0 counts of received traces (apache/skywalking tag v10.1.0): the histogram
//   `trace_in_latency` with the one label `protocol` ("grpc" in server-receiver-plugin/skywalking-trace-receiver-plugin
//   .../v8/grpc/TraceSegmentReportServiceHandler.java, observed once per received segment; "http" in the REST
//   handler, "kafka" in the Kafka fetcher), so Prometheus sees `trace_in_latency_count{protocol="grpc"}` (the
//   Prometheus client's histogram; OAP's own otel-rules/oap.yaml reads `trace_in_latency_count`). Every
//   createCounter/createHistogramMetric call in oap-server at that tag is labelled by protocol, metric name,
//   level, status or remote address, never by service: OAP exports no per-service ingest series.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ClusterAccess, createObject, HelmChart, helmRelease, inCluster, K8sObject } from "./k8sObjects";
import { mirrored } from "./images";
import type { RuleGroup } from "./alertRules";
import { KUBE_PROMETHEUS_STACK } from "./monitoringValues";
import { INGRESS_CONTROLLER, INGRESS_CONTROLLER_POD_LABELS } from "./ingress";

export const SKYWALKING_CHART: HelmChart = {
  chart: "oci://registry-1.docker.io/apache/skywalking-helm",
  version: "4.7.0",
  repo: "",
  name: "skywalking",
  namespace: "tracing",
};
/** OAP and UI release that chart 4.7.0 was released with (its e2e runs 10.x); one version for both. */
export const OAP_VERSION = "10.1.0";
export const OAP_IMAGE = `docker.io/apache/skywalking-oap-server:${OAP_VERSION}`;
export const UI_IMAGE = `docker.io/apache/skywalking-ui:${OAP_VERSION}`;
/** The chart's wait-for-elasticsearch init container (`initContainer.*`, default busybox 1.30): pinned and mirrored. */
export const WAIT_IMAGE = "docker.io/library/busybox:1.36.1";
/** With fullnameOverride "skywalking", the chart names the OAP Service `skywalking-oap` and the UI Service `skywalking-ui`. */
export const FULLNAME = "skywalking";
export const OAP_SERVICE = `${FULLNAME}-oap`;
export const UI_SERVICE = `${FULLNAME}-ui`;
/** oap.ports in the chart's values.yaml: agents report over gRPC, the UI queries over REST. */
export const OAP_GRPC_PORT = 11800;
export const OAP_REST_PORT = 12800;
/** OAP's own metrics (telemetry module, prometheus selector). */
export const OAP_TELEMETRY_PORT = 1234;
/** The chart's ui.service.externalPort. */
export const UI_PORT = 80;
/** The UI container's port: chart 4.7.0 templates/ui-deployment.yaml containerPort = ui.service.internalPort, 8080 in values.yaml. */
export const UI_CONTAINER_PORT = 8080;
/** The Secret with OAP's Elasticsearch credentials file, the directory it is mounted as, and the file OAP reads. */
export const ES_CREDENTIALS_SECRET = "skywalking-es-credentials";
export const ES_CREDENTIALS_DIR = "/skywalking/es-credentials";
export const ES_CREDENTIALS_FILE = `${ES_CREDENTIALS_DIR}/credentials.properties`;
/**
 * OAP's agent token. Chart 4.7.0 renders `oap.env` only as plain values, so SW_AUTHENTICATION cannot come from a
 * Secret as env. OAP resolves `${SW_AUTHENTICATION:""}` (application.yml line 309, core.default.authentication) from
 * a system property first, then the env (apache/skywalking v10.1.0 PropertyPlaceholderHelper.java lines 99-101); its
 * image starts `exec java ${JAVA_OPTS} ...` (docker/oap/docker-entrypoint.sh line 25) on eclipse-temurin 11
 * (docker/oap/Dockerfile line 17), whose launcher expands an `@file` argument into the file's arguments (JDK 11
 * `java` manual, "java Command-Line Argument Files"). So JAVA_OPTS names an argument file in a Secret, mounted in the
 * OAP pods and in the chart's init Job alike (templates/oap-init.job.yaml lines 79-80 and 101-118 take the same
 * javaOpts and secretMounts), and the file holds `-DSW_AUTHENTICATION=<token>`.
 */
export const OAP_AUTH_SECRET = "skywalking-oap-auth";
export const OAP_AUTH_DIR = "/skywalking/oap-auth";
export const OAP_AUTH_ARGFILE = `${OAP_AUTH_DIR}/jvm.args`;
/** What the token may hold: an argument file splits at blanks and treats quotes and # specially, so none of those. */
export const AGENT_TOKEN_PATTERN = /^[A-Za-z0-9._~+/=-]{16,}$/;

/** The agent, pinned: apache/skywalking-java tag v9.3.0 (8b9243cc7f5aa858c66ced1b54369b5c4b71bd4a). Its image holds the agent under /skywalking/agent (Dockerfile). */
export const AGENT_VERSION = "9.3.0";
export const AGENT_IMAGE = `docker.io/apache/skywalking-java-agent:${AGENT_VERSION}-alpine`;

/** `host:port` of a cluster's OAP for its agents (in-cluster DNS). */
export function oapAddress(): string {
  return `${OAP_SERVICE}.${SKYWALKING_CHART.namespace}.svc:${OAP_GRPC_PORT}`;
}

/** The stack's backend settings from `platform:tracing` (config validated), defaults applied. */
export function tracingSettings(
  stack: string,
  t: {
    elasticsearch?: { host: string; port?: number; tls?: boolean; user?: string };
    oapReplicas?: number;
    oapResources?: { cpu: string; memory: string };
    uiReplicas?: number;
    ui?: { host: string; authUrl: string; authSignin: string; groups: string[] };
  },
  logging: { output: string; host?: string; port?: number; tls?: boolean; user?: string },
  imageMirror?: string,
): TracingSettings {
  const own = t.elasticsearch;
  if (!own && logging.output !== "elasticsearch")
    throw new Error(`platform:tracing.elasticsearch: is required when platform:logging.output is ${logging.output}`);
  const tls = own ? own.tls === true : logging.tls === true;
  const res = t.oapResources ?? { cpu: "1", memory: "4Gi" };
  // Half the memory for the heap: OAP's gRPC and ES client buffers live off-heap.
  const heap = `${Math.max(1, Math.floor(Number(res.memory.replace(/Gi$/, "")) / 2))}g`;
  return {
    esHost: own ? own.host : logging.host!,
    esPort: (own ? own.port : logging.port) ?? 9200,
    esTls: tls,
    // Its own store's user (password platform:tracingElasticsearchPassword), else the logging store's (platform:loggingPassword).
    esUser: own ? own.user : logging.user,
    esPasswordKey: own ? "platform:tracingElasticsearchPassword" : "platform:loggingPassword",
    esNamespace: `skywalking-${stack}`,
    oapReplicas: t.oapReplicas ?? 2,
    oapResources: res,
    oapJavaOpts: `-Xms${heap} -Xmx${heap}`,
    uiReplicas: t.uiReplicas ?? 1,
    ui: t.ui && { host: t.ui.host, authUrl: withAllowedGroups(t.ui.authUrl, t.ui.groups), authSignin: t.ui.authSignin },
    imageMirror,
  };
}

/**
 * The SSO check URL limited to `groups`: oauth2-proxy's /oauth2/auth answers 202 only for a session whose
 * groups include one of the `allowed_groups` query parameter's comma-separated list, 401/403 otherwise
 * (oauth2-proxy docs, "Endpoints" > "Auth", oauth2-proxy.github.io/oauth2-proxy/features/endpoints, read
 * 2026-12-07). A group already given in the URL is replaced, so the stack file's list is the one in force.
 */
export function withAllowedGroups(authUrl: string, groups: string[]): string {
  const u = new URL(authUrl);
  u.searchParams.set("allowed_groups", groups.join(","));
  return u.toString();
}

/** The settings a stack gives its tracing backend (`platform:tracing`, defaults applied). */
export interface TracingSettings {
  /** Elasticsearch host (no scheme) and port OAP stores in. */
  esHost: string;
  esPort: number;
  /** https to Elasticsearch. */
  esTls: boolean;
  /** The ES user; with it, the password reaches OAP through a mounted Secret file. */
  esUser?: string;
  /** The secret config key holding esUser's password, for the error when it is missing. Default platform:loggingPassword. */
  esPasswordKey?: string;
  /** Prefix of OAP's indices (SW_NAMESPACE): one per cluster, so clusters sharing a store stay apart. */
  esNamespace: string;
  oapReplicas: number;
  oapResources: { cpu: string; memory: string };
  /** OAP's JVM heap flags. */
  oapJavaOpts: string;
  uiReplicas: number;
  /** OAP requires the agents' token (SW_AUTHENTICATION from the argument file in OAP_AUTH_SECRET). Default false. */
  agentAuth?: boolean;
  /** The UI's Ingress: host and the SSO auth endpoints of ingress-nginx's external auth (authUrl already limited to the UI's groups). None: no Ingress. */
  ui?: { host: string; authUrl: string; authSignin: string };
  imageMirror?: string;
}

function repoAndTag(image: string): { repository: string; tag: string } {
  const i = image.lastIndexOf(":");
  return { repository: image.slice(0, i), tag: image.slice(i + 1) };
}

/** The chart's values; pure. Every key is one chart v4.7.0's values.yaml declares (test/k8s/tracing.test.ts checks). */
export function skywalkingValues(s: TracingSettings): Record<string, unknown> {
  const wait = repoAndTag(mirrored(WAIT_IMAGE, s.imageMirror));
  const env: Record<string, string> = {
    SW_NAMESPACE: s.esNamespace,
    SW_STORAGE_ES_HTTP_PROTOCOL: s.esTls ? "https" : "http",
    SW_TELEMETRY: "prometheus",
    SW_TELEMETRY_PROMETHEUS_PORT: String(OAP_TELEMETRY_PORT),
  };
  if (s.esUser !== undefined) env.SW_ES_SECRETS_MANAGEMENT_FILE = ES_CREDENTIALS_FILE;
  return {
    fullnameOverride: FULLNAME,
    initContainer: { image: wait.repository, tag: wait.tag },
    oap: {
      image: { ...repoAndTag(mirrored(OAP_IMAGE, s.imageMirror)), pullPolicy: "IfNotPresent" },
      storageType: "elasticsearch",
      replicas: s.oapReplicas,
      // The telemetry port joins the Service (the chart lists every oap.ports entry), for the ServiceMonitor.
      ports: { grpc: OAP_GRPC_PORT, rest: OAP_REST_PORT, telemetry: OAP_TELEMETRY_PORT },
      javaOpts: s.agentAuth ? `${s.oapJavaOpts} @${OAP_AUTH_ARGFILE}` : s.oapJavaOpts,
      // Up to 300 s for the storage init Job before the kubelet restarts a starting OAP (the chart's default: 90 s).
      startupProbe: { tcpSocket: { port: OAP_REST_PORT }, failureThreshold: 30, periodSeconds: 10 },
      antiAffinity: "hard",
      resources: { requests: s.oapResources, limits: { memory: s.oapResources.memory } },
      env,
      // Secrets as directories, not subPaths: the kubelet updates them in place, so OAP's hot reload of the ES file sees a new password.
      ...(s.esUser !== undefined || s.agentAuth
        ? {
            secretMounts: [
              ...(s.esUser !== undefined ? [{ name: "es-credentials", secretName: ES_CREDENTIALS_SECRET, path: ES_CREDENTIALS_DIR }] : []),
              ...(s.agentAuth ? [{ name: "oap-auth", secretName: OAP_AUTH_SECRET, path: OAP_AUTH_DIR }] : []),
            ],
          }
        : {}),
    },
    ui: {
      replicas: s.uiReplicas,
      image: { ...repoAndTag(mirrored(UI_IMAGE, s.imageMirror)), pullPolicy: "IfNotPresent" },
      ingress: s.ui
        ? {
            enabled: true,
            // ingress-nginx external auth: every request is checked against the company SSO first, like log search's realm.
            annotations: {
              "kubernetes.io/ingress.class": "nginx",
              "nginx.ingress.kubernetes.io/auth-url": s.ui.authUrl,
              "nginx.ingress.kubernetes.io/auth-signin": s.ui.authSignin,
            },
            path: "/",
            hosts: [s.ui.host],
            tls: [],
          }
        : { enabled: false },
    },
    // An existing cluster: the chart's bundled Elasticsearch stays off. user and password "" so the chart's defaults
    // ("xxx"/"xxx") are not rendered as SW_ES_USER/SW_ES_PASSWORD; a real login comes through the credentials file.
    elasticsearch: { enabled: false, config: { host: s.esHost, port: { http: s.esPort }, user: "", password: "" } },
    banyandb: { enabled: false },
    postgresql: { enabled: false },
    satellite: { enabled: false },
  };
}

/**
 * The ServiceMonitor that has Prometheus scrape OAP's own metrics (port `telemetry`, path /metrics as OAP's
 * fetcher-prom-rules/self.yaml reads them). Its selector is the OAP Service's labels in chart 4.7.0
 * templates/oap-svc.yaml: app = the release name, component = oap.name ("oap"), release = the release name.
 */
export function oapServiceMonitor(clusterName: string): K8sObject {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    metadata: { name: OAP_SERVICE, namespace: SKYWALKING_CHART.namespace, labels: { "platform/cluster": clusterName } },
    spec: {
      selector: { matchLabels: { app: SKYWALKING_CHART.name, component: "oap", release: SKYWALKING_CHART.name } },
      endpoints: [{ port: "telemetry", path: "/metrics", interval: "30s" }],
    },
  };
}

/**
 * The OAP pods' labels in chart apache/skywalking-helm 4.7.0 (templates/oap-deployment.yaml pod template: app =
 * `skywalking.name`, the release name; component = oap.name, "oap" in values.yaml; release = the release name), and
 * the UI pods' (templates/ui-deployment.yaml, component = ui.name, "ui").
 */
export const OAP_POD_LABELS = { app: SKYWALKING_CHART.name, component: "oap", release: SKYWALKING_CHART.name };
export const UI_POD_LABELS = { app: SKYWALKING_CHART.name, component: "ui", release: SKYWALKING_CHART.name };
/**
 * The Prometheus pods: the operator labels them `app.kubernetes.io/name: prometheus` (prometheus-operator's Prometheus
 * controller, `applicationNameLabelValue = "prometheus"`, read 2026-12-07; kube-prometheus-stack 87.12.5 ships
 * operator v0.92.1), in the monitoring release's namespace.
 */
export const PROMETHEUS_POD_LABELS = { "app.kubernetes.io/name": "prometheus" };

/**
 * Who may open a connection to OAP (T29): its GraphQL/REST port answers every query without authentication, so only
 * the chart's UI may reach it; the agents' gRPC port stays open to every namespace (OAP checks their token,
 * platform:tracingAgentToken), which also carries OAP's own cluster traffic: chart 4.7.0 sets SW_CLUSTER=kubernetes
 * (templates/oap-deployment.yaml), and OAP 10.1.0's Kubernetes coordinator addresses each peer as its pod IP and
 * the core gRPC port (apache/skywalking v10.1.0 cluster-kubernetes-plugin KubernetesCoordinator.java), 11800.
 * The telemetry port only from the monitoring namespace's Prometheus. Enforced by kube-router (networkPolicy.ts). Ingress only: OAP's egress (Elasticsearch, the
 * api-server for its coordinator) is not restricted.
 */
export function oapNetworkPolicy(): K8sObject {
  return ingressPolicy("skywalking-oap", OAP_POD_LABELS, [
    { from: [{ podSelector: { matchLabels: UI_POD_LABELS } }], ports: [{ protocol: "TCP", port: OAP_REST_PORT }] },
    { from: [{ namespaceSelector: {} }], ports: [{ protocol: "TCP", port: OAP_GRPC_PORT }] },
    { from: [podsIn(KUBE_PROMETHEUS_STACK.namespace, PROMETHEUS_POD_LABELS)], ports: [{ protocol: "TCP", port: OAP_TELEMETRY_PORT }] },
  ]);
}

/**
 * Who may open a connection to the UI (T29): the UI's server forwards /graphql to OAP's 12800 for any caller without
 * authentication, so its port answers only the cluster's global ingress-nginx controller pods, the way in that checks
 * the SSO group (the Ingress's auth-url). Scripts use `kubectl port-forward` (docs/tracing.md "Access"): it and the
 * kubelet's probes come from the node, which kube-router accepts.
 */
export function uiNetworkPolicy(): K8sObject {
  return ingressPolicy("skywalking-ui", UI_POD_LABELS, [
    { from: [podsIn(INGRESS_CONTROLLER.namespace, INGRESS_CONTROLLER_POD_LABELS)], ports: [{ protocol: "TCP", port: UI_CONTAINER_PORT }] },
  ]);
}

/** The pods of `namespace` carrying `labels`, as a NetworkPolicy peer (the namespace by its immutable name label). */
function podsIn(namespace: string, labels: Record<string, string>) {
  return { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } }, podSelector: { matchLabels: labels } };
}

/** A NetworkPolicy in tracing that admits only `ingress` to the pods with `podLabels` (egress left open). */
function ingressPolicy(name: string, podLabels: Record<string, string>, ingress: unknown[]): K8sObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: SKYWALKING_CHART.namespace },
    spec: { podSelector: { matchLabels: podLabels }, policyTypes: ["Ingress"], ingress },
  };
}

/** The Prometheus job of OAP's telemetry: the operator names a ServiceMonitor's job after the Service it scrapes. */
export const OAP_JOB = OAP_SERVICE;
/** How long the web layer must take requests while OAP receives no segment before the alert fires. */
export const NO_TRACES_FOR = "15m";

/** A traced app as the alert matches it at the ingress (the app's Ingress is named after it, its canary's `<app>-canary`). */
export interface TracedApp {
  app: string;
  namespace: string;
}

/**
 * The tracing alerts of one cluster; pure (test/k8s/tracingAlerts.test.ts runs them through promtool).
 * OAP 10.1.0 counts received segments only per protocol (`trace_in_latency_count{protocol}`, see the
 * header), so "an app stops sending traces" is judged cluster-wide: OAP received no segment over gRPC
 * for NO_TRACES_FOR while the traced apps' Ingresses took requests (every traced request makes a
 * segment; the agent's sampling caps them per 3 s but never to zero). Per app it cannot be told from
 * Prometheus (docs/tracing.md, "Alerts"). OAPDown covers the case where there is no counter at all.
 */
export function tracingAlertRules(cluster: string, apps: TracedApp[], ingressNamespaceLabel = "exported_namespace"): RuleGroup[] {
  const oap = `job="${OAP_JOB}",namespace="${SKYWALKING_CHART.namespace}"`;
  const rules: RuleGroup["rules"] = [
    {
      alert: "SkyWalkingOAPDown",
      expr: `absent(up{${oap}} == 1)`,
      for: "10m",
      labels: { severity: "critical", cluster },
      annotations: {
        summary: `No SkyWalking OAP answers in cluster ${cluster}`,
        description:
          `Prometheus has scraped no healthy OAP (service ${OAP_SERVICE} in namespace ${SKYWALKING_CHART.namespace}) for 10 minutes: ` +
          `the apps' agents buffer and then drop their segments. \`kubectl -n ${SKYWALKING_CHART.namespace} get pods -l app=${SKYWALKING_CHART.name},component=oap\`.`,
      },
    },
  ];
  if (apps.length > 0) {
    const byNs = new Map<string, string[]>();
    for (const a of apps) byNs.set(a.namespace, [...(byNs.get(a.namespace) ?? []), a.app, `${a.app}-canary`]);
    const busy = [...byNs]
      .sort((x, y) => x[0].localeCompare(y[0]))
      .map(([ns, names]) => `rate(nginx_ingress_controller_requests{${ingressNamespaceLabel}="${ns}",ingress=~"${names.join("|")}"}[${NO_TRACES_FOR}])`)
      .join(" or ");
    rules.push({
      alert: "TracesNotReceived",
      expr: `sum(rate(trace_in_latency_count{${oap},protocol="grpc"}[${NO_TRACES_FOR}])) == 0\n` + `and on()\n` + `sum(${busy}) > 0`,
      for: NO_TRACES_FOR,
      labels: { severity: "warning", cluster },
      annotations: {
        summary: `SkyWalking OAP receives no traces in cluster ${cluster}`,
        description:
          `The traced apps' Ingresses took requests for ${NO_TRACES_FOR}, but OAP received no trace segment over gRPC: ` +
          `the agents are not reporting (agent missing, ${oapAddress()} unreachable, or OAP rejecting). ` +
          "Check an app pod's log for the agent's `SW_` lines and the OAP pods' log.",
      },
    });
  }
  return [{ name: `platform-tracing.${cluster}`, rules }];
}

/** The PrometheusRule of the tracing alerts, beside the ServiceMonitor, labelled for the Prometheus rule selector. */
export function tracingPrometheusRule(cluster: string, groups: RuleGroup[]): K8sObject {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: {
      name: "platform-tracing",
      namespace: SKYWALKING_CHART.namespace,
      labels: { release: KUBE_PROMETHEUS_STACK.name, "platform/cluster": cluster },
    },
    spec: { groups },
  };
}

/**
 * One value as java.util.Properties.load reads it back unchanged (JDK 17 Properties javadoc, `load(Reader)`):
 * a backslash starts an escape, so it is doubled; leading blanks after `=` are skipped, so each is escaped; a
 * line break ends the value, so CR/LF/TAB/FF are written as escapes; anything outside printable ASCII as a
 * backslash-u escape
 * (load(InputStream) reads ISO 8859-1).
 */
export function propertiesValue(v: string): string {
  let out = "";
  let leading = true;
  for (const ch of v) {
    const code = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\f") out += "\\f";
    else if (ch === " " && leading) out += "\\ ";
    else if (code < 0x20 || code > 0x7e)
      // Each UTF-16 unit (a surrogate pair as two), as Properties.load decodes them.
      out += ch
        .split("")
        .map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, "0")}`)
        .join("");
    else out += ch;
    if (ch !== " " && ch !== "\t" && ch !== "\f") leading = false;
  }
  return out;
}

/** The argument file that gives OAP its agent token; refuses a token an argument file would split or mangle (the message never shows it). */
export function oapAuthArgs(token: string): string {
  if (!AGENT_TOKEN_PATTERN.test(token))
    throw new Error("platform:tracingAgentToken: must be at least 16 of letters, digits and . _ ~ + / = - (e.g. `openssl rand -hex 32`)");
  return `-DSW_AUTHENTICATION=${token}\n`;
}

/** The properties file OAP reads its Elasticsearch credentials from (secretsManagementFile). */
export function esCredentialsFile(user: string, password: string): string {
  return `user=${propertiesValue(user)}\npassword=${propertiesValue(password)}\n`;
}

export interface TracingArgs {
  /** The cluster's provider and readiness gate. */
  cluster: ClusterAccess;
  /** The backend's settings (components/config: `platform:tracing`, defaults applied). */
  settings: TracingSettings;
  /** Stack (cluster) name, on the ServiceMonitor. */
  clusterName: string;
  /** The Prometheus operator's release (its CRDs): with it, a ServiceMonitor scrapes OAP. Default none. */
  monitoringRelease?: pulumi.Resource;
  /**
   * The ingress controller's release. With `settings.ui` the chart renders the UI's Ingress, which ingress-nginx's
   * admission webhook (failurePolicy Fail) must answer, so the release waits for it; without a UI nothing here does.
   * Default none.
   */
  ingressController?: pulumi.Resource;
  /** The apps whose agents report here, for the "no traces" alert. Default none (only the OAP-down alert). */
  tracedApps?: TracedApp[];
  /** The password of settings.esUser (settings.esPasswordKey, a Pulumi secret); required with esUser. No default. */
  esPassword?: pulumi.Input<string>;
  /** The agents' token (`platform:tracingAgentToken`, a Pulumi secret): OAP then refuses agents without it. Default none (open). */
  agentToken?: pulumi.Input<string>;
}

/** The SkyWalking backend of one cluster: OAP (2+ replicas) and UI in namespace `tracing`. */
export class Tracing extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;
  /** `host:port` the cluster's agents report to. */
  public readonly oapAddress: string = oapAddress();

  constructor(name: string, args: TracingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:k8s:Tracing", name, {}, opts);
    const s: TracingSettings = { ...args.settings, agentAuth: args.agentToken !== undefined };
    if (s.esUser !== undefined && args.esPassword === undefined) {
      throw new pulumi.ResourceError(`Tracing ${name}: the Elasticsearch user ${s.esUser} needs ${s.esPasswordKey ?? "platform:loggingPassword"}`, this);
    }
    const ns = new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: SKYWALKING_CHART.namespace } }, inCluster(this, args.cluster));
    const deps: pulumi.Resource[] = [ns];
    if (s.esUser !== undefined) {
      const user = s.esUser;
      deps.push(
        new k8s.core.v1.Secret(
          `${name}-es-credentials`,
          {
            metadata: { name: ES_CREDENTIALS_SECRET, namespace: SKYWALKING_CHART.namespace },
            type: "Opaque",
            stringData: pulumi.secret(pulumi.output(args.esPassword!).apply((p) => ({ "credentials.properties": esCredentialsFile(user, p) }))),
          },
          inCluster(this, args.cluster, { dependsOn: [ns] }),
        ),
      );
    }
    if (args.agentToken !== undefined) {
      deps.push(
        new k8s.core.v1.Secret(
          `${name}-oap-auth`,
          {
            metadata: { name: OAP_AUTH_SECRET, namespace: SKYWALKING_CHART.namespace },
            type: "Opaque",
            stringData: pulumi.secret(pulumi.output(args.agentToken).apply((t) => ({ "jvm.args": oapAuthArgs(t) }))),
          },
          inCluster(this, args.cluster, { dependsOn: [ns] }),
        ),
      );
    }
    this.release = helmRelease(
      `${name}-skywalking`,
      // No wait, no atomic (atomic turns Helm's wait on): chart 4.7.0's storage init is a post-install hook Job that
      // Helm runs only after the wait, and OAP (-Dmode=no-init) is not Ready before it ran, so a waiting install
      // deadlocks until the timeout (fixed upstream after 4.9.0 by apache/skywalking-helm#190, not in a release).
      { chart: SKYWALKING_CHART, createNamespace: false, skipAwait: true, timeout: 900, values: skywalkingValues(s) },
      inCluster(this, args.cluster, { dependsOn: s.ui && args.ingressController ? [...deps, args.ingressController] : deps }),
    );
    // Only the UI reaches OAP's unauthenticated query port (T29); kube-router (networkPolicy.ts) enforces it.
    createObject(name, oapNetworkPolicy(), inCluster(this, args.cluster, { dependsOn: [ns] }));
    // Nor through the UI's /graphql proxy: only the ingress controller reaches the UI (T29).
    createObject(name, uiNetworkPolicy(), inCluster(this, args.cluster, { dependsOn: [ns] }));
    if (args.monitoringRelease) {
      // A ServiceMonitor selects Services by label: it needs the operator's CRD and its namespace, not OAP's Service.
      const { apiVersion, kind, metadata, ...rest } = oapServiceMonitor(args.clusterName);
      new k8s.apiextensions.CustomResource(
        `${name}-oap-servicemonitor`,
        { apiVersion, kind, metadata, ...rest },
        inCluster(this, args.cluster, { dependsOn: [ns, args.monitoringRelease] }),
      );
      const rule = tracingPrometheusRule(args.clusterName, tracingAlertRules(args.clusterName, args.tracedApps ?? []));
      new k8s.apiextensions.CustomResource(
        `${name}-alerts`,
        { apiVersion: rule.apiVersion, kind: rule.kind, metadata: rule.metadata, spec: rule.spec },
        inCluster(this, args.cluster, { dependsOn: [ns, args.monitoringRelease] }),
      );
    }
    this.registerOutputs({ oapAddress: this.oapAddress });
  }
}
