// The compiler's public entry points.
import type * as A from "./ast.js";
import { check, type CheckOptions, type CheckResult } from "./check.js";
import { type Diagnostic, Diagnostics, formatDiagnostics } from "./diagnostics.js";
import { dirname, resolve } from "node:path";
import { BUILTIN_VARIABLES } from "./builtins.js";
import { FUNCTIONS } from "./functions/index.js";
import { parse } from "./parser.js";
import { Source } from "./source.js";

export interface AnalyzeOptions extends CheckOptions {
  /** The script's name in diagnostics: its path, or "stdin" for -e programs. */
  file?: string;
  /** Headers included before the script's own `#include` lines (--include FILE). */
  includeFiles?: string[];
  /** Directories `#include` searches before the system's (-I DIR). */
  includeDirs?: string[];
}

export interface AnalyzeResult {
  ok: boolean;
  source: Source;
  /** Errors and warnings, in source order. */
  diagnostics: Diagnostic[];
  /** The typed AST; present even when there are errors (then partly typed). */
  program: A.Program;
  /** Maps and variables with their types. */
  symbols?: CheckResult;
}

/** Parses and type-checks a script. Pure: reads nothing but what the system describes. */
export function analyze(text: string, options: AnalyzeOptions = {}): AnalyzeResult {
  const source = new Source(options.file ?? "stdin", text);
  const diags = new Diagnostics(source);
  let program: A.Program = { kind: "Program", includes: [], structs: [], probes: [], span: { start: 0, end: text.length } };
  let symbols: CheckResult | undefined;
  try {
    const parseOptions = {
      params: options.params ?? [],
      includeFiles: options.includeFiles ?? [],
      includeDirs: options.includeDirs ?? [],
      // `#include "x.h"` looks next to a script file; for -e programs, in the working directory.
      ...(options.file !== undefined && options.file !== "stdin" ? { scriptDir: dirname(resolve(options.file)) } : {}),
      reserved: (name: string) => BUILTIN_VARIABLES.has(name) || FUNCTIONS.has(name),
    };
    program = parse(source, parseOptions, diags).program;
    symbols = check(program, diags, options);
  } catch (e) {
    if (!isStackOverflow(e)) throw e;
    diags.error({ start: 0, end: 0 }, "the program is nested too deeply to compile");
  }
  return { ok: !diags.hasErrors(), source, diagnostics: diags.sorted(), program, ...(symbols ? { symbols } : {}) };
}

/** A recursion that ran out of stack (absurdly deep nesting in the input). */
export function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}

export { formatDiagnostics, Source };
export type { Diagnostic };
