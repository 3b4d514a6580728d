// The types of the language. See spec/types.md for the rules.

export type IntSize = 1 | 2 | 4 | 8;

export type AggregationKind = "count" | "sum" | "avg" | "min" | "max" | "stats" | "hist" | "lhist";

export type Type =
  | { kind: "int"; size: IntSize; signed: boolean }
  | { kind: "string"; size: number }
  | { kind: "tuple"; elems: Type[] }
  /** A user-space address printed as a symbol (usym(), func): {addr: u64, pid: u64}. */
  | { kind: "usym" }
  /** A user-space stack, printed as symbols, up to `limit` frames. */
  | { kind: "ustack"; limit: number }
  /** The full name of the probe that fired. */
  | { kind: "probe" }
  /** The value of an aggregation function: only a map can hold one. */
  | { kind: "agg"; agg: AggregationKind; signed: boolean; lhist?: { min: bigint; max: bigint; step: bigint } }
  /** Statements and calls that yield nothing. */
  | { kind: "void" }
  /** Not known, because of an earlier error; never reported again. */
  | { kind: "error" };

export const int = (size: IntSize, signed: boolean): Type => ({ kind: "int", size, signed });
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
      return `${t.signed ? "" : "u"}int${t.size * 8}`;
    case "string":
      return `string[${t.size}]`;
    case "tuple":
      return `(${t.elems.map(typeName).join(", ")})`;
    case "usym":
      return "usym";
    case "ustack":
      return "ustack";
    case "probe":
      return "probe";
    case "agg":
      return t.lhist ? `lhist(${t.lhist.min}, ${t.lhist.max}, ${t.lhist.step})` : `${t.agg}()`;
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
      return b.kind === "int" && a.size === b.size && a.signed === b.signed;
    case "string":
      return b.kind === "string" && a.size === b.size;
    case "tuple":
      return b.kind === "tuple" && a.elems.length === b.elems.length && a.elems.every((e, i) => sameType(e, b.elems[i]!));
    case "ustack":
      return b.kind === "ustack" && a.limit === b.limit;
    case "agg":
      return b.kind === "agg" && a.agg === b.agg;
    default:
      return true;
  }
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
    if (a.size === b.size && a.signed === b.signed) return a;
    return int(8, a.signed || b.signed);
  }
  if (a.kind === "string" && b.kind === "string") return str(Math.max(a.size, b.size));
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
  if (a.kind === "ustack" && b.kind === "ustack") return a.limit >= b.limit ? a : b;
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
    case "usym":
      // The address and the pid of the process it belongs to (for symbolization).
      return 16;
    case "probe":
      return 8;
    case "ustack":
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
      return 1;
    case "tuple":
      return Math.max(1, ...t.elems.map(alignOf));
    default:
      return 8;
  }
}

export function isInt(t: Type): t is Extract<Type, { kind: "int" }> {
  return t.kind === "int";
}
