// The instruction model: registers, the opcode tables and the `Insn` union.
//
// Encoding facts follow the BPF ISA (kernel Documentation/bpf/standardization/instruction-set.rst).
// An 8-byte slot is: opcode (u8), dst_reg (low nibble) | src_reg (high nibble) (u8), offset (s16),
// imm (s32), little-endian. The opcode is class (low 3 bits) | source or size bits | op or mode bits.
// Each op table below holds the opcode bits and the bpftool spelling side by side: codec.ts reads
// them to encode, decode and print, so one table drives all three.

export const REGS = ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10"] as const;
/** A register. r10 is the read-only frame pointer. */
export type Reg = (typeof REGS)[number];
export const [R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10] = REGS;

/** Instruction classes (low 3 bits of the opcode). */
export const Class = { LD: 0x00, LDX: 0x01, ST: 0x02, STX: 0x03, ALU: 0x04, JMP: 0x05, JMP32: 0x06, ALU64: 0x07 } as const;
/** Source bit of ALU and JMP opcodes: K uses imm, X uses src_reg. */
export const Src = { K: 0x00, X: 0x08 } as const;
/** Mode bits of load and store opcodes. */
export const Mode = { IMM: 0x00, MEM: 0x60, ATOMIC: 0xc0 } as const;
/** `src_reg` values that make an `lddw` a pseudo load the kernel rewrites. */
export const PSEUDO_MAP_FD = 1;
export const PSEUDO_MAP_VALUE = 2;
/** Set in an atomic instruction's imm: the old value is returned in src_reg (r0 for cmpxchg). */
export const FETCH = 0x01;

/** ALU operations with two operands. `off` distinguishes the signed (cpu v4) divisions. */
export const ALU_OPS = {
  add: { code: 0x00, off: 0, sym: "+=" },
  sub: { code: 0x10, off: 0, sym: "-=" },
  mul: { code: 0x20, off: 0, sym: "*=" },
  div: { code: 0x30, off: 0, sym: "/=" },
  or: { code: 0x40, off: 0, sym: "|=" },
  and: { code: 0x50, off: 0, sym: "&=" },
  lsh: { code: 0x60, off: 0, sym: "<<=" },
  rsh: { code: 0x70, off: 0, sym: ">>=" },
  mod: { code: 0x90, off: 0, sym: "%=" },
  xor: { code: 0xa0, off: 0, sym: "^=" },
  mov: { code: 0xb0, off: 0, sym: "=" },
  arsh: { code: 0xc0, off: 0, sym: "s>>=" },
  sdiv: { code: 0x30, off: 1, sym: "s/=" },
  smod: { code: 0x90, off: 1, sym: "s%=" },
} as const;
export type AluOp = keyof typeof ALU_OPS;
export const NEG = 0x80;
export const END = 0xd0;

/** Byte-order conversions: `le`/`be` are ALU-class END with source bit K/X; `bswap` (cpu v4) is ALU64-class END. */
export const END_ORDERS = {
  le: { cls: Class.ALU, src: Src.K },
  be: { cls: Class.ALU, src: Src.X },
  bswap: { cls: Class.ALU64, src: Src.K },
} as const;
export type EndOrder = keyof typeof END_ORDERS;

/** Conditional jumps. */
export const JMP_OPS = {
  jeq: { code: 0x10, sym: "==" },
  jgt: { code: 0x20, sym: ">" },
  jge: { code: 0x30, sym: ">=" },
  jset: { code: 0x40, sym: "&" },
  jne: { code: 0x50, sym: "!=" },
  jsgt: { code: 0x60, sym: "s>" },
  jsge: { code: 0x70, sym: "s>=" },
  jlt: { code: 0xa0, sym: "<" },
  jle: { code: 0xb0, sym: "<=" },
  jslt: { code: 0xc0, sym: "s<" },
  jsle: { code: 0xd0, sym: "s<=" },
} as const;
export type JmpOp = keyof typeof JMP_OPS;
export const JA = 0x00;
export const CALL = 0x80;
export const EXIT = 0x90;

/** Memory access sizes. */
export const SIZES = {
  W: { code: 0x00, type: "u32" },
  H: { code: 0x08, type: "u16" },
  B: { code: 0x10, type: "u8" },
  DW: { code: 0x18, type: "u64" },
} as const;
export type Size = keyof typeof SIZES;
/** Atomic instructions exist for 32 and 64 bits only. */
export type AtomicSize = "W" | "DW";

/** Atomic operations, carried in imm. `xchg` and `cmpxchg` always fetch. */
export const ATOMIC_OPS = {
  add: { code: 0x00, sym: "+=" },
  or: { code: 0x40, sym: "|=" },
  and: { code: 0x50, sym: "&=" },
  xor: { code: 0xa0, sym: "^=" },
  xchg: { code: 0xe0, sym: "" },
  cmpxchg: { code: 0xf0, sym: "" },
} as const;
export type AtomicOp = keyof typeof ATOMIC_OPS;

export type Width = 32 | 64;

/**
 * One BPF instruction. `src: Reg | number` is a register (X form) or an immediate (K form).
 * Immediates are canonically signed 32-bit (decode returns them so); encode also accepts the
 * unsigned spelling of the same bits. `off` fields are signed 16-bit slot counts or byte offsets.
 */
export type Insn =
  | { kind: "alu"; width: Width; op: AluOp; dst: Reg; src: Reg | number }
  | { kind: "neg"; width: Width; dst: Reg }
  | { kind: "end"; order: EndOrder; bits: 16 | 32 | 64; dst: Reg }
  | { kind: "jmp"; width: Width; op: JmpOp; dst: Reg; src: Reg | number; off: number }
  | { kind: "ja"; off: number }
  | { kind: "call"; helper: number }
  | { kind: "exit" }
  /** 64-bit immediate load (two slots). Canonically signed; encode accepts the unsigned spelling. */
  | { kind: "lddw"; dst: Reg; imm: bigint }
  /** `lddw` with src=BPF_PSEUDO_MAP_FD: the kernel replaces the fd with the map's address. */
  | { kind: "ld_map_fd"; dst: Reg; fd: number }
  /** `lddw` with src=BPF_PSEUDO_MAP_VALUE: address of byte `off` of an array map's first value. */
  | { kind: "ld_map_value"; dst: Reg; fd: number; off: number }
  | { kind: "ldx"; size: Size; dst: Reg; src: Reg; off: number }
  | { kind: "st"; size: Size; dst: Reg; off: number; imm: number }
  | { kind: "stx"; size: Size; dst: Reg; src: Reg; off: number }
  | { kind: "atomic"; op: AtomicOp; fetch: boolean; size: AtomicSize; dst: Reg; src: Reg; off: number };

export type InsnKind = Insn["kind"];
export type InsnOf<K extends InsnKind> = Extract<Insn, { kind: K }>;
