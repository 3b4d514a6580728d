// Stacks: ustack([mode,] [frames]) and kstack([mode,] [frames]), as bpftrace 0.17 takes them. The
// mode (bpftrace or perf) and the frame limit are part of the type; the value is a stack id in a
// stack-trace map with that many frames (compiler/codegen/maps.ts, stackMapSpec).
import type { StackMode, Type } from "../types.js";
import type { FunctionDef } from "./function.js";

/** The most frames a stack keeps (the kernel's default perf_event_max_stack, bpftrace's default). */
export const MAX_STACK_FRAMES = 127;

function stackFunction(kind: "ustack" | "kstack", what: string): FunctionDef {
  const type = (limit: number, mode: StackMode): Type => (mode === "perf" ? { kind, limit, mode } : { kind, limit });
  return {
    name: kind,
    signature: `${kind}([mode,] [frames])`,
    doc: `The ${what} stack, printed one symbol per line (mode bpftrace or perf; at most ${MAX_STACK_FRAMES} frames).`,
    check(ctx): Type {
      if (!ctx.arity(0, 2)) return type(MAX_STACK_FRAMES, "bpftrace");
      let limit = MAX_STACK_FRAMES;
      let mode: StackMode = "bpftrace";
      const args = ctx.call.args;
      let next = 0;
      const first = args[0];
      if (first?.kind === "Ident") {
        if (first.name === "bpftrace" || first.name === "perf") mode = first.name;
        else ctx.error(first.span, `${kind}: unknown mode '${first.name}': expected bpftrace or perf`);
        next = 1;
      } else if (args.length === 2) {
        ctx.error(args[0]!.span, `${kind}: the first of two arguments is the mode, bpftrace or perf`);
        return type(limit, mode);
      }
      if (next < args.length) {
        const n = ctx.constant(next, `${kind}'s frame count`);
        if (n !== undefined) {
          if (n < 1n || n > BigInt(MAX_STACK_FRAMES)) ctx.error(args[next]!.span, `${kind}: the frame count must be between 1 and ${MAX_STACK_FRAMES}`);
          else limit = Number(n);
        }
      }
      return type(limit, mode);
    },
  };
}

export const ustack = stackFunction("ustack", "user-space");
export const kstack = stackFunction("kstack", "kernel");
