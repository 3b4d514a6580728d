// Encoding, decoding and bpftool-syntax listing without llvm: hand-checked bytes for the
// instructions llvm-mc-14 does not know, decoder strictness, field range errors, the helper
// numbers against linux/bpf.h, and fast-check round trips.

import { existsSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  ALU_OPS, ATOMIC_OPS, Helper, JMP_OPS, REGS, SIZES,
  decode, disassemble, encode, formatInsn, helperName,
  type AtomicOp, type Insn,
} from "../../../compiler/asm/index.js";

const bytes = (hex: string) => Uint8Array.from(hex.split(/\s+/).filter(Boolean), (b) => parseInt(b, 16));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
/** Test titles: JSON with bigints (vitest's %j cannot print them). */
const titled = <T extends unknown[]>(rows: T[]) =>
  rows.map((r) => [JSON.stringify(r[0], (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)), ...r] as [string, ...T]);

describe("hand-checked encodings", () => {
  // Bytes worked out by hand from the ISA spec (opcode = class | op/mode | source/size).
  // These are the instructions llvm-mc-14 has no syntax or decoder for, plus the pseudo loads.
  const table: [Insn, string, string][] = [
    [{ kind: "alu", width: 64, op: "mod", dst: "r1", src: "r2" }, "9f 21 00 00 00 00 00 00", "r1 %= r2"],
    [{ kind: "alu", width: 32, op: "mod", dst: "r3", src: 7 }, "94 03 00 00 07 00 00 00", "w3 %= 7"],
    [{ kind: "alu", width: 32, op: "mod", dst: "r3", src: "r4" }, "9c 43 00 00 00 00 00 00", "w3 %= w4"],
    [{ kind: "alu", width: 64, op: "sdiv", dst: "r1", src: "r2" }, "3f 21 01 00 00 00 00 00", "r1 s/= r2"],
    [{ kind: "alu", width: 32, op: "smod", dst: "r1", src: -3 }, "94 01 01 00 fd ff ff ff", "w1 s%= -3"],
    [{ kind: "jmp", width: 64, op: "jset", dst: "r1", src: "r2", off: 1 }, "4d 21 01 00 00 00 00 00", "if r1 & r2 goto pc+1"],
    [{ kind: "jmp", width: 32, op: "jset", dst: "r1", src: 0x80, off: -2 }, "46 01 fe ff 80 00 00 00", "if w1 & 0x80 goto pc-2"],
    [{ kind: "st", size: "DW", dst: "r10", off: -8, imm: -1 }, "7a 0a f8 ff ff ff ff ff", "*(u64 *)(r10 -8) = -1"],
    [{ kind: "st", size: "B", dst: "r1", off: 3, imm: 7 }, "72 01 03 00 07 00 00 00", "*(u8 *)(r1 +3) = 7"],
    [{ kind: "st", size: "H", dst: "r2", off: 0, imm: 0x1234 }, "6a 02 00 00 34 12 00 00", "*(u16 *)(r2 +0) = 4660"],
    [{ kind: "st", size: "W", dst: "r2", off: 0, imm: 1 }, "62 02 00 00 01 00 00 00", "*(u32 *)(r2 +0) = 1"],
    [{ kind: "end", order: "bswap", bits: 16, dst: "r1" }, "d7 01 00 00 10 00 00 00", "r1 = bswap16 r1"],
    [{ kind: "end", order: "bswap", bits: 64, dst: "r9" }, "d7 09 00 00 40 00 00 00", "r9 = bswap64 r9"],
    [{ kind: "ld_map_fd", dst: "r1", fd: 5 }, "18 11 00 00 05 00 00 00 00 00 00 00 00 00 00 00", "r1 = map[fd:5]"],
    [{ kind: "ld_map_value", dst: "r2", fd: 7, off: 24 }, "18 22 00 00 07 00 00 00 00 00 00 00 18 00 00 00", "r2 = map[fd:7][0]+24"],
    [{ kind: "ld_map_value", dst: "r2", fd: 7, off: 0xffff_ffff }, "18 22 00 00 07 00 00 00 00 00 00 00 ff ff ff ff", "r2 = map[fd:7][0]+4294967295"],
  ];
  test.each(titled(table))("%s", (_, insn, want, text) => {
    expect(hex(encode([insn]))).toBe(want);
    expect(decode(bytes(want))).toEqual([insn]);
    expect(formatInsn(insn)).toBe(text);
  });
});

describe("bpftool listing syntax", () => {
  test("a program in `bpftool prog dump xlated` form", () => {
    const prog: Insn[] = [
      { kind: "alu", width: 64, op: "mov", dst: "r1", src: 5 },
      { kind: "jmp", width: 64, op: "jeq", dst: "r1", src: 0, off: 3 },
      { kind: "ld_map_fd", dst: "r1", fd: 3 },
      { kind: "call", helper: Helper.map_lookup_elem },
      { kind: "stx", size: "DW", dst: "r10", src: "r1", off: -8 },
      { kind: "ldx", size: "W", dst: "r0", src: "r1", off: 0 },
      { kind: "alu", width: 32, op: "add", dst: "r1", src: "r2" },
      { kind: "end", order: "be", bits: 64, dst: "r1" },
      { kind: "end", order: "le", bits: 16, dst: "r1" },
      { kind: "atomic", op: "add", fetch: false, size: "DW", dst: "r1", src: "r2", off: 0 },
      { kind: "atomic", op: "xor", fetch: false, size: "W", dst: "r1", src: "r2", off: -4 },
      { kind: "atomic", op: "add", fetch: true, size: "DW", dst: "r1", src: "r2", off: 0 },
      { kind: "atomic", op: "or", fetch: true, size: "W", dst: "r1", src: "r2", off: 0 },
      { kind: "atomic", op: "xchg", fetch: true, size: "DW", dst: "r3", src: "r4", off: 8 },
      { kind: "atomic", op: "cmpxchg", fetch: true, size: "W", dst: "r3", src: "r4", off: 8 },
      { kind: "jmp", width: 32, op: "jsgt", dst: "r1", src: -1, off: -1 },
      { kind: "jmp", width: 64, op: "jne", dst: "r1", src: "r2", off: 0 },
      { kind: "ja", off: -17 },
      { kind: "alu", width: 64, op: "arsh", dst: "r1", src: -5 },
      { kind: "neg", width: 64, dst: "r1" },
      { kind: "neg", width: 32, dst: "r1" },
      { kind: "lddw", dst: "r1", imm: -1n },
      { kind: "lddw", dst: "r2", imm: 0x1234_5678_9an },
      { kind: "ld_map_value", dst: "r3", fd: 3, off: 16 },
      { kind: "call", helper: 9999 },
      { kind: "exit" },
    ];
    expect(disassemble(prog, { mapName: (id) => `id:${id}` })).toBe(
      [
        "0: (b7) r1 = 5",
        "1: (15) if r1 == 0x0 goto pc+3",
        "2: (18) r1 = map[id:3]",
        "4: (85) call bpf_map_lookup_elem#1",
        "5: (7b) *(u64 *)(r10 -8) = r1",
        "6: (61) r0 = *(u32 *)(r1 +0)",
        "7: (0c) w1 += w2",
        "8: (dc) r1 = be64 r1",
        "9: (d4) r1 = le16 r1",
        "10: (db) lock *(u64 *)(r1 +0) += r2",
        "11: (c3) lock *(u32 *)(r1 -4) ^= r2",
        "12: (db) r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)",
        "13: (c3) r2 = atomic_fetch_or((u32 *)(r1 +0), r2)",
        "14: (db) r4 = atomic64_xchg((u64 *)(r3 +8), r4)",
        "15: (c3) r0 = atomic_cmpxchg((u32 *)(r3 +8), r0, r4)",
        "16: (66) if w1 s> 0xffffffff goto pc-1",
        "17: (5d) if r1 != r2 goto pc+0",
        "18: (05) goto pc-17",
        "19: (c7) r1 s>>= -5",
        "20: (87) r1 = -r1",
        "21: (84) w1 = -w1",
        "22: (18) r1 = 0xffffffffffffffff",
        "24: (18) r2 = 0x123456789a",
        "26: (18) r3 = map[id:3][0]+16",
        "28: (85) call unknown#9999",
        "29: (95) exit",
      ].join("\n"),
    );
  });

  test("map names default to the fd and can be named", () => {
    const insn: Insn = { kind: "ld_map_fd", dst: "r1", fd: 5 };
    expect(formatInsn(insn)).toBe("r1 = map[fd:5]");
    expect(formatInsn(insn, { mapName: (fd) => (fd === 5 ? "counts" : undefined) })).toBe("r1 = map[counts]");
    expect(formatInsn({ ...insn, fd: 6 }, { mapName: () => undefined })).toBe("r1 = map[fd:6]");
  });
});

describe("decoder strictness", () => {
  const bad: [string, string][] = [
    ["06 00 00 00 05 00 00 00", "gotol (JMP32 | JA)"],
    ["00 00 00 00 00 00 00 00", "opcode 0"],
    ["95 00 00 00 01 00 00 00", "exit with imm set"],
    ["b7 21 00 00 05 00 00 00", "K-form mov with a src register"],
    ["bf 21 00 00 05 00 00 00", "X-form mov with an immediate"],
    ["07 01 01 00 05 00 00 00", "add with an offset"],
    ["b7 0b 00 00 05 00 00 00", "register 11"],
    ["85 10 00 00 05 00 00 00", "bpf-to-bpf call (src=1)"],
    ["18 01 00 00 05 00 00 00", "lddw without its second slot"],
    ["18 01 00 00 05 00 00 00 95 00 00 00 00 00 00 00", "lddw whose second slot has an opcode"],
    ["18 31 00 00 05 00 00 00 00 00 00 00 00 00 00 00", "lddw with src=3 (BTF id)"],
    ["db 21 00 00 e0 00 00 00", "xchg without fetch"],
    ["d3 21 00 00 00 00 00 00", "atomic of 1 byte"],
    ["dc 01 00 00 08 00 00 00", "byte swap of 8 bits"],
    ["df 01 00 00 10 00 00 00", "bswap with the X bit"],
    ["79 10 00 00 01 00 00 00", "ldx with imm set"],
    ["8f 01 00 00 00 00 00 00", "neg with the X bit"],
    ["e7 01 00 00 00 00 00 00", "ALU op 0xe0"],
  ];
  test.each(bad)("rejects %s (%s)", (h) => {
    expect(() => decode(bytes(h))).toThrow(/invalid or unsupported instruction at slot 0: /);
  });

  test("names the failing slot and rejects partial slots", () => {
    expect(() => decode(bytes("18 01 00 00 05 00 00 00 00 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00 95 01 00 00 00 00 00 00")))
      .toThrow("invalid or unsupported instruction at slot 3: 95 01 00 00 00 00 00 00");
    expect(() => decode(new Uint8Array(12))).toThrow(/not a multiple of 8/);
    expect(decode(new Uint8Array(0))).toEqual([]);
  });

  test("reads from a view with a nonzero byteOffset", () => {
    const buf = Buffer.from(bytes("00 11 22 33 44 55 66 77 95 00 00 00 00 00 00 00"));
    expect(decode(buf.subarray(8))).toEqual([{ kind: "exit" }]);
  });
});

describe("encoder range checks", () => {
  const bad: [Insn, RegExp][] = [
    [{ kind: "ja", off: 0x8000 }, /offset 32768 does not fit in 16 bits/],
    [{ kind: "ldx", size: "DW", dst: "r0", src: "r1", off: -0x8001 }, /offset -32769/],
    [{ kind: "alu", width: 64, op: "mov", dst: "r1", src: 2 ** 32 }, /immediate 4294967296 does not fit in 32 bits/],
    [{ kind: "alu", width: 64, op: "mov", dst: "r1", src: -(2 ** 31) - 1 }, /does not fit in 32 bits/],
    [{ kind: "alu", width: 64, op: "mov", dst: "r1", src: 1.5 }, /immediate 1.5/],
    [{ kind: "alu", width: 64, op: "mov", dst: "r11" as never, src: 1 }, /not a register: r11/],
    [{ kind: "alu", width: 64, op: "rol" as never, dst: "r1", src: 1 }, /unknown ALU operation: rol/],
    [{ kind: "jmp", width: 64, op: "jmp" as never, dst: "r1", src: 1, off: 0 }, /unknown jump condition: jmp/],
    [{ kind: "ldx", size: "QW" as never, dst: "r0", src: "r1", off: 0 }, /unknown size: QW/],
    [{ kind: "atomic", op: "add", fetch: false, size: "B" as never, dst: "r1", src: "r2", off: 0 }, /needs size W or DW/],
    [{ kind: "atomic", op: "xchg", fetch: false, size: "DW", dst: "r1", src: "r2", off: 0 }, /always fetches/],
    [{ kind: "end", order: "be", bits: 8 as never, dst: "r1" }, /bad byte swap width 8/],
    [{ kind: "lddw", dst: "r1", imm: 1n << 64n }, /does not fit in 64 bits/],
    [{ kind: "lddw", dst: "r1", imm: -(1n << 63n) - 1n }, /does not fit in 64 bits/],
    [{ kind: "ld_map_value", dst: "r1", fd: 3, off: -1 }, /map value offset -1/],
    [{ kind: "nop" } as never, /unknown instruction kind: nop/],
  ];
  test.each(titled(bad))("%s", (_, insn, err) => {
    expect(() => encode([insn])).toThrow(err);
  });

  test("unsigned spellings encode like their signed twins; decode gives the signed one", () => {
    const u: Insn = { kind: "jmp", width: 32, op: "jeq", dst: "r1", src: 0xffff_ffff, off: 0 };
    expect(decode(encode([u]))).toEqual([{ ...u, src: -1 }]);
    const big: Insn = { kind: "lddw", dst: "r1", imm: 0xffff_ffff_ffff_fffen };
    expect(decode(encode([big]))).toEqual([{ ...big, imm: -2n }]);
  });
});

describe("helpers", () => {
  const header = "/usr/include/linux/bpf.h";
  test.skipIf(!existsSync(header))("Helper numbers match enum bpf_func_id in linux/bpf.h", () => {
    const mapper = readFileSync(header, "utf8").split("#define __BPF_FUNC_MAPPER")[1]!.split(/\n\s*\n/)[0]!;
    // Older headers list FN(name) in id order; newer ones spell FN(name, id, ...).
    const ids = new Map<string, number>();
    [...mapper.matchAll(/FN\((\w+)(?:,\s*(\d+))?/g)].forEach((m, n) => ids.set(m[1]!, m[2] ? Number(m[2]) : n));
    expect(ids.get("unspec")).toBe(0);
    for (const [name, id] of Object.entries(Helper).filter(([, v]) => typeof v === "number")) {
      expect([name, ids.get(name)]).toEqual([name, id]);
    }
  });

  test("names", () => {
    expect(helperName(Helper.ringbuf_output)).toBe("bpf_ringbuf_output");
    expect(helperName(100000)).toBeUndefined();
    expect(Helper.get_func_ip).toBe(173);
  });
});

// ---- property tests ----

const reg = fc.constantFrom(...REGS);
const i32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const s16 = fc.integer({ min: -0x8000, max: 0x7fff });
const width = fc.constantFrom(32 as const, 64 as const);
const size = fc.constantFrom(...(Object.keys(SIZES) as (keyof typeof SIZES)[]));
const key = <T extends object>(t: T) => fc.constantFrom(...(Object.keys(t) as (keyof T)[]));

const arbInsn: fc.Arbitrary<Insn> = fc.oneof(
  fc.record({ kind: fc.constant("alu" as const), width, op: key(ALU_OPS), dst: reg, src: fc.oneof(reg, i32) }),
  fc.record({ kind: fc.constant("neg" as const), width, dst: reg }),
  fc.record({ kind: fc.constant("end" as const), order: fc.constantFrom("le" as const, "be" as const, "bswap" as const), bits: fc.constantFrom(16 as const, 32 as const, 64 as const), dst: reg }),
  fc.record({ kind: fc.constant("jmp" as const), width, op: key(JMP_OPS), dst: reg, src: fc.oneof(reg, i32), off: s16 }),
  fc.record({ kind: fc.constant("ja" as const), off: s16 }),
  fc.record({ kind: fc.constant("call" as const), helper: i32 }),
  fc.constant({ kind: "exit" as const }),
  fc.record({ kind: fc.constant("lddw" as const), dst: reg, imm: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }) }),
  fc.record({ kind: fc.constant("ld_map_fd" as const), dst: reg, fd: i32 }),
  fc.record({ kind: fc.constant("ld_map_value" as const), dst: reg, fd: i32, off: fc.integer({ min: 0, max: 0xffff_ffff }) }),
  fc.record({ kind: fc.constant("ldx" as const), size, dst: reg, src: reg, off: s16 }),
  fc.record({ kind: fc.constant("st" as const), size, dst: reg, off: s16, imm: i32 }),
  fc.record({ kind: fc.constant("stx" as const), size, dst: reg, src: reg, off: s16 }),
  key(ATOMIC_OPS).chain((op: AtomicOp) =>
    fc.record({
      kind: fc.constant("atomic" as const),
      op: fc.constant(op),
      fetch: op === "xchg" || op === "cmpxchg" ? fc.constant(true) : fc.boolean(),
      size: fc.constantFrom("W" as const, "DW" as const),
      dst: reg,
      src: reg,
      off: s16,
    }),
  ),
);

describe("properties", () => {
  test("decode(encode(x)) deep-equals x for arbitrary valid instructions", () => {
    fc.assert(
      fc.property(fc.array(arbInsn, { maxLength: 20 }), (insns) => {
        const b = encode(insns);
        expect(decode(b)).toEqual(insns);
        expect(disassemble(insns).split("\n").length).toBe(insns.length || 1);
      }),
      { numRuns: 2000 },
    );
  });

  test("any slot that decodes re-encodes to the same bytes", () => {
    const slot = fc.tuple(
      fc.integer({ min: 0, max: 255 }),
      fc.oneof(fc.integer({ min: 0, max: 0xaa }), fc.integer({ min: 0, max: 255 })),
      fc.oneof(fc.constant(0), s16),
      fc.oneof(fc.constantFrom(0, 1, 16, 32, 64, 0x01, 0x41, 0xe1, 0xf1), i32),
    );
    fc.assert(
      fc.property(fc.array(slot, { minLength: 1, maxLength: 4 }), (slots) => {
        const b = new Uint8Array(slots.length * 8);
        const v = new DataView(b.buffer);
        slots.forEach(([code, regs, off, imm], n) => {
          v.setUint8(n * 8, code);
          v.setUint8(n * 8 + 1, regs);
          v.setInt16(n * 8 + 2, off, true);
          v.setInt32(n * 8 + 4, imm, true);
        });
        let insns: Insn[];
        try {
          insns = decode(b);
        } catch (e) {
          expect(String(e)).toMatch(/invalid or unsupported instruction at slot \d+/);
          return;
        }
        expect(hex(encode(insns))).toBe(hex(b));
      }),
      { numRuns: 5000 },
    );
  });
});
