// The library's tracing API: trace(source, options) compiles a script, loads and attaches it, and
// returns a session: an async iterator of typed events, maps() to read every map as typed JS
// values, stop(), and promises for "attached" and "done". Everything attached is released when the
// session ends, however it ends: the script's exit(), stop(), the abort signal, the duration, the
// iterator's return() (a `break` out of `for await`), or an error.
//
// Options are validated with zod, loaded (synchronously, through require) on first use only: the
// CLI never imports this module, so zod stays off its start path.
import { createRequire } from "node:module";
import { compile as compileScript } from "../compiler/compile.js";
import { formatDiagnostics, type Diagnostic } from "../compiler/index.js";
import type { CompiledScript } from "../compiler/program.js";
import { typeName, type Type } from "../compiler/types.js";
import { bucketsOf, percentile, type Bucket } from "./format/percentiles.js";
import { formatMap, formatValue, sortMapEntries, type MapSnapshot, type ValueFormatOptions } from "./format/text.js";
import type { AvgValue, BucketCounts, Symbolizer, Value } from "./format/values.js";
import { attachingLine, helperErrorText, lostEventsLine, mapUpdateFailuresLine, NOTIFY_ATTACHED_LINE, printValueText, type OutputSink } from "./output.js";
import { runScript } from "./session.js";
import { createSymbolizer } from "./symbols.js";

// ---- values ----------------------------------------------------------------------------------------

/** avg() and stats() values. */
export interface StatsValue {
  count: bigint;
  average: bigint;
  total: bigint;
}

/** One bucket of a histogram: the integers v with min <= v <= max, and how many were counted. */
export type HistogramBucket = Bucket;

/**
 * A hist() or lhist() value: its buckets from the first non-empty one to the last (empty ones in
 * between included), in ascending order; [] when nothing was counted. The underflow bucket has
 * min -Infinity, lhist's overflow bucket max Infinity.
 */
export interface Histogram extends ReadonlyArray<HistogramBucket> {
  /** How many values were counted. */
  readonly total: bigint;
  /**
   * The p-th percentile (0 <= p <= 100), estimated from the bucket bounds (spec/json-output.md,
   * "Percentiles"); undefined when nothing was counted.
   */
  percentile(p: number): number | undefined;
}

/**
 * A value as the library hands it out, by the script's type:
 * - 64-bit integers, count(), sum(), min(), max() and avg(): bigint; smaller integers: number;
 * - strings and probe names: string (bytes that are not UTF-8 become U+FFFD);
 * - usym: its text; ustack and kstack: one text per frame;
 * - tuples: arrays; stats(): { count, average, total }; hist() and lhist(): Histogram.
 */
export type TraceValue = bigint | number | string | readonly string[] | StatsValue | Histogram | readonly TraceValue[];

/** One map entry: its key (one value per key; [] for a map without keys) and its value. */
export interface TraceMapEntry {
  key: TraceValue[];
  value: TraceValue;
}

/** A whole map, as read at one moment. */
export interface TraceMap {
  /** "@name" ("@" for the anonymous map). */
  readonly name: string;
  /** The key types as the script declares them ("string[16]", "uint64", ...); [] without keys. */
  readonly keyTypes: readonly string[];
  /** The value type ("count()", "hist()", "int64", ...). */
  readonly valueType: string;
  /** Every entry, in the order bpftrace prints them (ascending by value for count(), sum(), ...). */
  readonly entries: readonly TraceMapEntry[];
  /** For a map without keys: its value (undefined when it has none). */
  readonly value: TraceValue | undefined;
  /** The value at this key (integer keys may be given as number or bigint). */
  get(...key: TraceValue[]): TraceValue | undefined;
}

// ---- events ----------------------------------------------------------------------------------------

/** What a session reports, in order. `text` is always what bpftrace's text output shows for it. */
export type TraceEvent =
  | { type: "attached"; probes: number; text: string }
  | { type: "printf"; text: string }
  | { type: "value"; value: TraceValue; valueType: string; text: string }
  /** print(@map, top, div): `map` has every entry (top and div not applied; `text` applies them). */
  | { type: "map"; map: TraceMap; top: number; div: number; text: string }
  | { type: "time"; text: string }
  /** cat(): the file's contents; system(): the command's output; join(): the strings, then "\n". */
  | { type: "cat" | "syscall" | "join"; text: string }
  /** A helper call failed (compiled with helper checks, -k/-kk); `text` is bpftrace's warning. */
  | { type: "helper_error"; helper: string; retcode: bigint; line: number; column: number; text: string }
  /** Records the kernel could not hand over (the ring buffer was full); reported at the end. */
  | { type: "lost_events"; count: bigint; text: string }
  /** Map updates the kernel refused (a full map, usually); reported at the end. */
  | { type: "map_update_failures"; count: bigint; text: string }
  /** Anything else the session warns about (e.g. a time() format that does not fit). */
  | { type: "warning"; text: string };

// ---- errors ----------------------------------------------------------------------------------------

/** Options that do not validate; `issues` lists every problem, the message too. */
export class OptionsError extends TypeError {
  override name = "OptionsError";
  constructor(
    readonly issues: ReadonlyArray<{ path: string; message: string }>,
    what: string,
  ) {
    super(`invalid ${what} options:\n${issues.map((i) => `  - ${i.path === "" ? "options" : i.path}: ${i.message}`).join("\n")}`);
  }
}

/** The script has errors: the typed diagnostics, and the message as the CLI prints them. */
export class CompileError extends Error {
  override name = "CompileError";
  constructor(
    readonly diagnostics: Diagnostic[],
    /** Every diagnostic, formatted (file:line:column: error: ..., the source line, a caret). */
    readonly formatted: string,
  ) {
    const errors = diagnostics.filter((d) => d.severity === "error").length;
    super(`the script has ${errors} ${errors === 1 ? "error" : "errors"}:\n${formatted.trimEnd()}`);
  }
}

/** The session could not run, or failed while running (no privileges, a probe not found, ...). */
export class SessionError extends Error {
  override name = "SessionError";
  constructor(
    message: string,
    /** 1: an error the user can act on; 2: an internal error (a bug). */
    readonly exitCode: number,
    /** Everything the session reported (for internal errors: the disassembly and verifier log). */
    readonly details: string,
  ) {
    super(message);
  }
}

// ---- options ---------------------------------------------------------------------------------------

export interface TraceOptions {
  /** The positional parameters $1, $2, ... (numbers are turned into their decimal text). */
  params?: ReadonlyArray<string | number>;
  /** Ends the session when it aborts. */
  signal?: AbortSignal;
  /** Ends the session after this many milliseconds. */
  duration?: number;
  /** The script's name in diagnostics (default "stdin", as for `bpfts -e`). */
  file?: string;
}

export interface CompileOptions {
  /** The positional parameters $1, $2, ... (numbers are turned into their decimal text). */
  params?: ReadonlyArray<string | number>;
  /** The script's name in diagnostics (default "stdin", as for `bpfts -e`). */
  file?: string;
}

type Zod = typeof import("zod");
let zodModule: Zod | undefined;

/** zod, loaded on first use (110-130 ms): never on the CLI's path. */
function zod(): Zod {
  return (zodModule ??= createRequire(import.meta.url)("zod") as Zod);
}

/** The longest delay setTimeout takes (about 24.8 days). */
const MAX_DURATION = 2 ** 31 - 1;

function schemas() {
  const z = zod();
  const params = z
    .array(z.union([z.string(), z.number().int()], { error: "must be a string or an integer" }), { error: "must be an array of strings (or integers)" })
    .readonly()
    .optional();
  const file = z.string({ error: "must be a string" }).min(1, { error: "must not be empty" }).optional();
  return {
    compile: z.strictObject({ params, file }),
    trace: z.strictObject({
      params,
      file,
      signal: z.instanceof(AbortSignal, { error: "must be an AbortSignal" }).optional(),
      duration: z
        .number({ error: "must be a number of milliseconds" })
        .positive({ error: "must be more than 0 (milliseconds)" })
        .max(MAX_DURATION, { error: `must be at most ${MAX_DURATION} (milliseconds)` })
        .optional(),
    }),
  };
}

let schemaCache: ReturnType<typeof schemas> | undefined;

/** Validates options with zod; throws OptionsError listing every problem. */
export function validateOptions<K extends "compile" | "trace">(kind: K, options: unknown): K extends "trace" ? TraceOptions : CompileOptions {
  const schema = (schemaCache ??= schemas())[kind];
  const r = schema.safeParse(options ?? {});
  if (r.success) return r.data as K extends "trace" ? TraceOptions : CompileOptions;
  const issues = r.error.issues.map((i) => {
    const path = i.path.map(String).join(".");
    if (i.code === "unrecognized_keys") return { path, message: `unknown ${i.keys.length === 1 ? "option" : "options"} ${i.keys.map((k) => `"${k}"`).join(", ")}` };
    if (i.code === "invalid_type" && i.path.length === 0) return { path, message: "must be an object" };
    return { path, message: i.message };
  });
  throw new OptionsError(issues, kind === "trace" ? "trace()" : "compile()");
}

function checkSource(source: unknown, fn: string): asserts source is string {
  if (typeof source !== "string") throw new TypeError(`${fn}: the script source must be a string (got ${source === null ? "null" : typeof source})`);
}

/** Compiles for trace(): the script, or a thrown CompileError. */
export function compileOrThrow(source: string, options: CompileOptions): CompiledScript {
  const result = compileScript(source, { file: options.file ?? "stdin", params: (options.params ?? []).map(String) });
  if (!result.ok || result.script === undefined) {
    throw new CompileError(result.diagnostics, formatDiagnostics(result.diagnostics, result.source));
  }
  return result.script;
}

// ---- conversions -----------------------------------------------------------------------------------

function makeHistogram(buckets: Bucket[]): Histogram {
  let total = 0n;
  for (const b of buckets) total += b.count;
  Object.defineProperties(buckets, {
    total: { value: total, enumerable: false },
    percentile: { value: (p: number) => percentile(buckets, p), enumerable: false },
  });
  return buckets as unknown as Histogram;
}

function stringOf(v: Value): string {
  if (typeof v === "string") {
    const nul = v.indexOf("\0");
    return nul >= 0 ? v.slice(0, nul) : v;
  }
  const b = v as Uint8Array;
  const nul = b.indexOf(0);
  return Buffer.from(nul >= 0 ? b.subarray(0, nul) : b).toString("utf8");
}

function statsOf(v: Value): StatsValue {
  const a = v as AvgValue;
  const count = BigInt.asIntN(64, a.count);
  const total = BigInt.asIntN(64, a.total);
  return { count, total, average: count === 0n ? 0n : BigInt.asIntN(64, total / count) };
}

/** A decoded value (runtime/format/values.ts) as the library hands it out. */
export function toTraceValue(type: Type, v: Value, opts: ValueFormatOptions = {}): TraceValue {
  switch (type.kind) {
    case "int": {
      const bits = type.size * 8;
      const n = type.signed ? BigInt.asIntN(bits, v as bigint) : BigInt.asUintN(bits, v as bigint);
      return type.size === 8 ? n : Number(n);
    }
    case "string":
      return stringOf(v);
    case "probe":
      return stringOf(v);
    case "tuple": {
      const elems = v as readonly Value[];
      return type.elems.map((t, i) => toTraceValue(t, elems[i]!, opts));
    }
    case "usym":
      return formatValue(type, v, opts);
    case "ustack":
    case "kstack":
      return formatValue(type, v, opts)
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "");
    case "agg":
      switch (type.agg) {
        case "count":
          return BigInt.asUintN(64, v as bigint);
        case "sum":
        case "min":
        case "max":
          return type.signed ? BigInt.asIntN(64, v as bigint) : BigInt.asUintN(64, v as bigint);
        case "avg":
          return statsOf(v).average;
        case "stats":
          return statsOf(v);
        case "hist":
        case "lhist":
          return makeHistogram(bucketsOf(type, v as BucketCounts) ?? []);
      }
      break;
    default:
      break;
  }
  throw new TypeError(`cannot convert a value of type ${typeName(type)}`);
}

/** A key part in a form that compares equal for equal keys (integers as number or bigint alike). */
function canonical(v: unknown): string {
  if (typeof v === "bigint" || typeof v === "number") return `n${BigInt(v)}`;
  if (typeof v === "string") return `s${JSON.stringify(v)}`;
  if (Array.isArray(v)) return `t[${v.map(canonical).join(",")}]`;
  return `?${String(v)}`;
}

class MapView implements TraceMap {
  readonly name: string;
  readonly keyTypes: readonly string[];
  readonly valueType: string;
  readonly entries: readonly TraceMapEntry[];
  private readonly index = new Map<string, TraceValue>();

  constructor(snapshot: MapSnapshot, opts: ValueFormatOptions = {}) {
    this.name = snapshot.name;
    this.keyTypes = snapshot.keyTypes.map(typeName);
    this.valueType = typeName(snapshot.valueType);
    this.entries = sortMapEntries(snapshot.keyTypes, snapshot.valueType, snapshot.entries).map((e) => ({
      key: snapshot.keyTypes.map((t, i) => toTraceValue(t, e.key[i]!, opts)),
      value: toTraceValue(snapshot.valueType, e.value, opts),
    }));
    for (const e of this.entries) this.index.set(canonical(e.key), e.value);
    Object.defineProperty(this, "index", { enumerable: false });
  }

  get value(): TraceValue | undefined {
    return this.keyTypes.length === 0 ? this.entries[0]?.value : undefined;
  }

  get(...key: TraceValue[]): TraceValue | undefined {
    return this.index.get(canonical(key));
  }
}

function mapsRecord(snapshots: readonly MapSnapshot[], opts: ValueFormatOptions): Record<string, TraceMap> {
  const out: Record<string, TraceMap> = {};
  const sorted = [...snapshots].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  for (const s of sorted) out[s.name] = new MapView(s, opts);
  return out;
}

// ---- the session -----------------------------------------------------------------------------------

/** A running script. Iterate it for its events; it ends when the script ends or is stopped. */
export interface TraceSession extends AsyncIterable<TraceEvent> {
  /** Resolves once every probe is attached (or the session ended without failing before that). */
  readonly attached: Promise<void>;
  /** Resolves once the session has ended and released everything; rejects with its failure. */
  readonly done: Promise<void>;
  /** Whether the session has ended. */
  readonly ended: boolean;
  /**
   * Every user map by name, read now; after the end, as they were at the end (after END ran).
   * Waits for the maps to exist if the session is still starting. Rejects if the session failed
   * before the end.
   */
  maps(): Promise<Record<string, TraceMap>>;
  /** Ends the session (END runs, the maps are read for the last time) and waits until everything is released. */
  stop(): Promise<void>;
}

class Session implements TraceSession {
  readonly attached: Promise<void>;
  readonly done: Promise<void>;
  private readonly stopper = new AbortController();
  private readonly queue: TraceEvent[] = [];
  private readonly waiters: Array<{ resolve: (r: IteratorResult<TraceEvent>) => void; reject: (e: unknown) => void }> = [];
  private isEnded = false;
  private failure: unknown;
  private failureDelivered = false;
  private readMaps: (() => MapSnapshot[]) | undefined;
  /** User addresses (usym, ustack, func) print as symbols, as the CLI prints them. */
  private readonly formatOptions: ValueFormatOptions & { symbolize: Symbolizer } = { symbolize: createSymbolizer() };
  private finalMaps: MapSnapshot[] | undefined;
  private signalAttached!: () => void;
  private failAttached!: (e: unknown) => void;

  constructor(script: CompiledScript, options: TraceOptions) {
    this.attached = new Promise<void>((resolve, reject) => {
      this.signalAttached = resolve;
      this.failAttached = reject;
    });
    this.attached.catch(() => {});
    const cleanups: Array<() => void> = [];
    const stop = () => this.stopper.abort();
    const { signal, duration } = options;
    if (signal !== undefined) {
      if (signal.aborted) stop();
      else {
        signal.addEventListener("abort", stop, { once: true });
        cleanups.push(() => signal.removeEventListener("abort", stop));
      }
    }
    if (duration !== undefined) {
      const timer = setTimeout(stop, duration);
      cleanups.push(() => clearTimeout(timer));
    }
    let report = "";
    const run = runScript(script, {
      stdout: () => {},
      stderr: (s) => {
        if (s === NOTIFY_ATTACHED_LINE) this.signalAttached();
        else this.push({ type: "warning", text: s });
      },
      fatal: (s) => {
        report += s;
      },
      notifyAttached: true,
      signal: this.stopper.signal,
      handleSignals: false,
      symbolize: this.formatOptions.symbolize,
      sink: this.sink(),
      exposeMaps: (read) => {
        this.readMaps = read;
      },
    });
    this.done = run.then(
      ({ exitCode }) => {
        for (const c of cleanups) c();
        if (exitCode === 0) {
          this.finish(undefined);
          return;
        }
        const first = report.split("\n")[0] ?? "";
        const message = first.replace(/^(ERROR|bpfts: internal error): /, "") || `the session failed (status ${exitCode})`;
        const error = new SessionError(message, exitCode, report);
        this.finish(error);
        throw error;
      },
      (e: unknown) => {
        for (const c of cleanups) c();
        this.finish(e);
        throw e;
      },
    );
    this.done.catch(() => {});
  }

  get ended(): boolean {
    return this.isEnded;
  }

  private sink(): OutputSink {
    return {
      attached: (probes) => this.push({ type: "attached", probes, text: attachingLine(probes) }),
      printf: (text) => this.push({ type: "printf", text }),
      value: (type, value) =>
        this.push({ type: "value", value: toTraceValue(type, value, this.formatOptions), valueType: typeName(type), text: printValueText(type, value, this.formatOptions) }),
      map: (m, o) =>
        this.push({ type: "map", map: new MapView(m, this.formatOptions), top: o.top, div: o.div, text: formatMap(m.name, m.keyTypes, m.valueType, m.entries, { ...o, ...this.formatOptions }) }),
      time: (text) => this.push({ type: "time", text }),
      cat: (text) => this.push({ type: "cat", text }),
      syscall: (text) => this.push({ type: "syscall", text }),
      join: (text) => this.push({ type: "join", text: text + "\n" }),
      helperError: (e) => this.push({ type: "helper_error", helper: e.helper, retcode: e.retcode, line: e.line, column: e.column, text: helperErrorText(e) }),
      lostEvents: (count) => this.push({ type: "lost_events", count, text: lostEventsLine(count) }),
      mapUpdateFailures: (count) => this.push({ type: "map_update_failures", count, text: mapUpdateFailuresLine(count) }),
      exit: (maps) => {
        this.finalMaps = maps;
      },
    };
  }

  private push(event: TraceEvent): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter.resolve({ value: event, done: false });
    else this.queue.push(event);
  }

  private finish(failure: unknown): void {
    this.isEnded = true;
    this.failure = failure;
    this.readMaps = undefined;
    if (failure === undefined) this.signalAttached();
    else this.failAttached(failure);
    while (this.waiters.length > 0) {
      const w = this.waiters.shift()!;
      if (failure !== undefined && !this.failureDelivered) {
        this.failureDelivered = true;
        w.reject(failure);
      } else {
        w.resolve({ value: undefined, done: true });
      }
    }
  }

  private next(): Promise<IteratorResult<TraceEvent>> {
    const event = this.queue.shift();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.isEnded) {
      if (this.failure !== undefined && !this.failureDelivered) {
        this.failureDelivered = true;
        return Promise.reject(this.failure);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<TraceEvent> {
    const iterator: AsyncIterableIterator<TraceEvent> = {
      next: () => this.next(),
      // `break`, `return` or a throw out of `for await`: end the session, release everything.
      return: async () => {
        await this.stop().catch(() => {});
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  async maps(): Promise<Record<string, TraceMap>> {
    if (this.readMaps === undefined && !this.isEnded) await this.attached.catch(() => {});
    const read = this.readMaps;
    if (read !== undefined) return mapsRecord(read(), this.formatOptions);
    if (this.finalMaps !== undefined) return mapsRecord(this.finalMaps, this.formatOptions);
    if (this.failure !== undefined) throw this.failure;
    return {};
  }

  stop(): Promise<void> {
    this.stopper.abort();
    return this.done;
  }
}

/**
 * Compiles `source`, loads and attaches it, and returns the running session (see TraceSession).
 * Throws OptionsError for bad options and CompileError (with the typed diagnostics) when the
 * script has errors; failures while loading or running (no privileges, a probe that cannot be
 * attached) reject the session's iterator, `attached`, `done` and `maps()` with a SessionError.
 */
export function trace(source: string, options: TraceOptions = {}): TraceSession {
  checkSource(source, "trace()");
  const opts = validateOptions("trace", options);
  const script = compileOrThrow(source, opts);
  return new Session(script, opts);
}

export { checkSource };
