// Builtin variables: one record each, with its type and the probe types where it is valid.
import type { ProbeContext } from "./probes/index.js";
import { COMM_SIZE, int, pointer, VOID, type Type } from "./types.js";

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
  { name: "ustack", type: { kind: "ustack", limit: 127 }, doc: "The user-space stack (127 frames); same as ustack()." },
  { name: "kstack", type: { kind: "kstack", limit: 127 }, doc: "The kernel stack (127 frames); same as kstack()." },
  { name: "curtask", type: u64, doc: "The current task's struct task_struct: a pointer to it when its layout is known (the kernel's BTF, or the script's own definition), else its address as uint64." },
  { name: "ctx", type: pointer(VOID, "kernel"), doc: "The probe's context: a pointer to the kernel's data the program was given (struct pt_regs for uprobes, the tracepoint's record...)." },
];
list.push(
  { name: "cgroup", type: u64, doc: "The id of the current thread's cgroup (in the unified hierarchy): bpf_get_current_cgroup_id()." },
  { name: "numaid", type: u32, doc: "The NUMA node of the CPU the probe fires on." },
  { name: "rand", type: u32, doc: "A pseudo-random 32-bit number." },
  { name: "username", type: { kind: "resolved", how: "username" }, doc: "The current user's name: the uid, turned into its /etc/passwd name when printed (empty if it has none)." },
);
for (let i = 0; i <= 11; i++) list.push({ name: `arg${i}`, type: u64, doc: `Argument ${i} of the traced function or USDT probe.`, needs: "args" });
/** How many stack arguments (sarg0...) there are. */
export const STACK_ARGS = 12;
for (let i = 0; i < STACK_ARGS; i++) list.push({ name: `sarg${i}`, type: u64, doc: `Argument ${i} of those the traced function gets on the stack (uprobes, x86-64: the 8 bytes at sp + ${8 * (i + 1)} at entry).`, needs: "stackArgs" });

export const BUILTIN_VARIABLES = new Map(list.map((b) => [b.name, b]));

/** bpftrace builtins bpfts does not offer, with the reason given when a script uses one. */
export const UNSUPPORTED_VARIABLES: Record<string, string> = {
  jiffies: "jiffies is not supported",
};
