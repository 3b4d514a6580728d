import { describe, expect, test } from "vitest";
import {
  expectedArgs,
  parseFormat,
  type ConversionSegment,
  type FormatError,
  type Segment,
} from "../../compiler/printf.js";
import { formatPrintf, formatPrintfBytes, type PrintfValue } from "../../runtime/format/printf.js";

function segments(fmt: string): Segment[] {
  const r = parseFormat(fmt);
  if ("error" in r) throw new Error(`unexpected parse error for ${JSON.stringify(fmt)}: ${r.error.message}`);
  return r.segments;
}

function parseError(fmt: string): FormatError {
  const r = parseFormat(fmt);
  if (!("error" in r)) throw new Error(`expected a parse error for ${JSON.stringify(fmt)}`);
  return r.error;
}

function conv(fmt: string): ConversionSegment {
  const args = expectedArgs(segments(fmt));
  expect(args).toHaveLength(1);
  return args[0]!;
}

/** Formats with a format given as text: the compiler hands formats over as byte strings. */
function fmt(format: string, ...values: PrintfValue[]): string {
  return formatPrintf(segments(Buffer.from(format, "utf8").toString("latin1")), values);
}

const noFlags = { minus: false, plus: false, space: false, hash: false, zero: false };

describe("parseFormat", () => {
  test("plain text, %% and empty string", () => {
    expect(segments("")).toEqual([]);
    expect(segments("hello\n")).toEqual([{ type: "literal", text: "hello\n", offset: 0, length: 6 }]);
    expect(segments("100%% sure %%%%")).toEqual([
      { type: "literal", text: "100% sure %%", offset: 0, length: 15 },
    ]);
  });

  test("conversions between literals, with offsets", () => {
    const segs = segments("pid %d comm %-16s%%\n");
    expect(segs).toEqual([
      { type: "literal", text: "pid ", offset: 0, length: 4 },
      {
        type: "conversion",
        flags: noFlags,
        width: undefined,
        precision: undefined,
        lengthModifier: "",
        conversion: "d",
        kind: "signed",
        text: "%d",
        offset: 4,
        length: 2,
      },
      { type: "literal", text: " comm ", offset: 6, length: 6 },
      {
        type: "conversion",
        flags: { ...noFlags, minus: true },
        width: 16,
        precision: undefined,
        lengthModifier: "",
        conversion: "s",
        kind: "string",
        text: "%-16s",
        offset: 12,
        length: 5,
      },
      { type: "literal", text: "%\n", offset: 17, length: 3 },
    ]);
    expect(expectedArgs(segs).map((c) => c.text)).toEqual(["%d", "%-16s"]);
  });

  test("adjacent conversions and conversions followed by letters", () => {
    expect(expectedArgs(segments("%d%s%x")).map((c) => [c.conversion, c.offset])).toEqual([
      ["d", 0],
      ["s", 2],
      ["x", 4],
    ]);
    // bpftrace >= 0.12: "%ds" is %d followed by the letter s.
    expect(segments("%ds")).toMatchObject([{ type: "conversion", conversion: "d" }, { type: "literal", text: "s" }]);
  });

  test("kinds", () => {
    const kinds = Object.fromEntries(
      ["d", "i", "u", "o", "x", "X", "c", "s", "p", "r", "rx", "rh"].map((c) => [c, conv(`%${c}`).kind]),
    );
    expect(kinds).toEqual({
      d: "signed",
      i: "signed",
      u: "unsigned",
      o: "unsigned",
      x: "unsigned",
      X: "unsigned",
      c: "char",
      s: "string",
      p: "pointer",
      r: "buffer",
      rx: "buffer",
      rh: "buffer",
    });
    expect(conv("%rx")).toMatchObject({ conversion: "rx", text: "%rx", length: 3 });
    expect(parseFormat("%-8rh")).toMatchObject({ error: { message: "invalid conversion '%-8rh' in format string: %rh takes no flags, width, precision or length modifier" } });
  });

  test("flags in any order, repeated", () => {
    expect(conv("%-+ #0d").flags).toEqual({ minus: true, plus: true, space: true, hash: true, zero: true });
    expect(conv("%0#0 0x").flags).toEqual({ ...noFlags, space: true, hash: true, zero: true });
    expect(conv("%--5d")).toMatchObject({ flags: { ...noFlags, minus: true }, width: 5 });
    expect(conv("%05d")).toMatchObject({ flags: { ...noFlags, zero: true }, width: 5 });
  });

  test("width and precision", () => {
    expect(conv("%10.4d")).toMatchObject({ width: 10, precision: 4 });
    expect(conv("%.3s")).toMatchObject({ width: undefined, precision: 3 });
    expect(conv("%.s")).toMatchObject({ precision: 0 });
    expect(conv("%5.d")).toMatchObject({ width: 5, precision: 0 });
    expect(conv("%007d")).toMatchObject({ width: 7, flags: { zero: true } });
    expect(conv("%1000000d").width).toBe(1000000);
  });

  test("length modifiers", () => {
    for (const m of ["hh", "h", "l", "ll", "j", "z", "t", "L"]) {
      expect(conv(`%${m}d`)).toMatchObject({ lengthModifier: m, conversion: "d", length: 2 + m.length });
      expect(conv(`%-4${m}x`)).toMatchObject({ lengthModifier: m, conversion: "x", width: 4 });
      expect(conv(`%${m}p`)).toMatchObject({ lengthModifier: m, kind: "pointer" });
    }
    expect(conv("%llu")).toMatchObject({ lengthModifier: "ll", conversion: "u", text: "%llu" });
  });

  const bad: [string, number, number, RegExp][] = [
    ["%y", 0, 2, /^invalid conversion '%y' in format string$/],
    ["abc %-10y def", 4, 5, /^invalid conversion '%-10y' in format string$/],
    ["%d %", 3, 1, /^invalid conversion '%' at end of format string$/],
    ["x %-08.3", 2, 6, /^invalid conversion '%-08.3' at end of format string$/],
    ["%ll", 0, 3, /at end of format string/],
    ["ok %n", 3, 2, /^invalid conversion '%n' in format string: %n is not supported$/],
    ["%*d", 0, 3, /^invalid conversion '%\*d' in format string: '\*' width/],
    ["%.*s", 0, 4, /'\*' width and precision are not supported/],
    ["%5.2f", 0, 5, /floating-point conversions are not supported/],
    ["%e", 0, 2, /floating-point/],
    ["%lf", 0, 3, /floating-point/],
    ["%hhhd", 0, 4, /^invalid conversion '%hhh' in format string$/],
    ["%lld %lll", 5, 4, /^invalid conversion '%lll'/],
    ["%qd", 0, 2, /^invalid conversion '%q'/],
    ["%m", 0, 2, /^invalid conversion '%m'/],
    ["%5%", 0, 3, /'%%' takes no flags/],
    ["%-%", 0, 3, /'%%' takes no flags/],
    ["%ls", 0, 3, /length modifier 'l' is not allowed with %s/],
    ["%hhc", 0, 4, /length modifier 'hh' is not allowed with %c/],
    ["%lrx", 0, 4, /%rx takes no flags, width, precision or length modifier/],
    ["%1000001d", 0, 9, /larger than 1000000/],
    ["%.99999999999999999999d", 0, 23, /larger than/],
    ["%d %s %\u00e9", 6, 2, /^invalid conversion '%\u00e9'/],
    ["%-\u{1f600}", 0, 4, /^invalid conversion '%-\u{1f600}' in format string$/u],
  ];
  test.each(bad)("error for %j at offset %i length %i", (format, offset, length, message) => {
    const err = parseError(format);
    expect(err).toMatchObject({ offset, length });
    expect(err.message).toMatch(message);
  });
});

describe("formatPrintf", () => {
  test("bpftrace 0.17 integer widths: the length modifier picks the bits", () => {
    // The 64-bit value is passed to snprintf with the format unchanged.
    expect(fmt("%d", 5000000000n)).toBe("705032704");
    expect(fmt("%ld|%lld|%jd|%zd|%td|%Ld", 5000000000n, 5000000000n, 5000000000n, 5000000000n, 5000000000n, 5000000000n))
      .toBe("5000000000|5000000000|5000000000|5000000000|5000000000|5000000000");
    expect(fmt("%x %lx", -1n, -1n)).toBe("ffffffff ffffffffffffffff");
    expect(fmt("%u %llu", -1n, -1n)).toBe("4294967295 18446744073709551615");
    expect(fmt("%hd %hhd %hu %hhu", 40000n, 200n, -1n, -1n)).toBe("-25536 -56 65535 255");
    expect(fmt("%d", 0x80000000n)).toBe("-2147483648");
  });

  test("argument types are extended from their own size first", () => {
    const i8 = (v: bigint): PrintfValue => ({ int: v, signed: true, size: 1 });
    const u8 = (v: bigint): PrintfValue => ({ int: v, signed: false, size: 1 });
    expect(fmt("%d", i8(-10n))).toBe("-10");
    expect(fmt("%u", i8(-10n))).toBe("4294967286");
    expect(fmt("%lu", i8(-10n))).toBe("18446744073709551606");
    expect(fmt("%x", i8(-10n))).toBe("fffffff6");
    expect(fmt("%hhx", i8(-10n))).toBe("f6");
    // Raw bits are fine too: only the low `size` bytes count.
    expect(fmt("%d", i8(0xf6n))).toBe("-10");
    expect(fmt("%d %lld", u8(0xf6n), u8(-10n))).toBe("246 246");
    expect(fmt("%lld", { int: 0xffffffffn, signed: true, size: 4 })).toBe("-1");
    expect(fmt("%lld", { int: 0xffffffffn, signed: false, size: 4 })).toBe("4294967295");
    expect(fmt("%d", { int: -5n, signed: true, size: 8 })).toBe("-5");
  });

  test("flags, width and precision", () => {
    expect(fmt("%-10s|", "abc")).toBe("abc       |");
    expect(fmt("%10s|", "abc")).toBe("       abc|");
    expect(fmt("%05d", 42n)).toBe("00042");
    expect(fmt("%05d", -42n)).toBe("-0042");
    expect(fmt("%+d %+d", 5n, -5n)).toBe("+5 -5");
    expect(fmt("% d % d", 5n, -5n)).toBe(" 5 -5");
    expect(fmt("%+ d", 5n)).toBe("+5");
    expect(fmt("%#x %#X %#x", 255n, 255n, 0n)).toBe("0xff 0XFF 0");
    expect(fmt("%#o %#o %o", 8n, 0n, 8n)).toBe("010 0 10");
    expect(fmt("%.3s|", "abcdef")).toBe("abc|");
    expect(fmt("%10.4d|", 42n)).toBe("      0042|");
    expect(fmt("%-10.4d|", -42n)).toBe("-0042     |");
    expect(fmt("%010.4d|", 42n)).toBe("      0042|");
    expect(fmt("%.0d|%.0x|%#.0o|%5.0d|", 0n, 0n, 0n, 0n)).toBe("||0|     |");
    expect(fmt("%#08x", 255n)).toBe("0x0000ff");
    expect(fmt("%+u %+x", 5n, 5n)).toBe("5 5");
  });

  test("%c", () => {
    expect(fmt("%c%c%c", 104n, 105n, 0x121n)).toBe("hi!");
    expect(fmt("[%3c][%-3c]", 65n, 66n)).toBe("[  A][B  ]");
    expect(fmt("[%05c]", 65n)).toBe("[    A]");
    // A NUL ends that conversion's output (bpftrace prints a C string).
    expect(fmt("[%c][%3c][%-3c]", 0n, 0n, 0n)).toBe("[][  ][]");
    expect(formatPrintfBytes(segments("%c"), [0xe9n])).toEqual(Uint8Array.of(0xe9));
  });

  test("%p", () => {
    expect(fmt("%p", 0xffffffff81000000n)).toBe("0xffffffff81000000");
    expect(fmt("%p", -1n)).toBe("0xffffffffffffffff");
    expect(fmt("%p|%10p|%-10p|%.2p|", 0n, 0n, 0n, 0n)).toBe("(nil)|     (nil)|(nil)     |(nil)|");
    expect(fmt("%018p", 0x1234n)).toBe("0x0000000000001234");
    expect(fmt("%+p % p", 16n, 16n)).toBe("+0x10  0x10");
    expect(fmt("%hhp", 0x1234n)).toBe("0x1234");
  });

  test("%s counts bytes, stops at NUL", () => {
    expect(fmt("[%6s]", "h\u00e9")).toBe("[   h\u00e9]");
    expect(formatPrintfBytes(segments("%.2s"), ["h\u00e9"])).toEqual(Uint8Array.of(0x68, 0xc3));
    expect(fmt("[%s]", "ab\0cd")).toBe("[ab]");
    expect(fmt("[%5s]", Uint8Array.of(0x61, 0x62, 0, 0x63))).toBe("[   ab]");
    expect(fmt("[%s][%-3s]", "", "")).toBe("[][   ]");
  });

  test("%r %rx %rh print the first `length` bytes of a buf() value, as bpftrace does", () => {
    const b = { length: 6, bytes: Uint8Array.of(0x48, 0x09, 0x5c, 0x7f, 0x80, 0x00, 0x41) };
    expect(fmt("%r|%rx|%rh", b, b, b)).toBe("H\\x09\\\\x7f\\x80\\x00|\\x48\\x09\\x5c\\x7f\\x80\\x00|48 09 5c 7f 80 00");
    expect(fmt("[%r]", { length: 0, bytes: Uint8Array.of(1) })).toBe("[]");
  });

  test("literals are UTF-8 and keep a leading BOM", () => {
    expect(fmt("\ufeff\u00e9 %d \u{1f600}\n", 1n)).toBe("\ufeff\u00e9 1 \u{1f600}\n");
  });

  test("argument count and type mismatches throw", () => {
    expect(() => fmt("%d %d", 1n)).toThrow(/not enough arguments/);
    expect(() => fmt("%d", 1n, 2n)).toThrow(/too many arguments/);
    expect(() => fmt("%d", "x")).toThrow(/expects an integer/);
    expect(() => fmt("%s", 1n)).toThrow(/expects a string/);
    expect(() => fmt("%r", Uint8Array.of(1))).toThrow(/expects a buf\(\) argument/);
  });
});
