/**
 * What a native instance holds outside the JavaScript heap, from the claim
 * against the resource limits to its address space and the shared code, and
 * its guest memory inside that space. Everything is released together, by
 * `dispose()` or, for an instance collected undisposed, by the space's
 * finalizer.
 * @module
 */
import { PAGE_SIZE } from "../abi/constants.ts";
import type { ProgramImage } from "../abi/load.ts";
import { computeLayout, GuestMemory, type MemoryOptions, type Region } from "../abi/memory.ts";
import { type CompiledProgram, compiledProgram } from "./_compiled.ts";
import { GuestAddressSpace } from "./address_space.ts";
import { refusedMapping, type ResourceAmounts, ResourceClaim } from "./resources.ts";
import { STATE_SIZE } from "./state.ts";

const pageUp = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

/** An instance's native resources. */
export interface NativeResources {
  /** Its guest memory, inside `space` (and keeping it alive). */
  readonly memory: GuestMemory;
  /** Its reserved address space. */
  readonly space: GuestAddressSpace;
  /** The program's shared code, attached until the space is released. */
  readonly program: CompiledProgram;
  /** Its share of the resource limits, released with the space. */
  readonly claim: ResourceClaim;
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

type Layout = ReturnType<typeof computeLayout>;

function instanceAmounts({ regions, heapStart, heapLimit }: Layout): ResourceAmounts {
  let committed = STATE_SIZE;
  for (const r of regions) committed += pageUp(r.end) - r.start;
  return {
    instances: 1,
    reserved: GuestAddressSpace.reservedBytes(STATE_SIZE),
    committed,
    mappings: mappingsFor(regions, heapStart, heapLimit),
  };
}

/**
 * Claims the resources of a new instance, attaches the program's code
 * (translating it on first use) and reserves the address space.
 * @throws {ResourceLimitError} when a resource limit would be exceeded.
 */
function reserve(image: ProgramImage, layout: Layout) {
  const what = "a new native instance";
  const claim = new ResourceClaim(what, instanceAmounts(layout));
  let program: CompiledProgram | undefined;
  try {
    program = compiledProgram(image);
    program.attach();
  } catch (error) {
    claim.release();
    throw error;
  }
  const attached = program;
  try {
    const space = new GuestAddressSpace(STATE_SIZE, () => {
      claim.release();
      attached.detach();
    });
    return { space, program, claim };
  } catch (error) {
    claim.release();
    attached.detach();
    throw refusedMapping(error, what);
  }
}

/**
 * Creates an instance's native resources and its memory: static regions are
 * mapped read-write while the loader fills them, then read-only ones are
 * made read-only. Heap pages are mapped as the break grows.
 * @throws {ResourceLimitError} when a resource limit would be exceeded.
 */
export function nativeResources(image: ProgramImage, options: MemoryOptions): NativeResources {
  const layout = computeLayout(image, options); // invalid options throw here, before any claim
  const { space, program, claim } = reserve(image, layout);
  try {
    const { regions } = layout;
    for (const r of regions) space.map(r.start, pageUp(r.end), true);
    const memory = new GuestMemory(
      image,
      options,
      (base, length) => new Uint8Array(space.view(base, pageUp(base + length)), 0, length),
      space, // a Memory kept by the host keeps the mapping it reads alive
    );
    for (const r of regions) if (!r.write) space.map(r.start, pageUp(r.end), false);
    return { memory, space, program, claim };
  } catch (error) {
    space.dispose();
    throw refusedMapping(error, "a new native instance");
  }
}
