// Diagnostics: every error and warning is `FILE:LINE:COL: error: message`, then the source line
// and a caret with an underline under the exact span.
import type { Source, Span } from "./source.js";

export type Severity = "error" | "warning";

export interface Diagnostic {
  severity: Severity;
  message: string;
  /** Script name: its path, or "stdin" for -e. */
  file: string;
  /** 1-based line and column of the span's start. */
  line: number;
  column: number;
  span: Span;
}

/** Collects the diagnostics of one compilation. */
export class Diagnostics {
  readonly list: Diagnostic[] = [];
  constructor(readonly source: Source) {}

  error(span: Span, message: string): void {
    this.add("error", span, message);
  }

  warning(span: Span, message: string): void {
    this.add("warning", span, message);
  }

  private add(severity: Severity, span: Span, message: string): void {
    const start = Math.max(0, Math.min(span.start, this.source.text.length));
    const end = Math.max(start, Math.min(span.end, this.source.text.length));
    const { line, column } = this.source.position(start);
    // Several passes may find the same problem; report it once.
    if (this.list.some((d) => d.span.start === start && d.message === message)) return;
    this.list.push({ severity, message, file: this.source.name, line, column, span: { start, end } });
  }

  get errorCount(): number {
    return this.list.filter((d) => d.severity === "error").length;
  }

  hasErrors(): boolean {
    return this.list.some((d) => d.severity === "error");
  }

  /** In source order, errors and warnings interleaved. */
  sorted(): Diagnostic[] {
    return [...this.list].sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end);
  }
}

export interface FormatOptions {
  color?: boolean;
}

/** Renders one diagnostic as text: the header line, the source line, the caret line. */
export function formatDiagnostic(d: Diagnostic, source: Source, options: FormatOptions = {}): string {
  const color = options.color === true;
  const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[0m` : s);
  const sev = d.severity === "error" ? (color ? "\x1b[1;31merror\x1b[0m" : "error") : color ? "\x1b[1;35mwarning\x1b[0m" : "warning";
  const header = `${bold(`${d.file}:${d.line}:${d.column}:`)} ${sev}: ${bold(d.message)}`;
  const text = source.line(d.line);
  // Underline the span on the first line; tabs are kept so the caret lines up.
  const lineStart = d.span.start - (d.column - 1);
  const lineEnd = lineStart + text.length;
  const endOnLine = Math.min(d.span.end, lineEnd);
  const width = Math.max(1, endOnLine - d.span.start);
  let pad = "";
  for (let i = 0; i < d.column - 1; i++) pad += text[i] === "\t" ? "\t" : " ";
  const mark = "^" + "~".repeat(width - 1);
  const caret = pad + (color ? `\x1b[1;32m${mark}\x1b[0m` : mark);
  return `${header}\n${text}\n${caret}`;
}

/** Renders every diagnostic, in source order, one block after the other. */
export function formatDiagnostics(diags: Diagnostic[], source: Source, options: FormatOptions = {}): string {
  return diags.map((d) => formatDiagnostic(d, source, options)).join("\n") + (diags.length > 0 ? "\n" : "");
}
