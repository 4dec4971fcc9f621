// The secret `platform:*` keys: always read as Pulumi secrets, refused when set
// in plain text, and never passed through the schema (their values are opaque).
import type * as pulumi from "@pulumi/pulumi";
import type { PlatformSettings } from "./schema";

/** One secret key. */
export interface SecretKey {
  /**
   * Whether the stack needs it, given the rest of its config. `"always"` (not a
   * function) makes the key non-optional in StackSecrets.
   */
  required: "always" | ((s: PlatformSettings) => boolean);
  /** What the value is, for the "is required" message. */
  description: string;
  /** When a stack needs it, in words (docs/config-reference.md; `required` is the rule itself). */
  when: string;
  /**
   * `text`: one secret string, in StackConfig.secrets. `appMap`: a JSON map of
   * app name to secret, parsed into its own StackConfig field.
   */
  form: "text" | "appMap";
  /** The value's kind when it is one config validation checks by kind (test/config/kindCoverage.test.ts gives it worst values). */
  kind?: "url";
}

/** Every secret key, by name without the `platform:` prefix. */
export const SECRET_KEYS = {
  dingtalkWebhook: {
    required: "always",
    description: "the DingTalk robot webhook Alertmanager posts alerts to",
    when: "always",
    form: "text",
    kind: "url",
  },
  loggingPassword: {
    required: (s) => s.logging?.user !== undefined,
    description: "the password of platform:logging.user",
    when: "with `platform:logging.user`",
    form: "text",
  },
  tracingElasticsearchPassword: {
    required: (s) => s.tracing?.elasticsearch?.user !== undefined,
    description: "the password of platform:tracing.elasticsearch.user, OAP's own Elasticsearch user",
    when: "with `platform:tracing.elasticsearch.user`",
    form: "text",
  },
  tracingAgentToken: {
    required: (s) => s.tracing !== undefined,
    description:
      "the token SkyWalking agents present to OAP (OAP's SW_AUTHENTICATION, the agents' SW_AGENT_AUTHENTICATION); letters, digits and . _ ~ + / = - only, e.g. `openssl rand -hex 32`",
    when: "with `platform:tracing`",
    form: "text",
  },
  harborPassword: {
    required: (s) => Object.keys(s.apps ?? {}).length > 0,
    description: "the Harbor robot account's password, for the apps' imagePullSecret",
    when: "with apps",
    form: "text",
  },
  identityProviderSecret: {
    required: (s) => s.console !== undefined,
    description: "the OIDC client secret (or LDAP manager password) of platform:console.identityProvider",
    when: "host, with `platform:console`",
    form: "text",
  },
  logSearchApiKey: {
    required: (s) => s.logSearch !== undefined,
    description:
      "an Elasticsearch API key (its encoded form) with the manage_security privilege, for platform:logSearch's roles, plus view_index_metadata on the indices and the Kibana feature privilege Data View Management (all, default space) for the data view",
    when: "members, with `platform:logSearch`",
    form: "text",
  },
  apolloAccessKeys: {
    required: () => false,
    description: "a JSON map of app name to its Apollo access-key secret",
    when: "optional",
    form: "appMap",
  },
} as const satisfies Record<string, SecretKey>;

export type SecretKeyName = keyof typeof SECRET_KEYS;
type Spec = typeof SECRET_KEYS;
type TextKey = { [K in SecretKeyName]: Spec[K]["form"] extends "text" ? K : never }[SecretKeyName];
type AlwaysKey = { [K in TextKey]: Spec[K]["required"] extends "always" ? K : never }[TextKey];

/**
 * The stack's secret strings, typed by SECRET_KEYS: a key every stack needs is
 * present, the others optional, and a misspelt key does not compile.
 */
export type StackSecrets = { [K in AlwaysKey]: pulumi.Output<string> } & { [K in Exclude<TextKey, AlwaysKey>]?: pulumi.Output<string> };

/** The secret keys in declaration order. */
export const SECRET_KEY_NAMES = Object.keys(SECRET_KEYS) as SecretKeyName[];

/** Whether the stack needs secret `name`, given the rest of its config. */
export function secretRequired(name: SecretKeyName, s: PlatformSettings): boolean {
  const r: SecretKey["required"] = SECRET_KEYS[name].required;
  return r === "always" || r(s);
}
