// -p PID and -c CMD, in-process (runScript's pid / child options) and through the CLI: user-space
// probes fire only in the traced process (and only its semaphores are raised), a command is held
// until every probe is attached (its first call is seen), `cpid` is its pid, its output goes to
// ours, and the run ends when the traced process exits.
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";
import { ElfFile } from "../../compiler/elf/index.js";
import { processAlive, resolveCommand, spawnHeld, splitCommand } from "../../runtime/child.js";
import { kernelTest, kernelUnavailable } from "../support/kernel.js";
import {
  addressOfFileOffset,
  buildTargets,
  kernelSnapshot,
  readU16,
  runTraced,
  TraceTarget,
  waitForNothingLeft,
} from "../support/targets.js";

const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const cli = join(root, "dist", "runtime", "cli.js");

beforeAll(() => {
  if (kernelUnavailable() !== undefined) return;
  buildTargets("O0");
  buildTargets("O2");
  // The CLI tests run the built CLI (tsc emits even when some other file has errors).
  try {
    execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.json")], { cwd: root, stdio: "pipe" });
  } catch (e) {
    process.stderr.write(`pid-child.test: tsc reported errors:\n${(e as { stdout?: Buffer }).stdout?.toString() ?? e}\n`);
  }
  if (!existsSync(cli)) throw new Error(`the build did not produce ${cli}`);
}, 120_000);

async function withTargets<T>(binary: string, count: number, fn: (ts: TraceTarget[]) => Promise<T>): Promise<T> {
  const ts: TraceTarget[] = [];
  try {
    for (let i = 0; i < count; i++) ts.push(await TraceTarget.start(binary));
    return await fn(ts);
  } finally {
    for (const t of ts) t.kill();
    await Promise.all(ts.map((t) => t.exited));
  }
}

function semaphoreOf(pid: number, binary: string): number {
  const elf = ElfFile.open(binary);
  try {
    const p = elf.usdtProbes().find((p) => p.provider === "tracetest" && p.name === "testprobe")!;
    return readU16(pid, addressOfFileOffset(pid, binary, p.semaphoreOffset!));
  } finally {
    elf.close();
  }
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI; `whenAttached` is called once it reports its probes attached. */
function runCli(args: string[], whenAttached?: () => void): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, __BPFTRACE_NOTIFY_PROBES_ATTACHED: "1", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const r: CliRun = { code: null, stdout: "", stderr: "", ms: 0 };
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.stdout.on("data", (d: Buffer) => (r.stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      const before = r.stderr;
      r.stderr += d.toString();
      if (!before.includes("__BPFTRACE_NOTIFY") && r.stderr.includes("__BPFTRACE_NOTIFY_PROBES_ATTACHED\n")) whenAttached?.();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      r.code = code;
      r.ms = performance.now() - started;
      resolve(r);
    });
  });
}

describe("-p PID", () => {
  kernelTest("a function of the target: only the chosen process is counted", async () => {
    const { tracetest } = buildTargets("O2");
    await withTargets(tracetest, 2, async ([a, b]) => {
      const r = await runTraced(`uprobe:${tracetest}:tt_add { @[pid] = count() }`, {
        pid: a!.pid,
        whileAttached: async () => {
          await b!.command("add 70");
          await a!.command("add 50");
          await b!.command("add 7");
        },
      });
      expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
      expect(r.stdout).toBe(`Attaching 1 probe...\n\n\n@[${a!.pid}]: 50\n`);
    });
  });

  kernelTest("a libc function called by both: only the chosen process is counted", async () => {
    const { tracetest } = buildTargets("O0");
    await withTargets(tracetest, 2, async ([a, b]) => {
      const r = await runTraced(`uprobe:${LIBC}:getpgrp { @[pid] = count() }`, {
        pid: b!.pid,
        whileAttached: async () => {
          await a!.command("libc 9");
          await b!.command("libc 5");
        },
      });
      expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
      expect(r.stdout).toBe(`Attaching 1 probe...\n\n\n@[${b!.pid}]: 5\n`);
    });
  });

  kernelTest("a wildcard (one multi-uprobe link) with a uretprobe: only the chosen process", async () => {
    const { tracetest } = buildTargets("O2");
    await withTargets(tracetest, 2, async ([a, b]) => {
      const r = await runTraced(`uprobe:${tracetest}:tt_* { @[pid] = count() } uretprobe:${tracetest}:tt_neg { @r[pid, retval] = count() }`, {
        pid: a!.pid,
        whileAttached: async () => {
          await b!.command("add 4");
          await b!.command("neg 5");
          await a!.command("add 3");
          await a!.command("neg 2");
        },
      });
      expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
      expect(r.stdout).toMatch(new RegExp(`^Attaching \\d+ probes...\\n\\n\\n@\\[${a!.pid}\\]: 4\\n@r\\[${a!.pid}, -3\\]: 1\\n$`));
    });
  });

  kernelTest("USDT semaphores are raised in the chosen process only", async () => {
    const { tracetest } = buildTargets("O0");
    await withTargets(tracetest, 2, async ([a, b]) => {
      const during: number[] = [];
      const said: string[] = [];
      const r = await runTraced(`usdt:${tracetest}:tracetest:testprobe { @[pid] = count() }`, {
        pid: a!.pid,
        whileAttached: async () => {
          during.push(semaphoreOf(a!.pid, tracetest), semaphoreOf(b!.pid, tracetest));
          said.push(...(await a!.command("sem 3")), ...(await b!.command("sem 3")));
        },
      });
      expect(during[0]).toBeGreaterThan(0);
      expect(during[1]).toBe(0);
      expect(said).toEqual([`sem ${during[0]} 3`, "sem 0 0"]);
      expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
      expect(r.stdout).toBe(`Attaching 1 probe...\n\n\n@[${a!.pid}]: 3\n`);
      expect([semaphoreOf(a!.pid, tracetest), semaphoreOf(b!.pid, tracetest)]).toEqual([0, 0]);
    });
  });

  kernelTest("the run ends when the process exits; END runs and the maps are printed", async () => {
    const { tracetest } = buildTargets("O0");
    await withTargets(tracetest, 1, async ([a]) => {
      const started = performance.now();
      const r = await runTraced(`uprobe:${tracetest}:tt_add { @ = count() } END { printf("end\\n") }`, {
        pid: a!.pid,
        thenStop: false,
        whileAttached: async () => {
          await a!.command("add 6");
          await a!.quit();
        },
      });
      expect(performance.now() - started).toBeLessThan(5000);
      expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
      expect(r.stdout).toBe("Attaching 2 probes...\nend\n\n\n@: 6\n");
    });
  });

  kernelTest("the CLI: -p PID, ends when the process exits", async () => {
    const { tracetest } = buildTargets("O2");
    await withTargets(tracetest, 2, async ([a, b]) => {
      const before = kernelSnapshot();
      const r = await runCli(["-p", String(a!.pid), "-e", `uprobe:${tracetest}:tt_add { @ = count() }`], () => {
        void (async () => {
          await b!.command("add 3");
          await a!.command("add 8");
          await a!.quit();
        })();
      });
      expect(r).toMatchObject({ code: 0, stderr: "__BPFTRACE_NOTIFY_PROBES_ATTACHED\n" });
      expect(r.stdout).toBe("Attaching 1 probe...\n\n\n@: 8\n");
      expect(await waitForNothingLeft(before, new Set(["uprobe__tmp_bpf"]), [tracetest])).toEqual([]);
    });
  });
});

describe("-c CMD", () => {
  test("split like bpftrace (at spaces); found through PATH unless it holds a /", () => {
    expect(splitCommand("  /bin/ls  -l /tmp ")).toEqual(["/bin/ls", "-l", "/tmp"]);
    expect(resolveCommand("sh", "/nonexistent:/bin")).toBe("/bin/sh");
    expect(resolveCommand("sh", "/nonexistent")).toBeUndefined();
    expect(resolveCommand("/bin/sh", "")).toBe("/bin/sh");
    expect(resolveCommand("/etc/passwd", "")).toBeUndefined(); // not executable
    expect(resolveCommand("/bin", "")).toBeUndefined(); // not a file
  });

  for (const opt of ["O0", "O2"] as const) {
    kernelTest(`-${opt}: attached before the command's first call; cpid; the run ends when it exits`, async () => {
      const { tracetest } = buildTargets(opt);
      const child = await spawnHeld(`${tracetest} once add 2`, { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.process.stdout!.on("data", (d: Buffer) => (out += d.toString()));
      try {
        const r = await runTraced(
          `uprobe:${tracetest}:tt_once { @once = count() } uprobe:${tracetest}:tt_add { @add = count(); @pids[pid == cpid] = count() } END { printf("cpid %d\\n", cpid) }`,
          { child },
        );
        expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
        expect(r.stdout).toBe(`Attaching 3 probes...\ncpid ${child.pid}\n\n\n@add: 2\n@once: 1\n@pids[1]: 2\n`);
        expect(await child.exited).toEqual({ code: 0, signal: null });
      } finally {
        await child.terminate();
      }
      expect(out).toBe("once\nok\nadd 2 -1\nok\n");
    });
  }

  kernelTest("wildcards (multi-uprobe links, attached before the exec) see the command from its start", async () => {
    const { tracetest } = buildTargets("O2");
    const child = await spawnHeld(`${tracetest} once add 2 neg 4`, { stdio: ["ignore", "ignore", "ignore"] });
    try {
      const r = await runTraced(
        `uprobe:${tracetest}:tt_* { @ = count() } uprobe:${tracetest}:tt_* { @p[probe] = count() } uretprobe:${tracetest}:tt_* { @r = count() }`,
        { child },
      );
      expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
      expect(r.stdout).toMatch(
        new RegExp(
          `^Attaching \\d+ probes...\\n\\n\\n@: 4\\n(@p\\[uprobe:${tracetest}:tt_(once|neg)\\]: 1\\n){2}@p\\[uprobe:${tracetest}:tt_add\\]: 2\\n@r: 4\\n$`,
        ),
      );
    } finally {
      await child.terminate();
    }
  });

  kernelTest("a semaphore-guarded USDT probe fires from the command's start", async () => {
    const { tracetest } = buildTargets("O2");
    const child = await spawnHeld(`${tracetest} sem 3`, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.process.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    try {
      const r = await runTraced(`usdt:${tracetest}:tracetest:testprobe { @ = count() }`, { child });
      expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
      expect(r.stdout).toBe("Attaching 1 probe...\n\n\n@: 3\n");
    } finally {
      await child.terminate();
    }
    expect(out).toMatch(/^sem [1-9]\d* 3\nok\n$/);
  });

  kernelTest("threads of the command are all seen", async () => {
    const { tracetest } = buildTargets("O2");
    const child = await spawnHeld(`${tracetest} threads 8 100`, { stdio: ["ignore", "ignore", "ignore"] });
    try {
      const r = await runTraced(`uprobe:${tracetest}:tt_add { @ = count(); @t[tid] = count() }`, { child });
      expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
      expect(r.stdout).toMatch(/^Attaching 1 probe...\n\n\n@: 800\n(@t\[\d+\]: 100\n){8}$/);
    } finally {
      await child.terminate();
    }
  });

  kernelTest("a command still running when exit() is called is ended after the run", async () => {
    const { tracetest } = buildTargets("O0");
    const child = await spawnHeld(`${tracetest} add 1 sleep 20000`, { stdio: ["ignore", "ignore", "ignore"] });
    try {
      const r = await runTraced(`uprobe:${tracetest}:tt_add { @ = count(); exit() }`, { child });
      expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
      expect(r.stdout).toBe("Attaching 1 probe...\n\n\n@: 1\n");
      expect(processAlive(child.pid)).toBe(true);
    } finally {
      expect(await child.terminate()).toEqual({ code: null, signal: "SIGTERM" });
    }
  });

  kernelTest("a held command that is never released never runs", async () => {
    const { tracetest } = buildTargets("O0");
    const child = await spawnHeld(`${tracetest} once`, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.process.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    await new Promise((ok) => setTimeout(ok, 100));
    expect(child.hasExited).toBe(false);
    expect(await child.terminate()).toEqual({ code: null, signal: "SIGKILL" });
    expect(out).toBe("");
  });

  kernelTest("the CLI: -c CMD, the command's output goes to ours, the run ends when it exits", async () => {
    const { tracetest } = buildTargets("O2");
    const before = kernelSnapshot();
    const r = await runCli(["-c", `${tracetest} once add 3`, "-e", `uprobe:${tracetest}:tt_once { @ = count() } uretprobe:${tracetest}:tt_add { @r = sum((int32)retval) }`]);
    expect(r).toMatchObject({ code: 0, stderr: "__BPFTRACE_NOTIFY_PROBES_ATTACHED\n" });
    // The command's lines and ours, each in order (the two processes write independently).
    const lines = r.stdout.split("\n");
    expect(lines.filter((l) => /^(once|ok|add 3 -3)$/.test(l))).toEqual(["once", "ok", "add 3 -3", "ok"]);
    expect(lines.filter((l) => !/^(once|ok|add 3 -3)$/.test(l)).join("\n")).toBe("Attaching 2 probes...\n\n\n@: 1\n@r: -3\n");
    expect(await waitForNothingLeft(before, new Set(["uprobe__tmp_bpf", "uretprobe__tmp_"]), [tracetest])).toEqual([]);
  });

  kernelTest("the CLI: -c with a command that does not exist", async () => {
    const r = await runCli(["-c", "/nonexistent/command -x", "-e", "BEGIN { exit() }"]);
    expect(r).toMatchObject({ code: 1, stdout: "", stderr: "ERROR: Failed to fork child: path '/nonexistent/command' does not exist or is not executable\n" });
  });

  kernelTest("the CLI: -c finds the command through PATH; libc probes see it from its first call", async () => {
    const before = kernelSnapshot();
    const r = await runCli(["-c", "true", "-e", `uprobe:${LIBC}:__libc_start_main { @[comm] = count() } END { printf("cpid>0 %d\\n", cpid > 0) }`]);
    expect(r).toMatchObject({ code: 0, stderr: "__BPFTRACE_NOTIFY_PROBES_ATTACHED\n" });
    expect(r.stdout).toBe("Attaching 2 probes...\ncpid>0 1\n\n\n@[true]: 1\n");
    expect(await waitForNothingLeft(before, new Set(["uprobe__usr_lib"]), [LIBC])).toEqual([]);
  });
});
