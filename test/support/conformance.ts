// Reads bpftrace's runtime test files (../shared/conformance/bpftrace-0.17): test cases
// separated by blank lines, one `DIRECTIVE value` per line, `#` comments.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface ConformanceCase {
  suite: string;
  name: string;
  prog?: string;
  run?: string;
  expect: string[];
  timeout?: number;
  before: string[];
  after?: string;
  requires: string[];
  requiresFeature: string[];
  env: string[];
  minKernel?: string;
  arch?: string;
  willFail: boolean;
}

const here = dirname(fileURLToPath(import.meta.url));
export const CONFORMANCE_DIR = resolve(here, "../../../shared/conformance/bpftrace-0.17");

export function conformanceAvailable(): boolean {
  return existsSync(CONFORMANCE_DIR);
}

export function parseSuite(suite: string, text: string): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  let cur: ConformanceCase | undefined;
  const flush = () => {
    if (cur && (cur.prog !== undefined || cur.run !== undefined)) cases.push(cur);
    cur = undefined;
  };
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      flush();
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = /^(\w+)\s?(.*)$/.exec(line);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    cur ??= { suite, name: "", expect: [], before: [], requires: [], requiresFeature: [], env: [], willFail: false };
    switch (key) {
      case "NAME":
        cur.name = value.replace(/^"(.*)"$/, "$1");
        break;
      case "PROG":
        cur.prog = value;
        break;
      case "RUN":
        cur.run = value;
        break;
      case "EXPECT":
        cur.expect.push(value);
        break;
      case "TIMEOUT":
        cur.timeout = Number(value);
        break;
      case "BEFORE":
        cur.before.push(value);
        break;
      case "AFTER":
        cur.after = value;
        break;
      case "REQUIRES":
        cur.requires.push(value);
        break;
      case "REQUIRES_FEATURE":
        cur.requiresFeature.push(value);
        break;
      case "ENV":
        cur.env.push(value);
        break;
      case "MIN_KERNEL":
        cur.minKernel = value;
        break;
      case "ARCH":
        cur.arch = value;
        break;
      case "WILL_FAIL":
        cur.willFail = true;
        break;
    }
  }
  flush();
  return cases;
}

/** Every case of every suite file, in file order. */
export function loadConformance(): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  for (const f of readdirSync(CONFORMANCE_DIR).sort()) {
    const p = join(CONFORMANCE_DIR, f);
    if (f === "LICENSE" || f.endsWith(".md") || statSync(p).isDirectory()) continue;
    out.push(...parseSuite(f, readFileSync(p, "utf8")));
  }
  return out;
}
