// Applies every Kubernetes object a stack plans (Helm releases excepted) to a real api-server by
// server-side apply, in dependency order: CRDs, then Namespaces, then what others refer to (service
// accounts, roles, config maps, secrets, storage classes), then bindings, then workloads and the rest,
// then custom resources, then patches of objects charts create. A custom resource whose CRD no planned
// object defines gets the stand-in CRD of standInCrds.ts first. Each refusal names the object and
// carries the server's message.
import { randomBytes } from "crypto";
import { KubeClient, K8sObject, serverMessage } from "./kubeClient";
import type { PlannedObject, StackInputs } from "./stackInputs";
import { standInCrd, standInFor } from "./standInCrds";

export interface ApplyOutcome {
  /** `<Kind> <namespace>/<name>` or `<Kind> <name>`, then the Pulumi resource name. */
  object: string;
  resource: string;
  status: "applied" | "refused" | "skipped";
  /** The server's message (refused) or why it was not applied (skipped). */
  message?: string;
  applied?: K8sObject;
}

export interface ApplyReport {
  outcomes: ApplyOutcome[];
  /** The stand-in CRDs created (name -> the CRD file they abridge). */
  standIns: Record<string, string>;
  refused: ApplyOutcome[];
}

const BUILTIN_GROUP =
  /^(v1|(apps|batch|policy|autoscaling|networking\.k8s\.io|rbac\.authorization\.k8s\.io|storage\.k8s\.io|scheduling\.k8s\.io|coordination\.k8s\.io|discovery\.k8s\.io|node\.k8s\.io|admissionregistration\.k8s\.io|apiextensions\.k8s\.io|certificates\.k8s\.io|flowcontrol\.apiserver\.k8s\.io|resource\.k8s\.io)\/[a-z0-9]+)$/;

/** Apply order: lower first. */
export function rank(o: PlannedObject): number {
  const obj = o.object as unknown as K8sObject;
  if (o.patch) return 7;
  if (obj.kind === "CustomResourceDefinition") return 0;
  if (obj.kind === "Namespace") return 1;
  if (!BUILTIN_GROUP.test(obj.apiVersion)) return 6;
  if (["ServiceAccount", "ClusterRole", "Role", "ConfigMap", "Secret", "StorageClass", "PriorityClass"].includes(obj.kind)) return 2;
  if (["ClusterRoleBinding", "RoleBinding"].includes(obj.kind)) return 3;
  return 4;
}

export function describeObject(obj: K8sObject): string {
  return `${obj.kind} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ""}${obj.metadata?.name ?? "(no name)"}`;
}

/** The object as the Pulumi Kubernetes provider sends it: an auto-name (`<resource name>-<8 hex>`) when it has none. */
function asSent(o: PlannedObject): K8sObject {
  const obj = structuredClone(o.object) as unknown as K8sObject;
  obj.metadata = { ...(obj.metadata ?? {}) };
  if (!obj.metadata.name) obj.metadata.name = `${o.name}-${randomBytes(4).toString("hex")}`;
  return obj;
}

export async function applyPlan(client: KubeClient, inputs: StackInputs, log: (line: string) => void = () => undefined): Promise<ApplyReport> {
  const ordered = inputs.objects.map((o, i) => ({ o, i })).sort((a, b) => rank(a.o) - rank(b.o) || a.i - b.i);
  const outcomes: ApplyOutcome[] = [];
  const standIns: Record<string, string> = {};
  const helmByUrn = new Map(inputs.helmReleases.map((h) => [h.urn, h]));
  let crdsChanged = false;
  for (const { o } of ordered) {
    const obj = asSent(o);
    const object = describeObject(obj);
    if (crdsChanged && rank(o) > 0) {
      client.resetDiscovery();
      crdsChanged = false;
    }
    if (o.patch) {
      // A patch edits an object a chart creates, and the chart is not here. A patch of an object no planned chart
      // creates (a NamespacePatch) is a server-side apply, which creates the object when it is missing, as the
      // provider sends it (pulumi-kubernetes provider/pkg/await/await.go at 94977969, Creation: Patch resources
      // go through client.Patch with ApplyPatchType).
      const charts = o.dependsOn.map((u) => helmByUrn.get(u)).filter((h) => h !== undefined);
      if (charts.length > 0 && (await client.get(obj)).status === 404) {
        outcomes.push({
          object,
          resource: o.name,
          status: "skipped",
          message: `patches ${object}, which the Helm release ${charts.map((h) => `${h.name} (chart ${h.chart})`).join(", ")} creates; Helm releases are not installed here`,
        });
        continue;
      }
    }
    if (!(await client.resource(obj.apiVersion, obj.kind))) {
      const s = standInFor(obj.apiVersion, obj.kind);
      if (s) {
        const crd = standInCrd(s);
        const r = await client.apply(crd);
        if (r.status >= 300) throw new Error(`stand-in CRD ${crd.metadata.name} refused: ${serverMessage(r)}`);
        standIns[crd.metadata.name!] = s.source;
        log(`stand-in CRD ${crd.metadata.name} (for ${s.source})`);
        // Established takes a moment; discovery answers once it is.
        for (let i = 0; i < 100 && !(await client.resource(obj.apiVersion, obj.kind)); i++) {
          client.resetDiscovery();
          await new Promise((res) => setTimeout(res, 100));
        }
      }
    }
    const r = await client.apply(obj);
    if (r.status >= 200 && r.status < 300) {
      outcomes.push({ object, resource: o.name, status: "applied", applied: r.json as unknown as K8sObject });
      if (obj.kind === "CustomResourceDefinition") crdsChanged = true;
    } else {
      outcomes.push({ object, resource: o.name, status: "refused", message: `${r.status}: ${serverMessage(r)}` });
    }
  }
  return { outcomes, standIns, refused: outcomes.filter((x) => x.status === "refused") };
}

export function formatReport(report: ApplyReport): string {
  const lines: string[] = [];
  const n = (s: ApplyOutcome["status"]) => report.outcomes.filter((o) => o.status === s).length;
  for (const [name, source] of Object.entries(report.standIns)) lines.push(`stand-in CRD ${name} (abridged from ${source})`);
  for (const o of report.outcomes.filter((x) => x.status === "skipped")) lines.push(`skipped ${o.object} (${o.resource}): ${o.message}`);
  for (const o of report.refused) lines.push(`REFUSED ${o.object} (${o.resource}): ${o.message}`);
  lines.push(`server-side apply: ${n("applied")} applied, ${n("refused")} refused, ${n("skipped")} skipped`);
  return lines.join("\n");
}
