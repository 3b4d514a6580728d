// Functions about C types and memory: sizeof, offsetof, macaddr, uaddr, uptr, kptr.
import { findField } from "../cstruct.js";
import { ElfFile, resolveTarget } from "../elf/index.js";
import { ERROR, int, isPointer, pointer, str, typeName, UINT64, type Type } from "../types.js";
import type { FunctionDef } from "./function.js";

/** The text macaddr() makes: "XX:XX:XX:XX:XX:XX" and its NUL. */
export const MACADDR_SIZE = 18;

export const sizeofFn: FunctionDef = {
  name: "sizeof",
  signature: "sizeof(TYPE) | sizeof(expr)",
  doc: "The size in bytes of a type (uint8 ... int64, struct Foo, a C type name) or of an expression's type; the expression is not evaluated.",
  check(ctx) {
    if (!ctx.arity(1, 1)) return ERROR;
    const t = ctx.typeOf(0);
    if (t.kind === "void" || t.kind === "agg") {
      ctx.error(ctx.call.args[0]!.span, `sizeof: ${typeName(t)} has no size`);
      return ERROR;
    }
    return UINT64;
  },
};

export const offsetofFn: FunctionDef = {
  name: "offsetof",
  signature: "offsetof(struct Foo, member)",
  doc: "The offset in bytes of a member in a struct or union (a member of an anonymous member too).",
  check(ctx) {
    if (!ctx.arity(2, 2)) return ERROR;
    const t: Type = ctx.typeOf(0);
    const m = ctx.call.args[1]!;
    if (t.kind === "error") return ERROR;
    if (t.kind !== "struct") {
      ctx.error(ctx.call.args[0]!.span, `offsetof: expects a struct or union type, but this is ${typeName(t)}`);
      return ERROR;
    }
    if (m.kind !== "Ident" || findField(t, m.name) === undefined) {
      ctx.error(m.span, m.kind === "Ident" ? `${t.name} has no member named '${m.name}'` : "offsetof: the second argument must be a member name");
      return ERROR;
    }
    m.type = UINT64;
    return UINT64;
  },
};

export const macaddr: FunctionDef = {
  name: "macaddr",
  signature: "macaddr(mac)",
  doc: "A MAC address as text, XX:XX:XX:XX:XX:XX (upper-case hex): from an array of at least 6 bytes (char or uint8), or read from a pointer.",
  check(ctx) {
    if (!ctx.arity(1, 1)) return ERROR;
    const t = ctx.value(0);
    const ok =
      t.kind === "error" ||
      (t.kind === "string" && t.size >= 6) ||
      (t.kind === "array" && t.elem.kind === "int" && t.elem.size === 1 && t.count >= 6) ||
      isPointer(t);
    if (!ok) ctx.error(ctx.call.args[0]!.span, `macaddr: expects an array of at least 6 bytes or a pointer, but the argument is ${typeName(t)}`);
    return str(MACADDR_SIZE);
  },
};

export const uaddr: FunctionDef = {
  name: "uaddr",
  signature: 'uaddr("symbol")',
  doc: "The address of a symbol (a global variable) of the traced binary, as a pointer to a signed integer of the symbol's size (1, 2, 4, else 8 bytes) in user memory; only in uprobe, uretprobe and usdt probes.",
  check(ctx) {
    if (!ctx.arity(1, 1)) return ERROR;
    const name = ctx.stringLiteral(0, "uaddr's symbol");
    if (name === undefined) return ERROR;
    const sym = ctx.userSymbol(name);
    if (typeof sym === "string") {
      ctx.error(ctx.call.span, sym);
      return ERROR;
    }
    const size = sym.size === 1 || sym.size === 2 || sym.size === 4 ? sym.size : 8;
    return pointer(int(size, true), "user");
  },
};

function addressSpace(as: "user" | "kernel"): FunctionDef {
  const name = as === "user" ? "uptr" : "kptr";
  return {
    name,
    signature: `${name}(p)`,
    doc: `Marks a pointer (or an integer) as pointing into ${as === "user" ? "the traced process's" : "the kernel's"} memory, whatever the probe type: what it points to is read with bpf_probe_read_${as}.`,
    check(ctx) {
      if (!ctx.arity(1, 1)) return ERROR;
      const t = ctx.value(0);
      if (t.kind === "error") return ERROR;
      if (t.kind !== "int") {
        ctx.error(ctx.call.args[0]!.span, `${name}: expects a pointer, but the argument is ${typeName(t)}`);
        return ERROR;
      }
      return t.ptr ? { ...t, ptr: { ...t.ptr, as } } : t;
    },
  };
}

export const uptr = addressSpace("user");
export const kptr = addressSpace("kernel");

/**
 * A symbol of a binary (a path as written in an attach point, resolved like one): its link-time
 * address and size, and whether the file is position-independent (then the address is relative
 * to where it is loaded); or why it cannot be had.
 */
export function lookupUserSymbol(target: string, name: string): { address: number; size: number; pie: boolean } | string {
  let path: string;
  try {
    path = resolveTarget(target);
  } catch {
    return `uaddr: cannot find '${target}'`;
  }
  let elf: ElfFile;
  try {
    elf = ElfFile.open(path);
  } catch (e) {
    return `uaddr: cannot read '${path}' as an ELF file: ${(e as Error).message}`;
  }
  try {
    const sym = elf.findSymbol(name);
    if (sym === undefined) return `uaddr: no symbol '${name}' in ${path}`;
    return { address: sym.address, size: sym.size, pie: elf.type === "dyn" };
  } finally {
    elf.close();
  }
}
