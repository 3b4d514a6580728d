#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS BPFTS_NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} node --max-semi-space-size=1 --interrupt-budget=270336 --no-use-osr
// The `bpfts` command as installed (package.json "bin"). `npm run build` copies this file to
// dist/bpfts.cjs, beside dist/bpfts.bundle.cjs (the whole CLI in one file, scripts/bundle.mjs) and
// dist/bpfts.bundle.cache (V8's code cache for it). Everything here is for start-up time and
// memory (`npm run bench`); dist/runtime/cli.js is the same program, unbundled.
//
// The first line (GNU env -S; a line of up to 256 bytes needs Linux 5.1, and ring buffers 5.8):
// - drops NODE_EXTRA_CA_CERTS: Node reads that certificate file eagerly at start-up (about 30 ms
//   for Debian's bundle) and bpfts makes no TLS connection. Its value travels in
//   BPFTS_NODE_EXTRA_CA_CERTS and is put back below, so `-c CMD` children get it as it was;
// - --max-semi-space-size=1 caps the young generation at 1 MiB per semi-space: 2 MiB less at
//   start and far less for large scripts, at a cost lost in the noise;
// - --interrupt-budget (4x the default) and --no-use-osr keep TurboFan from compiling anything
//   during start-up (chevrotain's set-up loops would trigger it): its code and memory add about
//   4 MiB of RSS. Hot code still gets optimized when it is called again, which is how a tracing
//   session's callbacks run.
// The code cache is only used when V8's version and these flags match the build's (V8 checks);
// otherwise the bundle is compiled as usual.
"use strict";

const saved = process.env.BPFTS_NODE_EXTRA_CA_CERTS;
if (saved !== undefined) {
  delete process.env.BPFTS_NODE_EXTRA_CA_CERTS;
  if (saved !== "") process.env.NODE_EXTRA_CA_CERTS = saved;
}

const { readFileSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");
const { Script } = require("node:vm");

const bundle = join(__dirname, "bpfts.bundle.cjs");
const cache = join(__dirname, "bpfts.bundle.cache");

let source;
try {
  source = readFileSync(bundle, "utf8");
} catch (e) {
  process.stderr.write(`bpfts: cannot read ${bundle} (${e.code ?? e.message}): run npm run build\n`);
  process.exit(2);
}
// The cache starts with the hash on the bundle's first line ("// bpfts-bundle HASH"): V8 only
// checks the source's length, so a cache is used only with the bundle it was made from.
let cachedData;
if (!process.env.BPFTS_CODE_CACHE_OUT) {
  try {
    const data = readFileSync(cache);
    const id = source.slice(0, source.indexOf("\n")).split(" ")[2];
    const header = data.indexOf(10);
    if (id && header > 0 && data.toString("latin1", 0, header) === id) cachedData = data.subarray(header + 1);
  } catch {
    // no cache: compiled as usual
  }
}

// The bundle is a CommonJS module, already in the function wrapper Node gives a module.
const script = new Script(source, { filename: bundle, cachedData });
if (process.env.BPFTS_CODE_CACHE_REPORT) {
  // For tests: whether V8 took the cache (it refuses one made by another V8 or other flags).
  require("node:fs").writeSync(2, `bpfts: code cache ${cachedData === undefined ? "missing" : script.cachedDataRejected ? "rejected" : "accepted"}\n`);
}
if (process.env.BPFTS_CODE_CACHE_OUT) {
  // scripts/bundle.mjs: after a warm-up run, save the code of every function compiled so far.
  const out = process.env.BPFTS_CODE_CACHE_OUT;
  process.once("exit", () => writeFileSync(out, script.createCachedData()));
}
const module_ = { exports: {} };
script.runInThisContext()(module_.exports, require, module_, bundle, __dirname);
