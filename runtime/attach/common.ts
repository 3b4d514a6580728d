// What every attach kind shares: the detach function it returns, the error type for failures a
// user can act on, and errno texts.
import { native } from "../native.js";

/** Undoes one attachment (closes its perf event or link). Never throws. */
export type Detach = () => void;

/**
 * A failure to report as `ERROR: MESSAGE` with exit status 1: a missing tracepoint, no
 * permission, tracefs not mounted. Not a bug (bugs are plain Errors).
 */
export class TraceError extends Error {
  override name = "TraceError";
}

/** The strerror() text of a NativeError ("Permission denied"), else the error's message. */
export function errnoText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  // The addon's messages end in "failed: CODE (strerror text)".
  const m = /\(([^()]*)\)\s*$/.exec(e.message);
  return m ? m[1]! : e.message;
}

/** Closes an fd, ignoring errors (used on cleanup paths). */
export function closeQuietly(fd: number): void {
  try {
    native().close(fd);
  } catch {
    // already closed, or the process is going away: nothing useful to do
  }
}

/** Runs and removes every detach function, last attached first. */
export function detachAll(detaches: Detach[]): void {
  while (detaches.length > 0) detaches.pop()!();
}
