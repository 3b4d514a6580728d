// Tiny C programs with SDT probes, built with gcc at -O0/-O2, PIE and non-PIE, one with
// semaphores: our reading checked against readelf and against the running program's own mappings.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ElfFile, parseProcMaps } from "../../../compiler/elf/index.js";
import { checkAgainstReadelf } from "./check-usdt.js";
import { haveCommand, haveReadelf, oracleVaddrToOffset, readelfLoads, readelfSymbols, skipReason } from "./oracles.js";

/** Whether gcc can compile code including <sys/sdt.h> (from systemtap-sdt-dev). */
function sdtUnavailableReason(): string | undefined {
  if (!haveReadelf) return "readelf is not installed";
  if (!haveCommand("gcc")) return "gcc is not installed";
  try {
    execFileSync("gcc", ["-fsyntax-only", "-x", "c", "-"], { input: "#include <sys/sdt.h>\n", stdio: ["pipe", "ignore", "ignore"] });
    return undefined;
  } catch {
    return "<sys/sdt.h> is missing (install systemtap-sdt-dev)";
  }
}

const reason = sdtUnavailableReason();
if (reason !== undefined) skipReason("gcc-built USDT targets", reason);

const MAIN_C = String.raw`
#include <sys/sdt.h>
#include <stdio.h>
#include <string.h>

int gcounter = 5;
long garr[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
double gd = 1.5;
extern unsigned short myprov_withsem_semaphore;
long sem_work(long a, int b);

__attribute__((noinline)) int work(int a, long b, char c, short s, int *p, double d) {
  int i;
  for (i = 0; i < a && i < 4; i++) {
    DTRACE_PROBE6(myprov, loop, a, b, c, s, garr[i], p[i]);
    STAP_PROBE3(myprov, glob, gcounter, &gcounter, gd);
  }
  STAP_PROBE2(myprov, consts, -5, 1234567890123LL);
  STAP_PROBE1(myprov, str, "hello");
  STAP_PROBE(myprov, noargs);
  return a + (int)d;
}

int main(int argc, char **argv) {
  int x[4] = {1, 2, 3, 4};
  int r = work(argc, 7, 'x', 3, x, 2.5) + (int)sem_work(argc, 2);
  /* Run-time addresses, then our own mappings: the test maps them back to file offsets. */
  printf("semaphore %p\nwork %p\n", (void *)&myprov_withsem_semaphore, (void *)&work);
  FILE *f = fopen("/proc/self/maps", "r");
  char line[4096];
  while (f && fgets(line, sizeof line, f)) fputs(line, stdout);
  return r > 1000;
}
`;

const SEM_C = String.raw`
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
unsigned short myprov_withsem_semaphore __attribute__((unused)) __attribute__((section(".probes")));
unsigned short myprov_withsem2_semaphore __attribute__((unused)) __attribute__((section(".probes")));
long sem_work(long a, int b) {
  if (myprov_withsem_semaphore) STAP_PROBE2(myprov, withsem, a, b);
  if (myprov_withsem2_semaphore) STAP_PROBE1(myprov, withsem2, a * 3);
  return a + b;
}
`;

interface Variant {
  name: string;
  opt: string;
  pie: boolean;
}
const VARIANTS: Variant[] = [
  { name: "O0-pie", opt: "-O0", pie: true },
  { name: "O2-pie", opt: "-O2", pie: true },
  { name: "O0-nopie", opt: "-O0", pie: false },
  { name: "O2-nopie", opt: "-O2", pie: false },
];

describe.skipIf(reason !== undefined)("gcc-built SDT targets", () => {
  let dir: string;
  const bin = (v: Variant) => path.join(dir, `t-${v.name}`);

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bpfts-elf-"));
    fs.writeFileSync(path.join(dir, "main.c"), MAIN_C);
    fs.writeFileSync(path.join(dir, "sem.c"), SEM_C);
    for (const v of VARIANTS) {
      const pieFlags = v.pie ? ["-fPIE", "-pie"] : ["-fno-pie", "-no-pie"];
      execFileSync("gcc", [v.opt, ...pieFlags, "-o", bin(v), path.join(dir, "main.c"), path.join(dir, "sem.c")], {
        stdio: ["ignore", "ignore", "pipe"],
      });
    }
  });
  afterAll(() => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe.each(VARIANTS)("$name", (v) => {
    test("file type, and every probe matches readelf -n (pc, semaphore, file offsets, args)", () => {
      ElfFile.with(bin(v), (elf) => {
        expect(elf.type).toBe(v.pie ? "dyn" : "exec");
        expect(elf.isPie).toBe(v.pie);
        expect(elf.interpreter()).toMatch(/ld-linux-x86-64\.so\.2$/);
        const probes = checkAgainstReadelf(elf);
        expect(probes.map((p) => p.name)).toEqual(
          expect.arrayContaining(["loop", "glob", "consts", "str", "noargs", "withsem", "withsem2"]),
        );
        const withSem = probes.filter((p) => p.semaphore !== 0).map((p) => p.name).sort();
        expect(withSem).toEqual(["withsem", "withsem2"]);
        expect(elf.findUsdt("noargs")[0]!.arguments).toEqual([]);
      });
    });

    test("symbols and their file offsets match readelf", () => {
      const loads = readelfLoads(bin(v));
      const oracle = readelfSymbols(bin(v)).filter((s) => s.ndx !== "UND");
      ElfFile.with(bin(v), (elf) => {
        for (const name of ["work", "main", "sem_work", "gcounter", "garr", "gd", "myprov_withsem_semaphore"]) {
          const r = oracle.find((s) => s.name === name)!;
          expect(r, name).toBeDefined();
          const s = elf.symbolsNamed(name)[0];
          expect([s?.address, s?.size], name).toEqual([r.value, r.size]);
          expect(elf.vaddrToOffset(s!.address), name).toBe(oracleVaddrToOffset(loads, r.value));
        }
        expect(elf.findSymbol("work")?.type).toBe("func");
        expect(elf.findSymbol("gcounter")?.type).toBe("object");
        expect(elf.symbols().some((s) => s.name === "gcounter")).toBe(false);
        // The semaphore symbol is where the note says.
        const sem = elf.findUsdt("withsem")[0]!;
        expect(elf.findSymbol("myprov_withsem_semaphore")?.address).toBe(sem.semaphore);
        expect(elf.section(".probes")?.addr).toBeLessThanOrEqual(sem.semaphore);
      });
    });

    test("argument symbols resolve to readelf's addresses; constants keep their values", () => {
      const oracle = readelfSymbols(bin(v)).filter((s) => s.ndx !== "UND");
      ElfFile.with(bin(v), (elf) => {
        for (const p of elf.usdtProbes()) {
          for (const a of p.arguments) {
            if ((a.kind === "mem" || a.kind === "const") && a.symbol !== undefined) {
              expect(a.symbolAddress, a.text).toBe(oracle.find((s) => s.name === a.symbol)?.value);
            }
          }
        }
        const consts = elf.findUsdt("consts")[0]!.arguments;
        expect(consts.map((a) => (a.kind === "const" ? [a.value, a.size, a.signed] : a.kind))).toEqual([
          [-5n, 4, true],
          [1234567890123n, 8, true],
        ]);
        const loop = elf.findUsdt("loop")[0]!.arguments;
        expect(loop.map((a) => [a.size, a.signed])).toEqual([[4, true], [8, true], [1, true], [2, true], [8, true], [4, true]]);
        const glob = elf.findUsdt("glob")[0]!.arguments;
        expect(glob.map((a) => a.float)).toEqual([false, false, true]);
      });
    });

    test("semaphore and function file offsets agree with the running program's mappings", () => {
      const out = execFileSync(bin(v), [], { encoding: "utf8" });
      const semAddr = BigInt(/^semaphore (0x[0-9a-f]+)$/m.exec(out)![1]!);
      const workAddr = BigInt(/^work (0x[0-9a-f]+)$/m.exec(out)![1]!);
      const maps = parseProcMaps(out.split("\n").filter((l) => /^[0-9a-f]+-[0-9a-f]+ /.test(l)).join("\n"));
      const fileOffsetAt = (addr: bigint): number => {
        const m = maps.find((x) => addr >= x.start && addr < x.end && x.path === bin(v))!;
        expect(m, `mapping of 0x${addr.toString(16)}`).toBeDefined();
        return Number(addr - m.start + m.offset);
      };
      ElfFile.with(bin(v), (elf) => {
        const sem = elf.findUsdt("withsem")[0]!;
        expect(sem.semaphoreOffset).toBe(fileOffsetAt(semAddr));
        if (v.pie) expect(sem.semaphoreOffset).not.toBe(sem.semaphore); // the case that matters for PIE
        expect(elf.vaddrToOffset(elf.findSymbol("work")!.address)).toBe(fileOffsetAt(workAddr));
        if (!v.pie) {
          // ET_EXEC: link-time addresses are run-time addresses.
          expect(BigInt(sem.semaphore)).toBe(semAddr);
          expect(BigInt(elf.findSymbol("work")!.address)).toBe(workAddr);
        }
      });
    });
  });

  test("arguments cover registers, memory (base, index, rip-relative) and constants", () => {
    const forms = new Set<string>();
    for (const v of VARIANTS) {
      ElfFile.with(bin(v), (elf) => {
        for (const p of elf.usdtProbes()) {
          for (const a of p.arguments) {
            if (a.kind === "mem") {
              if (a.base?.reg === "rip") forms.add("mem-rip");
              else if (a.index !== undefined) forms.add("mem-index");
              else if (a.base !== undefined) forms.add("mem-base");
              else forms.add("mem-absolute");
            } else {
              forms.add(a.kind);
            }
          }
        }
      });
    }
    expect([...forms].sort()).toEqual(expect.arrayContaining(["const", "mem-base", "mem-index", "mem-rip", "reg"]));
  });

  test("notes moved after linking (prelink-style): pc and semaphore shift by .stapsdt.base minus the note's base", () => {
    const v = VARIANTS[1]!;
    const copy = path.join(dir, "t-moved");
    fs.copyFileSync(bin(v), copy);
    const before = ElfFile.with(bin(v), (elf) => ({
      noteOffset: elf.section(".note.stapsdt")!.offset,
      probes: elf.usdtProbes(),
    }));
    // Rewrite the base field of every note to 0x40 below the real .stapsdt.base address.
    const fd = fs.openSync(copy, "r+");
    try {
      const secSize = ElfFile.with(copy, (e) => e.section(".note.stapsdt")!.size);
      const buf = Buffer.alloc(secSize);
      fs.readSync(fd, buf, 0, secSize, before.noteOffset);
      let off = 0;
      while (off + 12 <= buf.length) {
        const namesz = buf.readUInt32LE(off);
        const descsz = buf.readUInt32LE(off + 4);
        const desc = off + 12 + Math.ceil(namesz / 4) * 4;
        buf.writeBigUInt64LE(buf.readBigUInt64LE(desc + 8) - 0x40n, desc + 8);
        off = desc + Math.ceil(descsz / 4) * 4;
      }
      fs.writeSync(fd, buf, 0, buf.length, before.noteOffset);
    } finally {
      fs.closeSync(fd);
    }
    ElfFile.with(copy, (elf) => {
      const moved = checkAgainstReadelf(elf, { sectionCheck: false });
      expect(moved.length).toBe(before.probes.length);
      moved.forEach((p, i) => {
        const b = before.probes[i]!;
        expect(p.noteBase).toBe(b.noteBase - 0x40);
        expect(p.notePc).toBe(b.notePc);
        expect(p.pc).toBe(b.pc + 0x40);
        expect(p.semaphore).toBe(b.semaphore === 0 ? 0 : b.semaphore + 0x40);
      });
    });
  });
});
