// Kernel symbols: kaddr.
import { kernelSymbol } from "../kallsyms.js";
import { UINT64, type Type } from "../types.js";
import type { FunctionDef } from "./function.js";

export const kaddr: FunctionDef = {
  name: "kaddr",
  signature: 'kaddr("symbol")',
  doc: "The address of a kernel symbol, resolved when the script is compiled (from /proc/kallsyms, which shows addresses to root only). The name is a string literal, or str($N) of a positional parameter.",
  check(ctx): Type {
    if (!ctx.arity(1, 1)) return UINT64;
    const name = ctx.constantString(0, "kaddr's symbol");
    if (name === undefined) return UINT64;
    const r = kernelSymbol(name);
    if ("error" in r) ctx.error(ctx.call.span, r.error);
    return UINT64;
  },
};
