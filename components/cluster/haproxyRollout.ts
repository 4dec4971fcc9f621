// How a new haproxy.cfg reaches the HAProxy VMs. Their user data only runs at first boot
// (NodePool ignores userData changes), so a changed config is rolled out with Alibaba Cloud
// Assistant: one Command holding this config, one Invocation per VM, VM 1's after VM 0's
// succeeded. The provider's Invocation create waits for the status Success and fails on
// Failed/PartialFailed/Stopped (resource_alicloud_ecs_invocation.go, 81c43b67: the create's
// BuildStateConf), so a config that fails on VM 0 never reaches VM 1, and `pulumi up` stops there.
//
// On each VM, `haproxy-apply` (also what user data runs at first boot):
//   1. fills the stats password in from a file on the VM (see below),
//   2. validates the result with `haproxy -c` and keeps the running config if it is refused,
//   3. installs it, reloads HAProxy (the package's ExecReload re-checks and sends USR2: no
//      connection is dropped), and
//   4. checks the SLB check port: 200 again if it answered 200 before (a master is reachable),
//      at least an HTTP answer if no master was up yet (first boot); otherwise it puts the
//      previous config back, reloads, and fails the invocation.
//
// Secrets: a Command's content is readable by anyone allowed ecs:DescribeCommands (the
// alicloud_ecs_commands data source returns command_content), so neither it nor the user data
// holds the stats password. The rendered config carries a placeholder; the password is made on
// the VM at first need (/etc/haproxy/stats-password, root 0600) and never leaves it.
import { createHash } from "crypto";
import * as path from "path";
import { renderScript } from "../scriptFiles";
import { HAPROXY_MONITOR_URI } from "./haproxy";
import { HAPROXY_CHECK_PORT } from "../network/ports";

/** Where the rendered config (with the placeholder) is kept on the VM. */
export const HAPROXY_TEMPLATE_PATH = "/etc/haproxy/haproxy.cfg.tmpl";
export const HAPROXY_APPLY_PATH = "/usr/local/sbin/haproxy-apply";
/** The stats password, made on the VM; never in user data, command content or Pulumi state. */
export const HAPROXY_STATS_PASSWORD_PATH = "/etc/haproxy/stats-password";
/** Stands for the stats password in the rendered config (HAProxy's single-quoted `stats auth`); scripts/haproxy-apply.sh replaces it. */
export const STATS_PASSWORD_PLACEHOLDER = "@@HAPROXY_STATS_PASSWORD@@";
/**
 * CommandContent limit: "must be Base64-encoded and can be up to 18 KB" (Alibaba Cloud ROS
 * ALIYUN::ECS::Command, CommandContent; the CreateCommand API's limit). The provider does not check it.
 */
export const COMMAND_CONTENT_LIMIT_BYTES = 18 * 1024;
/** Cloud Assistant's own timeout for one run (Command `timeout`; the provider's default is 60 s). */
export const ROLLOUT_COMMAND_TIMEOUT_SECONDS = 900;

const SCRIPTS = path.join(__dirname, "scripts");
/** haproxy-apply's settings; the rollout command carries the same script. */
const APPLY_VARIABLES = { pwfile: HAPROXY_STATS_PASSWORD_PATH, check: `http://127.0.0.1:${HAPROXY_CHECK_PORT}${HAPROXY_MONITOR_URI}` };

/** The script that installs a rendered config on one HAProxy VM (scripts/haproxy-apply.sh; checked by shellcheck and a harness). */
export function haproxyApplyScript(): string {
  return renderScript(path.join(SCRIPTS, "haproxy-apply.sh"), APPLY_VARIABLES, { style: "assign" });
}

/** Its heredoc delimiter in scripts/haproxy-rollout.sh: the config must not hold it as a line. */
const CFG_EOF = "HAPROXY_CFG_EOF";

/** The Cloud Assistant command (scripts/haproxy-rollout.sh): wait for first boot, write the apply script and the config, apply. */
export function haproxyRolloutCommand(renderedCfg: string): string {
  if (renderedCfg.split("\n").includes(CFG_EOF)) throw new Error(`haproxyRolloutCommand: the content holds its heredoc delimiter ${CFG_EOF}`);
  const script = renderScript(path.join(SCRIPTS, "haproxy-rollout.sh"), APPLY_VARIABLES, { style: "assign", documents: { "haproxy.cfg": renderedCfg } });
  const encoded = Buffer.from(script).toString("base64");
  if (encoded.length > COMMAND_CONTENT_LIMIT_BYTES) {
    throw new Error(`haproxyRolloutCommand: command content is ${encoded.length} bytes base64, over Cloud Assistant's ${COMMAND_CONTENT_LIMIT_BYTES}`);
  }
  return script;
}

/** A short digest of the config, for the Command's name: each config is its own command. */
export function configDigest(renderedCfg: string): string {
  return createHash("sha256").update(renderedCfg).digest("hex").slice(0, 12);
}
