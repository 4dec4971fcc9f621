// The host's side of KubeSphere registration: for each member it lists
// (`platform:kubesphere.members`, validated by kubesphereMembers.ts), one
// StackReference host -> member, from which it takes two outputs: the
// `kubesphere-host` kubeconfig the member issued for it (secret;
// kubesphereHostAccess.ts) and the member's api-server URL. The member's image
// mirror, a static fact, comes from its stack file. A StackReference reads the
// whole of the member's outputs, so whoever runs the host can read each
// member's stack: the host is the fleet's most trusted stack, and holds
// cluster-admin on every member through those credentials anyway.
import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "../config/keys";
import { PROJECT_DIR, readStackFile } from "../config/stackFiles";
import { stackPart } from "./hostStackRules";
import { MemberRegistration } from "./kubesphere";
import { API_SERVER_OUTPUT, HOST_CREDENTIAL_OUTPUT } from "./kubesphereHostAccess";

/** @param members `platform:kubesphere.members` as written (`org/platform/prod1`). */
export function memberRegistrations(members: string[], dir = PROJECT_DIR): MemberRegistration[] {
  return members.map((ref) => {
    const name = stackPart(ref);
    const images = readStackFile(name, dir).values[`${PROJECT}:images`] as { registry?: string } | undefined;
    const member = new pulumi.StackReference(`kubesphere-member-${name}`, { name: ref });
    return {
      name,
      server: member.requireOutput(API_SERVER_OUTPUT) as pulumi.Output<string>,
      kubeconfig: pulumi.secret(member.requireOutput(HOST_CREDENTIAL_OUTPUT) as pulumi.Output<string>),
      imageMirror: images?.registry,
    };
  });
}
