// The texts a running script prints besides maps (runtime/format/text.ts): the attach banner,
// printf and print() records, time(), and loss reports — byte for byte bpftrace 0.17's.
import { existsSync, readFileSync } from "node:fs";
import type { EventSpec, RecordField } from "../compiler/program.js";
import type { Type } from "../compiler/types.js";
import { formatPrintf, type PrintfValue } from "./format/printf.js";
import { formatValue, type ValueFormatOptions } from "./format/text.js";
import { formatExitMaps, formatMap, type MapSnapshot } from "./format/text.js";
import { percentilesText } from "./format/percentiles.js";
import type { BufferValue, UsymValue, Value } from "./format/values.js";

/**
 * Where a running script's output goes. The session calls these in the order things happen;
 * implementations: textSink (bpftrace's text), jsonSink (format/json.ts: bpftrace's -f json) and
 * the library's event stream (trace.ts).
 */
export interface OutputSink {
  /** Every probe is about to be attached (not called with -q). */
  attached(probes: number): void;
  /** A printf record, formatted. */
  printf(text: string): void;
  /** print(value). */
  value(type: Type, value: Value): void;
  /** print(@map, top, div): the whole map as read now (top and div not applied). */
  map(map: MapSnapshot, options: { top: number; div: number }): void;
  /** time(), formatted (a time() that cannot be formatted goes to stderr instead). */
  time(text: string): void;
  /** cat(): the file's contents (a file that cannot be opened goes to stderr instead). */
  cat(text: string): void;
  /** system(): what the command wrote to its standard output. */
  syscall(text: string): void;
  /** join(): the strings, joined by the delimiter (no newline). */
  join(text: string): void;
  /** -k/-kk: a helper call failed. */
  helperError(error: HelperError): void;
  /** Records the kernel could not hand over (reported once, at exit, when there are any). */
  lostEvents(count: bigint): void;
  /** Map updates the kernel refused (reported once, at exit, when there are any). */
  mapUpdateFailures(count: bigint): void;
  /** The run ended normally: every user map, for the exit report. */
  exit(maps: MapSnapshot[]): void;
}

export interface SinkOptions extends ValueFormatOptions {
  /** At exit, after the maps: p50, p90, p99 and p99.9 of every hist() and lhist() entry. */
  percentiles?: boolean;
}

/** bpftrace 0.17's text output, byte for byte (plus --percentiles). */
export function textSink(stdout: (s: string) => void, stderr: (s: string) => void, options: SinkOptions = {}): OutputSink {
  const format: ValueFormatOptions = options.symbolize ? { symbolize: options.symbolize } : {};
  return {
    attached: (probes) => stdout(attachingLine(probes)),
    printf: (text) => stdout(text),
    value: (type, value) => stdout(printValueText(type, value, format)),
    map: (m, o) => stdout(formatMap(m.name, m.keyTypes, m.valueType, m.entries, { ...o, ...format })),
    time: (text) => stdout(text),
    cat: (text) => stdout(text),
    syscall: (text) => stdout(text),
    join: (text) => stdout(text + "\n"),
    helperError: (e) => stdout(helperErrorText(e)),
    lostEvents: (count) => stdout(lostEventsLine(count)),
    mapUpdateFailures: (count) => stderr(mapUpdateFailuresLine(count)),
    exit: (maps) => {
      const text = formatExitMaps(maps, format);
      stdout(text);
      if (options.percentiles) {
        const report = percentilesText(maps, format);
        // After a blank line, which a hist or stats map already ends with.
        if (report !== "") stdout((text.endsWith("\n\n") ? "" : "\n") + report);
      }
    },
  };
}

/** bpftrace's banner, printed once every probe is about to be attached. */
export function attachingLine(probes: number): string {
  return `Attaching ${probes} ${probes === 1 ? "probe" : "probes"}...\n`;
}

/**
 * The line bpftrace prints (to stderr) once every probe is attached, when the environment has
 * __BPFTRACE_NOTIFY_PROBES_ATTACHED: test harnesses wait for it before triggering probes.
 */
export const NOTIFY_ATTACHED_LINE = "__BPFTRACE_NOTIFY_PROBES_ATTACHED\n";

/** bpftrace 0.17 reports records the kernel could not hand over like this (on stdout). */
export function lostEventsLine(lost: bigint): string {
  return `Lost ${lost} events\n`;
}

/** Map updates the kernel refused (a full map, usually): bpftrace 0.17 has no such report. */
export function mapUpdateFailuresLine(failures: bigint): string {
  return `WARNING: ${failures} map ${failures === 1n ? "update" : "updates"} failed (a map may be full)\n`;
}

/** The argument printf receives for one record field. */
function printfValue(field: RecordField, value: Value, options: ValueFormatOptions): PrintfValue {
  const t = field.type;
  switch (t.kind) {
    case "int":
      return { int: value as bigint, signed: t.signed, size: t.size };
    case "string":
      return value as string | Uint8Array;
    case "buffer":
      return value as BufferValue;
    default:
      // usym, probe, tuples: as print() shows them (an integer conversion of a usym gets its
      // address: see printfText).
      return formatValue(t, value, options);
  }
}

/** The text of a printf record (and the file name of cat()'s, the command of system()'s). */
export function printfText(
  event: Extract<EventSpec, { kind: "printf" | "cat" | "system" }>,
  values: readonly Value[],
  options: ValueFormatOptions = {},
): string {
  let next = 0;
  const args: PrintfValue[] = [];
  for (const seg of event.segments) {
    if (seg.type !== "conversion") continue;
    const i = next++;
    const field = event.args[i];
    const value = values[i];
    if (field === undefined || value === undefined) break;
    if (field.type.kind === "usym" && seg.kind !== "string") {
      args.push((value as UsymValue).addr);
    } else {
      args.push(printfValue(field, value, options));
    }
  }
  return formatPrintf(event.segments, args);
}

/** The text of print(value): the value as bpftrace shows it, then a newline. */
export function printValueText(type: Type, value: Value, options: ValueFormatOptions = {}): string {
  return formatValue(type, value, options) + "\n";
}

// ---- join() and helper errors ------------------------------------------------------------------

/** join(): the strings (raw bytes, decoded as UTF-8) separated by the delimiter. */
export function joinText(delim: string, values: readonly Value[]): string {
  return values.map((v) => (typeof v === "string" ? v : Buffer.from(v as Uint8Array).toString("utf8"))).join(delim);
}

/** A helper call that failed (-k, -kk), where it was called and what it returned. */
export interface HelperError {
  /** The helper as bpftrace names it ("map_delete_elem", "probe_read_str"). */
  helper: string;
  retcode: bigint;
  /** The script's name ("stdin" for -e). */
  file: string;
  /** 1-based line and column of the call, the call's length on that line, and the line's text. */
  line: number;
  column: number;
  length: number;
  source: string;
}

/** strerror() texts (glibc's) of the errnos BPF helpers return. */
const STRERROR: Record<number, string> = {
  1: "Operation not permitted",
  2: "No such file or directory",
  3: "No such process",
  4: "Interrupted system call",
  7: "Argument list too long",
  9: "Bad file descriptor",
  11: "Resource temporarily unavailable",
  12: "Cannot allocate memory",
  13: "Permission denied",
  14: "Bad address",
  16: "Device or resource busy",
  17: "File exists",
  22: "Invalid argument",
  28: "No space left on device",
  34: "Numerical result out of range",
  38: "Function not implemented",
  95: "Operation not supported",
};

export function strerror(errno: number): string {
  return STRERROR[errno] ?? `Unknown error ${errno}`;
}

/**
 * bpftrace 0.17's warning for a failed helper call (on stdout, like bpftrace's): the position as
 * FILE:LINE:COL-ENDCOL, the message, the source line (tabs as 4 spaces) and `~` under the call.
 */
export function helperErrorText(e: HelperError): string {
  const r = e.retcode;
  const what = r < 0n ? `${strerror(Number(-r))} (${r})` : `${r}`;
  const before = [...e.source.slice(0, e.column - 1)].map((c) => (c === "\t" ? "    " : " ")).join("");
  const line = e.source.replace(/\t/g, "    ");
  return `${e.file}:${e.line}:${e.column}-${e.column + e.length}: WARNING: Failed to ${e.helper}: ${what}\n${line}\n${before}${"~".repeat(e.length)}\n`;
}

// ---- time() -------------------------------------------------------------------------------------

/** bpftrace formats time() into a 64-byte buffer: longer results (and empty ones) fail. */
export const TIME_BUFFER = 64;

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

function dayOfYear(d: Date): number {
  const start = new Date(d.getFullYear(), 0, 1);
  // Local midnight to local midnight: round away DST shifts.
  return Math.round((new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime() - start.getTime()) / 86_400_000);
}

/** ISO 8601 week-based year and week number (%G, %V). */
function isoWeek(d: Date): { year: number; week: number } {
  const wday = (d.getDay() + 6) % 7; // Monday = 0
  const thursday = new Date(d.getFullYear(), d.getMonth(), d.getDate() - wday + 3);
  const year = thursday.getFullYear();
  const week = Math.floor(dayOfYear(thursday) / 7) + 1;
  return { year, week };
}

function tzOffset(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? "-" : "+";
  const a = Math.abs(off);
  return `${sign}${String(Math.floor(a / 60)).padStart(2, "0")}${String(a % 60).padStart(2, "0")}`;
}

/** A POSIX TZ rule's names and standard offset ("CET-1CEST,M3.5.0,M10.5.0/3"). */
interface TzRule {
  std: string;
  /** Minutes east of UTC in standard time. */
  stdOffset: number;
  dst?: string;
}

/** Parses the names and the standard offset of a POSIX TZ rule. */
export function parsePosixTz(rule: string): TzRule | undefined {
  const m = /^(<[^>]*>|[A-Za-z]{3,})([+-]?\d{1,2})(?::(\d{1,2}))?(?::\d{1,2})?(<[^>]*>|[A-Za-z]{3,})?/.exec(rule);
  if (m === null) return undefined;
  const name = (s: string) => (s.startsWith("<") ? s.slice(1, -1) : s);
  const hours = Number(m[2]);
  const minutes = Number(m[3] ?? 0) * (hours < 0 || m[2]!.startsWith("-") ? -1 : 1);
  // POSIX offsets count hours west of UTC.
  const stdOffset = -(hours * 60 + minutes);
  return { std: name(m[1]!), stdOffset, ...(m[4] !== undefined ? { dst: name(m[4]) } : {}) };
}

const tzRules = new Map<string, TzRule | undefined>();

/** The local zone's rule: $TZ (a rule or a zone name), else /etc/localtime (its TZif footer). */
function localTzRule(): TzRule | undefined {
  const tz = process.env["TZ"];
  const key = tz ?? "";
  if (tzRules.has(key)) return tzRules.get(key);
  let rule: TzRule | undefined;
  try {
    let file: string | undefined = "/etc/localtime";
    if (tz === "") {
      file = undefined;
      rule = { std: "UTC", stdOffset: 0 }; // glibc: an empty TZ is UTC
    } else if (tz !== undefined) {
      const name = tz.startsWith(":") ? tz.slice(1) : tz;
      file = name.startsWith("/") ? name : /^[A-Za-z0-9_+\-/]+$/.test(name) && !name.includes("..") ? `/usr/share/zoneinfo/${name}` : undefined;
      if (file === undefined || !existsSync(file)) {
        file = undefined;
        rule = parsePosixTz(name);
      }
    }
    if (file !== undefined) {
      // TZif version 2+ files end with "\n<POSIX TZ rule>\n".
      const text = readFileSync(file).toString("latin1");
      const end = text.endsWith("\n") ? text.length - 1 : text.length;
      const start = text.lastIndexOf("\n", end - 1);
      if (start >= 0) rule = parsePosixTz(text.slice(start + 1, end));
    }
  } catch {
    rule = undefined;
  }
  tzRules.set(key, rule);
  return rule;
}

/** The zone abbreviation glibc's %Z prints ("UTC", "CET", "CEST", "+04"), from tzdata. */
function tzName(d: Date): string {
  const rule = localTzRule();
  if (rule !== undefined) {
    if (rule.dst === undefined || -d.getTimezoneOffset() === rule.stdOffset) return rule.std;
    return rule.dst;
  }
  try {
    const parts = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" }).formatToParts(d);
    return parts.find((p) => p.type === "timeZoneName")?.value ?? "";
  } catch {
    return "";
  }
}

type Conv = { n: number; width: number; pad: "0" | " " } | { s: string };

function conversion(c: string, d: Date): Conv | string | undefined {
  const h = d.getHours();
  const h12 = h % 12 === 0 ? 12 : h % 12;
  switch (c) {
    case "a":
      return { s: DAYS[d.getDay()]!.slice(0, 3) };
    case "A":
      return { s: DAYS[d.getDay()]! };
    case "b":
    case "h":
      return { s: MONTHS[d.getMonth()]!.slice(0, 3) };
    case "B":
      return { s: MONTHS[d.getMonth()]! };
    case "c":
      return "%a %b %e %H:%M:%S %Y";
    case "C":
      return { n: Math.floor(d.getFullYear() / 100), width: 2, pad: "0" };
    case "d":
      return { n: d.getDate(), width: 2, pad: "0" };
    case "D":
    case "x":
      return "%m/%d/%y";
    case "e":
      return { n: d.getDate(), width: 2, pad: " " };
    case "F":
      return "%Y-%m-%d";
    case "g":
      return { n: isoWeek(d).year % 100, width: 2, pad: "0" };
    case "G":
      return { n: isoWeek(d).year, width: 1, pad: "0" };
    case "H":
      return { n: h, width: 2, pad: "0" };
    case "I":
      return { n: h12, width: 2, pad: "0" };
    case "j":
      return { n: dayOfYear(d) + 1, width: 3, pad: "0" };
    case "k":
      return { n: h, width: 2, pad: " " };
    case "l":
      return { n: h12, width: 2, pad: " " };
    case "m":
      return { n: d.getMonth() + 1, width: 2, pad: "0" };
    case "M":
      return { n: d.getMinutes(), width: 2, pad: "0" };
    case "n":
      return { s: "\n" };
    case "p":
      return { s: h < 12 ? "AM" : "PM" };
    case "P":
      return { s: h < 12 ? "am" : "pm" };
    case "r":
      return "%I:%M:%S %p";
    case "R":
      return "%H:%M";
    case "s":
      return { n: Math.floor(d.getTime() / 1000), width: 1, pad: "0" };
    case "S":
      return { n: d.getSeconds(), width: 2, pad: "0" };
    case "t":
      return { s: "\t" };
    case "T":
    case "X":
      return "%H:%M:%S";
    case "u":
      return { n: d.getDay() === 0 ? 7 : d.getDay(), width: 1, pad: "0" };
    case "U":
      return { n: Math.floor((dayOfYear(d) + 7 - d.getDay()) / 7), width: 2, pad: "0" };
    case "V":
      return { n: isoWeek(d).week, width: 2, pad: "0" };
    case "w":
      return { n: d.getDay(), width: 1, pad: "0" };
    case "W":
      return { n: Math.floor((dayOfYear(d) + 7 - ((d.getDay() + 6) % 7)) / 7), width: 2, pad: "0" };
    case "y":
      return { n: d.getFullYear() % 100, width: 2, pad: "0" };
    case "Y":
      return { n: d.getFullYear(), width: 1, pad: "0" };
    case "z":
      return { s: tzOffset(d) };
    case "Z":
      return { s: tzName(d) };
    case "%":
      return { s: "%" };
    default:
      return undefined;
  }
}

/**
 * glibc's strftime() in the C locale, for local time `date`: the conversions %a %A %b %B %c %C %d
 * %D %e %F %g %G %h %H %I %j %k %l %m %M %n %p %P %r %R %s %S %t %T %u %U %V %w %W %x %X %y %Y %z
 * %Z %%, the E and O modifiers (ignored), and the flags _ - 0 ^ # with a field width. An unknown
 * conversion is copied as written.
 */
export function strftime(format: string, date: Date): string {
  let out = "";
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch !== "%") {
      out += ch;
      continue;
    }
    const start = i;
    let j = i + 1;
    let padFlag: string | undefined;
    let upper = false;
    let swapCase = false;
    while (j < format.length && "_-0^#".includes(format[j]!)) {
      const f = format[j]!;
      if (f === "^") upper = true;
      else if (f === "#") swapCase = true;
      else padFlag = f;
      j++;
    }
    let widthText = "";
    while (j < format.length && format[j]! >= "0" && format[j]! <= "9") widthText += format[j++]!;
    while (j < format.length && (format[j] === "E" || format[j] === "O")) j++;
    if (j >= format.length) {
      out += format.slice(start);
      break;
    }
    const c = format[j]!;
    i = j;
    const conv = conversion(c, date);
    if (conv === undefined) {
      out += format.slice(start, j + 1);
      continue;
    }
    let text: string;
    let numeric = false;
    if (typeof conv === "string") text = strftime(conv, date);
    else if ("s" in conv) text = conv.s;
    else {
      numeric = true;
      const neg = conv.n < 0;
      const digits = String(Math.abs(conv.n));
      const pad = padFlag === "_" || padFlag === "-" ? " " : padFlag === "0" ? "0" : conv.pad;
      // An explicit width replaces the conversion's own; "-" drops the padding to the latter.
      const width = widthText !== "" ? Number(widthText) : padFlag === "-" ? 0 : conv.width;
      const body = (neg ? "-" : "") + digits;
      text = body.length >= width ? body : pad === "0" ? (neg ? "-" : "") + digits.padStart(width - (neg ? 1 : 0), "0") : body.padStart(width, " ");
    }
    if (upper) text = text.toUpperCase();
    else if (swapCase) text = c === "p" || c === "Z" ? text.toLowerCase() : text.toUpperCase();
    if (!numeric && widthText !== "") {
      text = text.padStart(Number(widthText), padFlag === "0" ? "0" : " ");
    }
    out += text;
  }
  return out;
}

/**
 * What time(format) prints at `date`: the text, or (like bpftrace when strftime() does not fit
 * its 64-byte buffer or yields nothing) undefined.
 */
export function timeText(format: string, date: Date): string | undefined {
  const text = strftime(format, date);
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes === 0 || bytes >= TIME_BUFFER) return undefined;
  return text;
}
