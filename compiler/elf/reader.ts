// Positioned reads from a file descriptor, and little-endian field decoding.
//
// The ELF reader never loads a whole file: binaries can be 100 MB and more, and we
// only need the headers and a handful of sections. Every read goes through
// `FileReader.readAt`, which loops over short reads.

import * as fs from "node:fs";

/** Error for malformed, unsupported or unreadable ELF files. `path` names the file. */
export class ElfError extends Error {
  readonly path: string | undefined;
  constructor(message: string, path?: string) {
    super(path === undefined ? message : `${path}: ${message}`);
    this.name = "ElfError";
    this.path = path;
  }
}

export class FileReader {
  readonly path: string;
  readonly size: number;
  private fd: number | undefined;

  private constructor(path: string, fd: number, size: number) {
    this.path = path;
    this.fd = fd;
    this.size = size;
  }

  static open(path: string): FileReader {
    let fd: number;
    try {
      fd = fs.openSync(path, "r");
    } catch (e) {
      throw new ElfError(`cannot open: ${(e as Error).message}`, path);
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new ElfError("not a regular file", path);
      return new FileReader(path, fd, st.size);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  get closed(): boolean {
    return this.fd === undefined;
  }

  /**
   * Reads exactly `length` bytes at `offset`. Throws if the range lies outside the file
   * (a truncated or corrupt ELF), naming `what` in the message.
   */
  readAt(offset: number, length: number, what = "data"): Buffer {
    if (this.fd === undefined) throw new ElfError("file is closed", this.path);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new ElfError(`bad range for ${what}: offset ${offset}, length ${length}`, this.path);
    }
    if (offset + length > this.size) {
      throw new ElfError(
        `${what} (offset 0x${offset.toString(16)}, ${length} bytes) extends past the end of the file (${this.size} bytes)`,
        this.path,
      );
    }
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, buf, done, length - done, offset + done);
      if (n === 0) throw new ElfError(`unexpected end of file reading ${what}`, this.path);
      done += n;
    }
    return buf;
  }

  close(): void {
    if (this.fd !== undefined) {
      const fd = this.fd;
      this.fd = undefined;
      fs.closeSync(fd);
    }
  }
}

const TWO_32 = 0x1_0000_0000;
/** Largest high word for which hi * 2^32 + lo is still a safe integer. */
const MAX_SAFE_HI = Math.floor(Number.MAX_SAFE_INTEGER / TWO_32);

/**
 * Reads an unsigned 64-bit little-endian value as a number, or `undefined` when it is
 * not exactly representable (>= 2^53). User-space addresses, offsets and sizes are far below.
 */
export function u64OrUndefined(buf: Buffer, off: number): number | undefined {
  const lo = buf.readUInt32LE(off);
  const hi = buf.readUInt32LE(off + 4);
  if (hi > MAX_SAFE_HI) return undefined;
  return hi * TWO_32 + lo;
}

/** Like `u64OrUndefined` but throws an ElfError naming `what` when the value is too large. */
export function u64(buf: Buffer, off: number, what: string, path?: string): number {
  const v = u64OrUndefined(buf, off);
  if (v === undefined) {
    throw new ElfError(
      `${what} 0x${buf.readBigUInt64LE(off).toString(16)} does not fit a JavaScript number (this reader handles user-space ELF files)`,
      path,
    );
  }
  return v;
}

/** The NUL-terminated string at `off` in a string table buffer ("" when out of range). */
export function cString(table: Buffer, off: number): string {
  if (off < 0 || off >= table.length) return "";
  let end = table.indexOf(0, off);
  if (end < 0) end = table.length;
  return table.toString("utf8", off, end);
}

/**
 * A string table decoded once, for many lookups (symbol names). Decoding the whole table as
 * latin1 keeps byte offsets equal to string indices; names with non-ASCII bytes are re-decoded
 * as UTF-8. Much faster than one native Buffer call per name.
 */
export class StringTable {
  private readonly buf: Buffer;
  private readonly text: string;
  private readonly ascii: boolean;

  constructor(buf: Buffer) {
    this.buf = buf;
    this.text = buf.toString("latin1");
    this.ascii = !/[\x80-\xff]/.test(this.text);
  }

  get(off: number): string {
    if (off < 0 || off >= this.text.length) return "";
    let end = this.text.indexOf("\0", off);
    if (end < 0) end = this.text.length;
    const s = this.text.slice(off, end);
    if (this.ascii || !/[\x80-\xff]/.test(s)) return s;
    return this.buf.toString("utf8", off, end);
  }
}

export function alignUp(n: number, align: number): number {
  return align <= 1 ? n : Math.ceil(n / align) * align;
}
