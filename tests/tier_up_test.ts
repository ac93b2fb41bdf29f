/**
 * Tier-up (abi/_tiered.ts): with `tier: "auto"`, an instance starts on the
 * interpreter and moves to native code once its program has spent `tierUp`
 * gas — in the middle of a call too — keeping its memory (the same
 * `Memory` object), heap, registers and gas. Every tier test also runs as
 * `[tier-up]` with a threshold of a few dozen gas (tests/_tiers.ts); these
 * check the move itself.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { type Instance, resourceUsage, setResourceLimits, Trap } from "../mod.ts";
import { dirtyEverything, dirtyProgram, readEverything } from "./_dirty_guest.ts";
import { DATA } from "./_guest.ts";
import { TIERS } from "./_tiers.ts";

const ignore = !TIERS.includes("native");

/** Dirties memory, then spins out of gas (a long call): what the guest and host see after. */
function session(instance: Instance) {
  dirtyEverything(instance, 0x5a5a1234);
  const tierBefore = instance.tier;
  instance.gas = 5000;
  const trap = assertThrows(() => instance.exports.spin(), Trap);
  const gasLeft = instance.gas;
  instance.gas = 1e6;
  const seen = readEverything(instance);
  return { tierBefore, trap: [trap.kind, trap.pc, gasLeft], seen, gas: instance.gas };
}

Deno.test({
  name: "tier-up: a long call moves to native code midway; memory, heap and gas carry over",
  ignore,
  fn() {
    const expected = session(dirtyProgram().instantiate({}, { tier: "interpreter" }));
    const program = dirtyProgram();
    const instance = program.instantiate({}, { tierUp: 1000 });
    const kept = instance.memory;
    const before = resourceUsage().nativeInstances;
    const got = session(instance);
    assertEquals(got, { ...expected, tierBefore: "interpreter" });
    assertEquals(instance.tier, "native");
    assertEquals(resourceUsage().nativeInstances, before + 1);
    assert(kept === instance.memory, "the Memory object changed");
    assertEquals(kept.readU32(DATA), 0x5a5a1234);
    // The program is hot now: its next auto instance starts on native code.
    const next = program.instantiate({}, { tierUp: 1000 });
    assertEquals(next.tier, "native");
    next.dispose();
    instance.dispose();
    assertEquals(resourceUsage().nativeInstances, before);
    assertThrows(() => kept.readU32(DATA), Error, "disposed");
    program.dispose();
  },
});

Deno.test({
  name: "tier-up: refused by a resource limit, the instance stays on the interpreter and says why",
  ignore,
  fn() {
    const expected = session(dirtyProgram().instantiate({}, { tier: "interpreter" }));
    const saved = setResourceLimits({});
    const instance = dirtyProgram().instantiate({}, { tierUp: 100 });
    try {
      setResourceLimits({ maxNativeInstances: resourceUsage().nativeInstances });
      assertEquals(session(instance), { ...expected, tierBefore: "interpreter" });
    } finally {
      setResourceLimits(saved);
    }
    assertEquals(instance.tier, "interpreter");
    assertStringIncludes(instance.tierReason, "maxNativeInstances");
    instance.gas = 5000;
    assertThrows(() => instance.exports.spin(), Trap); // and it keeps working
    instance.dispose();
  },
});

Deno.test({
  name: "tier-up: reset after the move gives the initial state on native code",
  ignore,
  fn() {
    const program = dirtyProgram();
    const pristine = readEverything(program.instantiate({}, { tier: "interpreter" }));
    const instance = program.instantiate({}, { tierUp: 50 });
    session(instance);
    assertEquals(instance.tier, "native");
    instance.reset();
    assertEquals(readEverything(instance), pristine);
    instance.dispose();
  },
});

Deno.test({
  name: "tier-up: an instance whose program is disposed stays on the interpreter",
  ignore,
  fn() {
    const expected = session(dirtyProgram().instantiate({}, { tier: "interpreter" }));
    const program = dirtyProgram();
    const instance = program.instantiate({}, { tierUp: 100 });
    const before = resourceUsage();
    program.dispose();
    assertEquals(session(instance), { ...expected, tierBefore: "interpreter" });
    assertEquals(instance.tier, "interpreter");
    assertStringIncludes(instance.tierReason, "disposed before tier-up");
    assertEquals(resourceUsage().nativeInstances, before.nativeInstances);
    instance.dispose();
  },
});
