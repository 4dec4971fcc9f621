// Rules that span several keys, each a function returning its problems (lines
// naming a key). parseStackConfig runs them all on whatever parsed, so a stack
// with several mistakes gets every one of them at once.
import { APOLLO_ENV, javaAppProblems } from "../apps/javaAppRules";
import { overlaps } from "../network/cidr";
import { PlatformSettings, PROJECT } from "./schema";

/** One cross-key rule: the stack's name and its parsed settings (keys that failed to parse are absent). */
export type CrossCheck = (stack: string, s: Partial<PlatformSettings>) => string[];

/** platform:env names the stack's own environment. */
export const envIsStack: CrossCheck = (stack, s) =>
  s.env && s.env !== stack ? [`${PROJECT}:env: is "${s.env}" but the stack is "${stack}"; a stack only deploys to its own environment`] : [];

/** A member cluster runs workloads, so it needs workers; the host may run on its masters alone. */
export const memberHasWorkers: CrossCheck = (_stack, s) => {
  if (!s.network || !s.nodePools || s.env === "host") return [];
  const workers = s.nodePools.reduce((n, p) => n + p.count, 0);
  return workers === 0 ? [`${PROJECT}:nodePools: a member cluster needs at least one worker node`] : [];
};

/** Apps need Apollo and Harbor, run only on members, pull from the company registry, and each follows its rules (apps/javaAppRules.ts, which include the env's tag rules). */
export const appsFitTheStack: CrossCheck = (_stack, s) => {
  const out: string[] = [];
  const env = s.env;
  const appEntries = Object.entries(s.apps ?? {});
  if (!env || appEntries.length === 0) return out;
  if (env === "host") return [`${PROJECT}:apps: the host cluster runs no apps`, ...needsApolloAndHarbor(s)];
  out.push(...needsApolloAndHarbor(s));
  for (const [name, a] of appEntries) {
    const key = `${PROJECT}:apps.${name}`;
    (a.history ?? []).forEach((t, i) => {
      if (t.toLowerCase() === "latest") out.push(`${key}.history[${i}]: tag "latest" is refused`);
    });
    if (s.harbor && !a.image.startsWith(`${s.harbor.registry}/`)) {
      out.push(`${key}.image: ${a.image} is not in the company registry ${s.harbor.registry}`);
    }
    out.push(
      ...javaAppProblems({
        ...a,
        name,
        namespace: a.namespace ?? name,
        env,
        apolloEnv: APOLLO_ENV[env]!,
        // A missing platform:apollo is reported above; the app's own rules still run.
        apolloMeta: s.apollo?.meta ?? "http://apollo-meta",
        idc: env,
        imagePullSecret: "harbor-pull",
      }),
    );
  }
  return out;
};

function needsApolloAndHarbor(s: Partial<PlatformSettings>): string[] {
  const out: string[] = [];
  if (!s.apollo) out.push(`${PROJECT}:apollo: is required when apps are configured (the apps read their settings from Apollo)`);
  if (!s.harbor) out.push(`${PROJECT}:harbor: is required when apps are configured (images are pulled from Harbor)`);
  return out;
}

/** Members name the host stack they are managed from; the host names none. */
export const hostStackMatchesRole: CrossCheck = (_stack, s) => {
  if (s.env && s.env !== "host" && !s.hostStack) return [`${PROJECT}:hostStack: is required for a member cluster (the host stack it is managed from)`];
  if (s.env === "host" && s.hostStack) return [`${PROJECT}:hostStack: the host does not reference itself; remove the key`];
  return [];
};

/** Data-centre ranges are routed over the IPsec link, so they must not collide with the cluster's own. */
export const datacenterApart: CrossCheck = (_stack, s) => {
  const out: string[] = [];
  if (!s.datacenter || !s.network) return out;
  for (const [i, sub] of s.datacenter.subnets.entries()) {
    for (const k of ["vpcCidr", "podCidr", "serviceCidr"] as const) {
      try {
        if (overlaps(sub, s.network[k])) out.push(`${PROJECT}:datacenter.subnets[${i}]: ${sub} overlaps ${PROJECT}:network.${k} ${s.network[k]}`);
      } catch {
        // malformed ranges are reported by their own field
      }
    }
  }
  return out;
};

/** The ingress controller's two NodePorts are distinct ports on every worker. */
export const ingressPortsDiffer: CrossCheck = (_stack, s) =>
  s.ingress?.httpNodePort !== undefined && s.ingress.httpNodePort === s.ingress.httpsNodePort ? [`${PROJECT}:ingress.httpsNodePort: must differ from httpNodePort`] : [];

/** Every cross-key rule, in the order their problems are reported. */
export const CROSS_CHECKS: CrossCheck[] = [envIsStack, memberHasWorkers, appsFitTheStack, hostStackMatchesRole, datacenterApart, ingressPortsDiffer];

export function crossChecks(stack: string, s: Partial<PlatformSettings>): string[] {
  return CROSS_CHECKS.flatMap((check) => check(stack, s));
}
