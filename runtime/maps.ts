// Reading and resetting a script's maps from user space (see compiler/codegen/maps.ts for the
// layouts): whole maps decoded into the formatter's MapEntry model, clear() and zero(), and the
// internal `.counters` and `.state` maps.
import { HIST_BUCKETS, lhistBuckets } from "../compiler/codegen/maps.js";
import { COUNTERS, type MapSpec, STATE } from "../compiler/program.js";
import { combinePerCpu, decodeFields, decodeInt, perCpuStride, splitPerCpu, type StackReader } from "./decode.js";
import type { MapSnapshot } from "./format/text.js";
import type { MapEntry, Value } from "./format/values.js";
import { isErrno, MapType, native, UpdateFlags } from "./native.js";

/** How whole maps are read: BPF_MAP_LOOKUP_BATCH, or BPF_MAP_GET_NEXT_KEY plus one lookup per key. */
export type ReadMethod = "batch" | "keys";

export interface ReadMapOptions {
  /** Resolves values of type probe (indexed by probe id). */
  probeNames?: readonly string[];
  /** Reads the frames of ustack and kstack values (runtime/stacks.ts). */
  stacks?: StackReader;
  /** Default "batch" (falls back to "keys" where the kernel has no batch operations). */
  method?: ReadMethod;
  /** Entries per BPF_MAP_LOOKUP_BATCH call (default 1024; grown when a hash bucket does not fit). */
  batchSize?: number;
}

/** One raw entry: the key bytes and the whole value (every CPU's slot for per-CPU maps). */
export interface RawEntry {
  key: Uint8Array;
  value: Uint8Array;
}

/** The internal `.counters` map, summed. */
export interface Counters {
  /** Ring buffer records dropped because the buffer was full. */
  lostEvents: bigint;
  /** Map updates the kernel refused (usually: the map was full). */
  mapUpdateFailures: bigint;
}

/** What user space writes to `.state` before any probe runs. */
export interface State {
  /** The CLOCK_MONOTONIC (bpf_ktime_get_ns) time the script started at. */
  startNs: bigint;
  /** The pid of the child command (`-c`), or 0. */
  cpid: number | bigint;
}

export function isPerCpu(spec: MapSpec): boolean {
  return spec.kind === "percpu_hash" || spec.kind === "percpu_array";
}

function isArray(spec: MapSpec): boolean {
  return spec.kind === "array" || spec.kind === "percpu_array";
}

/** Bytes of one value as user space reads and writes it (all CPUs for per-CPU maps). */
export function valueBufferSize(spec: MapSpec): number {
  return isPerCpu(spec) ? perCpuStride(spec.valueSize) * native().numPossibleCpus() : spec.valueSize;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** A string that identifies these bytes (for grouping and deduplicating keys). */
function bytesId(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
}

/** Every key of a hash map, by get-next-key; a key deleted meanwhile restarts the walk, so keys are deduplicated. */
function allKeys(fd: number, spec: MapSpec): Uint8Array[] {
  const n = native();
  const keys: Uint8Array[] = [];
  const seen = new Set<string>();
  let prev: Uint8Array | null = null;
  // Bounded in case concurrent deletes keep restarting the walk.
  for (let steps = 0; steps < 4 * spec.maxEntries + 16; steps++) {
    const key = new Uint8Array(spec.keySize);
    if (!n.mapGetNextKey(fd, prev, key)) break;
    prev = key;
    const id = bytesId(key);
    if (seen.has(id)) continue;
    seen.add(id);
    keys.push(key);
  }
  return keys;
}

function readByKeys(fd: number, spec: MapSpec): RawEntry[] {
  const n = native();
  const size = valueBufferSize(spec);
  const out: RawEntry[] = [];
  if (isArray(spec)) {
    for (let i = 0; i < spec.maxEntries; i++) {
      const key = u32(i);
      const value = new Uint8Array(size);
      if (n.mapLookup(fd, key, value)) out.push({ key, value });
    }
    return out;
  }
  for (const key of allKeys(fd, spec)) {
    const value = new Uint8Array(size);
    if (n.mapLookup(fd, key, value)) out.push({ key, value }); // else deleted meanwhile
  }
  return out;
}

/** The kernel has no batch operations for this map (or at all). */
function noBatch(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return isErrno(err, "EINVAL") || isErrno(err, "EOPNOTSUPP") || isErrno(err, "ENOTSUPP") || (err as { errno?: number }).errno === 524;
}

/** Entries per BPF_MAP_LOOKUP_BATCH call, by default. */
const BATCH = 1024;

function readByBatch(fd: number, spec: MapSpec, batchSize: number): RawEntry[] | undefined {
  const n = native();
  const size = valueBufferSize(spec);
  const keySize = spec.keySize;
  const out: RawEntry[] = [];
  let chunk = Math.max(1, Math.min(Math.floor(batchSize), spec.maxEntries));
  let inBatch: Uint8Array | null = null;
  const token = Math.max(keySize, 4);
  for (;;) {
    const keys = new Uint8Array(chunk * keySize);
    const values = new Uint8Array(chunk * size);
    const outBatch = new Uint8Array(token);
    let r: { count: number; done: boolean };
    try {
      r = n.mapLookupBatch(fd, inBatch, outBatch, keys, values, chunk);
    } catch (err) {
      // One hash bucket holds more entries than fit: retry with room for more.
      if (isErrno(err, "ENOSPC") && chunk < spec.maxEntries) {
        chunk = Math.min(chunk * 4, Math.max(spec.maxEntries, 1));
        continue;
      }
      if (out.length === 0 && inBatch === null && noBatch(err)) return undefined;
      throw err;
    }
    for (let i = 0; i < r.count; i++) {
      out.push({ key: keys.subarray(i * keySize, (i + 1) * keySize), value: values.subarray(i * size, (i + 1) * size) });
    }
    if (r.done || r.count === 0) return out;
    inBatch = outBatch;
  }
}

/**
 * Every entry of a map, raw, in the kernel's iteration order (the batch and the get-next-key
 * walks visit hash buckets in the same order). Array maps yield every index. "batch" falls back
 * to "keys" when the kernel refuses batch lookups.
 */
export function readRawEntries(fd: number, spec: MapSpec, method: ReadMethod = "batch", batchSize = BATCH): RawEntry[] {
  if (method === "batch") {
    const entries = readByBatch(fd, spec, batchSize);
    if (entries !== undefined) return entries;
  }
  return readByKeys(fd, spec);
}

/** One value's CPU slots (a single slot for maps that are not per-CPU). */
function slots(spec: MapSpec, value: Uint8Array): Uint8Array[] {
  return isPerCpu(spec) ? splitPerCpu(value, spec.valueSize, value.length / perCpuStride(spec.valueSize)) : [value];
}

/** How many buckets a hist/lhist value has. */
function bucketCount(spec: MapSpec): number {
  const v = spec.user!.value;
  if (v.kind === "agg" && v.agg === "lhist" && v.lhist) return lhistBuckets(v.lhist.min, v.lhist.max, v.lhist.step);
  if (spec.user!.bucketArray) return spec.maxEntries;
  return HIST_BUCKETS;
}

function readU64(b: Uint8Array, off: number): bigint {
  return decodeInt(b, off, 8, false);
}

/**
 * Reads a whole user map into the formatter's model: one entry per key, in the kernel's order,
 * key values decoded per the key types ([] for a map without keys), the value combined across
 * CPUs. hist/lhist maps give one entry per user key whose value is the bucket counts (an array
 * as long as the map's bucket count, zeros where no bucket entry exists).
 *
 * A map without keys stored as a per-CPU array (aggregations) has its one entry only when some
 * of its bytes are non-zero: an all-zero element is taken as never written (or cleared), as
 * bpftrace shows a keyless map that was never assigned. (So a keyless sum() of only zeros, or a
 * zero()ed keyless aggregation, reads as empty too.)
 */
export function readMap(fd: number, spec: MapSpec, options: ReadMapOptions = {}): MapEntry[] {
  const user = spec.user;
  if (user === undefined) throw new TypeError(`readMap: ${spec.name} is not a user map`);
  const probeNames = options.probeNames ?? [];
  const stacks = options.stacks;
  let raw = readRawEntries(fd, spec, options.method, options.batchSize);
  const layout = user.layout;
  // A keyless count() is an array whose one element always exists: bpftrace prints it even at 0.

  if (layout.kind === "buckets") {
    const buckets = bucketCount(spec);
    if (user.bucketArray) {
      const counts: bigint[] = new Array<bigint>(buckets).fill(0n);
      for (const e of raw) {
        const i = Number(decodeInt(e.key, 0, 4, false));
        if (i >= buckets) continue;
        counts[i] = combinePerCpu(layout, slots(spec, e.value)) as bigint;
      }
      return [{ key: [], value: counts }];
    }
    const userSize = spec.keySize - 8;
    const groups = new Map<string, { key: Uint8Array; counts: bigint[] }>();
    for (const e of raw) {
      const userKey = e.key.subarray(0, userSize);
      const id = bytesId(userKey);
      let g = groups.get(id);
      if (g === undefined) {
        g = { key: userKey, counts: new Array<bigint>(buckets).fill(0n) };
        groups.set(id, g);
      }
      const b = readU64(e.key, userSize);
      if (b >= BigInt(buckets)) continue; // not a bucket the program can produce
      const i = Number(b);
      g.counts[i] = combinePerCpu(layout, slots(spec, e.value)) as bigint;
    }
    return [...groups.values()].map((g) => ({ key: decodeFields(user.keys, g.key, 0, probeNames, stacks), value: g.counts }));
  }

  return raw.map((e): MapEntry => {
    const key: Value[] = user.keys.length === 0 ? [] : decodeFields(user.keys, e.key, 0, probeNames, stacks);
    return { key, value: combinePerCpu(layout, slots(spec, e.value), probeNames, stacks) };
  });
}

/** readMap() with what the formatter needs to print the map (formatMap, formatExitMaps). */
export function readMapSnapshot(fd: number, spec: MapSpec, options: ReadMapOptions = {}): MapSnapshot {
  const user = spec.user;
  if (user === undefined) throw new TypeError(`readMap: ${spec.name} is not a user map`);
  return { name: spec.name, keyTypes: user.keys.map((k) => k.type), valueType: user.value, entries: readMap(fd, spec, options) };
}

/** Deletes every key of a hash map; sets every element of an array map to zeros. */
export function clearMap(fd: number, spec: MapSpec): void {
  const n = native();
  if (isArray(spec)) {
    zeroArray(fd, spec);
    return;
  }
  for (const key of allKeys(fd, spec)) n.mapDelete(fd, key);
}

function zeroArray(fd: number, spec: MapSpec): void {
  const n = native();
  const zero = new Uint8Array(valueBufferSize(spec));
  for (let i = 0; i < spec.maxEntries; i++) n.mapUpdate(fd, u32(i), zero);
}

/** Keeps every key and sets every value to zeros. */
export function zeroMap(fd: number, spec: MapSpec): void {
  const n = native();
  if (isArray(spec)) {
    zeroArray(fd, spec);
    return;
  }
  const zero = new Uint8Array(valueBufferSize(spec));
  for (const key of allKeys(fd, spec)) {
    try {
      n.mapUpdate(fd, key, zero, UpdateFlags.EXIST);
    } catch (err) {
      if (!isErrno(err, "ENOENT")) throw err; // deleted meanwhile: stays deleted
    }
  }
}

/** Reads `.counters` (summed over CPUs if the map is per-CPU). */
export function readCounters(fd: number): Counters {
  const n = native();
  const info = n.objInfo(fd, "map");
  const perCpu = info.type === MapType.PERCPU_ARRAY;
  const stride = perCpuStride(info.valueSize);
  const ncpu = perCpu ? n.numPossibleCpus() : 1;
  const value = new Uint8Array(perCpu ? stride * ncpu : info.valueSize);
  if (!n.mapLookup(fd, u32(0), value)) return { lostEvents: 0n, mapUpdateFailures: 0n };
  let lostEvents = 0n;
  let mapUpdateFailures = 0n;
  for (let c = 0; c < ncpu; c++) {
    lostEvents += readU64(value, c * stride + COUNTERS.lostEvents);
    mapUpdateFailures += readU64(value, c * stride + COUNTERS.mapUpdateFailures);
  }
  return { lostEvents: BigInt.asUintN(64, lostEvents), mapUpdateFailures: BigInt.asUintN(64, mapUpdateFailures) };
}

/** Writes `.state`. */
export function writeState(fd: number, state: State): void {
  const value = new Uint8Array(STATE.size);
  const v = new DataView(value.buffer);
  v.setBigUint64(STATE.startNs, BigInt.asUintN(64, state.startNs), true);
  v.setBigUint64(STATE.cpid, BigInt.asUintN(64, BigInt(state.cpid)), true);
  native().mapUpdate(fd, u32(0), value);
}
