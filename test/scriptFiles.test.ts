// The script files themselves (components/<room>/scripts/): shellcheck on each file as it is in
// the repository, the one variables-block helper through a real bash, and the names the files
// spell out that TypeScript also exports (a renamed constant must not leave a file behind).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderLua, renderScript, renderUnit, shellExpression, shellVariables, VARIABLES_MARKER } from "../components/scriptFiles";
import { CRI_SOCKET, JOIN_TOKEN_PLACEHOLDER } from "../components/cluster/kubeadm";
import { BOOTSTRAP_SCRIPT_PATH, BOOTSTRAP_STATE_DIR } from "../components/cluster/bootstrapScript";
import { METADATA_GUARD_PATH, METADATA_GUARD_UNIT, METADATA_SLICE, metadataGuardRules } from "../components/cluster/bootstrapUnits";
import { METADATA_ADDRESS } from "../components/network/ports";
import { CERT_EXPIRY_METRIC } from "../components/cluster/certRenewal";
import { BACKUP_SUCCESS_METRIC } from "../components/cluster/etcdBackup";
import { HAPROXY_APPLY_PATH, HAPROXY_TEMPLATE_PATH, STATS_PASSWORD_PLACEHOLDER } from "../components/cluster/haproxyRollout";

const ROOT = path.join(__dirname, "..");
const scriptDirs = ["components/cluster/scripts", "components/fleet/scripts"];
const shellFiles = scriptDirs.flatMap((d) =>
  fs
    .readdirSync(path.join(ROOT, d))
    .filter((f) => f.endsWith(".sh"))
    .map((f) => path.join(d, f)),
);
const read = (f: string) => fs.readFileSync(path.join(ROOT, "components/cluster/scripts", f), "utf8");

describe("shellcheck on the files", () => {
  test("every script room is covered", () => {
    expect(shellFiles.length).toBe(11);
  });

  test.each(shellFiles)("%s passes shellcheck -S style", (f) => {
    const text = fs.readFileSync(path.join(ROOT, f), "utf8");
    // A file with a generated block sees its variables assigned only once rendered (the renderer's tests check that text too).
    const generated = text.split("\n").includes(VARIABLES_MARKER) ? ["-e", "SC2153,SC2154"] : [];
    const r = spawnSync("shellcheck", ["-S", "style", "-f", "gcc", ...generated, path.join(ROOT, f)], { encoding: "utf8" });
    if (r.error) throw new Error(`shellcheck could not run (${r.error.message}); install it (CI does)`);
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });

  test("shellcheck can fail on a file (an unquoted expansion)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "scriptfiles-"));
    const f = path.join(dir, "sloppy.sh");
    fs.writeFileSync(f, read("haproxy-apply.sh").replace('cmp -s "$new" "$cfg"', "cmp -s $new $cfg"));
    const r = spawnSync("shellcheck", ["-S", "style", "-e", "SC2153,SC2154", f], { encoding: "utf8" });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("SC2086");
  });
});

describe("the variables block", () => {
  test("defaults and assignments, in the order given, unset values left out", () => {
    expect(shellVariables({ A: "x", N: 3, R: shellExpression("${ROOT}/etc"), U: undefined, E: "" })).toBe(
      ': "${A:=x}"\n: "${N:=3}"\n: "${R:=${ROOT}/etc}"\n: "${E:=}"',
    );
    expect(shellVariables({ pwfile: "/etc/x", n: 1 }, "assign")).toBe('pwfile="/etc/x"\nn="1"');
  });

  test.each([
    ["default", 'a\\b"c$d`e}f g'],
    ["assign", "a\\b\"c$d`e}f g'h"],
  ] as const)("a %s value reaches bash unchanged, however odd", (style, value) => {
    const r = spawnSync("bash", ["-c", `set -u\n${shellVariables({ V: value }, style)}\nprintf '%s' "$V"`], { encoding: "utf8", env: {} });
    expect(r.stdout).toBe(value);
  });

  test("a multi-line value, a quote in a default or a bad name is refused, naming it", () => {
    expect(() => shellVariables({ V: "a\nb" })).toThrow("script variable V: a value must be one line");
    expect(() => shellVariables({ V: "it's" })).toThrow("script variable V: a default may not hold a single quote");
    expect(() => shellVariables({ "A-B": "x" })).toThrow('script variable "A-B" is not a shell name');
  });

  test("a file needs the marker exactly once; an include nobody answers is an error", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "scriptfiles-"));
    fs.writeFileSync(path.join(dir, "none.sh"), "#!/bin/sh\necho hi\n");
    fs.writeFileSync(path.join(dir, "two.sh"), `#!/bin/sh\n${VARIABLES_MARKER}\n${VARIABLES_MARKER}\n`);
    fs.writeFileSync(path.join(dir, "inc.sh"), `#!/bin/sh\n${VARIABLES_MARKER}\ncat <<'E'\n# @include doc.txt\nE\n`);
    expect(() => renderScript(path.join(dir, "none.sh"), {})).toThrow('none.sh: needs exactly one line "# @variables", found 0');
    expect(() => renderScript(path.join(dir, "two.sh"), {})).toThrow('two.sh: needs exactly one line "# @variables", found 2');
    expect(() => renderScript(path.join(dir, "inc.sh"), {})).toThrow("inc.sh: # @include doc.txt: no such file beside it and no document of that name");
    expect(renderScript(path.join(dir, "inc.sh"), { X: "1" }, { documents: { "doc.txt": "line 1\nline 2\n" } })).toBe(
      `#!/bin/sh\n: "\${X:=1}"\ncat <<'E'\nline 1\nline 2\nE\n`,
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("a file without settings holds no marker; a null document leaves its include line out", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "scriptfiles-"));
    fs.writeFileSync(path.join(dir, "plain.nft"), "table inet t {\n# @include extra\n}\n");
    fs.writeFileSync(path.join(dir, "marked.nft"), `${VARIABLES_MARKER}\n`);
    expect(renderScript(path.join(dir, "plain.nft"), null, { documents: { extra: null } })).toBe("table inet t {\n}\n");
    expect(renderScript(path.join(dir, "plain.nft"), null, { documents: { extra: "  chain c {\n  }\n" } })).toBe("table inet t {\n  chain c {\n  }\n}\n");
    expect(() => renderScript(path.join(dir, "marked.nft"), null)).toThrow('marked.nft: needs no line "# @variables", found 1');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("names the files spell out", () => {
  test("the bootstrap: the CRI socket and the join-token placeholder", () => {
    expect(read("k8s-bootstrap.sh")).toContain(`kubeadm reset -f --cri-socket ${CRI_SOCKET} `);
    expect(read("k8s-bootstrap-master.sh")).toContain(`--cri-socket ${CRI_SOCKET} `);
    expect(read("k8s-bootstrap-master.sh")).toContain(`sed "s/${JOIN_TOKEN_PLACEHOLDER}/$token/"`);
  });

  test("the units: the bootstrap script, its done-marker, the guard's rules and the metadata address", () => {
    expect(read("k8s-bootstrap.service")).toContain(`ExecStart=${BOOTSTRAP_SCRIPT_PATH}\n`);
    expect(read("k8s-bootstrap.service")).toContain(`ConditionPathExists=!${BOOTSTRAP_STATE_DIR}/done\n`);
    expect(read("k8s-bootstrap.service")).toContain(`After=network-online.target cloud-final.service ${METADATA_GUARD_UNIT}\n`);
    expect(read("k8s-metadata-guard.service")).toContain(`ExecStart=/usr/sbin/nft -f ${METADATA_GUARD_PATH}\n`);
    expect(read("k8s-metadata-guard.service")).toContain(`Description=Keep pods away from the metadata service ${METADATA_ADDRESS}\n`);
    // The guard's output chain names the slice's cgroup: the slice is started before the table loads, the bootstrap runs in it.
    expect(read("k8s-metadata-guard.service")).toContain(`Wants=network-pre.target ${METADATA_SLICE}\nAfter=local-fs.target ${METADATA_SLICE}\n`);
    expect(read("k8s-bootstrap.service")).toContain(`\nSlice=${METADATA_SLICE}\n`);
  });

  test("the metadata guard's nft files: the metadata address, and the slice the masters' output chain admits", () => {
    expect(read("metadata-guard.nft")).toContain(`\n    ip daddr ${METADATA_ADDRESS} counter drop\n`);
    expect(read("metadata-guard-output.nft")).toContain(`\n    ip daddr != ${METADATA_ADDRESS} accept\n`);
    expect(read("metadata-guard-output.nft")).toContain(`\n    socket cgroupv2 level 1 "${METADATA_SLICE}" accept\n`);
  });

  test("the day-2 metrics and the haproxy placeholder and paths", () => {
    expect(read("kubeadm-cert-renew.sh").match(new RegExp(CERT_EXPIRY_METRIC, "g"))).toHaveLength(4);
    expect(read("etcd-backup.sh").match(new RegExp(BACKUP_SUCCESS_METRIC, "g"))).toHaveLength(3);
    expect(read("haproxy-apply.sh").split(STATS_PASSWORD_PLACEHOLDER)).toHaveLength(3);
    expect(read("haproxy-rollout.sh")).toContain(`exec ${HAPROXY_APPLY_PATH} ${HAPROXY_TEMPLATE_PATH}\n`);
  });
});

// nft checks a ruleset against the kernel without committing it (`-c`), in a network namespace of its own. It
// resolves a `socket cgroupv2` path under /sys/fs/cgroup when it parses, as a node does: the check runs in a
// test-made cgroup, as the root of a cgroup namespace of its own whose cgroup v2 mount holds the masters' slice,
// so it needs no slice on the host and leaves none (nor races another test's).
describe("the metadata guard's nft files pass `nft -c`, as a worker and a master get them", () => {
  const cg = fs
    .readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" "))
    .find((f) => f[2] === "cgroup2")?.[1];
  const root = cg && path.join(cg, `guard-nft-${process.pid}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "guard-nft-"));
  beforeAll(() => {
    if (root) fs.mkdirSync(path.join(root, METADATA_SLICE), { recursive: true });
  });
  afterAll(() => {
    if (root) for (const d of [path.join(root, METADATA_SLICE), root]) spawnSync("rmdir", [d]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const nftCheck = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    const inside = `mount -t cgroup2 none /sys/fs/cgroup && exec nft -c -f ${file}`;
    const script = `echo $$ >${root}/cgroup.procs && exec unshare --cgroup --net --mount sh -c '${inside}'`;
    const r = spawnSync("sh", ["-c", script], { encoding: "utf8" });
    return { status: r.status, stderr: r.stderr };
  };
  const worker = metadataGuardRules({ controlPlane: false });
  const master = metadataGuardRules({ controlPlane: true });

  test("a worker gets the forward chain only, a master the output chain too; both the pod IPv6 table; no include line is left", () => {
    const tables = (t: string) => t.match(/^table \w+ \w+ \{$|^ {2}chain \w+/gm);
    expect(tables(worker)).toEqual(["table inet k8s_metadata_guard {", "  chain forward", "table bridge k8s_pod_ipv6_guard {", "  chain forward"]);
    expect(worker).toContain("  chain forward {\n");
    expect(tables(master)).toEqual([
      "table inet k8s_metadata_guard {",
      "  chain forward",
      "  chain output",
      "table bridge k8s_pod_ipv6_guard {",
      "  chain forward",
    ]);
    for (const t of [worker, master]) expect(t).toContain('\n    iifname "veth*" ether type != { ip, arp } counter drop\n');
    for (const t of [worker, master]) expect(t).not.toContain("@include");
  });

  (cg ? test : test.skip).each([
    ["the file itself", "metadata-guard.nft"],
    ["a worker's", "worker"],
    ["a master's", "master"],
  ])("%s passes nft -c", (_what, which) => {
    const text = which === "worker" ? worker : which === "master" ? master : read(which);
    expect(nftCheck(`${which}.nft`, text)).toEqual({ status: 0, stderr: "" });
  });

  (cg ? test : test.skip)("the check can fail: an unknown hook, a slice with no cgroup", () => {
    const badHook = nftCheck("bad-hook.nft", master.replace("hook output", "hook outbound"));
    expect(badHook.status).toBe(1);
    expect(badHook.stderr).toMatch(/unknown chain hook|syntax error/);
    const noSlice = nftCheck("no-slice.nft", master.replace(`"${METADATA_SLICE}"`, '"no-such-slice-for-the-check.slice"'));
    expect(noSlice.status).toBe(1);
    expect(noSlice.stderr).toContain("no-such-slice-for-the-check.slice");
  });
});

describe("Lua and unit files", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "script-files-units-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };

  test("renderUnit sets each named key on its one line and leaves the rest; a missing or repeated key is refused", () => {
    const unit = write("a.service", "[Unit]\nDescription=x\n\n[Service]\nExecStart=/usr/local/sbin/a.sh\nNice=10\n");
    expect(renderUnit(unit, { ExecStart: "/tmp/a b.sh", Nice: 5 })).toBe("[Unit]\nDescription=x\n\n[Service]\nExecStart=/tmp/a b.sh\nNice=5\n");
    expect(() => renderUnit(unit, { OnCalendar: "daily" })).toThrow(`${unit}: needs exactly one line OnCalendar=, found 0`);
    const twice = write("b.timer", "[Unit]\nDescription=x\n[Timer]\nDescription=y\n");
    expect(() => renderUnit(twice, { Description: "z" })).toThrow(`${twice}: needs exactly one line Description=, found 2`);
    expect(() => renderUnit(unit, { Nice: "1\nUser=root" })).toThrow("Nice: a value must be one line");
  });

  test("renderLua writes quoted locals at the one -- @variables line", () => {
    const lua = write("f.lua", "-- f\n-- @variables\nreturn CLUSTER\n");
    expect(renderLua(lua, { CLUSTER: 'a"b\\c' })).toBe('-- f\nlocal CLUSTER = "a\\"b\\\\c"\nreturn CLUSTER\n');
    const none = write("g.lua", "return 1\n");
    expect(() => renderLua(none, { CLUSTER: "x" })).toThrow(`${none}: needs exactly one line "-- @variables"`);
  });
});
