// Histogram buckets with their bounds, and percentiles estimated from them (--percentiles, and the
// library's Histogram.percentile()). The method is described in spec/json-output.md:
//
// - rank: the p-th percentile of N values is the k-th smallest, k = ceil(p / 100 * N) (at least
//   1), computed exactly (p is taken to 6 decimal places);
// - the bucket holding the k-th value is found by adding up counts from the lowest bucket;
// - inside a bucket [min, max] holding c values, the values are taken as spread evenly over its
//   w = max - min + 1 integers: the j-th of them (j = k - the values in lower buckets) is
//   min + floor((j - 0.5) * w / c). A bucket of one integer ([0], [1], lhist with step 1) gives
//   its exact value;
// - an open bucket gives its finite bound: hist's "(..., 0)" gives -1, lhist's "(..., min)" gives
//   min - 1, lhist's "[max, ...)" gives max.
import { lhistBuckets as lhistBucketCount } from "../../compiler/codegen/maps.js";
import type { Type } from "../../compiler/types.js";
import { formatKey, sortMapEntries, type MapSnapshot, type ValueFormatOptions } from "./text.js";
import type { BucketCounts, MapEntry } from "./values.js";

/** One bucket: the values v with min <= v <= max (integers), and how many were seen. */
export interface Bucket {
  /** The lowest value of the bucket; -Infinity for the underflow bucket. */
  min: number;
  /** The highest value of the bucket; Infinity for lhist's overflow bucket. */
  max: number;
  count: bigint;
}

/** The percentiles --percentiles prints, and their names. */
export const REPORTED_PERCENTILES: ReadonlyArray<{ p: number; name: string }> = [
  { p: 50, name: "p50" },
  { p: 90, name: "p90" },
  { p: 99, name: "p99" },
  { p: 99.9, name: "p99.9" },
];

/** The bounds of hist() bucket i (bpftrace 0.17's log2 buckets). */
export function histBucketBounds(i: number): { min: number; max: number } {
  if (i === 0) return { min: -Infinity, max: -1 };
  if (i === 1) return { min: 0, max: 0 };
  if (i === 2) return { min: 1, max: 1 };
  return { min: 2 ** (i - 2), max: 2 ** (i - 1) - 1 };
}

/** The bounds of lhist(min, max, step) bucket i. */
export function lhistBucketBounds(i: number, min: bigint, max: bigint, step: bigint): { min: number; max: number } {
  const lo = Number(min);
  const st = Number(step);
  const inRange = Math.trunc((Number(max) - lo) / st);
  if (i === 0) return { min: -Infinity, max: lo - 1 };
  if (i === inRange + 1) return { min: Number(max), max: Infinity };
  return { min: (i - 1) * st + lo, max: i * st + lo - 1 };
}

function trimmed(counts: BucketCounts, size: number, bounds: (i: number) => { min: number; max: number }): Bucket[] {
  let first = -1;
  let last = -1;
  for (let i = 0; i < size; i++) {
    if (BigInt.asUintN(64, counts[i] ?? 0n) > 0n) {
      if (first < 0) first = i;
      last = i;
    }
  }
  const out: Bucket[] = [];
  if (first < 0) return out;
  for (let i = first; i <= last; i++) out.push({ ...bounds(i), count: BigInt.asUintN(64, counts[i] ?? 0n) });
  return out;
}

/** The buckets of a hist() value from the first non-empty one to the last (empty ones between kept). */
export function histBucketList(counts: BucketCounts): Bucket[] {
  return trimmed(counts, counts.length, histBucketBounds);
}

/** The buckets of an lhist() value from the first non-empty one to the last. */
export function lhistBucketList(counts: BucketCounts, min: bigint, max: bigint, step: bigint): Bucket[] {
  const size = Math.min(counts.length, lhistBucketCount(min, max, step));
  return trimmed(counts, size, (i) => lhistBucketBounds(i, min, max, step));
}

/**
 * The p-th percentile (0 <= p <= 100) of the values counted in `buckets` (in ascending order of
 * bounds), estimated as described at the top of this file; undefined when no value was counted.
 */
export function percentile(buckets: readonly Bucket[], p: number): number | undefined {
  if (typeof p !== "number" || !Number.isFinite(p) || p < 0 || p > 100) {
    throw new RangeError(`percentile: p must be a number from 0 to 100 (got ${String(p)})`);
  }
  let total = 0n;
  for (const b of buckets) total += b.count;
  if (total === 0n) return undefined;
  // k = ceil(p * total / 100), exactly: p in millionths.
  const scaled = BigInt(Math.round(p * 1_000_000));
  const denominator = 100_000_000n;
  let k = (scaled * total + denominator - 1n) / denominator;
  if (k < 1n) k = 1n;
  let below = 0n;
  for (const b of buckets) {
    if (b.count === 0n || below + b.count < k) {
      below += b.count;
      continue;
    }
    if (b.min === -Infinity) return b.max;
    if (b.max === Infinity) return b.min;
    const width = b.max - b.min + 1;
    const j = Number(k - below);
    const slot = Math.floor(((j - 0.5) * width) / Number(b.count));
    return b.min + Math.min(Math.max(slot, 0), width - 1);
  }
  // Unreachable: k <= total.
  return buckets.at(-1)?.max;
}

/** The reported percentiles of these buckets, by name; undefined when no value was counted. */
export function reportedPercentiles(buckets: readonly Bucket[]): Array<{ name: string; value: number }> | undefined {
  const out: Array<{ name: string; value: number }> = [];
  for (const { p, name } of REPORTED_PERCENTILES) {
    const value = percentile(buckets, p);
    if (value === undefined) return undefined;
    out.push({ name, value });
  }
  return out;
}

/** The buckets of a hist() or lhist() value of this type; undefined for other types. */
export function bucketsOf(type: Type, value: BucketCounts): Bucket[] | undefined {
  if (type.kind !== "agg") return undefined;
  if (type.agg === "hist") return histBucketList(value);
  if (type.agg === "lhist" && type.lhist) return lhistBucketList(value, type.lhist.min, type.lhist.max, type.lhist.step);
  return undefined;
}

/** The percentiles of one entry of a histogram map. */
export interface EntryPercentiles {
  entry: MapEntry;
  values: Array<{ name: string; value: number }>;
}

/**
 * The reported percentiles of every non-empty entry of a hist() or lhist() map, in the order the
 * map prints its entries; [] for an empty map and for maps of other types.
 */
export function mapPercentiles(map: MapSnapshot): EntryPercentiles[] {
  const out: EntryPercentiles[] = [];
  if (map.valueType.kind !== "agg" || (map.valueType.agg !== "hist" && map.valueType.agg !== "lhist")) return out;
  for (const entry of sortMapEntries(map.keyTypes, map.valueType, map.entries)) {
    const buckets = bucketsOf(map.valueType, entry.value as BucketCounts);
    const values = buckets === undefined ? undefined : reportedPercentiles(buckets);
    if (values !== undefined) out.push({ entry, values });
  }
  return out;
}

/**
 * The text --percentiles prints after the maps at exit: a heading, then one line per non-empty
 * histogram entry, `@name[key]: p50 V, p90 V, p99 V, p99.9 V`; "" when there is none.
 */
export function percentilesText(maps: readonly MapSnapshot[], options: ValueFormatOptions = {}): string {
  let out = "";
  for (const map of [...maps].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))) {
    for (const { entry, values } of mapPercentiles(map)) {
      const key = map.keyTypes.length === 0 ? "" : `[${map.keyTypes.map((t, i) => formatKey(t, entry.key[i]!, options)).join(", ")}]`;
      out += `${map.name}${key}: ${values.map((v) => `${v.name} ${v.value}`).join(", ")}\n`;
    }
  }
  return out === "" ? "" : `Percentiles (estimated from the histogram buckets):\n${out}`;
}
