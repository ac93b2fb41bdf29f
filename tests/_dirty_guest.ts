/**
 * A guest that writes into every kind of writable memory, for the tests of
 * `instance.reset()` and of pooled memories: whatever one use writes must
 * be gone for the next.
 */
import { type Instance, Program } from "../mod.ts";
import { buildGuest, DATA, ins, reg } from "./_guest.ts";

const { a0, a1, t0, t1, sp, zero } = reg;

/** The data segment's initial bytes (the rest of its page is bss: zero). */
export const DATA_BYTES = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
/** A bss word (in the data page, past the file bytes). */
export const BSS = DATA + 100;
/** The stack: 64 KiB below the data. */
export const STACK_BOTTOM = DATA - 0x10000;
/** The heap starts after the data page. */
export const HEAP = DATA + 0x1000;

/**
 * Exports: `dirty(v)` stores `v` in the data, the bss, the top and the
 * bottom of the stack; `load(a)` and `store(a, v)` access a word; `sbrk(n)`
 * moves the break; `spin()` loops until it runs out of gas. `padding`
 * unreachable instructions after them make a program of other code with the
 * same layout.
 */
export function dirtyProgram(padding = 0): Program {
  return Program.fromBytes(buildGuest({
    code: [
      ins.lui(t0, DATA >>> 12), // 0: dirty
      ins.sw(a0, t0, 0),
      ins.sw(a0, t0, BSS - DATA),
      ins.sw(a0, sp, -4),
      ins.lui(t1, STACK_BOTTOM >>> 12),
      ins.sw(a0, t1, 0),
      ins.li(a0, 0),
      ins.ret(),
      ins.lw(a0, a0, 0), // 8: load
      ins.ret(),
      ins.sw(a1, a0, 0), // 10: store
      ins.ret(),
      ins.ecall(), // 12: sbrk
      ins.ret(),
      ins.jal(zero, 0), // 14: spin
      ...Array.from({ length: padding }, (_, k) => ins.li(a0, k)),
    ],
    imports: [{ at: 12, name: "rvbox_sbrk" }],
    exports: [
      { at: 0, name: "dirty" },
      { at: 8, name: "load" },
      { at: 10, name: "store" },
      { at: 12, name: "sbrk" },
      { at: 14, name: "spin" },
    ],
    data: DATA_BYTES,
  }));
}

/** The first data word as the guest sees it initially. */
export const DATA_WORD = new DataView(DATA_BYTES.buffer).getUint32(0, true);

/** Writes `v` everywhere: the guest's own stores, a grown heap (then shrunk again), the host's writes. */
export function dirtyEverything(instance: Instance, v: number): void {
  const { dirty, store, sbrk } = instance.exports;
  dirty(v);
  instance.memory.writeU32(DATA + 8, v);
  sbrk(2 * 4096 + 8); // the heap grows over two pages and a bit
  store(HEAP, v);
  store(HEAP + 4096 + 4, v);
  instance.memory.writeU32(HEAP + 8, v);
  sbrk(-4096); // and shrinks, keeping what it held
}

/**
 * What the guest and the host read where `dirtyEverything` wrote: the heap
 * is grown again to read it, and shrunk back after.
 */
export function readEverything(instance: Instance): number[] {
  const { load, sbrk } = instance.exports;
  const words = [DATA, DATA + 8, BSS, DATA - 4, STACK_BOTTOM].map((a) => load(a) >>> 0);
  const host = [DATA, BSS].map((a) => instance.memory.readU32(a));
  const grown = sbrk(2 * 4096 + 8);
  const heap = [HEAP, HEAP + 8, HEAP + 4096 + 4].map((a) => load(a) >>> 0);
  sbrk(-(2 * 4096 + 8));
  return [...words, ...host, grown, ...heap];
}

/** What `readEverything` reads from an instance nothing has written. */
export const PRISTINE: readonly number[] = [
  DATA_WORD,
  new DataView(DATA_BYTES.buffer).getUint32(8, true),
  0,
  0,
  0,
  DATA_WORD,
  0,
  HEAP,
  0,
  0,
  0,
];
