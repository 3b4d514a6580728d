// String functions: str, strncmp, strcontains.
import { DEFAULT_STRING_SIZE, INT64, typeName, type Type } from "../types.js";
import type { FunctionDef } from "./function.js";

/** The largest string str() may read. */
export const MAX_STRING_SIZE = 1024;

export const str: FunctionDef = {
  name: "str",
  signature: "str(p [, n])",
  doc: "Reads a NUL-terminated string from address p (or takes a string as is), at most n-1 bytes (n is a constant, 64 by default).",
  check(ctx) {
    if (!ctx.arity(1, 2)) return { kind: "error" };
    const t = ctx.value(0);
    let size = DEFAULT_STRING_SIZE;
    if (ctx.call.args.length === 2) {
      const n = ctx.constant(1, "str's length");
      if (n !== undefined) {
        if (n < 1n || n > BigInt(MAX_STRING_SIZE)) ctx.error(ctx.call.args[1]!.span, `str: the length must be between 1 and ${MAX_STRING_SIZE}`);
        else size = Number(n);
      }
    }
    if (t.kind === "string") return { kind: "string", size: ctx.call.args.length === 2 ? Math.min(size, t.size) : t.size };
    if (t.kind !== "int" && t.kind !== "error") ctx.error(ctx.call.args[0]!.span, `str: expects an address or a string, but the argument is ${typeName(t)}`);
    return { kind: "string", size };
  },
};

export const strncmp: FunctionDef = {
  name: "strncmp",
  signature: "strncmp(a, b, n)",
  doc: "Compares at most n bytes of two strings: 0 when equal, 1 otherwise (n is a constant).",
  check(ctx) {
    if (!ctx.arity(3, 3)) return INT64;
    for (const i of [0, 1]) {
      const t: Type = ctx.value(i);
      if (t.kind !== "string" && t.kind !== "error") ctx.error(ctx.call.args[i]!.span, `strncmp: expects a string, but the argument is ${typeName(t)}`);
    }
    const n = ctx.constant(2, "strncmp's length");
    if (n !== undefined && n < 0n) ctx.error(ctx.call.args[2]!.span, "strncmp: the length must not be negative");
    return INT64;
  },
};

export const strcontains: FunctionDef = {
  name: "strcontains",
  signature: "strcontains(haystack, needle)",
  doc: "1 if the string needle occurs in the string haystack (an empty needle always does), else 0.",
  check(ctx) {
    if (!ctx.arity(2, 2)) return INT64;
    for (const i of [0, 1]) {
      const t: Type = ctx.value(i);
      if (t.kind !== "string" && t.kind !== "error") ctx.error(ctx.call.args[i]!.span, `strcontains: expects a string, but the argument is ${typeName(t)}`);
    }
    return INT64;
  },
};
