// Every example runs for real through the CLI, as the README tells people to run them, against a
// real target whose behaviour is known, and its output is checked against that behaviour:
// malloc sizes of a C program that mallocs known sizes, a C function's latency with known sleeps,
// a Python script's calls, the files `cat` opens, the system calls of a program making a known
// number of them. (examples/pg-query-latency.bt runs against a real PostgreSQL server in
// postgres.test.ts; examples/embed.mjs also in trace.test.ts.)
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect } from "vitest";
import {
  buildExampleTargets,
  countBetween,
  ensureBuilt,
  runCliWhile,
  runCommand,
  startCli,
  textHistogram,
  textMap,
} from "../support/examples.js";
import { kernelTest, kernelUnavailable } from "../support/kernel.js";

const root = new URL("../../", import.meta.url).pathname;
const cli = `${root}dist/runtime/cli.js`;
const PYTHON = "/usr/bin/python3.11";
const K = 2 ** 10;
const M = 2 ** 20;

beforeAll(() => {
  if (kernelUnavailable() !== undefined) return;
  ensureBuilt();
  buildExampleTargets();
}, 120_000);

function run(file: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, file], { cwd: root, encoding: "utf8", timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The count a `@syscalls[comm]: N` table gives the sysloop target (0 when it has no row). */
function sysloopCount(table: string): number {
  return textMap(table, "@syscalls").get("bpfts_sysloop") ?? 0;
}

/** A process makes its N getppid() calls plus its start-up and exit: at most this many more. */
const STARTUP_SYSCALLS = 200;

describe("every example is tested", () => {
  kernelTest("each file of examples/ has a test below (or in postgres.test.ts, trace.test.ts)", () => {
    const tested = ["hello.bt", "top-syscalls.bt", "syscount.bt", "malloc-sizes.bt", "func-latency.bt", "python-calls.bt", "opensnoop.bt", "embed.mjs", "pg-query-latency.bt"];
    expect(readdirSync(`${root}examples`).sort()).toEqual(tested.sort());
  });
});

kernelTest("examples/hello.bt", () => {
  expect(run("examples/hello.bt")).toEqual({ status: 0, stdout: "Attaching 1 probe...\nHello from bpfts\n\n\n", stderr: "" });
});

kernelTest("examples/top-syscalls.bt (the README's command): a process making 300000 system calls is among the top ten", async () => {
  const { sysloop } = buildExampleTargets();
  const r = startCli(["examples/top-syscalls.bt"], { cwd: root, timeoutMs: 30_000 });
  await r.attached;
  // Well within the three seconds: 300000 getppid() calls take a fraction of a second.
  const loop = await runCommand(sysloop, ["300000"]);
  expect(loop.code).toBe(0);
  const res = await r.done; // exit() after three seconds
  expect(res.code).toBe(0);
  expect(res.stderr).toBe("");
  const lines = res.stdout.split("\n");
  expect(lines[0]).toBe("Attaching 3 probes...");
  expect(lines[1]).toBe("Counting system calls for 3 seconds...");
  // print(@syscalls, 10): at most ten processes, sorted by count ascending.
  // The rows of print(), up to the blank line before the exit-time dump of the (cleared) map.
  const end = lines.indexOf("", 2);
  const rows = lines.slice(2, end < 0 ? undefined : end);
  expect(rows.length).toBeLessThanOrEqual(10);
  expect(rows.every((l) => l.startsWith("@syscalls["))).toBe(true);
  const counts = rows.map((l) => Number(/: (\d+)$/.exec(l)![1]));
  expect([...counts].sort((a, b) => a - b)).toEqual(counts);
  const n = sysloopCount(rows.join("\n"));
  expect(n).toBeGreaterThanOrEqual(300_000);
  expect(n).toBeLessThanOrEqual(300_000 + STARTUP_SYSCALLS);
  // Cleared before exit(): the exit-time dump has only what came between the clear and the
  // detach (the tool's own calls, say), nothing of the finished process.
  expect(sysloopCount(lines.slice(end).join("\n"))).toBe(0);
}, 40_000);

kernelTest("examples/syscount.bt: the 5-second table counts a process's calls, and is cleared after", async () => {
  const { sysloop } = buildExampleTargets();
  const r = await runCliWhile(
    ["examples/syscount.bt"],
    async () => {
      // 50000 calls at once, then (after the table printed at 5 s) 30000 more at 6.5 s.
      const loop = await runCommand(sysloop, ["50000", "6500", "30000"]);
      expect(loop.code).toBe(0);
    },
    { timeoutMs: 40_000 },
  );
  expect(r.code).toBe(0);
  expect(r.stderr).toBe("");
  const out = r.stdout;
  expect(out.startsWith("Attaching 2 probes...\n")).toBe(true);
  // One interval has passed (at 5 s; stopped at about 6.6 s): its time line, then the table.
  const sections = out.slice("Attaching 2 probes...\n".length).split(/^\d\d:\d\d:\d\d\n/m);
  expect(sections[0]).toBe("");
  expect(sections).toHaveLength(2);
  const interval = sections[1]!.slice(0, sections[1]!.indexOf("\n\n"));
  const atExit = sections[1]!.slice(interval.length);
  const first = sysloopCount(interval);
  expect(first).toBeGreaterThanOrEqual(50_000);
  expect(first).toBeLessThanOrEqual(50_000 + STARTUP_SYSCALLS);
  // After clear(): only what came after the table (the second batch and exit_group).
  const second = sysloopCount(atExit);
  expect(second).toBeGreaterThanOrEqual(30_000);
  expect(second).toBeLessThanOrEqual(30_000 + 10);
}, 60_000);

kernelTest("examples/malloc-sizes.bt -c: a program's known malloc sizes in their buckets", () => {
  const { mallocs } = buildExampleTargets();
  const r = spawnSync(process.execPath, [cli, "-c", mallocs, "examples/malloc-sizes.bt"], { cwd: root, encoding: "utf8", timeout: 30_000 });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(r.stdout.startsWith("Attaching 1 probe...\n\n\n@bytes: \n")).toBe(true);
  const h = textHistogram(r.stdout, "@bytes");
  // -c traces the command only: its 157 mallocs, and the few small ones the shell that holds the
  // command until the probes are attached makes before its exec.
  expect(countBetween(h, 2 * K, 4 * K)).toBe(100); // 3000 bytes
  expect(countBetween(h, 128 * K, 256 * K)).toBe(50); // 200000
  expect(countBetween(h, 512 * K, M)).toBe(7); // 777777
  expect(countBetween(h, 4 * K, 128 * K)).toBe(0);
  expect(countBetween(h, 256 * K, 512 * K)).toBe(0);
  expect(countBetween(h, -Infinity, 2 * K)).toBeLessThanOrEqual(20);
  expect(h.at(-1)!.end).toBe(M);
});

kernelTest("examples/func-latency.bt -c: a C function's known latencies (3 ms and 20 ms sleeps)", () => {
  const { latency } = buildExampleTargets();
  const r = spawnSync(process.execPath, [cli, "-c", `${latency} 5 3`, "examples/func-latency.bt", latency, "tt_sleep_ms"], {
    cwd: root,
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  // The command's own output comes first (it shares our stdout), then the maps at exit.
  expect(r.stdout.startsWith("Attaching 2 probes...\nlatency 5 3\n\n\n@ns: \n")).toBe(true);
  const h = textHistogram(r.stdout, "@ns");
  // A sleep never ends early: 3 ms is above 2M ns (2.10 ms), 20 ms above 16M ns (16.8 ms).
  expect(countBetween(h, -Infinity, 2 * M)).toBe(0);
  expect(countBetween(h, 2 * M, 16 * M)).toBe(5);
  expect(countBetween(h, 16 * M, 64 * M)).toBe(3);
  expect(h[0]).toEqual({ min: 2 * M, end: 4 * M, count: h[0]!.count });
  expect(h[0]!.count).toBeGreaterThan(0);
  // Every entry was deleted on return: @start prints as an empty map.
  expect(r.stdout).not.toContain("@start[");
});

describe("examples/python-calls.bt", () => {
  const script = `${root}test/targets/pycalls.py`;
  const ours = (out: string) => {
    const calls = textMap(out, "@calls");
    return Object.fromEntries([...calls].filter(([k]) => k.startsWith(`${script}, `)).map(([k, v]) => [k.slice(script.length + 2), v]));
  };

  kernelTest("-c python3.11 -m cProfile: a script's calls by file and function", () => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing`);
    const r = spawnSync(process.execPath, [cli, "-c", `${PYTHON} -m cProfile -o /dev/null ${script}`, "examples/python-calls.bt"], {
      cwd: root,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith("Attaching 1 probe...\npycalls 30\n\n\n")).toBe(true);
    // <genexpr> is entered once per resumption: three values and the end.
    expect(ours(r.stdout)).toEqual({ "<module>": 1, tt_branch: 3, tt_leaf: 12, "<genexpr>": 4 });
  }, 60_000);

  kernelTest("without a profiler CPython 3.11 runs the script's calls without the probe (the example's note)", () => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing`);
    const r = spawnSync(process.execPath, [cli, "-c", `${PYTHON} ${script}`, "examples/python-calls.bt"], { cwd: root, encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith("Attaching 1 probe...\npycalls 30\n")).toBe(true);
    expect(ours(r.stdout)).toEqual({});
  }, 60_000);
});

kernelTest("examples/opensnoop.bt: the files cat opens, with its pid and comm", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bpfts-opensnoop-"));
  try {
    const file = join(dir, "known-file.txt");
    writeFileSync(file, "opened\n");
    const run = startCli(["examples/opensnoop.bt"], { cwd: root });
    let pid = 0;
    let row = "";
    try {
      await run.attached;
      const cat = await runCommand("/bin/cat", [file]);
      expect(cat).toMatchObject({ code: 0, stdout: "opened\n" });
      pid = cat.pid;
      row = `${String(pid).padEnd(6)} ${"cat".padEnd(16)} ${file}`;
      // Events are printed as they come: wait for cat's last open before stopping.
      await run.printed(new RegExp(`^${row.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"));
      run.interrupt();
    } catch (e) {
      run.child.kill("SIGKILL");
      throw e;
    }
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("Attaching 2 probes...");
    expect(lines[1]).toBe(`${"PID".padEnd(6)} ${"COMM".padEnd(16)} PATH`);
    // (Before its exec, the child of node's spawn() has node's comm.)
    const mine = lines.filter((l) => l.startsWith(`${String(pid).padEnd(6)} ${"cat".padEnd(16)} `));
    // The dynamic loader's and the locale's opens, then the file, once.
    expect(mine.filter((l) => l === row)).toHaveLength(1);
    expect(mine.at(-1)).toBe(row);
    expect(mine[0]).toBe(`${String(pid).padEnd(6)} ${"cat".padEnd(16)} /etc/ld.so.cache`);
    expect(mine).toContain(`${String(pid).padEnd(6)} ${"cat".padEnd(16)} /lib/x86_64-linux-gnu/libc.so.6`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest("examples/embed.mjs: a process making 300000 system calls is among the top five", async () => {
  const { sysloop } = buildExampleTargets();
  const child = spawn(process.execPath, [`${root}examples/embed.mjs`, "2500"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((ok) => child.on("close", (code) => ok(code)));
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    await waitFor(() => stderr.includes("\n") || child.exitCode !== null, 15_000);
    expect(stderr).toBe("counting system calls for 2500 ms (1 probe)...\n");
    expect((await runCommand(sysloop, ["300000"])).code).toBe(0);
    expect(await closed).toBe(0);
  } finally {
    clearTimeout(timer);
    child.kill("SIGKILL");
  }
  const rows = stdout.trimEnd().split("\n").map((l) => /^ *(\d+) {2}(.+)$/.exec(l));
  expect(rows.length).toBeLessThanOrEqual(5);
  expect(rows.every((m) => m !== null), stdout).toBe(true);
  const counts = rows.map((m) => Number(m![1]));
  expect([...counts].sort((a, b) => b - a)).toEqual(counts);
  const ours = rows.find((m) => m![2] === "bpfts_sysloop");
  expect(ours, stdout).toBeDefined();
  expect(Number(ours![1])).toBeGreaterThanOrEqual(300_000);
  expect(Number(ours![1])).toBeLessThanOrEqual(300_000 + STARTUP_SYSCALLS);
}, 40_000);

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
