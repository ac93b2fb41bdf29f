/**
 * The heap is `[heapStart, brk)` to the byte on every tier, even when it is
 * the whole write window and only 1-3 bytes long (issue 10, finding 2: the
 * native tier used to treat a window under 4 bytes as empty, and its exact
 * check knew no heap pages, so every store there faulted).
 */
import { assertEquals, assertThrows } from "@std/assert";
import { Program, Trap } from "../mod.ts";
import { addressOf, buildGuest, CODE, format, type GuestSpec, ins, reg, RODATA } from "./_guest.ts";
import { tierTest } from "./_tiers.ts";

const { a0, a1 } = reg;
const PT_NOTE = 4;
const LOAD = 0x03;

/** Loads and stores of each width, `a0` = address, `a1` = value; `sbrk(increment)`. */
const ACCESSES = {
  sb: format.s(0, a1, a0, 0),
  sh: format.s(0, a1, a0, 1),
  sw: format.s(0, a1, a0, 2),
  lbu: format.i(0, a0, 4, a0, LOAD),
  lhu: format.i(0, a0, 5, a0, LOAD),
  lw: format.i(0, a0, 2, a0, LOAD),
};
const spec: GuestSpec = {
  code: [ins.ecall(), ins.ret(), ...Object.values(ACCESSES).flatMap((op) => [op, ins.ret()])],
  imports: [{ at: 0, name: "rvbox_sbrk" }],
  exports: [
    { at: 0, name: "sbrk" },
    ...Object.keys(ACCESSES).map((name, k) => ({ at: 2 + 2 * k, name })),
  ],
};

/**
 * The guest with only its first `keep` segments (the others become
 * PT_NOTE, which loading ignores): 1 = code only, 2 = read-only data last.
 * Either way no writable segment lies next to the heap.
 */
function withSegments(keep: number): Program {
  const bytes = buildGuest(spec);
  const view = new DataView(bytes.buffer);
  for (let k = keep; k < 3; k++) view.setUint32(52 + 32 * k, PT_NOTE, true);
  return Program.fromBytes(bytes);
}

const WIDTHS = [[1, "sb", "lbu"], [2, "sh", "lhu"], [4, "sw", "lw"]] as const;

for (const [keep, layout, heapStart] of [[1, "code only", RODATA], [2, "rodata last", 0x12000]]) {
  tierTest(`a heap of 1-3 bytes is exact to the byte (${layout})`, (tier) => {
    const program = withSegments(keep as number);
    for (let size = 1; size <= 3; size++) {
      const instance = program.instantiate({}, { tier, heapSize: 8192 });
      const call = (name: string, ...args: number[]) => instance.exports[name](...args);
      assertEquals(call("sbrk", size), heapStart);
      for (const [width, store, load] of WIDTHS) {
        for (let offset = 0; offset < 4; offset++) {
          const address = (heapStart as number) + offset;
          const value = 0x5a6b7c8d >>> (8 * (4 - width));
          const where = `${store}/${load} at heap+${offset}, heap of ${size}`;
          if (offset + width <= size) {
            call(store, address, value);
            assertEquals(call(load, address), value, where);
            continue;
          }
          for (const [name, access] of [[store, "write"], [load, "read"]] as const) {
            const trap = assertThrows(() => call(name, address, value), Trap, undefined, where);
            const pc = addressOf(spec.code, 2 + 2 * Object.keys(ACCESSES).indexOf(name));
            assertEquals([trap.kind, trap.pc, trap.address, trap.access], [
              "MemoryFault",
              pc,
              address,
              access,
            ], where);
          }
        }
      }
      // Shrinking takes the last byte away again; growing to a page boundary gives the whole page.
      call("sb", (heapStart as number) + size - 1, 7);
      call("sbrk", -1);
      assertThrows(() => call("sb", (heapStart as number) + size - 1, 7), Trap);
      call("sbrk", 4096 - size + 1);
      call("sw", (heapStart as number) + 4092, 1);
      assertEquals(call("lbu", (heapStart as number) + 4095), 0);
      assertThrows(() => call("sh", (heapStart as number) + 4095, 1), Trap);
    }
  });
}

tierTest("code address space: the heap starts on the page after the last segment", (tier) => {
  const instance = withSegments(1).instantiate({}, { tier });
  assertEquals(instance.memory.brk, RODATA);
  assertEquals(instance.exports.sbrk(0), RODATA);
  assertThrows(() => instance.exports.lbu(CODE + 0x1000), Trap); // nothing there yet
});
