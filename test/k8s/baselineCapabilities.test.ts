// Pod Security `baseline`'s capabilities have one home, the policy pack's list (policies/rules/threats.ts), which
// the admission policy (components/k8s/admissionPolicy.ts) imports. Held to the list the standard gives
// (Kubernetes "Pod Security Standards", Baseline, "Capabilities";
// kubernetes.io/docs/concepts/security/pod-security-standards/, read 2026-12-07), and the admission policy's
// refusal names exactly those.
import { admissionPolicyObjects } from "../../components/k8s/admissionPolicy";
import { BASELINE_CAPABILITIES } from "../../policies/rules/threats";

const STANDARD = [
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
];

test("the policy pack allows the standard's thirteen baseline capabilities", () => {
  expect(BASELINE_CAPABILITIES).toEqual(STANDARD);
});

test("the admission policy refuses a capability beyond the same thirteen", () => {
  const text = JSON.stringify(admissionPolicyObjects("10.40.0.0/16"));
  expect(text).toContain(`a capability beyond baseline (${STANDARD.join(", ")})`);
  for (const cap of STANDARD) expect(text).toContain(`'${cap}'`);
});
