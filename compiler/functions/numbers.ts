// Functions on integers: bswap.
import { ERROR, int, typeName, type Type } from "../types.js";
import type { FunctionDef } from "./function.js";

export const bswap: FunctionDef = {
  name: "bswap",
  signature: "bswap(n)",
  doc: "n with its bytes in reverse order, as an unsigned integer of n's size (8, 16, 32 or 64 bits).",
  check(ctx): Type {
    if (!ctx.arity(1, 1)) return ERROR;
    const t = ctx.value(0);
    if (t.kind === "error") return ERROR;
    if (t.kind !== "int") {
      ctx.error(ctx.call.args[0]!.span, `bswap: expects an integer, but the argument is ${typeName(t)}`);
      return ERROR;
    }
    return int(t.size, false);
  },
};

/** n's low `size` bytes in reverse order. */
export function byteSwap(n: bigint, size: number): bigint {
  let v = BigInt.asUintN(size * 8, n);
  let out = 0n;
  for (let i = 0; i < size; i++) {
    out = (out << 8n) | (v & 0xffn);
    v >>= 8n;
  }
  return out;
}
