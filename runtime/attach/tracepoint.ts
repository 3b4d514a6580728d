// tracepoint:CATEGORY:NAME — one PERF_TYPE_TRACEPOINT event (pid -1, cpu 0) per tracepoint, with
// the program set on it. A BPF program on a tracepoint runs for every hit on every CPU, whatever
// CPU its perf event was opened for, so one event is enough.
import { native, PerfType } from "../native.js";
import { expandTracepoints, isPattern, tracepointId, type TracepointName } from "../tracefs.js";
import { closeQuietly, errnoText, TraceError, type Detach } from "./common.js";

export interface ResolvedTracepoint extends TracepointName {
  id: number;
}

/**
 * The tracepoints a `tracepoint:CATEGORY:NAME` target stands for (wildcards expanded), with
 * their ids. Throws a TraceError when none exists.
 */
export function resolveTracepoints(category: string, name: string, root: string): ResolvedTracepoint[] {
  if (!isPattern(category) && !isPattern(name)) return [{ category, name, id: tracepointId(category, name, root) }];
  const found = expandTracepoints(category, name, root);
  if (found.length === 0) throw new TraceError(`tracepoint not found: ${category}:${name}`);
  return found.map((t) => ({ ...t, id: tracepointId(t.category, t.name, root) }));
}

/** Attaches a loaded BPF_PROG_TYPE_TRACEPOINT program to one tracepoint. */
export function attachTracepoint(progFd: number, tp: ResolvedTracepoint): Detach {
  const n = native();
  let perf: number;
  try {
    perf = n.perfEventOpen({ type: PerfType.TRACEPOINT, config: tp.id, pid: -1, cpu: 0, disabled: true });
  } catch (e) {
    throw new TraceError(`cannot open tracepoint ${tp.category}:${tp.name}: ${errnoText(e)}`);
  }
  try {
    n.perfEventAttach(perf, progFd);
  } catch (e) {
    closeQuietly(perf);
    throw new TraceError(`cannot attach to tracepoint ${tp.category}:${tp.name}: ${errnoText(e)}`);
  }
  return () => {
    try {
      n.perfEventDisable(perf);
    } catch {
      // closing detaches anyway
    }
    closeQuietly(perf);
  };
}
