// fast-check arbitraries for the property tests: well-typed programs, as ASTs (print them with
// compiler/printer.ts), and the helpers the printer and property tests share.
//
// A program is generated imperatively from a stream of choices drawn with fc.gen(), so each
// choice can depend on what came before (which variables are assigned so far, which maps exist
// and with which types). Every choice is an integer in [0, n) where 0 is the simplest option, so
// shrinking a failing program moves towards smaller, simpler programs.
//
// The typing rules followed (bpftrace 0.17, as compiler/check.ts implements them):
// - each $variable of a probe has one kind decided up front (int, string, or a tuple of those,
//   possibly nested); it is assigned before it is read, in textual order within its probe;
// - each @map has one key list (arity and int/string per key) and one value kind decided up
//   front: int, string, tuple, or one aggregation (count, sum, avg, min, max, stats, hist, lhist
//   with fixed bounds); aggregation maps are only assigned their aggregation and printed, cleared,
//   zeroed or deleted from, never read; every map used is assigned somewhere in the program
//   (possibly after its use: maps are global), except as noted at `groundedOnly` (KNOWN);
// - compound assignments and ++/-- only on int variables and int maps;
// - arg0..arg5 only in the uprobe, retval only in the uretprobe, args->filename only in the
//   tracepoint probe; str() only of those;
// - conditions (if, while, ?:, predicates, &&, ||, !) are ints; strings compare with == and !=
//   only; printf conversions match their arguments; break and continue only inside while.
import fc from "fast-check";
import type * as A from "../../compiler/ast.js";
import type { AnalyzeOptions } from "../../compiler/index.js";
import { parseTracepointFormat } from "../../compiler/probes/tracepoint-format.js";
import type { Span } from "../../compiler/source.js";

// ---- shared test helpers ------------------------------------------------------------------------

/**
 * A deep copy of an AST without source positions (`span`, `nameSpan`, `typeSpan`, `fieldSpan`)
 * and what the checker adds (`type` on expressions, `target` on attach points), for comparing
 * ASTs of different texts.
 */
export function stripSpans<T>(node: T): T {
  if (Array.isArray(node)) return node.map(stripSpans) as T;
  if (node === null || typeof node !== "object") return node;
  const isAttachPoint = (node as { kind?: unknown }).kind === "AttachPoint";
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "span" || k === "nameSpan" || k === "typeSpan" || k === "fieldSpan" || k === "type") continue;
    if (isAttachPoint && k === "target") continue;
    out[k] = stripSpans(v);
  }
  return out as T;
}

/** The layout of syscalls:sys_enter_openat, as tracefs describes it on x86-64. */
export const OPENAT_FORMAT = parseTracepointFormat(`name: sys_enter_openat
ID: 640
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:int dfd;	offset:16;	size:8;	signed:0;
	field:const char * filename;	offset:24;	size:8;	signed:0;
	field:int flags;	offset:32;	size:8;	signed:0;
	field:umode_t mode;	offset:40;	size:8;	signed:0;

print fmt: "dfd: 0x%08lx, filename: 0x%08lx, flags: 0x%08lx, mode: 0x%08lx", ((unsigned long)(REC->dfd)), ((unsigned long)(REC->filename)), ((unsigned long)(REC->flags)), ((unsigned long)(REC->mode))
`);

/** analyze() options that make the tests independent of the machine's tracefs. */
export const ANALYZE_OPTIONS: AnalyzeOptions = {
  tracepointFormat: (category, name) => (category === "syscalls" && name === "sys_enter_openat" ? { found: OPENAT_FORMAT } : { missing: true }),
};

// ---- choices ------------------------------------------------------------------------------------

const natFactories = new Map<number, () => fc.Arbitrary<number>>();

/** Draws choices from a fast-check generator; 0 is always the simplest choice. */
export class Choices {
  constructor(private readonly g: fc.GeneratorValue) {}

  /** An integer in [0, n). */
  below(n: number): number {
    if (n <= 1) return 0;
    // One factory per bound: fc.gen caches arbitraries by factory (a Map) and then by arguments (a
    // linear scan), so passing fc.nat with hundreds of different bounds would be slow.
    let factory = natFactories.get(n);
    if (factory === undefined) {
      const arb = fc.nat({ max: n - 1 });
      factory = () => arb;
      natFactories.set(n, factory);
    }
    return this.g(factory);
  }

  /** An integer in [min, max]. */
  range(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  /** True with about `percent`% probability (false is the simpler choice). */
  chance(percent: number): boolean {
    return this.below(100) >= 100 - percent;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)]!;
  }

  /** Runs one of the options with weight > 0, chosen with probability proportional to its weight. */
  weighted<T>(options: ReadonlyArray<readonly [number, () => T]>): T {
    const live = options.filter(([w]) => w > 0);
    const total = live.reduce((s, [w]) => s + w, 0);
    let r = this.below(total);
    for (const [w, f] of live) {
      if (r < w) return f();
      r -= w;
    }
    throw new Error("weighted: no option");
  }

  bigint(max: bigint): bigint {
    return this.g(fc.bigInt, { min: 0n, max });
  }
}

// ---- types --------------------------------------------------------------------------------------

export type GType = { k: "int" } | { k: "str" } | { k: "tuple"; elems: GType[] };
type Scalar = { k: "int" } | { k: "str" };
type AggKind = "count" | "sum" | "avg" | "min" | "max" | "stats" | "hist" | "lhist";
type MapValue = GType | { k: "agg"; agg: AggKind; lhist: [number, number, number] };

const INT: Scalar = { k: "int" };
const STR: Scalar = { k: "str" };

function sameShape(a: GType, b: GType): boolean {
  if (a.k !== b.k) return false;
  if (a.k === "tuple" && b.k === "tuple") return a.elems.length === b.elems.length && a.elems.every((e, i) => sameShape(e, b.elems[i]!));
  return true;
}

interface MapInfo {
  name: string;
  keys: Scalar[];
  value: MapValue;
  /** Assigned somewhere so far (`=`, a compound assignment, `++`/`--`). */
  assigned: boolean;
  /** Assigned so far with a value that reads nothing before its assignment (see `groundedOnly`). */
  grounded: boolean;
  /** Used in a way that needs an assignment somewhere in the program. */
  used: boolean;
}

interface VarInfo {
  name: string;
  type: GType;
  assigned: boolean;
  /** Assigned so far with a value that reads nothing before its assignment (see `groundedOnly`). */
  grounded: boolean;
}

/** What a probe's context offers: arg0..arg5, retval, args->filename, or nothing. */
type Ctx = "plain" | "uprobe" | "uretprobe" | "tracepoint";

interface Scope {
  ctx: Ctx;
  vars: VarInfo[];
  /** Directly inside a while loop (through ifs only): break and continue are valid. */
  inWhile: boolean;
}

// ---- AST builders -------------------------------------------------------------------------------

const sp = (): Span => ({ start: 0, end: 0 });
const intLit = (value: bigint | number): A.IntExpr => ({ kind: "Int", value: BigInt(value), span: sp() });
const strLit = (value: string): A.StringExpr => ({ kind: "String", value, span: sp() });
const ident = (name: string): A.IdentExpr => ({ kind: "Ident", name, span: sp() });
const variable = (name: string): A.VariableExpr => ({ kind: "Variable", name, span: sp() });
const mapExpr = (name: string, keys: A.Expr[]): A.MapExpr => ({ kind: "Map", name, keys, span: sp() });
const call = (name: string, args: A.Expr[]): A.CallExpr => ({ kind: "Call", name, nameSpan: sp(), args, span: sp() });
const unary = (op: A.UnaryOperator, operand: A.Expr): A.UnaryExpr => ({ kind: "Unary", op, operand, span: sp() });
const binary = (op: A.BinaryOperator, left: A.Expr, right: A.Expr): A.BinaryExpr => ({ kind: "Binary", op, left, right, span: sp() });
const ternary = (cond: A.Expr, then: A.Expr, other: A.Expr): A.TernaryExpr => ({ kind: "Ternary", cond, then, else: other, span: sp() });
const cast = (typeName: string, operand: A.Expr): A.CastExpr => ({ kind: "Cast", typeName, pointer: 0, typeSpan: sp(), operand, span: sp() });
const tuple = (elems: A.Expr[]): A.TupleExpr => ({ kind: "Tuple", elems, span: sp() });
const tupleIndex = (t: A.Expr, index: number): A.TupleIndexExpr => ({ kind: "TupleIndex", tuple: t, index, span: sp() });
const field = (base: A.Expr, name: string): A.FieldExpr => ({ kind: "Field", base, field: name, arrow: true, fieldSpan: sp(), span: sp() });
const incDec = (op: "++" | "--", prefix: boolean, target: A.Expr): A.IncDecExpr => ({ kind: "IncDec", op, prefix, target, span: sp() });
const exprStmt = (expr: A.Expr): A.ExprStmt => ({ kind: "ExprStmt", expr, span: sp() });
const assign = (target: A.VariableExpr | A.MapExpr, op: A.AssignOperator, value: A.Expr): A.AssignStmt => ({ kind: "AssignStmt", target, op, value, span: sp() });

function attachPoint(raw: string): A.AttachPoint {
  // None of the generated attach points has quotes or positional parameters.
  return { kind: "AttachPoint", raw, fields: raw.split(":").map((text) => ({ text, quoted: false, span: sp() })), span: sp() };
}

// ---- vocabulary ---------------------------------------------------------------------------------

const INT_BUILTINS = ["pid", "tid", "uid", "gid", "nsecs", "elapsed", "cpu"];
const CAST_TYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"];
const ARITH_OPS: A.BinaryOperator[] = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"];
const COMPARE_OPS: A.BinaryOperator[] = ["==", "!=", "<", ">", "<=", ">="];
const COMPOUND_OPS: A.AssignOperator[] = ["+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="];
const AGGS: AggKind[] = ["count", "sum", "avg", "min", "max", "stats", "hist", "lhist"];
const LHIST_BOUNDS: Array<[number, number, number]> = [
  [0, 100, 10],
  [0, 1000, 100],
  [10, 20, 1],
];
const VAR_NAMES = ["a", "b", "c", "i", "n", "s", "t", "x", "y", "tup", "_k1"];
const MAP_NAMES = ["", "a", "b", "c", "count", "h", "m", "s", "t", "x", "bytes_by_comm"];
const INT_CONVERSIONS = ["%d", "%u", "%x", "%c", "%05d"];
const STR_CONVERSIONS = ["%s", "%-10s"];
/** Characters of generated string literals: escapes, control bytes, quotes, non-ASCII. */
const STRING_CHARS = [..."abcxyzABC019 _-.,:;!?'()[]{}<>/|*+=#&^~`@$%", "\n", "\t", '"', "\\", "\r", "\x01", "\x1b", "\x7f", "\x80", "é", "ÿ", "日", "😀"];
/** Characters of printf text: no '%' (added only as "%%"). */
const FORMAT_CHARS = [..."abcxyz ABC019_-.,:;!?'()[]=/|#", "\n", "\t", '"', "\\", "é"];

interface ProbeKind {
  ctx: Ctx;
  make(c: Choices): string;
}
const PROBE_KINDS: ProbeKind[] = [
  { ctx: "plain", make: () => "BEGIN" },
  { ctx: "plain", make: () => "END" },
  { ctx: "plain", make: (c) => `interval:ms:${c.range(1, 1000)}` },
  { ctx: "plain", make: (c) => `interval:s:${c.range(1, 60)}` },
  { ctx: "plain", make: (c) => `i:us:${c.range(1, 100000)}` },
  { ctx: "plain", make: (c) => `interval:hz:${c.range(1, 999)}` },
  { ctx: "plain", make: (c) => `profile:hz:${c.range(1, 999)}` },
  { ctx: "plain", make: () => "usdt:/usr/bin/python3.11:python:function__entry" },
  { ctx: "tracepoint", make: () => "tracepoint:syscalls:sys_enter_openat" },
  { ctx: "uprobe", make: () => "uprobe:/bin/bash:readline" },
  { ctx: "uretprobe", make: () => "uretprobe:/bin/bash:readline" },
];

// ---- generator ----------------------------------------------------------------------------------

export interface GenOptions {
  /** Maximum number of probes (at least 1). */
  maxProbes?: number;
}

const MAX_EXPR_DEPTH = 3;
const MAX_STMT_DEPTH = 3;

class ProgramGen {
  private maps: MapInfo[] = [];
  /**
   * Set while generating the value of the first `@m = value` of a map: the value then reads only
   * maps and variables that are grounded (assigned earlier in the text, from grounded values).
   * A map whose only assignments store its own (or another untyped map's) value has no type
   * (`@ = @;` is an error: "@ is never assigned a value"), so first assignments read only
   * grounded values.
   */
  private groundedOnly = false;
  /** Counts reads of maps and variables that are not grounded, to tell grounded values. */
  private ungroundedReads = 0;

  constructor(
    private readonly c: Choices,
    private readonly options: GenOptions,
  ) {}

  program(): A.Program {
    const c = this.c;
    const mapCount = c.range(0, 5);
    const mapNames = new Set<string>();
    for (let i = 0; i < mapCount; i++) {
      const name = c.pick(MAP_NAMES);
      if (mapNames.has(name)) continue;
      mapNames.add(name);
      this.maps.push({ name, keys: this.keyTypes(), value: this.mapValue(), assigned: false, grounded: false, used: false });
    }
    const probes: A.Probe[] = [];
    const usedRaw = new Set<string>();
    const probeCount = c.range(1, this.options.maxProbes ?? 4);
    for (let i = 0; i < probeCount; i++) {
      const probe = this.probe(usedRaw);
      if (probe) probes.push(probe);
    }
    if (probes.length === 0) probes.push(this.probe(new Set())!);
    // Maps used but never assigned get an assignment at the end (maps are global, so a use
    // before the assignment in the text is fine).
    const last = probes[probes.length - 1]!;
    for (const m of this.maps) {
      if (m.used && !m.assigned) {
        m.assigned = m.grounded = true;
        last.body.push(this.literalMapAssign(m));
      }
    }
    return { kind: "Program", includes: [], structs: [], probes, span: sp() };
  }

  private keyTypes(): Scalar[] {
    const n = this.c.weighted<number>([
      [3, () => 0],
      [4, () => 1],
      [2, () => 2],
    ]);
    return Array.from({ length: n }, () => (this.c.chance(35) ? STR : INT));
  }

  private gtype(depth = 0): GType {
    return this.c.weighted<GType>([
      [5, () => INT],
      [3, () => STR],
      [depth < 2 ? 2 : 0, () => ({ k: "tuple", elems: Array.from({ length: this.c.range(2, 3) }, () => this.gtype(depth + 1)) })],
    ]);
  }

  private mapValue(): MapValue {
    return this.c.weighted<MapValue>([
      [4, () => this.gtype()],
      [3, () => ({ k: "agg", agg: this.c.pick(AGGS), lhist: this.c.pick(LHIST_BOUNDS) })],
    ]);
  }

  private probe(usedRaw: Set<string>): A.Probe | undefined {
    const c = this.c;
    const first = c.pick(PROBE_KINDS);
    const raws = [first.make(c)];
    // Several attach points share a probe only when their contexts do not matter.
    if (first.ctx === "plain") {
      const more = c.chance(20) ? c.range(1, 2) : 0;
      for (let i = 0; i < more; i++) {
        const k = c.pick(PROBE_KINDS.filter((p) => p.ctx === "plain"));
        raws.push(k.make(c));
      }
    }
    const distinct = [...new Set(raws)].filter((r) => !usedRaw.has(r));
    if (distinct.length === 0) return undefined;
    for (const r of distinct) usedRaw.add(r);
    const scope: Scope = { ctx: first.ctx, vars: [], inWhile: false };
    const varCount = c.range(0, 5);
    for (let i = 0; i < varCount; i++) {
      const name = c.pick(VAR_NAMES);
      if (!scope.vars.some((v) => v.name === name)) scope.vars.push({ name, type: this.gtype(), assigned: false, grounded: false });
    }
    const predicate = c.chance(30) ? this.intExpr(scope, 2) : undefined;
    const body = this.stmts(scope, 0, c.range(1, 6));
    return { kind: "Probe", attachPoints: distinct.map(attachPoint), predicate, body, span: sp() };
  }

  // ---- statements -------------------------------------------------------------------------------

  private stmts(s: Scope, depth: number, count: number): A.Stmt[] {
    const out: A.Stmt[] = [];
    for (let i = 0; i < count; i++) out.push(this.stmt(s, depth));
    return out;
  }

  private block(s: Scope, depth: number): A.Stmt[] {
    return this.stmts(s, depth + 1, this.c.range(0, 3));
  }

  private stmt(s: Scope, depth: number): A.Stmt {
    const c = this.c;
    const intVars = s.vars.filter((v) => v.assigned && v.type.k === "int");
    const intMaps = this.maps.filter((m) => m.value.k === "int");
    const nested = depth < MAX_STMT_DEPTH;
    return c.weighted<A.Stmt>([
      [2, () => exprStmt(call("printf", [strLit("hello\n")]))],
      [s.vars.length > 0 ? 6 : 0, () => this.assignVar(s, c.pick(s.vars))],
      [this.maps.length > 0 ? 6 : 0, () => this.assignMap(s, c.pick(this.maps))],
      [intVars.length > 0 ? 3 : 0, () => assign(variable(c.pick(intVars).name), c.pick(COMPOUND_OPS), this.intExpr(s, 2))],
      [intMaps.length > 0 ? 3 : 0, () => assign(this.mapTarget(s, c.pick(intMaps), true), c.pick(COMPOUND_OPS), this.intExpr(s, 2))],
      [intVars.length > 0 ? 1 : 0, () => exprStmt(incDec(c.pick(["++", "--"] as const), c.chance(50), variable(c.pick(intVars).name)))],
      [intMaps.length > 0 ? 1 : 0, () => exprStmt(incDec(c.pick(["++", "--"] as const), c.chance(50), this.mapTarget(s, c.pick(intMaps), true)))],
      [nested ? 2 : 0, () => this.ifStmt(s, depth, 0)],
      [nested ? 1 : 0, () => ({ kind: "UnrollStmt", count: intLit(c.range(1, 10)), body: this.block({ ...s, inWhile: false }, depth), span: sp() })],
      [nested ? 2 : 0, () => this.whileStmt(s, depth)],
      [s.inWhile ? 5 : 0, () => ({ kind: "JumpStmt", jump: c.chance(50) ? "continue" : "break", span: sp() })],
      [3, () => this.printf(s)],
      [this.maps.length > 0 ? 1 : 0, () => exprStmt(call("print", [this.wholeMap(c.pick(this.maps))]))],
      [1, () => exprStmt(call("print", [this.expr(s, this.gtype(), 2)]))],
      [this.maps.some((m) => m.keys.length > 0) ? 1 : 0, () => this.deleteStmt(s)],
      [this.maps.length > 0 ? 1 : 0, () => exprStmt(call(c.chance(50) ? "zero" : "clear", [this.wholeMap(c.pick(this.maps))]))],
      [1, () => exprStmt(call("time", c.chance(70) ? [strLit("%H:%M:%S\n")] : []))],
      [1, () => exprStmt(call("exit", []))],
    ]);
  }

  private assignVar(s: Scope, v: VarInfo): A.Stmt {
    const before = this.ungroundedReads;
    const value = this.expr(s, v.type, MAX_EXPR_DEPTH);
    v.assigned = true;
    if (this.ungroundedReads === before) v.grounded = true;
    return assign(variable(v.name), "=", value);
  }

  private assignMap(s: Scope, m: MapInfo): A.Stmt {
    const target = this.mapTarget(s, m, false);
    const v = m.value;
    this.groundedOnly = !m.grounded && v.k !== "agg";
    const value = v.k === "agg" ? this.aggCall(s, v.agg, v.lhist) : this.expr(s, v, MAX_EXPR_DEPTH);
    this.groundedOnly = false;
    m.assigned = m.grounded = true;
    return assign(target, "=", value);
  }

  private aggCall(s: Scope, agg: AggKind, bounds: [number, number, number]): A.Expr {
    if (agg === "count") return call("count", []);
    const arg = this.intExpr(s, 2);
    if (agg === "lhist") return call("lhist", [arg, ...bounds.map((b) => intLit(b))]);
    return call(agg, [arg]);
  }

  /** `@m[k...]` with keys of the map's key types; `write`: the statement assigns to it. */
  private mapTarget(s: Scope, m: MapInfo, write: boolean): A.MapExpr {
    const keys = m.keys.map((k) => this.expr(s, k, 1));
    // `+=` and `++` give a map without a type an int type.
    if (write) m.assigned = m.grounded = true;
    return mapExpr(m.name, keys);
  }

  private wholeMap(m: MapInfo): A.MapExpr {
    m.used = true;
    return mapExpr(m.name, []);
  }

  /** Assigns a map a value made of literals only (valid in any probe). */
  private literalMapAssign(m: MapInfo): A.Stmt {
    const lit = (t: GType): A.Expr => (t.k === "int" ? intLit(1) : t.k === "str" ? strLit("k") : tuple(t.elems.map(lit)));
    const target = mapExpr(m.name, m.keys.map(lit));
    const v = m.value;
    if (v.k !== "agg") return assign(target, "=", lit(v));
    if (v.agg === "count") return assign(target, "=", call("count", []));
    if (v.agg === "lhist") return assign(target, "=", call("lhist", [intLit(1), ...v.lhist.map((b) => intLit(b))]));
    return assign(target, "=", call(v.agg, [intLit(1)]));
  }

  private deleteStmt(s: Scope): A.Stmt {
    const m = this.c.pick(this.maps.filter((x) => x.keys.length > 0));
    m.used = true;
    return exprStmt(call("delete", [mapExpr(m.name, m.keys.map((k) => this.expr(s, k, 1)))]));
  }

  private ifStmt(s: Scope, depth: number, chain: number): A.IfStmt {
    const c = this.c;
    const cond = this.intExpr(s, 2);
    const then = this.block(s, depth);
    const other = c.weighted<A.Stmt[] | undefined>([
      [3, () => undefined],
      [2, () => this.block(s, depth)],
      [chain < 2 ? 2 : 0, () => [this.ifStmt(s, depth, chain + 1)]],
    ]);
    return { kind: "IfStmt", cond, then, else: other, span: sp() };
  }

  private loops = 0;

  /**
   * `$loopN = 0; while ($loopN++ < K && cond) { ... }`: a bounded loop, since the verifier must
   * see every loop end (an unbounded `while (1) {}` is a program no kernel accepts).
   */
  private whileStmt(s: Scope, depth: number): A.Stmt {
    const counter = `loop${this.loops++}`;
    const v = (): A.VariableExpr => ({ kind: "Variable", name: counter, span: sp() });
    const bound: A.Expr = { kind: "Binary", op: "<", left: { kind: "IncDec", op: "++", prefix: false, target: v(), span: sp() }, right: intLit(this.c.range(1, 8)), span: sp() };
    const cond: A.Expr = { kind: "Binary", op: "&&", left: bound, right: this.intExpr(s, 2), span: sp() };
    const inner: Scope = { ...s, inWhile: true };
    const body = this.block(inner, depth);
    const init: A.AssignStmt = { kind: "AssignStmt", target: v(), op: "=", value: intLit(0), span: sp() };
    return { kind: "BlockStmt", body: [init, { kind: "WhileStmt", cond, body, span: sp() }], span: sp() };
  }

  private printf(s: Scope): A.Stmt {
    const c = this.c;
    const n = c.range(0, 4);
    let fmt = this.formatText();
    const args: A.Expr[] = [];
    for (let i = 0; i < n; i++) {
      if (c.chance(35)) {
        fmt += c.pick(STR_CONVERSIONS);
        args.push(this.strExpr(s, 2));
      } else {
        fmt += c.pick(INT_CONVERSIONS);
        args.push(this.intExpr(s, 2));
      }
      fmt += this.formatText();
    }
    if (c.chance(70)) fmt += "\n";
    return exprStmt(call("printf", [strLit(fmt), ...args]));
  }

  private formatText(): string {
    const c = this.c;
    let out = "";
    const n = c.range(0, 4);
    for (let i = 0; i < n; i++) out += c.chance(10) ? "%%" : c.pick(FORMAT_CHARS);
    return out;
  }

  // ---- expressions ------------------------------------------------------------------------------

  private expr(s: Scope, t: GType, d: number): A.Expr {
    switch (t.k) {
      case "int":
        return this.intExpr(s, d);
      case "str":
        return this.strExpr(s, d);
      case "tuple":
        return this.tupleExpr(s, t, d);
    }
  }

  private intLiteral(): A.IntExpr {
    return this.c.weighted<A.IntExpr>([
      [4, () => intLit(this.c.range(0, 10))],
      [2, () => intLit(this.c.range(0, 100000))],
      [1, () => intLit(this.c.bigint(0xffff_ffffn))],
      [1, () => intLit(this.c.bigint(0xffff_ffff_ffff_ffffn))],
    ]);
  }

  /** A readable map of this value shape, or undefined. */
  private mapsOf(t: GType): MapInfo[] {
    return this.readableMaps().filter((m) => sameShape(m.value as GType, t));
  }

  /** Maps whose value can be read here. */
  private readableMaps(): MapInfo[] {
    return this.maps.filter((m) => m.value.k !== "agg" && (m.grounded || !this.groundedOnly));
  }

  /** Assigned variables that can be read here. */
  private readableVars(s: Scope, ok: (t: GType) => boolean): VarInfo[] {
    return s.vars.filter((v) => v.assigned && ok(v.type) && (v.grounded || !this.groundedOnly));
  }

  private readVar(v: VarInfo): A.VariableExpr {
    if (!v.grounded) this.ungroundedReads++;
    return variable(v.name);
  }

  private readMap(s: Scope, m: MapInfo): A.MapExpr {
    m.used = true;
    if (!m.grounded) this.ungroundedReads++;
    return mapExpr(m.name, m.keys.map((k) => this.expr(s, k, 1)));
  }

  private intExpr(s: Scope, d: number): A.Expr {
    const c = this.c;
    const vars = this.readableVars(s, (t) => t.k === "int");
    const maps = this.mapsOf(INT);
    const deep = d > 0;
    const sub = () => this.intExpr(s, d - 1);
    return c.weighted<A.Expr>([
      [4, () => this.intLiteral()],
      [3, () => ident(c.pick(INT_BUILTINS))],
      [s.ctx === "uprobe" ? 3 : 0, () => ident(`arg${c.range(0, 5)}`)],
      [s.ctx === "uretprobe" ? 3 : 0, () => ident("retval")],
      [s.ctx === "tracepoint" ? 2 : 0, () => field(ident("args"), "filename")],
      [vars.length > 0 ? 4 : 0, () => this.readVar(c.pick(vars))],
      [maps.length > 0 ? 2 : 0, () => this.readMap(s, c.pick(maps))],
      [1, () => (c.chance(50) ? { kind: "PositionalCount", span: sp() } : { kind: "Positional", index: c.range(1, 3), span: sp() })],
      [deep ? 4 : 0, () => binary(c.pick(ARITH_OPS), sub(), sub())],
      [deep ? 2 : 0, () => binary(c.pick(COMPARE_OPS), sub(), sub())],
      [deep ? 1 : 0, () => binary(c.chance(50) ? "&&" : "||", sub(), sub())],
      [deep ? 2 : 0, () => unary(c.pick(["-", "!", "~"] as const), sub())],
      [deep ? 1 : 0, () => cast(c.pick(CAST_TYPES), sub())],
      [deep ? 1 : 0, () => ternary(sub(), sub(), sub())],
      [deep ? 1 : 0, () => binary(c.chance(50) ? "==" : "!=", this.strExpr(s, d - 1), this.strExpr(s, d - 1))],
      [deep ? 1 : 0, () => call("strncmp", [this.strExpr(s, d - 1), this.strExpr(s, d - 1), intLit(c.range(0, 8))])],
      [deep ? 1 : 0, () => this.tupleIndex(s, INT, d - 1)],
      [deep && vars.length > 0 ? 1 : 0, () => incDec(c.pick(["++", "--"] as const), c.chance(50), this.readVar(c.pick(vars)))],
    ]);
  }

  private strExpr(s: Scope, d: number): A.Expr {
    const c = this.c;
    const vars = this.readableVars(s, (t) => t.k === "str");
    const maps = this.mapsOf(STR);
    const deep = d > 0;
    const strOf = (addr: () => A.Expr) => () => call("str", c.chance(40) ? [addr(), intLit(c.pick([1, 8, 16, 64, 200]))] : [addr()]);
    return c.weighted<A.Expr>([
      [4, () => strLit(this.stringValue())],
      [3, () => ident("comm")],
      [s.ctx === "uprobe" ? 3 : 0, strOf(() => ident(`arg${c.range(0, 5)}`))],
      [s.ctx === "uretprobe" ? 2 : 0, strOf(() => ident("retval"))],
      [s.ctx === "tracepoint" ? 3 : 0, strOf(() => field(ident("args"), "filename"))],
      [vars.length > 0 ? 4 : 0, () => this.readVar(c.pick(vars))],
      [maps.length > 0 ? 2 : 0, () => this.readMap(s, c.pick(maps))],
      [deep ? 1 : 0, () => this.tupleIndex(s, STR, d - 1)],
      [deep ? 1 : 0, () => ternary(this.intExpr(s, d - 1), this.strExpr(s, d - 1), this.strExpr(s, d - 1))],
    ]);
  }

  private stringValue(): string {
    const n = this.c.range(0, 10);
    let out = "";
    for (let i = 0; i < n; i++) out += this.c.pick(STRING_CHARS);
    // String values are byte strings (one char per byte): the UTF-8 bytes of the text.
    return Buffer.from(out, "utf8").toString("latin1");
  }

  private tupleExpr(s: Scope, t: Extract<GType, { k: "tuple" }>, d: number): A.Expr {
    const c = this.c;
    const vars = this.readableVars(s, (vt) => sameShape(vt, t));
    const maps = this.mapsOf(t);
    return c.weighted<A.Expr>([
      [3, () => tuple(t.elems.map((e) => this.expr(s, e, d - 1)))],
      [vars.length > 0 ? 3 : 0, () => this.readVar(c.pick(vars))],
      [maps.length > 0 ? 2 : 0, () => this.readMap(s, c.pick(maps))],
    ]);
  }

  /** `t.N` where element N of the tuple `t` has the wanted kind. */
  private tupleIndex(s: Scope, want: Scalar, d: number): A.Expr {
    const c = this.c;
    const slots = (t: GType): number[] => (t.k === "tuple" ? t.elems.flatMap((e, i) => (e.k === want.k ? [i] : [])) : []);
    const vars = this.readableVars(s, (t) => slots(t).length > 0);
    const maps = this.readableMaps().filter((m) => slots(m.value as GType).length > 0);
    return c.weighted<A.Expr>([
      [
        3,
        () => {
          const t: Extract<GType, { k: "tuple" }> = { k: "tuple", elems: Array.from({ length: c.range(2, 3) }, () => this.gtype(1)) };
          const index = c.below(t.elems.length);
          t.elems[index] = want;
          return tupleIndex(tuple(t.elems.map((e) => this.expr(s, e, d - 1))), index);
        },
      ],
      [
        vars.length > 0 ? 3 : 0,
        () => {
          const v = c.pick(vars);
          return tupleIndex(this.readVar(v), c.pick(slots(v.type)));
        },
      ],
      [
        maps.length > 0 ? 2 : 0,
        () => {
          const m = c.pick(maps);
          return tupleIndex(this.readMap(s, m), c.pick(slots(m.value as GType)));
        },
      ],
    ]);
  }
}

/** Well-typed programs, as ASTs (spans are all 0; print them with printProgram). */
export function programArb(options: GenOptions = {}): fc.Arbitrary<A.Program> {
  return fc.gen().map((g) => new ProgramGen(new Choices(g), options).program());
}
