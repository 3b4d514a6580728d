// The examples run for real through the CLI, as the README tells people to run them.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { beforeAll, expect } from "vitest";
import { kernelTest } from "../support/kernel.js";

const root = new URL("../../", import.meta.url).pathname;
const cli = `${root}dist/runtime/cli.js`;

beforeAll(() => {
  if (!existsSync(cli)) execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, "-p", "tsconfig.json"], { cwd: root });
});

function run(file: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, file], { cwd: root, encoding: "utf8", timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

kernelTest("examples/hello.bt", () => {
  expect(run("examples/hello.bt")).toEqual({ status: 0, stdout: "Attaching 1 probe...\nHello from bpfts\n\n\n", stderr: "" });
});

kernelTest("examples/top-syscalls.bt (the README's command)", () => {
  const r = run("examples/top-syscalls.bt");
  expect(r.status).toBe(0);
  expect(r.stderr).toBe("");
  const lines = r.stdout.split("\n");
  expect(lines[0]).toBe("Attaching 3 probes...");
  expect(lines[1]).toBe("Counting system calls for 3 seconds...");
  // print(@syscalls, 10): at most ten processes, sorted by count ascending.
  // The rows of print(), up to the blank line before the exit-time dump of the (cleared) map.
  const end = lines.indexOf("", 2);
  const rows = lines.slice(2, end < 0 ? undefined : end);
  expect(rows.length).toBeLessThanOrEqual(10);
  expect(rows.every((l) => l.startsWith("@syscalls["))).toBe(true);
  expect(rows.length).toBeGreaterThan(0);
  const counts = rows.map((l) => Number(/: (\d+)$/.exec(l)![1]));
  expect([...counts].sort((a, b) => a - b)).toEqual(counts);
}, 40_000);
