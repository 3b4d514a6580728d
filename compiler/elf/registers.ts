// x86-64 general-purpose registers: their place in the kernel's `struct pt_regs` (the
// context a uprobe/kprobe BPF program receives) and the sub-register names that alias them.

/**
 * Byte offset of each field of the kernel's x86-64 `struct pt_regs`
 * (arch/x86/include/asm/ptrace.h; every field is 8 bytes).
 */
export const X86_64_PT_REGS_OFFSETS = {
  r15: 0,
  r14: 8,
  r13: 16,
  r12: 24,
  rbp: 32,
  rbx: 40,
  r11: 48,
  r10: 56,
  r9: 64,
  r8: 72,
  rax: 80,
  rcx: 88,
  rdx: 96,
  rsi: 104,
  rdi: 112,
  orig_ax: 120,
  rip: 128,
  cs: 136,
  flags: 144,
  rsp: 152,
  ss: 160,
} as const;

export type PtRegsField = keyof typeof X86_64_PT_REGS_OFFSETS;

/** sizeof(struct pt_regs) on x86-64. */
export const X86_64_PT_REGS_SIZE = 168;

/** The 64-bit registers an operand can name (plus %rip). */
export type X86Reg64 =
  | "rax" | "rbx" | "rcx" | "rdx" | "rsi" | "rdi" | "rbp" | "rsp"
  | "r8" | "r9" | "r10" | "r11" | "r12" | "r13" | "r14" | "r15"
  | "rip";

/** Integer/pointer arguments of the System V x86-64 calling convention, in order (arg0..arg5). */
export const X86_64_ARG_REGISTERS = ["rdi", "rsi", "rdx", "rcx", "r8", "r9"] as const satisfies readonly X86Reg64[];

/** Register holding an integer/pointer return value (for uretprobe `retval`). */
export const X86_64_RETURN_REGISTER = "rax" satisfies X86Reg64;

/** pt_regs offset of argument `n` (0-based) of a function call; undefined past arg5 (stack-passed). */
export function ptRegsOffsetOfArg(n: number): number | undefined {
  const reg = X86_64_ARG_REGISTERS[n];
  return reg === undefined ? undefined : X86_64_PT_REGS_OFFSETS[reg];
}

/** A register as written in an operand, resolved to the 64-bit register it is part of. */
export interface X86Register {
  /** The name as written, without `%`: "eax", "r8d", "ah". */
  readonly name: string;
  /** The 64-bit register containing it: "rax". */
  readonly reg: X86Reg64;
  /** Width of the (sub-)register in bytes. */
  readonly width: 1 | 2 | 4 | 8;
  /** Bit position of the sub-register inside the 64-bit register: 8 for %ah/%bh/%ch/%dh, else 0. */
  readonly bitOffset: 0 | 8;
  /** Byte offset of the 64-bit register in struct pt_regs. */
  readonly ptRegsOffset: number;
}

function build(): Map<string, X86Register> {
  const m = new Map<string, X86Register>();
  const add = (name: string, reg: X86Reg64, width: 1 | 2 | 4 | 8, bitOffset: 0 | 8 = 0) => {
    m.set(name, Object.freeze({ name, reg, width, bitOffset, ptRegsOffset: X86_64_PT_REGS_OFFSETS[reg] }));
  };
  // The legacy eight: [64, 32, 16, low 8, high 8]
  const legacy: [X86Reg64, string, string, string, string | undefined][] = [
    ["rax", "eax", "ax", "al", "ah"],
    ["rbx", "ebx", "bx", "bl", "bh"],
    ["rcx", "ecx", "cx", "cl", "ch"],
    ["rdx", "edx", "dx", "dl", "dh"],
    ["rsi", "esi", "si", "sil", undefined],
    ["rdi", "edi", "di", "dil", undefined],
    ["rbp", "ebp", "bp", "bpl", undefined],
    ["rsp", "esp", "sp", "spl", undefined],
  ];
  for (const [r64, r32, r16, r8, r8h] of legacy) {
    add(r64, r64, 8);
    add(r32, r64, 4);
    add(r16, r64, 2);
    add(r8, r64, 1);
    if (r8h !== undefined) add(r8h, r64, 1, 8);
  }
  for (let i = 8; i <= 15; i++) {
    const r64 = `r${i}` as X86Reg64;
    add(r64, r64, 8);
    add(`r${i}d`, r64, 4);
    add(`r${i}w`, r64, 2);
    add(`r${i}b`, r64, 1);
    add(`r${i}l`, r64, 1); // Intel-style alias of r8b
  }
  add("rip", "rip", 8);
  add("eip", "rip", 4);
  return m;
}

const REGISTERS = build();

/** Looks up a register name (with or without `%`, case-insensitive); undefined if unknown. */
export function lookupX86Register(name: string): X86Register | undefined {
  const n = (name.startsWith("%") ? name.slice(1) : name).toLowerCase();
  return REGISTERS.get(n);
}
