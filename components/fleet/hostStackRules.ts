// platform:hostStack names the host: a stack that exists (a Pulumi.<stack>.yaml
// in the project) and whose env is "host". Not the member itself, not another
// member. As a function returning problems, run by config validation.
import { PROJECT } from "../config/keys";

export interface KnownStack {
  name: string;
  /** platform:env as written in its stack file, if readable. */
  env?: string;
  /** platform:hostStack as written (members). */
  hostStack?: string;
  /** platform:kubesphere.enabled. */
  kubesphereEnabled?: boolean;
  /** platform:kubesphere.members as written (the host); anything, since another stack's file is not parsed here. */
  kubesphereMembers?: unknown;
}

/** The stack part of `org/project/stack`, `project/stack` or `stack`. */
export function stackPart(ref: string): string {
  const parts = ref.split("/");
  return parts[parts.length - 1];
}

/** `org/project/stack`, `project/stack` or `stack`: the parts Pulumi accepts. */
export function hostStackProblems(self: string, hostStack: string, known?: KnownStack[]): string[] {
  const key = `${PROJECT}:hostStack`;
  const parts = hostStack.split("/");
  const name = parts[parts.length - 1];
  const project = parts.length === 3 ? parts[1] : parts.length === 2 ? parts[0] : PROJECT;
  if (project !== PROJECT) return [`${key}: ${hostStack} names project "${project}"; the host is a stack of this project (${PROJECT})`];
  if (name === self) return [`${key}: ${hostStack} is this stack itself; name the host stack (e.g. org/${PROJECT}/host)`];
  if (!known) return [];
  const hit = known.find((s) => s.name === name);
  if (!hit) return [`${key}: ${hostStack}: no stack "${name}" in this project (stacks: ${known.map((s) => s.name).join(", ")})`];
  if (hit.env !== undefined && hit.env !== "host") return [`${key}: ${hostStack} is a member (platform:env ${hit.env}), not the host; name the host stack`];
  return [];
}
