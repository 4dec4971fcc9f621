// Issue #30, T11: the ValidatingAdmissionPolicy refusing hostPath and local PersistentVolumes outside
// NODE_VOLUME_GRANTS (components/k8s/admissionPolicy.ts), as an object: what it matches, how a grant
// reads, which grants are refused before anything is planned, and that its grants and the policy pack's
// (`PersistentVolume/<name>` in pod-privileges.privilegedWorkloads) are the same volumes. What the real
// api-server does with it is in test/controlplane/controlPlane.test.ts.
import * as fs from "fs";
import * as path from "path";
import { admissionPolicyObjects, NODE_VOLUME_GRANTS, nodeVolumesPolicy } from "../../components/k8s/admissionPolicy";
import type { K8sObject } from "../../components/k8s/k8sObjects";

const ROOT = path.join(__dirname, "..", "..");
type Spec = {
  failurePolicy: string;
  matchConstraints: unknown;
  matchConditions: { name: string; expression: string }[];
  variables: { name: string; expression: string }[];
  validations: { expression: string; messageExpression: string }[];
};
const spec = (o: K8sObject) => o.spec as Spec;
const variable = (s: Spec, name: string) => s.variables.find((v) => v.name === name)!.expression;

test("the policy matches PersistentVolume CREATE and UPDATE (not status), only those with spec.hostPath or spec.local, and fails closed", () => {
  const p = nodeVolumesPolicy({});
  expect(p.metadata.name).toBe("platform-node-volumes");
  const s = spec(p);
  expect(s.failurePolicy).toBe("Fail");
  expect(s.matchConstraints).toEqual({
    resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["persistentvolumes"] }],
  });
  expect(s.matchConditions).toEqual([{ name: "takes-a-node-directory", expression: "has(object.spec.hostPath) || has(object.spec.local)" }]);
  // No grant: nothing but a deleting volume losing its finalizers passes.
  expect(variable(s, "granted")).toBe("false");
  expect(s.validations).toHaveLength(1);
  expect(s.validations[0].expression).toBe(
    "variables.granted || (request.operation == 'UPDATE' && has(oldObject.metadata.deletionTimestamp) && object.spec == oldObject.spec)",
  );
});

test("a grant names the volume, its source and its one path (each a JSON-escaped CEL string literal)", () => {
  const s = spec(
    nodeVolumesPolicy({
      scratch: { why: "test", source: "hostPath", path: "/var/scratch" },
      "disk-0.node-1": { why: "test", source: "local", path: `/mnt/"x'` },
    }),
  );
  expect(variable(s, "granted")).toBe(
    `(object.metadata.name == "scratch" && variables.source == 'hostPath' && variables.path == "/var/scratch") || ` +
      `(object.metadata.name == "disk-0.node-1" && variables.source == 'local' && variables.path == "/mnt/\\"x'")`,
  );
});

test.each([
  [
    "a capital in the name",
    { Scratch: { why: "", source: "hostPath" as const, path: "/x" } },
    'NODE_VOLUME_GRANTS: "Scratch" is not a PersistentVolume name (a DNS-1123 subdomain, at most 253 characters)',
  ],
  [
    "a 254-character name",
    { ["a".repeat(254)]: { why: "", source: "local" as const, path: "/x" } },
    `NODE_VOLUME_GRANTS: "${"a".repeat(254)}" is not a PersistentVolume name`,
  ],
  [
    "a relative path",
    { scratch: { why: "", source: "hostPath" as const, path: "var/scratch" } },
    `NODE_VOLUME_GRANTS.scratch.path: "var/scratch" must be an absolute path without '..' (the api-server refuses '..')`,
  ],
  [
    "'..' in the path",
    { scratch: { why: "", source: "local" as const, path: "/var/scratch/../../" } },
    `NODE_VOLUME_GRANTS.scratch.path: "/var/scratch/../../" must be an absolute path without '..'`,
  ],
])("a grant the api-server could never match is refused before anything is planned: %s", (_what, grants, message) => {
  expect(() => nodeVolumesPolicy(grants)).toThrow(message);
  expect(() => admissionPolicyObjects("10.40.0.0/16", grants)).toThrow(message);
});

test("the program grants no hostPath or local volume today, and its grants are the policy pack's PersistentVolume/<name> grants", () => {
  expect(NODE_VOLUME_GRANTS).toEqual({});
  const files = fs.readdirSync(path.join(ROOT, "policies", "config")).filter((f) => f.endsWith(".json"));
  expect(files.sort()).toEqual(["nonprod.json", "prod.json"]);
  for (const f of files) {
    const config = JSON.parse(fs.readFileSync(path.join(ROOT, "policies", "config", f), "utf8")) as Record<string, { privilegedWorkloads?: string[] }>;
    const workloads = config["pod-privileges"].privilegedWorkloads!;
    expect(workloads.length).toBeGreaterThan(0);
    const pack = workloads.filter((w) => w.startsWith("PersistentVolume/")).map((w) => w.slice("PersistentVolume/".length));
    expect([f, pack.sort()]).toEqual([f, Object.keys(NODE_VOLUME_GRANTS).sort()]);
  }
});

test("admissionPolicyObjects: the policy and its Deny binding come last, after the three others", () => {
  const objects = admissionPolicyObjects("10.40.0.0/16");
  expect(objects.map((o) => `${o.kind} ${o.metadata.name}`)).toEqual([
    "ValidatingAdmissionPolicy platform-no-host-routes",
    "ValidatingAdmissionPolicyBinding platform-no-host-routes",
    "ValidatingAdmissionPolicy platform-host-access",
    "ValidatingAdmissionPolicyBinding platform-host-access",
    "ValidatingAdmissionPolicy platform-system-deployers",
    "ValidatingAdmissionPolicyBinding platform-system-deployers",
    "ValidatingAdmissionPolicy platform-node-volumes",
    "ValidatingAdmissionPolicyBinding platform-node-volumes",
  ]);
  expect(objects[7].spec).toEqual({ policyName: "platform-node-volumes", validationActions: ["Deny"] });
});
