// Code the verifier rejects is a compiler bug: every example and a set of programs covering the
// language are compiled and loaded into the real kernel.
import { readdirSync, readFileSync } from "node:fs";
import { expect } from "vitest";
import { compile } from "../../compiler/compile.js";
import { formatDiagnostics } from "../../compiler/index.js";
import { kernelTest } from "../support/kernel.js";
import { loadAll } from "../support/load.js";

const examplesDir = new URL("../../examples/", import.meta.url).pathname;

function compileAndLoad(text: string, file = "stdin", params: string[] = []): void {
  const r = compile(text, { file, params });
  if (!r.script) throw new Error(formatDiagnostics(r.diagnostics, r.source));
  const failures = loadAll(r.script);
  if (failures.length > 0) {
    const f = failures[0]!;
    throw new Error(`verifier rejected ${f.probe}: ${f.message}\n${f.disassembly}\n--- log ---\n${f.log.slice(-3000)}`);
  }
  expect(r.script.programs.length).toBeGreaterThan(0);
}

const EXAMPLE_PARAMS: Record<string, string[]> = { "func-latency.bt": ["/bin/bash", "readline"] };

for (const f of readdirSync(examplesDir).filter((f) => f.endsWith(".bt"))) {
  kernelTest(`example ${f} loads`, () => compileAndLoad(readFileSync(examplesDir + f, "utf8"), `examples/${f}`, EXAMPLE_PARAMS[f] ?? []));
}

const PROGRAMS: string[] = [
  'BEGIN { printf("hello\\n"); exit(); }',
  "BEGIN { @x = count(); @y[comm, pid] = sum(5); @z[tid] = avg(3); @s = stats(-4); @mn[1] = min(-2); @mx = max(7) }",
  "BEGIN { @h = hist(100); @hk[comm] = hist(-1); @l = lhist(55, 0, 100, 10); @lk[1, 2] = lhist(3, 0, 1000, 10) }",
  'BEGIN { $x = 10; printf("%d", $x++); printf(" %d", ++$x); printf(" %d", $x--); printf(" %d\\n", --$x); }',
  "BEGIN { @x = 10; printf(\"%d %d %d\\n\", @x++, ++@x, @x); @x += 5; @x <<= 1; delete(@x); }",
  'BEGIN { $a = 0; while ($a <= 100) { @=avg($a++) } }',
  'BEGIN { $i = 0; while ($i < 20) { $i++; if ($i == 5) { continue } if ($i > 15) { break } @c[$i % 3] = count() } }',
  'BEGIN { $a = ""; if (1 > 2) { $a = "hi" } else if (2 < 3) { $a = "hello" } printf("a=%s\\n", $a); }',
  'BEGIN { $t = (1, "two", (3, (int8)-4)); printf("%d %s %d %d\\n", $t.0, $t.1, $t.2.0, $t.2.1); @t = $t; @k[$t] = count(); }',
  'BEGIN { printf("%d %d %d %d\\n", (int8) -10, -5555, (int16)-123, (uint8)300); print((1, "a")); print(comm); print(5) }',
  'BEGIN { if (comm == "bpfts") { printf("yes\\n") } $s = str(0); if ($s != comm) { printf("no\\n") } printf("%d\\n", strncmp("hello", "help", 3)); }',
  'BEGIN { $x = 7; $y = $x * 3 / 2 % 5 - 1; $z = ($x << 3) | ($y >> 1) ^ ~$x & 0xff; printf("%d %d\\n", $y, $z); $w = (uint64)-1 / 3; $v = -7 / 2; printf("%llu %d\\n", $w, $v); }',
  'BEGIN { $c = nsecs > 0 && pid != 0 || !uid; printf("%d %d %d %d %d\\n", $c, elapsed, cpu, gid, 1 ? 2 : 3); nsecs ? printf("a\\n") : printf("b\\n"); }',
  "BEGIN { @a = 1; @b[\"k\"] = \"v\"; @c[1, \"x\"] = (1, 2); print(@a); clear(@b); zero(@c); time(); time(\"%H\\n\"); }",
  "BEGIN { unroll(5) { @u = count(); } exit(); } END { printf(\"end %s\\n\", probe); }",
  "i:ms:100 { @[cpu] = count(); } i:s:1 { print(@); clear(@); exit(); }",
  "profile:hz:99 { @p[tid] = count(); }",
  "tracepoint:syscalls:sys_enter_openat { printf(\"%s %s %d\\n\", comm, str(args->filename), args->flags); @f[str(args->filename, 32)] = count(); }",
  "tracepoint:sched:sched_switch { @s[args->prev_comm, args->next_pid] = count(); if (args->prev_comm == \"swapper/0\") { @idle++ } }",
  "tracepoint:irq:irq_handler_entry { @irq[str(args->name)] = count(); }",
  "tracepoint:raw_syscalls:sys_enter /pid == 1/ { @sys[args->id] = count(); }",
  "uprobe:/bin/bash:readline { @start[tid] = nsecs; printf(\"%d %d\\n\", arg0, arg5); } uretprobe:/bin/bash:readline /@start[tid]/ { @lat = hist(nsecs - @start[tid]); delete(@start[tid]); @r = sum(retval); }",
];

PROGRAMS.forEach((p, i) => kernelTest(`program ${i} loads: ${p.slice(0, 60)}`, () => compileAndLoad(p)));
