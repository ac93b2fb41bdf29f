/**
 * What a wasm instance runs on: one WebAssembly memory sized for the guest's
 * whole span up front (growing it would detach its buffer) with an instance
 * of the program's module over it. A space is counted against the resource
 * limits (abi/resources.ts) from creation until freed: its memory as
 * reserved address space, what the guest can reach (state block, jump
 * table, segments, stack, and the heap as far as it has grown) as committed
 * memory, like a native address space. When its rvbox instance is disposed
 * or collected, it is restored to the initial contents and pooled
 * (abi/memory_pool.ts) for the next instance of the same program and memory
 * options, which then needs neither a new memory nor a new WebAssembly
 * instance; once the program is disposed, the memory alone, zeroed, for the
 * next space of its size (the next program's module instantiated over it,
 * sparing a fresh memory's page faults). Where the host refuses to instantiate a module synchronously (a
 * browser's main thread, over 8 MB), {@linkcode preparedSpace} instantiates
 * one asynchronously.
 * @module
 */
import { PAGE_SIZE } from "../abi/constants.ts";
import type { MemoryPlan } from "../abi/memory.ts";
import { pooling, poolMemory, releasePooled, takePooled } from "../abi/memory_pool.ts";
import { drainingPool, type ResourceAmounts, ResourceClaim } from "../abi/resources.ts";
import { withinLimits } from "../abi/resources.ts";
import { STATE_BYTES, WASM_PAGE } from "./_layout.ts";
import { notSynchronously } from "./program.ts";
import { memoryPages, WasmLimitError, type WasmProgram } from "./translate.ts";

const pageUp = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
const WHAT = "a new wasm instance";
/** Kernel mappings a WebAssembly memory takes, estimated: its reservation and its accessible part. */
const MAPPINGS = 2;
/** Heap a space's last instance may have grown and the space still be pooled (as native ones). */
const POOLED_HEAP_BYTES = 1 << 20;

/** What makes the host calls of the code running on a space (its engine). */
export interface HostCaller {
  /** The module's `env.host` import (wasm/_layout.ts `HOST_IMPORT`). */
  callHost(site: number, instruction: number): number;
}

/**
 * The engine whose code runs now (the innermost entry: a host function may call into
 * another instance). Set around each entry only, so that a pooled space keeps no instance
 * alive.
 */
let running: HostCaller | undefined;

/** Every module's `env.host` import: one function, so that V8 optimizes one call path. */
function hostImport(site: number, i: number): number {
  return running!.callHost(site, i);
}

/** A WebAssembly memory with the program's module instantiated over it. */
export class WasmSpace {
  /** The guest span's bytes, `[plan.base, plan.base + plan.span)`. */
  readonly bytes: Uint8Array;
  /** The state block as u32 words (the registers first). */
  readonly words: Uint32Array;
  /** The module's `run` export; set once instantiated. */
  #run: ((dispatch: number) => number) | undefined;
  /** How far the heap is counted as committed (page-aligned). */
  heapTop: number;

  constructor(
    /** The layout it holds. */
    readonly plan: MemoryPlan,
    /** The translation its instance runs. */
    readonly program: WasmProgram,
    /** Its share of the limits (not the instance count). */
    readonly claim: ResourceClaim,
    /** The memory. */
    readonly memory: WebAssembly.Memory,
  ) {
    this.bytes = new Uint8Array(memory.buffer, program.guestOffset, plan.span);
    this.words = new Uint32Array(memory.buffer, 0, STATE_BYTES / 4);
    this.heapTop = plan.heapStart;
  }

  /** The imports of its module's instance. */
  get imports(): WebAssembly.Imports {
    return { env: { memory: this.memory, host: hostImport } };
  }

  /** Takes the module's instance over this memory. */
  instantiated(instance: WebAssembly.Instance): void {
    this.#run = instance.exports.run as (dispatch: number) => number;
  }

  /**
   * Runs the generated code from dispatch index `dispatch`, its host calls made by
   * `caller`; returns why it exited.
   */
  enter(caller: HostCaller, dispatch: number): number {
    const outer = running;
    running = caller;
    try {
      return this.#run!(dispatch);
    } finally {
      running = outer;
    }
  }

  /** Counts the heap up to `brk` as committed (never refused, as on the native tier). */
  commitHeap(brk: number): void {
    const top = pageUp(brk);
    if (top <= this.heapTop) return;
    this.claim.commit(top - this.heapTop);
    this.heapTop = top;
  }
}

const amounts = new WeakMap<MemoryPlan, ResourceAmounts>();

/** What a space for `plan` holds before its heap grows. */
function spaceAmounts(plan: MemoryPlan, program: WasmProgram): ResourceAmounts {
  let counted = amounts.get(plan);
  if (counted === undefined) {
    let committed = program.guestOffset;
    for (const r of plan.regions) committed += pageUp(r.end) - r.start;
    const reserved = memoryPages(program, plan.span) * WASM_PAGE;
    counted = { reserved, committed, mappings: MAPPINGS };
    amounts.set(plan, counted);
  }
  return counted;
}

/** Releases the claims of spaces dropped without being freed (e.g. prepared, never used). */
const dropped = new FinalizationRegistry<ResourceClaim>((claim) => claim.release());

/** Stops counting a space; the garbage collector frees its memory. */
export function freeSpace(space: WasmSpace): void {
  space.claim.release();
}

/**
 * A new space for `plan`, with the initial contents, not instantiated yet: over the zeroed
 * memory a disposed program left of the same size ({@linkcode keepMemory}), or a new memory.
 */
function newSpace(plan: MemoryPlan, program: WasmProgram): WasmSpace {
  const pages = memoryPages(program, plan.span);
  const kept = takePooled<KeptMemory>(keyOf(pages), "wasm");
  kept?.claim.release(); // counted again below, as the new space's
  const claim = drainingPool(() => new ResourceClaim(WHAT, spaceAmounts(plan, program)));
  let memory = kept?.memory;
  try {
    memory ??= new WebAssembly.Memory({ initial: pages, maximum: pages });
  } catch (error) {
    // Address space runs out with many live memories: `auto` then stays on the interpreter.
    claim.release();
    throw new WasmLimitError(
      `no WebAssembly memory of ${pages} pages: ${(error as Error).message}`,
    );
  }
  const space = new WasmSpace(plan, program, claim, memory);
  dropped.register(space, claim, space); // unregistered once its memory is kept
  plan.initialize(space.bytes);
  return space;
}

/** A retired program's memory, all zero, and its claim while it waits (pooled). */
interface KeptMemory {
  readonly memory: WebAssembly.Memory;
  readonly claim: ResourceClaim;
}

/** The pool's key for kept memories of `pages` pages (one object per size). */
const keys = new Map<number, object>();
function keyOf(pages: number): object {
  let key = keys.get(pages);
  if (key === undefined) keys.set(pages, key = { pages });
  return key;
}

/**
 * Keeps the memory of `space`, whose program is disposed, for the next space of that size
 * (reloading a program, or loading another, then spares the page faults of a fresh memory):
 * everything its instances, the host and its module can have written is zeroed first — the
 * state block and jump table, every region of the layout, the heap as far as it grew.
 */
function keepMemory(space: WasmSpace): void {
  const { plan, program, memory } = space;
  new Uint8Array(memory.buffer, 0, program.guestOffset).fill(0);
  for (const r of plan.regions) {
    space.bytes.fill(0, r.start - plan.base, Math.min(pageUp(r.end) - plan.base, plan.span));
  }
  space.bytes.fill(0, plan.heapStart - plan.base, space.heapTop - plan.base);
  // The claim goes with the memory: the space's finalizer must not release it while pooled.
  dropped.unregister(space);
  const kept: KeptMemory = { memory, claim: space.claim };
  const pages = memory.buffer.byteLength / WASM_PAGE;
  if (!poolMemory(keyOf(pages), "wasm", kept, () => kept.claim.release())) freeSpace(space);
}

/** A pooled space for `plan` running `program` that the limits still allow, if any. */
function pooledSpace(plan: MemoryPlan, program: WasmProgram): WasmSpace | undefined {
  const space = takePooled<WasmSpace>(plan, "wasm", (s) => s.program === program);
  if (space === undefined || withinLimits(spaceAmounts(plan, program))) return space;
  freeSpace(space); // the limits went down since it was pooled: make room as a new space would
  releasePooled();
  return undefined;
}

/**
 * A space for `plan` running `program`: a pooled one, or a new one
 * instantiated synchronously.
 * @throws {ResourceLimitError} when a resource limit would be exceeded.
 * @throws {WasmLimitError} when the engine refuses a memory of that size.
 * @throws {PreparationNeeded} when the host refuses to instantiate the module synchronously.
 */
export function wasmSpace(plan: MemoryPlan, program: WasmProgram): WasmSpace {
  const space = pooledSpace(plan, program);
  if (space !== undefined) return space;
  const fresh = newSpace(plan, program);
  try {
    fresh.instantiated(new WebAssembly.Instance(program.module, fresh.imports));
  } catch (error) {
    freeSpace(fresh);
    // A browser's main thread refuses modules over 8 MB: instantiating asynchronously works.
    throw error instanceof RangeError ? notSynchronously(error.message) : error;
  }
  return fresh;
}

/**
 * A space for `plan` running `program`, as {@linkcode wasmSpace} gives but
 * instantiated asynchronously (`WebAssembly.instantiate`).
 */
export async function preparedSpace(plan: MemoryPlan, program: WasmProgram): Promise<WasmSpace> {
  return pooledSpace(plan, program) ?? await instantiatedLater(newSpace(plan, program));
}

/** `space` once its module is instantiated asynchronously; freed if that fails. */
async function instantiatedLater(space: WasmSpace): Promise<WasmSpace> {
  try {
    space.instantiated(await WebAssembly.instantiate(space.program.module, space.imports));
    return space;
  } catch (error) {
    freeSpace(space);
    throw new WasmLimitError(`the module cannot be instantiated: ${(error as Error).message}`);
  }
}

/**
 * A space whose instance is done: restored and pooled for the plan's next
 * instance, its memory kept for another program's if the program is disposed
 * (then or while pooled), or freed (its heap large, or pooling off).
 */
function recycle(space: WasmSpace): void {
  const plan = space.plan;
  if (!pooling() || space.heapTop - plan.heapStart > POOLED_HEAP_BYTES) return freeSpace(space);
  if (plan.retired) return keepMemory(space);
  plan.restore(space.bytes, space.heapTop);
  space.words.fill(0); // registers and exit details of the last instance
  poolMemory(plan, "wasm", space, () => plan.retired ? keepMemory(space) : freeSpace(space));
}

/** What a collected instance's hold leaves to release. */
interface Held {
  readonly space: WasmSpace;
  readonly instance: ResourceClaim;
}

// Releases the holds of instances collected without dispose().
const holds = new FinalizationRegistry<Held>(({ space, instance }) => {
  instance.release();
  recycle(space);
});

/**
 * One rvbox instance's hold on a space, released once, by `release()` or
 * by its finalizer; the owner of the instance's memory bytes, so that a
 * `Memory` the host keeps keeps the space from going to another instance.
 */
export class WasmHold {
  readonly #held: Held;
  #live = true;

  /** Holds `space` for an instance counted by `instance`. */
  constructor(space: WasmSpace, instance: ResourceClaim) {
    this.#held = { space, instance };
    holds.register(this, this.#held, this);
  }

  /** Ends the hold: the space is pooled or freed (idempotent). */
  release(): void {
    if (!this.#live) return;
    this.#live = false;
    holds.unregister(this);
    this.#held.instance.release();
    recycle(this.#held.space);
  }
}

/** Counts one wasm instance (the space is counted apart). */
export function instanceClaim(): ResourceClaim {
  return new ResourceClaim(WHAT, { wasmInstances: 1 });
}
