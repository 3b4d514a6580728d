// Builds the target programs the conformance cases name (./testprogs/X, ./testlibs/libX.so)
// from conformance/testprogs/*.c and conformance/testlibs/*.c with gcc, into a cache directory
// keyed by a hash of the sources, this file and the compiler version: an unchanged tree is not
// rebuilt. Built like bpftrace's own test programs: -g -O0 with frame pointers, not PIE (uaddr()
// reads globals at their link-time addresses). USDT programs need <sys/sdt.h>
// (systemtap-sdt-dev); without it they are left out and the cases that name them are skipped.
//
// Standalone: node conformance/build-testprogs.mjs [OUT_DIR]  (prints the directory)
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const PROG_SRC = join(here, "testprogs");
const LIB_SRC = join(here, "testlibs");

const BASE_FLAGS = ["-g", "-O0", "-fno-omit-frame-pointer", "-Wall", "-Wno-unused-function"];
const X86_FLAGS = ["-mno-omit-leaf-frame-pointer"];

/** Programs that include <sys/sdt.h>. */
const USDT = new Set([
  "usdt_test",
  "usdt_semaphore_test",
  "usdt_multiple_locations",
  "usdt_inlined",
  "usdt_quoted_probe",
  "usdt_sized_args",
  "usdt_args",
  "usdt_lib",
  "two_usdt_semaphore_tests",
]);
const USDT_LIBS = new Set(["usdt_tp"]);

/** Per-program extras. */
const EXTRA = {
  // Register, memory and indexed operands only appear with optimisation.
  usdt_args: { flags: ["-O1"] },
  usdt_lib: { flags: [`-I${LIB_SRC}`], libs: ["-L../testlibs", "-lusdt_tp", "-Wl,-rpath,$ORIGIN/../testlibs"], after: ["usdt_tp"] },
};

export function defaultCacheRoot() {
  return process.env["BPFTS_CONFORMANCE_CACHE"] ?? join(tmpdir(), `bpfts-conformance-${process.getuid?.() ?? 0}`);
}

function sources(dir) {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".c")).sort() : [];
}

function gccVersion() {
  try {
    return execFileSync("gcc", ["--version"], { encoding: "utf8" }).split("\n")[0];
  } catch {
    return undefined;
  }
}

function run(cmd, args, cwd) {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", (e) => resolvePromise({ ok: false, out: String(e) }));
    child.on("close", (code) => resolvePromise({ ok: code === 0, out }));
  });
}

async function pool(items, limit, fn) {
  const queue = [...items];
  const workers = Array.from({ length: Math.max(1, Math.min(limit, queue.length)) }, async () => {
    while (queue.length > 0) await fn(queue.shift());
  });
  await Promise.all(workers);
}

/**
 * Builds (or reuses) the test programs.
 * @returns {Promise<{ dir: string, built: string[], missing: Record<string, string>, reused: boolean }>}
 *   dir holds testprogs/ and testlibs/; missing maps a program name to why it is absent.
 */
export async function buildTestprogs(cacheRoot = defaultCacheRoot()) {
  const gcc = gccVersion();
  const progs = sources(PROG_SRC);
  const libs = sources(LIB_SRC);
  const hash = createHash("sha256");
  hash.update(readFileSync(fileURLToPath(import.meta.url)));
  hash.update(gcc ?? "no gcc");
  hash.update(process.arch);
  for (const [dir, files] of [[PROG_SRC, progs], [LIB_SRC, [...libs, ...readdirSync(LIB_SRC).filter((f) => f.endsWith(".h"))]]]) {
    for (const f of files) {
      hash.update(f);
      hash.update(readFileSync(join(dir, f)));
    }
  }
  const key = hash.digest("hex").slice(0, 16);
  const dir = join(resolve(cacheRoot), `build-${key}`);
  const manifestPath = join(dir, "manifest.json");
  if (existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
    return { dir, built: manifest.built, missing: manifest.missing, reused: true };
  }

  /** @type {Record<string, string>} */
  const missing = {};
  /** @type {string[]} */
  const built = [];
  if (gcc === undefined) {
    for (const f of [...progs, ...libs]) missing[basename(f, ".c")] = "gcc is not installed";
    return { dir: "", built, missing, reused: false };
  }

  mkdirSync(cacheRoot, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, "testprogs"), { recursive: true });
  mkdirSync(join(tmp, "testlibs"), { recursive: true });

  // <sys/sdt.h> available?
  const probe = join(tmp, "sdt-check.c");
  writeFileSync(probe, "#include <sys/sdt.h>\nint main(void) { DTRACE_PROBE(conformance, check); return 0; }\n");
  const sdt = await run("gcc", ["-c", "-o", "/dev/null", probe], tmp);
  rmSync(probe);
  const noSdt = "no <sys/sdt.h> (install systemtap-sdt-dev)";

  const archFlags = process.arch === "x64" ? X86_FLAGS : [];
  const jobs = Math.max(1, cpus().length);

  await pool(libs, jobs, async (f) => {
    const name = basename(f, ".c");
    if (USDT_LIBS.has(name) && !sdt.ok) {
      missing[`lib${name}.so`] = noSdt;
      return;
    }
    const out = join(tmp, "testlibs", `lib${name}.so`);
    const r = await run("gcc", [...BASE_FLAGS, ...archFlags, "-fPIC", "-shared", "-o", out, join(LIB_SRC, f)], tmp);
    if (!r.ok) {
      missing[`lib${name}.so`] = `gcc failed: ${r.out.trim().split("\n").slice(0, 3).join(" | ")}`;
      return;
    }
    // Like bpftrace's testlibs: not executable, so tracing must not depend on the mode.
    chmodSync(out, 0o644);
    built.push(`testlibs/lib${name}.so`);
  });

  await pool(progs, jobs, async (f) => {
    const name = basename(f, ".c");
    if (USDT.has(name) && !sdt.ok) {
      missing[name] = noSdt;
      return;
    }
    const extra = EXTRA[name] ?? {};
    for (const dep of extra.after ?? []) {
      if (missing[`lib${dep}.so`] !== undefined) {
        missing[name] = `needs lib${dep}.so: ${missing[`lib${dep}.so`]}`;
        return;
      }
    }
    const args = [...BASE_FLAGS, ...archFlags, ...(extra.flags ?? []), "-no-pie", "-o", name, join(PROG_SRC, f), ...(extra.libs ?? [])];
    const r = await run("gcc", args, join(tmp, "testprogs"));
    if (!r.ok) {
      missing[name] = `gcc failed: ${r.out.trim().split("\n").slice(0, 3).join(" | ")}`;
      return;
    }
    built.push(`testprogs/${name}`);
  });

  built.sort();
  // A partial build (say, before systemtap-sdt-dev was installed) is used but not kept: the
  // next run builds again.
  if (Object.keys(missing).length === 0) writeFileSync(join(tmp, "manifest.json"), JSON.stringify({ gcc, built, missing }, null, 2) + "\n");
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { dir, built, missing, reused: false };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await buildTestprogs(process.argv[2] ?? defaultCacheRoot());
  for (const [name, why] of Object.entries(r.missing)) process.stderr.write(`not built: ${name}: ${why}\n`);
  process.stdout.write(`${r.dir}\n`);
}
