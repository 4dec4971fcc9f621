// Log search (issue #20, components/fleet/logSearch.ts): each member's planned
// roles give every workspace's people read on exactly that workspace's
// namespaces of that cluster; the bodies hold only fields the Kibana role API
// and the Elasticsearch role-mapping API document; the sync script passes
// shellcheck and, run with real curl against a loopback stub of Kibana and
// Elasticsearch, upserts what is declared, deletes only our stale names, sends
// the key only as a header and fails on an HTTP error; the API key stays masked;
// config errors name the key.
import { execFile } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { AddressInfo } from "net";
import { ConfigError, parseStackConfig } from "../../components/config/stackConfig";
import { listStacks, loadEngineConfig, readStackFile } from "../../components/config/stackFiles";
import { peopleOf } from "../../components/fleet/console";
import { workspacesSchema } from "../../components/fleet/consoleSchema";
import { CURL_IMAGE, LogSearchPlan, roleName, syncFiles, syncHash, syncJob, syncScript } from "../../components/fleet/logSearch";
import { EsApiKey, KibanaStub, startKibanaStub } from "../support/alibaba/kibanaStub";
import { byName, ofType, plan, previewCli } from "../support/offline";

const MEMBERS = ["dev", "test", "pre", "prod1", "prod2"] as const;
// The host lists no clusters for its workspaces: each is placed on every member (consoleSchema.ts placeWorkspaces).
const hostWorkspaces = workspacesSchema.parse(readStackFile("host").values["platform:workspaces"]);

function configMapOf(p: Awaited<ReturnType<typeof plan>>, stack: string): Record<string, string> {
  const cm = ofType(p, "kubernetes:core/v1:ConfigMap").find((c) => c.name === `${stack}-log-search-files`);
  expect(cm).toBeDefined();
  return cm!.inputs.data as Record<string, string>;
}

describe.each(MEMBERS)("%s log search", (stack) => {
  test("one role per workspace placed here: read on its namespaces of this cluster only, mapped to its people through the SSO realm", async () => {
    const p = await plan(stack);
    const data = configMapOf(p, stack);
    const values = loadEngineConfig(stack).values;
    const projects = JSON.parse(values["platform:projects"]) as Record<string, string>;
    const ls = JSON.parse(values["platform:logSearch"]) as { indices: string; realm: string };
    const expected = Object.entries(hostWorkspaces).filter(([ws, w]) => (w.clusters ?? MEMBERS).includes(stack) && Object.values(projects).includes(ws));
    expect(expected.length).toBeGreaterThan(0);
    expect(
      Object.keys(data)
        .filter((k) => k.startsWith("role."))
        .sort(),
    ).toEqual(expected.map(([ws]) => `role.${roleName(stack, ws)}.json`).sort());
    for (const [ws, w] of expected) {
      const role = JSON.parse(data[`role.${roleName(stack, ws)}.json`]);
      expect(role.elasticsearch.indices).toHaveLength(1);
      const idx = role.elasticsearch.indices[0];
      expect(idx.names).toEqual([ls.indices]);
      expect(idx.privileges).toEqual(["read", "view_index_metadata"]);
      expect(role.elasticsearch.cluster).toEqual([]);
      const q = JSON.parse(idx.query);
      expect(q).toEqual({
        bool: {
          filter: [
            {
              terms: {
                "kubernetes.namespace_name.keyword": Object.keys(projects)
                  .filter((ns) => projects[ns] === ws)
                  .sort(),
              },
            },
            { term: { "cluster.keyword": stack } },
          ],
        },
      });
      // Discover, read only: no base privilege (which would grant every feature), nothing writable.
      expect(role.kibana).toEqual([{ base: [], feature: { discover: ["read"] }, spaces: ["default"] }]);
      const mapping = JSON.parse(data[`mapping.${roleName(stack, ws)}.json`]);
      expect(mapping.roles).toEqual([roleName(stack, ws)]);
      expect(mapping.rules).toEqual({
        all: [
          { field: { "realm.name": ls.realm } },
          {
            field: {
              username: peopleOf(w)
                .map(([u]) => u)
                .sort(),
            },
          },
        ],
      });
    }
  });

  test("the Job: pinned curl through the mirror, non-root, no service-account token, the key only as a mounted file", async () => {
    const p = await plan(stack);
    const job = ofType(p, "kubernetes:batch/v1:Job").find((j) => j.name === `${stack}-log-search-sync`)!;
    const spec = (job.inputs.spec as any).template.spec;
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.securityContext.runAsNonRoot).toBe(true);
    const [c] = spec.containers;
    expect(c.image).toBe(`mirror.livemall.internal/${CURL_IMAGE}`);
    expect(c.image).toMatch(/:\d+\.\d+\.\d+$/);
    expect(c.env.map((e: { name: string }) => e.name).sort()).toEqual(["AUTH_FILE", "DIR", "ES_URL", "KIBANA_URL", "PREFIX"]);
    expect(JSON.stringify(c.env)).not.toMatch(/secretKeyRef|ApiKey/);
    expect(spec.volumes.find((v: { name: string }) => v.name === "credentials").secret).toEqual({ secretName: "log-search-api-key", defaultMode: 0o400 });
    for (const e of c.env) if (e.name === "ES_URL" || e.name === "KIBANA_URL") expect(e.value).toMatch(/^https:\/\//);
    const secret = byName(p, `${stack}-log-search-api-key`);
    expect(secret.inputs.stringData).toBe("[secret]");
  });
});

test("the API key appears in no preview output", async () => {
  const placeholder = "offline-placeholder-log-search-api-key";
  const r = await previewCli("prod1", "--json");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("prod1-log-search-sync");
  expect(r.stdout).not.toContain(placeholder);
  expect(r.stderr).not.toContain(placeholder);
});

/** A dev plan with these readers (the URLs are not used by what reads it). */
function testPlan(readers: LogSearchPlan["readers"]): LogSearchPlan {
  return { stack: "dev", kibana: "https://kibana.example.com", elasticsearch: "https://es.example.com", indices: "k8s-dev-*", realm: "sso", readers };
}

// The documented request bodies (field sets), with their sources. Anything else in our bodies is a typo the API would reject or ignore.
const KIBANA_ROLE = {
  // (8.15 adds `description`; we leave it out so earlier 8.x, which refuses unknown keys, takes the body)
  source: "Kibana docs, Role management API, PUT /api/security/role/<name>: metadata, elasticsearch, kibana",
  top: ["metadata", "elasticsearch", "kibana"],
  elasticsearch: ["cluster", "indices", "remote_indices", "remote_cluster", "run_as"],
  kibana: ["base", "feature", "spaces"],
};
const ES_INDICES = {
  source: "Elasticsearch docs, Create or update roles API: indices[] names (required), privileges (required), field_security, query, allow_restricted_indices",
  allowed: ["names", "privileges", "field_security", "query", "allow_restricted_indices"],
  required: ["names", "privileges"],
};
const ROLE_MAPPING = {
  source: "Elasticsearch docs, Create or update role mappings API: enabled, roles or role_templates, rules (required), metadata; rules any/all/field/except",
  allowed: ["enabled", "roles", "role_templates", "rules", "metadata"],
  required: ["enabled", "rules"],
  fields: ["username", "dn", "groups", "realm.name"],
};

function ruleProblems(rule: Record<string, unknown>, at = "rules"): string[] {
  const keys = Object.keys(rule);
  if (keys.length !== 1) return [`${at}: one of any, all, field, except (got ${keys.join(", ")})`];
  const [k] = keys;
  const v = rule[k] as any;
  if (k === "any" || k === "all") return (v as Record<string, unknown>[]).flatMap((r, i) => ruleProblems(r, `${at}.${k}[${i}]`));
  if (k === "except") return ruleProblems(v, `${at}.except`);
  if (k === "field") {
    const f = Object.keys(v);
    return f.length === 1 && (ROLE_MAPPING.fields.includes(f[0]) || f[0].startsWith("metadata.")) ? [] : [`${at}.field: one user field (${f.join(", ")})`];
  }
  return [`${at}: unknown rule ${k}`];
}

test("role and mapping bodies hold only the documented fields (sources in the table above)", () => {
  const p = testPlan([{ workspace: "commerce", namespaces: ["commerce", "live-room"], users: ["a.b", "c"] }]);
  const files = Object.fromEntries(syncFiles(p).map((f) => [f.path, JSON.parse(f.path.endsWith(".json") ? f.content : "null")]));
  const role = files["roles/platform-dev-commerce-logs.json"];
  expect(Object.keys(role).filter((k) => !KIBANA_ROLE.top.includes(k))).toEqual([]);
  expect(Object.keys(role.elasticsearch).filter((k) => !KIBANA_ROLE.elasticsearch.includes(k))).toEqual([]);
  for (const k of role.kibana) {
    expect(Object.keys(k).filter((x) => !KIBANA_ROLE.kibana.includes(x))).toEqual([]);
    // Kibana: a base privilege and feature privileges exclude each other.
    expect(k.base.length === 0 || Object.keys(k.feature).length === 0).toBe(true);
  }
  for (const i of role.elasticsearch.indices) {
    expect(Object.keys(i).filter((k) => !ES_INDICES.allowed.includes(k))).toEqual([]);
    for (const r of ES_INDICES.required) expect(i).toHaveProperty(r);
    // query: a string holding a query object (ES accepts either; the string keeps it verbatim).
    expect(typeof i.query).toBe("string");
    expect(JSON.parse(i.query).bool.filter[0].terms["kubernetes.namespace_name.keyword"]).toEqual(["commerce", "live-room"]);
  }
  const mapping = files["mappings/platform-dev-commerce-logs.json"];
  expect(Object.keys(mapping).filter((k) => !ROLE_MAPPING.allowed.includes(k))).toEqual([]);
  for (const r of ROLE_MAPPING.required) expect(mapping).toHaveProperty(r);
  expect(mapping.enabled).toBe(true);
  expect(ruleProblems(mapping.rules)).toEqual([]);
  // Role names: letters, digits, '_', '-', '.' (Elasticsearch role API path parameter).
  expect(roleName("prod1", "scm")).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/);
  // Create: no `override` (it matches by title); update: only updatable fields, no id (Kibana Guide "Update data view API").
  expect(files["dataview.json"]).toEqual({
    data_view: { id: "platform-dev-logs", title: "k8s-dev-*", name: "Container logs: dev", timeFieldName: "@timestamp" },
  });
  expect(files["dataview-update.json"]).toEqual({ data_view: { title: "k8s-dev-*", name: "Container logs: dev", timeFieldName: "@timestamp" } });
  expect(syncFiles(p).find((f) => f.path === "dataview.id")!.content).toBe("platform-dev-logs\n");
});

test("what it applies names the Job: a new person is a new Job, the same plan the same Job", () => {
  const base = testPlan([{ workspace: "commerce", namespaces: ["commerce"], users: ["a"] }]);
  const more = { ...base, readers: [{ ...base.readers[0], users: ["a", "b"] }] };
  expect(syncHash(base)).toBe(syncHash(structuredClone(base)));
  expect(syncHash(more)).not.toBe(syncHash(base));
  expect(syncJob(more).job.metadata.name).toBe(`log-search-sync-${syncHash(more)}`);
  expect(syncJob(more).configMap.metadata.name).toBe(syncJob(more).job.metadata.name);
});

test("the sync script passes shellcheck as POSIX sh", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "log-search-sc-"));
  try {
    fs.writeFileSync(path.join(dir, "sync.sh"), syncScript());
    return new Promise<void>((resolve, reject) =>
      execFile("shellcheck", ["-s", "sh", path.join(dir, "sync.sh")], (err, stdout) => (err ? reject(new Error(stdout)) : resolve())),
    ).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
});

describe("the sync against a loopback Kibana + Elasticsearch stub, with real curl", () => {
  interface Req {
    method: string;
    url: string;
    auth?: string;
    xsrf?: string;
    body: string;
  }
  const KEY = "c2VudGluZWwta2V5LTQ4MjE=";
  let server: http.Server;
  let reqs: Req[];
  let fail: string | undefined;
  let base: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", (): void => {
        reqs.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, xsrf: req.headers["kbn-xsrf"] as string, body });
        if (fail && req.url === fail) {
          res.writeHead(403, { "Content-Type": "application/json" });
          res.end('{"error":"action [cluster:admin/xpack/security/role/put] is unauthorized"}');
          return;
        }
        res.writeHead(200, { "Content-Type": "application/json" });
        if (req.method === "GET" && req.url === "/es/_security/role_mapping") {
          // ours (one still declared, one stale), another stack's and the company's own
          res.end(
            JSON.stringify({
              "platform-dev-commerce-logs": { enabled: true, roles: ["platform-dev-commerce-logs"] },
              "platform-dev-retired-logs": { enabled: true, roles: ["platform-dev-retired-logs"] },
              "platform-test-commerce-logs": { enabled: true, roles: ["x"] },
              "company-admins": { enabled: true, roles: ["superuser"] },
            }),
          );
          return;
        }
        if (req.method === "GET" && req.url === "/kb/api/security/role") {
          res.end(
            JSON.stringify([
              { name: "platform-dev-commerce-logs" },
              { name: "platform-dev-retired-logs" },
              { name: "platform-test-commerce-logs" },
              { name: "superuser" },
            ]),
          );
          return;
        }
        res.end('{"acknowledged":true}');
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  async function runSync(p: LogSearchPlan): Promise<{ code: number; out: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "log-search-"));
    try {
      for (const f of syncFiles(p)) {
        fs.mkdirSync(path.dirname(path.join(dir, "sync", f.path)), { recursive: true });
        fs.writeFileSync(path.join(dir, "sync", f.path), f.content);
      }
      // As the Secret mounts it: one curl header line.
      fs.writeFileSync(path.join(dir, "authorization"), `Authorization: ApiKey ${KEY}\n`, { mode: 0o400 });
      const env = {
        PATH: process.env.PATH!,
        ES_URL: `${base}/es`,
        KIBANA_URL: `${base}/kb`,
        PREFIX: `platform-${p.stack}-`,
        AUTH_FILE: path.join(dir, "authorization"),
        DIR: path.join(dir, "sync"),
      };
      return await new Promise((resolve) =>
        execFile("sh", [path.join(dir, "sync", "sync.sh")], { env }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
        ),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  const devPlan = testPlan([
    { workspace: "commerce", namespaces: ["commerce"], users: ["dev.zhang"] },
    { workspace: "scm", namespaces: ["scm"], users: ["dev.zhao"] },
  ]);

  test("upserts roles, then mappings, then the data view; deletes only our stale names, mapping before role", async () => {
    reqs = [];
    fail = undefined;
    const r = await runSync(devPlan);
    expect(r.out).toContain("role mapping platform-dev-retired-logs: deleted");
    expect(r.code).toBe(0);
    const calls = reqs.map((q) => `${q.method} ${q.url}`);
    expect(calls).toEqual([
      "PUT /kb/api/security/role/platform-dev-commerce-logs",
      "PUT /kb/api/security/role/platform-dev-scm-logs",
      "PUT /es/_security/role_mapping/platform-dev-commerce-logs",
      "PUT /es/_security/role_mapping/platform-dev-scm-logs",
      "GET /kb/api/data_views/data_view/platform-dev-logs",
      "POST /kb/api/data_views/data_view/platform-dev-logs",
      "GET /es/_security/role_mapping",
      "DELETE /es/_security/role_mapping/platform-dev-retired-logs",
      "GET /kb/api/security/role",
      "DELETE /kb/api/security/role/platform-dev-retired-logs",
    ]);
    // the key only in the Authorization header; Kibana's xsrf header on every call
    for (const q of reqs) {
      expect(q.auth).toBe(`ApiKey ${KEY}`);
      expect(q.xsrf).toBe("platform");
      expect(q.body).not.toContain(KEY);
    }
    expect(r.out).not.toContain(KEY);
    const files = Object.fromEntries(syncFiles(devPlan).map((f) => [f.path, f.content]));
    expect(reqs[0].body).toBe(files["roles/platform-dev-commerce-logs.json"]);
    expect(reqs[2].body).toBe(files["mappings/platform-dev-commerce-logs.json"]);
  });

  test("an HTTP error stops it non-zero, with the server's answer, before anything is deleted", async () => {
    reqs = [];
    fail = "/es/_security/role_mapping/platform-dev-commerce-logs";
    const r = await runSync(devPlan);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("is unauthorized");
    expect(reqs.some((q) => q.method === "DELETE")).toBe(false);
    expect(r.out).not.toContain(KEY);
  });
});

describe("the data view against the Kibana contract stub (privileges and create-by-title as Kibana documents them)", () => {
  // The key the README asks for: manage_security, view_index_metadata on the indices, Data View Management.
  const FULL = "ZnVsbC1rZXk=";
  // The key the README used to ask for: manage_security only.
  const SECURITY_ONLY = "c2VjdXJpdHktb25seQ==";
  const keys: Record<string, EsApiKey> = {
    [FULL]: {
      cluster: ["manage_security"],
      indices: [{ names: ["k8s-dev-*", "k8s-dev2-*"], privileges: ["view_index_metadata"] }],
      kibana: { indexPatterns: "all" },
    },
    [SECURITY_ONLY]: { cluster: ["manage_security"] },
  };
  let kibana: KibanaStub;
  beforeEach(async () => {
    kibana = await startKibanaStub({ apiKeys: keys });
  });
  afterEach(() => kibana.close());

  function runSync(p: LogSearchPlan, key: string): Promise<{ code: number; out: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "log-search-kb-"));
    for (const f of syncFiles(p)) {
      fs.mkdirSync(path.dirname(path.join(dir, "sync", f.path)), { recursive: true });
      fs.writeFileSync(path.join(dir, "sync", f.path), f.content);
    }
    fs.writeFileSync(path.join(dir, "authorization"), `Authorization: ApiKey ${key}\n`, { mode: 0o400 });
    const env = {
      PATH: process.env.PATH!,
      ES_URL: kibana.url,
      KIBANA_URL: kibana.url,
      PREFIX: `platform-${p.stack}-`,
      AUTH_FILE: path.join(dir, "authorization"),
      DIR: path.join(dir, "sync"),
    };
    return new Promise((resolve) =>
      execFile("sh", [path.join(dir, "sync", "sync.sh")], { env }, (err, stdout, stderr) => {
        fs.rmSync(dir, { recursive: true, force: true });
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
      }),
    );
  }
  const readers = [{ workspace: "commerce", namespaces: ["commerce"], users: ["dev.zhang"] }];
  const dataViewCalls = () => kibana.requests.filter((r) => r.path.startsWith("/api/data_views/")).map((r) => `${r.method} ${r.path} ${r.status}`);

  test("first run creates the view; a changed platform:logSearch.indices updates the same id, not a 409", async () => {
    const first = await runSync(testPlan(readers), FULL);
    expect(first.out).toContain("data view platform-dev-logs: created");
    expect(first.code).toBe(0);
    expect(dataViewCalls()).toEqual(["GET /api/data_views/data_view/platform-dev-logs 404", "POST /api/data_views/data_view 200"]);

    kibana.requests.length = 0;
    const moved = { ...testPlan(readers), indices: "k8s-dev2-*" };
    const second = await runSync(moved, FULL);
    expect(second.out).toContain("data view platform-dev-logs: updated");
    expect(second.code).toBe(0);
    expect(dataViewCalls()).toEqual(["GET /api/data_views/data_view/platform-dev-logs 200", "POST /api/data_views/data_view/platform-dev-logs 200"]);
    expect([...kibana.dataViews.values()]).toEqual([
      { id: "platform-dev-logs", title: "k8s-dev2-*", name: "Container logs: dev", timeFieldName: "@timestamp" },
    ]);
  });

  test("a manage_security-only key stops the sync with a message naming Data View Management, before anything is deleted", async () => {
    const r = await runSync(testPlan(readers), SECURITY_ONLY);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(
      'platform:logSearchApiKey needs the Kibana feature privilege "Data View Management" (all) in the default space and view_index_metadata on the indices',
    );
    expect(r.out).not.toContain(SECURITY_ONLY);
    expect(dataViewCalls()).toEqual(["GET /api/data_views/data_view/platform-dev-logs 403"]);
    expect(kibana.requests.some((q) => q.method === "DELETE")).toBe(false);
    expect(kibana.dataViews.size).toBe(0);
  });
});

describe("platform:logSearch config errors name the key", () => {
  function problems(stack: string, overrides: string[]): string[] {
    const cfg = loadEngineConfig(stack, overrides);
    try {
      parseStackConfig(stack, cfg, { stacks: listStacks(), readStack: (n) => readStackFile(n).values });
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
    return [];
  }
  test("the committed members are valid", () => {
    for (const s of MEMBERS) expect(problems(s, [])).toEqual([]);
  });
  test("behind Kafka the store and indices must be named; http is refused; the host has none", () => {
    expect(problems("prod1", ['platform:logSearch={"kibana":"https://k.example.com","realm":"sso"}'])).toEqual([
      "platform:logSearch.elasticsearch: is required (logs go through Kafka, so the store behind it is not known here); the URL of the Elasticsearch the logs end up in",
      "platform:logSearch.indices: is required (logs go through Kafka, so the store behind it is not known here); the index pattern this cluster's logs end up in, such as k8s-prod-*",
    ]);
    expect(problems("dev", ['platform:logSearch={"kibana":"http://k.example.com","realm":"sso"}'])).toEqual([
      expect.stringMatching(/^platform:logSearch\.kibana: must be an https URL/),
    ]);
    // dev's fluent-bit writes without TLS: the default store URL would carry the admin key in clear
    expect(problems("dev", ['platform:logSearch={"kibana":"https://k.example.com","realm":"sso"}'])).toEqual([
      expect.stringMatching(/^platform:logSearch\.elasticsearch: is required: platform:logging writes to es\.dev\.livemall\.internal without TLS/),
    ]);
    expect(
      problems("dev", ['platform:logSearch={"kibana":"https://k.example.com","elasticsearch":"https://e.example.com","indices":"k8s-prod-*","realm":"sso"}']),
    ).toEqual(["platform:logSearch.indices: k8s-prod-* does not cover platform:logging.index k8s-dev (its daily indices are k8s-dev-YYYY.MM.DD)"]);
    // the worst near-misses: a prefix of the name that is another index's, and the bare name (no daily index is called that)
    const withIndices = (indices: string) => [
      `platform:logSearch={"kibana":"https://k.example.com","elasticsearch":"https://e.example.com","indices":"${indices}","realm":"sso"}`,
    ];
    for (const indices of ["k8s-devx-*", "k8s-dev"])
      expect(problems("dev", withIndices(indices))).toEqual([
        `platform:logSearch.indices: ${indices} does not cover platform:logging.index k8s-dev (its daily indices are k8s-dev-YYYY.MM.DD)`,
      ]);
    for (const indices of ["k8s-dev-*", "k8s-*", "k8s-dev-2026.*"]) expect(problems("dev", withIndices(indices))).toEqual([]);
    expect(
      problems("host", ['platform:logSearch={"kibana":"https://k.example.com","elasticsearch":"https://e.example.com","indices":"k8s-host-*","realm":"sso"}']),
    ).toContain("platform:logSearch: is a member setting (access to a member cluster's logs by workspace); delete it here");
  });
  test("the API key is required with it, as a secret", () => {
    const cfg = loadEngineConfig("dev");
    const values = { ...cfg.values };
    delete values["platform:logSearchApiKey"];
    let msg = "";
    try {
      parseStackConfig(
        "dev",
        { values, secretKeys: cfg.secretKeys.filter((k) => k !== "platform:logSearchApiKey") },
        { stacks: listStacks(), readStack: (n) => readStackFile(n).values },
      );
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/platform:logSearchApiKey: is required/);
    expect(problems("dev", ["platform:logSearchApiKey=plain"])).toEqual([expect.stringMatching(/^platform:logSearchApiKey: must be set as a secret/)]);
  });
});
