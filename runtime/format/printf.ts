// printf formatting in user space, byte-for-byte what bpftrace 0.17 prints.
//
// bpftrace 0.17 formats each conversion with glibc's snprintf, passing the
// argument as a 64-bit value (int64_t for signed types, uint64_t otherwise,
// after sign/zero extension from the argument's own size) and the format text
// unchanged. On x86-64 (and arm64) glibc then reads only as many bits as the
// conversion's length modifier names:
//
//   %d %i           low 32 bits, signed        %u %o %x %X   low 32 bits, unsigned
//   %hhd / %hd      low 8 / 16 bits, signed    %hhu / %hu    low 8 / 16 bits, unsigned
//   %l %ll %j %z %t %L  all 64 bits
//   %c              low 8 bits as unsigned char
//   %p              all 64 bits; 0 prints "(nil)"
//
// so printf("%d", 5000000000) prints 705032704 and printf("%x", -1) prints
// ffffffff; "%lld" / "%llx" print all 64 bits.
//
// bpftrace writes each snprintf result as a C string, so a %c of 0 ends that
// conversion's output at the NUL (e.g. "%-3c" of 0 prints nothing).
//
// Width and precision count bytes, as in C: string arguments are UTF-8
// encoded (or given as raw bytes) and formatPrintfBytes() returns the exact
// bytes; formatPrintf() decodes them as UTF-8.

import type { ConversionSegment, LiteralSegment, Segment } from "../../compiler/printf.js";
import { escapeBuffer, hexBuffer, hexEscapeBuffer } from "./resolve.js";
import type { BufferValue } from "./values.js";

/** An integer argument: its value, and the signedness and byte size of its type. */
export interface PrintfInt {
  /** The value; only its low `size` bytes are used, extended per `signed`. */
  int: bigint;
  signed: boolean;
  size: 1 | 2 | 4 | 8;
}

/**
 * One argument per conversion: for integer conversions (d i u o x X c p) a
 * PrintfInt or a bigint (taken as the 64-bit value, either sign), for %s a
 * string (UTF-8 encoded) or raw bytes (up to the first NUL), for %r %rx %rh
 * a buf() value (its first `length` bytes are printed).
 */
export type PrintfValue = PrintfInt | bigint | string | Uint8Array | BufferValue;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const literalBytes = new WeakMap<LiteralSegment, Uint8Array>();

const SPACE = 0x20;

/** The raw 64-bit value (as an unsigned bigint) bpftrace passes to snprintf. */
function rawBits(conv: ConversionSegment, value: PrintfValue): bigint {
  if (typeof value === "bigint") return BigInt.asUintN(64, value);
  if (typeof value === "object" && !(value instanceof Uint8Array) && "int" in value) {
    const bits = value.size * 8;
    const extended = value.signed ? BigInt.asIntN(bits, value.int) : BigInt.asUintN(bits, value.int);
    return BigInt.asUintN(64, extended);
  }
  throw new TypeError(`printf: ${conv.text} expects an integer argument`);
}

function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Pads `body` with spaces to the conversion's width. */
function padBytes(conv: ConversionSegment, body: Uint8Array): Uint8Array {
  const width = conv.width ?? 0;
  if (body.length >= width) return body;
  const out = new Uint8Array(width).fill(SPACE);
  out.set(body, conv.flags.minus ? 0 : width - body.length);
  return out;
}

function padString(conv: ConversionSegment, body: string): string {
  const width = conv.width ?? 0;
  if (body.length >= width) return body;
  const fill = " ".repeat(width - body.length);
  return conv.flags.minus ? body + fill : fill + body;
}

/** Integer and non-null pointer conversions, as glibc formats them. */
function formatNumber(conv: ConversionSegment, bits: bigint): string {
  const { flags, precision } = conv;
  let magnitude: bigint;
  let sign = "";
  if (conv.kind === "signed") {
    const size = intBits(conv);
    const v = BigInt.asIntN(size, bits);
    if (v < 0n) {
      sign = "-";
      magnitude = -v;
    } else {
      magnitude = v;
      sign = flags.plus ? "+" : flags.space ? " " : "";
    }
  } else if (conv.kind === "pointer") {
    // glibc formats a non-null pointer like %#x of the full 64 bits, and
    // (unlike %x) honours the '+' and ' ' flags for it.
    magnitude = bits;
    sign = flags.plus ? "+" : flags.space ? " " : "";
  } else {
    magnitude = BigInt.asUintN(intBits(conv), bits);
  }

  const c = conv.conversion;
  const base = c === "o" ? 8 : c === "x" || c === "X" || c === "p" ? 16 : 10;
  let digits = magnitude === 0n && precision === 0 ? "" : magnitude.toString(base);
  if (c === "X") digits = digits.toUpperCase();
  if (precision !== undefined && digits.length < precision) {
    digits = "0".repeat(precision - digits.length) + digits;
  }
  let prefix = "";
  if (c === "o") {
    if (flags.hash && !digits.startsWith("0")) digits = "0" + digits;
  } else if (c === "p") {
    prefix = "0x";
  } else if ((c === "x" || c === "X") && flags.hash && magnitude !== 0n) {
    prefix = c === "X" ? "0X" : "0x";
  }

  const head = sign + prefix;
  const width = conv.width ?? 0;
  const len = head.length + digits.length;
  if (len >= width) return head + digits;
  if (flags.minus) return head + digits + " ".repeat(width - len);
  if (flags.zero && precision === undefined) return head + "0".repeat(width - len) + digits;
  return " ".repeat(width - len) + head + digits;
}

/** How many bits of the 64-bit argument glibc reads for this conversion. */
function intBits(conv: ConversionSegment): 8 | 16 | 32 | 64 {
  switch (conv.lengthModifier) {
    case "hh":
      return 8;
    case "h":
      return 16;
    case "":
      return 32;
    default:
      return 64;
  }
}

function stringBytes(conv: ConversionSegment, value: PrintfValue): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === "string") bytes = encoder.encode(value);
  else if (value instanceof Uint8Array) bytes = value;
  else throw new TypeError(`printf: ${conv.text} expects a string argument`);
  const nul = bytes.indexOf(0);
  if (nul >= 0) bytes = bytes.subarray(0, nul);
  if (conv.precision !== undefined && bytes.length > conv.precision) bytes = bytes.subarray(0, conv.precision);
  return bytes;
}

/** The bytes bpftrace 0.17 prints for one conversion and its argument. */
export function formatConversionBytes(conv: ConversionSegment, value: PrintfValue): Uint8Array {
  switch (conv.kind) {
    case "signed":
    case "unsigned":
      return ascii(formatNumber(conv, rawBits(conv, value)));
    case "pointer": {
      const bits = rawBits(conv, value);
      // A null pointer prints as the string "(nil)", which a precision never cuts.
      return ascii(bits === 0n ? padString(conv, "(nil)") : formatNumber(conv, bits));
    }
    case "char": {
      const byte = Number(rawBits(conv, value) & 0xffn);
      const out = padBytes(conv, Uint8Array.of(byte));
      // bpftrace writes the snprintf result as a C string: stop at a NUL.
      return byte === 0 ? out.subarray(0, out.indexOf(0)) : out;
    }
    case "string":
      return padBytes(conv, stringBytes(conv, value));
    case "buffer": {
      // bpftrace's %r, %rx and %rh take no flags, width or precision.
      if (typeof value !== "object" || value instanceof Uint8Array || !("bytes" in value)) throw new TypeError(`printf: ${conv.text} expects a buf() argument`);
      const bytes = value.bytes.subarray(0, value.length);
      const text = conv.conversion === "rx" ? hexEscapeBuffer(bytes) : conv.conversion === "rh" ? hexBuffer(bytes) : escapeBuffer(bytes);
      return ascii(text);
    }
  }
}

/** The exact bytes bpftrace 0.17 prints for a parsed format and its arguments. */
export function formatPrintfBytes(segments: readonly Segment[], values: readonly PrintfValue[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  let next = 0;
  for (const seg of segments) {
    let bytes: Uint8Array;
    if (seg.type === "literal") {
      let cached = literalBytes.get(seg);
      if (cached === undefined) {
        // Format text is a byte string (one char per byte, see compiler/parser.ts unescapeString).
        cached = Buffer.from(seg.text, "latin1");
        literalBytes.set(seg, cached);
      }
      bytes = cached;
    } else {
      if (next >= values.length) {
        throw new RangeError(`printf: not enough arguments (${values.length}) for format`);
      }
      bytes = formatConversionBytes(seg, values[next++]!);
    }
    parts.push(bytes);
    total += bytes.length;
  }
  if (next !== values.length) {
    throw new RangeError(`printf: too many arguments (${values.length} supplied, ${next} expected)`);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** formatPrintfBytes() decoded as UTF-8 (invalid sequences become U+FFFD). */
export function formatPrintf(segments: readonly Segment[], values: readonly PrintfValue[]): string {
  return decoder.decode(formatPrintfBytes(segments, values));
}
