// Typed loader for the native addon (native/*.cc, built to build/Release/bpfts_native.node by
// `npm install`). The addon is a set of thin synchronous wrappers over bpf(2) and
// perf_event_open(2) plus an event-loop driven ring buffer consumer; policy lives in TypeScript.
//
// Errors from system calls are JS Errors carrying `code` (errno name, e.g. "EPERM"), `errno`
// (the positive Linux errno value) and `syscall` (e.g. "bpf(BPF_MAP_CREATE)"); see NativeError.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// ---- kernel constants (values from the kernel's uapi headers; the image's headers are 6.1) ----

/** enum bpf_map_type */
export const MapType = {
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  CGROUP_ARRAY: 8,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  QUEUE: 22,
  STACK: 23,
  RINGBUF: 27,
  TASK_STORAGE: 29,
  BLOOM_FILTER: 30,
  USER_RINGBUF: 31,
  CGRP_STORAGE: 32,
  ARENA: 33,
} as const;
export type MapType = (typeof MapType)[keyof typeof MapType];

/** enum bpf_prog_type */
export const ProgType = {
  SOCKET_FILTER: 1,
  KPROBE: 2,
  TRACEPOINT: 5,
  PERF_EVENT: 7,
  RAW_TRACEPOINT: 17,
  RAW_TRACEPOINT_WRITABLE: 24,
  TRACING: 26,
  LSM: 29,
  SYSCALL: 31,
} as const;
export type ProgType = (typeof ProgType)[keyof typeof ProgType];

/** enum bpf_attach_type (the tracing-related subset; numbering from the kernel's uapi bpf.h) */
export const AttachType = {
  TRACE_RAW_TP: 23,
  TRACE_FENTRY: 24,
  TRACE_FEXIT: 25,
  MODIFY_RETURN: 26,
  LSM_MAC: 27,
  TRACE_ITER: 28,
  PERF_EVENT: 41,
  TRACE_KPROBE_MULTI: 42,
  /** 6.6+ */
  TRACE_UPROBE_MULTI: 48,
  /** 6.10+ */
  TRACE_KPROBE_SESSION: 56,
  /** 6.13+ */
  TRACE_UPROBE_SESSION: 57,
} as const;
export type AttachType = (typeof AttachType)[keyof typeof AttachType];

/** enum bpf_link_type */
export const LinkType = {
  RAW_TRACEPOINT: 1,
  TRACING: 2,
  CGROUP: 3,
  ITER: 4,
  NETNS: 5,
  XDP: 6,
  PERF_EVENT: 7,
  KPROBE_MULTI: 8,
  STRUCT_OPS: 9,
  NETFILTER: 10,
  TCX: 11,
  UPROBE_MULTI: 12,
  NETKIT: 13,
  SOCKMAP: 14,
} as const;
export type LinkType = (typeof LinkType)[keyof typeof LinkType];

/** BPF_MAP_UPDATE_ELEM flags */
export const UpdateFlags = { ANY: 0, NOEXIST: 1, EXIST: 2, LOCK: 4 } as const;

/** BPF_MAP_CREATE map_flags */
export const MapFlags = {
  NO_PREALLOC: 1 << 0,
  NO_COMMON_LRU: 1 << 1,
  NUMA_NODE: 1 << 2,
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
  STACK_BUILD_ID: 1 << 5,
  ZERO_SEED: 1 << 6,
  RDONLY_PROG: 1 << 7,
  WRONLY_PROG: 1 << 8,
  MMAPABLE: 1 << 10,
} as const;

/** Flags in the uprobeMulti / kprobeMulti link options */
export const BPF_F_UPROBE_MULTI_RETURN = 1;
export const BPF_F_KPROBE_MULTI_RETURN = 1;

/** BPF_PROG_TEST_RUN flags */
export const TestRunFlags = { RUN_ON_CPU: 1, XDP_LIVE_FRAMES: 2 } as const;

/** enum bpf_stats_type */
export const BPF_STATS_RUN_TIME = 0;

/** Ring buffer record header bits (BPF_RINGBUF_*) and bpf_ringbuf_output/submit flags. */
export const Ringbuf = { BUSY_BIT: 1 << 31, DISCARD_BIT: 1 << 30, HDR_SZ: 8, NO_WAKEUP: 1, FORCE_WAKEUP: 2 } as const;

/** perf_event_attr.type */
export const PerfType = {
  HARDWARE: 0,
  SOFTWARE: 1,
  TRACEPOINT: 2,
  HW_CACHE: 3,
  RAW: 4,
  BREAKPOINT: 5,
} as const;
export type PerfType = (typeof PerfType)[keyof typeof PerfType];

/** perf_event_attr.config for PERF_TYPE_SOFTWARE */
export const PerfSwConfig = {
  CPU_CLOCK: 0,
  TASK_CLOCK: 1,
  PAGE_FAULTS: 2,
  CONTEXT_SWITCHES: 3,
  CPU_MIGRATIONS: 4,
  PAGE_FAULTS_MIN: 5,
  PAGE_FAULTS_MAJ: 6,
  ALIGNMENT_FAULTS: 7,
  EMULATION_FAULTS: 8,
  DUMMY: 9,
  BPF_OUTPUT: 10,
} as const;

/** perf_event_attr.config for PERF_TYPE_HARDWARE */
export const PerfHwConfig = {
  CPU_CYCLES: 0,
  INSTRUCTIONS: 1,
  CACHE_REFERENCES: 2,
  CACHE_MISSES: 3,
  BRANCH_INSTRUCTIONS: 4,
  BRANCH_MISSES: 5,
  BUS_CYCLES: 6,
} as const;

/** perf_event_open(2) flags; perfEventOpen defaults to FD_CLOEXEC. */
export const PerfFlags = { FD_NO_GROUP: 1, FD_OUTPUT: 2, PID_CGROUP: 4, FD_CLOEXEC: 8 } as const;

/** Bits of perf_event_attr's flag word (PerfEventOpenOptions.attrFlags). */
export const PerfAttrFlags = {
  DISABLED: 1n << 0n,
  INHERIT: 1n << 1n,
  PINNED: 1n << 2n,
  EXCLUSIVE: 1n << 3n,
  EXCLUDE_USER: 1n << 4n,
  EXCLUDE_KERNEL: 1n << 5n,
  EXCLUDE_HV: 1n << 6n,
  EXCLUDE_IDLE: 1n << 7n,
  FREQ: 1n << 10n,
} as const;

// ---- the addon's interface ----------------------------------------------------------------------

/** Any view over bytes the kernel reads or writes (Buffer is a Uint8Array). */
export type Bytes = Uint8Array;

/** A failed system call. */
export interface NativeError extends Error {
  /** errno name, e.g. "EPERM", "ENOENT" */
  code: string;
  /** positive Linux errno value */
  errno: number;
  /** e.g. "bpf(BPF_PROG_LOAD)", "perf_event_open", "ioctl(PERF_EVENT_IOC_SET_BPF)" */
  syscall: string;
  /** BPF_PROG_LOAD only: the full verifier log of the failed load (may be empty) */
  log?: string;
}

export interface MapCreateOptions {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  /** At most 15 bytes of [A-Za-z0-9_.] are kept. */
  name?: string;
  innerMapFd?: number;
  numaNode?: number;
  mapExtra?: bigint;
}

export interface ProgLoadOptions {
  type: number;
  /** 8-byte BPF instructions, little-endian */
  insns: Uint8Array;
  license: string;
  name?: string;
  expectedAttachType?: number;
  progFlags?: number;
  kernVersion?: number;
  attachBtfId?: number;
  attachProgFd?: number;
  /** 0 (default): load without a log, and reload with level 1 only if that fails. */
  logLevel?: number;
  /** Log buffer size (default 1 MiB); grown once to the kernel's log_true_size on ENOSPC. */
  logSize?: number;
}

export interface ProgLoadResult {
  fd: number;
  /** Present when logLevel > 0 was asked for. */
  log?: string;
}

/**
 * BPF_PROG_TEST_RUN input. What the kernel accepts depends on the program type. For
 * BPF_PROG_TYPE_RAW_TRACEPOINT (how BEGIN/END probes run): ctxIn is the u64 args array and must
 * cover every ctx offset the program reads (a program that reads no ctx may omit it); dataIn,
 * dataOut, ctxOut, repeat and batchSize must be absent (EINVAL otherwise); duration comes back 0;
 * cpu needs flags RUN_ON_CPU. Runs are counted in run_cnt / run_time_ns while stats are enabled.
 */
export interface ProgTestRunOptions {
  ctxIn?: Uint8Array;
  ctxOut?: Uint8Array;
  dataIn?: Uint8Array;
  dataOut?: Uint8Array;
  repeat?: number;
  flags?: number;
  cpu?: number;
  batchSize?: number;
}

export interface ProgTestRunResult {
  retval: number;
  /** Average ns per run; always 0 for raw tracepoint programs. */
  duration: number;
  dataSizeOut: number;
  ctxSizeOut: number;
}

export interface LinkCreateOptions {
  /** BPF_PERF_EVENT: bpf_cookie */
  cookie?: bigint;
  /** BPF_TRACE_UPROBE_MULTI / BPF_TRACE_UPROBE_SESSION (prog type KPROBE, loaded with the same expectedAttachType); targetFd is 0. */
  uprobeMulti?: {
    path: string;
    /** file offsets of the probed instructions */
    offsets: (bigint | number)[];
    refCtrOffsets?: (bigint | number)[];
    cookies?: (bigint | number)[];
    /** BPF_F_UPROBE_MULTI_RETURN for return probes */
    flags?: number;
    /** only this process (0 = all) */
    pid?: number;
  };
  /** BPF_TRACE_KPROBE_MULTI / BPF_TRACE_KPROBE_SESSION (needs CONFIG_FPROBE); targetFd is 0. */
  kprobeMulti?: {
    syms?: string[];
    addrs?: (bigint | number)[];
    cookies?: (bigint | number)[];
    flags?: number;
  };
}

export interface ProgInfo {
  id: number;
  type: number;
  name: string;
  /** hex of the 8-byte program tag */
  tag: string;
  /** collected only while a BPF_ENABLE_STATS fd is open (or the sysctl is set) */
  runTimeNs: bigint;
  runCnt: bigint;
  recursionMisses: bigint;
  xlatedLen: number;
  jitedLen: number;
  verifiedInsns: number;
}

export interface MapInfo {
  id: number;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
}

export interface LinkInfo {
  id: number;
  type: number;
  progId: number;
}

export type ObjKind = "prog" | "map" | "link";

export interface PerfEventOpenOptions {
  type: number;
  config: bigint | number;
  /** A string is passed as a pointer to its bytes (uprobe PMU: the binary's path). */
  config1?: bigint | number | string;
  config2?: bigint | number | string;
  samplePeriod?: bigint | number;
  sampleFreq?: bigint | number;
  /** Use sampleFreq rather than samplePeriod (default: true iff sampleFreq is given). */
  freq?: boolean;
  /** -1 for all processes (with cpu >= 0), 0 for the calling thread */
  pid: number;
  /** -1 for any CPU (with pid >= 0) */
  cpu: number;
  groupFd?: number;
  /** perf_event_open(2) flags; default PerfFlags.FD_CLOEXEC */
  flags?: number;
  wakeupEvents?: number;
  sampleType?: bigint | number;
  /** Open disabled; perfEventAttach enables it. */
  disabled?: boolean;
  /** Raw perf_event_attr flag word (PerfAttrFlags bits); disabled/freq are applied on top. */
  attrFlags?: bigint;
}

/** A ring buffer consumer registered with the event loop. */
export interface RingBuffer {
  /** Deliver every available record now; returns how many were delivered. */
  poll(): number;
  /** Stop watching and unmap. Idempotent. The map fd stays open (it is the caller's). */
  close(): void;
  /** Keep the event loop alive while open (the default). */
  ref(): this;
  /** Let the process exit even though the consumer is open. */
  unref(): this;
  readonly closed: boolean;
  readonly mapFd: number;
}

/**
 * Called with the records of one batch, in order, already copied out of the ring (views into
 * one fresh ArrayBuffer). Runs from the event loop when the kernel signals data, or
 * synchronously from poll() / ringbufDrain(). A throw from the event loop becomes an uncaught
 * exception.
 */
export type RingBufferCallback = (records: Uint8Array[]) => void;

export interface Native {
  mapCreate(opts: MapCreateOptions): number;
  /** false when the key is absent (ENOENT). `key` is ignored for maps without keys. */
  mapLookup(fd: number, key: Uint8Array | null, value: Uint8Array, flags?: number | bigint): boolean;
  mapUpdate(fd: number, key: Uint8Array | null, value: Uint8Array, flags?: number | bigint): void;
  /** false when the key was absent */
  mapDelete(fd: number, key: Uint8Array | null, flags?: number | bigint): boolean;
  /** Pop for queue/stack maps (key null); false when empty/absent. */
  mapLookupAndDelete(fd: number, key: Uint8Array | null, value: Uint8Array, flags?: number | bigint): boolean;
  /** key null: first key. false when there is no next key. */
  mapGetNextKey(fd: number, key: Uint8Array | null, nextKey: Uint8Array): boolean;
  /**
   * BPF_MAP_LOOKUP_BATCH. inBatch null starts from the beginning; pass the filled outBatch as
   * the next inBatch (tokens need max(keySize, 4) bytes). keys/values must hold `count`
   * entries. done: the kernel returned ENOENT (end of map; `count` entries are still valid).
   * Hash maps throw ENOSPC when one bucket holds more than `count` entries.
   */
  mapLookupBatch(
    fd: number,
    inBatch: Uint8Array | null,
    outBatch: Uint8Array,
    keys: Uint8Array,
    values: Uint8Array,
    count: number,
    elemFlags?: number | bigint,
  ): { count: number; done: boolean };
  /** Throws a NativeError with `log` (the verifier log) on failure. */
  progLoad(opts: ProgLoadOptions): ProgLoadResult;
  progTestRun(progFd: number, opts?: ProgTestRunOptions): ProgTestRunResult;
  /** BPF_LINK_CREATE; returns the link fd (closing it detaches). */
  linkCreate(progFd: number, targetFd: number, attachType: number, flags?: number, opts?: LinkCreateOptions): number;
  objInfo(fd: number, kind: "prog"): ProgInfo;
  objInfo(fd: number, kind: "map"): MapInfo;
  objInfo(fd: number, kind: "link"): LinkInfo;
  /** Next object id after startId, or null at the end. */
  getNextId(kind: ObjKind, startId: number): number | null;
  /** A new fd for the object with this id, or null when it does not exist. */
  getFdById(kind: ObjKind, id: number): number | null;
  /** BPF_ENABLE_STATS; stats are collected while the returned fd is open. */
  enableStats(type: number): number;
  perfEventOpen(opts: PerfEventOpenOptions): number;
  /** PERF_EVENT_IOC_SET_BPF then PERF_EVENT_IOC_ENABLE */
  perfEventAttach(perfFd: number, progFd: number): void;
  perfEventEnable(perfFd: number): void;
  perfEventDisable(perfFd: number): void;
  ringbufOpen(mapFd: number, callback: RingBufferCallback): RingBuffer;
  /** Same as handle.poll(): deliver everything available now (e.g. in an exit handler). */
  ringbufDrain(handle: RingBuffer): number;
  close(fd: number): void;
  pageSize(): number;
  /** Per-CPU map values hold roundUp(valueSize, 8) * numPossibleCpus() bytes. */
  numPossibleCpus(): number;
  /** C++ demangling with abi::__cxa_demangle; null when `name` is not a mangled name. */
  demangle(name: string): string | null;
}

// ---- loading ------------------------------------------------------------------------------------

const ADDON = join("build", "Release", "bpfts_native.node");

/** The package root: the nearest folder above this file holding package.json. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`bpfts: cannot find package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** Absolute path of the addon file (it may not exist). */
export function nativeAddonPath(): string {
  return join(packageRoot(), ADDON);
}

let loaded: Native | undefined;

/** The addon, loaded on first use. Throws "native addon not built: run npm install" if missing. */
export function native(): Native {
  if (loaded !== undefined) return loaded;
  const path = nativeAddonPath();
  if (!existsSync(path)) {
    throw new Error(`native addon not built: run npm install (expected ${path})`);
  }
  const require = createRequire(import.meta.url);
  loaded = require(path) as Native;
  return loaded;
}

/** Whether an error is a NativeError with the given errno name. */
export function isErrno(err: unknown, code: string): err is NativeError {
  return err instanceof Error && (err as Partial<NativeError>).code === code;
}
