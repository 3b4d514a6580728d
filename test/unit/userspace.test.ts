// cat(), system(), join(), software probes and the -k/-kk helper checks, without the kernel:
// checking, the compiled records and code, decoding, and formatting (text and -f json).
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { Helper } from "../../compiler/asm/index.js";
import { compile } from "../../compiler/compile.js";
import { analyze } from "../../compiler/index.js";
import { parseFormat, type Segment } from "../../compiler/printf.js";
import type { EventSpec } from "../../compiler/program.js";
import { SOFTWARE_EVENTS, softwareEvent, softwarePeriod } from "../../compiler/probes/software.js";
import { catBytesMax, catFile, DEFAULT_CAT_BYTES_MAX } from "../../runtime/commands.js";
import { decodeRecord } from "../../runtime/decode.js";
import { helperErrorRecord, jsonSink } from "../../runtime/format/json.js";
import { helperErrorText, joinText, printfText, strerror, textSink, type HelperError } from "../../runtime/output.js";

const errors = (text: string, unsafe = false) =>
  analyze(text, { unsafe })
    .diagnostics.filter((d) => d.severity === "error")
    .map((d) => d.message);

function record(id: number, size: number, fill: (view: DataView, bytes: Uint8Array) => void = () => {}): Uint8Array {
  const bytes = new Uint8Array(8 + size);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(id), true);
  fill(view, bytes);
  return bytes;
}

describe("checking", () => {
  test("cat and system take a format and its arguments, as printf", () => {
    expect(errors('BEGIN { cat("/proc/%s", "uptime"); cat("/x/%d/%s", pid, comm); }')).toEqual([]);
    expect(errors('BEGIN { cat("/proc/%d", "x"); }')).toEqual(["cat: '%d' expects an integer, but the argument is string[2]"]);
    expect(errors('BEGIN { cat("/proc/%s"); }')).toEqual(["cat: the format has 1 conversion but 0 arguments are given"]);
    expect(errors("BEGIN { cat(); }")).toEqual(["cat() takes at least 1 argument, but 0 are given"]);
    expect(errors("BEGIN { $f = \"x\"; cat($f); }")).toEqual(["cat's format must be a string literal"]);
    expect(errors('BEGIN { system("echo %d", 1); }', true)).toEqual([]);
    expect(errors('BEGIN { system("echo %d %d", 1); }', true)).toEqual(["system: the format has 2 conversions but 1 argument is given"]);
  });

  test("system() needs --unsafe: bpftrace's message, over the whole call", () => {
    const r = analyze('BEGIN { system("ls"); }');
    expect(r.diagnostics.map((d) => [d.message, d.column, d.span.end - d.span.start])).toEqual([["system() is an unsafe function being used in safe mode", 9, 12]]);
  });

  test("join takes an address and an optional literal delimiter", () => {
    expect(errors("uprobe:/bin/sh:main { join(arg1); join(arg1, \",\"); }")).toEqual([]);
    expect(errors('BEGIN { join("x"); }')).toEqual(["join: expects the address of an array of strings, but the argument is string[2]"]);
    expect(errors('BEGIN { $d = ","; join(0, $d); }')).toEqual(["join's delimiter must be a string literal"]);
    expect(errors("BEGIN { join(0, \",\", 3); }")).toEqual(["join() takes 1 to 2 arguments, but 3 are given"]);
  });

  test("the three are statements: they have no value", () => {
    expect(errors('BEGIN { $x = cat("/x"); }')).not.toEqual([]);
    expect(errors("BEGIN { @x = join(0); }")).not.toEqual([]);
  });
});

describe("software probes", () => {
  test("bpftrace's events, aliases and default counts", () => {
    expect(SOFTWARE_EVENTS.map((e) => e.name)).toEqual([
      "alignment-faults", "bpf-output", "context-switches", "cpu-clock", "cpu-migrations", "dummy",
      "emulation-faults", "major-faults", "minor-faults", "page-faults", "task-clock",
    ]);
    expect(softwareEvent("faults")?.name).toBe("page-faults");
    expect(softwareEvent("cs")?.name).toBe("context-switches");
    expect(softwareEvent("cpu")?.name).toBe("cpu-clock");
    expect(softwareEvent("nosuch")).toBeUndefined();
    expect(softwarePeriod({ type: "software", event: "cpu" })).toBe(1000000);
    expect(softwarePeriod({ type: "software", event: "faults" })).toBe(100);
    expect(softwarePeriod({ type: "software", event: "task-clock" })).toBe(1);
    expect(softwarePeriod({ type: "software", event: "cs", count: 7 })).toBe(7);
  });

  test("attach points: s:EVENT[:COUNT], COUNT 0 is the default; errors", () => {
    const c = compile("software:faults:1 { @ = count(); } s:cs { @c = count(); } s:cpu:0 { @x = count(); }");
    expect(c.ok).toBe(true);
    expect(c.script!.probeNames).toEqual(["software:faults:1", "software:cs", "software:cpu"]);
    expect(c.script!.programs.every((p) => p.progType === 7)).toBe(true);
    expect(errors("software:nope:1 { }")[0]).toMatch(/^nope is not a software probe \(software events: alignment-faults, /);
    expect(errors("software:faults:-1 { }")).toEqual(["software count should be a positive integer, not '-1'"]);
    expect(errors("software { }")).toEqual(["invalid attach point 'software': expected software:EVENT[:COUNT]"]);
  });
});

describe("compiled records", () => {
  test("cat and system records are printf's; join reserves 16 strings of 1024 bytes", () => {
    const c = compile('BEGIN { cat("/proc/%s", "uptime"); system("echo %d", 5); join(0, ","); join(0); }', { unsafe: true });
    expect(c.ok).toBe(true);
    const events = c.script!.events;
    expect(events[0]).toMatchObject({ kind: "cat", args: [{ type: { kind: "string", size: 7 }, offset: 0 }] });
    expect(events[1]).toMatchObject({ kind: "system", args: [{ type: { kind: "int", size: 8, signed: true }, offset: 0 }], size: 8 });
    expect(events[2]).toEqual({ kind: "join", delim: ",", maxArgs: 16, argSize: 1024 });
    expect(events[3]).toEqual({ kind: "join", delim: " ", maxArgs: 16, argSize: 1024 });
  });

  test.runIf(existsSync("/bin/bash"))("join reads user memory in user-space probes, kernel memory elsewhere", () => {
    const user = compile("uprobe:/bin/bash:readline { join(arg1); }");
    const helpers = (c: typeof user) => c.script!.programs[0]!.insns.filter((i) => i.kind === "call").map((i) => (i as { helper: number }).helper);
    expect(helpers(user)).toContain(Helper.probe_read_user_str);
    expect(helpers(user)).not.toContain(Helper.probe_read_kernel_str);
    expect(helpers(compile("BEGIN { join(0); }"))).toContain(Helper.probe_read_kernel_str);
  });

  test("helper checks are compiled in only with -k (deletes, updates) and -kk (also lookups, reads)", () => {
    const text = 'BEGIN { @a[1] = 1; delete(@a[2]); printf("%d %s\\n", @a[3], str(0)); }';
    const kinds = (level: number) =>
      compile(text, { helperChecks: level })
        .script!.events.filter((e): e is Extract<EventSpec, { kind: "helper_error" }> => e.kind === "helper_error")
        .map((e) => `${e.helper}@${e.line}:${e.column}+${e.length}`);
    expect(kinds(0)).toEqual([]);
    expect(kinds(1)).toEqual(["map_update_elem@1:9+9", "map_delete_elem@1:20+13"]);
    expect(kinds(2)).toEqual(["map_update_elem@1:9+9", "map_delete_elem@1:20+13", "map_lookup_elem@1:53+5", "probe_read_str@1:60+6"]);
    const noChecks = compile(text).script!.programs[0]!.insns.length;
    expect(compile(text, { helperChecks: 2 }).script!.programs[0]!.insns.length).toBeGreaterThan(noChecks);
  });
});

describe("decoding and formatting", () => {
  const events: EventSpec[] = [
    { kind: "cat", segments: (parseFormat("/proc/%s") as { segments: Segment[] }).segments, args: [{ type: { kind: "string", size: 8 }, offset: 0 }], size: 8 },
    { kind: "join", delim: ",", maxArgs: 3, argSize: 4 },
    { kind: "helper_error", helper: "map_delete_elem", file: "stdin", line: 1, column: 22, length: 12, source: "i:ms:100 { @[1] = 1; delete(@[2]); exit(); }" },
  ];

  test("join: the strings up to the first empty one", () => {
    const rec = record(1, 12, (_, b) => b.set([0x61, 0x62, 0, 0, 0x63, 0, 0, 0, 0, 0x78, 0, 0], 8));
    const d = decodeRecord(events, [], rec);
    expect(d.values.map((v) => Buffer.from(v as Uint8Array).toString())).toEqual(["ab", "c"]);
    expect(joinText(",", d.values)).toBe("ab,c");
    // Full slots (no NUL) are kept whole.
    const full = record(1, 12, (_, b) => b.set([0x61, 0x62, 0x63, 0x64, 0x65, 0, 0, 0, 0, 0, 0, 0], 8));
    expect(joinText(" ", decodeRecord(events, [], full).values)).toBe("abcd e");
  });

  test("a helper error: its return value; bpftrace's warning text and JSON record", () => {
    const rec = record(2, 8, (v) => v.setBigInt64(8, -2n, true));
    const d = decodeRecord(events, [], rec);
    expect(d.values).toEqual([-2n]);
    const e = events[2] as Extract<EventSpec, { kind: "helper_error" }>;
    const err: HelperError = { ...e, retcode: -2n };
    expect(helperErrorText(err)).toBe(
      "stdin:1:22-34: WARNING: Failed to map_delete_elem: No such file or directory (-2)\ni:ms:100 { @[1] = 1; delete(@[2]); exit(); }\n                     ~~~~~~~~~~~~\n",
    );
    expect(helperErrorText({ ...err, helper: "map_lookup_elem", retcode: 0n })).toMatch(/^stdin:1:22-34: WARNING: Failed to map_lookup_elem: 0\n/);
    expect(helperErrorText({ ...err, source: "\tdelete(@[2]);", column: 2, length: 12 })).toBe(
      "stdin:1:2-14: WARNING: Failed to map_delete_elem: No such file or directory (-2)\n    delete(@[2]);\n    ~~~~~~~~~~~~\n",
    );
    expect(helperErrorRecord({ ...err, helper: "probe_read", retcode: -14n, column: 37 })).toBe('{"type": "helper_error", "helper": "probe_read", "retcode": -14, "line": 1, "col": 37}');
    expect(strerror(14)).toBe("Bad address");
    expect(strerror(9999)).toBe("Unknown error 9999");
  });

  test("cat's file name is formatted like printf", () => {
    const rec = record(0, 8, (_, b) => b.set(Buffer.from("uptime\0"), 8));
    const d = decodeRecord(events, [], rec);
    expect(printfText(events[0] as Extract<EventSpec, { kind: "cat" }>, d.values)).toBe("/proc/uptime");
  });

  test("the sinks: text prints cat and system as they are, join with a newline; JSON records", () => {
    let out = "";
    const text = textSink((s) => (out += s), () => {});
    text.cat("a\nb");
    text.syscall("c\n");
    text.join("x y");
    expect(out).toBe("a\nbc\nx y\n");
    out = "";
    const json = jsonSink((s) => (out += s), () => {});
    json.cat("1 2\n");
    json.syscall("a b c\n");
    json.join("/bin/echo,'A'");
    expect(out).toBe('{"type": "cat", "data": "1 2\\n"}\n{"type": "syscall", "data": "a b c\\n"}\n{"type": "join", "data": "/bin/echo,\'A\'"}\n');
  });
});

describe("cat's file reading", () => {
  const dir = mkdtempSync(join(tmpdir(), "bpfts-cat-"));
  test("the first max bytes; bpftrace's error for a file that cannot be opened", () => {
    const file = join(dir, "f");
    writeFileSync(file, "x".repeat(10000) + "y".repeat(10000));
    expect(catFile(file, DEFAULT_CAT_BYTES_MAX)).toEqual({ text: "x".repeat(10000) + "y".repeat(240) });
    expect(catFile(file, 3)).toEqual({ text: "xxx" });
    expect(catFile(join(dir, "missing"), 10)).toEqual({ error: `failed to open file '${join(dir, "missing")}': No such file or directory` });
  });

  test("BPFTRACE_CAT_BYTES_MAX", () => {
    expect(catBytesMax({})).toBe(10240);
    expect(catBytesMax({ BPFTRACE_CAT_BYTES_MAX: "1" })).toBe(1);
    for (const bad of ["0", "-1", "abc", "1.5", ""]) {
      expect(catBytesMax({ BPFTRACE_CAT_BYTES_MAX: bad })).toEqual({ error: "Env var 'BPFTRACE_CAT_BYTES_MAX' did not contain a valid uint64_t, or was zero-valued." });
    }
  });
});
