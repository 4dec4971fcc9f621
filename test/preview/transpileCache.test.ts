// components/preview/transpileCache.js, what `npm run preview` and the bench's
// children load instead of ts-node/register/transpile-only: a hit must run
// ts-node's own bytes without loading TypeScript, a changed file must not run
// stale code, and a stack trace must still name the .ts line.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { create } from "ts-node";

const ROOT = path.resolve(__dirname, "..", "..");
const HOOK = path.join(ROOT, "components", "preview", "transpileCache.js");

let dir: string;
let cache: string;
let fixture: string;

// Line 6 throws; the type annotations make it TypeScript that plain node would not run as CommonJS.
const source = (word: string) =>
  [
    "const compilerLoaded: boolean = Object.keys(require.cache).some((k: string) => k.includes(`${'/'}node_modules/typescript/`));",
    `const word: string = ${JSON.stringify(word)};`,
    "console.log(JSON.stringify({ compilerLoaded, word }));",
    "function fail(reason: string): never {",
    "  // the next line throws",
    "  throw new Error(reason);",
    "}",
    "fail(word);",
    "",
  ].join("\n");

function run(cacheSetting = cache): { out: { compilerLoaded: boolean; word: string }; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, ["-r", HOOK, fixture], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, PLATFORM_TRANSPILE_CACHE: cacheSetting },
  });
  return { out: JSON.parse(r.stdout.trim()), stderr: r.stderr, status: r.status };
}

const entries = () => (fs.existsSync(cache) ? fs.readdirSync(cache, { recursive: true }).filter((f) => String(f).endsWith(".js")) : []).map(String);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "transpile-cache-"));
  cache = path.join(dir, "cache");
  fixture = path.join(dir, "fixture.ts");
  fs.writeFileSync(fixture, source("first"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("the preview's transpile cache", () => {
  it("compiles with ts-node on a miss and keeps ts-node's exact output", () => {
    const cold = run();
    expect(cold.status).toBe(1);
    expect(cold.out).toEqual({ compilerLoaded: true, word: "first" });
    const [entry] = entries();
    expect(entries()).toHaveLength(1);
    // ts-node's own compile of the same file, in this process: the bytes the entry must hold.
    const tsNode = create({ transpileOnly: true, cwd: ROOT });
    expect(fs.readFileSync(path.join(cache, entry), "utf8")).toBe(tsNode.compile(source("first"), fixture));
  });

  it("runs a hit without loading TypeScript, and the stack trace still names the .ts line", () => {
    const warm = run();
    expect(warm.status).toBe(1);
    expect(warm.out).toEqual({ compilerLoaded: false, word: "first" });
    expect(warm.stderr).toContain("Error: first");
    expect(warm.stderr).toContain(`${fixture}:6:9`);
    expect(entries()).toHaveLength(1);
  });

  it("never runs stale code: a changed file is a new entry", () => {
    fs.writeFileSync(fixture, source("second"));
    const changed = run();
    expect(changed.out).toEqual({ compilerLoaded: true, word: "second" });
    expect(changed.stderr).toContain("Error: second");
    expect(entries()).toHaveLength(2);
  });

  it("is ts-node itself with PLATFORM_TRANSPILE_CACHE=off: same result, nothing written", () => {
    const before = entries();
    const off = run("off");
    expect(off.out).toEqual({ compilerLoaded: true, word: "second" });
    expect(off.stderr).toContain(`${fixture}:6:9`);
    expect(entries()).toEqual(before);
  });
});
