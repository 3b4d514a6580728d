// Functions on whole maps or their elements: delete, clear, zero.
import { VOID } from "../types.js";
import type { FunctionDef } from "./function.js";

export const del: FunctionDef = {
  name: "delete",
  signature: "delete(@map[key]) | delete(@map)",
  doc: "Removes one element of a map (or the value of a map without keys).",
  check(ctx) {
    if (ctx.arity(1, 1)) ctx.mapRef(0, "element");
    return VOID;
  },
};

export const clear: FunctionDef = {
  name: "clear",
  signature: "clear(@map)",
  doc: "Removes every element of a map.",
  check(ctx) {
    if (ctx.arity(1, 1)) ctx.mapRef(0, "none");
    return VOID;
  },
};

export const zero: FunctionDef = {
  name: "zero",
  signature: "zero(@map)",
  doc: "Sets every value of a map to zero, keeping its keys.",
  check(ctx) {
    if (ctx.arity(1, 1)) ctx.mapRef(0, "none");
    return VOID;
  },
};
