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

function run(cacheSetting = cache, cwd = ROOT): { out: { compilerLoaded: boolean; word: string }; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, ["-r", HOOK, fixture], {
    cwd,
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

  it("makes its directory 0700 and its entries 0600", () => {
    expect(fs.statSync(cache).mode & 0o777).toBe(0o700);
    for (const e of entries()) expect(fs.statSync(path.join(cache, e)).mode & 0o777).toBe(0o600);
  });

  it("compiles with the root tsconfig.json whatever the working directory, so an entry made elsewhere is the root's", () => {
    // A directory whose own tsconfig would make ES modules and keep the types' syntax target ES3 (ts-node reads the
    // tsconfig it finds from its cwd unless told which).
    const sub = path.join(dir, "elsewhere");
    fs.mkdirSync(sub);
    fs.writeFileSync(path.join(sub, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "esnext", target: "es3" } }));
    const fresh = path.join(dir, "cache-elsewhere");
    fs.writeFileSync(fixture, source("third"));
    const r = run(fresh, sub);
    expect(r.out).toEqual({ compilerLoaded: true, word: "third" });
    const made = fs
      .readdirSync(fresh, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith(".js"));
    expect(made).toHaveLength(1);
    const tsNode = create({ transpileOnly: true, cwd: ROOT });
    expect(fs.readFileSync(path.join(fresh, made[0]), "utf8")).toBe(tsNode.compile(source("third"), fixture));
    fs.writeFileSync(fixture, source("second"));
  });

  it("refuses a cache directory others may write: one warning line, compiled without it, nothing written", () => {
    const open = path.join(dir, "cache-open");
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    const r = run(open);
    expect(r.out).toEqual({ compilerLoaded: true, word: "second" });
    expect(r.stderr.split("\n").filter((l) => l.startsWith("transpile cache:"))).toEqual([
      `transpile cache: ${open} is not owned by uid ${process.getuid!()} or is writable by group or others; compiling without it`,
    ]);
    expect(fs.readdirSync(open)).toEqual([]);
  });

  it("is ts-node itself with PLATFORM_TRANSPILE_CACHE=off: same result, nothing written", () => {
    const before = entries();
    const off = run("off");
    expect(off.out).toEqual({ compilerLoaded: true, word: "second" });
    expect(off.stderr).toContain(`${fixture}:6:9`);
    expect(entries()).toEqual(before);
  });
});
