// User-space symbols: usym. (Stacks are in stacks.ts.)
import { typeName } from "../types.js";
import type { FunctionDef } from "./function.js";

export const usym: FunctionDef = {
  name: "usym",
  signature: "usym(addr)",
  doc: "An address in the current process, printed as the symbol that contains it.",
  check(ctx) {
    if (!ctx.arity(1, 1)) return { kind: "usym" };
    const t = ctx.value(0);
    if (t.kind !== "int" && t.kind !== "error") ctx.error(ctx.call.args[0]!.span, `usym: expects an address, but the argument is ${typeName(t)}`);
    return { kind: "usym" };
  },
};
