// A small Kubernetes API client over node:https for the local control plane: the kubeconfig's client
// certificate, its CA and tls-server-name, discovery (kind -> resource), and server-side apply.
import * as fs from "fs";
import * as https from "https";
import YAML from "yaml";

export interface Response {
  status: number;
  text: string;
  json?: Record<string, unknown>;
}

export interface ResourceInfo {
  /** Path prefix of the group version: /api/v1 or /apis/<group>/<version>. */
  base: string;
  plural: string;
  namespaced: boolean;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface Kubeconfig {
  clusters: { name: string; cluster: { server: string; "certificate-authority-data": string; "tls-server-name"?: string } }[];
  users: { name: string; user: { "client-certificate-data": string; "client-key-data": string } }[];
}

/** The field manager of every apply (the Pulumi Kubernetes provider's own name for its server-side applies). */
export const FIELD_MANAGER = "pulumi-kubernetes";

export class KubeClient {
  readonly server: URL;
  private readonly agent: https.Agent;
  private readonly servername?: string;
  private discovery = new Map<string, ResourceInfo>();

  constructor(readonly kubeconfig: string) {
    const kc = YAML.parse(fs.readFileSync(kubeconfig, "utf8")) as Kubeconfig;
    const cluster = kc.clusters[0].cluster;
    const user = kc.users[0].user;
    const b64 = (s: string) => Buffer.from(s, "base64");
    this.server = new URL(cluster.server);
    this.servername = cluster["tls-server-name"];
    this.agent = new https.Agent({
      ca: b64(cluster["certificate-authority-data"]),
      cert: b64(user["client-certificate-data"]),
      key: b64(user["client-key-data"]),
      keepAlive: true,
      maxSockets: 4,
    });
  }

  request(method: string, urlPath: string, body?: unknown, contentType = "application/json"): Promise<Response> {
    const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: this.server.hostname,
          port: this.server.port,
          path: urlPath,
          method,
          agent: this.agent,
          servername: this.servername,
          headers: { Accept: "application/json", ...(data !== undefined ? { "Content-Type": contentType, "Content-Length": Buffer.byteLength(data) } : {}) },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let json: Record<string, unknown> | undefined;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, text, json });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath}: timed out`)));
      req.on("error", reject);
      if (data !== undefined) req.write(data);
      req.end();
    });
  }

  /** Forgets discovery (after CRDs were created). */
  resetDiscovery(): void {
    this.discovery.clear();
  }

  private async discover(apiVersion: string): Promise<void> {
    const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const r = await this.request("GET", base);
    if (r.status !== 200) return;
    for (const res of (r.json?.resources ?? []) as { name: string; kind: string; namespaced: boolean }[]) {
      if (res.name.includes("/")) continue;
      this.discovery.set(`${apiVersion}/${res.kind}`, { base, plural: res.name, namespaced: res.namespaced });
    }
    this.discovery.set(`${apiVersion}/`, { base, plural: "", namespaced: false });
  }

  /** Where a kind lives on this server, or undefined when the server does not serve it. */
  async resource(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    if (!this.discovery.has(`${apiVersion}/`)) await this.discover(apiVersion);
    return this.discovery.get(`${apiVersion}/${kind}`);
  }

  async objectPath(obj: K8sObject): Promise<string | undefined> {
    const info = await this.resource(obj.apiVersion, obj.kind);
    if (!info) return undefined;
    const ns = info.namespaced ? `/namespaces/${encodeURIComponent(obj.metadata.namespace ?? "default")}` : "";
    return `${info.base}${ns}/${info.plural}/${encodeURIComponent(obj.metadata.name ?? "")}`;
  }

  /** Server-side apply, for real (no dry run), with strict field validation: unknown or duplicate fields are refusals. */
  async apply(obj: K8sObject, opts: { force?: boolean; dryRun?: boolean } = {}): Promise<Response> {
    const p = await this.objectPath(obj);
    if (!p) return { status: 404, text: `the server has no resource for ${obj.apiVersion} ${obj.kind}` };
    const q = new URLSearchParams({ fieldManager: FIELD_MANAGER, fieldValidation: "Strict" });
    if (opts.force ?? true) q.set("force", "true");
    if (opts.dryRun) q.set("dryRun", "All");
    return this.request("PATCH", `${p}?${q}`, obj, "application/apply-patch+yaml");
  }

  async get(obj: K8sObject): Promise<Response> {
    const p = await this.objectPath(obj);
    if (!p) return { status: 404, text: `the server has no resource for ${obj.apiVersion} ${obj.kind}` };
    return this.request("GET", p);
  }

  async create(obj: K8sObject, opts: { dryRun?: boolean } = {}): Promise<Response> {
    const info = await this.resource(obj.apiVersion, obj.kind);
    if (!info) return { status: 404, text: `the server has no resource for ${obj.apiVersion} ${obj.kind}` };
    const ns = info.namespaced ? `/namespaces/${encodeURIComponent(obj.metadata.namespace ?? "default")}` : "";
    return this.request("POST", `${info.base}${ns}/${info.plural}${opts.dryRun ? "?dryRun=All" : ""}`, obj);
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The server's message of a refusal (a Status object's message, else the body). */
export function serverMessage(r: Response): string {
  const m = r.json?.message;
  return typeof m === "string" ? m : r.text.trim().slice(0, 2000);
}
