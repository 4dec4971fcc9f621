// Policy findings as a reviewer reads them: one entry per (level, policy, message
// shape) with a count, the resources as a range, and the config key that drives
// the finding, instead of one line pair per resource.
import * as path from "path";
import { countViolations, Violation } from "./policyCheck";
import { nameOfUrn, naturalCompare } from "./planDiff";

/** The stack config keys each policy's findings come from (what to edit to clear them). */
export const POLICY_CONFIG_KEYS: Record<string, string> = {
  "no-public-ip-on-nodes": "platform:nodePools[].*, platform:masters (public bandwidth)",
  "no-open-admin-ports": "platform:network.* (security group rules)",
  "api-server-slb-intranet": "platform:network.* (the api-server SLB)",
  "deletion-protection": "platform:nodePools[], platform:masters (deletion protection in prod)",
  "odd-masters": "platform:masters.count",
  "approved-instance-types": "platform:nodePools[].instanceType, platform:masters.instanceType",
  "kubernetes-baseline": "platform:kubernetesVersion",
  "deployment-hygiene": "platform:apps.<app> (replicas, canary, resources)",
  "single-global-ingress": "platform:ingress.*",
  "secrets-not-plain": "Pulumi.<stack>.yaml secure: values",
  "safe-changes": "the keys this PR changes (see the diff above)",
};

/** A message with the resource's own name and numbers blanked, so siblings share one entry. */
function shape(v: Violation): string {
  const name = nameOfUrn(v.urn);
  return v.message.split(name).join("<resource>").replace(/\d+/g, "#");
}

/** `policies: N mandatory, M advisory violations (file)`, then one grouped entry per finding. */
export function formatFindings(violations: Violation[], configFile?: string, changedKeys: string[] = []): string {
  const { mandatory, advisory } = countViolations(violations);
  const from = configFile ? ` (${path.relative(process.cwd(), configFile) || configFile})` : "";
  const lines = [`policies: ${mandatory} mandatory, ${advisory} advisory violations${from}`];
  const groups = new Map<string, Violation[]>();
  for (const v of violations) {
    const k = `${v.level}|${v.policy}|${shape(v)}`;
    groups.set(k, [...(groups.get(k) ?? []), v]);
  }
  for (const g of groups.values()) {
    const v = g[0];
    const key = v.policy === "safe-changes" && changedKeys.length ? changedKeys.join(", ") : POLICY_CONFIG_KEYS[v.policy];
    lines.push(`    [${v.level}] ${v.policy}${g.length > 1 ? ` x ${g.length}` : ""}: ${v.message}`);
    if (g.length > 1) {
      const names = g.map((x) => nameOfUrn(x.urn)).sort(naturalCompare);
      const shown = names.length > 6 ? `${names.slice(0, 3).join(", ")}, … ${names[names.length - 1]}` : names.join(", ");
      lines.push(`        on ${g.length} resources: ${shown}`);
    } else lines.push(`        ${v.urn}`);
    if (key) lines.push(`        set by: ${key}`);
  }
  return lines.join("\n");
}
