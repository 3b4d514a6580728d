// bpftrace 0.17 functions bpfts does not offer; using one is an error that names it.
const names = [
  "buf", "bswap", "cat", "cgroup_path", "cgroupid", "debugf", "join", "kaddr", "kptr", "kstack", "ksym",
  "macaddr", "ntop", "offsetof", "override", "path", "pton", "reg", "signal", "sizeof", "skboutput",
  "strcontains", "strerror", "strftime", "system", "uaddr", "uptr", "unwatch", "len", "has_key",
];

export const UNSUPPORTED_FUNCTIONS: Record<string, string> = Object.fromEntries(names.map((n) => [n, `function ${n}() is not supported`]));
