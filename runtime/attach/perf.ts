// interval:UNIT:N and profile:UNIT:N — software cpu-clock perf events with a perf_event program.
// interval: one event on CPU 0 (all processes); profile: one event per online CPU. s/ms/us give a
// sample period in nanoseconds (cpu-clock counts ns); hz gives a frequency (freq mode).
// software:EVENT:COUNT — the software event EVENT on every online CPU, sample period COUNT.
import { readFileSync } from "node:fs";
import type { TimeUnit } from "../../compiler/probes/index.js";
import type { SoftwareEvent } from "../../compiler/probes/software.js";
import { native, PerfSwConfig, PerfType, type PerfEventOpenOptions } from "../native.js";
import { closeQuietly, detachAll, errnoText, TraceError, type Detach } from "./common.js";

const NS_PER_UNIT: Record<Exclude<TimeUnit, "hz">, bigint> = { s: 1_000_000_000n, ms: 1_000_000n, us: 1_000n };

/** The sampling part of perf_event_attr for UNIT:N. */
export function samplingOf(unit: TimeUnit, value: number): Pick<PerfEventOpenOptions, "samplePeriod" | "sampleFreq" | "freq"> {
  if (unit === "hz") return { sampleFreq: value, freq: true };
  return { samplePeriod: BigInt(value) * NS_PER_UNIT[unit], freq: false };
}

/** Parses a CPU list such as "0-3,5,7-8" (/sys/devices/system/cpu/online). */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(",")) {
    if (part === "") continue;
    const [a, b] = part.split("-").map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    const last = b === undefined ? a : b;
    for (let c = a; c <= last; c++) cpus.push(c);
  }
  return cpus;
}

export function onlineCpus(): number[] {
  return parseCpuList(readFileSync("/sys/devices/system/cpu/online", "utf8"));
}

/** A software event (PERF_COUNT_SW_*) to open, its name for messages, and its sampling. */
interface SoftwareSpec {
  config: number;
  event: string;
  sampling: Pick<PerfEventOpenOptions, "samplePeriod" | "sampleFreq" | "freq">;
}

const cpuClock = (unit: TimeUnit, value: number): SoftwareSpec => ({ config: PerfSwConfig.CPU_CLOCK, event: "cpu-clock", sampling: samplingOf(unit, value) });

function openOn(progFd: number, cpu: number, spec: SoftwareSpec, what: string): Detach {
  const n = native();
  let perf: number;
  try {
    perf = n.perfEventOpen({
      type: PerfType.SOFTWARE,
      config: spec.config,
      ...spec.sampling,
      pid: -1,
      cpu,
      disabled: true,
    });
  } catch (e) {
    throw new TraceError(`cannot open a ${spec.event} event on CPU ${cpu} for ${what}: ${errnoText(e)}`);
  }
  try {
    n.perfEventAttach(perf, progFd);
  } catch (e) {
    closeQuietly(perf);
    throw new TraceError(`cannot attach ${what} on CPU ${cpu}: ${errnoText(e)}`);
  }
  return () => {
    try {
      n.perfEventDisable(perf);
    } catch {
      // closing detaches anyway
    }
    closeQuietly(perf);
  };
}

/** interval:UNIT:N: fires on CPU 0 only. */
export function attachInterval(progFd: number, unit: TimeUnit, value: number): Detach {
  return openOn(progFd, 0, cpuClock(unit, value), `interval:${unit}:${value}`);
}

/** profile:UNIT:N: fires on every online CPU. */
export function attachProfile(progFd: number, unit: TimeUnit, value: number): Detach {
  return onEveryCpu(progFd, cpuClock(unit, value), `profile:${unit}:${value}`);
}

/** software:EVENT:COUNT: fires every `period` occurrences of the event, on every online CPU. */
export function attachSoftware(progFd: number, event: SoftwareEvent, period: number, what: string): Detach {
  return onEveryCpu(progFd, { config: event.config, event: event.name, sampling: { samplePeriod: BigInt(period), freq: false } }, what);
}

function onEveryCpu(progFd: number, spec: SoftwareSpec, what: string): Detach {
  const detaches: Detach[] = [];
  try {
    for (const cpu of onlineCpus()) detaches.push(openOn(progFd, cpu, spec, what));
  } catch (e) {
    detachAll(detaches);
    throw e;
  }
  return () => detachAll(detaches);
}
