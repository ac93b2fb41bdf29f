/**
 * A minimal WebAssembly binary writer: a growable byte buffer with the
 * LEB128 encodings, and the module layout the wasm tier needs (one imported
 * memory, imported functions, one exported function, one data segment).
 * Written directly, with no dependency, because translation speed matters.
 * @module
 */

/** Value types. */
export const I32 = 0x7f;
/** 64-bit integer value type. */
export const I64 = 0x7e;

/** A growable byte buffer with wasm's integer encodings. */
export class ByteWriter {
  bytes: Uint8Array;
  length = 0;

  constructor(capacity = 1024) {
    this.bytes = new Uint8Array(capacity);
  }

  #reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const bigger = new Uint8Array(Math.max(2 * this.bytes.length, this.length + extra));
    bigger.set(this.bytes.subarray(0, this.length));
    this.bytes = bigger;
  }

  /** One byte. */
  u8(b: number): void {
    this.#reserve(1);
    this.bytes[this.length++] = b;
  }

  /** Two bytes (an opcode and an operand byte, say). */
  u8x2(a: number, b: number): void {
    this.#reserve(2);
    this.bytes[this.length++] = a;
    this.bytes[this.length++] = b;
  }

  /** Unsigned LEB128 of a number from 0 to 2^32 - 1. */
  uleb(n: number): void {
    this.#reserve(5);
    n >>>= 0;
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n !== 0) b |= 0x80;
      this.bytes[this.length++] = b;
    } while (n !== 0);
  }

  /** Signed LEB128 of an int32. */
  sleb32(n: number): void {
    this.#reserve(5);
    n |= 0;
    for (;;) {
      const b = n & 0x7f;
      n >>= 7;
      if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
        this.bytes[this.length++] = b;
        return;
      }
      this.bytes[this.length++] = b | 0x80;
    }
  }

  /** Signed LEB128 of a non-negative safe integer (an i64 constant). */
  slebSafe(n: number): void {
    this.#reserve(8);
    for (;;) {
      const b = n % 128;
      n = Math.floor(n / 128);
      if (n === 0 && (b & 0x40) === 0) {
        this.bytes[this.length++] = b;
        return;
      }
      this.bytes[this.length++] = b | 0x80;
    }
  }

  /** Raw bytes. */
  append(data: Uint8Array): void {
    this.#reserve(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  /** A length-prefixed UTF-8 name. */
  name(text: string): void {
    const data = new TextEncoder().encode(text);
    this.uleb(data.length);
    this.append(data);
  }

  /** What has been written (a view). */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

/** A function type: parameter and result value types. */
export interface FuncType {
  readonly params: readonly number[];
  readonly results: readonly number[];
}

/** What {@linkcode assembleModule} puts together. */
export interface ModuleParts {
  /** Function types; imports and the defined functions name them by index. */
  readonly types: readonly FuncType[];
  /** Imported functions from module "env", by name and type index. */
  readonly imports: readonly { readonly name: string; readonly type: number; }[];
  /** Minimum pages of the imported memory "env"."memory". */
  readonly memoryPages: number;
  /** Type index of each defined function. */
  readonly funcTypes: ArrayLike<number>;
  /**
   * The defined functions' encoded bodies (locals and code), one after the
   * other in `bodies`, the k-th ending at `ends[k]`.
   */
  readonly bodies: Uint8Array;
  readonly ends: ArrayLike<number>;
  /** Exported functions: name and function index (imports count first). */
  readonly exports: readonly { readonly name: string; readonly func: number; }[];
  /** Function indexes of the one table's elements, from 0 (none: no table). */
  readonly table?: ArrayLike<number>;
  /** One active data segment for memory 0: its offset and bytes. */
  readonly data: { readonly offset: number; readonly bytes: Uint8Array; };
}

/** Bytes of the unsigned LEB128 of `n`. */
function lebLength(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n >>>= 7;
    bytes++;
  }
  return bytes;
}

function section(out: ByteWriter, id: number, content: ByteWriter): void {
  out.u8(id);
  out.uleb(content.length);
  out.append(content.view());
}

/** A section of `count` entries whose content ends with `tail` bytes the caller appends next. */
function sectionHead(out: ByteWriter, id: number, head: ByteWriter, tail: number): void {
  out.u8(id);
  out.uleb(head.length + tail);
  out.append(head.view());
}

/**
 * The module buffer, reused: a new one per translation cost more than
 * emitting (allocating and zeroing, then copying the body twice).
 */
const moduleWriter = new ByteWriter(1 << 16);

/**
 * Encodes a module of `parts`. The result is a view of a buffer the next
 * call reuses: compile it first.
 */
export function assembleModule(parts: ModuleParts): Uint8Array {
  const out = moduleWriter;
  out.length = 0;
  out.append(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  let s = new ByteWriter();
  s.uleb(parts.types.length);
  for (const t of parts.types) {
    s.u8(0x60);
    s.uleb(t.params.length);
    for (const p of t.params) s.u8(p);
    s.uleb(t.results.length);
    for (const r of t.results) s.u8(r);
  }
  section(out, 1, s);
  s = new ByteWriter();
  s.uleb(parts.imports.length + 1);
  s.name("env");
  s.name("memory");
  s.u8x2(0x02, 0x00); // memory, no maximum
  s.uleb(parts.memoryPages);
  for (const imp of parts.imports) {
    s.name("env");
    s.name(imp.name);
    s.u8(0x00);
    s.uleb(imp.type);
  }
  section(out, 2, s);
  const { funcTypes, table } = parts;
  s = new ByteWriter(funcTypes.length + 16);
  s.uleb(funcTypes.length);
  for (let k = 0; k < funcTypes.length; k++) s.uleb(funcTypes[k]);
  section(out, 3, s);
  if (table !== undefined) {
    s = new ByteWriter(16);
    s.u8x2(1, 0x70); // one table of funcref
    s.u8(0x00); // no maximum
    s.uleb(table.length);
    section(out, 4, s);
  }
  s = new ByteWriter();
  s.uleb(parts.exports.length);
  for (const e of parts.exports) {
    s.name(e.name);
    s.u8(0x00);
    s.uleb(e.func);
  }
  section(out, 7, s);
  if (table !== undefined) {
    s = new ByteWriter(5 * table.length + 16);
    s.u8x2(1, 0x00); // one active segment for table 0
    s.u8x2(0x41, 0); // i32.const 0
    s.u8(0x0b);
    s.uleb(table.length);
    for (let k = 0; k < table.length; k++) s.uleb(table[k]);
    section(out, 9, s);
  }
  const { bodies, ends } = parts;
  let content = lebLength(ends.length);
  for (let k = 0; k < ends.length; k++) {
    const size = ends[k] - (k === 0 ? 0 : ends[k - 1]);
    content += lebLength(size) + size;
  }
  out.u8(10);
  out.uleb(content);
  out.uleb(ends.length);
  for (let k = 0; k < ends.length; k++) {
    const from = k === 0 ? 0 : ends[k - 1];
    out.uleb(ends[k] - from);
    out.append(bodies.subarray(from, ends[k]));
  }
  const data = parts.data.bytes;
  s = new ByteWriter(16);
  s.u8(1);
  s.u8(0x00); // active, memory 0
  s.u8(0x41); // i32.const offset
  s.sleb32(parts.data.offset);
  s.u8(0x0b);
  s.uleb(data.length);
  sectionHead(out, 11, s, data.length);
  out.append(data);
  return out.view();
}
