#!/usr/bin/env node
// The bpfts command. Start-up cost matters: only node builtins and ./options.js are imported
// eagerly; the compiler (and chevrotain under it) is imported only once a program must be read,
// so --help and --version never load it. Output goes straight to fds 1 and 2 (fdWriter), which
// spares Node's stream modules. The installed command runs this file bundled (scripts/bundle.mjs).
//
// Exit status: 0 success; 1 bad usage, unreadable script or errors in the program; 2 an internal
// error (a bug: `bpfts: internal error: ...`, never for bad input). No stack trace is printed
// unless -d is given. The status goes through process.exitCode so that output is flushed.
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { HELP_TEXT, parseArgs, USAGE_HINT, useColor, type CliOptions, type ProgramSource } from "./options.js";
import type { CompiledScript } from "../compiler/program.js";
import type { Symbolizer } from "./format/values.js";

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_INTERNAL = 2;

/** A failure to report as `ERROR: MESSAGE` (bad input, not a bug), as bpftrace reports it. */
class CliError extends Error {}

/**
 * A writer to fd 1 or 2 with writeSync: what process.stdout and process.stderr do on Linux anyway
 * (they write synchronously to files, pipes and terminals), without loading Node's stream modules
 * (several ms of every start). A closed pipe (`bpfts --help | head -1`) ends that output quietly;
 * any other write error is a bug (status 2). A non-blocking fd that is full is waited for.
 */
function fdWriter(fd: number): (text: string) => void {
  let open = true;
  return (text) => {
    if (!open || text.length === 0) return;
    const bytes = Buffer.from(text, "utf8");
    for (let done = 0; done < bytes.length; ) {
      try {
        done += writeSync(fd, bytes, done);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
          continue;
        }
        open = false;
        if (code === "EPIPE") process.exitCode ??= EXIT_OK;
        else process.exitCode = EXIT_INTERNAL;
        return;
      }
    }
  };
}

const out = fdWriter(1);
const err = fdWriter(2);
// Errors without a source position read like bpftrace's; those with one are the compiler's
// `FILE:LINE:COL: error: ...` diagnostics.
const fail = (message: string) => err(`ERROR: ${message}\n`);

async function main(argv: string[]): Promise<number> {
  const parsed = parseArgs(argv);
  if (!parsed.ok) {
    fail(parsed.message);
    if (parsed.usage) err(USAGE_HINT + "\n");
    return EXIT_FAILURE;
  }
  const opts = parsed.options;
  // Decided once, for everything printed to stderr, when something is: process.stderr (a stream)
  // costs a few ms to set up.
  let decided: boolean | undefined;
  const color = () => (decided ??= useColor(opts.color, process.stderr, process.env));
  switch (opts.action) {
    case "help":
      out(HELP_TEXT);
      return EXIT_OK;
    case "version":
      out(`bpfts v${version()}\n`);
      return EXIT_OK;
    case "info": {
      const { collectInfo, formatInfo } = await import("./info.js");
      out(formatInfo(collectInfo(version())));
      return EXIT_OK;
    }
    case "list":
      return listProbes(opts);
    case "run":
    case "check":
    case "dump":
      return compile(opts, color);
  }
}

/** Reads, parses and type-checks the program; then checks, dumps, emits or runs it. */
async function compile(opts: CliOptions, color: () => boolean): Promise<number> {
  const program = opts.program!;
  const text = await readProgram(program);
  const options = {
    file: program.kind === "file" ? program.path : "stdin",
    params: opts.params,
    includeFiles: opts.includeFiles,
    includeDirs: opts.includeDirs,
    childCommand: opts.command !== undefined,
    unsafe: opts.unsafe,
    helperChecks: opts.helperChecks,
    ...(opts.pid !== undefined ? { pid: opts.pid } : {}),
  };
  const generate = opts.action === "run" || opts.emit !== undefined;
  // Tracepoint layouts come from tracefs, which is not mounted at boot: mount it when we can.
  if (generate) await mountTracefs();
  const { analyze, formatDiagnostics } = await import("../compiler/index.js");
  const result = generate ? (await import("../compiler/compile.js")).compile(text, options) : analyze(text, options);
  const diagnostics = opts.noWarnings ? result.diagnostics.filter((d) => d.severity !== "warning") : result.diagnostics;
  if (diagnostics.length > 0) err(formatDiagnostics(diagnostics, result.source, { color: color() }));
  if (opts.action === "dump") {
    const { dumpAst } = await import("../compiler/dump.js");
    out(dumpAst(result.program));
  }
  if (!result.ok) return EXIT_FAILURE;
  const script = (result as { script?: CompiledScript }).script;
  if (opts.emit !== undefined && script !== undefined) {
    out(await emit(script, opts.emit));
    return EXIT_OK;
  }
  if (opts.action === "check" || opts.action === "dump" || script === undefined) return EXIT_OK;
  return runProbes(opts, script);
}

/** Mounts tracefs if it is missing and we are root; a failure is reported later, by the session. */
async function mountTracefs(): Promise<void> {
  try {
    (await import("./tracefs.js")).ensureTracefs();
  } catch {
    // Not root, or no tracefs: the compiler reports what it cannot resolve.
  }
}

/** --emit=asm: the programs' disassembly; --emit=json: the whole compiled script. */
async function emit(script: CompiledScript, kind: "asm" | "json"): Promise<string> {
  if (kind === "json") {
    const replacer = (_: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v);
    return JSON.stringify(script, replacer, 2) + "\n";
  }
  const { disassembleProgram } = await import("../compiler/compile.js");
  return script.programs.map((p) => `${p.probeName}: ${p.insns.length} instructions\n${disassembleProgram(script, p)}\n`).join("\n");
}

/** Attaches the compiled script and prints its output: the kernel backend. */
async function runProbes(opts: CliOptions, script: CompiledScript): Promise<number> {
  const catBytesMax = (await import("./commands.js")).catBytesMax(process.env);
  if (typeof catBytesMax !== "number") throw new CliError(catBytesMax.error);
  let write = out;
  let outFd: number | undefined;
  if (opts.outputFile !== undefined) {
    try {
      outFd = openSync(opts.outputFile, "w");
    } catch (e) {
      throw new CliError(`failed to open output file '${opts.outputFile}': ${describeFsError(e)}`);
    }
    const fd = outFd;
    write = (text: string) => void writeSync(fd, text);
  }
  // -p PID / -c CMD: the traced process (a command is started here, held until attached).
  const traced = await (await import("./child.js")).tracedTarget(opts.pid, opts.command).catch((e: Error) => Promise.reject(new CliError(e.message)));
  const { runScript } = await import("./session.js");
  // usym and func values carry their process's pid; -p/-c name the process otherwise.
  const tracedPid = traced.options.pid ?? traced.options.child?.pid;
  const symbolize = (await import("./symbols.js")).createSymbolizer(tracedPid !== undefined ? { pid: tracedPid } : {});
  try {
    const { exitCode } = await runScript(script, {
      stdout: write,
      stderr: err,
      sink: await outputSink(opts, write, symbolize),
      symbolize,
      quiet: opts.quiet,
      catBytesMax,
      notifyAttached: process.env["__BPFTRACE_NOTIFY_PROBES_ATTACHED"] !== undefined,
      ...traced.options,
    });
    return exitCode;
  } finally {
    await traced.close();
    if (outFd !== undefined) closeSync(outFd);
  }
}

/** -f json: bpftrace's JSON records; --percentiles: percentiles of every histogram at exit. */
async function outputSink(opts: CliOptions, write: (text: string) => void, symbolize: Symbolizer) {
  const options = { percentiles: opts.percentiles, symbolize };
  if (opts.format === "json") return (await import("./format/json.js")).jsonSink(write, err, options);
  return (await import("./output.js")).textSink(write, err, options);
}

/** -l [PATTERN]: lists the probes matching PATTERN, or those of the -e program. */
async function listProbes(opts: CliOptions): Promise<number> {
  return (await import("./list.js")).runList(opts, { stdout: out, stderr: err });
}

/** The program's text, from -e, a file (its path as given) or stdin (`-`). */
async function readProgram(program: ProgramSource): Promise<string> {
  switch (program.kind) {
    case "inline":
      return program.text;
    case "file":
      try {
        return readFileSync(program.path, "utf8");
      } catch (e) {
        throw new CliError(`failed to open file '${program.path}': ${describeFsError(e)}`);
      }
    case "stdin":
      try {
        const chunks: Buffer[] = [];
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks).toString("utf8");
      } catch (e) {
        throw new CliError(`failed to read the program from stdin: ${describeFsError(e)}`);
      }
  }
}

/** strerror() texts for the errors a script path commonly meets, as bpftrace prints them. */
const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  EISDIR: "Is a directory",
  ENOTDIR: "Not a directory",
  ELOOP: "Too many levels of symbolic links",
  ENAMETOOLONG: "File name too long",
  EMFILE: "Too many open files",
  EIO: "Input/output error",
};

function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && ERRNO_TEXT[code]) return ERRNO_TEXT[code];
  return e instanceof Error ? e.message : String(e);
}

/** The version in package.json, found above this module (dist/runtime/ or runtime/). */
function version(): string {
  for (const rel of ["../../package.json", "../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === "bpfts" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // not this one
    }
  }
  throw new Error("cannot find bpfts's package.json");
}

const argv = process.argv.slice(2);

function internalError(e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  err(`bpfts: internal error: ${message}\n`);
  // -d or -dd (in any spelling getopt accepts) asks for the stack.
  const debug = parseArgs(argv, { pidExists: () => true });
  if (debug.ok && debug.options.debug > 0 && e instanceof Error && e.stack) err(e.stack + "\n");
  process.exitCode = EXIT_INTERNAL;
}

// Errors outside main's promise chain (event handlers, stray rejections) are bugs too.
process.on("uncaughtException", internalError);
process.on("unhandledRejection", internalError);

main(argv).then(
  (code) => {
    if (process.exitCode !== EXIT_INTERNAL) process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof CliError) {
      fail(e.message);
      process.exitCode = EXIT_FAILURE;
    } else {
      internalError(e);
    }
  },
);
