// ustack, kstack and func in uretprobes on the real kernel, against test/targets/stacktest.c (built
// here with gcc -O0 -fno-omit-frame-pointer: stacks are walked by frame pointer, by the kernel, for
// bpftrace as for bpfts): main -> sk_outer -> sk_middle -> sk_inner -> sk_leaf -> getpid.
//
// The frames bpfts prints are checked against the binary (each return address is the
// instruction after the call, found with objdump), and the same programs run under bpftrace 0.17
// at the same time must print the same bytes: both trace the same run of the target, so even the
// addresses of ustack(perf) and kstack(perf) agree. The target waits (stdin open) until both tools
// have printed everything, so that its stacks can still be symbolized through /proc/PID.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { differentialTest, ensureBuilt, runBoth, startTool, visible, type BothResult, type ToolResult } from "../support/bpftrace.js";
import { kernelTest, kernelUnavailable } from "../support/kernel.js";
import { TARGETS_SOURCE_DIR } from "../support/targets.js";

let bin = "";

/** Builds stacktest (cached under the temp dir by a hash of the source and the compiler). */
function buildStacktest(): string {
  const src = join(TARGETS_SOURCE_DIR, "stacktest.c");
  const flags = ["-O0", "-g", "-Wall", "-fno-omit-frame-pointer"];
  const hash = createHash("sha256")
    .update(readFileSync(src))
    .update(flags.join(" "))
    .update(execFileSync("gcc", ["--version"], { encoding: "utf8" }).split("\n")[0]!)
    .digest("hex")
    .slice(0, 16);
  const dir = join(tmpdir(), `bpfts-stacktest-${hash}`);
  const out = join(dir, "stacktest");
  if (existsSync(out)) return out;
  const work = mkdtempSync(join(tmpdir(), "bpfts-stacktest-build-"));
  try {
    execFileSync("gcc", [...flags, "-o", join(work, "stacktest"), src], { stdio: "pipe" });
    try {
      renameSync(work, dir);
    } catch (e) {
      if (!existsSync(out)) throw e; // another build won the race
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return out;
}

beforeAll(() => {
  if (kernelUnavailable() !== undefined) return;
  ensureBuilt();
  bin = buildStacktest();
}, 120_000);

/** A running stacktest: it has run its chain `n` times and waits for its stdin to close. */
interface Target {
  pid: number;
  close(): Promise<void>;
}

const running = new Set<ChildProcessWithoutNullStreams>();
afterAll(() => {
  for (const c of running) c.kill("SIGKILL");
});

async function startTarget(n: number): Promise<Target> {
  const child = spawn(bin, [String(n)], { stdio: ["pipe", "pipe", "pipe"] });
  running.add(child);
  const exited = new Promise<void>((ok) => child.on("exit", () => ok()));
  let out = "";
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`stacktest did not finish its calls: ${JSON.stringify(out)}`)), 10_000);
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("done")) {
        clearTimeout(timer);
        ok();
      }
    });
    child.on("exit", () => fail(new Error(`stacktest exited early: ${JSON.stringify(out)}`)));
  });
  return {
    pid: child.pid!,
    close: async () => {
      child.stdin.end();
      await exited;
      running.delete(child);
    },
  };
}

/**
 * The offset, from `caller`'s start, of the return address of its call to `callee` (the
 * instruction after the call), from objdump's disassembly of the target.
 */
function returnOffset(caller: string, callee: string): number {
  const text = execFileSync("objdump", ["-d", "--no-show-raw-insn", bin], { encoding: "utf8" });
  const lines = text.split("\n");
  const start = lines.findIndex((l) => new RegExp(`^([0-9a-f]+) <${caller}>:$`).test(l));
  if (start < 0) throw new Error(`objdump: no function ${caller}`);
  const base = parseInt(/^([0-9a-f]+)/.exec(lines[start]!)![1]!, 16);
  for (let i = start + 1; i < lines.length && lines[i] !== ""; i++) {
    if (new RegExp(`\\bcall\\w*\\s+[0-9a-f]+ <${callee}>`).test(lines[i]!)) {
      const next = /^\s*([0-9a-f]+):/.exec(lines[i + 1]!);
      if (next === null) throw new Error(`objdump: nothing after the call in ${caller}`);
      return parseInt(next[1]!, 16) - base;
    }
  }
  throw new Error(`objdump: ${caller} does not call ${callee}`);
}

/** The frames of stacktest's chain as bpftrace prints them, innermost first, from sk_leaf's entry. */
function chainFrames(): string[] {
  return [
    "sk_leaf+0",
    `sk_inner+${returnOffset("sk_inner", "sk_leaf")}`,
    `sk_middle+${returnOffset("sk_middle", "sk_inner")}`,
    `sk_outer+${returnOffset("sk_outer", "sk_middle")}`,
    `main+${returnOffset("main", "sk_outer")}`,
  ];
}

/** Runs a program with bpfts alone while stacktest runs its chain `n` times; stops it once `until` is printed. */
async function runBpfts(program: string, n: number, until: string, args: string[] = []): Promise<ToolResult> {
  const tool = startTool("bpfts", program, { args });
  let target: Target | undefined;
  try {
    await tool.attached;
    target = await startTarget(n);
    await tool.printed(until);
    tool.interrupt();
    const r = await tool.done;
    expect(r.timedOut).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    return r;
  } finally {
    if (tool.child.exitCode === null && tool.child.signalCode === null) tool.child.kill("SIGKILL");
    await target?.close();
  }
}

/** Runs a program with bpftrace and bpfts at once while stacktest runs its chain `n` times. */
async function runDifferential(program: string, n: number, until: string, args: string[] = []): Promise<BothResult> {
  let target: Target | undefined;
  try {
    return await runBoth(program, {
      args,
      whileAttached: async () => {
        target = await startTarget(n);
      },
      until,
    });
  } finally {
    await target?.close();
  }
}

function expectSame(r: BothResult): void {
  for (const t of [r.bpftrace, r.bpfts]) expect(t.timedOut, `${t.tool} timed out; stderr:\n${t.stderr}`).toBe(false);
  expect(r.bpftrace.code, `bpftrace failed:\n${r.bpftrace.stderr}`).toBe(0);
  expect(r.bpftrace.stdout).toMatch(/^Attaching \d+ probes?\.\.\.\n/);
  expect(visible(r.bpfts.stdout), `bpfts stderr:\n${r.bpfts.stderr}`).toBe(visible(r.bpftrace.stdout));
  expect(r.bpfts.code).toBe(r.bpftrace.code);
}

// -------------------------------------------------------------------------------------------------

describe("ustack", () => {
  kernelTest(
    "in a uprobe: the call chain innermost first, symbol+offset, indented 8 (4 in map keys)",
    async () => {
      const frames = chainFrames();
      const r = await runBpfts(
        `uprobe:${bin}:sk_leaf { print(ustack); print(ustack(3)); printf("%s|\\n", ustack(2)); @k[ustack(2)] = count(); @v = ustack(1); printf("end\\n"); }`,
        1,
        "end\n",
      );
      const out = r.stdout;
      const lines = out.split("\n");
      expect(lines[0]).toBe("Attaching 1 probe...");
      // print(ustack): "\n", one line per frame, then print's "\n". The chain, then libc's start code.
      expect(lines[1]).toBe("");
      expect(lines.slice(2, 7)).toEqual(frames.map((f) => `        ${f}`));
      const rest = lines.slice(7, lines.indexOf("", 7));
      for (const l of rest) expect(l).toMatch(/^ {8}\S+$/);
      const after = 7 + rest.length;
      const tail = lines.slice(after).join("\n");
      expect(tail).toBe(
        [
          "",
          "",
          ...frames.slice(0, 3).map((f) => `        ${f}`),
          "",
          "",
          ...frames.slice(0, 2).map((f) => `        ${f}`),
          "|",
          "end",
          "",
          "",
          "@k[",
          ...frames.slice(0, 2).map((f) => `    ${f}`),
          "]: 1",
          "@v: ",
          `        ${frames[0]}`,
          "",
          "",
        ].join("\n"),
      );
      expect(r.stderr).toBe("");
    },
    60_000,
  );

  kernelTest(
    "perf mode: a tab, the address in hex, symbol+offset and the file; one stack map per frame limit",
    async () => {
      const frames = chainFrames();
      const r = await runBpfts(`uprobe:${bin}:sk_leaf { print(ustack(perf, 5)); @a = ustack(perf, 2); @b[1] = ustack(4); @b[2] = ustack(perf, 5); printf("end\\n"); }`, 1, "end\n");
      const lines = r.stdout.split("\n");
      const perf = lines.slice(2, 7);
      expect(perf.map((l) => l.replace(/^\t[0-9a-f]+ /, ""))).toEqual(frames.map((f) => `${f} (${bin})`));
      for (const l of perf) expect(l).toMatch(/^\t[0-9a-f]{12} /);
      // @b holds ustack(4) and ustack(5) values (their type: 5 frames, printed in bpftrace mode);
      // each value is read from its own stack map.
      const text = r.stdout;
      expect(text).toContain(`@b[1]: \n${frames.slice(0, 4).map((f) => `        ${f}\n`).join("")}@b[2]: \n${frames.map((f) => `        ${f}\n`).join("")}\n`);
      expect(text).toContain(`@a: \n${perf.slice(0, 2).map((l) => `${l}\n`).join("")}\n`);
    },
    60_000,
  );

  differentialTest(
    "print, printf %s, map keys and values, tuples, perf mode and limits: as bpftrace prints them",
    async () => {
      const r = await runDifferential(
        `uprobe:${bin}:sk_leaf {
          print(ustack); print(ustack(perf)); print(ustack(2)); print(ustack(perf, 3));
          printf("[%s] [%s]\\n", ustack(3), ustack(perf, 1));
          @count[ustack(4)] = count(); @value = ustack(perf, 3); @byint[@n] = ustack(2); @tuple = (7, ustack(2));
          @kern[kstack] = count(); print(kstack(perf));
          if (++@n == 3) { printf("last\\n"); }
        }`,
        3,
        "last\n",
      );
      expectSame(r);
      expect(r.bpfts.stderr).not.toMatch(/failed to look up/);
    },
    60_000,
  );

  differentialTest(
    "-f json: stacks are strings, in values, keys and tuples",
    async () => {
      const r = await runDifferential(
        `uprobe:${bin}:sk_leaf { print(ustack(3)); printf("%s|\\n", ustack(perf, 2)); @k[ustack(2)] = count(); @v = ustack(perf, 2); @t = (1, ustack(1)); printf("last\\n"); }`,
        1,
        "last",
        ["-f", "json"],
      );
      // bpftrace prints two blank lines before the maps at exit, in JSON too (spec/json-output.md).
      const lines = (s: string) => s.split("\n").filter((l) => l !== "");
      expect(r.bpftrace.code, r.bpftrace.stderr).toBe(0);
      expect(lines(r.bpfts.stdout)).toEqual(lines(r.bpftrace.stdout));
      expect(r.bpfts.stdout).toContain(String.raw`{"type": "map", "data": {"@k": {"\n    sk_leaf+0\n    sk_inner+`);
    },
    60_000,
  );
});

describe("kstack", () => {
  differentialTest(
    "tracepoint:syscalls:sys_enter_getpid: kstack and ustack of the system call, every form",
    async () => {
      const r = await runDifferential(
        `tracepoint:syscalls:sys_enter_getpid /comm == "stacktest"/ {
          print(kstack); print(kstack(perf)); print(kstack(3)); printf("%s|\\n", kstack(perf, 2));
          @k[kstack(4)] = count(); @u[ustack(6)] = count(); @v = kstack(2); @t = (kstack(1), 5);
          if (++@n == 3) { printf("last\\n"); }
        }`,
        3,
        "last\n",
      );
      expectSame(r);
      // A kernel stack of the system call, symbolized (not addresses), as one key.
      expect(r.bpfts.stdout).toMatch(/\n@k\[\n( {4}[A-Za-z_][\w.]*\+\d+\n){1,4}\]: 3\n/);
    },
    60_000,
  );

  kernelTest(
    "tracepoint: the kernel frames are symbols of /proc/kallsyms; the user frames reach main",
    async () => {
      const frames = chainFrames();
      const r = await runBpfts(`tracepoint:syscalls:sys_enter_getpid /comm == "stacktest"/ { print(kstack(perf, 4)); print(ustack(8)); printf("end\\n"); }`, 1, "end\n");
      const lines = r.stdout.split("\n");
      const kernel = lines.slice(2, lines.indexOf("", 2));
      expect(kernel.length).toBeGreaterThan(0);
      for (const l of kernel) expect(l).toMatch(/^\tffff[0-9a-f]{12} [A-Za-z_][\w.]*\+\d+$/);
      // The user stack: libc's syscall() (the ip), then the return addresses the frame pointers
      // lead to: syscall() keeps none, so sk_leaf, whose frame it is in, is not among them.
      const user = r.stdout.split("\n\n")[2]!.split("\n").slice(1);
      expect(user[0]).toMatch(/^ {8}syscall\+\d+$/);
      expect(user.slice(1, 5)).toEqual(frames.slice(1).map((f) => `        ${f}`));
    },
    60_000,
  );

  kernelTest(
    "profile and interval probes: kernel stacks, symbolized",
    async () => {
      const tool = startTool("bpfts", `profile:hz:997 { @[kstack(5)] = count(); } interval:ms:50 { print(kstack(perf, 3)); } interval:ms:600 { exit(); }`);
      await tool.attached;
      // Something for the CPUs to do meanwhile, in the kernel.
      for (let i = 0; i < 200; i++) readFileSync("/proc/self/status");
      const r = await tool.done;
      expect(r.code, r.stderr).toBe(0);
      const keys = [...r.stdout.matchAll(/^@\[((?:\n {4}.*)*)\n?\]: \d+$/gm)].map((m) => m[1]!.split("\n").slice(1));
      expect(keys.length).toBeGreaterThan(0);
      const frames = keys.flat();
      expect(frames.length).toBeGreaterThan(0);
      for (const f of frames) expect(f).toMatch(/^ {4}[A-Za-z_][\w.]*\+\d+$/);
      for (const l of r.stdout.split("\n").filter((x) => x.startsWith("\t"))) expect(l).toMatch(/^\tffff[0-9a-f]{12} [A-Za-z_][\w.]*\+\d+$/);
    },
    60_000,
  );

  differentialTest(
    "a kstack in a uprobe is empty (-EFAULT), silently, as in bpftrace",
    async () => {
      const r = await runDifferential(`uprobe:${bin}:sk_leaf { @[kstack] = count(); print(kstack(perf)); printf("%s|\\n", kstack(3)); if (++@n == 2) { printf("last\\n"); } }`, 2, "last\n");
      expectSame(r);
      expect(r.bpfts.stdout).toContain("\n@[]: 2\n");
      expect(r.bpfts.stderr).toBe("");
    },
    60_000,
  );
});

describe("func in uretprobes", () => {
  kernelTest(
    "one function and a wildcard (a multi-uprobe link): the probed function, not its caller",
    async () => {
      const r = await runBpfts(
        `uretprobe:${bin}:sk_leaf { printf("single %s %s\\n", func, probe); }
         uretprobe:${bin}:sk_* { @[func, probe] = count(); }
         uprobe:${bin}:sk_inner { printf("entry %s\\n", func); }
         uretprobe:${bin}:sk_outer { if (++@n == 2) { printf("end\\n"); } }`,
        2,
        "end\n",
      );
      const lines = r.stdout.split("\n");
      expect(lines.filter((l) => l.startsWith("single "))).toEqual([`single sk_leaf uretprobe:${bin}:sk_leaf`, `single sk_leaf uretprobe:${bin}:sk_leaf`]);
      expect(lines.filter((l) => l.startsWith("entry "))).toEqual(["entry sk_inner", "entry sk_inner"]);
      const entries = lines.filter((l) => l.startsWith("@[")).sort();
      expect(entries).toEqual(["sk_inner", "sk_leaf", "sk_middle", "sk_outer"].map((f) => `@[${f}, uretprobe:${bin}:${f}]: 2`));
    },
    60_000,
  );

  differentialTest(
    "known difference: bpftrace 0.17 reads the ip, and so names the caller",
    async () => {
      // spec/builtins.md: in a uretprobe bpftrace 0.17's func is the return address's function
      // (sk_inner, sk_leaf's caller); bpfts gives the probed function, as later bpftrace versions do.
      const r = await runDifferential(`uretprobe:${bin}:sk_leaf { printf("func %s\\n", func); printf("last\\n"); }`, 1, "last\n");
      expect(r.bpftrace.stdout).toContain("func sk_inner\n");
      expect(r.bpfts.stdout).toContain("func sk_leaf\n");
    },
    60_000,
  );
});
