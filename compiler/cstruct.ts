// C struct and union definitions, as scripts write them before their probes:
//
//   struct Foo { int m; char s[8]; struct Foo *next; struct { int x, y; } pos; unsigned a:4, b:4; };
//
// parsed from the script's tokens (no C compiler involved) and laid out as the x86-64 System V
// ABI lays them out (see spec/types.md). Types a script uses without defining them (struct
// task_struct, typedef names such as pid_t) come from the kernel's BTF (compiler/btf.ts).
import type { IToken } from "./chevrotain.js";
import type { Diagnostics } from "./diagnostics.js";
import * as L from "./lexer.js";
import type { Span } from "./source.js";
import { alignOf, int, pointer, sizeOf, str, VOID, type StructField, type Type } from "./types.js";

/** A struct or union definition. */
export interface CStructDecl {
  union: boolean;
  /** The tag: `Foo` of `struct Foo { ... }`. */
  tag: string;
  members: CMember[];
  span: Span;
  /** Defined inside another definition (C gives it file scope all the same). */
  nested?: boolean;
}

export interface CMember {
  /** "" for an anonymous struct or union member and an unnamed bit-field. */
  name: string;
  type: CTypeSpec;
  /** A bit-field's width. */
  bits?: number;
  span: Span;
}

/** A C type as written. */
export type CTypeSpec =
  /** Base type words ("unsigned long", "char") or a typedef name ("uint8_t", "pid_t"). */
  | { kind: "name"; name: string; span: Span }
  /** `struct Tag`, or a definition (`struct [Tag] { ... }`) when `members` is given. */
  | { kind: "record"; union: boolean; tag: string; members?: CMember[]; span: Span }
  | { kind: "enum"; span: Span }
  | { kind: "pointer"; to: CTypeSpec }
  | { kind: "array"; elem: CTypeSpec; count: number }
  /** What a function pointer points to. */
  | { kind: "function" };

/** The name a struct or union type goes by: "struct Foo", "union Bar". */
export function recordName(union: boolean, tag: string): string {
  return `${union ? "union" : "struct"} ${tag}`;
}

// ---- parsing --------------------------------------------------------------------------------

const QUALIFIERS = new Set(["const", "volatile", "restrict", "__restrict", "__volatile__", "__const"]);
const BASE_WORDS = new Set(["signed", "unsigned", "char", "short", "int", "long", "_Bool", "bool", "void", "float", "double"]);

class ParseError extends Error {
  constructor(
    readonly span: Span,
    message: string,
  ) {
    super(message);
  }
}

const tokSpan = (t: IToken): Span => ({ start: t.startOffset, end: t.startOffset + Math.max(1, t.image.length) });

/** Whether tokens[i] begins a struct or union definition (or declaration) at the top level. */
export function atCDefinition(tokens: IToken[], i: number): boolean {
  const t = tokens[i];
  return t !== undefined && (t.tokenType === L.Struct || (t.tokenType === L.Ident && t.image === "union"));
}

class CParser {
  /** Every definition seen, nested tagged ones included (C gives them file scope). */
  readonly decls: CStructDecl[] = [];
  private depth = 0;

  constructor(
    private tokens: IToken[],
    private i: number,
    private end: number,
  ) {}

  get pos(): number {
    return this.i;
  }

  private peek(k = 0): IToken | undefined {
    return this.i + k < this.end ? this.tokens[this.i + k] : undefined;
  }

  private isIdent(t: IToken | undefined, word?: string): t is IToken {
    return t !== undefined && (t.tokenType === L.Ident || t.tokenType === L.Struct) && (word === undefined || t.image === word);
  }

  private next(): IToken {
    const t = this.peek();
    if (t === undefined) throw new ParseError(this.lastSpan(), "unexpected end of the struct definition");
    this.i++;
    return t;
  }

  private lastSpan(): Span {
    const t = this.tokens[Math.min(this.end, this.tokens.length) - 1]!;
    return tokSpan(t);
  }

  private expect(type: import("./chevrotain.js").TokenType, what: string): IToken {
    const t = this.peek();
    if (t === undefined || t.tokenType !== type) {
      throw new ParseError(t ? tokSpan(t) : this.lastSpan(), `expected ${what} in the struct definition, found ${t ? `'${t.image}'` : "its end"}`);
    }
    this.i++;
    return t;
  }

  /** `struct|union [TAG] [{ members }]` */
  record(): Extract<CTypeSpec, { kind: "record" }> {
    const kw = this.next();
    const union = kw.image === "union";
    let tag = "";
    let end = tokSpan(kw).end;
    const t = this.peek();
    if (t !== undefined && t.tokenType === L.Ident) {
      tag = this.next().image;
      end = tokSpan(t).end;
    }
    if (this.peek()?.tokenType !== L.LCurly) {
      if (tag === "") throw new ParseError(tokSpan(kw), `expected a tag or '{' after '${kw.image}'`);
      return { kind: "record", union, tag, span: { start: kw.startOffset, end } };
    }
    this.next();
    const members: CMember[] = [];
    this.depth++;
    while (this.peek()?.tokenType !== L.RCurly) {
      if (this.peek() === undefined) throw new ParseError(this.lastSpan(), "expected '}' at the end of the struct definition");
      if (this.peek()!.tokenType === L.Semicolon) {
        this.next();
        continue;
      }
      this.memberDeclaration(members);
    }
    const close = this.next();
    this.depth--;
    const spec = { kind: "record" as const, union, tag, members, span: { start: kw.startOffset, end: close.startOffset + 1 } };
    if (tag !== "") this.decls.push({ union, tag, members, span: spec.span, ...(this.depth > 0 ? { nested: true } : {}) });
    return spec;
  }

  /** `TYPE declarator, declarator, ... ;` (the ';' before '}' may be left out). */
  private memberDeclaration(out: CMember[]): void {
    const first = this.peek()!;
    const base = this.typeSpecifier();
    if (this.peek()?.tokenType === L.Semicolon || this.peek()?.tokenType === L.RCurly) {
      // `struct { ... };`: an anonymous member, whose fields are the outer struct's.
      if (base.kind === "record" && base.members !== undefined && base.tag === "") out.push({ name: "", type: base, span: base.span });
      if (this.peek()?.tokenType === L.Semicolon) this.next();
      return;
    }
    for (;;) {
      out.push(this.declarator(base, first));
      const t = this.peek();
      if (t?.tokenType === L.Comma) {
        this.next();
        continue;
      }
      if (t?.tokenType === L.Semicolon) this.next();
      else if (t?.tokenType !== L.RCurly) throw new ParseError(t ? tokSpan(t) : this.lastSpan(), `expected ';' after a struct member, found ${t ? `'${t.image}'` : "the end"}`);
      return;
    }
  }

  private typeSpecifier(): CTypeSpec {
    const t = this.peek();
    if (t === undefined) throw new ParseError(this.lastSpan(), "expected a type");
    while (this.isIdent(this.peek()) && QUALIFIERS.has(this.peek()!.image)) this.next();
    const u = this.peek();
    if (u === undefined) throw new ParseError(this.lastSpan(), "expected a type");
    if (u.tokenType === L.Struct || (u.tokenType === L.Ident && u.image === "union")) return this.record();
    if (u.tokenType === L.Ident && u.image === "enum") {
      this.next();
      if (this.peek()?.tokenType === L.Ident) this.next();
      if (this.peek()?.tokenType === L.LCurly) this.skipBraces();
      return { kind: "enum", span: tokSpan(u) };
    }
    if (u.tokenType !== L.Ident) throw new ParseError(tokSpan(u), `expected a type, found '${u.image}'`);
    const words: string[] = [];
    let span = tokSpan(u);
    if (!BASE_WORDS.has(u.image)) {
      // A typedef name.
      this.next();
      words.push(u.image);
    } else {
      while (this.isIdent(this.peek()) && (BASE_WORDS.has(this.peek()!.image) || QUALIFIERS.has(this.peek()!.image))) {
        const w = this.next();
        if (!QUALIFIERS.has(w.image)) words.push(w.image);
        span = { start: span.start, end: tokSpan(w).end };
      }
    }
    while (this.isIdent(this.peek()) && QUALIFIERS.has(this.peek()!.image)) this.next();
    return { kind: "name", name: words.join(" "), span };
  }

  private skipBraces(): void {
    let depth = 0;
    do {
      const t = this.next();
      if (t.tokenType === L.LCurly) depth++;
      else if (t.tokenType === L.RCurly) depth--;
    } while (depth > 0);
  }

  /** `* * NAME [N][M] : BITS`, `(*NAME)(...)`, or `: BITS` alone. */
  private declarator(base: CTypeSpec, first: IToken): CMember {
    let type = base;
    const start = this.peek() ?? first;
    while (this.peek()?.tokenType === L.Op.Star || (this.isIdent(this.peek()) && QUALIFIERS.has(this.peek()!.image))) {
      if (this.next().tokenType === L.Op.Star) type = { kind: "pointer", to: type };
    }
    let name = "";
    let nameSpan = tokSpan(start);
    const t = this.peek();
    if (t?.tokenType === L.LParen) {
      // A function pointer: (*name)(parameters).
      this.next();
      this.expect(L.Op.Star!, "'*'");
      const id = this.expect(L.Ident, "a member name");
      name = id.image;
      nameSpan = tokSpan(id);
      this.expect(L.RParen, "')'");
      this.expect(L.LParen, "'('");
      let depth = 1;
      while (depth > 0) {
        const x = this.next();
        if (x.tokenType === L.LParen) depth++;
        else if (x.tokenType === L.RParen) depth--;
      }
      type = { kind: "pointer", to: { kind: "function" } };
    } else if (t?.tokenType === L.Ident) {
      this.next();
      name = t.image;
      nameSpan = tokSpan(t);
    }
    const dims: number[] = [];
    while (this.peek()?.tokenType === L.LBracket) {
      this.next();
      if (this.peek()?.tokenType === L.RBracket) {
        this.next();
        dims.push(0);
        continue;
      }
      const n = this.expect(L.IntLit, "an array size");
      this.expect(L.RBracket, "']'");
      dims.push(Number(BigInt(n.image)));
    }
    for (let k = dims.length - 1; k >= 0; k--) type = { kind: "array", elem: type, count: dims[k]! };
    let bits: number | undefined;
    if (this.peek()?.tokenType === L.Colon) {
      this.next();
      const n = this.expect(L.IntLit, "a bit-field width");
      bits = Number(BigInt(n.image));
    }
    if (name === "" && bits === undefined) {
      const at = this.peek();
      throw new ParseError(at ? tokSpan(at) : this.lastSpan(), `expected a member name${at ? `, found '${at.image}'` : ""}`);
    }
    return { name, type, ...(bits !== undefined ? { bits } : {}), span: nameSpan };
  }
}

/**
 * Parses a top-level `struct|union TAG { ... } [;]` (or a declaration `struct TAG;`) at
 * tokens[i]. Returns the definitions found (nested tagged ones too) and the index after it.
 */
export function parseCDefinition(tokens: IToken[], i: number, diags: Diagnostics): { decls: CStructDecl[]; next: number } {
  // The definition ends at the '}' matching its first '{', or at a ';' before any '{'.
  let end = i + 1;
  let depth = 0;
  for (; end < tokens.length; end++) {
    const t = tokens[end]!.tokenType;
    if (t === L.LCurly) depth++;
    else if (t === L.RCurly && --depth <= 0) break;
    else if (t === L.Semicolon && depth === 0) break;
  }
  const stop = Math.min(end + 1, tokens.length);
  const p = new CParser(tokens, i, stop);
  let next = stop;
  try {
    p.record();
    if (p.pos < stop && tokens[p.pos]!.tokenType !== L.Semicolon) {
      const t = tokens[p.pos]!;
      throw new ParseError(tokSpan(t), `unexpected '${t.image}' after the struct definition`);
    }
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    diags.error(e.span, e.message);
    if (tokens[next]?.tokenType === L.Semicolon) next++;
    return { decls: [], next };
  }
  if (tokens[next]?.tokenType === L.Semicolon) next++;
  return { decls: p.decls, next };
}

/** A definition as C source, on one line: `struct Foo { int m; char s[8]; };`. */
export function printCStruct(d: CStructDecl): string {
  return `${printRecord(d.union, d.tag, d.members)};`;
}

function printRecord(union: boolean, tag: string, members: readonly CMember[]): string {
  const body = members.map((m) => `${printDeclaration(m.type, m.name)}${m.bits !== undefined ? `:${m.bits}` : ""}; `).join("");
  return `${union ? "union" : "struct"}${tag ? ` ${tag}` : ""} { ${body}}`;
}

/** `TYPE NAME` with C's declarator syntax: pointers before the name, array sizes after it. */
function printDeclaration(t: CTypeSpec, name: string): string {
  let inner = name;
  for (;;) {
    if (t.kind === "pointer") {
      if (t.to.kind === "function") return `void (*${inner})()`;
      inner = `*${inner}`;
      t = t.to;
    } else if (t.kind === "array") {
      // Pointers to arrays are not written by scripts; arrays of pointers are `*name[N]`.
      const dims: number[] = [];
      while (t.kind === "array") {
        dims.push(t.count);
        t = t.elem;
      }
      inner = `${inner}${dims.map((d) => `[${d === 0 ? "" : d}]`).join("")}`;
    } else break;
  }
  const base = t.kind === "name" ? t.name : t.kind === "enum" ? "int" : t.kind === "record" ? (t.members ? printRecord(t.union, t.tag, t.members) : `${t.union ? "union" : "struct"} ${t.tag}`) : "void";
  return inner === "" ? base : `${base} ${inner}`;
}

// ---- types and layout ------------------------------------------------------------------------

/** What the kernel's BTF offers: struct/union layouts and typedefs (compiler/btf.ts). */
export interface KernelTypes {
  /** A struct or union by name ("struct task_struct"), laid out; undefined if the kernel has none. */
  record(name: string): Type | undefined;
  /** The type a typedef name stands for (pid_t, u32), or undefined. */
  typedef(name: string): Type | undefined;
  /** Whether record(name) has a type, without building it. */
  hasRecord?(name: string): boolean;
}

/** The C base types, by their words (in any order) and the usual typedef names. */
function baseType(name: string): Type | "char" | "void" | undefined {
  switch (name) {
    case "int8_t": case "__s8": case "s8": case "int8": return int(1, true);
    case "uint8_t": case "__u8": case "u8": case "uint8": case "u_char": return int(1, false);
    case "int16_t": case "__s16": case "s16": case "int16": return int(2, true);
    case "uint16_t": case "__u16": case "u16": case "uint16": case "u_short": return int(2, false);
    case "int32_t": case "__s32": case "s32": case "int32": case "pid_t": return int(4, true);
    case "uint32_t": case "__u32": case "u32": case "uint32": case "uid_t": case "gid_t": case "u_int": return int(4, false);
    case "int64_t": case "__s64": case "s64": case "int64": case "ssize_t": case "intptr_t": case "ptrdiff_t": case "off_t": case "loff_t": return int(8, true);
    case "uint64_t": case "__u64": case "u64": case "uint64": case "size_t": case "uintptr_t": case "u_long": return int(8, false);
  }
  const words = name.split(" ");
  if (!words.every((w) => BASE_WORDS.has(w))) return undefined;
  const count = (w: string) => words.filter((x) => x === w).length;
  const unsigned = count("unsigned") > 0;
  if (count("void") > 0) return words.length === 1 ? "void" : undefined;
  if (count("float") > 0 || count("double") > 0) return undefined;
  if (count("_Bool") > 0 || count("bool") > 0) return int(1, false);
  if (count("char") > 0) return words.length === 1 ? "char" : int(1, !unsigned);
  if (count("short") > 0) return int(2, !unsigned);
  if (count("long") > 0) return int(8, !unsigned);
  return int(4, !unsigned);
}

/** A member found by name, with its offsets from the start of the outer struct. */
export function findField(t: Extract<Type, { kind: "struct" }>, name: string): StructField | undefined {
  for (const f of t.fields) {
    if (f.name === name) return f;
    if (f.name === "" && f.type.kind === "struct") {
      const inner = findField(f.type, name);
      if (inner !== undefined) {
        return {
          ...inner,
          offset: inner.offset + f.offset,
          ...(inner.bitfield ? { bitfield: { bitOffset: inner.bitfield.bitOffset + f.offset * 8, bits: inner.bitfield.bits } } : {}),
        };
      }
    }
  }
  return undefined;
}

/**
 * The struct and union types a script can use: its own definitions, then the kernel's. Laid out
 * on first use; errors in a definition are reported once, at the definition.
 */
export class StructRegistry {
  private decls = new Map<string, CStructDecl>();
  private laidOut = new Map<string, Type | null>();
  private busy = new Set<string>();
  private kernelTypes: KernelTypes | null | undefined;

  constructor(
    decls: readonly CStructDecl[],
    private diags: Diagnostics | undefined,
    private kernel: () => KernelTypes | undefined = () => undefined,
  ) {
    for (const d of decls) {
      const name = recordName(d.union, d.tag);
      if (this.decls.has(name)) diags?.error(d.span, `${name} is defined twice`);
      else this.decls.set(name, d);
    }
  }

  /** Lays out every definition of the script (reporting what is wrong with them). */
  checkAll(): void {
    for (const name of this.decls.keys()) this.lookup(name);
  }

  /** Whether a struct or union exists (the script's, or the kernel's), without laying it out. */
  exists(name: string): boolean {
    if (this.decls.has(name)) return this.lookup(name) !== undefined;
    const k = this.kernelSide();
    return k === undefined ? false : (k.hasRecord?.(name) ?? k.record(name) !== undefined);
  }

  /** Whether the script defines this struct or union itself. */
  defines(name: string): boolean {
    return this.decls.has(name);
  }

  /** Whether the kernel's types can be looked up. */
  hasKernelTypes(): boolean {
    return this.kernelSide() !== undefined;
  }

  private kernelSide(): KernelTypes | undefined {
    if (this.kernelTypes === undefined) this.kernelTypes = this.kernel() ?? null;
    return this.kernelTypes ?? undefined;
  }

  /** A struct or union ("struct Foo") laid out, or undefined when neither script nor kernel has it. */
  lookup(name: string): Extract<Type, { kind: "struct" }> | undefined {
    const done = this.laidOut.get(name);
    if (done !== undefined) return (done ?? undefined) as Extract<Type, { kind: "struct" }> | undefined;
    const decl = this.decls.get(name);
    if (decl === undefined) {
      const k = this.kernelSide()?.record(name);
      this.laidOut.set(name, k ?? null);
      return k as Extract<Type, { kind: "struct" }> | undefined;
    }
    if (this.busy.has(name)) {
      this.diags?.error(decl.span, `${name} contains itself`);
      return undefined;
    }
    this.busy.add(name);
    const t = this.layout(decl.union, name, decl.members);
    this.busy.delete(name);
    this.laidOut.set(name, t);
    return t;
  }

  /** A type named in a cast or sizeof(): `struct Foo`, or a C type name such as `uint8_t`. */
  named(name: string): Type | undefined {
    if (name.startsWith("struct ") || name.startsWith("union ")) return this.lookup(name);
    const b = baseType(name);
    if (b === "char") return int(1, true);
    if (b === "void") return VOID;
    return b ?? this.kernelSide()?.typedef(name);
  }

  private resolve(spec: CTypeSpec, owner: string): Type | undefined {
    switch (spec.kind) {
      case "name": {
        const b = baseType(spec.name);
        if (b === "char") return int(1, true);
        if (b === "void") {
          this.diags?.error(spec.span, "a member cannot have type void");
          return undefined;
        }
        const t = b ?? this.kernelSide()?.typedef(spec.name);
        if (t === undefined) this.diags?.error(spec.span, `unknown type name '${spec.name}'`);
        return t;
      }
      case "enum":
        return int(4, false);
      case "function":
        return VOID;
      case "record": {
        if (spec.members === undefined || spec.tag !== "") {
          const name = recordName(spec.union, spec.tag);
          const t = this.lookup(name);
          if (t === undefined) this.diags?.error(spec.span, `${name} is not defined`);
          return t;
        }
        const { line, column } = this.diags?.source.position(spec.span.start) ?? { line: 0, column: 0 };
        const outer = owner.replace(/^(struct|union) /, "");
        return this.layout(spec.union, recordName(spec.union, `${outer}::(anonymous at ${line}:${column})`), spec.members);
      }
      case "pointer": {
        const to = spec.to;
        if (to.kind === "record" && to.tag !== "") return pointer(recordName(to.union, to.tag));
        if (to.kind === "function") return pointer(VOID);
        if (to.kind === "name" && baseType(to.name) === "void") return pointer(VOID);
        const t = this.resolve(to, owner);
        return t === undefined ? undefined : pointer(t);
      }
      case "array": {
        const e = spec.elem;
        // Arrays of char are strings, as in bpftrace.
        if (e.kind === "name" && baseType(e.name) === "char") return str(spec.count);
        const t = this.resolve(e, owner);
        return t === undefined ? undefined : { kind: "array", elem: t, count: spec.count };
      }
    }
  }

  /** The System V x86-64 layout of a struct or union's members. */
  private layout(union: boolean, name: string, members: readonly CMember[]): Extract<Type, { kind: "struct" }> {
    const fields: StructField[] = [];
    let bit = 0;
    let align = 1;
    let unionSize = 0;
    const seen = new Set<string>();
    for (const m of members) {
      const t = this.resolve(m.type, name);
      if (t === undefined) continue;
      if (m.name !== "") {
        if (seen.has(m.name)) this.diags?.error(m.span, `duplicate member '${m.name}'`);
        seen.add(m.name);
      }
      const size = sizeOf(t);
      const a = alignOf(t);
      if (m.bits !== undefined) {
        if (t.kind !== "int" || t.ptr) {
          this.diags?.error(m.span, `bit-field '${m.name}' must have an integer type`);
          continue;
        }
        if (m.bits > size * 8 || (m.bits === 0 && m.name !== "")) {
          this.diags?.error(m.span, m.bits === 0 ? `named bit-field '${m.name}' has zero width` : `width of bit-field '${m.name}' (${m.bits} bits) exceeds its type (${size * 8} bits)`);
          continue;
        }
        if (m.bits === 0) {
          // An unnamed zero-width bit-field: the next one starts a new unit.
          if (!union) bit = Math.ceil(bit / (a * 8)) * a * 8;
          continue;
        }
        const unit = size * 8;
        let start = 0;
        if (!union) {
          // A bit-field never straddles a boundary of its type's size.
          if (Math.floor(bit / unit) !== Math.floor((bit + m.bits - 1) / unit)) bit = Math.ceil(bit / unit) * unit;
          start = bit;
          bit += m.bits;
        } else {
          unionSize = Math.max(unionSize, Math.ceil(m.bits / 8));
        }
        // Unnamed bit-fields do not affect the struct's alignment (GCC).
        if (m.name !== "") {
          align = Math.max(align, a);
          fields.push({ name: m.name, type: t, offset: Math.floor(start / 8), bitfield: { bitOffset: start, bits: m.bits } });
        }
        continue;
      }
      align = Math.max(align, a);
      let off = 0;
      if (union) unionSize = Math.max(unionSize, size);
      else {
        off = Math.ceil(Math.ceil(bit / 8) / a) * a;
        bit = (off + size) * 8;
      }
      fields.push({ name: m.name, type: t, offset: off });
    }
    const bytes = union ? unionSize : Math.ceil(bit / 8);
    return { kind: "struct", name, size: Math.ceil(bytes / align) * align, align, fields };
  }
}
