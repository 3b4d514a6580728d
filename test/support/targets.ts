// Test targets for user-space probes: the C and C++ sources in test/targets/ built with gcc/g++
// into a cache folder under the system's temp dir (keyed by a hash of the sources, the flags and
// the compiler's version, so a build is reused across test files and runs), a driver for the
// `tracetest` process (commands on its stdin, replies on its stdout), and checks that nothing of
// a run stays behind in the kernel.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { compile } from "../../compiler/compile.js";
import { formatDiagnostics } from "../../compiler/index.js";
import type { CompiledScript } from "../../compiler/program.js";
import { native, type ObjKind } from "../../runtime/native.js";
import { runScript, type RunOptions } from "../../runtime/session.js";

export const TARGETS_SOURCE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "targets");

export type OptLevel = "O0" | "O2";

export interface Targets {
  /** The folder holding everything built for this level. */
  dir: string;
  /** tracetest (tracetest.c + tracetest_sem.c, linked to libtracetest.so). */
  tracetest: string;
  /** libtracetest.so */
  lib: string;
  /** thrower (C++, g++). */
  thrower: string;
  /** pyfunc.py (copied, for python3.11 -c runs). */
  pyScript: string;
}

function sources(): Array<{ name: string; text: string }> {
  return readdirSync(TARGETS_SOURCE_DIR)
    .sort()
    .map((name) => ({ name, text: readFileSync(join(TARGETS_SOURCE_DIR, name), "utf8") }));
}

function compilerVersion(cmd: string): string {
  return execFileSync(cmd, ["--version"], { encoding: "utf8" }).split("\n")[0]!;
}

const built = new Map<OptLevel, Targets>();

/** Part of the cache key: bump when the build commands below change. */
const RECIPE = "gcc -g -Wall; tracetest + tracetest_sem linked to libtracetest.so (rpath $ORIGIN); thrower with g++; v1";

/** Builds (once per level, cached on disk) the targets at -O0 or -O2. */
export function buildTargets(opt: OptLevel): Targets {
  const done = built.get(opt);
  if (done !== undefined) return done;
  const hash = createHash("sha256");
  hash.update(`${RECIPE}\n${opt}\n${compilerVersion("gcc")}\n${compilerVersion("g++")}\n`);
  for (const s of sources()) hash.update(`${s.name}\n${s.text}\n`);
  const dir = join(tmpdir(), `bpfts-targets-${opt}-${hash.digest("hex").slice(0, 16)}`);
  const t: Targets = {
    dir,
    tracetest: join(dir, "tracetest"),
    lib: join(dir, "libtracetest.so"),
    thrower: join(dir, "thrower"),
    pyScript: join(dir, "pyfunc.py"),
  };
  buildOnce(dir, "the test targets", (work) => {
    const src = (f: string) => join(TARGETS_SOURCE_DIR, f);
    const cc = (args: string[]) => execFileSync("gcc", [`-${opt}`, "-g", "-Wall", ...args], { stdio: "pipe" });
    cc(["-fPIC", "-shared", "-o", join(work, "libtracetest.so"), src("libtracetest.c")]);
    cc(["-o", join(work, "tracetest"), src("tracetest.c"), src("tracetest_sem.c"), `-L${work}`, "-ltracetest", "-Wl,-rpath,$ORIGIN", "-pthread"]);
    execFileSync("g++", [`-${opt}`, "-g", "-o", join(work, "thrower"), src("thrower.cpp")], { stdio: "pipe" });
    execFileSync("cp", [src("pyfunc.py"), join(work, "pyfunc.py")]);
  });
  built.set(opt, t);
  return t;
}

/**
 * Makes `dir` hold what `build` writes, unless an earlier build completed it. The build runs in a
 * folder of its own that is renamed into place, so a concurrent or interrupted build never leaves
 * a half-built folder where a complete one is expected.
 */
export function buildOnce(dir: string, what: string, build: (work: string) => void): void {
  if (existsSync(join(dir, ".complete"))) return;
  const work = mkdtempSync(join(tmpdir(), "bpfts-build-"));
  try {
    build(work);
    execFileSync("touch", [join(work, ".complete")]);
    try {
      renameSync(work, dir);
    } catch (e) {
      // Another build won the race: use its result.
      if (!existsSync(join(dir, ".complete"))) throw e;
      rmSync(work, { recursive: true, force: true });
    }
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`building ${what} failed: ${(e as Error).message}\n${stderr}`);
  }
}

// ---- the tracetest process ---------------------------------------------------------------------

/** A running `tracetest` reading commands from its stdin. */
export class TraceTarget {
  readonly pid: number;
  private buffer = "";
  private lines: string[] = [];
  private waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;
  /** Everything it printed. */
  output = "";

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    this.pid = child.pid!;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      this.output += d;
      this.buffer += d;
      let nl: number;
      while ((nl = this.buffer.indexOf("\n")) >= 0) {
        this.lines.push(this.buffer.slice(0, nl));
        this.buffer = this.buffer.slice(nl + 1);
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.exited = new Promise((ok) => child.on("exit", (code) => ok(code)));
  }

  /** Starts `binary` (a tracetest) and waits for its "ready PID" line. */
  static async start(binary: string): Promise<TraceTarget> {
    const child = spawn(binary, [], { stdio: ["pipe", "pipe", "pipe"] });
    const t = new TraceTarget(child);
    const first = await t.nextLine(10_000);
    if (first !== `ready ${t.pid}`) throw new Error(`${binary} said ${JSON.stringify(first)}, not "ready ${t.pid}"`);
    return t;
  }

  private async nextLine(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (Date.now() > deadline) throw new Error(`tracetest ${this.pid}: no reply within ${timeoutMs} ms (output so far: ${JSON.stringify(this.output)})`);
      await new Promise<void>((ok) => {
        const timer = setTimeout(ok, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          ok();
        });
      });
    }
    return this.lines.shift()!;
  }

  /** Sends one command line; resolves with the lines it printed before "ok". */
  async command(line: string, timeoutMs = 10_000): Promise<string[]> {
    this.child.stdin.write(`${line}\n`);
    const out: string[] = [];
    for (;;) {
      const l = await this.nextLine(timeoutMs);
      if (l === "ok") return out;
      if (l.startsWith("unknown ")) throw new Error(`tracetest: ${l}`);
      out.push(l);
    }
  }

  /** Asks it to exit and waits for it. */
  async quit(): Promise<void> {
    if (this.child.exitCode === null) this.child.stdin.end("quit\n");
    await this.exited;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

/** The address where file offset `offset` of `path` is mapped in process `pid`. */
export function addressOfFileOffset(pid: number, path: string, offset: number): bigint {
  for (const line of readFileSync(`/proc/${pid}/maps`, "utf8").split("\n")) {
    // start-end perms offset dev inode path
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s+(.*)$/.exec(line);
    if (m === null || m[4] !== path) continue;
    const start = BigInt(`0x${m[1]}`);
    const end = BigInt(`0x${m[2]}`);
    const fileOff = BigInt(`0x${m[3]}`);
    const want = BigInt(offset);
    if (want >= fileOff && want < fileOff + (end - start)) return start + (want - fileOff);
  }
  throw new Error(`file offset 0x${offset.toString(16)} of ${path} is not mapped in process ${pid}`);
}

/** Reads a u16 from another process's memory (/proc/PID/mem). */
export function readU16(pid: number, address: bigint): number {
  const buf = Buffer.alloc(2);
  const fd = openSync(`/proc/${pid}/mem`, "r");
  try {
    if (readSync(fd, buf, 0, 2, address) !== 2) throw new Error(`short read of process ${pid}'s memory at 0x${address.toString(16)}`);
  } finally {
    closeSync(fd);
  }
  return buf.readUInt16LE(0);
}

// ---- nothing left behind ---------------------------------------------------------------------------

function ids(kind: ObjKind): number[] {
  const n = native();
  const out: number[] = [];
  for (let id = n.getNextId(kind, 0); id !== null; id = n.getNextId(kind, id)) out.push(id);
  return out;
}

/** A BPF link as /proc/self/fdinfo shows it. */
export interface LinkSummary {
  id: number;
  /** e.g. "uprobe_multi", "perf" */
  type: string;
  progId: number;
}

/**
 * Every BPF link that exists now, read from the fdinfo of an fd opened by id. (Not through
 * objInfo: the kernel names fds opened by id "anon_inode:bpf-link", which objInfo refuses.)
 */
export function bpfLinks(): LinkSummary[] {
  const n = native();
  const out: LinkSummary[] = [];
  for (const id of ids("link")) {
    const fd = n.getFdById("link", id);
    if (fd === null) continue;
    try {
      const info = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
      const type = /^link_type:\s*(\S+)/m.exec(info)?.[1] ?? "?";
      const progId = Number(/^prog_id:\s*(\d+)/m.exec(info)?.[1] ?? -1);
      out.push({ id, type, progId });
    } finally {
      n.close(fd);
    }
  }
  return out;
}

export interface KernelSnapshot {
  progs: Set<number>;
  links: Set<number>;
}

/** The BPF programs and links that exist now. */
export function kernelSnapshot(): KernelSnapshot {
  return { progs: new Set(ids("prog")), links: new Set(ids("link")) };
}

/**
 * What a run left behind: programs created since `before` named like `progNames` (other
 * processes may load programs meanwhile), links created since `before` to those programs, and
 * lines of tracefs' uprobe_events naming `paths` (the uprobe PMU creates none; a leak through
 * tracefs would show there).
 */
export function leftovers(before: KernelSnapshot, progNames: ReadonlySet<string>, paths: readonly string[]): string[] {
  const n = native();
  const out: string[] = [];
  const newProgs = new Set<number>();
  for (const id of ids("prog")) {
    if (before.progs.has(id)) continue;
    const fd = n.getFdById("prog", id);
    if (fd === null) continue;
    try {
      const name = n.objInfo(fd, "prog").name;
      if (!progNames.has(name)) continue;
      newProgs.add(id);
      out.push(`prog ${id} (${name})`);
    } finally {
      n.close(fd);
    }
  }
  for (const l of bpfLinks()) {
    if (!before.links.has(l.id) && newProgs.has(l.progId)) out.push(`link ${l.id} (${l.type}, prog ${l.progId})`);
  }
  for (const root of ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]) {
    let events: string;
    try {
      events = readFileSync(join(root, "uprobe_events"), "utf8");
    } catch {
      continue;
    }
    for (const line of events.split("\n")) if (paths.some((p) => line.includes(p))) out.push(`uprobe_events: ${line}`);
    break;
  }
  return out;
}

/**
 * Waits (up to 3 s: the kernel frees a uprobe_multi link's program after an RCU grace period)
 * until nothing is left behind; returns what still is.
 */
export async function waitForNothingLeft(before: KernelSnapshot, progNames: ReadonlySet<string>, paths: readonly string[]): Promise<string[]> {
  const deadline = Date.now() + 3000;
  let left = leftovers(before, progNames, paths);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    left = leftovers(before, progNames, paths);
  }
  return left;
}

// ---- running scripts in-process --------------------------------------------------------------------

export interface TracedRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Milliseconds from "Attaching N probes..." to every probe attached. */
  attachMs: number;
  /** What the run left behind (see leftovers); [] when nothing. */
  left: string[];
}

export interface TracedRunOptions extends Partial<Omit<RunOptions, "stdout" | "stderr" | "signal" | "notifyAttached">> {
  /**
   * Called once every probe is attached; the run is stopped (like SIGINT) when the promise it
   * returns settles, unless the run ended first (exit(), the traced process exiting) or
   * `thenStop` is false. Without it the run goes on until exit() or the traced process exits.
   */
  whileAttached?: () => Promise<unknown> | unknown;
  /** Stop the run once whileAttached is done (default true). */
  thenStop?: boolean;
}

/** Compiles `text` (a -c run when options.child is given) and runs it in-process. */
export async function runTraced(text: string, options: TracedRunOptions = {}): Promise<TracedRun> {
  const r = compile(text, { file: "stdin", childCommand: options.child !== undefined });
  if (r.script === undefined) throw new Error(formatDiagnostics(r.diagnostics, r.source));
  return runCompiled(r.script, options);
}

/** Runs a compiled script in-process; see runTraced. */
export async function runCompiled(script: CompiledScript, options: TracedRunOptions = {}): Promise<TracedRun> {
  const { whileAttached, thenStop, ...rest } = options;
  const before = kernelSnapshot();
  const controller = new AbortController();
  const out: TracedRun = { exitCode: -1, stdout: "", stderr: "", attachMs: -1, left: [] };
  let attachStart = 0;
  let during: Promise<unknown> = Promise.resolve();
  const result = await runScript(script, {
    ...rest,
    signal: controller.signal,
    notifyAttached: true,
    handleSignals: false,
    stdout: (s) => {
      if (s.startsWith("Attaching ")) attachStart = performance.now();
      out.stdout += s;
    },
    stderr: (s) => {
      if (s !== "__BPFTRACE_NOTIFY_PROBES_ATTACHED\n") {
        out.stderr += s;
        return;
      }
      out.attachMs = performance.now() - attachStart;
      if (whileAttached === undefined) return;
      during = (async () => whileAttached())().finally(() => {
        if (thenStop !== false) controller.abort();
      });
    },
  });
  out.exitCode = result.exitCode;
  await during;
  const paths = [...new Set(script.programs.flatMap((p) => (p.location.kind === "uprobe" ? [p.location.path] : [])))];
  out.left = await waitForNothingLeft(before, new Set(script.programs.map((p) => p.name)), paths);
  return out;
}

/** Runs `fn` with a started target process, which is ended afterwards whatever happens. */
export async function withTarget<T>(binary: string, fn: (t: TraceTarget) => Promise<T>): Promise<T> {
  const t = await TraceTarget.start(binary);
  try {
    return await fn(t);
  } finally {
    t.kill();
    await t.exited;
  }
}
