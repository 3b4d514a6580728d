// Real scripts compiled and run in-process (compile + runScript) against the kernel; the expected
// texts are what bpftrace 0.17 prints for the same scripts (checked with bpftrace 0.17.0).
import { readdirSync } from "node:fs";
import { getPriority } from "node:os";
import { describe, expect, test } from "vitest";
import { compile } from "../../compiler/compile.js";
import { formatDiagnostics } from "../../compiler/index.js";
import type { CompiledScript } from "../../compiler/program.js";
import { parseCpuList, samplingOf } from "../../runtime/attach/perf.js";
import { attachingLine, parsePosixTz, strftime, timeText } from "../../runtime/output.js";
import { kernelMapName, logTail, runScript, type RunOptions } from "../../runtime/session.js";
import { globRegExp } from "../../runtime/tracefs.js";
import { kernelTest } from "../support/kernel.js";

function compiled(text: string): CompiledScript {
  const r = compile(text, { file: "stdin" });
  if (r.script === undefined) throw new Error(formatDiagnostics(r.diagnostics, r.source));
  return r.script;
}

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved, each chunk tagged: "1:" stdout, "2:" stderr. */
  both: string[];
}

/**
 * Runs a script; `onAttached` is called (synchronously, from the session) once every probe is
 * attached, with an abort function that stops the run like SIGINT.
 */
async function run(text: string | CompiledScript, opts: { onAttached?: (stop: () => void) => void } & Partial<RunOptions> = {}): Promise<Run> {
  const script = typeof text === "string" ? compiled(text) : text;
  const r: Run = { exitCode: -1, stdout: "", stderr: "", both: [] };
  const controller = new AbortController();
  const { onAttached, ...rest } = opts;
  const result = await runScript(script, {
    signal: controller.signal,
    ...rest,
    notifyAttached: rest.notifyAttached ?? onAttached !== undefined,
    stdout: (s) => {
      r.stdout += s;
      r.both.push(`1:${s}`);
    },
    stderr: (s) => {
      r.stderr += s;
      r.both.push(`2:${s}`);
      if (s === "__BPFTRACE_NOTIFY_PROBES_ATTACHED\n") onAttached?.(() => controller.abort());
    },
  });
  r.exitCode = result.exitCode;
  return r;
}

describe("session: BEGIN, END, exit", () => {
  kernelTest("BEGIN printf and exit()", async () => {
    const r = await run('BEGIN { printf("hello\\n"); exit(); }');
    expect(r).toMatchObject({ exitCode: 0, stderr: "" });
    expect(r.stdout).toBe("Attaching 1 probe...\nhello\n\n\n");
  });

  kernelTest("BEGIN { exit() } prints the banner and the two newlines", async () => {
    expect((await run("BEGIN { exit() }")).stdout).toBe("Attaching 1 probe...\n\n\n");
  });

  kernelTest("END runs after exit(), before the maps", async () => {
    const r = await run('BEGIN { @x = 5; exit() } END { printf("end %d\\n", @x) }');
    expect(r.stdout).toBe("Attaching 2 probes...\nend 5\n\n\n@x: 5\n");
  });

  kernelTest("END can write maps printed at exit; probes never fired still count", async () => {
    const r = await run("BEGIN { exit() } END { @x = 1 } i:s:100 {}");
    expect(r.stdout).toBe("Attaching 3 probes...\n\n\n@x: 1\n");
  });

  kernelTest("nothing after exit() in BEGIN runs", async () => {
    const r = await run('BEGIN { printf("a\\n"); exit(); printf("b\\n"); }');
    expect(r.stdout).toBe("Attaching 1 probe...\na\n\n\n");
  });

  kernelTest("SIGINT and SIGTERM handlers are removed when the run ends", async () => {
    const before = [process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")];
    await run("BEGIN { exit() }");
    const bad = compiled("tracepoint:syscalls:sys_enter_getpriority { }");
    bad.programs[0]!.target = { type: "tracepoint", category: "nope", name: "nope" };
    expect((await run(bad)).exitCode).toBe(1);
    await run("i:s:100 { }", { onAttached: (stop) => stop() });
    expect([process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")]).toEqual(before);
  });
});

describe("session: maps", () => {
  kernelTest("every map printed at exit, by name, with bpftrace's ordering of entries", async () => {
    const r = await run("BEGIN { @b = 1; @a[1] = 2; @a[0] = 3; @c = count(); @z = 0; exit() }");
    expect(r.stdout).toBe("Attaching 1 probe...\n\n\n@a[1]: 2\n@a[0]: 3\n@b: 1\n@c: 1\n@z: 0\n");
  });

  kernelTest("aggregations and histograms at exit", async () => {
    const r = await run(
      "BEGIN { @l = lhist(55, 0, 100, 10); @l = lhist(5, 0, 100, 10); @mx = max(7); @mx = max(9); @mn[1] = min(-2); @st = stats(-4); @st = stats(10); @h = hist(5); exit() }",
    );
    const bar = "@".repeat(52);
    expect(r.stdout).toBe(
      "Attaching 1 probe...\n\n\n" +
        `@h: \n[4, 8)                 1 |${bar}|\n\n` +
        `@l: \n[0, 10)                1 |${bar}|\n[10, 20)               0 |${" ".repeat(52)}|\n` +
        `[20, 30)               0 |${" ".repeat(52)}|\n[30, 40)               0 |${" ".repeat(52)}|\n` +
        `[40, 50)               0 |${" ".repeat(52)}|\n[50, 60)               1 |${bar}|\n\n` +
        "@mn[1]: -2\n@mx: 9\n@st: count 2, average 3, total 6\n\n",
    );
  });

  kernelTest("print(@m) mid-run, with top and div (printed when user space reads the record)", async () => {
    const r = await run("BEGIN { @m[1] = 2; @m[3] = 1; print(@m); @m[5] = 0; @s[1] = sum(5); @s[2] = sum(7); print(@s, 1); print(@s, 0, 2); exit() }");
    expect(r.stdout).toBe(
      "Attaching 1 probe...\n@m[5]: 0\n@m[3]: 1\n@m[1]: 2\n@s[2]: 7\n@s[1]: 2\n@s[2]: 3\n\n\n@m[5]: 0\n@m[3]: 1\n@m[1]: 2\n@s[1]: 5\n@s[2]: 7\n",
    );
  });

  kernelTest("clear() and zero()", async () => {
    const r = await run("BEGIN { @a[1] = 1; @b[1] = 2; clear(@a); zero(@b); print(@a); print(@b); exit() }");
    // An empty map prints as an empty line, mid-run and at exit.
    expect(r.stdout).toBe("Attaching 1 probe...\n\n@b[1]: 0\n\n\n\n@b[1]: 0\n");
    const r2 = await run('BEGIN { @b = 1; @c = 2; clear(@b); print(@b); printf("x\\n"); exit() }');
    expect(r2.stdout).toBe("Attaching 1 probe...\n\nx\n\n\n\n@c: 2\n");
  });

  kernelTest("print() of values", async () => {
    const r = await run('BEGIN { print(5); print("a"); print((1, "a")); print((1, (2, "b"))); print((int8)-1); print((uint16)65535); exit() }');
    expect(r.stdout).toBe("Attaching 1 probe...\n5\na\n(1, a)\n(1, (2, b))\n-1\n65535\n\n\n");
  });
});

describe("session: interval and tracepoint probes", () => {
  kernelTest("interval probe counts in a plain map until exit(); records after exit() are dropped", async () => {
    const r = await run('i:ms:10 { @n++; printf("tick %d\\n", @n); if (@n >= 3) { exit() } } END { printf("end\\n") }');
    expect(r.exitCode).toBe(0);
    const m = /^Attaching 2 probes\.\.\.\ntick 1\ntick 2\ntick 3\nend\n\n\n@n: (\d+)\n$/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    // The timer may fire again before it is detached: those records are dropped, @n still counts.
    expect(Number(m![1])).toBeGreaterThanOrEqual(3);
  });

  kernelTest("profile probe fires on the CPUs", async () => {
    // Idle CPUs take (almost) no samples: keep this one busy for a while.
    const r = await run("profile:hz:997 { @p++; if (@p > 20) { exit() } }", {
      onAttached: () => {
        const until = Date.now() + 100;
        while (Date.now() < until);
      },
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^Attaching 1 probe...\n\n\n@p: \d+\n$/);
  });

  kernelTest("tracepoint counts exactly this process's getpriority() calls", async () => {
    const script = `tracepoint:syscalls:sys_enter_getpriority /pid == ${process.pid} && tid == ${process.pid}/ { @calls = count(); @which[args->which] = count(); @n++ } END { printf("n=%d\\n", @n) }`;
    const r = await run(script, {
      onAttached: (stop) => {
        for (let i = 0; i < 25; i++) getPriority();
        stop();
      },
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("Attaching 2 probes...\nn=25\n\n\n@calls: 25\n@n: 25\n@which[0]: 25\n");
  });

  kernelTest("tracepoint wildcards count one probe per match", async () => {
    const r = await run(`tracepoint:syscalls:sys_enter_getp* /tid == ${process.pid}/ { @[probe] = count(); }`, {
      onAttached: (stop) => {
        for (let i = 0; i < 3; i++) getPriority();
        stop();
      },
    });
    expect(r.exitCode).toBe(0);
    // Here: getpeername getpgid getpgrp getpid getppid getpriority (bpftrace 0.17 says 7 with a BEGIN).
    const matches = readdirSync("/sys/kernel/tracing/events/syscalls").filter((n) => n.startsWith("sys_enter_getp")).length;
    expect(matches).toBeGreaterThan(1);
    expect(r.stdout).toBe(`Attaching ${matches} probes...\n\n\n@[tracepoint:syscalls:sys_enter_getpriority]: 3\n`);
  });

  kernelTest("a tracepoint that does not exist is an error before anything is printed", async () => {
    const script = compiled("tracepoint:syscalls:sys_enter_getpriority { }");
    script.programs[0]!.target = { type: "tracepoint", category: "nope", name: "nope" };
    const r = await run(script);
    expect(r).toMatchObject({ exitCode: 1, stdout: "", stderr: "ERROR: tracepoint not found: nope:nope\n" });
  });
});

describe("session: output", () => {
  kernelTest("__BPFTRACE_NOTIFY_PROBES_ATTACHED goes to stderr after the banner, before BEGIN's output", async () => {
    const r = await run('BEGIN { printf("b\\n"); exit() }', { notifyAttached: true });
    expect(r.both).toEqual(["1:Attaching 1 probe...\n", "2:__BPFTRACE_NOTIFY_PROBES_ATTACHED\n", "1:b\n", "1:\n\n"]);
  });

  kernelTest("time() formats local time with strftime", async () => {
    const before = new Date();
    const r = await run('BEGIN { time(); time("%Y-%m-%d|%s\\n"); exit() }');
    const after = new Date();
    const m = /^Attaching 1 probe...\n(\d\d):(\d\d):(\d\d)\n(\d{4})-(\d\d)-(\d\d)\|(\d+)\n\n\n$/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const secs = Number(m![7]);
    expect(secs).toBeGreaterThanOrEqual(Math.floor(before.getTime() / 1000));
    expect(secs).toBeLessThanOrEqual(Math.floor(after.getTime() / 1000));
    expect(Number(m![4])).toBe(new Date(secs * 1000).getFullYear());
  });

  kernelTest("time() output that does not fit bpftrace's 64-byte buffer is an error line", async () => {
    const r = await run('BEGIN { time("%c %c %c\\n"); time(""); printf("x\\n"); exit() }');
    expect(r.stdout).toBe("Attaching 1 probe...\nx\n\n\n");
    expect(r.stderr).toBe("ERROR: strftime returned 0\nERROR: strftime returned 0\n");
  });

  kernelTest("the abort signal stops a run like SIGINT: END runs, maps are printed", async () => {
    const r = await run('i:s:100 { @never = 1 } END { printf("end\\n") }', { onAttached: (stop) => stop() });
    expect(r).toMatchObject({ exitCode: 0, stdout: "Attaching 2 probes...\nend\n\n\n\n" });
  });

  kernelTest("printf conversions and the probe builtin", async () => {
    const r = await run('BEGIN { printf("%s|%d|%5s|%-4d|%x|%c|%s\\n", "abc", -5, "ab", 3, 255, 65, probe); exit() }');
    expect(r.stdout).toBe("Attaching 1 probe...\nabc|-5|   ab|3   |ff|A|BEGIN\n\n\n");
  });

  kernelTest("cpid is written to .state", async () => {
    const c = compile('BEGIN { printf("%d\\n", cpid); exit() }', { file: "stdin", childCommand: true });
    const r = await run(c.script!, { cpid: 4242 });
    expect(r.stdout).toBe("Attaching 1 probe...\n4242\n\n\n");
  });
});

describe("session: losses", () => {
  kernelTest("records the ring buffer had no room for are reported as lost (stdout, like bpftrace)", async () => {
    // Each record takes 24 bytes of the 1 MiB ring (8-byte header, event id, one int): 43690 fit
    // while nothing is consumed (the calls happen before the session polls the ring again).
    const r = await run(`tracepoint:syscalls:sys_enter_getpriority /tid == ${process.pid}/ { printf("%d\\n", args->which); }`, {
      onAttached: (stop) => {
        for (let i = 0; i < 50_000; i++) getPriority();
        stop();
      },
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("Attaching 1 probe...\n" + "0\n".repeat(43_690) + "Lost 6310 events\n\n\n");
  });

  kernelTest("failed map updates (a full map) are reported on stderr", async () => {
    const r = await run("BEGIN { $i = 0; while ($i < 5000) { @m[$i] = 1; $i++ } exit() }");
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split("\n").filter((l) => l.startsWith("@m[")).length).toBe(4096);
    expect(r.stderr).toBe("WARNING: 904 map updates failed (a map may be full)\n");
  });
});

describe("session helpers (no kernel)", () => {
  test("the attach banner", () => {
    expect(attachingLine(1)).toBe("Attaching 1 probe...\n");
    expect(attachingLine(7)).toBe("Attaching 7 probes...\n");
  });

  test("strftime conversions (glibc, C locale)", () => {
    const d = new Date(2026, 0, 5, 15, 4, 9); // Monday 5 January 2026, 15:04:09 local
    expect(strftime("%H:%M:%S", d)).toBe("15:04:09");
    expect(strftime("%Y %m %d %y %b %a %j %e %p %I %%", d)).toBe("2026 01 05 26 Jan Mon 005  5 PM 03 %");
    expect(strftime("%A %B %h %D %F %T %R %r %u %w %C %k %l %P", d)).toBe(
      "Monday January Jan 01/05/26 2026-01-05 15:04:09 15:04 03:04:09 PM 1 1 20 15  3 pm",
    );
    expect(strftime("%c", d)).toBe("Mon Jan  5 15:04:09 2026");
    expect(strftime("%s", d)).toBe(String(Math.floor(d.getTime() / 1000)));
    expect(strftime("%V %G %g %U %W", d)).toBe("02 2026 26 01 01");
    // Flags and widths, as glibc's strftime prints them (Python's time.strftime as the oracle).
    expect(strftime("%-d %_m %5Y %^a %Ey %Om", d)).toBe("5  1 02026 MON 26 01");
    expect(strftime("%10a|%-10a|%_5H|%05e|%#a|%#p|%3e|%^p|%-5d", d)).toBe("       Mon|       Mon|   15|00005|MON|pm|  5|PM|    5");
    expect(strftime("%Q %", d)).toBe("%Q %");
    expect(strftime("%z", d)).toMatch(/^[+-]\d{4}$/);
    expect(timeText("", d)).toBeUndefined();
    expect(timeText("%c %c %c", d)).toBeUndefined();
    expect(timeText("%H\n", d)).toBe("15\n");
  });

  test("%Z and %z follow the local zone like glibc (tzdata abbreviations)", () => {
    expect(parsePosixTz("CET-1CEST,M3.5.0,M10.5.0/3")).toEqual({ std: "CET", stdOffset: 60, dst: "CEST" });
    expect(parsePosixTz("<+04>-4")).toEqual({ std: "+04", stdOffset: 240 });
    expect(parsePosixTz("EST5EDT")).toEqual({ std: "EST", stdOffset: -300, dst: "EDT" });
    const saved = process.env["TZ"];
    try {
      // Expected texts: Python's time.strftime (glibc) with the same TZ.
      const zones: Array<[string, string, string]> = [
        ["Europe/Berlin", "CET +0100", "CEST +0200"],
        ["America/New_York", "EST -0500", "EDT -0400"],
        ["Asia/Kolkata", "IST +0530", "IST +0530"],
        ["Asia/Dubai", "+04 +0400", "+04 +0400"],
        ["Australia/Sydney", "AEDT +1100", "AEST +1000"],
        ["UTC", "UTC +0000", "UTC +0000"],
        ["", "UTC +0000", "UTC +0000"],
      ];
      for (const [tz, winter, summer] of zones) {
        process.env["TZ"] = tz;
        expect(strftime("%Z %z", new Date(2026, 0, 5, 12)), tz).toBe(winter);
        expect(strftime("%Z %z", new Date(2026, 6, 5, 12)), tz).toBe(summer);
      }
    } finally {
      if (saved === undefined) delete process.env["TZ"];
      else process.env["TZ"] = saved;
    }
  });

  test("sampling periods, CPU lists, globs, map names", () => {
    expect(samplingOf("s", 2)).toEqual({ samplePeriod: 2_000_000_000n, freq: false });
    expect(samplingOf("ms", 10)).toEqual({ samplePeriod: 10_000_000n, freq: false });
    expect(samplingOf("us", 7)).toEqual({ samplePeriod: 7_000n, freq: false });
    expect(samplingOf("hz", 99)).toEqual({ sampleFreq: 99, freq: true });
    expect(parseCpuList("0-3,5,7-8\n")).toEqual([0, 1, 2, 3, 5, 7, 8]);
    expect(globRegExp("sys_enter_get*").test("sys_enter_getpid")).toBe(true);
    expect(globRegExp("sys_?nter").test("sys_enter")).toBe(true);
    expect(globRegExp("a.b").test("axb")).toBe(false);
    const spec = (name: string) => ({ name, kind: "hash" as const, keySize: 8, valueSize: 8, maxEntries: 1 });
    expect(kernelMapName(spec("@"))).toBe("");
    expect(kernelMapName(spec("@a_very_long_map_name"))).toBe("a_very_long_map");
    expect(kernelMapName(spec(".events"))).toBe(".events");
    expect(logTail("", 2)).toBe("");
    expect(logTail("a\nb\n", 2)).toBe("a\nb\n");
    expect(logTail("a\nb\nc", 2)).toBe("... (1 earlier line of the verifier log left out)\nb\nc\n");
  });
});
