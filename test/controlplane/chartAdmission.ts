// The pods of the platform's Helm releases against a real api-server's admission (Pod Security and the
// ValidatingAdmissionPolicies): the control-plane harness installs no Helm release, so without this nothing
// would notice a chart whose pods the cluster refuses (ks-core's hostPath /etc/localtime did). The pod specs are
// the literal, cited fixtures of test/fixtures/chart-pods-admission.yaml; test/controlplane/controlPlane.test.ts
// runs these checks on prod1's control plane (one start shared with its other tests).
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { KubeClient, K8sObject, serverMessage } from "./kubeClient";

export interface ChartPod {
  workload: string;
  chart: string;
  source: string;
  namespace: string;
  /** The pod uses something Pod Security baseline refuses. */
  hostAccess: boolean;
  /** The controller that creates the pods (kube-system service account); replicaset-controller when absent. */
  createdBy?: string;
  spec: { serviceAccountName?: string; containers: Record<string, unknown>[]; initContainers?: Record<string, unknown>[]; [k: string]: unknown };
}

export const CHART_PODS_FIXTURE = path.join(__dirname, "..", "fixtures", "chart-pods-admission.yaml");

export function chartPods(): ChartPod[] {
  return YAML.parse(fs.readFileSync(CHART_PODS_FIXTURE, "utf8")) as ChartPod[];
}

/** Who creates a chart's pods: the controllers, as their own service accounts (kubeadm runs kube-controller-manager with --use-service-account-credentials). */
export function controllerIdentity(controller: string): { user: string; groups: string[] } {
  return {
    user: `system:serviceaccount:kube-system:${controller}`,
    groups: ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
  };
}
/** A Deployment's pods' creator. */
export const CONTROLLER = controllerIdentity("replicaset-controller");
/** The fixture's pods' creator. */
export const controllerOf = (f: ChartPod) => controllerIdentity(f.createdBy ?? "replicaset-controller");

const PLACEHOLDER_IMAGE = "registry.invalid/chart-image:placeholder";

/** The fixture as a Pod in `namespace`, run as `serviceAccount` (default: the chart's own). */
export function chartPod(f: ChartPod, namespace = f.namespace, serviceAccount?: string): K8sObject {
  const spec = structuredClone(f.spec);
  const withImage = (cs?: Record<string, unknown>[]) => cs?.map((c) => ({ image: PLACEHOLDER_IMAGE, ...c }));
  spec.containers = withImage(spec.containers)!;
  if (spec.initContainers) spec.initContainers = withImage(spec.initContainers);
  if (serviceAccount !== undefined) spec.serviceAccountName = serviceAccount;
  const name = f.workload
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 60)
    .replace(/-$/, "");
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace }, spec } as unknown as K8sObject;
}

/** Creates what pod admission needs first: the namespaces (unlabelled, as Helm's createNamespace makes them, when the plan has none) and service accounts. */
export async function prepare(admin: KubeClient, namespaces: string[], serviceAccounts: string[]): Promise<void> {
  const must = async (r: Promise<{ status: number; text: string }>) => {
    const x = await r;
    if (x.status >= 300 && x.status !== 409) throw new Error(`${x.status} ${x.text.slice(0, 300)}`);
  };
  for (const ns of namespaces) {
    await must(admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }));
    for (const sa of serviceAccounts) await must(admin.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: sa, namespace: ns } }));
  }
}

/** `<status> <message>` of a dry-run create, for readable failures. */
export async function submit(client: KubeClient, pod: K8sObject): Promise<{ status: number; message: string }> {
  const r = await client.create(pod, { dryRun: true });
  return { status: r.status, message: r.status === 201 ? "" : serverMessage(r) };
}
