// Shared check: our USDT probes against readelf's view of the same file.

import { expect } from "vitest";
import type { ElfFile, UsdtProbe } from "../../../compiler/elf/index.js";
import { oracleVaddrToOffset, readelfLoads, readelfProbes, readelfSections } from "./oracles.js";

/**
 * Checks every probe of a file against readelf; returns our probes. `sectionCheck: false` skips
 * looking the semaphore up in the section table (for files whose notes were rewritten).
 */
export function checkAgainstReadelf(elf: ElfFile, opts: { sectionCheck?: boolean } = {}): readonly UsdtProbe[] {
  const path = elf.path;
  const oracle = readelfProbes(path);
  const loads = readelfLoads(path);
  const sections = readelfSections(path);
  const baseSec = sections.find((s) => s.name === ".stapsdt.base");
  const probes = elf.usdtProbes();
  expect(probes.length).toBe(oracle.length);
  expect(oracle.length).toBeGreaterThan(0);
  probes.forEach((p, i) => {
    const o = oracle[i]!;
    const id = `${o.provider}:${o.name}`;
    const adjust = baseSec === undefined ? 0 : baseSec.addr - o.base;
    expect([p.provider, p.name, p.args], id).toEqual([o.provider, o.name, o.args]);
    expect([p.notePc, p.noteBase, p.noteSemaphore], id).toEqual([o.location, o.base, o.semaphore]);
    expect(p.pc, id).toBe(o.location + adjust);
    expect(p.fileOffset, id).toBe(oracleVaddrToOffset(loads, p.pc));
    expect(p.semaphore, id).toBe(o.semaphore === 0 ? 0 : o.semaphore + adjust);
    if (o.semaphore === 0) {
      expect(p.semaphoreOffset, id).toBeUndefined();
    } else {
      // Through PT_LOAD, and independently through the section holding the semaphore.
      expect(p.semaphoreOffset, id).toBe(oracleVaddrToOffset(loads, p.semaphore));
      if (opts.sectionCheck === false) return;
      const sec = sections.find((s) => s.type === "PROGBITS" && p.semaphore >= s.addr && p.semaphore < s.addr + s.size)!;
      expect(sec, id).toBeDefined();
      expect(p.semaphoreOffset, id).toBe(sec.offset + (p.semaphore - sec.addr));
    }
  });
  probes.forEach((p, i) => {
    const o = oracle[i]!;
    const id = `${o.provider}:${o.name}`;
    expect(p.argumentsError, `${id} "${p.args}"`).toBeUndefined();
    expect(p.arguments.map((a) => a.text).join(" "), id).toBe(o.args.trim().split(/\s+/).filter(Boolean).join(" "));
  });
  return probes;
}
