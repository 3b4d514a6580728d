// The encoder, decoder and disassembler checked against llvm-mc-14 on a generated set of
// instructions, all sent to llvm-mc in three batches (assemble llvm text, assemble our listing,
// disassemble our bytes).
//
// llvm-mc-14 does not know every instruction we encode. Not in its BPF backend at all: mod,
// jset, BPF_ST (store immediate) and the cpu v4 ops (sdiv, smod, bswap); those are checked
// against hand-written bytes in codec.test.ts. Its assembler also cannot parse anything with a
// comma (atomic fetch ops, xchg, cmpxchg, `ld_pseudo` for map loads), but its disassembler
// prints them, so those are checked in the disassembly direction only.

import { beforeAll, describe, expect, test } from "vitest";
import { decode, disassemble, encode, REGS, type Insn, type Reg, type Size, type Width } from "../../../compiler/asm/index.js";
import { checkLlvmMc, llvmAssemble, llvmDisassemble } from "./llvm-mc.js";

interface Case {
  insn: Insn;
  /** The instruction as llvm-mc itself prints it. */
  llvm: string;
}

// Operator spellings in llvm's syntax, kept apart from compiler/asm's tables on purpose.
const LLVM_ALU: Record<string, string> = {
  add: "+=", sub: "-=", mul: "*=", div: "/=", or: "|=", and: "&=",
  lsh: "<<=", rsh: ">>=", xor: "^=", mov: "=", arsh: "s>>=",
};
const LLVM_JMP: Record<string, string> = {
  jeq: "==", jgt: ">", jge: ">=", jne: "!=", jsgt: "s>", jsge: "s>=", jlt: "<", jle: "<=", jslt: "s<", jsle: "s<=",
};
const LLVM_TYPE: Record<Size, string> = { B: "u8", H: "u16", W: "u32", DW: "u64" };

const REG_PAIRS: [Reg, Reg][] = [["r0", "r1"], ["r10", "r9"], ["r5", "r5"], ["r3", "r7"]];
const IMMS = [0, 1, -1, 42, 0x7fff_ffff, -0x8000_0000, -4096, 65536];
const OFFS = [0, 1, -1, 100, 0x7fff, -0x8000];
const MEM_OFFS = [0, -8, 8, 0x7fff, -0x8000, -512];
const I64S = [0n, 1n, -1n, 0x1_0000_0000n, 0x0123_4567_89ab_cdefn, -(1n << 63n), (1n << 63n) - 1n, 0xffff_ffffn, -0x8000_0000n];

const w = (r: Reg, width: Width) => (width === 32 ? r.replace("r", "w") : r);
const pm = (n: number) => (n < 0 ? `- ${-n}` : `+ ${n}`); // llvm: (r1 - 8)
const rel = (n: number) => (n < 0 ? `${n}` : `+${n}`); // llvm: goto +3 / goto -3

/** Instructions llvm-mc-14 both assembles and disassembles. */
function roundTripCases(): Case[] {
  const cases: Case[] = [];
  const widths: Width[] = [64, 32];
  for (const width of widths) {
    for (const [op, sym] of Object.entries(LLVM_ALU)) {
      for (const [d, s] of REG_PAIRS) {
        cases.push({ insn: { kind: "alu", width, op: op as never, dst: d, src: s }, llvm: `${w(d, width)} ${sym} ${w(s, width)}` });
      }
      IMMS.forEach((imm, k) => {
        const d = REGS[k % 11]!;
        cases.push({ insn: { kind: "alu", width, op: op as never, dst: d, src: imm }, llvm: `${w(d, width)} ${sym} ${imm}` });
      });
    }
    for (const d of ["r0", "r6", "r10"] as Reg[]) {
      cases.push({ insn: { kind: "neg", width, dst: d }, llvm: `${w(d, width)} = -${w(d, width)}` });
    }
    for (const [op, sym] of Object.entries(LLVM_JMP)) {
      OFFS.forEach((off, k) => {
        const [d, s] = REG_PAIRS[k % REG_PAIRS.length]!;
        const imm = IMMS[k]!;
        cases.push({
          insn: { kind: "jmp", width, op: op as never, dst: d, src: s, off },
          llvm: `if ${w(d, width)} ${sym} ${w(s, width)} goto ${rel(off)}`,
        });
        cases.push({
          insn: { kind: "jmp", width, op: op as never, dst: s, src: imm, off: -off - 1 },
          llvm: `if ${w(s, width)} ${sym} ${imm} goto ${rel(-off - 1)}`,
        });
      });
    }
  }
  for (const order of ["le", "be"] as const) {
    for (const bits of [16, 32, 64] as const) {
      for (const d of ["r1", "r9"] as Reg[]) cases.push({ insn: { kind: "end", order, bits, dst: d }, llvm: `${d} = ${order}${bits} ${d}` });
    }
  }
  for (const off of OFFS) cases.push({ insn: { kind: "ja", off }, llvm: `goto ${rel(off)}` });
  for (const helper of [1, 2, 6, 14, 130, 173, 0, 0x7fff_ffff]) cases.push({ insn: { kind: "call", helper }, llvm: `call ${helper}` });
  cases.push({ insn: { kind: "exit" }, llvm: "exit" });
  I64S.forEach((imm, k) => {
    const d = REGS[k % 11]!;
    cases.push({ insn: { kind: "lddw", dst: d, imm }, llvm: `${d} = ${imm} ll` });
  });
  for (const size of ["B", "H", "W", "DW"] as Size[]) {
    MEM_OFFS.forEach((off, k) => {
      const [d, s] = REG_PAIRS[k % REG_PAIRS.length]!;
      // With alu32 on, llvm prints the value register of a narrow load or store as w.
      const v = w(d, size === "DW" ? 64 : 32);
      cases.push({ insn: { kind: "ldx", size, dst: d, src: s, off }, llvm: `${v} = *(${LLVM_TYPE[size]} *)(${s} ${pm(off)})` });
      cases.push({ insn: { kind: "stx", size, dst: s, src: d, off }, llvm: `*(${LLVM_TYPE[size]} *)(${s} ${pm(off)}) = ${v}` });
    });
  }
  for (const size of ["W", "DW"] as const) {
    for (const [op, sym] of [["add", "+="], ["or", "|="], ["and", "&="], ["xor", "^="]] as const) {
      for (const off of [0, -8, 0x7fff]) {
        const src = size === "W" ? "w2" : "r2";
        cases.push({
          insn: { kind: "atomic", op, fetch: false, size, dst: "r1", src: "r2", off },
          llvm: `lock *(${LLVM_TYPE[size]} *)(r1 ${pm(off)}) ${sym} ${src}`,
        });
      }
    }
  }
  return cases;
}

/** Instructions llvm-mc-14 disassembles but cannot assemble (its parser has no commas). */
function disassemblyOnlyCases(): Case[] {
  const cases: Case[] = [];
  for (const [size, t, r, bits] of [["DW", "u64", "r", "64"], ["W", "u32", "w", "32"]] as const) {
    for (const op of ["add", "or", "and", "xor"] as const) {
      cases.push({
        insn: { kind: "atomic", op, fetch: true, size, dst: "r1", src: "r2", off: -16 },
        llvm: `${r}2 = atomic_fetch_${op}((${t} *)(r1 - 16), ${r}2)`,
      });
    }
    cases.push({
      insn: { kind: "atomic", op: "xchg", fetch: true, size, dst: "r3", src: "r4", off: 8 },
      llvm: `${r}4 = xchg${bits === "64" ? "" : "32"}_${bits}(r3 + 8, ${r}4)`,
    });
    cases.push({
      insn: { kind: "atomic", op: "cmpxchg", fetch: true, size, dst: "r3", src: "r4", off: 8 },
      llvm: `${r}0 = cmpxchg${bits === "64" ? "" : "32"}_${bits}(r3 + 8, ${r}0, ${r}4)`,
    });
  }
  // llvm prints neither the second slot (map value offset) nor anything symbolic.
  cases.push({ insn: { kind: "ld_map_fd", dst: "r1", fd: 5 }, llvm: "ld_pseudo r1, 1, 5" });
  cases.push({ insn: { kind: "ld_map_value", dst: "r2", fd: 7, off: 24 }, llvm: "ld_pseudo r2, 2, 7" });
  return cases;
}

/**
 * Our bpftool-style listing line → llvm-mc input. The differences, each found by trying llvm-mc-14:
 * - bpftool prefixes `N: (code) `; llvm has no prefix.
 * - bpftool `goto pc+3`; llvm wants `goto +3` (it reads `pc` as a symbol and emits a relocation).
 * - bpftool `call bpf_map_lookup_elem#1`; llvm wants `call 1` (`#` starts a comment, and
 *   `call bpf_map_lookup_elem` alone becomes a relocation against that symbol).
 * - bpftool prints a 64-bit immediate load as `r1 = 0x...`; llvm needs the `ll` suffix (without
 *   it llvm silently truncates the value to a 32-bit `mov`).
 * - 32-bit atomics: bpftool prints the source as `r2`; llvm wants `w2` (it accepts `r2` for `+=`
 *   only, and rejects `|=`, `&=`, `^=` with an r register).
 * Accepted by llvm as bpftool prints them, so left alone: memory operands `(r1 -8)` (llvm prints
 * `(r1 - 8)`), unsigned hex jump immediates `if r1 == 0xffffffff` (llvm prints `-1`).
 */
function toLlvm(line: string): string {
  const m = /^(\d+): \(([0-9a-f]{2})\) (.*)$/.exec(line);
  if (!m) throw new Error(`not a listing line: ${line}`);
  let text = m[3]!
    .replace(/goto pc([+-]\d+)$/, "goto $1")
    .replace(/^call \S+#(-?\d+)$/, "call $1")
    .replace(/^(lock \*\(u32 \*\).*) r(\d+)$/, "$1 w$2");
  if (m[2] === "18") text += " ll";
  return text;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("against llvm-mc-14", () => {
  const cases = roundTripCases();
  const disOnly = disassemblyOnlyCases();
  beforeAll(() => checkLlvmMc());

  test("the generated set covers every class and both sources", () => {
    const kinds = new Set(cases.map((c) => c.insn.kind));
    expect([...kinds].sort()).toEqual(["alu", "atomic", "call", "end", "exit", "ja", "jmp", "lddw", "ldx", "neg", "stx"]);
    expect(cases.length).toBeGreaterThan(500);
  });

  test("our bytes equal llvm-mc's encoding of the same instruction", () => {
    const theirs = llvmAssemble(cases.map((c) => c.llvm));
    const mismatches = cases.flatMap((c, n) => {
      const ours = hex(encode([c.insn]));
      return ours === hex(theirs[n]!) ? [] : [`${c.llvm}: ours ${ours}, llvm ${hex(theirs[n]!)}`];
    });
    expect(mismatches).toEqual([]);
  });

  test("our disassembly assembles back to the same bytes", () => {
    const insns = cases.map((c) => c.insn);
    const lines = disassemble(insns).split("\n");
    expect(lines).toHaveLength(insns.length);
    const theirs = llvmAssemble(lines.map(toLlvm));
    const mismatches = cases.flatMap((c, n) => {
      const ours = hex(encode([c.insn]));
      return ours === hex(theirs[n]!) ? [] : [`${lines[n]}: ours ${ours}, llvm ${hex(theirs[n]!)}`];
    });
    expect(mismatches).toEqual([]);
  });

  test("llvm-mc disassembles our bytes to the same instructions", () => {
    const all = [...cases, ...disOnly];
    expect(llvmDisassemble(encode(all.map((c) => c.insn)))).toEqual(all.map((c) => c.llvm));
  });

  test("decode(encode(x)) deep-equals x, one by one and as a program", () => {
    const all = [...cases, ...disOnly].map((c) => c.insn);
    for (const insn of all) expect(decode(encode([insn]))).toEqual([insn]);
    expect(decode(encode(all))).toEqual(all);
  });

  test("listing prefixes count slots and show the opcode byte", () => {
    const insns = [...cases, ...disOnly].map((c) => c.insn);
    const bytes = encode(insns);
    let slot = 0;
    disassemble(insns)
      .split("\n")
      .forEach((line, n) => {
        const [, at, code] = /^(\d+): \(([0-9a-f]{2})\) /.exec(line)!;
        expect(Number(at)).toBe(slot);
        expect(parseInt(code!, 16)).toBe(bytes[slot * 8]);
        slot += encode([insns[n]!]).length / 8;
      });
    expect(slot * 8).toBe(bytes.length);
  });
});
