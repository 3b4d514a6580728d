// Generated well-typed programs (test/support/gen.ts) compile and load: code the verifier
// rejects is a compiler bug.
import fc from "fast-check";
import { compile } from "../../compiler/compile.js";
import { formatDiagnostics } from "../../compiler/index.js";
import { printProgram } from "../../compiler/printer.js";
import { programArb } from "../support/gen.js";
import { kernelTest } from "../support/kernel.js";
import { loadAll } from "../support/load.js";

kernelTest("generated programs load without a verifier rejection", () => {
  fc.assert(
    fc.property(programArb(), (program) => {
      const text = printProgram(program);
      const r = compile(text);
      if (!r.script) throw new Error(`${formatDiagnostics(r.diagnostics, r.source)}\n${text}`);
      const failures = loadAll(r.script);
      if (failures.length > 0) {
        const f = failures[0]!;
        throw new Error(`verifier rejected ${f.probe}: ${f.message}\n${text}\n${f.disassembly}\n--- log (end) ---\n${f.log.slice(-2500)}`);
      }
    }),
    { numRuns: 200 },
  );
}, 300_000);
