// Attaching programs by probe kind. Planning (resolving what a target stands for: tracepoint ids,
// wildcard matches; grouping uprobe locations) is separate from attaching, so that every name is
// checked and the probes counted ("Attaching N probes...") before anything is attached.
import type { ProbeTarget } from "../../compiler/probes/index.js";
import type { CompiledScript, ProgramSpec } from "../../compiler/program.js";
import { AttachType } from "../native.js";
import { ensureTracefs } from "../tracefs.js";
import type { Detach } from "./common.js";
import { softwareEvent, softwarePeriod } from "../../compiler/probes/software.js";
import { attachInterval, attachProfile, attachSoftware } from "./perf.js";
import { attachTracepoint, resolveTracepoints } from "./tracepoint.js";
import { attachUprobe, attachUprobeMulti, type UprobeSite } from "./uprobe.js";

import { TraceError } from "./common.js";
export { TraceError, type Detach } from "./common.js";

/** One attachment to make: what it is (for messages) and how to make it. */
export interface PlannedAttach {
  /** e.g. "tracepoint:syscalls:sys_enter_openat", "interval:ms:10" */
  probe: string;
  /** How many probes it stands for in "Attaching N probes..." (default 1). */
  probes?: number;
  /** `warn` receives warnings to print on stderr (locations of a wildcard that are skipped). */
  attach(progFd: number, warn?: (message: string) => void): Detach;
}

/** Whether a target needs tracefs (so that it is mounted before planning). */
export function needsTracefs(target: ProbeTarget): boolean {
  return target.type === "tracepoint";
}

/**
 * The attachments for one program's target: one per tracepoint a wildcard matches, one for an
 * interval or profile probe, none for BEGIN and END (run with BPF_PROG_TEST_RUN). Throws a
 * TraceError for targets that do not exist. User-space probes need their locations and are
 * grouped across programs: see planScript.
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
    case "software": {
      const event = softwareEvent(target.event);
      if (event === undefined) throw new TraceError(`${target.event} is not a software probe`);
      const probe = `software:${target.event}${target.count !== undefined ? `:${target.count}` : ""}`;
      return [{ probe, attach: (fd) => attachSoftware(fd, event, softwarePeriod(target), probe) }];
    }
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
      throw new Error(`${target.type} probes are planned with their locations: use planScript`);
  }
}

/** How to load one program. */
export interface LoadPlan {
  /** expected_attach_type of BPF_PROG_LOAD (BPF_TRACE_UPROBE_MULTI for a multi-uprobe link). */
  expectedAttachType?: number;
}

export interface ScriptPlan {
  /**
   * Per program: how to load it, or undefined when it is not loaded at all (a uprobe location
   * attached with the program of another location of its probe, see planScript).
   */
  loads: Array<LoadPlan | undefined>;
  /** Per program: the attachments to make with its fd (none for programs not loaded). */
  attaches: PlannedAttach[][];
  /** What "Attaching N probes..." says: BEGIN, END and every location count one. */
  probeCount: number;
}

export interface PlanOptions {
  /** Scope uprobes, uretprobes and USDT probes to this process (-p PID, -c CMD). */
  pid?: number;
  /**
   * false: every uprobe location gets its own perf event of the uprobe PMU, as on kernels
   * without multi-uprobe links (before 6.6). Default true.
   */
  multi?: boolean;
}

/** The probe id (the `probe` builtin's value, in probeNames) of each program. */
export function probeIds(script: Pick<CompiledScript, "programs" | "probeNames">): number[] {
  return script.programs.map((p, i) => (script.probeNames[i] === p.probeName ? i : script.probeNames.indexOf(p.probeName)));
}

/** Whether two programs would load the same: same type, bytecode and map relocations. */
function sameCode(a: ProgramSpec, b: ProgramSpec): boolean {
  if (a.progType !== b.progType || a.bytecode.length !== b.bytecode.length || a.mapRelocations.length !== b.mapRelocations.length) return false;
  for (let i = 0; i < a.bytecode.length; i++) if (a.bytecode[i] !== b.bytecode[i]) return false;
  return a.mapRelocations.every((r, i) => r.slot === b.mapRelocations[i]!.slot && r.map === b.mapRelocations[i]!.map);
}

/** BPF_JMP|BPF_CALL of helper 174, bpf_get_attach_cookie. */
function callsAttachCookie(p: ProgramSpec): boolean {
  const b = p.bytecode;
  for (let i = 0; i + 8 <= b.length; i += 8) {
    if (b[i] === 0x85 && (b[i + 1]! & 0xf0) === 0 && b[i + 4] === 174 && b[i + 5] === 0 && b[i + 6] === 0 && b[i + 7] === 0) return true;
  }
  return false;
}

/**
 * Plans a whole script: how each program is loaded, what each attaches to, and the probe count.
 *
 * User-space locations are taken per probe (same probeIndex), file and direction (entry or
 * return): a "set". A set of one location (`uprobe:/bin/bash:readline`) gets a perf event of the
 * uprobe PMU. A set of several (a wildcard, a USDT probe with several sites) is attached with
 * multi-uprobe links: its programs are split by bytecode, and each distinct program is loaded
 * once, with expected_attach_type BPF_TRACE_UPROBE_MULTI, and attached to all of its locations
 * by ONE link; the other programs of its kind are not loaded at all. Today the compiler bakes the
 * `probe` builtin's id into each program (and rip-relative USDT arguments their address), so
 * such programs differ and get a link each: still three times cheaper to detach than a perf
 * event (about 45 ms against 135 ms here, and perf events are closed one after another under a
 * kernel mutex). Every location gets its probe id as BPF cookie.
 */
export function planScript(script: Pick<CompiledScript, "programs" | "probeNames">, options: PlanOptions = {}): ScriptPlan {
  const { programs } = script;
  const ids = probeIds(script);
  const loads: Array<LoadPlan | undefined> = programs.map(() => ({}));
  const attaches: PlannedAttach[][] = programs.map(() => []);
  const site = (i: number): UprobeSite => {
    const p = programs[i]!;
    const loc = p.location;
    if (loc.kind !== "uprobe") throw new Error(`${p.probeName} has no uprobe location`);
    return {
      probe: p.probeName,
      path: loc.path,
      offset: loc.offset,
      retprobe: loc.retprobe,
      ...(loc.refCtrOffset !== undefined ? { refCtrOffset: loc.refCtrOffset } : {}),
      cookie: BigInt(Math.max(ids[i]!, 0)),
    };
  };
  // Sets of user-space locations, in program order.
  const sets = new Map<string, number[]>();
  programs.forEach((p, i) => {
    if (p.location.kind !== "uprobe") {
      if (p.target.type === "uprobe" || p.target.type === "uretprobe" || p.target.type === "usdt") throw new Error(`${p.probeName} has no location to attach to`);
      attaches[i] = planAttach(p.target);
      return;
    }
    const key = `${p.probeIndex}\0${p.location.path}\0${p.location.retprobe}`;
    const set = sets.get(key);
    if (set === undefined) sets.set(key, [i]);
    else set.push(i);
  });
  for (const set of sets.values()) {
    if (set.length === 1 || options.multi === false) {
      for (const i of set) {
        const s = site(i);
        const cookie = callsAttachCookie(programs[i]!);
        attaches[i] = [{ probe: s.probe, attach: (fd) => attachUprobe(fd, s, options.pid, cookie) }];
      }
      continue;
    }
    // Split by bytecode: one link per distinct program.
    const kinds: number[][] = [];
    for (const i of set) {
      const same = kinds.find((k) => sameCode(programs[k[0]!]!, programs[i]!));
      if (same !== undefined) same.push(i);
      else kinds.push([i]);
    }
    for (const kind of kinds) {
      const lead = kind[0]!;
      const sites = kind.map(site);
      loads[lead] = { expectedAttachType: AttachType.TRACE_UPROBE_MULTI };
      for (const i of kind.slice(1)) loads[i] = undefined;
      attaches[lead] = [{ probe: sites[0]!.probe, probes: sites.length, attach: (fd, warn) => attachUprobeMulti(fd, sites, options.pid, warn) }];
    }
  }
  let probeCount = 0;
  programs.forEach((p, i) => {
    if (p.target.type === "BEGIN" || p.target.type === "END") probeCount += 1;
    else for (const a of attaches[i]!) probeCount += a.probes ?? 1;
  });
  return { loads, attaches, probeCount };
}
