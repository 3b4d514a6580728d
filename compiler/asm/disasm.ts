// bpftool `prog dump xlated` style listing: `N: (code) text`, N counting 8-byte slots.

import { formOf, slotCount, type TextOptions } from "./forms.js";
import { toSlots } from "./codec.js";
import type { Insn } from "./insn.js";

export type DisasmOptions = TextOptions;

/** One instruction in bpftool syntax, without the `N: (code) ` prefix: `r1 += r2`. */
export function formatInsn(insn: Insn, opts: DisasmOptions = {}): string {
  return formOf(insn).text(insn, opts);
}

/** The listing, one line per instruction, e.g. `3: (85) call bpf_map_lookup_elem#1`. */
export function disassemble(insns: readonly Insn[], opts: DisasmOptions = {}): string {
  let slot = 0;
  return insns
    .map((insn) => {
      const code = toSlots(insn)[0]!.code.toString(16).padStart(2, "0");
      const line = `${slot}: (${code}) ${formatInsn(insn, opts)}`;
      slot += slotCount(insn);
      return line;
    })
    .join("\n");
}
