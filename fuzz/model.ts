/**
 * An independent model of the memory map (abi/README.md §3), written from the
 * contract rather than from abi/memory.ts: which bytes a program may read or
 * write, where the stack and heap go. The campaigns check every tier's probes
 * and the host memory helpers against it, so a bug all tiers share (they
 * share the layout code) still shows.
 * @module
 */
import { ADDRESS_LIMIT, MAX_MEMORY_SPAN, PAGE_SIZE } from "../abi/constants.ts";

/** A `PT_LOAD` segment as the ELF file states it. */
export interface ModelSegment {
  vaddr: number;
  memsz: number;
  /** PF_X = 1, PF_W = 2, PF_R = 4. */
  flags: number;
}

/** An accessible range with its permissions. */
export interface ModelRegion {
  start: number;
  end: number;
  read: boolean;
  write: boolean;
  name: string;
}

/** The static map of one instance: segments and stack, and the heap's bounds. */
export interface MemoryModel {
  regions: ModelRegion[];
  heapStart: number;
  heapLimit: number;
  stackTop: number;
}

/** Instance options that shape memory. */
export interface LayoutOptions {
  stackSize?: number;
  heapSize?: number;
}

const pageDown = (n: number) => n - (n % PAGE_SIZE);
const pageUp = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

/**
 * Lays out memory for `segments` (the file's non-empty PT_LOAD segments) with
 * `options`, or returns undefined when instantiation must fail (stack and
 * heap above the address limit, or a span over 1 GiB). Options are assumed
 * valid (non-negative integers up to 1 GiB).
 */
export function modelLayout(
  segments: readonly ModelSegment[],
  options: LayoutOptions,
): MemoryModel | undefined {
  const regions: ModelRegion[] = segments.map((s) => ({
    start: pageDown(s.vaddr),
    end: pageUp(s.vaddr + s.memsz),
    read: (s.flags & 5) !== 0,
    write: (s.flags & 2) !== 0,
    name: s.flags & 1 ? "code" : s.flags & 2 ? "data" : "rodata",
  })).sort((a, b) => a.start - b.start);
  const heapStart = Math.max(...regions.map((r) => r.end));
  const heapLimit = heapStart + (options.heapSize ?? 16 << 20);
  const stackSize = pageUp(options.stackSize ?? 64 << 10);
  const lowestWritable = regions.find((r) => r.write);
  const w = lowestWritable ? lowestWritable.start : heapStart;
  const below = w - stackSize;
  const free = regions.every((r) => r.end <= below || r.start >= w);
  const stackBottom = below >= PAGE_SIZE && free ? below : pageUp(heapLimit);
  const stackTop = stackBottom + stackSize;
  if (stackTop > ADDRESS_LIMIT || heapLimit > ADDRESS_LIMIT) return undefined;
  const low = Math.min(...regions.map((r) => r.start), stackSize ? stackBottom : Infinity);
  if (Math.max(stackTop, heapLimit, heapStart) - low > MAX_MEMORY_SPAN) return undefined;
  if (stackSize > 0) {
    regions.push({ start: stackBottom, end: stackTop, read: true, write: true, name: "stack" });
    regions.sort((a, b) => a.start - b.start);
  }
  return { regions, heapStart, heapLimit, stackTop };
}

/** The regions with the heap `[heapStart, brk)` added. */
export function withHeap(model: MemoryModel, brk: number): ModelRegion[] {
  const heap = { start: model.heapStart, end: brk, read: true, write: true, name: "heap" };
  return [...model.regions, heap].filter((r) => r.end > r.start);
}

/** What an access needs: loads read, stores write, AMOs and SC both. */
export type Access = "read" | "write" | "amo";

/** Whether every byte of `[address, address + length)` allows `access`. */
export function allows(
  regions: readonly ModelRegion[],
  address: number,
  length: number,
  access: Access,
): boolean {
  if (!Number.isInteger(address) || !Number.isInteger(length) || length < 0) return false;
  if (address < 0 || address + length > 2 ** 32) return false;
  for (let a = address; a < address + length;) {
    const r = regions.find((r) => r.start <= a && a < r.end);
    if (!r) return false;
    if (access !== "write" && !r.read) return false;
    if (access !== "read" && !r.write) return false;
    a = r.end;
  }
  return true;
}

/** Addresses at and around every region's edges, where checks go wrong. */
export function edgeAddresses(regions: readonly ModelRegion[]): number[] {
  const out = new Set<number>();
  for (const r of regions) {
    for (const edge of [r.start, r.end]) {
      for (let d = -4; d <= 3; d++) out.add((edge + d) >>> 0);
    }
  }
  return [...out];
}

/** The non-empty PT_LOAD segments of an ELF file that loaded (its headers are valid). */
export function loadSegmentsOf(bytes: Uint8Array): ModelSegment[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const phoff = view.getUint32(28, true);
  const segments: ModelSegment[] = [];
  for (let i = 0; i < view.getUint16(44, true); i++) {
    const at = phoff + 32 * i;
    if (view.getUint32(at, true) !== 1) continue;
    const memsz = view.getUint32(at + 20, true);
    if (memsz === 0) continue;
    const flags = view.getUint32(at + 24, true) & 7;
    segments.push({ vaddr: view.getUint32(at + 8, true), memsz, flags });
  }
  return segments;
}
