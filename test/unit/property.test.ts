// The two property tests the project requires:
// (1) analyze() never throws, whatever the input, and every diagnostic points inside the input;
// (2) generated well-typed programs pass the checker, and print -> parse -> print is stable.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type * as A from "../../compiler/ast.js";
import { analyze, formatDiagnostics, type AnalyzeResult } from "../../compiler/index.js";
import { parse } from "../../compiler/parser.js";
import { printProgram } from "../../compiler/printer.js";
import { Source } from "../../compiler/source.js";
import { ANALYZE_OPTIONS, programArb, stripSpans } from "../support/gen.js";

/** Run counts, scaled by PROPERTY_RUNS_SCALE (e.g. 10 for a longer search). */
const SCALE = Number(process.env["PROPERTY_RUNS_SCALE"] ?? 1);
const RUNS = (n: number) => Math.max(1, Math.round(n * SCALE));
const TIMEOUT = 30_000 * Math.max(1, SCALE);

// ---- (1) robustness ---------------------------------------------------------------------------

/** Runs analyze() and checks every diagnostic's position against the input. */
function analyzeChecked(text: string): AnalyzeResult {
  let r: AnalyzeResult;
  try {
    r = analyze(text, ANALYZE_OPTIONS);
  } catch (e) {
    throw new Error(`analyze() threw on ${JSON.stringify(text)}: ${(e as Error).stack ?? String(e)}`);
  }
  const source = new Source("stdin", text);
  for (const d of r.diagnostics) {
    const where = `${JSON.stringify(d)} in ${JSON.stringify(text)}`;
    if (!(Number.isInteger(d.span.start) && Number.isInteger(d.span.end))) throw new Error(`non-integer span: ${where}`);
    if (!(0 <= d.span.start && d.span.start <= d.span.end && d.span.end <= text.length)) throw new Error(`span outside the input: ${where}`);
    const pos = source.position(d.span.start);
    if (d.line !== pos.line || d.column !== pos.column) throw new Error(`line/column ${d.line}:${d.column} but the span starts at ${pos.line}:${pos.column}: ${where}`);
    if (d.file !== "stdin") throw new Error(`file name: ${where}`);
    if (d.message.length === 0) throw new Error(`empty message: ${where}`);
  }
  if (r.ok !== !r.diagnostics.some((d) => d.severity === "error")) throw new Error(`ok disagrees with the diagnostics on ${JSON.stringify(text)}`);
  // Rendering must not throw either.
  formatDiagnostics(r.diagnostics, r.source);
  return r;
}

/** The language's tokens, for token soups. */
const TOKENS = [
  // attach points and probe-ish words
  "BEGIN", "END", "interval:ms:100", "interval:s:1", "i:us:5", "interval:hz:99", "profile:hz:99", "interval:xs:1", "interval:ms:0",
  "tracepoint:syscalls:sys_enter_openat", "tracepoint:nope:nope", "uprobe:/bin/bash:readline", "uretprobe:/bin/bash:readline",
  "usdt:/usr/bin/python3.11:python:function__entry", "kprobe:do_sys_open", "uprobe:/bin/bash:0x10", "uprobe:\"/bin/ba sh\":\"x\"",
  "uprobe:$1:f", "u::", "BEGIN:x",
  // keywords and builtins
  "if", "else", "unroll", "while", "return", "break", "continue", "struct", "args", "pid", "tid", "uid", "gid", "nsecs",
  "elapsed", "cpu", "comm", "retval", "arg0", "arg5", "arg11", "func", "probe", "ustack", "cpid", "kstack", "foo",
  "uint8", "int64", "(uint8)", "(int32)", "(struct x *)",
  // functions
  "printf", "print", "time", "exit", "str", "strncmp", "count", "sum", "avg", "min", "max", "stats", "hist", "lhist",
  "delete", "clear", "zero", "usym", "ustack", "system", "sizeof",
  // operators and punctuation
  "+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "==", "!=", "<", ">", "<=", ">=", "&&", "||", "!", "~", "=", "+=", "-=",
  "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=", "++", "--", "?", ":", "->", ".", ",", ";", "{", "}", "(", ")", "[", "]",
  // names and literals
  "@", "@x", "@count", "$y", "$1", "$#", "$0", "0", "1", "42", "0x1f", "08", "017", "18446744073709551616", "99999999999999999999999",
  '"a"', '"%d\\n"', '"%s %d"', '"%-10s"', '"\\q"', '"\\x"', '"\\777"', '"unterminated', '"%H:%M:%S\\n"', '"%r"', '"%"',
  // comments, directives, odd characters
  "//c\n", "/*", "*/", "/* c */", "#include <linux/sched.h>\n", "#define X\n", "#", "\\", "`", "'", "\u00e9", "\0",
];

const separator = fc.constantFrom(" ", "", "\n", "\t", "  ");

/** Random token sequences joined by random whitespace. */
const tokenSoup = fc
  .array(fc.tuple(fc.constantFrom(...TOKENS), separator), { maxLength: 40 })
  .map((parts) => parts.map(([t, s]) => t + s).join(""));

/** Token soups inside a probe body, to reach deeper into the parser and the checker. */
const probeSoup = fc
  .tuple(fc.constantFrom("BEGIN", "uprobe:/bin/bash:readline", "uretprobe:/bin/bash:readline", "tracepoint:syscalls:sys_enter_openat", "interval:s:1"), tokenSoup)
  .map(([ap, body]) => `${ap} { ${body} }`);

/** Generated valid programs with a random slice deleted, a random character inserted, or a slice duplicated. */
const mutated = fc
  .tuple(programArb({ maxProbes: 2 }), fc.nat(), fc.nat(), fc.constantFrom("delete", "insert", "duplicate", "replace"), fc.string({ minLength: 1, maxLength: 3, unit: "binary" }))
  .map(([ast, a, b, how, chars]) => {
    const text = printProgram(ast);
    const i = a % (text.length + 1);
    const j = Math.min(text.length, i + (b % 12));
    switch (how) {
      case "delete":
        return text.slice(0, i) + text.slice(j);
      case "insert":
        return text.slice(0, i) + chars + text.slice(i);
      case "duplicate":
        return text.slice(0, j) + text.slice(i, j) + text.slice(j);
      case "replace":
        return text.slice(0, i) + chars + text.slice(Math.min(text.length, i + chars.length));
    }
  });

describe("property: any input gives diagnostics or success, never an exception", () => {
  test("random strings", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ maxLength: 60, unit: "binary" }), fc.string({ maxLength: 60, unit: "grapheme" })), (text) => {
        analyzeChecked(text);
      }),
      { numRuns: RUNS(3000) },
    );
  }, TIMEOUT);

  test("token soups", () => {
    fc.assert(
      fc.property(fc.oneof(tokenSoup, probeSoup), (text) => {
        analyzeChecked(text);
      }),
      { numRuns: RUNS(4000) },
    );
  }, TIMEOUT);

  test("mutations of valid programs", () => {
    fc.assert(
      fc.property(mutated, (text) => {
        analyzeChecked(text);
      }),
      { numRuns: RUNS(1500) },
    );
  }, TIMEOUT);

  test("a few fixed edge cases", () => {
    for (const text of ["", " ", "\n", "BEGIN", "BEGIN {", "BEGIN }", "{}", "/", '"', "BEGIN { @x[ }", "BEGIN { $x = ; }", "\r\n\r\n", "BEGIN { printf(\"%d\"); }"]) {
      analyzeChecked(text);
    }
  });
});

describe("deeply nested input", () => {
  const nest = {
    parentheses: (n: number) => `BEGIN { $x = ${"(".repeat(n)}1${")".repeat(n)}; }`,
    ifs: (n: number) => `BEGIN { ${"if (1) { ".repeat(n)}${"}".repeat(n)} }`,
    unary: (n: number) => `BEGIN { $x = ${"- ".repeat(n)}1; }`,
    chain: (n: number) => `BEGIN { $x = ${"1 + ".repeat(n)}1; }`,
  };

  test("moderate nesting is fine", () => {
    analyzeChecked(nest.parentheses(50));
    analyzeChecked(nest.ifs(100));
    analyzeChecked(nest.unary(500));
    analyzeChecked(nest.chain(1000));
  });

  // Nesting deep enough to overflow the parser's or the checker's recursion is a diagnostic,
  // never an escaping RangeError.
  test.each([
    ["1000 nested parentheses", nest.parentheses(1000)],
    ["5000 nested ifs", nest.ifs(5000)],
    ["20000 prefix minus signs", nest.unary(20000)],
    ["a chain of 20000 additions", nest.chain(20000)],
  ])("%s: a diagnostic, not a stack overflow", (_, text) => {
    const r = analyze(text, ANALYZE_OPTIONS);
    if (!r.ok) expect(r.diagnostics.map((d) => d.message)).toContain("the program is nested too deeply to compile");
  });
});

// ---- (2) generated well-typed programs ------------------------------------------------------------

function reparse(text: string): A.Program {
  const { program, diagnostics } = parse(new Source("stdin", text));
  if (diagnostics.list.length > 0) throw new Error(`parse errors:\n${formatDiagnostics(diagnostics.list, diagnostics.source)}\nin:\n${text}`);
  return program;
}

/** Expressions of a checked program whose type is missing or <error>. */
function untyped(program: A.Program): string[] {
  const bad: string[] = [];
  const expr = (e: A.Expr): void => {
    if (e.type === undefined || e.type.kind === "error") bad.push(`${e.kind} (${e.type?.kind ?? "no type"}) at ${e.span.start}-${e.span.end}`);
    switch (e.kind) {
      case "Map":
        return e.keys.forEach(expr);
      case "Call":
        return e.args.forEach(expr);
      case "Unary":
        return expr(e.operand);
      case "Binary":
        return [e.left, e.right].forEach(expr);
      case "Ternary":
        return [e.cond, e.then, e.else].forEach(expr);
      case "Cast":
        return expr(e.operand);
      case "Tuple":
        return e.elems.forEach(expr);
      case "TupleIndex":
        return expr(e.tuple);
      case "Field":
        return expr(e.base);
      case "Index":
        return [e.base, e.index].forEach(expr);
      case "IncDec":
        return expr(e.target);
      default:
        return;
    }
  };
  const stmt = (s: A.Stmt): void => {
    switch (s.kind) {
      case "ExprStmt":
        return expr(s.expr);
      case "AssignStmt":
        return [s.target, s.value].forEach(expr);
      case "IfStmt":
        expr(s.cond);
        s.then.forEach(stmt);
        return s.else?.forEach(stmt);
      case "UnrollStmt":
        expr(s.count);
        return s.body.forEach(stmt);
      case "WhileStmt":
        expr(s.cond);
        return s.body.forEach(stmt);
      case "BlockStmt":
        return s.body.forEach(stmt);
      case "JumpStmt":
        return;
    }
  };
  for (const p of program.probes) {
    if (p.predicate) expr(p.predicate);
    p.body.forEach(stmt);
  }
  return bad;
}

describe("property: generated well-typed programs", () => {
  test("pass the checker, and print/parse/print is stable", () => {
    fc.assert(
      fc.property(programArb(), (ast) => {
        const text = printProgram(ast);
        const r = analyze(text, ANALYZE_OPTIONS);
        const errors = r.diagnostics.filter((d) => d.severity === "error");
        if (errors.length > 0) throw new Error(`checker errors:\n${formatDiagnostics(errors, r.source)}\nin:\n${text}`);
        const bad = untyped(r.program);
        if (bad.length > 0) throw new Error(`expressions typed <error> or not typed:\n${bad.join("\n")}\nin:\n${text}`);
        const parsed = reparse(text);
        expect(stripSpans(parsed)).toEqual(stripSpans(ast));
        expect(printProgram(parsed)).toBe(text);
      }),
      { numRuns: RUNS(600) },
    );
  }, TIMEOUT);
});
