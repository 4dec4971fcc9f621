// A new app travels dev -> test -> pre -> prod1 with one command per hop: written by
// hand once in dev, then `promote dev test <app>`, `release pre <app> <tag>`,
// `promote pre prod1 <app>`. Each hop adds the app with the previous stack's
// settings, the target's tag rule and the target's host rule; every other byte of
// the target file stays (stackFileEdit.ts).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../components/ops/release";
import { prodTagsNotFromPre } from "../../components/ops/prodTags";
import { parseStackConfig } from "../../components/config/stackConfig";
import { listStacks, loadEngineConfig, readStackFile } from "../../components/config/stackFiles";

const ROOT = path.resolve(__dirname, "../..");
let dir: string;
const read = (stack: string) => fs.readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8");

/** coupon-service as a developer writes it into dev, once. */
const DEV_BLOCK = `    # Live-room coupons: new this sprint.
    coupon-service:
      image: harbor.livemall.internal/commerce/coupon-service
      tag: 20261207-12
      replicas: 1
      port: 8080
      healthPath: /actuator/health
      host: coupon.dev.livemall.internal
      namespace: commerce
      javaOpts: -Xms512m -Xmx512m
      resources:
        cpu: "500m"
        memory: 1Gi
`;
/** The block a hop writes into `stack`, after its last app. */
const added = (tag: string, host: string) => `    coupon-service:
      image: harbor.livemall.internal/commerce/coupon-service
      tag: ${tag}
      replicas: 1
      port: 8080
      healthPath: /actuator/health
      host: ${host}
      namespace: commerce
      javaOpts: -Xms512m -Xmx512m
      resources:
        cpu: 500m
        memory: 1Gi
`;
/** Each stack's last app line (supply-chain's memory) and the line after its apps: the new block goes between. */
const AFTER_APPS: Record<string, [string, string]> = {
  dev: ["        memory: 1Gi\n", "  # KubeSphere projects"],
  test: ["        memory: 1Gi\n", "  # KubeSphere projects"],
  pre: ["        memory: 1Gi\n", "  # KubeSphere console"],
  prod1: ["        memory: 3Gi\n", "  # KubeSphere console"],
};
function insert(stack: string, text: string, block: string): string {
  const [last, next] = AFTER_APPS[stack];
  expect(text.split(last + next)).toHaveLength(2);
  return text.replace(last + next, last + block + next);
}

function run(...argv: string[]): { code: number; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(
    [...argv, "--dir", dir],
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out, err };
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "new-app-"));
  for (const f of fs.readdirSync(ROOT).filter((f) => /^Pulumi\..*yaml$/.test(f))) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), insert("dev", read("dev"), DEV_BLOCK));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test("dev -> test -> pre -> prod1: one command per hop, each adding the app after the last one, nothing else changed", () => {
  const before = { test: read("test"), pre: read("pre"), prod1: read("prod1") };

  expect(run("promote", "dev", "test", "coupon-service").out).toEqual([
    "test coupon-service: added from dev at 20261207-12 (image harbor.livemall.internal/commerce/coupon-service, host coupon.test.livemall.internal; no history)",
    "next: git commit Pulumi.test.yaml && open a PR; CI runs the preview",
  ]);
  expect(read("test")).toBe(insert("test", before.test, added("20261207-12", "coupon.test.livemall.internal")));

  expect(run("release", "pre", "coupon-service", "coupon-service-v1.0.0").out).toEqual([
    "pre coupon-service: added from test at coupon-service-v1.0.0 (image harbor.livemall.internal/commerce/coupon-service, host coupon.pre.livemall.internal; no history)",
    "next: git commit Pulumi.pre.yaml && open a PR; CI runs the preview",
  ]);
  expect(read("pre")).toBe(insert("pre", before.pre, added("coupon-service-v1.0.0", "coupon.pre.livemall.internal")));

  expect(run("promote", "pre", "prod1", "coupon-service").out).toEqual([
    "prod1 coupon-service: added from pre at coupon-service-v1.0.0 (image harbor.livemall.internal/commerce/coupon-service, host coupon.livemall.com; no history)",
    "next: git commit Pulumi.prod1.yaml && open a PR; CI runs the preview",
  ]);
  expect(read("prod1")).toBe(insert("prod1", before.prod1, added("coupon-service-v1.0.0", "coupon.livemall.com")));

  // The result is valid config, and check:fleet's prod-tag rule holds.
  expect(prodTagsNotFromPre(dir)).toEqual([]);
  for (const s of ["test", "pre", "prod1"]) {
    const c = loadEngineConfig(s, [], dir);
    const settings = parseStackConfig(
      s,
      { values: c.values, secretKeys: c.secretKeys },
      { stacks: listStacks(dir), readStack: (n) => readStackFile(n, dir).values },
    );
    expect(settings.apps?.["coupon-service"]?.host).toBe(
      { test: "coupon.test.livemall.internal", pre: "coupon.pre.livemall.internal", prod1: "coupon.livemall.com" }[s],
    );
  }
});

test("the target's tag rule applies: pre refuses a build tag for the new app, writing nothing", () => {
  run("promote", "dev", "test", "coupon-service");
  const pre = read("pre");
  const r = run("release", "pre", "coupon-service", "20261207-12");
  expect(r.code).toBe(1);
  expect(r.err.join("\n")).toContain(
    'Pulumi.pre.yaml: platform:apps.coupon-service.tag: tag "20261207-12" is not a release tag (pre takes git tags such as v2.3.1 or coupon-service-v2.3.1, or a candidate such as v2.3.1-rc.1)',
  );
  expect(read("pre")).toBe(pre);
});

test("prod takes only what pre runs: a promotion adds the app at pre's tag, and a release candidate is refused", () => {
  run("promote", "dev", "test", "coupon-service");
  run("release", "pre", "coupon-service", "coupon-service-v1.0.0-rc.1");
  const prod1 = read("prod1");
  const r = run("promote", "pre", "prod1", "coupon-service");
  expect(r.code).toBe(1);
  expect(r.err.join("\n")).toContain(
    'Pulumi.prod1.yaml: platform:apps.coupon-service.tag: tag "coupon-service-v1.0.0-rc.1" is a release candidate: prod1 takes only final releases',
  );
  expect(read("prod1")).toBe(prod1);
});

test("dev is where an app is first written: release refuses an unknown app there, saying so", () => {
  const r = run("release", "dev", "loyalty-service", "20261207-1");
  expect(r.code).toBe(1);
  expect(r.err.join("\n")).toContain(
    "Pulumi.dev.yaml: platform:apps.loyalty-service: no such app (known: order-service, distribution-center, supply-chain, coupon-service); dev is the first stack an app reaches, so write its settings there by hand once",
  );
});

test("an unnamed promotion moves only the apps both stacks run; it adds nothing", () => {
  const r = run("promote", "dev", "test");
  expect(r.code).toBe(0);
  expect(read("test")).not.toContain("coupon-service");
});

test("--host names the host where the target's rule cannot be learned, or overrides it", () => {
  run("promote", "dev", "test", "coupon-service");
  run("release", "pre", "coupon-service", "coupon-service-v1.0.0");
  // prod2's hosts follow no single rewrite of pre's once one of them differs.
  fs.writeFileSync(path.join(dir, "Pulumi.prod2.yaml"), read("prod2").replace("host: scm.livemall.com", "host: scm.bj.livemall.com"));
  const r = run("promote", "pre", "prod2", "coupon-service");
  expect(r.code).toBe(1);
  expect(r.err.join("\n")).toContain(
    "Pulumi.prod2.yaml: platform:apps.coupon-service.host: the apps pre and prod2 both run rewrite their hosts differently (pre.livemall.internal -> livemall.com; pre.livemall.internal -> bj.livemall.com); give it with --host (e.g. --host coupon-service.<domain>)",
  );
  expect(run("promote", "pre", "prod2", "coupon-service", "--host", "coupon.bj.livemall.com").code).toBe(0);
  expect(read("prod2")).toContain("      host: coupon.bj.livemall.com\n");
});

test("--host with nothing new, or on another command, is refused", () => {
  const r = run("release", "dev", "order-service", "20261207-1", "--host", "x.dev.livemall.internal");
  expect(r.code).toBe(1);
  expect(r.err.join("\n")).toContain("--host is for an app the stack does not have yet; dev has order-service");
  expect(run("rollback", "dev", "order-service", "--host", "x").code).toBe(2);
});
