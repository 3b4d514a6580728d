// The bpfts command line: runtime/options.ts directly (getopt combinations), then the built
// CLI (dist/runtime/cli.js) spawned with node, as a user runs it.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { HELP_TEXT, parseArgs, PID_MAX, USAGE_HINT, useColor, type CliOptions, type ParseEnvironment, type ParseResult } from "../../runtime/options.js";

import { CLI, ensureBuilt, ROOT } from "../support/build.js";
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

// ---------------------------------------------------------------------------------------------
// runtime/options.ts

const everyPidExists: ParseEnvironment = { pidExists: () => true };

function ok(argv: string[], env: ParseEnvironment = everyPidExists): CliOptions {
  const r = parseArgs(argv, env);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(argv)} to parse, got: ${r.message}`);
  return r.options;
}

function bad(argv: string[], env: ParseEnvironment = everyPidExists): Extract<ParseResult, { ok: false }> {
  const r = parseArgs(argv, env);
  if (r.ok) throw new Error(`expected ${JSON.stringify(argv)} to be rejected, got action ${r.options.action}`);
  return r;
}

describe("parseArgs: program and positional parameters", () => {
  test("-e PROGRAM", () => {
    const o = ok(["-e", "BEGIN { exit(); }"]);
    expect(o.program).toEqual({ kind: "inline", text: "BEGIN { exit(); }" });
    expect(o.params).toEqual([]);
    expect(o.action).toBe("run");
  });

  test("defaults", () => {
    const o = ok(["-e", "P"]);
    expect(o).toMatchObject({
      format: "text",
      color: "auto",
      quiet: false,
      verbose: false,
      debug: 0,
      helperChecks: 0,
      unsafe: false,
      noWarnings: false,
      pid: undefined,
      command: undefined,
      dump: undefined,
      emit: undefined,
      includeDirs: [],
      includeFiles: [],
    });
  });

  test("FILE and its parameters", () => {
    const o = ok(["script.bt", "1", "two", "3"]);
    expect(o.program).toEqual({ kind: "file", path: "script.bt" });
    expect(o.params).toEqual(["1", "two", "3"]);
  });

  test("- reads the program from stdin", () => {
    const o = ok(["-", "x"]);
    expect(o.program).toEqual({ kind: "stdin" });
    expect(o.params).toEqual(["x"]);
  });

  test("with -e every operand is a parameter", () => {
    expect(ok(["-e", "P", "hello", "hello"]).params).toEqual(["hello", "hello"]);
    expect(ok(["-e", "P", "file.bt"]).params).toEqual(["file.bt"]);
  });

  test("combined short flags: -ve PROGRAM, -qe PROGRAM, -qePROGRAM", () => {
    const v = ok(["-ve", "P", "a", "b"]);
    expect(v.verbose).toBe(true);
    expect(v.program).toEqual({ kind: "inline", text: "P" });
    expect(v.params).toEqual(["a", "b"]);
    const q = ok(["-qe", "P"]);
    expect(q.quiet).toBe(true);
    expect(q.program).toEqual({ kind: "inline", text: "P" });
    expect(ok(["-qeP"]).program).toEqual({ kind: "inline", text: "P" });
    expect(ok(["-vqe", "P"])).toMatchObject({ verbose: true, quiet: true });
  });

  test("a required argument is taken even when it starts with '-'", () => {
    expect(ok(["-e", "-x"]).program).toEqual({ kind: "inline", text: "-x" });
    expect(ok(["-o", "-", "-e", "P"]).outputFile).toBe("-");
  });

  test("options after operands still count (argv is permuted, as GNU getopt does)", () => {
    const o = ok(["-e", "P", "a", "-q", "b", "-c", "./prog arg"]);
    expect(o.params).toEqual(["a", "b"]);
    expect(o.quiet).toBe(true);
    expect(o.command).toBe("./prog arg");
    const f = ok(["script.bt", "x", "-v"]);
    expect(f.program).toEqual({ kind: "file", path: "script.bt" });
    expect(f.params).toEqual(["x"]);
    expect(f.verbose).toBe(true);
  });

  test("-- ends the options", () => {
    const o = ok(["-e", "P", "--", "-1", "-q", "--check"]);
    expect(o.params).toEqual(["-1", "-q", "--check"]);
    expect(o.quiet).toBe(false);
    expect(o.action).toBe("run");
    expect(ok(["--", "-"]).program).toEqual({ kind: "stdin" });
    expect(ok(["--", "-file.bt", "-x"])).toMatchObject({ program: { kind: "file", path: "-file.bt" }, params: ["-x"] });
  });

  test("the last -e wins, an empty one is a (empty) program", () => {
    expect(ok(["-e", "A", "-e", "B"]).program).toEqual({ kind: "inline", text: "B" });
    expect(ok(["-e", ""]).program).toEqual({ kind: "inline", text: "" });
  });

  test("no program", () => {
    expect(bad([])).toMatchObject({ usage: true });
    expect(bad(["-q"]).message).toMatch(/no program given/);
    expect(bad(["--check"]).message).toMatch(/no program given/);
  });
});

describe("parseArgs: -p PID", () => {
  test("-p123 and -p 123 and --pid=123", () => {
    for (const argv of [["-p123", "f.bt"], ["-p", "123", "f.bt"], ["--pid=123", "f.bt"], ["--pid", "123", "f.bt"]]) {
      const o = ok(argv);
      expect(o.pid).toBe(123);
      expect(o.program).toEqual({ kind: "file", path: "f.bt" });
    }
  });

  test("rejects what bpftrace rejects, with its messages", () => {
    for (const pid of ["a1111", "111a1", "not_a_pid", "", "1.5", "0x10", " 12"]) {
      expect(bad(["-p", pid, "file.bt"])).toEqual({ ok: false, message: `pid '${pid}' is not a valid decimal number`, usage: false });
    }
    for (const pid of ["5000000", "0", "-5", "4194305", "99999999999999999999999"]) {
      expect(bad(["-p", pid, "file.bt"]).message).toBe(`pid '${pid}' out of valid pid range [1,4194304]`);
    }
    expect(ok(["-p", String(PID_MAX), "f.bt"]).pid).toBe(PID_MAX);
    expect(ok(["-p", "+12", "f.bt"]).pid).toBe(12);
  });

  test("the process must exist", () => {
    const seen: number[] = [];
    const env = { pidExists: (pid: number) => (seen.push(pid), pid === 42) };
    expect(ok(["-p", "42", "-e", "P"], env).pid).toBe(42);
    expect(bad(["-p", "43", "-e", "P"], env).message).toBe("pid '43': no such process");
    expect(seen).toEqual([42, 43]);
  });

  test("by default /proc/PID is checked", () => {
    expect(parseArgs(["-p", String(process.pid), "-e", "P"])).toMatchObject({ ok: true, options: { pid: process.pid } });
    expect(parseArgs(["-p", String(missingPid()), "-e", "P"])).toMatchObject({ ok: false, usage: false });
  });

  test("-c and -p together are rejected", () => {
    expect(bad(["-c", "ls", "-p", "1", "-e", "P"]).message).toMatch(/both -c and -p/);
  });
});

describe("parseArgs: other options", () => {
  test("-f text|json", () => {
    expect(ok(["-f", "json", "-e", "P"]).format).toBe("json");
    expect(ok(["-fjson", "-e", "P"]).format).toBe("json");
    expect(ok(["-f", "text", "-e", "P"]).format).toBe("text");
    const r = bad(["-q", "-f", "jsonx", "-e", "P"]);
    expect(r.message.split("\n")[0]).toBe('Invalid output format "jsonx"');
    expect(r.message).toContain("Valid formats: 'text', 'json'");
    expect(r.usage).toBe(false);
  });

  test("-o, -q, -v, -c, -I, --include, --unsafe, --no-warnings, --usdt-file-activation, -b", () => {
    const o = ok(["-o", "out.txt", "-q", "-v", "-c", "./a b", "-I", "/x", "-I/y", "--include", "errno.h", "--unsafe", "--no-warnings", "--usdt-file-activation", "-b", "-e", "P"]);
    expect(o).toMatchObject({
      outputFile: "out.txt",
      quiet: true,
      verbose: true,
      command: "./a b",
      includeDirs: ["/x", "/y"],
      includeFiles: ["errno.h"],
      unsafe: true,
      noWarnings: true,
      usdtFileActivation: true,
    });
  });

  test("-d, -dd, -k, -kk", () => {
    expect(ok(["-d", "-e", "P"]).debug).toBe(1);
    expect(ok(["-dd", "-e", "P"]).debug).toBe(2);
    expect(ok(["-d", "-d", "-e", "P"]).debug).toBe(2);
    expect(bad(["-ddd", "-e", "P"]).usage).toBe(true);
    expect(ok(["-k", "-e", "P"]).helperChecks).toBe(1);
    expect(ok(["-kk", "-e", "P"]).helperChecks).toBe(2);
    expect(bad(["-kkk", "-e", "P"]).message).toMatch(/-k/);
    // -d takes no argument (bpftrace 0.17): what follows is the script.
    expect(ok(["-d", "script.bt"]).program).toEqual({ kind: "file", path: "script.bt" });
  });

  test("-B MODE", () => {
    expect(ok(["-B", "none", "-e", "P"]).bufferMode).toBe("none");
    expect(ok(["-Bfull", "-e", "P"]).bufferMode).toBe("full");
    expect(bad(["-B", "sometimes", "-e", "P"]).message).toMatch(/-B must be either 'line', 'full', or 'none'/);
  });

  test("--check, --dump=ast, --emit", () => {
    expect(ok(["--check", "-e", "P"]).action).toBe("check");
    expect(ok(["--dump=ast", "-e", "P"])).toMatchObject({ action: "dump", dump: "ast" });
    expect(ok(["--dump", "ast", "-e", "P"])).toMatchObject({ action: "dump", dump: "ast" });
    expect(ok(["--check", "--dump=ast", "-e", "P"]).action).toBe("dump");
    expect(bad(["--dump=cfg", "-e", "P"]).message).toBe("invalid argument 'cfg' for '--dump' (valid: 'ast')");
    expect(bad(["--dump"]).message).toBe("option '--dump' requires an argument");
    expect(ok(["--emit=asm", "-e", "P"]).emit).toBe("asm");
    expect(ok(["--emit", "json", "-e", "P"]).emit).toBe("json");
    expect(bad(["--emit=elf", "-e", "P"]).message).toMatch(/invalid argument 'elf' for '--emit'/);
  });

  test("--color", () => {
    expect(ok(["--color=never", "-e", "P"]).color).toBe("never");
    expect(ok(["--color=always", "-e", "P"]).color).toBe("always");
    expect(ok(["--color=auto", "-e", "P"]).color).toBe("auto");
    expect(ok(["--color", "-e", "P"]).color).toBe("always");
    expect(bad(["--color=sometimes", "-e", "P"]).message).toMatch(/invalid argument 'sometimes' for '--color'/);
  });

  test("-l [PATTERN]", () => {
    expect(ok(["-l"])).toMatchObject({ action: "list", listPattern: undefined, program: undefined });
    expect(ok(["-l", "uprobe:/bin/bash:*"])).toMatchObject({ action: "list", listPattern: "uprobe:/bin/bash:*" });
    expect(ok(["-lv", "kfunc:*"])).toMatchObject({ action: "list", verbose: true, listPattern: "kfunc:*" });
    expect(ok(["-l", "-e", "BEGIN {}"])).toMatchObject({ action: "list", program: { kind: "inline", text: "BEGIN {}" } });
    expect(bad(["-l", "a", "b"]).usage).toBe(true);
    expect(bad(["-l", "--check"]).message).toMatch(/cannot be used with -l/);
  });

  test("-h, --help, -V, --version, --info stop at once", () => {
    expect(ok(["-h"]).action).toBe("help");
    expect(ok(["--help"]).action).toBe("help");
    expect(ok(["-V"]).action).toBe("version");
    expect(ok(["--version"]).action).toBe("version");
    expect(ok(["--info"]).action).toBe("info");
    // As with getopt: options before -h are checked, the rest is never looked at.
    expect(ok(["-h", "-idonotexist"]).action).toBe("help");
    expect(ok(["-qh", "-p", "bad"]).action).toBe("help");
    expect(bad(["-idonotexist", "-h"]).message).toBe("invalid option -- 'i'");
  });

  test("long options may be abbreviated to a unique prefix", () => {
    expect(ok(["--vers"]).action).toBe("version");
    expect(ok(["--he"]).action).toBe("help");
    expect(ok(["--che", "-e", "P"]).action).toBe("check");
    expect(ok(["--dum=ast", "-e", "P"]).dump).toBe("ast");
    expect(bad(["--ver"]).message).toBe("option '--ver' is ambiguous; possibilities: '--version' '--verbose'");
  });
});

describe("parseArgs: bad options", () => {
  test("unknown short option, named as getopt does", () => {
    expect(bad(["-idonotexist"])).toEqual({ ok: false, message: "invalid option -- 'i'", usage: true });
    expect(bad(["-qx", "-e", "P"]).message).toBe("invalid option -- 'x'");
    expect(bad(["-e", "P", "-5"]).message).toBe("invalid option -- '5'");
  });

  test("missing arguments", () => {
    for (const c of ["e", "p", "c", "f", "o", "B", "I"]) {
      expect(bad([`-${c}`])).toEqual({ ok: false, message: `option requires an argument -- '${c}'`, usage: true });
    }
    expect(bad(["-qe"]).message).toBe("option requires an argument -- 'e'");
    expect(bad(["--include"]).message).toBe("option '--include' requires an argument");
  });

  test("unknown and misused long options", () => {
    expect(bad(["--foo"])).toEqual({ ok: false, message: "unrecognized option '--foo'", usage: true });
    expect(bad(["--foo=bar", "-e", "P"]).message).toBe("unrecognized option '--foo=bar'");
    expect(bad(["--check=yes", "-e", "P"]).message).toBe("option '--check' doesn't allow an argument");
    expect(bad(["--=x"]).message).toBe("unrecognized option '--=x'");
  });

  test("never throws, whatever the arguments", () => {
    const token = fc.oneof(
      fc.constantFrom("-e", "-p", "-l", "-", "--", "--check", "--dump", "--color", "-kk", "-dd", "-ve", "-p1", "--pid=", "--v", "-f", "json", "-B"),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 8 }), (argv) => {
        const r = parseArgs(argv, everyPidExists);
        if (!r.ok) expect(r.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("useColor", () => {
  test("always and never ignore the terminal and the environment", () => {
    expect(useColor("always", { isTTY: false }, { NO_COLOR: "1" })).toBe(true);
    expect(useColor("never", { isTTY: true }, {})).toBe(false);
  });

  test("auto: a terminal and NO_COLOR unset; CI does not matter", () => {
    expect(useColor("auto", { isTTY: true }, {})).toBe(true);
    expect(useColor("auto", { isTTY: true }, { NO_COLOR: "1" })).toBe(false);
    expect(useColor("auto", { isTTY: true }, { NO_COLOR: "" })).toBe(true);
    expect(useColor("auto", { isTTY: false }, {})).toBe(false);
    expect(useColor("auto", {}, { CI: "true", FORCE_COLOR: "1" })).toBe(false);
    expect(useColor("auto", { isTTY: true }, { CI: "true" })).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// The built CLI

/** A pid with no process (scanning down from the top of the pid range). */
function missingPid(): number {
  for (let pid = PID_MAX; pid > 1; pid--) if (!existsSync(`/proc/${pid}`)) return pid;
  throw new Error("no free pid");
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

let work: string;

/** A clean environment: no colour variables; CI set, to show it does not turn colour on. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || ["NO_COLOR", "FORCE_COLOR", "NODE_OPTIONS", "NODE_EXTRA_CA_CERTS"].includes(k)) continue;
    env[k] = v;
  }
  env["CI"] = "1";
  return env;
}

function bpfts(args: string[], options: { input?: string; cwd?: string; env?: Record<string, string> } = {}): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? work,
    input: options.input ?? "",
    encoding: "utf8",
    env: { ...baseEnv(), ...options.env },
    timeout: 20_000,
  });
  if (r.error) throw r.error;
  // Bad input never looks like a crash.
  expect(r.stderr).not.toMatch(/internal error|^\s+at .+:\d+:\d+\)?$/m);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("bpfts (dist/runtime/cli.js)", () => {
  beforeAll(() => {
    ensureBuilt();
    work = mkdtempSync(join(tmpdir(), "bpfts-cli-"));
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("--version and -V print the package version", () => {
    for (const flag of ["--version", "-V"]) {
      expect(bpfts([flag])).toEqual({ status: 0, stdout: `bpfts v${VERSION}\n`, stderr: "" });
    }
  });

  test("--help and -h print the usage to stdout", () => {
    for (const flag of ["--help", "-h"]) {
      const r = bpfts([flag]);
      expect(r).toMatchObject({ status: 0, stderr: "" });
      expect(r.stdout).toBe(HELP_TEXT);
      expect(r.stdout).toContain("USAGE:");
      expect(r.stdout).toContain("--check");
    }
  });

  test("an unknown option names it and gives the usage hint", () => {
    const r = bpfts(["-idonotexist"]);
    expect(r).toEqual({ status: 1, stdout: "", stderr: `ERROR: invalid option -- 'i'\n${USAGE_HINT}\n` });
    expect(r.stderr).toContain("USAGE");
    expect(bpfts(["--frobnicate", "-e", "BEGIN {}"]).stderr).toMatch(/^ERROR: unrecognized option '--frobnicate'\nUSAGE/);
  });

  test("no arguments at all", () => {
    const r = bpfts([]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^ERROR: no program given.*\nUSAGE/);
  });

  test("bad pids", () => {
    for (const pid of ["a1111", "111a1", "not_a_pid"]) {
      expect(bpfts(["-p", pid, "file.bt"])).toEqual({ status: 1, stdout: "", stderr: `ERROR: pid '${pid}' is not a valid decimal number\n` });
    }
    expect(bpfts(["-p", "5000000", "file.bt"])).toEqual({
      status: 1,
      stdout: "",
      stderr: "ERROR: pid '5000000' out of valid pid range [1,4194304]\n",
    });
    const gone = missingPid();
    expect(bpfts(["-p", String(gone), "--check", "-e", "BEGIN { exit(); }"])).toEqual({
      status: 1,
      stdout: "",
      stderr: `ERROR: pid '${gone}': no such process\n`,
    });
    expect(bpfts([`-p${process.pid}`, "--check", "-e", "BEGIN { exit(); }"])).toEqual({ status: 0, stdout: "", stderr: "" });
  });

  test("-f jsonx", () => {
    expect(bpfts(["-q", "-f", "jsonx", "-e", "BEGIN { exit(); }"])).toEqual({
      status: 1,
      stdout: "",
      stderr: `ERROR: Invalid output format "jsonx"\nValid formats: 'text', 'json'\n`,
    });
  });

  test("a missing script file", () => {
    expect(bpfts(["non_existent_file.bt"])).toEqual({
      status: 1,
      stdout: "",
      stderr: "ERROR: failed to open file 'non_existent_file.bt': No such file or directory\n",
    });
    expect(bpfts(["--check", "."]).stderr).toBe("ERROR: failed to open file '.': Is a directory\n");
  });

  test("--check: success prints nothing", () => {
    expect(bpfts(["--check", "-e", "BEGIN { exit(); }"])).toEqual({ status: 0, stdout: "", stderr: "" });
    expect(bpfts(["--check", "-ve", "BEGIN { exit(); }"])).toEqual({ status: 0, stdout: "", stderr: "" });
    expect(bpfts(["-qe", "BEGIN { exit(); }", "--check"])).toEqual({ status: 0, stdout: "", stderr: "" });
  });

  test("- reads the program from stdin", () => {
    const good = 'BEGIN { printf("hello world!\\n"); exit(); }\n';
    expect(bpfts(["--check", "-"], { input: good })).toEqual({ status: 0, stdout: "", stderr: "" });
    const r = bpfts(["--check", "-"], { input: "BEGIN { $x = nosuch; }\n" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^stdin:1:14: error: /);
  });

  test("--check: errors in two probes, each with its position, source line and caret", () => {
    const script = ["BEGIN {", "  @x = 1 +;", "}", "", "END {", "\t$a = nosuch;", "}", ""].join("\n");
    mkdirSync(join(work, "scripts"), { recursive: true });
    writeFileSync(join(work, "two.bt"), script);
    writeFileSync(join(work, "scripts", "two.bt"), script);
    for (const name of ["two.bt", "scripts/two.bt", join(work, "two.bt")]) {
      const r = bpfts(["--check", name]);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe("");
      const lines = r.stderr.split("\n");
      expect(lines).toHaveLength(7);
      expect(lines[0]).toMatch(new RegExp(`^${escape(name)}:2:11: error: \\S`));
      expect(lines[1]).toBe("  @x = 1 +;");
      // The caret starts under the column; how far the underline goes is the span's business.
      expect(lines[2]).toMatch(/^ {10}\^~*$/);
      expect(lines[3]).toMatch(new RegExp(`^${escape(name)}:6:7: error: .*nosuch`));
      expect(lines[4]).toBe("\t$a = nosuch;");
      expect(lines[5]).toMatch(/^\t {5}\^~{0,5}$/);
      expect(lines[6]).toBe("");
    }
  });

  test("-e programs are named stdin", () => {
    const r = bpfts(["--check", "-e", 'BEGIN { printf("%d\\n", nosuch); }']);
    expect(r.status).toBe(1);
    expect(r.stderr.split("\n").slice(0, 3)).toEqual([
      expect.stringMatching(/^stdin:1:24: error: .*nosuch/),
      'BEGIN { printf("%d\\n", nosuch); }',
      expect.stringMatching(/^ {23}\^~{0,5}$/),
    ]);
  });

  test("--dump=ast prints the typed tree", () => {
    const r = bpfts(["--dump=ast", "-e", 'BEGIN { printf("hello\\n"); @n[comm] = count(); }']);
    expect(r).toMatchObject({ status: 0, stderr: "" });
    expect(r.stdout).toBe(
      [
        "Program",
        "  Probe BEGIN",
        "    ExprStmt",
        "      Call printf :: void",
        '        String "hello\\n" :: string[7]',
        "    Assign =",
        "      Map @n :: count()",
        "        Ident comm :: string[16]",
        "      Call count :: count()",
        "",
      ].join("\n"),
    );
  });

  test("--dump=ast still prints the tree when there are errors, and fails", () => {
    const r = bpfts(["--dump", "ast", "-e", "BEGIN { @x = nosuch + 1; }"]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^Program\n {2}Probe BEGIN\n/);
    expect(r.stdout).toContain("Binary +");
    expect(r.stderr).toMatch(/^stdin:1:14: error: /);
  });

  test("attach points show their parsed fields, with positional parameters replaced", () => {
    const r = bpfts(["--dump=ast", "-e", 'uprobe:$1:"read*line" { @[$2] = count(); }', "/bin/sh", "7"]);
    expect(r).toMatchObject({ status: 0, stderr: "" });
    expect(r.stdout).toContain('    AttachPoint uprobe:$1:"read*line" -> uprobe : /bin/sh : "read*line"\n');
    expect(r.stdout).toContain("        Positional $2 :: int64\n");
  });

  test("positional parameters reach $1", () => {
    const prog = "BEGIN { @x = $1 * 2; exit(); }";
    expect(bpfts(["--check", "-e", prog, "41"])).toEqual({ status: 0, stdout: "", stderr: "" });
    // A non-numeric $1 is a string: multiplying it fails, which shows the value arrived.
    const r = bpfts(["--check", "-e", prog, "abc"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^stdin:1:14: error: .*string\[4\]/);
    // After a script file too, and after --.
    writeFileSync(join(work, "pos.bt"), prog);
    expect(bpfts(["--check", "pos.bt", "41"]).status).toBe(0);
    expect(bpfts(["--check", "pos.bt", "abc"]).status).toBe(1);
    expect(bpfts(["--check", "pos.bt", "--", "-1"]).status).toBe(0);
    expect(bpfts(["--dump=ast", "-e", "BEGIN { @s = str($1); }", "--", "-x"]).stdout).toContain("Positional $1 :: string[3]");
  });

  test("colour: off into a pipe (even with CI set), on with --color=always", () => {
    const prog = "BEGIN { @x = nosuch; }";
    const plain = bpfts(["--check", "-e", prog]);
    expect(plain.status).toBe(1);
    expect(plain.stderr).not.toContain("\x1b[");
    expect(bpfts(["--check", "--color=never", "-e", prog]).stderr).toBe(plain.stderr);
    const coloured = bpfts(["--check", "--color=always", "-e", prog], { env: { NO_COLOR: "1" } });
    expect(coloured.status).toBe(1);
    expect(coloured.stderr).toContain("\x1b[1;31merror\x1b[0m");
    expect(coloured.stderr.replace(/\x1b\[[0-9;]*m/g, "")).toBe(plain.stderr);
  });

  test("a program is checked before it runs; --info prints bpftrace's sections", () => {
    // Running probes is tested in test/kernel/session.test.ts.
    expect(bpfts(["-e", "BEGIN { @ = nosuch; }"]).stderr).toMatch(/^stdin:1:13: error: /);
    // -l is tested in test/unit/list.test.ts and test/kernel/list.test.ts.
    const info = bpfts(["--info"]);
    expect(info).toMatchObject({ status: 0, stderr: "" });
    expect(info.stdout).toMatch(/^System\n {2}OS: Linux .*\n {2}Arch: .*\n\nBuild\n {2}version: v\d+\.\d+\.\d+\n/);
    // The kernel sections need privileges (test/kernel/info.test.ts); without them, they say so.
    expect(info.stdout).toMatch(/\n\nKernel helpers\n|\n\nKernel\n {2}helpers, features, map and probe types: not probed/);
  });

  test("output is complete when stdout is a pipe that stays open", () => {
    // A program with many probes gives a long dump; every line must arrive.
    const probes = Array.from({ length: 400 }, (_, i) => `interval:ms:${i + 1} { @a${i} = count(); }`).join("\n");
    const r = bpfts(["--dump=ast", "-e", probes]);
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n").filter((l) => l.startsWith("  Probe "))).toHaveLength(400);
    expect(r.stdout.endsWith("Call count :: count()\n")).toBe(true);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
