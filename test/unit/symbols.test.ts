// runtime/symbols.ts: user-space symbolization (usym, func, ustack) against live processes: this
// node process's own mappings, and gcc-built C and C++ targets whose function addresses are known
// from `nm` and the load base in /proc/PID/maps.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ElfFile, processMappings } from "../../compiler/elf/index.js";
import { formatValue } from "../../runtime/format/text.js";
import { nativeAddonPath } from "../../runtime/native.js";
import {
  createSymbolizer,
  demangle,
  findDebugFile,
  isMangled,
  objectSymbols,
  parsePerfMap,
  sortBytewise,
  UserSymbols,
} from "../../runtime/symbols.js";

const haveAddon = existsSync(nativeAddonPath());

function haveCompiler(cmd: string): boolean {
  try {
    execFileSync(cmd, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const haveGcc = haveCompiler("gcc") && haveCompiler("nm") && haveCompiler("readelf");
const haveGxx = haveCompiler("g++") && haveCompiler("nm");

/**
 * The run-time address of a file's virtual address in a process: the mapping holding the
 * address's file offset, moved by the mapping's start (works for PIE and non-PIE files).
 */
function runtimeAddress(pid: number | "self", path: string, vaddr: number): bigint {
  const off = ElfFile.with(path, (e) => e.vaddrToOffset(vaddr));
  if (off === undefined) throw new Error(`0x${vaddr.toString(16)} is not in a PT_LOAD of ${path}`);
  const real = realpathSync(path);
  const m = processMappings(pid).find((x) => (x.path === path || x.path === real) && BigInt(off) >= x.offset && BigInt(off) < x.offset + (x.end - x.start));
  if (m === undefined) throw new Error(`${path} offset 0x${off.toString(16)} is not mapped in ${pid}`);
  return m.start + (BigInt(off) - m.offset);
}

/** `nm` symbols of a file: name -> address. */
function nmSymbols(path: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of execFileSync("nm", [path], { encoding: "utf8" }).split("\n")) {
    const m = /^([0-9a-f]+) ([A-Za-z]) (\S+)$/.exec(line);
    if (m) out.set(m[3]!, parseInt(m[1]!, 16));
  }
  return out;
}

function waitExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

/** Starts a target and waits until its main executable is mapped (exec has happened). */
async function startTarget(path: string, args: string[] = ["1000"]): Promise<ChildProcess> {
  const child = spawn(path, args, { stdio: "ignore" });
  const pid = child.pid!;
  for (let i = 0; i < 200; i++) {
    try {
      if (processMappings(pid).some((m) => m.path === path)) return child;
    } catch {
      // not there yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${path} did not start`);
}

// ---- pure helpers --------------------------------------------------------------------------------

describe("helpers", () => {
  test("isMangled: Itanium names only", () => {
    expect(isMangled("_ZN2ns6Widget4frobEi")).toBe(true);
    expect(isMangled("___Z3foov_block_invoke")).toBe(true);
    expect(isMangled("main")).toBe(false);
    expect(isMangled("f")).toBe(false);
    expect(isMangled("Z")).toBe(false);
  });

  test("demangle: C++ names demangled, C names (even 'f' or 'i') untouched", () => {
    expect(demangle("main")).toBe("main");
    expect(demangle("f")).toBe("f"); // __cxa_demangle alone would say "float"
    expect(demangle("i")).toBe("i");
    expect(demangle("_Znot_valid")).toBe("_Znot_valid");
    if (haveAddon) {
      expect(demangle("_ZN2ns6Widget4frobEi")).toBe("ns::Widget::frob(int)");
      expect(demangle("_Z5twiceIiET_S0_")).toBe("int twice<int>(int)");
      expect(demangle("_ZNSt6vectorIiSaIiEE9push_backERKi")).toBe("std::vector<int, std::allocator<int> >::push_back(int const&)");
    }
  });

  test("sortBytewise: as std::set<std::string> (':' after digits, uppercase before lowercase, UTF-8 bytes)", () => {
    expect(sortBytewise(["fib:x", "fib6:y", "Zeta", "alpha", "_x"])).toEqual(["Zeta", "_x", "alpha", "fib6:y", "fib:x"]);
    // U+FF5E sorts before U+1F600 in UTF-8 but after it in UTF-16 code units.
    expect(sortBytewise(["\u{1F600}", "\uFF5E"])).toEqual(["\uFF5E", "\u{1F600}"]);
  });

  test("parsePerfMap: START SIZE NAME, hex, names with spaces, sorted by start", () => {
    const e = parsePerfMap("3f00 10 LazyCompile:*foo /a/b.js:1\n0x1000 0x20 bar\nbad line\n\n2000 8 Builtin: A B\n");
    expect(e.map((x) => [x.start, x.end, x.name])).toEqual([
      [0x1000n, 0x1020n, "bar"],
      [0x2000n, 0x2008n, "Builtin: A B"],
      [0x3f00n, 0x3f10n, "LazyCompile:*foo /a/b.js:1"],
    ]);
  });
});

// ---- this process ---------------------------------------------------------------------------------

describe("this node process", () => {
  const pid = process.pid;
  const exe = realpathSync(process.execPath);
  const syms = new UserSymbols({ pid });

  test("node's own functions: usym name, ustack name+offset", () => {
    const uv = ElfFile.with(exe, (e) => e.findSymbol("uv_run"));
    expect(uv).toBeDefined();
    const addr = runtimeAddress("self", exe, uv!.address);
    expect(syms.format(addr, { offset: false })).toBe("uv_run");
    expect(syms.format(addr + 7n, { offset: true })).toBe("uv_run+7");
    expect(syms.format(addr, { offset: true })).toBe("uv_run+0");
    const r = syms.resolve(addr + 7n);
    expect(r).toMatchObject({ name: "uv_run", offset: 7 });
    expect(r!.module.endsWith("node") || r!.module === exe).toBe(true);
  });

  test.skipIf(!haveAddon)("node's C++ functions are demangled", () => {
    const cxx = ElfFile.with(exe, (e) => e.symbols().find((s) => s.name.startsWith("_ZN2v87Isolate") && s.size > 8 && e.symbolAt(s.address)?.name === s.name));
    expect(cxx).toBeDefined();
    const addr = runtimeAddress("self", exe, cxx!.address);
    const text = syms.format(addr + 2n, { offset: true })!;
    expect(text.startsWith("v8::Isolate::")).toBe(true);
    expect(text.endsWith("+2")).toBe(true);
    expect(new UserSymbols({ pid, demangle: false }).format(addr, { offset: false })).toBe(cxx!.name);
  });

  test("libc: an exported function, and one only its debug file knows", () => {
    const libc = processMappings("self").find((m) => /\/libc\.so\.6$/.test(m.path))!.path;
    const malloc = ElfFile.with(libc, (e) => e.findSymbol("malloc"))!;
    const addr = runtimeAddress("self", libc, malloc.address);
    const r = syms.resolve(addr + 3n)!;
    expect(r.offset).toBe(3);
    // One of malloc's aliases (malloc, __libc_malloc, ...): all at malloc's address.
    expect(ElfFile.with(libc, (e) => e.symbolsNamed(r.name).some((s) => s.address === malloc.address))).toBe(true);

    const obj = objectSymbols(libc)!;
    if (obj.debugPath === undefined) return; // no debug file installed: nothing more to check
    const local = ElfFile.with(obj.debugPath, (d) =>
      d.symbols().find((s) => s.binding === "local" && s.size > 16 && !s.name.includes("@") && ElfFile.with(libc, (e) => e.symbolAt(s.address)) === undefined && d.symbolAt(s.address + 1)?.name === s.name),
    );
    expect(local).toBeDefined();
    expect(syms.format(runtimeAddress("self", libc, local!.address) + 1n, { offset: true })).toBe(`${local!.name}+1`);
  });

  test("the vDSO's functions", () => {
    const vdso = processMappings("self").find((m) => m.path === "[vdso]");
    if (vdso === undefined) return;
    const r = syms.resolve(vdso.start + 0x10n); // the ELF header: no function
    expect(r).toBeUndefined();
    // Find clock_gettime by scanning the mapping for the address that names it.
    let found: string | undefined;
    for (let a = vdso.start; a < vdso.end && found === undefined; a += 4n) {
      const s = syms.resolve(a);
      if (s !== undefined && /clock_gettime/.test(s.name) && s.offset === 0) found = s.name;
    }
    expect(found).toMatch(/^(__vdso_)?clock_gettime$/);
  });

  test("unresolved: address 0, unmapped, no pid, a pid that does not exist", () => {
    expect(syms.format(0n, { offset: false })).toBeUndefined();
    expect(syms.format(1n, { offset: true })).toBeUndefined();
    expect(new UserSymbols().format(0x401000n, { offset: false })).toBeUndefined();
    expect(syms.format(0x401000n, { offset: false, pid: 0x3fffff })).toBeUndefined();
    // The heap is mapped but holds no code.
    const heap = processMappings("self").find((m) => m.path === "[heap]");
    if (heap !== undefined) expect(syms.format(heap.start + 16n, { offset: true })).toBeUndefined();
  });
});

// ---- gcc-built C targets ------------------------------------------------------------------------

const C_SOURCE = `
#include <stdlib.h>
#include <unistd.h>
__attribute__((noinline)) int target_leaf(int x) { asm volatile("" ::: "memory"); usleep(x); return x + 1; }
__attribute__((noinline)) int target_mid(int x) { int r = target_leaf(x); asm volatile("" ::: "memory"); return r * 2; }
static __attribute__((noinline)) int local_fn(int x) { int r = target_mid(x); asm volatile("" ::: "memory"); return r + 3; }
int main(int argc, char **argv) { int n = argc > 1 ? atoi(argv[1]) : 1; for (int i = 0; i < n; i++) local_fn(10000); return 0; }
`;

const CXX_SOURCE = `
#include <cstdlib>
#include <unistd.h>
namespace ns { struct Widget { __attribute__((noinline)) int frob(int x); }; }
__attribute__((noinline)) int ns::Widget::frob(int x) { asm volatile("" ::: "memory"); usleep(x); return x + 1; }
template <typename T> __attribute__((noinline)) T twice(T v) { ns::Widget w; return w.frob(v) * 2; }
int main(int argc, char **argv) { int n = argc > 1 ? atoi(argv[1]) : 1; for (int i = 0; i < n; i++) twice<int>(10000); return 0; }
`;

describe.skipIf(!haveGcc)("gcc-built C targets", () => {
  let dir: string;
  const bins: Record<string, string> = {};
  const children: ChildProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "bpfts-symbols-"));
    writeFileSync(join(dir, "t.c"), C_SOURCE);
    bins["pie"] = join(dir, "t_pie");
    bins["nopie"] = join(dir, "t_nopie");
    bins["stripped"] = join(dir, "t_stripped");
    execFileSync("gcc", ["-O1", "-fPIE", "-pie", "-o", bins["pie"]!, join(dir, "t.c")]);
    execFileSync("gcc", ["-O1", "-fno-pie", "-no-pie", "-o", bins["nopie"]!, join(dir, "t.c")]);
    execFileSync("gcc", ["-O1", "-s", "-o", bins["stripped"]!, join(dir, "t.c")]);
  });

  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    await Promise.all(children.map(waitExit));
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(path: string): Promise<ChildProcess> {
    const c = await startTarget(path);
    children.push(c);
    return c;
  }

  for (const kind of ["pie", "nopie"]) {
    test(`${kind}: functions at their nm addresses, usym and ustack forms`, async () => {
      const path = bins[kind]!;
      const child = await run(path);
      const pid = child.pid!;
      const nm = nmSymbols(path);
      const s = new UserSymbols({ pid });
      for (const name of ["target_leaf", "target_mid", "local_fn", "main"]) {
        const addr = runtimeAddress(pid, path, nm.get(name)!);
        expect(s.format(addr, { offset: false })).toBe(name);
        expect(s.format(addr, { offset: true })).toBe(`${name}+0`);
        expect(s.format(addr + 5n, { offset: true })).toBe(`${name}+5`);
      }
      // The symbolizer callback: the value's pid first, else the session's.
      const addr = runtimeAddress(pid, path, nm.get("target_mid")!) + 9n;
      expect(createSymbolizer({ pid })(addr, { offset: true })).toBe("target_mid+9");
      expect(createSymbolizer()(addr, { offset: false, pid })).toBe("target_mid");
      expect(createSymbolizer({ pid: process.pid })(addr, { offset: false, pid })).toBe("target_mid");
      // Through the formatters, as bpftrace prints them.
      const symbolize = createSymbolizer({ pid });
      expect(formatValue({ kind: "usym" }, { addr, pid }, { symbolize })).toBe("target_mid");
      const leaf = runtimeAddress(pid, path, nm.get("target_leaf")!);
      const stack = [leaf, addr, 0x1n, 0n, leaf];
      expect(formatValue({ kind: "ustack", limit: 127 }, stack, { symbolize })).toBe("\n        target_leaf+0\n        target_mid+9\n        0x1\n");
    });
  }

  test("a stripped binary: its own code resolves to nothing (printed as addresses)", async () => {
    const path = bins["stripped"]!;
    const child = await run(path);
    const pid = child.pid!;
    const m = processMappings(pid).find((x) => x.path === path && x.perms.includes("x"))!;
    // Code of the stripped binary resolves to nothing (.dynsym has no functions of its own).
    expect(new UserSymbols({ pid }).format(m.start + 0x10n, { offset: true })).toBeUndefined();
  });

  test("the process has exited: addresses print in hex (bpftrace resolves nothing)", async () => {
    const path = bins["pie"]!;
    const child = await startTarget(path, ["1000"]);
    const pid = child.pid!;
    const nm = nmSymbols(path);
    const addr = runtimeAddress(pid, path, nm.get("target_leaf")!);
    const s = new UserSymbols({ pid });
    expect(s.format(addr, { offset: false })).toBe("target_leaf");
    child.kill("SIGKILL");
    await waitExit(child);
    expect(s.format(addr, { offset: false })).toBeUndefined();
    expect(formatValue({ kind: "usym" }, { addr, pid }, { symbolize: s.symbolizer })).toBe(`0x${addr.toString(16)}`);
  });

  test("a binary deleted while it runs is read through /proc/PID/map_files", async () => {
    const path = join(dir, "t_deleted");
    copyFileSync(bins["pie"]!, path);
    const nm = nmSymbols(path);
    const child = await run(path);
    const pid = child.pid!;
    const addr = runtimeAddress(pid, path, nm.get("target_mid")!);
    unlinkSync(path);
    expect(processMappings(pid).some((m) => m.deleted)).toBe(true);
    expect(new UserSymbols({ pid }).format(addr + 1n, { offset: true })).toBe("target_mid+1");
  });

  test("a library loaded later: the mappings are read again on a miss", async () => {
    const path = bins["nopie"]!;
    const child = await run(path);
    const pid = child.pid!;
    const s = new UserSymbols({ pid });
    const nm = nmSymbols(path);
    // First resolve caches the mappings; an address outside them re-reads (and still fails).
    expect(s.format(runtimeAddress(pid, path, nm.get("main")!), { offset: false })).toBe("main");
    expect(s.format(0x10n, { offset: false })).toBeUndefined();
    expect(s.format(runtimeAddress(pid, path, nm.get("local_fn")!), { offset: false })).toBe("local_fn");
  });

  test("objectSymbols: the functions nm lists, cached until the file changes", () => {
    const path = join(dir, "t_cache");
    copyFileSync(bins["pie"]!, path);
    const a = objectSymbols(path)!;
    expect(objectSymbols(path)).toBe(a);
    // readelf's .symtab: defined FUNC and IFUNC symbols with an address.
    const symtab = execFileSync("readelf", ["-W", "--syms", path], { encoding: "utf8" }).split("Symbol table '.symtab'")[1]!;
    const funcs = symtab
      .split("\n")
      .map((l) => /^\s*\d+: ([0-9a-f]+)\s+\d+ (?:FUNC|IFUNC)\s+\S+\s+\S+\s+(\d+) (\S+)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null && parseInt(m[1]!, 16) !== 0)
      .map((m) => m[3]!);
    expect(funcs).toContain("local_fn");
    expect(a.functionNames()).toEqual(sortBytewise([...new Set(funcs)]));
    copyFileSync(bins["nopie"]!, path);
    const b = objectSymbols(path)!;
    expect(b).not.toBe(a);
    expect(b.isPie).toBe(false);
    expect(objectSymbols(join(dir, "t.c"))).toBeUndefined();
    expect(objectSymbols(join(dir, "missing"))).toBeUndefined();
  });
});

describe.skipIf(!haveGxx)("a g++-built C++ target", () => {
  let dir: string;
  let bin: string;
  let child: ChildProcess | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "bpfts-symbols-cxx-"));
    writeFileSync(join(dir, "t.cc"), CXX_SOURCE);
    bin = join(dir, "tcc");
    execFileSync("g++", ["-O1", "-o", bin, join(dir, "t.cc")]);
  });

  afterAll(async () => {
    if (child !== undefined) {
      child.kill("SIGKILL");
      await waitExit(child);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test.skipIf(!haveAddon)("methods and templates are demangled, with their argument lists", async () => {
    child = await startTarget(bin);
    const pid = child.pid!;
    const nm = nmSymbols(bin);
    const s = new UserSymbols({ pid });
    const frob = runtimeAddress(pid, bin, nm.get("_ZN2ns6Widget4frobEi")!);
    const twice = runtimeAddress(pid, bin, nm.get("_Z5twiceIiET_S0_")!);
    expect(s.format(frob, { offset: false })).toBe("ns::Widget::frob(int)");
    expect(s.format(frob + 4n, { offset: true })).toBe("ns::Widget::frob(int)+4");
    expect(s.format(twice + 1n, { offset: true })).toBe("int twice<int>(int)+1");
    expect(new UserSymbols({ pid, demangle: false }).format(frob, { offset: false })).toBe("_ZN2ns6Widget4frobEi");
  });
});

// ---- perf maps and debug files -------------------------------------------------------------------

describe("JIT perf maps", () => {
  test("an address outside every mapping is looked up in /tmp/perf-PID.map", async () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    const pid = child.pid!;
    const file = `/tmp/perf-${pid}.map`;
    try {
      await new Promise((r) => setTimeout(r, 50));
      const s = new UserSymbols({ pid });
      expect(s.format(0x10000010n, { offset: true })).toBeUndefined();
      writeFileSync(file, "10000000 100 LazyCompile:~foo /app/x.js:3\n10000100 40 _ZN2ns6Widget4frobEi\n");
      expect(s.format(0x10000010n, { offset: true })).toBe("LazyCompile:~foo /app/x.js:3+16");
      expect(s.resolve(0x10000010n)?.module).toBe(file);
      if (haveAddon) expect(s.format(0x10000100n, { offset: false })).toBe("ns::Widget::frob(int)");
      expect(s.format(0x10000140n, { offset: false })).toBeUndefined();
      expect(new UserSymbols({ pid, perfMap: false }).format(0x10000010n, { offset: true })).toBeUndefined();
    } finally {
      if (existsSync(file)) unlinkSync(file);
      child.kill("SIGKILL");
      await waitExit(child);
    }
  });
});

describe("separate debug files", () => {
  test.skipIf(!haveGcc || !haveCompiler("objcopy"))("found by build id, and by .gnu_debuglink with a matching CRC", () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfts-debuglink-"));
    try {
      writeFileSync(join(dir, "t.c"), C_SOURCE);
      const full = join(dir, "full");
      execFileSync("gcc", ["-O1", "-Wl,--build-id=none", "-o", full, join(dir, "t.c")]);
      // t.debug keeps the symbols; `stripped` links to it.
      execFileSync("objcopy", ["--only-keep-debug", full, join(dir, "t.debug")]);
      const stripped = join(dir, "stripped");
      execFileSync("objcopy", ["--strip-all", `--add-gnu-debuglink=${join(dir, "t.debug")}`, full, stripped]);
      expect(ElfFile.with(stripped, (e) => findDebugFile(e))).toBe(join(dir, "t.debug"));
      const obj = objectSymbols(stripped)!;
      expect(obj.debugPath).toBe(join(dir, "t.debug"));
      expect(obj.functionNames()).toContain("local_fn");
      const nm = nmSymbols(full);
      const vaddr = nm.get("local_fn")!;
      expect(obj.symbolAt(vaddr + 2)).toEqual({ name: "local_fn", address: vaddr });
      // A debug file whose CRC does not match is not used.
      writeFileSync(join(dir, "t.debug"), Buffer.concat([readFileSync(join(dir, "t.debug")), Buffer.from([0])]));
      expect(ElfFile.with(stripped, (e) => findDebugFile(e))).toBeUndefined();
      // By build id, under a debug directory.
      const withId = join(dir, "withid");
      execFileSync("gcc", ["-O1", "-Wl,--build-id=sha1", "-o", withId, join(dir, "t.c")]);
      const id = ElfFile.with(withId, (e) => e.buildId())!;
      const debugDir = join(dir, "debug");
      const idDir = join(debugDir, ".build-id", id.slice(0, 2));
      execFileSync("mkdir", ["-p", idDir]);
      execFileSync("objcopy", ["--only-keep-debug", withId, join(idDir, `${id.slice(2)}.debug`)]);
      expect(ElfFile.with(withId, (e) => findDebugFile(e, "", debugDir))).toBe(join(idDir, `${id.slice(2)}.debug`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("libc's debug file, when installed, is found by build id", () => {
    const libc = processMappings("self").find((m) => /\/libc\.so\.6$/.test(m.path))?.path;
    if (libc === undefined) return;
    const id = ElfFile.with(libc, (e) => e.buildId());
    const expected = id === undefined ? undefined : `/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`;
    const found = ElfFile.with(libc, (e) => findDebugFile(e));
    if (expected !== undefined && existsSync(expected)) expect(found).toBe(expected);
  });
});
