// The library entry (index.ts) without a kernel: compile(), and what trace() refuses before it
// loads anything (bad options, errors in the script). Running sessions: test/kernel/trace.test.ts.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { compile, CompileError, OptionsError, trace } from "../../index.js";

const root = new URL("../../", import.meta.url).pathname;

describe("compile()", () => {
  test("a script: programs with bytecode and disassembly, maps, formats", () => {
    const r = compile('BEGIN { @n[comm] = count(); printf("%s %d\\n", comm, 5); exit() }');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.diagnostics).toEqual([]);
    expect(r.formatted).toBe("");
    expect(r.programs).toHaveLength(1);
    const p = r.programs[0]!;
    expect(p).toMatchObject({ probe: "BEGIN", name: "BEGIN", probeIndex: 0, progType: 17 });
    expect(p.bytecode).toBeInstanceOf(Uint8Array);
    expect(p.bytecode.length).toBeGreaterThanOrEqual(p.instructions * 8);
    expect(p.disassembly).toMatch(/exit/);
    expect(p.disassembly.split("\n").filter((l) => /^\s*\d+:/.test(l)).length).toBe(p.instructions);
    expect(r.maps.find((m) => m.name === "@n")).toMatchObject({ keyTypes: ["string[16]"], valueType: "count()" });
    expect(r.maps.find((m) => m.name === ".events")).toMatchObject({ kind: "ringbuf" });
    expect(r.formats.map((f) => f.kind)).toEqual(["printf", "exit"]);
    expect(r.script.programs).toHaveLength(1);
  });

  test("errors: typed diagnostics and their text; nothing else", () => {
    const r = compile("BEGIN { @x = 1; @x[1] = 2 }", { file: "my.bt" });
    expect(r.ok).toBe(false);
    expect(r.diagnostics).toEqual([
      { severity: "error", message: "@x is used with 1 key here but with no key elsewhere", file: "my.bt", line: 1, column: 17, span: { start: 16, end: 21 } },
    ]);
    expect(r.formatted).toBe("my.bt:1:17: error: @x is used with 1 key here but with no key elsewhere\nBEGIN { @x = 1; @x[1] = 2 }\n                ^~~~~\n");
    expect("programs" in r).toBe(false);
  });

  test("params", () => {
    const r = compile('BEGIN { printf("%s %d\\n", str($1), $2); exit() }', { params: ["a", 7] });
    expect(r.ok).toBe(true);
  });

  test("bad options and a source that is not a string", () => {
    expect(() => compile("BEGIN {}", { params: "x" } as never)).toThrow(OptionsError);
    expect(() => compile("BEGIN {}", { duration: 5 } as never)).toThrow(/unknown option "duration"/);
    expect(() => compile(42 as never)).toThrow(TypeError);
  });
});

describe("trace(): refused before anything is loaded", () => {
  function optionsError(options: unknown): OptionsError {
    try {
      trace("BEGIN { exit() }", options as never);
    } catch (e) {
      expect(e).toBeInstanceOf(OptionsError);
      return e as OptionsError;
    }
    throw new Error("trace() accepted the options");
  }

  test("every problem is listed, with the option's name", () => {
    const e = optionsError({ duration: -5, durration: 1, params: [1, {}], signal: "stop" });
    expect(e.issues.map((i) => i.path).sort()).toEqual(["", "duration", "params.1", "signal"]);
    expect(e.message).toMatch(/^invalid trace\(\) options:\n/);
    expect(e.message).toContain("  - duration: must be more than 0 (milliseconds)");
    expect(e.message).toContain('  - options: unknown option "durration"');
    expect(e.message).toContain("  - signal: must be an AbortSignal");
    expect(e.message).toContain("  - params.1: must be a string or an integer");
  });

  test("each kind of bad option", () => {
    expect(optionsError({ duration: "1s" }).message).toContain("duration: must be a number of milliseconds");
    expect(optionsError({ duration: 2 ** 31 }).message).toContain("duration: must be at most 2147483647");
    expect(optionsError({ duration: NaN }).issues).toHaveLength(1);
    expect(optionsError({ params: "a b" }).message).toContain("params: must be an array");
    expect(optionsError({ file: "" }).message).toContain("file: must not be empty");
    expect(optionsError(5).message).toContain("options: must be an object");
    expect(optionsError({ a: 1, b: 2 }).message).toContain('unknown options "a", "b"');
  });

  test("errors in the script: a CompileError with the typed diagnostics", () => {
    let error: unknown;
    try {
      trace('BEGIN { printf("%d\\n", @nope) }', { file: "x.bt" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CompileError);
    const e = error as CompileError;
    expect(e.diagnostics).toEqual([expect.objectContaining({ severity: "error", file: "x.bt", line: 1, column: 24, message: "@nope is never assigned a value" })]);
    expect(e.formatted).toBe('x.bt:1:24: error: @nope is never assigned a value\nBEGIN { printf("%d\\n", @nope) }\n                       ^~~~~\n');
    expect(e.message).toBe(`the script has 1 error:\n${e.formatted.trimEnd()}`);
  });

  test("a source that is not a string", () => {
    expect(() => trace(undefined as never)).toThrow(/trace\(\): the script source must be a string \(got undefined\)/);
  });
});

describe("zod stays off the CLI's path", () => {
  test.runIf(existsSync(join(root, "dist/runtime/cli.js")))("the CLI loads no zod (checking, JSON output)", () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfts-zod-"));
    const hook = join(dir, "hook.cjs");
    // Reports any load of zod, through require or import.
    writeFileSync(
      hook,
      `const M = require("module"); const load = M._load; M._load = function (r, ...a) { if (/(^|\\/)zod(\\/|$)/.test(r)) process.stderr.write("ZOD LOADED\\n"); return load.call(this, r, ...a); };
       if (M.register) M.register("data:text/javascript,export async function resolve(s, c, n) { if (/(^|\\\\/)zod(\\\\/|$)/.test(s)) process.stderr.write('ZOD LOADED\\\\n'); return n(s, c); }");`,
    );
    for (const args of [["--check", "-e", "BEGIN { @h = hist(1); exit() }"], ["-f", "json", "--check", "-e", "BEGIN { exit() }"], ["--help"]]) {
      const r = spawnSync(process.execPath, ["-r", hook, join(root, "dist/runtime/cli.js"), ...args], { encoding: "utf8" });
      expect(r.status).toBe(0);
      expect(r.stderr).not.toContain("ZOD LOADED");
    }
    // The hook works: the library loads zod on first use.
    const lib = spawnSync(process.execPath, ["-r", hook, "--input-type=module", "-e", `import { compile } from ${JSON.stringify(join(root, "dist/index.js"))}; compile("BEGIN {}");`], { encoding: "utf8" });
    expect(lib.stderr).toContain("ZOD LOADED");
  });
});
