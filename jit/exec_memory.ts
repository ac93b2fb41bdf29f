/**
 * Executable memory under W^X: code is copied into a fresh read-write
 * mapping, which is then made read-execute. No page is ever writable and
 * executable at once.
 * @module
 */
import {
  clearInstructionCache,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  mmap,
  mprotect,
  munmap,
} from "./_libc.ts";
import { PROT_EXEC, PROT_READ, PROT_WRITE } from "./_libc.ts";

const PAGE = 4096;

// Frees mappings whose owner was collected without dispose().
const registry = new FinalizationRegistry<{ pointer: Deno.PointerObject; length: number; }>(
  ({ pointer, length }) => munmap(pointer, length),
);

/** Machine code mapped read-execute. */
export class ExecutableCode {
  /** Where the code starts. */
  readonly pointer: Deno.PointerObject;
  /** The same address as a number (for tables). */
  readonly address: bigint;
  /** Mapped length (whole pages). */
  readonly length: number;
  #live = true;
  readonly #token = {};

  /** Maps `code` read-execute. */
  constructor(code: Uint8Array) {
    this.length = ExecutableCode.lengthFor(code.length);
    this.pointer = mmap(null, this.length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    try {
      new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(this.pointer, code.length)).set(code);
      clearInstructionCache(this.pointer, code.length);
      mprotect(this.pointer, this.length, PROT_READ | PROT_EXEC);
    } catch (error) {
      munmap(this.pointer, this.length);
      throw error;
    }
    this.address = Deno.UnsafePointer.value(this.pointer);
    registry.register(this, { pointer: this.pointer, length: this.length }, this.#token);
  }

  /** Bytes mapped for `bytes` bytes of code (whole pages, at least one). */
  static lengthFor(bytes: number): number {
    return Math.max(PAGE, Math.ceil(bytes / PAGE) * PAGE);
  }

  /** Unmaps the code (idempotent). Calling into it afterwards is undefined. */
  dispose(): void {
    if (!this.#live) return;
    this.#live = false;
    registry.unregister(this.#token);
    munmap(this.pointer, this.length);
  }

  /** Same as {@linkcode ExecutableCode.dispose}. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
