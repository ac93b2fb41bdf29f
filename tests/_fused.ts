/**
 * Helpers of the fused-entry tests (tests/fused_steps_test.ts,
 * tests/fused_pairs_test.ts): guests whose instructions the interpreter's
 * loops perform as fused pairs and runs, on every tier.
 * @module
 */
import { assertEquals, assertThrows } from "@std/assert";
import { Program, type Tier, Trap } from "../mod.ts";
import { buildGuest, type GuestSpec, ins } from "./_guest.ts";

/** An instance of `spec` on `tier` with `gas`. */
export function instantiate(spec: GuestSpec, tier: Tier, gas = 10_000) {
  return Program.fromBytes(buildGuest(spec)).instantiate({}, { tier, gas });
}

/** `rd = value` for any 32-bit value. */
export function li32(rd: number, value: number): number[] {
  const lo = (value << 20) >> 20;
  return [ins.lui(rd, ((value - lo) >>> 12) & 0xfffff), ins.addi(rd, rd, lo)];
}

/**
 * Runs `code` with `total` gas, exactly what it costs, for `result`; then
 * with every amount short of it: each stops out of gas at a block entry
 * with nothing charged there, and resumes with the rest to the same result.
 */
export function assertEveryGasResumes(
  code: GuestSpec["code"],
  tier: Tier,
  total: number,
  result: number,
): void {
  const full = instantiate({ code }, tier, 1000);
  assertEquals(full.run(), result);
  assertEquals(full.gas, 1000 - total);
  for (let gas = 0; gas < total; gas++) {
    const instance = instantiate({ code }, tier, gas);
    const trap = assertThrows(() => instance.run(), Trap, undefined, `gas ${gas}`);
    assertEquals(trap.kind, "OutOfGas");
    instance.gas += total - gas;
    assertEquals(instance.resume(), result, `gas ${gas}`);
    assertEquals(instance.gas, 0, `gas ${gas}`);
  }
}
