/**
 * A program whose deferred fix-ups outgrow the translator's initial lists
 * (500 memory accesses, 250 blocks and forward jumps), ending in a fault
 * whose pc and state must match the interpreter's exactly.
 */
import { assertEquals, assertThrows } from "@std/assert";
import { IntList } from "../jit/_int_list.ts";
import { Program, Trap } from "../mod.ts";
import { addressOf, buildGuest, DATA, type GuestSpec, ins, reg } from "./_guest.ts";
import { tierTest } from "./_tiers.ts";

const { a0, a1, a2, t1, zero } = reg;
const ROUNDS = 250; // 1,000 instructions: as many as fit the builder's 4 KiB code page

/** a0 += data[0] and data[1] = a0, ROUNDS times, each round its own block; then a load from 0. */
function bigGuest(): GuestSpec {
  const code = [ins.lui(a1, DATA >>> 12), ins.li(a0, 0)];
  for (let k = 0; k < ROUNDS; k++) {
    // The branch jumps forward over the next round's first instruction and back into it.
    code.push(ins.lw(a2, a1, 0), ins.add(a0, a0, a2), ins.sw(a0, a1, 4), ins.beq(zero, zero, 4));
  }
  code.push(ins.lw(t1, zero, 0));
  return { code, data: Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0) };
}

tierTest(
  "large program: hundreds of blocks, 500 accesses, the fault at the end is exact",
  (tier) => {
    const spec = bigGuest();
    const elf = buildGuest(spec);
    const run = (t: typeof tier) => {
      const instance = Program.fromBytes(elf).instantiate({}, { tier: t, gas: 1e6 });
      const trap = assertThrows(() => instance.run(), Trap);
      return { trap, gas: instance.gas, stored: instance.memory.readU32(DATA + 4) };
    };
    const { trap, gas, stored } = run(tier);
    assertEquals([trap.kind, trap.pc, trap.address], [
      "MemoryFault",
      addressOf(spec.code, spec.code.length - 1),
      0,
    ]);
    assertEquals([trap.registers[a0], stored], [3 * ROUNDS, 3 * ROUNDS]);
    const reference = run("interpreter");
    assertEquals([gas, trap.registers], [reference.gas, reference.trap.registers]);
  },
);

Deno.test("IntList: grows past its capacity, keeps the low 32 bits, clears", () => {
  const list = new IntList(4);
  for (let k = 0; k < 100; k++) list.push(k * 7);
  list.push(0xfffffffc);
  assertEquals(list.length, 101);
  assertEquals([list.get(0), list.get(99), list.get(100) >>> 0], [0, 693, 0xfffffffc]);
  list.clear();
  assertEquals(list.length, 0);
  list.push(5);
  assertEquals([list.length, list.get(0)], [1, 5]);
});
