// The bpfts library: compile a bpftrace-style script without root or a kernel.
export { analyze, formatDiagnostics, Source } from "./compiler/index.js";
export type { AnalyzeOptions, AnalyzeResult, Diagnostic } from "./compiler/index.js";
export type * as ast from "./compiler/ast.js";
export type { Type } from "./compiler/types.js";
