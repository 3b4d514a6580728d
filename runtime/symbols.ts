// User-space symbolization for usym(), func and ustack: a process's address -> its mapping in
// /proc/PID/maps -> file offset -> the ELF file's virtual address -> the function containing it,
// printed the way bpftrace 0.17 prints it (through bcc's symbol cache):
//
//   usym / func        "name"            no offset; C++ names demangled ("ns::Widget::frob(int)")
//   ustack frames      "name+OFFSET"     OFFSET in decimal, from the function's start
//   ustack(perf)       "name+OFFSET (/path/of/file)"
//   kstack frames      "name+OFFSET"     from /proc/kallsyms (runtime/stacks.ts)
//   not found          undefined         the formatter prints the address ("0x55d0c3b4a149", "0")
//
// Symbols come from the mapped file's .dynsym and .symtab and, as bcc does, from its separate
// debug file (/usr/lib/debug/.build-id/xx/yyyy.debug, or .gnu_debuglink), which is where a
// stripped libc keeps its local functions. Anonymous executable memory is looked up in the JIT's
// perf map (/tmp/perf-PID.map, as bcc does), and [vdso] in the kernel's vDSO image.
//
// A process that has exited (no /proc/PID/exe any more) resolves nothing, like bpftrace: its
// addresses print in hex. Loaded files are cached by device, inode, size and mtime, so a file
// replaced on disk is read again; a process's mappings are re-read when an address falls outside
// every mapping known so far (a library loaded since).
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readlinkSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as nodePath from "node:path";
import { crc32 } from "node:zlib";
import { ElfFile, parseProcMaps, type MemoryMapping } from "../compiler/elf/index.js";
import type { Symbolizer } from "./format/values.js";
import { native } from "./native.js";
import { KernelSymbols } from "./stacks.js";

// ---- demangling ---------------------------------------------------------------------------------

/** Whether a symbol looks like an Itanium C++ mangled name (what bcc and bpftrace demangle). */
export function isMangled(name: string): boolean {
  return name.startsWith("_Z") || name.startsWith("___Z");
}

const demangled = new Map<string, string>();
let demanglerMissing = false;

/**
 * A C++ name demangled with the addon's __cxa_demangle ("_ZN2ns6Widget4frobEi" ->
 * "ns::Widget::frob(int)"); any other name, one that does not demangle, or every name when the
 * native addon is not built, is returned unchanged. Only `_Z...` names are tried: __cxa_demangle
 * would turn a C function named `f` into "float".
 */
export function demangle(name: string): string {
  if (!isMangled(name) || demanglerMissing) return name;
  let out = demangled.get(name);
  if (out === undefined) {
    try {
      out = native().demangle(name) ?? name;
    } catch {
      demanglerMissing = true;
      return name;
    }
    demangled.set(name, out);
  }
  return out;
}

// ---- separate debug files -----------------------------------------------------------------------

/** Where distributions install separate debug files. */
export const DEBUG_DIR = "/usr/lib/debug";

function isElfFile(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32BE(0) === 0x7f454c46;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/**
 * The separate debug file of an ELF file, found the way gdb, perf and bcc look for it: by build
 * id (DEBUG_DIR/.build-id/ab/cdef....debug, with a matching build id), then through
 * .gnu_debuglink (DIR/NAME, DIR/.debug/NAME, DEBUG_DIR/DIR/NAME, with a matching CRC-32). `root`
 * prefixes every directory searched (a process's /proc/PID/root). Undefined when there is none.
 */
export function findDebugFile(elf: ElfFile, root = "", debugDir = DEBUG_DIR): string | undefined {
  const id = elf.buildId();
  if (id !== undefined && id.length > 2) {
    const p = `${root}${debugDir}/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`;
    if (existsSync(p) && isElfFile(p)) {
      try {
        if (ElfFile.with(p, (d) => d.buildId()) === id) return p;
      } catch {
        // not a usable ELF file: try the debug link
      }
    }
  }
  const link = elf.section(".gnu_debuglink");
  if (link === undefined) return undefined;
  let data: Buffer;
  try {
    data = elf.sectionData(link);
  } catch {
    return undefined;
  }
  const nul = data.indexOf(0);
  if (nul <= 0) return undefined;
  const name = data.toString("utf8", 0, nul);
  const crcAt = (nul + 4) & ~3;
  if (crcAt + 4 > data.length) return undefined;
  const crc = data.readUInt32LE(crcAt);
  const dir = nodePath.dirname(elf.path);
  // The file's own directory is already under `root` when elf.path is.
  const inner = root !== "" && dir.startsWith(root) ? dir.slice(root.length) || "/" : dir;
  const candidates = [nodePath.join(dir, name), nodePath.join(dir, ".debug", name), `${root}${nodePath.join(debugDir, inner, name)}`];
  for (const c of candidates) {
    if (sameFile(c, elf.path) || !existsSync(c)) continue;
    try {
      if (crc32(readFileSync(c)) >>> 0 === crc) return c;
    } catch {
      // unreadable: try the next place
    }
  }
  return undefined;
}

// ---- one ELF object -----------------------------------------------------------------------------

/** A symbol an address resolved to. */
export interface ResolvedSymbol {
  /** The symbol's name as the file spells it (mangled for C++). */
  name: string;
  /** Bytes from the symbol's start to the address. */
  offset: number;
  /** The mapped file (its path in the traced process), "[vdso]", or the perf map's path. */
  module: string;
}

interface FoundSymbol {
  name: string;
  address: number;
}

/**
 * The function symbols of one ELF file and of its separate debug file, for address lookups and
 * for listing. Everything is read once, when it is loaded; no file stays open.
 */
export class ObjectSymbols {
  readonly path: string;
  readonly debugPath: string | undefined;
  readonly isPie: boolean;
  private readonly elf: ElfFile;
  private readonly debug: ElfFile | undefined;
  private namesCache: string[] | undefined;

  private constructor(path: string, elf: ElfFile, debugPath: string | undefined, debug: ElfFile | undefined) {
    this.path = path;
    this.elf = elf;
    this.isPie = elf.isPie;
    this.debugPath = debugPath;
    this.debug = debug;
  }

  /** Reads an ELF file's symbols (and its debug file's). Throws ElfError for a file that is not ELF. */
  static load(path: string, opts: { root?: string; debugDir?: string } = {}): ObjectSymbols {
    const elf = ElfFile.open(path);
    let debugPath: string | undefined;
    let debug: ElfFile | undefined;
    try {
      elf.symbolAt(0); // reads and indexes the symbol tables while the file is open
      debugPath = findDebugFile(elf, opts.root ?? "", opts.debugDir ?? DEBUG_DIR);
      if (debugPath !== undefined) {
        try {
          debug = ElfFile.open(debugPath);
          try {
            debug.symbolAt(0);
          } finally {
            debug.close();
          }
        } catch {
          debugPath = undefined;
          debug = undefined;
        }
      }
    } finally {
      elf.close();
    }
    return new ObjectSymbols(path, elf, debugPath, debug);
  }

  /** The virtual address a file offset is loaded at (through the PT_LOAD headers). */
  offsetToVaddr(offset: number): number | undefined {
    return this.elf.offsetToVaddr(offset);
  }

  /**
   * The function containing a virtual address: from the file's own tables first (their exported
   * names: "malloc" rather than libc's internal "__GI___libc_malloc"), then from the debug file.
   */
  symbolAt(vaddr: number): FoundSymbol | undefined {
    const s = this.elf.symbolAt(vaddr) ?? this.debug?.symbolAt(vaddr);
    return s === undefined ? undefined : { name: s.name, address: s.address };
  }

  /**
   * The names of the file's functions as bpftrace lists them for uprobes (bcc's
   * bcc_elf_foreach_sym): STT_FUNC and STT_GNU_IFUNC symbols with a non-zero address from
   * .dynsym, .symtab and the debug file's .symtab, each name once, sorted bytewise.
   */
  functionNames(): readonly string[] {
    if (this.namesCache === undefined) {
      const names = new Set<string>();
      for (const e of [this.elf, this.debug]) {
        if (e === undefined) continue;
        for (const s of e.symbols()) if (s.address !== 0) names.add(s.name);
      }
      this.namesCache = sortBytewise([...names]);
    }
    return this.namesCache;
  }
}

/** Sorts strings by their UTF-8 bytes, as a C++ std::set<std::string> orders them. */
export function sortBytewise(list: string[]): string[] {
  const ascii = list.every((s) => /^[\x00-\x7f]*$/.test(s));
  if (ascii) return list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return list
    .map((s) => ({ s, b: Buffer.from(s, "utf8") }))
    .sort((x, y) => Buffer.compare(x.b, y.b))
    .map((x) => x.s);
}

const objectCache = new Map<string, ObjectSymbols | null>();

/**
 * The symbols of a file, cached by device, inode, size and mtime (a file replaced on disk is read
 * again). Undefined when the file cannot be read or is not an ELF file.
 */
export function objectSymbols(path: string, opts: { root?: string; debugDir?: string } = {}): ObjectSymbols | undefined {
  let key: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) return undefined;
    key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${opts.debugDir ?? ""}`;
  } catch {
    return undefined;
  }
  let obj = objectCache.get(key);
  if (obj === undefined) {
    try {
      obj = ObjectSymbols.load(path, opts);
    } catch {
      obj = null;
    }
    objectCache.set(key, obj);
  }
  return obj ?? undefined;
}

// ---- perf maps (JIT compilers) ------------------------------------------------------------------

interface PerfEntry {
  start: bigint;
  end: bigint;
  name: string;
}

/** Parses a perf map: one "START SIZE NAME" line (hex, no 0x needed) per JIT-compiled function. */
export function parsePerfMap(text: string): PerfEntry[] {
  const out: PerfEntry[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*(?:0x)?([0-9a-fA-F]+)\s+(?:0x)?([0-9a-fA-F]+)\s+(.*?)\s*$/.exec(line);
    if (m === null) continue;
    const start = BigInt(`0x${m[1]}`);
    out.push({ start, end: start + BigInt(`0x${m[2]}`), name: m[3]! });
  }
  // Later entries win for the same start (code regenerated at an address): keep file order for ties.
  return out.map((e, i) => ({ e, i })).sort((a, b) => (a.e.start < b.e.start ? -1 : a.e.start > b.e.start ? 1 : a.i - b.i)).map((x) => x.e);
}

function perfMapLookup(entries: readonly PerfEntry[], addr: bigint): PerfEntry | undefined {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.start <= addr) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo - 1; i >= 0 && i >= lo - 16; i--) {
    const e = entries[i]!;
    if (addr >= e.start && addr < e.end) return e;
  }
  return undefined;
}

// ---- the vDSO -----------------------------------------------------------------------------------

let vdsoCache: ObjectSymbols | null | undefined;

/**
 * The vDSO's symbols: every process on this kernel maps the same image, so this process's own
 * copy (read from /proc/self/mem) serves for all of them.
 */
function vdsoSymbols(): ObjectSymbols | undefined {
  if (vdsoCache !== undefined) return vdsoCache ?? undefined;
  vdsoCache = null;
  let dir: string | undefined;
  try {
    const m = parseProcMaps(readFileSync("/proc/self/maps", "utf8")).find((x) => x.path === "[vdso]");
    if (m === undefined) return undefined;
    const size = Number(m.end - m.start);
    const image = Buffer.alloc(size);
    const fd = openSync("/proc/self/mem", "r");
    try {
      let done = 0;
      while (done < size) {
        const n = readSync(fd, image, done, size - done, Number(m.start) + done);
        if (n <= 0) return undefined;
        done += n;
      }
    } finally {
      closeSync(fd);
    }
    dir = mkdtempSync(nodePath.join(tmpdir(), "bpfts-vdso-"));
    const file = nodePath.join(dir, "vdso.so");
    writeFileSync(file, image);
    vdsoCache = ObjectSymbols.load(file, { debugDir: "/nonexistent" });
  } catch {
    vdsoCache = null;
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
  return vdsoCache ?? undefined;
}

// ---- processes ----------------------------------------------------------------------------------

interface ProcessState {
  mappings: MemoryMapping[];
  /** The loaded file of each file-backed mapping, by its start address (null: unreadable). */
  objects: Map<bigint, ObjectSymbols | null>;
  /** Addresses that were outside every mapping after the last re-read. */
  misses: Set<bigint>;
  perf?: { key: string; entries: PerfEntry[] };
}

export interface SymbolizerOptions {
  /**
   * The traced process (-p PID, or the -c command's pid): used for values that do not carry a pid
   * of their own (ustack frames, usym values recorded without one).
   */
  pid?: number;
  /** Demangle C++ names (default true, as bpftrace's cpp_demangle). */
  demangle?: boolean;
  /** Look JIT-compiled code up in /tmp/perf-PID.map (default true, as bcc does). */
  perfMap?: boolean;
  /** Where /proc is (tests). */
  procRoot?: string;
}

/** Whether a process is alive and has an executable (bpftrace: an exited process resolves nothing). */
function processAlive(procRoot: string, pid: number): boolean {
  try {
    readlinkSync(`${procRoot}/${pid}/exe`);
    return true;
  } catch {
    return false;
  }
}

function findMapping(mappings: readonly MemoryMapping[], addr: bigint): MemoryMapping | undefined {
  let lo = 0;
  let hi = mappings.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (mappings[mid]!.start <= addr) lo = mid + 1;
    else hi = mid;
  }
  const m = mappings[lo - 1];
  return m !== undefined && addr >= m.start && addr < m.end ? m : undefined;
}

/** The pid a process has in its own pid namespace (the last NSpid field), which names its perf map. */
function namespacePid(procRoot: string, pid: number): number {
  try {
    const m = /^NSpid:\s*(.*)$/m.exec(readFileSync(`${procRoot}/${pid}/status`, "utf8"));
    const last = m?.[1]?.trim().split(/\s+/).pop();
    if (last !== undefined && /^\d+$/.test(last)) return Number(last);
  } catch {
    // fall through
  }
  return pid;
}

/** Resolves user-space addresses of live processes to symbols; see the top of this file. */
export class UserSymbols {
  private readonly procRoot: string;
  private readonly useDemangle: boolean;
  private readonly usePerfMap: boolean;
  readonly defaultPid: number | undefined;
  private readonly processes = new Map<number, ProcessState>();
  private readonly liveness = new Map<number, boolean>();
  /** /proc/kallsyms, read at the first kernel address (after the script's programs are loaded: their symbols are there too). */
  private readonly kernel = new KernelSymbols();

  constructor(opts: SymbolizerOptions = {}) {
    this.procRoot = opts.procRoot ?? "/proc";
    this.useDemangle = opts.demangle ?? true;
    this.usePerfMap = opts.perfMap ?? true;
    this.defaultPid = opts.pid;
  }

  /**
   * Whether the process is alive, checked once per synchronous run of lookups (a whole map is
   * printed in one): the answer is forgotten at the next microtask.
   */
  private alive(pid: number): boolean {
    let a = this.liveness.get(pid);
    if (a === undefined) {
      if (this.liveness.size === 0) queueMicrotask(() => this.liveness.clear());
      a = processAlive(this.procRoot, pid);
      this.liveness.set(pid, a);
    }
    return a;
  }

  /** Forgets what was read about processes (their mappings); loaded files stay cached. */
  reset(): void {
    this.processes.clear();
    this.liveness.clear();
  }

  private state(pid: number, reread = false): ProcessState | undefined {
    let st = this.processes.get(pid);
    if (st !== undefined && !reread) return st;
    let mappings: MemoryMapping[];
    try {
      mappings = parseProcMaps(readFileSync(`${this.procRoot}/${pid}/maps`, "utf8")).sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    } catch {
      this.processes.delete(pid);
      return undefined;
    }
    st = { mappings, objects: new Map(), misses: new Set(), ...(st?.perf !== undefined ? { perf: st.perf } : {}) };
    this.processes.set(pid, st);
    return st;
  }

  /** The file to read for a mapping: through the process's root, or map_files for a deleted file. */
  private mappingFile(pid: number, m: MemoryMapping): { path: string; root: string } {
    const root = `${this.procRoot}/${pid}/root`;
    if (!m.deleted) {
      const p = `${root}${m.path}`;
      if (existsSync(p)) return { path: p, root };
    }
    return { path: `${this.procRoot}/${pid}/map_files/${m.start.toString(16)}-${m.end.toString(16)}`, root };
  }

  private perfMap(pid: number, st: ProcessState): PerfEntry[] {
    const file = `${this.procRoot}/${pid}/root/tmp/perf-${namespacePid(this.procRoot, pid)}.map`;
    let key: string;
    try {
      const s = statSync(file);
      key = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return [];
    }
    if (st.perf?.key !== key) {
      try {
        st.perf = { key, entries: parsePerfMap(readFileSync(file, "utf8")) };
      } catch {
        return [];
      }
    }
    return st.perf.entries;
  }

  /**
   * The symbol containing `addr` in process `pid` (default: the session's pid), or undefined:
   * no pid, the process is gone, the address is in no mapping, or no symbol covers it.
   */
  resolve(addr: bigint, pid: number | undefined = this.defaultPid): ResolvedSymbol | undefined {
    if (pid === undefined || !Number.isInteger(pid) || pid <= 0) return undefined;
    const a = BigInt.asUintN(64, addr);
    if (a === 0n) return undefined;
    if (!this.alive(pid)) {
      this.processes.delete(pid);
      return undefined;
    }
    let st = this.state(pid);
    if (st === undefined) return undefined;
    let m = findMapping(st.mappings, a);
    if (m === undefined && !st.misses.has(a)) {
      st = this.state(pid, true);
      if (st === undefined) return undefined;
      m = findMapping(st.mappings, a);
      if (m === undefined) st.misses.add(a);
    }
    if (m !== undefined && m.path.startsWith("/")) {
      let obj = st.objects.get(m.start);
      if (obj === undefined) {
        const { path, root } = this.mappingFile(pid, m);
        obj = objectSymbols(path, { root }) ?? null;
        st.objects.set(m.start, obj);
      }
      if (obj === null) return undefined;
      const vaddr = obj.offsetToVaddr(Number(a - m.start + m.offset));
      if (vaddr === undefined) return undefined;
      const s = obj.symbolAt(vaddr);
      return s === undefined ? undefined : { name: s.name, offset: vaddr - s.address, module: m.path };
    }
    if (m !== undefined && m.path === "[vdso]") {
      const obj = vdsoSymbols();
      const vaddr = obj?.offsetToVaddr(Number(a - m.start));
      const s = vaddr === undefined ? undefined : obj?.symbolAt(vaddr);
      return s === undefined || vaddr === undefined ? undefined : { name: s.name, offset: vaddr - s.address, module: "[vdso]" };
    }
    // Anonymous memory (or none known): JIT-compiled code named in the perf map.
    if (this.usePerfMap && (m === undefined || m.path === "" || m.path.startsWith("[anon"))) {
      const e = perfMapLookup(this.perfMap(pid, st), a);
      if (e !== undefined) return { name: e.name, offset: Number(a - e.start), module: `/tmp/perf-${namespacePid(this.procRoot, pid)}.map` };
    }
    return undefined;
  }

  /**
   * bpftrace's text for an address: "name" (usym, func), "name+offset" (ustack frames),
   * "name+offset (/path/of/the/file)" (ustack(perf) frames, `module`), or a kernel address's
   * "name+offset" (kstack frames, `kernel`: /proc/kallsyms); undefined when unresolved.
   */
  format(addr: bigint, info: { offset: boolean; pid?: number; kernel?: boolean; module?: boolean }): string | undefined {
    if (info.kernel) return this.kernel.format(addr, info.offset);
    const s = this.resolve(addr, info.pid ?? this.defaultPid);
    if (s === undefined) return undefined;
    const name = this.useDemangle ? demangle(s.name) : s.name;
    if (!info.offset) return name;
    return info.module ? `${name}+${s.offset} (${s.module})` : `${name}+${s.offset}`;
  }

  /** This resolver as the formatters' Symbolizer callback. */
  get symbolizer(): Symbolizer {
    return (addr, info) => this.format(addr, info);
  }
}

/**
 * A Symbolizer for runtime/format (formatValue, formatMap, printfText...): resolves each address
 * in the value's pid, else in `opts.pid` (the -p/-c process), as bpftrace 0.17 prints it.
 */
export function createSymbolizer(opts: SymbolizerOptions = {}): Symbolizer {
  return new UserSymbols(opts).symbolizer;
}
