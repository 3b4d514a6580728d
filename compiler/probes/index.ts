// The probe types, by every name they may be written with.
import { begin, end } from "./begin-end.js";
import { interval, profile } from "./interval.js";
import type { ProbeProvider, ProbeType } from "./provider.js";
import { software } from "./software.js";
import { tracepoint } from "./tracepoint.js";
import { uprobe, uretprobe } from "./uprobe.js";
import { usdt } from "./usdt.js";

export { UNSUPPORTED_PROBES } from "./unsupported.js";
export type { ProbeContext, ProbeProvider, ProbeTarget, ProbeType, TimeUnit } from "./provider.js";

export const PROVIDERS: ProbeProvider[] = [begin, end, interval, profile, uprobe, uretprobe, usdt, tracepoint, software];

const byName = new Map<string, ProbeProvider>();
for (const p of PROVIDERS) for (const n of p.names) byName.set(n, p);

export function providerByName(name: string): ProbeProvider | undefined {
  return byName.get(name);
}

export function providerOf(type: ProbeType): ProbeProvider {
  return PROVIDERS.find((p) => p.type === type)!;
}
