// What a stack gives the local control plane (issue 26), read from its offline plan exactly as
// `npm run preview` makes it: the kubeadm init configuration its first master's cloud-init carries,
// the files under /etc/kubernetes that cloud-init writes beside it (audit policy, admission config, ...),
// every node's join configuration, and every Kubernetes object the stack plans that is not a Helm release.
import { gunzipSync } from "zlib";
import YAML from "yaml";
import { KUBEADM_CONFIG_PATH, KUBEADM_INIT_CONFIG_PATH } from "../../components/cluster/kubeadm";
import { previewStack } from "../../components/preview/preview";
import { type Plan, type PlannedResource, unwrapSecrets } from "../../components/preview/runtime";

export interface PlannedObject {
  /** The Pulumi resource name and type token (what a refusal names besides the object). */
  name: string;
  type: string;
  urn: string;
  /** The object as registered, secrets unwrapped (the mocks' values). */
  object: Record<string, unknown>;
  /** A Patch resource (e.g. DeploymentPatch): it edits an object someone else (a chart) creates. */
  patch: boolean;
  /** URNs this object waits for. */
  dependsOn: string[];
}

export interface StackInputs {
  stack: string;
  /** Name of the cloud-init document the init configuration came from, e.g. prod1-master-0.yaml. */
  initSource: string;
  /** The kubeadm InitConfiguration + ClusterConfiguration + KubeletConfiguration document, as the master gets it. */
  initConfig: string;
  /** Files the same cloud-init writes under /etc/kubernetes (path -> content). */
  kubernetesFiles: Map<string, string>;
  /** Every node's join configuration (cloud-init file name -> kubeadm.yaml content). */
  joinConfigs: Map<string, string>;
  /** Planned Kubernetes objects other than Helm releases. */
  objects: PlannedObject[];
  /** Helm releases (name -> chart), listed so a report can say what was left out. */
  helmReleases: { name: string; chart: string; urn: string }[];
  plan: Plan;
}

interface WriteFile {
  path: string;
  content?: string;
  encoding?: string;
}

/** The content cloud-init writes for one write_files entry. */
export function decodeWriteFile(f: WriteFile): string {
  const c = f.content ?? "";
  switch (f.encoding) {
    case undefined:
    case "text/plain":
      return c;
    case "b64":
    case "base64":
      return Buffer.from(c, "base64").toString("utf8");
    case "gz+b64":
    case "gzip+base64":
    case "gz+base64":
      return gunzipSync(Buffer.from(c, "base64")).toString("utf8");
    default:
      throw new Error(`write_files ${f.path}: encoding ${f.encoding} is not one cloud-init documents`);
  }
}

/** write_files of one cloud-init document (path -> content). */
export function cloudInitFiles(text: string): Map<string, string> {
  const doc = YAML.parse(text) as { write_files?: WriteFile[] } | null;
  return new Map((doc?.write_files ?? []).map((f) => [f.path, decodeWriteFile(f)]));
}

const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";

/** Splits a plan into what the control plane needs. Throws when no cloud-init carries an init configuration. */
export function stackInputsFromPlan(stack: string, plan: Plan): StackInputs {
  const cloudInits = plan.artifacts.filter((a) => a.kind === "cloud-init").sort((a, b) => a.file.localeCompare(b.file, "en", { numeric: true }));
  let init: { file: string; files: Map<string, string> } | undefined;
  const joinConfigs = new Map<string, string>();
  for (const a of cloudInits) {
    const files = cloudInitFiles(a.text);
    if (files.has(KUBEADM_INIT_CONFIG_PATH) && !init) init = { file: a.file, files };
    const join = files.get(KUBEADM_CONFIG_PATH);
    if (join !== undefined) joinConfigs.set(a.file, join);
  }
  if (!init) throw new Error(`stack ${stack}: no cloud-init document in its plan writes ${KUBEADM_INIT_CONFIG_PATH} (no master?)`);
  const kubernetesFiles = new Map([...init.files].filter(([p]) => p.startsWith("/etc/kubernetes/")));
  const k8s = plan.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers:"));
  const objects = k8s
    .filter((r) => r.type !== HELM_RELEASE)
    .map((r: PlannedResource) => ({
      name: r.name,
      type: r.type,
      urn: r.urn,
      object: unwrapSecrets(plan.rawInputs[r.urn] ?? r.inputs) as Record<string, unknown>,
      patch: /Patch$/.test(r.type),
      dependsOn: r.dependsOn,
    }));
  const helmReleases = k8s
    .filter((r) => r.type === HELM_RELEASE)
    .map((r) => ({ name: r.name, chart: String((r.inputs as { chart?: unknown }).chart ?? "?"), urn: r.urn }));
  return { stack, initSource: init.file, initConfig: init.files.get(KUBEADM_INIT_CONFIG_PATH)!, kubernetesFiles, joinConfigs, objects, helmReleases, plan };
}

/** Plans the stack offline (as `npm run preview` does, `-c` overrides included) and splits the plan. */
export async function stackInputs(stack: string, overrides: string[] = []): Promise<StackInputs> {
  const { plan } = await previewStack({ stack, overrides });
  return stackInputsFromPlan(stack, plan);
}

/** The documents of a multi-document YAML text, by kind. */
export function documentsByKind(text: string): Map<string, Record<string, unknown>> {
  return new Map(
    YAML.parseAllDocuments(text)
      .map((d) => d.toJS() as Record<string, unknown> | null)
      .filter((d): d is Record<string, unknown> => !!d && typeof d.kind === "string")
      .map((d) => [d.kind as string, d]),
  );
}
