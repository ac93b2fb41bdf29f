/**
 * The code buffer under the x86-64 assembler: bytes, labels, branch fix-ups,
 * byte templates and patching. Instruction encodings live in ./_encode.ts.
 * @module
 */

/** A position in the code, bound once: an index among its assembler's labels. */
export type Label = number;

/** A growing code buffer with labels and rel32 fix-ups. */
export class CodeBuffer {
  /** The code so far (grows as needed). */
  protected buf: Uint8Array;
  /** A view of `buf` for the 32-bit fields the assembler writes (immediates, fix-ups). */
  protected view: DataView;
  /** Bytes emitted so far. */
  protected pos = 0;
  readonly #labels: number[] = [];
  /**
   * Pairs of (offset of a rel32 field, label). A plain array: growing a
   * typed array allocates off-heap memory, which costs more than the pushes.
   */
  readonly #fixups: number[] = [];

  /**
   * Starts an empty buffer of `initialCapacity` bytes (it grows as needed),
   * or writes into `buffer` when given (reusing one buffer across programs
   * avoids touching fresh pages every time).
   */
  constructor(initialCapacity = 4096, buffer?: Uint8Array) {
    this.buf = buffer ?? new Uint8Array(Math.max(64, initialCapacity));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  /** The current backing buffer (larger than `offset` after growth). */
  get buffer(): Uint8Array {
    return this.buf;
  }

  /** Bytes emitted so far. */
  get offset(): number {
    return this.pos;
  }

  /**
   * Makes room for `n` more bytes at the current offset and returns that
   * offset: for code written straight into {@linkcode CodeBuffer.buffer}
   * (read it after this call, which may replace it), then `seek` past it.
   */
  reserve(n: number): number {
    return this.room(n);
  }

  /** Moves the write position to `offset` (after code written straight into the buffer). */
  seek(offset: number): void {
    this.pos = offset;
  }

  /** A new unbound label. */
  label(): Label {
    return this.#labels.push(-1) - 1;
  }

  /** Binds `l` to the current offset. */
  bind(l: Label): void {
    if (this.#labels[l] !== -1) throw new Error(`label ${l} is already bound`);
    this.#labels[l] = this.pos;
  }

  /** Binds `l` to `offset`, in code already emitted (e.g. copied with `template`). */
  bindAt(l: Label, offset: number): void {
    if (this.#labels[l] !== -1) throw new Error(`label ${l} is already bound`);
    if (offset < 0 || offset > this.pos) {
      throw new RangeError(`offset ${offset} is not emitted yet`);
    }
    this.#labels[l] = offset;
  }

  /** The offset `l` is bound to. */
  offsetOf(l: Label): number {
    const at = this.#labels[l];
    if (at === undefined || at < 0) throw new Error(`label ${l} is not bound`);
    return at;
  }

  /**
   * Resolves every branch and returns the code: a view of exactly `offset`
   * bytes of {@linkcode CodeBuffer.buffer}, not a copy (copying a large
   * buffer costs as much as translating it).
   */
  finish(): Uint8Array {
    const f = this.#fixups;
    const labels = this.#labels;
    for (let i = 0; i < f.length; i += 2) {
      const at = f[i];
      const target = labels[f[i + 1]];
      if (target < 0) this.offsetOf(f[i + 1]); // throws: not bound
      this.view.setInt32(at, target - (at + 4), true);
    }
    return this.buf.subarray(0, this.pos);
  }

  /** Where `l` is bound (-1: not yet); throws for a label this buffer never made. */
  protected boundAt(l: Label): number {
    const at = this.#labels[l];
    if (at === undefined) throw new Error(`unknown label ${l}`);
    return at;
  }

  /** Makes room for `n` more bytes; returns the write position. */
  protected room(n: number): number {
    const pos = this.pos;
    if (pos + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, pos + n));
      bigger.set(this.buf);
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    return pos;
  }

  /** One byte. */
  protected byte(b: number): void {
    const p = this.room(1);
    this.buf[p] = b;
    this.pos = p + 1;
  }

  /** A little-endian 32-bit value. */
  protected i32(v: number): void {
    const p = this.room(4);
    this.view.setInt32(p, v, true);
    this.pos = p + 4;
  }

  /** Pads with `fill` (default `int3`) to a multiple of `n` bytes. */
  align(n: number, fill = 0xcc): void {
    while (this.pos % n !== 0) this.byte(fill);
  }

  /**
   * Copies a byte template (made once by this assembler for a fixed
   * sequence); returns its offset, for {@linkcode CodeBuffer.patch32} and
   * {@linkcode CodeBuffer.rel32At}. Cheaper than re-encoding hot sequences.
   */
  template(bytes: Uint8Array): number {
    const n = bytes.length;
    const p = this.room(n);
    const buf = this.buf;
    // set() costs a fixed ~9 ns here, the loop ~0.8 ns a byte: the loop only wins below a dozen.
    if (n > 11) buf.set(bytes, p);
    else for (let k = 0; k < n; k++) buf[p + k] = bytes[k];
    this.pos = p + n;
    return p;
  }

  /** Overwrites the 32-bit little-endian field at `at`. */
  patch32(at: number, value: number): void {
    this.view.setInt32(at, value, true);
  }

  /** Points the rel32 field at `at` (ending at `at + 4`) at offset `target` now. */
  patchRel32(at: number, target: number): void {
    this.patch32(at, target - (at + 4));
  }

  /** Makes the rel32 field at `at` (ending at `at + 4`) point at `l` when finishing. */
  rel32At(at: number, l: Label): void {
    this.#fixups.push(at, l);
  }

  /** Emits raw bytes. */
  bytes(...b: number[]): void {
    for (const x of b) this.byte(x & 0xff);
  }
}
