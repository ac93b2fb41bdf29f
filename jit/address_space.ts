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

/** What releasing a space takes: its reservation, and what its owner asked to run after. */
interface Reservation {
  readonly pointer: Deno.PointerObject;
  readonly length: number;
  readonly onRelease: (() => void) | undefined;
}

function release({ pointer, length, onRelease }: Reservation): void {
  munmap(pointer, length);
  onRelease?.();
}

// Frees spaces whose owner was collected without dispose().
const registry = new FinalizationRegistry<Reservation>(release);

/** A reserved guest address space with a state block below guest address 0. */
export class GuestAddressSpace {
  /** Host address of guest address 0. */
  readonly basePointer: Deno.PointerObject;
  readonly #reservation: Deno.PointerObject;
  readonly #length: number;
  readonly #stateSize: number;
  readonly #token = {};
  readonly #held: Reservation;
  #live = true;

  /**
   * Reserves the space; `stateSize` bytes (whole pages) below guest 0 become
   * read-write. `onRelease` runs once the space is unmapped, by `dispose()`
   * or, when the space is collected undisposed, by its finalizer; it must
   * not refer to the space. If the constructor throws, nothing stays
   * reserved and `onRelease` never runs.
   */
  constructor(stateSize: number, onRelease?: () => void) {
    if (stateSize <= 0 || stateSize % PAGE !== 0) {
      throw new RangeError(`state size must be a positive multiple of ${PAGE}`);
    }
    this.#stateSize = stateSize;
    this.#length = GuestAddressSpace.reservedBytes(stateSize);
    this.#reservation = mmap(
      null,
      this.#length,
      PROT_NONE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
    );
    try {
      mprotect(this.#reservation, stateSize, PROT_READ | PROT_WRITE);
    } catch (error) {
      munmap(this.#reservation, this.#length); // never registered: onRelease does not run
      throw error;
    }
    this.#held = { pointer: this.#reservation, length: this.#length, onRelease };
    registry.register(this, this.#held, this.#token);
    this.basePointer = offsetPointer(this.#reservation, stateSize);
  }

  /** Bytes reserved for a space with a state block of `stateSize` bytes. */
  static reservedBytes(stateSize: number): number {
    return stateSize + GUEST_SPAN + GUARD;
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

  /** Unmaps everything, then runs `onRelease` (idempotent). */
  dispose(): void {
    if (!this.#live) return;
    this.#live = false;
    registry.unregister(this.#token);
    release(this.#held);
  }

  /** Same as {@linkcode GuestAddressSpace.dispose}. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
