// Differential tests: our map and value text against the real bpftrace 0.17.
//
// Each test runs one bpftrace program that needs only BEGIN, builds by hand the decoded values
// that program stores (with log2Bucket / linearBucket for histograms, so the bucket functions are
// checked against bpftrace's code generator too), and compares bpftrace's stdout after the
// "Attaching 1 probe..." line with what our formatters print: the print() output in program
// order, then formatExitMaps() of every map.
//
// bpftrace's print(@m), clear() and zero() are asynchronous: user space handles them after BEGIN
// has finished, in program order, so print(@m) shows the map as BEGIN left it (minus earlier
// clears and zeroes). The expectations below are built the same way.
//
// Ties among count()/sum()/min()/max()/integer values are avoided: bpftrace orders them by kernel
// hash-map iteration order, which changes from run to run. hist/lhist/avg/stats ties are
// deterministic (ordered by key bytes first) and are covered, beyond 16 entries too.
//
// Needs bpftrace 0.17 on PATH and root. Outside CI a missing bpftrace skips with a printed
// reason; under CI=true it fails.

import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { describe, expect, test } from "vitest";
import type { Type } from "../../compiler/types.js";
import { formatExitMapsBytes, formatMapBytes, formatValueBytes, type MapSnapshot } from "../../runtime/format/text.js";
import { HIST_BUCKETS, linearBucket, log2Bucket, type MapEntry, type Value } from "../../runtime/format/values.js";

const inCI = process.env.CI === "true" || process.env.CI === "1";

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

const BPFTRACE = onPath("bpftrace");

function bpftraceUnavailable(): string | undefined {
  if (BPFTRACE === undefined) return "bpftrace is not on PATH";
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "bpftrace needs root";
  const v = spawnSync(BPFTRACE, ["--version"], { encoding: "utf8" });
  if (!/^bpftrace v0\.17\./.test(v.stdout ?? "")) return `bpftrace is not 0.17 (${(v.stdout ?? "").trim() || v.error})`;
  return undefined;
}

const why = bpftraceUnavailable();

function bpftraceTest(name: string, fn: () => void): void {
  if (why === undefined) test(name, fn, 20_000);
  else if (inCI) {
    test(name, () => {
      throw new Error(`differential test cannot run under CI: ${why}`);
    });
  } else {
    process.stderr.write(`skipping bpftrace differential test "${name}": ${why}\n`);
    test.skip(name, fn);
  }
}

/** bpftrace's stdout for a program, after the "Attaching 1 probe..." line, as latin1 text. */
function runBpftrace(program: string): string {
  const r = spawnSync(BPFTRACE!, ["-e", program], { timeout: 15_000, maxBuffer: 1 << 26 });
  const out = (r.stdout ?? Buffer.alloc(0)).toString("latin1");
  const head = "Attaching 1 probe...\n";
  if (r.status !== 0 || !out.startsWith(head)) {
    throw new Error(`bpftrace failed (status ${r.status}):\n${out}\n${(r.stderr ?? "").toString()}`);
  }
  return out.slice(head.length);
}

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString("latin1");

// ----- types -----
const I64: Type = { kind: "int", size: 8, signed: true };
const U64: Type = { kind: "int", size: 8, signed: false };
const I8: Type = { kind: "int", size: 1, signed: true };
const U8: Type = { kind: "int", size: 1, signed: false };
const U16: Type = { kind: "int", size: 2, signed: false };
const I32: Type = { kind: "int", size: 4, signed: true };
const U32: Type = { kind: "int", size: 4, signed: false };
const STR: Type = { kind: "string", size: 64 };
const PROBE: Type = { kind: "probe" };
const USYM: Type = { kind: "usym" };
const tuple = (...elems: Type[]): Type => ({ kind: "tuple", elems });
const agg = (a: "count" | "sum" | "avg" | "min" | "max" | "stats" | "hist", signed = true): Type => ({
  kind: "agg",
  agg: a,
  signed,
});
const lhistT = (min: number, max: number, step: number): Type => ({
  kind: "agg",
  agg: "lhist",
  signed: true,
  lhist: { min: BigInt(min), max: BigInt(max), step: BigInt(step) },
});

// ----- a tiny model of the maps a program builds -----
class Model {
  maps = new Map<string, MapSnapshot & { entries: MapEntry[] }>();
  out = "";

  map(name: string, keyTypes: Type[], valueType: Type): void {
    this.maps.set(name, { name, keyTypes, valueType, entries: [] });
  }

  private find(name: string, key: Value[]): MapEntry | undefined {
    const m = this.maps.get(name)!;
    const k = JSON.stringify(key, (_, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? [...v] : v));
    return m.entries.find(
      (e) => JSON.stringify(e.key, (_, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? [...v] : v)) === k,
    );
  }

  /** Sets (or, with `update`, updates) the value at key. */
  set(name: string, key: Value[], value: Value | ((old: Value | undefined) => Value)): void {
    const m = this.maps.get(name)!;
    const e = this.find(name, key);
    const v = typeof value === "function" ? value(e?.value) : value;
    if (e) e.value = v;
    else m.entries.push({ key, value: v });
  }

  count(name: string, key: Value[] = []): void {
    this.set(name, key, (o) => ((o as bigint | undefined) ?? 0n) + 1n);
  }
  sum(name: string, key: Value[], n: bigint): void {
    this.set(name, key, (o) => BigInt.asIntN(64, ((o as bigint | undefined) ?? 0n) + n));
  }
  avg(name: string, key: Value[], n: bigint): void {
    this.set(name, key, (o) => {
      const a = (o as { count: bigint; total: bigint } | undefined) ?? { count: 0n, total: 0n };
      return { count: a.count + 1n, total: a.total + n };
    });
  }
  hist(name: string, key: Value[], n: bigint): void {
    this.bucket(name, key, log2Bucket(n));
  }
  lhist(name: string, key: Value[], n: bigint, min: number, max: number, step: number): void {
    this.bucket(name, key, linearBucket(n, BigInt(min), BigInt(max), BigInt(step)));
  }
  private bucket(name: string, key: Value[], b: number): void {
    this.set(name, key, (o) => {
      const counts = [...((o as bigint[] | undefined) ?? new Array<bigint>(HIST_BUCKETS).fill(0n))];
      while (counts.length <= b) counts.push(0n);
      counts[b] = counts[b]! + 1n;
      return counts;
    });
  }

  print(name: string, top?: number, div?: number): void {
    const m = this.maps.get(name)!;
    this.out += latin1(formatMapBytes(m.name, m.keyTypes, m.valueType, m.entries, { top, div }));
  }
  printValue(type: Type, v: Value): void {
    this.out += latin1(formatValueBytes(type, v)) + "\n";
  }
  clear(name: string): void {
    this.maps.get(name)!.entries.length = 0;
  }
  zero(name: string): void {
    const m = this.maps.get(name)!;
    for (const e of m.entries) {
      if (typeof e.value === "bigint") e.value = 0n;
      else if (Array.isArray(e.value)) e.value = e.value.map(() => 0n);
      else e.value = { count: 0n, total: 0n };
    }
  }
  exit(): string {
    return this.out + latin1(formatExitMapsBytes([...this.maps.values()]));
  }
}

describe("text output against bpftrace 0.17", () => {
  bpftraceTest("every aggregation, negative values, multiple maps in name order", () => {
    const program = `BEGIN {
      @[1] = hist(5); @[2] = hist(1000); @[2] = hist(1000); @[3] = hist(-4);
      @c["a"] = count(); @c["b"] = count(); @c["b"] = count();
      @s = stats(10); @s = stats(-3); @s2[1] = stats(-7); @s2[2] = stats(4); @s2[2] = stats(5);
      @a = avg(-7); @a = avg(2); @a2["x"] = avg(-3); @a2["y"] = avg(-4); @a2["y"] = avg(-5);
      @l = lhist(55, 0, 100, 10); @l = lhist(-1, 0, 100, 10); @l = lhist(100, 0, 100, 10);
      @l = lhist(150, 0, 100, 10); @l = lhist(99, 0, 100, 10); @l = lhist(0, 0, 100, 10);
      @t[1, "x"] = sum(-3); @t[2, "y"] = sum(5); @t[-1, "z"] = sum(-10);
      @mn[1] = min(-5); @mn[1] = min(3); @mn[2] = min(7); @mn[3] = min(-9);
      @mx[1] = max(5); @mx[2] = max(100); @mx[2] = max(3); @mx[3] = max(0);
      @empty[1] = 1; delete(@empty[1]);
      @i[5] = -2; @i[6] = 10; @i[7] = 3; @i[8] = -100;
      @z = count(); @z = count(); @z = count();
      exit();
    }`;
    const m = new Model();
    m.map("@", [I64], agg("hist"));
    m.hist("@", [1n], 5n);
    m.hist("@", [2n], 1000n);
    m.hist("@", [2n], 1000n);
    m.hist("@", [3n], -4n);
    m.map("@c", [STR], agg("count", false));
    m.count("@c", ["a"]);
    m.count("@c", ["b"]);
    m.count("@c", ["b"]);
    m.map("@s", [], agg("stats"));
    m.avg("@s", [], 10n);
    m.avg("@s", [], -3n);
    m.map("@s2", [I64], agg("stats"));
    m.avg("@s2", [1n], -7n);
    m.avg("@s2", [2n], 4n);
    m.avg("@s2", [2n], 5n);
    m.map("@a", [], agg("avg"));
    m.avg("@a", [], -7n);
    m.avg("@a", [], 2n);
    m.map("@a2", [STR], agg("avg"));
    m.avg("@a2", ["x"], -3n);
    m.avg("@a2", ["y"], -4n);
    m.avg("@a2", ["y"], -5n);
    m.map("@l", [], lhistT(0, 100, 10));
    for (const v of [55n, -1n, 100n, 150n, 99n, 0n]) m.lhist("@l", [], v, 0, 100, 10);
    m.map("@t", [I64, STR], agg("sum"));
    m.sum("@t", [1n, "x"], -3n);
    m.sum("@t", [2n, "y"], 5n);
    m.sum("@t", [-1n, "z"], -10n);
    m.map("@mn", [I64], agg("min"));
    m.set("@mn", [1n], -5n);
    m.set("@mn", [2n], 7n);
    m.set("@mn", [3n], -9n);
    m.map("@mx", [I64], agg("max"));
    m.set("@mx", [1n], 5n);
    m.set("@mx", [2n], 100n);
    m.set("@mx", [3n], 0n);
    m.map("@empty", [I64], I64);
    m.map("@i", [I64], I64);
    m.set("@i", [5n], -2n);
    m.set("@i", [6n], 10n);
    m.set("@i", [7n], 3n);
    m.set("@i", [8n], -100n);
    m.map("@z", [], agg("count", false));
    m.count("@z");
    m.count("@z");
    m.count("@z");
    expect(runBpftrace(program)).toBe(m.exit());
  });

  bpftraceTest("hist and lhist rows: every label, zero buckets, bars, large values, ties", () => {
    const program = `BEGIN {
      @h = hist(-1); @h = hist(-100); @h = hist(0); @h = hist(1); @h = hist(1); @h = hist(2); @h = hist(3);
      @h = hist(4); @h = hist(1023); @h = hist(1024); @h = hist(1048575); @h = hist(1048576);
      @h = hist(1073741823); @h = hist(1073741824); @h = hist(2147483647);
      @big = hist(2147483648); @big = hist(4294967295); @big = hist(4294967296); @big = hist(1099511627776);
      @big = hist(9223372036854775807); @big = hist(1048576);
      $i = 0; unroll(40) { @h2 = hist($i); @h2 = hist($i * 3); $i++; }
      $j = 0; unroll(60) { @ht[$j % 23] = hist($j); $j++; }
      $k = 0; unroll(45) { @st[$k % 19] = stats($k % 3); @av[$k % 21] = avg(($k % 4) - 1); $k++; }
      $n = 0; unroll(30) { @l2 = lhist($n * 37, 0, 1000, 100); @lk[$n % 3] = lhist($n * 70000, 0, 2097152, 1048576); $n++; }
      @l3 = lhist(1024, 0, 4096, 1024); @l3 = lhist(3000, 0, 4096, 1024); @l3 = lhist(5000, 0, 4096, 1024);
      @l4 = lhist(21, 0, 25, 10); @l4 = lhist(29, 0, 25, 10); @l4 = lhist(3, 0, 25, 10);
      @l5 = lhist(7, 5, 25, 10);
      exit();
    }`;
    const m = new Model();
    m.map("@h", [], agg("hist"));
    for (const v of [-1n, -100n, 0n, 1n, 1n, 2n, 3n, 4n, 1023n, 1024n, 1048575n, 1048576n, 1073741823n, 1073741824n, 2147483647n]) {
      m.hist("@h", [], v);
    }
    m.map("@big", [], agg("hist"));
    for (const v of [2147483648n, 4294967295n, 4294967296n, 1099511627776n, 9223372036854775807n, 1048576n]) m.hist("@big", [], v);
    m.map("@h2", [], agg("hist"));
    for (let i = 0n; i < 40n; i++) {
      m.hist("@h2", [], i);
      m.hist("@h2", [], i * 3n);
    }
    m.map("@ht", [I64], agg("hist"));
    for (let j = 0n; j < 60n; j++) m.hist("@ht", [j % 23n], j);
    m.map("@st", [I64], agg("stats"));
    m.map("@av", [I64], agg("avg"));
    for (let k = 0n; k < 45n; k++) {
      m.avg("@st", [k % 19n], k % 3n);
      m.avg("@av", [k % 21n], (k % 4n) - 1n);
    }
    m.map("@l2", [], lhistT(0, 1000, 100));
    m.map("@lk", [I64], lhistT(0, 2097152, 1048576));
    for (let n = 0n; n < 30n; n++) {
      m.lhist("@l2", [], n * 37n, 0, 1000, 100);
      m.lhist("@lk", [n % 3n], n * 70000n, 0, 2097152, 1048576);
    }
    m.map("@l3", [], lhistT(0, 4096, 1024));
    for (const v of [1024n, 3000n, 5000n]) m.lhist("@l3", [], v, 0, 4096, 1024);
    m.map("@l4", [], lhistT(0, 25, 10));
    for (const v of [21n, 29n, 3n]) m.lhist("@l4", [], v, 0, 25, 10);
    m.map("@l5", [], lhistT(5, 25, 10));
    m.lhist("@l5", [], 7n, 5, 25, 10);
    expect(runBpftrace(program)).toBe(m.exit());
  });

  bpftraceTest("print(@m), print(@m, top), print(@m, top, div), print(value), clear, zero", () => {
    const program = `BEGIN {
      @c[1] = count(); @c[2] = count(); @c[2] = count(); @c[3] = count(); @c[3] = count(); @c[3] = count();
      print(@c); print(@c, 2); print(@c, 0, 2); print(@c, 5, 2);
      @h[1] = hist(1); @h[2] = hist(1); @h[2] = hist(1); @h[3] = hist(2); @h[3] = hist(2); @h[3] = hist(2); @h[3] = hist(2);
      print(@h); print(@h, 1, 2); print(@h, 2);
      @l = lhist(5, 0, 10, 1); @l = lhist(5, 0, 10, 1); @l = lhist(5, 0, 10, 1); print(@l, 0, 2);
      @av[1] = avg(10); @av[2] = avg(-20); @av[3] = avg(31); @av[3] = avg(-100); print(@av, 2, 2); print(@av, 0, 3);
      @x = 7; print(@x, 0, 2); @y = -7; print(@y, 0, 2); @mn = min(-7); print(@mn, 0, 2);
      @mx = max(7); print(@mx, 0, 2); @su = sum(-7); print(@su, 0, 2);
      @t = (10, "a", (int8)-7, (uint32)9); print(@t, 0, 2); print(@t);
      print((1, "a", (2, "b"))); print("str"); print(5); print(-5); print((uint8)255);
      $x = (int8)-1; print($x); print(probe); print(usym(1)); print(usym(0));
      clear(@c); print(@c); zero(@h); print(@h); zero(@av); print(@av);
      exit();
    }`;
    const m = new Model();
    m.map("@c", [I64], agg("count", false));
    for (const k of [1n, 2n, 2n, 3n, 3n, 3n]) m.count("@c", [k]);
    m.map("@h", [I64], agg("hist"));
    for (const [k, v] of [[1n, 1n], [2n, 1n], [2n, 1n], [3n, 2n], [3n, 2n], [3n, 2n], [3n, 2n]] as const) m.hist("@h", [k], v);
    m.map("@l", [], lhistT(0, 10, 1));
    for (let i = 0; i < 3; i++) m.lhist("@l", [], 5n, 0, 10, 1);
    m.map("@av", [I64], agg("avg"));
    m.avg("@av", [1n], 10n);
    m.avg("@av", [2n], -20n);
    m.avg("@av", [3n], 31n);
    m.avg("@av", [3n], -100n);
    m.map("@x", [], I64);
    m.set("@x", [], 7n);
    m.map("@y", [], I64);
    m.set("@y", [], -7n);
    m.map("@mn", [], agg("min"));
    m.set("@mn", [], -7n);
    m.map("@mx", [], agg("max"));
    m.set("@mx", [], 7n);
    m.map("@su", [], agg("sum"));
    m.sum("@su", [], -7n);
    const tupleT = tuple(I64, STR, I8, U32);
    m.map("@t", [], tupleT);
    m.set("@t", [], [10n, "a", -7n, 9n]);

    m.print("@c");
    m.print("@c", 2);
    m.print("@c", 0, 2);
    m.print("@c", 5, 2);
    m.print("@h");
    m.print("@h", 1, 2);
    m.print("@h", 2);
    m.print("@l", 0, 2);
    m.print("@av", 2, 2);
    m.print("@av", 0, 3);
    for (const n of ["@x", "@y", "@mn", "@mx", "@su", "@t"]) m.print(n, 0, 2);
    m.print("@t");
    m.printValue(tuple(I64, STR, tuple(I64, STR)), [1n, "a", [2n, "b"]]);
    m.printValue(STR, "str");
    m.printValue(I64, 5n);
    m.printValue(I64, -5n);
    m.printValue(U8, 255n);
    m.printValue(I8, -1n);
    m.printValue(PROBE, "BEGIN");
    m.printValue(USYM, { addr: 1n });
    m.printValue(USYM, { addr: 0n });
    m.clear("@c");
    m.print("@c");
    m.zero("@h");
    m.print("@h");
    m.zero("@av");
    m.print("@av");
    expect(runBpftrace(program)).toBe(m.exit());
  });

  bpftraceTest("keys: strings, raw bytes, integers of every size, several keys, tuples and other values", () => {
    const program = `BEGIN {
      @s["b"] = "x"; @s["a"] = "y"; @s["ab"] = "z"; @s[""] = "w";
      @i[3] = "a"; @i[-1] = "b"; @i[1] = "c"; @i[256] = "d";
      @m[2, "b"] = "x"; @m[1, "c"] = "y"; @m[2, "a"] = "z"; @m[-1, "a"] = "w";
      @k[(uint64)18446744073709551615] = 1; @k[(uint8)200] = 2; @k[(int32)-5] = 3; @k[7] = 4;
      @q[(int8)-3, (uint16)65535] = 5;
      @tv[1] = (1, "a"); @tv[2] = (-2, "b");
      @raw["a\\tb\\001\\377"] = 1;
      @sc["x"] = count(); @sc["yy"] = count(); @sc["yy"] = count();
      @p[probe] = count(); @pr = probe;
      @u[1] = usym(1); @u[2] = usym(2);
      @w = 5; @A = 1; @_x = 2; @ = 3;
      @sum = sum(9223372036854775807); @sum = sum(1);
      @usum = sum((uint64)18446744073709551615);
      @neg = -9223372036854775807 - 1;
      @uu = (uint64)18446744073709551615;
      @hs["b"] = hist(1); @hs["a"] = hist(1); @hs["ab"] = hist(1); @hs[""] = hist(1);
      @hi[1] = hist(1); @hi[256] = hist(1); @hi[2] = hist(1); @hi[-1] = hist(1); @hi[0] = hist(1);
      if (0) { @never = 1; @neverh = hist(1); @nevers = stats(1); }
      exit();
    }`;
    const m = new Model();
    m.map("@s", [STR], STR);
    for (const [k, v] of [["b", "x"], ["a", "y"], ["ab", "z"], ["", "w"]]) m.set("@s", [k!], v!);
    m.map("@i", [I64], STR);
    for (const [k, v] of [[3n, "a"], [-1n, "b"], [1n, "c"], [256n, "d"]] as const) m.set("@i", [k], v);
    m.map("@m", [I64, STR], STR);
    for (const [k1, k2, v] of [[2n, "b", "x"], [1n, "c", "y"], [2n, "a", "z"], [-1n, "a", "w"]] as const) m.set("@m", [k1, k2], v);
    m.map("@k", [U64], I64);
    m.set("@k", [18446744073709551615n], 1n);
    m.set("@k", [200n], 2n);
    m.set("@k", [-5n], 3n);
    m.set("@k", [7n], 4n);
    m.map("@q", [I8, U16], I64);
    m.set("@q", [-3n, 65535n], 5n);
    m.map("@tv", [I64], tuple(I64, STR));
    m.set("@tv", [1n], [1n, "a"]);
    m.set("@tv", [2n], [-2n, "b"]);
    m.map("@raw", [STR], I64);
    m.set("@raw", [Uint8Array.of(0x61, 0x09, 0x62, 0x01, 0xff)], 1n);
    m.map("@sc", [STR], agg("count", false));
    m.count("@sc", ["x"]);
    m.count("@sc", ["yy"]);
    m.count("@sc", ["yy"]);
    m.map("@p", [PROBE], agg("count", false));
    m.count("@p", ["BEGIN"]);
    m.map("@pr", [], PROBE);
    m.set("@pr", [], "BEGIN");
    m.map("@u", [I64], USYM);
    m.set("@u", [1n], { addr: 1n });
    m.set("@u", [2n], { addr: 2n });
    for (const [n, v] of [["@w", 5n], ["@A", 1n], ["@_x", 2n], ["@", 3n]] as const) {
      m.map(n, [], I64);
      m.set(n, [], v);
    }
    m.map("@sum", [], agg("sum"));
    m.sum("@sum", [], 9223372036854775807n);
    m.sum("@sum", [], 1n);
    m.map("@usum", [], agg("sum", false));
    m.set("@usum", [], 18446744073709551615n);
    m.map("@neg", [], I64);
    m.set("@neg", [], -9223372036854775808n);
    m.map("@uu", [], U64);
    m.set("@uu", [], 18446744073709551615n);
    m.map("@hs", [STR], agg("hist"));
    for (const k of ["b", "a", "ab", ""]) m.hist("@hs", [k], 1n);
    m.map("@hi", [I64], agg("hist"));
    for (const k of [1n, 256n, 2n, -1n, 0n]) m.hist("@hi", [k], 1n);
    m.map("@never", [], I64);
    m.map("@neverh", [], agg("hist"));
    m.map("@nevers", [], agg("stats"));
    expect(runBpftrace(program)).toBe(m.exit());
  });

  bpftraceTest("integer sizes in values and tuples", () => {
    const program = `BEGIN {
      @a = (uint8)255; @b = (int8)-1; @c = (int32)-5; @d = (uint32)4000000000; @e = (int16)-300;
      print(((int8)-1, (uint8)255, (int16)-2, (uint16)65535, (int32)-3, (uint32)4294967295, (uint64)18446744073709551615));
      exit();
    }`;
    const m = new Model();
    for (const [n, t, v] of [
      ["@a", U8, 255n],
      ["@b", I8, -1n],
      ["@c", I32, -5n],
      ["@d", U32, 4000000000n],
      ["@e", { kind: "int", size: 2, signed: true } as Type, -300n],
    ] as const) {
      m.map(n, [], t);
      m.set(n, [], v);
    }
    m.printValue(tuple(I8, U8, { kind: "int", size: 2, signed: true }, U16, I32, U32, U64), [-1n, 255n, -2n, 65535n, -3n, 4294967295n, 18446744073709551615n]);
    expect(runBpftrace(program)).toBe(m.exit());
  });
});
