// interval:UNIT:N — fires on one CPU every N units (s, ms, us) or N times a second (hz).
// profile:UNIT:N — the same period, on every CPU.
import type { AttachField, AttachPoint } from "../ast.js";
import type { Diagnostics } from "../diagnostics.js";
import { NO_CONTEXT, expectFields, positiveInt, type ProbeProvider, type ProbeTarget, type TimeUnit } from "./provider.js";

const UNITS = new Set<TimeUnit>(["s", "ms", "us", "hz"]);

function parseTimed(type: "interval" | "profile") {
  return (ap: AttachPoint, fields: AttachField[], diags: Diagnostics): ProbeTarget | undefined => {
    if (!expectFields(ap, fields, [3], `${type}:UNIT:N with UNIT one of s, ms, us, hz`, diags)) return undefined;
    const unit = fields[1]!;
    if (!UNITS.has(unit.text as TimeUnit)) {
      diags.error(unit.span, `invalid ${type} unit '${unit.text}': expected s, ms, us or hz`);
      return undefined;
    }
    const value = positiveInt(fields[2]!, `the ${type} period`, diags);
    if (value === undefined) return undefined;
    return { type, unit: unit.text as TimeUnit, value };
  };
}

const format = (t: ProbeTarget) => (t.type === "interval" || t.type === "profile" ? `${t.type}:${t.unit}:${t.value}` : t.type);

export const interval: ProbeProvider = {
  type: "interval",
  names: ["interval", "i"],
  context: NO_CONTEXT,
  parse: parseTimed("interval"),
  format,
};

export const profile: ProbeProvider = {
  type: "profile",
  names: ["profile", "p"],
  context: NO_CONTEXT,
  parse: parseTimed("profile"),
  format,
};
