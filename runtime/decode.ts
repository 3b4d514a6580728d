// Decoding the bytes the kernel hands back (map keys and values, ring buffer records) into the
// value model of runtime/format/values.ts. Pure functions: nothing here talks to the kernel.
//
// Layouts (see compiler/codegen/maps.ts and gen.ts):
// - integers are little-endian, `size` bytes, sign- or zero-extended per the type;
// - strings are fixed-size buffers, cut at the first NUL (a full buffer without NUL is kept whole);
//   they decode to raw bytes (Uint8Array) so that bytes that are not UTF-8 survive;
// - tuples are laid out like C structs (structLayout); ints inside keep their declared size;
// - structs and arrays are C's (compiler/cstruct.ts): one value per member or element;
// - usym is {addr: u64, pid: u64} (the pid of the process the address belongs to);
// - probe is a u64 probe id (resolved through the probe name table);
// - buffer is {length: u8, data: u8[size]}; inet {af: i64, addr: u8[16]}, turned into its text;
// - resolved is a u64 (a time, cgroup id, errno or uid) turned into its text (format/resolve.ts);
// - ustack and kstack are a u64 stack value (compiler/codegen/maps.ts), whose frames are read from
//   the script's stack maps by a StackReader (runtime/stacks.ts): without one they cannot be decoded;
// - a ring buffer record is a u64 event id followed by the event's fields;
// - per-CPU map values hold one roundUp(valueSize, 8)-byte slot per possible CPU, combined here.
import { structLayout } from "../compiler/codegen/maps.js";
import type { EventSpec, ValueLayout } from "../compiler/program.js";
import { sizeOf, type Type, typeName } from "../compiler/types.js";
import { inetText, resolvedText } from "./format/resolve.js";
import type { AvgValue, UstackValue, Value } from "./format/values.js";

/** Reads a stack value's frames from the stack maps (runtime/stacks.ts). */
export type StackReader = (type: Extract<Type, { kind: "ustack" | "kstack" }>, raw: bigint) => UstackValue;

/** A ring buffer record, decoded. */
export interface DecodedRecord {
  /** The event id: an index into the script's `events`. */
  id: number;
  event: EventSpec;
  /**
   * printf, cat, system: one value per argument; print_value: the one value; join: the strings
   * (raw bytes, up to the first empty one); helper_error: the helper's return value (int64);
   * other events: none.
   */
  values: Value[];
}

/** A field of a map key, or of a record: its type and its offset in the bytes. */
export interface Field {
  type: Type;
  offset: number;
}

function need(bytes: Uint8Array, offset: number, size: number, what: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + size > bytes.length) {
    throw new RangeError(`decode: ${what} needs bytes [${offset}, ${offset + size}) but the buffer holds ${bytes.length}`);
  }
}

/** A little-endian integer of `size` bytes at `offset`, sign- or zero-extended. */
export function decodeInt(bytes: Uint8Array, offset: number, size: 1 | 2 | 4 | 8, signed: boolean): bigint {
  need(bytes, offset, size, `int${size * 8}`);
  const b = bytes;
  const o = offset;
  switch (size) {
    case 1:
      return BigInt(signed ? (b[o]! << 24) >> 24 : b[o]!);
    case 2: {
      const v = b[o]! | (b[o + 1]! << 8);
      return BigInt(signed ? (v << 16) >> 16 : v);
    }
    case 4: {
      const v = b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
      return BigInt(signed ? v : v >>> 0);
    }
    case 8: {
      // Byte arithmetic: no DataView to allocate per buffer (map reads hand over many small ones).
      const lo = (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
      const hi = b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16) | (b[o + 7]! << 24);
      return (BigInt(signed ? hi : hi >>> 0) << 32n) + BigInt(lo);
    }
  }
}

/** The name of probe `id`, or a placeholder for an id the table does not hold. */
function probeName(id: bigint, probeNames: readonly string[]): string {
  const name = id < BigInt(probeNames.length) ? probeNames[Number(id)] : undefined;
  return name ?? `<unknown probe ${id}>`;
}

/**
 * Decodes a value of `type` stored at `bytes[offset..]`. `probeNames` (indexed by probe id)
 * resolves values of type probe, `stacks` those of type ustack and kstack. Aggregation values are
 * per-CPU data: see combinePerCpu. Throws RangeError when the buffer is too short.
 */
export function decodeValue(type: Type, bytes: Uint8Array, offset = 0, probeNames: readonly string[] = [], stacks?: StackReader): Value {
  switch (type.kind) {
    case "int":
      return decodeInt(bytes, offset, type.size, type.signed);
    case "string": {
      need(bytes, offset, type.size, typeName(type));
      const region = bytes.subarray(offset, offset + type.size);
      const nul = region.indexOf(0);
      return region.slice(0, nul < 0 ? type.size : nul);
    }
    case "tuple": {
      need(bytes, offset, sizeOf(type), typeName(type));
      const { offsets } = structLayout(type.elems);
      return type.elems.map((t, i) => decodeValue(t, bytes, offset + offsets[i]!, probeNames, stacks));
    }
    case "struct": {
      need(bytes, offset, type.size, typeName(type));
      return type.fields.map((f) => {
        if (f.bitfield === undefined || f.type.kind !== "int") return decodeValue(f.type, bytes, offset + f.offset, probeNames, stacks);
        // As bpftrace 0.17 prints a bit-field: its type's bytes from the byte of its first bit,
        // neither shifted nor masked (bytes past the struct read as 0).
        const region = new Uint8Array(f.type.size);
        region.set(bytes.subarray(offset + f.offset, Math.min(offset + type.size, offset + f.offset + f.type.size)));
        return decodeInt(region, 0, f.type.size, f.type.signed);
      });
    }
    case "array": {
      const size = sizeOf(type.elem);
      need(bytes, offset, size * type.count, typeName(type));
      return Array.from({ length: type.count }, (_, i) => decodeValue(type.elem, bytes, offset + i * size, probeNames, stacks));
    }
    case "buffer": {
      need(bytes, offset, type.size + 1, typeName(type));
      const length = Math.min(bytes[offset]!, type.size);
      return { length, bytes: bytes.slice(offset + 1, offset + 1 + type.size) };
    }
    case "inet":
      need(bytes, offset, 24, typeName(type));
      return inetText(decodeInt(bytes, offset, 8, true), bytes.subarray(offset + 8, offset + 24));
    case "resolved":
      return resolvedText(type.how, type.arg, decodeInt(bytes, offset, 8, false));
    case "usym": {
      const pid = decodeInt(bytes, offset + 8, 8, false);
      return pid === 0n ? { addr: decodeInt(bytes, offset, 8, false) } : { addr: decodeInt(bytes, offset, 8, false), pid: Number(pid) };
    }
    case "probe":
      return probeName(decodeInt(bytes, offset, 8, false), probeNames);
    case "ustack":
    case "kstack": {
      const raw = decodeInt(bytes, offset, 8, false);
      if (stacks === undefined) throw new Error(`decode: ${type.kind} values are read from the stack maps: no stack reader given`);
      return stacks(type, raw);
    }
    case "agg":
      throw new TypeError(`decode: a ${typeName(type)} value is per-CPU data; use combinePerCpu`);
    case "void":
    case "error":
      throw new TypeError(`decode: a ${typeName(type)} has no value`);
  }
}

/** Decodes the fields of a map key (or any struct of fields) at `bytes[offset..]`. */
export function decodeFields(fields: readonly Field[], bytes: Uint8Array, offset = 0, probeNames: readonly string[] = [], stacks?: StackReader): Value[] {
  return fields.map((f) => decodeValue(f.type, bytes, offset + f.offset, probeNames, stacks));
}

/**
 * Decodes one ring buffer record: a u64 event id, then the event's fields. Throws RangeError
 * for an id the script does not have, or a record too short for its event.
 */
export function decodeRecord(events: readonly EventSpec[], probeNames: readonly string[], bytes: Uint8Array, stacks?: StackReader): DecodedRecord {
  const raw = decodeInt(bytes, 0, 8, false);
  if (raw >= BigInt(events.length)) throw new RangeError(`decode: record with event id ${raw}, but the script has ${events.length} events`);
  const id = Number(raw);
  const event = events[id]!;
  let values: Value[] = [];
  switch (event.kind) {
    case "printf":
    case "cat":
    case "system":
      need(bytes, 8, event.size, `${event.kind} record (event ${id})`);
      values = decodeFields(event.args, bytes, 8, probeNames, stacks);
      break;
    case "join":
      need(bytes, 8, event.maxArgs * event.argSize, `join record (event ${id})`);
      for (let i = 0; i < event.maxArgs; i++) {
        const s = decodeValue({ kind: "string", size: event.argSize }, bytes, 8 + i * event.argSize) as Uint8Array;
        if (s.length === 0) break;
        values.push(s);
      }
      break;
    case "helper_error":
      values = [decodeInt(bytes, 8, 8, true)];
      break;
    case "print_value":
      need(bytes, 8, event.size, `print record (event ${id})`);
      values = [decodeValue(event.value.type, bytes, 8 + event.value.offset, probeNames, stacks)];
      break;
    default:
      break;
  }
  return { id, event, values };
}

/** Bytes one CPU's slot takes in a per-CPU map value. */
export function perCpuStride(valueSize: number): number {
  return Math.ceil(valueSize / 8) * 8;
}

/** Views of each CPU's slot of a per-CPU map value (`ncpu` slots of perCpuStride(valueSize)). */
export function splitPerCpu(bytes: Uint8Array, valueSize: number, ncpu: number, offset = 0): Uint8Array[] {
  const stride = perCpuStride(valueSize);
  need(bytes, offset, stride * ncpu, `per-CPU value (${ncpu} CPUs of ${stride} bytes)`);
  const out: Uint8Array[] = [];
  for (let c = 0; c < ncpu; c++) out.push(bytes.subarray(offset + c * stride, offset + c * stride + valueSize));
  return out;
}

const ext = (signed: boolean, v: bigint): bigint => (signed ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v));

/**
 * The value of one map entry, combined from its per-CPU slots (one buffer per CPU, each holding
 * the layout's bytes at offset 0), with 64-bit wrapping arithmetic like bpftrace:
 *
 * - plain: the value of the first buffer (plain maps are not per-CPU), decoded per its type;
 * - sum: the sum of the i64s, as int64 when signed, else uint64;
 * - buckets: the sum of the u64 counts (one bucket of a hist/lhist), as uint64;
 * - minmax ({value i64, set u64}): the min (or max) of the values of the CPUs whose `set` is
 *   non-zero, compared signed or unsigned per the layout; 0 when no CPU has a value;
 * - avg ({count u64, total i64}): { count, total } summed; total as int64 when signed.
 */
export function combinePerCpu(layout: ValueLayout, perCpu: readonly Uint8Array[], probeNames: readonly string[] = [], stacks?: StackReader): Value {
  switch (layout.kind) {
    case "plain": {
      const first = perCpu[0];
      if (first === undefined) throw new RangeError("decode: no value buffer");
      return decodeValue(layout.type, first, 0, probeNames, stacks);
    }
    case "sum":
    case "buckets": {
      let total = 0n;
      for (const b of perCpu) total += decodeInt(b, 0, 8, false);
      return ext(layout.kind === "sum" && layout.signed, total);
    }
    case "minmax": {
      let best: bigint | undefined;
      for (const b of perCpu) {
        if (decodeInt(b, 8, 8, false) === 0n) continue;
        const v = decodeInt(b, 0, 8, layout.signed);
        if (best === undefined || (layout.max ? v > best : v < best)) best = v;
      }
      return best ?? 0n;
    }
    case "avg": {
      let count = 0n;
      let total = 0n;
      for (const b of perCpu) {
        count += decodeInt(b, 0, 8, false);
        total += decodeInt(b, 8, 8, false);
      }
      const avg: AvgValue = { count: BigInt.asUintN(64, count), total: ext(layout.signed, total) };
      return avg;
    }
  }
}
