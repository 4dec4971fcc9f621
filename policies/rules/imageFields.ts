// Images the pack reads outside containers: the image fields of known custom resources (an operator
// pulls them), and the images a Helm chart pulls by default. Both tables are read from upstream source
// at a pinned version; trusted-sources (sources.ts) judges each against the pack config's lists.
import { arr, isObj, UNKNOWN } from "./policy";
import { subchartOn, turnsOn } from "./threats";

/** A custom resource's field holding an image (or registry URL) its controller pulls, outside any container shape. */
export interface CustomResourceImageField {
  group: string;
  kinds: string[];
  /** Dotted path from the object's root; `[]` walks every element of a list. */
  path: string;
  /** Where the field is defined upstream (file, tag, commit). */
  source: string;
  /** A URL whose `docker://` scheme names a registry image (CDI's registry source). */
  url?: true;
  /** A registry (host or host/path) the operator puts before its own images, judged as a prefix (KubeVirt's imageRegistry). */
  registry?: true;
}

const PO = "prometheus-operator v0.92.1 (5d9ff4a3, the appVersion of kube-prometheus-stack 87.12.5)";
const KV = "kubevirt v1.9.0 (79d34c17) staging/src/kubevirt.io/api/core/v1";
const CDI = "containerized-data-importer v1.66.0 (938af7c5) staging/src/kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1/types.go";
const VMI_SPEC_IMAGES = ["volumes[].containerDisk.image", "domain.firmware.kernelBoot.container.image"];

/**
 * The known custom-resource image fields, each read from its upstream type:
 * - monitoring.coreos.com (PO): Alertmanager spec.image and spec.baseImage (pkg/apis/monitoring/v1/alertmanager_types.go:93, 116);
 *   Prometheus and PrometheusAgent spec.image (CommonPrometheusFields, prometheus_types.go:247; PrometheusAgentSpec embeds it,
 *   v1alpha1/prometheusagent_types.go:121), Prometheus spec.baseImage (prometheus_types.go:1200) and its Thanos sidecar's
 *   spec.thanos.image and spec.thanos.baseImage (ThanosSpec, prometheus_types.go:1574, 1593); ThanosRuler spec.image (thanos_types.go:97).
 * - kubevirt.io (KV): a VirtualMachineInstance's `volumes[].containerDisk.image` (schema.go:968, ContainerDiskSource.Image :1064) and
 *   `domain.firmware.kernelBoot.container.image` (schema.go:231, 516, KernelBootContainer.Image :307), in a VirtualMachine's and a
 *   VirtualMachineInstanceReplicaSet's `spec.template.spec` (types.go:2030, 1675); a VirtualMachine's
 *   `spec.dataVolumeTemplates[].spec.source.registry.url` (types.go:2034).
 * - kubevirt.io (KV): the KubeVirt CR's `spec.imageRegistry` (KubeVirtSpec.ImageRegistry, types.go:2551: the registry virt-operator pulls
 *   every KubeVirt component image from), a registry, judged as a prefix.
 * - pool.kubevirt.io (KV pool/v1alpha1/types.go: VirtualMachinePoolSpec.VirtualMachineTemplate `virtualMachineTemplate`, whose `spec`
 *   is a core/v1 VirtualMachineSpec): a VirtualMachinePool's VM template, read as a VirtualMachine's.
 * - cdi.kubevirt.io (CDI): a DataImportCron's `spec.template` is a DataVolume (DataImportCronSpec.Template, types.go:611-613), so its
 *   `spec.template.spec.source.registry.url` is read as a DataVolume's; DataVolume spec.source.registry.url (DataVolumeSource.Registry :137, DataVolumeSourceRegistry.URL :202,
 *   "starting with the scheme: docker, oci-archive"); VolumeImportSource spec.source.registry.url (ImportSourceType.Registry :740).
 * Tekton and Argo Workflows keep their images in containers (steps, templates), which containersIn reads already; Argo CD's
 * Application names a chart or manifests, not an image, and is refused as a delegated installer (pod-privileges).
 */
export const CUSTOM_RESOURCE_IMAGE_FIELDS: CustomResourceImageField[] = [
  { group: "monitoring.coreos.com", kinds: ["Alertmanager"], path: "spec.image", source: `${PO} alertmanager_types.go:93` },
  { group: "monitoring.coreos.com", kinds: ["Alertmanager"], path: "spec.baseImage", source: `${PO} alertmanager_types.go:116` },
  { group: "monitoring.coreos.com", kinds: ["Prometheus", "PrometheusAgent"], path: "spec.image", source: `${PO} prometheus_types.go:247` },
  { group: "monitoring.coreos.com", kinds: ["Prometheus"], path: "spec.baseImage", source: `${PO} prometheus_types.go:1200` },
  { group: "monitoring.coreos.com", kinds: ["Prometheus"], path: "spec.thanos.image", source: `${PO} prometheus_types.go:1574` },
  { group: "monitoring.coreos.com", kinds: ["Prometheus"], path: "spec.thanos.baseImage", source: `${PO} prometheus_types.go:1593` },
  { group: "monitoring.coreos.com", kinds: ["ThanosRuler"], path: "spec.image", source: `${PO} thanos_types.go:97` },
  ...VMI_SPEC_IMAGES.map((p) => ({ group: "kubevirt.io", kinds: ["VirtualMachineInstance"], path: `spec.${p}`, source: `${KV}/schema.go` })),
  ...VMI_SPEC_IMAGES.map((p) => ({
    group: "kubevirt.io",
    kinds: ["VirtualMachine", "VirtualMachineInstanceReplicaSet"],
    path: `spec.template.spec.${p}`,
    source: `${KV}/types.go, schema.go`,
  })),
  {
    group: "kubevirt.io",
    kinds: ["VirtualMachine"],
    path: "spec.dataVolumeTemplates[].spec.source.registry.url",
    source: `${KV}/types.go:2034; ${CDI}:202`,
    url: true,
  },
  { group: "cdi.kubevirt.io", kinds: ["DataVolume"], path: "spec.source.registry.url", source: `${CDI}:137, 202`, url: true },
  { group: "cdi.kubevirt.io", kinds: ["DataImportCron"], path: "spec.template.spec.source.registry.url", source: `${CDI}:611-613, 202`, url: true },
  { group: "kubevirt.io", kinds: ["KubeVirt"], path: "spec.imageRegistry", source: `${KV}/types.go:2551`, registry: true },
  ...VMI_SPEC_IMAGES.map((p) => ({
    group: "pool.kubevirt.io",
    kinds: ["VirtualMachinePool"],
    path: `spec.virtualMachineTemplate.spec.template.spec.${p}`,
    source: "kubevirt staging/src/kubevirt.io/api/pool/v1alpha1/types.go VirtualMachinePoolSpec, VirtualMachineTemplateSpec",
  })),
  {
    group: "pool.kubevirt.io",
    kinds: ["VirtualMachinePool"],
    path: "spec.virtualMachineTemplate.spec.dataVolumeTemplates[].spec.source.registry.url",
    source: `kubevirt pool/v1alpha1/types.go; ${CDI}:202`,
    url: true,
  },
  { group: "cdi.kubevirt.io", kinds: ["VolumeImportSource"], path: "spec.source.registry.url", source: `${CDI}:740, 202`, url: true },
];

/** `kubernetes:monitoring.coreos.com/v1:Prometheus` -> group and Kind (a `*Patch` as the Kind it patches); `core` for the core group. */
export function groupKindOf(type: string): { group: string; kind: string } | undefined {
  const m = /^kubernetes:([^/:]+)\/[^:]+:(.+)$/.exec(type);
  return m ? { group: m[1], kind: m[2].replace(/(.)Patch$/, "$1") } : undefined;
}

/** The values at a dotted path (`[]` walks a list), each with its concrete path; an unknown on the way is returned as found. */
export function valuesAtPath(v: unknown, path: string): { path: string; value: unknown }[] {
  const walk = (x: unknown, keys: string[], at: string): { path: string; value: unknown }[] => {
    if (keys.length === 0) return x === undefined || x === null ? [] : [{ path: at, value: x }];
    if (x === UNKNOWN) return [{ path: at, value: UNKNOWN }];
    const [k, ...rest] = keys;
    const list = k.endsWith("[]");
    const key = list ? k.slice(0, -2) : k;
    if (!isObj(x)) return [];
    const next = x[key];
    const here = at === "" ? key : `${at}.${key}`;
    if (!list) return walk(next, rest, here);
    if (next === UNKNOWN) return [{ path: here, value: UNKNOWN }];
    return arr(next).flatMap((e, i) => walk(e, rest, `${here}[${i}]`));
  };
  return walk(v, path.split("."), "");
}

/** The images a custom resource names at the known fields, with their paths; a value unknown during preview is returned as UNKNOWN. */
export function customResourceImages(type: string, props: Record<string, unknown>): { path: string; image: string; registry?: true }[] {
  const gk = groupKindOf(type);
  if (gk === undefined) return [];
  return CUSTOM_RESOURCE_IMAGE_FIELDS.filter((f) => f.group === gk.group && f.kinds.includes(gk.kind)).flatMap((f) =>
    valuesAtPath(props, f.path).flatMap(({ path, value }) => {
      if (value === UNKNOWN) return [{ path, image: UNKNOWN }];
      if (typeof value !== "string" || value === "") return [];
      return [{ path, image: f.url ? value.replace(/^docker:\/\//i, "") : value, ...(f.registry ? { registry: f.registry } : {}) }];
    }),
  );
}

/** A value a chart reads, with its default at the pinned version (null: the chart's `nil`). */
export interface ChartValueSource {
  key: string;
  default: string | null;
}

/**
 * One image a chart pulls, as its templates compose it: the first non-empty of `registry` (each the value
 * the release sets there, else the chart's default), then `/`, then `repository`; `whole` (ingress-nginx's
 * `repository`) replaces the composition when set; `fixed` is a reference no value changes. `when`: only
 * when every switch is on (Go template truth, or `equals` a string), each at its default unless set.
 */
export interface ChartImage {
  /** The image's place in the values, named in reports. */
  path: string;
  registry?: ChartValueSource[];
  /** The registry when every `registry` source is empty (the CSI chart's region-derived host). */
  fallback?: string;
  repository?: ChartValueSource;
  /** Keys whose first non-empty string replaces the composition (ingress-nginx: `<path>.repository`, else `global.image.repository`). */
  whole?: string[];
  /** The whole reference the chart pulls when nothing is set, for the per-repository rule (ingress-nginx). */
  wholeDefault?: string;
  fixed?: string;
  /** `subchart`: a Chart.yaml dependency condition, on unless false (subchartOn); otherwise Go template truth or `equals`. */
  when?: { key: string; default: unknown; equals?: string; subchart?: true }[];
  /** A subchart whose images this table does not list: refused when on. */
  unlisted?: true;
  /** Only the repository is judged here (the registry is another row's): the CSI chart's other images. */
  repositoryOnly?: true;
}

const img = (path: string, registry: ChartValueSource[], repository: string, when?: ChartImage["when"]): ChartImage => ({
  path,
  registry,
  repository: { key: `${path}.repository`, default: repository },
  ...(when ? { when } : {}),
});
const on = (key: string, def: unknown) => ({ key, default: def });
/** A subchart's Chart.yaml `condition`: Helm keeps the subchart unless the value is the bool false (subchartOn). */
const sub = (key: string, def: unknown) => ({ key, default: def, subchart: true as const });
/** kube-prometheus-stack's `global.imageRegistry` (default ""), which its templates and subcharts put before an image's own registry. */
const KPS_GLOBAL = { key: "global.imageRegistry", default: "" };
const kpsImg = (path: string, registry: string, repository: string, when?: ChartImage["when"]) =>
  img(path, [KPS_GLOBAL, { key: `${path}.registry`, default: registry }], repository, when);
/** ks-core's `common.images.image` (templates/_images.tpl:40-55): the image's own registry, else `global.imageRegistry` (default docker.io). */
const KS_GLOBAL = { key: "global.imageRegistry", default: "docker.io" };
const ksImg = (path: string, repository: string, when?: ChartImage["when"]) =>
  img(path, [{ key: `${path}.registry`, default: "" }, KS_GLOBAL], repository, when);
/** metrics-server, fluent-bit, kubelet-csr-approver, skywalking: `repository:tag`, the repository a whole reference. */
const repoImg = (path: string, repository: string, when?: ChartImage["when"]): ChartImage => ({
  path,
  repository: { key: `${path}.repository`, default: repository },
  ...(when ? { when } : {}),
});
/**
 * ingress-nginx (templates/_helpers.tpl:244, controller-deployment.yaml:87-88, job-patch/job-createSecret.yaml:48):
 * `merge <image> global.image` (the image's own keys win, global.image fills the missing ones), then `repository`
 * whole or `registry/image`; so `global.image.repository` is a whole reference too when the image sets none.
 */
const nginxImg = (path: string, image: string, when?: ChartImage["when"]): ChartImage => ({
  path,
  whole: [`${path}.repository`, "global.image.repository"],
  wholeDefault: `registry.k8s.io/${image}`,
  registry: [
    { key: `${path}.registry`, default: "" },
    { key: "global.image.registry", default: "registry.k8s.io" },
  ],
  repository: { key: `${path}.image`, default: image },
  ...(when ? { when } : {}),
});
/** alibaba-cloud-csi-driver (templates/_utils.tpl:1-31): one registry for every image, `images.registryVPC` on a VPC (deploy.ecs), `images.registry` otherwise; both judged. */
const csiImg = (registry: "registry" | "registryVPC", fallback: string): ChartImage => ({
  path: `images.${registry}`,
  registry: [{ key: `images.${registry}`, default: null }],
  fallback,
  repository: { key: "images.plugin.repo", default: "acs/csi-plugin" },
});

/** alibaba-cloud-csi-driver 1.36.2 values.yaml:118-155: each image's `repo` besides `plugin`'s. */
const CSI_REPOS: Record<string, string> = {
  controller: "acs/csi-plugin",
  pluginInit: "acs/csi-plugin",
  localController: "acs/local-csi-driver",
  localPlugin: "acs/local-csi-driver",
  externalAttacher: "acs/csi-attacher",
  externalProvisioner: "acs/csi-provisioner",
  externalResizer: "acs/csi-resizer",
  externalSnapshotter: "acs/csi-snapshotter",
  externalSnapshotController: "acs/snapshot-controller",
  pluginRegistrar: "acs/csi-node-driver-registrar",
  ossfs: "acs/csi-ossfs",
  ossfs2: "acs/csi-ossfs2",
};

/**
 * Every image each chart the program installs pulls, read from the chart's source at the pinned version:
 * - kube-prometheus-stack 87.12.5 (prometheus-community/helm-charts kube-prometheus-stack-87.12.5 240842e1, values.yaml and
 *   templates/alertmanager/alertmanager.yaml:19, prometheus/prometheus.yaml:53, thanos-ruler/ruler.yaml:16,
 *   prometheus-operator/deployment.yaml:50-52 (operator, config-reloader, and `thanosImage`, handed to the operator for every
 *   Thanos sidecar whatever is enabled), admission-webhooks/deployment/deployment.yaml:50, job-patch/*.yaml; crds.upgradeJob
 *   (values.yaml:39-50)); its subcharts (Chart.yaml dependencies) kube-state-metrics 7.5.3 (65f1b034, _helpers.tpl:142-166),
 *   prometheus-node-exporter 4.55.1 (e633094a, _helpers.tpl:77-95, daemonset.yaml:41-57) and grafana 12.7.2
 *   (grafana-community/helm-charts b47a6109, templates/_pod.tpl:42, 71, 120, 1246; values.yaml imageRenderer, testFramework);
 *   every one `global.imageRegistry | default <path>.registry` + `/` + repository.
 * - ingress-nginx 4.15.1 (kubernetes/ingress-nginx helm-chart-4.15.1 0a5901f3, values.yaml:6-8, 25-33, 848-852, 1025-1030).
 * - metrics-server 3.13.1 (kubernetes-sigs/metrics-server metrics-server-helm-chart-3.13.1 842dcc8c, values.yaml image, addonResizer).
 * - kubelet-csr-approver 1.2.14 (postfinance/kubelet-csr-approver v1.2.14 14dd0aca, charts/kubelet-csr-approver/values.yaml image).
 * - fluent-bit 0.57.9 (fluent/helm-charts fluent-bit-0.57.9 60ace4ef, values.yaml image, testFramework (a `helm test` pod, on by
 *   default), hotReload).
 * - alibaba-cloud-csi-driver 1.36.2 (kubernetes-sigs/alibaba-cloud-csi-driver 68d4c40e, deploy/charts/alibaba-cloud-csi-driver
 *   values.yaml:133-181 `images`, templates/_utils.tpl:1-31: `images.registryVPC` or `images.registry`, else
 *   `registry-<deploy.regionID>[-vpc].ack.aliyuncs.com`, before every `images.*.repo`).
 * - skywalking-helm 4.7.0 (apache/skywalking-helm v4.7.0 6fe5e6f0, chart/skywalking/values.yaml, templates/_helpers.tpl:92-128:
 *   the wait-for-storage init container is `initContainer.image` for elasticsearch, fixed `postgres:13` for postgresql and
 *   `curlimages/curl` for banyandb; Chart.yaml: the elasticsearch, postgresql and banyandb subcharts, not listed here, must stay off).
 * - ks-core 1.1.4 (kubesphere/kubesphere v4.1.3 3ef3a6bc, config/ks-core/values.yaml, templates/_images.tpl; subcharts
 *   charts/ks-crds/values.yaml and charts/redis-ha/values.yaml and templates/redis-ha-statefulset.yaml (sysctlImage, exporter,
 *   and fixed s3cmd/openssh images only for a `restore` source, which the table names as a switch)).
 * A `helm test` pod counts: whoever runs `helm test` pulls it.
 */
export const CHART_IMAGE_VALUES: Record<string, { version: string; images: ChartImage[] }> = {
  "kube-prometheus-stack": {
    version: "87.12.5",
    images: [
      kpsImg("crds.upgradeJob.image.busybox", "docker.io", "busybox", [on("crds.upgradeJob.enabled", false)]),
      kpsImg("crds.upgradeJob.image.kubectl", "registry.k8s.io", "kubectl", [on("crds.upgradeJob.enabled", false)]),
      kpsImg("alertmanager.alertmanagerSpec.image", "quay.io", "prometheus/alertmanager", [on("alertmanager.enabled", true)]),
      kpsImg("prometheusOperator.image", "quay.io", "prometheus-operator/prometheus-operator", [on("prometheusOperator.enabled", true)]),
      kpsImg("prometheusOperator.prometheusConfigReloader.image", "quay.io", "prometheus-operator/prometheus-config-reloader", [
        on("prometheusOperator.enabled", true),
      ]),
      kpsImg("prometheusOperator.thanosImage", "quay.io", "thanos/thanos", [on("prometheusOperator.enabled", true)]),
      kpsImg("prometheusOperator.admissionWebhooks.deployment.image", "quay.io", "prometheus-operator/admission-webhook", [
        on("prometheusOperator.admissionWebhooks.deployment.enabled", false),
      ]),
      kpsImg("prometheusOperator.admissionWebhooks.patch.image", "ghcr.io", "jkroepke/kube-webhook-certgen", [
        on("prometheusOperator.admissionWebhooks.enabled", true),
        on("prometheusOperator.admissionWebhooks.patch.enabled", true),
      ]),
      kpsImg("prometheus.prometheusSpec.image", "quay.io", "prometheus/prometheus", [on("prometheus.enabled", true)]),
      kpsImg("thanosRuler.thanosRulerSpec.image", "quay.io", "thanos/thanos", [on("thanosRuler.enabled", false)]),
      kpsImg("kube-state-metrics.image", "registry.k8s.io", "kube-state-metrics/kube-state-metrics", [sub("kubeStateMetrics.enabled", true)]),
      kpsImg("kube-state-metrics.kubeRBACProxy.image", "quay.io", "brancz/kube-rbac-proxy", [
        sub("kubeStateMetrics.enabled", true),
        on("kube-state-metrics.kubeRBACProxy.enabled", false),
      ]),
      kpsImg("prometheus-node-exporter.image", "quay.io", "prometheus/node-exporter", [sub("nodeExporter.enabled", true)]),
      kpsImg("prometheus-node-exporter.kubeRBACProxy.image", "quay.io", "brancz/kube-rbac-proxy", [
        sub("nodeExporter.enabled", true),
        on("prometheus-node-exporter.kubeRBACProxy.enabled", false),
      ]),
      // Rendered when any of its fixes is on (daemonset.yaml:41-42): judged whatever they say.
      kpsImg("prometheus-node-exporter.permissionInitContainer.image", "quay.io", "prometheus/busybox", [sub("nodeExporter.enabled", true)]),
      kpsImg("grafana.image", "docker.io", "grafana/grafana", [sub("grafana.enabled", true)]),
      kpsImg("grafana.sidecar.image", "quay.io", "kiwigrid/k8s-sidecar", [sub("grafana.enabled", true)]),
      kpsImg("grafana.initChownData.image", "docker.io", "library/busybox", [sub("grafana.enabled", true), on("grafana.initChownData.enabled", true)]),
      img("grafana.downloadDashboardsImage", [KPS_GLOBAL, { key: "grafana.downloadDashboardsImage.registry", default: "docker.io" }], "curlimages/curl", [
        sub("grafana.enabled", true),
      ]),
      kpsImg("grafana.testFramework.image", "docker.io", "bats/bats", [sub("grafana.enabled", true), on("grafana.testFramework.enabled", true)]),
      kpsImg("grafana.imageRenderer.image", "docker.io", "grafana/grafana-image-renderer", [
        sub("grafana.enabled", true),
        on("grafana.imageRenderer.enabled", false),
      ]),
      { path: "prometheus-windows-exporter", unlisted: true, when: [sub("windowsMonitoring.enabled", false)] },
    ],
  },
  "ingress-nginx": {
    version: "4.15.1",
    images: [
      nginxImg("controller.image", "ingress-nginx/controller"),
      nginxImg("controller.admissionWebhooks.patch.image", "ingress-nginx/kube-webhook-certgen", [
        on("controller.admissionWebhooks.enabled", true),
        on("controller.admissionWebhooks.patch.enabled", true),
      ]),
      nginxImg("defaultBackend.image", "defaultbackend-amd64", [on("defaultBackend.enabled", false)]),
    ],
  },
  "metrics-server": {
    version: "3.13.1",
    images: [
      repoImg("image", "registry.k8s.io/metrics-server/metrics-server"),
      repoImg("addonResizer.image", "registry.k8s.io/autoscaling/addon-resizer", [on("addonResizer.enabled", false)]),
    ],
  },
  "kubelet-csr-approver": { version: "1.2.14", images: [repoImg("image", "ghcr.io/postfinance/kubelet-csr-approver")] },
  "fluent-bit": {
    version: "0.57.9",
    images: [
      repoImg("image", "cr.fluentbit.io/fluent/fluent-bit"),
      repoImg("testFramework.image", "busybox", [on("testFramework.enabled", true)]),
      repoImg("hotReload.image", "ghcr.io/jimmidyson/configmap-reload", [on("hotReload.enabled", false)]),
    ],
  },
  "alibaba-cloud-csi-driver": {
    version: "1.36.2",
    images: [
      csiImg("registryVPC", "registry-<deploy.regionID>-vpc.ack.aliyuncs.com"),
      csiImg("registry", "registry-<deploy.regionID>.ack.aliyuncs.com"),
      // The other images share that registry (values.yaml:115-155, templates/_utils.tpl:30): their repositories are judged.
      ...Object.entries(CSI_REPOS).map(([name, repo]) => ({
        ...csiImg("registryVPC", "registry-<deploy.regionID>-vpc.ack.aliyuncs.com"),
        path: `images.${name}`,
        repository: { key: `images.${name}.repo`, default: repo },
        repositoryOnly: true as const,
      })),
    ],
  },
  "skywalking-helm": {
    version: "4.7.0",
    images: [
      {
        path: "initContainer.image",
        repository: { key: "initContainer.image", default: "busybox" },
        when: [{ key: "oap.storageType", default: null, equals: "elasticsearch" }],
      },
      { path: "wait-for-postgresql", fixed: "postgres:13", when: [{ key: "oap.storageType", default: null, equals: "postgresql" }] },
      { path: "wait-for-banyandb", fixed: "curlimages/curl", when: [{ key: "oap.storageType", default: null, equals: "banyandb" }] },
      repoImg("oap.image", "skywalking.docker.scarf.sh/apache/skywalking-oap-server"),
      repoImg("ui.image", "skywalking.docker.scarf.sh/apache/skywalking-ui"),
      repoImg("satellite.image", "skywalking.docker.scarf.sh/apache/skywalking-satellite", [on("satellite.enabled", false)]),
      { path: "elasticsearch", unlisted: true, when: [sub("elasticsearch.enabled", true)] },
      { path: "postgresql", unlisted: true, when: [sub("postgresql.enabled", false)] },
      { path: "banyandb", unlisted: true, when: [sub("banyandb.enabled", false)] },
    ],
  },
  "ks-core": {
    version: "1.1.4",
    images: [
      ksImg("apiserver.image", "kubesphere/ks-apiserver"),
      ksImg("console.image", "kubesphere/ks-console"),
      ksImg("controller.image", "kubesphere/ks-controller-manager"),
      ksImg("helmExecutor.image", "kubesphere/kubectl"),
      ksImg("kubectl.image", "kubesphere/kubectl"),
      ksImg("nodeShell.image", "kubesphere/kubectl"),
      ksImg("upgrade.image", "kubesphere/ks-upgrade", [on("upgrade.enabled", false)]),
      // Rendered with ha.enabled and not redisHA.enabled (templates/redis.yaml:21): judged whatever they say.
      ksImg("redis.image", "kubesphere/redis"),
      ksImg("ksExtensionRepository.image", "kubesphere/ks-extensions-museum", [on("ksExtensionRepository.enabled", true)]),
      ksImg("ksCRDs.kubectl.image", "kubesphere/kubectl"),
      ksImg("redisHA.image", "kubesphere/redis", [sub("redisHA.enabled", false)]),
      ksImg("redisHA.haproxy.image", "kubesphere/haproxy", [sub("redisHA.enabled", false), on("redisHA.haproxy.enabled", true)]),
      img("redisHA.sysctlImage", [{ key: "redisHA.sysctlImage.registry", default: "docker.io" }, KS_GLOBAL], "busybox", [
        sub("redisHA.enabled", false),
        on("redisHA.sysctlImage.enabled", false),
      ]),
      {
        path: "redisHA.exporter.image",
        repository: { key: "redisHA.exporter.image", default: "oliver006/redis_exporter" },
        registry: [KS_GLOBAL],
        when: [sub("redisHA.enabled", false), on("redisHA.exporter.enabled", false)],
      },
      { path: "redisHA.restore.s3.source", fixed: "s3cmd/s3cmd:latest", when: [sub("redisHA.enabled", false), on("redisHA.restore.s3.source", "")] },
      {
        path: "redisHA.restore.ssh.source",
        fixed: "lgatica/openssh-client:latest",
        when: [sub("redisHA.enabled", false), on("redisHA.restore.ssh.source", "")],
      },
    ],
  },
};

function valueAt(values: unknown, key: string): unknown {
  let at: unknown = values;
  for (const k of key.split(".")) {
    if (at === UNKNOWN) return UNKNOWN;
    if (!isObj(at)) return undefined;
    at = at[k];
  }
  return at;
}

/** What a release's chart pulls, image by image: the reference as the chart composes it, and which parts are the chart's defaults. */
export interface ChartImagePull {
  path: string;
  /** The reference, or undefined when a value on the way is unknown during preview (then `unknown` names it). */
  reference?: string;
  unknown?: string;
  /** The value keys left at the chart's default that the reference took (`prometheusOperator.thanosImage.registry=quay.io`). */
  defaults: string[];
  /** The value keys the release set that the reference took. */
  set: string[];
  unlisted?: true;
  /**
   * The repository the reference names, for the per-repository rule: `split` (a registry value, then this repository
   * value, which must be the chart's default or granted) or `whole` (a whole reference, whose repository must end with
   * the chart's default or a granted one, only the registry before it moved). Absent for a fixed reference.
   */
  repository?: { form: "split" | "whole"; key: string; value: string; default: string };
  /** Only the repository is judged (ChartImage.repositoryOnly). */
  repositoryOnly?: true;
  /** A value at an image key that is not a string (a map where the chart reads a string): named, not composed. */
  notString?: string;
  /** A value the chart renders as raw YAML through `tpl`, given as a string: refused (see RAW_YAML_VALUES). */
  rawString?: string;
}

/**
 * Values a chart renders as raw YAML into a pod or a custom resource's spec, through `tpl` on the value itself (a string is
 * parsed as YAML there, so it can carry containers and images the pack cannot read) or `tpl (toYaml ...)` (a list or map,
 * whose containers trusted-sources judges; a string there is never a valid container list). A string at one is refused.
 * Read from the pinned chart sources (the same commits CHART_IMAGE_VALUES cites).
 */
export const RAW_YAML_VALUES: Record<string, { path: string; source: string }[]> = {
  "fluent-bit": [{ path: "extraContainers", source: "templates/_pod.tpl:135-140 (tpl on a string, toYaml on a list)" }],
  "ingress-nginx": [
    { path: "controller.extraInitContainers", source: "templates/controller-deployment.yaml:194, controller-daemonset.yaml:188" },
    { path: "defaultBackend.extraVolumes", source: "templates/default-backend-deployment.yaml:121" },
  ],
  "kube-prometheus-stack": [
    { path: "prometheus.prometheusSpec.containers", source: "templates/prometheus/prometheus.yaml:389-391" },
    { path: "prometheus.prometheusSpec.initContainers", source: "templates/prometheus/prometheus.yaml:393-395" },
    { path: "prometheus.prometheusSpec.additionalConfigString", source: "templates/prometheus/prometheus.yaml:589-590 (into the Prometheus spec)" },
    { path: "alertmanager.alertmanagerSpec.additionalConfigString", source: "templates/alertmanager/alertmanager.yaml:239-240" },
    { path: "thanosRuler.thanosRulerSpec.additionalConfigString", source: "templates/thanos-ruler/ruler.yaml:319-320" },
    { path: "grafana.extraContainers", source: "charts/grafana templates/_pod.tpl:1541-1542 (tpl on the value)" },
    { path: "grafana.extraInitContainers", source: "charts/grafana templates/_pod.tpl:595-596" },
    { path: "kube-state-metrics.affinity", source: "charts/kube-state-metrics templates/deployment.yaml:342" },
  ],
};

/** sprig's mergeOverwrite: `over`'s keys win, maps merged key by key (a copy; neither input changes). */
function mergeOverwrite(base: unknown, over: unknown): unknown {
  if (!isObj(base) || !isObj(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? mergeOverwrite(out[k], v) : v;
  return out;
}

/**
 * Charts that render a set of their objects once per entry of a map, each from the values merged with that entry:
 * alibaba-cloud-csi-driver 1.36.2 (68d4c40e) templates/plugin.yaml:1-5 renders one node-plugin DaemonSet per non-nil
 * `nodePools.<pool>` from `mergeOverwrite (deepCopy .Values) <pool>`, so a pool's `images` or `deploy` moves its images.
 */
const PER_ENTRY: Record<string, string> = { "alibaba-cloud-csi-driver": "nodePools" };

/**
 * The images a release of `chart` pulls with `values`, each composed as CHART_IMAGE_VALUES says the chart does, or
 * undefined when the table does not hold the chart at `version`.
 */
export function chartImagePulls(chart: string, version: string | undefined, values: unknown): ChartImagePull[] | undefined {
  const known = CHART_IMAGE_VALUES[chart];
  if (known === undefined || version !== known.version) return undefined;
  const out: ChartImagePull[] = [];
  for (const { path, source } of RAW_YAML_VALUES[chart] ?? []) {
    const v = valueAt(values, path);
    if (typeof v === "string" && v !== "" && v !== UNKNOWN) out.push({ path, rawString: source, defaults: [], set: [path] });
  }
  out.push(...composeAll(known.images, values, ""));
  const per = PER_ENTRY[chart];
  const entries = per === undefined ? undefined : valueAt(values, per);
  if (per !== undefined && entries === UNKNOWN) out.push({ path: per, unknown: `values.${per}`, defaults: [], set: [] });
  else if (per !== undefined && isObj(entries))
    for (const [k, entry] of Object.entries(entries)) {
      if (entry === null || entry === undefined) continue;
      if (entry === UNKNOWN) {
        out.push({ path: `${per}.${k}`, unknown: `values.${per}.${k}`, defaults: [], set: [] });
        continue;
      }
      out.push(...composeAll(known.images, mergeOverwrite(values, entry), `${per}.${k}`));
    }
  return out;
}

/** Each image composed from `values`; `entry` (`nodePools.default`) names a per-entry composition, whose own keys are named under it. */
function composeAll(images: ChartImage[], values: unknown, entry: string): ChartImagePull[] {
  const out: ChartImagePull[] = [];
  const label = (k: string) => (entry === "" ? k : `${entry} merged over the values: ${k}`);
  for (const im of images) {
    // A repository-only row names only its repository unknown (its registry is the other rows').
    const keys = [...(im.when ?? []).map((w) => w.key), ...(im.whole ?? []), ...(im.repositoryOnly ? [] : (im.registry ?? []).map((r) => r.key))];
    if (im.repository) keys.push(im.repository.key);
    const unknown = values === UNKNOWN ? "values" : keys.find((k) => valueAt(values, k) === UNKNOWN);
    const path = label(im.path);
    if (unknown !== undefined) {
      out.push({ path, unknown: unknown === "values" ? unknown : `values.${unknown}`, defaults: [], set: [] });
      continue;
    }
    const switchedOn = (im.when ?? []).every((w) => {
      const v = valueAt(values, w.key) ?? w.default;
      if (w.subchart) return subchartOn(v);
      return w.equals === undefined ? turnsOn(v) : v === w.equals;
    });
    if (!switchedOn) continue;
    if (im.unlisted) {
      out.push({ path, defaults: [], set: [], unlisted: true });
      continue;
    }
    if (im.fixed !== undefined) {
      out.push({ path, reference: im.fixed, defaults: [`${im.path} (fixed in the chart's templates)=${im.fixed}`], set: [] });
      continue;
    }
    const defaults: string[] = [];
    const set: string[] = [];
    let notString: string | undefined;
    // Effective value: the release's (when it sets one) or the chart's default.
    const take = (src: ChartValueSource): string | null => {
      const v = valueAt(values, src.key);
      if (v === undefined || v === null) return src.default;
      if (typeof v !== "string") notString ??= `values.${src.key} is ${Array.isArray(v) ? "a list" : typeof v === "object" ? "a map" : `a ${typeof v}`}`;
      return typeof v === "string" ? v : String(v);
    };
    const note = (src: ChartValueSource, v: string | null) => {
      const given = valueAt(values, src.key);
      if (given === undefined || given === null) defaults.push(`${src.key}=${v ?? "null"}`);
      else set.push(src.key);
    };
    const wholeKey = (im.whole ?? []).find((k) => {
      const w = valueAt(values, k);
      return typeof w === "string" && w !== "";
    });
    if (wholeKey !== undefined) {
      out.push({
        path,
        reference: valueAt(values, wholeKey) as string,
        defaults,
        set: [wholeKey],
        repository: { form: "whole", key: wholeKey, value: valueAt(values, wholeKey) as string, default: im.wholeDefault ?? "" },
      });
      continue;
    }
    let registry: string | undefined;
    for (const src of im.registry ?? []) {
      const v = take(src);
      if (v !== null && v !== "") {
        registry = v;
        note(src, v);
        break;
      }
    }
    if (registry === undefined && im.fallback !== undefined) {
      registry = im.fallback;
      defaults.push(`${(im.registry ?? []).map((r) => r.key).join(", ")} unset: ${im.fallback}`);
    }
    const repo = im.repository ? take(im.repository) : null;
    if (im.repository) note(im.repository, repo);
    if (notString !== undefined) {
      out.push({ path, notString, defaults, set });
      continue;
    }
    const reference = registry === undefined ? (repo ?? "") : `${registry.replace(/\/+$/, "")}/${repo ?? ""}`;
    const repository =
      im.repository === undefined
        ? undefined
        : {
            form: registry === undefined ? ("whole" as const) : ("split" as const),
            key: im.repository.key,
            value: repo ?? "",
            default: im.repository.default ?? "",
          };
    out.push({ path, reference, defaults, set, ...(repository ? { repository } : {}), ...(im.repositoryOnly ? { repositoryOnly: true as const } : {}) });
  }
  return out;
}
