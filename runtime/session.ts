// A run of a compiled script: create the maps, load the programs, run BEGIN, attach the probes,
// print what the programs send, and on exit() / SIGINT / SIGTERM / abort detach everything, run
// END, print the maps and close every fd. Output is bpftrace 0.17's, byte for byte.
//
// Order of a run (as bpftrace 0.17 shows it):
//   1. checks that need nothing created: privileges, tracefs, every attach target resolved;
//   2. maps created, `.state` written, programs loaded (a verifier rejection is a compiler bug:
//      status 2 with the disassembly and the verifier log);
//   3. the ring buffer consumer opened, BEGIN test-run (its records wait in the ring);
//   4. "Attaching N probes..." (N counts BEGIN, END and every tracepoint a wildcard matches),
//      every other probe attached, then __BPFTRACE_NOTIFY_PROBES_ATTACHED (stderr) if asked;
//   5. records delivered in the order the kernel wrote them, BEGIN's first; a system() record
//      runs its command without blocking the event loop, the records behind it waiting (and
//      not run after SIGINT);
//   6. stop: on exit() the records after it are dropped (bpftrace ignores them too; probes
//      keep running until detached, as bpftrace's do); every probe detached; END test-run and
//      its records delivered; "Lost N events" if any; "\n\n" and every user map by name; a
//      warning on stderr when map updates failed;
//   7. everything closed, in reverse order, on every path (errors included).
import { readFileSync } from "node:fs";
import type { CompiledScript, MapSpec, ProgramSpec } from "../compiler/program.js";
import { MAP_TYPE } from "../compiler/program.js";
import { closeQuietly, detachAll, errnoText, TraceError, type Detach } from "./attach/common.js";
import { needsTracefs, planScript, type PlannedAttach } from "./attach/index.js";
import { watchPid, type HeldChild } from "./child.js";
import { decodeRecord, type StackReader } from "./decode.js";
import type { MapSnapshot } from "./format/text.js";
import { clearMap, readCounters, readMapSnapshot, writeState, zeroMap } from "./maps.js";
import { native, type Native, type NativeError, type RingBuffer } from "./native.js";
import type { Symbolizer } from "./format/values.js";
import { catFile, DEFAULT_CAT_BYTES_MAX, runCommand } from "./commands.js";
import { joinText, NOTIFY_ATTACHED_LINE, printfText, textSink, timeText, type OutputSink } from "./output.js";
import { ensureTracefs } from "./tracefs.js";
import { stackReader } from "./stacks.js";

export interface RunOptions {
  /** Receives everything bpftrace prints to stdout. */
  stdout: (s: string) => void;
  /** Receives errors and warnings. */
  stderr: (s: string) => void;
  /** Receives the report of the error that ends a failed run (default: `stderr`). */
  fatal?: (s: string) => void;
  /** Print __BPFTRACE_NOTIFY_PROBES_ATTACHED (to stderr, like bpftrace) once attached. */
  notifyAttached?: boolean;
  /** Stops the run like SIGINT does. */
  signal?: AbortSignal;
  /** The child command's pid (the `cpid` builtin); 0 when there is none. */
  cpid?: number;
  /** -p PID: user-space probes fire only in this process; the run ends when it exits. */
  pid?: number;
  /**
   * -c CMD: the command, started held (runtime/child.ts). Implies `pid` and `cpid`; released
   * once every probe is attached; the run ends when it exits. Ending it is the caller's job.
   */
  child?: HeldChild;
  /** Leave out the "Attaching N probes..." banner (bpftrace -q). */
  quiet?: boolean;
  /** Handle SIGINT and SIGTERM by stopping the run (default true). */
  handleSignals?: boolean;
  /** Where the output goes (default: bpftrace's text, to `stdout` and `stderr`). */
  sink?: OutputSink;
  /** Turns addresses (usym, func, ustack and kstack frames) into symbol names, in printf's %s and, without a `sink`, everywhere. */
  symbolize?: Symbolizer;
  /** cat() prints at most this many bytes of a file (bpftrace's $BPFTRACE_CAT_BYTES_MAX; default 10240). */
  catBytesMax?: number;
  /** Called with a reader of every user map once they exist, and with undefined before they are closed. */
  exposeMaps?: (read: (() => MapSnapshot[]) | undefined) => void;
}

export interface RunResult {
  /** 0: success; 1: an error the user can act on; 2: an internal error (a bug). */
  exitCode: number;
}

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_INTERNAL = 2;

/** Runs a compiled script until exit(), SIGINT, SIGTERM or the abort signal; see the top of this file. */
export async function runScript(script: CompiledScript, options: RunOptions): Promise<RunResult> {
  return new Session(script, options).run();
}

// CAP_PERFMON and CAP_BPF (linux/capability.h).
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/** Whether this process may load and attach tracing programs: root, or CAP_BPF + CAP_PERFMON. */
export function hasTracingPrivileges(): boolean {
  if (typeof process.getuid === "function" && process.getuid() === 0) return true;
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const m = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(status);
    if (m === null) return false;
    const caps = BigInt(`0x${m[1]}`);
    return ((caps >> CAP_BPF) & 1n) === 1n && ((caps >> CAP_PERFMON) & 1n) === 1n;
  } catch {
    return false;
  }
}

/** The name a map gets in the kernel: at most 15 characters of [A-Za-z0-9_.]. */
export function kernelMapName(spec: MapSpec): string {
  const base = spec.name.startsWith("@") ? spec.name.slice(1) : spec.name;
  return base.replace(/[^A-Za-z0-9_.]/g, "_").slice(0, 15);
}

/** Map, program and ring buffer handles, closed in reverse order of creation. */
class Resources {
  private readonly closers: Array<() => void> = [];

  add(close: () => void): void {
    this.closers.push(close);
  }

  closeAll(): void {
    while (this.closers.length > 0) {
      try {
        this.closers.pop()!();
      } catch {
        // keep closing the rest
      }
    }
  }
}

type StopReason = "exit" | "signal" | "error" | "traced-exit";

class Session {
  /** The addon (loaded on first use, so that a missing build is reported like any failure). */
  private get n(): Native {
    return native();
  }
  private readonly resources = new Resources();
  private readonly detaches: Detach[] = [];
  private mapFds: number[] = [];
  /** Reads ustack and kstack values' frames from the stack maps (once the maps exist). */
  private stacks: StackReader | undefined;
  private readonly mapsByName = new Map<string, { fd: number; spec: MapSpec }>();
  private ring: RingBuffer | undefined;
  /** The `.events` map, and whether its consumer is closed for good or paused (see pauseRing). */
  private ringFd: number | undefined;
  private closed = false;
  private ringPaused = false;
  /** Records taken from the ring, not handled yet (from queueHead on); see pump(). */
  private queue: Uint8Array[] = [];
  private queueHead = 0;
  /** The system() command being run: the pump waits for it. */
  private running: Promise<void> | undefined;
  /** After exit(): records are dropped until END runs (bpftrace does the same). */
  private dropping = false;
  private stopReason: StopReason | undefined;
  private failure: unknown;
  private wake: (() => void) | undefined;
  private sinkCache: OutputSink | undefined;
  private get sink(): OutputSink {
    return (this.sinkCache ??= this.options.sink ?? textSink(this.options.stdout, this.options.stderr, this.options.symbolize ? { symbolize: this.options.symbolize } : {}));
  }

  constructor(
    private readonly script: CompiledScript,
    private readonly options: RunOptions,
  ) {}

  async run(): Promise<RunResult> {
    const cleanups: Array<() => void> = [];
    try {
      return await this.lifecycle(cleanups);
    } catch (e) {
      return await this.report(e);
    } finally {
      for (const c of cleanups.reverse()) c();
      detachAll(this.detaches);
      this.options.exposeMaps?.(undefined);
      this.resources.closeAll();
    }
  }

  private async report(e: unknown): Promise<RunResult> {
    const fatal = this.options.fatal ?? this.options.stderr;
    if (e instanceof TraceError) {
      fatal(`ERROR: ${e.message}\n`);
      return { exitCode: EXIT_ERROR };
    }
    if (e instanceof VerifierRejection) {
      fatal(await e.report());
      return { exitCode: EXIT_INTERNAL };
    }
    const message = e instanceof Error ? e.message : String(e);
    fatal(`bpfts: internal error: ${message}\n`);
    return { exitCode: EXIT_INTERNAL };
  }

  private async lifecycle(cleanups: Array<() => void>): Promise<RunResult> {
    const { script, options } = this;
    // 1. Checks that create nothing.
    if (!hasTracingPrivileges()) throw new TraceError("tracing needs root (or CAP_BPF and CAP_PERFMON)");
    if (script.programs.some((p) => needsTracefs(p.target))) ensureTracefs();
    const tracedPid = options.pid ?? options.child?.pid;
    const { loads, attaches: plans, probeCount } = planScript(script, tracedPid !== undefined ? { pid: tracedPid } : {});

    // 2. Maps, state, programs.
    this.createMaps();
    this.stacks = stackReader([...this.mapsByName.values()], (m) => this.options.stderr(`ERROR: ${m}\n`));
    options.exposeMaps?.(() => this.snapshots());
    const state = this.internalMap(".state");
    if (state !== undefined) writeState(state, { startNs: process.hrtime.bigint(), cpid: options.cpid ?? options.child?.pid ?? 0 });
    // Programs of a multi-uprobe group other than the first are not loaded (fd -1, no attachments).
    const progFds = script.programs.map((p, i) => (loads[i] === undefined ? -1 : this.load(p, loads[i].expectedAttachType)));

    // 3. The ring buffer, then BEGIN.
    const events = this.internalMap(".events");
    if (events !== undefined) {
      this.ringFd = events;
      this.openRing();
      this.resources.add(() => {
        this.closed = true;
        this.ring?.close();
      });
    }
    const stopped = new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    this.watchStops(cleanups);
    const begin = script.programs.findIndex((p) => p.target.type === "BEGIN");
    if (begin >= 0) this.testRun(progFds[begin]!, script.programs[begin]!);

    // 4. Attach.
    if (!options.quiet) this.sink.attached(probeCount);
    // The kernel runs the programs of one uprobe newest first: attach those in reverse, so that
    // they run in the script's order (as bpftrace's do).
    const order = script.programs.map((_, i) => i);
    const uprobes = order.filter((i) => script.programs[i]!.location.kind === "uprobe");
    for (const i of [...order.filter((i) => !uprobes.includes(i)), ...uprobes.reverse()]) {
      for (const plan of plans[i]!) this.attach(plan, progFds[i]!);
    }
    this.watchTraced(cleanups);
    if (options.notifyAttached) options.stderr(NOTIFY_ATTACHED_LINE);

    // 5. BEGIN's records, then everything else as it comes.
    this.poll();
    if (options.signal?.aborted) this.requestStop("signal");
    if (this.stopReason === undefined) await stopped;
    if (this.stopReason === "error") throw this.failure;

    // 6. Stop.
    await this.settle(); // a system() command still running, and the records behind it
    // exit() stops the run from user space, as in bpftrace: probes keep firing until they are
    // detached. Like bpftrace's, our teardown is not instant: it waits one turn of the event loop
    // (a millisecond), so that a traced process preempted by the exit record's wakeup runs on.
    if (this.stopReason === "exit") await new Promise((resolve) => setTimeout(resolve, 1));
    detachAll(this.detaches);
    await this.drain(); // records written before the probes were detached (dropped after exit())
    this.dropping = false;
    const end = script.programs.findIndex((p) => p.target.type === "END");
    if (end >= 0) this.testRun(progFds[end]!, script.programs[end]!);
    await this.drain();
    if (this.failure !== undefined) throw this.failure;
    const counters = this.internalMap(".counters");
    const losses = counters === undefined ? undefined : readCounters(counters);
    if (losses !== undefined && losses.lostEvents > 0n) this.sink.lostEvents(losses.lostEvents);
    this.sink.exit(this.snapshots());
    if (losses !== undefined && losses.mapUpdateFailures > 0n) this.sink.mapUpdateFailures(losses.mapUpdateFailures);
    return { exitCode: EXIT_OK };
  }

  private createMaps(): void {
    this.mapFds = this.script.maps.map((spec) => {
      let fd: number;
      try {
        fd = this.n.mapCreate({
          type: MAP_TYPE[spec.kind],
          keySize: spec.keySize,
          valueSize: spec.valueSize,
          maxEntries: spec.maxEntries,
          name: kernelMapName(spec),
        });
      } catch (e) {
        throw new TraceError(`cannot create map ${spec.name}: ${errnoText(e)}`);
      }
      this.resources.add(() => closeQuietly(fd));
      this.mapsByName.set(spec.name, { fd, spec });
      return fd;
    });
  }

  private internalMap(name: string): number | undefined {
    return this.mapsByName.get(name)?.fd;
  }

  private load(p: ProgramSpec, expectedAttachType?: number): number {
    const insns = new Uint8Array(p.bytecode);
    const view = new DataView(insns.buffer);
    for (const r of p.mapRelocations) {
      const fd = this.mapFds[r.map];
      if (fd === undefined) throw new Error(`program for ${p.probeName} refers to map ${r.map}, but the script has ${this.mapFds.length}`);
      view.setInt32(r.slot * 8 + 4, fd, true);
    }
    let fd: number;
    // The verifier gives up with EAGAIN when a signal is pending (a Ctrl-C handler, a child
    // exiting): it is retried, a few times, as libbpf does.
    for (let attempt = 1; ; attempt++) {
      try {
        fd = this.n.progLoad({ type: p.progType, insns, license: "GPL", name: p.name, ...(expectedAttachType !== undefined ? { expectedAttachType } : {}) }).fd;
        break;
      } catch (e) {
        if ((e as NativeError).code !== "EAGAIN" || attempt >= 5) throw this.loadError(p, e);
      }
    }
    this.resources.add(() => closeQuietly(fd));
    return fd;
  }

  private loadError(p: ProgramSpec, e: unknown): Error {
    const err = e as NativeError;
    if (err.code === "EPERM") return new TraceError(`cannot load the program for ${p.probeName}: ${errnoText(e)}`);
    return new VerifierRejection(this.script, p, err);
  }

  /** Runs a BEGIN or END program once (BPF_PROG_TEST_RUN). */
  private testRun(fd: number, p: ProgramSpec): void {
    try {
      this.n.progTestRun(fd);
    } catch (e) {
      throw new Error(`running ${p.probeName} failed: ${(e as Error).message}`);
    }
  }

  private attach(plan: PlannedAttach, progFd: number): void {
    this.detaches.push(plan.attach(progFd, (m) => this.options.stderr(m)));
  }

  /** Stops on SIGINT, SIGTERM and the abort signal; the handlers go away when the run ends. */
  private watchStops(cleanups: Array<() => void>): void {
    const onStop = () => this.requestStop("signal");
    if (this.options.handleSignals !== false) {
      for (const sig of ["SIGINT", "SIGTERM"] as const) {
        process.on(sig, onStop);
        cleanups.push(() => process.off(sig, onStop));
      }
    }
    const signal = this.options.signal;
    if (signal !== undefined) {
      signal.addEventListener("abort", onStop);
      cleanups.push(() => signal.removeEventListener("abort", onStop));
    }
  }

  /** -c: releases the child; -c and -p: stops the run when the traced process exits. */
  private watchTraced(cleanups: Array<() => void>): void {
    const { child, pid } = this.options;
    if (child !== undefined) {
      let watching = true;
      cleanups.push(() => (watching = false));
      void child.exited.then(() => {
        if (watching) this.requestStop("traced-exit");
      });
      child.release();
    } else if (pid !== undefined) {
      cleanups.push(watchPid(pid, () => this.requestStop("traced-exit")));
    }
  }

  private requestStop(reason: StopReason): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = reason;
    this.wake?.();
  }

  /** Delivers every record waiting in the ring buffer now (those a system() command waits for stay queued). */
  private poll(): number {
    return this.ring?.poll() ?? 0;
  }

  private openRing(): void {
    if (this.ringFd === undefined || this.closed) return;
    this.ring = this.n.ringbufOpen(this.ringFd, (records) => this.onRecords(records));
    this.ringPaused = false;
  }

  /**
   * While a system() command runs, the records behind it wait in `queue`, and no more are taken
   * from the ring (closing the consumer; the kernel keeps what it holds, and counts what does not
   * fit as lost): the queue never holds more than one ring's worth.
   */
  private pauseRing(): void {
    if (this.ring === undefined || this.ring.closed) return;
    this.ring.close();
    this.ringPaused = true;
  }

  private resumeRing(): void {
    if (this.ringPaused) this.openRing();
  }

  /** The ring buffer callback: records of one batch, in the kernel's order. Never throws. */
  private onRecords(records: Uint8Array[]): void {
    if (this.queueHead === this.queue.length) {
      this.queue = records;
      this.queueHead = 0;
    } else {
      for (const r of records) this.queue.push(r);
    }
    this.pump();
  }

  /**
   * Handles the queued records in order. A system() record starts its command and stops the pump
   * until the command is done (and its output printed); then the pump goes on with the next one.
   */
  private pump(): void {
    if (this.running !== undefined) return;
    while (this.queueHead < this.queue.length) {
      const r = this.queue[this.queueHead++]!;
      if (this.dropping || this.failure !== undefined) continue;
      let pending: Promise<void> | undefined;
      try {
        pending = this.handle(r);
      } catch (e) {
        this.fail(e);
        continue;
      }
      if (pending !== undefined) {
        this.pauseRing();
        this.running = pending.then(
          () => this.resumePump(),
          (e: unknown) => {
            this.fail(e);
            this.resumePump();
          },
        );
        return;
      }
    }
    this.queue = [];
    this.queueHead = 0;
    this.resumeRing();
  }

  private resumePump(): void {
    this.running = undefined;
    this.pump();
  }

  private fail(e: unknown): void {
    this.failure ??= e;
    this.requestStop("error");
  }

  /** Resolves once no system() command runs and every queued record is handled. */
  private async settle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /** Handles every record in the ring (probes detached: no more come), system() commands included. */
  private async drain(): Promise<void> {
    for (;;) {
      await this.settle();
      if (this.poll() === 0 && this.running === undefined) return;
    }
  }

  /** Handles one record; returns a promise when it started a system() command. */
  private handle(bytes: Uint8Array): Promise<void> | undefined {
    const { script, options } = this;
    const rec = decodeRecord(script.events, script.probeNames, bytes, this.stacks);
    const event = rec.event;
    switch (event.kind) {
      case "printf":
        this.sink.printf(printfText(event, rec.values, this.options.symbolize ? { symbolize: this.options.symbolize } : {}));
        return;
      case "cat": {
        const path = printfText(event, rec.values, this.options.symbolize ? { symbolize: this.options.symbolize } : {});
        const r = catFile(path, options.catBytesMax ?? DEFAULT_CAT_BYTES_MAX);
        if ("error" in r) options.stderr(`ERROR: ${r.error}\n`);
        else this.sink.cat(r.text);
        return;
      }
      case "system": {
        // After SIGINT the run ends as soon as it can: commands still waiting are not run.
        if (this.stopReason === "signal") return;
        const command = printfText(event, rec.values, this.options.symbolize ? { symbolize: this.options.symbolize } : {});
        return runCommand(command).output.then((text) => {
          if (!this.closed) this.sink.syscall(text);
        });
      }
      case "join":
        this.sink.join(joinText(event.delim, rec.values));
        return;
      case "helper_error": {
        const { helper, file, line, column, length, source } = event;
        this.sink.helperError({ helper, retcode: rec.values[0] as bigint, file, line, column, length, source });
        return;
      }
      case "print_value":
        this.sink.value(event.value.type, rec.values[0]!);
        return;
      case "print_map": {
        const m = this.userMap(event.map);
        this.sink.map(readMapSnapshot(m.fd, m.spec, { probeNames: script.probeNames, stacks: this.stacks }), { top: event.top, div: event.div });
        return;
      }
      case "clear_map": {
        const m = this.userMap(event.map);
        clearMap(m.fd, m.spec);
        return;
      }
      case "zero_map": {
        const m = this.userMap(event.map);
        zeroMap(m.fd, m.spec);
        return;
      }
      case "time": {
        const text = timeText(event.format, new Date());
        if (text === undefined) options.stderr("ERROR: strftime returned 0\n");
        else this.sink.time(text);
        return;
      }
      case "exit":
        this.dropping = true;
        this.requestStop("exit");
        return;
    }
  }

  private userMap(name: string): { fd: number; spec: MapSpec } {
    const m = this.mapsByName.get(name);
    if (m === undefined || m.spec.user === undefined) throw new Error(`the script has no map ${name}`);
    return m;
  }

  /** Every user map, read for the exit report. */
  private snapshots(): MapSnapshot[] {
    const out: MapSnapshot[] = [];
    for (const { fd, spec } of this.mapsByName.values()) {
      if (spec.user !== undefined) out.push(readMapSnapshot(fd, spec, { probeNames: this.script.probeNames, stacks: this.stacks }));
    }
    return out;
  }
}

/** The kernel refused a generated program: a compiler bug, reported with everything needed. */
class VerifierRejection extends Error {
  constructor(
    private readonly script: CompiledScript,
    private readonly program: ProgramSpec,
    private readonly error: NativeError,
  ) {
    super(`the kernel rejected the program for ${program.probeName}: ${errnoText(error)}`);
  }

  /** The message, the program's disassembly and the verifier's log. */
  async report(): Promise<string> {
    // Loaded only here: the disassembler is not needed on the normal path.
    const { disassembleProgram } = await import("../compiler/compile.js");
    const disassembly = disassembleProgram(this.script, this.program);
    return (
      `bpfts: internal error: ${this.message}\n` +
      `${disassembly}${disassembly.endsWith("\n") ? "" : "\n"}` +
      logTail(this.error.log ?? "", VERIFIER_LOG_LINES)
    );
  }
}

/** How many lines of a verifier log are printed: the end, where the reason is. */
export const VERIFIER_LOG_LINES = 200;

/** The last `max` lines of a log (each ending in "\n"), saying how many were left out. */
export function logTail(log: string, max: number): string {
  if (log === "") return "";
  const lines = log.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const kept = lines.length > max ? lines.slice(-max) : lines;
  const omitted = lines.length - kept.length;
  const note = `... (${omitted} earlier ${omitted === 1 ? "line" : "lines"} of the verifier log left out)\n`;
  return (omitted > 0 ? note : "") + kept.map((l) => `${l}\n`).join("");
}
