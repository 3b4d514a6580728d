// Aggregation functions: count, sum, avg, min, max, stats, hist, lhist. Each is only valid as the
// value assigned to a map (`@m[k] = hist(x)`); the map then holds the aggregate.
import { typeName, type AggregationKind, type Type } from "../types.js";
import type { CallContext, FunctionDef } from "./function.js";

/** lhist's bucket limit (bpftrace's). */
export const MAX_LHIST_BUCKETS = 1000;

function integerArg(ctx: CallContext, i: number, fn: string): boolean {
  const t = ctx.value(i);
  if (t.kind === "int") return t.signed;
  if (t.kind !== "error") ctx.error(ctx.call.args[i]!.span, `${fn}: expects an integer, but the argument is ${typeName(t)}`);
  return true;
}

function aggregation(agg: AggregationKind, signature: string, doc: string, args: number): FunctionDef {
  return {
    name: agg,
    signature,
    doc,
    aggregation: true,
    check(ctx): Type {
      if (!ctx.arity(args, args)) return { kind: "agg", agg, signed: true };
      const signed = args > 0 ? integerArg(ctx, 0, agg) : false;
      return { kind: "agg", agg, signed };
    },
  };
}

export const count = aggregation("count", "count()", "Counts the times it runs.", 0);
export const sum = aggregation("sum", "sum(n)", "Sums its argument.", 1);
export const avg = aggregation("avg", "avg(n)", "Averages its argument (integer division of sum by count).", 1);
export const min = aggregation("min", "min(n)", "The smallest value seen.", 1);
export const max = aggregation("max", "max(n)", "The largest value seen.", 1);
export const stats = aggregation("stats", "stats(n)", "Count, average and total of its argument.", 1);
export const hist = aggregation("hist", "hist(n)", "A power-of-two histogram of its argument.", 1);

export const lhist: FunctionDef = {
  name: "lhist",
  signature: "lhist(n, min, max, step)",
  doc: "A linear histogram of n from min to max in buckets of step (all three constants).",
  aggregation: true,
  check(ctx): Type {
    if (!ctx.arity(4, 4)) return { kind: "agg", agg: "lhist", signed: true };
    const signed = integerArg(ctx, 0, "lhist");
    const min = ctx.constant(1, "lhist's min");
    const max = ctx.constant(2, "lhist's max");
    const step = ctx.constant(3, "lhist's step");
    if (min === undefined || max === undefined || step === undefined) return { kind: "agg", agg: "lhist", signed };
    const args = ctx.call.args;
    if (min < 0n) ctx.error(args[1]!.span, "lhist: min must not be negative");
    else if (max <= min) ctx.error(args[2]!.span, "lhist: max must be greater than min");
    else if (step <= 0n) ctx.error(args[3]!.span, "lhist: step must be positive");
    else if ((max - min) / step > BigInt(MAX_LHIST_BUCKETS)) ctx.error(args[3]!.span, `lhist: too many buckets ((max - min) / step must be at most ${MAX_LHIST_BUCKETS})`);
    return { kind: "agg", agg: "lhist", signed, lhist: { min, max, step } };
  },
};
