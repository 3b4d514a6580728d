// The builder: labels, map references and the errors for each that cannot be resolved.

import { describe, expect, test } from "vitest";
import {
  AsmError, Assembler, Helper, R0, R1, R2, R3, R6, R10,
  disassemble, encode, mapRef, type Insn,
} from "../../../compiler/asm/index.js";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

/** `n` one-slot instructions. */
function pad(a: Assembler, n: number): Assembler {
  for (let k = 0; k < n; k++) a.mov64(R0, 0);
  return a;
}

describe("Assembler", () => {
  test("the example program", () => {
    const a = new Assembler();
    a.mov64(R1, 5);
    a.jeq(R1, 0, "out");
    a.label("out");
    a.ldMapFd(R1, mapRef("counts"));
    a.call(Helper.map_lookup_elem);
    a.exit();
    const insns = a.assemble({ maps: { counts: 7 } });
    expect(disassemble(insns)).toBe(
      ["0: (b7) r1 = 5", "1: (15) if r1 == 0x0 goto pc+0", "2: (18) r1 = map[fd:7]", "4: (85) call bpf_map_lookup_elem#1", "5: (95) exit"].join("\n"),
    );
    expect(hex(encode(insns))).toBe(
      "b7 01 00 00 05 00 00 00 15 01 00 00 00 00 00 00 18 11 00 00 07 00 00 00 00 00 00 00 00 00 00 00 85 00 00 00 01 00 00 00 95 00 00 00 00 00 00 00",
    );
  });

  test("forward and backward labels, counting lddw as two slots", () => {
    const a = new Assembler()
      .mov64(R6, 0)
      .label("loop") // slot 1
      .lddw(R1, 0x1_0000_0000n) // slots 1-2
      .jge(R6, 10, "done") // slot 3 -> 8: off 4
      .add64(R6, 1) // slot 4
      .ldMapValue(R2, 3, 8) // slots 5-6
      .ja("loop") // slot 7 -> 1: off -7
      .label("done")
      .exit(); // slot 8
    const insns = a.assemble();
    expect(insns[2]).toEqual({ kind: "jmp", width: 64, op: "jge", dst: "r6", src: 10, off: 4 });
    expect(insns[5]).toEqual({ kind: "ja", off: -7 });
    expect(disassemble(insns).split("\n")).toEqual([
      "0: (b7) r6 = 0",
      "1: (18) r1 = 0x100000000",
      "3: (35) if r6 >= 0xa goto pc+4",
      "4: (07) r6 += 1",
      "5: (18) r2 = map[fd:3][0]+8",
      "7: (05) goto pc-7",
      "8: (95) exit",
    ]);
  });

  test("a jump to itself, and JMP32 shortcuts", () => {
    const insns = new Assembler().label("self").jset32(R1, 0xffff_ffff, "self").exit().assemble();
    expect(insns[0]).toEqual({ kind: "jmp", width: 32, op: "jset", dst: "r1", src: -1, off: -1 });
  });

  test("label range: offsets must fit in 16 bits", () => {
    // Forward: from slot 0 over 32767 instructions is +32767, one more is +32768.
    const fwd = (n: number) => pad(new Assembler().ja("end"), n).label("end").exit();
    expect(fwd(0x7fff).assemble()[0]).toEqual({ kind: "ja", off: 0x7fff });
    expect(() => fwd(0x8000).assemble()).toThrow(
      new AsmError('jump at 0 to label "end" is out of range: offset 32768 does not fit in 16 bits'),
    );
    // Backward: -32768 is the farthest.
    const back = (n: number) => pad(new Assembler().label("top"), n).jne(R1, R2, "top").exit();
    expect(back(0x7fff).assemble()[0x7fff]).toMatchObject({ off: -0x8000 });
    expect(() => back(0x8000).assemble()).toThrow(/jump at 32768 to label "top" is out of range: offset -32769/);
  });

  test("unknown, duplicate and dangling labels are errors that name the label", () => {
    expect(() => new Assembler().ja("nowhere").exit().assemble()).toThrow(new AsmError('unknown label "nowhere" (jump at 0)'));
    expect(() => new Assembler().label("x").label("x")).toThrow(new AsmError('duplicate label "x"'));
    expect(() => new Assembler().ja("end").exit().label("end").assemble()).toThrow(
      new AsmError('label "end" is not followed by an instruction (jump at 0)'),
    );
  });

  test("map references resolve to fds; unknown maps are errors that name the map", () => {
    const a = new Assembler().ldMapFd(R1, mapRef("counts")).ldMapValue(R2, mapRef("fmt"), 16).exit();
    expect(a.assemble({ maps: { counts: 4, fmt: 9 } }).slice(0, 2)).toEqual([
      { kind: "ld_map_fd", dst: "r1", fd: 4 },
      { kind: "ld_map_value", dst: "r2", fd: 9, off: 16 },
    ]);
    expect(hex(encode(a.assemble({ maps: { counts: 4, fmt: 9 } })))).toBe(
      "18 11 00 00 04 00 00 00 00 00 00 00 00 00 00 00 18 22 00 00 09 00 00 00 00 00 00 00 10 00 00 00 95 00 00 00 00 00 00 00",
    );
    expect(() => a.assemble({ maps: { counts: 4 } })).toThrow(new AsmError('unknown map "fmt" (loaded at 2)'));
    expect(() => a.assemble()).toThrow(/unknown map "counts"/);
    expect(() => a.assemble({ maps: { counts: 4, fmt: 9, toString: 1 } })).not.toThrow();
    expect(() => new Assembler().ldMapFd(R1, mapRef("toString")).assemble({ maps: {} })).toThrow(/unknown map "toString"/);
    expect(() => a.assemble({ maps: { counts: 2 ** 40, fmt: 1 } })).toThrow(RangeError);
  });

  test("fields are checked when the instruction is added", () => {
    const a = new Assembler();
    expect(() => a.mov64(R1, 2 ** 32)).toThrow(/immediate 4294967296 does not fit in 32 bits/);
    expect(() => a.ldx("DW", R0, R1, 40000)).toThrow(/offset 40000 does not fit in 16 bits/);
    expect(() => a.lddw(R1, 1n << 64n)).toThrow(/does not fit in 64 bits/);
    expect(() => a.atomic("add", "B" as never, R1, 0, R2)).toThrow(/needs size W or DW/);
    expect(a.length).toBe(0);
  });

  test("builder methods cover every instruction kind", () => {
    const insns = new Assembler()
      .alu("mod", 64, R1, R2)
      .sub32(R1, -1)
      .arsh64(R1, 3)
      .sdiv64(R1, R2)
      .neg64(R1)
      .neg32(R1)
      .end("be", 16, R1)
      .st("W", R10, -4, 0xffff_ffff)
      .stx("B", R10, -5, R3)
      .ldx("H", R0, R10, -6)
      .atomic("add", "W", R1, 0, R2)
      .atomic("add", "DW", R1, 0, R2, true)
      .atomic("cmpxchg", "DW", R1, 0, R2)
      .lddw(R1, 0xffff_ffff_ffff_ffffn)
      .emit({ kind: "call", helper: Helper.ktime_get_ns })
      .exit()
      .assemble();
    const want: Insn[] = [
      { kind: "alu", width: 64, op: "mod", dst: "r1", src: "r2" },
      { kind: "alu", width: 32, op: "sub", dst: "r1", src: -1 },
      { kind: "alu", width: 64, op: "arsh", dst: "r1", src: 3 },
      { kind: "alu", width: 64, op: "sdiv", dst: "r1", src: "r2" },
      { kind: "neg", width: 64, dst: "r1" },
      { kind: "neg", width: 32, dst: "r1" },
      { kind: "end", order: "be", bits: 16, dst: "r1" },
      { kind: "st", size: "W", dst: "r10", off: -4, imm: -1 },
      { kind: "stx", size: "B", dst: "r10", src: "r3", off: -5 },
      { kind: "ldx", size: "H", dst: "r0", src: "r10", off: -6 },
      { kind: "atomic", op: "add", fetch: false, size: "W", dst: "r1", src: "r2", off: 0 },
      { kind: "atomic", op: "add", fetch: true, size: "DW", dst: "r1", src: "r2", off: 0 },
      { kind: "atomic", op: "cmpxchg", fetch: true, size: "DW", dst: "r1", src: "r2", off: 0 },
      { kind: "lddw", dst: "r1", imm: -1n },
      { kind: "call", helper: 5 },
      { kind: "exit" },
    ];
    expect(insns).toEqual(want);
  });

  test("assemble() can be called again with other maps and does not change the builder", () => {
    const a = new Assembler().ldMapFd(R1, mapRef("m")).exit();
    expect(a.assemble({ maps: { m: 1 } })[0]).toMatchObject({ fd: 1 });
    expect(a.assemble({ maps: { m: 2 } })[0]).toMatchObject({ fd: 2 });
  });
});
