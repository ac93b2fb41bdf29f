/**
 * Guest memory: the layout rules of abi/README.md §3, the backing store, the
 * fast access windows every tier checks with one compare, and the
 * bounds-checked helpers host functions use.
 * @module
 */
import {
  ADDRESS_LIMIT,
  DEFAULT_HEAP_SIZE,
  DEFAULT_STACK_SIZE,
  MAX_MEMORY_SPAN,
  PAGE_SIZE,
} from "./constants.ts";
import type { ProgramImage } from "./load.ts";

/** Per-instance memory limits. */
export interface MemoryOptions {
  /** Stack size in bytes, rounded up to a page. Default: 64 KiB. */
  stackSize?: number;
  /** Most bytes the heap may grow to through `rvbox_sbrk`. Default: 16 MiB. */
  heapSize?: number;
}

/** An accessible address range. */
export interface Region {
  /** First address. */
  start: number;
  /** One past the last address. */
  end: number;
  /** Writable (every region is readable). */
  write: boolean;
  /** What it is, for messages and `inspect`. */
  name: string;
}

const pageUp = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

function checkSize(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_MEMORY_SPAN) {
    throw new RangeError(`${name} must be an integer from 0 to ${MAX_MEMORY_SPAN}, got ${value}`);
  }
  return value;
}

/** Where the stack and heap go for `image` with `options` (§3). */
export function computeLayout(image: ProgramImage, options: MemoryOptions): {
  regions: Region[];
  heapStart: number;
  heapLimit: number;
  stackTop: number;
} {
  const stackSize = pageUp(checkSize("stackSize", options.stackSize ?? DEFAULT_STACK_SIZE));
  const heapSize = checkSize("heapSize", options.heapSize ?? DEFAULT_HEAP_SIZE);
  const segments = image.segments;
  const heapStart = segments[segments.length - 1].end;
  const heapLimit = heapStart + heapSize;
  const writable = segments.find((s) => s.write);
  const w = writable ? writable.start : heapStart;
  const below = w - stackSize;
  const fitsBelow = below >= PAGE_SIZE && segments.every((s) => s.end <= below || s.start >= w);
  const stackBottom = fitsBelow ? below : pageUp(heapLimit);
  const stackTop = stackBottom + stackSize;
  if (Math.max(stackTop, heapLimit) > ADDRESS_LIMIT) {
    throw new RangeError("stack and heap do not fit below the top of the address space");
  }
  const regions: Region[] = segments.map((s) => ({
    start: s.start,
    end: s.end,
    write: s.write,
    name: s.exec ? "code" : s.write ? "data" : "rodata",
  }));
  if (stackSize > 0) {
    regions.push({ start: stackBottom, end: stackTop, write: true, name: "stack" });
  }
  regions.sort((a, b) => a.start - b.start);
  return { regions, heapStart, heapLimit, stackTop };
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
  readonly #span: number;
  readonly #growable: boolean;
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
  readStart = 0;
  /** End of the fast read window. */
  readEnd = 0;
  /** Fast write window `[writeStart, writeEnd)`: every byte in it is writable. */
  writeStart = 0;
  /** End of the fast write window. */
  writeEnd = 0;

  /**
   * What the backing bytes live in, held for as long as they are reachable
   * from here: the native tier's address space, whose finalizer would
   * unmap them (and the address could then be reused by another instance)
   * if a host kept this memory after dropping its instance.
   */
  #owner: unknown;

  /**
   * Lays out and initializes memory for `image` (§3). `allocate` provides
   * zeroed backing bytes for guest addresses `[base, base + length)` (the
   * native tier passes a view of its address space, and that space as
   * `owner`); default: a new array.
   */
  constructor(
    image: ProgramImage,
    options: MemoryOptions = {},
    allocate?: (base: number, length: number) => Uint8Array,
    owner?: object,
  ) {
    this.#owner = owner;
    const layout = computeLayout(image, options);
    this.regions = layout.regions;
    this.heapStart = this.brk = layout.heapStart;
    this.heapLimit = layout.heapLimit;
    this.stackTop = layout.stackTop;
    this.base = layout.regions[0].start;
    const top = Math.max(layout.heapLimit, layout.regions[layout.regions.length - 1].end);
    if (top - this.base > MAX_MEMORY_SPAN) {
      throw new RangeError(
        `guest memory would span ${top - this.base} bytes, over ${MAX_MEMORY_SPAN}`,
      );
    }
    // Bytes in use now: everything but the heap's unused part (when the heap is on top).
    const staticTop = layout.regions[layout.regions.length - 1].end;
    const used = pageUp(Math.max(staticTop, layout.heapStart)) - this.base;
    this.#span = top - this.base;
    // Without `allocate`, hold only the bytes in use and grow with the heap:
    // allocating and zeroing the heap limit up front would make every
    // instantiation pay for it.
    this.bytes = allocate ? allocate(this.base, this.#span) : new Uint8Array(used);
    this.#growable = allocate === undefined;
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    for (const s of image.segments) this.bytes.set(s.data, s.vaddr - this.base);
    this.updateWindows();
  }

  /** All accessible regions including the current heap, sorted (rebuilt when the break moves). */
  #all: Region[] = [];

  /** All accessible regions including the current heap. */
  allRegions(): readonly Region[] {
    return this.#all;
  }

  /**
   * Recomputes the fast windows: the longest runs of adjacent accessible
   * (resp. writable) regions, preferring the run that holds the heap.
   */
  updateWindows(): void {
    const heap = { start: this.heapStart, end: this.brk, write: true, name: "heap" };
    const all = [...this.regions, heap].filter((r) => r.end > r.start).sort((a, b) =>
      a.start - b.start
    );
    this.#all = all;
    const pick = (ok: (r: Region) => boolean): [number, number] => {
      let best: [number, number] = [0, 0];
      let bestHoldsHeap = false;
      let runStart = -1;
      let runEnd = -1;
      for (const r of all) {
        if (!ok(r)) {
          runStart = -1;
          continue;
        }
        if (runStart < 0 || r.start !== runEnd) runStart = r.start;
        runEnd = r.end;
        const holdsHeap = runStart <= this.heapStart && this.heapStart <= runEnd;
        if (holdsHeap || (!bestHoldsHeap && runEnd - runStart > best[1] - best[0])) {
          best = [runStart, runEnd];
          bestHoldsHeap = holdsHeap;
        }
      }
      return best;
    };
    [this.readStart, this.readEnd] = pick(() => true);
    [this.writeStart, this.writeEnd] = pick((r) => r.write);
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
    this.updateWindows();
    return old;
  }

  /** Makes `bytes` cover at least `needed` bytes (doubling, up to the span). */
  #grow(needed: number): void {
    if (!this.#growable) throw new Error(`guest memory cannot grow to ${needed} bytes`);
    const length = Math.min(this.#span, Math.max(needed, 2 * this.bytes.length));
    const bigger = new Uint8Array(length);
    bigger.set(this.bytes);
    this.bytes = bigger;
    this.view = new DataView(bigger.buffer);
  }

  #detached = false;

  /**
   * Makes every later access through the checked helpers throw, and drops
   * `bytes` and `view` for empty ones: the native tier unmaps the memory
   * behind them next. (Dropped, not detached: detaching any ArrayBuffer makes
   * V8 check for detachment on every typed-array access in the process from
   * then on, which measured 10-15% slower translation and interpretation.)
   */
  detach(): void {
    this.#detached = true;
    this.#owner = undefined;
    this.bytes = new Uint8Array(0);
    this.view = new DataView(this.bytes.buffer);
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
