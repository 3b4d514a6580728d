// User-space symbols and stacks: usym, ustack.
import { typeName, type Type } from "../types.js";
import type { FunctionDef } from "./function.js";

export const MAX_STACK_FRAMES = 127;

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

export const ustack: FunctionDef = {
  name: "ustack",
  signature: "ustack([mode,] [frames])",
  doc: "The user-space stack, printed one symbol per line (mode bpftrace or perf; at most 127 frames).",
  check(ctx): Type {
    if (!ctx.arity(0, 2)) return { kind: "ustack", limit: MAX_STACK_FRAMES };
    let limit = MAX_STACK_FRAMES;
    const args = ctx.call.args;
    let next = 0;
    const first = args[0];
    if (first?.kind === "Ident") {
      if (first.name !== "bpftrace" && first.name !== "perf") ctx.error(first.span, `ustack: unknown mode '${first.name}': expected bpftrace or perf`);
      next = 1;
    } else if (args.length === 2) {
      ctx.error(args[0]!.span, "ustack: the first of two arguments is the mode, bpftrace or perf");
      return { kind: "ustack", limit };
    }
    if (next < args.length) {
      const n = ctx.constant(next, "ustack's frame count");
      if (n !== undefined) {
        if (n < 1n || n > BigInt(MAX_STACK_FRAMES)) ctx.error(args[next]!.span, `ustack: the frame count must be between 1 and ${MAX_STACK_FRAMES}`);
        else limit = Number(n);
      }
    }
    return { kind: "ustack", limit };
  },
};
