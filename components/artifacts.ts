// Rendered documents a reviewer wants to read next to a plan: each haproxy.cfg,
// cloud-init document and strongSwan config. Components hand them over here;
// only the offline preview collects them (in a real `pulumi up` this is a no-op),
// and it redacts every secret before writing them out.
import * as pulumi from "@pulumi/pulumi";

export type ArtifactKind = "haproxy" | "cloud-init" | "manifests" | "ipsec" | "dashboards";

export interface Artifact {
  kind: ArtifactKind;
  /** File name inside the kind's folder, e.g. `prod1-haproxy-0.cfg`. */
  file: string;
  text: string;
}

let pending: { kind: ArtifactKind; file: string; text: pulumi.Output<string> }[] | undefined;

/** Called by the offline runtime before a run; until then recordArtifact does nothing. */
export function resetArtifacts(): void {
  pending = [];
}

export function recordArtifact(kind: ArtifactKind, file: string, text: pulumi.Input<string>): void {
  // An Output as it is: pulumi.output() would wrap it in one more apply (a thousand workers, a thousand applies).
  pending?.push({ kind, file, text: pulumi.Output.isInstance(text) ? (text as pulumi.Output<string>) : pulumi.output(text) });
}

export async function collectArtifacts(): Promise<Artifact[]> {
  const all = pending ?? [];
  pending = undefined;
  return Promise.all(all.map((a) => new Promise<Artifact>((resolve) => a.text.apply((text) => resolve({ kind: a.kind, file: a.file, text })))));
}
