// Chevrotain's own checks of the token definitions and the grammar. bpfts skips them at run time
// (compiler/lexer.ts LEXER_CONFIG, compiler/parser.ts Parser) because they cost milliseconds of
// every start; here they run, so a grammar mistake (an ambiguity, left recursion, a token that can
// never match, ...) still fails a test.
import { expect, test } from "vitest";
import { Lexer, LexerDefinitionErrorType } from "../../compiler/chevrotain.js";
import { allTokens, AttachPoint, LEXER_CONFIG, tokenize } from "../../compiler/lexer.js";
import { Parser } from "../../compiler/parser.js";

test("the token definitions pass chevrotain's lexer validations", () => {
  const lexer = new Lexer(allTokens, { ...LEXER_CONFIG, skipValidations: false, deferDefinitionErrorsHandling: true });
  // One known false alarm: chevrotain tries AttachPoint's matcher on each keyword out of context
  // (no tokens before it), where it matches; in a real script it matches only where a probe can
  // start, so the keywords after it are reachable (checked below).
  const errors = lexer.lexerDefinitionErrors.filter((e) => !(e.type === LexerDefinitionErrorType.UNREACHABLE_PATTERN && e.tokenTypes?.[0] === AttachPoint));
  expect(errors.map((e) => e.message)).toEqual([]);
});

test("keywords after AttachPoint in the token list are lexed as keywords in statements", () => {
  const words = ["if", "else", "unroll", "while", "return", "break", "continue"];
  const text = `BEGIN { ${words.map((w) => `${w} ;`).join(" ")} }`;
  const names = tokenize(text).tokens.map((t) => t.tokenType.name);
  for (const w of words) expect(names).toContain(w[0]!.toUpperCase() + w.slice(1));
});

test("the grammar passes chevrotain's parser validations", () => {
  // performSelfAnalysis throws "Parser Definition Errors detected" with the list when any fails.
  expect(() => new Parser({ validate: true })).not.toThrow();
});

test("the validations are switched off at run time", () => {
  expect(LEXER_CONFIG.skipValidations).toBe(true);
});
