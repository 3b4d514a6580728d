// A builder for instruction lists with symbolic jump labels and map references, resolved by
// `assemble()`. Every instruction is checked when it is added, so a field that does not fit
// throws at the call that wrote it; labels and maps, which may be defined later, at assemble().

import { canonical } from "./codec.js";
import { slotCount } from "./forms.js";
import type { Helper } from "./helpers.js";
import {
  ALU_OPS, JMP_OPS,
  type AluOp, type AtomicOp, type AtomicSize, type EndOrder, type Insn, type JmpOp, type Reg, type Size, type Width,
} from "./insn.js";

/** A map named in the program, replaced by its fd at assemble time. */
export interface MapRef {
  readonly map: string;
}

export function mapRef(name: string): MapRef {
  return { map: name };
}

export interface AssembleOptions {
  /** fd (or, for listings, id) of each map named by a `mapRef`. */
  maps?: Readonly<Record<string, number>>;
}

/** A label or map reference that cannot be resolved, or a jump that cannot reach its label. */
export class AsmError extends Error {
  override name = "AsmError";
}

interface Pending {
  insn: Insn;
  /** Label a jump goes to; its `off` is filled in by assemble(). */
  target?: string;
  /** Map whose fd a pseudo map load takes; filled in by assemble(). */
  map?: string;
}

// Shortcuts generated from the op tables, installed on the prototype below:
// add64/add32 ... arsh64/arsh32 for ALU ops, jeq/jeq32 ... jsle/jsle32 for jumps.
type AluShortcuts = { [K in AluOp as `${K}${Width}`]: (dst: Reg, src: Reg | number) => Assembler };
type JmpShortcuts = { [K in JmpOp as K | `${K}32`]: (dst: Reg, src: Reg | number, target: string) => Assembler };

// Declaration merging adds the generated shortcuts to the class's type.
export interface Assembler extends AluShortcuts, JmpShortcuts {}

export class Assembler {
  readonly #items: Pending[] = [];
  readonly #labels = new Map<string, number>();

  /** Number of instructions added so far (an lddw counts once). */
  get length(): number {
    return this.#items.length;
  }

  /** Add an instruction as is. Immediates are stored in their canonical (signed) spelling. */
  emit(insn: Insn): this {
    return this.#push({ insn });
  }

  /** Mark the position of the next instruction. */
  label(name: string): this {
    if (this.#labels.has(name)) throw new AsmError(`duplicate label "${name}"`);
    this.#labels.set(name, this.#items.length);
    return this;
  }

  alu(op: AluOp, width: Width, dst: Reg, src: Reg | number): this {
    return this.emit({ kind: "alu", op, width, dst, src });
  }

  neg64(dst: Reg): this {
    return this.emit({ kind: "neg", width: 64, dst });
  }

  neg32(dst: Reg): this {
    return this.emit({ kind: "neg", width: 32, dst });
  }

  /** `dst = be64 dst` etc.: convert to little- or big-endian, or swap unconditionally. */
  end(order: EndOrder, bits: 16 | 32 | 64, dst: Reg): this {
    return this.emit({ kind: "end", order, bits, dst });
  }

  jmp(op: JmpOp, width: Width, dst: Reg, src: Reg | number, target: string): this {
    return this.#push({ insn: { kind: "jmp", op, width, dst, src, off: 0 }, target });
  }

  ja(target: string): this {
    return this.#push({ insn: { kind: "ja", off: 0 }, target });
  }

  call(helper: Helper | number): this {
    return this.emit({ kind: "call", helper });
  }

  exit(): this {
    return this.emit({ kind: "exit" });
  }

  /** 64-bit immediate load; takes two slots. */
  lddw(dst: Reg, imm: number | bigint): this {
    return this.emit({ kind: "lddw", dst, imm: BigInt(imm) });
  }

  /** `dst = map` (BPF_PSEUDO_MAP_FD), for the map helpers' first argument. */
  ldMapFd(dst: Reg, map: MapRef | number): this {
    return typeof map === "number"
      ? this.emit({ kind: "ld_map_fd", dst, fd: map })
      : this.#push({ insn: { kind: "ld_map_fd", dst, fd: 0 }, map: map.map });
  }

  /** `dst = &value[0] + off` of an array map (BPF_PSEUDO_MAP_VALUE). */
  ldMapValue(dst: Reg, map: MapRef | number, off = 0): this {
    return typeof map === "number"
      ? this.emit({ kind: "ld_map_value", dst, fd: map, off })
      : this.#push({ insn: { kind: "ld_map_value", dst, fd: 0, off }, map: map.map });
  }

  /** `dst = *(size *)(src + off)` */
  ldx(size: Size, dst: Reg, src: Reg, off: number): this {
    return this.emit({ kind: "ldx", size, dst, src, off });
  }

  /** `*(size *)(dst + off) = imm` */
  st(size: Size, dst: Reg, off: number, imm: number): this {
    return this.emit({ kind: "st", size, dst, off, imm });
  }

  /** `*(size *)(dst + off) = src` */
  stx(size: Size, dst: Reg, off: number, src: Reg): this {
    return this.emit({ kind: "stx", size, dst, off, src });
  }

  /** `lock *(size *)(dst + off) op= src`; with fetch, src receives the old value (r0 for cmpxchg). */
  atomic(op: AtomicOp, size: AtomicSize, dst: Reg, off: number, src: Reg, fetch = op === "xchg" || op === "cmpxchg"): this {
    return this.emit({ kind: "atomic", op, fetch, size, dst, off, src });
  }

  /** Resolve labels and maps. Errors name the label or map and the slot of the instruction. */
  assemble(opts: AssembleOptions = {}): Insn[] {
    const slots: number[] = [];
    let next = 0;
    for (const { insn } of this.#items) {
      slots.push(next);
      next += slotCount(insn);
    }
    return this.#items.map(({ insn, target, map }, n) => {
      const at = slots[n]!;
      if (target !== undefined) insn = { ...insn, off: this.#offset(target, at, slots) } as Insn;
      if (map !== undefined) {
        const maps = opts.maps ?? {};
        if (!Object.hasOwn(maps, map)) throw new AsmError(`unknown map "${map}" (loaded at ${at})`);
        insn = canonical({ ...insn, fd: maps[map] } as Insn); // checks that the fd fits
      }
      return insn;
    });
  }

  #offset(label: string, from: number, slots: readonly number[]): number {
    const index = this.#labels.get(label);
    if (index === undefined) throw new AsmError(`unknown label "${label}" (jump at ${from})`);
    const to = slots[index];
    if (to === undefined) throw new AsmError(`label "${label}" is not followed by an instruction (jump at ${from})`);
    const off = to - from - 1;
    if (off < -0x8000 || off > 0x7fff) {
      throw new AsmError(`jump at ${from} to label "${label}" is out of range: offset ${off} does not fit in 16 bits`);
    }
    return off;
  }

  #push(p: Pending): this {
    this.#items.push({ ...p, insn: canonical(p.insn) });
    return this;
  }
}

const proto = Assembler.prototype as unknown as Record<string, unknown>;
for (const op of Object.keys(ALU_OPS) as AluOp[]) {
  for (const width of [32, 64] as const) {
    proto[`${op}${width}`] = function (this: Assembler, dst: Reg, src: Reg | number) {
      return this.alu(op, width, dst, src);
    };
  }
}
for (const op of Object.keys(JMP_OPS) as JmpOp[]) {
  for (const [suffix, width] of [["", 64], ["32", 32]] as const) {
    proto[`${op}${suffix}`] = function (this: Assembler, dst: Reg, src: Reg | number, target: string) {
      return this.jmp(op, width, dst, src, target);
    };
  }
}
