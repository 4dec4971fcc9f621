// Monitoring's rule on a secret input, as a function returning problems; config
// validation runs it before anything is registered (monitoringValues.ts keeps its assertion).
import { PROJECT } from "../config/keys";

/** platform:dingtalkWebhook is an https URL; the message never echoes it (the access token is the credential). */
export function dingtalkWebhookProblems(url: string): string[] {
  return /^https:\/\/[^\s]+$/.test(url)
    ? []
    : [`${PROJECT}:dingtalkWebhook: must be an https URL such as https://oapi.dingtalk.com/robot/send?access_token=... (value not shown: it is a secret)`];
}
