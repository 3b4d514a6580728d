// Kernel tests of the native addon: real maps, programs, perf events, links and ring buffers.
// Programs are hand-encoded 8-byte BPF instructions (no dependency on compiler/asm).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { getPriority } from "node:os";
import { describe, expect } from "vitest";
import { kernelTest } from "../support/kernel.js";
import {
  AttachType,
  BPF_STATS_RUN_TIME,
  LinkType,
  MapType,
  PerfSwConfig,
  PerfType,
  ProgType,
  UpdateFlags,
  isErrno,
  native,
  type NativeError,
  type RingBuffer,
} from "../../runtime/native.js";

// ---- hand-encoded BPF ----------------------------------------------------------------------------

/** One instruction: opcode, dst (low nibble) | src (high nibble), s16 offset, s32 immediate. */
function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint8(0, code);
  v.setUint8(1, (src << 4) | dst);
  v.setInt16(2, off, true);
  v.setInt32(4, imm, true);
  return [...b];
}
const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R6 = 6, R7 = 7, R10 = 10;
const op = {
  movImm: (d: number, imm: number) => insn(0xb7, d, 0, 0, imm), // BPF_ALU64|BPF_MOV|BPF_K
  movReg: (d: number, s: number) => insn(0xbf, d, s, 0, 0), // BPF_ALU64|BPF_MOV|BPF_X
  addImm: (d: number, imm: number) => insn(0x07, d, 0, 0, imm), // BPF_ALU64|BPF_ADD|BPF_K
  addReg: (d: number, s: number) => insn(0x0f, d, s, 0, 0), // BPF_ALU64|BPF_ADD|BPF_X
  andImm: (d: number, imm: number) => insn(0x57, d, 0, 0, imm), // BPF_ALU64|BPF_AND|BPF_K
  rshImm: (d: number, imm: number) => insn(0x77, d, 0, 0, imm), // BPF_ALU64|BPF_RSH|BPF_K
  ldxDw: (d: number, s: number, off: number) => insn(0x79, d, s, off, 0), // BPF_LDX|BPF_MEM|BPF_DW
  stxDw: (d: number, s: number, off: number) => insn(0x7b, d, s, off, 0), // BPF_STX|BPF_MEM|BPF_DW
  stW: (d: number, off: number, imm: number) => insn(0x62, d, 0, off, imm), // BPF_ST|BPF_MEM|BPF_W
  atomicAddDw: (d: number, s: number, off: number) => insn(0xdb, d, s, off, 0), // BPF_STX|BPF_ATOMIC|BPF_DW, imm BPF_ADD
  // BPF_LD|BPF_IMM|BPF_DW with src BPF_PSEUDO_MAP_FD: two slots
  ldMapFd: (d: number, fd: number) => [...insn(0x18, d, 1, 0, fd), ...insn(0, 0, 0, 0, 0)],
  call: (helper: number) => insn(0x85, 0, 0, 0, helper),
  ja: (off: number) => insn(0x05, 0, 0, off, 0),
  jeqImm: (d: number, imm: number, off: number) => insn(0x15, d, 0, off, imm),
  jneImm: (d: number, imm: number, off: number) => insn(0x55, d, 0, off, imm),
  exit: () => insn(0x95, 0, 0, 0, 0),
};
const HELPER = { mapLookupElem: 1, mapUpdateElem: 2, getCurrentPidTgid: 14, ringbufOutput: 130, ringbufReserve: 131, ringbufSubmit: 132, ringbufDiscard: 133 };

const prog = (...insns: number[][]) => Uint8Array.from(insns.flat());

/** map[u32 0] += 1 on an array map with 8-byte values. */
function countInto(mapFd: number): number[][] {
  return [
    op.stW(R10, -4, 0),
    op.movReg(R2, R10),
    op.addImm(R2, -4),
    ...splitLd(op.ldMapFd(R1, mapFd)),
    op.call(HELPER.mapLookupElem),
    op.jeqImm(R0, 0, 2),
    op.movImm(R1, 1),
    op.atomicAddDw(R0, R1, 0),
    op.movImm(R0, 0),
    op.exit(),
  ];
}
/** Only for the current process: exit early unless bpf_get_current_pid_tgid() >> 32 == pid. */
function onlyPid(pid: number, body: number[][]): number[][] {
  const slots = body.reduce((n, i) => n + i.length / 8, 0);
  return [op.call(HELPER.getCurrentPidTgid), op.rshImm(R0, 32), op.jneImm(R0, pid, slots), ...body, op.movImm(R0, 0), op.exit()];
}
function splitLd(two: number[]): number[][] {
  return [two.slice(0, 8), two.slice(8)];
}

// ---- helpers -------------------------------------------------------------------------------------

const n = () => native();
const u32 = (x: number) => new Uint8Array(new Uint32Array([x]).buffer);
const u64 = (x: bigint) => new Uint8Array(new BigUint64Array([x]).buffer);
const readU64 = (b: Uint8Array, off = 0) => new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off, true);
const readU32 = (b: Uint8Array, off = 0) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);

function arrayCounter(name: string): number {
  return n().mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, name });
}
function counterValue(fd: number): bigint {
  const v = new Uint8Array(8);
  expect(n().mapLookup(fd, u32(0), v)).toBe(true);
  return readU64(v);
}
function progId(fd: number): number {
  return n().objInfo(fd, "prog").id;
}
function mapId(fd: number): number {
  return n().objInfo(fd, "map").id;
}
function expectErrno(fn: () => unknown, code: string): NativeError {
  try {
    fn();
  } catch (e) {
    if (!isErrno(e, code)) throw e;
    return e;
  }
  throw new Error(`expected ${code}`);
}

// Every object id created here, checked by the last test to be gone after close().
const createdProgIds: number[] = [];
const createdMapIds: number[] = [];
function track<T extends number>(kind: "prog" | "map", fd: T): T {
  (kind === "prog" ? createdProgIds : createdMapIds).push(kind === "prog" ? progId(fd) : mapId(fd));
  return fd;
}

function busy(ms: number): void {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x += Math.sqrt(x + 1);
}

function ensureTracefs(): string {
  const root = "/sys/kernel/tracing";
  if (!existsSync(`${root}/events`)) execFileSync("mount", ["-t", "tracefs", "nodev", root]);
  return root;
}

/** File offset of a dynamic symbol in an ELF file, via readelf (segment vaddr -> file offset). */
function symbolFileOffset(path: string, name: string): bigint {
  const syms = execFileSync("readelf", ["-W", "--dyn-syms", path], { encoding: "utf8" });
  const line = syms.split("\n").find((l) => / FUNC /.test(l) && l.trim().split(/\s+/)[7]?.split("@")[0] === name);
  if (line === undefined) throw new Error(`${name} not found in ${path}`);
  const vaddr = BigInt(`0x${line.trim().split(/\s+/)[1]}`);
  const phdrs = execFileSync("readelf", ["-lW", path], { encoding: "utf8" });
  for (const l of phdrs.split("\n")) {
    const f = l.trim().split(/\s+/);
    if (f[0] !== "LOAD") continue;
    const [off, va, , , memsz] = f.slice(1, 6).map((s) => BigInt(s));
    if (vaddr >= va! && vaddr < va! + memsz!) return vaddr - va! + off!;
  }
  throw new Error(`no PT_LOAD holds ${name}`);
}

function libcPath(): string {
  const maps = readFileSync("/proc/self/maps", "utf8");
  const m = /\s(\/\S*\/libc\.so\.6)$/m.exec(maps);
  if (m === null) throw new Error("libc.so.6 not mapped");
  return realpathSync(m[1]!);
}

// ---- tests ---------------------------------------------------------------------------------------

describe("native addon: maps", () => {
  kernelTest("hash map: update, lookup, delete, next key, batch", () => {
    const fd = track("map", n().mapCreate({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 256, name: "t_hash" }));
    const info = n().objInfo(fd, "map");
    expect(info).toMatchObject({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 256, name: "t_hash" });
    const v = new Uint8Array(8);
    expect(n().mapLookup(fd, u32(1), v)).toBe(false);
    for (let k = 0; k < 100; k++) n().mapUpdate(fd, u32(k), u64(BigInt(k) * 10n), UpdateFlags.ANY);
    expect(n().mapLookup(fd, u32(7), v)).toBe(true);
    expect(readU64(v)).toBe(70n);
    expect(expectErrno(() => n().mapUpdate(fd, u32(7), u64(1n), UpdateFlags.NOEXIST), "EEXIST")).toMatchObject({
      errno: 17,
      syscall: "bpf(BPF_MAP_UPDATE_ELEM)",
    });
    expect(n().mapDelete(fd, u32(7))).toBe(true);
    expect(n().mapDelete(fd, u32(7))).toBe(false);
    expect(n().mapLookup(fd, u32(7), v)).toBe(false);

    // Iterate with get-next-key.
    const seen = new Set<number>();
    const key = new Uint8Array(4);
    let prev: Uint8Array | null = null;
    while (n().mapGetNextKey(fd, prev, key)) {
      seen.add(readU32(key));
      prev = Uint8Array.from(key);
    }
    expect(seen.size).toBe(99);
    expect(seen.has(7)).toBe(false);

    // Batch lookup, 16 at a time, until the kernel says ENOENT (done).
    const batch = new Map<number, bigint>();
    const keys = new Uint8Array(16 * 4);
    const values = new Uint8Array(16 * 8);
    const outBatch = new Uint8Array(8);
    let inBatch: Uint8Array | null = null;
    for (let rounds = 0; rounds < 100; rounds++) {
      const r = n().mapLookupBatch(fd, inBatch, outBatch, keys, values, 16);
      for (let i = 0; i < r.count; i++) batch.set(readU32(keys, i * 4), readU64(values, i * 8));
      if (r.done) break;
      inBatch = Uint8Array.from(outBatch);
    }
    expect(batch.size).toBe(99);
    expect(batch.get(42)).toBe(420n);
    n().close(fd);
  });

  kernelTest("array map: fixed entries, batch, buffer size checks", () => {
    const fd = track("map", n().mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 8 }));
    const v = new Uint8Array(4);
    expect(n().mapLookup(fd, u32(3), v)).toBe(true); // array entries always exist, zeroed
    expect(readU32(v)).toBe(0);
    n().mapUpdate(fd, u32(3), u32(33));
    expectErrno(() => n().mapUpdate(fd, u32(3), u32(1), UpdateFlags.NOEXIST), "EEXIST");
    expectErrno(() => n().mapUpdate(fd, u32(8), u32(1)), "E2BIG");
    expect(n().mapLookup(fd, u32(8), v)).toBe(false);
    const keys = new Uint8Array(8 * 4);
    const values = new Uint8Array(8 * 4);
    const r = n().mapLookupBatch(fd, null, new Uint8Array(4), keys, values, 8);
    expect(r.count).toBe(8);
    expect(readU32(values, 3 * 4)).toBe(33);
    // Short buffers are refused before the kernel could overrun them.
    expect(() => n().mapLookup(fd, u32(0), new Uint8Array(2))).toThrow(RangeError);
    expect(() => n().mapLookup(fd, new Uint8Array(2), v)).toThrow(RangeError);
    expect(() => n().mapLookupBatch(fd, null, new Uint8Array(4), keys, values, 9)).toThrow(RangeError);
    n().close(fd);
    expectErrno(() => n().close(fd), "EBADF");
  });

  kernelTest("queue map: push and pop with a null key", () => {
    const q = track("map", n().mapCreate({ type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 4 }));
    n().mapUpdate(q, null, u32(5));
    n().mapUpdate(q, null, u32(6));
    const v = new Uint8Array(4);
    expect(n().mapLookup(q, null, v)).toBe(true); // peek
    expect(readU32(v)).toBe(5);
    expect(n().mapLookupAndDelete(q, null, v)).toBe(true);
    expect(readU32(v)).toBe(5);
    expect(n().mapLookupAndDelete(q, null, v)).toBe(true);
    expect(readU32(v)).toBe(6);
    expect(n().mapLookupAndDelete(q, null, v)).toBe(false);
    n().close(q);
  });

  kernelTest("per-CPU maps: one 8-byte-aligned slot per possible CPU", () => {
    const ncpu = n().numPossibleCpus();
    const possible = readFileSync("/sys/devices/system/cpu/possible", "utf8").trim();
    const expected = possible.split(",").reduce((sum, r) => {
      const [a, b] = r.split("-").map(Number);
      return sum + (b === undefined ? 1 : b - a! + 1);
    }, 0);
    expect(ncpu).toBe(expected);

    // valueSize 4 is padded to 8 per CPU.
    const fd = track("map", n().mapCreate({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 }));
    const vals = new Uint8Array(8 * ncpu);
    const dv = new DataView(vals.buffer);
    for (let c = 0; c < ncpu; c++) dv.setUint32(c * 8, 100 + c, true);
    n().mapUpdate(fd, u32(1), vals);
    const out = new Uint8Array(8 * ncpu);
    expect(n().mapLookup(fd, u32(1), out)).toBe(true);
    for (let c = 0; c < ncpu; c++) expect(readU32(out, c * 8)).toBe(100 + c);
    expect(() => n().mapLookup(fd, u32(1), new Uint8Array(4))).toThrow(`needs ${8 * ncpu}`);
    n().close(fd);

    const hfd = track("map", n().mapCreate({ type: MapType.PERCPU_HASH, keySize: 8, valueSize: 8, maxEntries: 16 }));
    for (let k = 0; k < 5; k++) n().mapUpdate(hfd, u64(BigInt(k)), new Uint8Array(8 * ncpu).fill(k));
    const keys = new Uint8Array(16 * 8);
    const values = new Uint8Array(16 * 8 * ncpu);
    const r = n().mapLookupBatch(hfd, null, new Uint8Array(8), keys, values, 16);
    expect(r).toEqual({ count: 5, done: true });
    n().close(hfd);
  });

  kernelTest("errors carry code, errno and syscall", () => {
    const e = expectErrno(() => n().mapCreate({ type: 9999, keySize: 4, valueSize: 4, maxEntries: 1 }), "EINVAL");
    expect(e.errno).toBe(22);
    expect(e.syscall).toBe("bpf(BPF_MAP_CREATE)");
    expect(e.message).toContain("bpf(BPF_MAP_CREATE)");
    expect(e.message).toContain("EINVAL");
    expect(() => n().mapCreate({ type: MapType.HASH, keySize: 4, valueSize: 4 } as never)).toThrow(TypeError);
  });
});

describe("native addon: programs", () => {
  // Raw tracepoint program: value = ctx->args[0] + ctx->args[1]; map[u32 0] = value; return 7.
  function rawTpWriter(mapFd: number): Uint8Array {
    return prog(
      op.ldxDw(R6, R1, 0),
      op.ldxDw(R7, R1, 8),
      op.addReg(R6, R7),
      op.stxDw(R10, R6, -16),
      op.stW(R10, -4, 0),
      ...splitLd(op.ldMapFd(R1, mapFd)),
      op.movReg(R2, R10),
      op.addImm(R2, -4),
      op.movReg(R3, R10),
      op.addImm(R3, -16),
      op.movImm(R4, 0),
      op.call(HELPER.mapUpdateElem),
      op.movImm(R0, 7),
      op.exit(),
    );
  }

  kernelTest("raw tracepoint program: load, test-run with ctx_in, read the map", () => {
    const map = track("map", n().mapCreate({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4 }));
    const { fd, log } = n().progLoad({ type: ProgType.RAW_TRACEPOINT, insns: rawTpWriter(map), license: "GPL", name: "t_rawtp" });
    track("prog", fd);
    expect(log).toBeUndefined();
    const ctx = new Uint8Array(16);
    new DataView(ctx.buffer).setBigUint64(0, 40n, true);
    new DataView(ctx.buffer).setBigUint64(8, 2n, true);
    const r = n().progTestRun(fd, { ctxIn: ctx });
    expect(r.retval).toBe(7);
    expect(r.duration).toBe(0); // raw_tp test runs do not time themselves
    const v = new Uint8Array(8);
    expect(n().mapLookup(map, u32(0), v)).toBe(true);
    expect(readU64(v)).toBe(42n);

    // What the kernel insists on for raw tracepoint test runs:
    // ctx_in must cover every ctx offset the program reads (16 bytes here)...
    expectErrno(() => n().progTestRun(fd, {}), "EINVAL");
    expectErrno(() => n().progTestRun(fd, { ctxIn: new Uint8Array(8) }), "EINVAL");
    // ...and data_in, repeat (and data_out, ctx_out, batch_size) are refused.
    expectErrno(() => n().progTestRun(fd, { ctxIn: ctx, dataIn: new Uint8Array(16) }), "EINVAL");
    expectErrno(() => n().progTestRun(fd, { ctxIn: ctx, repeat: 2 }), "EINVAL");
    n().close(fd);
    n().close(map);
  });

  kernelTest("a program that does not read ctx test-runs without ctx_in", () => {
    const { fd } = n().progLoad({ type: ProgType.RAW_TRACEPOINT, insns: prog(op.movImm(R0, 3), op.exit()), license: "GPL" });
    track("prog", fd);
    expect(n().progTestRun(fd).retval).toBe(3);
    n().close(fd);
  });

  kernelTest("a rejected program throws with the verifier log", () => {
    // Reads r5, which was never written.
    const bad = prog(op.movReg(R0, 5), op.exit());
    let err: NativeError | undefined;
    try {
      n().progLoad({ type: ProgType.RAW_TRACEPOINT, insns: bad, license: "GPL" });
    } catch (e) {
      err = e as NativeError;
    }
    expect(err).toBeDefined();
    expect(err!.code).toBe("EACCES");
    expect(err!.syscall).toBe("bpf(BPF_PROG_LOAD)");
    expect(err!.log).toMatch(/R5 !read_ok/);
    expect(err!.log).toMatch(/processed \d+ insns/);

    // An out-of-bounds stack write, and a missing exit.
    const oob = prog(op.stW(R10, 8, 0), op.movImm(R0, 0), op.exit());
    expect(() => n().progLoad({ type: ProgType.RAW_TRACEPOINT, insns: oob, license: "GPL" })).toThrow(
      expect.objectContaining({ log: expect.stringMatching(/invalid (write to )?stack/) }),
    );
    expect(() => n().progLoad({ type: ProgType.RAW_TRACEPOINT, insns: prog(op.movImm(R0, 0)), license: "GPL" })).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    expect(() => n().progLoad({ type: ProgType.RAW_TRACEPOINT, insns: new Uint8Array(12), license: "GPL" })).toThrow(RangeError);
  });

  kernelTest("logLevel asks for the log of a successful load", () => {
    const { fd, log } = n().progLoad({
      type: ProgType.RAW_TRACEPOINT,
      insns: prog(op.movImm(R0, 0), op.exit()),
      license: "GPL",
      logLevel: 2,
    });
    track("prog", fd);
    expect(log).toMatch(/processed 2 insns/);
    n().close(fd);
  });

  kernelTest("objInfo counts runs while BPF_ENABLE_STATS is held", () => {
    const map = track("map", arrayCounter("t_stats"));
    const { fd } = n().progLoad({ type: ProgType.RAW_TRACEPOINT, insns: prog(...countInto(map)), license: "GPL", name: "t_stats" });
    track("prog", fd);
    const before = n().objInfo(fd, "prog");
    expect(before).toMatchObject({ type: ProgType.RAW_TRACEPOINT, name: "t_stats", runCnt: 0n });
    expect(before.id).toBeGreaterThan(0);
    expect(before.tag).toMatch(/^[0-9a-f]{16}$/);
    expect(before.xlatedLen).toBeGreaterThan(0);
    expect(before.jitedLen).toBeGreaterThan(0);
    expect(before.verifiedInsns).toBeGreaterThan(0);

    const stats = n().enableStats(BPF_STATS_RUN_TIME);
    try {
      for (let i = 0; i < 5; i++) n().progTestRun(fd);
    } finally {
      n().close(stats);
    }
    const after = n().objInfo(fd, "prog");
    expect(after.runCnt).toBe(5n);
    expect(after.runTimeNs).toBeGreaterThan(0n);
    expect(counterValue(map)).toBe(5n);
    // Stats stop when the last BPF_ENABLE_STATS fd closes.
    n().progTestRun(fd);
    expect(n().objInfo(fd, "prog").runCnt).toBe(5n);
    expect(counterValue(map)).toBe(6n);
    n().close(fd);
    n().close(map);
  });
});

describe("native addon: ring buffer", () => {
  // bpf_ringbuf_output(rb, &ctx->args[0] copy, 8, 0)
  function outputProg(rb: number): Uint8Array {
    return prog(
      op.ldxDw(R6, R1, 0),
      op.stxDw(R10, R6, -8),
      ...splitLd(op.ldMapFd(R1, rb)),
      op.movReg(R2, R10),
      op.addImm(R2, -8),
      op.movImm(R3, 8),
      op.movImm(R4, 0),
      op.call(HELPER.ringbufOutput),
      op.movImm(R0, 0),
      op.exit(),
    );
  }
  // reserve 8 bytes, store ctx->args[0], then submit it if even, discard it if odd.
  function reserveProg(rb: number): Uint8Array {
    return prog(
      op.ldxDw(R6, R1, 0),
      ...splitLd(op.ldMapFd(R1, rb)),
      op.movImm(R2, 8),
      op.movImm(R3, 0),
      op.call(HELPER.ringbufReserve),
      op.jeqImm(R0, 0, 8),
      op.stxDw(R0, R6, 0),
      op.movReg(R1, R0),
      op.movImm(R2, 0),
      op.andImm(R6, 1),
      op.jneImm(R6, 0, 2),
      op.call(HELPER.ringbufSubmit),
      op.ja(1),
      op.call(HELPER.ringbufDiscard),
      op.movImm(R0, 0),
      op.exit(),
    );
  }
  // bpf_ringbuf_output of ctx->args[0..1] (16 bytes: 24-byte slots, so records straddle the
  // end of the data area and rely on its double mapping).
  function output16Prog(rb: number): Uint8Array {
    return prog(
      op.ldxDw(R6, R1, 0),
      op.stxDw(R10, R6, -16),
      op.ldxDw(R6, R1, 8),
      op.stxDw(R10, R6, -8),
      ...splitLd(op.ldMapFd(R1, rb)),
      op.movReg(R2, R10),
      op.addImm(R2, -16),
      op.movImm(R3, 16),
      op.movImm(R4, 0),
      op.call(HELPER.ringbufOutput),
      op.movImm(R0, 0),
      op.exit(),
    );
  }
  const ctxArg = (x: bigint, y?: bigint) => (y === undefined ? u64(x) : Uint8Array.from([...u64(x), ...u64(y)]));

  kernelTest("records arrive through the event loop; discarded ones are skipped", async () => {
    const rb = track("map", n().mapCreate({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 * 4 }));
    const out = track("prog", n().progLoad({ type: ProgType.RAW_TRACEPOINT, insns: outputProg(rb), license: "GPL" }).fd);
    const res = track("prog", n().progLoad({ type: ProgType.RAW_TRACEPOINT, insns: reserveProg(rb), license: "GPL" }).fd);

    const got: bigint[] = [];
    const batches: number[] = [];
    let wake: (() => void) | undefined;
    let handle: RingBuffer | undefined;
    try {
      handle = n().ringbufOpen(rb, (records) => {
        batches.push(records.length);
        for (const r of records) {
          expect(r).toBeInstanceOf(Uint8Array);
          expect(r.length).toBe(8);
          got.push(readU64(r));
        }
        wake?.();
      });
      expect(handle.closed).toBe(false);
      expect(handle.mapFd).toBe(rb);
      const waitFor = (count: number) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`timed out with ${got.length} records: ${got}`)), 5000);
          wake = () => {
            if (got.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          };
        });

      let p = waitFor(3);
      n().progTestRun(out, { ctxIn: ctxArg(100n) });
      n().progTestRun(res, { ctxIn: ctxArg(1n) }); // discarded
      n().progTestRun(res, { ctxIn: ctxArg(2n) });
      n().progTestRun(out, { ctxIn: ctxArg(200n) });
      expect(got).toEqual([]); // nothing is delivered synchronously
      await p;
      expect(got).toEqual([100n, 2n, 200n]);

      // Drained ring: the next record wakes the loop again.
      p = waitFor(4);
      n().progTestRun(out, { ctxIn: ctxArg(300n) });
      await p;
      expect(got).toEqual([100n, 2n, 200n, 300n]);

      // poll() and ringbufDrain() deliver synchronously.
      n().progTestRun(out, { ctxIn: ctxArg(400n) });
      n().progTestRun(res, { ctxIn: ctxArg(3n) });
      expect(handle.poll()).toBe(1);
      expect(got.at(-1)).toBe(400n);
      n().progTestRun(res, { ctxIn: ctxArg(6n) });
      expect(n().ringbufDrain(handle)).toBe(1);
      expect(got.at(-1)).toBe(6n);
      expect(handle.poll()).toBe(0);

    } finally {
      handle?.close();
    }
    expect(handle!.closed).toBe(true);
    expect(handle!.poll()).toBe(0);
    handle!.close(); // idempotent
    expect(() => n().ringbufOpen(out, () => {})).toThrow(); // a prog fd is not a ring buffer map
    const arr = track("map", arrayCounter("t_notrb"));
    expect(() => n().ringbufOpen(arr, () => {})).toThrow(/not a ring buffer/);
    for (const fd of [out, res, rb, arr]) n().close(fd);
  });

  kernelTest("records that wrap around the end of the ring come out whole", () => {
    const rb = track("map", n().mapCreate({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 }));
    const out = track("prog", n().progLoad({ type: ProgType.RAW_TRACEPOINT, insns: output16Prog(rb), license: "GPL" }).fd);
    const got: [bigint, bigint][] = [];
    const handle = n().ringbufOpen(rb, (records) => {
      for (const r of records) {
        expect(r.length).toBe(16);
        got.push([readU64(r, 0), readU64(r, 8)]);
      }
    });
    try {
      handle.unref();
      // 4 KiB ring, 24-byte slots: 170 fit; drain every 100 to go around ~30 times.
      for (let i = 0; i < 3000; i++) {
        n().progTestRun(out, { ctxIn: ctxArg(BigInt(i), BigInt(-i) & 0xffffffffffffffffn) });
        if (i % 100 === 99) expect(n().ringbufDrain(handle)).toBe(100);
      }
      // A full ring drops records (bpf_ringbuf_output fails) rather than overwriting them.
      for (let i = 0; i < 200; i++) n().progTestRun(out, { ctxIn: ctxArg(7n, 7n) });
      expect(handle.poll()).toBe(170);
    } finally {
      handle.close();
    }
    expect(got.slice(0, 3000)).toEqual(Array.from({ length: 3000 }, (_, i) => [BigInt(i), BigInt(-i) & 0xffffffffffffffffn]));
    n().close(out);
    n().close(rb);
  });
});

describe("native addon: perf events and links", () => {
  kernelTest("software cpu-clock event drives a perf_event program until disabled", () => {
    const map = track("map", arrayCounter("t_cpuclk"));
    const { fd: progFd } = n().progLoad({ type: ProgType.PERF_EVENT, insns: prog(...countInto(map)), license: "GPL" });
    track("prog", progFd);
    // 1 ms of CPU time per sample, this thread only, on any CPU.
    const perf = n().perfEventOpen({
      type: PerfType.SOFTWARE,
      config: PerfSwConfig.CPU_CLOCK,
      samplePeriod: 1_000_000,
      pid: 0,
      cpu: -1,
      disabled: true,
    });
    try {
      busy(20);
      expect(counterValue(map)).toBe(0n);
      n().perfEventAttach(perf, progFd);
      busy(200);
      n().perfEventDisable(perf);
      const count = counterValue(map);
      expect(count).toBeGreaterThan(20n);
      busy(50);
      expect(counterValue(map)).toBe(count);
      n().perfEventEnable(perf);
      busy(50);
      expect(counterValue(map)).toBeGreaterThan(count);
      n().perfEventDisable(perf);
    } finally {
      n().close(perf);
    }
    n().close(progFd);
    n().close(map);
  });

  kernelTest("syscall tracepoint through a BPF_PERF_EVENT link counts this process's calls", () => {
    const tracefs = ensureTracefs();
    const id = Number(readFileSync(`${tracefs}/events/syscalls/sys_enter_getpriority/id`, "utf8"));
    const map = track("map", arrayCounter("t_tp"));
    const { fd: progFd } = n().progLoad({
      type: ProgType.TRACEPOINT,
      insns: prog(...onlyPid(process.pid, countInto(map))),
      license: "GPL",
      name: "t_tp",
    });
    track("prog", progFd);
    // One event (pid -1, cpu 0) is enough: a BPF program on a tracepoint runs for every hit on
    // every CPU, whatever CPU the perf event was opened for.
    const perf = n().perfEventOpen({ type: PerfType.TRACEPOINT, config: id, pid: -1, cpu: 0 });
    const link = n().linkCreate(progFd, perf, AttachType.PERF_EVENT);
    const info = n().objInfo(link, "link");
    expect(info.type).toBe(LinkType.PERF_EVENT);
    expect(info.progId).toBe(progId(progFd));
    const again = n().getFdById("link", info.id);
    expect(again).not.toBeNull();
    n().close(again!);

    for (let i = 0; i < 25; i++) getPriority();
    expect(counterValue(map)).toBe(25n);
    n().close(link); // detach
    for (let i = 0; i < 10; i++) getPriority();
    expect(counterValue(map)).toBe(25n);
    expect(n().getFdById("link", info.id)).toBeNull();
    n().close(perf);
    n().close(progFd);
    n().close(map);
  });

  kernelTest("uprobe through the uprobe PMU (config1 = path string) and through uprobe_multi", () => {
    const libc = libcPath();
    const off = symbolFileOffset(libc, "getpriority");
    const uprobeType = Number(readFileSync("/sys/bus/event_source/devices/uprobe/type", "utf8"));

    const map = track("map", arrayCounter("t_uprobe"));
    const { fd: kp } = n().progLoad({ type: ProgType.KPROBE, insns: prog(...countInto(map)), license: "GPL" });
    track("prog", kp);
    const perf = n().perfEventOpen({ type: uprobeType, config: 0, config1: libc, config2: off, pid: process.pid, cpu: -1 });
    n().perfEventAttach(perf, kp);
    for (let i = 0; i < 7; i++) getPriority();
    expect(counterValue(map)).toBe(7n);
    n().close(perf);
    for (let i = 0; i < 3; i++) getPriority();
    expect(counterValue(map)).toBe(7n);

    // The multi-uprobe link (6.6+): program loaded with expected_attach_type TRACE_UPROBE_MULTI.
    const { fd: multi } = n().progLoad({
      type: ProgType.KPROBE,
      insns: prog(...countInto(map)),
      license: "GPL",
      expectedAttachType: AttachType.TRACE_UPROBE_MULTI,
    });
    track("prog", multi);
    const link = n().linkCreate(multi, 0, AttachType.TRACE_UPROBE_MULTI, 0, {
      uprobeMulti: { path: libc, offsets: [off], cookies: [42n], pid: process.pid },
    });
    expect(n().objInfo(link, "link").type).toBe(LinkType.UPROBE_MULTI);
    for (let i = 0; i < 5; i++) getPriority();
    expect(counterValue(map)).toBe(12n);
    n().close(link);
    getPriority();
    expect(counterValue(map)).toBe(12n);
    expectErrno(
      () => n().linkCreate(multi, 0, AttachType.TRACE_UPROBE_MULTI, 0, { uprobeMulti: { path: "/nonexistent", offsets: [off] } }),
      "ENOENT",
    );
    n().close(multi);
    n().close(kp);
    n().close(map);
  });
});

describe("native addon: misc", () => {
  kernelTest("demangle matches c++filt", () => {
    const names = ["_ZNSt6vectorIiSaIiEE9push_backEOi", "_ZN2v88internal7Isolate4InitEv", "_Z3fooPKcz"];
    for (const name of names) {
      const want = execFileSync("c++filt", [name], { encoding: "utf8" }).trim();
      expect(n().demangle(name)).toBe(want);
    }
    expect(n().demangle("main")).toBeNull();
    expect(n().demangle("")).toBeNull();
  });

  kernelTest("pageSize and ids", () => {
    expect(n().pageSize()).toBe(4096);
    const map = arrayCounter("t_ids");
    const id = mapId(map);
    let found = false;
    for (let cur: number | null = 0; cur !== null; cur = n().getNextId("map", cur)) if (cur === id) found = true;
    expect(found).toBe(true);
    const fd2 = n().getFdById("map", id)!;
    expect(fd2).not.toBe(map);
    expect(n().objInfo(fd2, "map").id).toBe(id);
    n().close(map);
    const fd3 = n().getFdById("map", id); // still held by fd2
    expect(fd3).not.toBeNull();
    n().close(fd3!);
    n().close(fd2);
    expect(n().getFdById("map", id)).toBeNull();
    // objInfo checks what kind of object the fd holds.
    const stats = n().enableStats(BPF_STATS_RUN_TIME);
    expect(() => n().objInfo(stats, "map")).toThrow(/not a BPF map \(anon_inode:bpf-stats\)/);
    n().close(stats);
  });

  kernelTest("nothing created here remains loaded after close()", async () => {
    expect(createdProgIds.length).toBeGreaterThan(5);
    expect(createdMapIds.length).toBeGreaterThan(5);
    // A closed uprobe_multi link drops its program only after an RCU tasks-trace grace period
    // (about 10 ms here); everything else is gone as soon as the last fd closes.
    const deadline = Date.now() + 3000;
    const alive = () =>
      [...createdProgIds.map((id) => ["prog", id] as const), ...createdMapIds.map((id) => ["map", id] as const)].filter(
        ([kind, id]) => {
          const fd = n().getFdById(kind, id);
          if (fd === null) return false;
          n().close(fd);
          return true;
        },
      );
    let left = alive();
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      left = alive();
    }
    expect(left).toEqual([]);
  });
});
