// Config namespaces a stack may use: the program's own (platform:) and the
// providers' it installs, each with the keys it reads, so a typo in either
// (`platfrom:x`, `alicloud:regoin`) is refused with the nearest known name.
import { PROJECT } from "./keys";

/**
 * Provider config keys, from the installed SDKs: @pulumi/alicloud
 * config/vars.d.ts and @pulumi/kubernetes provider.d.ts (ProviderArgs).
 * `undefined`: the namespace is known but its keys are not checked.
 */
export const PROVIDER_KEYS: Record<string, readonly string[] | undefined> = {
  alicloud: [
    "accessKey",
    "accountId",
    "accountType",
    "assumeRole",
    "assumeRoleWithOidc",
    "clientConnectTimeout",
    "clientReadTimeout",
    "configurationSource",
    "credentialsUri",
    "ecsRoleName",
    "endpoints",
    "fc",
    "features",
    "logEndpoint",
    "maxRetryTimeout",
    "mnsEndpoint",
    "otsInstanceName",
    "profile",
    "protocol",
    "region",
    "secretKey",
    "secureTransport",
    "securityToken",
    "securityTransport",
    "sharedCredentialsFile",
    "signVersion",
    "skipRegionValidation",
    "sourceIp",
  ],
  kubernetes: [
    "alwaysRender",
    "cluster",
    "clusterIdentifier",
    "context",
    "deleteUnreachable",
    "enableConfigMapMutable",
    "enablePatchForce",
    "enableSecretMutable",
    "enableServerSideApply",
    "helmReleaseSettings",
    "kubeClientSettings",
    "kubeconfig",
    "namespace",
    "renderYamlToDirectory",
    "skipUpdateUnreachable",
    "suppressDeprecationWarnings",
    "suppressHelmHookWarnings",
    "upsertExistingObjects",
  ],
  pulumi: undefined,
  random: undefined,
  tls: undefined,
};

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** The nearest candidate within a third of the word's length (at least 2 edits), if any. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

/** Problems with the namespaces and provider keys of every config key (platform: keys are checked by the schema). */
export function namespaceProblems(fullKeys: string[]): string[] {
  const namespaces = [PROJECT, ...Object.keys(PROVIDER_KEYS)];
  const out: string[] = [];
  for (const full of fullKeys) {
    const i = full.indexOf(":");
    const ns = i < 0 ? "" : full.slice(0, i);
    const key = full.slice(i + 1);
    if (ns === PROJECT) continue;
    if (!Object.hasOwn(PROVIDER_KEYS, ns)) {
      const guess = nearest(ns, namespaces);
      out.push(
        `${full}: unknown config namespace "${ns}"${guess ? ` (did you mean ${guess}:${key}?)` : ""}; keys are ${namespaces.map((n) => `${n}:`).join(", ")}`,
      );
      continue;
    }
    const keys = PROVIDER_KEYS[ns];
    if (keys && !keys.includes(key)) {
      const guess = nearest(key, keys);
      out.push(`${full}: not a setting of the ${ns} provider${guess ? ` (did you mean ${ns}:${guess}?)` : ""}`);
    }
  }
  return out;
}
