// Keeps dist/ current for tests that spawn the CLI: tsc's output (dist/runtime/cli.js) and the
// bundled bin (scripts/bundle.mjs), each rebuilt only when older than a source it comes from.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI = join(ROOT, "dist", "runtime", "cli.js");

/** The newest modification time of the TypeScript sources and the given files (relative to ROOT). */
export function newestSource(files: readonly string[] = ["tsconfig.json", "index.ts"]): number {
  let newest = Math.max(...files.map((f) => statSync(join(ROOT, f)).mtimeMs));
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(join(ROOT, "compiler"));
  walk(join(ROOT, "runtime"));
  return newest;
}

/** Builds dist/ with tsc when the CLI is missing or older than the sources. */
export function ensureBuilt(): void {
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newestSource()) return;
  const tsc = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  // Type errors elsewhere do not stop tsc from emitting; only a missing output is fatal.
  if (!existsSync(CLI) || !existsSync(join(ROOT, "dist", "compiler", "dump.js"))) {
    throw new Error(`building dist/ failed:\n${tsc.stdout}${tsc.stderr}`);
  }
}

/** Rebuilds the bundle and its launcher (not tsc) when missing or older than a source. */
export function ensureBundle(outputs: readonly string[]): void {
  const newest = newestSource(["scripts/bundle.mjs", "scripts/launcher.cjs", "package.json"]);
  if (outputs.every((f) => existsSync(f) && statSync(f).mtimeMs >= newest)) return;
  const r = spawnSync(process.execPath, [join(ROOT, "scripts", "bundle.mjs")], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`scripts/bundle.mjs failed:\n${r.stdout}${r.stderr}`);
}
