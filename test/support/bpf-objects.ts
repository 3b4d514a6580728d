// What BPF objects exist in the kernel right now: for tests that check nothing of ours is left.
import { readdirSync, readlinkSync } from "node:fs";
import { native, type ObjKind } from "../../runtime/native.js";

/** Ids of every object of a kind. */
export function ids(kind: ObjKind): number[] {
  const n = native();
  const out: number[] = [];
  for (let id = n.getNextId(kind, 0); id !== null; id = n.getNextId(kind, id)) out.push(id);
  return out;
}

/** Name of the object with this id (undefined if it is gone). */
export function nameOf(kind: "prog" | "map", id: number): string | undefined {
  const n = native();
  const fd = n.getFdById(kind, id);
  if (fd === null) return undefined;
  try {
    return kind === "prog" ? n.objInfo(fd, "prog").name : n.objInfo(fd, "map").name;
  } finally {
    n.close(fd);
  }
}

/** Links whose program is one of `progIds`. */
export function linksTo(progIds: Set<number>): number[] {
  const n = native();
  const out: number[] = [];
  for (const id of ids("link")) {
    const fd = n.getFdById("link", id);
    if (fd === null) continue;
    try {
      if (progIds.has(n.objInfo(fd, "link").progId)) out.push(id);
    } catch {
      // A link gone meanwhile, or of a kind the addon does not read: not one of ours.
    } finally {
      n.close(fd);
    }
  }
  return out;
}

/** This process's fds on BPF objects, perf events and epoll instances, by target. */
export function anonFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (/^anon_inode:(bpf|\[perf_event\]|\[eventpoll\]|bpf-)/.test(target)) out.push(target);
    } catch {
      // the fd of readdir itself, already closed
    }
  }
  return out.sort();
}
