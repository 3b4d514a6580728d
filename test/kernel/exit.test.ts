// After exit(), no probe of the script runs again, however long detaching takes: every program
// checks the `exiting` flag that exit() sets (END still runs).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { beforeAll, expect } from "vitest";
import { kernelTest } from "../support/kernel.js";

const root = new URL("../../", import.meta.url).pathname;
const cli = `${root}dist/runtime/cli.js`;

beforeAll(() => {
  if (!existsSync(cli)) execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, "-p", "tsconfig.json"], { cwd: root });
});

kernelTest("a 1 ms interval stops at the exit() count, every time; END runs after", () => {
  for (let i = 0; i < 5; i++) {
    const r = spawnSync(process.execPath, [cli, "-e", 'interval:ms:1 { @n++; if (@n == 4) { exit(); } } END { printf("end %d\\n", @n); }'], { encoding: "utf8", timeout: 20_000 });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("Attaching 2 probes...\nend 4\n\n\n@n: 4\n");
  }
}, 60_000);
