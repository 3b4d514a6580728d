// uprobe and uretprobe scripts run in-process against real targets (test/targets/, built at -O0
// and -O2): exact hit counts, arguments and return values, threads, a shared library, and
// wildcards attached with one multi-uprobe link. After every run nothing of it is left in the
// kernel (programs, links, uprobe_events). Probes attached for all processes filter on the
// target's pid: other test runs may run the same (cached) binaries at the same time.
import { describe, expect } from "vitest";
import { compile } from "../../compiler/compile.js";
import { formatDiagnostics } from "../../compiler/index.js";
import { planScript } from "../../runtime/attach/index.js";
import { kernelTest, kernelUnavailable } from "../support/kernel.js";
import { bpfLinks, buildTargets, runCompiled, runTraced, withTarget, type OptLevel } from "../support/targets.js";

const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";


/** Ids of multi-uprobe links that exist now (fdinfo says "uretprobe_multi" for returns). */
function uprobeMultiLinks(): number[] {
  return bpfLinks()
    .filter((l) => l.type === "uprobe_multi" || l.type === "uretprobe_multi")
    .map((l) => l.id);
}

for (const opt of ["O0", "O2"] as OptLevel[]) {
  describe(`uprobes on tracetest -${opt}`, () => {
    const targets = () => buildTargets(opt);

    kernelTest("counts are exact: the target calls tt_add 1000 times", async () => {
      const { tracetest } = targets();
      await withTarget(tracetest, async (t) => {
        const r = await runTraced(`uprobe:${tracetest}:tt_add /pid == ${t.pid}/ { @ = count() }`, {
          whileAttached: () => t.command("add 1000"),
        });
        expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
        expect(r.stdout).toBe("Attaching 1 probe...\n\n\n@: 1000\n");
      });
    });

    kernelTest("uretprobe: retval, negative", async () => {
      const { tracetest } = targets();
      await withTarget(tracetest, async (t) => {
        let said: string[] = [];
        const r = await runTraced(`uretprobe:${tracetest}:tt_neg /pid == ${t.pid}/ { printf("%d\\n", retval); @[retval] = count() }`, {
          whileAttached: async () => (said = [...(await t.command("neg 41")), ...(await t.command("neg -7"))]),
        });
        expect(said).toEqual(["neg 41 -42", "neg -7 6"]);
        expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
        // Equal counts: the order of the two entries is not specified.
        expect(r.stdout).toMatch(/^Attaching 1 probe...\n-42\n6\n\n\n(@\[-42\]: 1\n@\[6\]: 1\n|@\[6\]: 1\n@\[-42\]: 1\n)$/);
      });
    });

    kernelTest("arguments: registers, negative values, narrow types, six of eight", async () => {
      const { tracetest } = targets();
      await withTarget(tracetest, async (t) => {
        const r = await runTraced(
          `uprobe:${tracetest}:tt_add /pid == ${t.pid}/ { printf("add %d %d\\n", (int32)arg0, (int32)arg1) }
           uprobe:${tracetest}:tt_eight /pid == ${t.pid}/ { printf("eight %d %d %d %d %d %d\\n", arg0, arg1, arg2, arg3, arg4, arg5) }
           uprobe:${tracetest}:tt_signed /pid == ${t.pid}/ { printf("signed %d %d %d %ld\\n", (int8)arg0, (int16)arg1, (int32)arg2, arg3) }`,
          { whileAttached: async () => [await t.command("add 3"), await t.command("eight"), await t.command("signed")] },
        );
        expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
        expect(r.stdout).toBe(
          "Attaching 3 probes...\nadd 0 0\nadd 1 -2\nadd 2 -4\neight -1 2 -3 4 -5 6\nsigned -100 -30000 -2000000000 -9000000000000\n\n\n",
        );
      });
    });

    kernelTest("threads: every thread's calls counted", async () => {
      const { tracetest } = targets();
      await withTarget(tracetest, async (t) => {
        const r = await runTraced(`uprobe:${tracetest}:tt_add /pid == ${t.pid}/ { @ = count(); @t[tid] = count() }`, {
          whileAttached: () => t.command("threads 4 250"),
        });
        expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
        expect(r.stdout).toMatch(/^Attaching 1 probe...\n\n\n@: 1000\n(@t\[\d+\]: 250\n){4}$/);
      });
    });

    kernelTest("a function of a shared library", async () => {
      const { tracetest, lib } = targets();
      await withTarget(tracetest, async (t) => {
        const r = await runTraced(`uprobe:${lib}:tl_mul /pid == ${t.pid}/ { @ = count(); @s = sum((int32)arg0); @m = sum((int32)arg1) }`, {
          whileAttached: () => t.command("lib 10"),
        });
        expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
        expect(r.stdout).toBe("Attaching 1 probe...\n\n\n@: 10\n@m: -30\n@s: 45\n");
      });
    });

    kernelTest("a wildcard of the target with one program: one multi-uprobe link, exact counts", async () => {
      const { tracetest } = targets();
      await withTarget(tracetest, async (t) => {
        const r0 = compile(`uprobe:${tracetest}:tt_* /pid == ${t.pid}/ { @ = count() } uretprobe:${tracetest}:tt_* /pid == ${t.pid}/ { @r = count() }`, { file: "stdin" });
        if (r0.script === undefined) throw new Error(formatDiagnostics(r0.diagnostics, r0.source));
        const script = r0.script;
        const n = script.programs.length / 2;
        expect(n).toBeGreaterThanOrEqual(8);
        const plan = planScript(script);
        // One program per direction loaded, each attached once (to every location).
        expect(plan.loads.filter((l) => l !== undefined)).toEqual([{ expectedAttachType: 48 }, { expectedAttachType: 48 }]);
        expect(plan.probeCount).toBe(2 * n);
        let links: number[] = [];
        const before = uprobeMultiLinks();
        const r = await runCompiled(script, {
          whileAttached: async () => {
            links = uprobeMultiLinks().filter((id) => !before.includes(id));
            await t.command("add 5");
            await t.command("neg 1");
          },
        });
        expect(links).toHaveLength(2);
        expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
        expect(r.stdout).toBe(`Attaching ${2 * n} probes...\n\n\n@: 6\n@r: 6\n`);
      });
    });

    kernelTest("a wildcard using the probe builtin: one program, one multi-uprobe link (the probe id is the attach cookie)", async () => {
      const { tracetest } = targets();
      await withTarget(tracetest, async (t) => {
        const before = uprobeMultiLinks();
        let links: number[] = [];
        const r = await runTraced(`uprobe:${tracetest}:tt_* /pid == ${t.pid}/ { @[probe] = count() }`, {
          whileAttached: async () => {
            links = uprobeMultiLinks().filter((id) => !before.includes(id));
            await t.command("add 3");
            await t.command("neg 1");
            await t.command("once");
          },
        });
        expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
        // Sorted by count; the order of equal counts is not specified.
        const lines = r.stdout.split("\n");
        expect(lines.slice(0, 4)).toEqual([expect.stringMatching(/^Attaching \d+ probes...$/), "", "", expect.stringMatching(/: 1$/)]);
        const n = Number(/\d+/.exec(lines[0]!)![0]);
        expect(n).toBeGreaterThanOrEqual(8);
        expect(links).toHaveLength(1);
        expect(lines.slice(3).sort()).toEqual(["", `@[uprobe:${tracetest}:tt_add]: 3`, `@[uprobe:${tracetest}:tt_neg]: 1`, `@[uprobe:${tracetest}:tt_once]: 1`]);
      });
    });

    kernelTest("without multi-uprobe links (planScript multi: false): a perf event per location", async () => {
      const { tracetest } = targets();
      await withTarget(tracetest, async (t) => {
        const r0 = compile(`uprobe:${tracetest}:tt_a* /pid == ${t.pid}/ { @a = count() } uprobe:${tracetest}:tt_n* /pid == ${t.pid}/ { @n = count() }`, { file: "stdin" });
        const script = r0.script!;
        const plan = planScript(script, { multi: false });
        expect(plan.loads.every((l) => l !== undefined && l.expectedAttachType === undefined)).toBe(true);
        expect(plan.attaches.map((a) => a.length)).toEqual(script.programs.map(() => 1));
        // Through the session (which always plans with multi links), the same script: two sets
        // of one location each, so two perf events and no multi link.
        const before = uprobeMultiLinks();
        let links: number[] = [];
        const r = await runCompiled(script, {
          whileAttached: async () => {
            links = uprobeMultiLinks().filter((id) => !before.includes(id));
            await t.command("add 4");
            await t.command("neg 1");
          },
        });
        expect(links).toEqual([]);
        expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
        expect(r.stdout).toBe("Attaching 2 probes...\n\n\n@a: 4\n@n: 1\n");
      });
    });
  });
}

describe("uprobes on libc", () => {
  kernelTest("str*: every matching function, all processes, with one multi-uprobe link (attach time printed)", async () => {
    const { tracetest } = buildTargets("O2");
    await withTarget(tracetest, async (t) => {
      const r0 = compile(`uprobe:${LIBC}:str* { @[pid == ${t.pid}] = count() }`, { file: "stdin" });
      if (r0.script === undefined) throw new Error(formatDiagnostics(r0.diagnostics, r0.source));
      const n = r0.script.programs.length;
      expect(n).toBeGreaterThan(50);
      const before = uprobeMultiLinks();
      let links: number[] = [];
      const r = await runCompiled(r0.script, {
        whileAttached: async () => {
          links = uprobeMultiLinks().filter((id) => !before.includes(id));
          await t.command("libc 3"); // printf calls strchrnul
        },
      });
      process.stderr.write(`uprobe:libc:str* — ${n} functions attached in ${r.attachMs.toFixed(1)} ms\n`);
      expect(links).toHaveLength(1);
      expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
      expect(r.stdout).toMatch(new RegExp(`^Attaching ${n} probes...\\n\\n\\n(@\\[0\\]: \\d+\\n)?@\\[1\\]: [1-9]\\d*\\n(@\\[0\\]: \\d+\\n)?$`));
    });
  });

  kernelTest("*: thousands of functions, scoped to one process; unprobeable ones skipped with a warning", async () => {
    const { tracetest } = buildTargets("O2");
    await withTarget(tracetest, async (t) => {
      const r0 = compile(`uprobe:${LIBC}:* { @ = count() }`, { file: "stdin" });
      if (r0.script === undefined) throw new Error(formatDiagnostics(r0.diagnostics, r0.source));
      const n = r0.script.programs.length;
      expect(n).toBeGreaterThan(2000);
      const r = await runCompiled(r0.script, { pid: t.pid, whileAttached: () => t.command("libc 10") });
      process.stderr.write(`uprobe:libc:* (pid ${t.pid}) — ${n} functions attached in ${r.attachMs.toFixed(1)} ms\n`);
      expect(r).toMatchObject({ exitCode: 0, left: [] });
      // Instructions uprobes cannot step (pthread_spin_lock starts with `lock decl`) are skipped.
      for (const line of r.stderr.split("\n").filter((l) => l !== "")) {
        expect(line).toMatch(new RegExp(`^WARNING: could not attach probe uprobe:${LIBC}:\\S+, skipping: `));
      }
      const m = /^Attaching (\d+) probes...\n\n\n@: (\d+)\n$/.exec(r.stdout);
      expect(m).not.toBeNull();
      expect(Number(m![1])).toBe(n);
      // getpgrp 10 times, and printf and what it calls.
      expect(Number(m![2])).toBeGreaterThanOrEqual(10);
    });
  }, 60_000);

  kernelTest("a function that does not exist at attach time: a clear error, nothing left", async () => {
    const { tracetest } = buildTargets("O0");
    const r0 = compile(`uprobe:${tracetest}:tt_add { @ = count() }`, { file: "stdin" });
    const script = r0.script!;
    const p = script.programs[0]!;
    if (p.location.kind !== "uprobe") throw new Error("not a uprobe");
    p.location = { ...p.location, path: "/nonexistent/tracetest" };
    const r = await runCompiled(script);
    expect(r).toMatchObject({ exitCode: 1, stdout: "Attaching 1 probe...\n", left: [] });
    expect(r.stderr).toBe(`ERROR: cannot open a uprobe for uprobe:${tracetest}:tt_add: No such file or directory\n`);
  });
});

if (kernelUnavailable() === undefined) {
  // Build before the first test, outside its time limit.
  buildTargets("O0");
  buildTargets("O2");
}
