// RPC-style Alibaba API requests (ECS, KMS, STS: `?Action=...&Signature=...`) as the services
// check them. The signature is recomputed with Alibaba's own SDK, @alicloud/openapi-util
// (OpenApiUtil.getRPCSignature), never with the code under test.
//
// Rules, each from "Request signatures" (alibabacloud.com help/en/cloud-config/latest/
// request-signatures-1; the page shows no date, read 2026-12-07) and the common request
// parameters of the RPC APIs (e.g. help/doc-detail/140976.htm, read 2026-12-07):
// - AccessKeyId, Signature, SignatureMethod=HMAC-SHA1, SignatureVersion=1.0, SignatureNonce,
//   Timestamp (yyyy-MM-ddTHH:mm:ssZ, UTC) and Version are required;
// - the signature is HMAC-SHA1 over the sorted, encoded parameters, keyed "<secret>&";
// - a SignatureNonce is used once ("different random numbers for different requests");
// - STS credentials (AccessKeyId "STS.*") come with their SecurityToken.
// Answer codes follow Alibaba's common error codes (MissingParameter, InvalidAccessKeyId.NotFound,
// SignatureDoesNotMatch, SignatureNonceUsed, InvalidSecurityToken.*); the codes themselves are
// from memory of those pages, the rules are from the docs above.
import OpenApiUtil from "@alicloud/openapi-util";
import { json, StubAnswer } from "./stubServer";

export interface RpcKey {
  accessKeySecret: string;
  /** Required with STS keys (AccessKeyId STS.*): the token that came with them. */
  securityToken?: string;
}

export interface RpcCall {
  action: string;
  accessKeyId: string;
  params: Record<string, string>;
}

/** Checks one RPC request; returns the call, or the refusal to answer with. */
export function verifyRpc(
  method: string,
  params: Record<string, string>,
  keys: Record<string, RpcKey>,
  usedNonces: Set<string>,
  now = new Date(),
): RpcCall | StubAnswer {
  const refuse = (status: number, code: string, message: string) => json(status, { Code: code, Message: message, RequestId: "stub" }, code);
  for (const p of ["Action", "Version", "AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp"]) {
    if (!params[p]) return refuse(400, "MissingParameter", `${p} is mandatory for this action.`);
  }
  if (params.SignatureMethod !== "HMAC-SHA1" || params.SignatureVersion !== "1.0") return refuse(400, "InvalidParameter", "SignatureMethod/SignatureVersion");
  const key = keys[params.AccessKeyId];
  if (!key) return refuse(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.");
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(params.Timestamp)) return refuse(400, "InvalidTimeStamp.Format", "Timestamp is not yyyy-MM-ddTHH:mm:ssZ");
  if (Math.abs(Date.parse(params.Timestamp) - now.getTime()) > 15 * 60_000)
    return refuse(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.");
  const { Signature, ...signed } = params;
  const expected = OpenApiUtil.getRPCSignature(signed, method, key.accessKeySecret);
  if (Signature !== expected) return refuse(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.");
  if (usedNonces.has(params.SignatureNonce)) return refuse(400, "SignatureNonceUsed", "Specified signature nonce was used already.");
  usedNonces.add(params.SignatureNonce);
  if (key.securityToken !== undefined || params.AccessKeyId.startsWith("STS.")) {
    if (!params.SecurityToken) return refuse(400, "InvalidSecurityToken.Missing", "SecurityToken is required with STS credentials.");
    if (params.SecurityToken !== key.securityToken)
      return refuse(400, "InvalidSecurityToken.MisMatch", "Specified SecurityToken does not match the AccessKeyId.");
  }
  return { action: params.Action, accessKeyId: params.AccessKeyId, params };
}

export function isRefusal(r: RpcCall | StubAnswer): r is StubAnswer {
  return (r as StubAnswer).status !== undefined;
}

/** The RPC parameters of a request: the query, plus a form body (POST). */
export function rpcParams(query: Record<string, string>, body: Buffer, contentType = ""): Record<string, string> {
  const form = contentType.includes("application/x-www-form-urlencoded") ? Object.fromEntries(new URLSearchParams(body.toString("utf8"))) : {};
  return { ...query, ...form };
}
