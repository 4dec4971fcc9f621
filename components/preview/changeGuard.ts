// The pack's change policy (policies/rules/changes.ts, `safe-changes`) over the
// offline diff: CrossGuard cannot see the old state, so this is where it runs.
import { isChangePolicy, PlannedChange } from "../../policies/rules/changes";
import { policiesFromConfig, ResolvedPolicyConfig, Violation } from "../../policies/pack";
import { DiffableResource, nameOfUrn, PlanDiff, typeOfUrn } from "./planDiff";

/** The diff as the change policy reads it: one entry per resource that changes. */
export function plannedChanges(d: PlanDiff, before: DiffableResource[], after: DiffableResource[]): PlannedChange[] {
  const old = new Map(before.map((r) => [r.urn, r]));
  const now = new Map(after.map((r) => [r.urn, r]));
  const of = (urn: string, op: PlannedChange["op"], paths: string[], r?: DiffableResource, was?: DiffableResource): PlannedChange => ({
    urn,
    type: r?.type ?? typeOfUrn(urn),
    name: nameOfUrn(urn),
    op,
    paths,
    props: r?.inputs ?? {},
    ...(was ? { oldProps: was.inputs } : {}),
  });
  return [
    ...d.changed.map((c) =>
      of(c.urn, c.op, c.op === "replace" ? c.changes.filter((x) => x.replaces).map((x) => x.path) : c.paths, now.get(c.urn), old.get(c.from ?? c.urn)),
    ),
    ...d.unaliased.map((u) => of(u.to, "replace", [], now.get(u.to))),
    ...d.removed.map((u) => of(u, "delete", [], old.get(u))),
    ...d.added.map((u) => of(u, "create", [], now.get(u))),
  ];
}

/** Findings of the configured change policies on a diff, at their configured level. */
export function checkChanges(d: PlanDiff, before: DiffableResource[], after: DiffableResource[], config: Map<string, ResolvedPolicyConfig>): Violation[] {
  const changes = plannedChanges(d, before, after);
  const out: Violation[] = [];
  for (const p of policiesFromConfig(config)) {
    if (!isChangePolicy(p) || p.enforcementLevel === "disabled") continue;
    const stackUrn = after.find((r) => r.type === "pulumi:pulumi:Stack")?.urn ?? "";
    p.validateChanges(
      changes,
      (message, urn) => out.push({ policy: p.name, level: p.enforcementLevel as "advisory" | "mandatory", urn: urn ?? stackUrn, message }),
      after.map((r) => ({ type: r.type ?? typeOfUrn(r.urn), urn: r.urn, name: nameOfUrn(r.urn), props: r.inputs })),
    );
  }
  return out;
}
