/**
 * Byte-level reading and writing of blobs (abi/README.md §7): unsigned LEB128
 * varints, names, raw byte runs. The reader checks every read against the
 * end of its input, so a truncated blob is a `ProgramError`, never a read of
 * `undefined`.
 * @module
 */
import { SYMBOL_NAME_PATTERN } from "./constants.ts";
import { ProgramError } from "./errors.ts";

/** Throws the `ProgramError` of a malformed blob. */
export function fail(message: string): never {
  throw new ProgramError(`rvbox blob: ${message}`);
}

/** Reads a blob front to back. */
export class ByteReader {
  /** Offset of the next byte. */
  offset: number;
  readonly #bytes: Uint8Array;

  /** A reader of `bytes` starting at `offset`. */
  constructor(bytes: Uint8Array, offset = 0) {
    this.#bytes = bytes;
    this.offset = offset;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#bytes.length - this.offset;
  }

  /** One byte. */
  u8(what: string): number {
    if (this.offset >= this.#bytes.length) fail(`truncated at ${what}`);
    return this.#bytes[this.offset++];
  }

  /** An unsigned LEB128 varint below 2^32 (at most 5 bytes). */
  uv(what: string): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.u8(what);
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        if (value >= 2 ** 32) break;
        return value;
      }
    }
    fail(`${what} does not fit in 32 bits`);
  }

  /** A varint that must be at most `max`. */
  count(what: string, max: number): number {
    const n = this.uv(what);
    if (n > max) fail(`${what} ${n} is more than ${max}`);
    return n;
  }

  /** The next `n` bytes, as a view. */
  bytes(n: number, what: string): Uint8Array {
    if (n > this.remaining) fail(`truncated in ${what} (${n} bytes, ${this.remaining} left)`);
    const view = this.#bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return view;
  }

  /** An import or export name: a length byte, then that many ASCII bytes. */
  name(what: string): string {
    const bytes = this.bytes(this.u8(what), what);
    const name = String.fromCharCode(...bytes);
    if (!SYMBOL_NAME_PATTERN.test(name)) fail(`${what}: invalid name ${JSON.stringify(name)}`);
    return name;
  }
}

/** Builds a blob; grows as needed. */
export class ByteWriter {
  #bytes = new Uint8Array(1024);
  #length = 0;

  #reserve(n: number): void {
    if (this.#length + n <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#length + n));
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  /** One byte. */
  u8(b: number): void {
    this.#reserve(1);
    this.#bytes[this.#length++] = b;
  }

  /** An unsigned LEB128 varint (`value` below 2^32). */
  uv(value: number): void {
    while (value >= 0x80) {
      this.u8((value & 0x7f) | 0x80);
      value = Math.floor(value / 128);
    }
    this.u8(value);
  }

  /** Raw bytes. */
  bytes(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#bytes.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** A name: its length byte, then its ASCII bytes. */
  name(name: string): void {
    this.u8(name.length);
    for (let i = 0; i < name.length; i++) this.u8(name.charCodeAt(i));
  }

  /** The bytes written (a copy, exactly as long as written). */
  finish(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }
}
