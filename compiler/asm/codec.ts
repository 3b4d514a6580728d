// Instructions to bytes and back: 8 little-endian bytes per slot, two slots for the 64-bit loads.

import { FORMS, formOf, type Slot } from "./forms.js";
import type { Insn } from "./insn.js";

export const SLOT_SIZE = 8;

/** The slots of one instruction; throws a RangeError naming the first field that does not fit. */
export function toSlots(insn: Insn): Slot[] {
  return formOf(insn).encode(insn);
}

export function encode(insns: readonly Insn[]): Uint8Array {
  const slots = insns.flatMap(toSlots);
  const bytes = new Uint8Array(slots.length * SLOT_SIZE);
  const view = new DataView(bytes.buffer);
  slots.forEach((s, n) => {
    const at = n * SLOT_SIZE;
    view.setUint8(at, s.code);
    view.setUint8(at + 1, (s.src << 4) | s.dst);
    view.setInt16(at + 2, s.off, true);
    view.setInt32(at + 4, s.imm, true);
  });
  return bytes;
}

function readSlot(view: DataView, n: number): Slot {
  const at = n * SLOT_SIZE;
  const regs = view.getUint8(at + 1);
  return {
    code: view.getUint8(at),
    dst: regs & 0x0f,
    src: regs >> 4,
    off: view.getInt16(at + 2, true),
    imm: view.getInt32(at + 4, true),
  };
}

const sameSlot = (a: Slot, b: Slot | undefined) =>
  b !== undefined && a.code === b.code && a.dst === b.dst && a.src === b.src && a.off === b.off && a.imm === b.imm;

/** Decode one instruction at slots[n], or undefined unless it re-encodes to exactly the same slots. */
function decodeAt(slots: readonly Slot[], n: number): Insn | undefined {
  for (const form of Object.values(FORMS)) {
    const insn = form.decode(slots[n]!, slots[n + 1]) as Insn | undefined;
    if (!insn) continue;
    try {
      const again = toSlots(insn);
      if (again.every((s, k) => sameSlot(s, slots[n + k]))) return insn;
    } catch {
      // a field out of range (register 11, byte swap by 8 bits, ...): not a valid instruction
    }
  }
  return undefined;
}

/**
 * Decode bytecode. Throws on a length that is not a multiple of 8 and on any slot that is not an
 * instruction this model can express exactly (unknown opcodes, nonzero reserved fields, ...).
 */
export function decode(bytes: Uint8Array): Insn[] {
  if (bytes.length % SLOT_SIZE !== 0) {
    throw new RangeError(`bytecode length ${bytes.length} is not a multiple of ${SLOT_SIZE}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const slots = Array.from({ length: bytes.length / SLOT_SIZE }, (_, n) => readSlot(view, n));
  const insns: Insn[] = [];
  for (let n = 0; n < slots.length; ) {
    const insn = decodeAt(slots, n);
    if (!insn) {
      const hex = Array.from(bytes.subarray(n * SLOT_SIZE, (n + 1) * SLOT_SIZE), (b) => b.toString(16).padStart(2, "0"));
      throw new RangeError(`invalid or unsupported instruction at slot ${n}: ${hex.join(" ")}`);
    }
    insns.push(insn);
    n += toSlots(insn).length;
  }
  return insns;
}

/**
 * The canonical spelling of an instruction (signed immediates, fields in a fresh object): what
 * decode(encode([insn])) returns. Throws like encode() on fields that do not fit.
 */
export function canonical(insn: Insn): Insn {
  const form = formOf(insn);
  const [first, second] = form.encode(insn);
  const again = form.decode(first!, second);
  if (!again) throw new Error(`internal: ${insn.kind} does not decode its own encoding`);
  return again;
}
