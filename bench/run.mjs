#!/usr/bin/env node
// bpfts beside bpftrace 0.17 on the same machine, in one run (`npm run bench`, as root):
//
//   1. wall time of `BEGIN { exit(); }`, end to end, spawning each CLI (median of 20 runs);
//   2. peak RSS of the same (/usr/bin/time -f %M, else polling VmHWM in /proc/PID/status);
//   3. BPF instructions of each tool's program (xlated length / 8) for four scripts on
//      tracepoint:raw_syscalls:sys_enter;
//   4. the kernel's run_time_ns / run_cnt for the same programs (BPF_ENABLE_STATS held open while
//      a child process makes a fixed number of syscalls), with both tools attached at once so
//      they see the same load, once in each attach order;
//   5. the cost per call of a uprobe, a uprobe+uretprobe pair, a USDT probe and a USDT start/done
//      pair (count() and the entry/return latency pattern) on bench/probe-target.c, one tool at a
//      time, by the target's own clock (against an untraced baseline) and by run_time_ns;
//   6. the attach (and detach) time of a uprobe wildcard over 1000 functions of a generated C
//      program (bpftrace's detach takes minutes on this kernel: see section 6).
//
// Each metric is printed with both values, the ratio bpfts/bpftrace and PASS/MISS against its
// target, and everything is written to bench/results.json. A MISS is a result, not an error: the
// exit status is non-zero only when the bench cannot measure at all (not root, no bpftrace, no
// build). The programs of each tool are told apart by process: the prog_id lines in the tool's
// own /proc/PID/fdinfo.
//
// bpfts runs the way a user runs it: package.json's bin (dist/bpfts.cjs, the launcher of the
// bundled CLI, built by `npm run build`), executed as a file so that its first line (env -S ...
// node FLAGS) applies, in this process's environment (NODE_EXTRA_CA_CERTS included, if set).
// `npm run bench -- --startup` measures 1 and 2 only; `--no-wildcard` leaves out 6 (which takes
// 15 minutes or more: bpftrace's detach).
import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, release, tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).bin.bpfts);
const STARTUP_ONLY = process.argv.includes("--startup");
const RESULTS = join(ROOT, "bench", "results.json");
const NOTIFY = "__BPFTRACE_NOTIFY_PROBES_ATTACHED";

const WALL_RUNS = 20;
const WALL_WARMUP = 2;
const RSS_RUNS = 5;
/** Load rounds per session (two sessions per program: each attach order once), after warm-up. */
const LOAD_ROUNDS = 4;
const LOAD_WARMUP = 1;
/** dd with bs=1 makes two syscalls (read, write) per byte. */
const LOAD_BYTES = 100_000;

const START_PROGRAM = "BEGIN { exit(); }";
const TRACE_PROGRAMS = [
  { name: "@ = count()", program: "tracepoint:raw_syscalls:sys_enter { @ = count(); }" },
  { name: "@[comm] = count()", program: "tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }" },
  { name: "@ = hist(args->id)", program: "tracepoint:raw_syscalls:sys_enter { @ = hist(args->id); }" },
  { name: "@ = lhist(args->id, 0, 100, 10)", program: "tracepoint:raw_syscalls:sys_enter { @ = lhist(args->id, 0, 100, 10); }" },
];

// ---- setup --------------------------------------------------------------------------------------

function fatal(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(1);
}

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function bpftracePath() {
  const env = process.env.BPFTRACE;
  if (env) return executable(env) ? env : undefined;
  if (executable("/usr/bin/bpftrace")) return "/usr/bin/bpftrace";
  for (const dir of (process.env.PATH ?? "").split(delimiter)) if (dir && executable(join(dir, "bpftrace"))) return join(dir, "bpftrace");
  return undefined;
}

function newestSource() {
  let newest = Math.max(...["tsconfig.json", "package.json", "scripts/bundle.mjs", "scripts/launcher.cjs"].map((f) => statSync(join(ROOT, f)).mtimeMs));
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(join(ROOT, "compiler"));
  walk(join(ROOT, "runtime"));
  return Math.max(newest, statSync(join(ROOT, "index.ts")).mtimeMs);
}

/** dist/ (tsc: the bench loads dist/runtime/native.js) and the bin's bundle, when stale. */
function ensureBuilt() {
  const built = [BIN, join(ROOT, "dist", "runtime", "native.js")].every((f) => existsSync(f) && statSync(f).mtimeMs >= newestSource());
  if (built) return;
  process.stderr.write("bench: building dist/ (tsc, scripts/bundle.mjs)\n");
  const tsc = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: ROOT, encoding: "utf8" });
  const bundle = spawnSync(process.execPath, [join(ROOT, "scripts", "bundle.mjs")], { cwd: ROOT, encoding: "utf8" });
  if (!existsSync(BIN) || bundle.status !== 0) fatal(`building dist/ failed:\n${tsc.stdout}${tsc.stderr}${bundle.stdout}${bundle.stderr}`);
}

function childEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "NODE_OPTIONS" && k !== NOTIFY) env[k] = v;
  return { ...env, ...extra };
}

function command(tool, program) {
  return tool === "bpfts" ? [BIN, ["-e", program]] : [BPFTRACE, ["-e", program]];
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

// ---- 1. wall time -------------------------------------------------------------------------------

/** Runs one command to its end with stdout/stderr drained; resolves to { ms, code }. */
function timedRun(cmd, argv, env) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, argv, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stdout.resume();
    child.stderr.on("data", (b) => (stderr += b));
    child.on("error", reject);
    child.on("close", (code) => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, code, stderr }));
  });
}

async function wallTime() {
  const samples = { bpfts: [], bpftrace: [] };
  for (let i = 0; i < WALL_WARMUP + WALL_RUNS; i++) {
    // Alternate which tool goes first, so neither always runs on a machine the other just warmed.
    const order = i % 2 === 0 ? ["bpfts", "bpftrace"] : ["bpftrace", "bpfts"];
    for (const tool of order) {
      const [cmd, argv] = command(tool, START_PROGRAM);
      const r = await timedRun(cmd, argv, childEnv());
      if (r.code !== 0) fatal(`${tool} -e '${START_PROGRAM}' exited with ${r.code}:\n${r.stderr}`);
      if (i >= WALL_WARMUP) samples[tool].push(r.ms);
    }
  }
  return samples;
}

// ---- 2. peak RSS --------------------------------------------------------------------------------

const TIME = ["/usr/bin/time", "/bin/time"].find(executable);

/** Peak RSS in KiB of one run: GNU time's %M (the child's ru_maxrss). */
async function rssWithTime(cmd, argv, dir) {
  const out = join(dir, "rss");
  const r = await timedRun(TIME, ["-f", "%M", "-o", out, cmd, ...argv], childEnv());
  if (r.code !== 0) fatal(`${cmd} exited with ${r.code}:\n${r.stderr}`);
  const kb = Number(readFileSync(out, "utf8").trim().split("\n").pop());
  if (!Number.isFinite(kb) || kb <= 0) fatal(`cannot read ${TIME}'s output: ${readFileSync(out, "utf8")}`);
  return kb;
}

/** Peak RSS in KiB of one run by polling VmHWM (may miss growth in the last poll interval). */
function rssByPolling(cmd, argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env: childEnv(), stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.resume();
    child.stderr.resume();
    let peak = 0;
    const poll = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        if (m) peak = Math.max(peak, Number(m[1]));
      } catch {
        // gone
      }
    };
    const timer = setInterval(poll, 1);
    child.on("error", reject);
    child.on("exit", () => {
      clearInterval(timer);
      resolve(peak);
    });
  });
}

async function peakRss() {
  const dir = mkdtempSync(join(tmpdir(), "bpfts-bench-"));
  const samples = { bpfts: [], bpftrace: [] };
  try {
    for (let i = 0; i < RSS_RUNS; i++) {
      for (const tool of ["bpfts", "bpftrace"]) {
        const [cmd, argv] = command(tool, START_PROGRAM);
        samples[tool].push(TIME ? await rssWithTime(cmd, argv, dir) : await rssByPolling(cmd, argv));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { method: TIME ? `${TIME} -f %M (ru_maxrss)` : "VmHWM polled every 1 ms", samples };
}

// ---- 3 and 4. programs on a busy tracepoint -----------------------------------------------------

/** The BPF program ids a process holds (prog fds and link fds both show prog_id in fdinfo). */
function progIdsOf(pid) {
  const ids = new Set();
  let fds = [];
  try {
    fds = readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return ids;
  }
  for (const fd of fds) {
    try {
      const m = /^prog_id:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8"));
      if (m) ids.add(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  return [...ids].sort((a, b) => a - b);
}

/** Starts a tool on a program and resolves once it reports every probe attached. */
function startAttached(tool, program) {
  const [cmd, argv] = command(tool, program);
  const child = spawn(cmd, argv, { env: childEnv({ [NOTIFY]: "1" }), stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.resume();
  let stderr = "";
  const exited = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  const attached = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${tool} did not attach within 30 s:\n${stderr}`)), 30_000);
    child.stderr.on("data", (b) => {
      stderr += b;
      if (stderr.includes(NOTIFY)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on("error", reject);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${tool} exited (${code ?? signal}) before attaching:\n${stderr}`));
    });
  });
  return { child, attached, exited };
}

async function stop(run) {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGINT");
  const timer = setTimeout(() => run.child.kill("SIGKILL"), 10_000);
  await run.exited;
  clearTimeout(timer);
}

function progInfos(nat, ids) {
  const infos = [];
  for (const id of ids) {
    const fd = nat.getFdById("prog", id);
    if (fd === null) continue;
    try {
      infos.push(nat.objInfo(fd, "prog"));
    } finally {
      nat.close(fd);
    }
  }
  return infos;
}

function runLoad() {
  const r = spawnSync("dd", ["if=/dev/zero", "of=/dev/null", "bs=1", `count=${LOAD_BYTES}`], { stdio: "ignore" });
  if (r.status !== 0) fatal(`dd failed (${r.status ?? r.signal})`);
}

function counters(nat, ids) {
  let ns = 0n;
  let cnt = 0n;
  for (const p of progInfos(nat, ids)) {
    ns += p.runTimeNs;
    cnt += p.runCnt;
  }
  return { ns, cnt };
}

/**
 * One program under both tools at once, attached in the given order (programs on one tracepoint
 * run in attach order, so each order is measured once). Both see exactly the same load; per
 * round, each tool's ns per run is its programs' run_time_ns delta / run_cnt delta.
 */
async function measureSession(nat, program, order) {
  const runs = {};
  try {
    for (const tool of order) {
      runs[tool] = startAttached(tool, program);
      await runs[tool].attached;
    }
    const out = {};
    for (const tool of order) {
      const ids = progIdsOf(runs[tool].child.pid);
      if (ids.length === 0) throw new Error(`${tool}: no BPF programs in /proc/${runs[tool].child.pid}/fdinfo`);
      const progs = progInfos(nat, ids);
      out[tool] = {
        ids,
        programs: progs.map((p) => ({ id: p.id, name: p.name, type: p.type, insns: p.xlatedLen / 8, jitedBytes: p.jitedLen, verifiedInsns: p.verifiedInsns })),
        insns: progs.reduce((a, p) => a + p.xlatedLen / 8, 0),
        nsPerRun: [],
      };
    }
    for (let round = 0; round < LOAD_WARMUP + LOAD_ROUNDS; round++) {
      const before = Object.fromEntries(order.map((t) => [t, counters(nat, out[t].ids)]));
      runLoad();
      for (const tool of order) {
        const after = counters(nat, out[tool].ids);
        const dn = after.cnt - before[tool].cnt;
        if (dn <= 0n) throw new Error(`${tool}: run_cnt did not move (are BPF stats enabled?)`);
        if (round >= LOAD_WARMUP) out[tool].nsPerRun.push(Number(after.ns - before[tool].ns) / Number(dn));
      }
    }
    return out;
  } finally {
    for (const run of Object.values(runs)) await stop(run);
  }
}

async function tracepointPrograms() {
  const { native, BPF_STATS_RUN_TIME } = await import(join(ROOT, "dist", "runtime", "native.js"));
  const nat = native();
  // Run-time statistics are collected only while this fd is open.
  const statsFd = nat.enableStats(BPF_STATS_RUN_TIME);
  const results = [];
  try {
    for (const { name, program } of TRACE_PROGRAMS) {
      const a = await measureSession(nat, program, ["bpfts", "bpftrace"]);
      const b = await measureSession(nat, program, ["bpftrace", "bpfts"]);
      const r = { name, program };
      for (const tool of ["bpfts", "bpftrace"]) {
        r[tool] = { programs: a[tool].programs, insns: a[tool].insns, nsPerRun: [...a[tool].nsPerRun, ...b[tool].nsPerRun] };
        if (a[tool].insns !== b[tool].insns) r[tool].insnsOtherSession = b[tool].insns;
      }
      results.push(r);
    }
  } finally {
    nat.close(statsFd);
  }
  return results;
}

// ---- 5. user-space probes: the cost of each call ------------------------------------------------
//
// bench/probe-target.c (built here with gcc -O2; <sys/sdt.h> from systemtap-sdt-dev) makes
// PROBE_CALLS calls of a function, or hits of a USDT probe, and times its loop itself
// (CLOCK_MONOTONIC). It runs untraced (the baseline), then under one tool at a time (both at once
// would add up), PROBE_ROUNDS rounds per tool, alternating which tool goes first. Each call's cost
// is measured twice: by the target's clock (ns per call traced minus the baseline: the trap into
// the kernel and the program) and by the kernel's counters (the tool's programs' run_time_ns
// delta / calls, BPF_ENABLE_STATS held open: the programs alone).

const PROBE_CALLS = 100_000;
const PROBE_ROUNDS = 5;

const PROBE_PROGRAMS = [
  { name: "uprobe: @ = count()", mode: "func", programs: 1, program: (t) => `uprobe:${t}:bench_func { @ = count(); }` },
  {
    name: "uprobe+uretprobe: @s[tid] = nsecs; @h = hist(nsecs - @s[tid]); delete(@s[tid])",
    mode: "func",
    programs: 2,
    program: (t) => `uprobe:${t}:bench_func { @s[tid] = nsecs; } uretprobe:${t}:bench_func { @h = hist(nsecs - @s[tid]); delete(@s[tid]); }`,
  },
  { name: "usdt: @ = count()", mode: "usdt", programs: 1, program: (t) => `usdt:${t}:bench:tick { @ = count(); }` },
  {
    name: "usdt start+done: @s[tid] = nsecs; @h = hist(nsecs - @s[tid]); delete(@s[tid])",
    mode: "usdt2",
    programs: 2,
    program: (t) => `usdt:${t}:bench:start { @s[tid] = nsecs; } usdt:${t}:bench:done { @h = hist(nsecs - @s[tid]); delete(@s[tid]); }`,
  },
];

function gcc(args, what) {
  const r = spawnSync("gcc", args, { encoding: "utf8" });
  if (r.status !== 0) fatal(`building ${what} failed (gcc ${args.join(" ")}):\n${r.stderr ?? r.error}`);
}

/** Runs probe-target once; its own ns per call. */
function runProbeTarget(target, mode) {
  const r = spawnSync(target, [mode, String(PROBE_CALLS)], { encoding: "utf8" });
  const m = /^ns_per_call ([\d.]+)$/m.exec(r.stdout ?? "");
  if (r.status !== 0 || m === null) fatal(`${target} ${mode} failed (${r.status ?? r.signal}): ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

/** One tool alone on one program while the target runs once. */
async function probeSession(nat, tool, program, mode, target) {
  const run = startAttached(tool, program);
  try {
    await run.attached;
    const ids = progIdsOf(run.child.pid);
    if (ids.length === 0) throw new Error(`${tool}: no BPF programs in /proc/${run.child.pid}/fdinfo`);
    const before = counters(nat, ids);
    const ownNs = runProbeTarget(target, mode);
    const after = counters(nat, ids);
    return { ownNs, kernelNs: Number(after.ns - before.ns) / PROBE_CALLS, runs: Number(after.cnt - before.cnt) };
  } finally {
    await stop(run);
  }
}

async function userProbeCosts() {
  const dir = mkdtempSync(join(tmpdir(), "bpfts-bench-probes-"));
  const { native, BPF_STATS_RUN_TIME } = await import(join(ROOT, "dist", "runtime", "native.js"));
  const nat = native();
  const statsFd = nat.enableStats(BPF_STATS_RUN_TIME);
  try {
    const target = join(dir, "probe-target");
    gcc(["-O2", "-g", "-Wall", "-o", target, join(ROOT, "bench", "probe-target.c")], "bench/probe-target.c");
    const baseline = {};
    for (const mode of new Set(PROBE_PROGRAMS.map((p) => p.mode))) {
      runProbeTarget(target, mode); // warm-up
      baseline[mode] = median(Array.from({ length: PROBE_ROUNDS }, () => runProbeTarget(target, mode)));
    }
    const results = [];
    for (const p of PROBE_PROGRAMS) {
      const program = p.program(target);
      const r = { name: p.name, mode: p.mode, program, baselineNs: baseline[p.mode] };
      for (const tool of ["bpfts", "bpftrace"]) r[tool] = { ownNs: [], kernelNs: [], runs: [] };
      for (let round = 0; round < PROBE_ROUNDS; round++) {
        for (const tool of round % 2 === 0 ? ["bpfts", "bpftrace"] : ["bpftrace", "bpfts"]) {
          const s = await probeSession(nat, tool, program, p.mode, target);
          // Every call must have run each of the tool's programs once.
          if (s.runs !== PROBE_CALLS * p.programs) throw new Error(`${tool} on ${p.name}: ${s.runs} program runs for ${PROBE_CALLS} calls`);
          r[tool].ownNs.push(s.ownNs - baseline[p.mode]);
          r[tool].kernelNs.push(s.kernelNs);
          r[tool].runs.push(s.runs);
        }
      }
      results.push(r);
    }
    return results;
  } finally {
    nat.close(statsFd);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- 6. attach time of a wildcard over WILDCARD_FUNCS functions --------------------------------
//
// A generated C program with WILDCARD_FUNCS functions (gcc -O0: each a symbol of its own), and
// `uprobe:BIN:bench_w* { @ = count(); }`: the time from spawning the tool to its
// __BPFTRACE_NOTIFY_PROBES_ATTACHED line (start-up included), and the time from SIGINT to its
// exit (detach). bpftrace 0.17 refuses more than 512 probes unless BPFTRACE_MAX_PROBES says more.
//
// bpftrace runs once only: it opens one perf event per function, and on this kernel each one's
// release waits for an RCU tasks-trace grace period while holding the kernel's event_mutex (0.1
// to 1 s each on a 2-CPU VM with Linux 6.18: 16 minutes for 1000 functions, during which no other
// process can open or close a perf tracepoint or uprobe event). The bench waits for that exit, so that it measures nothing meanwhile and
// leaves nothing behind. bpfts attaches the wildcard through one multi-uprobe link.

const WILDCARD_FUNCS = 1000;
const WILDCARD_RUNS = { bpfts: 3, bpftrace: 1 };
/** `npm run bench -- --no-wildcard` leaves this section out (and bpftrace's long detach). */
const NO_WILDCARD = process.argv.includes("--no-wildcard");

/** Spawns a tool; resolves with the ms to its attach notice, the probe count it printed and the ms from SIGINT to its exit. */
async function timedAttach(tool, program) {
  const [cmd, argv] = command(tool, program);
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd, argv, { env: childEnv({ [NOTIFY]: "1", BPFTRACE_MAX_PROBES: String(10 * WILDCARD_FUNCS) }), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b) => (stdout += b));
  const exited = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  let ms;
  let detachMs;
  try {
    ms = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${tool} did not attach within 300 s:\n${stderr}`)), 300_000);
      child.stderr.on("data", (b) => {
        stderr += b;
        if (stderr.includes(NOTIFY)) {
          clearTimeout(timer);
          resolve(Number(process.hrtime.bigint() - t0) / 1e6);
        }
      });
      child.on("error", reject);
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${tool} exited (${code ?? signal}) before attaching:\n${stderr}`));
      });
    });
  } finally {
    // The detach: SIGINT, then wait (a process releasing its perf events in the kernel cannot be
    // killed anyway; SIGKILL only if it is still running in user space after 15 minutes).
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
    const t1 = process.hrtime.bigint();
    const timer = setTimeout(() => child.kill("SIGKILL"), 900_000);
    const progress = setInterval(() => process.stderr.write(`bench: waiting for ${tool} to detach (${(Number(process.hrtime.bigint() - t1) / 1e9).toFixed(0)} s)\n`), 30_000);
    await exited;
    clearTimeout(timer);
    clearInterval(progress);
    detachMs = Number(process.hrtime.bigint() - t1) / 1e6;
  }
  const m = /^Attaching (\d+) probes?\.\.\.$/m.exec(stdout);
  return { ms, detachMs, probes: m ? Number(m[1]) : undefined };
}

async function wildcardAttach() {
  const dir = mkdtempSync(join(tmpdir(), "bpfts-bench-wildcard-"));
  try {
    const src = join(dir, "wildcard.c");
    const lines = [];
    for (let i = 0; i < WILDCARD_FUNCS; i++) lines.push(`__attribute__((noinline, used)) int bench_w${String(i).padStart(4, "0")}(int x) { return x * ${i + 3} + ${i}; }`);
    lines.push("int main(void) { return bench_w0000(1) == 0; }");
    writeFileSync(src, lines.join("\n") + "\n");
    const bin = join(dir, "wildcard");
    gcc(["-O0", "-o", bin, src], `a C program of ${WILDCARD_FUNCS} functions`);
    const program = `uprobe:${bin}:bench_w* { @ = count(); }`;
    const out = { program, functions: WILDCARD_FUNCS, bpfts: { ms: [], detachMs: [], probes: [] }, bpftrace: { ms: [], detachMs: [], probes: [] } };
    // bpfts first, then bpftrace (whose detach is the long one), then the rest of bpfts's runs.
    const order = ["bpfts", ...Array(WILDCARD_RUNS.bpftrace).fill("bpftrace"), ...Array(WILDCARD_RUNS.bpfts - 1).fill("bpfts")];
    for (const tool of order) {
      const r = await timedAttach(tool, program);
      if (r.probes !== WILDCARD_FUNCS) throw new Error(`${tool} attached ${r.probes} probes, not ${WILDCARD_FUNCS}`);
      out[tool].ms.push(r.ms);
      out[tool].detachMs.push(r.detachMs);
      out[tool].probes.push(r.probes);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- report -------------------------------------------------------------------------------------

function metric(name, unit, bpfts, bpftrace, target, targetText, extra = {}) {
  const ratio = bpfts / bpftrace;
  return { name, unit, bpfts, bpftrace, ratio, target, targetText, pass: ratio <= target, ...extra };
}

function fmt(value, unit) {
  if (unit === "ms") return `${value.toFixed(1)} ms`;
  if (unit === "MiB") return `${value.toFixed(1)} MiB`;
  if (unit === "ns") return `${value.toFixed(1)} ns`;
  return `${value}`;
}

function table(metrics) {
  const rows = [["metric", "bpfts", "bpftrace", "bpfts/bpftrace", "target", "result"]];
  for (const m of metrics) rows.push([m.name, fmt(m.bpfts, m.unit), fmt(m.bpftrace, m.unit), m.ratio.toFixed(2), m.targetText, m.pass ? "PASS" : "MISS"]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

// ---- main ---------------------------------------------------------------------------------------

if (process.getuid?.() !== 0) fatal("needs root (BPF programs, BPF_ENABLE_STATS)");
const BPFTRACE = bpftracePath();
if (BPFTRACE === undefined) fatal("bpftrace is not installed (Debian: apt-get install bpftrace)");
const bpftraceVersion = spawnSync(BPFTRACE, ["--version"], { encoding: "utf8" }).stdout.trim();
ensureBuilt();

const started = Date.now();
process.stderr.write(`bench: wall time, ${WALL_RUNS} runs each of ${START_PROGRAM}\n`);
const wall = await wallTime();
process.stderr.write(`bench: peak RSS, ${RSS_RUNS} runs each\n`);
const rss = await peakRss();
let traced = [];
let userProbes = [];
let wildcard;
if (!STARTUP_ONLY) {
  process.stderr.write(`bench: ${TRACE_PROGRAMS.length} programs on tracepoint:raw_syscalls:sys_enter, both attached, each order once, ${LOAD_ROUNDS} x ${2 * LOAD_BYTES} syscalls per order\n`);
  traced = await tracepointPrograms();
  process.stderr.write(`bench: ${PROBE_PROGRAMS.length} user-space probe programs, one tool at a time, ${PROBE_ROUNDS} x ${PROBE_CALLS} calls each\n`);
  userProbes = await userProbeCosts();
  if (!NO_WILDCARD) {
    process.stderr.write(`bench: attach time of a wildcard over ${WILDCARD_FUNCS} functions, bpfts ${WILDCARD_RUNS.bpfts} runs, bpftrace ${WILDCARD_RUNS.bpftrace} (its detach takes minutes)\n`);
    wildcard = await wildcardAttach();
  }
}

const metrics = [
  metric(`wall time of '${START_PROGRAM}' (median of ${WALL_RUNS})`, "ms", median(wall.bpfts), median(wall.bpftrace), 1 / 3, "<= 0.33", { samples: wall }),
  metric(`peak RSS of '${START_PROGRAM}' (median of ${RSS_RUNS})`, "MiB", median(rss.samples.bpfts) / 1024, median(rss.samples.bpftrace) / 1024, 0.6, "<= 0.60", {
    method: rss.method,
    samplesKiB: rss.samples,
  }),
];
for (const t of traced) {
  metrics.push(metric(`insns: ${t.name}`, "insns", t.bpfts.insns, t.bpftrace.insns, 1, "<= 1.00", { programs: { bpfts: t.bpfts.programs, bpftrace: t.bpftrace.programs } }));
}
for (const t of traced) {
  metrics.push(
    metric(`ns per run: ${t.name} (median of ${2 * LOAD_ROUNDS})`, "ns", median(t.bpfts.nsPerRun), median(t.bpftrace.nsPerRun), 1, "<= 1.00", {
      samples: { bpfts: t.bpfts.nsPerRun, bpftrace: t.bpftrace.nsPerRun },
    }),
  );
}
for (const u of userProbes) {
  const extra = { program: u.program, calls: PROBE_CALLS, baselineNsPerCall: u.baselineNs };
  metrics.push(
    metric(`ns per call, target's clock: ${u.name} (median of ${PROBE_ROUNDS})`, "ns", median(u.bpfts.ownNs), median(u.bpftrace.ownNs), 1, "<= 1.00", {
      ...extra,
      method: "the target's CLOCK_MONOTONIC ns per call traced, minus its untraced baseline",
      samples: { bpfts: u.bpfts.ownNs, bpftrace: u.bpftrace.ownNs },
    }),
  );
  metrics.push(
    metric(`ns per call, kernel run_time_ns: ${u.name} (median of ${PROBE_ROUNDS})`, "ns", median(u.bpfts.kernelNs), median(u.bpftrace.kernelNs), 1, "<= 1.00", {
      ...extra,
      method: "the tool's programs' run_time_ns delta / calls (BPF_ENABLE_STATS)",
      samples: { bpfts: u.bpfts.kernelNs, bpftrace: u.bpftrace.kernelNs },
      programRuns: { bpfts: u.bpfts.runs, bpftrace: u.bpftrace.runs },
    }),
  );
}
if (wildcard) {
  const runs = `bpfts: median of ${WILDCARD_RUNS.bpfts}, bpftrace: ${WILDCARD_RUNS.bpftrace} run`;
  const probes = { bpfts: wildcard.bpfts.probes, bpftrace: wildcard.bpftrace.probes };
  metrics.push(
    metric(`attach time of uprobe wildcard over ${WILDCARD_FUNCS} functions (${runs})`, "ms", median(wildcard.bpfts.ms), median(wildcard.bpftrace.ms), 1, "<= 1.00", {
      program: wildcard.program,
      method: "from spawning the tool to its __BPFTRACE_NOTIFY_PROBES_ATTACHED line (start-up included)",
      samples: { bpfts: wildcard.bpfts.ms, bpftrace: wildcard.bpftrace.ms },
      probes,
    }),
  );
  metrics.push(
    metric(`detach time of the same wildcard (${runs})`, "ms", median(wildcard.bpfts.detachMs), median(wildcard.bpftrace.detachMs), 1, "<= 1.00", {
      program: wildcard.program,
      method: "from SIGINT to the tool's exit",
      samples: { bpfts: wildcard.bpfts.detachMs, bpftrace: wildcard.bpftrace.detachMs },
      probes,
    }),
  );
}

const results = {
  date: new Date().toISOString(),
  durationSeconds: (Date.now() - started) / 1000,
  machine: { kernel: release(), cpus: cpus().length, cpu: cpus()[0]?.model ?? "", node: process.version, bpftrace: bpftraceVersion },
  bpfts: `${BIN.slice(ROOT.length + 1)} (package.json bin, run as a file)`,
  ...(STARTUP_ONLY ? { startupOnly: true } : {}),
  tracepoint: "tracepoint:raw_syscalls:sys_enter",
  load: `dd if=/dev/zero of=/dev/null bs=1 count=${LOAD_BYTES} (${2 * LOAD_BYTES} syscalls), ${LOAD_ROUNDS} measured rounds (after ${LOAD_WARMUP} warm-up) in each of two sessions per program, both tools attached, each attach order once`,
  metrics,
};
writeFileSync(RESULTS, JSON.stringify(results, null, 2) + "\n");

process.stdout.write(`\n${table(metrics)}\n\n`);
const passed = metrics.filter((m) => m.pass).length;
process.stdout.write(`${passed} of ${metrics.length} targets met; results in ${RESULTS} (${results.durationSeconds.toFixed(0)} s)\n`);
