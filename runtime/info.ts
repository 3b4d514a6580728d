// `bpfts --info`: what this system offers bpfts, in bpftrace's sections (System, Build, Kernel
// helpers, Kernel features, Map types, Probe types). Everything under the kernel sections is
// probed for real, cheaply: a tiny program calling each helper is loaded (the verifier refuses
// helpers the kernel or the program type does not have), a map of each type is created, files
// the kernel exports are looked at. Nothing is attached; every fd is closed again.
import { accessSync, constants, existsSync } from "node:fs";
import * as os from "node:os";
import { Assembler, encode, Helper, R0, R1, R2, R3, R10 } from "../compiler/asm/index.js";
import { AttachType, MapType, native, nativeAddonPath, ProgType, type Native } from "./native.js";
import { hasTracingPrivileges } from "./session.js";
import { tracefsRoot } from "./tracefs.js";

/** One line of a section: a name and what was found. */
export interface InfoLine {
  name: string;
  value: string;
}

export interface InfoSection {
  title: string;
  lines: InfoLine[];
}

const yes = (ok: boolean) => (ok ? "yes" : "no");

/** Renders the sections as bpftrace does: a title, "  name: value" lines, a blank line between. */
export function formatInfo(sections: readonly InfoSection[]): string {
  return sections.map((s) => `${s.title}\n${s.lines.map((l) => `  ${l.name}: ${l.value}\n`).join("")}`).join("\n");
}

function closeQuietly(n: Native, fd: number): void {
  try {
    n.close(fd);
  } catch {
    // nothing to do
  }
}

/** Whether a program of `type` made of `build`'s instructions loads. */
function loads(n: Native, type: number, build: (a: Assembler) => void, expectedAttachType?: number): boolean {
  const a = new Assembler();
  build(a);
  try {
    const { fd } = n.progLoad({ type, insns: encode(a.assemble()), license: "GPL", name: "bpfts_info", ...(expectedAttachType !== undefined ? { expectedAttachType } : {}) });
    closeQuietly(n, fd);
    return true;
  } catch {
    return false;
  }
}

/** `r0 = 0; exit`, after `body`. */
const ret0 = (body: (a: Assembler) => void) => (a: Assembler) => {
  body(a);
  a.mov64(R0, 0).exit();
};

/** A kprobe-type program (what uprobes run) calling `helper` with arguments the verifier accepts. */
function helperLoads(n: Native, helper: Helper): boolean {
  return loads(
    n,
    ProgType.KPROBE,
    ret0((a) => {
      switch (helper) {
        case Helper.probe_read:
        case Helper.probe_read_str:
        case Helper.probe_read_user:
        case Helper.probe_read_user_str:
        case Helper.probe_read_kernel:
        case Helper.probe_read_kernel_str:
          // (dst = a stack slot, size = 8, src = NULL)
          a.mov64(R1, R10).add64(R1, -8).mov64(R2, 8).mov64(R3, 0);
          break;
        case Helper.send_signal:
          a.mov64(R1, 0);
          break;
        case Helper.override_return:
          a.mov64(R2, 0);
          break;
        default:
          // get_attach_cookie(ctx) and helpers without arguments
          break;
      }
      a.call(helper);
    }),
  );
}

function mapCreates(n: Native, type: number, keySize: number, valueSize: number, maxEntries: number): boolean {
  try {
    closeQuietly(n, n.mapCreate({ type, keySize, valueSize, maxEntries, name: "bpfts_info" }));
    return true;
  } catch {
    return false;
  }
}

/** BPF_MAP_LOOKUP_BATCH on an empty hash map: done (ENOENT) when the kernel has it. */
function mapBatch(n: Native): boolean {
  let fd: number;
  try {
    fd = n.mapCreate({ type: MapType.HASH, keySize: 8, valueSize: 8, maxEntries: 1, name: "bpfts_info" });
  } catch {
    return false;
  }
  try {
    n.mapLookupBatch(fd, null, new Uint8Array(8), new Uint8Array(8), new Uint8Array(8), 1);
    return true;
  } catch {
    return false;
  } finally {
    closeQuietly(n, fd);
  }
}

/** A raw tracepoint program run with BPF_PROG_TEST_RUN: how bpfts runs BEGIN and END. */
function testRuns(n: Native): boolean {
  const a = new Assembler();
  a.mov64(R0, 0).exit();
  let fd: number;
  try {
    fd = n.progLoad({ type: ProgType.RAW_TRACEPOINT, insns: encode(a.assemble()), license: "GPL", name: "bpfts_info" }).fd;
  } catch {
    return false;
  }
  try {
    n.progTestRun(fd);
    return true;
  } catch {
    return false;
  } finally {
    closeQuietly(n, fd);
  }
}

const PMU = "/sys/bus/event_source/devices";

/** The sections, probing the kernel when this process may (root, or CAP_BPF and CAP_PERFMON). */
export function collectInfo(version: string): InfoSection[] {
  const sections: InfoSection[] = [
    {
      title: "System",
      lines: [
        { name: "OS", value: `${os.type()} ${os.release()} ${os.version()}` },
        { name: "Arch", value: os.machine() },
      ],
    },
    {
      title: "Build",
      lines: [
        { name: "version", value: `v${version}` },
        { name: "Node.js", value: process.version },
        { name: "code generation", value: "built in (BPF bytecode from TypeScript, no LLVM)" },
        { name: "native addon", value: existsSync(nativeAddonPath()) ? nativeAddonPath() : "not built (run npm install)" },
      ],
    },
  ];
  if (!hasTracingPrivileges() || !existsSync(nativeAddonPath())) {
    const why = !existsSync(nativeAddonPath()) ? "the native addon is not built" : "needs root, or CAP_BPF and CAP_PERFMON";
    sections.push({ title: "Kernel", lines: [{ name: "helpers, features, map and probe types", value: `not probed (${why})` }] });
    return sections;
  }
  const n = native();
  const helper = (name: string, h: Helper): InfoLine => ({ name, value: yes(helperLoads(n, h)) });
  sections.push({
    title: "Kernel helpers",
    lines: [
      helper("probe_read", Helper.probe_read),
      helper("probe_read_str", Helper.probe_read_str),
      helper("probe_read_user", Helper.probe_read_user),
      helper("probe_read_user_str", Helper.probe_read_user_str),
      helper("probe_read_kernel", Helper.probe_read_kernel),
      helper("probe_read_kernel_str", Helper.probe_read_kernel_str),
      helper("get_current_cgroup_id", Helper.get_current_cgroup_id),
      helper("send_signal", Helper.send_signal),
      helper("override_return", Helper.override_return),
      helper("get_boot_ns", Helper.ktime_get_boot_ns),
      helper("get_attach_cookie", Helper.get_attach_cookie),
    ],
  });
  // More than the 4096 instructions of unprivileged programs (and of kernels before 5.2).
  const big = loads(n, ProgType.KPROBE, (a) => {
    for (let i = 0; i < 5000; i++) a.mov64(R0, 0);
    a.exit();
  });
  // A bounded loop: a backward jump (5.3 and later).
  const loop = loads(n, ProgType.KPROBE, (a) => {
    a.mov64(R1, 0).label("top").add64(R1, 1).jlt(R1, 4, "top").mov64(R0, 0).exit();
  });
  const multi = loads(n, ProgType.KPROBE, ret0(() => {}), AttachType.TRACE_UPROBE_MULTI);
  const ringbuf = mapCreates(n, MapType.RINGBUF, 0, 0, 4096);
  sections.push({
    title: "Kernel features",
    lines: [
      { name: "Instruction limit", value: big ? "1000000" : "4096" },
      { name: "Loop support", value: yes(loop) },
      { name: "btf", value: yes(readable("/sys/kernel/btf/vmlinux")) },
      { name: "map batch", value: yes(mapBatch(n)) },
      { name: "uprobe refcount (USDT semaphores)", value: yes(existsSync(`${PMU}/uprobe/format/ref_ctr_offset`)) },
      { name: "multi-uprobe links", value: yes(multi) },
      { name: "ring buffer", value: yes(ringbuf) },
      { name: "program test runs (BEGIN, END)", value: yes(testRuns(n)) },
    ],
  });
  sections.push({
    title: "Map types",
    lines: [
      { name: "hash", value: yes(mapCreates(n, MapType.HASH, 8, 8, 1)) },
      { name: "percpu hash", value: yes(mapCreates(n, MapType.PERCPU_HASH, 8, 8, 1)) },
      { name: "array", value: yes(mapCreates(n, MapType.ARRAY, 4, 8, 1)) },
      { name: "percpu array", value: yes(mapCreates(n, MapType.PERCPU_ARRAY, 4, 8, 1)) },
      { name: "stack_trace", value: yes(mapCreates(n, MapType.STACK_TRACE, 4, 8 * 127, 1)) },
      { name: "perf_event_array", value: yes(mapCreates(n, MapType.PERF_EVENT_ARRAY, 4, 4, 1)) },
      { name: "ringbuf", value: yes(ringbuf) },
    ],
  });
  const perfEvent = loads(n, ProgType.PERF_EVENT, ret0(() => {}));
  const uprobes = existsSync(`${PMU}/uprobe/type`) && loads(n, ProgType.KPROBE, ret0(() => {}));
  const tracepoints = tracefsRoot() !== undefined && loads(n, ProgType.TRACEPOINT, ret0(() => {}));
  sections.push({
    title: "Probe types",
    lines: [
      { name: "BEGIN, END", value: yes(testRuns(n)) },
      { name: "interval, profile, software", value: yes(perfEvent) },
      { name: "tracepoint", value: tracepoints ? "yes" : tracefsRoot() === undefined ? "no (tracefs is not mounted)" : "no" },
      { name: "uprobe, uretprobe, usdt", value: yes(uprobes) },
      { name: "kprobe", value: existsSync(`${PMU}/kprobe/type`) ? "no (not supported by bpfts)" : "no" },
      { name: "hardware", value: existsSync(`${PMU}/cpu/events`) ? "no (not supported by bpfts)" : "no" },
    ],
  });
  return sections;
}

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
