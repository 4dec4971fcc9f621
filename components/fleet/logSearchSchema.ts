// Where developers search logs (issue #20): the company's Kibana over the
// Elasticsearch our logs end up in, with read access scoped to the namespaces
// of each workspace. `platform:logSearch` on a member says where that store and
// its Kibana are; the roles are derived from the host's platform:workspaces and
// the member's platform:projects (logSearch.ts). Schema and rules only.
import { z } from "zod";
import { httpUrlProblem } from "../config/kinds";
import { kind } from "../config/valueKinds";

// https only: the sync sends an API key with manage_security to both, which must not cross the network in clear.
// Read by the one URL kind (httpUrlProblem: no userinfo, port 1-65535), then held to a server root.
const url = kind(
  "url",
  z.string().superRefine((v, ctx) => {
    const problem = httpUrlProblem(v, ["https:"]);
    if (problem) ctx.addIssue({ code: "custom", message: `${problem} (the sync sends an admin API key to it)` });
    else if (new URL(v).pathname !== "/" || /[?#]/.test(v))
      ctx.addIssue({
        code: "custom",
        message: "must be an https URL of a server root, such as https://kibana.dev.example.com (the sync sends an admin API key to it)",
      });
  }),
);
const indexPattern = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]*\*?$/, "must be a lowercase index name or prefix pattern such as k8s-dev-* (Elasticsearch index names are lowercase)");
// Elasticsearch realm names: letters, digits, '_', '-' (xpack.security.authc.realms.<type>.<name> setting keys).
const realm = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be the Elasticsearch realm name of the company SSO (letters, digits, '_', '-')");
const field = z.string().regex(/^[A-Za-z0-9_@][A-Za-z0-9_.@-]*$/, "must be an Elasticsearch field path such as kubernetes.namespace_name.keyword");

export const logSearchSchema = z
  .object({
    kibana: url.describe(
      "Kibana (8.x: the data views API, /api/data_views, is 8.x's) as people open it; the roles go through its role API (roles that carry Kibana privileges must).",
    ),
    elasticsearch: url
      .optional()
      .describe(
        "The Elasticsearch the logs are in (role mappings go to its security API). Default, with platform:logging.output elasticsearch and tls: `https://<logging.host>:<logging.port>`; required otherwise (the store behind Kafka is not ours).",
      ),
    indices: indexPattern
      .optional()
      .describe("The indices this cluster's logs are in. Default with elasticsearch output: `<logging.index>-*`; required with kafka."),
    realm: realm.describe("The Elasticsearch realm people log in through (the company SSO, e.g. an oidc realm): only its users are mapped."),
    namespaceField: field
      .optional()
      .describe("The keyword field holding the namespace. Default kubernetes.namespace_name.keyword (dynamic mapping's keyword sub-field)."),
    clusterField: field.optional().describe("The keyword field holding the cluster name fluent-bit stamps. Default cluster.keyword."),
  })
  .strict();
export type LogSearchConfig = z.infer<typeof logSearchSchema>;

/** The parts of platform:logging this reads (config/schema.ts `logging`). */
type LoggingLike = { output: "elasticsearch"; host: string; port?: number; index: string; tls?: boolean } | { output: "kafka" };

/** Whether an index pattern (a trailing `*` at most, as the schema allows) matches fluent-bit's daily indices of `index`. */
export function coversDailyIndex(pattern: string, index: string): boolean {
  const daily = `${index}-2026.12.03`;
  return pattern.endsWith("*") ? daily.startsWith(pattern.slice(0, -1)) : daily === pattern;
}

/** The store and indices of a member's log search, with defaults from platform:logging; problems name the key. */
export function logSearchTarget(ls: LogSearchConfig, logging: LoggingLike | undefined): { elasticsearch?: string; indices?: string; problems: string[] } {
  const problems: string[] = [];
  let elasticsearch = ls.elasticsearch?.replace(/\/$/, "");
  let indices = ls.indices;
  if (logging?.output === "elasticsearch") {
    // fluent-bit writes Logstash_Format indices `<index>-YYYY.MM.DD` (fluentBitValues.ts).
    if (!elasticsearch && !logging.tls)
      problems.push(
        `platform:logSearch.elasticsearch: is required: platform:logging writes to ${logging.host} without TLS, and the sync sends an admin API key; give the store's https URL`,
      );
    if (!elasticsearch && logging.tls) elasticsearch = `https://${logging.host}:${logging.port ?? 9200}`;
    indices ??= `${logging.index}-*`;
    if (!coversDailyIndex(indices, logging.index))
      problems.push(
        `platform:logSearch.indices: ${indices} does not cover platform:logging.index ${logging.index} (its daily indices are ${logging.index}-YYYY.MM.DD)`,
      );
  } else {
    const via = logging ? "logs go through Kafka, so the store behind it is not known here" : "platform:logging is not set";
    if (!elasticsearch) problems.push(`platform:logSearch.elasticsearch: is required (${via}); the URL of the Elasticsearch the logs end up in`);
    if (!indices) problems.push(`platform:logSearch.indices: is required (${via}); the index pattern this cluster's logs end up in, such as k8s-prod-*`);
  }
  return { elasticsearch, indices, problems };
}

/** platform:logSearch's own rules (members only, with workspaces to scope by), plus the store it targets. */
export function logSearchProblems(s: { env?: string; logSearch?: LogSearchConfig; logging?: LoggingLike; projects?: Record<string, string> }): string[] {
  if (!s.logSearch) return [];
  if (s.env === "host") return ["platform:logSearch: is a member setting (access to a member cluster's logs by workspace); delete it here"];
  const out = logSearchTarget(s.logSearch, s.logging).problems;
  if (!s.projects || Object.keys(s.projects).length === 0)
    out.push("platform:logSearch: needs platform:projects (access is scoped to each workspace's namespaces; without them nobody would see any log)");
  return out;
}
