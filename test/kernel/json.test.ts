// -f json for real, through the CLI: bpftrace 0.17's json-output suite, and the records of the same
// BEGIN programs run by bpfts and by bpftrace itself (on the machine; under CI it is installed),
// compared record by record and line by line. Every record is checked against the schema of
// spec/json-output.md (test/support/json-records.ts).
//
// The CLI runs through a symlink named "bpftrace" to node, so that `comm` in BEGIN (the tracer's own
// name) is "bpftrace" for both.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { beforeAll, describe, expect, test } from "vitest";
import { CONFORMANCE_DIR, conformanceAvailable, parseSuite } from "../support/conformance.js";
import { readRecords, type JsonRecord } from "../support/json-records.js";
import { inCI, kernelTest, kernelUnavailable } from "../support/kernel.js";

const root = new URL("../../", import.meta.url).pathname;
const cli = join(root, "dist/runtime/cli.js");
let tracer = process.execPath;

beforeAll(() => {
  if (kernelUnavailable() !== undefined) return;
  try {
    execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.json")], { cwd: root, stdio: "pipe" });
  } catch (e) {
    process.stderr.write(`json.test: tsc reported errors:\n${(e as { stdout?: Buffer }).stdout?.toString() ?? e}\n`);
  }
  const dir = mkdtempSync(join(tmpdir(), "bpfts-json-"));
  tracer = join(dir, "bpftrace");
  symlinkSync(process.execPath, tracer);
}, 120_000);

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function bpfts(args: string[]): Run {
  const r = spawnSync(tracer, [cli, ...args], { encoding: "utf8", timeout: 30_000, env: { ...process.env, NO_COLOR: "1" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function bpftrace(args: string[]): Run {
  const r = spawnSync("bpftrace", args, { encoding: "utf8", timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Why bpftrace cannot be run here, or undefined. */
function bpftraceUnavailable(): string | undefined {
  const why = kernelUnavailable();
  if (why !== undefined) return why;
  const r = spawnSync("bpftrace", ["--version"], { encoding: "utf8" });
  if (r.error !== undefined || r.status !== 0) return "bpftrace is not installed";
  if (!/^bpftrace v0\.17\./.test(r.stdout)) return `bpftrace is not 0.17 (${r.stdout.trim()})`;
  return undefined;
}

/** A test that runs bpftrace 0.17: skipped with a reason when it is missing, a failure under CI. */
function bpftraceTest(name: string, fn: () => unknown, timeout?: number): void {
  const why = bpftraceUnavailable();
  if (why === undefined) test(name, fn, timeout);
  else if (inCI) {
    test(name, () => {
      throw new Error(`bpftrace test cannot run under CI: ${why}`);
    });
  } else {
    process.stderr.write(`skipping bpftrace test "${name}": ${why}\n`);
    test.skip(name, fn);
  }
}

/** The command line of a suite case: its words, without the program name and a `| python3` check. */
function words(text: string): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === " ") {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
    } else if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      cur = (cur ?? "") + text.slice(i + 1, end);
      i = end;
    } else {
      cur = (cur ?? "") + c;
    }
  }
  if (cur !== undefined) out.push(cur);
  return out;
}

// ---- bpftrace 0.17's json-output suite -------------------------------------------------------------

/** Cases bpfts does not run, and why. Every other case must pass. */
const NOT_RUN: Record<string, string> = {
  invalid_format: "exits with status 1 on purpose (tested in test/unit/cli.test.ts)",
  "histogram zero": "a zero()ed keyless aggregation reads as never assigned (spec/json-output.md, Differences)",
  "linear histogram zero": "a zero()ed keyless aggregation reads as never assigned (spec/json-output.md, Differences)",
  join_delim: "runs the suite's test program ./testprogs/syscall (npm run conformance runs it)",
  tuple_with_struct: "struct types are not supported",
  print_non_map_struct: "struct types are not supported",
  print_non_map_nested_struct: "struct types are not supported",
  helper_error: "struct types are not supported (-k helper errors: test/kernel/userspace.test.ts)",
};

describe.runIf(conformanceAvailable())("bpftrace 0.17's json-output suite, run by bpfts", () => {
  const cases = conformanceAvailable() ? parseSuite("json-output", readFileSync(join(CONFORMANCE_DIR, "json-output"), "utf8")) : [];

  test("every case is run or listed as not run", () => {
    const names = cases.map((c) => c.name);
    for (const n of Object.keys(NOT_RUN)) expect(names).toContain(n);
    expect(names.length).toBe(32);
  });

  for (const c of cases) {
    if (NOT_RUN[c.name] !== undefined) continue;
    kernelTest(`${c.name}`, () => {
      const [command, check] = c.run!.split(" | python3 ");
      const args = words(command!).slice(1);
      const r = bpfts(args);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      readRecords(r.stdout);
      if (check !== undefined) {
        // The suite's check: Python's json.load of the whole output equals the expected file.
        const file = /open\("runtime\/outputs\/([^"]+)"\)/.exec(check)![1]!;
        const expected: unknown = JSON.parse(readFileSync(join(CONFORMANCE_DIR, "outputs", file), "utf8"));
        expect(isDeepStrictEqual(JSON.parse(r.stdout), expected), `${r.stdout} vs ${file}`).toBe(true);
      } else {
        for (const e of c.expect) expect(r.stdout).toMatch(new RegExp(e, "m"));
      }
    });
  }
});

// ---- the same programs, bpftrace and bpfts -------------------------------------------------------------

const PROGRAMS = [
  'BEGIN { printf("a %d %s\\n", 5, "x"); printf("no newline"); printf("tab\\there \\"q\\" back\\\\slash\\n"); printf("%c%c|%5d|%-5s|%x\\n", 65, 10, 42, "ab", 255); exit() }',
  'BEGIN { print(5); print(-3); print((int32)-3); print((uint8)255); print("str"); print((1, "two", (3, 4))); print(comm); print(probe); exit() }',
  'BEGIN { @a = 1; @b = -1; @c = (uint32)4000000000; @d = "s"; @e = (1, "x"); @f[1] = 2; @f[-2] = 3; @g["a", 1] = 4; @g["b", 2] = 1; @["anon"] = 1; exit() }',
  "BEGIN { @c = count(); @c = count(); @s = sum(5); @s = sum(-7); @mi = min(3); @mi = min(-4); @mx = max(3); @mx = max(9); @av = avg(3); @av = avg(8); @st = stats(2); @st = stats(9); exit() }",
  'BEGIN { @c[1] = count(); @c[2] = count(); @c[2] = count(); @av["x"] = avg(10); @av["y"] = avg(1); @st["p", 1] = stats(3); @com[comm, 2] = 5; exit() }',
  "BEGIN { @h = hist(0); @h = hist(1); @h = hist(-5); @h = hist(3); @h = hist(1000000); @h = hist(5000000000); exit() }",
  'BEGIN { @h["a"] = hist(10); @h["b"] = hist(100); @h["b"] = hist(200); @l = lhist(-5, 0, 50, 5); @l = lhist(7, 0, 50, 5); @l = lhist(60, 0, 50, 5); @l2[1] = lhist(3, 1, 10, 3); @l3 = lhist(7, 2, 21, 4); @l3 = lhist(19, 2, 21, 4); exit() }',
  'BEGIN { @x["a"] = 1; @x["b"] = 5; @x["c"] = 3; print(@x); print(@x, 2); print(@x, 0, 2); @h[1] = hist(10); @h[2] = hist(20); print(@h, 1); print(@h, 0, 2); @st["a"] = stats(5); @st["b"] = stats(7); print(@st, 1); clear(@x); exit() }',
  'BEGIN { @empty[1] = 1; delete(@empty[1]); print(@empty); @t[1, "a"] = (2, "b"); time("%Y\\n"); exit() }',
  "BEGIN { @ = count(); @x[1] = 0; exit() }",
  'BEGIN { @p[probe] = count(); exit() } END { printf("end\\n"); @e = 1 }',
];

/** Lines with the time() text left out (it is the current time). */
function comparable(line: string): string {
  return line.replace(/^\{"type": "time", "data": "[^"]*"\}$/, '{"type": "time"}');
}

describe("bpfts -f json writes bpftrace's records", () => {
  for (const program of PROGRAMS) {
    bpftraceTest(program, () => {
      const theirs = bpftrace(["-f", "json", "-e", program]);
      const ours = bpfts(["-f", "json", "-e", program]);
      expect(theirs.status).toBe(0);
      expect(ours).toMatchObject({ status: 0, stderr: "" });
      const expected = readRecords(theirs.stdout, { allowBlank: true });
      const actual = readRecords(ours.stdout);
      const mask = (r: JsonRecord) => (r.type === "time" ? { type: "time" } : r);
      expect(actual.map(mask)).toEqual(expected.map(mask));
      // Byte for byte, but for bpftrace's two blank lines before the exit maps.
      const lines = (s: string) =>
        s
          .split("\n")
          .filter((l) => l !== "")
          .map(comparable);
      expect(lines(ours.stdout)).toEqual(lines(theirs.stdout));
      expect(theirs.stdout).toContain("\n\n\n");
    });
  }
});

describe("the CLI's JSON options", () => {
  kernelTest("-q leaves out attached_probes; -o writes the records to a file", () => {
    const quiet = bpfts(["-q", "-f", "json", "-e", 'BEGIN { printf("x"); exit() }']);
    expect(quiet).toEqual({ status: 0, stdout: '{"type": "printf", "data": "x"}\n', stderr: "" });
    const file = join(mkdtempSync(join(tmpdir(), "bpfts-json-o-")), "out.json");
    const r = bpfts(["-f", "json", "-o", file, "-e", "BEGIN { @x = 1; exit() }"]);
    expect(r).toEqual({ status: 0, stdout: "", stderr: "" });
    expect(readFileSync(file, "utf8")).toBe('{"type": "attached_probes", "data": {"probes": 1}}\n{"type": "map", "data": {"@x": 1}}\n');
  });

  kernelTest("--percentiles: JSON records and the text block", () => {
    const program = "BEGIN { @h = hist(5); @h = hist(100); @k[1] = lhist(3, 0, 10, 1); @k[2] = lhist(7, 0, 10, 1); @k[2] = lhist(8, 0, 10, 1); @x = 1; exit() }";
    const json = bpfts(["-q", "-f", "json", "--percentiles", "-e", program]);
    expect(json.status).toBe(0);
    expect(readRecords(json.stdout).filter((r) => r.type === "percentiles")).toEqual([
      { type: "percentiles", data: { "@h": { p50: 6, p90: 96, p99: 96, "p99.9": 96 } } },
      { type: "percentiles", data: { "@k": { "1": { p50: 3, p90: 3, p99: 3, "p99.9": 3 }, "2": { p50: 7, p90: 8, p99: 8, "p99.9": 8 } } } },
    ]);
    const text = bpfts(["-q", "--percentiles", "-e", program]);
    expect(text.status).toBe(0);
    expect(text.stdout.endsWith("@x: 1\n\nPercentiles (estimated from the histogram buckets):\n@h: p50 6, p90 96, p99 96, p99.9 96\n@k[1]: p50 3, p90 3, p99 3, p99.9 3\n@k[2]: p50 7, p90 8, p99 8, p99.9 8\n")).toBe(true);
    // Without the option, the text output is bpftrace's.
    expect(bpfts(["-q", "-e", program]).stdout).not.toContain("Percentiles");
  });
});
