// uprobe:PATH:FUNC, uprobe:PATH:FUNC+OFFSET, uprobe:PATH:ADDRESS and uretprobe:PATH:FUNC:
// a user-space function's entry (arguments arg0..arg5 in registers) or return (retval).
import type { AttachField, AttachPoint } from "../ast.js";
import type { Diagnostics } from "../diagnostics.js";
import { expectFields, type ProbeProvider, type ProbeTarget } from "./provider.js";

function parseUprobe(type: "uprobe" | "uretprobe") {
  return (ap: AttachPoint, fields: AttachField[], diags: Diagnostics): ProbeTarget | undefined => {
    if (!expectFields(ap, fields, [3], `${type}:PATH:FUNCTION`, diags)) return undefined;
    const path = fields[1]!;
    const fn = fields[2]!;
    if (path.text === "") {
      diags.error(path.span, `${type} needs a binary or library path`);
      return undefined;
    }
    if (fn.text === "") {
      diags.error(fn.span, `${type} needs a function name or address`);
      return undefined;
    }
    if (!fn.quoted && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(fn.text)) {
      if (type === "uretprobe") {
        diags.error(fn.span, "uretprobe needs a function name, not an address");
        return undefined;
      }
      return { type, path: path.text, address: BigInt(fn.text) };
    }
    // FUNC+OFFSET: the offset follows the (possibly quoted) name.
    const raw = ap.raw.slice(fn.span.start - ap.span.start);
    const m = /\+(0x[0-9a-fA-F]+|[0-9]+)$/.exec(raw);
    if (m) {
      if (type === "uretprobe") {
        diags.error(fn.span, "uretprobe cannot take an offset");
        return undefined;
      }
      const name = fn.quoted ? fn.text.replace(/\+(0x[0-9a-fA-F]+|[0-9]+)$/, "") : fn.text.slice(0, fn.text.length - m[0].length);
      return { type, path: path.text, func: name, offset: BigInt(m[1]!) };
    }
    if (!/^[A-Za-z0-9_.*@$:?<>~,()\[\] &-]+$/.test(fn.text)) {
      diags.error(fn.span, `invalid function name '${fn.text}'`);
      return undefined;
    }
    return { type, path: path.text, func: fn.text };
  };
}

function format(t: ProbeTarget): string {
  if (t.type !== "uprobe" && t.type !== "uretprobe") return t.type;
  const where = t.address !== undefined ? `0x${t.address.toString(16)}` : `${t.func}${t.offset ? `+${t.offset}` : ""}`;
  return `${t.type}:${t.path}:${where}`;
}

export const uprobe: ProbeProvider = {
  type: "uprobe",
  names: ["uprobe", "u"],
  context: { args: 6, retval: false, func: true, tracepointArgs: false, stackArgs: true },
  parse: parseUprobe("uprobe"),
  format,
};

export const uretprobe: ProbeProvider = {
  type: "uretprobe",
  names: ["uretprobe", "ur"],
  context: { args: 0, retval: true, func: true, tracepointArgs: false },
  parse: parseUprobe("uretprobe"),
  format,
};
