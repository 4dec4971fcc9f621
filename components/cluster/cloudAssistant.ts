// Cloud Assistant readiness: a dynamic resource per VM that waits until the VM's Cloud
// Assistant agent is online before anything invokes a command on it.
//
// Why: the provider's EcsInvocation create calls InvokeCommand once and fails on a Failed
// invocation (terraform-provider-alicloud 81c43b67 alicloud/resource_alicloud_ecs_invocation.go
// :116-139); the instance's create waits only for ECS status Running. A command that the agent
// does not pick up in time is Aborted, which counts as Failed (ECS "DescribeInvocationResults",
// help/en/ecs/developer-reference/api-ecs-2014-05-26-describeinvocationresults, last updated
// 2026-06-26). Alibaba's advice (ECS "DescribeCloudAssistantStatus", help/en/ecs/
// api-describecloudassistantstatus, last updated 2026-01-28): before running commands on new
// instances, query DescribeCloudAssistantStatus and run them only when CloudAssistantStatus is
// "true". The provider has no data source for it (its only caller is ecs_instance_set,
// service_alicloud_ecs.go:3048-3072), hence this resource.
//
// The call is an ECS RPC API (2014-05-26) signed the RPC way (HMAC-SHA1 over
// "GET&%2F&<encoded sorted query>", key "<secret>&"), the form the masters' KMS client uses
// too; the test checks it with Alibaba's SDK, not with this code. Credentials are read when it
// runs, from the same environment the alicloud provider reads (ALIBABA_CLOUD_ACCESS_KEY_ID /
// ALICLOUD_ACCESS_KEY, ..._SECRET / ALICLOUD_SECRET_KEY, ..._SECURITY_TOKEN /
// ALICLOUD_SECURITY_TOKEN), so they are never inputs and never in the state.
// test/cluster/cloudAssistant.test.ts runs it against test/support/alibaba/cloudAssistantStub.ts,
// which checks the signature with Alibaba's own SDK (@alicloud/openapi-util).
import * as pulumi from "@pulumi/pulumi";

export interface RpcCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

/**
 * The query string of a signed RPC GET: the action's parameters plus the common ones
 * (Format, Version, AccessKeyId, SignatureMethod, SignatureVersion, SignatureNonce,
 * Timestamp, SecurityToken with STS credentials) and Signature. Self-contained (the dynamic
 * provider serializes it).
 */
export function signedRpcQuery(params: Record<string, string>, version: string, creds: RpcCredentials, now = new Date(), nonce?: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const crypto = require("crypto") as typeof import("crypto");
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const all: Record<string, string> = {
    ...params,
    Format: "JSON",
    Version: version,
    AccessKeyId: creds.accessKeyId,
    SignatureMethod: "HMAC-SHA1",
    SignatureVersion: "1.0",
    SignatureNonce: nonce ?? crypto.randomUUID(),
    Timestamp: now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    ...(creds.securityToken ? { SecurityToken: creds.securityToken } : {}),
  };
  const canonical = Object.keys(all)
    .sort()
    .map((k) => `${enc(k)}=${enc(all[k])}`)
    .join("&");
  const signature = crypto
    .createHmac("sha1", `${creds.accessKeySecret}&`)
    .update(`GET&${enc("/")}&${enc(canonical)}`)
    .digest("base64");
  return `${canonical}&Signature=${enc(signature)}`;
}

/** The credentials from the environment, as the alicloud provider reads them; throws naming the variables when absent. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): RpcCredentials {
  const accessKeyId = env.ALIBABA_CLOUD_ACCESS_KEY_ID ?? env.ALICLOUD_ACCESS_KEY;
  const accessKeySecret = env.ALIBABA_CLOUD_ACCESS_KEY_SECRET ?? env.ALICLOUD_SECRET_KEY;
  const securityToken = env.ALIBABA_CLOUD_SECURITY_TOKEN ?? env.ALICLOUD_SECURITY_TOKEN;
  if (!accessKeyId || !accessKeySecret) {
    throw new Error(
      "Cloud Assistant readiness: no Alibaba credentials in the environment (ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY)",
    );
  }
  return { accessKeyId, accessKeySecret, ...(securityToken ? { securityToken } : {}) };
}

export interface AgentWaitArgs {
  /** ECS API endpoint, e.g. https://ecs.cn-shanghai.aliyuncs.com (no path). */
  endpoint: string;
  /** The instance's region id (`alicloud:region`), the API's RegionId. No default. */
  regionId: string;
  /** The ECS instance whose agent is awaited (`i-...`). No default. */
  instanceId: string;
  /** The caller's AccessKey (and STS token), read from the environment by envCredentials(). No default. */
  credentials: RpcCredentials;
  /** Give up after this long, naming the instance and the last answer. No default (CloudAssistantReady passes its timeoutSeconds, default 900 s). */
  timeoutMs: number;
  /** Pause between two DescribeCloudAssistantStatus calls. No default (CloudAssistantReady passes 5 s). */
  intervalMs: number;
}

/**
 * Polls DescribeCloudAssistantStatus for one instance until its CloudAssistantStatus is "true".
 * Throws after the timeout naming the instance and the last answer (status or API error).
 * Self-contained (requires inside) because the dynamic provider serializes it.
 */
export async function waitForAgent(args: AgentWaitArgs): Promise<{ attempts: number; elapsedMs: number }> {
  const started = Date.now();
  let attempts = 0;
  for (;;) {
    attempts++;
    const query = signedRpcQuery(
      { Action: "DescribeCloudAssistantStatus", RegionId: args.regionId, "InstanceId.1": args.instanceId },
      "2014-05-26",
      args.credentials,
    );
    // One answer: online, refused (a signature or permission problem does not heal by waiting), or not yet
    // (throttled or the service busy: isTransient).
    const answer: { online: true } | { refused: string } | { last: string } = await fetch(`${args.endpoint.replace(/\/$/, "")}/?${query}`, {
      signal: AbortSignal.timeout(10_000),
    }).then(
      async (res) => {
        const body = (await res.json().catch(() => ({}))) as {
          Code?: string;
          Message?: string;
          InstanceCloudAssistantStatusSet?: { InstanceCloudAssistantStatus?: { InstanceId: string; CloudAssistantStatus: string }[] };
        };
        if (!res.ok) {
          const text = `HTTP ${res.status} ${body.Code ?? ""}: ${body.Message ?? ""}`.trim();
          return isTransient(res.status, body.Code ?? "") ? { last: text } : { refused: text };
        }
        const status = body.InstanceCloudAssistantStatusSet?.InstanceCloudAssistantStatus?.find((s) => s.InstanceId === args.instanceId)?.CloudAssistantStatus;
        return status === "true" ? { online: true as const } : { last: `CloudAssistantStatus ${status ?? "absent"}` };
      },
      (e: unknown) => ({ last: e instanceof Error ? e.message : String(e) }),
    );
    if ("online" in answer) return { attempts, elapsedMs: Date.now() - started };
    if ("refused" in answer) throw new Error(`Cloud Assistant on ${args.instanceId}: DescribeCloudAssistantStatus refused: ${answer.refused}`);
    const last = answer.last;
    if (Date.now() - started + args.intervalMs > args.timeoutMs) {
      throw new Error(
        `Cloud Assistant on ${args.instanceId} not online after ${Math.round((Date.now() - started) / 1000)} s (${attempts} checks; last: ${last}); look at the VM's console output and the aliyun-service unit`,
      );
    }
    await new Promise((r) => setTimeout(r, args.intervalMs));
  }
}

interface AgentReadyInputs {
  endpoint: string;
  regionId: string;
  instanceId: string;
  timeoutSeconds: number;
}

export const agentReadyProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: AgentReadyInputs) {
    const r = await waitForAgent({
      endpoint: inputs.endpoint,
      regionId: inputs.regionId,
      instanceId: inputs.instanceId,
      credentials: credentialsFromEnv(),
      timeoutMs: inputs.timeoutSeconds * 1000,
      intervalMs: 5_000,
    });
    return { id: inputs.instanceId, outs: { ...inputs, attempts: r.attempts } };
  },
  async diff(_id: string, olds: AgentReadyInputs, news: AgentReadyInputs) {
    // Another VM is another agent: check again. Nothing else is worth a new check.
    const replaces = olds.instanceId === news.instanceId ? [] : ["instanceId"];
    return {
      changes: replaces.length > 0 || olds.endpoint !== news.endpoint || olds.timeoutSeconds !== news.timeoutSeconds,
      replaces,
      deleteBeforeReplace: false,
    };
  },
  async update(_id: string, _olds: AgentReadyInputs, news: AgentReadyInputs) {
    return { outs: news };
  },
};

export interface CloudAssistantReadyArgs {
  /** The VM whose Cloud Assistant agent must answer before commands are sent to it. Required, no default. */
  instanceId: pulumi.Input<string>;
  /** alicloud:region. Required, no default. */
  regionId: string;
  /** Default https://ecs.<region>.aliyuncs.com, the endpoint the provider itself uses. */
  endpoint?: string;
  /** Default 900 s: a new VM's first boot installs packages before the agent's turn. */
  timeoutSeconds?: number;
}

/** Opens once the VM's Cloud Assistant agent answers; every EcsInvocation on the VM depends on it. */
export class CloudAssistantReady extends pulumi.dynamic.Resource {
  declare public readonly attempts: pulumi.Output<number>;

  constructor(name: string, args: CloudAssistantReadyArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      agentReadyProvider,
      name,
      {
        endpoint: args.endpoint ?? `https://ecs.${args.regionId}.aliyuncs.com`,
        regionId: args.regionId,
        instanceId: args.instanceId,
        timeoutSeconds: args.timeoutSeconds ?? 900,
        attempts: undefined,
      },
      opts,
      "cluster",
      "CloudAssistantReady",
    );
  }
}

/**
 * Whether an error answer may heal by waiting: flow control (Throttling, Throttling.User, ...;
 * ECS answers it with HTTP 400), ServiceUnavailable, or any 5xx. Everything else (signature,
 * access key, permission, parameter) is permanent and stops the wait at once.
 */
export function isTransient(status: number, code: string): boolean {
  return status >= 500 || /^Throttling/.test(code) || /^ServiceUnavailable/.test(code);
}
