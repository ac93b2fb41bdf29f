/**
 * The memories of disposed instances, kept for the next instance of the
 * same program with the same memory options: a native address space with
 * its pages mapped, or an interpreter's backing bytes. Reusing one spares
 * the kernel work (mapping, page faults, unmapping) that made a fresh native
 * instance cost hundreds of microseconds. A memory enters the pool already
 * restored to its initial contents, so nothing of one instance is ever
 * visible to the next, and is reused only with the same plan, whose
 * accessible pages are the same. Bounded (`maxPooledMemories`); the oldest
 * memory leaves first.
 * @module
 */
import { dropRecycled } from "./_recycle.ts";

/**
 * Which tier's memories: a native address space, an interpreter's bytes, or
 * a mapping of native code (of a freed translation, for the next one).
 */
export type PooledKind = "native" | "interpreter" | "wasm" | "code";

/** A pooled memory and what to do when it leaves the pool unused. */
interface Entry {
  readonly plan: object;
  readonly kind: PooledKind;
  readonly memory: unknown;
  readonly release: (() => void) | undefined;
}

/** Default bound on pooled memories (see `ResourceLimits.maxPooledMemories`). */
export const DEFAULT_MAX_POOLED = 32;

let bound = DEFAULT_MAX_POOLED;
/** Oldest first. Short, so a linear search costs less than a map. */
const entries: Entry[] = [];

/** Whether disposed memories are pooled at all (the bound is not 0). */
export function pooling(): boolean {
  return bound > 0;
}

/** Pooled memories now. */
export function pooledCount(): number {
  return entries.length;
}

/** Sets the bound, releasing the oldest memories over it. */
export function setPoolBound(limit: number): void {
  bound = limit;
  while (entries.length > bound) entries.shift()!.release?.();
}

/**
 * Keeps `memory` (already restored) of a `kind` instance for `plan`;
 * `release` frees it if it leaves the pool unused. Returns false, releasing
 * nothing, when the bound is 0.
 */
export function poolMemory(
  plan: object,
  kind: PooledKind,
  memory: unknown,
  release?: () => void,
): boolean {
  if (bound === 0) return false;
  if (entries.length >= bound) entries.shift()!.release?.();
  entries.push({ plan, kind, memory, release });
  return true;
}

/** Takes the most recently pooled memory of `kind` for `plan` (that `fits`, if given), if any. */
export function takePooled<T>(
  plan: object,
  kind: PooledKind,
  fits?: (memory: T) => boolean,
): T | undefined {
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i];
    if (entry.plan !== plan || entry.kind !== kind) continue;
    if (fits === undefined || fits(entry.memory as T)) return entries.splice(i, 1)[0].memory as T;
  }
  return undefined;
}

/**
 * Releases the pooled memories `which` selects (all by default), e.g. those
 * of a disposed program, or all before refusing an instance at a resource
 * limit. Returns how many.
 */
export function releasePooled(which: (plan: object) => boolean = () => true): number {
  const gone: Entry[] = [];
  for (let i = entries.length - 1; i >= 0; i--) {
    if (which(entries[i].plan)) gone.push(entries.splice(i, 1)[0]);
  }
  // Only then, as a release may pool something else (wasm/space.ts keeps a retired program's
  // memory for the next program).
  for (const entry of gone) entry.release?.();
  return gone.length;
}

/**
 * Sets how many memories of disposed instances are kept for reuse (default
 * 32; `0` turns pooling off), releasing the oldest over the new bound, and
 * returns the bound now in force (`setMemoryPoolLimit()` only reads it).
 * The pool also keeps the mappings of freed native code (up to 4 MiB each)
 * for later translations. A pooled native memory keeps its address space reserved and its pages
 * (segments, stack, and a heap of at most 1 MiB) committed, and is counted
 * in `resourceUsage()`; a new instance that would go over a resource limit
 * releases the pool first.
 * @throws {RangeError} unless `limit` is a non-negative integer.
 *
 * @example
 * ```ts
 * import { setMemoryPoolLimit } from "@rvbox/rvbox";
 * setMemoryPoolLimit(4); // keep at most four idle memories
 * ```
 */
export function setMemoryPoolLimit(limit?: number): number {
  if (limit !== undefined) {
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`the memory pool limit must be a non-negative integer, got ${limit}`);
    }
    setPoolBound(limit);
  }
  return bound;
}

/**
 * Releases every pooled memory now (native address spaces are unmapped) and
 * returns how many there were; also drops the array memory kept from
 * disposed programs for the next ones loaded. Later disposals fill the pool
 * again.
 *
 * @example
 * ```ts
 * import { releasePooledMemory, resourceUsage } from "@rvbox/rvbox";
 * releasePooledMemory();
 * console.log(resourceUsage().pooledMemories); // 0
 * ```
 */
export function releasePooledMemory(): number {
  dropRecycled();
  return releasePooled();
}
