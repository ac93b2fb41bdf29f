/** Gas exactness (abi/README.md §4): per-block charging, OutOfGas points, refuel and resume. */
import { assertEquals, assertThrows } from "@std/assert";
import { Program, type Tier, Trap } from "../mod.ts";
import { buildGuest, CODE, type GuestSpec, ins, reg } from "./_guest.ts";
import { tierTest } from "./_tiers.ts";

const { a0, a1, a2, t0, t1, zero } = reg;

function instantiate(spec: GuestSpec, tier: Tier, gas: number) {
  return Program.fromBytes(buildGuest(spec)).instantiate({}, { tier, gas });
}

/** `t0 = 10; do { t0-- } while (t0 != 0); return` — blocks [0], [1, 2], [3]. */
const loop: GuestSpec = {
  code: [ins.li(t0, 10), ins.addi(t0, t0, -1), ins.bne(t0, zero, -4), ins.ret()],
};

tierTest("gas: one unit per instruction, the same every run", (tier) => {
  const code = [ins.li(a0, 1), ins.li(a1, 2), ins.add(a0, a0, a1), ins.ret()];
  for (let run = 0; run < 2; run++) {
    const instance = instantiate({ code }, tier, 100);
    assertEquals(instance.run(), 3);
    assertEquals(instance.gas, 96);
  }
  const instance = instantiate(loop, tier, 1000);
  instance.run();
  assertEquals(instance.gas, 1000 - (1 + 10 * 2 + 1));
});

tierTest("gas: OutOfGas before the block that cannot be paid, then refuel and resume", (tier) => {
  const instance = instantiate(loop, tier, 21);
  const trap = assertThrows(() => instance.run(), Trap);
  assertEquals([trap.kind, trap.pc, trap.registers[t0]], ["OutOfGas", CODE + 12, 0]);
  assertEquals(instance.gas, 0);
  instance.gas = 5;
  assertEquals(instance.resume(), 0);
  assertEquals(instance.gas, 4);

  // Mid-loop: the two-instruction block is charged whole or not at all.
  const partial = instantiate(loop, tier, 6);
  const early = assertThrows(() => partial.run(), Trap);
  assertEquals([early.pc, early.registers[t0], partial.gas], [CODE + 4, 10 - 2, 1]);
  // Resuming with 1 unit left cannot pay the 2-unit block: the same trap again.
  assertEquals(assertThrows(() => partial.resume(), Trap).pc, CODE + 4);
  assertEquals(partial.gas, 1);
  partial.gas = 100;
  partial.resume();
  assertEquals(partial.gas, 100 - (8 * 2 + 1));
});

tierTest("gas: zero gas traps at the entry before anything runs", (tier) => {
  const instance = instantiate(loop, tier, 0);
  const trap = assertThrows(() => instance.run(), Trap);
  assertEquals([trap.kind, trap.pc, trap.registers[t0]], ["OutOfGas", CODE, 0]);
});

tierTest("gas: an indirect jump into a block charges from the target to the block end", (tier) => {
  // [0-2] lui/addi/jalr to index 4; leader 3 starts block [3-6]; entering at 4 costs 3.
  const code = [
    ins.lui(t1, 0x10),
    ins.addi(t1, t1, 16),
    ins.jalr(zero, t1, 0),
    ins.li(a0, 99),
    ins.li(a0, 7),
    ins.li(a1, 8),
    ins.ret(),
  ];
  const full = instantiate({ code }, tier, 100);
  assertEquals(full.run(), 7);
  assertEquals(full.gas, 100 - 6);
  const short = instantiate({ code }, tier, 5);
  const trap = assertThrows(() => short.run(), Trap);
  assertEquals([trap.kind, trap.pc, short.gas], ["OutOfGas", CODE + 16, 2]);
  short.gas = 3;
  assertEquals(short.resume(), 7);
  assertEquals(short.gas, 0);
});

tierTest("gas: a trap inside a block does not refund the rest of it", (tier) => {
  const code = [ins.li(a0, 1), ins.lw(a1, zero, 0), ins.li(a2, 3), ins.ret()];
  const instance = instantiate({ code }, tier, 10);
  assertEquals(assertThrows(() => instance.run(), Trap).kind, "MemoryFault");
  assertEquals(instance.gas, 6);
});

tierTest("gas: an infinite loop ends in OutOfGas; host functions can charge gas", (tier) => {
  const spin = instantiate({ code: [ins.jal(zero, 0)] }, tier, 1_000_000);
  assertEquals(assertThrows(() => spin.run(), Trap).kind, "OutOfGas");
  assertEquals(spin.gas, 0);

  const code = [ins.ecall(), ins.ret()];
  const program = Program.fromBytes(buildGuest({ code, imports: [{ at: 0, name: "charge" }] }));
  const instance = program.instantiate({ charge: (ctx) => void (ctx.gas -= 50) }, {
    tier,
    gas: 100,
  });
  instance.run();
  assertEquals(instance.gas, 100 - 1 - 50 - 1);
});
