// Library and target resolution (ld.so.cache, standard dirs, PATH) and /proc/PID/maps.

import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  findInPath, isLibraryName, isX86_64Entry, mappedFiles, parseLdSoCache, parseProcMaps, processMappings,
  readLdSoCache, resolveLibrary, resolveTarget, TargetNotFoundError,
} from "../../../compiler/elf/index.js";
import { exists, ldconfigEntries, ldconfigPath, skipReason } from "./oracles.js";

const CACHE = "/etc/ld.so.cache";
const haveCache = exists(CACHE) && ldconfigPath !== undefined;
if (!haveCache) skipReason("ld.so.cache oracle tests", "/etc/ld.so.cache or ldconfig is missing");

/** The x86-64 path ldconfig -p gives for a soname. */
function ldconfigPathOf(name: string): string | undefined {
  return ldconfigEntries().find((e) => e.name === name && e.flags.startsWith("libc6,x86-64"))?.path;
}

describe.skipIf(!haveCache)("ld.so.cache", () => {
  test("parses the machine's cache: the same entries as ldconfig -p, in the same order", () => {
    const ours = parseLdSoCache(fs.readFileSync(CACHE));
    const oracle = ldconfigEntries();
    expect(ours.length).toBeGreaterThan(10);
    expect(ours.map((e) => `${e.name} => ${e.path}`)).toEqual(oracle.map((e) => `${e.name} => ${e.path}`));
    // "libc6,x86-64" entries are exactly those we call x86-64.
    expect(ours.map(isX86_64Entry)).toEqual(oracle.map((e) => /^libc6,x86-64(,|$)/.test(e.flags)));
  });

  test("readLdSoCache memoizes until the file changes, and gives [] for a missing file", () => {
    expect(readLdSoCache(CACHE)).toBe(readLdSoCache(CACHE));
    expect(readLdSoCache("/nonexistent/ld.so.cache")).toEqual([]);
  });

  test("bare names, sonames and lib-less names resolve like the loader", () => {
    const libc = ldconfigPathOf("libc.so.6")!;
    const libstdcxx = ldconfigPathOf("libstdc++.so.6");
    expect(libc).toBeDefined();
    expect(resolveTarget("libc")).toBe(libc);
    expect(resolveTarget("libc.so.6")).toBe(libc);
    expect(resolveLibrary("libc")).toBe(libc);
    expect(resolveTarget("c", { pathEnv: "" })).toBe(libc);
    if (libstdcxx !== undefined) {
      expect(resolveTarget("libstdc++")).toBe(libstdcxx);
      expect(resolveTarget("libstdc++.so.6")).toBe(libstdcxx);
    }
    expect(resolveLibrary("libno-such-library-bpfts")).toBeUndefined();
  });
});

describe("synthetic ld.so.cache files", () => {
  /** Builds a new-format cache, optionally behind an old-format table. */
  function buildCache(entries: { name: string; path: string; flags: number }[], oldPrefix: number | undefined): Buffer {
    const header = 48;
    const strBase = header + entries.length * 24;
    const strings: Buffer[] = [];
    let strLen = 0;
    const addStr = (s: string) => {
      const off = strBase + strLen;
      const b = Buffer.from(`${s}\0`);
      strings.push(b);
      strLen += b.length;
      return off;
    };
    const table = Buffer.alloc(header + entries.length * 24);
    table.write("glibc-ld.so.cache1.1", 0, "latin1");
    table.writeUInt32LE(entries.length, 20);
    table.writeUInt32LE(0, 24);
    table[28] = 2; // little-endian
    entries.forEach((e, i) => {
      const o = header + i * 24;
      table.writeInt32LE(e.flags, o);
      table.writeUInt32LE(addStr(e.name), o + 4);
      table.writeUInt32LE(addStr(e.path), o + 8);
    });
    const newPart = Buffer.concat([table, ...strings]);
    if (oldPrefix === undefined) return newPart;
    const old = Buffer.alloc(16 + oldPrefix * 12);
    old.write("ld.so-1.7.0", 0, "latin1");
    old.writeUInt32LE(oldPrefix, 12);
    const pad = Buffer.alloc((8 - (old.length % 8)) % 8);
    return Buffer.concat([old, pad, newPart]);
  }

  const entries = [
    { name: "libfoo.so.2", path: "/opt/x/libfoo.so.2", flags: 0x0303 },
    { name: "libfoo.so.2", path: "/opt/x32/libfoo.so.2", flags: 0x0003 },
    { name: "libbar.so", path: "/opt/x/libbar.so", flags: 0x0303 },
  ];

  test("new format", () => {
    const parsed = parseLdSoCache(buildCache(entries, undefined));
    expect(parsed.map((e) => [e.name, e.path, e.flags])).toEqual(entries.map((e) => [e.name, e.path, e.flags]));
    expect(parsed.map(isX86_64Entry)).toEqual([true, false, true]);
  });

  test("new format after an old-format table", () => {
    const parsed = parseLdSoCache(buildCache(entries, 3));
    expect(parsed.map((e) => e.path)).toEqual(entries.map((e) => e.path));
  });

  test("garbage is rejected", () => {
    expect(() => parseLdSoCache(Buffer.from("not a cache at all, really not"))).toThrow(/unrecognized format/);
    expect(() => parseLdSoCache(buildCache(entries, undefined).subarray(0, 60))).toThrow(/truncated/);
  });
});

describe("library directories and PATH", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bpfts-libs-"));
    const elfMagic = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
    fs.writeFileSync(path.join(dir, "libfoo.so.1.2.3"), elfMagic);
    fs.writeFileSync(path.join(dir, "libfoo.so"), "/* GNU ld script */\nINPUT(libfoo.so.1)\n");
    fs.writeFileSync(path.join(dir, "libscript.so"), "/* GNU ld script */\n");
    fs.writeFileSync(path.join(dir, "libexact.so"), elfMagic);
    fs.writeFileSync(path.join(dir, "mytool"), "#!/bin/sh\n", { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "notexec"), "data", { mode: 0o644 });
  });
  afterAll(() => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  const noCache = () => ({ ldSoCache: "/nonexistent/ld.so.cache", libraryDirs: [dir] });

  test("versioned ELF files beat an unversioned linker script", () => {
    expect(resolveLibrary("libfoo", noCache())).toBe(path.join(dir, "libfoo.so.1.2.3"));
    expect(resolveLibrary("libexact", noCache())).toBe(path.join(dir, "libexact.so"));
    expect(resolveLibrary("libscript", noCache())).toBeUndefined();
    expect(resolveLibrary("libfoo.so.1.2.3", noCache())).toBe(path.join(dir, "libfoo.so.1.2.3"));
  });

  test("falls back to the standard directories when the cache has nothing", () => {
    const libc = resolveLibrary("libc", { ldSoCache: "/nonexistent/ld.so.cache" });
    expect(libc).toBeDefined();
    expect(path.basename(libc!)).toBe("libc.so.6");
  });

  test("paths are returned as they are (absolute), commands come from PATH", () => {
    expect(resolveTarget("/usr/bin/env")).toBe("/usr/bin/env");
    expect(resolveTarget("./mytool", { cwd: dir })).toBe(path.join(dir, "mytool"));
    expect(resolveTarget("mytool", { pathEnv: `/nonexistent:${dir}` })).toBe(path.join(dir, "mytool"));
    expect(findInPath("notexec", dir)).toBeUndefined();
    expect(findInPath("sh", "/bin:/usr/bin")).toMatch(/\/sh$/);
  });

  test("unknown targets throw TargetNotFoundError listing what was searched", () => {
    let err: unknown;
    try {
      resolveTarget("no-such-command-bpfts", { pathEnv: dir, ...noCache() });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TargetNotFoundError);
    expect((err as TargetNotFoundError).message).toMatch(/cannot find "no-such-command-bpfts"/);
    expect((err as TargetNotFoundError).tried).toContain("PATH");
    expect(() => resolveTarget("/no/such/file")).toThrow(TargetNotFoundError);
    expect(() => resolveTarget("libno-such-lib-bpfts", noCache())).toThrow(/searched/);
    expect(() => resolveTarget("")).toThrow(TargetNotFoundError);
  });

  test("isLibraryName", () => {
    expect(["libc", "libc.so.6", "libstdc++.so.6", "foo.so", "foo.so.1"].every(isLibraryName)).toBe(true);
    expect(["bash", "python3.11", "/lib/libc.so.6", "./libc.so.6"].some(isLibraryName)).toBe(false);
  });
});

describe("/proc/PID/maps", () => {
  test("parseProcMaps: files, pseudo-paths, anonymous, deleted, spaces, 64-bit addresses", () => {
    const text = [
      "55d0c8a00000-55d0c8a28000 r--p 00000000 08:01 1234                       /usr/bin/my prog",
      "7f1c2a000000-7f1c2a028000 r-xp 00028000 08:01 5678                       /usr/lib/x86_64-linux-gnu/libc.so.6",
      "7f1c2b000000-7f1c2b001000 rw-p 00000000 00:00 0 ",
      "7f1c2c000000-7f1c2c001000 rw-s 00000000 00:05 99                         /memfd:x (deleted)",
      "7ffd4a000000-7ffd4a021000 rw-p 00000000 00:00 0                          [stack]",
      "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
    ].join("\n");
    const maps = parseProcMaps(text);
    expect(maps.map((m) => m.path)).toEqual([
      "/usr/bin/my prog", "/usr/lib/x86_64-linux-gnu/libc.so.6", "", "/memfd:x", "[stack]", "[vsyscall]",
    ]);
    expect(maps[1]).toEqual({
      start: 0x7f1c2a000000n, end: 0x7f1c2a028000n, perms: "r-xp", offset: 0x28000n, dev: "08:01", inode: 5678,
      path: "/usr/lib/x86_64-linux-gnu/libc.so.6", deleted: false,
    });
    expect(maps[3]!.deleted).toBe(true);
    expect(maps[5]!.start).toBe(0xffffffffff600000n);
  });

  test("processMappings('self') lists this process's executable and libc", () => {
    const maps = processMappings("self");
    const exe = fs.realpathSync(process.execPath);
    expect(maps.some((m) => m.path === exe && m.perms.includes("x"))).toBe(true);
    expect(maps.every((m) => m.start < m.end && /^[r-][w-][x-][ps]$/.test(m.perms))).toBe(true);
    expect(mappedFiles("self")).toContain(exe);
    expect(maps.some((m) => path.basename(m.path) === "libc.so.6")).toBe(true);
  });

  describe("another process", () => {
    let child: ChildProcess | undefined;
    beforeAll(async () => {
      // A child that maps libc and waits; we end it (by its own pid) afterwards.
      child = spawn("sleep", ["30"], { stdio: "ignore" });
      await new Promise((r) => setTimeout(r, 100));
    });
    afterAll(() => {
      child?.kill("SIGKILL");
    });

    test("processMappings(pid) and resolving libraries through the process", () => {
      const pid = child!.pid!;
      const files = mappedFiles(pid);
      const sleepPath = fs.realpathSync(findInPath("sleep")!);
      expect(files).toContain(sleepPath);
      const libc = files.find((f) => path.basename(f) === "libc.so.6");
      expect(libc).toBeDefined();
      expect(resolveLibrary("libc", { pid, ldSoCache: "/nonexistent", libraryDirs: [] })).toBe(libc);
      expect(resolveTarget("libc.so.6", { pid })).toBe(libc);
      // A pid that does not exist falls back to the system lookup.
      expect(resolveLibrary("libc", { pid: 0x7ffffff0 })).toBeDefined();
    });
  });
});
