// Issue 27, in the plan: Pod Security's cluster-wide default and its exemptions reach the
// api-server (the AdmissionConfiguration in the masters' user data, the kubeadm flags that read it),
// DenyServiceExternalIPs is on, and the ValidatingAdmissionPolicies are planned with Deny bindings.
// What the real api-server does with them is in test/controlplane/controlPlane.test.ts.
import YAML from "yaml";
import { writeFileText } from "../../components/cluster/cloudInit";
import { ofType, plan, STACK_NAMES } from "../support/offline";

async function masterFiles(stack: string): Promise<Map<string, string>> {
  const p = await plan(stack);
  const art = p.artifacts.find((a) => a.kind === "cloud-init" && a.file.endsWith(`${stack}-master-0.yaml`))!;
  const doc = YAML.parse(art.text.replace(/^#cloud-config\n/, ""));
  return new Map(doc.write_files.map((f: { path: string; content: string; encoding?: string }) => [f.path, writeFileText(f)]));
}

test("prod1: the api-server reads PodSecurity defaults (baseline enforced, restricted warned and audited) with three named exemptions", async () => {
  const files = await masterFiles("prod1");
  expect(YAML.parse(files.get("/etc/kubernetes/admission/admission.yaml")!)).toEqual({
    apiVersion: "apiserver.config.k8s.io/v1",
    kind: "AdmissionConfiguration",
    plugins: [
      {
        name: "PodSecurity",
        configuration: {
          apiVersion: "pod-security.admission.config.k8s.io/v1",
          kind: "PodSecurityConfiguration",
          defaults: {
            enforce: "baseline",
            "enforce-version": "latest",
            audit: "restricted",
            "audit-version": "latest",
            warn: "restricted",
            "warn-version": "latest",
          },
          exemptions: { usernames: [], runtimeClasses: [], namespaces: ["kube-system", "monitoring", "logging"] },
        },
      },
    ],
  });
  const docs = YAML.parseAllDocuments(files.get("/etc/k8s-bootstrap/kubeadm-init.yaml")!).map((d) => d.toJS());
  const apiServer = docs.find((d) => d.kind === "ClusterConfiguration").apiServer;
  expect(apiServer.extraArgs).toEqual(
    expect.arrayContaining([
      { name: "enable-admission-plugins", value: "NodeRestriction,DenyServiceExternalIPs" },
      { name: "admission-control-config-file", value: "/etc/kubernetes/admission/admission.yaml" },
    ]),
  );
  expect(apiServer.extraVolumes).toContainEqual({
    name: "admission",
    hostPath: "/etc/kubernetes/admission",
    mountPath: "/etc/kubernetes/admission",
    readOnly: true,
    pathType: "DirectoryOrCreate",
  });
});

test("prod1: four ValidatingAdmissionPolicies, each bound with Deny; routes may not point into 100.64.0.0/10, link-local or the VPC", async () => {
  const p = await plan("prod1");
  const policies = ofType(p, "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy");
  expect(policies.map((x) => (x.inputs.metadata as { name: string }).name).sort()).toEqual([
    "platform-host-access",
    "platform-no-host-routes",
    "platform-node-volumes",
    "platform-system-deployers",
  ]);
  const bindings = ofType(p, "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding");
  expect(bindings.map((b) => b.inputs.spec).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
    { policyName: "platform-host-access", validationActions: ["Deny"] },
    { policyName: "platform-no-host-routes", validationActions: ["Deny"] },
    { policyName: "platform-node-volumes", validationActions: ["Deny"] },
    { policyName: "platform-system-deployers", validationActions: ["Deny"] },
  ]);
  const routes = policies.find((x) => (x.inputs.metadata as { name: string }).name === "platform-no-host-routes")!;
  const spec = routes.inputs.spec as { failurePolicy: string; validations: { expression: string }[] };
  expect(spec.failurePolicy).toBe("Fail");
  for (const v of spec.validations) {
    for (const range of ["100.64.0.0/10", "169.254.0.0/16", "fe80::/10", "10.40.0.0/16"]) expect(v.expression).toContain(`cidr('${range}').containsIP(`);
  }
  const host = policies.find((x) => (x.inputs.metadata as { name: string }).name === "platform-host-access")!;
  // Each grant: the service account and the controller whose pods alone may use it.
  const grant = (host.inputs.spec as { variables: { name: string; expression: string }[] }).variables.find((v) => v.name === "granted")!.expression;
  const grants = [...grant.matchAll(/variables\.workload == '([^']+)' && request\.userInfo\.username == 'system:serviceaccount:kube-system:([a-z-]+)'/g)];
  expect(grants.map((m) => `${m[1]} by ${m[2]}`)).toEqual([
    "kube-system/kube-proxy by daemon-set-controller",
    "kube-flannel/flannel by daemon-set-controller",
    "kube-system/kube-router by daemon-set-controller",
    "kube-system/alicloud-csi-node by daemon-set-controller",
    "kube-system/alicloud-csi-provisioner by replicaset-controller",
    "monitoring/kube-prometheus-stack-prometheus-node-exporter by daemon-set-controller",
    "logging/fluent-bit by daemon-set-controller",
  ]);
  // Only the endpoint controllers among the service accounts write routes unchecked.
  const routeExempt = (routes.inputs.spec as { matchConditions: { expression: string }[] }).matchConditions[0].expression;
  expect([...routeExempt.matchAll(/'system:serviceaccount:([^']+)'/g)].map((m) => m[1])).toEqual([
    "kube-system:endpoint-controller",
    "kube-system:endpointslice-controller",
    "kube-system:endpointslicemirroring-controller",
  ]);
});

test.each(STACK_NAMES)(
  "%s: platform-node-volumes refuses every hostPath and local PersistentVolume (no grant), bound with Deny, and the plan holds no such volume",
  async (stack) => {
    const p = await plan(stack);
    const named = (type: string) =>
      ofType(p, `kubernetes:admissionregistration.k8s.io/v1:${type}`).filter((r) => (r.inputs.metadata as { name: string }).name === "platform-node-volumes");
    const [policy, ...more] = named("ValidatingAdmissionPolicy");
    expect(more).toEqual([]);
    const spec = policy.inputs.spec as {
      failurePolicy: string;
      matchConstraints: unknown;
      matchConditions: unknown;
      variables: { name: string; expression: string }[];
    };
    expect(spec.failurePolicy).toBe("Fail");
    expect(spec.matchConstraints).toEqual({
      resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["persistentvolumes"] }],
    });
    expect(spec.matchConditions).toEqual([{ name: "takes-a-node-directory", expression: "has(object.spec.hostPath) || has(object.spec.local)" }]);
    expect(spec.variables.find((v) => v.name === "granted")!.expression).toBe("false");
    expect(named("ValidatingAdmissionPolicyBinding").map((b) => b.inputs.spec)).toEqual([{ policyName: "platform-node-volumes", validationActions: ["Deny"] }]);
    // Nothing the stack plans would need a grant.
    const volumes = ["kubernetes:core/v1:PersistentVolume", "kubernetes:core/v1:PersistentVolumePatch"].flatMap((t) => ofType(p, t));
    expect(volumes.filter((v) => ["hostPath", "local"].some((k) => k in ((v.inputs.spec as Record<string, unknown> | undefined) ?? {})))).toEqual([]);
  },
);

test("Pod Security privileged is labelled on kube-flannel and kubesphere-system only: the host's KubeSphere Namespace, a member's NamespacePatch", async () => {
  const privileged = async (stack: string) => {
    const p = await plan(stack);
    return ["kubernetes:core/v1:Namespace", "kubernetes:core/v1:NamespacePatch"]
      .flatMap((t) => ofType(p, t))
      .filter((r) => (r.inputs.metadata as { labels?: Record<string, string> }).labels?.["pod-security.kubernetes.io/enforce"] === "privileged")
      .map((r) => `${r.type.split(":").pop()} ${(r.inputs.metadata as { name: string }).name} (${r.name})`)
      .sort();
  };
  expect(await privileged("host")).toEqual([
    "Namespace kube-flannel (host-flannel-namespace-kube-flannel)",
    "Namespace kubesphere-system (host-kubesphere-namespace)",
  ]);
  expect(await privileged("prod1")).toEqual([
    "Namespace kube-flannel (prod1-flannel-namespace-kube-flannel)",
    "NamespacePatch kubesphere-system (prod1-kubesphere-namespace-labels)",
  ]);
});
