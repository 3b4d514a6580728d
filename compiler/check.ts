// Semantic analysis: resolves attach points, types every expression, checks every builtin and
// function against the probe types where it is used, and gives each $variable and @map one type.
//
// Types of variables and maps may widen as later assignments are seen (a string slot grows to
// the largest string stored, an int slot to 64 bits), so the checker runs silently until the
// slots stop changing, then once more reporting what it finds.
import type * as A from "./ast.js";
import { BUILTIN_VARIABLES, UNSUPPORTED_VARIABLES } from "./builtins.js";
import type { Diagnostics } from "./diagnostics.js";
import { FUNCTIONS, UNSUPPORTED_FUNCTIONS, type CallContext } from "./functions/index.js";
import { lookupUserSymbol } from "./functions/structs.js";
import { PROVIDERS, providerByName, UNSUPPORTED_PROBES, type ProbeContext, type ProbeProvider } from "./probes/index.js";
import { readTracepointFormat, type FormatLookup, type TracepointField } from "./probes/tracepoint-format.js";
import { Btf } from "./btf.js";
import { findField, StructRegistry, type KernelTypes } from "./cstruct.js";
import type { Span } from "./source.js";
import { CAST_TYPES, ERROR, INT64, int, isPointer, pointer, sameType, sizeOf, str, typeName, unify, VOID, type Pointee, type Type } from "./types.js";

export interface CheckOptions {
  /** Positional parameters: $1 is params[0]. */
  params?: string[];
  /** A child command is given (-c), so `cpid` is valid. */
  childCommand?: boolean;
  /** --unsafe: allow functions such as system(). */
  unsafe?: boolean;
  /** Where tracepoint layouts come from; by default tracefs, when it is readable. */
  tracepointFormat?: (category: string, name: string) => FormatLookup;
  /** The kernel's types (struct task_struct...); by default its BTF, when it is readable. */
  kernelTypes?: () => KernelTypes | undefined;
}

/** A map, as the whole program uses it. */
export interface MapSymbol {
  name: string;
  /** Key types, one per key; [] for a map without keys; undefined until first seen. */
  keys: Type[] | undefined;
  /** The value's type; undefined if never assigned. */
  value: Type | undefined;
  /** Where the map is first used. */
  span: Span;
}

export interface VariableSymbol {
  name: string;
  type: Type;
  span: Span;
}

export interface CheckResult {
  maps: Map<string, MapSymbol>;
  /** Scratch variables of each probe, in program order. */
  variables: Array<Map<string, VariableSymbol>>;
  /** The struct and union types the script can use (its own, then the kernel's). */
  structs: StructRegistry;
}

const MAX_UNROLL = 100;
const MAX_PASSES = 6;

/** How probe types are named in "only valid in ..." messages. */
function validIn(need: keyof ProbeContext): string {
  const names = PROVIDERS.filter((p) => p.context[need]).map((p) => p.type);
  return names.join(" and ");
}

function displayMap(name: string): string {
  return `@${name}`;
}

export function check(program: A.Program, diags: Diagnostics, options: CheckOptions = {}): CheckResult {
  return new Checker(program, diags, options).run();
}

interface ProbeScope {
  providers: ProbeProvider[];
  /** Index of the probe in the program, for its variables. */
  index: number;
  /** Variables assigned so far in this walk, in textual order. */
  assigned: Set<string>;
  loopDepth: number;
  /** Tracepoint layouts of the probe's tracepoint attach points (undefined: unknown). */
  tracepointFields: Map<string, TracepointField> | undefined;
  tracepointUnknown: string | undefined;
}

class Checker {
  private reporting = false;
  private changed = false;
  private maps = new Map<string, MapSymbol>();
  private variables: Array<Map<string, VariableSymbol>> = [];
  private scope!: ProbeScope;
  private formatCache = new Map<string, FormatLookup>();
  private structs: StructRegistry;
  private symbolCache = new Map<string, ReturnType<typeof lookupUserSymbol>>();

  constructor(
    private program: A.Program,
    private diags: Diagnostics,
    private options: CheckOptions,
  ) {
    this.structs = new StructRegistry(program.structs ?? [], diags, options.kernelTypes ?? (() => Btf.kernel()));
  }

  run(): CheckResult {
    this.structs.checkAll();
    const scopes = this.program.probes.map((p, i) => this.resolveProbe(p, i));
    // As bpftrace: one BEGIN and one END per program.
    for (const special of ["BEGIN", "END"] as const) {
      const uses = this.program.probes.flatMap((p) => p.attachPoints.filter((ap) => ap.target?.type === special));
      for (const ap of uses.slice(1)) this.diags.error(ap.span, `More than one ${special} probe defined`);
    }
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      this.changed = false;
      this.walkAll(scopes);
      if (!this.changed) break;
    }
    this.reporting = true;
    this.walkAll(scopes);
    return { maps: this.maps, variables: this.variables, structs: this.structs };
  }

  private walkAll(scopes: Array<ProbeScope | undefined>): void {
    this.program.probes.forEach((probe, i) => {
      const scope = scopes[i];
      if (scope === undefined) return;
      this.scope = { ...scope, assigned: new Set(), loopDepth: 0 };
      if (probe.predicate) this.condition(probe.predicate, "predicate");
      this.block(probe.body);
    });
  }

  private error(span: Span, message: string): void {
    if (this.reporting) this.diags.error(span, message);
  }

  private warning(span: Span, message: string): void {
    if (this.reporting) this.diags.warning(span, message);
  }

  // ---- attach points ------------------------------------------------------------------------

  /** Resolves every attach point of a probe; undefined if any is unusable (errors reported). */
  private resolveProbe(probe: A.Probe, index: number): ProbeScope | undefined {
    const providers: ProbeProvider[] = [];
    let ok = true;
    let tracepointFields: Map<string, TracepointField> | undefined;
    let tracepointUnknown: string | undefined;
    for (const ap of probe.attachPoints) {
      const typeField = ap.fields[0];
      if (typeField === undefined) continue;
      const provider = providerByName(typeField.text);
      if (provider === undefined) {
        const why = UNSUPPORTED_PROBES[typeField.text];
        this.diags.error(typeField.span, why ?? `unknown probe type '${typeField.text}'`);
        ok = false;
        continue;
      }
      const target = provider.parse(ap, ap.fields, this.diags);
      if (target === undefined) {
        ok = false;
        continue;
      }
      ap.target = target;
      if (!providers.includes(provider)) providers.push(provider);
      if (target.type === "tracepoint") {
        const layout = this.tracepointLayout(ap, target.category, target.name);
        if (layout === "error") ok = false;
        else if (typeof layout === "string") tracepointUnknown ??= layout;
        else tracepointFields = tracepointFields === undefined ? layout : intersectFields(tracepointFields, layout);
      }
    }
    this.variables[index] = new Map();
    if (!ok || providers.length === 0) return undefined;
    return { providers, index, assigned: new Set(), loopDepth: 0, tracepointFields, tracepointUnknown };
  }

  /** A tracepoint's fields; a reason string when they cannot be known; "error" when reported. */
  private tracepointLayout(ap: A.AttachPoint, category: string, name: string): Map<string, TracepointField> | string | "error" {
    if (/[*?]/.test(category + name)) return "the tracepoint name has wildcards";
    const key = `${category}:${name}`;
    let found = this.formatCache.get(key);
    if (found === undefined) {
      found = (this.options.tracepointFormat ?? readTracepointFormat)(category, name);
      this.formatCache.set(key, found);
    }
    if ("missing" in found) {
      this.diags.error(ap.span, `tracepoint not found: ${category}:${name}`);
      return "error";
    }
    if ("unreadable" in found) return found.unreadable;
    return new Map(found.found.fields.map((f) => [f.name, f]));
  }

  // ---- statements ---------------------------------------------------------------------------

  private block(stmts: A.Stmt[]): void {
    for (const s of stmts) this.statement(s);
  }

  private statement(s: A.Stmt): void {
    switch (s.kind) {
      case "ExprStmt":
        this.value(s.expr, { statement: true });
        return;
      case "AssignStmt":
        this.assign(s);
        return;
      case "IfStmt":
        this.condition(s.cond, "if condition");
        this.block(s.then);
        if (s.else) this.block(s.else);
        return;
      case "UnrollStmt": {
        const n = this.constant(s.count, "unroll's count");
        // bpftrace's wording, which scripts and tests match on.
        if (n !== undefined && n < 1n) this.error(s.count.span, "unroll minimum value is 1");
        if (n !== undefined && n > BigInt(MAX_UNROLL)) this.error(s.count.span, `unroll maximum value is ${MAX_UNROLL}`);
        this.block(s.body);
        return;
      }
      case "WhileStmt":
        this.condition(s.cond, "while condition");
        this.scope.loopDepth++;
        this.block(s.body);
        this.scope.loopDepth--;
        return;
      case "JumpStmt":
        if (s.jump !== "return" && this.scope.loopDepth === 0) this.error(s.span, `'${s.jump}' is only valid inside a while loop`);
        return;
      case "BlockStmt":
        this.block(s.body);
        return;
    }
  }

  private condition(e: A.Expr, what: string): void {
    const t = this.value(e);
    if (t.kind !== "int" && t.kind !== "error") this.error(e.span, `the ${what} must be an integer, but it is ${typeName(t)}`);
  }

  private assign(s: A.AssignStmt): void {
    const target = s.target;
    if (target.kind !== "Variable" && target.kind !== "Map") return; // reported by the parser
    const compound = s.op !== "=";
    const isAggCall = s.value.kind === "Call" && FUNCTIONS.get(s.value.name)?.aggregation === true;
    if (target.kind === "Variable") {
      if (compound) {
        const current = this.readVariable(target);
        const t = this.value(s.value);
        this.requireInt(s.value, t, `'${s.op}'`);
        if (current.kind !== "int" && current.kind !== "error") this.error(target.span, `'${s.op}' needs an integer variable, but $${target.name} is ${typeName(current)}`);
        target.type = current;
        return;
      }
      const t = this.value(s.value);
      if (isAggCall) return; // reported by value()
      this.storeVariable(target, t, s.value.span);
      return;
    }
    // A map.
    this.mapKeys(target);
    if (compound) {
      const t = this.value(s.value);
      this.requireInt(s.value, t, `'${s.op}'`);
      this.storeMapValue(target, INT64, s.span, true);
      return;
    }
    const t = this.value(s.value, { assignedTo: target });
    if (t.kind === "void") {
      this.error(s.value.span, "the right side of the assignment has no value");
      return;
    }
    this.storeMapValue(target, t.kind === "int" && !t.ptr ? int(8, t.signed) : t, s.value.span, false);
  }

  private storeVariable(target: A.VariableExpr, t: Type, valueSpan: Span): void {
    if (t.kind === "void") {
      this.error(valueSpan, "the right side of the assignment has no value");
      return;
    }
    if (t.kind === "agg") return;
    const vars = this.variables[this.scope.index]!;
    const slot = vars.get(target.name);
    if (slot === undefined) {
      vars.set(target.name, { name: target.name, type: t, span: target.span });
      this.changed = true;
    } else {
      const u = unify(slot.type, t);
      if (u === undefined) {
        this.error(valueSpan, `type mismatch: $${target.name} holds ${typeName(slot.type)}, but this is ${typeName(t)}`);
      } else if (!sameType(u, slot.type)) {
        slot.type = u;
        this.changed = true;
      }
    }
    this.scope.assigned.add(target.name);
    target.type = vars.get(target.name)!.type;
  }

  private readVariable(v: A.VariableExpr): Type {
    const slot = this.variables[this.scope.index]!.get(v.name);
    if (slot === undefined || !this.scope.assigned.has(v.name)) {
      this.error(v.span, `$${v.name} is used before it is assigned`);
      return (v.type = slot?.type ?? ERROR);
    }
    return (v.type = slot.type);
  }

  // ---- maps ---------------------------------------------------------------------------------

  private mapSymbol(m: A.MapExpr): MapSymbol {
    let sym = this.maps.get(m.name);
    if (sym === undefined) {
      sym = { name: m.name, keys: undefined, value: undefined, span: m.span };
      this.maps.set(m.name, sym);
    }
    return sym;
  }

  /** Checks the keys of a map access against the map's key types (and widens them). */
  private mapKeys(m: A.MapExpr): void {
    const sym = this.mapSymbol(m);
    const types = m.keys.map((k) => this.value(k));
    types.forEach((t, i) => {
      if (t.kind === "void" || t.kind === "agg") this.error(m.keys[i]!.span, `a value of type ${typeName(t)} cannot be a map key`);
    });
    const norm = types.map((t) => (t.kind === "int" && !t.ptr ? int(8, t.signed) : t));
    if (sym.keys === undefined) {
      sym.keys = norm;
      this.changed = true;
      return;
    }
    if (sym.keys.length !== norm.length) {
      const n = (k: number) => (k === 0 ? "no key" : k === 1 ? "1 key" : `${k} keys`);
      this.error(m.span, `${displayMap(m.name)} is used with ${n(norm.length)} here but with ${n(sym.keys.length)} elsewhere`);
      return;
    }
    norm.forEach((t, i) => {
      const u = unify(sym.keys![i]!, t);
      if (u === undefined) this.error(m.keys[i]!.span, `${displayMap(m.name)}'s key${sym.keys!.length > 1 ? ` ${i + 1}` : ""} is ${typeName(sym.keys![i]!)} elsewhere, but ${typeName(t)} here`);
      else if (!sameType(u, sym.keys![i]!)) {
        sym.keys![i] = u;
        this.changed = true;
      }
    });
  }

  private storeMapValue(m: A.MapExpr, t: Type, span: Span, arithmetic: boolean): void {
    const sym = this.mapSymbol(m);
    // Arithmetic on an integer map keeps its type (and its sign).
    if (arithmetic && sym.value?.kind === "int") t = sym.value;
    // An unknown value (an earlier error, or a read not yet typed in a silent pass) says nothing.
    if (t.kind === "error") {
      m.type = sym.value ?? ERROR;
      return;
    }
    if (sym.value?.kind === "error") sym.value = undefined;
    if (sym.value === undefined) {
      sym.value = t;
      this.changed = true;
    } else {
      const u = unify(sym.value, t);
      if (u === undefined || (arithmetic && sym.value.kind !== "int")) {
        const what = arithmetic ? "an integer operation" : typeName(t);
        this.error(span, `type mismatch: ${displayMap(m.name)} holds ${typeName(sym.value)}, but this is ${what}`);
      } else if (!sameType(u, sym.value)) {
        sym.value = u;
        this.changed = true;
      }
    }
    m.type = sym.value;
  }

  private readMap(m: A.MapExpr): Type {
    this.mapKeys(m);
    const sym = this.mapSymbol(m);
    if (sym.value === undefined) {
      this.error(m.span, `${displayMap(m.name)} is never assigned a value`);
      return (m.type = ERROR);
    }
    if (sym.value.kind === "agg") {
      this.error(m.span, `${displayMap(m.name)} holds ${typeName(sym.value)}, whose value can only be printed, not used in an expression`);
      return (m.type = ERROR);
    }
    return (m.type = sym.value);
  }

  // ---- expressions --------------------------------------------------------------------------

  private requireInt(e: A.Expr, t: Type, what: string): boolean {
    if (t.kind === "int") return true;
    if (t.kind !== "error") this.error(e.span, `${what} needs an integer, but this is ${typeName(t)}`);
    return false;
  }

  /** Type-checks an expression used as a value, sets its type and returns it. */
  private value(e: A.Expr, ctx: { statement?: boolean; assignedTo?: A.MapExpr } = {}): Type {
    const t = this.infer(e, ctx);
    e.type = t;
    return t;
  }

  private infer(e: A.Expr, ctx: { statement?: boolean; assignedTo?: A.MapExpr }): Type {
    switch (e.kind) {
      case "Int":
        return e.value > 0x7fff_ffff_ffff_ffffn ? int(8, false) : INT64;
      case "String":
        return str(e.value.length + 1);
      case "Variable":
        return this.readVariable(e);
      case "Positional": {
        const p = this.options.params?.[e.index - 1];
        if (p === undefined || isIntegerParam(p)) return INT64;
        return str(Buffer.byteLength(p) + 1);
      }
      case "PositionalCount":
        return INT64;
      case "Map":
        return this.readMap(e);
      case "Ident":
        return this.builtin(e);
      case "Call":
        return this.call(e, ctx);
      case "Unary":
        return this.unary(e);
      case "Binary":
        return this.binary(e);
      case "Ternary":
        return this.ternary(e, ctx);
      case "Cast":
        return this.cast(e);
      case "Tuple": {
        const elems = e.elems.map((x) => {
          const t = this.value(x);
          if (t.kind === "void" || t.kind === "agg") this.error(x.span, `a tuple cannot hold ${typeName(t)}`);
          return t;
        });
        return { kind: "tuple", elems };
      }
      case "TupleIndex": {
        const t = this.value(e.tuple);
        if (t.kind === "error") return ERROR;
        if (t.kind !== "tuple") {
          this.error(e.span, `.${e.index} needs a tuple, but this is ${typeName(t)}`);
          return ERROR;
        }
        const elem = t.elems[e.index];
        if (elem === undefined) {
          this.error(e.span, `tuple index ${e.index} is out of range: the tuple has ${t.elems.length} elements`);
          return ERROR;
        }
        return elem;
      }
      case "Field":
        return this.field(e);
      case "Index":
        return this.index(e);
      case "IncDec":
        return this.incDec(e);
    }
  }

  private builtin(e: A.IdentExpr): Type {
    const b = BUILTIN_VARIABLES.get(e.name);
    if (b === undefined) {
      if (e.name === "args") {
        this.error(e.span, "args can only be used as args->field, in tracepoint probes");
        return ERROR;
      }
      const why = UNSUPPORTED_VARIABLES[e.name];
      if (why !== undefined) this.error(e.span, why);
      else if (e.name.startsWith("struct ") || e.name.startsWith("union ")) this.error(e.span, `a type (${e.name}) cannot be used as a value`);
      else if (CAST_TYPES[e.name] !== undefined) this.error(e.span, `type name '${e.name}' cannot be used as a value`);
      else this.error(e.span, `unknown identifier '${e.name}'`);
      return ERROR;
    }
    if (b.needsChild && !this.options.childCommand) this.error(e.span, `${e.name} can only be used with a child command (-c CMD)`);
    if (b.needs !== undefined) {
      const need = b.needs;
      const argIndex = need === "args" ? Number(e.name.slice(3)) : 0;
      for (const p of this.scope.providers) {
        const have = p.context[need];
        if (need === "args" ? (have as number) > argIndex : have) continue;
        if (need === "args" && (have as number) > 0) {
          this.error(e.span, `${e.name} is not available in ${p.type} probes: their arguments are arg0 to arg${(have as number) - 1}`);
        } else {
          this.error(e.span, `${e.name} is only valid in ${validIn(need)} probes, not in ${p.type}`);
        }
        break;
      }
    }
    // A pointer to the kernel's task_struct when its layout is known (BTF, or the script's own).
    if (e.name === "curtask") return this.structs.exists("struct task_struct") ? pointer("struct task_struct", "kernel") : b.type;
    return b.type;
  }

  private field(e: A.FieldExpr): Type {
    if (e.base.kind === "Ident" && e.base.name === "args") {
      e.base.type = VOID;
      const noTracepoint = this.scope.providers.find((p) => !p.context.tracepointArgs);
      if (noTracepoint) {
        this.error(e.base.span, `args is only valid in tracepoint probes, not in ${noTracepoint.type}`);
        return ERROR;
      }
      const fields = this.scope.tracepointFields;
      if (fields === undefined) {
        // The layout is not readable here (no tracefs, or wildcards): the field is taken on trust.
        this.warning(e.fieldSpan, `cannot check args${e.arrow ? "->" : "."}${e.field}: ${this.scope.tracepointUnknown ?? "the tracepoint layout is unknown"}`);
        return ERROR;
      }
      const f = fields.get(e.field);
      if (f === undefined) {
        const names = [...fields.keys()].join(", ");
        this.error(e.fieldSpan, `the tracepoint has no field '${e.field}'${names ? ` (its fields: ${names})` : ""}`);
        return ERROR;
      }
      if (f.offset >= 0) e.tracepoint = f;
      switch (f.kind) {
        case "int":
          return f.size === 1 || f.size === 2 || f.size === 4 || f.size === 8 ? int(f.size, f.signed) : int(8, f.signed);
        case "pointer":
        case "data_loc":
          return int(8, false);
        case "string":
          return str(f.length ?? f.size);
        case "array":
          this.error(e.fieldSpan, `args->${e.field} is an array (${f.ctype}), and array fields are not supported`);
          return ERROR;
      }
    }
    return this.member(e);
  }

  /** `p->name` and `s.name`: a member of a struct or union. */
  private member(e: A.FieldExpr): Type {
    const bt = this.value(e.base);
    if (bt.kind === "error") return ERROR;
    const op = e.arrow ? "->" : ".";
    let st: Type | undefined = bt;
    let as: "user" | "kernel" | undefined;
    if (e.arrow) {
      if (!isPointer(bt)) {
        this.error(e.span, `'->${e.field}' needs a pointer to a struct, but this is ${typeName(bt)}`);
        return ERROR;
      }
      st = this.pointee(bt, e.span);
      as = bt.ptr.as;
      if (st === undefined) return ERROR;
    }
    if (st.kind !== "struct") {
      const hint = isPointer(bt) && !e.arrow ? ` (use '->' for a pointer)` : "";
      this.error(e.span, `'${op}${e.field}' needs a struct, but this is ${typeName(e.arrow ? st : bt)}${hint}`);
      return ERROR;
    }
    const f = findField(st, e.field);
    if (f === undefined) {
      this.error(e.fieldSpan, `${st.name} has no member named '${e.field}'`);
      return ERROR;
    }
    e.member = f;
    // A pointer read through a kernel (or user) pointer points into the same address space.
    if (isPointer(f.type) && f.type.ptr.as === undefined && as !== undefined) return { ...f.type, ptr: { ...f.type.ptr, as } };
    return f.type;
  }

  /** What a pointer points to (structs looked up by name); undefined after reporting. */
  private pointee(t: Type & { ptr: Pointee }, span: Span): Type | undefined {
    const to = t.ptr.to;
    if (typeof to !== "string") {
      if (to.kind === "void") {
        this.error(span, `cannot dereference ${typeName(t)}: cast it to a pointer to a type first`);
        return undefined;
      }
      // What a pointer read through a kernel (or user) pointer points to is there too.
      if (isPointer(to) && to.ptr.as === undefined && t.ptr.as !== undefined) return { ...to, ptr: { ...to.ptr, as: t.ptr.as } };
      return to;
    }
    const st = this.structs.lookup(to);
    if (st === undefined) this.error(span, `unknown type: ${to} (not defined in the script${this.structs.hasKernelTypes() ? ", nor in the kernel's BTF" : ", and the kernel's BTF is not readable"})`);
    return st;
  }

  /** `e[i]`: an element of an array, of a pointer, or a byte of a string. */
  private index(e: A.IndexExpr): Type {
    const bt = this.value(e.base);
    const it = this.value(e.index);
    if (it.kind !== "int" && it.kind !== "error") this.error(e.index.span, `an index must be an integer, but this is ${typeName(it)}`);
    if (bt.kind === "error") return ERROR;
    const n = it.kind === "int" ? constantValue(e.index, this.options.params ?? []) : undefined;
    if (bt.kind === "array" || bt.kind === "string") {
      const count = bt.kind === "array" ? bt.count : bt.size;
      if (n !== undefined && (n < 0n || (count > 0 && n >= BigInt(count)))) this.error(e.index.span, `index ${n} is out of bounds for ${typeName(bt)}`);
      return bt.kind === "array" ? bt.elem : int(1, true);
    }
    if (isPointer(bt)) {
      const t = this.pointee(bt, e.span);
      if (t === undefined) return ERROR;
      return t;
    }
    this.error(e.span, `cannot index ${typeName(bt)}: only arrays, pointers and strings can be indexed`);
    return ERROR;
  }

  /** A type named in sizeof() or a cast: `uint8`, `struct Foo`, a C type name; undefined if not one. */
  typeNamed(name: string): Type | undefined {
    const cast = CAST_TYPES[name];
    if (cast !== undefined) return cast;
    if (name.startsWith("struct ") || name.startsWith("union ")) return this.structs.lookup(name);
    if (BUILTIN_VARIABLES.has(name) || name === "args") return undefined;
    return this.structs.named(name);
  }

  private call(e: A.CallExpr, ctx: { statement?: boolean; assignedTo?: A.MapExpr }): Type {
    const fn = FUNCTIONS.get(e.name);
    if (fn === undefined) {
      for (const a of e.args) if (a.kind !== "Ident") this.value(a);
      this.error(e.nameSpan, UNSUPPORTED_FUNCTIONS[e.name] ?? `unknown function '${e.name}'`);
      return ERROR;
    }
    if (fn.aggregation && ctx.assignedTo === undefined) {
      this.error(e.span, `${e.name}() must be assigned to a map, as in @name = ${e.name}(${e.args.length ? "..." : ""})`);
    }
    return fn.check(this.callContext(e, ctx.assignedTo));
  }

  private callContext(call: A.CallExpr, assignedTo: A.MapExpr | undefined): CallContext {
    return {
      call,
      assignedTo,
      unsafe: this.options.unsafe === true,
      error: (span, message) => this.error(span, message),
      warning: (span, message) => this.warning(span, message),
      arity: (min, max = min) => {
        const n = call.args.length;
        if (n >= min && n <= max) return true;
        const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
        this.error(call.span, `${call.name}() takes ${want} argument${min === 1 && (max === 1 || max === Infinity) ? "" : "s"}, but ${n} ${n === 1 ? "is" : "are"} given`);
        for (const a of call.args) if (a.kind !== "Ident") this.value(a);
        return false;
      },
      value: (i) => this.value(call.args[i]!),
      userSymbol: (name) => {
        const targets = this.program.probes[this.scope.index]!.attachPoints.flatMap((ap) => (ap.target ? [ap.target] : []));
        const other = targets.find((t) => t.type !== "uprobe" && t.type !== "uretprobe" && t.type !== "usdt");
        if (other !== undefined) return `${call.name}() is only valid in uprobe, uretprobe and usdt probes, not in ${other.type}`;
        const first = targets[0];
        if (first === undefined || !("path" in first)) return `${call.name}() needs the probe's binary`;
        const key = `${first.path}\0${name}`;
        let found = this.symbolCache.get(key);
        if (found === undefined) this.symbolCache.set(key, (found = lookupUserSymbol(first.path, name)));
        return found;
      },
      typeOf: (i) => {
        const a = call.args[i]!;
        if (a.kind === "Ident") {
          const t = this.typeNamed(a.name);
          if (t !== undefined) return (a.type = t);
          if (a.name.startsWith("struct ") || a.name.startsWith("union ")) {
            this.error(a.span, `unknown type: ${a.name} (not defined in the script${this.structs.hasKernelTypes() ? ", nor in the kernel's BTF" : ", and the kernel's BTF is not readable"})`);
            return (a.type = ERROR);
          }
        }
        return this.value(a);
      },
      constant: (i, what) => this.constant(call.args[i]!, what),
      tryConstant: (i) => constantValue(call.args[i]!, this.options.params ?? []),
      constantString: (i, what) => {
        const a = call.args[i]!;
        if (this.value(a).kind === "error") return undefined;
        const s = constantString(a, this.options.params ?? []);
        if (s === undefined) this.error(a.span, `${what} must be a string literal, or str($N) of a positional parameter`);
        return s;
      },
      stringLiteral: (i, what) => {
        const a = call.args[i]!;
        if (a.kind === "String") {
          a.type = str(a.value.length + 1);
          return a.value;
        }
        this.value(a);
        this.error(a.span, `${what} must be a string literal`);
        return undefined;
      },
      mapRef: (i, keys) => {
        const a = call.args[i]!;
        if (a.kind !== "Map") {
          this.value(a);
          this.error(a.span, `${call.name}() expects a map, as in ${call.name}(@name${keys === "element" ? "[key]" : ""})`);
          return undefined;
        }
        // A whole map (`clear(@m)`) says nothing about its keys; an element does.
        if (a.keys.length > 0) this.mapKeys(a);
        const sym = this.mapSymbol(a);
        if (keys === "none" && a.keys.length > 0) this.error(a.span, `${call.name}() takes a whole map, without keys: ${call.name}(@${a.name})`);
        if (keys === "element" && a.keys.length === 0 && sym.keys !== undefined && sym.keys.length > 0) {
          this.error(a.span, `${call.name}() needs the element's key: ${call.name}(@${a.name}[key])`);
        }
        if (sym.value === undefined) this.error(a.span, `${displayMap(a.name)} is never assigned a value`);
        a.type = sym.value ?? ERROR;
        return a;
      },
      stringCharSpan: (arg, index, length) => this.stringCharSpan(arg, index, length),
    };
  }

  /** The source span of characters [index, index+length) of a string literal's value. */
  private stringCharSpan(arg: A.Expr, index: number, length: number): Span {
    if (arg.kind !== "String") return arg.span;
    const raw = this.diags.source.text.slice(arg.span.start + 1, arg.span.end - 1);
    const starts: number[] = [];
    for (let i = 0; i < raw.length; ) {
      starts.push(i);
      if (raw[i] !== "\\") {
        i++;
        continue;
      }
      const m = /^\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/.exec(raw.slice(i));
      i += m ? m[0].length : 1;
    }
    starts.push(raw.length);
    const from = starts[Math.min(index, starts.length - 1)]!;
    const to = starts[Math.min(index + length, starts.length - 1)]!;
    return { start: arg.span.start + 1 + from, end: arg.span.start + 1 + Math.max(to, from + 1) };
  }

  private unary(e: A.UnaryExpr): Type {
    const t = this.value(e.operand);
    if (e.op === "*") {
      if (t.kind === "error") return ERROR;
      if (!isPointer(t)) {
        this.error(e.span, `'*' needs a pointer, but this is ${typeName(t)}`);
        return ERROR;
      }
      return this.pointee(t, e.span) ?? ERROR;
    }
    if (e.op === "&") {
      this.error(e.span, "taking an address is not supported");
      return ERROR;
    }
    if (!this.requireInt(e.operand, t, `'${e.op}'`)) return ERROR;
    if (e.op === "!") return INT64;
    return promote(t);
  }

  private binary(e: A.BinaryExpr): Type {
    const l = this.value(e.left);
    const r = this.value(e.right);
    // An operand not known yet (an error, or a map typed in a later pass): the result of any
    // of these operators is an integer whatever it is, which lets `@x = @x + 1` be typed.
    if (l.kind === "error" || r.kind === "error") return INT64;
    // A string parameter in pointer arithmetic, `$1 + 2`: the string from that byte on.
    if (e.op === "+" && e.left.kind === "Positional" && l.kind === "string" && r.kind === "int") {
      const s = constantString(e, this.options.params ?? []);
      if (s === undefined) this.error(e.right.span, "the offset into a string parameter must be a constant, not negative");
      return str(Buffer.byteLength(s ?? "", "latin1") + 1);
    }
    switch (e.op) {
      case "==":
      case "!=":
        if (l.kind === "int" && r.kind === "int") return INT64;
        if (l.kind === "string" && r.kind === "string") return INT64;
        if (l.kind === "buffer" && r.kind === "buffer") return INT64;
        this.error(e.span, `cannot compare ${typeName(l)} with ${typeName(r)}`);
        return INT64;
      case "&&":
      case "||":
        this.requireInt(e.left, l, `'${e.op}'`);
        this.requireInt(e.right, r, `'${e.op}'`);
        return INT64;
      case "<":
      case ">":
      case "<=":
      case ">=":
        if (l.kind === "int" && r.kind === "int") return INT64;
        this.error(e.span, `'${e.op}' compares integers, not ${typeName(l)} and ${typeName(r)}`);
        return INT64;
      case "<<":
      case ">>":
        if (!this.requireInt(e.left, l, `'${e.op}'`) || !this.requireInt(e.right, r, `'${e.op}'`)) return ERROR;
        return promote(l);
      default:
        if (!this.requireInt(e.left, l, `'${e.op}'`) || !this.requireInt(e.right, r, `'${e.op}'`)) return ERROR;
        if ((e.op === "+" || e.op === "-") && (isPointer(l) || isPointer(r))) {
          // Pointer arithmetic counts in elements of what the pointer points to.
          if (isPointer(l) && isPointer(r)) {
            this.error(e.span, `'${e.op}' cannot be used on two pointers (${typeName(l)}, ${typeName(r)})`);
            return ERROR;
          }
          if (isPointer(l)) return l;
          if (e.op === "+") return r;
          this.error(e.span, "cannot subtract a pointer from an integer");
          return ERROR;
        }
        return arithmetic(l, r);
    }
  }

  private ternary(e: A.TernaryExpr, ctx: { statement?: boolean }): Type {
    this.condition(e.cond, "condition of ?:");
    const a = this.value(e.then, { statement: ctx.statement });
    const b = this.value(e.else, { statement: ctx.statement });
    if (a.kind === "error" || b.kind === "error") return ERROR;
    if (a.kind === "void" && b.kind === "void") return VOID;
    if (a.kind === "int" && b.kind === "int") return sameType(a, b) ? a : arithmetic(a, b);
    const u = a.kind === b.kind && a.kind !== "agg" ? unify(a, b) : undefined;
    if (u === undefined) {
      this.error(e.span, `the two branches of ?: have different types: ${typeName(a)} and ${typeName(b)}`);
      return ERROR;
    }
    return u;
  }

  private cast(e: A.CastExpr): Type {
    const t = this.value(e.operand);
    const isRecord = e.typeName.startsWith("struct ") || e.typeName.startsWith("union ");
    let target: Type | undefined;
    if (isRecord) {
      if (e.pointer === 0) {
        this.error(e.typeSpan, `cannot cast to ${e.typeName}, only to a pointer to it: (${e.typeName} *)`);
        return ERROR;
      }
      if (this.structs.lookup(e.typeName) === undefined) {
        this.error(e.typeSpan, `unknown type: ${e.typeName} (not defined in the script${this.structs.hasKernelTypes() ? ", nor in the kernel's BTF" : ", and the kernel's BTF is not readable"})`);
        return ERROR;
      }
    } else {
      target = CAST_TYPES[e.typeName];
      if (target === undefined) {
        this.error(e.typeSpan, `unknown type '${e.typeName}'`);
        return ERROR;
      }
    }
    const name = `${e.typeName}${"*".repeat(e.pointer)}`;
    if (t.kind !== "int" && t.kind !== "error") this.error(e.operand.span, `cannot cast ${typeName(t)} to ${name}`);
    if (e.pointer === 0) return target!;
    // A pointer keeps the address space of the pointer it was cast from (ctx, curtask: kernel).
    const as = t.kind === "int" ? t.ptr?.as : undefined;
    let p: Type = pointer(isRecord ? e.typeName : target!, as);
    for (let k = 1; k < e.pointer; k++) p = pointer(p, as);
    return p;
  }

  private incDec(e: A.IncDecExpr): Type {
    const target = e.target;
    if (target.kind === "Variable") {
      const t = this.readVariable(target);
      if (t.kind !== "int" && t.kind !== "error") this.error(e.span, `'${e.op}' needs an integer, but $${target.name} is ${typeName(t)}`);
      return t.kind === "int" ? t : ERROR;
    }
    if (target.kind === "Map") {
      this.mapKeys(target);
      this.storeMapValue(target, INT64, e.span, true);
      const sym = this.mapSymbol(target);
      return sym.value?.kind === "int" ? sym.value : ERROR;
    }
    this.value(target);
    this.error(e.span, `'${e.op}' needs a $variable or an @map`);
    return ERROR;
  }

  /** Evaluates a compile-time integer constant, or reports why it is not one. */
  private constant(e: A.Expr, what: string): bigint | undefined {
    const t = this.value(e);
    if (t.kind === "error") return undefined;
    const v = constantValue(e, this.options.params ?? []);
    if (v === undefined) this.error(e.span, `${what} must be a constant integer`);
    return v;
  }
}

/**
 * A positional parameter's value when its text is an integer written as in C (decimal, 0x hex,
 * 0 octal, optionally negative) that fits in 64 bits; otherwise $N is a string.
 */
export function paramValue(p: string): bigint | undefined {
  const m = /^(-?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(p);
  if (!m) return undefined;
  const digits = m[2]!;
  const v = digits.length > 1 && digits[0] === "0" && !/^0[xX]/.test(digits) ? BigInt("0o" + digits.slice(1)) : BigInt(digits);
  if (v > 0xffff_ffff_ffff_ffffn) return undefined;
  return BigInt.asIntN(64, m[1] === "-" ? -v : v);
}

export function isIntegerParam(p: string): boolean {
  return paramValue(p) !== undefined;
}

/**
 * The value of a constant string expression: a string literal, a positional parameter that is not
 * a number (missing ones are ""), `$N + k` (the parameter from its byte k on, as bpftrace treats a
 * string parameter in pointer arithmetic), or str() of one of these (cut to str()'s length);
 * else undefined. The string is a byte string (one char per byte).
 */
export function constantString(e: A.Expr, params: string[]): string | undefined {
  switch (e.kind) {
    case "String":
      return e.value;
    case "Positional": {
      const p = params[e.index - 1];
      if (p === undefined) return "";
      return isIntegerParam(p) ? undefined : Buffer.from(p, "utf8").toString("latin1");
    }
    case "Binary": {
      if (e.op !== "+" || e.left.kind !== "Positional") return undefined;
      const s = constantString(e.left, params);
      const k = constantValue(e.right, params);
      if (s === undefined || k === undefined || k < 0n) return undefined;
      return s.slice(Number(k > BigInt(s.length) ? BigInt(s.length) : k));
    }
    case "Call": {
      if (e.name !== "str" || e.args.length === 0) return undefined;
      const s = constantString(e.args[0]!, params);
      if (s === undefined) return undefined;
      const n = e.args[1] !== undefined ? constantValue(e.args[1], params) : undefined;
      return n !== undefined && n >= 1n && BigInt(s.length) >= n ? s.slice(0, Number(n) - 1) : s;
    }
    default:
      return undefined;
  }
}

/** C's integer promotion with 64-bit ints: narrower integers become int64. */
function promote(t: Type): Type {
  if (t.kind !== "int") return t;
  if (t.ptr) return int(8, false);
  return t.size === 8 && !t.signed ? t : INT64;
}

/** C's usual arithmetic conversions with 64-bit ints: uint64 if either operand is uint64. */
function arithmetic(a: Type, b: Type): Type {
  const pa = promote(a);
  const pb = promote(b);
  const unsigned = (pa.kind === "int" && !pa.signed) || (pb.kind === "int" && !pb.signed);
  return int(8, !unsigned);
}

const MASK64 = (1n << 64n) - 1n;
const COMPARISONS = new Set(["<", ">", "<=", ">="]);

function wrap(v: bigint, t: Type | undefined): bigint {
  if (t === undefined || t.kind !== "int") return BigInt.asIntN(64, v);
  const bits = t.size * 8;
  return t.signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v);
}

/** The value of a constant integer expression (literals, operators, casts), else undefined. */
export function constantValue(e: A.Expr, params: string[]): bigint | undefined {
  switch (e.kind) {
    case "Int":
      return e.value;
    case "Positional": {
      const p = params[e.index - 1];
      if (p === undefined) return 0n;
      return paramValue(p);
    }
    case "PositionalCount":
      return BigInt(params.length);
    case "Call": {
      // sizeof() and offsetof() are known once their arguments are typed.
      const t = e.args[0]?.type;
      if (e.name === "sizeof" && t !== undefined && t.kind !== "error") return BigInt(sizeOf(t));
      if (e.name === "offsetof" && t?.kind === "struct" && e.args[1]?.kind === "Ident") {
        const f = findField(t, e.args[1].name);
        return f === undefined ? undefined : BigInt(f.offset);
      }
      return undefined;
    }
    case "Cast": {
      const v = constantValue(e.operand, params);
      const t = e.pointer > 0 ? int(8, false) : CAST_TYPES[e.typeName];
      return v === undefined || t === undefined ? undefined : wrap(v, t);
    }
    case "Unary": {
      const v = constantValue(e.operand, params);
      if (v === undefined) return undefined;
      if (e.op === "-") return wrap(-v, e.type);
      if (e.op === "~") return wrap(~v, e.type);
      if (e.op === "!") return v === 0n ? 1n : 0n;
      return undefined;
    }
    case "Ternary": {
      const c = constantValue(e.cond, params);
      if (c === undefined) return undefined;
      const v = constantValue(c !== 0n ? e.then : e.else, params);
      return v === undefined ? undefined : wrap(v, e.type);
    }
    case "Binary": {
      const l = constantValue(e.left, params);
      const r = constantValue(e.right, params);
      if (l === undefined || r === undefined) return undefined;
      // Comparisons convert their operands like arithmetic does; the others have that type.
      const operands = COMPARISONS.has(e.op) && e.left.type && e.right.type ? arithmetic(e.left.type, e.right.type) : e.type;
      const unsigned = operands?.kind === "int" && !operands.signed;
      const ul = l & MASK64;
      const ur = r & MASK64;
      const res = ((): bigint | undefined => {
        switch (e.op) {
          case "+": return l + r;
          case "-": return l - r;
          case "*": return l * r;
          case "/": return r === 0n ? 0n : unsigned ? ul / ur : l / r;
          case "%": return r === 0n ? l : unsigned ? ul % ur : l % r;
          case "&": return l & r;
          case "|": return l | r;
          case "^": return l ^ r;
          // Shift counts are taken modulo 64, as the BPF ISA does at run time.
          case "<<": return l << (r & 63n);
          case ">>": return unsigned ? ul >> (r & 63n) : BigInt.asIntN(64, l) >> (r & 63n);
          case "==": return l === r ? 1n : 0n;
          case "!=": return l !== r ? 1n : 0n;
          case "<": return (unsigned ? ul < ur : l < r) ? 1n : 0n;
          case ">": return (unsigned ? ul > ur : l > r) ? 1n : 0n;
          case "<=": return (unsigned ? ul <= ur : l <= r) ? 1n : 0n;
          case ">=": return (unsigned ? ul >= ur : l >= r) ? 1n : 0n;
          case "&&": return l !== 0n && r !== 0n ? 1n : 0n;
          case "||": return l !== 0n || r !== 0n ? 1n : 0n;
        }
      })();
      return res === undefined ? undefined : wrap(res, e.type);
    }
    default:
      return undefined;
  }
}

function intersectFields(a: Map<string, TracepointField>, b: Map<string, TracepointField>): Map<string, TracepointField> {
  const out = new Map<string, TracepointField>();
  for (const [k, v] of a) {
    const w = b.get(k);
    // The same type in both; the offset may differ (each program reads its own), marked -1.
    if (w && w.size === v.size && w.kind === v.kind && w.signed === v.signed) out.set(k, w.offset === v.offset ? v : { ...v, offset: -1 });
  }
  return out;
}
