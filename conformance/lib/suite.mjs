// Reads bpftrace's runtime test files the way bpftrace 0.17's own engine (tests/runtime/engine/
// parser.py) does: cases are separated by blank lines, `#` starts a comment line, and each line
// is `DIRECTIVE value` where the value is the rest of the line split on whitespace and joined
// with single spaces (so `EXPECT  yes` expects "yes", and runs of spaces in a PROG collapse).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * @typedef {object} Case
 * @property {string} suite     file name, e.g. "basic"
 * @property {string} name      NAME, without surrounding double quotes
 * @property {number} line      line number of the case's first line
 * @property {string} [prog]
 * @property {string} [run]
 * @property {string[]} expect  every EXPECT (all must be found)
 * @property {number} timeout   seconds (5 when absent, like bpftrace's engine)
 * @property {string[]} before
 * @property {string} [after]
 * @property {string[]} requires
 * @property {string[]} requiresFeature  feature names, "!name" for a negated one
 * @property {Record<string,string>} env
 * @property {string} [minKernel]
 * @property {string[]} [arch]
 * @property {boolean} willFail
 */

export const DEFAULT_TIMEOUT = 5;

/** @returns {Case[]} */
export function parseSuite(suite, text) {
  /** @type {Case[]} */
  const cases = [];
  /** @type {{ line: number, text: string }[]} */
  let lines = [];
  const flush = () => {
    if (lines.length > 0) {
      const c = parseCase(suite, lines);
      if (c) cases.push(c);
    }
    lines = [];
  };
  text.split("\n").forEach((raw, i) => {
    if (raw.startsWith("#")) return;
    if (raw.trim() === "") {
      flush();
      return;
    }
    lines.push({ line: i + 1, text: raw });
  });
  flush();
  return cases;
}

/** @returns {Case | undefined} */
function parseCase(suite, lines) {
  /** @type {Case} */
  const c = {
    suite,
    name: "",
    line: lines[0].line,
    expect: [],
    timeout: DEFAULT_TIMEOUT,
    before: [],
    requires: [],
    requiresFeature: [],
    env: {},
    willFail: false,
  };
  for (const { text } of lines) {
    const words = text.trim().split(/\s+/);
    const key = words[0];
    const value = words.slice(1).join(" ");
    switch (key) {
      case "NAME":
        c.name = value.replace(/^"(.*)"$/, "$1");
        break;
      case "PROG":
        c.prog = value;
        break;
      case "RUN":
        c.run = value;
        break;
      case "EXPECT":
        c.expect.push(value);
        break;
      case "TIMEOUT":
        c.timeout = Number(value);
        break;
      case "BEFORE":
        c.before.push(value);
        break;
      case "AFTER":
        c.after = value;
        break;
      case "REQUIRES":
        c.requires.push(value);
        break;
      case "REQUIRES_FEATURE":
        c.requiresFeature.push(...words.slice(1));
        break;
      case "ENV":
        for (const kv of words.slice(1)) {
          const eq = kv.indexOf("=");
          if (eq > 0) c.env[kv.slice(0, eq)] = kv.slice(eq + 1);
        }
        break;
      case "MIN_KERNEL":
        c.minKernel = value;
        break;
      case "ARCH":
        c.arch = value.split("|").map((a) => a.trim());
        break;
      case "WILL_FAIL":
        c.willFail = true;
        break;
      default:
        throw new Error(`${suite}:${lines[0].line}: unknown directive ${key}`);
    }
  }
  if (c.prog === undefined && c.run === undefined) return undefined;
  if (!Number.isFinite(c.timeout) || c.timeout <= 0) c.timeout = DEFAULT_TIMEOUT;
  return c;
}

/** Suite files of a conformance directory (every plain file but LICENSE and *.md), sorted. */
export function suiteFiles(dir) {
  return readdirSync(dir)
    .sort()
    .filter((f) => f !== "LICENSE" && !f.endsWith(".md") && !f.startsWith(".") && statSync(join(dir, f)).isFile());
}

/** @returns {Case[]} */
export function loadSuite(dir, file) {
  return parseSuite(file, readFileSync(join(dir, file), "utf8"));
}
