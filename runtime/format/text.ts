// Text output of values and maps, byte for byte what bpftrace 0.17 prints (its TextOutput and
// BPFtrace::print_map*). The value model is described in values.ts; hist rows in hist.ts.
//
// A map is printed as its entries joined by "\n" and followed by "\n" (avg() and stats() maps:
// followed by "\n\n"); an entry is `@name: value` or `@name[k1, k2]: value`, and for hist() and
// lhist() maps `@name[k]: \n` followed by the histogram rows (each ending in "\n"). So there is a
// blank line after every hist entry and after an avg/stats map, but none after a count(), sum(),
// min(), max() or plain-value map. A map with no entries still prints its "\n" ("\n\n"), and a
// usym-, ustack- or kstack-valued map joins its entries with nothing at all ("@u[1]: 0x1@u[2]: 0x2").
//
// Keys: strings raw (no quotes), integers as int64 whatever their type (a uint64 key of 2^64-1
// prints -1), usym through the symbolizer, ustack and kstack as "\n" + one "    frame\n" per frame
// (indent 4; values indent 8; perf mode "\tADDR frame\n" either way),
// probe as its name; several keys are joined with ", ".
//
// Order of entries (bpftrace sorts ascending, then print(@m, top) keeps the last `top`):
// - count(), sum(), min(), max(), plain integers: by value (count unsigned, the others per their
//   type's signedness: see the note on min and max below); all with libstdc++'s std::sort, which is
//   not stable: ties come out in an order that depends on the order the entries were read from
//   the kernel (give the entries in map iteration order, bpf_get_next_key's, to match bpftrace);
// - hist(), lhist(): entries first ordered by the raw bytes of their key (a std::map over the key
//   bytes: little-endian 8-byte integers, NUL-padded strings), then std::sort by the sum of all
//   bucket counts (uint64);
// - avg(), stats(): the same, by the average total / count (int64, truncated; 0 when count is 0);
// - any other value type (strings, tuples, usym, ustack, probe): by key, a stable sort on each
//   integer key (as uint64: negative keys last) and string key (strcmp) from the last key to the
//   first; other key types keep the given order.
//
// print(@m, top, div): top keeps the last `top` entries after sorting (0: all; ignored for stats);
// div (0 means 1) divides integer values with C semantics (truncation; signed values stay signed;
// integers inside tuples too), avg() averages and hist() counts (not the bars); lhist() and stats()
// ignore it. Both are unsigned 32-bit, as in bpftrace.
//
// min() and max(): bpftrace 0.17 prints (and sorts) min() as int64 and max() as uint64, but its
// code generator only ever produces min() values in int64 range and max() values in [0, 2^63)
// (a max() of only negative values, or a min() of a value above 0xffffffff, creates no entry;
// see bpftraceMinValue / bpftraceMaxValue in values.ts), where that is the same as printing them
// per the aggregation's `signed`, which is what we do: a negative max() prints as negative.

import { Buffer } from "node:buffer";
import { alignOf, type Type } from "../../compiler/types.js";
import { formatHist, formatLhist } from "./hist.js";
import { escapeBuffer } from "./resolve.js";
import type { AvgValue, BucketCounts, BufferValue, MapEntry, StackFrames, Symbolizer, UsymValue, UstackValue, Value } from "./values.js";

export interface ValueFormatOptions {
  /** Resolves user-space addresses (usym, ustack); unresolved ones print as C++ prints a void*. */
  symbolize?: Symbolizer;
}

export interface MapFormatOptions extends ValueFormatOptions {
  /** print()'s top: keep only the last `top` entries after sorting; 0 (the default) keeps all. */
  top?: number | bigint;
  /** print()'s div: divide values by it; 0 or absent means 1. */
  div?: number | bigint;
}

/** A whole map, as formatExitMaps() takes it. */
export interface MapSnapshot {
  /** The map's name with its '@' ("@", "@x"); a name without '@' gets one. */
  name: string;
  keyTypes: readonly Type[];
  valueType: Type;
  entries: readonly MapEntry[];
}

// Text is built as "binary strings": one char per output byte (latin1), so raw string bytes
// survive. Everything that is not a raw byte string is UTF-8 encoded on the way in.

const ASCII = /^[\x00-\x7f]*$/;

function utf8(s: string): string {
  return ASCII.test(s) ? s : Buffer.from(s, "utf8").toString("latin1");
}

/** A buf() value (see values.ts). */
function bufferOf(v: Value): BufferValue {
  const b = v as BufferValue;
  if (typeof b !== "object" || b === null || !(b.bytes instanceof Uint8Array) || typeof b.length !== "number") throw new TypeError("buffer value expected ({ length, bytes })");
  return b;
}

function rawBytes(v: Uint8Array): Uint8Array {
  const nul = v.indexOf(0);
  return nul >= 0 ? v.subarray(0, nul) : v;
}

function stringBin(v: Value): string {
  if (typeof v === "string") {
    const nul = v.indexOf("\0");
    return utf8(nul >= 0 ? v.slice(0, nul) : v);
  }
  if (v instanceof Uint8Array) return Buffer.from(rawBytes(v)).toString("latin1");
  throw new TypeError("string value expected");
}

function stringKeyBytes(v: Value): Uint8Array {
  if (typeof v === "string") {
    const nul = v.indexOf("\0");
    return Buffer.from(nul >= 0 ? v.slice(0, nul) : v, "utf8");
  }
  if (v instanceof Uint8Array) return rawBytes(v);
  throw new TypeError("string value expected");
}

export function big(v: Value): bigint {
  if (typeof v !== "bigint") throw new TypeError(`integer value expected, got ${typeof v}`);
  return v;
}

function normInt(type: Extract<Type, { kind: "int" }>, v: bigint): bigint {
  const bits = type.size * 8;
  return type.signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v);
}

/** How C++ `ostream << (void*)addr` prints an address. */
function pointerText(addr: bigint): string {
  const a = BigInt.asUintN(64, addr);
  return a === 0n ? "0" : `0x${a.toString(16)}`;
}

function usymText(v: Value, opts: ValueFormatOptions): string {
  const u = v as UsymValue;
  if (typeof u !== "object" || u === null || typeof u.addr !== "bigint") throw new TypeError("usym value expected");
  const info = u.pid === undefined ? { offset: false } : { offset: false, pid: u.pid };
  return utf8(opts.symbolize?.(u.addr, info) ?? pointerText(u.addr));
}

/** A stack value's frames and pid (the value is StackFrames, or just the frames). */
function stackFrames(v: Value): { frames: readonly bigint[]; pid?: number } {
  if (Array.isArray(v)) return { frames: v as readonly bigint[] };
  const s = v as StackFrames;
  if (typeof s !== "object" || s === null || !Array.isArray(s.frames)) throw new TypeError("stack value expected");
  return s;
}

/**
 * bpftrace's get_stack(): "" when unreadable, else "\n" and one line per frame: indented
 * "symbol+offset" (bpftrace mode), or "\tADDR symbol+offset" (perf mode; user frames add
 * " (file)", and "0xADDR ([unknown])" when unresolved).
 */
function stackText(type: Extract<Type, { kind: "ustack" | "kstack" }>, v: Value, indent: number, opts: ValueFormatOptions): string {
  if (v === null) return "";
  const { frames, pid } = stackFrames(v);
  const kernel = type.kind === "kstack";
  const perf = type.mode === "perf";
  const pad = " ".repeat(indent);
  let out = "\n";
  for (let i = 0; i < frames.length && i < type.limit; i++) {
    const addr = BigInt.asUintN(64, big(frames[i]!));
    if (addr === 0n) break;
    const info = { offset: true, ...(pid !== undefined ? { pid } : {}), ...(kernel ? { kernel } : {}), ...(perf && !kernel ? { module: true } : {}) };
    const sym = opts.symbolize?.(addr, info) ?? pointerText(addr) + (perf && !kernel ? " ([unknown])" : "");
    out += perf ? `\t${addr.toString(16)} ${utf8(sym)}\n` : pad + utf8(sym) + "\n";
  }
  return out;
}

/** The number a count/sum/min/max/avg value prints as (divided by `div`, as print(@m, top, div)). */
export function aggregateNumber(type: Extract<Type, { kind: "agg" }>, v: Value, div: bigint): string {
  if (type.agg === "avg") return (avgOf(v).average / div).toString();
  if (type.agg === "count") return (BigInt.asUintN(64, big(v)) / div).toString();
  return ((type.signed ? BigInt.asIntN(64, big(v)) : BigInt.asUintN(64, big(v))) / div).toString();
}

/** An avg()/stats() value's count, total and (truncated) average, as bpftrace computes them. */
export function avgOf(v: Value): { count: bigint; total: bigint; average: bigint } {
  const a = v as AvgValue;
  if (typeof a !== "object" || a === null || typeof a.count !== "bigint" || typeof a.total !== "bigint") {
    throw new TypeError("avg/stats value expected ({ count, total })");
  }
  const count = BigInt.asIntN(64, a.count);
  const total = BigInt.asIntN(64, a.total);
  return { count, total, average: count === 0n ? 0n : BigInt.asIntN(64, total / count) };
}

function buckets(v: Value): BucketCounts {
  if (!Array.isArray(v)) throw new TypeError("hist/lhist value expected (bucket counts)");
  return v as BucketCounts;
}

/** bpftrace's Output::value_to_str: the text of a value (binary string), integers divided by div. */
function valueBin(type: Type, v: Value, div: bigint, opts: ValueFormatOptions): string {
  switch (type.kind) {
    case "int": {
      // Pointers print as int64, as bpftrace prints them in map values.
      const n = type.ptr ? BigInt.asIntN(64, big(v)) : normInt(type, big(v));
      return (n / div).toString();
    }
    case "struct":
      return `{ ${structMembers(type, v).map(([name, t, x]) => `.${name} = ${valueBin(t, x, div, opts)}`).join(", ")} }`;
    case "array":
      return `[${arrayElems(type, v).map((x) => valueBin(type.elem, x, div, opts)).join(",")}]`;
    case "string":
    case "inet":
    case "resolved":
      return stringBin(v);
    case "buffer": {
      const b = bufferOf(v);
      return escapeBuffer(b.bytes.subarray(0, b.length));
    }
    case "tuple": {
      if (!Array.isArray(v) || v.length !== type.elems.length) {
        throw new TypeError(`tuple value of ${type.elems.length} elements expected`);
      }
      const elems = v as readonly Value[];
      return `(${type.elems.map((t, i) => valueBin(t, elems[i]!, div, opts)).join(", ")})`;
    }
    case "usym":
      return usymText(v, opts);
    case "ustack":
    case "kstack":
      return stackText(type, v as UstackValue, 8, opts);
    case "probe":
      return stringBin(v);
    case "agg":
      switch (type.agg) {
        case "count":
        case "sum":
        case "min":
        case "max":
        case "avg":
          return aggregateNumber(type, v, div);
        case "stats": {
          const s = avgOf(v);
          return `count ${s.count}, average ${s.average}, total ${s.total}`;
        }
        case "hist":
          return formatHist(buckets(v), div);
        case "lhist": {
          const p = lhistOf(type);
          return formatLhist(buckets(v), p.min, p.max, p.step);
        }
      }
      break;
    case "void":
    case "error":
      break;
  }
  throw new TypeError(`cannot format a value of type ${type.kind}`);
}

function lhistOf(type: Extract<Type, { kind: "agg" }>): { min: bigint; max: bigint; step: bigint } {
  if (!type.lhist) throw new TypeError("lhist type without its min, max and step");
  return type.lhist;
}

/** bpftrace's MapKey::argument_value: the text of one key. */
function keyBin(type: Type, v: Value, opts: ValueFormatOptions): string {
  switch (type.kind) {
    case "int":
      // Pointer keys print in hex.
      if (type.ptr) return `0x${BigInt.asUintN(64, big(v)).toString(16)}`;
      // bpftrace 0.17 stores integer keys as 8 bytes and prints them as int64.
      return BigInt.asIntN(64, normInt(type, big(v))).toString();
    case "struct":
      // Compact in keys: {.a=1,.b=x}.
      return `{${structMembers(type, v).map(([name, t, x]) => `.${name}=${memberKeyBin(t, x, opts)}`).join(",")}}`;
    case "array":
      return `[${arrayElems(type, v).map((x) => memberKeyBin(type.elem, x, opts)).join(",")}]`;
    case "buffer":
      // A buf() key prints all the buffer's bytes, whatever its length (bpftrace 0.17's way).
      return escapeBuffer(bufferOf(v).bytes);
    case "ustack":
    case "kstack":
      return stackText(type, v as UstackValue, 4, opts);
    default:
      return valueBin(type, v, 1n, opts);
  }
}

/** A member of a struct key, or an element of an array key: integers keep their type. */
function memberKeyBin(type: Type, v: Value, opts: ValueFormatOptions): string {
  if (type.kind === "int" && !type.ptr) return normInt(type, big(v)).toString();
  return keyBin(type, v, opts);
}

/** A struct value's members as [name, type, value], the members of anonymous members in their place. */
export function structMembers(type: Extract<Type, { kind: "struct" }>, v: Value): Array<[string, Type, Value]> {
  if (!Array.isArray(v) || v.length !== type.fields.length) throw new TypeError(`struct value of ${type.fields.length} members expected`);
  const values = v as readonly Value[];
  return type.fields.flatMap((f, i): Array<[string, Type, Value]> => (f.name === "" && f.type.kind === "struct" ? structMembers(f.type, values[i]!) : [[f.name, f.type, values[i]!]]));
}

/** An array value's elements. */
export function arrayElems(type: Extract<Type, { kind: "array" }>, v: Value): readonly Value[] {
  if (!Array.isArray(v) || v.length !== type.count) throw new TypeError(`array value of ${type.count} elements expected`);
  return v as readonly Value[];
}

function toBytes(bin: string): Uint8Array {
  return new Uint8Array(Buffer.from(bin, "latin1"));
}

function toText(bin: string): string {
  return ASCII.test(bin) ? bin : Buffer.from(bin, "latin1").toString("utf8");
}

/**
 * The text of a value as bpftrace 0.17's print(value) shows it (without the newline print() adds
 * after it) and as printf's %s shows a non-string argument (usym, ustack, probe). Aggregation
 * types print as they do in a map (the avg() average, stats()' "count N, average A, total T",
 * hist rows). Bytes that are not valid UTF-8 become U+FFFD; see formatValueBytes().
 */
export function formatValue(type: Type, value: Value, options: ValueFormatOptions = {}): string {
  return toText(valueBin(type, value, 1n, options));
}

/** formatValue() as the exact bytes bpftrace writes (raw string bytes kept). */
export function formatValueBytes(type: Type, value: Value, options: ValueFormatOptions = {}): Uint8Array {
  return toBytes(valueBin(type, value, 1n, options));
}

// ---------------------------------------------------------------------------------------------
// libstdc++'s std::sort (GCC 12): introsort with median-of-three pivots, a heapsort fallback,
// and a final insertion sort; ranges of 16 or fewer elements get only the insertion sort, so
// they sort stably. Reproduced step for step so that ties come out in bpftrace's order.

const S_THRESHOLD = 16;

/** Sorts `a` in place exactly as libstdc++'s std::sort(a.begin(), a.end(), less) does. */
export function cxxSort<T>(a: T[], less: (x: T, y: T) => boolean): T[] {
  const n = a.length;
  if (n > 1) {
    introsortLoop(a, 0, n, 2 * (31 - Math.clz32(n)), less);
    finalInsertionSort(a, 0, n, less);
  }
  return a;
}

function swap<T>(a: T[], i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

function introsortLoop<T>(a: T[], first: number, last: number, depth: number, less: (x: T, y: T) => boolean): void {
  while (last - first > S_THRESHOLD) {
    if (depth === 0) {
      heapSort(a, first, last, less);
      return;
    }
    depth--;
    const mid = first + Math.floor((last - first) / 2);
    moveMedianToFirst(a, first, first + 1, mid, last - 1, less);
    const cut = unguardedPartition(a, first + 1, last, first, less);
    introsortLoop(a, cut, last, depth, less);
    last = cut;
  }
}

function moveMedianToFirst<T>(a: T[], result: number, x: number, y: number, z: number, less: (p: T, q: T) => boolean): void {
  if (less(a[x]!, a[y]!)) {
    if (less(a[y]!, a[z]!)) swap(a, result, y);
    else if (less(a[x]!, a[z]!)) swap(a, result, z);
    else swap(a, result, x);
  } else if (less(a[x]!, a[z]!)) swap(a, result, x);
  else if (less(a[y]!, a[z]!)) swap(a, result, z);
  else swap(a, result, y);
}

function unguardedPartition<T>(a: T[], first: number, last: number, pivot: number, less: (x: T, y: T) => boolean): number {
  for (;;) {
    while (less(a[first]!, a[pivot]!)) first++;
    last--;
    while (less(a[pivot]!, a[last]!)) last--;
    if (!(first < last)) return first;
    swap(a, first, last);
    first++;
  }
}

function finalInsertionSort<T>(a: T[], first: number, last: number, less: (x: T, y: T) => boolean): void {
  if (last - first > S_THRESHOLD) {
    insertionSort(a, first, first + S_THRESHOLD, less);
    for (let i = first + S_THRESHOLD; i < last; i++) unguardedLinearInsert(a, i, less);
  } else {
    insertionSort(a, first, last, less);
  }
}

function insertionSort<T>(a: T[], first: number, last: number, less: (x: T, y: T) => boolean): void {
  if (first === last) return;
  for (let i = first + 1; i < last; i++) {
    if (less(a[i]!, a[first]!)) {
      const val = a[i]!;
      for (let j = i; j > first; j--) a[j] = a[j - 1]!;
      a[first] = val;
    } else {
      unguardedLinearInsert(a, i, less);
    }
  }
}

function unguardedLinearInsert<T>(a: T[], last: number, less: (x: T, y: T) => boolean): void {
  const val = a[last]!;
  let next = last - 1;
  while (less(val, a[next]!)) {
    a[last] = a[next]!;
    last = next;
    next--;
  }
  a[last] = val;
}

/** std::__partial_sort(first, last, last): make_heap, then sort_heap. */
function heapSort<T>(a: T[], first: number, last: number, less: (x: T, y: T) => boolean): void {
  const len = last - first;
  if (len >= 2) {
    for (let parent = Math.floor((len - 2) / 2); ; parent--) {
      adjustHeap(a, first, parent, len, a[first + parent]!, less);
      if (parent === 0) break;
    }
  }
  while (last - first > 1) {
    last--;
    const value = a[last]!;
    a[last] = a[first]!;
    adjustHeap(a, first, 0, last - first, value, less);
  }
}

function adjustHeap<T>(a: T[], first: number, hole: number, len: number, value: T, less: (x: T, y: T) => boolean): void {
  const top = hole;
  let child = hole;
  while (child < Math.floor((len - 1) / 2)) {
    child = 2 * (child + 1);
    if (less(a[first + child]!, a[first + child - 1]!)) child--;
    a[first + hole] = a[first + child]!;
    hole = child;
  }
  if ((len & 1) === 0 && child === Math.floor((len - 2) / 2)) {
    child = 2 * (child + 1);
    a[first + hole] = a[first + child - 1]!;
    hole = child - 1;
  }
  // push_heap
  let parent = Math.floor((hole - 1) / 2);
  while (hole > top && less(a[first + parent]!, value)) {
    a[first + hole] = a[first + parent]!;
    hole = parent;
    parent = Math.floor((hole - 1) / 2);
  }
  a[first + hole] = value;
}

/** std::stable_sort: Array.prototype.sort is stable. */
function stableSort<T>(a: T[], less: (x: T, y: T) => boolean): void {
  a.sort((x, y) => (less(x, y) ? -1 : less(y, x) ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// Key bytes, for the std::map<key bytes, ...> bpftrace builds for hist/lhist/avg/stats maps.

function pushLE64(out: number[], v: bigint): void {
  let x = BigInt.asUintN(64, v);
  for (let i = 0; i < 8; i++) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
  }
}

function pushLE(out: number[], v: bigint, size: number): void {
  let x = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
  }
}

/** Appends the bytes of one key (as bpftrace lays it out: the comparison only needs the order). */
function pushKeyBytes(out: number[], type: Type, v: Value, inTuple: boolean): void {
  switch (type.kind) {
    case "struct": {
      // The members at their offsets, as the key's bytes hold them.
      const start = out.length;
      type.fields.forEach((f, i) => {
        while (out.length - start < f.offset) out.push(0);
        if (f.bitfield === undefined) pushKeyBytes(out, f.type, (v as readonly Value[])[i]!, true);
      });
      while (out.length - start < type.size) out.push(0);
      return;
    }
    case "array":
      for (const x of v as readonly Value[]) pushKeyBytes(out, type.elem, x, true);
      return;
    case "int":
      if (inTuple) pushLE(out, normInt(type, big(v)), type.size);
      else pushLE64(out, normInt(type, big(v)));
      return;
    case "buffer": {
      const b = bufferOf(v);
      out.push(b.length);
      for (let i = 0; i < type.size; i++) out.push(b.bytes[i] ?? 0);
      return;
    }
    case "string":
    case "inet":
    case "resolved":
    case "probe": {
      // Probe keys are probe ids in bpftrace; we only have names, so they order by name (and so
      // do the values user space turns into text: ntop(), strftime()...).
      const b = stringKeyBytes(v);
      const size = type.kind === "string" ? Math.max(type.size, b.length + 1) : b.length + 1;
      for (let i = 0; i < size; i++) out.push(i < b.length ? b[i]! : 0);
      return;
    }
    case "tuple": {
      const elems = v as readonly Value[];
      const start = out.length;
      type.elems.forEach((t, i) => {
        const align = alignOf(t);
        while ((out.length - start) % align !== 0) out.push(0);
        pushKeyBytes(out, t, elems[i]!, true);
      });
      const align = alignOf(type);
      while ((out.length - start) % align !== 0) out.push(0);
      return;
    }
    case "usym": {
      const u = v as UsymValue;
      pushLE64(out, u.addr);
      pushLE64(out, BigInt(u.pid ?? 0));
      return;
    }
    case "ustack":
    case "kstack": {
      // bpftrace's key is the 8-byte stack value; without it, order by the frames.
      const raw = v !== null && !Array.isArray(v) ? (v as StackFrames).raw : undefined;
      if (raw !== undefined) {
        pushLE64(out, raw);
        return;
      }
      const frames = v === null ? [] : stackFrames(v).frames;
      for (let i = 0; i < type.limit; i++) pushLE64(out, i < frames.length ? frames[i]! : 0n);
      return;
    }
    default:
      throw new TypeError(`cannot use a value of type ${type.kind} as a map key`);
  }
}

function compareBytes(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

// ---------------------------------------------------------------------------------------------

interface Row {
  entry: MapEntry;
  /** The sort value (count/sum/int/min/max/total/average), when sorted by value. */
  sortKey: bigint;
}

function toUint32(v: number | bigint | undefined): bigint {
  if (v === undefined) return 0n;
  return BigInt.asUintN(32, typeof v === "bigint" ? v : BigInt(Math.trunc(v)));
}

function mapName(name: string): string {
  return name.startsWith("@") ? name : `@${name}`;
}

/** Orders entries like bpftrace's print_map / print_map_hist / print_map_stats. */
function sortEntries(keyTypes: readonly Type[], valueType: Type, entries: readonly MapEntry[]): MapEntry[] {
  const rows: Row[] = entries.map((entry) => ({ entry, sortKey: 0n }));
  const byValue = (key: (v: Value) => bigint): MapEntry[] => {
    for (const r of rows) r.sortKey = key(r.entry.value);
    return cxxSort(rows, (x, y) => x.sortKey < y.sortKey).map((r) => r.entry);
  };
  const byKeyBytesThenValue = (key: (v: Value) => bigint): MapEntry[] => {
    const keyed = rows.map((r) => {
      const bytes: number[] = [];
      keyTypes.forEach((t, i) => pushKeyBytes(bytes, t, r.entry.key[i]!, false));
      return { r, bytes };
    });
    keyed.sort((x, y) => compareBytes(x.bytes, y.bytes));
    // A std::map keeps one entry per key; with duplicate keys given, the last one wins.
    const unique: Row[] = [];
    for (let i = 0; i < keyed.length; i++) {
      if (i + 1 < keyed.length && compareBytes(keyed[i]!.bytes, keyed[i + 1]!.bytes) === 0) continue;
      unique.push(keyed[i]!.r);
    }
    for (const r of unique) r.sortKey = key(r.entry.value);
    return cxxSort(unique, (x, y) => x.sortKey < y.sortKey).map((r) => r.entry);
  };

  switch (valueType.kind) {
    case "int":
      return byValue((v) => (valueType.signed ? BigInt.asIntN(64, big(v)) : BigInt.asUintN(64, big(v))));
    case "agg":
      switch (valueType.agg) {
        case "count":
          return byValue((v) => BigInt.asUintN(64, big(v)));
        case "sum":
        case "min":
        case "max":
          return byValue((v) => (valueType.signed ? BigInt.asIntN(64, big(v)) : BigInt.asUintN(64, big(v))));
        case "hist":
        case "lhist":
          return byKeyBytesThenValue((v) => {
            let sum = 0n;
            for (const c of buckets(v)) sum += BigInt.asUintN(64, c);
            return BigInt.asUintN(64, sum);
          });
        case "avg":
        case "stats":
          return byKeyBytesThenValue((v) => avgOf(v).average);
      }
      break;
    default:
      break;
  }
  // sort_by_key: stable sorts on integer and string keys, from the last key to the first.
  const out = rows.map((r) => r.entry);
  for (let i = keyTypes.length - 1; i >= 0; i--) {
    const t = keyTypes[i]!;
    if (t.kind === "int") {
      stableSort(out, (x, y) => BigInt.asUintN(64, normInt(t, big(x.key[i]!))) < BigInt.asUintN(64, normInt(t, big(y.key[i]!))));
    } else if (t.kind === "string") {
      stableSort(out, (x, y) => compareBytes([...stringKeyBytes(x.key[i]!)], [...stringKeyBytes(y.key[i]!)]) < 0);
    }
  }
  return out;
}

function mapBin(
  name: string,
  keyTypes: readonly Type[],
  valueType: Type,
  entries: readonly MapEntry[],
  options: MapFormatOptions,
): string {
  const top = toUint32(options.top);
  let div = toUint32(options.div);
  if (div === 0n) div = 1n;
  const isAgg = valueType.kind === "agg";
  const isHist = isAgg && (valueType.agg === "hist" || valueType.agg === "lhist");
  const isStats = isAgg && (valueType.agg === "avg" || valueType.agg === "stats");
  // bpftrace 0.17 applies top to every map type but stats().
  const useTop = top !== 0n && !(isAgg && valueType.agg === "stats");
  const sorted = sortEntries(keyTypes, valueType, entries);
  const total = BigInt(sorted.length);
  const skip = useTop && total > top ? Number(total - top) : 0;
  const label = utf8(mapName(name));
  const elems: string[] = [];
  for (let i = skip; i < sorted.length; i++) {
    const { key, value } = sorted[i]!;
    if (key.length !== keyTypes.length) {
      throw new TypeError(`${name}: entry with ${key.length} keys, map has ${keyTypes.length}`);
    }
    const keyStr = keyTypes.length === 0 ? label : `${label}[${keyTypes.map((t, j) => keyBin(t, key[j]!, options)).join(", ")}]`;
    // stats() values are never divided.
    const valueStr = valueBin(valueType, value, isAgg && valueType.agg === "stats" ? 1n : div, options);
    elems.push(`${keyStr}: ${isHist ? "\n" : ""}${valueStr}`);
  }
  const delim = valueType.kind === "usym" || valueType.kind === "ustack" || valueType.kind === "kstack" ? "" : "\n";
  return elems.join(delim) + (isStats ? "\n\n" : "\n");
}

/**
 * The text bpftrace 0.17 prints for a map, at exit or for print(@m) / print(@m, top, div).
 *
 * `name` is the map's name with its '@' ("@" for the anonymous map); `keyTypes` has one type per
 * key ([] for a map without keys); `valueType` is the type of its values (an `agg` type for
 * aggregation maps); `entries` are all its entries, in the order they were read from the kernel
 * (see the ordering notes at the top of this file). Bytes that are not valid UTF-8 become U+FFFD;
 * see formatMapBytes().
 */
export function formatMap(
  name: string,
  keyTypes: readonly Type[],
  valueType: Type,
  entries: readonly MapEntry[],
  options: MapFormatOptions = {},
): string {
  return toText(mapBin(name, keyTypes, valueType, entries, options));
}

/** formatMap() as the exact bytes bpftrace writes (raw string bytes kept). */
export function formatMapBytes(
  name: string,
  keyTypes: readonly Type[],
  valueType: Type,
  entries: readonly MapEntry[],
  options: MapFormatOptions = {},
): Uint8Array {
  return toBytes(mapBin(name, keyTypes, valueType, entries, options));
}

function exitBin(maps: readonly MapSnapshot[], options: ValueFormatOptions): string {
  const named = maps.map((m) => ({ m, name: Buffer.from(mapName(m.name), "utf8") }));
  named.sort((x, y) => Buffer.compare(x.name, y.name));
  let out = "\n\n";
  for (const { m } of named) out += mapBin(m.name, m.keyTypes, m.valueType, m.entries, options);
  return out;
}

/**
 * What bpftrace 0.17 prints when the program ends: "\n\n", then every map of the program (also
 * the empty and never-assigned ones) in order of name (bytewise: "@" < "@A" < "@_x" < "@a"),
 * each as formatMap() prints it.
 */
export function formatExitMaps(maps: readonly MapSnapshot[], options: ValueFormatOptions = {}): string {
  return toText(exitBin(maps, options));
}

/** formatExitMaps() as the exact bytes bpftrace writes. */
export function formatExitMapsBytes(maps: readonly MapSnapshot[], options: ValueFormatOptions = {}): Uint8Array {
  return toBytes(exitBin(maps, options));
}

/**
 * A map's entries in the order bpftrace 0.17 prints them (before print()'s top is applied), for
 * the other output formats (format/json.ts) and the library.
 */
export function sortMapEntries(keyTypes: readonly Type[], valueType: Type, entries: readonly MapEntry[]): MapEntry[] {
  return sortEntries(keyTypes, valueType, entries);
}

/** The text of one map key as bpftrace 0.17 prints it (its MapKey::argument_value). */
export function formatKey(type: Type, value: Value, options: ValueFormatOptions = {}): string {
  return toText(keyBin(type, value, options));
}
