// Kernel symbol addresses, from /proc/kallsyms, for kaddr(). Read once, when first needed.
import { readFileSync } from "node:fs";

/** Each file's text, or why it could not be read. */
const tables = new Map<string, { text: string } | { error: string }>();

function kallsyms(file: string): { text: string } | { error: string } {
  let t = tables.get(file);
  if (t === undefined) {
    try {
      t = { text: readFileSync(file, "latin1") };
    } catch (e) {
      t = { error: (e as NodeJS.ErrnoException).code ?? String(e) };
    }
    tables.set(file, t);
  }
  return t;
}

/**
 * The address of a kernel symbol, or why it has none: bpftrace's message, "Failed to resolve
 * kernel symbol: NAME", and what went wrong when the table cannot help (unreadable, or showing
 * only zeros, as it does to users without CAP_SYSLOG).
 */
export function kernelSymbol(name: string, file = "/proc/kallsyms"): { addr: bigint } | { error: string } {
  const table = kallsyms(file);
  const fail = `Failed to resolve kernel symbol: ${name}`;
  if ("error" in table) return { error: `${fail} (cannot read ${file}: ${table.error})` };
  const text = table.text;
  // Lines are "ADDRESS TYPE NAME" or "ADDRESS TYPE NAME\t[module]".
  for (let at = text.indexOf(` ${name}`); at >= 0; at = text.indexOf(` ${name}`, at + 1)) {
    const end = at + 1 + name.length;
    const after = text[end];
    if (after !== "\n" && after !== "\t" && after !== undefined) continue;
    const lineStart = text.lastIndexOf("\n", at) + 1;
    const fields = text.slice(lineStart, at).split(" ");
    if (fields.length !== 2 || !/^[0-9a-fA-F]+$/.test(fields[0]!)) continue;
    const addr = BigInt(`0x${fields[0]}`);
    if (addr === 0n) return { error: `${fail} (${file} shows every address as 0 to this user: run as root)` };
    return { addr };
  }
  return { error: fail };
}
