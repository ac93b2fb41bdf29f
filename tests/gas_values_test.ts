/**
 * Gas is a non-negative safe integer however it is set (issue 10, finding
 * 7): a host function setting `ctx.gas` to 1e19 used to pass, and the
 * native tier, which holds gas as a 64-bit word, then trapped at once with
 * `instance.gas` reading -8.4e18 while the interpreter ran on.
 */
import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { Program, Trap } from "../mod.ts";
import { buildGuest, ins, reg } from "./_guest.ts";
import { tierTest } from "./_tiers.ts";

const { a0 } = reg;
const BAD = [1e19, 2 ** 53, -1, 1.5, NaN, Infinity, -Infinity];
const MAX = Number.MAX_SAFE_INTEGER;

/** `setGas(); ret`: the host sets gas to whatever the test chose. */
const program = Program.fromBytes(buildGuest({
  code: [ins.ecall(), ins.ret()],
  imports: [{ at: 0, name: "setGas" }],
}));

tierTest("ctx.gas: anything but a non-negative safe integer is a HostError", (tier) => {
  for (const value of BAD) {
    const instance = program.instantiate({ setGas: (ctx) => void (ctx.gas = value) }, {
      tier,
      gas: 100,
    });
    const trap = assertThrows(() => instance.run(), Trap);
    assertEquals(trap.kind, "HostError", `ctx.gas = ${value}`);
    assertInstanceOf(trap.cause, RangeError);
    assertEquals(instance.gas, 99, `gas is untouched after ctx.gas = ${value}`);
  }
});

tierTest("ctx.gas: the largest safe integer is held exactly", (tier) => {
  const instance = program.instantiate({ setGas: (ctx) => void (ctx.gas = MAX) }, {
    tier,
    gas: 100,
  });
  assertEquals(instance.run(), 0);
  assertEquals(instance.gas, MAX - 1);
});

tierTest(
  "the gas option and instance.gas take the same values; resume after refuelling",
  (tier) => {
    for (const gas of BAD) {
      assertThrows(() => program.instantiate({ setGas: () => {} }, { tier, gas }), RangeError);
    }
    const two = Program.fromBytes(buildGuest({ code: [ins.li(a0, 7), ins.ret()] }));
    const instance = two.instantiate({}, { tier, gas: 1 });
    assertEquals(assertThrows(() => instance.run(), Trap).kind, "OutOfGas");
    for (const gas of BAD) assertThrows(() => instance.gas = gas, RangeError);
    assertEquals(instance.gas, 1);
    instance.gas = MAX;
    assertEquals(instance.resume(), 7);
    assertEquals(instance.gas, MAX - 2);
  },
);
