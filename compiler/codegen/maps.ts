// How each map of a script is laid out in the kernel (see spec/maps.md):
// - plain values (`@m[k] = v`): HASH, the key's fields laid out like a C struct;
// - count/sum: PERCPU_HASH of one i64 (a keyless count: PERCPU_ARRAY[1], which always exists);
// - min/max: {value, set} per CPU; avg/stats: {count, total} per CPU;
// - hist/lhist: the bucket index is the key's last 8 bytes (PERCPU_HASH).
// Internal maps: `.events` (the ring buffer), `.state` and `.counters` (ARRAY[1], read in BPF
// through direct value addresses, without a helper call).
import type { CheckResult, MapSymbol } from "../check.js";
import { COUNTERS, type KeyField, type MapSpec, type ValueLayout, STATE } from "../program.js";
import { alignOf, sizeOf, type Type } from "../types.js";

/** bpftrace's default map size. */
export const DEFAULT_MAP_ENTRIES = 4096;
/** Ring buffer size: a power of two, a multiple of the page size. */
export const RINGBUF_BYTES = 1 << 20;
/** hist buckets, as bpftrace 0.17 computes them: negative, zero, [2^k, 2^(k+1)) for k = 0..30, and [2^31, ...). */
export const HIST_BUCKETS = 34;

export const EVENTS_MAP = 0;
export const STATE_MAP = 1;
export const COUNTERS_MAP = 2;
/** Per-CPU memory for values too large for the stack; its size is set after code generation. */
export const SCRATCH_MAP = 3;

/** Lays out fields like a C struct; returns offsets and the total (aligned) size. */
export function structLayout(types: Type[]): { offsets: number[]; size: number } {
  let off = 0;
  let align = 1;
  const offsets = types.map((t) => {
    const a = alignOf(t);
    align = Math.max(align, a);
    off = Math.ceil(off / a) * a;
    const at = off;
    off += sizeOf(t);
    return at;
  });
  return { offsets, size: Math.ceil(off / align) * align };
}

export interface UserMap {
  index: number;
  spec: MapSpec;
  sym: MapSymbol;
  keys: KeyField[];
  /** Size of the user part of the key (before a bucket index). */
  userKeySize: number;
  layout: ValueLayout;
  bucketArray: boolean;
  /** For hist/lhist: the number of buckets. */
  buckets: number;
}

export function lhistBuckets(min: bigint, max: bigint, step: bigint): number {
  return Number((max - min) / step) + 2;
}

export function planMaps(symbols: CheckResult): { specs: MapSpec[]; user: Map<string, UserMap> } {
  const specs: MapSpec[] = [
    { name: ".events", kind: "ringbuf", keySize: 0, valueSize: 0, maxEntries: RINGBUF_BYTES },
    { name: ".state", kind: "array", keySize: 4, valueSize: STATE.size, maxEntries: 1 },
    { name: ".counters", kind: "array", keySize: 4, valueSize: COUNTERS.size, maxEntries: 1 },
    { name: ".scratch", kind: "percpu_array", keySize: 4, valueSize: 8, maxEntries: 1 },
  ];
  const user = new Map<string, UserMap>();
  for (const sym of [...symbols.maps.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (sym.value === undefined) continue;
    const keyTypes = sym.keys ?? [];
    const { offsets, size } = structLayout(keyTypes);
    const keys = keyTypes.map((type, i) => ({ type, offset: offsets[i]! }));
    const v = sym.value;
    let layout: ValueLayout;
    let valueSize = 8;
    let buckets = 0;
    if (v.kind === "agg") {
      switch (v.agg) {
        case "count":
        case "sum":
          layout = { kind: "sum", signed: v.signed };
          break;
        case "min":
        case "max":
          layout = { kind: "minmax", max: v.agg === "max", signed: v.signed };
          valueSize = 16;
          break;
        case "avg":
        case "stats":
          layout = { kind: "avg", signed: v.signed };
          valueSize = 16;
          break;
        case "hist":
        case "lhist":
          layout = { kind: "buckets", signed: v.signed };
          buckets = v.agg === "hist" ? HIST_BUCKETS : lhistBuckets(v.lhist!.min, v.lhist!.max, v.lhist!.step);
          break;
      }
    } else {
      layout = { kind: "plain", type: v };
      valueSize = Math.max(1, sizeOf(v));
    }
    const isAgg = v.kind === "agg";
    const isBuckets = layout.kind === "buckets";
    const keyless = keys.length === 0;
    // A keyless count() always has its one element (bpftrace prints `@c: 0` even when nothing
    // counted); every other keyless aggregation exists only once written, until cleared, so it
    // lives in a hash map under key 0 (or under its bucket index, for hist and lhist).
    const bucketArray = false;
    let kind: MapSpec["kind"];
    let keySize: number;
    let maxEntries = DEFAULT_MAP_ENTRIES;
    if (isAgg && keyless && v.kind === "agg" && v.agg === "count") {
      kind = "percpu_array";
      keySize = 4;
      maxEntries = 1;
    } else {
      kind = isAgg ? "percpu_hash" : "hash";
      keySize = keyless ? 8 : isBuckets ? Math.ceil(size / 8) * 8 + 8 : size;
    }
    const index = specs.length;
    const spec: MapSpec = {
      name: `@${sym.name}`,
      kind,
      keySize,
      valueSize,
      maxEntries,
      user: { keys, value: v, layout, ...(bucketArray ? { bucketArray } : {}) },
    };
    specs.push(spec);
    user.set(sym.name, { index, spec, sym, keys, userKeySize: size, layout, bucketArray, buckets });
  }
  return { specs, user };
}

// ---- stack maps ---------------------------------------------------------------------------------
//
// ustack and kstack values are ids in BPF_MAP_TYPE_STACK_TRACE maps, one map per frame limit
// (`.stack_N`: key u32 id, value N u64 addresses), sized as bpftrace 0.17 sizes them. A stack
// value is a u64 like bpftrace's:
//   bits 0-31   bpf_get_stackid's result: when >= 0, the id (bits 0-16) and the map's ordinal
//               among the script's stack maps (bits 17-30, 0 for the first map), so that a slot
//               holding stacks of several limits (their types unify to the larger) finds each in
//               its own map; when < 0, the error (-EFAULT: no stack of that kind here), with the
//               whole u64 sign-extended, as bpftrace leaves it;
//   bits 32-63  ustack: the thread id (bpftrace ORs in pid_tgid << 32), whose /proc entry
//               symbolizes the frames; kstack: 0.

/** Entries of a stack map (bpftrace 0.17's size); stack ids are below it. */
export const STACK_MAP_ENTRIES = 131072;
/** Bits of a stack id in a stack value; the map's ordinal is above them. */
export const STACK_ID_BITS = 17;

/** The stack map for stacks of `limit` frames: found in `specs`, or added at its end. */
export function stackMap(specs: MapSpec[], limit: number): { index: number; ordinal: number } {
  let ordinal = 0;
  for (let i = 0; i < specs.length; i++) {
    const s = specs[i]!.stack;
    if (s === undefined) continue;
    if (s.limit === limit) return { index: i, ordinal: s.ordinal };
    ordinal++;
  }
  specs.push({ name: `.stack_${limit}`, kind: "stack_trace", keySize: 4, valueSize: 8 * limit, maxEntries: STACK_MAP_ENTRIES, stack: { limit, ordinal } });
  return { index: specs.length - 1, ordinal };
}
