// The console as code (issue #20): planned KubeSphere objects checked against a
// compact copy of the v4.1.3 CRD schemas (only the fields we use, each CRD's
// path given), workspaces on every member's app namespaces, roles by env, the
// identity provider's secret masked, install plans on the clusters they name,
// and config errors naming the key.
import { parseStackConfig, ConfigError } from "../../components/config/stackConfig";
import { listStacks, loadEngineConfig, readStackFile } from "../../components/config/stackFiles";
import { identityProviderConfiguration, installPlan } from "../../components/fleet/console";
import { consoleSchema, ConsoleConfig, workspacesSchema } from "../../components/fleet/consoleSchema";
import type { K8sObject } from "../../components/k8s/k8sObjects";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ofType, plan } from "../support/offline";
import { planJson, writeArtifacts } from "../../components/preview/preview";
import { STAND_INS, StandIn } from "../controlplane/standInCrds";

/** The KubeSphere kinds the console plans; their compact schemas are the control plane's stand-in CRDs (one table each, citing its CRD file). */
const KINDS = ["WorkspaceTemplate", "WorkspaceRoleBinding", "GlobalRoleBinding", "RoleBinding", "InstallPlan"];
const SCHEMAS: Record<string, StandIn> = Object.fromEntries(
  STAND_INS.filter((s) => s.group.endsWith("kubesphere.io") && KINDS.includes(s.kind)).map((s) => [`${s.group}/${s.version}/${s.kind}`, s]),
);
if (Object.keys(SCHEMAS).length !== KINDS.length) throw new Error(`standInCrds.ts lacks a KubeSphere kind of ${KINDS.join(", ")}`);

function typeOf(v: unknown): string {
  return Array.isArray(v) ? "array" : v === null ? "null" : typeof v;
}

/** Problems of one object against its compact schema: unknown fields (a structural CRD prunes them), wrong types, missing required fields. */
function validate(obj: Record<string, unknown>): string[] {
  const key = `${String(obj.apiVersion)}/${String(obj.kind)}`;
  const s = SCHEMAS[key];
  if (!s) return [`${key}: no schema`];
  const out: string[] = [];
  const meta = obj.metadata as { name?: string; namespace?: string };
  if (!meta?.name) out.push(`${key}: metadata.name is required`);
  if ((s.scope === "Namespaced") !== (meta?.namespace !== undefined)) out.push(`${key} ${meta?.name}: ${s.scope} object, namespace ${meta?.namespace}`);
  const walk = (v: unknown, path: string): void => {
    const want = s.fields[path]?.replace("!", "");
    if (!want) {
      out.push(`${key} ${meta?.name}: ${path} is not in ${s.source}`);
      return;
    }
    if (typeOf(v) !== want) {
      out.push(`${key} ${meta?.name}: ${path} must be ${want}, got ${typeOf(v)}`);
      return;
    }
    if (Array.isArray(v)) v.forEach((x) => walk(x, `${path}[]`));
    else if (want === "object" && v !== null) {
      const o = v as Record<string, unknown>;
      const isMap = s.fields[`${path}{}`] !== undefined;
      for (const [k, x] of Object.entries(o)) walk(x, isMap ? `${path}{}` : `${path}.${k}`);
      for (const [f, t] of Object.entries(s.fields)) {
        if (t.endsWith("!") && f.startsWith(`${path}.`) && !f.slice(path.length + 1).match(/[.[{]/) && !(f.slice(path.length + 1) in o))
          out.push(`${key} ${meta?.name}: ${f} is required`);
      }
    }
  };
  for (const [k, v] of Object.entries(obj)) if (!["apiVersion", "kind", "metadata"].includes(k)) walk(v, k);
  for (const [f, t] of Object.entries(s.fields)) if (t.endsWith("!") && !f.includes(".") && !(f in obj)) out.push(`${key} ${meta?.name}: ${f} is required`);
  return out;
}

const TYPES = Object.keys(SCHEMAS).map((k) => {
  const [group, version, kind] = k.split("/");
  return `kubernetes:${group}/${version}:${kind}`;
});
const MEMBERS = ["dev", "test", "pre", "prod1", "prod2"] as const;
const hostValues = () => readStackFile("host").values;
const hostWorkspaces = () => workspacesSchema.parse(hostValues()["platform:workspaces"]);

function planned(p: Awaited<ReturnType<typeof plan>>): Record<string, unknown>[] {
  return p.resources.filter((r) => TYPES.includes(r.type)).map((r) => r.inputs);
}

describe("the validator", () => {
  test("refuses what the CRDs refuse", () => {
    const wt = { apiVersion: "tenant.kubesphere.io/v1beta1", kind: "WorkspaceTemplate", metadata: { name: "w" }, spec: { placement: { clusters: ["dev"] } } };
    expect(validate(wt)).toEqual([
      "tenant.kubesphere.io/v1beta1/WorkspaceTemplate w: spec.placement.clusters[] must be object, got string",
      "tenant.kubesphere.io/v1beta1/WorkspaceTemplate w: spec.template is required",
    ]);
    const ip = installPlan("x", { version: "1.0.0", clusters: ["dev"] });
    expect(validate({ ...ip, spec: { ...(ip.spec as object), clusterScheduling: { placement: { clusters: [{ name: "dev" }] } } } })).toEqual([
      "kubesphere.io/v1alpha1/InstallPlan x: spec.clusterScheduling.placement.clusters[] must be string, got object",
    ]);
    expect(validate({ apiVersion: "iam.kubesphere.io/v1beta1", kind: "RoleBinding", metadata: { name: "b" }, roleRef: {}, bogus: 1 })).toHaveLength(5);
  });
});

describe("host", () => {
  test("every console object of the plan fits the v4.1.3 CRD schemas; one WorkspaceTemplate per workspace, placed on every member (the host lists no clusters)", async () => {
    const objs = planned(await plan("host"));
    expect(objs.flatMap(validate)).toEqual([]);
    const ws = hostWorkspaces();
    const templates = objs.filter((o) => o.kind === "WorkspaceTemplate");
    expect(templates.map((t) => (t.metadata as { name: string }).name).sort()).toEqual(Object.keys(ws).sort());
    for (const t of templates) {
      const name = (t.metadata as { name: string }).name;
      expect([name, (t.spec as { placement: { clusters: { name: string }[] } }).placement.clusters.map((c) => c.name)]).toEqual([name, [...MEMBERS]]);
    }
    // Ops are platform admins and workspace admins; everyone else is a regular workspace member.
    const wrb = objs.filter((o) => o.kind === "WorkspaceRoleBinding") as unknown as K8sObject[];
    for (const [name, w] of Object.entries(ws)) {
      for (const u of w.admins)
        expect(wrb.some((b) => (b.roleRef as { name: string }).name === `${name}-admin` && JSON.stringify(b.subjects).includes(`"${u}"`))).toBe(true);
      for (const u of [...(w.developers ?? []), ...(w.viewers ?? [])])
        expect(wrb.some((b) => (b.roleRef as { name: string }).name === `${name}-regular` && JSON.stringify(b.subjects).includes(`"${u}"`))).toBe(true);
    }
    expect(objs.filter((o) => o.kind === "GlobalRoleBinding").map((o) => (o.roleRef as { name: string }).name)).toEqual(["platform-admin", "platform-admin"]);
  });

  test("the identity provider Secret is the 4.1 kind (type, label, configuration.yaml) and its secret stays masked in --json and --out", async () => {
    const p = await plan("host");
    const [secret] = ofType(p, "kubernetes:core/v1:Secret").filter((s) => (s.inputs.metadata as { name: string }).name.startsWith("identityprovider-"));
    expect(secret.inputs.type).toBe("config.kubesphere.io/identityprovider");
    expect(secret.inputs.metadata).toMatchObject({ namespace: "kubesphere-system", labels: { "config.kubesphere.io/type": "identityprovider" } });
    expect(secret.inputs.stringData).toBe("[secret]");
    // The offline secret is a known placeholder (config/stackFiles.ts OFFLINE_PLACEHOLDERS): it must appear in no output or artifact.
    const placeholder = "offline-placeholder-identity-provider";
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "console-out-"));
    try {
      // What --json prints and --out writes, made by the functions the CLI calls, from this run's plan
      // (no second preview in a child process; test/preview/preview.test.ts runs the CLI itself).
      const json = JSON.stringify(planJson(p));
      writeArtifacts(dir, p);
      expect(json).toContain("identityprovider-livemall-sso");
      expect(json).not.toContain(placeholder);
      expect(json).not.toContain("clientSecret");
      const files = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
      expect(files.length).toBeGreaterThan(1);
      for (const f of files) expect([f.name, fs.readFileSync(path.join(f.parentPath, f.name), "utf8").includes(placeholder)]).toEqual([f.name, false]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the configuration.yaml KubeSphere reads: OIDC with the redirect to the console, LDAP with the manager password", () => {
    const c = consoleSchema.parse(hostValues()["platform:console"]);
    const oidc = YAML.parse(identityProviderConfiguration(c, "x"));
    expect(oidc).toMatchObject({ name: "livemall-sso", type: "OIDCIdentityProvider", mappingMethod: "auto" });
    expect(oidc.provider).toMatchObject({
      clientID: "kubesphere",
      clientSecret: "x",
      redirectURL: "https://console.livemall.internal/oauth/redirect/livemall-sso",
      // ks-apiserver adds "openid" and keeps these only when the list lacks it (v4.1.3 oidc.go:185-189)
      scopes: ["email", "profile"],
    });
    expect(consoleSchema.safeParse({ ...c, identityProvider: { ...c.identityProvider, scopes: ["openid", "email"] } }).error?.issues[0].message).toMatch(
      /^must not list "openid"/,
    );
    const ldap: ConsoleConfig = {
      ...c,
      identityProvider: { type: "ldap", name: "ad", host: "ldap.livemall.internal:389", managerDN: "cn=ks", userSearchBase: "ou=staff" },
    };
    expect(YAML.parse(identityProviderConfiguration(ldap, "pw"))).toMatchObject({
      type: "LDAPIdentityProvider",
      provider: { managerPassword: "pw", loginAttribute: "uid" },
    });
  });

  test("install plans target the clusters they name, and fit the schema", async () => {
    const ext = '{"whizard-logging":{"version":"1.2.0","clusters":["dev","test"]},"gateway":{"version":"1.0.2","clusters":["host","prod1"]}}';
    const p = await plan("host", [`platform:console.extensions=${ext}`]);
    const plans = ofType(p, "kubernetes:kubesphere.io/v1alpha1:InstallPlan").map((r) => r.inputs);
    expect(plans.flatMap(validate)).toEqual([]);
    const target = Object.fromEntries(
      plans.map((i) => [
        (i.metadata as { name: string }).name,
        (i.spec as { clusterScheduling: { placement: { clusters: string[] } } }).clusterScheduling.placement.clusters,
      ]),
    );
    expect(target).toEqual({ "whizard-logging": ["dev", "test"], gateway: ["host", "prod1"] });
  });
});

describe.each(MEMBERS)("member %s", (stack) => {
  test("every app namespace carries a workspace placed on this cluster; developers edit only in dev/test", async () => {
    const p = await plan(stack);
    const ws = hostWorkspaces();
    const namespaces = ofType(p, "kubernetes:core/v1:Namespace")
      .map((r) => r.inputs.metadata as { name: string; labels: Record<string, string> })
      .filter((m) => m.labels?.["platform/env"] !== undefined);
    expect(namespaces.length).toBeGreaterThan(0);
    for (const m of namespaces) {
      const w = m.labels["kubesphere.io/workspace"];
      // Both workspaces are placed on every member (the host test above).
      expect([m.name, ["commerce", "scm"].includes(w)]).toEqual([m.name, true]);
      expect(m.labels["kubesphere.io/managed"]).toBe("true");
    }
    const bindings = planned(p).filter((o) => o.kind === "RoleBinding") as unknown as K8sObject[];
    expect(bindings.flatMap((b) => validate(b as Record<string, unknown>))).toEqual([]);
    const roleOf = (ns: string, user: string) =>
      bindings.filter((b) => b.metadata.namespace === ns && JSON.stringify(b.subjects).includes(`"${user}"`)).map((b) => (b.roleRef as { name: string }).name);
    const release = stack === "dev" || stack === "test";
    for (const m of namespaces) {
      const w = ws[m.labels["kubesphere.io/workspace"]];
      for (const u of w.admins) expect(roleOf(m.name, u)).toEqual(["admin"]);
      for (const u of w.developers ?? []) expect(roleOf(m.name, u)).toEqual([release ? "operator" : "viewer"]);
      for (const u of w.viewers ?? []) expect(roleOf(m.name, u)).toEqual(["viewer"]);
    }
    expect(bindings.length).toBeGreaterThan(0);
  });
});

describe("config errors name the key, before any resource", () => {
  function problems(stack: string, overrides: string[], host: (v: Record<string, unknown>) => Record<string, unknown> = (v) => v): string[] {
    const cfg = loadEngineConfig(stack, overrides);
    try {
      parseStackConfig(stack, cfg, { stacks: listStacks(), readStack: (n) => (n === "host" ? host(readStackFile("host").values) : readStackFile(n).values) });
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
    return [];
  }
  test("a namespace in no workspace", () => {
    expect(problems("dev", ['platform:projects={"commerce":"commerce"}'])).toEqual([
      expect.stringMatching(/^platform:projects\.scm: is required: namespace scm \(apps supply-chain\) is in no workspace.*commerce, scm/),
    ]);
  });
  test("a workspace the host does not have, or not placed on this cluster", () => {
    expect(problems("pre", ['platform:projects={"commerce":"retail","scm":"scm"}'])).toEqual([
      'platform:projects.commerce: no workspace "retail" in the host\'s platform:workspaces (Pulumi.host.yaml: commerce, scm)',
    ]);
    // A workspace that lists its clusters is placed on those only.
    const noPre = (v: Record<string, unknown>) => {
      const ws = structuredClone(v["platform:workspaces"]) as Record<string, { clusters?: string[] }>;
      ws.scm.clusters = ["dev", "test", "prod1", "prod2"];
      return { ...v, "platform:workspaces": ws };
    };
    expect(problems("pre", [], noPre)).toEqual([
      'platform:projects.scm: workspace "scm" is not placed on cluster pre (add pre to platform:workspaces.scm.clusters in Pulumi.host.yaml; workspaces placed on pre in Pulumi.host.yaml: commerce)',
    ]);
    // One that lists none is placed on every member the host registers: pre, dropped from the members, has neither.
    const notMember = (v: Record<string, unknown>) => {
      const ks = structuredClone(v["platform:kubesphere"]) as { members: string[] };
      ks.members = ks.members.filter((m) => m !== "livemall/platform/pre");
      return { ...v, "platform:kubesphere": ks };
    };
    expect(problems("pre", [], notMember)).toEqual([
      'platform:projects.commerce: workspace "commerce" is not placed on cluster pre (it is placed on every member: add <org>/platform/pre to platform:kubesphere.members in Pulumi.host.yaml; workspaces placed on pre in Pulumi.host.yaml: none)',
      'platform:projects.scm: workspace "scm" is not placed on cluster pre (it is placed on every member: add <org>/platform/pre to platform:kubesphere.members in Pulumi.host.yaml; workspaces placed on pre in Pulumi.host.yaml: none)',
    ]);
    // Before the host lists it, a new member runs with KubeSphere off (add-a-cluster.md, "Member before host"): no placement yet.
    expect(problems("pre", ['platform:kubesphere={"enabled":false}'], notMember)).toEqual([]);
  });
  test("host keys on a member, unknown clusters", () => {
    expect(problems("dev", ['platform:workspaces={"x":{"clusters":["dev"],"admins":["a"]}}'])).toContain(
      "platform:workspaces: is a host setting (the host creates the workspaces); delete it here",
    );
    expect(problems("host", ['platform:workspaces={"x":{"clusters":["dev","qa"],"admins":["a"]}}'])).toContain(
      'platform:workspaces.x.clusters[1]: no member stack "qa" (members: dev, pre, prod1, prod2, test)',
    );
    // placed on a member stack the host does not register: the console would never create it there
    expect(
      problems("host", [
        'platform:kubesphere={"enabled":true,"members":["livemall/platform/pre"]}',
        'platform:workspaces={"commerce":{"clusters":["dev","pre"],"admins":["a"]}}',
      ]),
    ).toEqual([
      "platform:workspaces.commerce.clusters[0]: dev is not in platform:kubesphere.members, so the console does not know that cluster; list it there",
    ]);
    // No clusters listed and no member: the workspace would be placed nowhere.
    expect(problems("host", ['platform:kubesphere={"enabled":true}'])).toEqual([
      "platform:workspaces.commerce.clusters: not set, so the workspace is placed on every member of platform:kubesphere.members, which lists none; list the members there, or the clusters here",
      "platform:workspaces.scm.clusters: not set, so the workspace is placed on every member of platform:kubesphere.members, which lists none; list the members there, or the clusters here",
    ]);
    expect(problems("host", ['platform:console.extensions={"e":{"version":"1.0.0","clusters":["stage"]}}'])).toEqual([
      'platform:console.extensions.e.clusters[0]: no cluster "stage" (clusters: dev, host, pre, prod1, prod2, test)',
    ]);
  });
  test("a cluster listed twice in a workspace or an extension (ks-core 1.1.4's CRDs refuse the duplicate)", () => {
    expect(problems("host", ['platform:workspaces.commerce.clusters=["dev","prod1","dev"]'])).toEqual([
      "platform:workspaces.commerce.clusters[2]: dev is listed twice; list each cluster once (KubeSphere refuses a duplicate in a WorkspaceTemplate's spec.placement.clusters)",
    ]);
    expect(problems("host", ['platform:console.extensions={"e":{"version":"1.0.0","clusters":["host","host"]}}'])).toEqual([
      "platform:console.extensions.e.clusters[1]: host is listed twice; list each cluster once (KubeSphere refuses a duplicate in an InstallPlan's spec.clusterScheduling.placement.clusters)",
    ]);
  });
});
