// The code generator's intermediate form: BPF instructions over unlimited virtual registers.
// compiler/codegen/regalloc.ts maps them onto r6-r9 (the registers that survive helper calls)
// and stack slots, and lowers the result to real instructions.
import type { AluOp, JmpOp, Size } from "../asm/index.js";

/** A virtual register. */
export type VReg = number & { readonly __vreg?: unique symbol };

/** The frame pointer (r10) as a base address. */
export const FP = "fp" as const;
export type Base = VReg | typeof FP;

/** A call argument: a register, a constant, a stack address, a map's fd, or the context. */
export type Arg = VReg | { imm: bigint } | { fp: number } | { map: number } | { ctx: true };

export type IR =
  | { op: "alu"; alu: AluOp; width: 32 | 64; dst: VReg; src: VReg | { imm: bigint } }
  | { op: "neg"; dst: VReg }
  /** dst = the address of map `map`'s value + off (array maps only: no helper call). */
  | { op: "mapvalue"; dst: VReg; map: number; off: number }
  /** dst = r10 + off */
  | { op: "fpaddr"; dst: VReg; off: number }
  | { op: "ldx"; size: Size; dst: VReg; base: Base; off: number }
  | { op: "stx"; size: Size; base: Base; off: number; src: VReg }
  | { op: "st"; size: Size; base: Base; off: number; imm: number }
  | { op: "xadd"; size: "W" | "DW"; base: VReg; off: number; src: VReg }
  | { op: "jmp"; cond: JmpOp; width: 32 | 64; a: VReg; b: VReg | { imm: bigint }; target: string }
  | { op: "ja"; target: string }
  | { op: "label"; name: string }
  | { op: "call"; helper: number; args: Arg[]; ret?: VReg }
  /** Ends the program, returning 0. */
  | { op: "exit" }
  /** At entry: dst = the context pointer (r1). */
  | { op: "ctx"; dst: VReg };

export function isVReg(x: unknown): x is VReg {
  return typeof x === "number";
}

/** Registers an instruction reads and writes. */
export function usesDefs(i: IR): { uses: VReg[]; defs: VReg[] } {
  const uses: VReg[] = [];
  const defs: VReg[] = [];
  const use = (x: unknown) => {
    if (isVReg(x)) uses.push(x);
  };
  switch (i.op) {
    case "alu":
      if (i.alu !== "mov") use(i.dst);
      use(i.src);
      defs.push(i.dst);
      break;
    case "neg":
      use(i.dst);
      defs.push(i.dst);
      break;
    case "mapvalue":
    case "fpaddr":
    case "ctx":
      defs.push(i.dst);
      break;
    case "ldx":
      use(i.base);
      defs.push(i.dst);
      break;
    case "stx":
      use(i.base);
      use(i.src);
      break;
    case "st":
      use(i.base);
      break;
    case "xadd":
      use(i.base);
      use(i.src);
      break;
    case "jmp":
      use(i.a);
      use(i.b);
      break;
    case "call":
      for (const a of i.args) use(a);
      if (i.ret !== undefined) defs.push(i.ret);
      break;
    default:
      break;
  }
  return { uses, defs };
}

/**
 * Removes code no path reaches (the verifier rejects unreachable instructions), found by walking
 * the control flow from the entry, and jumps to the very next instruction.
 */
export function removeDeadCode(code: IR[]): IR[] {
  let out = code;
  for (let changed = true; changed; ) {
    const labels = new Map<string, number>();
    out.forEach((i, k) => {
      if (i.op === "label") labels.set(i.name, k);
    });
    const reached = new Array<boolean>(out.length).fill(false);
    const work = [0];
    while (work.length > 0) {
      const k = work.pop()!;
      if (k >= out.length || reached[k]) continue;
      reached[k] = true;
      const i = out[k]!;
      if (i.op === "jmp" || i.op === "ja") work.push(labels.get(i.target)!);
      if (i.op !== "exit" && i.op !== "ja") work.push(k + 1);
    }
    const next: IR[] = [];
    out.forEach((i, k) => {
      if (!reached[k]) return;
      if (i.op === "ja") {
        // A jump to the label right after it (past other labels) does nothing.
        let j = k + 1;
        while (j < out.length && out[j]!.op === "label") {
          if ((out[j] as { name: string }).name === i.target) return;
          j++;
        }
      }
      next.push(i);
    });
    changed = next.length !== out.length;
    out = next;
  }
  return out;
}

/**
 * Removes instructions whose only effect is a register nobody reads (moves, arithmetic, loads
 * of the context or of map value addresses), until none is left.
 */
export function removeDeadDefs(code: IR[]): IR[] {
  let out = code;
  for (;;) {
    const used = new Set<VReg>();
    for (const i of out) for (const u of usesDefs(i).uses) used.add(u);
    const next = out.filter((i) => {
      const pure = i.op === "alu" || i.op === "neg" || i.op === "ctx" || i.op === "mapvalue" || i.op === "fpaddr";
      return !pure || used.has((i as { dst: VReg }).dst);
    });
    if (next.length === out.length) return out;
    out = next;
  }
}
