// A focused reader for ELF64 little-endian (x86-64) files: headers, sections, symbols,
// notes (build id, SystemTap SDT probes) and virtual-address to file-offset mapping.
//
// Everything is read on demand with positioned reads of the parts needed, never the whole
// file, and cached on the ElfFile. Addresses, offsets and sizes are plain numbers: user-space
// values are far below 2^53, and a field that is not exactly representable is reported as an
// ElfError rather than rounded.

import {
  EHDR_SIZE, ELFCLASS64, ELFDATA2LSB, EM_X86_64, ET_CORE, ET_DYN, ET_EXEC, ET_NONE, ET_REL,
  NT_GNU_BUILD_ID, NT_STAPSDT, PHDR_SIZE, PN_XNUM, PT_INTERP, PT_LOAD, PT_NOTE, SHDR_SIZE,
  SHN_ABS, SHN_COMMON, SHN_LORESERVE, SHN_UNDEF, SHN_XINDEX, SHT_DYNSYM, SHT_GNU_verdef,
  SHT_GNU_versym, SHT_NOBITS, SHT_NOTE, SHT_SYMTAB, STB_GLOBAL, STB_GNU_UNIQUE, STB_LOCAL,
  STB_WEAK, STT_COMMON, STT_FUNC, STT_GNU_IFUNC, STT_NOTYPE, STT_OBJECT, STT_TLS, SYM_SIZE,
  VERSYM_HIDDEN, VERSYM_VERSION,
} from "./constants.js";
import { ElfError, FileReader, StringTable, alignUp, cString, u64, u64OrUndefined } from "./reader.js";
import { UsdtArgError, parseUsdtArgs, type UsdtArg } from "./usdt-args.js";

export { ElfError } from "./reader.js";

export type ElfType = "none" | "rel" | "exec" | "dyn" | "core" | "other";

export interface ElfHeader {
  /** e_type as a number (ET_EXEC = 2, ET_DYN = 3, ...). */
  readonly type: number;
  readonly machine: number;
  readonly osabi: number;
  readonly entry: number;
  readonly phoff: number;
  readonly shoff: number;
  readonly flags: number;
  /** Number of program headers (extended numbering resolved). */
  readonly phnum: number;
  /** Number of section headers (extended numbering resolved). */
  readonly shnum: number;
  /** Index of the section-name string table (extended numbering resolved). */
  readonly shstrndx: number;
}

export interface ProgramHeader {
  readonly type: number;
  /** PF_X = 1, PF_W = 2, PF_R = 4. */
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly paddr: number;
  readonly filesz: number;
  readonly memsz: number;
  readonly align: number;
}

export interface SectionHeader {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly addr: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
}

export type SymbolType = "func" | "ifunc" | "object" | "tls" | "common" | "notype";
export type SymbolBinding = "local" | "global" | "weak" | "unique";

export interface ElfSymbol {
  readonly name: string;
  /** st_value: the link-time virtual address (relative to the load bias for ET_DYN files). */
  readonly address: number;
  readonly size: number;
  readonly type: SymbolType;
  readonly binding: SymbolBinding;
  /** Name of the section the symbol is defined in ("ABS" / "COMMON" for special indices). */
  readonly section: string;
  /** Which symbol tables list it. */
  readonly table: "symtab" | "dynsym" | "both";
  /** GNU symbol version from .gnu.version_d (e.g. "GLIBC_2.2.5"), for versioned dynamic symbols. */
  readonly version?: string;
  /**
   * True for the default version (`name@@VERSION` in readelf), false for a hidden, older
   * version (`name@VERSION`) that new links never bind to. Absent for unversioned symbols.
   */
  readonly defaultVersion?: boolean;
  /**
   * Other (hidden) versions of the same name defined at the same address, merged into this
   * symbol: libc defines e.g. `lio_listio64@GLIBC_2.4` and `lio_listio64@@GLIBC_2.34` at one
   * address. Such duplicates can disagree on the size (`_sys_siglist`: 520 and 512): the
   * default version's size wins, else the first listed.
   */
  readonly otherVersions?: readonly string[];
}

export interface UsdtProbe {
  readonly provider: string;
  readonly name: string;
  /** Probe address (vaddr), adjusted by `.stapsdt.base` address minus the note's base field. */
  readonly pc: number;
  /** File offset of `pc` through PT_LOAD: what a uprobe attaches to. Undefined if unmapped. */
  readonly fileOffset: number | undefined;
  /** The note's own fields, unadjusted (as `readelf -n` prints them). */
  readonly notePc: number;
  readonly noteBase: number;
  readonly noteSemaphore: number;
  /** Semaphore vaddr (adjusted like pc); 0 when the probe has no semaphore. */
  readonly semaphore: number;
  /**
   * File offset of the semaphore through PT_LOAD (the uprobe's `ref_ctr_offset`). Undefined
   * when there is no semaphore, or when it lies outside every file-backed PT_LOAD range.
   */
  readonly semaphoreOffset: number | undefined;
  /** The raw argument string, e.g. "-4@%esi 8@-24(%rbp)". */
  readonly args: string;
  /** Parsed arguments; empty when parsing failed (see `argumentsError`). */
  readonly arguments: readonly UsdtArg[];
  /** Why the argument string could not be parsed (the probe itself is still usable). */
  readonly argumentsError?: string;
}

export interface ElfOpenOptions {
  /** Accept machines other than x86-64 (symbols and notes still parse; USDT arguments do not). */
  readonly anyMachine?: boolean;
}

export interface SymbolFilter {
  /** Symbol types to include; default ["func", "ifunc"]. */
  readonly types?: readonly SymbolType[];
}

interface RawNote {
  readonly owner: string;
  readonly type: number;
  readonly desc: Buffer;
}

const DEFAULT_TYPES: readonly SymbolType[] = ["func", "ifunc"];

function symbolType(t: number): SymbolType | undefined {
  switch (t) {
    case STT_FUNC: return "func";
    case STT_GNU_IFUNC: return "ifunc";
    case STT_OBJECT: return "object";
    case STT_TLS: return "tls";
    case STT_COMMON: return "common";
    case STT_NOTYPE: return "notype";
    default: return undefined; // STT_SECTION, STT_FILE and processor-specific types
  }
}

function symbolBinding(b: number): SymbolBinding | undefined {
  switch (b) {
    case STB_LOCAL: return "local";
    case STB_GLOBAL: return "global";
    case STB_WEAK: return "weak";
    case STB_GNU_UNIQUE: return "unique";
    default: return undefined;
  }
}

export class ElfFile {
  readonly path: string;
  readonly header: ElfHeader;
  readonly programHeaders: readonly ProgramHeader[];
  readonly sections: readonly SectionHeader[];
  /** File size in bytes. */
  readonly fileSize: number;

  private readonly reader: FileReader;
  private readonly sectionsByName = new Map<string, SectionHeader>();
  private allSymbolsCache: ElfSymbol[] | undefined;
  private byNameCache: Map<string, ElfSymbol[]> | undefined;
  private funcsByAddressCache: ElfSymbol[] | undefined;
  private defaultSymbolsCache: ElfSymbol[] | undefined;
  private buildIdCache: string | null | undefined;
  private usdtCache: UsdtProbe[] | undefined;

  private constructor(reader: FileReader, opts: ElfOpenOptions) {
    this.reader = reader;
    this.path = reader.path;
    this.fileSize = reader.size;
    this.header = this.readHeader(opts);
    this.programHeaders = this.readProgramHeaders();
    this.sections = this.readSectionHeaders();
    for (const s of this.sections) {
      if (s.name !== "" && !this.sectionsByName.has(s.name)) this.sectionsByName.set(s.name, s);
    }
  }

  /** Opens and validates an ELF64 little-endian file. Throws ElfError. Call close() when done. */
  static open(path: string, opts: ElfOpenOptions = {}): ElfFile {
    const reader = FileReader.open(path);
    try {
      return new ElfFile(reader, opts);
    } catch (e) {
      reader.close();
      throw e;
    }
  }

  /** Opens the file, runs `fn`, and closes the file again. */
  static with<T>(path: string, fn: (elf: ElfFile) => T, opts: ElfOpenOptions = {}): T {
    const elf = ElfFile.open(path, opts);
    try {
      return fn(elf);
    } finally {
      elf.close();
    }
  }

  /** Closes the file descriptor. Results already computed stay available. */
  close(): void {
    this.reader.close();
  }

  get type(): ElfType {
    switch (this.header.type) {
      case ET_NONE: return "none";
      case ET_REL: return "rel";
      case ET_EXEC: return "exec";
      case ET_DYN: return "dyn";
      case ET_CORE: return "core";
      default: return "other";
    }
  }

  /**
   * True for ET_DYN files (PIE executables and shared libraries): their addresses are relative
   * to a load bias chosen at run time. False for ET_EXEC, whose vaddrs are the run-time addresses.
   */
  get isPie(): boolean {
    return this.header.type === ET_DYN;
  }

  /** The PT_INTERP program interpreter (e.g. "/lib64/ld-linux-x86-64.so.2"), if any. */
  interpreter(): string | undefined {
    const ph = this.programHeaders.find((p) => p.type === PT_INTERP);
    if (ph === undefined || ph.filesz === 0) return undefined;
    return cString(this.reader.readAt(ph.offset, ph.filesz, "PT_INTERP"), 0);
  }

  /** The first section with this name. */
  section(name: string): SectionHeader | undefined {
    return this.sectionsByName.get(name);
  }

  /** The contents of a section (empty for SHT_NOBITS). */
  sectionData(section: SectionHeader): Buffer {
    if (section.type === SHT_NOBITS || section.size === 0) return Buffer.alloc(0);
    return this.reader.readAt(section.offset, section.size, `section ${section.name || section.index}`);
  }

  /** Reads `length` bytes at a file offset. */
  readAt(offset: number, length: number): Buffer {
    return this.reader.readAt(offset, length);
  }

  /** The PT_LOAD segments, in file order. */
  loadSegments(): ProgramHeader[] {
    return this.programHeaders.filter((p) => p.type === PT_LOAD);
  }

  /**
   * Maps a virtual address to its file offset through the PT_LOAD headers (uprobes and
   * `ref_ctr_offset` want file offsets). Undefined when no PT_LOAD maps the address from the
   * file (outside every segment, or in the zero-filled tail such as .bss).
   */
  vaddrToOffset(vaddr: number): number | undefined {
    for (const p of this.programHeaders) {
      if (p.type === PT_LOAD && vaddr >= p.vaddr && vaddr < p.vaddr + p.filesz) {
        return p.offset + (vaddr - p.vaddr);
      }
    }
    return undefined;
  }

  /** The inverse of vaddrToOffset: the vaddr a file offset is loaded at, if any PT_LOAD maps it. */
  offsetToVaddr(offset: number): number | undefined {
    for (const p of this.programHeaders) {
      if (p.type === PT_LOAD && offset >= p.offset && offset < p.offset + p.filesz) {
        return p.vaddr + (offset - p.offset);
      }
    }
    return undefined;
  }

  /** The section whose address range contains `vaddr` (SHF_ALLOC sections only). */
  sectionAt(vaddr: number): SectionHeader | undefined {
    for (const s of this.sections) {
      if ((s.flags & 2) !== 0 && s.size > 0 && vaddr >= s.addr && vaddr < s.addr + s.size) return s;
    }
    return undefined;
  }

  // ---------------------------------------------------------------------------------------
  // Symbols

  /**
   * Defined symbols from .symtab and .dynsym, merged and deduplicated by name and address,
   * sorted by address. By default functions and ifuncs only; pass
   * `{ types: [...] }` for objects, TLS and the rest. Undefined symbols are never listed.
   */
  symbols(filter: SymbolFilter = {}): readonly ElfSymbol[] {
    const types = filter.types ?? DEFAULT_TYPES;
    if (types === DEFAULT_TYPES) {
      this.defaultSymbolsCache ??= this.allSymbols().filter((s) => s.type === "func" || s.type === "ifunc");
      return this.defaultSymbolsCache;
    }
    const want = new Set(types);
    return this.allSymbols().filter((s) => want.has(s.type));
  }

  /** Every defined symbol of a listed type (functions, objects, TLS, notype, common). */
  allSymbols(): readonly ElfSymbol[] {
    this.allSymbolsCache ??= this.loadSymbols();
    return this.allSymbolsCache;
  }

  /** All symbols with this name (any type), best first (see findSymbol). */
  symbolsNamed(name: string): readonly ElfSymbol[] {
    this.allSymbols(); // fills byNameCache
    return this.byNameCache?.get(name) ?? [];
  }

  /**
   * The symbol a name refers to. `name` may carry a version: "memcpy@@GLIBC_2.14" (default)
   * or "memcpy@GLIBC_2.2.5". Without one, prefers functions and ifuncs over other types, then
   * the default version (as the dynamic linker binds), then global over weak over local.
   */
  findSymbol(name: string): ElfSymbol | undefined {
    const at = name.indexOf("@", 1);
    if (at < 0) return this.symbolsNamed(name)[0];
    const base = name.slice(0, at);
    const isDefault = name.startsWith("@@", at);
    const version = name.slice(at + (isDefault ? 2 : 1));
    return this.symbolsNamed(base).find((s) =>
      isDefault
        ? s.version === version && s.defaultVersion === true
        : (s.version === version && s.defaultVersion === false) || (s.otherVersions?.includes(version) ?? false),
    );
  }

  /**
   * The function (or ifunc) containing `vaddr`, for symbolizing addresses. A zero-size symbol
   * matches only its own address.
   */
  symbolAt(vaddr: number): ElfSymbol | undefined {
    if (this.funcsByAddressCache === undefined) {
      this.funcsByAddressCache = [...this.symbols()].sort(
        (a, b) => a.address - b.address || compareByPreference(a, b),
      );
    }
    const list = this.funcsByAddressCache;
    // Upper bound: first index with address > vaddr.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.address <= vaddr) lo = mid + 1;
      else hi = mid;
    }
    // Walk back over a few candidates (aliases share addresses; local symbols can nest).
    for (let i = lo - 1, seen = 0; i >= 0 && seen < 64; i--, seen++) {
      const s = list[i]!;
      if (vaddr < s.address + s.size || (s.size === 0 && vaddr === s.address)) {
        // Prefer the best-ranked alias at the same address.
        let best = s;
        for (let j = i - 1; j >= 0 && list[j]!.address === s.address; j--) {
          const c = list[j]!;
          if ((vaddr < c.address + c.size || c.address === vaddr) && compareByPreference(c, best) < 0) best = c;
        }
        return best;
      }
    }
    return undefined;
  }

  // ---------------------------------------------------------------------------------------
  // Notes

  /** The GNU build id (NT_GNU_BUILD_ID) as lowercase hex, if the file has one. */
  buildId(): string | undefined {
    if (this.buildIdCache === undefined) {
      this.buildIdCache = null;
      for (const n of this.notes()) {
        if (n.owner === "GNU" && n.type === NT_GNU_BUILD_ID) {
          this.buildIdCache = n.desc.toString("hex");
          break;
        }
      }
    }
    return this.buildIdCache ?? undefined;
  }

  /**
   * SystemTap SDT probes from `.note.stapsdt`, in note order. A probe name can appear more than
   * once (one note per inlined copy); each is listed.
   */
  usdtProbes(): readonly UsdtProbe[] {
    this.usdtCache ??= this.loadUsdtProbes();
    return this.usdtCache;
  }

  /** The probes matching a name, and a provider when given. */
  findUsdt(name: string, provider?: string): UsdtProbe[] {
    return this.usdtProbes().filter((p) => p.name === name && (provider === undefined || p.provider === provider));
  }

  // ---------------------------------------------------------------------------------------
  // Parsing

  private fail(message: string): never {
    throw new ElfError(message, this.path);
  }

  private readHeader(opts: ElfOpenOptions): ElfHeader {
    if (this.fileSize < EHDR_SIZE) this.fail("too small to be an ELF file");
    const h = this.reader.readAt(0, EHDR_SIZE, "ELF header");
    if (h[0] !== 0x7f || h[1] !== 0x45 || h[2] !== 0x4c || h[3] !== 0x46) this.fail("not an ELF file (bad magic)");
    if (h[4] !== ELFCLASS64) this.fail(`unsupported ELF class ${h[4]} (only ELF64 is supported)`);
    if (h[5] !== ELFDATA2LSB) this.fail("unsupported byte order (only little-endian is supported)");
    const machine = h.readUInt16LE(18);
    if (machine !== EM_X86_64 && opts.anyMachine !== true) {
      this.fail(`unsupported machine ${machine} (only x86-64, machine 62, is supported)`);
    }
    const p = this.path;
    const phoff = u64(h, 32, "e_phoff", p);
    const shoff = u64(h, 40, "e_shoff", p);
    const phentsize = h.readUInt16LE(54);
    let phnum = h.readUInt16LE(56);
    const shentsize = h.readUInt16LE(58);
    let shnum = h.readUInt16LE(60);
    let shstrndx = h.readUInt16LE(62);
    // Extended numbering: the real counts live in section header 0.
    if (shoff !== 0 && (shnum === 0 || shstrndx === SHN_XINDEX || phnum === PN_XNUM)) {
      if (shentsize !== SHDR_SIZE) this.fail(`unexpected e_shentsize ${shentsize}`);
      const s0 = this.reader.readAt(shoff, SHDR_SIZE, "section header 0");
      if (shnum === 0) shnum = u64(s0, 32, "section count", p);
      if (shstrndx === SHN_XINDEX) shstrndx = s0.readUInt32LE(40);
      if (phnum === PN_XNUM) phnum = s0.readUInt32LE(44);
    }
    if (phnum > 0 && phentsize !== PHDR_SIZE) this.fail(`unexpected e_phentsize ${phentsize}`);
    if (shnum > 0 && shentsize !== SHDR_SIZE) this.fail(`unexpected e_shentsize ${shentsize}`);
    if (shoff === 0) shnum = 0;
    return {
      type: h.readUInt16LE(16),
      machine,
      osabi: h[7]!,
      entry: u64OrUndefined(h, 24) ?? 0,
      phoff,
      shoff,
      flags: h.readUInt32LE(48),
      phnum,
      shnum,
      shstrndx,
    };
  }

  private readProgramHeaders(): ProgramHeader[] {
    const { phnum, phoff } = this.header;
    if (phnum === 0) return [];
    const buf = this.reader.readAt(phoff, phnum * PHDR_SIZE, "program headers");
    const out: ProgramHeader[] = [];
    const p = this.path;
    for (let i = 0; i < phnum; i++) {
      const o = i * PHDR_SIZE;
      out.push({
        type: buf.readUInt32LE(o),
        flags: buf.readUInt32LE(o + 4),
        offset: u64(buf, o + 8, `p_offset of program header ${i}`, p),
        vaddr: u64(buf, o + 16, `p_vaddr of program header ${i}`, p),
        paddr: u64OrUndefined(buf, o + 24) ?? 0,
        filesz: u64(buf, o + 32, `p_filesz of program header ${i}`, p),
        memsz: u64(buf, o + 40, `p_memsz of program header ${i}`, p),
        align: u64OrUndefined(buf, o + 48) ?? 0,
      });
    }
    return out;
  }

  private readSectionHeaders(): SectionHeader[] {
    const { shnum, shoff, shstrndx } = this.header;
    if (shnum === 0) return [];
    const buf = this.reader.readAt(shoff, shnum * SHDR_SIZE, "section headers");
    const p = this.path;
    const raw = [];
    for (let i = 0; i < shnum; i++) {
      const o = i * SHDR_SIZE;
      raw.push({
        index: i,
        nameOffset: buf.readUInt32LE(o),
        type: buf.readUInt32LE(o + 4),
        flags: u64OrUndefined(buf, o + 8) ?? 0,
        addr: u64(buf, o + 16, `sh_addr of section ${i}`, p),
        offset: u64(buf, o + 24, `sh_offset of section ${i}`, p),
        size: u64(buf, o + 32, `sh_size of section ${i}`, p),
        link: buf.readUInt32LE(o + 40),
        info: buf.readUInt32LE(o + 44),
        addralign: u64OrUndefined(buf, o + 48) ?? 0,
        entsize: u64OrUndefined(buf, o + 56) ?? 0,
      });
    }
    let names: Buffer = Buffer.alloc(0);
    const strSec = raw[shstrndx];
    if (shstrndx !== SHN_UNDEF && strSec !== undefined && strSec.type !== SHT_NOBITS) {
      names = this.reader.readAt(strSec.offset, strSec.size, "section name table");
    }
    return raw.map(({ nameOffset, ...rest }) => ({ ...rest, name: cString(names, nameOffset) }));
  }

  private sectionName(shndx: number): string {
    if (shndx === SHN_ABS) return "ABS";
    if (shndx === SHN_COMMON) return "COMMON";
    if (shndx >= SHN_LORESERVE) return "";
    return this.sections[shndx]?.name ?? "";
  }

  /** Version names by version index, from the verdef section linked to .dynsym. */
  private readVersionDefinitions(): Map<number, string> {
    const names = new Map<number, string>();
    const sec = this.sections.find((s) => s.type === SHT_GNU_verdef);
    if (sec === undefined) return names;
    const strSec = this.sections[sec.link];
    if (strSec === undefined) return names;
    const data = this.sectionData(sec);
    const strs = this.sectionData(strSec);
    let off = 0;
    for (let i = 0; i < Math.max(sec.info, 1) && off + 20 <= data.length; i++) {
      const ndx = data.readUInt16LE(off + 4);
      const aux = data.readUInt32LE(off + 12);
      const next = data.readUInt32LE(off + 16);
      if (off + aux + 8 <= data.length) names.set(ndx, cString(strs, data.readUInt32LE(off + aux)));
      if (next === 0) break;
      off += next;
    }
    return names;
  }

  private loadSymbols(): ElfSymbol[] {
    // name -> symbols of that name (one per distinct address)
    const merged = new Map<string, ElfSymbol[]>();
    const dynsym = this.sections.find((s) => s.type === SHT_DYNSYM);
    const symtab = this.sections.find((s) => s.type === SHT_SYMTAB);
    if (dynsym !== undefined) {
      let versym: Buffer | undefined;
      let verNames: Map<number, string> | undefined;
      const vs = this.sections.find((s) => s.type === SHT_GNU_versym && s.link === dynsym.index);
      if (vs !== undefined) {
        versym = this.sectionData(vs);
        verNames = this.readVersionDefinitions();
      }
      this.readSymbolTable(dynsym, "dynsym", merged, versym, verNames);
    }
    if (symtab !== undefined) this.readSymbolTable(symtab, "symtab", merged);
    const all: ElfSymbol[] = [];
    for (const list of merged.values()) {
      for (const s of list) all.push(s);
      if (list.length > 1) list.sort(compareByPreference);
    }
    this.byNameCache = merged;
    // Stable sort: symbols at one address keep the order of the tables (.dynsym first).
    return all.sort((a, b) => a.address - b.address);
  }

  private readSymbolTable(
    sec: SectionHeader,
    table: "symtab" | "dynsym",
    out: Map<string, ElfSymbol[]>,
    versym?: Buffer,
    verNames?: Map<number, string>,
  ): void {
    if (sec.entsize !== 0 && sec.entsize !== SYM_SIZE) this.fail(`unexpected symbol entry size ${sec.entsize} in ${sec.name}`);
    const strSec = this.sections[sec.link];
    if (strSec === undefined) this.fail(`symbol table ${sec.name} links to missing string table ${sec.link}`);
    const data = this.sectionData(sec);
    const strs = new StringTable(this.sectionData(strSec));
    const count = Math.floor(data.length / SYM_SIZE);
    for (let i = 1; i < count; i++) {
      const o = i * SYM_SIZE;
      const shndx = data.readUInt16LE(o + 6);
      if (shndx === SHN_UNDEF) continue;
      const info = data[o + 4]!;
      const type = symbolType(info & 0xf);
      const binding = symbolBinding(info >> 4);
      if (type === undefined || binding === undefined) continue;
      const nameOff = data.readUInt32LE(o);
      if (nameOff === 0) continue;
      const address = u64OrUndefined(data, o + 8);
      const size = u64OrUndefined(data, o + 16);
      if (address === undefined || size === undefined) continue;
      const name = strs.get(nameOff);
      if (name === "") continue;

      let version: string | undefined;
      let defaultVersion: boolean | undefined;
      if (versym !== undefined && verNames !== undefined && i * 2 + 2 <= versym.length) {
        const v = versym.readUInt16LE(i * 2);
        const idx = v & VERSYM_VERSION;
        if (idx >= 2) {
          version = verNames.get(idx);
          if (version !== undefined) defaultVersion = (v & VERSYM_HIDDEN) === 0;
        }
      }

      const sym: ElfSymbol = version === undefined
        ? { name, address, size, type, binding, section: this.sectionName(shndx), table }
        : { name, address, size, type, binding, section: this.sectionName(shndx), table, version, defaultVersion };
      const list = out.get(name);
      if (list === undefined) {
        out.set(name, [sym]);
        continue;
      }
      const j = list.findIndex((s) => s.address === address);
      if (j < 0) {
        list.push(sym);
        continue;
      }
      // Same name and address: one symbol. Keep the default version and the richest data.
      const prev = list[j]!;
      const keepNew = prev.defaultVersion === false && defaultVersion === true;
      const base = keepNew ? sym : prev;
      const other = keepNew ? prev : sym;
      const others = [...(base.otherVersions ?? []), ...(other.otherVersions ?? [])];
      if (other.version !== undefined && other.version !== base.version) others.push(other.version);
      const merged: ElfSymbol = {
        ...base,
        size: base.size === 0 ? other.size : base.size,
        table: prev.table === table ? prev.table : "both",
      };
      list[j] = others.length > 0 ? { ...merged, otherVersions: [...new Set(others)] } : merged;
    }
  }

  /** All notes of SHT_NOTE sections (or PT_NOTE segments when the file has no sections). */
  private notes(): RawNote[] {
    const out: RawNote[] = [];
    const noteSecs = this.sections.filter((s) => s.type === SHT_NOTE && s.size > 0);
    if (noteSecs.length > 0) {
      for (const s of noteSecs) out.push(...this.parseNotesLenient(() => this.sectionData(s), s.addralign, s.name));
    } else {
      for (const p of this.programHeaders) {
        if (p.type === PT_NOTE && p.filesz > 0) {
          out.push(...this.parseNotesLenient(() => this.reader.readAt(p.offset, p.filesz, "PT_NOTE"), p.align, "PT_NOTE"));
        }
      }
    }
    return out;
  }

  /** A malformed note section should not hide the notes of the other sections. */
  private parseNotesLenient(read: () => Buffer, align: number, where: string): RawNote[] {
    const data = read(); // read errors (closed file, truncated file) do propagate
    try {
      return this.parseNotes(data, align === 8 ? 8 : 4, where);
    } catch (e) {
      if (e instanceof ElfError) return [];
      throw e;
    }
  }

  private parseNotes(buf: Buffer, align: number, where: string): RawNote[] {
    const out: RawNote[] = [];
    let off = 0;
    while (off + 12 <= buf.length) {
      const namesz = buf.readUInt32LE(off);
      const descsz = buf.readUInt32LE(off + 4);
      const type = buf.readUInt32LE(off + 8);
      const nameOff = off + 12;
      // Padding is to the alignment of the note section (4, or 8 for e.g. .note.gnu.property).
      const descOff = alignUp(nameOff + namesz, align);
      const end = descOff + descsz;
      if (end > buf.length) this.fail(`truncated note in ${where} at offset ${off}`);
      let nameEnd = nameOff + namesz;
      while (nameEnd > nameOff && buf[nameEnd - 1] === 0) nameEnd--;
      out.push({ owner: buf.toString("latin1", nameOff, nameEnd), type, desc: buf.subarray(descOff, end) });
      off = alignUp(end, align);
    }
    return out;
  }

  private loadUsdtProbes(): UsdtProbe[] {
    const sec = this.section(".note.stapsdt");
    if (sec === undefined || sec.type !== SHT_NOTE) return [];
    const baseSec = this.section(".stapsdt.base");
    const notes = this.parseNotes(this.sectionData(sec), sec.addralign === 8 ? 8 : 4, sec.name);
    const symbolCache = new Map<string, number | undefined>();
    const resolve = (name: string): number | undefined => {
      if (!symbolCache.has(name)) symbolCache.set(name, this.symbolsNamed(name)[0]?.address);
      return symbolCache.get(name);
    };
    const out: UsdtProbe[] = [];
    for (const n of notes) {
      if (n.owner !== "stapsdt" || n.type !== NT_STAPSDT) continue;
      const d = n.desc;
      if (d.length < 24) this.fail(`stapsdt note too short (${d.length} bytes)`);
      const notePc = u64(d, 0, "stapsdt pc", this.path);
      const noteBase = u64(d, 8, "stapsdt base", this.path);
      const noteSemaphore = u64(d, 16, "stapsdt semaphore", this.path);
      let pos = 24;
      const next = (): string => {
        if (pos >= d.length) return "";
        let end = d.indexOf(0, pos);
        if (end < 0) end = d.length;
        const s = d.toString("utf8", pos, end);
        pos = end + 1;
        return s;
      };
      const provider = next();
      const name = next();
      const args = next();
      // Prelink and similar tools move sections without rewriting notes: the note records the
      // address .stapsdt.base had at link time, so shift by how far that section moved.
      const adjust = baseSec !== undefined && noteBase !== 0 ? baseSec.addr - noteBase : 0;
      const pc = notePc + adjust;
      const semaphore = noteSemaphore === 0 ? 0 : noteSemaphore + adjust;

      let parsed: UsdtArg[] = [];
      let argumentsError: string | undefined;
      if (this.header.machine !== EM_X86_64) {
        argumentsError = `argument parsing is only implemented for x86-64 (machine ${this.header.machine})`;
      } else {
        try {
          parsed = parseUsdtArgs(args).map((a) => {
            if ((a.kind === "mem" || a.kind === "const") && a.symbol !== undefined) {
              const addr = resolve(a.symbol);
              return addr === undefined ? a : { ...a, symbolAddress: addr };
            }
            return a;
          });
        } catch (e) {
          if (!(e instanceof UsdtArgError)) throw e;
          argumentsError = e.message;
        }
      }
      out.push({
        provider,
        name,
        pc,
        fileOffset: this.vaddrToOffset(pc),
        notePc,
        noteBase,
        noteSemaphore,
        semaphore,
        semaphoreOffset: semaphore === 0 ? undefined : this.vaddrToOffset(semaphore),
        args,
        arguments: parsed,
        ...(argumentsError !== undefined ? { argumentsError } : {}),
      });
    }
    return out;
  }
}

const TYPE_RANK: Record<SymbolType, number> = { func: 0, ifunc: 0, object: 1, tls: 2, common: 3, notype: 4 };
const BINDING_RANK: Record<SymbolBinding, number> = { global: 0, unique: 1, weak: 2, local: 3 };

/** Orders symbols of one name: functions first, default version, global over weak over local. */
function compareByPreference(a: ElfSymbol, b: ElfSymbol): number {
  const ver = (s: ElfSymbol) => (s.defaultVersion === false ? 1 : 0);
  return (
    TYPE_RANK[a.type] - TYPE_RANK[b.type] ||
    ver(a) - ver(b) ||
    BINDING_RANK[a.binding] - BINDING_RANK[b.binding] ||
    (a.table === "symtab" ? 1 : 0) - (b.table === "symtab" ? 1 : 0) ||
    a.address - b.address
  );
}
