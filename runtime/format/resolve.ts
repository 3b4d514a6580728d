// Values that only user space can turn into text, as bpftrace 0.17 prints them: buf() bytes
// (printf's %r, %rx, %rh), ntop() addresses, strftime() times, cgroup_path() paths, strerror()
// messages and usernames. The kernel side only records a number (or bytes); the text is made
// here, when a record or a map is printed.
import { readdirSync, readFileSync, statSync } from "node:fs";
import type { ResolvedKind } from "../../compiler/types.js";
import { strftime } from "../output.js";

// ---- buf() ---------------------------------------------------------------------------------

const HEX = "0123456789abcdef";

function hex2(b: number): string {
  return HEX[b >> 4]! + HEX[b & 15]!;
}

/**
 * bpftrace's %r (and how it prints a buf() value): printable ASCII (0x20 to 0x7e) as is, every
 * other byte as `\xNN` (two lowercase hex digits).
 */
export function escapeBuffer(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : `\\x${hex2(b)}`;
  return out;
}

/** bpftrace's %rx: every byte as `\xNN`. */
export function hexEscapeBuffer(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += `\\x${hex2(b)}`;
  return out;
}

/** bpftrace's %rh: every byte as two hex digits, separated by spaces. */
export function hexBuffer(bytes: Uint8Array): string {
  return Array.from(bytes, hex2).join(" ");
}

// ---- ntop() ----------------------------------------------------------------------------------

export const AF_INET = 2;
export const AF_INET6 = 10;

/** glibc's inet_ntop(AF_INET6): the longest run of zero groups (two or more) becomes "::". */
function ipv6Text(a: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((a[2 * i]! << 8) | a[2 * i + 1]!);
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (cur.base === -1) cur = { base: i, len: 1 };
      else cur.len++;
    } else if (cur.base !== -1) {
      if (cur.len > best.len) best = cur;
      cur = { base: -1, len: 0 };
    }
  }
  if (cur.base !== -1 && cur.len > best.len) best = cur;
  if (best.len < 2) best = { base: -1, len: 0 };
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (best.base !== -1 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ":";
      continue;
    }
    if (i !== 0) out += ":";
    // IPv4-compatible and IPv4-mapped addresses end in a dotted quad.
    if (i === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff))) {
      out += `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
      break;
    }
    out += words[i]!.toString(16);
  }
  if (best.base !== -1 && best.base + best.len === 8) out += ":";
  return out;
}

/** What ntop() prints: the address in the family's notation, or "" for another family. */
export function inetText(af: bigint, addr: Uint8Array): string {
  if (af === BigInt(AF_INET)) return `${addr[0]}.${addr[1]}.${addr[2]}.${addr[3]}`;
  if (af === BigInt(AF_INET6)) return ipv6Text(addr);
  return "";
}

// ---- strerror() ------------------------------------------------------------------------------

/** glibc's messages for errno 0 to 133 (Linux's numbering); "" where glibc has none. */
const ERRNO_MESSAGES = [
  "Success", "Operation not permitted", "No such file or directory", "No such process", "Interrupted system call",
  "Input/output error", "No such device or address", "Argument list too long", "Exec format error", "Bad file descriptor",
  "No child processes", "Resource temporarily unavailable", "Cannot allocate memory", "Permission denied", "Bad address",
  "Block device required", "Device or resource busy", "File exists", "Invalid cross-device link", "No such device",
  "Not a directory", "Is a directory", "Invalid argument", "Too many open files in system", "Too many open files",
  "Inappropriate ioctl for device", "Text file busy", "File too large", "No space left on device", "Illegal seek",
  "Read-only file system", "Too many links", "Broken pipe", "Numerical argument out of domain", "Numerical result out of range",
  "Resource deadlock avoided", "File name too long", "No locks available", "Function not implemented", "Directory not empty",
  "Too many levels of symbolic links", "", "No message of desired type", "Identifier removed", "Channel number out of range",
  "Level 2 not synchronized", "Level 3 halted", "Level 3 reset", "Link number out of range", "Protocol driver not attached",
  "No CSI structure available", "Level 2 halted", "Invalid exchange", "Invalid request descriptor", "Exchange full",
  "No anode", "Invalid request code", "Invalid slot", "", "Bad font file format",
  "Device not a stream", "No data available", "Timer expired", "Out of streams resources", "Machine is not on the network",
  "Package not installed", "Object is remote", "Link has been severed", "Advertise error", "Srmount error",
  "Communication error on send", "Protocol error", "Multihop attempted", "RFS specific error", "Bad message",
  "Value too large for defined data type", "Name not unique on network", "File descriptor in bad state", "Remote address changed", "Can not access a needed shared library",
  "Accessing a corrupted shared library", ".lib section in a.out corrupted", "Attempting to link in too many shared libraries", "Cannot exec a shared library directly", "Invalid or incomplete multibyte or wide character",
  "Interrupted system call should be restarted", "Streams pipe error", "Too many users", "Socket operation on non-socket", "Destination address required",
  "Message too long", "Protocol wrong type for socket", "Protocol not available", "Protocol not supported", "Socket type not supported",
  "Operation not supported", "Protocol family not supported", "Address family not supported by protocol", "Address already in use", "Cannot assign requested address",
  "Network is down", "Network is unreachable", "Network dropped connection on reset", "Software caused connection abort", "Connection reset by peer",
  "No buffer space available", "Transport endpoint is already connected", "Transport endpoint is not connected", "Cannot send after transport endpoint shutdown", "Too many references: cannot splice",
  "Connection timed out", "Connection refused", "Host is down", "No route to host", "Operation already in progress",
  "Operation now in progress", "Stale file handle", "Structure needs cleaning", "Not a XENIX named type file", "No XENIX semaphores available",
  "Is a named type file", "Remote I/O error", "Disk quota exceeded", "No medium found", "Wrong medium type",
  "Operation canceled", "Required key not available", "Key has expired", "Key has been revoked", "Key was rejected by service",
  "Owner died", "State not recoverable", "Operation not possible due to RF-kill", "Memory page has hardware error",
];

/** glibc's strerror() text for an errno (the value taken as a C int). */
export function strerrorText(errno: bigint): string {
  const n = Number(BigInt.asIntN(32, errno));
  const msg = n >= 0 ? ERRNO_MESSAGES[n] : undefined;
  return msg ? msg : `Unknown error ${n}`;
}

// ---- username --------------------------------------------------------------------------------

const passwd = new Map<string, { at: number; names: Map<bigint, string> }>();

/** The name a passwd file gives a uid (the file re-read at most once a second); "" if none, as bpftrace. */
export function usernameText(uid: bigint, file = "/etc/passwd"): string {
  const now = Date.now();
  let table = passwd.get(file);
  if (table === undefined || now - table.at > 1000) {
    const names = new Map<bigint, string>();
    try {
      for (const line of readFileSync(file, "utf8").split("\n")) {
        const f = line.split(":");
        if (f.length >= 3 && /^\d+$/.test(f[2]!) && !names.has(BigInt(f[2]!))) names.set(BigInt(f[2]!), f[0]!);
      }
    } catch {
      // No passwd file: no names.
    }
    table = { at: now, names };
    passwd.set(file, table);
  }
  const id = BigInt.asUintN(32, uid);
  return table.names.get(id) ?? "";
}

// ---- strftime() ------------------------------------------------------------------------------

/** bpftrace formats strftime() into a 64-byte buffer; what does not fit (or is empty) is "(?)". */
const STRFTIME_BUFFER = 64;

let bootNs: bigint | undefined;

/** The wall-clock time of boot, in ns since the epoch (the realtime clock minus the monotonic one). */
function bootTime(): bigint {
  bootNs ??= BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  return bootNs;
}

/**
 * What strftime(format, nsecs) prints: the local time `nsecs` after boot, formatted like glibc's
 * strftime, where "%f" is first replaced by the microseconds (6 digits), as bpftrace does.
 */
export function strftimeText(format: string, nsecs: bigint, boot: bigint = bootTime()): string {
  const ns = boot + BigInt.asUintN(64, nsecs);
  const micros = String((ns / 1000n) % 1_000_000n).padStart(6, "0");
  const text = strftime(format.replace(/%f/g, micros), new Date(Number(ns / 1_000_000n)));
  const bytes = Buffer.byteLength(text, "utf8");
  return bytes === 0 || bytes >= STRFTIME_BUFFER ? "(?)" : text;
}

// ---- cgroup_path() ---------------------------------------------------------------------------

interface Hierarchy {
  name: string;
  root: string;
  v2: boolean;
}

function cgroupHierarchies(mountinfo: string): Hierarchy[] {
  let subsystems = new Set<string>();
  try {
    subsystems = new Set(
      readFileSync("/proc/cgroups", "utf8")
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => l.split("\t")[0]!),
    );
  } catch {
    // Without the list, every option that is not name=... names a controller.
  }
  const out: Hierarchy[] = [];
  const seen = new Set<string>();
  for (const line of mountinfo.split("\n")) {
    const [mount, fs] = line.split(" - ");
    if (mount === undefined || fs === undefined) continue;
    const [fstype, , options = ""] = fs.split(" ");
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    const root = mount.split(" ")[4]!.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    let name = "unified";
    if (fstype === "cgroup") {
      const names: string[] = [];
      for (const o of options.split(",")) {
        if (o.startsWith("name=")) names.push(o.slice(5));
        else if (subsystems.size === 0 ? !/^(rw|ro|xattr|noprefix|clone_children|cpuset_v2_mode|favordynmods|release_agent=.*)$/.test(o) : subsystems.has(o)) names.push(o);
      }
      name = names.join(",");
    }
    // One entry per hierarchy, however many times it is mounted.
    const key = `${fstype}:${name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ name, root, v2: fstype === "cgroup2" });
  }
  // The unified hierarchy first, then the others by name.
  return [...out.filter((h) => h.v2), ...out.filter((h) => !h.v2).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))];
}

/** The path, under a hierarchy's root, of the cgroup whose id (its directory's inode) is `id`. */
function findCgroup(root: string, id: bigint): string | undefined {
  const stack = [""];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    let ino: bigint;
    try {
      ino = statSync(root + rel, { bigint: true }).ino;
    } catch {
      continue;
    }
    if (ino === id) return rel === "" ? "/" : rel;
    try {
      for (const d of readdirSync(root + (rel || "/"), { withFileTypes: true })) if (d.isDirectory()) stack.push(`${rel}/${d.name}`);
    } catch {
      // An unreadable directory hides its children.
    }
  }
  return undefined;
}

/** fnmatch() for the filter's globs: * ? and [...]. */
function globMatch(pattern: string, text: string): boolean {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let set = pattern.slice(i + 1, end);
        if (set.startsWith("!")) set = "^" + set.slice(1);
        re += `[${set.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s").test(text);
}

const cgroupCache = new Map<string, { at: number; text: string }>();

/**
 * What cgroup_path(id [, filter]) prints: "hierarchy:path" for every cgroup hierarchy (the
 * unified one first, named "unified", then the v1 ones by name) that has a cgroup of that id and
 * whose name matches the filter (a glob), joined by ",".
 */
export function cgroupPathText(id: bigint, filter?: string, mountinfo?: string): string {
  const key = `${id}:${filter ?? ""}`;
  const now = Date.now();
  const hit = mountinfo === undefined ? cgroupCache.get(key) : undefined;
  if (hit !== undefined && now - hit.at < 1000) return hit.text;
  let info = mountinfo;
  if (info === undefined) {
    try {
      info = readFileSync("/proc/self/mountinfo", "utf8");
    } catch {
      info = "";
    }
  }
  const parts: string[] = [];
  for (const h of cgroupHierarchies(info)) {
    if (filter !== undefined && !globMatch(filter, h.name)) continue;
    const path = findCgroup(h.root, BigInt.asUintN(64, id));
    if (path !== undefined) parts.push(`${h.name}:${path}`);
  }
  const text = parts.join(",");
  if (mountinfo === undefined) cgroupCache.set(key, { at: now, text });
  return text;
}

// ---------------------------------------------------------------------------------------------

/** The text of a "resolved" value: see the type in compiler/types.ts. */
export function resolvedText(how: ResolvedKind, arg: string | undefined, raw: bigint): string {
  switch (how) {
    case "strftime":
      return strftimeText(arg ?? "", raw);
    case "cgroup_path":
      return cgroupPathText(raw, arg);
    case "strerror":
      return strerrorText(raw);
    case "username":
      return usernameText(raw);
  }
}
