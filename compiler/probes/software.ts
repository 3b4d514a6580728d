// software:EVENT[:COUNT] — a perf software event (page faults, context switches, the cpu clock...)
// on every online CPU, firing once every COUNT occurrences (each event has bpftrace's default
// when COUNT is left out or 0). The events and their aliases are bpftrace 0.17's.
import type { AttachField, AttachPoint } from "../ast.js";
import type { Diagnostics } from "../diagnostics.js";
import { NO_CONTEXT, type ProbeProvider, type ProbeTarget } from "./provider.js";

export interface SoftwareEvent {
  /** The event's name, as perf spells it. */
  name: string;
  /** Another accepted name ("" when none). */
  alias: string;
  /** PERF_COUNT_SW_* (linux/perf_event.h). */
  config: number;
  /** The sample period when the attach point gives no count. */
  defaultCount: number;
}

/** bpftrace 0.17's software events, in its order (also the order `-l` lists them in). */
export const SOFTWARE_EVENTS: readonly SoftwareEvent[] = [
  { name: "alignment-faults", alias: "", config: 7, defaultCount: 1 },
  { name: "bpf-output", alias: "", config: 10, defaultCount: 1 },
  { name: "context-switches", alias: "cs", config: 3, defaultCount: 1000 },
  { name: "cpu-clock", alias: "cpu", config: 0, defaultCount: 1000000 },
  { name: "cpu-migrations", alias: "", config: 4, defaultCount: 1 },
  { name: "dummy", alias: "", config: 9, defaultCount: 1 },
  { name: "emulation-faults", alias: "", config: 8, defaultCount: 1 },
  { name: "major-faults", alias: "", config: 6, defaultCount: 1 },
  { name: "minor-faults", alias: "", config: 5, defaultCount: 100 },
  { name: "page-faults", alias: "faults", config: 2, defaultCount: 100 },
  { name: "task-clock", alias: "", config: 1, defaultCount: 1 },
];

/** The event a name or alias stands for. */
export function softwareEvent(name: string): SoftwareEvent | undefined {
  return SOFTWARE_EVENTS.find((e) => e.name === name || (e.alias !== "" && e.alias === name));
}

function parse(ap: AttachPoint, fields: AttachField[], diags: Diagnostics): ProbeTarget | undefined {
  if (fields.length !== 2 && fields.length !== 3) {
    diags.error(ap.span, `invalid attach point '${ap.raw}': expected software:EVENT[:COUNT]`);
    return undefined;
  }
  const ev = fields[1]!;
  if (ev.text === "") {
    diags.error(ev.span, "software probe must have a software event name");
    return undefined;
  }
  if (softwareEvent(ev.text) === undefined) {
    const names = SOFTWARE_EVENTS.map((e) => e.name + (e.alias ? ` (${e.alias})` : "")).join(", ");
    diags.error(ev.span, `${ev.text} is not a software probe (software events: ${names})`);
    return undefined;
  }
  const countField = fields[2];
  if (countField === undefined || countField.text === "") return { type: "software", event: ev.text };
  if (!/^[0-9]+$/.test(countField.text) || !Number.isSafeInteger(Number(countField.text))) {
    diags.error(countField.span, `software count should be a positive integer, not '${countField.text}'`);
    return undefined;
  }
  const count = Number(countField.text);
  // 0 means the event's default, as in bpftrace.
  return count === 0 ? { type: "software", event: ev.text } : { type: "software", event: ev.text, count };
}

function format(t: ProbeTarget): string {
  if (t.type !== "software") return t.type;
  return `software:${t.event}${t.count !== undefined ? `:${t.count}` : ""}`;
}

/** The sample period of a software probe: its count, or the event's default. */
export function softwarePeriod(t: Extract<ProbeTarget, { type: "software" }>): number {
  return t.count ?? softwareEvent(t.event)?.defaultCount ?? 1;
}

export const software: ProbeProvider = {
  type: "software",
  names: ["software", "s"],
  context: NO_CONTEXT,
  parse,
  format,
};
