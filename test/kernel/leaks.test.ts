// However a run ends, nothing of it stays in the kernel: no program, map, link or perf event.
// In-process runs are checked through the kernel's object ids and this process's own fds; runs of
// the CLI (a child process, for signals) through the kernel's object ids once the child is gone.
//
// Other processes may load BPF objects meanwhile, so "ours" are recognised by name: every script
// here uses a map with a name unique to the test (`@lk_<tag>`), and the programs' names are those
// of the script (compared only among ids that did not exist before the run).
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect } from "vitest";
import { encode, type Insn } from "../../compiler/asm/index.js";
import { compile } from "../../compiler/compile.js";
import { formatDiagnostics } from "../../compiler/index.js";
import { PROG_TYPE, type CompiledScript } from "../../compiler/program.js";
import { runScript } from "../../runtime/session.js";
import { anonFds, ids, linksTo, nameOf } from "../support/bpf-objects.js";
import { kernelTest, kernelUnavailable } from "../support/kernel.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const cli = join(root, "dist", "runtime", "cli.js");

beforeAll(() => {
  if (kernelUnavailable() !== undefined) return;
  // Build the CLI the child-process tests run (tsc emits even when some other file has errors).
  try {
    execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.json")], {
      cwd: root,
      stdio: "pipe",
    });
  } catch (e) {
    process.stderr.write(`leaks.test: tsc reported errors:\n${(e as { stdout?: Buffer }).stdout?.toString() ?? e}\n`);
  }
  if (!existsSync(cli)) throw new Error(`the build did not produce ${cli}`);
}, 120_000);

// ---- what exists ---------------------------------------------------------------------------------

interface Snapshot {
  progs: Set<number>;
  maps: Set<number>;
}

function snapshot(): Snapshot {
  return { progs: new Set(ids("prog")), maps: new Set(ids("map")) };
}

/** Objects of ours still alive: new programs named like the script's, maps named `tag`, their links. */
function leftovers(before: Snapshot, progNames: Set<string>, mapName: string): string[] {
  const out: string[] = [];
  const progs = new Set<number>();
  for (const id of ids("prog")) {
    if (before.progs.has(id)) continue;
    const name = nameOf("prog", id);
    if (name !== undefined && progNames.has(name)) {
      progs.add(id);
      out.push(`prog ${id} (${name})`);
    }
  }
  for (const id of ids("map")) {
    const name = nameOf("map", id);
    if (name === mapName) out.push(`map ${id} (${name})${before.maps.has(id) ? " [existed before]" : ""}`);
  }
  for (const id of linksTo(progs)) out.push(`link ${id}`);
  return out;
}

/** Waits (up to ~1.5 s: the kernel frees some objects after a grace period) for no leftovers. */
async function expectNoLeftovers(before: Snapshot, progNames: Set<string>, mapName: string): Promise<void> {
  const deadline = Date.now() + 1500;
  let left = leftovers(before, progNames, mapName);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    left = leftovers(before, progNames, mapName);
  }
  expect(left).toEqual([]);
}


// ---- scripts ---------------------------------------------------------------------------------------

let counter = 0;
/** A map name unique to one test: `lk_<tag><n>`, at most 15 characters. */
function uniqueTag(tag: string): string {
  return `lk_${tag}${counter++}${process.pid % 1000}`.slice(0, 15);
}

function compiled(text: string): CompiledScript {
  const r = compile(text, { file: "stdin" });
  if (r.script === undefined) throw new Error(formatDiagnostics(r.diagnostics, r.source));
  return r.script;
}

function progNames(script: CompiledScript): Set<string> {
  return new Set(script.programs.map((p) => p.name));
}

interface InProcess {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a script in-process, then checks that nothing of it remains, kernel- and fd-wise. */
async function runAndCheck(script: CompiledScript, mapName: string, onAttached?: (stop: () => void) => void): Promise<InProcess> {
  const fdsBefore = anonFds();
  const before = snapshot();
  const controller = new AbortController();
  const r: InProcess = { exitCode: -1, stdout: "", stderr: "" };
  const { exitCode } = await runScript(script, {
    signal: controller.signal,
    notifyAttached: onAttached !== undefined,
    stdout: (s) => void (r.stdout += s),
    stderr: (s) => {
      r.stderr += s;
      if (s === "__BPFTRACE_NOTIFY_PROBES_ATTACHED\n") onAttached?.(() => controller.abort());
    },
  });
  r.exitCode = exitCode;
  expect(anonFds()).toEqual(fdsBefore);
  await expectNoLeftovers(before, progNames(script), mapName);
  return r;
}

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `whenAttached` gets the child once it reports its probes attached. */
function runCli(args: string[], whenAttached?: (kill: (sig: NodeJS.Signals) => void) => void, uid?: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, __BPFTRACE_NOTIFY_PROBES_ATTACHED: "1", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      ...(uid === undefined ? {} : { uid, gid: uid }),
    });
    const r: ChildRun = { code: null, signal: null, stdout: "", stderr: "" };
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.stdout.on("data", (d: Buffer) => (r.stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      const before = r.stderr;
      r.stderr += d.toString();
      if (!before.includes("__BPFTRACE_NOTIFY") && r.stderr.includes("__BPFTRACE_NOTIFY_PROBES_ATTACHED\n")) {
        whenAttached?.((sig) => child.kill(sig));
      }
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      r.code = code;
      r.signal = signal;
      resolve(r);
    });
  });
}

// ---- the ways a run ends -----------------------------------------------------------------------------

describe("nothing leaks", () => {
  kernelTest("exit() in BEGIN", async () => {
    const tag = uniqueTag("begin");
    const script = compiled(`BEGIN { @${tag} = 1; printf("x\\n"); exit() } END { @${tag} = 2 } i:s:100 { @${tag} = 3 }`);
    const r = await runAndCheck(script, tag);
    expect(r).toMatchObject({ exitCode: 0, stderr: "" });
    expect(r.stdout).toBe(`Attaching 3 probes...\nx\n\n\n@${tag}: 2\n`);
  });

  kernelTest("exit() from an interval probe", async () => {
    const tag = uniqueTag("intv");
    const script = compiled(`i:ms:5 { @${tag}++; if (@${tag} >= 2) { exit() } } tracepoint:syscalls:sys_enter_getpriority { @${tag} += 0 }`);
    const r = await runAndCheck(script, tag);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Attaching 2 probes...\\n\\n\\n@${tag}: \\d+\\n$`));
  });

  kernelTest("the abort signal (in-process SIGINT)", async () => {
    const tag = uniqueTag("abort");
    const script = compiled(`profile:hz:99 { @${tag} = count() } tracepoint:syscalls:sys_enter_getpriority { @${tag} = count() }`);
    const r = await runAndCheck(script, tag, (stop) => stop());
    expect(r).toMatchObject({ exitCode: 0, stderr: "__BPFTRACE_NOTIFY_PROBES_ATTACHED\n" });
  });

  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    kernelTest(`${sig} to the CLI`, async () => {
      const tag = uniqueTag(sig === "SIGINT" ? "int" : "term");
      const text = `i:ms:10 { @${tag} = count() } tracepoint:syscalls:sys_enter_getpriority { @${tag} = count() } END { printf("end\\n") }`;
      const before = snapshot();
      const r = await runCli(["-e", text], (kill) => kill(sig));
      expect(r).toMatchObject({ code: 0, signal: null });
      expect(r.stdout).toMatch(new RegExp(`^Attaching 3 probes...\\nend\\n\\n\\n@${tag}: \\d+\\n$`));
      expect(r.stderr).toBe("__BPFTRACE_NOTIFY_PROBES_ATTACHED\n");
      await expectNoLeftovers(before, progNames(compiled(text)), tag);
    });
  }

  kernelTest("no privileges (the CLI as user nobody): a clear error before anything is created", async () => {
    const tag = uniqueTag("nopriv");
    const before = snapshot();
    const r = await runCli(["-e", `BEGIN { @${tag} = 1; exit() }`], undefined, 65534);
    expect(r).toMatchObject({ code: 1, stdout: "", stderr: "ERROR: tracing needs root (or CAP_BPF and CAP_PERFMON)\n" });
    await expectNoLeftovers(before, new Set(["BEGIN"]), tag);
  });

  kernelTest("a compile error (CLI)", async () => {
    const tag = uniqueTag("cerr");
    const before = snapshot();
    const r = await runCli(["-e", `BEGIN { @${tag} = 1; @${tag}[1] = 2; }`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^stdin:1:\d+: error: /);
    await expectNoLeftovers(before, new Set(["BEGIN"]), tag);
  });

  kernelTest("a verifier rejection: status 2, the disassembly and the log, nothing loaded", async () => {
    const tag = uniqueTag("verif");
    const script = compiled(`BEGIN { @${tag} = 1; printf("x\\n") } i:ms:10 { @${tag} = 2 } END { @${tag} = 3 }`);
    // Replace the interval program by one the verifier refuses: it reads r5, never written.
    const broken: Insn[] = [{ kind: "alu", width: 64, op: "mov", dst: "r0", src: "r5" }, { kind: "exit" }];
    const p = script.programs[1]!;
    expect(p.target.type).toBe("interval");
    Object.assign(p, { insns: broken, bytecode: encode(broken), mapRelocations: [] });
    const r = await runAndCheck(script, tag);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^bpfts: internal error: the kernel rejected the program for interval:ms:10: Permission denied\n0: \(bf\) r0 = r5\n1: \(95\) exit\n/);
    expect(r.stderr).toContain("R5 !read_ok");
  });

  kernelTest("a tracepoint that does not exist (found before anything is created)", async () => {
    const tag = uniqueTag("notp");
    const script = compiled(`BEGIN { @${tag} = 1 } tracepoint:syscalls:sys_enter_getpriority { @${tag} = 2 }`);
    script.programs[1]!.target = { type: "tracepoint", category: "syscalls", name: "sys_enter_nonexistent_call" };
    const r = await runAndCheck(script, tag);
    expect(r).toMatchObject({ exitCode: 1, stdout: "", stderr: "ERROR: tracepoint not found: syscalls:sys_enter_nonexistent_call\n" });
  });

  kernelTest("an error thrown mid-attach, after other probes are attached", async () => {
    const tag = uniqueTag("matt");
    const script = compiled(
      `BEGIN { @${tag} = 1; printf("begin\\n") } i:ms:10 { @${tag} = 2 } profile:hz:99 { @${tag} = 3 } tracepoint:syscalls:sys_enter_getpriority { @${tag} = 4 }`,
    );
    // A perf_event program on a tracepoint's perf event: PERF_EVENT_IOC_SET_BPF refuses it (EINVAL),
    // after the interval and profile probes are attached.
    const tp = script.programs[3]!;
    expect(tp.target.type).toBe("tracepoint");
    tp.progType = PROG_TYPE.perf_event;
    const r = await runAndCheck(script, tag);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe("Attaching 4 probes...\n");
    expect(r.stderr).toBe("ERROR: cannot attach to tracepoint syscalls:sys_enter_getpriority: Invalid argument\n");
  });
});
