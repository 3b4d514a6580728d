// The compiled form of a script: what compile() returns and the runtime loads. Everything here
// is plain data (bytecode, layouts, formats), so it can be printed as JSON (--emit=json).
import type { Insn } from "./asm/index.js";
import type { Segment } from "./printf.js";
import type { ProbeTarget } from "./probes/index.js";
import type { Location } from "./probes/resolve.js";
import type { Type } from "./types.js";

/** BPF program types used (values of the kernel's enum bpf_prog_type). */
export const PROG_TYPE = { kprobe: 2, tracepoint: 5, perf_event: 7, raw_tracepoint: 17 } as const;

export type MapKind = "hash" | "percpu_hash" | "array" | "percpu_array" | "ringbuf" | "stack_trace";

/** The kernel's map types (enum bpf_map_type). */
export const MAP_TYPE: Record<MapKind, number> = { hash: 1, array: 2, percpu_hash: 5, percpu_array: 6, stack_trace: 7, ringbuf: 27 };

/** How a map's value bytes are laid out (per CPU for per-CPU maps). */
export type ValueLayout =
  /** An integer (8 bytes, signed per `signed`), or any other plain value of `type`. */
  | { kind: "plain"; type: Type }
  /** count/sum: one i64 per CPU, summed. */
  | { kind: "sum"; signed: boolean }
  /** min/max: {value: i64, set: u64} per CPU. */
  | { kind: "minmax"; max: boolean; signed: boolean }
  /** avg/stats: {count: u64, total: i64} per CPU. */
  | { kind: "avg"; signed: boolean }
  /** hist/lhist buckets: one u64 count per bucket; the bucket index is the last 8 bytes of the key. */
  | { kind: "buckets"; signed: boolean };

export interface KeyField {
  type: Type;
  offset: number;
}

export interface MapSpec {
  /** `@name` for user maps (`@` for the anonymous one); `.name` for internal maps. */
  name: string;
  kind: MapKind;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** For user maps: the script's view of the map. */
  user?: {
    keys: KeyField[];
    /** The value type as the script sees it (an `agg` type for aggregations). */
    value: Type;
    layout: ValueLayout;
    /** Keyless hist/lhist stored as an array indexed by bucket. */
    bucketArray?: boolean;
  };
  /**
   * For stack-trace maps (`.stack_N`, kind stack_trace): the frame limit N, and the map's number
   * among the script's stack maps, which stack values carry (see compiler/codegen/maps.ts).
   */
  stack?: { limit: number; ordinal: number };
}

/** A field of a ring-buffer record: bytes [offset, offset + size of type) after the 8-byte id. */
export interface RecordField {
  type: Type;
  offset: number;
}

/** What user space does with a ring-buffer record. Every record starts with a u64 event id. */
export type EventSpec =
  | { kind: "printf"; segments: Segment[]; args: RecordField[]; size: number }
  | { kind: "print_value"; value: RecordField; size: number }
  | { kind: "print_map"; map: string; top: number; div: number }
  | { kind: "clear_map"; map: string }
  | { kind: "zero_map"; map: string }
  | { kind: "time"; format: string }
  | { kind: "exit" }
  /** cat(fmt, ...) and system(fmt, ...): the format's arguments, laid out as printf's. */
  | { kind: "cat" | "system"; segments: Segment[]; args: RecordField[]; size: number }
  /** join(argv, delim): `maxArgs` NUL-terminated strings of `argSize` bytes; an empty one ends the list. */
  | { kind: "join"; delim: string; maxArgs: number; argSize: number }
  /**
   * -k/-kk: a helper call failed (the record holds its i64 return value). Where it was called:
   * the script's name, 1-based line and column, the span's length and the source line's text.
   */
  | { kind: "helper_error"; helper: string; file: string; line: number; column: number; length: number; source: string };

export interface ProgramSpec {
  /** A name for the kernel (at most 15 characters). */
  name: string;
  /** The probe (in program order) this program was compiled from. */
  probeIndex: number;
  /** The attach point, wildcards expanded. */
  target: ProbeTarget;
  /** Where it attaches: tracepoint name, or file and offset for uprobes and USDT probes. */
  location: Location;
  /** The canonical attach point, as the `probe` builtin shows it. */
  probeName: string;
  progType: number;
  insns: Insn[];
  /** The encoded instructions. Map loads hold the map's index in `maps`; see mapRelocations. */
  bytecode: Uint8Array;
  /** Instruction slots (8-byte units) whose imm is a map index to replace by the map's fd. */
  mapRelocations: Array<{ slot: number; map: number }>;
}

/** Slots of the `.state` array map, written by user space before any probe runs. */
export const STATE = { startNs: 0, cpid: 8, size: 16 } as const;

/** Slots of the per-CPU `.counters` array map, summed and reported at exit. */
export const COUNTERS = { lostEvents: 0, mapUpdateFailures: 8, size: 16 } as const;

export interface CompiledScript {
  programs: ProgramSpec[];
  maps: MapSpec[];
  /** Indexed by event id. */
  events: EventSpec[];
  /** Indexed by probe id (the value of the `probe` builtin). */
  probeNames: string[];
}
