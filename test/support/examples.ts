// Helpers for running the examples as people run them: the built CLI on a script file, with the
// workload started once every probe is attached (__BPFTRACE_NOTIFY_PROBES_ATTACHED), stopped like
// Ctrl-C; the small C targets the examples are run against (test/targets/{mallocs,latency,
// sysloop}.c, built into a cache folder keyed by their sources and the compiler); and a reader for
// text-mode histograms.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, ensureBuilt } from "./build.js";
import { buildOnce, TARGETS_SOURCE_DIR } from "./targets.js";
import { startNotifying } from "./bpftrace.js";


export { CLI, ensureBuilt };

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** stderr without the attach notice */
  stderr: string;
}

export interface CliRun {
  child: ChildProcess;
  /** Resolves once every probe is attached; rejects if the CLI ends first. */
  attached: Promise<void>;
  done: Promise<CliResult>;
  /** What it printed so far. */
  stdout(): string;
  /** SIGINT, like Ctrl-C. */
  interrupt(): void;
  /** Resolves once stdout matches; rejects after timeoutMs or when the CLI ends first. */
  printed(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/** Starts `node dist/runtime/cli.js ARGS...` (SIGKILLed after timeoutMs, 60 s by default). */
export function startCli(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): CliRun {
  const run = startNotifying("bpfts", process.execPath, [CLI, ...args], { ...(opts.cwd ? { cwd: opts.cwd } : {}), timeoutMs: opts.timeoutMs ?? 60_000 });
  return {
    child: run.child,
    attached: run.attached,
    done: run.done.then((r) => ({ code: r.code, signal: r.signal, stdout: r.stdout.toString("utf8"), stderr: r.stderr })),
    stdout: () => run.stdout().toString("utf8"),
    interrupt: run.interrupt,
    printed: (pattern, timeoutMs = 15_000) => run.until((b) => pattern.test(b.toString("utf8")), String(pattern), timeoutMs),
  };
}

/** Runs the CLI with `workload` started once it is attached, then stops it with SIGINT. */
export async function runCliWhile(args: string[], workload: () => Promise<unknown> | unknown, opts: { timeoutMs?: number } = {}): Promise<CliResult> {
  const run = startCli(args, opts);
  try {
    await run.attached;
    await workload();
    run.interrupt();
    return await run.done;
  } finally {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL");
  }
}

/** Runs a command to its end; resolves with its pid, exit code and output. */
export function runCommand(file: string, args: string[] = []): Promise<{ pid: number; code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (s: string) => (stdout += s));
    child.on("error", reject);
    child.on("close", (code) => resolve({ pid: child.pid!, code, stdout }));
  });
}

// ---- the targets ------------------------------------------------------------------------------------

export interface ExampleTargets {
  /** mallocs.c: 100 x 3000, 50 x 200000 and 7 x 777777 bytes. */
  mallocs: string;
  /** latency.c: `latency FAST SLOW`, tt_sleep_ms(3) FAST times and tt_sleep_ms(20) SLOW times. */
  latency: string;
  /** sysloop.c, named so that its comm is distinctive: `bpfts_sysloop N [MS M]`. */
  sysloop: string;
}

const SOURCES = { mallocs: "mallocs.c", latency: "latency.c", sysloop: "sysloop.c" } as const;
const BINARIES = { mallocs: "mallocs", latency: "latency", sysloop: "bpfts_sysloop" } as const;
const RECIPE = "gcc -O2 -g -Wall; v1";

let cached: ExampleTargets | undefined;

/** Builds (once, cached on disk under the temp dir) the C targets the examples run against. */
export function buildExampleTargets(): ExampleTargets {
  if (cached !== undefined) return cached;
  const hash = createHash("sha256");
  hash.update(`${RECIPE}\n${execFileSync("gcc", ["--version"], { encoding: "utf8" }).split("\n")[0]}\n`);
  for (const f of Object.values(SOURCES)) hash.update(`${f}\n${readFileSync(join(TARGETS_SOURCE_DIR, f), "utf8")}\n`);
  const dir = join(tmpdir(), `bpfts-example-targets-${hash.digest("hex").slice(0, 16)}`);
  const out = Object.fromEntries(Object.entries(BINARIES).map(([k, b]) => [k, join(dir, b)])) as unknown as ExampleTargets;
  buildOnce(dir, "the example targets", (work) => {
    for (const [k, src] of Object.entries(SOURCES)) {
      execFileSync("gcc", ["-O2", "-g", "-Wall", "-o", join(work, BINARIES[k as keyof typeof BINARIES]), join(TARGETS_SOURCE_DIR, src)], { stdio: "pipe" });
    }
  });
  for (const p of Object.values(out)) if (!statSync(p).isFile()) throw new Error(`${p} is missing`);
  cached = out;
  return out;
}

// ---- text output ----------------------------------------------------------------------------------

export interface TextBucket {
  /** inclusive lower bound (-Infinity for the negative bucket) */
  min: number;
  /** exclusive upper bound */
  end: number;
  count: number;
}

const SUFFIX: Record<string, number> = { "": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50 };

function bound(s: string): number {
  const m = /^(-?\d+)([KMGTP]?)$/.exec(s);
  if (m === null) throw new Error(`not a histogram bound: ${s}`);
  return Number(m[1]) * SUFFIX[m[2]!]!;
}

/**
 * The buckets of the text-mode histogram printed for `name` (e.g. "@ns" or "@us[key]"): the
 * lines after "NAME: " up to the first line that is not a bucket.
 */
export function textHistogram(output: string, name: string): TextBucket[] {
  const lines = output.split("\n");
  const at = lines.indexOf(`${name}: `);
  if (at < 0) throw new Error(`no histogram ${name} in:\n${output}`);
  const out: TextBucket[] = [];
  for (const line of lines.slice(at + 1)) {
    let m: RegExpExecArray | null;
    if ((m = /^\[(\S+), (\S+)\)\s+(\d+) \|/.exec(line)) !== null) out.push({ min: bound(m[1]!), end: bound(m[2]!), count: Number(m[3]) });
    else if ((m = /^\[(\S+)\]\s+(\d+) \|/.exec(line)) !== null) out.push({ min: bound(m[1]!), end: bound(m[1]!) + 1, count: Number(m[2]) });
    else if ((m = /^\(\.\.\., 0\)\s+(\d+) \|/.exec(line)) !== null) out.push({ min: -Infinity, end: 0, count: Number(m[1]) });
    else break;
  }
  return out;
}

/** The number of values in [lo, hi) of a histogram (lo and hi must be bucket bounds). */
export function countBetween(buckets: TextBucket[], lo: number, hi: number): number {
  let n = 0;
  for (const b of buckets) {
    if (b.min >= lo && b.end <= hi) n += b.count;
    else if (b.count > 0 && b.min < hi && b.end > lo) throw new Error(`bucket [${b.min}, ${b.end}) straddles [${lo}, ${hi})`);
  }
  return n;
}

/** The lines `@name[KEY]: VALUE` of a text output, as a map from KEY to VALUE. */
export function textMap(output: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  const prefix = `${name}[`;
  for (const line of output.split("\n")) {
    if (!line.startsWith(prefix)) continue;
    const m = /^(.*)\]: (-?\d+)$/.exec(line.slice(prefix.length));
    if (m !== null) out.set(m[1]!, Number(m[2]));
  }
  return out;
}
