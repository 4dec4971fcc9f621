// T7's residuals (issue #30): images the pack read nowhere before. A custom resource's own image
// field (prometheus-operator, KubeVirt, CDI), and an image a Helm release leaves at its chart's default,
// each judged by trusted-sources against the pack config, tried on the real planned stacks.
import { trustedSources } from "../../policies/rules/sources";
import { CHART_IMAGE_VALUES, chartImagePulls, customResourceImages } from "../../policies/rules/imageFields";
import { chartRef } from "../../policies/rules/threats";
import { TYPES, UNKNOWN, type PolicyStack } from "../../policies/rules/policy";
import { runPolicies } from "../../policies/pack";
import { loadPolicyConfig, planToPolicyStack, policyConfigFileFor } from "../../components/preview/policyCheck";
import { plan, STACK_NAMES } from "../support/offline";

const sources = (stack: string) => trustedSources("mandatory", loadPolicyConfig(policyConfigFileFor(stack)).get("trusted-sources")!.config);
const messages = (s: PolicyStack, stack = "prod1") => runPolicies(s, [sources(stack)]).map((v) => v.message);
const FIX =
  "the program overrides each chart image through the mirror (components/k8s/images.ts), and trusted sources live in the pack config (policies/config/prod.json or nonprod.json, trusted-sources), not in the stack file";
const stacks = new Map<string, PolicyStack>();
beforeAll(async () => {
  for (const s of STACK_NAMES) stacks.set(s, planToPolicyStack(await plan(s)));
});
const release = (s: PolicyStack, name: string) => s.resources.find((r) => r.name === name)! as { props: Record<string, any> };

describe("trusted-sources: every image a chart pulls, defaults included (T7)", () => {
  test.each([...STACK_NAMES])("%s passes as planned (each chart image overridden to the mirror)", (stack) => {
    expect(messages(stacks.get(stack)!, stack)).toEqual([]);
  });

  test("every chart the program installs has a CHART_IMAGE_VALUES entry at the version it installs", () => {
    const installed = new Set<string>();
    for (const s of stacks.values())
      for (const r of s.resources.filter((x) => x.type === TYPES.helmRelease || x.type === TYPES.helmChartV4)) {
        const ref = chartRef(String(r.props.chart), r.props.version as string | undefined);
        installed.add(`${ref.name}@${ref.version}`);
      }
    expect([...installed].sort()).toEqual([
      "alibaba-cloud-csi-driver@1.36.2",
      "fluent-bit@0.57.9",
      "ingress-nginx@4.15.1",
      "ks-core@1.1.4",
      "kube-prometheus-stack@87.12.5",
      "kubelet-csr-approver@1.2.14",
      "metrics-server@3.13.1",
      "skywalking-helm@4.7.0",
    ]);
    for (const c of installed) {
      const [name, version] = c.split("@");
      expect(`${name}@${CHART_IMAGE_VALUES[name]?.version}`).toBe(`${name}@${version}`);
    }
  });

  test("a release with one image value removed is refused, naming the chart, the path and the default", () => {
    const s = structuredClone(stacks.get("prod1")!);
    delete release(s, "prod1-monitoring-kube-prometheus-stack").props.values.prometheusOperator.thanosImage;
    delete release(s, "prod1-logging-fluent-bit").props.values.image;
    expect(messages(s)).toEqual([
      `prod1-logging-fluent-bit: chart fluent-bit 0.57.9 pulls image from cr.fluentbit.io/fluent/fluent-bit, left at the chart's default image.repository=cr.fluentbit.io/fluent/fluent-bit, not under a trusted source of chart images (mirror.livemall.internal); ${FIX}`,
      `prod1-monitoring-kube-prometheus-stack: chart kube-prometheus-stack 87.12.5 pulls prometheusOperator.thanosImage from quay.io/thanos/thanos, left at the chart's default prometheusOperator.thanosImage.registry=quay.io, prometheusOperator.thanosImage.repository=thanos/thanos, not under a trusted source of chart images (mirror.livemall.internal); ${FIX}`,
    ]);
  });

  test("the host's ks-core release is judged with its secret values read in plain, as CrossGuard's stack policies read them", () => {
    // The release's values hold the JWT secret, so the whole values input is a secret; @pulumi/policy's
    // analyzeStack deserializes properties with secrets unwrapped (server.js, deserializeProperties(props, false)).
    const s = structuredClone(stacks.get("host")!);
    const ks = release(s, "host-kubesphere-core");
    expect(ks.props.values.global).toEqual({ imageRegistry: "mirror.livemall.internal/docker.io" });
    delete ks.props.values.global;
    expect(messages(s, "host").map((m) => m.split(", not under")[0])).toContain(
      "host-kubesphere-core: chart ks-core 1.1.4 pulls apiserver.image from docker.io/kubesphere/ks-apiserver, left at the chart's default global.imageRegistry=docker.io, apiserver.image.repository=kubesphere/ks-apiserver",
    );
  });

  test("composed as the chart composes it: a global registry, a registry-relative repository, a switched-on image, a subchart, a new version", () => {
    const s = structuredClone(stacks.get("prod1")!);
    const kps = release(s, "prod1-monitoring-kube-prometheus-stack").props;
    // A repository that is not the chart's, even under the mirror's registry, is refused: only the registry may move.
    kps.values.prometheus.prometheusSpec.image.repository = "prometheus/prometheus-fork";
    // thanosRuler is off by default; turned on, its image is the chart's quay.io one.
    kps.values.thanosRuler = { enabled: true };
    const nginx = release(s, "prod1-ingress-controller").props;
    delete nginx.values.global; // controller and certgen fall back to global.image.registry's default
    const sw = release(s, "prod1-tracing-skywalking").props;
    sw.values.elasticsearch.enabled = true;
    release(s, "prod1-metrics-metrics-server").props.version = "3.13.2";
    const found = messages(s).map((m) => m.split(", not under")[0]);
    expect(found).toEqual([
      "prod1-metrics-metrics-server: chart metrics-server 3.13.2, whose default images the pack read at 3.13.1 only (CHART_IMAGE_VALUES)",
      "prod1-monitoring-kube-prometheus-stack: chart kube-prometheus-stack 87.12.5 pulls prometheus.prometheusSpec.image from mirror.livemall.internal/quay.io/prometheus/prometheus-fork: prometheus.prometheusSpec.image.repository=prometheus/prometheus-fork is not the chart's repository prometheus/prometheus, nor listed in chartImageRepositories (docker.io/apache/skywalking-oap-server, docker.io/apache/skywalking-ui); only the registry may move, to the mirror, and trusted sources live in the pack config (policies/config/prod.json or nonprod.json, trusted-sources), not in the stack file",
      "prod1-monitoring-kube-prometheus-stack: chart kube-prometheus-stack 87.12.5 pulls thanosRuler.thanosRulerSpec.image from quay.io/thanos/thanos, left at the chart's default thanosRuler.thanosRulerSpec.image.registry=quay.io, thanosRuler.thanosRulerSpec.image.repository=thanos/thanos",
      "prod1-ingress-controller: chart ingress-nginx 4.15.1 pulls controller.image from registry.k8s.io/ingress-nginx/controller, left at the chart's default global.image.registry=registry.k8s.io, controller.image.image=ingress-nginx/controller",
      "prod1-ingress-controller: chart ingress-nginx 4.15.1 pulls controller.admissionWebhooks.patch.image from registry.k8s.io/ingress-nginx/kube-webhook-certgen, left at the chart's default global.image.registry=registry.k8s.io, controller.admissionWebhooks.patch.image.image=ingress-nginx/kube-webhook-certgen",
      "prod1-tracing-skywalking: chart skywalking-helm 4.7.0 turns on elasticsearch, a subchart whose images the pack has not read (CHART_IMAGE_VALUES); keep it off",
    ]);
  });

  test("a chart outside the table is refused, and an image value unknown during preview is named", () => {
    const s = structuredClone(stacks.get("prod1")!);
    release(s, "prod1-metrics-csr-approver").props.chart = "cert-manager";
    release(s, "prod1-logging-fluent-bit").props.values.image = UNKNOWN;
    expect(messages(s)).toEqual([
      "prod1-metrics-csr-approver: chart cert-manager 1.2.14, whose default images the pack has not read (no CHART_IMAGE_VALUES entry), so what it pulls cannot be checked against the chart image sources",
      `prod1-logging-fluent-bit: chart fluent-bit 0.57.9 image image: values.image.repository ${UNKNOWN}, so its registry cannot be checked`,
    ]);
  });
});

describe("trusted-sources: a custom resource's own image fields (T7)", () => {
  const cr = (type: string, name: string, spec: Record<string, unknown>) => ({
    type,
    name,
    urn: `urn:pulumi:prod1::platform::${type}::${name}`,
    props: { metadata: { namespace: "monitoring", name }, spec },
  });
  test("prometheus-operator, KubeVirt and CDI image fields off the trusted registries are refused; an unknown value is named; an unknown group is not read", () => {
    const s = structuredClone(stacks.get("prod1")!);
    const ok = "harbor.livemall.internal/commerce/x:1";
    s.resources.push(
      cr("kubernetes:monitoring.coreos.com/v1:Prometheus", "p", { image: "evil.example/prometheus:v3", thanos: { image: UNKNOWN } }),
      cr("kubernetes:monitoring.coreos.com/v1:Alertmanager", "am", { image: ok, baseImage: "quay.io/prometheus/alertmanager" }),
      cr("kubernetes:monitoring.coreos.com/v1alpha1:PrometheusAgent", "pa", { image: ok }),
      cr("kubernetes:monitoring.coreos.com/v1:ThanosRuler", "tr", { image: "thanos/thanos:v0.39" }),
      cr("kubernetes:kubevirt.io/v1:VirtualMachine", "vm", {
        template: {
          spec: {
            volumes: [
              { name: "a", containerDisk: { image: ok } },
              { name: "b", containerDisk: { image: "evil.example/disk:1" } },
            ],
          },
        },
        dataVolumeTemplates: [{ spec: { source: { registry: { url: "docker://evil.example/dv:1" } } } }],
      }),
      cr("kubernetes:cdi.kubevirt.io/v1beta1:DataVolume", "dv", { source: { registry: { url: `docker://${ok}` } } }),
      cr("kubernetes:example.com/v1:Thing", "thing", { image: "evil.example/unread:1" }),
    );
    expect(messages(s).map((m) => m.split(", not from")[0])).toEqual([
      "p: spec.image pulls evil.example/prometheus:v3 (evil.example/prometheus)",
      `p: spec.thanos.image ${UNKNOWN}, an image its operator pulls, so its registry cannot be checked (harbor.livemall.internal/commerce, harbor.livemall.internal/scm, mirror.livemall.internal/ghcr.io/flannel-io, mirror.livemall.internal/docker.io/cloudnativelabs/kube-router, mirror.livemall.internal/docker.io/timonwong/prometheus-webhook-dingtalk, mirror.livemall.internal/docker.io/library/busybox, mirror.livemall.internal/docker.io/curlimages/curl, mirror.livemall.internal/docker.io/apache/skywalking-java-agent)`,
      "am: spec.baseImage pulls quay.io/prometheus/alertmanager (quay.io/prometheus/alertmanager)",
      "tr: spec.image pulls thanos/thanos:v0.39 (docker.io/thanos/thanos)",
      "vm: spec.template.spec.volumes[1].containerDisk.image pulls evil.example/disk:1 (evil.example/disk)",
      "vm: spec.dataVolumeTemplates[0].spec.source.registry.url pulls evil.example/dv:1 (evil.example/dv)",
    ]);
  });
});

// The review of d586c28 (issue #30): each bypass, tried on the planned prod1 with the prod pack config. Each was
// rendered with helm v3.21.4 (built from source) on the pinned chart: the image named below is what the chart pulls.
describe("trusted-sources: the bypasses of the #30 review are refused (T7)", () => {
  const KPS = "prod1-monitoring-kube-prometheus-stack";
  const NOT_TRUSTED = "is not a trusted source of chart images (mirror.livemall.internal); trusted sources live in the pack config";
  const tried = (edit: (s: PolicyStack) => void) => {
    const s = structuredClone(stacks.get("prod1")!);
    edit(s);
    return messages(s).map((m) => m.split(", not under")[0].split("; trusted sources live")[0]);
  };

  test("blocker 1: a CSI nodePools entry's images (merged over the values for its node-plugin DaemonSet) are composed per pool", () => {
    // helm renders evil.example.com/acs/csi-plugin:v1.36.2 in the pool's privileged node plugin (templates/plugin.yaml:1-5).
    expect(
      tried((s) => {
        const v = release(s, "prod1-disk-csi-driver").props.values;
        v.nodePools.evil = { ...v.nodePools.default, pluginname: "csi-plugin-x", images: { registryVPC: "evil.example.com" } };
      }),
    ).toEqual([
      `prod1-disk-csi-driver: values.nodePools.evil.images.registryVPC evil.example.com ${NOT_TRUSTED}`.split("; trusted sources live")[0],
      "prod1-disk-csi-driver: chart alibaba-cloud-csi-driver 1.36.2 pulls nodePools.evil merged over the values: images.registryVPC from evil.example.com/acs/csi-plugin, set by the release (images.registryVPC) and left at the chart's default images.plugin.repo=acs/csi-plugin",
    ]);
    // A pool that clears the mirror's registries falls back to the region's ACK registry, which is not the mirror.
    expect(
      tried((s) => {
        release(s, "prod1-disk-csi-driver").props.values.nodePools.default.images = { registryVPC: null, registry: null };
      }),
    ).toEqual([
      "prod1-disk-csi-driver: chart alibaba-cloud-csi-driver 1.36.2 pulls nodePools.default merged over the values: images.registryVPC from registry-<deploy.regionID>-vpc.ack.aliyuncs.com/acs/csi-plugin, left at the chart's default images.registryVPC unset: registry-<deploy.regionID>-vpc.ack.aliyuncs.com, images.plugin.repo=acs/csi-plugin",
      "prod1-disk-csi-driver: chart alibaba-cloud-csi-driver 1.36.2 pulls nodePools.default merged over the values: images.registry from registry-<deploy.regionID>.ack.aliyuncs.com/acs/csi-plugin, left at the chart's default images.registry unset: registry-<deploy.regionID>.ack.aliyuncs.com, images.plugin.repo=acs/csi-plugin",
    ]);
  });

  test("blocker 2: a value the chart renders as raw YAML, given as a string, is refused; as a list its containers are judged", () => {
    const containers = "- name: x\n  image: evil.example.com/miner:1\n";
    expect(
      tried((s) => {
        release(s, "prod1-logging-fluent-bit").props.values.extraContainers = containers;
        const kps = release(s, KPS).props.values;
        kps.grafana.extraContainers = containers;
        kps.prometheus.prometheusSpec.initContainers = containers;
        kps.prometheus.prometheusSpec.additionalConfigString = "image: evil.example.com/prometheus:v3";
        release(s, "prod1-ingress-controller").props.values.controller.extraInitContainers = containers;
      }),
    ).toEqual([
      "prod1-logging-fluent-bit: chart fluent-bit 0.57.9 values.extraContainers is a string, which the chart renders as raw YAML (templates/_pod.tpl:135-140 (tpl on a string, toYaml on a list)), so the containers and images in it cannot be checked; give it as a list or map",
      "prod1-monitoring-kube-prometheus-stack: chart kube-prometheus-stack 87.12.5 values.prometheus.prometheusSpec.initContainers is a string, which the chart renders as raw YAML (templates/prometheus/prometheus.yaml:393-395), so the containers and images in it cannot be checked; give it as a list or map",
      "prod1-monitoring-kube-prometheus-stack: chart kube-prometheus-stack 87.12.5 values.prometheus.prometheusSpec.additionalConfigString is a string, which the chart renders as raw YAML (templates/prometheus/prometheus.yaml:589-590 (into the Prometheus spec)), so the containers and images in it cannot be checked; give it as a list or map",
      "prod1-monitoring-kube-prometheus-stack: chart kube-prometheus-stack 87.12.5 values.grafana.extraContainers is a string, which the chart renders as raw YAML (charts/grafana templates/_pod.tpl:1541-1542 (tpl on the value)), so the containers and images in it cannot be checked; give it as a list or map",
      "prod1-ingress-controller: chart ingress-nginx 4.15.1 values.controller.extraInitContainers is a string, which the chart renders as raw YAML (templates/controller-deployment.yaml:194, controller-daemonset.yaml:188), so the containers and images in it cannot be checked; give it as a list or map",
    ]);
    expect(
      tried((s) => {
        release(s, "prod1-logging-fluent-bit").props.values.extraContainers = [{ name: "x", image: "evilorg/x:1" }];
      }),
    ).toEqual([
      "prod1-logging-fluent-bit: values.extraContainers[0].image docker.io/evilorg/x is not a trusted source of chart images (mirror.livemall.internal)",
    ]);
  });

  test("major 3: a subchart condition that is not the bool false keeps the subchart on, as Helm does", () => {
    expect(
      tried((s) => {
        const v = release(s, KPS).props.values;
        v.nodeExporter = { enabled: "" };
        v["prometheus-node-exporter"].image = { repository: "evilorg/node-exporter" };
        v.grafana.enabled = 0;
        v.grafana.image = { repository: "evilorg/grafana" };
        v.kubeStateMetrics = { enabled: "false" };
        v["kube-state-metrics"].image.registry = null;
        release(s, "prod1-tracing-skywalking").props.values.elasticsearch.enabled = 0;
      }),
    ).toEqual([
      "prod1-monitoring-kube-prometheus-stack: chart kube-prometheus-stack 87.12.5 pulls kube-state-metrics.image from registry.k8s.io/kube-state-metrics/kube-state-metrics, left at the chart's default kube-state-metrics.image.registry=registry.k8s.io, kube-state-metrics.image.repository=kube-state-metrics/kube-state-metrics",
      "prod1-monitoring-kube-prometheus-stack: chart kube-prometheus-stack 87.12.5 pulls prometheus-node-exporter.image from quay.io/evilorg/node-exporter, set by the release (prometheus-node-exporter.image.repository) and left at the chart's default prometheus-node-exporter.image.registry=quay.io",
      "prod1-monitoring-kube-prometheus-stack: chart kube-prometheus-stack 87.12.5 pulls grafana.image from docker.io/evilorg/grafana, set by the release (grafana.image.repository) and left at the chart's default grafana.image.registry=docker.io",
      "prod1-tracing-skywalking: chart skywalking-helm 4.7.0 turns on elasticsearch, a subchart whose images the pack has not read (CHART_IMAGE_VALUES); keep it off",
    ]);
  });

  test("major 4: an image or baseImage string without a host is a docker.io pull; global.image and the operator's default base registries are read", () => {
    expect(
      tried((s) => {
        const v = release(s, KPS).props.values;
        v.prometheus.prometheusSpec.thanos = { image: "evilorg/thanos:1", baseImage: "evil.example.com/thanos" };
        v.prometheus.prometheusSpec.containers = [{ name: "x", image: "evilorg/miner:1" }];
        v.prometheusOperator.alertmanagerDefaultBaseImageRegistry = "evil.example.com";
        const ng = release(s, "prod1-ingress-controller").props.values;
        ng.global.image.repository = "evilorg/ingress";
      }),
    ).toEqual([
      "prod1-monitoring-kube-prometheus-stack: values.prometheus.prometheusSpec.thanos.image docker.io/evilorg/thanos is not a trusted source of chart images (mirror.livemall.internal)",
      "prod1-monitoring-kube-prometheus-stack: values.prometheus.prometheusSpec.thanos.baseImage evil.example.com/thanos is not a trusted source of chart images (mirror.livemall.internal)",
      "prod1-monitoring-kube-prometheus-stack: values.prometheus.prometheusSpec.containers[0].image docker.io/evilorg/miner is not a trusted source of chart images (mirror.livemall.internal)",
      "prod1-monitoring-kube-prometheus-stack: values.prometheusOperator.alertmanagerDefaultBaseImageRegistry evil.example.com is not a trusted source of chart images (mirror.livemall.internal)",
      "prod1-ingress-controller: chart ingress-nginx 4.15.1 pulls controller.image from evilorg/ingress, set by the release (global.image.repository)",
      "prod1-ingress-controller: chart ingress-nginx 4.15.1 pulls controller.admissionWebhooks.patch.image from evilorg/ingress, set by the release (global.image.repository)",
    ]);
  });

  test("major 5: only the registry may move: a repository other than the chart's is refused under the mirror, unless chartImageRepositories lists it", () => {
    const edit = (s: PolicyStack) => {
      release(s, KPS).props.values.prometheus.prometheusSpec.image.repository = "evilorg/prometheus";
      release(s, "prod1-metrics-metrics-server").props.values.image.repository = "mirror.livemall.internal/docker.io/evilorg/metrics-server";
    };
    expect(tried(edit)).toEqual([
      "prod1-metrics-metrics-server: chart metrics-server 3.13.1 pulls image from mirror.livemall.internal/docker.io/evilorg/metrics-server: image.repository=mirror.livemall.internal/docker.io/evilorg/metrics-server is not the chart's repository registry.k8s.io/metrics-server/metrics-server behind a trusted chart image registry, nor listed in chartImageRepositories (docker.io/apache/skywalking-oap-server, docker.io/apache/skywalking-ui); only the registry may move, to the mirror, and trusted sources live in the pack config (policies/config/prod.json or nonprod.json, trusted-sources), not in the stack file",
      "prod1-monitoring-kube-prometheus-stack: chart kube-prometheus-stack 87.12.5 pulls prometheus.prometheusSpec.image from mirror.livemall.internal/quay.io/evilorg/prometheus: prometheus.prometheusSpec.image.repository=evilorg/prometheus is not the chart's repository prometheus/prometheus, nor listed in chartImageRepositories (docker.io/apache/skywalking-oap-server, docker.io/apache/skywalking-ui); only the registry may move, to the mirror, and trusted sources live in the pack config (policies/config/prod.json or nonprod.json, trusted-sources), not in the stack file",
    ]);
    const s = structuredClone(stacks.get("prod1")!);
    edit(s);
    const granted = { ...loadPolicyConfig(policyConfigFileFor("prod1")).get("trusted-sources")!.config } as Record<string, unknown>;
    granted.chartImageRepositories = [...(granted.chartImageRepositories as string[]), "evilorg/prometheus", "docker.io/evilorg/metrics-server"];
    expect(runPolicies(s, [trustedSources("mandatory", granted)])).toEqual([]);
  });

  test("only the registry may move: a whole-reference repository is the default under one trusted registry, not any path ending in it (second review)", () => {
    const edit = (s: PolicyStack) => {
      const controller = release(s, "prod1-ingress-controller").props.values.controller;
      controller.image = { ...controller.image, repository: "mirror.livemall.internal/teamx/registry.k8s.io/ingress-nginx/controller" };
      release(s, "prod1-metrics-metrics-server").props.values.image.repository = "mirror.livemall.internal/teamx/registry.k8s.io/metrics-server/metrics-server";
    };
    expect(tried(edit).map((m) => m.split(": ")[0] + ": " + m.split(": ")[1].split(" is not")[0])).toEqual([
      "prod1-metrics-metrics-server: chart metrics-server 3.13.1 pulls image from mirror.livemall.internal/teamx/registry.k8s.io/metrics-server/metrics-server",
      "prod1-ingress-controller: chart ingress-nginx 4.15.1 pulls controller.image from mirror.livemall.internal/teamx/registry.k8s.io/ingress-nginx/controller",
    ]);
  });

  test("minor 10: a map where the chart reads an image string is named, not composed to [object Object]", () => {
    const s = structuredClone(stacks.get("host")!);
    const v = release(s, "host-kubesphere-core").props.values;
    v.redisHA.exporter = { enabled: true, image: { repository: "oliver006/redis_exporter" } };
    expect(messages(s, "host")).toEqual([
      "host-kubesphere-core: chart ks-core 1.1.4 image redisHA.exporter.image: values.redisHA.exporter.image is a map where the chart reads a string, so its reference cannot be checked",
    ]);
  });
});

// Finding 6 of the #30 review: a mistake in either table (a reversed registry order, a form ignored, a row dropped
// or mistyped) must fail a test. Each case is the chart's or the type's upstream rule, given as a literal.
describe("the image tables, one case per form and row (#30 review, finding 6)", () => {
  const pulls = (chart: string, version: string, values: unknown) =>
    Object.fromEntries((chartImagePulls(chart, version, values) ?? []).map((p) => [p.path, p.unlisted ? "unlisted" : p.reference]));

  test("kube-prometheus-stack: global.imageRegistry wins over the image's own registry (`global.imageRegistry | default .registry`)", () => {
    const v = { global: { imageRegistry: "g.example" }, prometheusOperator: { thanosImage: { registry: "own.example" } } };
    expect(pulls("kube-prometheus-stack", "87.12.5", v)["prometheusOperator.thanosImage"]).toBe("g.example/thanos/thanos");
    expect(
      pulls("kube-prometheus-stack", "87.12.5", { prometheusOperator: { thanosImage: { registry: "own.example" } } })["prometheusOperator.thanosImage"],
    ).toBe("own.example/thanos/thanos");
  });

  test("kube-prometheus-stack: windowsMonitoring.enabled turns on prometheus-windows-exporter, a subchart the table does not read", () => {
    expect(pulls("kube-prometheus-stack", "87.12.5", {})["prometheus-windows-exporter"]).toBeUndefined();
    expect(pulls("kube-prometheus-stack", "87.12.5", { windowsMonitoring: { enabled: true } })["prometheus-windows-exporter"]).toBe("unlisted");
  });

  test("ingress-nginx: a whole repository (the image's, else global.image's) replaces registry/image", () => {
    expect(pulls("ingress-nginx", "4.15.1", {})["controller.image"]).toBe("registry.k8s.io/ingress-nginx/controller");
    expect(pulls("ingress-nginx", "4.15.1", { global: { image: { registry: "r.example" } } })["controller.image"]).toBe("r.example/ingress-nginx/controller");
    expect(
      pulls("ingress-nginx", "4.15.1", { controller: { image: { repository: "w.example/ctrl" } }, global: { image: { registry: "r.example" } } })[
        "controller.image"
      ],
    ).toBe("w.example/ctrl");
    expect(pulls("ingress-nginx", "4.15.1", { global: { image: { repository: "g.example/any" } } })["controller.admissionWebhooks.patch.image"]).toBe(
      "g.example/any",
    );
  });

  test("alibaba-cloud-csi-driver: no registry set falls back to the region's ACK registry (templates/_utils.tpl)", () => {
    const csi = pulls("alibaba-cloud-csi-driver", "1.36.2", {});
    expect([csi["images.registryVPC"], csi["images.registry"], csi["images.externalProvisioner"]]).toEqual([
      "registry-<deploy.regionID>-vpc.ack.aliyuncs.com/acs/csi-plugin",
      "registry-<deploy.regionID>.ack.aliyuncs.com/acs/csi-plugin",
      "registry-<deploy.regionID>-vpc.ack.aliyuncs.com/acs/csi-provisioner",
    ]);
  });

  test("ks-core: the image's own registry wins over global.imageRegistry (templates/_images.tpl:40-55)", () => {
    const v = { apiserver: { image: { registry: "own.example" } }, global: { imageRegistry: "g.example" } };
    expect(pulls("ks-core", "1.1.4", v)["apiserver.image"]).toBe("own.example/kubesphere/ks-apiserver");
    expect(pulls("ks-core", "1.1.4", v)["console.image"]).toBe("g.example/kubesphere/ks-console");
  });

  test("every custom-resource row, a *Patch read as the kind it patches", () => {
    const props = (spec: Record<string, unknown>) => ({ spec });
    const vmiSpec = {
      volumes: [{ containerDisk: { image: "a.example/disk" } }],
      domain: { firmware: { kernelBoot: { container: { image: "b.example/kernel" } } } },
    };
    expect(customResourceImages("kubernetes:kubevirt.io/v1:VirtualMachineInstance", props(vmiSpec))).toEqual([
      { path: "spec.volumes[0].containerDisk.image", image: "a.example/disk" },
      { path: "spec.domain.firmware.kernelBoot.container.image", image: "b.example/kernel" },
    ]);
    for (const kind of ["VirtualMachine", "VirtualMachineInstanceReplicaSet"])
      expect(customResourceImages(`kubernetes:kubevirt.io/v1:${kind}`, props({ template: { spec: vmiSpec } }))).toEqual([
        { path: "spec.template.spec.volumes[0].containerDisk.image", image: "a.example/disk" },
        { path: "spec.template.spec.domain.firmware.kernelBoot.container.image", image: "b.example/kernel" },
      ]);
    const thanos = props({ thanos: { image: "t.example/thanos", baseImage: "u.example/thanos" }, baseImage: "v.example/prom" });
    expect(customResourceImages("kubernetes:monitoring.coreos.com/v1:Prometheus", thanos)).toEqual([
      { path: "spec.baseImage", image: "v.example/prom" },
      { path: "spec.thanos.image", image: "t.example/thanos" },
      { path: "spec.thanos.baseImage", image: "u.example/thanos" },
    ]);
    expect(customResourceImages("kubernetes:monitoring.coreos.com/v1:PrometheusPatch", thanos)).toEqual(
      customResourceImages("kubernetes:monitoring.coreos.com/v1:Prometheus", thanos),
    );
    expect(
      customResourceImages("kubernetes:cdi.kubevirt.io/v1beta1:VolumeImportSourcePatch", props({ source: { registry: { url: "docker://c.example/img" } } })),
    ).toEqual([{ path: "spec.source.registry.url", image: "c.example/img" }]);
  });
});

describe("trusted-sources: the custom resources the #30 review found unread (T7, minor 8)", () => {
  test("KubeVirt's imageRegistry, a VirtualMachinePool's VM template and a DataImportCron's DataVolume template are read", () => {
    const s = structuredClone(stacks.get("prod1")!);
    const cr = (type: string, name: string, spec: Record<string, unknown>) => ({
      type,
      name,
      urn: `urn:pulumi:prod1::platform::${type}::${name}`,
      props: { spec },
    });
    s.resources.push(
      cr("kubernetes:kubevirt.io/v1:KubeVirt", "kv", { imageRegistry: "evil.example.com/kubevirt" }),
      cr("kubernetes:kubevirt.io/v1:KubeVirt", "kv-ok", { imageRegistry: "harbor.livemall.internal/commerce" }),
      cr("kubernetes:pool.kubevirt.io/v1alpha1:VirtualMachinePool", "pool", {
        virtualMachineTemplate: {
          spec: {
            template: { spec: { volumes: [{ containerDisk: { image: "evil.example.com/disk:1" } }] } },
            dataVolumeTemplates: [{ spec: { source: { registry: { url: "docker://evil.example.com/dv:1" } } } }],
          },
        },
      }),
      cr("kubernetes:cdi.kubevirt.io/v1beta1:DataImportCron", "cron", {
        template: { spec: { source: { registry: { url: "docker://evil.example.com/cron:1" } } } },
      }),
    );
    expect(messages(s).map((m) => m.split(", not from")[0])).toEqual([
      "kv: spec.imageRegistry pulls evil.example.com/kubevirt (evil.example.com/kubevirt)",
      "pool: spec.virtualMachineTemplate.spec.template.spec.volumes[0].containerDisk.image pulls evil.example.com/disk:1 (evil.example.com/disk)",
      "pool: spec.virtualMachineTemplate.spec.dataVolumeTemplates[0].spec.source.registry.url pulls evil.example.com/dv:1 (evil.example.com/dv)",
      "cron: spec.template.spec.source.registry.url pulls evil.example.com/cron:1 (evil.example.com/cron)",
    ]);
  });
});

test("trusted-sources: a registry or image value the table does not compose, unknown during preview, is refused (fails closed)", () => {
  const s = structuredClone(stacks.get("prod1")!);
  const v = release(s, "prod1-monitoring-kube-prometheus-stack").props.values;
  v.prometheusOperator.prometheusDefaultBaseImageRegistry = UNKNOWN;
  v.prometheus.prometheusSpec.thanos = { image: UNKNOWN };
  expect(messages(s).map((m) => m.split("; trusted sources live")[0])).toEqual([
    `prod1-monitoring-kube-prometheus-stack: values.prometheus.prometheusSpec.thanos.image ${UNKNOWN} is not a trusted source of chart images (mirror.livemall.internal)`,
    `prod1-monitoring-kube-prometheus-stack: values.prometheusOperator.prometheusDefaultBaseImageRegistry ${UNKNOWN} is not a trusted source of chart images (mirror.livemall.internal)`,
  ]);
});

test("trusted-sources: the CSI chart's other images keep their repositories (only the shared registry moves)", () => {
  const s = structuredClone(stacks.get("prod1")!);
  release(s, "prod1-disk-csi-driver").props.values.images.externalProvisioner = { repo: "evilorg/csi-provisioner" };
  expect(messages(s).map((m) => m.split("; only the registry")[0])).toEqual([
    "prod1-disk-csi-driver: chart alibaba-cloud-csi-driver 1.36.2 pulls images.externalProvisioner from mirror.livemall.internal/registry-cn-shanghai-vpc.ack.aliyuncs.com/evilorg/csi-provisioner: images.externalProvisioner.repo=evilorg/csi-provisioner is not the chart's repository acs/csi-provisioner, nor listed in chartImageRepositories (docker.io/apache/skywalking-oap-server, docker.io/apache/skywalking-ui)",
    // The pool's node-plugin DaemonSet is composed from the values merged with nodePools.default, so it is named too.
    "prod1-disk-csi-driver: chart alibaba-cloud-csi-driver 1.36.2 pulls nodePools.default merged over the values: images.externalProvisioner from mirror.livemall.internal/registry-cn-shanghai-vpc.ack.aliyuncs.com/evilorg/csi-provisioner: images.externalProvisioner.repo=evilorg/csi-provisioner is not the chart's repository acs/csi-provisioner, nor listed in chartImageRepositories (docker.io/apache/skywalking-oap-server, docker.io/apache/skywalking-ui)",
  ]);
});
