// Every function of the language, by name. One record per function; see function.ts.
import { avg, count, hist, lhist, max, min, stats, sum } from "./aggregations.js";
import type { FunctionDef } from "./function.js";
import { clear, del, zero } from "./maps.js";
import { exit, print, printf, time } from "./output.js";
import { str, strncmp } from "./strings.js";
import { ustack, usym } from "./symbols.js";

export type { CallContext, FunctionDef } from "./function.js";
export { UNSUPPORTED_FUNCTIONS } from "./unsupported.js";

export const FUNCTIONS = new Map<string, FunctionDef>(
  [printf, print, time, exit, str, strncmp, usym, ustack, count, sum, avg, min, max, stats, hist, lhist, del, clear, zero].map((f) => [f.name, f]),
);
