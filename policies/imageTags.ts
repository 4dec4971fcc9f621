// Which image tags each environment accepts. Pure: no Pulumi import, so the
// release scripts, the config schema and the policy pack can all share it.
//
// The image is built once and the same image runs in every environment, so a
// tag is the only thing that says WHICH build a cluster runs. The rules make a
// tag say where it came from: dev/test run CI builds stamped with their date
// and build number, pre/prod run git release tags, and prod never runs a
// release candidate (pre's validated image is promoted there without rebuild).

import { readFleet, tierOf } from "./fleet";

/** A stack name (one per cluster); what it is, its tier, comes from its stack file (fleet.ts). */
export type Env = string;

/** Every stack name, in deploy order (host, then dev, test, pre, prod): the stack files next to Pulumi.yaml (fleet.ts). */
export const ENVS: readonly Env[] = readFleet().stacks.map((s) => s.name);

/** Previous tags kept per app: the Deployment keeps revisionHistoryLimit 5, so older tags could not be rolled back to by ReplicaSet either. */
export const MAX_HISTORY = 5;

/** The OCI distribution spec's tag grammar. */
const OCI_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** CI build tag: YYYYMMDD-<build number> or YYYYMMDD-<short git sha>. */
const BUILD_TAG = /^(\d{4})(\d{2})(\d{2})-(\d{1,10}|[0-9a-f]{7,12})$/;

/** Git release tag: v<semver> or <app>-v<semver>, optionally -rc.N; no leading zeros, as semver says. */
const RELEASE_TAG = /^(?:(.+)-)?v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-rc\.(?:0|[1-9]\d*))?$/;

export function isEnv(s: string): s is Env {
  return tierOf(s) !== undefined;
}

/** True for the stacks whose file says `platform:tier: prod`. */
export function isProdEnv(env: Env): boolean {
  return tierOf(env) === "prod";
}

/**
 * Returns undefined when `tag` is allowed in `env`, else the reason (without
 * the config key, which the caller knows and prefixes).
 */
export function imageTagProblem(env: Env, tag: string, app: string): string | undefined {
  const tier = tierOf(env);
  if (tier === undefined) return `${env} has no stack file Pulumi.${env}.yaml, so no tag rule applies`;
  if (tier === "host") return "host runs no apps (it is the management cluster), so it takes no image tags";
  if (tag === "") return "tag is empty";
  // `latest` moves: the cluster would run whatever was pushed last, and a
  // rollback could not name the image it rolls back to.
  if (tag.toLowerCase() === "latest") return `tag "${tag}" is refused: it moves, so nobody can tell or roll back which build runs`;
  if (!OCI_TAG.test(tag)) return `tag "${tag}" is not a valid image tag (letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-')`;

  if (tier === "dev" || tier === "test") {
    const m = BUILD_TAG.exec(tag);
    if (!m) {
      return `tag "${tag}" is not a build tag (${env} takes CI builds YYYYMMDD-<build> such as 20261127-142 or 20261127-3f9a2c1)`;
    }
    const [, y, mo, d] = m;
    if (!isCalendarDate(Number(y), Number(mo), Number(d))) {
      return `tag "${tag}": ${y}${mo}${d} is not a calendar date (YYYYMMDD, year 2000-2099)`;
    }
    return undefined;
  }

  // pre and prod: git release tags.
  const example = `v2.3.1 or ${app}-v2.3.1`;
  const m = RELEASE_TAG.exec(tag);
  if (!m) {
    const takes = tier === "pre" ? `git tags such as ${example}, or a candidate such as v2.3.1-rc.1` : `git tags such as ${example}`;
    return `tag "${tag}" is not a release tag (${env} takes ${takes})`;
  }
  const [, prefix, , , , rc] = m;
  if (prefix !== undefined && prefix !== app) {
    return `tag "${tag}" is a release of "${prefix}", not of ${app} (use v<semver> or ${app}-v<semver>)`;
  }
  if (rc !== undefined && tier === "prod") {
    return `tag "${tag}" is a release candidate: ${env} takes only final releases such as ${example} (tag the validated commit and promote it from pre)`;
  }
  return undefined;
}

function isCalendarDate(y: number, m: number, d: number): boolean {
  // A year outside this century is a typo, not a build from the past or future.
  if (y < 2000 || y > 2099 || m < 1 || m > 12 || d < 1) return false;
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}
