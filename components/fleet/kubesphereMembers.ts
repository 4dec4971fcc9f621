// Which members the host registers in KubeSphere: the host lists them
// (`platform:kubesphere.members`) and pulls each one's dedicated credential
// through a StackReference host -> member; members read nothing from the host.
// Both sides are files in this repo, so a listed member that does not name
// this host, or a member with KubeSphere on that its host does not list, is
// caught offline, before any resource is registered. The member side is an
// error, not an advisory: such a member would issue a cluster-admin credential
// nobody uses and silently stay out of the console.
import { PROJECT } from "../config/keys";
import { KnownStack, stackPart } from "./hostStackRules";

const KEY = `${PROJECT}:kubesphere.members`;

/** Problems of `self`'s fleet registration, given every stack of the project (`known`, from their files). */
export function kubesphereMemberProblems(self: KnownStack, known: KnownStack[] | undefined): string[] {
  const members = Array.isArray(self.kubesphereMembers) ? (self.kubesphereMembers as unknown[]) : undefined;
  if (self.env === "host") {
    if (!members) return [];
    if (!self.kubesphereEnabled) return [`${KEY}: the host lists members but ${PROJECT}:kubesphere.enabled is not true; turn KubeSphere on or remove the list`];
    return hostListProblems(self.name, members, known);
  }
  if (self.kubesphereMembers !== undefined) return [`${KEY}: only the host stack lists members; remove the key from ${self.name}`];
  if (!self.kubesphereEnabled || !self.hostStack || !known) return [];
  const hostName = stackPart(self.hostStack);
  const host = known.find((s) => s.name === hostName);
  // A missing host, one that is a member, or a host file that does not read are hostStackProblems' and the
  // host file's own errors to report: checking against it would only add noise.
  if (!host || host.env !== "host") return [];
  const listed = Array.isArray(host.kubesphereMembers) ? (host.kubesphereMembers as unknown[]).map((m) => stackPart(String(m))) : [];
  return listed.includes(self.name)
    ? []
    : [
        `${PROJECT}:kubesphere.enabled: ${self.name} is not in ${KEY} of its host ${hostName} (Pulumi.${hostName}.yaml), so nothing would register it; ` +
          `add it there (then \`pulumi up\` this stack first, the host after) or set ${PROJECT}:kubesphere.enabled: false`,
      ];
}

function hostListProblems(hostName: string, members: unknown[], known: KnownStack[] | undefined): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const problem = (i: number, m: unknown): string | undefined => {
    const at = `${KEY}[${i}]`;
    const ref = String(m);
    const parts = ref.split("/");
    const name = stackPart(ref);
    const project = parts.length === 3 ? parts[1] : parts.length === 2 ? parts[0] : PROJECT;
    if (project !== PROJECT) return `${at}: ${ref} names project "${project}"; members are stacks of this project (${PROJECT})`;
    if (name === hostName) return `${at}: ${ref} is the host itself; list member stacks only`;
    if (seen.has(name)) return `${at}: ${ref} is listed twice`;
    seen.add(name);
    if (!known) return undefined;
    const member = known.find((s) => s.name === name);
    if (!member) return `${at}: ${ref}: no stack file Pulumi.${name}.yaml in this project (stacks: ${known.map((s) => s.name).join(", ")})`;
    if (!member.hostStack || stackPart(member.hostStack) !== hostName) {
      return `${at}: ${ref}: its ${PROJECT}:hostStack is ${member.hostStack ?? "not set"}, not this host (${hostName}); a member is registered only by its own host`;
    }
    if (!member.kubesphereEnabled) {
      return `${at}: ${ref}: ${PROJECT}:kubesphere.enabled is not true there, so it issues no credential for the host; turn it on there or remove ${name} here`;
    }
    return undefined;
  };
  members.forEach((m, i) => {
    const p = problem(i, m);
    if (p) out.push(p);
  });
  return out;
}

/** The fleet-wide view for `npm run check:fleet`: every stack's registration problems, each line prefixed with its stack file. */
export function fleetRegistrationProblems(known: KnownStack[]): string[] {
  return known.flatMap((s) => kubesphereMemberProblems(s, known).map((p) => `Pulumi.${s.name}.yaml: ${p}`));
}
