// ustack and kstack at run time: reading a stack value's frames from the script's stack maps, and
// kernel symbols (/proc/kallsyms) for kstack frames, as bpftrace 0.17 (through bcc) does both.
//
// A stack value is the u64 the program stored (compiler/codegen/maps.ts): bpf_get_stackid's
// result in the low 32 bits (the id, and above it the ordinal of the stack map it is in) and, for
// ustack, the thread id in the high 32 bits. bpftrace's get_stack() looks the id up in the stack
// map and prints nothing when that fails; it says so on stderr ("failed to look up stack id -17
// (pid -1): -2"), except for -EFAULT (no stack of that kind there: a kstack in a uprobe).
import { readFileSync } from "node:fs";
import { STACK_ID_BITS } from "../compiler/codegen/maps.js";
import type { MapSpec } from "../compiler/program.js";
import type { Type } from "../compiler/types.js";
import type { StackReader } from "./decode.js";
import { cxxSort } from "./format/text.js";
import type { UstackValue } from "./format/values.js";
import { native } from "./native.js";

const EFAULT = 14;
const ENOENT = 2;

/** A stack map of the running script. */
export interface StackMapHandle {
  fd: number;
  spec: MapSpec;
}

/** The parts of a stack value (see the top of this file). */
export function splitStackValue(raw: bigint): { id: number; ordinal: number; error?: number; pid: number } {
  const low = Number(BigInt.asIntN(32, raw));
  const pid = Number(BigInt.asIntN(32, raw >> 32n));
  if (low < 0) return { id: low, ordinal: 0, error: low, pid };
  return { id: low & ((1 << STACK_ID_BITS) - 1), ordinal: low >>> STACK_ID_BITS, pid };
}

/**
 * A StackReader over the script's stack maps (those with a `stack` spec). `onError` gets the
 * message for a stack that cannot be read (bpftrace's "failed to look up stack id ..."), without
 * "ERROR: " and the newline.
 */
export function stackReader(maps: readonly StackMapHandle[], onError: (message: string) => void): StackReader {
  const byOrdinal = new Map<number, StackMapHandle>();
  for (const m of maps) if (m.spec.stack !== undefined) byOrdinal.set(m.spec.stack.ordinal, m);
  return (type: Extract<Type, { kind: "ustack" | "kstack" }>, raw: bigint): UstackValue => {
    const v = splitStackValue(raw);
    // bpftrace shows the id as the low 32 bits (with our map ordinal taken out) and the pid as
    // the high 32, both as C ints.
    const shownId = v.error ?? v.id;
    const fail = (err: number): null => {
      if (shownId !== -EFAULT) onError(`failed to look up stack id ${shownId} (pid ${v.pid}): ${err}`);
      return null;
    };
    if (v.error !== undefined) return fail(-ENOENT);
    const map = byOrdinal.get(v.ordinal);
    if (map === undefined) return fail(-ENOENT);
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, v.id, true);
    const value = new Uint8Array(map.spec.valueSize);
    try {
      if (!native().mapLookup(map.fd, key, value)) return fail(-ENOENT);
    } catch (e) {
      const errno = (e as { errno?: number }).errno;
      return fail(typeof errno === "number" ? -Math.abs(errno) : -1);
    }
    const view = new DataView(value.buffer);
    const frames: bigint[] = [];
    for (let off = 0; off + 8 <= value.length; off += 8) {
      const addr = view.getBigUint64(off, true);
      if (addr === 0n) break;
      frames.push(addr);
    }
    return type.kind === "ustack" ? { frames, pid: v.pid, raw } : { frames, raw };
  };
}

// ---- kernel symbols -----------------------------------------------------------------------------

/** A kallsyms symbol: its address in two 32-bit halves (fast to compare), and its name. */
interface KernelSymbol {
  hi: number;
  lo: number;
  name: string;
}

/** bcc's lowest kernel address on x86-64 (0x00ffffffffffffff): symbols below it (per-CPU offsets) are skipped. */
const KERNEL_ADDR_SPACE_HI = 0x00ffffff;

const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);

/**
 * The symbols of /proc/kallsyms as bcc's KSyms keeps them: function (non-data) symbols with a
 * kernel address, in the file's order, then sorted by address with libstdc++'s std::sort (so
 * that among symbols at one address the same one wins as in bpftrace). Needs root: without it
 * every address reads as 0 and nothing resolves.
 */
export function parseKallsyms(text: string): KernelSymbol[] {
  const syms: KernelSymbol[] = [];
  let at = 0;
  while (at < text.length) {
    let eol = text.indexOf("\n", at);
    if (eol < 0) eol = text.length;
    // "ffffffff81000000 T _text\t[module]": 16 hex digits, the type, the name.
    let sp = at;
    while (sp < eol && isHex(text.charCodeAt(sp))) sp++;
    const digits = sp - at;
    if (digits > 0 && digits <= 16 && text.charCodeAt(sp) === 32 && sp + 3 < eol) {
      const hex = text.slice(at, sp).padStart(16, "0");
      const hi = parseInt(hex.slice(0, 8), 16);
      const lo = parseInt(hex.slice(8), 16);
      const type = text[sp + 1]!;
      const zero = hi === 0 && lo === 0;
      const ones = hi === 0xffffffff && lo === 0xffffffff;
      if (!zero && !ones && (hi > KERNEL_ADDR_SPACE_HI || (hi === KERNEL_ADDR_SPACE_HI && lo === 0xffffffff)) && !"bBdDrR".includes(type)) {
        let end = sp + 3;
        while (end < eol && text.charCodeAt(end) > 32) end++;
        syms.push({ hi, lo, name: text.slice(sp + 3, end) });
      }
    }
    at = eol + 1;
  }
  return cxxSort(syms, (a, b) => a.hi < b.hi || (a.hi === b.hi && a.lo < b.lo));
}

/** Resolves kernel addresses to "symbol+offset", as bpftrace's resolve_ksym(addr, true). */
export class KernelSymbols {
  private syms: KernelSymbol[] | undefined;

  constructor(private readonly path = "/proc/kallsyms") {}

  private load(): KernelSymbol[] {
    if (this.syms === undefined) {
      try {
        this.syms = parseKallsyms(readFileSync(this.path, "latin1"));
      } catch {
        this.syms = [];
      }
    }
    return this.syms;
  }

  /** The symbol at or before `addr` (the last one of its address after sorting), or undefined. */
  resolve(addr: bigint): { name: string; offset: bigint } | undefined {
    const syms = this.load();
    const a = BigInt.asUintN(64, addr);
    const ahi = Number(a >> 32n);
    const alo = Number(a & 0xffffffffn);
    // upper_bound: the first symbol above addr; the one before it holds addr.
    let lo = 0;
    let hi = syms.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = syms[mid]!;
      if (s.hi < ahi || (s.hi === ahi && s.lo <= alo)) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return undefined;
    const s = syms[lo - 1]!;
    return { name: s.name, offset: a - ((BigInt(s.hi) << 32n) | BigInt(s.lo)) };
  }

  /** "symbol+offset" (offset in decimal), or undefined when no symbol is at or below addr. */
  format(addr: bigint, offset = true): string | undefined {
    const s = this.resolve(BigInt.asUintN(64, addr));
    if (s === undefined) return undefined;
    return offset ? `${s.name}+${s.offset}` : s.name;
  }
}
