// The README's canary flow on copies of the real stack files: a canary added to
// prod1, pre validating its tag, then `promote-canary` (or releasing the canary's
// tag in pre) making it the stable tag and removing the canary block in one edit,
// comments kept. And the fleet check that prod runs only tags pre ran.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { promote, promoteCanary, release } from "../../components/ops/releaseOps";
import { prodTagsNotFromPre } from "../../components/ops/prodTags";
import { main as checkFleet } from "../../components/ops/checkFleet";

const ROOT = path.resolve(__dirname, "..", "..");
let dir: string;
const file = (s: string) => path.join(dir, `Pulumi.${s}.yaml`);
const read = (s: string) => fs.readFileSync(file(s), "utf8");
const order = (s: string) => YAML.parse(read(s)).config["platform:apps"]["order-service"];

/** The README's canary: `canary: {tag: order-service-v2.4.0, weight: 10}` on order-service in prod1, with a comment. */
function addProdCanary(): void {
  const text = read("prod1").replace(
    "      autoscale:\n",
    "      # Canary of 2.4.0: 10% of requests (docs/runbooks/release-and-rollback.md).\n      canary: {tag: order-service-v2.4.0, weight: 10}\n      autoscale:\n",
  );
  fs.writeFileSync(file("prod1"), text);
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-"));
  for (const f of fs.readdirSync(ROOT).filter((n) => /^Pulumi\..+\.yaml$/.test(n))) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
});

describe("canary promotion", () => {
  test("promote-canary in prod1: the tag moves to stable, the old one onto history, the canary block goes, every other line stays", () => {
    addProdCanary();
    // pre never ran 2.4.0: refused, nothing written.
    const withCanary = read("prod1");
    expect(() => promoteCanary(dir, "prod1", "order-service")).toThrow(
      "Pulumi.prod1.yaml: platform:apps.order-service.canary.tag: order-service-v2.4.0 was never run in pre (pre: order-service-v2.3.1, history order-service-v2.3.0, order-service-v2.2.4, order-service-v2.2.3); release it into pre first",
    );
    expect(read("prod1")).toBe(withCanary);

    release(dir, "pre", "order-service", "order-service-v2.4.0");
    expect(promoteCanary(dir, "prod1", "order-service")).toBe(
      "prod1 order-service: order-service-v2.3.0 -> order-service-v2.4.0 (canary promoted, canary block removed)",
    );
    const expected = withCanary
      .replace("      tag: order-service-v2.3.0\n      history:\n", "      tag: order-service-v2.4.0\n      history:\n        - order-service-v2.3.0\n")
      .replace("      canary: {tag: order-service-v2.4.0, weight: 10}\n", "");
    expect(read("prod1")).toBe(expected);
    expect(read("prod1")).toContain("# Canary of 2.4.0: 10% of requests");
    expect(order("prod1").canary).toBeUndefined();
  });

  test("releasing the canary's tag in prod1 is refused with a pointer to promote-canary", () => {
    addProdCanary();
    expect(() => release(dir, "prod1", "order-service", "order-service-v2.4.0")).toThrow(
      "to promote prod1's canary order-service-v2.4.0 run `npm run promote-canary -- prod1 order-service`",
    );
  });

  test("in pre, releasing the canary's tag promotes it (block canary removed, history kept)", () => {
    const before = read("pre");
    expect(release(dir, "pre", "order-service", "order-service-v2.4.0-rc.1")).toBe(
      "pre order-service: order-service-v2.3.1 -> order-service-v2.4.0-rc.1 (canary promoted, canary block removed)",
    );
    expect(order("pre")).toMatchObject({
      tag: "order-service-v2.4.0-rc.1",
      history: ["order-service-v2.3.1", "order-service-v2.3.0", "order-service-v2.2.4", "order-service-v2.2.3"],
    });
    expect(order("pre").canary).toBeUndefined();
    const removed = before.split("\n").filter((l) => !read("pre").split("\n").includes(l));
    expect(removed).toEqual(["      tag: order-service-v2.3.1", "      canary:", "        tag: order-service-v2.4.0-rc.1", "        header: X-Canary"]);
  });

  test("promoting pre's tag into prod1 ends a prod1 canary that ran that build", () => {
    addProdCanary();
    release(dir, "pre", "order-service", "order-service-v2.4.0");
    expect(promote(dir, "pre", "prod1", ["order-service"])).toEqual([
      "prod1 order-service: order-service-v2.3.0 -> order-service-v2.4.0 (from pre; its canary ran this build, canary block removed)",
    ]);
    expect(order("prod1").canary).toBeUndefined();
  });

  test("promote-canary without a canary says so", () => {
    expect(() => promoteCanary(dir, "prod1", "order-service")).toThrow("Pulumi.prod1.yaml: platform:apps.order-service.canary: order-service runs no canary");
  });
});

describe("prod runs only what pre validated (check:fleet)", () => {
  test("the committed stack files pass", () => {
    expect(prodTagsNotFromPre(ROOT)).toEqual([]);
  });

  test("a prod tag or canary tag pre never ran is reported, and check:fleet exits 1", () => {
    addProdCanary();
    // A hand-edited prod2 tag: what `npm run release` now refuses to write.
    fs.writeFileSync(file("prod2"), read("prod2").replace("tag: supply-chain-v3.1.1", "tag: supply-chain-v3.1.9"));
    expect(prodTagsNotFromPre(dir)).toEqual([
      "Pulumi.prod1.yaml: platform:apps.order-service.canary.tag: order-service-v2.4.0 was never validated in pre (pre runs order-service-v2.3.1, history order-service-v2.3.0, order-service-v2.2.4, order-service-v2.2.3); release it into pre, then `npm run promote -- pre prod1 order-service`",
      "Pulumi.prod2.yaml: platform:apps.supply-chain.tag: supply-chain-v3.1.9 was never validated in pre (pre runs supply-chain-v3.1.2, history supply-chain-v3.1.1); release it into pre, then `npm run promote -- pre prod2 supply-chain`",
    ]);
    const err = jest.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      expect(checkFleet(["--dir", dir])).toBe(1);
      expect(err.mock.calls.map((c) => c[0])).toContain("prod tags not validated in pre: 2");
    } finally {
      err.mockRestore();
    }
  });
});
