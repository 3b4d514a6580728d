// The installed command (package.json's bin: dist/bpfts.cjs, the launcher of the bundled CLI) on
// a real run, spawned through its own first line as a shell runs it. test/unit/bin.test.ts covers
// what needs no kernel, and builds the bundle when it is missing or stale.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect } from "vitest";
import { kernelTest } from "../support/kernel.js";

const root = new URL("../../", import.meta.url).pathname;
const bin = join(root, (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { bin: Record<string, string> }).bin["bpfts"]!);

beforeAll(() => {
  if (!existsSync(bin)) spawnSync(process.execPath, [join(root, "scripts", "bundle.mjs")], { cwd: root });
}, 60_000);

function env(extra: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "NODE_OPTIONS" && k !== "NODE_EXTRA_CA_CERTS") out[k] = v;
  return { ...out, ...extra };
}

kernelTest("BEGIN { exit(); } runs to the end", () => {
  const r = spawnSync(bin, ["-e", "BEGIN { printf(\"hello\\n\"); exit(); }"], { encoding: "utf8", env: env({}), timeout: 20_000 });
  expect(r.stderr).toBe("");
  expect(r.stdout).toBe("Attaching 1 probe...\nhello\n\n\n");
  expect(r.status).toBe(0);
});

kernelTest("-c CMD gets NODE_EXTRA_CA_CERTS as it was, though bpfts itself drops it", () => {
  const run = (extra: Record<string, string>) => {
    const r = spawnSync(bin, ["-c", "/usr/bin/env", "-e", "END { }"], { encoding: "utf8", env: env(extra), timeout: 20_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    return r.stdout.split("\n").filter((line) => /NODE_EXTRA_CA_CERTS/.test(line));
  };
  expect(run({ NODE_EXTRA_CA_CERTS: "/nonexistent/with space.crt" })).toEqual(["NODE_EXTRA_CA_CERTS=/nonexistent/with space.crt"]);
  expect(run({})).toEqual([]);
});
