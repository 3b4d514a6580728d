// The SDT argument-spec parser: every operand form, real strings, and errors.

import { describe, expect, test } from "vitest";
import {
  X86_64_ARG_REGISTERS, X86_64_PT_REGS_OFFSETS, X86_64_PT_REGS_SIZE, lookupX86Register, parseUsdtArg,
  parseUsdtArgs, ptRegsOffsetOfArg, UsdtArgError, type UsdtArg,
} from "../../../compiler/elf/index.js";

/** A compact view of an argument, for table-driven expectations. */
function view(a: UsdtArg): Record<string, unknown> {
  const reg = (r: { reg: string; width: number; bitOffset: number } | undefined) =>
    r === undefined ? undefined : `${r.reg}/${r.width}${r.bitOffset ? `+${r.bitOffset}` : ""}`;
  switch (a.kind) {
    case "reg":
      return { kind: a.kind, size: a.size, signed: a.signed, reg: reg(a.reg) };
    case "mem":
      return {
        kind: a.kind, size: a.size, signed: a.signed, base: reg(a.base), index: reg(a.index),
        scale: a.scale, offset: a.offset, symbol: a.symbol,
      };
    case "const":
      return { kind: a.kind, size: a.size, signed: a.signed, value: a.value, symbol: a.symbol };
  }
}

describe("parseUsdtArg: operand forms", () => {
  const cases: [string, Record<string, unknown>][] = [
    ["8@%rax", { kind: "reg", size: 8, signed: false, reg: "rax/8" }],
    ["-8@%rax", { kind: "reg", size: 8, signed: true, reg: "rax/8" }],
    ["-4@%r13d", { kind: "reg", size: 4, signed: true, reg: "r13/4" }],
    ["-4@%eax", { kind: "reg", size: 4, signed: true, reg: "rax/4" }],
    ["2@%ax", { kind: "reg", size: 2, signed: false, reg: "rax/2" }],
    ["-1@%al", { kind: "reg", size: 1, signed: true, reg: "rax/1" }],
    ["1@%ah", { kind: "reg", size: 1, signed: false, reg: "rax/1+8" }],
    ["1@%dh", { kind: "reg", size: 1, signed: false, reg: "rdx/1+8" }],
    ["1@%sil", { kind: "reg", size: 1, signed: false, reg: "rsi/1" }],
    ["-1@%dil", { kind: "reg", size: 1, signed: true, reg: "rdi/1" }],
    ["2@%r8w", { kind: "reg", size: 2, signed: false, reg: "r8/2" }],
    ["1@%r8b", { kind: "reg", size: 1, signed: false, reg: "r8/1" }],
    ["4@%r8d", { kind: "reg", size: 4, signed: false, reg: "r8/4" }],
    ["8@%r15", { kind: "reg", size: 8, signed: false, reg: "r15/8" }],
    ["8@%rip", { kind: "reg", size: 8, signed: false, reg: "rip/8" }],
    ["8@%rsp", { kind: "reg", size: 8, signed: false, reg: "rsp/8" }],
    ["4@(%r12)", { kind: "mem", size: 4, signed: false, base: "r12/8", index: undefined, scale: 1, offset: 0, symbol: undefined }],
    ["8@-144(%rbp)", { kind: "mem", size: 8, signed: false, base: "rbp/8", index: undefined, scale: 1, offset: -144, symbol: undefined }],
    ["-4@112(%rsp)", { kind: "mem", size: 4, signed: true, base: "rsp/8", index: undefined, scale: 1, offset: 112, symbol: undefined }],
    ["4@8(%rbx,%rax,4)", { kind: "mem", size: 4, signed: false, base: "rbx/8", index: "rax/8", scale: 4, offset: 8, symbol: undefined }],
    ["-8@(%r10,%rax,8)", { kind: "mem", size: 8, signed: true, base: "r10/8", index: "rax/8", scale: 8, offset: 0, symbol: undefined }],
    ["4@(%rbx,%rcx)", { kind: "mem", size: 4, signed: false, base: "rbx/8", index: "rcx/8", scale: 1, offset: 0, symbol: undefined }],
    ["-8@garr(,%rax,8)", { kind: "mem", size: 8, signed: true, base: undefined, index: "rax/8", scale: 8, offset: 0, symbol: "garr" }],
    ["4@16(,%rdx,2)", { kind: "mem", size: 4, signed: false, base: undefined, index: "rdx/8", scale: 2, offset: 16, symbol: undefined }],
    ["8@foo+16(%rip)", { kind: "mem", size: 8, signed: false, base: "rip/8", index: undefined, scale: 1, offset: 16, symbol: "foo" }],
    ["8@16+CheckpointStats(%rip)", { kind: "mem", size: 8, signed: false, base: "rip/8", index: undefined, scale: 1, offset: 16, symbol: "CheckpointStats" }],
    ["-4@NBuffers(%rip)", { kind: "mem", size: 4, signed: true, base: "rip/8", index: undefined, scale: 1, offset: 0, symbol: "NBuffers" }],
    ["8@bar-8(%rip)", { kind: "mem", size: 8, signed: false, base: "rip/8", index: undefined, scale: 1, offset: -8, symbol: "bar" }],
    ["8@16(%rip)", { kind: "mem", size: 8, signed: false, base: "rip/8", index: undefined, scale: 1, offset: 16, symbol: undefined }],
    ["8@_ZN3foo3barE.lto_priv.0(%rip)", { kind: "mem", size: 8, signed: false, base: "rip/8", index: undefined, scale: 1, offset: 0, symbol: "_ZN3foo3barE.lto_priv.0" }],
    ["4@0x601040", { kind: "mem", size: 4, signed: false, base: undefined, index: undefined, scale: 1, offset: 0x601040, symbol: undefined }],
    ["4@gcounter", { kind: "mem", size: 4, signed: false, base: undefined, index: undefined, scale: 1, offset: 0, symbol: "gcounter" }],
    ["4@0x10(%rdi)", { kind: "mem", size: 4, signed: false, base: "rdi/8", index: undefined, scale: 1, offset: 16, symbol: undefined }],
    ["4@-0x10(%rdi)", { kind: "mem", size: 4, signed: false, base: "rdi/8", index: undefined, scale: 1, offset: -16, symbol: undefined }],
    ["8@$-5", { kind: "const", size: 8, signed: false, value: 2n ** 64n - 5n, symbol: undefined }],
    ["-8@$-5", { kind: "const", size: 8, signed: true, value: -5n, symbol: undefined }],
    ["-4@$-5", { kind: "const", size: 4, signed: true, value: -5n, symbol: undefined }],
    ["4@$-1", { kind: "const", size: 4, signed: false, value: 0xffffffffn, symbol: undefined }],
    ["-4@$1", { kind: "const", size: 4, signed: true, value: 1n, symbol: undefined }],
    ["-8@$1234567890123", { kind: "const", size: 8, signed: true, value: 1234567890123n, symbol: undefined }],
    ["8@$18446744073709551615", { kind: "const", size: 8, signed: false, value: 18446744073709551615n, symbol: undefined }],
    ["1@$0x1ff", { kind: "const", size: 1, signed: false, value: 0xffn, symbol: undefined }],
    ["8@$010", { kind: "const", size: 8, signed: false, value: 8n, symbol: undefined }],
    ["8@$.LC0", { kind: "const", size: 8, signed: false, value: 0n, symbol: ".LC0" }],
    ["8@$table+8", { kind: "const", size: 8, signed: false, value: 8n, symbol: "table" }],
  ];
  test.each(cases)("%s", (text, expected) => {
    const a = parseUsdtArg(text);
    expect(view(a)).toEqual(expected);
    expect(a.text).toBe(text);
    expect(a.float).toBe(false);
  });

  test("register operands carry the pt_regs offset of the 64-bit register", () => {
    const a = parseUsdtArg("-4@%r13d");
    expect(a.kind === "reg" && a.reg.ptRegsOffset).toBe(16);
    const b = parseUsdtArg("1@%ah");
    expect(b.kind === "reg" && b.reg.ptRegsOffset).toBe(80);
    const c = parseUsdtArg("4@8(%rbx,%rax,4)");
    expect(c.kind === "mem" && [c.base?.ptRegsOffset, c.index?.ptRegsOffset]).toEqual([40, 80]);
  });

  test("floating-point arguments (`f` after the size, newer sdt.h)", () => {
    const a = parseUsdtArg("8f@gd(%rip)");
    expect(a.float).toBe(true);
    expect(a.kind).toBe("mem");
    const b = parseUsdtArg("-8f@%rcx");
    expect([b.kind, b.float, b.signed, b.size]).toEqual(["reg", true, true, 8]);
    expect(parseUsdtArg("4f@-4(%rbp)").float).toBe(true);
  });

  test("register names are case-insensitive", () => {
    expect(view(parseUsdtArg("8@%RAX"))).toEqual({ kind: "reg", size: 8, signed: false, reg: "rax/8" });
  });
});

describe("parseUsdtArgs: whole strings", () => {
  test("empty and whitespace strings give no arguments", () => {
    expect(parseUsdtArgs("")).toEqual([]);
    expect(parseUsdtArgs("   ")).toEqual([]);
  });

  test("splits on any whitespace", () => {
    expect(parseUsdtArgs(" 8@%rdi\t-4@%esi  8@$1 ").map((a) => a.text)).toEqual(["8@%rdi", "-4@%esi", "8@$1"]);
  });

  // Strings as they appear in the notes of python3.11, libstdc++ and postgres on Debian 12.
  const real: [string, string[]][] = [
    ["8@%rbx 8@%r15", ["reg", "reg"]],
    ["-8@%r12", ["reg"]],
    ["-4@112(%rsp)", ["mem"]],
    ["8@%r14 8@%rax -4@%ebp", ["reg", "reg", "reg"]],
    ["8@%rax -4@%edx", ["reg", "reg"]],
    ["8@%rbp 8@%r12 -4@%eax", ["reg", "reg", "reg"]],
    ["8@%rdx 8@-80(%rbx)", ["reg", "mem"]],
    ["8@%rdi 8@%rsi", ["reg", "reg"]],
    ["8@%rdx 8@%rax", ["reg", "reg"]],
    ["-4@$1", ["const"]],
    ["-4@%r12d -4@%ebx -4@%r13d 1@%al", ["reg", "reg", "reg", "reg"]],
    ["-4@NBuffers(%rip)", ["mem"]],
    ["8@16+CheckpointStats(%rip) 8@24+CheckpointStats(%rip)", ["mem", "mem"]],
    ["-4@%edi -8@%rsi -1@%dl -2@%cx -8@(%r10,%rax,8) -4@(%r8,%rax,4)", ["reg", "reg", "reg", "reg", "mem", "mem"]],
  ];
  test.each(real)("%s", (spec, kinds) => {
    expect(parseUsdtArgs(spec).map((a) => a.kind)).toEqual(kinds);
  });
});

describe("parseUsdtArg: errors", () => {
  const bad: [string, RegExp][] = [
    ["%rax", /SIZE@OPERAND/],
    ["@%rax", /SIZE@OPERAND/],
    ["x@%rax", /SIZE@OPERAND/],
    ["4@", /empty operand/],
    ["16@%rax", /size 16/],
    ["3@%rax", /size 3/],
    ["8@%xmm0", /vector\/floating-point register %xmm0/],
    ["8@%st(0)", /(unknown register|floating-point)/],
    ["8@%foo", /unknown register %foo/],
    ["8@%fs:40", /segment-relative/],
    ["8@%fs:0x28(%rax)", /segment-relative/],
    ["8@foo@GOTPCREL(%rip)", /relocation specifiers/],
    ["4@(%eax)", /32-bit address register/],
    ["4@8(%rbx,%eax,4)", /index register %eax is not a 64-bit/],
    ["4@8(%rbx,%rsp,4)", /cannot be an index register/],
    ["4@8(%rbx,%rax,3)", /scale 3/],
    ["4@8(%rbx,,4)", /scale without an index/],
    ["4@8(%rbx,%rax,4,1)", /too many components/],
    ["4@8(%rbx", /unbalanced/],
    ["4@8%rbx)", /(unbalanced|malformed)/],
    ["4@()", /empty memory operand/],
    ["4@(rbx)", /expected a register/],
    ["4@8(%rip,%rax,1)", /rip-relative operands cannot have an index/],
    ["4@a+b(%rip)", /more than one symbol/],
    ["4@-sym(%rip)", /negated symbol/],
    ["4@$", /empty constant/],
    ["4@$1+", /malformed/],
    ["4@1*2(%rax)", /malformed/],
    ["8@%rax(%rbx)", /register cannot be followed/],
  ];
  test.each(bad)("%s", (text, re) => {
    let err: unknown;
    try {
      parseUsdtArg(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsdtArgError);
    expect((err as UsdtArgError).message).toMatch(re);
    expect((err as UsdtArgError).message).toContain(`"${text}"`);
    expect((err as UsdtArgError).arg).toBe(text);
  });

  test("an error in one entry names that entry", () => {
    expect(() => parseUsdtArgs("8@%rax 8@%xmm1 4@$1")).toThrow(/"8@%xmm1"/);
  });
});

describe("x86-64 pt_regs table", () => {
  test("offsets of struct pt_regs", () => {
    expect(X86_64_PT_REGS_OFFSETS).toEqual({
      r15: 0, r14: 8, r13: 16, r12: 24, rbp: 32, rbx: 40, r11: 48, r10: 56, r9: 64, r8: 72,
      rax: 80, rcx: 88, rdx: 96, rsi: 104, rdi: 112, orig_ax: 120, rip: 128, cs: 136, flags: 144,
      rsp: 152, ss: 160,
    });
    expect(X86_64_PT_REGS_SIZE).toBe(168);
  });

  test("argument registers arg0..arg5", () => {
    expect(X86_64_ARG_REGISTERS).toEqual(["rdi", "rsi", "rdx", "rcx", "r8", "r9"]);
    expect([0, 1, 2, 3, 4, 5, 6].map(ptRegsOffsetOfArg)).toEqual([112, 104, 96, 88, 72, 64, undefined]);
  });

  test("every sub-register maps into its 64-bit register", () => {
    const groups: [string, string[]][] = [
      ["rax", ["eax", "ax", "al", "ah"]], ["rbx", ["ebx", "bx", "bl", "bh"]],
      ["rcx", ["ecx", "cx", "cl", "ch"]], ["rdx", ["edx", "dx", "dl", "dh"]],
      ["rsi", ["esi", "si", "sil"]], ["rdi", ["edi", "di", "dil"]],
      ["rbp", ["ebp", "bp", "bpl"]], ["rsp", ["esp", "sp", "spl"]],
      ...[8, 9, 10, 11, 12, 13, 14, 15].map((i): [string, string[]] => [`r${i}`, [`r${i}d`, `r${i}w`, `r${i}b`]]),
      ["rip", ["eip"]],
    ];
    for (const [r64, subs] of groups) {
      const full = lookupX86Register(`%${r64}`)!;
      expect(full.width).toBe(8);
      expect(full.ptRegsOffset).toBe(X86_64_PT_REGS_OFFSETS[r64 as keyof typeof X86_64_PT_REGS_OFFSETS]);
      for (const s of subs) {
        const r = lookupX86Register(s)!;
        expect(r.reg, s).toBe(r64);
        expect(r.ptRegsOffset).toBe(full.ptRegsOffset);
        expect(r.bitOffset).toBe(/^[abcd]h$/.test(s) ? 8 : 0);
      }
    }
    expect(lookupX86Register("%xmm0")).toBeUndefined();
  });
});
