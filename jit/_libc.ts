/**
 * The few libc functions the native tier needs, opened on first use (never
 * at import: the interpreter tier must not touch FFI or ask for permission).
 * @module
 */

const SYMBOLS = {
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  mprotect: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  mincore: { parameters: ["pointer", "usize", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  // Calls its comparator once with (key, element) when given one element:
  // the cheapest way into generated code (see jit/entry.ts).
  bsearch: { parameters: ["pointer", "pointer", "usize", "usize", "pointer"], result: "void" },
} as const;

/** Linux protection and mapping flags. */
export const PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
/** Linux mmap flags. */
export const MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000, MAP_FIXED = 0x10;

let library: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** The libc symbols (opens libc on first call). */
export function libc(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
  library ??= Deno.dlopen("libc.so.6", SYMBOLS);
  return library.symbols;
}

let gcc:
  | Deno.DynamicLibrary<{ __clear_cache: { parameters: ["pointer", "pointer"]; result: "void"; }; }>
  | undefined;

/**
 * Makes freshly written code visible to instruction fetch: AArch64 caches
 * instructions separately (libgcc's `__clear_cache` cleans the data cache
 * and invalidates the instruction cache for the range). x86-64 needs nothing.
 */
export function clearInstructionCache(address: Deno.PointerObject, length: number): void {
  if (Deno.build.arch !== "aarch64") return;
  gcc ??= Deno.dlopen(
    "libgcc_s.so.1",
    {
      __clear_cache: { parameters: ["pointer", "pointer"], result: "void" },
    } as const,
  );
  gcc.symbols.__clear_cache(address, offsetPointer(address, length));
}

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

function errno(): number {
  const at = libc().__errno_location();
  return at === null ? 0 : new Deno.UnsafePointerView(at).getInt32();
}

/** mmap; throws {@linkcode NativeMemoryError} on failure. */
export function mmap(
  address: Deno.PointerValue,
  length: number,
  prot: number,
  flags: number,
): Deno.PointerObject {
  const p = libc().mmap(address, BigInt(length), prot, flags, -1, 0n);
  if (p === null || Deno.UnsafePointer.value(p) === 0xffffffffffffffffn) {
    throw new NativeMemoryError(`mmap of ${length} bytes`, errno());
  }
  return p;
}

/** mprotect; throws on failure. */
export function mprotect(address: Deno.PointerObject, length: number, prot: number): void {
  if (libc().mprotect(address, BigInt(length), prot) !== 0) {
    throw new NativeMemoryError(`mprotect of ${length} bytes`, errno());
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
export function populate(address: Deno.PointerObject, length: number): void {
  libc().madvise(address, BigInt(length), MADV_POPULATE_WRITE);
}

/**
 * Which pages of `[address, address + length)` are resident, into `vector`
 * (one byte per page, bit 0 set when resident), without faulting any in.
 * Throws on failure.
 */
export function residentPages(address: Deno.PointerObject, length: number, vector: Uint8Array) {
  if (libc().mincore(address, BigInt(length), vector) !== 0) {
    throw new NativeMemoryError(`mincore of ${length} bytes`, errno());
  }
}

/** munmap; throws on failure. */
export function munmap(address: Deno.PointerObject, length: number): void {
  if (libc().munmap(address, BigInt(length)) !== 0) {
    throw new NativeMemoryError(`munmap of ${length} bytes`, errno());
  }
}

/** `address + offset` as a pointer. */
export function offsetPointer(address: Deno.PointerObject, offset: number): Deno.PointerObject {
  return Deno.UnsafePointer.create(Deno.UnsafePointer.value(address) + BigInt(offset))!;
}
