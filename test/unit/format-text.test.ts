// Unit tests for the text formatters: exact expected text, as bpftrace 0.17 prints it (the
// expectations were checked against bpftrace 0.17; format-bpftrace.test.ts re-checks many of them
// against the real binary).

import { describe, expect, test } from "vitest";
import type { Type } from "../../compiler/types.js";
import {
  formatHist,
  formatLhist,
  histBucketLabel,
  lhistBucketLabel,
  lhistNumberLabel,
  u64ToFloat32,
} from "../../runtime/format/hist.js";
import {
  cxxSort,
  formatExitMaps,
  formatMap,
  formatMapBytes,
  formatValue,
  formatValueBytes,
  type MapSnapshot,
} from "../../runtime/format/text.js";
import {
  HIST_BUCKETS,
  LOG2_MAX_BUCKET,
  bpftraceMaxValue,
  bpftraceMinValue,
  linearBucket,
  log2Bucket,
  type MapEntry,
  type Symbolizer,
} from "../../runtime/format/values.js";

const I64: Type = { kind: "int", size: 8, signed: true };
const U64: Type = { kind: "int", size: 8, signed: false };
const I8: Type = { kind: "int", size: 1, signed: true };
const U8: Type = { kind: "int", size: 1, signed: false };
const I16: Type = { kind: "int", size: 2, signed: true };
const I32: Type = { kind: "int", size: 4, signed: true };
const U32: Type = { kind: "int", size: 4, signed: false };
const STR: Type = { kind: "string", size: 64 };
const USYM: Type = { kind: "usym" };
const PROBE: Type = { kind: "probe" };
const ustack = (limit = 127): Type => ({ kind: "ustack", limit });
const tuple = (...elems: Type[]): Type => ({ kind: "tuple", elems });
const agg = (a: "count" | "sum" | "avg" | "min" | "max" | "stats" | "hist", signed = true): Type => ({ kind: "agg", agg: a, signed });
const lhistT = (min: number, max: number, step: number): Type => ({
  kind: "agg",
  agg: "lhist",
  signed: true,
  lhist: { min: BigInt(min), max: BigInt(max), step: BigInt(step) },
});

const FULL = "@".repeat(52);
/** One histogram row, for expectations (label, count and bar width spelled out by the test). */
const row = (label: string, count: string, bar: number): string =>
  `${label.padEnd(16)}${count.padStart(8)} |${"@".repeat(bar).padEnd(52)}|\n`;

/** Bucket counts from (index, count) pairs. */
function counts(pairs: [number, bigint][], size = HIST_BUCKETS): bigint[] {
  const c = new Array<bigint>(size).fill(0n);
  for (const [i, n] of pairs) c[i] = n;
  return c;
}

const entries = (...pairs: [MapEntry["key"], MapEntry["value"]][]): MapEntry[] => pairs.map(([key, value]) => ({ key, value }));

describe("log2Bucket (bpftrace 0.17 codegen log2)", () => {
  test.each([
    [-9223372036854775808n, 0],
    [-1n, 0],
    [0n, 1],
    [1n, 2],
    [2n, 3],
    [3n, 3],
    [4n, 4],
    [7n, 4],
    [8n, 5],
    [1023n, 11],
    [1024n, 12],
    [65535n, 17],
    [65536n, 18],
    [2147483647n, 32],
    [2147483648n, 33],
    [4294967295n, 33],
    [4294967296n, 33],
    [1099511627776n, 33],
    [9223372036854775807n, 33],
    [18446744073709551615n, 0], // taken as int64: -1
  ])("log2Bucket(%s) = %s", (v, b) => {
    expect(log2Bucket(v)).toBe(b);
  });

  test("every power of two below 2^31 starts its own bucket", () => {
    for (let p = 0; p < 31; p++) {
      expect(log2Bucket(1n << BigInt(p))).toBe(p + 2);
      expect(log2Bucket((1n << BigInt(p + 1)) - 1n)).toBe(p + 2);
    }
    expect(LOG2_MAX_BUCKET).toBe(33);
  });
});

describe("linearBucket (bpftrace 0.17 codegen linear)", () => {
  test.each([
    // value, min, max, step, bucket
    [-1n, 0n, 100n, 10n, 0],
    [0n, 0n, 100n, 10n, 1],
    [9n, 0n, 100n, 10n, 1],
    [10n, 0n, 100n, 10n, 2],
    [99n, 0n, 100n, 10n, 10],
    [100n, 0n, 100n, 10n, 11],
    [150n, 0n, 100n, 10n, 11],
    [4n, 5n, 25n, 10n, 0],
    [5n, 5n, 25n, 10n, 1],
    [24n, 5n, 25n, 10n, 2],
    [25n, 5n, 25n, 10n, 3],
    // step does not divide max - min: the last partial step joins the overflow bucket
    [19n, 0n, 25n, 10n, 2],
    [21n, 0n, 25n, 10n, 3],
    [29n, 0n, 25n, 10n, 3],
    [-9223372036854775808n, 0n, 10n, 1n, 0],
  ])("linearBucket(%s, %s, %s, %s) = %s", (v, min, max, step, b) => {
    expect(linearBucket(v, min, max, step)).toBe(b);
  });
});

describe("bpftrace 0.17 min()/max() reduction from per-CPU slots", () => {
  // Slots hold 0xffffffff - value for min(); values printed by bpftrace 0.17 for min(v).
  const slot = (v: bigint): bigint => BigInt.asUintN(64, 0xffffffffn - v);
  test.each([
    [-5n, -5n],
    [10n, 10n],
    [0n, 0n],
    [4294967294n, 4294967294n],
    [4294967295n, 0n], // the slot is 0, which min_value() takes for "zeroed"
    [-2147483648n, -2147483648n],
    [-5000000000n, -5000000000n],
  ])("min(%s) prints %s", (v, printed) => {
    expect(bpftraceMinValue([0n, slot(v), 0n])).toBe(printed);
  });

  test("min takes the largest slot (the smallest value) across CPUs; no CPU set: 0", () => {
    expect(bpftraceMinValue([slot(7n), slot(-1n), slot(3n)])).toBe(-1n);
    expect(bpftraceMinValue([0n, 0n])).toBe(0n);
  });

  test("max is the largest slot as uint64", () => {
    expect(bpftraceMaxValue([0n, 5n, 3n])).toBe(5n);
    expect(bpftraceMaxValue([0n, -1n])).toBe(18446744073709551615n);
    expect(bpftraceMaxValue([])).toBe(0n);
  });
});

describe("hist labels and rows", () => {
  test("labels", () => {
    expect(histBucketLabel(0)).toBe("(..., 0)");
    expect(histBucketLabel(1)).toBe("[0]");
    expect(histBucketLabel(2)).toBe("[1]");
    expect(histBucketLabel(3)).toBe("[2, 4)");
    expect(histBucketLabel(4)).toBe("[4, 8)");
    expect(histBucketLabel(11)).toBe("[512, 1K)");
    expect(histBucketLabel(12)).toBe("[1K, 2K)");
    expect(histBucketLabel(21)).toBe("[512K, 1M)");
    expect(histBucketLabel(22)).toBe("[1M, 2M)");
    expect(histBucketLabel(32)).toBe("[1G, 2G)");
    expect(histBucketLabel(33)).toBe("[2G, 4G)");
    expect(histBucketLabel(41)).toBe("[512G, 1T)");
    expect(histBucketLabel(42)).toBe("[1T, 2T)");
    expect(histBucketLabel(64)).toBe("[4194304T, 8388608T)");
  });

  test("lhist labels", () => {
    expect(lhistNumberLabel(0)).toBe("0");
    expect(lhistNumberLabel(1000)).toBe("1000");
    expect(lhistNumberLabel(1024)).toBe("1K");
    expect(lhistNumberLabel(3072)).toBe("3K");
    expect(lhistNumberLabel(1048576)).toBe("1M");
    expect(lhistNumberLabel(1050624)).toBe("1026K");
    expect(lhistNumberLabel(-2048)).toBe("-2K");
    expect(lhistBucketLabel(0, 5n, 25n, 10n)).toBe("(..., 5)");
    expect(lhistBucketLabel(1, 5n, 25n, 10n)).toBe("[5, 15)");
    expect(lhistBucketLabel(2, 5n, 25n, 10n)).toBe("[15, 25)");
    expect(lhistBucketLabel(3, 5n, 25n, 10n)).toBe("[25, ...)");
    expect(lhistBucketLabel(3, 0n, 4096n, 1024n)).toBe("[2K, 3K)");
  });

  test("rows from the first to the last non-empty bucket, bars scaled to the largest", () => {
    const text = formatHist(counts([[0, 2n], [1, 1n], [2, 1n], [3, 2n], [5, 1n]]));
    expect(text).toBe(
      "(..., 0)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
        "[0]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n" +
        "[1]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n" +
        "[2, 4)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
        "[4, 8)                 0 |                                                    |\n" +
        "[8, 16)                1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n",
    );
  });

  test("single-precision bar widths", () => {
    // 1/3*52 = 17.33, 2/3*52 = 34.67 (float), 7/9*52 = 40.44
    expect(formatHist(counts([[4, 1n], [5, 2n], [6, 3n]]))).toBe(
      row("[4, 8)", "1", 17) + row("[8, 16)", "2", 34) + row("[16, 32)", "3", 52),
    );
    expect(formatHist(counts([[12, 7n], [13, 9n]]))).toBe(row("[1K, 2K)", "7", 40) + row("[2K, 4K)", "9", 52));
  });

  test("counts wider than 8 columns push the bar right; div divides counts, not bars", () => {
    expect(formatHist(counts([[2, 123456789n], [3, 1n]]))).toBe(
      "[1]             123456789 |" + FULL + "|\n" + row("[2, 4)", "1", 0),
    );
    expect(formatHist(counts([[2, 5n], [3, 10n]]), 3n)).toBe(row("[1]", "1", 26) + row("[2, 4)", "3", 52));
  });

  test("no non-empty bucket: nothing", () => {
    expect(formatHist([])).toBe("");
    expect(formatHist(counts([]))).toBe("");
  });

  test("counts are seen as 32-bit ints when looking for the range and the max", () => {
    // 2^32 truncates to 0: that bucket is "empty" for the range and the max.
    expect(formatHist(counts([[3, 4294967296n]]))).toBe("");
    expect(formatHist(counts([[3, 4294967296n], [4, 2n]]))).toBe(row("[4, 8)", "2", 52));
    // A count of 2^31 or more between non-empty buckets would make bpftrace's bar width overflow an
    // int (and bpftrace abort); we print no bar.
    expect(formatHist(counts([[3, 1n], [4, 2147483648n], [5, 2n]]))).toBe(
      row("[2, 4)", "1", 26) + row("[4, 8)", "2147483648", 0) + row("[8, 16)", "2", 52),
    );
  });

  test("u64ToFloat32 rounds once, to nearest even", () => {
    expect(u64ToFloat32(16777217n)).toBe(16777216);
    expect(u64ToFloat32(16777219n)).toBe(16777220);
    expect(u64ToFloat32(18446744073709551615n)).toBe(18446744073709551616);
    // 2^54 + 2^30 + 1: above the halfway point of 2^31-spaced floats only thanks to the +1.
    expect(u64ToFloat32((1n << 54n) + (1n << 30n) + 1n)).toBe(2 ** 54 + 2 ** 31);
    expect(u64ToFloat32((1n << 54n) + (1n << 30n))).toBe(2 ** 54);
  });

  test("lhist: trimmed at both ends, overflow and underflow buckets", () => {
    expect(formatLhist(counts([[0, 1n], [1, 1n], [2, 1n], [3, 2n]], 1002), 5n, 25n, 10n)).toBe(
      "(..., 5)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n" +
        "[5, 15)                1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n" +
        "[15, 25)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n" +
        "[25, ...)              2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n",
    );
    expect(formatLhist(counts([[2, 1n], [3, 1n], [5, 1n]], 6), 0n, 4096n, 1024n)).toBe(
      "[1K, 2K)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
        "[2K, 3K)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
        "[3K, 4K)               0 |                                                    |\n" +
        "[4K, ...)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n",
    );
    expect(formatLhist([], 0n, 10n, 1n)).toBe("");
  });
});

describe("formatValue", () => {
  test("integers per size and sign", () => {
    expect(formatValue(I64, 5n)).toBe("5");
    expect(formatValue(I64, -5n)).toBe("-5");
    expect(formatValue(U8, 255n)).toBe("255");
    expect(formatValue(I8, -1n)).toBe("-1");
    expect(formatValue(I8, 255n)).toBe("-1");
    expect(formatValue(U64, -1n)).toBe("18446744073709551615");
    expect(formatValue(I64, 18446744073709551615n)).toBe("-1");
    expect(formatValue(U32, 4000000000n)).toBe("4000000000");
  });

  test("strings: raw, cut at the first NUL, no quotes", () => {
    expect(formatValue(STR, "str")).toBe("str");
    expect(formatValue(STR, "a\0b")).toBe("a");
    expect(formatValue(STR, "")).toBe("");
    expect(formatValue(STR, "héllo")).toBe("héllo");
    expect([...formatValueBytes(STR, "é")]).toEqual([0xc3, 0xa9]);
    expect([...formatValueBytes(STR, Uint8Array.of(0x61, 0x09, 0x01, 0xff, 0, 0x62))]).toEqual([0x61, 0x09, 0x01, 0xff]);
    expect(formatValue(STR, Uint8Array.of(0x61, 0xff))).toBe("a\ufffd");
  });

  test("tuples, nested, with every element type", () => {
    expect(formatValue(tuple(I64, STR, tuple(I64, STR)), [1n, "a", [2n, "b"]])).toBe("(1, a, (2, b))");
    expect(formatValue(tuple(I8, U8, I16, U64), [-1n, 255n, -2n, -1n])).toBe("(-1, 255, -2, 18446744073709551615)");
    expect(formatValue(tuple(PROBE, USYM), ["BEGIN", { addr: 0x10n }])).toBe("(BEGIN, 0x10)");
  });

  test("usym: symbolizer, else a C++ void*", () => {
    expect(formatValue(USYM, { addr: 0x4011d6n })).toBe("0x4011d6");
    expect(formatValue(USYM, { addr: 0n })).toBe("0");
    const sym: Symbolizer = (addr, info) => (addr === 0x1000n ? (info.offset ? "main+0" : `main(${info.pid})`) : undefined);
    expect(formatValue(USYM, { addr: 0x1000n, pid: 42 }, { symbolize: sym })).toBe("main(42)");
    expect(formatValue(USYM, { addr: 0x2000n }, { symbolize: sym })).toBe("0x2000");
  });

  test("ustack: newline, then one frame a line indented by 8; a 0 address ends it", () => {
    const sym: Symbolizer = (addr) => (addr === 0x1000n ? "main+25" : undefined);
    expect(formatValue(ustack(), [0x1000n, 0x7ffd5b027448n, 0n, 0x5n], { symbolize: sym })).toBe(
      "\n        main+25\n        0x7ffd5b027448\n",
    );
    expect(formatValue(ustack(1), [0x1000n, 0x2000n])).toBe("\n        0x1000\n");
    expect(formatValue(ustack(), [])).toBe("\n");
    expect(formatValue(ustack(), null)).toBe("");
  });

  test("probe", () => {
    expect(formatValue(PROBE, "uprobe:/bin/bash:readline")).toBe("uprobe:/bin/bash:readline");
  });

  test("aggregations", () => {
    expect(formatValue(agg("count", false), 3n)).toBe("3");
    expect(formatValue(agg("sum"), -3n)).toBe("-3");
    expect(formatValue(agg("sum", false), -1n)).toBe("18446744073709551615");
    expect(formatValue(agg("min"), -7n)).toBe("-7");
    expect(formatValue(agg("max"), 7n)).toBe("7");
    // not producible by bpftrace 0.17 (see text.ts); printed per the aggregation's sign
    expect(formatValue(agg("max"), -7n)).toBe("-7");
    expect(formatValue(agg("max", false), -1n)).toBe("18446744073709551615");
    expect(formatValue(agg("avg"), { count: 2n, total: -5n })).toBe("-2");
    expect(formatValue(agg("avg"), { count: 0n, total: 0n })).toBe("0");
    expect(formatValue(agg("stats"), { count: 2n, total: -7n })).toBe("count 2, average -3, total -7");
    expect(formatValue(agg("hist"), counts([[4, 1n]]))).toBe(`[4, 8)                 1 |${FULL}|\n`);
    expect(formatValue(lhistT(0, 100, 10), counts([[6, 1n]], 12))).toBe(`[50, 60)               1 |${FULL}|\n`);
  });
});

describe("formatMap", () => {
  test("the example of the brief, map by map", () => {
    expect(formatMap("@", [I64], agg("hist"), entries([[1n], counts([[4, 1n]])], [[2n], counts([[11, 1n]])]))).toBe(
      "@[1]: \n" +
        "[4, 8)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
        "\n" +
        "@[2]: \n" +
        "[512, 1K)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
        "\n",
    );
    expect(formatMap("@a", [], agg("avg"), entries([[], { count: 1n, total: -7n }]))).toBe("@a: -7\n\n");
    expect(formatMap("@c", [STR], agg("count", false), entries([["a"], 1n], [["b"], 2n]))).toBe("@c[a]: 1\n@c[b]: 2\n");
    expect(formatMap("@l", [], lhistT(0, 100, 10), entries([[], counts([[6, 1n]], 12)]))).toBe(
      "@l: \n[50, 60)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n",
    );
    expect(formatMap("@s", [], agg("stats"), entries([[], { count: 1n, total: 10n }]))).toBe(
      "@s: count 1, average 10, total 10\n\n",
    );
    expect(formatMap("@t", [I64, STR], agg("sum"), entries([[1n, "x"], -3n]))).toBe("@t[1, x]: -3\n");
  });

  test("a name without '@' gets one", () => {
    expect(formatMap("x", [], I64, entries([[], 1n]))).toBe("@x: 1\n");
  });

  test("empty maps still print their newline(s)", () => {
    expect(formatMap("@c", [I64], agg("count", false), [])).toBe("\n");
    expect(formatMap("@h", [I64], agg("hist"), [])).toBe("\n");
    expect(formatMap("@s", [I64], agg("stats"), [])).toBe("\n\n");
    expect(formatMap("@a", [], agg("avg"), [])).toBe("\n\n");
    // zeroed hist: the key line and nothing else
    expect(formatMap("@h", [], agg("hist"), entries([[], counts([])]))).toBe("@h: \n\n");
    expect(formatMap("@s", [], agg("stats"), entries([[], { count: 0n, total: 0n }]))).toBe(
      "@s: count 0, average 0, total 0\n\n",
    );
  });

  test("keys: integers as int64, strings raw, probes, usym, ustack (indent 4)", () => {
    expect(
      formatMap("@k", [U64], I64, entries([[18446744073709551615n], 1n], [[200n], 2n], [[-5n], 3n])),
    ).toBe("@k[-1]: 1\n@k[200]: 2\n@k[-5]: 3\n");
    expect(formatMap("@q", [I8, { kind: "int", size: 2, signed: false }], I64, entries([[-3n, 65535n], 5n]))).toBe(
      "@q[-3, 65535]: 5\n",
    );
    expect(formatMap("@p", [PROBE], agg("count", false), entries([["BEGIN"], 1n]))).toBe("@p[BEGIN]: 1\n");
    expect(formatMap("@u", [USYM], agg("count", false), entries([[{ addr: 0x1234n }], 1n]))).toBe("@u[0x1234]: 1\n");
    const sym: Symbolizer = (addr) => (addr === 1n ? "syscall+25" : undefined);
    expect(formatMap("@s", [ustack(3)], agg("count", false), entries([[[1n, 0x7ffd5b027448n]], 1n]), { symbolize: sym })).toBe(
      "@s[\n    syscall+25\n    0x7ffd5b027448\n]: 1\n",
    );
    expect(formatMapBytes("@r", [STR], I64, entries([[Uint8Array.of(0x61, 0x09, 0x01, 0xff)], 1n]))).toEqual(
      Uint8Array.from(Buffer.from("@r[a\t\x01\xff]: 1\n", "latin1")),
    );
  });

  test("usym- and ustack-valued maps join entries with nothing", () => {
    expect(formatMap("@u", [I64], USYM, entries([[2n], { addr: 2n }], [[1n], { addr: 1n }]))).toBe("@u[1]: 0x1@u[2]: 0x2\n");
    expect(formatMap("@v", [I64], ustack(2), entries([[1n], [0x10n, 0x20n]], [[2n], null]))).toBe(
      "@v[1]: \n        0x10\n        0x20\n@v[2]: \n",
    );
    expect(formatMap("@w", [], ustack(1), entries([[], [0x10n]]))).toBe("@w: \n        0x10\n\n");
  });

  test("tuple and string values, sorted by key", () => {
    expect(formatMap("@tv", [I64], tuple(I64, STR), entries([[2n], [-2n, "b"]], [[1n], [1n, "a"]]))).toBe(
      "@tv[1]: (1, a)\n@tv[2]: (-2, b)\n",
    );
    expect(formatMap("@s", [STR], STR, entries([["b"], "x"], [["a"], "y"], [["ab"], "z"], [[""], "w"]))).toBe(
      "@s[]: w\n@s[a]: y\n@s[ab]: z\n@s[b]: x\n",
    );
    // integer keys as uint64: negatives last
    expect(formatMap("@i", [I64], STR, entries([[3n], "a"], [[-1n], "b"], [[1n], "c"], [[256n], "d"]))).toBe(
      "@i[1]: c\n@i[3]: a\n@i[256]: d\n@i[-1]: b\n",
    );
    // several keys: by the first, then the second
    expect(
      formatMap("@m", [I64, STR], STR, entries([[2n, "b"], "x"], [[1n, "c"], "y"], [[2n, "a"], "z"], [[-1n, "a"], "w"])),
    ).toBe("@m[1, c]: y\n@m[2, a]: z\n@m[2, b]: x\n@m[-1, a]: w\n");
  });

  test("count/sum/int/min/max maps sort by value", () => {
    expect(formatMap("@c", [I64], agg("count", false), entries([[1n], 3n], [[2n], 1n], [[3n], 2n]))).toBe(
      "@c[2]: 1\n@c[3]: 2\n@c[1]: 3\n",
    );
    expect(formatMap("@s", [I64], agg("sum"), entries([[1n], 3n], [[2n], -10n], [[3n], 0n]))).toBe(
      "@s[2]: -10\n@s[3]: 0\n@s[1]: 3\n",
    );
    // an unsigned sum sorts -1 as 2^64 - 1
    expect(formatMap("@s", [I64], agg("sum", false), entries([[1n], -1n], [[2n], 5n]))).toBe(
      "@s[2]: 5\n@s[1]: 18446744073709551615\n",
    );
    expect(formatMap("@i", [I64], I64, entries([[5n], -2n], [[6n], 10n], [[8n], -100n]))).toBe(
      "@i[8]: -100\n@i[5]: -2\n@i[6]: 10\n",
    );
    expect(formatMap("@mn", [I64], agg("min"), entries([[1n], -5n], [[2n], 7n], [[3n], -9n]))).toBe(
      "@mn[3]: -9\n@mn[1]: -5\n@mn[2]: 7\n",
    );
    expect(formatMap("@mx", [I64], agg("max"), entries([[1n], 5n], [[2n], 100n], [[3n], 0n]))).toBe(
      "@mx[3]: 0\n@mx[1]: 5\n@mx[2]: 100\n",
    );
  });

  test("ties: up to 16 entries keep their given order; more go through std::sort", () => {
    expect(formatMap("@c", [STR], agg("count", false), entries([["z"], 1n], [["a"], 1n], [["m"], 1n]))).toBe(
      "@c[z]: 1\n@c[a]: 1\n@c[m]: 1\n",
    );
    // libstdc++'s std::sort of these 20 values puts the 0s at indexes 5, 16, 8, 12 (from g++ 12).
    const vals = [3, 1, 2, 1, 3, 0, 2, 1, 0, 3, 2, 1, 0, 2, 3, 1, 0, 2, 1, 3];
    const text = formatMap("@c", [I64], agg("count", false), entries(...vals.map((v, i): [bigint[], bigint] => [[BigInt(i)], BigInt(v)])));
    const order = text.trimEnd().split("\n").map((l) => Number(/\[(\d+)\]/.exec(l)![1]));
    expect(order).toEqual([5, 16, 8, 12, 1, 18, 3, 7, 15, 11, 10, 17, 13, 6, 2, 0, 14, 9, 4, 19]);
  });

  test("hist maps: by total count, ties by key bytes (little-endian integers)", () => {
    const one = counts([[2, 1n]]);
    const text = formatMap(
      "@h",
      [I64],
      agg("hist"),
      entries([[1n], one], [[256n], one], [[2n], one], [[-1n], one], [[0n], one], [[3n], counts([[2, 2n]])]),
    );
    const keys = text.split("\n").filter((l) => l.startsWith("@"));
    expect(keys).toEqual(["@h[0]: ", "@h[256]: ", "@h[1]: ", "@h[2]: ", "@h[-1]: ", "@h[3]: "]);
    const s = formatMap("@hs", [STR], agg("hist"), entries([["b"], one], [["ab"], one], [[""], one], [["a"], one]));
    expect(s.split("\n").filter((l) => l.startsWith("@"))).toEqual(["@hs[]: ", "@hs[a]: ", "@hs[ab]: ", "@hs[b]: "]);
  });

  test("avg and stats maps: by average, truncated toward zero", () => {
    expect(
      formatMap("@a", [I64], agg("avg"), entries([[1n], { count: 1n, total: 10n }], [[2n], { count: 3n, total: -20n }], [[3n], { count: 2n, total: -69n }])),
    ).toBe("@a[3]: -34\n@a[2]: -6\n@a[1]: 10\n\n");
  });

  test("print(@m, top, div)", () => {
    const c = entries([[1n], 1n], [[2n], 2n], [[3n], 3n]);
    const cnt = agg("count", false);
    expect(formatMap("@c", [I64], cnt, c, { top: 2 })).toBe("@c[2]: 2\n@c[3]: 3\n");
    expect(formatMap("@c", [I64], cnt, c, { top: 0, div: 2 })).toBe("@c[1]: 0\n@c[2]: 1\n@c[3]: 1\n");
    expect(formatMap("@c", [I64], cnt, c, { top: 5, div: 2 })).toBe("@c[1]: 0\n@c[2]: 1\n@c[3]: 1\n");
    // top and div are uint32: 2^32 is 0 (all entries; divide by 1)
    expect(formatMap("@c", [I64], cnt, c, { top: 4294967296n, div: 4294967296n })).toBe("@c[1]: 1\n@c[2]: 2\n@c[3]: 3\n");
    // signed division truncates toward zero
    expect(formatMap("@y", [], I64, entries([[], -7n]), { div: 2 })).toBe("@y: -3\n");
    expect(formatMap("@mn", [], agg("min"), entries([[], -7n]), { div: 2 })).toBe("@mn: -3\n");
    expect(formatMap("@t", [], tuple(I64, STR, I8, U32), entries([[], [10n, "a", -7n, 9n]]), { div: 2 })).toBe(
      "@t: (5, a, -3, 4)\n",
    );
    // hist: div divides the counts, not the bars
    const h = entries([[1n], counts([[2, 1n]])], [[3n], counts([[3, 4n]])]);
    expect(formatMap("@h", [I64], agg("hist"), h, { top: 1, div: 2 })).toBe(`@h[3]: \n${row("[2, 4)", "2", 52)}\n`);
    // lhist ignores div
    expect(formatMap("@l", [], lhistT(0, 10, 1), entries([[], counts([[6, 3n]], 12)]), { div: 2 })).toBe(
      `@l: \n${row("[5, 6)", "3", 52)}\n`,
    );
    // avg: top and div; stats: neither
    const a = entries([[1n], { count: 1n, total: 10n }], [[2n], { count: 1n, total: -20n }], [[3n], { count: 2n, total: -69n }]);
    expect(formatMap("@av", [I64], agg("avg"), a, { top: 2, div: 2 })).toBe("@av[2]: -10\n@av[1]: 5\n\n");
    const st = entries([[1n], { count: 1n, total: 10n }], [[2n], { count: 1n, total: 20n }], [[3n], { count: 1n, total: 30n }]);
    expect(formatMap("@st", [I64], agg("stats"), st, { top: 1, div: 2 })).toBe(
      "@st[1]: count 1, average 10, total 10\n@st[2]: count 1, average 20, total 20\n@st[3]: count 1, average 30, total 30\n\n",
    );
  });
});

describe("formatExitMaps", () => {
  test('"\\n\\n", then every map in bytewise name order', () => {
    const maps: MapSnapshot[] = [
      { name: "@b", keyTypes: [], valueType: I64, entries: entries([[], 1n]) },
      { name: "@a", keyTypes: [], valueType: I64, entries: entries([[], 2n]) },
      { name: "@_x", keyTypes: [], valueType: I64, entries: entries([[], 6n]) },
      { name: "@A", keyTypes: [], valueType: I64, entries: entries([[], 5n]) },
      { name: "@", keyTypes: [], valueType: I64, entries: entries([[], 7n]) },
      { name: "@z", keyTypes: [STR], valueType: I64, entries: [] },
      { name: "@s", keyTypes: [], valueType: agg("stats"), entries: [] },
    ];
    expect(formatExitMaps(maps)).toBe("\n\n@: 7\n@A: 5\n@_x: 6\n@a: 2\n@b: 1\n\n\n\n");
    expect(formatExitMaps([])).toBe("\n\n");
  });
});

describe("cxxSort", () => {
  test("matches libstdc++ std::sort on a small case (insertion sort: stable)", () => {
    const v = [2, 1, 2, 1, 0, 1, 2, 0].map((x, i) => ({ x, i }));
    expect(cxxSort(v, (a, b) => a.x < b.x).map((e) => e.i)).toEqual([4, 7, 1, 3, 5, 0, 2, 6]);
  });

  test("sorts", () => {
    const v = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1009);
    expect(cxxSort([...v], (a, b) => a < b)).toEqual([...v].sort((a, b) => a - b));
  });
});
