// Resolving attach points against what the system describes: wildcards expanded, functions and
// USDT probes looked up in ELF files, tracepoints in tracefs. The result is one Location per
// program to load. Reads files only; needs no root except to list tracepoints.
import { readdirSync } from "node:fs";
import type { AttachPoint } from "../ast.js";
import { Diagnostics } from "../diagnostics.js";
import { ElfFile, mappedFiles, resolveTarget, TargetNotFoundError, type UsdtArg } from "../elf/index.js";
import type { ProbeTarget } from "./provider.js";
import { TRACEFS_ROOTS } from "./tracepoint-format.js";

/** Where one program attaches. */
export type Location =
  | { kind: "none" }
  | { kind: "tracepoint"; category: string; name: string }
  /** A uprobe (or uretprobe) at a file offset; USDT probes are uprobes with decoded arguments. */
  | {
      kind: "uprobe";
      path: string;
      offset: number;
      retprobe: boolean;
      /** File offset of a USDT semaphore (the uprobe's ref_ctr_offset). */
      refCtrOffset?: number;
      /** The function (or USDT provider:name) for the probe's name. */
      symbol: string;
      /** The probed instruction's address in the file (for rip-relative USDT arguments). */
      address: number;
      usdtArgs?: readonly UsdtArg[];
    };

export interface Resolved {
  /** The attach point with wildcards expanded, as `probe` prints it. */
  target: ProbeTarget;
  location: Location;
}

/**
 * The path a probe's name shows, as bpftrace shows it: as written when it is a path (holds a
 * '/'), resolved when it named a library or a command.
 */
function shownPath(written: string, resolved: string): string {
  return written.includes("/") ? written : resolved;
}

export function hasWildcard(s: string): boolean {
  return /[*?]/.test(s);
}

export function globRegExp(glob: string): RegExp {
  let re = "";
  for (const c of glob) re += c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${re}$`);
}

export interface ResolveOptions {
  /** The process given with -p: `usdt::provider:name` looks in its executable and libraries. */
  pid?: number;
  /** --unsafe: an address that no function symbol covers is probed anyway (with a warning). */
  unsafe?: boolean;
}

/** Expands and resolves one attach point; reports problems at its span. */
export function resolveAttachPoint(ap: AttachPoint, target: ProbeTarget, diags: Diagnostics, options: ResolveOptions = {}): Resolved[] {
  switch (target.type) {
    case "BEGIN":
    case "END":
    case "interval":
    case "profile":
    case "software":
      return [{ target, location: { kind: "none" } }];
    case "tracepoint":
      return resolveTracepoint(ap, target, diags);
    case "uprobe":
    case "uretprobe":
    case "usdt": {
      const resolve = (t: typeof target, d: Diagnostics) =>
        withElf(ap, t.path, d, options, (elf, path) => (t.type === "usdt" ? resolveUsdt(ap, t, elf, path, d) : resolveUprobe(ap, t, elf, path, d, options)));
      if (target.type === "usdt" && target.path === "") {
        if (options.pid === undefined) {
          diags.error(ap.fields[1]!.span, "usdt needs a binary or library path (or -p PID, to look in that process)");
          return [];
        }
        // Every file the process maps, seen through its root (so other mount namespaces work too).
        let files: string[];
        try {
          files = mappedFiles(options.pid).map((f) => `/proc/${options.pid}/root${f}`);
        } catch {
          diags.error(ap.fields[1]!.span, `cannot read the mappings of process ${options.pid}`);
          return [];
        }
        const out = files.flatMap((path) => resolve({ ...target, path }, new Diagnostics(diags.source)));
        if (out.length === 0) diags.error(ap.span, `no USDT probe matching '${ap.raw}' in process ${options.pid}`);
        return out;
      }
      if (ap.fields[1]!.quoted || !hasWildcard(target.path)) return resolve(target, diags);
      // A wildcard in the file name: every matching file, quietly skipping those without a match.
      const out = globFiles(target.path).flatMap((path) => resolve({ ...target, path }, new Diagnostics(diags.source)));
      if (out.length === 0) diags.error(ap.fields[1]!.span, `no file matching '${target.path}' has a probe matching '${ap.raw}'`);
      return out;
    }
  }
}

/** Files matching a path whose last component has wildcards, written like the pattern. */
function globFiles(pattern: string): string[] {
  const slash = pattern.lastIndexOf("/");
  const dir = slash < 0 ? "." : pattern.slice(0, slash) || "/";
  const re = globRegExp(pattern.slice(slash + 1));
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((d) => (d.isFile() || d.isSymbolicLink()) && re.test(d.name))
      .map((d) => d.name);
  } catch {
    return [];
  }
  return names.sort().map((n) => (slash < 0 ? n : `${pattern.slice(0, slash)}/${n}`));
}

function withElf(ap: AttachPoint, name: string, diags: Diagnostics, options: ResolveOptions, fn: (elf: ElfFile, path: string) => Resolved[]): Resolved[] {
  const field = ap.fields[1]!;
  let path: string;
  try {
    path = resolveTarget(name, options.pid !== undefined ? { pid: options.pid } : {});
  } catch (e) {
    if (e instanceof TargetNotFoundError) {
      diags.error(field.span, `cannot find '${name}': no such file, library or command`);
      return [];
    }
    throw e;
  }
  let elf: ElfFile;
  try {
    elf = ElfFile.open(path);
  } catch (e) {
    diags.error(field.span, `cannot read '${path}' as an ELF file: ${(e as Error).message}`);
    return [];
  }
  try {
    return fn(elf, path);
  } finally {
    elf.close();
  }
}

function resolveUprobe(
  ap: AttachPoint,
  t: Extract<ProbeTarget, { type: "uprobe" | "uretprobe" }>,
  elf: ElfFile,
  path: string,
  diags: Diagnostics,
  options: ResolveOptions,
): Resolved[] {
  const retprobe = t.type === "uretprobe";
  const fnField = ap.fields[2]!;
  if (t.address !== undefined) {
    // As bpftrace: the address must be in a function (so that it may be an instruction's start);
    // with --unsafe, any address is probed, with a warning.
    const hex = `0x${t.address.toString(16)}`;
    if (elf.symbolAt(Number(t.address)) === undefined) {
      if (!options.unsafe) {
        diags.error(fnField.span, `Could not resolve address: ${path}:${hex} (no function of the file contains it; --unsafe probes it anyway)`);
        return [];
      }
      diags.warning(fnField.span, `Could not determine instruction boundary for ${t.type}:${shownPath(t.path, path)}:${hex} (binary appears stripped). Misaligned probes can lead to tracee crashes!`);
    }
    const offset = elf.vaddrToOffset(Number(t.address));
    if (offset === undefined) {
      diags.error(fnField.span, `address 0x${t.address.toString(16)} is not in a loaded part of '${path}'`);
      return [];
    }
    const target: ProbeTarget = { ...t, path: shownPath(t.path, path) };
    return [{ target, location: { kind: "uprobe", path, offset, retprobe, symbol: `0x${t.address.toString(16)}`, address: Number(t.address) } }];
  }
  const func = t.func!;
  const candidates = hasWildcard(func) && !fnField.quoted ? elf.symbols().filter((s) => globRegExp(func).test(s.name) && s.size > 0) : [elf.findSymbol(func)].filter((s) => s !== undefined);
  const seen = new Set<string>();
  const out: Resolved[] = [];
  for (const sym of candidates) {
    if (seen.has(sym.name)) continue;
    seen.add(sym.name);
    const extra = Number(t.offset ?? 0n);
    if (extra > 0 && sym.size > 0 && extra >= sym.size) {
      diags.error(fnField.span, `Offset outside the function bounds ('${sym.name}' size is ${sym.size})`);
      continue;
    }
    const offset = elf.vaddrToOffset(sym.address + extra);
    if (offset === undefined) continue;
    const target: ProbeTarget = { ...t, path: shownPath(t.path, path), func: sym.name };
    out.push({ target, location: { kind: "uprobe", path, offset, retprobe, symbol: sym.name, address: sym.address + extra } });
  }
  if (out.length === 0 && candidates.length === 0) {
    diags.error(fnField.span, hasWildcard(func) ? `no function of '${path}' matches '${func}'` : `function '${func}' not found in '${path}'`);
  }
  return out;
}

function resolveUsdt(ap: AttachPoint, t: Extract<ProbeTarget, { type: "usdt" }>, elf: ElfFile, path: string, diags: Diagnostics): Resolved[] {
  const nameRe = globRegExp(t.name);
  const providerRe = t.provider === undefined ? undefined : globRegExp(t.provider);
  const probes = elf.usdtProbes().filter((p) => nameRe.test(p.name) && (providerRe === undefined || providerRe.test(p.provider)));
  if (probes.length === 0) {
    const what = t.provider !== undefined ? `${t.provider}:${t.name}` : t.name;
    diags.error(ap.fields[ap.fields.length - 1]!.span, `no USDT probe '${what}' in '${path}'`);
    return [];
  }
  const out: Resolved[] = [];
  for (const p of probes) {
    if (p.fileOffset === undefined) continue;
    if (p.argumentsError !== undefined) {
      diags.error(ap.span, `USDT probe ${p.provider}:${p.name} in '${path}': ${p.argumentsError}`);
      continue;
    }
    const target: ProbeTarget = { type: "usdt", path: shownPath(t.path, path), provider: p.provider, name: p.name };
    out.push({
      target,
      location: {
        kind: "uprobe",
        path,
        offset: p.fileOffset,
        retprobe: false,
        ...(p.semaphoreOffset !== undefined ? { refCtrOffset: p.semaphoreOffset } : {}),
        symbol: `${p.provider}:${p.name}`,
        address: p.pc,
        usdtArgs: p.arguments,
      },
    });
  }
  return out;
}

function resolveTracepoint(ap: AttachPoint, t: Extract<ProbeTarget, { type: "tracepoint" }>, diags: Diagnostics): Resolved[] {
  if (!hasWildcard(t.category) && !hasWildcard(t.name)) return [{ target: t, location: { kind: "tracepoint", category: t.category, name: t.name } }];
  for (const root of TRACEFS_ROOTS) {
    let categories: string[];
    try {
      categories = readdirSync(`${root}/events`);
    } catch {
      continue;
    }
    const out: Resolved[] = [];
    const catRe = globRegExp(t.category);
    const nameRe = globRegExp(t.name);
    for (const c of categories.filter((c) => catRe.test(c)).sort()) {
      let names: string[];
      try {
        names = readdirSync(`${root}/events/${c}`, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => d.name);
      } catch {
        continue;
      }
      for (const n of names.filter((n) => nameRe.test(n)).sort()) {
        out.push({ target: { type: "tracepoint", category: c, name: n }, location: { kind: "tracepoint", category: c, name: n } });
      }
    }
    if (out.length === 0) diags.error(ap.span, `no tracepoint matches '${t.category}:${t.name}'`);
    return out;
  }
  diags.error(ap.span, "tracepoint wildcards need tracefs (run as root)");
  return [];
}
