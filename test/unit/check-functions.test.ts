// Unit tests of the checker for buf, bswap, ntop, pton, strcontains, strerror, strftime, kaddr,
// cgroup_path and the builtins cgroup, numaid, rand, username and sarg0..: their types, where they
// are valid, and the errors for wrong arguments. Compiled programs are checked too (the
// instructions are not run here: see test/kernel/functions.test.ts).
import { realpathSync } from "node:fs";
import { describe, expect, test } from "vitest";
import type * as A from "../../compiler/ast.js";
import { compile } from "../../compiler/compile.js";
import { analyze, type AnalyzeOptions } from "../../compiler/index.js";
import { typeName } from "../../compiler/types.js";

function diagnostics(text: string, options: AnalyzeOptions = {}): string[] {
  return analyze(text, options).diagnostics.map((d) => `${d.severity}: ${d.message}`);
}

function errors(text: string, options: AnalyzeOptions = {}): string[] {
  return analyze(text, options)
    .diagnostics.filter((d) => d.severity === "error")
    .map((d) => d.message);
}

/** The type of the expression printed by `print(EXPR)`, the probe's only statement. */
function typeOf(expr: string, probe = "BEGIN", options: AnalyzeOptions = {}): string {
  const r = analyze(`${probe} { print(${expr}); }`, options);
  expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
  const call = (r.program.probes[0]!.body[0] as A.ExprStmt).expr as A.CallExpr;
  return typeName(call.args[0]!.type!);
}

const UPROBE = "uprobe:/bin/sh:main";

describe("types", () => {
  test.each([
    ['buf("abc", 2)', "buffer[2]"],
    ['buf("abc", 100)', "buffer[64]"],
    ["buf(arg0, 8)", "buffer[8]", UPROBE],
    ["buf(arg0, arg1)", "buffer[64]", UPROBE],
    ["bswap((int16)1)", "uint16"],
    ["bswap(1)", "uint64"],
    ["bswap((uint8)1)", "uint8"],
    ["ntop(1)", "inet"],
    ['ntop(10, pton("::1"))', "inet"],
    ['pton("127.0.0.1")', "uint8[4]"],
    ['pton("fe80::1")', "uint8[16]"],
    ['strcontains("abc", "b")', "int64"],
    ["strerror(1)", "strerror"],
    ['strftime("%H", nsecs)', "timestamp"],
    ["cgroup_path(cgroup)", "cgroup_path"],
    ["cgroup", "uint64"],
    ["numaid", "uint32"],
    ["rand", "uint32"],
    ["username", "username"],
    ["sarg0", "uint64", UPROBE],
    ["sarg11", "uint64", UPROBE],
  ])("%s: %s", (expr, type, probe = "BEGIN") => {
    expect(typeOf(expr, probe)).toBe(type);
  });

  test("a string parameter in pointer arithmetic is the string from that byte on", () => {
    expect(typeOf("str($1 + 1)", "BEGIN", { params: ["hello"] })).toBe("string[5]");
    expect(errors("BEGIN { print($1 + $2) }", { params: ["hello", "-1"] })).toEqual(["the offset into a string parameter must be a constant, not negative"]);
  });

  test("values resolved in user space go through printf's %s, and in maps and tuples", () => {
    expect(errors('BEGIN { printf("%s %s %s %s %s\\n", strftime("%H", nsecs), strerror(1), cgroup_path(1), username, ntop(1)); @[strftime("%M", nsecs)] = strerror(2); @t = (1, username) }')).toEqual([]);
    expect(errors('BEGIN { printf("%d\\n", username) }')).toEqual(["printf: '%d' expects an integer, but the argument is username"]);
  });

  test("buffers: equality, maps, variables; a bigger buffer widens the slot", () => {
    expect(errors('BEGIN { $a = buf("hi", 2); $b = buf("bye", 3); print($a == $b); print($a != $a); @[buf("k", 1), 1] = hist(1); @v = buf("a", 1); @v = buf("abc", 3) }')).toEqual([]);
    expect(errors('BEGIN { print(buf("a", 1) == "a") }')).toEqual(["cannot compare buffer[1] with string[2]"]);
  });
});

describe("errors", () => {
  test.each([
    ['buf("abc")', "buf: needs a length for string[4]: buf(data, length)"],
    ["buf(1)", "buf: needs a length for int64: buf(data, length)"],
    ['buf("a", -1)', "buf: the length must not be negative"],
    ['buf("a", "b")', "buf: the length must be an integer, but it is string[2]"],
    ['bswap("a")', "bswap: expects an integer, but the argument is string[2]"],
    ['ntop(2, "abcd")', "ntop: expects an integer or an array of 4 or 16 bytes, but string[5] has 5 bytes, not 4 or 16"],
    ['pton("abc")', "pton: 'abc' is not an IPv4 or IPv6 address"],
    ["pton(1)", "pton's address must be a string literal, or str($N) of a positional parameter"],
    ['strcontains(1, "a")', "strcontains: expects a string, but the argument is int64"],
    ['strftime("%H", "a")', "strftime: expects nanoseconds since boot, but the argument is string[2]"],
    ['strerror("a")', "strerror: expects an errno value, but the argument is string[2]"],
    ['cgroup_path("a")', "cgroup_path: expects a cgroup id, but the argument is string[2]"],
    ['kaddr("bpfts_no_such_symbol_zz")', "Failed to resolve kernel symbol: bpfts_no_such_symbol_zz"],
    ["sarg0", "sarg0 is only valid in uprobe probes, not in BEGIN"],
  ])("%s", (expr, message) => {
    expect(errors(`BEGIN { print(${expr}); }`).map((m) => m.replace(/ \(.*\)$/, ""))).toEqual([message]);
  });

  test("a format variable is not a literal", () => {
    expect(errors('BEGIN { $f = "%H"; print(strftime($f, nsecs)); }')).toEqual(["strftime's format must be a string literal"]);
    expect(errors('BEGIN { $x = "vfs_read"; print(kaddr($x)); }')).toEqual(["kaddr's symbol must be a string literal, or str($N) of a positional parameter"]);
  });

  test("sarg in a uretprobe", () => {
    expect(errors("uretprobe:/bin/sh:main { print(sarg1) }")).toEqual(["sarg1 is only valid in uprobe probes, not in uretprobe"]);
  });

  test("a buf() length too long is shortened, with a warning", () => {
    expect(diagnostics('BEGIN { print(buf("abc", 300)); }')).toEqual(["warning: buf() length is too long and will be shortened to 64 bytes"]);
  });
});

describe("compiled", () => {
  test("strcontains of two long run-time strings is refused", () => {
    const r = compile("BEGIN { $h = str(nsecs, 1024); print(strcontains($h, str(nsecs, 64))); print(strcontains($h, \"abc\")) }");
    expect(r.diagnostics.map((d) => d.message)).toEqual(["strcontains: the strings are too long to search (1024 × 64 bytes; at most 16384 byte pairs): shorten them with str(s, n)"]);
  });

  test.each([
    ['BEGIN { printf("%r %rx %rh\\n", buf("a", 1), buf("bc", $1), buf(1, 2)); exit() }'],
    [`uprobe:${realpathSync(process.execPath)}:uv_version { @[buf(arg0, arg1)] = count(); $b = buf(arg0, 16); print($b == $b); printf("%d %d\\n", sarg0, sarg3) }`],
    ["BEGIN { print(bswap(nsecs)); print(bswap((uint16)nsecs)); print(bswap((int32)nsecs)); print(bswap(0x1122334455667788)) }"],
    ['BEGIN { $c = comm; print(strcontains($c, "sh")); print(strcontains(comm, $c)); print(strcontains("abc", "b")) }'],
    ['BEGIN { @[ntop(nsecs)] = count(); print(ntop(10, pton("::1"))); print(ntop(pton("1.2.3.4"))) }'],
    ['BEGIN { printf("%s %s %s %s\\n", strftime("%H", nsecs), strerror(nsecs), cgroup_path(cgroup, "cpu*"), username); print(numaid + rand) }'],
  ])("%s", (text) => {
    const r = compile(text, { params: ["2"] });
    expect(r.diagnostics.map((d) => d.message)).toEqual([]);
    expect(r.script?.programs.length).toBeGreaterThan(0);
  });
});
