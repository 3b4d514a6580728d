// The traced process of -c CMD and -p PID.
//
// -c CMD: the command is started held before its exec, so that its probes (scoped to its pid)
// are attached before it runs a single instruction of its own; released once every probe is
// attached; the run ends when it exits. Like bpftrace 0.17, CMD is split at spaces (no shell
// quoting), its first word found through PATH unless it holds a "/", and exec'd with argv[0] set
// to the resolved path, with our environment and our stdin, stdout and stderr.
//
// How it is held: `/bin/sh -c 'read -r _ <&3 && exec "$@" 3<&-'` with fd 3 a socket to us. The
// shell blocks in read(2) until release() writes a line; exec keeps the pid, so the pid known at
// spawn time is the command's. If we die before release, read sees EOF and the command never
// runs. Between the release and the exec the shell makes only a few libc calls (expanding "$@",
// closing fd 3, execve), much like bpftrace's own child (close, execve).
//
// -p PID: watched by polling /proc/PID/stat every 100 ms (fs.watch does not work on /proc); a
// zombie counts as exited.
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { delimiter, resolve } from "node:path";
import type { Writable } from "node:stream";

/** How a child ended: an exit code, or the signal that killed it. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A started command, held before its exec until release(). */
export interface HeldChild {
  /** Its pid (the same before and after exec). */
  readonly pid: number;
  /** The Node handle (its stdio streams when spawned with pipes). */
  readonly process: ChildProcess;
  /** Lets the command exec. Idempotent; a no-op once it has exited. */
  release(): void;
  /** Whether it has been released. */
  readonly released: boolean;
  /** Resolves once it has exited (and been reaped). */
  readonly exited: Promise<ChildExit>;
  /** Whether it has exited. */
  readonly hasExited: boolean;
  /**
   * Ends it if it is still running: SIGTERM, then SIGKILL after `graceMs` (a held child, which
   * never ran the command, is killed at once). Resolves once it has exited.
   */
  terminate(graceMs?: number): Promise<ChildExit>;
}

export type ChildStdio = "inherit" | "pipe" | "ignore";

export interface SpawnHeldOptions {
  /** stdin, stdout, stderr of the command (default "inherit" for all three). */
  stdio?: ChildStdio | [ChildStdio | number, ChildStdio | number, ChildStdio | number];
  /** Environment (default ours). */
  env?: NodeJS.ProcessEnv;
  /** PATH used to find the command (default env.PATH). */
  pathEnv?: string;
}

/** A failure to start the command, reported as bpftrace does ("Failed to fork child: ..."). */
export class ChildError extends Error {
  override name = "ChildError";
}

/** Splits a -c command as bpftrace 0.17 does: at spaces, empty words dropped. */
export function splitCommand(command: string): string[] {
  return command.split(" ").filter((w) => w !== "");
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The executable a command's first word names: a path as given (made absolute), else found through PATH. */
export function resolveCommand(word: string, pathEnv: string = process.env["PATH"] ?? ""): string | undefined {
  if (word.includes("/")) return isExecutableFile(word) ? resolve(word) : undefined;
  for (const dir of pathEnv.split(delimiter)) {
    if (dir === "") continue;
    const p = resolve(dir, word);
    if (isExecutableFile(p)) return p;
  }
  return undefined;
}

/** The command line the holding shell runs: wait for a line on fd 3, then exec the command. */
const HOLD_SCRIPT = 'read -r _ <&3 && exec "$@" 3<&-';

/** bpftrace's limit on the number of words of a -c command. */
const MAX_ARGS = 255;

/**
 * Starts `command` held before its exec. Resolves once the holding process runs (its pid is
 * known); throws a ChildError when the command cannot be found or the process not started.
 */
export async function spawnHeld(command: string, options: SpawnHeldOptions = {}): Promise<HeldChild> {
  const words = splitCommand(command);
  if (words.length === 0) throw new ChildError("Failed to fork child: the command is empty");
  const env = options.env ?? process.env;
  const path = resolveCommand(words[0]!, options.pathEnv ?? env["PATH"] ?? "");
  if (path === undefined) throw new ChildError(`Failed to fork child: path '${words[0]}' does not exist or is not executable`);
  if (words.length >= MAX_ARGS) throw new ChildError(`Failed to fork child: Too many arguments for command (${words.length} > ${MAX_ARGS - 1})`);
  const io = options.stdio ?? "inherit";
  const stdio: StdioOptions = typeof io === "string" ? [io, io, io, "pipe"] : ([...io, "pipe"] as StdioOptions);
  const child = spawn("/bin/sh", ["-c", HOLD_SCRIPT, "sh", path, ...words.slice(1)], { stdio, env });
  await new Promise<void>((ok, fail) => {
    child.once("spawn", ok);
    child.once("error", (e) => fail(new ChildError(`Failed to fork child: ${e.message}`)));
  });
  return new Held(child);
}

class Held implements HeldChild {
  readonly pid: number;
  released = false;
  hasExited = false;
  readonly exited: Promise<ChildExit>;
  private readonly gate: Writable;

  constructor(readonly process: ChildProcess) {
    const proc = process;
    this.pid = proc.pid!;
    this.gate = proc.stdio[3] as Writable;
    // An EPIPE after the child is gone is not ours to report.
    this.gate.on("error", () => {});
    this.exited = new Promise((ok) => {
      proc.once("exit", (code, signal) => {
        this.hasExited = true;
        this.closeGate();
        ok({ code, signal });
      });
    });
  }

  release(): void {
    if (this.released || this.hasExited) return;
    this.released = true;
    this.gate.end("go\n");
  }

  private closeGate(): void {
    this.gate.destroy();
  }

  async terminate(graceMs = 1000): Promise<ChildExit> {
    if (this.hasExited) return this.exited;
    if (!this.released) {
      this.process.kill("SIGKILL");
      return this.exited;
    }
    this.process.kill("SIGTERM");
    const timer = setTimeout(() => {
      if (!this.hasExited) this.process.kill("SIGKILL");
    }, graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Whether process `pid` is alive: it exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return false;
  }
  // "PID (COMM) STATE ...": COMM may hold spaces and parentheses; the state follows the last ")".
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X" && state !== "x";
}

/** How often -p checks whether the process is still there. */
export const PID_POLL_MS = 100;

/**
 * Calls `onExit` once process `pid` has exited (checked every PID_POLL_MS). Returns a function
 * that stops watching (the timer keeps Node alive until then).
 */
export function watchPid(pid: number, onExit: () => void, intervalMs = PID_POLL_MS): () => void {
  const timer = setInterval(() => {
    if (processAlive(pid)) return;
    clearInterval(timer);
    onExit();
  }, intervalMs);
  return () => clearInterval(timer);
}

/** What a run traces: nothing, a running process (-p) or a command of ours (-c). */
export interface TracedTarget {
  /** Options for runScript: `pid` for -p, `child` (which implies pid and cpid) for -c. */
  options: { pid?: number; child?: HeldChild };
  /** Ends the child if it is still running (after the run). */
  close(): Promise<void>;
}

/** The traced target of -p PID / -c CMD for the CLI (the child's stdio is ours). */
export async function tracedTarget(pid: number | undefined, command: string | undefined): Promise<TracedTarget> {
  if (command !== undefined) {
    const child = await spawnHeld(command);
    return {
      options: { child },
      close: async () => {
        await child.terminate();
      },
    };
  }
  return { options: pid !== undefined ? { pid } : {}, close: async () => {} };
}
