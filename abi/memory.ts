/**
 * Guest memory: one instance's backing store (laid out by its plan,
 * ./memory_plan.ts, per abi/README.md §3), the fast access windows every
 * tier checks with one compare, the break, and the bounds-checked helpers
 * host functions use.
 * @module
 */
import { PAGE_SIZE } from "./constants.ts";
import type { ProgramImage } from "./load.ts";
import {
  fastWindows,
  type MemoryOptions,
  MemoryPlan,
  memoryPlan,
  type Region,
  type Zero,
} from "./memory_plan.ts";
import { withHeap } from "./memory_plan.ts";
import { poolMemory, takePooled } from "./memory_pool.ts";

export {
  computeLayout,
  type MemoryOptions,
  MemoryPlan,
  memoryPlan,
  type Region,
} from "./memory_plan.ts";

const pageUp = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

/**
 * Heap an interpreter's backing bytes may have grown beyond the plan's
 * initial size and still be pooled: a larger one would hold that much
 * memory while idle.
 */
const POOLED_HEAP_BYTES = 1 << 20;

/** What a detached memory holds (shared: made once, never written). */
const NO_BYTES = new Uint8Array(0);
const NO_VIEW = new DataView(NO_BYTES.buffer);

/** Backing bytes owned by their memory (the interpreter's), as pooled. */
interface OwnBacking {
  readonly bytes: Uint8Array;
  readonly view: DataView;
}

/** Backing bytes a tier provides (the native tier: a view of its address space). */
export interface ProvidedBacking {
  /** Bytes for guest addresses `[plan.base, plan.base + plan.span)`, holding the initial contents. */
  readonly bytes: Uint8Array;
  /**
   * What the bytes live in, held as long as the memory is reachable: the
   * native tier's address space, whose finalizer would otherwise release
   * them (for another instance to reuse) while a host still reads them.
   */
  readonly owner: object;
  /** Clears a range of the bytes for `reset()` (the native tier skips untouched pages). */
  readonly zero: Zero;
}

const isUint32 = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

function hex(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}

/**
 * One instance's memory. Tiers read the public fields directly; host code
 * uses the checked helpers.
 */
export class GuestMemory {
  /**
   * Backing store for guest addresses `[base, base + bytes.length)`; it covers
   * every accessible byte. Replaced by a larger copy when the heap grows past
   * it (tiers reload it after host calls).
   */
  bytes: Uint8Array;
  /** Little-endian view of `bytes`. */
  view: DataView;
  /** The layout and initial contents, shared with every instance of the program and options. */
  readonly plan: MemoryPlan;
  /** Guest address of `bytes[0]`. */
  readonly base: number;
  /** Segments and stack (not the heap), sorted. */
  readonly regions: readonly Region[];
  /** First heap address. */
  readonly heapStart: number;
  /** Highest possible break. */
  readonly heapLimit: number;
  /** Initial stack pointer. */
  readonly stackTop: number;
  /** Current break: the heap is `[heapStart, brk)`. */
  brk: number;
  /** Fast read window `[readStart, readEnd)`: every byte in it is readable. */
  readStart: number;
  /** End of the fast read window. */
  readEnd: number;
  /** Fast write window `[writeStart, writeEnd)`: every byte in it is writable. */
  writeStart: number;
  /** End of the fast write window. */
  writeEnd: number;
  /** The highest break so far: no heap byte above it has been written. */
  #heapEnd: number;
  /** All accessible regions including the current heap, sorted (rebuilt when the break moves). */
  #all: readonly Region[];
  /** Whether the bytes are this memory's own (growable, pooled on detach), not a tier's. */
  #own: boolean;
  /** See {@linkcode ProvidedBacking.owner}. */
  #owner: object | undefined;
  /** See {@linkcode ProvidedBacking.zero}. */
  #zero: Zero | undefined;

  /**
   * Lays out and initializes memory for `image` (§3) with `options`. A tier
   * may provide the backing bytes (the native tier's address space);
   * otherwise the memory holds its own, taken from the pool of disposed
   * instances' memories when one fits, else allocated for what is in use
   * (the heap grows them on demand: allocating and zeroing the heap limit
   * up front would make every instantiation pay for it).
   */
  constructor(image: ProgramImage, options: MemoryOptions = {}, backing?: ProvidedBacking) {
    const plan = memoryPlan(image, options);
    this.plan = plan;
    this.base = plan.base;
    this.regions = plan.regions;
    this.heapStart = this.brk = this.#heapEnd = plan.heapStart;
    this.heapLimit = plan.heapLimit;
    this.stackTop = plan.stackTop;
    this.#all = plan.initialRegions;
    [this.readStart, this.readEnd, this.writeStart, this.writeEnd] = plan.initialWindows;
    this.#own = backing === undefined;
    this.#owner = backing?.owner;
    this.#zero = backing?.zero;
    if (backing !== undefined) {
      this.bytes = backing.bytes;
      this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
      return;
    }
    const pooled = takePooled<OwnBacking>(plan, "interpreter");
    if (pooled !== undefined) {
      this.bytes = pooled.bytes;
      this.view = pooled.view;
    } else {
      this.bytes = new Uint8Array(plan.used);
      this.view = new DataView(this.bytes.buffer);
      plan.initialize(this.bytes);
    }
  }

  /** All accessible regions including the current heap. */
  allRegions(): readonly Region[] {
    return this.#all;
  }

  /**
   * Recomputes the fast windows: the longest runs of adjacent accessible
   * (resp. writable) regions, preferring the run that holds the heap.
   */
  updateWindows(): void {
    this.#all = withHeap(this.regions, this.heapStart, this.brk);
    [this.readStart, this.readEnd, this.writeStart, this.writeEnd] = fastWindows(
      this.#all,
      this.heapStart,
    );
  }

  /** Whether all of `[address, address + length)` is accessible (writable if `write`). */
  accessible(address: number, length: number, write: boolean): boolean {
    let a = address >>> 0;
    const end = a + length;
    if (end > 2 ** 32) return false;
    for (const r of this.#all) {
      if (a >= end) break;
      if (r.end <= a) continue;
      if (r.start > a || (write && !r.write)) return false;
      a = r.end;
    }
    return a >= end;
  }

  /** Moves the break by `increment`; returns the old break or -1 (§5 `rvbox_sbrk`). */
  sbrk(increment: number): number {
    const old = this.brk;
    const next = old + (increment | 0);
    if (next < this.heapStart || next > this.heapLimit) return -1;
    if (next - this.base > this.bytes.length) this.#grow(pageUp(next) - this.base);
    this.brk = next;
    if (next > this.#heapEnd) this.#heapEnd = next;
    this.updateWindows();
    return old;
  }

  /** Makes `bytes` cover at least `needed` bytes (doubling, up to the span). */
  #grow(needed: number): void {
    if (!this.#own) throw new Error(`guest memory cannot grow to ${needed} bytes`);
    const length = Math.min(this.plan.span, Math.max(needed, 2 * this.bytes.length));
    const bigger = new Uint8Array(length);
    bigger.set(this.bytes);
    this.bytes = bigger;
    this.view = new DataView(bigger.buffer);
  }

  /**
   * Gives the memory its initial contents and break again (`instance.reset()`):
   * writable memory is restored, read-only memory cannot have changed.
   */
  reset(): void {
    if (this.#detached) throw new Error("the instance's memory has been released (disposed)");
    this.plan.restore(this.bytes, this.#heapEnd, this.#zero);
    this.brk = this.#heapEnd = this.heapStart;
    this.#all = this.plan.initialRegions;
    [this.readStart, this.readEnd, this.writeStart, this.writeEnd] = this.plan.initialWindows;
  }

  /** The highest break so far: heap bytes at and above it were never written. */
  get heapEnd(): number {
    return this.#heapEnd;
  }

  /**
   * Moves the contents of this memory's own bytes into `backing` (holding
   * the initial contents, with heap pages up to `heapEnd` usable) and uses
   * it from now on: an instance moving to the native tier (tier-up) keeps
   * its `Memory`. Only writable memory can differ from the initial contents.
   */
  moveTo(backing: ProvidedBacking): void {
    if (!this.#own || this.#detached) throw new Error("only an interpreter's memory can move");
    this.plan.copyWritable(this.bytes, backing.bytes, this.#heapEnd);
    this.bytes = backing.bytes;
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.#own = false;
    this.#owner = backing.owner;
    this.#zero = backing.zero;
  }

  #detached = false;

  /**
   * Makes every later access through the checked helpers throw, and drops
   * `bytes` and `view` for empty ones: the native tier releases the memory
   * behind them next. Bytes of its own are restored to the initial contents
   * and pooled for the next instance (unless the heap grew them large).
   * (Dropped, not detached: detaching any ArrayBuffer makes V8 check for
   * detachment on every typed-array access in the process from then on,
   * which measured 10-15% slower translation and interpretation.)
   */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#owner = undefined;
    const small = this.bytes.length <= this.plan.used + POOLED_HEAP_BYTES;
    if (this.#own && small && !this.plan.retired) {
      this.plan.restore(this.bytes, this.#heapEnd);
      poolMemory(
        this.plan,
        "interpreter",
        { bytes: this.bytes, view: this.view } satisfies OwnBacking,
      );
    }
    this.bytes = NO_BYTES;
    this.view = NO_VIEW;
  }

  private offset(address: number, length: number, write: boolean): number {
    if (this.#detached) throw new Error("the instance's memory has been released (disposed)");
    if (!isUint32(address)) {
      throw new RangeError(`guest address must be an integer from 0 to 2^32-1, got ${address}`);
    }
    if (!Number.isInteger(length) || length < 0 || length > 2 ** 32) {
      throw new RangeError(`length must be an integer from 0 to 2^32, got ${length}`);
    }
    if (length === 0) return 0; // an empty access touches nothing, wherever it points
    if (!this.accessible(address, length, write)) {
      const what = write ? "writable" : "readable";
      throw new RangeError(`guest memory ${hex(address)}..+${length} is not ${what}`);
    }
    return address - this.base;
  }

  /** Copies `length` bytes out of guest memory. */
  read(address: number, length: number): Uint8Array {
    const at = this.offset(address, length, false);
    return this.bytes.slice(at, at + length);
  }

  /** Copies `data` into guest memory (must be writable). */
  write(address: number, data: Uint8Array): void {
    this.bytes.set(data, this.offset(address, data.length, true));
  }

  /** Reads an unsigned byte. */
  readU8(address: number): number {
    return this.bytes[this.offset(address, 1, false)];
  }

  /** Reads an unsigned 32-bit little-endian word. */
  readU32(address: number): number {
    return this.view.getUint32(this.offset(address, 4, false), true);
  }

  /** Reads a signed 32-bit little-endian word. */
  readI32(address: number): number {
    return this.view.getInt32(this.offset(address, 4, false), true);
  }

  /** Writes a byte. */
  writeU8(address: number, value: number): void {
    this.bytes[this.offset(address, 1, true)] = value;
  }

  /** Writes a 32-bit little-endian word. */
  writeU32(address: number, value: number): void {
    this.view.setUint32(this.offset(address, 4, true), value >>> 0, true);
  }

  /**
   * Decodes UTF-8 text: `length` bytes, or up to the first NUL (at most
   * `maxLength` bytes, default 1 MiB) when `length` is omitted.
   */
  readString(address: number, length?: number, maxLength = 1 << 20): string {
    if (length === undefined) {
      let n = 0;
      while (n < maxLength && this.readU8(address + n) !== 0) n++;
      if (n === maxLength) {
        throw new RangeError(`no NUL within ${maxLength} bytes of ${hex(address)}`);
      }
      length = n;
    }
    return new TextDecoder().decode(this.read(address, length));
  }

  /** Encodes `text` as UTF-8 at `address`; returns the byte count (no NUL is added). */
  writeString(address: number, text: string): number {
    const data = new TextEncoder().encode(text);
    this.write(address, data);
    return data.length;
  }
}
