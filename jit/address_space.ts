/**
 * An instance's address space: 4 GiB plus a guard region reserved with no
 * access, so that `base + zero-extended 32-bit guest address` (+ a 4-byte
 * access) can never leave the reservation even if a check were wrong; only
 * accessible guest pages are made readable or writable. The state block
 * sits in the pages just below guest address 0.
 * @module
 */
import { MAP_ANONYMOUS, MAP_NORESERVE, MAP_PRIVATE, mmap, mprotect, munmap } from "./_libc.ts";
import { offsetPointer, PROT_NONE, PROT_READ, PROT_WRITE } from "./_libc.ts";

const PAGE = 4096;
const GUEST_SPAN = 2 ** 32;
const GUARD = 1 << 16;

const registry = new FinalizationRegistry<{ pointer: Deno.PointerObject; length: number; }>(
  ({ pointer, length }) => munmap(pointer, length),
);

/** A reserved guest address space with a state block below guest address 0. */
export class GuestAddressSpace {
  /** Host address of guest address 0. */
  readonly basePointer: Deno.PointerObject;
  readonly #reservation: Deno.PointerObject;
  readonly #length: number;
  readonly #stateSize: number;
  readonly #token = {};
  #live = true;

  /** Reserves the space; `stateSize` bytes (whole pages) below guest 0 become read-write. */
  constructor(stateSize: number) {
    if (stateSize <= 0 || stateSize % PAGE !== 0) {
      throw new RangeError(`state size must be a positive multiple of ${PAGE}`);
    }
    this.#stateSize = stateSize;
    this.#length = stateSize + GUEST_SPAN + GUARD;
    this.#reservation = mmap(
      null,
      this.#length,
      PROT_NONE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
    );
    registry.register(this, { pointer: this.#reservation, length: this.#length }, this.#token);
    mprotect(this.#reservation, stateSize, PROT_READ | PROT_WRITE);
    this.basePointer = offsetPointer(this.#reservation, stateSize);
  }

  #check(start: number, end: number): void {
    if (!this.#live) throw new Error("the address space has been disposed");
    if (start % PAGE !== 0 || end % PAGE !== 0 || start < 0 || end > GUEST_SPAN || end < start) {
      throw new RangeError(`invalid guest page range ${start}..${end}`);
    }
  }

  /** Makes guest pages `[start, end)` readable, and writable if `writable`. */
  map(start: number, end: number, writable: boolean): void {
    this.#check(start, end);
    if (end === start) return;
    const prot = PROT_READ | (writable ? PROT_WRITE : 0);
    mprotect(offsetPointer(this.basePointer, start), end - start, prot);
  }

  /**
   * An ArrayBuffer over guest addresses `[start, end)`. It may span pages
   * that are not mapped: callers must touch only accessible bytes.
   */
  view(start: number, end: number): ArrayBuffer {
    this.#check(start, end);
    return Deno.UnsafePointerView.getArrayBuffer(
      offsetPointer(this.basePointer, start),
      end - start,
    );
  }

  /** The state block (the `stateSize` bytes below guest address 0). */
  state(): ArrayBuffer {
    if (!this.#live) throw new Error("the address space has been disposed");
    return Deno.UnsafePointerView.getArrayBuffer(this.#reservation, this.#stateSize);
  }

  /** Unmaps everything (idempotent). */
  dispose(): void {
    if (!this.#live) return;
    this.#live = false;
    registry.unregister(this.#token);
    munmap(this.#reservation, this.#length);
  }

  /** Same as {@linkcode GuestAddressSpace.dispose}. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
