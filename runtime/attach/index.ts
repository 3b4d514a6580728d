// Attaching programs by probe kind. Planning (resolving what a target stands for: tracepoint ids,
// wildcard matches) is separate from attaching, so that every name is checked and the probes
// counted ("Attaching N probes...") before anything is attached.
import type { ProbeTarget } from "../../compiler/probes/index.js";
import { ensureTracefs } from "../tracefs.js";
import { TraceError, type Detach } from "./common.js";
import { attachInterval, attachProfile } from "./perf.js";
import { attachTracepoint, resolveTracepoints } from "./tracepoint.js";

export { TraceError, type Detach } from "./common.js";

/** One attachment to make: what it is (for messages) and how to make it. */
export interface PlannedAttach {
  /** e.g. "tracepoint:syscalls:sys_enter_openat", "interval:ms:10" */
  probe: string;
  attach(progFd: number): Detach;
}

/** Whether a target needs tracefs (so that it is mounted before planning). */
export function needsTracefs(target: ProbeTarget): boolean {
  return target.type === "tracepoint";
}

/**
 * The attachments for one program's target: one per tracepoint a wildcard matches, one for an
 * interval or profile probe, none for BEGIN and END (run with BPF_PROG_TEST_RUN). Throws a
 * TraceError for targets that do not exist or are not supported yet.
 */
export function planAttach(target: ProbeTarget): PlannedAttach[] {
  switch (target.type) {
    case "BEGIN":
    case "END":
      return [];
    case "interval":
      return [{ probe: `interval:${target.unit}:${target.value}`, attach: (fd) => attachInterval(fd, target.unit, target.value) }];
    case "profile":
      return [{ probe: `profile:${target.unit}:${target.value}`, attach: (fd) => attachProfile(fd, target.unit, target.value) }];
    case "tracepoint": {
      const root = ensureTracefs();
      return resolveTracepoints(target.category, target.name, root).map((tp) => ({
        probe: `tracepoint:${tp.category}:${tp.name}`,
        attach: (fd) => attachTracepoint(fd, tp),
      }));
    }
    case "uprobe":
    case "uretprobe":
    case "usdt":
      throw new TraceError(`${target.type} probes cannot be attached yet`);
  }
}
