// What this machine's kernel offers, and what a case needs of it.
//
// Probe types are read from the perf event sources and tracefs. Kernel features named by
// REQUIRES_FEATURE are decided here (no bpftrace needed), so both tools see the same skips:
//   kfunc, kretfunc, dpath, skboutput, iter:*  BTF tracing programs attached through BPF
//                  trampolines: absent (the suite's README: "Kprobes, kfuncs and hardware events
//                  do not exist on this kernel"; bpftrace 0.17's --info agrees here)
//   kprobe_multi   needs kprobes
//   btf            /sys/kernel/btf/vmlinux
//   uprobe_refcount the uprobe PMU's ref_ctr_offset format field
//   loop           kernel 5.3 or newer
//   anything else  assumed present
// BPFTS_CONFORMANCE_FEATURES="+kfunc,-btf" overrides any of these.
import { existsSync, readdirSync } from "node:fs";
import { arch, release } from "node:os";

const PMU = "/sys/bus/event_source/devices";

function pmu(name) {
  return existsSync(`${PMU}/${name}`);
}

function hasHardwarePmu() {
  try {
    return readdirSync(PMU).some(
      (d) => d === "cpu" || d === "cpu_core" || d === "cpu_atom" || d.startsWith("armv8_") || existsSync(`${PMU}/${d}/events/cpu-cycles`),
    );
  } catch {
    return false;
  }
}

/** "6.18.44-fc" → [6, 18, 44] */
export function versionParts(v) {
  return (/^[0-9.]+/.exec(v)?.[0] ?? "").split(".").filter((s) => s !== "").map(Number);
}

export function versionAtLeast(have, want) {
  const a = versionParts(have);
  const b = versionParts(want);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** Machine names bpftrace's ARCH lines use. */
export function machine() {
  const a = arch();
  return a === "x64" ? "x86_64" : a === "arm64" ? "aarch64" : a === "arm" ? "armv7l" : a === "s390x" ? "s390x" : a === "ppc64" ? "ppc64le" : a;
}

export function detectKernel() {
  const kernelRelease = release();
  const kprobe = pmu("kprobe") || existsSync("/sys/kernel/tracing/kprobe_events") || existsSync("/sys/kernel/debug/tracing/kprobe_events");
  /** probe type → present */
  const probes = {
    kprobe,
    kfunc: false,
    hardware: hasHardwarePmu(),
    software: pmu("software"),
    watchpoint: pmu("breakpoint"),
    iter: false,
    uprobe: pmu("uprobe"),
    tracepoint: pmu("tracepoint") || existsSync("/sys/kernel/tracing/events"),
  };
  /** REQUIRES_FEATURE name → present */
  const features = {
    btf: existsSync("/sys/kernel/btf/vmlinux"),
    kfunc: probes.kfunc,
    dpath: probes.kfunc,
    skboutput: probes.kfunc,
    "iter:task": probes.iter,
    "iter:task_file": probes.iter,
    kprobe_multi: kprobe && versionAtLeast(kernelRelease, "5.18"),
    uprobe_refcount: existsSync(`${PMU}/uprobe/format/ref_ctr_offset`),
    loop: versionAtLeast(kernelRelease, "5.3"),
  };
  for (const item of (process.env["BPFTS_CONFORMANCE_FEATURES"] ?? "").split(",")) {
    const m = /^([+-])(.+)$/.exec(item.trim());
    if (!m) continue;
    const on = m[1] === "+";
    if (m[2] in probes) probes[m[2]] = on;
    features[m[2]] = on;
  }
  return { release: kernelRelease, machine: machine(), probes, features };
}

/** Whether a REQUIRES_FEATURE name is present (unknown names are assumed present). */
export function hasFeature(kernel, name) {
  return name in kernel.features ? kernel.features[name] : true;
}

// Probe providers (with their short names) that need a kernel facility.
const PROVIDERS = [
  { kind: "kprobe", names: ["kprobe", "k", "kretprobe", "kr"] },
  { kind: "kfunc", names: ["kfunc", "f", "kretfunc", "fr"] },
  { kind: "hardware", names: ["hardware", "h"] },
  { kind: "software", names: ["software", "s", "profile", "p"] },
  { kind: "watchpoint", names: ["watchpoint", "w", "asyncwatchpoint", "aw"] },
  { kind: "iter", names: ["iter", "it"] },
  { kind: "uprobe", names: ["uprobe", "u", "uretprobe", "ur", "usdt", "U"] },
  { kind: "tracepoint", names: ["tracepoint", "t"] },
];

/** The text outside braces: attach points, not action blocks or struct bodies (bit-fields!). */
function topLevel(text) {
  let depth = 0;
  let out = "";
  for (const ch of text) {
    if (ch === "{") depth++;
    const keep = depth === 0;
    if (ch === "}") depth = Math.max(0, depth - 1);
    out += keep ? ch : " ";
  }
  return out;
}

/**
 * Probe kinds a program (or shell command line holding one) attaches to: every provider name
 * followed by ':' at the start of an attach point (outside braces, after start, space, quote,
 * ',' or ';').
 */
export function probeKinds(text) {
  const top = topLevel(text);
  const kinds = new Set();
  for (const { kind, names } of PROVIDERS) {
    const re = new RegExp(`(?:^|[\\s'",;])(?:${names.join("|")}):`);
    if (re.test(top)) kinds.add(kind);
  }
  return kinds;
}

/** Probe kinds a listing (-l) case is about: those its command line or EXPECT names. */
export function listedKinds(text) {
  const kinds = probeKinds(text);
  if (/\bkprobes?\b|\bkretprobes?\b/.test(text)) kinds.add("kprobe");
  if (/\bkfuncs?\b|\bkretfuncs?\b/.test(text)) kinds.add("kfunc");
  if (/\bhardware\b/.test(text)) kinds.add("hardware");
  if (/\bwatchpoint\b/.test(text)) kinds.add("watchpoint");
  return kinds;
}

/** Whether a RUN line lists probes (-l, -lv). */
export function isListing(run) {
  return /(?:^|\s)-l(?:v)?(?=\s|$)/.test(run) || /(?:^|\s)-vl(?=\s|$)/.test(run);
}
