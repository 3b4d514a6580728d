// The code generator's output for the bench's programs (bench/run.mjs), instruction by
// instruction, and the lowering's clean-ups (compiler/codegen/peephole.ts) on small inputs.
// Whether the kernel accepts the code, and what it computes, is tested in test/kernel/codegen-*.
import { expect, test } from "vitest";
import { disassemble, type Insn } from "../../compiler/asm/index.js";
import { compile } from "../../compiler/compile.js";
import { lower } from "../../compiler/codegen/regalloc.js";
import { coldEnd, coldLabel, type Item, optimize } from "../../compiler/codegen/peephole.js";
import type { IR, VReg } from "../../compiler/codegen/ir.js";
import { parseTracepointFormat } from "../../compiler/probes/tracepoint-format.js";
import { RAW_ENTER_FORMAT } from "../support/formats.js";


/** The listing of the one program of `tracepoint:raw_syscalls:sys_enter { BODY }`. */
function listing(body: string): string[] {
  const r = compile(`tracepoint:raw_syscalls:sys_enter { ${body} }`, {
    tracepointFormat: () => ({ found: parseTracepointFormat(RAW_ENTER_FORMAT) }),
  });
  if (r.script === undefined) throw new Error(r.formatted ?? "compile failed");
  const p = r.script.programs[0]!;
  return disassemble(p.insns, { mapName: (fd) => r.script!.maps[fd]!.name })
    .split("\n")
    .map((l) => l.replace(/^\d+: \([0-9a-f]{2}\) /, ""));
}

// A missing key is inserted with the value 1 (map update), and a failed update is counted in
// .counters: its increment is the same `r1 = 1; lock += r1` as the present key's, shared.
const INSERT_AND_COUNT = (valueSlot: number, keySlot: number) => [
  `*(u64 *)(r10 ${valueSlot}) = 1`,
  "r1 = map[@]",
  "r2 = r10",
  `r2 += ${keySlot}`,
  "r3 = r10",
  `r3 += ${valueSlot}`,
  "r4 = 0",
  "call bpf_map_update_elem#2",
  "if r0 s>= 0x0 goto pc+4",
  "r0 = map[.counters][0]+8",
  "r1 = 1",
  "lock *(u64 *)(r0 +0) += r1",
  "r0 = 0",
  "exit",
];

test("@ = count(): one per-CPU array element, incremented in place", () => {
  expect(listing("@ = count();")).toEqual([
    "*(u32 *)(r10 -8) = 0",
    "r1 = map[@]",
    "r2 = r10",
    "r2 += -8",
    "call bpf_map_lookup_elem#1",
    "if r0 != 0x0 goto pc+12",
    ...INSERT_AND_COUNT(-16, -8),
  ]);
});

test("@[comm] = count(): the key is written by the helper, the lookup result stays in r0", () => {
  expect(listing("@[comm] = count();")).toEqual([
    "r1 = r10",
    "r1 += -16",
    "r2 = 16",
    "call bpf_get_current_comm#16",
    "r1 = map[@]",
    "r2 = r10",
    "r2 += -16",
    "call bpf_map_lookup_elem#1",
    "if r0 != 0x0 goto pc+12",
    ...INSERT_AND_COUNT(-24, -16),
  ]);
});

test("@ = lhist(args->id, 0, 100, 10): the bucket goes straight to the key, computed in place", () => {
  expect(listing("@ = lhist(args->id, 0, 100, 10);").slice(0, 12)).toEqual([
    "r0 = *(u64 *)(r1 +8)",
    "*(u64 *)(r10 -8) = 0",
    "if r0 s< 0x0 goto pc+5",
    "*(u64 *)(r10 -8) = 11",
    "if r0 s> 0x64 goto pc+3",
    "r0 /= 10",
    "r0 += 1",
    "*(u64 *)(r10 -8) = r0",
    "r1 = map[@]",
    "r2 = r10",
    "r2 += -8",
    "call bpf_map_lookup_elem#1",
  ]);
  // min > 0: (v - min) / step + 1 as (v + step - min) / step.
  expect(listing("@ = lhist(args->id, 30, 100, 10);").slice(0, 8)).toEqual([
    "r0 = *(u64 *)(r1 +8)",
    "*(u64 *)(r10 -8) = 0",
    "if r0 s< 0x1e goto pc+5",
    "*(u64 *)(r10 -8) = 8",
    "if r0 s> 0x64 goto pc+3",
    "r0 += -20",
    "r0 /= 10",
    "*(u64 *)(r10 -8) = r0",
  ]);
});

test("@ = hist(args->id): no copies of the context or of helper results", () => {
  const l = listing("@ = hist(args->id);");
  expect(l[0]).toBe("r0 = *(u64 *)(r1 +8)");
  expect(l.filter((x) => /^r\d = r\d$/.test(x))).toEqual([]);
  expect(l.length).toBeLessThanOrEqual(41);
});

test("an aggregation inside a loop inserts out of line, so the loop runs straight on", () => {
  const l = listing("$i = 0; while ($i < 10) { @[$i] = count(); $i++; }");
  const lookup = l.indexOf("call bpf_map_lookup_elem#1");
  expect(l[lookup + 1]).toMatch(/^if r0 == 0x0 goto pc\+\d+$/);
  expect(l.slice(lookup + 2, lookup + 4)).toEqual(["r1 = 1", "lock *(u64 *)(r0 +0) += r1"]);
});

// ---- peephole ---------------------------------------------------------------------------------

const mov = (dst: "r0" | "r1", src: number): Item => ({ insn: { kind: "alu", op: "mov", width: 64, dst, src } });
const jmp = (op: "jeq" | "jne", target: string): Item => ({ insn: { kind: "jmp", op, width: 64, dst: "r0", src: 0, off: 0 }, target });
const ja = (target: string): Item => ({ insn: { kind: "ja", off: 0 }, target });
const call = (helper: number): Item => ({ insn: { kind: "call", helper } });
const exit: Item = { insn: { kind: "exit" } };
const label = (name: string): Item => ({ label: name });

/** Items as text: labels as `L:`, jumps with their target. */
function text(items: Item[]): string[] {
  return items.map((i) => ("label" in i ? `${i.label}:` : `${i.insn.kind}${"op" in i.insn ? ` ${i.insn.op}` : ""}${"dst" in i.insn ? ` ${i.insn.dst}` : ""}${i.target ? ` -> ${i.target}` : ""}`));
}

test("peephole: cross-jumping shares a tail, then a jump over a jump is inverted", () => {
  const out = optimize([
    call(1),
    jmp("jeq", "missing"),
    mov("r1", 1),
    ja("done"),
    label("missing"),
    call(2),
    mov("r0", 7),
    mov("r1", 1),
    label("done"),
    exit,
  ]);
  expect(text(out)).toEqual(["call", "jmp jne r0 -> xj0", "missing:", "call", "alu mov r0", "xj0:", "alu mov r1", "done:", "exit"]);
});

test("peephole: cold code moves to the end, its trailing labels stay where it ended", () => {
  const cold = coldLabel(1);
  const out = optimize([call(1), jmp("jeq", cold), mov("r1", 1), ja(coldEnd(cold)), label(cold), call(2), label("inner"), label(coldEnd(cold)), mov("r0", 0), exit]);
  expect(text(out)).toEqual(["call", "jmp jeq r0 -> cold:1", "alu mov r1", "inner:", "cold:1:end:", "alu mov r0", "exit", "cold:1:", "call", "ja -> cold:1:end"]);
});

test("peephole: jumps to jumps are threaded, and code nothing reaches goes", () => {
  const out = optimize([jmp("jeq", "a"), mov("r0", 1), exit, label("a"), ja("b"), mov("r1", 2), label("b"), mov("r0", 0), exit]);
  // `mov r1, 2` is unreachable; then `goto b` goes to the next instruction.
  expect(text(out)).toEqual(["jmp jeq r0 -> a", "alu mov r0", "exit", "a:", "b:", "alu mov r0", "exit"]);
  const threaded = optimize([jmp("jeq", "a"), mov("r0", 1), ja("c"), label("a"), ja("b"), label("c"), call(1), label("b"), mov("r0", 0), exit]);
  expect(text(threaded)).toEqual(["jmp jeq r0 -> b", "alu mov r0", "a:", "c:", "call", "b:", "alu mov r0", "exit"]);
});

test("peephole: two paths ending in the same instructions and exit share them", () => {
  const out = optimize([jmp("jeq", "a"), call(1), mov("r1", 3), mov("r0", 0), exit, label("a"), call(2), mov("r1", 3), mov("r0", 0), exit]);
  expect(text(out)).toEqual(["jmp jeq r0 -> a", "call", "ja -> xj0", "a:", "call", "xj0:", "alu mov r1", "alu mov r0", "exit"]);
  // Identical paths: the branch itself goes.
  const same = optimize([jmp("jeq", "a"), mov("r1", 3), mov("r0", 0), exit, label("a"), mov("r1", 3), mov("r0", 0), exit]);
  expect(text(same)).toEqual(["a:", "xj0:", "alu mov r1", "alu mov r0", "exit"]);
});

// ---- register allocation ------------------------------------------------------------------------

const V = (n: number) => n as VReg;

function lowered(code: IR[]): string[] {
  return disassemble(lower(code, 0).insns as Insn[])
    .split("\n")
    .map((l) => l.replace(/^\d+: \([0-9a-f]{2}\) /, ""));
}

test("call arguments move as a parallel move: no argument is overwritten before it is read", () => {
  // v0 is the context (r1) and goes to r2; v1 goes to r1.
  const code: IR[] = [
    { op: "ctx", dst: V(0) },
    { op: "call", helper: 5, args: [], ret: V(1) },
    { op: "call", helper: 6, args: [V(1), V(0)] },
    { op: "exit" },
  ];
  const l = lowered(code);
  // v0 lives across the first call: in r6; v1 is the first call's r0.
  expect(l).toEqual(["r6 = r1", "call bpf_ktime_get_ns#5", "r1 = r0", "r2 = r6", "call bpf_trace_printk#6", "r0 = 0", "exit"]);
});

test("a value live across a call gets a callee-saved register; a short one a caller-saved", () => {
  const code: IR[] = [
    { op: "alu", alu: "mov", width: 64, dst: V(0), src: { imm: 3n } },
    { op: "call", helper: 5, args: [], ret: V(1) },
    { op: "alu", alu: "add", width: 64, dst: V(1), src: V(0) },
    { op: "call", helper: 6, args: [{ fp: -8 }, V(1)] },
    { op: "exit" },
  ];
  expect(lowered(code)).toEqual(["r6 = 3", "call bpf_ktime_get_ns#5", "r0 += r6", "r2 = r0", "r1 = r10", "r1 += -8", "call bpf_trace_printk#6", "r0 = 0", "exit"]);
});

test("five values live across calls: one is spilled, through a scratch register", () => {
  const code: IR[] = [];
  for (let i = 0; i < 5; i++) code.push({ op: "alu", alu: "mov", width: 64, dst: V(i), src: { imm: BigInt(i + 1) } });
  code.push({ op: "call", helper: 5, args: [], ret: V(9) });
  for (let i = 0; i < 5; i++) code.push({ op: "alu", alu: "add", width: 64, dst: V(9), src: V(i) });
  code.push({ op: "call", helper: 6, args: [{ fp: -8 }, V(9)] });
  code.push({ op: "exit" });
  const { insns, spills } = lower(code, 0);
  expect(spills).toBe(1);
  const l = disassemble(insns).split("\n").map((x) => x.replace(/^\d+: \([0-9a-f]{2}\) /, ""));
  expect(l.filter((x) => x.includes("r10 -8)"))).toHaveLength(2); // the spill's store and load
});
