// Gate for tests that need the real kernel (root, BPF, tracefs).
// Outside CI a missing capability skips the test with a printed reason; under CI=true it is a
// failure, never a silent skip.
import { test } from "vitest";

export const inCI = process.env.CI === "true" || process.env.CI === "1";

/** Why kernel tests cannot run here, or undefined when they can. */
export function kernelUnavailable(): string | undefined {
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "not running as root";
  return undefined;
}

/** Like vitest's `test`, but for tests that need root and the real kernel. */
export function kernelTest(name: string, fn: () => unknown | Promise<unknown>, timeout?: number): void {
  const why = kernelUnavailable();
  if (why === undefined) {
    test(name, fn, timeout);
  } else if (inCI) {
    test(name, () => {
      throw new Error(`kernel test cannot run under CI: ${why}`);
    });
  } else {
    process.stderr.write(`skipping kernel test "${name}": ${why}\n`);
    test.skip(name, fn);
  }
}
