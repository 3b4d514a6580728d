// compiler/asm: BPF instructions — model, encoder/decoder, bpftool-style disassembler, builder.

export * from "./insn.js";
export { Helper, helperName } from "./helpers.js";
export { SLOT_SIZE, canonical, decode, encode, toSlots } from "./codec.js";
export { slotCount, type Slot } from "./forms.js";
export { disassemble, formatInsn, type DisasmOptions } from "./disasm.js";
export { AsmError, Assembler, mapRef, type AssembleOptions, type MapRef } from "./assembler.js";
