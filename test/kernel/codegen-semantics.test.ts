// Integer semantics in the kernel equal the language's definition (spec/types.md), which the
// checker's constant folder implements: random expressions are computed both ways.
import fc from "fast-check";
import { expect } from "vitest";
import { constantValue } from "../../compiler/check.js";
import { compile } from "../../compiler/compile.js";
import { formatDiagnostics, analyze } from "../../compiler/index.js";
import { kernelTest } from "../support/kernel.js";
import { runBegin } from "../support/load.js";

const CASTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"];
const OPS = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "==", "!=", "<", ">", "<=", ">=", "&&", "||"];

const literal = fc.oneof(
  fc.integer({ min: -300, max: 300 }).map(String),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((n) => `0x${n.toString(16)}`),
  fc.constantFrom("0", "1", "63", "64", "2147483647", "4294967295", "9223372036854775807"),
);

const expr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    literal,
    fc.tuple(fc.constantFrom(...CASTS), tie("e")).map(([c, e]) => `(${c})(${e})`),
    fc.tuple(fc.constantFrom("-", "~", "!"), tie("e")).map(([op, e]) => `${op}(${e})`),
    fc.tuple(tie("e"), fc.constantFrom(...OPS), tie("e")).map(([a, op, b]) => `(${a}) ${op} (${b})`),
    fc.tuple(tie("e"), tie("e"), tie("e")).map(([c, a, b]) => `(${c}) ? (${a}) : (${b})`),
  ),
})).e;

/** Evaluates with the constant folder (which needs the checker's types). */
function folded(e: string): bigint {
  const r = analyze(`BEGIN { $x = ${e}; }`);
  if (!r.ok) throw new Error(formatDiagnostics(r.diagnostics, r.source));
  const stmt = r.program.probes[0]!.body[0]!;
  if (stmt.kind !== "AssignStmt") throw new Error("unexpected");
  const v = constantValue(stmt.value, []);
  if (v === undefined) throw new Error(`not constant: ${e}`);
  return BigInt.asUintN(64, v);
}

kernelTest("integer expressions compute in the kernel what the language defines", () => {
  fc.assert(
    fc.property(fc.array(expr, { minLength: 1, maxLength: 8 }), (exprs) => {
      const prog = `BEGIN { ${exprs.map((e) => `printf("%lu\\n", ${e});`).join(" ")} }`;
      const r = compile(prog);
      if (!r.script) throw new Error(formatDiagnostics(r.diagnostics, r.source));
      const records = runBegin(r.script);
      expect(records.length).toBe(exprs.length);
      records.forEach((rec, i) => {
        const got = new DataView(rec.buffer, rec.byteOffset).getBigUint64(8, true);
        expect({ expr: exprs[i], value: got }).toEqual({ expr: exprs[i], value: folded(exprs[i]!) });
      });
    }),
    { numRuns: 150 },
  );
}, 120_000);
