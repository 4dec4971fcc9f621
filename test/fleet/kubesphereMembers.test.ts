// Members leave ks-core to the host's cluster controller (registered by the host) (kubesphere v4.1.3
// pkg/controller/cluster/helper.go installs and upgrades it from the host);
// the host's telemetry is really off (the chart reads a Secret, not a value).
import * as YAML from "yaml";
import { kubesphereValues, memberClusterConfig, TELEMETRY_SECRET, telemetrySecret } from "../../components/fleet/kubesphere";
import { loadEngineConfig } from "../../components/config/stackFiles";
import { ofType, plan } from "../support/offline";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const CLUSTER = "kubernetes:cluster.kubesphere.io/v1alpha1:Cluster";
const MEMBERS = ["pre", "prod1", "prod2"];

describe.each(MEMBERS)("member %s", (stack) => {
  test("installs no ks-core release; the host registers it with its values in Cluster spec.config", async () => {
    const p = await plan(stack);
    expect(ofType(p, RELEASE).filter((r) => r.inputs.chart === "ks-core")).toEqual([]);
    // The member registers nothing itself: the host pulls the registration (components/fleet/memberRegistrations.ts).
    expect(ofType(p, CLUSTER)).toEqual([]);
    const host = await plan("host");
    const cluster = ofType(host, CLUSTER).find((c) => (c.inputs.metadata as { name: string }).name === stack)!;
    const meta = cluster.inputs.metadata as { name: string; labels?: Record<string, string> };
    // v4.1.3 defines only cluster-role.kubesphere.io/host; a member label is read by nothing.
    expect(meta.labels ?? {}).toEqual({});
    // The spec holds the member's credential, so the plan shows it as a secret; its config is memberClusterConfig's.
    expect(cluster.inputs.spec).toBe("[secret]");
    const spec = (host.rawInputs[cluster.urn].spec as { value: { config: string } }).value;
    const mirror = JSON.parse(loadEngineConfig(stack).values["platform:images"]).registry;
    expect(spec.config).toBe(memberClusterConfig(mirror));
    const config = YAML.parse(Buffer.from(memberClusterConfig(mirror), "base64").toString());
    expect(config).toEqual({
      multicluster: { role: "member", hostClusterName: "host" },
      global: { imageRegistry: `${mirror}/docker.io` },
      ha: { enabled: false },
      redisHA: { enabled: false },
    });
    expect(JSON.stringify(config)).not.toContain("portal");
  });
});

test("host: the telemetry Secret (enabled: false) exists before the ks-core release, adoptable by Helm", async () => {
  const p = await plan("host");
  const [core] = ofType(p, RELEASE).filter((r) => r.inputs.chart === "ks-core");
  expect(core.inputs.createNamespace).toBe(false);
  const secret = ofType(p, "kubernetes:core/v1:Secret").find((s) => (s.inputs.metadata as { name: string }).name === TELEMETRY_SECRET)!;
  expect(core.dependsOn).toContain(secret.urn);
  const { apiVersion: _a, kind: _k, stringData, ...planned } = telemetrySecret("kubesphere-system", "ks-core");
  expect(YAML.parse((stringData as Record<string, string>)["configuration.yaml"]).enabled).toBe(false);
  expect({ ...secret.inputs, stringData: undefined }).toMatchObject({ ...planned, stringData: undefined });
  expect(secret.inputs.metadata).toMatchObject({
    namespace: "kubesphere-system",
    labels: { "app.kubernetes.io/managed-by": "Helm" },
    annotations: { "meta.helm.sh/release-name": "ks-core", "meta.helm.sh/release-namespace": "kubesphere-system" },
  });
  expect(secret.inputs.type).toBe("config.kubesphere.io/generic-platform-config");
});

test("values: no telemetry value (read by no template), portal.hostname left at the chart's resolvable default", () => {
  for (const role of ["host", "member"] as const) {
    const v = kubesphereValues(role, "mirror.example.com");
    expect(v).not.toHaveProperty("telemetry");
    expect(v).not.toHaveProperty("portal");
  }
  // The exact text platformconfig-telemetry.yaml renders, so Helm's re-render changes nothing.
  expect((telemetrySecret("ns", "rel").stringData as Record<string, string>)["configuration.yaml"]).toBe(
    'enabled: false\nendpoint: "https://kubesphere.cloud"\n',
  );
});
