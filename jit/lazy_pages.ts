/**
 * Zero-filled read-write memory reserved without commitment
 * (`MAP_NORESERVE`): the kernel backs a page only when it is first written,
 * so a large table that is mostly zero costs address space, not memory.
 * The jump table (one 16-byte entry per 2-byte code slot, zero = no
 * instruction) spans the whole code address range, which may be mostly
 * gaps.
 * @module
 */
import type { HostPointer } from "./_ffi.ts";
import { MAP_ANONYMOUS, MAP_NORESERVE, MAP_PRIVATE, mmap, munmap } from "./_libc.ts";
import { nativeView, PROT_READ, PROT_WRITE } from "./_libc.ts";

const PAGE = 4096;

// Frees mappings whose owner was collected without dispose().
const registry = new FinalizationRegistry<{ pointer: HostPointer; length: number; }>(
  ({ pointer, length }) => munmap(pointer, length),
);

/** Lazily committed zero pages. */
export class LazyPages {
  /** Where the pages start. */
  readonly pointer: HostPointer;
  /** Mapped length (whole pages). */
  readonly length: number;
  #live = true;
  readonly #token = {};

  /** Reserves at least `bytes` bytes (at least one page). */
  constructor(bytes: number) {
    this.length = LazyPages.lengthFor(bytes);
    this.pointer = mmap(
      null,
      this.length,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
    );
    registry.register(this, { pointer: this.pointer, length: this.length }, this.#token);
  }

  /** Bytes needed for `bytes` bytes of pages. */
  static lengthFor(bytes: number): number {
    return Math.max(PAGE, Math.ceil(bytes / PAGE) * PAGE);
  }

  /** An ArrayBuffer over the pages: drop every view of it before `dispose()`. */
  view(): ArrayBuffer {
    if (!this.#live) throw new Error("the pages have been freed");
    return nativeView(this.pointer, this.length);
  }

  /** Unmaps the pages (idempotent). */
  dispose(): void {
    if (!this.#live) return;
    this.#live = false;
    registry.unregister(this.#token);
    munmap(this.pointer, this.length);
  }
}
