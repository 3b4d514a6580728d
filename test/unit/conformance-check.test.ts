// `bpfts --check` over every PROG of bpftrace's own runtime tests: each is accepted, or rejected
// with a diagnostic that names the unsupported feature (or the error bpftrace itself expects).
import { describe, expect, test } from "vitest";
import { analyze } from "../../compiler/index.js";
import { conformanceAvailable, loadConformance } from "../support/conformance.js";
import { inCI } from "../support/kernel.js";

/** Messages that name a feature bpfts does not offer. */
const UNSUPPORTED = /not supported/;

describe.runIf(conformanceAvailable() || inCI)("conformance PROGs under --check", () => {
  const cases = loadConformance().filter((c) => c.prog !== undefined);

  test("the suite is there", () => {
    expect(cases.length).toBeGreaterThan(200);
  });

  let accepted = 0;
  let rejected = 0;
  for (const c of cases) {
    test(`${c.suite}: ${c.name}`, () => {
      // A missing tracepoint is only known where tracefs is readable; keep the result stable.
      const r = analyze(c.prog!, { file: "stdin", params: [], childCommand: true, tracepointFormat: () => ({ unreadable: "not consulted" }) });
      expect(r.diagnostics.every((d) => d.line >= 1 && d.column >= 1)).toBe(true);
      if (r.ok) {
        accepted++;
        return;
      }
      rejected++;
      const errors = r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
      const named = errors.some((m) => UNSUPPORTED.test(m));
      // bpftrace rejects these too: the case expects a failure.
      const expectedFailure = c.willFail;
      if (!named && !expectedFailure) throw new Error(`rejected without naming an unsupported feature:\n${c.prog}\n${errors.join("\n")}`);
    });
  }

  test("counts", () => {
    process.stdout.write(`conformance PROGs under --check: ${accepted} accepted, ${rejected} rejected (of ${cases.length})\n`);
    expect(accepted + rejected).toBe(cases.length);
    expect(accepted).toBeGreaterThan(100);
  });
});
