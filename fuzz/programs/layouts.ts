/**
 * Memory layouts for generated programs: where the code goes, which other
 * segments sit where with which permissions, and the instance's stack and
 * heap sizes. Each layout stresses a different path of the tiers' access
 * checks (one window, several windows, a page table far apart, high
 * addresses, tiny heaps, unusual permissions).
 * @module
 */
import type { SegmentSpec } from "../../tests/_guest.ts";
import type { LayoutOptions } from "../model.ts";
import type { Random } from "../random.ts";

/** Where a program's pieces go. The code itself always fits in its first page. */
export interface Layout {
  name: string;
  codeAt: number;
  /** `p_flags` of the code segment (5 = r-x, 1 = --x). */
  codeFlags: number;
  /** Code segment memory size beyond its bytes: a zero-filled tail (0 = none). */
  tail: number;
  /** The other segments (data bytes are filled in by the generator). */
  segments: SegmentSpec[];
  /** A second, far code segment's address (sparse code), or 0. */
  farCode: number;
  options: LayoutOptions;
}

export const LAYOUT_NAMES = [
  "sdk",
  "code-only",
  "rodata-last",
  "sparse",
  "adjacent",
  "high",
  "permissions",
] as const;

const PAGE = 0x1000;
const R = 4, W = 2, X = 1;

function dataSegment(rnd: Random, vaddr: number, flags: number): SegmentSpec {
  const size = rnd.pick([16, 0x100, 0x801, 0x1000, 0x1ffc]);
  const bss = rnd.pick([0, 0, 0, 1, 0x1000, 0x2fff]);
  return { vaddr, bytes: new Uint8Array(size), memsz: size + bss, flags };
}

/** A tail: usually none, sometimes a few pages, rarely past 2^22 instructions. */
function chooseTail(rnd: Random): number {
  const roll = rnd.int(100);
  if (roll < 75) return 0;
  if (roll < 98) return rnd.pick([1, 2, 0x800, PAGE, 3 * PAGE - 2]);
  return (8 << 20) + 0x10000 + rnd.int(64) * PAGE;
}

function chooseOptions(rnd: Random, tinyHeap: boolean): LayoutOptions {
  // The default (16 MiB) seldom: with the stack above the heap, the interpreter allocates
  // and zeroes the whole heap range at instantiation, the bulk of a case's time.
  const heaps = tinyHeap
    ? [1, 2, 3, 1, 2, 3, 0, 4095, PAGE, 0x10000]
    : [undefined, 0, 1, 3, 4095, PAGE, 0x10001, 0x10001, 0x40000, 1 << 20];
  const stacks = [undefined, undefined, undefined, 0, 1, PAGE, 0x2000, 0x20000];
  return { heapSize: rnd.pick(heaps), stackSize: rnd.pick(stacks) };
}

/** A random layout of kind `name` (random by default). */
export function chooseLayout(rnd: Random, name = rnd.pick(LAYOUT_NAMES)): Layout {
  const base = { name, codeAt: 0x10000, codeFlags: R | X, tail: chooseTail(rnd), farCode: 0 };
  const pages = (n: number) => rnd.int(n) * PAGE;
  const codeEnd = (at: number) => at + PAGE + Math.ceil(base.tail / PAGE) * PAGE;
  switch (name) {
    case "sdk": {
      const rodata = codeEnd(base.codeAt);
      return {
        ...base,
        segments: [dataSegment(rnd, rodata, R), dataSegment(rnd, rodata + 0x11000, R | W)],
        options: chooseOptions(rnd, false),
      };
    }
    case "code-only": {
      const codeAt = 0x10000 + pages(0x400);
      return { ...base, codeAt, segments: [], options: chooseOptions(rnd, true) };
    }
    case "rodata-last": {
      const data = codeEnd(base.codeAt) + pages(16);
      const rodata = data + 0x10000 + pages(64);
      return {
        ...base,
        segments: [dataSegment(rnd, data, R | W), dataSegment(rnd, rodata, R)],
        options: chooseOptions(rnd, rnd.chance(0.3)),
      };
    }
    case "sparse": {
      // Mostly megabytes apart; sometimes across most of the 64 MiB image limit (the
      // interpreter then holds, and zeroes, that whole span: slower cases).
      const far = rnd.chance(0.1);
      const farCode = rnd.chance(0.3) ? (far ? 0x01000000 : 0x00200000) + pages(0x100) : 0;
      return {
        ...base,
        tail: 0,
        farCode,
        segments: [
          dataSegment(rnd, 0x00400000 + pages(0x100), R),
          dataSegment(rnd, (far ? 0x03000000 : 0x00800000) + pages(0x400), R | W),
        ],
        options: chooseOptions(rnd, false),
      };
    }
    case "adjacent": {
      const rodata = codeEnd(base.codeAt);
      return {
        ...base,
        segments: [
          { vaddr: rodata, bytes: new Uint8Array(PAGE), flags: R },
          dataSegment(rnd, rodata + PAGE, R | W),
        ],
        options: chooseOptions(rnd, rnd.chance(0.5)),
      };
    }
    case "high": {
      const codeAt = 0xffe00000 + pages(16);
      return {
        ...base,
        codeAt,
        tail: 0,
        segments: [dataSegment(rnd, 0xffe40000 + pages(16), R | W)],
        options: { ...chooseOptions(rnd, true), heapSize: rnd.pick([0, 3, PAGE, 0x10000]) },
      };
    }
    default: { // "permissions": execute-only code, data without read or without any permission
      const rodata = codeEnd(base.codeAt);
      return {
        ...base,
        codeFlags: rnd.pick([X, R | X]),
        segments: [
          dataSegment(rnd, rodata, rnd.pick([0, R, W, X])),
          dataSegment(rnd, rodata + 0x11000, rnd.pick([W, R | W, 0])),
        ],
        options: chooseOptions(rnd, false),
      };
    }
  }
}
