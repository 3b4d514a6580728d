// USDT probes of the machine's binaries against `readelf -n`, `readelf -lW` and `readelf -SW`.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ElfFile } from "../../../compiler/elf/index.js";
import { checkAgainstReadelf } from "./check-usdt.js";
import { exists, haveReadelf, readelfLoads, readelfProbes, readelfSections, readelfSymbols, skipReason } from "./oracles.js";

const LIBSTDCXX = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
const PYTHON = "/usr/bin/python3.11";
const POSTGRES = "/usr/lib/postgresql/15/bin/postgres";

if (!haveReadelf) skipReason("system USDT tests", "readelf is not installed");

describe.skipIf(!haveReadelf || !exists(LIBSTDCXX))("libstdc++.so.6 USDT probes", () => {
  let elf: ElfFile;
  beforeAll(() => {
    elf = ElfFile.open(LIBSTDCXX);
  });
  afterAll(() => elf?.close());

  test("provider, name, pc and args match readelf -n", () => {
    const probes = checkAgainstReadelf(elf);
    const names = probes.filter((p) => p.provider === "libstdcxx").map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(["throw", "rethrow", "catch"]));
  });

  test("throw: object and type_info pointers in rdi and rsi, no semaphore", () => {
    const [t] = elf.findUsdt("throw", "libstdcxx");
    expect(t).toBeDefined();
    expect(t!.semaphore).toBe(0);
    expect(t!.arguments.map((a) => a.kind)).toEqual(["reg", "reg"]);
    expect(t!.arguments.map((a) => (a.kind === "reg" ? [a.reg.reg, a.size, a.signed] : undefined))).toEqual([
      ["rdi", 8, false],
      ["rsi", 8, false],
    ]);
    // The probe is inside a libstdc++ function (__cxa_throw), in .text.
    expect(elf.sectionAt(t!.pc)?.name).toBe(".text");
    expect(elf.symbolAt(t!.pc)).toBeDefined();
    expect(elf.findUsdt("throw", "no-such-provider")).toEqual([]);
  });
});

describe.skipIf(!haveReadelf || !exists(PYTHON))("python3.11 USDT probes", () => {
  let elf: ElfFile;
  beforeAll(() => {
    elf = ElfFile.open(PYTHON);
  });
  afterAll(() => elf?.close());

  test("every probe matches readelf -n", () => {
    const probes = checkAgainstReadelf(elf);
    expect(probes.map((p) => p.name)).toEqual(
      expect.arrayContaining(["function__entry", "function__return", "line", "gc__start", "gc__done"]),
    );
  });

  test("function__entry: semaphore vaddr equals readelf's; its file offset lies in the PT_LOAD holding .probes", () => {
    const [p] = elf.findUsdt("function__entry", "python");
    const [o] = readelfProbes(PYTHON).filter((x) => x.name === "function__entry");
    expect(p).toBeDefined();
    expect(p!.semaphore).not.toBe(0);
    expect(p!.semaphore).toBe(o!.semaphore);
    const probesSec = readelfSections(PYTHON).find((s) => s.name === ".probes")!;
    expect(probesSec).toBeDefined();
    expect(p!.semaphore).toBeGreaterThanOrEqual(probesSec.addr);
    expect(p!.semaphore).toBeLessThan(probesSec.addr + probesSec.size);
    expect(p!.semaphoreOffset).toBe(probesSec.offset + (p!.semaphore - probesSec.addr));
    const load = readelfLoads(PYTHON).find((l) => probesSec.addr >= l.vaddr && probesSec.addr < l.vaddr + l.filesz)!;
    expect(load.flags).toContain("W");
    expect(p!.semaphoreOffset).toBe(load.offset + (p!.semaphore - load.vaddr));
    // python3.11 is ET_EXEC, but its RW segment is still at a different file offset than vaddr.
    expect(elf.isPie).toBe(false);
    expect(p!.semaphoreOffset).not.toBe(p!.semaphore);
    expect(p!.arguments.map((a) => a.kind)).toEqual(["reg", "reg", "reg"]);
  });
});

const havePostgres = exists(POSTGRES);
if (!havePostgres) skipReason("postgres USDT tests", `${POSTGRES} does not exist on this machine`);

describe.skipIf(!haveReadelf || !havePostgres)("postgres USDT probes", () => {
  let elf: ElfFile;
  beforeAll(() => {
    elf = ElfFile.open(POSTGRES);
  });
  afterAll(() => elf?.close());

  test("every probe matches readelf -n, and every argument string parses", () => {
    const probes = checkAgainstReadelf(elf);
    expect(probes.length).toBeGreaterThan(50);
    expect(probes.every((p) => p.semaphore !== 0)).toBe(true);
  });

  test("rip-relative arguments name symbols, resolved to readelf's addresses", () => {
    const syms = readelfSymbols(POSTGRES).filter((s) => s.ndx !== "UND");
    let resolved = 0;
    for (const p of elf.usdtProbes()) {
      for (const a of p.arguments) {
        if (a.kind !== "mem" || a.symbol === undefined) continue;
        expect(a.base?.reg).toBe("rip");
        const r = syms.find((s) => s.name === a.symbol);
        expect(a.symbolAddress, a.text).toBe(r?.value);
        if (a.symbolAddress !== undefined) resolved++;
      }
    }
    expect(resolved).toBeGreaterThan(0);
  });
});
