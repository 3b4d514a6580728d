// tracepoint:CATEGORY:NAME — a kernel tracepoint; its fields are `args->name`, laid out as the
// tracepoint's format file describes (compiler/probes/tracepoint-format.ts).
import { expectFields, type ProbeProvider } from "./provider.js";

export const tracepoint: ProbeProvider = {
  type: "tracepoint",
  names: ["tracepoint", "t"],
  context: { args: 0, retval: false, func: false, tracepointArgs: true },
  parse(ap, fields, diags) {
    if (!expectFields(ap, fields, [3], "tracepoint:CATEGORY:NAME", diags)) return undefined;
    const [, category, name] = fields as [unknown, { text: string; span: { start: number; end: number } }, { text: string; span: { start: number; end: number } }];
    for (const f of [category, name]) {
      if (!/^[A-Za-z0-9_*?]+$/.test(f.text)) {
        diags.error(f.span, f.text === "" ? "tracepoint needs a category and a name" : `invalid tracepoint name '${f.text}'`);
        return undefined;
      }
    }
    return { type: "tracepoint", category: category.text, name: name.text };
  },
  format: (t) => (t.type === "tracepoint" ? `tracepoint:${t.category}:${t.name}` : t.type),
};
