/**
 * What an instance's memory looks like for one program and one set of memory
 * options (abi/README.md §3): the layout, the initial fast windows and the
 * initial contents. Computed once and shared by every instance made with
 * them, so that instantiating and resetting do no layout work.
 * @module
 */
import {
  ADDRESS_LIMIT,
  DEFAULT_HEAP_SIZE,
  DEFAULT_STACK_SIZE,
  MAX_MEMORY_SPAN,
  PAGE_SIZE,
} from "./constants.ts";
import type { LoadedSegment, ProgramImage } from "./load.ts";
import { releasePooled } from "./memory_pool.ts";

/** Per-instance memory limits. */
export interface MemoryOptions {
  /** Stack size in bytes, rounded up to a page. Default: 64 KiB. */
  stackSize?: number;
  /** Most bytes the heap may grow to through `rvbox_sbrk`. Default: 16 MiB. */
  heapSize?: number;
}

/** An accessible address range. */
export interface Region {
  /** First address. */
  start: number;
  /** One past the last address. */
  end: number;
  /** Writable (every region is readable). */
  write: boolean;
  /** What it is, for messages and `inspect`. */
  name: string;
}

const pageUp = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

function checkSize(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_MEMORY_SPAN) {
    throw new RangeError(`${name} must be an integer from 0 to ${MAX_MEMORY_SPAN}, got ${value}`);
  }
  return value;
}

/** Where the stack and heap go for `image` with `options` (§3). */
export function computeLayout(image: ProgramImage, options: MemoryOptions): {
  regions: Region[];
  heapStart: number;
  heapLimit: number;
  stackTop: number;
} {
  const stackSize = pageUp(checkSize("stackSize", options.stackSize ?? DEFAULT_STACK_SIZE));
  const heapSize = checkSize("heapSize", options.heapSize ?? DEFAULT_HEAP_SIZE);
  const segments = image.segments;
  const heapStart = segments[segments.length - 1].end;
  const heapLimit = heapStart + heapSize;
  const writable = segments.find((s) => s.write);
  const w = writable ? writable.start : heapStart;
  const below = w - stackSize;
  const fitsBelow = below >= PAGE_SIZE && segments.every((s) => s.end <= below || s.start >= w);
  const stackBottom = fitsBelow ? below : pageUp(heapLimit);
  const stackTop = stackBottom + stackSize;
  if (Math.max(stackTop, heapLimit) > ADDRESS_LIMIT) {
    throw new RangeError("stack and heap do not fit below the top of the address space");
  }
  const regions: Region[] = segments.map((s) => ({
    start: s.start,
    end: s.end,
    write: s.write,
    name: s.exec ? "code" : s.write ? "data" : "rodata",
  }));
  if (stackSize > 0) {
    regions.push({ start: stackBottom, end: stackTop, write: true, name: "stack" });
  }
  regions.sort((a, b) => a.start - b.start);
  return { regions, heapStart, heapLimit, stackTop };
}

/**
 * The fast windows over `all` (sorted, non-empty regions): the longest runs
 * of adjacent accessible (resp. writable) regions, preferring the run that
 * holds the heap. Returns `[readStart, readEnd, writeStart, writeEnd]`.
 */
export function fastWindows(all: readonly Region[], heapStart: number): number[] {
  const pick = (ok: (r: Region) => boolean): [number, number] => {
    let best: [number, number] = [0, 0];
    let bestHoldsHeap = false;
    let runStart = -1;
    let runEnd = -1;
    for (const r of all) {
      if (!ok(r)) {
        runStart = -1;
        continue;
      }
      if (runStart < 0 || r.start !== runEnd) runStart = r.start;
      runEnd = r.end;
      const holdsHeap = runStart <= heapStart && heapStart <= runEnd;
      if (holdsHeap || (!bestHoldsHeap && runEnd - runStart > best[1] - best[0])) {
        best = [runStart, runEnd];
        bestHoldsHeap = holdsHeap;
      }
    }
    return best;
  };
  return [...pick(() => true), ...pick((r) => r.write)];
}

/** Every accessible region with the heap `[heapStart, brk)`, sorted, empty ones left out. */
export function withHeap(regions: readonly Region[], heapStart: number, brk: number): Region[] {
  const heap = { start: heapStart, end: brk, write: true, name: "heap" };
  return [...regions, heap].filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
}

/** Clears `bytes[start..end)`. */
export type Zero = (bytes: Uint8Array, start: number, end: number) => void;

const fill: Zero = (bytes, start, end) => bytes.fill(0, start, end);

/** The layout and initial state of one program's memory with one set of options. */
export class MemoryPlan {
  /** The program it lays out. */
  readonly image: ProgramImage;
  /** Segments and stack (not the heap), sorted. */
  readonly regions: readonly Region[];
  /** First heap address (the break starts here). */
  readonly heapStart: number;
  /** Highest possible break. */
  readonly heapLimit: number;
  /** Initial stack pointer. */
  readonly stackTop: number;
  /** Lowest accessible address. */
  readonly base: number;
  /** Bytes from `base` to the highest address that can ever be accessible. */
  readonly span: number;
  /** Bytes from `base` to the end of what is accessible before the heap grows. */
  readonly used: number;
  /** Every accessible region while the heap is empty. */
  readonly initialRegions: readonly Region[];
  /** The initial fast windows: `[readStart, readEnd, writeStart, writeEnd]`. */
  readonly initialWindows: readonly number[];
  /** True once the program is disposed: its instances' memories are no longer pooled. */
  get retired(): boolean {
    return retired.has(this.image);
  }
  readonly #segments: readonly LoadedSegment[];
  /** Writable static memory as backing offsets `[start, end)`: zeroed, then `#writableData` copied in. */
  readonly #writable: readonly (readonly [number, number])[];
  readonly #writableData: readonly LoadedSegment[];

  /** Lays out memory for `image` with `options`. */
  constructor(image: ProgramImage, options: MemoryOptions) {
    const layout = computeLayout(image, options);
    this.image = image;
    this.regions = layout.regions;
    this.heapStart = layout.heapStart;
    this.heapLimit = layout.heapLimit;
    this.stackTop = layout.stackTop;
    const regions = layout.regions;
    this.base = regions[0].start;
    const staticTop = regions[regions.length - 1].end;
    const top = Math.max(layout.heapLimit, staticTop);
    if (top - this.base > MAX_MEMORY_SPAN) {
      throw new RangeError(
        `guest memory would span ${top - this.base} bytes, over ${MAX_MEMORY_SPAN}`,
      );
    }
    this.span = top - this.base;
    this.used = pageUp(Math.max(staticTop, layout.heapStart)) - this.base;
    this.initialRegions = withHeap(regions, this.heapStart, this.heapStart);
    this.initialWindows = fastWindows(this.initialRegions, this.heapStart);
    this.#segments = image.segments;
    this.#writable = regions.filter((r) => r.write).map((r) => [
      r.start - this.base,
      pageUp(r.end) - this.base,
    ]);
    this.#writableData = image.segments.filter((s) => s.write && s.data.length > 0);
  }

  /** Writes the initial contents into zero-filled backing bytes (guest `base` at index 0). */
  initialize(bytes: Uint8Array): void {
    for (const s of this.#segments) bytes.set(s.data, s.vaddr - this.base);
  }

  /**
   * Copies what may differ from the initial contents — writable static
   * memory and the heap below `heapEnd` — from `from` to `to` (both backing
   * bytes of this plan; `to` holds the initial contents).
   */
  copyWritable(from: Uint8Array, to: Uint8Array, heapEnd: number): void {
    for (const [start, end] of this.#writable) to.set(from.subarray(start, end), start);
    const heap = this.heapStart - this.base;
    if (heapEnd > this.heapStart) to.set(from.subarray(heap, heapEnd - this.base), heap);
  }

  /**
   * Gives used backing bytes their initial contents again: every writable
   * static byte and the heap below `heapEnd` (the highest break there has
   * been: nothing above it can have been written). Read-only memory needs
   * nothing: neither the guest nor the host can write it. `zero` clears a
   * range of `bytes` (the native tier skips pages never touched).
   */
  restore(bytes: Uint8Array, heapEnd: number, zero: Zero = fill): void {
    for (const [start, end] of this.#writable) zero(bytes, start, end);
    for (const s of this.#writableData) bytes.set(s.data, s.vaddr - this.base);
    if (heapEnd > this.heapStart) {
      zero(bytes, this.heapStart - this.base, Math.min(heapEnd - this.base, bytes.length));
    }
  }
}

/** Plans by program, then by options (a few per program: callers rarely vary them). */
const plans = new WeakMap<ProgramImage, Map<string, MemoryPlan>>();
const PLANS_PER_PROGRAM = 8;
const retired = new WeakSet<ProgramImage>();

/**
 * The shared plan for `image` with `options`.
 * @throws {RangeError} on invalid options or a layout that does not fit.
 */
export function memoryPlan(image: ProgramImage, options: MemoryOptions): MemoryPlan {
  // Validated first: a plan found by an invalid value's text (e.g. "4096") must not be used.
  const stackSize = checkSize("stackSize", options.stackSize ?? DEFAULT_STACK_SIZE);
  const heapSize = checkSize("heapSize", options.heapSize ?? DEFAULT_HEAP_SIZE);
  const key = `${stackSize}:${heapSize}`;
  let byOptions = plans.get(image);
  let plan = byOptions?.get(key);
  if (plan !== undefined) return plan;
  plan = new MemoryPlan(image, { stackSize, heapSize });
  if (byOptions === undefined) plans.set(image, byOptions = new Map());
  if (byOptions.size >= PLANS_PER_PROGRAM) byOptions.clear();
  byOptions.set(key, plan);
  return plan;
}

/**
 * `Program.dispose()`: the program's plans are retired and the memories
 * pooled for them released.
 */
export function retireMemoryPlans(image: ProgramImage): void {
  retired.add(image);
  plans.delete(image);
  releasePooled((plan) => (plan as MemoryPlan).image === image);
}
