// One table, FORMS, with an entry per instruction kind that holds all three of its directions
// side by side: encode to 8-byte slots, decode from them, and print in bpftool's
// `prog dump xlated` syntax (kernel/bpf/disasm.c). The opcode bits and operator spellings come
// from the op tables in insn.ts.
//
// Decoders only recognise their opcode and pick the fields apart; codec.ts re-encodes every
// decoded instruction and rejects it unless the bytes come back identical, so no decoder has to
// check that unused fields are zero.

import { helperName } from "./helpers.js";
import {
  ALU_OPS, ATOMIC_OPS, CALL, Class, END, END_ORDERS, EXIT, FETCH, JA, JMP_OPS, Mode, NEG,
  PSEUDO_MAP_FD, PSEUDO_MAP_VALUE, REGS, SIZES, Src,
  type Insn, type InsnKind, type InsnOf, type Reg, type Size, type Width,
} from "./insn.js";

/** One 8-byte instruction slot, fields as in `struct bpf_insn`. */
export interface Slot {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

export interface TextOptions {
  /** Name shown for the map behind a pseudo map load's fd (or id): `map[NAME]`. Default `fd:N`. */
  mapName?: (fd: number) => string | undefined;
}

interface Form<I extends Insn> {
  encode(i: I): Slot[];
  decode(s: Slot, next: Slot | undefined): I | undefined;
  text(i: I, o: TextOptions): string;
}

// ---- field checks (encode side) ----

function reg(r: Reg): number {
  const n = REGS.indexOf(r);
  if (n < 0) throw new RangeError(`not a register: ${String(r)}`);
  return n;
}

function s16(off: number): number {
  if (!Number.isInteger(off) || off < -0x8000 || off > 0x7fff) {
    throw new RangeError(`offset ${off} does not fit in 16 bits (signed)`);
  }
  return off;
}

/** Signed or unsigned 32-bit value, returned as the signed int32 with the same bits. */
function imm32(imm: number): number {
  if (!Number.isInteger(imm) || imm < -0x8000_0000 || imm > 0xffff_ffff) {
    throw new RangeError(`immediate ${imm} does not fit in 32 bits`);
  }
  return imm | 0;
}

/** The class for an operation of the given width. */
function classFor(width: Width, c32: number, c64: number): number {
  if (width !== 32 && width !== 64) throw new RangeError(`width must be 32 or 64, not ${String(width)}`);
  return width === 64 ? c64 : c32;
}

function lookup<T extends object>(table: T, key: string, what: string): T[keyof T] {
  if (!Object.hasOwn(table, key)) throw new RangeError(`unknown ${what}: ${String(key)}`);
  return table[key as keyof T];
}

function keyWhere<T extends object>(table: T, pred: (v: T[keyof T]) => boolean): (keyof T & string) | undefined {
  return (Object.keys(table) as (keyof T & string)[]).find((k) => pred(table[k]));
}

function slot(code: number, dst = 0, src = 0, off = 0, imm = 0): Slot {
  return { code, dst, src, off, imm };
}

// ---- field helpers (decode and text side) ----

const cls = (s: Slot) => s.code & 0x07;
const op = (s: Slot) => s.code & 0xf0;
const mode = (s: Slot) => s.code & 0xe0;
const isX = (s: Slot) => (s.code & Src.X) !== 0;
const sizeOf = (s: Slot) => keyWhere(SIZES, (z) => z.code === (s.code & 0x18));
const regAt = (n: number): Reg => REGS[n] ?? (`r${n}` as Reg); // bad numbers fail re-encoding
const sign = (n: number) => (n < 0 ? `${n}` : `+${n}`);
const mem = (size: Size, base: Reg, off: number) => `*(${SIZES[size].type} *)(${base} ${sign(off)})`;
/** Register name as printed for an operation of this width: `w1` for 32 bits. */
const regName = (r: Reg, width: Width) => (width === 32 ? r.replace("r", "w") : r);
const mapText = (fd: number, o: TextOptions) => `map[${o.mapName?.(fd) ?? `fd:${fd}`}]`;

/** Width of an ALU or JMP slot, or undefined when the class is neither of the pair. */
function widthOf(s: Slot, c32: number, c64: number): Width | undefined {
  return cls(s) === c64 ? 64 : cls(s) === c32 ? 32 : undefined;
}

const LDDW = Class.LD | Mode.IMM | SIZES.DW.code;

export const FORMS: { [K in InsnKind]: Form<InsnOf<K>> } = {
  alu: {
    encode(i) {
      const o = lookup(ALU_OPS, i.op, "ALU operation");
      const c = classFor(i.width, Class.ALU, Class.ALU64) | o.code;
      return typeof i.src === "string"
        ? [slot(c | Src.X, reg(i.dst), reg(i.src), o.off)]
        : [slot(c | Src.K, reg(i.dst), 0, o.off, imm32(i.src))];
    },
    decode(s) {
      const width = widthOf(s, Class.ALU, Class.ALU64);
      const name = keyWhere(ALU_OPS, (o) => o.code === op(s) && o.off === s.off);
      if (!width || !name) return undefined;
      return { kind: "alu", width, op: name, dst: regAt(s.dst), src: isX(s) ? regAt(s.src) : s.imm };
    },
    text(i) {
      const src = typeof i.src === "string" ? regName(i.src, i.width) : `${i.src}`;
      return `${regName(i.dst, i.width)} ${ALU_OPS[i.op].sym} ${src}`;
    },
  },
  neg: {
    encode: (i) => [slot(classFor(i.width, Class.ALU, Class.ALU64) | NEG, reg(i.dst))],
    decode(s) {
      const width = widthOf(s, Class.ALU, Class.ALU64);
      return width && op(s) === NEG ? { kind: "neg", width, dst: regAt(s.dst) } : undefined;
    },
    text: (i) => `${regName(i.dst, i.width)} = -${regName(i.dst, i.width)}`,
  },
  end: {
    encode(i) {
      const o = lookup(END_ORDERS, i.order, "byte order");
      if (i.bits !== 16 && i.bits !== 32 && i.bits !== 64) throw new RangeError(`bad byte swap width ${i.bits}`);
      return [slot(o.cls | END | o.src, reg(i.dst), 0, 0, i.bits)];
    },
    decode(s) {
      const order = keyWhere(END_ORDERS, (o) => o.cls === cls(s) && o.src === (s.code & Src.X));
      if (op(s) !== END || !order) return undefined;
      return { kind: "end", order, bits: s.imm as 16 | 32 | 64, dst: regAt(s.dst) };
    },
    text: (i) => `${i.dst} = ${i.order}${i.bits} ${i.dst}`,
  },
  jmp: {
    encode(i) {
      const c = classFor(i.width, Class.JMP32, Class.JMP) | lookup(JMP_OPS, i.op, "jump condition").code;
      return typeof i.src === "string"
        ? [slot(c | Src.X, reg(i.dst), reg(i.src), s16(i.off))]
        : [slot(c | Src.K, reg(i.dst), 0, s16(i.off), imm32(i.src))];
    },
    decode(s) {
      const width = widthOf(s, Class.JMP32, Class.JMP);
      const name = keyWhere(JMP_OPS, (o) => o.code === op(s));
      if (!width || !name) return undefined;
      return { kind: "jmp", width, op: name, dst: regAt(s.dst), src: isX(s) ? regAt(s.src) : s.imm, off: s.off };
    },
    text(i) {
      // bpftool prints a K operand as unsigned hex: `if r1 == 0xffffffff goto pc+3`.
      const src = typeof i.src === "string" ? regName(i.src, i.width) : `0x${(i.src >>> 0).toString(16)}`;
      return `if ${regName(i.dst, i.width)} ${JMP_OPS[i.op].sym} ${src} goto pc${sign(i.off)}`;
    },
  },
  ja: {
    encode: (i) => [slot(Class.JMP | JA, 0, 0, s16(i.off))],
    decode: (s) => (s.code === (Class.JMP | JA) ? { kind: "ja", off: s.off } : undefined),
    text: (i) => `goto pc${sign(i.off)}`,
  },
  call: {
    encode: (i) => [slot(Class.JMP | CALL, 0, 0, 0, imm32(i.helper))],
    decode: (s) => (s.code === (Class.JMP | CALL) ? { kind: "call", helper: s.imm } : undefined),
    text: (i) => `call ${helperName(i.helper) ?? "unknown"}#${i.helper}`,
  },
  exit: {
    encode: () => [slot(Class.JMP | EXIT)],
    decode: (s) => (s.code === (Class.JMP | EXIT) ? { kind: "exit" } : undefined),
    text: () => "exit",
  },
  lddw: {
    encode(i) {
      if (typeof i.imm !== "bigint" || i.imm < -(1n << 63n) || i.imm >= 1n << 64n) {
        throw new RangeError(`lddw immediate ${String(i.imm)} does not fit in 64 bits`);
      }
      const u = BigInt.asUintN(64, i.imm);
      return [slot(LDDW, reg(i.dst), 0, 0, Number(u & 0xffff_ffffn) | 0), slot(0, 0, 0, 0, Number(u >> 32n) | 0)];
    },
    decode(s, next) {
      if (s.code !== LDDW || s.src !== 0 || !next) return undefined;
      const imm = BigInt.asIntN(64, (BigInt(next.imm >>> 0) << 32n) | BigInt(s.imm >>> 0));
      return { kind: "lddw", dst: regAt(s.dst), imm };
    },
    text: (i) => `${i.dst} = 0x${BigInt.asUintN(64, i.imm).toString(16)}`,
  },
  ld_map_fd: {
    encode: (i) => [slot(LDDW, reg(i.dst), PSEUDO_MAP_FD, 0, imm32(i.fd)), slot(0)],
    decode(s, next) {
      if (s.code !== LDDW || s.src !== PSEUDO_MAP_FD || !next) return undefined;
      return { kind: "ld_map_fd", dst: regAt(s.dst), fd: s.imm };
    },
    text: (i, o) => `${i.dst} = ${mapText(i.fd, o)}`,
  },
  ld_map_value: {
    encode(i) {
      if (!Number.isInteger(i.off) || i.off < 0 || i.off > 0xffff_ffff) {
        throw new RangeError(`map value offset ${i.off} does not fit in 32 bits (unsigned)`);
      }
      return [slot(LDDW, reg(i.dst), PSEUDO_MAP_VALUE, 0, imm32(i.fd)), slot(0, 0, 0, 0, i.off | 0)];
    },
    decode(s, next) {
      if (s.code !== LDDW || s.src !== PSEUDO_MAP_VALUE || !next) return undefined;
      return { kind: "ld_map_value", dst: regAt(s.dst), fd: s.imm, off: next.imm >>> 0 };
    },
    text: (i, o) => `${i.dst} = ${mapText(i.fd, o)}[0]+${i.off}`,
  },
  ldx: {
    encode: (i) => [slot(Class.LDX | Mode.MEM | lookup(SIZES, i.size, "size").code, reg(i.dst), reg(i.src), s16(i.off))],
    decode(s) {
      const size = sizeOf(s);
      if (cls(s) !== Class.LDX || mode(s) !== Mode.MEM || !size) return undefined;
      return { kind: "ldx", size, dst: regAt(s.dst), src: regAt(s.src), off: s.off };
    },
    text: (i) => `${i.dst} = ${mem(i.size, i.src, i.off)}`,
  },
  st: {
    encode: (i) => [slot(Class.ST | Mode.MEM | lookup(SIZES, i.size, "size").code, reg(i.dst), 0, s16(i.off), imm32(i.imm))],
    decode(s) {
      const size = sizeOf(s);
      if (cls(s) !== Class.ST || mode(s) !== Mode.MEM || !size) return undefined;
      return { kind: "st", size, dst: regAt(s.dst), off: s.off, imm: s.imm };
    },
    text: (i) => `${mem(i.size, i.dst, i.off)} = ${i.imm}`,
  },
  stx: {
    encode: (i) => [slot(Class.STX | Mode.MEM | lookup(SIZES, i.size, "size").code, reg(i.dst), reg(i.src), s16(i.off))],
    decode(s) {
      const size = sizeOf(s);
      if (cls(s) !== Class.STX || mode(s) !== Mode.MEM || !size) return undefined;
      return { kind: "stx", size, dst: regAt(s.dst), src: regAt(s.src), off: s.off };
    },
    text: (i) => `${mem(i.size, i.dst, i.off)} = ${i.src}`,
  },
  atomic: {
    encode(i) {
      const o = lookup(ATOMIC_OPS, i.op, "atomic operation");
      if (i.size !== "W" && i.size !== "DW") throw new RangeError(`atomic ${i.op} needs size W or DW, not ${i.size}`);
      if (!i.fetch && (i.op === "xchg" || i.op === "cmpxchg")) throw new RangeError(`atomic ${i.op} always fetches`);
      const imm = o.code | (i.fetch ? FETCH : 0);
      return [slot(Class.STX | Mode.ATOMIC | SIZES[i.size].code, reg(i.dst), reg(i.src), s16(i.off), imm)];
    },
    decode(s) {
      const size = sizeOf(s);
      const name = keyWhere(ATOMIC_OPS, (o) => o.code === (s.imm & ~FETCH));
      if (cls(s) !== Class.STX || mode(s) !== Mode.ATOMIC || (size !== "W" && size !== "DW") || !name) {
        return undefined;
      }
      const fetch = (s.imm & FETCH) !== 0;
      return { kind: "atomic", op: name, fetch, size, dst: regAt(s.dst), src: regAt(s.src), off: s.off };
    },
    text(i) {
      const ptr = `(${SIZES[i.size].type} *)(${i.dst} ${sign(i.off)})`;
      const name = i.op === "xchg" || i.op === "cmpxchg" ? i.op : `fetch_${i.op}`;
      const fn = `atomic${i.size === "DW" ? "64" : ""}_${name}`;
      if (i.op === "cmpxchg") return `r0 = ${fn}(${ptr}, r0, ${i.src})`;
      if (i.fetch) return `${i.src} = ${fn}(${ptr}, ${i.src})`;
      return `lock *${ptr} ${ATOMIC_OPS[i.op].sym} ${i.src}`;
    },
  },
};

/** The form of an instruction, with the kind checked at run time. */
export function formOf(i: Insn): Form<Insn> {
  const form = Object.hasOwn(FORMS, i.kind) ? FORMS[i.kind] : undefined;
  if (!form) throw new RangeError(`unknown instruction kind: ${String((i as { kind: unknown }).kind)}`);
  return form as unknown as Form<Insn>;
}

/** Number of 8-byte slots an instruction takes: 2 for the 64-bit immediate loads, else 1. */
export function slotCount(i: Insn): 1 | 2 {
  return i.kind === "lddw" || i.kind === "ld_map_fd" || i.kind === "ld_map_value" ? 2 : 1;
}
