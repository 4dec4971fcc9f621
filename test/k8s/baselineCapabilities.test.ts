// Pod Security `baseline`'s capabilities have two homes: the admission policy's list
// (components/k8s/admissionPolicy.ts) and the policy pack's (policies/rules/threats.ts), a
// separate package that imports nothing from the program. Read both files and hold them equal,
// and to the list the standard gives (Kubernetes "Pod Security Standards", Baseline,
// "Capabilities"; kubernetes.io/docs/concepts/security/pod-security-standards/, read 2026-12-07).
import * as fs from "fs";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");

function declared(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  const m = /export const BASELINE_CAPABILITIES = \[([^\]]*)\];/.exec(text);
  if (!m) throw new Error(`${file}: no BASELINE_CAPABILITIES array literal`);
  return [...m[1].matchAll(/"([A-Z_]+)"/g)].map((x) => x[1]);
}

test("the admission policy and the policy pack allow the same baseline capabilities, the standard's thirteen", () => {
  const program = declared("components/k8s/admissionPolicy.ts");
  const pack = declared("policies/rules/threats.ts");
  expect(pack).toEqual(program);
  expect(program).toEqual([
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
  ]);
});
