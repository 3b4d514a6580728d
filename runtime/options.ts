// Command-line options, spelled and parsed the way bpftrace 0.17 does it (GNU getopt_long):
//
//   bpfts [options] FILE [ARG...]
//   bpfts [options] - [ARG...]          (the program is read from stdin)
//   bpfts [options] -e PROGRAM [ARG...]
//
// Short options can be clustered (`-ve PROG`, `-qe PROG`, `-kk`), a required argument can be
// attached or separate (`-p123`, `-p 123`), long options take `--opt=value` or `--opt value` and
// may be abbreviated to any unique prefix. Options and operands can be mixed in any order (argv is
// "permuted" as GNU getopt does); `--` ends the options. The first operand is the script FILE
// (unless -e was given), every other operand is a positional parameter ($1, $2, ...).
//
// This module must stay cheap to import: the CLI loads it before anything else.
import { existsSync } from "node:fs";

export type OutputFormat = "text" | "json";
export type ColorMode = "auto" | "always" | "never";
export type BufferMode = "line" | "full" | "none";
export type DumpKind = "ast";
export type EmitKind = "asm" | "json";

/** Where the program comes from. */
export type ProgramSource =
  | { kind: "inline"; text: string } // -e PROGRAM
  | { kind: "file"; path: string } // FILE
  | { kind: "stdin" }; // -

/**
 * What to do:
 * - `run`: compile and attach the probes (the default);
 * - `check`: parse and type-check only (--check);
 * - `dump`: print the typed AST (--dump=ast);
 * - `list`: list probes (-l);
 * - `help`, `version`, `info`: print and exit.
 */
export type Action = "run" | "check" | "dump" | "list" | "help" | "version" | "info";

export interface CliOptions {
  action: Action;
  /** Absent only for help/version/info, and for -l without -e. */
  program: ProgramSource | undefined;
  /** Positional parameters, $1..$N. */
  params: string[];
  /** -l PATTERN (absent: list everything). */
  listPattern: string | undefined;
  /** -p PID, validated: in [1, 4194304] and /proc/PID exists. */
  pid: number | undefined;
  /** -c CMD, as written (split later). */
  command: string | undefined;
  /** -f FORMAT. */
  format: OutputFormat;
  /** -o FILE. */
  outputFile: string | undefined;
  /** -B MODE (absent: bpftrace's default, line-buffered to a TTY, fully buffered otherwise). */
  bufferMode: BufferMode | undefined;
  quiet: boolean;
  verbose: boolean;
  /** -d: 1, -dd: 2. */
  debug: number;
  /** -k: 1, -kk: 2 (run-time checks of helper return values: helper_error records). */
  helperChecks: number;
  /** -I DIR: searched by #include before the system's directories. */
  includeDirs: string[];
  /** --include FILE: as `#include <FILE>` before the script (its macros become known). */
  includeFiles: string[];
  unsafe: boolean;
  noWarnings: boolean;
  usdtFileActivation: boolean;
  /** --dump=KIND (implies checking only). */
  dump: DumpKind | undefined;
  /** --color=WHEN; resolve it once with `useColor`. */
  color: ColorMode;
  /** --emit=KIND (stored for a later stage). */
  emit: EmitKind | undefined;
  /** --percentiles: at exit, p50/p90/p99/p99.9 of every hist() and lhist() entry. */
  percentiles: boolean;
}

export type ParseResult =
  | { ok: true; options: CliOptions }
  /** `message` has no `ERROR:` prefix (it may span lines); `usage`: follow it with the usage hint. */
  | { ok: false; message: string; usage: boolean };

export interface ParseEnvironment {
  /** Whether a process exists (default: /proc/PID exists). */
  pidExists?: (pid: number) => boolean;
}

/** The kernel's PID_MAX_LIMIT; bpftrace rejects larger pids with this range in the message. */
export const PID_MAX = 4 * 1024 * 1024;

type ArgKind = "none" | "required" | "optional";

interface OptionSpec {
  /** Canonical name used by `apply`: the short letter or the long name. */
  id: string;
  arg: ArgKind;
}

const SHORT: Record<string, OptionSpec> = {
  e: { id: "e", arg: "required" },
  p: { id: "p", arg: "required" },
  c: { id: "c", arg: "required" },
  l: { id: "l", arg: "none" },
  f: { id: "f", arg: "required" },
  o: { id: "o", arg: "required" },
  q: { id: "q", arg: "none" },
  v: { id: "v", arg: "none" },
  d: { id: "d", arg: "none" },
  k: { id: "k", arg: "none" },
  b: { id: "b", arg: "none" },
  B: { id: "B", arg: "required" },
  I: { id: "I", arg: "required" },
  h: { id: "h", arg: "none" },
  V: { id: "V", arg: "none" },
};

const LONG: Record<string, OptionSpec> = {
  help: { id: "h", arg: "none" },
  version: { id: "V", arg: "none" },
  info: { id: "info", arg: "none" },
  include: { id: "include", arg: "required" },
  unsafe: { id: "unsafe", arg: "none" },
  "no-warnings": { id: "no-warnings", arg: "none" },
  "usdt-file-activation": { id: "usdt-file-activation", arg: "none" },
  // Long spellings of short options (newer bpftrace has them too).
  pid: { id: "p", arg: "required" },
  cmd: { id: "c", arg: "required" },
  output: { id: "o", arg: "required" },
  quiet: { id: "q", arg: "none" },
  verbose: { id: "v", arg: "none" },
  list: { id: "l", arg: "none" },
  warnings: { id: "k", arg: "none" },
  // bpfts's own.
  check: { id: "check", arg: "none" },
  dump: { id: "dump", arg: "required" },
  color: { id: "color", arg: "optional" },
  emit: { id: "emit", arg: "required" },
  percentiles: { id: "percentiles", arg: "none" },
};

const LONG_NAMES = Object.keys(LONG);

class UsageError {
  constructor(
    readonly message: string,
    readonly usage = true,
  ) {}
}

function defaults(): CliOptions {
  return {
    action: "run",
    program: undefined,
    params: [],
    listPattern: undefined,
    pid: undefined,
    command: undefined,
    format: "text",
    outputFile: undefined,
    bufferMode: undefined,
    quiet: false,
    verbose: false,
    debug: 0,
    helperChecks: 0,
    includeDirs: [],
    includeFiles: [],
    unsafe: false,
    noWarnings: false,
    usdtFileActivation: false,
    dump: undefined,
    color: "auto",
    emit: undefined,
    percentiles: false,
  };
}

/** State collected while scanning argv, before the operands are interpreted. */
interface Scan {
  opts: CliOptions;
  inline: string | undefined;
  list: boolean;
  check: boolean;
  info: boolean;
  pidText: string | undefined;
}

/** Applies one option. Returns "help"/"version" when scanning must stop there, as getopt users do. */
function apply(scan: Scan, id: string, value: string | undefined, spelled: string): "help" | "version" | undefined {
  const o = scan.opts;
  const v = value ?? "";
  switch (id) {
    case "h":
      return "help";
    case "V":
      return "version";
    case "e":
      scan.inline = v;
      return;
    case "p":
      scan.pidText = v;
      return;
    case "c":
      o.command = v;
      return;
    case "l":
      scan.list = true;
      return;
    case "f":
      if (v !== "text" && v !== "json") throw new UsageError(`Invalid output format "${v}"\nValid formats: 'text', 'json'`, false);
      o.format = v;
      return;
    case "o":
      o.outputFile = v;
      return;
    case "q":
      o.quiet = true;
      return;
    case "v":
      o.verbose = true;
      return;
    case "d":
      if (++o.debug > 2) throw new UsageError("-d can be given at most twice (-dd)");
      return;
    case "k":
      if (++o.helperChecks > 2) throw new UsageError("-k can be given at most twice (-kk)");
      return;
    case "b":
      return; // accepted by bpftrace 0.17 and ignored
    case "B":
      if (v !== "line" && v !== "full" && v !== "none") throw new UsageError(`-B must be either 'line', 'full', or 'none' (not '${v}')`);
      o.bufferMode = v;
      return;
    case "I":
      o.includeDirs.push(v);
      return;
    case "include":
      o.includeFiles.push(v);
      return;
    case "info":
      scan.info = true;
      return;
    case "unsafe":
      o.unsafe = true;
      return;
    case "no-warnings":
      o.noWarnings = true;
      return;
    case "usdt-file-activation":
      o.usdtFileActivation = true;
      return;
    case "check":
      scan.check = true;
      return;
    case "dump":
      if (v !== "ast") throw new UsageError(`invalid argument '${v}' for '${spelled}' (valid: 'ast')`);
      o.dump = v;
      return;
    case "color":
      // `--color` alone means always, as in GNU ls and grep.
      if (value === undefined) o.color = "always";
      else if (v === "auto" || v === "always" || v === "never") o.color = v;
      else throw new UsageError(`invalid argument '${v}' for '${spelled}' (valid: 'auto', 'always', 'never')`);
      return;
    case "emit":
      if (v !== "asm" && v !== "json") throw new UsageError(`invalid argument '${v}' for '${spelled}' (valid: 'asm', 'json')`);
      o.emit = v;
      return;
    case "percentiles":
      o.percentiles = true;
      return;
    default:
      throw new Error(`option table names an unhandled option '${id}'`);
  }
}

/** Finds a long option by exact name or unique prefix, as getopt_long does. */
function findLong(name: string, spelled: string): OptionSpec & { name: string } {
  const exact = LONG[name];
  if (exact) return { ...exact, name };
  const matches = LONG_NAMES.filter((n) => n.startsWith(name));
  // Several names for the same option are not ambiguous.
  const ids = new Set(matches.map((n) => LONG[n]!.id));
  if (matches.length === 0 || name === "") throw new UsageError(`unrecognized option '${spelled}'`);
  if (ids.size > 1) throw new UsageError(`option '--${name}' is ambiguous; possibilities: ${matches.map((n) => `'--${n}'`).join(" ")}`);
  return { ...LONG[matches[0]!]!, name: matches[0]! };
}

/** The pid checks of bpftrace 0.17 (`parse_pid`), then whether the process exists. */
function parsePid(text: string, pidExists: (pid: number) => boolean): number {
  if (!/^[+-]?[0-9]+$/.test(text)) throw new UsageError(`pid '${text}' is not a valid decimal number`, false);
  const n = Number(text);
  if (!(n >= 1 && n <= PID_MAX)) throw new UsageError(`pid '${text}' out of valid pid range [1,${PID_MAX}]`, false);
  if (!pidExists(n)) throw new UsageError(`pid '${text}': no such process`, false);
  return n;
}

function procExists(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** Parses the arguments after the program name. Never throws for bad input. */
export function parseArgs(argv: readonly string[], env: ParseEnvironment = {}): ParseResult {
  const scan: Scan = { opts: defaults(), inline: undefined, list: false, check: false, info: false, pidText: undefined };
  const operands: string[] = [];
  try {
    if (argv.length === 0) throw new UsageError("no program given: pass a script FILE, '-' to read it from stdin, or -e PROGRAM");
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg === "--") {
        operands.push(...argv.slice(i + 1));
        break;
      }
      if (arg.startsWith("--")) {
        const eq = arg.indexOf("=");
        const name = arg.slice(2, eq < 0 ? undefined : eq);
        const spec = findLong(name, arg);
        const spelled = `--${spec.name}`;
        let value: string | undefined;
        if (eq >= 0) {
          if (spec.arg === "none") throw new UsageError(`option '${spelled}' doesn't allow an argument`);
          value = arg.slice(eq + 1);
        } else if (spec.arg === "required") {
          if (i + 1 >= argv.length) throw new UsageError(`option '${spelled}' requires an argument`);
          value = argv[++i]!;
        }
        const stop = apply(scan, spec.id, value, spelled);
        if (stop) return { ok: true, options: { ...scan.opts, action: stop } };
        continue;
      }
      if (arg.startsWith("-") && arg !== "-") {
        for (let j = 1; j < arg.length; j++) {
          const c = arg[j]!;
          const spec = Object.hasOwn(SHORT, c) ? SHORT[c]! : undefined;
          if (!spec) throw new UsageError(`invalid option -- '${c}'`);
          let value: string | undefined;
          if (spec.arg === "required") {
            if (j + 1 < arg.length) value = arg.slice(j + 1);
            else if (i + 1 < argv.length) value = argv[++i]!;
            else throw new UsageError(`option requires an argument -- '${c}'`);
          }
          const stop = apply(scan, spec.id, value, `-${c}`);
          if (stop) return { ok: true, options: { ...scan.opts, action: stop } };
          if (value !== undefined) break;
        }
        continue;
      }
      operands.push(arg);
    }
    return { ok: true, options: finish(scan, operands, env) };
  } catch (e) {
    if (e instanceof UsageError) return { ok: false, message: e.message, usage: e.usage };
    throw e;
  }
}

/** Interprets the operands and checks the combinations, once every option is known. */
function finish(scan: Scan, operands: string[], env: ParseEnvironment): CliOptions {
  const o = scan.opts;
  if (scan.info) return { ...o, action: "info" };
  if (scan.pidText !== undefined) o.pid = parsePid(scan.pidText, env.pidExists ?? procExists);
  if (o.pid !== undefined && o.command !== undefined) throw new UsageError("cannot use both -c and -p");
  if (scan.list) {
    if (scan.check || o.dump) throw new UsageError(`${o.dump ? "--dump" : "--check"} cannot be used with -l`);
    if (operands.length > 1) throw new UsageError(`-l takes at most one search pattern (got ${operands.length} arguments)`);
    o.action = "list";
    o.listPattern = operands[0];
    if (scan.inline !== undefined) o.program = { kind: "inline", text: scan.inline };
    return o;
  }
  if (scan.inline !== undefined) {
    o.program = { kind: "inline", text: scan.inline };
    o.params = operands;
  } else {
    const file = operands[0];
    if (file === undefined) throw new UsageError("no program given: pass a script FILE, '-' to read it from stdin, or -e PROGRAM");
    o.program = file === "-" ? { kind: "stdin" } : { kind: "file", path: file };
    o.params = operands.slice(1);
  }
  o.action = o.dump ? "dump" : scan.check ? "check" : "run";
  return o;
}

/**
 * Whether diagnostics get colour: --color=always, or auto when stderr is a terminal and NO_COLOR
 * is unset (or empty). Decided once; never from CI or other variables.
 */
export function useColor(mode: ColorMode, stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  if (mode === "always") return true;
  if (mode === "never") return false;
  const noColor = env["NO_COLOR"];
  return stream.isTTY === true && (noColor === undefined || noColor === "");
}

/** One line after a usage error; contains "USAGE" as bpftrace's does. */
export const USAGE_HINT = "USAGE: bpfts [options] FILE [ARG...] | bpfts [options] -e 'program' [ARG...]\nTry 'bpfts --help' for more information.";

export const HELP_TEXT = `bpfts - a bpftrace-style tracing language compiled straight to BPF bytecode

USAGE:
    bpfts [options] filename [ARG...]
    bpfts [options] - [ARG...]          <stdin input>
    bpfts [options] -e 'program' [ARG...]
    ARG... are the positional parameters $1, $2, ...; use -- before ones that start with '-'

OPTIONS:
    -B MODE        output buffering mode ('line', 'full', 'none')
    -f FORMAT      output format ('text', 'json')
    -o FILE        redirect bpfts output to FILE
    -e 'program'   execute this program
    -h, --help     show this help message
    -I DIR         add the directory to the include search path
    --include FILE add an #include file before preprocessing
    -l [search]    list probes
    -p PID         enable USDT probes on PID
    -c 'CMD'       run CMD and enable USDT probes on resulting process
    --usdt-file-activation
                   activate usdt semaphores based on file path
    --unsafe       allow unsafe builtin functions
    -q             keep messages quiet
    -v             verbose messages
    --info         print information about kernel BPF support
    -k             emit a warning when a bpf helper returns an error (except read functions)
    -kk            check all bpf helper functions
    -V, --version  bpfts version
    --no-warnings  disable all warning messages

BPFTS OPTIONS:
    --check        parse and type-check the program only, then exit (needs no privileges)
    --dump=ast     print the typed syntax tree, then exit
    --color[=WHEN] colour diagnostics: 'auto' (the default: when stderr is a terminal
                   and NO_COLOR is unset), 'always' (also --color alone), 'never'
    --emit=KIND    with a later stage: print the generated code ('asm', 'json')
    --percentiles  at exit, also print p50, p90, p99 and p99.9 of every histogram
                   (estimated from the bucket bounds; text and -f json)

TROUBLESHOOTING OPTIONS:
    -d             debug info (with -d, an internal error also prints its stack)
    -dd            verbose debug info

EXAMPLES:
bpfts --check -e 'BEGIN { printf("hello\\n"); exit(); }'
    check a program without running it
bpfts -e 'uprobe:/bin/bash:readline { @[comm] = count(); }'
    count readline() calls in bash, by process name
bpfts -e 'interval:s:1 { printf("%s\\n", str($1)); exit(); }' hello
    print the first positional parameter
bpfts -p 1234 -e 'usdt:/usr/bin/python3:python:function__entry { @[str(arg1)] = count(); }'
    count Python function calls in process 1234
`;
