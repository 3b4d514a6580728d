// The -f json record schema of spec/json-output.md, as zod schemas, and a reader that checks every
// line of an output against it.
import { z } from "zod";

const int = z.number().int();

export const Bucket = z.union([
  z.strictObject({ min: int, max: int, count: int.nonnegative() }),
  z.strictObject({ max: int, count: int.nonnegative() }),
  z.strictObject({ min: int, count: int.nonnegative() }),
]);

type JsonValue = number | string | JsonValue[];
export const Value: z.ZodType<JsonValue> = z.lazy(() => z.union([int, z.string(), z.array(Value)]));

export const Stats = z.strictObject({ count: int, average: int, total: int });

export const Percentiles = z.strictObject({ p50: int, p90: int, p99: int, "p99.9": int });

/** A value without keys, or an object of values by key text. */
const keyed = <T extends z.ZodType>(v: T) => z.union([v, z.record(z.string(), v)]);

/** `{"@name": ...}`: exactly one map. */
const oneMap = <T extends z.ZodType>(v: T) =>
  z.record(z.string().startsWith("@"), keyed(v)).refine((o) => Object.keys(o).length === 1, { error: "a map record names exactly one map" });

export const JsonRecord = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("attached_probes"), data: z.strictObject({ probes: int.nonnegative() }) }),
  z.strictObject({ type: z.literal("printf"), data: z.string() }),
  z.strictObject({ type: z.literal("time"), data: z.string() }),
  z.strictObject({ type: z.literal("cat"), data: z.string() }),
  z.strictObject({ type: z.literal("syscall"), data: z.string() }),
  z.strictObject({ type: z.literal("join"), data: z.string() }),
  z.strictObject({ type: z.literal("helper_error"), helper: z.string(), retcode: int, line: int.positive(), col: int.positive() }),
  z.strictObject({ type: z.literal("value"), data: Value }),
  z.strictObject({ type: z.literal("map"), data: oneMap(Value) }),
  z.strictObject({ type: z.literal("stats"), data: oneMap(z.union([int, Stats])) }),
  z.strictObject({ type: z.literal("hist"), data: oneMap(z.array(Bucket)) }),
  z.strictObject({ type: z.literal("lost_events"), data: z.strictObject({ events: int.nonnegative() }) }),
  z.strictObject({ type: z.literal("percentiles"), data: oneMap(Percentiles) }),
]);

export type JsonRecord = z.infer<typeof JsonRecord>;

/**
 * Every record of an output: each line must be one JSON object that the schema accepts; lines
 * that are empty are an error unless `allowBlank` (bpftrace prints two before the exit maps).
 */
export function readRecords(output: string, options: { allowBlank?: boolean } = {}): JsonRecord[] {
  const lines = output.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const out: JsonRecord[] = [];
  for (const line of lines) {
    if (line === "") {
      if (options.allowBlank) continue;
      throw new Error(`a blank line in JSON output:\n${output}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (e) {
      throw new Error(`not JSON: ${line}: ${(e as Error).message}`);
    }
    const r = JsonRecord.safeParse(parsed);
    if (!r.success) throw new Error(`record does not fit the schema: ${line}\n${z.prettifyError(r.error)}`);
    out.push(r.data);
  }
  return out;
}
