// Loads a compiled script's programs into the kernel (maps created, relocations patched) and
// closes everything again: for tests that check the verifier accepts generated code, and that
// BEGIN programs compute what the language says.
import { disassembleProgram } from "../../compiler/compile.js";
import { MAP_TYPE, type CompiledScript } from "../../compiler/program.js";
import { native } from "../../runtime/native.js";

export interface LoadFailure {
  probe: string;
  message: string;
  log: string;
  disassembly: string;
}

interface Loaded {
  mapFds: number[];
  progFds: Array<number | undefined>;
  failures: LoadFailure[];
}

function withLoaded<T>(script: CompiledScript, fn: (l: Loaded) => T): T {
  const n = native();
  const fds: number[] = [];
  try {
    const mapFds = script.maps.map((m) => {
      const fd = n.mapCreate({ type: MAP_TYPE[m.kind] as never, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries });
      fds.push(fd);
      return fd;
    });
    const failures: LoadFailure[] = [];
    const progFds = script.programs.map((p) => {
      const insns = new Uint8Array(p.bytecode);
      const view = new DataView(insns.buffer);
      for (const r of p.mapRelocations) view.setInt32(r.slot * 8 + 4, mapFds[r.map]!, true);
      try {
        const { fd } = n.progLoad({ type: p.progType as never, insns, license: "GPL" });
        fds.push(fd);
        return fd;
      } catch (e) {
        const err = e as Error & { log?: string };
        failures.push({ probe: p.probeName, message: err.message, log: err.log ?? "", disassembly: disassembleProgram(script, p) });
        return undefined;
      }
    });
    return fn({ mapFds, progFds, failures });
  } finally {
    for (const fd of fds.reverse()) n.close(fd);
  }
}

/** Loads every program; returns the failures (empty when the verifier accepted all). */
export function loadAll(script: CompiledScript): LoadFailure[] {
  return withLoaded(script, (l) => l.failures);
}

/** Runs the BEGIN program once and returns the ring buffer records it produced. */
export function runBegin(script: CompiledScript): Uint8Array[] {
  return withLoaded(script, (l) => {
    if (l.failures.length > 0) throw new Error(`verifier rejected ${l.failures[0]!.probe}: ${l.failures[0]!.log.slice(-2000)}`);
    const i = script.programs.findIndex((p) => p.target.type === "BEGIN");
    const n = native();
    const records: Uint8Array[] = [];
    const rb = n.ringbufOpen(l.mapFds[0]!, (rs) => records.push(...rs.map((r) => new Uint8Array(r))));
    try {
      n.progTestRun(l.progFds[i]!, {});
      rb.poll();
    } finally {
      rb.close();
    }
    return records;
  });
}
