// .ci/setup --tests on a machine whose Go is too old for harness/*/go.mod (`go 1.25.0`, `go 1.26.3`: Go < 1.21
// cannot parse three-part versions nor fetch a toolchain). Debian 12's golang-go is 1.19. The real script runs in
// a scratch copy of the repository's layout whose harness/build.sh reports the binaries missing, with GO naming a
// fake `go` that prints what Debian 12's prints; it must stop with one clear message, exit 2, before npm.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const REPO = path.resolve(__dirname, "..", "..");

test(".ci/setup --tests with Go 1.19: exit 2 naming the Go, the version needed and the install command, before npm", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "setup-go-"));
  try {
    fs.mkdirSync(path.join(dir, ".ci"));
    fs.mkdirSync(path.join(dir, "harness"));
    fs.mkdirSync(path.join(dir, "fakebin"));
    fs.copyFileSync(path.join(REPO, ".ci", "setup"), path.join(dir, ".ci", "setup"));
    fs.writeFileSync(path.join(dir, ".ci", "tools.txt"), "# none: this test is about Go\n");
    fs.writeFileSync(path.join(dir, "harness", "build.sh"), 'echo "missing in /x/bin: kubeadm" >&2; exit 1\n');
    const fakeGo = path.join(dir, "fakebin", "go");
    fs.writeFileSync(fakeGo, '#!/bin/sh\n[ "$1" = version ] && echo "go version go1.19.8 linux/amd64"\n', { mode: 0o755 });
    // npm must not run: a fake one that records being called.
    fs.writeFileSync(path.join(dir, "fakebin", "npm"), `#!/bin/sh\ntouch ${dir}/npm-ran\n`, { mode: 0o755 });
    const r = spawnSync("bash", [path.join(dir, ".ci", "setup"), "--tests"], {
      env: { ...process.env, PATH: `${path.join(dir, "fakebin")}:${process.env.PATH}`, GO: fakeGo },
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([
      `setup: ${fakeGo} is Go go1.19.8, too old for harness/*/go.mod (needs >= 1.21)`,
      "setup: the control-plane tests need Go >= 1.21 to build Kubernetes, etcd and kube-bench (harness/build.sh;",
      "setup:   Go then fetches the go1.26 toolchain harness/*/go.mod names through the Go module proxy). Install it, then run this again:",
      "setup:   Debian 12: sudo apt-get install -y -t bookworm-backports golang-1.23-go   (with bookworm-backports in your sources)",
      "setup:   elsewhere: https://go.dev/doc/install (or GO=/path/to/go .ci/setup --tests)",
    ]);
    expect(fs.existsSync(path.join(dir, "npm-ran"))).toBe(false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
