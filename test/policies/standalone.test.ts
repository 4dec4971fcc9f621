// The pack stands alone, as `pulumi policy publish` uploads it: the policies/
// folder copied by itself to a temp dir (its node_modules symlinked, nothing
// installed) type-checks and builds with the pack's own TypeScript and starts
// the way the Pulumi CLI starts it, answering GetAnalyzerInfo with every policy.
// And no pack file reaches outside the folder: every import is relative within
// policies/, a Node built-in, or a dependency the pack's package.json declares.
import { spawnSync } from "child_process";
import * as fs from "fs";
import { builtinModules } from "module";
import * as os from "os";
import * as path from "path";
import { POLICY_NAMES } from "../../policies/pack";
import { RunningPack, START_TIMEOUT_MS, startPack } from "./packServer";

const PACK = path.resolve(__dirname, "..", "..", "policies");
const PACKAGE = JSON.parse(fs.readFileSync(path.join(PACK, "package.json"), "utf8"));
const LOCK = JSON.parse(fs.readFileSync(path.join(PACK, "package-lock.json"), "utf8"));

/** Every .ts file of the pack (relative paths), node_modules and build output left out. */
function packFiles(dir = PACK): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === "node_modules" || e.name === "bin") return [];
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return packFiles(full);
    return e.name.endsWith(".ts") ? [path.relative(PACK, full)] : [];
  });
}

/** Module specifiers of `import ... from "x"`, `export ... from "x"`, `import("x")` and `require("x")`. */
function importsOf(source: string): string[] {
  const out: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\b(?:import|require)\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) out.push(m[1]);
  return out;
}

/** Why `spec`, imported by pack file `file`, does not stay within the pack; undefined when it does. */
function escapes(file: string, spec: string): string | undefined {
  if (spec.startsWith(".")) {
    const target = path.resolve(PACK, path.dirname(file), spec);
    const rel = path.relative(PACK, target);
    if (rel.startsWith("..") || path.isAbsolute(rel)) return `${file} imports ${spec}, outside policies/`;
    return undefined;
  }
  const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
  if (spec.startsWith("node:") || builtinModules.includes(name)) return undefined;
  const deps = { ...PACKAGE.dependencies, ...PACKAGE.devDependencies };
  return name in deps ? undefined : `${file} imports ${spec}, which policies/package.json does not declare`;
}

describe("the pack's imports stay inside policies/", () => {
  test("the scanner sees the imports a file can make, and flags one into ../components", () => {
    const sample = [
      'import { a } from "./rules/policy";',
      'import type { B } from "../components/preview/runtime";',
      'export { c } from "../../components/config/stackConfig";',
      'import "../components/sideEffect";',
      'const d = require("../components/ops/releaseOps");',
    ].join("\n");
    const specs = importsOf(sample);
    expect(specs.sort()).toEqual([
      "../../components/config/stackConfig",
      "../components/ops/releaseOps",
      "../components/preview/runtime",
      "../components/sideEffect",
      "./rules/policy",
    ]);
    expect(escapes("rules/nodes.ts", "../../components/config/stackConfig")).toMatch(/outside policies\//);
    expect(escapes("index.ts", "../components/preview/runtime")).toMatch(/outside policies\//);
    expect(escapes("index.ts", "left-pad")).toMatch(/does not declare/);
  });

  test("every pack file imports only pack files, built-ins and declared dependencies; none imports ../components", () => {
    const files = packFiles();
    expect(files).toEqual(
      expect.arrayContaining([
        "index.ts",
        "pack.ts",
        "imageTags.ts",
        "rules/policy.ts",
        "rules/nodes.ts",
        "rules/network.ts",
        "rules/workloads.ts",
        "rules/secrets.ts",
        "rules/threats.ts",
      ]),
    );
    const problems: string[] = [];
    for (const f of files) {
      const specs = importsOf(fs.readFileSync(path.join(PACK, f), "utf8"));
      for (const spec of specs) {
        if (/(^|\/)components(\/|$)/.test(spec)) problems.push(`${f} imports ${spec}`);
        const why = escapes(f, spec);
        if (why) problems.push(why);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe("policies/ copied alone to a temp dir", () => {
  let dir: string;
  let pack: RunningPack | undefined;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-pack-"));
    fs.cpSync(PACK, dir, { recursive: true, filter: (src) => !["node_modules", "bin"].includes(path.basename(src)) || path.dirname(src) !== PACK });
    fs.symlinkSync(path.join(PACK, "node_modules"), path.join(dir, "node_modules"), "dir");
  });

  afterAll(async () => {
    await pack?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("holds the pack's files and no node_modules above it that could lend a module", () => {
    expect(fs.existsSync(path.join(dir, "rules", "policy.ts"))).toBe(true);
    expect(fs.existsSync(path.join(dir, "config", "prod.json"))).toBe(true);
    for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) expect(fs.existsSync(path.join(d, "node_modules"))).toBe(false);
  });

  test("builds with the pack's own TypeScript (a locked devDependency): tsc -p . emits every module", () => {
    expect(PACKAGE.devDependencies?.typescript).toBeDefined();
    expect(LOCK.packages["node_modules/typescript"]?.version).toBe(PACKAGE.devDependencies.typescript);
    const tsc = path.join(dir, "node_modules", "typescript", "bin", "tsc");
    const r = spawnSync(process.execPath, [tsc, "-p", "."], { cwd: dir, encoding: "utf8" });
    expect({ status: r.status, output: `${r.stdout}${r.stderr}` }).toEqual({ status: 0, output: "" });
    for (const js of [
      "index.js",
      "pack.js",
      "imageTags.js",
      "rules/policy.js",
      "rules/nodes.js",
      "rules/network.js",
      "rules/workloads.js",
      "rules/secrets.js",
      "rules/changes.js",
      "rules/threats.js",
    ]) {
      expect(fs.existsSync(path.join(dir, "bin", js))).toBe(true);
    }
    fs.rmSync(path.join(dir, "bin"), { recursive: true });
  });

  test(
    "starts as the Pulumi CLI starts it and lists the platform pack's twenty-two policies",
    async () => {
      pack = await startPack(dir);

      const info: any = await pack.call("getAnalyzerInfo", new pack.protos.emptyPb.Empty());
      expect(info.getName()).toBe("platform");

      const names = info.getPoliciesList().map((p: any) => p.getName());
      expect(names).toEqual(POLICY_NAMES);
      expect(names).toHaveLength(22);
    },
    START_TIMEOUT_MS + 30_000,
  );
});
