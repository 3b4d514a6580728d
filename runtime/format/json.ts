// -f json: one JSON record per line, with bpftrace 0.17's record types, shapes and spacing
// (its JsonOutput). The schema is spec/json-output.md. Records:
//
//   {"type": "attached_probes", "data": {"probes": 3}}
//   {"type": "printf", "data": "text\n"}                 also "time", "cat", "syscall", "join"
//   {"type": "value", "data": 5}                          print(value)
//   {"type": "map", "data": {"@m": {"a,1": 5}}}           count/sum/min/max/plain maps
//   {"type": "stats", "data": {"@s": {"count": 2, "average": 6, "total": 12}}}   avg()/stats()
//   {"type": "hist", "data": {"@h": [{"min": 4, "max": 7, "count": 1}]}}         hist()/lhist()
//   {"type": "lost_events", "data": {"events": 3}}
//   {"type": "helper_error", "helper": "map_delete_elem", "retcode": -2, "line": 1, "col": 22}   -k, -kk
//   {"type": "percentiles", "data": {"@h": {"p50": 5, "p90": 7, "p99": 7, "p99.9": 7}}}   (ours)
//
// Where we differ from bpftrace 0.17 on purpose: no blank lines (bpftrace prints "\n\n" before
// the exit maps, as in text mode), and text is valid JSON: characters outside ASCII are written
// as UTF-8 (bpftrace writes each byte >= 0x80 as a broken "\uffffffXX" escape).
import type { Type } from "../../compiler/types.js";
import { mapUpdateFailuresLine, type HelperError, type OutputSink, type SinkOptions } from "../output.js";
import { mapPercentiles } from "./percentiles.js";
import { aggregateNumber, arrayElems, avgOf, big, formatKey, formatValue, sortMapEntries, structMembers, type MapSnapshot, type ValueFormatOptions } from "./text.js";
import type { BucketCounts, MapEntry, Value } from "./values.js";

/** bpftrace's json_escape: ", \, \n, \r, \t escaped; other control characters as \u00XX. */
export function jsonEscape(s: string): string {
  let out = "";
  for (const ch of s) {
    switch (ch) {
      case '"':
        out += '\\"';
        break;
      case "\\":
        out += "\\\\";
        break;
      case "\n":
        out += "\\n";
        break;
      case "\r":
        out += "\\r";
        break;
      case "\t":
        out += "\\t";
        break;
      default: {
        const c = ch.codePointAt(0)!;
        if (c <= 0x1f) out += `\\u${c.toString(16).padStart(4, "0")}`;
        // Lone surrogates (not valid UTF-8): as JSON.stringify writes them.
        else if (c >= 0xd800 && c <= 0xdfff) out += `\\u${c.toString(16)}`;
        else out += ch;
      }
    }
  }
  return out;
}

function quoted(s: string): string {
  return `"${jsonEscape(s)}"`;
}

/** A string value as text: raw bytes decoded as UTF-8 (invalid sequences become U+FFFD), cut at NUL. */
function stringText(v: Value): string {
  if (typeof v === "string") {
    const nul = v.indexOf("\0");
    return nul >= 0 ? v.slice(0, nul) : v;
  }
  if (v instanceof Uint8Array) {
    const nul = v.indexOf(0);
    return Buffer.from(nul >= 0 ? v.subarray(0, nul) : v).toString("utf8");
  }
  throw new TypeError("string value expected");
}



/** A count as bpftrace's `int v = values.at(i)` sees it. */
function int32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

function at(buckets: BucketCounts, i: number): bigint {
  const v = buckets[i];
  return v === undefined ? 0n : BigInt.asUintN(64, v);
}

/** bpftrace 0.17's JsonOutput::hist_to_str: the buckets from the first to the last non-empty one. */
export function histJson(buckets: BucketCounts, div: bigint = 1n): string {
  let minIndex = -1;
  let maxIndex = -1;
  for (let i = 0; i < buckets.length; i++) {
    if (int32(at(buckets, i)) > 0) {
      if (minIndex === -1) minIndex = i;
      maxIndex = i;
    }
  }
  if (maxIndex === -1) return "[]";
  const d = div === 0n ? 1n : div;
  const rows: string[] = [];
  for (let i = minIndex; i <= maxIndex; i++) {
    let bounds: string;
    if (i === 0) bounds = `"max": -1, `;
    else if (i === 1) bounds = `"min": 0, "max": 0, `;
    else if (i === 2) bounds = `"min": 1, "max": 1, `;
    // C int shifts, as bpftrace 0.17 computes them (x86 masks the shift count to 5 bits):
    // bucket 33, [2^31, 2^32), comes out as {"min": -2147483648, "max": 0}.
    else bounds = `"min": ${1 << (i - 2)}, "max": ${((1 << (i - 1)) - 1) | 0}, `;
    rows.push(`{${bounds}"count": ${at(buckets, i) / d}}`);
  }
  return `[${rows.join(", ")}]`;
}

/** bpftrace 0.17's JsonOutput::lhist_to_str (its parameters are C ints). */
export function lhistJson(buckets: BucketCounts, min: bigint, max: bigint, step: bigint): string {
  const lo = Number(BigInt.asIntN(32, min));
  const hi = Number(BigInt.asIntN(32, max));
  const st = Number(BigInt.asIntN(32, step));
  if (st === 0) throw new RangeError("lhist: step must not be 0");
  const inRange = Math.trunc((hi - lo) / st);
  let maxIndex = -1;
  for (let i = 0; i < buckets.length; i++) if (int32(at(buckets, i)) !== 0) maxIndex = i;
  if (maxIndex === -1) return "[]";
  let start = -1;
  let end = 0;
  for (let i = 0; i <= inRange + 1; i++) {
    if (at(buckets, i) > 0n) {
      if (start === -1) start = i;
      end = i;
    }
  }
  if (start === -1) start = 0;
  const rows: string[] = [];
  for (let i = start; i <= end; i++) {
    let bounds: string;
    if (i === 0) bounds = `"max": ${lo - 1}, `;
    else if (i === inRange + 1) bounds = `"min": ${hi}, `;
    else bounds = `"min": ${(Math.imul(i - 1, st) + lo) | 0}, "max": ${((Math.imul(i, st) + lo) | 0) - 1}, `;
    rows.push(`{${bounds}"count": ${at(buckets, i)}}`);
  }
  return `[${rows.join(", ")}]`;
}

/** bpftrace 0.17's JsonOutput::value_to_str: a value as JSON, integers divided by div. */
export function jsonValue(type: Type, v: Value, div: bigint = 1n, options: ValueFormatOptions = {}): string {
  switch (type.kind) {
    case "int": {
      const bits = type.size * 8;
      const n = type.ptr ? BigInt.asIntN(64, big(v)) : type.signed ? BigInt.asIntN(bits, big(v)) : BigInt.asUintN(bits, big(v));
      return (n / div).toString();
    }
    case "struct":
      return `{ ${structMembers(type, v).map(([name, t, x]) => `${quoted(name)}: ${jsonValue(t, x, div, options)}`).join(", ")} }`;
    case "array":
      return `[${arrayElems(type, v).map((x) => jsonValue(type.elem, x, div, options)).join(",")}]`;
    case "string":
    case "inet":
    case "resolved":
      return quoted(stringText(v));
    case "buffer":
      // As text shows it (printable ASCII, other bytes as \xNN), as a JSON string.
      return quoted(formatValue(type, v, options));
    case "tuple": {
      const elems = v as readonly Value[];
      return `[${type.elems.map((t, i) => jsonValue(t, elems[i]!, div, options)).join(",")}]`;
    }
    case "usym":
    case "ustack":
    case "kstack":
    case "probe":
      return quoted(formatValue(type, v, options));
    case "agg":
      switch (type.agg) {
        case "count":
        case "sum":
        case "min":
        case "max":
        case "avg":
          return aggregateNumber(type, v, div);
        case "stats": {
          const s = avgOf(v);
          return `{"count": ${s.count}, "average": ${s.average}, "total": ${s.total}}`;
        }
        case "hist":
          return histJson(v as BucketCounts, div);
        case "lhist": {
          if (!type.lhist) throw new TypeError("lhist type without its min, max and step");
          return lhistJson(v as BucketCounts, type.lhist.min, type.lhist.max, type.lhist.step);
        }
      }
      break;
    default:
      break;
  }
  throw new TypeError(`cannot write a value of type ${type.kind} as JSON`);
}

/** The record type of a map: "hist" (hist, lhist), "stats" (avg, stats) or "map". */
export function mapRecordType(valueType: Type): "map" | "hist" | "stats" {
  if (valueType.kind !== "agg") return "map";
  if (valueType.agg === "hist" || valueType.agg === "lhist") return "hist";
  if (valueType.agg === "avg" || valueType.agg === "stats") return "stats";
  return "map";
}

/** A map key as bpftrace's JSON shows it: the keys' texts joined by ",", quoted. */
export function jsonKey(keyTypes: readonly Type[], key: readonly Value[], options: ValueFormatOptions = {}): string {
  return quoted(keyTypes.map((t, i) => formatKey(t, key[i]!, options)).join(","));
}

function toUint32(v: number | bigint | undefined): bigint {
  if (v === undefined) return 0n;
  return BigInt.asUintN(32, typeof v === "bigint" ? v : BigInt(Math.trunc(v)));
}

/**
 * The record of a map (print(@m, top, div), and every map at exit), without its newline;
 * undefined for a map with no entries (bpftrace prints nothing for it).
 */
export function mapRecord(map: MapSnapshot, options: { top?: number | bigint; div?: number | bigint } & ValueFormatOptions = {}): string | undefined {
  if (map.entries.length === 0) return undefined;
  const { keyTypes, valueType } = map;
  const top = toUint32(options.top);
  let div = toUint32(options.div);
  if (div === 0n) div = 1n;
  const isStats = valueType.kind === "agg" && valueType.agg === "stats";
  const sorted: MapEntry[] = sortMapEntries(keyTypes, valueType, map.entries);
  // As in text: top applies to every map type but stats(); stats() values are never divided.
  const skip = top !== 0n && !isStats && BigInt(sorted.length) > top ? sorted.length - Number(top) : 0;
  const elems: string[] = [];
  for (let i = skip; i < sorted.length; i++) {
    const { key, value } = sorted[i]!;
    const text = jsonValue(valueType, value, isStats ? 1n : div, options);
    elems.push(keyTypes.length === 0 ? text : `${jsonKey(keyTypes, key, options)}: ${text}`);
  }
  const body = elems.join(", ");
  const data = keyTypes.length === 0 ? body : `{${body}}`;
  return `{"type": "${mapRecordType(valueType)}", "data": {${quoted(map.name)}: ${data}}}`;
}

/** The --percentiles record of a hist() or lhist() map; undefined when it has no values. */
export function percentilesRecord(map: MapSnapshot, options: ValueFormatOptions = {}): string | undefined {
  const rows = mapPercentiles(map);
  if (rows.length === 0) return undefined;
  const object = (values: Array<{ name: string; value: number }>) => `{${values.map((v) => `"${v.name}": ${v.value}`).join(", ")}}`;
  const data =
    map.keyTypes.length === 0 ? object(rows[0]!.values) : `{${rows.map((r) => `${jsonKey(map.keyTypes, r.entry.key, options)}: ${object(r.values)}`).join(", ")}}`;
  return `{"type": "percentiles", "data": {${quoted(map.name)}: ${data}}}`;
}

/** A record whose data is a string (printf, time). */
export function messageRecord(type: string, text: string): string {
  return `{"type": "${type}", "data": ${quoted(text)}}`;
}

/** -k/-kk: a failed helper call, as bpftrace 0.17 writes it. */
export function helperErrorRecord(e: HelperError): string {
  return `{"type": "helper_error", "helper": ${quoted(e.helper)}, "retcode": ${e.retcode}, "line": ${e.line}, "col": ${e.column}}`;
}

/** A record whose data is one named number (attached_probes, lost_events). */
export function countRecord(type: string, field: string, n: number | bigint): string {
  return `{"type": "${type}", "data": {"${field}": ${n}}}`;
}

/**
 * bpftrace 0.17's -f json output: every record on its own line on `stdout`. Warnings (failed map
 * updates, a time() that cannot be formatted) stay text on `stderr`, as bpftrace's do.
 */
export function jsonSink(stdout: (s: string) => void, stderr: (s: string) => void, options: SinkOptions = {}): OutputSink {
  const format: ValueFormatOptions = options.symbolize ? { symbolize: options.symbolize } : {};
  const line = (record: string | undefined) => {
    if (record !== undefined) stdout(record + "\n");
  };
  return {
    attached: (probes) => line(countRecord("attached_probes", "probes", probes)),
    printf: (text) => line(messageRecord("printf", text)),
    value: (type, value) => line(`{"type": "value", "data": ${jsonValue(type, value, 1n, format)}}`),
    map: (m, o) => line(mapRecord(m, { ...o, ...format })),
    time: (text) => line(messageRecord("time", text)),
    cat: (text) => line(messageRecord("cat", text)),
    syscall: (text) => line(messageRecord("syscall", text)),
    join: (text) => line(messageRecord("join", text)),
    helperError: (e) => line(helperErrorRecord(e)),
    lostEvents: (count) => line(countRecord("lost_events", "events", count)),
    mapUpdateFailures: (count) => stderr(mapUpdateFailuresLine(count)),
    exit: (maps) => {
      const sorted = [...maps].sort((a, b) => Buffer.compare(Buffer.from(a.name, "utf8"), Buffer.from(b.name, "utf8")));
      for (const m of sorted) line(mapRecord(m, format));
      if (options.percentiles) for (const m of sorted) line(percentilesRecord(m, format));
    },
  };
}
