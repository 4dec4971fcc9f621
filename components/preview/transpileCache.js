// `node -r ./components/preview/transpileCache.js`: ts-node's transpile-only
// compile with an on-disk cache in front of it, for the offline preview and the
// bench's child processes. Loading ts-node and transpiling the program's ~100
// files costs every run about a second; a cache hit does neither (the SDK still
// loads TypeScript itself, to parse functions it serializes). Plain JavaScript:
// it runs before anything can compile TypeScript.
//
// What is cached is ts-node's own output (the JavaScript and its inline source
// map), so a hit runs the same bytes a miss would; the key covers everything
// that output depends on: the file's path and text, tsconfig.json, the
// TypeScript and ts-node versions, TS_NODE_* settings, Node's version and this
// file. Stack traces map to the .ts lines through the same source-map support
// ts-node installs. PLATFORM_TRANSPILE_CACHE=DIR moves the cache (default
// node_modules/.cache/platform-transpile); PLATFORM_TRANSPILE_CACHE=off turns
// it off (ts-node compiles every file, as `-r ts-node/register/transpile-only`).
//
// ts-node reads the root tsconfig.json whatever the working directory (cwd and project given), so
// the key's tsconfig is the one the output came from. The cache is code this process runs: its
// directory is made 0700 and its entries 0600, and a directory not owned by this user, or writable
// by group or others, is not used (one warning line; ts-node compiles every file).
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const ROOT = path.resolve(__dirname, "..", "..");
const setting = process.env.PLATFORM_TRANSPILE_CACHE;
const DIR = setting && setting !== "off" ? path.resolve(setting) : path.join(ROOT, "node_modules", ".cache", "platform-transpile");

const TS_NODE = { transpileOnly: true, cwd: ROOT, project: path.join(ROOT, "tsconfig.json") };

if (setting === "off") {
  require("ts-node").register(TS_NODE);
} else if (trusted(DIR)) {
  install();
} else {
  process.stderr.write(`transpile cache: ${DIR} is not owned by uid ${process.getuid()} or is writable by group or others; compiling without it\n`);
  require("ts-node").register(TS_NODE);
}

/** The cache directory, made 0700 if missing; false when it is not a directory of ours that only we may write. */
function trusted(dir) {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.lstatSync(dir);
    return st.isDirectory() && st.uid === process.getuid() && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

function install() {
  const salt = crypto.createHash("sha256");
  for (const f of [path.join(ROOT, "tsconfig.json"), require.resolve("typescript/package.json"), require.resolve("ts-node/package.json"), module.filename]) {
    salt.update(fs.readFileSync(f)).update("\0");
  }
  const tsNodeEnv = Object.keys(process.env)
    .filter((k) => k.startsWith("TS_NODE_"))
    .sort()
    .map((k) => `${k}=${process.env[k]}`);
  salt.update(JSON.stringify([process.version, tsNodeEnv]));
  const saltHex = salt.digest("hex");

  /** Compiled output by file name, for the stack-trace mapping. */
  const outputs = new Map();
  let service; // ts-node, created on the first miss (that is when TypeScript loads)

  function compile(code, fileName) {
    const key = crypto.createHash("sha256").update(saltHex).update("\0").update(path.relative(ROOT, fileName)).update("\0").update(code).digest("hex");
    const file = path.join(DIR, key.slice(0, 2), `${key}.js`);
    let out;
    try {
      out = fs.readFileSync(file, "utf8");
    } catch {
      service ??= require("ts-node").create(TS_NODE);
      out = service.compile(code, fileName);
      // Best effort, and whole or not at all: a temporary file renamed over the entry.
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        fs.writeFileSync(tmp, out, { mode: 0o600 });
        fs.renameSync(tmp, file);
      } catch {
        fs.rmSync(tmp, { force: true });
      }
    }
    outputs.set(fileName, out);
    return out;
  }

  // ts-node's own handler shape: compile what the .js loader reads, node_modules left as they are.
  const old = require.extensions[".ts"] || require.extensions[".js"];
  require.extensions[".ts"] = function (m, filename) {
    if (filename.split(path.sep).includes("node_modules")) return old(m, filename);
    const _compile = m._compile;
    m._compile = function (code, fileName) {
      return _compile.call(this, compile(code, fileName), fileName);
    };
    return old(m, filename);
  };

  // The source-map support ts-node installs (its own dependency), reading the compiled output from memory.
  const sourceMapSupport = require(require.resolve("@cspotcode/source-map-support", { paths: [path.dirname(require.resolve("ts-node"))] }));
  sourceMapSupport.install({
    environment: "node",
    retrieveFile: (p) => outputs.get(path.normalize(p)) || "",
    redirectConflictingLibrary: true,
  });
}
