// The abstract syntax tree. Every node has a span into the source; expressions get a type from
// the checker (compiler/check.ts).
import type { CStructDecl } from "./cstruct.js";
import type { Span } from "./source.js";
import type { ProbeTarget } from "./probes/provider.js";
import type { TracepointField } from "./probes/tracepoint-format.js";
import type { StructField, Type } from "./types.js";

export interface Program {
  kind: "Program";
  /** `#include` lines, kept only to be reported by --dump=ast. */
  includes: string[];
  /** The C struct and union definitions before the probes (compiler/cstruct.ts). */
  structs: CStructDecl[];
  probes: Probe[];
  span: Span;
}

export interface Probe {
  kind: "Probe";
  attachPoints: AttachPoint[];
  predicate: Expr | undefined;
  body: Stmt[];
  span: Span;
}

/** An attach point as written, split into its colon-separated fields (quotes removed). */
export interface AttachPoint {
  kind: "AttachPoint";
  /** The text as written in the script (before positional parameters are replaced). */
  raw: string;
  /** The fields after positional parameters were replaced and quotes removed. */
  fields: AttachField[];
  span: Span;
  /** Set by the checker: what the attach point names. */
  target?: ProbeTarget;
}

export interface AttachField {
  text: string;
  /** Whether the field was written in double quotes (then `*` is not a wildcard). */
  quoted: boolean;
  span: Span;
}

export type Stmt = ExprStmt | AssignStmt | IfStmt | UnrollStmt | WhileStmt | JumpStmt | BlockStmt;

export interface ExprStmt {
  kind: "ExprStmt";
  expr: Expr;
  span: Span;
}

export type AssignOperator = "=" | "+=" | "-=" | "*=" | "/=" | "%=" | "&=" | "|=" | "^=" | "<<=" | ">>=";

export interface AssignStmt {
  kind: "AssignStmt";
  target: VariableExpr | MapExpr;
  op: AssignOperator;
  value: Expr;
  span: Span;
}

export interface IfStmt {
  kind: "IfStmt";
  cond: Expr;
  then: Stmt[];
  /** `else if` is an IfStmt alone in this list. */
  else: Stmt[] | undefined;
  span: Span;
}

export interface UnrollStmt {
  kind: "UnrollStmt";
  count: Expr;
  body: Stmt[];
  span: Span;
}

export interface WhileStmt {
  kind: "WhileStmt";
  cond: Expr;
  body: Stmt[];
  span: Span;
}

export interface JumpStmt {
  kind: "JumpStmt";
  jump: "return" | "break" | "continue";
  span: Span;
}

export interface BlockStmt {
  kind: "BlockStmt";
  body: Stmt[];
  span: Span;
}

export type Expr =
  | IntExpr
  | StringExpr
  | VariableExpr
  | PositionalExpr
  | PositionalCountExpr
  | MapExpr
  | IdentExpr
  | CallExpr
  | UnaryExpr
  | BinaryExpr
  | TernaryExpr
  | CastExpr
  | TupleExpr
  | TupleIndexExpr
  | FieldExpr
  | IndexExpr
  | IncDecExpr;

interface ExprBase {
  span: Span;
  /** Set by the checker. */
  type?: Type;
}

export interface IntExpr extends ExprBase {
  kind: "Int";
  value: bigint;
}

export interface StringExpr extends ExprBase {
  kind: "String";
  /** The value with escapes resolved. */
  value: string;
}

/** `$name` */
export interface VariableExpr extends ExprBase {
  kind: "Variable";
  name: string;
}

/** `$1`, `$2`, ... */
export interface PositionalExpr extends ExprBase {
  kind: "Positional";
  index: number;
}

/** `$#` */
export interface PositionalCountExpr extends ExprBase {
  kind: "PositionalCount";
}

/** `@name`, `@name[k]`, `@name[k1, k2]`; `@` alone has the empty name. */
export interface MapExpr extends ExprBase {
  kind: "Map";
  name: string;
  keys: Expr[];
}

/** A bare name: a builtin (`pid`, `comm`, `arg0`) or, in calls, an argument like `uint8`. */
export interface IdentExpr extends ExprBase {
  kind: "Ident";
  name: string;
}

export interface CallExpr extends ExprBase {
  kind: "Call";
  name: string;
  nameSpan: Span;
  args: Expr[];
}

export type UnaryOperator = "-" | "!" | "~" | "*" | "&";

export interface UnaryExpr extends ExprBase {
  kind: "Unary";
  op: UnaryOperator;
  operand: Expr;
}

export type BinaryOperator =
  | "||"
  | "&&"
  | "|"
  | "^"
  | "&"
  | "=="
  | "!="
  | "<"
  | ">"
  | "<="
  | ">="
  | "<<"
  | ">>"
  | "+"
  | "-"
  | "*"
  | "/"
  | "%";

export interface BinaryExpr extends ExprBase {
  kind: "Binary";
  op: BinaryOperator;
  left: Expr;
  right: Expr;
}

export interface TernaryExpr extends ExprBase {
  kind: "Ternary";
  cond: Expr;
  then: Expr;
  else: Expr;
}

export interface CastExpr extends ExprBase {
  kind: "Cast";
  /** `uint8`, `int64`, ... or `struct Foo`. */
  typeName: string;
  /** Number of `*` after the type name. */
  pointer: number;
  typeSpan: Span;
  operand: Expr;
}

export interface TupleExpr extends ExprBase {
  kind: "Tuple";
  elems: Expr[];
}

/** `t.0` */
export interface TupleIndexExpr extends ExprBase {
  kind: "TupleIndex";
  tuple: Expr;
  index: number;
}

/** `args->name`, `args.name`; struct member access `p->name`, `s.name`. */
export interface FieldExpr extends ExprBase {
  kind: "Field";
  base: Expr;
  field: string;
  arrow: boolean;
  fieldSpan: Span;
  /** Set by the checker for `args->field`: where the field lies in the tracepoint's record. */
  tracepoint?: TracepointField;
  /** Set by the checker for struct member access: the member (offsets from the struct's start). */
  member?: StructField;
}

/** `e[i]`: indexing an array or a pointer (maps are MapExpr). */
export interface IndexExpr extends ExprBase {
  kind: "Index";
  base: Expr;
  index: Expr;
}

export interface IncDecExpr extends ExprBase {
  kind: "IncDec";
  op: "++" | "--";
  prefix: boolean;
  target: Expr;
}

export type Node = Program | Probe | AttachPoint | Stmt | Expr;
