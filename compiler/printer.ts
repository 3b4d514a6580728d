// AST to source text, in one canonical style: 4-space indentation, one statement per line ending
// in ';', `if (c) { ... } else if (d) { ... } else { ... }`, attach points as written, predicates
// as `/ expr /`. Parentheses appear only where precedence or associativity needs them, so
// printing a parsed program and parsing the text again gives the same AST (spans aside).
import type * as A from "./ast.js";
import { printCStruct } from "./cstruct.js";

const INDENT = "    ";

/** Binding strength of each expression form: a higher number binds tighter. */
const TERNARY = 1;
const BINARY_PREC: Record<A.BinaryOperator, number> = {
  "||": 2,
  "&&": 3,
  "|": 4,
  "^": 5,
  "&": 6,
  "==": 7,
  "!=": 7,
  "<": 8,
  ">": 8,
  "<=": 8,
  ">=": 8,
  "<<": 9,
  ">>": 9,
  "+": 10,
  "-": 10,
  "*": 11,
  "/": 11,
  "%": 11,
};
/** Unary operators, casts and prefix `++`/`--`. */
const UNARY = 12;
/** `.N`, `->f`, `.f`, `[i]`, postfix `++`/`--`. */
const POSTFIX = 13;
/** Literals, names, calls, maps, tuples: never need parentheses. */
const PRIMARY = 14;

function precedence(e: A.Expr): number {
  switch (e.kind) {
    case "Ternary":
      return TERNARY;
    case "Binary":
      return BINARY_PREC[e.op];
    case "Unary":
    case "Cast":
      return UNARY;
    case "IncDec":
      return e.prefix ? UNARY : POSTFIX;
    case "TupleIndex":
    case "Field":
    case "Index":
      return POSTFIX;
    case "Int":
    case "String":
    case "Variable":
    case "Positional":
    case "PositionalCount":
    case "Map":
    case "Ident":
    case "Call":
    case "Tuple":
      return PRIMARY;
  }
}

/** Prints `e`, in parentheses when it binds less tightly than `min`. */
function operand(e: A.Expr, min: number): string {
  const text = printExpr(e);
  return precedence(e) < min ? `(${text})` : text;
}

/**
 * A prefix operator followed by its operand. A space keeps the two apart where they would
 * otherwise lex as another token: `- -x` (not `--x`), `& &x` (not `&&x`), `- --x`, `++ +...`.
 */
function prefix(op: string, text: string): string {
  const last = op[op.length - 1]!;
  const merges = (last === "-" || last === "+" || last === "&") && text.startsWith(last);
  return merges ? `${op} ${text}` : op + text;
}

/**
 * Escapes a string's value (a byte string: one char per byte, see unescapeString) back into the
 * body of a string literal: valid UTF-8 sequences print as their characters, other bytes from
 * 0x80 up and control bytes as two-digit hex escapes (the parser reads at most two hex digits,
 * so a following digit cannot join the escape).
 */
export function escapeString(value: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    const code = c.charCodeAt(0);
    if (c === "\n") out += "\\n";
    else if (c === "\t") out += "\\t";
    else if (c === '"') out += '\\"';
    else if (c === "\\") out += "\\\\";
    else if (code < 0x20 || code === 0x7f) out += hex(code);
    else if (code < 0x80) out += c;
    else {
      const len = utf8Sequence(value, i);
      const cp = len > 0 ? Buffer.from(value.slice(i, i + len), "latin1").toString("utf8").codePointAt(0)! : 0;
      if (len > 0 && cp >= 0xa0) {
        out += String.fromCodePoint(cp);
        i += len - 1;
      } else out += hex(code);
    }
  }
  return out;
}

function hex(code: number): string {
  return "\\x" + code.toString(16).padStart(2, "0");
}

/** Length of the valid UTF-8 sequence starting at byte i of a byte string, or 0. */
function utf8Sequence(s: string, i: number): number {
  const b0 = s.charCodeAt(i);
  const len = b0 >= 0xc2 && b0 <= 0xdf ? 2 : b0 >= 0xe0 && b0 <= 0xef ? 3 : b0 >= 0xf0 && b0 <= 0xf4 ? 4 : 0;
  if (len === 0 || i + len > s.length) return 0;
  for (let k = 1; k < len; k++) {
    const b = s.charCodeAt(i + k);
    if (b < 0x80 || b > 0xbf) return 0;
  }
  // Overlong forms, surrogates and code points past U+10FFFF are not valid UTF-8.
  const b1 = s.charCodeAt(i + 1);
  if ((b0 === 0xe0 && b1 < 0xa0) || (b0 === 0xed && b1 > 0x9f) || (b0 === 0xf0 && b1 < 0x90) || (b0 === 0xf4 && b1 > 0x8f)) return 0;
  return len;
}

/** An expression as source text, with only the parentheses its structure needs. */
export function printExpr(e: A.Expr): string {
  switch (e.kind) {
    case "Int":
      return e.value.toString(10);
    case "String":
      return `"${escapeString(e.value)}"`;
    case "Variable":
      return `$${e.name}`;
    case "Positional":
      return `$${e.index}`;
    case "PositionalCount":
      return "$#";
    case "Map":
      return e.keys.length === 0 ? `@${e.name}` : `@${e.name}[${e.keys.map(printExpr).join(", ")}]`;
    case "Ident":
      return e.name;
    case "Call":
      return `${e.name}(${e.args.map(printExpr).join(", ")})`;
    case "Tuple":
      // A one-element tuple cannot be written: `(a)` is `a`.
      return `(${e.elems.map(printExpr).join(", ")})`;
    case "Unary":
      return prefix(e.op, operand(e.operand, UNARY));
    case "IncDec":
      return e.prefix ? prefix(e.op, operand(e.target, UNARY)) : operand(e.target, POSTFIX) + e.op;
    case "Cast":
      return `(${e.typeName}${e.pointer > 0 ? " " + "*".repeat(e.pointer) : ""})${operand(e.operand, UNARY)}`;
    case "Binary": {
      // Left-associative: a left operand of the same level needs no parentheses, a right one does.
      // The left spine is walked in a loop: the parser builds `1 + 2 + ... + n` as a left-deep
      // tree of any depth, which recursion would overflow.
      const parts: string[] = [];
      let cur: A.BinaryExpr = e;
      for (;;) {
        const p = BINARY_PREC[cur.op];
        parts.push(`${cur.op} ${operand(cur.right, p + 1)}`);
        const left = cur.left;
        if (left.kind === "Binary" && BINARY_PREC[left.op] >= p) {
          cur = left;
          continue;
        }
        parts.push(operand(left, p));
        return parts.reverse().join(" ");
      }
    }
    case "Ternary":
      // `c ? t : e`: the condition is a `||` expression, the branches anything (right-associative).
      return `${operand(e.cond, TERNARY + 1)} ? ${printExpr(e.then)} : ${printExpr(e.else)}`;
    case "TupleIndex":
      return `${operand(e.tuple, POSTFIX)}.${e.index}`;
    case "Field":
      return `${operand(e.base, POSTFIX)}${e.arrow ? "->" : "."}${e.field}`;
    case "Index": {
      // `@m[i]` would be the map's element: an index on a whole map needs `(@m)[i]`.
      const base = e.base.kind === "Map" && e.base.keys.length === 0 ? `(${printExpr(e.base)})` : operand(e.base, POSTFIX);
      return `${base}[${printExpr(e.index)}]`;
    }
  }
}

function printBlock(body: A.Stmt[], depth: number, out: string[]): void {
  for (const s of body) printStmt(s, depth, out);
}

function printStmt(s: A.Stmt, depth: number, out: string[]): void {
  const pad = INDENT.repeat(depth);
  switch (s.kind) {
    case "ExprStmt":
      out.push(`${pad}${printExpr(s.expr)};`);
      return;
    case "AssignStmt":
      out.push(`${pad}${printExpr(s.target)} ${s.op} ${printExpr(s.value)};`);
      return;
    case "JumpStmt":
      out.push(`${pad}${s.jump};`);
      return;
    case "BlockStmt":
      out.push(`${pad}{`);
      printBlock(s.body, depth + 1, out);
      out.push(`${pad}}`);
      return;
    case "UnrollStmt":
      out.push(`${pad}unroll (${printExpr(s.count)}) {`);
      printBlock(s.body, depth + 1, out);
      out.push(`${pad}}`);
      return;
    case "WhileStmt":
      out.push(`${pad}while (${printExpr(s.cond)}) {`);
      printBlock(s.body, depth + 1, out);
      out.push(`${pad}}`);
      return;
    case "IfStmt": {
      let head = `${pad}if`;
      let stmt: A.IfStmt = s;
      for (;;) {
        out.push(`${head} (${printExpr(stmt.cond)}) {`);
        printBlock(stmt.then, depth + 1, out);
        const other = stmt.else;
        if (other === undefined) {
          out.push(`${pad}}`);
          return;
        }
        // `else if`: the else branch is one IfStmt alone.
        if (other.length === 1 && other[0]!.kind === "IfStmt") {
          head = `${pad}} else if`;
          stmt = other[0];
          continue;
        }
        out.push(`${pad}} else {`);
        printBlock(other, depth + 1, out);
        out.push(`${pad}}`);
        return;
      }
    }
  }
}

function printProbe(p: A.Probe, out: string[]): void {
  let head = p.attachPoints.map((ap) => ap.raw).join(", ");
  if (p.predicate !== undefined) head += ` / ${printExpr(p.predicate)} /`;
  out.push(head);
  out.push("{");
  printBlock(p.body, 1, out);
  out.push("}");
}

/** A program as source text: `#include` lines, struct definitions, then the probes separated by blank lines. */
export function printProgram(program: A.Program): string {
  const out: string[] = [];
  for (const inc of program.includes) out.push(inc);
  for (const d of program.structs ?? []) if (!d.nested) out.push(printCStruct(d));
  if (out.length > 0 && program.probes.length > 0) out.push("");
  program.probes.forEach((p, i) => {
    if (i > 0) out.push("");
    printProbe(p, out);
  });
  return out.length === 0 ? "" : out.join("\n") + "\n";
}
