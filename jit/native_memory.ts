/**
 * What a native instance holds outside the JavaScript heap, from the claims
 * against the resource limits to its address space and the shared code, and
 * its guest memory inside that space. Everything is released together, by
 * `dispose()` or, for an instance collected undisposed, by the space's
 * finalizer; the address space then goes to the memory pool
 * (abi/memory_pool.ts) restored to its initial contents, for the next
 * instance of the same program with the same memory options, which then
 * costs no system call.
 * @module
 */
import { PAGE_SIZE } from "../abi/constants.ts";
import type { ProgramImage } from "../abi/load.ts";
import { GuestMemory, type MemoryOptions, MemoryPlan, memoryPlan } from "../abi/memory.ts";
import type { Region, Zero } from "../abi/memory_plan.ts";
import { pooling, poolMemory, releasePooled, takePooled } from "../abi/memory_pool.ts";
import {
  drainingPool,
  refusedMapping,
  type ResourceAmounts,
  ResourceClaim,
} from "../abi/resources.ts";
import { withinLimits } from "../abi/resources.ts";
import { type CompiledProgram, compiledProgram } from "./_compiled.ts";
import { GuestAddressSpace, Reservation } from "./address_space.ts";
import { State, STATE_SIZE } from "./state.ts";

const pageUp = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
const WHAT = "a new native instance";

/**
 * Heap a space's last instance may have mapped and the space still be
 * pooled: a larger one would hold that much memory while idle (and take as
 * long to zero as it took to fill).
 */
const POOLED_HEAP_BYTES = 1 << 20;

/**
 * Runs of accessible pages up to this size are backed when they are mapped
 * (static regions, and the heap as it grows, as far as it can be pooled):
 * page faults are the dearest part of a fresh instance (~45 µs each on the
 * development VM, populating ~5 µs a page), and a restored pooled space
 * then clears them without faulting. Larger runs are backed lazily.
 */
const POPULATED_BYTES = 1 << 20;

/** Ranges up to this size are cleared outright; larger ones skip pages never touched (`mincore`). */
const CLEARED_BYTES = 64 << 10;

/** An address space laid out for one memory plan, with what it holds; pooled between instances. */
export class PlannedSpace {
  /** How far the heap is mapped read-write (pages stay mapped when the break goes down). */
  heapMapped: number;
  /** The state block as u32 words. */
  readonly words: Uint32Array;
  /** Its registers x0..x31. */
  readonly regs: Int32Array;
  /** Guest memory `[plan.base, plan.base + plan.span)`. */
  readonly bytes: Uint8Array;

  constructor(
    /** The layout its pages are mapped for. */
    readonly plan: MemoryPlan,
    /** Its reservation. */
    readonly reservation: Reservation,
    /** Its address space, accessible memory and mappings (not the instance count). */
    readonly claim: ResourceClaim,
  ) {
    this.heapMapped = plan.heapStart;
    const state = reservation.state();
    this.words = new Uint32Array(state);
    this.regs = new Int32Array(state, STATE_SIZE + State.REGS, 32);
    const { base, span } = plan;
    this.bytes = new Uint8Array(reservation.view(base, pageUp(base + span)), 0, span);
  }

  /**
   * Clears `bytes[start..end)` (the plan's `Zero`): small ranges are backed
   * (see `POPULATED_BYTES`) and cleared outright; larger ones only where
   * pages are resident, so that clearing never faults a page in.
   */
  readonly zero: Zero = (bytes, start, end) => {
    if (end - start <= CLEARED_BYTES) bytes.fill(0, start, end);
    else {this.reservation.zeroResident(
        bytes,
        this.plan.base,
        start + this.plan.base,
        end + this.plan.base,
      );}
  };

  /** Maps heap pages `[heapMapped, top)` read-write, backing them while the heap can be pooled. */
  mapHeap(top: number): void {
    const from = this.heapMapped;
    this.reservation.map(from, top, true);
    this.claim.commit(top - from);
    this.heapMapped = top;
    if (top - this.plan.heapStart <= POPULATED_BYTES) this.reservation.populate(from, top);
  }
}

/** An instance's native resources. */
export interface NativeResources {
  /** Its guest memory, inside `space` (and keeping it alive). */
  readonly memory: GuestMemory;
  /** Its hold on the address space. */
  readonly space: GuestAddressSpace;
  /** The program's shared code, attached until the space is released. */
  readonly program: CompiledProgram;
  /** The address space's layout and bookkeeping. */
  readonly planned: PlannedSpace;
}

/**
 * Kernel mappings an address space with these regions ends up with: the
 * state block, then per run of adjacent pages with one protection a mapping,
 * plus an inaccessible one before each run that does not touch the previous
 * one, and one after the last. The heap counts at its largest.
 */
export function mappingsFor(regions: readonly Region[], heapStart: number, heapLimit: number) {
  const spans = regions.map((r) => ({ start: r.start, end: pageUp(r.end), write: r.write }));
  if (heapLimit > heapStart) spans.push({ start: heapStart, end: pageUp(heapLimit), write: true });
  spans.sort((a, b) => a.start - b.start);
  let count = 2;
  let end = -1;
  let write = false;
  for (const s of spans) {
    if (s.start !== end) count += 2;
    else if (s.write !== write) count += 1;
    end = s.end;
    write = s.write;
  }
  return count;
}

const amounts = new WeakMap<MemoryPlan, ResourceAmounts>();

/** What an address space for `plan` holds, before its heap grows. */
function spaceAmounts(plan: MemoryPlan): ResourceAmounts {
  let counted = amounts.get(plan);
  if (counted === undefined) {
    let committed = STATE_SIZE;
    for (const r of plan.regions) committed += pageUp(r.end) - r.start;
    counted = {
      reserved: GuestAddressSpace.reservedBytes(STATE_SIZE),
      committed,
      mappings: mappingsFor(plan.regions, plan.heapStart, plan.heapLimit),
    };
    amounts.set(plan, counted);
  }
  return counted;
}

/** Runs of adjacent regions with one protection, as `[start, end)` page ranges. */
function runs(regions: readonly Region[], writable: (r: Region) => boolean): [number, number][] {
  const out: [number, number][] = [];
  for (const r of regions) {
    if (!writable(r)) continue;
    const last = out[out.length - 1];
    if (last !== undefined && last[1] === r.start) last[1] = pageUp(r.end);
    else out.push([r.start, pageUp(r.end)]);
  }
  return out;
}

/**
 * A new address space for `plan`: static regions mapped read-write while
 * the initial contents are written, then read-only ones made read-only.
 */
function freshSpace(plan: MemoryPlan): PlannedSpace {
  const claim = drainingPool(() => new ResourceClaim(WHAT, spaceAmounts(plan)));
  let reservation: Reservation | undefined;
  try {
    reservation = new Reservation(STATE_SIZE);
    reservation.populateState();
    for (const [start, end] of runs(plan.regions, () => true)) {
      reservation.map(start, end, true);
      if (end - start <= POPULATED_BYTES) reservation.populate(start, end);
    }
    const planned = new PlannedSpace(plan, reservation, claim);
    plan.initialize(planned.bytes);
    for (const [start, end] of runs(plan.regions, (r) => !r.write)) {
      reservation.map(start, end, false);
    }
    return planned;
  } catch (error) {
    reservation?.unmap();
    claim.release();
    throw refusedMapping(error, WHAT);
  }
}

function free(planned: PlannedSpace): void {
  planned.reservation.unmap();
  planned.claim.release();
}

/**
 * A space whose instance is done: restored and pooled for the plan's next
 * instance, or freed (its program disposed, its heap large, or pooling off).
 */
function recycle(planned: PlannedSpace): void {
  const plan = planned.plan;
  if (pooling() && !plan.retired && planned.heapMapped - plan.heapStart <= POOLED_HEAP_BYTES) {
    plan.restore(planned.bytes, planned.heapMapped, planned.zero);
    planned.words.fill(0); // registers and exit details of the last instance
    poolMemory(plan, "native", planned, () => free(planned));
  } else {
    free(planned);
  }
}

/** A pooled space for `plan` that the limits still allow (see `withinLimits`), if any. */
function pooledSpace(plan: MemoryPlan): PlannedSpace | undefined {
  const planned = takePooled<PlannedSpace>(plan, "native");
  if (planned === undefined || withinLimits(spaceAmounts(plan))) return planned;
  free(planned); // the limits went down since it was pooled: make room as a new space would
  releasePooled();
  return undefined;
}

/**
 * Creates an instance's native resources and its memory, in a pooled
 * address space when there is one for the same program and options.
 * @throws {ResourceLimitError} when a resource limit would be exceeded.
 * @throws {RangeError} on invalid memory options.
 */
export function nativeResources(
  image: ProgramImage,
  options: MemoryOptions,
  moving?: GuestMemory,
): NativeResources {
  const plan = memoryPlan(image, options); // invalid options throw here, before any claim
  const instance = new ResourceClaim(WHAT, { instances: 1 });
  let program: CompiledProgram;
  try {
    program = drainingPool(() => compiledProgram(image));
    program.attach();
  } catch (error) {
    instance.release();
    throw error;
  }
  const attached = program;
  let planned: PlannedSpace;
  try {
    planned = pooledSpace(plan) ?? freshSpace(plan);
  } catch (error) {
    attached.detach();
    instance.release();
    throw error;
  }
  const space = new GuestAddressSpace(planned.reservation, () => {
    instance.release();
    attached.detach();
    recycle(planned);
  });
  // The space as owner: a Memory kept by the host keeps the mapping it reads alive.
  const backing = { bytes: planned.bytes, owner: space, zero: planned.zero };
  if (moving === undefined) {
    return { memory: new GuestMemory(image, options, backing), space, program, planned };
  }
  try {
    const heapTop = pageUp(moving.heapEnd);
    if (heapTop > planned.heapMapped) planned.mapHeap(heapTop);
  } catch (error) {
    space.dispose();
    throw refusedMapping(error, WHAT);
  }
  moving.moveTo(backing);
  return { memory: moving, space, program, planned };
}
