// The typed AST as an indented tree, one node per line, for --dump=ast and for tests:
//
//   Program
//     Probe BEGIN
//       ExprStmt
//         Call printf :: void
//           String "hello\n" :: string[7]
//
// Every expression the checker typed ends in ` :: TYPE`. Attach points that are more than one
// bare word get a line with their parsed fields (quoted ones in quotes, `*` in them is literal).
import type * as A from "./ast.js";
import { typeName } from "./types.js";

const INDENT = "  ";

/** Renders a program as a tree; ends with a newline. */
export function dumpAst(program: A.Program): string {
  const out: string[] = [];
  const line = (depth: number, text: string) => out.push(INDENT.repeat(depth) + text);

  line(0, "Program");
  for (const inc of program.includes) line(1, `Include ${inc}`);
  for (const probe of program.probes) {
    line(1, `Probe ${probe.attachPoints.map((ap) => ap.raw).join(", ")}`);
    for (const ap of probe.attachPoints) {
      const only = ap.fields.length === 1 ? ap.fields[0]! : undefined;
      if (only && !only.quoted && only.text === ap.raw) continue;
      line(2, `AttachPoint ${ap.raw} -> ${ap.fields.map(field).join(" : ")}`);
    }
    if (probe.predicate) {
      line(2, "Predicate");
      expr(probe.predicate, 3);
    }
    stmts(probe.body, 2);
  }
  return out.join("\n") + "\n";

  function stmts(list: A.Stmt[], depth: number): void {
    for (const s of list) stmt(s, depth);
  }

  function stmt(s: A.Stmt, depth: number): void {
    switch (s.kind) {
      case "ExprStmt":
        line(depth, "ExprStmt");
        expr(s.expr, depth + 1);
        return;
      case "AssignStmt":
        line(depth, `Assign ${s.op}`);
        expr(s.target, depth + 1);
        expr(s.value, depth + 1);
        return;
      case "IfStmt":
        line(depth, "If");
        expr(s.cond, depth + 1);
        line(depth + 1, "Then");
        stmts(s.then, depth + 2);
        if (s.else) {
          line(depth + 1, "Else");
          stmts(s.else, depth + 2);
        }
        return;
      case "UnrollStmt":
        line(depth, "Unroll");
        expr(s.count, depth + 1);
        line(depth + 1, "Body");
        stmts(s.body, depth + 2);
        return;
      case "WhileStmt":
        line(depth, "While");
        expr(s.cond, depth + 1);
        line(depth + 1, "Body");
        stmts(s.body, depth + 2);
        return;
      case "JumpStmt":
        line(depth, s.jump === "return" ? "Return" : s.jump === "break" ? "Break" : "Continue");
        return;
      case "BlockStmt":
        line(depth, "Block");
        stmts(s.body, depth + 1);
        return;
    }
  }

  function expr(e: A.Expr, depth: number): void {
    const typed = (text: string) => line(depth, e.type ? `${text} :: ${typeName(e.type)}` : text);
    const kids = (...children: A.Expr[]) => {
      for (const c of children) expr(c, depth + 1);
    };
    switch (e.kind) {
      case "Int":
        typed(`Int ${e.value}`);
        return;
      case "String":
        typed(`String ${quote(e.value)}`);
        return;
      case "Variable":
        typed(`Variable $${e.name}`);
        return;
      case "Positional":
        typed(`Positional $${e.index}`);
        return;
      case "PositionalCount":
        typed("PositionalCount $#");
        return;
      case "Map":
        typed(`Map @${e.name}`);
        kids(...e.keys);
        return;
      case "Ident":
        typed(`Ident ${e.name}`);
        return;
      case "Call":
        typed(`Call ${e.name}`);
        kids(...e.args);
        return;
      case "Unary":
        typed(`Unary ${e.op}`);
        kids(e.operand);
        return;
      case "Binary":
        typed(`Binary ${e.op}`);
        kids(e.left, e.right);
        return;
      case "Ternary":
        typed("Ternary");
        kids(e.cond, e.then, e.else);
        return;
      case "Cast":
        typed(`Cast (${e.typeName}${"*".repeat(e.pointer)})`);
        kids(e.operand);
        return;
      case "Tuple":
        typed("Tuple");
        kids(...e.elems);
        return;
      case "TupleIndex":
        typed(`TupleIndex .${e.index}`);
        kids(e.tuple);
        return;
      case "Field":
        typed(`Field ${e.arrow ? "->" : "."}${e.field}`);
        kids(e.base);
        return;
      case "Index":
        typed("Index");
        kids(e.base, e.index);
        return;
      case "IncDec":
        typed(`IncDec ${e.prefix ? `${e.op} (prefix)` : `${e.op} (postfix)`}`);
        kids(e.target);
        return;
    }
  }
}

/** An attach point field: bare, or in double quotes when it was quoted in the script. */
function field(f: A.AttachField): string {
  return f.quoted ? quote(f.text) : f.text === "" ? "''" : f.text;
}

/** A string in double quotes with C-style escapes, so control characters stay on one line. */
function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + '"';
}
