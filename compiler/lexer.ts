// The tokens of the language. Attach points (`uprobe:/bin/bash:readline`) are one token each,
// recognised only where a probe may begin, so paths with slashes and dots need no quoting.
import { createToken, Lexer, type IToken, type TokenType } from "./chevrotain.js";

const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n\f\v]+/, group: Lexer.SKIPPED, line_breaks: true });
const LineComment = createToken({ name: "LineComment", pattern: /\/\/[^\n]*/, group: Lexer.SKIPPED });
const BlockComment = createToken({ name: "BlockComment", pattern: /\/\*[\s\S]*?\*\//, group: Lexer.SKIPPED, line_breaks: true });
/** A block comment that never ends: reported by the parser. */
export const UnterminatedComment = createToken({ name: "UnterminatedComment", pattern: /\/\*[\s\S]*/, line_breaks: true, label: "unterminated comment" });
/** `#include <...>` and other preprocessor lines; kept aside for the parser to look at. */
export const Directive = createToken({ name: "Directive", pattern: /#[^\n]*/, group: "directives" });

/** Where the brace depth of a token array stands, kept per tokenize() call. */
const depthState = new WeakMap<IToken[], { seen: number; depth: number }>();

function braceDepth(tokens: IToken[]): number {
  let st = depthState.get(tokens);
  if (st === undefined) {
    st = { seen: 0, depth: 0 };
    depthState.set(tokens, st);
  }
  for (; st.seen < tokens.length; st.seen++) {
    const t = tokens[st.seen]!.tokenType;
    if (t === LCurly) st.depth++;
    else if (t === RCurly) st.depth = Math.max(0, st.depth - 1);
  }
  return st.depth;
}

/** Providers whose second field is a file path, which may hold '/'. */
const PATH_PROVIDERS = new Set(["uprobe", "u", "uretprobe", "ur", "usdt", "U"]);

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/** Matches an attach point at `offset` if the tokens so far put us where a probe may begin. */
function matchAttachPoint(text: string, offset: number, tokens: IToken[]): RegExpExecArray | null {
  if (!isIdentStart(text.charCodeAt(offset))) return null;
  const last = tokens[tokens.length - 1];
  if (last !== undefined) {
    const t = last.tokenType;
    const atTop = braceDepth(tokens) === 0;
    const afterList = t === Comma && tokens[tokens.length - 2]?.tokenType === AttachPoint;
    if (!afterList && !(atTop && (t === RCurly || t === Semicolon))) return null;
  }
  if (/^(struct|union)\b/.test(text.slice(offset, offset + 7))) return null;
  let i = offset;
  let field = 0;
  let provider = "";
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      // A quoted field: up to the closing quote, with backslash escapes.
      let j = i + 1;
      while (j < text.length && text[j] !== '"' && text[j] !== "\n") j += text[j] === "\\" ? 2 : 1;
      if (text[j] !== '"') break;
      i = j + 1;
      continue;
    }
    if (/[\s,{};()]/.test(c)) break;
    if (c === "/" && !(field === 1 && PATH_PROVIDERS.has(provider))) break;
    if (c === ":") {
      if (field === 0) provider = text.slice(offset, i);
      field++;
    }
    i++;
  }
  const match = [text.slice(offset, i)] as unknown as RegExpExecArray;
  return match;
}

export const AttachPoint = createToken({
  name: "AttachPoint",
  pattern: { exec: matchAttachPoint },
  line_breaks: false,
  start_chars_hint: [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"],
  label: "attach point",
});

export const StringLit = createToken({ name: "StringLit", pattern: /"(?:[^"\\\n]|\\.)*"/, label: "string" });
export const UnterminatedString = createToken({ name: "UnterminatedString", pattern: /"(?:[^"\\\n]|\\.)*/, label: "unterminated string" });
export const IntLit = createToken({ name: "IntLit", pattern: /0[xX][0-9a-fA-F]+|[0-9]+/, label: "integer" });
export const PositionalCount = createToken({ name: "PositionalCount", pattern: /\$#/, label: "'$#'" });
export const Positional = createToken({ name: "Positional", pattern: /\$[0-9]+/, label: "positional parameter" });
export const Variable = createToken({ name: "Variable", pattern: /\$[A-Za-z_][A-Za-z0-9_]*/, label: "variable" });
export const MapName = createToken({ name: "MapName", pattern: /@[A-Za-z_][A-Za-z0-9_]*|@/, label: "map" });
export const Ident = createToken({ name: "Ident", pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: "identifier" });

function keyword(word: string): TokenType {
  return createToken({ name: word[0]!.toUpperCase() + word.slice(1), pattern: new RegExp(word), longer_alt: Ident, label: `'${word}'` });
}
export const If = keyword("if");
export const Else = keyword("else");
export const Unroll = keyword("unroll");
export const While = keyword("while");
export const Return = keyword("return");
export const Break = keyword("break");
export const Continue = keyword("continue");
export const Struct = keyword("struct");

function punct(name: string, text: string, categories?: TokenType[]): TokenType {
  const pattern = new RegExp(text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"));
  return createToken({ name, pattern, label: `'${text}'`, ...(categories ? { categories } : {}) });
}

/** Token categories: one per precedence level, so the parser consumes "any operator of level N". */
export const AssignOp = createToken({ name: "AssignOp", pattern: Lexer.NA });
export const EqualityOp = createToken({ name: "EqualityOp", pattern: Lexer.NA });
export const RelationalOp = createToken({ name: "RelationalOp", pattern: Lexer.NA });
export const ShiftOp = createToken({ name: "ShiftOp", pattern: Lexer.NA });
export const AdditiveOp = createToken({ name: "AdditiveOp", pattern: Lexer.NA });
export const MultiplicativeOp = createToken({ name: "MultiplicativeOp", pattern: Lexer.NA });
export const IncDecOp = createToken({ name: "IncDecOp", pattern: Lexer.NA });
/** Every binary operator: the parser reads operator chains flat and applies precedence itself. */
export const BinaryOp = createToken({ name: "BinaryOp", pattern: Lexer.NA, label: "operator" });

export const LCurly = punct("LCurly", "{");
export const RCurly = punct("RCurly", "}");
export const LParen = punct("LParen", "(");
export const RParen = punct("RParen", ")");
export const LBracket = punct("LBracket", "[");
export const RBracket = punct("RBracket", "]");
export const Comma = punct("Comma", ",");
export const Semicolon = punct("Semicolon", ";");
export const Question = punct("Question", "?");
export const Colon = punct("Colon", ":");
export const Arrow = punct("Arrow", "->");
export const Dot = punct("Dot", ".");

const ops: Array<[string, string, TokenType[]?]> = [
  ["ShlAssign", "<<=", [AssignOp]],
  ["ShrAssign", ">>=", [AssignOp]],
  ["PlusAssign", "+=", [AssignOp]],
  ["MinusAssign", "-=", [AssignOp]],
  ["StarAssign", "*=", [AssignOp]],
  ["SlashAssign", "/=", [AssignOp]],
  ["PercentAssign", "%=", [AssignOp]],
  ["AmpAssign", "&=", [AssignOp]],
  ["PipeAssign", "|=", [AssignOp]],
  ["CaretAssign", "^=", [AssignOp]],
  ["Increment", "++", [IncDecOp]],
  ["Decrement", "--", [IncDecOp]],
  ["AndAnd", "&&", [BinaryOp]],
  ["OrOr", "||", [BinaryOp]],
  ["EqEq", "==", [EqualityOp, BinaryOp]],
  ["NotEq", "!=", [EqualityOp, BinaryOp]],
  ["Le", "<=", [RelationalOp, BinaryOp]],
  ["Ge", ">=", [RelationalOp, BinaryOp]],
  ["Shl", "<<", [ShiftOp, BinaryOp]],
  ["Shr", ">>", [ShiftOp, BinaryOp]],
  ["Lt", "<", [RelationalOp, BinaryOp]],
  ["Gt", ">", [RelationalOp, BinaryOp]],
  ["Assign", "=", [AssignOp]],
  ["Plus", "+", [AdditiveOp, BinaryOp]],
  ["Minus", "-", [AdditiveOp, BinaryOp]],
  ["Star", "*", [MultiplicativeOp, BinaryOp]],
  ["Slash", "/", [MultiplicativeOp, BinaryOp]],
  ["Percent", "%", [MultiplicativeOp, BinaryOp]],
  ["Amp", "&", [BinaryOp]],
  ["Pipe", "|", [BinaryOp]],
  ["Caret", "^", [BinaryOp]],
  ["Bang", "!"],
  ["Tilde", "~"],
];
const opTokens: Record<string, TokenType> = {};
for (const [name, text, cats] of ops) opTokens[name] = punct(name, text, cats);
export const Op = opTokens as Record<(typeof ops)[number][0], TokenType>;

export const allTokens: TokenType[] = [
  WhiteSpace,
  BlockComment,
  UnterminatedComment,
  LineComment,
  Directive,
  AttachPoint,
  StringLit,
  UnterminatedString,
  IntLit,
  PositionalCount,
  Positional,
  Variable,
  MapName,
  If,
  Else,
  Unroll,
  While,
  Return,
  Break,
  Continue,
  Struct,
  Ident,
  Arrow,
  ...ops.map(([name]) => opTokens[name]!),
  LCurly,
  RCurly,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Semicolon,
  Question,
  Colon,
  Dot,
  AssignOp,
  EqualityOp,
  RelationalOp,
  ShiftOp,
  AdditiveOp,
  MultiplicativeOp,
  IncDecOp,
  BinaryOp,
];

/**
 * The lexer's options. Chevrotain's validations of the token definitions are skipped at run time
 * (they cost milliseconds of every start; test/unit/grammar.test.ts runs them). safeMode: no
 * first-character tables, which take longer to build than they save on scripts of ordinary size.
 */
export const LEXER_CONFIG = { positionTracking: "onlyOffset", safeMode: true, skipValidations: true } as const;

let lexer: InstanceType<typeof Lexer> | undefined;

export function tokenize(text: string) {
  lexer ??= new Lexer(allTokens, LEXER_CONFIG);
  return lexer.tokenize(text);
}
export { EOF as EOFToken } from "./chevrotain.js";
