// C struct types: parsing definitions (compiler/cstruct.ts), their System V x86-64 layout, BTF
// (compiler/btf.ts, from a hand-built blob), the checker's member access, dereference, indexing,
// casts, sizeof/offsetof and pointer arithmetic, and how struct, array and pointer values print
// (runtime/format). The layouts were checked against gcc and the printed forms against bpftrace
// 0.17 (see test/kernel/structs.test.ts for the same running for real).
import { describe, expect, test } from "vitest";
import type * as A from "../../compiler/ast.js";
import { Btf } from "../../compiler/btf.js";
import { constantValue } from "../../compiler/check.js";
import { findField, StructRegistry, type KernelTypes } from "../../compiler/cstruct.js";
import { Diagnostics } from "../../compiler/diagnostics.js";
import { analyze, type AnalyzeOptions } from "../../compiler/index.js";
import { parse } from "../../compiler/parser.js";
import { printProgram } from "../../compiler/printer.js";
import { Source } from "../../compiler/source.js";
import { int, pointer, sizeOf, str, typeName, type Type } from "../../compiler/types.js";
import { decodeValue } from "../../runtime/decode.js";
import { jsonValue } from "../../runtime/format/json.js";
import { formatKey, formatMap, formatValue } from "../../runtime/format/text.js";

type StructType = Extract<Type, { kind: "struct" }>;

/** The layout of every struct the script defines, plus the diagnostics. */
function layout(text: string, kernel?: KernelTypes): { structs: Map<string, StructType>; errors: string[] } {
  const source = new Source("stdin", `${text} BEGIN { }`);
  const diags = new Diagnostics(source);
  const { program } = parse(source, {}, diags);
  const reg = new StructRegistry(program.structs, diags, () => kernel);
  reg.checkAll();
  const structs = new Map<string, StructType>();
  for (const d of program.structs) {
    const t = reg.lookup(`${d.union ? "union" : "struct"} ${d.tag}`);
    if (t) structs.set(d.tag, t);
  }
  return { structs, errors: diags.list.map((d) => d.message) };
}

function one(text: string): StructType {
  const { structs, errors } = layout(text);
  expect(errors).toEqual([]);
  return [...structs.values()].pop()!;
}

/** name -> [offset, size] (bit-fields: [bitOffset, bits, "bits"]). */
function offsets(t: StructType): Record<string, unknown[]> {
  return Object.fromEntries(t.fields.map((f) => [f.name, f.bitfield ? [f.bitfield.bitOffset, f.bitfield.bits, "bits"] : [f.offset, sizeOf(f.type)]]));
}

describe("parsing and laying out struct definitions", () => {
  test("integer members are aligned to their size; the size is a multiple of the largest", () => {
    const t = one("struct Foo { char c; int i; short s; long l; char d; };");
    expect(offsets(t)).toEqual({ c: [0, 1], i: [4, 4], s: [8, 2], l: [16, 8], d: [24, 1] });
    expect(t).toMatchObject({ size: 32, align: 8, name: "struct Foo" });
  });

  test("C's type words and the usual typedef names", () => {
    const t = one(
      "struct T { unsigned char a; signed char b; unsigned short c; short int d; unsigned e; long long f; unsigned long int g; uint8_t h; int16_t i; u32 j; __s64 k; size_t l; bool m; const volatile int n; }",
    );
    const types = Object.fromEntries(t.fields.map((f) => [f.name, typeName(f.type)]));
    expect(types).toEqual({
      a: "uint8", b: "int8", c: "uint16", d: "int16", e: "uint32", f: "int64", g: "uint64",
      h: "uint8", i: "int16", j: "uint32", k: "int64", l: "uint64", m: "uint8", n: "int32",
    });
  });

  test("char arrays are strings; other arrays are arrays, multi-dimensional ones nested", () => {
    const t = one("struct A { char s[5]; uint8_t b[3]; int x[2][3]; char names[2][8]; };");
    expect(t.fields.map((f) => typeName(f.type))).toEqual(["string[5]", "uint8[3]", "int32[3][2]", "string[8][2]"]);
    expect(offsets(t)).toMatchObject({ s: [0, 5], b: [5, 3], x: [8, 24], names: [32, 16] });
    expect(t.size).toBe(48);
  });

  test("pointers: to types, to structs by name (even undefined ones), to functions", () => {
    const t = one("struct P { const char *s; struct Node *next; int **pp; void *v; void (*fn)(int, char *); };");
    expect(t.fields.map((f) => typeName(f.type))).toEqual(["int8 *", "struct Node *", "int32 * *", "void *", "void *"]);
    expect(t.size).toBe(40);
  });

  test("a struct may point to itself", () => {
    const t = one("struct Node { int v; struct Node *next; };");
    expect(t.fields[1]!.type).toEqual(pointer("struct Node"));
  });

  test("nested structs, anonymous and named, and anonymous members", () => {
    const { structs, errors } = layout("struct Foo { int m; struct { int x; int y; } bar; struct In { char c; long d; } in; union { int q; char r; }; int n; }");
    expect(errors).toEqual([]);
    const foo = structs.get("Foo")!;
    expect(offsets(foo)).toMatchObject({ m: [0, 4], bar: [4, 8], in: [16, 16], "": [32, 4], n: [36, 4] });
    expect(foo.size).toBe(40);
    expect(foo.fields[1]!.type).toMatchObject({ kind: "struct", name: "struct Foo::(anonymous at 1:21)" });
    // A tagged nested definition is usable on its own.
    expect(structs.get("In")).toMatchObject({ size: 16, align: 8 });
    // Members of an anonymous member are found by name, at their offset in the outer struct.
    expect(findField(foo, "r")).toMatchObject({ offset: 32 });
    expect(findField(foo, "nope")).toBeUndefined();
  });

  test("the last member's ';' and the one after '}' may be left out", () => {
    const { structs, errors } = layout("struct x {unsigned long x} struct y { struct { int m[1] } y; int z }");
    expect(errors).toEqual([]);
    expect(structs.get("x")!.size).toBe(8);
    expect(structs.get("y")!.size).toBe(8);
  });

  test("bit-fields pack into units of their type, never straddling one", () => {
    // bitfield_test.c's struct Bar, as gcc lays it out.
    const t = one("struct Bar { short a:4, b:8, c:3, d:1; int e:9, f:15, g:1, h:2, i:5 }");
    expect(offsets(t)).toEqual({
      a: [0, 4, "bits"], b: [4, 8, "bits"], c: [12, 3, "bits"], d: [15, 1, "bits"],
      e: [16, 9, "bits"], f: [32, 15, "bits"], g: [47, 1, "bits"], h: [48, 2, "bits"], i: [50, 5, "bits"],
    });
    expect(t).toMatchObject({ size: 8, align: 4 });
    const u = one("struct Foo { unsigned int a:4, b:8, c:3, d:1, e:16; }");
    expect(u.size).toBe(4);
    // A zero-width bit-field ends the unit; the next member starts after the bits used.
    expect(offsets(one("struct Z { char a:3; int :0; char b:2; char c; }"))).toEqual({ a: [0, 3, "bits"], b: [32, 2, "bits"], c: [5, 1] });
  });

  test("unions: every member at offset 0", () => {
    const t = one("union U { char c; long l; int a[3]; }");
    expect(offsets(t)).toEqual({ c: [0, 1], l: [0, 8], a: [0, 12] });
    expect(t).toMatchObject({ name: "union U", size: 16, align: 8 });
  });

  test.each([
    ["struct S { foo_t x; }", "unknown type name 'foo_t'"],
    ["struct S { int a; int a; }", "duplicate member 'a'"],
    ["struct S { char c:9; }", "width of bit-field 'c' (9 bits) exceeds its type (8 bits)"],
    ["struct S { int *p:3; }", "bit-field 'p' must have an integer type"],
    ["struct S { struct T t; }", "struct T is not defined"],
    ["struct S { int a }; struct S { int b }", "struct S is defined twice"],
    ["struct S { int a b; }", "expected ';' after a struct member, found 'b'"],
    ["struct S { int [3]; }", "expected a member name, found ';'"],
  ])("%s: %s", (text, message) => {
    expect(layout(text).errors).toEqual([message]);
  });

  test("a definition that cannot be parsed does not hide the probes after it", () => {
    const r = analyze("struct S { int a b; } BEGIN { printf(\"%s\", 1) }");
    expect(r.diagnostics.map((d) => d.message)).toEqual(["expected ';' after a struct member, found 'b'", "printf: '%s' expects a string, but the argument is int64"]);
  });

  test("printing a program keeps its definitions", () => {
    const text = "struct Foo { int m; char s[8]; struct { int x; } in; unsigned int b:3; struct Foo *next; int y[2][3]; };\nBEGIN { exit() }";
    const printed = printProgram(parse(new Source("stdin", text)).program);
    expect(printed).toBe(
      "struct Foo { int m; char s[8]; struct { int x; } in; unsigned int b:3; struct Foo *next; int y[2][3]; };\n\nBEGIN\n{\n    exit();\n}\n",
    );
  });
});

// ---- the checker -------------------------------------------------------------------------------

const UPROBE = "uprobe:/bin/sh:main";
/** A kernel with one struct task_struct { int pid; char comm[16]; struct task_struct *parent; }. */
const KERNEL: KernelTypes = {
  record: (name) =>
    name === "struct task_struct"
      ? {
          kind: "struct",
          name,
          size: 32,
          align: 8,
          fields: [
            { name: "pid", type: int(4, true), offset: 0 },
            { name: "comm", type: str(16), offset: 4 },
            { name: "parent", type: pointer("struct task_struct", "kernel"), offset: 24 },
          ],
        }
      : undefined,
  typedef: (name) => (name === "pid_t" ? int(4, true) : undefined),
};

function run(text: string, options: AnalyzeOptions = {}) {
  return analyze(text, { kernelTypes: () => KERNEL, ...options });
}

function errors(text: string, options: AnalyzeOptions = {}): string[] {
  return run(text, options)
    .diagnostics.filter((d) => d.severity === "error")
    .map((d) => d.message);
}

/** The type of the value assigned last in the first probe. */
function assigned(text: string): string {
  const r = run(text);
  expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
  const body = r.program.probes[0]!.body;
  return typeName((body[body.length - 1] as A.AssignStmt).value.type!);
}

const FOO = "struct Foo { int m; char s[8]; struct { int x; int y; } bar; int a[4]; struct Foo *next; unsigned int b:3; }";

describe("checking member access, dereference and indexing", () => {
  test.each([
    ["$p->m", "int32"],
    ["$p->s", "string[8]"],
    ["$p->bar", "struct Foo::(anonymous at 1:32)"],
    ["$p->bar.y", "int32"],
    ["$p->a", "int32[4]"],
    ["$p->a[3]", "int32"],
    ["$p->s[1]", "int8"],
    ["$p->next", "struct Foo *"],
    ["$p->next->next->m", "int32"],
    ["$p->b", "uint32"],
    ["*$p", "struct Foo"],
    ["(*$p).m", "int32"],
    ["$p[1]", "struct Foo"],
    ["$p[1].bar.x", "int32"],
    ["$p + 1", "struct Foo *"],
    ["2 + $p", "struct Foo *"],
    ["$p - 1", "struct Foo *"],
    ["(uint64)$p", "uint64"],
    ["$p == 0", "int64"],
    ["*(int32 *)arg1", "int32"],
    ["((int8 *)arg1)[7]", "int8"],
  ])("%s: %s", (expr, type) => {
    expect(assigned(`${FOO} ${UPROBE} { $p = (struct Foo *)arg0; $v = ${expr} }`)).toBe(type);
  });

  test.each([
    ["$p.m", "'.m' needs a struct, but this is struct Foo * (use '->' for a pointer)"],
    ["$p->nope", "struct Foo has no member named 'nope'"],
    ["(*$p)->m", "'->m' needs a pointer to a struct, but this is struct Foo"],
    ["$p->a[4]", "index 4 is out of bounds for int32[4]"],
    ["$p->m[0]", "cannot index int32: only arrays, pointers and strings can be indexed"],
    ["$p->a[\"x\"]", "an index must be an integer, but this is string[2]"],
    ["*$p->m", "'*' needs a pointer, but this is int32"],
    ["*ctx", "cannot dereference void *: cast it to a pointer to a type first"],
    ["$p + $p", "'+' cannot be used on two pointers (struct Foo *, struct Foo *)"],
    ["1 - $p", "cannot subtract a pointer from an integer"],
    ["(struct Bar *)$p", "unknown type: struct Bar (not defined in the script, nor in the kernel's BTF)"],
  ])("%s: %s", (expr, message) => {
    expect(errors(`${FOO} ${UPROBE} { $p = (struct Foo *)arg0; $v = ${expr} }`)).toEqual([message]);
  });

  test("a pointer and an integer do not share a variable", () => {
    expect(errors(`${FOO} ${UPROBE} { $p = (struct Foo *)arg0; $p = 1 }`)).toEqual(["type mismatch: $p holds struct Foo *, but this is int64"]);
  });

  test("maps keep pointer types (values and keys), and hold structs and arrays", () => {
    const r = run(`${FOO} BEGIN { @p = (struct Foo *)0; @k[(struct Foo *)0] = 1; @s = *@p; @a = @p->a; @x = @p->bar.x }`);
    expect(r.ok).toBe(true);
    const maps = r.symbols!.maps;
    expect(typeName(maps.get("p")!.value!)).toBe("struct Foo *");
    expect(typeName(maps.get("k")!.keys![0]!)).toBe("struct Foo *");
    expect(typeName(maps.get("s")!.value!)).toBe("struct Foo");
    expect(typeName(maps.get("a")!.value!)).toBe("int32[4]");
    expect(typeName(maps.get("x")!.value!)).toBe("int64");
  });

  test("curtask is a pointer to the kernel's task_struct, or the script's own", () => {
    expect(assigned("BEGIN { $t = curtask }")).toBe("struct task_struct *");
    expect(assigned("BEGIN { $t = curtask->parent->comm }")).toBe("string[16]");
    expect(assigned("struct task_struct { int x; } BEGIN { $t = curtask->x }")).toBe("int32");
    expect(errors("BEGIN { $t = curtask->x }")).toEqual(["struct task_struct has no member named 'x'"]);
    const noBtf = analyze("BEGIN { $t = curtask }", { kernelTypes: () => undefined });
    expect(typeName((noBtf.program.probes[0]!.body[0] as A.AssignStmt).value.type!)).toBe("uint64");
  });

  test("pointers read through kernel pointers are kernel pointers; casts keep the address space", () => {
    const r = run("struct x { long a; struct x *n; } BEGIN { $a = ((struct x *)ctx)->n; $b = (struct x *)curtask; $c = (struct x *)arg0 }", {});
    const body = r.program.probes[0]!.body as A.AssignStmt[];
    expect(body.map((s) => (s.value.type as { ptr?: { as?: string } }).ptr?.as)).toEqual(["kernel", "kernel", undefined]);
  });

  test("kernel typedefs name types in definitions", () => {
    expect(assigned("struct S { pid_t p; } BEGIN { $x = ((struct S *)0)->p }")).toBe("int32");
  });
});

describe("sizeof and offsetof", () => {
  function value(expr: string, pre = ""): bigint | undefined {
    const r = run(`${pre} BEGIN { $v = ${expr} }`);
    expect(r.diagnostics.map((d) => d.message)).toEqual([]);
    const body = r.program.probes[0]!.body;
    return constantValue((body[body.length - 1] as A.AssignStmt).value, []);
  }

  test.each([
    ["sizeof(uint8)", 1n],
    ["sizeof(int16)", 2n],
    ["sizeof(uint32)", 4n],
    ["sizeof(int64)", 8n],
    ["sizeof(struct task_struct)", 32n],
    ["sizeof(1 == 1)", 8n],
    ["sizeof(\"abc\")", 4n],
    ["sizeof(comm)", 16n],
    ["sizeof(((int8) 1, (int64) 1, (int8) 1, (int64) 1))", 32n],
    ["sizeof(((int8) 1, (int16) 1, (int32) 1))", 8n],
    ["sizeof(((int32) 1, (int16) 1, (int8) 1))", 8n],
    ["sizeof(((int8)-100, (int8) 100, \"abcdef\", 3, (int32) 1, (int64)-10, (int8)10, (int16)-555, \"abc\"))", 48n],
  ])("%s = %s", (expr, size) => {
    expect(value(expr)).toBe(size);
  });

  test("of script structs, their members and tuples holding them", () => {
    const pre = "struct Foo { int x; char c; } struct A { int x[4]; }";
    expect(value("sizeof(struct Foo)", pre)).toBe(8n);
    expect(value("sizeof((*(struct Foo*)0).x)", pre)).toBe(4n);
    expect(value("sizeof((*(struct Foo*)0).c)", pre)).toBe(1n);
    expect(value("sizeof(((int32)1, *(struct Foo *)0))", pre)).toBe(12n);
    expect(value("sizeof(((int32)1, ((struct A *)0)->x))", pre)).toBe(20n);
    expect(value("sizeof((struct Foo *)0)", pre)).toBe(8n);
    expect(value("offsetof(struct Foo, c)", pre)).toBe(4n);
  });

  test("errors", () => {
    expect(errors("BEGIN { $v = sizeof(struct nope) }", { kernelTypes: () => undefined })).toEqual([
      "unknown type: struct nope (not defined in the script, and the kernel's BTF is not readable)",
    ]);
    expect(errors("struct S { int a; } BEGIN { $v = offsetof(struct S, b) }")).toEqual(["struct S has no member named 'b'"]);
    expect(errors("BEGIN { $v = sizeof(exit()) }")).toEqual(["sizeof: void has no size"]);
  });
});

describe("macaddr", () => {
  test("takes 6-byte arrays and pointers", () => {
    expect(assigned("struct M { char mac[6]; uint8_t m2[8]; } BEGIN { $p = (struct M *)0; $a = macaddr($p->mac); $b = macaddr($p->m2); $c = macaddr($p) }")).toBe("string[18]");
    expect(errors("struct M { char mac[4]; int m2[6]; } BEGIN { $p = (struct M *)0; $a = macaddr($p->mac); $b = macaddr($p->m2); $c = macaddr(1) }")).toEqual([
      "macaddr: expects an array of at least 6 bytes or a pointer, but the argument is string[4]",
      "macaddr: expects an array of at least 6 bytes or a pointer, but the argument is int32[6]",
      "macaddr: expects an array of at least 6 bytes or a pointer, but the argument is int64",
    ]);
  });
});

describe("uaddr, uptr, kptr", () => {
  test("uptr and kptr set a pointer's address space", () => {
    const r = run(`struct x { long a; } ${UPROBE} { $u = uptr((struct x *)curtask); $k = kptr((struct x *)arg0); $i = kptr(1) }`);
    expect(r.ok).toBe(true);
    const body = r.program.probes[0]!.body as A.AssignStmt[];
    expect(body.map((s) => [typeName(s.value.type!), (s.value.type as { ptr?: { as?: string } }).ptr?.as])).toEqual([
      ["struct x *", "user"],
      ["struct x *", "kernel"],
      ["int64", undefined],
    ]);
  });

  test("uaddr: only in user-space probes, symbols of the probe's binary", () => {
    expect(errors('BEGIN { $a = uaddr("x") }')).toEqual(["uaddr() is only valid in uprobe, uretprobe and usdt probes, not in BEGIN"]);
    expect(errors(`${UPROBE} { $a = uaddr("no_such_symbol_here") }`)[0]).toMatch(/^uaddr: no symbol 'no_such_symbol_here' in \//);
    expect(errors(`${UPROBE} { $a = uaddr(comm) }`)).toEqual(["uaddr's symbol must be a string literal"]);
  });
});

// ---- BTF ---------------------------------------------------------------------------------------

const info = (kind: number, vlen = 0, kindFlag = false) => (kind << 24) | vlen | (kindFlag ? 1 << 31 : 0);

describe("BTF", () => {
  /**
   * A little-endian BTF blob: 1 int, 2 char, 3 char[16], 4 pointer to 5, 5 struct task { pid_t
   * pid; int flags:3; char comm[16]; struct task *parent; union { int a; char b; }; enum st; }
   * (bit-fields with kind_flag), 6 typedef pid_t, 7 const pid_t, 8 the union, 9 enum state.
   */
  const named = {
    names: ["pid", "flags", "comm", "parent", "", "st"],
    types: [
      ["int", info(1), 4, [(1 << 24) | 32]],
      ["char", info(1), 1, [(2 << 24) | 8]],
      ["", info(3), 0, [2, 1, 16]],
      ["", info(2), 5, []],
      ["task", info(4, 6, true), 40, []],
      ["pid_t", info(8), 1, []],
      ["", info(10), 6, []],
      ["", info(5, 2), 4, []],
      ["state", info(6, 1), 4, [0, 0]],
    ] as Array<[string, number, number, number[]]>,
  };

  function build(): Btf {
    // Strings are interned by the builder: member names and union members go through strOff.
    const { names, types } = named;
    const strs = new Map<string, number>();
    let strBytes = "\0";
    const s = (x: string) => {
      if (x === "") return 0;
      if (!strs.has(x)) {
        strs.set(x, strBytes.length);
        strBytes += x + "\0";
      }
      return strs.get(x)!;
    };
    const words: number[] = [];
    const memberTypes = [7, 1, 3, 4, 8, 9];
    const memberOffsets = [0, (3 << 24) | 32, 64, 192, 256, 288];
    for (const [name, inf, sot, extra] of types) {
      words.push(s(name), inf, sot, ...extra);
      if (name === "task") names.forEach((n, i) => words.push(s(n), memberTypes[i]!, memberOffsets[i]!));
      if (inf === info(5, 2)) words.push(s("a"), 1, 0, s("b"), 2, 0);
    }
    const typeBytes = Buffer.alloc(words.length * 4);
    words.forEach((w, i) => typeBytes.writeUInt32LE(w >>> 0, i * 4));
    const strBuf = Buffer.from(strBytes, "latin1");
    const hdr = Buffer.alloc(24);
    hdr.writeUInt16LE(0xeb9f, 0);
    hdr.writeUInt8(1, 2);
    hdr.writeUInt32LE(24, 4);
    hdr.writeUInt32LE(typeBytes.length, 12);
    hdr.writeUInt32LE(typeBytes.length, 16);
    hdr.writeUInt32LE(strBuf.length, 20);
    return Btf.parse(new Uint8Array(Buffer.concat([hdr, typeBytes, strBuf])));
  }

  test("structs: members, bit-fields, char arrays, pointers by name, anonymous unions, enums", () => {
    const btf = build();
    expect(btf.typeCount).toBe(9);
    const t = btf.record("struct task") as StructType;
    expect(t).toMatchObject({ name: "struct task", size: 40, align: 8 });
    expect(t.fields.map((f) => [f.name, typeName(f.type), f.offset, f.bitfield?.bits])).toEqual([
      ["pid", "int32", 0, undefined],
      ["flags", "int32", 4, 3],
      ["comm", "string[16]", 8, undefined],
      ["parent", "struct task *", 24, undefined],
      ["", "union (anonymous #8)", 32, undefined],
      ["st", "uint32", 36, undefined],
    ]);
    expect((t.fields[3]!.type as { ptr: { as: string } }).ptr.as).toBe("kernel");
    // The kernel's char has no sign flag in BTF.
    expect(findField(t, "b")).toMatchObject({ offset: 32, type: int(1, false) });
    expect(btf.typedef("pid_t")).toEqual(int(4, true));
    expect(btf.record("struct nope")).toBeUndefined();
  });

  test("not BTF", () => {
    expect(() => Btf.parse(new Uint8Array(32))).toThrow(/bad magic/);
  });
});

// ---- printing ----------------------------------------------------------------------------------

describe("printing struct, array and pointer values as bpftrace 0.17 does", () => {
  const inner: Type = { kind: "struct", name: "struct (anonymous)", size: 16, align: 8, fields: [{ name: "c", type: int(1, true), offset: 0 }, { name: "d", type: int(8, true), offset: 8 }] };
  const S: Type = {
    kind: "struct",
    name: "struct Foo",
    size: 48,
    align: 8,
    fields: [
      { name: "m", type: int(4, true), offset: 0 },
      { name: "s", type: str(4), offset: 4 },
      { name: "z", type: { kind: "array", elem: int(2, true), count: 3 }, offset: 8 },
      { name: "in", type: inner, offset: 16 },
      { name: "p", type: pointer(int(4, true)), offset: 32 },
      { name: "", type: { kind: "struct", name: "union (anonymous)", size: 4, align: 4, fields: [{ name: "u", type: int(4, false), offset: 0 }] }, offset: 40 },
    ],
  };
  const value = [2n, new Uint8Array([104, 105]), [1n, -2n, 3n], [0n, 7n], 0xffffffff12345678n, [9n]];

  test("values", () => {
    expect(formatValue(S, value)).toBe("{ .m = 2, .s = hi, .z = [1,-2,3], .in = { .c = 0, .d = 7 }, .p = -3989547400, .u = 9 }");
    expect(formatValue({ kind: "array", elem: { kind: "array", elem: int(4, true), count: 2 }, count: 2 }, [[5n, 6n], [7n, 8n]])).toBe("[[5,6],[7,8]]");
    expect(formatValue({ kind: "array", elem: str(3), count: 2 }, [new Uint8Array(0), new Uint8Array(0)])).toBe("[,]");
    expect(formatValue({ kind: "tuple", elems: [int(8, true), S] }, [1n, value])).toBe(
      "(1, { .m = 2, .s = hi, .z = [1,-2,3], .in = { .c = 0, .d = 7 }, .p = -3989547400, .u = 9 })",
    );
  });

  test("keys: compact, pointers in hex", () => {
    expect(formatKey(S, value)).toBe("{.m=2,.s=hi,.z=[1,-2,3],.in={.c=0,.d=7},.p=0xffffffff12345678,.u=9}");
    expect(formatKey(pointer("struct Foo"), 7n)).toBe("0x7");
    expect(formatMap("@c", [pointer("struct Foo")], int(8, true), [{ key: [0n], value: 1n }])).toBe("@c[0x0]: 1\n");
    expect(formatMap("@b", [], pointer("struct Foo"), [{ key: [], value: 0xffffffff12345678n }])).toBe("@b: -3989547400\n");
  });

  test("JSON", () => {
    expect(jsonValue(S, value)).toBe('{ "m": 2, "s": "hi", "z": [1,-2,3], "in": { "c": 0, "d": 7 }, "p": -3989547400, "u": 9 }');
    expect(jsonValue({ kind: "array", elem: str(3), count: 2 }, [new Uint8Array(0), new Uint8Array(0)])).toBe('["",""]');
  });

  test("decoding: bit-fields print as bpftrace 0.17 prints them (their type's bytes from their first byte)", () => {
    const { structs } = layout("struct Bar { short a:4, b:8, c:3, d:1; int e:9, f:15, g:1, h:2, i:5 }");
    const bar = structs.get("Bar")!;
    // bitfield_test.c's bar = { 1, 217, 5, 1, 500, 31117, 1, 2, 27 }, as gcc stores it.
    const bytes = new Uint8Array([0x91, 0xdd, 0xf4, 0x01, 0x8d, 0xf9, 0x6e, 0x00]);
    const v = decodeValue(bar, bytes);
    expect(formatValue(bar, v)).toBe("{ .a = -8815, .b = -8815, .c = -2851, .d = -2851, .e = -108199436, .f = 7272845, .g = 28409, .h = 110, .i = 110 }");
  });
});
