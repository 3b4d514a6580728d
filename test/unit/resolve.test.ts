// Attach points resolved against the system: `usdt::provider:name` needs -p.
import { expect, test } from "vitest";
import { compile } from "../../compiler/compile.js";

test("usdt with no file and no -p is an error naming -p", () => {
  const r = compile("usdt::tracetest:testprobe { exit(); }");
  expect(r.ok).toBe(false);
  expect(r.diagnostics.map((d) => d.message)).toEqual(["usdt needs a binary or library path (or -p PID, to look in that process)"]);
});

test("usdt with no file and -p searches the process's files", () => {
  // This process (node) has no USDT probe tracetest:testprobe: the error names the process.
  const r = compile("usdt::tracetest:testprobe { exit(); }", { pid: process.pid });
  expect(r.diagnostics.map((d) => d.message)).toEqual([`no USDT probe matching 'usdt::tracetest:testprobe' in process ${process.pid}`]);
});
