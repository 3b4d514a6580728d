// A script's text, its name, and the mapping from offsets to lines and columns.

/** A half-open range of UTF-16 offsets [start, end) into a Source's text. */
export interface Span {
  start: number;
  end: number;
}

export class Source {
  private lineStarts: number[] | undefined;

  constructor(
    /** The script's path, or "stdin" for -e programs. */
    readonly name: string,
    readonly text: string,
  ) {}

  private starts(): number[] {
    if (this.lineStarts === undefined) {
      const starts = [0];
      for (let i = 0; i < this.text.length; i++) if (this.text.charCodeAt(i) === 10) starts.push(i + 1);
      this.lineStarts = starts;
    }
    return this.lineStarts;
  }

  /** 1-based line and column of an offset (clamped into the text). */
  position(offset: number): { line: number; column: number } {
    const starts = this.starts();
    const off = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= off) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: off - starts[lo]! + 1 };
  }

  /** The text of a 1-based line, without its newline. */
  line(line: number): string {
    const starts = this.starts();
    const start = starts[line - 1] ?? this.text.length;
    const next = starts[line];
    let end = next === undefined ? this.text.length : next - 1;
    if (end > start && this.text.charCodeAt(end - 1) === 13) end--;
    return this.text.slice(start, end);
  }
}

export function span(start: number, end: number): Span {
  return { start, end };
}

/** The smallest span covering both. */
export function join(a: Span, b: Span): Span {
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}
