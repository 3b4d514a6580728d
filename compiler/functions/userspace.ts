// Functions whose work is done in user space when their record arrives: cat, system, join.
import { typeName, VOID } from "../types.js";
import type { FunctionDef } from "./function.js";
import { checkFormat } from "./output.js";

/** How many strings join() reads from the array, and the size of each (with its NUL): bpftrace's. */
export const JOIN_MAX_ARGS = 16;
export const JOIN_ARG_SIZE = 1024;

export const cat: FunctionDef = {
  name: "cat",
  signature: "cat(fmt, ...)",
  doc: "Prints the contents of the file whose name the format gives (at most $BPFTRACE_CAT_BYTES_MAX bytes, 10240 by default).",
  check(ctx) {
    if (ctx.arity(1, Infinity)) checkFormat(ctx, 0, "cat");
    return VOID;
  },
};

export const system: FunctionDef = {
  name: "system",
  signature: "system(fmt, ...)",
  doc: "Runs the command the format gives with /bin/sh and prints its output (needs --unsafe).",
  check(ctx) {
    if (!ctx.unsafe) ctx.error(ctx.call.span, "system() is an unsafe function being used in safe mode");
    if (ctx.arity(1, Infinity)) checkFormat(ctx, 0, "system");
    return VOID;
  },
};

export const join: FunctionDef = {
  name: "join",
  signature: 'join(argv [, delim])',
  doc: `Prints the strings of a NULL-terminated array of string pointers (such as execve's argv), separated by delim (" " by default): at most ${JOIN_MAX_ARGS} strings of ${JOIN_ARG_SIZE - 1} bytes.`,
  check(ctx) {
    if (!ctx.arity(1, 2)) return VOID;
    const t = ctx.value(0);
    if (t.kind !== "int" && t.kind !== "error") ctx.error(ctx.call.args[0]!.span, `join: expects the address of an array of strings, but the argument is ${typeName(t)}`);
    if (ctx.call.args.length === 2) ctx.stringLiteral(1, "join's delimiter");
    return VOID;
  },
};
