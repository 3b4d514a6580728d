// Unit tests of the lexer (compiler/lexer.ts): where attach points are one token, what they may
// contain, and every other token kind.
import { describe, expect, test } from "vitest";
import { tokenize } from "../../compiler/lexer.js";

/** `Name:image` for every token of the main group. */
function toks(text: string): string[] {
  const r = tokenize(text);
  return r.tokens.map((t) => `${t.tokenType.name}:${t.image}`);
}

/** Token type names only. */
function kinds(text: string): string[] {
  return tokenize(text).tokens.map((t) => t.tokenType.name);
}

/** The images of the attach-point tokens. */
function attachPoints(text: string): string[] {
  return tokenize(text)
    .tokens.filter((t) => t.tokenType.name === "AttachPoint")
    .map((t) => t.image);
}

describe("attach points: where a probe may begin", () => {
  test("at the start of the text", () => {
    expect(toks("BEGIN { }")).toEqual(["AttachPoint:BEGIN", "LCurly:{", "RCurly:}"]);
  });

  test("at the start, after leading whitespace and newlines", () => {
    expect(toks("\n\n  \tEND{}")).toEqual(["AttachPoint:END", "LCurly:{", "RCurly:}"]);
  });

  test("after a '}' that closes a probe (depth 0)", () => {
    expect(attachPoints("BEGIN {} END {}")).toEqual(["BEGIN", "END"]);
    expect(attachPoints("BEGIN{}END{}")).toEqual(["BEGIN", "END"]);
  });

  test("not after a '}' that closes a nested block", () => {
    // `foo` follows the `}` of the if-block, which is at depth 1.
    const t = toks("BEGIN { if (1) { } foo }");
    expect(t).toContain("Ident:foo");
    expect(attachPoints("BEGIN { if (1) { } foo }")).toEqual(["BEGIN"]);
  });

  test("after a ',' in an attach list", () => {
    expect(toks("BEGIN, END { }")).toEqual(["AttachPoint:BEGIN", "Comma:,", "AttachPoint:END", "LCurly:{", "RCurly:}"]);
    expect(attachPoints("uprobe:/bin/sh:a,\n  uprobe:/bin/sh:b {}")).toEqual(["uprobe:/bin/sh:a", "uprobe:/bin/sh:b"]);
  });

  test("not after a ',' inside a body (call arguments are identifiers)", () => {
    const t = toks('BEGIN { printf("%d %d", pid, tid) }');
    expect(t).toContain("Ident:pid");
    expect(t).toContain("Ident:tid");
    expect(attachPoints('BEGIN { printf("%d %d", pid, tid) }')).toEqual(["BEGIN"]);
  });

  test("after the '};' that ends a struct definition", () => {
    expect(toks("struct Foo { int x; }; BEGIN {}")).toEqual([
      "Struct:struct",
      "Ident:Foo",
      "LCurly:{",
      "Ident:int",
      "Ident:x",
      "Semicolon:;",
      "RCurly:}",
      "Semicolon:;",
      "AttachPoint:BEGIN",
      "LCurly:{",
      "RCurly:}",
    ]);
  });

  test("`struct` at the start is the keyword, not an attach point", () => {
    expect(kinds("struct S { }")[0]).toBe("Struct");
  });

  test("identifiers inside a body are never attach points", () => {
    expect(kinds("BEGIN { pid; comm; BEGIN }")).toEqual([
      "AttachPoint",
      "LCurly",
      "Ident",
      "Semicolon",
      "Ident",
      "Semicolon",
      "Ident",
      "RCurly",
    ]);
  });

  test("a colon-separated identifier inside a body is not one token", () => {
    expect(toks("BEGIN { a ? b:c : d }")).toEqual([
      "AttachPoint:BEGIN",
      "LCurly:{",
      "Ident:a",
      "Question:?",
      "Ident:b",
      "Colon::",
      "Ident:c",
      "Colon::",
      "Ident:d",
      "RCurly:}",
    ]);
  });
});

describe("attach points: their text", () => {
  test("absolute paths with '/', '.', '-', '+'", () => {
    expect(attachPoints("uprobe:/usr/lib/x86_64-linux-gnu/libstdc++.so.6:malloc {}")).toEqual([
      "uprobe:/usr/lib/x86_64-linux-gnu/libstdc++.so.6:malloc",
    ]);
  });

  test("relative paths", () => {
    expect(attachPoints("uprobe:./a.out:main {}")).toEqual(["uprobe:./a.out:main"]);
    expect(attachPoints("uretprobe:../bin/x-y:f {}")).toEqual(["uretprobe:../bin/x-y:f"]);
  });

  test("wildcards '*' in function and tracepoint names", () => {
    expect(attachPoints("uprobe:/bin/bash:read* {}")).toEqual(["uprobe:/bin/bash:read*"]);
    expect(attachPoints("tracepoint:syscalls:sys_enter_* {}")).toEqual(["tracepoint:syscalls:sys_enter_*"]);
  });

  test("function+offset", () => {
    expect(attachPoints("uprobe:/bin/bash:main+0x10 {}")).toEqual(["uprobe:/bin/bash:main+0x10"]);
  });

  test("every short provider name with a path takes '/' in its second field", () => {
    for (const p of ["u", "ur", "uprobe", "uretprobe", "usdt", "U"]) {
      expect(attachPoints(`${p}:/lib/libc.so.6:x {}`)).toEqual([`${p}:/lib/libc.so.6:x`]);
    }
  });

  test("usdt with a provider", () => {
    expect(attachPoints("usdt:/usr/bin/python3:python:function__entry {}")).toEqual(["usdt:/usr/bin/python3:python:function__entry"]);
  });

  test("a quoted field may hold spaces, braces and colons", () => {
    expect(toks('uprobe:"/tmp/my dir/a{b}":"ns::f" {}')).toEqual(['AttachPoint:uprobe:"/tmp/my dir/a{b}":"ns::f"', "LCurly:{", "RCurly:}"]);
  });

  test("a quoted field may hold an escaped quote", () => {
    expect(attachPoints('uprobe:"/tmp/a\\"b":f {}')).toEqual(['uprobe:"/tmp/a\\"b":f']);
  });

  test("a positional parameter may stand for a field", () => {
    expect(attachPoints("uprobe:$1:foo {}")).toEqual(["uprobe:$1:foo"]);
  });

  test("'/' in a non-path field ends the attach point (predicate right after it)", () => {
    expect(toks("i:ms:1/cpu==0/{")).toEqual(["AttachPoint:i:ms:1", "Slash:/", "Ident:cpu", "EqEq:==", "IntLit:0", "Slash:/", "LCurly:{"]);
  });

  test("'/' after the function field of a uprobe ends the attach point", () => {
    expect(toks("uprobe:/bin/sh:main/pid/{}")).toEqual([
      "AttachPoint:uprobe:/bin/sh:main",
      "Slash:/",
      "Ident:pid",
      "Slash:/",
      "LCurly:{",
      "RCurly:}",
    ]);
  });

  test("'/' right after BEGIN ends it", () => {
    expect(toks("BEGIN/1/{}")).toEqual(["AttachPoint:BEGIN", "Slash:/", "IntLit:1", "Slash:/", "LCurly:{", "RCurly:}"]);
  });

  test("'/' in a tracepoint's fields ends the attach point", () => {
    expect(kinds("tracepoint:sched:sched_switch/1/{}").slice(0, 2)).toEqual(["AttachPoint", "Slash"]);
  });

  test("whitespace, ',', '{', ';', '(' and ')' end an attach point", () => {
    expect(attachPoints("interval:s:1\n{}")).toEqual(["interval:s:1"]);
    expect(attachPoints("BEGIN,END{}")).toEqual(["BEGIN", "END"]);
    expect(kinds("END{}")).toEqual(["AttachPoint", "LCurly", "RCurly"]);
  });
});

describe("comments and directives", () => {
  test("line comments are skipped, also before the first probe", () => {
    expect(toks("// hello\nBEGIN { } // bye\nEND { }")).toEqual([
      "AttachPoint:BEGIN",
      "LCurly:{",
      "RCurly:}",
      "AttachPoint:END",
      "LCurly:{",
      "RCurly:}",
    ]);
  });

  test("block comments are skipped, also across lines and holding braces", () => {
    expect(toks("/* a\n b */ BEGIN /* { */ { /* } */ }")).toEqual(["AttachPoint:BEGIN", "LCurly:{", "RCurly:}"]);
  });

  test("a comment between probes keeps the next one an attach point", () => {
    expect(attachPoints("BEGIN {} /* x */ END {}")).toEqual(["BEGIN", "END"]);
  });

  test("an unterminated block comment is one token, for the parser to report", () => {
    expect(kinds("BEGIN { } /* x")).toEqual(["AttachPoint", "LCurly", "RCurly", "UnterminatedComment"]);
  });

  test("'//' inside a string is not a comment", () => {
    expect(toks('BEGIN { "a//b" }')).toContain('StringLit:"a//b"');
  });

  test("#include lines go to their own group; the first probe is still an attach point", () => {
    const r = tokenize("#include <linux/sched.h>\n#include \"x.h\"\nBEGIN {}");
    expect(r.groups["directives"]!.map((t) => t.image)).toEqual(["#include <linux/sched.h>", '#include "x.h"']);
    expect(r.tokens.map((t) => t.tokenType.name)).toEqual(["AttachPoint", "LCurly", "RCurly"]);
  });

  test("#define is lexed as a directive too (the parser rejects it)", () => {
    const r = tokenize("#define X 1\nBEGIN {}");
    expect(r.groups["directives"]!.map((t) => t.image)).toEqual(["#define X 1"]);
  });
});

describe("variables, maps and positional parameters", () => {
  test("$#, $1, $x, @, @x", () => {
    expect(toks("BEGIN { $# $1 $12 $x $_y1 @ @x @_a9 }").slice(2, -1)).toEqual([
      "PositionalCount:$#",
      "Positional:$1",
      "Positional:$12",
      "Variable:$x",
      "Variable:$_y1",
      "MapName:@",
      "MapName:@x",
      "MapName:@_a9",
    ]);
  });

  test("@ followed by '[' is the anonymous map with a key", () => {
    expect(toks("BEGIN { @[1] }").slice(2, -1)).toEqual(["MapName:@", "LBracket:[", "IntLit:1", "RBracket:]"]);
  });
});

describe("numbers", () => {
  test("decimal, hexadecimal (either case) and octal are all integer literals", () => {
    expect(toks("BEGIN { 42 0 0x1F 0XaB 017 }").slice(2, -1)).toEqual(["IntLit:42", "IntLit:0", "IntLit:0x1F", "IntLit:0XaB", "IntLit:017"]);
  });

  test("a bad octal literal is still one token (the parser reports it)", () => {
    expect(toks("BEGIN { 09 }").slice(2, -1)).toEqual(["IntLit:09"]);
  });

  test("a tuple index chain: `$t.0.1`", () => {
    expect(toks("BEGIN { $t.0.1 }").slice(2, -1)).toEqual(["Variable:$t", "Dot:.", "IntLit:0", "Dot:.", "IntLit:1"]);
  });
});

describe("strings", () => {
  test("a string with escapes is one token, image as written", () => {
    expect(toks('BEGIN { "a\\"b\\n\\t\\\\" }').slice(2, -1)).toEqual(['StringLit:"a\\"b\\n\\t\\\\"']);
  });

  test("an escaped backslash before the closing quote", () => {
    expect(toks('BEGIN { "a\\\\" x }').slice(2, -1)).toEqual(['StringLit:"a\\\\"', "Ident:x"]);
  });

  test("a string cannot span lines: unterminated up to the newline", () => {
    expect(toks('BEGIN { "abc\n}')).toEqual(["AttachPoint:BEGIN", "LCurly:{", 'UnterminatedString:"abc', "RCurly:}"]);
  });

  test("a string at the end of the text without its quote", () => {
    expect(toks('BEGIN { "abc').slice(2)).toEqual(['UnterminatedString:"abc']);
  });
});

describe("keywords, identifiers and operators", () => {
  test("keywords", () => {
    expect(kinds("BEGIN { if else unroll while return break continue struct }").slice(2, -1)).toEqual([
      "If",
      "Else",
      "Unroll",
      "While",
      "Return",
      "Break",
      "Continue",
      "Struct",
    ]);
  });

  test("a keyword prefix of a longer name is an identifier", () => {
    expect(toks("BEGIN { iffy elsewhere returns structure }").slice(2, -1)).toEqual([
      "Ident:iffy",
      "Ident:elsewhere",
      "Ident:returns",
      "Ident:structure",
    ]);
  });

  test("the longest operator wins", () => {
    expect(toks("BEGIN { <<= >>= << >> <= >= < > == != = }").slice(2, -1).map((s) => s.split(":")[0])).toEqual([
      "ShlAssign",
      "ShrAssign",
      "Shl",
      "Shr",
      "Le",
      "Ge",
      "Lt",
      "Gt",
      "EqEq",
      "NotEq",
      "Assign",
    ]);
    expect(kinds("BEGIN { ++ -- -> += -= *= /= %= &= |= ^= && || }").slice(2, -1)).toEqual([
      "Increment",
      "Decrement",
      "Arrow",
      "PlusAssign",
      "MinusAssign",
      "StarAssign",
      "SlashAssign",
      "PercentAssign",
      "AmpAssign",
      "PipeAssign",
      "CaretAssign",
      "AndAnd",
      "OrOr",
    ]);
  });

  test("operators without spaces", () => {
    expect(toks("BEGIN { $a+++$b }").slice(2, -1)).toEqual(["Variable:$a", "Increment:++", "Plus:+", "Variable:$b"]);
    expect(toks("BEGIN { args->f }").slice(2, -1)).toEqual(["Ident:args", "Arrow:->", "Ident:f"]);
  });

  test("every punctuation token", () => {
    expect(kinds("BEGIN { ( ) [ ] , ; ? : . + - * / % & | ^ ! ~ }").slice(2, -1)).toEqual([
      "LParen",
      "RParen",
      "LBracket",
      "RBracket",
      "Comma",
      "Semicolon",
      "Question",
      "Colon",
      "Dot",
      "Plus",
      "Minus",
      "Star",
      "Slash",
      "Percent",
      "Amp",
      "Pipe",
      "Caret",
      "Bang",
      "Tilde",
    ]);
  });

  test("an unknown character is a lexing error at its offset", () => {
    const r = tokenize("BEGIN { $x = 1 ` }");
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.offset).toBe(15);
    expect(r.tokens.map((t) => t.tokenType.name)).toEqual(["AttachPoint", "LCurly", "Variable", "Assign", "IntLit", "RCurly"]);
  });

  test("token start offsets are exact", () => {
    const t = tokenize("BEGIN {\n  $x = 10;\n}").tokens;
    const x = t.find((k) => k.image === "$x")!;
    expect([x.startOffset, x.image.length]).toEqual([10, 2]);
    expect(t.map((k) => k.startOffset)).toEqual([0, 6, 10, 13, 15, 17, 19]);
  });

  test("tokenizing twice gives the same tokens (no state kept between calls)", () => {
    const text = "BEGIN { if (1) { } } END { x }";
    expect(toks(text)).toEqual(toks(text));
    // A second text after one that ended inside a block starts at depth 0 again.
    toks("BEGIN { {");
    expect(attachPoints("END {}")).toEqual(["END"]);
  });
});
