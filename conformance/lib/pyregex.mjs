// Python `re` patterns, as bpftrace's test engine uses them (re.search(expect, output, re.M)),
// translated to JavaScript RegExps with the same meaning for the constructs the suite uses:
//   ^ and $ (re.M)   line starts/ends, where only "\n" ends a line (JS's m flag also breaks at
//                    "\r", U+2028 and U+2029): (?<![^\n]) and (?![^\n])
//   .                any character but "\n" (JS's excludes "\r" too): [^\n]
//   \A, \Z           start and end of the whole output
//   (?P<n>…), (?P=n) named groups and back references
//   (?i) (?s) (?m) (?x) leading global flags (i and s map to JS flags; m is always on; x is
//                    refused)
//   a ']' first in a character class is literal, as in Python
// No u flag: like Python, JS then reads a '{' that starts no quantifier, and escapes such
// as \: \@ \, \/, as literal characters.

/** @returns {RegExp} */
export function pyRegex(src) {
  let flags = "";
  let i = 0;
  let dotAll = false;
  const lead = /^\(\?([aiLmsux]+)\)/.exec(src);
  if (lead) {
    if (lead[1].includes("x")) throw new Error(`verbose (?x) patterns are not supported: ${src}`);
    if (lead[1].includes("i")) flags += "i";
    if (lead[1].includes("s")) dotAll = true;
    i = lead[0].length;
  }
  let out = "";
  let inClass = false;
  while (i < src.length) {
    const ch = src[i];
    if (ch === "\\") {
      const next = src[i + 1] ?? "";
      if (!inClass && next === "A") out += "(?<![\\s\\S])";
      else if (!inClass && next === "Z") out += "(?![\\s\\S])";
      else out += ch + next;
      i += 2;
      continue;
    }
    if (inClass) {
      if (ch === "]") inClass = false;
      out += ch;
      i++;
      continue;
    }
    if (ch === "[") {
      inClass = true;
      out += ch;
      i++;
      if (src[i] === "^") {
        out += "^";
        i++;
      }
      if (src[i] === "]") {
        out += "\\]";
        i++;
      }
      continue;
    }
    if (src.startsWith("(?P<", i)) {
      out += "(?<";
      i += 4;
      continue;
    }
    if (src.startsWith("(?P=", i)) {
      const end = src.indexOf(")", i);
      if (end < 0) throw new Error(`unterminated (?P= in ${src}`);
      out += `\\k<${src.slice(i + 4, end)}>`;
      i = end + 1;
      continue;
    }
    if (ch === "^") out += "(?<![^\\n])";
    else if (ch === "$") out += "(?![^\\n])";
    else if (ch === "." && !dotAll) out += "[^\\n]";
    else out += ch;
    i++;
  }
  return new RegExp(out, flags);
}
