/**
 * Instruction sequences the steps loop performs in one step (interpreter/
 * _step_fuse.ts, _step_flow.ts): word accesses through one base register,
 * an ADDI or ADD before a branch, JAL or JALR, a JALR's remembered target.
 * Every tier must give each instruction's exact effect, trap pc and gas.
 */
import { assertEquals, assertThrows } from "@std/assert";
import { Trap } from "../mod.ts";
import { assertEveryGasResumes, instantiate, li32 } from "./_fused.ts";
import { addressOf, CODE, DATA, ins, reg } from "./_guest.ts";
import { tierTest } from "./_tiers.ts";

const { a0, a1, a2, a5, s0, t0, t1, zero } = reg;

tierTest(
  "word runs through one base: a fault at a later access leaves the earlier ones done",
  (tier) => {
    // The stack ends at DATA; the data page after it is the last accessible one (no heap yet).
    const top = DATA + 0x1000;
    const stores = [
      ...li32(a0, top - 8),
      ...li32(a1, 0x11223344),
      ins.sw(a1, a0, 0),
      ins.sw(a1, a0, 4),
      ins.sw(a1, a0, 8),
      ins.ret(),
    ];
    const instance = instantiate({ code: stores }, tier);
    const trap = assertThrows(() => instance.run(), Trap);
    assertEquals([trap.kind, trap.pc, trap.address, trap.access], [
      "MemoryFault",
      addressOf(stores, 6),
      top,
      "write",
    ]);
    assertEquals([instance.memory.readU32(top - 8), instance.memory.readU32(top - 4)], [
      0x11223344,
      0x11223344,
    ]);
    const loads = [...li32(a0, top - 4), ins.lw(a1, a0, 0), ins.lw(a2, a0, 4), ins.ret()];
    const load = assertThrows(() => instantiate({ code: loads }, tier).run(), Trap);
    assertEquals([load.kind, load.pc, load.address, load.registers[a1]], [
      "MemoryFault",
      addressOf(loads, 3),
      top,
      0,
    ]);
  },
);

tierTest("word runs through an unaligned base store and load little-endian bytes", (tier) => {
  const code = [
    ...li32(a0, DATA + 2),
    ...li32(a1, 0x04030201),
    ...li32(a2, 0x08070605),
    ins.sw(a1, a0, 0),
    ins.sw(a2, a0, 4),
    ins.lw(a5, a0, 4),
    ins.lw(s0, a0, 0),
    ins.lbu(t0, a0, 3), // 4
    ins.lbu(t1, a0, 4), // 5
    ins.add(a0, a5, s0),
    ins.add(a0, a0, t0),
    ins.add(a0, a0, t1),
    ins.ret(),
  ];
  const instance = instantiate({ code }, tier);
  assertEquals(instance.run(), (0x04030201 + 0x08070605 + 4 + 5) | 0);
  assertEquals([...instance.memory.read(DATA, 12)], [0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0]);
});

tierTest(
  "a counted loop, calls and returns: exact results and gas, out of gas at each block",
  (tier) => {
    // f: a0 += 1; return through t1 (ADDI then JALR). Main: for (t0 = 3; t0 != 0; t0--) f(), f().
    const code = [
      ins.li(t0, 3), // 0
      ins.addi(a1, a1, 1), // 1: loop
      ins.jal(t1, 4 * (8 - 2)), // 2: call f
      ins.addi(a1, a1, 2), // 3
      ins.jal(t1, 4 * (8 - 4)), // 4: call f from another site
      ins.addi(t0, t0, -1), // 5
      ins.bne(t0, zero, 4 * (1 - 6)), // 6
      ins.jal(zero, 4 * (10 - 7)), // 7: to the end
      ins.addi(a0, a0, 1), // 8: f
      ins.jalr(zero, t1, 0), // 9
      ins.add(a0, a0, a1), // 10
      ins.ret(), // 11
    ];
    // Blocks: [0] 1, [1-2] 2, [3-4] 2, [5-6] 2, [7] 1, [8-9] 2, [10-11] 2; per iteration 10.
    const total = 1 + 3 * 10 + 1 + 2;
    assertEveryGasResumes(code, tier, total, 6 + 9);
  },
);

tierTest("a JALR into the middle of a block, again and again, charges the rest of it", (tier) => {
  const code = [
    ...li32(a2, CODE + 20), // 0-1: the address of 5
    ins.li(t0, 3), // 2
    ins.jal(zero, 4 * (7 - 3)), // 3
    ins.li(a0, 100), // 4: a block entered only at 5 (which costs 2)
    ins.addi(a0, a0, 1), // 5
    ins.jalr(zero, t1, 0), // 6
    ins.jalr(t1, a2, 0), // 7: loop
    ins.addi(t0, t0, -1), // 8
    ins.bne(t0, zero, 4 * (7 - 9)), // 9
    ins.ret(), // 10
  ];
  // Blocks: [0-3] 4, per iteration [7] 1 + [5-6] from 5 2 + [8-9] 2, then [10] 1.
  const total = 4 + 3 * 5 + 1;
  const full = instantiate({ code }, tier, 1000);
  assertEquals(full.run(), 3);
  assertEquals(full.gas, 1000 - total);
  for (const iteration of [0, 1, 2]) {
    const instance = instantiate({ code }, tier, 4 + 5 * iteration + 1 + 1);
    const trap = assertThrows(() => instance.run(), Trap);
    assertEquals([trap.kind, trap.pc, instance.gas], ["OutOfGas", CODE + 20, 1]);
    instance.gas = 2;
    assertThrows(() => instance.resume(), Trap); // out again at the loop's next block
    assertEquals(instance.gas, 0);
  }
  for (let gas = 0; gas < total; gas++) {
    const instance = instantiate({ code }, tier, gas);
    assertThrows(() => instance.run(), Trap);
    instance.gas += total - gas;
    assertEquals(instance.resume(), 3, `gas ${gas}`);
    assertEquals(instance.gas, 0, `gas ${gas}`);
  }
});
