// The api-server audit policy: who changed what, and who read a Secret. Request bodies are
// not logged (they would copy Secret values into the log); metadata is enough to answer
// "who". Read-only traffic other than Secrets is dropped, so the log stays small.
// Schema: audit.k8s.io/v1 Policy (rules match in order; the first match wins).
import YAML from "yaml";

export function auditPolicy(): string {
  const policy = {
    apiVersion: "audit.k8s.io/v1",
    kind: "Policy",
    omitStages: ["RequestReceived"],
    rules: [
      // Secret, ConfigMap and token contents stay out of the log, reads and writes alike.
      { level: "Metadata", resources: [{ group: "", resources: ["secrets", "configmaps", "serviceaccounts/token"] }] },
      { level: "Metadata", resources: [{ group: "authentication.k8s.io", resources: ["tokenreviews"] }] },
      // Noise: leader election, node heartbeats, events.
      { level: "None", resources: [{ group: "coordination.k8s.io", resources: ["leases"] }] },
      { level: "None", resources: [{ group: "", resources: ["events"] }] },
      { level: "None", verbs: ["get", "list", "watch"] },
      { level: "None", nonResourceURLs: ["/healthz*", "/readyz*", "/livez*", "/version", "/metrics"] },
      // Every other write.
      { level: "Metadata", verbs: ["create", "update", "patch", "delete", "deletecollection"] },
    ],
  };
  return YAML.stringify(policy, { lineWidth: 0 });
}
