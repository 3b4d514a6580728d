// Code generation: typed AST to BPF, one program per attach point.
//
// Integers live in virtual registers as 64-bit values, sign- or zero-extended from their type.
// Strings and tuples live in memory (stack objects, map values, ring buffer records); string
// buffers are always zero-filled past their NUL, so strings compare 8 bytes at a time.
import type * as A from "../ast.js";
import { Helper, type JmpOp, type Size } from "../asm/index.js";
import type { CheckResult } from "../check.js";
import { constantString, constantValue, paramValue } from "../check.js";
import { kernelSymbol } from "../kallsyms.js";
import { AF_INET, AF_INET6, inetBytes, parseInet } from "../functions/net.js";
import { byteSwap } from "../functions/numbers.js";
import { parseFormat, type Segment } from "../printf.js";
import type { ProbeTarget } from "../probes/index.js";
import type { Location } from "../probes/resolve.js";
import type { TracepointField } from "../probes/tracepoint-format.js";
import type { UsdtArg } from "../elf/index.js";
import { JOIN_ARG_SIZE, JOIN_MAX_ARGS } from "../functions/userspace.js";
import { COUNTERS, type EventSpec, PROG_TYPE, STATE } from "../program.js";
import type { Source, Span } from "../source.js";
import { lookupUserSymbol, MACADDR_SIZE } from "../functions/structs.js";
import { ERROR, INT64, int, UINT64, isPointer, isStack, sizeOf, str, type IntSize, type StructField, type Type } from "../types.js";
import { type Arg, type Base, FP, type IR, type VReg } from "./ir.js";
import { coldEnd, coldLabel, NEGATE } from "./peephole.js";
import { COUNTERS_MAP, EVENTS_MAP, SCRATCH_MAP, STACK_ID_BITS, STATE_MAP, structLayout, type UserMap } from "./maps.js";

/** The stack the kernel allows a BPF program. */
export const MAX_STACK = 512;
/** Stack for values; the rest is for the register allocator's spill slots. */
export const STACK_BUDGET = 384;
/** The largest per-CPU scratch value a program may use. */
export const MAX_SCRATCH = 32768;

export class CodegenError extends Error {
  constructor(
    readonly span: Span,
    message: string,
  ) {
    super(message);
  }
}

/** State shared by every program of a script: maps, events, probe names. */
export interface ScriptContext {
  maps: Map<string, UserMap>;
  events: EventSpec[];
  params: string[];
  symbols: CheckResult;
  /** The stack map for stacks of `limit` frames (created on first use): its index and ordinal. */
  stackMap(limit: number): { index: number; ordinal: number };
  /** The fields of a tracepoint, by name (each program reads its own tracepoint's layout). */
  tracepointFields(category: string, name: string): Map<string, TracepointField> | undefined;
  /** -k: 1, -kk: 2 (see helperFailed); absent: 0, no checks. */
  helperChecks?: number;
  /** The script's text, for the positions helper_error records carry. */
  source?: Source;
}

type IntVal = { k: "reg"; v: VReg; type: Type } | { k: "imm"; n: bigint; type: Type };
type MemVal = { k: "mem"; base: Base; off: number; type: Type };
type Val = IntVal | MemVal | { k: "void"; type: Type };

interface Mem {
  base: Base;
  off: number;
}

/**
 * Where a struct member, an array element or a dereferenced pointer lies: in the memory of a
 * traced process or of the kernel (`addr` + `off`, read with bpf_probe_read_user or _kernel when
 * the value is needed), or in this program's own memory (a value already read).
 */
type Place = { k: "remote"; addr: VReg; off: number; user: boolean; explicit: boolean } | { k: "local"; base: Base; off: number };

function movePlace(p: Place, by: number): Place {
  return { ...p, off: p.off + by };
}

/** How a bit-field is read: `size` bytes at `off` (from the struct's start), then `shift` bits right. */
function bitfieldAccess(f: StructField): { off: number; size: IntSize; shift: number } {
  const bits = f.bitfield!;
  const size = f.type.kind === "int" ? f.type.size : 8;
  const unit = Math.floor(bits.bitOffset / (size * 8)) * size;
  if (bits.bitOffset - unit * 8 + bits.bits <= size * 8) return { off: unit, size, shift: bits.bitOffset - unit * 8 };
  // A packed struct's bit-field across its unit: 8 bytes from its first byte.
  return { off: Math.floor(bits.bitOffset / 8), size: 8, shift: bits.bitOffset % 8 };
}

const BPF_ANY = 0n;
/** bpf_get_stackid's flag for the user-space stack. */
const BPF_F_USER_STACK = 1n << 8n;

/** A probe's program type. */
export function progTypeOf(t: ProbeTarget): number {
  switch (t.type) {
    case "BEGIN":
    case "END":
      return PROG_TYPE.raw_tracepoint;
    case "interval":
    case "profile":
    case "software":
      return PROG_TYPE.perf_event;
    case "tracepoint":
      return PROG_TYPE.tracepoint;
    default:
      return PROG_TYPE.kprobe;
  }
}

/** x86-64 struct pt_regs offsets of the argument registers and the return value. */
const PT_REGS_ARGS = [112, 104, 96, 88, 72, 64]; // di si dx cx r8 r9
const PT_REGS_AX = 80;
const PT_REGS_IP = 128;
const PT_REGS_SP = 152;
/**
 * The most (haystack byte, needle byte) pairs one strcontains() compares: the verifier walks each
 * (about 6 instructions), and a program gets a million.
 */
const MAX_STRCONTAINS_PAIRS = 16384;

export class ProbeGen {
  readonly code: IR[] = [];
  private nextV = 0;
  private nextLabel = 0;
  /** Bytes of stack in use by objects (they sit at negative offsets from r10). */
  private frame = 0;
  private maxFrame = 0;
  /** Bytes of the per-CPU scratch value in use, and the register holding its address. */
  private scratchTop = 0;
  private maxScratch = 0;
  private scratchReg: VReg | undefined;
  private ctxReg: VReg | undefined;
  /** Homes of $variables: a register for integers, a stack object for the rest. */
  private vars = new Map<string, { type: Type; v?: VReg; mem?: Mem }>();
  /** Where `break` and `continue` go. */
  private loops: Array<{ brk: string; cont: string }> = [];
  /** Set when the code depends on the location (its address, its USDT arguments, its probe id as
   * a constant); otherwise every location of the attach point can share this probe's code. */
  locationDependent = false;

  constructor(
    private script: ScriptContext,
    private probe: A.Probe,
    private target: ProbeTarget,
    private location: Location,
    private probeId: number,
    private variables: Map<string, { type: Type }>,
  ) {}

  get frameSize(): number {
    return this.maxFrame;
  }

  // ---- emission helpers ---------------------------------------------------------------------

  private v(): VReg {
    return this.nextV++ as VReg;
  }

  private emit(i: IR): void {
    this.code.push(i);
  }

  private label(prefix: string): string {
    return `${prefix}${this.nextLabel++}`;
  }

  private place(name: string): void {
    this.emit({ op: "label", name });
  }

  /**
   * Allocates memory for a value: on the stack while it fits in STACK_BUDGET (the rest of the
   * 512 bytes is left for spill slots), else in this CPU's `.scratch` map value.
   */
  private alloc(size: number, span: Span): Mem {
    const n = Math.ceil(size / 8) * 8;
    if (this.frame + n <= STACK_BUDGET) {
      this.frame += n;
      this.maxFrame = Math.max(this.maxFrame, this.frame);
      return { base: FP, off: -this.frame };
    }
    const off = this.scratchTop;
    this.scratchTop += n;
    this.maxScratch = Math.max(this.maxScratch, this.scratchTop);
    if (this.maxScratch > MAX_SCRATCH) throw new CodegenError(span, `this probe needs more than ${MAX_SCRATCH} bytes of memory for its values`);
    this.scratchReg ??= this.v();
    return { base: this.scratchReg, off };
  }

  /** Bytes of the `.scratch` map value this program uses. */
  get scratchSize(): number {
    return this.maxScratch;
  }

  /** Positional parameter $n as a byte string (UTF-8 bytes, one char each), if given. */
  private param(n: number): string | undefined {
    const p = this.script.params[n - 1];
    return p === undefined ? undefined : Buffer.from(p, "utf8").toString("latin1");
  }

  private ctx(): VReg {
    if (this.ctxReg === undefined) throw new Error("internal: no context register");
    return this.ctxReg;
  }

  private mov(src: VReg | bigint): VReg {
    const d = this.v();
    this.emit({ op: "alu", alu: "mov", width: 64, dst: d, src: typeof src === "bigint" ? { imm: src } : src });
    return d;
  }

  private call(helper: number, args: Arg[], ret = true): VReg | undefined {
    const r = ret ? this.v() : undefined;
    this.emit({ op: "call", helper, args, ...(r !== undefined ? { ret: r } : {}) });
    return r;
  }

  private reg(x: IntVal): VReg {
    return x.k === "reg" ? x.v : this.mov(x.n);
  }

  /** Zero-fills `size` bytes at mem. */
  private zero(m: Mem, size: number): void {
    for (const [o, sz] of chunks([m.off], size)) this.emit({ op: "st", size: sz, base: m.base, off: m.off + o, imm: 0 });
  }

  /** Copies `size` bytes from src to dst. */
  private copy(dst: Mem, src: Mem, size: number): void {
    const t = this.v();
    for (const [o, sz] of chunks([dst.off, src.off], size)) {
      this.emit({ op: "ldx", size: sz, dst: t, base: src.base, off: src.off + o });
      this.emit({ op: "stx", size: sz, base: dst.base, off: dst.off + o, src: t });
    }
  }

  /** Loads an integer of type t from memory, extended to 64 bits. */
  private load(m: Mem, t: Type): VReg {
    const d = this.v();
    const size = t.kind === "int" ? t.size : 8;
    this.emit({ op: "ldx", size: SIZE[size]!, dst: d, base: m.base, off: m.off });
    if (t.kind === "int" && t.signed && size < 8) this.signExtend(d, size);
    return d;
  }

  private signExtend(d: VReg, size: number): void {
    const shift = BigInt(64 - size * 8);
    this.emit({ op: "alu", alu: "lsh", width: 64, dst: d, src: { imm: shift } });
    this.emit({ op: "alu", alu: "arsh", width: 64, dst: d, src: { imm: shift } });
  }

  /** Stores a value of type t at mem (ints at their own size). */
  private store(m: Mem, val: Val, t: Type): void {
    if (val.k === "void") return;
    if (val.k === "mem") {
      const size = sizeOf(t);
      const have = sizeOf(val.type);
      if (have >= size) this.copy(m, val, size);
      else {
        this.copy(m, val, have);
        this.zero({ base: m.base, off: m.off + have }, size - have);
      }
      if (t.kind === "string" && have > size) this.emit({ op: "st", size: "B", base: m.base, off: m.off + size - 1, imm: 0 });
      return;
    }
    const size = t.kind === "int" ? t.size : 8;
    if (val.k === "imm" && val.n >= -0x8000_0000n && val.n <= 0x7fff_ffffn) {
      this.emit({ op: "st", size: SIZE[size]!, base: m.base, off: m.off, imm: Number(val.n) });
      return;
    }
    this.emit({ op: "stx", size: SIZE[size]!, base: m.base, off: m.off, src: this.reg(val) });
  }

  // ---- the program --------------------------------------------------------------------------

  generate(): void {
    this.ctxReg = this.v();
    this.emit({ op: "ctx", dst: this.ctxReg });
    // Variables: aggregates get a stack object for the whole probe; integers a register.
    // Both start at zero, so a read on a path that skipped the assignment is defined.
    for (const [name, sym] of this.variables) {
      if (sym.type.kind === "int" || sym.type.kind === "probe" || isStack(sym.type)) {
        const v = this.mov(0n);
        this.vars.set(name, { type: sym.type, v });
      } else if (sym.type.kind !== "error" && sym.type.kind !== "void" && sym.type.kind !== "agg") {
        const size = sizeOf(sym.type);
        const mem = this.alloc(size, this.probe.span);
        this.zero(mem, size);
        this.vars.set(name, { type: sym.type, mem });
      }
    }
    const end = this.label("end");
    if (this.probe.predicate) this.condJump(this.probe.predicate, end, false);
    this.block(this.probe.body);
    this.place(end);
    this.emit({ op: "exit" });
    if (this.scratchReg !== undefined) {
      // The scratch value's address, looked up once at entry (before anything else is live).
      const entry: IR[] = [
        { op: "st", size: "W", base: FP, off: -8, imm: 0 },
        { op: "call", helper: Helper.map_lookup_elem, args: [{ map: SCRATCH_MAP }, { fp: -8 }], ret: this.scratchReg },
        { op: "jmp", cond: "jeq", width: 64, a: this.scratchReg, b: { imm: 0n }, target: end },
      ];
      this.code.splice(1, 0, ...entry);
      this.maxFrame = Math.max(this.maxFrame, 8);
    }
  }

  private block(stmts: A.Stmt[]): void {
    for (const s of stmts) {
      const mark = this.frame;
      const scratchMark = this.scratchTop;
      this.statement(s);
      this.frame = mark;
      this.scratchTop = scratchMark;
    }
  }

  private statement(s: A.Stmt): void {
    switch (s.kind) {
      case "ExprStmt":
        this.expr(s.expr);
        return;
      case "AssignStmt":
        this.assign(s);
        return;
      case "IfStmt": {
        const other = this.label("else");
        const done = this.label("fi");
        this.condJump(s.cond, other, false);
        this.block(s.then);
        if (s.else) this.emit({ op: "ja", target: done });
        this.place(other);
        if (s.else) {
          this.block(s.else);
          this.place(done);
        }
        return;
      }
      case "UnrollStmt": {
        const n = Number(constantValue(s.count, this.script.params) ?? 0n);
        for (let i = 0; i < n; i++) this.block(s.body);
        return;
      }
      case "WhileStmt": {
        const top = this.label("while");
        const done = this.label("wend");
        this.place(top);
        this.condJump(s.cond, done, false);
        this.loops.push({ brk: done, cont: top });
        this.block(s.body);
        this.loops.pop();
        this.emit({ op: "ja", target: top });
        this.place(done);
        return;
      }
      case "JumpStmt": {
        if (s.jump === "return") {
          this.emit({ op: "exit" });
          return;
        }
        const loop = this.loops[this.loops.length - 1]!;
        this.emit({ op: "ja", target: s.jump === "break" ? loop.brk : loop.cont });
        return;
      }
      case "BlockStmt":
        this.block(s.body);
        return;
    }
  }

  private assign(s: A.AssignStmt): void {
    const t = s.target;
    if (t.kind === "Variable") {
      const home = this.vars.get(t.name);
      if (home === undefined) return;
      if (home.v !== undefined) {
        if (s.op === "=") {
          const val = this.intExpr(s.value);
          this.emit({ op: "alu", alu: "mov", width: 64, dst: home.v, src: val.k === "reg" ? val.v : { imm: val.n } });
        } else {
          const r = this.arith(s.op.slice(0, -1) as A.BinaryOperator, { k: "reg", v: home.v, type: home.type }, this.intExpr(s.value), home.type);
          this.emit({ op: "alu", alu: "mov", width: 64, dst: home.v, src: r });
        }
        this.normalize(home.v, home.type);
        return;
      }
      this.exprInto(s.value, home.mem!, home.type);
      return;
    }
    const map = this.userMap(t);
    if (s.value.kind === "Call" && map.layout.kind !== "plain") {
      this.aggregate(map, t, s.value);
      return;
    }
    if (s.op !== "=") {
      this.mapArith(map, t, s.op.slice(0, -1) as A.BinaryOperator, s.value, false);
      return;
    }
    const key = this.mapKey(map, t.keys, t.span);
    const vt = map.spec.user!.value;
    const m = this.alloc(map.spec.valueSize, s.span);
    if (vt.kind === "int") {
      const val = this.intExpr(s.value);
      this.emit({ op: "stx", size: "DW", base: m.base, off: m.off, src: this.reg(val) });
    } else {
      this.exprInto(s.value, m, vt);
    }
    this.update(map, key, m, s.span);
  }

  /** map_update_elem, counting failures (and reporting them with -k, at `span`). */
  private update(map: UserMap, key: Mem, val: Mem, span?: Span): void {
    const r = this.call(Helper.map_update_elem, [{ map: map.index }, this.addr(key), this.addr(val), { imm: BPF_ANY }])!;
    const ok = this.label("upd");
    this.emit({ op: "jmp", cond: "jsge", width: 64, a: r, b: { imm: 0n }, target: ok });
    this.countFailure();
    if (span !== undefined) this.helperFailed("map_update_elem", r, span);
    this.place(ok);
  }

  private countFailure(): void {
    // The counter's own address, so that these instructions are the same as a count's
    // increment (`one = 1; lock *(p + 0) += one`) and the lowering can share them.
    const p = this.v();
    this.emit({ op: "mapvalue", dst: p, map: COUNTERS_MAP, off: COUNTERS.mapUpdateFailures });
    this.increment(p);
  }

  /** `lock *(u64 *)p += 1` */
  private increment(p: VReg): void {
    const one = this.mov(1n);
    this.emit({ op: "xadd", size: "DW", base: p, off: 0, src: one });
  }

  private userMap(m: A.MapExpr): UserMap {
    const map = this.script.maps.get(m.name);
    if (map === undefined) throw new CodegenError(m.span, `internal: no layout for @${m.name}`);
    return map;
  }

  /**
   * Builds a map's key in memory. `bucket` goes in the last 8 bytes: a register, or a function
   * that writes it there.
   */
  private mapKey(map: UserMap, keys: A.Expr[], span: Span, bucket?: VReg | ((slot: Mem) => void)): Mem {
    const k = this.alloc(map.spec.keySize, span);
    const { base, off } = k;
    if (map.spec.kind === "percpu_array") {
      if (typeof bucket === "function") throw new Error("internal: a bucket writer for an array map");
      if (bucket !== undefined) this.emit({ op: "stx", size: "W", base, off, src: bucket });
      else this.emit({ op: "st", size: "W", base, off, imm: 0 });
      return k;
    }
    if (keys.length === 0 && bucket === undefined) {
      this.emit({ op: "st", size: "DW", base, off, imm: 0 });
      return k;
    }
    const padded = map.keys.some((k, i) => i > 0 && k.offset !== map.keys[i - 1]!.offset + sizeOf(map.keys[i - 1]!.type)) || map.userKeySize !== map.keys.reduce((n, k) => n + sizeOf(k.type), 0);
    // Padding must be zero (the kernel hashes every byte); so must the gap before the bucket.
    const gapBeforeBucket = bucket !== undefined && map.userKeySize % 8 !== 0;
    if (padded || gapBeforeBucket) this.zero(k, map.spec.keySize);
    keys.forEach((e, i) => {
      const f = map.keys[i]!;
      this.exprInto(e, { base, off: off + f.offset }, f.type);
    });
    const slot = { base, off: off + map.spec.keySize - 8 };
    if (typeof bucket === "function") bucket(slot);
    else if (bucket !== undefined) this.emit({ op: "stx", size: "DW", ...slot, src: bucket });
    return k;
  }

  /** Looks up a key; returns the value pointer register (0 when missing, reported with -kk at `span`). */
  private lookup(map: UserMap, key: Mem, span?: Span): VReg {
    const p = this.call(Helper.map_lookup_elem, [{ map: map.index }, this.addr(key)])!;
    if (span !== undefined) this.checkHelper("map_lookup_elem", p, span);
    return p;
  }

  /** `@m[k] = count()` and the other aggregations. */
  private aggregate(map: UserMap, m: A.MapExpr, call: A.CallExpr): void {
    const layout = map.layout;
    const agg = map.spec.user!.value;
    if (agg.kind !== "agg") return;
    let value: VReg | undefined;
    if (call.args.length > 0) value = this.reg(this.intExpr(call.args[0]!));
    let bucket: VReg | ((slot: Mem) => void) | undefined;
    if (agg.agg === "hist") bucket = this.log2(value!);
    if (agg.agg === "lhist") {
      const { min, max, step } = agg.lhist!;
      bucket = (slot) => this.linear(value!, min, max, step, slot);
    }
    const key = this.mapKey(map, m.keys, m.span, bucket);
    const p = this.lookup(map, key, call.span);
    // Outside loops the insertion falls through from the lookup, and its failure count shares
    // the present path's increment (the lowering's cross-jumping): fewest instructions. Inside a
    // loop it is cold code, out of line (one jump more): the verifier, which explores the
    // fall-through first, then keeps one branch per iteration pending, not two, and accepts
    // twice as many iterations.
    const missing = this.loops.length > 0 ? coldLabel(this.nextLabel++) : this.label("new");
    const done = this.loops.length > 0 ? coldEnd(missing) : this.label("aggd");
    this.emit({ op: "jmp", cond: "jeq", width: 64, a: p, b: { imm: 0n }, target: missing });
    // Present: update in place, with atomic adds (one instruction fewer than load, add, store;
    // and a count's increment is the same as the failure counter's, which the lowering shares).
    const cur = this.v();
    switch (layout.kind) {
      case "sum":
        if (value === undefined) this.increment(p);
        else this.emit({ op: "xadd", size: "DW", base: p, off: 0, src: value });
        break;
      case "buckets":
        this.increment(p);
        break;
      case "avg":
        this.increment(p);
        this.emit({ op: "xadd", size: "DW", base: p, off: 8, src: value! });
        break;
      case "minmax": {
        const set = this.label("mmset");
        const keep = this.label("mmkeep");
        const flag = this.v();
        this.emit({ op: "ldx", size: "DW", dst: flag, base: p, off: 8 });
        this.emit({ op: "jmp", cond: "jeq", width: 64, a: flag, b: { imm: 0n }, target: set });
        this.emit({ op: "ldx", size: "DW", dst: cur, base: p, off: 0 });
        // Keep the current value unless the new one is better.
        const signed = layout.signed;
        const cond: JmpOp = layout.max ? (signed ? "jsge" : "jge") : signed ? "jsle" : "jle";
        this.emit({ op: "jmp", cond, width: 64, a: cur, b: value!, target: keep });
        this.place(set);
        this.emit({ op: "stx", size: "DW", base: p, off: 0, src: value! });
        this.emit({ op: "st", size: "DW", base: p, off: 8, imm: 1 });
        this.place(keep);
        break;
      }
      case "plain":
        break;
    }
    this.emit({ op: "ja", target: done });
    // Missing: insert the first value.
    this.place(missing);
    const val = this.alloc(map.spec.valueSize, call.span);
    const { base, off } = val;
    switch (layout.kind) {
      case "sum":
        if (value === undefined) this.emit({ op: "st", size: "DW", base, off, imm: 1 });
        else this.emit({ op: "stx", size: "DW", base, off, src: value });
        break;
      case "buckets":
        this.emit({ op: "st", size: "DW", base, off, imm: 1 });
        break;
      case "avg":
        this.emit({ op: "st", size: "DW", base, off, imm: 1 });
        this.emit({ op: "stx", size: "DW", base, off: off + 8, src: value! });
        break;
      case "minmax":
        this.emit({ op: "stx", size: "DW", base, off, src: value! });
        this.emit({ op: "st", size: "DW", base, off: off + 8, imm: 1 });
        break;
      case "plain":
        break;
    }
    this.update(map, key, val, call.span);
    this.place(done);
  }

  /**
   * bpftrace 0.17's log2 bucket: 0 for negative values, 1 for zero, k+2 for [2^k, 2^(k+1)); its
   * shifts (16, 8, 4, 2, 1) add up to 31, so every value from 2^31 up lands in bucket 33.
   */
  private log2(value: VReg): VReg {
    const r = this.mov(0n);
    const done = this.label("log2d");
    this.emit({ op: "jmp", cond: "jslt", width: 64, a: value, b: { imm: 0n }, target: done });
    this.emit({ op: "alu", alu: "mov", width: 64, dst: r, src: { imm: 1n } });
    this.emit({ op: "jmp", cond: "jeq", width: 64, a: value, b: { imm: 0n }, target: done });
    const n = this.mov(value);
    this.emit({ op: "alu", alu: "mov", width: 64, dst: r, src: { imm: 2n } });
    for (const shift of [16n, 8n, 4n, 2n, 1n]) {
      const skip = this.label("log2s");
      this.emit({ op: "jmp", cond: "jlt", width: 64, a: n, b: { imm: 1n << shift }, target: skip });
      this.emit({ op: "alu", alu: "rsh", width: 64, dst: n, src: { imm: shift } });
      this.emit({ op: "alu", alu: "add", width: 64, dst: r, src: { imm: shift } });
      this.place(skip);
    }
    this.place(done);
    return r;
  }

  /**
   * bpftrace's linear bucket, written to `slot`: 0 below min, 1 + (v - min) / step from min to
   * max, the last one, (max - min) / step + 1, above max. Each store goes straight to the key,
   * and the in-range value is computed in place when v is not needed afterwards.
   */
  private linear(value: VReg, min: bigint, max: bigint, step: bigint, slot: Mem): void {
    const done = this.label("lind");
    const last = (max - min) / step + 1n;
    const store = (n: bigint) => this.store(slot, { k: "imm", n, type: INT64 }, INT64);
    store(0n);
    this.emit({ op: "jmp", cond: "jslt", width: 64, a: value, b: { imm: min }, target: done });
    store(last);
    this.emit({ op: "jmp", cond: "jsgt", width: 64, a: value, b: { imm: max }, target: done });
    const r = this.mov(value);
    // (v - min) / step + 1 = (v - min + step) / step, v - min being at least 0 here.
    if (min === 0n) {
      this.emit({ op: "alu", alu: "div", width: 64, dst: r, src: { imm: step } });
      this.emit({ op: "alu", alu: "add", width: 64, dst: r, src: { imm: 1n } });
    } else {
      if (step !== min) this.emit({ op: "alu", alu: "add", width: 64, dst: r, src: { imm: step - min } });
      this.emit({ op: "alu", alu: "div", width: 64, dst: r, src: { imm: step } });
    }
    this.emit({ op: "stx", size: "DW", base: slot.base, off: slot.off, src: r });
    this.place(done);
  }

  /** `@m[k] op= v`, `@m[k]++`: returns the old or the new value. */
  private mapArith(map: UserMap, m: A.MapExpr, op: A.BinaryOperator, value: A.Expr | bigint, returnOld: boolean): VReg {
    const key = this.mapKey(map, m.keys, m.span);
    const delta: IntVal = typeof value === "bigint" ? { k: "imm", n: value, type: INT64 } : this.intExpr(value);
    const p = this.lookup(map, key, m.span);
    const old = this.mov(0n);
    const have = this.label("have");
    this.emit({ op: "jmp", cond: "jeq", width: 64, a: p, b: { imm: 0n }, target: have });
    this.emit({ op: "ldx", size: "DW", dst: old, base: p, off: 0 });
    this.place(have);
    const vt = map.spec.user!.value;
    const res = this.arith(op, { k: "reg", v: old, type: vt }, delta, vt);
    const val = this.alloc(8, m.span);
    this.emit({ op: "stx", size: "DW", base: val.base, off: val.off, src: res });
    this.update(map, key, val, m.span);
    return returnOld ? old : res;
  }

  // ---- expressions --------------------------------------------------------------------------

  private intExpr(e: A.Expr): IntVal {
    const v = this.expr(e);
    if (v.k === "mem") return { k: "reg", v: this.load(v, v.type), type: v.type };
    if (v.k === "void") throw new CodegenError(e.span, "internal: expression has no value");
    return v;
  }

  /** Writes e's value, of slot type t, at mem. */
  private exprInto(e: A.Expr, m: Mem, t: Type): void {
    if (t.kind === "string" && e.kind === "String") {
      this.writeString(m, e.value, t.size);
      return;
    }
    if (t.kind === "string" && e.kind === "Ident" && e.name === "comm") {
      if (t.size >= 16) {
        if (t.size > 16) this.zero({ base: m.base, off: m.off + 16 }, t.size - 16);
        const addr = this.addr(m);
        this.call(Helper.get_current_comm, [addr, { imm: 16n }], false);
        return;
      }
    }
    if (t.kind === "string" && e.kind === "Call" && e.name === "str" && e.type?.kind === "string" && e.args[0]!.type?.kind === "int") {
      this.readString(e, m, t.size);
      return;
    }
    if (t.kind === "tuple" && e.kind === "Tuple") {
      const { offsets, size } = structLayout(t.elems);
      this.zero(m, size);
      e.elems.forEach((x, i) => this.exprInto(x, { base: m.base, off: m.off + offsets[i]! }, t.elems[i]!));
      return;
    }
    const v = this.expr(e);
    if (v.k === "mem" && t.kind === "tuple" && v.type.kind === "tuple") {
      // Tuple slots may be wider than the value (ints widen, strings grow): copy field by field.
      const src = structLayout(v.type.elems);
      const dst = structLayout(t.elems);
      this.zero(m, dst.size);
      t.elems.forEach((et, i) => {
        const st = (v.type as { elems: Type[] }).elems[i]!;
        const from: MemVal = { k: "mem", base: v.base, off: v.off + src.offsets[i]!, type: st };
        const val: Val = st.kind === "int" ? { k: "reg", v: this.load(from, st), type: st } : from;
        this.store({ base: m.base, off: m.off + dst.offsets[i]! }, val, et);
      });
      return;
    }
    this.store(m, v, t);
  }

  /** A register holding mem's address (for helper arguments). */
  private addr(m: Mem): Arg {
    if (m.base === FP) return { fp: m.off };
    if (m.off === 0) return m.base;
    const r = this.mov(m.base);
    this.emit({ op: "alu", alu: "add", width: 64, dst: r, src: { imm: BigInt(m.off) } });
    return r;
  }

  private writeString(m: Mem, value: string, size: number): void {
    const bytes = Buffer.alloc(size + 8);
    Buffer.from(value, "latin1").copy(bytes, 0, 0, Math.max(0, size - 1));
    // Stores take a 32-bit immediate: no chunk wider than 4 bytes.
    for (const [o, sz] of chunks([m.off], size, 4)) {
      const imm = sz === "W" ? bytes.readInt32LE(o) : sz === "H" ? bytes.readInt16LE(o) : bytes.readInt8(o);
      this.emit({ op: "st", size: sz, base: m.base, off: m.off + o, imm });
    }
  }

  /** str(p [, n]): reads a NUL-terminated string into mem (zero-filled first). */
  private readString(e: A.CallExpr, m: Mem, size: number): void {
    const arg = e.args[0]!;
    if (arg.kind === "Positional") {
      const p = this.param(arg.index) ?? "";
      this.writeString(m, p, size);
      return;
    }
    const ptr = this.intExpr(arg);
    this.zero(m, size);
    const user = this.userPointer(arg);
    const helper = user ? Helper.probe_read_user_str : Helper.probe_read_kernel_str;
    const checked = (this.script.helperChecks ?? 0) >= 2;
    const r = this.call(helper, [this.addr(m), { imm: BigInt(size) }, ptr.k === "reg" ? ptr.v : { imm: ptr.n }], checked);
    if (r !== undefined) this.checkHelper(user ? "probe_read_user_str" : "probe_read_str", r, e.span);
  }

  /** Whether a pointer comes from user space (user probes, syscall arguments). */
  private userPointer(e: A.Expr): boolean {
    if (isPointer(e.type) && e.type.ptr.as !== undefined) return e.type.ptr.as === "user";
    if (e.kind === "Field" && e.tracepoint) return this.target.type === "tracepoint" && this.target.category === "syscalls" && e.tracepoint.kind === "pointer";
    return this.target.type === "uprobe" || this.target.type === "uretprobe" || this.target.type === "usdt";
  }

  expr(e: A.Expr): Val {
    const t = e.type ?? ERROR;
    switch (e.kind) {
      case "Int":
        return { k: "imm", n: BigInt.asIntN(64, e.value), type: t };
      case "String": {
        const m = this.alloc(t.kind === "string" ? t.size : 1, e.span);
        this.writeString(m, e.value, sizeOf(t));
        return { k: "mem", ...m, type: t };
      }
      case "Variable": {
        const home = this.vars.get(e.name);
        if (home === undefined) return { k: "imm", n: 0n, type: t };
        if (home.v !== undefined) return { k: "reg", v: home.v, type: home.type };
        return { k: "mem", ...home.mem!, type: home.type };
      }
      case "Positional": {
        const p = this.param(e.index);
        if (p === undefined) return { k: "imm", n: 0n, type: t };
        const n = paramValue(p);
        if (n !== undefined) return { k: "imm", n, type: t };
        const m = this.alloc(sizeOf(t), e.span);
        this.writeString(m, p, sizeOf(t));
        return { k: "mem", ...m, type: t };
      }
      case "PositionalCount":
        return { k: "imm", n: BigInt(this.script.params.length), type: t };
      case "Map":
        return this.readMap(e);
      case "Ident":
        return this.builtin(e);
      case "Call":
        return this.callExpr(e);
      case "Unary": {
        if (e.op === "*") return this.memberRead(e);
        const x = this.intExpr(e.operand);
        if (e.op === "!") return { k: "reg", v: this.boolean((target) => this.jumpIfZero(x, target, true)), type: t };
        const d = this.mov(x.k === "reg" ? x.v : x.n);
        if (e.op === "-") this.emit({ op: "neg", dst: d });
        else this.emit({ op: "alu", alu: "xor", width: 64, dst: d, src: { imm: -1n } });
        return { k: "reg", v: d, type: t };
      }
      case "Binary":
        return this.binary(e);
      case "Ternary":
        return this.ternary(e);
      case "Cast": {
        const x = this.intExpr(e.operand);
        const d = this.mov(x.k === "reg" ? x.v : x.n);
        this.normalize(d, t);
        return { k: "reg", v: d, type: t };
      }
      case "Tuple": {
        const m = this.alloc(sizeOf(t), e.span);
        this.exprInto(e, m, t);
        return { k: "mem", ...m, type: t };
      }
      case "TupleIndex": {
        const tv = this.expr(e.tuple);
        if (tv.k !== "mem" || tv.type.kind !== "tuple") throw new CodegenError(e.span, "internal: tuple is not in memory");
        const { offsets } = structLayout(tv.type.elems);
        const et = tv.type.elems[e.index]!;
        const at: MemVal = { k: "mem", base: tv.base, off: tv.off + offsets[e.index]!, type: et };
        if (et.kind === "int") return { k: "reg", v: this.load(at, et), type: et };
        return at;
      }
      case "Field":
        return e.member !== undefined ? this.memberRead(e) : this.tracepointField(e);
      case "IncDec":
        return this.incDec(e);
      case "Index":
        return this.memberRead(e);
    }
  }

  /** Truncates and re-extends a register to an integer type. */
  private normalize(d: VReg, t: Type): void {
    if (t.kind !== "int" || t.size === 8) return;
    if (t.signed) this.signExtend(d, t.size);
    else if (t.size === 4) this.emit({ op: "alu", alu: "mov", width: 32, dst: d, src: d });
    else this.emit({ op: "alu", alu: "and", width: 64, dst: d, src: { imm: (1n << BigInt(t.size * 8)) - 1n } });
  }

  private readMap(e: A.MapExpr): Val {
    const map = this.userMap(e);
    const key = this.mapKey(map, e.keys, e.span);
    const p = this.lookup(map, key, e.span);
    const vt = map.spec.user!.value;
    const missing = this.label("miss");
    if (vt.kind === "int") {
      const r = this.mov(0n);
      this.emit({ op: "jmp", cond: "jeq", width: 64, a: p, b: { imm: 0n }, target: missing });
      this.emit({ op: "ldx", size: "DW", dst: r, base: p, off: 0 });
      this.place(missing);
      return { k: "reg", v: r, type: vt };
    }
    const size = sizeOf(vt);
    const m = this.alloc(size, e.span);
    this.zero(m, size);
    this.emit({ op: "jmp", cond: "jeq", width: 64, a: p, b: { imm: 0n }, target: missing });
    this.copy(m, { base: p, off: 0 }, size);
    this.place(missing);
    return { k: "mem", ...m, type: vt };
  }

  private builtin(e: A.IdentExpr): Val {
    const t = e.type ?? ERROR;
    const shifted = (helper: number, high: boolean): Val => {
      const r = this.call(helper, [])!;
      if (high) this.emit({ op: "alu", alu: "rsh", width: 64, dst: r, src: { imm: 32n } });
      else this.emit({ op: "alu", alu: "mov", width: 32, dst: r, src: r });
      return { k: "reg", v: r, type: t };
    };
    switch (e.name) {
      case "pid":
        return shifted(Helper.get_current_pid_tgid, true);
      case "tid":
        return shifted(Helper.get_current_pid_tgid, false);
      case "uid":
        return shifted(Helper.get_current_uid_gid, false);
      case "gid":
        return shifted(Helper.get_current_uid_gid, true);
      case "nsecs":
        return { k: "reg", v: this.call(Helper.ktime_get_ns, [])!, type: t };
      case "elapsed": {
        const now = this.call(Helper.ktime_get_ns, [])!;
        const p = this.v();
        this.emit({ op: "mapvalue", dst: p, map: STATE_MAP, off: 0 });
        const start = this.v();
        this.emit({ op: "ldx", size: "DW", dst: start, base: p, off: STATE.startNs });
        this.emit({ op: "alu", alu: "sub", width: 64, dst: now, src: start });
        return { k: "reg", v: now, type: t };
      }
      case "cpid": {
        const p = this.v();
        this.emit({ op: "mapvalue", dst: p, map: STATE_MAP, off: 0 });
        const r = this.v();
        this.emit({ op: "ldx", size: "DW", dst: r, base: p, off: STATE.cpid });
        return { k: "reg", v: r, type: t };
      }
      case "cpu":
        return { k: "reg", v: this.call(Helper.get_smp_processor_id, [])!, type: t };
      case "comm": {
        const m = this.alloc(16, e.span);
        this.call(Helper.get_current_comm, [this.addr(m), { imm: 16n }], false);
        return { k: "mem", ...m, type: t };
      }
      case "probe":
        // User-space probes read their probe id from the attach cookie, so the programs of all
        // the locations a wildcard matched are the same bytes and attach through one link.
        if (this.location.kind === "uprobe") return { k: "reg", v: this.call(Helper.get_attach_cookie, [this.ctx()])!, type: t };
        this.locationDependent = true;
        return { k: "imm", n: BigInt(this.probeId), type: t };
      case "retval":
        return { k: "reg", v: this.ctxLoad(PT_REGS_AX), type: t };
      case "curtask":
        return { k: "reg", v: this.call(Helper.get_current_task, [])!, type: t };
      case "ctx":
        return { k: "reg", v: this.mov(this.ctx()), type: t };
      case "func":
        // In a uretprobe the ip is the return address, in the caller: bpf_get_func_ip gives the
        // probed function's address (for a uprobe event and for every function of a
        // multi-uprobe link alike), as later bpftrace versions do.
        if (this.target.type === "uretprobe") return this.usymValue(this.call(Helper.get_func_ip, [this.ctx()])!, e.span);
        return this.usymValue(this.ctxLoad(PT_REGS_IP), e.span);
      case "ustack":
      case "kstack":
        return this.stackValue(t);
      case "cgroup":
        return { k: "reg", v: this.call(Helper.get_current_cgroup_id, [])!, type: t };
      case "numaid":
        return { k: "reg", v: this.call(Helper.get_numa_node_id, [])!, type: t };
      case "rand":
        return { k: "reg", v: this.call(Helper.get_prandom_u32, [])!, type: t };
      case "username":
        return shifted(Helper.get_current_uid_gid, false);
    }
    const sarg = /^sarg(\d+)$/.exec(e.name);
    if (sarg) return this.stackArg(Number(sarg[1]), t, e.span);
    const arg = /^arg(\d+)$/.exec(e.name);
    if (arg) {
      const n = Number(arg[1]);
      if (this.target.type === "usdt") return { k: "reg", v: this.usdtArg(n, e.span), type: t };
      return { k: "reg", v: this.ctxLoad(PT_REGS_ARGS[n]!), type: t };
    }
    throw new CodegenError(e.span, `${e.name} is not implemented yet`);
  }

  /** A USDT argument, decoded from the probe's note: a register, memory, or a constant. */
  private usdtArg(n: number, span: Span): VReg {
    this.locationDependent = true;
    const args = this.location.kind === "uprobe" ? this.location.usdtArgs : undefined;
    const a: UsdtArg | undefined = args?.[n];
    if (a === undefined) {
      const name = this.location.kind === "uprobe" ? this.location.symbol : "this probe";
      throw new CodegenError(span, `arg${n} does not exist: ${name} has ${args?.length ?? 0} argument${args?.length === 1 ? "" : "s"}`);
    }
    let r: VReg;
    if (a.kind === "const") {
      r = this.mov(a.symbolAddress !== undefined ? BigInt(a.symbolAddress) + a.value : a.value);
      return r;
    }
    if (a.kind === "reg") {
      r = this.ctxLoad(a.reg.ptRegsOffset);
      if (a.reg.bitOffset) this.emit({ op: "alu", alu: "rsh", width: 64, dst: r, src: { imm: BigInt(a.reg.bitOffset) } });
    } else {
      // Memory: the address from registers, then a read of the value from user space.
      const addr = a.base !== undefined ? this.ctxLoad(a.base.ptRegsOffset) : this.mov(0n);
      let disp = BigInt(a.offset);
      if (a.base?.reg === "rip" && a.symbolAddress !== undefined && this.location.kind === "uprobe") {
        // pt_regs->ip is the probe's address at run time: make the symbol's address relative.
        disp += BigInt(a.symbolAddress) - BigInt(this.location.address);
      } else if (a.symbolAddress !== undefined) disp += BigInt(a.symbolAddress);
      if (a.index !== undefined) {
        const idx = this.ctxLoad(a.index.ptRegsOffset);
        if (a.scale > 1) this.emit({ op: "alu", alu: "mul", width: 64, dst: idx, src: { imm: BigInt(a.scale) } });
        this.emit({ op: "alu", alu: "add", width: 64, dst: addr, src: idx });
      }
      if (disp !== 0n) this.emit({ op: "alu", alu: "add", width: 64, dst: addr, src: { imm: disp } });
      const m = this.alloc(8, span);
      this.emit({ op: "st", size: "DW", base: m.base, off: m.off, imm: 0 });
      const read = this.call(Helper.probe_read_user, [this.addr(m), { imm: BigInt(a.size) }, addr], (this.script.helperChecks ?? 0) >= 2);
      if (read !== undefined) this.checkHelper("probe_read_user", read, span);
      r = this.v();
      this.emit({ op: "ldx", size: "DW", dst: r, base: m.base, off: m.off });
    }
    this.normalize(r, int(a.size, a.signed));
    return r;
  }

  /** A usym value: the address and the current process's pid, for user space to symbolize. */
  private usymValue(addr: VReg, span: Span): MemVal {
    const m = this.alloc(16, span);
    this.emit({ op: "stx", size: "DW", base: m.base, off: m.off, src: addr });
    const pid = this.call(Helper.get_current_pid_tgid, [])!;
    this.emit({ op: "alu", alu: "rsh", width: 64, dst: pid, src: { imm: 32n } });
    this.emit({ op: "stx", size: "DW", base: m.base, off: m.off + 8, src: pid });
    return { k: "mem", ...m, type: { kind: "usym" } };
  }

  /**
   * A ustack or kstack value, as bpftrace 0.17 makes it: bpf_get_stackid in the stack map of the
   * type's frame limit, its map's ordinal above the id (see codegen/maps.ts), and for ustack the
   * thread id in the high 32 bits.
   */
  private stackValue(t: Type): IntVal {
    if (!isStack(t)) throw new Error(`internal: a stack of type ${t.kind}`);
    const { index, ordinal } = this.script.stackMap(t.limit);
    const user = t.kind === "ustack";
    const r = this.call(Helper.get_stackid, [this.ctx(), { map: index }, { imm: user ? BPF_F_USER_STACK : 0n }])!;
    if (ordinal > 0) {
      const failed = this.label("stkerr");
      this.emit({ op: "jmp", cond: "jslt", width: 64, a: r, b: { imm: 0n }, target: failed });
      this.emit({ op: "alu", alu: "or", width: 64, dst: r, src: { imm: BigInt(ordinal) << BigInt(STACK_ID_BITS) } });
      this.place(failed);
    }
    if (user) {
      const tid = this.call(Helper.get_current_pid_tgid, [])!;
      this.emit({ op: "alu", alu: "lsh", width: 64, dst: tid, src: { imm: 32n } });
      this.emit({ op: "alu", alu: "or", width: 64, dst: r, src: tid });
    }
    return { k: "reg", v: r, type: t };
  }

  private ctxLoad(off: number): VReg {
    const r = this.v();
    this.emit({ op: "ldx", size: "DW", dst: r, base: this.ctx(), off });
    return r;
  }

  private tracepointField(e: A.FieldExpr): Val {
    const t = e.type ?? ERROR;
    const own = this.target.type === "tracepoint" ? this.script.tracepointFields(this.target.category, this.target.name)?.get(e.field) : undefined;
    const f = own ?? e.tracepoint;
    if (f === undefined) throw new CodegenError(e.span, `the layout of args->${e.field} is unknown (is tracefs mounted?)`);
    if (f.kind === "string") {
      const size = sizeOf(t);
      const m = this.alloc(size, e.span);
      const src = this.mov(this.ctx());
      this.emit({ op: "alu", alu: "add", width: 64, dst: src, src: { imm: BigInt(f.offset) } });
      this.call(Helper.probe_read_kernel, [this.addr(m), { imm: BigInt(size) }, src], false);
      // The last byte must end the string even if the field is full.
      this.emit({ op: "st", size: "B", base: m.base, off: m.off + size - 1, imm: 0 });
      return { k: "mem", ...m, type: t };
    }
    if (f.kind === "data_loc") {
      // A u32: offset of the data from the record's start (low 16 bits) and its length (high).
      const loc = this.v();
      this.emit({ op: "ldx", size: "W", dst: loc, base: this.ctx(), off: f.offset });
      this.emit({ op: "alu", alu: "and", width: 64, dst: loc, src: { imm: 0xffffn } });
      this.emit({ op: "alu", alu: "add", width: 64, dst: loc, src: this.ctx() });
      return { k: "reg", v: loc, type: t };
    }
    const size = f.size === 1 || f.size === 2 || f.size === 4 || f.size === 8 ? f.size : 8;
    const r = this.v();
    this.emit({ op: "ldx", size: SIZE[size]!, dst: r, base: this.ctx(), off: f.offset });
    if (f.signed && size < 8) this.signExtend(r, size);
    return { k: "reg", v: r, type: t };
  }

  private incDec(e: A.IncDecExpr): Val {
    const t = e.type ?? INT64;
    const op: A.BinaryOperator = e.op === "++" ? "+" : "-";
    if (e.target.kind === "Variable") {
      const home = this.vars.get(e.target.name);
      if (home?.v === undefined) return { k: "imm", n: 0n, type: t };
      const old = e.prefix ? undefined : this.mov(home.v);
      this.emit({ op: "alu", alu: op === "+" ? "add" : "sub", width: 64, dst: home.v, src: { imm: 1n } });
      this.normalize(home.v, home.type);
      return { k: "reg", v: old ?? this.mov(home.v), type: t };
    }
    if (e.target.kind === "Map") {
      const map = this.userMap(e.target);
      return { k: "reg", v: this.mapArith(map, e.target, op, 1n, !e.prefix), type: t };
    }
    throw new CodegenError(e.span, "internal: ++ target");
  }

  /** dst = a op b for integer operators, in a new register. */
  private arith(op: A.BinaryOperator, a: IntVal, b: IntVal, t: Type): VReg {
    const d = this.mov(a.k === "reg" ? a.v : a.n);
    const src = b.k === "reg" ? b.v : { imm: b.n };
    const signed = t.kind === "int" && t.signed;
    const alu = (
      {
        "+": "add",
        "-": "sub",
        "*": "mul",
        "/": signed ? "sdiv" : "div",
        "%": signed ? "smod" : "mod",
        "&": "and",
        "|": "or",
        "^": "xor",
        "<<": "lsh",
        ">>": signed ? "arsh" : "rsh",
      } as const
    )[op as "+"];
    if (alu === undefined) throw new Error(`internal: operator ${op}`);
    if ((op === "<<" || op === ">>") && b.k === "imm") {
      // Shift counts are taken modulo 64, as the ISA does for registers (the verifier rejects
      // constant counts outside 0..63).
      this.emit({ op: "alu", alu, width: 64, dst: d, src: { imm: b.n & 63n } });
      return d;
    }
    if ((op === "/" || op === "%") && b.k === "imm" && b.n === 0n) {
      // The ISA's definition of division by zero: x / 0 = 0, x % 0 = x.
      if (op === "/") this.emit({ op: "alu", alu: "mov", width: 64, dst: d, src: { imm: 0n } });
      return d;
    }
    this.emit({ op: "alu", alu, width: 64, dst: d, src });
    return d;
  }

  private binary(e: A.BinaryExpr): Val {
    const t = e.type ?? INT64;
    if (t.kind === "string") {
      // `$1 + k` of a string parameter: the parameter from byte k on.
      const m = this.alloc(t.size, e.span);
      this.writeString(m, constantString(e, this.script.params) ?? "", t.size);
      return { k: "mem", ...m, type: t };
    }
    switch (e.op) {
      case "&&":
      case "||":
      case "==":
      case "!=":
      case "<":
      case ">":
      case "<=":
      case ">=":
        return { k: "reg", v: this.boolean((target) => this.condJump(e, target, false)), type: t };
    }
    const a = this.intExpr(e.left);
    const b = this.intExpr(e.right);
    if ((e.op === "+" || e.op === "-") && (isPointer(e.left.type) || isPointer(e.right.type))) return { k: "reg", v: this.pointerArith(e, a, b, t), type: t };
    return { k: "reg", v: this.arith(e.op, a, b, t), type: t };
  }

  /** A 0/1 register: 1 unless `jumpIfFalse` jumps to its label. */
  private boolean(jumpIfFalse: (target: string) => void): VReg {
    const r = this.v();
    const no = this.label("f");
    const done = this.label("b");
    jumpIfFalse(no);
    this.emit({ op: "alu", alu: "mov", width: 64, dst: r, src: { imm: 1n } });
    this.emit({ op: "ja", target: done });
    this.place(no);
    this.emit({ op: "alu", alu: "mov", width: 64, dst: r, src: { imm: 0n } });
    this.place(done);
    return r;
  }

  private jumpIfZero(x: IntVal, target: string, ifNonZero: boolean): void {
    if (x.k === "imm") {
      if ((x.n !== 0n) === ifNonZero) this.emit({ op: "ja", target });
      return;
    }
    this.emit({ op: "jmp", cond: ifNonZero ? "jne" : "jeq", width: 64, a: x.v, b: { imm: 0n }, target });
  }

  /** Jumps to target when e's truth equals `when`; falls through otherwise. */
  condJump(e: A.Expr, target: string, when: boolean): void {
    if (e.kind === "Unary" && e.op === "!") {
      this.condJump(e.operand, target, !when);
      return;
    }
    if (e.kind === "Binary") {
      if (e.op === "&&" || e.op === "||") {
        const isAnd = e.op === "&&";
        if (isAnd !== when) {
          // (a && b) false: either is false; (a || b) true: either is true.
          this.condJump(e.left, target, when);
          this.condJump(e.right, target, when);
        } else {
          const skip = this.label("sc");
          this.condJump(e.left, skip, !when);
          this.condJump(e.right, target, when);
          this.place(skip);
        }
        return;
      }
      const cmp = COMPARE[e.op];
      if (cmp !== undefined) {
        const lt = e.left.type;
        const rt = e.right.type;
        if ((lt?.kind === "string" && rt?.kind === "string") || (lt?.kind === "buffer" && rt?.kind === "buffer")) {
          const eq = lt.kind === "buffer" ? this.buffersEqual(e.left, e.right) : this.stringsEqual(e.left, e.right);
          const jumpOnEqual = (e.op === "==") === when;
          this.emit({ op: "jmp", cond: jumpOnEqual ? "jne" : "jeq", width: 64, a: eq, b: { imm: 0n }, target });
          return;
        }
        const a = this.intExpr(e.left);
        const b = this.intExpr(e.right);
        const signed = isSigned(lt) && isSigned(rt);
        let op = signed ? cmp.signed : cmp.unsigned;
        if (!when) op = NEGATE[op]!;
        const ar = this.reg(a);
        this.emit({ op: "jmp", cond: op, width: 64, a: ar, b: b.k === "reg" ? b.v : { imm: b.n }, target });
        return;
      }
    }
    this.jumpIfZero(this.intExpr(e), target, when);
  }

  /** Compares the first n bytes of two memory values, in the widest loads both offsets allow. */
  private jumpIfBytesDiffer(a: MemVal, b: MemVal, n: number, differ: string): void {
    const ta = this.v();
    const tb = this.v();
    for (const [o, sz] of chunks([a.off, b.off], n)) {
      this.emit({ op: "ldx", size: sz, dst: ta, base: a.base, off: a.off + o });
      this.emit({ op: "ldx", size: sz, dst: tb, base: b.base, off: b.off + o });
      this.emit({ op: "jmp", cond: "jne", width: 64, a: ta, b: tb, target: differ });
    }
  }

  /** 1 if two strings are equal up to their NUL, else 0. */
  private stringsEqual(x: A.Expr, y: A.Expr): VReg {
    const a = this.expr(x) as MemVal;
    const b = this.expr(y) as MemVal;
    const sa = sizeOf(a.type);
    const sb = sizeOf(b.type);
    const n = Math.min(sa, sb);
    const r = this.mov(0n);
    const differ = this.label("sne");
    this.jumpIfBytesDiffer(a, b, n, differ);
    // The longer string must end where the shorter one does.
    if (sa !== sb) {
      const longer = sa > sb ? a : b;
      const ta = this.v();
      this.emit({ op: "ldx", size: "B", dst: ta, base: longer.base, off: longer.off + n });
      this.emit({ op: "jmp", cond: "jne", width: 64, a: ta, b: { imm: 0n }, target: differ });
    }
    this.emit({ op: "alu", alu: "mov", width: 64, dst: r, src: { imm: 1n } });
    this.place(differ);
    return r;
  }

  private ternary(e: A.TernaryExpr): Val {
    const t = e.type ?? ERROR;
    const other = this.label("telse");
    const done = this.label("tend");
    if (t.kind === "void") {
      this.condJump(e.cond, other, false);
      this.expr(e.then);
      this.emit({ op: "ja", target: done });
      this.place(other);
      this.expr(e.else);
      this.place(done);
      return { k: "void", type: t };
    }
    if (t.kind === "int") {
      const r = this.v();
      this.condJump(e.cond, other, false);
      const a = this.intExpr(e.then);
      this.emit({ op: "alu", alu: "mov", width: 64, dst: r, src: a.k === "reg" ? a.v : { imm: a.n } });
      this.emit({ op: "ja", target: done });
      this.place(other);
      const b = this.intExpr(e.else);
      this.emit({ op: "alu", alu: "mov", width: 64, dst: r, src: b.k === "reg" ? b.v : { imm: b.n } });
      this.place(done);
      return { k: "reg", v: r, type: t };
    }
    const m = this.alloc(sizeOf(t), e.span);
    this.condJump(e.cond, other, false);
    this.exprInto(e.then, m, t);
    this.emit({ op: "ja", target: done });
    this.place(other);
    this.exprInto(e.else, m, t);
    this.place(done);
    return { k: "mem", ...m, type: t };
  }

  // ---- calls --------------------------------------------------------------------------------

  private callExpr(e: A.CallExpr): Val {
    const t = e.type ?? ERROR;
    switch (e.name) {
      case "printf":
      case "cat":
      case "system":
        this.printf(e, e.name);
        return { k: "void", type: t };
      case "join":
        this.join(e);
        return { k: "void", type: t };
      case "print":
        this.print(e);
        return { k: "void", type: t };
      case "time": {
        const fmt = e.args[0]?.kind === "String" ? e.args[0].value : "%H:%M:%S\n";
        this.event({ kind: "time", format: fmt }, e.span);
        return { k: "void", type: t };
      }
      case "exit": {
        // As in bpftrace: the rest of this probe is skipped, and user space stops the run when
        // the record arrives (probes that fire until then still run; their records are dropped).
        this.event({ kind: "exit" }, e.span);
        this.emit({ op: "exit" });
        return { k: "void", type: t };
      }
      case "clear":
      case "zero": {
        const m = e.args[0] as A.MapExpr;
        this.event({ kind: e.name === "clear" ? "clear_map" : "zero_map", map: `@${m.name}` }, e.span);
        return { k: "void", type: t };
      }
      case "delete": {
        const m = e.args[0] as A.MapExpr;
        const map = this.userMap(m);
        if (map.bucketArray) {
          this.event({ kind: "zero_map", map: `@${m.name}` }, e.span);
          return { k: "void", type: t };
        }
        if (map.spec.kind === "percpu_array") {
          this.event({ kind: "zero_map", map: `@${m.name}` }, e.span);
          return { k: "void", type: t };
        }
        const key = this.mapKey(map, m.keys, m.span);
        const checked = (this.script.helperChecks ?? 0) >= 1;
        const r = this.call(Helper.map_delete_elem, [{ map: map.index }, this.addr(key)], checked);
        if (r !== undefined) this.checkHelper("map_delete_elem", r, e.span);
        return { k: "void", type: t };
      }
      case "str": {
        const m = this.alloc(sizeOf(t), e.span);
        if (e.args[0]!.type?.kind === "string") this.exprInto(e.args[0]!, m, t);
        else this.readString(e, m, sizeOf(t));
        return { k: "mem", ...m, type: t };
      }
      case "strncmp":
        return { k: "reg", v: this.strncmp(e), type: t };
      case "usym":
        return this.usymValue(this.reg(this.intExpr(e.args[0]!)), e.span);
      case "sizeof":
      case "offsetof":
        return { k: "imm", n: constantValue(e, this.script.params) ?? 0n, type: t };
      case "macaddr":
        return this.macaddr(e);
      case "uaddr":
        return { k: "reg", v: this.uaddr(e), type: t };
      case "uptr":
      case "kptr":
        return this.expr(e.args[0]!);
      case "ustack":
      case "kstack":
        return this.stackValue(t);
      case "buf":
        return this.buf(e);
      case "bswap":
        return this.bswap(e);
      case "ntop":
        return this.ntop(e);
      case "pton":
        return this.pton(e);
      case "strcontains":
        return this.strcontains(e);
      case "kaddr": {
        const sym = kernelSymbol(constantString(e.args[0]!, this.script.params) ?? "");
        if ("error" in sym) throw new CodegenError(e.span, sym.error);
        return { k: "imm", n: BigInt.asIntN(64, sym.addr), type: t };
      }
      // A number user space turns into text: a time, an errno, a cgroup id.
      case "strftime":
        return { k: "reg", v: this.reg(this.intExpr(e.args[1]!)), type: t };
      case "strerror":
      case "cgroup_path":
        return { k: "reg", v: this.reg(this.intExpr(e.args[0]!)), type: t };
      default:
        throw new CodegenError(e.nameSpan, `${e.name}() is not implemented yet`);
    }
  }

  /** Emits a record with only an event id. */
  private event(spec: EventSpec, span: Span): void {
    const id = this.script.events.length;
    this.script.events.push(spec);
    this.record(8, span, id, () => {});
  }

  /** Reserves a ring buffer record, writes the id and the fields, submits it; counts losses. */
  private record(size: number, span: Span, id: number, fill: (rec: VReg) => void): void {
    void span;
    const rec = this.call(Helper.ringbuf_reserve, [{ map: EVENTS_MAP }, { imm: BigInt(size) }, { imm: 0n }])!;
    const lost = coldLabel(this.nextLabel++);
    const done = coldEnd(lost);
    this.emit({ op: "jmp", cond: "jeq", width: 64, a: rec, b: { imm: 0n }, target: lost });
    this.emit({ op: "st", size: "DW", base: rec, off: 0, imm: id });
    fill(rec);
    this.call(Helper.ringbuf_submit, [rec, { imm: 0n }], false);
    this.emit({ op: "ja", target: done });
    this.place(lost);
    const p = this.v();
    this.emit({ op: "mapvalue", dst: p, map: COUNTERS_MAP, off: 0 });
    const one = this.mov(1n);
    this.emit({ op: "xadd", size: "DW", base: p, off: COUNTERS.lostEvents, src: one });
    this.place(done);
  }

  // ---- helper checks (-k, -kk) ------------------------------------------------------------------

  /**
   * bpftrace's helper checks: with -k, a failed map update or delete (a negative return value)
   * sends a helper_error record with the value and the call's position; with -kk also the helpers
   * whose failure the script sees as 0: probe reads, and map lookups of a missing key (reported
   * with the value 0).
   */
  private checkHelper(helper: string, ret: VReg, span: Span): void {
    const lookup = helper === "map_lookup_elem";
    const level = lookup || helper.startsWith("probe_read") ? 2 : 1;
    if ((this.script.helperChecks ?? 0) < level) return;
    const ok = this.label("hok");
    this.emit({ op: "jmp", cond: lookup ? "jne" : "jsge", width: 64, a: ret, b: { imm: 0n }, target: ok });
    this.helperFailed(helper, lookup ? undefined : ret, span);
    this.place(ok);
  }

  /** On a path where `helper` failed: its helper_error record, when the checks are on (-k). */
  private helperFailed(helper: string, ret: VReg | undefined, span: Span): void {
    const source = this.script.source;
    if ((this.script.helperChecks ?? 0) < 1 || source === undefined) return;
    const { line, column } = source.position(span.start);
    const text = source.line(line);
    const length = Math.max(1, Math.min(span.end, span.start - column + 1 + text.length) - span.start);
    const id = this.script.events.length;
    this.script.events.push({ kind: "helper_error", helper, file: source.name, line, column, length, source: text });
    this.record(16, span, id, (rec) => {
      if (ret === undefined) this.emit({ op: "st", size: "DW", base: rec, off: 8, imm: 0 });
      else this.emit({ op: "stx", size: "DW", base: rec, off: 8, src: ret });
    });
  }

  // ---- join ---------------------------------------------------------------------------------------

  /**
   * join(argv [, delim]): reads up to JOIN_MAX_ARGS string pointers from the array at argv (from the
   * probe's address space) and each string into its JOIN_ARG_SIZE-byte slot of the record; a NULL
   * pointer ends the list, marked by an empty slot. User space joins them with delim.
   */
  private join(e: A.CallExpr): void {
    const argvExpr = e.args[0]!;
    const argv = this.reg(this.intExpr(argvExpr));
    const user = this.userPointer(argvExpr);
    const delim = e.args[1]?.kind === "String" ? e.args[1].value : " ";
    const id = this.script.events.length;
    this.script.events.push({ kind: "join", delim, maxArgs: JOIN_MAX_ARGS, argSize: JOIN_ARG_SIZE });
    const slot = this.alloc(8, e.span);
    this.record(8 + JOIN_MAX_ARGS * JOIN_ARG_SIZE, e.span, id, (rec) => {
      const end = this.label("joind");
      for (let i = 0; i < JOIN_MAX_ARGS; i++) {
        const off = 8 + i * JOIN_ARG_SIZE;
        this.emit({ op: "st", size: "DW", base: slot.base, off: slot.off, imm: 0 });
        const at = this.mov(argv);
        if (i > 0) this.emit({ op: "alu", alu: "add", width: 64, dst: at, src: { imm: BigInt(8 * i) } });
        const r1 = this.call(user ? Helper.probe_read_user : Helper.probe_read_kernel, [this.addr(slot), { imm: 8n }, at], (this.script.helperChecks ?? 0) >= 2);
        if (r1 !== undefined) this.checkHelper(user ? "probe_read_user" : "probe_read", r1, e.span);
        const p = this.load(slot, int(8, false));
        const next = this.label("joinp");
        this.emit({ op: "jmp", cond: "jne", width: 64, a: p, b: { imm: 0n }, target: next });
        this.emit({ op: "st", size: "B", base: rec, off, imm: 0 });
        this.emit({ op: "ja", target: end });
        this.place(next);
        const r2 = this.call(user ? Helper.probe_read_user_str : Helper.probe_read_kernel_str, [this.addr({ base: rec, off }), { imm: BigInt(JOIN_ARG_SIZE) }, p], (this.script.helperChecks ?? 0) >= 2);
        if (r2 !== undefined) this.checkHelper(user ? "probe_read_user_str" : "probe_read_str", r2, e.span);
      }
      this.place(end);
    });
  }

  /** printf(), and cat() and system(), whose records are printf's: the format's arguments. */
  private printf(e: A.CallExpr, kind: "printf" | "cat" | "system" = "printf"): void {
    const fmt = (e.args[0] as A.StringExpr).value;
    const parsed = parseFormat(fmt);
    const segments: Segment[] = "segments" in parsed ? parsed.segments : [];
    const args = e.args.slice(1);
    const types = args.map((a) => recordType(a.type ?? INT64));
    const { offsets, size } = structLayout(types);
    const id = this.script.events.length;
    this.script.events.push({ kind, segments, args: types.map((type, i) => ({ type, offset: offsets[i]! })), size });
    if ((this.script.helperChecks ?? 0) >= 2 && size > 0) {
      // -kk: the arguments first (their helper_error records come before this record, as in
      // bpftrace), then the record.
      const tmp = this.alloc(size, e.span);
      args.forEach((a, i) => this.exprInto(a, { base: tmp.base, off: tmp.off + offsets[i]! }, types[i]!));
      this.record(8 + size, e.span, id, (rec) => this.copy({ base: rec, off: 8 }, tmp, size));
      return;
    }
    this.record(8 + size, e.span, id, (rec) => {
      args.forEach((a, i) => this.exprInto(a, { base: rec, off: 8 + offsets[i]! }, types[i]!));
    });
  }

  private print(e: A.CallExpr): void {
    const first = e.args[0]!;
    if (first.kind === "Map" && first.keys.length === 0 && this.script.maps.get(first.name) !== undefined && (first.type?.kind === "agg" || e.args.length > 1 || true)) {
      const top = e.args[1] ? Number(constantValue(e.args[1], this.script.params) ?? 0n) : 0;
      const div = e.args[2] ? Number(constantValue(e.args[2], this.script.params) ?? 1n) : 1;
      this.event({ kind: "print_map", map: `@${first.name}`, top, div }, e.span);
      return;
    }
    const type = recordType(first.type ?? INT64);
    const size = sizeOf(type);
    const id = this.script.events.length;
    this.script.events.push({ kind: "print_value", value: { type, offset: 0 }, size });
    this.record(8 + Math.ceil(size / 8) * 8, e.span, id, (rec) => this.exprInto(first, { base: rec, off: 8 }, type));
  }

  // ---- C types: struct members, array elements, dereferenced pointers ------------------------

  /** The size of what a pointer of type t points to (1 for void). */
  private pointeeSize(t: Type | undefined): number {
    if (t?.kind !== "int" || t.ptr === undefined) return 1;
    const to = t.ptr.to;
    return Math.max(1, typeof to === "string" ? (this.script.symbols.structs.lookup(to)?.size ?? 1) : sizeOf(to));
  }

  /**
   * Whether a pointer of type t points into a traced process: its address space (`explicit`),
   * else the probe's.
   */
  private userMemory(t: Type | undefined): boolean {
    return this.memSpace(t).user;
  }

  private memSpace(t: Type | undefined): { user: boolean; explicit: boolean } {
    const as = t?.kind === "int" ? t.ptr?.as : undefined;
    if (as !== undefined) return { user: as === "user", explicit: true };
    return { user: this.target.type === "uprobe" || this.target.type === "uretprobe" || this.target.type === "usdt", explicit: false };
  }

  /** Where a member access, an indexing or a dereference designates (nothing is read yet). */
  private locate(e: A.Expr): Place {
    switch (e.kind) {
      case "Unary":
        if (e.op === "*") return { k: "remote", addr: this.reg(this.intExpr(e.operand)), off: 0, ...this.memSpace(e.operand.type) };
        break;
      case "Field":
        if (e.member !== undefined) {
          const off = e.member.bitfield ? bitfieldAccess(e.member).off : e.member.offset;
          if (e.arrow) return { k: "remote", addr: this.reg(this.intExpr(e.base)), off, ...this.memSpace(e.base.type) };
          return movePlace(this.locate(e.base), off);
        }
        break;
      case "Index": {
        const bt = e.base.type;
        if (isPointer(bt)) {
          const size = this.pointeeSize(bt);
          const p = this.reg(this.intExpr(e.base));
          const i = this.intExpr(e.index);
          const space = this.memSpace(bt);
          if (i.k === "imm") return { k: "remote", addr: p, off: Number(BigInt.asIntN(32, i.n)) * size, ...space };
          return { k: "remote", addr: this.scaledAdd(p, i.v, size), off: 0, ...space };
        }
        const elem = bt?.kind === "array" ? sizeOf(bt.elem) : 1;
        const base = this.locate(e.base);
        const n = constantValue(e.index, this.script.params);
        if (n !== undefined) return movePlace(base, Number(n) * elem);
        if (base.k === "local") throw new CodegenError(e.index.span, "an array value can only be indexed by a constant; index the array through its pointer instead");
        return { ...base, addr: this.scaledAdd(base.addr, this.reg(this.intExpr(e.index)), elem) };
      }
    }
    const v = this.expr(e);
    if (v.k !== "mem") throw new CodegenError(e.span, `internal: ${e.kind} is not in memory`);
    return { k: "local", base: v.base, off: v.off };
  }

  /** base + index * size, in a new register. */
  private scaledAdd(base: VReg, index: VReg, size: number): VReg {
    const d = this.mov(index);
    if (size !== 1) this.emit({ op: "alu", alu: "mul", width: 64, dst: d, src: { imm: BigInt(size) } });
    this.emit({ op: "alu", alu: "add", width: 64, dst: d, src: base });
    return d;
  }

  /** `size` bytes at a place, in this program's memory: read from the process or kernel if remote. */
  private fetch(pl: Place, size: number, span: Span): Mem {
    if (pl.k === "local") return { base: pl.base, off: pl.off };
    const m = this.alloc(Math.max(1, size), span);
    if (size === 0) return m;
    let src: Arg = pl.addr;
    if (pl.off !== 0) {
      const d = this.mov(pl.addr);
      this.emit({ op: "alu", alu: "add", width: 64, dst: d, src: { imm: BigInt(pl.off) } });
      src = d;
    }
    // On a fault the helpers zero the destination: a bad pointer reads as zeros.
    // Memory of no address space in particular (a kernel probe's pointer that is not from BTF):
    // bpf_probe_read, which reads user memory at user addresses and kernel memory at the others.
    const helper = pl.user ? Helper.probe_read_user : pl.explicit ? Helper.probe_read_kernel : Helper.probe_read;
    const r = this.call(helper, [this.addr(m), { imm: BigInt(size) }, src])!;
    // -kk names the helper as bpftrace does: by the pointer's address space, if it has one.
    this.checkHelper(pl.user ? "probe_read_user" : pl.explicit ? "probe_read_kernel" : "probe_read", r, span);
    return m;
  }

  /** The value of `p->f`, `s.f`, `a[i]`, `*p`: integers in a register, the rest in memory. */
  private memberRead(e: A.Expr): Val {
    const t = e.type ?? ERROR;
    const pl = this.locate(e);
    const bf = e.kind === "Field" ? e.member : undefined;
    if (bf?.bitfield !== undefined && t.kind === "int") {
      // A bit-field: its storage unit, shifted and masked (the value is never sign-extended).
      const acc = bitfieldAccess(bf);
      const d = this.load(this.fetch(pl, acc.size, e.span), int(acc.size, false));
      const left = 64 - acc.shift - bf.bitfield.bits;
      if (left > 0) this.emit({ op: "alu", alu: "lsh", width: 64, dst: d, src: { imm: BigInt(left) } });
      if (bf.bitfield.bits < 64) this.emit({ op: "alu", alu: "rsh", width: 64, dst: d, src: { imm: BigInt(64 - bf.bitfield.bits) } });
      return { k: "reg", v: d, type: t };
    }
    const m = this.fetch(pl, sizeOf(t), e.span);
    if (t.kind === "int") return { k: "reg", v: this.load(m, t), type: t };
    // A char array read from memory: strings are zero past their NUL (they compare that way).
    if (t.kind === "string" && pl.k === "remote") this.zeroAfterNul(m, t.size);
    return { k: "mem", ...m, type: t };
  }

  /** Zeroes the bytes after the first NUL of `size` bytes at m (none if there is no NUL). */
  private zeroAfterNul(m: Mem, size: number): void {
    if (size < 2) return;
    const b = this.v();
    const labels = Array.from({ length: size }, () => this.label("nul"));
    const done = this.label("nuld");
    // A NUL at i: zero i+1 .. size-1, by falling through the stores from label i+1 on.
    for (let i = 0; i < size - 1; i++) {
      this.emit({ op: "ldx", size: "B", dst: b, base: m.base, off: m.off + i });
      this.emit({ op: "jmp", cond: "jeq", width: 64, a: b, b: { imm: 0n }, target: labels[i + 1]! });
    }
    this.emit({ op: "ja", target: done });
    for (let i = 1; i < size; i++) {
      this.place(labels[i]!);
      this.emit({ op: "st", size: "B", base: m.base, off: m.off + i, imm: 0 });
    }
    this.place(done);
  }

  /** `p + n`, `n + p`, `p - n`: n counts elements of what p points to. */
  private pointerArith(e: A.BinaryExpr, a: IntVal, b: IntVal, t: Type): VReg {
    const lp = isPointer(e.left.type);
    const size = this.pointeeSize(lp ? e.left.type : e.right.type);
    const scale = (x: IntVal): IntVal => (x.k === "imm" ? { ...x, n: x.n * BigInt(size) } : { k: "reg", v: this.arith("*", x, { k: "imm", n: BigInt(size), type: INT64 }, INT64), type: INT64 });
    return lp ? this.arith(e.op, a, scale(b), t) : this.arith(e.op, scale(a), b, t);
  }

  /** uaddr("sym"): the symbol's address in the traced process. */
  private uaddr(e: A.CallExpr): VReg {
    const name = (e.args[0] as A.StringExpr).value;
    this.locationDependent = true;
    if (this.location.kind !== "uprobe") throw new CodegenError(e.span, "uaddr() needs a uprobe, uretprobe or usdt probe");
    const sym = lookupUserSymbol(this.location.path, name);
    if (typeof sym === "string") throw new CodegenError(e.span, sym);
    if (!sym.pie) return this.mov(BigInt(sym.address));
    // A position-independent file: where it is loaded is where the probed instruction is, less
    // its address in the file (in a uretprobe, the probed function's address).
    const here = this.target.type === "uretprobe" ? this.call(Helper.get_func_ip, [this.ctx()])! : this.ctxLoad(PT_REGS_IP);
    this.emit({ op: "alu", alu: "add", width: 64, dst: here, src: { imm: BigInt(sym.address - this.location.address) } });
    return here;
  }

  /** macaddr(): "XX:XX:XX:XX:XX:XX" from 6 bytes (an array in memory, or read through a pointer). */
  private macaddr(e: A.CallExpr): MemVal {
    const arg = e.args[0]!;
    let src: Mem;
    if (isPointer(arg.type)) src = this.fetch({ k: "remote", addr: this.reg(this.intExpr(arg)), off: 0, ...this.memSpace(arg.type) }, 6, e.span);
    else {
      const v = this.expr(arg);
      if (v.k !== "mem") throw new CodegenError(arg.span, "internal: macaddr's argument is not in memory");
      src = v;
    }
    const out = this.alloc(MACADDR_SIZE, e.span);
    const byte = this.v();
    const nib = this.v();
    for (let i = 0; i < 6; i++) {
      this.emit({ op: "ldx", size: "B", dst: byte, base: src.base, off: src.off + i });
      for (const high of [true, false]) {
        this.emit({ op: "alu", alu: "mov", width: 64, dst: nib, src: byte });
        this.emit({ op: "alu", alu: high ? "rsh" : "and", width: 64, dst: nib, src: { imm: high ? 4n : 15n } });
        // 0-9 -> '0'-'9', 10-15 -> 'A'-'F'
        const digit = this.label("hexd");
        this.emit({ op: "jmp", cond: "jle", width: 64, a: nib, b: { imm: 9n }, target: digit });
        this.emit({ op: "alu", alu: "add", width: 64, dst: nib, src: { imm: 7n } });
        this.place(digit);
        this.emit({ op: "alu", alu: "add", width: 64, dst: nib, src: { imm: 48n } });
        this.emit({ op: "stx", size: "B", base: out.base, off: out.off + i * 3 + (high ? 0 : 1), src: nib });
      }
      this.emit({ op: "st", size: "B", base: out.base, off: out.off + i * 3 + 2, imm: i < 5 ? 58 : 0 });
    }
    return { k: "mem", ...out, type: str(MACADDR_SIZE) };
  }

  // ---- buf, bswap, ntop, pton, strcontains, kaddr ----------------------------------------------

  /** buf(data [, length]): {length: u8, data: u8[size]}, zero past the length. */
  private buf(e: A.CallExpr): MemVal {
    const t = e.type ?? ERROR;
    const size = t.kind === "buffer" ? t.size : 0;
    const out = this.alloc(size + 1, e.span);
    this.zero(out, size + 1);
    const data: Mem = { base: out.base, off: out.off + 1 };
    const arg = e.args[0]!;
    const at = arg.type ?? ERROR;
    // The data: an address to read from, or a value in memory.
    const ptr = at.kind === "int" ? this.reg(this.intExpr(arg)) : undefined;
    const src = ptr === undefined ? this.expr(arg) : undefined;
    if (src !== undefined && src.k !== "mem") throw new CodegenError(arg.span, "internal: buf's data is not in memory");
    // The length: a constant, or clamped to the buffer (and to the value in memory) at run time.
    const limit = src !== undefined ? Math.min(size, sizeOf(at)) : size;
    const n = e.args.length === 2 ? constantValue(e.args[1]!, this.script.params) : BigInt(size);
    if (n !== undefined) {
      const len = Math.min(Number(n), size);
      this.emit({ op: "st", size: "B", base: out.base, off: out.off, imm: len });
      if (Math.min(len, limit) === 0) return { k: "mem", ...out, type: t };
      if (src !== undefined) this.copy(data, src, Math.min(len, limit));
      else this.call(this.readHelper(at), [this.addr(data), { imm: BigInt(len) }, ptr!], false);
      return { k: "mem", ...out, type: t };
    }
    const len = this.mov(this.reg(this.intExpr(e.args[1]!)));
    const inRange = this.label("bufl");
    this.emit({ op: "jmp", cond: "jle", width: 64, a: len, b: { imm: BigInt(size) }, target: inRange });
    this.emit({ op: "alu", alu: "mov", width: 64, dst: len, src: { imm: BigInt(size) } });
    this.place(inRange);
    this.emit({ op: "stx", size: "B", base: out.base, off: out.off, src: len });
    if (src !== undefined && limit < size) {
      const fits = this.label("bufm");
      this.emit({ op: "jmp", cond: "jle", width: 64, a: len, b: { imm: BigInt(limit) }, target: fits });
      this.emit({ op: "alu", alu: "mov", width: 64, dst: len, src: { imm: BigInt(limit) } });
      this.place(fits);
    }
    // A copy of a run-time length (of our own memory too) is a read the helper bounds-checks.
    const helper = src !== undefined ? Helper.probe_read_kernel : this.readHelper(at);
    this.call(helper, [this.addr(data), len, src !== undefined ? this.addr(src) : ptr!], false);
    return { k: "mem", ...out, type: t };
  }

  /** The helper that reads memory a pointer of type t points to (as fetch() chooses it). */
  private readHelper(t: Type): number {
    if (this.userMemory(t)) return Helper.probe_read_user;
    return this.memSpace(t).explicit ? Helper.probe_read_kernel : Helper.probe_read;
  }

  /** 1 if two buf() values hold the same bytes (bytes past a buffer's length are always 0). */
  private buffersEqual(x: A.Expr, y: A.Expr): VReg {
    const a = this.expr(x) as MemVal;
    const b = this.expr(y) as MemVal;
    const n = Math.min(sizeOf(a.type), sizeOf(b.type));
    const r = this.mov(0n);
    const differ = this.label("bne");
    // The length byte first, then the data both have room for.
    this.jumpIfBytesDiffer(a, b, n, differ);
    this.emit({ op: "alu", alu: "mov", width: 64, dst: r, src: { imm: 1n } });
    this.place(differ);
    return r;
  }

  /** bswap(n): the bytes of n (of its type's size) in reverse order. */
  private bswap(e: A.CallExpr): IntVal {
    const t = e.type ?? INT64;
    const size = t.kind === "int" ? t.size : 8;
    const n = constantValue(e.args[0]!, this.script.params);
    if (n !== undefined) return { k: "imm", n: BigInt.asIntN(64, byteSwap(n, size)), type: t };
    const x = this.reg(this.intExpr(e.args[0]!));
    const d = this.mov(0n);
    const b = this.v();
    for (let i = 0; i < size; i++) {
      this.emit({ op: "alu", alu: "mov", width: 64, dst: b, src: x });
      if (i > 0) this.emit({ op: "alu", alu: "rsh", width: 64, dst: b, src: { imm: BigInt(8 * i) } });
      this.emit({ op: "alu", alu: "and", width: 64, dst: b, src: { imm: 0xffn } });
      if (size - 1 - i > 0) this.emit({ op: "alu", alu: "lsh", width: 64, dst: b, src: { imm: BigInt(8 * (size - 1 - i)) } });
      this.emit({ op: "alu", alu: "or", width: 64, dst: d, src: b });
    }
    return { k: "reg", v: d, type: t };
  }

  /** ntop([af,] addr): {af: i64, addr: u8[16]}, turned into text in user space. */
  private ntop(e: A.CallExpr): MemVal {
    const out = this.alloc(24, e.span);
    this.zero(out, 24);
    const arg = e.args[e.args.length - 1]!;
    const at = arg.type ?? ERROR;
    if (e.args.length === 2) this.store(out, this.intExpr(e.args[0]!), INT64);
    else this.emit({ op: "st", size: "DW", base: out.base, off: out.off, imm: Number(inetBytes(at) === 16 ? AF_INET6 : AF_INET) });
    const addr: Mem = { base: out.base, off: out.off + 8 };
    if (at.kind === "int") this.store(addr, this.intExpr(arg), INT64);
    else {
      const v = this.expr(arg);
      if (v.k !== "mem") throw new CodegenError(arg.span, "internal: ntop's address is not in memory");
      this.copy(addr, v, Math.min(16, sizeOf(at)));
    }
    return { k: "mem", ...out, type: { kind: "inet" } };
  }

  /** pton("address"): the address's bytes, an array of uint8. */
  private pton(e: A.CallExpr): MemVal {
    const t = e.type ?? ERROR;
    const bytes = parseInet(constantString(e.args[0]!, this.script.params) ?? "") ?? new Uint8Array(sizeOf(t));
    const out = this.alloc(bytes.length, e.span);
    const buf = Buffer.from(bytes);
    for (const [o, sz] of chunks([out.off], bytes.length, 4)) {
      const imm = sz === "W" ? buf.readInt32LE(o) : sz === "H" ? buf.readInt16LE(o) : buf.readInt8(o);
      this.emit({ op: "st", size: sz, base: out.base, off: out.off + o, imm });
    }
    return { k: "mem", ...out, type: t };
  }

  /** A register holding the address of mem + off (for variable-offset reads). */
  private pointerTo(m: Mem): VReg {
    const d = this.v();
    if (m.base === FP) this.emit({ op: "fpaddr", dst: d, off: m.off });
    else {
      this.emit({ op: "alu", alu: "mov", width: 64, dst: d, src: m.base });
      if (m.off !== 0) this.emit({ op: "alu", alu: "add", width: 64, dst: d, src: { imm: BigInt(m.off) } });
    }
    return d;
  }

  /**
   * strcontains(haystack, needle): 1 if needle occurs in haystack, else 0. A loop over the start
   * positions in the haystack (copied into a zero-padded buffer, so that every byte compared is
   * in bounds); at each, the needle's bytes are compared without branches (the differences ORed
   * together), so the verifier follows one path per position. Strings are zero past their NUL,
   * so the haystack's end never matches a needle byte, and the needle's end is masked out.
   */
  private strcontains(e: A.CallExpr): IntVal {
    const t = e.type ?? INT64;
    const cut = (s: string) => (s.includes("\0") ? s.slice(0, s.indexOf("\0")) : s);
    const hs = constantString(e.args[0]!, this.script.params);
    const ns = constantString(e.args[1]!, this.script.params);
    if (hs !== undefined && ns !== undefined) return { k: "imm", n: cut(hs).includes(cut(ns)) ? 1n : 0n, type: t };
    if (ns !== undefined && cut(ns) === "") return { k: "imm", n: 1n, type: t };
    const h = this.expr(e.args[0]!) as MemVal;
    // A constant needle: its bytes are immediates; else they are read from memory.
    const literal = ns !== undefined ? Buffer.from(cut(ns), "latin1") : undefined;
    const n = literal === undefined ? (this.expr(e.args[1]!) as MemVal) : undefined;
    const hsz = sizeOf(h.type);
    const nsz = literal !== undefined ? literal.length : sizeOf(n!.type);
    if (hsz * nsz > MAX_STRCONTAINS_PAIRS) {
      throw new CodegenError(e.span, `strcontains: the strings are too long to search (${hsz} × ${nsz} bytes; at most ${MAX_STRCONTAINS_PAIRS} byte pairs): shorten them with str(s, n)`);
    }
    const hay = this.alloc(hsz + nsz, e.span);
    this.zero({ base: hay.base, off: hay.off + hsz }, nsz);
    this.copy(hay, h, hsz);
    const x = this.v();
    const y = this.v();
    // A run-time needle: a mask per byte, 0xff where the needle has a byte, 0 from its NUL on.
    let masks: Mem | undefined;
    if (n !== undefined) {
      masks = this.alloc(nsz, e.span);
      for (let j = 0; j < nsz; j++) {
        this.emit({ op: "ldx", size: "B", dst: x, base: n.base, off: n.off + j });
        this.emit({ op: "alu", alu: "add", width: 64, dst: x, src: { imm: 255n } });
        this.emit({ op: "alu", alu: "rsh", width: 64, dst: x, src: { imm: 8n } });
        this.emit({ op: "alu", alu: "mul", width: 64, dst: x, src: { imm: 255n } });
        this.emit({ op: "stx", size: "B", base: masks.base, off: masks.off + j, src: x });
      }
    }
    const r = this.mov(0n);
    const found = this.label("scfound");
    const done = this.label("scdone");
    const outer = this.label("scouter");
    const p = this.mov(0n);
    const acc = this.v();
    this.place(outer);
    const hp = this.pointerTo(hay);
    this.emit({ op: "alu", alu: "add", width: 64, dst: hp, src: p });
    this.emit({ op: "alu", alu: "mov", width: 64, dst: acc, src: { imm: 0n } });
    for (let j = 0; j < nsz; j++) {
      this.emit({ op: "ldx", size: "B", dst: x, base: hp, off: j });
      if (literal !== undefined) this.emit({ op: "alu", alu: "xor", width: 64, dst: x, src: { imm: BigInt(literal[j]!) } });
      else {
        this.emit({ op: "ldx", size: "B", dst: y, base: masks!.base, off: masks!.off + j });
        this.emit({ op: "alu", alu: "and", width: 64, dst: x, src: y });
        this.emit({ op: "ldx", size: "B", dst: y, base: n!.base, off: n!.off + j });
        this.emit({ op: "alu", alu: "xor", width: 64, dst: x, src: y });
      }
      this.emit({ op: "alu", alu: "or", width: 64, dst: acc, src: x });
    }
    this.emit({ op: "jmp", cond: "jeq", width: 64, a: acc, b: { imm: 0n }, target: found });
    // The haystack ends at its NUL: no later start can match.
    this.emit({ op: "ldx", size: "B", dst: x, base: hp, off: 0 });
    this.emit({ op: "jmp", cond: "jeq", width: 64, a: x, b: { imm: 0n }, target: done });
    this.emit({ op: "alu", alu: "add", width: 64, dst: p, src: { imm: 1n } });
    this.emit({ op: "jmp", cond: "jlt", width: 64, a: p, b: { imm: BigInt(hsz) }, target: outer });
    this.emit({ op: "ja", target: done });
    this.place(found);
    this.emit({ op: "alu", alu: "mov", width: 64, dst: r, src: { imm: 1n } });
    this.place(done);
    return { k: "reg", v: r, type: t };
  }

  /** sargN: the 8 bytes at sp + 8 * (N + 1) of the traced process, at the function's entry. */
  private stackArg(n: number, t: Type, span: Span): IntVal {
    const addr = this.ctxLoad(PT_REGS_SP);
    this.emit({ op: "alu", alu: "add", width: 64, dst: addr, src: { imm: BigInt(8 * (n + 1)) } });
    const m = this.alloc(8, span);
    this.call(Helper.probe_read_user, [this.addr(m), { imm: 8n }, addr], false);
    return { k: "reg", v: this.load(m, UINT64), type: t };
  }

  private strncmp(e: A.CallExpr): VReg {
    const a = this.expr(e.args[0]!) as MemVal;
    const b = this.expr(e.args[1]!) as MemVal;
    const n = Number(constantValue(e.args[2]!, this.script.params) ?? 0n);
    const sa = sizeOf(a.type);
    const sb = sizeOf(b.type);
    const r = this.mov(0n);
    const differ = this.label("ncne");
    const done = this.label("ncd");
    const ta = this.v();
    const tb = this.v();
    for (let i = 0; i < n; i++) {
      if (i < sa) this.emit({ op: "ldx", size: "B", dst: ta, base: a.base, off: a.off + i });
      else this.emit({ op: "alu", alu: "mov", width: 64, dst: ta, src: { imm: 0n } });
      if (i < sb) this.emit({ op: "ldx", size: "B", dst: tb, base: b.base, off: b.off + i });
      else this.emit({ op: "alu", alu: "mov", width: 64, dst: tb, src: { imm: 0n } });
      this.emit({ op: "jmp", cond: "jne", width: 64, a: ta, b: tb, target: differ });
      this.emit({ op: "jmp", cond: "jeq", width: 64, a: ta, b: { imm: 0n }, target: done });
      if (i >= sa && i >= sb) break;
    }
    this.emit({ op: "ja", target: done });
    this.place(differ);
    this.emit({ op: "alu", alu: "mov", width: 64, dst: r, src: { imm: 1n } });
    this.place(done);
    return r;
  }
}

const SIZE: Record<number, Size> = { 1: "B", 2: "H", 4: "W", 8: "DW" };

/**
 * Splits `size` bytes into the widest accesses that stay aligned for every base offset given
 * (the verifier rejects misaligned stack accesses): [offset, size] pairs.
 */
function chunks(offsets: number[], size: number, widest = 8): Array<[number, Size]> {
  const out: Array<[number, Size]> = [];
  let o = 0;
  while (o < size) {
    let n = widest;
    while (n > 1 && (size - o < n || offsets.some((b) => (((b + o) % n) + n) % n !== 0))) n /= 2;
    out.push([o, SIZE[n]!]);
    o += n;
  }
  return out;
}

const COMPARE: Partial<Record<A.BinaryOperator, { signed: JmpOp; unsigned: JmpOp }>> = {
  "==": { signed: "jeq", unsigned: "jeq" },
  "!=": { signed: "jne", unsigned: "jne" },
  "<": { signed: "jslt", unsigned: "jlt" },
  ">": { signed: "jsgt", unsigned: "jgt" },
  "<=": { signed: "jsle", unsigned: "jle" },
  ">=": { signed: "jsge", unsigned: "jge" },
};

/** Signedness after promotion: narrower ints become int64 (signed); uint64 stays unsigned. */
function isSigned(t: Type | undefined): boolean {
  if (t === undefined || t.kind !== "int") return true;
  return t.signed || t.size < 8;
}

/** How a value is carried in a record: ints at 8 bytes, keeping their sign. */
function recordType(t: Type): Type {
  if (t.kind === "int") return int(8, t.signed);
  return t;
}
