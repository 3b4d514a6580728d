// Functions that send something to user space: printf, print, time, exit.
import { expectedArgs, parseFormat, type ConversionSegment } from "../printf.js";
import { typeName, VOID, type Type } from "../types.js";
import type { CallContext, FunctionDef } from "./function.js";

/** Whether a value of type t can be formatted by a conversion of this kind. */
function fits(conv: ConversionSegment, t: Type): boolean {
  if (t.kind === "error") return true;
  switch (conv.kind) {
    case "signed":
    case "unsigned":
    case "char":
    case "pointer":
      return t.kind === "int";
    case "string":
      return t.kind === "string" || t.kind === "probe" || t.kind === "usym" || t.kind === "ustack" || t.kind === "kstack" || t.kind === "inet" || t.kind === "resolved";
    case "buffer":
      return t.kind === "buffer";
  }
}

/** Checks a format string argument against the arguments after it. */
export function checkFormat(ctx: CallContext, fmtIndex: number, fn: string): void {
  const fmt = ctx.stringLiteral(fmtIndex, `${fn}'s format`);
  const args = ctx.call.args.slice(fmtIndex + 1);
  const types = args.map((_, i) => ctx.value(fmtIndex + 1 + i));
  if (fmt === undefined) return;
  const fmtArg = ctx.call.args[fmtIndex]!;
  const parsed = parseFormat(fmt);
  if ("error" in parsed) {
    ctx.error(ctx.stringCharSpan(fmtArg, parsed.error.offset, parsed.error.length), parsed.error.message);
    return;
  }
  const convs = expectedArgs(parsed.segments);
  if (convs.length !== args.length) {
    const where = args.length > convs.length ? args[convs.length]!.span : fmtArg.span;
    ctx.error(where, `${fn}: the format has ${convs.length} conversion${convs.length === 1 ? "" : "s"} but ${args.length} argument${args.length === 1 ? " is" : "s are"} given`);
    return;
  }
  convs.forEach((c, i) => {
    const t = types[i]!;
    if (!fits(c, t)) {
      const want = c.kind === "string" ? "a string" : c.kind === "buffer" ? "a buffer from buf()" : "an integer";
      ctx.error(args[i]!.span, `${fn}: '${c.text}' expects ${want}, but the argument is ${typeName(t)}`);
    }
  });
}

export const printf: FunctionDef = {
  name: "printf",
  signature: 'printf(fmt, ...)',
  doc: "Formats its arguments with a C format string (%d %i %u %x %X %o %c %s %p, with flags, width and precision; %r %rx %rh for buf()) and prints them.",
  check(ctx) {
    if (ctx.arity(1, Infinity)) checkFormat(ctx, 0, "printf");
    return VOID;
  },
};

export const print: FunctionDef = {
  name: "print",
  signature: "print(@map [, top [, div]]) | print(value)",
  doc: "Prints a whole map now (optionally only its top entries, values divided by div), or a single value.",
  check(ctx) {
    if (!ctx.arity(1, 3)) return VOID;
    const first = ctx.call.args[0]!;
    if (first.kind === "Map" && first.keys.length === 0) {
      ctx.mapRef(0, "either");
      if (ctx.call.args.length > 1) ctx.constant(1, "print's top count");
      if (ctx.call.args.length > 2) ctx.constant(2, "print's divisor");
      return VOID;
    }
    if (ctx.call.args.length > 1) {
      ctx.error(ctx.call.args[1]!.span, "print: top and divisor arguments are only valid when printing a whole map");
      return VOID;
    }
    const t = ctx.value(0);
    if (t.kind === "void") ctx.error(first.span, "print: the argument has no value");
    return VOID;
  },
};

export const time: FunctionDef = {
  name: "time",
  signature: 'time([fmt])',
  doc: 'Prints the current local time, formatted with strftime (default "%H:%M:%S\\n").',
  check(ctx) {
    if (ctx.arity(0, 1) && ctx.call.args.length === 1) ctx.stringLiteral(0, "time's format");
    return VOID;
  },
};

export const exit: FunctionDef = {
  name: "exit",
  signature: "exit()",
  doc: "Stops tracing: END runs, the maps are printed, and bpfts exits.",
  check(ctx: CallContext) {
    ctx.arity(0, 0);
    return VOID;
  },
};
