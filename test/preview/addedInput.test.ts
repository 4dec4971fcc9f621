// A string input set for the first time is a change: the KMS secret's dkmsInstanceId (ForceNew)
// went from unset to a KMS instance id in issue 28, and the diff showed the secret as unchanged
// apart from a boolean, because a new string with no old value was taken for a renamed id.
import { diffPlans } from "../../components/preview/planDiff";

const SECRET = "alicloud:kms/secret:Secret";
const urn = "urn:pulumi:prod1::platform::platform:cluster:Cluster$platform:cluster:SecretStore$alicloud:kms/secret:Secret::prod1-secret-store";

test("an input set for the first time shows, and a ForceNew one replaces", () => {
  const before = [{ urn, type: SECRET, inputs: { secretName: "prod1-control-plane" } }];
  const after = [{ urn, type: SECRET, inputs: { secretName: "prod1-control-plane", dkmsInstanceId: "kst-shh1", description: "d" } }];
  const d = diffPlans(before, after);
  expect(d.changed.map((c) => [c.op, c.paths])).toEqual([["replace", ["description", "dkmsInstanceId"]]]);
});
