// A stand-in for ECS's Cloud Assistant API (RPC, 2014-05-26): DescribeCloudAssistantStatus,
// InvokeCommand and DescribeInvocationResults, as they behave on a new VM whose agent is not up
// yet. Signatures are checked with @alicloud/openapi-util (rpc.ts).
//
// Rules:
// - DescribeCloudAssistantStatus answers CloudAssistantStatus "false" until the instance's agent
//   is online, then "true" (ECS "DescribeCloudAssistantStatus", help/en/ecs/
//   api-describecloudassistantstatus, last updated 2026-01-28: run commands on new instances
//   only when the value is true). RegionId is required (same page, request parameters).
// - InvokeCommand on an instance whose agent is not online is accepted but the invocation ends
//   Aborted, and DescribeInvocationResults reports InvocationStatus "Aborted" (ECS
//   "DescribeInvocationResults", help/en/ecs/developer-reference/
//   api-ecs-2014-05-26-describeinvocationresults, last updated 2026-06-26: Aborted when the
//   command cannot be delivered within a minute; the provider's EcsInvocation fails on it,
//   terraform-provider-alicloud 81c43b67 resource_alicloud_ecs_invocation.go:116-139).
import { isRefusal, RpcKey, rpcParams, verifyRpc } from "./rpc";
import { json, startStubServer, StubServer } from "./stubServer";

export interface CloudAssistantStubOptions {
  keys: Record<string, RpcKey>;
  region: string;
  /** Instance id -> the time its agent comes online (ms since epoch); absent: never. */
  agentOnlineAt: Record<string, number>;
  /** Answer this many signed calls first with HTTP 400 Throttling.User (ECS's flow control), then serve. Default 0. */
  throttleFirst?: number;
}

export interface CloudAssistantStub extends StubServer {
  /** Every InvokeCommand, with the status its invocation ended in. */
  invocations: { invokeId: string; instanceId: string; commandId: string; status: "Success" | "Aborted" }[];
  /** Brings an instance's agent online now. */
  bringOnline(instanceId: string): void;
}

export async function startCloudAssistantStub(options: CloudAssistantStubOptions): Promise<CloudAssistantStub> {
  const nonces = new Set<string>();
  let throttled = 0;
  const online = { ...options.agentOnlineAt };
  const invocations: CloudAssistantStub["invocations"] = [];
  const isOnline = (id: string) => online[id] !== undefined && online[id] <= Date.now();
  const server = await startStubServer((req) => {
    const call = verifyRpc(req.method, rpcParams(req.query, req.body, req.headers["content-type"]), options.keys, nonces);
    if (isRefusal(call)) return call;
    // Flow control: ECS answers an over-limit call with HTTP 400 and a Throttling.* code (the
    // common ECS error codes; the code's name is from memory of those pages, the 400 is what the
    // 2026-12-07 review saw our client treat as permanent).
    if ((options.throttleFirst ?? 0) > throttled) {
      throttled++;
      return json(400, { Code: "Throttling.User", Message: "Request was denied due to user flow control." }, "Throttling.User");
    }
    const p = call.params;
    if (p.Version !== "2014-05-26") return json(400, { Code: "InvalidVersion", Message: `ECS is 2014-05-26, not ${p.Version}` }, "InvalidVersion");
    if (!p.RegionId) return json(400, { Code: "MissingRegionId", Message: "RegionId is mandatory for this action." }, "MissingRegionId");
    if (p.RegionId !== options.region)
      return json(404, { Code: "InvalidRegionId.NotFound", Message: `no such region here: ${p.RegionId}` }, "InvalidRegionId.NotFound");
    const instances = Object.keys(p)
      .filter((k) => /^InstanceId\.\d+$/.test(k))
      .map((k) => p[k]);
    switch (call.action) {
      case "DescribeCloudAssistantStatus":
        return json(200, {
          RequestId: "stub",
          InstanceCloudAssistantStatusSet: {
            InstanceCloudAssistantStatus: instances.map((id) => ({ InstanceId: id, CloudAssistantStatus: String(isOnline(id)) })),
          },
        });
      case "InvokeCommand": {
        const ids = instances.map((id, i) => {
          const invokeId = `t-stub${invocations.length + i}`;
          invocations.push({ invokeId, instanceId: id, commandId: p.CommandId, status: isOnline(id) ? "Success" : "Aborted" });
          return invokeId;
        });
        return json(200, { RequestId: "stub", InvokeId: ids[0] });
      }
      case "DescribeInvocationResults": {
        const found = invocations.filter((i) => i.invokeId === p.InvokeId);
        return json(200, {
          RequestId: "stub",
          Invocation: {
            InvocationResults: { InvocationResult: found.map((i) => ({ InvokeId: i.invokeId, InstanceId: i.instanceId, InvocationStatus: i.status })) },
          },
        });
      }
      default:
        return json(400, { Code: "InvalidAction.NotFound", Message: `${call.action} is not served by this stub` }, "InvalidAction.NotFound");
    }
  });
  return { ...server, invocations, bringOnline: (id) => (online[id] = Date.now()) };
}
