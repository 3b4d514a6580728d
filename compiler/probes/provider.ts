// What every probe type ("provider") supplies: its names, how its attach points are written,
// and which builtins its context offers. One file per provider, in this folder.
import type { AttachField, AttachPoint } from "../ast.js";
import type { Diagnostics } from "../diagnostics.js";

/** An attach point after parsing its fields: what the runtime attaches to. */
export type ProbeTarget =
  | { type: "BEGIN" }
  | { type: "END" }
  | { type: "interval"; unit: TimeUnit; value: number }
  | { type: "profile"; unit: TimeUnit; value: number }
  | { type: "uprobe" | "uretprobe"; path: string; func?: string; offset?: bigint; address?: bigint }
  | { type: "usdt"; path: string; provider?: string; name: string }
  | { type: "tracepoint"; category: string; name: string }
  /** A perf software event (as written: name or alias); count absent = the event's default. */
  | { type: "software"; event: string; count?: number };

export type ProbeType = ProbeTarget["type"];
export type TimeUnit = "s" | "ms" | "us" | "hz";

/** Which builtins a probe type's context offers. */
export interface ProbeContext {
  /** arg0..argN: how many (0 = none). */
  args: number;
  retval: boolean;
  func: boolean;
  /** `args->field`: tracepoint fields. */
  tracepointArgs: boolean;
  /** sarg0..: arguments passed on the stack, read at the function's entry. */
  stackArgs?: boolean;
}

export interface ProbeProvider {
  /** Canonical name, as printed in `probe`: "uprobe", "interval", "BEGIN". */
  type: ProbeType;
  /** Every spelling accepted before the first colon. */
  names: string[];
  context: ProbeContext;
  /** Parses the fields after the type; reports problems and returns undefined on error. */
  parse(ap: AttachPoint, fields: AttachField[], diags: Diagnostics): ProbeTarget | undefined;
  /** The canonical text of a target, e.g. "interval:ms:100", as the `probe` builtin shows it. */
  format(target: ProbeTarget): string;
}

export const NO_CONTEXT: ProbeContext = { args: 0, retval: false, func: false, tracepointArgs: false };

/** Checks the field count; reports the expected form otherwise. */
export function expectFields(ap: AttachPoint, fields: AttachField[], counts: number[], form: string, diags: Diagnostics): boolean {
  if (counts.includes(fields.length)) return true;
  diags.error(ap.span, `invalid attach point '${ap.raw}': expected ${form}`);
  return false;
}

/** A positive decimal integer field, or undefined after reporting. */
export function positiveInt(field: AttachField, what: string, diags: Diagnostics): number | undefined {
  if (!/^[0-9]+$/.test(field.text) || Number(field.text) <= 0 || !Number.isSafeInteger(Number(field.text))) {
    diags.error(field.span, `${what} must be a positive integer, not '${field.text}'`);
    return undefined;
  }
  return Number(field.text);
}
