// Unit tests of diagnostics (compiler/diagnostics.ts, compiler/source.ts): the exact rendered
// text, carets and underlines, ordering, file names, positions and colours.
import { describe, expect, test } from "vitest";
import { Diagnostics, formatDiagnostic } from "../../compiler/diagnostics.js";
import { analyze, formatDiagnostics, Source, type AnalyzeOptions } from "../../compiler/index.js";
import type { FormatLookup } from "../../compiler/probes/tracepoint-format.js";

const unreadable = (): FormatLookup => ({ unreadable: "tracefs is not mounted here" });

/** The rendered diagnostics of a script, without colour. */
function render(text: string, options: AnalyzeOptions = {}, color = false): string {
  const r = analyze(text, { tracepointFormat: unreadable, ...options });
  return formatDiagnostics(r.diagnostics, r.source, { color });
}

describe("rendered text", () => {
  test("header, source line, caret and underline as wide as the span", () => {
    expect(render("BEGIN { foo() }")).toBe(["stdin:1:9: error: unknown function 'foo'", "BEGIN { foo() }", "        ^~~", ""].join("\n"));
  });

  test("a one-character span has a caret only", () => {
    expect(render("BEGIN { $x = 1 ` }")).toBe(["stdin:1:16: error: unexpected character '`'", "BEGIN { $x = 1 ` }", "               ^", ""].join("\n"));
  });

  test("a long span", () => {
    expect(render("BEGIN { averyveryverylongname() }")).toBe(
      [
        "stdin:1:9: error: unknown function 'averyveryverylongname'",
        "BEGIN { averyveryverylongname() }",
        "        ^" + "~".repeat(20),
        "",
      ].join("\n"),
    );
  });

  test("the underline covers a whole expression", () => {
    expect(render('BEGIN { $x = comm == 1 }')).toBe(
      ["stdin:1:14: error: cannot compare string[16] with int64", "BEGIN { $x = comm == 1 }", "             ^~~~~~~~~", ""].join("\n"),
    );
  });

  test("a printf conversion is underlined inside the format string", () => {
    expect(render('BEGIN { printf("a %lf b\\n", 1) }')).toBe(
      [
        "stdin:1:19: error: invalid conversion '%lf' in format string: floating-point conversions are not supported",
        'BEGIN { printf("a %lf b\\n", 1) }',
        "                  ^~~",
        "",
      ].join("\n"),
    );
  });

  test("a bad escape is underlined", () => {
    expect(render('BEGIN { printf("a\\qb") }')).toBe(
      ["stdin:1:18: error: invalid escape sequence '\\q'", 'BEGIN { printf("a\\qb") }', "                 ^~", ""].join("\n"),
    );
  });

  test("tabs are kept in the caret line so it lines up", () => {
    const text = 'BEGIN {\n\tprintf("%d\\n", comm)\n}';
    expect(render(text)).toBe(
      [
        "stdin:2:17: error: printf: '%d' expects an integer, but the argument is string[16]",
        '\tprintf("%d\\n", comm)',
        "\t" + " ".repeat(15) + "^~~~",
        "",
      ].join("\n"),
    );
  });

  test("several tabs, mixed with spaces", () => {
    const text = "BEGIN {\n\t \tnope()\n}";
    expect(render(text)).toBe(["stdin:2:4: error: unknown function 'nope'", "\t \tnope()", "\t \t^~~~", ""].join("\n"));
  });

  test("a span over several lines is underlined on its first line only", () => {
    const text = 'BEGIN {\n  if ("a" ==\n      1) { }\n}';
    expect(render(text)).toBe(["stdin:2:7: error: cannot compare string[2] with int64", '  if ("a" ==', "      ^~~~~~", ""].join("\n"));
  });

  test("a multi-line expression is underlined to the end of its first line", () => {
    const text = 'BEGIN {\n  $x = pid\n    ? 1\n    : "a";\n}';
    expect(render(text)).toBe(
      ["stdin:2:8: error: the two branches of ?: have different types: int64 and string[2]", "  $x = pid", "       ^~~", ""].join("\n"),
    );
  });

  test("an error at the end of the text gets a caret after the last character", () => {
    expect(render("BEGIN {")).toBe(["stdin:1:8: error: expected '}', found end of input", "BEGIN {", "       ^", ""].join("\n"));
  });

  test("an empty program", () => {
    expect(render("")).toBe(["stdin:1:1: error: the program has no probes", "", "^", ""].join("\n"));
  });

  test("a warning", () => {
    expect(render("tracepoint:a:b { print(args->foo) }")).toBe(
      [
        "stdin:1:30: warning: cannot check args->foo: tracefs is not mounted here",
        "tracepoint:a:b { print(args->foo) }",
        "                             ^~~",
        "",
      ].join("\n"),
    );
  });

  test("no diagnostics render as nothing", () => {
    expect(render("BEGIN { exit() }")).toBe("");
  });

  test("CRLF line endings: the carriage return is not part of the line", () => {
    expect(render("BEGIN {\r\n  nope()\r\n}\r\n")).toBe(["stdin:2:3: error: unknown function 'nope'", "  nope()", "  ^~~~", ""].join("\n"));
  });
});

describe("several diagnostics", () => {
  test("are sorted by position, parse and check errors alike", () => {
    const text = "BEGIN { $a = nope1; }\nEND { $b = 1 + ; }\ninterval:s:1 { nope2() }";
    const r = analyze(text);
    expect(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual([
      "1:14 unknown identifier 'nope1'",
      "2:16 expected an expression, found ';'",
      "3:16 unknown function 'nope2'",
    ]);
    expect(formatDiagnostics(r.diagnostics, r.source)).toBe(
      [
        "stdin:1:14: error: unknown identifier 'nope1'",
        "BEGIN { $a = nope1; }",
        "             ^~~~~",
        "stdin:2:16: error: expected an expression, found ';'",
        "END { $b = 1 + ; }",
        "               ^",
        "stdin:3:16: error: unknown function 'nope2'",
        "interval:s:1 { nope2() }",
        "               ^~~~~",
        "",
      ].join("\n"),
    );
  });

  test("two errors on one line, in column order", () => {
    const r = analyze("BEGIN { $a = nope1 + nope2 }");
    expect(r.diagnostics.map((d) => d.column)).toEqual([14, 22]);
  });

  test("errors and warnings interleaved in source order", () => {
    const r = analyze("BEGIN { nope() }\ntracepoint:a:b { print(args->x) }\nEND { nope2() }", { tracepointFormat: unreadable });
    expect(r.diagnostics.map((d) => `${d.severity} ${d.line}`)).toEqual(["error 1", "warning 2", "error 3"]);
    expect(r.ok).toBe(false);
  });

  test("warnings alone leave the program ok", () => {
    const r = analyze("tracepoint:a:b { print(args->x) }", { tracepointFormat: unreadable });
    expect(r.diagnostics).toHaveLength(1);
    expect(r.ok).toBe(true);
  });

  test("the same problem found twice is reported once", () => {
    const source = new Source("stdin", "BEGIN { }");
    const d = new Diagnostics(source);
    d.error({ start: 0, end: 5 }, "x");
    d.error({ start: 0, end: 5 }, "x");
    d.error({ start: 0, end: 5 }, "y");
    d.warning({ start: 2, end: 3 }, "w");
    expect(d.list.map((x) => x.message)).toEqual(["x", "y", "w"]);
    expect(d.errorCount).toBe(2);
    expect(d.hasErrors()).toBe(true);
  });

  test("sorted() orders by start, then by end", () => {
    const source = new Source("stdin", "abcdefghij");
    const d = new Diagnostics(source);
    d.error({ start: 5, end: 6 }, "c");
    d.error({ start: 1, end: 4 }, "b");
    d.error({ start: 1, end: 2 }, "a");
    expect(d.sorted().map((x) => x.message)).toEqual(["a", "b", "c"]);
  });

  test("spans are clamped into the text", () => {
    const source = new Source("stdin", "abc");
    const d = new Diagnostics(source);
    d.error({ start: 10, end: 20 }, "past the end");
    d.error({ start: -3, end: 1 }, "before the start");
    expect(d.list.map((x) => [x.span, x.line, x.column])).toEqual([
      [{ start: 3, end: 3 }, 1, 4],
      [{ start: 0, end: 1 }, 1, 1],
    ]);
  });
});

describe("file names and positions", () => {
  test("a script file is named by its path", () => {
    const r = analyze("BEGIN { nope() }", { file: "/home/me/trace.bt" });
    expect(r.diagnostics[0]!.file).toBe("/home/me/trace.bt");
    expect(formatDiagnostics(r.diagnostics, r.source).split("\n")[0]).toBe("/home/me/trace.bt:1:9: error: unknown function 'nope'");
  });

  test("a -e program is stdin", () => {
    expect(analyze("BEGIN { nope() }").diagnostics[0]!.file).toBe("stdin");
  });

  test("line and column of an error on a later line", () => {
    const text = "// a comment\nBEGIN {\n  $x = 1;\n\n    $y = nope;\n}";
    const r = analyze(text, { file: "t.bt" });
    expect(r.diagnostics.map((d) => [d.line, d.column])).toEqual([[5, 10]]);
    expect(formatDiagnostics(r.diagnostics, r.source)).toBe(["t.bt:5:10: error: unknown identifier 'nope'", "    $y = nope;", "         ^~~~", ""].join("\n"));
  });

  test("an error on the last line without a newline", () => {
    const r = analyze("BEGIN {\n}\nEND { nope }");
    expect([r.diagnostics[0]!.line, r.diagnostics[0]!.column]).toEqual([3, 7]);
  });

  test("Source.position and Source.line", () => {
    const s = new Source("f", "ab\ncd\r\n\nef");
    expect(s.position(0)).toEqual({ line: 1, column: 1 });
    expect(s.position(2)).toEqual({ line: 1, column: 3 });
    expect(s.position(3)).toEqual({ line: 2, column: 1 });
    expect(s.position(8)).toEqual({ line: 4, column: 1 });
    expect(s.position(100)).toEqual({ line: 4, column: 3 });
    expect([1, 2, 3, 4].map((l) => s.line(l))).toEqual(["ab", "cd", "", "ef"]);
  });
});

describe("colour", () => {
  test("no escape codes without {color: true}", () => {
    const r = analyze("BEGIN { nope() }");
    expect(formatDiagnostics(r.diagnostics, r.source)).not.toContain("\x1b");
    expect(formatDiagnostics(r.diagnostics, r.source, { color: false })).not.toContain("\x1b");
  });

  test("an error in colour", () => {
    expect(render("BEGIN { foo() }", {}, true)).toBe(
      [
        "\x1b[1mstdin:1:9:\x1b[0m \x1b[1;31merror\x1b[0m: \x1b[1munknown function 'foo'\x1b[0m",
        "BEGIN { foo() }",
        "        \x1b[1;32m^~~\x1b[0m",
        "",
      ].join("\n"),
    );
  });

  test("a warning in colour", () => {
    const out = render("tracepoint:a:b { print(args->foo) }", {}, true);
    expect(out).toContain("\x1b[1;35mwarning\x1b[0m");
    expect(out.split("\n")[1]).toBe("tracepoint:a:b { print(args->foo) }");
  });

  test("formatDiagnostic renders one diagnostic without a trailing newline", () => {
    const r = analyze("BEGIN { foo() }");
    expect(formatDiagnostic(r.diagnostics[0]!, r.source)).toBe("stdin:1:9: error: unknown function 'foo'\nBEGIN { foo() }\n        ^~~");
  });
});
