// A reader of BTF, the kernel's own description of its types (/sys/kernel/btf/vmlinux, readable
// by every user): the layouts of its structs and unions and its typedefs, as language types, for
// `sizeof(struct task_struct)`, `curtask->pid` and casts to kernel structs. See
// https://docs.kernel.org/bpf/btf.html for the format. Only what layouts need is decoded.
import { readFileSync } from "node:fs";
import type { KernelTypes } from "./cstruct.js";
import { alignOf, int, pointer, str, VOID, type IntSize, type StructField, type Type } from "./types.js";

export const VMLINUX_BTF = "/sys/kernel/btf/vmlinux";

const MAGIC = 0xeb9f;

const K = {
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

/** Bytes that follow the 12-byte common header of a type of this kind. */
function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case K.INT:
    case K.VAR:
    case K.DECL_TAG:
      return 4;
    case K.ARRAY:
      return 12;
    case K.STRUCT:
    case K.UNION:
    case K.DATASEC:
    case K.ENUM64:
      return vlen * 12;
    case K.ENUM:
    case K.FUNC_PROTO:
      return vlen * 8;
    default:
      return 0;
  }
}

export class BtfError extends Error {}

/** The types of one BTF blob. Struct types are built on first use and kept. */
export class Btf implements KernelTypes {
  private view: DataView;
  private strOff: number;
  private strEnd: number;
  /** Byte offset of each type's header, by type id (id 0 is void). */
  private offsets: number[] = [0];
  private byName: Map<string, number> | undefined;
  private built = new Map<number, Type>();

  private constructor(private bytes: Uint8Array) {
    if (bytes.length < 24) throw new BtfError("BTF: too short");
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (this.view.getUint16(0, true) !== MAGIC) throw new BtfError("BTF: bad magic (not little-endian BTF)");
    const hdrLen = this.view.getUint32(4, true);
    const typeOff = hdrLen + this.view.getUint32(8, true);
    const typeLen = this.view.getUint32(12, true);
    this.strOff = hdrLen + this.view.getUint32(16, true);
    this.strEnd = this.strOff + this.view.getUint32(20, true);
    if (typeOff + typeLen > bytes.length || this.strEnd > bytes.length) throw new BtfError("BTF: sections run past the end");
    for (let p = typeOff; p < typeOff + typeLen; ) {
      this.offsets.push(p);
      const info = this.view.getUint32(p + 4, true);
      p += 12 + extraBytes((info >>> 24) & 0x1f, info & 0xffff);
    }
  }

  /** Parses a BTF blob; throws BtfError when it is not one. */
  static parse(bytes: Uint8Array): Btf {
    return new Btf(bytes);
  }

  /** The running kernel's BTF, or undefined when it cannot be read. Read once per process. */
  static kernel(): Btf | undefined {
    if (kernelBtf === undefined) {
      try {
        kernelBtf = Btf.parse(readFileSync(process.env["BPFTS_BTF"] ?? VMLINUX_BTF));
      } catch {
        kernelBtf = null;
      }
    }
    return kernelBtf ?? undefined;
  }

  get typeCount(): number {
    return this.offsets.length - 1;
  }

  private str(off: number): string {
    const start = this.strOff + off;
    let end = start;
    while (end < this.strEnd && this.bytes[end] !== 0) end++;
    return Buffer.from(this.bytes.subarray(start, end)).toString("latin1");
  }

  private header(id: number): { kind: number; vlen: number; kindFlag: boolean; name: string; sizeOrType: number; p: number } {
    const p = this.offsets[id];
    if (p === undefined || id === 0) throw new BtfError(`BTF: no type ${id}`);
    const info = this.view.getUint32(p + 4, true);
    return {
      kind: (info >>> 24) & 0x1f,
      vlen: info & 0xffff,
      kindFlag: (info >>> 31) === 1,
      name: this.str(this.view.getUint32(p, true)),
      sizeOrType: this.view.getUint32(p + 8, true),
      p,
    };
  }

  private names(): Map<string, number> {
    if (this.byName === undefined) {
      const m = new Map<string, number>();
      for (let id = 1; id < this.offsets.length; id++) {
        const p = this.offsets[id]!;
        const info = this.view.getUint32(p + 4, true);
        const kind = (info >>> 24) & 0x1f;
        if (kind !== K.STRUCT && kind !== K.UNION && kind !== K.TYPEDEF) continue;
        const nameOff = this.view.getUint32(p, true);
        if (nameOff === 0) continue;
        const key = kind === K.TYPEDEF ? this.str(nameOff) : `${kind === K.UNION ? "union" : "struct"} ${this.str(nameOff)}`;
        if (!m.has(key)) m.set(key, id);
      }
      this.byName = m;
    }
    return this.byName;
  }

  /** A struct or union by name ("struct task_struct"). */
  record(name: string): Type | undefined {
    const id = this.names().get(name);
    return id === undefined ? undefined : this.type(id);
  }

  /** Whether a struct or union of this name exists ("struct task_struct"). */
  hasRecord(name: string): boolean {
    return this.names().has(name);
  }

  /** The type a typedef stands for. */
  typedef(name: string): Type | undefined {
    const id = this.names().get(name);
    return id === undefined ? undefined : this.type(id);
  }

  /** Skips typedefs and qualifiers. */
  private strip(id: number): number {
    for (let n = 0; id !== 0 && n < 64; n++) {
      const h = this.header(id);
      if (h.kind !== K.TYPEDEF && h.kind !== K.VOLATILE && h.kind !== K.CONST && h.kind !== K.RESTRICT && h.kind !== K.TYPE_TAG) return id;
      id = h.sizeOrType;
    }
    return id;
  }

  /** Whether a type is C's `char` (a 1-byte int with the char encoding, or named char). */
  private isChar(id: number): boolean {
    id = this.strip(id);
    if (id === 0) return false;
    const h = this.header(id);
    if (h.kind !== K.INT || h.sizeOrType !== 1) return false;
    const enc = (this.view.getUint32(h.p + 12, true) >>> 24) & 0xf;
    return (enc & 2) !== 0 || h.name === "char";
  }

  /** The language type of BTF type `id`. */
  type(id: number): Type {
    const done = this.built.get(id);
    if (done !== undefined) return done;
    const t = this.build(id);
    this.built.set(id, t);
    return t;
  }

  private build(id: number): Type {
    if (id === 0) return VOID;
    const h = this.header(id);
    switch (h.kind) {
      case K.INT: {
        const enc = this.view.getUint32(h.p + 12, true);
        const signed = ((enc >>> 24) & 1) !== 0;
        return intOfSize(h.sizeOrType, signed);
      }
      case K.ENUM:
      case K.ENUM64:
        return intOfSize(h.sizeOrType, h.kindFlag);
      case K.FLOAT:
        return intOfSize(h.sizeOrType, true);
      case K.PTR: {
        const to = this.strip(h.sizeOrType);
        if (to === 0) return pointer(VOID, "kernel");
        const th = this.header(to);
        if ((th.kind === K.STRUCT || th.kind === K.UNION) && th.name !== "") return pointer(`${th.kind === K.UNION ? "union" : "struct"} ${th.name}`, "kernel");
        if (th.kind === K.FWD) return pointer(`${th.kindFlag ? "union" : "struct"} ${th.name}`, "kernel");
        if (th.kind === K.FUNC_PROTO || th.kind === K.FUNC) return pointer(VOID, "kernel");
        return pointer(this.type(to), "kernel");
      }
      case K.ARRAY: {
        const elem = this.view.getUint32(h.p + 12, true);
        const count = this.view.getUint32(h.p + 20, true);
        if (this.isChar(elem)) return str(count);
        return { kind: "array", elem: this.type(elem), count };
      }
      case K.STRUCT:
      case K.UNION:
        return this.struct(id, h);
      case K.FWD:
        return { kind: "struct", name: `${h.kindFlag ? "union" : "struct"} ${h.name}`, size: 0, align: 1, fields: [] };
      case K.TYPEDEF:
      case K.VOLATILE:
      case K.CONST:
      case K.RESTRICT:
      case K.TYPE_TAG:
        return this.type(h.sizeOrType);
      default:
        return VOID;
    }
  }

  private struct(id: number, h: ReturnType<Btf["header"]>): Type {
    const kw = h.kind === K.UNION ? "union" : "struct";
    const name = h.name !== "" ? `${kw} ${h.name}` : `${kw} (anonymous #${id})`;
    const fields: StructField[] = [];
    let align = 1;
    for (let i = 0; i < h.vlen; i++) {
      const m = h.p + 12 + i * 12;
      const mname = this.str(this.view.getUint32(m, true));
      const mtype = this.view.getUint32(m + 4, true);
      const raw = this.view.getUint32(m + 8, true);
      let bitOffset = h.kindFlag ? raw & 0xffffff : raw;
      let bits = h.kindFlag ? raw >>> 24 : 0;
      const t = this.type(mtype);
      if (!h.kindFlag) {
        // Old-style bit-fields: the width and offset are in the INT type.
        const sid = this.strip(mtype);
        const sh = sid !== 0 ? this.header(sid) : undefined;
        if (sh?.kind === K.INT) {
          const enc = this.view.getUint32(sh.p + 12, true);
          const nrBits = enc & 0xff;
          if (nrBits !== sh.sizeOrType * 8) {
            bits = nrBits;
            bitOffset += (enc >>> 16) & 0xff;
          }
        }
      }
      if (t.kind === "void") continue;
      align = Math.max(align, alignOf(t));
      const field: StructField = { name: mname, type: t, offset: Math.floor(bitOffset / 8) };
      if (bits > 0) field.bitfield = { bitOffset, bits };
      fields.push(field);
    }
    const size = h.sizeOrType;
    // Packed structs: an alignment that does not divide the size cannot be the real one.
    while (align > 1 && size % align !== 0) align /= 2;
    return { kind: "struct", name, size, align, fields };
  }
}

let kernelBtf: Btf | null | undefined;

function intOfSize(size: number, signed: boolean): Type {
  if (size === 1 || size === 2 || size === 4 || size === 8) return int(size as IntSize, signed);
  // __int128 and other odd sizes: 8-byte words, so layouts stay right.
  return { kind: "array", elem: int(8, false), count: Math.max(1, Math.ceil(size / 8)) };
}
