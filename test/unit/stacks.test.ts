// ustack and kstack without the kernel: their types, the stack maps and code the compiler makes,
// the value encoding, text and JSON formatting, decoding through a stack reader, and kernel
// symbols from a kallsyms text. test/kernel/stacks.test.ts runs them for real, against bpftrace.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type * as A from "../../compiler/ast.js";
import { STACK_ID_BITS, STACK_MAP_ENTRIES } from "../../compiler/codegen/maps.js";
import { compile, disassembleProgram } from "../../compiler/compile.js";
import { analyze } from "../../compiler/index.js";
import { parseTracepointFormat, type FormatLookup } from "../../compiler/probes/tracepoint-format.js";
import { typeName, unify, type Type } from "../../compiler/types.js";
import { decodeRecord, decodeValue } from "../../runtime/decode.js";
import { jsonValue } from "../../runtime/format/json.js";
import { formatMap, formatValue } from "../../runtime/format/text.js";
import type { Symbolizer } from "../../runtime/format/values.js";
import { KernelSymbols, parseKallsyms, splitStackValue, stackReader } from "../../runtime/stacks.js";

const GETPID = `name: sys_enter_getpid
ID: 1
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:int __syscall_nr;	offset:8;	size:4;	signed:1;

print fmt: ""
`;
const tracepointFormat = (category: string, name: string): FormatLookup =>
  category === "syscalls" && name === "sys_enter_getpid" ? { found: parseTracepointFormat(GETPID) } : { missing: true };

function errors(text: string): string[] {
  return analyze(text, { tracepointFormat }).diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
}

function typeOf(expr: string, probe = "BEGIN"): Type {
  const r = analyze(`${probe} { ${expr}; }`, { tracepointFormat });
  expect(r.diagnostics.map((d) => d.message)).toEqual([]);
  const body = r.program.probes[0]!.body;
  return (body[body.length - 1] as A.ExprStmt).expr.type!;
}

function compiled(text: string) {
  const r = compile(text, { tracepointFormat });
  if (r.script === undefined) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return r.script;
}

const ustack = (limit = 127, mode?: "perf"): Type => (mode ? { kind: "ustack", limit, mode } : { kind: "ustack", limit });
const kstack = (limit = 127, mode?: "perf"): Type => (mode ? { kind: "kstack", limit, mode } : { kind: "kstack", limit });

describe("types", () => {
  test("kstack and ustack: builtins and calls, mode and frame limit in the type", () => {
    expect(typeOf("kstack")).toEqual(kstack());
    expect(typeOf("kstack()")).toEqual(kstack());
    expect(typeOf("kstack(5)")).toEqual(kstack(5));
    expect(typeOf("kstack(perf)")).toEqual(kstack(127, "perf"));
    expect(typeOf("kstack(bpftrace, 3)")).toEqual(kstack(3));
    expect(typeOf("ustack(perf, 10)")).toEqual(ustack(10, "perf"));
    expect(typeName(kstack(3, "perf"))).toBe("kstack");
  });

  test("valid in every probe type; bad arguments as for ustack", () => {
    for (const probe of ["BEGIN", "END", "interval:ms:10", "profile:hz:99", "tracepoint:syscalls:sys_enter_getpid", "uprobe:/bin/sh:main"]) {
      expect(errors(`${probe} { print(kstack); print(ustack(perf, 2)); }`)).toEqual([]);
    }
    expect(errors("BEGIN { print(kstack(foo)) }")).toEqual(["kstack: unknown mode 'foo': expected bpftrace or perf"]);
    expect(errors("BEGIN { print(kstack(0)) }")).toEqual(["kstack: the frame count must be between 1 and 127"]);
    expect(errors("BEGIN { print(kstack(1, 2)) }")).toEqual(["kstack: the first of two arguments is the mode, bpftrace or perf"]);
    expect(errors("BEGIN { print(kstack(perf, 1, 2)) }")).toEqual(["kstack() takes 0 to 2 arguments, but 3 are given"]);
  });

  test("map keys, values, tuples, printf %s; not integers", () => {
    expect(errors('BEGIN { @a[kstack] = count(); @b[ustack(3), 1] = 1; @c = kstack; @d = (1, ustack); $v = kstack(2); printf("%s %s\\n", ustack, $v); }')).toEqual([]);
    expect(errors('BEGIN { printf("%d\\n", kstack) }')).toHaveLength(1);
    expect(errors("BEGIN { $x = kstack + 1 }")).toHaveLength(1);
  });

  test("a slot holds one kind of stack: the larger limit, the first one's mode", () => {
    expect(unify(ustack(3), ustack(5, "perf"))).toEqual(ustack(5));
    expect(unify(ustack(5, "perf"), ustack(3))).toEqual(ustack(5, "perf"));
    expect(unify(kstack(3), kstack(2))).toEqual(kstack(3));
    expect(unify(kstack(3), ustack(3))).toBeUndefined();
    expect(errors("BEGIN { @s[1] = ustack; @s[2] = kstack; }")).toEqual(["type mismatch: @s holds ustack, but this is kstack"]);
  });
});

describe("code", () => {
  test("one stack map per frame limit, shared by ustack, kstack and both modes, sized as bpftrace's", () => {
    const s = compiled("BEGIN { @a = ustack; @b = kstack(perf); @c = ustack(5); @d = kstack(perf, 5); @e[ustack(2)] = count(); }");
    const stacks = s.maps.filter((m) => m.kind === "stack_trace");
    expect(stacks.map((m) => [m.name, m.keySize, m.valueSize, m.maxEntries, m.stack])).toEqual([
      [".stack_127", 4, 127 * 8, STACK_MAP_ENTRIES, { limit: 127, ordinal: 0 }],
      [".stack_5", 4, 40, STACK_MAP_ENTRIES, { limit: 5, ordinal: 1 }],
      [".stack_2", 4, 16, STACK_MAP_ENTRIES, { limit: 2, ordinal: 2 }],
    ]);
    expect(STACK_MAP_ENTRIES).toBe(131072);
    expect(1 << STACK_ID_BITS).toBe(STACK_MAP_ENTRIES);
  });

  test("bpf_get_stackid: BPF_F_USER_STACK and the thread id for ustack; the map's ordinal above the id", () => {
    const s = compiled("BEGIN { @a = kstack; @b = ustack(3); }");
    const asm = disassembleProgram(s, s.programs[0]!);
    const calls = asm.split("\n").filter((l) => /call bpf_get_stackid#27|r3 = (0|256)$|\|= 131072|<<= 32/.test(l));
    expect(calls.map((l) => l.replace(/^\d+: \([0-9a-f]{2}\) /, ""))).toEqual([
      "r3 = 0",
      "call bpf_get_stackid#27",
      "r3 = 256",
      "call bpf_get_stackid#27",
      expect.stringMatching(/^r\d \|= 131072$/),
      expect.stringMatching(/^r\d <<= 32$/),
    ]);
  });
});

describe("func in uretprobes", () => {
  let dir = "";
  let bin = "";
  beforeAll(() => {
    try {
      dir = mkdtempSync(join(tmpdir(), "bpfts-unit-func-"));
      writeFileSync(join(dir, "t.c"), "int f1(int x) { return x + 1; }\nint f2(int x) { return f1(x) * 2; }\nint main(void) { return f2(1); }\n");
      execFileSync("gcc", ["-O0", "-o", join(dir, "t"), join(dir, "t.c")], { stdio: "pipe" });
      bin = join(dir, "t");
    } catch {
      bin = "";
    }
  });
  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  test("bpf_get_func_ip in a uretprobe (the ip is the return address there); the ip in a uprobe", () => {
    if (bin === "") return; // no gcc
    const ret = compiled(`uretprobe:${bin}:f* { @[func] = count(); }`);
    expect(ret.programs.length).toBeGreaterThanOrEqual(2);
    for (const p of ret.programs) expect(disassembleProgram(ret, p)).toContain("call bpf_get_func_ip#173");
    // Every function of the wildcard gets the same bytes: one multi-uprobe link attaches them all.
    for (const p of ret.programs) expect(Buffer.from(p.bytecode).equals(Buffer.from(ret.programs[0]!.bytecode))).toBe(true);
    const entry = compiled(`uprobe:${bin}:f1 { @[func] = count(); }`);
    const asm = disassembleProgram(entry, entry.programs[0]!);
    expect(asm).not.toContain("bpf_get_func_ip");
    expect(asm).toMatch(/= \*\(u64 \*\)\(r\d \+128\)/);
  });
});

describe("the stack value", () => {
  test("split: id and map ordinal, or the error; the thread id above", () => {
    expect(splitStackValue((1234n << 32n) | 77n)).toEqual({ id: 77, ordinal: 0, pid: 1234 });
    expect(splitStackValue((99n << 32n) | (2n << BigInt(STACK_ID_BITS)) | 5n)).toEqual({ id: 5, ordinal: 2, pid: 99 });
    // A failed bpf_get_stackid: the sign-extended error fills all 64 bits, as in bpftrace.
    expect(splitStackValue(BigInt.asUintN(64, -14n))).toEqual({ id: -14, ordinal: 0, error: -14, pid: -1 });
  });

  test("stackReader: -EFAULT reads as nothing, silently; other errors are reported as bpftrace words them", () => {
    const messages: string[] = [];
    const read = stackReader([], (m) => messages.push(m));
    expect(read({ kind: "kstack", limit: 5 }, BigInt.asUintN(64, -14n))).toBeNull();
    expect(messages).toEqual([]);
    expect(read({ kind: "ustack", limit: 5 }, BigInt.asUintN(64, -17n))).toBeNull();
    expect(messages).toEqual(["failed to look up stack id -17 (pid -1): -2"]);
  });

  test("decoding needs a stack reader; records and map values go through it", () => {
    const b = new Uint8Array(16);
    new DataView(b.buffer).setBigUint64(8, (42n << 32n) | 3n, true);
    expect(() => decodeValue(ustack(4), b, 8)).toThrow(/ustack/);
    const seen: Array<[string, bigint]> = [];
    const reader = (t: Extract<Type, { kind: "ustack" | "kstack" }>, raw: bigint) => {
      seen.push([t.kind, raw]);
      return { frames: [0x10n, 0x20n], pid: 42, raw };
    };
    expect(decodeValue(ustack(4), b, 8, [], reader)).toEqual({ frames: [0x10n, 0x20n], pid: 42, raw: (42n << 32n) | 3n });
    const rec = decodeRecord([{ kind: "print_value", value: { type: kstack(2), offset: 0 }, size: 8 }], [], b, reader);
    expect(rec.values).toEqual([{ frames: [0x10n, 0x20n], pid: 42, raw: (42n << 32n) | 3n }]);
    expect(seen).toEqual([
      ["ustack", (42n << 32n) | 3n],
      ["kstack", (42n << 32n) | 3n],
    ]);
  });
});

describe("text and JSON", () => {
  const calls: Array<Parameters<Symbolizer>[1]> = [];
  const symbolize: Symbolizer = (addr, info) => {
    calls.push(info);
    if (addr === 0xdeadn) return undefined;
    const name = info.kernel ? `k_${addr.toString(16)}` : `u_${addr.toString(16)}`;
    return info.offset ? `${name}+${Number(addr & 0xfn)}${info.module ? " (/bin/t)" : ""}` : name;
  };

  test("bpftrace mode: a newline, then a frame a line (indent 8; 4 in keys); the pid goes to the symbolizer", () => {
    calls.length = 0;
    const v = { frames: [0x11n, 0x22n, 0xdeadn], pid: 7 };
    expect(formatValue(ustack(), v, { symbolize })).toBe("\n        u_11+1\n        u_22+2\n        0xdead\n");
    expect(calls[0]).toEqual({ offset: true, pid: 7 });
    expect(formatValue(ustack(2), v, { symbolize })).toBe("\n        u_11+1\n        u_22+2\n");
    expect(formatValue(kstack(), { frames: [0xffffffff81000130n] }, { symbolize })).toBe("\n        k_ffffffff81000130+0\n");
    expect(calls.at(-1)).toEqual({ offset: true, kernel: true });
    expect(formatMap("@", [kstack()], { kind: "agg", agg: "count", signed: false }, [{ key: [{ frames: [0x31n] }], value: 3n }], { symbolize })).toBe("@[\n    k_31+1\n]: 3\n");
  });

  test("perf mode: a tab and the hex address; user frames with the file, or ([unknown])", () => {
    const v = { frames: [0x55d0c3b4a149n, 0xdeadn], pid: 7 };
    expect(formatValue(ustack(127, "perf"), v, { symbolize })).toBe("\n\t55d0c3b4a149 u_55d0c3b4a149+9 (/bin/t)\n\tdead 0xdead ([unknown])\n");
    expect(formatValue(kstack(127, "perf"), { frames: [0xffffffff81000130n, 0xdeadn] }, { symbolize })).toBe("\n\tffffffff81000130 k_ffffffff81000130+0\n\tdead 0xdead\n");
    // Keys too: perf mode has no indentation.
    expect(formatMap("@", [ustack(127, "perf")], { kind: "agg", agg: "count", signed: false }, [{ key: [v], value: 1n }], { symbolize })).toBe(
      "@[\n\t55d0c3b4a149 u_55d0c3b4a149+9 (/bin/t)\n\tdead 0xdead ([unknown])\n]: 1\n",
    );
  });

  test("an unreadable stack prints nothing; stack-valued maps join entries with nothing", () => {
    expect(formatValue(kstack(), null)).toBe("");
    expect(formatMap("@k", [{ kind: "int", size: 8, signed: true }], kstack(2), [
      { key: [1n], value: null },
      { key: [2n], value: { frames: [0x10n] } },
    ])).toBe("@k[1]: @k[2]: \n        0x10\n\n");
  });

  test("JSON: a stack is its text, as a string", () => {
    expect(jsonValue(ustack(2), { frames: [0x11n, 0x22n], pid: 1 }, 1n, { symbolize })).toBe(String.raw`"\n        u_11+1\n        u_22+2\n"`);
    expect(jsonValue(kstack(1, "perf"), { frames: [0x11n] }, 1n, { symbolize })).toBe(String.raw`"\n\t11 k_11+1\n"`);
  });
});

describe("kernel symbols", () => {
  const KALLSYMS = [
    "0000000000000000 A fixed_percpu_data",
    "ffffffff81000000 T _text",
    "ffffffff81000000 T startup_64",
    "ffffffff81000100 t helper",
    "ffffffff81000200 D some_data",
    "ffffffff81000300 T later\t[mod]",
    "ffffffff81000180 r rodata_thing",
    "ffffffff81000280 W weak_fn",
    "",
  ].join("\n");

  test("function symbols only (no data, nothing below the kernel's addresses), sorted by address", () => {
    const syms = parseKallsyms(KALLSYMS);
    expect(syms.map((s) => s.name)).toEqual(["_text", "startup_64", "helper", "weak_fn", "later"]);
  });

  test("an address resolves to the symbol at or before it, with a decimal offset", () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfts-kallsyms-"));
    try {
      writeFileSync(join(dir, "kallsyms"), KALLSYMS);
      const k = new KernelSymbols(join(dir, "kallsyms"));
      expect(k.format(0xffffffff81000105n)).toBe("helper+5");
      expect(k.format(0xffffffff81000000n)).toBe("startup_64+0");
      expect(k.format(0xffffffff81000250n)).toBe("helper+336");
      expect(k.format(0xffffffff81000300n)).toBe("later+0");
      expect(k.format(0xffffffff81000300n, false)).toBe("later");
      expect(k.format(0x1000n)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
