/**
 * The native tier's code cache of translations no longer used: when the
 * last program and instance using a translation are gone, its machine code
 * is copied out before it is unmapped and kept in the JavaScript heap (least
 * recently used first out, up to {@linkcode CodeCacheLimits.maxBytes}), so
 * that loading the same program again maps it instead of translating it.
 * Translations in use are shared by every program with the same code
 * (jit/_compiled.ts) and are not counted here: they are native resources,
 * counted by abi/resources.ts. The wasm tier's module cache (wasm/program.ts)
 * follows the same limit and is reported here too. Nothing is kept across
 * processes.
 * @module
 */
import type { CodeKey } from "./_code_key.ts";

/** A translation's machine code and instruction offsets, and the inputs it was made from. */
export interface Retained {
  /** The translation inputs. */
  readonly key: CodeKey;
  /** Machine code; offset 0 is the entry routine. */
  readonly bytes: Uint8Array;
  /** Per instruction: offset of its body (what the jump table points at). */
  readonly bodyOffset: Uint32Array;
  /** Bytes of all three. */
  readonly byteLength: number;
}

/** The code cache's limit. */
export interface CodeCacheLimits {
  /**
   * Bytes of translations no longer used that are kept for reuse (machine
   * code, instruction offsets and the program bytes they were made from).
   * 0 keeps none. Default: 32 MiB.
   */
  maxBytes: number;
}

/** What the code cache holds now. */
export interface CodeCacheUsage extends CodeCacheLimits {
  /** Native translations kept for reuse. */
  translations: number;
  /** Their bytes (at most `maxBytes`). */
  bytes: number;
  /**
   * Compiled WebAssembly modules the wasm tier keeps for programs loaded
   * later with the same code (the most recently used ones, in use or not).
   */
  wasmModules: number;
  /**
   * Their bytes (at most `maxBytes`): the modules' and their programs' code;
   * the engine's compiled code for them is not visible to rvbox.
   */
  wasmBytes: number;
}

/** Another cache under the same limit: the wasm tier's modules. */
export interface FollowingCache {
  /** Drops what does not fit under `maxBytes`. */
  trim(maxBytes: number): void;
  /** What it holds. */
  usage(): { modules: number; bytes: number; };
}

let follower: FollowingCache | undefined;

/** Puts `cache` under the code cache's limit (wasm/program.ts calls it once, at import). */
export function followCacheLimit(cache: FollowingCache): void {
  follower = cache;
}

/** The limit in force, in bytes. */
export function cacheLimit(): number {
  return maxBytes;
}

let maxBytes = 32 << 20;
/** By key hash, least recently kept first (Map order). */
const kept = new Map<number, Retained>();
let keptBytes = 0;

/**
 * Sets the code cache's limit (when given) and reports what it holds: the
 * native tier's translations no longer used, and the wasm tier's compiled
 * modules, each up to the limit. Lowering it drops what no longer fits at once.
 * @throws {RangeError} unless `maxBytes` is a non-negative safe integer.
 *
 * @example
 * ```ts
 * import { codeCache } from "@rvbox/rvbox";
 * codeCache({ maxBytes: 0 }); // keep no translation after its last program is gone
 * ```
 */
export function codeCache(limits: Partial<CodeCacheLimits> = {}): CodeCacheUsage {
  if (limits.maxBytes !== undefined) {
    const value = limits.maxBytes;
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`maxBytes must be a non-negative safe integer, got ${value}`);
    }
    maxBytes = value;
    trim(0);
    follower?.trim(value);
  }
  const wasm = follower?.usage() ?? { modules: 0, bytes: 0 };
  return {
    maxBytes,
    translations: kept.size,
    bytes: keptBytes,
    wasmModules: wasm.modules,
    wasmBytes: wasm.bytes,
  };
}

/** Drops the least recently kept translations until `room` more bytes fit. */
function trim(room: number): void {
  for (const [hash, entry] of kept) {
    if (keptBytes + room <= maxBytes) return;
    kept.delete(hash);
    keptBytes -= entry.byteLength;
  }
}

/** Whether translations are kept at all (copying one out is wasted otherwise). */
export function keeping(): boolean {
  return maxBytes > 0;
}

/** Keeps a translation no longer used, when it fits. */
export function keep(entry: Retained): void {
  if (entry.byteLength > maxBytes) return;
  take(entry.key.hash);
  trim(entry.byteLength);
  kept.set(entry.key.hash, entry);
  keptBytes += entry.byteLength;
}

/** Removes and returns the kept translation with inputs `key`, if any. */
export function takeKept(key: CodeKey): Retained | undefined {
  const entry = kept.get(key.hash);
  if (entry === undefined || !entry.key.equals(key)) return undefined;
  return take(key.hash);
}

function take(hash: number): Retained | undefined {
  const entry = kept.get(hash);
  if (entry !== undefined) {
    kept.delete(hash);
    keptBytes -= entry.byteLength;
  }
  return entry;
}
