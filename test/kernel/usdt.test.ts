// USDT probes run in-process against real targets: arguments of every kind (registers, stack
// and rip-relative memory, constants; 1 to 8 bytes, signed and unsigned, negative values)
// compared with what the target printed itself; semaphores raised while attached (read from
// /proc/PID/mem) and lowered after; a probe in a shared library; and probes of real binaries:
// python3.11's function__entry (semaphore-guarded) and libstdc++'s libstdcxx:throw, under -c.
import { existsSync } from "node:fs";
import { describe, expect } from "vitest";
import { ElfFile } from "../../compiler/elf/index.js";
import { spawnHeld } from "../../runtime/child.js";
import { kernelTest, kernelUnavailable } from "../support/kernel.js";
import { addressOfFileOffset, buildTargets, readU16, runTraced, withTarget, type OptLevel } from "../support/targets.js";

const PYTHON = "/usr/bin/python3.11";
const LIBSTDCXX = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";


/** The file offset of a USDT probe's semaphore. */
function semaphoreOffset(binary: string, provider: string, name: string): number {
  const elf = ElfFile.open(binary);
  try {
    const p = elf.usdtProbes().find((p) => p.provider === provider && p.name === name);
    if (p?.semaphoreOffset === undefined) throw new Error(`${binary} has no semaphore for ${provider}:${name}`);
    return p.semaphoreOffset;
  } finally {
    elf.close();
  }
}

/** The value of tracetest's tracetest_testprobe_semaphore in process `pid`, read from its memory. */
function semaphoreOf(pid: number, binary: string): number {
  return readU16(pid, addressOfFileOffset(pid, binary, semaphoreOffset(binary, "tracetest", "testprobe")));
}

for (const opt of ["O0", "O2"] as OptLevel[]) {
  describe(`USDT on tracetest -${opt}`, () => {
    const targets = () => buildTargets(opt);

    kernelTest("arguments of every kind match what the target printed", async () => {
      const { tracetest } = targets();
      await withTarget(tracetest, async (t) => {
        let said: string[] = [];
        const r = await runTraced(
          `usdt:${tracetest}:tracetest:args /pid == ${t.pid}/ { printf("usdt %ld %d %d %d %u %ld %d %d\\n", arg0, arg1, arg2, arg3, arg4, arg5, arg6, arg7) }`,
          { whileAttached: async () => (said = await t.command("usdt 3")) },
        );
        expect(said).toHaveLength(3);
        expect(said[0]).toMatch(/^usdt -1000000007 3 -21 -1 201 -1234567890124 -5 -42$/);
        expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
        expect(r.stdout).toBe(`Attaching 1 probe...\n${said.map((l) => `${l}\n`).join("")}\n\n`);
      });
    });

    kernelTest("a semaphore is raised while attached (also in a running process) and lowered after", async () => {
      const { tracetest } = targets();
      await withTarget(tracetest, async (t) => {
        expect(semaphoreOf(t.pid, tracetest)).toBe(0);
        expect(await t.command("sem 3")).toEqual(["sem 0 0"]); // guarded: nothing fires
        let during = -1;
        let said: string[] = [];
        const r = await runTraced(`usdt:${tracetest}:tracetest:testprobe /pid == ${t.pid}/ { @ = count(); @s = sum(arg0) }`, {
          whileAttached: async () => {
            during = semaphoreOf(t.pid, tracetest);
            said = await t.command("sem 4");
          },
        });
        expect(during).toBeGreaterThan(0);
        expect(said).toEqual([`sem ${during} 4`]);
        expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
        expect(r.stdout).toBe("Attaching 1 probe...\n\n\n@: 4\n@s: 6\n");
        expect(semaphoreOf(t.pid, tracetest)).toBe(0);
        expect(await t.command("sem 2")).toEqual(["sem 0 4"]);
      });
    });

    kernelTest("a wildcard over probes with and without a semaphore: one multi-uprobe link", async () => {
      const { tracetest } = targets();
      await withTarget(tracetest, async (t) => {
        let during = -1;
        const r = await runTraced(`usdt:${tracetest}:tracetest:* /pid == ${t.pid}/ { @ = count() }`, {
          whileAttached: async () => {
            during = semaphoreOf(t.pid, tracetest);
            await t.command("usdt 2");
            await t.command("sem 3");
          },
        });
        expect(during).toBeGreaterThan(0);
        expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
        expect(r.stdout).toBe("Attaching 2 probes...\n\n\n@: 5\n");
        expect(semaphoreOf(t.pid, tracetest)).toBe(0);
      });
    });

    kernelTest("a probe in a shared library", async () => {
      const { tracetest, lib } = targets();
      await withTarget(tracetest, async (t) => {
        const r = await runTraced(`usdt:${lib}:tracetestlib:mul /pid == ${t.pid}/ { @ = count(); @a = sum(arg0); @b = sum((int64)arg1) }`, {
          whileAttached: () => t.command("lib 10"),
        });
        expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
        expect(r.stdout).toBe("Attaching 1 probe...\n\n\n@: 10\n@a: 45\n@b: -30\n");
      });
    });
  });
}

describe("USDT probes of real binaries, with -c", () => {
  kernelTest("libstdc++ libstdcxx:throw, a C++ program that throws 5 times", async () => {
    const { thrower } = buildTargets("O2");
    const child = await spawnHeld(`${thrower} 5`, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.process.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    try {
      const r = await runTraced(`usdt:${LIBSTDCXX}:libstdcxx:throw { @ = count(); @typeinfo = sum(arg1 != 0 ? 1 : 0) }`, { child });
      expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
      expect(r.stdout).toBe("Attaching 1 probe...\n\n\n@: 5\n@typeinfo: 5\n");
    } finally {
      await child.terminate();
    }
    expect(out).toBe("caught 5\n");
  });

  kernelTest("python3.11 python:function__entry (semaphore-guarded) counts a script's calls", async () => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing`);
    const { pyScript } = buildTargets("O2");
    const child = await spawnHeld(`${PYTHON} ${pyScript}`, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.process.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    try {
      const r = await runTraced(`usdt:${PYTHON}:python:function__entry /str(arg1) == "tt_pyfunc"/ { @ = count(); @line = max(arg2); @file[str(arg0)] = count() }`, { child });
      expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
      expect(r.stdout).toBe(`Attaching 1 probe...\n\n\n@: 7\n@file[${pyScript}]: 7\n@line: 9\n`);
    } finally {
      await child.terminate();
    }
    expect(out).toBe("py 42\n");
  }, 60_000);
});

if (kernelUnavailable() === undefined) {
  buildTargets("O0");
  buildTargets("O2");
}
