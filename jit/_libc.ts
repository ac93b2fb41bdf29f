/**
 * The libc calls the native tier makes, through the runtime's FFI
 * (./_ffi.ts), with errors as exceptions.
 * @module
 */
import { ffi, type HostPointer } from "./_ffi.ts";

/** Linux protection and mapping flags. */
export const PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
/** Linux mmap flags. */
export const MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000, MAP_FIXED = 0x10;

/** A failed libc call, with errno. */
export class NativeMemoryError extends Error {
  /** The errno value. */
  readonly errno: number;
  constructor(call: string, errno: number) {
    super(`${call} failed (errno ${errno})`);
    this.name = "NativeMemoryError";
    this.errno = errno;
  }
}

/** mmap; throws {@linkcode NativeMemoryError} on failure. */
export function mmap(
  address: HostPointer | null,
  length: number,
  prot: number,
  flags: number,
): HostPointer {
  const f = ffi();
  const p = f.mmap(address, length, prot, flags);
  if (p === null) throw new NativeMemoryError(`mmap of ${length} bytes`, f.errno());
  return p;
}

/** mprotect; throws on failure. */
export function mprotect(address: HostPointer, length: number, prot: number): void {
  const f = ffi();
  if (f.mprotect(address, length, prot) !== 0) {
    throw new NativeMemoryError(`mprotect of ${length} bytes`, f.errno());
  }
}

const MADV_POPULATE_WRITE = 23;

/**
 * Faults in `length` bytes of read-write pages at `address` in one system
 * call (Linux 5.14 and later), so that nothing touching them later takes a
 * page fault: on the development VM a fault cost ~45 µs, populating ~5 µs
 * a page. Best effort: on older kernels (or any failure) the pages stay
 * lazily backed, which is only slower.
 */
export function populate(address: HostPointer, length: number): void {
  ffi().madvise(address, length, MADV_POPULATE_WRITE);
}

/**
 * Which pages of `[address, address + length)` are resident, into `vector`
 * (one byte per page, bit 0 set when resident), without faulting any in.
 * Throws on failure.
 */
export function residentPages(address: HostPointer, length: number, vector: Uint8Array) {
  const f = ffi();
  if (f.mincore(address, length, vector) !== 0) {
    throw new NativeMemoryError(`mincore of ${length} bytes`, f.errno());
  }
}

/** munmap; throws on failure. */
export function munmap(address: HostPointer, length: number): void {
  const f = ffi();
  if (f.munmap(address, length) !== 0) {
    throw new NativeMemoryError(`munmap of ${length} bytes`, f.errno());
  }
}

/** `address + offset`. */
export function offsetPointer(address: HostPointer, offset: number): HostPointer {
  return ffi().offset(address, offset);
}

/** Makes freshly written code visible to instruction fetch (nothing to do on x86-64). */
export function clearInstructionCache(address: HostPointer, length: number): void {
  ffi().clearInstructionCache(address, length);
}

/** An ArrayBuffer over native memory (no copy). */
export function nativeView(address: HostPointer, length: number): ArrayBuffer {
  return ffi().view(address, length);
}
