// `bpfts -l [PATTERN]` and `bpfts -l -e PROGRAM`: the probes a pattern (or a program's attach
// points) expands to, printed as bpftrace 0.17 prints them, one per line, for the probe types bpfts
// has:
//
//   (no pattern), '*'                 every tracepoint ("*:*"); with -p: the uprobes of the
//                                     process's executable and the USDT probes of every file it maps
//   tracepoint:CAT:NAME               tracepoint:CAT:NAME, globs in either part ('t' works too)
//   tracepoint:GLOB                   GLOB matched against "CAT:NAME" ('tracepoint:*switch')
//   GLOB (no colon)                   GLOB matched against every kernel probe type's names
//                                     (userspace ones with -p): '*sched_switch*'
//   T*:...                            a probe type glob expands over kernel probe types (tracepoint),
//                                     or userspace ones (uprobe, usdt) with -p or when the second
//                                     field is a path
//   uprobe:PATH:FUNC / uretprobe:...  the file's functions (.dynsym, .symtab and its separate debug
//                                     file, as bcc lists them), sorted bytewise; C++ names also
//                                     match demangled (without the argument list unless the
//                                     pattern has a '('); printed as the file spells them
//   usdt:PATH:[PROVIDER:]NAME         the file's USDT probes, as usdt:PATH:PROVIDER:NAME
//   BEGIN, END, interval:s:1, ...     themselves
//
// PATH is printed as written when it contains a '/', else as resolved ("libc" ->
// /lib/x86_64-linux-gnu/libc.so.6). With -p PID, usdt targets are the files the process maps,
// printed through /proc/PID/root, as bpftrace does. A pattern that matches nothing prints nothing
// (exit 0); a bad probe type or a missing or non-ELF file is an error (exit 1).
//
// -v adds each tracepoint's fields ("    int dfd", from its format file, as bpftrace) and each
// USDT probe's arguments ("    arg0: -4@%esi", the note's argument specs; bpftrace 0.17 shows none).
//
// Where bpftrace 0.17 prints something that is not an attach point ("special::" for BEGIN,
// "interval:" for interval:s:1, "uprobe:PATH:" for an address), bpfts prints the attach point.
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from "node:fs";
import * as nodePath from "node:path";
import { ElfFile, processMappings, resolveTarget, TargetNotFoundError, type MemoryMapping } from "../compiler/elf/index.js";
import { PROVIDERS, UNSUPPORTED_PROBES, type ProbeTarget, type ProbeType } from "../compiler/probes/index.js";
import { SOFTWARE_EVENTS, softwareEvent } from "../compiler/probes/software.js";
import type { CliOptions } from "./options.js";
import { demangle, isMangled, objectSymbols, sortBytewise } from "./symbols.js";
import { ensureTracefs, tracefsRoot } from "./tracefs.js";

/** A problem with the pattern or its targets: printed as `ERROR: MESSAGE`, exit 1. */
export class ListError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ListError";
  }
}

export interface ListOptions {
  /** -p PID: userspace probe types, searched in the files the process maps. */
  pid?: number;
  /** -v: tracepoint fields and USDT arguments under each probe. */
  verbose?: boolean;
  /** Relative paths are resolved from here (default process.cwd()). */
  cwd?: string;
  /** The tracefs root (default: the mounted one, mounting it when root). */
  tracefs?: string;
}

/** One attach point to expand. Fields keep whether they were quoted (quoted: no wildcards). */
interface Field {
  text: string;
  quoted: boolean;
}

type Query =
  | { type: "fixed"; text: string }
  | { type: "tracepoint"; category?: Field; name?: Field; whole?: Field }
  | { type: "uprobe" | "uretprobe"; target: Field | undefined; func: Field }
  | { type: "usdt"; target: Field | undefined; provider: Field | undefined; name: Field }
  | { type: "software"; event: Field };

/** One line of output, and the lines -v prints under it. */
interface Entry {
  line: string;
  details: string[];
}

// ---- globs --------------------------------------------------------------------------------------

function hasWildcard(f: Field | string): boolean {
  const text = typeof f === "string" ? f : f.quoted ? "" : f.text;
  return /[*?]/.test(text);
}

/** A field as an anchored RegExp: `*` any run, `?` one character (neither when quoted). */
function fieldRegExp(f: Field): RegExp {
  let re = "";
  for (const c of f.text) {
    if (!f.quoted && c === "*") re += ".*";
    else if (!f.quoted && c === "?") re += ".";
    else re += c.replace(/[\\^$.|+()[\]{}*?]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s");
}

const ANY: Field = { text: "*", quoted: false };

// ---- parsing patterns ---------------------------------------------------------------------------

/** Splits a pattern at the colons outside double quotes; quotes are removed. */
export function splitPattern(pattern: string): Field[] {
  const out: Field[] = [];
  let text = "";
  let quoted = false;
  let inQuotes = false;
  for (const c of pattern) {
    if (c === '"') {
      inQuotes = !inQuotes;
      quoted = true;
    } else if (c === ":" && !inQuotes) {
      out.push({ text, quoted });
      text = "";
      quoted = false;
    } else {
      text += c;
    }
  }
  if (inQuotes) throw new ListError(`unterminated string in '${pattern}'`);
  out.push({ text, quoted });
  return out;
}

const TYPE_BY_NAME = new Map<string, ProbeType>();
for (const p of PROVIDERS) for (const n of p.names) TYPE_BY_NAME.set(n, p.type);

/** The probe types a wildcard probe type expands over (bpftrace's kernel and userspace lists). */
const KERNEL_TYPES: readonly ProbeType[] = ["software", "tracepoint"];
const USERSPACE_TYPES: readonly ProbeType[] = ["uprobe", "usdt"];

const UNIT_RE = /^(s|ms|us|hz)$/;

/**
 * The attach point(s) a pattern names. A wildcard probe type gives one query per matching type,
 * and forms that do not fit a type are then skipped rather than reported, as bpftrace does.
 */
function parsePattern(pattern: string, opts: ListOptions): Query[] {
  const fields = splitPattern(pattern);
  const head = fields[0]!;
  // Characters no probe type (or name glob) can hold: bpftrace's lexer stops at them.
  const bad = head.quoted ? null : /[\s\\{};]/.exec(head.text);
  if (bad !== null) throw new ListError(`invalid character '${bad[0]}' in search expression '${pattern}'`);
  if (hasWildcard(head)) {
    const userspace = opts.pid !== undefined || (fields.length >= 2 && fields[1]!.text.includes("/"));
    const typeRe = fieldRegExp(fields.length === 1 ? ANY : head);
    const types = (userspace ? USERSPACE_TYPES : KERNEL_TYPES).filter((t) => typeRe.test(t));
    if (types.length === 0) throw new ListError(`no probe type matches '${head.text}'`);
    const rest = fields.length === 1 ? fields : fields.slice(1);
    const out: Query[] = [];
    for (const t of types) {
      const q = queryFor(t, rest, pattern, opts, true);
      if (q !== undefined) out.push(q);
    }
    return out;
  }
  const type = head.quoted ? undefined : TYPE_BY_NAME.get(head.text);
  if (type === undefined) {
    const why = UNSUPPORTED_PROBES[head.text];
    throw new ListError(why ?? `invalid probe type '${head.text}' in '${pattern}'`);
  }
  return [queryFor(type, fields.slice(1), pattern, opts, false)!];
}

/** The query for one probe type and the fields after it; undefined (expanded) or an error when they do not fit. */
function queryFor(type: ProbeType, rest: Field[], pattern: string, opts: ListOptions, expanded: boolean): Query | undefined {
  const bad = (form: string): undefined => {
    if (expanded) return undefined;
    throw new ListError(`invalid probe '${pattern}': expected ${form}`);
  };
  switch (type) {
    case "BEGIN":
    case "END":
      return rest.length === 0 ? { type: "fixed", text: type } : bad(type);
    case "interval":
    case "profile": {
      const [unit, n] = rest;
      if (rest.length !== 2 || !UNIT_RE.test(unit!.text) || !/^[0-9]+$/.test(n!.text) || Number(n!.text) <= 0) {
        return bad(`${type}:UNIT:N with UNIT one of s, ms, us, hz`);
      }
      return { type: "fixed", text: `${type}:${unit!.text}:${Number(n!.text)}` };
    }
    case "tracepoint":
      if (rest.length === 2) return { type, category: rest[0]!, name: rest[1]! };
      if (rest.length === 1 && hasWildcard(rest[0]!)) return { type, whole: rest[0]! };
      return bad("tracepoint:CATEGORY:NAME");
    case "uprobe":
    case "uretprobe":
      // uprobe:FUNC with -p: the process's executable.
      if (rest.length === 1 && opts.pid !== undefined) return { type, target: undefined, func: rest[0]! };
      if (rest.length < 2 || rest[0]!.text === "") return bad(`${type}:PATH:FUNCTION`);
      // C++ names hold colons: everything after the path is the function.
      return { type, target: rest[0]!, func: joinFields(rest.slice(1)) };
    case "usdt":
      if (rest.length === 1 && opts.pid !== undefined) return { type, target: undefined, provider: undefined, name: rest[0]! };
      if (rest.length === 2 && rest[0]!.text !== "") return { type, target: rest[0]!, provider: undefined, name: rest[1]! };
      if (rest.length === 3 && rest[0]!.text !== "") return { type, target: rest[0]!, provider: rest[1]!.text === "" ? undefined : rest[1]!, name: rest[2]! };
      return bad("usdt:PATH:[PROVIDER:]NAME");
    case "software":
      if (rest.length !== 1 && rest.length !== 2) return bad("software:EVENT[:COUNT]");
      if (!hasWildcard(rest[0]!) && softwareEvent(rest[0]!.text) === undefined) {
        if (expanded) return undefined;
        throw new ListError(`${rest[0]!.text} is not a software probe`);
      }
      return { type, event: rest[0]! };
  }
}

function joinFields(fields: Field[]): Field {
  return { text: fields.map((f) => f.text).join(":"), quoted: fields.some((f) => f.quoted) };
}

/** The query for an attach point the compiler parsed (for -l -e PROGRAM). */
function queryForTarget(t: ProbeTarget, quotedFunc: boolean): Query {
  const f = (text: string, quoted = false): Field => ({ text, quoted });
  switch (t.type) {
    case "BEGIN":
    case "END":
      return { type: "fixed", text: t.type };
    case "interval":
    case "profile":
      return { type: "fixed", text: `${t.type}:${t.unit}:${t.value}` };
    case "tracepoint":
      return { type: "tracepoint", category: f(t.category), name: f(t.name) };
    case "uprobe":
    case "uretprobe":
      if (t.address !== undefined) return { type: t.type, target: f(t.path), func: f(`0x${t.address.toString(16)}`) };
      return { type: t.type, target: f(t.path), func: f(t.func ?? "", quotedFunc) };
    case "usdt":
      return { type: "usdt", target: f(t.path), provider: t.provider === undefined ? undefined : f(t.provider), name: f(t.name) };
    case "software":
      return { type: "software", event: f(t.event) };
  }
}

// ---- tracepoints --------------------------------------------------------------------------------

function tracefs(opts: ListOptions): string {
  if (opts.tracefs !== undefined) return opts.tracefs;
  const found = tracefsRoot();
  if (found !== undefined) return found;
  try {
    return ensureTracefs();
  } catch (e) {
    throw new ListError(`cannot list tracepoints: ${(e as Error).message}`);
  }
}

/** Every tracepoint as "CATEGORY:NAME": tracefs's available_events, else its events/ directories. */
function allTracepoints(root: string): string[] {
  try {
    const text = readFileSync(`${root}/available_events`, "utf8");
    return text.split("\n").filter((l) => l.includes(":"));
  } catch {
    const out: string[] = [];
    let cats: string[] = [];
    try {
      cats = readdirSync(`${root}/events`);
    } catch {
      throw new ListError(`cannot list tracepoints: cannot read ${root}/events`);
    }
    for (const c of cats) {
      let names: string[] = [];
      try {
        names = readdirSync(`${root}/events/${c}`);
      } catch {
        continue;
      }
      for (const n of names) if (existsSync(`${root}/events/${c}/${n}/id`)) out.push(`${c}:${n}`);
    }
    return out;
  }
}

/**
 * A tracepoint's fields as bpftrace -lv prints them: each "\tfield:TYPE NAME;" line after the
 * common fields (the first blank line of the format file), as "TYPE NAME".
 */
export function tracepointFieldLines(formatText: string): string[] {
  const lines = formatText.split("\n");
  let i = 0;
  while (i < lines.length && lines[i]!.length > 0) i++;
  const out: string[] = [];
  for (const line of lines.slice(i)) {
    if (!line.startsWith("\tfield:")) continue;
    const from = line.indexOf(":") + 1;
    const semi = line.indexOf(";");
    out.push(semi < 0 ? line.slice(from) : line.slice(from, semi));
  }
  return out;
}

function listTracepoints(q: Extract<Query, { type: "tracepoint" }>, opts: ListOptions): Entry[] {
  const root = tracefs(opts);
  let match: (s: string) => boolean;
  if (q.whole !== undefined) {
    const re = fieldRegExp(q.whole);
    match = (s) => re.test(s);
  } else {
    const cre = fieldRegExp(q.category!);
    const nre = fieldRegExp(q.name!);
    match = (s) => {
      const i = s.indexOf(":");
      return cre.test(s.slice(0, i)) && nre.test(s.slice(i + 1));
    };
  }
  const found = sortBytewise([...new Set(allTracepoints(root).filter(match))]);
  return found.map((tp) => {
    let details: string[] = [];
    if (opts.verbose) {
      const [c, n] = [tp.slice(0, tp.indexOf(":")), tp.slice(tp.indexOf(":") + 1)];
      try {
        details = tracepointFieldLines(readFileSync(`${root}/events/${c}/${n}/format`, "utf8"));
      } catch {
        details = [];
      }
    }
    return { line: `tracepoint:${tp}`, details };
  });
}

// ---- software events ----------------------------------------------------------------------------

/** The software events whose name or alias matches, as `software:NAME:` (bpftrace's form). */
function listSoftware(q: Extract<Query, { type: "software" }>): Entry[] {
  const re = fieldRegExp(q.event);
  return SOFTWARE_EVENTS.filter((e) => re.test(e.name) || (e.alias !== "" && re.test(e.alias))).map((e) => ({ line: `software:${e.name}:`, details: [] }));
}

// ---- files --------------------------------------------------------------------------------------

/** A file to search, and how its path is printed. */
interface TargetFile {
  /** Where to read it. */
  path: string;
  /** What to print. */
  display: string;
}

/** Joins a path and a name, keeping the path as the user spelled it (`./dir` stays `./dir/x`). */
function joinSpelled(base: string, name: string): string {
  if (base === "") return name;
  return base.endsWith("/") ? base + name : `${base}/${name}`;
}

/** Files matching a path glob (`/usr/lib/*\/libc.so.*`), sorted, spelled like the pattern. */
function globFiles(pattern: string, cwd: string): string[] {
  const absolute = pattern.startsWith("/");
  const parts = pattern.split("/").filter((p, i) => p !== "" || i === 0);
  let bases: string[] = [absolute ? "/" : ""];
  for (const part of parts) {
    if (part === "") continue;
    const next: string[] = [];
    for (const b of bases) {
      if (!hasWildcard(part)) {
        next.push(joinSpelled(b, part));
        continue;
      }
      const re = fieldRegExp({ text: part, quoted: false });
      let entries: string[] = [];
      try {
        entries = readdirSync(nodePath.resolve(cwd, b === "" ? "." : b));
      } catch {
        continue;
      }
      for (const e of entries.sort()) if (re.test(e) && (part.startsWith(".") || !e.startsWith("."))) next.push(joinSpelled(b, e));
    }
    bases = next;
  }
  return bases.filter((p) => {
    try {
      return statSync(nodePath.resolve(cwd, p)).isFile();
    } catch {
      return false;
    }
  });
}

/** The ELF files a uprobe or usdt target names; errors for a missing or non-ELF file. */
function targetFiles(target: Field, opts: ListOptions): TargetFile[] {
  const cwd = opts.cwd ?? process.cwd();
  if (!target.quoted && target.text === "*") {
    if (opts.pid === undefined) throw new ListError("a target of '*' needs -p PID (it means the files the process maps)");
    return mappedFiles(opts.pid);
  }
  if (hasWildcard(target)) {
    return globFiles(target.text, cwd)
      .filter((p) => isElf(nodePath.resolve(cwd, p)))
      .map((p) => ({ path: nodePath.resolve(cwd, p), display: p }));
  }
  let path: string;
  try {
    path = resolveTarget(target.text, { cwd, ...(opts.pid !== undefined ? { pid: opts.pid } : {}) });
  } catch (e) {
    if (e instanceof TargetNotFoundError) throw new ListError(`cannot find '${target.text}': no such file, library or command`);
    throw e;
  }
  try {
    ElfFile.with(path, () => undefined);
  } catch (e) {
    throw new ListError(`cannot read '${path}' as an ELF file: ${describe(e, path)}`);
  }
  return [{ path, display: target.text.includes("/") ? target.text : path }];
}

function describe(e: unknown, path: string): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.startsWith(`${path}: `) ? m.slice(path.length + 2) : m;
}

function isElf(path: string): boolean {
  try {
    ElfFile.with(path, () => undefined);
    return true;
  } catch {
    return false;
  }
}

function mappingsOf(pid: number): MemoryMapping[] {
  try {
    return processMappings(pid);
  } catch (e) {
    throw new ListError(`cannot read the mappings of process ${pid}: ${(e as Error).message}`);
  }
}

/** The ELF files a process maps executable, read through (and printed with) /proc/PID/root. */
function mappedFiles(pid: number): TargetFile[] {
  const seen = new Set<string>();
  const out: TargetFile[] = [];
  for (const m of mappingsOf(pid)) {
    if (!m.path.startsWith("/") || m.deleted || !m.perms.includes("x") || seen.has(m.path)) continue;
    seen.add(m.path);
    const p = `/proc/${pid}/root${m.path}`;
    if (isElf(p)) out.push({ path: p, display: p });
  }
  return out;
}

/** The process's executable, through /proc/PID/root (bpftrace's uprobe:FUNC with -p). */
function processExecutable(pid: number): TargetFile[] {
  let exe: string;
  try {
    exe = readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, "");
  } catch (e) {
    throw new ListError(`cannot find the executable of process ${pid}: ${(e as Error).message}`);
  }
  const p = `/proc/${pid}/root${exe}`;
  return isElf(p) ? [{ path: p, display: p }] : [];
}

function realpathOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/**
 * usdt targets with -p: the files the process maps, printed through /proc/PID/root; a given
 * target keeps only the mapped files that are that file (or match its glob).
 */
function usdtFilesForPid(target: Field | undefined, pid: number, opts: ListOptions): TargetFile[] {
  const files = mappedFiles(pid);
  if (target === undefined || (!target.quoted && target.text === "*")) return files;
  const prefix = `/proc/${pid}/root`;
  if (hasWildcard(target)) {
    const re = fieldRegExp({ text: nodePath.resolve(opts.cwd ?? process.cwd(), target.text), quoted: false });
    return files.filter((f) => re.test(f.path.slice(prefix.length)));
  }
  const want = targetFiles(target, opts).map((f) => realpathOr(f.path));
  return files.filter((f) => want.includes(realpathOr(f.path)));
}

// ---- uprobes ------------------------------------------------------------------------------------

/** Whether a function name matches: as written, or (C++) demangled without its argument list. */
function functionMatcher(func: Field): (name: string) => boolean {
  const re = fieldRegExp(func);
  const withArgs = func.text.includes("(");
  return (name) => {
    if (re.test(name)) return true;
    if (!isMangled(name)) return false;
    let d = demangle(name);
    if (d === name) return false;
    if (!withArgs) {
      const paren = d.lastIndexOf("(");
      if (paren >= 0) d = d.slice(0, paren);
    }
    return re.test(d);
  };
}

function listUprobes(q: Extract<Query, { type: "uprobe" | "uretprobe" }>, opts: ListOptions): Entry[] {
  const files = q.target === undefined ? processExecutable(opts.pid!) : targetFiles(q.target, opts);
  const func = q.func;
  // An address, or FUNC+OFFSET: the probe as written (its function is not looked up).
  const isAddress = !func.quoted && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(func.text);
  const offset = func.quoted ? null : /\+(0x[0-9a-fA-F]+|[0-9]+)$/.exec(func.text);
  if (isAddress) return files.map((f) => ({ line: `${q.type}:${f.display}:${func.text}`, details: [] }));
  const name: Field = offset ? { text: func.text.slice(0, offset.index), quoted: false } : func;
  const match = functionMatcher(name);
  const lines: string[] = [];
  for (const f of files) {
    const syms = objectSymbols(f.path);
    if (syms === undefined) continue;
    for (const s of syms.functionNames()) {
      // bpftrace skips gcc's ".part.N" pieces of functions: they are not whole functions.
      if (s.includes(".part.")) continue;
      if (match(s)) lines.push(`${q.type}:${f.display}:${s}`);
    }
  }
  return sortBytewise([...new Set(lines)]).map((line) => ({ line, details: [] }));
}

// ---- USDT ---------------------------------------------------------------------------------------

function listUsdt(q: Extract<Query, { type: "usdt" }>, opts: ListOptions): Entry[] {
  const files = opts.pid !== undefined ? usdtFilesForPid(q.target, opts.pid, opts) : targetFiles(q.target!, opts);
  const nameRe = fieldRegExp(q.name);
  const providerRe = q.provider === undefined ? undefined : fieldRegExp(q.provider);
  const found = new Map<string, string[]>();
  for (const f of files) {
    let probes;
    try {
      probes = ElfFile.with(f.path, (e) => e.usdtProbes());
    } catch {
      continue;
    }
    for (const p of probes) {
      if (!nameRe.test(p.name) || (providerRe !== undefined && !providerRe.test(p.provider))) continue;
      const line = `usdt:${f.display}:${p.provider}:${p.name}`;
      if (found.has(line)) continue;
      const specs = p.args.trim() === "" ? [] : p.args.trim().split(/\s+/);
      found.set(line, specs.map((s, i) => `arg${i}: ${s}`));
    }
  }
  return sortBytewise([...found.keys()]).map((line) => ({ line, details: opts.verbose ? found.get(line)! : [] }));
}

// ---- listing ------------------------------------------------------------------------------------

function expand(q: Query, opts: ListOptions): Entry[] {
  switch (q.type) {
    case "fixed":
      return [{ line: q.text, details: [] }];
    case "tracepoint":
      return listTracepoints(q, opts);
    case "uprobe":
    case "uretprobe":
      return listUprobes(q, opts);
    case "usdt":
      return listUsdt(q, opts);
    case "software":
      return listSoftware(q);
  }
}

function render(entries: readonly Entry[], verbose: boolean): string {
  let out = "";
  for (const e of entries) {
    out += e.line + "\n";
    if (verbose) for (const d of e.details) out += `    ${d}\n`;
  }
  return out;
}

/**
 * The output of `bpfts -l [PATTERN]`: one probe per line (and, with -v, its fields or
 * arguments, indented by 4). No pattern, or "*", lists "*:*". Throws ListError.
 */
export function listProbes(pattern: string | undefined, opts: ListOptions = {}): string {
  const p = pattern === undefined || pattern === "" || pattern === "*" ? "*:*" : pattern;
  const entries: Entry[] = [];
  for (const q of parsePattern(p, opts)) entries.push(...expand(q, opts));
  return render(entries, opts.verbose ?? false);
}

/** What `bpfts -l -e PROGRAM` needs of a parsed program: its attach points, in order. */
export interface ProgramAttachPoint {
  target: ProbeTarget;
  /** Whether the function field was quoted (then it has no wildcards). */
  quotedFunc?: boolean;
}

/** The output of `bpfts -l -e PROGRAM`: each attach point expanded, in program order. Throws ListError. */
export function listAttachPoints(points: readonly ProgramAttachPoint[], opts: ListOptions = {}): string {
  const entries: Entry[] = [];
  for (const ap of points) entries.push(...expand(queryForTarget(ap.target, ap.quotedFunc ?? false), opts));
  return render(entries, opts.verbose ?? false);
}

export interface ListIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** `bpfts -l`: lists, prints, and returns the exit status (errors as `ERROR: ...`, 1). */
export async function runList(opts: CliOptions, io: ListIo): Promise<number> {
  const listOpts: ListOptions = { verbose: opts.verbose, ...(opts.pid !== undefined ? { pid: opts.pid } : {}) };
  try {
    if (opts.program === undefined) {
      io.stdout(listProbes(opts.listPattern, listOpts));
      return 0;
    }
    if (opts.listPattern !== undefined) throw new ListError("-l takes a search pattern or -e PROGRAM, not both");
    const points = await programAttachPoints(opts, io);
    if (points === undefined) return 1;
    io.stdout(listAttachPoints(points, listOpts));
    return 0;
  } catch (e) {
    if (e instanceof ListError) {
      io.stderr(`ERROR: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

/** Parses and checks -e PROGRAM (or a file); undefined after printing its errors. */
async function programAttachPoints(opts: CliOptions, io: ListIo): Promise<ProgramAttachPoint[] | undefined> {
  const program = opts.program!;
  let text: string;
  if (program.kind === "inline") text = program.text;
  else if (program.kind === "file") {
    try {
      text = readFileSync(program.path, "utf8");
    } catch (e) {
      throw new ListError(`failed to open file '${program.path}': ${(e as Error).message}`);
    }
  } else {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString("utf8");
  }
  // Tracepoint layouts (args->...) come from tracefs: mount it when we can.
  try {
    ensureTracefs();
  } catch {
    // the checker reports what it cannot resolve
  }
  const { analyze, formatDiagnostics } = await import("../compiler/index.js");
  const { useColor } = await import("./options.js");
  const result = analyze(text, { file: program.kind === "file" ? program.path : "stdin", params: opts.params, unsafe: opts.unsafe });
  const diagnostics = opts.noWarnings ? result.diagnostics.filter((d) => d.severity !== "warning") : result.diagnostics;
  if (diagnostics.length > 0) io.stderr(formatDiagnostics(diagnostics, result.source, { color: useColor(opts.color, process.stderr, process.env) }));
  if (!result.ok) return undefined;
  const out: ProgramAttachPoint[] = [];
  for (const probe of result.program.probes) {
    for (const ap of probe.attachPoints) {
      if (ap.target === undefined) continue;
      const funcField = ap.target.type === "uprobe" || ap.target.type === "uretprobe" ? ap.fields[2] : undefined;
      out.push({ target: ap.target, quotedFunc: funcField?.quoted ?? false });
    }
  }
  return out;
}
