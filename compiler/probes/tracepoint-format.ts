// Tracepoint layouts, from tracefs format files (events/CATEGORY/NAME/format):
//   field:const char * filename;	offset:24;	size:8;	signed:0;
import { readFileSync } from "node:fs";

export type FieldKind = "int" | "pointer" | "string" | "data_loc" | "array";

export interface TracepointField {
  name: string;
  /** The C declaration's type, e.g. "const char *". */
  ctype: string;
  offset: number;
  size: number;
  signed: boolean;
  kind: FieldKind;
  /** For char arrays: their length. */
  length?: number;
}

export interface TracepointFormat {
  id: number | undefined;
  /** The fields after the common_* header fields. */
  fields: TracepointField[];
}

export function parseTracepointFormat(text: string): TracepointFormat {
  const idMatch = /^ID:\s*(\d+)/m.exec(text);
  const fields: TracepointField[] = [];
  const re = /field:([^;]*);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const decl = m[1]!.trim();
    const offset = Number(m[2]);
    const size = Number(m[3]);
    const signed = m[4] === "1";
    const dataLoc = decl.startsWith("__data_loc ");
    const body = dataLoc ? decl.slice("__data_loc ".length) : decl;
    const nm = /([A-Za-z_][A-Za-z0-9_]*)\s*(\[[^\]]*\])?\s*$/.exec(body);
    if (!nm) continue;
    const name = nm[1]!;
    if (name.startsWith("common_")) continue;
    const ctype = body.slice(0, nm.index).trim() + (nm[2] ?? "");
    let kind: FieldKind = "int";
    let length: number | undefined;
    if (dataLoc) kind = "data_loc";
    else if (nm[2] !== undefined) {
      length = Number(nm[2].slice(1, -1)) || size;
      kind = /\bchar\b/.test(ctype) ? "string" : "array";
    } else if (ctype.includes("*")) kind = "pointer";
    fields.push({ name, ctype, offset, size, signed, kind, ...(length !== undefined ? { length } : {}) });
  }
  return { id: idMatch ? Number(idMatch[1]) : undefined, fields };
}

export const TRACEFS_ROOTS = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

export type FormatLookup = { found: TracepointFormat } | { missing: true } | { unreadable: string };

/** Reads a tracepoint's format from tracefs, telling apart "no such tracepoint" and "cannot read". */
export function readTracepointFormat(category: string, name: string): FormatLookup {
  for (const root of TRACEFS_ROOTS) {
    try {
      return { found: parseTracepointFormat(readFileSync(`${root}/events/${category}/${name}/format`, "utf8")) };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") {
        try {
          readFileSync(`${root}/events/header_page`, "utf8");
          return { missing: true };
        } catch {
          // tracefs is not mounted here; try the next root.
        }
      }
    }
  }
  return { unreadable: "tracefs is not mounted or not readable (run as root)" };
}
