// The user-space side of cat() and system(): reading a file, running a command. bpftrace 0.17
// does both when the record arrives; so do we (runtime/session.ts).
import { spawn } from "node:child_process";
import { closeSync, openSync, readSync } from "node:fs";
import { strerror } from "./output.js";

/** bpftrace's default for $BPFTRACE_CAT_BYTES_MAX: cat() prints at most this many bytes of a file. */
export const DEFAULT_CAT_BYTES_MAX = 10240;

/**
 * $BPFTRACE_CAT_BYTES_MAX as bpftrace reads it: a positive decimal integer, else an error
 * message (bpftrace refuses to start). Unset: the default.
 */
export function catBytesMax(env: Record<string, string | undefined>): number | { error: string } {
  const text = env["BPFTRACE_CAT_BYTES_MAX"];
  if (text === undefined) return DEFAULT_CAT_BYTES_MAX;
  const n = /^[0-9]+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) return { error: "Env var 'BPFTRACE_CAT_BYTES_MAX' did not contain a valid uint64_t, or was zero-valued." };
  return n;
}

/**
 * cat(): the first `max` bytes of a file (read 4 KiB at a time, like bpftrace), as UTF-8 text; or
 * the error bpftrace prints when the file cannot be opened or read.
 */
export function catFile(path: string, max: number): { text: string } | { error: string } {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    return { error: `failed to open file '${path}': ${errnoMessage(e)}` };
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    while (total < max) {
      const buf = Buffer.alloc(Math.min(4096, max - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
    }
  } catch (e) {
    // bpftrace prints what it read before the error (an istream stops quietly).
    void e;
  } finally {
    closeSync(fd);
  }
  return { text: Buffer.concat(chunks).toString("utf8") };
}

function errnoMessage(e: unknown): string {
  const errno = (e as NodeJS.ErrnoException).errno;
  return typeof errno === "number" ? strerror(Math.abs(errno)) : String(e);
}

/** A running system() command: its standard output once it has exited. */
export interface RunningCommand {
  output: Promise<string>;
}

/**
 * system(): runs `command` with /bin/sh -c, its standard input and error those of bpfts, its
 * standard output collected (bpftrace reads it through popen() and prints it when the command
 * is done). Never blocks: the event loop keeps running (signals are handled) meanwhile.
 */
export function runCommand(command: string): RunningCommand {
  const output = new Promise<string>((resolve, reject) => {
    // argv[0] "sh", as popen() runs it.
    const child = spawn("/bin/sh", ["-c", command], { argv0: "sh", stdio: ["inherit", "pipe", "inherit"] });
    const chunks: Buffer[] = [];
    child.stdout!.on("data", (c: Buffer) => chunks.push(c));
    child.on("error", (e) => reject(new Error(`system(): cannot run /bin/sh: ${e.message}`)));
    child.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
  return { output };
}
