// ELF constants used by the reader (values from the System V gABI and the GNU extensions).

export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const EM_X86_64 = 62;

// e_type
export const ET_NONE = 0;
export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const ET_CORE = 4;

// Program header types
export const PT_NULL = 0;
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_NOTE = 4;
export const PN_XNUM = 0xffff;

// Program header flags
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

// Section header types
export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_DYNSYM = 11;
export const SHT_GNU_verdef = 0x6ffffffd;
export const SHT_GNU_versym = 0x6fffffff;

// Special section indices
export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;

// Symbol types (low nibble of st_info)
export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;
export const STT_COMMON = 5;
export const STT_TLS = 6;
export const STT_GNU_IFUNC = 10;

// Symbol bindings (high nibble of st_info)
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;
export const STB_GNU_UNIQUE = 10;

// Symbol versioning
export const VERSYM_HIDDEN = 0x8000;
export const VERSYM_VERSION = 0x7fff;
export const VER_FLG_BASE = 1;

// Notes
export const NT_GNU_BUILD_ID = 3;
export const NT_STAPSDT = 3;

// Sizes of ELF64 structures
export const EHDR_SIZE = 64;
export const PHDR_SIZE = 56;
export const SHDR_SIZE = 64;
export const SYM_SIZE = 24;
