/**
 * Executable memory under W^X: code is copied into a read-write mapping,
 * which is then made read-execute. No page is ever writable and executable
 * at once.
 *
 * The mapping of a freed translation goes to the memory pool
 * (abi/memory_pool.ts) for the next translation of a similar size: writing
 * code into fresh pages costs a page fault per 4 KiB (14–20 µs each on
 * the development VM, about 1 ms for the contract workload's code) and
 * unmapping them more; a pooled mapping is made read-write, overwritten and
 * made read-execute again, its pages already present. While pooled it is
 * read-execute and unreachable (no jump table points into it), and counted
 * in `resourceUsage()` like a pooled address space.
 * @module
 */
import { poolMemory, takePooled } from "../abi/memory_pool.ts";
import { ResourceClaim } from "../abi/resources.ts";
import { ffi, type HostPointer } from "./_ffi.ts";
import {
  clearInstructionCache,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  mmap,
  mprotect,
  munmap,
} from "./_libc.ts";
import { nativeView, PROT_EXEC, PROT_READ, PROT_WRITE } from "./_libc.ts";

const PAGE = 4096;
/** Mappings larger than this are unmapped rather than pooled. */
const MAX_POOLED_BYTES = 4 << 20;
/** The pool's key for code mappings (any one fits any translation of a similar size). */
const CODE = {};
/**
 * What fills code left over from the mapping's previous translation: a trap
 * if ever reached (read when used: nothing may touch `Deno` at load time).
 */
const trapFill = () => ffi().arch === "x86_64" ? 0xcc /* int3 */ : 0 /* udf #0 */;

/** A mapping of code no translation uses, in the pool. */
export interface IdleMapping {
  readonly pointer: HostPointer;
  readonly length: number;
  /** Bytes of code its last translation wrote. */
  readonly used: number;
  /** What it counts while pooled. */
  readonly claim: ResourceClaim;
}

// Frees mappings whose owner was collected without dispose().
const registry = new FinalizationRegistry<{ pointer: HostPointer; length: number; }>(
  ({ pointer, length }) => munmap(pointer, length),
);

/**
 * A pooled mapping for `bytes` bytes of code (at least as long, at most
 * twice), no longer counted as pooled: the caller claims it as its own, then
 * passes it to {@linkcode ExecutableCode} or back with {@linkcode unusedMapping}.
 */
export function pooledMapping(bytes: number): IdleMapping | undefined {
  const length = ExecutableCode.lengthFor(bytes);
  const idle = takePooled<IdleMapping>(
    CODE,
    "code",
    (m) => m.length >= length && m.length <= 2 * length,
  );
  idle?.claim.release();
  return idle;
}

/** A mapping from {@linkcode pooledMapping} that went unused: pooled again, or unmapped. */
export function unusedMapping(idle: IdleMapping): void {
  poolMapping(idle.pointer, idle.length, idle.used);
}

function poolMapping(pointer: HostPointer, length: number, used: number): void {
  if (length <= MAX_POOLED_BYTES) {
    let claim: ResourceClaim | undefined;
    try {
      claim = new ResourceClaim("pooled native code", {
        reserved: length,
        committed: length,
        mappings: 1,
      });
    } catch {
      // the limits went down meanwhile: unmap instead
    }
    const idle: IdleMapping | undefined = claim && { pointer, length, used, claim };
    if (idle !== undefined && poolMemory(CODE, "code", idle, () => releaseMapping(idle))) return;
    claim?.release();
  }
  munmap(pointer, length);
}

function releaseMapping(idle: IdleMapping): void {
  idle.claim.release();
  munmap(idle.pointer, idle.length);
}

/** Machine code mapped read-execute. */
export class ExecutableCode {
  /** Where the code starts. */
  readonly pointer: HostPointer;
  /** The same address as a number (for tables). */
  readonly address: number;
  /** Mapped length (whole pages). */
  readonly length: number;
  readonly #used: number;
  #live = true;
  readonly #token = {};

  /** Maps `code` read-execute, into `reused` (from {@linkcode pooledMapping}) if given. */
  constructor(code: Uint8Array, reused?: IdleMapping) {
    this.length = reused?.length ?? ExecutableCode.lengthFor(code.length);
    this.#used = code.length;
    this.pointer = reused?.pointer
      ?? mmap(null, this.length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    try {
      if (reused !== undefined) mprotect(this.pointer, this.length, PROT_READ | PROT_WRITE);
      const written = Math.max(code.length, reused?.used ?? 0);
      const view = new Uint8Array(nativeView(this.pointer, written));
      view.set(code);
      view.fill(trapFill(), code.length);
      clearInstructionCache(this.pointer, written);
      mprotect(this.pointer, this.length, PROT_READ | PROT_EXEC);
    } catch (error) {
      munmap(this.pointer, this.length);
      throw error;
    }
    this.address = ffi().address(this.pointer);
    registry.register(this, { pointer: this.pointer, length: this.length }, this.#token);
  }

  /** Bytes mapped for `bytes` bytes of code (whole pages, at least one). */
  static lengthFor(bytes: number): number {
    return Math.max(PAGE, Math.ceil(bytes / PAGE) * PAGE);
  }

  /**
   * Releases the code (idempotent): its mapping is pooled for a later
   * translation or unmapped. Calling into it afterwards is undefined.
   */
  dispose(): void {
    if (!this.#live) return;
    this.#live = false;
    registry.unregister(this.#token);
    poolMapping(this.pointer, this.length, this.#used);
  }

  /** Same as {@linkcode ExecutableCode.dispose}. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
