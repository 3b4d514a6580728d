// The text of one hist() or lhist() value, byte for byte what bpftrace 0.17 prints (its
// TextOutput::hist_to_str / lhist_to_str). All of it is ASCII.
//
// One row per bucket from the first to the last non-empty one (empty buckets in between are
// printed with a count of 0 and no bar):
//
//   [4, 8)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//
// that is the range label left-aligned in 16 columns (never cut), the count right-aligned in 8
// (wider counts push the rest right), " |", the bar left-aligned in 52 columns, "|", newline.
// The bar has trunc(count / max * 52) '@', computed in single-precision float, where max is the
// largest bucket count. A value with no non-empty bucket prints as nothing at all.
//
// Quirks of bpftrace 0.17 reproduced here:
// - bucket counts are truncated to a 32-bit int when bpftrace looks for the non-empty range and
//   the largest count (so a count of exactly 2^32 counts as empty there). A count of 2^31 or
//   more then gets a bar width beyond int range, which makes bpftrace abort; we print no bar;
// - hist() counts are divided by print()'s div, but the bar uses the undivided counts;
// - lhist() ignores div entirely;
// - lhist() trims empty buckets at both ends, but decides whether anything is printed at all
//   from the 32-bit truncated counts.

import type { BucketCounts } from "./values.js";

const BAR_WIDTH = 52;

/** A C `(float)` conversion of an unsigned 64-bit integer: round to nearest, ties to even. */
export function u64ToFloat32(x: bigint): number {
  const v = BigInt.asUintN(64, x);
  if (v < 1n << 53n) return Math.fround(Number(v));
  // Round to 24 significant bits directly (going through a double could round twice).
  const bits = v.toString(2).length;
  const drop = BigInt(bits - 24);
  let mant = v >> drop;
  const rest = v & ((1n << drop) - 1n);
  const half = 1n << (drop - 1n);
  if (rest > half || (rest === half && (mant & 1n) === 1n)) mant += 1n;
  return Math.fround(Number(mant << drop));
}

/** bpftrace's `int bar_width = count / (float)max_value * 52`, in single precision. */
function barWidth(count: bigint, maxValue: number): number {
  const q = Math.fround(u64ToFloat32(count) / Math.fround(maxValue));
  const w = Math.fround(q * BAR_WIDTH);
  // Out-of-range float-to-int conversions are undefined behaviour in C++ (bpftrace then fails to
  // allocate the bar and aborts); they cannot happen for counts below 2^31.
  if (!(w > 0 && w < 2 ** 31)) return 0;
  return Math.trunc(w);
}

function row(header: string, count: bigint, bar: number): string {
  return `${header.padEnd(16)}${count.toString().padStart(8)} |${"@".repeat(bar).padEnd(BAR_WIDTH)}|\n`;
}

/** The count of bucket i as a uint64 (absent buckets are 0). */
function at(buckets: BucketCounts, i: number): bigint {
  const v = buckets[i];
  return v === undefined ? 0n : BigInt.asUintN(64, v);
}

/** A count as bpftrace's `int v = values.at(i)` sees it. */
function int32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

/** bpftrace's hist_index_label(power): 2^power with a K/M/G/T suffix. */
function powerLabel(power: number): string {
  let suffix = "";
  if (power >= 40) {
    suffix = "T";
    power -= 40;
  } else if (power >= 30) {
    suffix = "G";
    power -= 30;
  } else if (power >= 20) {
    suffix = "M";
    power -= 20;
  } else if (power >= 10) {
    suffix = "K";
    power -= 10;
  }
  return `${2 ** power}${suffix}`;
}

/**
 * The range label of hist() bucket i: "(..., 0)", "[0]", "[1]", then "[2, 4)", "[4, 8)", ...,
 * "[512, 1K)", "[1K, 2K)", ..., "[1M, 2M)", "[1G, 2G)", "[1T, 2T)", ...
 */
export function histBucketLabel(i: number): string {
  if (i === 0) return "(..., 0)";
  if (i === 1) return "[0]";
  if (i === 2) return "[1]";
  return `[${powerLabel(i - 2)}, ${powerLabel(i - 1)})`;
}

/** bpftrace's lhist_index_label(number): exact multiples of 1M and 1K get a suffix. */
export function lhistNumberLabel(n: number): string {
  if (n === 0) return "0";
  if (n % 1048576 === 0) return `${n / 1048576}M`;
  if (n % 1024 === 0) return `${n / 1024}K`;
  return `${n}`;
}

/** lhist() parameters as bpftrace's printer holds them (C ints). */
interface LhistParams {
  min: number;
  max: number;
  step: number;
  /** (max - min) / step: the number of in-range buckets. */
  buckets: number;
}

function lhistParams(min: bigint, max: bigint, step: bigint): LhistParams {
  const lo = Number(BigInt.asIntN(32, min));
  const hi = Number(BigInt.asIntN(32, max));
  const st = Number(BigInt.asIntN(32, step));
  if (st === 0) throw new RangeError("lhist: step must not be 0");
  return { min: lo, max: hi, step: st, buckets: Math.trunc((hi - lo) / st) };
}

/**
 * The range label of lhist() bucket i: "(..., min)" for 0, "[max, ...)" for the overflow bucket
 * ((max - min) / step + 1), "[lo, hi)" in between, with lo = (i - 1) * step + min.
 */
export function lhistBucketLabel(i: number, min: bigint, max: bigint, step: bigint): string {
  return lhistLabel(i, lhistParams(min, max, step));
}

function lhistLabel(i: number, p: LhistParams): string {
  if (i === 0) return `(..., ${lhistNumberLabel(p.min)})`;
  if (i === p.buckets + 1) return `[${lhistNumberLabel(p.max)}, ...)`;
  const lo = (Math.imul(i - 1, p.step) + p.min) | 0;
  const hi = (Math.imul(i, p.step) + p.min) | 0;
  return `[${lhistNumberLabel(lo)}, ${lhistNumberLabel(hi)})`;
}

/** The rows bpftrace 0.17 prints for a hist() value; counts are divided by `div` (>= 1). */
export function formatHist(buckets: BucketCounts, div: bigint = 1n): string {
  let minIndex = -1;
  let maxIndex = -1;
  let maxValue = 0;
  for (let i = 0; i < buckets.length; i++) {
    const v = int32(at(buckets, i));
    if (v > 0) {
      if (minIndex === -1) minIndex = i;
      maxIndex = i;
    }
    if (v > maxValue) maxValue = v;
  }
  if (maxIndex === -1) return "";
  const d = div === 0n ? 1n : div;
  let out = "";
  for (let i = minIndex; i <= maxIndex; i++) {
    const count = at(buckets, i);
    out += row(histBucketLabel(i), count / d, barWidth(count, maxValue));
  }
  return out;
}

/** The rows bpftrace 0.17 prints for an lhist() value with these parameters. */
export function formatLhist(buckets: BucketCounts, min: bigint, max: bigint, step: bigint): string {
  const p = lhistParams(min, max, step);
  let maxIndex = -1;
  let maxValue = 0;
  for (let i = 0; i < buckets.length; i++) {
    const v = int32(at(buckets, i));
    if (v !== 0) maxIndex = i;
    if (v > maxValue) maxValue = v;
  }
  if (maxIndex === -1) return "";
  let start = -1;
  let end = 0;
  for (let i = 0; i <= p.buckets + 1; i++) {
    if (at(buckets, i) > 0n) {
      if (start === -1) start = i;
      end = i;
    }
  }
  if (start === -1) start = 0;
  let out = "";
  for (let i = start; i <= end; i++) {
    const count = at(buckets, i);
    out += row(lhistLabel(i, p), count, barWidth(count, maxValue));
  }
  return out;
}
