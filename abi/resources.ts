/**
 * Accounting of what native and wasm instances and native programs hold
 * outside the JavaScript heap (address space, memory, kernel mappings), with
 * limits an embedder can set. Garbage collection cannot help here: V8 does
 * not see native resources, and the finalizers that release undisposed ones
 * run only when the event loop turns, so a synchronous loop of undisposed
 * instantiations would otherwise run the kernel out of mappings (each native
 * instance reserves 4 GiB + guard and maps its regions; a WebAssembly memory
 * takes the whole guest span, and up to 10 GiB of address space with V8's
 * guard regions) and the process would abort on its next ordinary
 * allocation. Every check and update is O(1). The counts are per JavaScript
 * realm (each Worker has its own).
 * @module
 */
import { pooledCount, releasePooled } from "./memory_pool.ts";

/**
 * Limits on the resources native and wasm instances and native programs
 * hold in this realm. An instance or program that would go over one is
 * refused with a `RangeError` before anything is mapped (`tier: "auto"` then
 * uses the interpreter instead). Heap growth (`rvbox_sbrk`) is counted but
 * never refused: it stays within the instance's `heapSize`.
 *
 * @example
 * ```ts
 * import { setResourceLimits } from "@rvbox/rvbox";
 * setResourceLimits({ maxNativeInstances: 256, maxCommittedBytes: 2 ** 30 });
 * ```
 */
export interface ResourceLimits {
  /** Native instances alive at once (created, not yet disposed or collected). Default: 4096. */
  maxNativeInstances: number;
  /** Wasm instances alive at once (created, not yet disposed or collected). Default: 4096. */
  maxWasmInstances: number;
  /**
   * Address space reserved: 4 GiB + 68 KiB per native instance, the
   * WebAssembly memory of each wasm instance (its guest span, state block
   * and jump table; the engine may reserve guard regions beyond it), and
   * each program's code and jump table. Default: 32 TiB (a quarter of
   * x86-64 Linux's user address space).
   */
  maxReservedBytes: number;
  /**
   * Memory made accessible: instances' segments, stack and heap as far as
   * it has grown (and a wasm instance's state block and jump table), and
   * programs' code and written jump-table pages (the
   * kernel backs a page only once it is touched, so this bounds what these
   * can cost, not what they cost). Default: 8 GiB.
   */
  maxCommittedBytes: number;
  /**
   * Kernel memory mappings (about 5 for a native instance with the SDK's
   * layout, more for programs whose segments lie apart; 2 per wasm instance
   * and per program). The kernel
   * allows 65 530 per process by default (`vm.max_map_count`) and the rest
   * of the process needs its share. Default: 32 768.
   */
  maxMappings: number;
}

/**
 * What live native and wasm instances and native programs hold now (see
 * {@linkcode ResourceLimits}).
 *
 * @example
 * ```ts
 * import { resourceUsage } from "@rvbox/rvbox";
 * const { nativeInstances, committedBytes } = resourceUsage();
 * console.log(`${nativeInstances} native instances, ${committedBytes} bytes accessible`);
 * ```
 */
export interface ResourceUsage {
  /** Native instances not yet disposed or collected. */
  nativeInstances: number;
  /** Wasm instances not yet disposed or collected. */
  wasmInstances: number;
  /** Programs whose native code is not yet freed. */
  nativePrograms: number;
  /** Address space reserved. */
  reservedBytes: number;
  /** Memory made accessible (see {@linkcode ResourceLimits.maxCommittedBytes}). */
  committedBytes: number;
  /** Native code of the programs (part of `committedBytes`). */
  codeBytes: number;
  /** Kernel memory mappings, as estimated from each layout. */
  mappings: number;
  /**
   * Memories of disposed instances, and mappings of freed native code, kept
   * for reuse (see `setMemoryPoolLimit`); the native and wasm ones' address
   * space, memory and mappings are part of the counts above.
   */
  pooledMemories: number;
}

const DEFAULT_LIMITS: Readonly<ResourceLimits> = Object.freeze({
  maxNativeInstances: 4096,
  maxWasmInstances: 4096,
  maxReservedBytes: 2 ** 45,
  maxCommittedBytes: 2 ** 33,
  maxMappings: 32768,
});

const limits: ResourceLimits = { ...DEFAULT_LIMITS };
const usage: Omit<ResourceUsage, "pooledMemories"> = {
  nativeInstances: 0,
  wasmInstances: 0,
  nativePrograms: 0,
  reservedBytes: 0,
  committedBytes: 0,
  codeBytes: 0,
  mappings: 0,
};

/**
 * Sets some or all limits (the others keep their values) and returns the
 * limits now in force; `setResourceLimits({})` only reads them. A limit
 * below the current usage refuses new instances and programs until enough
 * are released; nothing live is affected.
 * @throws {RangeError} unless every given limit is a non-negative integer or `Infinity`.
 *
 * @example
 * ```ts
 * import { setResourceLimits } from "@rvbox/rvbox";
 * const saved = setResourceLimits({});
 * setResourceLimits({ maxNativeInstances: 16 });
 * // ... instantiate ...
 * setResourceLimits(saved);
 * ```
 */
export function setResourceLimits(changes: Partial<ResourceLimits>): ResourceLimits {
  for (const [name, value] of Object.entries(changes)) {
    if (!Object.hasOwn(DEFAULT_LIMITS, name)) {
      throw new RangeError(`unknown resource limit ${JSON.stringify(name)}`);
    }
    if (value !== Infinity && !(Number.isSafeInteger(value) && value >= 0)) {
      throw new RangeError(`${name} must be a non-negative integer or Infinity, got ${value}`);
    }
  }
  Object.assign(limits, changes);
  return { ...limits };
}

/**
 * What live native and wasm instances and native programs hold now.
 *
 * @example
 * ```ts
 * import { resourceUsage } from "@rvbox/rvbox";
 * console.log(resourceUsage().nativeInstances);
 * ```
 */
export function resourceUsage(): ResourceUsage {
  return { ...usage, pooledMemories: pooledCount() };
}

/** An instance or program refused by a limit (a `RangeError`; `tier: "auto"` falls back on it). */
export class ResourceLimitError extends RangeError {
  /** Which limit, in a few words (the message adds what to do). */
  readonly limit: string;

  constructor(limit: string) {
    super(
      `${limit}. Dispose instances and programs no longer needed (undisposed ones are `
        + "released only after garbage collection, when the event loop turns), or raise the "
        + "limit with setResourceLimits()",
    );
    this.name = "ResourceLimitError";
    this.limit = limit;
  }
}

const ENOMEM = 12;

/**
 * A failed mapping for `what`, as thrown to the embedder: the kernel running
 * out of mappings or address space (ENOMEM) is a limit like the ones above.
 */
export function refusedMapping(error: unknown, what: string): unknown {
  const errno = (error as { errno?: unknown; } | null)?.errno;
  return errno === ENOMEM
    ? new ResourceLimitError(`the kernel refused memory for ${what} (ENOMEM)`)
    : error;
}

/**
 * Whether usage is within every limit that `amounts` has a share of: a
 * pooled address space, whose amounts are counted already, may be reused
 * only when a new one of the same amounts would have fit in its place.
 */
export function withinLimits(amounts: ResourceAmounts): boolean {
  for (const [key, used, limit] of CHECKS) {
    if ((amounts[key] ?? 0) > 0 && usage[used] > limits[limit]) return false;
  }
  return true;
}

/**
 * Runs `claim`; at a resource limit, releases the pooled memories (they hold
 * resources no instance uses) and tries once more.
 */
export function drainingPool<T>(claim: () => T): T {
  try {
    return claim();
  } catch (error) {
    if (!(error instanceof ResourceLimitError) || pooledCount() === 0) throw error;
    releasePooled();
    return claim();
  }
}

/** What one instance or program holds. */
export interface ResourceAmounts {
  instances?: number;
  wasmInstances?: number;
  programs?: number;
  reserved?: number;
  committed?: number;
  code?: number;
  mappings?: number;
}

const CHECKS = [
  ["instances", "nativeInstances", "maxNativeInstances", "live native instances"],
  ["wasmInstances", "wasmInstances", "maxWasmInstances", "live wasm instances"],
  ["reserved", "reservedBytes", "maxReservedBytes", "bytes of address space reserved"],
  ["committed", "committedBytes", "maxCommittedBytes", "bytes of accessible native memory"],
  ["mappings", "mappings", "maxMappings", "memory mappings"],
] as const;

function add(amounts: ResourceAmounts, sign: 1 | -1): void {
  usage.nativeInstances += sign * (amounts.instances ?? 0);
  usage.wasmInstances += sign * (amounts.wasmInstances ?? 0);
  usage.nativePrograms += sign * (amounts.programs ?? 0);
  usage.reservedBytes += sign * (amounts.reserved ?? 0);
  usage.committedBytes += sign * (amounts.committed ?? 0);
  usage.codeBytes += sign * (amounts.code ?? 0);
  usage.mappings += sign * (amounts.mappings ?? 0);
}

/**
 * The resources one instance or native program holds, counted from creation
 * until `release()` (its dispose or its finalizer).
 */
export class ResourceClaim {
  readonly #amounts: Required<ResourceAmounts>;
  #live = true;

  /**
   * Counts `amounts` for `what` (e.g. "a new native instance").
   * @throws {ResourceLimitError} when a limit would be exceeded; nothing is counted then.
   */
  constructor(what: string, amounts: ResourceAmounts) {
    for (const [key, used, limit, unit] of CHECKS) {
      const total = usage[used] + (amounts[key] ?? 0);
      if ((amounts[key] ?? 0) > 0 && total > limits[limit]) {
        throw new ResourceLimitError(
          `resource limit reached: ${what} would make ${total} ${unit} `
            + `(${limit} is ${limits[limit]})`,
        );
      }
    }
    this.#amounts = {
      instances: 0,
      wasmInstances: 0,
      programs: 0,
      reserved: 0,
      committed: 0,
      code: 0,
      mappings: 0,
      ...amounts,
    };
    add(this.#amounts, 1);
  }

  /** Counts `bytes` more accessible memory (heap growth, written table pages); never refused. */
  commit(bytes: number): void {
    if (!this.#live) return;
    this.#amounts.committed += bytes;
    usage.committedBytes += bytes;
  }

  /** Stops counting (idempotent). */
  release(): void {
    if (!this.#live) return;
    this.#live = false;
    add(this.#amounts, -1);
  }
}
