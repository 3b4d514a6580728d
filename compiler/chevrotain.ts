// Loads chevrotain from its single-file bundle: the package's per-module build pulls in all of
// lodash-es and takes 0.6-0.8 s to import, the bundle about 15 ms. Its `exports` map only exposes
// ".", so the bundle is found next to the resolved entry point. In the installed command's bundle
// (scripts/bundle.mjs) this module is replaced by a static import of that same file, inlined.
import type * as Chevrotain from "chevrotain";

const bundle = new URL("../chevrotain.mjs", import.meta.resolve("chevrotain"));
const chevrotain = (await import(bundle.href)) as typeof Chevrotain;

export const { createToken, Lexer, LexerDefinitionErrorType, EmbeddedActionsParser, EOF, EMPTY_ALT, tokenMatcher } = chevrotain;
export type { IToken, TokenType, CstNode, CstElement, IRecognitionException, ILexingError } from "chevrotain";
