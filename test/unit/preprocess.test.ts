// Unit tests of the preprocessor part (compiler/preprocess.ts): headers read through an injected
// file system, their conditionals and macros, and macro replacement in scripts (compiler/parser.ts).
import { describe, expect, test } from "vitest";
import type * as A from "../../compiler/ast.js";
import { analyze } from "../../compiler/index.js";
import { macroText, preprocess, type PreprocessOptions } from "../../compiler/preprocess.js";

/** An include search over fake files: /inc is the only directory. */
function fs(files: Record<string, string>): PreprocessOptions {
  return { includeDirs: ["/inc"], scriptDir: "/script", readFile: (p) => files[p] };
}

function value(files: Record<string, string>, includes: string[], name: string, defines: string[] = []): string | undefined {
  const r = preprocess(
    includes.map((n) => ({ name: n, angled: true })),
    defines,
    fs(files),
  );
  expect(r.errors).toEqual([]);
  return macroText(r.macros, name);
}

describe("headers", () => {
  test("nested includes, include guards and integer suffixes", () => {
    const files = {
      "/inc/errno.h": "#ifndef _E\n#define _E 1\n#include <bits/errno.h>\n#include <errno.h>\n#endif\n",
      "/inc/bits/errno.h": "#include <linux/errno.h>\n# ifndef ENOTSUP\n#  define ENOTSUP EOPNOTSUPP\n# endif\n",
      "/inc/linux/errno.h": "#define EPERM 1 /* Operation\n not permitted */\n#define EOPNOTSUPP 95UL // comment\n#define EAGAIN 11\n#define EWOULDBLOCK EAGAIN\n",
    };
    expect(value(files, ["errno.h"], "EPERM")).toBe("1");
    expect(value(files, ["errno.h"], "ENOTSUP")).toBe("95");
    expect(value(files, ["errno.h"], "EWOULDBLOCK")).toBe("11");
  });

  test("conditionals: #if with defined, arithmetic and function-like macros; #elif, #else, #undef", () => {
    const files = {
      "/inc/a.h": [
        "#define PREREQ(maj, min) ((__GNUC__ << 16) + __GNUC_MINOR__ >= ((maj) << 16) + (min))",
        "#if PREREQ(4, 1) && defined(__x86_64__) && !defined NOPE",
        "#define A 1",
        "#elif 1",
        "#define A 2",
        "#else",
        "#define A 3",
        "#endif",
        "#if 0",
        "#define B 1",
        "#elif (3 * 4 == 12) ? 1 : 0",
        "#define B 2",
        "#endif",
        "#define C 1",
        "#undef C",
        "#define USE(F) USE_ ## F",
        "#define USE_X 1",
        "#if USE(X)",
        "#define D 4",
        "#endif",
        "#if 0",
        "#if 1",
        "#define E 1",
        "#endif",
        "#else",
        "#define E 2",
        "#endif",
      ].join("\n"),
    };
    expect(value(files, ["a.h"], "A")).toBe("1");
    expect(value(files, ["a.h"], "B")).toBe("2");
    expect(value(files, ["a.h"], "C")).toBeUndefined();
    expect(value(files, ["a.h"], "D")).toBe("4");
    expect(value(files, ["a.h"], "E")).toBe("2");
  });

  test("#include_next continues the search after the header's directory; #pragma once", () => {
    const files = {
      "/inc/x.h": "#pragma once\n#include_next <x.h>\n#define FIRST 1\n#include <x.h>\n",
      "/usr/local/include/x.h": "#define NEXT 2\n",
    };
    expect(value(files, ["x.h"], "NEXT")).toBe("2");
    expect(value(files, ["x.h"], "FIRST")).toBe("1");
  });

  test('"file" looks in the script\'s directory first', () => {
    const files = { "/script/local.h": "#define L 7\n", "/inc/local.h": "#define L 8\n" };
    const r = preprocess([{ name: "local.h", angled: false }], [], fs(files));
    expect(macroText(r.macros, "L")).toBe("7");
    const angled = preprocess([{ name: "local.h", angled: true }], [], fs(files));
    expect(macroText(angled.macros, "L")).toBe("8");
  });

  test("a missing header is an error; the compiler's own headers are not", () => {
    const r = preprocess([{ name: "lol/no.h", angled: true, span: { start: 9, end: 19 } }, { name: "stddef.h", angled: true }], [], fs({}));
    expect(r.errors).toEqual([{ include: { name: "lol/no.h", angled: true, span: { start: 9, end: 19 } }, message: "'lol/no.h' file not found" }]);
  });

  test("the script's #define lines, expanded through other macros", () => {
    expect(value({}, [], "Y", ["X 5", "Y (X * 2)"])).toBe("( 5 * 2 )");
    expect(value({}, [], "S", ['S "a b"'])).toBe('"a b"');
    expect(value({}, [], "F", ["F(x) x"])).toBeUndefined();
    expect(value({}, [], "R", ["R R"])).toBe("R");
  });
});

describe("scripts", () => {
  function printed(text: string): A.Expr {
    const r = analyze(text);
    expect(r.diagnostics.map((d) => d.message)).toEqual([]);
    return ((r.program.probes[0]!.body[0] as A.ExprStmt).expr as A.CallExpr).args[0]!;
  }

  test("an identifier naming a macro becomes its value, where the identifier was", () => {
    const text = '#define _UNDERSCORE 314\n#define NAME "x"\nBEGIN { print(_UNDERSCORE + 1) }';
    const e = printed(text) as A.BinaryExpr;
    expect(e.left).toMatchObject({ kind: "Int", value: 314n, span: { start: text.indexOf("_UNDERSCORE + 1") } });
    expect(printed('#define NAME "x"\nBEGIN { print(NAME) }')).toMatchObject({ kind: "String", value: "x" });
  });

  test("builtins and functions are not replaced (bpftrace's lexer reads them first)", () => {
    expect(printed("#define pid 5\nBEGIN { print(pid) }")).toMatchObject({ kind: "Ident", name: "pid" });
  });

  test("a missing include is reported at its name; --include too", () => {
    const r = analyze("#include <lol/no.h>\nBEGIN { exit(); }");
    expect(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual(["1:10 'lol/no.h' file not found"]);
    const inc = analyze("BEGIN { exit(); }", { includeFiles: ["bpfts-no-such-header.h"] });
    expect(inc.diagnostics.map((d) => d.message)).toEqual(["'bpfts-no-such-header.h' file not found (--include)"]);
  });
});
