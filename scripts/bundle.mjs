#!/usr/bin/env node
// Builds the installed `bpfts` command (part of `npm run build`, after tsc):
//
//   dist/bpfts.bundle.cjs   runtime/cli.ts and everything it imports, chevrotain included, in one
//                           CommonJS file (esbuild). Only the native addon (runtime/native.ts
//                           finds it from the package root) and node builtins stay outside;
//   dist/bpfts.cjs          scripts/launcher.cjs: the bin entry, which compiles the bundle with
//   dist/bpfts.bundle.cache V8's code cache, made here by one warm-up run of the launcher.
//
// Why: Node 20's ESM loader spends about 30 ms resolving and reading the ~80 modules of dist/, and
// compiling the functions a run needs costs as much again; one file with a code cache starts in
// about half the time of dist/runtime/cli.js (numbers in bench/run.mjs's results). The bundle is
// CommonJS because Node 20 can take a code cache for a script (node:vm), not for an ES module.
//
// The first line of the bundle carries a hash of its text, and the cache starts with the same
// hash: V8 itself only checks the source's length, so the launcher uses a cache only for the
// bundle it was made from.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DIST = join(ROOT, "dist");
const BUNDLE = join(DIST, "bpfts.bundle.cjs");
const CACHE = join(DIST, "bpfts.bundle.cache");
const LAUNCHER_SOURCE = join(ROOT, "scripts", "launcher.cjs");
const LAUNCHER = join(DIST, "bpfts.cjs");

// What the warm-up run compiles goes in the cache: the common paths of the compiler (printf, maps,
// aggregations, hist), and, run for real when we are root (BEGIN and END only: nothing is
// attached to the system), the session and the output. Otherwise --emit=asm, which needs neither
// root nor a kernel.
const WARM_UP_SCRIPT = `BEGIN { printf("%s %d %u\\n", comm, pid, 1); @c[comm] = count(); @h = hist(nsecs % 100); @s = sum(1); $x = 1; if ($x > 0) { @m[1, "a"] = max($x); } time("%H:%M:%S\\n"); exit(); }
END { printf("done\\n"); print(@c); clear(@h); }`;
const WARM_UPS = [...(process.getuid?.() === 0 ? [["-e", WARM_UP_SCRIPT]] : []), ["--emit=asm", "-e", WARM_UP_SCRIPT]];

// compiler/chevrotain.ts loads chevrotain's single-file build by path at run time (the package's
// exports map hides it); in the bundle the same file is imported statically and inlined.
const chevrotainFile = fileURLToPath(new URL("../chevrotain.mjs", import.meta.resolve("chevrotain")));
const chevrotainPlugin = {
  name: "chevrotain-single-file",
  setup(b) {
    b.onLoad({ filter: /[\\/]compiler[\\/]chevrotain\.ts$/ }, () => ({ contents: `export * from ${JSON.stringify(chevrotainFile)};`, loader: "js", resolveDir: ROOT }));
  },
};

// Node builtins that cost milliseconds to load (child_process pulls in net, dgram and the stream
// modules) and that most runs never call (mounting tracefs, -c CMD, build ids): in the bundle each
// is a module of getters that requires the real one on first use.
const LAZY_BUILTINS = ["child_process", "zlib"];
const lazyBuiltinsPlugin = {
  name: "lazy-builtins",
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(node:)?(${LAZY_BUILTINS.join("|")})$`) }, (args) =>
      args.namespace === "lazy-builtin" ? { path: args.path, external: true } : { path: args.path.replace(/^node:/, ""), namespace: "lazy-builtin" },
    );
    b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, async ({ path }) => {
      const names = Object.keys(await import(`node:${path}`)).filter((name) => name !== "default");
      const getters = names.map((n) => `Object.defineProperty(exports, ${JSON.stringify(n)}, { enumerable: true, get: () => load()[${JSON.stringify(n)}] });`);
      return { contents: [`let real;`, `const load = () => (real ??= require("node:${path}"));`, ...getters].join("\n"), loader: "js" };
    });
  },
};

// The launcher's vm.Script cannot run import(): a dynamic import of a node builtin (the only kind
// esbuild leaves in place) becomes a module of its own that requires it, which esbuild then
// bundles like any other dynamic import.
const dynamicBuiltinsPlugin = {
  name: "dynamic-builtins",
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) =>
      args.kind === "dynamic-import" && isBuiltin(args.path) ? { path: args.path, namespace: "dynamic-builtin" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "dynamic-builtin" }, ({ path }) => ({ contents: `module.exports = require(${JSON.stringify(path)});`, loader: "js" }));
  },
};

/** Writes through a temporary file, so a concurrent reader never sees half a file. */
function writeAtomic(path, data, mode) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  if (mode !== undefined) chmodSync(tmp, mode);
  renameSync(tmp, path);
}

mkdirSync(DIST, { recursive: true });
// A cache must never outlive its bundle.
rmSync(CACHE, { force: true });

const result = await build({
  entryPoints: [join(ROOT, "runtime", "cli.ts")],
  bundle: true,
  write: false,
  outfile: BUNDLE,
  platform: "node",
  format: "cjs",
  target: "node20",
  // zod is for the library's option checks only (runtime/trace.ts); never on the CLI's path.
  external: ["zod"],
  plugins: [chevrotainPlugin, lazyBuiltinsPlugin, dynamicBuiltinsPlugin],
  // runtime/native.ts and runtime/cli.ts find the package from import.meta.url (set below).
  define: { "import.meta.url": "__bpfts_bundle_url" },
  legalComments: "none",
  logLevel: "warning",
});
// The file is the module already wrapped as Node wraps a CommonJS module, so that the launcher
// compiles the text as read (a second copy of 800 kB would stay in the heap until a full GC).
// "use strict" comes first, as the sources are ES modules.
const body = result.outputFiles[0].text.replace(/^#!.*\n/, "");
if (/\bimport\(/.test(body)) throw new Error("bundle: an import() of a module outside the bundle is left in it; the launcher's vm.Script cannot run it");
const wrapped = [
  `(function (exports, require, module, __filename, __dirname) {`,
  `"use strict";`,
  `var __bpfts_bundle_url = require("node:url").pathToFileURL(__filename).href;`,
  body,
  `})`,
].join("\n");
const id = createHash("sha256").update(wrapped).digest("hex").slice(0, 32);
writeAtomic(BUNDLE, `// bpfts-bundle ${id}\n${wrapped}`);

const launcher = readFileSync(LAUNCHER_SOURCE, "utf8");
writeAtomic(LAUNCHER, launcher, 0o755);

// The cache is made by the launcher itself, with the node flags of its first line: V8 rejects a
// cache made under other flags.
const shebang = launcher.split("\n", 1)[0];
const nodeFlags = shebang.split(/\s+/).slice(shebang.split(/\s+/).indexOf("node") + 1);
const env = { ...process.env, BPFTS_CODE_CACHE_OUT: `${CACHE}.${process.pid}.v8` };
delete env.NODE_OPTIONS;
try {
  let made;
  const failures = [];
  for (const args of WARM_UPS) {
    const warm = spawnSync(process.execPath, [...nodeFlags, LAUNCHER, ...args], { env, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"], timeout: 30_000 });
    if (warm.status === 0) {
      made = readFileSync(env.BPFTS_CODE_CACHE_OUT);
      break;
    }
    failures.push(`bpfts ${args[0]} ... exited with ${warm.status ?? warm.signal ?? warm.error}: ${warm.stderr.trim()}`);
  }
  if (made === undefined) throw new Error(failures.join("; "));
  writeAtomic(CACHE, Buffer.concat([Buffer.from(`${id}\n`), made]));
} catch (e) {
  // Not fatal: without a cache the command is only slower.
  process.stderr.write(`bundle: no code cache: ${e.message}\n`);
} finally {
  rmSync(env.BPFTS_CODE_CACHE_OUT, { force: true });
}
