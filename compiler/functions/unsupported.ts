// bpftrace 0.17 functions bpfts does not offer; using one is an error that names it.
const names = [
  "cgroupid", "debugf", "ksym",
  "override", "path", "reg", "signal", "skboutput",
  "unwatch", "len", "has_key",
];

export const UNSUPPORTED_FUNCTIONS: Record<string, string> = Object.fromEntries(names.map((n) => [n, `function ${n}() is not supported`]));
