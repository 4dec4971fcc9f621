// A stand-in for OSS PutObject/GetObject/DeleteObject on versioned buckets, signed V4 or V1 as OSS
// checks them today. Both signatures are recomputed with Alibaba's own Node.js SDK, ali-oss
// (lib/common/signUtils: authorizationV4, buildCanonicalString/computeSignature), never with the
// code under test. Requests come virtual-hosted (Host: <bucket>.oss-<region>[-internal].aliyuncs.com,
// what ali-oss sends to an IP endpoint and what curl --resolve sends) or path-style (/<bucket>/<key>).
//
// Rules:
// - V1 ("Authorization: OSS <id>:<sig>") is refused on a bucket created on or after 2025-09-01:
//   Alibaba, "Notice on the discontinuation of the OSS V1 signature algorithm" (alibabacloud.com
//   en/notice/notice_on_the_discontinuation_of_the_oss_v1_signature_algorithm_40f): from
//   September 1, 2025 V1 is no longer available for new buckets (in phases); "Guide to upgrading
//   from Signature V1 to Signature V4" (help/en/oss/developer-reference/
//   guidelines-for-upgrading-v1-signatures-to-v4-signatures, last updated 2026-03-20): OSS is
//   phasing out V1; requests built by hand move to OSS4-HMAC-SHA256. The stub refuses V1 on every
//   such bucket (the strict end of "in phases").
// - V4: "Authorization: OSS4-HMAC-SHA256 Credential=<id>/<yyyymmdd>/<region>/oss/aliyun_v4_request,
//   [AdditionalHeaders=<h;h>,]Signature=<hex>", with x-oss-date (yyyymmddTHHMMSSZ, within 15
//   minutes) and x-oss-content-sha256 (same guide, "API (manual signature construction)"); the
//   credential's date is x-oss-date's and its region the bucket's.
// - STS credentials send x-oss-security-token; a missing or wrong one is refused.
// - A caller may only PutObject / DeleteObject where its grant (its RAM policy) allows; a delete
//   without a version id writes a delete marker, with one it needs oss:DeleteObjectVersion
//   (OSS "DeleteObject", help/doc-detail/31982.htm).
// - A grant may be the caller's RAM policy statements themselves: evaluated as RAM does, an
//   explicit Deny overriding any Allow, nothing allowed by default (RAM "How RAM evaluates
//   policies", help/en/ram/policy-evaluation-process, last updated 2026-06-02), `*` a wildcard in
//   Action and Resource ("Policy elements", doc-detail/93738). With statements the stub also
//   serves the bucket settings as bare PUT/DELETE on /<bucket>/?<sub>: versioning, lifecycle,
//   policy, acl, publicAccessBlock, replication, each needing oss:PutBucket<Sub> or
//   oss:DeleteBucket<Sub> (and DELETE /<bucket>/ oss:DeleteBucket) on acs:oss:*:*:<bucket>.
// Error bodies are OSS's XML (<Error><Code>..</Code></Error>); the codes for the V1 refusal
// and the STS token are the stub's (the docs above give the rule, not the code).
import { createHash } from "crypto";
import type { PolicyStatement } from "../../../components/cluster/masterRole";
import { startStubServer, StubAnswer, StubServer } from "./stubServer";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const signUtils = require("ali-oss/lib/common/signUtils") as {
  authorizationV4(
    id: string,
    secret: string,
    region: string,
    method: string,
    req: { headers: Record<string, string>; queries?: Record<string, string | null> },
    bucket?: string,
    object?: string,
    additionalHeaders?: string[],
  ): string;
  buildCanonicalString(
    method: string,
    resourcePath: string,
    req: { headers: Record<string, string>; parameters?: Record<string, string> },
    expires?: string,
  ): string;
  computeSignature(secret: string, canonical: string): string;
};

export const V1_CUTOFF = Date.parse("2025-09-01T00:00:00Z");

export interface OssBucket {
  region: string;
  /** When the bucket was created: on or after 2025-09-01 V1 is refused. */
  createdAt: string;
}

export interface OssGrant {
  /** "<bucket>/<prefix>" the caller may PutObject under. */
  put?: string[];
  /** "<bucket>/<prefix>" the caller may read. */
  get?: string[];
  /** "<bucket>/<prefix>" the caller may DeleteObject (a delete marker) under. */
  delete?: string[];
  /** "<bucket>/<prefix>" the caller may DeleteObjectVersion under. */
  deleteVersion?: string[];
}

export interface OssKey {
  accessKeySecret: string;
  securityToken?: string;
}

export interface OssStubOptions {
  buckets: Record<string, OssBucket>;
  keys: Record<string, OssKey>;
  /** Per access key: a hand-written grant, or RAM policy statements evaluated as RAM does. */
  grants: Record<string, OssGrant | PolicyStatement[]>;
}

export interface OssVersion {
  versionId: string;
  body?: Buffer;
  deleteMarker: boolean;
  signedWith: "V1" | "V4";
}

export interface OssStub extends StubServer {
  /** "<bucket>/<key>" -> versions, oldest first. */
  objects: Map<string, OssVersion[]>;
}

function xmlError(status: number, code: string, message: string): StubAnswer {
  return {
    status,
    headers: { "content-type": "application/xml" },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
    refused: code,
  };
}

const allowed = (list: string[] | undefined, bucket: string, key: string) => (list ?? []).some((p) => `${bucket}/${key}`.startsWith(p));

const glob = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
    "i",
  ).test(value);

/** RAM's verdict for one action on one resource: explicit Deny first, then any Allow, else denied. */
export function ramAllows(statements: PolicyStatement[], action: string, resource: string): boolean {
  const matches = (s: PolicyStatement) => s.Action.some((a) => glob(a, action)) && s.Resource.some((r) => glob(r, resource));
  if (statements.some((s) => s.Effect === "Deny" && matches(s))) return false;
  return statements.some((s) => s.Effect === "Allow" && matches(s));
}

/** The bucket settings the stub serves with statement grants: query sub-resource -> RAM action suffix. */
const BUCKET_SETTINGS: Record<string, string> = {
  versioning: "Versioning",
  lifecycle: "Lifecycle",
  policy: "Policy",
  acl: "Acl",
  publicAccessBlock: "PublicAccessBlock",
  replication: "Replication",
};

export async function startOssStub(options: OssStubOptions): Promise<OssStub> {
  const objects = new Map<string, OssVersion[]>();
  let versions = 0;
  const server = await startStubServer((req) => {
    const host = (req.headers.host ?? "").split(":")[0];
    const virtual = /^[a-z0-9][-a-z0-9]*\.oss-/.exec(host) ? host.split(".")[0] : undefined;
    const parts = req.path.replace(/^\//, "").split("/");
    const bucket = virtual ?? parts.shift() ?? "";
    const key = decodeURIComponent((virtual ? req.path.replace(/^\//, "") : parts.join("/")) || "");
    const b = options.buckets[bucket];
    if (!b) return xmlError(404, "NoSuchBucket", `The specified bucket does not exist: ${bucket}`);
    const auth = req.headers.authorization ?? "";
    let accessKeyId: string;
    let signedWith: "V1" | "V4";
    if (auth.startsWith("OSS4-HMAC-SHA256 ")) {
      const m = /^OSS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/oss\/aliyun_v4_request,(?:AdditionalHeaders=([^,]+),)?Signature=([0-9a-f]{64})$/.exec(
        auth,
      );
      if (!m) return xmlError(400, "InvalidArgument", "Authorization header is not a V4 signature");
      const [, id, day, region, additional] = m;
      const date = req.headers["x-oss-date"];
      if (!date || !/^\d{8}T\d{6}Z$/.test(date)) return xmlError(403, "AccessDenied", "x-oss-date (yyyymmddTHHMMSSZ) is required with V4");
      if (!req.headers["x-oss-content-sha256"]) return xmlError(403, "AccessDenied", "x-oss-content-sha256 is required with V4");
      const when = Date.parse(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`);
      if (Math.abs(when - Date.now()) > 15 * 60_000)
        return xmlError(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.");
      if (day !== date.slice(0, 8)) return xmlError(403, "SignatureDoesNotMatch", "credential date is not x-oss-date's");
      if (region !== b.region) return xmlError(403, "SignatureDoesNotMatch", `credential region ${region} is not the bucket's ${b.region}`);
      const k = options.keys[id];
      if (!k) return xmlError(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.");
      const expected = signUtils.authorizationV4(
        id,
        k.accessKeySecret,
        region,
        req.method,
        // A sub-resource without a value (`?policy`) is signed as its bare name (ali-oss signs a
        // null query value so); the recorded query cannot tell `?policy` from `?policy=`.
        { headers: req.headers, queries: Object.fromEntries(Object.entries(req.query).map(([q, v]) => [q, v === "" ? null : v])) },
        bucket,
        key || undefined,
        additional?.split(";"),
      );
      if (expected !== auth) return xmlError(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
      accessKeyId = id;
      signedWith = "V4";
    } else if (auth.startsWith("OSS ")) {
      if (Date.parse(b.createdAt) >= V1_CUTOFF)
        return xmlError(403, "AccessDenied", "V1 signature is not available for this bucket; sign with OSS4-HMAC-SHA256");
      const m = /^OSS ([^:]+):(.+)$/.exec(auth);
      const k = m ? options.keys[m[1]] : undefined;
      if (!m || !k) return xmlError(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.");
      const canonical = signUtils.buildCanonicalString(
        req.method,
        `/${bucket}/${key}`,
        { headers: req.headers, parameters: req.query },
        req.headers["x-oss-date"] ?? req.headers.date,
      );
      if (signUtils.computeSignature(k.accessKeySecret, canonical) !== m[2])
        return xmlError(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
      accessKeyId = m[1];
      signedWith = "V1";
    } else {
      return xmlError(403, "AccessDenied", "You have no right to access this object.");
    }
    let grant: OssGrant;
    const k = options.keys[accessKeyId];
    if (k.securityToken !== undefined && req.headers["x-oss-security-token"] !== k.securityToken)
      return xmlError(403, "InvalidSecurityToken", "x-oss-security-token is missing or wrong");
    const given = options.grants[accessKeyId] ?? {};
    const path = `${bucket}/${key}`;
    if (Array.isArray(given)) {
      const statements = given;
      const arn = (k: string) => `acs:oss:${b.region}:1234567890123456:${bucket}${k === "" ? "" : `/${k}`}`;
      if (key === "") {
        const sub = Object.keys(req.query).find((q) => q in BUCKET_SETTINGS);
        const action = sub
          ? `oss:${req.method === "DELETE" ? "Delete" : "Put"}Bucket${BUCKET_SETTINGS[sub]}`
          : req.method === "DELETE"
            ? "oss:DeleteBucket"
            : "";
        if (!action || !["PUT", "DELETE"].includes(req.method))
          return xmlError(405, "MethodNotAllowed", `${req.method} on the bucket is not served by this stub`);
        if (!ramAllows(statements, action, arn(""))) return xmlError(403, "AccessDenied", `${action} on the bucket is denied by the caller's policy.`);
        return { status: req.method === "DELETE" ? 204 : 200 };
      }
      const can = (action: string) => ramAllows(statements, action, arn(key));
      // Prefix-free grants: each list holds the key itself when RAM allows the action on it.
      grant = {
        put: can("oss:PutObject") ? [path] : [],
        get: can("oss:GetObject") ? [path] : [],
        delete: can("oss:DeleteObject") ? [path] : [],
        deleteVersion: can("oss:DeleteObjectVersion") ? [path] : [],
      };
    } else {
      grant = given;
    }
    const list = objects.get(path) ?? [];
    switch (req.method) {
      case "PUT": {
        if (!allowed(grant.put, bucket, key)) return xmlError(403, "AccessDenied", "You have no right to access this object because of bucket acl.");
        const md5 = req.headers["content-md5"];
        if (md5 && md5 !== createHash("md5").update(req.body).digest("base64"))
          return xmlError(400, "InvalidDigest", "The Content-MD5 you specified is not valid.");
        const versionId = `v${++versions}`;
        objects.set(path, [...list, { versionId, body: req.body, deleteMarker: false, signedWith }]);
        return { status: 200, headers: { "x-oss-version-id": versionId, etag: `"${createHash("md5").update(req.body).digest("hex").toUpperCase()}"` } };
      }
      case "GET": {
        if (!allowed(grant.get, bucket, key)) return xmlError(403, "AccessDenied", "You have no right to access this object.");
        const current = list.at(-1);
        if (!current || current.deleteMarker) return xmlError(404, "NoSuchKey", "The specified key does not exist.");
        return { status: 200, body: current.body };
      }
      case "DELETE": {
        const versionId = req.query.versionId;
        if (versionId !== undefined) {
          if (!allowed(grant.deleteVersion, bucket, key)) return xmlError(403, "AccessDenied", "oss:DeleteObjectVersion is required to delete a version.");
          objects.set(
            path,
            list.filter((v) => v.versionId !== versionId),
          );
          return { status: 204 };
        }
        if (!allowed(grant.delete, bucket, key)) return xmlError(403, "AccessDenied", "oss:DeleteObject is required.");
        objects.set(path, [...list, { versionId: `v${++versions}`, deleteMarker: true, signedWith }]);
        return { status: 204, headers: { "x-oss-delete-marker": "true" } };
      }
      default:
        return xmlError(405, "MethodNotAllowed", `${req.method} is not served by this stub`);
    }
  });
  return { ...server, objects };
}
