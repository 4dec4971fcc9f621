// Monitoring's rule on a secret input, as a function returning problems; config
// validation runs it before anything is registered (monitoringValues.ts keeps its assertion).
import { PROJECT } from "../config/keys";
import { httpUrlProblem } from "../config/kinds";

/**
 * platform:dingtalkWebhook is an https URL by the same rule as every URL key (kinds.ts httpUrlProblem: no
 * userinfo, a port 1-65535, an RFC 1123 host, written as the parser reads it); no line echoes any part of it
 * but a port number (the access token is the credential).
 */
export function dingtalkWebhookProblems(url: string): string[] {
  const problem = httpUrlProblem(url, ["https:"], { secret: true });
  return problem === undefined
    ? []
    : [`${PROJECT}:dingtalkWebhook: ${problem}, such as https://oapi.dingtalk.com/robot/send?access_token=... (value not shown: it is a secret)`];
}
