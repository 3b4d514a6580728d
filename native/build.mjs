// Builds the native addon (binding.gyp -> build/Release/bpfts_native.node) with node-gyp.
// Runs as the root package's `install` script, so `npm install` and `npm ci` build it.
//
// node-gyp: npm's bundled copy (next to the npm that runs this script), else the one beside
// this node's npm, else `node-gyp` on PATH. Headers: node-gyp downloads them unless it is told
// where they are, which fails offline, so pass --nodedir=<node's prefix> (headers in
// <prefix>/include/node) unless npm already provides a nodedir.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

if (process.platform !== "linux") {
  console.error("bpfts: skipping the native addon build (BPF needs Linux)");
  process.exit(0);
}

function findNodeGyp() {
  const candidates = [];
  const execpath = process.env.npm_execpath; // <npm>/bin/npm-cli.js
  if (execpath) candidates.push(join(dirname(dirname(execpath)), "node_modules", "node-gyp", "bin", "node-gyp.js"));
  const prefix = dirname(dirname(process.execPath));
  candidates.push(join(prefix, "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  for (const c of candidates) if (existsSync(c)) return [process.execPath, c];
  return ["node-gyp"];
}

const [cmd, ...pre] = findNodeGyp();
const args = [...pre, "rebuild", "--jobs=max"];
if (!process.env.npm_config_nodedir) args.push(`--nodedir=${dirname(dirname(process.execPath))}`);

const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
if (r.error) {
  console.error(`bpfts: could not run node-gyp (${cmd}): ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);
