// The library's trace() against the kernel: the event iterator, maps() as typed values, and that a
// session releases everything however it ends (exit(), stop(), abort, duration, break, a throw in
// the loop, an error while attaching), checked as test/kernel/leaks.test.ts checks runs: the
// kernel's object ids (our programs by name, our maps by a name unique to the test, their links)
// and this process's fds.
import { execFileSync, spawnSync } from "node:child_process";
import { getPriority } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, vi } from "vitest";
import { compile, SessionError, trace, type Histogram, type TraceEvent, type TraceSession } from "../../index.js";
import { native } from "../../runtime/native.js";
import { anonFds, ids, linksTo, nameOf } from "../support/bpf-objects.js";
import { kernelTest, kernelUnavailable } from "../support/kernel.js";
import { buildTargets, withTarget } from "../support/targets.js";

const root = new URL("../../", import.meta.url).pathname;

beforeAll(() => {
  if (kernelUnavailable() !== undefined) return;
  // examples/embed.mjs imports "bpfts": the built package (tsc emits even when some file has errors).
  try {
    execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.json")], { cwd: root, stdio: "pipe" });
  } catch (e) {
    process.stderr.write(`trace.test: tsc reported errors:\n${(e as { stdout?: Buffer }).stdout?.toString() ?? e}\n`);
  }
}, 120_000);

afterEach(() => {
  vi.restoreAllMocks();
});

// ---- what exists (as in leaks.test.ts) -------------------------------------------------------------

interface Before {
  progs: Set<number>;
  fds: string[];
}

function before(): Before {
  return { progs: new Set(ids("prog")), fds: anonFds() };
}

/** Our objects still alive: new programs named like the script's, maps named `tag`, their links. */
function leftovers(b: Before, progNames: Set<string>, tag: string): string[] {
  const out: string[] = [];
  const progs = new Set<number>();
  for (const id of ids("prog")) {
    if (b.progs.has(id)) continue;
    const name = nameOf("prog", id);
    if (name !== undefined && progNames.has(name)) {
      progs.add(id);
      out.push(`prog ${id} (${name})`);
    }
  }
  for (const id of ids("map")) if (nameOf("map", id) === tag) out.push(`map ${id} (${tag})`);
  for (const id of linksTo(progs)) out.push(`link ${id}`);
  return out;
}

/** Nothing of the script remains (the kernel frees some objects after a grace period: wait up to 1.5 s). */
async function expectReleased(b: Before, source: string, tag: string): Promise<void> {
  expect(anonFds()).toEqual(b.fds);
  const r = compile(source);
  if (!r.ok) throw new Error(r.formatted);
  const names = new Set(r.programs.map((p) => p.name));
  const deadline = Date.now() + 1500;
  let left = leftovers(b, names, tag);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 20));
    left = leftovers(b, names, tag);
  }
  expect(left).toEqual([]);
}

let counter = 0;
/** A map name unique to one test (at most 15 characters, the kernel's limit). */
function uniqueTag(tag: string): string {
  return `tr_${tag}${counter++}${process.pid % 1000}`.slice(0, 15);
}

async function collect(session: TraceSession): Promise<TraceEvent[]> {
  const events: TraceEvent[] = [];
  for await (const e of session) events.push(e);
  return events;
}

/** A script that runs until stopped, firing often (an interval and a syscall tracepoint). */
function endless(tag: string): string {
  return `i:ms:10 { @${tag} = count(); printf("tick\\n") } tracepoint:syscalls:sys_enter_getpriority { @${tag} = count() }`;
}

// ---- events ------------------------------------------------------------------------------------------

describe("the event iterator", () => {
  kernelTest("a BEGIN program: every event, typed, in order; then the end", async () => {
    const session = trace(
      'BEGIN { printf("hello %s\\n", str($1)); print(5); print(((int32)-3, (uint8)255)); print((1, "x")); print(probe); time("%Y\\n"); ' +
        '@c["a"] = count(); @c["b"] = count(); @c["b"] = count(); print(@c, 1); exit() } END { printf("end %d\\n", $2) }',
      { params: ["world", 7] },
    );
    const events = await collect(session);
    expect(events.map((e) => e.type)).toEqual(["attached", "printf", "value", "value", "value", "value", "time", "map", "printf"]);
    expect(events[0]).toEqual({ type: "attached", probes: 2, text: "Attaching 2 probes...\n" });
    expect(events[1]).toEqual({ type: "printf", text: "hello world\n" });
    expect(events[2]).toEqual({ type: "value", value: 5n, valueType: "int64", text: "5\n" });
    // Integers of less than 64 bits (they survive in tuples) are numbers.
    expect(events[3]).toEqual({ type: "value", value: [-3, 255], valueType: "(int32, uint8)", text: "(-3, 255)\n" });
    expect(events[4]).toEqual({ type: "value", value: [1n, "x"], valueType: "(int64, string[2])", text: "(1, x)\n" });
    expect(events[5]).toEqual({ type: "value", value: "BEGIN", valueType: "probe", text: "BEGIN\n" });
    expect(events[6]).toEqual({ type: "time", text: `${new Date().getFullYear()}\n` });
    const map = events[7] as Extract<TraceEvent, { type: "map" }>;
    expect(map).toMatchObject({ top: 1, div: 1, text: "@c[b]: 2\n" });
    expect(map.map.entries).toEqual([
      { key: ["a"], value: 1n },
      { key: ["b"], value: 2n },
    ]);
    expect(events[8]).toEqual({ type: "printf", text: "end 7\n" });
    expect(session.ended).toBe(true);
    await expect(session.done).resolves.toBeUndefined();
    await expect(session.attached).resolves.toBeUndefined();
  });

  kernelTest("events arrive while the session runs; attached resolves once the probes are attached", async () => {
    const tag = uniqueTag("live");
    const session = trace(`tracepoint:syscalls:sys_enter_getpriority { @${tag}++; printf("prio %d\\n", @${tag}) }`, { duration: 10_000 });
    await session.attached;
    getPriority();
    getPriority();
    const seen: string[] = [];
    for await (const e of session) {
      if (e.type !== "printf") continue;
      seen.push(e.text);
      if (seen.length === 2) break;
    }
    expect(seen[0]).toMatch(/^prio \d+\n$/);
    expect(session.ended).toBe(true);
  });
});

// ---- maps --------------------------------------------------------------------------------------------

describe("maps()", () => {
  kernelTest("every map as typed values", async () => {
    const session = trace(
      "BEGIN { @i64 = 5; @i32 = (int32)-3; @u16 = ((uint16)65535, (int8)-1); @s = \"str\"; @t = (1, \"a\", (2, 3)); " +
        '@c["x"] = count(); @c["x"] = count(); @c["y"] = count(); @k[1, "a"] = 3; @k[-2, "b"] = 4; ' +
        "@sum = sum(-7); @min = min(-4); @min = min(3); @max = max(9); @max = max(3); @avg = avg(3); @avg = avg(8); @st = stats(2); @st = stats(9); " +
        "@h = hist(0); @h = hist(5); @h = hist(6); @h = hist(100); @h = hist(-1); @l = lhist(-5, 0, 100, 10); @l = lhist(25, 0, 100, 10); @l = lhist(500, 0, 100, 10); " +
        "@p[probe] = count(); exit() }",
    );
    await session.done;
    const m = await session.maps();
    expect(Object.keys(m)).toEqual(["@avg", "@c", "@h", "@i32", "@i64", "@k", "@l", "@max", "@min", "@p", "@s", "@st", "@sum", "@t", "@u16"]);
    expect(m["@i64"]!.value).toBe(5n);
    // Map values are 64-bit integers (as in bpftrace 0.17); smaller ones survive in tuples.
    expect(m["@i32"]!.value).toBe(-3n);
    expect(m["@i32"]!.valueType).toBe("int64");
    expect(m["@u16"]!.value).toEqual([65535, -1]);
    expect(m["@s"]!.value).toBe("str");
    expect(m["@t"]!.value).toEqual([1n, "a", [2n, 3n]]);
    expect(m["@c"]!.entries).toEqual([
      { key: ["y"], value: 1n },
      { key: ["x"], value: 2n },
    ]);
    expect(m["@c"]).toMatchObject({ name: "@c", keyTypes: ["string[2]"], valueType: "count()" });
    expect(m["@c"]!.get("x")).toBe(2n);
    expect(m["@c"]!.get("z")).toBeUndefined();
    expect(m["@c"]!.value).toBeUndefined();
    expect(m["@k"]!.get(1, "a")).toBe(3n);
    expect(m["@k"]!.get(-2n, "b")).toBe(4n);
    expect(m["@sum"]!.value).toBe(-7n);
    expect(m["@min"]!.value).toBe(-4n);
    expect(m["@max"]!.value).toBe(9n);
    expect(m["@avg"]!.value).toBe(5n);
    expect(m["@st"]!.value).toEqual({ count: 2n, average: 5n, total: 11n });
    expect(m["@p"]!.get("BEGIN")).toBe(1n);

    const h = m["@h"]!.value as Histogram;
    expect([...h]).toEqual([
      { min: -Infinity, max: -1, count: 1n },
      { min: 0, max: 0, count: 1n },
      { min: 1, max: 1, count: 0n },
      { min: 2, max: 3, count: 0n },
      { min: 4, max: 7, count: 2n },
      { min: 8, max: 15, count: 0n },
      { min: 16, max: 31, count: 0n },
      { min: 32, max: 63, count: 0n },
      { min: 64, max: 127, count: 1n },
    ]);
    expect(h.total).toBe(5n);
    expect(h.percentile(50)).toBe(5); // the 3rd of 5 values: the first of two in [4, 7]
    expect(h.percentile(100)).toBe(96);
    expect(h.percentile(0)).toBe(-1);
    expect(() => h.percentile(101)).toThrow(RangeError);

    const l = m["@l"]!.value as Histogram;
    expect(l[0]).toEqual({ min: -Infinity, max: -1, count: 1n });
    expect(l[3]).toEqual({ min: 20, max: 29, count: 1n });
    expect(l.at(-1)).toEqual({ min: 100, max: Infinity, count: 1n });
    expect(l.percentile(50)).toBe(25);
  });

  kernelTest("read while running, and as they were at the end afterwards", async () => {
    const tag = uniqueTag("run");
    const session = trace(`i:ms:5 { @${tag} = count() } END { @end = 1 }`);
    await session.attached;
    const first = (await session.maps())[`@${tag}`]?.value ?? 0n;
    await new Promise((r) => setTimeout(r, 100));
    const second = (await session.maps())[`@${tag}`]!.value as bigint;
    expect(second).toBeGreaterThan(first as bigint);
    expect((await session.maps())["@end"]!.value).toBeUndefined();
    await session.stop();
    const final = await session.maps();
    expect(final[`@${tag}`]!.value as bigint).toBeGreaterThanOrEqual(second);
    expect(final["@end"]!.value).toBe(1n);
    // The same values on every later call: the session is over.
    expect((await session.maps())[`@${tag}`]!.value).toBe(final[`@${tag}`]!.value);
  });
});

// ---- however it ends, everything is released ----------------------------------------------------------

describe("everything is released", () => {
  kernelTest("exit() in the script", async () => {
    const tag = uniqueTag("exit");
    const source = `BEGIN { @${tag} = 1 } i:ms:10 { @${tag}++; if (@${tag} > 3) { exit() } }`;
    const b = before();
    const events = await collect(trace(source));
    expect(events.map((e) => e.type)).toEqual(["attached"]);
    await expectReleased(b, source, tag);
  });

  kernelTest("user addresses come back as symbols, as the CLI prints them", async () => {
    const { tracetest } = buildTargets("O0");
    await withTarget(tracetest, async (t) => {
      const session = trace(`uprobe:${tracetest}:tt_add /pid == ${t.pid}/ { printf("%s\\n", func); @f[func] = count(); @s[ustack(1)] = count(); }`);
      await session.attached;
      await t.command("add 3"); // three calls of tt_add
      await new Promise((r) => setTimeout(r, 100));
      const maps = await session.maps();
      await session.stop();
      const events = await collect(session);
      expect(events.filter((e) => e.type === "printf").map((e) => e.text)).toEqual(["tt_add\n", "tt_add\n", "tt_add\n"]);
      expect(maps["@f"]?.entries).toEqual([{ key: ["tt_add"], value: 3n }]);
      expect(maps["@s"]?.entries).toEqual([{ key: [["tt_add+0"]], value: 3n }]);
    });
  });

  kernelTest("stop()", async () => {
    const tag = uniqueTag("stop");
    const source = endless(tag);
    const b = before();
    const session = trace(source);
    await session.attached;
    await new Promise((r) => setTimeout(r, 50));
    await session.stop();
    expect(session.ended).toBe(true);
    await expectReleased(b, source, tag);
    // Events printed before the stop are still there to read, then the end.
    const events = await collect(session);
    expect(events[0]?.type).toBe("attached");
    expect(events.slice(1).every((e) => e.type === "printf" && e.text === "tick\n")).toBe(true);
  });

  kernelTest("the abort signal", async () => {
    const tag = uniqueTag("abort");
    const source = endless(tag);
    const b = before();
    const controller = new AbortController();
    const session = trace(source, { signal: controller.signal });
    await session.attached;
    controller.abort();
    await session.done;
    await expectReleased(b, source, tag);
    expect((await session.maps())[`@${tag}`]).toBeDefined();
  });

  kernelTest("a signal aborted before the start: the session ends at once", async () => {
    const tag = uniqueTag("pre");
    const source = endless(tag);
    const b = before();
    const session = trace(source, { signal: AbortSignal.abort() });
    await session.done;
    await expectReleased(b, source, tag);
  });

  kernelTest("the duration", async () => {
    const tag = uniqueTag("dur");
    const source = endless(tag);
    const b = before();
    const start = Date.now();
    const events = await collect(trace(source, { duration: 150 }));
    const took = Date.now() - start;
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(5000);
    expect(events.filter((e) => e.type === "printf").length).toBeGreaterThan(0);
    await expectReleased(b, source, tag);
  });

  kernelTest("break out of for await", async () => {
    const tag = uniqueTag("brk");
    const source = endless(tag);
    const b = before();
    const session = trace(source);
    for await (const e of session) if (e.type === "printf") break;
    // return() waited for the end: released already.
    expect(session.ended).toBe(true);
    await expectReleased(b, source, tag);
  });

  kernelTest("a throw in the loop's body", async () => {
    const tag = uniqueTag("thr");
    const source = endless(tag);
    const b = before();
    const session = trace(source);
    await expect(
      (async () => {
        for await (const e of session) if (e.type === "printf") throw new Error("consumer failed");
      })(),
    ).rejects.toThrow("consumer failed");
    expect(session.ended).toBe(true);
    await expectReleased(b, source, tag);
  });

  kernelTest("an error while attaching, after a probe is attached: a SessionError everywhere", async () => {
    const tag = uniqueTag("err");
    const source = `i:ms:10 { @${tag} = count() } i:ms:20 { @${tag} = count() } tracepoint:syscalls:sys_enter_getpriority { @${tag} = count() }`;
    const n = native();
    const attach = n.perfEventAttach.bind(n);
    let calls = 0;
    vi.spyOn(n, "perfEventAttach").mockImplementation((perf, prog) => {
      if (++calls === 2) throw new Error("perf_event_ioc_set_bpf failed: EINVAL (Invalid argument)");
      attach(perf, prog);
    });
    const b = before();
    const session = trace(source);
    await expect(session.done).rejects.toThrow(SessionError);
    const error = await session.done.catch((e: unknown) => e as SessionError);
    expect(error).toMatchObject({ exitCode: 1, message: "cannot attach interval:ms:20 on CPU 0: Invalid argument" });
    expect(calls).toBe(2);
    await expect(session.attached).rejects.toBe(error);
    await expect(session.maps()).rejects.toBe(error);
    // The iterator gives the events before the failure, then throws it.
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const e of session) seen.push(e.type);
      })(),
    ).rejects.toBe(error);
    expect(seen).toEqual(["attached"]);
    await expectReleased(b, source, tag);
  });
});

// ---- the example -----------------------------------------------------------------------------------

kernelTest("examples/embed.mjs: the top 5 processes by system calls", () => {
  const r = spawnSync(process.execPath, [join(root, "examples/embed.mjs"), "300"], { cwd: root, encoding: "utf8", timeout: 30_000 });
  expect(r.status).toBe(0);
  expect(r.stderr).toBe("counting system calls for 300 ms (1 probe)...\n");
  const lines = r.stdout.trimEnd().split("\n");
  expect(lines.length).toBeGreaterThan(0);
  expect(lines.length).toBeLessThanOrEqual(5);
  const counts = lines.map((l) => {
    const m = /^ *(\d+) {2}(.+)$/.exec(l);
    expect(m, l).not.toBeNull();
    return Number(m![1]);
  });
  expect([...counts].sort((a, b) => b - a)).toEqual(counts);
}, 40_000);
