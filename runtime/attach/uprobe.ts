// uprobe:PATH:FUNC, uretprobe:PATH:FUNC and usdt:PATH:[PROVIDER:]NAME — BPF_PROG_TYPE_KPROBE
// programs on instructions of user-space files, by file offset.
//
// One location: one event of the uprobe PMU (/sys/bus/event_source/devices/uprobe/type) with
//   config  = retprobe (bit 0) | ref_ctr_offset << 32 (a USDT semaphore's file offset: the kernel
//             raises the semaphore in every process the probe is installed in, running ones
//             included, and lowers it again on detach),
//   config1 = the file's path, config2 = the file offset,
// opened once — pid -1 / cpu 0 for every process, or pid PID / cpu -1 for one process (-p, -c):
// the program runs for hits on every CPU either way, and an event per CPU would run it once per
// CPU for every hit. A program that reads its BPF cookie (bpf_get_attach_cookie) goes on the
// event through a BPF perf link carrying the probe's id as cookie.
//
// Many locations in one file with one program (a wildcard): ONE BPF_TRACE_UPROBE_MULTI link
// (kernel 6.6+) for all of them, with per-location semaphores and cookies (the probe ids); the
// program must be loaded with expected_attach_type BPF_TRACE_UPROBE_MULTI. Thousands of offsets
// attach in one system call instead of two per location, and detach in one close.
import { readFileSync } from "node:fs";
import { AttachType, BPF_F_UPROBE_MULTI_RETURN, native } from "../native.js";
import { closeQuietly, errnoText, TraceError, type Detach } from "./common.js";

/** One probed instruction. */
export interface UprobeSite {
  /** The canonical probe name, for messages ("uprobe:/bin/bash:readline"). */
  probe: string;
  /** Absolute path of the file. */
  path: string;
  /** File offset of the instruction. */
  offset: number;
  retprobe: boolean;
  /** File offset of a USDT semaphore. */
  refCtrOffset?: number;
  /** The BPF cookie (the probe's id). */
  cookie: bigint;
}

/** Where the uprobe PMU's type is published. */
export const UPROBE_PMU_TYPE_FILE = "/sys/bus/event_source/devices/uprobe/type";

let pmuType: number | undefined;

/** The uprobe PMU's perf event type. Throws a TraceError when the kernel has none. */
export function uprobePmuType(): number {
  if (pmuType !== undefined) return pmuType;
  let text: string;
  try {
    text = readFileSync(UPROBE_PMU_TYPE_FILE, "utf8");
  } catch (e) {
    throw new TraceError(`this kernel has no uprobe PMU (${UPROBE_PMU_TYPE_FILE}: ${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const n = Number(text.trim());
  if (!Number.isInteger(n) || n < 0) throw new Error(`unexpected content of ${UPROBE_PMU_TYPE_FILE}: ${JSON.stringify(text)}`);
  pmuType = n;
  return n;
}

/** perf_event_attr.config for a uprobe PMU event: retprobe bit 0, ref_ctr_offset in bits 32-63. */
export function uprobeConfig(retprobe: boolean, refCtrOffset?: number): bigint {
  const ref = BigInt(refCtrOffset ?? 0);
  if (ref < 0n || ref > 0xffff_ffffn) throw new TraceError(`semaphore offset 0x${ref.toString(16)} does not fit the uprobe PMU's 32 bits`);
  return (retprobe ? 1n : 0n) | (ref << 32n);
}

/** pid and cpu of perf_event_open: every process (on CPU 0's event), or one process on any CPU. */
export function uprobeScope(pid: number | undefined): { pid: number; cpu: number } {
  return pid === undefined ? { pid: -1, cpu: 0 } : { pid, cpu: -1 };
}

/** The kernel's ENOTSUPP (not in errno.h): uprobes cannot single-step the probed instruction. */
const ENOTSUPP = 524;

/** errno values with which one bad offset fails a whole multi-uprobe link. */
const PER_OFFSET_ERRNOS = new Set([ENOTSUPP, 22 /* EINVAL */, 84 /* EILSEQ */]);

function reason(e: unknown): string {
  const errno = (e as { errno?: number }).errno;
  if (errno === ENOTSUPP) return "the instruction there cannot be probed (ENOTSUPP)";
  if (errno === 84) return "the offset is not at an instruction boundary (EILSEQ)";
  return errnoText(e);
}

function attachError(probe: string, what: string, e: unknown, pid: number | undefined): TraceError {
  const code = (e as { code?: string }).code;
  if (code === "ESRCH" && pid !== undefined) return new TraceError(`cannot attach ${probe}: process ${pid} does not exist`);
  return new TraceError(`cannot ${what} ${probe}: ${reason(e)}`);
}

/**
 * Attaches a loaded kprobe-type program to one location: one perf event, with the program set on
 * it by PERF_EVENT_IOC_SET_BPF, or, when the program reads its BPF cookie (`withCookie`), through
 * a BPF perf link carrying the site's cookie. (A perf link costs about 30 ms more to detach
 * here; closing the perf event itself about 105 ms, one after another under a kernel mutex.)
 */
export function attachUprobe(progFd: number, site: UprobeSite, pid?: number, withCookie = false): Detach {
  const n = native();
  let perf: number;
  try {
    perf = n.perfEventOpen({
      type: uprobePmuType(),
      config: uprobeConfig(site.retprobe, site.refCtrOffset),
      config1: site.path,
      config2: site.offset,
      ...uprobeScope(pid),
      disabled: true,
    });
  } catch (e) {
    if (e instanceof TraceError) throw e;
    throw attachError(site.probe, "open a uprobe for", e, pid);
  }
  let link: number | undefined;
  try {
    if (withCookie) {
      link = n.linkCreate(progFd, perf, AttachType.PERF_EVENT, 0, { cookie: site.cookie });
      n.perfEventEnable(perf);
    } else {
      n.perfEventAttach(perf, progFd);
    }
  } catch (e) {
    if (link !== undefined) closeQuietly(link);
    closeQuietly(perf);
    throw attachError(site.probe, "attach", e, pid);
  }
  return () => {
    try {
      n.perfEventDisable(perf);
    } catch {
      // closing detaches anyway
    }
    if (link !== undefined) closeQuietly(link);
    closeQuietly(perf);
  };
}

/**
 * Attaches one program (loaded with expected_attach_type BPF_TRACE_UPROBE_MULTI) to every site,
 * all in one file and all entries or all returns, with one BPF_TRACE_UPROBE_MULTI link.
 *
 * One offset the kernel refuses (an instruction uprobes cannot step, such as `lock decl` at the
 * start of libc's pthread_spin_lock) fails the whole link. Given `warn`, the sites it refuses
 * are then found by splitting, each reported with `warn` ("could not attach probe ..., skipping",
 * as bpftrace does for wildcards), and the link made for the rest; without it, or when no site
 * can be attached, the failure is thrown.
 */
export function attachUprobeMulti(progFd: number, sites: readonly UprobeSite[], pid?: number, warn?: (message: string) => void): Detach {
  const first = sites[0];
  if (first === undefined) return () => {};
  for (const s of sites) {
    if (s.path !== first.path || s.retprobe !== first.retprobe) throw new Error(`one uprobe_multi link covers one file and one direction: ${first.probe} and ${s.probe}`);
  }
  const what = sites.length === 1 ? first.probe : `${first.probe} and ${sites.length - 1} more`;
  try {
    const link = multiLink(progFd, sites, pid);
    return () => closeQuietly(link);
  } catch (e) {
    const errno = (e as { errno?: number }).errno;
    if (warn === undefined || sites.length === 1 || errno === undefined || !PER_OFFSET_ERRNOS.has(errno)) throw attachError(what, "attach", e, pid);
    const { links, bad } = partition(progFd, sites, pid);
    const detach = () => {
      for (const l of links.reverse()) closeQuietly(l);
    };
    if (links.length === 0) throw attachError(what, "attach", e, pid);
    for (const b of bad) warn(`WARNING: could not attach probe ${b.site.probe}, skipping: ${reason(b.error)}\n`);
    return detach;
  }
}

function multiLink(progFd: number, sites: readonly UprobeSite[], pid: number | undefined): number {
  const hasRefCtr = sites.some((s) => s.refCtrOffset !== undefined);
  return native().linkCreate(progFd, 0, AttachType.TRACE_UPROBE_MULTI, 0, {
    uprobeMulti: {
      path: sites[0]!.path,
      offsets: sites.map((s) => s.offset),
      ...(hasRefCtr ? { refCtrOffsets: sites.map((s) => s.refCtrOffset ?? 0) } : {}),
      cookies: sites.map((s) => s.cookie),
      flags: sites[0]!.retprobe ? BPF_F_UPROBE_MULTI_RETURN : 0,
      ...(pid !== undefined ? { pid } : {}),
    },
  });
}

/**
 * How many parts a failed set of sites is split into. Both a failed link and the close of a good
 * one cost 50-110 ms here (the kernel waits for an RCU grace period), whatever their size, so
 * the split trades failures against links: for one bad offset among 2,600 in libc, halves take
 * 12 failures and 12 links (1.4 s to attach, 0.7 s to detach), quarters 6 and 17 (0.5 s, 1.0 s),
 * sixteenths 3 and 39 (0.4 s, 2.0 s).
 */
const PARTITION_FANOUT = 4;

/**
 * Attaches what can be attached of `sites` when one link for all of them failed: parts are tried
 * in turn, each one that attaches keeps its link; single sites that fail are `bad`.
 */
function partition(progFd: number, sites: readonly UprobeSite[], pid: number | undefined): { links: number[]; bad: Array<{ site: UprobeSite; error: unknown }> } {
  const links: number[] = [];
  const bad: Array<{ site: UprobeSite; error: unknown }> = [];
  const visit = (part: readonly UprobeSite[]): void => {
    const size = Math.ceil(part.length / PARTITION_FANOUT);
    for (let at = 0; at < part.length; at += size) {
      const chunk = part.slice(at, at + size);
      try {
        links.push(multiLink(progFd, chunk, pid));
      } catch (e) {
        const errno = (e as { errno?: number }).errno;
        if (chunk.length === 1 || errno === undefined || !PER_OFFSET_ERRNOS.has(errno)) {
          for (const site of chunk) bad.push({ site, error: e });
        } else visit(chunk);
      }
    }
  };
  try {
    visit(sites);
  } catch (e) {
    for (const l of links) closeQuietly(l);
    throw e;
  }
  return { links, bad };
}
