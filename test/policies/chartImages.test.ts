// T7's residuals (issue #30): images the pack read nowhere before. A custom resource's own image
// field (prometheus-operator, KubeVirt, CDI), and an image a Helm release leaves at its chart's default,
// each judged by trusted-sources against the pack config, tried on the real planned stacks.
import { trustedSources } from "../../policies/rules/sources";
import { CHART_IMAGE_VALUES } from "../../policies/rules/imageFields";
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
    // A repository without a host stays under the mirror's registry: passes.
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
      `p: spec.thanos.image ${UNKNOWN}, an image its operator pulls, so its registry cannot be checked (harbor.livemall.internal/commerce, harbor.livemall.internal/scm, mirror.livemall.internal/ghcr.io/flannel-io, mirror.livemall.internal/docker.io/timonwong/prometheus-webhook-dingtalk, mirror.livemall.internal/docker.io/library/busybox, mirror.livemall.internal/docker.io/curlimages/curl, mirror.livemall.internal/docker.io/apache/skywalking-java-agent)`,
      "am: spec.baseImage pulls quay.io/prometheus/alertmanager (quay.io/prometheus/alertmanager)",
      "tr: spec.image pulls thanos/thanos:v0.39 (docker.io/thanos/thanos)",
      "vm: spec.template.spec.volumes[1].containerDisk.image pulls evil.example/disk:1 (evil.example/disk)",
      "vm: spec.dataVolumeTemplates[0].spec.source.registry.url pulls evil.example/dv:1 (evil.example/dv)",
    ]);
  });
});
