// Malformed and unsupported files, files without section headers, and the file's lifecycle.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ElfError, ElfFile } from "../../../compiler/elf/index.js";
import { exists, haveReadelf, readelfBuildId, readelfProbes, skipReason } from "./oracles.js";

const SMALL = ["/usr/bin/env", "/bin/true", "/usr/bin/true"].find(exists);
const LIBSTDCXX = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
if (SMALL === undefined) skipReason("ELF error tests", "no /usr/bin/env or /bin/true to copy");

function expectElfError(fn: () => unknown, re: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ElfError);
  expect((err as Error).message).toMatch(re);
}

describe.skipIf(SMALL === undefined)("ELF errors and edge cases", () => {
  let dir: string;
  const file = (name: string) => path.join(dir, name);
  /** A copy of the small binary with some bytes changed. */
  function patched(name: string, patch: (b: Buffer) => void, source = SMALL!): string {
    const b = fs.readFileSync(source);
    patch(b);
    fs.writeFileSync(file(name), b);
    return file(name);
  }

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bpfts-elf-err-"));
  });
  afterAll(() => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("a missing file, a directory, and a text file", () => {
    expectElfError(() => ElfFile.open(file("missing")), /cannot open/);
    expectElfError(() => ElfFile.open(dir), /not a regular file|cannot open/);
    fs.writeFileSync(file("text"), "#!/bin/sh\necho this is not an ELF file, but it is long enough to have a header\n");
    expectElfError(() => ElfFile.open(file("text")), /not an ELF file/);
    fs.writeFileSync(file("tiny"), "\x7fELF");
    expectElfError(() => ElfFile.open(file("tiny")), /too small/);
  });

  test("the message names the file", () => {
    expectElfError(() => ElfFile.open(file("missing")), new RegExp(file("missing").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  });

  test("ELF32, big-endian and other machines are rejected with the reason", () => {
    expectElfError(() => ElfFile.open(patched("elf32", (b) => { b[4] = 1; })), /ELF class 1/);
    expectElfError(() => ElfFile.open(patched("be", (b) => { b[5] = 2; })), /byte order/);
    expectElfError(() => ElfFile.open(patched("arm64", (b) => b.writeUInt16LE(183, 18))), /machine 183/);
  });

  test("truncated files fail on the headers that are cut off", () => {
    const b = fs.readFileSync(SMALL!);
    fs.writeFileSync(file("cut"), b.subarray(0, 100));
    expectElfError(() => ElfFile.open(file("cut")), /past the end of the file/);
  });

  test.skipIf(!haveReadelf)("a file without section headers: build id from PT_NOTE", () => {
    const p = patched("nosections", (b) => {
      b.writeBigUInt64LE(0n, 40); // e_shoff
      b.writeUInt16LE(0, 60); // e_shnum
      b.writeUInt16LE(0, 62); // e_shstrndx
    });
    ElfFile.with(p, (elf) => {
      expect(elf.sections).toEqual([]);
      expect(elf.symbols()).toEqual([]);
      expect(elf.usdtProbes()).toEqual([]);
      expect(elf.buildId()).toBe(readelfBuildId(SMALL!));
      expect(elf.loadSegments().length).toBeGreaterThan(0);
    });
  });

  test.skipIf(!haveReadelf || !exists(LIBSTDCXX))("another machine with anyMachine: notes parse, arguments do not", () => {
    const p = patched("other-machine", (b) => b.writeUInt16LE(183, 18), LIBSTDCXX);
    expectElfError(() => ElfFile.open(p), /machine 183/);
    ElfFile.with(
      p,
      (elf) => {
        const probes = elf.usdtProbes();
        expect(probes.map((x) => x.name)).toEqual(readelfProbes(LIBSTDCXX).map((x) => x.name));
        for (const x of probes) {
          expect(x.arguments).toEqual([]);
          expect(x.argumentsError).toMatch(/only implemented for x86-64/);
        }
        expect(elf.symbols().length).toBeGreaterThan(100);
      },
      { anyMachine: true },
    );
  });

  test("close(): computed results stay, new reads fail; close twice is fine", () => {
    const elf = ElfFile.open(SMALL!);
    const syms = elf.symbols();
    elf.close();
    elf.close();
    expect(elf.symbols()).toBe(syms);
    expectElfError(() => elf.buildId(), /closed/);
  });

  test("ElfFile.with closes the file even when the callback throws", () => {
    let kept: ElfFile | undefined;
    expect(() =>
      ElfFile.with(SMALL!, (elf) => {
        kept = elf;
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expectElfError(() => kept!.readAt(0, 4), /closed/);
  });
});
