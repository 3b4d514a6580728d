// Unit tests of the checker (compiler/check.ts and the builtin, function and probe records):
// types, per-probe validity, function arguments, maps and variables, promotion rules, and the
// features that are rejected. Tracepoint layouts come from the tracepointFormat option, so
// nothing here reads tracefs.
import { describe, expect, test } from "vitest";
import type * as A from "../../compiler/ast.js";
import { constantValue } from "../../compiler/check.js";
import { analyze, type AnalyzeOptions } from "../../compiler/index.js";
import { parseTracepointFormat, type FormatLookup } from "../../compiler/probes/tracepoint-format.js";
import { typeName, type Type } from "../../compiler/types.js";
import { RAW_ENTER_FORMAT } from "../support/formats.js";

const OPENAT_FORMAT = `name: sys_enter_openat
ID: 633
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;

print fmt: "dfd: 0x%08lx, filename: 0x%08lx, flags: 0x%08lx, mode: 0x%08lx", ((unsigned long)(REC->dfd)), ((unsigned long)(REC->filename)), ((unsigned long)(REC->flags)), ((unsigned long)(REC->mode))
`;

const SCHED_SWITCH_FORMAT = `name: sched_switch
ID: 316
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;
\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;
\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;
\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;
\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;

print fmt: "prev_comm=%s prev_pid=%d", REC->prev_comm, REC->prev_pid
`;

const EXEC_FORMAT = `name: sched_process_exec
ID: 300
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;
\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;
\tfield:pid_t old_pid;\toffset:16;\tsize:4;\tsigned:1;
`;


const OPEN_FORMAT = `name: sys_enter_open
ID: 635
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:const char * filename;\toffset:16;\tsize:8;\tsigned:0;
\tfield:int flags;\toffset:24;\tsize:8;\tsigned:0;
\tfield:umode_t mode;\toffset:32;\tsize:8;\tsigned:0;
`;

const FORMATS: Record<string, string> = {
  "syscalls:sys_enter_openat": OPENAT_FORMAT,
  "syscalls:sys_enter_open": OPEN_FORMAT,
  "sched:sched_switch": SCHED_SWITCH_FORMAT,
  "sched:sched_process_exec": EXEC_FORMAT,
  "raw_syscalls:sys_enter": RAW_ENTER_FORMAT,
};

const lookups: string[] = [];

function tracepointFormat(category: string, name: string): FormatLookup {
  lookups.push(`${category}:${name}`);
  if (category === "unreadable") return { unreadable: "tracefs is not mounted here" };
  const text = FORMATS[`${category}:${name}`];
  return text === undefined ? { missing: true } : { found: parseTracepointFormat(text) };
}

function run(text: string, options: AnalyzeOptions = {}) {
  return analyze(text, { tracepointFormat, ...options });
}

/** The error messages, in source order. */
function errors(text: string, options: AnalyzeOptions = {}): string[] {
  return run(text, options)
    .diagnostics.filter((d) => d.severity === "error")
    .map((d) => d.message);
}

function warnings(text: string, options: AnalyzeOptions = {}): string[] {
  return run(text, options)
    .diagnostics.filter((d) => d.severity === "warning")
    .map((d) => d.message);
}

/** Expects the program to check without any diagnostic. */
function ok(text: string, options: AnalyzeOptions = {}): void {
  const r = run(text, options);
  expect(r.diagnostics.map((d) => d.message)).toEqual([]);
  expect(r.ok).toBe(true);
}

/** Expects exactly one error and returns it with its located text. */
function oneError(text: string, options: AnalyzeOptions = {}): { message: string; at: string; line: number; column: number } {
  const r = run(text, options);
  const errs = r.diagnostics.filter((d) => d.severity === "error");
  expect(errs.map((d) => d.message)).toHaveLength(1);
  const d = errs[0]!;
  return { message: d.message, at: text.slice(d.span.start, d.span.end), line: d.line, column: d.column };
}

/** The last statement of the first probe. */
function lastStmt(r: ReturnType<typeof run>): A.Stmt {
  const b = r.program.probes[0]!.body;
  return b[b.length - 1]!;
}

/**
 * The type of an expression written as the last statement of a probe (default BEGIN), after
 * `pre` statements; the program must check without errors.
 */
function typeOf(expr: string, probe = "BEGIN", pre = "", options: AnalyzeOptions = {}): string {
  const r = run(`${probe} { ${pre} ${expr}; }`, options);
  expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
  const s = lastStmt(r);
  expect(s.kind).toBe("ExprStmt");
  return typeName((s as A.ExprStmt).expr.type!);
}

/** The type of an expression's sub-node (the value assigned to $v). */
function assignedType(text: string): Type {
  const r = run(text);
  const s = lastStmt(r) as A.AssignStmt;
  return s.value.type!;
}

const UPROBE = "uprobe:/bin/sh:main";
const URETPROBE = "uretprobe:/bin/sh:main";
const USDT = "usdt:/bin/sh:prov:probe";
const OPENAT = "tracepoint:syscalls:sys_enter_openat";
const SWITCH = "tracepoint:sched:sched_switch";

describe("types of builtins", () => {
  test.each([
    ["pid", "uint32"],
    ["tid", "uint32"],
    ["uid", "uint32"],
    ["gid", "uint32"],
    ["cpu", "uint32"],
    ["nsecs", "uint64"],
    ["elapsed", "uint64"],
    ["comm", "string[16]"],
    ["probe", "probe"],
    ["ustack", "ustack"],
    ["$#", "int64"],
  ])("%s is %s", (name, type) => {
    expect(typeOf(name)).toBe(type);
  });

  test("cpid is uint32 (with a child command)", () => {
    expect(typeOf("cpid", "BEGIN", "", { childCommand: true })).toBe("uint32");
  });

  test("retval is uint64 in uretprobe", () => {
    expect(typeOf("retval", URETPROBE)).toBe("uint64");
  });

  test("func is usym in uprobe and uretprobe", () => {
    expect(typeOf("func", UPROBE)).toBe("usym");
    expect(typeOf("func", URETPROBE)).toBe("usym");
  });

  test("arg0..arg5 are uint64 in uprobe", () => {
    for (let i = 0; i <= 5; i++) expect(typeOf(`arg${i}`, UPROBE)).toBe("uint64");
  });

  test("arg0..arg11 are uint64 in usdt", () => {
    for (let i = 0; i <= 11; i++) expect(typeOf(`arg${i}`, USDT)).toBe("uint64");
  });

  test("ustack's frame limit", () => {
    const r = run("BEGIN { ustack; }");
    expect((lastStmt(r) as A.ExprStmt).expr.type).toEqual({ kind: "ustack", limit: 127 });
  });

  test("literals: integers, strings", () => {
    expect(typeOf("1")).toBe("int64");
    expect(typeOf("0x7fffffffffffffff")).toBe("int64");
    expect(typeOf("0x8000000000000000")).toBe("uint64");
    expect(typeOf('"abc"')).toBe("string[4]");
    expect(typeOf('""')).toBe("string[1]");
    expect(typeOf('"\\n"')).toBe("string[2]");
  });

  test("a string literal's size counts UTF-8 bytes", () => {
    expect(typeOf('"é"')).toBe("string[3]");
  });

  test("positional parameters: integer or string by their text", () => {
    expect(typeOf("$1", "BEGIN", "", { params: ["42"] })).toBe("int64");
    expect(typeOf("$1", "BEGIN", "", { params: ["-0x10"] })).toBe("int64");
    expect(typeOf("$1", "BEGIN", "", { params: ["bash"] })).toBe("string[5]");
    expect(typeOf("$2", "BEGIN", "", { params: ["bash"] })).toBe("int64");
  });
});

describe("builtins per probe type", () => {
  test("retval only in uretprobe", () => {
    ok(`${URETPROBE} { $r = retval }`);
    expect(errors(`${UPROBE} { $r = retval }`)).toEqual(["retval is only valid in uretprobe probes, not in uprobe"]);
    expect(errors("BEGIN { $r = retval }")).toEqual(["retval is only valid in uretprobe probes, not in BEGIN"]);
    expect(errors(`${OPENAT} { $r = retval }`)).toEqual(["retval is only valid in uretprobe probes, not in tracepoint"]);
  });

  test("args only in tracepoint", () => {
    ok(`${OPENAT} { $f = args->filename }`);
    expect(errors(`${UPROBE} { $f = args->filename }`)).toEqual(["args is only valid in tracepoint probes, not in uprobe"]);
    expect(errors("interval:s:1 { $f = args->x }")).toEqual(["args is only valid in tracepoint probes, not in interval"]);
  });

  test("args alone is rejected", () => {
    expect(errors(`${OPENAT} { $a = args }`)).toEqual(["args can only be used as args->field, in tracepoint probes"]);
  });

  test("arg0..arg5 in uprobe but not arg6", () => {
    ok(`${UPROBE} { $a = arg0 + arg5 }`);
    expect(errors(`${UPROBE} { $a = arg6 }`)).toEqual(["arg6 is not available in uprobe probes: their arguments are arg0 to arg5"]);
  });

  test("arg0..arg11 in usdt, arg12 is unknown", () => {
    ok(`${USDT} { $a = arg0 + arg11 }`);
    expect(errors(`${USDT} { $a = arg12 }`)).toEqual(["unknown identifier 'arg12'"]);
  });

  test("argN is not valid in uretprobe, BEGIN or tracepoint", () => {
    expect(errors(`${URETPROBE} { $a = arg0 }`)).toEqual(["arg0 is only valid in uprobe and usdt probes, not in uretprobe"]);
    expect(errors("BEGIN { $a = arg1 }")).toEqual(["arg1 is only valid in uprobe and usdt probes, not in BEGIN"]);
    expect(errors(`${OPENAT} { $a = arg0 }`)).toEqual(["arg0 is only valid in uprobe and usdt probes, not in tracepoint"]);
  });

  test("func in uprobe and uretprobe only", () => {
    ok(`${UPROBE} { print(func) } ${URETPROBE} { print(func) }`);
    expect(errors(`${USDT} { print(func) }`)).toEqual(["func is only valid in uprobe and uretprobe probes, not in usdt"]);
    expect(errors("END { print(func) }")).toEqual(["func is only valid in uprobe and uretprobe probes, not in END"]);
  });

  test("cpid only with a child command", () => {
    ok("BEGIN { print(cpid) }", { childCommand: true });
    expect(errors("BEGIN { print(cpid) }")).toEqual(["cpid can only be used with a child command (-c CMD)"]);
  });

  test("builtins valid everywhere", () => {
    for (const probe of ["BEGIN", "END", "interval:ms:10", "profile:hz:99", UPROBE, URETPROBE, USDT, OPENAT]) {
      ok(`${probe} { printf("%d %d %d %d %d %d %d %s %s\\n", pid, tid, uid, gid, nsecs, elapsed, cpu, comm, probe); print(ustack) }`);
    }
  });

  test("a probe with attach points of two types gets the intersection", () => {
    const both = `${UPROBE}, ${URETPROBE}`;
    ok(`${both} { print(func) }`);
    expect(errors(`${both} { print(retval) }`)).toEqual(["retval is only valid in uretprobe probes, not in uprobe"]);
    expect(errors(`${both} { print(arg0) }`)).toEqual(["arg0 is only valid in uprobe and usdt probes, not in uretprobe"]);
  });

  test("uprobe + usdt: arguments up to arg5 only", () => {
    ok(`${UPROBE}, ${USDT} { print(arg5) }`);
    expect(errors(`${UPROBE}, ${USDT} { print(arg6) }`)).toEqual(["arg6 is not available in uprobe probes: their arguments are arg0 to arg5"]);
  });

  test("tracepoint + uprobe: no args", () => {
    expect(errors(`${OPENAT}, ${UPROBE} { print(args->filename) }`)).toEqual(["args is only valid in tracepoint probes, not in uprobe"]);
  });

  test("builtins in the predicate are checked too", () => {
    expect(errors(`${UPROBE} / retval == 0 / { exit() }`)).toEqual(["retval is only valid in uretprobe probes, not in uprobe"]);
  });
});

describe("printf", () => {
  test("a good format", () => {
    ok(`${UPROBE} { printf("%d %i %u %x %X %o %c %p %s %-10s|%5d %% %lld %lu\\n", 1, 2, pid, tid, cpu, 7, 65, arg0, comm, "x", -1, nsecs, elapsed) }`);
  });

  test("%s takes strings, probe, func and ustack", () => {
    ok(`${UPROBE} { printf("%s %s %s %s\\n", comm, probe, func, ustack) }`);
  });

  test("no argument at all", () => {
    expect(errors("BEGIN { printf() }")[0]).toMatch(/^printf\(\) takes at least 1 argument/);
  });

  // BUG: the arity message says "1 arguments": the plural is chosen by `min === 1 && max === 1`.
  test("no argument at all: the message is grammatical", () => {
    expect(errors("BEGIN { printf() }")).toEqual(["printf() takes at least 1 argument, but 0 are given"]);
  });

  test("the format must be a string literal", () => {
    expect(errors('BEGIN { $f = "%d"; printf($f, 1) }')).toEqual(["printf's format must be a string literal"]);
  });

  test("too few arguments: points at the format", () => {
    const e = oneError('BEGIN { printf("%d %d\\n", 1) }');
    expect(e.message).toBe("printf: the format has 2 conversions but 1 argument is given");
    expect(e.at).toBe('"%d %d\\n"');
  });

  test("too many arguments: points at the first extra one", () => {
    const e = oneError('BEGIN { printf("%d\\n", 1, 22, 3) }');
    expect(e.message).toBe("printf: the format has 1 conversion but 3 arguments are given");
    expect(e.at).toBe("22");
  });

  test("arguments without conversions", () => {
    expect(errors('BEGIN { printf("hi\\n", 1) }')).toEqual(["printf: the format has 0 conversions but 1 argument is given"]);
  });

  test("%% takes no argument", () => {
    ok('BEGIN { printf("100%%\\n") }');
  });

  test("an integer conversion given a string", () => {
    const e = oneError('BEGIN { printf("%d\\n", comm) }');
    expect(e.message).toBe("printf: '%d' expects an integer, but the argument is string[16]");
    expect(e.at).toBe("comm");
  });

  test("a string conversion given an integer", () => {
    expect(errors('BEGIN { printf("%s\\n", pid) }')).toEqual(["printf: '%s' expects a string, but the argument is uint32"]);
  });

  test("%c and %p take integers", () => {
    expect(errors('BEGIN { printf("%c %p\\n", "a", comm) }')).toEqual([
      "printf: '%c' expects an integer, but the argument is string[2]",
      "printf: '%p' expects an integer, but the argument is string[16]",
    ]);
  });

  test("a tuple cannot be printed with %d", () => {
    expect(errors('BEGIN { printf("%d\\n", (1, 2)) }')).toEqual(["printf: '%d' expects an integer, but the argument is (int64, int64)"]);
  });

  test("%r, %rx and %rh take a buf() value, and only one", () => {
    expect(errors('BEGIN { printf("%r %rx %rh\\n", buf("a", 1), buf("b", 1), buf("c", 1)) }')).toEqual([]);
    const e = oneError('BEGIN { printf("x %r\\n", 1) }');
    expect(e.message).toBe("printf: '%r' expects a buffer from buf(), but the argument is int64");
    expect(e.at).toBe("1");
    expect(errors('BEGIN { printf("%s\\n", buf("a", 1)) }')).toEqual(["printf: '%s' expects a string, but the argument is buffer[1]"]);
    expect(errors('BEGIN { printf("%5r\\n", buf("a", 1)) }')).toEqual(["invalid conversion '%5r' in format string: %r takes no flags, width, precision or length modifier"]);
  });

  test("a bad conversion points at its column", () => {
    const text = 'BEGIN { printf("ab %f\\n", 1) }';
    const e = oneError(text);
    expect(e.message).toBe("invalid conversion '%f' in format string: floating-point conversions are not supported");
    expect(e.at).toBe("%f");
    expect(e.column).toBe(text.indexOf("%f") + 1);
  });

  test("a bad conversion after escapes points at the right column", () => {
    const text = 'BEGIN { printf("\\t\\x41\\101 %q", 1) }';
    const e = oneError(text);
    expect(e.message).toBe("invalid conversion '%q' in format string");
    expect(e.column).toBe(text.indexOf("%q") + 1);
    expect(e.at).toBe("%q");
  });

  test("a bad conversion on a later line", () => {
    const text = 'BEGIN {\n  printf("%d %n\\n", 1, 2)\n}';
    const e = oneError(text);
    expect(e.message).toBe("invalid conversion '%n' in format string: %n is not supported");
    expect([e.line, e.column]).toEqual([2, 14]);
    expect(e.at).toBe("%n");
  });

  test("a '%' at the end of the format", () => {
    expect(errors('BEGIN { printf("50%") }')).toEqual(["invalid conversion '%' at end of format string"]);
  });

  test("arguments are checked even when the format is wrong", () => {
    expect(errors('BEGIN { printf("%f", foo) }')).toEqual([
      "invalid conversion '%f' in format string: floating-point conversions are not supported",
      "unknown identifier 'foo'",
    ]);
  });

  test("printf has no value", () => {
    expect(errors('BEGIN { $x = printf("a") }')).toEqual(["the right side of the assignment has no value"]);
    expect(errors('BEGIN { @x = printf("a") }')).toEqual(["the right side of the assignment has no value"]);
  });
});

describe("print, time, exit", () => {
  test("print a whole map, with top and div", () => {
    ok("BEGIN { @m[1] = 1; print(@m); print(@m, 10); print(@m, 10, 1000) }");
    ok("BEGIN { @h = hist(5); print(@h) }");
  });

  test("print's top and divisor must be constants", () => {
    expect(errors("BEGIN { @m[1] = 1; $n = 3; print(@m, $n) }")).toEqual(["print's top count must be a constant integer"]);
    expect(errors("BEGIN { @m[1] = 1; $n = 3; print(@m, 1, $n) }")).toEqual(["print's divisor must be a constant integer"]);
  });

  test("print a value", () => {
    ok('BEGIN { print(1); print("s"); print((1, "a")); print(comm); @m[1] = 2; print(@m[1]) }');
  });

  test("print a value with a top count", () => {
    expect(errors("BEGIN { print(1, 2) }")).toEqual(["print: top and divisor arguments are only valid when printing a whole map"]);
  });

  test("print something without a value", () => {
    expect(errors("BEGIN { print(exit()) }")).toEqual(["print: the argument has no value"]);
  });

  test("print a map never assigned", () => {
    expect(errors("BEGIN { print(@nope) }")).toEqual(["@nope is never assigned a value"]);
  });

  test("print's arity", () => {
    expect(errors("BEGIN { print() }")).toEqual(["print() takes 1 to 3 arguments, but 0 are given"]);
    expect(errors("BEGIN { @m = 1; print(@m, 1, 2, 3) }")).toEqual(["print() takes 1 to 3 arguments, but 4 are given"]);
  });

  test("time", () => {
    ok('BEGIN { time(); time("%H:%M\\n") }');
    expect(errors("BEGIN { time(1) }")).toEqual(["time's format must be a string literal"]);
    expect(errors('BEGIN { time("a", "b") }')).toEqual(["time() takes 0 to 1 arguments, but 2 are given"]);
  });

  test("exit", () => {
    ok("BEGIN { exit() }");
    expect(errors("BEGIN { exit(1) }")).toEqual(["exit() takes 0 arguments, but 1 is given"]);
  });
});

describe("str and strncmp", () => {
  test("str of an address reads 64 bytes", () => {
    expect(typeOf("str(arg0)", UPROBE)).toBe("string[64]");
  });

  test("str with a constant length", () => {
    expect(typeOf("str(arg0, 10)", UPROBE)).toBe("string[10]");
    expect(typeOf("str(arg0, 4 * 4)", UPROBE)).toBe("string[16]");
    expect(typeOf("str(arg0, 1)", UPROBE)).toBe("string[1]");
    expect(typeOf("str(arg0, 1024)", UPROBE)).toBe("string[1024]");
  });

  test("str's length bounds", () => {
    expect(errors(`${UPROBE} { $s = str(arg0, 0) }`)).toEqual(["str: the length must be between 1 and 1024"]);
    expect(errors(`${UPROBE} { $s = str(arg0, 1025) }`)).toEqual(["str: the length must be between 1 and 1024"]);
    expect(errors(`${UPROBE} { $s = str(arg0, -1) }`)).toEqual(["str: the length must be between 1 and 1024"]);
  });

  test("str's length must be constant", () => {
    const e = oneError(`${UPROBE} { $n = 4; $s = str(arg0, $n) }`);
    expect(e.message).toBe("str's length must be a constant integer");
    expect(e.at).toBe("$n");
  });

  test("str of a string keeps or shortens it", () => {
    expect(typeOf('str("hello")')).toBe("string[6]");
    expect(typeOf('str("hello", 3)')).toBe("string[3]");
    expect(typeOf('str("hi", 30)')).toBe("string[3]");
    expect(typeOf("str(comm)")).toBe("string[16]");
  });

  test("str of something else", () => {
    expect(errors("BEGIN { $s = str((1, 2)) }")).toEqual(["str: expects an address or a string, but the argument is (int64, int64)"]);
  });

  test("str's arity", () => {
    expect(errors("BEGIN { $s = str() }")).toEqual(["str() takes 1 to 2 arguments, but 0 are given"]);
    expect(errors(`${UPROBE} { $s = str(arg0, 1, 2) }`)).toEqual(["str() takes 1 to 2 arguments, but 3 are given"]);
  });

  test("strncmp", () => {
    expect(typeOf('strncmp(comm, "bash", 4)')).toBe("int64");
    ok('BEGIN { if (strncmp(comm, "bash", 0) == 0) { exit() } }');
  });

  test("strncmp's length must be constant and not negative", () => {
    expect(errors('BEGIN { $n = 4; $r = strncmp(comm, "bash", $n) }')).toEqual(["strncmp's length must be a constant integer"]);
    expect(errors('BEGIN { $r = strncmp(comm, "bash", -1) }')).toEqual(["strncmp: the length must not be negative"]);
  });

  test("strncmp takes strings", () => {
    const e = oneError('BEGIN { $r = strncmp(pid, "bash", 4) }');
    expect(e.message).toBe("strncmp: expects a string, but the argument is uint32");
    expect(e.at).toBe("pid");
    expect(errors('BEGIN { $r = strncmp("a", 1, 4) }')).toEqual(["strncmp: expects a string, but the argument is int64"]);
  });

  test("strncmp's arity", () => {
    expect(errors('BEGIN { $r = strncmp("a", "b") }')).toEqual(["strncmp() takes 3 arguments, but 2 are given"]);
  });
});

describe("usym and ustack", () => {
  test("usym", () => {
    expect(typeOf("usym(arg0)", UPROBE)).toBe("usym");
    expect(errors('BEGIN { print(usym("x")) }')).toEqual(["usym: expects an address, but the argument is string[2]"]);
    expect(errors("BEGIN { print(usym()) }")).toEqual(["usym() takes 1 argument, but 0 are given"]);
  });

  test("ustack forms", () => {
    const limit = (e: string) => {
      const r = run(`${UPROBE} { ${e}; }`);
      expect(r.diagnostics.map((d) => d.message)).toEqual([]);
      return ((lastStmt(r) as A.ExprStmt).expr.type as { limit: number }).limit;
    };
    expect(limit("ustack")).toBe(127);
    expect(limit("ustack()")).toBe(127);
    expect(limit("ustack(5)")).toBe(5);
    expect(limit("ustack(perf)")).toBe(127);
    expect(limit("ustack(bpftrace)")).toBe(127);
    expect(limit("ustack(perf, 10)")).toBe(10);
    expect(limit("ustack(bpftrace, 127)")).toBe(127);
  });

  test("ustack: bad mode, bad frame counts", () => {
    expect(errors("BEGIN { print(ustack(foo)) }")).toEqual(["ustack: unknown mode 'foo': expected bpftrace or perf"]);
    expect(errors("BEGIN { print(ustack(1, 2)) }")).toEqual(["ustack: the first of two arguments is the mode, bpftrace or perf"]);
    expect(errors("BEGIN { print(ustack(0)) }")).toEqual(["ustack: the frame count must be between 1 and 127"]);
    expect(errors("BEGIN { print(ustack(perf, 128)) }")).toEqual(["ustack: the frame count must be between 1 and 127"]);
    expect(errors("BEGIN { $n = 3; print(ustack($n)) }")).toEqual(["ustack's frame count must be a constant integer"]);
    expect(errors("BEGIN { print(ustack(perf, 1, 2)) }")).toEqual(["ustack() takes 0 to 2 arguments, but 3 are given"]);
  });

  test("ustacks of different limits in one map widen to the larger", () => {
    const r = run("BEGIN { @s[1] = ustack(5); @s[2] = ustack(10); }");
    expect(r.diagnostics).toEqual([]);
    expect((lastStmt(r) as A.AssignStmt).target.type).toEqual({ kind: "ustack", limit: 10 });
  });

  test("stacks can be map keys, as in bpftrace", () => {
    ok("BEGIN { @m[ustack] = 1; @c[kstack(perf, 3), ustack(2)] = count() }");
  });
});

describe("aggregations", () => {
  test("each aggregation assigned to a map", () => {
    ok(`${UPROBE} { @c = count(); @s = sum(arg0); @a = avg(arg1); @mi = min(arg2); @ma = max(arg3); @st = stats(arg4); @h = hist(arg5); @l = lhist(arg0, 0, 100, 10) }`);
    ok(`${UPROBE} { @c[comm, pid] = count(); @h[func] = hist(arg0) }`);
  });

  test("the map holds the aggregation kind", () => {
    const r = run("BEGIN { @c = count(); @l = lhist(1, 0, 10, 1); }");
    const s = lastStmt(r) as A.AssignStmt;
    expect(s.target.type).toEqual({ kind: "agg", agg: "lhist", signed: true, lhist: { min: 0n, max: 10n, step: 1n } });
  });

  test.each(["count()", "sum(1)", "avg(1)", "min(1)", "max(1)", "stats(1)", "hist(1)", "lhist(1, 0, 10, 1)"])("%s only as @m = f()", (call) => {
    const name = call.slice(0, call.indexOf("("));
    const hint = `@name = ${name}(${call.endsWith("()") ? "" : "..."})`;
    expect(errors(`BEGIN { ${call} }`)).toEqual([`${name}() must be assigned to a map, as in ${hint}`]);
    expect(errors(`BEGIN { $x = ${call} }`)).toEqual([`${name}() must be assigned to a map, as in ${hint}`]);
    expect(errors(`BEGIN { print(${call}) }`)).toContain(`${name}() must be assigned to a map, as in ${hint}`);
  });

  test("an aggregation inside an expression is rejected", () => {
    expect(errors("BEGIN { @m = count() + 1 }")).toContain("count() must be assigned to a map, as in @name = count()");
    expect(errors("BEGIN { @m[count()] = 1 }")).toContain("count() must be assigned to a map, as in @name = count()");
  });

  test("an aggregation in a compound assignment is rejected", () => {
    expect(errors("BEGIN { @m += count() }")).toContain("count() must be assigned to a map, as in @name = count()");
  });

  test("arity", () => {
    expect(errors("BEGIN { @c = count(1) }")).toEqual(["count() takes 0 arguments, but 1 is given"]);
    expect(errors("BEGIN { @s = sum() }")).toEqual(["sum() takes 1 argument, but 0 are given"]);
    expect(errors("BEGIN { @s = hist(1, 2) }")).toEqual(["hist() takes 1 argument, but 2 are given"]);
    expect(errors("BEGIN { @l = lhist(1, 0, 10) }")).toEqual(["lhist() takes 4 arguments, but 3 are given"]);
  });

  test("integer arguments only", () => {
    expect(errors('BEGIN { @s = sum("a") }')).toEqual(["sum: expects an integer, but the argument is string[2]"]);
    expect(errors("BEGIN { @s = avg(comm) }")).toEqual(["avg: expects an integer, but the argument is string[16]"]);
    expect(errors('BEGIN { @l = lhist("a", 0, 10, 1) }')).toEqual(["lhist: expects an integer, but the argument is string[2]"]);
  });

  test("signedness follows the argument", () => {
    const signedOf = (arg: string) => ((lastStmt(run(`${UPROBE} { @s = sum(${arg}); }`)) as A.AssignStmt).target.type as { signed: boolean }).signed;
    expect(signedOf("arg0")).toBe(false);
    expect(signedOf("-1")).toBe(true);
  });

  test("lhist's min, max and step must be constants", () => {
    expect(errors("BEGIN { $a = 1; @l = lhist(1, $a, 10, 1) }")).toEqual(["lhist's min must be a constant integer"]);
    expect(errors("BEGIN { $a = 1; @l = lhist(1, 0, $a, 1) }")).toEqual(["lhist's max must be a constant integer"]);
    expect(errors("BEGIN { $a = 1; @l = lhist(1, 0, 10, $a) }")).toEqual(["lhist's step must be a constant integer"]);
  });

  test("lhist constants may be expressions and positional parameters", () => {
    ok("BEGIN { @l = lhist(1, 0, 10 * 10, 1 << 2) }");
    ok("BEGIN { @l = lhist(1, $1, $2, $3) }", { params: ["0", "100", "5"] });
  });

  test("lhist's min, max and step rules", () => {
    const e1 = oneError("BEGIN { @l = lhist(1, -1, 10, 1) }");
    expect(e1).toMatchObject({ message: "lhist: min must not be negative", at: "-1" });
    const e2 = oneError("BEGIN { @l = lhist(1, 10, 10, 1) }");
    expect(e2.message).toBe("lhist: max must be greater than min");
    expect(e2.column).toBe(27);
    expect(errors("BEGIN { @l = lhist(1, 10, 5, 1) }")).toEqual(["lhist: max must be greater than min"]);
    expect(errors("BEGIN { @l = lhist(1, 0, 10, 0) }")).toEqual(["lhist: step must be positive"]);
    expect(errors("BEGIN { @l = lhist(1, 0, 10, -2) }")).toEqual(["lhist: step must be positive"]);
    expect(errors("BEGIN { @l = lhist(1, 0, 10000, 1) }")).toEqual(["lhist: too many buckets ((max - min) / step must be at most 1000)"]);
    ok("BEGIN { @l = lhist(1, 0, 1000, 1) }");
  });

  test("lhist parameters must agree between assignments", () => {
    ok("BEGIN { @l = lhist(1, 0, 100, 10) } END { @l = lhist(2, 0, 100, 10) }");
    const e = errors("BEGIN { @l = lhist(1, 0, 100, 10) } END { @l = lhist(2, 0, 200, 10) }");
    expect(e).toHaveLength(1);
    expect(e[0]).toBe("type mismatch: @l holds lhist(0, 100, 10), but this is lhist(0, 200, 10)");
  });

  // BUG: when two lhist() assignments disagree on min/max/step, the message is "type mismatch: @l
  // holds lhist(), but this is lhist()": it names neither set of parameters, so it does not say
  // what differs.
  test("an lhist parameter mismatch names both parameter sets", () => {
    const e = errors("BEGIN { @l = lhist(1, 0, 100, 10) } END { @l = lhist(2, 0, 200, 10) }");
    expect(e).toHaveLength(1);
    expect(e[0]).toContain("100");
    expect(e[0]).toContain("200");
  });

  test("one map holds one aggregation kind", () => {
    expect(errors("BEGIN { @m = count() } END { @m = sum(1) }")).toEqual(["type mismatch: @m holds count(), but this is sum()"]);
    expect(errors("BEGIN { @m = hist(1) } END { @m = lhist(1, 0, 10, 1) }")).toEqual(["type mismatch: @m holds hist(), but this is lhist(0, 10, 1)"]);
  });

  test("an aggregation and a plain value in one map", () => {
    expect(errors("BEGIN { @m = count() } END { @m = 1 }")).toEqual(["type mismatch: @m holds count(), but this is int64"]);
    expect(errors("BEGIN { @m = 1 } END { @m = count() }")).toEqual(["type mismatch: @m holds int64, but this is count()"]);
  });

  test("reading an aggregation map in an expression is rejected", () => {
    const e = oneError("BEGIN { @c = count(); $x = @c }");
    expect(e.message).toBe("@c holds count(), whose value can only be printed, not used in an expression");
    expect(e.at).toBe("@c");
    expect(errors("BEGIN { @c[1] = sum(5); if (@c[1] > 2) { exit() } }")).toEqual([
      "@c holds sum(), whose value can only be printed, not used in an expression",
    ]);
  });

  test("incrementing an aggregation map is rejected", () => {
    expect(errors("BEGIN { @c = count(); @c++ }")).toEqual(["type mismatch: @c holds count(), but this is an integer operation"]);
    expect(errors("BEGIN { @c = count(); @c += 1 }")).toEqual(["type mismatch: @c holds count(), but this is an integer operation"]);
  });
});

describe("delete, clear, zero", () => {
  test("good forms", () => {
    ok("BEGIN { @m[1] = 1; @n = 2; delete(@m[1]); delete(@n); clear(@m); zero(@m); clear(@n) }");
    ok("BEGIN { @m[1, 2] = 1; delete(@m[3, 4]) }");
    ok("BEGIN { @c[comm] = count(); zero(@c); clear(@c); delete(@c[\"x\"]) }");
  });

  test("delete needs the element's key", () => {
    expect(errors("BEGIN { @m[1] = 1; delete(@m) }")).toEqual(["delete() needs the element's key: delete(@m[key])"]);
  });

  test("delete with the wrong number of keys", () => {
    expect(errors("BEGIN { @m[1] = 1; delete(@m[1, 2]) }")).toEqual(["@m is used with 2 keys here but with 1 key elsewhere"]);
  });

  test("clear and zero take a whole map", () => {
    expect(errors("BEGIN { @m[1] = 1; clear(@m[1]) }")).toEqual(["clear() takes a whole map, without keys: clear(@m)"]);
    expect(errors("BEGIN { @m[1] = 1; zero(@m[1]) }")).toEqual(["zero() takes a whole map, without keys: zero(@m)"]);
  });

  test("not a map", () => {
    expect(errors("BEGIN { $x = 1; delete($x) }")).toEqual(["delete() expects a map, as in delete(@name[key])"]);
    expect(errors("BEGIN { clear(1) }")).toEqual(["clear() expects a map, as in clear(@name)"]);
    expect(errors("BEGIN { zero(pid) }")).toEqual(["zero() expects a map, as in zero(@name)"]);
  });

  test("a map never assigned", () => {
    expect(errors("BEGIN { clear(@nope) }")).toEqual(["@nope is never assigned a value"]);
    expect(errors("BEGIN { delete(@nope[1]) }")).toEqual(["@nope is never assigned a value"]);
  });

  test("arity", () => {
    expect(errors("BEGIN { @m[1] = 1; delete(@m[1], 2) }")).toEqual(["delete() takes 1 argument, but 2 are given"]);
    expect(errors("BEGIN { clear() }")).toEqual(["clear() takes 1 argument, but 0 are given"]);
  });

  test("they have no value", () => {
    expect(errors("BEGIN { @m[1] = 1; $x = delete(@m[1]) }")).toEqual(["the right side of the assignment has no value"]);
    expect(errors("BEGIN { @m[1] = 1; @y = clear(@m) }")).toEqual(["the right side of the assignment has no value"]);
  });
});

describe("maps: keys and values across probes", () => {
  test("key arity must agree; the error names both counts", () => {
    const e = oneError("BEGIN { @m[1] = 1 } END { @m[1, 2] = 2 }");
    expect(e.message).toBe("@m is used with 2 keys here but with 1 key elsewhere");
    expect(e.at).toBe("@m[1, 2]");
  });

  test("no key versus a key", () => {
    expect(errors("BEGIN { @m = 1 } END { @m[1] = 2 }")).toEqual(["@m is used with 1 key here but with no key elsewhere"]);
    expect(errors("BEGIN { @m[1] = 1 } END { @m = 2 }")).toEqual(["@m is used with no key here but with 1 key elsewhere"]);
  });

  test("key types must agree; the error names both types", () => {
    const e = oneError('BEGIN { @m[1] = 1 } END { @m["a"] = 2 }');
    expect(e.message).toBe("@m's key is int64 elsewhere, but string[2] here");
    expect(e.at).toBe('"a"');
  });

  test("the key number is named for maps with several keys", () => {
    expect(errors('BEGIN { @m[1, 2] = 1 } END { @m[1, "b"] = 2 }')).toEqual(["@m's key 2 is int64 elsewhere, but string[2] here"]);
  });

  test("integer keys of any size are compatible; string keys widen", () => {
    ok('BEGIN { @m[pid] = 1; @m[(uint8)1] = 2; @m[-1] = 3 } END { @s["a"] = 1; @s[comm] = 2; @s["abcdefghijklmnopqrstuvwxyz"] = 3 }');
  });

  test("tuple keys", () => {
    ok('BEGIN { @m[(1, "a")] = 1; @m[(2, "bcd")] = 2 }');
  });

  test("value types must agree: int versus string", () => {
    const e = oneError('BEGIN { @m = 1 } END { @m = "s" }');
    expect(e.message).toBe("type mismatch: @m holds int64, but this is string[2]");
    expect(e.at).toBe('"s"');
  });

  test("int map values widen to 64 bits, keeping the sign", () => {
    const r = run("BEGIN { @u = (uint8)1; @s = (int8)1; @w = pid; }");
    expect(r.diagnostics).toEqual([]);
    const [u, s, w] = r.program.probes[0]!.body as A.AssignStmt[];
    expect(typeName(u!.target.type!)).toBe("uint64");
    expect(typeName(s!.target.type!)).toBe("int64");
    expect(typeName(w!.target.type!)).toBe("uint64");
  });

  test("int map values: signed wins over unsigned", () => {
    const r = run("BEGIN { @m = pid } END { @m = -1; }");
    expect(r.diagnostics).toEqual([]);
    expect(typeName((lastStmt(run("BEGIN { @m = pid; @m = -1; }")) as A.AssignStmt).target.type!)).toBe("int64");
  });

  test("string map values widen to the largest", () => {
    const r = run('BEGIN { @m = "hi"; @m = "hello"; $x = @m; }');
    expect(r.diagnostics).toEqual([]);
    expect(typeName(assignedType('BEGIN { @m = "hi"; @m = "hello"; $x = @m; }'))).toBe("string[6]");
  });

  test("a map written in a later probe may be read in an earlier one", () => {
    ok("BEGIN { @x = 1 } END { $y = @x } interval:s:1 { @z = @w } uprobe:/bin/sh:f { @w = 2 }");
  });

  test("reading a map never assigned", () => {
    const e = oneError("BEGIN { $x = @nope + 1 }");
    expect(e.message).toBe("@nope is never assigned a value");
    expect(e.at).toBe("@nope");
  });

  test("a map only incremented holds an integer", () => {
    ok("BEGIN { @c++; @d[comm] += 2; $x = @c + @d[comm] }");
  });

  test("compound assignment on a string map", () => {
    expect(errors('BEGIN { @s = "a"; @s += 1 }')).toEqual(["type mismatch: @s holds string[2], but this is an integer operation"]);
    expect(errors('BEGIN { @s = "a"; @s++ }')).toEqual(["type mismatch: @s holds string[2], but this is an integer operation"]);
  });

  test("compound assignment needs an integer value", () => {
    expect(errors('BEGIN { @n = 1; @n += "a" }')).toEqual(["'+=' needs an integer, but this is string[2]"]);
  });

  test("the anonymous map @", () => {
    ok("BEGIN { @ = 1; @ = @ + 1 }");
  });

  test("values that cannot be map keys", () => {
    expect(errors("BEGIN { @m[exit()] = 1 }")).toEqual(["a value of type void cannot be a map key"]);
  });
});

describe("variables", () => {
  test("int widening", () => {
    const r = run("BEGIN { $x = (uint8)1; $x = (int32)2; $y = $x; }");
    expect(r.diagnostics).toEqual([]);
    expect(typeName(assignedType("BEGIN { $x = (uint8)1; $x = (int32)2; $y = $x; }"))).toBe("int64");
  });

  test("a variable keeps a narrow type when every assignment has it", () => {
    expect(typeName(assignedType("BEGIN { $x = (uint8)1; $x = (uint8)2; $y = $x; }"))).toBe("uint8");
    expect(typeOf("$x", "BEGIN", "$x = pid;")).toBe("uint32");
  });

  test("string widening: a shorter string after a longer one", () => {
    ok('BEGIN { $x = "hello"; $x = "hi" }');
    expect(typeOf("$x", "BEGIN", '$x = "hello"; $x = "hi";')).toBe("string[6]");
  });

  test("string widening: a longer string after a shorter one", () => {
    ok('BEGIN { $x = "hi"; $x = "hello" }');
    expect(typeOf("$x", "BEGIN", '$x = "hi"; $x = "hello";')).toBe("string[6]");
  });

  test("int versus string", () => {
    const e = oneError('BEGIN { $x = 1; $x = "a" }');
    expect(e.message).toBe("type mismatch: $x holds int64, but this is string[2]");
    expect(e.at).toBe('"a"');
  });

  test("variables are per probe", () => {
    ok('BEGIN { $x = 1 } END { $x = "a" }');
  });

  test("reading before the assignment, in textual order", () => {
    const e = oneError("BEGIN { print($x); $x = 1 }");
    expect(e.message).toBe("$x is used before it is assigned");
    expect(e.at).toBe("$x");
    expect(errors("BEGIN { $x = $x + 1 }")).toEqual(["$x is used before it is assigned"]);
  });

  test("an assignment inside an earlier block counts (textual order)", () => {
    ok("BEGIN { if (pid > 1) { $x = 1 } print($x) }");
    ok("BEGIN { if (pid > 1) { $x = 1 } else { $x = 2 } print($x) }");
  });

  test("a read earlier in a loop body than the assignment is an error", () => {
    expect(errors("BEGIN { $i = 0; while ($i < 3) { print($y); $y = 1; $i++ } }")).toEqual(["$y is used before it is assigned"]);
  });

  test("assignment in one probe does not make it readable in another", () => {
    expect(errors("BEGIN { $x = 1 } END { print($x) }")).toEqual(["$x is used before it is assigned"]);
  });

  test("reading a variable never assigned", () => {
    expect(errors("BEGIN { print($nope) }")).toEqual(["$nope is used before it is assigned"]);
  });

  test("reading a variable in the predicate", () => {
    expect(errors("BEGIN / $x / { $x = 1 }")).toEqual(["$x is used before it is assigned"]);
  });

  test("increment and compound assignment read the variable first", () => {
    expect(errors("BEGIN { $x++ }")).toEqual(["$x is used before it is assigned"]);
    expect(errors("BEGIN { $x += 1 }")).toEqual(["$x is used before it is assigned"]);
    ok("BEGIN { $x = 1; $x++; ++$x; $x--; $x += 2; $x <<= 1 }");
  });

  test("increment and compound assignment on a string variable", () => {
    expect(errors('BEGIN { $s = "a"; $s++ }')).toEqual(["'++' needs an integer, but $s is string[2]"]);
    expect(errors('BEGIN { $s = "a"; $s -= 1 }')).toEqual(["'-=' needs an integer variable, but $s is string[2]"]);
  });

  test("a variable cannot hold an aggregation or nothing", () => {
    expect(errors("BEGIN { $x = exit() }")).toEqual(["the right side of the assignment has no value"]);
  });

  test("a variable may hold a tuple, a ustack, a usym, a probe", () => {
    ok(`${UPROBE} { $t = (1, comm); $s = ustack; $f = func; $p = probe; print($t); print($s); print($f); print($p) }`);
  });

  test("the type of an increment is the variable's or the map's", () => {
    expect(typeOf("$x++", "BEGIN", "$x = (uint8)1;")).toBe("uint8");
    expect(typeOf("--$x", "BEGIN", "$x = pid;")).toBe("uint32");
    expect(typeOf("@m++")).toBe("int64");
    expect(typeOf("++@m[comm]")).toBe("int64");
  });

  test("a compound assignment keeps the variable's type", () => {
    const r = run("BEGIN { $x = (uint8)1; $x += 300; }");
    expect(r.ok).toBe(true);
    expect(typeName((lastStmt(r) as A.AssignStmt).target.type!)).toBe("uint8");
  });

  test("a compound assignment needs an integer value", () => {
    expect(errors('BEGIN { $x = 1; $x *= "a" }')).toEqual(["'*=' needs an integer, but this is string[2]"]);
  });

  test("increment of something that is not a variable or map", () => {
    expect(errors("BEGIN { pid++ }")).toEqual(["'++' needs a $variable or an @map"]);
    expect(errors("BEGIN { $t = (1, 2); $t.0++ }")).toEqual(["'++' needs a $variable or an @map"]);
  });
});

describe("integer promotion and operator types", () => {
  test.each([
    ["(uint8)1 + (uint8)2", "int64"],
    ["(uint64)1 + 1", "uint64"],
    ["1 + (uint64)1", "uint64"],
    ["(uint32)1 << 3", "int64"],
    ["(uint64)1 << 3", "uint64"],
    ["1 << (uint64)3", "int64"],
    ["(int8)1 >> 1", "int64"],
    ["!(uint64)1", "int64"],
    ["!1", "int64"],
    ["-(uint64)1", "uint64"],
    ["-(uint8)1", "int64"],
    ["~(uint8)1", "int64"],
    ["~(uint64)1", "uint64"],
    ["pid + 1", "int64"],
    ["nsecs + 1", "uint64"],
    ["nsecs - pid", "uint64"],
    ["(int32)1 * (uint32)2", "int64"],
    ["(uint64)7 % 2", "uint64"],
    ["(uint16)1 & (uint16)2", "int64"],
    ["1 < 2", "int64"],
    ["nsecs < nsecs", "int64"],
    ["(uint64)1 == (uint64)1", "int64"],
    ["nsecs != 0", "int64"],
    ["nsecs && 1", "int64"],
    ["nsecs || 0", "int64"],
    ['"a" == "b"', "int64"],
    ['comm != "x"', "int64"],
  ])("%s is %s", (expr, type) => {
    expect(typeOf(expr)).toBe(type);
  });

  test("a cast gives its type", () => {
    for (const t of ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]) expect(typeOf(`(${t})1`)).toBe(t);
  });

  test("arithmetic needs integers", () => {
    const e = oneError('BEGIN { $x = 1 + "a" }');
    expect(e.message).toBe("'+' needs an integer, but this is string[2]");
    expect(e.at).toBe('"a"');
    expect(errors("BEGIN { $x = -comm }")).toEqual(["'-' needs an integer, but this is string[16]"]);
    expect(errors("BEGIN { $x = !comm }")).toEqual(["'!' needs an integer, but this is string[16]"]);
    expect(errors('BEGIN { $x = comm << 1 }')).toEqual(["'<<' needs an integer, but this is string[16]"]);
    expect(errors('BEGIN { $x = 1 && "a" }')).toEqual(["'&&' needs an integer, but this is string[2]"]);
  });

  test("an error in an operand is reported once", () => {
    expect(errors("BEGIN { $x = (foo + 1) * 2 - 3 }")).toEqual(["unknown identifier 'foo'"]);
  });
});

describe("constants and casts", () => {
  /** The constant value of the expression assigned last (after checking). */
  function constant(expr: string, params: string[] = []): bigint | undefined {
    const r = run(`BEGIN { $v = ${expr}; }`, { params });
    expect(r.diagnostics.map((d) => d.message)).toEqual([]);
    return constantValue((lastStmt(r) as A.AssignStmt).value, params);
  }

  test("casts truncate constants", () => {
    expect(constant("(uint8)-10")).toBe(246n);
    expect(constant("(int8)200")).toBe(-56n);
    expect(constant("(uint16)0x12345")).toBe(0x2345n);
    expect(constant("(uint32)-1")).toBe(4294967295n);
    expect(constant("(int64)(uint64)-1")).toBe(-1n);
    expect(constant("(uint64)-1")).toBe(18446744073709551615n);
    expect(constant("(int32)0x80000000")).toBe(-2147483648n);
  });

  test("constant arithmetic", () => {
    expect(constant("1 + 2 * 3")).toBe(7n);
    expect(constant("(1 << 4) | 3")).toBe(19n);
    expect(constant("-7 / 2")).toBe(-3n);
    expect(constant("-7 % 3")).toBe(-1n);
    expect(constant("7 > 3 && 2 < 1")).toBe(0n);
    expect(constant("!0")).toBe(1n);
    expect(constant("~0")).toBe(-1n);
    expect(constant("1 ? 2 : 3")).toBe(2n);
    expect(constant("0 ? 2 : 3")).toBe(3n);
  });

  test("64-bit wrap-around", () => {
    expect(constant("0x7fffffffffffffff + 1")).toBe(-9223372036854775808n);
    expect(constant("(uint64)0 - 1")).toBe(18446744073709551615n);
  });

  test("unsigned division and comparison", () => {
    expect(constant("(uint64)-2 / 2")).toBe(0x7fffffffffffffffn);
    expect(constant("(uint64)-1 > 1")).toBe(1n);
    expect(constant("-1 > 1")).toBe(0n);
    // A comparison converts its operands as arithmetic does: -1 becomes the largest uint64.
    expect(constant("-1 > (uint64)1")).toBe(1n);
  });

  test("positional parameters and $# are constants", () => {
    expect(constant("$1 + 1", ["41"])).toBe(42n);
    expect(constant("$1", ["-5"])).toBe(-5n);
    expect(constant("$1", ["0x10"])).toBe(16n);
    expect(constant("$#", ["a", "b"])).toBe(2n);
    expect(constant("$3", ["1"])).toBe(0n);
  });

  test("a cast constant seen through a function's constant argument", () => {
    expect(typeOf("str(arg0, (uint8)-10)", UPROBE)).toBe("string[246]");
  });

  test("casting a string is rejected", () => {
    const e = oneError('BEGIN { $x = (uint8)"a" }');
    expect(e.message).toBe("cannot cast string[2] to uint8");
    expect(e.at).toBe('"a"');
  });

  test("pointer casts", () => {
    expect(typeName(assignedType(`${UPROBE} { $x = (uint8 *)arg0 }`))).toBe("uint8 *");
    expect(typeName(assignedType(`${UPROBE} { $x = (int32 **)arg0 }`))).toBe("int32 * *");
  });

  test("a cast to a struct must be to a pointer to it", () => {
    const e = oneError(`struct S { int a; } ${UPROBE} { $x = (struct S)arg0 }`);
    expect(e.message).toBe("cannot cast to struct S, only to a pointer to it: (struct S *)");
    expect(e.at).toBe("struct S");
  });

  test("a cast to an unknown struct", () => {
    const e = oneError(`${UPROBE} { $x = (struct nope *)arg0 }`, { kernelTypes: () => undefined });
    expect(e.message).toMatch(/^unknown type: struct nope/);
    expect(e.at).toBe("struct nope");
  });
});

describe("ternary", () => {
  test.each([
    ["pid ? 2 : 3", "int64"],
    ["1 ? (uint8)1 : (uint8)2", "uint8"],
    ["1 ? (uint8)1 : (uint64)2", "uint64"],
    ["1 ? (uint8)1 : (int8)2", "int64"],
    ['1 ? "a" : "bcd"', "string[4]"],
    ['1 ? comm : "x"', "string[16]"],
    ['1 ? (1, "a") : (2, "bc")', "(int64, string[3])"],
  ])("%s is %s", (expr, type) => {
    expect(typeOf(expr)).toBe(type);
  });

  test("branches of different kinds", () => {
    const e = oneError('BEGIN { $x = pid ? 1 : "a" }');
    expect(e.message).toBe("the two branches of ?: have different types: int64 and string[2]");
    expect(e.at).toBe('pid ? 1 : "a"');
  });

  test("the condition must be an integer", () => {
    expect(errors("BEGIN { $x = comm ? 1 : 2 }")).toEqual(["the condition of ?: must be an integer, but it is string[16]"]);
  });

  test("void branches as a statement", () => {
    ok('BEGIN { pid > 1 ? printf("a\\n") : exit() }');
  });

  test("a void ternary has no value", () => {
    expect(errors("BEGIN { $x = pid ? exit() : exit() }")).toEqual(["the right side of the assignment has no value"]);
  });
});

describe("tuples", () => {
  test("tuple types", () => {
    expect(typeOf('(1, "ab", comm, (uint8)3)')).toBe("(int64, string[3], string[16], uint8)");
    expect(typeOf("((1, 2), pid)")).toBe("((int64, int64), uint32)");
  });

  test(".N picks an element", () => {
    expect(typeOf("$t.0", "BEGIN", '$t = (1, "a");')).toBe("int64");
    expect(typeOf("$t.1", "BEGIN", '$t = (1, "a");')).toBe("string[2]");
    expect(typeOf("$t.1.0", "BEGIN", "$t = (1, (pid, 2));")).toBe("uint32");
    expect(typeOf("(1, comm).1")).toBe("string[16]");
  });

  test(".N out of range", () => {
    const e = oneError('BEGIN { $t = (1, "a"); print($t.2) }');
    expect(e.message).toBe("tuple index 2 is out of range: the tuple has 2 elements");
    expect(e.at).toBe("$t.2");
  });

  test(".N on something that is not a tuple", () => {
    expect(errors("BEGIN { $x = 1; print($x.0) }")).toEqual([".0 needs a tuple, but this is int64"]);
  });

  test("tuples widen element by element", () => {
    expect(typeOf("$t", "BEGIN", '$t = (1, "a"); $t = ((uint8)2, "abc");')).toBe("(int64, string[4])");
  });

  test("tuples of different lengths or kinds", () => {
    expect(errors("BEGIN { $t = (1, 2); $t = (1, 2, 3) }")).toEqual(["type mismatch: $t holds (int64, int64), but this is (int64, int64, int64)"]);
    expect(errors('BEGIN { $t = (1, 2); $t = (1, "a") }')).toEqual(["type mismatch: $t holds (int64, int64), but this is (int64, string[2])"]);
  });

  test("a tuple cannot hold nothing or an aggregation", () => {
    expect(errors("BEGIN { print((1, exit())) }")).toEqual(["a tuple cannot hold void"]);
  });

  test("tuples in maps", () => {
    ok('BEGIN { @t = (1, "a"); @t = (2, "bb"); $x = @t.1 }');
  });
});

describe("strings", () => {
  test("string comparisons", () => {
    ok('BEGIN { if (comm == "bash") { exit() } if ("a" != comm) { exit() } }');
  });

  test("comparing a string with an integer", () => {
    const e = oneError('BEGIN { $x = comm == 1 }');
    expect(e.message).toBe("cannot compare string[16] with int64");
    expect(e.at).toBe("comm == 1");
  });

  test("'<' on strings is rejected", () => {
    expect(errors('BEGIN { $x = comm < "a" }')).toEqual(["'<' compares integers, not string[16] and string[2]"]);
    expect(errors('BEGIN { $x = "a" >= "b" }')).toEqual(["'>=' compares integers, not string[2] and string[2]"]);
  });

  test("a string condition", () => {
    expect(errors("BEGIN { if (comm) { exit() } }")).toEqual(["the if condition must be an integer, but it is string[16]"]);
    expect(errors("BEGIN / comm / { exit() }")).toEqual(["the predicate must be an integer, but it is string[16]"]);
    expect(errors('BEGIN { while ("x") { break } }')).toEqual(["the while condition must be an integer, but it is string[2]"]);
  });
});

describe("control flow", () => {
  test("unroll count bounds 1..100", () => {
    ok("BEGIN { unroll (1) { } unroll (100) { } unroll (5 * 20) { } }");
    expect(errors("BEGIN { unroll (0) { } }")).toEqual(["unroll minimum value is 1"]);
    expect(errors("BEGIN { unroll (101) { } }")).toEqual(["unroll maximum value is 100"]);
    expect(errors("BEGIN { unroll (-1) { } }")).toEqual(["unroll minimum value is 1"]);
  });

  test("unroll's count must be a constant", () => {
    const e = oneError("BEGIN { $n = 3; unroll ($n) { } }");
    expect(e.message).toBe("unroll's count must be a constant integer");
    expect(e.at).toBe("$n");
  });

  test("unroll with a positional parameter", () => {
    ok("BEGIN { unroll ($1) { } }", { params: ["7"] });
    expect(errors("BEGIN { unroll ($1) { } }", { params: ["500"] })).toEqual(["unroll maximum value is 100"]);
  });

  test("break and continue inside while", () => {
    ok("BEGIN { $i = 0; while ($i < 5) { $i++; if ($i == 2) { continue } if ($i == 4) { break } } }");
    ok("BEGIN { while (1) { while (1) { break } break } }");
  });

  test("break and continue outside while", () => {
    const e = oneError("BEGIN { break }");
    expect(e).toMatchObject({ message: "'break' is only valid inside a while loop", at: "break" });
    expect(errors("BEGIN { if (1) { continue; } }")).toEqual(["'continue' is only valid inside a while loop"]);
    expect(errors("BEGIN { unroll (2) { break } }")).toEqual(["'break' is only valid inside a while loop"]);
  });

  test("a break after a while loop", () => {
    expect(errors("BEGIN { while (1) { break } break }")).toEqual(["'break' is only valid inside a while loop"]);
  });

  test("return anywhere", () => {
    ok("BEGIN { return } END { if (1) { return; } while (1) { return } }");
  });
});

describe("unsupported features are named", () => {
  test.each([
    ["kprobe:do_nanosleep { }", "kprobe probes are not supported (this kernel has no kprobes)"],
    ["kretprobe:do_nanosleep { }", "kretprobe probes are not supported (this kernel has no kprobes)"],
    ["kfunc:vfs_read { }", "kfunc probes are not supported"],
    ["hardware:cache-misses:1000 { }", "hardware probes are not supported (this kernel has no hardware events)"],
    ["rawtracepoint:sched_switch { }", "rawtracepoint probes are not supported"],
  ])("%s", (text, message) => {
    expect(errors(text)).toEqual([message]);
  });

  test("the unsupported probe type is underlined", () => {
    const e = oneError("kprobe:do_nanosleep { }");
    expect(e.at).toBe("kprobe");
  });

  test("sizeof, buf and other functions", () => {
    expect(errors(`${UPROBE} { print(override(arg0)) }`)).toEqual(["function override() is not supported"]);
    expect(errors(`${UPROBE} { print(ksym(arg0)) }`)).toEqual(["function ksym() is not supported"]);
    expect(errors("BEGIN { system(\"ls\") }")).toEqual(["system() is an unsafe function being used in safe mode"]);
  });

  test("the function's name is underlined", () => {
    expect(oneError("BEGIN { print(skboutput(1)) }").at).toBe("skboutput");
  });

  test("arguments of an unsupported function are still checked (bare names are not)", () => {
    expect(errors("BEGIN { print(override($nope)) }")).toEqual(["function override() is not supported", "$nope is used before it is assigned"]);
    expect(errors("BEGIN { print(override(nope)) }")).toEqual(["function override() is not supported"]);
  });

  test("jiffies", () => {
    expect(errors("BEGIN { print(jiffies) }")).toEqual(["jiffies is not supported"]);
  });

  test("dereferencing an integer, and address-of", () => {
    const e = oneError(`${UPROBE} { $x = *arg0 }`);
    expect(e).toMatchObject({ message: "'*' needs a pointer, but this is uint64", at: "*arg0" });
    expect(errors("BEGIN { $x = 1; $y = &$x }")).toEqual(["taking an address is not supported"]);
  });

  test("indexing an integer", () => {
    expect(errors(`${UPROBE} { $x = arg0[1] }`)).toEqual(["cannot index uint64: only arrays, pointers and strings can be indexed"]);
  });

  test("member access on an integer", () => {
    expect(errors(`${UPROBE} { $x = arg0->pid }`)).toEqual(["'->pid' needs a pointer to a struct, but this is uint64"]);
    expect(errors("BEGIN { $t = 1; $x = $t.foo }")).toEqual(["'.foo' needs a struct, but this is int64"]);
  });
});

describe("unknown names", () => {
  test("unknown function", () => {
    const e = oneError("BEGIN { nope(1) }");
    expect(e).toMatchObject({ message: "unknown function 'nope'", at: "nope" });
  });

  test("unknown identifier", () => {
    const e = oneError("BEGIN { $x = nope + 1 }");
    expect(e).toMatchObject({ message: "unknown identifier 'nope'", at: "nope" });
  });

  test("a type name as a value", () => {
    expect(errors("BEGIN { $x = uint8 }")).toEqual(["type name 'uint8' cannot be used as a value"]);
  });

  test("unknown probe type", () => {
    const e = oneError("bogus:x:y { }");
    expect(e).toMatchObject({ message: "unknown probe type 'bogus'", at: "bogus" });
  });

  test("errors of a probe with a bad attach point do not hide the other probes' errors", () => {
    expect(errors("bogus:x { nope() } BEGIN { nope2() }")).toEqual(["unknown probe type 'bogus'", "unknown function 'nope2'"]);
  });
});

describe("attach points", () => {
  test("good attach points", () => {
    ok(
      "BEGIN {} END {} interval:s:1 {} i:ms:100 {} interval:us:5 {} interval:hz:99 {} profile:hz:99 {} p:s:1 {} " +
        "uprobe:/bin/sh:main {} u:/bin/sh:main+0x10 {} uprobe:/bin/sh:0x1234 {} uretprobe:/bin/sh:main {} ur:/bin/sh:f* {} " +
        "usdt:/bin/sh:p:n {} usdt:/bin/sh:n {} U:/bin/sh:p:n {} tracepoint:syscalls:sys_enter_openat {} t:sched:sched_switch {}",
    );
  });

  test("the target of each attach point", () => {
    const r = run("uprobe:/bin/sh:main+16, uprobe:/bin/sh:0x10, usdt:/lib/x.so:prov:name, interval:ms:5, t:sched:sched_switch { }");
    expect(r.program.probes[0]!.attachPoints.map((a) => a.target)).toEqual([
      { type: "uprobe", path: "/bin/sh", func: "main", offset: 16n },
      { type: "uprobe", path: "/bin/sh", address: 16n },
      { type: "usdt", path: "/lib/x.so", provider: "prov", name: "name" },
      { type: "interval", unit: "ms", value: 5 },
      { type: "tracepoint", category: "sched", name: "sched_switch" },
    ]);
  });

  test("bad interval attach points", () => {
    expect(errors("interval:s { }")).toEqual(["invalid attach point 'interval:s': expected interval:UNIT:N with UNIT one of s, ms, us, hz"]);
    expect(errors("interval:xs:1 { }")).toEqual(["invalid interval unit 'xs': expected s, ms, us or hz"]);
    expect(errors("interval:s:0 { }")).toEqual(["the interval period must be a positive integer, not '0'"]);
    expect(errors("profile:hz:abc { }")).toEqual(["the profile period must be a positive integer, not 'abc'"]);
  });

  test("bad BEGIN", () => {
    expect(errors("BEGIN:x { }")).toEqual(["invalid attach point 'BEGIN:x': expected BEGIN"]);
  });

  test("bad uprobe attach points", () => {
    expect(errors("uprobe:/bin/sh { }")).toEqual(["invalid attach point 'uprobe:/bin/sh': expected uprobe:PATH:FUNCTION"]);
    expect(errors("uprobe::main { }")).toEqual(["uprobe needs a binary or library path"]);
    expect(errors("uprobe:/bin/sh: { }")).toEqual(["uprobe needs a function name or address"]);
    expect(errors("uretprobe:/bin/sh:0x10 { }")).toEqual(["uretprobe needs a function name, not an address"]);
    expect(errors("uretprobe:/bin/sh:main+4 { }")).toEqual(["uretprobe cannot take an offset"]);
  });

  test("bad usdt attach points", () => {
    expect(errors("usdt:/bin/sh { }")).toEqual(["invalid attach point 'usdt:/bin/sh': expected usdt:PATH:[PROVIDER:]NAME"]);
    // `usdt::name` names no file: the files of the -p process are searched when it is compiled.
    expect(errors("usdt::x { }")).toEqual([]);
  });

  test("bad tracepoint attach points", () => {
    expect(errors("tracepoint:sched { }")).toEqual(["invalid attach point 'tracepoint:sched': expected tracepoint:CATEGORY:NAME"]);
    expect(errors("tracepoint:sched: { }")).toEqual(["tracepoint needs a category and a name"]);
  });

  test("a positional parameter in an attach point", () => {
    const r = run("uprobe:$1:$2 { }", { params: ["/bin/bash", "readline"] });
    expect(r.diagnostics).toEqual([]);
    expect(r.program.probes[0]!.attachPoints[0]!.target).toEqual({ type: "uprobe", path: "/bin/bash", func: "readline" });
  });
});

describe("tracepoint fields", () => {
  test("args->filename is a uint64 pointer", () => {
    expect(typeOf("args->filename", OPENAT)).toBe("uint64");
    expect(typeOf("args.filename", OPENAT)).toBe("uint64");
  });

  test("integer fields keep their size and sign", () => {
    expect(typeOf("args->__syscall_nr", OPENAT)).toBe("int32");
    expect(typeOf("args->flags", OPENAT)).toBe("uint64");
    expect(typeOf("args->mode", OPENAT)).toBe("uint64");
    expect(typeOf("args->prev_pid", SWITCH)).toBe("int32");
    expect(typeOf("args->prev_state", SWITCH)).toBe("int64");
  });

  test("char arrays are strings", () => {
    expect(typeOf("args->prev_comm", SWITCH)).toBe("string[16]");
    expect(typeOf("args->next_comm", SWITCH)).toBe("string[16]");
    ok(`${SWITCH} { if (args->prev_comm == "swapper/0") { @[args->next_comm] = count() } }`);
  });

  test("a __data_loc field is an address", () => {
    expect(typeOf("args->filename", "tracepoint:sched:sched_process_exec")).toBe("uint64");
  });

  test("non-char array fields are rejected", () => {
    expect(errors("tracepoint:raw_syscalls:sys_enter { print(args->args) }")).toEqual([
      "args->args is an array (unsigned long[6]), and array fields are not supported",
    ]);
  });

  test("str() of a pointer field", () => {
    expect(typeOf("str(args->filename)", OPENAT)).toBe("string[64]");
  });

  test("a missing field lists the fields", () => {
    const e = oneError(`${OPENAT} { print(args->nope) }`);
    expect(e.message).toBe("the tracepoint has no field 'nope' (its fields: __syscall_nr, dfd, filename, flags, mode)");
    expect(e.at).toBe("nope");
  });

  test("common_ fields are not offered", () => {
    expect(errors(`${OPENAT} { print(args->common_pid) }`)[0]).toMatch(/^the tracepoint has no field 'common_pid'/);
  });

  test("a tracepoint that does not exist", () => {
    const e = oneError("tracepoint:syscalls:sys_enter_nope { exit() }");
    expect(e.message).toBe("tracepoint not found: syscalls:sys_enter_nope");
    expect(e.at).toBe("tracepoint:syscalls:sys_enter_nope");
  });

  test("an unreadable layout: the field is taken on trust, with a warning", () => {
    const text = "tracepoint:unreadable:x { print(args->foo) }";
    expect(errors(text)).toEqual([]);
    expect(warnings(text)).toEqual(["cannot check args->foo: tracefs is not mounted here"]);
  });

  test("wildcard tracepoints are not looked up", () => {
    lookups.length = 0;
    expect(warnings("tracepoint:syscalls:sys_enter_* { print(args->foo) }")).toEqual(["cannot check args->foo: the tracepoint name has wildcards"]);
    expect(lookups).toEqual([]);
  });

  test("each layout is looked up once per program", () => {
    lookups.length = 0;
    ok(`${OPENAT} { print(args->filename) } ${OPENAT} { print(args->flags) }`);
    expect(lookups).toEqual(["syscalls:sys_enter_openat"]);
  });

  test("two tracepoints in one probe: only the common fields", () => {
    ok(`${SWITCH}, ${SWITCH} { print(args->prev_pid) }`);
    expect(errors(`${OPENAT}, ${SWITCH} { print(args->filename) }`)).toEqual(["the tracepoint has no field 'filename'"]);
  });

  // BUG: intersectFields() (check.ts) keeps a field common to two tracepoints when its size, kind
  // and sign agree, but ignores its offset; args->filename then records the first-listed
  // tracepoint's offset (16, sys_enter_open's) although in sys_enter_openat filename lies at 24
  // (16 is dfd there), and codegen reads that one offset for both. This is the opensnoop.bt idiom.
  test("a field at different offsets in two tracepoints is not given one offset for both", () => {
    const r = run(`tracepoint:syscalls:sys_enter_open, ${OPENAT} { @f[tid] = args->filename; }`);
    const field = (lastStmt(r) as A.AssignStmt).value as A.FieldExpr;
    // Either the probe is rejected, or no single offset is claimed for both layouts.
    const oneOffsetForBoth = r.ok && field.tracepoint !== undefined && typeof field.tracepoint.offset === "number";
    expect(oneOffsetForBoth).toBe(false);
  });

  test("a field at the same offset in two tracepoints keeps its layout", () => {
    const r = run(`${SWITCH}, ${SWITCH} { @p = args->prev_pid; }`);
    expect(r.ok).toBe(true);
    expect(((lastStmt(r) as A.AssignStmt).value as A.FieldExpr).tracepoint).toMatchObject({ name: "prev_pid", offset: 24, size: 4, signed: true });
  });

  test("args in a non-tracepoint probe", () => {
    const e = oneError(`${UPROBE} { print(args->filename) }`);
    expect(e).toMatchObject({ message: "args is only valid in tracepoint probes, not in uprobe", at: "args" });
  });
});
