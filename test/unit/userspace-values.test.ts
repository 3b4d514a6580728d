// Unit tests of the values user space turns into text (runtime/format/resolve.ts) and of how
// buf(), ntop(), strftime(), cgroup_path(), strerror() and username values are decoded and printed
// (runtime/decode.ts, format/text.ts, format/json.ts), as bpftrace 0.17 prints them.
import { mkdtempSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { kernelSymbol } from "../../compiler/kallsyms.js";
import { parseInet } from "../../compiler/functions/net.js";
import { byteSwap } from "../../compiler/functions/numbers.js";
import type { Type } from "../../compiler/types.js";
import { decodeValue } from "../../runtime/decode.js";
import { jsonValue, mapRecord } from "../../runtime/format/json.js";
import { cgroupPathText, escapeBuffer, hexBuffer, hexEscapeBuffer, inetText, strerrorText, strftimeText, usernameText } from "../../runtime/format/resolve.js";
import { formatMap, formatValue } from "../../runtime/format/text.js";

const tmp = mkdtempSync(join(tmpdir(), "bpfts-values-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("buf()", () => {
  const bytes = (...b: number[]) => Uint8Array.from(b);
  const buffer = (size: number): Type => ({ kind: "buffer", size });

  test("%r escapes every byte that is not printable ASCII; %rx all of them; %rh in hex", () => {
    expect(escapeBuffer(bytes(0x61, 0x09, 0x5c, 0x22, 0x20, 0x7e, 0x7f, 0x80, 0x00))).toBe('a\\x09\\" ~\\x7f\\x80\\x00');
    expect(hexEscapeBuffer(bytes(0x48, 0x00))).toBe("\\x48\\x00");
    expect(hexBuffer(bytes(0x48, 0x65, 0x0a))).toBe("48 65 0a");
  });

  test("decoded from {length: u8, data}", () => {
    expect(decodeValue(buffer(4), bytes(2, 0x68, 0x69, 0, 0))).toEqual({ length: 2, bytes: bytes(0x68, 0x69, 0, 0) });
    // A length past the buffer counts as the whole buffer.
    expect(decodeValue(buffer(2), bytes(9, 1, 2))).toEqual({ length: 2, bytes: bytes(1, 2) });
  });

  test("a value prints its length's bytes, a map key all of them (bpftrace's way)", () => {
    const v = { length: 2, bytes: bytes(0x61, 0x62, 0, 0) };
    expect(formatValue(buffer(4), v)).toBe("ab");
    expect(formatMap("@", [buffer(4)], buffer(4), [{ key: [v], value: v }])).toBe("@[ab\\x00\\x00]: ab\n");
    expect(jsonValue(buffer(4), { length: 3, bytes: bytes(0x61, 0x0a, 0x22, 0) })).toBe('"a\\\\x0a\\""');
    expect(mapRecord({ name: "@b", keyTypes: [buffer(2)], valueType: buffer(1), entries: [{ key: [{ length: 2, bytes: bytes(0x6b, 2) }], value: { length: 1, bytes: bytes(0x76) } }] })).toBe(
      '{"type": "map", "data": {"@b": {"k\\\\x02": "v"}}}',
    );
  });
});

describe("ntop() and pton()", () => {
  const v6 = (s: string) => inetText(10n, parseInet(s)!);

  test("IPv4 from the first 4 bytes, IPv6 from 16, nothing for another family", () => {
    expect(inetText(2n, Uint8Array.of(127, 0, 0, 1, 9, 9))).toBe("127.0.0.1");
    expect(inetText(3n, new Uint8Array(16))).toBe("");
  });

  test("IPv6 as glibc's inet_ntop writes it", () => {
    expect(v6("::1")).toBe("::1");
    expect(v6("::")).toBe("::");
    expect(v6("fe80:0:0:0:0:0:1:2")).toBe("fe80::1:2");
    expect(v6("1:0:0:2:0:0:0:3")).toBe("1:0:0:2::3");
    expect(v6("1:0:0:2:0:0:3:4")).toBe("1::2:0:0:3:4");
    expect(v6("1:2:3:4:5:6:0:8")).toBe("1:2:3:4:5:6:0:8");
    expect(v6("::ffff:102:304")).toBe("::ffff:1.2.3.4");
    expect(v6("::102:304")).toBe("::1.2.3.4");
    expect(v6("ABCD::")).toBe("abcd::");
    // An integer's bytes in memory order (bpftrace's ntop(10, 5)).
    expect(inetText(10n, Uint8Array.of(5, ...new Array<number>(15).fill(0)))).toBe("500::");
  });

  test("pton accepts what inet_pton does (but, as bpftrace, no IPv4 tail in IPv6)", () => {
    expect(parseInet("127.0.0.1")).toEqual(Uint8Array.of(127, 0, 0, 1));
    expect(parseInet("::1")).toEqual(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));
    for (const bad of ["abc", "1.2.3", "256.1.1.1", "01.2.3.4", "1:2:3:4:5:6:7:8:9", "1::2::3", "::ffff:1.2.3.4", "12345::", "1:2:3:4:5:6:7"]) expect(parseInet(bad)).toBeUndefined();
    expect(parseInet("1:2:3:4:5:6:7::")).toBeDefined();
  });
});

describe("numbers and messages", () => {
  test("bswap reverses the bytes of the type's size", () => {
    expect(byteSwap(0x1122334455667788n, 8)).toBe(0x8877665544332211n);
    expect(byteSwap(0x12345678n, 4)).toBe(0x78563412n);
    expect(byteSwap(-2n, 2)).toBe(0xfeffn);
    expect(byteSwap(0x12n, 1)).toBe(0x12n);
  });

  test("strerror: glibc's messages", () => {
    expect(strerrorText(1n)).toBe("Operation not permitted");
    expect(strerrorText(0n)).toBe("Success");
    expect(strerrorText(41n)).toBe("Unknown error 41");
    expect(strerrorText(133n)).toBe("Memory page has hardware error");
    expect(strerrorText(-1n)).toBe("Unknown error -1");
    expect(strerrorText(200n)).toBe("Unknown error 200");
  });

  test("username: from the passwd file; empty for a uid it does not name", () => {
    const file = join(tmp, "passwd");
    writeFileSync(file, "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nbroken line\n");
    expect(usernameText(0n, file)).toBe("root");
    expect(usernameText(1000n, file)).toBe("alice");
    expect(usernameText(12345n, file)).toBe("");
  });

  test("strftime: boot time plus nsecs, %f the microseconds; (?) when empty or too long", () => {
    const boot = 1_700_000_000_000_000_000n;
    expect(strftimeText("%s", 0n, boot)).toBe("1700000000");
    expect(strftimeText("%s.%f", 1_234_567_000n, boot)).toBe("1700000001.234567");
    expect(strftimeText("", 0n, boot)).toBe("(?)");
    expect(strftimeText("%s".repeat(7), 0n, boot)).toBe("(?)");
  });

  test("kaddr: symbols from a kallsyms file; zeros (no root) and unknown names are errors", () => {
    const file = join(tmp, "kallsyms");
    writeFileSync(file, "ffffffff81000000 T _stext\nffffffff816b8230 T vfs_read\nffffffffc0000000 t mod_fn\t[mod]\n");
    expect(kernelSymbol("vfs_read", file)).toEqual({ addr: 0xffffffff816b8230n });
    expect(kernelSymbol("mod_fn", file)).toEqual({ addr: 0xffffffffc0000000n });
    expect(kernelSymbol("vfs", file)).toEqual({ error: "Failed to resolve kernel symbol: vfs" });
    const zeros = join(tmp, "kallsyms0");
    writeFileSync(zeros, "0000000000000000 T vfs_read\n");
    expect(kernelSymbol("vfs_read", zeros)).toMatchObject({ error: expect.stringMatching(/^Failed to resolve kernel symbol: vfs_read \(.* run as root\)$/) });
  });
});

describe("cgroup_path()", () => {
  test("the cgroup of that id (its directory's inode) in each hierarchy, unified first, then by name", () => {
    const root2 = join(tmp, "unified");
    const cpu = join(tmp, "cpu");
    const named = join(tmp, "sysd");
    for (const d of [join(root2, "a", "b"), join(cpu, "x"), named]) mkdirSync(d, { recursive: true });
    const id = statSync(join(root2, "a", "b"), { bigint: true }).ino;
    const mountinfo = [
      `40 31 0:37 / ${named} rw,relatime - cgroup cgroup rw,name=systemd`,
      `32 31 0:29 / ${cpu} rw,relatime - cgroup cgroup rw,cpu`,
      `41 31 0:38 / ${root2} rw,relatime - cgroup2 cgroup2 rw`,
      `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755`,
    ].join("\n");
    expect(cgroupPathText(id, undefined, mountinfo)).toBe("unified:/a/b");
    const rootId = statSync(root2, { bigint: true }).ino;
    const cpuRoot = statSync(cpu, { bigint: true }).ino;
    expect(cgroupPathText(rootId, undefined, mountinfo)).toBe("unified:/");
    // The same id in several hierarchies (as every hierarchy's root is 1 on cgroupfs).
    const twice = `${mountinfo}\n50 31 0:40 / ${root2} rw,relatime - cgroup cgroup rw,pids`;
    expect(cgroupPathText(id, undefined, twice)).toBe("unified:/a/b,pids:/a/b");
    expect(cgroupPathText(cpuRoot, "cpu*", mountinfo)).toBe("cpu:/");
    expect(cgroupPathText(cpuRoot, "sys*", mountinfo)).toBe("");
  });

  test("decoded values print like strings (text and JSON)", () => {
    const t: Type = { kind: "resolved", how: "strerror" };
    const v = decodeValue(t, Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0));
    expect(v).toBe("No such file or directory");
    expect(formatValue(t, v)).toBe("No such file or directory");
    expect(jsonValue(t, v)).toBe('"No such file or directory"');
    expect(formatMap("@", [t], { kind: "int", size: 8, signed: true }, [{ key: [v], value: 1n }])).toBe("@[No such file or directory]: 1\n");
    const inet = decodeValue({ kind: "inet" }, Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1, ...new Array<number>(12).fill(0)));
    expect(inet).toBe("10.0.0.1");
  });
});
