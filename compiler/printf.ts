// printf-style format strings: compile-time parsing.
//
// The format string given to parseFormat() is the already-unescaped string
// value of the literal; offsets in segments and errors are indices into it.
//
// Accepted syntax (a subset of C's, as bpftrace 0.17 accepts it, plus the
// usual C flags):
//
//   %[flags][width][.precision][length]conversion
//
//   flags      any of "-+ #0", any order, repeatable
//   width      decimal digits ('*' is not supported by bpftrace)
//   precision  '.' followed by decimal digits (none means 0); '.*' unsupported
//   length     hh h l ll j z t L (integer conversions and %p only)
//   conversion d i (signed)  u o x X (unsigned)  c (char)  s (string)
//              p (pointer)   r rx rh (bpftrace's buf() conversions)
//   %%         a literal '%' (no flags, width, precision or length allowed)
//
// The length modifier is kept because it matters at run time: bpftrace 0.17
// hands the raw 64-bit value to snprintf with the format unchanged, so e.g.
// "%d" prints the low 32 bits as an int and "%lld" prints all 64 bits
// (see runtime/format/printf.ts).

/** Conversion flags, each set when its character appears at least once. */
export interface FormatFlags {
  /** '-': left-justify within the field width. */
  minus: boolean;
  /** '+': always print a sign for signed conversions. */
  plus: boolean;
  /** ' ': print a space where a '+' sign would go. */
  space: boolean;
  /** '#': alternate form (0 prefix for %o, 0x/0X for %x/%X). */
  hash: boolean;
  /** '0': pad numbers with zeros instead of spaces. */
  zero: boolean;
}

export type LengthModifier = "" | "hh" | "h" | "l" | "ll" | "j" | "z" | "t" | "L";

export type ConversionChar =
  | "d" | "i"
  | "u" | "o" | "x" | "X"
  | "c" | "s" | "p"
  | "r" | "rx" | "rh";

export type ConversionKind = "signed" | "unsigned" | "char" | "string" | "pointer" | "buffer";

export interface LiteralSegment {
  type: "literal";
  /** Text with every "%%" turned into "%". */
  text: string;
  /** Index of the first character of this literal run in the format string. */
  offset: number;
  /** Number of format-string characters the run covers ("%%" counts 2). */
  length: number;
}

export interface ConversionSegment {
  type: "conversion";
  flags: FormatFlags;
  /** Minimum field width, if given. */
  width: number | undefined;
  /** Precision, if given ("%.d" has precision 0). */
  precision: number | undefined;
  lengthModifier: LengthModifier;
  conversion: ConversionChar;
  kind: ConversionKind;
  /** The conversion's source text, e.g. "%-10s". */
  text: string;
  /** Index of the '%' in the format string. */
  offset: number;
  /** Number of characters of the conversion, '%' included. */
  length: number;
}

export type Segment = LiteralSegment | ConversionSegment;

export interface FormatError {
  message: string;
  /** Index of the '%' that starts the bad conversion. */
  offset: number;
  /** Length of the bad conversion text (at least 1). */
  length: number;
}

export type ParseFormatResult = { segments: Segment[] } | { error: FormatError };

/** Largest width or precision accepted. */
export const MAX_FIELD_WIDTH = 1_000_000;

const CONVERSION_KINDS: Readonly<Record<string, ConversionKind>> = {
  d: "signed",
  i: "signed",
  u: "unsigned",
  o: "unsigned",
  x: "unsigned",
  X: "unsigned",
  c: "char",
  s: "string",
  p: "pointer",
  r: "buffer",
};

const FLOAT_CONVERSIONS = "fFeEgGaA";

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= "0" && ch <= "9";
}

/** Parses a printf format string into literal runs and conversions. */
export function parseFormat(fmt: string): ParseFormatResult {
  const segments: Segment[] = [];
  let literal = "";
  let literalStart = 0;
  let i = 0;

  const flushLiteral = (end: number): void => {
    if (end > literalStart) {
      segments.push({ type: "literal", text: literal, offset: literalStart, length: end - literalStart });
    }
    literal = "";
  };

  while (i < fmt.length) {
    const ch = fmt[i]!;
    if (ch !== "%") {
      literal += ch;
      i++;
      continue;
    }
    const start = i;
    i++; // past '%'

    const fail = (end: number, hint?: string, atEnd = false): { error: FormatError } => {
      const text = fmt.slice(start, end);
      const where = atEnd ? "at end of format string" : "in format string";
      return {
        error: {
          message: `invalid conversion '${text}' ${where}` + (hint === undefined ? "" : `: ${hint}`),
          offset: start,
          length: Math.max(1, end - start),
        },
      };
    };

    // Flags.
    const flags: FormatFlags = { minus: false, plus: false, space: false, hash: false, zero: false };
    for (;;) {
      const f = fmt[i];
      if (f === "-") flags.minus = true;
      else if (f === "+") flags.plus = true;
      else if (f === " ") flags.space = true;
      else if (f === "#") flags.hash = true;
      else if (f === "0") flags.zero = true;
      else break;
      i++;
    }

    // Width.
    let width: number | undefined;
    let star = false;
    let tooLarge = false;
    if (fmt[i] === "*") {
      star = true;
      i++;
    } else if (isDigit(fmt[i])) {
      let n = 0;
      while (isDigit(fmt[i])) {
        n = Math.min(n * 10 + (fmt.charCodeAt(i) - 48), MAX_FIELD_WIDTH + 1);
        i++;
      }
      width = n;
      if (n > MAX_FIELD_WIDTH) tooLarge = true;
    }

    // Precision.
    let precision: number | undefined;
    if (fmt[i] === ".") {
      i++;
      if (fmt[i] === "*") {
        star = true;
        i++;
      } else {
        let n = 0;
        while (isDigit(fmt[i])) {
          n = Math.min(n * 10 + (fmt.charCodeAt(i) - 48), MAX_FIELD_WIDTH + 1);
          i++;
        }
        precision = n;
        if (n > MAX_FIELD_WIDTH) tooLarge = true;
      }
    }

    // Length modifier (at most one).
    let lengthModifier: LengthModifier = "";
    const m = fmt[i];
    if (m === "h" || m === "l") {
      if (fmt[i + 1] === m) {
        lengthModifier = m === "h" ? "hh" : "ll";
        i += 2;
      } else {
        lengthModifier = m;
        i++;
      }
    } else if (m === "j" || m === "z" || m === "t" || m === "L") {
      lengthModifier = m;
      i++;
    }

    // Conversion character.
    const conv = fmt[i];
    if (conv === undefined) return fail(i, undefined, true);
    // Step over the whole character, so an error never splits a surrogate pair.
    i += (fmt.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;

    if (conv === "%") {
      if (i - start !== 2) return fail(i, "'%%' takes no flags, width, precision or length modifier");
      literal += "%";
      continue;
    }

    const kind = CONVERSION_KINDS[conv];
    if (kind === undefined) {
      if (conv === "n") return fail(i, "%n is not supported");
      if (FLOAT_CONVERSIONS.includes(conv)) return fail(i, "floating-point conversions are not supported");
      return fail(i);
    }

    let conversion = conv as ConversionChar;
    if (conv === "r" && (fmt[i] === "x" || fmt[i] === "h")) {
      conversion = fmt[i] === "x" ? "rx" : "rh";
      i++;
    }

    if (star) return fail(i, "'*' width and precision are not supported");
    if (tooLarge) return fail(i, `field width or precision larger than ${MAX_FIELD_WIDTH}`);
    if (kind === "buffer" && i - start !== conversion.length + 1) {
      return fail(i, `%${conversion} takes no flags, width, precision or length modifier`);
    }
    if (lengthModifier !== "" && (kind === "char" || kind === "string" || kind === "buffer")) {
      return fail(i, `length modifier '${lengthModifier}' is not allowed with %${conversion}`);
    }

    flushLiteral(start);
    segments.push({
      type: "conversion",
      flags,
      width,
      precision,
      lengthModifier,
      conversion,
      kind,
      text: fmt.slice(start, i),
      offset: start,
      length: i - start,
    });
    literalStart = i;
  }
  flushLiteral(fmt.length);
  return { segments };
}

/** The conversions of a parsed format, in order: one argument each. */
export function expectedArgs(segments: readonly Segment[]): ConversionSegment[] {
  return segments.filter((s): s is ConversionSegment => s.type === "conversion");
}
