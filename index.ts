// The bpfts library.
//
//   import { compile, trace } from "bpfts";
//
// compile(source, options): parses, checks and compiles a script without root or a kernel; the
// typed diagnostics, and on success the BPF programs (bytecode and disassembly), the maps and the
// formats of what the programs send to user space.
//
// trace(source, options): compiles, loads and attaches a script (root, or CAP_BPF and CAP_PERFMON)
// and returns the running session: an async iterator of typed events, maps(), stop(). See
// runtime/trace.ts and the README's "Library API".
import { compile as compileScript, disassembleProgram } from "./compiler/compile.js";
import { formatDiagnostics, type Diagnostic } from "./compiler/index.js";
import type { CompiledScript, EventSpec, MapKind } from "./compiler/program.js";
import type { ProbeTarget } from "./compiler/probes/index.js";
import type { Location } from "./compiler/probes/resolve.js";
import { typeName } from "./compiler/types.js";
import { checkSource, validateOptions, type CompileOptions } from "./runtime/trace.js";

export { analyze, formatDiagnostics, Source } from "./compiler/index.js";
export type { AnalyzeOptions, AnalyzeResult, Diagnostic } from "./compiler/index.js";
export type { Severity } from "./compiler/diagnostics.js";
export type * as ast from "./compiler/ast.js";
export type { Type } from "./compiler/types.js";
export type { CompiledScript, EventSpec } from "./compiler/program.js";
export { trace, CompileError, OptionsError, SessionError } from "./runtime/trace.js";
export type {
  CompileOptions,
  Histogram,
  HistogramBucket,
  StatsValue,
  TraceEvent,
  TraceMap,
  TraceMapEntry,
  TraceOptions,
  TraceSession,
  TraceValue,
} from "./runtime/trace.js";

/** One compiled BPF program: one per attach point (wildcards expanded). */
export interface CompiledProgram {
  /** The attach point, as the `probe` builtin shows it ("BEGIN", "tracepoint:syscalls:sys_enter_read"). */
  probe: string;
  /** The program's name in the kernel (at most 15 characters). */
  name: string;
  /** The index of the probe (in the script's order) it was compiled from. */
  probeIndex: number;
  /** The BPF program type (the kernel's enum bpf_prog_type). */
  progType: number;
  target: ProbeTarget;
  /** Where it attaches: tracepoint, or file and offset for uprobes and USDT probes. */
  location: Location;
  /** The encoded instructions, 8 bytes each (16 for 64-bit immediates). Map loads hold the map's
   * index in `maps` until loaded: see `mapRelocations`. */
  bytecode: Uint8Array;
  /** Instruction slots (8-byte units) whose immediate is a map index, to replace by the map's fd. */
  mapRelocations: Array<{ slot: number; map: number }>;
  /** The number of instructions. */
  instructions: number;
  /** The instructions as text, bpftool style, with map names. */
  disassembly: string;
}

/** One map the programs use, in the order of `mapRelocations`' indexes. */
export interface CompiledMap {
  /** "@name" for the script's maps; ".events", ".state", ".counters", ".scratch" are internal. */
  name: string;
  kind: MapKind;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** The script's maps: the key types ([] without keys) and the value type, as text. */
  keyTypes?: string[];
  valueType?: string;
}

export type CompileOutput =
  | {
      ok: false;
      /** Errors and warnings, in source order. */
      diagnostics: Diagnostic[];
      /** The diagnostics as the CLI prints them (no colour); "" when there are none. */
      formatted: string;
    }
  | {
      ok: true;
      /** Warnings, in source order. */
      diagnostics: Diagnostic[];
      formatted: string;
      programs: CompiledProgram[];
      maps: CompiledMap[];
      /** What the programs send to user space (printf formats, print(), time(), exit()...), by event id. */
      formats: EventSpec[];
      /** The whole compiled form (what the runtime loads). */
      script: CompiledScript;
    };

/**
 * Compiles a script; needs no root and loads nothing. Never throws for errors in the script
 * (they are in `diagnostics`); throws OptionsError for bad options.
 */
export function compile(source: string, options: CompileOptions = {}): CompileOutput {
  checkSource(source, "compile()");
  const opts = validateOptions("compile", options);
  const result = compileScript(source, { file: opts.file ?? "stdin", params: (opts.params ?? []).map(String) });
  const formatted = formatDiagnostics(result.diagnostics, result.source);
  const script = result.script;
  if (!result.ok || script === undefined) return { ok: false, diagnostics: result.diagnostics, formatted };
  return {
    ok: true,
    diagnostics: result.diagnostics,
    formatted,
    programs: script.programs.map((p) => ({
      probe: p.probeName,
      name: p.name,
      probeIndex: p.probeIndex,
      progType: p.progType,
      target: p.target,
      location: p.location,
      bytecode: p.bytecode,
      mapRelocations: p.mapRelocations,
      instructions: p.insns.length,
      disassembly: disassembleProgram(script, p),
    })),
    maps: script.maps.map((m) => ({
      name: m.name,
      kind: m.kind,
      keySize: m.keySize,
      valueSize: m.valueSize,
      maxEntries: m.maxEntries,
      ...(m.user ? { keyTypes: m.user.keys.map((k) => typeName(k.type)), valueType: typeName(m.user.value) } : {}),
    })),
    formats: script.events,
    script,
  };
}
