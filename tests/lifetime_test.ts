/**
 * Lifetimes of what instances and programs hold (issue 10, findings 3 and
 * 5): a Memory the host keeps keeps its mapping alive (it used to read
 * unmapped memory, or another instance's, once its instance was
 * collected); after dispose it throws; `Program.dispose()` frees the native
 * code once no instance runs it.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { type Memory, Program, resourceUsage } from "../mod.ts";
import { assertClean, runChild } from "./_child.ts";
import { buildGuest, DATA, ins } from "./_guest.ts";
import { TIERS, tierTest } from "./_tiers.ts";
import { heldUsage } from "./_usage.ts";

const native = TIERS.includes("native");

/** `keep(); ret`: the host function may keep its context's memory. */
const keeper = () =>
  Program.fromBytes(buildGuest({
    code: [ins.ecall(), ins.ret()],
    imports: [{ at: 0, name: "keep" }],
    data: new Uint8Array(64),
  }));

tierTest("a kept Memory throws a clear error after dispose, from the instance and ctx", (tier) => {
  let fromContext: Memory | undefined;
  const instance = keeper().instantiate({ keep: (ctx) => void (fromContext = ctx.memory) }, {
    tier,
  });
  instance.run();
  const kept = instance.memory;
  kept.writeU32(DATA, 7);
  assertEquals(fromContext!.readU32(DATA), 7);
  instance.dispose();
  for (const memory of [kept, fromContext!]) {
    assertThrows(() => memory.readU32(DATA), Error, "disposed");
    assertThrows(() => memory.write(DATA, new Uint8Array(4)), Error, "disposed");
  }
});

/**
 * In a child with `gc()`: keeps a memory (through `how`), drops its
 * instance, collects, maps new instances (which may land on the freed
 * address), and reads the kept memory. It must still be its own.
 */
const keptAfterCollection = (how: "instance.memory" | "ctx.memory") => `
  const { Program, resourceUsage } = await import(MOD);
  const { buildGuest, DATA, ins } = await import(GUEST);
  const collect = async () => {
    for (let k = 0; k < 8; k++) { gc(); await new Promise((r) => setTimeout(r, 1)); }
  };
  const program = Program.fromBytes(buildGuest({
    code: [ins.ecall(), ins.ret()],
    imports: [{ at: 0, name: "keep" }],
    data: new Uint8Array(64),
  }));
  let kept;
  (() => {
    const instance = program.instantiate({ keep: (ctx) => void (kept ??= ctx.memory) }, { tier: "native" });
    instance.run();
    ${how === "instance.memory" ? "kept = instance.memory;" : ""}
    kept.writeU32(DATA, 0x11111111);
  })();
  await collect();
  const liveWhileKept = resourceUsage().nativeInstances;
  const others = [];
  for (let k = 0; k < 32; k++) {
    const other = program.instantiate({ keep() {} }, { tier: "native" });
    other.memory.writeU32(DATA, 0x22222222);
    others.push(other);
  }
  kept.writeU32(DATA + 4, 0x33333333);
  const value = [kept.readU32(DATA), kept.readU32(DATA + 4)];
  const othersIntact = others.every((o) => o.memory.readU32(DATA + 4) === 0);
  kept = undefined;
  await collect();
  const liveAfterDrop = resourceUsage().nativeInstances;
  console.log(JSON.stringify({ value, othersIntact, liveWhileKept, liveAfterDrop }));
`;

for (const how of ["instance.memory", "ctx.memory"] as const) {
  Deno.test({
    name: `a kept ${how} keeps its mapping alive after its instance is collected`,
    ignore: !native,
    async fn() {
      const result = await runChild<{
        value: number[];
        othersIntact: boolean;
        liveWhileKept: number;
        liveAfterDrop: number;
      }>(keptAfterCollection(how), true);
      assertClean(result);
      assertEquals(result.report, {
        value: [0x11111111, 0x33333333],
        othersIntact: true,
        liveWhileKept: 1, // the kept memory's instance, and nothing else
        liveAfterDrop: 32, // dropping it lets the collector release it
      });
    },
  });
}

tierTest("a disposed program cannot be instantiated; its live instances keep working", (tier) => {
  const program = Program.fromBytes(buildGuest({ code: [ins.li(10, 5), ins.ret()] }));
  const instance = program.instantiate({}, { tier });
  program.dispose();
  program.dispose();
  assertThrows(() => program.instantiate({}, { tier }), Error, "disposed");
  assertEquals(instance.run(), 5);
  assertEquals(instance.run(), 5);
  instance.dispose();
  let escaped: Program;
  {
    using scoped = Program.fromBytes(buildGuest({ code: [ins.ret()] }));
    assertEquals(scoped.instantiate({}, { tier }).run(), 0);
    escaped = scoped; // checked after the block has disposed it
  }
  assertThrows(() => escaped.instantiate({}, { tier }), Error, "disposed");
});

Deno.test({
  name: "Program.dispose frees the native code when its last instance goes",
  ignore: !native,
  fn() {
    const before = heldUsage();
    const program = Program.fromBytes(buildGuest({ code: [ins.li(10, 9), ins.ret()] }));
    const a = program.instantiate({}, { tier: "native" });
    const b = program.instantiate({}, { tier: "native" });
    const during = resourceUsage();
    assertEquals(during.nativePrograms, before.nativePrograms + 1);
    assertEquals(during.nativeInstances, before.nativeInstances + 2);
    assert(during.codeBytes > before.codeBytes);
    program.dispose();
    a.dispose();
    assertEquals(b.run(), 9, "the code stays while an instance uses it");
    assertEquals(resourceUsage().nativePrograms, before.nativePrograms + 1);
    b.dispose();
    assertEquals(heldUsage(), before);
  },
});
