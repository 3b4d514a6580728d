// What every function record supplies. The checker (compiler/check.ts) hands each call a
// CallContext; the record checks its arguments through it and returns the call's type.
import type { CallExpr, Expr, MapExpr } from "../ast.js";
import type { Span } from "../source.js";
import type { Type } from "../types.js";

export interface CallContext {
  call: CallExpr;
  /** Reports an error at a span. */
  error(span: Span, message: string): void;
  /** Reports a warning at a span. */
  warning(span: Span, message: string): void;
  /** Reports an error unless the call has between min and max arguments; false if reported. */
  arity(min: number, max?: number): boolean;
  /** Type-checks argument i as a value and returns its type. */
  value(i: number): Type;
  /**
   * Argument i as a type: the type it names (`uint8`, `struct Foo`, a C type name), or else the
   * type of the expression (checked, never evaluated).
   */
  typeOf(i: number): Type;
  /**
   * A symbol of the binary the probe is attached to (its first attach point's; uprobe, uretprobe
   * and usdt probes only), or why there is none.
   */
  userSymbol(name: string): { address: number; size: number } | string;
  /** Argument i as a compile-time integer constant, or undefined after reporting. */
  constant(i: number, what: string): bigint | undefined;
  /** Argument i (already checked) as a compile-time integer constant; undefined, unreported, if it is not one. */
  tryConstant(i: number): bigint | undefined;
  /**
   * Argument i as a compile-time string: a string literal, a positional parameter that is not a
   * number, or str() of either; undefined after reporting.
   */
  constantString(i: number, what: string): string | undefined;
  /** Argument i as a string literal, or undefined after reporting. */
  stringLiteral(i: number, what: string): string | undefined;
  /**
   * Argument i as a reference to a map (not a read of its value). `keys`: "none" = the whole map
   * without keys (`clear(@m)`), "element" = one element, with all its keys (`delete(@m[k])`),
   * "either" = as written.
   */
  mapRef(i: number, keys: "none" | "element" | "either"): MapExpr | undefined;
  /** The map this call's value is assigned to, when the call is the whole right side of `@m = f()`. */
  assignedTo: MapExpr | undefined;
  /** --unsafe was given: functions such as system() are allowed. */
  unsafe: boolean;
  /** The source span of a format string's character, for printf-like errors. */
  stringCharSpan(arg: Expr, index: number, length: number): Span;
}

export interface FunctionDef {
  name: string;
  /** How it is called, for documentation: "hist(n)". */
  signature: string;
  doc: string;
  /** An aggregation: only valid as `@map = f(...)`. */
  aggregation?: boolean;
  check(ctx: CallContext): Type;
}
