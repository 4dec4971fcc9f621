// A change inside a secret input that holds a replacing field is a replacement (issue 28 review):
// a VPN connection's tunnel list is one secret (it carries the PSK, components/fleet/ipsecLink.ts),
// and inside it each tunnel's customerGatewayId is ForceNew (terraform-provider-alicloud 81c43b67
// resource_alicloud_vpn_connection.go :312-316). The offline diff sees only the secret's digest, so
// any change of that list counts as a replacement, and prod's safe-changes guard sees it.
import * as path from "path";
import { checkChanges } from "../../components/preview/changeGuard";
import { diffPlans } from "../../components/preview/planDiff";
import { loadPolicyConfig } from "../../components/preview/policyCheck";
import { secretReplaceRule } from "../../components/preview/providerSemantics";
import { plan } from "../support/offline";

const VPN = "alicloud:vpn/connection:Connection";
const PROD = loadPolicyConfig(path.join(path.resolve(__dirname, "..", ".."), "policies", "config", "prod.json"));

test("a secret whose inside holds a replacing field replaces; one that does not stays an update", () => {
  expect(secretReplaceRule(VPN, "tunnelOptionsSpecifications")).toBe("tunnelOptionsSpecifications[*].customerGatewayId");
  expect(secretReplaceRule(VPN, "tunnelOptionsSpecifications[1]")).toBe("tunnelOptionsSpecifications[*].customerGatewayId");
  expect(secretReplaceRule(VPN, "tunnelOptionsSpecifications[1].tunnelIkeConfig")).toBeUndefined();
  expect(secretReplaceRule("alicloud:kms/secret:Secret", "secretData")).toBeUndefined();
});

test("prod1's IPsec link: a changed tunnel list (a new customer gateway in it) is a replacement, blocked in prod", async () => {
  const before = (await plan("prod1")).resources;
  const conn = before.find((r) => r.type === VPN && r.name === "prod1-fleet-to-dc-prod1")!;
  expect(conn.secretDigests).toHaveProperty("tunnelOptionsSpecifications");
  // What a real run sees when a tunnel's customer gateway changes: the secret list's digest changes.
  const after = before.map((r) => (r === conn ? { ...r, secretDigests: { ...r.secretDigests, tunnelOptionsSpecifications: "0123456789abcdef" } } : r));
  const d = diffPlans(before, after);
  const entry = d.changed.find((r) => r.urn === conn.urn)!;
  expect([entry.op, entry.paths]).toEqual(["replace", ["tunnelOptionsSpecifications (secret)"]]);
  const v = checkChanges(d, before, after, PROD);
  expect(v.map((x) => [x.policy, x.level, x.urn.split("::").pop()])).toEqual([["safe-changes", "mandatory", "prod1-fleet-to-dc-prod1"]]);
});
