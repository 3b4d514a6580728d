// Reading, clearing and zeroing real maps laid out as compiler/codegen/maps.ts plans them,
// filled from user space (per-CPU values written for every possible CPU).
import { afterEach, describe, expect } from "vitest";
import type { MapSymbol } from "../../compiler/check.js";
import { HIST_BUCKETS, lhistBuckets, planMaps, structLayout } from "../../compiler/codegen/maps.js";
import { COUNTERS, MAP_TYPE, type MapSpec, STATE } from "../../compiler/program.js";
import { compile } from "../../compiler/compile.js";
import { StructRegistry } from "../../compiler/cstruct.js";
import type { Span } from "../../compiler/source.js";
import { int, str, type Type } from "../../compiler/types.js";
import { decodeRecord } from "../../runtime/decode.js";
import { formatExitMaps } from "../../runtime/format/text.js";
import type { MapEntry, Value } from "../../runtime/format/values.js";
import { clearMap, readCounters, readMap, readMapSnapshot, readRawEntries, type ReadMethod, writeState, zeroMap } from "../../runtime/maps.js";
import { isErrno, MapType, native } from "../../runtime/native.js";
import { kernelTest } from "../support/kernel.js";

const n = () => native();
const fds: number[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) n().close(fd);
});

const agg = (a: Extract<Type, { kind: "agg" }>["agg"], signed = false, lhist?: { min: bigint; max: bigint; step: bigint }): Type => ({
  kind: "agg",
  agg: a,
  signed,
  ...(lhist ? { lhist } : {}),
});

/** The specs planMaps gives maps with these key and value types (keyed by name without '@'). */
function plan(maps: Record<string, { keys: Type[]; value: Type }>): Record<string, MapSpec> {
  const symbols = new Map<string, MapSymbol>();
  for (const [name, m] of Object.entries(maps)) symbols.set(name, { name, keys: m.keys, value: m.value, span: {} as Span });
  const { specs } = planMaps({ maps: symbols, variables: [], structs: new StructRegistry([], undefined) });
  return Object.fromEntries(specs.map((s) => [s.name.replace(/^@/, ""), s]));
}

function create(spec: MapSpec): number {
  const fd = n().mapCreate({
    type: MAP_TYPE[spec.kind],
    keySize: spec.keySize,
    valueSize: spec.valueSize,
    maxEntries: spec.maxEntries,
    name: "bpfts_maps_test",
  });
  fds.push(fd);
  return fd;
}

const ncpu = () => n().numPossibleCpus();

/** Little-endian writer. */
function le(size: number): { b: Uint8Array; int(off: number, sz: 1 | 2 | 4 | 8, v: bigint): void; str(off: number, s: string): void } {
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  return {
    b,
    int(off, sz, x) {
      const u = BigInt.asUintN(sz * 8, x);
      if (sz === 8) v.setBigUint64(off, u, true);
      else if (sz === 4) v.setUint32(off, Number(u), true);
      else if (sz === 2) v.setUint16(off, Number(u), true);
      else v.setUint8(off, Number(u));
    },
    str(off, s) {
      b.set(Buffer.from(s, "utf8"), off);
    },
  };
}

/** A key for `spec` with these user key values; `bucket` in the last 8 bytes for hist maps. */
function key(spec: MapSpec, values: Array<bigint | string>, bucket?: number): Uint8Array {
  const k = le(spec.keySize);
  spec.user!.keys.forEach((f, i) => {
    const v = values[i]!;
    if (f.type.kind === "string") k.str(f.offset, v as string);
    else if (f.type.kind === "int") k.int(f.offset, f.type.size, v as bigint);
    else k.int(f.offset, 8, v as bigint);
  });
  if (bucket !== undefined) k.int(spec.keySize - 8, 8, BigInt(bucket));
  return k.b;
}

function u64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

function u32(i: number): Uint8Array {
  const k = le(4);
  k.int(0, 4, BigInt(i));
  return k.b;
}

/** A per-CPU value: `slot(cpu)` gives the 8-byte words of that CPU's slot. */
function perCpu(spec: MapSpec, slot: (cpu: number) => bigint[]): Uint8Array {
  const stride = Math.ceil(spec.valueSize / 8) * 8;
  const v = le(stride * ncpu());
  for (let c = 0; c < ncpu(); c++) slot(c).forEach((w, i) => v.int(c * stride + i * 8, 8, w));
  return v.b;
}

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "utf8"));
const METHODS: ReadMethod[] = ["batch", "keys"];

/** Entries in a canonical order, for comparisons that do not care about the kernel's order. */
function sorted(entries: MapEntry[]): MapEntry[] {
  const text = (v: Value): string => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? `${x}n` : x instanceof Uint8Array ? [...x] : x));
  return [...entries].sort((a, b) => (text(a.key) < text(b.key) ? -1 : text(a.key) > text(b.key) ? 1 : 0));
}

describe("readMap", () => {
  kernelTest("hash map of plain values: padded tuple keys, negative ints", () => {
    const specs = plan({
      m: { keys: [str(5), int(4, true)], value: int(8, true) },
      t: { keys: [{ kind: "probe" }], value: { kind: "tuple", elems: [int(4, true), str(6), int(1, true)] } },
      s: { keys: [], value: str(8) },
    });
    const m = specs["m"]!;
    expect(m.kind).toBe("hash");
    expect(m.user!.keys.map((k) => k.offset)).toEqual([0, 8]);
    const fd = create(m);
    const data: Array<[string, bigint, bigint]> = [
      ["cat", -1n, -100n],
      ["bash", 7n, (1n << 62n) + 3n],
      ["abcde", -(1n << 31n), -(1n << 63n)],
    ];
    for (const [s, k, v] of data) {
      const val = le(8);
      val.int(0, 8, v);
      n().mapUpdate(fd, key(m, [s, k]), val.b);
    }
    const expected = data.map(([s, k, v]) => ({ key: [bytes(s), k], value: v }));
    for (const method of METHODS) expect(sorted(readMap(fd, m, { method }))).toEqual(sorted(expected));

    const t = specs["t"]!;
    const tfd = create(t);
    const { offsets } = structLayout([int(4, true), str(6), int(1, true)]);
    for (const [probe, a, s, c] of [[0n, -2n, "open", -1n], [2n, 5n, "sixchr", 127n]] as const) {
      const val = le(t.valueSize);
      val.int(offsets[0]!, 4, a);
      val.str(offsets[1]!, s);
      val.int(offsets[2]!, 1, c);
      n().mapUpdate(tfd, key(t, [probe]), val.b);
    }
    const probeNames = ["BEGIN", "uprobe:/bin/sh:main", "END"];
    for (const method of METHODS) {
      expect(sorted(readMap(tfd, t, { method, probeNames }))).toEqual(
        sorted([
          { key: ["BEGIN"], value: [-2n, bytes("open"), -1n] },
          { key: ["END"], value: [5n, bytes("sixchr"), 127n] },
        ]),
      );
    }

    // A keyless plain map: a hash with one 8-byte zero key.
    const s = specs["s"]!;
    expect(s.kind).toBe("hash");
    const sfd = create(s);
    for (const method of METHODS) expect(readMap(sfd, s, { method })).toEqual([]);
    const sv = le(8);
    sv.str(0, "12345678");
    n().mapUpdate(sfd, new Uint8Array(8), sv.b);
    for (const method of METHODS) expect(readMap(sfd, s, { method })).toEqual([{ key: [], value: bytes("12345678") }]);
  });

  kernelTest("per-CPU aggregations: sum, count, min, max, avg, stats", () => {
    const specs = plan({
      sum: { keys: [int(8, false)], value: agg("sum", true) },
      cnt: { keys: [str(4)], value: agg("count") },
      mn: { keys: [int(8, true)], value: agg("min", true) },
      mx: { keys: [int(8, true)], value: agg("max", false) },
      av: { keys: [int(4, false)], value: agg("avg", true) },
      st: { keys: [int(4, false)], value: agg("stats", true) },
    });
    for (const s of Object.values(specs).filter((s) => s.user)) expect(s.kind).toBe("percpu_hash");
    const cpus = ncpu();
    const last = cpus - 1;

    const sum = specs["sum"]!;
    const sfd = create(sum);
    for (let k = 0n; k < 5n; k++) n().mapUpdate(sfd, key(sum, [k]), perCpu(sum, (c) => [c === 0 ? -100n * k : k + BigInt(c)]));
    let expected = 0n;
    const want = (k: bigint): bigint => {
      let t = 0n;
      for (let c = 0; c < cpus; c++) t += c === 0 ? -100n * k : k + BigInt(c);
      return t;
    };
    for (const method of METHODS) {
      const got = sorted(readMap(sfd, sum, { method }));
      expect(got).toEqual([0n, 1n, 2n, 3n, 4n].map((k) => ({ key: [k], value: want(k) })));
      expected = got.reduce((a, e) => a + (e.value as bigint), 0n);
    }
    expect(expected).toBe([0n, 1n, 2n, 3n, 4n].reduce((a, k) => a + want(k), 0n));

    const cnt = specs["cnt"]!;
    const cfd = create(cnt);
    n().mapUpdate(cfd, key(cnt, ["ab"]), perCpu(cnt, (c) => [BigInt(c + 1)]));
    for (const method of METHODS) expect(readMap(cfd, cnt, { method })).toEqual([{ key: [bytes("ab")], value: BigInt((cpus * (cpus + 1)) / 2) }]);

    // min: only the last CPU has a value set; the others hold smaller values with set = 0.
    const mn = specs["mn"]!;
    const mnfd = create(mn);
    n().mapUpdate(mnfd, key(mn, [-1n]), perCpu(mn, (c) => (c === last ? [-5n, 1n] : [-1000n, 0n])));
    // Every CPU set: the smallest signed value.
    n().mapUpdate(mnfd, key(mn, [2n]), perCpu(mn, (c) => [BigInt(10 - 20 * c), 1n]));
    for (const method of METHODS) {
      expect(sorted(readMap(mnfd, mn, { method }))).toEqual(
        sorted([
          { key: [-1n], value: -5n },
          { key: [2n], value: BigInt(10 - 20 * last) },
        ]),
      );
    }

    // max, unsigned: -1 is the largest.
    const mx = specs["mx"]!;
    const mxfd = create(mx);
    n().mapUpdate(mxfd, key(mx, [0n]), perCpu(mx, (c) => (c === 0 ? [-1n, 1n] : [5n, 1n])));
    n().mapUpdate(mxfd, key(mx, [1n]), perCpu(mx, (c) => (c === 0 ? [3n, 1n] : [99n, 0n])));
    for (const method of METHODS) {
      expect(sorted(readMap(mxfd, mx, { method }))).toEqual([
        { key: [0n], value: (1n << 64n) - 1n },
        { key: [1n], value: 3n },
      ]);
    }

    for (const name of ["av", "st"]) {
      const s = specs[name]!;
      const fd = create(s);
      n().mapUpdate(fd, key(s, [9n]), perCpu(s, (c) => [BigInt(c + 1), BigInt(-10 * (c + 1))]));
      const count = BigInt((cpus * (cpus + 1)) / 2);
      for (const method of METHODS) expect(readMap(fd, s, { method })).toEqual([{ key: [9n], value: { count, total: -10n * count } }]);
    }
  });

  kernelTest("keyed hist and lhist: one histogram per user key", () => {
    const specs = plan({
      h: { keys: [str(3), int(2, true)], value: agg("hist", true) },
      l: { keys: [int(8, false)], value: agg("lhist", true, { min: 0n, max: 100n, step: 10n }) },
    });
    const h = specs["h"]!;
    expect(h.kind).toBe("percpu_hash");
    expect(h.keySize).toBe(16); // user part 6 bytes, padded to 8, then the bucket
    const fd = create(h);
    const fill: Array<[string, bigint, number, bigint]> = [
      ["ab", -1n, 0, 1n],
      ["ab", -1n, 1, 2n],
      ["ab", -1n, 33, 3n],
      ["cd", 4n, 10, 7n],
    ];
    for (const [s, k, bucket, per] of fill) n().mapUpdate(fd, key(h, [s, k], bucket), perCpu(h, () => [per]));
    const counts = (set: Record<number, bigint>): bigint[] => {
      const a = new Array<bigint>(HIST_BUCKETS).fill(0n);
      for (const [i, c] of Object.entries(set)) a[Number(i)] = c * BigInt(ncpu());
      return a;
    };
    for (const method of METHODS) {
      expect(sorted(readMap(fd, h, { method }))).toEqual([
        { key: [bytes("ab"), -1n], value: counts({ 0: 1n, 1: 2n, 33: 3n }) },
        { key: [bytes("cd"), 4n], value: counts({ 10: 7n }) },
      ]);
    }

    const l = specs["l"]!;
    const nb = lhistBuckets(0n, 100n, 10n);
    expect(nb).toBe(12);
    const lfd = create(l);
    n().mapUpdate(lfd, key(l, [3n], 0), perCpu(l, (c) => [BigInt(c)]));
    n().mapUpdate(lfd, key(l, [3n], 11), perCpu(l, () => [4n]));
    const want = new Array<bigint>(nb).fill(0n);
    want[0] = BigInt((ncpu() * (ncpu() - 1)) / 2);
    want[11] = 4n * BigInt(ncpu());
    for (const method of METHODS) expect(readMap(lfd, l, { method })).toEqual([{ key: [3n], value: want }]);
  });

  kernelTest("keyless aggregations: count() is a per-CPU array, the others hash maps under key 0 or the bucket", () => {
    const specs = plan({
      h: { keys: [], value: agg("hist", true) },
      l: { keys: [], value: agg("lhist", false, { min: 10n, max: 20n, step: 5n }) },
      c: { keys: [], value: agg("count") },
      m: { keys: [], value: agg("max", true) },
    });
    const h = specs["h"]!;
    expect(h).toMatchObject({ kind: "percpu_hash", keySize: 8 });
    const fd = create(h);
    // Never written: no entry, as bpftrace shows a map that was never assigned.
    for (const method of METHODS) expect(readMap(fd, h, { method })).toEqual([]);
    n().mapUpdate(fd, u64(1n), perCpu(h, () => [2n]));
    n().mapUpdate(fd, u64(30n), perCpu(h, (c) => [BigInt(c + 1)]));
    const want = new Array<bigint>(HIST_BUCKETS).fill(0n);
    want[1] = 2n * BigInt(ncpu());
    want[30] = BigInt((ncpu() * (ncpu() + 1)) / 2);
    for (const method of METHODS) expect(readMap(fd, h, { method })).toEqual([{ key: [], value: want }]);

    const l = specs["l"]!;
    const lfd = create(l);
    n().mapUpdate(lfd, u64(3n), perCpu(l, () => [1n]));
    for (const method of METHODS) expect(readMap(lfd, l, { method })).toEqual([{ key: [], value: [0n, 0n, 0n, BigInt(ncpu())] }]);

    // A keyless count() always has its one element: bpftrace prints "@c: 0" even when nothing counted.
    const c = specs["c"]!;
    expect(c).toMatchObject({ kind: "percpu_array", maxEntries: 1 });
    const cfd = create(c);
    for (const method of METHODS) expect(readMap(cfd, c, { method })).toEqual([{ key: [], value: 0n }]);
    n().mapUpdate(cfd, u32(0), perCpu(c, () => [5n]));
    for (const method of METHODS) expect(readMap(cfd, c, { method })).toEqual([{ key: [], value: 5n * BigInt(ncpu()) }]);
    expect(readMapSnapshot(cfd, c)).toEqual({ name: "@c", keyTypes: [], valueType: c.user!.value, entries: [{ key: [], value: 5n * BigInt(ncpu()) }] });

    const m = specs["m"]!;
    const mfd = create(m);
    n().mapUpdate(mfd, u64(0n), perCpu(m, (cpu) => (cpu === 0 ? [-3n, 1n] : [0n, 0n])));
    for (const method of METHODS) expect(readMap(mfd, m, { method })).toEqual([{ key: [], value: -3n }]);
  });

  kernelTest("4096 entries: batch and get-next-key read the same entries in the same order", () => {
    const { m } = plan({ m: { keys: [int(8, false)], value: agg("sum", true) } });
    expect(m!.maxEntries).toBe(4096);
    const fd = create(m!);
    for (let k = 0; k < 4096; k++) n().mapUpdate(fd, key(m!, [BigInt(k) * 7919n]), perCpu(m!, (c) => [BigInt(k - c)]));
    const byBatch = readMap(fd, m!, { method: "batch" });
    const byKeys = readMap(fd, m!, { method: "keys" });
    expect(byBatch.length).toBe(4096);
    expect(byBatch).toEqual(byKeys);
    // A batch too small for a hash bucket (ENOSPC) is grown and retried: with 4096 keys in 4096
    // hash buckets, some bucket holds more than one.
    let enospc = false;
    let inBatch: Uint8Array | null = null;
    for (let i = 0; i < 5000 && !enospc; i++) {
      const out = new Uint8Array(8);
      try {
        const r = n().mapLookupBatch(fd, inBatch, out, new Uint8Array(8), new Uint8Array(8 * ncpu()), 1);
        if (r.done) break;
        inBatch = out;
      } catch (err) {
        enospc = isErrno(err, "ENOSPC");
        if (!enospc) throw err;
      }
    }
    expect(enospc).toBe(true);
    expect(readRawEntries(fd, m!, "batch", 1).length).toBe(4096);
    expect(readMap(fd, m!, { batchSize: 3 })).toEqual(byKeys);
  });

  kernelTest("readMap refuses internal maps", () => {
    const specs = plan({});
    expect(() => readMap(0, specs[".state"]!)).toThrow(/not a user map/);
  });
});

describe("clearMap and zeroMap", () => {
  kernelTest("hash maps: clear deletes every key; zero keeps the keys", () => {
    const specs = plan({
      p: { keys: [int(8, true)], value: int(8, true) },
      mm: { keys: [int(4, false)], value: agg("min", true) },
      h: { keys: [int(8, false)], value: agg("hist", false) },
    });
    const p = specs["p"]!;
    const pfd = create(p);
    for (let k = 0; k < 300; k++) {
      const v = le(8);
      v.int(0, 8, BigInt(-k));
      n().mapUpdate(pfd, key(p, [BigInt(k)]), v.b);
    }
    zeroMap(pfd, p);
    const zeroed = readMap(pfd, p);
    expect(zeroed.length).toBe(300);
    expect(zeroed.every((e) => e.value === 0n)).toBe(true);
    clearMap(pfd, p);
    expect(readMap(pfd, p)).toEqual([]);
    expect(n().mapGetNextKey(pfd, null, new Uint8Array(8))).toBe(false);
    clearMap(pfd, p); // empty: nothing to do

    const mm = specs["mm"]!;
    const mfd = create(mm);
    for (let k = 0n; k < 3n; k++) n().mapUpdate(mfd, key(mm, [k]), perCpu(mm, () => [-7n, 1n]));
    zeroMap(mfd, mm);
    expect(sorted(readMap(mfd, mm))).toEqual([0n, 1n, 2n].map((k) => ({ key: [k], value: 0n })));
    clearMap(mfd, mm);
    expect(readMap(mfd, mm)).toEqual([]);

    const h = specs["h"]!;
    const hfd = create(h);
    n().mapUpdate(hfd, key(h, [1n], 3), perCpu(h, () => [1n]));
    n().mapUpdate(hfd, key(h, [1n], 4), perCpu(h, () => [1n]));
    zeroMap(hfd, h);
    expect(readMap(hfd, h)).toEqual([{ key: [1n], value: new Array<bigint>(HIST_BUCKETS).fill(0n) }]);
    clearMap(hfd, h);
    expect(readMap(hfd, h)).toEqual([]);
  });

  kernelTest("a keyless count() array: clear and zero set its element to zero, which still prints", () => {
    const spec = plan({ c: { keys: [], value: agg("count") } })["c"]!;
    for (const clear of [clearMap, zeroMap]) {
      const fd = create(spec);
      n().mapUpdate(fd, u32(0), perCpu(spec, (c) => [BigInt(c + 1)]));
      clear(fd, spec);
      expect(readMap(fd, spec)).toEqual([{ key: [], value: 0n }]);
      const raw = readRawEntries(fd, spec);
      expect(raw.length).toBe(1);
      expect(raw.every((e) => e.value.every((b) => b === 0))).toBe(true);
    }
  });
});

describe("internal maps", () => {
  kernelTest(".counters: both slots read (and summed over CPUs for a per-CPU array)", () => {
    const counters = plan({})[".counters"]!;
    const fd = create(counters);
    expect(readCounters(fd)).toEqual({ lostEvents: 0n, mapUpdateFailures: 0n });
    const v = le(COUNTERS.size);
    v.int(COUNTERS.lostEvents, 8, 3n);
    v.int(COUNTERS.mapUpdateFailures, 8, 5n);
    n().mapUpdate(fd, u32(0), v.b);
    expect(readCounters(fd)).toEqual({ lostEvents: 3n, mapUpdateFailures: 5n });

    const pfd = n().mapCreate({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: COUNTERS.size, maxEntries: 1 });
    fds.push(pfd);
    n().mapUpdate(pfd, u32(0), perCpu({ ...counters, kind: "percpu_array" }, (c) => [BigInt(c + 1), 10n]));
    const cpus = BigInt(ncpu());
    expect(readCounters(pfd)).toEqual({ lostEvents: (cpus * (cpus + 1n)) / 2n, mapUpdateFailures: 10n * cpus });
  });

  kernelTest(".state: start time and child pid", () => {
    const state = plan({})[".state"]!;
    const fd = create(state);
    writeState(fd, { startNs: 0x1234_5678_9abc_def0n, cpid: 4242 });
    const v = new Uint8Array(STATE.size);
    expect(n().mapLookup(fd, u32(0), v)).toBe(true);
    const dv = new DataView(v.buffer);
    expect(dv.getBigUint64(STATE.startNs, true)).toBe(0x1234_5678_9abc_def0n);
    expect(dv.getBigUint64(STATE.cpid, true)).toBe(4242n);
    writeState(fd, { startNs: 1n, cpid: 0n });
    n().mapLookup(fd, u32(0), v);
    expect(dv.getBigUint64(STATE.startNs, true)).toBe(1n);
    expect(dv.getBigUint64(STATE.cpid, true)).toBe(0n);
  });
});

describe("maps written by compiled programs", () => {
  kernelTest("a BEGIN program's maps and records decode as the script meant", () => {
    const src = `BEGIN {
      @c[probe, "k"] = count(); @s[(int8)-3] = sum(-5); @mn = min(-7); @mx[1] = max(3); @a = avg(-10);
      @h = hist(5); @h = hist(0); @h = hist(-1); @hk["x"] = hist(1024); @l[2] = lhist(15, 0, 100, 10);
      @p[1, "ab"] = ((int64)-2, "str");
      printf("%d %s %d\\n", (int8)-1, "hey", (uint16)65535); print(((int32)-4, "t"));
    }`;
    const r = compile(src);
    expect(r.diagnostics).toEqual([]);
    const script = r.script!;
    const mapFds = script.maps.map(create);
    writeState(mapFds[1]!, { startNs: 0n, cpid: 0 });
    const records: Uint8Array[] = [];
    const rb = n().ringbufOpen(mapFds[0]!, (recs) => records.push(...recs.map((x) => Uint8Array.from(x))));
    try {
      for (const p of script.programs) {
        const code = Uint8Array.from(p.bytecode);
        const dv = new DataView(code.buffer);
        for (const rel of p.mapRelocations) dv.setInt32(rel.slot * 8 + 4, mapFds[rel.map]!, true);
        const { fd } = n().progLoad({ type: p.progType, insns: code, license: "GPL", name: "maps_test" });
        fds.push(fd);
        n().progTestRun(fd);
      }
      n().ringbufDrain(rb);
    } finally {
      rb.close();
    }
    const read = (name: string): MapEntry[] => {
      const i = script.maps.findIndex((m) => m.name === name);
      return readMap(mapFds[i]!, script.maps[i]!, { probeNames: script.probeNames });
    };
    const hist = (set: Record<number, bigint>, size = HIST_BUCKETS): bigint[] => {
      const a = new Array<bigint>(size).fill(0n);
      for (const [i, c] of Object.entries(set)) a[Number(i)] = c;
      return a;
    };
    expect(read("@c")).toEqual([{ key: ["BEGIN", bytes("k")], value: 1n }]);
    expect(read("@s")).toEqual([{ key: [-3n], value: -5n }]);
    expect(read("@mn")).toEqual([{ key: [], value: -7n }]);
    expect(read("@mx")).toEqual([{ key: [1n], value: 3n }]);
    expect(read("@a")).toEqual([{ key: [], value: { count: 1n, total: -10n } }]);
    expect(read("@h")).toEqual([{ key: [], value: hist({ 0: 1n, 1: 1n, 4: 1n }) }]);
    expect(read("@hk")).toEqual([{ key: [bytes("x")], value: hist({ 12: 1n }) }]);
    expect(read("@l")).toEqual([{ key: [2n], value: hist({ 2: 1n }, 12) }]);
    expect(read("@p")).toEqual([{ key: [1n, bytes("ab")], value: [-2n, bytes("str")] }]);

    const decoded = records.map((rec) => decodeRecord(script.events, script.probeNames, rec));
    expect(decoded.map((d) => [d.event.kind, d.values])).toEqual([
      ["printf", [-1n, bytes("hey"), 65535n]],
      ["print_value", [[-4n, bytes("t")]]],
    ]);
    expect(readCounters(mapFds[2]!)).toEqual({ lostEvents: 0n, mapUpdateFailures: 0n });

    // The formatter takes what readMapSnapshot gives.
    const text = formatExitMaps(script.maps.flatMap((m, i) => (m.user ? [readMapSnapshot(mapFds[i]!, m, { probeNames: script.probeNames })] : [])));
    expect(text).toContain("@c[BEGIN, k]: 1\n");
    expect(text).toContain("@p[1, ab]: (-2, str)\n");
    expect(text).toContain("@hk[x]: \n[1K, 2K)");
  });
});
