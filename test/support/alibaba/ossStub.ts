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
// Error bodies are OSS's XML (<Error><Code>..</Code></Error>); the codes for the V1 refusal
// and the STS token are the stub's (the docs above give the rule, not the code).
import { createHash } from "crypto";
import { startStubServer, StubAnswer, StubServer } from "./stubServer";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const signUtils = require("ali-oss/lib/common/signUtils") as {
  authorizationV4(
    id: string,
    secret: string,
    region: string,
    method: string,
    req: { headers: Record<string, string>; queries?: Record<string, string> },
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
  grants: Record<string, OssGrant>;
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
        { headers: req.headers, queries: req.query },
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
    const k = options.keys[accessKeyId];
    if (k.securityToken !== undefined && req.headers["x-oss-security-token"] !== k.securityToken)
      return xmlError(403, "InvalidSecurityToken", "x-oss-security-token is missing or wrong");
    const grant = options.grants[accessKeyId] ?? {};
    const path = `${bucket}/${key}`;
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
