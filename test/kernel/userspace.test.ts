// The functions done in user space when their record arrives (cat, system, join), software
// probes, the -k/-kk helper checks, --info and address uprobes, run for real through the built CLI
// (dist/runtime/cli.js) and compared with bpftrace 0.17's output where it matters.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect } from "vitest";
import { ElfFile } from "../../compiler/elf/index.js";
import { kernelTest, kernelUnavailable } from "../support/kernel.js";
import { buildTargets } from "../support/targets.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const cli = join(root, "dist", "runtime", "cli.js");
const work = mkdtempSync(join(tmpdir(), "bpfts-userspace-"));

beforeAll(() => {
  if (kernelUnavailable() !== undefined) return;
  buildTargets("O2");
  try {
    execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.json")], { cwd: root, stdio: "pipe" });
  } catch (e) {
    process.stderr.write(`userspace.test: tsc reported errors:\n${(e as { stdout?: Buffer }).stdout?.toString() ?? e}\n`);
  }
}, 120_000);

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function bpfts(args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 30_000, env: { ...process.env, NO_COLOR: "1", ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Both streams in one pipe, in the order they were written (as the conformance harness reads them). */
function bpftsBoth(args: string[]): { status: number | null; both: string } {
  const r = spawnSync("/bin/sh", ["-c", `exec "$0" "$@" 2>&1`, process.execPath, cli, ...args], { encoding: "utf8", timeout: 30_000 });
  return { status: r.status, both: r.stdout };
}

describe("cat()", () => {
  kernelTest("prints the file (format arguments build its name), at most BPFTRACE_CAT_BYTES_MAX bytes", () => {
    const file = join(work, "cat.txt");
    writeFileSync(file, "first line\nsecond line\n");
    const dir = work.slice(0, work.lastIndexOf("/"));
    const name = work.slice(work.lastIndexOf("/") + 1);
    const r = bpfts(["-e", `BEGIN { cat("${file}"); cat("%s/%s/%s", "${dir}", "${name}", "cat.txt"); exit(); }`]);
    expect(r).toEqual({ status: 0, stdout: "Attaching 1 probe...\nfirst line\nsecond line\nfirst line\nsecond line\n\n\n", stderr: "" });
    // Nothing added: no newline after a file that has none, and the limit cuts anywhere.
    const cut = bpfts(["-e", `BEGIN { cat("${file}"); printf("|\\n"); exit(); }`], { BPFTRACE_CAT_BYTES_MAX: "5" });
    expect(cut.stdout).toBe("Attaching 1 probe...\nfirst|\n\n\n");
    const bad = bpfts(["-e", "BEGIN { exit(); }"], { BPFTRACE_CAT_BYTES_MAX: "0" });
    expect(bad).toEqual({ status: 1, stdout: "", stderr: "ERROR: Env var 'BPFTRACE_CAT_BYTES_MAX' did not contain a valid uint64_t, or was zero-valued.\n" });
  });

  kernelTest("a file that cannot be opened: bpftrace's error on stderr, and the run goes on", () => {
    const r = bpfts(["-e", 'BEGIN { cat("/does/not/exist/file"); printf("after\\n"); exit(); }']);
    expect(r).toEqual({ status: 0, stdout: "Attaching 1 probe...\nafter\n\n\n", stderr: "ERROR: failed to open file '/does/not/exist/file': No such file or directory\n" });
  });

  kernelTest("-f json: a cat record", () => {
    const file = join(work, "cat.json.txt");
    writeFileSync(file, 'a "quoted"\tline\n');
    const r = bpfts(["-q", "-f", "json", "-e", `BEGIN { cat("${file}"); exit(); }`]);
    expect(r).toEqual({ status: 0, stdout: '{"type": "cat", "data": "a \\"quoted\\"\\tline\\n"}\n', stderr: "" });
  });
});

describe("system()", () => {
  kernelTest("needs --unsafe: bpftrace's message, at the call", () => {
    const r = bpfts(["-e", 'BEGIN { system("echo hi"); exit(); }']);
    expect(r).toEqual({
      status: 1,
      stdout: "",
      stderr: 'stdin:1:9: error: system() is an unsafe function being used in safe mode\nBEGIN { system("echo hi"); exit(); }\n        ^~~~~~~~~~~~~~~~~\n',
    });
  });

  kernelTest("runs /bin/sh -c when the record arrives; its output is printed in order, its stderr passed through", () => {
    const r = bpftsBoth(["--unsafe", "-e", 'BEGIN { system("echo hi; echo err >&2; printf nonl"); printf("after\\n"); system("exit 3"); system("echo %s %d", "x", -5); exit(); }']);
    // Exactly bpftrace 0.17's bytes (stderr first: it is not captured).
    expect(r).toEqual({ status: 0, both: "Attaching 1 probe...\nerr\nhi\nnonlafter\nx -5\n\n\n" });
    const argv0 = bpfts(["--unsafe", "-e", 'BEGIN { system("echo $0"); exit(); }']);
    expect(argv0.stdout).toBe("Attaching 1 probe...\nsh\n\n\n");
  });

  kernelTest("-f json: a syscall record", () => {
    expect(bpfts(["--unsafe", "-q", "-f", "json", "-e", 'BEGIN { system("echo a b c"); exit(); }'])).toEqual({
      status: 0,
      stdout: '{"type": "syscall", "data": "a b c\\n"}\n',
      stderr: "",
    });
  });

  kernelTest("SIGINT under heavy load (system() on every context switch): END runs, the run ends at once", async () => {
    const child = spawn(process.execPath, [cli, "--unsafe", "-e", 'tracepoint:sched:sched_switch { system("echo foo"); } END { printf("end"); }'], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, __BPFTRACE_NOTIFY_PROBES_ATTACHED: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    const attached = new Promise<void>((resolve) => {
      child.stderr.on("data", (c: Buffer) => {
        stderr += c.toString();
        if (stderr.includes("__BPFTRACE_NOTIFY_PROBES_ATTACHED\n")) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await attached;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const sent = Date.now();
    child.kill("SIGINT");
    const code = await exited;
    expect(Date.now() - sent).toBeLessThan(3000);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Attaching 2 probes...\n(foo\n)+end(Lost \d+ events\n)?\n\n$/);
  }, 30_000);
});

describe("join()", () => {
  kernelTest("the strings of execve's argv, with a delimiter; at most 16 of 1023 bytes", () => {
    const long = "a".repeat(1500);
    const args = Array.from({ length: 20 }, (_, i) => String(i + 1));
    const cmd = `/bin/echo ${args.join(" ")}`;
    const r = bpfts(["-e", 'tracepoint:syscalls:sys_enter_execve /pid == cpid/ { join(args->argv); join(args->argv, ","); }', "-c", cmd]);
    expect(r.stderr).toBe("");
    const lines = r.stdout.split("\n");
    // bpftrace: the first 16 strings.
    expect(lines).toContain(["/bin/echo", ...args.slice(0, 15)].join(" "));
    expect(lines).toContain(["/bin/echo", ...args.slice(0, 15)].join(","));
    const cut = bpfts(["-e", 'tracepoint:syscalls:sys_enter_execve /pid == cpid/ { join(args->argv, "|"); }', "-c", `/bin/echo x ${long}`]);
    expect(cut.stdout.split("\n")).toContain(`/bin/echo|x|${"a".repeat(1023)}`);
  });

  kernelTest("-f json: a join record", () => {
    const r = bpfts(["-q", "-f", "json", "-e", 'tracepoint:syscalls:sys_enter_execve /pid == cpid/ { join(args->argv, ","); }', "-c", "/bin/true A B"]);
    expect(r).toEqual({ status: 0, stdout: '{"type": "join", "data": "/bin/true,A,B"}\n', stderr: "" });
  });
});

describe("software probes", () => {
  kernelTest("software:faults:1 counts page faults; aliases, default counts, and the probe builtin", () => {
    const r = bpfts(["-e", "software:faults:1 { @[comm] = count(); exit(); }"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Attaching 1 probe...\n\n\n(@\[.*\]: \d+\n)+$/);
    const p = bpfts(["-e", 's:cpu-clock { printf("%s\\n", probe); exit(); } software:cs:10 { @cs = count(); }']);
    expect(p.stdout).toMatch(/^Attaching 2 probes...\nsoftware:cpu-clock\n\n\n(@cs: \d+\n)?$/);
    // cpu-clock every 1000000 ns (its default) on each CPU: about 1000 per CPU per second.
    const clock = bpfts(["-e", "software:cpu-clock { @ = count(); } interval:ms:500 { exit(); }"]);
    const n = Number(/@: (\d+)/.exec(clock.stdout)![1]);
    expect(n).toBeGreaterThan(200);
    expect(n).toBeLessThan(5000);
  });

  kernelTest("-l lists bpftrace's software events", () => {
    const r = bpfts(["-l", "software:*"]);
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n").filter((l) => l !== "")).toHaveLength(11);
    expect(r.stdout).toContain("software:context-switches:\n");
  });
});

describe("-k and -kk", () => {
  kernelTest("-k: a failed map_delete_elem, as bpftrace 0.17 reports it (on stdout)", () => {
    const r = bpfts(["-k", "-e", "i:ms:100 { @[1] = 1; delete(@[2]); exit(); }"]);
    expect(r).toEqual({
      status: 0,
      stdout:
        "Attaching 1 probe...\nstdin:1:22-34: WARNING: Failed to map_delete_elem: No such file or directory (-2)\ni:ms:100 { @[1] = 1; delete(@[2]); exit(); }\n                     ~~~~~~~~~~~~\n\n\n@[1]: 1\n",
      stderr: "",
    });
    // Without -k: nothing.
    expect(bpfts(["-e", "i:ms:100 { @[1] = 1; delete(@[2]); exit(); }"]).stdout).toBe("Attaching 1 probe...\n\n\n@[1]: 1\n");
    // -k leaves lookups alone.
    expect(bpfts(["-k", "-e", 'i:ms:100 { @[1] = 1; printf("%d\\n", @[2]); exit(); }']).stdout).toBe("Attaching 1 probe...\n0\n\n\n@[1]: 1\n");
  });

  kernelTest("-kk: lookups of missing keys (before the printf that reads them) and failed reads; -f json records", () => {
    const r = bpfts(["-kk", "-e", 'i:ms:100 { @[1] = 1; printf("%d\\n", @[2]); exit(); }']);
    expect(r.stdout).toBe(
      'Attaching 1 probe...\nstdin:1:37-41: WARNING: Failed to map_lookup_elem: 0\ni:ms:100 { @[1] = 1; printf("%d\\n", @[2]); exit(); }\n                                    ~~~~\n0\n\n\n@[1]: 1\n',
    );
    const agg = bpfts(["-kk", "-e", "i:ms:100 { @[1] = count(); @x += 2; exit(); }"]);
    expect(agg.stdout).toContain("stdin:1:19-26: WARNING: Failed to map_lookup_elem: 0\n");
    expect(agg.stdout).toContain("stdin:1:28-30: WARNING: Failed to map_lookup_elem: 0\n");
    const json = bpfts(["-kk", "-q", "-f", "json", "-e", 'i:ms:100 { $s = str(0); @[1] = 1; printf("%d\\n", @[2]); exit(); }']);
    expect(json.stdout).toMatch(
      /^\{"type": "helper_error", "helper": "probe_read_str", "retcode": -\d+, "line": 1, "col": 17\}\n\{"type": "helper_error", "helper": "map_lookup_elem", "retcode": 0, "line": 1, "col": 50\}\n\{"type": "printf", "data": "0\\n"\}\n/,
    );
  });

  kernelTest("a script file: its name, and tabs shown as 4 spaces", () => {
    const file = join(work, "k.bt");
    writeFileSync(file, "i:ms:100 {\n\t@[1] = 1; delete(@[2]);\n exit(); }");
    expect(bpfts(["-k", file]).stdout).toBe(
      `Attaching 1 probe...\n${file}:2:12-24: WARNING: Failed to map_delete_elem: No such file or directory (-2)\n    @[1] = 1; delete(@[2]);\n              ~~~~~~~~~~~~\n\n\n@[1]: 1\n`,
    );
  });
});

describe("--info", () => {
  kernelTest("every section, probed on this kernel", () => {
    const r = bpfts(["--info"]);
    expect(r.status).toBe(0);
    for (const s of ["System", "Build", "Kernel helpers", "Kernel features", "Map types", "Probe types"]) expect(r.stdout).toContain(`\n${s}\n`.slice(s === "System" ? 1 : 0));
    expect(r.stdout).toContain("  perf_event_array: yes\n");
    expect(r.stdout).toContain("  probe_read_kernel: yes\n");
    expect(r.stdout).toContain("  ringbuf: yes\n");
    expect(r.stdout).toContain("  uprobe, uretprobe, usdt: yes\n");
  });
});

describe("uprobe at an address", () => {
  kernelTest("an address no function contains: bpftrace's error; with --unsafe, a warning", () => {
    const r = bpfts(["-e", 'uprobe:/bin/bash:10 { printf("arg0: %d\\n", arg0); exit();}']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^stdin:1:18: error: Could not resolve address: \/bin\/bash:0xa /);
    const unsafe = bpfts(["--unsafe", "--check", "-e", "uprobe:/bin/bash:10 { exit(); }"]);
    expect(unsafe.status).toBe(0);
    const compiled = bpfts(["--unsafe", "--emit=asm", "-e", "uprobe:/bin/bash:10 { exit(); }"]);
    expect(compiled.stderr).toMatch(/warning: Could not determine instruction boundary for uprobe:\/bin\/bash:0xa \(binary appears stripped\)/);
  });

  kernelTest("a function's address attaches", () => {
    const { tracetest } = buildTargets("O2");
    const elf = ElfFile.open(tracetest);
    const addr = elf.findSymbol("tt_add")!.address;
    elf.close();
    const r = bpfts(["-e", `uprobe:${tracetest}:0x${addr.toString(16)} { @ = count(); exit(); }`, "-c", `${tracetest} add 1`]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/@: 1\n$/);
  });
});

describe("-l with a wildcarded file keeps the path as written", () => {
  kernelTest("./dir/name*", () => {
    const { tracetest, dir } = buildTargets("O2");
    expect(existsSync(tracetest)).toBe(true);
    const r = spawnSync(process.execPath, [cli, "-l", "uprobe:./tracete*:tt_add"], { cwd: dir, encoding: "utf8" });
    expect(r.stdout).toBe("uprobe:./tracetest:tt_add\n");
  });
});
