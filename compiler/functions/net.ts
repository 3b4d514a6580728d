// Network addresses: ntop() makes the text of an IPv4 or IPv6 address, pton() the bytes of one.
import { ERROR, int, sizeOf, typeName, type Type } from "../types.js";
import type { FunctionDef } from "./function.js";

/** The address families ntop() knows (Linux's AF_INET and AF_INET6). */
export const AF_INET = 2n;
export const AF_INET6 = 10n;

const INET: Type = { kind: "inet" };

/** The address bytes ntop() takes from a value of type t (4 or 16), or undefined if it takes none. */
export function inetBytes(t: Type): number | undefined {
  if (t.kind === "int") return Math.min(sizeOf(t), 16);
  if (t.kind === "array" || t.kind === "string") return sizeOf(t) === 4 || sizeOf(t) === 16 ? sizeOf(t) : undefined;
  return undefined;
}

/**
 * pton(): the bytes of an IPv4 address (dotted quad) or an IPv6 address (hex groups, one "::"),
 * or undefined when the text is not one. As bpftrace 0.17, a text with a '.' is taken as IPv4
 * (so "::ffff:1.2.3.4" is not accepted).
 */
export function parseInet(text: string): Uint8Array | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    if (parts.some((p, i) => p > 255 || (v4[i + 1]!.length > 1 && v4[i + 1]!.startsWith("0")))) return undefined;
    return Uint8Array.from(parts);
  }
  if (!text.includes(":")) return undefined;
  // IPv6, as inet_pton accepts it: hex groups, one "::", and no IPv4 tail (as bpftrace 0.17).
  if (!/^[0-9a-fA-F:]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const words = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

export const ntop: FunctionDef = {
  name: "ntop",
  signature: "ntop([af,] addr)",
  doc: "The text of an IPv4 or IPv6 address (af 2, AF_INET, or 10, AF_INET6; by default IPv6 for 16 bytes, else IPv4): addr is an integer (its bytes in memory order) or an array of 4 or 16 bytes.",
  check(ctx): Type {
    if (!ctx.arity(1, 2)) return INET;
    const i = ctx.call.args.length - 1;
    if (i === 1) {
      const af = ctx.value(0);
      if (af.kind !== "int" && af.kind !== "error") ctx.error(ctx.call.args[0]!.span, `ntop: the address family must be an integer, but it is ${typeName(af)}`);
    }
    const t = ctx.value(i);
    if (t.kind !== "error" && inetBytes(t) === undefined) {
      const why = t.kind === "array" || t.kind === "string" ? `${typeName(t)} has ${sizeOf(t)} bytes, not 4 or 16` : `the argument is ${typeName(t)}`;
      ctx.error(ctx.call.args[i]!.span, `ntop: expects an integer or an array of 4 or 16 bytes, but ${why}`);
    }
    return INET;
  },
};

export const pton: FunctionDef = {
  name: "pton",
  signature: 'pton("address")',
  doc: "The bytes of an IPv4 address (an array of 4 uint8) or an IPv6 address (16 uint8), in network order, from a constant string.",
  check(ctx): Type {
    if (!ctx.arity(1, 1)) return ERROR;
    const text = ctx.constantString(0, "pton's address");
    if (text === undefined) return ERROR;
    const bytes = parseInet(text);
    if (bytes === undefined) {
      ctx.error(ctx.call.args[0]!.span, `pton: '${text}' is not an IPv4 or IPv6 address`);
      return ERROR;
    }
    return { kind: "array", elem: int(1, false), count: bytes.length };
  },
};
