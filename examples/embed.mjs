#!/usr/bin/env node
// Embedding bpfts in a Node program: count system calls by process for one second (or for the
// milliseconds given as the first argument), then print the five busiest processes.
//
//   npm install                          # builds dist/ (the package's entry point)
//   sudo node examples/embed.mjs [MS]
import { trace } from "bpfts";

const ms = Number(process.argv[2] ?? 1000);

// Ctrl-C ends the session early; the maps are still read, and everything is released.
const controller = new AbortController();
process.once("SIGINT", () => controller.abort());

const session = trace(
  `tracepoint:raw_syscalls:sys_enter
   {
     @calls[comm] = count();
   }`,
  { duration: ms, signal: controller.signal },
);

// Events come as the script prints; this one prints nothing but the "attached" notice.
for await (const event of session) {
  if (event.type === "attached") console.error(`counting system calls for ${ms} ms (${event.probes} probe)...`);
}

// After the end, maps() holds the maps as they were at the end. count() values are bigints;
// entries come in bpftrace's order: ascending by value.
const { "@calls": calls } = await session.maps();
const top = calls.entries.slice(-5).reverse();
for (const { key: [comm], value } of top) {
  console.log(`${String(value).padStart(10)}  ${comm}`);
}
