// Differential testing against bpftrace 0.17: run the same program with `bpftrace -e` and with the
// built bpfts CLI (`node dist/runtime/cli.js -e`), side by side, and hand back both outputs.
//
// Both tools print `__BPFTRACE_NOTIFY_PROBES_ATTACHED` on stderr once every probe is attached
// when that variable is in their environment; runBoth waits for it from both before it runs the
// caller's workload, then stops both with SIGINT (like Ctrl-C). stdout is kept as bytes (a latin1
// string: one character per byte) so comparisons are byte for byte. stderr is not compared:
// bpftrace prints an RLIMIT_MEMLOCK error there on this kernel.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { test } from "vitest";
import { inCI, kernelUnavailable } from "./kernel.js";

export { CLI, ensureBuilt, ROOT } from "./build.js";
import { CLI } from "./build.js";
const NOTIFY = "__BPFTRACE_NOTIFY_PROBES_ATTACHED";

export type Tool = "bpftrace" | "bpfts";

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The bpftrace binary: $BPFTRACE, else /usr/bin/bpftrace, else the first on PATH. */
export function bpftracePath(): string | undefined {
  const env = process.env["BPFTRACE"];
  if (env !== undefined && env !== "") return executable(env) ? env : undefined;
  if (executable("/usr/bin/bpftrace")) return "/usr/bin/bpftrace";
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir !== "" && executable(join(dir, "bpftrace"))) return join(dir, "bpftrace");
  }
  return undefined;
}

let versionCache: string | undefined | null = null;

/** `bpftrace --version` (e.g. "bpftrace v0.17.0"), or undefined when it cannot run. */
export function bpftraceVersion(): string | undefined {
  if (versionCache !== null) return versionCache;
  const path = bpftracePath();
  versionCache = undefined;
  if (path !== undefined) {
    const r = spawnSync(path, ["--version"], { encoding: "utf8", timeout: 10_000 });
    if (r.status === 0) versionCache = r.stdout.trim();
  }
  return versionCache;
}

/** Why the differential tests cannot run here (no root, no bpftrace 0.17), or undefined. */
export function differentialUnavailable(): string | undefined {
  const k = kernelUnavailable();
  if (k !== undefined) return k;
  const v = bpftraceVersion();
  if (v === undefined) return "bpftrace is not installed (apt-get install bpftrace)";
  if (!/^bpftrace v0\.17\./.test(v)) return `the differential tests compare with bpftrace 0.17, but this is ${v}`;
  return undefined;
}

type TestFn = () => unknown | Promise<unknown>;

function gated(kind: "test" | "fails", name: string, fn: TestFn, timeout?: number): void {
  const why = differentialUnavailable();
  if (why === undefined) {
    // BPFTS_DIFF_BUGS=1 runs the known-bug cases as ordinary tests, to see their current diffs.
    const asTest = kind === "test" || process.env["BPFTS_DIFF_BUGS"] === "1";
    (asTest ? test : test.fails)(name, fn, timeout);
  } else if (inCI) {
    // A plain test that throws: under CI a missing tool fails, even where the case is `fails`.
    test(name, () => {
      throw new Error(`differential test cannot run under CI: ${why}`);
    });
  } else {
    process.stderr.write(`skipping differential test "${name}": ${why}\n`);
    test.skip(name, fn);
  }
}

/**
 * A test that needs root, the kernel and bpftrace 0.17. Outside CI a missing one skips with a
 * printed reason; under CI=true it fails.
 */
export function differentialTest(name: string, fn: TestFn, timeout?: number): void {
  gated("test", name, fn, timeout);
}

/** Like differentialTest, for a case where bpfts is known to differ (vitest's test.fails). */
differentialTest.fails = (name: string, fn: TestFn, timeout?: number): void => {
  gated("fails", name, fn, timeout);
};

// ---- building bpfts ----------------------------------------------------------------------------

// ---- running the tools -------------------------------------------------------------------------

export interface ToolResult {
  tool: Tool;
  /** stdout, one character per byte (latin1) */
  stdout: string;
  stderr: string;
  /** exit status, or null when killed by a signal */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** the run took longer than its timeout and was killed */
  timedOut: boolean;
}

export interface RunningTool {
  tool: Tool;
  child: ChildProcess;
  /** Resolves when the tool reports every probe attached (rejects if it ends first). */
  attached: Promise<void>;
  /** Resolves when the tool has exited. */
  done: Promise<ToolResult>;
  /** Sends SIGINT (the tool runs END, prints its maps and exits). */
  interrupt(): void;
  /** Resolves once stdout contains `text` (rejects after `timeoutMs` or if the tool ends first). */
  printed(text: string, timeoutMs?: number): Promise<void>;
}

export interface StartOptions {
  /** positional parameters after the program */
  args?: string[];
  /** kill the tool (SIGKILL) after this many ms; default 20 s */
  timeoutMs?: number;
  env?: Record<string, string>;
}

/** The command line that runs `program` with `tool`. */
export function commandFor(tool: Tool, program: string, args: string[] = []): [string, string[]] {
  if (tool === "bpfts") return [process.execPath, [CLI, "-e", program, ...args]];
  const path = bpftracePath();
  if (path === undefined) throw new Error("bpftrace is not installed");
  return [path, ["-e", program, ...args]];
}

/** A process started with __BPFTRACE_NOTIFY_PROBES_ATTACHED set, its output captured. */
export interface Started {
  child: ChildProcess;
  /** Resolves when it reports every probe attached (rejects if it ends first). */
  attached: Promise<void>;
  /** Resolves when it has exited: stdout as bytes, stderr without the attach notice. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string; timedOut: boolean }>;
  /** stdout so far */
  stdout(): Buffer;
  /** Sends SIGINT, like Ctrl-C, while it runs. */
  interrupt(): void;
  /** Resolves once `seen(stdout)` holds; rejects after `timeoutMs` or if the process ends first. */
  until(seen: (stdout: Buffer) => boolean, what: string, timeoutMs: number): Promise<void>;
}

/** Spawns `cmd argv` with the attach notice asked for and colour off (SIGKILLed after timeoutMs). */
export function startNotifying(label: string, cmd: string, argv: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs: number }): Started {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "NODE_OPTIONS") env[k] = v;
  Object.assign(env, { [NOTIFY]: "1", NO_COLOR: "1" }, opts.env);
  const child = spawn(cmd, argv, { cwd: opts.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  const out: Buffer[] = [];
  let stderr = "";
  let timedOut = false;
  let onAttached!: () => void;
  let onEnded!: (e: Error) => void;
  const attached = new Promise<void>((resolve, reject) => {
    onAttached = resolve;
    onEnded = reject;
  });
  attached.catch(() => undefined);
  const watchers = new Set<() => void>();
  child.stdout!.on("data", (b: Buffer) => {
    out.push(b);
    for (const w of [...watchers]) w();
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (s: string) => {
    stderr += s;
    if (stderr.includes(NOTIFY)) onAttached();
  });
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, opts.timeoutMs);
  const done: Started["done"] = new Promise((resolve, reject) => {
    child.on("error", (e) => {
      clearTimeout(timer);
      onEnded(e);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      for (const w of [...watchers]) w();
      onEnded(new Error(`${label} exited (${code ?? signal}) before attaching:\n${stderr}`));
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: stderr.split(NOTIFY + "\n").join(""), timedOut });
    });
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    attached,
    done,
    stdout: () => Buffer.concat(out),
    interrupt: () => {
      if (alive()) child.kill("SIGINT");
    },
    until: (seen, what, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (seen(Buffer.concat(out))) {
            finish();
            resolve();
          } else if (!alive()) {
            finish();
            reject(new Error(`${label} ended without printing ${what}:\n${Buffer.concat(out).toString("latin1")}\n${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`${label} did not print ${what} within ${timeoutMs} ms:\n${Buffer.concat(out).toString("latin1")}\n${stderr}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      }),
  };
}

/** Starts `tool` on `program` with stdout and stderr captured. */
export function startTool(tool: Tool, program: string, opts: StartOptions = {}): RunningTool {
  const [cmd, argv] = commandFor(tool, program, opts.args);
  const run = startNotifying(tool, cmd, argv, { ...(opts.env ? { env: opts.env } : {}), timeoutMs: opts.timeoutMs ?? 20_000 });
  return {
    tool,
    child: run.child,
    attached: run.attached,
    done: run.done.then((r) => ({ tool, stdout: r.stdout.toString("latin1"), stderr: r.stderr, code: r.code, signal: r.signal, timedOut: r.timedOut })),
    interrupt: run.interrupt,
    printed: (text: string, timeoutMs = 10_000) => run.until((b) => b.toString("latin1").includes(text), JSON.stringify(text), timeoutMs),
  };
}

export interface BothOptions extends StartOptions {
  /**
   * Runs once both tools have attached every probe; when it resolves both get SIGINT. Without it
   * the program must end by itself (exit()).
   */
  whileAttached?: () => Promise<void> | void;
  /**
   * After whileAttached, wait until both tools have printed this text before stopping them.
   * bpftrace 0.17 drops the printf records it has not read yet when SIGINT arrives, so a test
   * that stops the tools waits for the last record it expects.
   */
  until?: string;
}

export interface BothResult {
  bpftrace: ToolResult;
  bpfts: ToolResult;
}

/**
 * Runs `program` with bpftrace and bpfts at the same time (so a workload run while both are
 * attached is seen by both) and returns both results.
 */
export async function runBoth(program: string, opts: BothOptions = {}): Promise<BothResult> {
  const tools = [startTool("bpftrace", program, opts), startTool("bpfts", program, opts)] as const;
  try {
    if (opts.whileAttached !== undefined) {
      await Promise.all(tools.map((t) => t.attached));
      await opts.whileAttached();
      if (opts.until !== undefined) await Promise.all(tools.map((t) => t.printed(opts.until!)));
      for (const t of tools) t.interrupt();
    }
    const [bpftrace, bpfts] = await Promise.all(tools.map((t) => t.done));
    return { bpftrace: bpftrace!, bpfts: bpfts! };
  } finally {
    for (const t of tools) if (t.child.exitCode === null && t.child.signalCode === null) t.child.kill("SIGKILL");
  }
}

/** Shows a latin1 byte string with control and high bytes escaped, for messages. */
export function visible(s: string): string {
  return s.replace(/[^\n\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
