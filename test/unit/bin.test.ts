// The installed command: package.json's bin, dist/bpfts.cjs (scripts/launcher.cjs), which runs
// the one-file bundle of the CLI with V8's code cache (scripts/bundle.mjs). Spawned through its
// own first line, as a shell runs it.
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";
import { ensureBundle } from "../support/build.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string; bin: Record<string, string> };
const BIN = join(ROOT, pkg.bin["bpfts"]!);
const BUNDLE = join(ROOT, "dist", "bpfts.bundle.cjs");

function env(extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !["NODE_OPTIONS", "NO_COLOR", "FORCE_COLOR", "BPFTS_CODE_CACHE_REPORT", "BPFTS_CODE_CACHE_OUT"].includes(k)) out[k] = v;
  }
  return { ...out, ...extra };
}

function bpfts(args: string[], extraEnv: Record<string, string> = {}) {
  // The file itself, not `node FILE`: its first line (env -S ... node FLAGS) is part of what is tested.
  const r = spawnSync(BIN, args, { cwd: ROOT, encoding: "utf8", env: env(extraEnv), timeout: 20_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe(`bpfts as installed (${pkg.bin["bpfts"]})`, () => {
  beforeAll(() => ensureBundle([BIN, BUNDLE]), 60_000);

  test("package.json's bin is the launcher, and it is executable", () => {
    expect(pkg.bin["bpfts"]).toBe("dist/bpfts.cjs");
    expect(statSync(BIN).mode & 0o111).not.toBe(0);
    expect(readFileSync(BIN, "utf8").split("\n", 1)[0]).toMatch(/^#!\/usr\/bin\/env -S -u NODE_EXTRA_CA_CERTS .* node /);
  });

  test("--check accepts a good program, silently", () => {
    expect(bpfts(["--check", "-e", "BEGIN { @x[comm] = count(); printf(\"%d\\n\", pid); exit(); }"])).toEqual({ status: 0, stdout: "", stderr: "" });
    expect(bpfts(["--check", join(ROOT, "examples", "top-syscalls.bt")])).toEqual({ status: 0, stdout: "", stderr: "" });
  });

  test("--check reports errors with their position and exits 1", () => {
    const r = bpfts(["--check", "-e", "BEGIN { @x = 1 + ; }"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^stdin:1:18: error: /);
    expect(r.stderr).not.toMatch(/internal error/);
  });

  test("--version reads package.json from the bundle's place", () => {
    expect(bpfts(["--version"])).toEqual({ status: 0, stdout: `bpfts v${pkg.version}\n`, stderr: "" });
  });

  test("V8 takes the code cache made by the build (same V8, same flags as the first line)", () => {
    const r = bpfts(["--check", "-e", "BEGIN { exit(); }"], { BPFTS_CODE_CACHE_REPORT: "1" });
    expect(r).toEqual({ status: 0, stdout: "", stderr: "bpfts: code cache accepted\n" });
  });

  test("NODE_EXTRA_CA_CERTS is not loaded (Node warns about an unreadable one when it is)", () => {
    const r = bpfts(["--check", "-e", "BEGIN { exit(); }"], { NODE_EXTRA_CA_CERTS: "/nonexistent/bpfts-test.crt" });
    expect(r).toEqual({ status: 0, stdout: "", stderr: "" });
  });

  test("the bundle holds chevrotain and leaves out zod", () => {
    const text = readFileSync(BUNDLE, "utf8");
    expect(text).not.toMatch(/require\("(chevrotain|zod)"\)/);
    expect(text).toContain("performSelfAnalysis");
    expect(text).not.toMatch(/\bimport\(/);
  });
});
