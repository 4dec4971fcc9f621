-- Adds cluster and workspace to every container log record.
-- @variables
local WORKSPACE_LABEL = "kubesphere.io/workspace"
-- SkyWalking trace id (skywalking-java 9.3.0 GlobalIdGenerator): <hex instance id>.<thread id>.<timestamp*10000+seq>,
-- printed as "TID:<id>" by the logback toolkit and "TID: <id>" by log4j2's (TraceIdConverterMethodInterceptor line 47);
-- "TID:N/A" (no trace) does not match.
local TRACE_ID_PATTERN = "TID:%s*(%x+%.%d+%.%d+)"
local TRACE_ID_VALUE = "^(%x+%.%d+%.%d+)$"
-- A JSON line is merged under Merge_Log_Key and its text dropped (Keep_Log Off): the id is then one of these
-- fields, in this order: TID (the logback toolkit's TraceIdJsonProvider), tid (its MDC key), trace_id.
local JSON_TRACE_ID_KEYS = { "TID", "tid", "trace_id" }
local MERGED = "log_processed"
local TRACE_ID_FIELD = "trace_id"

function add_platform_fields(tag, timestamp, record)
  local namespace = nil
  local k8s = record["kubernetes"]
  if type(k8s) == "table" then
    namespace = k8s["namespace_name"]
  end
  local workspace = nil
  local ns_meta = record["kubernetes_namespace"]
  if type(ns_meta) == "table" and type(ns_meta["labels"]) == "table" then
    workspace = ns_meta["labels"][WORKSPACE_LABEL]
  end
  if workspace == nil or workspace == "" then
    workspace = namespace
  end
  record["cluster"] = CLUSTER
  if workspace ~= nil then
    record["workspace"] = workspace
  end
  local line = record["log"]
  local tid = nil
  if type(line) == "string" then
    tid = string.match(line, TRACE_ID_PATTERN)
  end
  local merged = record[MERGED]
  if tid == nil and type(merged) == "table" then
    for _, key in ipairs(JSON_TRACE_ID_KEYS) do
      local v = merged[key]
      if tid == nil and type(v) == "string" then
        tid = string.match(v, TRACE_ID_VALUE) or string.match(v, TRACE_ID_PATTERN)
      end
    end
  end
  if tid ~= nil then
    record[TRACE_ID_FIELD] = tid
  end
  return 2, timestamp, record
end
