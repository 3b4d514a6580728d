// The C preprocessor's part of a script: `#include` and `#define` lines (and --include, -I).
//
// bpftrace hands a script's includes to clang and then knows every macro they define; a script's
// identifiers that name one are replaced by its value. We do the same for object-like macros: the
// included headers are read (and their own includes, conditionals, #define and #undef followed)
// by a small preprocessor that only collects macros. A header that cannot be found is an error
// ("'lol/no.h' file not found"), as it is for clang.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";

/** Where `#include <...>` looks after the -I directories: clang's defaults on x86-64 Linux. */
export const SYSTEM_INCLUDE_DIRS = ["/usr/local/include", "/usr/include/x86_64-linux-gnu", "/usr/include"];

/** Headers the compiler itself provides (clang's resource directory): empty when not found. */
const COMPILER_HEADERS = new Set(["stddef.h", "stdarg.h", "stdbool.h", "stdint.h", "float.h", "limits.h", "stdalign.h", "stdnoreturn.h", "iso646.h", "stdatomic.h", "__stddef_max_align_t.h", "varargs.h"]);

/** Macros every translation unit starts with (clang's, for x86-64 Linux, as far as headers test them). */
const PREDEFINED: Record<string, string> = {
  __STDC__: "1",
  __STDC_VERSION__: "201710L",
  __STDC_HOSTED__: "1",
  __GNUC__: "4",
  __GNUC_MINOR__: "2",
  __GNUC_PATCHLEVEL__: "1",
  __clang__: "1",
  __clang_major__: "14",
  __x86_64__: "1",
  __x86_64: "1",
  __amd64__: "1",
  __linux__: "1",
  __linux: "1",
  __unix__: "1",
  __unix: "1",
  __ELF__: "1",
  __LP64__: "1",
  _LP64: "1",
  __CHAR_BIT__: "8",
  __SIZEOF_SHORT__: "2",
  __SIZEOF_INT__: "4",
  __SIZEOF_LONG__: "8",
  __SIZEOF_LONG_LONG__: "8",
  __SIZEOF_POINTER__: "8",
  __SIZEOF_SIZE_T__: "8",
  __ORDER_LITTLE_ENDIAN__: "1234",
  __ORDER_BIG_ENDIAN__: "4321",
  __ORDER_PDP_ENDIAN__: "3412",
  __BYTE_ORDER__: "__ORDER_LITTLE_ENDIAN__",
  __INT_MAX__: "2147483647",
  __LONG_MAX__: "9223372036854775807L",
  __SCHAR_MAX__: "127",
  __SHRT_MAX__: "32767",
  __LONG_LONG_MAX__: "9223372036854775807LL",
  __WCHAR_MAX__: "2147483647",
};

export interface Macro {
  /** Parameter names of a function-like macro; undefined for an object-like one. */
  params?: string[];
  /** The replacement text (comments removed, whitespace collapsed). */
  body: string;
}

export interface IncludeLine {
  /** The header's name as written, without its <> or "". */
  name: string;
  /** `#include <name>` (searched in the include directories) or `#include "name"` (the script's directory first). */
  angled: boolean;
  /** Where the name is in the script (for errors); undefined for --include files. */
  span?: { start: number; end: number };
}

export interface PreprocessOptions {
  /** -I directories, searched before the system's. */
  includeDirs?: string[];
  /** The directory of the script, where `#include "..."` looks first (the working directory for -e). */
  scriptDir?: string;
  /** Reads a file: its text, or undefined when it does not exist. */
  readFile?: (path: string) => string | undefined;
}

export interface PreprocessResult {
  /** Every macro defined at the end, by name. */
  macros: Map<string, Macro>;
  /** Includes that could not be found, with clang's message. */
  errors: Array<{ include: IncludeLine; message: string }>;
}

function defaultRead(path: string): string | undefined {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return undefined;
  }
}

/** The newest of gcc's own header directories (stddef.h and friends live there, not in /usr/include). */
function gccIncludeDir(): string | undefined {
  const base = "/usr/lib/gcc/x86_64-linux-gnu";
  try {
    const versions = readdirSync(base).filter((v) => existsSync(join(base, v, "include", "stddef.h")));
    versions.sort((a, b) => parseInt(b, 10) - parseInt(a, 10));
    return versions[0] !== undefined ? join(base, versions[0], "include") : undefined;
  } catch {
    return undefined;
  }
}

/** Removes comments (keeping line breaks) and joins lines continued with a backslash. */
function logicalLines(text: string): string[] {
  const joined = text.replace(/\\\r?\n/g, "");
  let out = "";
  let i = 0;
  while (i < joined.length) {
    const c = joined[i]!;
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < joined.length && joined[j] !== c && joined[j] !== "\n") j += joined[j] === "\\" ? 2 : 1;
      out += joined.slice(i, j + 1);
      i = j + 1;
    } else if (c === "/" && joined[i + 1] === "*") {
      const end = joined.indexOf("*/", i + 2);
      const comment = joined.slice(i, end < 0 ? joined.length : end + 2);
      out += " " + comment.replace(/[^\n]/g, "");
      i = end < 0 ? joined.length : end + 2;
    } else if (c === "/" && joined[i + 1] === "/") {
      const end = joined.indexOf("\n", i);
      i = end < 0 ? joined.length : end;
    } else {
      out += c;
      i++;
    }
  }
  return out.split("\n");
}

// ---- tokens and expressions of #if -------------------------------------------------------------

const TOKEN = /\s*(?:([A-Za-z_]\w*)|(0[xX][0-9a-fA-F]+|\d+)[uUlL]*|('(?:\\.|[^'\\])*')|("(?:\\.|[^"\\])*")|(##|#|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%<>!~&|^?:(),]))/y;

type Tok = { id: string } | { num: bigint } | { str: string } | { op: string };

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  TOKEN.lastIndex = 0;
  let m: RegExpExecArray | null;
  while (TOKEN.lastIndex < text.length && (m = TOKEN.exec(text)) !== null) {
    if (m[1] !== undefined) out.push({ id: m[1] });
    else if (m[2] !== undefined) out.push({ num: /^0[0-7]+$/.test(m[2]) ? BigInt("0o" + m[2].slice(1)) : BigInt(m[2]) });
    else if (m[3] !== undefined) out.push({ num: charValue(m[3]) });
    else if (m[4] !== undefined) out.push({ str: m[4] });
    else out.push({ op: m[5]! });
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
  }
  return out;
}

function charValue(lit: string): bigint {
  const body = lit.slice(1, -1);
  if (!body.startsWith("\\")) return BigInt(body.charCodeAt(0) || 0);
  const esc: Record<string, number> = { n: 10, t: 9, r: 13, "0": 0, "\\": 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11 };
  if (/^\\x[0-9a-fA-F]+$/.test(body)) return BigInt(parseInt(body.slice(2), 16));
  if (/^\\[0-7]+$/.test(body)) return BigInt(parseInt(body.slice(1), 8));
  return BigInt(esc[body[1]!] ?? body.charCodeAt(1));
}

function tokText(t: Tok): string {
  return "id" in t ? t.id : "num" in t ? t.num.toString() : "str" in t ? t.str : t.op;
}

class Preprocessor {
  readonly macros = new Map<string, Macro>();
  readonly errors: PreprocessResult["errors"] = [];
  private once = new Set<string>();
  private depth = 0;
  private read: (path: string) => string | undefined;
  private dirs: string[];

  constructor(private options: PreprocessOptions) {
    this.read = options.readFile ?? defaultRead;
    const gcc = options.readFile === undefined ? gccIncludeDir() : undefined;
    this.dirs = [...(options.includeDirs ?? []), ...SYSTEM_INCLUDE_DIRS, ...(gcc ? [gcc] : [])];
    for (const [name, body] of Object.entries(PREDEFINED)) this.macros.set(name, { body });
  }

  /** Finds a header: the file's path and the index of the directory it was found in. */
  private find(name: string, angled: boolean, fromDir: string | undefined, after = -1): { path: string; dir: number } | undefined {
    if (isAbsolute(name)) return this.read(name) !== undefined ? { path: name, dir: -1 } : undefined;
    if (!angled && fromDir !== undefined && after < 0) {
      const p = resolve(fromDir, name);
      if (this.read(p) !== undefined) return { path: p, dir: -1 };
    }
    for (let i = after + 1; i < this.dirs.length; i++) {
      const p = join(this.dirs[i]!, name);
      if (this.read(p) !== undefined) return { path: p, dir: i };
    }
    return undefined;
  }

  /** Processes a top-level include (the script's, or --include): false if it cannot be found. */
  include(inc: IncludeLine): boolean {
    const found = this.find(inc.name, inc.angled, this.options.scriptDir ?? process.cwd());
    if (found === undefined) {
      if (COMPILER_HEADERS.has(inc.name)) return true;
      this.errors.push({ include: inc, message: `'${inc.name}' file not found` });
      return false;
    }
    this.file(found.path, found.dir);
    return true;
  }

  /** Defines a macro from the text after `#define`. */
  define(text: string): void {
    const m = /^([A-Za-z_]\w*)(\(([^)]*)\))?\s*(.*)$/s.exec(text.trim());
    if (m === null) return;
    const body = m[4]!.replace(/\s+/g, " ").trim();
    if (m[2] !== undefined) {
      const params = m[3]!.split(",").map((p) => p.trim()).filter((p) => p !== "");
      this.macros.set(m[1]!, { params, body });
    } else this.macros.set(m[1]!, { body });
  }

  private file(path: string, dirIndex: number): void {
    if (this.once.has(path) || this.depth > 100) return;
    const text = this.read(path);
    if (text === undefined) return;
    this.depth++;
    try {
      this.text(text, dirname(path), dirIndex, path);
    } finally {
      this.depth--;
    }
  }

  private text(text: string, dir: string, dirIndex: number, path: string): void {
    // Each open conditional: whether its current branch is live, and whether one already was.
    const conds: Array<{ live: boolean; done: boolean; outer: boolean }> = [];
    const live = () => conds.length === 0 || conds[conds.length - 1]!.live;
    for (const line of logicalLines(text)) {
      const d = /^\s*#\s*(\w*)\s*(.*)$/s.exec(line);
      if (d === null) continue;
      const [, name, rest = ""] = d;
      switch (name) {
        case "if":
        case "ifdef":
        case "ifndef": {
          const outer = live();
          let value = false;
          if (outer) {
            const id = rest.trim().split(/\s/)[0] ?? "";
            value = name === "if" ? this.evaluate(rest) : this.macros.has(id) === (name === "ifdef");
          }
          conds.push({ live: outer && value, done: outer && value, outer });
          break;
        }
        case "elif": {
          const c = conds[conds.length - 1];
          if (c === undefined) break;
          if (c.done || !c.outer) c.live = false;
          else {
            c.live = this.evaluate(rest);
            c.done = c.live;
          }
          break;
        }
        case "else": {
          const c = conds[conds.length - 1];
          if (c === undefined) break;
          c.live = c.outer && !c.done;
          c.done = true;
          break;
        }
        case "endif":
          conds.pop();
          break;
        default:
          if (!live()) break;
          if (name === "define") this.define(rest);
          else if (name === "undef") this.macros.delete(rest.trim());
          else if (name === "pragma" && /^once\b/.test(rest.trim())) this.once.add(path);
          else if (name === "include" || name === "include_next") {
            const inc = /^\s*(?:<([^>]*)>|"([^"]*)")/.exec(rest) ?? /^\s*(?:<([^>]*)>|"([^"]*)")/.exec(this.expandText(rest));
            if (inc === null) break;
            const hname = inc[1] ?? inc[2]!;
            const found = name === "include_next" ? this.find(hname, true, undefined, dirIndex) : this.find(hname, inc[1] !== undefined, dir);
            // A header's own missing includes are not reported: only the macros matter here.
            if (found !== undefined) this.file(found.path, found.dir);
          }
      }
    }
  }

  /** Expands macros in a line of text (for computed includes). */
  private expandText(text: string): string {
    return expand(this.macros, tokenize(text), new Set()).map(tokText).join("");
  }

  /** The value of an #if expression; false when it cannot be evaluated. */
  evaluate(text: string): boolean {
    try {
      const toks = expand(this.macros, tokenize(text), new Set());
      // `defined X` → 1 or 0; any identifier left → 0.
      const vals: Tok[] = [];
      for (let i = 0; i < toks.length; i++) {
        const t = toks[i]!;
        if ("id" in t && t.id === "defined") {
          const next = toks[i + 1];
          let name: string | undefined;
          if (next !== undefined && "op" in next && next.op === "(") {
            const n = toks[i + 2];
            name = n !== undefined && "id" in n ? n.id : undefined;
            i += 3;
          } else {
            name = next !== undefined && "id" in next ? next.id : undefined;
            i++;
          }
          vals.push({ num: name !== undefined && this.macros.has(name) ? 1n : 0n });
        } else if ("id" in t) vals.push({ num: 0n });
        else vals.push(t);
      }
      return new ExprParser(vals).parse() !== 0n;
    } catch {
      return false;
    }
  }
}

/** Macro expansion of a token list; `hidden` holds the macros being expanded (no recursion). */
function expand(macros: Map<string, Macro>, toks: Tok[], hidden: Set<string>): Tok[] {
  const out: Tok[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (!("id" in t) || hidden.has(t.id)) {
      out.push(t);
      continue;
    }
    if (t.id === "defined") {
      // Kept for evaluate(): `defined X` and `defined(X)`.
      out.push(t);
      const next = toks[i + 1];
      if (next !== undefined && "op" in next && next.op === "(") {
        out.push(next, toks[i + 2]!, toks[i + 3]!);
        i += 3;
      } else if (next !== undefined) {
        out.push(next);
        i++;
      }
      continue;
    }
    const m = macros.get(t.id);
    if (m === undefined) {
      out.push(t);
      continue;
    }
    if (m.params === undefined) {
      out.push(...expand(macros, paste(tokenize(m.body)), new Set([...hidden, t.id])));
      continue;
    }
    // A function-like macro: only when called.
    const open = toks[i + 1];
    if (open === undefined || !("op" in open) || open.op !== "(") {
      out.push(t);
      continue;
    }
    const args: Tok[][] = [[]];
    let depth = 0;
    let j = i + 2;
    for (; j < toks.length; j++) {
      const a = toks[j]!;
      if ("op" in a && a.op === "(") depth++;
      if ("op" in a && a.op === ")") {
        if (depth === 0) break;
        depth--;
      }
      if ("op" in a && a.op === "," && depth === 0) args.push([]);
      else args[args.length - 1]!.push(a);
    }
    i = j;
    const params = m.params;
    const body: Tok[] = [];
    for (const b of tokenize(m.body)) {
      const k = "id" in b ? params.indexOf(b.id) : -1;
      if (k >= 0) body.push(...(args[k] ?? []));
      else if ("id" in b && b.id === "__VA_ARGS__") body.push(...args.slice(params.length - 1).flatMap((a, n) => (n > 0 ? [{ op: "," }, ...a] : a)));
      else body.push(b);
    }
    out.push(...expand(macros, paste(body), new Set([...hidden, t.id])));
  }
  return out;
}

/** Applies `##`: the tokens on each side become one. */
function paste(toks: Tok[]): Tok[] {
  const out: Tok[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if ("op" in t && t.op === "##" && out.length > 0 && i + 1 < toks.length) {
      const joined = tokText(out.pop()!) + tokText(toks[i + 1]!);
      out.push(...tokenize(joined));
      i++;
    } else out.push(t);
  }
  return out;
}

const BINARY: Record<string, number> = {
  "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<": 7, ">": 7, "<=": 7, ">=": 7, "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
};

/** #if arithmetic, as C's intmax_t (64-bit, wrapping). */
class ExprParser {
  private i = 0;
  constructor(private toks: Tok[]) {}

  parse(): bigint {
    const v = this.ternary();
    if (this.i !== this.toks.length) throw new Error("trailing tokens");
    return v;
  }

  private peek(): string | undefined {
    const t = this.toks[this.i];
    return t !== undefined && "op" in t ? t.op : undefined;
  }

  private ternary(): bigint {
    const c = this.binary(1);
    if (this.peek() !== "?") return c;
    this.i++;
    const a = this.ternary();
    if (this.peek() !== ":") throw new Error("expected ':'");
    this.i++;
    const b = this.ternary();
    return c !== 0n ? a : b;
  }

  private binary(min: number): bigint {
    let l = this.unary();
    for (;;) {
      const op = this.peek();
      const prec = op !== undefined ? BINARY[op] : undefined;
      if (prec === undefined || prec < min) return l;
      this.i++;
      const r = this.binary(prec + 1);
      l = BigInt.asIntN(64, apply(op!, l, r));
    }
  }

  private unary(): bigint {
    const t = this.toks[this.i++];
    if (t === undefined) throw new Error("unexpected end");
    if ("num" in t) return t.num;
    if ("op" in t) {
      switch (t.op) {
        case "(": {
          const v = this.ternary();
          if (this.peek() !== ")") throw new Error("expected ')'");
          this.i++;
          return v;
        }
        case "!":
          return this.unary() === 0n ? 1n : 0n;
        case "~":
          return BigInt.asIntN(64, ~this.unary());
        case "-":
          return BigInt.asIntN(64, -this.unary());
        case "+":
          return this.unary();
      }
    }
    throw new Error("unexpected token");
  }
}

function apply(op: string, l: bigint, r: bigint): bigint {
  switch (op) {
    case "||": return l !== 0n || r !== 0n ? 1n : 0n;
    case "&&": return l !== 0n && r !== 0n ? 1n : 0n;
    case "|": return l | r;
    case "^": return l ^ r;
    case "&": return l & r;
    case "==": return l === r ? 1n : 0n;
    case "!=": return l !== r ? 1n : 0n;
    case "<": return l < r ? 1n : 0n;
    case ">": return l > r ? 1n : 0n;
    case "<=": return l <= r ? 1n : 0n;
    case ">=": return l >= r ? 1n : 0n;
    case "<<": return l << (r & 63n);
    case ">>": return l >> (r & 63n);
    case "+": return l + r;
    case "-": return l - r;
    case "*": return l * r;
    case "/": if (r === 0n) throw new Error("division by zero"); return l / r;
    case "%": if (r === 0n) throw new Error("division by zero"); return l % r;
  }
  throw new Error(`operator ${op}`);
}

/**
 * Runs the includes (--include files first, then the script's `#include` lines) and the script's
 * `#define` lines, in that order, and returns the macros they define.
 */
export function preprocess(includes: IncludeLine[], defines: string[], options: PreprocessOptions = {}): PreprocessResult {
  const pp = new Preprocessor(options);
  for (const inc of includes) pp.include(inc);
  for (const d of defines) pp.define(d);
  return { macros: pp.macros, errors: pp.errors };
}

/**
 * The replacement of an object-like macro as script text: macros in it expanded (recursion
 * stopped as C stops it), integer suffixes (U, L) dropped; undefined for a function-like macro.
 */
export function macroText(macros: Map<string, Macro>, name: string): string | undefined {
  const m = macros.get(name);
  if (m === undefined || m.params !== undefined) return undefined;
  return expand(macros, [{ id: name }], new Set())
    .map((t) => ("str" in t ? t.str : tokText(t)))
    .join(" ");
}

/** Whether a macro is one of the predefined ones (not worth replacing in a script). */
export function isPredefinedMacro(name: string): boolean {
  return Object.hasOwn(PREDEFINED, name);
}
