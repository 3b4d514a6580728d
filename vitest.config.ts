import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", "./test/support/count-reporter.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Kernel tests share global kernel state (uprobes, tracefs); run files one after another.
    fileParallelism: false,
    pool: "forks",
  },
});
