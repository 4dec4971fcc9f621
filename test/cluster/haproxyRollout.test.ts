// The HAProxy config rollout: shellcheck on both scripts, haproxy-apply run end to end in a
// harness (the real `haproxy -c`, stub systemctl/curl/sleep) against an /etc/haproxy in a temp
// directory, the Cloud Assistant command run the same way, and the plan: a Command per config,
// one Invocation per VM, VM 1's after VM 0's, no secret in the content.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderHaproxyCfg } from "../../components/cluster/haproxy";
import {
  COMMAND_CONTENT_LIMIT_BYTES,
  HAPROXY_APPLY_PATH,
  haproxyApplyScript,
  haproxyRolloutCommand,
  HAPROXY_TEMPLATE_PATH,
  STATS_PASSWORD_PLACEHOLDER,
} from "../../components/cluster/haproxyRollout";
import { diffPlans } from "../../components/preview/planDiff";
import { byName, ofType, plan } from "../support/offline";

const masters = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `prod1-master-${i}`, address: `10.40.0.${10 + i}` }));
const template = (n: number, stats = true) =>
  renderHaproxyCfg({ masters: masters(n), ...(stats ? { statsPassword: STATS_PASSWORD_PLACEHOLDER, statsAllowFrom: ["10.40.0.0/18"] } : {}) });

function shellcheck(script: string): { status: number | null; out: string } {
  const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: script, encoding: "utf8" });
  if (r.error) throw r.error;
  return { status: r.status, out: r.stdout + r.stderr };
}

describe("shellcheck", () => {
  test("haproxy-apply is clean", () => {
    expect(shellcheck(haproxyApplyScript())).toEqual({ status: 0, out: "" });
  });
  test("the Cloud Assistant command is clean", () => {
    expect(shellcheck(haproxyRolloutCommand(template(3)))).toEqual({ status: 0, out: "" });
  });
  test("and can fail", () => {
    expect(shellcheck(haproxyApplyScript().replace('cmp -s "$new" "$cfg"', "cmp -s $new $cfg")).status).not.toBe(0);
  });
});

/** A VM in a directory: /etc/haproxy and /usr/local/sbin under root, stub tools first on PATH. */
class Vm {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), "haproxy-rollout-"));
  readonly etc = path.join(this.root, "etc/haproxy");
  readonly bin = path.join(this.root, "bin");
  constructor() {
    fs.mkdirSync(this.etc, { recursive: true });
    fs.mkdirSync(this.bin);
    fs.mkdirSync(path.join(this.root, "sbin"));
    const stub = (name: string, body: string) => fs.writeFileSync(path.join(this.bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
    const log = path.join(this.root, "calls.log");
    // The real parser; maxconn 20000 needs more descriptors than a CI container may grant.
    stub(
      "haproxy",
      `echo "haproxy $*" >>${log}\nf="\${*: -1}"\nsed 's/maxconn 20000/maxconn 1000/' "$f" >"$f.check"\n/usr/sbin/haproxy "\${@:1:$#-1}" "$f.check"; rc=$?\nrm -f "$f.check"\nexit $rc`,
    );
    stub(
      "systemctl",
      `echo "systemctl $*" >>${log}\nif [ "$1" = is-active ]; then [ -e ${this.root}/active ]; exit; fi\n[ "$1" = enable ] && touch ${this.root}/active\nexit 0`,
    );
    // The check port's answers, one line per call; the last one repeats.
    stub("curl", `codes=${this.root}/codes\nc=$(head -n1 "$codes")\n[ "$(wc -l <"$codes")" -gt 1 ] && sed -i 1d "$codes"\nprintf '%s' "$c"`);
    stub("sleep", "exit 0");
    stub("cloud-init", `echo "cloud-init $*" >>${log}`);
  }
  /** The check port answers these codes in turn (000: nothing listening). */
  codes(...c: string[]): void {
    fs.writeFileSync(path.join(this.root, "codes"), `${c.join("\n")}\n`);
  }
  active(on: boolean): void {
    if (on) fs.writeFileSync(path.join(this.root, "active"), "");
    else fs.rmSync(path.join(this.root, "active"), { force: true });
  }
  /** A script with its paths moved into this VM. */
  localize(script: string): string {
    return script.replaceAll("/usr/local/sbin", path.join(this.root, "sbin")).replaceAll("/etc/haproxy", this.etc);
  }
  run(script: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const file = path.join(this.root, `script-${Math.random().toString(36).slice(2)}.sh`);
    fs.writeFileSync(file, this.localize(script), { mode: 0o755 });
    fs.writeFileSync(path.join(this.root, "calls.log"), "");
    const r = spawnSync("bash", [file, ...args], { encoding: "utf8", env: { ...process.env, PATH: `${this.bin}:${process.env.PATH}` }, timeout: 30_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }
  apply(cfg: string) {
    const t = path.join(this.etc, "haproxy.cfg.tmpl");
    fs.writeFileSync(t, cfg);
    return this.run(haproxyApplyScript(), t);
  }
  calls(): string[] {
    return fs.readFileSync(path.join(this.root, "calls.log"), "utf8").split("\n").filter(Boolean);
  }
  read(f: string): string {
    return fs.readFileSync(path.join(this.etc, f), "utf8");
  }
  mode(f: string): string {
    return (fs.statSync(path.join(this.etc, f)).mode & 0o777).toString(8);
  }
  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

describe("haproxy-apply in a harness", () => {
  let vm: Vm;
  beforeEach(() => (vm = new Vm()));
  afterEach(() => vm.cleanup());

  test("first boot: fills in a password made on the VM (0600), validates, installs (0640), starts HAProxy, accepts 503 while no master is up", () => {
    vm.codes("000", "000", "503");
    const r = vm.apply(template(3));
    expect(r).toMatchObject({ status: 0 });
    expect(r.stdout).toContain("check port answers 503 (was 000)");
    const password = vm.read("stats-password");
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(vm.mode("stats-password")).toBe("600");
    const cfg = vm.read("haproxy.cfg");
    expect(cfg).toContain(`  stats auth 'admin:${password}'\n`);
    expect(cfg).not.toContain(STATS_PASSWORD_PLACEHOLDER);
    expect(vm.mode("haproxy.cfg")).toBe("640");
    expect(vm.calls()).toEqual([
      expect.stringMatching(/^haproxy -c -q -f .*haproxy\.cfg\.new\./),
      "systemctl is-active --quiet haproxy",
      "systemctl enable --now haproxy",
    ]);
  });

  test("a new config on a running front: reloads, keeps the password, needs 200 again since a master was up", () => {
    vm.codes("000", "503");
    expect(vm.apply(template(3)).status).toBe(0);
    const password = vm.read("stats-password");
    vm.active(true);
    vm.codes("200", "200");
    const r = vm.apply(template(5));
    expect(r.status).toBe(0);
    expect(vm.read("haproxy.cfg")).toContain("server prod1-master-4 10.40.0.14:6443");
    expect(vm.read("stats-password")).toBe(password);
    expect(vm.calls()).toContain("systemctl reload haproxy");
    expect(vm.read("haproxy.cfg.previous")).not.toContain("prod1-master-4");
  });

  test("a config haproxy -c refuses never replaces the running one, and nothing is reloaded", () => {
    vm.codes("000", "503");
    vm.apply(template(3));
    const before = vm.read("haproxy.cfg");
    vm.active(true);
    vm.codes("200");
    const r = vm.apply(template(3).replace("nbsrv(kube_apiserver)", "nbsrv(no_such_backend)"));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("haproxy -c refused the new config; the running one is kept");
    expect(vm.read("haproxy.cfg")).toBe(before);
    expect(vm.calls().filter((c) => c.startsWith("systemctl"))).toEqual([]);
    expect(fs.readdirSync(vm.etc).filter((f) => f.includes(".new."))).toEqual([]);
  });

  test("a config that leaves the check port failing (200 before, 503 after) is rolled back and the run fails", () => {
    vm.codes("000", "503");
    vm.apply(template(3));
    const good = vm.read("haproxy.cfg");
    vm.active(true);
    vm.codes("200", "503");
    const r = vm.apply(template(1));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("check port answers 503 after the reload (was 200)");
    expect(r.stderr).toContain("previous config restored");
    expect(vm.read("haproxy.cfg")).toBe(good);
    expect(vm.calls().filter((c) => c === "systemctl reload haproxy")).toHaveLength(2);
  });

  test("the same config again is a no-op install (still reloaded and checked)", () => {
    vm.codes("000", "503");
    vm.apply(template(3));
    vm.active(true);
    vm.codes("200");
    const r = vm.apply(template(3));
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("config unchanged");
  });

  test("without the stats page there is no password file", () => {
    vm.codes("000", "503");
    expect(vm.apply(template(3, false)).status).toBe(0);
    expect(fs.existsSync(path.join(vm.etc, "stats-password"))).toBe(false);
  });

  test("the Cloud Assistant command waits for cloud-init, writes haproxy-apply and the config, and applies it", () => {
    vm.codes("000", "503");
    const cfg = template(3);
    const r = vm.run(haproxyRolloutCommand(cfg));
    expect(r).toMatchObject({ status: 0 });
    expect(vm.calls()[0]).toBe("cloud-init status --wait");
    expect(fs.readFileSync(vm.localize(HAPROXY_APPLY_PATH), "utf8")).toBe(vm.localize(haproxyApplyScript()));
    expect(fs.readFileSync(vm.localize(HAPROXY_TEMPLATE_PATH), "utf8")).toBe(vm.localize(cfg));
    expect(vm.read("haproxy.cfg")).toContain("server prod1-master-2 10.40.0.12:6443");
  });
});

describe("the rollout in the plan", () => {
  test("prod1: one Command with this config, one Invocation per HAProxy VM, VM 1's after VM 0's", async () => {
    const p = await plan("prod1");
    const commands = ofType(p, "alicloud:ecs/command:Command");
    expect(commands).toHaveLength(1);
    const cmd = commands[0];
    expect(cmd.inputs).toMatchObject({ type: "RunShellScript", timeout: 900 });
    expect(String(cmd.inputs.name)).toMatch(/^prod1-haproxy-cfg-[0-9a-f]{12}$/);
    const content = Buffer.from(String(cmd.inputs.commandContent), "base64").toString();
    const cfg = p.artifacts.find((a) => a.file === "prod1-haproxy-0.cfg")!.text;
    expect(content).toBe(haproxyRolloutCommand(cfg));
    expect(String(cmd.inputs.commandContent).length).toBeLessThanOrEqual(COMMAND_CONTENT_LIMIT_BYTES);
    for (const secret of p.secretValues) if (secret.length >= 8) expect(content).not.toContain(secret);
    expect(cmd.secretInputs).toEqual([]);

    const [inv0, inv1] = ["prod1-front-haproxy-cfg-0", "prod1-front-haproxy-cfg-1"].map((n) => byName(p, n, "alicloud:ecs/ecsInvocation:EcsInvocation"));
    expect(inv0.dependsOn).toContain(byName(p, "prod1-haproxy-0", "alicloud:ecs/instance:Instance").urn);
    expect(inv1.dependsOn).toContain(inv0.urn);
    expect(inv0.dependsOn).not.toContain(inv1.urn);
    expect(inv0.inputs).toMatchObject({ repeatMode: "Once" });
    expect(inv0.inputs.instanceIds).toEqual([byName(p, "prod1-haproxy-0").id]);
  });

  test("a changed haproxy.cfg (5 masters) replaces the command and re-runs both invocations; the HAProxy VMs themselves are untouched", async () => {
    const before = await plan("prod1");
    const after = await plan("prod1", ["platform:masters.count=5"]);
    const d = diffPlans(before.resources, after.resources);
    const front = d.changed.filter((c) => c.urn.includes("haproxy"));
    const byTail = Object.fromEntries(front.map((c) => [c.urn.split("::").pop(), c]));
    expect(byTail["prod1-front-haproxy-cfg"].op).toBe("replace");
    expect(byTail["prod1-front-haproxy-cfg-0"].op).toBe("replace");
    expect(byTail["prod1-front-haproxy-cfg-1"].op).toBe("replace");
    for (const vm of ["prod1-haproxy-0", "prod1-haproxy-1"]) {
      // user data differs, but it is ignoreChanges: no update reaches the VM itself.
      expect(byTail[vm]?.paths ?? []).toEqual([]);
    }
    const content = Buffer.from(String(ofType(after, "alicloud:ecs/command:Command")[0].inputs.commandContent), "base64").toString();
    expect(content).toContain("server prod1-master-4 ");
  });
});
