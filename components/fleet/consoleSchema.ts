// The config of the KubeSphere console as code (issue #20): the host's
// workspaces and console settings, the members' namespace -> workspace map,
// and the role each kind of person gets in each env. Schemas only (schema.ts
// composes them into the platform:* keys); the rules spanning stacks are in
// consoleRules.ts, the objects in console.ts.
import { z } from "zod";
import { hostPortKind, urlKind } from "../config/valueKinds";
import type { Env } from "../../policies/imageTags";
import { Tier, tierOf } from "../../policies/fleet";

// At most 32: the controller names workspace roles `<workspace>-<role>` and falls back to a hashed name past 63
// characters (v4.1.3 pkg/controller/workspacetemplate/workspacetemplate_controller.go:260-266); the longest
// built-in role, self-provisioner, keeps 32 + 17 under that, so the bindings' role names hold.
const name = z.string().regex(/^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$/, "must be a DNS label (lowercase letters, digits, '-', at most 32 characters)");
/** A KubeSphere user name as the identity provider maps it (v4.1.3 User names are object names: DNS subdomain). */
const user = z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/, "must be a user name as the identity provider maps it (lowercase, digits, '-', '.')");
const users = z.array(user);
/** http(s) URLs through the URL parser (no userinfo, port 1-65535; config/kinds.ts). */
const url = urlKind();
const pinnedVersion = z.string().regex(/^\d+\.\d+\.\d+$/, "must be a pinned version such as 1.2.0");

/** One workspace (business line) on the host: where it is placed and who is in it. */
export const workspaceSchema = z
  .object({
    clusters: z
      .array(name)
      .min(1, "must list at least one member cluster")
      .optional()
      .describe(
        "The member clusters (stack names) the workspace spans: its WorkspaceTemplate's spec.placement.clusters. Default: every member of `platform:kubesphere.members`, so a cluster added there gets the workspace with no other edit.",
      ),
    admins: users.min(1, "must name at least one admin (ops)").describe("Ops: workspace admin, and project admin in every env."),
    developers: users.optional().describe("Release in dev/test (project operator), view in pre/prod (project viewer)."),
    viewers: users.optional().describe("Testers and other readers: project viewer in every env."),
  })
  .strict();

export const workspacesSchema = z.record(name, workspaceSchema);
export type WorkspaceConfig = z.infer<typeof workspaceSchema>;
export type WorkspacesConfig = z.infer<typeof workspacesSchema>;
/** A workspace with its placement resolved: the clusters it spans, and whether they are the default (every member). */
export type PlacedWorkspace = WorkspaceConfig & { clusters: string[]; everyMember: boolean };
export type PlacedWorkspaces = Record<string, PlacedWorkspace>;

/** The stack names of the host's `platform:kubesphere.members` (`<org>/<project>/<stack>`). */
export function memberStackNames(members: readonly string[] | undefined): string[] {
  return (members ?? []).map((m) => m.split("/").pop()!);
}

/** Each workspace on its listed clusters, or, when it lists none, on every member the host registers, in the members' order. */
export function placeWorkspaces(workspaces: WorkspacesConfig, members: readonly string[] | undefined): PlacedWorkspaces {
  const all = [...new Set(memberStackNames(members))];
  return Object.fromEntries(Object.entries(workspaces).map(([ws, w]) => [ws, { ...w, clusters: w.clusters ?? all, everyMember: w.clusters === undefined }]));
}

/** Members: app namespace -> workspace (a KubeSphere "project" is a namespace in a workspace). */
export const projectsSchema = z.record(name, name);

const oidc = z
  .object({
    type: z.literal("oidc"),
    name: name.describe("The provider's name: the login button and the redirect path /oauth/redirect/<name>."),
    issuer: url,
    clientId: z.string().min(1),
    scopes: z
      .array(z.string().min(1))
      .refine((s) => !s.includes("openid"), {
        message: 'must not list "openid": ks-apiserver adds it, and drops every other scope when the list already has it (v4.1.3 oidc.go:185-189)',
      })
      .optional()
      .describe('Extra scopes, default email and profile; ks-apiserver adds "openid" itself (console.ts identityProviderConfiguration).'),
  })
  .strict();
const ldap = z
  .object({
    type: z.literal("ldap"),
    name,
    host: hostPortKind().describe("host:port of the directory."),
    managerDN: z.string().min(1),
    userSearchBase: z.string().min(1),
    loginAttribute: z.string().min(1).optional(),
    mailAttribute: z.string().min(1).optional(),
    startTLS: z.boolean().optional(),
  })
  .strict();

const extension = z
  .object({
    version: pinnedVersion,
    clusters: z
      .array(name)
      .min(1, "must list at least one cluster")
      .describe("Clusters (stack names, `host` for the host) the extension's agents run on: clusterScheduling.placement.clusters."),
    config: z.string().optional().describe("The extension's values (YAML), InstallPlan spec.config."),
  })
  .strict();

/** The host's console settings. */
export const consoleSchema = z
  .object({
    url: url.describe("The console's URL as people open it (OIDC redirect URL base)."),
    identityProvider: z
      .discriminatedUnion("type", [oidc, ldap])
      .describe("The company identity provider; its client secret (OIDC) or manager password (LDAP) is the secret platform:identityProviderSecret."),
    platformAdmins: users.min(1, "must name at least one platform admin").describe("Ops people with the platform-admin global role."),
    extensions: z.record(name, extension).optional().describe("KubeSphere extensions by name, each an InstallPlan."),
  })
  .strict();
export type ConsoleConfig = z.infer<typeof consoleSchema>;

/** What a kind of person may do in a namespace: KubeSphere v4.1.3's built-in project roles (config/ks-core/templates/builtinroles.yaml). */
export type ProjectRole = "admin" | "operator" | "viewer";
export type Member = "admins" | "developers" | "viewers";

/** Tiers where developers release (the stack file's platform:tier). Everywhere else (pre, prod) they only view. */
export const RELEASE_TIERS: readonly Tier[] = ["dev", "test"];

/** The project role a member of a workspace gets in a cluster of env `env`. */
export function projectRole(member: Member, env: Env): ProjectRole {
  if (member === "admins") return "admin";
  if (member === "developers") return RELEASE_TIERS.includes(tierOf(env) ?? "host") ? "operator" : "viewer";
  return "viewer";
}
