// Parser for the argument specification string of SystemTap SDT (USDT) probes on x86-64.
//
// Each probe note carries a string such as "-4@%esi 8@-24(%rbp) 8@$5": one entry per probe
// argument, separated by spaces, each `SIZE@OPERAND`. SIZE is the argument's byte size, negative
// for a signed type, optionally followed by `f` for a floating-point value (newer <sys/sdt.h>).
// OPERAND is the GNU assembler (AT&T syntax) text the compiler chose for the value:
//
//   %rax  %eax  %ax  %al  %ah  %r8d ...         register (or a sub-register of one)
//   $42  $-5  $0x10                             constant
//   (%r12)  -144(%rbp)  8(%rbx,%rax,4)          memory: offset(base, index, scale)
//   (,%rax,8)  garr(,%rax,8)                    memory without a base register
//   sym(%rip)  sym+16(%rip)  16+sym(%rip)       rip-relative: memory at the symbol's address + 16
//   sym  sym+8  0x601040                        memory at an absolute address (non-PIE code)

import { lookupX86Register, type X86Register } from "./registers.js";

export type UsdtArgSize = 1 | 2 | 4 | 8;
export type UsdtScale = 1 | 2 | 4 | 8;

interface UsdtArgCommon {
  /** The entry as written in the note, e.g. "-4@-20(%rbp)". */
  readonly text: string;
  /** Size of the value in bytes. */
  readonly size: UsdtArgSize;
  /** True when SIZE was negative (a signed integer type): sign-extend after reading. */
  readonly signed: boolean;
  /** True for a floating-point value (`f` after the size). */
  readonly float: boolean;
}

/** The value is in a register (or in a sub-register: see `reg.width` and `reg.bitOffset`). */
export interface UsdtRegArg extends UsdtArgCommon {
  readonly kind: "reg";
  readonly reg: X86Register;
}

/**
 * The value is in memory at `offset + symbolAddress + base + index * scale`.
 *
 * - `base` absent: no base register (absolute address, or `(,%index,scale)`).
 * - `base.reg === "rip"` with a `symbol`: the assembler encodes `sym(%rip)` as "the address of
 *   sym", so the address is `symbolAddress + offset`, relocated by the load bias. At the probe,
 *   the program counter is the probe's pc, so the run-time address is
 *   `regs->ip + (symbolAddress + offset - probe.pc)` with no need to know the bias.
 * - `base.reg === "rip"` without a symbol (`16(%rip)`): compilers do not emit it for SDT
 *   operands; libbpf reads it as `regs->ip + offset`.
 * - `symbol` set: `symbolAddress` is filled in by the ELF reader when the symbol is found in the
 *   binary's symbol tables (a local label such as `.LC0` never is).
 */
export interface UsdtMemArg extends UsdtArgCommon {
  readonly kind: "mem";
  readonly base?: X86Register;
  readonly index?: X86Register;
  readonly scale: UsdtScale;
  /** Numeric displacement (the addend when a symbol is present). */
  readonly offset: number;
  readonly symbol?: string;
  readonly symbolAddress?: number;
}

/**
 * A constant. Without a symbol, `value` is the constant reduced to `size` bytes (sign-extended
 * when `signed`): "4@$-1" gives 4294967295n, "-4@$-1" gives -1n. With a symbol (`$sym+8`,
 * the address of a symbol), the constant is `symbolAddress + value`.
 */
export interface UsdtConstArg extends UsdtArgCommon {
  readonly kind: "const";
  readonly value: bigint;
  readonly symbol?: string;
  readonly symbolAddress?: number;
}

export type UsdtArg = UsdtRegArg | UsdtMemArg | UsdtConstArg;

/** A USDT argument (or argument string) that is malformed or uses an unsupported form. */
export class UsdtArgError extends Error {
  /** The offending entry (one `SIZE@OPERAND`), or the whole string for string-level errors. */
  readonly arg: string;
  constructor(arg: string, reason: string) {
    super(`unsupported USDT argument "${arg}": ${reason}`);
    this.name = "UsdtArgError";
    this.arg = arg;
  }
}

/** Parses a whole argument specification string ("" gives no arguments). */
export function parseUsdtArgs(spec: string): UsdtArg[] {
  const trimmed = spec.trim();
  if (trimmed === "") return [];
  return trimmed.split(/\s+/).map(parseUsdtArg);
}

const SIZE_RE = /^(-?)(\d+)(f?)@(.*)$/s;

/** Parses one `SIZE@OPERAND` entry. Throws UsdtArgError for malformed or unsupported forms. */
export function parseUsdtArg(text: string): UsdtArg {
  const m = SIZE_RE.exec(text);
  if (m === null) {
    throw new UsdtArgError(text, "expected SIZE@OPERAND with SIZE one of 1, 2, 4, 8 (negative when signed)");
  }
  const signed = m[1] === "-";
  const n = Number(m[2]);
  const float = m[3] === "f";
  const operand = m[4]!;
  if (n !== 1 && n !== 2 && n !== 4 && n !== 8) {
    throw new UsdtArgError(text, `argument size ${n} is not 1, 2, 4 or 8 bytes`);
  }
  const size = n as UsdtArgSize;
  const common = { text, size, signed, float };
  if (operand === "") throw new UsdtArgError(text, "empty operand");

  if (operand.startsWith("$")) {
    const e = parseExpr(text, operand.slice(1), "constant");
    if (e.symbol !== undefined) return { kind: "const", ...common, value: e.addend, symbol: e.symbol };
    const bits = size * 8;
    const value = signed ? BigInt.asIntN(bits, e.addend) : BigInt.asUintN(bits, e.addend);
    return { kind: "const", ...common, value };
  }

  if (operand.startsWith("%")) {
    if (operand.includes(":")) {
      throw new UsdtArgError(text, "segment-relative operands (such as %fs:...) are not supported");
    }
    if (/^%st(\(\d\))?$/i.test(operand)) {
      throw new UsdtArgError(text, `x87 floating-point register ${operand} is not saved in pt_regs`);
    }
    if (operand.includes("(")) throw new UsdtArgError(text, "a register cannot be followed by a memory operand");
    return { kind: "reg", ...common, reg: register(text, operand) };
  }

  // Memory operand: [disp](base[,index[,scale]]) or a bare displacement (absolute address).
  const paren = operand.indexOf("(");
  const dispText = paren < 0 ? operand : operand.slice(0, paren);
  if (/%\w+:/.test(operand)) {
    throw new UsdtArgError(text, "segment-relative operands (such as %fs:...) are not supported");
  }
  let base: X86Register | undefined;
  let index: X86Register | undefined;
  let scale: UsdtScale = 1;
  if (paren >= 0) {
    if (!operand.endsWith(")")) throw new UsdtArgError(text, "unbalanced parentheses in memory operand");
    const inner = operand.slice(paren + 1, -1);
    if (inner.includes("(") || inner.includes(")")) throw new UsdtArgError(text, "nested parentheses");
    const parts = inner.split(",").map((s) => s.trim());
    if (parts.length > 3) throw new UsdtArgError(text, "too many components in (base,index,scale)");
    const [b = "", i, s] = parts;
    if (b !== "") {
      base = register(text, b);
      if (base.width !== 8) {
        throw new UsdtArgError(text, `32-bit address register %${base.name} is not supported (expected a 64-bit register)`);
      }
    }
    if (i !== undefined) {
      if (i === "") {
        if (s !== undefined) throw new UsdtArgError(text, "scale without an index register");
      } else {
        index = register(text, i);
        if (index.width !== 8) throw new UsdtArgError(text, `index register %${index.name} is not a 64-bit register`);
        if (index.reg === "rsp" || index.reg === "rip") {
          throw new UsdtArgError(text, `%${index.name} cannot be an index register`);
        }
        if (base?.reg === "rip") throw new UsdtArgError(text, "rip-relative operands cannot have an index register");
      }
    }
    if (s !== undefined && s !== "") {
      if (index === undefined) throw new UsdtArgError(text, "scale without an index register");
      if (s !== "1" && s !== "2" && s !== "4" && s !== "8") {
        throw new UsdtArgError(text, `scale ${s} is not 1, 2, 4 or 8`);
      }
      scale = Number(s) as UsdtScale;
    }
    if (base === undefined && index === undefined && dispText === "") {
      throw new UsdtArgError(text, "empty memory operand");
    }
  } else if (dispText.includes(")")) {
    throw new UsdtArgError(text, "unbalanced parentheses in memory operand");
  }

  let offset = 0;
  let symbol: string | undefined;
  if (dispText !== "") {
    const e = parseExpr(text, dispText, "displacement");
    symbol = e.symbol;
    if (e.addend < BigInt(Number.MIN_SAFE_INTEGER) || e.addend > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new UsdtArgError(text, "displacement out of range");
    }
    offset = Number(e.addend);
  } else if (paren < 0) {
    throw new UsdtArgError(text, "empty operand");
  }
  const mem: UsdtMemArg = {
    kind: "mem",
    ...common,
    ...(base !== undefined ? { base } : {}),
    ...(index !== undefined ? { index } : {}),
    scale,
    offset,
    ...(symbol !== undefined ? { symbol } : {}),
  };
  return mem;
}

function register(text: string, operand: string): X86Register {
  if (!operand.startsWith("%")) throw new UsdtArgError(text, `expected a register, found "${operand}"`);
  const r = lookupX86Register(operand);
  if (r !== undefined) return r;
  const name = operand.slice(1).toLowerCase();
  if (/^[xyz]mm\d+$/.test(name) || /^st(\(\d\))?$/.test(name) || /^mm\d$/.test(name)) {
    throw new UsdtArgError(text, `vector/floating-point register %${name} is not saved in pt_regs`);
  }
  if (/^[c-gs]s$/.test(name)) throw new UsdtArgError(text, `segment register %${name} is not supported`);
  throw new UsdtArgError(text, `unknown register %${name}`);
}

const NUM_RE = /^(0x[0-9a-f]+|0b[01]+|\d+)$/i;
const SYM_RE = /^[A-Za-z_.$][A-Za-z0-9_.$]*$/;

/** Parses `term ((+|-) term)*` where a term is a number or a symbol (at most one, added). */
function parseExpr(text: string, expr: string, what: string): { addend: bigint; symbol?: string } {
  const s = expr.replace(/\s+/g, "");
  if (s === "") throw new UsdtArgError(text, `empty ${what}`);
  if (s.includes("@")) {
    throw new UsdtArgError(text, `relocation specifiers such as ${s.slice(s.indexOf("@"))} are not supported`);
  }
  let addend = 0n;
  let symbol: string | undefined;
  let pos = 0;
  let first = true;
  while (pos < s.length) {
    let sign = 1n;
    if (s[pos] === "+" || s[pos] === "-") {
      if (s[pos] === "-") sign = -1n;
      pos++;
    } else if (!first) {
      throw new UsdtArgError(text, `malformed ${what} "${expr}"`);
    }
    // A term runs to the next + or - (symbols never contain them).
    let end = pos;
    while (end < s.length && s[end] !== "+" && s[end] !== "-") end++;
    const term = s.slice(pos, end);
    if (term === "") throw new UsdtArgError(text, `malformed ${what} "${expr}"`);
    if (NUM_RE.test(term)) {
      // GNU as reads a leading 0 as octal.
      const v = /^0[0-7]+$/.test(term) ? BigInt(`0o${term.slice(1)}`) : BigInt(term);
      addend += sign * v;
    } else if (SYM_RE.test(term)) {
      if (symbol !== undefined) throw new UsdtArgError(text, `more than one symbol in ${what} "${expr}"`);
      if (sign < 0n) throw new UsdtArgError(text, `negated symbol in ${what} "${expr}"`);
      symbol = term;
    } else {
      throw new UsdtArgError(text, `malformed ${what} "${expr}"`);
    }
    pos = end;
    first = false;
  }
  return symbol === undefined ? { addend } : { addend, symbol };
}
