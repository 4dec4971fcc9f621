// Secret rules: credentials are Pulumi secrets, never plain inputs, env values, ConfigMap keys or outputs.
import { ENDPOINT_ENV } from "./threats";
import { arr, ConfigProperty, EnforcementLevel, Obj, obj, PolicyResource, StackPolicy, str, TYPES, withDefaults } from "./policy";

/** True when `path` (or a parent or child of it) is among the secret paths. */
function isSecretPath(secretPaths: string[], path: string): boolean {
  return secretPaths.some((p) => p === path || p.startsWith(`${path}.`) || p.startsWith(`${path}[`) || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));
}

/** Pod-carrying kinds whose env a secret could leak into. */
const WORKLOAD_TYPES = new Set([
  "kubernetes:apps/v1:Deployment",
  "kubernetes:apps/v1:DaemonSet",
  "kubernetes:apps/v1:StatefulSet",
  "kubernetes:batch/v1:Job",
  "kubernetes:batch/v1:CronJob",
]);

// ---------------------------------------------------------------------------
// secrets-not-plain

export interface SecretsNotPlainConfig {
  /** Names (env vars, ConfigMap keys, stack outputs) that hold credentials. */
  secretNamePattern: string;
}

export const SECRETS_NOT_PLAIN_SCHEMA: Record<keyof SecretsNotPlainConfig, ConfigProperty> = {
  secretNamePattern: {
    type: "string",
    description: "Case-insensitive regex of names that hold credentials",
    default: "kubeconfig|psk|password|passwd|token|secret|private[-_]?key|access[-_]?key|jwt",
  },
};

/** Where each secret-bearing input lives: type -> prop (checked only where secret markers are known). */
const SECRET_PROPS: [type: string, prop: string, what: string][] = [
  [TYPES.instance, "userData", "user data (bootstrap token, certificate key, CA key)"],
  [TYPES.vpnConnection, "ikeConfig", "IKE config (pre-shared key)"],
  // Dual-tunnel connections carry each tunnel's PSK in tunnelOptionsSpecifications[].tunnelIkeConfig.
  [TYPES.vpnConnection, "tunnelOptionsSpecifications", "tunnels' IKE config (pre-shared key)"],
  [TYPES.k8sProvider, "kubeconfig", "kubeconfig (admin client key)"],
];

export function secretsNotPlain(enforcementLevel: EnforcementLevel, config: Partial<SecretsNotPlainConfig> = {}): StackPolicy {
  const c = withDefaults(SECRETS_NOT_PLAIN_SCHEMA, config);
  const secretName = new RegExp(c.secretNamePattern, "i");
  return {
    name: "secrets-not-plain",
    description:
      "Credentials are never plain: Secret data, IKE pre-shared keys, user data, kubeconfigs and credential-named stack outputs are secrets; " +
      "env vars and ConfigMap keys named like credentials come from Secrets; no env value, command, arg or ConfigMap value holds a credential " +
      "(JVM -D...password= options, URLs with userinfo, access key ids, PEM private keys, DingTalk tokens).",
    enforcementLevel,
    validateStack(s, report) {
      for (const r of s.resources) {
        // Needs secret markers: the offline plan has them, CrossGuard does not (pulumi-policy#241).
        if (r.secretPaths) {
          const paths = r.secretPaths;
          if (r.type === TYPES.secret) {
            for (const field of ["data", "stringData"]) {
              if (r.props[field] !== undefined && !isSecretPath(paths, field)) report(`${r.name}: Secret ${field} is plain; wrap it in pulumi.secret()`, r.urn);
            }
          }
          for (const [type, prop, what] of SECRET_PROPS) {
            if (r.type === type && r.props[prop] !== undefined && !isSecretPath(paths, prop))
              report(`${r.name}: ${prop} holds the ${what} and is plain; wrap it in pulumi.secret()`, r.urn);
          }
        }
        // Readable by both runners: literal credentials where a Secret reference belongs.
        if (WORKLOAD_TYPES.has(r.type)) {
          const pod = podSpecOf(r);
          for (const ctr of [...arr(pod.initContainers), ...arr(pod.containers)].map(obj)) {
            for (const e of arr(ctr.env).map(obj)) {
              const name = str(e.name) ?? "";
              if (secretName.test(name) && e.value !== undefined && e.valueFrom === undefined) {
                report(`${r.name}: container ${str(ctr.name)} sets ${name} as a literal env value; take it from a Secret (valueFrom.secretKeyRef)`, r.urn);
              } else {
                const shape = typeof e.value === "string" ? credentialShape(e.value) : undefined;
                // An endpoint variable stays literal, or credential-endpoints could not check where it points.
                if (shape)
                  report(
                    ENDPOINT_ENV[name] !== undefined
                      ? `${r.name}: container ${str(ctr.name)} env ${name} holds ${shape}; take the credential out of the URL (the app gets it from its own Secret), and keep ${name} a literal value so credential-endpoints can check where it points`
                      : `${r.name}: container ${str(ctr.name)} env ${name} holds ${shape}; take it from a Secret (valueFrom.secretKeyRef) and refer to it as $(VAR)`,
                    r.urn,
                  );
              }
            }
            for (const field of ["command", "args"]) {
              arr(ctr[field]).forEach((a, i) => {
                const shape = typeof a === "string" ? credentialShape(a) : undefined;
                if (shape) report(`${r.name}: container ${str(ctr.name)} ${field}[${i}] holds ${shape}; pass it from a Secret as $(VAR)`, r.urn);
              });
            }
          }
        }
        if (r.type === TYPES.configMap) {
          for (const [key, value] of Object.entries(obj(r.props.data))) {
            if (secretName.test(key)) report(`${r.name}: ConfigMap key ${key} looks like a credential; ConfigMaps are plain, use a Secret`, r.urn);
            else {
              const shape = typeof value === "string" ? credentialShape(value) : undefined;
              if (shape) report(`${r.name}: ConfigMap key ${key} holds ${shape}; ConfigMaps are plain, use a Secret`, r.urn);
            }
          }
        }
      }
      if (s.outputs && s.secretOutputs) {
        const stackUrn = s.resources.find((r) => r.type === TYPES.stack)?.urn;
        for (const name of Object.keys(s.outputs)) {
          if (secretName.test(name) && !s.secretOutputs.includes(name)) report(`stack output ${name} is plain; export it with pulumi.secret()`, stackUrn);
        }
      }
    },
  };
}

/**
 * Credentials recognisable by their value, wherever they sit: a JVM system
 * property whose name ends in password/secret/token/key, a URL with userinfo
 * (`https://user:pw@host`), and known key shapes. A value that only refers to
 * an env var (`$(DB_PASSWORD)`, `${DB_PASSWORD}`) is a reference, not a secret.
 */
const VALUE_SHAPES: [what: string, re: RegExp][] = [
  ["a JVM -D option carrying a credential", /(?:^|\s)-D[\w.-]*(?:password|passwd|secret|token|key)=(?!\$\(|\$\{)(\S+)/i],
  ["a URL with credentials in its userinfo", /\b[a-z][a-z0-9+.-]*:\/\/(?!\$\(|\$\{)[^\s/@]+@[^\s/]/i],
  ["an AWS access key id (AKIA...)", /\bAKIA[0-9A-Z]{16}\b/],
  ["an Alibaba Cloud AccessKey id (LTAI...)", /\bLTAI[0-9A-Za-z]{12,24}\b/],
  ["a PEM private key", /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/],
  ["a DingTalk robot access_token", /access_token=[0-9a-f]{32,}/i],
];

/** What credential shape `text` has, or undefined. */
export function credentialShape(text: string): string | undefined {
  return VALUE_SHAPES.find(([, re]) => re.test(text))?.[0];
}

function podSpecOf(r: PolicyResource): Obj {
  const spec = obj(r.props.spec);
  if (r.type === "kubernetes:batch/v1:CronJob") return obj(obj(obj(obj(spec.jobTemplate).spec).template).spec);
  return obj(obj(spec.template).spec);
}
