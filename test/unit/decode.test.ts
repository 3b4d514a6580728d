// Decoding kernel bytes into the formatter's value model: hand-built buffers for every type,
// ring buffer records and per-CPU value layouts.
import { describe, expect, test } from "vitest";
import { structLayout } from "../../compiler/codegen/maps.js";
import type { EventSpec, ValueLayout } from "../../compiler/program.js";
import { int, str, type Type } from "../../compiler/types.js";
import { combinePerCpu, decodeFields, decodeInt, decodeRecord, decodeValue, perCpuStride, splitPerCpu } from "../../runtime/decode.js";

/** A little builder for little-endian buffers. */
class Buf {
  readonly bytes: Uint8Array;
  private view: DataView;
  constructor(size: number, fill = 0) {
    this.bytes = new Uint8Array(size).fill(fill);
    this.view = new DataView(this.bytes.buffer);
  }
  int(off: number, size: 1 | 2 | 4 | 8, v: bigint): this {
    const u = BigInt.asUintN(size * 8, v);
    if (size === 8) this.view.setBigUint64(off, u, true);
    else if (size === 4) this.view.setUint32(off, Number(u), true);
    else if (size === 2) this.view.setUint16(off, Number(u), true);
    else this.view.setUint8(off, Number(u));
    return this;
  }
  str(off: number, s: string | number[], size: number): this {
    const b = typeof s === "string" ? Buffer.from(s, "utf8") : Uint8Array.from(s);
    for (let i = 0; i < size; i++) this.bytes[off + i] = i < b.length ? b[i]! : 0;
    return this;
  }
}

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "utf8"));

describe("decodeValue: integers", () => {
  const cases: Array<[1 | 2 | 4 | 8, boolean, bigint]> = [
    [1, true, -1n],
    [1, true, -128n],
    [1, true, 127n],
    [1, false, 255n],
    [2, true, -2n],
    [2, true, -32768n],
    [2, false, 65535n],
    [4, true, -123456n],
    [4, true, -(1n << 31n)],
    [4, false, 0xffff_ffffn],
    [8, true, -1n],
    [8, true, -(1n << 63n)],
    [8, true, (1n << 63n) - 1n],
    [8, false, (1n << 64n) - 1n],
    [8, false, 0x0123_4567_89ab_cdefn],
  ];
  for (const [size, signed, v] of cases) {
    test(`${signed ? "" : "u"}int${size * 8} ${v}`, () => {
      // At an odd offset, surrounded by bytes that must not leak in.
      const b = new Buf(3 + size + 5, 0xa5).int(3, size, v);
      expect(decodeValue(int(size, signed), b.bytes, 3)).toBe(v);
      expect(decodeInt(b.bytes, 3, size, signed)).toBe(v);
    });
  }

  test("the same bytes read signed and unsigned", () => {
    const b = new Buf(8).int(0, 8, -2n);
    expect(decodeValue(int(1, true), b.bytes, 0)).toBe(-2n);
    expect(decodeValue(int(1, false), b.bytes, 0)).toBe(254n);
    expect(decodeValue(int(2, false), b.bytes, 0)).toBe(0xfffen);
    expect(decodeValue(int(4, true), b.bytes, 0)).toBe(-2n);
    expect(decodeValue(int(8, false), b.bytes, 0)).toBe((1n << 64n) - 2n);
  });

  test("views into a larger buffer (byteOffset) read their own bytes", () => {
    const whole = new Buf(32).int(16, 8, -77n).int(24, 4, 9n);
    const view = whole.bytes.subarray(16);
    expect(decodeValue(int(8, true), view, 0)).toBe(-77n);
    expect(decodeValue(int(4, false), view, 8)).toBe(9n);
  });

  test("short buffers are a RangeError", () => {
    expect(() => decodeValue(int(8, true), new Uint8Array(7), 0)).toThrow(RangeError);
    expect(() => decodeValue(int(4, true), new Uint8Array(8), 5)).toThrow(RangeError);
    expect(() => decodeValue(int(1, true), new Uint8Array(8), -1)).toThrow(RangeError);
  });
});

describe("decodeValue: strings", () => {
  test("cut at the first NUL; bytes after it are ignored", () => {
    const b = new Buf(16).str(0, [...bytes("abc"), 0, ...bytes("junk")], 16);
    expect(decodeValue(str(16), b.bytes, 0)).toEqual(bytes("abc"));
  });

  test("a string filling its buffer without NUL is kept whole, and not read past", () => {
    const b = new Buf(12, 0x41).str(2, "abcdefgh", 8);
    const v = decodeValue(str(8), b.bytes, 2);
    expect(v).toEqual(bytes("abcdefgh"));
  });

  test("empty string", () => {
    expect(decodeValue(str(4), new Uint8Array(4), 0)).toEqual(new Uint8Array(0));
  });

  test("raw bytes that are not UTF-8 survive; the result is a copy", () => {
    const b = new Buf(6).str(0, [0xff, 0xfe, 0x80, 0x41, 0, 0x42], 6);
    const v = decodeValue(str(6), b.bytes, 0) as Uint8Array;
    expect([...v]).toEqual([0xff, 0xfe, 0x80, 0x41]);
    b.bytes[0] = 0;
    expect(v[0]).toBe(0xff);
  });

  test("a buffer shorter than the string type is a RangeError", () => {
    expect(() => decodeValue(str(16), new Uint8Array(15), 0)).toThrow(RangeError);
  });
});

describe("decodeValue: tuples, usym, probe", () => {
  test("tuple with padding: (int8, int64, string[3], int16, uint32)", () => {
    const t: Type = { kind: "tuple", elems: [int(1, true), int(8, true), str(3), int(2, true), int(4, false)] };
    const { offsets, size } = structLayout(t.elems);
    expect(offsets).toEqual([0, 8, 16, 20, 24]);
    expect(size).toBe(32);
    // Padding bytes hold garbage: they must not matter.
    const b = new Buf(size + 8, 0xcc)
      .int(8 + 0, 1, -5n)
      .int(8 + 8, 8, -(1n << 40n))
      .str(8 + 16, "hi", 3)
      .int(8 + 20, 2, -300n)
      .int(8 + 24, 4, 0xdead_beefn);
    expect(decodeValue(t, b.bytes, 8)).toEqual([-5n, -(1n << 40n), bytes("hi"), -300n, 0xdead_beefn]);
  });

  test("nested tuple, and a string with no NUL inside a tuple", () => {
    const inner: Type = { kind: "tuple", elems: [int(2, false), int(1, true)] };
    const t: Type = { kind: "tuple", elems: [str(2), inner, int(4, true)] };
    const { offsets } = structLayout(t.elems);
    expect(offsets).toEqual([0, 2, 8]);
    const b = new Buf(12, 0xee).str(0, "xy", 2).int(2, 2, 0xfffen).int(4, 1, -1n).int(8, 4, -9n);
    expect(decodeValue(t, b.bytes)).toEqual([bytes("xy"), [0xfffen, -1n], -9n]);
  });

  test("usym is an address and the pid it belongs to", () => {
    const b = new Buf(16).int(0, 8, 0xffff_8000_0040_11d6n).int(8, 8, 4321n);
    expect(decodeValue({ kind: "usym" }, b.bytes, 0)).toEqual({ addr: 0xffff_8000_0040_11d6n, pid: 4321 });
    expect(decodeValue({ kind: "usym" }, new Buf(16).int(0, 8, 5n).bytes, 0)).toEqual({ addr: 5n });
  });

  test("probe is resolved through the probe name table", () => {
    const names = ["BEGIN", "uprobe:/bin/bash:readline", "END"];
    expect(decodeValue({ kind: "probe" }, new Buf(8).int(0, 8, 1n).bytes, 0, names)).toBe("uprobe:/bin/bash:readline");
    expect(decodeValue({ kind: "probe" }, new Buf(8).int(0, 8, 0n).bytes, 0, names)).toBe("BEGIN");
    expect(decodeValue({ kind: "probe" }, new Buf(8).int(0, 8, 7n).bytes, 0, names)).toBe("<unknown probe 7>");
  });

  test("decodeFields: a map key's fields", () => {
    const types = [str(5), int(4, true), { kind: "probe" } as Type];
    const { offsets, size } = structLayout(types);
    expect(offsets).toEqual([0, 8, 16]);
    const b = new Buf(size).str(0, "cat", 5).int(8, 4, -3n).int(16, 8, 0n);
    const fields = types.map((type, i) => ({ type, offset: offsets[i]! }));
    expect(decodeFields(fields, b.bytes, 0, ["BEGIN"])).toEqual([bytes("cat"), -3n, "BEGIN"]);
  });

  test("aggregations, ustack, void are refused", () => {
    const b = new Uint8Array(64);
    expect(() => decodeValue({ kind: "agg", agg: "count", signed: false }, b, 0)).toThrow(/combinePerCpu/);
    expect(() => decodeValue({ kind: "ustack", limit: 4 }, b, 0)).toThrow(/ustack/);
    expect(() => decodeValue({ kind: "void" }, b, 0)).toThrow(TypeError);
  });
});

describe("decodeRecord", () => {
  // printf("%d %s %d %d\n", (int8)x, comm, (uint32)y, (t1, t2)) as gen.ts lays it out: top-level
  // ints carried as 8 bytes keeping their sign, the rest at its own layout.
  const tupleT: Type = { kind: "tuple", elems: [int(1, true), str(3)] };
  const argTypes: Type[] = [int(8, true), str(16), int(8, false), tupleT, { kind: "probe" }];
  const { offsets, size } = structLayout(argTypes);
  const events: EventSpec[] = [
    { kind: "exit" },
    { kind: "printf", segments: [], args: argTypes.map((type, i) => ({ type, offset: offsets[i]! })), size },
    { kind: "print_value", value: { type: str(5), offset: 0 }, size: 5 },
    { kind: "print_map", map: "@x", top: 0, div: 1 },
    { kind: "time", format: "%H\n" },
  ];
  const probeNames = ["BEGIN", "interval:s:1"];

  test("printf record: id then fields", () => {
    expect(offsets).toEqual([0, 8, 24, 32, 40]);
    const b = new Buf(8 + size, 0x99)
      .int(0, 8, 1n)
      .int(8 + 0, 8, -3n)
      .str(8 + 8, "bash", 16)
      .int(8 + 24, 8, 0xffff_fff0n)
      .int(8 + 32, 1, -128n)
      .str(8 + 33, "abc", 3)
      .int(8 + 40, 8, 1n);
    const r = decodeRecord(events, probeNames, b.bytes);
    expect(r.id).toBe(1);
    expect(r.event).toBe(events[1]);
    expect(r.values).toEqual([-3n, bytes("bash"), 0xffff_fff0n, [-128n, bytes("abc")], "interval:s:1"]);
  });

  test("print_value record (padded to 8 bytes)", () => {
    const b = new Buf(16).int(0, 8, 2n).str(8, "hello", 5);
    b.bytes[13] = 0x7a; // padding
    const r = decodeRecord(events, probeNames, b.bytes);
    expect(r.event.kind).toBe("print_value");
    expect(r.values).toEqual([bytes("hello")]);
  });

  test("records without fields", () => {
    for (const id of [0, 3, 4]) {
      const r = decodeRecord(events, probeNames, new Buf(8).int(0, 8, BigInt(id)).bytes);
      expect(r).toEqual({ id, event: events[id], values: [] });
    }
  });

  test("a record is decoded in place from a view (ring buffer batches share one buffer)", () => {
    const whole = new Buf(40, 0x11).int(24, 8, 0n);
    const r = decodeRecord(events, probeNames, whole.bytes.subarray(24, 32));
    expect(r.id).toBe(0);
  });

  test("bad ids and short records are RangeErrors", () => {
    expect(() => decodeRecord(events, probeNames, new Buf(8).int(0, 8, 5n).bytes)).toThrow(/event id 5/);
    expect(() => decodeRecord(events, probeNames, new Buf(8).int(0, 8, -1n).bytes)).toThrow(RangeError);
    expect(() => decodeRecord(events, probeNames, new Uint8Array(4))).toThrow(RangeError);
    expect(() => decodeRecord(events, probeNames, new Buf(8 + size - 1).int(0, 8, 1n).bytes)).toThrow(RangeError);
  });
});

describe("per-CPU values", () => {
  /** One 8-byte-aligned slot per CPU, each built by `fill`. */
  function perCpu(valueSize: number, n: number, fill: (b: Buf, cpu: number) => void): Uint8Array[] {
    const stride = perCpuStride(valueSize);
    const b = new Buf(stride * n, 0);
    for (let c = 0; c < n; c++) {
      const v = new Buf(stride);
      fill(v, c);
      b.bytes.set(v.bytes, c * stride);
    }
    return splitPerCpu(b.bytes, valueSize, n);
  }

  test("splitPerCpu: slots of roundUp(valueSize, 8)", () => {
    expect(perCpuStride(8)).toBe(8);
    expect(perCpuStride(12)).toBe(16);
    expect(perCpuStride(1)).toBe(8);
    const b = new Uint8Array(48).map((_, i) => i);
    const s = splitPerCpu(b, 12, 3);
    expect(s.map((x) => x.length)).toEqual([12, 12, 12]);
    expect(s.map((x) => x[0])).toEqual([0, 16, 32]);
    expect(() => splitPerCpu(b, 12, 4)).toThrow(RangeError);
  });

  test("sum: signed, with negative per-CPU values", () => {
    const layout: ValueLayout = { kind: "sum", signed: true };
    const cpus = perCpu(8, 4, (b, c) => b.int(0, 8, [5n, -20n, 0n, 7n][c]!));
    expect(combinePerCpu(layout, cpus)).toBe(-8n);
  });

  test("sum: unsigned (count), wrapping at 64 bits", () => {
    const layout: ValueLayout = { kind: "sum", signed: false };
    expect(combinePerCpu(layout, perCpu(8, 3, (b, c) => b.int(0, 8, BigInt(c + 1))))).toBe(6n);
    const wrap = perCpu(8, 2, (b) => b.int(0, 8, (1n << 64n) - 1n));
    expect(combinePerCpu(layout, wrap)).toBe((1n << 64n) - 2n);
    expect(combinePerCpu({ kind: "sum", signed: true }, wrap)).toBe(-2n);
  });

  test("buckets: counts summed", () => {
    const layout: ValueLayout = { kind: "buckets", signed: true };
    expect(combinePerCpu(layout, perCpu(8, 4, (b, c) => b.int(0, 8, BigInt(10 * c))))).toBe(60n);
  });

  test("max: only CPUs whose set flag is non-zero count", () => {
    const layout: ValueLayout = { kind: "minmax", max: true, signed: true };
    // CPU 1 is unset but holds a larger value; CPU 3 is set with a flag other than 1.
    const cpus = perCpu(16, 4, (b, c) => {
      const [v, set] = ([[-50n, 1n], [1000n, 0n], [-7n, 1n], [-9n, 2n]] as const)[c]!;
      b.int(0, 8, v).int(8, 8, set);
    });
    expect(combinePerCpu(layout, cpus)).toBe(-7n);
  });

  test("min: signed and unsigned compare differently", () => {
    const cpus = perCpu(16, 3, (b, c) => b.int(0, 8, [5n, -1n, 3n][c]!).int(8, 8, c === 2 ? 0n : 1n));
    expect(combinePerCpu({ kind: "minmax", max: false, signed: true }, cpus)).toBe(-1n);
    expect(combinePerCpu({ kind: "minmax", max: false, signed: false }, cpus)).toBe(5n);
    expect(combinePerCpu({ kind: "minmax", max: true, signed: false }, cpus)).toBe((1n << 64n) - 1n);
    expect(combinePerCpu({ kind: "minmax", max: true, signed: true }, cpus)).toBe(5n);
  });

  test("min/max with no CPU set is 0", () => {
    const cpus = perCpu(16, 2, (b) => b.int(0, 8, 42n));
    expect(combinePerCpu({ kind: "minmax", max: false, signed: true }, cpus)).toBe(0n);
  });

  test("avg/stats: counts and totals summed", () => {
    const cpus = perCpu(16, 3, (b, c) => b.int(0, 8, BigInt(c + 1)).int(8, 8, [-10n, 4n, -30n][c]!));
    expect(combinePerCpu({ kind: "avg", signed: true }, cpus)).toEqual({ count: 6n, total: -36n });
    expect(combinePerCpu({ kind: "avg", signed: false }, cpus)).toEqual({ count: 6n, total: (1n << 64n) - 36n });
  });

  test("plain: the one value, decoded per its type", () => {
    const t: Type = { kind: "tuple", elems: [int(4, true), str(4)] };
    const b = new Buf(8).int(0, 4, -4n).str(4, "ab", 4);
    expect(combinePerCpu({ kind: "plain", type: t }, [b.bytes])).toEqual([-4n, bytes("ab")]);
    expect(combinePerCpu({ kind: "plain", type: { kind: "probe" } }, [new Buf(8).int(0, 8, 0n).bytes], ["BEGIN"])).toBe("BEGIN");
    expect(() => combinePerCpu({ kind: "plain", type: int(8, true) }, [])).toThrow(RangeError);
  });
});
