// Register allocation and lowering: virtual registers get r6-r9 (callee-saved, so they survive
// helper calls) by linear scan over live intervals; the rest are spilled to 8-byte stack slots.
// r0-r5 are only used inside one lowered instruction (helper arguments, results, scratch).
import { Assembler, type Insn, type Reg, R0, R1, R2, R10, type Size } from "../asm/index.js";
import { type Arg, FP, type IR, isVReg, usesDefs, type VReg } from "./ir.js";

const ALLOCATABLE: Reg[] = ["r6", "r7", "r8", "r9"];
const ARG_REGS: Reg[] = ["r1", "r2", "r3", "r4", "r5"];

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
}

/** Live intervals over the linear code, stretched over the loops they are live across. */
function intervals(code: IR[]): Interval[] {
  const map = new Map<VReg, Interval>();
  code.forEach((ins, pos) => {
    const { uses, defs } = usesDefs(ins);
    for (const v of [...uses, ...defs]) {
      const it = map.get(v);
      if (it === undefined) map.set(v, { v, start: pos, end: pos });
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

/** Lowers IR to instructions. `frame` is the stack already used by the code's objects. */
export function lower(code: IR[], frame: number): Lowered {
  const homes = new Map<VReg, Home>();
  const active: Array<Interval & { reg: Reg }> = [];
  const free = [...ALLOCATABLE];
  let frameSize = frame;
  let spills = 0;
  const spill = (it: Interval) => {
    frameSize += 8;
    spills++;
    homes.set(it.v, { slot: -frameSize });
  };
  for (const it of intervals(code)) {
    // Expire intervals that ended before this one starts.
    for (let i = active.length - 1; i >= 0; i--) {
      if (active[i]!.end < it.start) {
        free.push(active[i]!.reg);
        active.splice(i, 1);
      }
    }
    const reg = free.pop();
    if (reg !== undefined) {
      active.push({ ...it, reg });
      homes.set(it.v, { reg });
      continue;
    }
    // No register free: spill whichever lives longest.
    let longest = active[0]!;
    for (const a of active) if (a.end > longest.end) longest = a;
    if (longest.end > it.end) {
      homes.set(it.v, { reg: longest.reg });
      spill(longest);
      active.splice(active.indexOf(longest), 1);
      active.push({ ...it, reg: longest.reg });
    } else {
      spill(it);
    }
  }
  // Align the frame to 8 bytes.
  frameSize = Math.ceil(frameSize / 8) * 8;

  const a = new Assembler();
  const home = (v: VReg): Home => {
    const h = homes.get(v);
    if (h === undefined) throw new Error(`internal: v${v} has no home`);
    return h;
  };
  /** v's value in a register: its own, or `scratch` loaded from its slot. */
  const read = (v: VReg, scratch: Reg): Reg => {
    const h = home(v);
    if ("reg" in h) return h.reg;
    a.ldx("DW", scratch, R10, h.slot);
    return scratch;
  };
  /** The register to compute v into, and a function storing it home afterwards. */
  const target = (v: VReg, scratch: Reg): [Reg, () => void] => {
    const h = home(v);
    if ("reg" in h) return [h.reg, () => {}];
    return [scratch, () => a.stx("DW", R10, h.slot, scratch)];
  };
  const base = (b: VReg | typeof FP, scratch: Reg): Reg => (b === FP ? R10 : read(b, scratch));
  const movImm = (dst: Reg, imm: bigint) => {
    if (imm >= -0x8000_0000n && imm <= 0x7fff_ffffn) a.alu("mov", 64, dst, Number(imm));
    else a.lddw(dst, imm);
  };
  const immFits = (imm: bigint) => imm >= -0x8000_0000n && imm <= 0x7fff_ffffn;

  for (const ins of code) {
    switch (ins.op) {
      case "label":
        a.label(ins.name);
        break;
      case "ctx": {
        const [d, store] = target(ins.dst, R0);
        a.alu("mov", 64, d, R1);
        store();
        break;
      }
      case "alu": {
        if (ins.alu === "mov") {
          const [d, store] = target(ins.dst, R1);
          if (isVReg(ins.src)) a.alu("mov", ins.width, d, read(ins.src, d));
          else if (ins.width === 32) a.alu("mov", 32, d, Number(BigInt.asIntN(32, ins.src.imm)));
          else movImm(d, ins.src.imm);
          store();
          break;
        }
        const [d, store] = target(ins.dst, R1);
        if (d === R1) read(ins.dst, R1);
        if (isVReg(ins.src)) a.alu(ins.alu, ins.width, d, read(ins.src, R2));
        else if (immFits(ins.src.imm)) a.alu(ins.alu, ins.width, d, Number(ins.src.imm));
        else {
          a.lddw(R2, ins.src.imm);
          a.alu(ins.alu, ins.width, d, R2);
        }
        store();
        break;
      }
      case "neg": {
        const [d, store] = target(ins.dst, R1);
        if (d === R1) read(ins.dst, R1);
        a.neg64(d);
        store();
        break;
      }
      case "mapvalue": {
        const [d, store] = target(ins.dst, R1);
        a.ldMapValue(d, ins.map, ins.off);
        store();
        break;
      }
      case "fpaddr": {
        const [d, store] = target(ins.dst, R1);
        a.alu("mov", 64, d, R10);
        a.alu("add", 64, d, ins.off);
        store();
        break;
      }
      case "ldx": {
        const b = base(ins.base, R1);
        const [d, store] = target(ins.dst, R2);
        a.ldx(ins.size, d, b, ins.off);
        store();
        break;
      }
      case "stx":
        a.stx(ins.size, base(ins.base, R1), ins.off, read(ins.src, R2));
        break;
      case "st":
        a.st(ins.size, base(ins.base, R1), ins.off, ins.imm);
        break;
      case "xadd":
        a.atomic("add", ins.size, read(ins.base, R1), ins.off, read(ins.src, R2));
        break;
      case "jmp": {
        const x = read(ins.a, R1);
        if (isVReg(ins.b)) a.jmp(ins.cond, ins.width, x, read(ins.b, R2), ins.target);
        else if (immFits(ins.b.imm)) a.jmp(ins.cond, ins.width, x, Number(ins.b.imm), ins.target);
        else {
          a.lddw(R2, ins.b.imm);
          a.jmp(ins.cond, ins.width, x, R2, ins.target);
        }
        break;
      }
      case "ja":
        a.ja(ins.target);
        break;
      case "call": {
        ins.args.forEach((arg: Arg, i) => {
          const r = ARG_REGS[i]!;
          if (isVReg(arg)) {
            const h = home(arg);
            if ("reg" in h) a.alu("mov", 64, r, h.reg);
            else a.ldx("DW", r, R10, h.slot);
          } else if ("imm" in arg) movImm(r, arg.imm);
          else if ("fp" in arg) {
            a.alu("mov", 64, r, R10);
            a.alu("add", 64, r, arg.fp);
          } else if ("map" in arg) a.ldMapFd(r, arg.map);
          else throw new Error("internal: ctx argument must be a register");
        });
        a.call(ins.helper);
        if (ins.ret !== undefined) {
          const h = home(ins.ret);
          if ("reg" in h) a.alu("mov", 64, h.reg, R0);
          else a.stx("DW", R10, h.slot, R0);
        }
        break;
      }
      case "exit":
        a.alu("mov", 64, R0, 0);
        a.exit();
        break;
    }
  }
  return { insns: a.assemble(), frameSize, spills };
}

export type { Size };
