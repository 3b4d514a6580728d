// runtime/list.ts: `bpfts -l` patterns against a fake tracefs and gcc-built targets (functions,
// C++ names, hand-written USDT notes), without root. The real tracefs and bpftrace comparisons are
// in test/kernel/list.test.ts.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { processMappings } from "../../compiler/elf/index.js";
import { listAttachPoints, ListError, listProbes, runList, splitPattern, tracepointFieldLines, type ListOptions } from "../../runtime/list.js";
import { nativeAddonPath } from "../../runtime/native.js";

/** `-l` lines of bpftrace's software events, in its order. */
const SOFTWARE_LINES = ["alignment-faults", "bpf-output", "context-switches", "cpu-clock", "cpu-migrations", "dummy", "emulation-faults", "major-faults", "minor-faults", "page-faults", "task-clock"].map((e) => `software:${e}:`);
import { parseArgs, type CliOptions } from "../../runtime/options.js";

const haveAddon = existsSync(nativeAddonPath());

function have(cmd: string): boolean {
  try {
    execFileSync(cmd, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const haveGcc = have("gcc");
const haveGxx = have("g++");

function lines(text: string): string[] {
  expect(text === "" || text.endsWith("\n")).toBe(true);
  return text === "" ? [] : text.slice(0, -1).split("\n");
}

function listError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ListError) return e.message;
    throw e;
  }
  throw new Error("expected a ListError");
}

// ---- a fake tracefs -------------------------------------------------------------------------------

const SWITCH_FORMAT = `name: sched_switch
ID: 316
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:__data_loc char[] name;\toffset:28;\tsize:4;\tsigned:0;

print fmt: "prev_comm=%s prev_pid=%d", REC->prev_comm, REC->prev_pid
`;

const EVENTS = ["sched:sched_switch", "sched:sched_wakeup", "fib:fib_table_lookup", "fib6:fib6_table_lookup", "syscalls:sys_enter_openat", "syscalls:sys_enter_open", "xfs:xlog_iclog_switch"];

describe("tracepoints (fake tracefs)", () => {
  let root: string;
  let opts: ListOptions;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "bpfts-tracefs-"));
    // available_events lists them unsorted; bpftrace sorts.
    writeFileSync(join(root, "available_events"), [...EVENTS].reverse().join("\n") + "\n");
    for (const e of EVENTS) {
      const [c, n] = e.split(":") as [string, string];
      mkdirSync(join(root, "events", c, n), { recursive: true });
      writeFileSync(join(root, "events", c, n, "id"), "1\n");
      writeFileSync(join(root, "events", c, n, "format"), n === "sched_switch" ? SWITCH_FORMAT : `name: ${n}\nID: 1\nformat:\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:int x;\toffset:8;\tsize:4;\tsigned:1;\n`);
    }
    opts = { tracefs: root };
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test("no pattern, '*' and '*:*': every software event, then every tracepoint, sorted bytewise", () => {
    const tracepoints = ["tracepoint:fib6:fib6_table_lookup", "tracepoint:fib:fib_table_lookup", "tracepoint:sched:sched_switch", "tracepoint:sched:sched_wakeup", "tracepoint:syscalls:sys_enter_open", "tracepoint:syscalls:sys_enter_openat", "tracepoint:xfs:xlog_iclog_switch"];
    const all = [...SOFTWARE_LINES, ...tracepoints];
    expect(lines(listProbes(undefined, opts))).toEqual(all);
    expect(lines(listProbes("*", opts))).toEqual(all);
    expect(lines(listProbes("*:*", opts))).toEqual(all);
    expect(lines(listProbes("tracepoint:*", opts))).toEqual(tracepoints);
  });

  test("software events: bpftrace's names, matched by name or alias", () => {
    expect(lines(listProbes("software:*", opts))).toEqual(SOFTWARE_LINES);
    expect(lines(listProbes("s:*:*", opts))).toEqual(SOFTWARE_LINES);
    expect(lines(listProbes("software:faults", opts))).toEqual(["software:page-faults:"]);
    expect(lines(listProbes("software:cpu*:100", opts))).toEqual(["software:cpu-clock:", "software:cpu-migrations:"]);
    expect(lines(listProbes("*fault*", opts))).toEqual(["software:alignment-faults:", "software:emulation-faults:", "software:major-faults:", "software:minor-faults:", "software:page-faults:"]);
    expect(() => listProbes("software:nosuch", opts)).toThrow("nosuch is not a software probe");
  });

  test("a character no probe type holds", () => {
    expect(() => listProbes("\\n", opts)).toThrow("invalid character '\\' in search expression '\\n'");
    expect(() => listProbes("trace point:*", opts)).toThrow("invalid character ' '");
  });

  test("CATEGORY:NAME globs, the 't' alias, probe type globs", () => {
    expect(lines(listProbes("tracepoint:sched:*", opts))).toEqual(["tracepoint:sched:sched_switch", "tracepoint:sched:sched_wakeup"]);
    expect(lines(listProbes("t:syscalls:sys_enter_open*", opts))).toEqual(["tracepoint:syscalls:sys_enter_open", "tracepoint:syscalls:sys_enter_openat"]);
    expect(lines(listProbes("tracepoint:sched:sched_switch", opts))).toEqual(["tracepoint:sched:sched_switch"]);
    expect(lines(listProbes("t*:sched:sched_switch", opts))).toEqual(["tracepoint:sched:sched_switch"]);
    expect(lines(listProbes("tracepoint:s?hed:sched_sw?tch", opts))).toEqual(["tracepoint:sched:sched_switch"]);
    expect(lines(listProbes("tracepoint:*:*switch", opts))).toEqual(["tracepoint:sched:sched_switch", "tracepoint:xfs:xlog_iclog_switch"]);
  });

  test("one glob field matches CATEGORY:NAME; a bare glob searches every kernel probe type", () => {
    expect(lines(listProbes("tracepoint:sched*", opts))).toEqual(["tracepoint:sched:sched_switch", "tracepoint:sched:sched_wakeup"]);
    expect(lines(listProbes("tracepoint:*switch", opts))).toEqual(["tracepoint:sched:sched_switch", "tracepoint:xfs:xlog_iclog_switch"]);
    expect(lines(listProbes("*sched_switch*", opts))).toEqual(["tracepoint:sched:sched_switch"]);
  });

  test("matching nothing prints nothing", () => {
    expect(listProbes("tracepoint:nosuch:*", opts)).toBe("");
    expect(listProbes("tracepoint:sched:nosuch", opts)).toBe("");
    expect(listProbes("*nothing*", opts)).toBe("");
  });

  test("-v: the format's fields after the common ones, indented by 4", () => {
    expect(listProbes("tracepoint:sched:sched_switch", { ...opts, verbose: true })).toBe(
      "tracepoint:sched:sched_switch\n    char prev_comm[16]\n    pid_t prev_pid\n    __data_loc char[] name\n",
    );
    expect(listProbes("tracepoint:sched:sched_w*", { ...opts, verbose: true })).toBe("tracepoint:sched:sched_wakeup\n    int x\n");
    expect(tracepointFieldLines(SWITCH_FORMAT)).toEqual(["char prev_comm[16]", "pid_t prev_pid", "__data_loc char[] name"]);
  });

  test("without available_events, the events directories are listed", () => {
    const bare = mkdtempSync(join(tmpdir(), "bpfts-tracefs-"));
    try {
      mkdirSync(join(bare, "events", "a", "b"), { recursive: true });
      writeFileSync(join(bare, "events", "a", "b", "id"), "7\n");
      mkdirSync(join(bare, "events", "a", "noid"), { recursive: true });
      expect(listProbes("tracepoint:*", { tracefs: bare })).toBe("tracepoint:a:b\n");
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  test("bad patterns", () => {
    expect(listError(() => listProbes("tracepoint:sched", opts))).toMatch(/expected tracepoint:CATEGORY:NAME/);
    expect(listError(() => listProbes("tracepoint", opts))).toMatch(/expected tracepoint:CATEGORY:NAME/);
    expect(listError(() => listProbes("sched:*", opts))).toBe("invalid probe type 'sched' in 'sched:*'");
    expect(listError(() => listProbes("nosuch", opts))).toBe("invalid probe type 'nosuch' in 'nosuch'");
    expect(listError(() => listProbes("kprobe:vfs_read", opts))).toMatch(/kprobe probes are not supported/);
    expect(listError(() => listProbes("x*:sched:sched_switch", opts))).toBe("no probe type matches 'x*'");
    expect(listError(() => listProbes('uprobe:"/bin/sh', opts))).toMatch(/unterminated string/);
  });
});

describe("fixed names", () => {
  test("BEGIN, END, interval and profile print as attach points", () => {
    expect(listProbes("BEGIN")).toBe("BEGIN\n");
    expect(listProbes("END")).toBe("END\n");
    expect(listProbes("interval:s:1")).toBe("interval:s:1\n");
    expect(listProbes("i:ms:010")).toBe("interval:ms:10\n");
    expect(listProbes("profile:hz:99")).toBe("profile:hz:99\n");
    expect(listError(() => listProbes("interval:*:*"))).toMatch(/expected interval:UNIT:N/);
    expect(listError(() => listProbes("profile:hz"))).toMatch(/expected profile:UNIT:N/);
    expect(listError(() => listProbes("BEGIN:x"))).toMatch(/expected BEGIN/);
  });

  test("splitPattern: colons inside quotes stay, quotes are removed", () => {
    expect(splitPattern('uprobe:/bin/x:"ns::f(int)"')).toEqual([
      { text: "uprobe", quoted: false },
      { text: "/bin/x", quoted: false },
      { text: "ns::f(int)", quoted: true },
    ]);
    expect(splitPattern("a")).toEqual([{ text: "a", quoted: false }]);
    expect(splitPattern("a::")).toEqual([
      { text: "a", quoted: false },
      { text: "", quoted: false },
      { text: "", quoted: false },
    ]);
  });
});

// ---- gcc-built targets ----------------------------------------------------------------------------

const C_SOURCE = `
#include <stdlib.h>
#include <unistd.h>
#define SDT_NOTE(provider, name, args) __asm__ __volatile__ ( \\
  "990: nop\\n" \\
  ".pushsection .note.stapsdt,\\"?\\",\\"note\\"\\n" \\
  ".balign 4\\n" \\
  ".4byte 992f-991f, 994f-993f, 3\\n" \\
  "991: .asciz \\"stapsdt\\"\\n" \\
  "992: .balign 4\\n" \\
  "993: .8byte 990b\\n" \\
  ".8byte _.stapsdt.base\\n" \\
  ".8byte 0\\n" \\
  ".asciz \\"" provider "\\"\\n" \\
  ".asciz \\"" name "\\"\\n" \\
  ".asciz \\"" args "\\"\\n" \\
  "994: .balign 4\\n" \\
  ".popsection\\n" \\
  ".ifndef _.stapsdt.base\\n" \\
  ".pushsection .stapsdt.base,\\"aG\\",\\"progbits\\",.stapsdt.base,comdat\\n" \\
  ".weak _.stapsdt.base\\n" \\
  ".hidden _.stapsdt.base\\n" \\
  "_.stapsdt.base: .space 1\\n" \\
  ".size _.stapsdt.base, 1\\n" \\
  ".popsection\\n" \\
  ".endif\\n")
__attribute__((noinline)) int work_one(int i) { SDT_NOTE("myapp", "tick", "-4@%edi"); SDT_NOTE("myapp", "tock", ""); usleep(10000); return i; }
__attribute__((noinline)) int work_two(int i) { SDT_NOTE("other", "tick", "8@%rsi -4@-4(%rbp)"); SDT_NOTE("myapp", "tick", "-4@%edi"); return work_one(i) + 1; }
static __attribute__((noinline)) int helper(int i) { return work_two(i) * 2; }
int main(int argc, char **argv) { int n = argc > 1 ? atoi(argv[1]) : 1; for (int i = 0; i < n; i++) helper(i); return 0; }
`;

const CXX_SOURCE = `
#include <unistd.h>
namespace ns { struct Widget { __attribute__((noinline)) int frob(int x); }; }
__attribute__((noinline)) int ns::Widget::frob(int x) { asm volatile("" ::: "memory"); usleep(x); return x + 1; }
template <typename T> __attribute__((noinline)) T twice(T v) { ns::Widget w; return w.frob(v) * 2; }
int main() { return twice<int>(1) == 0; }
`;

const TARGET_FUNCS = ["__do_global_dtors_aux", "_fini", "_init", "_start", "deregister_tm_clones", "frame_dummy", "helper", "main", "register_tm_clones", "work_one", "work_two"];

describe.skipIf(!haveGcc)("uprobes and USDT probes of gcc-built files", () => {
  let dir: string;
  let bin: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "bpfts-list-"));
    writeFileSync(join(dir, "t.c"), C_SOURCE);
    bin = join(dir, "target");
    execFileSync("gcc", ["-O1", "-o", bin, join(dir, "t.c")]);
    mkdirSync(join(dir, "sub"));
    execFileSync("gcc", ["-O1", "-o", join(dir, "sub", "target2"), join(dir, "t.c")]);
    writeFileSync(join(dir, "notelf"), "#!/bin/sh\n# a shell script, long enough to hold an ELF header: not an ELF file at all\n");
    chmodSync(join(dir, "notelf"), 0o755);
  });

  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  test("uprobe:PATH:* lists every function, sorted bytewise", () => {
    expect(lines(listProbes(`uprobe:${bin}:*`))).toEqual(TARGET_FUNCS.map((f) => `uprobe:${bin}:${f}`));
    expect(lines(listProbes(`uretprobe:${bin}:work_*`))).toEqual([`uretprobe:${bin}:work_one`, `uretprobe:${bin}:work_two`]);
    expect(lines(listProbes(`u:${bin}:w?rk_one`))).toEqual([`uprobe:${bin}:work_one`]);
    expect(lines(listProbes(`ur:${bin}:main`))).toEqual([`uretprobe:${bin}:main`]);
  });

  test("an exact name is listed only when the file has it", () => {
    expect(listProbes(`uprobe:${bin}:helper`)).toBe(`uprobe:${bin}:helper\n`);
    expect(listProbes(`uprobe:${bin}:nosuch`)).toBe("");
    expect(listProbes(`uprobe:${bin}:nosuch*`)).toBe("");
  });

  test("FUNC+OFFSET lists the function; an address is printed as written", () => {
    expect(listProbes(`uprobe:${bin}:helper+4`)).toBe(`uprobe:${bin}:helper\n`);
    expect(listProbes(`uprobe:${bin}:0x1139`)).toBe(`uprobe:${bin}:0x1139\n`);
  });

  test("a quoted function is literal", () => {
    expect(listProbes(`uprobe:${bin}:"work_*"`)).toBe("");
    expect(listProbes(`uprobe:${bin}:"main"`)).toBe(`uprobe:${bin}:main\n`);
  });

  test("paths: as written (relative too), globbed, resolved from a name", () => {
    expect(lines(listProbes("uprobe:./target:main", { cwd: dir }))).toEqual(["uprobe:./target:main"]);
    expect(lines(listProbes(`uprobe:${dir}/s*/targ*:main`))).toEqual([`uprobe:${dir}/sub/target2:main`]);
    expect(lines(listProbes(`uprobe:${dir}/*:main`))).toEqual([`uprobe:${dir}/target:main`]);
    // A bare name is a command found through PATH (or a library), printed resolved.
    const sh = lines(listProbes("uprobe:sh:main"));
    expect(sh.length).toBeLessThanOrEqual(1);
    if (sh.length === 1) expect(sh[0]).toMatch(/^uprobe:\/.*\/sh:main$/);
    const libc = lines(listProbes("uprobe:libc:malloc"));
    expect(libc).toHaveLength(1);
    expect(libc[0]).toMatch(/^uprobe:\/.*\/libc\.so\.6:malloc$/);
    // A probe type glob with a path in the second field searches the userspace types.
    expect(lines(listProbes(`u*:${bin}:main`))).toEqual([`uprobe:${bin}:main`]);
  });

  test("errors: no such file, not an ELF file, '*' without -p", () => {
    expect(listError(() => listProbes(`uprobe:${dir}/missing:foo`))).toBe(`cannot find '${dir}/missing': no such file, library or command`);
    expect(listError(() => listProbes("uprobe:no_such_command_xyz:foo"))).toBe("cannot find 'no_such_command_xyz': no such file, library or command");
    expect(listError(() => listProbes(`uprobe:${dir}/notelf:*`))).toMatch(new RegExp(`^cannot read '${dir}/notelf' as an ELF file: not an ELF file`));
    expect(listError(() => listProbes(`usdt:${dir}:*`))).toMatch(/as an ELF file/);
    expect(listError(() => listProbes("uprobe:*:main"))).toMatch(/needs -p PID/);
    expect(listError(() => listProbes("uprobe:main"))).toMatch(/expected uprobe:PATH:FUNCTION/);
    expect(listError(() => listProbes("usdt:x"))).toMatch(/expected usdt:PATH:\[PROVIDER:\]NAME/);
  });

  test("usdt:PATH:* lists PROVIDER:NAME once each (inlined copies too), sorted", () => {
    expect(lines(listProbes(`usdt:${bin}:*`))).toEqual([`usdt:${bin}:myapp:tick`, `usdt:${bin}:myapp:tock`, `usdt:${bin}:other:tick`]);
    expect(lines(listProbes(`usdt:${bin}:tick`))).toEqual([`usdt:${bin}:myapp:tick`, `usdt:${bin}:other:tick`]);
    expect(lines(listProbes(`usdt:${bin}:myapp:*`))).toEqual([`usdt:${bin}:myapp:tick`, `usdt:${bin}:myapp:tock`]);
    expect(lines(listProbes(`usdt:${bin}:*:t?ck`))).toEqual([`usdt:${bin}:myapp:tick`, `usdt:${bin}:myapp:tock`, `usdt:${bin}:other:tick`]);
    expect(lines(listProbes(`U:${bin}:oth*:*`))).toEqual([`usdt:${bin}:other:tick`]);
    expect(listProbes(`usdt:${bin}:nosuch`)).toBe("");
  });

  test("usdt -v: the argument specs of each probe", () => {
    expect(listProbes(`usdt:${bin}:*`, { verbose: true })).toBe(
      `usdt:${bin}:myapp:tick\n    arg0: -4@%edi\nusdt:${bin}:myapp:tock\nusdt:${bin}:other:tick\n    arg0: 8@%rsi\n    arg1: -4@-4(%rbp)\n`,
    );
    // uprobes have no argument information to show.
    expect(listProbes(`uprobe:${bin}:main`, { verbose: true })).toBe(`uprobe:${bin}:main\n`);
  });

  test("-p PID: USDT probes of every mapped file through /proc/PID/root; uprobe:FUNC in the executable", async () => {
    const child = spawn(bin, ["1000"], { stdio: "ignore" });
    children.push(child);
    const pid = child.pid!;
    for (let i = 0; i < 200 && !processMappings(pid).some((m) => m.path === bin); i++) await new Promise((r) => setTimeout(r, 10));
    const root = `/proc/${pid}/root${bin}`;
    const usdt = [`usdt:${root}:myapp:tick`, `usdt:${root}:myapp:tock`, `usdt:${root}:other:tick`];
    expect(lines(listProbes("usdt:*", { pid }))).toEqual(usdt);
    expect(lines(listProbes("usdt:*:*:tock", { pid }))).toEqual([`usdt:${root}:myapp:tock`]);
    expect(lines(listProbes("usdt:tock", { pid }))).toEqual([`usdt:${root}:myapp:tock`]);
    expect(lines(listProbes(`usdt:${bin}:tock`, { pid }))).toEqual([`usdt:${root}:myapp:tock`]);
    // A file the process does not map gives nothing.
    expect(listProbes(`usdt:${dir}/sub/target2:*`, { pid })).toBe("");
    expect(lines(listProbes("uprobe:work_*", { pid }))).toEqual([`uprobe:${root}:work_one`, `uprobe:${root}:work_two`]);
    // An explicit path is printed as written.
    expect(lines(listProbes(`uprobe:${bin}:helper`, { pid }))).toEqual([`uprobe:${bin}:helper`]);
    // '*' is every mapped file (libc too).
    const star = lines(listProbes("uprobe:*:work_one", { pid }));
    expect(star).toEqual([`uprobe:${root}:work_one`]);
    expect(lines(listProbes("uprobe:*:malloc", { pid })).some((l) => /libc\.so\.6:malloc$/.test(l))).toBe(true);
    // No pattern: the executable's functions, then the USDT probes.
    const all = lines(listProbes(undefined, { pid }));
    expect(all).toEqual([...TARGET_FUNCS.map((f) => `uprobe:${root}:${f}`), ...usdt]);
    expect(lines(listProbes("*tock", { pid }))).toEqual([`usdt:${root}:myapp:tock`]);
    expect(lines(listProbes("*work_one", { pid }))).toEqual([`uprobe:${root}:work_one`]);
  });

  test.skipIf(!haveGxx || !haveAddon)("C++: matched mangled or demangled (without arguments unless the pattern has '('), printed mangled", () => {
    const cxx = join(dir, "cxx");
    writeFileSync(join(dir, "t.cc"), CXX_SOURCE);
    execFileSync("g++", ["-O1", "-o", cxx, join(dir, "t.cc")]);
    const frob = `uprobe:${cxx}:_ZN2ns6Widget4frobEi`;
    const twice = `uprobe:${cxx}:_Z5twiceIiET_S0_`;
    expect(lines(listProbes(`uprobe:${cxx}:*frob*`))).toEqual([frob]);
    expect(lines(listProbes(`uprobe:${cxx}:"ns::Widget::frob"`))).toEqual([frob]);
    expect(lines(listProbes(`uprobe:${cxx}:ns::Widget::*`))).toEqual([frob]);
    expect(lines(listProbes(`uprobe:${cxx}:ns*`))).toEqual([frob]);
    expect(lines(listProbes(`uprobe:${cxx}:"ns::Widget::frob(int)"`))).toEqual([frob]);
    expect(listProbes(`uprobe:${cxx}:"ns::Widget::frob(long)"`)).toBe("");
    // The demangled name keeps its return type: "int twice<int>".
    expect(lines(listProbes(`uprobe:${cxx}:int*`))).toEqual([twice]);
    expect(lines(listProbes(`uprobe:${cxx}:*twice*`))).toEqual([twice]);
  });

  test("-l -e: each attach point of the program, expanded, in program order", () => {
    const out = listAttachPoints([
      { target: { type: "BEGIN" } },
      { target: { type: "uprobe", path: bin, func: "work_*" } },
      { target: { type: "uretprobe", path: bin, func: "work_*" }, quotedFunc: true },
      { target: { type: "usdt", path: bin, provider: "myapp", name: "*" } },
      { target: { type: "interval", unit: "ms", value: 100 } },
      { target: { type: "uprobe", path: bin, address: 0x1139n } },
      { target: { type: "END" } },
    ]);
    expect(lines(out)).toEqual(["BEGIN", `uprobe:${bin}:work_one`, `uprobe:${bin}:work_two`, `usdt:${bin}:myapp:tick`, `usdt:${bin}:myapp:tock`, "interval:ms:100", `uprobe:${bin}:0x1139`, "END"]);
  });

  test("runList: -l PATTERN, -l -e PROGRAM, errors as 'ERROR:' with exit 1", async () => {
    const run = async (argv: string[]) => {
      const parsed = parseArgs(argv);
      if (!parsed.ok) throw new Error(parsed.message);
      let stdout = "";
      let stderr = "";
      const code = await runList(parsed.options as CliOptions, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
      return { code, stdout, stderr };
    };
    expect(await run(["-l", `uprobe:${bin}:help*`])).toEqual({ code: 0, stdout: `uprobe:${bin}:helper\n`, stderr: "" });
    expect(await run(["-lv", `usdt:${bin}:myapp:tick`])).toEqual({ code: 0, stdout: `usdt:${bin}:myapp:tick\n    arg0: -4@%edi\n`, stderr: "" });
    expect(await run(["-l", `uprobe:${dir}/missing:x`])).toEqual({ code: 1, stdout: "", stderr: `ERROR: cannot find '${dir}/missing': no such file, library or command\n` });
    expect(await run(["-l", "-e", `BEGIN { exit(); } uprobe:${bin}:work_* { @[probe] = count(); }`])).toEqual({
      code: 0,
      stdout: `BEGIN\nuprobe:${bin}:work_one\nuprobe:${bin}:work_two\n`,
      stderr: "",
    });
    const bad = await run(["-l", "-e", "BEGIN { @x = nosuch(); }", "--color=never"]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toMatch(/^stdin:1:\d+: error: /);
    expect(await run(["-l", "x", "-e", "BEGIN {}"])).toMatchObject({ code: 1, stderr: "ERROR: -l takes a search pattern or -e PROGRAM, not both\n" });
  });
});
