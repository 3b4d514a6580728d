// `bpfts -l` on this machine (the real tracefs, system binaries, live processes), run as the
// built CLI (dist/runtime/cli.js). When bpftrace is installed, the output is compared with
// bpftrace -l for the probe types bpfts has. Needs root (tracefs).
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect } from "vitest";
import { processMappings } from "../../compiler/elf/index.js";
import { UserSymbols } from "../../runtime/symbols.js";
import { kernelTest } from "../support/kernel.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "dist", "runtime", "cli.js");

function bpfts(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function have(cmd: string, args = ["--version"]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const haveBpftrace = have("bpftrace");

/** bpftrace -l's output, for the probe types bpfts has (its lines for others dropped). */
function bpftraceList(args: string[]): string {
  const r = spawnSync("bpftrace", args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: 120_000 });
  return r.stdout
    .split("\n")
    .filter((l) => l !== "" && !/^(hardware|software|iter|kprobe|kretprobe|kfunc|kretfunc|rawtracepoint):/.test(l) && !/^iter:/.test(l))
    .map((l) => l + "\n")
    .join("");
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
});

async function startProcess(path: string, args: string[]): Promise<number> {
  const child = spawn(path, args, { stdio: "ignore" });
  children.push(child);
  const pid = child.pid!;
  for (let i = 0; i < 300; i++) {
    try {
      if (processMappings(pid).some((m) => m.path === path || m.path.endsWith(`/${path.split("/").pop()!}`))) return pid;
    } catch {
      // not started yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${path} did not start`);
}

describe("bpfts -l on this machine", () => {
  kernelTest("no pattern: the software events, then every tracepoint, as bpftrace lists them", () => {
    const r = bpfts(["-l"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    const all = r.stdout.split("\n").filter((l) => l !== "");
    // bpftrace 0.17 prints one line "software:*:" for them all (each event here).
    const software = all.filter((l) => l.startsWith("software:"));
    expect(software).toHaveLength(11);
    expect(software).toContain("software:page-faults:");
    const ours = all.filter((l) => !l.startsWith("software:"));
    expect(ours.length).toBeGreaterThan(100);
    expect(ours.every((l) => /^tracepoint:[^:]+:[^:]+$/.test(l))).toBe(true);
    expect(ours).toContain("tracepoint:sched:sched_switch");
    if (haveBpftrace) expect(ours.map((l) => l + "\n").join("")).toBe(bpftraceList(["-l"]));
  });

  kernelTest("tracepoint patterns, -v fields, and patterns matching nothing", () => {
    for (const p of ["tracepoint:sched:*", "t:syscalls:sys_enter_open*", "tracepoint:*switch", "tracepoint:sched*", "*sched_switch*", "t*:sched:sched_switch"]) {
      const r = bpfts(["-l", p]);
      expect(r.status, p).toBe(0);
      if (haveBpftrace) expect(r.stdout, p).toBe(bpftraceList(["-l", p]));
    }
    const sw = bpfts(["-l", "tracepoint:sched:sched_s*"]).stdout;
    expect(sw).toContain("tracepoint:sched:sched_switch\n");
    const v = bpfts(["-lv", "tracepoint:syscalls:sys_enter_openat"]);
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/^tracepoint:syscalls:sys_enter_openat\n    int __syscall_nr\n    int dfd\n    const char \* filename\n    int flags\n    umode_t mode\n$/);
    if (haveBpftrace) {
      expect(v.stdout).toBe(bpftraceList(["-lv", "tracepoint:syscalls:sys_enter_openat"]));
      expect(bpfts(["-lv", "tracepoint:sched:*"]).stdout).toBe(bpftraceList(["-lv", "tracepoint:sched:*"]));
    }
    for (const p of ["tracepoint:nosuch:*", "tracepoint:sched:nosuch", "*no_such_thing*"]) {
      expect(bpfts(["-l", p]), p).toEqual({ status: 0, stdout: "", stderr: "" });
    }
  });

  kernelTest("uprobe and usdt targets on system files", () => {
    const libc = bpfts(["-l", "uprobe:libc:str*"]);
    expect(libc.status).toBe(0);
    expect(libc.stdout).toMatch(/^uprobe:\/\S+\/libc\.so\.6:str/);
    expect(libc.stdout).toMatch(/:strlen\n/);
    if (haveBpftrace) {
      expect(libc.stdout).toBe(bpftraceList(["-l", "uprobe:libc:str*"]));
      // Every function, the separate debug file's too (bash and libc have no PLT-only symbols).
      expect(bpfts(["-l", "uprobe:libc:*"]).stdout).toBe(bpftraceList(["-l", "uprobe:libc:*"]));
      if (existsSync("/bin/bash")) expect(bpfts(["-l", "uprobe:/bin/bash:read*"]).stdout).toBe(bpftraceList(["-l", "uprobe:/bin/bash:read*"]));
    }
    const py = "/usr/bin/python3.11";
    if (existsSync(py) && haveBpftrace) {
      expect(bpfts(["-l", `usdt:${py}:*`]).stdout).toBe(bpftraceList(["-l", `usdt:${py}:*`]));
      expect(bpfts(["-l", `usdt:${py}:python:func*`]).stdout).toBe(bpftraceList(["-l", `usdt:${py}:python:func*`]));
    }
    const missing = bpfts(["-l", "uprobe:/no/such/file:foo"]);
    expect(missing).toEqual({ status: 1, stdout: "", stderr: "ERROR: cannot find '/no/such/file': no such file, library or command\n" });
    const notElf = bpfts(["-l", "uprobe:/etc/passwd:*"]);
    expect(notElf.status).toBe(1);
    expect(notElf.stderr).toMatch(/^ERROR: cannot read '\/etc\/passwd' as an ELF file: /);
    const bad = bpfts(["-l", "nosuch"]);
    expect(bad).toEqual({ status: 1, stdout: "", stderr: "ERROR: invalid probe type 'nosuch' in 'nosuch'\n" });
  });

  kernelTest("-p PID: the USDT probes of the files a C++ process maps (libstdc++), with their /proc/PID/root paths", async () => {
    if (!have("g++")) return;
    const dir = mkdtempSync(join(tmpdir(), "bpfts-list-k-"));
    try {
      writeFileSync(
        join(dir, "ex.cc"),
        "#include <stdexcept>\n#include <string>\n#include <unistd.h>\nint main(int, char **argv) { for (int i = 0; i < 600; i++) { try { throw std::runtime_error(std::string(\"x\") + argv[0]); } catch (const std::exception &) {} usleep(100000); } }\n",
      );
      const bin = join(dir, "ex");
      execFileSync("g++", ["-O1", "-o", bin, join(dir, "ex.cc")]);
      const pid = await startProcess(bin, []);
      const r = bpfts(["-p", String(pid), "-l", "usdt:*"]);
      expect(r.status).toBe(0);
      const stdcxx = processMappings(pid).find((m) => /libstdc\+\+/.test(m.path));
      if (stdcxx !== undefined) expect(r.stdout).toContain(`usdt:/proc/${pid}/root${stdcxx.path}:libstdcxx:throw\n`);
      if (haveBpftrace) {
        expect(r.stdout).toBe(bpftraceList(["-p", String(pid), "-l", "usdt:*"]));
        expect(bpfts(["-p", String(pid), "-l", "usdt:*:throw"]).stdout).toBe(bpftraceList(["-p", String(pid), "-l", "usdt:*:throw"]));
      }
      const v = bpfts(["-p", String(pid), "-lv", "usdt:*:throw"]);
      if (stdcxx !== undefined) expect(v.stdout).toMatch(/:libstdcxx:throw\n    arg0: 8@%\w+\n    arg1: 8@%\w+\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  kernelTest("-l -e PROGRAM: the program's attach points, expanded", () => {
    const r = bpfts(["-l", "-e", "tracepoint:sched:sched_switch* { exit(); } BEGIN { } uprobe:libc:strl* { } interval:s:1 { }"]);
    expect(r.status).toBe(0);
    const out = r.stdout.split("\n");
    expect(out[0]).toBe("tracepoint:sched:sched_switch");
    expect(out).toContain("BEGIN");
    expect(out.some((l) => /^uprobe:\/\S+\/libc\.so\.6:strlen$/.test(l))).toBe(true);
    expect(out.at(-2)).toBe("interval:s:1");
    const v = bpfts(["-lv", "-e", "tracepoint:syscalls:sys_enter_openat { }"]);
    expect(v.stdout).toBe(bpfts(["-lv", "tracepoint:syscalls:sys_enter_openat"]).stdout);
    const bad = bpfts(["-l", "-e", "tracepoint:sched:sched_switch { @x = nosuch(); }"]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toMatch(/^stdin:1:\d+: error: /);
  });
});

// runtime/symbols.ts against bpftrace's own symbolization (bcc's): ustack(perf) prints each frame's
// raw address next to bpftrace's "name+offset", so every address can be symbolized here too,
// while the traced process still runs.
describe("user-space symbolization, compared with bpftrace", () => {
  const SOURCES: Record<string, { file: string; compiler: string; text: string; probe: string }> = {
    c: {
      file: "t.c",
      compiler: "gcc",
      probe: "target_leaf",
      text: `#include <stdlib.h>
#include <unistd.h>
__attribute__((noinline)) int target_leaf(int x) { asm volatile("" ::: "memory"); usleep(x); return x + 1; }
__attribute__((noinline)) int target_mid(int x) { int r = target_leaf(x); asm volatile("" ::: "memory"); return r * 2; }
static __attribute__((noinline)) int local_fn(int x) { int r = target_mid(x); asm volatile("" ::: "memory"); return r + 3; }
int main(int argc, char **argv) { for (int i = 0; i < 3000; i++) local_fn(10000); return 0; }
`,
    },
    cxx: {
      file: "t.cc",
      compiler: "g++",
      probe: "_ZN2ns6Widget4frobEi",
      text: `#include <unistd.h>
namespace ns { struct Widget { __attribute__((noinline)) int frob(int x); }; }
__attribute__((noinline)) int ns::Widget::frob(int x) { asm volatile("" ::: "memory"); usleep(x); return x + 1; }
template <typename T> __attribute__((noinline)) T twice(T v) { ns::Widget w; return w.frob(v) * 2; }
int main() { for (int i = 0; i < 3000; i++) twice<int>(10000); return 0; }
`,
    },
  };

  for (const [kind, src] of Object.entries(SOURCES)) {
    kernelTest(`${kind}: usym, func and every ustack frame as bpftrace prints them`, async () => {
      if (!haveBpftrace || !have(src.compiler)) return;
      const dir = mkdtempSync(join(tmpdir(), "bpfts-sym-k-"));
      try {
        writeFileSync(join(dir, src.file), src.text);
        const bin = join(dir, "target");
        execFileSync(src.compiler, ["-O1", "-fno-omit-frame-pointer", "-o", bin, join(dir, src.file)]);
        const pid = await startProcess(bin, []);
        const prog = `uprobe:${bin}:${src.probe} { print(ustack(perf)); printf("usym=%s\\n", usym(reg("ip"))); printf("func=%s\\n", func); printf("ip=%lx\\n", reg("ip")); exit(); }`;
        const r = spawnSync("bpftrace", ["-p", String(pid), "-e", prog], { encoding: "utf8", timeout: 60_000 });
        const frames = [...r.stdout.matchAll(/^\t([0-9a-f]+) (.+) \((.+)\)$/gm)].map((m) => ({ addr: BigInt(`0x${m[1]}`), text: m[2]! }));
        expect(frames.length, r.stdout + r.stderr).toBeGreaterThanOrEqual(3);
        const syms = new UserSymbols({ pid });
        for (const f of frames) expect(syms.format(f.addr, { offset: true }) ?? `0x${f.addr.toString(16)}`).toBe(f.text);
        const ip = BigInt(`0x${/^ip=([0-9a-f]+)$/m.exec(r.stdout)![1]}`);
        expect(syms.format(ip, { offset: false })).toBe(/^usym=(.*)$/m.exec(r.stdout)![1]);
        expect(syms.format(ip, { offset: false })).toBe(/^func=(.*)$/m.exec(r.stdout)![1]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
