// Resolving uprobe/USDT targets to files the way the dynamic loader and bpftrace do, and
// reading a process's memory mappings.
//
//   uprobe:/usr/bin/bash:readline   a path: used as it is (made absolute)
//   uprobe:libc:malloc              a bare library name: libc.so.6 through /etc/ld.so.cache
//   usdt:libstdc++.so.6:...         a soname: looked up the same way
//   uprobe:bash:readline            a command name: found through PATH

import * as fs from "node:fs";
import * as nodePath from "node:path";

/** Where the loader looks when the cache has nothing (x86-64 Debian/Ubuntu first, then others). */
export const DEFAULT_LIBRARY_DIRS: readonly string[] = [
  "/lib/x86_64-linux-gnu",
  "/usr/lib/x86_64-linux-gnu",
  "/lib64",
  "/usr/lib64",
  "/lib",
  "/usr/lib",
];

export const DEFAULT_LD_SO_CACHE = "/etc/ld.so.cache";

/** One entry of /etc/ld.so.cache. */
export interface LdCacheEntry {
  /** The soname or file name looked up, e.g. "libc.so.6". */
  readonly name: string;
  /** The file it resolves to, e.g. "/lib/x86_64-linux-gnu/libc.so.6". */
  readonly path: string;
  /** Raw flags: low byte the kind (3 = ELF libc6), next byte the architecture (0x03 = x86-64). */
  readonly flags: number;
  readonly osVersion: number;
  readonly hwcap: bigint;
}

// ld.so.cache flags (glibc's dl-cache.h)
const FLAG_TYPE_MASK = 0x00ff;
const FLAG_ELF_LIBC6 = 0x0003;
const FLAG_REQUIRED_MASK = 0xff00;
const FLAG_X8664_LIB64 = 0x0300;

/** True for entries the x86-64 loader would use (ELF, glibc, 64-bit x86). */
export function isX86_64Entry(e: LdCacheEntry): boolean {
  return (e.flags & FLAG_TYPE_MASK) === FLAG_ELF_LIBC6 && (e.flags & FLAG_REQUIRED_MASK) === FLAG_X8664_LIB64;
}

const NEW_MAGIC = "glibc-ld.so.cache1.1";
const OLD_MAGIC = "ld.so-1.7.0";
const NEW_HEADER_SIZE = 48; // magic+version (20), nlibs, len_strings, flags+pad (4), extension_offset, unused[3]
const NEW_ENTRY_SIZE = 24; // flags, key, value, osversion, hwcap (8)
const OLD_HEADER_SIZE = 16; // magic (11) + pad (1), nlibs
const OLD_ENTRY_SIZE = 12; // flags, key, value

/**
 * Parses the binary /etc/ld.so.cache ("glibc-ld.so.cache1.1" format; also when it follows an
 * old-format "ld.so-1.7.0" table, as caches written before glibc 2.32 can). Entries keep file
 * order. Throws on a file in neither format.
 */
export function parseLdSoCache(buf: Buffer): LdCacheEntry[] {
  let start: number;
  if (buf.toString("latin1", 0, NEW_MAGIC.length) === NEW_MAGIC) {
    start = 0;
  } else if (buf.toString("latin1", 0, OLD_MAGIC.length) === OLD_MAGIC && buf.length >= OLD_HEADER_SIZE) {
    const nOld = buf.readUInt32LE(12);
    start = OLD_HEADER_SIZE + nOld * OLD_ENTRY_SIZE;
    start = Math.ceil(start / 8) * 8; // the new table is aligned
    if (buf.toString("latin1", start, start + NEW_MAGIC.length) !== NEW_MAGIC) {
      throw new Error("ld.so.cache: old format without a glibc-ld.so.cache1.1 table is not supported");
    }
  } else {
    throw new Error("ld.so.cache: unrecognized format");
  }
  if (buf.length < start + NEW_HEADER_SIZE) throw new Error("ld.so.cache: truncated header");
  const nlibs = buf.readUInt32LE(start + 20);
  const endianFlag = buf[start + 28]!;
  if (endianFlag === 3) throw new Error("ld.so.cache: big-endian cache is not supported");
  const entriesEnd = start + NEW_HEADER_SIZE + nlibs * NEW_ENTRY_SIZE;
  if (entriesEnd > buf.length) throw new Error("ld.so.cache: truncated entry table");
  const str = (off: number): string => {
    // String offsets of the new format are relative to the start of its header.
    const o = start + off;
    if (o >= buf.length) throw new Error("ld.so.cache: string offset out of range");
    let end = buf.indexOf(0, o);
    if (end < 0) end = buf.length;
    return buf.toString("utf8", o, end);
  };
  const out: LdCacheEntry[] = [];
  for (let i = 0; i < nlibs; i++) {
    const o = start + NEW_HEADER_SIZE + i * NEW_ENTRY_SIZE;
    out.push({
      flags: buf.readInt32LE(o),
      name: str(buf.readUInt32LE(o + 4)),
      path: str(buf.readUInt32LE(o + 8)),
      osVersion: buf.readUInt32LE(o + 12),
      hwcap: buf.readBigUInt64LE(o + 16),
    });
  }
  return out;
}

let cacheMemo: { path: string; mtimeMs: number; size: number; entries: LdCacheEntry[] } | undefined;

/** Reads and parses an ld.so.cache (memoized until the file changes); [] when it is missing or unreadable. */
export function readLdSoCache(path = DEFAULT_LD_SO_CACHE): readonly LdCacheEntry[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch {
    return [];
  }
  if (cacheMemo !== undefined && cacheMemo.path === path && cacheMemo.mtimeMs === st.mtimeMs && cacheMemo.size === st.size) {
    return cacheMemo.entries;
  }
  let entries: LdCacheEntry[];
  try {
    entries = parseLdSoCache(fs.readFileSync(path));
  } catch {
    entries = [];
  }
  cacheMemo = { path, mtimeMs: st.mtimeMs, size: st.size, entries };
  return entries;
}

export interface ResolveOptions {
  /** ld.so.cache to read (default /etc/ld.so.cache). */
  readonly ldSoCache?: string;
  /** Directories searched when the cache has no match (default DEFAULT_LIBRARY_DIRS). */
  readonly libraryDirs?: readonly string[];
  /** PATH for command names (default process.env.PATH). */
  readonly pathEnv?: string;
  /** Working directory for relative paths (default process.cwd()). */
  readonly cwd?: string;
  /** A process whose mappings are searched first for library names (as with bpftrace -p). */
  readonly pid?: number;
}

/** Thrown when a target cannot be resolved; `tried` lists what was searched. */
export class TargetNotFoundError extends Error {
  readonly target: string;
  readonly tried: readonly string[];
  constructor(target: string, tried: readonly string[]) {
    super(`cannot find "${target}"${tried.length > 0 ? ` (searched ${tried.join(", ")})` : ""}`);
    this.name = "TargetNotFoundError";
    this.target = target;
    this.tried = tried;
  }
}

/** True for names that look like a library rather than a command: "libc", "libc.so.6", "foo.so". */
export function isLibraryName(name: string): boolean {
  return !name.includes("/") && (name.startsWith("lib") || /\.so(\.|$)/.test(name));
}

function isElfFile(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path, "r");
    if (!fs.fstatSync(fd).isFile()) return false;
    const b = Buffer.alloc(4);
    return fs.readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32BE(0) === 0x7f454c46;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function isExecutableFile(path: string): boolean {
  try {
    if (!fs.statSync(path).isFile()) return false;
    fs.accessSync(path, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Ranks names for a bare library name: "libc.so.6" (versioned) before "libc.so"; undefined = no match. */
function libraryNameRank(want: string, candidate: string): number | undefined {
  if (candidate === want) return 0;
  if (want.includes(".so")) return undefined;
  if (candidate.startsWith(`${want}.so.`) && /^[0-9.]+$/.test(candidate.slice(want.length + 4))) return 1;
  if (candidate === `${want}.so`) return 2;
  return undefined;
}

/**
 * Resolves a library name ("libc", "libc.so.6", "libstdc++.so.6") to a file, as the dynamic
 * loader would: the mappings of `opts.pid` first when given, then ld.so.cache (x86-64 entries),
 * then the standard directories. Returns undefined when nothing is found. Names containing a
 * slash are treated as paths.
 */
export function resolveLibrary(name: string, opts: ResolveOptions = {}): string | undefined {
  return resolveLibraryTried(name, opts, []);
}

function resolveLibraryTried(name: string, opts: ResolveOptions, tried: string[]): string | undefined {
  if (name.includes("/")) {
    const p = nodePath.resolve(opts.cwd ?? process.cwd(), name);
    tried.push(p);
    return fs.existsSync(p) ? p : undefined;
  }
  if (opts.pid !== undefined) {
    tried.push(`/proc/${opts.pid}/maps`);
    let best: { path: string; rank: number } | undefined;
    try {
      for (const m of processMappings(opts.pid)) {
        if (!m.path.startsWith("/") || m.deleted) continue;
        const rank = libraryNameRank(name, nodePath.basename(m.path));
        if (rank !== undefined && (best === undefined || rank < best.rank)) best = { path: m.path, rank };
      }
    } catch {
      // The process may have exited or be unreadable: fall back to the system lookup.
    }
    if (best !== undefined) return best.path;
  }
  const cachePath = opts.ldSoCache ?? DEFAULT_LD_SO_CACHE;
  tried.push(cachePath);
  let best: { path: string; rank: number } | undefined;
  for (const e of readLdSoCache(cachePath)) {
    if (!isX86_64Entry(e)) continue;
    const rank = libraryNameRank(name, e.name);
    if (rank !== undefined && (best === undefined || rank < best.rank) && isElfFile(e.path)) {
      best = { path: e.path, rank };
      if (rank === 0) break;
    }
  }
  if (best !== undefined) return best.path;
  for (const dir of opts.libraryDirs ?? DEFAULT_LIBRARY_DIRS) {
    tried.push(dir);
    let files: string[];
    try {
      files = fs.readdirSync(dir);
    } catch {
      continue;
    }
    let found: { path: string; rank: number } | undefined;
    for (const f of files) {
      const rank = libraryNameRank(name, f);
      if (rank === undefined || (found !== undefined && rank >= found.rank)) continue;
      const p = nodePath.join(dir, f);
      // The unversioned "libc.so" is often a linker script: only ELF files count.
      if (isElfFile(p)) found = { path: p, rank };
    }
    if (found !== undefined) return found.path;
  }
  return undefined;
}

/** Finds an executable command through a PATH string (like `which`). */
export function findInPath(command: string, pathEnv = process.env["PATH"] ?? ""): string | undefined {
  if (command.includes("/")) return isExecutableFile(command) ? nodePath.resolve(command) : undefined;
  for (const dir of pathEnv.split(":")) {
    const p = nodePath.resolve(dir === "" ? "." : dir, command);
    if (isExecutableFile(p)) return p;
  }
  return undefined;
}

/**
 * Resolves the target of `uprobe:TARGET:func` or `usdt:TARGET:...` to an absolute file path:
 * a path (contains "/") as it is; a library name through resolveLibrary; any other name through
 * PATH, then as "lib" + name (so "c" finds libc.so.6, as bcc allows). Throws TargetNotFoundError.
 */
export function resolveTarget(target: string, opts: ResolveOptions = {}): string {
  if (target === "") throw new TargetNotFoundError(target, []);
  const tried: string[] = [];
  if (target.includes("/")) {
    const p = nodePath.resolve(opts.cwd ?? process.cwd(), target);
    if (fs.existsSync(p)) return p;
    // A file only the process's mount namespace has (-p PID): through its root, as bpftrace does.
    if (opts.pid !== undefined) {
      const inRoot = `/proc/${opts.pid}/root${p}`;
      if (fs.existsSync(inRoot)) return inRoot;
      throw new TargetNotFoundError(target, [p, inRoot]);
    }
    throw new TargetNotFoundError(target, [p]);
  }
  if (isLibraryName(target)) {
    const lib = resolveLibraryTried(target, opts, tried);
    if (lib !== undefined) return lib;
    throw new TargetNotFoundError(target, tried);
  }
  const pathEnv = opts.pathEnv ?? process.env["PATH"] ?? "";
  tried.push("PATH");
  const cmd = findInPath(target, pathEnv);
  if (cmd !== undefined) return cmd;
  const lib = resolveLibraryTried(`lib${target}`, opts, tried);
  if (lib !== undefined) return lib;
  throw new TargetNotFoundError(target, tried);
}

// -------------------------------------------------------------------------------------------
// /proc/PID/maps

export interface MemoryMapping {
  /** Start and end (exclusive) of the mapping's address range. */
  readonly start: bigint;
  readonly end: bigint;
  /** "r-xp" and the like. */
  readonly perms: string;
  /** File offset the mapping starts at. */
  readonly offset: bigint;
  /** "major:minor" of the file's device. */
  readonly dev: string;
  readonly inode: number;
  /** File path, "[heap]"/"[stack]"/"[vdso]"..., or "" for anonymous memory. " (deleted)" removed. */
  readonly path: string;
  /** The mapped file was deleted (the kernel appended " (deleted)"). */
  readonly deleted: boolean;
}

const MAPS_RE = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+([0-9a-f]+)\s+(\S+)\s+(\d+)(?:\s+(.*))?$/i;

/** Parses the text of a /proc/PID/maps file. */
export function parseProcMaps(text: string): MemoryMapping[] {
  const out: MemoryMapping[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const m = MAPS_RE.exec(line);
    if (m === null) continue;
    let path = m[7] ?? "";
    const deleted = path.endsWith(" (deleted)");
    if (deleted) path = path.slice(0, -" (deleted)".length);
    out.push({
      start: BigInt(`0x${m[1]}`),
      end: BigInt(`0x${m[2]}`),
      perms: m[3]!,
      offset: BigInt(`0x${m[4]}`),
      dev: m[5]!,
      inode: Number(m[6]),
      path,
      deleted,
    });
  }
  return out;
}

/** The memory mappings of a process, from /proc/PID/maps (`"self"` for this process). */
export function processMappings(pid: number | "self"): MemoryMapping[] {
  return parseProcMaps(fs.readFileSync(`/proc/${pid}/maps`, "utf8"));
}

/** The distinct files a process maps, in order of their first mapping address. */
export function mappedFiles(pid: number | "self"): string[] {
  const seen = new Set<string>();
  for (const m of processMappings(pid)) {
    if (m.path.startsWith("/") && !seen.has(m.path)) seen.add(m.path);
  }
  return [...seen];
}
