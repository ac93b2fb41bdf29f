/**
 * Pooled memories (abi/memory_pool.ts): a disposed or collected instance's
 * memory — on the native tier its whole address space — is reused by the
 * program's next instance with the same memory options, and a pooled memory
 * never lets one instance see another's: everything the last one wrote is
 * gone, and what it made accessible beyond the layout (a grown heap) stays
 * inaccessible to the guest and the host.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { Program, releasePooledMemory, resourceUsage, setMemoryPoolLimit, Trap } from "../mod.ts";
import { assertClean, runChild } from "./_child.ts";
import { dirtyEverything, dirtyProgram, HEAP, PRISTINE, readEverything } from "./_dirty_guest.ts";
import { buildGuest, ins, reg } from "./_guest.ts";
import { TIERS, tierTest } from "./_tiers.ts";
import { heldUsage } from "./_usage.ts";

const native = TIERS.includes("native");

tierTest("a pooled memory holds nothing of the instance that used it before", (tier) => {
  const program = dirtyProgram();
  releasePooledMemory();
  for (let round = 1; round <= 3; round++) {
    const instance = program.instantiate({}, { tier });
    assertEquals(resourceUsage().pooledMemories, 0, "the memory of round 1 is reused after it");
    assertEquals(readEverything(instance), PRISTINE, `round ${round}`);
    dirtyEverything(instance, 0x5a5a0000 + round);
    instance.dispose();
    assertEquals(resourceUsage().pooledMemories, 1);
  }
  program.dispose();
});

tierTest("a reused memory keeps the old heap inaccessible until the break grows again", (tier) => {
  const program = dirtyProgram();
  const first = program.instantiate({}, { tier });
  first.exports.sbrk(3 * 4096);
  first.exports.store(HEAP + 2 * 4096, 9);
  first.dispose();
  const second = program.instantiate({}, { tier });
  assertEquals(second.memory.brk, HEAP);
  for (const address of [HEAP, HEAP + 2 * 4096]) {
    assertEquals(assertThrows(() => second.exports.load(address), Trap).kind, "MemoryFault");
    assertThrows(() => second.memory.readU32(address), RangeError);
  }
  second.exports.sbrk(3 * 4096);
  assertEquals(second.exports.load(HEAP + 2 * 4096), 0);
  program.dispose();
});

tierTest("tiers and memory options never share pooled memories", (tier) => {
  const program = dirtyProgram();
  const other = tier === "native" ? "interpreter" : "native";
  const tiers = TIERS.includes(other) ? [tier, other] as const : [tier] as const;
  for (let k = 0; k < 4; k++) {
    for (const t of tiers) {
      for (const heapSize of [1 << 24, 1 << 20]) {
        using instance = program.instantiate({}, { tier: t, heapSize });
        if (t !== "auto") assertEquals(instance.tier, t);
        assertEquals(instance.memory.readU32(HEAP - 4096), PRISTINE[0]);
        dirtyEverything(instance, k + 1);
      }
    }
  }
  program.dispose();
});

Deno.test("the pool is bounded, can be emptied, and a disposed program's memories leave it", () => {
  const saved = setMemoryPoolLimit();
  // Auto instances pool the same kinds of memory as these two.
  const tiers = TIERS.filter((tier) => tier !== "auto");
  try {
    const program = dirtyProgram();
    for (const tier of tiers) program.instantiate({}, { tier }).dispose(); // the native code exists
    releasePooledMemory();
    const before = resourceUsage();
    assertEquals(before.pooledMemories, 0);
    assertEquals(setMemoryPoolLimit(2), 2);
    for (const tier of tiers) {
      const instances = [0, 1, 2].map(() => program.instantiate({}, { tier }));
      for (const instance of instances) instance.dispose();
    }
    assertEquals(resourceUsage().pooledMemories, 2);
    assertEquals(releasePooledMemory(), 2);
    assertEquals(resourceUsage(), before);
    setMemoryPoolLimit(8);
    for (const tier of tiers) program.instantiate({}, { tier }).dispose();
    assertEquals(resourceUsage().pooledMemories, tiers.length);
    setMemoryPoolLimit(0); // off: empties the pool and keeps nothing
    program.instantiate({}, { tier: tiers[0] }).dispose();
    assertEquals(resourceUsage(), before);
    setMemoryPoolLimit(8);
    for (const tier of tiers) program.instantiate({}, { tier }).dispose();
    program.dispose();
    const after = resourceUsage();
    // Its native code's mapping alone enters the pool, for the next translation, and its wasm
    // memory, zeroed, for the next program's instance.
    const kept = (tiers.includes("native") ? 1 : 0) + (tiers.includes("wasm") ? 1 : 0);
    assertEquals(after.pooledMemories, kept, "disposing the program releases its pooled memories");
    releasePooledMemory();
    assertEquals(resourceUsage().reservedBytes <= before.reservedBytes, true);
    for (const bad of [-1, 0.5, NaN, Infinity]) {
      assertThrows(() => setMemoryPoolLimit(bad), RangeError);
    }
  } finally {
    setMemoryPoolLimit(saved);
  }
});

Deno.test({
  name: "a pooled native space counts as reserved and committed memory, not as an instance",
  ignore: !native,
  fn() {
    releasePooledMemory();
    const before = resourceUsage();
    const program = dirtyProgram();
    const instance = program.instantiate({}, { tier: "native" });
    instance.exports.sbrk(4096);
    const live = resourceUsage();
    instance.dispose();
    const pooled = resourceUsage();
    assertEquals(pooled.nativeInstances, live.nativeInstances - 1);
    assertEquals(pooled.pooledMemories, before.pooledMemories + 1);
    for (const key of ["reservedBytes", "committedBytes", "mappings"] as const) {
      assertEquals(pooled[key], live[key], key);
    }
    const again = program.instantiate({}, { tier: "native" });
    assertEquals(resourceUsage().committedBytes, live.committedBytes, "nothing new committed");
    again.dispose();
    program.dispose();
    assertEquals(heldUsage(), before);
  },
});

Deno.test({
  name: "a freed translation's code mapping is pooled, counted, and reused by the next program",
  ignore: !native,
  fn() {
    const before = heldUsage();
    const run = (value: number) => {
      using program = Program.fromBytes(buildGuest({ code: [ins.li(reg.a0, value), ins.ret()] }));
      using instance = program.instantiate({}, { tier: "native" });
      return [instance.run(), resourceUsage()] as const;
    };
    const [first, live] = run(5);
    assertEquals(first, 5);
    const pooled = resourceUsage();
    assertEquals(pooled.codeBytes, before.codeBytes);
    assertEquals(pooled.pooledMemories, before.pooledMemories + 1);
    assertEquals(pooled.mappings, before.mappings + 1);
    const length = pooled.reservedBytes - before.reservedBytes;
    assertEquals(length, live.codeBytes - before.codeBytes, "the code's whole mapping");
    assertEquals(pooled.committedBytes - before.committedBytes, length);
    // Other code (a translation is not shared) in the same mapping: nothing new is mapped.
    const [second, reused] = run(6);
    assertEquals(second, 6);
    assertEquals(reused, live);
    assertEquals(resourceUsage(), pooled);
    assertEquals(releasePooledMemory(), 1);
    assertEquals(resourceUsage(), before);
  },
});

/**
 * In a child with `gc()`: instances dropped undisposed are collected, their
 * spaces pooled, and new instances reuse them: none may see what a
 * collected one wrote.
 */
const collectedSpaces = `
  const { Program, resourceUsage } = await import(MOD);
  const { dirtyEverything, dirtyProgram, PRISTINE, readEverything } = await import(${
  JSON.stringify(new URL("./_dirty_guest.ts", import.meta.url).href)
});
  const program = dirtyProgram();
  const collect = async () => {
    for (let k = 0; k < 8; k++) { gc(); await new Promise((r) => setTimeout(r, 1)); }
  };
  (() => {
    for (let k = 0; k < 40; k++) {
      dirtyEverything(program.instantiate({}, { tier: "native" }), 0x77000000 + k);
    }
  })();
  await collect();
  const pooled = resourceUsage().pooledMemories;
  const live = resourceUsage().nativeInstances;
  const clean = [];
  for (let k = 0; k < pooled; k++) {
    const instance = program.instantiate({}, { tier: "native" });
    clean.push(JSON.stringify(readEverything(instance)) === JSON.stringify(PRISTINE));
  }
  console.log(JSON.stringify({ pooled, live, clean: clean.every((c) => c), reused: resourceUsage().pooledMemories }));
`;

Deno.test({
  name: "collected instances' spaces are pooled clean",
  ignore: !native,
  async fn() {
    const result = await runChild<
      { pooled: number; live: number; clean: boolean; reused: number; }
    >(
      collectedSpaces,
      true,
    );
    assertClean(result);
    assert(result.report.pooled > 0, "some collected spaces were pooled");
    assertEquals(result.report, {
      pooled: result.report.pooled,
      live: 0,
      clean: true,
      reused: 0,
    });
  },
});
