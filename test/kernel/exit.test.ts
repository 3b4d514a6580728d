// exit() as in bpftrace 0.17: the rest of the probe is skipped and a record asks user space to
// stop; probes keep firing until they are detached (their map updates count), but the records
// they send after exit()'s are dropped; END runs; the maps are printed.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { beforeAll, expect } from "vitest";
import { kernelTest } from "../support/kernel.js";
import { buildTargets } from "../support/targets.js";

const root = new URL("../../", import.meta.url).pathname;
const cli = `${root}dist/runtime/cli.js`;

beforeAll(() => {
  if (!existsSync(cli)) execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, "-p", "tsconfig.json"], { cwd: root });
});

kernelTest("a 1 ms interval: nothing printed after exit(), END runs, the map counts every firing until detached", () => {
  for (let i = 0; i < 3; i++) {
    const r = spawnSync(process.execPath, [cli, "-e", 'interval:ms:1 { @n++; if (@n == 4) { exit(); } printf("%d\\n", @n); } END { printf("end %d\\n", @n); }'], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.stderr).toBe("");
    const m = /^Attaching 2 probes...\n1\n2\n3\nend (\d+)\n\n\n@n: (\d+)\n$/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(m![1]).toBe(m![2]);
    expect(Number(m![1])).toBeGreaterThanOrEqual(4);
  }
}, 60_000);

kernelTest("calls made before user space detaches are all counted (bpftrace's intcast 'Sum casted retval')", () => {
  const { tracetest } = buildTargets("O2");
  const r = spawnSync(process.execPath, [cli, "-e", `uretprobe:${tracetest}:tt_add { @ = stats((int32)retval); exit(); }`, "-c", `${tracetest} add 300`], {
    encoding: "utf8",
    timeout: 20_000,
  });
  expect(r.stderr).toBe("");
  // tt_add(k, -2k) returns -k for k = 0, 1, ...: the first N calls total -N(N-1)/2. With the old
  // in-kernel exit flag only the first call counted; now the calls go on until user space has
  // detached the probe (about a millisecond after the exit record: here, usually all 300).
  const m = /@: count (\d+), average -?\d+, total (-?\d+)\n/.exec(r.stdout);
  expect(m, r.stdout).not.toBeNull();
  const n = Number(m![1]);
  expect(n).toBeGreaterThan(1);
  expect(n).toBeLessThanOrEqual(300);
  expect(Number(m![2])).toBe(-(n * (n - 1)) / 2);
}, 60_000);
