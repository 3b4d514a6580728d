// Source text to AST. The lexer (compiler/lexer.ts) finds where each probe begins; each probe is
// then parsed on its own by a chevrotain parser, so one broken probe does not hide the errors of
// the others.
import type * as A from "./ast.js";
import { Diagnostics } from "./diagnostics.js";
import { EmbeddedActionsParser, EMPTY_ALT, tokenMatcher, type IToken, type TokenType } from "./chevrotain.js";
import { atCDefinition, parseCDefinition, type CStructDecl } from "./cstruct.js";
import * as L from "./lexer.js";
import { isPredefinedMacro, macroText, preprocess, type IncludeLine, type Macro } from "./preprocess.js";
import { Source, type Span } from "./source.js";

const tokSpan = (t: IToken): Span => ({ start: t.startOffset, end: t.startOffset + Math.max(1, t.image.length) });
const between = (a: { span: Span }, b: { span: Span }): Span => ({ start: a.span.start, end: b.span.end });

/** C's binary operator precedence: higher binds tighter; all are left-associative. */
const PRECEDENCE: Record<string, number> = {
  "||": 1,
  "&&": 2,
  "|": 3,
  "^": 4,
  "&": 5,
  "==": 6,
  "!=": 6,
  "<": 7,
  ">": 7,
  "<=": 7,
  ">=": 7,
  "<<": 8,
  ">>": 8,
  "+": 9,
  "-": 9,
  "*": 10,
  "/": 10,
  "%": 10,
};

/** Builds the tree of `e0 op0 e1 op1 e2 ...` by precedence climbing (depth bounded by the levels). */
function climb(operands: A.Expr[], ops: string[]): A.Expr {
  let pos = 0;
  const level = (op: string) => PRECEDENCE[op]!;
  const up = (lhs: A.Expr, min: number): A.Expr => {
    while (pos < ops.length && level(ops[pos]!) >= min) {
      const op = ops[pos++]!;
      let rhs = operands[pos]!;
      while (pos < ops.length && level(ops[pos]!) > level(op)) rhs = up(rhs, level(op) + 1);
      lhs = { kind: "Binary", op: op as A.BinaryOperator, left: lhs, right: rhs, span: between(lhs, rhs) };
    }
    return lhs;
  };
  return up(operands[0]!, 1);
}

export const CAST_TYPE_NAMES = new Set(["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]);

/** Describes a token for an error message. */
function describe(t: IToken): string {
  if (t.tokenType === L.EOFToken) return "end of input";
  return `'${t.image}'`;
}

function label(t: TokenType): string {
  return t.LABEL ?? t.name;
}

const errorMessages = {
  buildMismatchTokenMessage({ expected, actual }: { expected: TokenType; actual: IToken }) {
    return `expected ${label(expected)}, found ${describe(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }: { firstRedundant: IToken }) {
    return `unexpected ${describe(firstRedundant)}`;
  },
  buildNoViableAltMessage({ actual, ruleName }: { actual: IToken[]; ruleName: string }) {
    const what = ruleName === "statementEnd" ? "';' or '}'" : ruleName === "primary" || ruleName === "unary" ? "an expression" : "a statement";
    return `expected ${what}, found ${describe(actual[0]!)}`;
  },
  buildEarlyExitMessage({ actual }: { actual: IToken[] }) {
    return `unexpected ${describe(actual[0]!)}`;
  },
};

type Rule<T> = (idx?: number) => T;

export class Parser extends EmbeddedActionsParser {
  /** Set before each parse: where integer and string errors go. */
  diags!: Diagnostics;

  /**
   * validate: run chevrotain's checks of the grammar (ambiguities, left recursion, ...), which
   * throw on a mistake. They cost milliseconds of every start, so only test/unit/grammar.test.ts
   * asks for them.
   */
  constructor({ validate = false }: { validate?: boolean } = {}) {
    super(L.allTokens, { errorMessageProvider: errorMessages, maxLookahead: 2, skipValidations: !validate, traceInitPerf: process.env["BPFTS_TRACE_INIT"] !== undefined });
    this.performSelfAnalysis();
  }

  probe = this.RULE("probe", (): A.Probe => {
    const points: IToken[] = [this.CONSUME(L.AttachPoint)];
    this.MANY(() => {
      this.CONSUME(L.Comma);
      points.push(this.CONSUME2(L.AttachPoint));
    });
    let predicate: A.Expr | undefined;
    this.OPTION(() => {
      this.CONSUME(L.Op.Slash!);
      predicate = this.SUBRULE(this.expression);
      this.CONSUME2(L.Op.Slash!);
    });
    const body = this.SUBRULE(this.block);
    return this.ACTION(() => ({
      kind: "Probe" as const,
      attachPoints: points.map((t) => ({ kind: "AttachPoint" as const, raw: t.image, fields: [], span: tokSpan(t) })),
      predicate,
      body: body.body,
      span: { start: points[0]!.startOffset, end: body.span.end },
    }));
  });

  block = this.RULE("block", (): A.BlockStmt => {
    const open = this.CONSUME(L.LCurly);
    const body: A.Stmt[] = [];
    this.MANY(() => {
      this.OR([
        { ALT: () => body.push(this.SUBRULE(this.ifStatement)) },
        { ALT: () => body.push(this.SUBRULE(this.unrollStatement)) },
        { ALT: () => body.push(this.SUBRULE(this.whileStatement)) },
        { ALT: () => body.push(this.SUBRULE2(this.block)) },
        { ALT: () => this.CONSUME(L.Semicolon) },
        {
          ALT: () => {
            body.push(this.SUBRULE(this.simpleStatement));
            this.SUBRULE(this.statementEnd);
          },
        },
      ]);
    });
    const close = this.CONSUME(L.RCurly);
    return this.ACTION(() => ({ kind: "BlockStmt" as const, body, span: { start: open.startOffset, end: close.startOffset + 1 } }));
  });

  /** A simple statement ends with ';' unless the block ends right after it. */
  statementEnd = this.RULE("statementEnd", () => {
    this.OR([{ ALT: () => this.CONSUME(L.Semicolon) }, { GATE: () => tokenMatcher(this.LA(1), L.RCurly), ALT: EMPTY_ALT() }]);
  });

  simpleStatement = this.RULE("simpleStatement", (): A.Stmt => {
    return this.OR([
      { ALT: () => this.jump(this.CONSUME(L.Return), "return") },
      { ALT: () => this.jump(this.CONSUME(L.Break), "break") },
      { ALT: () => this.jump(this.CONSUME(L.Continue), "continue") },
      {
        ALT: () => {
          const expr = this.SUBRULE(this.expression);
          let op: IToken | undefined;
          let value: A.Expr | undefined;
          this.OPTION(() => {
            op = this.CONSUME(L.AssignOp);
            value = this.SUBRULE2(this.expression);
          });
          return this.ACTION((): A.Stmt => {
            if (op === undefined || value === undefined) return { kind: "ExprStmt", expr, span: expr.span };
            if (expr.kind !== "Variable" && expr.kind !== "Map") {
              this.diags.error(expr.span, "only a $variable or an @map can be assigned to");
            }
            return {
              kind: "AssignStmt",
              target: expr as A.VariableExpr | A.MapExpr,
              op: op.image as A.AssignOperator,
              value,
              span: between(expr, value),
            };
          });
        },
      },
    ]);
  });

  private jump(t: IToken, jump: A.JumpStmt["jump"]): A.JumpStmt {
    return { kind: "JumpStmt", jump, span: tokSpan(t) };
  }

  ifStatement: Rule<A.IfStmt> = this.RULE("ifStatement", (): A.IfStmt => {
    const kw = this.CONSUME(L.If);
    this.CONSUME(L.LParen);
    const cond = this.SUBRULE(this.expression);
    this.CONSUME(L.RParen);
    const then = this.SUBRULE(this.block);
    let elseBody: A.Stmt[] | undefined;
    let end = 0;
    this.OPTION(() => {
      this.CONSUME(L.Else);
      this.OR([
        {
          ALT: () => {
            const nested = this.SUBRULE(this.ifStatement);
            this.ACTION(() => {
              elseBody = [nested];
              end = nested.span.end;
            });
          },
        },
        {
          ALT: () => {
            const b = this.SUBRULE2(this.block);
            this.ACTION(() => {
              elseBody = b.body;
              end = b.span.end;
            });
          },
        },
      ]);
    });
    return this.ACTION(() => ({ kind: "IfStmt" as const, cond, then: then.body, else: elseBody, span: { start: kw.startOffset, end: Math.max(end, then.span.end) } }));
  });

  unrollStatement = this.RULE("unrollStatement", (): A.UnrollStmt => {
    const kw = this.CONSUME(L.Unroll);
    this.CONSUME(L.LParen);
    const count = this.SUBRULE(this.expression);
    this.CONSUME(L.RParen);
    const body = this.SUBRULE(this.block);
    return this.ACTION(() => ({ kind: "UnrollStmt" as const, count, body: body.body, span: { start: kw.startOffset, end: body.span.end } }));
  });

  whileStatement = this.RULE("whileStatement", (): A.WhileStmt => {
    const kw = this.CONSUME(L.While);
    this.CONSUME(L.LParen);
    const cond = this.SUBRULE(this.expression);
    this.CONSUME(L.RParen);
    const body = this.SUBRULE(this.block);
    return this.ACTION(() => ({ kind: "WhileStmt" as const, cond, body: body.body, span: { start: kw.startOffset, end: body.span.end } }));
  });

  expression: Rule<A.Expr> = this.RULE("expression", (): A.Expr => this.SUBRULE(this.ternary));

  ternary: Rule<A.Expr> = this.RULE("ternary", (): A.Expr => {
    let e = this.SUBRULE(this.binary);
    this.OPTION(() => {
      this.CONSUME(L.Question);
      const then = this.SUBRULE(this.expression);
      this.CONSUME(L.Colon);
      const other = this.SUBRULE2(this.ternary);
      this.ACTION(() => {
        e = { kind: "Ternary", cond: e, then, else: other, span: between(e, other) };
      });
    });
    return e;
  });

  /** A chain of unary expressions and binary operators, precedence applied by climb(). */
  binary: Rule<A.Expr> = this.RULE("binary", (): A.Expr => {
    const operands: A.Expr[] = [this.SUBRULE(this.unary)];
    const ops: string[] = [];
    this.MANY({
      // In a predicate `/ ... /`, the closing slash is followed by the probe's '{'.
      GATE: () => !(tokenMatcher(this.LA(1), L.Op.Slash!) && tokenMatcher(this.LA(2), L.LCurly)),
      DEF: () => {
        ops.push(this.CONSUME(L.BinaryOp).image);
        operands.push(this.SUBRULE2(this.unary));
      },
    });
    return this.ACTION(() => climb(operands, ops));
  });

  unary: Rule<A.Expr> = this.RULE("unary", (): A.Expr => {
    return this.OR([
      {
        ALT: () => {
          const op = this.OR2([
            { ALT: () => this.CONSUME(L.Op.Minus!) },
            { ALT: () => this.CONSUME(L.Op.Bang!) },
            { ALT: () => this.CONSUME(L.Op.Tilde!) },
            { ALT: () => this.CONSUME(L.Op.Star!) },
            { ALT: () => this.CONSUME(L.Op.Amp!) },
          ]);
          const operand = this.SUBRULE(this.unary);
          return this.ACTION(() => ({ kind: "Unary" as const, op: op.image as A.UnaryOperator, operand, span: { start: op.startOffset, end: operand.span.end } }));
        },
      },
      {
        ALT: () => {
          const op = this.CONSUME(L.IncDecOp);
          const target = this.SUBRULE2(this.unary);
          return this.ACTION(() => ({
            kind: "IncDec" as const,
            op: op.image as "++" | "--",
            prefix: true,
            target,
            span: { start: op.startOffset, end: target.span.end },
          }));
        },
      },
      {
        GATE: () => this.atCast(),
        ALT: () => {
          const open = this.CONSUME(L.LParen);
          const ty = this.SUBRULE(this.typeName);
          let pointer = 0;
          this.MANY(() => {
            this.CONSUME2(L.Op.Star!);
            pointer++;
          });
          this.CONSUME(L.RParen);
          const operand = this.SUBRULE3(this.unary);
          return this.ACTION(() => ({
            kind: "Cast" as const,
            typeName: ty.name,
            pointer,
            typeSpan: ty.span,
            operand,
            span: { start: open.startOffset, end: operand.span.end },
          }));
        },
      },
      { ALT: () => this.SUBRULE(this.postfix) },
    ]);
  });

  private atCast(): boolean {
    if (!tokenMatcher(this.LA(1), L.LParen)) return false;
    const t2 = this.LA(2);
    if (tokenMatcher(t2, L.Struct)) return true;
    if (!tokenMatcher(t2, L.Ident) || !CAST_TYPE_NAMES.has(t2.image)) return false;
    const t3 = this.LA(3);
    return tokenMatcher(t3, L.RParen) || tokenMatcher(t3, L.Op.Star!);
  }

  typeName = this.RULE("typeName", (): { name: string; span: Span } => {
    return this.OR([
      {
        ALT: () => {
          const kw = this.CONSUME(L.Struct);
          const id = this.CONSUME(L.Ident);
          return this.ACTION(() => ({ name: `struct ${id.image}`, span: { start: kw.startOffset, end: id.startOffset + id.image.length } }));
        },
      },
      {
        ALT: () => {
          const id = this.CONSUME2(L.Ident);
          return this.ACTION(() => ({ name: id.image, span: tokSpan(id) }));
        },
      },
    ]);
  });

  postfix = this.RULE("postfix", (): A.Expr => {
    let e = this.SUBRULE(this.primary);
    this.MANY(() => {
      this.OR([
        {
          ALT: () => {
            this.CONSUME(L.Dot);
            this.OR2([
              {
                ALT: () => {
                  const n = this.CONSUME(L.IntLit);
                  this.ACTION(() => {
                    e = { kind: "TupleIndex", tuple: e, index: Number(n.image), span: { start: e.span.start, end: tokSpan(n).end } };
                  });
                },
              },
              {
                ALT: () => {
                  const f = this.CONSUME(L.Ident);
                  this.ACTION(() => {
                    e = { kind: "Field", base: e, field: f.image, arrow: false, fieldSpan: tokSpan(f), span: { start: e.span.start, end: tokSpan(f).end } };
                  });
                },
              },
            ]);
          },
        },
        {
          ALT: () => {
            this.CONSUME(L.Arrow);
            const f = this.CONSUME2(L.Ident);
            this.ACTION(() => {
              e = { kind: "Field", base: e, field: f.image, arrow: true, fieldSpan: tokSpan(f), span: { start: e.span.start, end: tokSpan(f).end } };
            });
          },
        },
        {
          ALT: () => {
            this.CONSUME(L.LBracket);
            const index = this.SUBRULE(this.expression);
            const close = this.CONSUME(L.RBracket);
            this.ACTION(() => {
              e = { kind: "Index", base: e, index, span: { start: e.span.start, end: close.startOffset + 1 } };
            });
          },
        },
        {
          ALT: () => {
            const op = this.CONSUME(L.IncDecOp);
            this.ACTION(() => {
              e = { kind: "IncDec", op: op.image as "++" | "--", prefix: false, target: e, span: { start: e.span.start, end: op.startOffset + 2 } };
            });
          },
        },
      ]);
    });
    return e;
  });

  primary = this.RULE("primary", (): A.Expr => {
    return this.OR([
      {
        ALT: () => {
          const t = this.CONSUME(L.IntLit);
          return this.ACTION(() => ({ kind: "Int" as const, value: this.intValue(t), span: tokSpan(t) }));
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(L.StringLit);
          return this.ACTION(() => ({ kind: "String" as const, value: this.stringValue(t), span: tokSpan(t) }));
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(L.Variable);
          return this.ACTION(() => ({ kind: "Variable" as const, name: t.image.slice(1), span: tokSpan(t) }));
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(L.Positional);
          return this.ACTION(() => ({ kind: "Positional" as const, index: Number(t.image.slice(1)), span: tokSpan(t) }));
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(L.PositionalCount);
          return this.ACTION(() => ({ kind: "PositionalCount" as const, span: tokSpan(t) }));
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(L.MapName);
          let keys: A.Expr[] = [];
          let end = 0;
          this.OPTION(() => {
            this.CONSUME(L.LBracket);
            keys = this.SUBRULE(this.expressionList);
            const close = this.CONSUME(L.RBracket);
            this.ACTION(() => (end = close.startOffset + 1));
          });
          return this.ACTION(() => ({ kind: "Map" as const, name: t.image.slice(1), keys, span: { start: t.startOffset, end: Math.max(end, tokSpan(t).end) } }));
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(L.Ident);
          let args: A.Expr[] | undefined;
          let end = 0;
          this.OPTION2(() => {
            this.CONSUME(L.LParen);
            args = [];
            this.OPTION3(() => (args = this.SUBRULE2(this.expressionList)));
            const close = this.CONSUME(L.RParen);
            this.ACTION(() => (end = close.startOffset + 1));
          });
          return this.ACTION((): A.Expr => {
            if (args === undefined) return { kind: "Ident", name: t.image, span: tokSpan(t) };
            return { kind: "Call", name: t.image, nameSpan: tokSpan(t), args, span: { start: t.startOffset, end } };
          });
        },
      },
      {
        // `struct X` as a call argument, as in sizeof(struct X): parsed so the checker can name it.
        ALT: () => {
          const kw = this.CONSUME(L.Struct);
          const id = this.CONSUME2(L.Ident);
          return this.ACTION(() => ({ kind: "Ident" as const, name: `struct ${id.image}`, span: { start: kw.startOffset, end: tokSpan(id).end } }));
        },
      },
      {
        ALT: () => {
          const open = this.CONSUME2(L.LParen);
          const elems = this.SUBRULE3(this.expressionList);
          const close = this.CONSUME2(L.RParen);
          return this.ACTION((): A.Expr => {
            const span = { start: open.startOffset, end: close.startOffset + 1 };
            // A parenthesised expression's span takes in its parentheses, as bpftrace's does.
            if (elems.length === 1) return { ...elems[0]!, span };
            return { kind: "Tuple", elems, span };
          });
        },
      },
    ]);
  });

  expressionList = this.RULE("expressionList", (): A.Expr[] => {
    const list: A.Expr[] = [this.SUBRULE(this.expression)];
    this.MANY(() => {
      this.CONSUME(L.Comma);
      list.push(this.SUBRULE2(this.expression));
    });
    return list;
  });

  private intValue(t: IToken): bigint {
    const text = t.image;
    let value: bigint;
    if (/^0[0-9]+$/.test(text)) {
      if (!/^[0-7]+$/.test(text)) {
        this.diags.error(tokSpan(t), `invalid octal literal '${text}'`);
        return 0n;
      }
      value = BigInt("0o" + text.slice(1));
    } else {
      value = BigInt(text);
    }
    if (value > 0xffff_ffff_ffff_ffffn) {
      this.diags.error(tokSpan(t), `integer literal '${text}' does not fit in 64 bits`);
      return 0n;
    }
    return value;
  }

  private stringValue(t: IToken): string {
    const r = unescapeString(t.image.slice(1, -1));
    if (r.error) this.diags.error({ start: t.startOffset + 1 + r.error.offset, end: t.startOffset + 1 + r.error.offset + r.error.length }, r.error.message);
    return r.value;
  }
}

/**
 * Resolves C escapes in a string literal's body. The result is a byte string: each char is one
 * byte (0-255); characters written in the source become their UTF-8 bytes.
 */
export function unescapeString(body: string): { value: string; error?: { offset: number; length: number; message: string } } {
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== "\\") {
      // Characters stand for their UTF-8 bytes: the value is a byte string (one char per byte).
      const cp = body.codePointAt(i)!;
      if (cp < 0x80) out += c;
      else {
        out += Buffer.from(String.fromCodePoint(cp), "utf8").toString("latin1");
        if (cp > 0xffff) i++;
      }
      continue;
    }
    const e = body[i + 1];
    const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"', "'": "'", a: "\x07", b: "\b", f: "\f", v: "\v", e: "\x1b", "?": "?" };
    if (e !== undefined && simple[e] !== undefined) {
      out += simple[e];
      i++;
    } else if (e === "x") {
      const m = /^[0-9a-fA-F]{1,2}/.exec(body.slice(i + 2));
      if (!m) return { value: out, error: { offset: i, length: 2, message: "\\x used with no following hex digits" } };
      out += String.fromCharCode(parseInt(m[0], 16));
      i += 1 + m[0].length;
    } else if (e !== undefined && e >= "0" && e <= "7") {
      const m = /^[0-7]{1,3}/.exec(body.slice(i + 1))!;
      const code = parseInt(m[0], 8);
      if (code > 255) return { value: out, error: { offset: i, length: 1 + m[0].length, message: `octal escape '\\${m[0]}' is out of range` } };
      out += String.fromCharCode(code);
      i += m[0].length;
    } else {
      return { value: out, error: { offset: i, length: 2, message: `invalid escape sequence '\\${e ?? ""}'` } };
    }
  }
  return { value: out };
}

let parser: Parser | undefined;

/**
 * Replaces each identifier that names an object-like macro by the tokens of its value, placed
 * where the identifier was (as bpftrace's lexer does with the macros clang reports).
 */
function expandMacros(tokens: IToken[], macros: Map<string, Macro>, reserved: (name: string) => boolean): IToken[] {
  const out: IToken[] = [];
  const cache = new Map<string, IToken[] | undefined>();
  for (const t of tokens) {
    const name = t.image;
    if (t.tokenType !== L.Ident || !macros.has(name) || isPredefinedMacro(name) || reserved(name)) {
      out.push(t);
      continue;
    }
    if (!cache.has(name)) {
      const text = macroText(macros, name);
      // Lexed inside braces, so that the value never reads as an attach point.
      const lexed = text === undefined ? undefined : L.tokenize(`{ ${text}`);
      cache.set(name, lexed === undefined || lexed.errors.length > 0 ? undefined : lexed.tokens.slice(1));
    }
    const value = cache.get(name);
    if (value === undefined) out.push(t);
    else for (const v of value) out.push({ ...v, startOffset: t.startOffset, endOffset: t.endOffset });
  }
  return out;
}

export interface ParseOptions {
  /** Positional parameters ($1, $2, ...), used inside attach points. */
  params?: string[];
  /** Headers included before the script's own includes (--include FILE: `#include <FILE>`). */
  includeFiles?: string[];
  /** Directories `#include` searches first (-I DIR). */
  includeDirs?: string[];
  /** Where `#include "file"` looks first: the script's directory (the working directory for -e). */
  scriptDir?: string;
  /** Names no macro replaces (builtins and functions, which bpftrace's lexer reads as such). */
  reserved?: (name: string) => boolean;
}

export interface ParseResult {
  program: A.Program;
  diagnostics: Diagnostics;
}

/** Parses a whole script. Always returns a program (possibly missing broken probes) and diagnostics. */
export function parse(source: Source, options: ParseOptions = {}, diags: Diagnostics = new Diagnostics(source)): ParseResult {
  parser ??= new Parser();
  const lex = L.tokenize(source.text);
  for (const e of lex.errors) {
    const isUnterminated = source.text[e.offset] === '"';
    diags.error({ start: e.offset, end: e.offset + e.length }, isUnterminated ? "unterminated string" : `unexpected character '${source.text.slice(e.offset, e.offset + Math.min(e.length, 1))}'`);
  }
  const includes: string[] = [];
  const includeLines: IncludeLine[] = (options.includeFiles ?? []).map((name) => ({ name, angled: true }));
  const defines: string[] = [];
  for (const d of lex.groups["directives"] ?? []) {
    const text = d.image.trimEnd();
    if (/^#\s*include\b/.test(text)) {
      includes.push(text);
      const m = /^(#\s*include\s*)(<([^>\n]*)>|"([^"\n]*)")\s*$/.exec(text);
      if (m === null) diags.error(tokSpan(d), "#include expects <FILE> or \"FILE\"");
      else includeLines.push({ name: m[3] ?? m[4]!, angled: m[3] !== undefined, span: { start: d.startOffset + m[1]!.length, end: d.startOffset + m[1]!.length + m[2]!.length } });
    } else if (/^#\s*define\s+[A-Za-z_]/.test(text)) {
      includes.push(text);
      defines.push(text.replace(/^#\s*define\s+/, ""));
    } else diags.error(tokSpan(d), `preprocessor directive '${text.split(/\s+/)[0]}' is not supported (only #include and #define lines are)`);
  }
  const pp = includeLines.length > 0 || defines.length > 0 ? preprocess(includeLines, defines, { includeDirs: options.includeDirs ?? [], ...(options.scriptDir !== undefined ? { scriptDir: options.scriptDir } : {}) }) : undefined;
  for (const e of pp?.errors ?? []) diags.error(e.include.span ?? { start: 0, end: 0 }, e.include.span ? e.message : `${e.message} (--include)`);
  const lexed = pp === undefined ? lex.tokens : expandMacros(lex.tokens, pp.macros, options.reserved ?? (() => false));
  const tokens = lexed.filter((t) => {
    if (t.tokenType === L.UnterminatedString) {
      diags.error(tokSpan(t), "unterminated string");
      return false;
    }
    if (t.tokenType === L.UnterminatedComment) {
      diags.error({ start: t.startOffset, end: t.startOffset + 2 }, "unterminated comment: the file ends inside /* ... */");
      return false;
    }
    return true;
  });
  const probes: A.Probe[] = [];
  const structs: CStructDecl[] = [];
  let i = 0;
  while (i < tokens.length) {
    const t = tokens[i]!;
    if (atCDefinition(tokens, i)) {
      const def = parseCDefinition(tokens, i, diags);
      structs.push(...def.decls);
      i = def.next;
      continue;
    }
    if (t.tokenType !== L.AttachPoint) {
      diags.error(tokSpan(t), `expected a probe (an attach point such as BEGIN or uprobe:PATH:FUNC), found ${describe(t)}`);
      i = nextProbeStart(tokens, i + 1);
      continue;
    }
    const end = nextProbeStart(tokens, i + 1);
    parser.diags = diags;
    parser.input = tokens.slice(i, end);
    const probe = parser.probe();
    if (parser.errors.length > 0) {
      for (const e of parser.errors) {
        const tok = e.token.tokenType === L.EOFToken ? tokens[end - 1]! : e.token;
        const at = e.token.tokenType === L.EOFToken ? { start: tokSpan(tok).end, end: tokSpan(tok).end } : tokSpan(tok);
        diags.error(at, e.message);
      }
    } else if (probe) {
      for (const ap of probe.attachPoints) ap.fields = splitAttachPoint(ap, options.params ?? [], diags);
      probes.push(probe);
    }
    i = end;
  }
  const program: A.Program = { kind: "Program", includes, structs, probes, span: { start: 0, end: source.text.length } };
  if (tokens.length === 0 && diags.list.length === 0) diags.error({ start: source.text.length, end: source.text.length }, "the program has no probes");
  return { program, diagnostics: diags };
}

/** Index of the next token that begins a probe (an attach point not after a comma), or the end. */
function nextProbeStart(tokens: IToken[], from: number): number {
  for (let j = from; j < tokens.length; j++) {
    const t = tokens[j]!.tokenType;
    if (t === L.AttachPoint && tokens[j - 1]?.tokenType !== L.Comma) return j;
    if (atCDefinition(tokens, j) && (tokens[j - 1]?.tokenType === L.RCurly || tokens[j - 1]?.tokenType === L.Semicolon) && depthBefore(tokens, j) === 0) return j;
  }
  return tokens.length;
}

function depthBefore(tokens: IToken[], j: number): number {
  let depth = 0;
  for (let k = 0; k < j; k++) {
    if (tokens[k]!.tokenType === L.LCurly) depth++;
    else if (tokens[k]!.tokenType === L.RCurly) depth = Math.max(0, depth - 1);
  }
  return depth;
}

/**
 * Splits an attach point into its colon-separated fields. Quoted fields lose their quotes;
 * positional parameters ($1) are replaced by their values. Colons inside quotes do not split.
 */
export function splitAttachPoint(ap: A.AttachPoint, params: string[], diags: Diagnostics): A.AttachField[] {
  const fields: A.AttachField[] = [];
  const raw = ap.raw;
  const base = ap.span.start;
  let text = "";
  let quoted = false;
  let fieldStart = 0;
  for (let i = 0; i <= raw.length; i++) {
    const c = raw[i];
    if (c === undefined || c === ":") {
      fields.push({ text, quoted, span: { start: base + fieldStart, end: base + i } });
      text = "";
      quoted = false;
      fieldStart = i + 1;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < raw.length && raw[j] !== '"') {
        if (raw[j] === "\\" && j + 1 < raw.length) j++;
        text += raw[j];
        j++;
      }
      quoted = true;
      i = j;
      continue;
    }
    if (c === "$") {
      const m = /^\$([0-9]+)/.exec(raw.slice(i));
      if (m) {
        const n = Number(m[1]);
        const value = params[n - 1];
        if (value === undefined) {
          diags.error({ start: base + i, end: base + i + m[0].length }, `positional parameter $${n} is not set`);
        } else {
          text += value;
        }
        i += m[0].length - 1;
        continue;
      }
    }
    text += c;
  }
  return fields;
}

/** Parses a single expression; for tests and tools. */
export function parseExpression(text: string): { expr: A.Expr | undefined; diagnostics: Diagnostics } {
  const source = new Source("expr", `BEGIN { ${text} }`);
  const { program, diagnostics } = parse(source);
  const stmt = program.probes[0]?.body[0];
  return { expr: stmt?.kind === "ExprStmt" ? stmt.expr : undefined, diagnostics };
}
