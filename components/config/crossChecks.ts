// Rules that span several keys, each a function returning its problems (lines
// naming a key). parseStackConfig runs them all on whatever parsed, so a stack
// with several mistakes gets every one of them at once.
//
// The rules themselves live beside what they protect (the app rules in
// apps/javaAppRules.ts, kubeadm's in cluster/kubeadmRules.ts, ...); this file
// only says which settings each one reads.
import { javaAppProblems } from "../apps/javaAppRules";
import { mastersProblems, nodePoolSizeProblems } from "../cluster/clusterRules";
import { kubernetesProblems, nodeLabelProblems, serviceCidrProblems, taintProblems } from "../cluster/kubeadmRules";
import { hostStackProblems, KnownStack } from "../fleet/hostStackRules";
import { kubesphereMemberProblems } from "../fleet/kubesphereMembers";
import { consoleKeyProblems } from "../fleet/consoleRules";
import { logSearchProblems } from "../fleet/logSearchSchema";
import { podCidrProblems } from "../k8s/flannelRules";
import { loggingProblems } from "../k8s/fluentBitRules";
import { overlaps } from "../../policies/rules/cidr";
import { datacenterIpProblems, ingressNodePortProblems, reservedRangeProblems, zoneProblems } from "../network/networkRules";
import { PlatformSettings } from "./schema";
import { PROJECT } from "./keys";
import { kubesphereVersionProblems, placementProblems, storageProblems } from "./placementChecks";
import { kmsEndpointProblems, taintSetProblems } from "./kinds";

/** Values checked by kind where the limit depends on another key: the KMS endpoint on the region and instance (T1), a pool's taints as a set (T26). */
export const kindChecks: CrossCheck = (_stack, s, ctx) => [
  ...kmsEndpointProblems(s.secretStore?.endpoint, ctx.region, s.secretStore?.kmsInstanceId),
  ...(s.nodePools ?? []).flatMap((p, i) => taintSetProblems(`${PROJECT}:nodePools[${i}].taints`, p.taints ?? [])),
];

/** What a rule may know besides the platform:* settings. */
export interface RuleContext {
  /** alicloud:region, when set. */
  region?: string;
  /** The project's stacks (its Pulumi.<stack>.yaml files), when the project folder is known. */
  stacks?: KnownStack[];
  /** platform:* keys (without the prefix) that are set but failed to parse: their problems are reported, so no rule calls them missing. */
  unparsed?: ReadonlySet<string>;
}

/** One cross-key rule: the stack's name and its parsed settings (keys that failed to parse are absent). */
export type CrossCheck = (stack: string, s: Partial<PlatformSettings>, ctx: RuleContext) => string[];

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
export const appsFitTheStack: CrossCheck = (_stack, s, ctx) => {
  const out: string[] = [];
  const env = s.env;
  const appEntries = Object.entries(s.apps ?? {});
  if (!env || appEntries.length === 0) return out;
  if (env === "host") return [`${PROJECT}:apps: the host cluster runs no apps`, ...needsApolloAndHarbor(s, ctx)];
  out.push(...needsApolloAndHarbor(s, ctx));
  for (const [name, a] of appEntries) {
    const key = `${PROJECT}:apps.${name}`;
    (a.history ?? []).forEach((t, i) => {
      if (t.toLowerCase() === "latest") out.push(`${key}.history[${i}]: tag "latest" is refused`);
    });
    if (s.harbor && !a.image.startsWith(`${s.harbor.registry}/`)) {
      out.push(`${key}.image: ${a.image} is not in the company registry ${s.harbor.registry}`);
    }
    out.push(...javaAppProblems({ ...a, name, namespace: a.namespace ?? name, env }));
  }
  return out;
};

function needsApolloAndHarbor(s: Partial<PlatformSettings>, ctx: RuleContext): string[] {
  const out: string[] = [];
  if (!s.apollo && !ctx.unparsed?.has("apollo")) out.push(`${PROJECT}:apollo: is required when apps are configured (the apps read their settings from Apollo)`);
  if (!s.harbor && !ctx.unparsed?.has("harbor")) out.push(`${PROJECT}:harbor: is required when apps are configured (images are pulled from Harbor)`);
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

/** The network's ranges, zones and the data centre's address (network/networkRules.ts). */
export const networkRules: CrossCheck = (_stack, s, ctx) => [
  ...(s.network || s.datacenter ? reservedRangeProblems(s.network ?? {}, s.datacenter?.subnets) : []),
  ...(s.network && ctx.region ? zoneProblems(ctx.region, s.network.zones) : []),
  ...(s.datacenter ? datacenterIpProblems(s.datacenter.publicIp, s.network ?? {}) : []),
];

/** The ingress controller's two NodePorts, defaults included, are distinct ports on every worker. */
export const ingressRules: CrossCheck = (_stack, s) => ingressNodePortProblems(s.ingress);

/** kubeadm's rules: version and repositories, the service range, node labels and taints (cluster/kubeadmRules.ts). */
export const kubeadmRules: CrossCheck = (_stack, s) => [
  ...(s.kubernetes ? kubernetesProblems(s.kubernetes) : []),
  ...(s.network ? serviceCidrProblems(s.network.serviceCidr) : []),
  ...(s.nodePools ?? []).flatMap((p, i) => [
    ...nodeLabelProblems(`${PROJECT}:nodePools[${i}].labels`, p.labels ?? {}),
    ...taintProblems(`${PROJECT}:nodePools[${i}].taints`, p.taints ?? []),
  ]),
];

/** The cluster's size: masters per zone, node counts, pod range per node (cluster/clusterRules.ts, k8s/flannelRules.ts). */
export const sizeRules: CrossCheck = (_stack, s) => {
  const out: string[] = [];
  if (s.masters && s.network) out.push(...mastersProblems(s.masters.count, s.network.zones.length));
  if (s.nodePools) out.push(...nodePoolSizeProblems(s.nodePools, s.network));
  if (s.network && s.nodePools && s.masters) {
    out.push(...podCidrProblems(s.network.podCidr, s.masters.count + s.nodePools.reduce((n, p) => n + p.count, 0)));
  }
  return out;
};

/** platform:logging's hosts and ports (k8s/fluentBitRules.ts). */
export const loggingRules: CrossCheck = (_stack, s) => (s.logging ? loggingProblems(s.logging) : []);

/** platform:hostStack names the host stack of this project (fleet/hostStackRules.ts). */
export const hostStackRules: CrossCheck = (stack, s, ctx) => (s.hostStack && s.env !== "host" ? hostStackProblems(stack, s.hostStack, ctx.stacks) : []);

/** platform:kubesphere.members on the host, and a member with KubeSphere on being listed by its host (fleet/kubesphereMembers.ts). */
export const kubesphereMembersRules: CrossCheck = (stack, s, ctx) =>
  s.env === undefined
    ? []
    : kubesphereMemberProblems(
        { name: stack, env: s.env, hostStack: s.hostStack, kubesphereEnabled: s.kubesphere?.enabled === true, kubesphereMembers: s.kubesphere?.members },
        ctx.stacks,
      );

/** Tracing needs an Elasticsearch (platform:logging's, or its own) and runs where apps run (components/k8s/tracing.ts). */
export const tracingRules: CrossCheck = (_stack, s) => {
  const out: string[] = [];
  for (const [app, a] of Object.entries(s.apps ?? {})) {
    if (a.tracing === true && !s.tracing) out.push(`${PROJECT}:apps.${app}.tracing: needs platform:tracing (the stack has no tracing backend)`);
  }
  if (!s.tracing) return out;
  if (s.env === "host") out.push(`${PROJECT}:tracing: the host cluster runs no apps, so no tracing backend`);
  if (!s.tracing.elasticsearch && s.logging && s.logging.output !== "elasticsearch") {
    out.push(`${PROJECT}:tracing.elasticsearch: is required when platform:logging.output is ${s.logging.output} (OAP stores in Elasticsearch)`);
  }
  return out;
};

/** Every cross-key rule, in the order their problems are reported. */
export const CROSS_CHECKS: CrossCheck[] = [
  envIsStack,
  kindChecks,
  tracingRules,
  memberHasWorkers,
  appsFitTheStack,
  hostStackMatchesRole,
  hostStackRules,
  kubesphereMembersRules,
  networkRules,
  datacenterApart,
  kubeadmRules,
  sizeRules,
  ingressRules,
  loggingRules,
  (_stack, s, ctx) => placementProblems(s, ctx.unparsed),
  (_stack, s) => storageProblems(s),
  (_stack, s) => kubesphereVersionProblems(s),
  // Console keys (fleet/consoleRules.ts); the member's platform:projects against the host's file: stackConfig.ts.
  (_stack, s, ctx) => consoleKeyProblems(s, ctx.stacks),
  (_stack, s) => logSearchProblems(s),
];

export function crossChecks(stack: string, s: Partial<PlatformSettings>, ctx: RuleContext = {}): string[] {
  return CROSS_CHECKS.flatMap((check) => check(stack, s, ctx));
}
