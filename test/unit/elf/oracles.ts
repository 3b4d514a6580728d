// Runs binutils (readelf, nm) and ldconfig as oracles for the ELF reader, and parses their output.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";

export function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, env: { ...process.env, LC_ALL: "C" } });
}

export function haveCommand(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export const haveReadelf = haveCommand("readelf");
export const haveNm = haveCommand("nm");

export function exists(path: string): boolean {
  return fs.existsSync(path);
}

/** Prints why a group of tests is skipped (vitest shows skipped tests but not the reason). */
export function skipReason(what: string, reason: string): void {
  console.warn(`[elf tests] skipping ${what}: ${reason}`);
}

const num = (s: string): number => Number(s.startsWith("0x") ? BigInt(s) : BigInt(`0x${s}`));

export interface ReadelfSymbol {
  table: string;
  name: string;
  version: string | undefined;
  defaultVersion: boolean | undefined;
  value: number;
  size: number;
  type: string;
  bind: string;
  ndx: string;
}

/** `readelf -sW`: every symbol of every table; names split from "@VER"/"@@VER". */
export function readelfSymbols(path: string): ReadelfSymbol[] {
  const out: ReadelfSymbol[] = [];
  let table = "";
  const re = /^\s*\d+:\s+([0-9a-f]+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+(.*))?$/;
  for (const line of run("readelf", ["-sW", path]).split("\n")) {
    const t = /^Symbol table '([^']+)'/.exec(line);
    if (t !== null) {
      table = t[1]!;
      continue;
    }
    const m = re.exec(line);
    if (m === null) continue;
    let full = (m[7] ?? "").replace(/\s+\(\d+\)$/, "");
    let version: string | undefined;
    let defaultVersion: boolean | undefined;
    const at = full.indexOf("@", 1);
    if (at > 0) {
      defaultVersion = full.startsWith("@@", at);
      version = full.slice(at + (defaultVersion ? 2 : 1));
      full = full.slice(0, at);
    }
    const sizeText = m[2]!;
    out.push({
      table,
      name: full,
      version,
      defaultVersion,
      value: num(m[1]!),
      size: sizeText.startsWith("0x") ? Number(BigInt(sizeText)) : Number(sizeText),
      type: m[3]!,
      bind: m[4]!,
      ndx: m[6]!,
    });
  }
  return out;
}

export interface ReadelfLoad {
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  flags: string;
}

/** PT_LOAD rows of `readelf -lW`. */
export function readelfLoads(path: string): ReadelfLoad[] {
  const out: ReadelfLoad[] = [];
  const re = /^\s*LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(.+?)\s+0x[0-9a-f]+\s*$/;
  for (const line of run("readelf", ["-lW", path]).split("\n")) {
    const m = re.exec(line);
    if (m !== null) out.push({ offset: num(m[1]!), vaddr: num(m[2]!), filesz: num(m[4]!), memsz: num(m[5]!), flags: m[6]! });
  }
  return out;
}

/** The PT_LOAD computation done independently from readelf's numbers. */
export function oracleVaddrToOffset(loads: ReadelfLoad[], vaddr: number): number | undefined {
  const l = loads.find((p) => vaddr >= p.vaddr && vaddr < p.vaddr + p.filesz);
  return l === undefined ? undefined : l.offset + (vaddr - l.vaddr);
}

export interface ReadelfSection {
  index: number;
  name: string;
  type: string;
  addr: number;
  offset: number;
  size: number;
}

/** `readelf -SW` section rows. */
export function readelfSections(path: string): ReadelfSection[] {
  const out: ReadelfSection[] = [];
  const re = /^\s*\[\s*(\d+)\]\s+(\S*)\s+(\S+)\s+([0-9a-f]{8,})\s+([0-9a-f]+)\s+([0-9a-f]+)\s/;
  for (const line of run("readelf", ["-SW", path]).split("\n")) {
    const m = re.exec(line);
    if (m === null) continue;
    out.push({ index: Number(m[1]), name: m[2]!, type: m[3]!, addr: num(m[4]!), offset: num(m[5]!), size: num(m[6]!) });
  }
  return out;
}

export interface ReadelfProbe {
  provider: string;
  name: string;
  location: number;
  base: number;
  semaphore: number;
  args: string;
}

/** NT_STAPSDT notes of `readelf -n`. */
export function readelfProbes(path: string): ReadelfProbe[] {
  const out: ReadelfProbe[] = [];
  let cur: Partial<ReadelfProbe> | undefined;
  const flush = () => {
    if (cur?.provider !== undefined) out.push({ args: "", ...cur } as ReadelfProbe);
    cur = undefined;
  };
  for (const line of run("readelf", ["-n", path]).split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = /^\s+Provider: (.*)$/.exec(line)) !== null) {
      flush();
      cur = { provider: m[1]! };
    } else if (cur !== undefined && (m = /^\s+Name: (.*)$/.exec(line)) !== null) {
      cur.name = m[1]!;
    } else if (cur !== undefined && (m = /Location: 0x([0-9a-f]+), Base: 0x([0-9a-f]+), Semaphore: 0x([0-9a-f]+)/.exec(line)) !== null) {
      cur.location = num(m[1]!);
      cur.base = num(m[2]!);
      cur.semaphore = num(m[3]!);
    } else if (cur !== undefined && (m = /^\s+Arguments:\s?(.*)$/.exec(line)) !== null) {
      cur.args = m[1]!.trim();
    } else if (/^\s+(stapsdt|GNU|Owner)\s/.test(line) || /^Displaying notes/.test(line)) {
      // The next note starts: a probe block ends.
      if (cur?.location !== undefined) flush();
    }
  }
  flush();
  return out;
}

/** "Build ID: ..." of `readelf -n`. */
export function readelfBuildId(path: string): string | undefined {
  const m = /Build ID: ([0-9a-f]+)/.exec(run("readelf", ["-n", path]));
  return m?.[1];
}

/** `nm -D --defined-only` (or without -D): [address, type letter, name with version]. */
export function nmSymbols(path: string, dynamic: boolean): { address: number; letter: string; name: string }[] {
  const args = dynamic ? ["-D", "--defined-only", path] : ["--defined-only", path];
  const out = [];
  for (const line of run("nm", args).split("\n")) {
    const m = /^([0-9a-f]+) (\S) (.+)$/.exec(line);
    if (m !== null) out.push({ address: num(m[1]!), letter: m[2]!, name: m[3]! });
  }
  return out;
}

/** ldconfig is in /sbin, which a non-root PATH may lack. */
export const ldconfigPath: string | undefined = ["/sbin/ldconfig", "/usr/sbin/ldconfig"].find(exists) ??
  (haveCommand("ldconfig") ? "ldconfig" : undefined);

/** `ldconfig -p`: [name, flags text, path]. */
export function ldconfigEntries(): { name: string; flags: string; path: string }[] {
  const out = [];
  for (const line of run(ldconfigPath ?? "ldconfig", ["-p"]).split("\n")) {
    const m = /^\s+(\S+) \(([^)]*)\) => (.+)$/.exec(line);
    if (m !== null) out.push({ name: m[1]!, flags: m[2]!, path: m[3]! });
  }
  return out;
}
