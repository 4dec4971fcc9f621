// One stack = one cluster. Pulumi calls the exported function: it loads and
// validates the stack's config (throwing before any resource is registered),
// composes the components and returns the stack outputs. The offline preview
// calls the very same function under the SDK's mock runtime.
import * as pulumi from "@pulumi/pulumi";
import { BackupBucket } from "./components/cluster/backupBucket";
import { etcdBackupBucket } from "./components/cluster/backupBucketName";
import { Cluster } from "./components/cluster/cluster";
import { DEFAULT_ETCD_BACKUP } from "./components/cluster/etcdBackup";
import { backupStatements, MasterRole } from "./components/cluster/masterRole";
import { WorkerRole } from "./components/cluster/workerRole";
import { AdmissionPolicies } from "./components/k8s/admissionPolicy";
import { DiskCsi, diskCsiScopeTag, diskStatements, ESSD_STORAGE_CLASS } from "./components/k8s/diskCsi";
import { MetricsServer } from "./components/k8s/metricsServer";
import { loadStackConfig } from "./components/config/stackConfig";
import { PROJECT_DIR } from "./components/config/stackFiles";
import {
  deployedTag,
  ownReferenceName,
  prePinProblem,
  preStackRef,
  readOwnOutputs,
  readPreOutputs,
  retierProblem,
  runningImages,
  unvalidatedTags,
  validatedFrom,
  validatedImages,
  validatedTagsFor,
} from "./components/fleet/validatedImages";
import { tierOf } from "./policies/fleet";
import { FleetLinks } from "./components/fleet/fleet";
import { hostFacts } from "./components/fleet/hostLookup";
import { memberRegistrations } from "./components/fleet/memberRegistrations";
import { Flannel } from "./components/k8s/flannel";
import { Kubesphere } from "./components/fleet/kubesphere";
import { ConsoleHost, ConsoleProjects, workspaceLabels } from "./components/fleet/console";
import { placeWorkspaces } from "./components/fleet/consoleSchema";
import { AppNamespaces, JavaApp, namespaceOf } from "./components/apps/javaApp";
import { GlobalIngress } from "./components/k8s/ingress";
import { Logging } from "./components/k8s/logging";
import { LogSearch, logSearchPlan } from "./components/fleet/logSearch";
import { Monitoring } from "./components/k8s/monitoring";
import { AGENT_IMAGE, Tracing, tracingSettings } from "./components/k8s/tracing";
import { mirrored } from "./components/k8s/images";
import { AppObservability } from "./components/apps/appObservability";
import { Network } from "./components/network/network";
import { managementRanges } from "./components/network/apiServerSources";

export = async () => {
  const config = loadStackConfig();
  const tags = { "platform:cluster": config.stack, "platform:env": config.env, "managed-by": "pulumi" };
  // The host holds every member's kubesphere-host credential: its nodes, SLBs and PKI are protected
  // like prod's, and the pack judges it with the prod rules (docs/threat-model.md, T20).
  const guardedLikeProd = config.isProd || config.stack === "host";

  // Members read nothing from the host's state: its static facts come from its stack file, the rest from
  // data sources (components/fleet/hostLookup.ts). The host reads from each KubeSphere member it lists only
  // that member's credential for it and its api-server (components/fleet/memberRegistrations.ts).
  const host = config.hostStack ? hostFacts(config.hostStack, config.stack) : undefined;
  const members = config.kubesphere?.enabled && !host ? memberRegistrations(config.kubesphere.members ?? []) : [];
  // Prod runs only what pre validated (T21): pre's deployed list, read from its output through a StackReference
  // prod -> pre; pre's list grows only by tags it deployed (components/fleet/validatedImages.ts).
  // Both are read and checked before any other resource is registered: `pulumi up --skip-preview` applies every
  // change before CrossGuard's stack policies run.
  const hasApps = Object.keys(config.apps ?? {}).length > 0;
  const tier = tierOf(config.stack, PROJECT_DIR);
  // The CI run (GITHUB_RUN_ID): pre records it on the tags it first lists, prod refuses a tag pre first listed in its own run.
  const runId = process.env.GITHUB_RUN_ID || undefined;
  const preRef = hasApps && (config.isProd || tier === "pre") ? preStackRef(pulumi.getOrganization(), pulumi.getProject(), PROJECT_DIR) : undefined;
  // Every stack reads its own last outputs (one StackReference to itself): the tier it was deployed with (a stack
  // keeps it: T21), pre what it listed, prod what it runs and which pre it read. Prod's read of pre comes first.
  const ownRef = `${pulumi.getOrganization()}/${pulumi.getProject()}/${config.stack}`;
  const [preOutputs, own] = await Promise.all([
    preRef && config.isProd ? readPreOutputs(preRef) : undefined,
    readOwnOutputs(ownReferenceName(tier, hasApps), ownRef),
  ]);
  const retiered = retierProblem(config.stack, own.tier, tier);
  if (retiered) throw new pulumi.RunError(retiered);
  // Which stack is pre is pinned: prod refuses another pre than the one its last deploy read (T21).
  const repinned = preOutputs ? prePinProblem(config.stack, own.validatedIn, preRef!) : undefined;
  if (repinned) throw new pulumi.RunError(repinned);
  const preTags = preOutputs ? validatedFrom(preOutputs, preRef!, config.stack) : undefined;
  const running = preTags ? own.running : undefined;
  const notValidated = preTags ? unvalidatedTags(config.apps, preTags, preRef!, config.stack, running, runId) : [];
  // pre: what its last deploy listed (undefined when it has no such output: its stack file's history seeds the list).
  const previouslyValidated = preRef && !config.isProd ? own.validated : undefined;
  /** The apps' Deployments' ids: pre's list waits for them, so a rollout that fails adds no tag to it. */
  const rollouts: pulumi.Output<string>[] = [];
  /** Per app, its Deployments' images as deployed (stable and canary): pre lists the stable one's tag. */
  const deployed: Record<string, pulumi.Output<string | undefined>> = {};
  if (notValidated.length > 0) throw new pulumi.RunError(`${config.stack} runs only what pre validated (T21):\n- ${notValidated.join("\n- ")}`);

  const network = new Network(config.stack, {
    clusterName: config.stack,
    network: config.network,
    // Who else reaches the api-server front: the host's VPC (where the CI runners are too) and the data centre.
    managementCidrs: managementRanges(host?.vpcCidr, config.datacenter?.subnets ?? []),
    tags,
  });

  // etcd snapshots: a bucket per stack, written by the masters through their instance role.
  const backup = { ...DEFAULT_ETCD_BACKUP, ...config.etcdBackup };
  const bucketName = etcdBackupBucket(config.etcdBackup?.bucket, config.stack);
  const backupBucket = new BackupBucket(`${config.stack}-etcd-backup`, {
    clusterName: config.stack,
    bucketName,
    retentionDays: backup.retentionDays,
    protect: config.isProd,
    tags,
  });
  const masterRoleName = `${config.stack}-masters`;

  const cluster = new Cluster(config.stack, {
    clusterName: config.stack,
    region: config.region,
    network,
    kubernetes: config.kubernetes,
    ranges: config.network,
    masters: config.masters,
    nodePools: config.nodePools,
    osImageId: config.osImageId,
    apiServerFront: config.apiServerFront,
    deletionProtection: guardedLikeProd,
    tags,
    // The disk CSI driver may touch only the disks and instances that carry its scope tag (k8s/diskCsi.ts).
    workerTags: (config.diskCsi?.enabled ?? false) ? diskCsiScopeTag(config.stack) : undefined,
    secretStore: {
      kmsUrl: config.secretStore.endpoint ?? `https://kms-vpc.${config.region}.aliyuncs.com`,
      kmsInstanceId: config.secretStore.kmsInstanceId,
      kmsKeyId: config.secretStore.kmsKeyId,
      forceDelete: config.secretStore.forceDelete ?? !guardedLikeProd,
    },
    masterRoleName,
    containerdVersion: config.kubernetes.containerdVersion,
    etcdBackup: {
      clusterName: config.stack,
      bucket: bucketName,
      // The internal endpoint: no NAT traffic, no public bandwidth fees.
      ossEndpoint: `oss-${config.region}-internal.aliyuncs.com`,
      region: config.region,
      ramRole: masterRoleName,
      schedule: backup.schedule,
      localCopies: backup.localCopies,
    },
  });
  // ECS takes one role per instance. The masters' role holds the secret store, the backup and the worker join token only (on a
  // master only k8s-metadata.slice reaches the metadata service, components/cluster/bootstrapUnits.ts);
  // the disk CSI driver runs on the workers only, with the workers' role (components/k8s/diskCsi.ts).
  const diskCsiOn = config.diskCsi?.enabled ?? false;
  new MasterRole(
    `${config.stack}-master-role`,
    {
      clusterName: config.stack,
      statements: {
        "etcd-backup": backupStatements(bucketName, backupBucket.prefix),
        "secret-store": cluster.secretStoreStatements,
        "join-token": cluster.masterJoinTokenStatements,
      },
      instanceIds: cluster.masters.instanceIds,
    },
    { dependsOn: [backupBucket] },
  );

  // The VPN gateway takes DHCP addresses in vswitches[0] and [1], where the masters, the
  // HAProxies and the api-server SLB hold fixed ones (controlPlaneAddresses.ts): it waits
  // until those are taken. Nothing needs the links to boot, so the wait costs nothing.
  // (The NAT gateway cannot wait: every VM needs its egress while it boots.)
  const fleet = new FleetLinks(`${config.stack}-fleet`, {
    clusterName: config.stack,
    network,
    podCidr: config.network.podCidr,
    host,
    datacenter: config.datacenter,
    fixedAddressHolders: [cluster.masters, cluster.front],
    tags,
  });
  // The host's end is looked up by name in its region; a look-up that fails stops the program here, with its message.
  await fleet.hostLink;

  // Every worker reads its join token with this role (components/cluster/workerToken.ts); the disk CSI plugins use it where enabled.
  new WorkerRole(`${config.stack}-worker-role`, {
    clusterName: config.stack,
    statements: {
      "join-token": cluster.workerJoinTokenStatements,
      ...(diskCsiOn && { "csi-disk-controller": diskStatements("controller", config.stack), "csi-disk-node": diskStatements("node", config.stack) }),
    },
    workers: cluster.workerInstances(),
  });

  // Everything inside the cluster goes through its provider and waits for its readiness gate.
  const access = { provider: cluster.provider, readiness: cluster.readiness };
  // Every image the platform runs comes through this mirror (components/k8s/images.ts).
  const imageMirror = config.images?.registry;
  const diskCsi = diskCsiOn
    ? new DiskCsi(`${config.stack}-disk-csi`, { cluster: access, region: config.region, imageMirror, clusterName: config.stack })
    : undefined;
  // Routes to the metadata service and host access outside the platform's own workloads are refused by the api-server.
  new AdmissionPolicies(`${config.stack}-admission`, { cluster: access, vpcCidr: config.network.vpcCidr });
  new MetricsServer(`${config.stack}-metrics`, { cluster: access, clusterName: config.stack, vpcCidr: config.network.vpcCidr, imageMirror });
  const kubesphere = config.kubesphere?.enabled
    ? new Kubesphere(`${config.stack}-kubesphere`, {
        cluster: access,
        clusterName: config.stack,
        role: host ? "member" : "host",
        version: config.kubesphere.version,
        imageMirror,
        hostAccess: host ? { server: cluster.server, caCertPem: cluster.pki.caCertPem, caKeyPem: cluster.pki.caKeyPem } : undefined,
        registration: host ? undefined : { hostKubeconfig: cluster.kubeconfig, members },
      })
    : undefined;
  // Console (issue #20): the host's workspaces, role bindings, identity provider and extensions (components/fleet/console.ts).
  if (kubesphere && !host && (config.workspaces || config.console)) {
    new ConsoleHost(`${config.stack}-console`, {
      cluster: access,
      workspaces: placeWorkspaces(config.workspaces ?? {}, config.kubesphere?.members),
      console: config.console,
      identityProviderSecret: config.secrets.identityProviderSecret,
      kubesphere,
    });
  }
  new Flannel(`${config.stack}-flannel`, { cluster: access, podCidr: config.network.podCidr, imageMirror });
  const logging = new Logging(`${config.stack}-logging`, {
    cluster: access,
    clusterName: config.stack,
    output: config.logging,
    password: config.secrets.loggingPassword,
    imageMirror,
  });
  // Log search (issue #20): read access to this cluster's logs in the company's Kibana, per workspace (components/fleet/logSearch.ts).
  if (config.logSearch && config.projects && config.hostWorkspaces && config.secrets.logSearchApiKey) {
    new LogSearch(`${config.stack}-log-search`, {
      cluster: access,
      plan: logSearchPlan(config.stack, config.logSearch, config.logging, config.projects, config.hostWorkspaces),
      apiKey: config.secrets.logSearchApiKey,
      after: [logging],
      imageMirror,
    });
  }
  const monitoring = new Monitoring(`${config.stack}-monitoring`, {
    cluster: access,
    // Prometheus' claim needs the StorageClass when it is the driver's; only the release waits for it.
    volumeClass: diskCsi && config.monitoring?.storageClass === ESSD_STORAGE_CLASS ? diskCsi.storageClass : undefined,
    imageMirror,
    clusterName: config.stack,
    dingtalkWebhook: config.secrets.dingtalkWebhook,
    settings: config.monitoring,
    etcdBackupSchedule: backup.schedule,
    clientCertificates: [
      { cert: "admin", resource: `${config.stack}-pki-admin`, usedBy: "the stack's admin kubeconfig (output `kubeconfig`)", certPem: cluster.pki.adminCertPem },
      ...(kubesphere?.hostCertPem
        ? [
            {
              cert: "kubesphere-host",
              resource: `${config.stack}-kubesphere-host-access-cert`,
              usedBy: "the KubeSphere host (its console and multi-cluster view of this member)",
              certPem: kubesphere.hostCertPem,
            },
          ]
        : []),
    ],
  });
  // Dashboards (fleet + one per app) and the apps' SLO alerts.
  new AppObservability(`${config.stack}-observability`, {
    cluster: access,
    clusterName: config.stack,
    apps: config.apps ?? {},
    grafanaUrl: config.monitoring?.grafanaUrl,
    // Tracing (issue #32): app panels link to the cluster's SkyWalking UI when it has an Ingress.
    traces: config.tracing?.ui && {
      url: `https://${config.tracing.ui.host}/`,
      apps: Object.entries(config.apps ?? {})
        .filter(([, a]) => a.tracing !== false)
        .map(([app]) => app),
    },
    monitoringRelease: monitoring.release,
  });
  const ingress = new GlobalIngress(`${config.stack}-ingress`, {
    // The chart's ServiceMonitor needs the Prometheus operator's CRDs.
    cluster: { ...access, after: [monitoring.release] },
    clusterName: config.stack,
    ingress: config.ingress,
    network,
    workers: cluster.workerInstances(),
    production: config.isProd,
    deletionProtection: guardedLikeProd,
    imageMirror,
    tags,
  });
  // Apps: each namespace once (Harbor pull Secret, Apollo access keys), then one JavaApp per app.
  // Config validation guarantees apollo, harbor and harborPassword whenever there are apps.
  if (config.apps && Object.keys(config.apps).length > 0 && config.apollo && config.harbor && config.secrets.harborPassword) {
    const namespaces = new AppNamespaces(`${config.stack}-apps`, {
      cluster: access,
      env: config.stack,
      apps: config.apps,
      harbor: config.harbor,
      harborPassword: config.secrets.harborPassword,
      apolloAccessKeys: config.apolloAccessKeys,
      // Console (issue #20): each app namespace in its workspace (platform:projects).
      namespaceLabels: Object.fromEntries(Object.entries(config.projects ?? {}).map(([ns, ws]) => [ns, workspaceLabels(ws)])),
    });
    // Console: the project role bindings, where this member's ks-apiserver authorizes (components/fleet/console.ts).
    if (kubesphere && host && config.projects && config.hostWorkspaces) {
      new ConsoleProjects(`${config.stack}-console`, {
        cluster: access,
        env: config.stack,
        projects: config.projects,
        workspaces: config.hostWorkspaces,
        after: namespaces.resources,
      });
    }
    // Tracing (issue #32): this cluster's SkyWalking backend; every app's agent reports to it (docs/tracing.md).
    const tracing = config.tracing
      ? new Tracing(`${config.stack}-tracing`, {
          cluster: access,
          // The UI's Ingress (platform:tracing.ui) passes ingress-nginx's admission webhook; the rest needs no controller.
          ingressController: ingress.release,
          settings: tracingSettings(config.stack, config.tracing, config.logging, imageMirror),
          clusterName: config.stack,
          monitoringRelease: monitoring.release,
          // Its own store's password when platform:tracing.elasticsearch is set, else the logging store's.
          esPassword: config.tracing.elasticsearch ? config.secrets.tracingElasticsearchPassword : config.secrets.loggingPassword,
          agentToken: config.secrets.tracingAgentToken,
          tracedApps: Object.entries(config.apps)
            .filter(([, a]) => a.tracing !== false)
            .map(([app, a]) => ({ app, namespace: namespaceOf(app, a) })),
        })
      : undefined;
    const agent = tracing && { image: mirrored(AGENT_IMAGE, imageMirror), oapAddress: tracing.oapAddress, sampleNPer3Secs: config.tracing?.sampleNPer3Secs };
    // Prod runs only what pre validated: the pack checks every container of the apps' workloads against this (T21).
    for (const [app, appConfig] of Object.entries(config.apps)) {
      const javaApp = new JavaApp(`${config.stack}-${app}`, {
        cluster: access,
        // Ingresses pass ingress-nginx's admission webhook: only they wait for the controller.
        ingressController: ingress.release,
        app,
        config: appConfig,
        env: config.stack,
        clusterName: config.stack,
        apolloMeta: config.apollo.meta,
        namespaces,
        nodePools: config.nodePools,
        imageMirror,
        agent,
        agentToken: config.secrets.tracingAgentToken,
        ...(preTags ? { validatedInPre: validatedTagsFor(preTags, app, appConfig.image) } : {}),
      });
      rollouts.push(...javaApp.rollouts);
      // Every Deployment's images are waited for (the canary's too); the stable one's tag of the app's repository is pre's current one.
      deployed[app] = pulumi
        .all(javaApp.deployedImages.map((d) => d.images))
        .apply((all) => deployedTag(all[javaApp.deployedImages.findIndex((d) => d.track === "stable")] ?? [], appConfig.image));
    }
  }

  return {
    // No member reads these (they read the host's stack file and data sources); for operators.
    region: config.region,
    vpcCidr: config.network.vpcCidr,
    podCidr: config.network.podCidr,
    vpnGatewayId: fleet.vpnGateway.id,
    vpnPublicIp: fleet.vpnGateway.publicIp,
    vpnBackupPublicIp: fleet.vpnGateway.backupPublicIp,
    routeTableId: network.routeTableId,
    ...(fleet.datacenterPsk ? { datacenterPsk: fleet.datacenterPsk } : {}),
    ...(kubesphere?.jwtSecret ? { kubesphereJwtSecret: kubesphere.jwtSecret } : {}),
    // What the host reads from a member through its StackReference (components/fleet/memberRegistrations.ts).
    apiServer: cluster.server,
    ...(kubesphere?.hostKubeconfig ? { kubesphereHostKubeconfig: kubesphere.hostKubeconfig } : {}),
    // The readiness gates' count (components/cluster/readiness.ts): workers short show here.
    clusterNodes: {
      mastersReady: cluster.nodesJoined.mastersReady,
      workersJoined: cluster.nodesJoined.workersJoined,
      workersExpected: cluster.nodesJoined.workersExpected,
      workersMissing: cluster.nodesJoined.workersMissing,
      message: cluster.nodesJoined.message,
    },
    kubeconfig: cluster.kubeconfig,
    // What prod reads from pre through its StackReference (components/fleet/validatedImages.ts, T21).
    ...(tier === "pre"
      ? {
          validatedImages: pulumi
            .all([pulumi.all(rollouts), pulumi.all(deployed)])
            .apply(([, d]) => validatedImages(config.apps, previouslyValidated, d, runId)),
        }
      : {}),
    // The tier this stack was deployed with: its next run refuses another one, and prod reads pre's (T21).
    tier,
    // What a prod stack runs, once rolled out: its next run needs pre's word only for a changed tag (T21).
    ...(preTags ? { runningImages: pulumi.all(rollouts).apply(() => runningImages(config.apps)) } : {}),
    // The pre a prod stack read: its next run refuses another one (T21).
    ...(preTags ? { validatedIn: preRef } : {}),
    ingressAddress: ingress.slbAddress,
    vpcId: network.vpcId,
    egressIp: network.egressIp,
  };
};
