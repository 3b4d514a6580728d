// Functions whose value is a number the kernel records and user space turns into text when it
// prints it (runtime/format/resolve.ts): strftime, strerror, cgroup_path.
import { typeName, type Type } from "../types.js";
import type { CallContext, FunctionDef } from "./function.js";

function integerArg(ctx: CallContext, i: number, fn: string, what: string): void {
  const t = ctx.value(i);
  if (t.kind !== "int" && t.kind !== "error") ctx.error(ctx.call.args[i]!.span, `${fn}: expects ${what}, but the argument is ${typeName(t)}`);
}

export const strftime: FunctionDef = {
  name: "strftime",
  signature: 'strftime("fmt", nsecs)',
  doc: 'The local time nsecs nanoseconds after boot (as the nsecs builtin counts), formatted with strftime (fmt a string literal; %f gives the microseconds). Printed as a string; "(?)" when the text is empty or 64 bytes or more.',
  check(ctx): Type {
    if (!ctx.arity(2, 2)) return { kind: "resolved", how: "strftime", arg: "" };
    const fmt = ctx.stringLiteral(0, "strftime's format");
    integerArg(ctx, 1, "strftime", "nanoseconds since boot");
    return { kind: "resolved", how: "strftime", arg: fmt ?? "" };
  },
};

export const strerror: FunctionDef = {
  name: "strerror",
  signature: "strerror(errno)",
  doc: 'The message of an errno value, as the C library\'s strerror gives it ("Operation not permitted" for 1). Printed as a string.',
  check(ctx): Type {
    if (ctx.arity(1, 1)) integerArg(ctx, 0, "strerror", "an errno value");
    return { kind: "resolved", how: "strerror" };
  },
};

export const cgroupPath: FunctionDef = {
  name: "cgroup_path",
  signature: 'cgroup_path(id [, "filter"])',
  doc: 'The path of the cgroup of this id in each cgroup hierarchy that has one ("unified:/user.slice/...,cpu:/..."), resolved when printed; filter (a glob) keeps only the hierarchies whose names match.',
  check(ctx): Type {
    if (!ctx.arity(1, 2)) return { kind: "resolved", how: "cgroup_path" };
    integerArg(ctx, 0, "cgroup_path", "a cgroup id");
    const filter = ctx.call.args.length === 2 ? ctx.stringLiteral(1, "cgroup_path's filter") : undefined;
    return filter === undefined ? { kind: "resolved", how: "cgroup_path" } : { kind: "resolved", how: "cgroup_path", arg: filter };
  },
};
