import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type * as A from "../../compiler/ast.js";
import { parse, parseExpression } from "../../compiler/parser.js";
import { printExpr, printProgram } from "../../compiler/printer.js";
import { Source } from "../../compiler/source.js";
import { stripSpans } from "../support/gen.js";

function parseOk(text: string): A.Program {
  const { program, diagnostics } = parse(new Source("test", text));
  expect(diagnostics.list, text).toEqual([]);
  return program;
}

function expr(text: string): A.Expr {
  const { expr, diagnostics } = parseExpression(text);
  expect(diagnostics.list, text).toEqual([]);
  expect(expr, text).toBeDefined();
  return expr!;
}

/** Parses an expression, prints it, and checks the text parses back to the same AST. */
function reprint(text: string): string {
  const e = expr(text);
  const printed = printExpr(e);
  expect(stripSpans(expr(printed)), `${text} -> ${printed}`).toEqual(stripSpans(e));
  return printed;
}

// Small AST builders for expressions the parser cannot produce directly.
const sp = { start: 0, end: 0 };
const int = (v: number | bigint): A.Expr => ({ kind: "Int", value: BigInt(v), span: sp });
const v = (name: string): A.Expr => ({ kind: "Variable", name, span: sp });
const un = (op: A.UnaryOperator, operand: A.Expr): A.Expr => ({ kind: "Unary", op, operand, span: sp });
const bin = (op: A.BinaryOperator, left: A.Expr, right: A.Expr): A.Expr => ({ kind: "Binary", op, left, right, span: sp });
const incdec = (op: "++" | "--", prefix: boolean, target: A.Expr): A.Expr => ({ kind: "IncDec", op, prefix, target, span: sp });

describe("printExpr: precedence", () => {
  test.each([
    ["1 + 2 * 3", "1 + 2 * 3"],
    ["(1 + 2) * 3", "(1 + 2) * 3"],
    ["((1 + 2)) * ((3))", "(1 + 2) * 3"],
    ["1 * (2 + 3)", "1 * (2 + 3)"],
    ["$a || $b && $c", "$a || $b && $c"],
    ["($a || $b) && $c", "($a || $b) && $c"],
    ["$a | $b ^ $c & $d", "$a | $b ^ $c & $d"],
    ["(($a | $b) ^ $c) & $d", "(($a | $b) ^ $c) & $d"],
    ["$a == $b < $c", "$a == $b < $c"],
    ["($a == $b) < $c", "($a == $b) < $c"],
    ["$a < $b << 2", "$a < $b << 2"],
    ["($a < $b) << 2", "($a < $b) << 2"],
    ["1 << 2 + 3", "1 << 2 + 3"],
    ["(1 << 2) + 3", "(1 << 2) + 3"],
    ["-$a * $b", "-$a * $b"],
    ["-($a * $b)", "-($a * $b)"],
    ["!($a && $b)", "!($a && $b)"],
    ["~$a & 255", "~$a & 255"],
    ["$c ? 1 : 2", "$c ? 1 : 2"],
    ["($a || $b) ? 1 : 2", "$a || $b ? 1 : 2"],
    ["($a ? 1 : 2) + 3", "($a ? 1 : 2) + 3"],
    ["$a + ($b ? 1 : 2)", "$a + ($b ? 1 : 2)"],
    ["(uint8)$a + 1", "(uint8)$a + 1"],
    ["(uint8)($a + 1)", "(uint8)($a + 1)"],
    ["(uint8)-1", "(uint8)-1"],
    ["(int16)(uint8)$x", "(int16)(uint8)$x"],
    ["-(uint8)$x", "-(uint8)$x"],
    ["((uint8)$x).0", "((uint8)$x).0"],
    ["(uint8)$x.0", "(uint8)$x.0"],
    ["(-$x).1", "(-$x).1"],
    ["$t.0.1", "$t.0.1"],
    ["(1, \"a\").1", "(1, \"a\").1"],
    ["args->filename", "args->filename"],
    ["args.filename", "args.filename"],
    ["@m[1, 2] + @[3]", "@m[1, 2] + @[3]"],
    ["@m[(1, 2)]", "@m[(1, 2)]"],
    ["@", "@"],
    ["$1 + $#", "$1 + $#"],
    ["$x++ + ++$y", "$x++ + ++$y"],
    ["-$x++", "-$x++"],
    ["(-$x)++", "(-$x)++"],
    ["@a[1]--", "@a[1]--"],
    ["str(arg0, 16)", "str(arg0, 16)"],
    ["printf(\"%d %s\\n\", pid, comm)", "printf(\"%d %s\\n\", pid, comm)"],
    ["0x10 + 010", "16 + 8"],
    ["18446744073709551615", "18446744073709551615"],
    ["*$p", "*$p"],
    ["&$p", "&$p"],
    ["$a[1]", "$a[1]"],
    ["(*$a)[1]", "(*$a)[1]"],
    ["(@m)[1]", "(@m)[1]"],
    ["@m[1][2]", "@m[1][2]"],
    ["(@)[1]", "(@)[1]"],
    ["(struct task *)$p", "(struct task *)$p"],
    ["(uint8 **)$p", "(uint8 **)$p"],
  ])("%s", (input, output) => {
    expect(reprint(input)).toBe(output);
  });
});

describe("printExpr: associativity", () => {
  test.each([
    ["1 - 2 - 3", "1 - 2 - 3"],
    ["(1 - 2) - 3", "1 - 2 - 3"],
    ["1 - (2 - 3)", "1 - (2 - 3)"],
    ["1 - (2 + 3)", "1 - (2 + 3)"],
    ["1 + (2 + 3)", "1 + (2 + 3)"],
    ["8 / 4 / 2", "8 / 4 / 2"],
    ["8 / (4 / 2)", "8 / (4 / 2)"],
    ["8 / (4 * 2)", "8 / (4 * 2)"],
    ["$a && ($b && $c)", "$a && ($b && $c)"],
    ["$a == ($b != $c)", "$a == ($b != $c)"],
    ["1 << (2 >> 3)", "1 << (2 >> 3)"],
    ["$a ? $b : $c ? $d : $e", "$a ? $b : $c ? $d : $e"],
    ["$a ? $b : ($c ? $d : $e)", "$a ? $b : $c ? $d : $e"],
    ["($a ? $b : $c) ? $d : $e", "($a ? $b : $c) ? $d : $e"],
    ["$a ? ($b ? $c : $d) : $e", "$a ? $b ? $c : $d : $e"],
  ])("%s", (input, output) => {
    expect(reprint(input)).toBe(output);
  });
});

describe("printExpr: operators that would lex differently without a space", () => {
  test("- -x, - --x, & &x, ++ and --", () => {
    expect(printExpr(un("-", un("-", v("x"))))).toBe("- -$x");
    expect(printExpr(un("-", int(1)))).toBe("-1");
    expect(printExpr(un("-", un("-", int(1))))).toBe("- -1");
    expect(printExpr(un("-", incdec("--", true, v("x"))))).toBe("- --$x");
    expect(printExpr(un("-", incdec("++", true, v("x"))))).toBe("-++$x");
    expect(printExpr(un("&", un("&", v("x"))))).toBe("& &$x");
    expect(printExpr(un("!", un("!", v("x"))))).toBe("!!$x");
    expect(printExpr(un("~", un("-", v("x"))))).toBe("~-$x");
    expect(printExpr(incdec("--", true, un("-", v("x"))))).toBe("-- -$x");
    expect(printExpr(incdec("++", true, incdec("++", true, v("x"))))).toBe("++ ++$x");
    expect(printExpr(bin("-", v("a"), un("-", v("b"))))).toBe("$a - -$b");
    expect(printExpr(bin("-", v("a"), incdec("--", true, v("b"))))).toBe("$a - --$b");
    expect(printExpr(bin("/", v("a"), un("*", v("b"))))).toBe("$a / *$b");
    for (const text of ["- -$x", "- --$x", "& &$x", "-- -$x", "++ ++$x", "$a - --$b", "- -1"]) expect(reprint(text)).toBe(text);
  });
  test("a negative number is a unary minus", () => {
    expect(stripSpans(expr("-5"))).toEqual(stripSpans(un("-", int(5))));
    expect(reprint("-5 - -5")).toBe("-5 - -5");
    expect(reprint("(uint8)-1")).toBe("(uint8)-1");
  });
});

describe("printExpr: long chains", () => {
  test("a left-deep chain of 100000 operators prints without overflowing the stack", () => {
    let e: A.Expr = int(0);
    for (let i = 1; i <= 100000; i++) e = bin(i % 2 ? "+" : "-", e, int(i));
    const text = printExpr(e);
    expect(text.startsWith("0 + 1 - 2 + 3 - 4")).toBe(true);
    expect(text.endsWith("- 99998 + 99999 - 100000")).toBe(true);
  });
  test("mixed levels on the left spine", () => {
    expect(printExpr(bin("+", bin("*", v("a"), v("b")), v("c")))).toBe("$a * $b + $c");
    expect(printExpr(bin("*", bin("+", v("a"), v("b")), v("c")))).toBe("($a + $b) * $c");
    expect(printExpr(bin("-", bin("-", bin("*", v("a"), v("b")), v("c")), bin("-", v("d"), v("e"))))).toBe("$a * $b - $c - ($d - $e)");
    expect(printExpr(bin("||", bin("&&", bin("|", v("a"), v("b")), v("c")), v("d")))).toBe("$a | $b && $c || $d");
  });
});

describe("printExpr: strings", () => {
  test.each([
    ['"hello"', '"hello"'],
    ['"a\\nb\\tc"', '"a\\nb\\tc"'],
    ['"q\\"q\\\\"', '"q\\"q\\\\"'],
    ['"\\x01\\x7f"', '"\\x01\\x7f"'],
    ['"\\0011"', '"\\x011"'],
    ['"\\x1b[0m"', '"\\x1b[0m"'],
    ['"\\r\\a\\b\\f\\v\\e"', '"\\x0d\\x07\\x08\\x0c\\x0b\\x1b"'],
    ['"\\\'\\?"', "\"'?\""],
    ['"\\101\\x42"', '"AB"'],
    ['"%H:%M:%S\\n"', '"%H:%M:%S\\n"'],
    ['"é ü 日本"', '"é ü 日本"'],
    ['""', '""'],
  ])("%s", (input, output) => {
    expect(reprint(input)).toBe(output);
  });
  test("every byte value survives printing", () => {
    let value = "";
    for (let i = 0; i < 256; i++) value += String.fromCharCode(i);
    const e: A.Expr = { kind: "String", value, span: sp };
    const back = expr(printExpr(e));
    expect(back.kind).toBe("String");
    expect((back as A.StringExpr).value).toBe(value);
  });
});

describe("printProgram", () => {
  test("canonical layout", () => {
    const text = `#include <linux/sched.h>
BEGIN { printf("hi\\n"); @start = nsecs }
uprobe:/bin/bash:readline, uretprobe:/bin/bash:readline /pid == 1 && comm != "sh"/ { $x = arg0; if ($x > 1) { @c[comm] = count(); } else if ($x) { $x += 2 } else { delete(@c[comm]); } unroll(3) { $x++; } while ($x < 10) { if ($x == 5) { break; } $x = $x + 1; continue; } { $y = 1; } return }
END{clear(@c);;}`;
    const expected = `#include <linux/sched.h>

BEGIN
{
    printf("hi\\n");
    @start = nsecs;
}

uprobe:/bin/bash:readline, uretprobe:/bin/bash:readline / pid == 1 && comm != "sh" /
{
    $x = arg0;
    if ($x > 1) {
        @c[comm] = count();
    } else if ($x) {
        $x += 2;
    } else {
        delete(@c[comm]);
    }
    unroll (3) {
        $x++;
    }
    while ($x < 10) {
        if ($x == 5) {
            break;
        }
        $x = $x + 1;
        continue;
    }
    {
        $y = 1;
    }
    return;
}

END
{
    clear(@c);
}
`;
    const printed = printProgram(parseOk(text));
    expect(printed).toBe(expected);
    expect(printProgram(parseOk(printed))).toBe(printed);
  });

  test("else with a block holding only an if prints as else if (the AST is the same)", () => {
    const a = parseOk("BEGIN { if (1) { } else { if (2) { exit(); } } }");
    const b = parseOk("BEGIN { if (1) { } else if (2) { exit(); } }");
    expect(stripSpans(a)).toEqual(stripSpans(b));
    expect(printProgram(a)).toBe("BEGIN\n{\n    if (1) {\n    } else if (2) {\n        exit();\n    }\n}\n");
  });

  test("else if chains with a final else, nested", () => {
    const text = "BEGIN { if ($a) { if ($b) { $c = 1; } else { $c = 2; } } else if ($b) { } else if ($c) { $d = 3; } else { $e = 4; } }";
    const printed = printProgram(parseOk(text));
    expect(printed).toBe(`BEGIN
{
    if ($a) {
        if ($b) {
            $c = 1;
        } else {
            $c = 2;
        }
    } else if ($b) {
    } else if ($c) {
        $d = 3;
    } else {
        $e = 4;
    }
}
`);
  });

  test("predicates with division and dereference", () => {
    const printed = printProgram(parseOk("BEGIN /pid / 2 > 1/ { } END / *$p / { }"));
    expect(printed).toBe("BEGIN / pid / 2 > 1 /\n{\n}\n\nEND / *$p /\n{\n}\n");
    expect(printProgram(parseOk(printed))).toBe(printed);
  });

  test("attach points are printed as written", () => {
    const text = 'interval:ms:100, i:us:5, profile:hz:99, usdt:/usr/bin/python3.11:python:function__entry, uprobe:"/bin/ba sh":"read*line" { }';
    const printed = printProgram(parseOk(text));
    expect(printed.split("\n")[0]).toBe('interval:ms:100, i:us:5, profile:hz:99, usdt:/usr/bin/python3.11:python:function__entry, uprobe:"/bin/ba sh":"read*line"');
  });

  const programs = [
    `BEGIN { @x = 1; @y[1, "a"] = (2, "b"); print(@y); print(@y[1, "a"].1); zero(@x); clear(@y); exit(); }`,
    `tracepoint:syscalls:sys_enter_openat { @opens[comm, str(args->filename)] = count(); $s = str(args->filename, 16); if (strncmp($s, "/etc", 4) == 0) { printf("%-10s %05d %s\\n", comm, pid, $s); } }`,
    `uretprobe:/bin/bash:readline { @h = hist(retval); @l = lhist(retval, 0, 100, 10); @a = avg(retval); @m = min(-retval); @x = max(retval); @st = stats(retval); @s = sum(retval); }`,
    `interval:s:1 { time("%H:%M:%S\\n"); $i = 0; while ($i < 5) { $i++; if ($i % 2) { continue; } @even += 1; } @t = ($i, comm, (1, 2)); printf("%d %d\\n", @t.2.0, (@t.2).1); }`,
    `BEGIN { $a = 1 ? 2 : 3 ? 4 : 5; $b = ($a ? 1 : 0) ? 6 : 7; $c = -(1 - (2 - 3)) * ~(uint8)$a; $d = !$c || $a && $b | $c ^ $a & $b; $e = $a << 1 >> ($b << 1); $f = - -$a; $g = -(-1); $a <<= 2; $a >>= 1; $a %= 3; $a ^= $b; $a |= 1; $a &= 7; $a *= 2; $a /= 3; $a -= 4; --$a; $a--; }`,
    `i:us:10 /$# > 0 && $1 > 2/ { print(($1, $#)); }`,
  ];
  test.each(programs)("print/parse round trip: %s", (text) => {
    const program = parseOk(text);
    const printed = printProgram(program);
    const reparsed = parseOk(printed);
    expect(stripSpans(reparsed)).toEqual(stripSpans(program));
    expect(printProgram(reparsed)).toBe(printed);
  });

  test("a hand-built AST with every expression form prints to text that parses back to it", () => {
    const S = (value: string): A.Expr => ({ kind: "String", value, span: sp });
    const id = (name: string): A.Expr => ({ kind: "Ident", name, span: sp });
    const exprs: A.Expr[] = [
      bin("-", int(1), bin("-", int(2), int(3))),
      bin("*", bin("+", int(1), int(2)), bin("%", int(3), int(4))),
      { kind: "Ternary", cond: { kind: "Ternary", cond: v("a"), then: int(1), else: int(2), span: sp }, then: int(3), else: int(4), span: sp },
      { kind: "Cast", typeName: "int8", pointer: 0, typeSpan: sp, operand: bin("+", v("a"), int(1)), span: sp },
      { kind: "TupleIndex", tuple: { kind: "Tuple", elems: [int(1), S("x\n\"\\\x01")], span: sp }, index: 1, span: sp },
      { kind: "TupleIndex", tuple: un("-", v("t")), index: 0, span: sp },
      { kind: "Field", base: id("args"), field: "filename", arrow: true, fieldSpan: sp, span: sp },
      { kind: "Index", base: bin("+", v("p"), int(1)), index: int(2), span: sp },
      incdec("++", false, { kind: "Cast", typeName: "uint8", pointer: 0, typeSpan: sp, operand: v("x"), span: sp }),
      incdec("--", true, incdec("--", true, v("x"))),
      un("-", un("-", un("-", int(1)))),
      { kind: "Map", name: "", keys: [int(1), { kind: "Tuple", elems: [int(2), int(3)], span: sp }], span: sp },
      { kind: "Call", name: "str", nameSpan: sp, args: [id("arg0"), int(16)], span: sp },
      { kind: "Positional", index: 2, span: sp },
      { kind: "PositionalCount", span: sp },
    ];
    for (const e of exprs) {
      const text = printExpr(e);
      expect(stripSpans(expr(text)), text).toEqual(stripSpans(e));
    }
  });
});

// ---- syntactic round trip: random ASTs, well-typed or not ----------------------------------------

const KEYWORDS = new Set(["if", "else", "unroll", "while", "return", "break", "continue", "struct"]);
const CAST_NAMES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"];
// Names that are not keywords; cast type names are left out of identifiers (`(uint8)` would be a cast).
const nameArb = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,6}$/).filter((n) => !KEYWORDS.has(n) && !CAST_NAMES.includes(n));
const UNARY_OPS: A.UnaryOperator[] = ["-", "!", "~", "*", "&"];
const BINARY_OPS: A.BinaryOperator[] = ["||", "&&", "|", "^", "&", "==", "!=", "<", ">", "<=", ">=", "<<", ">>", "+", "-", "*", "/", "%"];
const ASSIGN_OPS: A.AssignOperator[] = ["=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="];

const { expr: exprArb } = fc.letrec<{ expr: A.Expr }>((tie) => {
  const e = tie("expr");
  const leaf: fc.Arbitrary<A.Expr>[] = [
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((value): A.Expr => ({ kind: "Int", value, span: sp })),
    // String values are byte strings (one char per byte): the UTF-8 bytes of any text.
    fc.string({ unit: "binary", maxLength: 8 }).map((text): A.Expr => ({ kind: "String", value: Buffer.from(text, "utf8").toString("latin1"), span: sp })),
    nameArb.map((name): A.Expr => ({ kind: "Variable", name, span: sp })),
    fc.nat({ max: 20 }).map((index): A.Expr => ({ kind: "Positional", index, span: sp })),
    fc.constant<A.Expr>({ kind: "PositionalCount", span: sp }),
    nameArb.map((name): A.Expr => ({ kind: "Ident", name, span: sp })),
    fc.oneof(fc.constant(""), nameArb).map((name): A.Expr => ({ kind: "Map", name, keys: [], span: sp })),
  ];
  const node: fc.Arbitrary<A.Expr>[] = [
    fc.tuple(fc.oneof(fc.constant(""), nameArb), fc.array(e, { minLength: 1, maxLength: 3 })).map(([name, keys]): A.Expr => ({ kind: "Map", name, keys, span: sp })),
    fc.tuple(nameArb, fc.array(e, { maxLength: 3 })).map(([name, args]): A.Expr => ({ kind: "Call", name, nameSpan: sp, args, span: sp })),
    fc.tuple(fc.constantFrom(...UNARY_OPS), e).map(([op, operand]): A.Expr => ({ kind: "Unary", op, operand, span: sp })),
    fc.tuple(fc.constantFrom(...BINARY_OPS), e, e).map(([op, left, right]): A.Expr => ({ kind: "Binary", op, left, right, span: sp })),
    fc.tuple(e, e, e).map(([cond, then, other]): A.Expr => ({ kind: "Ternary", cond, then, else: other, span: sp })),
    fc
      .tuple(fc.oneof(fc.constantFrom(...CAST_NAMES), nameArb.map((n) => `struct ${n}`)), fc.nat({ max: 2 }), e)
      .map(([typeName, pointer, operand]): A.Expr => ({ kind: "Cast", typeName, pointer, typeSpan: sp, operand, span: sp })),
    fc.array(e, { minLength: 2, maxLength: 3 }).map((elems): A.Expr => ({ kind: "Tuple", elems, span: sp })),
    fc.tuple(e, fc.nat({ max: 12 })).map(([t, index]): A.Expr => ({ kind: "TupleIndex", tuple: t, index, span: sp })),
    fc.tuple(e, nameArb, fc.boolean()).map(([base, field, arrow]): A.Expr => ({ kind: "Field", base, field, arrow, fieldSpan: sp, span: sp })),
    fc.tuple(e, e).map(([base, index]): A.Expr => ({ kind: "Index", base, index, span: sp })),
    fc.tuple(fc.constantFrom("++" as const, "--" as const), fc.boolean(), e).map(([op, prefix, target]): A.Expr => ({ kind: "IncDec", op, prefix, target, span: sp })),
  ];
  return { expr: fc.oneof({ depthSize: "small", withCrossShrink: true }, ...leaf, ...node) };
});

const targetArb: fc.Arbitrary<A.VariableExpr | A.MapExpr> = fc.oneof(
  nameArb.map((name): A.VariableExpr => ({ kind: "Variable", name, span: sp })),
  fc.tuple(fc.oneof(fc.constant(""), nameArb), fc.array(exprArb, { maxLength: 2 })).map(([name, keys]): A.MapExpr => ({ kind: "Map", name, keys, span: sp })),
);

const { stmts: stmtsArb } = fc.letrec<{ stmt: A.Stmt; stmts: A.Stmt[] }>((tie) => {
  const body = tie("stmts");
  const stmt: fc.Arbitrary<A.Stmt> = fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    exprArb.map((expr): A.Stmt => ({ kind: "ExprStmt", expr, span: sp })),
    fc.tuple(targetArb, fc.constantFrom(...ASSIGN_OPS), exprArb).map(([target, op, value]): A.Stmt => ({ kind: "AssignStmt", target, op, value, span: sp })),
    fc.constantFrom("return" as const, "break" as const, "continue" as const).map((jump): A.Stmt => ({ kind: "JumpStmt", jump, span: sp })),
    fc.tuple(exprArb, body, fc.option(body, { nil: undefined })).map(([cond, then, other]): A.Stmt => ({ kind: "IfStmt", cond, then, else: other, span: sp })),
    fc.tuple(exprArb, body).map(([count, b]): A.Stmt => ({ kind: "UnrollStmt", count, body: b, span: sp })),
    fc.tuple(exprArb, body).map(([cond, b]): A.Stmt => ({ kind: "WhileStmt", cond, body: b, span: sp })),
    body.map((b): A.Stmt => ({ kind: "BlockStmt", body: b, span: sp })),
  );
  return { stmt, stmts: fc.array(tie("stmt") as fc.Arbitrary<A.Stmt>, { maxLength: 3 }) };
});

const ATTACH_POINTS = ["BEGIN", "END", "interval:s:1", "i:us:10", "uprobe:/bin/bash:readline", "usdt:/usr/bin/python3.11:python:function__entry", "kprobe:do_sys_open", "tracepoint:syscalls:sys_enter_openat"];
const attachArb = fc.constantFrom(...ATTACH_POINTS).map(
  (raw): A.AttachPoint => ({ kind: "AttachPoint", raw, fields: raw.split(":").map((text) => ({ text, quoted: false, span: sp })), span: sp }),
);
const syntacticProgramArb: fc.Arbitrary<A.Program> = fc
  .array(fc.tuple(fc.array(attachArb, { minLength: 1, maxLength: 2 }), fc.option(exprArb, { nil: undefined }), stmtsArb), { minLength: 1, maxLength: 3 })
  .map((probes) => ({
    kind: "Program",
    includes: [],
    structs: [],
    probes: probes.map(([attachPoints, predicate, body]): A.Probe => ({ kind: "Probe", attachPoints, predicate, body, span: sp })),
    span: sp,
  }));

describe("print/parse round trip of random ASTs (not necessarily well-typed)", () => {
  test("expressions", () => {
    fc.assert(
      fc.property(exprArb, (e) => {
        const text = printExpr(e);
        const { expr: back, diagnostics } = parseExpression(text);
        if (diagnostics.list.length > 0 || back === undefined) throw new Error(`does not parse back: ${text}\n${JSON.stringify(diagnostics.list)}`);
        expect(stripSpans(back), text).toEqual(stripSpans(e));
      }),
      { numRuns: 2000 },
    );
  });

  test("programs", () => {
    fc.assert(
      fc.property(syntacticProgramArb, (program) => {
        const text = printProgram(program);
        const back = parseOk(text);
        expect(stripSpans(back), text).toEqual(stripSpans(program));
        expect(printProgram(back)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});
