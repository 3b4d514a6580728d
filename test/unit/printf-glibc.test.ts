// Differential tests: our printf formatting against glibc's snprintf, called
// the way bpftrace 0.17 calls it (PrintableInt / PrintableSInt::print):
//
//   snprintf(buf, size, "<literal text><conversion>", (u)int64_t value)   // integers, %p
//   snprintf(buf, size, "<literal text>%s", str.c_str())                  // strings
//
// with the format text unchanged (no length modifier rewriting), and the
// result written as a C string (`out << buffer.data()`).
//
// One C harness is compiled once; every case is batched through one run via
// stdin (one case a line, results as hex a line).

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseFormat, type ConversionSegment } from "../../compiler/printf.js";
import { formatPrintfBytes, type PrintfInt, type PrintfValue } from "../../runtime/format/printf.js";

const HARNESS_C = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

/* Decodes hex text of length n into a fresh NUL-terminated buffer. */
static char *unhex(const char *s, size_t n) {
  char *out = malloc(n / 2 + 1);
  for (size_t i = 0; i < n / 2; i++) out[i] = (char)(hexval(s[2 * i]) * 16 + hexval(s[2 * i + 1]));
  out[n / 2] = 0;
  return out;
}

/* Input lines: "i <format hex> <u64 decimal>" or "s <format hex> <string hex>". */
int main(void) {
  char *line = NULL;
  size_t linecap = 0;
  ssize_t n;
  size_t cap = 512;
  char *buf = malloc(cap);
  while ((n = getline(&line, &linecap, stdin)) > 0) {
    if (line[n - 1] == '\n') line[--n] = 0;
    char kind = line[0];
    char *f = line + 2;
    char *sp = strchr(f, ' ');
    *sp = 0;
    char *val = sp + 1;
    char *fmt = unhex(f, strlen(f));
    char *str = kind == 's' ? unhex(val, strlen(val)) : NULL;
    unsigned long long v = kind == 'i' ? strtoull(val, NULL, 10) : 0;
    int r;
    for (;;) {
      /* Exactly bpftrace 0.17: the 64-bit value goes to snprintf as is. */
      r = kind == 'i' ? snprintf(buf, cap, fmt, v) : snprintf(buf, cap, fmt, str);
      if (r < 0 || (size_t)r < cap) break;
      cap = (size_t)r + 1;
      buf = realloc(buf, cap);
    }
    if (r < 0) {
      fputs("ERROR", stdout);
    } else {
      for (const char *p = buf; *p; p++) printf("%02x", (unsigned char)*p);
    }
    putchar('\n');
    free(fmt);
    free(str);
  }
  return 0;
}
`;

const canRun =
  (process.arch === "x64" || process.arch === "arm64") &&
  process.platform === "linux" &&
  spawnSync("gcc", ["--version"]).status === 0;

let dir = "";
let harness = "";

const encoder = new TextEncoder();
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** One printf call: a format with exactly one conversion and its argument. */
interface Case {
  format: string;
  value: PrintfValue;
  /** For generated cases: the conversion's parts. */
  spec?: { text: string; flags: string; width: string; prec: string; len: string; conv: string };
}

/** The 64-bit value bpftrace passes for an integer argument. */
function bits(v: bigint | PrintfInt): bigint {
  if (typeof v === "bigint") return BigInt.asUintN(64, v);
  const extended = v.signed ? BigInt.asIntN(v.size * 8, v.int) : BigInt.asUintN(v.size * 8, v.int);
  return BigInt.asUintN(64, extended);
}

function harnessLine(c: Case): string {
  const f = hex(encoder.encode(c.format));
  const v = c.value;
  if (typeof v === "string") return `s ${f} ${hex(encoder.encode(v))}`;
  if (v instanceof Uint8Array) return `s ${f} ${hex(v)}`;
  return `i ${f} ${bits(v).toString()}`;
}

function runHarness(lines: readonly string[]): string[] {
  const out = execFileSync(harness, [], {
    input: lines.map((l) => l + "\n").join(""),
    maxBuffer: 1 << 30,
    encoding: "utf8",
  });
  const results = out.split("\n");
  results.pop();
  expect(results).toHaveLength(lines.length);
  return results;
}

function ours(c: Case): string {
  // The compiler hands formats over as byte strings (one char per byte of the UTF-8 text).
  const r = parseFormat(Buffer.from(c.format, "utf8").toString("latin1"));
  if ("error" in r) return `parse error: ${r.error.message}`;
  return hex(formatPrintfBytes(r.segments, [c.value]));
}

/** Harness output (hex) as a readable JSON string, one char per byte. */
function show(h: string): string {
  return /^[0-9a-f]*$/.test(h) ? JSON.stringify(Buffer.from(h, "hex").toString("latin1")) : h;
}

function describeValue(v: PrintfValue): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v);
  if (v instanceof Uint8Array) return `bytes[${hex(v)}]`;
  return `{int: ${v.int}n, signed: ${v.signed}, size: ${v.size}}`;
}

/** Runs all cases through glibc and returns the mismatches, readable. */
function mismatches(cases: readonly Case[]): string[] {
  const expected = runHarness(cases.map(harnessLine));
  const bad: string[] = [];
  cases.forEach((c, i) => {
    const got = ours(c);
    if (got !== expected[i]) {
      bad.push(`${JSON.stringify(c.format)} ${describeValue(c.value)}: glibc ${show(expected[i]!)} ours ${show(got)}`);
    }
  });
  return bad;
}

const FLAG_SETS = ["", "-", "+", " ", "#", "0", "-0", "+0", " 0", "#0", "-#", "+ ", "-+ #0", "0-", " +"];
const WIDTHS = ["", "1", "6", "25"];
const PRECISIONS = ["", ".", ".0", ".1", ".4", ".22"];
const LENGTHS = ["", "hh", "h", "l", "ll", "j", "z", "t", "L"];

const INT_VALUES: bigint[] = [
  0n, 1n, -1n, 7n, -7n, 10n, 65n, 127n, 128n, -128n, -129n, 200n, 255n, 256n, 0x141n, 32767n, 40000n, -40000n,
  65535n, 65536n, 2n ** 31n - 1n, 2n ** 31n, -(2n ** 31n), -(2n ** 31n) - 1n, 2n ** 32n - 1n, 2n ** 32n,
  5000000000n, -5000000000n, 0xdeadbeefn, 0x1234567890abcdefn, 2n ** 63n - 1n, -(2n ** 63n),
  0xffffffff81000000n,
];

const STRING_VALUES: (string | Uint8Array)[] = [
  "", "a", "hello", "hello world, how are you?", "h\u00e9llo \u{1f600}", "tab\there", "50%",
  Uint8Array.of(0x61, 0x62, 0x63, 0xff, 0x80), Uint8Array.of(0x61, 0, 0x62),
];

describe.skipIf(!canRun)("printf against glibc snprintf (bpftrace 0.17 argument passing)", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "bpfts-printf-"));
    writeFileSync(join(dir, "harness.c"), HARNESS_C);
    harness = join(dir, "harness");
    execFileSync("gcc", ["-O1", "-w", "-o", harness, join(dir, "harness.c")]);
  });

  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  test("table: flags x width x precision x conversion x value (no length modifier and ll)", () => {
    const cases: Case[] = [];
    for (const flags of FLAG_SETS)
      for (const width of WIDTHS)
        for (const prec of PRECISIONS)
          for (const conv of ["d", "i", "u", "o", "x", "X", "c", "p"])
            for (const len of conv === "c" ? [""] : ["", "ll"])
              for (const value of INT_VALUES) cases.push({ format: `%${flags}${width}${prec}${len}${conv}`, value });
    expect(cases.length).toBeGreaterThan(50_000);
    expect(mismatches(cases)).toEqual([]);
  });

  test("table: every length modifier", () => {
    const cases: Case[] = [];
    for (const len of LENGTHS)
      for (const conv of ["d", "i", "u", "o", "x", "X", "p"])
        for (const spec of ["", "-", "+", " ", "#", "08", "-8", "#012", "+.3", "10.5", "-#20.10", " 07"])
          for (const value of INT_VALUES) cases.push({ format: `%${spec}${len}${conv}`, value });
    expect(mismatches(cases)).toEqual([]);
  });

  test("table: %s", () => {
    const cases: Case[] = [];
    for (const flags of FLAG_SETS)
      for (const width of [...WIDTHS, "3", "30"])
        for (const prec of [...PRECISIONS, ".3", ".7"])
          for (const value of STRING_VALUES) cases.push({ format: `%${flags}${width}${prec}s`, value });
    expect(mismatches(cases)).toEqual([]);
  });

  test("table: sized and signed argument types", () => {
    const cases: Case[] = [];
    for (const size of [1, 2, 4, 8] as const)
      for (const signed of [true, false])
        for (const int of [-10n, -1n, 0n, 5n, 0x80n, 0xf6n, 0x8000n, 0x80000000n, 0x123456789n, -(2n ** 63n)])
          for (const format of ["%d", "%u", "%x", "%lld", "%llu", "%llx", "%hhd", "%hu", "%c", "%p", "%o"])
            cases.push({ format, value: { int, signed, size } });
    expect(mismatches(cases)).toEqual([]);
  });

  test("literal text before the conversion goes through snprintf too", () => {
    const cases: Case[] = [];
    for (const prefix of ["pid ", "100%% ", "%%%%", "a%%b%%c=", "\u00e9t\u00e9: ", "[", "\t"])
      for (const spec of ["%d", "%-5x", "%5c", "%-3c", "%s", "%.2s"])
        for (const value of spec.endsWith("s") ? ["xyz", ""] : [0n, 65n, -1n])
          cases.push({ format: prefix + spec, value });
    expect(mismatches(cases)).toEqual([]);
  });

  test("property: random conversions match glibc", () => {
    const flagsArb = fc.array(fc.constantFrom("-", "+", " ", "#", "0"), { maxLength: 6 }).map((f) => f.join(""));
    const widthArb = fc.integer({ min: 0, max: 20 }).map((w) => (w === 0 ? "" : String(w)));
    const precArb = fc.option(
      fc.oneof(fc.constant("."), fc.integer({ min: 0, max: 20 }).map((p) => `.${p}`)),
      { nil: "" },
    );
    const intArb: fc.Arbitrary<bigint | PrintfInt> = fc.oneof(
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
      fc.bigInt({ min: -300n, max: 300n }),
      fc.constantFrom(...INT_VALUES),
      fc.record({
        int: fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
        signed: fc.boolean(),
        size: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
      }),
    );
    const strArb: fc.Arbitrary<string | Uint8Array> = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.string({ unit: "grapheme", maxLength: 8 }),
      fc.uint8Array({ maxLength: 24 }),
    );
    const prefixArb = fc.constantFrom("", "x=", "%%", "a%%b ", "\u00e9 ");
    const caseArb: fc.Arbitrary<Case> = fc
      .tuple(prefixArb, flagsArb, widthArb, precArb, fc.constantFrom(...LENGTHS),
        fc.constantFrom("d", "i", "u", "o", "x", "X", "c", "p", "s"))
      .chain(([prefix, flags, width, prec, len, conv]) => {
        const lenOk = conv === "c" || conv === "s" ? "" : len;
        const text = `%${flags}${width}${prec}${lenOk}${conv}`;
        const spec = { text, flags, width, prec, len: lenOk, conv };
        const valueArb: fc.Arbitrary<PrintfValue> = conv === "s" ? strArb : intArb;
        return valueArb.map((value): Case => ({ format: prefix + text, value, spec }));
      });

    const seed = Date.now() ^ (Math.random() * 0x7fffffff);
    const numRuns = 4000;
    // Batch: one harness run for every case fast-check will generate with this seed.
    const batch = fc.sample(caseArb, { seed, numRuns });
    const lines = batch.map(harnessLine);
    const cache = new Map<string, string>();
    runHarness(lines).forEach((r, i) => cache.set(lines[i]!, r));

    fc.assert(
      fc.property(caseArb, (c) => {
        // The parsed conversion has exactly the generated fields.
        const r = parseFormat(c.format);
        if ("error" in r) throw new Error(r.error.message);
        const convs = r.segments.filter((s): s is ConversionSegment => s.type === "conversion");
        const spec = c.spec!;
        expect(convs).toHaveLength(1);
        expect(convs[0]).toMatchObject({
          text: spec.text,
          offset: c.format.length - spec.text.length,
          length: spec.text.length,
          flags: {
            minus: spec.flags.includes("-"),
            plus: spec.flags.includes("+"),
            space: spec.flags.includes(" "),
            hash: spec.flags.includes("#"),
            zero: spec.flags.includes("0"),
          },
          width: spec.width === "" ? undefined : Number(spec.width),
          precision: spec.prec === "" ? undefined : Number(spec.prec.slice(1)),
          lengthModifier: spec.len,
          conversion: spec.conv,
        });
        const line = harnessLine(c);
        let expected = cache.get(line);
        if (expected === undefined) {
          // Shrinking produces new cases: ask glibc for each one.
          expected = runHarness([line])[0]!;
          cache.set(line, expected);
        }
        expect(show(ours(c))).toBe(show(expected));
      }),
      { seed, numRuns },
    );
  });
});
