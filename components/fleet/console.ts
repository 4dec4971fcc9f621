// The KubeSphere console as code (issue #20): workspaces, who may do what in
// which env, the company identity provider and the extensions, all declared in
// the stack files. Facts are from kubesphere v4.1.3 (ks-core 1.1.4):
//
// - Workspaces: tenant.kubesphere.io/v1beta1 WorkspaceTemplate on the host
//   (config/ks-core/charts/ks-crds/crds/tenant.kubesphere.io_workspacetemplates.yaml);
//   its controller creates the Workspace on each cluster of spec.placement.clusters
//   and the workspace roles `<workspace>-<role>` from the workspace BuiltinRoles
//   (pkg/controller/workspacetemplate/workspacetemplate_controller.go
//   initWorkspaceRoles, ensureWorkspaceRoleName; roles admin, regular,
//   self-provisioner, viewer in config/ks-core/templates/builtinroles.yaml).
// - A namespace is in a workspace by the label kubesphere.io/workspace
//   (pkg/constants/constants.go WorkspaceLabelKey); the namespace controller then
//   creates the project roles admin, operator, viewer in it when it also carries
//   kubesphere.io/managed=true (the BuiltinRoles' targetSelector;
//   pkg/controller/namespace/namespace_controller.go initRoles).
// - Bindings: iam.kubesphere.io/v1beta1 WorkspaceRoleBinding and GlobalRoleBinding
//   (cluster-scoped, on the host) and RoleBinding (in the member's namespace,
//   where that cluster's ks-apiserver authorizes), subjects kind User, labelled
//   iam.kubesphere.io/user-ref and role-ref as the controllers label theirs
//   (staging/src/kubesphere.io/api/iam/v1beta1/constants.go).
// - Identity provider: a Secret in kubesphere-system of type
//   config.kubesphere.io/identityprovider, label config.kubesphere.io/type=identityprovider,
//   key configuration.yaml (pkg/apiserver/authentication/identityprovider/configuration.go
//   ListConfigurations, UnmarshalFrom); provider fields from .../oidc/oidc.go and .../ldap/ldap.go.
// - Extensions: kubesphere.io/v1alpha1 InstallPlan, spec.extension {name, version},
//   spec.enabled, spec.clusterScheduling.placement.clusters (kubesphere.io_installplans.yaml).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import type { Env } from "../../policies/imageTags";
import { ClusterAccess, inCluster, K8sObject } from "../k8s/k8sObjects";
import { WORKSPACE_LABEL } from "../k8s/fluentBitValues";
import { ConsoleConfig, Member, PlacedWorkspace, PlacedWorkspaces, projectRole, WorkspacesConfig } from "./consoleSchema";

export const IAM = "iam.kubesphere.io";
const IAM_V = `${IAM}/v1beta1`;
/** The label the namespace BuiltinRoles select (builtinroles.yaml targetSelector). */
export const MANAGED_LABEL = "kubesphere.io/managed";
const USER_REF = `${IAM}/user-ref`;
const ROLE_REF = `${IAM}/role-ref`;
export const KUBESPHERE_NAMESPACE = "kubesphere-system";

/** The labels that put an app namespace in `workspace` (and give it the built-in project roles). */
export function workspaceLabels(workspace: string): Record<string, string> {
  return { [WORKSPACE_LABEL]: workspace, [MANAGED_LABEL]: "true" };
}

/** The workspace role a member gets on the host: admins administer, everyone else is a regular member. */
export function workspaceRoleOf(member: Member): "admin" | "regular" {
  return member === "admins" ? "admin" : "regular";
}

/** Object names are DNS subdomains; user names may carry dots. */
function objName(...parts: string[]): string {
  return parts.join("-").replace(/[^a-z0-9.-]/g, "-");
}

const MEMBERS: Member[] = ["admins", "developers", "viewers"];

/** The people of a workspace by kind, each once (the strongest kind wins when a name is listed twice). */
export function peopleOf(w: WorkspacesConfig[string]): [string, Member][] {
  const seen = new Map<string, Member>();
  for (const m of MEMBERS) for (const u of w[m] ?? []) if (!seen.has(u)) seen.set(u, m);
  return [...seen];
}

/** Host: the WorkspaceTemplate of a workspace, placed on its clusters (consoleSchema.ts placeWorkspaces). */
export function workspaceTemplate(name: string, w: Pick<PlacedWorkspace, "clusters">): K8sObject {
  return {
    apiVersion: "tenant.kubesphere.io/v1beta1",
    kind: "WorkspaceTemplate",
    metadata: { name, labels: { "app.kubernetes.io/managed-by": "pulumi" } },
    spec: { placement: { clusters: w.clusters.map((c) => ({ name: c })) }, template: { metadata: { labels: { "platform/workspace": name } } } },
  };
}

function subjects(user: string) {
  return [{ apiGroup: IAM, kind: "User", name: user }];
}

/** Host: a user's WorkspaceRoleBinding to `<workspace>-<role>`. */
export function workspaceRoleBinding(workspace: string, user: string, member: Member): K8sObject {
  const role = `${workspace}-${workspaceRoleOf(member)}`;
  return {
    apiVersion: IAM_V,
    kind: "WorkspaceRoleBinding",
    metadata: { name: objName(user, role), labels: { [WORKSPACE_LABEL]: workspace, [USER_REF]: user, [ROLE_REF]: role } },
    roleRef: { apiGroup: IAM, kind: "WorkspaceRole", name: role },
    subjects: subjects(user),
  };
}

/** Host: platform-admin for an ops person (config/ks-core/templates/globalroles.yaml). */
export function platformAdminBinding(user: string): K8sObject {
  return {
    apiVersion: IAM_V,
    kind: "GlobalRoleBinding",
    metadata: { name: objName(user, "platform-admin"), labels: { [USER_REF]: user, [ROLE_REF]: "platform-admin" } },
    roleRef: { apiGroup: IAM, kind: "GlobalRole", name: "platform-admin" },
    subjects: subjects(user),
  };
}

/** Member: a user's project role in an app namespace, by env (consoleSchema.ts projectRole). */
export function projectRoleBinding(namespace: string, user: string, member: Member, env: Env): K8sObject {
  const role = projectRole(member, env);
  return {
    apiVersion: IAM_V,
    kind: "RoleBinding",
    metadata: { name: objName(user, role), namespace, labels: { [USER_REF]: user, [ROLE_REF]: role } },
    roleRef: { apiGroup: IAM, kind: "Role", name: role },
    subjects: subjects(user),
  };
}

/** Host: an extension's InstallPlan (named after the extension, as the console names them). */
export function installPlan(name: string, e: NonNullable<ConsoleConfig["extensions"]>[string]): K8sObject {
  return {
    apiVersion: "kubesphere.io/v1alpha1",
    kind: "InstallPlan",
    metadata: { name },
    spec: {
      extension: { name, version: e.version },
      enabled: true,
      upgradeStrategy: "Manual",
      clusterScheduling: { placement: { clusters: e.clusters } },
      ...(e.config !== undefined ? { config: e.config } : {}),
    },
  };
}

export const IDP_SECRET_TYPE = "config.kubesphere.io/identityprovider";

/** The identity provider's configuration.yaml with its secret (OIDC clientSecret / LDAP managerPassword). */
export function identityProviderConfiguration(c: ConsoleConfig, secret: string): string {
  const idp = c.identityProvider;
  const provider =
    idp.type === "oidc"
      ? {
          issuer: idp.issuer,
          clientID: idp.clientId,
          clientSecret: secret,
          // The console's redirect page for this provider; ks-apiserver's callback is /oauth/callback/<name> (pkg/kapis/oauth/register.go:132).
          redirectURL: `${c.url.replace(/\/$/, "")}/oauth/redirect/${idp.name}`,
          // ks-apiserver puts "openid" first itself and appends these only when "openid" is not among them
          // (v4.1.3 pkg/apiserver/authentication/identityprovider/oidc/oidc.go:185-189): never list it here.
          scopes: idp.scopes ?? ["email", "profile"],
          getUserInfo: true,
          preferredUsernameKey: "preferred_username",
          emailKey: "email",
        }
      : {
          host: idp.host,
          managerDN: idp.managerDN,
          managerPassword: secret,
          userSearchBase: idp.userSearchBase,
          loginAttribute: idp.loginAttribute ?? "uid",
          mailAttribute: idp.mailAttribute ?? "mail",
          startTLS: idp.startTLS ?? false,
        };
  return YAML.stringify({
    name: idp.name,
    type: idp.type === "oidc" ? "OIDCIdentityProvider" : "LDAPIdentityProvider",
    // auto: the user is created at first login under the provider's name for them; nobody has a local password.
    mappingMethod: "auto",
    provider,
  });
}

/** The identity provider's Secret, without its data (the component adds it as a Pulumi secret). */
export function identityProviderSecret(c: ConsoleConfig): K8sObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: `identityprovider-${c.identityProvider.name}`,
      namespace: KUBESPHERE_NAMESPACE,
      labels: { "config.kubesphere.io/type": "identityprovider" },
    },
    type: IDP_SECRET_TYPE,
  };
}

/** Every host object of the console, without secret data: what the tests check against the CRDs. */
export function hostConsoleObjects(workspaces: PlacedWorkspaces, c?: ConsoleConfig): K8sObject[] {
  const out: K8sObject[] = [];
  for (const [ws, w] of Object.entries(workspaces)) {
    out.push(workspaceTemplate(ws, w));
    for (const [user, m] of peopleOf(w)) out.push(workspaceRoleBinding(ws, user, m));
  }
  if (c) {
    for (const u of c.platformAdmins) out.push(platformAdminBinding(u));
    for (const [name, e] of Object.entries(c.extensions ?? {})) out.push(installPlan(name, e));
  }
  return out;
}

/** Every member object: the project role bindings in each app namespace of its workspace. */
export function memberConsoleObjects(env: Env, projects: Record<string, string>, workspaces: WorkspacesConfig): K8sObject[] {
  const out: K8sObject[] = [];
  for (const [ns, ws] of Object.entries(projects)) {
    const w = workspaces[ws];
    if (!w) continue;
    for (const [user, m] of peopleOf(w)) out.push(projectRoleBinding(ns, user, m, env));
  }
  return out;
}

function create(prefix: string, parent: pulumi.Resource, cluster: ClusterAccess, obj: K8sObject, deps: pulumi.Resource[] = []): pulumi.CustomResource {
  const id = `${prefix}-${obj.kind.toLowerCase()}-${obj.metadata.namespace ? `${obj.metadata.namespace}-` : ""}${obj.metadata.name}`;
  return new k8s.apiextensions.CustomResource(id, obj as k8s.apiextensions.CustomResourceArgs, inCluster(parent, cluster, { dependsOn: deps }));
}

export interface ConsoleHostArgs {
  /** The host cluster: its provider and readiness gate. */
  cluster: ClusterAccess;
  /** `platform:workspaces`, placed (every member of `platform:kubesphere.members` by default): a WorkspaceTemplate and role bindings each. */
  workspaces: PlacedWorkspaces;
  /** `platform:console`: the identity provider (OIDC) and global roles; default none (no identity provider Secret). */
  console?: ConsoleConfig;
  /** platform:identityProviderSecret (required with platform:console). No default. */
  identityProviderSecret?: pulumi.Output<string>;
  /** ks-core: its CRDs and kubesphere-system come first. */
  kubesphere: pulumi.Resource;
}

/** Host: workspaces, workspace and global role bindings, the identity provider and the extensions' install plans. */
export class ConsoleHost extends pulumi.ComponentResource {
  constructor(name: string, args: ConsoleHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:fleet:ConsoleHost", name, {}, opts);
    const deps = [args.kubesphere];
    const templates = new Map<string, pulumi.Resource>();
    for (const obj of hostConsoleObjects(args.workspaces, args.console)) {
      const ws = obj.kind === "WorkspaceRoleBinding" ? templates.get(obj.metadata.labels![WORKSPACE_LABEL]) : undefined;
      const r = create(name, this, args.cluster, obj, ws ? [...deps, ws] : deps);
      if (obj.kind === "WorkspaceTemplate") templates.set(obj.metadata.name, r);
    }
    if (args.console) {
      const c = args.console;
      if (!args.identityProviderSecret) throw new pulumi.ResourceError(`ConsoleHost ${name}: platform:console needs platform:identityProviderSecret`, this);
      const { apiVersion: _a, kind: _k, ...meta } = identityProviderSecret(c);
      const stringData = pulumi.secret(args.identityProviderSecret.apply((s) => ({ "configuration.yaml": identityProviderConfiguration(c, s) })));
      new k8s.core.v1.Secret(
        `${name}-identityprovider`,
        { ...(meta as k8s.core.v1.SecretArgs), stringData },
        inCluster(this, args.cluster, { dependsOn: deps }),
      );
    }
    this.registerOutputs({});
  }
}

export interface ConsoleProjectsArgs {
  /** The member cluster: its provider and readiness gate. */
  cluster: ClusterAccess;
  /** The env this member is: it picks each person's role in a project. */
  env: Env;
  /** `platform:projects`: app namespace -> workspace. */
  projects: Record<string, string>;
  /** The host's `platform:workspaces`, read from its stack file: who is in each workspace. */
  workspaces: WorkspacesConfig;
  /** The app namespaces: the bindings go into them. */
  after: pulumi.Resource[];
}

/** Member: each app namespace's project role bindings, by the env this cluster is. */
export class ConsoleProjects extends pulumi.ComponentResource {
  constructor(name: string, args: ConsoleProjectsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:fleet:ConsoleProjects", name, {}, opts);
    for (const obj of memberConsoleObjects(args.env, args.projects, args.workspaces)) create(name, this, args.cluster, obj, args.after);
    this.registerOutputs({});
  }
}
