// A stand-in for the company Kibana 8.x and the Elasticsearch behind it, for what the log-search
// sync Job calls (components/k8s/logSearch.ts): Kibana roles, Elasticsearch role mappings and
// Kibana data views, authenticated with an Elasticsearch API key (`Authorization: ApiKey <encoded>`)
// whose privileges the test sets.
//
// Rules:
// - Kibana refuses a non-GET API call without the kbn-xsrf header (Kibana Guide "REST API",
//   "Request headers", guide/en/kibana/8.x/api.html: kbn-xsrf is required for all API calls
//   except GET; undated page, read 2026-12-07).
// - Kibana role and Elasticsearch role-mapping APIs need the manage_security cluster privilege
//   (Kibana Guide "Create or update role API" and Elasticsearch "Create or update role mappings
//   API", Prerequisites; undated pages, read 2026-12-07).
// - Data views: access needs the Kibana privilege "Data View Management", and creating one needs
//   the Elasticsearch privilege view_index_metadata on its indices (Kibana Guide "Create a data
//   view", "Required permissions", guide/en/kibana/8.0/data-views.html; undated, read
//   2026-12-07). Without them: 403.
// - Create (POST /api/data_views/data_view): `override: true` overrides an existing data view
//   "if a data view with the provided title already exists" (Kibana Guide "Create data view API",
//   guide/en/kibana/8.8/data-views-api-create.html; undated, read 2026-12-07). So it matches by
//   title: a create whose id exists under another title is a conflict (409), as the 2026-12-07
//   review reads it (not run against a real Kibana). Update by id: POST
//   /api/data_views/data_view/<id> (Kibana Guide "Update data view API"); 404 when absent.
import { json, startStubServer, StubServer } from "./stubServer";

export interface EsApiKey {
  /** Elasticsearch cluster privileges, e.g. ["manage_security"]. */
  cluster: string[];
  /** Index privileges: patterns and what they allow, e.g. view_index_metadata. */
  indices?: { names: string[]; privileges: string[] }[];
  /** Kibana feature privileges in the default space, e.g. { indexPatterns: "all" } ("Data View Management"). */
  kibana?: Record<string, "all" | "read">;
}

export interface KibanaStubOptions {
  /** Encoded API key -> its privileges. */
  apiKeys: Record<string, EsApiKey>;
  /** Data views that exist already, by id. */
  dataViews?: Record<string, { title: string; name?: string; timeFieldName?: string }>;
}

export interface KibanaStub extends StubServer {
  roles: Map<string, unknown>;
  roleMappings: Map<string, unknown>;
  dataViews: Map<string, { id: string; title: string; name?: string; timeFieldName?: string }>;
}

const glob = (pattern: string, s: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`).test(s);

export async function startKibanaStub(options: KibanaStubOptions): Promise<KibanaStub> {
  const roles = new Map<string, unknown>();
  const roleMappings = new Map<string, unknown>();
  const dataViews = new Map(Object.entries(options.dataViews ?? {}).map(([id, v]) => [id, { id, ...v }]));
  const server = await startStubServer((req) => {
    const err = (status: number, code: string, message: string) => json(status, { statusCode: status, error: code, message }, code);
    const m = /^ApiKey (.+)$/.exec(req.headers.authorization ?? "");
    const key = m ? options.apiKeys[m[1]] : undefined;
    if (!key) return err(401, "Unauthorized", "unable to authenticate with provided credentials");
    const isKibana = req.path.startsWith("/api/");
    if (isKibana && req.method !== "GET" && !req.headers["kbn-xsrf"]) return err(400, "Bad Request", "Request must contain a kbn-xsrf header.");
    const body = req.body.length > 0 ? (JSON.parse(req.body.toString("utf8")) as Record<string, unknown>) : {};
    const security = (store: Map<string, unknown>, name: string) => {
      if (!key.cluster.includes("manage_security"))
        return err(403, "Forbidden", "action [cluster:admin/xpack/security] is unauthorized: manage_security is required");
      if (req.method === "PUT") return (store.set(name, body), json(200, { created: true }));
      if (req.method === "DELETE") return store.delete(name) ? json(200, { found: true }) : err(404, "Not Found", `${name} not found`);
      return json(200, name ? (store.has(name) ? { [name]: store.get(name) } : {}) : Object.fromEntries(store));
    };
    let r = /^\/api\/security\/role(?:\/([^/]+))?$/.exec(req.path);
    if (r) return security(roles, r[1] ?? "");
    r = /^\/_security\/role_mapping(?:\/([^/]+))?$/.exec(req.path);
    if (r) return security(roleMappings, r[1] ?? "");
    r = /^\/api\/data_views\/data_view(?:\/([^/]+))?$/.exec(req.path);
    if (r) {
      const level = key.kibana?.indexPatterns;
      if (!level || (req.method !== "GET" && level !== "all")) return err(403, "Forbidden", "the Kibana privilege Data View Management is required");
      const id = r[1];
      if (req.method === "GET")
        return id && dataViews.has(id) ? json(200, { data_view: dataViews.get(id) }) : err(404, "Not Found", `Saved object [index-pattern/${id}] not found`);
      const view = (body.data_view ?? {}) as { id?: string; title?: string; name?: string; timeFieldName?: string };
      const title = view.title ?? (id ? dataViews.get(id)?.title : undefined);
      const canView = (t: string) =>
        (key.indices ?? []).some(
          (i) => i.privileges.some((p) => p === "view_index_metadata" || p === "all" || p === "manage") && i.names.some((n) => n === t || glob(n, t)),
        );
      if (title && !canView(title)) return err(403, "Forbidden", `view_index_metadata on [${title}] is required`);
      if (id !== undefined) {
        const existing = dataViews.get(id);
        if (!existing) return err(404, "Not Found", `Saved object [index-pattern/${id}] not found`);
        const updated = { ...existing, ...view, id };
        dataViews.set(id, updated);
        return json(200, { data_view: updated });
      }
      if (!view.title) return err(400, "Bad Request", "[request body.data_view.title]: expected value of type [string]");
      const sameTitle = [...dataViews.values()].find((v) => v.title === view.title);
      if (sameTitle && body.override === true) {
        dataViews.delete(sameTitle.id);
      } else if (sameTitle) {
        return err(400, "Bad Request", `Duplicate data view: ${view.title}`);
      }
      const newId = view.id ?? `dv-${dataViews.size + 1}`;
      if (dataViews.has(newId)) return err(409, "Conflict", `Saved object [index-pattern/${newId}] conflict`);
      const created = { ...view, id: newId, title: view.title };
      dataViews.set(newId, created);
      return json(200, { data_view: created });
    }
    return err(404, "Not Found", `${req.method} ${req.path} is not served by this stub`);
  });
  return { ...server, roles, roleMappings, dataViews };
}
