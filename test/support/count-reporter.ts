// Prints the closing line CI reads: "N passed, M failed, K skipped".
// A test file that fails to load, a failing suite hook and an unhandled error each count as a
// failure, so a broken
// suite can never look green.
import type { Reporter, TestModule, SerializedError } from "vitest/node";

export default class CountReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<SerializedError>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of modules) {
      let tests = 0;
      for (const test of mod.children.allTests()) {
        tests++;
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
      // A failing beforeAll/afterAll hook marks its suite's tests skipped: count the hook's error.
      for (const suite of mod.children.allSuites()) if (suite.errors().length > 0) failed++;
      // A module that could not be collected (syntax error, failed import) has errors of its own.
      if (mod.errors().length > 0 || (tests === 0 && mod.state() === "failed")) failed++;
    }
    failed += unhandled.length;
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
