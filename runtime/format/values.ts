// The decoded value model: what the runtime hands the text formatters (text.ts) after reading
// map entries and events out of the kernel, and bpftrace 0.17's bucket functions.
//
// Which shape a value has is decided by its Type (compiler/types.ts), never by looking at the
// value itself:
//
//   Type                      value
//   ------------------------  ------------------------------------------------------------------
//   int                       bigint, already sign- or zero-extended per the type (any bigint is
//                             accepted; the formatter keeps the low `size` bytes and re-extends)
//   string                    string (Unicode text, printed UTF-8 encoded) or Uint8Array (raw
//                             bytes); either is cut at the first NUL. bpftrace prints string bytes
//                             raw: no quoting, no escaping, non-printable and non-UTF-8 bytes go
//                             out unchanged. Pass a Uint8Array and use the *Bytes formatters to
//                             keep bytes that are not valid UTF-8.
//   tuple                     readonly Value[], one per element, each per its element type
//   int with ptr (a pointer)  bigint: the address (printed as int64 in values, in hex in keys)
//   struct                    readonly Value[], one per member of the type's `fields` (an
//                             anonymous member's value is itself a Value[])
//   array                     readonly Value[], one per element
//   usym                      { addr, pid? }: printed through the symbolizer, else as a pointer
//   ustack, kstack            { frames, pid?, raw? } (StackFrames) or just the frames: a readonly
//                             bigint[] of return addresses, innermost first (a 0 address ends the
//                             stack); null when the stack could not be read (printed as nothing,
//                             like bpftrace when its stack-map lookup fails). `pid` is the thread
//                             a user stack was taken in, for symbolization
//   probe                     string: the full probe name, already resolved ("BEGIN", ...)
//   buffer                    { length, bytes }: all the buffer's bytes and how many are in use
//                             (a value prints its first `length` bytes, a map key all of them;
//                             printable ASCII as is, other bytes as \xNN: see format/resolve.ts)
//   inet, resolved            string: the text user space made of it at decode time (an ntop()
//                             address, a strftime() time, a cgroup path, a strerror() message, a
//                             user name): printed like a string
//   agg count / sum           bigint: the value combined across CPUs (sum of the per-CPU values)
//   agg min / max             bigint: the minimum / maximum as bpftrace 0.17 prints it (see
//                             bpftraceMinValue() / bpftraceMaxValue() for how bpftrace gets it
//                             from its per-CPU slots, quirks included); printed per `signed`
//   agg avg / stats           { count, total }: per-CPU counts and totals summed
//   agg hist                  readonly bigint[]: counts indexed by log2Bucket(); missing = 0
//   agg lhist                 readonly bigint[]: counts indexed by linearBucket() with the
//                             type's lhist { min, max, step }; missing = 0
//
// Aggregation values are already combined across CPUs by the runtime (bpftrace's reduce_value:
// plain 64-bit wrapping sums per bucket). The formatters re-normalise every integer to the 64-bit
// domain bpftrace prints it in, so a value that wrapped may be given either way.

/** A string value: text, or raw bytes (cut at the first NUL). */
export type StringValue = string | Uint8Array;

/** A user-space address shown as a symbol. `pid` is passed to the symbolizer. */
export interface UsymValue {
  addr: bigint;
  pid?: number;
}

/** A stack read from its stack map. */
export interface StackFrames {
  /** Return addresses, innermost first. */
  frames: readonly bigint[];
  /** The thread a user-space stack was taken in: its frames are symbolized in that process. */
  pid?: number;
  /** The stack value as the program stored it (the bytes of a map key that holds the stack). */
  raw?: bigint;
}

/** A user-space or kernel stack: its frames (with or without a pid); null when it could not be read. */
export type UstackValue = readonly bigint[] | StackFrames | null;

/** A buf() value: all the buffer's bytes, of which the first `length` are in use. */
export interface BufferValue {
  length: number;
  bytes: Uint8Array;
}

/** An avg() or stats() value: how many values were aggregated and their (wrapping) sum. */
export interface AvgValue {
  count: bigint;
  total: bigint;
}

/** The buckets of a hist() or lhist(): counts indexed by bucket number; absent buckets are 0. */
export type BucketCounts = readonly bigint[];

/** Any decoded value; see the table at the top of this file for which shape goes with which Type. */
export type Value = bigint | StringValue | UsymValue | UstackValue | AvgValue | BufferValue | readonly Value[];

/** One map entry: its key (one value per key type; [] for a map without keys) and its value. */
export interface MapEntry {
  key: readonly Value[];
  value: Value;
}

/**
 * Resolves a user-space address to a symbol, or returns undefined to fall back to bpftrace's
 * unresolved form (the address as a C++ `void*`: "0x4011d6", and "0" for a null address).
 * `offset` is true for stack frames, where bpftrace shows "symbol+offset", and false for usym().
 * `kernel`: a kernel address (kstack frames), resolved through /proc/kallsyms. `module`: a
 * ustack(perf) frame, shown "symbol+offset (/path/of/the/file)".
 */
export type Symbolizer = (addr: bigint, info: { offset: boolean; pid?: number; kernel?: boolean; module?: boolean }) => string | undefined;

/** How many buckets a hist() has in bpftrace 0.17 (indexes 0..64). */
export const HIST_BUCKETS = 65;

/**
 * The largest bucket index bpftrace 0.17's log2 function ever produces: its shift loop only looks
 * at 5 bits of the exponent (shifts 16, 8, 4, 2, 1), so every value >= 2^31 lands in bucket 33,
 * printed "[2G, 4G)".
 */
export const LOG2_MAX_BUCKET = 33;

/** The most lhist() buckets bpftrace 0.17 keeps per key (1000 in range, plus under/overflow). */
export const LHIST_BUCKETS = 1002;

/**
 * bpftrace 0.17's hist() bucket index for a 64-bit signed value (its codegen `log2` function):
 *
 *   value < 0            -> 0   printed "(..., 0)"
 *   value == 0           -> 1   printed "[0]"
 *   1 <= value < 2^31    -> 2 + floor(log2(value))   (1 -> 2 "[1]", 2..3 -> 3 "[2, 4)", ...)
 *   value >= 2^31        -> 33  printed "[2G, 4G)"   (the shift loop saturates, see above)
 *
 * Bucket i >= 3 is printed as [2^(i-2), 2^(i-1)). The value is taken as int64 (wrapping).
 */
export function log2Bucket(value: bigint): number {
  const v = BigInt.asIntN(64, value);
  if (v < 0n) return 0;
  if (v === 0n) return 1;
  // Mirrors the codegen: for i = 4..0, shift = (n >= 1 << (1 << i)) << i; n >>= shift.
  let n = v;
  let result = 2;
  for (let i = 4; i >= 0; i--) {
    const shift = n >= 1n << BigInt(1 << i) ? 1 << i : 0;
    n >>= BigInt(shift);
    result += shift;
  }
  return result;
}

/**
 * bpftrace 0.17's lhist() bucket index (its codegen `linear` function), with 64-bit signed
 * arithmetic and truncating division:
 *
 *   value < min          -> 0                          printed "(..., min)"
 *   value > max          -> 1 + (max - min) / step     printed "[max, ...)"
 *   otherwise            -> 1 + (value - min) / step   printed "[lo, lo + step)"
 *
 * There are (max - min) / step in-range buckets (1 ..), and the overflow bucket is number
 * (max - min) / step + 1; a value equal to max, and (when step does not divide max - min) values
 * in the last partial step, land in the overflow bucket too.
 */
export function linearBucket(value: bigint, min: bigint, max: bigint, step: bigint): number {
  const v = BigInt.asIntN(64, value);
  const lo = BigInt.asIntN(64, min);
  const hi = BigInt.asIntN(64, max);
  const st = BigInt.asIntN(64, step);
  if (st === 0n) throw new RangeError("linearBucket: step must not be 0");
  if (v < lo) return 0;
  if (v > hi) return Number(BigInt.asIntN(64, 1n + BigInt.asIntN(64, hi - lo) / st));
  return Number(BigInt.asIntN(64, 1n + BigInt.asIntN(64, v - lo) / st));
}


/**
 * bpftrace 0.17's min_value(): the min() value it prints, from the raw 64-bit per-CPU slots of a
 * min() map entry, for a code generator that stores min() the way bpftrace 0.17 does: the slot
 * holds 0xffffffff - value, written when that is >= the slot (signed; an absent entry counts as
 * 0, so min() of a value above 0xffffffff never creates an entry). The result is 0xffffffff - the
 * largest slot (as int64, CPUs that never ran count as 0), except that a largest slot of 0 prints
 * as 0 (so min(4294967295) prints 0).
 */
export function bpftraceMinValue(slots: readonly bigint[]): bigint {
  let max = 0n;
  for (const s of slots) {
    const v = BigInt.asIntN(64, s);
    if (v > max) max = v;
  }
  if (max === 0n) return 0n;
  return BigInt.asIntN(64, 0xffffffffn - max);
}

/**
 * bpftrace 0.17's max_value(): the largest per-CPU slot as uint64 (CPUs that never ran count as
 * 0). bpftrace 0.17's max() writes a slot when value >= the slot (signed; an absent entry counts
 * as 0), so a max() of only negative values never creates an entry.
 */
export function bpftraceMaxValue(slots: readonly bigint[]): bigint {
  let max = 0n;
  for (const s of slots) {
    const v = BigInt.asUintN(64, s);
    if (v > max) max = v;
  }
  return max;
}
