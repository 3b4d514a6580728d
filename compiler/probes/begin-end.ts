// BEGIN and END: run once, before every other probe is attached and after all are detached.
import type { ProbeProvider } from "./provider.js";
import { NO_CONTEXT, expectFields } from "./provider.js";

export const begin: ProbeProvider = {
  type: "BEGIN",
  names: ["BEGIN"],
  context: NO_CONTEXT,
  parse: (ap, fields, diags) => (expectFields(ap, fields, [1], "BEGIN", diags) ? { type: "BEGIN" } : undefined),
  format: () => "BEGIN",
};

export const end: ProbeProvider = {
  type: "END",
  names: ["END"],
  context: NO_CONTEXT,
  parse: (ap, fields, diags) => (expectFields(ap, fields, [1], "END", diags) ? { type: "END" } : undefined),
  format: () => "END",
};
