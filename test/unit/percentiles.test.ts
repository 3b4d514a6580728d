// Percentiles estimated from histogram buckets (runtime/format/percentiles.ts; the method is in
// spec/json-output.md): exact cases by hand, and properties against the true percentiles of random
// data.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  histBucketBounds,
  histBucketList,
  lhistBucketBounds,
  lhistBucketList,
  percentile,
  REPORTED_PERCENTILES,
  type Bucket,
} from "../../runtime/format/percentiles.js";
import { linearBucket, log2Bucket } from "../../runtime/format/values.js";

function histOf(values: readonly number[]): Bucket[] {
  const c = new Array<bigint>(34).fill(0n);
  for (const v of values) c[log2Bucket(BigInt(v))]! += 1n;
  return histBucketList(c);
}

function lhistOf(values: readonly number[], min: number, max: number, step: number): Bucket[] {
  const c = new Array<bigint>(Math.trunc((max - min) / step) + 2).fill(0n);
  for (const v of values) c[linearBucket(BigInt(v), BigInt(min), BigInt(max), BigInt(step))]! += 1n;
  return lhistBucketList(c, BigInt(min), BigInt(max), BigInt(step));
}

/** The nearest-rank percentile of the values themselves. */
function truePercentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const k = Math.max(1, Math.ceil((p / 100) * sorted.length - 1e-9));
  return sorted[k - 1]!;
}

describe("bucket bounds", () => {
  test("hist: (..., -1], [0], [1], [2, 3], [4, 7], ..., [2^31, 2^32 - 1]", () => {
    expect(histBucketBounds(0)).toEqual({ min: -Infinity, max: -1 });
    expect(histBucketBounds(1)).toEqual({ min: 0, max: 0 });
    expect(histBucketBounds(2)).toEqual({ min: 1, max: 1 });
    expect(histBucketBounds(3)).toEqual({ min: 2, max: 3 });
    expect(histBucketBounds(12)).toEqual({ min: 1024, max: 2047 });
    expect(histBucketBounds(33)).toEqual({ min: 2 ** 31, max: 2 ** 32 - 1 });
    for (const v of [0, 1, 2, 3, 7, 8, 1000, 2 ** 31 - 1]) {
      const b = histBucketBounds(log2Bucket(BigInt(v)));
      expect(v >= b.min && v <= b.max).toBe(true);
    }
  });

  test("lhist: below min, steps, from max up", () => {
    expect(lhistBucketBounds(0, 0n, 100n, 10n)).toEqual({ min: -Infinity, max: -1 });
    expect(lhistBucketBounds(1, 0n, 100n, 10n)).toEqual({ min: 0, max: 9 });
    expect(lhistBucketBounds(10, 0n, 100n, 10n)).toEqual({ min: 90, max: 99 });
    expect(lhistBucketBounds(11, 0n, 100n, 10n)).toEqual({ min: 100, max: Infinity });
    expect(lhistBucketBounds(1, -10n, 10n, 5n)).toEqual({ min: -10, max: -6 });
  });

  test("bucket lists run from the first non-empty bucket to the last", () => {
    expect(histOf([5, 100]).map((b) => [b.min, b.max, b.count])).toEqual([
      [4, 7, 1n],
      [8, 15, 0n],
      [16, 31, 0n],
      [32, 63, 0n],
      [64, 127, 1n],
    ]);
    expect(histOf([])).toEqual([]);
    expect(lhistOf([-1, 1000], 0, 100, 10).map((b) => b.count)).toEqual([1n, ...new Array(10).fill(0n), 1n]);
  });
});

describe("percentile()", () => {
  test("buckets of one integer give the exact value", () => {
    const b = histOf([0, 0, 0, 1]);
    expect(percentile(b, 50)).toBe(0);
    expect(percentile(b, 75)).toBe(0);
    expect(percentile(b, 76)).toBe(1);
    expect(percentile(b, 100)).toBe(1);
    const l = lhistOf([3, 4, 4, 9], 0, 10, 1);
    expect([25, 50, 75, 100].map((p) => percentile(l, p))).toEqual([3, 4, 4, 9]);
  });

  test("values spread evenly over a bucket's integers", () => {
    // Four values in [4, 7]: estimated 4, 5, 6, 7.
    const b = histOf([4, 5, 6, 7]);
    expect([25, 50, 75, 100].map((p) => percentile(b, p))).toEqual([4, 5, 6, 7]);
    // One value in [64, 127]: the middle.
    expect(percentile(histOf([100]), 50)).toBe(96);
    // Two values in [128, 255]: 160 and 224.
    expect(percentile(histOf([200, 250]), 50)).toBe(160);
    expect(percentile(histOf([200, 250]), 100)).toBe(224);
  });

  test("open buckets give their finite bound", () => {
    expect(percentile(histOf([-5, -7]), 50)).toBe(-1);
    expect(percentile(lhistOf([-5], 0, 100, 10), 99)).toBe(-1);
    expect(percentile(lhistOf([5000], 10, 100, 10), 50)).toBe(100);
  });

  test("the rank is exact: p99.9 of 1000 values is the 999th", () => {
    // 999 values of 1 and one value of 1000: p99.9 is 1, p100 is in [512, 1023].
    const b = histOf([...new Array(999).fill(1), 1000]);
    expect(percentile(b, 99.9)).toBe(1);
    expect(percentile(b, 99.91)).toBeGreaterThanOrEqual(512);
    // 1 of 1000 above: p99.9 with 1001 values reaches it.
    expect(percentile(histOf([...new Array(1000).fill(1), 1000]), 99.9)).toBe(1);
    expect(percentile(histOf([...new Array(999).fill(1), 1000, 1000]), 99.9)).toBeGreaterThanOrEqual(512);
  });

  test("p 0 is the smallest value's bucket; nothing counted gives undefined; p outside [0, 100] throws", () => {
    // The one value in [2, 3]: min + floor(0.5 * 2 / 1) = 3.
    expect(percentile(histOf([3, 1000]), 0)).toBe(3);
    expect(percentile([], 50)).toBeUndefined();
    expect(percentile(histOf([]), 50)).toBeUndefined();
    for (const p of [-1, 100.5, NaN, Infinity]) expect(() => percentile(histOf([1]), p)).toThrow(RangeError);
  });

  test("the reported percentiles are p50, p90, p99, p99.9", () => {
    expect(REPORTED_PERCENTILES.map((r) => r.name)).toEqual(["p50", "p90", "p99", "p99.9"]);
  });

  test("property: the estimate lies in the bucket of the true percentile", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -100, max: 5_000_000 }), { minLength: 1, maxLength: 300 }), fc.double({ min: 0, max: 100, noNaN: true }), (values, p) => {
        const est = percentile(histOf(values), p)!;
        const truth = truePercentile(values, p);
        const bucket = histBucketBounds(log2Bucket(BigInt(truth)));
        if (bucket.min === -Infinity) return est === -1;
        return est >= bucket.min && est <= bucket.max;
      }),
      { numRuns: 300 },
    );
  });

  test("property: lhist estimates are within a step of the truth, and rise with p", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 999 }), { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 50 }), (values, step) => {
        const max = Math.ceil(1000 / step) * step;
        const b = lhistOf(values, 0, max, step);
        let last = -Infinity;
        for (let p = 0; p <= 100; p += 0.5) {
          const est = percentile(b, p)!;
          if (Math.abs(est - truePercentile(values, p)) >= step) return false;
          if (est < last) return false;
          last = est;
        }
        return true;
      }),
      { numRuns: 200 },
    );
  });
});
