// Tracing (issue #32, components/k8s/tracing.ts, docs/tracing.md): each member stack with apps plans one
// SkyWalking release (chart apache/skywalking-helm 4.7.0) whose values use only keys that chart declares,
// and every JavaApp of every stack carries the pinned agent, pointed at the OAP Service that release
// renders in the same cluster, with env names the pinned agent's agent.config declares. Bad values
// are config errors naming the key.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadEngineConfig } from "../../components/config/stackFiles";
import { esCredentialsFile, oapAuthArgs, skywalkingValues } from "../../components/k8s/tracing";
import { ofType, plan } from "../support/offline";
import { configProblems, configProblemsAfter } from "../support/configProblems";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const APP_STACKS = ["dev", "test", "pre", "prod1", "prod2"] as const;
const FIXTURES = path.join(__dirname, "..", "fixtures");

/** Every leaf of the chart's values.yaml at v4.7.0 (listed from the file), and the maps its templates range over. */
const KEY_LINES = fs
  .readFileSync(path.join(FIXTURES, "skywalking-helm-4.7.0-values-keys.txt"), "utf8")
  .split("\n")
  .filter((l) => l && !l.startsWith("#"));
const RANGED = KEY_LINES.filter((l) => l.startsWith("ranged ")).map((l) => l.slice("ranged ".length));
const CHART_KEYS = KEY_LINES.filter((l) => !l.startsWith("ranged "));
/** The agent.config env names at v9.3.0. */
const AGENT_ENV = fs
  .readFileSync(path.join(FIXTURES, "skywalking-java-9.3.0-agent-env.txt"), "utf8")
  .split("\n")
  .filter((l) => l && !l.startsWith("#"))
  .map((l) => l.split(" ")[0]);

/** Chart defaults on our render path (values.yaml at v4.7.0): dotted path and default. */
const CHART_DEFAULTS = fs
  .readFileSync(path.join(FIXTURES, "skywalking-helm-4.7.0-defaults.txt"), "utf8")
  .split("\n")
  .filter((l) => l && !l.startsWith("#"))
  .map((l) => {
    const i = l.indexOf(" ");
    return { key: l.slice(0, i), value: JSON.parse(l.slice(i + 1)) as unknown };
  });

function at(v: unknown, dotted: string): unknown {
  return dotted.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), v);
}

/** Dotted paths of the leaves of a values object; a map or list under a chart key that ranges over it stops there. */
function leafPaths(v: unknown, prefix = ""): string[] {
  if (CHART_KEYS.includes(prefix) || RANGED.includes(prefix)) return [prefix];
  if (typeof v !== "object" || v === null || Array.isArray(v)) return [prefix];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => leafPaths(x, prefix ? `${prefix}.${k}` : k));
}

const problems = configProblems;
/** Rewrites a stack's platform:tracing object in the loaded values (to delete a key no override can remove). */
function editTracing(values: Record<string, string>, edit: (tracing: Record<string, unknown>) => void): void {
  const t = JSON.parse(values["platform:tracing"]) as Record<string, unknown>;
  edit(t);
  values["platform:tracing"] = JSON.stringify(t);
}

type Container = { name: string; image: string; env?: { name: string; value?: string; valueFrom?: unknown }[]; command?: string[]; volumeMounts?: unknown[] };
type PodSpec = { initContainers?: Container[]; containers: Container[]; volumes?: { name: string; emptyDir?: unknown }[] };

describe.each(APP_STACKS)("%s tracing", (stack) => {
  test("one SkyWalking release: chart 4.7.0 from its OCI home, namespace tracing, OAP and UI images pinned through the mirror", async () => {
    const p = await plan(stack);
    const releases = ofType(p, RELEASE).filter((r) => r.inputs.name === "skywalking");
    expect(releases).toHaveLength(1);
    const r = releases[0].inputs as Record<string, unknown>;
    expect(r.chart).toBe("oci://registry-1.docker.io/apache/skywalking-helm");
    expect(r.version).toBe("4.7.0");
    expect(r.namespace).toBe("tracing");
    const v = r.values as { fullnameOverride: string; oap: Record<string, unknown>; ui: Record<string, unknown>; elasticsearch: { enabled: boolean } };
    expect(v.fullnameOverride).toBe("skywalking");
    expect(v.oap.image).toEqual({ repository: "mirror.livemall.internal/docker.io/apache/skywalking-oap-server", tag: "10.1.0", pullPolicy: "IfNotPresent" });
    expect(v.ui.image).toEqual({ repository: "mirror.livemall.internal/docker.io/apache/skywalking-ui", tag: "10.1.0", pullPolicy: "IfNotPresent" });
    expect(v.oap.storageType).toBe("elasticsearch");
    // The chart's own Elasticsearch stays off: OAP writes to the company's store.
    expect(v.elasticsearch.enabled).toBe(false);
    // Every key set is one the chart's values.yaml at v4.7.0 declares.
    for (const k of leafPaths(v)) expect([...CHART_KEYS, ...RANGED]).toContain(k);
    // Chart 4.7.0 runs OAP's storage init as a post-install/post-upgrade hook Job (templates/oap-init.job.yaml)
    // while the OAP pods start with -Dmode=no-init and are not Ready before it ran; Helm runs post hooks only
    // after --wait saw the release Ready, and --atomic turns --wait on (helm pkg/action/install.go
    // `i.Wait = i.Wait || i.Atomic`). So: no wait, no atomic (the provider's skipAwait sets client.Wait = false,
    // pulumi-kubernetes provider/pkg/provider/helm_release.go), else a fresh install deadlocks until the timeout.
    expect(r.skipAwait).toBe(true);
    expect(r.atomic).toBeUndefined();
    // Every chart default on our render path is set by us; a host or credential never keeps the chart's value
    // (its elasticsearch.config.user/password "xxx" would become SW_ES_USER/SW_ES_PASSWORD, _helpers.tpl 141-148).
    expect(CHART_DEFAULTS.map((d) => d.key)).toEqual([
      "elasticsearch.config.host",
      "elasticsearch.config.port.http",
      "elasticsearch.config.user",
      "elasticsearch.config.password",
      "ui.ingress.hosts",
    ]);
    for (const d of CHART_DEFAULTS) {
      if (d.key.startsWith("ui.ingress.") && at(v, "ui.ingress.enabled") === false) continue;
      expect([d.key, at(v, d.key) !== undefined]).toEqual([d.key, true]);
      if (!d.key.endsWith(".port.http")) expect([d.key, at(v, d.key)]).not.toEqual([d.key, d.value]);
    }
    expect(at(v, "elasticsearch.config.user")).toBe("");
    expect(at(v, "elasticsearch.config.password")).toBe("");
    // The pod waits up to 300 s for that Job before the kubelet restarts it (the chart's default gives 90 s).
    expect((v.oap as { startupProbe: unknown }).startupProbe).toEqual({ tcpSocket: { port: 12800 }, failureThreshold: 30, periodSeconds: 10 });
  });

  test("every JavaApp carries the agent 9.3.0 from the mirror and reports to this cluster's skywalking-oap Service on 11800", async () => {
    const p = await plan(stack);
    const release = ofType(p, RELEASE).find((r) => r.inputs.name === "skywalking")!;
    const values = release.inputs.values as { fullnameOverride: string; oap: { ports: { grpc: number } } };
    // templates/_helpers.tpl at v4.7.0: the OAP Service is "<fullname>-oap", its ports are oap.ports.
    const oap = `${values.fullnameOverride}-oap.${release.inputs.namespace}.svc:${values.oap.ports.grpc}`;
    expect(oap).toBe("skywalking-oap.tracing.svc:11800");
    const apps = loadEngineConfig(stack).values["platform:apps"];
    const appNames = Object.keys(JSON.parse(apps) as Record<string, unknown>);
    const deployments = ofType(p, DEPLOYMENT).filter((d) =>
      appNames.some((a) => d.name === `${stack}-${a}-deployment-${a}` || d.name === `${stack}-${a}-deployment-${a}-canary`),
    );
    expect(deployments.length).toBeGreaterThanOrEqual(appNames.length);
    for (const d of deployments) {
      const pod = (d.inputs.spec as { template: { spec: PodSpec } }).template.spec;
      const app = (d.inputs.metadata as { labels: Record<string, string> }).labels["app.kubernetes.io/name"];
      const track = (d.inputs.metadata as { labels: Record<string, string> }).labels["platform/track"];
      const init = pod.initContainers?.[0];
      expect(init?.name).toBe("skywalking-agent");
      expect(init?.image).toBe("mirror.livemall.internal/docker.io/apache/skywalking-java-agent:9.3.0-alpine");
      expect(init?.command).toEqual(["cp", "-R", "/skywalking/agent", "/target/"]);
      expect(pod.volumes).toContainEqual({ name: "skywalking-agent", emptyDir: {} });
      // The copy lands in the emptyDir: its target is the init container's mount of that volume.
      expect(init?.volumeMounts).toEqual([{ name: "skywalking-agent", mountPath: "/target" }]);
      // The agent image keeps the jar at /skywalking/agent/skywalking-agent.jar (skywalking-java v9.3.0
      // Dockerfile line 35 `ADD $DIST /skywalking/agent`, line 31 names that jar); `cp -R /skywalking/agent /target/` makes it
      // agent/skywalking-agent.jar in the volume, which the app mounts at /skywalking: the path -javaagent names.
      expect(pod.containers[0].volumeMounts).toContainEqual({ name: "skywalking-agent", mountPath: "/skywalking", readOnly: true });
      // Tied, whatever the literals become: cp's target is where the init container mounts the volume, and the
      // app's mount of the same volume + /agent/skywalking-agent.jar is the -javaagent path.
      const initMount = (init?.volumeMounts as { name: string; mountPath: string }[]).find((m) => m.name === "skywalking-agent")!;
      expect(init?.command?.[3]).toBe(`${initMount.mountPath}/`);
      const appMount = (pod.containers[0].volumeMounts as { name: string; mountPath: string }[]).find((m) => m.name === "skywalking-agent")!;
      const envOf = Object.fromEntries((pod.containers[0].env ?? []).map((e) => [e.name, e.value]));
      expect(envOf.JAVA_TOOL_OPTIONS).toBe(`-javaagent:${appMount.mountPath}/agent/skywalking-agent.jar`);
      const env = Object.fromEntries((pod.containers[0].env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
      expect(env.JAVA_TOOL_OPTIONS).toBe("-javaagent:/skywalking/agent/skywalking-agent.jar");
      expect(env.SW_AGENT_NAME).toBe(app);
      expect(env.SW_AGENT_COLLECTOR_BACKEND_SERVICES).toBe(oap);
      expect(env.POD_NAME).toEqual({ fieldRef: { fieldPath: "metadata.name" } });
      expect(env.SW_AGENT_INSTANCE_NAME).toBe("$(POD_NAME)");
      // A pod name is up to 63 characters (a DNS label); the agent's default keeps 50 (agent.config line 53).
      expect(env.SW_AGENT_INSTANCE_NAME_MAX_LENGTH).toBe("63");
      // No SW_AGENT_CLUSTER / SW_AGENT_NAMESPACE: either renames the service "<app>|<namespace>|<cluster>"
      // (SnifferConfigInitializer lines 111-117), and the UI would not list the service under the app's name.
      expect(env.SW_AGENT_CLUSTER).toBeUndefined();
      expect(env.SW_AGENT_NAMESPACE).toBeUndefined();
      const props = JSON.parse(env.SW_INSTANCE_PROPERTIES_JSON as string) as Record<string, string>;
      expect(props).toMatchObject({ env: stack, k8s_cluster: stack, track });
      // The agent appends namespace, cluster and version after ours (InstanceJsonPropertiesUtil lines 47-49)
      // and OAP keeps the last: none of ours may use those names.
      expect(Object.keys(props).sort()).toEqual(["app_version", "env", "k8s_cluster", "k8s_namespace", "track"]);
      // The agent's token to OAP comes from the app's own Secret, never as a value.
      expect(env.SW_AGENT_AUTHENTICATION).toEqual({ secretKeyRef: { name: `${app}-skywalking-agent`, key: "token" } });
      // Every SW_* name is one agent.config v9.3.0 reads.
      for (const name of Object.keys(env).filter((n) => n.startsWith("SW_"))) expect(AGENT_ENV).toContain(name);
    }
  });
});

test("sampling per stack: prod1 samples 10 traces per 3 s, pre 20, dev keeps every trace", async () => {
  const sample = async (stack: string) => {
    const d = ofType(await plan(stack), DEPLOYMENT).find((x) => x.name === `${stack}-order-service-deployment-order-service`)!;
    const env = (d.inputs.spec as { template: { spec: PodSpec } }).template.spec.containers[0].env!;
    return env.find((e) => e.name === "SW_AGENT_SAMPLE")?.value;
  };
  expect(await sample("prod1")).toBe("10");
  expect(await sample("pre")).toBe("20");
  expect(await sample("dev")).toBeUndefined();
});

test("a canary's pods are tagged track=canary with the canary's version, so their traces compare with stable's", async () => {
  const stacks = await Promise.all(APP_STACKS.map(async (s) => ({ s, p: await plan(s) })));
  const canaries = stacks.flatMap(({ p }) => ofType(p, DEPLOYMENT).filter((d) => d.name.endsWith("-canary")));
  expect(canaries.length).toBeGreaterThan(0);
  for (const d of canaries) {
    const labels = (d.inputs.metadata as { labels: Record<string, string> }).labels;
    const env = (d.inputs.spec as { template: { spec: PodSpec } }).template.spec.containers[0].env!;
    const props = JSON.parse(env.find((e) => e.name === "SW_INSTANCE_PROPERTIES_JSON")!.value!) as Record<string, string>;
    expect(props.track).toBe("canary");
    expect(props.app_version).toBe(labels["app.kubernetes.io/version"]);
  }
});

test("an app with tracing: false gets no agent, and the others keep theirs", async () => {
  const p = await plan("dev", ["platform:apps.order-service.tracing=false"]);
  const pod = (name: string) => (ofType(p, DEPLOYMENT).find((d) => d.name === name)!.inputs.spec as { template: { spec: PodSpec } }).template.spec;
  const off = pod("dev-order-service-deployment-order-service");
  expect(off.initContainers).toBeUndefined();
  expect(off.containers[0].env!.map((e) => e.name)).not.toContain("JAVA_TOOL_OPTIONS");
  expect(pod("dev-distribution-center-deployment-distribution-center").initContainers![0].name).toBe("skywalking-agent");
});

test("the host plans no tracing backend", async () => {
  expect(ofType(await plan("host"), RELEASE).filter((r) => r.inputs.name === "skywalking")).toEqual([]);
});

describe("bad values are config errors naming the key", () => {
  test("a sampling rate outside 1..2147483647", () => {
    expect(problems("prod1", "platform:tracing.sampleNPer3Secs=0")).toEqual([
      "platform:tracing.sampleNPer3Secs: must be >= 1 (traces per 3 seconds per instance; leave it out to keep every trace)",
    ]);
    expect(problems("prod1", "platform:tracing.sampleNPer3Secs=2147483648")).toEqual([
      "platform:tracing.sampleNPer3Secs: must be <= 2147483647 (the agent reads a Java int)",
    ]);
    expect(problems("prod1", "platform:tracing.sampleNPer3Secs=2.5")).toEqual(["platform:tracing.sampleNPer3Secs: must be a whole number"]);
  });

  test("OAP memory under 2Gi (its heap is half of it)", () => {
    expect(problems("dev", "platform:tracing.oapResources.memory=1Gi")).toEqual([
      "platform:tracing.oapResources.memory: must be at least 2Gi (OAP's heap is half of it, at least 1g, and its gRPC and ES buffers live off-heap)",
    ]);
    expect(problems("dev", "platform:tracing.oapResources.memory=2Gi")).toEqual([]);
  });

  test("a UI Ingress without its SSO groups, or an empty list", () => {
    expect(configProblemsAfter("prod1", [], (c) => editTracing(c.values, (t) => delete (t.ui as { groups?: string[] }).groups))).toEqual([
      "platform:tracing.ui.groups: is required",
    ]);
    expect(problems("prod1", "platform:tracing.ui.groups=[]")).toEqual([
      "platform:tracing.ui.groups: must name at least one SSO group (the UI shows every namespace's traces of the cluster)",
    ]);
  });

  test("an unknown storage", () => {
    expect(problems("prod1", "platform:tracing.storage=banyandb")).toEqual([
      "platform:tracing.storage: must be elasticsearch (the only storage this platform runs OAP on; docs/tracing.md)",
    ]);
  });

  test("behind Kafka, OAP's Elasticsearch must be named", () => {
    expect(configProblemsAfter("prod1", [], (c) => editTracing(c.values, (t) => delete t.elasticsearch))).toEqual([
      "platform:tracing.elasticsearch: is required when platform:logging.output is kafka (OAP stores in Elasticsearch)",
    ]);
  });

  test("tracing: true on an app of a stack without platform:tracing", () => {
    expect(configProblemsAfter("dev", ["platform:apps.order-service.tracing=true"], (c) => delete c.values["platform:tracing"])).toEqual([
      "platform:apps.order-service.tracing: needs platform:tracing (the stack has no tracing backend)",
    ]);
  });
});

test("with the logging store's user, the password reaches OAP as a mounted file, never as a value", () => {
  const v = skywalkingValues({
    esHost: "es.example.internal",
    esPort: 9200,
    esTls: true,
    esUser: "skywalking",
    esNamespace: "skywalking-dev",
    oapReplicas: 2,
    oapResources: { cpu: "1", memory: "4Gi" },
    oapJavaOpts: "-Xms2g -Xmx2g",
    uiReplicas: 1,
  }) as { oap: { env: Record<string, string>; secretMounts: unknown[] }; elasticsearch: { config: Record<string, unknown> } };
  expect(v.oap.env.SW_ES_SECRETS_MANAGEMENT_FILE).toBe("/skywalking/es-credentials/credentials.properties");
  expect(v.oap.env.SW_STORAGE_ES_HTTP_PROTOCOL).toBe("https");
  expect(v.oap.secretMounts).toEqual([
    // The Secret as a directory (no subPath): the kubelet refreshes it, so OAP's reload of the file sees a new password.
    { name: "es-credentials", secretName: "skywalking-es-credentials", path: "/skywalking/es-credentials" },
  ]);
  expect(v.elasticsearch.config).toEqual({ host: "es.example.internal", port: { http: 9200 }, user: "", password: "" });
  expect(JSON.stringify(v)).not.toMatch(/password":"[^"]/i);
});

test("prod1's UI Ingress admits only the configured SSO groups (oauth2-proxy allowed_groups on the auth-url)", async () => {
  const values = ofType(await plan("prod1"), RELEASE).find((r) => r.inputs.name === "skywalking")!.inputs.values as {
    ui: { ingress: { enabled: boolean; annotations: Record<string, string>; hosts: string[] } };
  };
  expect(values.ui.ingress.enabled).toBe(true);
  expect(values.ui.ingress.hosts).toEqual(["skywalking.prod1.livemall.internal"]);
  expect(values.ui.ingress.annotations["nginx.ingress.kubernetes.io/auth-url"]).toBe(
    "https://sso.livemall.internal/oauth2/auth?allowed_groups=platform-ops%2Csre-oncall",
  );
  expect(values.ui.ingress.annotations["nginx.ingress.kubernetes.io/auth-signin"]).toBe("https://sso.livemall.internal/oauth2/start");
});

describe.each(APP_STACKS)("%s: OAP requires the agents' token (platform:tracingAgentToken)", (stack) => {
  test("OAP reads it from an argument file in a Secret; each traced app's agent from its own Secret; no value holds it", async () => {
    const p = await plan(stack);
    const secrets = ofType(p, "kubernetes:core/v1:Secret");
    const oap = secrets.find((x) => (x.inputs.metadata as { name: string }).name === "skywalking-oap-auth")!;
    expect(oap.inputs.metadata).toEqual({ name: "skywalking-oap-auth", namespace: "tracing" });
    expect(oap.secretInputs).toContain("stringData");
    const release = ofType(p, RELEASE).find((r) => r.inputs.name === "skywalking")!;
    const v = release.inputs.values as { oap: { javaOpts: string; secretMounts: unknown[]; env: Record<string, string> } };
    expect(v.oap.javaOpts).toMatch(/ @\/skywalking\/oap-auth\/jvm\.args$/);
    expect(v.oap.secretMounts).toContainEqual({ name: "oap-auth", secretName: "skywalking-oap-auth", path: "/skywalking/oap-auth" });
    expect(v.oap.env.SW_AUTHENTICATION).toBeUndefined();
    const apps = Object.keys(JSON.parse(loadEngineConfig(stack).values["platform:apps"]) as Record<string, unknown>);
    for (const app of apps) {
      const t = secrets.find((x) => (x.inputs.metadata as { name: string }).name === `${app}-skywalking-agent`)!;
      expect(t.secretInputs).toContain("stringData");
    }
    expect(JSON.stringify(p.resources)).not.toContain("offline-placeholder-tracing-agent-token");
  });
});

test("the argument file holds the one -D option; a token an argument file would split is refused without showing it", () => {
  expect(oapAuthArgs("0123456789abcdef0123456789abcdef")).toBe("-DSW_AUTHENTICATION=0123456789abcdef0123456789abcdef\n");
  expect(() => oapAuthArgs("secret with blanks")).toThrow(
    "platform:tracingAgentToken: must be at least 16 of letters, digits and . _ ~ + / = - (e.g. `openssl rand -hex 32`)",
  );
  expect(() => oapAuthArgs("short")).toThrow("platform:tracingAgentToken");
});

test("the real JVM launcher, started as OAP's entrypoint does (`exec java ${JAVA_OPTS} ...`), gets SW_AUTHENTICATION from the argument file", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oap-auth-"));
  try {
    const token = "0123456789abcdef0123456789abcdef";
    fs.writeFileSync(path.join(dir, "jvm.args"), oapAuthArgs(token));
    const v = skywalkingValues({
      esHost: "es.example.internal",
      esPort: 9200,
      esTls: false,
      esNamespace: "skywalking-dev",
      oapReplicas: 1,
      oapResources: { cpu: "1", memory: "2Gi" },
      oapJavaOpts: "-Xms1g -Xmx1g",
      uiReplicas: 1,
      agentAuth: true,
    }) as { oap: { javaOpts: string } };
    expect(v.oap.javaOpts).toBe("-Xms1g -Xmx1g @/skywalking/oap-auth/jvm.args");
    // The same unquoted expansion as apache/skywalking v10.1.0 docker/oap/docker-entrypoint.sh line 25, the file at a temp path.
    const r = spawnSync("sh", ["-c", "exec java ${JAVA_OPTS} -XshowSettings:properties -version"], {
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, JAVA_OPTS: v.oap.javaOpts.replace("/skywalking/oap-auth/jvm.args", path.join(dir, "jvm.args")) },
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`    SW_AUTHENTICATION = ${token}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe("the credentials file reads back unchanged through java.util.Properties.load", () => {
  // A password with a leading blank and backslashes: load() would drop the blank and eat the backslashes.
  const password = " p\\a ss\\\\w=rd:\u00e9";
  test("escaped: backslashes doubled, the leading blank escaped, non-ASCII as \\u", () => {
    expect(esCredentialsFile("skywalking", password)).toBe("user=skywalking\npassword=\\ p\\\\a ss\\\\\\\\w=rd:\\u00e9\n");
  });
  test("the real JDK reads back the same user and password", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "es-credentials-"));
    try {
      fs.writeFileSync(path.join(dir, "credentials.properties"), esCredentialsFile("skywalking", password));
      fs.writeFileSync(
        path.join(dir, "Read.java"),
        "import java.io.*; import java.util.*;\n" +
          "public class Read { public static void main(String[] a) throws Exception {\n" +
          "  Properties p = new Properties(); try (InputStream in = new FileInputStream(a[0])) { p.load(in); }\n" +
          '  System.out.print(Base64.getEncoder().encodeToString((p.getProperty("user") + "\\n" + p.getProperty("password")).getBytes("UTF-8")));\n' +
          "} }\n",
      );
      const r = spawnSync("java", [path.join(dir, "Read.java"), path.join(dir, "credentials.properties")], { encoding: "utf8", timeout: 60_000 });
      if (r.error) throw new Error(`cannot run java: ${r.error.message}`);
      expect(r.stderr).toBe("");
      expect(Buffer.from(r.stdout, "base64").toString("utf8")).toBe(`skywalking\n${password}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("prod1's app dashboards link every panel to the SkyWalking UI behind its ingress; dev (no UI Ingress) has no such link", async () => {
  const panelsOf = async (stack: string, app: string) => {
    const cm = ofType(await plan(stack), "kubernetes:core/v1:ConfigMap").find((c) => c.name === `${stack}-observability-configmap-dashboard-${stack}-${app}`)!;
    const json = Object.values(cm.inputs.data as Record<string, string>)[0];
    return (JSON.parse(json) as { panels: { title: string; links?: unknown }[] }).panels;
  };
  const prod = await panelsOf("prod1", "order-service");
  expect(prod.length).toBeGreaterThan(5);
  for (const p of prod) {
    expect(p.links).toEqual([
      { title: "Traces of order-service in SkyWalking (service order-service)", url: "https://skywalking.prod1.livemall.internal/", targetBlank: true },
    ]);
  }
  for (const p of await panelsOf("dev", "order-service")) expect(p.links).toBeUndefined();
});

test.each(APP_STACKS)("%s: a ServiceMonitor scrapes OAP's telemetry port, selecting the labels chart 4.7.0 puts on the OAP Service", async (stack) => {
  const p = await plan(stack);
  const monitors = ofType(p, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor").filter(
    (m) => (m.inputs.metadata as { namespace: string }).namespace === "tracing",
  );
  expect(monitors).toHaveLength(1);
  const spec = monitors[0].inputs.spec as { selector: unknown; endpoints: unknown };
  // templates/oap-svc.yaml at v4.7.0: app = release name, component = oap.name, release = release name.
  expect(spec.selector).toEqual({ matchLabels: { app: "skywalking", component: "oap", release: "skywalking" } });
  expect(spec.endpoints).toEqual([{ port: "telemetry", path: "/metrics", interval: "30s" }]);
  const values = ofType(p, RELEASE).find((r) => r.inputs.name === "skywalking")!.inputs.values as {
    oap: { ports: Record<string, number>; env: Record<string, string> };
  };
  expect(values.oap.ports.telemetry).toBe(1234);
  expect(values.oap.env).toMatchObject({ SW_TELEMETRY: "prometheus", SW_TELEMETRY_PROMETHEUS_PORT: "1234" });
});

describe("OAP's own Elasticsearch user (platform:tracing.elasticsearch.user)", () => {
  test("its password, a Pulumi secret, reaches OAP as the Secret's properties file; values hold only the file's path", async () => {
    const p = await plan("prod1", ["platform:tracing.elasticsearch.user=skywalking-prod1"]);
    const secret = ofType(p, "kubernetes:core/v1:Secret").find((s) => (s.inputs.metadata as { name: string }).name === "skywalking-es-credentials")!;
    expect(secret.inputs.metadata).toEqual({ name: "skywalking-es-credentials", namespace: "tracing" });
    // The whole stringData is a secret (the file with user and the password of platform:tracingElasticsearchPassword): the plan masks it.
    expect(secret.secretInputs).toContain("stringData");
    expect(secret.inputs.stringData).toBe("[secret]");
    // Nowhere in the planned resources (the plan's own secretValues set is what the artifacts are redacted with).
    expect(JSON.stringify(p.resources)).not.toContain("offline-placeholder-tracing-elasticsearch");
    const release = ofType(p, RELEASE).find((r) => r.inputs.name === "skywalking")!;
    const values = release.inputs.values as { oap: { env: Record<string, string>; secretMounts: unknown[] } };
    expect(values.oap.env.SW_ES_SECRETS_MANAGEMENT_FILE).toBe("/skywalking/es-credentials/credentials.properties");
    expect(values.oap.secretMounts).toEqual([
      // The Secret as a directory (no subPath): the kubelet refreshes it, so OAP's reload of the file sees a new password.
      { name: "es-credentials", secretName: "skywalking-es-credentials", path: "/skywalking/es-credentials" },
      { name: "oap-auth", secretName: "skywalking-oap-auth", path: "/skywalking/oap-auth" },
    ]);
    expect(JSON.stringify(release.inputs)).not.toContain("offline-placeholder-tracing-elasticsearch");
  });

  test("without the user, no Secret and no mount (prod1 as committed)", async () => {
    const p = await plan("prod1");
    expect(ofType(p, "kubernetes:core/v1:Secret").filter((s) => (s.inputs.metadata as { name: string }).name === "skywalking-es-credentials")).toEqual([]);
  });

  test("the user without its password, or the password in plain text, is a config error naming the key", () => {
    const withUser = ["platform:tracing.elasticsearch.user=skywalking-prod1"];
    expect(configProblemsAfter("prod1", withUser, (c) => delete c.values["platform:tracingElasticsearchPassword"])).toEqual([
      "platform:tracingElasticsearchPassword: is required (the password of platform:tracing.elasticsearch.user, OAP's own Elasticsearch user); " +
        "add it to the stack's ESC environment (esc/prod1.yaml, docs/runbooks/ci-setup.md), or for a local run only `pulumi config set --secret platform:tracingElasticsearchPassword <value>`",
    ]);
    const plain = (c: { secretKeys: string[] }) => void (c.secretKeys = c.secretKeys.filter((k) => k !== "platform:tracingElasticsearchPassword"));
    expect(configProblemsAfter("prod1", withUser, plain)).toEqual([
      "platform:tracingElasticsearchPassword: must be set as a secret (`pulumi config set --secret platform:tracingElasticsearchPassword ...`), it is in plain text",
    ]);
    expect(problems("prod1", "platform:tracing.elasticsearch.user=sky walking")).toEqual([
      "platform:tracing.elasticsearch.user: must be an Elasticsearch user name (letters, digits, . _ @ -)",
    ]);
  });
});
