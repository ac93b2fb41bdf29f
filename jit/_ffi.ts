/**
 * The native tier's view of the runtime's foreign-function interface: the
 * few libc calls it makes, views of native memory, and the call into
 * generated code. Deno's FFI (./_ffi_deno.ts) and, under Node, koffi
 * (./_ffi_koffi.ts) implement it; everything else in jit/ goes through
 * {@linkcode ffi}. Nothing here runs at import: the runtime is probed, and
 * a library opened, when the native tier is first asked for.
 * @module
 */
import { denoFfi, denoSupport } from "./_ffi_deno.ts";
import { koffiFfi, koffiSupport } from "./_ffi_koffi.ts";

declare const hostPointer: unique symbol;
/**
 * A host address as the runtime's FFI passes it: Deno's pointer object, a
 * number under koffi. Opaque: only {@linkcode NativeFfi} makes and reads them.
 */
export type HostPointer = { readonly [hostPointer]: true; };

/** Machines the native tier has a backend for. */
export type NativeArch = "x86_64" | "aarch64";

/** What entering generated code takes (jit/entry.ts): libc's `bsearch` with one element. */
export interface EntryParts {
  /** `bsearch(key, element, count, size, compare)`, bound through the FFI. */
  readonly bsearch: (
    key: HostPointer,
    element: HostPointer,
    count: unknown,
    size: unknown,
    compare: HostPointer,
  ) => void;
  /** A dummy element (never read). */
  readonly element: HostPointer;
  /** 1 and 8 as the binding takes a `size_t` (a bigint for Deno's fast calls). */
  readonly one: unknown;
  readonly eight: unknown;
}

/** One runtime's FFI, as the native tier uses it (Linux only). */
export interface NativeFfi {
  /** The machine the runtime runs on. */
  readonly arch: NativeArch;
  /** `mmap` (no file); null where it fails. */
  mmap(
    address: HostPointer | null,
    length: number,
    prot: number,
    flags: number,
  ): HostPointer | null;
  /** `mprotect`, `munmap`, `madvise`, `mincore`: 0 on success, else -1 and `errno()`. */
  mprotect(address: HostPointer, length: number, prot: number): number;
  munmap(address: HostPointer, length: number): number;
  madvise(address: HostPointer, length: number, advice: number): number;
  mincore(address: HostPointer, length: number, vector: Uint8Array): number;
  /** The calling thread's errno after the last failed call. */
  errno(): number;
  /** Makes code written at `address` visible to instruction fetch (AArch64: libgcc's `__clear_cache`). */
  clearInstructionCache(address: HostPointer, length: number): void;
  /** An ArrayBuffer over `length` bytes of native memory at `address` (no copy). */
  view(address: HostPointer, length: number): ArrayBuffer;
  /** The address as a number (host addresses are below 2^53). */
  address(pointer: HostPointer): number;
  /** `pointer + bytes`. */
  offset(pointer: HostPointer, bytes: number): HostPointer;
  /** Where an ArrayBuffer's bytes live (they never move: V8 keeps them off its heap). */
  addressOf(buffer: ArrayBuffer): number;
  /** The parts of a call into generated code. */
  entryParts(): EntryParts;
}

/** Whether the native tier can run here, and which FFI it would use, or why not. */
export type FfiSupport =
  | { readonly ok: true; readonly reason: string; readonly load: () => NativeFfi; }
  | { readonly ok: false; readonly reason: string; };

let loaded: NativeFfi | undefined;

/** Probes the runtime: Deno's FFI where there is `Deno`, koffi under Node. Opens nothing. */
export function ffiSupport(): FfiSupport {
  const deno = (globalThis as { Deno?: typeof Deno; }).Deno;
  if (deno !== undefined && typeof deno.dlopen === "function") {
    const why = denoSupport(deno);
    return why.ok
      ? { ok: true, reason: why.reason, load: denoFfi }
      : { ok: false, reason: why.reason };
  }
  const why = koffiSupport();
  return why.ok
    ? { ok: true, reason: why.reason, load: koffiFfi }
    : { ok: false, reason: why.reason };
}

/**
 * The FFI of this runtime, opened on first use.
 * @throws {Error} where the native tier cannot run (see {@linkcode ffiSupport}).
 */
export function ffi(): NativeFfi {
  if (loaded !== undefined) return loaded;
  const support = ffiSupport();
  if (!support.ok) throw new Error(`the native tier cannot run here: ${support.reason}`);
  return loaded = support.load();
}
