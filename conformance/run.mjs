#!/usr/bin/env node
// bpfts conformance harness: runs bpftrace 0.17's own runtime test files
// (../shared/conformance/bpftrace-0.17) through bpfts (or bpftrace itself, --tool bpftrace) and
// reports, per suite file, what passed, failed and was skipped, ending with the line
// `conformance: N passed, M failed, K skipped`. See conformance/README.md.
//
//   node conformance/run.mjs [--tool bpfts|bpftrace|PATH] [--suite NAME]... [--case REGEX]
//                            [--json FILE] [--baseline FILE] [--attach-timeout S] [--verbose]
//
// Exit status: 0 when the run completed (failing cases are reported, not fatal), 2 when the
// harness could not run (no suite, no built CLI, bad options).
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildTestprogs } from "./build-testprogs.mjs";
import { detectKernel, hasFeature, isListing, listedKinds, probeKinds, versionAtLeast } from "./lib/kernel.mjs";
import { ATTACH_LINE, runCase, shellQuote } from "./lib/runcase.mjs";
import { loadSuite, suiteFiles } from "./lib/suite.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..");
const DEFAULT_SUITE_DIR = process.env["BPFTS_CONFORMANCE_DIR"] ?? resolve(repo, "../shared/conformance/bpftrace-0.17");

function usage(msg) {
  if (msg) process.stderr.write(`conformance: ${msg}\n`);
  process.stderr.write(
    "usage: node conformance/run.mjs [--tool bpfts|bpftrace|PATH] [--suite NAME]... [--case REGEX]\n" +
      "                                [--json FILE] [--baseline FILE] [--attach-timeout SECONDS]\n" +
      "                                [--suite-dir DIR] [--verbose]\n",
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { tool: "bpfts", suites: [], caseRe: undefined, json: undefined, baseline: undefined, attachTimeout: 10, suiteDir: DEFAULT_SUITE_DIR, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf("=");
    const [flag, inline] = a.startsWith("--") && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) usage(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case "--tool":
        opts.tool = value();
        break;
      case "--suite":
        opts.suites.push(...value().split(","));
        break;
      case "--case":
        try {
          opts.caseRe = new RegExp(value());
        } catch (e) {
          usage(`bad --case regex: ${e.message}`);
        }
        break;
      case "--json":
        opts.json = resolve(value());
        break;
      case "--baseline":
        opts.baseline = resolve(value());
        break;
      case "--attach-timeout":
        opts.attachTimeout = Number(value());
        if (!(opts.attachTimeout > 0)) usage("--attach-timeout needs a positive number of seconds");
        break;
      case "--suite-dir":
        opts.suiteDir = resolve(value());
        break;
      case "-v":
      case "--verbose":
        opts.verbose = true;
        break;
      case "-h":
      case "--help":
        usage();
        break;
      default:
        usage(`unknown option ${a}`);
    }
  }
  return opts;
}

/** The shell text for {{BPFTRACE}}, the tool's process name, and a label. */
function resolveTool(tool) {
  if (tool === "bpfts") {
    const cli = join(repo, "dist/runtime/cli.js");
    if (!existsSync(cli)) usage(`${cli} does not exist: build first (npx tsc -p tsconfig.json)`);
    return { label: "bpfts", shell: `${shellQuote(process.execPath)} ${shellQuote(cli)}`, comm: basename(process.execPath) };
  }
  let path = tool;
  if (!tool.includes("/")) {
    try {
      path = execFileSync("sh", ["-c", `command -v ${shellQuote(tool)}`], { encoding: "utf8" }).trim();
    } catch {
      usage(`${tool} is not installed (not found in PATH)`);
    }
  }
  if (!existsSync(path)) usage(`${path} does not exist`);
  return { label: basename(path), shell: shellQuote(resolve(path)), comm: basename(path) };
}

function shell(cmd, cwd, timeoutMs) {
  return new Promise((resolvePromise) => {
    execFile("/bin/sh", ["-c", cmd], { cwd, timeout: timeoutMs, env: process.env, killSignal: "SIGKILL" }, (err) => resolvePromise(!err));
  });
}

/** Why a case is skipped, or undefined to run it. */
async function skipReason(c, env) {
  const { kernel, suiteDir, build, workDir } = env;
  if (c.arch && !c.arch.includes(kernel.machine)) return `ARCH ${c.arch.join("|")} (this is ${kernel.machine})`;
  if (c.minKernel && !versionAtLeast(kernel.release, c.minKernel)) return `MIN_KERNEL ${c.minKernel}`;
  const text = c.prog ?? c.run ?? "";
  let programText = text;
  for (const m of text.matchAll(/runtime\/(scripts|outputs)\/([A-Za-z0-9_.-]+)/g)) {
    const file = join(suiteDir, m[1], m[2]);
    if (!existsSync(file)) return `runtime/${m[1]}/${m[2]} is not in the suite`;
    if (m[1] === "scripts") programText += "\n" + readFileSync(file, "utf8");
  }
  for (const f of c.requiresFeature) {
    const negated = f.startsWith("!");
    const name = negated ? f.slice(1) : f;
    if (hasFeature(kernel, name) === negated) return `REQUIRES_FEATURE ${f}: kernel ${negated ? "has" : "lacks"} ${name}`;
  }
  const listing = c.run !== undefined && isListing(c.run);
  const kinds = listing ? listedKinds(`${programText}\n${c.expect.join("\n")}`) : probeKinds(programText);
  const absent = [...kinds].filter((k) => kernel.probes[k] === false);
  // WILL_FAIL cases too: some only check a front-end error, but others (kprobe offsets, k:*)
  // depend on the probe type's kernel side, and telling them apart needs a case-by-case list.
  if (absent.length > 0) return `${listing ? "lists" : "needs"} ${absent.join(", ")} probes: the kernel has none`;
  const all = [text, ...c.before, c.after ?? "", ...c.requires].join("\n");
  for (const m of all.matchAll(/\btest(progs|libs)\/([A-Za-z0-9_.]+)/g)) {
    const name = m[2];
    const why = build.missing[name];
    if (why !== undefined) return `test${m[1]}/${name} not built: ${why}`;
  }
  for (const r of c.requires) {
    if (!(await shell(r, workDir, 10_000))) return `REQUIRES ${r}`;
  }
  return undefined;
}

function firstLines(output, n = 6) {
  const lines = output.split("\n").filter((l) => l !== ATTACH_LINE);
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const shown = lines.slice(0, n).map((l) => (l.length > 200 ? `${l.slice(0, 200)}…` : l));
  if (lines.length > n) shown.push(`… (${lines.length - n} more lines)`);
  return shown.length > 0 ? shown : ["(no output)"];
}

function fmtDuration(ms) {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

const out = (s = "") => process.stdout.write(`${s}\n`);

function caseLabel(r) {
  return r.duplicate ? `${r.name} (line ${r.line})` : r.name;
}

function printSuite(suite, results) {
  const passed = results.filter((r) => r.status === "pass");
  const failed = results.filter((r) => r.status === "fail");
  const skipped = results.filter((r) => r.status === "skip");
  out(`${suite}: ${passed.length} passed, ${failed.length} failed, ${skipped.length} skipped (${results.length} case${results.length === 1 ? "" : "s"})`);
  if (skipped.length > 0) {
    /** @type {Map<string, string[]>} */
    const byReason = new Map();
    for (const r of skipped) byReason.set(r.reason, [...(byReason.get(r.reason) ?? []), caseLabel(r)]);
    out(`  skipped:`);
    for (const [reason, names] of byReason) out(`    ${names.length} × ${reason}: ${names.join("; ")}`);
  }
  if (failed.length > 0) {
    out(`  failed:`);
    for (const r of failed) {
      out(`    ${caseLabel(r)}`);
      out(`      reason:   ${r.reason}`);
      for (const e of r.expect) out(`      expected: ${e}`);
      out(`      command:  ${r.command.length > 300 ? r.command.slice(0, 300) + "…" : r.command}`);
      for (const l of firstLines(r.output)) out(`      output:   | ${l}`);
    }
  }
  out();
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(opts.suiteDir)) usage(`no conformance suite at ${opts.suiteDir}`);
  const tool = resolveTool(opts.tool);
  const kernel = detectKernel();
  const started = Date.now();

  const build = await buildTestprogs();
  if (!build.dir) usage(`cannot build the test programs: ${Object.values(build.missing)[0]}`);
  const workDir = build.dir;
  // runtime/scripts and runtime/outputs: links to the suite's own folders.
  mkdirSync(join(workDir, "runtime"), { recursive: true });
  for (const sub of ["scripts", "outputs"]) {
    const link = join(workDir, "runtime", sub);
    const tmp = `${link}.tmp-${process.pid}`;
    rmSync(tmp, { force: true });
    symlinkSync(join(opts.suiteDir, sub), tmp);
    renameSync(tmp, link);
  }

  let files = suiteFiles(opts.suiteDir);
  if (opts.suites.length > 0) {
    const unknown = opts.suites.filter((s) => !files.includes(s));
    if (unknown.length > 0) usage(`no suite named ${unknown.join(", ")} (have: ${files.join(", ")})`);
    files = files.filter((f) => opts.suites.includes(f));
  }

  const absentProbes = Object.entries(kernel.probes).filter(([, v]) => !v).map(([k]) => k);
  out(`conformance suite ${opts.suiteDir}`);
  out(`tool ${tool.label}: ${tool.shell}`);
  out(`kernel ${kernel.release} ${kernel.machine}; probe types absent: ${absentProbes.join(", ") || "none"}`);
  out(`test programs ${workDir}${build.reused ? " (cached)" : ""}${Object.keys(build.missing).length ? `; not built: ${Object.keys(build.missing).join(", ")}` : ""}`);
  out();

  const env = { kernel, suiteDir: opts.suiteDir, build, workDir };
  const ctx = { tool: tool.shell, toolComm: tool.comm, cwd: workDir, attachTimeout: opts.attachTimeout };
  const all = [];
  for (const file of files) {
    const cases = loadSuite(opts.suiteDir, file).filter(
      (c) => !opts.caseRe || opts.caseRe.test(c.name) || opts.caseRe.test(`${c.suite}.${c.name}`),
    );
    if (cases.length === 0) continue;
    const names = new Map();
    for (const c of cases) names.set(c.name, (names.get(c.name) ?? 0) + 1);
    const results = [];
    for (const c of cases) {
      const base = { suite: c.suite, name: c.name, line: c.line, duplicate: names.get(c.name) > 1, expect: c.expect, willFail: c.willFail, timeout: c.timeout };
      const skip = await skipReason(c, env);
      let r;
      if (skip !== undefined) {
        r = { ...base, status: "skip", reason: skip, command: "", output: "" };
      } else {
        const res = await runCase(c, ctx);
        r = { ...base, ...res };
      }
      if (opts.verbose) out(`[${r.status.toUpperCase().padEnd(4)}] ${c.suite}: ${caseLabel(r)}${r.reason ? ` — ${r.reason}` : ""}${r.durationMs ? ` (${(r.durationMs / 1000).toFixed(1)}s)` : ""}`);
      results.push(r);
    }
    if (opts.verbose) out();
    printSuite(file, results);
    all.push(...results);
  }

  const passed = all.filter((r) => r.status === "pass").length;
  const failed = all.filter((r) => r.status === "fail").length;
  const skipped = all.filter((r) => r.status === "skip").length;
  const duration = Date.now() - started;

  if (opts.baseline) {
    const base = JSON.parse(readFileSync(opts.baseline, "utf8"));
    const key = (r) => `${r.suite}:${r.line}`;
    const baseBy = new Map(base.cases.map((r) => [key(r), r]));
    const regressions = all.filter((r) => r.status === "fail" && baseBy.get(key(r))?.status === "pass");
    const gains = all.filter((r) => r.status === "pass" && baseBy.get(key(r))?.status === "fail");
    out(`passed with ${base.tool} (${basename(opts.baseline)}) but failed with ${tool.label}: ${regressions.length}`);
    for (const r of regressions) out(`  ${r.suite}: ${caseLabel(r)} — ${r.reason}`);
    out(`failed with ${base.tool} but passed with ${tool.label}: ${gains.length}`);
    for (const r of gains) out(`  ${r.suite}: ${caseLabel(r)}`);
    out();
  }

  if (opts.json) {
    const cap = (s) => (s && s.length > 16384 ? `${s.slice(0, 16384)}\n[cut]` : s);
    const doc = {
      tool: tool.label,
      command: tool.shell,
      kernel: `${kernel.release} ${kernel.machine}`,
      suiteDir: opts.suiteDir,
      workDir,
      date: new Date(started).toISOString(),
      durationMs: duration,
      totals: { passed, failed, skipped, cases: all.length },
      cases: all.map((r) => ({ ...r, output: cap(r.output), before: r.before?.map(cap) })),
    };
    mkdirSync(dirname(opts.json), { recursive: true });
    writeFileSync(opts.json, JSON.stringify(doc, null, 2) + "\n");
    out(`per-case results: ${opts.json}`);
  }
  out(`conformance (${tool.label}): ${passed} passed, ${failed} failed, ${skipped} skipped of ${all.length} cases in ${fmtDuration(duration)}`);
  out(`conformance: ${passed} passed, ${failed} failed, ${skipped} skipped`);
}

main().catch((e) => {
  process.stderr.write(`conformance: harness error: ${e?.stack ?? e}\n`);
  process.exit(2);
});
