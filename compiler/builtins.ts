// Builtin variables: one record each, with its type and the probe types where it is valid.
import type { ProbeContext } from "./probes/index.js";
import { COMM_SIZE, int, type Type } from "./types.js";

export interface BuiltinVariable {
  name: string;
  type: Type;
  doc: string;
  /** Valid only where the probe context offers this; absent = valid everywhere. */
  needs?: keyof ProbeContext;
  /** Valid only with `-c CMD`. */
  needsChild?: boolean;
}

const u64 = int(8, false);
const u32 = int(4, false);

const list: BuiltinVariable[] = [
  { name: "pid", type: u32, doc: "Process id (the kernel's tgid)." },
  { name: "tid", type: u32, doc: "Thread id (the kernel's pid)." },
  { name: "uid", type: u32, doc: "User id." },
  { name: "gid", type: u32, doc: "Group id." },
  { name: "nsecs", type: u64, doc: "Nanoseconds since boot (CLOCK_MONOTONIC)." },
  { name: "elapsed", type: u64, doc: "Nanoseconds since the program started (since BEGIN)." },
  { name: "cpu", type: u32, doc: "The CPU the probe fires on." },
  { name: "comm", type: { kind: "string", size: COMM_SIZE }, doc: "The current thread's name (16 bytes)." },
  { name: "cpid", type: u32, doc: "The pid of the child command started with -c.", needsChild: true },
  { name: "retval", type: u64, doc: "The traced function's return value.", needs: "retval" },
  { name: "func", type: { kind: "usym" }, doc: "The traced function's name.", needs: "func" },
  { name: "probe", type: { kind: "probe" }, doc: "The full name of the probe that fired." },
  { name: "ustack", type: { kind: "ustack", limit: 127 }, doc: "The user-space stack." },
];
for (let i = 0; i <= 11; i++) list.push({ name: `arg${i}`, type: u64, doc: `Argument ${i} of the traced function or USDT probe.`, needs: "args" });

export const BUILTIN_VARIABLES = new Map(list.map((b) => [b.name, b]));

/** bpftrace builtins bpfts does not offer, with the reason given when a script uses one. */
export const UNSUPPORTED_VARIABLES: Record<string, string> = {
  kstack: "kstack is not supported (kernel stacks)",
  curtask: "curtask is not supported",
  rand: "rand is not supported",
  cgroup: "cgroup is not supported",
  username: "username is not supported",
  numaid: "numaid is not supported",
  ctx: "ctx is not supported",
  jiffies: "jiffies is not supported",
  ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`sarg${i}`, `sarg${i} (stack arguments) is not supported`])),
};
