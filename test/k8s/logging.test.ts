// fluent-bit as planned: the right output per stack (and per -c override), no
// password in Helm values (only a Secret the pods read as env), the cri parser
// and the kubernetes filter, tolerations that cover every taint in the fleet,
// and the Lua filter run by the real LuaJIT (the Lua engine fluent-bit embeds).
//
// fluent-bit itself is not in Debian, so its config is not dry-run here; the
// structure is checked instead (sections, one key per line, env references).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadEngineConfig } from "../../components/config/stackFiles";
import type { Plan, PlannedResource } from "../../components/preview/runtime";
import {
  FLUENT_BIT_CHART,
  fluentBitPipeline,
  fluentBitValues,
  platformFieldsLua,
  PLATFORM_FIELDS_LUA,
  JSON_TRACE_ID_KEYS,
  LUA_FUNCTION,
  MERGE_LOG_KEY,
  TRACE_ID_FIELD,
  WORKSPACE_LABEL,
} from "../../components/k8s/fluentBitValues";
import { OUTPUT_CREDENTIALS_SECRET } from "../../components/k8s/logging";
import { ofType, plan } from "../support/offline";
import { validateK8sObject } from "../support/k8sSchema";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const SECRET = "kubernetes:core/v1:Secret";
const PASSWORD_PLACEHOLDER = "offline-placeholder-logging";
const LUAJIT = process.env.LUAJIT ?? "luajit";

interface FluentBitValues {
  config: { inputs: string; filters: string; outputs: string };
  env?: { name: string; valueFrom: { secretKeyRef: { name: string; key: string } } }[];
  tolerations: { key?: string; operator?: string; value?: string; effect?: string }[];
  luaScripts: Record<string, string>;
  [k: string]: unknown;
}

function fluentBitRelease(p: Plan): PlannedResource {
  const releases = ofType(p, RELEASE).filter((r) => r.inputs.chart === FLUENT_BIT_CHART.chart);
  expect(releases).toHaveLength(1);
  return releases[0];
}
const valuesOf = (p: Plan) => fluentBitRelease(p).inputs.values as FluentBitValues;

/** Classic config as [{name, entries}] sections; throws on a line that is neither. */
function parseClassic(text: string): { name: string; entries: Record<string, string> }[] {
  const sections: { name: string; entries: Record<string, string> }[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const header = /^\[([A-Z_]+)\]$/.exec(line);
    if (header) {
      sections.push({ name: header[1], entries: {} });
      continue;
    }
    const kv = /^ {4}(\S+)\s+(\S.*)$/.exec(line);
    if (!kv || sections.length === 0) throw new Error(`not a classic-config line: ${JSON.stringify(line)}`);
    const entries = sections[sections.length - 1].entries;
    if (kv[1] in entries) throw new Error(`duplicate key ${kv[1]}`);
    entries[kv[1]] = kv[2];
  }
  return sections;
}

function only(text: string, name: string, match: (e: Record<string, string>) => boolean): Record<string, string> {
  const found = parseClassic(text).filter((s) => s.name === name && match(s.entries));
  expect(found).toHaveLength(1);
  return found[0].entries;
}

const output = (v: FluentBitValues) => only(v.config.outputs, "OUTPUT", () => true);

/** Kubernetes toleration semantics (core/v1 Toleration): does one toleration match the taint? */
function tolerates(t: FluentBitValues["tolerations"][number], taint: { key: string; value?: string; effect: string }): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === "Exists") return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? "") === (taint.value ?? "");
}

describe("prod1 ships to Kafka with SASL_SSL", () => {
  test("brokers, topic and protocol come from platform:logging", async () => {
    const p = await plan("prod1");
    const cfg = JSON.parse(loadEngineConfig("prod1").values["platform:logging"]);
    const out = output(valuesOf(p));
    expect(out.Name).toBe("kafka");
    expect(out.Brokers.split(",")).toEqual(cfg.brokers);
    expect(out.Topics).toBe(cfg.topic);
    expect(out["rdkafka.security.protocol"]).toBe("SASL_SSL");
    expect(out["rdkafka.sasl.username"]).toBe(cfg.user);
    // The password is a reference fluent-bit expands from the pod's env.
    expect(out["rdkafka.sasl.password"]).toBe("${FLUENT_OUTPUT_PASSWORD}");
  });

  test("the password is never in the values: it reaches the pods from a secret Secret", async () => {
    const p = await plan("prod1");
    expect(p.secretValues.has(PASSWORD_PLACEHOLDER)).toBe(true);
    const release = fluentBitRelease(p);
    const text = JSON.stringify(release.inputs);
    expect(text).not.toContain(PASSWORD_PLACEHOLDER);
    for (const s of p.secretValues) if (s.length >= 8) expect(text).not.toContain(s);
    expect(release.secretInputs).toEqual([]);

    const env = valuesOf(p).env ?? [];
    expect(env).toEqual([{ name: "FLUENT_OUTPUT_PASSWORD", valueFrom: { secretKeyRef: { name: "fluent-bit-output-credentials", key: "password" } } }]);
    const secrets = ofType(p, SECRET).filter((s) => (s.inputs.metadata as { name: string }).name === OUTPUT_CREDENTIALS_SECRET);
    expect(secrets).toHaveLength(1);
    expect((secrets[0].inputs.metadata as { namespace: string }).namespace).toBe("logging");
    expect(secrets[0].secretInputs).toContain("stringData");
    // stringData is masked as a whole in the plan; the rest must still be a valid Secret.
    expect(secrets[0].inputs.stringData).toBe("[secret]");
    expect(validateK8sObject({ ...secrets[0].inputs, stringData: { password: "x" } })).toEqual([]);
    // The release waits for the Secret, or its first pods would start without the password.
    expect(release.dependsOn).toContain(secrets[0].urn);
    expect(release.inputs.namespace).toBe("logging");
    expect(release.inputs.version).toBe("0.57.9");
  });
});

describe("dev ships to Elasticsearch without credentials", () => {
  test("host, port and index prefix come from platform:logging; tls off", async () => {
    const p = await plan("dev");
    const cfg = JSON.parse(loadEngineConfig("dev").values["platform:logging"]);
    const out = output(valuesOf(p));
    expect(out).toMatchObject({ Name: "es", Host: cfg.host, Port: String(cfg.port), Logstash_Format: "On", Logstash_Prefix: cfg.index, tls: "Off" });
    expect(out.HTTP_User).toBeUndefined();
    expect(out.HTTP_Passwd).toBeUndefined();
    // No user: no credentials Secret and no env from one.
    expect(valuesOf(p).env).toBeUndefined();
    expect(ofType(p, SECRET).filter((s) => (s.inputs.metadata as { name: string }).name === OUTPUT_CREDENTIALS_SECRET)).toEqual([]);
  });
});

describe("-c platform:logging switches the output", () => {
  const kafka = { output: "kafka", brokers: ["kafka-a.dev.internal:9092", "kafka-b.dev.internal:9092"], topic: "k8s-logs-dev" };
  const es = { output: "elasticsearch", host: "es.ops.livemall.internal", port: 9243, index: "k8s-prod1", tls: true, user: "fluent-bit-prod1" };

  test("dev: elasticsearch -> kafka (plaintext, no SASL without a user)", async () => {
    // Tracing stored in the logging Elasticsearch: behind Kafka it names its own (components/config/crossChecks.ts tracingRules).
    const tracing = { elasticsearch: { host: "es.dev.livemall.internal", port: 9200 } };
    const p = await plan("dev", [`platform:logging=${JSON.stringify(kafka)}`, `platform:tracing=${JSON.stringify(tracing)}`]);
    const out = output(valuesOf(p));
    expect(out).toMatchObject({ Name: "kafka", Brokers: kafka.brokers.join(","), Topics: kafka.topic, "rdkafka.security.protocol": "PLAINTEXT" });
    expect(Object.keys(out).filter((k) => k.startsWith("rdkafka.sasl"))).toEqual([]);
    expect(valuesOf(p).config.outputs).not.toContain("Name                es");
  });

  test("prod1: kafka -> elasticsearch over TLS with basic auth from the Secret", async () => {
    // The log search follows the store (logSearchSchema.ts: its indices must cover the new output's index).
    const search = { kibana: "https://kibana.log.livemall.internal", indices: `${es.index}-*`, realm: "livemall-sso" };
    const p = await plan("prod1", [`platform:logging=${JSON.stringify(es)}`, `platform:logSearch=${JSON.stringify(search)}`]);
    const v = valuesOf(p);
    const out = output(v);
    expect(out).toMatchObject({ Name: "es", Host: es.host, Port: "9243", Logstash_Prefix: es.index, tls: "On", "tls.verify": "On", HTTP_User: es.user });
    expect(out.HTTP_Passwd).toBe("${FLUENT_OUTPUT_PASSWORD}");
    expect(v.config.outputs).not.toMatch(/kafka/i);
    expect(JSON.stringify(fluentBitRelease(p).inputs)).not.toContain(PASSWORD_PLACEHOLDER);
    expect(v.env?.[0].valueFrom.secretKeyRef.name).toBe("fluent-bit-output-credentials");
  });
});

describe("the pipeline", () => {
  test("tails containerd's CRI logs and enriches them with the kubernetes filter (namespace labels for the workspace)", async () => {
    const v = valuesOf(await plan("prod1"));
    const tail = only(v.config.inputs, "INPUT", (e) => e.Name === "tail");
    expect(tail).toMatchObject({ Path: "/var/log/containers/*.log", "multiline.parser": "cri", Tag: "kube.*" });
    const k8sFilter = only(v.config.filters, "FILTER", (e) => e.Name === "kubernetes");
    expect(k8sFilter).toMatchObject({ Match: "kube.*", Merge_Log: "On", Labels: "On", namespace_labels: "On", "K8S-Logging.Exclude": "On" });
    const multiline = only(v.config.filters, "FILTER", (e) => e.Name === "multiline");
    expect(multiline).toMatchObject({ "multiline.key_content": "log", "multiline.parser": "java" });
    const lua = only(v.config.filters, "FILTER", (e) => e.Name === "lua");
    expect(lua.script).toBe(`/fluent-bit/scripts/${Object.keys(v.luaScripts)[0]}`);
    expect(v.luaScripts[Object.keys(v.luaScripts)[0]]).toContain(`function ${lua.call}(`);
    // Order matters: stack traces are joined before metadata, the Lua step needs the metadata.
    const names = parseClassic(v.config.filters).map((s) => s.entries.Name);
    expect(names).toEqual(["multiline", "kubernetes", "lua"]);
    expect(v.kind).toBe("DaemonSet");
  });

  test("every taint of the stack's nodes (masters and every pool) is tolerated", async () => {
    for (const stack of ["prod1", "dev"]) {
      const v = valuesOf(await plan(stack));
      const pools = JSON.parse(loadEngineConfig(stack).values["platform:nodePools"]) as { taints?: { key: string; value?: string; effect: string }[] }[];
      const taints = [
        { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" },
        { key: "node.kubernetes.io/not-ready", effect: "NoExecute" },
        { key: "node.kubernetes.io/disk-pressure", effect: "NoSchedule" },
        ...pools.flatMap((p) => p.taints ?? []),
      ];
      if (stack === "prod1") expect(taints).toContainEqual({ key: "dedicated", value: "order", effect: "NoSchedule" });
      for (const taint of taints) expect(v.tolerations.some((t) => tolerates(t, taint))).toBe(true);
    }
  });

  test("the tolerance check itself rejects a toleration for the wrong taint", () => {
    expect(
      tolerates({ key: "dedicated", operator: "Equal", value: "payments", effect: "NoSchedule" }, { key: "dedicated", value: "order", effect: "NoSchedule" }),
    ).toBe(false);
    expect(tolerates({ operator: "Exists", effect: "NoExecute" }, { key: "dedicated", value: "order", effect: "NoSchedule" })).toBe(false);
  });

  test("every config section parses as classic config, and nothing Helm would template", async () => {
    for (const stack of ["prod1", "dev"]) {
      const v = valuesOf(await plan(stack));
      for (const text of Object.values(v.config)) expect(() => parseClassic(text)).not.toThrow();
      expect(JSON.stringify(v)).not.toContain("{{");
    }
    expect(() => parseClassic("[OUTPUT]\nName es\n")).toThrow("not a classic-config line");
  });
});

describe("validation names the field", () => {
  const base = { clusterName: "prod1", output: { output: "kafka" as const, brokers: ["k:9092"], topic: "logs" } };
  test.each([
    [{ ...base, output: { ...base.output, brokers: ["no-port"] } }, "output.brokers[0]"],
    [{ ...base, output: { ...base.output, topic: "bad topic" } }, "output.topic"],
    [{ ...base, output: { output: "elasticsearch" as const, host: "https://es:9200", index: "k8s" } }, "output.host"],
    [{ ...base, output: { output: "elasticsearch" as const, host: "es", index: "K8S" } }, "output.index"],
    [{ ...base, output: { ...base.output, user: "fb" } }, "passwordSecretName"],
    [{ ...base, passwordSecretName: "creds" }, "passwordSecretName"],
    [{ ...base, clusterName: "Prod 1" }, "clusterName"],
  ])("%#: %s", (settings, field) => {
    const escaped = field.replace(/[[\].]/g, "\\$&");
    expect(() => fluentBitValues(settings as Parameters<typeof fluentBitValues>[0])).toThrow(new RegExp(`^fluent-bit: ${escaped}:? `));
  });

  test("a SASL user without TLS is SASL_PLAINTEXT; TLS without a user is SSL", () => {
    const sasl = fluentBitPipeline({ ...base, output: { ...base.output, user: "fb" }, passwordSecretName: "creds" });
    expect(only(sasl.outputs, "OUTPUT", () => true)["rdkafka.security.protocol"]).toBe("SASL_PLAINTEXT");
    const ssl = fluentBitPipeline({ ...base, output: { ...base.output, tls: true } });
    expect(only(ssl.outputs, "OUTPUT", () => true)["rdkafka.security.protocol"]).toBe("SSL");
  });
});

describe("the Lua filter under the real LuaJIT", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "fluent-bit-lua-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  // Records as the kubernetes filter leaves them: pod metadata under
  // `kubernetes`, namespace labels under `kubernetes_namespace.labels`.
  const driver = (script: string) => `
CLUSTER = "prod1" -- the one generated setting; the file itself runs, as a global
dofile(${JSON.stringify(script)})
local function run(name, record)
  local code, ts, out = add_platform_fields("kube.var.log.containers.x.log", 1700000000.5, record)
  print(table.concat({ name, tostring(code), tostring(ts), tostring(out.cluster), tostring(out.workspace), tostring(out.log) }, "\\t"))
end
run("labelled", { log = "hello", kubernetes = { namespace_name = "commerce" },
  kubernetes_namespace = { labels = { ["${WORKSPACE_LABEL}"] = "trade" } } })
run("unlabelled", { log = "hi", kubernetes = { namespace_name = "kube-system" }, kubernetes_namespace = { labels = { other = "x" } } })
run("empty-label", { log = "e", kubernetes = { namespace_name = "scm" }, kubernetes_namespace = { labels = { ["${WORKSPACE_LABEL}"] = "" } } })
run("no-metadata", { log = "bare" })
`;

  function luajit(code: string): string[][] {
    const file = path.join(dir, "driver.lua");
    fs.writeFileSync(file, code);
    const r = spawnSync(LUAJIT, [file], { encoding: "utf8", timeout: 10_000 });
    if (r.error) throw new Error(`cannot run ${LUAJIT} (apt-get install luajit): ${r.error.message}`);
    if (r.status !== 0) throw new Error(`luajit failed: ${r.stderr}`);
    return r.stdout
      .trim()
      .split("\n")
      .map((l) => l.split("\t"));
  }

  test("workspace from the namespace label, else the namespace; cluster always; record kept, time kept (code 2)", () => {
    const script = PLATFORM_FIELDS_LUA;
    expect(luajit(driver(script))).toEqual([
      ["labelled", "2", "1700000000.5", "prod1", "trade", "hello"],
      ["unlabelled", "2", "1700000000.5", "prod1", "kube-system", "hi"],
      ["empty-label", "2", "1700000000.5", "prod1", "scm", "e"],
      ["no-metadata", "2", "1700000000.5", "prod1", "nil", "bare"],
    ]);
  });

  test("a SkyWalking trace id in the line becomes field trace_id; TID:N/A and lines without one get none; the line is kept", () => {
    const script = PLATFORM_FIELDS_LUA;
    // A line as logback prints it with the toolkit's %tid in the pattern (docs/tracing.md).
    const traced =
      "2026-12-07 05:20:01.123 [TID:4f1c2a9e0b7d4e55a1c3b2d4e6f80912.87.17335489011230001] [http-nio-8080-exec-3] INFO  c.l.order.OrderController - order 8812 placed";
    const code = `
CLUSTER = "prod1" -- the one generated setting; the file itself runs, as a global
dofile(${JSON.stringify(script)})
local function run(name, line)
  local _, _, out = add_platform_fields("t", 1, { log = line, kubernetes = { namespace_name = "commerce" } })
  print(table.concat({ name, tostring(out.trace_id), tostring(out.log == line), tostring(out.cluster) }, "\t"))
end
run("traced", ${JSON.stringify(traced)})
run("untraced", "2026-12-07 05:20:02.000 [TID:N/A] [main] INFO  boot - started")
run("plain", "GC pause 12ms")
`;
    expect(luajit(code)).toEqual([
      ["traced", "4f1c2a9e0b7d4e55a1c3b2d4e6f80912.87.17335489011230001", "true", "prod1"],
      ["untraced", "nil", "true", "prod1"],
      ["plain", "nil", "true", "prod1"],
    ]);
  });

  test("log4j2's toolkit line (`TID: <id>`, with a space) gets trace_id too", () => {
    const script = PLATFORM_FIELDS_LUA;
    // skywalking-java v9.3.0 apm-toolkit-log4j-2.x-activation TraceIdConverterMethodInterceptor.java line 47
    // appends "TID: " then the id for log4j2's %traceId.
    const line =
      "2026-12-07 05:20:01,123 [TID: 4f1c2a9e0b7d4e55a1c3b2d4e6f80912.87.17335489011230001] [DubboServerHandler-10.0.3.7:20880-thread-5] INFO  StockServiceImpl - reserved 8812";
    const code = `
CLUSTER = "prod1" -- the one generated setting; the file itself runs, as a global
dofile(${JSON.stringify(script)})
local _, _, out = add_platform_fields("t", 1, { log = ${JSON.stringify(line)} })
print(tostring(out.trace_id))
`;
    expect(luajit(code)).toEqual([["4f1c2a9e0b7d4e55a1c3b2d4e6f80912.87.17335489011230001"]]);
  });

  test("a JSON line, merged under log_processed with no log left (Merge_Log On, Keep_Log Off), gets trace_id from TID, tid or trace_id", () => {
    const script = PLATFORM_FIELDS_LUA;
    const code = `
CLUSTER = "prod1" -- the one generated setting; the file itself runs, as a global
dofile(${JSON.stringify(script)})
local function run(name, merged)
  local _, _, out = add_platform_fields("t", 1, { log_processed = merged, kubernetes = { namespace_name = "commerce" } })
  print(table.concat({ name, tostring(out.trace_id), tostring(out.log) }, "\t"))
end
run("logstash-TID", { message = "order 8812 placed", TID = "4f1c2a9e0b7d4e55a1c3b2d4e6f80912.87.17335489011230001" })
run("mdc-tid", { message = "m", tid = "TID:0a1b2c3d.12.17335489011230002" })
run("trace_id", { message = "m", trace_id = "0a1b2c3d.13.17335489011230003" })
run("na", { message = "m", TID = "N/A" })
run("number", { message = "m", trace_id = 42 })
`;
    expect(luajit(code)).toEqual([
      ["logstash-TID", "4f1c2a9e0b7d4e55a1c3b2d4e6f80912.87.17335489011230001", "nil"],
      ["mdc-tid", "0a1b2c3d.12.17335489011230002", "nil"],
      ["trace_id", "0a1b2c3d.13.17335489011230003", "nil"],
      ["na", "nil", "nil"],
      ["number", "nil", "nil"],
    ]);
  });

  test("the file takes its cluster at its one -- @variables line; the names it shares with fluentBitValues.ts are written in it", () => {
    const file = fs.readFileSync(PLATFORM_FIELDS_LUA, "utf8");
    expect(platformFieldsLua("prod1")).toBe(file.replace("\n-- @variables\n", '\nlocal CLUSTER = "prod1"\n'));
    expect(file).toContain('\nlocal WORKSPACE_LABEL = "kubesphere.io/workspace"\n');
    expect(file).toContain('\nlocal JSON_TRACE_ID_KEYS = { "TID", "tid", "trace_id" }\n');
    expect(file).toContain('\nlocal MERGED = "log_processed"\n');
    expect(file).toContain('\nlocal TRACE_ID_FIELD = "trace_id"\n');
    expect(file).toContain("\nfunction add_platform_fields(tag, timestamp, record)\n");
    expect([WORKSPACE_LABEL, JSON_TRACE_ID_KEYS, MERGE_LOG_KEY, TRACE_ID_FIELD, LUA_FUNCTION]).toEqual([
      "kubesphere.io/workspace",
      ["TID", "tid", "trace_id"],
      "log_processed",
      "trace_id",
      "add_platform_fields",
    ]);
  });

  test("the script shipped in the plan is the one tested, and a syntax error is caught", async () => {
    const v = valuesOf(await plan("prod1"));
    const script = path.join(dir, "shipped.lua");
    fs.writeFileSync(script, Object.values(v.luaScripts)[0]);
    expect(luajit(driver(script))[0]).toEqual(["labelled", "2", "1700000000.5", "prod1", "trade", "hello"]);
    const broken = path.join(dir, "broken.lua");
    fs.writeFileSync(broken, fs.readFileSync(PLATFORM_FIELDS_LUA, "utf8").replace("then\n    namespace", "\n    namespace"));
    expect(() => luajit(driver(broken))).toThrow("luajit failed");
  });
});
