// --emit=asm and --emit=json print the compiled programs; they need no root and load nothing.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { beforeAll, expect, test } from "vitest";

const cli = new URL("../../dist/runtime/cli.js", import.meta.url).pathname;

beforeAll(() => {
  if (!existsSync(cli)) execFileSync(process.execPath, [new URL("../../node_modules/typescript/bin/tsc", import.meta.url).pathname, "-p", "tsconfig.json"]);
});

test("--emit=asm prints each program's disassembly", () => {
  const out = execFileSync(process.execPath, [cli, "--emit=asm", "-e", "BEGIN { @c[pid] = count(); exit(); }"], { encoding: "utf8" });
  expect(out).toMatch(/^BEGIN: \d+ instructions\n0: \([0-9a-f]{2}\) /);
  expect(out).toContain("call bpf_get_current_pid_tgid#14");
  expect(out).toContain("call bpf_map_lookup_elem#1");
  expect(out).toContain("map[@c]");
  expect(out).toMatch(/\(95\) exit\n/);
});

test("--emit=json gives programs, maps and events", () => {
  const out = execFileSync(process.execPath, [cli, "--emit=json", "-e", 'BEGIN { printf("%d\\n", 1); @h = hist(5); }'], { encoding: "utf8" });
  const script = JSON.parse(out);
  expect(script.programs).toHaveLength(1);
  expect(script.programs[0].probeName).toBe("BEGIN");
  expect(script.programs[0].bytecode).toMatch(/^[0-9a-f]+$/);
  expect(script.maps.map((m: { name: string }) => m.name)).toContain("@h");
  expect(script.events[0].kind).toBe("printf");
});
