// The workers' join token, minted by the masters and never by the program (it replaced the
// Pulumi-managed `bootstrap-token-*` Secret of the former joinToken.ts on 2026-12-07).
// A timer on every master (k8s-worker-token.timer, scripts/k8s-worker-token.sh) keeps one valid
// kubeadm bootstrap token in a KMS Secrets Manager secret of its own, `<cluster>-worker-join`: when
// the stored token has less than REFRESH hours left, or its `bootstrap-token-<id>` Secret is gone,
// it runs `kubeadm token create --ttl 4h` and stores the token as the secret's new version
// (creating the secret the first time). A worker's bootstrap reads it at each join attempt with the
// workers' instance role, whose only KMS right is GetSecretValue on that secret
// (scripts/k8s-bootstrap-worker.sh): a new or re-created worker always finds a token valid for 2 h or more.
//
// Why: kube-controller-manager's tokencleaner deletes an expired bootstrap-token Secret (kubeadm
// runs it: --controllers=*,bootstrapsigner,tokencleaner), so a Secret the program owns goes missing
// every night and `preview --refresh --expect-no-changes` reports drift; and a worker re-created
// under the same name keeps the expired token in its user data. Here the program owns no token
// and no token is in any user data: the tokens are kubeadm's own expiring Secrets
// (bootstraptoken/v1: "This token is and should be short-lived"). The KMS secret is not a Pulumi
// resource either (its value changes every few hours).
import * as path from "path";
import type { PolicyStatement } from "./masterRole";
import { renderScript, renderUnit, scriptFile } from "../scriptFiles";
import { METADATA_ADDRESS } from "../network/ports";

const SCRIPTS = path.join(__dirname, "scripts");

/** Hours a minted worker token is valid. */
export const WORKER_TOKEN_TTL_HOURS = 4;
/** A stored token with less than this many hours left is replaced (the timer runs every 5 minutes). */
export const WORKER_TOKEN_REFRESH_HOURS = 2;
export const WORKER_TOKEN_SCRIPT_PATH = "/usr/local/sbin/k8s-worker-token.sh";
export const WORKER_TOKEN_UNIT = "k8s-worker-token";

/** The KMS secret holding the current worker token: `<cluster>-worker-join`. */
export function joinTokenSecretName(clusterName: string): string {
  return `${clusterName}-worker-join`;
}

/** Its ARN, any account (the role is of this account anyway): the secret is not a Pulumi resource, so no output names it. */
export function joinTokenSecretArn(region: string, clusterName: string): string {
  return `acs:kms:${region}:*:secret/${joinTokenSecretName(clusterName)}`;
}

/** The masters: read, write and create that one secret (and use the KMS 3.0 key, when one encrypts it). */
export function masterJoinTokenStatements(region: string, clusterName: string, keyArn?: string): PolicyStatement[] {
  return [
    { Effect: "Allow", Action: ["kms:GetSecretValue", "kms:PutSecretValue", "kms:CreateSecret"], Resource: [joinTokenSecretArn(region, clusterName)] },
    ...(keyArn ? [{ Effect: "Allow" as const, Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], Resource: [keyArn] }] : []),
  ];
}

/** The workers: read that one secret. */
export function workerJoinTokenStatements(region: string, clusterName: string, keyArn?: string): PolicyStatement[] {
  return [
    { Effect: "Allow", Action: ["kms:GetSecretValue"], Resource: [joinTokenSecretArn(region, clusterName)] },
    ...(keyArn ? [{ Effect: "Allow" as const, Action: ["kms:Decrypt"], Resource: [keyArn] }] : []),
  ];
}

export interface WorkerTokenSettings {
  /** KMS endpoint (https URL). */
  kmsUrl: string;
  clusterName: string;
  /** The masters' instance RAM role. */
  ramRole: string;
  /** KMS 3.0 instance and key, when the secrets live there. */
  kmsInstanceId?: string;
  kmsKeyId?: string;
}

/** The master's timer script. Every setting is a default the environment may override (the tests do). */
export function workerTokenScript(s: WorkerTokenSettings): string {
  return renderScript(path.join(SCRIPTS, "k8s-worker-token.sh"), {
    KMS_URL: s.kmsUrl,
    SECRET_NAME: joinTokenSecretName(s.clusterName),
    RAM_ROLE: s.ramRole,
    METADATA_URL: `http://${METADATA_ADDRESS}`,
    KUBECONFIG_FILE: "/etc/kubernetes/admin.conf",
    TTL_HOURS: WORKER_TOKEN_TTL_HOURS,
    REFRESH_HOURS: WORKER_TOKEN_REFRESH_HOURS,
    KMS_INSTANCE_ID: s.kmsInstanceId,
    KMS_KEY_ID: s.kmsKeyId,
  });
}

/**
 * k8s-worker-token.service and .timer: every 5 minutes on every master, once it runs a control plane
 * (a condition-skipped run before kubeadm wrote admin.conf costs nothing). The service runs in
 * METADATA_SLICE: on a master only that slice reaches the metadata service (bootstrapUnits.ts).
 */
export function workerTokenUnits(scriptPath = WORKER_TOKEN_SCRIPT_PATH): { service: string; timer: string } {
  return {
    service: renderUnit(path.join(SCRIPTS, "k8s-worker-token.service"), { ExecStart: scriptPath }),
    timer: scriptFile(path.join(SCRIPTS, "k8s-worker-token.timer")),
  };
}
