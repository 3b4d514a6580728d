// The types of the language. See spec/types.md for the rules.

export type IntSize = 1 | 2 | 4 | 8;

export type AggregationKind = "count" | "sum" | "avg" | "min" | "max" | "stats" | "hist" | "lhist";

/** How a stack prints: bpftrace's (one symbol a line, indented) or perf's ("\tADDR symbol"). */
export type StackMode = "bpftrace" | "perf";

export type Type =
  /** An integer; with `ptr`, a pointer (always 8 bytes, unsigned) to what `ptr` says. */
  | { kind: "int"; size: IntSize; signed: boolean; ptr?: Pointee }
  | { kind: "string"; size: number }
  | { kind: "tuple"; elems: Type[] }
  /** A user-space address printed as a symbol (usym(), func): {addr: u64, pid: u64}. */
  | { kind: "usym" }
  /**
   * A user-space stack, printed as symbols, up to `limit` frames; `mode` absent = "bpftrace".
   * Stored as bpftrace stores it: a u64 of the stack id (low 32 bits) and the thread id (high 32).
   */
  | { kind: "ustack"; limit: number; mode?: StackMode }
  /** A kernel stack (same as ustack, without the thread id). */
  | { kind: "kstack"; limit: number; mode?: StackMode }
  /** The full name of the probe that fired. */
  | { kind: "probe" }
  /** The value of an aggregation function: only a map can hold one. */
  | { kind: "agg"; agg: AggregationKind; signed: boolean; lhist?: { min: bigint; max: bigint; step: bigint } }
  /** A C struct or union: defined at the top of the script, or the kernel's (BTF). See compiler/cstruct.ts. */
  | { kind: "struct"; name: string; size: number; align: number; fields: StructField[] }
  /** A C array (arrays of `char` are strings instead). */
  | { kind: "array"; elem: Type; count: number }
  /** buf(): up to `size` bytes and how many are in use, laid out {length: u8, data: u8[size]}. */
  | { kind: "buffer"; size: number }
  /** ntop(): an address family and up to 16 address bytes, {af: i64, addr: u8[16]}; prints as text. */
  | { kind: "inet" }
  /**
   * A u64 that user space turns into text when it prints it: nanoseconds since boot for
   * strftime() (`arg` is the format), a cgroup id for cgroup_path() (`arg`: the hierarchy
   * filter), an errno for strerror(), a uid for username.
   */
  | { kind: "resolved"; how: ResolvedKind; arg?: string }
  /** Statements and calls that yield nothing. */
  | { kind: "void" }
  /** Not known, because of an earlier error; never reported again. */
  | { kind: "error" };

/** What user space turns a "resolved" value into: see runtime/format/resolve.ts. */
export type ResolvedKind = "strftime" | "cgroup_path" | "strerror" | "username";

/** What a pointer points to, and in which address space, when known. */
export interface Pointee {
  /** The type pointed to; a struct or union is named ("struct task_struct"), looked up when used. */
  to: Type | string;
  /** Where the memory is: "user" (a traced process) or "kernel"; absent: decided by the probe type. */
  as?: "user" | "kernel";
}

/** A member of a struct or union type. Anonymous struct or union members have the name "". */
export interface StructField {
  name: string;
  type: Type;
  /** Byte offset in the struct (for a bit-field: of the byte holding its first bit). */
  offset: number;
  /** A bit-field: its first bit's offset from the start of the struct, and its width. */
  bitfield?: { bitOffset: number; bits: number };
}

export const int = (size: IntSize, signed: boolean): Type => ({ kind: "int", size, signed });
/** A pointer to `to` (a type, or a struct or union by name). */
export const pointer = (to: Type | string, as?: "user" | "kernel"): Type => ({ kind: "int", size: 8, signed: false, ptr: as ? { to, as } : { to } });
export const INT64: Type = int(8, true);
export const UINT64: Type = int(8, false);
export const UINT32: Type = int(4, false);
export const VOID: Type = { kind: "void" };
export const ERROR: Type = { kind: "error" };
export const str = (size: number): Type => ({ kind: "string", size });

/** bpftrace's default string size, and the size str() reads unless told otherwise. */
export const DEFAULT_STRING_SIZE = 64;
/** The kernel's TASK_COMM_LEN. */
export const COMM_SIZE = 16;

/** Names usable in casts, with their types. */
export const CAST_TYPES: Record<string, Type> = {
  int8: int(1, true),
  int16: int(2, true),
  int32: int(4, true),
  int64: int(8, true),
  uint8: int(1, false),
  uint16: int(2, false),
  uint32: int(4, false),
  uint64: int(8, false),
};

export function typeName(t: Type): string {
  switch (t.kind) {
    case "int":
      if (t.ptr) return `${typeof t.ptr.to === "string" ? t.ptr.to : typeName(t.ptr.to)} *`;
      return `${t.signed ? "" : "u"}int${t.size * 8}`;
    case "string":
      return `string[${t.size}]`;
    case "tuple":
      return `(${t.elems.map(typeName).join(", ")})`;
    case "usym":
      return "usym";
    case "ustack":
      return "ustack";
    case "kstack":
      return "kstack";
    case "probe":
      return "probe";
    case "agg":
      return t.lhist ? `lhist(${t.lhist.min}, ${t.lhist.max}, ${t.lhist.step})` : `${t.agg}()`;
    case "struct":
      return t.name;
    case "array":
      return `${typeName(t.elem)}[${t.count}]`;
    case "buffer":
      return `buffer[${t.size}]`;
    case "inet":
      return "inet";
    case "resolved":
      return t.how === "strftime" ? "timestamp" : t.how;
    case "void":
      return "void";
    case "error":
      return "<error>";
  }
}

/** Structural equality; string sizes are compared too. */
export function sameType(a: Type, b: Type): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case "int":
      return b.kind === "int" && a.size === b.size && a.signed === b.signed && samePointee(a.ptr, b.ptr);
    case "string":
      return b.kind === "string" && a.size === b.size;
    case "struct":
      return b.kind === "struct" && a.name === b.name && a.size === b.size;
    case "array":
      return b.kind === "array" && a.count === b.count && sameType(a.elem, b.elem);
    case "buffer":
      return b.kind === "buffer" && a.size === b.size;
    case "resolved":
      return b.kind === "resolved" && a.how === b.how && a.arg === b.arg;
    case "tuple":
      return b.kind === "tuple" && a.elems.length === b.elems.length && a.elems.every((e, i) => sameType(e, b.elems[i]!));
    case "ustack":
    case "kstack":
      return b.kind === a.kind && a.limit === b.limit && (a.mode ?? "bpftrace") === (b.mode ?? "bpftrace");
    case "agg":
      return b.kind === "agg" && a.agg === b.agg;
    default:
      return true;
  }
}

function samePointee(a: Pointee | undefined, b: Pointee | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (typeof a.to === "string" || typeof b.to === "string") return a.to === b.to;
  return sameType(a.to, b.to);
}

/** Whether t is a pointer. */
export function isPointer(t: Type | undefined): t is Extract<Type, { kind: "int" }> & { ptr: Pointee } {
  return t?.kind === "int" && t.ptr !== undefined;
}

/**
 * The type a variable or map slot needs to hold values of both `a` and `b`, or undefined when no
 * type holds both. Integers widen to 64 bits (maps and variables store integers as 64-bit values,
 * keeping the sign of what was stored), strings to the larger size, tuples element by element.
 */
export function unify(a: Type, b: Type): Type | undefined {
  if (a.kind === "error") return b;
  if (b.kind === "error") return a;
  if (a.kind === "int" && b.kind === "int") {
    // A pointer only goes with a pointer of the same type.
    if (a.ptr || b.ptr) return sameType(a, b) ? a : undefined;
    if (a.size === b.size && a.signed === b.signed) return a;
    return int(8, a.signed || b.signed);
  }
  if (a.kind === "string" && b.kind === "string") return str(Math.max(a.size, b.size));
  if (a.kind === "buffer" && b.kind === "buffer") return a.size >= b.size ? a : b;
  if (a.kind === "tuple" && b.kind === "tuple") {
    if (a.elems.length !== b.elems.length) return undefined;
    const elems: Type[] = [];
    for (let i = 0; i < a.elems.length; i++) {
      const u = unify(a.elems[i]!, b.elems[i]!);
      if (u === undefined) return undefined;
      elems.push(u);
    }
    return { kind: "tuple", elems };
  }
  if (a.kind === "agg" && b.kind === "agg") {
    if (a.agg !== b.agg) return undefined;
    if (a.agg === "lhist" && a.lhist && b.lhist) {
      const same = a.lhist.min === b.lhist.min && a.lhist.max === b.lhist.max && a.lhist.step === b.lhist.step;
      if (!same) return undefined;
    }
    return { ...a, signed: a.signed || b.signed };
  }
  // Stacks: the larger frame limit, printed in the first one's mode.
  if ((a.kind === "ustack" || a.kind === "kstack") && b.kind === a.kind) return b.limit > a.limit ? { ...a, limit: b.limit } : a;
  return sameType(a, b) ? a : undefined;
}

/** Size in bytes of a value of this type as stored in a map key or value, or a record. */
export function sizeOf(t: Type): number {
  switch (t.kind) {
    case "int":
      return t.size;
    case "string":
      return t.size;
    case "tuple": {
      let off = 0;
      let align = 1;
      for (const e of t.elems) {
        const a = alignOf(e);
        align = Math.max(align, a);
        off = Math.ceil(off / a) * a + sizeOf(e);
      }
      return Math.ceil(off / align) * align;
    }
    case "struct":
      return t.size;
    case "array":
      return t.count * sizeOf(t.elem);
    case "buffer":
      return t.size + 1;
    case "inet":
      return 24;
    case "resolved":
      return 8;
    case "usym":
      // The address and the pid of the process it belongs to (for symbolization).
      return 16;
    case "probe":
      return 8;
    case "ustack":
    case "kstack":
      return 8;
    case "agg":
      return 8;
    case "void":
    case "error":
      return 0;
  }
}

export function alignOf(t: Type): number {
  switch (t.kind) {
    case "int":
      return t.size;
    case "string":
    case "buffer":
      return 1;
    case "tuple":
      return Math.max(1, ...t.elems.map(alignOf));
    case "struct":
      return t.align;
    case "array":
      return alignOf(t.elem);
    default:
      return 8;
  }
}

/** A user or kernel stack type. */
export function isStack(t: Type): t is Extract<Type, { kind: "ustack" | "kstack" }> {
  return t.kind === "ustack" || t.kind === "kstack";
}

export function isInt(t: Type): t is Extract<Type, { kind: "int" }> {
  return t.kind === "int";
}
