// llvm-mc as an oracle for BPF encodings. Each call is one llvm-mc process for a whole batch.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const LLVM_MC = process.env.LLVM_MC ?? "/usr/bin/llvm-mc-14";

export function checkLlvmMc(): void {
  if (!existsSync(LLVM_MC)) throw new Error(`${LLVM_MC} not found: install llvm-14 or set LLVM_MC`);
}

function runChecked(args: string[], input: string): string {
  // llvm-mc exits 0 on disassembler warnings, so look at stderr ourselves.
  checkLlvmMc();
  const r = spawnSync(LLVM_MC, ["-triple=bpfel", ...args], { input, encoding: "utf8" });
  if (r.status !== 0 || r.stderr.trim() !== "") {
    throw new Error(`llvm-mc ${args.join(" ")} failed:\n${r.stderr}`);
  }
  return r.stdout;
}

/** Assemble one instruction per line; returns the bytes of each line, in order. */
export function llvmAssemble(lines: readonly string[]): Uint8Array[] {
  const out = runChecked(["-show-encoding"], lines.join("\n") + "\n");
  const encodings = out.split("\n").filter((l) => l.includes("# encoding: ["));
  if (encodings.length !== lines.length) {
    throw new Error(`llvm-mc gave ${encodings.length} encodings for ${lines.length} lines`);
  }
  return encodings.map((l, n) => {
    const list = l.slice(l.indexOf("[") + 1, l.lastIndexOf("]")).split(",");
    // A fixup marker (0x15'A') means llvm read part of the line as a symbol: treat as a failure.
    if (!list.every((b) => /^0x[0-9a-f]{2}$/.test(b))) {
      throw new Error(`llvm-mc needed a relocation for line ${n + 1} "${lines[n]}": ${l.trim()}`);
    }
    return Uint8Array.from(list, (b) => parseInt(b, 16));
  });
}

/** Disassemble bytecode (alu32 on, so 32-bit atomics show w registers); one line per instruction. */
export function llvmDisassemble(bytes: Uint8Array): string[] {
  const hex = Array.from(bytes, (b) => `0x${b.toString(16).padStart(2, "0")}`).join(" ");
  const out = runChecked(["-disassemble", "-mattr=+alu32"], hex + "\n");
  return out
    .split("\n")
    .map((l) => l.trim().replace(/\t/g, " "))
    .filter((l) => l !== "" && l !== ".text");
}
