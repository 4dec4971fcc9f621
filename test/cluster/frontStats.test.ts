// The HAProxy stats page: off by default (no listener, no password, no security group rule);
// with `platform:apiServerFront.statsPage: true`, reachable only from the front's own vswitches,
// in haproxy.cfg (ACL) and in the security group alike. The real `haproxy -c` checks both configs.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError, parseStackConfig } from "../../components/config/stackConfig";
import { loadEngineConfig } from "../../components/config/stackFiles";
import { HAPROXY_STATS_PORT } from "../../components/network/ports";
import { STATS_PASSWORD_PLACEHOLDER } from "../../components/cluster/haproxyRollout";
import { ofType, plan } from "../support/offline";

const RULE = "alicloud:ecs/securityGroupRule:SecurityGroupRule";
const ON = ["platform:apiServerFront.statsPage=true"];
const statsRules = (p: Awaited<ReturnType<typeof plan>>) => ofType(p, RULE).filter((r) => r.inputs.portRange === `${HAPROXY_STATS_PORT}/${HAPROXY_STATS_PORT}`);
const cfgOf = (p: Awaited<ReturnType<typeof plan>>, host: string) => p.artifacts.find((a) => a.kind === "haproxy" && a.file === `${host}.cfg`)!.text;

function haproxyCheck(cfg: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "front-stats-"));
  try {
    const file = path.join(dir, "haproxy.cfg");
    fs.writeFileSync(file, cfg.replace(/maxconn 20000/g, "maxconn 1000"));
    return execFileSync("haproxy", ["-c", "-f", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("HAProxy stats page", () => {
  test.each(["prod1", "dev"])("%s: off by default: no listener, no password, no port open in any security group", async (stack) => {
    const p = await plan(stack);
    expect(statsRules(p)).toEqual([]);
    expect(p.resources.filter((r) => r.name.endsWith("-haproxy-stats"))).toEqual([]);
    const cfg = cfgOf(p, `${stack}-haproxy-0`);
    expect(cfg).not.toMatch(/listen stats|stats auth|:9000/);
    expect(cfg).toMatch(/^ {2}user haproxy\n {2}group haproxy\n {2}chroot \/var\/lib\/haproxy$/m);
    expect(haproxyCheck(cfg)).toMatch(/Configuration file is valid/);
  });

  test("prod1 with statsPage on: open from the two HAProxy vswitches only, in the security group and in haproxy.cfg", async () => {
    const p = await plan("prod1", ON);
    // prod1's vswitches are 10.40.0.0/18, 10.40.64.0/18, 10.40.128.0/18; HAProxy VMs sit in the first two.
    const rules = statsRules(p);
    expect(rules.map((r) => r.inputs.cidrIp).sort()).toEqual(["10.40.0.0/18", "10.40.64.0/18"]);
    for (const r of rules) expect(r.inputs).toMatchObject({ type: "ingress", ipProtocol: "tcp", policy: "accept" });
    const front = ofType(p, "alicloud:ecs/securityGroup:SecurityGroup").find((g) => g.name === "prod1-sg-front")!;
    for (const r of rules) expect(r.dependsOn).toContain(front.urn);
    for (const host of ["prod1-haproxy-0", "prod1-haproxy-1"]) {
      const cfg = cfgOf(p, host);
      expect(cfg).toContain("  acl stats_from src 10.40.0.0/18 10.40.64.0/18\n  tcp-request connection reject unless stats_from\n");
      // The password is made on the VM (haproxyRollout.ts): the config, the user data and the
      // Cloud Assistant command carry a placeholder, so no plan artifact or state holds it.
      expect(cfg).toContain(`  stats auth 'admin:${STATS_PASSWORD_PLACEHOLDER}'\n`);
      expect(haproxyCheck(cfg)).toMatch(/Configuration file is valid/);
    }
    expect(p.resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword" && r.name.includes("haproxy"))).toEqual([]);
  });

  test("a bad value is one error naming the key, before any resource", () => {
    const c = loadEngineConfig("prod1", ["platform:apiServerFront.statsPage=yes"]);
    let problems: string[] = [];
    try {
      parseStackConfig("prod1", { values: c.values, secretKeys: c.secretKeys });
    } catch (e) {
      problems = (e as ConfigError).problems;
    }
    expect(problems).toEqual(['platform:apiServerFront.statsPage: must be boolean, got "yes"']);
  });
});
