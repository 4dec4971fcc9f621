// Secret rules: credentials are Pulumi secrets, never plain inputs, env values, ConfigMap keys or outputs.
import { arr, ConfigProperty, EnforcementLevel, Obj, obj, PolicyResource, StackPolicy, str, TYPES, withDefaults } from "./policy";

/** True when `path` (or a parent or child of it) is among the secret paths. */
function isSecretPath(secretPaths: string[], path: string): boolean {
  return secretPaths.some((p) => p === path || p.startsWith(`${path}.`) || p.startsWith(`${path}[`) || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));
}

/** Pod-carrying kinds whose env a secret could leak into. */
const WORKLOAD_TYPES = new Set(["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:DaemonSet", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob"]);

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
      "env vars and ConfigMap keys named like credentials come from Secrets.",
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
            if (r.type === type && r.props[prop] !== undefined && !isSecretPath(paths, prop)) report(`${r.name}: ${prop} holds the ${what} and is plain; wrap it in pulumi.secret()`, r.urn);
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
              }
            }
          }
        }
        if (r.type === TYPES.configMap) {
          for (const key of Object.keys(obj(r.props.data))) {
            if (secretName.test(key)) report(`${r.name}: ConfigMap key ${key} looks like a credential; ConfigMaps are plain, use a Secret`, r.urn);
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

function podSpecOf(r: PolicyResource): Obj {
  const spec = obj(r.props.spec);
  if (r.type === "kubernetes:batch/v1:CronJob") return obj(obj(obj(obj(spec.jobTemplate).spec).template).spec);
  return obj(obj(spec.template).spec);
}
