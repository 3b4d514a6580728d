// -f json without a kernel: records built from map snapshots and values, compared with what
// bpftrace 0.17 writes (its json-output suite's expected outputs, and its EXPECT lines), and every
// record checked against the schema of spec/json-output.md.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { describe, expect, test } from "vitest";
import type { Type } from "../../compiler/types.js";
import { histJson, jsonEscape, jsonSink, jsonValue, lhistJson, mapRecord, percentilesRecord } from "../../runtime/format/json.js";
import { formatExitMaps, type MapSnapshot } from "../../runtime/format/text.js";
import { linearBucket, log2Bucket, type MapEntry, type Value } from "../../runtime/format/values.js";
import { textSink } from "../../runtime/output.js";
import { CONFORMANCE_DIR, conformanceAvailable, parseSuite } from "../support/conformance.js";
import { readRecords } from "../support/json-records.js";

const I64: Type = { kind: "int", size: 8, signed: true };
const I32: Type = { kind: "int", size: 4, signed: true };
const U8: Type = { kind: "int", size: 1, signed: false };
const STR: Type = { kind: "string", size: 64 };
const COMM: Type = { kind: "string", size: 16 };
const COUNT: Type = { kind: "agg", agg: "count", signed: false };
const AVG: Type = { kind: "agg", agg: "avg", signed: true };
const STATS: Type = { kind: "agg", agg: "stats", signed: true };
const HIST: Type = { kind: "agg", agg: "hist", signed: true };
const lhistType = (min: bigint, max: bigint, step: bigint): Type => ({ kind: "agg", agg: "lhist", signed: true, lhist: { min, max, step } });

/** hist() counts after these calls. */
function hist(...values: number[]): bigint[] {
  const c = new Array<bigint>(34).fill(0n);
  for (const v of values) c[log2Bucket(BigInt(v))]! += 1n;
  return c;
}

function lhist(min: number, max: number, step: number, ...values: number[]): bigint[] {
  const c = new Array<bigint>(Math.trunc((max - min) / step) + 2).fill(0n);
  for (const v of values) c[linearBucket(BigInt(v), BigInt(min), BigInt(max), BigInt(step))]! += 1n;
  return c;
}

function avg(...values: number[]): Value {
  return { count: BigInt(values.length), total: values.reduce((a, b) => a + BigInt(b), 0n) };
}

function snap(name: string, keyTypes: Type[], valueType: Type, entries: MapEntry[]): MapSnapshot {
  return { name, keyTypes, valueType, entries };
}

/** The record's line, checked against the schema; the parsed record. */
function record(line: string | undefined): unknown {
  expect(line).toBeDefined();
  expect(line).not.toContain("\n");
  return readRecords(line! + "\n")[0];
}

describe("strings are escaped as bpftrace escapes them", () => {
  test("bpftrace's printf_escaping case", () => {
    // EXPECT ^{"type": "printf", "data": "test \\r \\n \\t \\\\ \\\" bar"}$
    expect(jsonEscape('test \r \n \t \\ " bar')).toBe('test \\r \\n \\t \\\\ \\" bar');
  });

  test("other control characters as \\u00XX, lowercase", () => {
    expect(jsonEscape("\x01\x08\x0c\x1f\x7f")).toBe("\\u0001\\u0008\\u000c\\u001f\x7f");
  });

  test("text beyond ASCII stays text (bpftrace writes broken escapes there); the JSON stays valid", () => {
    expect(jsonEscape("é→😀")).toBe("é→😀");
    expect(JSON.parse(`"${jsonEscape("é\u2028\ud800x")}"`)).toBe("é\u2028\ud800x");
  });

  test("any string survives JSON.parse", () => {
    const all = Array.from({ length: 0x250 }, (_, i) => String.fromCharCode(i)).join("") + "\ud83d\ude00\udc00";
    expect(JSON.parse(`"${jsonEscape(all)}"`)).toBe(all);
  });
});

describe("values", () => {
  test("integers per size and sign, strings quoted, tuples without spaces", () => {
    expect(jsonValue(I64, 5n)).toBe("5");
    expect(jsonValue(I32, -3n)).toBe("-3");
    expect(jsonValue(U8, 255n)).toBe("255");
    expect(jsonValue(U8, -1n)).toBe("255");
    expect(jsonValue(STR, "bpftrace")).toBe('"bpftrace"');
    expect(jsonValue(STR, new TextEncoder().encode("ab\0cd"))).toBe('"ab"');
    const tuple: Type = { kind: "tuple", elems: [I64, I64, STR, { kind: "tuple", elems: [I64, I64] }] };
    // bpftrace's "tuple" case: {"@": [1,2,"string",[4,5]]}
    expect(jsonValue(tuple, [1n, 2n, "string", [4n, 5n]])).toBe('[1,2,"string",[4,5]]');
    const escaped: Type = { kind: "tuple", elems: [I64, I64, STR] };
    expect(jsonValue(escaped, [1n, 2n, 'string with "quotes"'])).toBe('[1,2,"string with \\"quotes\\""]');
    expect(jsonValue({ kind: "probe" }, "BEGIN")).toBe('"BEGIN"');
    expect(jsonValue({ kind: "usym" }, { addr: 0x4011d6n })).toBe('"0x4011d6"');
  });

  test("aggregations: numbers, stats objects; div divides", () => {
    expect(jsonValue(COUNT, 7n)).toBe("7");
    expect(jsonValue(COUNT, 7n, 2n)).toBe("3");
    expect(jsonValue(AVG, avg(10, 20))).toBe("15");
    expect(jsonValue(STATS, avg(2, 10))).toBe('{"count": 2, "average": 6, "total": 12}');
    expect(jsonValue({ kind: "agg", agg: "sum", signed: true }, -7n)).toBe("-7");
    expect(jsonValue({ kind: "agg", agg: "max", signed: false }, 2n ** 64n - 1n)).toBe("18446744073709551615");
  });
});

describe("histograms", () => {
  test("hist buckets: from the first non-empty to the last, bounds inclusive", () => {
    expect(histJson(hist(-1, 0, 1, 5))).toBe(
      '[{"max": -1, "count": 1}, {"min": 0, "max": 0, "count": 1}, {"min": 1, "max": 1, "count": 1}, {"min": 2, "max": 3, "count": 0}, {"min": 4, "max": 7, "count": 1}]',
    );
    expect(histJson(hist())).toBe("[]");
    expect(histJson(hist(10, 10, 10), 2n)).toBe('[{"min": 8, "max": 15, "count": 1}]');
  });

  test("bpftrace 0.17's 32-bit quirks: the last bucket's bounds, counts truncated for trimming", () => {
    // Checked with bpftrace 0.17: @h = hist(5000000000) prints {"min": -2147483648, "max": 0, ...}.
    expect(histJson(hist(2 ** 33))).toBe('[{"min": -2147483648, "max": 0, "count": 1}]');
    expect(histJson(hist(2 ** 30))).toBe('[{"min": 1073741824, "max": 2147483647, "count": 1}]');
    const c = hist(3, 100);
    c[log2Bucket(3n)] = 2n ** 32n; // truncated to 0 when trimming: trimmed away
    expect(histJson(c)).toBe('[{"min": 64, "max": 127, "count": 1}]');
  });

  test("lhist buckets: below min, in range, from max up", () => {
    expect(lhistJson(lhist(0, 100, 10, -5, 2, 1000), 0n, 100n, 10n)).toBe(
      `[{"max": -1, "count": 1}, {"min": 0, "max": 9, "count": 1}, ${Array.from({ length: 9 }, (_, i) => `{"min": ${(i + 1) * 10}, "max": ${(i + 1) * 10 + 9}, "count": 0}`).join(", ")}, {"min": 100, "count": 1}]`,
    );
    expect(lhistJson(lhist(-10, 10, 5, -7), -10n, 10n, 5n)).toBe('[{"min": -10, "max": -6, "count": 1}]');
    expect(lhistJson(lhist(0, 10, 1), 0n, 10n, 1n)).toBe("[]");
  });
});

// The expected outputs of bpftrace 0.17's json-output suite (runtime/outputs/*.json), compared as
// the suite compares them: Python's json equality (JSON.parse and deep equality here).
const outputs: Array<{ file: string; map: MapSnapshot }> = [
  { file: "scalar.json", map: snap("@scalar", [], I64, [{ key: [], value: 5n }]) },
  { file: "scalar_str.json", map: snap("@scalar_str", [], STR, [{ key: [], value: "a b \n d e" }]) },
  { file: "complex.json", map: snap("@complex", [COMM, I64], I64, [{ key: ["bpftrace", 2n], value: 5n }]) },
  {
    file: "map.json",
    map: snap("@map", [STR], I64, [
      { key: ["key1"], value: 2n },
      { key: ["key2"], value: 3n },
    ]),
  },
  { file: "hist.json", map: snap("@hist", [], HIST, [{ key: [], value: hist(2, 1025) }]) },
  { file: "hist_zero.json", map: snap("@hist", [], HIST, [{ key: [], value: hist() }]) },
  {
    file: "hist_multiple.json",
    map: snap("@", [STR], HIST, [
      { key: ["bpftrace"], value: hist(2) },
      { key: ["curl"], value: hist(-1, 0, 511, 1024, 1025) },
    ]),
  },
  { file: "lhist.json", map: snap("@h", [], lhistType(0n, 100n, 10n), [{ key: [], value: lhist(0, 100, 10, 2, 50, 1000) }]) },
  { file: "lhist_zero.json", map: snap("@h", [], lhistType(0n, 100n, 10n), [{ key: [], value: lhist(0, 100, 10) }]) },
  {
    file: "lhist_multiple.json",
    map: snap("@stats", [STR], lhistType(0n, 100n, 10n), [
      { key: ["bpftrace"], value: lhist(0, 100, 10, 2, 1000) },
      { key: ["curl"], value: lhist(0, 100, 10, 50) },
    ]),
  },
  { file: "stats.json", map: snap("@stats", [], STATS, [{ key: [], value: avg(2, 10) }]) },
  {
    file: "stats_multiple.json",
    map: snap("@stats", [STR], STATS, [
      { key: ["curl"], value: avg(2) },
      { key: ["zsh"], value: avg(10) },
    ]),
  },
];

describe.runIf(conformanceAvailable())("bpftrace 0.17's json-output suite: expected outputs", () => {
  for (const { file, map } of outputs) {
    test(file, () => {
      const expected: unknown = JSON.parse(readFileSync(join(CONFORMANCE_DIR, "outputs", file), "utf8"));
      const actual = record(mapRecord(map));
      expect(isDeepStrictEqual(actual, expected)).toBe(true);
    });
  }

  // Cases whose EXPECT is the record's line (a regular expression).
  const suite = parseSuite("json-output", readFileSync(join(CONFORMANCE_DIR, "json-output"), "utf8"));
  const expectOf = (name: string) => new RegExp(suite.find((c) => c.name === name)!.expect[0]!);
  const abcd = (): MapEntry[] => ["a", "b", "c", "d"].map((k, i) => ({ key: [k], value: avg(10 * (i + 1)) }));
  const hists = (): MapEntry[] => [10, 20, 30].map((v, i) => ({ key: [BigInt(i + 1)], value: hist(v) }));
  const lines: Array<[string, string | undefined]> = [
    ["print_avg_map_args", mapRecord(snap("@", [STR], AVG, abcd()), { top: 2, div: 10 })],
    ["print_avg_map_with_large_top", mapRecord(snap("@", [STR], AVG, abcd()), { top: 10, div: 10 })],
    ["print_hist_with_top_arg", mapRecord(snap("@", [I64], HIST, hists()), { top: 2 })],
    ["print_hist_with_large_top_arg", mapRecord(snap("@", [I64], HIST, hists()), { top: 10 })],
    ["tuple", mapRecord(snap("@", [], { kind: "tuple", elems: [I64, I64, STR, { kind: "tuple", elems: [I64, I64] }] }, [{ key: [], value: [1n, 2n, "string", [4n, 5n]] }]))],
    ["tuple_with_escaped_string", mapRecord(snap("@", [], { kind: "tuple", elems: [I64, I64, STR] }, [{ key: [], value: [1n, 2n, 'string with "quotes"'] }]))],
  ];
  for (const [name, line] of lines) {
    test(name, () => {
      record(line);
      expect(line).toMatch(expectOf(name));
    });
  }

  test("printf, printf_escaping, time, print_non_map*: through the sink", () => {
    let out = "";
    const sink = jsonSink((s) => (out += s), () => {});
    sink.printf("test 5");
    sink.printf('test \r \n \t \\ " bar');
    sink.time("12:34:56\n");
    sink.value(I64, 5n);
    sink.value(COMM, "bpftrace");
    sink.value({ kind: "tuple", elems: [I64, I64, STR] }, [1n, 2n, "string"]);
    const got = out.split("\n");
    expect(got[0]).toMatch(expectOf("printf"));
    expect(got[1]).toMatch(expectOf("printf_escaping"));
    expect(got[2]).toMatch(expectOf("time"));
    expect(got[3]).toMatch(expectOf("print_non_map"));
    expect(got[4]).toMatch(expectOf("print_non_map_builtin"));
    expect(got[5]).toMatch(expectOf("print_non_map_tuple"));
    readRecords(out);
  });
});

describe("the JSON sink", () => {
  const maps = (): MapSnapshot[] => [
    snap("@x", [], I64, [{ key: [], value: 1n }]),
    snap("@empty", [I64], COUNT, []),
    snap("@h", [COMM], HIST, [
      { key: ["b"], value: hist(100, 200, 250) },
      { key: ["a"], value: hist(1) },
    ]),
    snap("@", [], COUNT, [{ key: [], value: 3n }]),
  ];

  test("a whole run: one record per line, no blank lines, maps by name, empty maps left out", () => {
    let out = "";
    let err = "";
    const sink = jsonSink(
      (s) => (out += s),
      (s) => (err += s),
    );
    sink.attached(3);
    sink.printf("hello\n");
    sink.map(maps()[2]!, { top: 1, div: 0 });
    sink.map(maps()[1]!, { top: 0, div: 0 });
    sink.lostEvents(4n);
    sink.exit(maps());
    sink.mapUpdateFailures(2n);
    expect(out).toBe(
      [
        '{"type": "attached_probes", "data": {"probes": 3}}',
        '{"type": "printf", "data": "hello\\n"}',
        '{"type": "hist", "data": {"@h": {"b": [{"min": 64, "max": 127, "count": 1}, {"min": 128, "max": 255, "count": 2}]}}}',
        '{"type": "lost_events", "data": {"events": 4}}',
        '{"type": "map", "data": {"@": 3}}',
        '{"type": "hist", "data": {"@h": {"a": [{"min": 1, "max": 1, "count": 1}], "b": [{"min": 64, "max": 127, "count": 1}, {"min": 128, "max": 255, "count": 2}]}}}',
        '{"type": "map", "data": {"@x": 1}}',
        "",
      ].join("\n"),
    );
    expect(err).toBe("WARNING: 2 map updates failed (a map may be full)\n");
    expect(readRecords(out).map((r) => r.type)).toEqual(["attached_probes", "printf", "hist", "lost_events", "map", "hist", "map"]);
  });

  test("--percentiles: a record per histogram map after the maps", () => {
    let out = "";
    jsonSink((s) => (out += s), () => {}, { percentiles: true }).exit(maps());
    const records = readRecords(out);
    expect(records.at(-1)).toEqual({ type: "percentiles", data: { "@h": { a: { p50: 1, p90: 1, p99: 1, "p99.9": 1 }, b: { p50: 160, p90: 224, p99: 224, "p99.9": 224 } } } });
    expect(records.filter((r) => r.type === "percentiles")).toHaveLength(1);
    expect(percentilesRecord(snap("@k", [], HIST, [{ key: [], value: hist(5) }]))).toBe('{"type": "percentiles", "data": {"@k": {"p50": 6, "p90": 6, "p99": 6, "p99.9": 6}}}');
    expect(percentilesRecord(snap("@k", [], HIST, [{ key: [], value: hist() }]))).toBeUndefined();
    expect(percentilesRecord(snap("@c", [], COUNT, [{ key: [], value: 1n }]))).toBeUndefined();
  });
});

describe("the text sink is the text output", () => {
  test("exit: formatExitMaps byte for byte; --percentiles adds its block after a blank line", () => {
    const m = [snap("@x", [], I64, [{ key: [], value: 1n }]), snap("@h", [], HIST, [{ key: [], value: hist(5, 100) }])];
    let plain = "";
    textSink((s) => (plain += s), () => {}).exit(m);
    expect(plain).toBe(formatExitMaps(m));
    let withP = "";
    textSink((s) => (withP += s), () => {}, { percentiles: true }).exit(m);
    expect(withP).toBe(`${formatExitMaps(m)}\nPercentiles (estimated from the histogram buckets):\n@h: p50 6, p90 96, p99 96, p99.9 96\n`);
    // No histogram: nothing added.
    let none = "";
    textSink((s) => (none += s), () => {}, { percentiles: true }).exit([m[0]!]);
    expect(none).toBe(formatExitMaps([m[0]!]));
  });

  test("keyed and lhist entries, in the map's order", () => {
    const m = [
      snap("@l", [COMM], lhistType(0n, 100n, 10n), [
        { key: ["b"], value: lhist(0, 100, 10, 5, 15, 25, 35) },
        { key: ["a"], value: lhist(0, 100, 10, -5) },
      ]),
    ];
    let out = "";
    textSink((s) => (out += s), () => {}, { percentiles: true }).exit(m);
    expect(out.endsWith("\n\nPercentiles (estimated from the histogram buckets):\n@l[a]: p50 -1, p90 -1, p99 -1, p99.9 -1\n@l[b]: p50 15, p90 35, p99 35, p99.9 35\n")).toBe(true);
  });
});
