// Register allocation and lowering. Virtual registers get real ones by linear scan over live
// intervals: a value live across a helper call gets r6-r9 (callee-saved); any other value
// prefers r0-r5 (a call's result r0, the context r1, ...), at most four of them at once so that
// two are always free as scratch for the lowering; the rest are spilled to 8-byte stack slots.
// The result goes through compiler/codegen/peephole.ts before it is assembled.
import { Assembler, type Insn, type Reg, R0, R1, R10, type Size } from "../asm/index.js";
import { type Arg, FP, type IR, isVReg, usesDefs, type VReg } from "./ir.js";
import { type Item, optimize } from "./peephole.js";

const CALLEE: Reg[] = ["r6", "r7", "r8", "r9"];
const CALLER: Reg[] = ["r0", "r1", "r2", "r3", "r4", "r5"];
const ARG_REGS: Reg[] = ["r1", "r2", "r3", "r4", "r5"];
/** Caller-saved registers holding values at any one point; the others are scratch. */
const CALLER_LIMIT = 4;
/** Where the lowering looks for a scratch register. */
const SCRATCH_ORDER: Reg[] = ["r1", "r2", "r3", "r4", "r5", "r0", "r6", "r7", "r8", "r9"];

export interface Lowered {
  insns: Insn[];
  /** Bytes of stack used, objects and spill slots together. */
  frameSize: number;
  spills: number;
}

interface Interval {
  v: VReg;
  start: number;
  end: number;
  /** Live across a helper call: needs a callee-saved register (or a slot). */
  crosses: boolean;
  /** Registers it would rather have (no move needed), best first. */
  hints: Reg[];
  /** `mov this, src` at its start, src's last use: sharing src's register removes the move. */
  coalesce?: VReg;
  /** Written, not read, where it starts: it may share a register with a value read there last. */
  defAtStart: boolean;
}

/** Live intervals over the linear code, stretched over the loops they are live across. */
function intervals(code: IR[]): Interval[] {
  const map = new Map<VReg, Interval>();
  code.forEach((ins, pos) => {
    const { uses, defs } = usesDefs(ins);
    for (const v of [...uses, ...defs]) {
      const it = map.get(v);
      if (it === undefined) map.set(v, { v, start: pos, end: pos, crosses: false, hints: [], defAtStart: false });
      else {
        it.start = Math.min(it.start, pos);
        it.end = Math.max(it.end, pos);
      }
    }
  });
  const labels = new Map<string, number>();
  code.forEach((ins, pos) => {
    if (ins.op === "label") labels.set(ins.name, pos);
  });
  const loops: Array<[number, number]> = [];
  code.forEach((ins, pos) => {
    if (ins.op === "jmp" || ins.op === "ja") {
      const to = labels.get(ins.target);
      if (to !== undefined && to <= pos) loops.push([to, pos]);
    }
  });
  // A value live on entry to a loop (defined before it, used inside or after) must stay live
  // through the whole loop: the back edge brings control to its uses again.
  for (let changed = true; changed; ) {
    changed = false;
    for (const it of map.values()) {
      for (const [head, back] of loops) {
        if (it.start < head && it.end >= head && it.end < back) {
          it.end = back;
          changed = true;
        }
        // Defined inside the loop and read again at the top on the next iteration.
        if (it.start >= head && it.start <= back && it.end <= back && readsBeforeWrite(code, it.v, head, back)) {
          if (it.start !== head) {
            it.start = head;
            changed = true;
          }
          if (it.end !== back) {
            it.end = back;
            changed = true;
          }
        }
      }
    }
  }
  // Calls clobber r0-r5: a value must survive every call inside its interval, except the call
  // that defines it.
  const calls: number[] = [];
  code.forEach((ins, pos) => {
    if (ins.op === "call") calls.push(pos);
  });
  for (const it of map.values()) {
    const { uses, defs } = usesDefs(code[it.start]!);
    it.defAtStart = defs.includes(it.v) && !uses.includes(it.v);
    it.crosses = calls.some((p) => it.start <= p && p < it.end && (code[p] as { ret?: VReg }).ret !== it.v);
  }
  // Hints: a call's result is in r0, the context in r1, an argument goes to its register.
  code.forEach((ins, pos) => {
    if (ins.op === "call") {
      if (ins.ret !== undefined) map.get(ins.ret)!.hints.push(R0);
      ins.args.forEach((a, i) => {
        if (!isVReg(a)) return;
        const it = map.get(a)!;
        if (it.end === pos) it.hints.push(ARG_REGS[i]!);
      });
    } else if (ins.op === "ctx") map.get(ins.dst)!.hints.push(R1);
    else if (ins.op === "alu" && ins.alu === "mov" && isVReg(ins.src)) {
      const d = map.get(ins.dst)!;
      const s = map.get(ins.src)!;
      if (d.start === pos && s.end === pos && ins.dst !== ins.src) d.coalesce = ins.src;
    }
  });
  return [...map.values()].sort((a, b) => a.start - b.start || a.v - b.v);
}

/** Whether, in code[head..back], v may be read before it is written (in linear order). */
function readsBeforeWrite(code: IR[], v: VReg, head: number, back: number): boolean {
  for (let p = head; p <= back; p++) {
    const { uses, defs } = usesDefs(code[p]!);
    if (uses.includes(v)) return true;
    if (defs.includes(v)) return false;
  }
  return false;
}

type Home = { reg: Reg } | { slot: number };

type Active = Interval & { reg: Reg };

/** Assigns a register or a stack slot to every virtual register. */
function allocate(all: Interval[], frame: number): { homes: Map<VReg, Home>; frameSize: number; spills: number; regs: Active[] } {
  const homes = new Map<VReg, Home>();
  const regOf = new Map<VReg, Reg>();
  let active: Active[] = [];
  const placed: Active[] = [];
  let frameSize = frame;
  let spills = 0;
  const spill = (v: VReg) => {
    frameSize += 8;
    spills++;
    homes.set(v, { slot: -frameSize });
    regOf.delete(v);
  };
  for (const it of all) {
    const p = it.start;
    active = active.filter((a) => a.end >= p);
    // A register is free for `it` if nobody holds it, or only values whose last use is where
    // `it` is defined (every instruction reads its operands before it writes its result).
    const holders = (r: Reg) => active.filter((a) => a.reg === r);
    const ending = (a: Active) => it.defAtStart && a.end === p && a.start < p;
    const free = (r: Reg) => holders(r).every(ending);
    const callerHeld = new Set(active.filter((a) => CALLER.includes(a.reg)).map((a) => a.reg));
    const allowed = (r: Reg) => {
      if (!free(r)) return false;
      if (CALLEE.includes(r)) return true;
      return !it.crosses && (callerHeld.has(r) || callerHeld.size < CALLER_LIMIT);
    };
    const candidates: Reg[] = [];
    if (it.coalesce !== undefined) {
      const r = regOf.get(it.coalesce);
      if (r !== undefined) candidates.push(r);
    }
    candidates.push(...it.hints);
    if (!it.crosses) candidates.push(...CALLER);
    candidates.push(...CALLEE);
    let reg = candidates.find(allowed);
    if (reg === undefined) {
      // No register: spill whichever value lives longest, this one or one holding a register
      // it may use.
      let longest: Active | undefined;
      for (const a of active) {
        if (a.end <= it.end || a.start >= p) continue;
        if (it.crosses && !CALLEE.includes(a.reg)) continue;
        if (!CALLEE.includes(a.reg) && !callerHeld.has(a.reg)) continue;
        if (!holders(a.reg).every((b) => b === a || ending(b))) continue;
        if (longest === undefined || a.end > longest.end) longest = a;
      }
      if (longest === undefined) {
        spill(it.v);
        continue;
      }
      reg = longest.reg;
      spill(longest.v);
      active = active.filter((a) => a !== longest);
      placed.splice(placed.indexOf(longest), 1);
    }
    const a: Active = { ...it, reg };
    active.push(a);
    placed.push(a);
    homes.set(it.v, { reg });
    regOf.set(it.v, reg);
  }
  return { homes, frameSize, spills, regs: placed };
}

/** Lowers IR to instructions. `frame` is the stack already used by the code's objects. */
export function lower(code: IR[], frame: number): Lowered {
  const { homes, frameSize: used, spills, regs } = allocate(intervals(code), frame);
  // Align the frame to 8 bytes.
  const frameSize = Math.ceil(used / 8) * 8;
  // Registers holding a value at each position: the lowering's scratch registers are the others.
  const busy = code.map(() => new Set<Reg>());
  for (const a of regs) for (let p = a.start; p <= a.end; p++) busy[p]!.add(a.reg);

  const items: Item[] = [];
  const emit = (insn: Insn, target?: string) => items.push(target === undefined ? { insn } : { insn, target });
  const home = (v: VReg): Home => {
    const h = homes.get(v);
    if (h === undefined) throw new Error(`internal: v${v} has no home`);
    return h;
  };
  let pos = 0;
  let taken: Reg[] = [];
  /** A register free at this instruction, other than those already taken for it. */
  const scratch = (): Reg => {
    const r = SCRATCH_ORDER.find((x) => !busy[pos]!.has(x) && !taken.includes(x));
    if (r === undefined) throw new Error("internal: no scratch register");
    taken.push(r);
    return r;
  };
  /** v's value in a register: its own, or a scratch loaded from its slot. */
  const read = (v: VReg, into?: Reg): Reg => {
    const h = home(v);
    if ("reg" in h) return h.reg;
    const r = into ?? scratch();
    emit({ kind: "ldx", size: "DW", dst: r, src: R10, off: h.slot });
    return r;
  };
  /** The register to compute v into, and a function storing it home afterwards. */
  const target = (v: VReg): [Reg, () => void] => {
    const h = home(v);
    if ("reg" in h) return [h.reg, () => {}];
    const r = scratch();
    return [r, () => emit({ kind: "stx", size: "DW", dst: R10, off: h.slot, src: r })];
  };
  const base = (b: VReg | typeof FP): Reg => (b === FP ? R10 : read(b));
  const immFits = (imm: bigint) => imm >= -0x8000_0000n && imm <= 0x7fff_ffffn;
  const movImm = (dst: Reg, imm: bigint) => {
    if (immFits(imm)) emit({ kind: "alu", op: "mov", width: 64, dst, src: Number(imm) });
    else emit({ kind: "lddw", dst, imm });
  };
  const mov = (dst: Reg, src: Reg) => {
    if (dst !== src) emit({ kind: "alu", op: "mov", width: 64, dst, src });
  };
  /** A source operand: an immediate that fits, else a register. */
  const operand = (src: VReg | { imm: bigint }): Reg | number => {
    if (isVReg(src)) return read(src);
    if (immFits(src.imm)) return Number(src.imm);
    const r = scratch();
    emit({ kind: "lddw", dst: r, imm: src.imm });
    return r;
  };

  code.forEach((ins, p) => {
    pos = p;
    taken = [];
    switch (ins.op) {
      case "label":
        items.push({ label: ins.name });
        break;
      case "ctx": {
        const h = home(ins.dst);
        if ("reg" in h) mov(h.reg, R1);
        else emit({ kind: "stx", size: "DW", dst: R10, off: h.slot, src: R1 });
        break;
      }
      case "alu": {
        if (ins.alu === "mov") {
          const [d, store] = target(ins.dst);
          if (isVReg(ins.src)) {
            const s = read(ins.src, d);
            if (ins.width === 64) mov(d, s);
            else emit({ kind: "alu", op: "mov", width: 32, dst: d, src: s });
          } else if (ins.width === 32) emit({ kind: "alu", op: "mov", width: 32, dst: d, src: Number(BigInt.asIntN(32, ins.src.imm)) });
          else movImm(d, ins.src.imm);
          store();
          break;
        }
        const [d, store] = target(ins.dst);
        read(ins.dst, d);
        emit({ kind: "alu", op: ins.alu, width: ins.width, dst: d, src: operand(ins.src) });
        store();
        break;
      }
      case "neg": {
        const [d, store] = target(ins.dst);
        read(ins.dst, d);
        emit({ kind: "neg", width: 64, dst: d });
        store();
        break;
      }
      case "mapvalue": {
        const [d, store] = target(ins.dst);
        emit({ kind: "ld_map_value", dst: d, fd: ins.map, off: ins.off });
        store();
        break;
      }
      case "fpaddr": {
        const [d, store] = target(ins.dst);
        emit({ kind: "alu", op: "mov", width: 64, dst: d, src: R10 });
        emit({ kind: "alu", op: "add", width: 64, dst: d, src: ins.off });
        store();
        break;
      }
      case "ldx": {
        const b = base(ins.base);
        const [d, store] = target(ins.dst);
        emit({ kind: "ldx", size: ins.size, dst: d, src: b, off: ins.off });
        store();
        break;
      }
      case "stx": {
        const b = base(ins.base);
        emit({ kind: "stx", size: ins.size, dst: b, off: ins.off, src: read(ins.src) });
        break;
      }
      case "st":
        emit({ kind: "st", size: ins.size, dst: base(ins.base), off: ins.off, imm: ins.imm });
        break;
      case "xadd": {
        const b = read(ins.base);
        emit({ kind: "atomic", op: "add", fetch: false, size: ins.size, dst: b, off: ins.off, src: read(ins.src) });
        break;
      }
      case "jmp": {
        const x = read(ins.a);
        emit({ kind: "jmp", op: ins.cond, width: ins.width, dst: x, src: operand(ins.b), off: 0 }, ins.target);
        break;
      }
      case "ja":
        emit({ kind: "ja", off: 0 }, ins.target);
        break;
      case "call": {
        // Register arguments move as one parallel move (r0, which no argument goes to, breaks
        // cycles); the others load after it.
        const moves: Array<[Reg, Reg]> = [];
        const loads: Array<() => void> = [];
        ins.args.forEach((arg: Arg, i) => {
          const r = ARG_REGS[i]!;
          if (isVReg(arg)) {
            const h = home(arg);
            if ("reg" in h) {
              if (h.reg !== r) moves.push([r, h.reg]);
            } else loads.push(() => emit({ kind: "ldx", size: "DW", dst: r, src: R10, off: h.slot }));
          } else if ("imm" in arg) loads.push(() => movImm(r, arg.imm));
          else if ("fp" in arg) {
            loads.push(() => {
              emit({ kind: "alu", op: "mov", width: 64, dst: r, src: R10 });
              emit({ kind: "alu", op: "add", width: 64, dst: r, src: arg.fp });
            });
          } else if ("map" in arg) loads.push(() => emit({ kind: "ld_map_fd", dst: r, fd: arg.map }));
          else throw new Error("internal: ctx argument must be a register");
        });
        while (moves.length > 0) {
          const ready = moves.findIndex(([d]) => !moves.some(([, s]) => s === d));
          if (ready >= 0) {
            const [d, s] = moves.splice(ready, 1)[0]!;
            mov(d, s);
            continue;
          }
          const [d] = moves[0]!;
          mov(R0, d);
          for (const m of moves) if (m[1] === d) m[1] = R0;
        }
        for (const load of loads) load();
        emit({ kind: "call", helper: ins.helper });
        if (ins.ret !== undefined) {
          const h = home(ins.ret);
          if ("reg" in h) mov(h.reg, R0);
          else emit({ kind: "stx", size: "DW", dst: R10, off: h.slot, src: R0 });
        }
        break;
      }
      case "exit":
        emit({ kind: "alu", op: "mov", width: 64, dst: R0, src: 0 });
        emit({ kind: "exit" });
        break;
    }
  });

  const a = new Assembler();
  for (const item of optimize(items)) {
    if ("label" in item) a.label(item.label);
    else if (item.target !== undefined) {
      const i = item.insn;
      if (i.kind === "ja") a.ja(item.target);
      else if (i.kind === "jmp") a.jmp(i.op, i.width, i.dst, i.src, item.target);
      else throw new Error("internal: a jump target on a non-jump");
    } else a.emit(item.insn);
  }
  return { insns: a.assemble(), frameSize, spills };
}

export type { Size };
