// Every function of the language, by name. One record per function; see function.ts.
import { avg, count, hist, lhist, max, min, stats, sum } from "./aggregations.js";
import type { FunctionDef } from "./function.js";
import { clear, del, zero } from "./maps.js";
import { exit, print, printf, time } from "./output.js";
import { buf } from "./buf.js";
import { kaddr } from "./kernel.js";
import { ntop, pton } from "./net.js";
import { bswap } from "./numbers.js";
import { cgroupPath, strerror, strftime } from "./resolved.js";
import { str, strcontains, strncmp } from "./strings.js";
import { kptr, macaddr, offsetofFn, sizeofFn, uaddr, uptr } from "./structs.js";
import { kstack, ustack } from "./stacks.js";
import { usym } from "./symbols.js";
import { cat, join, system } from "./userspace.js";

export type { CallContext, FunctionDef } from "./function.js";
export { UNSUPPORTED_FUNCTIONS } from "./unsupported.js";

export const FUNCTIONS = new Map<string, FunctionDef>(
  [printf, print, time, exit, cat, system, join, str, strncmp, strcontains, strerror, strftime, buf, bswap, ntop, pton, kaddr, cgroupPath, sizeofFn, offsetofFn, macaddr, uaddr, uptr, kptr, usym, ustack, kstack, count, sum, avg, min, max, stats, hist, lhist, del, clear, zero].map((f) => [f.name, f]),
);
