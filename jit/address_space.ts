/**
 * An instance's address space: 4 GiB plus a guard region reserved with no
 * access, so that `base + zero-extended 32-bit guest address` (+ a 4-byte
 * access) can never leave the reservation even if a check were wrong; only
 * accessible guest pages are made readable or writable. The state block
 * sits in the pages just below guest address 0.
 *
 * The reservation outlives the space that uses it when its owner pools it
 * for another instance (jit/native_memory.ts): a `GuestAddressSpace` is one
 * user's hold on a {@linkcode Reservation}, released once, by `dispose()` or
 * by its finalizer.
 * @module
 */
import type { HostPointer } from "./_ffi.ts";
import { MAP_ANONYMOUS, MAP_NORESERVE, MAP_PRIVATE, mmap, mprotect, munmap } from "./_libc.ts";
import { offsetPointer, populate, PROT_NONE, PROT_READ, PROT_WRITE } from "./_libc.ts";
import { nativeView, residentPages } from "./_libc.ts";

const PAGE = 4096;
const GUEST_SPAN = 2 ** 32;
const GUARD = 1 << 16;

function checkRange(start: number, end: number): void {
  if (start % PAGE !== 0 || end % PAGE !== 0 || start < 0 || end > GUEST_SPAN || end < start) {
    throw new RangeError(`invalid guest page range ${start}..${end}`);
  }
}

/** 4 GiB + guard reserved with no access, and a read-write state block below guest 0. */
export class Reservation {
  /** Host address of guest address 0. */
  readonly basePointer: HostPointer;
  readonly #pointer: HostPointer;
  readonly #length: number;
  readonly #stateSize: number;
  #state: ArrayBuffer | undefined;
  #mapped = true;

  /**
   * Reserves the space; `stateSize` bytes (whole pages) below guest 0
   * become read-write. If this throws, nothing stays reserved.
   */
  constructor(stateSize: number) {
    if (stateSize <= 0 || stateSize % PAGE !== 0) {
      throw new RangeError(`state size must be a positive multiple of ${PAGE}`);
    }
    this.#stateSize = stateSize;
    this.#length = GuestAddressSpace.reservedBytes(stateSize);
    this.#pointer = mmap(
      null,
      this.#length,
      PROT_NONE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
    );
    try {
      mprotect(this.#pointer, stateSize, PROT_READ | PROT_WRITE);
    } catch (error) {
      munmap(this.#pointer, this.#length);
      throw error;
    }
    this.basePointer = offsetPointer(this.#pointer, stateSize);
  }

  #live(): void {
    if (!this.#mapped) throw new Error("the address space has been unmapped");
  }

  /** Makes guest pages `[start, end)` readable, and writable if `writable`. */
  map(start: number, end: number, writable: boolean): void {
    this.#live();
    checkRange(start, end);
    if (end === start) return;
    const prot = PROT_READ | (writable ? PROT_WRITE : 0);
    mprotect(offsetPointer(this.basePointer, start), end - start, prot);
  }

  /** Backs accessible pages `[start, end)` now, so that touching them takes no page fault. */
  populate(start: number, end: number): void {
    this.#live();
    checkRange(start, end);
    if (end > start) populate(offsetPointer(this.basePointer, start), end - start);
  }

  /** The state block's pages, likewise. */
  populateState(): void {
    this.#live();
    populate(this.#pointer, this.#stateSize);
  }

  /**
   * Zeroes accessible guest memory `[start, end)` through `bytes`, a view
   * of it whose index 0 is guest address `origin`, without touching pages
   * that are not resident (they read as zero already, and touching them
   * would fault them in): one `mincore` instead of a fault per such page.
   */
  zeroResident(bytes: Uint8Array, origin: number, start: number, end: number): void {
    this.#live();
    const first = start - (start % PAGE);
    const pages = Math.ceil((end - first) / PAGE);
    const resident = new Uint8Array(pages);
    residentPages(offsetPointer(this.basePointer, first), end - first, resident);
    for (let p = 0; p < pages;) {
      let q = p;
      while (q < pages && (resident[q] & 1) !== 0) q++;
      if (q > p) {
        bytes.fill(
          0,
          Math.max(start, first + p * PAGE) - origin,
          Math.min(end, first + q * PAGE) - origin,
        );
      }
      p = q + 1;
    }
  }

  /**
   * An ArrayBuffer over guest addresses `[start, end)`. It may span pages
   * that are not mapped: callers must touch only accessible bytes.
   */
  view(start: number, end: number): ArrayBuffer {
    this.#live();
    checkRange(start, end);
    return nativeView(offsetPointer(this.basePointer, start), end - start);
  }

  /** The state block (the `stateSize` bytes below guest address 0); one buffer, made once. */
  state(): ArrayBuffer {
    this.#live();
    return this.#state ??= nativeView(this.#pointer, this.#stateSize);
  }

  /** Unmaps everything (idempotent). No view of it may be used afterwards. */
  unmap(): void {
    if (!this.#mapped) return;
    this.#mapped = false;
    this.#state = undefined;
    munmap(this.#pointer, this.#length);
  }
}

/** What a collected space leaves to release: its reservation, and how. */
interface Hold {
  readonly reservation: Reservation;
  readonly onRelease: (reservation: Reservation) => void;
}

// Releases the holds of spaces collected without dispose().
const registry = new FinalizationRegistry<Hold>(({ reservation, onRelease }) =>
  onRelease(reservation)
);

/** One user's hold on a reserved guest address space with a state block below guest address 0. */
export class GuestAddressSpace {
  /** Host address of guest address 0. */
  readonly basePointer: HostPointer;
  readonly #hold: Hold;
  readonly #token = {};
  #live = true;

  /**
   * Holds `reservation`, or a new one with a state block of that many
   * bytes. `onRelease` gets the reservation once the hold ends, by
   * `dispose()` or, when the space is collected undisposed, by its
   * finalizer; it must unmap or keep the reservation and must not refer to
   * the space. Default: unmap it.
   */
  constructor(
    reservation: Reservation | number,
    onRelease: (reservation: Reservation) => void = (r) => r.unmap(),
  ) {
    const held = typeof reservation === "number" ? new Reservation(reservation) : reservation;
    this.#hold = { reservation: held, onRelease };
    this.basePointer = held.basePointer;
    registry.register(this, this.#hold, this.#token);
  }

  /** Bytes reserved for a space with a state block of `stateSize` bytes. */
  static reservedBytes(stateSize: number): number {
    return stateSize + GUEST_SPAN + GUARD;
  }

  #reservation(): Reservation {
    if (!this.#live) throw new Error("the address space has been disposed");
    return this.#hold.reservation;
  }

  /** Makes guest pages `[start, end)` readable, and writable if `writable`. */
  map(start: number, end: number, writable: boolean): void {
    this.#reservation().map(start, end, writable);
  }

  /**
   * An ArrayBuffer over guest addresses `[start, end)`. It may span pages
   * that are not mapped: callers must touch only accessible bytes.
   */
  view(start: number, end: number): ArrayBuffer {
    return this.#reservation().view(start, end);
  }

  /** The state block (the `stateSize` bytes below guest address 0). */
  state(): ArrayBuffer {
    return this.#reservation().state();
  }

  /** Ends the hold: `onRelease` unmaps or keeps the reservation (idempotent). */
  dispose(): void {
    if (!this.#live) return;
    this.#live = false;
    registry.unregister(this.#token);
    this.#hold.onRelease(this.#hold.reservation);
  }

  /** Same as {@linkcode GuestAddressSpace.dispose}. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
