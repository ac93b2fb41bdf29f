/**
 * {@linkcode NativeFfi} on Deno's FFI (`Deno.dlopen`). Symbols bound as
 * `pointer` take V8's fast-call path (a few ns per call); `usize` numbers
 * would go through bigints (about 250 ns per call of the entry, measured).
 * @module
 */
import type { EntryParts, HostPointer, NativeFfi } from "./_ffi.ts";

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

const CLEAR_CACHE = {
  __clear_cache: { parameters: ["pointer", "pointer"], result: "void" },
} as const;

/** Whether Deno's FFI can run the native tier here (no prompt, nothing opened). */
export function denoSupport(deno: typeof Deno): { ok: boolean; reason: string; } {
  const { arch, os } = deno.build;
  if (arch !== "x86_64" && arch !== "aarch64") {
    return { ok: false, reason: `the native tier has no backend for ${arch}` };
  }
  if (os !== "linux") {
    return { ok: false, reason: `the native tier runs on Linux only so far, not ${os}` };
  }
  if (deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return { ok: false, reason: "the native tier needs FFI permission (--allow-ffi)" };
  }
  return {
    ok: true,
    reason: `${arch === "x86_64" ? "x86-64" : "AArch64"} Linux with FFI permission`,
  };
}

const pointer = (p: HostPointer | null) => p as unknown as Deno.PointerObject | null;
const host = (p: Deno.PointerValue) => p as unknown as HostPointer | null;

/** Opens libc (and on AArch64 libgcc, for `__clear_cache` when first needed). */
export function denoFfi(): NativeFfi {
  const libc = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  const arch = Deno.build.arch as NativeFfi["arch"];
  let gcc: Deno.DynamicLibrary<typeof CLEAR_CACHE>["symbols"] | undefined;
  const ELEMENT = new Uint8Array(8);
  const entry: EntryParts = {
    bsearch: libc.bsearch as unknown as EntryParts["bsearch"],
    element: host(Deno.UnsafePointer.of(ELEMENT))!,
    one: 1n,
    eight: 8n,
  };
  return {
    arch,
    mmap: (address, length, prot, flags) => {
      const p = libc.mmap(pointer(address), BigInt(length), prot, flags, -1, 0n);
      return p === null || Deno.UnsafePointer.value(p) === 0xffffffffffffffffn ? null : host(p);
    },
    mprotect: (address, length, prot) => libc.mprotect(pointer(address), BigInt(length), prot),
    munmap: (address, length) => libc.munmap(pointer(address), BigInt(length)),
    madvise: (address, length, advice) => libc.madvise(pointer(address), BigInt(length), advice),
    mincore: (address, length, vector) => libc.mincore(pointer(address), BigInt(length), vector),
    errno: () => {
      const at = libc.__errno_location();
      return at === null ? 0 : new Deno.UnsafePointerView(at).getInt32();
    },
    clearInstructionCache(address, length) {
      if (arch !== "aarch64") return;
      gcc ??= Deno.dlopen("libgcc_s.so.1", CLEAR_CACHE).symbols;
      gcc.__clear_cache(pointer(address), pointer(this.offset(address, length)));
    },
    view: (address, length) => Deno.UnsafePointerView.getArrayBuffer(pointer(address)!, length),
    address: (p) => Number(Deno.UnsafePointer.value(pointer(p))),
    offset: (p, bytes) =>
      host(Deno.UnsafePointer.create(Deno.UnsafePointer.value(pointer(p)) + BigInt(bytes)))!,
    addressOf: (buffer) => Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer))),
    entryParts: () => entry,
  };
}
