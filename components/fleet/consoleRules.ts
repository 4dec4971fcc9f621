// Rules of the console config (issue #20), each returning problems that name
// the key. The host declares the workspaces (platform:workspaces) and the
// console (platform:console); a member says which workspace each of its app
// namespaces belongs to (platform:projects) and is checked against the host's
// workspaces, read from the host's stack file (never a StackReference: config
// validation runs before any resource, and offline).
import type { KnownStack } from "./hostStackRules";
import { memberStackNames, PlacedWorkspaces, placeWorkspaces, workspacesSchema } from "./consoleSchema";
import type { PlatformSettings } from "../config/schema";

const P = "platform";
type Settings = Partial<PlatformSettings>;

/** The app namespaces of a stack, with the apps in each (apps/javaApp.ts namespaceOf: `namespace`, else the app's name). */
export function appNamespaces(s: Settings): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [app, cfg] of Object.entries(s.apps ?? {})) {
    const ns = cfg.namespace ?? app;
    out.set(ns, [...(out.get(ns) ?? []), app]);
  }
  return out;
}

/** Host-only and member-only keys in the right stacks; workspace and extension clusters are stacks of the project. */
export function consoleKeyProblems(s: Settings, stacks?: KnownStack[]): string[] {
  const out: string[] = [];
  const isHost = s.env === "host";
  if (!isHost && s.workspaces !== undefined) out.push(`${P}:workspaces: is a host setting (the host creates the workspaces); delete it here`);
  if (!isHost && s.console !== undefined) out.push(`${P}:console: is a host setting; delete it here`);
  if (isHost && s.projects !== undefined)
    out.push(`${P}:projects: is a member setting (which workspace each app namespace of the member is in); delete it here`);
  if (isHost && (s.workspaces !== undefined || s.console !== undefined) && !s.kubesphere?.enabled)
    out.push(`${P}:kubesphere.enabled: must be true for ${P}:workspaces and ${P}:console (they are KubeSphere objects)`);
  // A user in two role lists of one workspace (or twice in one) gets one role binding per list, and the
  // strongest wins silently: the stack file would say "viewer" while the user administers the workspace.
  for (const [ws, w] of Object.entries(s.workspaces ?? {})) {
    const seen = new Map<string, string>();
    for (const list of ["admins", "developers", "viewers"] as const) {
      (w[list] ?? []).forEach((u, i) => {
        const first = seen.get(u);
        if (first !== undefined)
          out.push(`${P}:workspaces.${ws}.${list}[${i}]: ${u} is already in ${first}; a user has one role per workspace, list them once`);
        else seen.set(u, `${P}:workspaces.${ws}.${list}`);
      });
    }
  }
  // ks-core 1.1.4's CRDs refuse a cluster listed twice: WorkspaceTemplate spec.placement.clusters is a list-map keyed
  // on name, InstallPlan spec.clusterScheduling.placement.clusters a set (kubesphere/kubesphere v4.1.3, commit
  // 3ef3a6bc98b7, config/ks-core/charts/ks-crds/crds/tenant.kubesphere.io_workspacetemplates.yaml and
  // kubesphere.io_installplans.yaml): the host's apply would fail on the object.
  const twice = (list: string[], key: string, field: string) =>
    list.forEach((c, i) => {
      if (list.indexOf(c) < i) out.push(`${key}[${i}]: ${c} is listed twice; list each cluster once (KubeSphere refuses a duplicate in ${field})`);
    });
  for (const [ws, w] of Object.entries(s.workspaces ?? {}))
    twice(w.clusters ?? [], `${P}:workspaces.${ws}.clusters`, "a WorkspaceTemplate's spec.placement.clusters");
  for (const [ext, e] of Object.entries(s.console?.extensions ?? {}))
    twice(e.clusters, `${P}:console.extensions.${ext}.clusters`, "an InstallPlan's spec.clusterScheduling.placement.clusters");
  if (!stacks) return out;
  const members = stacks.filter((k) => k.env !== "host").map((k) => k.name);
  // A workspace placed on a cluster the host does not register is never created there: the WorkspaceTemplate
  // controller only places on Cluster objects it knows (fleet/kubesphereMembers.ts registers the listed members).
  const registered = memberStackNames(s.kubesphere?.members);
  for (const [ws, w] of Object.entries(s.workspaces ?? {})) {
    // No clusters listed: placed on every member (consoleSchema.ts placeWorkspaces); with no member, on none.
    if (w.clusters === undefined && registered.length === 0 && s.kubesphere?.enabled)
      out.push(
        `${P}:workspaces.${ws}.clusters: not set, so the workspace is placed on every member of ${P}:kubesphere.members, which lists none; list the members there, or the clusters here`,
      );
    (w.clusters ?? []).forEach((c, i) => {
      if (!members.includes(c)) out.push(`${P}:workspaces.${ws}.clusters[${i}]: no member stack "${c}" (members: ${members.join(", ") || "none"})`);
      else if (!registered.includes(c))
        out.push(`${P}:workspaces.${ws}.clusters[${i}]: ${c} is not in ${P}:kubesphere.members, so the console does not know that cluster; list it there`);
    });
  }
  const all = stacks.map((k) => (k.env === "host" ? "host" : k.name));
  for (const [ext, e] of Object.entries(s.console?.extensions ?? {})) {
    e.clusters.forEach((c, i) => {
      if (!all.includes(c)) out.push(`${P}:console.extensions.${ext}.clusters[${i}]: no cluster "${c}" (clusters: ${all.join(", ")})`);
    });
  }
  return out;
}

/** The host's platform:workspaces from its stack file values, placed (its members by default), or the problems reading it. */
export function hostWorkspaces(hostValues: Record<string, unknown>, hostFile: string): { workspaces?: PlacedWorkspaces; problems: string[] } {
  const raw = hostValues[`${P}:workspaces`];
  if (raw === undefined) return { problems: [] };
  const parsed = workspacesSchema.safeParse(typeof raw === "string" ? JSON.parse(raw) : raw);
  if (!parsed.success) return { problems: [`${P}:workspaces in ${hostFile} does not parse; fix it in the host stack first`] };
  const ks = hostValues[`${P}:kubesphere`];
  const members = (typeof ks === "string" ? JSON.parse(ks) : ks) as { members?: unknown } | undefined;
  const list = Array.isArray(members?.members) ? members.members.filter((m): m is string => typeof m === "string") : [];
  return { workspaces: placeWorkspaces(parsed.data, list), problems: [] };
}

/**
 * Every app namespace of the member is in a workspace of the host that is placed on this cluster, and every
 * platform:projects entry is an app namespace. `hostFile` names the host's stack file in the messages.
 * Placement is checked only with KubeSphere on: a member brought up before the host lists it
 * (docs/runbooks/add-a-cluster.md, "Member before host") is in no console yet, and its namespace labels wait for it.
 */
export function projectProblems(stack: string, s: Settings, workspaces: PlacedWorkspaces | undefined, hostFile: string): string[] {
  if (s.env === "host" || s.apps === undefined) return [];
  const out: string[] = [];
  const projects = s.projects ?? {};
  const ws = workspaces ?? {};
  const placedHere = Object.keys(ws).filter((w) => ws[w].clusters.includes(stack));
  const hint = `workspaces placed on ${stack} in ${hostFile}: ${placedHere.join(", ") || "none"}`;
  const namespaces = appNamespaces(s);
  for (const [ns, apps] of namespaces) {
    const w = projects[ns];
    if (w === undefined) {
      out.push(`${P}:projects.${ns}: is required: namespace ${ns} (apps ${apps.join(", ")}) is in no workspace; set it to its workspace (${hint})`);
    } else if (!ws[w]) {
      out.push(`${P}:projects.${ns}: no workspace "${w}" in the host's ${P}:workspaces (${hostFile}: ${Object.keys(ws).join(", ") || "none"})`);
    } else if (!ws[w].clusters.includes(stack) && s.kubesphere?.enabled) {
      const fix = ws[w].everyMember
        ? `it is placed on every member: add <org>/${P}/${stack} to ${P}:kubesphere.members in ${hostFile}`
        : `add ${stack} to ${P}:workspaces.${w}.clusters in ${hostFile}`;
      out.push(`${P}:projects.${ns}: workspace "${w}" is not placed on cluster ${stack} (${fix}; ${hint})`);
    }
  }
  for (const ns of Object.keys(projects)) {
    if (!namespaces.has(ns))
      out.push(`${P}:projects.${ns}: no app of ${P}:apps runs in namespace ${ns} (app namespaces: ${[...namespaces.keys()].join(", ")})`);
  }
  return out;
}
