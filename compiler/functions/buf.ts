// buf(): bytes of memory as a value, printed with printf's %r (%rx, %rh) or as a map key or value.
import { DEFAULT_STRING_SIZE, ERROR, sizeOf, typeName, type Type } from "../types.js";
import type { FunctionDef } from "./function.js";

/** The most bytes a buf() holds: bpftrace's default BPFTRACE_STRLEN, to which it shortens longer ones. */
export const MAX_BUFFER_SIZE = DEFAULT_STRING_SIZE;

export const buf: FunctionDef = {
  name: "buf",
  signature: "buf(data [, length])",
  doc: `length bytes of data: read from an address (a pointer or an integer), or taken from a string or an array (whose whole size is the default length). At most ${MAX_BUFFER_SIZE} bytes; a length that is not a constant is taken at run time, up to ${MAX_BUFFER_SIZE}.`,
  check(ctx): Type {
    if (!ctx.arity(1, 2)) return ERROR;
    const args = ctx.call.args;
    const t = ctx.value(0);
    if (t.kind === "error") {
      if (args.length === 2) ctx.value(1);
      return ERROR;
    }
    const memory = t.kind === "string" || t.kind === "array" || t.kind === "struct";
    if (t.kind !== "int" && !memory) {
      ctx.error(args[0]!.span, `buf: expects an address, a string or an array, but the argument is ${typeName(t)}`);
      if (args.length === 2) ctx.value(1);
      return ERROR;
    }
    let size: number;
    if (args.length === 1) {
      // Without a length: the whole of an array (C char arrays are strings here, so a struct
      // member or an array element of string type counts as one; a string value does not).
      const cArray = t.kind === "array" || t.kind === "struct" || (t.kind === "string" && (args[0]!.kind === "Field" || args[0]!.kind === "Index"));
      if (!cArray) {
        ctx.error(ctx.call.span, `buf: needs a length for ${typeName(t)}: buf(data, length)`);
        return ERROR;
      }
      size = sizeOf(t);
    } else {
      const lt = ctx.value(1);
      if (lt.kind !== "int") {
        if (lt.kind !== "error") ctx.error(args[1]!.span, `buf: the length must be an integer, but it is ${typeName(lt)}`);
        return ERROR;
      }
      const n = ctx.tryConstant(1);
      if (n === undefined) size = MAX_BUFFER_SIZE;
      else if (n < 0n) {
        ctx.error(args[1]!.span, "buf: the length must not be negative");
        return ERROR;
      } else size = Number(n > BigInt(MAX_BUFFER_SIZE) ? BigInt(MAX_BUFFER_SIZE) + 1n : n);
    }
    if (size > MAX_BUFFER_SIZE) {
      ctx.warning(ctx.call.span, `buf() length is too long and will be shortened to ${MAX_BUFFER_SIZE} bytes`);
      size = MAX_BUFFER_SIZE;
    }
    return { kind: "buffer", size };
  },
};
