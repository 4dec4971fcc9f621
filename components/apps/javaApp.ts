// The company's Java apps: one JavaApp per app (Deployment, Service, PDB,
// optional HPA, Ingress and canary), and AppNamespaces, which creates each app
// namespace once (apps share them, e.g. `commerce`) with the Harbor pull Secret
// and the apps' Apollo access-key Secrets. Objects come from the pure builders
// in javaAppObjects.ts and namespaceObjects.ts, checked by javaAppRules.ts;
// this file only wires them to the cluster.
import * as pulumi from "@pulumi/pulumi";
import type * as k8s from "@pulumi/kubernetes";
import type { NodePoolConfig } from "../config/schema";
import { mirrored } from "../k8s/images";
import { DeploymentState, rolloutFinished } from "../fleet/validatedImages";
import { ClusterAccess, createObject, inCluster, PlainObject } from "../k8s/k8sObjects";
import { Env } from "../../policies/imageTags";
import { AGENT_TOKEN_KEY, agentOf, agentTokenSecret, javaAppObjects, LOG_TAIL_IMAGE } from "./javaAppObjects";
import { AgentSettings, apolloEnvOf, AppConfig, javaAppProblems, JavaAppSettings, Placement } from "./javaAppRules";
import {
  APOLLO_ACCESS_KEY_KEY,
  apolloAccessKeySecret,
  apolloSecretName,
  appNamespace,
  dockerConfigJson,
  HARBOR_PULL_SECRET,
  harborPullSecret,
} from "./namespaceObjects";

export type { AppConfig };

/** The namespace an app runs in: its configured one, else one named after the app. */
export function namespaceOf(app: string, cfg: Pick<AppConfig, "namespace">): string {
  return cfg.namespace ?? app;
}

export interface AppNamespacesArgs {
  /** The cluster's provider and readiness gate; every object goes through it. */
  cluster: ClusterAccess;
  /** The stack: the namespaces' `platform/env` label. */
  env: Env;
  /** Every app of the stack (`platform:apps`); each distinct namespace is created once. */
  apps: Record<string, AppConfig>;
  /** Harbor registry host and robot account (`platform:harbor`, passed whole); required, no default. */
  harbor: { registry: string; username: string };
  /** The robot account's password (`platform:harborPassword`), a secret; required, no default. */
  harborPassword: pulumi.Input<string>;
  /** Apollo access-key secrets by app (`platform:apolloAccessKeys`); default none, and apps without one get no Secret. */
  apolloAccessKeys?: Record<string, pulumi.Input<string>>;
  /** Extra labels by namespace (the KubeSphere workspace, fleet/console.ts workspaceLabels); default none. */
  namespaceLabels?: Record<string, Record<string, string>>;
}

/** What a JavaApp needs from its namespace. */
export interface AppNamespace {
  /** The namespace's name. */
  name: string;
  /** Name of the Harbor pull Secret in it. */
  imagePullSecret: string;
  /** The namespace and its Secrets: the app's objects wait for them. */
  resources: pulumi.Resource[];
}

export class AppNamespaces extends pulumi.ComponentResource {
  private readonly byNamespace = new Map<string, AppNamespace>();
  private readonly accessKeys = new Map<string, { secretName: string; key: string; secret: pulumi.Resource }>();

  constructor(name: string, args: AppNamespacesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform:k8s:AppNamespaces", name, {}, opts);
    for (const [app, cfg] of Object.entries(args.apps)) {
      const ns = namespaceOf(app, cfg);
      if (!this.byNamespace.has(ns)) {
        const nsObj = createObject(name, appNamespace(ns, args.env, args.namespaceLabels?.[ns]) as PlainObject, inCluster(this, args.cluster));
        // Built inside apply and wrapped whole as a secret: the password never
        // appears in plain inputs, and the JSON holding it is itself secret.
        const stringData = pulumi.secret(
          pulumi.output(args.harborPassword).apply((p) => ({ ".dockerconfigjson": dockerConfigJson(args.harbor.registry, args.harbor.username, p) })),
        );
        const pull = createObject(
          `${name}-${ns}`,
          { ...(harborPullSecret(ns, args.harbor.registry) as PlainObject), stringData },
          inCluster(this, args.cluster, { dependsOn: [nsObj] }),
        );
        this.byNamespace.set(ns, { name: ns, imagePullSecret: HARBOR_PULL_SECRET, resources: [nsObj, pull] });
      }
      const key = args.apolloAccessKeys?.[app];
      if (key !== undefined) {
        const nsObj = this.byNamespace.get(ns)!.resources[0];
        const stringData = pulumi.secret(pulumi.output(key).apply((k) => ({ [APOLLO_ACCESS_KEY_KEY]: k })));
        const secret = createObject(
          `${name}-${ns}`,
          { ...(apolloAccessKeySecret(app, ns) as PlainObject), stringData },
          inCluster(this, args.cluster, { dependsOn: [nsObj] }),
        );
        this.accessKeys.set(app, { secretName: apolloSecretName(app), key: APOLLO_ACCESS_KEY_KEY, secret });
      }
    }
    this.registerOutputs({ namespaces: [...this.byNamespace.keys()] });
  }

  /** Every namespace's resources (the namespace first), for what must wait for them. */
  get resources(): pulumi.Resource[] {
    return [...this.byNamespace.values()].flatMap((n) => n.resources);
  }

  /** The namespace an app runs in; throws for an app this component was not given. */
  forApp(app: string, cfg: AppConfig): AppNamespace {
    const ns = this.byNamespace.get(namespaceOf(app, cfg));
    if (!ns) throw new Error(`AppNamespaces: no namespace for app ${app} (was it in platform:apps?)`);
    return ns;
  }

  /** The app's Apollo access-key Secret, if it has one. */
  accessKeyFor(app: string): { secretName: string; key: string; secret: pulumi.Resource } | undefined {
    return this.accessKeys.get(app);
  }
}

export interface JavaAppArgs {
  /** The cluster's provider and readiness gate; every object goes through it. */
  cluster: ClusterAccess;
  /** The app's name (`platform:apps.<app>`): object names and Apollo's APP_ID. */
  app: string;
  /** The app's config: `platform:apps.<app>`, passed whole (required; no default). */
  config: AppConfig;
  /** The stack; gives Apollo's ENV (DEV/FAT/UAT/PRO) and the `platform/env` label. */
  env: Env;
  /** The cluster's name, injected as IDC (prod1 and prod2 share ENV=PRO); required, no default. */
  clusterName: string;
  /** The env's Apollo meta server (`platform:apollo.meta`); required, no default. */
  apolloMeta: string;
  /** The namespaces, with their pull Secrets and the Apollo access-key Secrets. */
  namespaces: AppNamespaces;
  /** The cluster's node pools (`platform:nodePools`); the app's `pool` is looked up here. Default none (no placement). */
  nodePools?: NodePoolConfig[];
  /** `platform:images.registry`: the log-tail sidecar image through the mirror. Default none (upstream). */
  imageMirror?: string;
  /** The SkyWalking agent (the cluster's OAP, the stack's sampling); default none (not traced). `platform:apps.<app>.tracing: false` leaves it out. */
  agent?: AgentSettings;
  /** The token the agent presents to OAP (`platform:tracingAgentToken`, a Pulumi secret), into a Secret in the app's namespace. Default none (no token). */
  agentToken?: pulumi.Input<string>;
  /** IngressClass the app's Ingresses name. Default `nginx` (INGRESS_CLASS, the cluster's global ingress-nginx). */
  ingressClass?: string;
  /**
   * The ingress controller's release: the app's Ingresses pass its admission webhook (failurePolicy Fail), so they
   * wait for it; the Deployment, Service and the rest need no controller. Default none.
   */
  ingressController?: pulumi.Resource;
  /**
   * Prod only: the tags pre validated for this app (pre's tag and history, from pre's deployed output through a
   * StackReference: components/fleet/validatedImages.ts), recorded as the
   * component's input so the pack's validated-in-pre rule can hold the Deployments' tags against them (T21). Default none.
   */
  validatedInPre?: string[];
}

/** Deployments of big apps roll out in waves (24 JVMs, 6 at a time, up to 150 s start each): more than Pulumi's default 10-minute wait. */
const ROLLOUT_TIMEOUT = "30m";

export class JavaApp extends pulumi.ComponentResource {
  /** The stable Deployment's and Service's name. */
  readonly serviceName: string;
  readonly namespace: string;
  /** Each Deployment's id: known once the provider saw it roll out (a failed rollout fails the update first). */
  readonly rollouts: pulumi.Output<string>[] = [];
  /**
   * Each Deployment's container images as the provider reports them after the update (its outputs'
   * spec.template.spec.containers[*].image), by track: what pre's list records (components/fleet/validatedImages.ts).
   * None while its outputs show no finished rollout (rolloutFinished): a failed rollout's stored outputs run the
   * new tag too, and a later `pulumi up --target` that skips the Deployment hands them back unchanged.
   */
  readonly deployedImages: { track: "stable" | "canary"; images: pulumi.Output<string[]> }[] = [];

  constructor(name: string, args: JavaAppArgs, opts?: pulumi.ComponentResourceOptions) {
    // The app's image is an input too (beside its output): validated-in-pre compares every container's whole repository with it.
    super(
      "platform:k8s:JavaApp",
      name,
      args.validatedInPre ? { app: args.app, validatedInPre: args.validatedInPre, image: `${args.config.image}:${args.config.tag}` } : {},
      opts,
    );
    const apolloEnv = apolloEnvOf(args.env);
    if (!apolloEnv) throw new pulumi.ResourceError(`platform:apps.${args.app}: the ${args.env} stack runs no apps (no Apollo environment)`, this);
    const ns = args.namespaces.forApp(args.app, args.config);
    const accessKey = args.namespaces.accessKeyFor(args.app);
    const settings: JavaAppSettings = {
      ...args.config,
      name: args.app,
      namespace: ns.name,
      env: args.env,
      apolloEnv,
      apolloMeta: args.apolloMeta,
      idc: args.clusterName,
      imagePullSecret: ns.imagePullSecret,
      apolloAccessKey: accessKey && { secretName: accessKey.secretName, key: accessKey.key },
      ingressClass: args.ingressClass,
      logTailImage: mirrored(LOG_TAIL_IMAGE, args.imageMirror),
      placement: placementFor(args.config.pool, args.nodePools ?? []),
      agent: args.agent,
    };
    // Config validation ran these rules already; here they are an assertion, before any child is registered.
    const problems = javaAppProblems(settings);
    if (problems.length > 0) throw new pulumi.ResourceError(problems.join("\n"), this);
    const dependsOn = [...ns.resources, ...(accessKey ? [accessKey.secret] : [])];
    if (agentOf(settings) && args.agentToken !== undefined) {
      const tokenSecret = agentTokenSecret(settings);
      // Wrapped whole as a secret: the token never appears in plain inputs.
      const stringData = pulumi.secret(pulumi.output(args.agentToken).apply((t) => ({ [AGENT_TOKEN_KEY]: t })));
      dependsOn.push(createObject(name, { ...(tokenSecret as PlainObject), stringData }, inCluster(this, args.cluster, { dependsOn: ns.resources })));
      settings.agent = { ...settings.agent!, authSecret: { name: tokenSecret.metadata.name, key: AGENT_TOKEN_KEY } };
    }
    const objects = javaAppObjects(settings);
    for (const obj of objects) {
      const extra: pulumi.CustomResourceOptions = {
        dependsOn: obj.kind === "Ingress" && args.ingressController ? [...dependsOn, args.ingressController] : dependsOn,
      };
      if (obj.kind === "Deployment") extra.customTimeouts = { create: ROLLOUT_TIMEOUT, update: ROLLOUT_TIMEOUT };
      const made = createObject(name, obj as PlainObject, inCluster(this, args.cluster, extra));
      if (obj.kind === "Deployment") {
        this.rollouts.push(made.id);
        const d = made as k8s.apps.v1.Deployment;
        this.deployedImages.push({
          track: obj.metadata.name === settings.name ? "stable" : "canary",
          images: pulumi
            .all([d.metadata, d.spec, d.status])
            .apply(([metadata, spec, status]) =>
              rolloutFinished({ metadata, spec, status } as DeploymentState) ? (spec?.template?.spec?.containers ?? []).map((c) => c.image) : [],
            ),
        });
      }
    }
    this.serviceName = settings.name;
    this.namespace = settings.namespace;
    // app and validatedInPre are outputs too: CrossGuard's stack policies (validated-in-pre) see a
    // component's registered outputs, never its inputs (components/preview/policyCheck.ts).
    this.registerOutputs({
      serviceName: this.serviceName,
      namespace: this.namespace,
      image: `${settings.image}:${settings.tag}`,
      ...(args.validatedInPre ? { app: args.app, validatedInPre: args.validatedInPre } : {}),
    });
  }
}

/** The pool's labels and taints, for an app placed on it (config validation checked the pool exists). */
export function placementFor(pool: string | undefined, pools: NodePoolConfig[]): Placement | undefined {
  if (pool === undefined) return undefined;
  const p = pools.find((x) => x.name === pool);
  if (!p) throw new Error(`platform:apps: no node pool "${pool}" in platform:nodePools`);
  return { nodeSelector: { ...(p.labels ?? {}) }, taints: p.taints ?? [] };
}
