// buf, bswap, ntop, pton, strcontains, strerror, strftime, kaddr, cgroup_path and the builtins
// cgroup, numaid, rand, username and sarg0.. run for real (through the CLI), with bpftrace 0.17's
// output; and macros from #include and #define.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { kernelTest } from "../support/kernel.js";

const root = new URL("../../", import.meta.url).pathname;
const cli = `${root}dist/runtime/cli.js`;
const dir = mkdtempSync(join(tmpdir(), "bpfts-functions-"));
const target = join(dir, "target");

// take() gets bytes and their length; too_many_args() gets its last two arguments on the stack.
const SOURCE = `
#define ARG(x) int x __attribute__((unused))
__attribute__((noipa)) void too_many_args(ARG(a), ARG(b), ARG(c), ARG(d), ARG(e), ARG(f), ARG(g), ARG(h)) { __asm__ volatile(""); }
__attribute__((noipa)) void take(const char *p, int n) { __asm__ volatile("" :: "r"(p), "r"(n) : "memory"); }
int main(void) {
  too_many_args(0, 1, 2, 4, 8, 16, 32, 64);
  // On the stack: a page of .rodata not yet touched would read as zeros.
  char s[] = "\\x01hello\\"\\xff";
  take(s, 8);
  return 0;
}
`;

beforeAll(() => {
  if (!existsSync(cli)) execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, "-p", "tsconfig.json"], { cwd: root });
  writeFileSync(join(dir, "target.c"), SOURCE);
  execFileSync("gcc", ["-O1", "-g", "-o", target, join(dir, "target.c")]);
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 30_000, cwd: dir });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** Runs a BEGIN program (exit() at its end) and returns what it printed, banner cut. */
function begin(body: string, params: string[] = [], options: string[] = []): string {
  const r = run([...options, "-e", `BEGIN { ${body} exit(); }`, ...params]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout.replace(/^Attaching 1 probe...\n/, "");
}

kernelTest("sarg0 and sarg1: the arguments on the stack", () => {
  const r = run(["-e", `uprobe:${target}:too_many_args { printf("%d %d %d\\n", arg5, sarg0, sarg1); exit(); }`, "-c", target]);
  expect(r.stderr).toBe("");
  expect(r.stdout).toBe("Attaching 1 probe...\n16 32 64\n\n\n");
}, 60_000);

kernelTest("buf() of user memory: %r, %rx, %rh, a run-time length, map keys and JSON", () => {
  const prog = `uprobe:${target}:take { printf("%r|%rx|%rh\\n", buf(arg0, arg1), buf(arg0, 3), buf(arg0, 2)); @k[buf(arg0, 3)] = count(); @v = buf(arg0 + 1, arg1 - 3); $s = str(arg0); printf("%d %d\\n", strcontains($s, "ell"), strcontains($s, "elk")); exit(); }`;
  const r = run(["-e", prog, "-c", target]);
  expect(r.stderr).toBe("");
  expect(r.stdout).toBe('Attaching 1 probe...\n\\x01hello"\\xff|\\x01\\x68\\x65|01 68\n1 0\n\n\n@k[\\x01he]: 1\n@v: hello\n');
  const j = run(["-f", "json", "-e", prog, "-c", target]);
  expect(j.stdout.split("\n").filter((l) => l !== "")).toEqual([
    '{"type": "attached_probes", "data": {"probes": 1}}',
    '{"type": "printf", "data": "\\\\x01hello\\"\\\\xff|\\\\x01\\\\x68\\\\x65|01 68\\n"}',
    '{"type": "printf", "data": "1 0\\n"}',
    '{"type": "map", "data": {"@k": {"\\\\x01he": 1}}}',
    '{"type": "map", "data": {"@v": "hello"}}',
  ]);
}, 60_000);

kernelTest("strcontains of long run-time strings (up to 16384 byte pairs each)", () => {
  const prog = `uprobe:${target}:take { $h = str(arg0, 1024); printf("%d %d %d %d\\n", strcontains($h, str(arg0 + 2, 16)), strcontains($h, "llo\\""), strcontains($h, "lol"), strcontains(str(arg0 + 3, 256), str(arg0, 64))); exit(); }`;
  const r = run(["-e", prog, "-c", target]);
  expect(r.stderr).toBe("");
  expect(r.stdout).toBe("Attaching 1 probe...\n1 1 0 0\n\n\n");
}, 60_000);

kernelTest("buf() values: equality, keys of several parts, hist keys, and a map value", () => {
  expect(begin('$a = buf("hi", 2); $b = buf("bye", 3); $c = buf("hix", 2); printf("%d %d %d\\n", $a == $a, $a != $b, $a == $c); @[buf("ok_key", 8), 1] = hist(1); @v = buf("hello", $1);', ["5"])).toBe(
    "1 1 1\n\n\n@[ok_key\\x00\\x00, 1]: \n[1]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n@v: hello\n",
  );
});

kernelTest("bswap of run-time values of each size", () => {
  expect(begin('$x = 0x1122334455667788 + nsecs * 0; printf("%lx %x %x %x\\n", bswap($x), bswap((uint32)$x), bswap((int16)$x), bswap((uint8)$x));')).toBe("8877665544332211 88776655 8877 88\n\n\n");
});

kernelTest("ntop and pton", () => {
  expect(begin('$x = 0x0100007f + nsecs * 0; printf("%s %s %s %s\\n", ntop($x), ntop(10, pton("fe80::1:2")), ntop(pton("10.0.0.1")), ntop(2, pton("::1"))); @[ntop($x)] = 1;')).toBe("127.0.0.1 fe80::1:2 10.0.0.1 0.0.0.0\n\n\n@[127.0.0.1]: 1\n");
});

kernelTest("strerror, with the macros of --include errno.h", () => {
  expect(begin("print(strerror(EPERM)); print(strerror(ENOENT + nsecs * 0));", [], ["--include", "errno.h"])).toBe("Operation not permitted\nNo such file or directory\n\n\n");
}, 30_000);

kernelTest("#define and #include lines of the script", () => {
  const r = run(["-e", '#include <errno.h>\n#define ANSWER (EAGAIN * 2)\n#define GREETING "hi"\nBEGIN { printf("%d %s\\n", ANSWER, GREETING); exit(); }']);
  expect(r.stderr).toBe("");
  expect(r.stdout).toBe("Attaching 1 probe...\n22 hi\n\n\n");
  const bad = run(["-e", "#include <bpfts/no/such.h>\nBEGIN { exit(); }"]);
  expect(bad.status).toBe(1);
  expect(bad.stderr).toContain("stdin:1:10: error: 'bpfts/no/such.h' file not found");
});

kernelTest("strftime: the wall-clock time of nsecs", () => {
  const before = Math.floor(Date.now() / 1000);
  const out = begin('printf("%s\\n", strftime("%s", nsecs)); @[strftime("%Y", nsecs)] = 1; $t = (1, strftime("%H:%M:%S.%f", nsecs)); print($t);');
  const after = Math.ceil(Date.now() / 1000);
  const m = /^(\d+)\n\(1, \d\d:\d\d:\d\d\.\d{6}\)\n\n\n@\[(\d{4})\]: 1\n$/.exec(out);
  expect(m).not.toBeNull();
  expect(Number(m![1])).toBeGreaterThanOrEqual(before - 1);
  expect(Number(m![1])).toBeLessThanOrEqual(after + 1);
  expect(m![2]).toBe(String(new Date().getFullYear()));
});

kernelTest("cgroup, cgroup_path, numaid, rand, username", () => {
  const out = begin('printf("%d %d %d|%s|%s\\n", cgroup, numaid, rand, username, cgroup_path(cgroup));');
  const m = /^(\d+) (\d+) (-?\d+)\|(.*)\|(.*)\n\n\n$/.exec(out);
  expect(m).not.toBeNull();
  expect(m![4]).toBe(userInfo().username);
  // Our own cgroup in the unified hierarchy, found by its id.
  const own = readFileSync("/proc/self/cgroup", "utf8").split("\n").find((l) => l.startsWith("0::"));
  const mount = readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => / - cgroup2 /.test(l));
  if (own !== undefined && mount !== undefined) {
    const path = own.slice(3);
    const rootDir = mount.split(" ")[4]!;
    expect(BigInt(m![1]!)).toBe(statSync(join(rootDir, path), { bigint: true }).ino);
    expect(m![5]!.split(",")[0]).toBe(`unified:${path}`);
  }
});

kernelTest("kaddr: the address /proc/kallsyms gives, also from a positional parameter", () => {
  const line = readFileSync("/proc/kallsyms", "latin1").split("\n").find((l) => l.endsWith(" vfs_read"))!;
  const addr = BigInt(`0x${line.split(" ")[0]}`);
  expect(begin('printf("%lu\\n", kaddr("vfs_read")); @ = kaddr(str($1));', ["vfs_read"])).toBe(`${addr}\n\n\n@: ${addr}\n`);
  const bad = run(["-e", 'BEGIN { print(kaddr("asdfzzzzzzz")) }']);
  expect(bad.stderr).toContain("error: Failed to resolve kernel symbol: asdfzzzzzzz");
});

kernelTest("a string parameter in pointer arithmetic", () => {
  expect(begin('printf("%s\\n", str($1 + 1));', ["hello"])).toBe("ello\n\n\n");
});
