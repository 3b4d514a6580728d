// tracefs: where tracepoints are listed and numbered (events/CATEGORY/NAME/id). Mounted on demand
// (at /sys/kernel/tracing) when we are root and it is not there yet.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { TraceError } from "./attach/common.js";

/** Where tracefs is mounted on current kernels. */
export const TRACEFS = "/sys/kernel/tracing";
/** The older place, under debugfs. */
const DEBUGFS_TRACING = "/sys/kernel/debug/tracing";

function hasEvents(root: string): boolean {
  return existsSync(`${root}/events`);
}

/** The tracefs root in use, or undefined when none is mounted (or readable). */
export function tracefsRoot(): string | undefined {
  for (const root of [TRACEFS, DEBUGFS_TRACING]) if (hasEvents(root)) return root;
  return undefined;
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/**
 * The tracefs root, mounting tracefs at /sys/kernel/tracing first when it is missing and we are
 * root (`mount -t tracefs nodev /sys/kernel/tracing`). Throws a TraceError otherwise.
 */
export function ensureTracefs(): string {
  const found = tracefsRoot();
  if (found !== undefined) return found;
  if (!isRoot()) {
    throw new TraceError(`tracefs is not mounted at ${TRACEFS} (mounting it needs root: mount -t tracefs nodev ${TRACEFS})`);
  }
  try {
    execFileSync("mount", ["-t", "tracefs", "nodev", TRACEFS], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    throw new TraceError(`cannot mount tracefs at ${TRACEFS}${stderr ? `: ${stderr}` : ""}`);
  }
  if (!hasEvents(TRACEFS)) throw new TraceError(`tracefs mounted at ${TRACEFS} has no events directory`);
  return TRACEFS;
}

/** A tracepoint's id (events/CATEGORY/NAME/id); throws a TraceError when it does not exist. */
export function tracepointId(category: string, name: string, root: string = ensureTracefs()): number {
  let text: string;
  try {
    text = readFileSync(`${root}/events/${category}/${name}/id`, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new TraceError(`tracepoint not found: ${category}:${name}`);
    throw new TraceError(`cannot read the id of tracepoint ${category}:${name}: ${(e as Error).message}`);
  }
  const id = Number(text.trim());
  if (!Number.isInteger(id) || id < 0) throw new TraceError(`tracepoint ${category}:${name} has a bad id '${text.trim()}'`);
  return id;
}

/** Whether a category or name contains wildcards (`*` or `?`). */
export function isPattern(s: string): boolean {
  return /[*?]/.test(s);
}

/** A glob (`*` any run of characters, `?` one character) as an anchored RegExp. */
export function globRegExp(glob: string): RegExp {
  let re = "^";
  for (const c of glob) {
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else re += c.replace(/[\\^$.|+()[\]{}]/g, "\\$&");
  }
  return new RegExp(re + "$");
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
}

export interface TracepointName {
  category: string;
  name: string;
}

/**
 * Every tracepoint matching `category:name`, where either part may hold `*` and `?`, sorted by
 * category then name. A pattern without wildcards gives itself if it exists. Empty when nothing
 * matches.
 */
export function expandTracepoints(category: string, name: string, root: string = ensureTracefs()): TracepointName[] {
  const events = `${root}/events`;
  const categories = isPattern(category) ? subdirs(events).filter((c) => globRegExp(category).test(c)) : [category];
  const out: TracepointName[] = [];
  for (const c of categories.sort()) {
    if (!isPattern(name)) {
      if (existsSync(`${events}/${c}/${name}/id`)) out.push({ category: c, name });
      continue;
    }
    const re = globRegExp(name);
    for (const n of subdirs(`${events}/${c}`).sort()) {
      if (re.test(n) && existsSync(`${events}/${c}/${n}/id`)) out.push({ category: c, name: n });
    }
  }
  return out;
}
