/**
 * Array memory of disposed programs, reused by the next programs loaded.
 *
 * A program's tables (abi/code.ts) and the interpreter's stream are typed
 * arrays of tens of kilobytes each. Fresh ones cost the C heap's page
 * faults when first written — one per 4 KiB, 14-20 µs each on the virtual
 * machines this was measured on, most of loading a new contract in a warm
 * process — while memory that has served a disposed program costs a memset.
 * Only memory nothing can reach any more comes here: a program's code is
 * held by its `Program` until disposed, by each interpreter instance until
 * disposed and by each native translation made from it until freed
 * ({@linkcode holdCode}); what is collected undisposed never releases its
 * hold, so its memory goes to the garbage collector instead. Bounded in
 * bytes and buffers, oldest out first; `releasePooledMemory()` empties it.
 * @module
 */
import type { DecodedCode } from "./code.ts";

/** A recycled buffer and how much of it may be nonzero. */
interface Free {
  readonly buffer: ArrayBuffer;
  readonly dirty: number;
}

/** Bytes kept at most. */
const MAX_BYTES = 16 << 20;
/** Buffers kept at most: searched linearly. */
const MAX_BUFFERS = 64;
/** A buffer serves a request down to this fraction of its size (no huge buffer for a tiny table). */
const MIN_FILL = 0.5;

/** Oldest first. */
const free: Free[] = [];
let freeBytes = 0;

/** How many buffers and bytes are kept now. */
export function recycledUsage(): { buffers: number; bytes: number; } {
  return { buffers: free.length, bytes: freeBytes };
}

/** Drops every kept buffer (garbage collection frees them); returns how many. */
export function dropRecycled(): number {
  const dropped = free.length;
  free.length = 0;
  freeBytes = 0;
  return dropped;
}

/** A zero-filled buffer of at least `byteLength` bytes and how much of it may be dirty later. */
function take(byteLength: number): Free {
  let best = -1;
  for (let i = 0; i < free.length; i++) {
    const size = free[i].buffer.byteLength;
    if (size < byteLength || size * MIN_FILL > byteLength) continue;
    if (best < 0 || size < free[best].buffer.byteLength) best = i;
  }
  if (best < 0) return { buffer: new ArrayBuffer(byteLength), dirty: byteLength };
  const [{ buffer, dirty }] = free.splice(best, 1);
  freeBytes -= buffer.byteLength;
  new Uint8Array(buffer, 0, Math.min(dirty, byteLength)).fill(0);
  return { buffer, dirty: Math.max(dirty, byteLength) };
}

/**
 * Typed arrays carved one after another out of one zero-filled buffer,
 * recycled together once the arrays are unreachable ({@linkcode Slab.recycle}).
 */
export class Slab {
  readonly #buffer: ArrayBuffer;
  readonly #dirty: number;
  #used = 0;
  #recycled = false;

  /** A slab of `byteLength` bytes (what its arrays need, each rounded up to 4 bytes). */
  constructor(byteLength: number) {
    ({ buffer: this.#buffer, dirty: this.#dirty } = take(byteLength));
  }

  /** Bytes a slab needs for arrays of these byte lengths. */
  static size(...byteLengths: number[]): number {
    let total = 0;
    for (const n of byteLengths) total += align(n);
    return total;
  }

  #carve(byteLength: number): number {
    const at = this.#used;
    this.#used += align(byteLength);
    if (this.#used > this.#buffer.byteLength) {
      throw new RangeError(`slab of ${this.#buffer.byteLength} bytes overfilled`);
    }
    return at;
  }

  /** The next `length` bytes. */
  u8(length: number): Uint8Array {
    return new Uint8Array(this.#buffer, this.#carve(length), length);
  }

  /** The next `length` 32-bit words, signed. */
  i32(length: number): Int32Array {
    return new Int32Array(this.#buffer, this.#carve(4 * length), length);
  }

  /** The next `length` 32-bit words, unsigned. */
  u32(length: number): Uint32Array {
    return new Uint32Array(this.#buffer, this.#carve(4 * length), length);
  }

  /**
   * Gives the buffer to the next slab that fits. The caller guarantees that
   * no array of this slab is used from now on. Once only: later calls do nothing.
   */
  recycle(): void {
    if (this.#recycled) return;
    this.#recycled = true;
    const size = this.#buffer.byteLength;
    if (size > MAX_BYTES) return;
    while (free.length >= MAX_BUFFERS || freeBytes + size > MAX_BYTES) {
      freeBytes -= free.shift()!.buffer.byteLength;
    }
    free.push({ buffer: this.#buffer, dirty: Math.max(this.#dirty, this.#used) });
    freeBytes += size;
  }
}

const align = (n: number) => (n + 3) & ~3;

/** Holds on each program's code (absent: none left, or recycled). */
const holds = new WeakMap<DecodedCode, number>();
/** What else to give back with a program's code (the interpreter's stream). */
const releaseHooks: ((code: DecodedCode) => void)[] = [];

/** Runs `hook` for every program's code about to be recycled (the hook frees what it made from it). */
export function onCodeRecycled(hook: (code: DecodedCode) => void): void {
  releaseHooks.push(hook);
}

/** Someone will read `code`'s arrays until the matching {@linkcode releaseCode}. */
export function holdCode(code: DecodedCode): void {
  holds.set(code, (holds.get(code) ?? 0) + 1);
}

/**
 * Ends one {@linkcode holdCode}; the last one recycles the code's arrays
 * and what the hooks made from them.
 */
export function releaseCode(code: DecodedCode): void {
  const count = holds.get(code);
  if (count === undefined) throw new Error("releaseCode without holdCode");
  if (count > 1) {
    holds.set(code, count - 1);
    return;
  }
  holds.delete(code);
  for (const hook of releaseHooks) hook(code);
  for (const slab of code.slabs) slab.recycle();
}
