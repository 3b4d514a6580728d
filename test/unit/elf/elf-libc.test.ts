// The ELF reader against the machine's libc, with readelf and nm as oracles.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ElfFile, type ElfSymbol } from "../../../compiler/elf/index.js";
import {
  exists, haveNm, haveReadelf, nmSymbols, oracleVaddrToOffset, readelfBuildId, readelfLoads,
  readelfSections, readelfSymbols, skipReason, type ReadelfSymbol,
} from "./oracles.js";

const LIBC = "/lib/x86_64-linux-gnu/libc.so.6";
const available = exists(LIBC) && haveReadelf;
if (!available) skipReason("libc tests", `${LIBC} or readelf missing`);

describe.skipIf(!available)("libc.so.6", () => {
  let elf: ElfFile;
  let oracle: ReadelfSymbol[];

  beforeAll(() => {
    elf = ElfFile.open(LIBC);
    oracle = readelfSymbols(LIBC);
  });
  afterAll(() => elf?.close());

  test("header: ET_DYN x86-64, program and section headers", () => {
    expect(elf.type).toBe("dyn");
    expect(elf.isPie).toBe(true);
    expect(elf.header.machine).toBe(62);
    const loads = readelfLoads(LIBC);
    expect(elf.loadSegments().map((p) => [p.offset, p.vaddr, p.filesz, p.memsz])).toEqual(
      loads.map((l) => [l.offset, l.vaddr, l.filesz, l.memsz]),
    );
    const secs = readelfSections(LIBC);
    expect(elf.sections.map((s) => [s.index, s.name, s.addr, s.offset, s.size])).toEqual(
      secs.map((s) => [s.index, s.name, s.addr, s.offset, s.size]),
    );
    expect(elf.section(".text")).toBeDefined();
    expect(elf.section(".no-such-section")).toBeUndefined();
  });

  test("every defined FUNC/IFUNC readelf lists appears with the same address and size", () => {
    const key = (s: { name: string; address: number; size: number }) => `${s.name}|${s.address}|${s.size}`;
    const expected = new Set(
      oracle
        .filter((s) => (s.type === "FUNC" || s.type === "IFUNC") && s.ndx !== "UND" && s.name !== "")
        .map((s) => key({ name: s.name, address: s.value, size: s.size })),
    );
    const ours = elf.symbols();
    const got = new Set(ours.map(key));
    expect(expected.size).toBeGreaterThan(1000);
    const missing = [...expected].filter((k) => !got.has(k));
    const extra = [...got].filter((k) => !expected.has(k));
    expect(missing).toEqual([]);
    expect(extra).toEqual([]);
    expect(ours.every((s) => s.type === "func" || s.type === "ifunc")).toBe(true);
    // The cached list is returned again.
    expect(elf.symbols()).toBe(ours);
  });

  test("objects are listed on request, with the same address and size as readelf", () => {
    const objs = elf.symbols({ types: ["object"] });
    const expected = oracle.filter((s) => s.type === "OBJECT" && s.ndx !== "UND");
    // Versions of one name at one address are one symbol, though their sizes can differ
    // (_sys_siglist@GLIBC_2.3.3 is 520 bytes, @GLIBC_2.2.5 512): ours has one of the sizes.
    const sizes = new Map<string, Set<number>>();
    for (const s of expected) {
      const k = `${s.name}|${s.value}`;
      sizes.set(k, (sizes.get(k) ?? new Set()).add(s.size));
    }
    const got = new Map(objs.map((s) => [`${s.name}|${s.address}`, s.size]));
    expect(objs.length).toBeGreaterThan(0);
    expect(got.size).toBe(sizes.size);
    for (const [k, set] of sizes) {
      expect(got.has(k), k).toBe(true);
      expect(set.has(got.get(k)!), k).toBe(true);
    }
  });

  test("no undefined symbols; symbol types, bindings, sections and versions match readelf", () => {
    const undef = new Set(oracle.filter((s) => s.ndx === "UND" && s.name !== "").map((s) => s.name));
    const defined = new Set(oracle.filter((s) => s.ndx !== "UND").map((s) => s.name));
    for (const name of undef) if (!defined.has(name)) expect(elf.findSymbol(name), name).toBeUndefined();

    const secNames = new Map(readelfSections(LIBC).map((s) => [String(s.index), s.name]));
    const byKey = new Map<string, ElfSymbol>(elf.allSymbols().map((s) => [`${s.name}|${s.address}`, s]));
    let checked = 0;
    const mismatches: string[] = [];
    for (const r of oracle) {
      if (r.table !== ".dynsym" || r.ndx === "UND" || (r.type !== "FUNC" && r.type !== "IFUNC")) continue;
      const s = byKey.get(`${r.name}|${r.value}`);
      if (s === undefined) {
        mismatches.push(`${r.name}: missing`);
        continue;
      }
      const want = { type: r.type === "FUNC" ? "func" : "ifunc", binding: r.bind, section: secNames.get(r.ndx) };
      const got = { type: s.type, binding: s.binding.toUpperCase(), section: s.section };
      if (JSON.stringify(want) !== JSON.stringify(got)) mismatches.push(`${r.name}: ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
      // A name+address listed under several versions keeps the default one; the others are listed.
      const versions = [s.version, ...(s.otherVersions ?? [])];
      if (r.version !== undefined && !versions.includes(r.version)) mismatches.push(`${r.name}: version ${r.version} not in ${versions}`);
      if (r.defaultVersion === true && (s.version !== r.version || s.defaultVersion !== true)) {
        mismatches.push(`${r.name}: default version ${r.version}, ours ${s.version}`);
      }
      checked++;
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBeGreaterThan(1000);
  });

  test("findSymbol prefers the default version, and accepts name@VERSION / name@@VERSION", () => {
    const versions = oracle.filter((s) => s.table === ".dynsym" && s.ndx !== "UND" && s.version !== undefined);
    // Names defined under more than one version at different addresses (memcpy, ...).
    const multi = new Map<string, ReadelfSymbol[]>();
    for (const s of versions) multi.set(s.name, [...(multi.get(s.name) ?? []), s]);
    let checked = 0;
    for (const [name, list] of multi) {
      if (new Set(list.map((s) => s.value)).size < 2) continue;
      const def = list.find((s) => s.defaultVersion === true);
      if (def === undefined || (def.type !== "FUNC" && def.type !== "IFUNC")) continue;
      expect(elf.findSymbol(name)?.address, name).toBe(def.value);
      expect(elf.findSymbol(`${name}@@${def.version}`)?.address).toBe(def.value);
      for (const old of list.filter((s) => s.defaultVersion === false)) {
        expect(elf.findSymbol(`${name}@${old.version}`)?.address, `${name}@${old.version}`).toBe(old.value);
        expect(elf.findSymbol(`${name}@@${old.version}`)).toBeUndefined();
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(3);
    expect(elf.findSymbol("malloc")?.type).toBe("func");
    expect(elf.findSymbol("no_such_symbol_here")).toBeUndefined();
  });

  test.skipIf(!haveNm)("nm -D agrees on every defined function's address", () => {
    // nm -D prints versioned names ("malloc@@GLIBC_2.2.5", "__isnanf128@GLIBC_2.26"): findSymbol takes them.
    let checked = 0;
    const mismatches: string[] = [];
    for (const n of nmSymbols(LIBC, true)) {
      if (!"TtWwiI".includes(n.letter)) continue;
      const s = elf.findSymbol(n.name);
      if (s?.address !== n.address) mismatches.push(`${n.name}: ${s?.address} != ${n.address}`);
      checked++;
    }
    expect(mismatches).toEqual([]);
    expect(checked).toBeGreaterThan(1000);
  });

  test("vaddrToOffset matches the PT_LOAD computation, and offsetToVaddr inverts it", () => {
    const loads = readelfLoads(LIBC);
    for (const name of ["malloc", "free", "printf", "memcpy", "__libc_start_main", "getpid"]) {
      const s = elf.findSymbol(name);
      expect(s, name).toBeDefined();
      const off = elf.vaddrToOffset(s!.address);
      expect(off).toBe(oracleVaddrToOffset(loads, s!.address));
      expect(elf.offsetToVaddr(off!)).toBe(s!.address);
    }
    // A data symbol in the RW segment, where file offset and vaddr usually differ.
    const rw = loads.find((l) => l.flags.includes("W"))!;
    const inRw = elf.symbols({ types: ["object"] }).find((s) => s.address >= rw.vaddr && s.address < rw.vaddr + rw.filesz)!;
    expect(inRw).toBeDefined();
    expect(elf.vaddrToOffset(inRw.address)).toBe(oracleVaddrToOffset(loads, inRw.address));
    expect(elf.vaddrToOffset(0xdead_0000_0000)).toBeUndefined();
    // .bss (beyond p_filesz) has no file offset.
    const bss = elf.section(".bss");
    if (bss !== undefined) expect(elf.vaddrToOffset(bss.addr + bss.size - 1)).toBeUndefined();
  });

  test("build id matches readelf -n", () => {
    const id = readelfBuildId(LIBC);
    expect(id).toMatch(/^[0-9a-f]{40}$/);
    expect(elf.buildId()).toBe(id);
  });

  test("symbolAt finds the function containing an address", () => {
    const malloc = elf.findSymbol("malloc")!;
    expect(elf.symbolAt(malloc.address)?.address).toBe(malloc.address);
    expect(elf.symbolAt(malloc.address + malloc.size - 1)?.address).toBe(malloc.address);
    // Every function's first byte maps back to a function at that address.
    for (const s of elf.symbols().slice(0, 500)) expect(elf.symbolAt(s.address)?.address).toBe(s.address);
    expect(elf.symbolAt(0)).toBeUndefined();
  });

  test("libc has no USDT probes of its own, or lists them consistently with readelf", () => {
    // Debian's libc is built with SDT probes (setjmp, longjmp, memory_*): check they parse.
    for (const p of elf.usdtProbes()) {
      expect(p.argumentsError, `${p.provider}:${p.name} "${p.args}"`).toBeUndefined();
      expect(p.fileOffset).toBeDefined();
    }
  });

  test("opening libc and listing all symbols (timing is printed, not asserted)", () => {
    const t0 = performance.now();
    const e = ElfFile.open(LIBC);
    const n = e.symbols().length;
    e.close();
    const ms = performance.now() - t0;
    console.log(`[elf tests] open libc + ${n} function symbols: ${ms.toFixed(1)} ms`);
    expect(n).toBeGreaterThan(1000);
  });
});
