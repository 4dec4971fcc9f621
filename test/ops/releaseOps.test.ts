// Release, promote and rollback on temporary copies of small stack files with
// comments: the tag rules per env, the history, all-or-nothing promotion, and
// that every byte outside the edited values survives. One test runs the real
// CLI in a child process for its exit codes.
import { spawnSync } from "child_process";
import * as fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { Env, MAX_HISTORY, imageTagProblem } from "../../policies/imageTags";
import { nextHistory, promote, release, rollback } from "../../components/ops/releaseOps";

const REPO = "harbor.example.com/commerce";

/** A stack file in the shape of the real ones, with comments, blank lines and odd spacing that a re-stringify would change. */
function stackText(env: Env, o: { orderTag: string; orderHistory: string[]; payTag: string; payImage?: string }): string {
  const hist = o.orderHistory.map((t) => `        - ${t}\n`).join("");
  return `# Stack ${env}: member cluster ${env}.
config:
  alicloud:region: cn-shanghai
  platform:env: ${env}
  platform:network:
    vpcCidr: 10.40.0.0/16
    zones: [cn-shanghai-e,   cn-shanghai-f]

  # Apps: one Deployment each, same image in every env.
  platform:apps:
    order-service:
      image: ${REPO}/order-service   # repository without tag
      tag: ${o.orderTag}  # set by npm run release
      # Previous tags, newest first, at most 5 (revisionHistoryLimit 5).
      history:
${hist}      replicas: 24
      javaOpts: "-Xmx4g"
    # Payments: quoted tag, empty history.
    payment-service:
      image: ${o.payImage ?? `${REPO}/payment-service`}
      tag: "${o.payTag}"
      history: []
      env: {IDC: sh,   LOG: json}
    # end of apps
  # Pinned: a newer image must not replace running nodes.
  platform:osImageId: ubuntu_22_04_x64_20G_alibase_20260915.vhd
`;
}

let dir: string;
const file = (stack: string) => path.join(dir, `Pulumi.${stack}.yaml`);
const read = (stack: string) => fs.readFileSync(file(stack), "utf8");
const write = (stack: string, text: string) => fs.writeFileSync(file(stack), text);
const apps = (stack: string) => YAML.parse(read(stack)).config["platform:apps"];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "release-ops-"));
  write("dev", stackText("dev", { orderTag: "20261126-141", orderHistory: ["20261125-140"], payTag: "20261120-77" }));
  write("test", stackText("test", { orderTag: "20261120-130", orderHistory: [], payTag: "20261120-77" }));
  write("pre", stackText("pre", { orderTag: "v2.4.0", orderHistory: ["v2.3.1"], payTag: "payment-service-v1.2.0" }));
  write("prod1", stackText("prod1", { orderTag: "v2.3.1", orderHistory: ["v2.3.0", "v2.2.4"], payTag: "payment-service-v1.1.0" }));
  write("prod2", stackText("prod2", { orderTag: "v2.3.1", orderHistory: ["v2.3.0"], payTag: "payment-service-v1.1.0" }));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("imageTagProblem", () => {
  const ok: [Env, string][] = [
    ["dev", "20261127-142"],
    ["dev", "20240229-3f9a2c1"],
    ["test", "20261127-3f9a2c1"],
    ["pre", "v2.3.1"],
    ["pre", "order-service-v2.3.1-rc.1"],
    ["prod1", "v2.3.1"],
    ["prod2", "order-service-v10.0.12"],
  ];
  test.each(ok)("%s accepts %s", (env, tag) => {
    expect(imageTagProblem(env, tag, "order-service")).toBeUndefined();
  });

  const refused: [Env, string, string][] = [
    ["dev", "latest", 'tag "latest" is refused: it moves'],
    ["prod1", "latest", 'tag "latest" is refused'],
    ["pre", "", "tag is empty"],
    ["dev", "-x", 'tag "-x" is not a valid image tag'],
    ["dev", `20261127-${"1".repeat(130)}`, "is not a valid image tag"],
    ["dev", "v2.3.1", 'tag "v2.3.1" is not a build tag (dev takes CI builds YYYYMMDD-<build> such as 20261127-142'],
    ["test", "20261127-3F9A2C1", "is not a build tag (test takes"],
    ["test", "20261131-142", 'tag "20261131-142": 20261131 is not a calendar date'],
    ["dev", "20250229-142", "20250229 is not a calendar date"],
    ["prod1", "20261127-142", 'tag "20261127-142" is not a release tag (prod1 takes git tags such as v2.3.1 or order-service-v2.3.1)'],
    ["pre", "v2.3", 'tag "v2.3" is not a release tag (pre takes git tags such as v2.3.1 or order-service-v2.3.1, or a candidate such as v2.3.1-rc.1)'],
    ["pre", "v2.3.1-beta.1", "is not a release tag"],
    ["prod2", "v02.3.1", "is not a release tag"],
    ["prod1", "v2.3.1-rc.1", 'tag "v2.3.1-rc.1" is a release candidate: prod1 takes only final releases'],
    ["prod2", "order-service-v2.3.1-rc.2", "is a release candidate: prod2"],
    ["pre", "payment-service-v1.0.0", 'tag "payment-service-v1.0.0" is a release of "payment-service", not of order-service'],
    ["host", "v2.3.1", "host runs no apps"],
  ];
  test.each(refused)("%s refuses %j", (env, tag, message) => {
    expect(imageTagProblem(env, tag, "order-service")).toContain(message);
  });

  test("every real calendar day makes a valid dev build tag, and no other 8 digits do", () => {
    fc.assert(
      fc.property(fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2099-12-31T00:00:00Z"), noInvalidDate: true }), fc.nat(99999), (d, build) => {
        const ymd = d.toISOString().slice(0, 10).replace(/-/g, "");
        expect(imageTagProblem("dev", `${ymd}-${build}`, "a")).toBeUndefined();
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 2000, max: 2099 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), (y, m, d) => {
        const real = new Date(Date.UTC(y, m - 1, d)).getUTCDate() === d;
        const tag = `${y}${String(m).padStart(2, "0")}${String(d).padStart(2, "0")}-1`;
        expect(imageTagProblem("test", tag, "a") === undefined).toBe(real);
      }),
    );
  });
});

describe("nextHistory", () => {
  test("newest first, without the new tag, no repeats, at most MAX_HISTORY", () => {
    const tag = fc.constantFrom("v1.0.0", "v1.0.1", "v1.1.0", "v2.0.0", "v2.0.1", "v2.1.0", "v3.0.0");
    fc.assert(
      fc.property(fc.option(tag, { nil: undefined }), fc.array(tag, { maxLength: 8 }), tag, (current, history, next) => {
        const h = nextHistory(current, history, next);
        expect(h.length).toBeLessThanOrEqual(MAX_HISTORY);
        expect(h).not.toContain(next);
        expect(new Set(h).size).toBe(h.length);
        if (current !== undefined && current !== next) expect(h[0]).toBe(current);
      }),
    );
  });
});

describe("release", () => {
  // Releases go into pre (prod takes only promotions): a pre file in prod1's shape.
  beforeEach(() => write("pre", stackText("pre", { orderTag: "v2.3.1", orderHistory: ["v2.3.0", "v2.2.4"], payTag: "payment-service-v1.1.0" })));

  test("prod1 and prod2 take no releases: the refusal points at pre and npm run promote, and writes nothing", () => {
    for (const stack of ["prod1", "prod2"]) {
      const before = read(stack);
      expect(() => release(dir, stack, "order-service", "v2.4.1")).toThrow(
        `Pulumi.${stack}.yaml: platform:apps.order-service.tag: ${stack} runs only what pre validated, so it takes no releases: ` +
          "`npm run release -- pre order-service v2.4.1`, let pre validate it, then `npm run promote -- pre " +
          stack +
          " order-service` (a hotfix goes through pre too)",
      );
      expect(read(stack)).toBe(before);
    }
  });

  test("sets the tag, pushes the old one onto history, and leaves every other byte alone", () => {
    const before = read("pre");
    expect(release(dir, "pre", "order-service", "v2.4.0")).toBe("pre order-service: v2.3.1 -> v2.4.0");
    const expected = before
      .replace("      tag: v2.3.1  # set by npm run release\n", "      tag: v2.4.0  # set by npm run release\n")
      .replace("      history:\n        - v2.3.0\n", "      history:\n        - v2.3.1\n        - v2.3.0\n");
    expect(expected).not.toBe(before);
    expect(read("pre")).toBe(expected);
    expect(apps("pre")["order-service"]).toMatchObject({ tag: "v2.4.0", history: ["v2.3.1", "v2.3.0", "v2.2.4"], replicas: 24 });
  });

  test("untouched lines are byte-for-byte the same and in the same order", () => {
    const before = read("pre").split("\n");
    release(dir, "pre", "payment-service", "payment-service-v1.2.0");
    const after = read("pre").split("\n");
    // Everything before and after the edited block is identical line by line.
    let head = 0;
    while (before[head] === after[head]) head++;
    let tail = 0;
    while (before[before.length - 1 - tail] === after[after.length - 1 - tail]) tail++;
    expect(before.slice(head, before.length - tail)).toEqual(['      tag: "payment-service-v1.1.0"', "      history: []"]);
    expect(after.slice(head, after.length - tail)).toEqual(['      tag: "payment-service-v1.2.0"', "      history:", "        - payment-service-v1.1.0"]);
    expect(head + tail + 2).toBe(before.length);
  });

  test("history is capped at MAX_HISTORY and never holds the new tag", () => {
    write("pre", stackText("pre", { orderTag: "v2.5.0", orderHistory: ["v2.4.0", "v2.3.1", "v2.3.0", "v2.2.4", "v2.2.3"], payTag: "v1.0.0" }));
    release(dir, "pre", "order-service", "v2.6.0");
    expect(apps("pre")["order-service"].history).toEqual(["v2.5.0", "v2.4.0", "v2.3.1", "v2.3.0", "v2.2.4"]);
    expect(MAX_HISTORY).toBe(5);
    // Releasing a tag from the history again removes it from the history.
    release(dir, "pre", "order-service", "v2.3.1");
    expect(apps("pre")["order-service"]).toMatchObject({ tag: "v2.3.1", history: ["v2.6.0", "v2.5.0", "v2.4.0", "v2.3.0", "v2.2.4"] });
  });

  test("an app with no history key gets one on the line after its tag", () => {
    write("pre", `config:\n  platform:apps:\n    a:\n      image: r/a\n      tag: v1.0.0 # c\n      replicas: 2\n`);
    release(dir, "pre", "a", "v1.1.0");
    expect(read("pre")).toBe(
      `config:\n  platform:apps:\n    a:\n      image: r/a\n      tag: v1.1.0 # c\n      history:\n        - v1.0.0\n      replicas: 2\n`,
    );
  });

  test("CRLF files stay CRLF", () => {
    write("pre", read("pre").replace(/\n/g, "\r\n"));
    release(dir, "pre", "payment-service", "v1.3.0");
    const text = read("pre");
    expect(text.replace(/\r\n/g, "")).not.toContain("\n");
    expect(apps("pre")["payment-service"]).toMatchObject({ tag: "v1.3.0", history: ["payment-service-v1.1.0"] });
  });

  test("refuses a tag the env does not take, naming file, app and key, and writes nothing", () => {
    const before = read("pre");
    expect(() => release(dir, "pre", "order-service", "20261127-142")).toThrow(
      'Pulumi.pre.yaml: platform:apps.order-service.tag: tag "20261127-142" is not a release tag (pre takes git tags such as v2.3.1 or order-service-v2.3.1, or a candidate such as v2.3.1-rc.1)',
    );
    expect(() => release(dir, "dev", "order-service", "latest")).toThrow('Pulumi.dev.yaml: platform:apps.order-service.tag: tag "latest" is refused');
    expect(read("pre")).toBe(before);
  });

  test("refuses an unknown app, listing the known ones", () => {
    expect(() => release(dir, "pre", "cart-service", "v1.0.0")).toThrow(
      "Pulumi.pre.yaml: platform:apps.cart-service: no such app (known: order-service, payment-service)",
    );
  });

  test("refuses an unknown stack, a missing file, and a file whose platform:env is another stack", () => {
    expect(() => release(dir, "staging", "order-service", "v1.0.0")).toThrow('Pulumi.staging.yaml: unknown stack "staging"');
    expect(() => release(dir, "host", "order-service", "v1.0.0")).toThrow("Pulumi.host.yaml: not found");
    write("prod2", read("pre"));
    expect(() => release(dir, "prod2", "order-service", "v2.4.0")).toThrow('Pulumi.prod2.yaml: platform:env: is "pre" but the file is stack prod2');
  });

  test("a layout it cannot edit exactly (a flow map) is refused untouched", () => {
    const text = `config:\n  platform:apps: {a: {image: r/a, tag: v1.0.0}}\n`;
    write("pre", text);
    expect(() => release(dir, "pre", "a", "v1.1.0")).toThrow("Pulumi.pre.yaml: platform:apps.a: written as a flow map");
    expect(read("pre")).toBe(text);
  });

  test("the same tag again writes nothing", () => {
    const before = read("pre");
    expect(release(dir, "pre", "order-service", "v2.3.1")).toContain("already at v2.3.1");
    expect(read("pre")).toBe(before);
  });
});

describe("promote", () => {
  test("copies exactly the named app's current tag from pre into prod1, keeping prod1's history", () => {
    const before = read("prod1");
    expect(promote(dir, "pre", "prod1", ["order-service"])).toEqual(["prod1 order-service: v2.3.1 -> v2.4.0 (from pre)"]);
    const expected = before
      .replace("      tag: v2.3.1  #", "      tag: v2.4.0  #")
      .replace("      history:\n        - v2.3.0\n", "      history:\n        - v2.3.1\n        - v2.3.0\n");
    expect(read("prod1")).toBe(expected);
    expect(apps("prod1")["payment-service"].tag).toBe("payment-service-v1.1.0");
  });

  test("with no app named, promotes every app both stacks have", () => {
    expect(promote(dir, "pre", "prod2")).toEqual([
      "prod2 order-service: v2.3.1 -> v2.4.0 (from pre)",
      "prod2 payment-service: payment-service-v1.1.0 -> payment-service-v1.2.0 (from pre)",
    ]);
    expect(apps("prod2")["order-service"]).toMatchObject({ tag: "v2.4.0", history: ["v2.3.1", "v2.3.0"] });
    expect(apps("prod2")["payment-service"]).toMatchObject({ tag: "payment-service-v1.2.0", history: ["payment-service-v1.1.0"] });
    expect(apps("pre")["order-service"].tag).toBe("v2.4.0");
  });

  test("dev -> test works; into prod from anything but pre is refused", () => {
    expect(promote(dir, "dev", "test", ["order-service"])).toEqual(["test order-service: 20261120-130 -> 20261126-141 (from dev)"]);
    expect(() => promote(dir, "prod1", "prod2")).toThrow("cannot promote prod1 -> prod2: prod2 takes promotions only from pre, where its image was validated");
    expect(() => promote(dir, "dev", "prod1")).toThrow("cannot promote dev -> prod1: prod1 takes promotions only from pre");
    expect(() => promote(dir, "test", "pre")).toThrow("cannot promote test -> pre: pre takes no promotions");
  });

  test("refuses an app the source lacks, and writes nothing even for the good app; adds a named app the target lacks", () => {
    const before = read("prod1");
    let message = "";
    try {
      promote(dir, "pre", "prod1", ["order-service", "cart-service"]);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("promote pre -> prod1 refused, nothing written:");
    expect(message).toContain("Pulumi.pre.yaml: platform:apps.cart-service: pre has no app cart-service");
    expect(read("prod1")).toBe(before);

    write("pre", read("pre").replaceAll("payment-service", "cart-service"));
    // Named, and new in prod1: added with pre's settings at pre's tag (test/ops/newApp.test.ts has the whole route).
    const [line] = promote(dir, "pre", "prod1", ["cart-service"]);
    expect(line).toMatch(/^prod1 cart-service: added from pre at /);
    // Every other byte stays: without the new block, the file is what it was.
    const after = read("prod1");
    const start = after.indexOf("    cart-service:\n");
    expect(start).toBeGreaterThan(0);
    let end = after.indexOf("\n", start) + 1;
    while (end < after.length && /^ {6}/.test(after.slice(end))) end = after.indexOf("\n", end) + 1;
    expect(after.slice(0, start) + after.slice(end)).toBe(before);
  });

  test("refuses a release candidate into prod, naming the key, and writes nothing", () => {
    release(dir, "pre", "order-service", "v2.5.0-rc.1");
    const before = read("prod1");
    expect(() => promote(dir, "pre", "prod1")).toThrow(
      'Pulumi.prod1.yaml: platform:apps.order-service.tag: tag "v2.5.0-rc.1" is a release candidate: prod1 takes only final releases',
    );
    expect(read("prod1")).toBe(before);
  });

  test("refuses a different image repository: a promotion never rebuilds", () => {
    write("prod1", stackText("prod1", { orderTag: "v2.3.1", orderHistory: [], payTag: "v1.0.0", payImage: "registry.other.com/pay/payment-service" }));
    const before = read("prod1");
    expect(() => promote(dir, "pre", "prod1")).toThrow(
      `Pulumi.prod1.yaml: platform:apps.payment-service.image: pre pulls ${REPO}/payment-service but prod1 pulls registry.other.com/pay/payment-service`,
    );
    expect(read("prod1")).toBe(before);
  });
});

describe("rollback", () => {
  test("restores the previous tag, drops it from history, and a second rollback goes further back", () => {
    const before = read("prod1");
    expect(rollback(dir, "prod1", "order-service")).toBe("prod1 order-service: v2.3.1 -> v2.3.0 (rollback; 1 older tag left)");
    expect(apps("prod1")["order-service"]).toMatchObject({ tag: "v2.3.0", history: ["v2.2.4"] });
    expect(read("prod1")).toBe(before.replace("tag: v2.3.1  #", "tag: v2.3.0  #").replace("        - v2.3.0\n", ""));
    rollback(dir, "prod1", "order-service");
    expect(apps("prod1")["order-service"]).toMatchObject({ tag: "v2.2.4", history: [] });
    expect(read("prod1")).toContain("      history: []\n      replicas: 24\n");
  });

  test("release then rollback gives back the original file", () => {
    write("pre", stackText("pre", { orderTag: "v2.3.1", orderHistory: [], payTag: "payment-service-v1.1.0" }));
    const before = read("pre");
    release(dir, "pre", "payment-service", "payment-service-v1.2.0");
    rollback(dir, "pre", "payment-service");
    expect(read("pre")).toBe(before);
  });

  test("refuses on empty history with a clear message, writing nothing", () => {
    const before = read("prod1");
    expect(() => rollback(dir, "prod1", "payment-service")).toThrow(
      "Pulumi.prod1.yaml: platform:apps.payment-service.history: empty, no previous tag to roll back to (tag is payment-service-v1.1.0)",
    );
    expect(read("prod1")).toBe(before);
  });
});

describe("CLI (child process)", () => {
  const root = path.resolve(__dirname, "..", "..");
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(root, "components/ops/release.ts"), ...args], {
      cwd: root,
      encoding: "utf8",
      timeout: 30000,
    });

  test("exit 0 with summary and reminder, 1 on a refusal, 2 on a usage error", () => {
    const ok = cli("release", "pre", "order-service", "v2.4.1", "--dir", dir);
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe("pre order-service: v2.4.0 -> v2.4.1\nnext: git commit Pulumi.pre.yaml && open a PR; CI runs the preview\n");
    expect(apps("pre")["order-service"].tag).toBe("v2.4.1");
    const prod = cli("release", "prod1", "order-service", "v2.4.1", "--dir", dir);
    expect(prod.status).toBe(1);
    expect(prod.stderr).toContain("then `npm run promote -- pre prod1 order-service` (a hotfix goes through pre too)");

    const refused = cli("rollback", "prod1", "payment-service", "--dir", dir);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("Pulumi.prod1.yaml: platform:apps.payment-service.history: empty");

    const usage = cli("promote", "pre", "--dir", dir);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("promote takes <fromStack> <toStack> [app...]");
    expect(usage.stderr).toContain("usage:");
  });
});
