// Runs one conformance case the way bpftrace's runtime test engine does, with the directives'
// meanings from ../shared/conformance/README.md:
//  1. BEFORE commands start in the background (own process groups); the case waits (up to
//     TIMEOUT seconds) until `pidof -s` finds a process named like the last word of the last one;
//     {{BEFORE_PID}} is that pid.
//  2. The tool runs as `/bin/sh -c CMD` in a new process group, where CMD is the RUN line with
//     {{BPFTRACE}} replaced, or `TOOL -e 'PROG'`, with stderr merged into stdout (one pipe, so
//     the order of lines is kept), stdin from /dev/null, and the environment PATH, HOME,
//     test=NAME, __BPFTRACE_NOTIFY_PROBES_ATTACHED=1 plus the ENV pairs.
//  3. Until the line __BPFTRACE_NOTIFY_PROBES_ATTACHED appears the tool has attachTimeout
//     seconds; from then on TIMEOUT seconds, and the AFTER command starts. When time is up the
//     tool's process group gets SIGTERM (SIGKILL 3 s later), the case counts as timed out and
//     its exit status is not checked.
//  4. Every EXPECT (a Python regex, see pyregex.mjs) must be found in the output; without a
//     timeout, a non-zero exit status fails the case unless WILL_FAIL.
//  5. BEFORE and AFTER process groups, and whatever is left of the tool's, are killed.
// An AFTER command's `pkill [-SIG] bpftrace` is confined to the tool's own process group (and
// to the tool's process name), so a case never signals processes the harness did not start.
import { execFile, spawn } from "node:child_process";
import { basename } from "node:path";
import { pyRegex } from "./pyregex.mjs";

export const ATTACH_LINE = "__BPFTRACE_NOTIFY_PROBES_ATTACHED";
const OUTPUT_CAP = 8 << 20;
const SIDE_CAP = 64 << 10;
const TERM_GRACE_MS = 3000;
const KILL_GRACE_MS = 2000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function shellQuote(s) {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function pidof(name) {
  return new Promise((resolve) => {
    execFile("pidof", ["-s", name], { encoding: "utf8" }, (err, stdout) => resolve(err ? undefined : stdout.trim() || undefined));
  });
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // gone already
  }
}

/** SIGKILLs process groups and waits (up to 2 s) until they are gone. */
export async function reapGroups(pgids) {
  const live = pgids.filter((g) => g !== undefined && groupAlive(g));
  for (const g of live) killGroup(g, "SIGKILL");
  const deadline = Date.now() + 2000;
  while (live.some(groupAlive) && Date.now() < deadline) await sleep(20);
}

/** A background command in its own process group; its output is kept (bounded) for diagnostics. */
function background(cmd, cwd, env) {
  const child = spawn("/bin/sh", ["-c", cmd], { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const side = { child, output: "" };
  const keep = (d) => {
    if (side.output.length < SIDE_CAP) side.output += d.toString("utf8");
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  child.on("error", (e) => keep(String(e)));
  return side;
}

/**
 * @param {import("./suite.mjs").Case} c
 * @param {{ tool: string, toolComm: string, cwd: string, attachTimeout: number }} ctx
 *   tool: shell text that runs the tool (for {{BPFTRACE}}); toolComm: its process name
 */
export async function runCase(c, ctx) {
  const started = Date.now();
  const result = {
    command: "",
    output: "",
    exitCode: /** @type {number | null} */ (null),
    timedOut: false,
    attached: false,
    before: /** @type {string[]} */ ([]),
    after: /** @type {string | undefined} */ (undefined),
    status: /** @type {"pass" | "fail"} */ ("fail"),
    reason: "",
    durationMs: 0,
  };
  const sideEnv = { ...process.env };
  delete sideEnv["__BPFTRACE_NOTIFY_PROBES_ATTACHED"];
  /** @type {number[]} */
  const groups = [];
  /** @type {{ child: import("node:child_process").ChildProcess, output: string }[]} */
  const sides = [];
  try {
    // 1. BEFORE
    let beforePid;
    for (const cmd of c.before) {
      const side = background(cmd, ctx.cwd, sideEnv);
      sides.push(side);
      if (side.child.pid !== undefined) groups.push(side.child.pid);
      const name = basename(cmd.trim().split(/\s+/).pop() ?? "");
      const deadline = Date.now() + Math.max(c.timeout, 5) * 1000;
      beforePid = await pidof(name);
      while (beforePid === undefined && Date.now() < deadline) {
        await sleep(100);
        beforePid = await pidof(name);
      }
      if (beforePid === undefined) {
        result.reason = `BEFORE never started: no process named ${name} (pidof)`;
        result.before = sides.map((s) => s.output);
        return result;
      }
    }

    // 2. the tool
    let cmd = c.run !== undefined ? c.run.replaceAll("{{BPFTRACE}}", ctx.tool) : `${ctx.tool} -e ${shellQuote(c.prog ?? "")}`;
    if (beforePid !== undefined) cmd = cmd.replaceAll("{{BEFORE_PID}}", beforePid);
    result.command = cmd;
    const env = {
      PATH: process.env["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      ...(process.env["HOME"] !== undefined ? { HOME: process.env["HOME"] } : {}),
      test: c.name,
      [ATTACH_LINE]: "1",
      ...c.env,
    };
    const tool = spawn("/bin/sh", ["-c", `exec 2>&1\n${cmd}`], { cwd: ctx.cwd, env, detached: true, stdio: ["ignore", "pipe", "ignore"] });
    const pgid = tool.pid;
    if (pgid !== undefined) groups.push(pgid);

    /** @type {Buffer[]} */
    const chunks = [];
    let size = 0;
    let truncated = false;
    let scanned = "";
    /** @type {NodeJS.Timeout | undefined} */
    let timer;
    /** @type {NodeJS.Timeout[]} */
    const graceTimers = [];

    const exited = new Promise((resolve) => {
      tool.on("error", (e) => {
        chunks.push(Buffer.from(`harness: cannot start the tool: ${e.message}\n`));
        resolve(127);
      });
      tool.on("close", (code, signal) => resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : 1)));
    });

    const timeUp = () => {
      result.timedOut = true;
      if (pgid !== undefined) killGroup(pgid, "SIGTERM");
      graceTimers.push(setTimeout(() => pgid !== undefined && killGroup(pgid, "SIGKILL"), TERM_GRACE_MS));
    };
    timer = setTimeout(timeUp, ctx.attachTimeout * 1000);

    const onAttached = () => {
      result.attached = true;
      clearTimeout(timer);
      timer = setTimeout(timeUp, c.timeout * 1000);
      if (c.after !== undefined) {
        const afterCmd = confinePkill(c.after, pgid, ctx.toolComm);
        result.after = afterCmd === c.after ? undefined : afterCmd;
        const side = background(afterCmd, ctx.cwd, sideEnv);
        sides.push(side);
        if (side.child.pid !== undefined) groups.push(side.child.pid);
      }
    };

    tool.stdout.on("data", (d) => {
      if (size < OUTPUT_CAP) {
        chunks.push(d);
        size += d.length;
      } else truncated = true;
      if (!result.attached) {
        // Look for the line in the text seen so far (the tail of it is enough).
        scanned = (scanned + d.toString("latin1")).slice(-4096);
        if (new RegExp(`(^|\\n)${ATTACH_LINE}\\r?\\n`).test(scanned)) onAttached();
      }
    });

    // The tool's shell may exit while something it started still holds the pipe: 'close' waits
    // for both, and the timers above bound the wait.
    const hardLimit = new Promise((resolve) => {
      const limit = (ctx.attachTimeout + c.timeout) * 1000 + TERM_GRACE_MS + KILL_GRACE_MS + 1000;
      graceTimers.push(setTimeout(() => resolve("hard-limit"), limit));
    });
    const code = await Promise.race([exited, hardLimit]);
    clearTimeout(timer);
    for (const t of graceTimers) clearTimeout(t);
    if (code === "hard-limit") {
      result.timedOut = true;
      tool.stdout.destroy();
    } else result.exitCode = /** @type {number} */ (code);

    result.output = Buffer.concat(chunks).toString("utf8") + (truncated ? `\n[harness: output cut at ${OUTPUT_CAP} bytes]\n` : "");

    // 4. verdict
    const missing = [];
    for (const e of c.expect) {
      let re;
      try {
        re = pyRegex(e);
      } catch (err) {
        missing.push(`${e} (bad regex: ${err.message})`);
        continue;
      }
      if (!re.test(result.output)) missing.push(e);
    }
    if (!result.timedOut && result.exitCode !== 0 && !c.willFail) {
      result.reason = `exit status ${result.exitCode}` + (missing.length > 0 ? ", expected output not found" : " (expected output found)");
    } else if (missing.length > 0) {
      result.reason = (result.timedOut ? (result.attached ? "timed out, then " : "timed out before attaching, then ") : "") + `expected output not found` + (c.expect.length > 1 ? ` (${missing.length} of ${c.expect.length} patterns)` : "");
    } else {
      result.status = "pass";
    }
    return result;
  } finally {
    await reapGroups(groups);
    for (const s of sides) {
      s.child.stdout?.destroy();
      s.child.stderr?.destroy();
    }
    result.before = sides.slice(0, c.before.length).map((s) => s.output);
    result.durationMs = Date.now() - started;
  }
}

/** `pkill [-SIG...] bpftrace` → the same signal to the tool's processes in its own group only. */
export function confinePkill(cmd, pgid, toolComm) {
  if (pgid === undefined) return cmd;
  const names = [...new Set(["bpftrace", toolComm])].map((n) => n.replace(/[^A-Za-z0-9_-]/g, "")).join("|");
  return cmd.replace(/\bpkill((?:\s+-\S+)*)\s+bpftrace\b/g, (_m, opts) => `pkill${opts} -g ${pgid} '^(${names})$'`);
}

function signalNumber(name) {
  const n = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 }[name];
  return n;
}
