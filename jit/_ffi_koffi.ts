/**
 * {@linkcode NativeFfi} on koffi (npm `koffi`), for Node: the same libc
 * calls and the same entry through `bsearch` as on Deno. Addresses are
 * plain numbers here (`uintptr_t`; user-space addresses are below 2^47).
 * koffi is loaded with Node's `require` from where rvbox itself sits, so
 * it is an optional dependency: without it the native tier says so and
 * `tier: "auto"` runs the interpreter.
 * @module
 */
import type { EntryParts, HostPointer, NativeArch, NativeFfi } from "./_ffi.ts";

/** The part of koffi's API used here. */
interface Koffi {
  load(path: string): { func(declaration: string): (...args: unknown[]) => unknown; };
  view(pointer: unknown, length: number): ArrayBuffer;
  address(value: unknown): bigint;
  errno(): number;
}

interface NodeProcess {
  arch: string;
  platform: string;
  getBuiltinModule?: (id: string) => unknown;
}

const ARCH: Record<string, NativeArch> = { x64: "x86_64", arm64: "aarch64" };

let koffi: Koffi | undefined;
let failure: string | undefined;

/** Loads koffi once (Node's `require`, resolved from this module). */
function loadKoffi(process: NodeProcess): Koffi | undefined {
  if (koffi !== undefined || failure !== undefined) return koffi;
  try {
    const { createRequire } = process.getBuiltinModule!("node:module") as {
      createRequire(from: string): (id: string) => unknown;
    };
    koffi = createRequire(import.meta.url)("koffi") as Koffi;
  } catch (error) {
    failure = error instanceof Error ? error.message.split("\n")[0] : String(error);
  }
  return koffi;
}

/** Whether koffi can run the native tier here (loads koffi, opens no library). */
export function koffiSupport(): { ok: boolean; reason: string; } {
  const process = (globalThis as { process?: NodeProcess; }).process;
  if (typeof process?.getBuiltinModule !== "function") {
    return { ok: false, reason: "the native tier needs Deno's FFI, or koffi under Node" };
  }
  const arch = ARCH[process.arch];
  if (arch === undefined) {
    return { ok: false, reason: `the native tier has no backend for ${process.arch}` };
  }
  if (process.platform !== "linux") {
    return {
      ok: false,
      reason: `the native tier runs on Linux only so far, not ${process.platform}`,
    };
  }
  if (loadKoffi(process) === undefined) {
    return {
      ok: false,
      reason: `the native tier needs koffi under Node (npm install koffi): ${failure}`,
    };
  }
  return { ok: true, reason: `${arch === "x86_64" ? "x86-64" : "AArch64"} Linux through koffi` };
}

const n = (p: HostPointer | null) => (p ?? 0) as unknown as number;
const host = (address: number) => address as unknown as HostPointer;

/** Opens libc through koffi (and on AArch64 libgcc, for `__clear_cache` when first needed). */
export function koffiFfi(): NativeFfi {
  const process = (globalThis as { process?: NodeProcess; }).process!;
  const k = loadKoffi(process)!;
  const arch = ARCH[process.arch];
  const libc = k.load("libc.so.6");
  const mmap = libc.func("uintptr_t mmap(uintptr_t, size_t, int, int, int, int64_t)");
  const mprotect = libc.func("int mprotect(uintptr_t, size_t, int)");
  const munmap = libc.func("int munmap(uintptr_t, size_t)");
  const madvise = libc.func("int madvise(uintptr_t, size_t, int)");
  const mincore = libc.func("int mincore(uintptr_t, size_t, _Out_ uint8_t *)");
  const bsearch = libc.func("void bsearch(uintptr_t, uintptr_t, size_t, size_t, uintptr_t)");
  let clearCache: ((start: number, end: number) => unknown) | undefined;
  const element = new ArrayBuffer(8);
  const entry: EntryParts = {
    bsearch: bsearch as EntryParts["bsearch"],
    element: host(Number(k.address(element))),
    one: 1,
    eight: 8,
  };
  return {
    arch,
    mmap: (address, length, prot, flags) => {
      const p = mmap(n(address), length, prot, flags, -1, 0);
      // MAP_FAILED is (uintptr_t)-1: beyond 2^53, so not a safe number
      return typeof p === "number" && Number.isSafeInteger(p) && p !== 0 ? host(p) : null;
    },
    mprotect: (address, length, prot) => mprotect(n(address), length, prot) as number,
    munmap: (address, length) => munmap(n(address), length) as number,
    madvise: (address, length, advice) => madvise(n(address), length, advice) as number,
    mincore: (address, length, vector) => mincore(n(address), length, vector) as number,
    errno: () => k.errno(),
    clearInstructionCache(address, length) {
      if (arch !== "aarch64") return;
      clearCache ??= k.load("libgcc_s.so.1").func("void __clear_cache(uintptr_t, uintptr_t)");
      clearCache(n(address), n(address) + length);
    },
    view: (address, length) => k.view(n(address), length),
    address: (p) => n(p),
    offset: (p, bytes) => host(n(p) + bytes),
    addressOf: (buffer) => Number(k.address(buffer)),
    entryParts: () => entry,
  };
}
