// A stand-in for the ECS instance metadata service (100.100.100.200) of an instance created with
// httpTokens "required" (security hardening mode), serving the instance role's STS credentials.
//
// Rules (ECS "Instance metadata", help/en/ecs/user-guide/view-instance-metadata, last updated
// 2025-10-10; "Access instance metadata in security hardening mode only", help/en/ecs/user-guide/
// access-instance-metadata-using-hardened-only-mode, last updated 2025-10-31):
// - a token comes from PUT /latest/api/token with X-aliyun-ecs-metadata-token-ttl-seconds
//   between 1 and 21600; any other method or TTL is refused;
// - in hardened-only mode every metadata GET carries X-aliyun-ecs-metadata-token with a live
//   token, else it is refused (403 here);
// - GET /latest/meta-data/ram/security-credentials/<role> returns the role's temporary
//   credentials (AccessKeyId STS.*, AccessKeySecret, SecurityToken, Expiration); a role the
//   instance does not have is 404.
// The same page says hardened mode needs cloud-init 23.2.2 or later to read user data.
import { randomBytes } from "crypto";
import { json, startStubServer, StubServer } from "./stubServer";

export interface MetadataStubOptions {
  /** The instance's RAM role and the STS credentials it hands out (register them with the KMS/OSS stubs too). */
  role: string;
  credentials: { AccessKeyId: string; AccessKeySecret: string; SecurityToken: string };
  instanceId?: string;
}

export interface MetadataStub extends StubServer {
  /** Tokens issued, with their expiry (ms since epoch). */
  tokens: Map<string, number>;
}

export async function startMetadataStub(options: MetadataStubOptions): Promise<MetadataStub> {
  const tokens = new Map<string, number>();
  const server = await startStubServer((req) => {
    const refuse = (status: number, code: string) => ({ status, body: code, refused: code });
    if (req.path === "/latest/api/token") {
      if (req.method !== "PUT") return refuse(405, "TokenNeedsPut");
      const ttl = Number(req.headers["x-aliyun-ecs-metadata-token-ttl-seconds"]);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return refuse(400, "InvalidTokenTtl");
      const token = randomBytes(24).toString("base64url");
      tokens.set(token, Date.now() + ttl * 1000);
      return { status: 200, body: token };
    }
    const token = req.headers["x-aliyun-ecs-metadata-token"];
    const expiry = token === undefined ? undefined : tokens.get(token);
    if (expiry === undefined || expiry < Date.now()) return refuse(403, "TokenRequired");
    if (req.method !== "GET") return refuse(405, "MethodNotAllowed");
    if (req.path === "/latest/meta-data/instance-id") return { status: 200, body: options.instanceId ?? "i-stub" };
    const m = /^\/latest\/meta-data\/ram\/security-credentials\/([^/]+)$/.exec(req.path);
    if (m) {
      if (m[1] !== options.role) return refuse(404, "RoleNotAttached");
      return json(200, { ...options.credentials, Code: "Success", Expiration: new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z") });
    }
    return refuse(404, "NotFound");
  });
  return { ...server, tokens };
}
