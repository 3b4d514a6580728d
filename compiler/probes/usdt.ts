// usdt:PATH:PROVIDER:NAME and usdt:PATH:NAME — statically defined probes (sys/sdt.h) in a binary
// or library; arguments arg0..arg11 are decoded from the probe's note.
import { expectFields, type ProbeProvider } from "./provider.js";

export const usdt: ProbeProvider = {
  type: "usdt",
  names: ["usdt", "U"],
  context: { args: 12, retval: false, func: false, tracepointArgs: false },
  parse(ap, fields, diags) {
    if (!expectFields(ap, fields, [3, 4], "usdt:PATH:[PROVIDER:]NAME", diags)) return undefined;
    // An empty path (`usdt::provider:name`) means the traced process's files (-p PID).
    const path = fields[1]!;
    const name = fields[fields.length - 1]!;
    if (name.text === "") {
      diags.error(name.span, "usdt needs a probe name");
      return undefined;
    }
    if (fields.length === 4 && fields[2]!.text !== "") return { type: "usdt", path: path.text, provider: fields[2]!.text, name: name.text };
    return { type: "usdt", path: path.text, name: name.text };
  },
  format: (t) => (t.type === "usdt" ? `usdt:${t.path}:${t.provider !== undefined ? `${t.provider}:` : ""}${t.name}` : t.type),
};
